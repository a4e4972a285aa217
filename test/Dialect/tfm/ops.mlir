// RUN: tfmc-opt %s | tfmc-opt | FileCheck %s
// RUN: tfmc-opt %s -mlir-print-op-generic | tfmc-opt | FileCheck %s

// Round trip of every tfm op, in the custom and in the generic form.

// CHECK-LABEL: func.func @params
func.func @params() -> (tensor<96x96xf32>, tensor<288x96xf32>, tensor<f32>) {
  // CHECK: tfm.weight "layer.q" : tensor<96x96xf32>
  %w = tfm.weight "layer.q" : tensor<96x96xf32>
  // CHECK: tfm.weight "layer.qkv" concat ["layer.q", "layer.k", "layer.v"] axis 0 : tensor<288x96xf32>
  %qkv = tfm.weight "layer.qkv" concat ["layer.q", "layer.k", "layer.v"] axis 0 : tensor<288x96xf32>
  // CHECK: tfm.constant dense<5.000000e-01> : tensor<f32>
  %c = tfm.constant dense<0.5> : tensor<f32>
  return %w, %qkv, %c : tensor<96x96xf32>, tensor<288x96xf32>, tensor<f32>
}

// CHECK-LABEL: func.func @embeddings
func.func @embeddings(%ids: tensor<2x37xi64>, %ids32: tensor<2x37xi32>, %am: tensor<2x37xi64>, %off: index, %len: index)
    -> (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<37x96xf32>, tensor<?x96xf32>, tensor<37x37xf32>, tensor<?x?xf32>, tensor<2x1x1x37xf32>) {
  %t = tfm.weight "emb" : tensor<1000x96xf32>
  // CHECK: tfm.embedding %{{.*}}, %{{.*}} : (tensor<1000x96xf32>, tensor<2x37xi64>) -> tensor<2x37x96xf32>
  %e = tfm.embedding %t, %ids : (tensor<1000x96xf32>, tensor<2x37xi64>) -> tensor<2x37x96xf32>
  // CHECK: tfm.embedding %{{.*}}, %{{.*}} : (tensor<1000x96xf32>, tensor<2x37xi32>) -> tensor<2x37x96xf32>
  %e32 = tfm.embedding %t, %ids32 : (tensor<1000x96xf32>, tensor<2x37xi32>) -> tensor<2x37x96xf32>
  // CHECK: tfm.positional_encoding : tensor<37x96xf32>
  %pe = tfm.positional_encoding : tensor<37x96xf32>
  // CHECK: tfm.positional_encoding offset %{{.*}} sizes(%{{.*}}) {base = 5.000000e+02 : f64} : tensor<?x96xf32>
  %ped = tfm.positional_encoding offset %off sizes(%len) {base = 500.0} : tensor<?x96xf32>
  // CHECK: tfm.causal_mask : tensor<37x37xf32>
  %cm = tfm.causal_mask : tensor<37x37xf32>
  // CHECK: tfm.causal_mask offset %{{.*}} sizes(%{{.*}}, %{{.*}}) {value = -1.000000e+04 : f64} : tensor<?x?xf32>
  %cmd = tfm.causal_mask offset %off sizes(%len, %len) {value = -1.0e4} : tensor<?x?xf32>
  // CHECK: tfm.causal_mask offset %{{.*}} window 16 sizes(%{{.*}}, %{{.*}}) : tensor<?x?xf32>
  %cmw = tfm.causal_mask offset %off window 16 sizes(%len, %len) : tensor<?x?xf32>
  %rt = tfm.weight "rel" : tensor<32x6xf32>
  // CHECK: tfm.relative_position_bias %{{.*}} max_distance 128 bidirectional : tensor<32x6xf32> -> tensor<1x6x37x37xf32>
  %rb = tfm.relative_position_bias %rt max_distance 128 bidirectional : tensor<32x6xf32> -> tensor<1x6x37x37xf32>
  // CHECK: tfm.relative_position_bias %{{.*}} offset %{{.*}} max_distance 64 sizes(%{{.*}}) : tensor<32x6xf32> -> tensor<1x6x1x?xf32>
  %rbd = tfm.relative_position_bias %rt offset %off max_distance 64 sizes(%len) : tensor<32x6xf32> -> tensor<1x6x1x?xf32>
  // CHECK: tfm.padding_mask %{{.*}} : tensor<2x37xi64> -> tensor<2x1x1x37xf32>
  %pm = tfm.padding_mask %am : tensor<2x37xi64> -> tensor<2x1x1x37xf32>
  return %e, %e32, %pe, %ped, %cm, %cmd, %pm : tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<37x96xf32>, tensor<?x96xf32>, tensor<37x37xf32>, tensor<?x?xf32>, tensor<2x1x1x37xf32>
}

