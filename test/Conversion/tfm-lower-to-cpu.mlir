// RUN: tfmc-opt %s --tfm-lower-to-cpu="vector-width=8 attention-block-q=16 attention-block-k=64" --split-input-file --verify-diagnostics | FileCheck %s

// The signature: inputs, outputs written in place, the weights buffer. Token
// ids get their bound; weights become views at planned offsets, and a weight
// read only by a GEMM is stored once, as NR-column panels. The entry keeps
// the views and buffers and calls one private kernel function per op.
// CHECK-LABEL: module attributes
// CHECK-SAME: tfm.weight_bytes = 7424
// CHECK-SAME: {bytes = 6400 : i64, layout = "row_major", name = "emb", offset = 0 : i64, shape = array<i64: 100, 16>}
// CHECK-SAME: {bytes = 1024 : i64, kn = false, layout = "gemm_panels", name = "w", nr = 16 : i64, offset = 6400 : i64, shape = array<i64: 7, 16>}
// CHECK: func.func @main(%[[IDS:.*]]: memref<1x5xi64> {tfm.id_bound = 100 : i64, tfm.name = "input_ids"}, %[[OUT:.*]]: memref<1x5x7xf32> {tfm.name = "logits"}, %[[W:.*]]: memref<?xi8> {tfm.name = "tfm.weights"})
// CHECK-SAME: attributes {tfm.entry = {inputs = 1 : i64, outputs = 1 : i64}}
// CHECK: %[[TABLE:.*]] = memref.view %[[W]][%{{.*}}][] : memref<?xi8> to memref<100x16xf32>
// CHECK: %[[E:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x5x16xf32>
// CHECK: call @embedding_kernel_0(%[[TABLE]], %[[IDS]], %[[E]])
// The GEMM writes straight into the output argument.
// CHECK: %[[A:.*]] = memref.collapse_shape %[[E]]
// CHECK: %[[C:.*]] = memref.collapse_shape %[[OUT]]
// CHECK: %[[PANELS:.*]] = memref.view %[[W]][%{{.*}}][] : memref<?xi8> to memref<1x16x16xf32>
// CHECK: call @linear_kernel_1(%[[PANELS]], %[[A]], %[[C]]) : (memref<1x16x16xf32>, memref<5x16xf32>, memref<5x7xf32>) -> ()
// CHECK: func.func private @embedding_kernel_0(
// CHECK: linalg.generic
// CHECK: func.func private @linear_kernel_1(%[[KB:.*]]: memref<1x16x16xf32>, %{{.*}}: memref<5x16xf32>, %[[KC:.*]]: memref<5x7xf32>)
// CHECK: scf.parallel
// CHECK: vector.load %[[KB]]
// CHECK: vector.fma
// CHECK: vector.maskedstore %[[KC]]
// CHECK-NOT: {{tfm\.(weight|embedding|linear) }}
func.func @main(%ids: tensor<1x5xi64> {tfm.name = "input_ids"}) -> (tensor<1x5x7xf32> {tfm.name = "logits"}) {
  %t = tfm.weight "emb" : tensor<100x16xf32>
  %e = tfm.embedding %t, %ids : (tensor<100x16xf32>, tensor<1x5xi64>) -> tensor<1x5x16xf32>
  %w = tfm.weight "w" : tensor<7x16xf32>
  %y = tfm.linear %e, %w : (tensor<1x5x16xf32>, tensor<7x16xf32>) -> tensor<1x5x7xf32>
  return %y : tensor<1x5x7xf32>
}

// -----

// Flash attention: parallel over (batch x heads, query blocks), per-item
// scratch on the stack, online softmax with exp.
// CHECK-LABEL: func.func @attn
// CHECK: call @attention_kernel_0(%arg0, %arg1, %arg2, %arg3)
// CHECK: func.func private @attention_kernel_0
// CHECK: scf.parallel (%{{.*}}, %{{.*}}) = (%{{.*}}, %{{.*}}) to (%{{.*}}, %{{.*}})
// CHECK: memref.alloca() {alignment = 64 : i64} : memref<16x32xf32>
// CHECK: math.exp
// CHECK-NOT: memref.alloc(
func.func @attn(%q: tensor<1x37x64xf32>, %k: tensor<1x37x64xf32>, %v: tensor<1x37x64xf32>) -> tensor<1x37x64xf32> {
  %o = tfm.attention %q, %k, %v heads 2 scale 0.125 causal : (tensor<1x37x64xf32>, tensor<1x37x64xf32>, tensor<1x37x64xf32>) -> tensor<1x37x64xf32>
  return %o : tensor<1x37x64xf32>
}

// -----

