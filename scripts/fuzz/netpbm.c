/* libFuzzer target: the Netpbm decoder (CNetpbm's shim over libnetpbm) on arbitrary bytes.
 * The shim reads from a path, so every input is written to one scratch file first. */
#include "CNetpbm.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char g_path[64];
static int g_fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (g_fd < 0) {
        snprintf(g_path, sizeof g_path, "/tmp/facetwin-fuzz-netpbm-XXXXXX");
        g_fd = mkstemp(g_path);
        if (g_fd < 0) abort();
    }
    if (ftruncate(g_fd, 0) != 0 || pwrite(g_fd, data, size, 0) != (ssize_t)size) abort();
    int32_t w = 0, h = 0;
    uint8_t *pixels = NULL;
    char message[512];
    facetwin_netpbm_status s = facetwin_netpbm_read_gray8(g_path, 64 * 1024 * 1024, &w, &h, &pixels, message, sizeof message);
    if (s == FACETWIN_NETPBM_OK) {
        volatile uint8_t sum = 0;
        for (int64_t i = 0; i < (int64_t)w * h; i++) sum += pixels[i];  /* every pixel was written */
    }
    facetwin_netpbm_free(pixels);
    return 0;
}
