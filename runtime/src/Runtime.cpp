//===- Runtime.cpp - the tfmc runtime C API -------------------------------===//
//
// Part of tfmc. An artifact is opened in a fixed order, cheapest check first:
// manifest (format, version), CPU features, weights (size, then checksum),
// then the library and its entry symbols. Nothing of a failed open survives.
//
// A session runs one entry through the C ABI the compiler emits:
//   void tfmc_<entry>(void **buffers, const int64_t *dims)
// where buffers are the inputs, the outputs, the weights and the workspace,
// in that order, each C-ordered; dims holds the dynamic dimensions (none
// while every entry has static shapes).
//
//===----------------------------------------------------------------------===//

#include "Manifest.h"

#include "tfmc/checksum.h"
#include "tfmc/cpu_features.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace tfmc::rt;

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

static thread_local std::string lastError;

static tfmc_status fail(tfmc_status status, std::string message) {
  lastError = std::move(message);
  return status;
}

extern "C" const char *tfmc_last_error(void) { return lastError.c_str(); }

extern "C" const char *tfmc_status_name(tfmc_status status) {
  switch (status) {
  case TFMC_OK:
    return "ok";
  case TFMC_ERROR_IO:
    return "I/O error";
  case TFMC_ERROR_FORMAT:
    return "malformed artifact";
  case TFMC_ERROR_VERSION:
    return "unsupported artifact version";
  case TFMC_ERROR_CHECKSUM:
    return "weights checksum mismatch";
  case TFMC_ERROR_CPU:
    return "unsupported CPU";
  case TFMC_ERROR_NOT_FOUND:
    return "not found";
  case TFMC_ERROR_SHAPE:
    return "shape mismatch";
  case TFMC_ERROR_DTYPE:
    return "dtype mismatch";
  case TFMC_ERROR_RANGE:
    return "value out of range";
  case TFMC_ERROR_MISSING_INPUT:
    return "missing input";
  case TFMC_ERROR_INVALID_ARGUMENT:
    return "invalid argument";
  case TFMC_ERROR_OUT_OF_MEMORY:
    return "out of memory";
  case TFMC_ERROR_STATE:
    return "invalid state";
  }
  return "unknown status";
}

extern "C" const char *tfmc_dtype_name(tfmc_dtype dtype) {
  switch (dtype) {
  case TFMC_DTYPE_FLOAT32:
    return "float32";
  case TFMC_DTYPE_INT64:
    return "int64";
  case TFMC_DTYPE_INT32:
    return "int32";
  case TFMC_DTYPE_FLOAT16:
    return "float16";
  }
  return "unknown";
}

extern "C" size_t tfmc_dtype_size(tfmc_dtype dtype) {
  switch (dtype) {
  case TFMC_DTYPE_FLOAT32:
    return 4;
  case TFMC_DTYPE_INT64:
    return 8;
  case TFMC_DTYPE_INT32:
    return 4;
  case TFMC_DTYPE_FLOAT16:
    return 2;
  }
  return 0;
}

