// RUN: tfmc-opt %s --tfm-lower-to-cpu=vector-width=8 --split-input-file --verify-diagnostics | FileCheck %s

// The signature: inputs, outputs written in place, the weights buffer. Token
// ids get their bound; weights become views at planned offsets, and a weight
// read only by a GEMM is stored once, as NR-column panels.
// CHECK-LABEL: module attributes
// CHECK-SAME: tfm.weight_bytes = 7424
// CHECK-SAME: {bytes = 6400 : i64, layout = "row_major", name = "emb", offset = 0 : i64, shape = array<i64: 100, 16>}
// CHECK-SAME: {bytes = 1024 : i64, kn = false, layout = "gemm_panels", name = "w", nr = 16 : i64, offset = 6400 : i64, shape = array<i64: 7, 16>}
// CHECK: func.func @main(%[[IDS:.*]]: memref<1x5xi64> {tfm.id_bound = 100 : i64, tfm.name = "input_ids"}, %[[OUT:.*]]: memref<1x5x7xf32> {tfm.name = "logits"}, %[[W:.*]]: memref<?xi8> {tfm.name = "tfm.weights"})
// CHECK-SAME: attributes {tfm.entry = {inputs = 1 : i64, outputs = 1 : i64}}
// CHECK: memref.view %[[W]][%{{.*}}][] : memref<?xi8> to memref<100x16xf32>
// The GEMM writes straight into the output argument.
// CHECK: %[[C:.*]] = memref.collapse_shape %[[OUT]]
// CHECK: %[[PANELS:.*]] = memref.view %[[W]][%{{.*}}][] : memref<?xi8> to memref<1x16x16xf32>
// CHECK: scf.parallel
// CHECK: vector.fma
// CHECK: vector.maskedstore %[[C]]
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
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<2x5x24xf32>
// CHECK: scf.parallel
// CHECK: memref.collapse_shape %[[OUT]]
// CHECK: scf.parallel
func.func @norm(%x: tensor<2x5x24xf32>) -> tensor<2x5x24xf32> {
  %s = tfm.softmax %x axis 2 : tensor<2x5x24xf32>
  %g = tfm.weight "g" : tensor<24xf32>
  %y = tfm.rms_norm %s scale %g axis 2 eps 1.0e-6 : (tensor<2x5x24xf32>, tensor<24xf32>) -> tensor<2x5x24xf32>
  return %y : tensor<2x5x24xf32>
}

// -----

// expected-error @below {{entry arguments and results must be ranked tensors, got 'f32'}}
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
// CHECK: linalg.generic
// CHECK: %[[ROW:.*]] = arith.index_cast
// CHECK-DAG: %[[PANEL:.*]] = arith.divui %[[ROW]], %[[NR:.*]] : index
// CHECK-DAG: %[[LANE:.*]] = arith.remui %[[ROW]], %[[NR]] : index
// CHECK: memref.load %[[P]][%[[PANEL]], %{{.*}}, %[[LANE]]]
func.func @tied(%ids: tensor<1x5xi64>) -> tensor<1x5x100xf32> {
  %t = tfm.weight "wte" : tensor<100x16xf32>
  %e = tfm.embedding %t, %ids : (tensor<100x16xf32>, tensor<1x5xi64>) -> tensor<1x5x16xf32>
  %y = tfm.linear %e, %t : (tensor<1x5x16xf32>, tensor<100x16xf32>) -> tensor<1x5x100xf32>
  return %y : tensor<1x5x100xf32>
}
