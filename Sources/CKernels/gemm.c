// FaceTwin's kernels for the big linear layer (Sources/CKernels/include): the forward GEMM
// C += X · Wᵀ here, the weight gradient folded into Adam further down.
//
// Why not OpenBLAS: for the reference network's 80 000 → 500 layer at a batch of 64, OpenBLAS first
// copies (packs) all 160 MB of W, then multiplies; the copy is a pass over memory the arithmetic
// waits for. Here the 6 × 16 register kernel broadcasts W straight from six of its rows (six
// sequential streams the prefetcher follows, helped by software prefetch two tiles ahead), and
// only X, 64 rows, is packed: into blocks of KC columns laid out [block][16-row group][k][16]
// so the kernel reads 16 consecutive floats (one cache line) per k.
//
// Order of the loops in phase 2, per thread: for each block of k (its packed X, 64 KB at a
// batch of 64, stays in L2), for each of the thread's tiles of 6 output features, for each group
// of 16 rows of X: the kernel forms 6 × 16 dot products over the block from zero and adds them
// to `scratch` ([tile row][m rounded up to 16]), which starts as C's values; after the last
// block the thread copies its scratch back into C. So each output is C + block 1 + block 2 + …,
// the order in which OpenBLAS adds its blocks into C.

#include "facetwin_kernels.h"
#include "transpose8.h"
#include <stdint.h>
#include <string.h>
#include <immintrin.h>
#include <math.h>

// Adam below must round exactly as Adam.swift does: no multiply-add contraction.
#pragma STDC FP_CONTRACT OFF

enum { KC = 256, MR = 6, NR = 16, PREFETCH_TILES = 2 };

int facetwin_gemm_available(void) { return facetwin_cpu_avx2_fma(); }

static int rounded_m(int m) { return (m + NR - 1) / NR * NR; }
int facetwin_gemm_nt_blocks(int k) { return (k + KC - 1) / KC; }
int facetwin_gemm_nt_tiles(int n) { return (n + MR - 1) / MR; }
size_t facetwin_gemm_nt_packed_count(int m, int k) { return (size_t)facetwin_gemm_nt_blocks(k) * KC * rounded_m(m); }
size_t facetwin_gemm_nt_scratch_count(int m, int n) { return (size_t)facetwin_gemm_nt_tiles(n) * MR * rounded_m(m); }

static const float zero_row[KC];

__attribute__((target("avx2,fma")))
void facetwin_gemm_nt_pack(int m, int k, const float *x, size_t ldx, float *packed, int b0, int b1) {
    const int mp = rounded_m(m);
    for (int b = b0; b < b1; b++) {
        const int k0 = b * KC, kc = k - k0 < KC ? k - k0 : KC;
        for (int g = 0; g < mp / NR; g++) {
            float *dst = packed + (size_t)b * KC * mp + (size_t)g * KC * NR;
            const float *r[NR];
            for (int i = 0; i < NR; i++) {
                const int row = g * NR + i;
                r[i] = row < m ? x + (size_t)row * ldx + k0 : zero_row;
            }
            int p = 0;
            for (; p + 8 <= kc; p += 8) {
                facetwin_transpose8(r, p, dst + p * NR, NR);
                facetwin_transpose8(r + 8, p, dst + p * NR + 8, NR);
            }
            for (; p < kc; p++)
                for (int i = 0; i < NR; i++) dst[p * NR + i] = r[i][p];
        }
    }
}

