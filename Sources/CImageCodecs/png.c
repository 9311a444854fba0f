/*
 * PNG through libpng. See CImageCodecs.h.
 *
 * libpng's error callback must not return: ours records the message and
 * png_longjmp()s to the setjmp(png_jmpbuf()) in decode(). Warnings (an sRGB
 * profile libpng dislikes, an ancillary chunk with a bad CRC, which libpng then
 * discards) are dropped: they cost no image data. Reads go through our own read
 * callback so that the end of the file is told apart from other errors.
 */
#include "codecs_internal.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <png.h>

typedef struct png_guard {
    FILE *file;
    facetwin_codec_status status;
    char text[256];
    char warning[128];   /* the last warning: libpng explains "Invalid IHDR data" in warnings */
} png_guard;

static void guard_error(png_structp png, png_const_charp msg) {
    png_guard *g = (png_guard *)png_get_error_ptr(png);
    if (msg != g->text) { /* guard_read already wrote its own message */
        g->status = FACETWIN_CODEC_MALFORMED;
        if (g->warning[0] != '\0') {
            snprintf(g->text, sizeof g->text, "%s (%s)", msg ? msg : "unknown libpng error", g->warning);
        } else {
            snprintf(g->text, sizeof g->text, "%s", msg ? msg : "unknown libpng error");
        }
    }
    png_longjmp(png, 1);
}

static void guard_warning(png_structp png, png_const_charp msg) {
    /* Never printed; kept only to explain an error that follows at once. */
    png_guard *g = (png_guard *)png_get_error_ptr(png);
    snprintf(g->warning, sizeof g->warning, "%s", msg ? msg : "");
}

static void guard_read(png_structp png, png_bytep data, size_t length) {
    png_guard *g = (png_guard *)png_get_io_ptr(png);
    if (fread(data, 1, length, g->file) != length) {
        if (ferror(g->file)) {
            snprintf(g->text, sizeof g->text, "read error: %s", strerror(errno));
            g->status = FACETWIN_CODEC_MALFORMED;
        } else {
            snprintf(g->text, sizeof g->text, "premature end of PNG file");
            g->status = FACETWIN_CODEC_TRUNCATED;
        }
        png_error(png, g->text);
    }
}

/* Per-chunk allocation cap and chunk count for what libpng still buffers (eXIf, PLTE, tRNS). */
#define FACETWIN_PNG_CHUNK_MAX (1024 * 1024)
#define FACETWIN_PNG_CHUNK_COUNT 64

/*
 * The orientation in the eXIf chunk libpng kept (a TIFF block, "MM\0*" or "II*\0", without
 * JPEG's "Exif\0\0" prefix), as Pillow reads it; 1 when there is none.
 */
static int32_t exif_orientation(png_structp png, png_infop info) {
    png_uint_32 length = 0;
    png_bytep exif = NULL;
    if (png_get_eXIf_1(png, info, &length, &exif) == 0 || exif == NULL || length == 0 ||
        length > FACETWIN_PNG_CHUNK_MAX) {
        return 1;
    }
    uint8_t *block = malloc((size_t)length + 6);
    if (block == NULL) {
        return 1;
    }
    memcpy(block, "Exif\0\0", 6);
    memcpy(block + 6, exif, length);
    const int32_t orientation = facetwin_exif_orientation(block, (size_t)length + 6);
    free(block);
    return orientation;
}

