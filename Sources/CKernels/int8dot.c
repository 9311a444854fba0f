// The coarse pass of identification (Sources/FaceTwinGallery/TemplateIndex.swift): the dot
// products of one int8 probe with n int8 template rows, exact in int32. With AVX2 (checked at
// run time by facetwin_gemm_available) 32 values at a time: vpmaddubsw on |row| and the probe's
// values carrying the row's signs (pairs of products stay within int16: 2 · 127 · 127 < 32767),
// then vpmaddwd to int32; four rows at once share the horizontal sums.
#include "facetwin_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__((target("avx2")))
static inline __m256i row_products(const int8_t *row, const int8_t *probe, int d) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    for (int c = 0; c < d; c += 32) {
        __m256i r = _mm256_loadu_si256((const __m256i *)(row + c));
        __m256i p = _mm256_loadu_si256((const __m256i *)(probe + c));
        __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(r), _mm256_sign_epi8(p, r));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, ones));
    }
    return acc;
}

__attribute__((target("avx2")))
static void int8_dots_avx2(const int8_t *rows, size_t n, int d, const int8_t *probe, int32_t *out) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256i a = row_products(rows + (i + 0) * (size_t)d, probe, d);
        __m256i b = row_products(rows + (i + 1) * (size_t)d, probe, d);
        __m256i c = row_products(rows + (i + 2) * (size_t)d, probe, d);
        __m256i e = row_products(rows + (i + 3) * (size_t)d, probe, d);
        // Horizontal sums of four vectors: [a b c e] as four int32.
        __m256i ab = _mm256_hadd_epi32(a, b), ce = _mm256_hadd_epi32(c, e);
        __m256i abce = _mm256_hadd_epi32(ab, ce);
        __m128i sum = _mm_add_epi32(_mm256_castsi256_si128(abce), _mm256_extracti128_si256(abce, 1));
        _mm_storeu_si128((__m128i *)(out + i), sum);
    }
    for (; i < n; i++) {
        __m256i a = row_products(rows + i * (size_t)d, probe, d);
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
        s = _mm_hadd_epi32(s, s);
        s = _mm_hadd_epi32(s, s);
        out[i] = _mm_cvtsi128_si32(s);
    }
}
#endif

void facetwin_int8_dots_portable(const int8_t *rows, size_t n, int d, const int8_t *probe, int32_t *out) {
    for (size_t i = 0; i < n; i++) {
        const int8_t *row = rows + i * (size_t)d;
        int32_t s = 0;
        for (int c = 0; c < d; c++) s += (int32_t)row[c] * (int32_t)probe[c];
        out[i] = s;
    }
}

void facetwin_int8_dots(const int8_t *rows, size_t n, int d, const int8_t *probe, int32_t *out) {
#if defined(__x86_64__) || defined(__i386__)
    static int available = -1;
    if (available < 0) available = facetwin_gemm_available();
    if (available && d % 32 == 0) {
        int8_dots_avx2(rows, n, d, probe, out);
        return;
    }
#endif
    facetwin_int8_dots_portable(rows, n, d, probe, out);
}
