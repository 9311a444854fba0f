// The big linear layer's inference product over the nonzeros of its input (facetwin_sparse_*,
// declared in facetwin_kernels.h): y = W·u + W·(x − u) for a fixed "background" u, skipping every
// feature where x equals u.
//
// Why: in the reference network the layer's input is BatchNorm(ReLU(conv)), and where the ReLU gave
// 0, BatchNorm gives exactly its per-channel shift b_c. With u = those shifts, x − u is zero
// wherever the ReLU was, 56–58 % of the features for trained models on faces. W·u is a constant
// of the model (formed once, in double), so the layer's 5.1 GFLOP per batch of 64 shrink to the
// nonzeros' share. A dense kernel cannot skip them: a feature is zero for all 16 images of one
// of its register tiles only 6 % of the time.
//
// How: Wᵀ is packed once into tiles of 64 features × 64 outputs (16 KB, [kblock][nblock][64][64]).
// For each block of 64 features, each thread first writes every image's x − u in that block to
// its own scratch, with a 64-bit mask of the nonzeros (the layer takes 0.92x the time of a
// compression into values and 16-bit row offsets, for the same sums to the bit). It then
// takes, for each of its tiles (the successor prefetched while it works), each image's nonzeros
// in the order of its mask: a broadcast of the value times eight vectors of the tile's row, into
// eight accumulators of 8 outputs. That kernel is bound by loads (one vector of W per
// multiply-add), not by the FMA units: a step takes about 5.5 cycles where eight FMAs alone take
// 4. So a block whose share of nonzeros is high (85 % and up: in the bench's network three of
// the eight channels are 76–94 % nonzero) goes through a dense 6 × 16 register tile instead, two
// vectors of W per twelve multiply-adds; its zeros add exactly nothing, so the sums are the same
// to the bit either way. Sums are formed per image in a partial buffer over 16 blocks (1 024
// features) and then added into C, so no running sum collects more than 16 blocks' rounding (one
// long running sum over the 80 000 features would be 15× less accurate than the dense kernel;
// this way it is as accurate or better).

#include "facetwin_kernels.h"
#include "transpose8.h"
#include <stdint.h>
#include <string.h>
#include <immintrin.h>

enum { SK = 64, SB = 64, SUPER = 1024 / SK };
_Static_assert(SK == 64, "a block's nonzeros are one 64-bit mask");

int facetwin_sparse_kblocks(int k) { return (k + SK - 1) / SK; }
int facetwin_sparse_nblocks(int n) { return (n + SB - 1) / SB; }
size_t facetwin_sparse_packed_count(int n, int k) { return (size_t)facetwin_sparse_kblocks(k) * facetwin_sparse_nblocks(n) * SK * SB; }

// packed[kb][nb][p][j] = w[nb·64 + j][kb·64 + p], zero outside W.
__attribute__((target("avx2,fma")))
void facetwin_sparse_pack(int n, int k, const float *w, size_t ldw, float *packed, int kb0, int kb1) {
    const int nblocks = facetwin_sparse_nblocks(n);
    for (int kb = kb0; kb < kb1; kb++) {
        const int p0 = kb * SK, pc = k - p0 < SK ? k - p0 : SK;
        for (int nb = 0; nb < nblocks; nb++) {
            float *tile = packed + ((size_t)kb * nblocks + nb) * SK * SB;
            const int j0 = nb * SB, jc = n - j0 < SB ? n - j0 : SB;
            if (pc < SK || jc < SB) memset(tile, 0, sizeof(float) * SK * SB);
            // Eight rows of W at a time, transposed in 8 × 8 blocks.
            int j = 0;
            for (; j + 8 <= jc; j += 8) {
                const float *r = w + (size_t)(j0 + j) * ldw + p0;
                const float *const rows[8] = {r, r + ldw, r + 2 * ldw, r + 3 * ldw, r + 4 * ldw, r + 5 * ldw, r + 6 * ldw, r + 7 * ldw};
                int p = 0;
                for (; p + 8 <= pc; p += 8) facetwin_transpose8(rows, (size_t)p, tile + (size_t)p * SB + j, SB);
                for (; p < pc; p++)
                    for (int q = 0; q < 8; q++) tile[(size_t)p * SB + j + q] = r[(size_t)q * ldw + p];
            }
            for (; j < jc; j++) {
                const float *r = w + (size_t)(j0 + j) * ldw + p0;
                for (int p = 0; p < pc; p++) tile[(size_t)p * SB + j] = r[p];
            }
        }
    }
}

