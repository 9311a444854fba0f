// The big linear layer's inference product over the nonzeros of its input (facetwin_sparse_*,
// declared in facetwin_gemm.h): y = W·u + W·(x − u) for a fixed "background" u, skipping every
// feature where x equals u.
//
// Why: in the seed network the layer's input is BatchNorm(ReLU(conv)), and where the ReLU gave
// 0, BatchNorm gives exactly its per-channel shift b_c. With u = those shifts, x − u is zero
// wherever the ReLU was, 56–58 % of the features for trained models on faces. W·u is a constant
// of the model (formed once, in double), so the layer's 5.1 GFLOP per batch of 64 shrink to the
// nonzeros' share. A dense kernel cannot skip them: a feature is zero for all 16 images of one
// of its register tiles only 6 % of the time.
//
// How: Wᵀ is packed once into tiles of 64 features × 64 outputs (16 KB, [kblock][nblock][64][64]).
// For each block of 64 features, each thread first compresses every image's x − u in that block
// into its nonzero values and their row offsets in the tile (16-bit: L1 holds a tile, its
// successor, the accumulators and every image's compressed block, and 32-bit offsets cost
// 4-10 % in a harness). It then takes, for each of its tiles (the successor prefetched while it
// works), each image's nonzeros: a broadcast of the value times eight vectors of the tile's row,
// into eight accumulators of 8 outputs. The kernel is bound by loads (one vector of W per
// multiply-add), not by the FMA units: a step takes about 5.5 cycles where eight FMAs alone take
// 4. Sums are formed per image in a partial buffer over 16 blocks (1 024 features) and then
// added into C, so no running sum collects more than 16 blocks' rounding (one long running sum
// over the 80 000 features was 15× less accurate than the dense kernel in a harness; this way
// it is as accurate or better).

#include "facetwin_gemm.h"
#include "transpose8.h"
#include <stdint.h>
#include <string.h>
#include <immintrin.h>

#ifndef SPARSE_KB
#define SPARSE_KB 64
#endif
enum { SK = SPARSE_KB, SB = 64, SUPER = 1024 / SPARSE_KB };
_Static_assert((SK - 1) * SB <= 65535, "row offsets are 16-bit");

int facetwin_sparse_kblocks(int k) { return (k + SK - 1) / SK; }
int facetwin_sparse_nblocks(int n) { return (n + SB - 1) / SB; }
size_t facetwin_sparse_packed_count(int n, int k) { return (size_t)facetwin_sparse_kblocks(k) * facetwin_sparse_nblocks(n) * SK * SB; }
size_t facetwin_sparse_partial_count(int m, int n) { return (size_t)m * facetwin_sparse_nblocks(n) * SB; }

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

// For lanes whose bit is set in a mask, their indices, packed to the front.
static int32_t left_pack[256][8];
__attribute__((constructor)) static void build_left_pack(void) {
    for (int mask = 0; mask < 256; mask++) {
        int n = 0;
        for (int l = 0; l < 8; l++) if (mask & (1 << l)) left_pack[mask][n++] = l;
        for (; n < 8; n++) left_pack[mask][n] = 0;
    }
}

// One block of features of one row: the values of x − u that are not zero (pc ≤ 64 of them
// looked at, x and u pointing at the block's first) and their row offsets (p·64) in the
// block's tiles, into v and o (room for 64 each); returns how many.
__attribute__((target("avx2,fma")))
static inline int compress_block(const float *x, const float *u, int pc, float *v, uint16_t *o) {
    const __m256i lane_rows = _mm256_setr_epi32(0, SB, 2 * SB, 3 * SB, 4 * SB, 5 * SB, 6 * SB, 7 * SB);
    int cnt = 0, p = 0;
    for (; p + 8 <= pc; p += 8) {
        const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + p), _mm256_loadu_ps(u + p));
        const int mask = _mm256_movemask_ps(_mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_NEQ_UQ));
        const __m256i perm = _mm256_loadu_si256((const __m256i *)left_pack[mask]);
        // Stores all eight lanes; only the first popcount are kept (the buffer has room: 64 per block).
        _mm256_storeu_ps(v + cnt, _mm256_permutevar8x32_ps(d, perm));
        const __m256i rows = _mm256_add_epi32(lane_rows, _mm256_set1_epi32(p * SB));
        const __m256i kept = _mm256_permutevar8x32_epi32(rows, perm);
        // To 16 bits: packus narrows within each 128-bit half, the permute joins the halves.
        _mm_storeu_si128((__m128i *)(o + cnt),
                         _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packus_epi32(kept, kept), 0x08)));
        cnt += __builtin_popcount((unsigned)mask);
    }
    for (; p < pc; p++) {
        const float d = x[p] - u[p];
        if (d != 0) { v[cnt] = d; o[cnt] = (uint16_t)(p * SB); cnt++; }
    }
    return cnt;
}