// acc[6][16] += Σ_p w_r[p] · bp[p][0..15] for p < kc, rows w_r = w + r·ldw: the block's sums are
// formed from zero in registers, then added to acc. If `ahead` is set, touches the same kc columns of the six rows at
// ahead + r·ldw, one cache line per row every 16 steps, so they are in cache when their turn comes.
__attribute__((target("avx2,fma")))
static void kernel6x16(int kc, const float *w, size_t ldw, const float *bp, float *acc, int ldacc,
                       const float *ahead) {
    const float *w0 = w, *w1 = w + ldw, *w2 = w + 2 * ldw, *w3 = w + 3 * ldw, *w4 = w + 4 * ldw, *w5 = w + 5 * ldw;
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    for (int p = 0; p < kc; p++) {
        if (ahead && (p & 15) == 0) {
            const char *q = (const char *)(ahead + p);
            const size_t row = ldw * sizeof(float);
            _mm_prefetch(q, _MM_HINT_T0); _mm_prefetch(q + row, _MM_HINT_T0);
            _mm_prefetch(q + 2 * row, _MM_HINT_T0); _mm_prefetch(q + 3 * row, _MM_HINT_T0);
            _mm_prefetch(q + 4 * row, _MM_HINT_T0); _mm_prefetch(q + 5 * row, _MM_HINT_T0);
        }
        const __m256 b0 = _mm256_loadu_ps(bp + NR * p), b1 = _mm256_loadu_ps(bp + NR * p + 8);
        __m256 a;
        a = _mm256_broadcast_ss(w0 + p); c00 = _mm256_fmadd_ps(a, b0, c00); c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(w1 + p); c10 = _mm256_fmadd_ps(a, b0, c10); c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(w2 + p); c20 = _mm256_fmadd_ps(a, b0, c20); c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(w3 + p); c30 = _mm256_fmadd_ps(a, b0, c30); c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(w4 + p); c40 = _mm256_fmadd_ps(a, b0, c40); c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(w5 + p); c50 = _mm256_fmadd_ps(a, b0, c50); c51 = _mm256_fmadd_ps(a, b1, c51);
    }
#define ADD_ROW(r, lo, hi) \
    _mm256_storeu_ps(acc + r * ldacc, _mm256_add_ps(_mm256_loadu_ps(acc + r * ldacc), lo)); \
    _mm256_storeu_ps(acc + r * ldacc + 8, _mm256_add_ps(_mm256_loadu_ps(acc + r * ldacc + 8), hi));
    ADD_ROW(0, c00, c01) ADD_ROW(1, c10, c11) ADD_ROW(2, c20, c21)
    ADD_ROW(3, c30, c31) ADD_ROW(4, c40, c41) ADD_ROW(5, c50, c51)
#undef ADD_ROW
}

__attribute__((target("avx2,fma")))
void facetwin_gemm_nt_compute(int m, int n, int k, const float *packed, const float *w, size_t ldw,
                              float *scratch, float *c, size_t ldc, int t0, int t1) {
    if (t0 >= t1 || m <= 0) return;
    const int mp = rounded_m(m), blocks = facetwin_gemm_nt_blocks(k), tiles = t1 - t0;
    // The last tile may have fewer than 6 rows of W: its missing rows repeat the last real row
    // (read, multiplied, never written to C), so the kernel never reads outside W.
    const int last_rows = n - (t1 - 1) * MR < MR ? n - (t1 - 1) * MR : MR;
    // scratch[j][i] starts as C[i][j]; each block's sums are added to it (the order OpenBLAS's
    // GEMM adds its blocks into C in, which the PyTorch golden tests are checked against).
    const int j_end = t1 * MR < n ? t1 * MR : n;
    for (int j = t0 * MR; j < j_end; j++)
        for (int i = 0; i < m; i++) scratch[(size_t)j * mp + i] = c[(size_t)i * ldc + j];
    for (int b = 0; b < blocks; b++) {
        const int k0 = b * KC, kc = k - k0 < KC ? k - k0 : KC;
        const float *xb = packed + (size_t)b * KC * mp;
        for (int t = t0; t < t1; t++) {
            const int j0 = t * MR;
            // Six rows of W for this tile (clamped in the last one), and the tile to prefetch.
            const float *rows = w + (size_t)j0 * ldw + k0;
            int ahead_tile = t + PREFETCH_TILES, ahead_block = b;
            if (ahead_tile >= t1) { ahead_tile -= tiles; ahead_block += 1; }
            const float *ahead = NULL;
            if (ahead_block < blocks && ahead_tile >= t0 && ahead_tile < t1 - 1)
                ahead = w + (size_t)ahead_tile * MR * ldw + (size_t)ahead_block * KC;
            float *acc = scratch + (size_t)j0 * mp;
            if (t == t1 - 1 && last_rows < MR) {
                // Copy the rows this tile has into a buffer of six, repeating the last one.
                const float *r[MR];
                for (int i = 0; i < MR; i++) r[i] = w + (size_t)(j0 + (i < last_rows ? i : last_rows - 1)) * ldw + k0;
                float buf[MR * KC];
                for (int i = 0; i < MR; i++) memcpy(buf + i * KC, r[i], sizeof(float) * kc);
                for (int g = 0; g < mp / NR; g++)
                    kernel6x16(kc, buf, KC, xb + (size_t)g * KC * NR, acc + g * NR, mp, NULL);
                continue;
            }
            for (int g = 0; g < mp / NR; g++)
                kernel6x16(kc, rows, ldw, xb + (size_t)g * KC * NR, acc + g * NR, mp, g == 0 ? ahead : NULL);
        }
    }
    // C[i][j] = scratch[j][i] for this thread's columns.
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        for (int j = t0 * MR; j < j_end; j++) ci[j] = scratch[(size_t)j * mp + i];
    }
}

