// RUN: tfmc-opt %s -tfm-fusion-pipeline > %t.fused.mlir
// RUN: FileCheck %s < %t.fused.mlir
// Round trip: decomposing every fused op (AggregatedOpInterface) and running
// the fusion pipeline again gives back exactly the same IR.
// RUN: tfmc-opt %t.fused.mlir -tfm-decompose -tfm-fusion-pipeline > %t.again.mlir
// RUN: diff %t.fused.mlir %t.again.mlir
// RUN: tfmc-opt %t.fused.mlir -tfm-decompose | FileCheck %s --check-prefix=DECOMPOSED

// One pre-LN decoder layer written as primitives, and one post-LN encoder
// layer whose softmax, norm and GELU are already composite.

// CHECK-LABEL: func.func @pre_ln_layer
// CHECK-SAME: (%[[X:.+]]: tensor<1x5x12xf32>)
// CHECK: %[[H:.+]] = tfm.layer_norm %[[X]]
// CHECK: %[[QKV:.+]] = tfm.linear %[[H]], %{{.+}} bias %{{.+}} : (tensor<1x5x12xf32>, tensor<36x12xf32>, tensor<36xf32>) -> tensor<1x5x36xf32>
// CHECK: %[[A:.+]] = tfm.attention %{{.+}}, %{{.+}}, %{{.+}} heads 3 scale 5.000000e-01 causal
// CHECK: %[[O:.+]] = tfm.linear %[[A]]
// CHECK: %[[N:.+]], %[[S:.+]] = tfm.add_layer_norm %[[X]], %[[O]]
// CHECK: %[[F:.+]] = tfm.linear %[[N]], {{.*}} epilogue {
// CHECK: math.tanh
// The last residual add has no norm after it: it joins fc2's epilogue.
// CHECK: %[[G:.+]] = tfm.linear %[[F]], %{{.+}} inputs(%[[S]]) {{.*}} epilogue {
// CHECK-NEXT: ^bb0(%[[ACC:.+]]: f32, %[[RES:.+]]: f32):
// CHECK-NEXT: %[[R:.+]] = arith.addf %[[RES]], %[[ACC]] : f32
// CHECK-NEXT: tfm.yield %[[R]]
// CHECK: return %[[G]]
// CHECK-NOT: tfm.softmax
// DECOMPOSED-LABEL: func.func @pre_ln_layer
// DECOMPOSED-NOT: tfm.attention
// DECOMPOSED-NOT: tfm.add_layer_norm
// DECOMPOSED-NOT: epilogue
// DECOMPOSED: return
func.func @pre_ln_layer(%x: tensor<1x5x12xf32>) -> tensor<1x5x12xf32> {
  %eps = tfm.constant dense<1.0e-5> : tensor<f32>
  %one = tfm.constant dense<1.0> : tensor<f32>
  %three = tfm.constant dense<3.0> : tensor<f32>
  // LayerNorm, expanded.
  %g1 = tfm.weight "ln1.weight" : tensor<12xf32>
  %b1 = tfm.weight "ln1.bias" : tensor<12xf32>
  %mean = tfm.reduce_mean %x [2] keep_dims : tensor<1x5x12xf32> -> tensor<1x5x1xf32>
  %c = tfm.sub %x, %mean : tensor<1x5x12xf32>, tensor<1x5x1xf32>
  %sq = tfm.mul %c, %c : tensor<1x5x12xf32>, tensor<1x5x12xf32>
  %var = tfm.reduce_mean %sq [2] keep_dims : tensor<1x5x12xf32> -> tensor<1x5x1xf32>
  %ve = tfm.add %var, %eps : tensor<1x5x1xf32>, tensor<f32>
  %sd = tfm.sqrt %ve : tensor<1x5x1xf32>
  %n1 = tfm.div %c, %sd : tensor<1x5x12xf32>, tensor<1x5x1xf32>
  %s1 = tfm.mul %n1, %g1 : tensor<1x5x12xf32>, tensor<12xf32>
  %h = tfm.add %s1, %b1 : tensor<1x5x12xf32>, tensor<12xf32>
  // Q, K, V projections.
  %wq = tfm.weight "q.weight" : tensor<12x12xf32>
  %bq = tfm.weight "q.bias" : tensor<12xf32>
  %wk = tfm.weight "k.weight" : tensor<12x12xf32>
  %bk = tfm.weight "k.bias" : tensor<12xf32>
  %wv = tfm.weight "v.weight" : tensor<12x12xf32>
  %bv = tfm.weight "v.bias" : tensor<12xf32>
  %q = tfm.linear %h, %wq bias %bq : (tensor<1x5x12xf32>, tensor<12x12xf32>, tensor<12xf32>) -> tensor<1x5x12xf32>
  %k = tfm.linear %h, %wk bias %bk : (tensor<1x5x12xf32>, tensor<12x12xf32>, tensor<12xf32>) -> tensor<1x5x12xf32>
  %v = tfm.linear %h, %wv bias %bv : (tensor<1x5x12xf32>, tensor<12x12xf32>, tensor<12xf32>) -> tensor<1x5x12xf32>
  // Scaled dot-product attention with an unstable, expanded softmax.
  %qr = tfm.reshape %q : tensor<1x5x12xf32> -> tensor<1x5x3x4xf32>
  %qh = tfm.transpose %qr [0, 2, 1, 3] : tensor<1x5x3x4xf32> -> tensor<1x3x5x4xf32>
  %kr = tfm.reshape %k : tensor<1x5x12xf32> -> tensor<1x5x3x4xf32>
  %kh = tfm.transpose %kr [0, 2, 1, 3] : tensor<1x5x3x4xf32> -> tensor<1x3x5x4xf32>
  %vr = tfm.reshape %v : tensor<1x5x12xf32> -> tensor<1x5x3x4xf32>
  %vh = tfm.transpose %vr [0, 2, 1, 3] : tensor<1x5x3x4xf32> -> tensor<1x3x5x4xf32>
  %sc = tfm.matmul %qh, %kh transpose_rhs : (tensor<1x3x5x4xf32>, tensor<1x3x5x4xf32>) -> tensor<1x3x5x5xf32>
  %ss = tfm.scale %sc by 0.5 : tensor<1x3x5x5xf32>
  %cm = tfm.causal_mask : tensor<5x5xf32>
  %sm = tfm.add %ss, %cm : tensor<1x3x5x5xf32>, tensor<5x5xf32>
  %e = tfm.exp %sm : tensor<1x3x5x5xf32>
  %es = tfm.reduce_sum %e [3] keep_dims : tensor<1x3x5x5xf32> -> tensor<1x3x5x1xf32>
  %p = tfm.div %e, %es : tensor<1x3x5x5xf32>, tensor<1x3x5x1xf32>
  %o = tfm.matmul %p, %vh : (tensor<1x3x5x5xf32>, tensor<1x3x5x4xf32>) -> tensor<1x3x5x4xf32>
  %ot = tfm.transpose %o [0, 2, 1, 3] : tensor<1x3x5x4xf32> -> tensor<1x5x3x4xf32>
  %om = tfm.reshape %ot : tensor<1x5x3x4xf32> -> tensor<1x5x12xf32>
  %wo = tfm.weight "o.weight" : tensor<12x12xf32>
  %ao = tfm.linear %om, %wo : (tensor<1x5x12xf32>, tensor<12x12xf32>) -> tensor<1x5x12xf32>
  %x1 = tfm.add %x, %ao : tensor<1x5x12xf32>, tensor<1x5x12xf32>
  // FFN with an expanded tanh GELU.
  %g2 = tfm.weight "ln2.weight" : tensor<12xf32>
  %n2 = tfm.layer_norm %x1 scale %g2 axis 2 eps 9.9999997473787516E-6 : (tensor<1x5x12xf32>, tensor<12xf32>) -> tensor<1x5x12xf32>
  %w1 = tfm.weight "fc1.weight" : tensor<24x12xf32>
  %f1 = tfm.linear %n2, %w1 : (tensor<1x5x12xf32>, tensor<24x12xf32>) -> tensor<1x5x24xf32>
  %cube = tfm.pow %f1, %three : tensor<1x5x24xf32>, tensor<f32>
  %kc = tfm.scale %cube by 0.044715 : tensor<1x5x24xf32>
  %poly = tfm.add %f1, %kc : tensor<1x5x24xf32>, tensor<1x5x24xf32>
  %u = tfm.scale %poly by 0.79788456080286541 : tensor<1x5x24xf32>
  %t = tfm.tanh %u : tensor<1x5x24xf32>
  %t1 = tfm.add %t, %one : tensor<1x5x24xf32>, tensor<f32>
  %gm = tfm.mul %f1, %t1 : tensor<1x5x24xf32>, tensor<1x5x24xf32>
  %gelu = tfm.scale %gm by 0.5 : tensor<1x5x24xf32>
  %w2 = tfm.weight "fc2.weight" : tensor<12x24xf32>
  %f2 = tfm.linear %gelu, %w2 : (tensor<1x5x24xf32>, tensor<12x24xf32>) -> tensor<1x5x12xf32>
  %x2 = tfm.add %x1, %f2 : tensor<1x5x12xf32>, tensor<1x5x12xf32>
  return %x2 : tensor<1x5x12xf32>
}

