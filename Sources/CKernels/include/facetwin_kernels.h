#ifndef FACETWIN_KERNELS_H
#define FACETWIN_KERNELS_H
#include <stddef.h>

/// FaceTwin's own AVX2/FMA kernels for the big linear layer (see gemm.c): its forward GEMM,
/// and its weight gradient folded into Adam (at the end of this file).
///
/// Forward: C[m×n] += X[m×k] · W[n×k]ᵀ with W in PyTorch's [out × in] layout, streaming W
/// straight from its rows (no packed copy of the 160 MB weight), with X packed once per call.
/// The work is split in two phases so the caller can run each on its own threads:
///   1. pack X, block by block (`facetwin_gemm_nt_pack`, blocks [b0, b1) per thread);
///   2. compute the output in tiles of 6 rows of W (`facetwin_gemm_nt_compute`, tiles [t0, t1)
///      per thread; each thread writes only its own columns of C and rows of `scratch`).

/// Which instruction set the kernels run with (cpu.c). The package is compiled for baseline
/// x86-64; the AVX2/FMA variants are chosen at run time.
/// Nonzero when this CPU and OS run AVX2 and FMA (with POPCNT and BMI1, which every AVX2 CPU has).
int facetwin_cpu_has_avx2_fma(void);
/// Nonzero when the portable versions are forced: FACETWIN_CPU=baseline in the environment at the
/// first call, or `facetwin_cpu_force_baseline`.
int facetwin_cpu_baseline_forced(void);
/// Nonzero when the AVX2/FMA variants run: the CPU has them and the baseline is not forced.
int facetwin_cpu_avx2_fma(void);
/// Forces the portable versions (1), the AVX2/FMA ones where the CPU has them (0), or goes back
/// to what FACETWIN_CPU says (-1). For tests that compare both paths in one process; call it
/// between computations, not during one.
void facetwin_cpu_force_baseline(int on);

/// Nonzero when the big layer's AVX2/FMA kernels below may run (`facetwin_cpu_avx2_fma`); they
/// have no portable version (the caller uses OpenBLAS and its own Adam instead).
int facetwin_gemm_available(void);

/// Blocks of k that phase 1 packs (the unit of its work split).
int facetwin_gemm_nt_blocks(int k);
/// Tiles of n that phase 2 computes (the unit of its work split).
int facetwin_gemm_nt_tiles(int n);
/// Floats needed for the packed X (phase 1's output).
size_t facetwin_gemm_nt_packed_count(int m, int k);
/// Floats needed for phase 2's scratch.
size_t facetwin_gemm_nt_scratch_count(int m, int n);

/// Phase 1: packs rows x (row stride ldx) for k blocks [b0, b1).
void facetwin_gemm_nt_pack(int m, int k, const float *x, size_t ldx, float *packed, int b0, int b1);

/// Phase 2: C[i][j] += Σ_p X[i][p] · W[j][p] for the output columns j in tiles [t0, t1).
void facetwin_gemm_nt_compute(int m, int n, int k, const float *packed, const float *w, size_t ldw,
                              float *scratch, float *c, size_t ldc, int t0, int t1);

/// Adam's constants for one step, as Sources/FaceTwinTraining/Adam.swift computes them.
typedef struct {
    float beta1, beta2, eps;
    float step_size;              // learning rate / (1 − β₁ᵗ)
    float inverse_correction2;    // 1 / √(1 − β₂ᵗ)
} facetwin_adam_step;

/// The linear layer's weight gradient folded into Adam: for W[n×k] with moments m1, m2 (same
/// layout), G = dYᵀ · X (dY[m×n], X[m×k], both row-major) is formed 6 × 16 entries at a time in
/// registers and applied at once, so G never goes to memory. Columns are split in strips of
/// 256 (the unit of the work split); `packed_dy` comes from `facetwin_adam_tn_pack`.
int facetwin_adam_tn_strips(int k);
size_t facetwin_adam_tn_packed_count(int m, int n);
void facetwin_adam_tn_pack(int m, int n, const float *dy, float *packed_dy);
void facetwin_adam_tn(int m, int n, int k, const float *packed_dy, const float *x, float *w, float *m1, float *m2,
                      const facetwin_adam_step *step, int s0, int s1);
