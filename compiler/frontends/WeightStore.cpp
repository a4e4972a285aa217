//===- WeightStore.cpp - model parameter values at compile time -----------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontends/WeightStore.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace mlir::tfm;
using llvm::StringRef;

std::unique_ptr<WeightStore>
WeightStore::fromSafetensors(std::unique_ptr<SafetensorsFile> file) {
  std::unique_ptr<WeightStore> s(new WeightStore());
  s->file = std::move(file);
  return s;
}

std::unique_ptr<WeightStore> WeightStore::random(uint64_t seed) {
  std::unique_ptr<WeightStore> s(new WeightStore());
  s->seed = seed;
  return s;
}

static std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  return "[" +
         llvm::join(llvm::map_range(
                        shape, [](int64_t d) { return std::to_string(d); }),
                    ", ") +
         "]";
}

llvm::Error WeightStore::require(StringRef name, llvm::ArrayRef<int64_t> shape,
                                 Init init) {
  used.insert(name);
  if (!file) {
    auto [it, inserted] = randoms.try_emplace(name, RandomEntry{{}, init});
    if (inserted) {
      it->second.shape.assign(shape.begin(), shape.end());
    } else if (!llvm::equal(it->second.shape, shape)) {
      return llvm::createStringError(
          llvm::formatv("random weight '{0}' is used with shapes {1} and {2}",
                        name, shapeString(it->second.shape), shapeString(shape))
              .str());
    }
    return llvm::Error::success();
  }
  const SafetensorsTensor *t = file->find(name);
  if (!t)
    return llvm::createStringError(
        llvm::formatv("{0}: missing weight '{1}' (expected shape {2})",
                      file->path(), name, shapeString(shape))
            .str());
  if (!llvm::equal(t->shape, shape))
    return llvm::createStringError(
        llvm::formatv("{0}: weight '{1}' has shape {2}, expected {3}",
                      file->path(), name, shapeString(t->shape),
                      shapeString(shape))
            .str());
  switch (t->dtype) {
  case SafetensorsDType::F32:
  case SafetensorsDType::F16:
  case SafetensorsDType::BF16:
  case SafetensorsDType::F64:
    return llvm::Error::success();
  default:
    return llvm::createStringError(
        llvm::formatv("{0}: weight '{1}' has dtype {2}; model parameters must "
                      "be F32, F16, BF16 or F64",
                      file->path(), name, dtypeName(t->dtype))
            .str());
  }
}

std::optional<std::vector<int64_t>> WeightStore::shape(StringRef name) const {
  if (file) {
    if (const SafetensorsTensor *t = file->find(name))
      return t->shape;
    return std::nullopt;
  }
  auto it = randoms.find(name);
  if (it == randoms.end())
    return std::nullopt;
  return it->second.shape;
}

/// splitmix64: a small, well-mixed generator with a portable definition.
static uint64_t splitmix64(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

llvm::Error WeightStore::read(StringRef name, float *out) const {
  if (file) {
    const SafetensorsTensor *t = file->find(name);
    if (!t)
      return llvm::createStringError(
          llvm::formatv("{0}: missing weight '{1}'", file->path(), name).str());
    return file->readF32(*t, out);
  }
  auto it = randoms.find(name);
  if (it == randoms.end())
    return llvm::createStringError(
        llvm::formatv("no random weight named '{0}'", name).str());
  int64_t n = 1;
  for (int64_t d : it->second.shape)
    n *= d;
  switch (it->second.init) {
  case Init::Ones:
    std::fill(out, out + n, 1.0f);
    return llvm::Error::success();
  case Init::Zeros:
    std::fill(out, out + n, 0.0f);
    return llvm::Error::success();
  case Init::Normal:
    break;
  }
  // Seed per name (FNV-1a) so values do not depend on the order of reads.
  uint64_t state = seed ^ 0xcbf29ce484222325ull;
  for (char c : name)
    state = (state ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  for (int64_t i = 0; i < n; i += 2) {
    // Box-Muller on two uniforms in (0, 1].
    double u1 = (splitmix64(state) >> 11) * 0x1.0p-53;
    double u2 = (splitmix64(state) >> 11) * 0x1.0p-53;
    double r = std::sqrt(-2.0 * std::log(1.0 - u1));
    out[i] = static_cast<float>(0.02 * r * std::cos(2.0 * M_PI * u2));
    if (i + 1 < n)
      out[i + 1] = static_cast<float>(0.02 * r * std::sin(2.0 * M_PI * u2));
  }
  return llvm::Error::success();
}

std::optional<SafetensorsDType> WeightStore::storedType(StringRef name) const {
  if (!file)
    return std::nullopt;
  if (const SafetensorsTensor *t = file->find(name))
    return t->dtype;
  return std::nullopt;
}

std::string WeightStore::describe() const {
  if (file)
    return file->path().str();
  return llvm::formatv("random (seed {0})", seed).str();
}

std::vector<std::string> WeightStore::unused() const {
  std::vector<std::string> out;
  if (!file)
    return out;
  for (const SafetensorsTensor &t : file->tensors())
    if (!used.contains(t.name))
      out.push_back(t.name);
  return out;
}
