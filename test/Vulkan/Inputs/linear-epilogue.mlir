// Input of emit-glsl.test: a linear whose fused epilogue adds a residual and
// applies ReLU (arith.maximumf, NaN-propagating).
func.func @forward(%x: tensor<5x64xf32>, %r: tensor<5x48xf32>) -> tensor<5x48xf32> {
  %w = tfm.weight "w" : tensor<48x64xf32>
  %b = tfm.weight "b" : tensor<48xf32>
  %zero = arith.constant 0.0 : f32
  %y = tfm.linear %x, %w bias %b inputs(%r) : (tensor<5x64xf32>, tensor<48x64xf32>, tensor<48xf32>, tensor<5x48xf32>) -> tensor<5x48xf32> epilogue {
  ^bb0(%acc: f32, %res: f32):
    %s = arith.addf %acc, %res : f32
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %s, %z : f32
    tfm.yield %m : f32
  }
  return %y : tensor<5x48xf32>
}
