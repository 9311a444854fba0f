/*
 * libnetpbm behind setjmp error recovery and one lock. See CNetpbm.h.
 *
 * libnetpbm keeps its error handling in globals: the jmp_buf that pm_error()
 * longjmps to (or exit()s without), and the user message/error callbacks.
 * Everything that touches those globals runs under g_lock, so two threads
 * decoding at once can never longjmp into each other's stack frames or mix up
 * error messages.
 */
#include "CNetpbm.h"

#include <netpbm/pam.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_initialized = 0;           /* pm_init done; guarded by g_lock */
static char g_error[512];               /* last pm_error text; guarded by g_lock */
static uint8_t g_scale[65536];          /* sample -> 0..255; guarded by g_lock */

/* pm_error's text goes here instead of stderr; pm_error then longjmps. */
static void capture_error(const char *msg) {
    snprintf(g_error, sizeof g_error, "%s", msg ? msg : "");
}

/* pm_message output (warnings, verbose chatter) is dropped: a library must not print. */
static void ignore_message(const char *msg) {
    (void)msg;
}

/* Formats into the caller's buffer and flattens it to one trimmed line. */
static void set_message(char *dst, size_t cap, const char *fmt, ...) {
    if (dst == NULL || cap == 0) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, cap, fmt, ap);
    va_end(ap);
    /* Whitespace runs become one space; a trailing period or space is dropped. */
    size_t len = 0;
    for (const char *p = dst; *p; p++) {
        const char c = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
        if (c == ' ' && (len == 0 || dst[len - 1] == ' ')) {
            continue;
        }
        dst[len++] = c;
    }
    while (len > 0 && (dst[len - 1] == ' ' || dst[len - 1] == '.')) {
        len--;
    }
    dst[len] = '\0';
}

/* Describes the first bytes of a file for a "bad magic number" message. */
static void describe_magic(const unsigned char *magic, size_t n, char *out, size_t cap) {
    int printable = 1;
    for (size_t i = 0; i < n; i++) {
        if (!isprint(magic[i])) {
            printable = 0;
        }
    }
    if (printable && n == 2) {
        snprintf(out, cap, "\"%c%c\"", magic[0], magic[1]);
    } else if (printable) {
        snprintf(out, cap, "\"%c\"", magic[0]);
    } else if (n == 2) {
        snprintf(out, cap, "0x%02X%02X", magic[0], magic[1]);
    } else {
        snprintf(out, cap, "0x%02X", magic[0]);
    }
}

/* Routes libnetpbm's messages to us; pm_init runs once. Called with g_lock held. */
static void capture_netpbm_output(void) {
    if (!g_initialized) {
        pm_init("facetwin", 0);
        g_initialized = 1;
    }
    pm_setusermessagefn(ignore_message);
    pm_setusererrormsgfn(capture_error);
    g_error[0] = '\0';
}

/* Puts back the jmp_buf and message callbacks that were there before. */
static void release_netpbm_output(jmp_buf *old_jb) {
    pm_setjmpbuf(old_jb);
    pm_setusererrormsgfn(NULL);
    pm_setusermessagefn(NULL);
}

/*
 * Checks a header read by pnm_readpaminit: a size within max_pixels (before
 * anything image-sized is allocated), a gray or RGB layout, a usable maxval.
 */
static facetwin_netpbm_status check_header(const struct pam *pam, int64_t max_pixels,
                                    char *message, size_t message_capacity) {
    const int64_t width = pam->width;
    const int64_t height = pam->height;
    if (width <= 0 || height <= 0) {
        set_message(message, message_capacity, "image has no pixels (%lld x %lld)",
                    (long long)width, (long long)height);
        return FACETWIN_NETPBM_MALFORMED;
    }
    if (width * height > max_pixels) {
        set_message(message, message_capacity,
                    "%lld x %lld = %lld pixels exceeds the limit of %lld pixels",
                    (long long)width, (long long)height, (long long)(width * height),
                    (long long)max_pixels);
        return FACETWIN_NETPBM_TOO_LARGE;
    }
    if (pam->depth < 1 || pam->depth > 4 ||
        (pam->depth == 4 && strncmp(pam->tuple_type, "RGB", 3) != 0)) {
        set_message(message, message_capacity,
                    "PAM with depth %u and tuple type \"%s\" has no gray or RGB reading",
                    pam->depth, pam->tuple_type);
        return FACETWIN_NETPBM_UNSUPPORTED;
    }
    if (pam->maxval < 1 || pam->maxval > 65535) {
        set_message(message, message_capacity, "maxval %lu is outside 1...65535",
                    (unsigned long)pam->maxval);
        return FACETWIN_NETPBM_MALFORMED;
    }
    return FACETWIN_NETPBM_OK;
}

/*
 * The fewest bytes a raster of this header can take: raw formats store every
 * sample in 1 or 2 bytes (PBM: 1 bit), plain ones use at least one character a
 * sample. A header declaring more than the file holds is refused here, before
 * the raster and row buffers are allocated: a 20-byte file must not cost
 * hundreds of megabytes to reject. Only regular files have a size to check.
 */
