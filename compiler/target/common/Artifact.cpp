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
#include "tfm/IR/ScalarUtils.h"
#include "tfm/IR/TfmOps.h"
#include "tfm/Support/Abi.h"
#include "tfm/Support/InputFile.h"
#include "tfmc/checksum.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstring>
#include <unistd.h>

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
/// Parts of one rank less than the tensor are stacked: concatenated along
/// axis 0 of the tensor with its first two dimensions merged (a [E, N, K]
/// expert stack from [N1, K], [N2, K], ... parts).
llvm::Error readLogical(const WeightSource &store, WeightEntryAttr entry,
                        std::vector<float> &out) {
  SmallVector<int64_t> shape(entry.getType().getShape());
  int64_t count = 1;
  for (int64_t d : shape)
    count *= d;
  out.assign(count, 0.0f);
  StringRef name = entry.getName().getValue();
  ArrayRef<StringAttr> parts = entry.getParts();
  if (parts.empty())
    return store.read(name, out.data());
  int64_t axis = entry.getConcatAxis();
  if (std::optional<std::vector<int64_t>> first =
          store.shape(parts.front().getValue());
      first && first->size() + 1 == shape.size() && shape.size() >= 2) {
    if (axis != 0)
      return error("stacked weight '" + name + "' must concatenate along "
                   "axis 0");
    shape[1] *= shape[0];
    shape.erase(shape.begin());
  }
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < axis; ++i)
    outer *= shape[i];
  for (size_t i = axis + 1; i < shape.size(); ++i)
    inner *= shape[i];
  int64_t at = 0; // position along the axis
  for (StringAttr p : parts) {
    std::optional<std::vector<int64_t>> ps = store.shape(p.getValue());
    if (!ps)
      return error("derived weight '" + name + "' needs '" + p.getValue() +
                   "', which the weights source does not have");
    int64_t n = 1;
    for (int64_t d : *ps)
      n *= d;
    std::vector<float> data(n);
    if (llvm::Error e = store.read(p.getValue(), data.data()))
      return e;
    if (ps->size() != shape.size())
      return error("part '" + p.getValue() + "' of weight '" + name +
                   "' has rank " + llvm::Twine(ps->size()) + ", not " +
                   llvm::Twine(shape.size()));
    for (size_t i = 0; i < shape.size(); ++i)
      if (static_cast<int64_t>(i) != axis && (*ps)[i] != shape[i])
        return error("part '" + p.getValue() + "' of weight '" + name +
                     "' does not match its other parts");
    int64_t len = (*ps)[axis];
    if (at + len > shape[axis])
      return error("the parts of weight '" + name + "' are longer than it");
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
void sinusoidal(std::vector<float> &out, int64_t rows, int64_t d, double base) {
  out.resize(rows * d);
  for (int64_t pos = 0; pos < rows; ++pos)
    for (int64_t i = 0; i < d; ++i) {
      double angle = pos / std::pow(base, static_cast<double>(i - i % 2) / d);
      out[pos * d + i] =
          static_cast<float>(i % 2 ? std::cos(angle) : std::sin(angle));
    }
}

/// Stores `n` f32 values from `src` as `type` (round to nearest even).
void storeAs(Type type, const float *src, int64_t n, char *dst) {
  if (type.isF32()) {
    std::memcpy(dst, src, n * 4);
  } else if (type.isF16()) {
    auto *d = reinterpret_cast<_Float16 *>(dst);
    for (int64_t i = 0; i < n; ++i)
      d[i] = static_cast<_Float16>(src[i]);
  } else if (type.isBF16()) {
    // The upper half of the f32, rounded to nearest even (NaN stays NaN).
    auto *d = reinterpret_cast<uint16_t *>(dst);
    for (int64_t i = 0; i < n; ++i) {
      uint32_t b;
      std::memcpy(&b, &src[i], 4);
      d[i] = std::isnan(src[i])
                 ? static_cast<uint16_t>((b >> 16) | 0x40)
                 : static_cast<uint16_t>((b + 0x7fff + ((b >> 16) & 1)) >> 16);
    }
  } else {
    llvm_unreachable("weights are f32, f16 or bf16 (WeightEntryAttr::verify)");
  }
}

/// Quantizes `count` panels [K, NR] (#tfm.quant): per column and group of
/// K, s = max |w| / maxCode and q = round_half_even(w / s), in f32. Codes go
/// to `codes` ([K, NR] bytes, or [K, NR/2] with column j + NR/2 in the high
/// nibble of byte j for 4 bits), scales to `scales` ([ceil(K/G), NR] f32).
void quantizePanels(QuantAttr q, const std::vector<float> &panels,
                    int64_t count, int64_t k, int64_t nr, char *codes,
                    char *scales) {
  int64_t g = q.getGroup(), groups = (k + g - 1) / g;
  auto maxCode = static_cast<float>(q.getMaxCode());
  bool four = q.getBits() == 4;
  int64_t rowBytes = four ? nr / 2 : nr;
  std::vector<float> s(groups * nr);
  for (int64_t p = 0; p < count; ++p) {
    const float *w = panels.data() + p * k * nr;
    for (int64_t gi = 0; gi < groups; ++gi)
      for (int64_t c = 0; c < nr; ++c) {
        float amax = 0.0f;
        for (int64_t kk = gi * g; kk < std::min(k, gi * g + g); ++kk)
          amax = std::max(amax, std::fabs(w[kk * nr + c]));
        s[gi * nr + c] = amax / maxCode;
      }
    std::memcpy(scales + p * groups * nr * 4, s.data(), s.size() * 4);
    auto *out = reinterpret_cast<uint8_t *>(codes + p * k * rowBytes);
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t c = 0; c < nr; ++c) {
        float scale = s[(kk / g) * nr + c];
        float v = scale == 0.0f ? 0.0f : std::nearbyint(w[kk * nr + c] / scale);
        auto code = static_cast<int8_t>(std::clamp(v, -maxCode, maxCode));
        if (!four) {
          out[kk * nr + c] = static_cast<uint8_t>(code);
          continue;
        }
        uint8_t &byte = out[kk * rowBytes + c % rowBytes];
        uint8_t nibble = static_cast<uint8_t>(code) & 0xf;
        byte = c < rowBytes ? (byte & 0xf0) | nibble
                            : (byte & 0x0f) | (nibble << 4);
      }
  }
}
} // namespace

