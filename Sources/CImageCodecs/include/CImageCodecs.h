/*
 * CImageCodecs — JPEG (libjpeg-turbo) and PNG (libpng) decoding behind setjmp
 * error recovery, and WebP (libwebp, status codes only) with the same contract.
 *
 * Why a shim: both libraries report fatal problems through a callback that must
 * not return (libjpeg's error_exit calls exit() by default; libpng's longjmps to
 * png_jmpbuf or aborts). Swift cannot call setjmp, so every call into the
 * libraries happens here, and each decode comes back to Swift as a status code,
 * a result struct and a one-line message. Unlike libnetpbm, neither library keeps
 * error state in globals, so no lock is needed: each call has its own objects.
 *
 * Every exported symbol starts with facetwin_.
 */
#ifndef FACETWIN_CIMAGECODECS_H
#define FACETWIN_CIMAGECODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What happened. Every status except FACETWIN_CODEC_OK leaves a one-line message. */
typedef enum facetwin_codec_status {
    FACETWIN_CODEC_OK = 0,
    FACETWIN_CODEC_CANNOT_OPEN = 1,   /* fdopen/fstat/read failed */
    FACETWIN_CODEC_EMPTY = 2,         /* zero-byte file */
    FACETWIN_CODEC_BAD_MAGIC = 3,     /* not the format's signature */
    FACETWIN_CODEC_TRUNCATED = 4,     /* the file ends before the image does */
    FACETWIN_CODEC_MALFORMED = 5,     /* any other library error (bad table, bad CRC, corrupt data) */
    FACETWIN_CODEC_TOO_LARGE = 6,     /* width*height exceeds the caller's limit */
    FACETWIN_CODEC_UNSUPPORTED = 7,   /* a valid file we do not decode (e.g. a JPEG colour space) */
    FACETWIN_CODEC_NO_MEMORY = 8      /* malloc failed */
} facetwin_codec_status;

/* A decoded image: 8-bit samples, row-major, channels interleaved. */
typedef struct facetwin_image {
    int32_t width;        /* after the EXIF orientation was applied */
    int32_t height;
    int32_t channels;     /* 1 (gray source) or 3 (RGB) */
    int32_t orientation;  /* the EXIF orientation (1...8) that was applied; 1 when none */
    uint8_t *pixels;      /* malloc'ed width*height*channels bytes; facetwin_image_free */
} facetwin_image;

/*
 * Decodes the JPEG read from `fd` (an open descriptor of a regular file,
 * positioned at the start; always closed, whatever the status).
 *
 * - Gray JPEGs give 1 channel; YCbCr/RGB give 3 (libjpeg's YCbCr->RGB, ISLOW
 *   IDCT, fancy upsampling: Pillow's settings). CMYK/YCCK are taken as Adobe
 *   (inverted) CMYK, as Pillow does, and turned into RGB with Pillow's cmyk2rgb.
 * - The first APP1 Exif segment's orientation tag (0x0112) is honoured: the image
 *   is flipped/rotated as Pillow's ImageOps.exif_transpose does.
 * - The header's width*height is checked against max_pixels before anything
 *   image-sized is allocated.
 * - Premature end of file is FACETWIN_CODEC_TRUNCATED; libjpeg's corrupt-data
 *   warnings (bad Huffman code, premature end of data segment...) are errors,
 *   except the harmless ones (extraneous bytes before a marker, unknown Adobe
 *   transform, bogus ICC or JFIF version).
 *
 * On FACETWIN_CODEC_OK `*out` holds the image; on any other status out->pixels
 * is NULL, nothing leaks, and `message` holds one NUL-terminated line without
 * the file name. out->width/height hold the header's size once it was read
 * (for messages), even on failure. Never prints, never exits.
 */
facetwin_codec_status facetwin_decode_jpeg_fd(int fd, int64_t max_pixels, facetwin_image *out,
                                              char *message, size_t message_capacity);

/*
 * Decodes the PNG read from `fd` (same contract as facetwin_decode_jpeg_fd).
 *
 * - Gray and gray+alpha give 1 channel, RGB/RGBA/palette give 3; alpha and tRNS
 *   are dropped (Pillow's convert("L")/convert("RGB") drop them too).
 * - Bit depths 1/2/4 are scaled to 0..255 (v*255/(2^d-1)); 16-bit samples become
 *   round(v*255/65535), as the Netpbm decoder scales 16-bit PGM.
 * - The eXIf chunk's orientation is honoured as JPEG's (before or after the image data).
 * - Critical-chunk CRC errors and broken zlib data are errors; gamma/ICC are ignored.
 *   Ancillary chunks other than tRNS and eXIf (text, ICC, ...) are skipped without being
 *   buffered or inflated; what libpng still buffers is capped at 1 MiB a chunk.
 */
facetwin_codec_status facetwin_decode_png_fd(int fd, int64_t max_pixels, facetwin_image *out,
                                             char *message, size_t message_capacity);

/*
 * Decodes the WebP (`RIFF....WEBP`: lossy VP8, lossless VP8L, or extended VP8X with
 * alpha and metadata) read from `fd` (same contract as facetwin_decode_jpeg_fd).
 *
 * - Always 3 channels (libwebp's RGB output, fancy upsampling: what Pillow's
 *   convert("RGB") gives); alpha is dropped.
 * - An EXIF chunk's orientation is honoured as JPEG's (Pillow's exif_transpose).
 * - The header's width*height is checked before the file is read whole; a file
 *   larger than such an image can be (4 bytes a pixel plus 16 MiB) is refused.
 * - Animated WebP is FACETWIN_CODEC_UNSUPPORTED.
 */
facetwin_codec_status facetwin_decode_webp_fd(int fd, int64_t max_pixels, facetwin_image *out,
                                              char *message, size_t message_capacity);

/*
 * The orientation tag of an APP1 segment's payload (starting "Exif\0\0"), or 1
 * when there is none or the data is not well formed. Bounded: reads nothing
 * outside data[0..<length]. Exposed for tests.
 */
int32_t facetwin_exif_orientation(const uint8_t *data, size_t length);

/* Releases image->pixels (NULL allowed) and clears it. */
void facetwin_image_free(facetwin_image *image);

#ifdef __cplusplus
}
#endif

#endif /* FACETWIN_CIMAGECODECS_H */