// ---------------------------------------------------------------------------------------------
// Weight gradient folded into Adam (facetwin_adam_tn). Per thread, for each strip of 256 columns
// (its 64 rows of X stay in L2, one 16-column panel of them in L1), for each tile of 6 rows of W:
// the kernel sums G[6][16] = Σ_i dY[i][j] · X[i][p] over the batch in registers, then updates
// those 96 weights and their moments in place. The next tile's rows of W and both moments are
// prefetched a panel at a time. Compared with OpenBLAS writing G (160 MB) and Adam reading it
// back, this removes both passes over G.

enum { STRIP = 256 };

int facetwin_adam_tn_strips(int k) { return (k + STRIP - 1) / STRIP; }
size_t facetwin_adam_tn_packed_count(int m, int n) { return (size_t)facetwin_gemm_nt_tiles(n) * MR * m; }

void facetwin_adam_tn_pack(int m, int n, const float *dy, float *packed_dy) {
    const int tiles = facetwin_gemm_nt_tiles(n);
    for (int t = 0; t < tiles; t++)
        for (int i = 0; i < m; i++)
            for (int r = 0; r < MR; r++) {
                const int j = t * MR + r;
                packed_dy[((size_t)t * m + i) * MR + r] = j < n ? dy[(size_t)i * n + j] : 0;
            }
}

// Adam on eight weights: the operations and their order are Adam.swift's, one rounding each
// (no fused multiply-add; this file is compiled with contraction off).
__attribute__((target("avx2,fma")))
static inline void adam8(float *w, float *m1, float *m2, __m256 g, const facetwin_adam_step *s) {
    const __m256 a1 = _mm256_set1_ps(1 - s->beta1), b2 = _mm256_set1_ps(s->beta2), a2 = _mm256_set1_ps(1 - s->beta2);
    const __m256 step = _mm256_set1_ps(s->step_size), c2 = _mm256_set1_ps(s->inverse_correction2), e = _mm256_set1_ps(s->eps);
    __m256 mi = _mm256_loadu_ps(m1), vi = _mm256_loadu_ps(m2), wi = _mm256_loadu_ps(w);
    mi = _mm256_add_ps(mi, _mm256_mul_ps(a1, _mm256_sub_ps(g, mi)));
    vi = _mm256_add_ps(_mm256_mul_ps(b2, vi), _mm256_mul_ps(a2, _mm256_mul_ps(g, g)));
    wi = _mm256_sub_ps(wi, _mm256_div_ps(_mm256_mul_ps(step, mi), _mm256_add_ps(_mm256_mul_ps(_mm256_sqrt_ps(vi), c2), e)));
    _mm256_storeu_ps(m1, mi);
    _mm256_storeu_ps(m2, vi);
    _mm256_storeu_ps(w, wi);
}

static inline void adam1(float *w, float *m1, float *m2, float g, const facetwin_adam_step *s) {
    float mi = *m1 + (1 - s->beta1) * (g - *m1);
    float vi = s->beta2 * *m2 + (1 - s->beta2) * (g * g);
    *m1 = mi;
    *m2 = vi;
    *w -= s->step_size * mi / (sqrtf(vi) * s->inverse_correction2 + s->eps);
}