static facetwin_netpbm_status check_raster_fits(FILE *f, const struct pam *pam,
                                         char *message, size_t message_capacity) {
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        return FACETWIN_NETPBM_OK;
    }
    const long position = ftell(f);
    if (position < 0) {
        return FACETWIN_NETPBM_OK;
    }
    const int64_t remaining = (int64_t)st.st_size - (int64_t)position;
    const int64_t width = pam->width, height = pam->height;  /* checked: product <= INT32_MAX */
    const int64_t bytes_per_sample = pam->maxval > 255 ? 2 : 1;
    int64_t needed;
    switch (pam->format) {
    case RPBM_FORMAT: needed = (width + 7) / 8 * height; break;
    case PBM_FORMAT: case PGM_FORMAT: needed = width * height; break;
    case PPM_FORMAT: needed = 3 * width * height; break;
    case RPGM_FORMAT: needed = width * height * bytes_per_sample; break;
    case RPPM_FORMAT: needed = 3 * width * height * bytes_per_sample; break;
    default: needed = (int64_t)pam->depth * width * height * bytes_per_sample; break;
    }
    if (needed > remaining) {
        set_message(message, message_capacity,
                    "header declares %lld x %lld pixels (at least %lld bytes of raster) but only %lld bytes follow before end of file",
                    (long long)width, (long long)height, (long long)needed,
                    (long long)(remaining < 0 ? 0 : remaining));
        return FACETWIN_NETPBM_TRUNCATED;
    }
    return FACETWIN_NETPBM_OK;
}

/* Fills g_scale: sample v -> round(v * 255 / maxval), halves up. */
static void build_scale(unsigned long maxval) {
    for (unsigned long v = 0; v <= maxval; v++) {
        g_scale[v] = (uint8_t)((v * 255 + maxval / 2) / maxval);
    }
}

/*
 * Reads the raster row by row into `pixels` (width * height, row-major) as
 * 8-bit gray, or as interleaved 8-bit RGB when `keep_rgb` and the image is RGB;
 * `row` is a pnm_allocpamrow buffer. libnetpbm errors longjmp out to the
 * caller's setjmp.
 */
