// A pre-LN feed-forward block (GPT-2's MLP: LayerNorm, linear, erf GELU,
// linear, residual) written with primitive tfm ops, for any sequence length
// up to 64. The fusion pipeline folds the GELU into the first linear's
// epilogue and the residual add into the second's, as for a TOML model.
//
// The argument and result attributes are the artifact's interface:
// `tfm.name` names the input and output (`tfmc-run ART --input hidden=x.npy`
// writes out.npy), `tfm.dim_names` names the dynamic dimension and the
// function's `tfm.dim_bounds` bounds it.
func.func @ffn_block(%x: tensor<1x?x96xf32> {tfm.name = "hidden", tfm.dim_names = ["", "seq", ""]})
    -> (tensor<1x?x96xf32> {tfm.name = "out", tfm.dim_names = ["", "seq", ""]})
    attributes {tfm.dim_bounds = {seq = 64 : i64}} {
  %g = tfm.weight "ln.weight" : tensor<96xf32>
  %b = tfm.weight "ln.bias" : tensor<96xf32>
  %n = tfm.layer_norm %x scale %g bias %b axis 2 eps 1.0e-5 : (tensor<1x?x96xf32>, tensor<96xf32>, tensor<96xf32>) -> tensor<1x?x96xf32>
  %w1 = tfm.weight "fc1.weight" : tensor<384x96xf32>
  %c1 = tfm.weight "fc1.bias" : tensor<384xf32>
  %h = tfm.linear %n, %w1 bias %c1 : (tensor<1x?x96xf32>, tensor<384x96xf32>, tensor<384xf32>) -> tensor<1x?x384xf32>
  %a = tfm.gelu %h : tensor<1x?x384xf32>
  %w2 = tfm.weight "fc2.weight" : tensor<96x384xf32>
  %c2 = tfm.weight "fc2.bias" : tensor<96xf32>
  %f = tfm.linear %a, %w2 bias %c2 : (tensor<1x?x384xf32>, tensor<96x384xf32>, tensor<96xf32>) -> tensor<1x?x96xf32>
  %y = tfm.add %f, %x : tensor<1x?x96xf32>, tensor<1x?x96xf32>
  return %y : tensor<1x?x96xf32>
}