static std::string shapeString(const int64_t *shape, size_t rank) {
  std::string s = "[";
  for (size_t i = 0; i < rank; ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

static std::string shapeString(const std::vector<int64_t> &shape) {
  return shapeString(shape.data(), shape.size());
}

//===----------------------------------------------------------------------===//
// Resources
//===----------------------------------------------------------------------===//

namespace {
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

using EntryFn = void (*)(void **, const int64_t *);
} // namespace

struct tfmc_model {
  std::string directory; // or the executable holding the model
  Manifest manifest;
  bool embedded = false; // code, weights and manifest inside the executable
  uint64_t weightsOffset = 0; // of weights in their file (page aligned)
  void *library = nullptr;
  void *weights = nullptr; // mapped read-only
  size_t mappedBytes = 0;
  std::vector<EntryFn> functions; // parallel to manifest.entries
  void (*setNumThreads)(int) = nullptr;
  AlignedBuffer emptyWeights; // stands in for a zero-byte weights.bin

  ~tfmc_model() {
    if (library)
      dlclose(library);
    if (weights && mappedBytes)
      munmap(weights, mappedBytes);
  }

  const EntrySpec *entry(const char *name, size_t *index = nullptr) const {
    for (size_t i = 0; i < manifest.entries.size(); ++i)
      if (manifest.entries[i].name == name) {
        if (index)
          *index = i;
        return &manifest.entries[i];
      }
    return nullptr;
  }
};

struct tfmc_session {
  tfmc_model *model = nullptr;
  const EntrySpec *entry = nullptr;
  EntryFn function = nullptr;
  std::vector<AlignedBuffer> inputs, outputs;
  std::vector<bool> inputSet;
  AlignedBuffer workspace;
  int32_t threads = 0;
  bool ran = false;
};

static std::string joinPath(const std::string &dir, const std::string &file) {
  if (dir.empty())
    return file;
  return dir.back() == '/' ? dir + file : dir + "/" + file;
}

//===----------------------------------------------------------------------===//
// Opening an artifact
//===----------------------------------------------------------------------===//

/// True if this CPU has `feature`; `known` is false for names the runtime
/// cannot test (the artifact then needs a newer runtime).
static bool cpuHas(const std::string &feature, bool &known) {
  known = false;
#if defined(__x86_64__)
  __builtin_cpu_init();
#define TFMC_TEST_FEATURE(NAME)                                                \
  if (feature == NAME) {                                                       \
    known = true;                                                              \
    return __builtin_cpu_supports(NAME);                                       \
  }
  TFMC_X86_FEATURES(TFMC_TEST_FEATURE)
#undef TFMC_TEST_FEATURE
#endif
  return false;
}

/// Features named in $TFMC_CPU_FEATURES_DISABLE (comma-separated) are
/// treated as absent: a way to check, on a capable machine, how an artifact
/// would fare on a smaller CPU.
static bool disabledByEnvironment(const std::string &feature) {
  const char *env = std::getenv("TFMC_CPU_FEATURES_DISABLE");
  if (!env)
    return false;
  std::string list = std::string(",") + env + ",";
  return list.find("," + feature + ",") != std::string::npos;
}

static tfmc_status checkTarget(const std::string &path, const Manifest &m) {
  if (m.targetKind != "cpu")
    return fail(TFMC_ERROR_CPU, path + ": the artifact targets '" +
                                    m.targetKind +
                                    "', which this runtime cannot run");
#if defined(__x86_64__)
  if (m.triple.rfind("x86_64", 0) != 0)
    return fail(TFMC_ERROR_CPU, path + ": the artifact was compiled for " +
                                    m.triple + ", this machine is x86_64");
#endif
  std::string missing;
  for (const std::string &f : m.features) {
    bool known;
    bool has = cpuHas(f, known);
    if (!known)
      return fail(TFMC_ERROR_CPU,
                  path + ": the artifact requires CPU feature '" + f +
                      "', which this runtime cannot check; update tfmc");
    if (!has || disabledByEnvironment(f))
      missing += (missing.empty() ? "" : ", ") + f;
  }
  if (!missing.empty())
    return fail(TFMC_ERROR_CPU,
                path + ": the artifact was compiled for '" + m.cpu +
                    "' and this CPU lacks: " + missing +
                    "; recompile with --cpu=native on this machine or a "
                    "portable --cpu such as x86-64-v3");
  return TFMC_OK;
}

static tfmc_status mapWeights(tfmc_model &model) {
  const Manifest &m = model.manifest;
  std::string path = model.embedded ? model.directory
                                    : joinPath(model.directory, m.weightsFile);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return fail(TFMC_ERROR_IO, path + ": cannot open: " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return fail(TFMC_ERROR_IO, path + ": cannot stat: " + std::strerror(err));
  }
  uint64_t available = static_cast<uint64_t>(st.st_size) - model.weightsOffset;
  bool sizeOk = model.embedded ? available >= m.weightsBytes
                               : available == m.weightsBytes;
  if (!sizeOk) {
    ::close(fd);
    return fail(TFMC_ERROR_FORMAT,
                path + ": holds " + std::to_string(available) +
                    " bytes of weights but the manifest expects " +
                    std::to_string(m.weightsBytes) +
                    (available < m.weightsBytes ? " (truncated?)" : ""));
  }
  if (m.weightsBytes == 0) {
    ::close(fd);
    if (!model.emptyWeights.allocate(0))
      return fail(TFMC_ERROR_OUT_OF_MEMORY, "out of memory");
    model.weights = model.emptyWeights.data();
  } else {
    void *p = mmap(nullptr, m.weightsBytes, PROT_READ, MAP_PRIVATE, fd,
                   static_cast<off_t>(model.weightsOffset));
    int err = errno;
    ::close(fd);
    if (p == MAP_FAILED)
      return fail(TFMC_ERROR_IO, path + ": cannot map: " + std::strerror(err));
    model.weights = p;
    model.mappedBytes = m.weightsBytes;
  }
  uint64_t sum = tfmc_checksum(model.weights, m.weightsBytes);
  if (sum != m.weightsChecksum) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "0x%016llx",
                  static_cast<unsigned long long>(sum));
    return fail(TFMC_ERROR_CHECKSUM,
                path + ": checksum " + buf +
                    " does not match the manifest's; the file is corrupted "
                    "or belongs to another build");
  }
  return TFMC_OK;
}