// CHECK-LABEL: func.func @rotary
func.func @rotary(%x: tensor<1x37x8x64xf32>, %y: tensor<1x?x2x64xbf16>, %past: index)
    -> (tensor<1x37x8x64xf32>, tensor<1x?x2x64xbf16>, tensor<1x37x8x64xf32>) {
  // CHECK: tfm.rotary %{{.*}} base 1.000000e+04 : tensor<1x37x8x64xf32>
  %q = tfm.rotary %x base 1.000000e+04 : tensor<1x37x8x64xf32>
  // CHECK: tfm.rotary %{{.*}} base 1.000000e+04 dims 4 interleaved : tensor<1x37x8x64xf32>
  %ri = tfm.rotary %x base 1.000000e+04 dims 4 interleaved : tensor<1x37x8x64xf32>
  // CHECK: tfm.rotary %{{.*}} offset %{{.*}} base 5.000000e+05 dims 32 : tensor<1x?x2x64xbf16>
  %k0 = tfm.rotary %y offset %past base 5.000000e+05 dims 32 : tensor<1x?x2x64xbf16>
  // CHECK: tfm.rotary %{{.*}} base 5.000000e+05 dims 32 scaling 4.000000e+00 : tensor<1x?x2x64xbf16>
  %k = tfm.rotary %k0 base 5.000000e+05 dims 32 scaling 4.000000e+00 : tensor<1x?x2x64xbf16>
  // CHECK: tfm.cos %{{.*}} : tensor<1x37x8x64xf32>
  %c = tfm.cos %q : tensor<1x37x8x64xf32>
  // CHECK: tfm.sin %{{.*}} : tensor<1x37x8x64xf32>
  %s = tfm.sin %c : tensor<1x37x8x64xf32>
  return %q, %k, %s : tensor<1x37x8x64xf32>, tensor<1x?x2x64xbf16>, tensor<1x37x8x64xf32>
}

