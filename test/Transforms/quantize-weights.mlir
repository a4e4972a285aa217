// RUN: tfmc-opt %s -split-input-file -tfm-quantize-weights | FileCheck %s
// RUN: tfmc-opt %s -split-input-file -tfm-quantize-weights="bits=4 group=16 skip-lm-head=true" | FileCheck %s --check-prefix=SKIP
// RUN: not tfmc-opt %s -split-input-file -tfm-quantize-weights="bits=3" 2>&1 | FileCheck %s --check-prefix=BITS
// RUN: not tfmc-opt %s -split-input-file -tfm-quantize-weights="group=0" 2>&1 | FileCheck %s --check-prefix=GROUP
// BITS: tfm-quantize-weights: quantized weights have 8 or 4 bits, not 3
// GROUP: tfm-quantize-weights: the quantization group must be positive, not 0

// The weights of linears are quantized; the bias (a vector) is not. A
// table that is also an embedding is split: the embedding reads the exact
// weight, the tied LM head a quantized copy.
// CHECK-LABEL: func.func @tied
// CHECK-DAG: %[[T:.*]] = tfm.weight "emb" : tensor<10x8xf32>
// CHECK-DAG: %[[Q:.*]] = tfm.weight "emb" quantized <bits = 8, group = 32> : tensor<10x8xf32>
// CHECK: tfm.embedding %[[T]]
// CHECK: %[[W:.*]] = tfm.weight "w" quantized <bits = 8, group = 32> : tensor<8x8xf32>
// CHECK: %[[B:.*]] = tfm.weight "b" : tensor<8xf32>
// CHECK: tfm.linear %{{.*}}, %[[W]] bias %[[B]]
// CHECK: tfm.linear %{{.*}}, %[[Q]] :
// With skip-lm-head the returned linear keeps the exact table (nothing to
// split), the hidden linear is quantized.
// SKIP-LABEL: func.func @tied
// SKIP: %[[T:.*]] = tfm.weight "emb" : tensor<10x8xf32>
// SKIP: tfm.weight "w" quantized <bits = 4, group = 16>
// SKIP-NOT: quantized
// SKIP: tfm.linear %{{.*}}, %[[T]] :
func.func @tied(%ids: tensor<2xi64>) -> tensor<2x10xf32> {
  %t = tfm.weight "emb" : tensor<10x8xf32>
  %e = tfm.embedding %t, %ids : (tensor<10x8xf32>, tensor<2xi64>) -> tensor<2x8xf32>
  %w = tfm.weight "w" : tensor<8x8xf32>
  %b = tfm.weight "b" : tensor<8xf32>
  %h = tfm.linear %e, %w bias %b : (tensor<2x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %y = tfm.linear %h, %t : (tensor<2x8xf32>, tensor<10x8xf32>) -> tensor<2x10xf32>
  return %y : tensor<2x10xf32>
}

// -----

// Negative: a weight some function reads another way (a slice) stays exact
// in every function; so does a weight that is the input of a linear.
// CHECK-LABEL: func.func @sliced
// CHECK-NOT: quantized
// CHECK-LABEL: func.func @multiplied
// CHECK-NOT: quantized
// CHECK: return
func.func @sliced() -> tensor<4x8xf32> {
  %p = tfm.weight "pos" : tensor<16x8xf32>
  %s = tfm.slice %p axis 0 [0 : 4] : tensor<16x8xf32> -> tensor<4x8xf32>
  return %s : tensor<4x8xf32>
}
func.func @multiplied(%x: tensor<4x8xf32>) -> tensor<16x4xf32> {
  %p = tfm.weight "pos" : tensor<16x8xf32>
  %y = tfm.linear %p, %x : (tensor<16x8xf32>, tensor<4x8xf32>) -> tensor<16x4xf32>
  return %y : tensor<16x4xf32>
}

// -----

// Negative: half-precision and rank-3 weights are not quantized.
// CHECK-LABEL: func.func @half
// CHECK-NOT: quantized
// CHECK: return
func.func @half(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  %w = tfm.weight "w16" : tensor<4x8xbf16>
  %w32 = tfm.convert %w : tensor<4x8xbf16> -> tensor<4x8xf32>
  %y = tfm.linear %x, %w32 : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