/// The generated code runs its parallel loops on libomp's thread pool. Left
/// unpinned, the scheduler sometimes stacks both workers of a short
/// parallel loop on one core, halving throughput for a whole process run;
/// pinning one thread per core avoids that. Settings in the environment win.
static void configureThreads() {
  static std::once_flag once;
  std::call_once(once, [] {
    setenv("OMP_PROC_BIND", "spread", /*overwrite=*/0);
    setenv("OMP_PLACES", "cores", /*overwrite=*/0);
  });
}

static tfmc_status loadLibrary(tfmc_model &model) {
  configureThreads();
  const Manifest &m = model.manifest;
  std::string path =
      model.embedded ? model.directory : joinPath(model.directory, m.library);
  // dlopen needs a path with a slash to avoid a library search; an embedded
  // model's entry points are exported by the executable itself.
  std::string openPath =
      path.find('/') == std::string::npos ? "./" + path : path;
  dlerror();
  model.library = model.embedded
                      ? dlopen(nullptr, RTLD_NOW)
                      : dlopen(openPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!model.library) {
    const char *why = dlerror();
    return fail(TFMC_ERROR_IO,
                path + ": cannot load: " + (why ? why : "unknown error"));
  }
  for (const EntrySpec &e : m.entries) {
    dlerror();
    void *sym = dlsym(model.library, e.symbol.c_str());
    if (!sym)
      return fail(TFMC_ERROR_FORMAT, path + ": has no entry symbol '" +
                                         e.symbol + "' (for entry '" + e.name +
                                         "')");
    model.functions.push_back(reinterpret_cast<EntryFn>(sym));
  }
  // The generated code parallelises with OpenMP; libomp comes with it.
  model.setNumThreads = reinterpret_cast<void (*)(int)>(
      dlsym(model.library, "omp_set_num_threads"));
  return TFMC_OK;
}

/// Parses the manifest and loads everything it names, in order of cost.
static tfmc_status finishOpen(std::unique_ptr<tfmc_model> model,
                              const std::string &manifestPath,
                              const std::string &text, tfmc_model **out) {
  tfmc_status status = TFMC_OK;
  std::string error;
  if (!parseManifest(manifestPath, text, model->manifest, status, error))
    return fail(status, error);
  if (tfmc_status s = checkTarget(manifestPath, model->manifest))
    return s;
  if (tfmc_status s = mapWeights(*model))
    return s;
  if (tfmc_status s = loadLibrary(*model))
    return s;
  *out = model.release();
  return TFMC_OK;
}

extern "C" tfmc_status tfmc_model_open(const char *directory,
                                       tfmc_model **out) {
  if (!directory || !out)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "tfmc_model_open: null argument");
  *out = nullptr;
  auto model = std::make_unique<tfmc_model>();
  model->directory = directory;

  struct stat st;
  if (::stat(directory, &st) != 0 || !S_ISDIR(st.st_mode))
    return fail(TFMC_ERROR_IO, std::string(directory) +
                                   ": not an artifact directory (compile one "
                                   "with `tfmc MODEL -o DIR`)");
  std::string manifestPath = joinPath(directory, "manifest.json");
  std::ifstream in(manifestPath, std::ios::binary);
  if (!in)
    return fail(TFMC_ERROR_IO,
                manifestPath + ": cannot open: " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  return finishOpen(std::move(model), manifestPath, text.str(), out);
}

/// The trailer `tfmc --emit=exe` appends to an executable: magic, the
/// (page-aligned) offset of the weights, offset and size of the manifest.
static constexpr char kExeMagic[8] = {'T', 'F', 'M', 'C', 'E', 'X', 'E', '1'};
static constexpr size_t kTrailerBytes = 32;

