// RUN: tfmc-opt %s -split-input-file -tfm-recompose-norm | FileCheck %s
// RUN: tfmc-opt %s -split-input-file -tfm-recompose-norm=remarks=true -verify-diagnostics -o /dev/null

// The form tfm-decompose and PyTorch produce: two-pass variance, division.
// CHECK-LABEL: func.func @layer_norm_div
// CHECK-SAME: (%[[X:.+]]: tensor<2x5x8xf32>, %[[G:.+]]: tensor<8xf32>, %[[B:.+]]: tensor<8xf32>)
// CHECK-NEXT: %[[Y:.+]] = tfm.layer_norm %[[X]] scale %[[G]] bias %[[B]] axis 2 eps 9.9999997473787516E-6
// CHECK-NEXT: return %[[Y]]
func.func @layer_norm_div(%x: tensor<2x5x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x5x8xf32> {
  %eps = tfm.constant dense<1.0e-5> : tensor<f32>
  %mean = tfm.reduce_mean %x [2] keep_dims : tensor<2x5x8xf32> -> tensor<2x5x1xf32>
  %c = tfm.sub %x, %mean : tensor<2x5x8xf32>, tensor<2x5x1xf32>
  %sq = tfm.mul %c, %c : tensor<2x5x8xf32>, tensor<2x5x8xf32>
  %var = tfm.reduce_mean %sq [2] keep_dims : tensor<2x5x8xf32> -> tensor<2x5x1xf32>
  %ve = tfm.add %var, %eps : tensor<2x5x1xf32>, tensor<f32>
  %sd = tfm.sqrt %ve : tensor<2x5x1xf32>
  // expected-remark @below {{fused into tfm.layer_norm}}
  %n = tfm.div %c, %sd : tensor<2x5x8xf32>, tensor<2x5x1xf32>
  %s = tfm.mul %n, %g : tensor<2x5x8xf32>, tensor<8xf32>
  %y = tfm.add %s, %b : tensor<2x5x8xf32>, tensor<8xf32>
  return %y : tensor<2x5x8xf32>
}

// -----

// rsqrt, pow(c, 2), the scale on the left and the bias on the left.
// CHECK-LABEL: func.func @layer_norm_rsqrt_pow
// CHECK-SAME: (%[[X:.+]]: tensor<4x6xf32>, %[[G:.+]]: tensor<6xf32>, %[[B:.+]]: tensor<6xf32>)
// CHECK-NEXT: tfm.layer_norm %[[X]] scale %[[G]] bias %[[B]] axis 1 eps 0.0010000000474974513
func.func @layer_norm_rsqrt_pow(%x: tensor<4x6xf32>, %g: tensor<6xf32>, %b: tensor<6xf32>) -> tensor<4x6xf32> {
  %two = tfm.constant dense<2.0> : tensor<f32>
  %eps = tfm.constant dense<0.0010000000474974513> : tensor<f32>
  %mean = tfm.reduce_mean %x [1] keep_dims : tensor<4x6xf32> -> tensor<4x1xf32>
  %c = tfm.sub %x, %mean : tensor<4x6xf32>, tensor<4x1xf32>
  %sq = tfm.pow %c, %two : tensor<4x6xf32>, tensor<f32>
  %var = tfm.reduce_mean %sq [1] keep_dims : tensor<4x6xf32> -> tensor<4x1xf32>
  %ve = tfm.add %eps, %var : tensor<f32>, tensor<4x1xf32>
  %r = tfm.rsqrt %ve : tensor<4x1xf32>
  // expected-remark @below {{fused into tfm.layer_norm}}
  %n = tfm.mul %r, %c : tensor<4x1xf32>, tensor<4x6xf32>
  %s = tfm.mul %g, %n : tensor<6xf32>, tensor<4x6xf32>
  %y = tfm.add %b, %s : tensor<6xf32>, tensor<4x6xf32>
  return %y : tensor<4x6xf32>
}

// -----

// ONNX test_layer_normalization_3d_axis1_epsilon_expanded (libonnx-testdata),
// converted by hand (Cast ops to float dropped, shape computations folded):
// flattened to 2D, one-pass variance mean(x^2) - mean(x)^2, [1, N] scale and
// bias, reshaped back.
// CHECK-LABEL: func.func @onnx_layer_normalization_3d_axis1_epsilon
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x5xf32>, %[[W:.+]]: tensor<3x5xf32>, %[[B:.+]]: tensor<3x5xf32>)
// CHECK: %[[X2:.+]] = tfm.reshape %[[X]] : tensor<2x3x5xf32> -> tensor<2x15xf32>
// The [1, 15] parameters are reshaped to the normalised shape (the reshape
// chains fold).
// CHECK: %[[WN:.+]] = tfm.reshape %[[W]] : tensor<3x5xf32> -> tensor<15xf32>
// CHECK: %[[BN:.+]] = tfm.reshape %[[B]] : tensor<3x5xf32> -> tensor<15xf32>
// CHECK: %[[Y2:.+]] = tfm.layer_norm %[[X2]] scale %[[WN]] bias %[[BN]] axis 1 eps 0.10000000149011612
// CHECK: tfm.reshape %[[Y2]] : tensor<2x15xf32> -> tensor<2x3x5xf32>
func.func @onnx_layer_normalization_3d_axis1_epsilon(%X: tensor<2x3x5xf32>, %W: tensor<3x5xf32>, %B: tensor<3x5xf32>) -> tensor<2x3x5xf32> {
  %Epsilon = tfm.constant dense<0.1> : tensor<f32>
  %X2D = tfm.reshape %X : tensor<2x3x5xf32> -> tensor<2x15xf32>
  %Mean2D = tfm.reduce_mean %X2D [1] keep_dims : tensor<2x15xf32> -> tensor<2x1xf32>
  %Square = tfm.mul %X2D, %X2D : tensor<2x15xf32>, tensor<2x15xf32>
  %MeanOfSquare = tfm.reduce_mean %Square [1] keep_dims : tensor<2x15xf32> -> tensor<2x1xf32>
  %SquareOfMean = tfm.mul %Mean2D, %Mean2D : tensor<2x1xf32>, tensor<2x1xf32>
  %Var = tfm.sub %MeanOfSquare, %SquareOfMean : tensor<2x1xf32>, tensor<2x1xf32>
  %VarPlusEpsilon = tfm.add %Var, %Epsilon : tensor<2x1xf32>, tensor<f32>
  %StdDev = tfm.sqrt %VarPlusEpsilon : tensor<2x1xf32>
  %Deviation = tfm.sub %X2D, %Mean2D : tensor<2x15xf32>, tensor<2x1xf32>
  // expected-remark @below {{fused into tfm.layer_norm}}
  %Normalized = tfm.div %Deviation, %StdDev : tensor<2x15xf32>, tensor<2x1xf32>
  %Scale2D = tfm.reshape %W : tensor<3x5xf32> -> tensor<1x15xf32>
  %Scaled = tfm.mul %Normalized, %Scale2D : tensor<2x15xf32>, tensor<1x15xf32>
  %B2D = tfm.reshape %B : tensor<3x5xf32> -> tensor<1x15xf32>
  %Biased = tfm.add %Scaled, %B2D : tensor<2x15xf32>, tensor<1x15xf32>
  %Y = tfm.reshape %Biased : tensor<2x15xf32> -> tensor<2x3x5xf32>
  return %Y : tensor<2x3x5xf32>
}