// CHECK-LABEL: func.func @post_ln_layer
// CHECK: tfm.attention %{{.+}}, %{{.+}}, %{{.+}} mask %{{.+}} heads 2 scale
// CHECK: %[[N1:.+]], %{{.+}} = tfm.add_rms_norm
// CHECK: tfm.linear %[[N1]], {{.*}} epilogue {
// CHECK: math.erf
// CHECK: %[[N2:.+]], %{{.+}} = tfm.add_rms_norm
// CHECK: return %[[N2]]
func.func @post_ln_layer(%x: tensor<2x4x8xf32>, %m: tensor<2x1x1x4xf32>) -> tensor<2x4x8xf32> {
  %wq = tfm.weight "q" : tensor<8x8xf32>
  %wk = tfm.weight "k" : tensor<8x8xf32>
  %wv = tfm.weight "v" : tensor<8x8xf32>
  %q = tfm.linear %x, %wq : (tensor<2x4x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %k = tfm.linear %x, %wk : (tensor<2x4x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %v = tfm.linear %x, %wv : (tensor<2x4x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8xf32>
  %qr = tfm.reshape %q : tensor<2x4x8xf32> -> tensor<2x4x2x4xf32>
  %qh = tfm.transpose %qr [0, 2, 1, 3] : tensor<2x4x2x4xf32> -> tensor<2x2x4x4xf32>
  %kr = tfm.reshape %k : tensor<2x4x8xf32> -> tensor<2x4x2x4xf32>
  %kh = tfm.transpose %kr [0, 2, 1, 3] : tensor<2x4x2x4xf32> -> tensor<2x2x4x4xf32>
  %vr = tfm.reshape %v : tensor<2x4x8xf32> -> tensor<2x4x2x4xf32>
  %vh = tfm.transpose %vr [0, 2, 1, 3] : tensor<2x4x2x4xf32> -> tensor<2x2x4x4xf32>
  %sc = tfm.matmul %qh, %kh transpose_rhs : (tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %ss = tfm.scale %sc by 0.5 : tensor<2x2x4x4xf32>
  %sm = tfm.add %ss, %m : tensor<2x2x4x4xf32>, tensor<2x1x1x4xf32>
  %p = tfm.softmax %sm axis 3 : tensor<2x2x4x4xf32>
  %o = tfm.matmul %p, %vh : (tensor<2x2x4x4xf32>, tensor<2x2x4x4xf32>) -> tensor<2x2x4x4xf32>
  %ot = tfm.transpose %o [0, 2, 1, 3] : tensor<2x2x4x4xf32> -> tensor<2x4x2x4xf32>
  %om = tfm.reshape %ot : tensor<2x4x2x4xf32> -> tensor<2x4x8xf32>
  %r1 = tfm.add %x, %om : tensor<2x4x8xf32>, tensor<2x4x8xf32>
  %g1 = tfm.weight "n1" : tensor<8xf32>
  %x1 = tfm.rms_norm %r1 scale %g1 axis 2 eps 9.9999999747524271E-7 : (tensor<2x4x8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  %w1 = tfm.weight "fc1" : tensor<16x8xf32>
  %b1 = tfm.weight "fc1.bias" : tensor<16xf32>
  %f1 = tfm.linear %x1, %w1 bias %b1 : (tensor<2x4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<2x4x16xf32>
  %g = tfm.gelu %f1 : tensor<2x4x16xf32>
  %w2 = tfm.weight "fc2" : tensor<8x16xf32>
  %f2 = tfm.linear %g, %w2 : (tensor<2x4x16xf32>, tensor<8x16xf32>) -> tensor<2x4x8xf32>
  %r2 = tfm.add %x1, %f2 : tensor<2x4x8xf32>, tensor<2x4x8xf32>
  %g2 = tfm.weight "n2" : tensor<8xf32>
  %x2 = tfm.rms_norm %r2 scale %g2 axis 2 eps 9.9999999747524271E-7 : (tensor<2x4x8xf32>, tensor<8xf32>) -> tensor<2x4x8xf32>
  return %x2 : tensor<2x4x8xf32>
}
