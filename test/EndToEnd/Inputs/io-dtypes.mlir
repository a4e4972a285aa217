// Entries whose inputs and outputs are every element type the runtime
// moves: f16 and bf16 activations (converted to f32 to compute, rounded
// back), int8 tensors through a view, and a bool attention mask.
module {
  func.func @halves(%x: tensor<3x5xf16> {tfm.name = "x"}, %y: tensor<3x5xbf16> {tfm.name = "y"})
      -> (tensor<3x5xbf16> {tfm.name = "sum"}, tensor<3x5xf16> {tfm.name = "exp"}) {
    %xf = tfm.convert %x : tensor<3x5xf16> -> tensor<3x5xf32>
    %yf = tfm.convert %y : tensor<3x5xbf16> -> tensor<3x5xf32>
    %s = tfm.add %xf, %yf : tensor<3x5xf32>, tensor<3x5xf32>
    %e = tfm.exp %xf : tensor<3x5xf32>
    %sb = tfm.convert %s : tensor<3x5xf32> -> tensor<3x5xbf16>
    %eh = tfm.convert %e : tensor<3x5xf32> -> tensor<3x5xf16>
    return %sb, %eh : tensor<3x5xbf16>, tensor<3x5xf16>
  }
  func.func @bytes(%q: tensor<2x3xi8> {tfm.name = "q"}, %m: tensor<2x3xi1> {tfm.name = "mask"})
      -> (tensor<3x2xi8> {tfm.name = "qt"}, tensor<2x3xi32> {tfm.name = "wide"}, tensor<2x1x1x3xf32> {tfm.name = "additive"}) {
    %t = tfm.transpose %q [1, 0] : tensor<2x3xi8> -> tensor<3x2xi8>
    %w = tfm.convert %q : tensor<2x3xi8> -> tensor<2x3xi32>
    %a = tfm.padding_mask %m : tensor<2x3xi1> -> tensor<2x1x1x3xf32>
    return %t, %w, %a : tensor<3x2xi8>, tensor<2x3xi32>, tensor<2x1x1x3xf32>
  }
}
