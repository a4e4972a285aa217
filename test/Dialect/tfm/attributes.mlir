// RUN: tfmc-opt %s -split-input-file | tfmc-opt -split-input-file | FileCheck %s

// The contract attributes print and parse back.
// CHECK: tfm.model = #tfm.model<family = encoder_decoder, vocab_size = 40, max_seq_len = 32, eos_id = 2, tokenizer = <kind = char, directory = "m">>
// CHECK: tfm.weights = #tfm.weight_plan<bytes = 128, entries = [<name = "w", type = tensor<4x8xbf16>, layout = row_major, offset = 0, bytes = 64>, <name = "w", type = tensor<4x8xbf16>, layout = gemm_panels, panel_width = 8, kn = true, offset = 64, bytes = 64>]>
// CHECK: tfm.entry = #tfm.entry<inputs = [<name = "ids", type = tensor<1x?xi32>, role = input, dims = ["", "seq"], id_bound = 40, arg = 0>], outputs = [<name = "m", type = tensor<1x?xi1>, role = output, dims = ["", "seq"], arg = 0>], bounds = {seq = 32 : i64}, arena = 256>
// CHECK: tfm.buffers = [#tfm.buffer<kind = output, bytes = 32, index = 0>]
module attributes {
  tfm.model = #tfm.model<family = encoder_decoder, vocab_size = 40, max_seq_len = 32, eos_id = 2, tokenizer = <kind = char, directory = "m">>,
  tfm.weights = #tfm.weight_plan<bytes = 128, entries = [
    <name = "w", type = tensor<4x8xbf16>, layout = row_major, offset = 0, bytes = 64>,
    <name = "w", type = tensor<4x8xbf16>, layout = gemm_panels, panel_width = 8, kn = true, offset = 64, bytes = 64>]>} {
  func.func @f(%ids: tensor<1x?xi32> {tfm.name = "ids", tfm.dim_names = ["", "seq"]}) -> (tensor<1x?xi1> {tfm.name = "m", tfm.dim_names = ["", "seq"]})
      attributes {tfm.dim_bounds = {seq = 32 : i64},
                  tfm.entry = #tfm.entry<inputs = [<name = "ids", type = tensor<1x?xi32>, role = input, dims = ["", "seq"], id_bound = 40, arg = 0>],
                                         outputs = [<name = "m", type = tensor<1x?xi1>, role = output, dims = ["", "seq"], arg = 0>],
                                         bounds = {seq = 32 : i64}, arena = 256>} {
    %m = tfm.convert %ids {tfm.buffers = [#tfm.buffer<kind = output, bytes = 32, index = 0>]} : tensor<1x?xi32> -> tensor<1x?xi1>
    return %m : tensor<1x?xi1>
  }
}
