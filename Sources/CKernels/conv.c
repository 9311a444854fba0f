// Direct 2-D convolution kernels (stride 1, no padding) for the small channel counts of the twin's
// CNN, vectorized along image rows (facetwin_conv_*, declared in facetwin_kernels.h; called from
// Sources/FaceTwinLayers/DirectConvolution.swift).
//
// For 1→4→8→8 channels, im2col + GEMM multiplies matrices only 4–8 rows tall and spends most of
// its time writing and reading the 9×-larger column matrix. These kernels read each input row
// straight from the image and keep 16–32 outputs of a row in registers while they accumulate
// every (input channel, ky, kx) term into them.
//
// Each kernel is written once, as an always-inlined body with a compile-time `fused` flag, and
// compiled twice: for AVX2 with FMA (8-lane vectors in one register, a fused multiply-add per
// term) and for baseline x86-64 (the same 8-lane vectors as two SSE registers, a multiply then an
// add). The exported functions choose by facetwin_cpu_avx2_fma(). Both sum the same terms in the
// same order; they differ only in the fused operation's single rounding.

#include "facetwin_kernels.h"
#include <string.h>

// A multiply then an add stays two roundings unless the code asks for the fused operation.
#pragma STDC FP_CONTRACT OFF
// The 8-lane helpers below take and return vectors by value, but they are always inlined, so no
// call ever passes one in registers the baseline build lacks.
#pragma clang diagnostic ignored "-Wpsabi"

typedef float v8 __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
#define INLINE static inline __attribute__((always_inline))

INLINE v8 load8(const float *p) {
    v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}
INLINE void store8(float *p, v8 v) { memcpy(p, &v, sizeof v); }
INLINE v8 splat(float s) { return (v8){s, s, s, s, s, s, s, s}; }
// acc + a · b: fused (one rounding) in the AVX2 build, a multiply then an add in the baseline one.
INLINE v8 madd(int fused, v8 a, v8 b, v8 acc) { return fused ? __builtin_elementwise_fma(a, b, acc) : a * b + acc; }
// The lanes summed one after another from zero (Swift's SIMD8.sum()).
INLINE float hsum(v8 v) {
    float s = 0;
    for (int l = 0; l < 8; l++) s += v[l];
    return s;
}

typedef struct {
    int relu;
    const float *scale, *shift;
} epilogue;

INLINE v8 epilogue8(const epilogue *e, v8 v, int c) {
    if (e->relu) v = (v8)((v8i)v & ~(v < splat(0)));  // negative lanes to +0
    if (e->scale && e->shift) v = v * splat(e->scale[c]) + splat(e->shift[c]);
    return v;
}
INLINE float epilogue1(const epilogue *e, float v, int c) {
    if (e->relu) v = 0 >= v ? 0 : v;
    if (e->scale && e->shift) v = v * e->scale[c] + e->shift[c];
    return v;
}

