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

// -----

// A merged gate/up projection whose halves meet in silu(gate) * up: one
// gated linear, the epilogue taking both halves (gate first) after the bias.
// CHECK-LABEL: func.func @gated_swiglu
// CHECK-SAME: (%[[X:.+]]: tensor<2x8xf32>)
// CHECK: %[[Y:.+]] = tfm.linear %[[X]], %{{.+}} bias %{{.+}} gated : (tensor<2x8xf32>, tensor<14x8xf32>, tensor<14xf32>) -> tensor<2x7xf32> epilogue {
// CHECK-NEXT: ^bb0(%[[G:.+]]: f32, %[[U:.+]]: f32):
// CHECK: math.exp
// CHECK: %[[S:.+]] = arith.mulf %[[G]], %{{.+}} : f32
// CHECK: %[[R:.+]] = arith.mulf %[[S]], %[[U]] : f32
// CHECK: tfm.yield %[[R]] : f32
// CHECK-NOT: tfm.slice
// CHECK: return %[[Y]]
func.func @gated_swiglu(%x: tensor<2x8xf32>) -> tensor<2x7xf32> {
  %w = tfm.weight "gate_up.weight" : tensor<14x8xf32>
  %b = tfm.weight "gate_up.bias" : tensor<14xf32>
  // expected-remark @below {{fused into a gated tfm.linear}}
  %h = tfm.linear %x, %w bias %b : (tensor<2x8xf32>, tensor<14x8xf32>, tensor<14xf32>) -> tensor<2x14xf32>
  %g = tfm.slice %h axis 1 [0 : 7] : tensor<2x14xf32> -> tensor<2x7xf32>
  %u = tfm.slice %h axis 1 [7 : 14] : tensor<2x14xf32> -> tensor<2x7xf32>
  %a = tfm.silu %g : tensor<2x7xf32>
  %y = tfm.mul %a, %u : tensor<2x7xf32>, tensor<2x7xf32>
  return %y : tensor<2x7xf32>
}

// -----

// The up half listed first in the program and a residual read by the
// chain: the halves are bound by position, the residual is an input.
// CHECK-LABEL: func.func @gated_residual
// CHECK-SAME: (%[[X:.+]]: tensor<2x8xf32>, %[[R:.+]]: tensor<2x7xf32>)
// CHECK: tfm.linear %[[X]], %{{.+}} gated inputs(%[[R]]) : (tensor<2x8xf32>, tensor<14x8xf32>, tensor<2x7xf32>) -> tensor<2x7xf32> epilogue {
// CHECK-NEXT: ^bb0(%[[G:.+]]: f32, %[[U:.+]]: f32, %[[RES:.+]]: f32):
// CHECK: %[[T:.+]] = math.tanh %[[G]] : f32
// CHECK: %[[M:.+]] = arith.mulf %[[T]], %[[U]] : f32
// CHECK: arith.addf %[[M]], %[[RES]] : f32
func.func @gated_residual(%x: tensor<2x8xf32>, %r: tensor<2x7xf32>) -> tensor<2x7xf32> {
  %w = tfm.weight "gate_up.weight" : tensor<14x8xf32>
  // expected-remark @below {{fused into a gated tfm.linear}}
  %h = tfm.linear %x, %w : (tensor<2x8xf32>, tensor<14x8xf32>) -> tensor<2x14xf32>
  %u = tfm.slice %h axis 1 [7 : 14] : tensor<2x14xf32> -> tensor<2x7xf32>
  %g = tfm.slice %h axis 1 [0 : 7] : tensor<2x14xf32> -> tensor<2x7xf32>
  %a = tfm.tanh %g : tensor<2x7xf32>
  %m = tfm.mul %a, %u : tensor<2x7xf32>, tensor<2x7xf32>
  %y = tfm.add %m, %r : tensor<2x7xf32>, tensor<2x7xf32>
  return %y : tensor<2x7xf32>
}

// -----

