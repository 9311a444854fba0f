// An 8 × 8 transpose shared by the kernels' packing routines (gemm.c, sparse.c).
#ifndef FACETWIN_TRANSPOSE8_H
#define FACETWIN_TRANSPOSE8_H
#include <stddef.h>
#include <immintrin.h>

// dst[j·ldd + i] = r[i][at + j] for i, j < 8: column j of the 8 × 8 block whose row i is r[i] + at.
__attribute__((target("avx2,fma")))
static inline void facetwin_transpose8(const float *const *r, size_t at, float *dst, size_t ldd) {
    __m256 a0 = _mm256_loadu_ps(r[0] + at), a1 = _mm256_loadu_ps(r[1] + at), a2 = _mm256_loadu_ps(r[2] + at),
           a3 = _mm256_loadu_ps(r[3] + at), a4 = _mm256_loadu_ps(r[4] + at), a5 = _mm256_loadu_ps(r[5] + at),
           a6 = _mm256_loadu_ps(r[6] + at), a7 = _mm256_loadu_ps(r[7] + at);
    __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1), t2 = _mm256_unpacklo_ps(a2, a3),
           t3 = _mm256_unpackhi_ps(a2, a3), t4 = _mm256_unpacklo_ps(a4, a5), t5 = _mm256_unpackhi_ps(a4, a5),
           t6 = _mm256_unpacklo_ps(a6, a7), t7 = _mm256_unpackhi_ps(a6, a7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
           u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
           u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
           u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(dst + 0 * ldd, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(dst + 1 * ldd, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(u3, u7, 0x31));
}
#endif
