// Which instruction set FaceTwin's own kernels run with (facetwin_cpu_* in facetwin_kernels.h):
// AVX2 with FMA where the CPU and the OS support them, else the portable (baseline x86-64)
// versions. The package is compiled for baseline x86-64; only functions marked
// target("avx2,fma") use the newer instructions, and they run only when this says so.

#include "facetwin_kernels.h"
#include <cpuid.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int hardware;           // the CPU and OS run AVX2, FMA, BMI1 and POPCNT
static int baseline_from_env;  // FACETWIN_CPU=baseline
static _Atomic int baseline_forced = -1;  // the test hook's setting; -1: none

static int detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const unsigned fma = 1u << 12, popcnt = 1u << 23, osxsave = 1u << 27, avx = 1u << 28;
    if ((c & (fma | popcnt | osxsave | avx)) != (fma | popcnt | osxsave | avx)) return 0;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6) return 0;  // the OS saves the YMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & (1u << 5)) != 0 && (b & (1u << 3)) != 0;  // AVX2, BMI1 (sparse.c's mask loop)
}

static void init(void) {
    hardware = detect();
    const char *env = getenv("FACETWIN_CPU");
    baseline_from_env = env != NULL && strcmp(env, "baseline") == 0;
}

int facetwin_cpu_has_avx2_fma(void) {
    pthread_once(&once, init);
    return hardware;
}

int facetwin_cpu_baseline_forced(void) {
    pthread_once(&once, init);
    const int forced = baseline_forced;
    return forced >= 0 ? forced : baseline_from_env;
}

int facetwin_cpu_avx2_fma(void) { return facetwin_cpu_has_avx2_fma() && !facetwin_cpu_baseline_forced(); }

void facetwin_cpu_force_baseline(int on) { baseline_forced = on < 0 ? -1 : on != 0; }
