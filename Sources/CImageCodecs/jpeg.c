/*
 * JPEG through the libjpeg API (libjpeg-turbo). See CImageCodecs.h.
 *
 * libjpeg reports fatal errors through err->error_exit, which must not return;
 * ours formats the message and longjmps back into facetwin_decode_jpeg_fd.
 * Warnings go through err->emit_message(-1); the ones that mean lost or corrupt
 * image data become errors the same way (stdio's source manager turns end of file
 * into a warning plus a fake EOI marker, which would otherwise decode a truncated
 * file as grey padding).
 */
#include "codecs_internal.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct jpeg_guard {
    struct jpeg_error_mgr pub;          /* first: libjpeg casts cinfo->err to this */
    jmp_buf jb;
    facetwin_codec_status status;
    char text[JMSG_LENGTH_MAX];
} jpeg_guard;

static void guard_error_exit(j_common_ptr cinfo) {
    jpeg_guard *g = (jpeg_guard *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, g->text);
    g->status = cinfo->err->msg_code == JERR_INPUT_EOF ? FACETWIN_CODEC_TRUNCATED : FACETWIN_CODEC_MALFORMED;
    longjmp(g->jb, 1);
}

/* Warnings that do not cost image data. */
static int harmless_warning(int code) {
    return code == JWRN_EXTRANEOUS_DATA || code == JWRN_ADOBE_XFORM || code == JWRN_JFIF_MAJOR ||
           code == JWRN_BOGUS_ICC || code == JWRN_TOO_MUCH_DATA;
}

static void guard_emit_message(j_common_ptr cinfo, int level) {
    if (level >= 0) {
        return; /* trace messages: dropped, a library must not print */
    }
    jpeg_guard *g = (jpeg_guard *)cinfo->err;
    const int code = cinfo->err->msg_code;
    cinfo->err->num_warnings++;
    if (harmless_warning(code)) {
        return;
    }
    if (code == JWRN_JPEG_EOF) {
        snprintf(g->text, sizeof g->text, "premature end of JPEG file");
        g->status = FACETWIN_CODEC_TRUNCATED;
    } else {
        (*cinfo->err->format_message)(cinfo, g->text);
        g->status = FACETWIN_CODEC_MALFORMED;
    }
    longjmp(g->jb, 1);
}

/*
 * A progressive JPEG may declare thousands of tiny scans, each a pass over the
 * whole coefficient buffer: a few KB of file, minutes of CPU (libjpeg-turbo's
 * advice is a scan limit, as djpeg -maxscan). Real encoders use at most ~10-20.
 */
#define FACETWIN_JPEG_MAX_SCANS 500

static void guard_progress(j_common_ptr cinfo) {
    if (cinfo->is_decompressor) {
        j_decompress_ptr d = (j_decompress_ptr)cinfo;
        if (d->input_scan_number > FACETWIN_JPEG_MAX_SCANS) {
            jpeg_guard *g = (jpeg_guard *)cinfo->err;
            snprintf(g->text, sizeof g->text, "more than %d scans in a progressive JPEG", FACETWIN_JPEG_MAX_SCANS);
            g->status = FACETWIN_CODEC_MALFORMED;
            longjmp(g->jb, 1);
        }
    }
}

static void guard_output_message(j_common_ptr cinfo) {
    (void)cinfo; /* never print */
}

/* Pillow's MULDIV255 and cmyk2rgb, on Pillow's (inverted, "CMYK;I") samples. */
static inline uint8_t muldiv255(int a, int b) {
    const int t = a * b + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

static void cmyk_row_to_rgb(const uint8_t *in, uint8_t *out, size_t width) {
    for (size_t x = 0; x < width; x++) {
        /* Adobe CMYK JPEGs store 255 - ink; Pillow reads them as "CMYK;I". */
        const int c = 255 - in[0], m = 255 - in[1], y = 255 - in[2], k = 255 - in[3];
        const int nk = 255 - k;
        int v;
        v = nk - muldiv255(c, nk); out[0] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        v = nk - muldiv255(m, nk); out[1] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        v = nk - muldiv255(y, nk); out[2] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        in += 4;
        out += 3;
    }
}

/* The first APP1 "Exif" segment's orientation, 1 if none (Pillow also takes the first). */
static int32_t saved_orientation(j_decompress_ptr cinfo) {
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m != NULL; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
            return facetwin_exif_orientation(m->data, m->data_length);
        }
    }
    return 1;
}

/*
 * Runs with `f` at the start of the file. libjpeg errors longjmp back here; the
 * buffers are volatile so that their values survive the longjmp and are freed.
 */
