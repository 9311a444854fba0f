/*
 * WebP through libwebp's decoder and demuxer. See CImageCodecs.h.
 *
 * libwebp works on bytes in memory and reports errors by status code (it has no
 * callback that must not return), so no setjmp is needed here. The file is read in
 * two steps: first its header, from which the image size is checked against the
 * caller's limit, then the whole file, whose size is bounded by that image size.
 */
#include "codecs_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <webp/decode.h>
#include <webp/demux.h>

/*
 * The largest file accepted for a W x H image: lossless WebP of noise is a little
 * larger than its 4 bytes a pixel, and metadata chunks (EXIF, XMP, ICC) come on top.
 */
#define FACETWIN_WEBP_SLACK (16 * 1024 * 1024)
#define FACETWIN_WEBP_HEADER 64

static const char *vp8_status_text(VP8StatusCode status) {
    switch (status) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "not enough data";
    default: return "unknown libwebp error";
    }
}

/* Reads up to `length` bytes at the current position; returns the count, or -1 on a read error. */
static ssize_t read_fully(int fd, uint8_t *buffer, size_t length) {
    size_t done = 0;
    while (done < length) {
        const ssize_t n = read(fd, buffer + done, length - done);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        if (n == 0) {
            break;
        }
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* The orientation in the file's EXIF chunk (with or without the "Exif\0\0" prefix), 1 if none. */
static int32_t exif_orientation(const uint8_t *data, size_t size) {
    const WebPData bytes = {data, size};
    WebPDemuxer *demux = WebPDemux(&bytes);
    if (demux == NULL) {
        return 1;
    }
    int32_t orientation = 1;
    WebPChunkIterator chunk;
    if (WebPDemuxGetChunk(demux, "EXIF", 1, &chunk)) {
        const uint8_t *p = chunk.chunk.bytes;
        const size_t n = chunk.chunk.size;
        if (n >= 6 && memcmp(p, "Exif\0\0", 6) == 0) {
            orientation = facetwin_exif_orientation(p, n);
        } else if (n <= SIZE_MAX - 6) {
            uint8_t *block = malloc(n + 6);
            if (block != NULL) {
                memcpy(block, "Exif\0\0", 6);
                memcpy(block + 6, p, n);
                orientation = facetwin_exif_orientation(block, n + 6);
                free(block);
            }
        }
        WebPDemuxReleaseChunkIterator(&chunk);
    }
    WebPDemuxDelete(demux);
    return orientation;
}

static facetwin_codec_status decode(int fd, int64_t max_pixels, facetwin_image *out, char *message,
                                    size_t cap) {
    struct stat st;
    if (fstat(fd, &st) != 0) {
        facetwin_codec_set_message(message, cap, "%s", strerror(errno));
        return FACETWIN_CODEC_CANNOT_OPEN;
    }
    uint8_t head[FACETWIN_WEBP_HEADER];
    const ssize_t got = read_fully(fd, head, sizeof head);
    if (got < 0) {
        facetwin_codec_set_message(message, cap, "read error: %s", strerror(errno));
        return FACETWIN_CODEC_CANNOT_OPEN;
    }
    if (got == 0) {
        facetwin_codec_set_message(message, cap, "empty file (0 bytes)");
        return FACETWIN_CODEC_EMPTY;
    }
    if (got < 12 || memcmp(head, "RIFF", 4) != 0 || memcmp(head + 8, "WEBP", 4) != 0) {
        if (got < 12 && memcmp(head, "RIFF", (size_t)got < 4 ? (size_t)got : 4) == 0) {
            facetwin_codec_set_message(message, cap, "premature end of WebP file (%zd-byte header)", got);
            return FACETWIN_CODEC_TRUNCATED;
        }
        facetwin_codec_set_message(message, cap, "not a WebP file (no RIFF....WEBP header)");
        return FACETWIN_CODEC_BAD_MAGIC;
    }

    WebPBitstreamFeatures features;
    VP8StatusCode vs = WebPGetFeatures(head, (size_t)got, &features);
    if (vs == VP8_STATUS_NOT_ENOUGH_DATA) {
        facetwin_codec_set_message(message, cap, "premature end of WebP file (header)");
        return FACETWIN_CODEC_TRUNCATED;
    }
    if (vs != VP8_STATUS_OK) {
        facetwin_codec_set_message(message, cap, "bad header: %s", vp8_status_text(vs));
        return vs == VP8_STATUS_UNSUPPORTED_FEATURE ? FACETWIN_CODEC_UNSUPPORTED : FACETWIN_CODEC_MALFORMED;
    }
    out->width = features.width;
    out->height = features.height;
    facetwin_codec_status status =
        facetwin_codec_check_size(features.width, features.height, max_pixels, message, cap);
    if (status != FACETWIN_CODEC_OK) {
        return status;
    }
    if (features.has_animation) {
        facetwin_codec_set_message(message, cap, "animated WebP is not a photo (%d x %d)", features.width,
                                   features.height);
        return FACETWIN_CODEC_UNSUPPORTED;
    }

    const size_t width = (size_t)features.width, height = (size_t)features.height;
    const int64_t bound = 4 * (int64_t)width * (int64_t)height + FACETWIN_WEBP_SLACK;
    if ((int64_t)st.st_size > bound) {
        facetwin_codec_set_message(message, cap,
                                   "file of %lld bytes is larger than a %zu x %zu WebP can be (%lld bytes)",
                                   (long long)st.st_size, width, height, (long long)bound);
        return FACETWIN_CODEC_MALFORMED;
    }
    /* Regular files only reach here (InputFile), so st_size is the length to read. */
    const size_t size = st.st_size > got ? (size_t)st.st_size : (size_t)got;
    uint8_t *data = malloc(size);
    uint8_t *pixels = malloc(width * height * 3);
    if (data == NULL || pixels == NULL) {
        free(data);
        free(pixels);
        facetwin_codec_set_message(message, cap, "out of memory for %zu x %zu pixels", width, height);
        return FACETWIN_CODEC_NO_MEMORY;
    }
    memcpy(data, head, (size_t)got);
    const ssize_t rest = size > (size_t)got ? read_fully(fd, data + got, size - (size_t)got) : 0;
    if (rest < 0) {
        free(data);
        free(pixels);
        facetwin_codec_set_message(message, cap, "read error: %s", strerror(errno));
        return FACETWIN_CODEC_CANNOT_OPEN;
    }
    const size_t length = (size_t)got + (size_t)rest;

    /* libwebp's defaults are Pillow's: fancy upsampling, no dithering, no premultiplied alpha. */
    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config)) {
        free(data);
        free(pixels);
        facetwin_codec_set_message(message, cap, "libwebp version mismatch");
        return FACETWIN_CODEC_MALFORMED;
    }
    config.output.colorspace = MODE_RGB; /* alpha dropped, as Pillow's convert("RGB") does */
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = pixels;
    config.output.u.RGBA.stride = (int)(width * 3);
    config.output.u.RGBA.size = width * height * 3;
    vs = WebPDecode(data, length, &config);
    WebPFreeDecBuffer(&config.output);
    if (vs != VP8_STATUS_OK) {
        free(data);
        free(pixels);
        if (vs == VP8_STATUS_NOT_ENOUGH_DATA) {
            facetwin_codec_set_message(message, cap, "premature end of WebP file");
            return FACETWIN_CODEC_TRUNCATED;
        }
        facetwin_codec_set_message(message, cap, "%s", vp8_status_text(vs));
        return vs == VP8_STATUS_UNSUPPORTED_FEATURE ? FACETWIN_CODEC_UNSUPPORTED
               : vs == VP8_STATUS_OUT_OF_MEMORY     ? FACETWIN_CODEC_NO_MEMORY
                                                    : FACETWIN_CODEC_MALFORMED;
    }
    const int32_t orientation = exif_orientation(data, length);
    free(data);

    return facetwin_codec_finish(out, pixels, width, height, 3, orientation, message, cap);
}

facetwin_codec_status facetwin_decode_webp_fd(int fd, int64_t max_pixels, facetwin_image *out,
                                              char *message, size_t message_capacity) {
    memset(out, 0, sizeof *out);
    if (message != NULL && message_capacity > 0) {
        message[0] = '\0';
    }
    facetwin_codec_status status;
    if (lseek(fd, 0, SEEK_SET) != 0) {
        facetwin_codec_set_message(message, message_capacity, "cannot rewind: %s", strerror(errno));
        status = FACETWIN_CODEC_CANNOT_OPEN;
    } else {
        status = decode(fd, max_pixels, out, message, message_capacity);
    }
    close(fd);
    return status;
}
