/*===- cpu_features.h - x86 features an artifact may require ---------------===*
 *
 * Part of tfmc. One list, used by the compiler (which of these the generated
 * code may use, written to manifest.json) and by the runtime (which the
 * machine has, via __builtin_cpu_supports). Names are both LLVM feature
 * names and __builtin_cpu_supports names.
 *
 *===----------------------------------------------------------------------===*/

#ifndef TFMC_CPU_FEATURES_H
#define TFMC_CPU_FEATURES_H

#define TFMC_X86_FEATURES(X)                                                   \
  X("sse3") X("ssse3") X("sse4.1") X("sse4.2") X("popcnt") X("avx")           \
  X("avx2") X("fma") X("f16c") X("bmi") X("bmi2") X("aes") X("pclmul")        \
  X("avx512f") X("avx512dq") X("avx512cd") X("avx512bw") X("avx512vl")        \
  X("avx512ifma") X("avx512vbmi") X("avx512vbmi2") X("avx512vnni")            \
  X("avx512bitalg") X("avx512vpopcntdq") X("avx512bf16") X("gfni")           \
  X("vaes") X("vpclmulqdq")

#endif /* TFMC_CPU_FEATURES_H */