extern "C" tfmc_status tfmc_model_open_embedded(tfmc_model **out) {
  if (!out)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "null output");
  *out = nullptr;
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (len <= 0)
    return fail(TFMC_ERROR_IO, "cannot locate the running executable");
  self[len] = '\0';
  std::ifstream in(self, std::ios::binary);
  in.seekg(0, std::ios::end);
  uint64_t size = static_cast<uint64_t>(in.tellg());
  unsigned char trailer[kTrailerBytes];
  if (!in || size < kTrailerBytes ||
      !in.seekg(static_cast<std::streamoff>(size - kTrailerBytes)) ||
      !in.read(reinterpret_cast<char *>(trailer), kTrailerBytes) ||
      std::memcmp(trailer, kExeMagic, sizeof(kExeMagic)) != 0)
    return fail(TFMC_ERROR_NOT_FOUND,
                std::string(self) + ": this executable carries no model");
  auto field = [&](int i) {
    uint64_t v;
    std::memcpy(&v, trailer + 8 * i, 8);
    return v;
  };
  uint64_t weightsAt = field(1), manifestAt = field(2), manifestSize = field(3);
  if (weightsAt % 4096 || manifestAt < weightsAt ||
      manifestAt + manifestSize + kTrailerBytes != size)
    return fail(TFMC_ERROR_FORMAT,
                std::string(self) +
                    ": the embedded model's trailer is corrupt");
  std::string text(manifestSize, '\0');
  if (!in.seekg(static_cast<std::streamoff>(manifestAt)) ||
      !in.read(text.data(), static_cast<std::streamsize>(manifestSize)))
    return fail(TFMC_ERROR_IO,
                std::string(self) + ": cannot read the manifest");
  auto model = std::make_unique<tfmc_model>();
  model->directory = self;
  model->embedded = true;
  model->weightsOffset = weightsAt;
  return finishOpen(std::move(model), std::string(self) + "(manifest.json)",
                    text, out);
}

extern "C" void tfmc_model_close(tfmc_model *model) { delete model; }

//===----------------------------------------------------------------------===//
// Queries
//===----------------------------------------------------------------------===//

extern "C" const char *tfmc_model_family(const tfmc_model *model) {
  return model ? model->manifest.family.c_str() : "";
}

extern "C" const char *tfmc_model_target_cpu(const tfmc_model *model) {
  return model ? model->manifest.cpu.c_str() : "";
}

extern "C" int64_t tfmc_model_metadata_int(const tfmc_model *model,
                                           const char *key) {
  if (!model || !key)
    return -1;
  const Manifest &m = model->manifest;
  std::string k = key;
  if (k == "bos")
    return m.bosId;
  if (k == "eos")
    return m.eosId;
  if (k == "pad")
    return m.padId;
  if (k == "max_seq_len")
    return m.maxSeqLen;
  return -1;
}

extern "C" size_t tfmc_model_num_entries(const tfmc_model *model) {
  return model ? model->manifest.entries.size() : 0;
}

extern "C" const char *tfmc_model_entry_name(const tfmc_model *model,
                                             size_t index) {
  if (!model || index >= model->manifest.entries.size())
    return nullptr;
  return model->manifest.entries[index].name.c_str();
}

static tfmc_status findEntry(const tfmc_model *model, const char *entry,
                             const EntrySpec *&spec) {
  if (!model || !entry)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "null model or entry name");
  spec = model->entry(entry);
  if (!spec) {
    std::string names;
    for (const EntrySpec &e : model->manifest.entries)
      names += (names.empty() ? "" : ", ") + e.name;
    return fail(TFMC_ERROR_NOT_FOUND, "the model has no entry '" +
                                          std::string(entry) +
                                          "' (it has: " + names + ")");
  }
  return TFMC_OK;
}

extern "C" tfmc_status tfmc_model_entry_signature(const tfmc_model *model,
                                                  const char *entry,
                                                  size_t *numInputs,
                                                  size_t *numOutputs) {
  const EntrySpec *e;
  if (tfmc_status s = findEntry(model, entry, e))
    return s;
  if (numInputs)
    *numInputs = e->inputs.size();
  if (numOutputs)
    *numOutputs = e->outputs.size();
  return TFMC_OK;
}

