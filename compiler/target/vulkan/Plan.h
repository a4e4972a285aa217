//===- Plan.h - the Vulkan backend's program model --------------*- C++ -*-===//
//
// Part of tfmc. Internal to compiler/target/vulkan. An entry function of the
// fused tfm IR becomes:
//  * a scalar program: every size and offset that is only known at run time
//    (sequence lengths, the KV-cache position) is a slot the runtime
//    evaluates before a run and uploads; kernels read slot k as S[k];
//  * storages: byte ranges of the activation arena (live ranges planned after
//    the walk, so memory is reused) or of the state buffer (KV caches);
//  * views: a storage seen as an N-D tensor with symbolic strides, so slices,
//    transposes and reshapes cost no kernel;
//  * dispatches: a kernel (deduplicated GLSL), its push constants (operand
//    offsets) and workgroup counts as slots (vkCmdDispatchIndirect), with the
//    barriers the data dependences need.
// The command buffer recorded from this never changes between runs; only the
// slots do.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TARGET_VULKAN_PLAN_H
#define TFM_TARGET_VULKAN_PLAN_H

#include "tfm/Target/Vulkan.h"

#include "mlir/IR/Location.h"
#include "mlir/IR/Types.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace mlir::tfm::vk {

/// A size or offset: a constant, or scalar-program slot `slot`.
struct Sym {
  int64_t value = 0;
  int slot = -1;
  static Sym c(int64_t v) { return {v, -1}; }
  bool isConst() const { return slot < 0; }
  bool isConst(int64_t v) const { return slot < 0 && value == v; }
  bool operator==(const Sym &o) const {
    return slot == o.slot && (slot >= 0 || value == o.value);
  }
  /// As a GLSL int expression.
  std::string glsl() const;
};

/// Opcodes of the scalar program, in the order of TFMC_VK_SCALAR_OPS
/// (tfmc/abi.h), which names them in the manifest.
enum class ScalarCode {
  Const,
  Dim,
  Index,
  Add,
  Sub,
  Mul,
  Div,
  CeilDiv,
  Min,
  Max
};
/// The manifest's name of `code`.
const char *scalarCodeName(ScalarCode code);

/// One instruction of the scalar program.
struct ScalarOp {
  ScalarCode op;
  int64_t a = 0, b = 0;
};

/// The run-time scalar computations of an entry, with value bounds used to
/// size buffers.
class Scalars {
public:
  Sym constant(int64_t v) { return Sym::c(v); }
  /// Size of dimension `axis` of entry input `input` (bounded by `max`).
  Sym inputDim(int64_t input, int64_t axis, int64_t max);
  /// Value of index input `input`, in [0, max].
  Sym inputIndex(int64_t input, int64_t max);
  Sym add(Sym a, Sym b);
  Sym sub(Sym a, Sym b);
  Sym mul(Sym a, Sym b);
  Sym div(Sym a, Sym b); ///< floor division of non-negative values
  Sym ceilDiv(Sym a, Sym b);
  Sym min(Sym a, Sym b);
  Sym max(Sym a, Sym b);
  /// A slot holding `s` (constants get a slot too; workgroup counts need
  /// one).
  int slotOf(Sym s);
  int64_t upper(Sym s) const { return s.isConst() ? s.value : hi[s.slot]; }
  int64_t lower(Sym s) const { return s.isConst() ? s.value : lo[s.slot]; }
  const std::vector<ScalarOp> &program() const { return ops; }

private:
  Sym emit(ScalarOp op, int64_t lo, int64_t hi);
  Sym binary(ScalarCode op, Sym a, Sym b, int64_t lo, int64_t hi);
  std::vector<ScalarOp> ops;
  std::vector<int64_t> lo, hi;
  std::map<std::tuple<ScalarCode, int64_t, int64_t>, int> cse;
};

enum class Buf { Arena, Weights, State };

/// Storage: a region of the arena or of the state buffer, at the offset
/// the plan (tfm-plan-buffers) gave it.
struct Storage {
  Buf buf = Buf::Arena;
  int64_t bytes = 0;  ///< upper bound
  int64_t offset = 0; ///< bytes
};

/// How the elements of a view are stored: 32-bit floats or ints (token ids
/// are 32-bit on the device), 16-bit floats (f16, bf16: weights are read
/// as pairs from 32-bit words, activations through 16-bit storage), 8-bit
/// ints and bools.
enum class Elem { F32, I32, F16, BF16, I8, Bool };

/// The element kind a tensor of element type `t` has on the device.
Elem elemOf(mlir::Type t);
/// Bytes of one element on the device.
int64_t elemBytes(Elem e);
/// True for the kinds loaded as GLSL int.
inline bool isIntElem(Elem e) {
  return e == Elem::I32 || e == Elem::I8 || e == Elem::Bool;
}

/// A storage seen as an N-D tensor: element (i...) is at element offset
/// `offset + dynOffset + sum(i_d * strides_d)` of the storage.
struct View {
  int storage = -1;
  Elem elt = Elem::F32;
  int64_t offset = 0;
  Sym dynOffset;
  llvm::SmallVector<Sym, 4> dims, strides;
  int64_t rank() const { return dims.size(); }
};

/// A generated kernel and where it came from.
struct Kernel {
  std::string name;                 ///< e.g. "gemm_3"
  std::string source;               ///< GLSL without the provenance comment
  std::vector<std::string> origins; ///< "tfm.linear at model.toml:12:3"
  unsigned localSize = 64;
  std::vector<uint32_t> spirv;
};

/// One operand reference in a dispatch's push constants.
struct PushValue {
  int storage = -1;      ///< -1: `offset` is absolute
  int64_t offset = 0;    ///< elements, relative to the storage
  int64_t elemBytes = 4; ///< of the array it indexes
};

struct Dispatch {
  int kernel = -1;
  std::vector<PushValue> push;
  int groups[3] = {-1, -1, -1}; ///< scalar slots
  bool barrier = false;         ///< a memory barrier before this dispatch
};

/// Where an entry's input or output lives.
struct IoBinding {
  std::string buffer; ///< "arena", "state" or "scalar"
  int64_t offset = 0; ///< bytes (arena/state)
  int slot = -1;      ///< scalar inputs
};

struct EntryPlan {
  std::string name;
  Scalars scalars;
  std::vector<Storage> storages;
  std::vector<Dispatch> dispatches;
  std::vector<IoBinding> inputs, outputs;
  int64_t arenaBytes = 0;
};

struct ModulePlan {
  std::vector<Kernel> kernels;
  llvm::StringMap<int> kernelIndex; ///< by source
  std::vector<EntryPlan> entries;
  int64_t stateBytes = 0; ///< the session's state buffer (all entries)
  /// Device features the kernels use ("storage16", "storage8").
  std::set<std::string> features;
};

} // namespace mlir::tfm::vk

#endif // TFM_TARGET_VULKAN_PLAN_H