// -----

// ONNX's graph also returns InvStdDev = Reciprocal(StdDev) (a training
// output); with that output kept the standard deviation has another use.
// CHECK-LABEL: func.func @onnx_with_inv_std_dev_output
// CHECK-NOT: tfm.layer_norm
func.func @onnx_with_inv_std_dev_output(%X2D: tensor<2x15xf32>) -> (tensor<2x15xf32>, tensor<2x1xf32>) {
  %one = tfm.constant dense<1.0> : tensor<f32>
  %Epsilon = tfm.constant dense<0.1> : tensor<f32>
  %Mean2D = tfm.reduce_mean %X2D [1] keep_dims : tensor<2x15xf32> -> tensor<2x1xf32>
  %Square = tfm.mul %X2D, %X2D : tensor<2x15xf32>, tensor<2x15xf32>
  %MeanOfSquare = tfm.reduce_mean %Square [1] keep_dims : tensor<2x15xf32> -> tensor<2x1xf32>
  %SquareOfMean = tfm.mul %Mean2D, %Mean2D : tensor<2x1xf32>, tensor<2x1xf32>
  %Var = tfm.sub %MeanOfSquare, %SquareOfMean : tensor<2x1xf32>, tensor<2x1xf32>
  %VarPlusEpsilon = tfm.add %Var, %Epsilon : tensor<2x1xf32>, tensor<f32>
  %StdDev = tfm.sqrt %VarPlusEpsilon : tensor<2x1xf32>
  %Deviation = tfm.sub %X2D, %Mean2D : tensor<2x15xf32>, tensor<2x1xf32>
  // expected-remark @below {{not fused into tfm.layer_norm/tfm.rms_norm: the intermediate 'tfm.sqrt' has another use}}
  %Normalized = tfm.div %Deviation, %StdDev : tensor<2x15xf32>, tensor<2x1xf32>
  %InvStdDev = tfm.div %one, %StdDev : tensor<f32>, tensor<2x1xf32>
  return %Normalized, %InvStdDev : tensor<2x15xf32>, tensor<2x1xf32>
}