static void fillSpec(const TensorSpec &t, tfmc_tensor_spec *spec) {
  spec->name = t.name.c_str();
  spec->dtype = t.dtype;
  spec->rank = static_cast<int32_t>(t.shape.size());
  std::memset(spec->shape, 0, sizeof(spec->shape));
  std::copy(t.shape.begin(), t.shape.end(), spec->shape);
  spec->id_bound = t.idBound;
}

static tfmc_status entryTensor(const tfmc_model *model, const char *entry,
                               size_t index, tfmc_tensor_spec *spec,
                               bool input) {
  const EntrySpec *e;
  if (tfmc_status s = findEntry(model, entry, e))
    return s;
  const auto &list = input ? e->inputs : e->outputs;
  if (!spec || index >= list.size())
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                std::string("entry '") + entry + "' has " +
                    std::to_string(list.size()) +
                    (input ? " inputs" : " outputs") + "; index " +
                    std::to_string(index) + " is out of range");
  fillSpec(list[index], spec);
  return TFMC_OK;
}

extern "C" tfmc_status tfmc_model_entry_input(const tfmc_model *model,
                                              const char *entry, size_t index,
                                              tfmc_tensor_spec *spec) {
  return entryTensor(model, entry, index, spec, /*input=*/true);
}

extern "C" tfmc_status tfmc_model_entry_output(const tfmc_model *model,
                                               const char *entry, size_t index,
                                               tfmc_tensor_spec *spec) {
  return entryTensor(model, entry, index, spec, /*input=*/false);
}

//===----------------------------------------------------------------------===//
// Sessions
//===----------------------------------------------------------------------===//

extern "C" tfmc_status tfmc_session_create(tfmc_model *model, const char *entry,
                                           tfmc_session **out) {
  if (!out)
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                "tfmc_session_create: null output");
  *out = nullptr;
  const EntrySpec *e;
  if (tfmc_status s = findEntry(model, entry, e))
    return s;
  auto session = std::make_unique<tfmc_session>();
  session->model = model;
  session->entry = e;
  size_t index = 0;
  model->entry(entry, &index);
  session->function = model->functions[index];
  session->inputs.resize(e->inputs.size());
  session->inputSet.assign(e->inputs.size(), false);
  session->outputs.resize(e->outputs.size());
  bool ok = session->workspace.allocate(e->workspaceBytes);
  for (size_t i = 0; i < e->inputs.size(); ++i)
    ok = ok && session->inputs[i].allocate(e->inputs[i].bytes());
  for (size_t i = 0; i < e->outputs.size(); ++i)
    ok = ok && session->outputs[i].allocate(e->outputs[i].bytes());
  if (!ok)
    return fail(TFMC_ERROR_OUT_OF_MEMORY,
                "out of memory creating a session for entry '" + e->name +
                    "' (workspace " + std::to_string(e->workspaceBytes) +
                    " bytes)");
  *out = session.release();
  return TFMC_OK;
}

extern "C" void tfmc_session_destroy(tfmc_session *session) { delete session; }

/// The multi-index of flat element `flat` in `shape`, as "[i, j, ...]".
static std::string indexString(size_t flat, const std::vector<int64_t> &shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = static_cast<int64_t>(flat % shape[d]);
    flat /= shape[d];
  }
  return shapeString(idx);
}