static facetwin_codec_status decode(FILE *f, int64_t max_pixels, facetwin_image *out,
                                    char *message, size_t cap) {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_progress_mgr progress;
    jpeg_guard guard;
    uint8_t *volatile pixels = NULL;
    uint8_t *volatile cmyk_row = NULL;

    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = jpeg_std_error(&guard.pub);
    guard.pub.error_exit = guard_error_exit;
    guard.pub.emit_message = guard_emit_message;
    guard.pub.output_message = guard_output_message;
    guard.status = FACETWIN_CODEC_MALFORMED;
    guard.text[0] = '\0';

    if (setjmp(guard.jb) != 0) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(cmyk_row);
        facetwin_codec_set_message(message, cap, "%s", guard.text[0] ? guard.text : "unknown libjpeg error");
        return guard.status;
    }

    jpeg_create_decompress(&cinfo);
    memset(&progress, 0, sizeof progress);
    progress.progress_monitor = guard_progress;
    cinfo.progress = &progress;
    jpeg_stdio_src(&cinfo, f);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&cinfo, TRUE);

    out->width = (int32_t)(cinfo.image_width > INT32_MAX ? INT32_MAX : cinfo.image_width);
    out->height = (int32_t)(cinfo.image_height > INT32_MAX ? INT32_MAX : cinfo.image_height);
    facetwin_codec_status status =
        facetwin_codec_check_size(cinfo.image_width, cinfo.image_height, max_pixels, message, cap);
    if (status != FACETWIN_CODEC_OK) {
        jpeg_destroy_decompress(&cinfo);
        return status;
    }

    int cmyk = 0;
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo.out_color_space = JCS_GRAYSCALE;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo.out_color_space = JCS_RGB;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo.out_color_space = JCS_CMYK;
        cmyk = 1;
        break;
    default:
        jpeg_destroy_decompress(&cinfo);
        facetwin_codec_set_message(message, cap, "JPEG colour space %d with %d components has no gray or RGB reading",
                            (int)cinfo.jpeg_color_space, cinfo.num_components);
        return FACETWIN_CODEC_UNSUPPORTED;
    }
    /* Pillow's decoder settings (libjpeg's defaults, stated so they cannot drift). */
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    cinfo.scale_num = 1;
    cinfo.scale_denom = 1;

    jpeg_start_decompress(&cinfo);
    const size_t width = cinfo.output_width;
    const size_t height = cinfo.output_height;
    const int channels = cinfo.out_color_space == JCS_GRAYSCALE ? 1 : 3;
    if ((int64_t)width * (int64_t)height > max_pixels ||
        cinfo.output_components != (cmyk ? 4 : channels)) {
        jpeg_destroy_decompress(&cinfo);
        facetwin_codec_set_message(message, cap, "decoder output %zu x %zu x %d does not match the header",
                            width, height, cinfo.output_components);
        return FACETWIN_CODEC_MALFORMED;
    }
    pixels = malloc(width * height * (size_t)channels);
    if (cmyk) {
        cmyk_row = malloc(width * 4);
    }
    if (pixels == NULL || (cmyk && cmyk_row == NULL)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        free(cmyk_row);
        facetwin_codec_set_message(message, cap, "out of memory for %zu x %zu pixels", width, height);
        return FACETWIN_CODEC_NO_MEMORY;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *dst = pixels + (size_t)cinfo.output_scanline * width * (size_t)channels;
        JSAMPROW row = cmyk ? cmyk_row : dst;
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) {
            longjmp(guard.jb, 1); /* cannot happen with a stdio source; treated as corrupt */
        }
        if (cmyk) {
            cmyk_row_to_rgb(cmyk_row, dst, width);
        }
    }
    const int32_t orientation = saved_orientation(&cinfo);
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(cmyk_row);

    return facetwin_codec_finish(out, pixels, width, height, channels, orientation, message, cap);
}

facetwin_codec_status facetwin_decode_jpeg_fd(int fd, int64_t max_pixels, facetwin_image *out,
                                              char *message, size_t message_capacity) {
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
    const int c0 = fgetc(f), c1 = fgetc(f);
    facetwin_codec_status status;
    if (c0 == EOF) {
        status = ferror(f) ? FACETWIN_CODEC_CANNOT_OPEN : FACETWIN_CODEC_EMPTY;
        facetwin_codec_set_message(message, message_capacity, "%s", ferror(f) ? strerror(errno) : "empty file (0 bytes)");
    } else if (c0 != 0xFF || c1 != 0xD8) {
        status = FACETWIN_CODEC_BAD_MAGIC;
        facetwin_codec_set_message(message, message_capacity, "not a JPEG file (starts 0x%02X%02X, not 0xFFD8)",
                            c0 & 0xFF, c1 == EOF ? 0 : c1 & 0xFF);
    } else if (fseek(f, 0, SEEK_SET) != 0) {
        status = FACETWIN_CODEC_CANNOT_OPEN;
        facetwin_codec_set_message(message, message_capacity, "cannot rewind: %s", strerror(errno));
    } else {
        status = decode(f, max_pixels, out, message, message_capacity);
    }
    fclose(f);
    return status;
}
