//===- TfmBase.td - tfm dialect definition, constraints, enums -*- tablegen -*-===//
//
// Part of tfmc. The dialect, its base op class, the type constraints every op
// shares and the enum attributes.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_IR_TFMBASE_TD
#define TFM_IR_TFMBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

//===----------------------------------------------------------------------===//
// Dialect
//===----------------------------------------------------------------------===//

def Tfm_Dialect : Dialect {
  let name = "tfm";
  let cppNamespace = "::mlir::tfm";
  let summary = "Transformer model operations at primitive and fused level";
  let description = [{
    The `tfm` dialect describes transformer models on ranked tensors with value
    semantics. It has two levels that share one op set:

    * the **primitive** level is what the frontends emit: the computation of
      "Attention Is All You Need" op by op (`tfm.embedding`,
      `tfm.positional_encoding`, `tfm.matmul`, `tfm.scale`, `tfm.causal_mask`,
      `tfm.softmax`, `tfm.layer_norm`, ...);
    * the **fused** level is what the fusion passes produce (`tfm.attention`,
      `tfm.add_layer_norm`, `tfm.add_rms_norm`, `tfm.linear` with an epilogue
      region). Every fused op can be decomposed back into primitives through
      `linalg::AggregatedOpInterface`.

    Model parameters are not literals: `tfm.weight` names a tensor of the
    model's weights file and the backends pack it into their preferred layout
    when they write the artifact.

    Element types are f32 (f16 and bf16 are accepted by every verifier), token
    ids are i32 or i64. Shapes are static except where an op takes explicit
    dynamic sizes; shape rules live in shared functions (`ShapeUtils.h`).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect"];
  let hasConstantMaterializer = 1;
  // Attributes (TfmAttrs.td) print as #tfm.<mnemonic><...>; every `tfm.*`
  // attribute on an op, a region argument or a result is verified.
  let useDefaultAttributePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Tfm_FloatElement : AnyTypeOf<[F32, F16, BF16]>;
def Tfm_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;
def Tfm_IdTensor : RankedTensorOf<[I32, I64]>;
def Tfm_MaskSourceTensor : RankedTensorOf<[I1, I32, I64, F32, F16, BF16]>;
def Tfm_AnyTensor : RankedTensorOf<[F32, F16, BF16, I1, I8, I32, I64]>;

//===----------------------------------------------------------------------===//
// Base op class
//===----------------------------------------------------------------------===//

class Tfm_Op<string mnemonic, list<Trait> traits = []>
    : Op<Tfm_Dialect, mnemonic, traits>;

#endif // TFM_IR_TFMBASE_TD
