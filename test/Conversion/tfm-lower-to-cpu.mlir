// RUN: tfmc-opt %s --tfm-cpu-plan-pipeline="vector-width=8" --tfm-lower-to-cpu="vector-width=8 attention-block-q=16 attention-block-k=64" --split-input-file --verify-diagnostics | FileCheck %s
// The lowering only reads a planned module:
// RUN: not tfmc-opt %s --tfm-lower-to-cpu --split-input-file 2>&1 | FileCheck %s --check-prefix=UNPLANNED
// UNPLANNED: error: the module has no weight plan (run the plan pipeline before tfm-lower-to-cpu)

// The signature, from #tfm.entry: inputs, outputs written in place, the
// weights buffer and the workspace. Weights are views at the offsets of
// the weight plan (a weight read only by a GEMM stored once, as NR-column
// panels), every result a view of the workspace at its planned offset. The
// entry keeps the views and calls one private kernel function per op.
// CHECK-LABEL: module attributes
// CHECK-SAME: tfm.weights = #tfm.weight_plan<bytes = 7424, entries = [<name = "emb", type = tensor<100x16xf32>, layout = row_major, offset = 0, bytes = 6400>, <name = "w", type = tensor<7x16xf32>, layout = gemm_panels, panel_width = 16, offset = 6400, bytes = 1024>]>
// CHECK: func.func @main(%[[IDS:.*]]: memref<1x5xi64> {tfm.id_bound = 100 : i64, tfm.name = "input_ids"}, %[[OUT:.*]]: memref<1x5x7xf32> {tfm.name = "logits"}, %[[W:.*]]: memref<?xi8> {tfm.name = "tfm.weights"}, %[[WS:.*]]: memref<?xi8> {tfm.name = "tfm.workspace"})
// CHECK-SAME: tfm.entry = #tfm.entry<inputs = [<name = "input_ids"
// CHECK-SAME: tfm.workspace_bytes = 320
// CHECK: %[[TABLE:.*]] = memref.view %[[W]][%{{.*}}][] : memref<?xi8> to memref<100x16xf32>
// CHECK-NOT: memref.alloc
// CHECK: %[[E:.*]] = memref.view %[[WS]][%{{.*}}][] : memref<?xi8> to memref<1x5x16xf32>
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
// an intermediate is a view of the workspace.
// CHECK-LABEL: func.func @norm
// CHECK-SAME: (%[[X:.*]]: memref<2x5x24xf32> {tfm.name = "arg0"}, %[[OUT:.*]]: memref<2x5x24xf32> {tfm.name = "result0"}, %{{.*}}: memref<?xi8> {tfm.name = "tfm.weights"}, %[[WS:.*]]: memref<?xi8>
// CHECK: %[[T:.*]] = memref.view %[[WS]][%{{.*}}][] : memref<?xi8> to memref<2x5x24xf32>
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

