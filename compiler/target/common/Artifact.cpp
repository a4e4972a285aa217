//===- Artifact.cpp - manifest.json and weights.bin -----------------------===//
//
// Part of tfmc. weights.bin follows the plan the lowering recorded on the
// module (tfm.weight_plan): every tensor at a 64-byte aligned offset, GEMM
// operands packed into NR-column panels, concatenated (merged QKV) tensors
// assembled and positional tables generated here, at compile time.
//
//===----------------------------------------------------------------------===//

#include "tfm/Target/Artifact.h"

#include "tfm/Conversion/Passes.h"
#include "tfm/IR/TfmOps.h"
#include "tfmc/checksum.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;
using namespace mlir::tfm;

static llvm::Error error(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg.str());
}

//===----------------------------------------------------------------------===//
// weights.bin
//===----------------------------------------------------------------------===//

namespace {
/// Reads a logical tensor: stored, or the concatenation of stored parts.
llvm::Error readLogical(WeightStore &store, DictionaryAttr entry,
                        ArrayRef<int64_t> shape, std::vector<float> &out) {
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  out.assign(count, 0.0f);
  std::string name = cast<StringAttr>(entry.get("name")).getValue().str();
  auto parts = entry.getAs<ArrayAttr>("parts");
  if (!parts)
    return store.read(name, out.data());
  int64_t axis = entry.getAs<IntegerAttr>("concat_axis").getInt();
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i)
    outer *= shape[i];
  for (size_t i = axis + 1; i < shape.size(); ++i)
    inner *= shape[i];
  int64_t at = 0; // position along the axis
  for (Attribute p : parts) {
    std::string part = cast<StringAttr>(p).getValue().str();
    std::optional<std::vector<int64_t>> ps = store.shape(part);
    if (!ps)
      return error("derived weight '" + name + "' needs '" + part +
                   "', which the weights source does not have");
    std::vector<float> data(1);
    int64_t n = 1;
    for (int64_t d : *ps)
      n *= d;
    data.resize(n);
    if (llvm::Error e = store.read(part, data.data()))
      return e;
    int64_t len = (*ps)[axis];
    for (int64_t o = 0; o < outer; ++o)
      std::copy(data.begin() + o * len * inner,
                data.begin() + (o + 1) * len * inner,
                out.begin() + (o * shape[axis] + at) * inner);
    at += len;
  }
  return llvm::Error::success();
}

/// PE(pos, 2i) = sin(pos / base^(2i/d)), PE(pos, 2i+1) = cos(...), computed
/// in double precision.
void sinusoidal(float *out, int64_t rows, int64_t d, double base) {
  for (int64_t pos = 0; pos < rows; ++pos)
    for (int64_t i = 0; i < d; ++i) {
      double angle = pos / std::pow(base, static_cast<double>(i - i % 2) / d);
      out[pos * d + i] =
          static_cast<float>(i % 2 ? std::cos(angle) : std::sin(angle));
    }
}
} // namespace

llvm::Expected<uint64_t> mlir::tfm::writeWeights(ModuleOp lowered,
                                                 WeightStore &store,
                                                 llvm::StringRef path) {
  auto plan = lowered->getAttrOfType<ArrayAttr>(kWeightPlanAttr);
  auto total = lowered->getAttrOfType<IntegerAttr>(kWeightBytesAttr);
  if (!plan || !total)
    return error("the module has no weight plan (was it lowered?)");
  std::vector<char> buffer(total.getInt(), 0);
  std::vector<float> logical;
  for (Attribute a : plan) {
    auto e = cast<DictionaryAttr>(a);
    StringRef layout = cast<StringAttr>(e.get("layout")).getValue();
    ArrayRef<int64_t> shape =
        cast<DenseI64ArrayAttr>(e.get("shape")).asArrayRef();
    int64_t offset = e.getAs<IntegerAttr>("offset").getInt();
    int64_t bytes = e.getAs<IntegerAttr>("bytes").getInt();
    auto *dst = reinterpret_cast<float *>(buffer.data() + offset);
    if (layout == "sinusoidal") {
      double base = e.getAs<FloatAttr>("base").getValueAsDouble();
      sinusoidal(dst, shape[0], shape[1], base);
      continue;
    }
    if (llvm::Error err = readLogical(store, e, shape, logical))
      return std::move(err);
    if (layout == "row_major") {
      std::copy(logical.begin(), logical.end(), dst);
      continue;
    }
    // GEMM panels: P[p][k][c] = W(n = p*NR + c, k), zero past N.
    bool kn = e.getAs<BoolAttr>("kn").getValue();
    int64_t nr = e.getAs<IntegerAttr>("nr").getInt();
    int64_t n = kn ? shape[1] : shape[0], k = kn ? shape[0] : shape[1];
    int64_t panels = (n + nr - 1) / nr;
    if (panels * k * nr * 4 != bytes)
      return error("inconsistent packed size in the weight plan");
    for (int64_t p = 0; p < panels; ++p)
      for (int64_t kk = 0; kk < k; ++kk)
        for (int64_t c = 0; c < nr; ++c) {
          int64_t col = p * nr + c;
          float v = 0.0f;
          if (col < n)
            v = kn ? logical[kk * n + col] : logical[col * k + kk];
          dst[(p * k + kk) * nr + c] = v;
        }
  }
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return error("cannot write " + path + ": " + ec.message());
  os.write(buffer.data(), buffer.size());
  os.close();
  if (os.has_error())
    return error("cannot write " + path + ": " + os.error().message());
  return tfmc_checksum(buffer.data(), buffer.size());
}