static void read_raster(struct pam *pam, tuple *row, uint8_t *pixels, int keep_rgb) {
    const int64_t width = pam->width;
    const int64_t height = pam->height;
    const unsigned long maxval = pam->maxval;
    const int rgb = pam->depth >= 3;
    for (int64_t y = 0; y < height; y++) {
        pnm_readpamrow(pam, row);
        uint8_t *dst = pixels + y * width * (rgb && keep_rgb ? 3 : 1);
        for (int64_t x = 0; x < width; x++) {
            const sample *t = row[x];
            if (rgb && keep_rgb) {
                dst[3 * x] = g_scale[t[0] > maxval ? maxval : t[0]];
                dst[3 * x + 1] = g_scale[t[1] > maxval ? maxval : t[1]];
                dst[3 * x + 2] = g_scale[t[2] > maxval ? maxval : t[2]];
            } else if (rgb) {
                const uint32_t r = g_scale[t[0] > maxval ? maxval : t[0]];
                const uint32_t g = g_scale[t[1] > maxval ? maxval : t[1]];
                const uint32_t b = g_scale[t[2] > maxval ? maxval : t[2]];
                /* PIL's convert("L") (ITU-R 601-2 luma, 16-bit fixed point). */
                dst[x] = (uint8_t)((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16);
            } else {
                dst[x] = g_scale[t[0] > maxval ? maxval : t[0]];
            }
        }
    }
}

/*
 * The part that talks to libnetpbm: header, checks, raster. Called with g_lock
 * held and `f` positioned at the start of the file. pm_error() longjmps back
 * here, so the setjmp lives in this frame and everything allocated is freed on
 * that path.
 */
static facetwin_netpbm_status read_locked(FILE *f,
                                   int64_t max_pixels,
                                   int keep_rgb,
                                   int32_t *out_channels,
                                   int32_t *out_width,
                                   int32_t *out_height,
                                   uint8_t **out_pixels,
                                   char *message,
                                   size_t message_capacity) {
    struct pam pam;
    jmp_buf jb;
    jmp_buf *old_jb = NULL;
    /* Written after setjmp and read after longjmp: must be volatile. */
    tuple *volatile row = NULL;
    uint8_t *volatile pixels = NULL;

    capture_netpbm_output();
    /* Installed before setjmp so that old_jb is never modified after it. */
    pm_setjmpbufsave(&jb, &old_jb);
    if (setjmp(jb) != 0) {
        /* pm_error() landed here. */
        facetwin_netpbm_status status = feof(f) ? FACETWIN_NETPBM_TRUNCATED : FACETWIN_NETPBM_MALFORMED;
        release_netpbm_output(old_jb);
        if (row != NULL) {
            pnm_freepamrow(row);
        }
        free(pixels);
        const char *fallback = status == FACETWIN_NETPBM_TRUNCATED ? "premature end of file"
                                                            : "unknown libnetpbm error";
        set_message(message, message_capacity, "%s", g_error[0] ? g_error : fallback);
        return status;
    }

    pnm_readpaminit(f, &pam, PAM_STRUCT_SIZE(tuple_type));
    if (pam.width > 0 && pam.height > 0) {
        *out_width = (int32_t)pam.width;
        *out_height = (int32_t)pam.height;
    }
    facetwin_netpbm_status status = check_header(&pam, max_pixels, message, message_capacity);
    if (status == FACETWIN_NETPBM_OK) {
        status = check_raster_fits(f, &pam, message, message_capacity);
    }
    if (status != FACETWIN_NETPBM_OK) {
        release_netpbm_output(old_jb);
        return status;
    }
    build_scale(pam.maxval);

    const int channels = keep_rgb && pam.depth >= 3 ? 3 : 1;
    pixels = malloc((size_t)pam.width * (size_t)pam.height * (size_t)channels);
    if (pixels == NULL) {
        release_netpbm_output(old_jb);
        set_message(message, message_capacity, "out of memory for %lld x %lld pixels",
                    (long long)pam.width, (long long)pam.height);
        return FACETWIN_NETPBM_NO_MEMORY;
    }
    row = pnm_allocpamrow(&pam);
    read_raster(&pam, row, pixels, keep_rgb);
    pnm_freepamrow(row);
    row = NULL;
    release_netpbm_output(old_jb);

    *out_channels = channels;
    *out_pixels = pixels;
    return FACETWIN_NETPBM_OK;
}

/*
 * Checks what libnetpbm would otherwise report badly: the file is a readable
 * regular file, not empty, starting with a Netpbm magic number "P1".."P7".
 * Leaves `f` rewound to the start on FACETWIN_NETPBM_OK.
 */
static facetwin_netpbm_status check_file(FILE *f, char *message, size_t message_capacity) {
    struct stat st;
    unsigned char magic[2];
    size_t n;
    char shown[16];
    if (fstat(fileno(f), &st) != 0) {
        set_message(message, message_capacity, "%s", strerror(errno));
        return FACETWIN_NETPBM_CANNOT_OPEN;
    }
    if (S_ISDIR(st.st_mode)) {
        set_message(message, message_capacity, "is a directory");
        return FACETWIN_NETPBM_CANNOT_OPEN;
    }
    if ((n = fread(magic, 1, 2, f)) == 0) {
        if (ferror(f)) {
            set_message(message, message_capacity, "%s", strerror(errno));
            return FACETWIN_NETPBM_CANNOT_OPEN;
        }
        set_message(message, message_capacity, "empty file (0 bytes)");
        return FACETWIN_NETPBM_EMPTY;
    }
    if (magic[0] != 'P' || (n == 2 && (magic[1] < '1' || magic[1] > '7'))) {
        describe_magic(magic, n, shown, sizeof shown);
        set_message(message, message_capacity, "bad magic number %s", shown);
        return FACETWIN_NETPBM_BAD_MAGIC;
    }
    if (fseek(f, 0, SEEK_SET) != 0) {
        set_message(message, message_capacity, "cannot rewind: %s", strerror(errno));
        return FACETWIN_NETPBM_CANNOT_OPEN;
    }
    return FACETWIN_NETPBM_OK;
}

facetwin_netpbm_status facetwin_netpbm_read_gray8_fd(int fd,
                                    int64_t max_pixels,
                                    int32_t *out_width,
                                    int32_t *out_height,
                                    uint8_t **out_pixels,
                                    char *message,
                                    size_t message_capacity) {
    int32_t channels = 0;
    return facetwin_netpbm_read8_fd(fd, max_pixels, 0, &channels, out_width, out_height, out_pixels,
                             message, message_capacity);
}

facetwin_netpbm_status facetwin_netpbm_read8_fd(int fd,
                                  int64_t max_pixels,
                                  int keep_rgb,
                                  int32_t *out_channels,
                                  int32_t *out_width,
                                  int32_t *out_height,
                                  uint8_t **out_pixels,
                                  char *message,
                                  size_t message_capacity) {
    *out_channels = 0;
    *out_width = 0;
    *out_height = 0;
    *out_pixels = NULL;
    if (message != NULL && message_capacity > 0) {
        message[0] = '\0';
    }
    if (max_pixels > (int64_t)INT32_MAX) {
        max_pixels = INT32_MAX; /* width and height travel back as int32 */
    }

    pthread_mutex_lock(&g_lock); /* also makes strerror() below safe among our callers */
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        set_message(message, message_capacity, "%s", strerror(errno));
        close(fd);
        pthread_mutex_unlock(&g_lock);
        return FACETWIN_NETPBM_CANNOT_OPEN;
    }
    facetwin_netpbm_status status = check_file(f, message, message_capacity);
    if (status == FACETWIN_NETPBM_OK) {
        status = read_locked(f, max_pixels, keep_rgb, out_channels, out_width, out_height, out_pixels,
                             message, message_capacity);
    }
    fclose(f);
    pthread_mutex_unlock(&g_lock);
    return status;
}

void facetwin_netpbm_free(uint8_t *pixels) {
    free(pixels);
}
