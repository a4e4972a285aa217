// RUN: tfmc-opt %s -split-input-file -tfm-legalize-for-kernels | FileCheck %s

// Softmax over a leading axis has no kernel: it is expanded.
// CHECK-LABEL: func.func @leading_axis
// CHECK-NOT: tfm.softmax
// Step 1: the maximum along the axis, kept for broadcasting.
// CHECK: tfm.reduce_max %arg0 [1] keep_dims
// Step 2: exp(x - max), summed along the axis.
// CHECK: tfm.exp
// CHECK: tfm.reduce_sum {{.*}} [1] keep_dims
// Step 3: normalised.
// CHECK: tfm.div
func.func @leading_axis(%x: tensor<2x5x7xf32>) -> tensor<2x5x7xf32> {
  %p = tfm.softmax %x axis 1 : tensor<2x5x7xf32>
  return %p : tensor<2x5x7xf32>
}

// -----

// The last axis is what the kernels normalise: left alone, as are the
// other composite ops.
// CHECK-LABEL: func.func @last_axis
// CHECK: tfm.softmax %arg0 axis 2
// CHECK: tfm.layer_norm
func.func @last_axis(%x: tensor<2x5x7xf32>) -> tensor<2x5x7xf32> {
  %p = tfm.softmax %x axis 2 : tensor<2x5x7xf32>
  %n = tfm.layer_norm %p axis 2 eps 1.0e-5 : (tensor<2x5x7xf32>) -> tensor<2x5x7xf32>
  return %n : tensor<2x5x7xf32>
}

// -----

// A mixture whose expert weights are computed (not stored, so not packed
// at compile time) runs in its dense form; stored ones keep the kernel.
// CHECK-LABEL: func.func @moe_computed_weights
// CHECK-NOT: tfm.moe %
// CHECK: tfm.linear
// CHECK-LABEL: func.func @moe_stored_weights
// CHECK: tfm.moe %
func.func @moe_computed_weights(%x: tensor<4x8xf32>, %w: tensor<4x3xf32>,
                                %gu: tensor<3x10x8xf32>) -> tensor<4x8xf32> {
  %dn = tfm.weight "dn" : tensor<3x8x5xf32>
  %y = tfm.moe %x, %w, %gu, %dn top_k 2 act silu
      : (tensor<4x8xf32>, tensor<4x3xf32>, tensor<3x10x8xf32>, tensor<3x8x5xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
func.func @moe_stored_weights(%x: tensor<4x8xf32>, %w: tensor<4x3xf32>) -> tensor<4x8xf32> {
  %gu = tfm.weight "gu" : tensor<3x10x8xf32>
  %dn = tfm.weight "dn" : tensor<3x8x5xf32>
  %y = tfm.moe %x, %w, %gu, %dn top_k 2 act silu
      : (tensor<4x8xf32>, tensor<4x3xf32>, tensor<3x10x8xf32>, tensor<3x8x5xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
