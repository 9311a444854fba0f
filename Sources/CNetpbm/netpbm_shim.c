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

/*
 * The part that talks to libnetpbm. Called with g_lock held and `f` positioned
 * at the start of the file.
 */
static facetwin_netpbm_status read_locked(FILE *f,
                                   int64_t max_pixels,
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

    if (!g_initialized) {
        pm_init("facetwin", 0);
        g_initialized = 1;
    }
    pm_setusermessagefn(ignore_message);
    pm_setusererrormsgfn(capture_error);
    g_error[0] = '\0';

    /* Installed before setjmp so that old_jb is never modified after it. */
    pm_setjmpbufsave(&jb, &old_jb);
    if (setjmp(jb) != 0) {
        /* pm_error() landed here. */
        facetwin_netpbm_status status = feof(f) ? FACETWIN_NETPBM_TRUNCATED : FACETWIN_NETPBM_MALFORMED;
        pm_setjmpbuf(old_jb);
        pm_setusererrormsgfn(NULL);
        pm_setusermessagefn(NULL);
        if (row != NULL) {
            pnm_freepamrow(row);
        }
        free(pixels);
        if (status == FACETWIN_NETPBM_TRUNCATED) {
            set_message(message, message_capacity, "%s",
                        g_error[0] ? g_error : "premature end of file");
        } else {
            set_message(message, message_capacity, "%s",
                        g_error[0] ? g_error : "unknown libnetpbm error");
        }
        return status;
    }

    facetwin_netpbm_status status = FACETWIN_NETPBM_OK;
    pnm_readpaminit(f, &pam, PAM_STRUCT_SIZE(tuple_type));

    const int64_t width = pam.width;
    const int64_t height = pam.height;
    if (width > 0 && height > 0) {
        *out_width = (int32_t)width;
        *out_height = (int32_t)height;
    }
    if (width <= 0 || height <= 0) {
        set_message(message, message_capacity, "image has no pixels (%lld x %lld)",
                    (long long)width, (long long)height);
        status = FACETWIN_NETPBM_MALFORMED;
    } else if (width * height > max_pixels) {
        /* Checked before anything image-sized is allocated. */
        set_message(message, message_capacity,
                    "%lld x %lld = %lld pixels exceeds the limit of %lld pixels",
                    (long long)width, (long long)height, (long long)(width * height),
                    (long long)max_pixels);
        status = FACETWIN_NETPBM_TOO_LARGE;
    } else if (pam.depth < 1 || pam.depth > 4 ||
               (pam.depth == 4 && strncmp(pam.tuple_type, "RGB", 3) != 0)) {
        set_message(message, message_capacity,
                    "PAM with depth %u and tuple type \"%s\" has no gray or RGB reading",
                    pam.depth, pam.tuple_type);
        status = FACETWIN_NETPBM_UNSUPPORTED;
    } else if (pam.maxval < 1 || pam.maxval > 65535) {
        set_message(message, message_capacity, "maxval %lu is outside 1...65535",
                    (unsigned long)pam.maxval);
        status = FACETWIN_NETPBM_MALFORMED;
    }
    if (status != FACETWIN_NETPBM_OK) {
        pm_setjmpbuf(old_jb);
        pm_setusererrormsgfn(NULL);
        pm_setusermessagefn(NULL);
        return status;
    }

    const unsigned long maxval = pam.maxval;
    for (unsigned long v = 0; v <= maxval; v++) {
        g_scale[v] = (uint8_t)((v * 255 + maxval / 2) / maxval);
    }

    pixels = malloc((size_t)(width * height));
    if (pixels == NULL) {
        pm_setjmpbuf(old_jb);
        pm_setusererrormsgfn(NULL);
        pm_setusermessagefn(NULL);
        set_message(message, message_capacity, "out of memory for %lld x %lld pixels",
                    (long long)width, (long long)height);
        return FACETWIN_NETPBM_NO_MEMORY;
    }
    row = pnm_allocpamrow(&pam);

    const int rgb = pam.depth >= 3;
    for (int64_t y = 0; y < height; y++) {
        pnm_readpamrow(&pam, row);
        uint8_t *dst = pixels + y * width;
        for (int64_t x = 0; x < width; x++) {
            const sample *t = row[x];
            if (rgb) {
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

    pnm_freepamrow(row);
    row = NULL;
    pm_setjmpbuf(old_jb);
    pm_setusererrormsgfn(NULL);
    pm_setusermessagefn(NULL);

    *out_width = (int32_t)width;
    *out_height = (int32_t)height;
    *out_pixels = pixels;
    return FACETWIN_NETPBM_OK;
}

facetwin_netpbm_status facetwin_netpbm_read_gray8(const char *path,
                                    int64_t max_pixels,
                                    int32_t *out_width,
                                    int32_t *out_height,
                                    uint8_t **out_pixels,
                                    char *message,
                                    size_t message_capacity) {
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
    facetwin_netpbm_status status;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        set_message(message, message_capacity, "%s", strerror(errno));
        pthread_mutex_unlock(&g_lock);
        return FACETWIN_NETPBM_CANNOT_OPEN;
    }

    struct stat st;
    unsigned char magic[2];
    size_t n;
    char shown[16];
    if (fstat(fileno(f), &st) != 0) {
        set_message(message, message_capacity, "%s", strerror(errno));
        status = FACETWIN_NETPBM_CANNOT_OPEN;
    } else if (S_ISDIR(st.st_mode)) {
        set_message(message, message_capacity, "is a directory");
        status = FACETWIN_NETPBM_CANNOT_OPEN;
    } else if ((n = fread(magic, 1, 2, f)) == 0) {
        if (ferror(f)) {
            set_message(message, message_capacity, "%s", strerror(errno));
            status = FACETWIN_NETPBM_CANNOT_OPEN;
        } else {
            set_message(message, message_capacity, "empty file (0 bytes)");
            status = FACETWIN_NETPBM_EMPTY;
        }
    } else if (magic[0] != 'P' || (n == 2 && (magic[1] < '1' || magic[1] > '7'))) {
        describe_magic(magic, n, shown, sizeof shown);
        set_message(message, message_capacity, "bad magic number %s", shown);
        status = FACETWIN_NETPBM_BAD_MAGIC;
    } else if (fseek(f, 0, SEEK_SET) != 0) {
        set_message(message, message_capacity, "cannot rewind: %s", strerror(errno));
        status = FACETWIN_NETPBM_CANNOT_OPEN;
    } else {
        status = read_locked(f, max_pixels, out_width, out_height, out_pixels,
                             message, message_capacity);
    }
    fclose(f);
    pthread_mutex_unlock(&g_lock);
    return status;
}

void facetwin_netpbm_free(uint8_t *pixels) {
    free(pixels);
}
