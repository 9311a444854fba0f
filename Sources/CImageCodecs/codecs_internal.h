/* Helpers shared by the JPEG, PNG and WebP decoders (not exported to Swift). */
#ifndef FACETWIN_CODECS_INTERNAL_H
#define FACETWIN_CODECS_INTERNAL_H

#include "CImageCodecs.h"

#include <stdarg.h>

/* Formats into `dst` and flattens it to one trimmed line. */
void facetwin_codec_set_message(char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Checks a header's size against max_pixels; on failure writes the message. */
facetwin_codec_status facetwin_codec_check_size(int64_t width, int64_t height, int64_t max_pixels,
                                         char *message, size_t cap);

/*
 * Applies EXIF orientation 2..8 to `image` in place (new buffer, old freed), as
 * Pillow's exif_transpose. Returns 0 on success, -1 when out of memory (the
 * image is left untouched).
 */
int facetwin_codec_apply_orientation(facetwin_image *image, int32_t orientation);

/*
 * Hands decoded `pixels` (width x height x channels, malloc'd; owned from here on) to `out`,
 * upright by `orientation`. On out of memory frees them, leaves out->pixels NULL and writes
 * the message.
 */
facetwin_codec_status facetwin_codec_finish(facetwin_image *out, uint8_t *pixels, size_t width, size_t height,
                                            int32_t channels, int32_t orientation, char *message, size_t cap);

#endif
