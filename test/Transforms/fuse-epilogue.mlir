// RUN: tfmc-opt %s -split-input-file -tfm-fuse-epilogue | FileCheck %s
// RUN: tfmc-opt %s -split-input-file -tfm-fuse-epilogue=remarks=true -verify-diagnostics -o /dev/null

// linear + bias + erf GELU: the activation becomes the epilogue region, built
// from tfm.gelu's per-element semantics.
// CHECK-LABEL: func.func @linear_gelu
// CHECK-SAME: (%[[X:.+]]: tensor<2x8xf32>)
// CHECK: %[[Y:.+]] = tfm.linear %[[X]], %{{.+}} bias %{{.+}} : (tensor<2x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<2x16xf32> epilogue {
// CHECK-NEXT: ^bb0(%[[ACC:.+]]: f32):
// x / sqrt(2)
// CHECK: %[[S:.+]] = arith.mulf %[[ACC]], %{{.+}} : f32
// CHECK: %[[E:.+]] = math.erf %[[S]] : f32
// 1 + erf(...)
// CHECK: %[[A:.+]] = arith.addf %[[E]], %{{.+}} : f32
// 0.5 * x * (1 + erf(...))
// CHECK: %[[H:.+]] = arith.mulf %[[ACC]], %{{.+}} : f32
// CHECK: %[[R:.+]] = arith.mulf %[[H]], %[[A]] : f32
// CHECK: tfm.yield %[[R]] : f32
// CHECK: return %[[Y]]
func.func @linear_gelu(%x: tensor<2x8xf32>) -> tensor<2x16xf32> {
  %w = tfm.weight "fc.weight" : tensor<16x8xf32>
  %b = tfm.weight "fc.bias" : tensor<16xf32>
  // expected-remark @below {{fused into tfm.linear (epilogue)}}
  %h = tfm.linear %x, %w bias %b : (tensor<2x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  %g = tfm.gelu %h : tensor<2x16xf32>
  return %g : tensor<2x16xf32>
}

// -----

// matmul by a [K, N] weight + [N] bias + SiLU (an ONNX-style graph): becomes
// one linear with weight_kn, the bias and the activation.
// CHECK-LABEL: func.func @matmul_bias_silu
// CHECK: %[[W:.+]] = tfm.weight "w"
// CHECK: %[[B:.+]] = tfm.weight "b"
// CHECK: tfm.linear %{{.+}}, %[[W]] bias %[[B]] weight_kn : (tensor<3x4x8xf32>, tensor<8x16xf32>, tensor<16xf32>) -> tensor<3x4x16xf32> epilogue {
// CHECK: math.exp
// CHECK: tfm.yield
// CHECK-NOT: tfm.add
// CHECK-NOT: tfm.silu
func.func @matmul_bias_silu(%x: tensor<3x4x8xf32>) -> tensor<3x4x16xf32> {
  %w = tfm.weight "w" : tensor<8x16xf32>
  %b = tfm.weight "b" : tensor<16xf32>
  // expected-remark @below {{fused into tfm.linear (epilogue)}}
  %m = tfm.matmul %x, %w : (tensor<3x4x8xf32>, tensor<8x16xf32>) -> tensor<3x4x16xf32>
  %a = tfm.add %m, %b : tensor<3x4x16xf32>, tensor<16xf32>
  %s = tfm.silu %a : tensor<3x4x16xf32>
  return %s : tensor<3x4x16xf32>
}

// -----

// ReLU then a residual add: the residual becomes an epilogue input.
// CHECK-LABEL: func.func @relu_residual
// CHECK-SAME: (%[[X:.+]]: tensor<2x8xf32>, %[[R:.+]]: tensor<2x8xf32>)
// CHECK: tfm.linear %[[X]], %{{.+}} inputs(%[[R]]) : (tensor<2x8xf32>, tensor<8x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32> epilogue {
// CHECK-NEXT: ^bb0(%[[ACC:.+]]: f32, %[[RES:.+]]: f32):
// CHECK: %[[RELU:.+]] = arith.maximumf %[[ACC]], %{{.+}} : f32
// CHECK: %[[SUM:.+]] = arith.addf %[[RELU]], %[[RES]] : f32
// CHECK: tfm.yield %[[SUM]]
func.func @relu_residual(%x: tensor<2x8xf32>, %r: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %w = tfm.weight "w" : tensor<8x8xf32>
  // expected-remark @below {{fused into tfm.linear (epilogue)}}
  %h = tfm.linear %x, %w : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x8xf32>
  %a = tfm.relu %h : tensor<2x8xf32>
  %s = tfm.add %a, %r : tensor<2x8xf32>, tensor<2x8xf32>
  return %s : tensor<2x8xf32>
}

// -----

// A DAG, not a chain: x * sigmoid(x) with a scale, all on the accumulator.
// CHECK-LABEL: func.func @elementwise_dag
// CHECK: tfm.linear {{.*}} epilogue {
// CHECK: math.exp
// CHECK: arith.mulf
// CHECK: tfm.yield
// CHECK-NOT: tfm.sigmoid
// CHECK-NOT: tfm.mul
func.func @elementwise_dag(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %w = tfm.weight "w" : tensor<8x8xf32>
  // expected-remark @below {{fused into tfm.linear (epilogue)}}
  %h = tfm.linear %x, %w : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x8xf32>
  %s = tfm.sigmoid %h : tensor<2x8xf32>
  %m = tfm.mul %h, %s : tensor<2x8xf32>, tensor<2x8xf32>
  %y = tfm.scale %m by 2.0 : tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// Negative: a product with an activation, not a model weight.
// CHECK-LABEL: func.func @matmul_activations
// CHECK: tfm.matmul
// CHECK-NOT: tfm.linear
func.func @matmul_activations(%x: tensor<2x8xf32>, %y: tensor<8x4xf32>) -> tensor<2x4xf32> {
  // expected-remark @below {{not fused into tfm.linear: the right operand is not a model weight}}
  %m = tfm.matmul %x, %y : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
  return %m : tensor<2x4xf32>
}

// -----

// Negative: the raw accumulator is also returned.
// CHECK-LABEL: func.func @raw_result_used
// CHECK: tfm.linear
// CHECK-NOT: epilogue
// CHECK: tfm.relu
func.func @raw_result_used(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %w = tfm.weight "w" : tensor<8x8xf32>
  // expected-remark @below {{not fused into tfm.linear (epilogue): the linear's result is also used by a non-elementwise op}}
  %h = tfm.linear %x, %w : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x8xf32>
  %a = tfm.relu %h : tensor<2x8xf32>
  return %a, %h : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// Negative: an intermediate of the chain escapes and the escaping value is
// not the chain's last one.
// CHECK-LABEL: func.func @intermediate_escapes
// CHECK: tfm.linear {{.*}} epilogue
// CHECK: tfm.relu
func.func @intermediate_escapes(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %w = tfm.weight "w" : tensor<8x8xf32>
  // expected-remark @below {{fused into tfm.linear (epilogue)}}
  %h = tfm.linear %x, %w : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x8xf32>
  %g = tfm.gelu %h : tensor<2x8xf32>
  %a = tfm.relu %g : tensor<2x8xf32>
  %b = tfm.tanh %g : tensor<2x8xf32>
  %m = tfm.matmul %b, %a transpose_rhs : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x2xf32>
  return %a, %b : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// Negative: the other operand is computed after the linear (from the
// input, not the linear), so the consumers cannot move into it.
// CHECK-LABEL: func.func @operand_after_linear
// CHECK: tfm.linear
// CHECK-NOT: epilogue
func.func @operand_after_linear(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %w = tfm.weight "w" : tensor<8x8xf32>
  // expected-remark @below {{not fused into tfm.linear (epilogue): the elementwise consumers read values computed after the linear}}
  %h = tfm.linear %x, %w : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x8xf32>
  %u = tfm.softmax %x axis 1 : tensor<2x8xf32>
  %s = tfm.add %h, %u : tensor<2x8xf32>, tensor<2x8xf32>
  return %s : tensor<2x8xf32>
}
