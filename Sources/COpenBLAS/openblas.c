// OpenBLAS, opened with dlopen at first use after setting OPENBLAS_NUM_THREADS=1.
//
// FaceTwin splits its matrix work between the cores itself and calls OpenBLAS with one thread
// per call. Linked the usual way, the pthread build of OpenBLAS starts a thread pool in its
// library constructor, before any of our code runs, and each fresh pool thread spins
// (sched_yield) for about 2^28 cycles waiting for work that never comes. On a 2-core machine
// that thread took a core from a cold `facetwin verify` (model load + one probe): 0.1 to 0.4 s
// from run to run, against 0.1 s with OPENBLAS_NUM_THREADS=1. The variable must be set before
// the constructor reads it, and an executable cannot set it early enough when it is linked
// against the library (glibc resets the environment after .preinit_array), so the library is
// opened here instead, after setenv. A value the user set is kept.
//
// Under an address-space limit (ulimit -v, RLIMIT_AS) OpenBLAS is not opened at all: its first
// GEMM maps a 128 MiB buffer per calling thread, and when that mmap fails it retries forever
// (blas_memory_alloc), so a limited process would spin instead of answering. The portable
// kernels below take its place there: plain loops, the same products, slower. libopenblas is
// also a dependency of dlib's BLAS and LAPACK (CFaceDetect), so its constructor runs at
// process start and starts a pool thread whose own buffer mmap, under a tight limit, loops
// forever too, and exit then waits on that thread. facetwin_openblas_prepare_process, called
// first thing by the CLI, re-executes the process with OPENBLAS_NUM_THREADS=1 under a limit,
// so that constructor starts no pool thread.
#include "facetwin_openblas.h"
#include "facetwin_kernels.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum { RowMajor = 101, NoTrans = 111, Trans = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*sgemv_fn)(int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*threads_fn)(int);

static sgemm_fn p_sgemm;
static sgemv_fn p_sgemv;
static threads_fn p_threads;
static char load_error[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int portable;

static void load(void) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_AS, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
        portable = 1;
        return;
    }
    setenv("OPENBLAS_NUM_THREADS", "1", 0);
    const char *names[] = {"libopenblas.so.0", "libopenblas.so"};
    void *h = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !h; i++) h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        // Without OpenBLAS the portable kernels do its work, slower (apt-get install libopenblas0).
        const char *why = dlerror();
        snprintf(load_error, sizeof load_error, "cannot load OpenBLAS (libopenblas.so.0): %s", why ? why : "not found");
        portable = 1;
        return;
    }
    p_sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
    p_sgemv = (sgemv_fn)dlsym(h, "cblas_sgemv");
    p_threads = (threads_fn)dlsym(h, "openblas_set_num_threads");
    if (!p_sgemm || !p_sgemv || !p_threads) {
        snprintf(load_error, sizeof load_error, "the OpenBLAS library found lacks cblas_sgemm, cblas_sgemv or openblas_set_num_threads");
        p_sgemm = NULL;
        portable = 1;
    }
}

int facetwin_openblas_load(char *error, size_t size) {
    pthread_once(&once, load);
    if (!load_error[0]) return 0;
    if (error && size) snprintf(error, size, "%s", load_error);
    return -1;
}

void facetwin_openblas_prepare_process(char **argv) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
    const char *threads = getenv("OPENBLAS_NUM_THREADS");
    if (threads && strcmp(threads, "1") == 0) return;
    if (setenv("OPENBLAS_NUM_THREADS", "1", 1) != 0) return;
    execv("/proc/self/exe", argv);
    // exec failed: go on as this process is.
}

int facetwin_openblas_is_portable(void) {
    pthread_once(&once, load);
    return portable;
}