//===----------------------------------------------------------------------===//
// manifest.json
//===----------------------------------------------------------------------===//

llvm::Error mlir::tfm::writeManifest(llvm::StringRef path,
                                     const ArtifactInfo &info,
                                     bool inlineTokenizer) {
  // Inline tokenizer files are read before anything is written.
  std::vector<std::pair<std::string, std::string>> inlined;
  if (inlineTokenizer)
    for (StringRef f : tokenizerFiles(info.tokenizer.kind)) {
      llvm::SmallString<256> p(info.tokenizer.directory);
      llvm::sys::path::append(p, f);
      auto buf = llvm::MemoryBuffer::getFile(p, /*IsText=*/false,
                                             /*RequiresNullTerminator=*/false);
      if (!buf)
        return error("cannot read " + p + ": " + buf.getError().message());
      inlined.emplace_back(f.str(), (*buf)->getBuffer().str());
    }
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return error("cannot write " + path + ": " + ec.message());
  llvm::json::OStream j(os, 2);
  auto tensors = [&](const std::vector<TensorSpec> &specs) {
    j.array([&] {
      for (const TensorSpec &s : specs)
        j.object([&] {
          j.attribute("name", s.name);
          j.attribute("dtype", s.dtype);
          // Dynamic dimensions by name: equal names, equal sizes.
          j.attributeArray("shape", [&] {
            for (auto [i, d] : llvm::enumerate(s.shape)) {
              if (d >= 0)
                j.value(d);
              else if (i < s.dimNames.size() && !s.dimNames[i].empty())
                j.value(s.dimNames[i]);
              else
                j.value("?");
            }
          });
          if (s.idBound > 0)
            j.attribute("id_bound", s.idBound);
          if (s.state)
            j.attribute("state", true);
        });
    });
  };
  j.object([&] {
    j.attribute("format", "tfmc-artifact");
    j.attribute("version", kArtifactVersion);
    j.attributeObject("target", [&] {
      if (info.writeTarget)
        info.writeTarget(j);
    });
    if (!info.library.empty())
      j.attribute("library", info.library);
    j.attributeObject("weights", [&] {
      j.attribute("file", "weights.bin");
      j.attribute("bytes", static_cast<int64_t>(info.weightsBytes));
      j.attribute("checksum",
                  llvm::formatv("{0:x16}", info.weightsChecksum).str());
    });
    j.attributeObject("model", [&] {
      j.attribute("family", info.family);
      if (info.bosId >= 0)
        j.attribute("bos_id", info.bosId);
      if (info.eosId >= 0)
        j.attribute("eos_id", info.eosId);
      if (info.padId >= 0)
        j.attribute("pad_id", info.padId);
      if (info.maxSeqLen > 0)
        j.attribute("max_seq_len", info.maxSeqLen);
    });
    if (!info.tokenizer.kind.empty())
      j.attributeObject("tokenizer", [&] {
        j.attribute("kind", info.tokenizer.kind);
        j.attribute("lowercase", info.tokenizer.lowercase);
        j.attributeArray("files", [&] {
          for (StringRef f : tokenizerFiles(info.tokenizer.kind))
            j.value(f);
        });
        if (inlineTokenizer)
          j.attributeObject("inline", [&] {
            for (const auto &file : inlined)
              j.attribute(file.first, file.second);
          });
      });
    j.attributeArray("entries", [&] {
      for (size_t index = 0; index < info.entries.size(); ++index)
        j.object([&] {
          const EntrySpec &e = info.entries[index];
          j.attribute("name", e.name);
          j.attribute("symbol", "tfmc_" + e.name);
          j.attribute("workspace_bytes", e.workspaceBytes);
          if (!e.dimBounds.empty())
            j.attributeObject("dims", [&] {
              for (const auto &bound : e.dimBounds)
                j.attributeObject(bound.first, [&] {
                  j.attribute("min", int64_t(1));
                  j.attribute("max", bound.second);
                });
            });
          j.attributeBegin("inputs");
          tensors(e.inputs);
          j.attributeEnd();
          j.attributeBegin("outputs");
          tensors(e.outputs);
          j.attributeEnd();
          if (info.writeEntryExtra)
            info.writeEntryExtra(j, index);
        });
    });
  });
  os << "\n";
  return llvm::Error::success();
}