size_t facetwin_sparse_scratch_bytes(int m) { return (size_t)m * SK * (sizeof(float) + sizeof(uint16_t)) + (size_t)m; }

#define FMA_ROW(j) c##j = _mm256_fmadd_ps(x, _mm256_loadu_ps(w + 8 * j), c##j);

// C[i][j] += Σ_p W[j][p]·(x − u)[i][p] for the outputs in blocks [nb0, nb1) (this thread's).
// For each block of features, every row's block is compressed first, into `scratch`
// (facetwin_sparse_scratch_bytes(m), the thread's own), while the next block's lines are
// prefetched; each thread compresses all rows, which costs less than writing the compressed
// batch out and reading it back (0.95x the layer's time in a harness). `partial` [m][nblocks·64]
// (the thread's columns of it) is scratch too. Returns how many entries of x differed from u.
__attribute__((target("avx2,fma")))
long facetwin_sparse_compute(int m, int n, int k, const float *packed, const float *x, size_t ldx, const float *u,
                             float *partial, float *c, size_t ldc, int nb0, int nb1, void *scratch) {
    if (nb0 >= nb1 || m <= 0) return 0;
    const int kblocks = facetwin_sparse_kblocks(k), nblocks = facetwin_sparse_nblocks(n), ldp = nblocks * SB;
    const int j0 = nb0 * SB, j1 = nb1 * SB < n ? nb1 * SB : n;
    float *values = scratch;
    uint16_t *offsets = (uint16_t *)(values + (size_t)m * SK);
    uint8_t *counts = (uint8_t *)(offsets + (size_t)m * SK);
    long nonzeros = 0;
    for (int i = 0; i < m; i++) memset(partial + (size_t)i * ldp + j0, 0, sizeof(float) * (size_t)(nb1 - nb0) * SB);
    // Lines of the next tile to prefetch per image: a tile is 256 cache lines.
    const int lines = (SK * SB / 16 + m - 1) / m;
    for (int kb = 0; kb < kblocks; kb++) {
        const int p0 = kb * SK, pc = k - p0 < SK ? k - p0 : SK;
        for (int i = 0; i < m; i++) {
            const float *xi = x + (size_t)i * ldx + p0;
            counts[i] = (uint8_t)compress_block(xi, u + p0, pc, values + (size_t)i * SK, offsets + (size_t)i * SK);
            nonzeros += counts[i];
            if (kb + 1 < kblocks)
                for (int q = 0; q < SK * 4; q += 64) _mm_prefetch((const char *)(xi + SK) + q, _MM_HINT_T0);
        }
        for (int nb = nb0; nb < nb1; nb++) {
            const float *tile = packed + ((size_t)kb * nblocks + nb) * SK * SB;
            const float *next = nb + 1 < nb1 ? tile + SK * SB : kb + 1 < kblocks ? packed + ((size_t)(kb + 1) * nblocks + nb0) * SK * SB : NULL;
            for (int i = 0; i < m; i++) {
                if (next) {
                    for (int q = 0; q < lines; q++) {
                        const int line = i * lines + q;
                        if (line < SK * SB / 16) _mm_prefetch((const char *)(next + line * 16), _MM_HINT_T0);
                    }
                }
                const int cnt = counts[i];
                if (cnt == 0) continue;
                const float *v = values + (size_t)i * SK;
                const uint16_t *o = offsets + (size_t)i * SK;
                float *acc = partial + (size_t)i * ldp + nb * SB;
                __m256 c0 = _mm256_loadu_ps(acc), c1 = _mm256_loadu_ps(acc + 8), c2 = _mm256_loadu_ps(acc + 16), c3 = _mm256_loadu_ps(acc + 24),
                       c4 = _mm256_loadu_ps(acc + 32), c5 = _mm256_loadu_ps(acc + 40), c6 = _mm256_loadu_ps(acc + 48), c7 = _mm256_loadu_ps(acc + 56);
                for (int t = 0; t < cnt; t++) {
                    const __m256 x = _mm256_broadcast_ss(v + t);
                    const float *w = tile + o[t];
                    FMA_ROW(0) FMA_ROW(1) FMA_ROW(2) FMA_ROW(3) FMA_ROW(4) FMA_ROW(5) FMA_ROW(6) FMA_ROW(7)
                }
                _mm256_storeu_ps(acc, c0); _mm256_storeu_ps(acc + 8, c1); _mm256_storeu_ps(acc + 16, c2); _mm256_storeu_ps(acc + 24, c3);
                _mm256_storeu_ps(acc + 32, c4); _mm256_storeu_ps(acc + 40, c5); _mm256_storeu_ps(acc + 48, c6); _mm256_storeu_ps(acc + 56, c7);
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
