// RUN: tfmc-opt %s -split-input-file -verify-diagnostics

// Every tfm.* attribute is verified where it is attached.

// expected-error @+1 {{bos_id 40 is outside the vocabulary [0, 40) (-1: none)}}
module attributes {tfm.model = #tfm.model<family = decoder, vocab_size = 40, max_seq_len = 8, bos_id = 40>} {}

// -----

// expected-error @+1 {{'tfm.model' is only valid on modules}}
func.func @f() attributes {tfm.model = #tfm.model<family = decoder, vocab_size = 4, max_seq_len = 8>} { return }

// -----

// A malformed entry also fails its list:
// expected-error @+2 {{weight 'w' stores 128 bytes, not 64}}
// expected-error @+1 {{failed to parse Tfm_WeightPlanAttr parameter}}
module attributes {tfm.weights = #tfm.weight_plan<bytes = 128, entries = [<name = "w", type = tensor<4x8xf32>, layout = row_major, offset = 0, bytes = 64>]>} {}

// -----

// Quantized entries are f32 matrices stored as panels.
// expected-error @+2 {{quantized weight 'w' must be an f32 matrix stored as panels}}
// expected-error @+1 {{failed to parse Tfm_WeightPlanAttr parameter}}
module attributes {tfm.weights = #tfm.weight_plan<bytes = 128, entries = [<name = "w", type = tensor<4x8xf32>, layout = row_major, quant = <bits = 8, group = 4>, offset = 0, bytes = 32>]>} {}

// -----

// expected-error @+1 {{quantized weights have 8 or 4 bits, not 2}}
module attributes {tfm.q = #tfm.quant<bits = 2, group = 4>} {}

// -----

// expected-error @+1 {{the quantization group must be positive, not 0}}
module attributes {tfm.q = #tfm.quant<bits = 4, group = 0>} {}

// -----

// expected-error @+1 {{weight entries overlap at byte 64}}
module attributes {tfm.weights = #tfm.weight_plan<bytes = 256, entries = [<name = "a", type = tensor<4x8xf32>, layout = row_major, offset = 0, bytes = 128>, <name = "b", type = tensor<4x8xf32>, layout = row_major, offset = 64, bytes = 128>]>} {}

// -----

// A malformed entry also fails its list:
// expected-error @+2 {{weight 'w' must be at a 64-byte aligned offset}}
// expected-error @+1 {{failed to parse Tfm_WeightPlanAttr parameter}}
module attributes {tfm.weights = #tfm.weight_plan<bytes = 256, entries = [<name = "w", type = tensor<4x8xf32>, layout = row_major, offset = 8, bytes = 128>]>} {}

// -----

// A malformed entry also fails its list:
// expected-error @+2 {{gemm_panels weight 'w' needs rank 2 (or 3: a stack of matrices) and a positive panel_width}}
// expected-error @+1 {{failed to parse Tfm_WeightPlanAttr parameter}}
module attributes {tfm.weights = #tfm.weight_plan<bytes = 256, entries = [<name = "w", type = tensor<4x8xf32>, layout = gemm_panels, offset = 0, bytes = 128>]>} {}

// -----

// A malformed entry also fails its list:
// expected-error @+2 {{weight 'w' has unsupported element type 'i32'}}
// expected-error @+1 {{failed to parse Tfm_WeightPlanAttr parameter}}
module attributes {tfm.weights = #tfm.weight_plan<bytes = 256, entries = [<name = "w", type = tensor<4x8xi32>, layout = row_major, offset = 0, bytes = 128>]>} {}

// -----

// A malformed entry also fails its list:
// expected-error @+2 {{dynamic dimension 1 of 'x' has no name}}
// expected-error @+1 {{failed to parse Tfm_EntryAttr parameter}}
func.func @f(%x: tensor<1x?xf32>) attributes {tfm.entry = #tfm.entry<inputs = [<name = "x", type = tensor<1x?xf32>, role = input, arg = 0>], bounds = {}>} { return }

// -----

// expected-error @+1 {{dimension 'seq' of 'x' has no bound}}
func.func @f(%x: tensor<1x?xf32>) attributes {tfm.entry = #tfm.entry<inputs = [<name = "x", type = tensor<1x?xf32>, role = input, dims = ["", "seq"], arg = 0>], bounds = {}>} { return }

// -----

// expected-error @+1 {{entry input 'x' does not match argument 0}}
func.func @f(%x: tensor<4xf32>) attributes {tfm.entry = #tfm.entry<inputs = [<name = "x", type = tensor<8xf32>, role = input, arg = 0>], bounds = {}>} { return }

// -----

// expected-error @+1 {{two entry tensors are named 'x'}}
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> attributes {tfm.entry = #tfm.entry<inputs = [<name = "x", type = tensor<4xf32>, role = input, arg = 0>], outputs = [<name = "x", type = tensor<4xf32>, role = output, arg = 0>], bounds = {}>} { return %x : tensor<4xf32> }

// -----

// A malformed entry also fails its list:
// expected-error @+2 {{id_bound needs integer elements}}
// expected-error @+1 {{failed to parse Tfm_EntryAttr parameter}}
func.func @f(%x: tensor<4xf32>) attributes {tfm.entry = #tfm.entry<inputs = [<name = "x", type = tensor<4xf32>, role = input, id_bound = 3, arg = 0>], bounds = {}>} { return }

// -----

// expected-error @+1 {{argument 0: 'tfm.dim_names' has 1 names for type 'tensor<2x3xf32>'}}
func.func @f(%x: tensor<2x3xf32> {tfm.dim_names = [""]}) { return }

// -----

// expected-error @+1 {{argument 0: dimension 0 is static but named 'seq'}}
func.func @f(%x: tensor<2x3xf32> {tfm.dim_names = ["seq", ""]}) { return }

// -----

// expected-error @+1 {{result 0 is tied to argument 3, which does not exist or has another type}}
func.func @f(%x: tensor<2xf32>) -> (tensor<2xf32> {tfm.tied_to = 3 : i64}) { return %x : tensor<2xf32> }

// -----

// expected-error @+1 {{argument 0: unknown attribute 'tfm.nmae'}}
func.func @f(%x: tensor<2xf32> {tfm.nmae = "x"}) { return }

// -----

func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'tfm.buffers' must hold one #tfm.buffer per result}}
  %y = tfm.exp %x {tfm.buffers = []} : tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{a buffer of kind output needs index}}
  %y = tfm.exp %x {tfm.buffers = [#tfm.buffer<kind = output>]} : tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{unknown attribute 'tfm.bufers'}}
  %y = tfm.exp %x {tfm.bufers = []} : tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

// expected-error @+2 {{'t': a scaling applies only to rotary tables and must be positive}}
// expected-error @+1 {{failed to parse Tfm_WeightPlanAttr parameter 'entries'}}
module attributes {tfm.weights = #tfm.weight_plan<bytes = 128, entries = [<name = "t", type = tensor<4x8xf32>, layout = sinusoidal, base = 1.0e4, scaling = 2.0, offset = 0, bytes = 128>]>} {}

// -----

// expected-error @+2 {{rotary table 'r' needs an even number of columns}}
// expected-error @+1 {{failed to parse Tfm_WeightPlanAttr parameter 'entries'}}
module attributes {tfm.weights = #tfm.weight_plan<bytes = 128, entries = [<name = "r", type = tensor<4x7xf32>, layout = rotary, base = 1.0e4, offset = 0, bytes = 112>]>} {}

// -----

// Gated panels pair the halves: an even panel width and feature count.
// expected-error @+2 {{gated_panels weight 'w' needs rank 2 (or 3: a stack of matrices), an even number of features and an even positive panel_width}}
// expected-error @+1 {{failed to parse Tfm_WeightPlanAttr parameter}}
module attributes {tfm.weights = #tfm.weight_plan<bytes = 1024, entries = [<name = "w", type = tensor<14x8xf32>, layout = gated_panels, panel_width = 7, offset = 0, bytes = 512>]>} {}

// -----

// expected-error @+1 {{'tfm.image' must be a dictionary on a module}}
module attributes {tfm.image = [1, 2]} {}

// -----

// expected-error @+1 {{'tfm.image': 'channels' must be a positive integer}}
module attributes {tfm.image = {channels = 0 : i64}} {}

// -----

// expected-error @+1 {{'tfm.image': 'std' must be one positive float per channel}}
module attributes {tfm.image = {channels = 2 : i64, height = 8 : i64, width = 8 : i64, resize = true, rescale = 0.5 : f64, mean = [0.5, 0.5], std = [0.5, 0.0]}} {}

// -----

// expected-error @+1 {{'tfm.image': 'labels' must be an array of strings}}
module attributes {tfm.image = {channels = 3 : i64, labels = [1]}} {}

// -----

// A valid one: preprocessing and labels.
module attributes {tfm.image = {channels = 1 : i64, height = 8 : i64, width = 6 : i64, resize = false, rescale = 0.0 : f64, mean = [0.0], std = [1.0], labels = ["cat", "dog"]}} {}

// -----

// Panels hold matrices or stacks of them (experts), nothing of higher rank.
// expected-error @+2 {{gemm_panels weight 'w' needs rank 2 (or 3: a stack of matrices) and a positive panel_width}}
// expected-error @+1 {{failed to parse}}
module attributes {tfm.weights = #tfm.weight_plan<bytes = 4096, entries = [<name = "w", type = tensor<2x2x4x8xf32>, layout = gemm_panels, panel_width = 16, offset = 0, bytes = 1024>]>} {}
