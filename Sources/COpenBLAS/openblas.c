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
#include "facetwin_openblas.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

enum { RowMajor = 101, NoTrans = 111, Trans = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*sgemv_fn)(int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef void (*threads_fn)(int);

static sgemm_fn p_sgemm;
static sgemv_fn p_sgemv;
static threads_fn p_threads;
static char load_error[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
    setenv("OPENBLAS_NUM_THREADS", "1", 0);
    const char *names[] = {"libopenblas.so.0", "libopenblas.so"};
    void *h = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !h; i++) h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(load_error, sizeof load_error, "cannot load OpenBLAS (libopenblas.so.0; apt-get install libopenblas0): %s",
                 why ? why : "not found");
        return;
    }
    p_sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
    p_sgemv = (sgemv_fn)dlsym(h, "cblas_sgemv");
    p_threads = (threads_fn)dlsym(h, "openblas_set_num_threads");
    if (!p_sgemm || !p_sgemv || !p_threads) {
        snprintf(load_error, sizeof load_error, "the OpenBLAS library found lacks cblas_sgemm, cblas_sgemv or openblas_set_num_threads");
        p_sgemm = NULL;
    }
}

int facetwin_openblas_load(char *error, size_t size) {
    pthread_once(&once, load);
    if (p_sgemm) return 0;
    if (error && size) snprintf(error, size, "%s", load_error);
    return -1;
}

void facetwin_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
                    const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    p_sgemm(RowMajor, trans_a ? Trans : NoTrans, trans_b ? Trans : NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void facetwin_sgemv(int m, int n, float alpha, const float *a, int lda, const float *x, float beta, float *y) {
    p_sgemv(RowMajor, NoTrans, m, n, alpha, a, lda, x, 1, beta, y, 1);
}

void facetwin_openblas_set_threads(int n) { p_threads(n); }
