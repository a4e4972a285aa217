//===- Safetensors.cpp - validated, memory-mapped safetensors reader ------===//
//
// Part of tfmc. This translation unit is compiled with exceptions so that
// nlohmann::json's parse errors and type errors become llvm::Errors here and
// never escape.
//
//===----------------------------------------------------------------------===//

#include "tfm/Frontends/Safetensors.h"
#include "tfm/Support/InputFile.h"

#include "llvm/Support/Endian.h"
#include "llvm/Support/FormatVariadic.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

using namespace mlir::tfm;
using llvm::StringRef;

size_t mlir::tfm::dtypeSize(SafetensorsDType t) {
  switch (t) {
  case SafetensorsDType::F64:
  case SafetensorsDType::I64:
    return 8;
  case SafetensorsDType::F32:
  case SafetensorsDType::I32:
    return 4;
  case SafetensorsDType::F16:
  case SafetensorsDType::BF16:
  case SafetensorsDType::I16:
    return 2;
  case SafetensorsDType::I8:
  case SafetensorsDType::U8:
  case SafetensorsDType::Bool:
    return 1;
  }
  llvm_unreachable("unknown dtype");
}

StringRef mlir::tfm::dtypeName(SafetensorsDType t) {
  switch (t) {
  case SafetensorsDType::F64: return "F64";
  case SafetensorsDType::F32: return "F32";
  case SafetensorsDType::F16: return "F16";
  case SafetensorsDType::BF16: return "BF16";
  case SafetensorsDType::I64: return "I64";
  case SafetensorsDType::I32: return "I32";
  case SafetensorsDType::I16: return "I16";
  case SafetensorsDType::I8: return "I8";
  case SafetensorsDType::U8: return "U8";
  case SafetensorsDType::Bool: return "BOOL";
  }
  llvm_unreachable("unknown dtype");
}

static std::optional<SafetensorsDType> parseDType(StringRef s) {
  for (auto t : {SafetensorsDType::F64, SafetensorsDType::F32,
                 SafetensorsDType::F16, SafetensorsDType::BF16,
                 SafetensorsDType::I64, SafetensorsDType::I32,
                 SafetensorsDType::I16, SafetensorsDType::I8,
                 SafetensorsDType::U8, SafetensorsDType::Bool})
    if (dtypeName(t) == s)
      return t;
  return std::nullopt;
}

int64_t SafetensorsTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

namespace {
/// Error prefixed by the file name.
struct FileError {
  std::string path;
  template <typename... Ts>
  llvm::Error operator()(const char *fmt, Ts &&...vals) const {
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        path + ": " + llvm::formatv(fmt, std::forward<Ts>(vals)...).str());
  }
};
} // namespace

llvm::Expected<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::open(StringRef path) {
  // Mapped, not read: any size, but a regular file.
  auto buf = readInputFile(path, UINT64_MAX, /*isText=*/false,
                           /*requiresNullTerminator=*/false);
  if (!buf)
    return llvm::createStringError(std::errc::io_error, "%s: cannot open: %s",
                                   path.str().c_str(),
                                   llvm::toString(buf.takeError()).c_str());
  return fromBuffer(std::move(*buf));
}

llvm::Expected<std::unique_ptr<SafetensorsFile>>
SafetensorsFile::fromBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->filePath = buffer->getBufferIdentifier().str();
  f->buffer = std::move(buffer);
  if (llvm::Error e = f->parse())
    return std::move(e);
  return std::move(f);
}