void mlir::tfm::fillModelInfo(ModuleOp module, ArtifactInfo &info) {
  if (auto f = module->getAttrOfType<StringAttr>("tfm.family"))
    info.family = f.getValue().str();
  auto intAttr = [&](StringRef name, int64_t &field) {
    if (auto a = module->getAttrOfType<IntegerAttr>(name))
      field = a.getInt();
  };
  intAttr("tfm.bos_id", info.bosId);
  intAttr("tfm.eos_id", info.eosId);
  intAttr("tfm.pad_id", info.padId);
  intAttr("tfm.max_seq_len", info.maxSeqLen);
  if (auto tok = module->getAttrOfType<DictionaryAttr>("tfm.tokenizer")) {
    info.tokenizer.kind = tok.getAs<StringAttr>("kind").getValue().str();
    info.tokenizer.lowercase = tok.getAs<BoolAttr>("lowercase").getValue();
    info.tokenizer.directory =
        tok.getAs<StringAttr>("directory").getValue().str();
  }
}

//===----------------------------------------------------------------------===//
// The directory
//===----------------------------------------------------------------------===//

/// The files an artifact directory may contain.
static constexpr const char *kArtifactFiles[] = {
    "manifest.json", "model.so",   "model.o",    "weights.bin",
    "model",         "kernels.spv", "manifest.exe.json", "chars.json",
    "vocab.json",    "merges.txt", "vocab.txt"};

/// Removes an artifact directory: only the files tfmc writes, then the
/// directory itself (which fails, harmlessly, if anything else is in it).
static std::error_code removeArtifactDir(llvm::StringRef dir) {
  for (const char *f : kArtifactFiles) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, f);
    (void)llvm::sys::fs::remove(p);
  }
  return llvm::sys::fs::remove(dir);
}

llvm::Error mlir::tfm::writeArtifactDir(
    llvm::StringRef outDirRef,
    llvm::function_ref<
        llvm::Error(llvm::function_ref<std::string(llvm::StringRef)>)>
        fill) {
  // Owned copy: the linker resets LLVM's command-line options, which may
  // back the caller's string.
  const std::string outDir = outDirRef.str();
  std::string tmp =
      (outDir + ".tmp-" + llvm::Twine(llvm::sys::Process::getProcessId()))
          .str();
  (void)removeArtifactDir(tmp);
  if (std::error_code ec = llvm::sys::fs::create_directories(tmp))
    return error("cannot create " + tmp + ": " + ec.message());
  auto fail = [&](llvm::Error e) {
    (void)removeArtifactDir(tmp);
    return e;
  };
  auto at = [&](llvm::StringRef file) {
    llvm::SmallString<256> p(tmp);
    llvm::sys::path::append(p, file);
    return std::string(p);
  };
  if (llvm::Error e = fill(at))
    return fail(std::move(e));
  // Replace a previous artifact (never anything else).
  if (llvm::sys::fs::exists(outDir)) {
    llvm::SmallString<256> manifest(outDir);
    llvm::sys::path::append(manifest, "manifest.json");
    if (!llvm::sys::fs::is_directory(outDir) ||
        !llvm::sys::fs::exists(manifest))
      return fail(error(outDir + " exists and is not a tfmc artifact; "
                                 "refusing to replace it"));
    if (std::error_code ec = removeArtifactDir(outDir))
      return fail(error("cannot replace " + outDir + " (" + ec.message() +
                        "; does it hold other files?)"));
  }
  if (std::error_code ec = llvm::sys::fs::rename(tmp, outDir))
    return fail(error("cannot create " + outDir + ": " + ec.message()));
  return llvm::Error::success();
}

llvm::Error mlir::tfm::copyTokenizerFiles(
    const ArtifactInfo &info,
    llvm::function_ref<std::string(llvm::StringRef)> at) {
  for (StringRef f : tokenizerFiles(info.tokenizer.kind)) {
    llvm::SmallString<256> from(info.tokenizer.directory);
    llvm::sys::path::append(from, f);
    if (std::error_code ec = llvm::sys::fs::copy_file(from, at(f)))
      return error("cannot copy " + from + ": " + ec.message());
  }
  return llvm::Error::success();
}
