//===- Passes.td - the target-independent plan -----------------*- tablegen -*-===//
//
// Part of tfmc. The passes that turn fused tfm IR into a planned module:
// entry ABIs, the weight plan, views and copies, and arena placement. Every
// target runs them with its own PlanOptions and then only emits kernels
// (tfm/Plan/Plan.h, docs/architecture.md).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_PLAN_PASSES_TD
#define TFM_PLAN_PASSES_TD

include "mlir/Pass/PassBase.td"

def LegalizeForKernelsPass : Pass<"tfm-legalize-for-kernels", "func::FuncOp"> {
  let summary = "Decompose the ops no target has a kernel for";
  let description = [{
    The kernels both targets provide normalise the last dimension; a
    `tfm.softmax` over another axis is expanded into primitives
    (`reduce_max`, `sub`, `exp`, `reduce_sum`, `div`) before planning, so no
    backend has to fall back to decomposition in the middle of emitting code.

    ```mlir
    %p = tfm.softmax %s axis 1 : tensor<2x5x7xf32>
    // becomes
    %m = tfm.reduce_max %s [1] keep_dims : tensor<2x5x7xf32> -> tensor<2x1x7xf32>
    ...
    ```
  }];
  let dependentDialects = ["::mlir::tfm::TfmDialect"];
}

def PlanEntriesPass : Pass<"tfm-plan-entries", "ModuleOp"> {
  let summary = "Compute the ABI of every entry function (#tfm.entry)";
  let description = [{
    From the frontend's argument and result attributes (`tfm.name`,
    `tfm.dim_names`, `tfm.tied_to`) and `tfm.dim_bounds`, records on every
    function the typed `#tfm.entry` the targets, the manifest writer and the
    runtime use: inputs in argument order (arguments a result is tied to are
    `state`), outputs (untied results), the bounds of named dimensions and
    the bound token ids are checked against. Unnamed tensors are called
    `argN` / `resultN`; a dynamic dimension without a name or bound is an
    error.

    ```mlir
    func.func @forward(%ids: tensor<1x?xi64> {tfm.name = "input_ids",
                                              tfm.dim_names = ["", "seq"]})
        -> (tensor<1x?x96xf32> {tfm.name = "h", tfm.dim_names = ["", "seq", ""]})
        attributes {tfm.dim_bounds = {seq = 64 : i64}}
    // gets
    //   tfm.entry = #tfm.entry<inputs = [<name = "input_ids", ..., id_bound = 1000, arg = 0>],
    //                          outputs = [<name = "h", ...>], bounds = {seq = 64 : i64}>
    ```
  }];
  let dependentDialects = ["::mlir::tfm::TfmDialect"];
}

def PlanWeightsPass : Pass<"tfm-plan-weights", "ModuleOp"> {
  let summary = "Lay out the weights buffer (#tfm.weight_plan)";
  let description = [{
    Every `tfm.weight` is stored once per layout its readers need: as GEMM
    panels `[ceil(N / panel-width), K, panel-width]` where it is the weight
    of a `tfm.linear`, row-major where anything else reads it (an embedding
    table tied to the LM head is read from the head's panels with
    `embedding-from-panels`). The sinusoidal tables of
    `tfm.positional_encoding` and the cos | sin tables of `tfm.rotary` are
    generated entries (computed by the artifact writer). Each entry keeps the weight's element type, so a
    bf16 weight is stored in 2 bytes per element. Entries are 64-byte
    aligned, in order of first use.
  }];
  let options = [
    Option<"panelWidth", "panel-width", "int64_t", "16",
           "Columns of a GEMM weight panel">,
    Option<"embeddingFromPanels", "embedding-from-panels", "bool", "false",
           "Read embedding tables tied to an LM head from its panels">,
    Option<"maxPositions", "max-positions", "int64_t", "0",
           "Rows of generated positional tables (0: the model's "
           "max_seq_len, else the longest static sequence)">
  ];
  let dependentDialects = ["::mlir::tfm::TfmDialect"];
}

def PlanViewsPass : Pass<"tfm-plan-views", "func::FuncOp"> {
  let summary = "Decide views and insert the copies kernels need";
  let description = [{
    Reshapes, transposes and slices are strided views of their operand, and
    a `tfm.cache_write` updates its cache in place. This pass follows the
    strides of every view and inserts a `tfm.copy` where a kernel needs
    another layout (a norm's rows contiguous, a reshape of a transposed
    view), where an entry result is not a value of its own (an argument, a
    view, a value returned twice) and before an in-place update of a value
    that is read again. After it, every target can emit each view op as a
    view and each other op as a kernel.

    ```mlir
    %t = tfm.transpose %x [0, 2, 1] : tensor<2x3x4xf32> -> tensor<2x4x3xf32>
    %r = tfm.reshape %t : tensor<2x4x3xf32> -> tensor<8x3xf32>
    // becomes
    %c = tfm.copy %t : tensor<2x4x3xf32>
    %r = tfm.reshape %c : tensor<2x4x3xf32> -> tensor<8x3xf32>
    ```
  }];
  let dependentDialects = ["::mlir::tfm::TfmDialect"];
}

def PlanBuffersPass : Pass<"tfm-plan-buffers", "ModuleOp"> {
  let summary = "Place every value in one arena (tfm.buffers)";
  let description = [{
    Bounds every run-time size (from the entry's dimension bounds, by
    interval arithmetic through the ops' shape rules), computes live ranges
    (a value lives from its definition to the last use of it or of any view
    of it) and places every value and kernel scratch range into one arena:
    largest first, at the lowest `alignment`-aligned offset that no
    overlapping live range uses. Results returned by the entry are written
    to its output buffers, results tied to state into the state, views get
    `#tfm.buffer<kind = view>`. With `io-in-arena`, inputs and outputs are
    arena ranges too (live for the whole run). State tensors get one offset
    per name across all entries. The arena size is recorded in #tfm.entry.
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", "64",
           "Alignment of every arena range in bytes">,
    Option<"ioInArena", "io-in-arena", "bool", "false",
           "Keep entry inputs and outputs in the arena">,
    Option<"target", "target", "std::string", "\"\"",
           "The registered target whose kernels' scratch to reserve "
           "(cpu, vulkan; empty: none)">
  ];
  let dependentDialects = ["::mlir::tfm::TfmDialect"];
}

#endif // TFM_PLAN_PASSES_TD