// out[j] = bias[j] + Σ_p w[j][p]·u[p] in double: four accumulators of four lanes per row, each
// float pair widened before its multiply-add (exact products), one rounding at the end.
__attribute__((target("avx2,fma")))
void facetwin_sparse_constant(int k, const float *w, size_t ldw, const float *u, const float *bias, float *out, int j0, int j1) {
    for (int j = j0; j < j1; j++) {
        const float *r = w + (size_t)j * ldw;
        __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
        int p = 0;
        for (; p + 16 <= k; p += 16) {
            s0 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(r + p)), _mm256_cvtps_pd(_mm_loadu_ps(u + p)), s0);
            s1 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(r + p + 4)), _mm256_cvtps_pd(_mm_loadu_ps(u + p + 4)), s1);
            s2 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(r + p + 8)), _mm256_cvtps_pd(_mm_loadu_ps(u + p + 8)), s2);
            s3 = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm_loadu_ps(r + p + 12)), _mm256_cvtps_pd(_mm_loadu_ps(u + p + 12)), s3);
        }
        double lanes[4];
        _mm256_storeu_pd(lanes, _mm256_add_pd(_mm256_add_pd(s0, s1), _mm256_add_pd(s2, s3)));
        double t = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]) + (bias ? (double)bias[j] : 0.0);
        for (; p < k; p++) t += (double)r[p] * (double)u[p];
        out[j] = (float)t;
    }
}

// Image rows per register tile of the dense path.
enum { DR = 6 };
static int rounded_rows(int m) { return (m + DR - 1) / DR * DR; }
size_t facetwin_sparse_partial_count(int m, int n) { return (size_t)rounded_rows(m) * facetwin_sparse_nblocks(n) * SB; }
size_t facetwin_sparse_scratch_bytes(int m) { return (size_t)rounded_rows(m) * SK * sizeof(float) + (size_t)m * sizeof(uint64_t); }

#define DENSE_FMA(r)                                                   \
    {                                                                  \
        const __m256 a = _mm256_broadcast_ss(ap + (r) * SK);           \
        c##r##0 = _mm256_fmadd_ps(a, b0, c##r##0);                     \
        c##r##1 = _mm256_fmadd_ps(a, b1, c##r##1);                     \
    }
#define LOAD_ROW(r) __m256 c##r##0 = _mm256_loadu_ps(cp + (r) * ldp), c##r##1 = _mm256_loadu_ps(cp + (r) * ldp + 8);
#define STORE_ROW(r) _mm256_storeu_ps(cp + (r) * ldp, c##r##0); _mm256_storeu_ps(cp + (r) * ldp + 8, c##r##1);

