/* The machine's sgemm ceiling at the Transformer decoder step's shapes (docs/performance.md).
 *
 *   cc -O2 -o sgemm_ceiling sgemm_ceiling.c -lopenblas && ./sgemm_ceiling THREADS ROWS [SECONDS]
 *
 * Row-major C[m x n] = X[m x k] * W[k x n] for the products of one decoder step of ROWS hypotheses
 * at self-critical.pytorch's zoo size (6 decoder layers, d_model 512, d_ff 2048, V + 1 = 9488): per
 * layer the stacked query/key/value [512 x 1536], the self-attention output, the cross-attention
 * query and output [512 x 512], the feed-forward [512 x 2048] and [2048 x 512]; the logit layer
 * [512 x 9488]. Prints the multiply-add-weighted rate over them, in GFLOP/s. */
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

/* Best rate over 0.3 s windows, GFLOP/s. */
static double measure(int m, int n, int k, double seconds) {
    float *x = malloc(sizeof(float) * (size_t)m * k), *w = malloc(sizeof(float) * (size_t)k * n);
    float *c = malloc(sizeof(float) * (size_t)m * n);
    for (size_t i = 0; i < (size_t)m * k; i++) x[i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < (size_t)k * n; i++) w[i] = (float)((i * 104729) % 1000) / 1000.0f - 0.5f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, x, k, w, n, 0, c, n);
    double best = 0, end = now() + seconds;
    while (now() < end) {
        int reps = 0;
        double t0 = now();
        do {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, x, k, w, n, 0, c, n);
            reps++;
        } while (now() - t0 < 0.3);
        double rate = 2.0 * m * n * k * reps / (now() - t0) / 1e9;
        if (rate > best) best = rate;
    }
    free(x); free(w); free(c);
    return best;
}

int main(int argc, char **argv) {
    fprintf(stderr, "OpenBLAS kernels: %s\n", nightcap_openblas_select());
    if (argc < 3) { fprintf(stderr, "usage: sgemm_ceiling THREADS ROWS [SECONDS]\n"); return 2; }
    int threads = atoi(argv[1]), rows = atoi(argv[2]);
    double seconds = argc > 3 ? atof(argv[3]) : 1.0;
    openblas_set_num_threads(threads);
    /* n, k, how many per step */
    int shapes[5][3] = {{1536, 512, 6}, {512, 512, 18}, {2048, 512, 6}, {512, 2048, 6}, {9488, 512, 1}};
    double work = 0, time = 0;
    for (int s = 0; s < 5; s++) {
        double flop = 2.0 * rows * shapes[s][0] * shapes[s][1] * shapes[s][2];
        double rate = measure(rows, shapes[s][0], shapes[s][1], seconds);
        printf("shape m=%d n=%d k=%d %.1f GFLOP/s\n", rows, shapes[s][0], shapes[s][1], rate);
        work += flop;
        time += flop / (rate * 1e9);
    }
    printf("mix %.1f\n", work / time / 1e9);
    return 0;
}
