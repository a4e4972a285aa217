// RUN: tfmc-opt %s -split-input-file -tfm-merge-qkv | FileCheck %s
// RUN: tfmc-opt %s -split-input-file -tfm-merge-qkv=remarks=true -verify-diagnostics -o /dev/null
// RUN: tfmc-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(tfm-merge-qkv{min-group=4}))' | FileCheck %s --check-prefix=MIN4

// CHECK-LABEL: func.func @qkv
// CHECK-SAME: (%[[X:.+]]: tensor<2x5x12xf32>)
// CHECK: %[[W:.+]] = tfm.weight "attn.{q,k,v}_proj.weight" concat ["attn.q_proj.weight", "attn.k_proj.weight", "attn.v_proj.weight"] axis 0 : tensor<36x12xf32>
// CHECK: %[[B:.+]] = tfm.weight "attn.{q,k,v}_proj.bias" concat ["attn.q_proj.bias", "attn.k_proj.bias", "attn.v_proj.bias"] axis 0 : tensor<36xf32>
// CHECK: %[[L:.+]] = tfm.linear %[[X]], %[[W]] bias %[[B]] : (tensor<2x5x12xf32>, tensor<36x12xf32>, tensor<36xf32>) -> tensor<2x5x36xf32>
// CHECK: %[[Q:.+]] = tfm.slice %[[L]] axis 2 [0 : 12]
// CHECK: %[[K:.+]] = tfm.slice %[[L]] axis 2 [12 : 24]
// CHECK: %[[V:.+]] = tfm.slice %[[L]] axis 2 [24 : 36]
// CHECK: return %[[Q]], %[[K]], %[[V]]
// MIN4-LABEL: func.func @qkv
// MIN4-NOT: concat
func.func @qkv(%x: tensor<2x5x12xf32>) -> (tensor<2x5x12xf32>, tensor<2x5x12xf32>, tensor<2x5x12xf32>) {
  %wq = tfm.weight "attn.q_proj.weight" : tensor<12x12xf32>
  %bq = tfm.weight "attn.q_proj.bias" : tensor<12xf32>
  // expected-remark @below {{fused into a merged tfm.linear}}
  %q = tfm.linear %x, %wq bias %bq : (tensor<2x5x12xf32>, tensor<12x12xf32>, tensor<12xf32>) -> tensor<2x5x12xf32>
  %wk = tfm.weight "attn.k_proj.weight" : tensor<12x12xf32>
  %bk = tfm.weight "attn.k_proj.bias" : tensor<12xf32>
  %k = tfm.linear %x, %wk bias %bk : (tensor<2x5x12xf32>, tensor<12x12xf32>, tensor<12xf32>) -> tensor<2x5x12xf32>
  %wv = tfm.weight "attn.v_proj.weight" : tensor<12x12xf32>
  %bv = tfm.weight "attn.v_proj.bias" : tensor<12xf32>
  %v = tfm.linear %x, %wv bias %bv : (tensor<2x5x12xf32>, tensor<12x12xf32>, tensor<12xf32>) -> tensor<2x5x12xf32>
  return %q, %k, %v : tensor<2x5x12xf32>, tensor<2x5x12xf32>, tensor<2x5x12xf32>
}

// -----

// Cross-attention K and V in [in, out] layout, without biases, different
// output sizes: concatenated along axis 1.
// CHECK-LABEL: func.func @kv_kn
// CHECK: %[[W:.+]] = tfm.weight "c.{k,v}" concat ["c.k", "c.v"] axis 1 : tensor<12x20xf32>
// CHECK: %[[L:.+]] = tfm.linear %{{.+}}, %[[W]] weight_kn : (tensor<7x12xf32>, tensor<12x20xf32>) -> tensor<7x20xf32>
// CHECK: tfm.slice %[[L]] axis 1 [0 : 12]
// CHECK: tfm.slice %[[L]] axis 1 [12 : 20]
func.func @kv_kn(%m: tensor<7x12xf32>) -> (tensor<7x12xf32>, tensor<7x8xf32>) {
  %wk = tfm.weight "c.k" : tensor<12x12xf32>
  %wv = tfm.weight "c.v" : tensor<12x8xf32>
  // expected-remark @below {{fused into a merged tfm.linear}}
  %k = tfm.linear %m, %wk weight_kn : (tensor<7x12xf32>, tensor<12x12xf32>) -> tensor<7x12xf32>
  %v = tfm.linear %m, %wv weight_kn : (tensor<7x12xf32>, tensor<12x8xf32>) -> tensor<7x8xf32>
  return %k, %v : tensor<7x12xf32>, tensor<7x8xf32>
}