// -----

// ONNX's Reciprocal form of the normalisation: c * (1 / sqrt(var + eps)),
// over the two trailing axes, no affine parameters.
// CHECK-LABEL: func.func @reciprocal_two_axes
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK-NEXT: tfm.layer_norm %[[X]] axis 1 eps 9.9999997473787516E-6 : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
func.func @reciprocal_two_axes(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %one = tfm.constant dense<1.0> : tensor<f32>
  %eps = tfm.constant dense<1.0e-5> : tensor<f32>
  %mean = tfm.reduce_mean %x [1, 2] keep_dims : tensor<2x3x4xf32> -> tensor<2x1x1xf32>
  %c = tfm.sub %x, %mean : tensor<2x3x4xf32>, tensor<2x1x1xf32>
  %sq = tfm.mul %c, %c : tensor<2x3x4xf32>, tensor<2x3x4xf32>
  %var = tfm.reduce_mean %sq [1, 2] keep_dims : tensor<2x3x4xf32> -> tensor<2x1x1xf32>
  %ve = tfm.add %var, %eps : tensor<2x1x1xf32>, tensor<f32>
  %sd = tfm.sqrt %ve : tensor<2x1x1xf32>
  %inv = tfm.div %one, %sd : tensor<f32>, tensor<2x1x1xf32>
  // expected-remark @below {{fused into tfm.layer_norm}}
  %n = tfm.mul %c, %inv : tensor<2x3x4xf32>, tensor<2x1x1xf32>
  return %n : tensor<2x3x4xf32>
}

// -----