// One tile for every row, densely: partial[i][j] += Σ_p d[i][p]·tile[p][j] over the 64 features
// in order, 6 rows × 16 outputs per register tile (two vectors of W serve twelve multiply-adds).
// The zeros add exactly nothing, so the sums are the sparse visits' to the bit. `d` is the
// block's x − u, [rounded_rows(m)][64], zero past m; `next` (the tile after, or NULL) is
// prefetched a few lines per register tile.
__attribute__((target("avx2,fma")))
static void dense_tile(const float *tile, const float *next, const float *d, int groups, float *partial, int ldp) {
    const int lines = SK * SB / 16, per = (lines + 4 * groups - 1) / (4 * groups);
    int line = 0;
    for (int j = 0; j < SB; j += 16) {
        for (int g = 0; g < groups; g++) {
            if (next)
                for (int q = 0; q < per && line < lines; q++, line++) _mm_prefetch((const char *)(next + line * 16), _MM_HINT_T0);
            const float *a = d + (size_t)g * DR * SK;
            float *cp = partial + (size_t)g * DR * ldp + j;
            LOAD_ROW(0) LOAD_ROW(1) LOAD_ROW(2) LOAD_ROW(3) LOAD_ROW(4) LOAD_ROW(5)
            for (int p = 0; p < SK; p++) {
                const float *bp = tile + (size_t)p * SB + j, *ap = a + p;
                const __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
                DENSE_FMA(0) DENSE_FMA(1) DENSE_FMA(2) DENSE_FMA(3) DENSE_FMA(4) DENSE_FMA(5)
            }
            STORE_ROW(0) STORE_ROW(1) STORE_ROW(2) STORE_ROW(3) STORE_ROW(4) STORE_ROW(5)
        }
    }
}

// The tile this thread takes after tile (kb, nb), to prefetch: the next of its output blocks,
// else its first one in the next block of features; NULL after the last.
static inline const float *tile_after(const float *packed, int kb, int nb, int kblocks, int nblocks, int nb0, int nb1) {
    if (nb + 1 < nb1) return packed + ((size_t)kb * nblocks + nb + 1) * SK * SB;
    return kb + 1 < kblocks ? packed + ((size_t)(kb + 1) * nblocks + nb0) * SK * SB : NULL;
}

#define FMA_ROW(j) c##j = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 8 * j), c##j);