// One tile × 16 columns: G[r][c] = Σ_i a[i][r] · x[i][c], then Adam on rows r < rows.
__attribute__((target("avx2,fma")))
static void adam_tile6x16(int m, const float *a, const float *x, size_t ldx, int rows, float *w, float *m1, float *m2,
                          size_t ld, const facetwin_adam_step *s, const float *next_w, const float *next_m1,
                          const float *next_m2) {
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    for (int i = 0; i < m; i++) {
        const float *xi = x + (size_t)i * ldx, *ai = a + (size_t)i * MR;
        const __m256 x0 = _mm256_loadu_ps(xi), x1 = _mm256_loadu_ps(xi + 8);
        __m256 b;
        b = _mm256_broadcast_ss(ai + 0); c00 = _mm256_fmadd_ps(b, x0, c00); c01 = _mm256_fmadd_ps(b, x1, c01);
        b = _mm256_broadcast_ss(ai + 1); c10 = _mm256_fmadd_ps(b, x0, c10); c11 = _mm256_fmadd_ps(b, x1, c11);
        b = _mm256_broadcast_ss(ai + 2); c20 = _mm256_fmadd_ps(b, x0, c20); c21 = _mm256_fmadd_ps(b, x1, c21);
        b = _mm256_broadcast_ss(ai + 3); c30 = _mm256_fmadd_ps(b, x0, c30); c31 = _mm256_fmadd_ps(b, x1, c31);
        b = _mm256_broadcast_ss(ai + 4); c40 = _mm256_fmadd_ps(b, x0, c40); c41 = _mm256_fmadd_ps(b, x1, c41);
        b = _mm256_broadcast_ss(ai + 5); c50 = _mm256_fmadd_ps(b, x0, c50); c51 = _mm256_fmadd_ps(b, x1, c51);
    }
    if (next_w) {
        for (int r = 0; r < MR; r++) {
            _mm_prefetch((const char *)(next_w + r * ld), _MM_HINT_T0);
            _mm_prefetch((const char *)(next_m1 + r * ld), _MM_HINT_T0);
            _mm_prefetch((const char *)(next_m2 + r * ld), _MM_HINT_T0);
        }
    }
    const __m256 g[2 * MR] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51};
    for (int r = 0; r < rows; r++) {
        const size_t o = (size_t)r * ld;
        adam8(w + o, m1 + o, m2 + o, g[2 * r], s);
        adam8(w + o + 8, m1 + o + 8, m2 + o + 8, g[2 * r + 1], s);
    }
}

__attribute__((target("avx2,fma")))
void facetwin_adam_tn(int m, int n, int k, const float *packed_dy, const float *x, float *w, float *m1, float *m2,
                      const facetwin_adam_step *step, int s0, int s1) {
    const int tiles = facetwin_gemm_nt_tiles(n);
    for (int s = s0; s < s1; s++) {
        const int p0 = s * STRIP, p1 = p0 + STRIP < k ? p0 + STRIP : k;
        const int full_end = p0 + (p1 - p0) / NR * NR;
        for (int t = 0; t < tiles; t++) {
            const int j0 = t * MR, rows = n - j0 < MR ? n - j0 : MR;
            const float *a = packed_dy + (size_t)t * m * MR;
            const size_t row = (size_t)j0 * k, next = row + (size_t)MR * k;
            const int has_next = t + 1 < tiles;
            for (int p = p0; p < full_end; p += NR)
                adam_tile6x16(m, a, x + p, k, rows, w + row + p, m1 + row + p, m2 + row + p, k, step,
                              has_next ? w + next + p : NULL, has_next ? m1 + next + p : NULL,
                              has_next ? m2 + next + p : NULL);
            // The last columns of k (fewer than 16), one at a time.
            for (int p = full_end; p < p1; p++)
                for (int r = 0; r < rows; r++) {
                    float g = 0;
                    for (int i = 0; i < m; i++) g = fmaf(a[(size_t)i * MR + r], x[(size_t)i * k + p], g);
                    const size_t o = row + (size_t)r * k + p;
                    adam1(w + o, m1 + o, m2 + o, g, step);
                }
        }
    }
}