// RMSNorm: x * rsqrt(mean(x * x) + eps) * scale; x also feeds a residual.
// CHECK-LABEL: func.func @rms_norm
// CHECK-SAME: (%[[X:.+]]: tensor<2x8xf32>, %[[G:.+]]: tensor<8xf32>)
// CHECK-NEXT: %[[Y:.+]] = tfm.rms_norm %[[X]] scale %[[G]] axis 1 eps 9.9999999747524271E-7
// CHECK-NEXT: %[[R:.+]] = tfm.add %[[Y]], %[[X]]
func.func @rms_norm(%x: tensor<2x8xf32>, %g: tensor<8xf32>) -> tensor<2x8xf32> {
  %eps = tfm.constant dense<1.0e-6> : tensor<f32>
  %sq = tfm.mul %x, %x : tensor<2x8xf32>, tensor<2x8xf32>
  %ms = tfm.reduce_mean %sq [1] keep_dims : tensor<2x8xf32> -> tensor<2x1xf32>
  %ve = tfm.add %ms, %eps : tensor<2x1xf32>, tensor<f32>
  %r = tfm.rsqrt %ve : tensor<2x1xf32>
  // expected-remark @below {{fused into tfm.rms_norm}}
  %n = tfm.mul %x, %r : tensor<2x8xf32>, tensor<2x1xf32>
  %y = tfm.mul %n, %g : tensor<2x8xf32>, tensor<8xf32>
  %res = tfm.add %y, %x : tensor<2x8xf32>, tensor<2x8xf32>
  return %res : tensor<2x8xf32>
}

// -----

// RMSNorm written as a division by sqrt(mean(x^2) + eps).
// CHECK-LABEL: func.func @rms_norm_div
// CHECK-NEXT: tfm.rms_norm %{{.+}} axis 1 eps
func.func @rms_norm_div(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %two = tfm.constant dense<2.0> : tensor<f32>
  %eps = tfm.constant dense<1.0e-6> : tensor<f32>
  %sq = tfm.pow %x, %two : tensor<2x8xf32>, tensor<f32>
  %ms = tfm.reduce_mean %sq [1] keep_dims : tensor<2x8xf32> -> tensor<2x1xf32>
  %ve = tfm.add %ms, %eps : tensor<2x1xf32>, tensor<f32>
  %sd = tfm.sqrt %ve : tensor<2x1xf32>
  // expected-remark @below {{fused into tfm.rms_norm}}
  %n = tfm.div %x, %sd : tensor<2x8xf32>, tensor<2x1xf32>
  return %n : tensor<2x8xf32>
}

// -----

// Negative: statistics over a leading axis are not a layer norm.
// CHECK-LABEL: func.func @leading_axis
// CHECK-NOT: tfm.layer_norm
// CHECK-NOT: tfm.rms_norm
func.func @leading_axis(%x: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %eps = tfm.constant dense<1.0e-5> : tensor<f32>
  %mean = tfm.reduce_mean %x [0] keep_dims : tensor<4x6xf32> -> tensor<1x6xf32>
  %c = tfm.sub %x, %mean : tensor<4x6xf32>, tensor<1x6xf32>
  %sq = tfm.mul %c, %c : tensor<4x6xf32>, tensor<4x6xf32>
  %var = tfm.reduce_mean %sq [0] keep_dims : tensor<4x6xf32> -> tensor<1x6xf32>
  %ve = tfm.add %var, %eps : tensor<1x6xf32>, tensor<f32>
  %sd = tfm.sqrt %ve : tensor<1x6xf32>
  // expected-remark @below {{not fused into tfm.layer_norm/tfm.rms_norm: the statistics are not taken over trailing axes}}
  %n = tfm.div %c, %sd : tensor<4x6xf32>, tensor<1x6xf32>
  return %n : tensor<4x6xf32>
}

// -----

// Negative: the centred value is also returned.
// CHECK-LABEL: func.func @centred_multi_use
// CHECK-NOT: tfm.layer_norm
func.func @centred_multi_use(%x: tensor<4x6xf32>) -> (tensor<4x6xf32>, tensor<4x6xf32>) {
  %eps = tfm.constant dense<1.0e-5> : tensor<f32>
  %mean = tfm.reduce_mean %x [1] keep_dims : tensor<4x6xf32> -> tensor<4x1xf32>
  %c = tfm.sub %x, %mean : tensor<4x6xf32>, tensor<4x1xf32>
  %sq = tfm.mul %c, %c : tensor<4x6xf32>, tensor<4x6xf32>
  %var = tfm.reduce_mean %sq [1] keep_dims : tensor<4x6xf32> -> tensor<4x1xf32>
  %ve = tfm.add %var, %eps : tensor<4x1xf32>, tensor<f32>
  %sd = tfm.sqrt %ve : tensor<4x1xf32>
  // expected-remark @below {{not fused into tfm.layer_norm/tfm.rms_norm: x - mean(x) has another use}}
  %n = tfm.div %c, %sd : tensor<4x6xf32>, tensor<4x1xf32>
  return %n, %c : tensor<4x6xf32>, tensor<4x6xf32>
}

