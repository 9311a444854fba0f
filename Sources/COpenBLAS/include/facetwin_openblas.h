#ifndef FACETWIN_OPENBLAS_H
#define FACETWIN_OPENBLAS_H
#include <stddef.h>

/// OpenBLAS, loaded at first use with one thread, or portable kernels under a memory limit or
/// where OpenBLAS cannot be loaded (see openblas.c). Row-major throughout;
/// `trans_a`/`trans_b` nonzero for a transposed operand.

/// Loads libopenblas.so.0 if not yet loaded, or settles on the portable kernels. Returns 0; when
/// the portable kernels run because OpenBLAS could not be loaded, -1 with the one-line reason in
/// `error` (at most `size` bytes): the GEMMs still work, slower.
int facetwin_openblas_load(char *error, size_t size);

void facetwin_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
                    const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
void facetwin_sgemv(int m, int n, float alpha, const float *a, int lda, const float *x, float beta, float *y);
void facetwin_openblas_set_threads(int n);

/// 1 when `facetwin_sgemm`/`facetwin_sgemv` run the portable kernels: under an address-space
/// limit (RLIMIT_AS), where OpenBLAS is not opened (openblas.c says why), or without OpenBLAS.
int facetwin_openblas_is_portable(void);
/// Under an address-space limit, re-executes the process (`argv` as given to main) with
/// OPENBLAS_NUM_THREADS=1 unless it is already 1; returns otherwise, or if exec fails.
void facetwin_openblas_prepare_process(char **argv);
/// The portable GEMM itself, with `facetwin_sgemm`'s arguments.
void facetwin_portable_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
                             const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);
#endif