// Output channels co..co+3 of one image, in blocks of 16 outputs of a row (the last block of a
// row overlaps the one before when the width is not a multiple of 16; it recomputes the same
// values). Every input vector loaded feeds four multiply-adds, so the kernel is bound by the
// arithmetic, not by loads. Each output sums its terms in the same order as row8.
INLINE void channels4(int fused, const float *input, int cin, int h, int w, const float *weight, const float *bias,
                      int co, int k, float *output, const epilogue *e) {
    const int ho = h - k + 1, wo = w - k + 1, taps = cin * k * k, plane = h * w, out_plane = ho * wo;
    const float *w0 = weight + (size_t)co * taps;
    const float b0 = bias ? bias[co] : 0, b1 = bias ? bias[co + 1] : 0, b2 = bias ? bias[co + 2] : 0,
                b3 = bias ? bias[co + 3] : 0;
    for (int y = 0; y < ho; y++) {
        int x0 = 0;
        while (x0 < wo) {
            const int xs = x0 < wo - 16 ? x0 : wo - 16;
            v8 a00 = splat(b0), a01 = a00, a10 = splat(b1), a11 = a10;
            v8 a20 = splat(b2), a21 = a20, a30 = splat(b3), a31 = a30;
            const float *wp = w0;
            const float *base = input + (size_t)y * w + xs;
            for (int ci = 0; ci < cin; ci++)
                for (int ky = 0; ky < k; ky++) {
                    const float *r = base + (size_t)ci * plane + (size_t)ky * w;
                    for (int kx = 0; kx < k; kx++) {
                        const v8 v0 = load8(r + kx), v1 = load8(r + kx + 8);
                        v8 wv = splat(wp[0]);
                        a00 = madd(fused, wv, v0, a00); a01 = madd(fused, wv, v1, a01);
                        wv = splat(wp[taps]);
                        a10 = madd(fused, wv, v0, a10); a11 = madd(fused, wv, v1, a11);
                        wv = splat(wp[2 * taps]);
                        a20 = madd(fused, wv, v0, a20); a21 = madd(fused, wv, v1, a21);
                        wv = splat(wp[3 * taps]);
                        a30 = madd(fused, wv, v0, a30); a31 = madd(fused, wv, v1, a31);
                        wp++;
                    }
                }
            if (e->relu || e->scale) {
                a00 = epilogue8(e, a00, co); a01 = epilogue8(e, a01, co);
                a10 = epilogue8(e, a10, co + 1); a11 = epilogue8(e, a11, co + 1);
                a20 = epilogue8(e, a20, co + 2); a21 = epilogue8(e, a21, co + 2);
                a30 = epilogue8(e, a30, co + 3); a31 = epilogue8(e, a31, co + 3);
            }
            float *d = output + (size_t)co * out_plane + (size_t)y * wo + xs;
            store8(d, a00); store8(d + 8, a01);
            store8(d + out_plane, a10); store8(d + out_plane + 8, a11);
            store8(d + 2 * out_plane, a20); store8(d + 2 * out_plane + 8, a21);
            store8(d + 3 * out_plane, a30); store8(d + 3 * out_plane + 8, a31);
            x0 = xs + 16;
        }
    }
}

// 32 outputs of one row (then, below, 8), as four 8-lane accumulators.
INLINE void row32(int fused, const float *input, int cin, int plane_stride, int row_stride, const float *weight, int k,
                  float bias, float *out) {
    v8 a0 = splat(bias), a1 = a0, a2 = a0, a3 = a0;
    const float *wp = weight;
    for (int ci = 0; ci < cin; ci++) {
        const float *plane = input + (size_t)ci * plane_stride;
        for (int ky = 0; ky < k; ky++) {
            const float *r = plane + (size_t)ky * row_stride;
            for (int kx = 0; kx < k; kx++) {
                const v8 wv = splat(*wp);
                a0 = madd(fused, wv, load8(r + kx), a0);
                a1 = madd(fused, wv, load8(r + kx + 8), a1);
                a2 = madd(fused, wv, load8(r + kx + 16), a2);
                a3 = madd(fused, wv, load8(r + kx + 24), a3);
                wp++;
            }
        }
    }
    store8(out, a0); store8(out + 8, a1); store8(out + 16, a2); store8(out + 24, a3);
}

INLINE void row8(int fused, const float *input, int cin, int plane_stride, int row_stride, const float *weight, int k,
                 float bias, float *out) {
    v8 acc = splat(bias);
    const float *wp = weight;
    for (int ci = 0; ci < cin; ci++) {
        const float *plane = input + (size_t)ci * plane_stride;
        for (int ky = 0; ky < k; ky++) {
            const float *r = plane + (size_t)ky * row_stride;
            for (int kx = 0; kx < k; kx++) {
                acc = madd(fused, splat(*wp), load8(r + kx), acc);
                wp++;
            }
        }
    }
    store8(out, acc);
}

