// STREAM-style memory bandwidth on this machine: triad a[i] = b[i] + s*c[i]
// (24 bytes per element, as STREAM counts it) and a read-only sum (8 bytes
// per element; what a decode step does to the weights), over arrays far
// larger than the caches, with OpenMP threads. Prints the best of 10 runs.
//
//   clang -O2 -march=native -fopenmp bench/stream.c -o stream && ./stream
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define N (48L * 1024 * 1024) // 384 MiB per array

static double now(void) { return omp_get_wtime(); }

int main(void) {
  double *a = aligned_alloc(64, N * sizeof(double));
  double *b = aligned_alloc(64, N * sizeof(double));
  double *c = aligned_alloc(64, N * sizeof(double));
  if (!a || !b || !c)
    return 1;
#pragma omp parallel for schedule(static)
  for (long i = 0; i < N; ++i) {
    a[i] = 1.0;
    b[i] = 2.0;
    c[i] = 0.5;
  }
  double bestTriad = 1e30, bestRead = 1e30, sink = 0;
  for (int r = 0; r < 10; ++r) {
    double t0 = now();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < N; ++i)
      a[i] = b[i] + 3.0 * c[i];
    double t1 = now();
    double sum = 0;
#pragma omp parallel for simd schedule(static) reduction(+ : sum)
    for (long i = 0; i < N; ++i)
      sum += b[i];
    double t2 = now();
    sink += sum + a[r];
    if (t1 - t0 < bestTriad)
      bestTriad = t1 - t0;
    if (t2 - t1 < bestRead)
      bestRead = t2 - t1;
  }
  printf("threads=%d triad_gbs=%.2f read_gbs=%.2f (check %g)\n",
         omp_get_max_threads(), 24.0 * N / bestTriad / 1e9,
         8.0 * N / bestRead / 1e9, sink);
  free(a);
  free(b);
  free(c);
  return 0;
}