// expected-error @below {{entry tensor 'arg0' must be a ranked tensor or an index, got 'f32'}}
func.func @scalar_arg(%x: f32) -> tensor<4xf32> {
  %c = tfm.constant dense<1.0> : tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

func.func @pe_offset(%off: tensor<1xf32>) -> tensor<4x8xf32> {
  %i = arith.constant 3 : index
  // expected-error @below {{reads positions at a run-time offset or of a run-time length; the plan needs max-positions}}
  %pe = tfm.positional_encoding offset %i : tensor<4x8xf32>
  return %pe : tensor<4x8xf32>
}

// -----

// A token table tied to the LM head is stored once, as the head's panels;
// the lookup reads row v at [v / NR, :, v % NR].
// CHECK-LABEL: module attributes
// CHECK-SAME: tfm.weights = #tfm.weight_plan<bytes = 7168, entries = [<name = "wte", type = tensor<100x16xf32>, layout = gemm_panels, panel_width = 16, offset = 0, bytes = 7168>]>
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

// Weights stored in bf16 are read as they are stored and widened in
// registers: the panels are bf16, the micro-kernel extends each vector.
// CHECK-LABEL: func.func @half
// CHECK: %[[P:.*]] = memref.view {{.*}} to memref<1x16x16xbf16>
// CHECK: call @linear_kernel_0(%[[P]],
// CHECK: func.func private @linear_kernel_0(%[[KB:.*]]: memref<1x16x16xbf16>
// CHECK: %[[V:.*]] = vector.load %[[KB]]{{.*}} : memref<1x16x16xbf16>, vector<8xbf16>
// CHECK: arith.extf %[[V]] : vector<8xbf16> to vector<8xf32>
// CHECK: vector.fma
func.func @half(%x: tensor<5x16xf32>) -> tensor<5x7xf32> {
  %w = tfm.weight "w" : tensor<7x16xbf16>
  %w32 = tfm.convert %w : tensor<7x16xbf16> -> tensor<7x16xf32>
  %y = tfm.linear %x, %w32 : (tensor<5x16xf32>, tensor<7x16xf32>) -> tensor<5x7xf32>
  return %y : tensor<5x7xf32>
}

// -----

// Generation: an index argument becomes a rank-0 i64 buffer; a result tied
// to an argument is not an output, the argument is state and the cache
// write goes into its buffer in place (clamped to stay inside it). A
// sequence of run-time length is a view of the workspace with dynamic
// sizes (sized for its bound), not a heap allocation.
// CHECK-LABEL: func.func @step
// CHECK-SAME: (%[[IDS:[a-z0-9]+]]: memref<1x?xi64> {tfm.id_bound = 100 : i64, tfm.name = "input_ids"},
// CHECK-SAME: %[[PAST:[a-z0-9]+]]: memref<i64> {tfm.name = "past_length"},
// CHECK-SAME: %[[CACHE:[a-z0-9]+]]: memref<1x8x16xf32> {tfm.name = "cache"},
// CHECK-SAME: %[[OUT:[a-z0-9]+]]: memref<1x1x16xf32> {tfm.name = "last"},
// CHECK-SAME: %{{.*}}: memref<?xi8> {tfm.name = "tfm.weights"}, %[[WS:.*]]: memref<?xi8> {tfm.name = "tfm.workspace"})
// CHECK-SAME: role = state
// CHECK-SAME: bounds = {seq = 8 : i64}
// CHECK: %[[P64:.*]] = memref.load %[[PAST]][] : memref<i64>
// CHECK: %[[P:.*]] = arith.index_cast %[[P64]] : i64 to index
// CHECK-NOT: memref.alloc
// CHECK: memref.view %[[WS]][%{{.*}}][%{{.*}}] : memref<?xi8> to memref<?xi64>
// The position ids past, past + 1, ... (the offset is a kernel argument).
// CHECK: call @range_kernel_0(%[[P]],
// The rows are written into the state buffer itself.
// CHECK: %[[ROOM:.*]] = arith.subi %c8, %{{.*}} : index
// CHECK: %[[AT:.*]] = arith.minui %[[P]], %[[ROOM]] : index
// CHECK: %[[ROWS:.*]] = memref.subview %[[CACHE]][0, %[[AT]], 0]
// CHECK: call @cache_write_kernel_{{[0-9]+}}(%{{.*}}, %[[ROWS]])
// The last row, a subview at seq - 1, is copied into the output.
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
    -> (tensor<1x1x16xf32> {tfm.name = "last"}, tensor<1x8x16xf32> {tfm.tied_to = 2 : i64})
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

// The old cache is read after the write: the write goes into a copy (the
// plan inserted it) and the state is written from the copy.
// CHECK-LABEL: func.func @reread
// CHECK: call @copy_kernel_0(%arg0, %[[COPY:[a-z0-9_]+]])
// CHECK: memref.subview %[[COPY]]
func.func @reread(%cache: tensor<1x8x16xf32>, %u: tensor<1x1x16xf32>, %p: index) -> (tensor<1x8x16xf32> {tfm.tied_to = 0 : i64}, tensor<1x8x16xf32>) {
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