INLINE void forward(int fused, const float *input, int cin, int h, int w, const float *weight, const float *bias,
                    int cout, int k, float *output, const epilogue *e) {
    const int ho = h - k + 1, wo = w - k + 1;
    int co = 0;
    // Four output channels at a time, 16 outputs of a row each.
    if (wo >= 16)
        for (; co + 4 <= cout; co += 4) {
            if (k == 3)
                channels4(fused, input, cin, h, w, weight, bias, co, 3, output, e);
            else
                channels4(fused, input, cin, h, w, weight, bias, co, k, output, e);
        }
    for (; co < cout; co++) {
        const float *wc = weight + (size_t)co * cin * k * k;
        const float b = bias ? bias[co] : 0;
        for (int y = 0; y < ho; y++) {
            float *out = output + ((size_t)co * ho + y) * wo;
            const float *in = input + (size_t)y * w;
            int x0 = 0;
            for (; x0 + 32 <= wo; x0 += 32) row32(fused, in + x0, cin, h * w, w, wc, k, b, out + x0);
            for (; x0 + 8 <= wo; x0 += 8) row8(fused, in + x0, cin, h * w, w, wc, k, b, out + x0);
            if (x0 < wo) {
                if (wo >= 8) {
                    // An overlapping last vector: recomputes a few outputs, with the same values.
                    row8(fused, in + wo - 8, cin, h * w, w, wc, k, b, out + wo - 8);
                } else {
                    for (int x = x0; x < wo; x++) {
                        float s = b;
                        for (int ci = 0; ci < cin; ci++)
                            for (int ky = 0; ky < k; ky++)
                                for (int kx = 0; kx < k; kx++)
                                    s += wc[(ci * k + ky) * k + kx] * input[(size_t)ci * h * w + (size_t)(y + ky) * w + x + kx];
                        out[x] = s;
                    }
                }
            }
        }
        if (e->relu || e->scale) {
            float *plane = output + (size_t)co * ho * wo;
            for (int i = 0; i < ho * wo; i++) plane[i] = epilogue1(e, plane[i], co);
        }
    }
}

// dW for output channels 0..4·blocks of one image, 3×3 kernels: for each (input channel, block of
// four output channels, kernel row) twelve vector accumulators (4 channels × 3 kernel columns), so
// one input vector feeds four multiply-adds and one gradient vector three. The image is walked in
// bands of rows that stay in L1 while every (ci, block, ky) passes over them; the accumulators live
// in `partial` between bands. Each weight's sum is per image, per lane, then the eight lanes are
// added into grad_weight, as weight_gradient_3x3 does.
INLINE void weight_gradient_blocks(int fused, const float *input, int cin, int h, int w, const float *grad_output,
                                   int blocks, float *grad_weight, float *partial) {
    const int ho = h - 2, wo = w - 2, out_plane = ho * wo, plane = h * w;
    const int units = cin * blocks * 3;
    memset(partial, 0, sizeof(float) * (size_t)units * 12 * 8);
    const int vecs = wo / 8, rem = wo - vecs * 8;
    // The last, partial vector of a row is loaded ending at the row's end, its first 8 − rem lanes
    // (already counted) zeroed.
    v8i keep;
    for (int l = 0; l < 8; l++) keep[l] = l < 8 - rem ? 0 : -1;
    enum { BAND = 4 };
    for (int y0 = 0; y0 < ho; y0 += BAND) {
        const int y1 = y0 + BAND < ho ? y0 + BAND : ho;
        for (int ci = 0; ci < cin; ci++)
            for (int blk = 0; blk < blocks; blk++)
                for (int ky = 0; ky < 3; ky++) {
                    float *acc = partial + (size_t)((ci * blocks + blk) * 3 + ky) * 96;
                    v8 a00 = load8(acc), a01 = load8(acc + 8), a02 = load8(acc + 16), a10 = load8(acc + 24);
                    v8 a11 = load8(acc + 32), a12 = load8(acc + 40), a20 = load8(acc + 48), a21 = load8(acc + 56);
                    v8 a22 = load8(acc + 64), a30 = load8(acc + 72), a31 = load8(acc + 80), a32 = load8(acc + 88);
                    for (int y = y0; y < y1; y++) {
                        const float *r = input + (size_t)ci * plane + (size_t)(y + ky) * w;
                        const float *g = grad_output + (size_t)blk * 4 * out_plane + (size_t)y * wo;
#define STEP(X, MASK)                                                                                       \
    do {                                                                                                    \
        v8 g0 = load8(g + (X)), g1 = load8(g + (X) + out_plane), g2 = load8(g + (X) + 2 * out_plane),       \
           g3 = load8(g + (X) + 3 * out_plane);                                                             \
        if (MASK) {                                                                                         \
            g0 = (v8)((v8i)g0 & keep); g1 = (v8)((v8i)g1 & keep);                                           \
            g2 = (v8)((v8i)g2 & keep); g3 = (v8)((v8i)g3 & keep);                                           \
        }                                                                                                   \
        const v8 i0 = load8(r + (X)), i1 = load8(r + (X) + 1), i2 = load8(r + (X) + 2);                     \
        a00 = madd(fused, g0, i0, a00); a01 = madd(fused, g0, i1, a01); a02 = madd(fused, g0, i2, a02);     \
        a10 = madd(fused, g1, i0, a10); a11 = madd(fused, g1, i1, a11); a12 = madd(fused, g1, i2, a12);     \
        a20 = madd(fused, g2, i0, a20); a21 = madd(fused, g2, i1, a21); a22 = madd(fused, g2, i2, a22);     \
        a30 = madd(fused, g3, i0, a30); a31 = madd(fused, g3, i1, a31); a32 = madd(fused, g3, i2, a32);     \
    } while (0)
                        int x = 0;
                        for (int v = 0; v < vecs; v++, x += 8) STEP(x, 0);
                        if (rem > 0) STEP(wo - 8, 1);
#undef STEP
                    }
                    store8(acc, a00); store8(acc + 8, a01); store8(acc + 16, a02); store8(acc + 24, a10);
                    store8(acc + 32, a11); store8(acc + 40, a12); store8(acc + 48, a20); store8(acc + 56, a21);
                    store8(acc + 64, a22); store8(acc + 72, a30); store8(acc + 80, a31); store8(acc + 88, a32);
                }
    }
    for (int ci = 0; ci < cin; ci++)
        for (int blk = 0; blk < blocks; blk++)
            for (int ky = 0; ky < 3; ky++) {
                const float *acc = partial + (size_t)((ci * blocks + blk) * 3 + ky) * 96;
                for (int c = 0; c < 4; c++)
                    for (int kx = 0; kx < 3; kx++)
                        grad_weight[((size_t)(blk * 4 + c) * cin + ci) * 9 + ky * 3 + kx] += hsum(load8(acc + (c * 3 + kx) * 8));
            }
}

