/* Messages, size checks, EXIF orientation: shared by jpeg.c and png.c. */
#include "codecs_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void facetwin_codec_set_message(char *dst, size_t cap, const char *fmt, ...) {
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

facetwin_codec_status facetwin_codec_check_size(int64_t width, int64_t height, int64_t max_pixels,
                                         char *message, size_t cap) {
    if (max_pixels > (int64_t)INT32_MAX) {
        max_pixels = INT32_MAX; /* sizes travel back as int32 */
    }
    if (width <= 0 || height <= 0) {
        facetwin_codec_set_message(message, cap, "image has no pixels (%lld x %lld)",
                            (long long)width, (long long)height);
        return FACETWIN_CODEC_MALFORMED;
    }
    /* Both are below 2^32 here, so the product cannot overflow int64. */
    if (width * height > max_pixels) {
        facetwin_codec_set_message(message, cap, "%lld x %lld = %lld pixels exceeds the limit of %lld pixels",
                            (long long)width, (long long)height, (long long)(width * height),
                            (long long)max_pixels);
        return FACETWIN_CODEC_TOO_LARGE;
    }
    return FACETWIN_CODEC_OK;
}

/* ---- EXIF ---------------------------------------------------------------- */

static uint32_t read16(const uint8_t *p, int little) {
    return little ? (uint32_t)p[0] | ((uint32_t)p[1] << 8) : ((uint32_t)p[0] << 8) | p[1];
}

static uint32_t read32(const uint8_t *p, int little) {
    return little ? (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24)
                  : ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/*
 * APP1 payload: "Exif\0\0", then a TIFF header ("II*\0" or "MM\0*", IFD0 offset),
 * IFD0: a 16-bit entry count, 12-byte entries (tag, type, count, value/offset).
 * Every offset is checked against the TIFF block's length before it is read.
 */
int32_t facetwin_exif_orientation(const uint8_t *data, size_t length) {
    if (data == NULL || length < 6 || memcmp(data, "Exif\0\0", 6) != 0) {
        return 1;
    }
    const uint8_t *tiff = data + 6;
    const size_t n = length - 6;
    if (n < 8) {
        return 1;
    }
    int little;
    if (tiff[0] == 'I' && tiff[1] == 'I') {
        little = 1;
    } else if (tiff[0] == 'M' && tiff[1] == 'M') {
        little = 0;
    } else {
        return 1;
    }
    if (read16(tiff + 2, little) != 42) {
        return 1;
    }
    const uint32_t ifd = read32(tiff + 4, little);
    if (ifd < 8 || (size_t)ifd > n || n - ifd < 2) {
        return 1;
    }
    const uint32_t entries = read16(tiff + ifd, little);
    for (uint32_t i = 0; i < entries; i++) {
        const size_t at = (size_t)ifd + 2 + (size_t)i * 12;
        if (at > n || n - at < 12) {
            return 1; /* the IFD runs past the segment */
        }
        const uint8_t *e = tiff + at;
        if (read16(e, little) != 0x0112) {
            continue;
        }
        const uint32_t type = read16(e + 2, little);
        const uint32_t count = read32(e + 4, little);
        uint32_t value;
        if (type == 3 && count >= 1) {         /* SHORT: in the first 2 value bytes */
            value = read16(e + 8, little);
        } else if (type == 4 && count >= 1) {  /* LONG, seen in the wild */
            value = read32(e + 8, little);
        } else {
            return 1;
        }
        return (value >= 1 && value <= 8) ? (int32_t)value : 1;
    }
    return 1;
}

/* ---- Orientation --------------------------------------------------------- */

int facetwin_codec_apply_orientation(facetwin_image *image, int32_t orientation) {
    if (orientation < 2 || orientation > 8) {
        return 0;
    }
    const size_t w = (size_t)image->width;
    const size_t h = (size_t)image->height;
    const size_t ch = (size_t)image->channels;
    const int swap = orientation >= 5;
    const size_t dw = swap ? h : w;
    const size_t dh = swap ? w : h;
    uint8_t *dst = malloc(w * h * ch);
    if (dst == NULL) {
        return -1;
    }
    const uint8_t *src = image->pixels;
    for (size_t y = 0; y < dh; y++) {
        for (size_t x = 0; x < dw; x++) {
            size_t sx, sy;
            switch (orientation) {
            case 2: sx = w - 1 - x; sy = y; break;              /* FLIP_LEFT_RIGHT */
            case 3: sx = w - 1 - x; sy = h - 1 - y; break;      /* ROTATE_180 */
            case 4: sx = x; sy = h - 1 - y; break;              /* FLIP_TOP_BOTTOM */
            case 5: sx = y; sy = x; break;                      /* TRANSPOSE */
            case 6: sx = y; sy = h - 1 - x; break;              /* ROTATE_270 (clockwise) */
            case 7: sx = w - 1 - y; sy = h - 1 - x; break;      /* TRANSVERSE */
            default: sx = w - 1 - y; sy = x; break;             /* 8: ROTATE_90 (counter-clockwise) */
            }
            memcpy(dst + (y * dw + x) * ch, src + (sy * w + sx) * ch, ch);
        }
    }
    free(image->pixels);
    image->pixels = dst;
    image->width = (int32_t)dw;
    image->height = (int32_t)dh;
    image->orientation = orientation;
    return 0;
}

void facetwin_image_free(facetwin_image *image) {
    if (image != NULL) {
        free(image->pixels);
        image->pixels = NULL;
    }
}

facetwin_codec_status facetwin_codec_finish(facetwin_image *out, uint8_t *pixels, size_t width, size_t height,
                                            int32_t channels, int32_t orientation, char *message, size_t cap) {
    out->width = (int32_t)width;
    out->height = (int32_t)height;
    out->channels = channels;
    out->orientation = 1;
    out->pixels = pixels;
    if (facetwin_codec_apply_orientation(out, orientation) != 0) {
        free(out->pixels);
        out->pixels = NULL;
        facetwin_codec_set_message(message, cap, "out of memory for %zu x %zu pixels", width, height);
        return FACETWIN_CODEC_NO_MEMORY;
    }
    return FACETWIN_CODEC_OK;
}
