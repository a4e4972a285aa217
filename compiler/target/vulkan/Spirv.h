//===- Spirv.h - GLSL to validated SPIR-V -----------------------*- C++ -*-===//
//
// Part of tfmc. Internal to compiler/target/vulkan. Kept apart so that only
// one translation unit sees glslang's and SPIRV-Tools' headers.
//
//===----------------------------------------------------------------------===//

#ifndef TFM_TARGET_VULKAN_SPIRV_H
#define TFM_TARGET_VULKAN_SPIRV_H

#include "Plan.h"

#include "llvm/Support/Error.h"

namespace mlir::tfm::vk {

/// Compiles `kernel.source` into `kernel.spirv` and validates it.
llvm::Error compileKernel(Kernel &kernel);

/// The SPIR-V disassembly of a compiled kernel.
std::string disassemble(const Kernel &kernel);

} // namespace mlir::tfm::vk

#endif // TFM_TARGET_VULKAN_SPIRV_H
