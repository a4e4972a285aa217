// RUN: tfmc-opt %s -split-input-file -tfm-fuse-attention | FileCheck %s
// RUN: tfmc-opt %s -split-input-file -tfm-fuse-attention=remarks=true -verify-diagnostics -o /dev/null

// Self-attention as the frontend emits it: split heads, Q K^T, scale, causal
// mask, softmax over keys, times V, merge heads. Everything is absorbed.
// CHECK-LABEL: func.func @causal_self_attention
// CHECK-SAME: (%[[Q:.+]]: tensor<1x5x12xf32>, %[[K:.+]]: tensor<1x5x12xf32>, %[[V:.+]]: tensor<1x5x12xf32>)
// CHECK-NEXT: %[[A:.+]] = tfm.attention %[[Q]], %[[K]], %[[V]] heads 3 scale 5.000000e-01 causal : (tensor<1x5x12xf32>, tensor<1x5x12xf32>, tensor<1x5x12xf32>) -> tensor<1x5x12xf32>
// CHECK-NEXT: return %[[A]]
func.func @causal_self_attention(%q: tensor<1x5x12xf32>, %k: tensor<1x5x12xf32>, %v: tensor<1x5x12xf32>) -> tensor<1x5x12xf32> {
  %qr = tfm.reshape %q : tensor<1x5x12xf32> -> tensor<1x5x3x4xf32>
  %qh = tfm.transpose %qr [0, 2, 1, 3] : tensor<1x5x3x4xf32> -> tensor<1x3x5x4xf32>
  %kr = tfm.reshape %k : tensor<1x5x12xf32> -> tensor<1x5x3x4xf32>
  %kh = tfm.transpose %kr [0, 2, 1, 3] : tensor<1x5x3x4xf32> -> tensor<1x3x5x4xf32>
  %vr = tfm.reshape %v : tensor<1x5x12xf32> -> tensor<1x5x3x4xf32>
  %vh = tfm.transpose %vr [0, 2, 1, 3] : tensor<1x5x3x4xf32> -> tensor<1x3x5x4xf32>
  %s = tfm.matmul %qh, %kh transpose_rhs : (tensor<1x3x5x4xf32>, tensor<1x3x5x4xf32>) -> tensor<1x3x5x5xf32>
  %ss = tfm.scale %s by 0.5 : tensor<1x3x5x5xf32>
  %cm = tfm.causal_mask : tensor<5x5xf32>
  %sm = tfm.add %ss, %cm : tensor<1x3x5x5xf32>, tensor<5x5xf32>
  %p = tfm.softmax %sm axis 3 : tensor<1x3x5x5xf32>
  // expected-remark @below {{fused into tfm.attention}}
  %o = tfm.matmul %p, %vh : (tensor<1x3x5x5xf32>, tensor<1x3x5x4xf32>) -> tensor<1x3x5x4xf32>
  %ot = tfm.transpose %o [0, 2, 1, 3] : tensor<1x3x5x4xf32> -> tensor<1x5x3x4xf32>
  %om = tfm.reshape %ot : tensor<1x5x3x4xf32> -> tensor<1x5x12xf32>
  return %om : tensor<1x5x12xf32>
}

// -----

// Already-batched heads with no split/merge: the fused op works on [B,H,S,D].
// CHECK-LABEL: func.func @explicit_heads
// CHECK-SAME: (%[[Q:.+]]: tensor<2x3x5x4xf32>, %[[K:.+]]: tensor<2x3x7x4xf32>, %[[V:.+]]: tensor<2x3x7x6xf32>)
// CHECK-NEXT: tfm.attention %[[Q]], %[[K]], %[[V]] heads 3 scale 5.000000e-01 : (tensor<2x3x5x4xf32>, tensor<2x3x7x4xf32>, tensor<2x3x7x6xf32>) -> tensor<2x3x5x6xf32>
func.func @explicit_heads(%q: tensor<2x3x5x4xf32>, %k: tensor<2x3x7x4xf32>, %v: tensor<2x3x7x6xf32>) -> tensor<2x3x5x6xf32> {
  %s = tfm.matmul %q, %k transpose_rhs : (tensor<2x3x5x4xf32>, tensor<2x3x7x4xf32>) -> tensor<2x3x5x7xf32>
  %ss = tfm.scale %s by 0.5 : tensor<2x3x5x7xf32>
  %p = tfm.softmax %ss axis 3 : tensor<2x3x5x7xf32>
  // expected-remark @below {{fused into tfm.attention}}
  %o = tfm.matmul %p, %v : (tensor<2x3x5x7xf32>, tensor<2x3x7x6xf32>) -> tensor<2x3x5x6xf32>
  return %o : tensor<2x3x5x6xf32>
}