llvm::Expected<uint64_t> mlir::tfm::writeWeights(WeightPlanAttr plan,
                                                 const WeightSource &store,
                                                 llvm::StringRef path) {
  if (!plan)
    return error("the module has no weight plan (was it planned?)");
  std::vector<char> buffer(plan.getBytes(), 0);
  std::vector<float> logical, stored;
  for (WeightEntryAttr e : plan.getEntries()) {
    RankedTensorType type = e.getType();
    Type elt = type.getElementType();
    char *dst = buffer.data() + e.getOffset();
    ArrayRef<int64_t> shape = type.getShape();
    if (e.getLayout() == WeightLayout::sinusoidal) {
      sinusoidal(logical, shape[0], shape[1], e.getBase().getValueAsDouble());
      storeAs(elt, logical.data(), logical.size(), dst);
      continue;
    }
    if (e.getLayout() == WeightLayout::rotary) {
      logical.resize(shape[0] * shape[1]);
      for (int64_t p = 0; p < shape[0]; ++p)
        rotaryTableRow(e.getBase().getValueAsDouble(), p, shape[1],
                       logical.data() + p * shape[1],
                       e.getScaling() ? e.getScaling().getValueAsDouble()
                                      : 1.0);
      storeAs(elt, logical.data(), logical.size(), dst);
      continue;
    }
    if (llvm::Error err = readLogical(store, e, logical))
      return std::move(err);
    if (e.getLayout() == WeightLayout::row_major) {
      storeAs(elt, logical.data(), logical.size(), dst);
      continue;
    }
    // GEMM panels: P[p][k][c] = W(n = p*NR + c, k), zero past N. Gated
    // panels pair the halves: column c < NR/2 is feature p*NR/2 + c, column
    // NR/2 + c is feature N/2 + p*NR/2 + c (zero past each half).
    // A rank-3 weight is a stack of matrices, each packed on its own.
    bool kn = e.getKn();
    bool gated = e.getLayout() == WeightLayout::gated_panels;
    int64_t nr = e.getPanelWidth();
    ArrayRef<int64_t> mat = shape.take_back(2);
    int64_t n = kn ? mat[1] : mat[0], k = kn ? mat[0] : mat[1];
    SmallVector<int64_t> storedShape = e.getStoredShape();
    int64_t panels = storedShape[storedShape.size() - 3];
    int64_t stack = shape.size() == 3 ? shape[0] : 1;
    auto featureOf = [&](int64_t p, int64_t c) -> int64_t {
      if (!gated)
        return p * nr + c < n ? p * nr + c : -1;
      int64_t h = nr / 2, j = p * h + c % h;
      return j < n / 2 ? (c < h ? j : n / 2 + j) : -1;
    };
    stored.assign(stack * panels * k * nr, 0.0f);
    for (int64_t s = 0; s < stack; ++s) {
      const float *w = logical.data() + s * n * k;
      float *to = stored.data() + s * panels * k * nr;
      for (int64_t p = 0; p < panels; ++p)
        for (int64_t c = 0; c < nr; ++c) {
          int64_t col = featureOf(p, c);
          if (col < 0)
            continue;
          for (int64_t kk = 0; kk < k; ++kk)
            to[(p * k + kk) * nr + c] = kn ? w[kk * n + col] : w[col * k + kk];
        }
    }
    if (QuantAttr q = e.getQuant()) {
      quantizePanels(q, stored, stack * panels, k, nr, dst,
                     dst + e.getScalesOffset());
      continue;
    }
    storeAs(elt, stored.data(), stored.size(), dst);
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
// Entry specs
//===----------------------------------------------------------------------===//

EntrySpec mlir::tfm::entrySpecFor(StringRef name, EntryAttr entry,
                                  WeightPlanAttr plan) {
  EntrySpec e;
  e.name = name.str();
  e.signature = entry.getSignature(plan);
  e.workspaceBytes = entry.getArena();
  for (NamedAttribute b : entry.getBounds())
    e.dimBounds.push_back(
        {b.getName().str(), cast<IntegerAttr>(b.getValue()).getInt()});
  auto spec = [](IoAttr io) {
    TensorSpec s;
    s.name = io.getName().str();
    Type t = io.getType();
    if (auto rt = dyn_cast<RankedTensorType>(t)) {
      s.dtype = dtypeName(rt.getElementType()).str();
      for (int64_t d : rt.getShape())
        s.shape.push_back(ShapedType::isDynamic(d) ? -1 : d);
    } else {
      s.dtype = dtypeName(t).str();
    }
    for (StringAttr d : io.getDims())
      s.dimNames.push_back(d.str());
    s.idBound = io.getIdBound();
    s.state = io.getRole() == IoRole::state;
    return s;
  };
  for (IoAttr io : entry.getInputs())
    e.inputs.push_back(spec(io));
  for (IoAttr io : entry.getOutputs())
    e.outputs.push_back(spec(io));
  return e;
}

ArtifactInfo mlir::tfm::artifactInfoFor(ModuleOp planned) {
  ArtifactInfo info;
  info.model = getModelAttr(planned);
  info.image = planned->getAttrOfType<DictionaryAttr>(attr::kImage);
  info.weights = getWeightPlan(planned);
  for (auto fn : planned.getOps<func::FuncOp>())
    if (EntryAttr entry = getEntryAttr(fn))
      info.entries.push_back(entrySpecFor(fn.getName(), entry, info.weights));
  return info;
}

//===----------------------------------------------------------------------===//
// manifest.json
//===----------------------------------------------------------------------===//

llvm::Error mlir::tfm::writeManifest(llvm::StringRef path,
                                     const ArtifactInfo &info,
                                     bool inlineTokenizer) {
  // Inline tokenizer files are read before anything is written.
  std::vector<std::pair<std::string, std::string>> inlined;
  TokenizerAttr tokenizer =
      info.model ? info.model.getTokenizer() : TokenizerAttr();
  StringRef tokKind =
      tokenizer ? stringifyTokenizerKind(tokenizer.getKind()) : StringRef();
  if (inlineTokenizer)
    for (StringRef f : tokenizerFiles(tokKind)) {
      llvm::SmallString<256> p(tokenizer.getDirectory().getValue());
      llvm::sys::path::append(p, f);
      auto buf = readInputFile(p, TFMC_MAX_TOKENIZER_FILE_BYTES,
                               /*isText=*/false,
                               /*requiresNullTerminator=*/false);
      if (!buf)
        return error("cannot read " + p + ": " +
                     llvm::toString(buf.takeError()));
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
      j.attribute("bytes", info.weights ? info.weights.getBytes() : 0);
      j.attribute("checksum",
                  llvm::formatv("{0:x16}", info.weightsChecksum).str());
      // Every tensor with its element type and layout: the runtime checks
      // them against the code's signature.
      j.attributeArray("tensors", [&] {
        if (info.weights)
          for (WeightEntryAttr e : info.weights.getEntries())
            j.object([&] {
              j.attribute("name", e.getName().getValue());
              j.attribute("dtype", dtypeName(e.getType().getElementType()));
              j.attribute("layout", stringifyWeightLayout(e.getLayout()));
              j.attributeArray("shape", [&] {
                for (int64_t d : e.getType().getShape())
                  j.value(d);
              });
              if (!e.getParts().empty())
                j.attributeArray("parts", [&] {
                  for (StringAttr p : e.getParts())
                    j.value(p.getValue());
                });
              if (e.getLayout() == WeightLayout::gemm_panels ||
                  e.getLayout() == WeightLayout::gated_panels) {
                j.attribute("panel_width", e.getPanelWidth());
                j.attribute("kn", e.getKn());
              }
              if (QuantAttr q = e.getQuant()) {
                j.attribute("quant_bits", q.getBits());
                j.attribute("quant_group", q.getGroup());
                j.attribute("scales_offset", e.getScalesOffset());
              }
              j.attribute("offset", e.getOffset());
              j.attribute("bytes", e.getBytes());
            });
      });
    });
    j.attributeObject("model", [&] {
      if (!info.model)
        return;
      ModelAttr m = info.model;
      j.attribute("family", m.getFamily() == ModelFamily::encoder
                                ? TFMC_FAMILY_ENCODER
                            : m.getFamily() == ModelFamily::decoder
                                ? TFMC_FAMILY_DECODER
                                : TFMC_FAMILY_ENCODER_DECODER);
      j.attribute("vocab_size", m.getVocabSize());
      if (m.getBosId() >= 0)
        j.attribute("bos_id", m.getBosId());
      if (m.getEosId() >= 0)
        j.attribute("eos_id", m.getEosId());
      if (m.getPadId() >= 0)
        j.attribute("pad_id", m.getPadId());
      j.attribute("max_seq_len", m.getMaxSeqLen());
    });
    if (info.image)
      j.attributeObject("image", [&] {
        for (NamedAttribute a : info.image) {
          StringRef key = a.getName().getValue();
          // (BoolAttr first: it is an i1 IntegerAttr.)
          if (auto b = dyn_cast<BoolAttr>(a.getValue()))
            j.attribute(key, b.getValue());
          else if (auto i = dyn_cast<IntegerAttr>(a.getValue()))
            j.attribute(key, i.getInt());
          else if (auto f = dyn_cast<FloatAttr>(a.getValue()))
            j.attribute(key, f.getValueAsDouble());
          else if (auto arr = dyn_cast<ArrayAttr>(a.getValue()))
            j.attributeArray(key, [&] {
              for (Attribute e : arr) {
                if (auto s = dyn_cast<StringAttr>(e))
                  j.value(s.getValue());
                else if (auto f = dyn_cast<FloatAttr>(e))
                  j.value(f.getValueAsDouble());
              }
            });
        }
      });
    if (tokenizer)
      j.attributeObject("tokenizer", [&] {
        j.attribute("kind", tokKind);
        j.attribute("lowercase", tokenizer.getLowercase());
        j.attributeArray("files", [&] {
          for (StringRef f : tokenizerFiles(tokKind))
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
          j.attribute("signature", llvm::formatv("{0:x16}", e.signature).str());
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

//===----------------------------------------------------------------------===//
// The directory
//===----------------------------------------------------------------------===//

/// The files an artifact directory may contain: its own, and the files of
/// every kind of tokenizer.
static llvm::ArrayRef<llvm::StringRef> artifactFiles() {
  static const std::vector<llvm::StringRef> files = [] {
    std::vector<llvm::StringRef> f = {
        "manifest.json", "model.so",    "model.o",          "weights.bin",
        "model",         "kernels.spv", "manifest.exe.json"};
    for (const char *kind : tokenizerKinds())
      for (const char *t : tokenizerFiles(kind))
        f.push_back(t);
    return f;
  }();
  return files;
}

/// Removes an artifact directory: only the files tfmc writes, then the
/// directory itself (which fails, harmlessly, if anything else is in it).
static std::error_code removeArtifactDir(llvm::StringRef dir) {
  for (llvm::StringRef f : artifactFiles()) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, f);
    (void)llvm::sys::fs::remove(p);
  }
  return llvm::sys::fs::remove(dir);
}

namespace {
/// What an interrupt (SIGINT, SIGTERM, SIGHUP, SIGQUIT) during
/// writeArtifactDir must undo, prepared in full before the handler can see
/// it: the handler only calls unlink, rmdir and rename (async-signal-safe).
struct PendingArtifact {
  std::vector<std::string> files;     ///< tfmc's files in `dir`
  std::string dir;                    ///< the directory to remove
  std::string restoreFrom, restoreTo; ///< a previous artifact moved aside
};
std::atomic<const PendingArtifact *> pendingArtifact{nullptr};
std::atomic<bool> signalCleanupEnabled{false};
constexpr int kInterruptSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

extern "C" void cleanUpArtifactOnSignal(int sig) {
  if (const PendingArtifact *p = pendingArtifact.exchange(nullptr)) {
    for (const std::string &f : p->files)
      (void)::unlink(f.c_str());
    (void)::rmdir(p->dir.c_str());
    if (!p->restoreFrom.empty())
      (void)::rename(p->restoreFrom.c_str(), p->restoreTo.c_str());
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

/// Installs the handler for the duration of one writeArtifactDir (when the
/// host asked for it) and tells it what is pending at each stage.
class InterruptCleanup {
public:
  InterruptCleanup() {
    if (!signalCleanupEnabled)
      return;
    active = true;
    struct sigaction sa;
    std::memset(&sa, 0, sizeof(sa));
    sa.sa_handler = cleanUpArtifactOnSignal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < std::size(kInterruptSignals); ++i)
      sigaction(kInterruptSignals[i], &sa, &previous[i]);
  }
  ~InterruptCleanup() {
    if (!active)
      return;
    pendingArtifact = nullptr;
    for (size_t i = 0; i < std::size(kInterruptSignals); ++i)
      sigaction(kInterruptSignals[i], &previous[i], nullptr);
  }
  /// From now on an interrupt removes `dir` (tfmc's files in it) and, when
  /// `restoreFrom` is given, renames it back to `restoreTo`.
  void pending(llvm::StringRef dir, llvm::StringRef restoreFrom = {},
               llvm::StringRef restoreTo = {});

private:
  bool active = false;
  struct sigaction previous[std::size(kInterruptSignals)];
  PendingArtifact states[2]; // alternated: the handler may hold the other
  int next = 0;
};
} // namespace

void mlir::tfm::enableArtifactInterruptCleanup() {
  signalCleanupEnabled = true;
}

void InterruptCleanup::pending(llvm::StringRef dir, llvm::StringRef restoreFrom,
                               llvm::StringRef restoreTo) {
  if (!active)
    return;
  PendingArtifact &s = states[next];
  next ^= 1;
  pendingArtifact = nullptr; // the handler sees the old state or none
  s.files.clear();
  for (llvm::StringRef f : artifactFiles()) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, f);
    s.files.push_back(std::string(p));
  }
  s.dir = dir.str();
  s.restoreFrom = restoreFrom.str();
  s.restoreTo = restoreTo.str();
  pendingArtifact = &s;
}

llvm::Error mlir::tfm::writeArtifactDir(
    llvm::StringRef outDirRef,
    llvm::function_ref<
        llvm::Error(llvm::function_ref<std::string(llvm::StringRef)>)>
        fill) {
  // Owned copy: the linker resets LLVM's command-line options, which may
  // back the caller's string. "out/" and "out" are the same directory.
  std::string outDir = outDirRef.str();
  while (outDir.size() > 1 && llvm::sys::path::is_separator(outDir.back()))
    outDir.pop_back();
  std::string tmp =
      (outDir + ".tmp-" + llvm::Twine(llvm::sys::Process::getProcessId()))
          .str();
  InterruptCleanup interrupt;
  interrupt.pending(tmp);
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
  // Replace a previous artifact (never anything else): everything is
  // checked before anything is touched, the old artifact is moved aside,
  // the new one renamed into place, and only then is the old one removed.
  if (!llvm::sys::fs::exists(outDir)) {
    if (std::error_code ec = llvm::sys::fs::rename(tmp, outDir))
      return fail(error("cannot create " + outDir + ": " + ec.message()));
    return llvm::Error::success();
  }
  llvm::SmallString<256> manifest(outDir);
  llvm::sys::path::append(manifest, "manifest.json");
  if (!llvm::sys::fs::is_directory(outDir) || !llvm::sys::fs::exists(manifest))
    return fail(error(outDir + " exists and is not a tfmc artifact; "
                               "refusing to replace it"));
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(outDir, ec), end; !ec && it != end;
       it.increment(ec)) {
    llvm::StringRef name = llvm::sys::path::filename(it->path());
    if (!llvm::is_contained(artifactFiles(), name))
      return fail(error(outDir + " holds files tfmc did not write ('" + name +
                        "'); refusing to replace it"));
  }
  if (ec)
    return fail(error("cannot read " + outDir + ": " + ec.message()));
  std::string old =
      (outDir + ".old-" + llvm::Twine(llvm::sys::Process::getProcessId()))
          .str();
  (void)removeArtifactDir(old);
  // An interrupt between the two renames puts the old artifact back.
  interrupt.pending(tmp, old, outDir);
  if ((ec = llvm::sys::fs::rename(outDir, old)))
    return fail(error("cannot replace " + outDir + ": " + ec.message()));
  if ((ec = llvm::sys::fs::rename(tmp, outDir))) {
    (void)llvm::sys::fs::rename(old, outDir);
    return fail(error("cannot create " + outDir + ": " + ec.message()));
  }
  interrupt.pending(old);
  (void)removeArtifactDir(old);
  return llvm::Error::success();
}

llvm::Error mlir::tfm::copyTokenizerFiles(
    const ArtifactInfo &info,
    llvm::function_ref<std::string(llvm::StringRef)> at) {
  TokenizerAttr tokenizer =
      info.model ? info.model.getTokenizer() : TokenizerAttr();
  if (!tokenizer)
    return llvm::Error::success();
  for (StringRef f :
       tokenizerFiles(stringifyTokenizerKind(tokenizer.getKind()))) {
    llvm::SmallString<256> from(tokenizer.getDirectory().getValue());
    llvm::sys::path::append(from, f);
    if (std::error_code ec = llvm::sys::fs::copy_file(from, at(f)))
      return error("cannot copy " + from + ": " + ec.message());
  }
  return llvm::Error::success();
}