// A returned value computed by a row kernel is written into the output;
// an intermediate is a fresh aligned buffer.
// CHECK-LABEL: func.func @norm
// CHECK-SAME: (%[[X:.*]]: memref<2x5x24xf32>, %[[OUT:.*]]: memref<2x5x24xf32>, %{{.*}}: memref<?xi8>
// CHECK: %[[T:.*]] = memref.alloc() {alignment = 64 : i64} : memref<2x5x24xf32>
// CHECK: call @softmax_kernel_0
// CHECK: %[[O:.*]] = memref.collapse_shape %[[OUT]]
// CHECK: call @rms_norm_kernel_1(%{{.*}}, %{{.*}}, %[[O]])
// CHECK: func.func private @softmax_kernel_0
// CHECK: scf.parallel
// CHECK: func.func private @rms_norm_kernel_1
// CHECK: scf.parallel
func.func @norm(%x: tensor<2x5x24xf32>) -> tensor<2x5x24xf32> {
  %s = tfm.softmax %x axis 2 : tensor<2x5x24xf32>
  %g = tfm.weight "g" : tensor<24xf32>
  %y = tfm.rms_norm %s scale %g axis 2 eps 1.0e-6 : (tensor<2x5x24xf32>, tensor<24xf32>) -> tensor<2x5x24xf32>
  return %y : tensor<2x5x24xf32>
}

// -----

