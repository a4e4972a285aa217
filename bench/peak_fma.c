/* Measures the machine's single-precision FMA peak: each thread runs
 * independent chains of vector FMAs (enough to cover FMA latency on both
 * pipes) for a fixed time. Prints GFLOP/s per thread count.
 *
 * Built by bench/run.sh with clang -O2 -march=native -fopenmp. */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define SET1(x) _mm512_set1_ps(x)
#define SUM(v) _mm512_reduce_add_ps(v)
#else
typedef __m256 vec;
#define LANES 8
#define FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define SET1(x) _mm256_set1_ps(x)
static float SUM(__m256 v) {
  float t[8];
  _mm256_storeu_ps(t, v);
  return t[0] + t[1] + t[2] + t[3] + t[4] + t[5] + t[6] + t[7];
}
#endif
#define CHAINS 12

static double run(long iters, float *sink) {
  vec acc[CHAINS];
  for (int i = 0; i < CHAINS; ++i)
    acc[i] = SET1((float)i);
  vec a = SET1(0.999999f), b = SET1(1e-7f);
  double t0 = omp_get_wtime();
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < CHAINS; ++i)
      acc[i] = FMA(acc[i], a, b);
  }
  double t = omp_get_wtime() - t0;
  float s = 0;
  for (int i = 0; i < CHAINS; ++i)
    s += SUM(acc[i]);
  *sink += s;
  return t;
}

int main(int argc, char **argv) {
  long iters = argc > 1 ? atol(argv[1]) : 200000000L;
  int maxThreads = omp_get_max_threads();
  for (int threads = 1; threads <= maxThreads; threads *= 2) {
    double worst = 0;
    float sink = 0;
#pragma omp parallel num_threads(threads) reduction(max : worst) reduction(+ : sink)
    {
      run(iters / 10, &sink); /* warm up, let clocks settle */
      double t = run(iters, &sink);
      worst = t;
    }
    double flops = 2.0 * LANES * CHAINS * (double)iters * threads;
    printf("fma_peak threads=%d lanes=%d gflops=%.1f (sink %g)\n", threads,
           LANES, flops / worst / 1e9, (double)sink);
  }
  return 0;
}