static inline __attribute__((always_inline)) void portable_sgemm(int trans_a, int trans_b, int m, int n, int k,
                                                                  float alpha, const float *a, int lda, const float *b,
                                                                  int ldb, float beta, float *c, int ldc) {
    enum { chunk = 256 };
#define A_AT(r, p) (trans_a ? a[(size_t)(p) * lda + (r)] : a[(size_t)(r) * lda + (p)])
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        for (int j = 0; j < n; j++) ci[j] = beta == 0 ? 0 : beta * ci[j];
    }
    if (!trans_b) {
        // c_i += alpha · Σ_p A(i, p) · B row p (contiguous), four rows of C for each B row read.
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            float *restrict c0 = c + (size_t)i * ldc, *restrict c1 = c0 + ldc, *restrict c2 = c1 + ldc,
                          *restrict c3 = c2 + ldc;
            for (int p = 0; p < k; p++) {
                const float s0 = alpha * A_AT(i, p), s1 = alpha * A_AT(i + 1, p), s2 = alpha * A_AT(i + 2, p),
                            s3 = alpha * A_AT(i + 3, p);
                const float *restrict bp = b + (size_t)p * ldb;
                for (int j = 0; j < n; j++) {
                    const float v = bp[j];
                    c0[j] += s0 * v;
                    c1[j] += s1 * v;
                    c2[j] += s2 * v;
                    c3[j] += s3 * v;
                }
            }
        }
        for (; i < m; i++) {
            float *restrict ci = c + (size_t)i * ldc;
            for (int p = 0; p < k; p++) {
                const float s = alpha * A_AT(i, p);
                const float *restrict bp = b + (size_t)p * ldb;
                for (int j = 0; j < n; j++) ci[j] += s * bp[j];
            }
        }
        return;
    }
    // c_ij += alpha · A row i · B row j (both contiguous; A's row gathered when transposed).
    float row[chunk];
    for (int i = 0; i < m; i++) {
        float *ci = c + (size_t)i * ldc;
        for (int p0 = 0; p0 < k; p0 += chunk) {
            int len = k - p0 < chunk ? k - p0 : chunk;
            for (int p = 0; p < len; p++) row[p] = A_AT(i, p0 + p);
            for (int j = 0; j < n; j++) {
                const float *bj = b + (size_t)j * ldb + p0;
                // Eight independent sums, so the compiler can keep them in vector lanes.
                float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                int p = 0;
                for (; p + 8 <= len; p += 8)
                    for (int l = 0; l < 8; l++) acc[l] += row[p + l] * bj[p + l];
                float sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
                for (; p < len; p++) sum += row[p] * bj[p];
                ci[j] += alpha * sum;
            }
        }
    }
#undef A_AT
}

// The same loops compiled for AVX2 and FMA, taken where the CPU has them (8 lanes, not 4).
__attribute__((target("avx2,fma"))) static void portable_sgemm_avx2(int trans_a, int trans_b, int m, int n, int k,
                                                                     float alpha, const float *a, int lda,
                                                                     const float *b, int ldb, float beta, float *c,
                                                                     int ldc) {
    portable_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static void portable_sgemm_baseline(int trans_a, int trans_b, int m, int n, int k, float alpha, const float *a,
                                    int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    portable_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void facetwin_portable_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
                             const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    if (facetwin_cpu_avx2_fma())
        portable_sgemm_avx2(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else
        portable_sgemm_baseline(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void facetwin_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
                    const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    if (portable) {
        facetwin_portable_sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    p_sgemm(RowMajor, trans_a ? Trans : NoTrans, trans_b ? Trans : NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void facetwin_sgemv(int m, int n, float alpha, const float *a, int lda, const float *x, float beta, float *y) {
    if (portable) {
        // y = alpha · A x + beta · y: a GEMM of A by the column x (a 1-column B, as n × 1 rows).
        facetwin_portable_sgemm(0, 1, m, 1, n, alpha, a, lda, x, n, beta, y, 1);
        return;
    }
    p_sgemv(RowMajor, NoTrans, m, n, alpha, a, lda, x, 1, beta, y, 1);
}

void facetwin_openblas_set_threads(int n) {
    if (!portable) p_threads(n);
}
