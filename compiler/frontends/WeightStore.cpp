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
  s->source = file->path().str();
  s->files.push_back(std::move(file));
  return s;
}

std::unique_ptr<WeightStore>
WeightStore::fromShards(std::vector<std::unique_ptr<SafetensorsFile>> shards,
                        llvm::StringMap<unsigned> owner,
                        std::string indexPath) {
  std::unique_ptr<WeightStore> s(new WeightStore());
  s->files = std::move(shards);
  s->owner = std::move(owner);
  s->source = std::move(indexPath);
  return s;
}

const SafetensorsTensor *WeightStore::find(StringRef name,
                                           const SafetensorsFile **in) const {
  if (files.empty())
    return nullptr;
  unsigned i = 0;
  if (!owner.empty()) {
    auto it = owner.find(name);
    if (it == owner.end())
      return nullptr;
    i = it->second;
  }
  if (in)
    *in = files[i].get();
  return files[i]->find(name);
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
  if (!fromFiles()) {
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
  const SafetensorsFile *in = nullptr;
  const SafetensorsTensor *t = find(name, &in);
  if (!t)
    return llvm::createStringError(
        llvm::formatv("{0}: missing weight '{1}' (expected shape {2})", source,
                      name, shapeString(shape))
            .str());
  if (!llvm::equal(t->shape, shape))
    return llvm::createStringError(
        llvm::formatv("{0}: weight '{1}' has shape {2}, expected {3}",
                      in->path(), name, shapeString(t->shape),
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
                      in->path(), name, dtypeName(t->dtype))
            .str());
  }
}

std::optional<std::vector<int64_t>> WeightStore::shape(StringRef name) const {
  if (fromFiles()) {
    if (const SafetensorsTensor *t = find(name))
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
  if (fromFiles()) {
    const SafetensorsFile *in = nullptr;
    const SafetensorsTensor *t = find(name, &in);
    if (!t)
      return llvm::createStringError(
          llvm::formatv("{0}: missing weight '{1}'", source, name).str());
    return in->readF32(*t, out);
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
  if (const SafetensorsTensor *t = find(name))
    return t->dtype;
  return std::nullopt;
}

std::string WeightStore::describe() const {
  if (fromFiles())
    return source;
  return llvm::formatv("random (seed {0})", seed).str();
}

std::vector<std::string> WeightStore::unused() const {
  std::vector<std::string> out;
  for (const auto &f : files)
    for (const SafetensorsTensor &t : f->tensors())
      if (!used.contains(t.name))
        out.push_back(t.name);
  return out;
}
