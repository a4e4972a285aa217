//===- Internal.h - runtime internals shared by its files --------*- C++
//-*-===//
//
// Part of tfmc. Not installed: the objects behind the C API's handles.
//
//===----------------------------------------------------------------------===//

#ifndef TFMC_RUNTIME_INTERNAL_H
#define TFMC_RUNTIME_INTERNAL_H

#include "Manifest.h"
#include "Tokenizer.h"
#include "vulkan/Vulkan.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct tfmc_model;

/// The C API's tokenizer handle.
struct tfmc_tokenizer {
  std::unique_ptr<tfmc::rt::Tokenizer> impl;
};

namespace tfmc::rt {

/// Records the message of a failure on this thread and returns `status`.
tfmc_status fail(tfmc_status status, std::string message);

std::string shapeString(const int64_t *shape, size_t rank);
inline std::string shapeString(const std::vector<int64_t> &shape) {
  return shapeString(shape.data(), shape.size());
}

/// 64-byte aligned, zero-initialised memory.
class AlignedBuffer {
public:
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;
  AlignedBuffer(AlignedBuffer &&o) noexcept : ptr(o.ptr), size(o.size) {
    o.ptr = nullptr;
    o.size = 0;
  }
  ~AlignedBuffer() { std::free(ptr); }

  /// False when out of memory. Zero bytes still yields a valid pointer.
  bool allocate(size_t bytes) {
    std::free(ptr);
    size = bytes;
    size_t rounded = (bytes + 63) / 64 * 64;
    ptr = std::aligned_alloc(64, rounded ? rounded : 64);
    if (ptr)
      std::memset(ptr, 0, rounded ? rounded : 64);
    return ptr != nullptr;
  }
  void *data() const { return ptr; }
  size_t bytes() const { return size; }

private:
  void *ptr = nullptr;
  size_t size = 0;
};

/// The entry named `entry` (error with the list of entries if none).
tfmc_status findEntry(const tfmc_model *model, const char *entry,
                      const EntrySpec *&spec);
void fillSpec(const TensorSpec &t, tfmc_tensor_spec *spec);
/// Checks that the manifest describes entry `e` as its code was compiled
/// (`code`: the signature the code carries; tfmc/abi.h); `where` names the
/// manifest in the message.
tfmc_status checkSignature(const std::string &where, const Manifest &m,
                           const EntrySpec &e, uint64_t code);

/// `void tfmc_<entry>(void **buffers, const int64_t *dims)`.
using EntryFn = void (*)(void **, const int64_t *);

} // namespace tfmc::rt

struct tfmc_model {
  std::string directory; // or the executable holding the model
  tfmc::rt::Manifest manifest;
  bool embedded = false;      // code, weights and manifest in the executable
  uint64_t weightsOffset = 0; // of weights in their file (page aligned)
  void *library = nullptr;
  void *weights = nullptr; // mapped read-only
  size_t mappedBytes = 0;
  std::vector<tfmc::rt::EntryFn> functions; // parallel to manifest.entries
  void (*setNumThreads)(int) = nullptr;
  tfmc::rt::AlignedBuffer emptyWeights; // stands in for an empty weights.bin
  std::shared_ptr<tfmc::rt::vk::Context> vulkan; // Vulkan artifacts
  // The tokenizer, loaded on first use.
  std::mutex tokenizerMutex;
  std::unique_ptr<tfmc_tokenizer> tokenizer;

  ~tfmc_model();

  const tfmc::rt::EntrySpec *entry(const char *name,
                                   size_t *index = nullptr) const {
    for (size_t i = 0; i < manifest.entries.size(); ++i)
      if (manifest.entries[i].name == name) {
        if (index)
          *index = i;
        return &manifest.entries[i];
      }
    return nullptr;
  }
};

/// One entry's inputs, outputs and scratch memory. State inputs (KV caches)
/// are shared_ptrs so that the sessions of one generation share them.
struct tfmc_session {
  tfmc_model *model = nullptr;
  const tfmc::rt::EntrySpec *entry = nullptr;
  tfmc::rt::EntryFn function = nullptr;
  std::vector<std::shared_ptr<tfmc::rt::AlignedBuffer>> inputs;
  std::vector<std::vector<int64_t>> inputShapes; // as last set
  std::vector<bool> inputSet;
  std::vector<tfmc::rt::AlignedBuffer> outputs;
  std::vector<std::vector<int64_t>> outputShapes; // of the last run
  // Caller memory bound in place of inputs[i] / outputs[o] (null: none).
  std::vector<const void *> boundInputs;
  std::vector<void *> boundOutputs;
  tfmc::rt::AlignedBuffer workspace;
  int32_t threads = 0;
  bool ran = false;

  /// The memory runs read input `i` from / write output `o` to.
  const void *inputData(size_t i) const {
    return boundInputs[i] ? boundInputs[i] : inputs[i]->data();
  }
  void *outputData(size_t o) {
    return boundOutputs[o] ? boundOutputs[o] : outputs[o].data();
  }
  const void *outputData(size_t o) const {
    return boundOutputs[o] ? boundOutputs[o] : outputs[o].data();
  }
  // Vulkan artifacts: device buffers, command buffer, KV-cache state.
  std::unique_ptr<tfmc::rt::vk::SessionState, tfmc::rt::vk::SessionDeleter>
      vulkan;
};

#endif // TFMC_RUNTIME_INTERNAL_H
