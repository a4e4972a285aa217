// RUN: tfmc-opt %s -split-input-file -canonicalize | FileCheck %s

// CHECK-LABEL: func.func @transpose_of_transpose_cancels
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK-NOT: tfm.transpose
// CHECK: return %[[X]]
func.func @transpose_of_transpose_cancels(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %0 = tfm.transpose %x [0, 2, 1] : tensor<2x3x4xf32> -> tensor<2x4x3xf32>
  %1 = tfm.transpose %0 [0, 2, 1] : tensor<2x4x3xf32> -> tensor<2x3x4xf32>
  return %1 : tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @transpose_of_transpose_composes
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK: %[[T:.+]] = tfm.transpose %[[X]] [1, 2, 0] : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
// CHECK-NOT: tfm.transpose
// CHECK: return %[[T]]
func.func @transpose_of_transpose_composes(%x: tensor<2x3x4xf32>) -> tensor<3x4x2xf32> {
  %0 = tfm.transpose %x [1, 0, 2] : tensor<2x3x4xf32> -> tensor<3x2x4xf32>
  %1 = tfm.transpose %0 [0, 2, 1] : tensor<3x2x4xf32> -> tensor<3x4x2xf32>
  return %1 : tensor<3x4x2xf32>
}

// -----

// CHECK-LABEL: func.func @identity_transpose
// CHECK-NOT: tfm.transpose
func.func @identity_transpose(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = tfm.transpose %x [0, 1] : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// A single transpose is kept.
// CHECK-LABEL: func.func @single_transpose_kept
// CHECK: tfm.transpose %{{.*}} [1, 0]
func.func @single_transpose_kept(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %0 = tfm.transpose %x [1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_chain
// CHECK-SAME: (%[[X:.+]]: tensor<2x37x96xf32>)
// CHECK: %[[R:.+]] = tfm.reshape %[[X]] : tensor<2x37x96xf32> -> tensor<74x3x32xf32>
// CHECK-NOT: tfm.reshape
// CHECK: return %[[R]]
func.func @reshape_chain(%x: tensor<2x37x96xf32>) -> tensor<74x3x32xf32> {
  %0 = tfm.reshape %x : tensor<2x37x96xf32> -> tensor<2x37x3x32xf32>
  %1 = tfm.reshape %0 : tensor<2x37x3x32xf32> -> tensor<74x3x32xf32>
  return %1 : tensor<74x3x32xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_round_trip
// CHECK-SAME: (%[[X:.+]]: tensor<2x37x96xf32>)
// CHECK-NOT: tfm.reshape
// CHECK: return %[[X]]
func.func @reshape_round_trip(%x: tensor<2x37x96xf32>) -> tensor<2x37x96xf32> {
  %0 = tfm.reshape %x : tensor<2x37x96xf32> -> tensor<2x37x3x32xf32>
  %1 = tfm.reshape %0 : tensor<2x37x3x32xf32> -> tensor<2x37x96xf32>
  return %1 : tensor<2x37x96xf32>
}


// -----

// CHECK-LABEL: func.func @reshape_splat_constant
// CHECK: %[[C:.+]] = tfm.constant dense<2.000000e+00> : tensor<3x2xf32>
// CHECK: return %[[C]]
func.func @reshape_splat_constant() -> tensor<3x2xf32> {
  %c = tfm.constant dense<2.0> : tensor<6xf32>
  %0 = tfm.reshape %c : tensor<6xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// A reshape between different shapes stays.
// CHECK-LABEL: func.func @reshape_kept
// CHECK: tfm.reshape
func.func @reshape_kept(%x: tensor<2x37x96xf32>) -> tensor<2x37x3x32xf32> {
  %0 = tfm.reshape %x : tensor<2x37x96xf32> -> tensor<2x37x3x32xf32>
  return %0 : tensor<2x37x3x32xf32>
}

// -----

// CHECK-LABEL: func.func @scale_by_one
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK-NOT: tfm.scale
// CHECK: return %[[X]]
func.func @scale_by_one(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = tfm.scale %x by 1.0 : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @scale_of_scale
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK: %[[S:.+]] = tfm.scale %[[X]] by 1.250000e-01 : tensor<4xf32>
// CHECK-NOT: tfm.scale
// CHECK: return %[[S]]
func.func @scale_of_scale(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = tfm.scale %x by 0.25 : tensor<4xf32>
  %1 = tfm.scale %0 by 0.5 : tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @scale_not_one_kept
// CHECK: tfm.scale %{{.*}} by 2.000000e+00
func.func @scale_not_one_kept(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = tfm.scale %x by 2.0 : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @add_zero
// CHECK-SAME: (%[[X:.+]]: tensor<2x4xf32>)
// CHECK-NOT: tfm.add
// CHECK: return %[[X]], %[[X]]
func.func @add_zero(%x: tensor<2x4xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %z = tfm.constant dense<0.0> : tensor<4xf32>
  %0 = tfm.add %x, %z : tensor<2x4xf32>, tensor<4xf32>
  %1 = tfm.add %z, %x : tensor<4xf32>, tensor<2x4xf32>
  return %0, %1 : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// Adding zero that broadcasts x to a larger shape is not an identity.
// CHECK-LABEL: func.func @add_zero_broadcasting_kept
// CHECK: tfm.add
func.func @add_zero_broadcasting_kept(%x: tensor<4xf32>) -> tensor<2x4xf32> {
  %z = tfm.constant dense<0.0> : tensor<2x4xf32>
  %0 = tfm.add %x, %z : tensor<4xf32>, tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// CHECK-LABEL: func.func @add_nonzero_kept
// CHECK: tfm.add
func.func @add_nonzero_kept(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c = tfm.constant dense<1.0> : tensor<f32>
  %0 = tfm.add %x, %c : tensor<4xf32>, tensor<f32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @sub_mul_div_identities
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK-NOT: tfm.sub
// CHECK-NOT: tfm.mul
// CHECK-NOT: tfm.div
// CHECK: return %[[X]]
func.func @sub_mul_div_identities(%x: tensor<4xf32>) -> tensor<4xf32> {
  %z = tfm.constant dense<0.0> : tensor<f32>
  %o = tfm.constant dense<1.0> : tensor<f32>
  %0 = tfm.sub %x, %z : tensor<4xf32>, tensor<f32>
  %1 = tfm.mul %o, %0 : tensor<f32>, tensor<4xf32>
  %2 = tfm.div %1, %o : tensor<4xf32>, tensor<f32>
  return %2 : tensor<4xf32>
}

// -----

// 0 - x and 1 / x are not identities.
// CHECK-LABEL: func.func @non_identities_kept
// CHECK: tfm.sub
// CHECK: tfm.div
func.func @non_identities_kept(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %z = tfm.constant dense<0.0> : tensor<f32>
  %o = tfm.constant dense<1.0> : tensor<f32>
  %0 = tfm.sub %z, %x : tensor<f32>, tensor<4xf32>
  %1 = tfm.div %o, %x : tensor<f32>, tensor<4xf32>
  return %0, %1 : tensor<4xf32>, tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @concat_and_slice_identities
// CHECK-SAME: (%[[X:.+]]: tensor<2x4xf32>)
// CHECK-NOT: tfm.concat
// CHECK-NOT: tfm.slice
// CHECK: return %[[X]]
func.func @concat_and_slice_identities(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %0 = tfm.concat %x axis 1 : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %1 = tfm.slice %0 axis 1 [0 : 4] : tensor<2x4xf32> -> tensor<2x4xf32>
  return %1 : tensor<2x4xf32>
}

// -----

// CHECK-LABEL: func.func @partial_slice_kept
// CHECK: tfm.slice %{{.*}} axis 1 [1 : 4]
func.func @partial_slice_kept(%x: tensor<2x4xf32>) -> tensor<2x3xf32> {
  %0 = tfm.slice %x axis 1 [1 : 4] : tensor<2x4xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