// CHECK-LABEL: func.func @contractions
func.func @contractions(%q: tensor<2x3x37x32xf32>, %k: tensor<2x3x37x32xf32>, %a: tensor<5x4xf32>, %b: tensor<3x4x6xf32>,
                        %x: tensor<2x37x96xf32>, %r: tensor<2x37x384xf32>)
    -> (tensor<2x3x37x37xf32>, tensor<3x5x6xf32>, tensor<2x37x384xf32>, tensor<2x37x384xf32>, tensor<2x37x96xf32>) {
  // CHECK: tfm.matmul %{{.*}}, %{{.*}} transpose_rhs : (tensor<2x3x37x32xf32>, tensor<2x3x37x32xf32>) -> tensor<2x3x37x37xf32>
  %s = tfm.matmul %q, %k transpose_rhs : (tensor<2x3x37x32xf32>, tensor<2x3x37x32xf32>) -> tensor<2x3x37x37xf32>
  // CHECK: tfm.matmul %{{.*}}, %{{.*}} : (tensor<5x4xf32>, tensor<3x4x6xf32>) -> tensor<3x5x6xf32>
  %m = tfm.matmul %a, %b : (tensor<5x4xf32>, tensor<3x4x6xf32>) -> tensor<3x5x6xf32>
  %w = tfm.weight "fc1.weight" : tensor<384x96xf32>
  %bias = tfm.weight "fc1.bias" : tensor<384xf32>
  // CHECK: tfm.linear %{{.*}}, %{{.*}} bias %{{.*}} : (tensor<2x37x96xf32>, tensor<384x96xf32>, tensor<384xf32>) -> tensor<2x37x384xf32>
  %l = tfm.linear %x, %w bias %bias : (tensor<2x37x96xf32>, tensor<384x96xf32>, tensor<384xf32>) -> tensor<2x37x384xf32>
  // CHECK: tfm.linear %{{.*}}, %{{.*}} bias %{{.*}} inputs(%{{.*}}) : (tensor<2x37x96xf32>, tensor<384x96xf32>, tensor<384xf32>, tensor<2x37x384xf32>) -> tensor<2x37x384xf32> epilogue {
  // CHECK-NEXT: ^bb0(%[[ACC:.+]]: f32, %[[RES:.+]]: f32):
  // CHECK: %[[ZERO:.+]] = arith.constant 0.000000e+00 : f32
  // CHECK: %[[RELU:.+]] = arith.maximumf %[[ACC]], %[[ZERO]] : f32
  // CHECK: %[[SUM:.+]] = arith.addf %[[RELU]], %[[RES]] : f32
  // CHECK: tfm.yield %[[SUM]] : f32
  %le = tfm.linear %x, %w bias %bias inputs(%r) : (tensor<2x37x96xf32>, tensor<384x96xf32>, tensor<384xf32>, tensor<2x37x384xf32>) -> tensor<2x37x384xf32> epilogue {
  ^bb0(%acc: f32, %res: f32):
    %z = arith.constant 0.0 : f32
    %relu = arith.maximumf %acc, %z : f32
    %sum = arith.addf %relu, %res : f32
    tfm.yield %sum : f32
  }
  %wkn = tfm.weight "c_proj.weight" : tensor<96x96xf32>
  // CHECK: tfm.linear %{{.*}}, %{{.*}} weight_kn : (tensor<2x37x96xf32>, tensor<96x96xf32>) -> tensor<2x37x96xf32>
  %lkn = tfm.linear %x, %wkn weight_kn : (tensor<2x37x96xf32>, tensor<96x96xf32>) -> tensor<2x37x96xf32>
  // A gated linear: 2 x 192 weight features, 192 results, both halves in
  // the epilogue.
  // CHECK: tfm.linear %{{.*}}, %{{.*}} bias %{{.*}} gated : (tensor<2x37x96xf32>, tensor<384x96xf32>, tensor<384xf32>) -> tensor<2x37x192xf32> epilogue {
  // CHECK-NEXT: ^bb0(%[[G:.+]]: f32, %[[U:.+]]: f32):
  // CHECK: arith.mulf %[[G]], %[[U]] : f32
  %lg = tfm.linear %x, %w bias %bias gated : (tensor<2x37x96xf32>, tensor<384x96xf32>, tensor<384xf32>) -> tensor<2x37x192xf32> epilogue {
  ^bb0(%g: f32, %u: f32):
    %p = arith.mulf %g, %u : f32
    tfm.yield %p : f32
  }
  return %s, %m, %l, %le, %lkn : tensor<2x3x37x37xf32>, tensor<3x5x6xf32>, tensor<2x37x384xf32>, tensor<2x37x384xf32>, tensor<2x37x96xf32>
}

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%x: tensor<2x37x96xf32>, %b: tensor<96xf32>, %h: tensor<2x37x96xf16>, %bf: tensor<4xbf16>) {
  // CHECK: tfm.add %{{.*}}, %{{.*}} : tensor<2x37x96xf32>, tensor<96xf32>
  %0 = tfm.add %x, %b : tensor<2x37x96xf32>, tensor<96xf32>
  // CHECK: tfm.sub %{{.*}}, %{{.*}} : tensor<2x37x96xf32>, tensor<96xf32>
  %1 = tfm.sub %x, %b : tensor<2x37x96xf32>, tensor<96xf32>
  // CHECK: tfm.mul %{{.*}}, %{{.*}} : tensor<96xf32>, tensor<2x37x96xf32>
  %2 = tfm.mul %b, %x : tensor<96xf32>, tensor<2x37x96xf32>
  // CHECK: tfm.div %{{.*}}, %{{.*}} : tensor<2x37x96xf32>, tensor<2x37x96xf32>
  %3 = tfm.div %x, %x : tensor<2x37x96xf32>, tensor<2x37x96xf32>
  // CHECK: tfm.pow %{{.*}}, %{{.*}} : tensor<2x37x96xf32>, tensor<96xf32>
  %4 = tfm.pow %x, %b : tensor<2x37x96xf32>, tensor<96xf32>
  // CHECK: tfm.exp %{{.*}} : tensor<2x37x96xf32>
  %5 = tfm.exp %x : tensor<2x37x96xf32>
  // CHECK: tfm.sqrt %{{.*}} : tensor<2x37x96xf32>
  %6 = tfm.sqrt %x : tensor<2x37x96xf32>
  // CHECK: tfm.rsqrt %{{.*}} : tensor<2x37x96xf32>
  %7 = tfm.rsqrt %x : tensor<2x37x96xf32>
  // CHECK: tfm.tanh %{{.*}} : tensor<2x37x96xf32>
  %8 = tfm.tanh %x : tensor<2x37x96xf32>
  // CHECK: tfm.erf %{{.*}} : tensor<2x37x96xf32>
  %9 = tfm.erf %x : tensor<2x37x96xf32>
  // CHECK: tfm.relu %{{.*}} : tensor<2x37x96xf32>
  %10 = tfm.relu %x : tensor<2x37x96xf32>
  // CHECK: tfm.sigmoid %{{.*}} : tensor<2x37x96xf32>
  %11 = tfm.sigmoid %x : tensor<2x37x96xf32>
  // CHECK: tfm.silu %{{.*}} : tensor<2x37x96xf32>
  %12 = tfm.silu %x : tensor<2x37x96xf32>
  // CHECK: tfm.gelu %{{.*}} : tensor<2x37x96xf32>
  %13 = tfm.gelu %x : tensor<2x37x96xf32>
  // CHECK: tfm.gelu %{{.*}} approximate tanh : tensor<2x37x96xf32>
  %14 = tfm.gelu %x approximate tanh : tensor<2x37x96xf32>
  // CHECK: tfm.scale %{{.*}} by 1.250000e-01 : tensor<2x37x96xf32>
  %15 = tfm.scale %x by 0.125 : tensor<2x37x96xf32>
  // f16 and bf16 are accepted by every verifier.
  // CHECK: tfm.gelu %{{.*}} : tensor<2x37x96xf16>
  %16 = tfm.gelu %h : tensor<2x37x96xf16>
  // CHECK: tfm.add %{{.*}}, %{{.*}} : tensor<4xbf16>, tensor<4xbf16>
  %17 = tfm.add %bf, %bf : tensor<4xbf16>, tensor<4xbf16>
  return
}