// Negative: the up half is also returned, so the product cannot own it.
// CHECK-LABEL: func.func @gated_half_escapes
// CHECK: tfm.linear %{{.+}}, %{{.+}} : (tensor<2x8xf32>, tensor<14x8xf32>) -> tensor<2x14xf32>
// CHECK: tfm.slice
func.func @gated_half_escapes(%x: tensor<2x8xf32>) -> (tensor<2x7xf32>, tensor<2x7xf32>) {
  %w = tfm.weight "gate_up.weight" : tensor<14x8xf32>
  // expected-remark @below {{not fused into a gated tfm.linear: a half is also used by a non-elementwise op}}
  %h = tfm.linear %x, %w : (tensor<2x8xf32>, tensor<14x8xf32>) -> tensor<2x14xf32>
  %g = tfm.slice %h axis 1 [0 : 7] : tensor<2x14xf32> -> tensor<2x7xf32>
  %u = tfm.slice %h axis 1 [7 : 14] : tensor<2x14xf32> -> tensor<2x7xf32>
  %a = tfm.silu %g : tensor<2x7xf32>
  %y = tfm.mul %a, %u : tensor<2x7xf32>, tensor<2x7xf32>
  return %y, %u : tensor<2x7xf32>, tensor<2x7xf32>
}

// -----

// Negative: the weight is an activation (no compile-time gated panels).
// CHECK-LABEL: func.func @gated_activation_weight
// CHECK-NOT: gated
func.func @gated_activation_weight(%x: tensor<2x8xf32>, %w: tensor<14x8xf32>) -> tensor<2x7xf32> {
  // expected-remark @below {{not fused into a gated tfm.linear: the weight is not a model parameter}}
  %h = tfm.linear %x, %w : (tensor<2x8xf32>, tensor<14x8xf32>) -> tensor<2x14xf32>
  %g = tfm.slice %h axis 1 [0 : 7] : tensor<2x14xf32> -> tensor<2x7xf32>
  %u = tfm.slice %h axis 1 [7 : 14] : tensor<2x14xf32> -> tensor<2x7xf32>
  %a = tfm.silu %g : tensor<2x7xf32>
  %y = tfm.mul %a, %u : tensor<2x7xf32>, tensor<2x7xf32>
  return %y : tensor<2x7xf32>
}

// -----

// Negative, silently: slices that are not the two halves (Q/K/V thirds, a
// window) and halves that only feed reshapes (cross-attention K and V) are
// not gating candidates.
// CHECK-LABEL: func.func @not_halves
// CHECK-NOT: gated
func.func @not_halves(%x: tensor<2x8xf32>) -> (tensor<2x4xf32>, tensor<2x7x1xf32>, tensor<2x7x1xf32>) {
  %w = tfm.weight "qkv.weight" : tensor<12x8xf32>
  %h = tfm.linear %x, %w : (tensor<2x8xf32>, tensor<12x8xf32>) -> tensor<2x12xf32>
  %q = tfm.slice %h axis 1 [0 : 4] : tensor<2x12xf32> -> tensor<2x4xf32>
  %k = tfm.slice %h axis 1 [4 : 8] : tensor<2x12xf32> -> tensor<2x4xf32>
  %v = tfm.slice %h axis 1 [8 : 12] : tensor<2x12xf32> -> tensor<2x4xf32>
  %s = tfm.add %q, %k : tensor<2x4xf32>, tensor<2x4xf32>
  %t = tfm.add %s, %v : tensor<2x4xf32>, tensor<2x4xf32>
  %w2 = tfm.weight "kv.weight" : tensor<14x8xf32>
  %h2 = tfm.linear %x, %w2 : (tensor<2x8xf32>, tensor<14x8xf32>) -> tensor<2x14xf32>
  %k2 = tfm.slice %h2 axis 1 [0 : 7] : tensor<2x14xf32> -> tensor<2x7xf32>
  %v2 = tfm.slice %h2 axis 1 [7 : 14] : tensor<2x14xf32> -> tensor<2x7xf32>
  %kr = tfm.reshape %k2 : tensor<2x7xf32> -> tensor<2x7x1xf32>
  %vr = tfm.reshape %v2 : tensor<2x7xf32> -> tensor<2x7x1xf32>
  return %t, %kr, %vr : tensor<2x4xf32>, tensor<2x7x1xf32>, tensor<2x7x1xf32>
}