extern "C" tfmc_status tfmc_session_set_input(tfmc_session *session,
                                              const char *name,
                                              tfmc_dtype dtype, int32_t rank,
                                              const int64_t *shape,
                                              const void *data) {
  if (!session || !name || (rank > 0 && !shape) || rank < 0)
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                "tfmc_session_set_input: null argument or negative rank");
  const EntrySpec &e = *session->entry;
  size_t index = e.inputs.size();
  for (size_t i = 0; i < e.inputs.size(); ++i)
    if (e.inputs[i].name == name)
      index = i;
  if (index == e.inputs.size()) {
    std::string names;
    for (const TensorSpec &t : e.inputs)
      names += (names.empty() ? "" : ", ") + t.name;
    return fail(TFMC_ERROR_NOT_FOUND, "entry '" + e.name + "' has no input '" +
                                          name + "' (its inputs: " + names +
                                          ")");
  }
  const TensorSpec &spec = e.inputs[index];
  std::string what = "input '" + spec.name + "'";
  bool widen = spec.dtype == TFMC_DTYPE_INT64 && dtype == TFMC_DTYPE_INT32;
  if (dtype != spec.dtype && !widen)
    return fail(TFMC_ERROR_DTYPE, what + " must be " +
                                      tfmc_dtype_name(spec.dtype) + ", got " +
                                      tfmc_dtype_name(dtype));
  if (static_cast<size_t>(rank) != spec.shape.size() ||
      !std::equal(spec.shape.begin(), spec.shape.end(), shape))
    return fail(TFMC_ERROR_SHAPE,
                what + " must have shape " + shapeString(spec.shape) +
                    ", got " + shapeString(shape, static_cast<size_t>(rank)) +
                    " (the model was compiled for these sizes; recompile "
                    "with --batch/--seq-len to change them)");
  size_t n = spec.elements();
  if (n && !data)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, what + ": null data");

  auto value = [&](size_t i) -> int64_t {
    if (dtype == TFMC_DTYPE_INT32)
      return static_cast<const int32_t *>(data)[i];
    return static_cast<const int64_t *>(data)[i];
  };
  if (spec.idBound > 0)
    for (size_t i = 0; i < n; ++i) {
      int64_t v = value(i);
      if (v < 0 || v >= spec.idBound)
        return fail(TFMC_ERROR_RANGE, what + indexString(i, spec.shape) +
                                          " = " + std::to_string(v) +
                                          " is out of range: ids must lie "
                                          "in [0, " +
                                          std::to_string(spec.idBound) +
                                          ") (the vocabulary size)");
    }
  void *dst = session->inputs[index].data();
  if (widen) {
    auto *d = static_cast<int64_t *>(dst);
    for (size_t i = 0; i < n; ++i)
      d[i] = value(i);
  } else if (n) {
    std::memcpy(dst, data, spec.bytes());
  }
  session->inputSet[index] = true;
  return TFMC_OK;
}

extern "C" tfmc_status tfmc_session_set_num_threads(tfmc_session *session,
                                                    int32_t threads) {
  if (!session)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "null session");
  session->threads = threads;
  return TFMC_OK;
}

extern "C" tfmc_status tfmc_session_run(tfmc_session *session) {
  if (!session)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "null session");
  const EntrySpec &e = *session->entry;
  std::string missing;
  for (size_t i = 0; i < e.inputs.size(); ++i)
    if (!session->inputSet[i])
      missing += (missing.empty() ? "" : ", ") + e.inputs[i].name;
  if (!missing.empty())
    return fail(TFMC_ERROR_MISSING_INPUT,
                "entry '" + e.name +
                    "' cannot run: input(s) not set: " + missing);
  std::vector<void *> buffers;
  for (AlignedBuffer &b : session->inputs)
    buffers.push_back(b.data());
  for (AlignedBuffer &b : session->outputs)
    buffers.push_back(b.data());
  buffers.push_back(session->model->weights);
  buffers.push_back(session->workspace.data());
  static const int64_t noDims[1] = {0};
  if (session->threads > 0 && session->model->setNumThreads)
    session->model->setNumThreads(session->threads);
  session->function(buffers.data(), noDims);
  session->ran = true;
  return TFMC_OK;
}

extern "C" tfmc_status tfmc_session_get_output(const tfmc_session *session,
                                               const char *name,
                                               tfmc_tensor_view *view) {
  if (!session || !name || !view)
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                "tfmc_session_get_output: null argument");
  const EntrySpec &e = *session->entry;
  for (size_t i = 0; i < e.outputs.size(); ++i) {
    if (e.outputs[i].name != name)
      continue;
    if (!session->ran)
      return fail(TFMC_ERROR_STATE, "output '" + e.outputs[i].name +
                                        "' read before a successful run");
    tfmc_tensor_spec spec;
    fillSpec(e.outputs[i], &spec);
    view->name = spec.name;
    view->dtype = spec.dtype;
    view->rank = spec.rank;
    std::memcpy(view->shape, spec.shape, sizeof(view->shape));
    view->data = session->outputs[i].data();
    view->bytes = session->outputs[i].bytes();
    return TFMC_OK;
  }
  std::string names;
  for (const TensorSpec &t : e.outputs)
    names += (names.empty() ? "" : ", ") + t.name;
  return fail(TFMC_ERROR_NOT_FOUND, "entry '" + e.name + "' has no output '" +
                                        name + "' (its outputs: " + names +
                                        ")");
}