// The 3×3 case of one (output, input) channel pair, with nine vector accumulators in registers.
INLINE void weight_gradient_3x3(int fused, const float *plane, int w, const float *g, int ho, int wo, float *dw) {
    v8 a0 = splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0;
    float t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0, t6 = 0, t7 = 0, t8 = 0;
    for (int y = 0; y < ho; y++) {
        const float *gr = g + (size_t)y * wo;
        const float *r0 = plane + (size_t)y * w, *r1 = r0 + w, *r2 = r1 + w;
        int x = 0;
        for (; x + 8 <= wo; x += 8) {
            const v8 gv = load8(gr + x);
            a0 = madd(fused, gv, load8(r0 + x), a0); a1 = madd(fused, gv, load8(r0 + x + 1), a1);
            a2 = madd(fused, gv, load8(r0 + x + 2), a2); a3 = madd(fused, gv, load8(r1 + x), a3);
            a4 = madd(fused, gv, load8(r1 + x + 1), a4); a5 = madd(fused, gv, load8(r1 + x + 2), a5);
            a6 = madd(fused, gv, load8(r2 + x), a6); a7 = madd(fused, gv, load8(r2 + x + 1), a7);
            a8 = madd(fused, gv, load8(r2 + x + 2), a8);
        }
        for (; x < wo; x++) {
            const float gv = gr[x];
            t0 += gv * r0[x]; t1 += gv * r0[x + 1]; t2 += gv * r0[x + 2];
            t3 += gv * r1[x]; t4 += gv * r1[x + 1]; t5 += gv * r1[x + 2];
            t6 += gv * r2[x]; t7 += gv * r2[x + 1]; t8 += gv * r2[x + 2];
        }
    }
    dw[0] += hsum(a0) + t0; dw[1] += hsum(a1) + t1; dw[2] += hsum(a2) + t2;
    dw[3] += hsum(a3) + t3; dw[4] += hsum(a4) + t4; dw[5] += hsum(a5) + t5;
    dw[6] += hsum(a6) + t6; dw[7] += hsum(a7) + t7; dw[8] += hsum(a8) + t8;
}