// -----

// Negative: one linear has a bias and the other not.
// CHECK-LABEL: func.func @mixed_bias
// CHECK-NOT: concat
func.func @mixed_bias(%x: tensor<2x12xf32>) -> (tensor<2x12xf32>, tensor<2x12xf32>) {
  %wa = tfm.weight "a" : tensor<12x12xf32>
  %ba = tfm.weight "a.bias" : tensor<12xf32>
  %wb = tfm.weight "b" : tensor<12x12xf32>
  // expected-remark @below {{not fused into a merged tfm.linear: some linears of the group have a bias and some not}}
  %a = tfm.linear %x, %wa bias %ba : (tensor<2x12xf32>, tensor<12x12xf32>, tensor<12xf32>) -> tensor<2x12xf32>
  %b = tfm.linear %x, %wb : (tensor<2x12xf32>, tensor<12x12xf32>) -> tensor<2x12xf32>
  return %a, %b : tensor<2x12xf32>, tensor<2x12xf32>
}

// -----

// Negative: one weight is [out, in], the other [in, out].
// CHECK-LABEL: func.func @mixed_layout
// CHECK-NOT: concat
func.func @mixed_layout(%x: tensor<2x12xf32>) -> (tensor<2x12xf32>, tensor<2x12xf32>) {
  %wa = tfm.weight "a" : tensor<12x12xf32>
  %wb = tfm.weight "b" : tensor<12x12xf32>
  // expected-remark @below {{not fused into a merged tfm.linear: the weights of the group have different layouts}}
  %a = tfm.linear %x, %wa : (tensor<2x12xf32>, tensor<12x12xf32>) -> tensor<2x12xf32>
  %b = tfm.linear %x, %wb weight_kn : (tensor<2x12xf32>, tensor<12x12xf32>) -> tensor<2x12xf32>
  return %a, %b : tensor<2x12xf32>, tensor<2x12xf32>
}

// -----

// Negative: a weight computed at run time cannot be concatenated at compile
// time.
// CHECK-LABEL: func.func @runtime_weight
// CHECK-NOT: concat
func.func @runtime_weight(%x: tensor<2x12xf32>, %wb: tensor<12x12xf32>) -> (tensor<2x12xf32>, tensor<2x12xf32>) {
  %wa = tfm.weight "a" : tensor<12x12xf32>
  // expected-remark @below {{not fused into a merged tfm.linear: a weight or bias is not a stored model parameter}}
  %a = tfm.linear %x, %wa : (tensor<2x12xf32>, tensor<12x12xf32>) -> tensor<2x12xf32>
  %b = tfm.linear %x, %wb : (tensor<2x12xf32>, tensor<12x12xf32>) -> tensor<2x12xf32>
  return %a, %b : tensor<2x12xf32>, tensor<2x12xf32>
}

// -----

// A single linear is not a candidate.
// CHECK-LABEL: func.func @single
// CHECK-NOT: concat
func.func @single(%x: tensor<2x12xf32>) -> tensor<2x12xf32> {
  %wa = tfm.weight "a" : tensor<12x12xf32>
  %a = tfm.linear %x, %wa : (tensor<2x12xf32>, tensor<12x12xf32>) -> tensor<2x12xf32>
  return %a : tensor<2x12xf32>
}
