// One post-LN encoder layer of "Attention Is All You Need" at the fused tfm
// level (d_model 96, 3 heads, d_ff 384, sequence 37): self-attention,
// residual + LayerNorm, feed-forward with ReLU in the first linear's epilogue,
// residual + LayerNorm.
func.func @encoder_layer(%x: tensor<1x37x96xf32>) -> tensor<1x37x96xf32> {
  %wq = tfm.weight "layer.attn.q.weight" : tensor<96x96xf32>
  %wk = tfm.weight "layer.attn.k.weight" : tensor<96x96xf32>
  %wv = tfm.weight "layer.attn.v.weight" : tensor<96x96xf32>
  %wo = tfm.weight "layer.attn.o.weight" : tensor<96x96xf32>
  %q = tfm.linear %x, %wq : (tensor<1x37x96xf32>, tensor<96x96xf32>) -> tensor<1x37x96xf32>
  %k = tfm.linear %x, %wk : (tensor<1x37x96xf32>, tensor<96x96xf32>) -> tensor<1x37x96xf32>
  %v = tfm.linear %x, %wv : (tensor<1x37x96xf32>, tensor<96x96xf32>) -> tensor<1x37x96xf32>
  %a = tfm.attention %q, %k, %v heads 3 scale 0.17677669529663687 : (tensor<1x37x96xf32>, tensor<1x37x96xf32>, tensor<1x37x96xf32>) -> tensor<1x37x96xf32>
  %o = tfm.linear %a, %wo : (tensor<1x37x96xf32>, tensor<96x96xf32>) -> tensor<1x37x96xf32>
  %g1 = tfm.weight "layer.norm1.weight" : tensor<96xf32>
  %b1 = tfm.weight "layer.norm1.bias" : tensor<96xf32>
  %h, %s = tfm.add_layer_norm %o, %x scale %g1 bias %b1 axis 2 eps 1.0e-5 : (tensor<1x37x96xf32>, tensor<1x37x96xf32>, tensor<96xf32>, tensor<96xf32>) -> (tensor<1x37x96xf32>, tensor<1x37x96xf32>)
  %w1 = tfm.weight "layer.ffn.linear1.weight" : tensor<384x96xf32>
  %c1 = tfm.weight "layer.ffn.linear1.bias" : tensor<384xf32>
  %f = tfm.linear %h, %w1 bias %c1 : (tensor<1x37x96xf32>, tensor<384x96xf32>, tensor<384xf32>) -> tensor<1x37x384xf32> epilogue {
  ^bb0(%acc: f32):
    %zero = arith.constant 0.0 : f32
    %relu = arith.maximumf %acc, %zero : f32
    tfm.yield %relu : f32
  }
  %w2 = tfm.weight "layer.ffn.linear2.weight" : tensor<96x384xf32>
  %c2 = tfm.weight "layer.ffn.linear2.bias" : tensor<96xf32>
  %f2 = tfm.linear %f, %w2 bias %c2 : (tensor<1x37x384xf32>, tensor<96x384xf32>, tensor<96xf32>) -> tensor<1x37x96xf32>
  %g2 = tfm.weight "layer.norm2.weight" : tensor<96xf32>
  %b2 = tfm.weight "layer.norm2.bias" : tensor<96xf32>
  %y, %s2 = tfm.add_layer_norm %f2, %h scale %g2 bias %b2 axis 2 eps 1.0e-5 : (tensor<1x37x96xf32>, tensor<1x37x96xf32>, tensor<96xf32>, tensor<96xf32>) -> (tensor<1x37x96xf32>, tensor<1x37x96xf32>)
  return %y : tensor<1x37x96xf32>
}