// CHECK-LABEL: func.func @reductions_and_shapes
func.func @reductions_and_shapes(%x: tensor<2x37x96xf32>, %y: tensor<2x37x32xf32>, %idx: tensor<4xi64>, %dyn: tensor<1x2x3x?x?xf32>) {
  // CHECK: tfm.reduce_max %{{.*}} [2] keep_dims : tensor<2x37x96xf32> -> tensor<2x37x1xf32>
  %0 = tfm.reduce_max %x [2] keep_dims : tensor<2x37x96xf32> -> tensor<2x37x1xf32>
  // CHECK: tfm.reduce_sum %{{.*}} [1, 2] : tensor<2x37x96xf32> -> tensor<2xf32>
  %1 = tfm.reduce_sum %x [1, 2] : tensor<2x37x96xf32> -> tensor<2xf32>
  // CHECK: tfm.reduce_mean %{{.*}} [2] keep_dims : tensor<2x37x96xf32> -> tensor<2x37x1xf32>
  %2 = tfm.reduce_mean %x [2] keep_dims : tensor<2x37x96xf32> -> tensor<2x37x1xf32>
  // CHECK: tfm.reshape %{{.*}} : tensor<2x37x96xf32> -> tensor<2x37x3x32xf32>
  %3 = tfm.reshape %x : tensor<2x37x96xf32> -> tensor<2x37x3x32xf32>
  // Several dynamic dims kept in order, the static ones between regrouped.
  // CHECK: tfm.reshape %{{.*}} : tensor<1x2x3x?x?xf32> -> tensor<1x6x?x?xf32>
  %g = tfm.reshape %dyn : tensor<1x2x3x?x?xf32> -> tensor<1x6x?x?xf32>
  // CHECK: tfm.transpose %{{.*}} [0, 2, 1, 3] : tensor<2x37x3x32xf32> -> tensor<2x3x37x32xf32>
  %4 = tfm.transpose %3 [0, 2, 1, 3] : tensor<2x37x3x32xf32> -> tensor<2x3x37x32xf32>
  // CHECK: tfm.concat %{{.*}}, %{{.*}} axis 2 : (tensor<2x37x96xf32>, tensor<2x37x32xf32>) -> tensor<2x37x128xf32>
  %5 = tfm.concat %x, %y axis 2 : (tensor<2x37x96xf32>, tensor<2x37x32xf32>) -> tensor<2x37x128xf32>
  // CHECK: tfm.slice %{{.*}} axis 2 [32 : 64] : tensor<2x37x96xf32> -> tensor<2x37x32xf32>
  %6 = tfm.slice %x axis 2 [32 : 64] : tensor<2x37x96xf32> -> tensor<2x37x32xf32>
  // CHECK: tfm.gather %{{.*}}, %{{.*}} axis 1 : (tensor<2x37x96xf32>, tensor<4xi64>) -> tensor<2x4x96xf32>
  %7 = tfm.gather %x, %idx axis 1 : (tensor<2x37x96xf32>, tensor<4xi64>) -> tensor<2x4x96xf32>
  return
}

