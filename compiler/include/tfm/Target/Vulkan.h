//===- Vulkan.h - the Vulkan backend: profiles, kernels, artifact -*- C++
//-*-===//
//
// Part of tfmc. The fused tfm IR is turned into GLSL compute kernels (one
// generator per fused op kind, specialised for its shapes and epilogue),
// compiled to SPIR-V in process with glslang and checked with the SPIR-V
// validator, plus a dispatch plan the runtime replays (docs/vulkan-backend.md).
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TARGET_VULKAN_H
#define TFM_TARGET_VULKAN_H

#include "tfm/Plan/Plan.h"
#include "tfm/Support/WeightSource.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::tfm {

/// The device class kernels are generated for: limits and tile sizes.
struct VulkanTarget {
  std::string name;
  int64_t maxSharedBytes = 32768; ///< maxComputeSharedMemorySize
  int64_t maxInvocations = 256;   ///< maxComputeWorkGroupInvocations
  int64_t maxGroupCount = 65535;  ///< maxComputeWorkGroupCount[0..2]
  unsigned subgroupSize = 8;
  // GEMM: a BM x BN output tile per workgroup of (BM/TM) x (BN/TN)
  // invocations, K in steps of BK staged in shared memory.
  unsigned gemmBM = 64, gemmBN = 64, gemmBK = 16, gemmTM = 4, gemmTN = 4;
  /// Attention: queries per workgroup (one per invocation), keys per block.
  unsigned attnBQ = 32, attnBK = 32;
  /// Decode attention: keys per workgroup (split-K), invocations.
  unsigned decodeChunk = 256, decodeThreads = 64;
  unsigned rowThreads = 128;   ///< row kernels (norms, softmax)
  unsigned pointThreads = 256; ///< elementwise kernels
};

/// "lavapipe" (Mesa's CPU device, the test device) or "nvidia".
llvm::Expected<VulkanTarget> resolveVulkanTarget(llvm::StringRef name);

/// The plan's view of a Vulkan device: panels as wide as a GEMM tile,
/// 256-byte alignment, inputs and outputs in the arena, the scratch of
/// split-K decode attention (vulkanScratchBytes).
PlanOptions vulkanPlanOptions(const VulkanTarget &target);
/// The planning passes with vulkanPlanOptions(target).
void buildVulkanPlanPipeline(OpPassManager &pm, const VulkanTarget &target);
/// Scratch bytes the Vulkan kernel of `op` needs.
int64_t vulkanScratchBytes(Operation *op, ShapeBounds &bounds,
                           const VulkanTarget &target);
/// Registers the "vulkan" plan target (lavapipe's profile) for
/// tfm-plan-buffers{target=vulkan}.
void registerVulkanPlanTarget();

/// What `--target=vulkan` prints instead of writing an artifact.
enum class VulkanText { GLSL, SPIRV };

/// Generates (and compiles, validates) every kernel of the planned module
/// (buildVulkanPlanPipeline) and prints their GLSL or SPIR-V disassembly.
llvm::Error emitVulkanText(ModuleOp planned, const VulkanTarget &target,
                           VulkanText kind, llvm::raw_ostream &os);

/// Writes the artifact directory `outDir` (manifest.json with the dispatch
/// plan, kernels.spv, weights.bin) of a planned module atomically.
llvm::Error writeVulkanArtifact(ModuleOp planned, const WeightSource &weights,
                                const VulkanTarget &target,
                                llvm::StringRef outDir);

} // namespace mlir::tfm

#endif // TFM_TARGET_VULKAN_H
