//===- TfmInterfaces.td - tfm op interfaces --------------------*- tablegen -*-===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_IR_TFMINTERFACES_TD
#define TFM_IR_TFMINTERFACES_TD

include "mlir/IR/OpBase.td"

def Tfm_ScalarComputeOpInterface : OpInterface<"ScalarComputeOpInterface"> {
  let cppNamespace = "::mlir::tfm";
  let description = [{
    An elementwise tfm op whose per-element semantics can be written as
    `arith`/`math` operations on its operands' elements. This is the single
    source of truth for elementwise numerics: the epilogue fusion copies it
    into `tfm.linear` regions, the CPU lowering uses it as a `linalg.generic`
    body (and on vectors, since `arith`/`math` ops are elementwise on vectors
    too), and the Vulkan kernel generator prints it as GLSL.
  }];
  let methods = [
    InterfaceMethod<[{
        Builds the computation of one result element from one element of each
        operand (`args` has one value per operand, all of the same scalar or
        vector type) and returns it.
      }],
      "::mlir::Value", "buildScalarComputation",
      (ins "::mlir::OpBuilder &":$builder, "::mlir::Location":$loc,
           "::mlir::ValueRange":$args)>
  ];
}

#endif // TFM_IR_TFMINTERFACES_TD
