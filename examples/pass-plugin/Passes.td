//===- Passes.td - an out-of-tree tfm pass built as a plugin --*- tablegen -*-===//
//
// Part of tfmc's examples (docs/writing-passes.md walks through this file).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_PLUGIN_PASSES_TD
#define TFM_PLUGIN_PASSES_TD

include "mlir/Pass/PassBase.td"

def ApproximateGeluPass : Pass<"tfm-approximate-gelu", "func::FuncOp"> {
  let summary = "Rewrite exact (erf) GELU as its tanh approximation";
  let description = [{
    `tfm.gelu %x` becomes `tfm.gelu %x approximate tanh`. The two differ by
    less than 1e-3 everywhere; the tanh form is what GPT-2 was trained with
    and is cheaper on hardware without a fast erf.

    ```mlir
    %g = tfm.gelu %x : tensor<4xf32>
    // becomes
    %g = tfm.gelu %x approximate tanh : tensor<4xf32>
    ```
  }];
  let options = [
    Option<"minElements", "min-elements", "int64_t", "0",
           "Only rewrite tensors with at least this many elements">
  ];
}

#endif // TFM_PLUGIN_PASSES_TD