// -----

// Negative: the mean and the variance are taken over different axes.
// CHECK-LABEL: func.func @mismatched_axes
// CHECK-NOT: tfm.layer_norm
func.func @mismatched_axes(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %eps = tfm.constant dense<1.0e-5> : tensor<f32>
  %mean = tfm.reduce_mean %x [1, 2] keep_dims : tensor<2x3x4xf32> -> tensor<2x1x1xf32>
  %c = tfm.sub %x, %mean : tensor<2x3x4xf32>, tensor<2x1x1xf32>
  %sq = tfm.mul %c, %c : tensor<2x3x4xf32>, tensor<2x3x4xf32>
  %var = tfm.reduce_mean %sq [2] keep_dims : tensor<2x3x4xf32> -> tensor<2x3x1xf32>
  %ve = tfm.add %var, %eps : tensor<2x3x1xf32>, tensor<f32>
  %sd = tfm.sqrt %ve : tensor<2x3x1xf32>
  // expected-remark @below {{not fused into tfm.layer_norm/tfm.rms_norm: the mean and the variance use different axes}}
  %n = tfm.div %c, %sd : tensor<2x3x4xf32>, tensor<2x3x1xf32>
  return %n : tensor<2x3x4xf32>
}

// -----

// Negative: the statistics are not a mean of squares.
// CHECK-LABEL: func.func @not_a_variance
// CHECK-NOT: tfm.layer_norm
func.func @not_a_variance(%x: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %eps = tfm.constant dense<1.0e-5> : tensor<f32>
  %m = tfm.reduce_max %x [1] keep_dims : tensor<4x6xf32> -> tensor<4x1xf32>
  %ve = tfm.add %m, %eps : tensor<4x1xf32>, tensor<f32>
  %sd = tfm.sqrt %ve : tensor<4x1xf32>
  // expected-remark @below {{not fused into tfm.layer_norm/tfm.rms_norm: the statistics are not a mean of squares}}
  %n = tfm.div %x, %sd : tensor<4x6xf32>, tensor<4x1xf32>
  return %n : tensor<4x6xf32>
}

// -----

// A scale that is not of the normalised shape is left as a separate product.
// CHECK-LABEL: func.func @scale_not_absorbed
// CHECK: %[[N:.+]] = tfm.layer_norm %{{.+}} axis 1 eps
// CHECK: tfm.mul %[[N]], %{{.+}} : tensor<4x6xf32>, tensor<4x6xf32>
func.func @scale_not_absorbed(%x: tensor<4x6xf32>, %g: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %eps = tfm.constant dense<1.0e-5> : tensor<f32>
  %mean = tfm.reduce_mean %x [1] keep_dims : tensor<4x6xf32> -> tensor<4x1xf32>
  %c = tfm.sub %x, %mean : tensor<4x6xf32>, tensor<4x1xf32>
  %sq = tfm.mul %c, %c : tensor<4x6xf32>, tensor<4x6xf32>
  %var = tfm.reduce_mean %sq [1] keep_dims : tensor<4x6xf32> -> tensor<4x1xf32>
  %ve = tfm.add %var, %eps : tensor<4x1xf32>, tensor<f32>
  %sd = tfm.sqrt %ve : tensor<4x1xf32>
  // expected-remark @below {{fused into tfm.layer_norm}}
  %n = tfm.div %c, %sd : tensor<4x6xf32>, tensor<4x1xf32>
  %y = tfm.mul %n, %g : tensor<4x6xf32>, tensor<4x6xf32>
  return %y : tensor<4x6xf32>
}
