//===- Glsl.h - writing GLSL compute kernels --------------------*- C++ -*-===//
//
// Part of tfmc. Internal to compiler/target/vulkan.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TARGET_VULKAN_GLSL_H
#define TFM_TARGET_VULKAN_GLSL_H

#include "Plan.h"

#include "mlir/IR/Block.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"

#include <map>
#include <set>
#include <sstream>
#include <tuple>

namespace mlir::tfm::vk {

/// Builds one kernel: the operands it reads and writes become push-constant
/// offsets (so one kernel serves every layer), sizes are literals or slots.
class KernelWriter {
public:
  KernelWriter(const EntryPlan &entry, std::string kind, unsigned localSize)
      : entry(entry), kind(std::move(kind)), localSize(localSize) {}

  /// The GLSL expression of element offset 0 of `v` in its array.
  std::string base(const View &v);
  /// The array `v` lives in: the arena as float (A), int (AI), 16-bit
  /// (AH) or 8-bit (AB) elements, the weights as float (W) or 32-bit words
  /// of 16-bit pairs (WU), the state (ST).
  std::string array(const View &v);
  /// `array[base + index]`, an lvalue of a 32-bit view.
  std::string at(const View &v, const std::string &index) {
    return array(v) + "[" + base(v) + " + " + index + "]";
  }
  /// Element `index` of `v` as a GLSL float (or int for integer kinds),
  /// widened from the view's storage type.
  std::string load(const View &v, const std::string &index) {
    return loadAt(v, base(v) + " + " + index);
  }
  /// The same at an index that already includes the view's base.
  std::string loadAt(const View &v, const std::string &absolute);
  /// The statement storing `value` at element `index` of `v`, narrowed
  /// (rounding to nearest even) to its storage type.
  std::string store(const View &v, const std::string &index,
                    const std::string &value);
  /// sum(c_d * stride_d) for coordinate names `coords` (right-aligned).
  static std::string linear(const View &v, llvm::ArrayRef<std::string> coords);

  std::ostringstream body;     ///< main()'s body and helper functions
  std::string helpers;         ///< functions before main()
  std::set<std::string> needs; ///< helper functions ("erf", "tanh", ...)
  /// Arrays the kernel binds (A, AI, AH, AB, W, WU, ST).
  const std::set<std::string> &boundArrays() const { return arrays; }

  /// Final GLSL (without a provenance comment) and the push values.
  std::string finish() const;
  const std::vector<PushValue> &pushValues() const { return push; }
  const std::string &kernelKind() const { return kind; }
  unsigned workgroupSize() const { return localSize; }

private:
  const EntryPlan &entry;
  std::string kind;
  unsigned localSize;
  std::vector<PushValue> push;
  std::set<std::string> arrays;
  std::map<std::tuple<int, int64_t, int64_t>, int> pushIndex;
};

/// Prints the arith/math ops of a scalar block (an epilogue region, or the
/// computation an elementwise op builds) as GLSL statements into `w.body`.
class ScalarPrinter {
public:
  explicit ScalarPrinter(KernelWriter &w, std::string prefix = "t")
      : w(w), prefix(std::move(prefix)) {}
  void bind(Value v, std::string expr) { names[v] = std::move(expr); }
  /// Prints every op of `block` but the terminator; returns the GLSL names
  /// of the terminator's operands, or fails on an unsupported op.
  LogicalResult print(Block &block, llvm::SmallVectorImpl<std::string> &out,
                      const std::string &indent);
  /// Prints the ops from `first` up to and including the definition of
  /// `result` in their block.
  LogicalResult printUpTo(Block &block, Value result, std::string &out,
                          const std::string &indent);

private:
  LogicalResult printOp(Operation &op, const std::string &indent);
  std::string name(Value v) const;
  KernelWriter &w;
  std::string prefix;
  llvm::DenseMap<Value, std::string> names;
  unsigned counter = 0;
};

/// A float literal GLSL reads back to the same f32.
std::string floatLiteral(double v);

} // namespace mlir::tfm::vk

#endif // TFM_TARGET_VULKAN_GLSL_H
