/*
 * CNetpbm — libnetpbm behind setjmp error recovery and one lock.
 *
 * Why a shim: libnetpbm reports every problem through pm_error(), which calls
 * exit() unless a setjmp buffer has been installed with pm_setjmpbuf(). Swift
 * cannot call setjmp, and netpbm's error state (jmpbuf, message callbacks) is
 * process-global, so all netpbm work happens here, inside one mutex, and comes
 * back to Swift as a status code plus a message.
 */
#ifndef FACETWIN_CNETPBM_H
#define FACETWIN_CNETPBM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What happened. Every status except FACETWIN_NETPBM_OK leaves a one-line message. */
typedef enum facetwin_netpbm_status {
    FACETWIN_NETPBM_OK = 0,
    FACETWIN_NETPBM_CANNOT_OPEN = 1,   /* fopen/fstat failed, or the path is a directory */
    FACETWIN_NETPBM_EMPTY = 2,         /* zero-byte file */
    FACETWIN_NETPBM_BAD_MAGIC = 3,     /* first bytes are not P1..P7 */
    FACETWIN_NETPBM_TRUNCATED = 4,     /* netpbm hit end of file (header or raster) */
    FACETWIN_NETPBM_MALFORMED = 5,     /* any other netpbm error (bad header, bad sample) */
    FACETWIN_NETPBM_TOO_LARGE = 6,     /* width*height exceeds the caller's limit */
    FACETWIN_NETPBM_UNSUPPORTED = 7,   /* a PAM layout we do not turn into gray */
    FACETWIN_NETPBM_NO_MEMORY = 8      /* malloc failed */
} facetwin_netpbm_status;

/*
 * Reads a PBM/PGM/PPM (plain or raw) or PAM image at `path` into 8-bit gray.
 *
 * - Samples with maxval != 255 are scaled as round(v * 255 / maxval)
 *   (halves round up), so 16-bit inputs become 0..255.
 * - RGB becomes gray with PIL's convert("L") weights on the 8-bit values:
 *   L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16.
 * - PAM alpha planes (GRAYSCALE_ALPHA, RGB_ALPHA) are dropped.
 * - Images with width*height > max_pixels are rejected after the header is
 *   read and before any raster memory is allocated.
 *
 * On FACETWIN_NETPBM_OK, *out_width and *out_height are set and *out_pixels points to a
 * malloc'ed width*height row-major buffer that the caller releases with
 * facetwin_netpbm_free(). On any other status *out_pixels is NULL, nothing is leaked,
 * and `message` (capacity `message_capacity`, may be 0) holds a one-line,
 * NUL-terminated description without the file name. Once a header has been
 * read, *out_width and *out_height hold its size even on failure (for messages).
 *
 * Thread-safe: calls are serialized by one internal mutex. Never prints, never
 * exits.
 */
/*
 * Reads from `fd`, an open descriptor of a regular file (the caller checks that
 * it is one, so a named pipe cannot block the read), positioned at the start.
 * The descriptor is always closed, whatever the status.
 */
facetwin_netpbm_status facetwin_netpbm_read_gray8_fd(int fd,
                                    int64_t max_pixels,
                                    int32_t *out_width,
                                    int32_t *out_height,
                                    uint8_t **out_pixels,
                                    char *message,
                                    size_t message_capacity);

/*
 * As facetwin_netpbm_read_gray8_fd, but with `keep_rgb` set an RGB image (PPM, PAM RGB
 * or RGB_ALPHA) comes back as interleaved 8-bit R,G,B (each sample scaled as
 * above, alpha dropped) and *out_channels is 3; otherwise it is 1 and the
 * buffer is gray. *out_channels is 0 on failure.
 */
facetwin_netpbm_status facetwin_netpbm_read8_fd(int fd,
                                  int64_t max_pixels,
                                  int keep_rgb,
                                  int32_t *out_channels,
                                  int32_t *out_width,
                                  int32_t *out_height,
                                  uint8_t **out_pixels,
                                  char *message,
                                  size_t message_capacity);

/* Releases a buffer returned by facetwin_netpbm_read_gray8_fd or facetwin_netpbm_read8_fd. NULL is allowed. */
void facetwin_netpbm_free(uint8_t *pixels);

#ifdef __cplusplus
}
#endif

#endif /* FACETWIN_CNETPBM_H */