static facetwin_codec_status decode(FILE *f, int64_t max_pixels, facetwin_image *out,
                                    char *message, size_t cap) {
    png_guard guard = {f, FACETWIN_CODEC_MALFORMED, "", ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &guard, guard_error, guard_warning);
    png_infop info = png == NULL ? NULL : png_create_info_struct(png);
    if (info == NULL) {
        png_destroy_read_struct(png == NULL ? NULL : &png, NULL, NULL);
        facetwin_codec_set_message(message, cap, "out of memory for libpng");
        return FACETWIN_CODEC_NO_MEMORY;
    }
    uint8_t *volatile pixels = NULL;
    uint8_t *volatile wide = NULL;             /* 16-bit samples before scaling */
    png_bytep *volatile rows = NULL;

    if (setjmp(png_jmpbuf(png)) != 0) {
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(wide);
        free(rows);
        facetwin_codec_set_message(message, cap, "%s", guard.text[0] ? guard.text : "unknown libpng error");
        return guard.status;
    }

    png_set_read_fn(png, &guard, guard_read);
    /* Our own pixel limit decides what is too large (libpng's default stops at 10^6 columns). */
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    /*
     * Ancillary chunks are skipped unread (their CRC is still checked as they stream past),
     * except the two that change the pixels: tRNS (expanded, then dropped with alpha) and eXIf
     * (the orientation). Text, ICC and the rest are never buffered, so a small file that
     * declares a 2 GB tEXt/zTXt/iTXt/iCCP chunk, or a zTXt that inflates to gigabytes,
     * costs nothing. What is still buffered (eXIf, PLTE, tRNS) is capped at
     * FACETWIN_PNG_CHUNK_MAX bytes a chunk and FACETWIN_PNG_CHUNK_COUNT chunks.
     */
    png_set_chunk_malloc_max(png, FACETWIN_PNG_CHUNK_MAX);
    png_set_chunk_cache_max(png, FACETWIN_PNG_CHUNK_COUNT);
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
    static const png_byte wanted[] = {'t', 'R', 'N', 'S', '\0', 'e', 'X', 'I', 'f', '\0'};
    png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_AS_DEFAULT, wanted, 2);
    png_read_info(png, info);
    guard.warning[0] = '\0'; /* only IHDR's explanations are wanted */

    png_uint_32 w32 = 0, h32 = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &w32, &h32, &bit_depth, &color_type, &interlace, NULL, NULL);
    out->width = (int32_t)(w32 > INT32_MAX ? INT32_MAX : w32);
    out->height = (int32_t)(h32 > INT32_MAX ? INT32_MAX : h32);
    facetwin_codec_status status = facetwin_codec_check_size(w32, h32, max_pixels, message, cap);
    if (status != FACETWIN_CODEC_OK) {
        png_destroy_read_struct(&png, &info, NULL);
        return status;
    }

    int channels;
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        channels = 1;
        if (bit_depth < 8) {
            png_set_expand_gray_1_2_4_to_8(png);
        }
        break;
    case PNG_COLOR_TYPE_PALETTE:
        channels = 3;
        png_set_palette_to_rgb(png);
        break;
    case PNG_COLOR_TYPE_RGB:
    case PNG_COLOR_TYPE_RGB_ALPHA:
        channels = 3;
        break;
    default:
        png_destroy_read_struct(&png, &info, NULL);
        facetwin_codec_set_message(message, cap, "PNG colour type %d is not one of gray, gray+alpha, RGB, RGBA, palette",
                            color_type);
        return FACETWIN_CODEC_UNSUPPORTED;
    }
    /*
     * Alpha channels and tRNS transparency are dropped, as Pillow's convert("L"/"RGB") does.
     * Palette expansion turns a tRNS chunk into an alpha channel, which goes the same way;
     * a gray or RGB tRNS is not expanded (no png_set_tRNS_to_alpha), so it adds nothing.
     */
    if ((color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) {
        png_set_strip_alpha(png);
    }
    const int sixteen = bit_depth == 16; /* kept: scaled below with the Netpbm decoder's rounding */
    if (interlace != PNG_INTERLACE_NONE) {
        (void)png_set_interlace_handling(png);
    }
    png_read_update_info(png, info);

    const size_t width = w32, height = h32;
    const size_t samples = width * (size_t)channels;
    const size_t row_bytes = samples * (sixteen ? 2 : 1);
    if (png_get_rowbytes(png, info) != row_bytes || png_get_channels(png, info) != channels) {
        facetwin_codec_set_message(message, cap, "unexpected row layout (%zu bytes, %d channels)",
                            (size_t)png_get_rowbytes(png, info), (int)png_get_channels(png, info));
        png_destroy_read_struct(&png, &info, NULL);
        return FACETWIN_CODEC_MALFORMED;
    }
    pixels = malloc(samples * height);
    if (sixteen) {
        wide = malloc(row_bytes * height);
    }
    rows = malloc(height * sizeof(png_bytep));
    if (pixels == NULL || rows == NULL || (sixteen && wide == NULL)) {
        png_destroy_read_struct(&png, &info, NULL);
        free(pixels);
        free(wide);
        free(rows);
        facetwin_codec_set_message(message, cap, "out of memory for %zu x %zu pixels", width, height);
        return FACETWIN_CODEC_NO_MEMORY;
    }
    uint8_t *base = sixteen ? wide : pixels;
    for (size_t y = 0; y < height; y++) {
        rows[y] = base + y * row_bytes;
    }
    png_read_image(png, rows);
    png_read_end(png, info); /* checks the rest of the file through IEND, CRCs included */
    /* eXIf may come before or after the image data; Pillow honours either. */
    const int32_t orientation = exif_orientation(png, info);
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);

    if (sixteen) {
        const size_t count = samples * height;
        for (size_t i = 0; i < count; i++) {
            const uint32_t v = ((uint32_t)wide[2 * i] << 8) | wide[2 * i + 1]; /* PNG is big-endian */
            pixels[i] = (uint8_t)((v * 255 + 65535 / 2) / 65535);
        }
        free(wide);
    }
    return facetwin_codec_finish(out, pixels, width, height, channels, orientation, message, cap);
}

facetwin_codec_status facetwin_decode_png_fd(int fd, int64_t max_pixels, facetwin_image *out,
                                             char *message, size_t message_capacity) {
    static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    memset(out, 0, sizeof *out);
    if (message != NULL && message_capacity > 0) {
        message[0] = '\0';
    }
    FILE *f = fdopen(fd, "rb");
    if (f == NULL) {
        facetwin_codec_set_message(message, message_capacity, "%s", strerror(errno));
        close(fd);
        return FACETWIN_CODEC_CANNOT_OPEN;
    }
    uint8_t head[8];
    const size_t n = fread(head, 1, sizeof head, f);
    facetwin_codec_status status;
    if (n == 0) {
        status = ferror(f) ? FACETWIN_CODEC_CANNOT_OPEN : FACETWIN_CODEC_EMPTY;
        facetwin_codec_set_message(message, message_capacity, "%s", ferror(f) ? strerror(errno) : "empty file (0 bytes)");
    } else if (n < sizeof head && memcmp(head, signature, n) == 0) {
        status = FACETWIN_CODEC_TRUNCATED;
        facetwin_codec_set_message(message, message_capacity, "premature end of PNG file (%zu-byte signature)", n);
    } else if (n < sizeof head || memcmp(head, signature, sizeof head) != 0) {
        status = FACETWIN_CODEC_BAD_MAGIC;
        facetwin_codec_set_message(message, message_capacity, "not a PNG file (bad signature)");
    } else if (fseek(f, 0, SEEK_SET) != 0) {
        status = FACETWIN_CODEC_CANNOT_OPEN;
        facetwin_codec_set_message(message, message_capacity, "cannot rewind: %s", strerror(errno));
    } else {
        status = decode(f, max_pixels, out, message, message_capacity);
    }
    fclose(f);
    return status;
}
