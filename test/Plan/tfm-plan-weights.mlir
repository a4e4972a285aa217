// RUN: tfmc-opt %s -split-input-file -verify-diagnostics -tfm-plan-weights="panel-width=16" | FileCheck %s
// RUN: tfmc-opt %s -split-input-file -verify-diagnostics -tfm-plan-weights="panel-width=16 embedding-from-panels=true" | FileCheck %s --check-prefix=TIED

// A GEMM weight is stored as panels [ceil(N/16), K, 16] (7 -> 1 panel of
// 16 x 16 floats), an embedding table row-major, each once, 64-byte
// aligned, in order of first use. A weight tied to the LM head is stored
// twice, unless the table is read from the panels.
// CHECK-LABEL: module attributes {tfm.weights = #tfm.weight_plan<bytes = 6912, entries = [
// CHECK-SAME: <name = "emb", type = tensor<7x16xf32>, layout = gemm_panels, panel_width = 16, offset = 0, bytes = 1024>,
// CHECK-SAME: <name = "emb", type = tensor<7x16xf32>, layout = row_major, offset = 1024, bytes = 448>,
// CHECK-SAME: <name = "w", type = tensor<16x80xf32>, layout = gemm_panels, panel_width = 16, kn = true, offset = 1472, bytes = 5120>,
// CHECK-SAME: <name = "b", type = tensor<80xf32>, layout = row_major, offset = 6592, bytes = 320>
// TIED-LABEL: module attributes {tfm.weights = #tfm.weight_plan<bytes = 6464, entries = [
// TIED-SAME: <name = "emb", type = tensor<7x16xf32>, layout = gemm_panels, panel_width = 16, offset = 0, bytes = 1024>,
// TIED-NOT: layout = row_major, offset = 0
func.func @main(%ids: tensor<1x5xi64>) -> (tensor<1x5x7xf32>, tensor<1x5x80xf32>) {
  %t = tfm.weight "emb" : tensor<7x16xf32>
  %e = tfm.embedding %t, %ids : (tensor<7x16xf32>, tensor<1x5xi64>) -> tensor<1x5x16xf32>
  %y = tfm.linear %e, %t : (tensor<1x5x16xf32>, tensor<7x16xf32>) -> tensor<1x5x7xf32>
  %w = tfm.weight "w" : tensor<16x80xf32>
  %b = tfm.weight "b" : tensor<80xf32>
  %z = tfm.linear %e, %w bias %b weight_kn : (tensor<1x5x16xf32>, tensor<16x80xf32>, tensor<80xf32>) -> tensor<1x5x80xf32>
  return %y, %z : tensor<1x5x7xf32>, tensor<1x5x80xf32>
}

// -----

// Element types are kept: a bf16 weight widened by a convert that the GEMM
// and the gather fuse into their loads is stored in 2 bytes per element
// (the panels are 512 bytes, half of f32's 1024).
// CHECK-LABEL: module attributes {tfm.weights = #tfm.weight_plan<bytes = 768, entries = [
// CHECK-SAME: <name = "emb", type = tensor<7x16xbf16>, layout = gemm_panels, panel_width = 16, offset = 0, bytes = 512>,
// CHECK-SAME: <name = "emb", type = tensor<7x16xbf16>, layout = row_major, offset = 512, bytes = 224>]
// TIED-LABEL: module attributes {tfm.weights = #tfm.weight_plan<bytes = 512, entries = [
// TIED-SAME: <name = "emb", type = tensor<7x16xbf16>, layout = gemm_panels, panel_width = 16, offset = 0, bytes = 512>]
func.func @half(%ids: tensor<1x5xi64>) -> tensor<1x5x7xf32> {
  %t = tfm.weight "emb" : tensor<7x16xbf16>
  %t32 = tfm.convert %t : tensor<7x16xbf16> -> tensor<7x16xf32>
  %e = tfm.embedding %t32, %ids : (tensor<7x16xf32>, tensor<1x5xi64>) -> tensor<1x5x16xf32>
  %y = tfm.linear %e, %t32 : (tensor<1x5x16xf32>, tensor<7x16xf32>) -> tensor<1x5x7xf32>
  return %y : tensor<1x5x7xf32>
}

// -----

// A convert that something else reads is a kernel of its own: the weight
// is stored row-major (for that kernel), not as panels.
// CHECK-LABEL: module attributes {tfm.weights = #tfm.weight_plan<bytes = 256, entries = [
// CHECK-SAME: <name = "w", type = tensor<7x16xf16>, layout = row_major, offset = 0, bytes = 224>]
func.func @not_fused(%x: tensor<7x16xf32>) -> tensor<7x16xf32> {
  %w = tfm.weight "w" : tensor<7x16xf16>
  %w32 = tfm.convert %w : tensor<7x16xf16> -> tensor<7x16xf32>
  %y = tfm.add %x, %w32 : tensor<7x16xf32>, tensor<7x16xf32>
  return %y : tensor<7x16xf32>
}

// -----

