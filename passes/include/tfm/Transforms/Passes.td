//===- Passes.td - tfm graph transformations -------------------*- tablegen -*-===//
//
// Part of tfmc. Every pass here works on the tfm dialect and is shared by all
// backends; target choices are pass options, never forks of a pass.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TRANSFORMS_PASSES_TD
#define TFM_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def DecomposePass : Pass<"tfm-decompose", "func::FuncOp"> {
  let summary = "Expand composite tfm ops into elementwise and reduction primitives";
  let description = [{
    Rewrites every tfm op that implements `linalg::AggregatedOpInterface`
    (softmax, layer_norm, rms_norm, gelu, silu, attention, add_layer_norm,
    add_rms_norm, linear with an epilogue) into the primitive sequence an
    ONNX exporter would produce, e.g.

    ```mlir
    %y = tfm.softmax %x axis 1 : tensor<4x8xf32>
    // becomes
    %m = tfm.reduce_max %x [1] keep_dims : tensor<4x8xf32> -> tensor<4x1xf32>
    %d = tfm.sub %x, %m : tensor<4x8xf32>, tensor<4x1xf32>
    %e = tfm.exp %d : tensor<4x8xf32>
    %s = tfm.reduce_sum %e [1] keep_dims : tensor<4x8xf32> -> tensor<4x1xf32>
    %y = tfm.div %e, %s : tensor<4x8xf32>, tensor<4x1xf32>
    ```

    `tfmc --decompose` runs it on the frontend's output so that the
    recomposition passes see exporter-style graphs on every model.
  }];
  let options = [
    ListOption<"ops", "ops", "std::string",
               "Mnemonics of the ops to decompose (e.g. softmax,gelu); all "
               "composite ops when empty">
  ];
  let dependentDialects = ["::mlir::tensor::TensorDialect",
                           "::mlir::arith::ArithDialect"];
}

#endif // TFM_TRANSFORMS_PASSES_TD
