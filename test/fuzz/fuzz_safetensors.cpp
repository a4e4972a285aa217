//===- fuzz_safetensors.cpp - libFuzzer harness: safetensors files --------===//
//
// Part of tfmc. The input is a whole .safetensors file. Once a file is
// accepted, every tensor's bytes must lie inside it and every floating-point
// tensor must read as f32 (ASan checks the bounds).
//
//===----------------------------------------------------------------------===//

#include "FuzzSupport.h"

#include "tfm/Frontends/Safetensors.h"
#include "tfm/Frontends/WeightStore.h"

#include <vector>

using namespace mlir::tfm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto buffer = llvm::MemoryBuffer::getMemBufferCopy(
      llvm::StringRef(reinterpret_cast<const char *>(data), size),
      "fuzz.safetensors");
  auto file = SafetensorsFile::fromBuffer(std::move(buffer));
  if (!file) {
    llvm::consumeError(file.takeError());
    return 0;
  }
  SafetensorsFile &st = **file;
  unsigned checksum = 0;
  std::vector<float> values;
  for (const SafetensorsTensor &t : st.tensors()) {
    if (st.find(t.name) != &t)
      tfmc::fuzz::violated("find() does not return the tensor listed");
    llvm::ArrayRef<uint8_t> bytes = st.bytes(t);
    if (bytes.size() != t.end - t.begin)
      tfmc::fuzz::violated("bytes() disagrees with the header's offsets");
    for (uint8_t b : bytes)
      checksum += b;
    if (t.numElements() > (1 << 20))
      continue;
    values.assign(static_cast<size_t>(t.numElements()), 0.f);
    if (llvm::Error e = st.readF32(t, values.data()))
      llvm::consumeError(std::move(e));
  }
  // The weight store over the same file: every tensor required with its own
  // shape must be found, and read.
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
  for (const SafetensorsTensor &t : st.tensors())
    shapes.emplace_back(t.name, t.shape);
  std::unique_ptr<WeightStore> store =
      WeightStore::fromSafetensors(std::move(*file));
  for (auto &[name, shape] : shapes) {
    if (llvm::Error e = store->require(name, shape, WeightStore::Init::Normal))
      llvm::consumeError(std::move(e));
    else if (!store->shape(name))
      tfmc::fuzz::violated("a required tensor has no shape");
  }
  return static_cast<int>(checksum & 0);
}