// -----

// Cross-attention with a padding mask, the scale written as a division by
// sqrt(d_head), K transposed explicitly as ONNX exporters do ([0, 2, 3, 1]).
// CHECK-LABEL: func.func @cross_attention_padded
// CHECK-SAME: (%[[Q:.+]]: tensor<2x5x12xf32>, %[[MEM:.+]]: tensor<2x7x12xf32>, %[[AM:.+]]: tensor<2x7xi64>)
// CHECK: %[[PM:.+]] = tfm.padding_mask %[[AM]]
// CHECK-NEXT: %[[A:.+]] = tfm.attention %[[Q]], %[[MEM]], %[[MEM]] mask %[[PM]] heads 3 scale 5.000000e-01 : (tensor<2x5x12xf32>, tensor<2x7x12xf32>, tensor<2x7x12xf32>, tensor<2x1x1x7xf32>) -> tensor<2x5x12xf32>
func.func @cross_attention_padded(%q: tensor<2x5x12xf32>, %mem: tensor<2x7x12xf32>, %am: tensor<2x7xi64>) -> tensor<2x5x12xf32> {
  %two = tfm.constant dense<2.0> : tensor<f32>
  %qr = tfm.reshape %q : tensor<2x5x12xf32> -> tensor<2x5x3x4xf32>
  %qh = tfm.transpose %qr [0, 2, 1, 3] : tensor<2x5x3x4xf32> -> tensor<2x3x5x4xf32>
  %kr = tfm.reshape %mem : tensor<2x7x12xf32> -> tensor<2x7x3x4xf32>
  %kt = tfm.transpose %kr [0, 2, 3, 1] : tensor<2x7x3x4xf32> -> tensor<2x3x4x7xf32>
  %vr = tfm.reshape %mem : tensor<2x7x12xf32> -> tensor<2x7x3x4xf32>
  %vh = tfm.transpose %vr [0, 2, 1, 3] : tensor<2x7x3x4xf32> -> tensor<2x3x7x4xf32>
  %pm = tfm.padding_mask %am : tensor<2x7xi64> -> tensor<2x1x1x7xf32>
  %s = tfm.matmul %qh, %kt : (tensor<2x3x5x4xf32>, tensor<2x3x4x7xf32>) -> tensor<2x3x5x7xf32>
  %ss = tfm.div %s, %two : tensor<2x3x5x7xf32>, tensor<f32>
  %sm = tfm.add %pm, %ss : tensor<2x1x1x7xf32>, tensor<2x3x5x7xf32>
  %p = tfm.softmax %sm axis 3 : tensor<2x3x5x7xf32>
  // expected-remark @below {{fused into tfm.attention}}
  %o = tfm.matmul %p, %vh : (tensor<2x3x5x7xf32>, tensor<2x3x7x4xf32>) -> tensor<2x3x5x4xf32>
  %ot = tfm.transpose %o [0, 2, 1, 3] : tensor<2x3x5x4xf32> -> tensor<2x5x3x4xf32>
  %om = tfm.reshape %ot : tensor<2x5x3x4xf32> -> tensor<2x5x12xf32>
  return %om : tensor<2x5x12xf32>
}

// -----