// C[i][j] += Σ_p W[j][p]·(x − u)[i][p] for the outputs in blocks [nb0, nb1) (this thread's).
// For each block of features, every row's x − u is first written to `scratch`
// (facetwin_sparse_scratch_bytes(m), the thread's own) with a 64-bit mask of its nonzeros, while
// the next block's lines are prefetched; each thread does this for all rows, which costs less
// than writing a compressed batch out and reading it back (0.95x the layer's time).
// A block whose share of nonzeros reaches dense_percent goes through dense_tile; the others
// visit each row's nonzeros in the order of its mask. `partial` [rounded_rows(m)][nblocks·64]
// (the thread's columns of it) is scratch too. Returns how many entries of x differed from u.
__attribute__((target("avx2,fma,bmi,popcnt")))
long facetwin_sparse_compute(int m, int n, int k, const float *packed, const float *x, size_t ldx, const float *u,
                             float *partial, float *c, size_t ldc, int nb0, int nb1, void *scratch, int dense_percent) {
    if (nb0 >= nb1 || m <= 0) return 0;
    const int kblocks = facetwin_sparse_kblocks(k), nblocks = facetwin_sparse_nblocks(n), ldp = nblocks * SB;
    const int j0 = nb0 * SB, j1 = nb1 * SB < n ? nb1 * SB : n, rows = rounded_rows(m), groups = rows / DR;
    float *d = scratch;
    uint64_t *masks = (uint64_t *)(d + (size_t)rows * SK);
    long nonzeros = 0;
    for (int i = 0; i < rows; i++) memset(partial + (size_t)i * ldp + j0, 0, sizeof(float) * (size_t)(nb1 - nb0) * SB);
    // The dense tiles read the padding rows: zero, and they only ever add to partial rows past m.
    memset(d + (size_t)m * SK, 0, sizeof(float) * (size_t)(rows - m) * SK);
    // Lines of the next tile to prefetch per image: a tile is 256 cache lines.
    const int lines = (SK * SB / 16 + m - 1) / m;
    for (int kb = 0; kb < kblocks; kb++) {
        const int p0 = kb * SK, pc = k - p0 < SK ? k - p0 : SK;
        long here = 0;
        for (int i = 0; i < m; i++) {
            const float *xi = x + (size_t)i * ldx + p0;
            float *di = d + (size_t)i * SK;
            uint64_t mask = 0;
            int p = 0;
            for (; p + 8 <= pc; p += 8) {
                const __m256 v = _mm256_sub_ps(_mm256_loadu_ps(xi + p), _mm256_loadu_ps(u + p0 + p));
                _mm256_storeu_ps(di + p, v);
                mask |= (uint64_t)(unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NEQ_UQ)) << p;
            }
            for (; p < pc; p++) {
                di[p] = xi[p] - u[p0 + p];
                if (di[p] != 0) mask |= 1ull << p;
            }
            for (; p < SK; p++) di[p] = 0;
            masks[i] = mask;
            here += __builtin_popcountll(mask);
            if (kb + 1 < kblocks)
                for (int q = 0; q < SK * 4; q += 64) _mm_prefetch((const char *)(xi + SK) + q, _MM_HINT_T0);
        }
        nonzeros += here;
        // The loop over this thread's tiles is written out for each path on purpose: one loop with
        // the choice inside it ran at 0.959x the embeddings rate end to end (scripts/bench-ab.py,
        // 30 pairs, quartiles 0.951-0.967x).
        if (here * 100 >= (long)dense_percent * m * pc) {
            for (int nb = nb0; nb < nb1; nb++) {
                const float *tile = packed + ((size_t)kb * nblocks + nb) * SK * SB;
                const float *next = tile_after(packed, kb, nb, kblocks, nblocks, nb0, nb1);
                dense_tile(tile, next, d, groups, partial + (size_t)nb * SB, ldp);
            }
        } else {
            for (int nb = nb0; nb < nb1; nb++) {
                const float *tile = packed + ((size_t)kb * nblocks + nb) * SK * SB;
                const float *next = tile_after(packed, kb, nb, kblocks, nblocks, nb0, nb1);
                for (int i = 0; i < m; i++) {
                    if (next) {
                        for (int q = 0; q < lines; q++) {
                            const int line = i * lines + q;
                            if (line < SK * SB / 16) _mm_prefetch((const char *)(next + line * 16), _MM_HINT_T0);
                        }
                    }
                    uint64_t mask = masks[i];
                    if (mask == 0) continue;
                    const float *di = d + (size_t)i * SK;
                    float *acc = partial + (size_t)i * ldp + nb * SB;
                    __m256 c0 = _mm256_loadu_ps(acc), c1 = _mm256_loadu_ps(acc + 8), c2 = _mm256_loadu_ps(acc + 16), c3 = _mm256_loadu_ps(acc + 24),
                           c4 = _mm256_loadu_ps(acc + 32), c5 = _mm256_loadu_ps(acc + 40), c6 = _mm256_loadu_ps(acc + 48), c7 = _mm256_loadu_ps(acc + 56);
                    while (mask) {
                        const int p = __builtin_ctzll(mask);
                        mask &= mask - 1;
                        const __m256 x = _mm256_broadcast_ss(di + p);
                        const float *w = tile + (size_t)p * SB;
                        FMA_ROW(0) FMA_ROW(1) FMA_ROW(2) FMA_ROW(3) FMA_ROW(4) FMA_ROW(5) FMA_ROW(6) FMA_ROW(7)
                    }
                    _mm256_storeu_ps(acc, c0); _mm256_storeu_ps(acc + 8, c1); _mm256_storeu_ps(acc + 16, c2); _mm256_storeu_ps(acc + 24, c3);
                    _mm256_storeu_ps(acc + 32, c4); _mm256_storeu_ps(acc + 40, c5); _mm256_storeu_ps(acc + 48, c6); _mm256_storeu_ps(acc + 56, c7);
                }
            }
        }
        if ((kb + 1) % SUPER == 0 || kb == kblocks - 1) {
            for (int i = 0; i < m; i++) {
                float *p = partial + (size_t)i * ldp, *ci = c + (size_t)i * ldc;
                for (int j = j0; j < j1; j++) { ci[j] += p[j]; p[j] = 0; }
            }
        }
    }
    return nonzeros;
}