/// The layer's inference product over the nonzeros of x − u, for a fixed background u (see
/// sparse.c): C[i][j] += Σ_p W[j][p]·(x[i][p] − u[p]). W is packed once (`facetwin_sparse_pack`,
/// blocks of 64 features [kb0, kb1) per thread; `facetwin_sparse_constant` gives b + W·u), then
/// each batch's output computed in blocks of 64 columns (`facetwin_sparse_compute`, blocks
/// [nb0, nb1) per thread, each with its own `scratch` of facetwin_sparse_scratch_bytes(m)).
#include <stdint.h>
int facetwin_sparse_kblocks(int k);
int facetwin_sparse_nblocks(int n);
size_t facetwin_sparse_packed_count(int n, int k);
size_t facetwin_sparse_partial_count(int m, int n);
size_t facetwin_sparse_scratch_bytes(int m);
void facetwin_sparse_pack(int n, int k, const float *w, size_t ldw, float *packed, int kb0, int kb1);
/// The product's constant part, out[j] = bias[j] + Σ_p W[j][p]·u[p] for rows [j0, j1), summed in
/// double and rounded once (bias may be NULL).
void facetwin_sparse_constant(int k, const float *w, size_t ldw, const float *u, const float *bias, float *out, int j0, int j1);
/// A block of 64 features goes through a dense register tile when at least `dense_percent` % of
/// its m × 64 entries differ from u (0: every block; above 100: none); the sums are the same to
/// the bit either way. Returns how many entries of x differ from u (each thread sees all of them).
long facetwin_sparse_compute(int m, int n, int k, const float *packed, const float *x, size_t ldx, const float *u,
                             float *partial, float *c, size_t ldc, int nb0, int nb1, void *scratch, int dense_percent);

/// Identification's coarse pass (int8dot.c): out[i] = Σ_c rows[i·d + c] · probe[c], exact in
/// int32, for n rows of d int8 values (entries in −127…127). AVX2 when the CPU has it and d is a
/// multiple of 32, else the portable loop (also callable directly, for tests).
void facetwin_int8_dots(const int8_t *rows, size_t n, int d, const int8_t *probe, int32_t *out);
void facetwin_int8_dots_portable(const int8_t *rows, size_t n, int d, const int8_t *probe, int32_t *out);

/// Direct convolution kernels (stride 1, no padding) for the few channels of the twin's CNN
/// (conv.c), each in an AVX2/FMA version and a portable one chosen at run time: the same sums in
/// the same order, with fused multiply-adds in the first and a multiply then an add in the second.
///
/// out[co, y, x] = bias[co] + Σ_ci Σ_ky Σ_kx w[co, ci, ky, kx] · in[ci, y + ky, x + kx] for one
/// image: `input` [cin, h, w], `output` [cout, h − k + 1, w − k + 1]; `bias` may be NULL. Then,
/// as the outputs are stored, the epilogue: max(y, 0) when `relu`, and y · scale[co] + shift[co]
/// when both are given.
void facetwin_conv_forward(const float *input, int cin, int h, int w, const float *weight, const float *bias,
                           int cout, int k, float *output, int relu, const float *scale, const float *shift);
/// dW[co, ci, :, :] += the 3 × 3 weight gradient of one image for output channels co < 4·blocks:
/// Σ_y Σ_x g[co, y, x] · in[ci, y + ky, x + kx]. `partial` holds
/// cin · blocks · 3 · 12 · 8 floats (overwritten). Needs an output width of at least 8.
void facetwin_conv_weight_gradient_3x3_blocks(const float *input, int cin, int h, int w, const float *grad_output,
                                              int blocks, float *grad_weight, float *partial);
/// The 3 × 3 weight gradient of one (output channel, input channel) pair: dw[ky·3 + kx] +=
/// Σ_y Σ_x g[y, x] · plane[y + ky, x + kx], `plane` with row stride w, `g` [ho, wo].
void facetwin_conv_weight_gradient_3x3(const float *plane, int w, const float *g, int ho, int wo, float *dw);

/// Vector kernels of the layers (vector.c), AVX2 or baseline at run time, the same numbers to the
/// bit either way. Sums of n floats in blocks of 1 024: eight float lanes within a block, summed
/// in order, the block's float total added in double.
double facetwin_sum_double(const float *p, long n);
/// Σ a[i]·b[i], blocked as facetwin_sum_double.
double facetwin_dot_double(const float *a, const float *b, long n);
/// Σ (p[i] − mean)², blocked as facetwin_sum_double.
double facetwin_squared_deviation(const float *p, long n, float mean);
/// BatchNorm's input gradient through the ReLU before it, for one plane: da[i] = a[i] > 0 ?
/// k · (m·dy[i] − sum_dy − x̂·sum_dy_xhat) : 0 with x̂ = (a[i] − mean) · inv_std.
void facetwin_bn_relu_backward(const float *a, const float *dy, float *da, long n, float mean, float inv_std, float k,
                               float m, float sum_dy, float sum_dy_xhat);
/// y[i] = x[i] · scale + shift (a multiply, then an add); x and y may be the same.
void facetwin_affine(const float *x, float *y, long n, float scale, float shift);
/// The adjoint of im2col: grad [cin, h, w] (overwritten) = the column gradient
/// [cin·k·k, (h − k + 1)·(w − k + 1)] summed back onto the positions each entry was copied from.
void facetwin_col2im(const float *col, int cin, int h, int w, int k, float *grad);
/// A convolution's epilogue on n outputs of channel c, in place (as facetwin_conv_forward
/// applies it): max(y, 0) when `relu`, then y · scale[c] + shift[c] when both are given.
void facetwin_conv_epilogue(float *p, long n, int c, int relu, const float *scale, const float *shift);
#endif
