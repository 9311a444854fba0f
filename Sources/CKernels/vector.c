// The layers' small vector kernels (facetwin_sum_double and the others below, declared in
// facetwin_kernels.h; Kernels.swift, BatchNorm2d, ConvBlock and Conv2d call them): reductions
// over a plane, BatchNorm's normalisation and its fused input gradient, col2im. Like conv.c, each is written once and compiled
// for AVX2 and for baseline x86-64, chosen at run time; no multiply-add is fused in either, so both
// builds give the same numbers to the bit (the lanes are the same 8, as two SSE registers).

#include "facetwin_kernels.h"
#include <string.h>

#pragma STDC FP_CONTRACT OFF
// Vectors pass by value only between always-inlined helpers (see conv.c).
#pragma clang diagnostic ignored "-Wpsabi"

typedef float v8 __attribute__((vector_size(32)));
#define INLINE static inline __attribute__((always_inline))

INLINE v8 load8(const float *p) {
    v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}
INLINE float hsum(v8 v) {
    float s = 0;
    for (int l = 0; l < 8; l++) s += v[l];
    return s;
}

// Σ f(i) in blocks of 1024: eight float lanes within a block, the lanes summed in order, the
// block's leftover scalars added to that, each block's float total added in double.
#define BLOCKED_SUM(VECTOR_TERM, SCALAR_TERM)                      \
    double total = 0;                                              \
    long i = 0;                                                    \
    while (i < n) {                                                \
        const long end = n < i + 1024 ? n : i + 1024;              \
        v8 acc = {0, 0, 0, 0, 0, 0, 0, 0};                         \
        for (; i + 8 <= end; i += 8) acc += VECTOR_TERM;           \
        float tail = hsum(acc);                                    \
        for (; i < end; i++) tail += SCALAR_TERM;                  \
        total += (double)tail;                                     \
    }                                                              \
    return total;

INLINE double sum_double(const float *p, long n) { BLOCKED_SUM(load8(p + i), p[i]) }

INLINE double dot_double(const float *a, const float *b, long n) { BLOCKED_SUM(load8(a + i) * load8(b + i), a[i] * b[i]) }

INLINE double squared_deviation(const float *p, long n, float mean) {
    const v8 m = {mean, mean, mean, mean, mean, mean, mean, mean};
#define DEV8 ((load8(p + i) - m) * (load8(p + i) - m))
#define DEV1 ((p[i] - mean) * (p[i] - mean))
    BLOCKED_SUM(DEV8, DEV1)
#undef DEV8
#undef DEV1
}

INLINE void bn_relu_backward(const float *restrict a, const float *restrict dy, float *restrict da, long n, float mean,
                             float inv_std, float k, float m, float sum_dy, float sum_dy_xhat) {
    for (long i = 0; i < n; i++) {
        const float xhat = (a[i] - mean) * inv_std;
        da[i] = a[i] > 0 ? k * (m * dy[i] - sum_dy - xhat * sum_dy_xhat) : 0;
    }
}

// y[i] = x[i] · scale + shift (BatchNorm's normalisation of a plane); x and y may be the same.
INLINE void affine(const float *x, float *y, long n, float scale, float shift) {
    for (long i = 0; i < n; i++) y[i] = x[i] * scale + shift;
}

// The adjoint of im2col: grad [cin, h, w] = the column gradient [cin·k·k, ho·wo] summed back onto
// the input positions each column entry was copied from.
INLINE void col2im(const float *col, int cin, int h, int w, int k, float *grad) {
    const int ho = h - k + 1, wo = w - k + 1;
    memset(grad, 0, sizeof(float) * (size_t)cin * h * w);
    for (int ci = 0; ci < cin; ci++)
        for (int ky = 0; ky < k; ky++)
            for (int kx = 0; kx < k; kx++) {
                const float *row = col + (size_t)((ci * k + ky) * k + kx) * ho * wo;
                for (int y = 0; y < ho; y++) {
                    float *restrict dst = grad + ((size_t)ci * h + y + ky) * w + kx;
                    const float *restrict src = row + (size_t)y * wo;
                    for (int x = 0; x < wo; x++) dst[x] += src[x];
                }
            }
}

#define DISPATCH(RET, NAME, PARAMS, ARGS)                                                   \
    __attribute__((target("avx2,fma"))) static RET NAME##_avx2 PARAMS { return NAME ARGS; } \
    static RET NAME##_baseline PARAMS { return NAME ARGS; }

DISPATCH(double, sum_double, (const float *p, long n), (p, n))
DISPATCH(double, dot_double, (const float *a, const float *b, long n), (a, b, n))
DISPATCH(double, squared_deviation, (const float *p, long n, float mean), (p, n, mean))
__attribute__((target("avx2,fma"))) static void bn_relu_backward_avx2(const float *a, const float *dy, float *da, long n,
                                                                      float mean, float inv_std, float k, float m,
                                                                      float sum_dy, float sum_dy_xhat) {
    bn_relu_backward(a, dy, da, n, mean, inv_std, k, m, sum_dy, sum_dy_xhat);
}
static void bn_relu_backward_baseline(const float *a, const float *dy, float *da, long n, float mean, float inv_std,
                                      float k, float m, float sum_dy, float sum_dy_xhat) {
    bn_relu_backward(a, dy, da, n, mean, inv_std, k, m, sum_dy, sum_dy_xhat);
}

__attribute__((target("avx2,fma"))) static void affine_avx2(const float *x, float *y, long n, float scale, float shift) {
    affine(x, y, n, scale, shift);
}
static void affine_baseline(const float *x, float *y, long n, float scale, float shift) { affine(x, y, n, scale, shift); }
__attribute__((target("avx2,fma"))) static void col2im_avx2(const float *col, int cin, int h, int w, int k, float *grad) {
    col2im(col, cin, h, w, k, grad);
}
static void col2im_baseline(const float *col, int cin, int h, int w, int k, float *grad) { col2im(col, cin, h, w, k, grad); }

void facetwin_affine(const float *x, float *y, long n, float scale, float shift) {
    if (facetwin_cpu_avx2_fma())
        affine_avx2(x, y, n, scale, shift);
    else
        affine_baseline(x, y, n, scale, shift);
}

void facetwin_col2im(const float *col, int cin, int h, int w, int k, float *grad) {
    if (facetwin_cpu_avx2_fma())
        col2im_avx2(col, cin, h, w, k, grad);
    else
        col2im_baseline(col, cin, h, w, k, grad);
}

double facetwin_sum_double(const float *p, long n) {
    return facetwin_cpu_avx2_fma() ? sum_double_avx2(p, n) : sum_double_baseline(p, n);
}

double facetwin_dot_double(const float *a, const float *b, long n) {
    return facetwin_cpu_avx2_fma() ? dot_double_avx2(a, b, n) : dot_double_baseline(a, b, n);
}

double facetwin_squared_deviation(const float *p, long n, float mean) {
    return facetwin_cpu_avx2_fma() ? squared_deviation_avx2(p, n, mean) : squared_deviation_baseline(p, n, mean);
}

void facetwin_bn_relu_backward(const float *a, const float *dy, float *da, long n, float mean, float inv_std, float k,
                               float m, float sum_dy, float sum_dy_xhat) {
    if (facetwin_cpu_avx2_fma())
        bn_relu_backward_avx2(a, dy, da, n, mean, inv_std, k, m, sum_dy, sum_dy_xhat);
    else
        bn_relu_backward_baseline(a, dy, da, n, mean, inv_std, k, m, sum_dy, sum_dy_xhat);
}
