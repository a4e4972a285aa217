// RUN: tfmc-opt %s -split-input-file -tfm-decompose | FileCheck %s
// RUN: tfmc-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(tfm-decompose{ops=gelu}))' | FileCheck %s --check-prefix=ONLY-GELU

// CHECK-LABEL: func.func @softmax
// CHECK-SAME: (%[[X:.+]]: tensor<4x8xf32>)
// Step 1: the row maximum.
// CHECK: %[[M:.+]] = tfm.reduce_max %[[X]] [1] keep_dims : tensor<4x8xf32> -> tensor<4x1xf32>
// Step 2: exp(x - max).
// CHECK: %[[D:.+]] = tfm.sub %[[X]], %[[M]]
// CHECK: %[[E:.+]] = tfm.exp %[[D]]
// Step 3: normalise by the row sum.
// CHECK: %[[S:.+]] = tfm.reduce_sum %[[E]] [1] keep_dims
// CHECK: %[[R:.+]] = tfm.div %[[E]], %[[S]]
// CHECK: return %[[R]]
// ONLY-GELU-LABEL: func.func @softmax
// ONLY-GELU: tfm.softmax
func.func @softmax(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = tfm.softmax %x axis 1 : tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @layer_norm
// CHECK-SAME: (%[[X:.+]]: tensor<2x5x8xf32>, %[[G:.+]]: tensor<8xf32>, %[[B:.+]]: tensor<8xf32>)
// CHECK-DAG: %[[EPS:.+]] = tfm.constant dense<9.99999974E-6> : tensor<f32>
// Centre: x - mean(x).
// CHECK: %[[MEAN:.+]] = tfm.reduce_mean %[[X]] [2] keep_dims
// CHECK: %[[C:.+]] = tfm.sub %[[X]], %[[MEAN]]
// Biased variance: mean(c * c).
// CHECK: %[[SQ:.+]] = tfm.mul %[[C]], %[[C]]
// CHECK: %[[VAR:.+]] = tfm.reduce_mean %[[SQ]] [2] keep_dims
// Normalise: c / sqrt(var + eps).
// CHECK: %[[VE:.+]] = tfm.add %[[VAR]], %[[EPS]]
// CHECK: %[[SD:.+]] = tfm.sqrt %[[VE]]
// CHECK: %[[N:.+]] = tfm.div %[[C]], %[[SD]]
// Affine: * scale + bias.
// CHECK: %[[Y:.+]] = tfm.mul %[[N]], %[[G]]
// CHECK: %[[Z:.+]] = tfm.add %[[Y]], %[[B]]
// CHECK: return %[[Z]]
func.func @layer_norm(%x: tensor<2x5x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> tensor<2x5x8xf32> {
  %0 = tfm.layer_norm %x scale %g bias %b axis 2 eps 1.0e-5 : (tensor<2x5x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<2x5x8xf32>
  return %0 : tensor<2x5x8xf32>
}

// -----

// CHECK-LABEL: func.func @rms_norm
// CHECK-SAME: (%[[X:.+]]: tensor<2x8xf32>, %[[G:.+]]: tensor<8xf32>)
// mean(x^2) + eps, rsqrt, * x, * scale.
// CHECK: %[[SQ:.+]] = tfm.mul %[[X]], %[[X]]
// CHECK: %[[MS:.+]] = tfm.reduce_mean %[[SQ]] [1] keep_dims
// CHECK: %[[VE:.+]] = tfm.add %[[MS]], %{{.+}}
// CHECK: %[[R:.+]] = tfm.rsqrt %[[VE]]
// CHECK: %[[N:.+]] = tfm.mul %[[X]], %[[R]]
// CHECK: %[[Y:.+]] = tfm.mul %[[N]], %[[G]]
// CHECK: return %[[Y]]
func.func @rms_norm(%x: tensor<2x8xf32>, %g: tensor<8xf32>) -> tensor<2x8xf32> {
  %0 = tfm.rms_norm %x scale %g axis 1 eps 1.0e-6 : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// CHECK-LABEL: func.func @gelu_erf
// CHECK-SAME: (%[[X:.+]]: tensor<8xf32>)
// 0.5 * x * (1 + erf(x / sqrt(2)))
// CHECK: %[[S:.+]] = tfm.scale %[[X]] by 0.70710678118654757
// CHECK: %[[E:.+]] = tfm.erf %[[S]]
// CHECK: %[[A:.+]] = tfm.add %[[E]], %{{.+}}
// CHECK: %[[M:.+]] = tfm.mul %[[X]], %[[A]]
// CHECK: %[[H:.+]] = tfm.scale %[[M]] by 5.000000e-01
// CHECK: return %[[H]]
// ONLY-GELU-LABEL: func.func @gelu_erf
// ONLY-GELU-NOT: tfm.gelu
// ONLY-GELU: tfm.erf
func.func @gelu_erf(%x: tensor<8xf32>) -> tensor<8xf32> {
  %0 = tfm.gelu %x : tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

// CHECK-LABEL: func.func @gelu_tanh
// CHECK-SAME: (%[[X:.+]]: tensor<8xf32>)
// 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
// CHECK: %[[C:.+]] = tfm.pow %[[X]], %{{.+}}
// CHECK: %[[K:.+]] = tfm.scale %[[C]] by 4.471500e-02
// CHECK: %[[P:.+]] = tfm.add %[[X]], %[[K]]
// CHECK: %[[U:.+]] = tfm.scale %[[P]] by 0.79788456080286541
// CHECK: %[[T:.+]] = tfm.tanh %[[U]]
// CHECK: %[[A:.+]] = tfm.add %[[T]], %{{.+}}
// CHECK: %[[M:.+]] = tfm.mul %[[X]], %[[A]]
// CHECK: tfm.scale %[[M]] by 5.000000e-01
func.func @gelu_tanh(%x: tensor<8xf32>) -> tensor<8xf32> {
  %0 = tfm.gelu %x approximate tanh : tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

// CHECK-LABEL: func.func @silu
// CHECK-SAME: (%[[X:.+]]: tensor<8xf32>)
// CHECK: %[[S:.+]] = tfm.sigmoid %[[X]]
// CHECK: %[[M:.+]] = tfm.mul %[[X]], %[[S]]
// CHECK: return %[[M]]
func.func @silu(%x: tensor<8xf32>) -> tensor<8xf32> {
  %0 = tfm.silu %x : tensor<8xf32>
  return %0 : tensor<8xf32>
}

// -----

// CHECK-LABEL: func.func @add_layer_norm
// CHECK-SAME: (%[[X:.+]]: tensor<2x8xf32>, %[[R:.+]]: tensor<2x8xf32>)
// The sum is both the norm's input and the second result.
// CHECK: %[[S:.+]] = tfm.add %[[X]], %[[R]]
// CHECK: %[[MEAN:.+]] = tfm.reduce_mean %[[S]] [1] keep_dims
// CHECK: return %{{.+}}, %[[S]]
func.func @add_layer_norm(%x: tensor<2x8xf32>, %r: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>) {
  %0:2 = tfm.add_layer_norm %x, %r axis 1 eps 1.0e-5 : (tensor<2x8xf32>, tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>)
  return %0#0, %0#1 : tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// CHECK-LABEL: func.func @attention_causal
// CHECK-SAME: (%[[Q:.+]]: tensor<2x5x12xf32>, %[[K:.+]]: tensor<2x5x12xf32>, %[[V:.+]]: tensor<2x5x12xf32>)
// Split heads: [B, S, H*D] -> [B, H, S, D].
// CHECK: %[[QR:.+]] = tfm.reshape %[[Q]] : tensor<2x5x12xf32> -> tensor<2x5x3x4xf32>
// CHECK: %[[QH:.+]] = tfm.transpose %[[QR]] [0, 2, 1, 3]
// CHECK: %[[KR:.+]] = tfm.reshape %[[K]]
// CHECK: %[[KH:.+]] = tfm.transpose %[[KR]] [0, 2, 1, 3]
// CHECK: %[[VR:.+]] = tfm.reshape %[[V]]
// CHECK: %[[VH:.+]] = tfm.transpose %[[VR]] [0, 2, 1, 3]
// Scores: Q K^T * scale, plus the causal mask.
// CHECK: %[[S:.+]] = tfm.matmul %[[QH]], %[[KH]] transpose_rhs {{.*}} -> tensor<2x3x5x5xf32>
// CHECK: %[[SS:.+]] = tfm.scale %[[S]] by 5.000000e-01
// CHECK: %[[CM:.+]] = tfm.causal_mask : tensor<5x5xf32>
// CHECK: %[[SM:.+]] = tfm.add %[[SS]], %[[CM]]
// Probabilities (the softmax is decomposed too), times V, then merge heads.
// CHECK: tfm.reduce_max %[[SM]] [3] keep_dims
// CHECK: %[[P:.+]] = tfm.div
// CHECK: %[[O:.+]] = tfm.matmul %[[P]], %[[VH]]
// CHECK: %[[OT:.+]] = tfm.transpose %[[O]] [0, 2, 1, 3]
// CHECK: %[[OR:.+]] = tfm.reshape %[[OT]] : tensor<2x5x3x4xf32> -> tensor<2x5x12xf32>
// CHECK: return %[[OR]]
func.func @attention_causal(%q: tensor<2x5x12xf32>, %k: tensor<2x5x12xf32>, %v: tensor<2x5x12xf32>) -> tensor<2x5x12xf32> {
  %0 = tfm.attention %q, %k, %v heads 3 scale 0.5 causal : (tensor<2x5x12xf32>, tensor<2x5x12xf32>, tensor<2x5x12xf32>) -> tensor<2x5x12xf32>
  return %0 : tensor<2x5x12xf32>
}

// -----

// Explicit heads with a mask: no reshapes, the mask is added after scaling.
// CHECK-LABEL: func.func @attention_explicit_heads
// CHECK-NOT: tfm.reshape
// CHECK: %[[S:.+]] = tfm.matmul
// CHECK: %[[SS:.+]] = tfm.scale %[[S]]
// CHECK: %[[SM:.+]] = tfm.add %[[SS]], %{{.+}}
// CHECK: tfm.reduce_max %[[SM]] [3] keep_dims
// CHECK-NOT: tfm.reshape
func.func @attention_explicit_heads(%q: tensor<1x2x5x4xf32>, %k: tensor<1x2x7x4xf32>, %v: tensor<1x2x7x4xf32>, %m: tensor<1x1x1x7xf32>) -> tensor<1x2x5x4xf32> {
  %0 = tfm.attention %q, %k, %v mask %m heads 2 scale 0.5 : (tensor<1x2x5x4xf32>, tensor<1x2x7x4xf32>, tensor<1x2x7x4xf32>, tensor<1x1x1x7xf32>) -> tensor<1x2x5x4xf32>
  return %0 : tensor<1x2x5x4xf32>
}

// -----

// CHECK-LABEL: func.func @linear_epilogue
// CHECK-SAME: (%[[X:.+]]: tensor<2x8xf32>, %[[R:.+]]: tensor<2x4xf32>)
// CHECK: %[[L:.+]] = tfm.linear %[[X]], %{{.+}} : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
// CHECK: %[[A:.+]] = tfm.relu %[[L]]
// CHECK: %[[S:.+]] = tfm.add %[[A]], %[[R]]
// CHECK: return %[[S]]
func.func @linear_epilogue(%x: tensor<2x8xf32>, %r: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w = tfm.weight "w" : tensor<4x8xf32>
  %y = tfm.linear %x, %w inputs(%r) : (tensor<2x8xf32>, tensor<4x8xf32>, tensor<2x4xf32>) -> tensor<2x4xf32> epilogue {
  ^bb0(%a: f32, %b: f32):
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %a, %z : f32
    %s = arith.addf %m, %b : f32
    tfm.yield %s : f32
  }
  return %y : tensor<2x4xf32>
}

// -----

// A gated linear: the plain linear of all 2H features, its two halves, then
// the epilogue on them.
// CHECK-LABEL: func.func @gated_linear
// CHECK-SAME: (%[[X:.+]]: tensor<2x8xf32>)
// CHECK: %[[L:.+]] = tfm.linear %[[X]], %{{.+}} : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x8xf32>
// CHECK: %[[G:.+]] = tfm.slice %[[L]] axis 1 [0 : 4]
// CHECK: %[[U:.+]] = tfm.slice %[[L]] axis 1 [4 : 8]
// CHECK: %[[T:.+]] = tfm.tanh %[[G]]
// CHECK: %[[P:.+]] = tfm.mul %[[T]], %[[U]]
// CHECK: return %[[P]]
func.func @gated_linear(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  %w = tfm.weight "w" : tensor<8x8xf32>
  %y = tfm.linear %x, %w gated : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x4xf32> epilogue {
  ^bb0(%g: f32, %u: f32):
    %t = math.tanh %g : f32
    %p = arith.mulf %t, %u : f32
    tfm.yield %p : f32
  }
  return %y : tensor<2x4xf32>
}

// -----

// A plain linear is already primitive and stays.
// CHECK-LABEL: func.func @plain_linear
// CHECK: tfm.linear
func.func @plain_linear(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  %w = tfm.weight "w" : tensor<4x8xf32>
  %y = tfm.linear %x, %w : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Rotary embedding, rotate-half form, 4 of 8 features rotated at a run-time
// offset: theta_i = 1 / 10000^(2i/4) in f32, the angles as an outer product
// of the positions and theta, and the untouched tail concatenated back.
// CHECK-LABEL: func.func @rotary
// CHECK-SAME: (%[[X:.+]]: tensor<1x5x2x8xf32>, %[[OFF:.+]]: index)
// CHECK-DAG: %[[THETA:.+]] = tfm.constant dense<[1.000000e+00, 0.00999999977]> : tensor<2xf32>
// CHECK-DAG: %[[POS:.+]] = tfm.range offset %[[OFF]] : tensor<5xi64>
// CHECK: %[[PF:.+]] = tfm.convert %[[POS]] : tensor<5xi64> -> tensor<5xf32>
// CHECK: %[[COL:.+]] = tfm.reshape %[[PF]] : tensor<5xf32> -> tensor<5x1xf32>
// CHECK: %[[ANG:.+]] = tfm.mul %[[COL]], %[[THETA]] : tensor<5x1xf32>, tensor<2xf32>
// CHECK: %[[C:.+]] = tfm.cos %[[ANG]] : tensor<5x2xf32>
// CHECK: %[[CB:.+]] = tfm.reshape %[[C]] : tensor<5x2xf32> -> tensor<1x5x1x2xf32>
// CHECK: %[[S:.+]] = tfm.sin %[[ANG]] : tensor<5x2xf32>
// CHECK: %[[SB:.+]] = tfm.reshape %[[S]] : tensor<5x2xf32> -> tensor<1x5x1x2xf32>
// CHECK: %[[X1:.+]] = tfm.slice %[[X]] axis 3 [0 : 2]
// CHECK: %[[X2:.+]] = tfm.slice %[[X]] axis 3 [2 : 4]
// CHECK: %[[A:.+]] = tfm.mul %[[X1]], %[[CB]]
// CHECK: %[[B:.+]] = tfm.mul %[[X2]], %[[SB]]
// CHECK: %[[O1:.+]] = tfm.sub %[[A]], %[[B]]
// CHECK: %[[E:.+]] = tfm.mul %[[X2]], %[[CB]]
// CHECK: %[[F:.+]] = tfm.mul %[[X1]], %[[SB]]
// CHECK: %[[O2:.+]] = tfm.add %[[E]], %[[F]]
// CHECK: %[[REST:.+]] = tfm.slice %[[X]] axis 3 [4 : 8]
// CHECK: %[[R:.+]] = tfm.concat %[[O1]], %[[O2]], %[[REST]] axis 3
// CHECK: return %[[R]]
// ONLY-GELU-LABEL: func.func @rotary
// ONLY-GELU: tfm.rotary
func.func @rotary(%x: tensor<1x5x2x8xf32>, %off: index) -> tensor<1x5x2x8xf32> {
  %r = tfm.rotary %x offset %off base 1.000000e+04 dims 4 : tensor<1x5x2x8xf32>
  return %r : tensor<1x5x2x8xf32>
}

// -----

// Grouped-query attention decomposes into the frontend's grouped form: Q as
// [B, kv, groups, S, D] against K and V as [B, kv, 1, S, D], the scores and
// the output reshaped back to the query heads (K and V never repeated).
// CHECK-LABEL: func.func @attention_grouped
// CHECK: %[[QG:.+]] = tfm.reshape %{{.+}} : tensor<1x6x5x4xf32> -> tensor<1x2x3x5x4xf32>
// CHECK: %[[KG:.+]] = tfm.reshape %{{.+}} : tensor<1x2x5x4xf32> -> tensor<1x2x1x5x4xf32>
// CHECK: %[[S:.+]] = tfm.matmul %[[QG]], %[[KG]] transpose_rhs : (tensor<1x2x3x5x4xf32>, tensor<1x2x1x5x4xf32>) -> tensor<1x2x3x5x5xf32>
// CHECK: tfm.reshape %[[S]] : tensor<1x2x3x5x5xf32> -> tensor<1x6x5x5xf32>
// CHECK: %[[O:.+]] = tfm.matmul %{{.+}}, %{{.+}} : (tensor<1x2x3x5x5xf32>, tensor<1x2x1x5x4xf32>) -> tensor<1x2x3x5x4xf32>
// CHECK: tfm.reshape %[[O]] : tensor<1x2x3x5x4xf32> -> tensor<1x6x5x4xf32>
func.func @attention_grouped(%q: tensor<1x5x24xf32>, %k: tensor<1x5x8xf32>, %v: tensor<1x5x8xf32>) -> tensor<1x5x24xf32> {
  %0 = tfm.attention %q, %k, %v heads 6 kv_heads 2 scale 0.5 causal : (tensor<1x5x24xf32>, tensor<1x5x8xf32>, tensor<1x5x8xf32>) -> tensor<1x5x24xf32>
  return %0 : tensor<1x5x24xf32>
}

// -----

// A sliding window carries over to the causal mask.
// CHECK-LABEL: func.func @attention_window
// CHECK: tfm.causal_mask offset %{{.*}} window 3 sizes(%{{.*}}, %{{.*}}) : tensor<?x?xf32>
func.func @attention_window(%q: tensor<1x?x12xf32>, %k: tensor<1x?x12xf32>, %v: tensor<1x?x12xf32>, %off: index) -> tensor<1x?x12xf32> {
  %0 = tfm.attention %q, %k, %v offset %off heads 3 scale 0.5 causal window 3 : (tensor<1x?x12xf32>, tensor<1x?x12xf32>, tensor<1x?x12xf32>, index) -> tensor<1x?x12xf32>
  return %0 : tensor<1x?x12xf32>
}

// -----

// A mixture of experts decomposes into its dense form: every expert on
// every row (gate/up slices of the stacked weight, act(gate) * up, down),
// weighted by the routing weights, summed in expert order. The routing
// (top-k) has no primitive form and stays.
// CHECK-LABEL: func.func @moe
// CHECK-SAME: (%[[X:.+]]: tensor<3x8xf32>, %[[L:.+]]: tensor<3x2xf32>, %[[GU:.+]]: tensor<2x10x8xf32>, %[[DN:.+]]: tensor<2x8x5xf32>)
// CHECK: %[[W:.+]] = tfm.moe_gate %[[L]] top_k 1 routing topk_softmax
// CHECK: %[[GU0S:.+]] = tfm.slice %[[GU]] axis 0 [0 : 1]
// CHECK: %[[GU0:.+]] = tfm.reshape %[[GU0S]] : tensor<1x10x8xf32> -> tensor<10x8xf32>
// CHECK: %[[H0:.+]] = tfm.linear %[[X]], %[[GU0]]
// CHECK: %[[G0:.+]] = tfm.slice %[[H0]] axis 1 [0 : 5]
// CHECK: %[[U0:.+]] = tfm.slice %[[H0]] axis 1 [5 : 10]
// CHECK: %[[S0:.+]] = tfm.sigmoid %[[G0]]
// CHECK: %[[A0:.+]] = tfm.mul %[[G0]], %[[S0]]
// CHECK: %[[P0:.+]] = tfm.mul %[[A0]], %[[U0]]
// CHECK: %[[DN0S:.+]] = tfm.slice %[[DN]] axis 0 [0 : 1]
// CHECK: %[[DN0:.+]] = tfm.reshape %[[DN0S]] : tensor<1x8x5xf32> -> tensor<8x5xf32>
// CHECK: %[[Y0:.+]] = tfm.linear %[[P0]], %[[DN0]]
// CHECK: %[[W0:.+]] = tfm.slice %[[W]] axis 1 [0 : 1]
// CHECK: %[[T0:.+]] = tfm.mul %[[Y0]], %[[W0]]
// CHECK: tfm.slice %[[GU]] axis 0 [1 : 2]
// CHECK: %[[W1:.+]] = tfm.slice %[[W]] axis 1 [1 : 2]
// CHECK: %[[T1:.+]] = tfm.mul %{{.+}}, %[[W1]]
// CHECK: %[[R:.+]] = tfm.add %[[T0]], %[[T1]]
// CHECK: return %[[R]]
// ONLY-GELU-LABEL: func.func @moe
// ONLY-GELU: tfm.moe
func.func @moe(%x: tensor<3x8xf32>, %l: tensor<3x2xf32>, %gu: tensor<2x10x8xf32>,
               %dn: tensor<2x8x5xf32>) -> tensor<3x8xf32> {
  %w = tfm.moe_gate %l top_k 1 routing topk_softmax : tensor<3x2xf32>
  %y = tfm.moe %x, %w, %gu, %dn top_k 1 act silu
      : (tensor<3x8xf32>, tensor<3x2xf32>, tensor<2x10x8xf32>, tensor<2x8x5xf32>) -> tensor<3x8xf32>
  return %y : tensor<3x8xf32>
}