// Positional encodings read a generated table of max-positions rows (here
// the model's max_seq_len) with the op's wavelength base.
// CHECK-LABEL: module attributes
// CHECK-SAME: tfm.weights = #tfm.weight_plan<bytes = 2048, entries = [<name = "tfm.sinusoidal[32x16,base=10000.00]", type = tensor<32x16xf32>, layout = sinusoidal, base = 1.000000e+04 : f64, offset = 0, bytes = 2048>]>
module attributes {tfm.model = #tfm.model<family = encoder, vocab_size = 10, max_seq_len = 32>} {
  func.func @pe(%n: index) -> tensor<?x16xf32> {
    %pe = tfm.positional_encoding sizes(%n) : tensor<?x16xf32>
    return %pe : tensor<?x16xf32>
  }
}

// -----

// Without a model or max-positions, a run-time length has no table size.
func.func @pe(%n: index) -> tensor<?x16xf32> {
  // expected-error @below {{reads positions at a run-time offset or of a run-time length; the plan needs max-positions}}
  %pe = tfm.positional_encoding sizes(%n) : tensor<?x16xf32>
  return %pe : tensor<?x16xf32>
}

// -----

// A rotary embedding reads a [positions, R] cos | sin table, in f32 whatever
// the activations' type, sized by the model's max_seq_len for a run-time
// offset; R is the rotated width (dims), not head_dim.
// CHECK-LABEL: module attributes
// CHECK-SAME: tfm.weights = #tfm.weight_plan<bytes = 3072, entries = [<name = "tfm.rotary[32x24,base=500000.00]", type = tensor<32x24xf32>, layout = rotary, base = 5.000000e+05 : f64, offset = 0, bytes = 3072>]>
module attributes {tfm.model = #tfm.model<family = decoder, vocab_size = 10, max_seq_len = 32>} {
  func.func @rope(%x: tensor<1x3x2x32xbf16>, %past: index) -> tensor<1x3x2x32xbf16> {
    %r = tfm.rotary %x offset %past base 5.000000e+05 dims 24 : tensor<1x3x2x32xbf16>
    return %r : tensor<1x3x2x32xbf16>
  }
}

// -----

// A run-time offset without a maximum has no table size.
func.func @rope(%x: tensor<1x3x2x32xf32>, %past: index) -> tensor<1x3x2x32xf32> {
  // expected-error @below {{reads positions at a run-time offset or of a run-time length; the plan needs max-positions}}
  %r = tfm.rotary %x offset %past base 1.000000e+04 : tensor<1x3x2x32xf32>
  return %r : tensor<1x3x2x32xf32>
}

// -----

// The expert stacks of a mixture are packed per expert: gate/up as gated
// panels [E, 1, D = 8, 2 x 16], down as panels [E, 1, F = 5, 16].
// CHECK-LABEL: module attributes {tfm.weights = #tfm.weight_plan<bytes = 4032, entries = [
// CHECK-SAME: <name = "gu", type = tensor<3x10x8xf32>, layout = gated_panels, panel_width = 32, offset = 0, bytes = 3072>,
// CHECK-SAME: <name = "dn", type = tensor<3x8x5xf32>, layout = gemm_panels, panel_width = 16, offset = 3072, bytes = 960>]
func.func @moe(%x: tensor<4x8xf32>, %w: tensor<4x3xf32>) -> tensor<4x8xf32> {
  %gu = tfm.weight "gu" : tensor<3x10x8xf32>
  %dn = tfm.weight "dn" : tensor<3x8x5xf32>
  %y = tfm.moe %x, %w, %gu, %dn top_k 2 act silu
      : (tensor<4x8xf32>, tensor<4x3xf32>, tensor<3x10x8xf32>, tensor<3x8x5xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// -----

// A quantized weight is stored as codes and scales: 4-bit codes of the
// 1 x 40 x 16 panel (320 bytes, two columns a byte), then at the next
// 64-byte boundary the f32 scales of ceil(40 / 16) = 3 groups x 16 columns
// (192 bytes).
// CHECK-LABEL: module attributes
// CHECK-SAME: entries = [<name = "q", type = tensor<7x40xf32>, layout = gemm_panels, panel_width = 16, quant = <bits = 4, group = 16>, offset = 0, bytes = 512>]
func.func @quantized(%x: tensor<2x40xf32>) -> tensor<2x7xf32> {
  %w = tfm.weight "q" quantized <bits = 4, group = 16> : tensor<7x40xf32>
  %y = tfm.linear %x, %w : (tensor<2x40xf32>, tensor<7x40xf32>) -> tensor<2x7xf32>
  return %y : tensor<2x7xf32>
}

// -----

// Only GEMMs dequantize: a quantized weight read any other way is an error.
func.func @gathered(%ids: tensor<2xi64>) -> tensor<2x40xf32> {
  // expected-error @below {{'tfm.weight' op is quantized but read by tfm.embedding; only the weight operand of a tfm.linear reads quantized weights}}
  %w = tfm.weight "q" quantized <bits = 8, group = 32> : tensor<7x40xf32>
  %e = tfm.embedding %w, %ids : (tensor<7x40xf32>, tensor<2xi64>) -> tensor<2x40xf32>
  return %e : tensor<2x40xf32>
}
