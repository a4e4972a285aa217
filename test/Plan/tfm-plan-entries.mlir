// RUN: tfmc-opt %s -split-input-file -verify-diagnostics -tfm-plan-entries | FileCheck %s

// The ABI is read once from the frontend's attributes: names, named
// dynamic dimensions with their bounds, the bound token ids are checked
// against (the embedding table's rows), state (an argument a result is
// tied to, which is then not an output) and index scalars.
// CHECK-LABEL: func.func @step
// CHECK-SAME: tfm.entry = #tfm.entry<inputs = [
// CHECK-SAME: <name = "input_ids", type = tensor<1x?xi64>, role = input, dims = ["", "seq"], id_bound = 50, arg = 0>,
// CHECK-SAME: <name = "past_length", type = index, role = input, arg = 1>,
// CHECK-SAME: <name = "cache", type = tensor<1x8x4xf32>, role = state, arg = 2>]
// CHECK-SAME: outputs = [<name = "h", type = tensor<1x?x4xf32>, role = output, dims = ["", "seq", ""], arg = 0>]
// CHECK-SAME: bounds = {seq = 8 : i64}>
func.func @step(%ids: tensor<1x?xi64> {tfm.name = "input_ids", tfm.dim_names = ["", "seq"]},
                %past: index {tfm.name = "past_length"},
                %cache: tensor<1x8x4xf32> {tfm.name = "cache"})
    -> (tensor<1x?x4xf32> {tfm.name = "h", tfm.dim_names = ["", "seq", ""]},
        tensor<1x8x4xf32> {tfm.tied_to = 2 : i64})
    attributes {tfm.dim_bounds = {seq = 8 : i64}} {
  %t = tfm.weight "emb" : tensor<50x4xf32>
  %x = tfm.embedding %t, %ids : (tensor<50x4xf32>, tensor<1x?xi64>) -> tensor<1x?x4xf32>
  %c = tfm.cache_write %cache, %x offset %past axis 1 : (tensor<1x8x4xf32>, tensor<1x?x4xf32>) -> tensor<1x8x4xf32>
  return %x, %c : tensor<1x?x4xf32>, tensor<1x8x4xf32>
}

// -----

// Unnamed tensors are called argN / resultN.
// CHECK-LABEL: func.func @unnamed
// CHECK-SAME: inputs = [<name = "arg0", type = tensor<2xf32>, role = input, arg = 0>]
// CHECK-SAME: outputs = [<name = "result0", type = tensor<2xf32>, role = output, arg = 0>]
func.func @unnamed(%x: tensor<2xf32>) -> tensor<2xf32> {
  %y = tfm.exp %x : tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

// expected-error @+1 {{entry tensor 'x' has dynamic dimensions but no tfm.dim_names}}
func.func @unnamed_dynamic(%x: tensor<?xf32> {tfm.name = "x"}) -> tensor<?xf32> {
  return %x : tensor<?xf32>
}

// -----

// expected-error @+1 {{dimension 'seq' of 'x' has no bound in tfm.dim_bounds}}
func.func @unbounded(%x: tensor<?xf32> {tfm.name = "x", tfm.dim_names = ["seq"]}) -> tensor<2xf32> {
  %c = tfm.constant dense<1.0> : tensor<2xf32>
  return %c : tensor<2xf32>
}

// -----

// expected-error @+1 {{two entry tensors are named 'x'}}
func.func @duplicate(%x: tensor<2xf32> {tfm.name = "x"}) -> (tensor<2xf32> {tfm.name = "x"}) {
  %y = tfm.exp %x : tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

// expected-error @+1 {{two results are tied to argument 0}}
func.func @tied_twice(%s: tensor<2xf32>) -> (tensor<2xf32> {tfm.tied_to = 0 : i64}, tensor<2xf32> {tfm.tied_to = 0 : i64}) {
  return %s, %s : tensor<2xf32>, tensor<2xf32>
}

// -----

// expected-error @+1 {{entry tensor 'x' must be a ranked tensor or an index, got 'f32'}}
func.func @scalar(%x: f32 {tfm.name = "x"}) -> tensor<2xf32> {
  %c = tfm.constant dense<1.0> : tensor<2xf32>
  return %c : tensor<2xf32>
}