// expected-error @below {{entry arguments must be ranked tensors or indices, got 'f32'}}
func.func @scalar_arg(%x: f32) -> tensor<4xf32> {
  %c = tfm.constant dense<1.0> : tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

func.func @pe_offset(%off: tensor<1xf32>) -> tensor<4x8xf32> {
  %i = arith.constant 3 : index
  // expected-error @below {{positions with a run-time offset or length need the max-positions option}}
  %pe = tfm.positional_encoding offset %i : tensor<4x8xf32>
  return %pe : tensor<4x8xf32>
}

// -----

// A token table tied to the LM head is stored once, as the head's panels;
// the lookup reads row v at [v / NR, :, v % NR].
// CHECK-LABEL: module attributes
// CHECK-SAME: tfm.weight_plan = [{bytes = 7168 : i64, kn = false, layout = "gemm_panels", name = "wte", nr = 16 : i64, offset = 0 : i64, shape = array<i64: 100, 16>}]
// CHECK: func.func @tied
// CHECK: %[[P:.*]] = memref.view {{.*}} to memref<7x16x16xf32>
// CHECK: call @embedding_kernel_0(%[[P]],
// CHECK: call @linear_kernel_1(%{{.*}}, %{{.*}}, %{{.*}}) : (memref<7x16x16xf32>,
// CHECK: func.func private @embedding_kernel_0(%[[KP:.*]]: memref<7x16x16xf32>
// CHECK: linalg.generic
// CHECK: %[[ROW:.*]] = arith.index_cast
// CHECK-DAG: %[[PANEL:.*]] = arith.divui %[[ROW]], %[[NR:.*]] : index
// CHECK-DAG: %[[LANE:.*]] = arith.remui %[[ROW]], %[[NR]] : index
// CHECK: memref.load %[[KP]][%[[PANEL]], %{{.*}}, %[[LANE]]]
func.func @tied(%ids: tensor<1x5xi64>) -> tensor<1x5x100xf32> {
  %t = tfm.weight "wte" : tensor<100x16xf32>
  %e = tfm.embedding %t, %ids : (tensor<100x16xf32>, tensor<1x5xi64>) -> tensor<1x5x16xf32>
  %y = tfm.linear %e, %t : (tensor<1x5x16xf32>, tensor<100x16xf32>) -> tensor<1x5x100xf32>
  return %y : tensor<1x5x100xf32>
}

// -----

// Generation: an index argument becomes a rank-0 i64 buffer; a result tied
// to an argument is not an output, the argument is state and the cache
// write goes into its buffer in place (clamped to stay inside it).
// CHECK-LABEL: func.func @step
// CHECK-SAME: (%[[IDS:[a-z0-9]+]]: memref<1x?xi64> {tfm.dim_names = ["", "seq"], tfm.id_bound = 100 : i64, tfm.name = "input_ids"},
// CHECK-SAME: %[[PAST:[a-z0-9]+]]: memref<i64> {tfm.name = "past_length"},
// CHECK-SAME: %[[CACHE:[a-z0-9]+]]: memref<1x8x16xf32> {tfm.name = "cache", tfm.state},
// CHECK-SAME: %[[OUT:[a-z0-9]+]]: memref<1x1x16xf32> {tfm.name = "last"},
// CHECK-SAME: %{{.*}}: memref<?xi8> {tfm.name = "tfm.weights"})
// CHECK-SAME: tfm.dim_bounds = {seq = 8 : i64}
// CHECK-SAME: tfm.entry = {inputs = 3 : i64, outputs = 1 : i64}
// CHECK: %[[P64:.*]] = memref.load %[[PAST]][] : memref<i64>
// CHECK: %[[P:.*]] = arith.index_cast %[[P64]] : i64 to index
// The position ids past, past + 1, ... (the offset is a kernel argument).
// CHECK: call @range_kernel_0(%[[P]],
// The rows are written into the state buffer itself.
// CHECK: %[[ROOM:.*]] = arith.subi %c8, %{{.*}} : index
// CHECK: %[[AT:.*]] = arith.minui %[[P]], %[[ROOM]] : index
// CHECK: %[[ROWS:.*]] = memref.subview %[[CACHE]][0, %[[AT]], 0]
// CHECK: call @cache_write_kernel_{{[0-9]+}}(%{{.*}}, %[[ROWS]])
// The last row: a subview at seq - 1.
// CHECK: memref.subview %{{.*}}[0, %{{.*}}, 0] [1, 1, 16] [1, 1, 1]
// CHECK: return
// CHECK: func.func private @range_kernel_0(%[[OFF:.*]]: index,
// CHECK: linalg.index 0
// CHECK: arith.addi %{{.*}}, %[[OFF]] : index
// CHECK: func.func private @cache_write_kernel
// CHECK-NEXT: linalg.copy
func.func @step(%ids: tensor<1x?xi64> {tfm.name = "input_ids", tfm.dim_names = ["", "seq"]},
                %past: index {tfm.name = "past_length"},
                %cache: tensor<1x8x16xf32> {tfm.name = "cache"})
    -> (tensor<1x1x16xf32> {tfm.name = "last"}, tensor<1x8x16xf32> {tfm.name = "cache", tfm.tied_to = 2 : i64})
    attributes {tfm.dim_bounds = {seq = 8 : i64}} {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %ids, %c1 : tensor<1x?xi64>
  %pos = tfm.range offset %past sizes(%n) : tensor<?xi64>
  %t = tfm.weight "table" : tensor<100x16xf32>
  %x = tfm.embedding %t, %ids : (tensor<100x16xf32>, tensor<1x?xi64>) -> tensor<1x?x16xf32>
  %p = tfm.embedding %t, %pos : (tensor<100x16xf32>, tensor<?xi64>) -> tensor<?x16xf32>
  %h = tfm.add %x, %p : tensor<1x?x16xf32>, tensor<?x16xf32>
  %c2 = tfm.cache_write %cache, %h offset %past axis 1 : (tensor<1x8x16xf32>, tensor<1x?x16xf32>) -> tensor<1x8x16xf32>
  %n1 = arith.subi %n, %c1 : index
  %last = tfm.slice %h axis 1 [0 : 1] offset %n1 : tensor<1x?x16xf32> -> tensor<1x1x16xf32>
  return %last, %c2 : tensor<1x1x16xf32>, tensor<1x8x16xf32>
}

// -----

// expected-error @below {{result 0 is tied to argument 0, which does not exist or has another type}}
func.func @tied_type(%a: tensor<4xf32>) -> (tensor<8xf32> {tfm.tied_to = 0 : i64}) {
  %c = tfm.constant dense<1.0> : tensor<8xf32>
  return %c : tensor<8xf32>
}

// -----

func.func @reread(%cache: tensor<1x8x16xf32>, %u: tensor<1x1x16xf32>, %p: index) -> (tensor<1x8x16xf32> {tfm.tied_to = 0 : i64}, tensor<1x8x16xf32>) {
  // expected-error @below {{updates its cache in place, but the old cache is read elsewhere}}
  %c2 = tfm.cache_write %cache, %u offset %p axis 1 : (tensor<1x8x16xf32>, tensor<1x1x16xf32>) -> tensor<1x8x16xf32>
  %old = tfm.add %cache, %cache : tensor<1x8x16xf32>, tensor<1x8x16xf32>
  return %c2, %old : tensor<1x8x16xf32>, tensor<1x8x16xf32>
}

// -----

// Equal kernels are one function: two linears of the same shapes and
// epilogue share a kernel (only the weight views passed in differ); a
// different epilogue is a different kernel.
// CHECK-LABEL: func.func @layers
// CHECK: call @linear_kernel_0(%[[W1:.*]], %{{.*}}, %{{.*}})
// CHECK: call @linear_kernel_0(%[[W2:.*]], %{{.*}}, %{{.*}})
// CHECK: call @linear_kernel_1(
// CHECK-COUNT-2: func.func private @linear_kernel
// CHECK-NOT: func.func private
func.func @layers(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %w1 = tfm.weight "w1" : tensor<16x16xf32>
  %w2 = tfm.weight "w2" : tensor<16x16xf32>
  %a = tfm.linear %x, %w1 : (tensor<4x16xf32>, tensor<16x16xf32>) -> tensor<4x16xf32>
  %b = tfm.linear %a, %w2 : (tensor<4x16xf32>, tensor<16x16xf32>) -> tensor<4x16xf32>
  %c = tfm.linear %b, %w1 : (tensor<4x16xf32>, tensor<16x16xf32>) -> tensor<4x16xf32> epilogue {
  ^bb0(%acc: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.maximumf %acc, %z : f32
    tfm.yield %r : f32
  }
  return %c : tensor<4x16xf32>
}
