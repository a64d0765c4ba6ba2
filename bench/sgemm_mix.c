/* The machine's sgemm rate at a decoder step's products (docs/performance.md), for
 * bench/throughput, bench/updown and bench/transformer.
 *
 *   cc -O2 -o sgemm_mix bench/sgemm_mix.c -lopenblas
 *   ./sgemm_mix THREADS ROWS SECONDS N:K[:COUNT] ...
 *
 * Row-major C[ROWS x N] = X[ROWS x K] * W[K x N] for each shape, COUNT times per step (default 1).
 * Prints, per shape, its best rate over 0.3 s windows and that window's rate per CPU-second
 * ("shape m=M n=N k=K xCOUNT R GFLOP/s C GFLOP/CPU-s"; the second is robust to other processes on
 * a loaded machine, and with 2 threads it counts OpenBLAS's spinning), and last the
 * multiply-add-weighted rates of the mix ("mix R C"), in GFLOP/s. */
#include <cblas.h>
/* nightcap's choice of OpenBLAS kernels, so that the probe measures the kernels nightcap runs. */
#include "../Sources/CBLAS/shim.h"
#include "../Sources/CKernels/include/cpu_features.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Best rate over 0.3 s windows, GFLOP/s; that window's rate per CPU-second in *per_cpu. */
static double measure(int m, int n, int k, double seconds, double *per_cpu) {
    float *x = malloc(sizeof(float) * (size_t)m * k), *w = malloc(sizeof(float) * (size_t)k * n);
    float *c = malloc(sizeof(float) * (size_t)m * n);
    for (size_t i = 0; i < (size_t)m * k; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < (size_t)k * n; i++) w[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, x, k, w, n, 0, c, n);
    double best = 0, end = now() + seconds;
    *per_cpu = 0;
    while (now() < end) {
        int reps = 0;
        double t0 = now(), c0 = cpu_now();
        do {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, x, k, w, n, 0, c, n);
            reps++;
        } while (now() - t0 < 0.3);
        double rate = 2.0 * m * n * k * reps / (now() - t0) / 1e9;
        if (rate > best) {
            best = rate;
            *per_cpu = 2.0 * m * n * k * reps / (cpu_now() - c0) / 1e9;
        }
    }
    free(x); free(w); free(c);
    return best;
}

int main(int argc, char **argv) {
    fprintf(stderr, "OpenBLAS kernels: %s\n", nightcap_openblas_select(nightcap_cpu_vector_tier()));
    if (argc < 5) { fprintf(stderr, "usage: sgemm_mix THREADS ROWS SECONDS N:K[:COUNT] ...\n"); return 2; }
    int threads = atoi(argv[1]), rows = atoi(argv[2]);
    double seconds = atof(argv[3]);
    openblas_set_num_threads(threads);
    double work = 0, time = 0, cpu_time = 0;
    for (int s = 4; s < argc; s++) {
        int n = 0, k = 0, count = 1;
        if (sscanf(argv[s], "%d:%d:%d", &n, &k, &count) < 2 || n <= 0 || k <= 0 || count <= 0) {
            fprintf(stderr, "sgemm_mix: %s is not N:K[:COUNT]\n", argv[s]);
            return 2;
        }
        double flop = 2.0 * rows * n * k * count;
        double per_cpu;
        double rate = measure(rows, n, k, seconds, &per_cpu);
        printf("shape m=%d n=%d k=%d x%d %.1f GFLOP/s %.1f GFLOP/CPU-s\n", rows, n, k, count, rate, per_cpu);
        work += flop;
        time += flop / (rate * 1e9);
        cpu_time += flop / (per_cpu * 1e9);
    }
    printf("mix %.1f %.1f\n", work / time / 1e9, work / cpu_time / 1e9);
    return 0;
}
