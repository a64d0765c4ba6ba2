/* The machine's sgemm ceiling at the decoder's shapes (docs/performance.md).
 *
 *   cc -O2 -o sgemm_ceiling sgemm_ceiling.c -lopenblas && ./sgemm_ceiling THREADS [SECONDS [IMAGES]]
 *
 * Row-major C[m x n] = X[m x k] * W[k x n] (the layout the decoder multiplies with), for the
 * products of one decode step of an IMAGES-image batch (default 256; beam 3 and greedy) and the
 * image projection (always of 256 images: its rows are regions, many at any batch size);
 * prints one line per shape and the mean, as "name m n k GFLOP/s GFLOP/CPU-s". */
#include <cblas.h>
/* nightcap's choice of OpenBLAS kernels, so that the probe measures the kernels nightcap runs. */
#include "../../Sources/CBLAS/shim.h"
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

/* Best wall-clock rate over 0.2 s windows; also the rate per CPU-second of the best window in
 * *per_cpu (robust to other processes on a loaded machine; with 2 threads it counts spinning). */
static double measure(int m, int n, int k, double seconds, double *per_cpu) {
    float *x = malloc(sizeof(float) * (size_t)m * k), *w = malloc(sizeof(float) * (size_t)k * n);
    float *c = malloc(sizeof(float) * (size_t)m * n);
    for (size_t i = 0; i < (size_t)m * k; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < (size_t)k * n; i++) w[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, x, k, w, n, 0, c, n); /* warm up */
    double best = 0, best_cpu = 0;
    double end = now() + seconds;
    while (now() < end) {
        int reps = 0;
        double t0 = now(), c0 = cpu_now();
        do {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, x, k, w, n, 0, c, n);
            reps++;
        } while (now() - t0 < 0.2);
        double rate = 2.0 * m * n * k * reps / (now() - t0) / 1e9;
        double cpu_rate = 2.0 * m * n * k * reps / (cpu_now() - c0) / 1e9;
        if (rate > best) best = rate;
        if (cpu_rate > best_cpu) best_cpu = cpu_rate;
    }
    free(x); free(w); free(c);
    *per_cpu = best_cpu;
    return best;
}

int main(int argc, char **argv) {
    fprintf(stderr, "OpenBLAS kernels: %s\n", nightcap_openblas_select());
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    double seconds = argc > 2 ? atof(argv[2]) : 1.0;
    int images = argc > 3 ? atoi(argv[3]) : 256;
    openblas_set_num_threads(threads);
    /* One decode batch of IMAGES images: 3 x IMAGES rows per step with beam 3, IMAGES greedy. */
    struct { const char *name; int m, n, k; } shapes[] = {
        {"beam3_hidden_fused", 3 * images, 512 + 2048 + 2048, 512},  /* h x [text_proj | W_hh | f_beta] */
        {"beam3_context_gates", 3 * images, 2048, 2048},             /* z x W_ih[:, E:] */
        {"beam3_fc", 3 * images, 9487, 512},                         /* h x fc */
        {"greedy_hidden_fused", images, 512 + 2048 + 2048, 512},
        {"greedy_context_gates", images, 2048, 2048},
        {"greedy_fc", images, 9487, 512},
        {"image_proj", 256 * 36, 512, 2048},                  /* regions x image_proj, once per image */
    };
    int count = sizeof shapes / sizeof shapes[0];
    double sum = 0, sum_cpu = 0;
    for (int i = 0; i < count; i++) {
        double per_cpu;
        double g = measure(shapes[i].m, shapes[i].n, shapes[i].k, seconds, &per_cpu);
        sum += g;
        sum_cpu += per_cpu;
        printf("%s %d %d %d %.1f %.1f\n", shapes[i].name, shapes[i].m, shapes[i].n, shapes[i].k, g, per_cpu);
    }
    printf("mean 0 0 0 %.1f %.1f\n", sum / count, sum_cpu / count);
    return 0;
}
