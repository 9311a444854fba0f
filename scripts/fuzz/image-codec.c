/* libFuzzer target: one of CImageCodecs' decoders (JPEG, PNG or WebP, chosen at build time by
 * -DFUZZ_DECODER=facetwin_decode_{jpeg,png,webp}_fd) on arbitrary bytes. The decoders read
 * from a descriptor, so every input is written to one scratch file first. */
#include "CImageCodecs.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef FUZZ_DECODER
#error "build with -DFUZZ_DECODER=facetwin_decode_png_fd (or _jpeg_fd, _webp_fd)"
#endif

static char g_path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (g_path[0] == '\0') {
        snprintf(g_path, sizeof g_path, "/tmp/facetwin-fuzz-codec-XXXXXX");
        const int fd = mkstemp(g_path);
        if (fd < 0) abort();
        close(fd);
    }
    int fd = open(g_path, O_RDWR | O_TRUNC);
    if (fd < 0 || pwrite(fd, data, size, 0) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0) abort();
    facetwin_image image;
    char message[512];
    /* 16 megapixels: the decoders' own limit, low enough for ASan's 2 GB RSS limit. */
    const facetwin_codec_status s = FUZZ_DECODER(fd, 16 * 1024 * 1024, &image, message, sizeof message); /* closes fd */
    if (s == FACETWIN_CODEC_OK) {
        if (image.pixels == NULL || image.width <= 0 || image.height <= 0 || (image.channels != 1 && image.channels != 3)) abort();
        volatile uint8_t sum = 0;
        const int64_t n = (int64_t)image.width * image.height * image.channels;
        for (int64_t i = 0; i < n; i++) sum += image.pixels[i]; /* every sample is addressable */
    } else if (image.pixels != NULL || message[0] == '\0') {
        abort(); /* a failure leaves no pixels and always a message */
    }
    facetwin_image_free(&image);
    return 0;
}
