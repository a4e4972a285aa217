// RUN: tfmc-opt %s -split-input-file -tfm-convert-weights="dtype=bf16" | FileCheck %s
// RUN: tfmc-opt %s -split-input-file -tfm-convert-weights="dtype=f16" | FileCheck %s --check-prefix=F16
// RUN: not tfmc-opt %s -split-input-file -tfm-convert-weights="dtype=f8" 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: tfm-convert-weights: dtype must be bf16, f16 or f32, got 'f8'

// GEMM weights and embedding tables are stored narrower and widened by a
// convert; the computation keeps its f32 types.
// CHECK-LABEL: func.func @gemm_and_gather
// CHECK: %[[T:.*]] = tfm.weight "emb" : tensor<10x8xbf16>
// CHECK: %[[T32:.*]] = tfm.convert %[[T]] : tensor<10x8xbf16> -> tensor<10x8xf32>
// CHECK: tfm.embedding %[[T32]]
// CHECK: %[[W:.*]] = tfm.weight "w" concat ["a", "b"] axis 0 : tensor<6x8xbf16>
// CHECK: %[[W32:.*]] = tfm.convert %[[W]] : tensor<6x8xbf16> -> tensor<6x8xf32>
// The bias (a vector) stays f32.
// CHECK: %[[B:.*]] = tfm.weight "b" : tensor<6xf32>
// CHECK: tfm.linear %{{.*}}, %[[W32]] bias %[[B]] :
// F16-LABEL: func.func @gemm_and_gather
// F16: tfm.weight "emb" : tensor<10x8xf16>
func.func @gemm_and_gather(%ids: tensor<2xi64>) -> tensor<2x6xf32> {
  %t = tfm.weight "emb" : tensor<10x8xf32>
  %e = tfm.embedding %t, %ids : (tensor<10x8xf32>, tensor<2xi64>) -> tensor<2x8xf32>
  %w = tfm.weight "w" concat ["a", "b"] axis 0 : tensor<6x8xf32>
  %b = tfm.weight "b" : tensor<6xf32>
  %y = tfm.linear %e, %w bias %b : (tensor<2x8xf32>, tensor<6x8xf32>, tensor<6xf32>) -> tensor<2x6xf32>
  return %y : tensor<2x6xf32>
}

// -----

// Negative: a weight also read by an op whose kernel does not widen while
// it loads stays f32, in every function of the module.
// CHECK-LABEL: func.func @sliced
// CHECK: tfm.weight "pos" : tensor<16x8xf32>
// CHECK-NOT: tfm.convert
// CHECK-LABEL: func.func @gathered
// CHECK: tfm.weight "pos" : tensor<16x8xf32>
// CHECK-NOT: tfm.convert
func.func @sliced() -> tensor<4x8xf32> {
  %p = tfm.weight "pos" : tensor<16x8xf32>
  %s = tfm.slice %p axis 0 [0 : 4] : tensor<16x8xf32> -> tensor<4x8xf32>
  return %s : tensor<4x8xf32>
}
func.func @gathered(%ids: tensor<4xi64>) -> tensor<4x8xf32> {
  %p = tfm.weight "pos" : tensor<16x8xf32>
  %e = tfm.embedding %p, %ids : (tensor<16x8xf32>, tensor<4xi64>) -> tensor<4x8xf32>
  return %e : tensor<4x8xf32>
}

// -----

// Negative: a weight that is the input of a linear (not its weight) and a
// weight already narrower are left alone.
// CHECK-LABEL: func.func @not_weights
// CHECK: tfm.weight "x" : tensor<2x8xf32>
// CHECK: tfm.weight "w" : tensor<4x8xf16>
// CHECK-NOT: tfm.weight "w" : tensor<4x8xbf16>
func.func @not_weights() -> tensor<2x4xf32> {
  %x = tfm.weight "x" : tensor<2x8xf32>
  %w = tfm.weight "w" : tensor<4x8xf16>
  %w32 = tfm.convert %w : tensor<4x8xf16> -> tensor<4x8xf32>
  %y = tfm.linear %x, %w32 : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