// CHECK-LABEL: func.func @norms
func.func @norms(%x: tensor<2x37x96xf32>, %r: tensor<2x37x96xf32>, %g: tensor<96xf32>, %b: tensor<96xf32>, %g2: tensor<37x96xf32>) {
  // CHECK: tfm.softmax %{{.*}} axis 2 : tensor<2x37x96xf32>
  %0 = tfm.softmax %x axis 2 : tensor<2x37x96xf32>
  // CHECK: tfm.layer_norm %{{.*}} scale %{{.*}} bias %{{.*}} axis 2 eps 1.000000e-05 : (tensor<2x37x96xf32>, tensor<96xf32>, tensor<96xf32>) -> tensor<2x37x96xf32>
  %1 = tfm.layer_norm %x scale %g bias %b axis 2 eps 1.0e-5 : (tensor<2x37x96xf32>, tensor<96xf32>, tensor<96xf32>) -> tensor<2x37x96xf32>
  // CHECK: tfm.layer_norm %{{.*}} axis 2 eps 1.000000e-05 : (tensor<2x37x96xf32>) -> tensor<2x37x96xf32>
  %2 = tfm.layer_norm %x axis 2 eps 1.0e-5 : (tensor<2x37x96xf32>) -> tensor<2x37x96xf32>
  // CHECK: tfm.layer_norm %{{.*}} scale %{{.*}} axis 1 eps 1.000000e-05 : (tensor<2x37x96xf32>, tensor<37x96xf32>) -> tensor<2x37x96xf32>
  %3 = tfm.layer_norm %x scale %g2 axis 1 eps 1.0e-5 : (tensor<2x37x96xf32>, tensor<37x96xf32>) -> tensor<2x37x96xf32>
  // CHECK: tfm.rms_norm %{{.*}} scale %{{.*}} axis 2 eps 9.9999999999999995E-7 : (tensor<2x37x96xf32>, tensor<96xf32>) -> tensor<2x37x96xf32>
  %4 = tfm.rms_norm %x scale %g axis 2 eps 1.0e-6 : (tensor<2x37x96xf32>, tensor<96xf32>) -> tensor<2x37x96xf32>
  // CHECK: tfm.add_layer_norm %{{.*}}, %{{.*}} scale %{{.*}} bias %{{.*}} axis 2 eps 1.000000e-05 : (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<96xf32>, tensor<96xf32>) -> (tensor<2x37x96xf32>, tensor<2x37x96xf32>)
  %5:2 = tfm.add_layer_norm %x, %r scale %g bias %b axis 2 eps 1.0e-5 : (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<96xf32>, tensor<96xf32>) -> (tensor<2x37x96xf32>, tensor<2x37x96xf32>)
  // CHECK: tfm.add_rms_norm %{{.*}}, %{{.*}} scale %{{.*}} axis 2 eps 9.9999999999999995E-7 : (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<96xf32>) -> (tensor<2x37x96xf32>, tensor<2x37x96xf32>)
  %6:2 = tfm.add_rms_norm %x, %r scale %g axis 2 eps 1.0e-6 : (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<96xf32>) -> (tensor<2x37x96xf32>, tensor<2x37x96xf32>)
  return
}

// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<2x37x96xf32>, %kv: tensor<2x11x96xf32>, %m: tensor<2x1x1x11xf32>,
                     %qh: tensor<2x3x37x32xf32>, %kh: tensor<2x3x64x32xf32>, %vh: tensor<2x3x64x16xf32>, %off: index) {
  // CHECK: tfm.attention %{{.*}}, %{{.*}}, %{{.*}} heads 3 scale 0.17677669529663687 causal : (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<2x37x96xf32>) -> tensor<2x37x96xf32>
  %0 = tfm.attention %q, %q, %q heads 3 scale 0.17677669529663687 causal : (tensor<2x37x96xf32>, tensor<2x37x96xf32>, tensor<2x37x96xf32>) -> tensor<2x37x96xf32>
  // Cross-attention with a padding mask.
  // CHECK: tfm.attention %{{.*}}, %{{.*}}, %{{.*}} mask %{{.*}} heads 3 scale 1.250000e-01 : (tensor<2x37x96xf32>, tensor<2x11x96xf32>, tensor<2x11x96xf32>, tensor<2x1x1x11xf32>) -> tensor<2x37x96xf32>
  %1 = tfm.attention %q, %kv, %kv mask %m heads 3 scale 0.125 : (tensor<2x37x96xf32>, tensor<2x11x96xf32>, tensor<2x11x96xf32>, tensor<2x1x1x11xf32>) -> tensor<2x37x96xf32>
  // Explicit heads, decoding against a cache with an offset.
  // CHECK: tfm.attention %{{.*}}, %{{.*}}, %{{.*}} offset %{{.*}} heads 3 scale 1.250000e-01 causal : (tensor<2x3x37x32xf32>, tensor<2x3x64x32xf32>, tensor<2x3x64x16xf32>, index) -> tensor<2x3x37x16xf32>
  %2 = tfm.attention %qh, %kh, %vh offset %off heads 3 scale 0.125 causal : (tensor<2x3x37x32xf32>, tensor<2x3x64x32xf32>, tensor<2x3x64x16xf32>, index) -> tensor<2x3x37x16xf32>
  // Grouped-query attention: 6 query heads over 2 key/value heads of 16.
  // CHECK: tfm.attention %{{.*}}, %{{.*}}, %{{.*}} heads 6 kv_heads 2 scale 2.500000e-01 causal : (tensor<2x37x96xf32>, tensor<2x11x32xf32>, tensor<2x11x32xf32>) -> tensor<2x37x96xf32>
  %kv2 = tfm.slice %kv axis 2 [0 : 32] : tensor<2x11x96xf32> -> tensor<2x11x32xf32>
  %3 = tfm.attention %q, %kv2, %kv2 heads 6 kv_heads 2 scale 0.25 causal : (tensor<2x37x96xf32>, tensor<2x11x32xf32>, tensor<2x11x32xf32>) -> tensor<2x37x96xf32>
  return
}

// KV caches and dynamic sequences.
func.func @generation(%c: tensor<1x64x96xf32>, %u: tensor<1x?x96xf32>, %p: index, %n: index) {
  // CHECK: tfm.cache_write %{{.*}}, %{{.*}} offset %{{.*}} axis 1 : (tensor<1x64x96xf32>, tensor<1x?x96xf32>) -> tensor<1x64x96xf32>
  %0 = tfm.cache_write %c, %u offset %p axis 1 : (tensor<1x64x96xf32>, tensor<1x?x96xf32>) -> tensor<1x64x96xf32>
  // CHECK: tfm.range offset %{{.*}} sizes(%{{.*}}) : tensor<?xi64>
  %1 = tfm.range offset %p sizes(%n) : tensor<?xi64>
  // CHECK: tfm.range : tensor<5xi32>
  %2 = tfm.range : tensor<5xi32>
  // CHECK: tfm.slice %{{.*}} axis 1 [0 : 1] offset %{{.*}} : tensor<1x?x96xf32> -> tensor<1x1x96xf32>
  %3 = tfm.slice %u axis 1 [0 : 1] offset %n : tensor<1x?x96xf32> -> tensor<1x1x96xf32>
  return
}

// CHECK-LABEL: func.func @moe
func.func @moe(%x: tensor<1x?x96xf32>, %l: tensor<1x?x8xf32>,
               %gu: tensor<8x320x96xf32>, %dn: tensor<8x96x160xf32>)
    -> (tensor<1x?x96xf32>, tensor<1x?x8xf32>) {
  // CHECK: tfm.moe_gate %{{.*}} top_k 2 routing topk_softmax : tensor<1x?x8xf32>
  %w = tfm.moe_gate %l top_k 2 routing topk_softmax : tensor<1x?x8xf32>
  // CHECK: tfm.moe_gate %{{.*}} top_k 1 routing softmax_topk : tensor<1x?x8xf32>
  %w1 = tfm.moe_gate %l top_k 1 routing softmax_topk : tensor<1x?x8xf32>
  // CHECK: tfm.moe %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} top_k 2 act silu
  %y = tfm.moe %x, %w, %gu, %dn top_k 2 act silu
      : (tensor<1x?x96xf32>, tensor<1x?x8xf32>, tensor<8x320x96xf32>,
         tensor<8x96x160xf32>) -> tensor<1x?x96xf32>
  return %y, %w1 : tensor<1x?x96xf32>, tensor<1x?x8xf32>
}
