// RUN: tfmc-opt %s -split-input-file -tfm-fuse-residual-norm | FileCheck %s
// RUN: tfmc-opt %s -split-input-file -tfm-fuse-residual-norm=remarks=true -verify-diagnostics -o /dev/null

// Post-LN: norm(x + f(x)); the sum has no other use.
// CHECK-LABEL: func.func @post_ln
// CHECK-SAME: (%[[X:.+]]: tensor<2x8xf32>, %[[F:.+]]: tensor<2x8xf32>, %[[G:.+]]: tensor<8xf32>, %[[B:.+]]: tensor<8xf32>)
// CHECK-NEXT: %[[Y:.+]], %{{.+}} = tfm.add_layer_norm %[[X]], %[[F]] scale %[[G]] bias %[[B]] axis 1 eps 1.000000e-05
// CHECK-NEXT: return %[[Y]]
func.func @post_ln(%x: tensor<2x8xf32>, %f: tensor<2x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x8xf32> {
  %s = tfm.add %x, %f : tensor<2x8xf32>, tensor<2x8xf32>
  // expected-remark @below {{fused into tfm.add_layer_norm}}
  %y = tfm.layer_norm %s scale %g bias %b axis 1 eps 1.0e-5 : (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// Pre-LN: the residual stream keeps using the sum, which the fused op
// provides as its second result; the norm's weights, defined after the add,
// move up.
// CHECK-LABEL: func.func @pre_ln_keeps_sum
// CHECK-SAME: (%[[X:.+]]: tensor<2x8xf32>, %[[A:.+]]: tensor<2x8xf32>, %[[F:.+]]: tensor<2x8xf32>)
// CHECK: %[[G:.+]] = tfm.weight "ln.weight"
// CHECK: %[[B:.+]] = tfm.weight "ln.bias"
// CHECK: %[[H:.+]], %[[S:.+]] = tfm.add_layer_norm %[[X]], %[[A]] scale %[[G]] bias %[[B]]
// CHECK: %[[R:.+]] = tfm.add %[[S]], %[[F]]
// CHECK: return %[[H]], %[[R]]
func.func @pre_ln_keeps_sum(%x: tensor<2x8xf32>, %a: tensor<2x8xf32>, %f: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %s = tfm.add %x, %a : tensor<2x8xf32>, tensor<2x8xf32>
  %g = tfm.weight "ln.weight" : tensor<8xf32>
  %b = tfm.weight "ln.bias" : tensor<8xf32>
  // expected-remark @below {{fused into tfm.add_layer_norm}}
  %h = tfm.layer_norm %s scale %g bias %b axis 1 eps 1.0e-5 : (tensor<2x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %r = tfm.add %s, %f : tensor<2x8xf32>, tensor<2x8xf32>
  return %h, %r : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// CHECK-LABEL: func.func @rms
// CHECK-NEXT: %[[Y:.+]], %[[S:.+]] = tfm.add_rms_norm %{{.+}}, %{{.+}} scale %{{.+}} axis 1 eps 9.9999999999999995E-7
// CHECK-NEXT: return %[[Y]], %[[S]]
func.func @rms(%x: tensor<2x8xf32>, %f: tensor<2x8xf32>, %g: tensor<8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %s = tfm.add %x, %f : tensor<2x8xf32>, tensor<2x8xf32>
  // expected-remark @below {{fused into tfm.add_rms_norm}}
  %y = tfm.rms_norm %s scale %g axis 1 eps 1.0e-6 : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %y, %s : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// Negative: an embedding plus a broadcast position table is not a residual.
// CHECK-LABEL: func.func @broadcasting_add
// CHECK: tfm.add
// CHECK-NEXT: tfm.layer_norm
func.func @broadcasting_add(%x: tensor<2x5x8xf32>, %pos: tensor<5x8xf32>) -> tensor<2x5x8xf32> {
  %s = tfm.add %x, %pos : tensor<2x5x8xf32>, tensor<5x8xf32>
  // expected-remark @below {{not fused into tfm.add_layer_norm: the add broadcasts one operand, so it is not a residual connection}}
  %y = tfm.layer_norm %s axis 2 eps 1.0e-5 : (tensor<2x5x8xf32>) -> tensor<2x5x8xf32>
  return %y : tensor<2x5x8xf32>
}

// -----

// Negative: the norm's scale is computed after the add from the add itself.
// CHECK-LABEL: func.func @scale_computed_after
// CHECK: tfm.add
// CHECK: tfm.layer_norm
func.func @scale_computed_after(%x: tensor<2x8xf32>, %f: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %s = tfm.add %x, %f : tensor<2x8xf32>, tensor<2x8xf32>
  %g = tfm.reduce_mean %s [0] : tensor<2x8xf32> -> tensor<8xf32>
  // expected-remark @below {{not fused into tfm.add_layer_norm: the norm's scale/bias is computed after the add}}
  %y = tfm.layer_norm %s scale %g axis 1 eps 1.0e-5 : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// A norm of something other than an add is not a candidate.
// CHECK-LABEL: func.func @no_add
// CHECK-NOT: tfm.add_layer_norm
func.func @no_add(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %y = tfm.layer_norm %x axis 1 eps 1.0e-5 : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}
