//===- Passes.td - tfm lowerings -------------------------------*- tablegen -*-===//
//
// Part of tfmc. Lowering of fused tfm IR to the upstream dialects that reach
// LLVM (CPU) — buffers, loops, vectors, OpenMP.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_CONVERSION_PASSES_TD
#define TFM_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerToCPUPass : Pass<"tfm-lower-to-cpu", "ModuleOp"> {
  let summary = "Lower tfm ops on tensors to CPU kernels on buffers";
  let description = [{
    Rewrites every entry function of a planned module (the plan pipeline:
    `#tfm.entry`, `#tfm.weight_plan`, `tfm.buffers`) from tensors to
    buffers: `void @f(inputs..., outputs..., weights, workspace)`. Every op
    result is a view of the memory the plan gave it (an arena range of the
    workspace, an output or a state argument), every weight a view of the
    weights buffer at its planned offset and layout, every view op a memref
    view; the lowering only chooses and builds kernels.

    Each fused op becomes a generated kernel: `tfm.linear`/`tfm.matmul` a
    register-blocked GEMM micro-kernel (MR x NR accumulators of
    `vector-width` lanes) over weights packed at compile time into NR-column
    panels, with bias and epilogue applied in the write-back; `tfm.attention`
    a flash-style kernel with online softmax over key blocks; softmax and
    norms one pass per row kept in cache; elementwise ops `linalg.generic`s.
    Outer loops are `scf.parallel`.

    These options are the CPU backend's only tuning knobs: `tfmc` and the
    `tfm-cpu-pipeline` take the same set (tfm/Conversion/CpuTarget.h).
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "unsigned", "8",
           "f32 lanes of the target's vectors (4 SSE, 8 AVX2, 16 AVX-512)">,
    Option<"gemmMR", "gemm-mr", "unsigned", "0",
           "Rows of the GEMM micro-kernel (0: chosen from vector-width)">,
    Option<"gemmNR", "gemm-nr", "unsigned", "0",
           "Columns of the GEMM micro-kernel, a multiple of vector-width (0: "
           "two vectors)">,
    Option<"gemmKC", "gemm-kc", "unsigned", "512",
           "Largest K block of the GEMM (K up to twice this is not split; "
           "partial sums go through C between blocks)">,
    Option<"gemmMC", "gemm-mc", "unsigned", "128",
           "Rows of A one GEMM work item covers (rounded to gemm-mr)">,
    Option<"attentionBlockQ", "attention-block-q", "unsigned", "128",
           "Queries per attention work item">,
    Option<"attentionBlockK", "attention-block-k", "unsigned", "128",
           "Keys per online-softmax step">,
    Option<"maxPositions", "max-positions", "int64_t", "0",
           "Rows of precomputed sinusoidal tables (0: the model's "
           "max_seq_len)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::func::FuncDialect"
  ];
}

def EmitEntryWrappersPass : Pass<"tfm-emit-entry-wrappers", "ModuleOp"> {
  let summary = "Give every entry function a stable C ABI";
  let description = [{
    For each lowered entry `@f(memrefs...)` (a function with `#tfm.entry`)
    adds
    `void tfmc_f(void **buffers, const int64_t *dims)`: `buffers` holds the
    data pointers of the inputs, outputs, weights and workspace in argument
    order; `dims` the run-time sizes of the dynamic dimensions in order of
    appearance. The wrapper builds the memref descriptors and calls `@f`.
    It also exports `uint64_t tfmc_f_signature`, the signature of the ABI
    and weight plan the code was compiled for (tfmc/abi.h), which the
    runtime checks the artifact's manifest against.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::arith::ArithDialect"];
}

def LegalizeMathForCPUPass : Pass<"tfm-cpu-legalize-math", "ModuleOp"> {
  let summary = "Vectorisable polynomial approximations of exp, tanh, erf, ...";
  let description = [{
    Rewrites `math` ops into arithmetic (MLIR's polynomial approximations,
    accurate to a few ulp in f32) so they vectorise instead of becoming
    scalar libm calls.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::math::MathDialect"];
}

#endif // TFM_CONVERSION_PASSES_TD