// A plane's epilogue in place: 8 outputs at a time, then one by one (the same values either way).
INLINE void epilogue_plane(float *p, long n, int c, const epilogue *e) {
    long i = 0;
    for (; i + 8 <= n; i += 8) store8(p + i, epilogue8(e, load8(p + i), c));
    for (; i < n; i++) p[i] = epilogue1(e, p[i], c);
}

// The two builds of each kernel, and the exported functions that choose between them.

__attribute__((target("avx2,fma"))) static void epilogue_avx2(float *p, long n, int c, const epilogue *e) {
    epilogue_plane(p, n, c, e);
}
static void epilogue_baseline(float *p, long n, int c, const epilogue *e) { epilogue_plane(p, n, c, e); }

void facetwin_conv_epilogue(float *p, long n, int c, int relu, const float *scale, const float *shift) {
    const epilogue e = {relu, scale, shift};
    if (facetwin_cpu_avx2_fma())
        epilogue_avx2(p, n, c, &e);
    else
        epilogue_baseline(p, n, c, &e);
}

__attribute__((target("avx2,fma"))) static void forward_avx2(const float *input, int cin, int h, int w,
                                                             const float *weight, const float *bias, int cout, int k,
                                                             float *output, const epilogue *e) {
    forward(1, input, cin, h, w, weight, bias, cout, k, output, e);
}
static void forward_baseline(const float *input, int cin, int h, int w, const float *weight, const float *bias,
                             int cout, int k, float *output, const epilogue *e) {
    forward(0, input, cin, h, w, weight, bias, cout, k, output, e);
}

void facetwin_conv_forward(const float *input, int cin, int h, int w, const float *weight, const float *bias,
                           int cout, int k, float *output, int relu, const float *scale, const float *shift) {
    const epilogue e = {relu, scale, shift};
    if (facetwin_cpu_avx2_fma())
        forward_avx2(input, cin, h, w, weight, bias, cout, k, output, &e);
    else
        forward_baseline(input, cin, h, w, weight, bias, cout, k, output, &e);
}

__attribute__((target("avx2,fma"))) static void blocks_avx2(const float *input, int cin, int h, int w,
                                                            const float *grad_output, int blocks, float *grad_weight,
                                                            float *partial) {
    weight_gradient_blocks(1, input, cin, h, w, grad_output, blocks, grad_weight, partial);
}
static void blocks_baseline(const float *input, int cin, int h, int w, const float *grad_output, int blocks,
                            float *grad_weight, float *partial) {
    weight_gradient_blocks(0, input, cin, h, w, grad_output, blocks, grad_weight, partial);
}

void facetwin_conv_weight_gradient_3x3_blocks(const float *input, int cin, int h, int w, const float *grad_output,
                                              int blocks, float *grad_weight, float *partial) {
    if (facetwin_cpu_avx2_fma())
        blocks_avx2(input, cin, h, w, grad_output, blocks, grad_weight, partial);
    else
        blocks_baseline(input, cin, h, w, grad_output, blocks, grad_weight, partial);
}

__attribute__((target("avx2,fma"))) static void gradient_3x3_avx2(const float *plane, int w, const float *g, int ho,
                                                                  int wo, float *dw) {
    weight_gradient_3x3(1, plane, w, g, ho, wo, dw);
}
static void gradient_3x3_baseline(const float *plane, int w, const float *g, int ho, int wo, float *dw) {
    weight_gradient_3x3(0, plane, w, g, ho, wo, dw);
}

void facetwin_conv_weight_gradient_3x3(const float *plane, int w, const float *g, int ho, int wo, float *dw) {
    if (facetwin_cpu_avx2_fma())
        gradient_3x3_avx2(plane, w, g, ho, wo, dw);
    else
        gradient_3x3_baseline(plane, w, g, ho, wo, dw);
}
