//===- Vulkan.h - the Vulkan executor of the runtime ------------*- C++ -*-===//
//
// Part of tfmc. Runs Vulkan artifacts: the loader is opened with dlopen (the
// runtime has no link-time Vulkan dependency), the device is chosen once per
// model, weights are uploaded once, every kernel becomes a pipeline. A session
// owns its activation arena and a command buffer recorded once and replayed;
// only the scalar slots (run-time sizes) and indirect workgroup counts change
// between runs. KV caches live in a device-local state block that sessions
// share (tfmc_session_share_state).
//
//===----------------------------------------------------------------------===//

#ifndef TFMC_RUNTIME_VULKAN_H
#define TFMC_RUNTIME_VULKAN_H

#include "tfmc/runtime.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct tfmc_model;
struct tfmc_session;

namespace tfmc::rt::vk {

class Context;
class SessionState;
class StateBlock;

/// Opens the device and uploads the model (weights mapped in `model`).
tfmc_status open(tfmc_model &model, const std::string &kernelsPath);
/// The device's name.
const char *deviceName(const tfmc_model &model);
/// How the pipelines were made ready at open.
tfmc_pipeline_stats pipelineStats(const tfmc_model &model);
/// Device resources of a new session.
tfmc_status createSession(tfmc_session &session);
/// Makes `dst` use `src`'s KV-cache state block.
void shareState(tfmc_session &dst, const tfmc_session &src);
/// Runs the session's entry (inputs checked by the caller).
tfmc_status run(tfmc_session &session);
tfmc_status enableProfiling(tfmc_session &session, bool on);
size_t profile(const tfmc_session &session, tfmc_profile_entry *entries,
               size_t capacity);

/// Deleters, so the owning structs need not see the definitions.
struct ContextDeleter {
  void operator()(Context *c) const;
};
struct SessionDeleter {
  void operator()(SessionState *s) const;
};

} // namespace tfmc::rt::vk

#endif // TFMC_RUNTIME_VULKAN_H