llvm::Error SafetensorsFile::parse() {
  FileError err{filePath};
  uint64_t fileSize = buffer->getBufferSize();
  const auto *base = reinterpret_cast<const uint8_t *>(buffer->getBufferStart());
  if (fileSize < 8)
    return err("file is too small ({0} bytes) to hold a safetensors header",
               fileSize);
  uint64_t headerLen = llvm::support::endian::read64le(base);
  if (headerLen > kMaxHeaderBytes)
    return err("header length {0} exceeds the limit of {1} bytes", headerLen,
               kMaxHeaderBytes);
  if (headerLen > fileSize - 8)
    return err("header length {0} extends beyond the end of the file ({1} "
               "bytes)",
               headerLen, fileSize);
  data = base + 8 + headerLen;
  dataSize = fileSize - 8 - headerLen;

  if (std::string deep = checkJsonDepth(
          llvm::StringRef(reinterpret_cast<const char *>(base) + 8, headerLen));
      !deep.empty())
    return err("header: {0}", deep);
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(base + 8, base + 8 + headerLen);
  } catch (const nlohmann::json::exception &e) {
    return err("header is not valid JSON: {0}", e.what());
  }
  if (!header.is_object())
    return err("header must be a JSON object");

  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string &name = it.key();
    const nlohmann::json &v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object())
        return err("'__metadata__' must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string())
          return err("'__metadata__' entry '{0}' is not a string", m.key());
        meta[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object())
      return err("entry for tensor '{0}' is not an object", name);
    for (auto f = v.begin(); f != v.end(); ++f)
      if (f.key() != "dtype" && f.key() != "shape" && f.key() != "data_offsets")
        return err("tensor '{0}' has an unexpected field '{1}'", name, f.key());
    if (!v.contains("dtype") || !v["dtype"].is_string())
      return err("tensor '{0}' has no 'dtype' string", name);
    std::optional<SafetensorsDType> dtype =
        parseDType(v["dtype"].get<std::string>());
    if (!dtype)
      return err("tensor '{0}' has unknown dtype '{1}'", name,
                 v["dtype"].get<std::string>());
    if (!v.contains("shape") || !v["shape"].is_array())
      return err("tensor '{0}' has no 'shape' array", name);
    SafetensorsTensor t;
    t.name = name;
    t.dtype = *dtype;
    uint64_t numel = 1;
    for (const nlohmann::json &d : v["shape"]) {
      if (!d.is_number_unsigned())
        return err("tensor '{0}' has a shape entry that is not a non-negative "
                   "integer",
                   name);
      uint64_t dim = d.get<uint64_t>();
      if (dim > static_cast<uint64_t>(INT64_MAX) ||
          __builtin_mul_overflow(numel, dim, &numel))
        return err("tensor '{0}' has a shape whose size overflows", name);
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    uint64_t nbytes;
    if (numel > static_cast<uint64_t>(INT64_MAX) ||
        __builtin_mul_overflow(numel, dtypeSize(*dtype), &nbytes))
      return err("tensor '{0}' has a byte size that overflows", name);
    const nlohmann::json &offs = v.contains("data_offsets")
                                     ? v["data_offsets"]
                                     : nlohmann::json();
    if (!offs.is_array() || offs.size() != 2 || !offs[0].is_number_unsigned() ||
        !offs[1].is_number_unsigned())
      return err("tensor '{0}' needs 'data_offsets' [begin, end] of "
                 "non-negative integers",
                 name);
    t.begin = offs[0].get<uint64_t>();
    t.end = offs[1].get<uint64_t>();
    if (t.begin > t.end)
      return err("tensor '{0}' has data_offsets [{1}, {2}) that end before "
                 "they begin",
                 name, t.begin, t.end);
    if (t.end > dataSize)
      return err("tensor '{0}' has data_offsets [{1}, {2}) outside the data "
                 "section ({3} bytes)",
                 name, t.begin, t.end, dataSize);
    if (t.end - t.begin != nbytes)
      return err("tensor '{0}' of dtype {1} and shape [{2}] needs {3} bytes "
                 "but data_offsets give {4}",
                 name, dtypeName(*dtype),
                 llvm::join(llvm::map_range(t.shape,
                                            [](int64_t d) {
                                              return std::to_string(d);
                                            }),
                            ", "),
                 nbytes, t.end - t.begin);
    entries.push_back(std::move(t));
  }

  // Tensors may not share bytes.
  std::vector<const SafetensorsTensor *> sorted;
  for (const SafetensorsTensor &t : entries)
    if (t.end > t.begin)
      sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](auto *a, auto *b) { return a->begin < b->begin; });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i]->begin < sorted[i - 1]->end)
      return err("tensors '{0}' and '{1}' overlap in the data section",
                 sorted[i - 1]->name, sorted[i]->name);

  for (size_t i = 0; i < entries.size(); ++i)
    index[entries[i].name] = i;
  return llvm::Error::success();
}

const SafetensorsTensor *SafetensorsFile::find(StringRef name) const {
  auto it = index.find(name);
  return it == index.end() ? nullptr : &entries[it->second];
}

llvm::ArrayRef<uint8_t> SafetensorsFile::bytes(const SafetensorsTensor &t) const {
  return {data + t.begin, static_cast<size_t>(t.end - t.begin)};
}

/// IEEE half to float, including subnormals, infinities and NaN.
static float halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

llvm::Error SafetensorsFile::readF32(const SafetensorsTensor &t,
                                     float *out) const {
  const uint8_t *p = data + t.begin;
  int64_t n = t.numElements();
  if (n == 0) // `out` may be null (an empty vector's data()).
    return llvm::Error::success();
  switch (t.dtype) {
  case SafetensorsDType::F32:
    std::memcpy(out, p, n * 4);
    return llvm::Error::success();
  case SafetensorsDType::F16:
    for (int64_t i = 0; i < n; ++i)
      out[i] = halfToFloat(llvm::support::endian::read16le(p + 2 * i));
    return llvm::Error::success();
  case SafetensorsDType::BF16:
    for (int64_t i = 0; i < n; ++i) {
      uint32_t bits =
          static_cast<uint32_t>(llvm::support::endian::read16le(p + 2 * i))
          << 16;
      std::memcpy(&out[i], &bits, 4);
    }
    return llvm::Error::success();
  case SafetensorsDType::F64:
    for (int64_t i = 0; i < n; ++i) {
      double d;
      std::memcpy(&d, p + 8 * i, 8);
      out[i] = static_cast<float>(d);
    }
    return llvm::Error::success();
  default:
    return FileError{filePath}(
        "tensor '{0}' has dtype {1}; tfmc reads model parameters stored as "
        "F32, F16, BF16 or F64",
        t.name, dtypeName(t.dtype));
  }
}
