// RUN: tfmc-opt %s -split-input-file -tfm-recompose-activations | FileCheck %s
// RUN: tfmc-opt %s -split-input-file -tfm-recompose-activations=remarks=true -verify-diagnostics -o /dev/null

// tfm-decompose's form: 0.5 * (x * (1 + erf(x * 1/sqrt(2)))).
// CHECK-LABEL: func.func @gelu_erf_decomposed
// CHECK-SAME: (%[[X:.+]]: tensor<8xf32>)
// CHECK-NEXT: %[[G:.+]] = tfm.gelu %[[X]] : tensor<8xf32>
// CHECK-NEXT: return %[[G]]
func.func @gelu_erf_decomposed(%x: tensor<8xf32>) -> tensor<8xf32> {
  %one = tfm.constant dense<1.0> : tensor<f32>
  %s = tfm.scale %x by 0.70710678118654757 : tensor<8xf32>
  %e = tfm.erf %s : tensor<8xf32>
  %a = tfm.add %e, %one : tensor<8xf32>, tensor<f32>
  %m = tfm.mul %x, %a : tensor<8xf32>, tensor<8xf32>
  // expected-remark @below {{fused into tfm.gelu}}
  %y = tfm.scale %m by 0.5 : tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// The ONNX/PyTorch export form: Div(x, sqrt(2)), Erf, Add 1, Mul x, Mul 0.5.
// CHECK-LABEL: func.func @gelu_erf_onnx
// CHECK-NEXT: tfm.gelu %{{.+}} : tensor<2x4xf32>
func.func @gelu_erf_onnx(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %sqrt2 = tfm.constant dense<1.41421354> : tensor<f32>
  %one = tfm.constant dense<1.0> : tensor<f32>
  %half = tfm.constant dense<0.5> : tensor<f32>
  %d = tfm.div %x, %sqrt2 : tensor<2x4xf32>, tensor<f32>
  %e = tfm.erf %d : tensor<2x4xf32>
  %a = tfm.add %one, %e : tensor<f32>, tensor<2x4xf32>
  %m = tfm.mul %a, %x : tensor<2x4xf32>, tensor<2x4xf32>
  // expected-remark @below {{fused into tfm.gelu}}
  %y = tfm.mul %m, %half : tensor<2x4xf32>, tensor<f32>
  return %y : tensor<2x4xf32>
}

// -----

// GPT-2's gelu_new with pow(x, 3).
// CHECK-LABEL: func.func @gelu_tanh_pow
// CHECK-NEXT: tfm.gelu %{{.+}} approximate tanh : tensor<8xf32>
func.func @gelu_tanh_pow(%x: tensor<8xf32>) -> tensor<8xf32> {
  %three = tfm.constant dense<3.0> : tensor<f32>
  %one = tfm.constant dense<1.0> : tensor<f32>
  %c = tfm.pow %x, %three : tensor<8xf32>, tensor<f32>
  %k = tfm.scale %c by 0.044715 : tensor<8xf32>
  %p = tfm.add %x, %k : tensor<8xf32>, tensor<8xf32>
  %u = tfm.scale %p by 0.79788456080286541 : tensor<8xf32>
  %t = tfm.tanh %u : tensor<8xf32>
  %a = tfm.add %t, %one : tensor<8xf32>, tensor<f32>
  %h = tfm.scale %x by 0.5 : tensor<8xf32>
  // expected-remark @below {{fused into tfm.gelu}}
  %y = tfm.mul %h, %a : tensor<8xf32>, tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// The cube written as x * x * x.
// CHECK-LABEL: func.func @gelu_tanh_products
// CHECK-NEXT: tfm.gelu %{{.+}} approximate tanh
func.func @gelu_tanh_products(%x: tensor<8xf32>) -> tensor<8xf32> {
  %one = tfm.constant dense<1.0> : tensor<f32>
  %x2 = tfm.mul %x, %x : tensor<8xf32>, tensor<8xf32>
  %x3 = tfm.mul %x2, %x : tensor<8xf32>, tensor<8xf32>
  %k = tfm.scale %x3 by 0.044715 : tensor<8xf32>
  %p = tfm.add %k, %x : tensor<8xf32>, tensor<8xf32>
  %u = tfm.scale %p by 0.79788456080286541 : tensor<8xf32>
  %t = tfm.tanh %u : tensor<8xf32>
  %a = tfm.add %t, %one : tensor<8xf32>, tensor<f32>
  %m = tfm.mul %x, %a : tensor<8xf32>, tensor<8xf32>
  // expected-remark @below {{fused into tfm.gelu}}
  %y = tfm.scale %m by 0.5 : tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// CHECK-LABEL: func.func @silu
// CHECK-SAME: (%[[X:.+]]: tensor<8xf32>)
// CHECK-NEXT: %[[S:.+]] = tfm.silu %[[X]]
func.func @silu(%x: tensor<8xf32>) -> tensor<8xf32> {
  %s = tfm.sigmoid %x : tensor<8xf32>
  // expected-remark @below {{fused into tfm.silu}}
  %y = tfm.mul %s, %x : tensor<8xf32>, tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// Negative: 0.6 is not GELU's constant.
// CHECK-LABEL: func.func @wrong_half
// CHECK-NOT: tfm.gelu
func.func @wrong_half(%x: tensor<8xf32>) -> tensor<8xf32> {
  %one = tfm.constant dense<1.0> : tensor<f32>
  %s = tfm.scale %x by 0.70710678118654757 : tensor<8xf32>
  %e = tfm.erf %s : tensor<8xf32>
  %a = tfm.add %e, %one : tensor<8xf32>, tensor<f32>
  %m = tfm.mul %x, %a : tensor<8xf32>, tensor<8xf32>
  // expected-remark @below {{not fused into tfm.gelu: the constant factor is 0.6, not 0.5}}
  %y = tfm.scale %m by 0.6 : tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// Negative: the erf argument is x * 0.5.
// CHECK-LABEL: func.func @wrong_erf_argument
// CHECK-NOT: tfm.gelu
func.func @wrong_erf_argument(%x: tensor<8xf32>) -> tensor<8xf32> {
  %one = tfm.constant dense<1.0> : tensor<f32>
  %s = tfm.scale %x by 0.5 : tensor<8xf32>
  %e = tfm.erf %s : tensor<8xf32>
  %a = tfm.add %e, %one : tensor<8xf32>, tensor<f32>
  %m = tfm.mul %x, %a : tensor<8xf32>, tensor<8xf32>
  // expected-remark @below {{not fused into tfm.gelu: the erf argument is x * 0.5, not x / sqrt(2)}}
  %y = tfm.scale %m by 0.5 : tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// Negative: the tanh argument misses the cubic term.
// CHECK-LABEL: func.func @tanh_without_cube
// CHECK-NOT: tfm.gelu
func.func @tanh_without_cube(%x: tensor<8xf32>) -> tensor<8xf32> {
  %one = tfm.constant dense<1.0> : tensor<f32>
  %u = tfm.scale %x by 0.79788456080286541 : tensor<8xf32>
  %t = tfm.tanh %u : tensor<8xf32>
  %a = tfm.add %t, %one : tensor<8xf32>, tensor<f32>
  %m = tfm.mul %x, %a : tensor<8xf32>, tensor<8xf32>
  // expected-remark @below {{not fused into tfm.gelu: the tanh argument is not sqrt(2/pi) * (x + 0.044715 * x^3)}}
  %y = tfm.scale %m by 0.5 : tensor<8xf32>
  return %y : tensor<8xf32>
}

// -----

// Negative: the sigmoid is also returned, so x * sigmoid(x) stays.
// CHECK-LABEL: func.func @sigmoid_multi_use
// CHECK-NOT: tfm.silu
func.func @sigmoid_multi_use(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %s = tfm.sigmoid %x : tensor<8xf32>
  // expected-remark @below {{not fused into tfm.silu: the sigmoid has another use}}
  %y = tfm.mul %x, %s : tensor<8xf32>, tensor<8xf32>
  return %y, %s : tensor<8xf32>, tensor<8xf32>
}

// -----

// A product of x and the sigmoid of something else is not SiLU.
// CHECK-LABEL: func.func @gated
// CHECK-NOT: tfm.silu
func.func @gated(%x: tensor<8xf32>, %g: tensor<8xf32>) -> tensor<8xf32> {
  %s = tfm.sigmoid %g : tensor<8xf32>
  %y = tfm.mul %x, %s : tensor<8xf32>, tensor<8xf32>
  return %y : tensor<8xf32>
}
