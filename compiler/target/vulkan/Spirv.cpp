//===- Spirv.cpp - GLSL to validated SPIR-V, in process -------------------===//
//
// Part of tfmc. glslang compiles each generated kernel for Vulkan 1.1 /
// SPIR-V 1.3; SPIRV-Tools validates the module for the same environment (a
// kernel that fails either is a compiler bug, reported with its source).
//
//===----------------------------------------------------------------------===//

#include "Spirv.h"

#include <glslang/Public/ResourceLimits.h>
#include <glslang/Public/ShaderLang.h>
#include <glslang/SPIRV/GlslangToSpv.h>
#include <spirv-tools/libspirv.hpp>

#include <mutex>

using namespace mlir::tfm::vk;

static llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
}

/// The source with line numbers, for error messages.
static std::string numbered(const std::string &source) {
  std::string out;
  int line = 1;
  size_t start = 0;
  while (start < source.size()) {
    size_t end = source.find('\n', start);
    if (end == std::string::npos)
      end = source.size();
    out += std::to_string(line++) + ": " + source.substr(start, end - start) +
           "\n";
    start = end + 1;
  }
  return out;
}

llvm::Error mlir::tfm::vk::compileKernel(Kernel &kernel) {
  static std::once_flag once;
  std::call_once(once, [] { glslang::InitializeProcess(); });
  glslang::TShader shader(EShLangCompute);
  const char *text = kernel.source.c_str();
  shader.setStrings(&text, 1);
  shader.setEnvInput(glslang::EShSourceGlsl, EShLangCompute,
                     glslang::EShClientVulkan, 100);
  shader.setEnvClient(glslang::EShClientVulkan, glslang::EShTargetVulkan_1_1);
  shader.setEnvTarget(glslang::EShTargetSpv, glslang::EShTargetSpv_1_3);
  auto messages = static_cast<EShMessages>(EShMsgSpvRules | EShMsgVulkanRules);
  if (!shader.parse(GetDefaultResources(), 450, false, messages))
    return error("internal error: kernel " + kernel.name +
                 " does not compile:\n" + shader.getInfoLog() +
                 numbered(kernel.source));
  glslang::TProgram program;
  program.addShader(&shader);
  if (!program.link(messages))
    return error("internal error: kernel " + kernel.name +
                 " does not link:\n" + program.getInfoLog());
  glslang::SpvOptions options;
  options.validate = false;
  options.disableOptimizer = false;
  options.optimizeSize = false;
  kernel.spirv.clear();
  glslang::GlslangToSpv(*program.getIntermediate(EShLangCompute), kernel.spirv,
                        &options);
  std::string diagnostics;
  spvtools::SpirvTools tools(SPV_ENV_VULKAN_1_1);
  tools.SetMessageConsumer([&](spv_message_level_t, const char *,
                               const spv_position_t &pos, const char *msg) {
    diagnostics += "word " + std::to_string(pos.index) + ": " + msg + "\n";
  });
  if (!tools.Validate(kernel.spirv))
    return error("internal error: kernel " + kernel.name +
                 " fails SPIR-V validation:\n" + diagnostics);
  return llvm::Error::success();
}

std::string mlir::tfm::vk::disassemble(const Kernel &kernel) {
  spvtools::SpirvTools tools(SPV_ENV_VULKAN_1_1);
  std::string text;
  tools.Disassemble(kernel.spirv, &text,
                    SPV_BINARY_TO_TEXT_OPTION_FRIENDLY_NAMES |
                        SPV_BINARY_TO_TEXT_OPTION_INDENT);
  return text;
}
