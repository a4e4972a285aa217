// RUN: tfmc-opt %s -split-input-file -tfm-recompose-softmax | FileCheck %s
// RUN: tfmc-opt %s -split-input-file -tfm-recompose-softmax=remarks=true -verify-diagnostics -o /dev/null

// CHECK-LABEL: func.func @stable
// CHECK-SAME: (%[[X:.+]]: tensor<4x8xf32>)
// CHECK-NEXT: %[[S:.+]] = tfm.softmax %[[X]] axis 1 : tensor<4x8xf32>
// CHECK-NEXT: return %[[S]]
func.func @stable(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %m = tfm.reduce_max %x [1] keep_dims : tensor<4x8xf32> -> tensor<4x1xf32>
  %d = tfm.sub %x, %m : tensor<4x8xf32>, tensor<4x1xf32>
  %e = tfm.exp %d : tensor<4x8xf32>
  %s = tfm.reduce_sum %e [1] keep_dims : tensor<4x8xf32> -> tensor<4x1xf32>
  // expected-remark @below {{fused into tfm.softmax}}
  %y = tfm.div %e, %s : tensor<4x8xf32>, tensor<4x1xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Without the maximum subtraction the result is the same mathematically; the
// recomposed op is the numerically stable softmax.
// CHECK-LABEL: func.func @unstable
// CHECK-NEXT: tfm.softmax %{{.+}} axis 0 : tensor<5x3xf32>
func.func @unstable(%x: tensor<5x3xf32>) -> tensor<5x3xf32> {
  %e = tfm.exp %x : tensor<5x3xf32>
  %s = tfm.reduce_sum %e [0] keep_dims : tensor<5x3xf32> -> tensor<1x3xf32>
  // expected-remark @below {{fused into tfm.softmax}}
  %y = tfm.div %e, %s : tensor<5x3xf32>, tensor<1x3xf32>
  return %y : tensor<5x3xf32>
}

// -----

// Multiplication by the reciprocal of the sum, as some exporters write it.
// CHECK-LABEL: func.func @reciprocal
// CHECK-NEXT: tfm.softmax %{{.+}} axis 3 : tensor<1x2x3x4xf32>
func.func @reciprocal(%x: tensor<1x2x3x4xf32>) -> tensor<1x2x3x4xf32> {
  %one = tfm.constant dense<1.0> : tensor<f32>
  %m = tfm.reduce_max %x [3] keep_dims : tensor<1x2x3x4xf32> -> tensor<1x2x3x1xf32>
  %d = tfm.sub %x, %m : tensor<1x2x3x4xf32>, tensor<1x2x3x1xf32>
  %e = tfm.exp %d : tensor<1x2x3x4xf32>
  %s = tfm.reduce_sum %e [3] keep_dims : tensor<1x2x3x4xf32> -> tensor<1x2x3x1xf32>
  %r = tfm.div %one, %s : tensor<f32>, tensor<1x2x3x1xf32>
  // expected-remark @below {{fused into tfm.softmax}}
  %y = tfm.mul %r, %e : tensor<1x2x3x1xf32>, tensor<1x2x3x4xf32>
  return %y : tensor<1x2x3x4xf32>
}

// -----

// Negative: the maximum is taken over another axis than the sum.
// CHECK-LABEL: func.func @max_wrong_axis
// CHECK-NOT: tfm.softmax
func.func @max_wrong_axis(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %m = tfm.reduce_max %x [0] keep_dims : tensor<4x8xf32> -> tensor<1x8xf32>
  %d = tfm.sub %x, %m : tensor<4x8xf32>, tensor<1x8xf32>
  %e = tfm.exp %d : tensor<4x8xf32>
  %s = tfm.reduce_sum %e [1] keep_dims : tensor<4x8xf32> -> tensor<4x1xf32>
  // expected-remark @below {{not fused into tfm.softmax: the maximum is not taken over the softmax axis}}
  %y = tfm.div %e, %s : tensor<4x8xf32>, tensor<4x1xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Negative: the exponentials are also returned.
// CHECK-LABEL: func.func @exp_multi_use
// CHECK-NOT: tfm.softmax
func.func @exp_multi_use(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %e = tfm.exp %x : tensor<4x8xf32>
  %s = tfm.reduce_sum %e [1] keep_dims : tensor<4x8xf32> -> tensor<4x1xf32>
  // expected-remark @below {{not fused into tfm.softmax: the exponentials have another use}}
  %y = tfm.div %e, %s : tensor<4x8xf32>, tensor<4x1xf32>
  return %y, %e : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Negative: the sum has another use.
// CHECK-LABEL: func.func @sum_multi_use
// CHECK-NOT: tfm.softmax
func.func @sum_multi_use(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x1xf32>) {
  %e = tfm.exp %x : tensor<4x8xf32>
  %s = tfm.reduce_sum %e [1] keep_dims : tensor<4x8xf32> -> tensor<4x1xf32>
  // expected-remark @below {{not fused into tfm.softmax: the sum has another use}}
  %y = tfm.div %e, %s : tensor<4x8xf32>, tensor<4x1xf32>
  return %y, %s : tensor<4x8xf32>, tensor<4x1xf32>
}

// -----

// Negative: a normalisation over two axes is not a softmax.
// CHECK-LABEL: func.func @two_axes
// CHECK-NOT: tfm.softmax
func.func @two_axes(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tfm.exp %x : tensor<4x8xf32>
  %s = tfm.reduce_sum %e [0, 1] keep_dims : tensor<4x8xf32> -> tensor<1x1xf32>
  // expected-remark @below {{not fused into tfm.softmax: the sum reduces more than one axis}}
  %y = tfm.div %e, %s : tensor<4x8xf32>, tensor<1x1xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Negative: dividing by something other than the sum of the exponentials.
// CHECK-LABEL: func.func @other_denominator
// CHECK-NOT: tfm.softmax
func.func @other_denominator(%x: tensor<4x8xf32>, %d: tensor<4x1xf32>) -> tensor<4x8xf32> {
  %e = tfm.exp %x : tensor<4x8xf32>
  // expected-remark @below {{not fused into tfm.softmax: the denominator is not the sum of the exponentials}}
  %y = tfm.div %e, %d : tensor<4x8xf32>, tensor<4x1xf32>
  return %y : tensor<4x8xf32>
}

// -----

// Negative: a sum without keep_dims (followed by a reshape) is refused.
// CHECK-LABEL: func.func @no_keep_dims
// CHECK-NOT: tfm.softmax
func.func @no_keep_dims(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %e = tfm.exp %x : tensor<4x8xf32>
  %s = tfm.reduce_sum %e [0] : tensor<4x8xf32> -> tensor<8xf32>
  // expected-remark @below {{not fused into tfm.softmax: the sum does not keep the reduced dimension}}
  %y = tfm.div %e, %s : tensor<4x8xf32>, tensor<8xf32>
  return %y : tensor<4x8xf32>
}