// "Mask then scale" with both a causal and a padding mask, and a pre-scaled
// Q: the scales multiply (2 * 0.25) and the padding mask is scaled by the
// scale applied after it, so the fused op computes exactly the same scores.
// CHECK-LABEL: func.func @mask_then_scale
// CHECK-SAME: (%[[Q:.+]]: tensor<1x2x5x4xf32>, %[[K:.+]]: tensor<1x2x5x4xf32>, %[[V:.+]]: tensor<1x2x5x4xf32>, %[[M:.+]]: tensor<1x1x1x5xf32>)
// CHECK: %[[MS:.+]] = tfm.scale %[[M]] by 2.500000e-01
// CHECK-NEXT: tfm.attention %[[Q]], %[[K]], %[[V]] mask %[[MS]] heads 2 scale 5.000000e-01 causal
func.func @mask_then_scale(%q: tensor<1x2x5x4xf32>, %k: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x4xf32>, %m: tensor<1x1x1x5xf32>) -> tensor<1x2x5x4xf32> {
  %q2 = tfm.scale %q by 2.0 : tensor<1x2x5x4xf32>
  %s = tfm.matmul %q2, %k transpose_rhs : (tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x5xf32>
  %cm = tfm.causal_mask : tensor<5x5xf32>
  %s1 = tfm.add %s, %cm : tensor<1x2x5x5xf32>, tensor<5x5xf32>
  %s2 = tfm.add %s1, %m : tensor<1x2x5x5xf32>, tensor<1x1x1x5xf32>
  %s3 = tfm.scale %s2 by 0.25 : tensor<1x2x5x5xf32>
  %p = tfm.softmax %s3 axis 3 : tensor<1x2x5x5xf32>
  // expected-remark @below {{fused into tfm.attention}}
  %o = tfm.matmul %p, %v : (tensor<1x2x5x5xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x4xf32>
  return %o : tensor<1x2x5x4xf32>
}

// -----

// Heads folded into the batch ([B*H, S, D]) without a scale; the [S, S]
// causal mask becomes the causal flag.
// CHECK-LABEL: func.func @batched_heads_unscaled
// CHECK-NEXT: tfm.attention %{{.+}}, %{{.+}}, %{{.+}} heads 1 scale 1.000000e+00 causal : (tensor<6x5x4xf32>, tensor<6x5x4xf32>, tensor<6x5x4xf32>) -> tensor<6x5x4xf32>
func.func @batched_heads_unscaled(%q: tensor<6x5x4xf32>, %k: tensor<6x5x4xf32>, %v: tensor<6x5x4xf32>) -> tensor<6x5x4xf32> {
  %s = tfm.matmul %q, %k transpose_rhs : (tensor<6x5x4xf32>, tensor<6x5x4xf32>) -> tensor<6x5x5xf32>
  %cm = tfm.causal_mask : tensor<5x5xf32>
  %sm = tfm.add %s, %cm : tensor<6x5x5xf32>, tensor<5x5xf32>
  %p = tfm.softmax %sm axis 2 : tensor<6x5x5xf32>
  // expected-remark @below {{fused into tfm.attention}}
  %o = tfm.matmul %p, %v : (tensor<6x5x5xf32>, tensor<6x5x4xf32>) -> tensor<6x5x4xf32>
  return %o : tensor<6x5x4xf32>
}

// -----

// A small additive mask is not "masking out": it stays a mask operand.
// CHECK-LABEL: func.func @soft_causal_bias
// CHECK: %[[CM:.+]] = tfm.causal_mask {value = -1.000000e+00 : f64} : tensor<5x5xf32>
// CHECK-NEXT: tfm.attention %{{.+}}, %{{.+}}, %{{.+}} mask %[[CM]] heads 2 scale 5.000000e-01 :
func.func @soft_causal_bias(%q: tensor<1x2x5x4xf32>, %k: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x4xf32>) -> tensor<1x2x5x4xf32> {
  %s = tfm.matmul %q, %k transpose_rhs : (tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x5xf32>
  %ss = tfm.scale %s by 0.5 : tensor<1x2x5x5xf32>
  %cm = tfm.causal_mask {value = -1.0} : tensor<5x5xf32>
  %sm = tfm.add %ss, %cm : tensor<1x2x5x5xf32>, tensor<5x5xf32>
  %p = tfm.softmax %sm axis 3 : tensor<1x2x5x5xf32>
  // expected-remark @below {{fused into tfm.attention}}
  %o = tfm.matmul %p, %v : (tensor<1x2x5x5xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x4xf32>
  return %o : tensor<1x2x5x4xf32>
}

// -----

// Split heads without a merge: the fused op takes the split tensors.
// CHECK-LABEL: func.func @split_without_merge
// CHECK: %[[QH:.+]] = tfm.transpose
// CHECK: tfm.attention %[[QH]], {{.*}} -> tensor<1x3x5x4xf32>
func.func @split_without_merge(%q: tensor<1x5x12xf32>, %k: tensor<1x3x5x4xf32>, %v: tensor<1x3x5x4xf32>) -> tensor<1x3x5x4xf32> {
  %qr = tfm.reshape %q : tensor<1x5x12xf32> -> tensor<1x5x3x4xf32>
  %qh = tfm.transpose %qr [0, 2, 1, 3] : tensor<1x5x3x4xf32> -> tensor<1x3x5x4xf32>
  %s = tfm.matmul %qh, %k transpose_rhs : (tensor<1x3x5x4xf32>, tensor<1x3x5x4xf32>) -> tensor<1x3x5x5xf32>
  %ss = tfm.scale %s by 0.5 : tensor<1x3x5x5xf32>
  %p = tfm.softmax %ss axis 3 : tensor<1x3x5x5xf32>
  // expected-remark @below {{fused into tfm.attention}}
  %o = tfm.matmul %p, %v : (tensor<1x3x5x5xf32>, tensor<1x3x5x4xf32>) -> tensor<1x3x5x4xf32>
  return %o : tensor<1x3x5x4xf32>
}

// -----

// Negative: the softmax normalises over queries, not keys.
// CHECK-LABEL: func.func @softmax_over_queries
// CHECK-NOT: tfm.attention
func.func @softmax_over_queries(%q: tensor<1x2x5x4xf32>, %k: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x4xf32>) -> tensor<1x2x5x4xf32> {
  %s = tfm.matmul %q, %k transpose_rhs : (tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x5xf32>
  %p = tfm.softmax %s axis 2 : tensor<1x2x5x5xf32>
  // expected-remark @below {{not fused into tfm.attention: the softmax axis 2 is not the key axis 3}}
  %o = tfm.matmul %p, %v : (tensor<1x2x5x5xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x4xf32>
  return %o : tensor<1x2x5x4xf32>
}

// -----

// Negative: the attention probabilities are also returned (attention maps).
// CHECK-LABEL: func.func @probs_returned
// CHECK-NOT: tfm.attention
func.func @probs_returned(%q: tensor<1x2x5x4xf32>, %k: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x4xf32>) -> (tensor<1x2x5x4xf32>, tensor<1x2x5x5xf32>) {
  %s = tfm.matmul %q, %k transpose_rhs : (tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x5xf32>
  %p = tfm.softmax %s axis 3 : tensor<1x2x5x5xf32>
  // expected-remark @below {{not fused into tfm.attention: the attention probabilities have another use}}
  %o = tfm.matmul %p, %v : (tensor<1x2x5x5xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x4xf32>
  return %o, %p : tensor<1x2x5x4xf32>, tensor<1x2x5x5xf32>
}

// -----

// Negative: the scores are scaled by a run-time value.
// CHECK-LABEL: func.func @runtime_scale
// CHECK-NOT: tfm.attention
func.func @runtime_scale(%q: tensor<1x2x5x4xf32>, %k: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x4xf32>, %t: tensor<f32>) -> tensor<1x2x5x4xf32> {
  %s = tfm.matmul %q, %k transpose_rhs : (tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x5xf32>
  %ss = tfm.mul %s, %t : tensor<1x2x5x5xf32>, tensor<f32>
  %p = tfm.softmax %ss axis 3 : tensor<1x2x5x5xf32>
  // expected-remark @below {{not fused into tfm.attention: the scores are scaled by a value that is not a compile-time constant}}
  %o = tfm.matmul %p, %v : (tensor<1x2x5x5xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x4xf32>
  return %o : tensor<1x2x5x4xf32>
}

// -----

// Negative: a negative scale is not an attention scale.
// CHECK-LABEL: func.func @negative_scale
// CHECK-NOT: tfm.attention
func.func @negative_scale(%q: tensor<1x2x5x4xf32>, %k: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x4xf32>) -> tensor<1x2x5x4xf32> {
  %s = tfm.matmul %q, %k transpose_rhs : (tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x5xf32>
  %ss = tfm.scale %s by -0.5 : tensor<1x2x5x5xf32>
  %p = tfm.softmax %ss axis 3 : tensor<1x2x5x5xf32>
  // expected-remark @below {{not fused into tfm.attention: the attention scale -0.5 is not positive}}
  %o = tfm.matmul %p, %v : (tensor<1x2x5x5xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x4xf32>
  return %o : tensor<1x2x5x4xf32>
}

// -----

// Negative: the raw scores Q K^T are also returned.
// CHECK-LABEL: func.func @scores_returned
// CHECK-NOT: tfm.attention
func.func @scores_returned(%q: tensor<1x2x5x4xf32>, %k: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x4xf32>) -> (tensor<1x2x5x4xf32>, tensor<1x2x5x5xf32>) {
  %s = tfm.matmul %q, %k transpose_rhs : (tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x5xf32>
  %p = tfm.softmax %s axis 3 : tensor<1x2x5x5xf32>
  // expected-remark @below {{not fused into tfm.attention: the scores Q K^T have another use}}
  %o = tfm.matmul %p, %v : (tensor<1x2x5x5xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x4xf32>
  return %o, %s : tensor<1x2x5x4xf32>, tensor<1x2x5x5xf32>
}

// -----

// Negative: the mask broadcasts the scores to a larger batch.
// CHECK-LABEL: func.func @mask_broadcasts_scores
// CHECK-NOT: tfm.attention
func.func @mask_broadcasts_scores(%q: tensor<1x2x5x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<2x2x7x4xf32>, %m: tensor<2x2x5x7xf32>) -> tensor<2x2x5x4xf32> {
  %s = tfm.matmul %q, %k transpose_rhs : (tensor<1x2x5x4xf32>, tensor<1x2x7x4xf32>) -> tensor<1x2x5x7xf32>
  %sm = tfm.add %s, %m : tensor<1x2x5x7xf32>, tensor<2x2x5x7xf32>
  %p = tfm.softmax %sm axis 3 : tensor<2x2x5x7xf32>
  // expected-remark @below {{not fused into tfm.attention: the mask of shape 2x2x5x7 broadcasts the scores of shape 1x2x5x7 to a larger shape}}
  %o = tfm.matmul %p, %v : (tensor<2x2x5x7xf32>, tensor<2x2x7x4xf32>) -> tensor<2x2x5x4xf32>
  return %o : tensor<2x2x5x4xf32>
}

// -----

// Negative: something other than a scale or a mask on the scores.
// CHECK-LABEL: func.func @tanh_softcapping
// CHECK-NOT: tfm.attention
func.func @tanh_softcapping(%q: tensor<1x2x5x4xf32>, %k: tensor<1x2x5x4xf32>, %v: tensor<1x2x5x4xf32>) -> tensor<1x2x5x4xf32> {
  %s = tfm.matmul %q, %k transpose_rhs : (tensor<1x2x5x4xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x5xf32>
  %t = tfm.tanh %s : tensor<1x2x5x5xf32>
  %p = tfm.softmax %t axis 3 : tensor<1x2x5x5xf32>
  // expected-remark @below {{not fused into tfm.attention: the scores go through 'tfm.tanh', which is neither a constant scale nor a mask addition}}
  %o = tfm.matmul %p, %v : (tensor<1x2x5x5xf32>, tensor<1x2x5x4xf32>) -> tensor<1x2x5x4xf32>
  return %o : tensor<1x2x5x4xf32>
}

// -----

// Grouped-query attention as the frontends and tfm-decompose write it: 6
// query heads viewed as [B, 2, 3, S, D] against K and V as [B, 2, 1, S, D];
// the fused op reads the 2 key/value heads directly (no repeat).
// CHECK-LABEL: func.func @grouped_query
// CHECK-SAME: (%[[Q:.+]]: tensor<1x5x24xf32>, %[[K:.+]]: tensor<1x5x8xf32>, %[[V:.+]]: tensor<1x5x8xf32>)
// CHECK-NEXT: %[[A:.+]] = tfm.attention %[[Q]], %[[K]], %[[V]] heads 6 kv_heads 2 scale 5.000000e-01 causal : (tensor<1x5x24xf32>, tensor<1x5x8xf32>, tensor<1x5x8xf32>) -> tensor<1x5x24xf32>
// CHECK-NEXT: return %[[A]]
func.func @grouped_query(%q: tensor<1x5x24xf32>, %k: tensor<1x5x8xf32>, %v: tensor<1x5x8xf32>) -> tensor<1x5x24xf32> {
  %0 = tfm.reshape %q : tensor<1x5x24xf32> -> tensor<1x5x6x4xf32>
  %1 = tfm.transpose %0 [0, 2, 1, 3] : tensor<1x5x6x4xf32> -> tensor<1x6x5x4xf32>
  %2 = tfm.reshape %k : tensor<1x5x8xf32> -> tensor<1x5x2x4xf32>
  %3 = tfm.transpose %2 [0, 2, 1, 3] : tensor<1x5x2x4xf32> -> tensor<1x2x5x4xf32>
  %4 = tfm.reshape %v : tensor<1x5x8xf32> -> tensor<1x5x2x4xf32>
  %5 = tfm.transpose %4 [0, 2, 1, 3] : tensor<1x5x2x4xf32> -> tensor<1x2x5x4xf32>
  %6 = tfm.reshape %1 : tensor<1x6x5x4xf32> -> tensor<1x2x3x5x4xf32>
  %7 = tfm.reshape %3 : tensor<1x2x5x4xf32> -> tensor<1x2x1x5x4xf32>
  %8 = tfm.matmul %6, %7 transpose_rhs : (tensor<1x2x3x5x4xf32>, tensor<1x2x1x5x4xf32>) -> tensor<1x2x3x5x5xf32>
  %9 = tfm.reshape %8 : tensor<1x2x3x5x5xf32> -> tensor<1x6x5x5xf32>
  %10 = tfm.scale %9 by 5.000000e-01 : tensor<1x6x5x5xf32>
  %11 = tfm.causal_mask : tensor<5x5xf32>
  %12 = tfm.add %10, %11 : tensor<1x6x5x5xf32>, tensor<5x5xf32>
  %13 = tfm.softmax %12 axis 3 : tensor<1x6x5x5xf32>
  %18 = tfm.reshape %13 : tensor<1x6x5x5xf32> -> tensor<1x2x3x5x5xf32>
  %19 = tfm.reshape %5 : tensor<1x2x5x4xf32> -> tensor<1x2x1x5x4xf32>
  // expected-remark @below {{fused into tfm.attention}}
  %20 = tfm.matmul %18, %19 : (tensor<1x2x3x5x5xf32>, tensor<1x2x1x5x4xf32>) -> tensor<1x2x3x5x4xf32>
  %21 = tfm.reshape %20 : tensor<1x2x3x5x4xf32> -> tensor<1x6x5x4xf32>
  %22 = tfm.transpose %21 [0, 2, 1, 3] : tensor<1x6x5x4xf32> -> tensor<1x5x6x4xf32>
  %23 = tfm.reshape %22 : tensor<1x5x6x4xf32> -> tensor<1x5x24xf32>
  return %23 : tensor<1x5x24xf32>
}

// -----

// Heads already explicit ([B, H, S, D] and [B, kv, S, D]): the fused op
// keeps that layout and replaces the ungrouping reshape.
// CHECK-LABEL: func.func @grouped_query_explicit
// CHECK-NEXT: %[[A:.+]] = tfm.attention %{{.+}}, %{{.+}}, %{{.+}} heads 4 kv_heads 1 scale 1.000000e+00 : (tensor<2x4x3x8xf32>, tensor<2x1x7x8xf32>, tensor<2x1x7x8xf32>) -> tensor<2x4x3x8xf32>
// CHECK-NEXT: return %[[A]]
func.func @grouped_query_explicit(%q: tensor<2x4x3x8xf32>, %k: tensor<2x1x7x8xf32>, %v: tensor<2x1x7x8xf32>) -> tensor<2x4x3x8xf32> {
  %qg = tfm.reshape %q : tensor<2x4x3x8xf32> -> tensor<2x1x4x3x8xf32>
  %kg = tfm.reshape %k : tensor<2x1x7x8xf32> -> tensor<2x1x1x7x8xf32>
  %vg = tfm.reshape %v : tensor<2x1x7x8xf32> -> tensor<2x1x1x7x8xf32>
  %s = tfm.matmul %qg, %kg transpose_rhs : (tensor<2x1x4x3x8xf32>, tensor<2x1x1x7x8xf32>) -> tensor<2x1x4x3x7xf32>
  %su = tfm.reshape %s : tensor<2x1x4x3x7xf32> -> tensor<2x4x3x7xf32>
  %p = tfm.softmax %su axis 3 : tensor<2x4x3x7xf32>
  %pg = tfm.reshape %p : tensor<2x4x3x7xf32> -> tensor<2x1x4x3x7xf32>
  // expected-remark @below {{fused into tfm.attention}}
  %o = tfm.matmul %pg, %vg : (tensor<2x1x4x3x7xf32>, tensor<2x1x1x7x8xf32>) -> tensor<2x1x4x3x8xf32>
  %ou = tfm.reshape %o : tensor<2x1x4x3x8xf32> -> tensor<2x4x3x8xf32>
  return %ou : tensor<2x4x3x8xf32>
}

// -----

// Not grouped-query attention: the probabilities are regrouped differently
// from the scores (groups of 2 against a key view grouped by 1 of 4 heads).
// CHECK-LABEL: func.func @grouped_query_mismatch
// CHECK-NOT: tfm.attention
func.func @grouped_query_mismatch(%q: tensor<2x4x3x8xf32>, %k: tensor<2x1x7x8xf32>, %v: tensor<2x2x7x8xf32>) -> tensor<2x4x3x8xf32> {
  %qg = tfm.reshape %q : tensor<2x4x3x8xf32> -> tensor<2x1x4x3x8xf32>
  %kg = tfm.reshape %k : tensor<2x1x7x8xf32> -> tensor<2x1x1x7x8xf32>
  %vg = tfm.reshape %v : tensor<2x2x7x8xf32> -> tensor<2x2x1x7x8xf32>
  %s = tfm.matmul %qg, %kg transpose_rhs : (tensor<2x1x4x3x8xf32>, tensor<2x1x1x7x8xf32>) -> tensor<2x1x4x3x7xf32>
  %su = tfm.reshape %s : tensor<2x1x4x3x7xf32> -> tensor<2x4x3x7xf32>
  %p = tfm.softmax %su axis 3 : tensor<2x4x3x7xf32>
  %pg = tfm.reshape %p : tensor<2x4x3x7xf32> -> tensor<2x2x2x3x7xf32>
  // expected-remark @below {{not fused into tfm.attention: the grouped-query views of Q, K or V are not [B, H, S, D] -> [B, kv, groups (Q) or 1, S, D]}}
  %o = tfm.matmul %pg, %vg : (tensor<2x2x2x3x7xf32>, tensor<2x2x1x7x8xf32>) -> tensor<2x2x2x3x8xf32>
  %ou = tfm.reshape %o : tensor<2x2x2x3x8xf32> -> tensor<2x4x3x8xf32>
  return %ou : tensor<2x4x3x8xf32>
}

// -----

// A sliding-window causal mask (Mistral) becomes the op's window.
// CHECK-LABEL: func.func @sliding_window
// CHECK: tfm.attention %{{.*}}, %{{.*}}, %{{.*}} heads 3 scale 5.000000e-01 causal window 2 :
func.func @sliding_window(%q: tensor<1x5x12xf32>, %k: tensor<1x5x12xf32>, %v: tensor<1x5x12xf32>) -> tensor<1x5x12xf32> {
  %qr = tfm.reshape %q : tensor<1x5x12xf32> -> tensor<1x5x3x4xf32>
  %qh = tfm.transpose %qr [0, 2, 1, 3] : tensor<1x5x3x4xf32> -> tensor<1x3x5x4xf32>
  %kr = tfm.reshape %k : tensor<1x5x12xf32> -> tensor<1x5x3x4xf32>
  %kh = tfm.transpose %kr [0, 2, 1, 3] : tensor<1x5x3x4xf32> -> tensor<1x3x5x4xf32>
  %vr = tfm.reshape %v : tensor<1x5x12xf32> -> tensor<1x5x3x4xf32>
  %vh = tfm.transpose %vr [0, 2, 1, 3] : tensor<1x5x3x4xf32> -> tensor<1x3x5x4xf32>
  %s = tfm.matmul %qh, %kh transpose_rhs : (tensor<1x3x5x4xf32>, tensor<1x3x5x4xf32>) -> tensor<1x3x5x5xf32>
  %ss = tfm.scale %s by 0.5 : tensor<1x3x5x5xf32>
  %cm = tfm.causal_mask window 2 : tensor<5x5xf32>
  %sm = tfm.add %ss, %cm : tensor<1x3x5x5xf32>, tensor<5x5xf32>
  %p = tfm.softmax %sm axis 3 : tensor<1x3x5x5xf32>
  // expected-remark @below {{fused into tfm.attention}}
  %o = tfm.matmul %p, %vh : (tensor<1x3x5x5xf32>, tensor<1x3x5x4xf32>) -> tensor<1x3x5x4xf32>
  %ot = tfm.transpose %o [0, 2, 1, 3] : tensor<1x3x5x4xf32> -> tensor<1x5x3x4xf32>
  %om = tfm.reshape %ot : tensor<1x5x3x4xf32> -> tensor<1x5x12xf32>
  return %om : tensor<1x5x12xf32>
}
