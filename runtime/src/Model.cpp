//===- Model.cpp - opening an artifact, queries
//-----------------------------===//
//
// Part of tfmc. An artifact is opened in a fixed order, cheapest check first:
// manifest (format, version), CPU features, weights (size, then checksum),
// then the library and its entry symbols. Nothing of a failed open survives.
//
//===----------------------------------------------------------------------===//

#include "FileRead.h"
#include "Internal.h"

#include "tfmc/checksum.h"
#include "tfmc/cpu_features.h"
#include "tfmc/limits.h"

#include <fstream>
#include <mutex>
#include <sstream>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace tfmc::rt;

tfmc_model::~tfmc_model() {
  if (library)
    dlclose(library);
  if (weights && mappedBytes)
    munmap(weights, mappedBytes);
}

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
  if (m.targetKind == "vulkan")
    return TFMC_OK; // the device is checked when it is opened
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

tfmc_status tfmc::rt::checkSignature(const std::string &where,
                                     const Manifest &m, const EntrySpec &e,
                                     uint64_t code) {
  uint64_t described = entrySignature(e, m);
  if (described != e.signature || described != code)
    return fail(TFMC_ERROR_FORMAT,
                where + ": entry '" + e.name +
                    "' does not match the code compiled for it: an input's or "
                    "output's dtype or shape, or a weight's dtype, layout or "
                    "offset differs from what the code reads (recompile the "
                    "model)");
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
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(TFMC_ERROR_IO, path + ": not a regular file");
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
    // The code's own record of what it was compiled for: the manifest's
    // tensors (dtypes, shapes) and weight layout must agree with it.
    std::string sigName = e.symbol + "_signature";
    auto *sig =
        static_cast<const uint64_t *>(dlsym(model.library, sigName.c_str()));
    if (!sig)
      return fail(TFMC_ERROR_FORMAT,
                  path + ": has no signature symbol '" + sigName + "'");
    if (tfmc_status s = checkSignature(
            model.embedded ? model.directory
                           : joinPath(model.directory, "manifest.json"),
            m, e, *sig))
      return s;
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
  if (model->manifest.targetKind == "vulkan" && model->embedded)
    return fail(TFMC_ERROR_FORMAT,
                manifestPath + ": Vulkan models cannot be embedded in an "
                               "executable; run the artifact directory");
  if (tfmc_status s = mapWeights(*model))
    return s;
  if (model->manifest.targetKind == "vulkan") {
    if (tfmc_status s = vk::open(
            *model, joinPath(model->directory, model->manifest.kernelsFile)))
      return s;
  } else if (tfmc_status s = loadLibrary(*model)) {
    return s;
  }
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
  std::string text, error;
  if (!readFile(manifestPath, TFMC_MAX_CONFIG_FILE_BYTES, text, error))
    return fail(TFMC_ERROR_IO, error);
  return finishOpen(std::move(model), manifestPath, text, out);
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
  // [executable][manifest][padding][weights, page aligned][trailer]
  uint64_t weightsAt = field(1), manifestAt = field(2), manifestSize = field(3);
  if (weightsAt % 4096 || manifestAt > weightsAt ||
      manifestSize > weightsAt - manifestAt || weightsAt > size - kTrailerBytes)
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

extern "C" const char *tfmc_model_device(const tfmc_model *model) {
  return model ? vk::deviceName(*model) : "";
}

extern "C" tfmc_status tfmc_model_pipeline_stats(const tfmc_model *model,
                                                 tfmc_pipeline_stats *stats) {
  if (!model || !stats)
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                "tfmc_model_pipeline_stats: null argument");
  *stats = vk::pipelineStats(*model);
  return TFMC_OK;
}

extern "C" tfmc_status
tfmc_model_image_preprocessing(const tfmc_model *model,
                               tfmc_image_preprocessing *out) {
  if (!model || !out)
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                "tfmc_model_image_preprocessing: null argument");
  const ImageSpec &s = model->manifest.image;
  if (!s.preprocessing)
    return fail(TFMC_ERROR_NOT_FOUND,
                "the model has no image preprocessing (a vision folder "
                "without preprocessor_config.json, or not a vision model)");
  *out = {s.channels, s.height,      s.width,
          s.resize,   s.rescale,     s.mean.data(),
          s.std.data()};
  return TFMC_OK;
}

extern "C" const char *tfmc_model_label(const tfmc_model *model,
                                        size_t index) {
  if (!model || index >= model->manifest.image.labels.size() ||
      model->manifest.image.labels[index].empty())
    return nullptr;
  return model->manifest.image.labels[index].c_str();
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

tfmc_status tfmc::rt::findEntry(const tfmc_model *model, const char *entry,
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

void tfmc::rt::fillSpec(const TensorSpec &t, tfmc_tensor_spec *spec) {
  spec->name = t.name.c_str();
  spec->dtype = t.dtype;
  spec->rank = static_cast<int32_t>(t.shape.size());
  for (int i = 0; i < TFMC_MAX_RANK; ++i) {
    bool in = i < spec->rank;
    spec->shape[i] = in ? t.shape[i] : 0;
    spec->max_shape[i] = in ? t.maxShape[i] : 0;
    spec->dim_names[i] = in ? t.dimNames[i].c_str() : "";
  }
  spec->id_bound = t.idBound;
  spec->state = t.state ? 1 : 0;
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
