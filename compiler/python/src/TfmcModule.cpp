//===- TfmcModule.cpp - the tfmc._tfmc extension module -------------------===//
//
// Part of tfmc. A thin nanobind layer over two C-level interfaces: the
// compiler driver (tfm/Tools/Driver.h, in-process) and the runtime's C API
// (tfmc/runtime.h). Arrays cross as (address, dtype, shape): the Python
// package owns every NumPy array and keeps it alive while the runtime uses
// it. Failures raise the exception class Python registered for the C status
// (tfmc.errors), with the runtime's message. Runs, generation steps and
// compilations release the GIL.
//
//===----------------------------------------------------------------------===//

#include "tfm/Tools/Driver.h"
#include "tfmc/runtime.h"

#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>

#include <map>
#include <string>
#include <vector>

namespace nb = nanobind;
using namespace nb::literals;
namespace driver = mlir::tfm::driver;

namespace {

/// status -> the Python exception class for it (set by tfmc.errors).
std::map<int, nb::object> &errorClasses() {
  static auto *classes = new std::map<int, nb::object>();
  return *classes;
}

[[noreturn]] void raise(tfmc_status s, const std::string &msg) {
  auto it = errorClasses().find(s);
  PyObject *cls =
      it != errorClasses().end() ? it->second.ptr() : PyExc_RuntimeError;
  PyErr_SetString(cls, msg.c_str());
  throw nb::python_error();
}

/// Raises for a failed call; the message is read on the failing thread.
void check(tfmc_status s) {
  if (s != TFMC_OK)
    raise(s, tfmc_last_error());
}

/// Runs `f` without the GIL and raises for its status afterwards.
template <typename F> void unlocked(F &&f) {
  tfmc_status s;
  std::string msg;
  {
    nb::gil_scoped_release release;
    s = f();
    if (s != TFMC_OK)
      msg = tfmc_last_error();
  }
  if (s != TFMC_OK)
    raise(s, msg);
}

const void *ptr(uintptr_t address) {
  return reinterpret_cast<const void *>(address);
}

//===----------------------------------------------------------------------===//
// Compiling
//===----------------------------------------------------------------------===//

driver::Emit parseEmit(const std::string &v) {
  static const std::map<std::string, driver::Emit> kinds = {
      {"tfm", driver::Emit::TFM},           {"fused", driver::Emit::Fused},
      {"plan", driver::Emit::Plan},         {"linalg", driver::Emit::Linalg},
      {"llvm", driver::Emit::LLVM},         {"asm", driver::Emit::Asm},
      {"artifact", driver::Emit::Artifact}, {"graph", driver::Emit::Graph},
      {"glsl", driver::Emit::GLSL},         {"spirv", driver::Emit::SPIRV}};
  auto it = kinds.find(v);
  if (it == kinds.end())
    throw nb::value_error(("unknown emit kind '" + v + "'").c_str());
  return it->second;
}

driver::WeightDType parseWeightDType(const std::string &v) {
  if (v == "f32")
    return driver::WeightDType::F32;
  if (v == "f16")
    return driver::WeightDType::F16;
  if (v == "bf16")
    return driver::WeightDType::BF16;
  if (v == "auto")
    return driver::WeightDType::Auto;
  throw nb::value_error(
      ("weight_dtype must be f32, f16, bf16 or auto, got '" + v + "'").c_str());
}

/// One compilation from keyword options (validated by tfmc.compile);
/// returns (succeeded, diagnostics).
std::pair<bool, std::string> compile(const nb::dict &kw) {
  driver::Options o;
  for (auto item : kw) {
    std::string key = nb::cast<std::string>(item.first);
    nb::handle v = item.second;
    auto str = [&] { return nb::cast<std::string>(v); };
    auto flag = [&] { return nb::cast<bool>(v); };
    if (key == "input")
      o.input = str();
    else if (key == "output")
      o.output = str();
    else if (key == "emit")
      o.emit = parseEmit(str());
    else if (key == "target")
      o.target = str() == "vulkan" ? driver::TargetKind::Vulkan
                                   : driver::TargetKind::CPU;
    else if (key == "batch")
      o.batch = nb::cast<int64_t>(v);
    else if (key == "seq_len")
      o.seqLen = str();
    else if (key == "target_seq_len")
      o.targetSeqLen = str();
    else if (key == "weight_dtype")
      o.weightDType = parseWeightDType(str());
    else if (key == "quantize")
      o.quantize = str();
    else if (key == "quantize_skip")
      o.quantizeSkip = str();
    else if (key == "cpu")
      o.cpu = str();
    else if (key == "vulkan_target")
      o.vulkanTarget = str();
    else if (key == "max_positions")
      o.maxPositions = nb::cast<int64_t>(v);
    else if (key == "weights")
      o.weights = str();
    else if (key == "random_weights")
      o.randomSeed = nb::cast<uint64_t>(v);
    else if (key == "decompose")
      o.decompose = flag();
    else if (key == "no_fusion")
      o.noFusion = flag();
    else if (key == "no_merge_qkv")
      o.noMergeQKV = flag();
    else if (key == "attention_maps")
      o.attentionMaps = flag();
    else if (key == "fusion_remarks")
      o.fusionRemarks = flag();
    else if (key == "passes_before_fusion")
      o.passesBeforeFusion = str();
    else if (key == "passes_after_fusion" || key == "extra_passes")
      o.passesAfterFusion = str();
    else if (key == "passes_before_lowering")
      o.passesBeforeLowering = str();
    else if (key == "dump_ir_dir")
      o.dumpIRDir = str();
    else if (key == "gemm_kc")
      o.gemmKC = nb::cast<unsigned>(v);
    else if (key == "gemm_mc")
      o.gemmMC = nb::cast<unsigned>(v);
    else
      throw nb::type_error(("unknown compile option '" + key + "'").c_str());
  }
  std::string diagnostics;
  bool ok;
  {
    nb::gil_scoped_release release;
    ok = driver::compile(o, &diagnostics);
  }
  return {ok, diagnostics};
}

//===----------------------------------------------------------------------===//
// Running
//===----------------------------------------------------------------------===//

/// (name, dtype, shape, max_shape, dim_names, id_bound, state); -1 in
/// shape for a dimension chosen at run time.
using SpecTuple =
    std::tuple<std::string, int, std::vector<int64_t>, std::vector<int64_t>,
               std::vector<std::string>, int64_t, bool>;

SpecTuple toTuple(const tfmc_tensor_spec &s) {
  std::vector<int64_t> shape(s.shape, s.shape + s.rank),
      maxShape(s.max_shape, s.max_shape + s.rank);
  std::vector<std::string> names;
  for (int32_t d = 0; d < s.rank; ++d)
    names.push_back(s.dim_names[d] ? s.dim_names[d] : "");
  return {s.name,      static_cast<int>(s.dtype),
          shape,       maxShape,
          names,       s.id_bound,
          s.state != 0};
}

class Tokenizer {
public:
  Tokenizer(const tfmc_tokenizer *t, tfmc_tokenizer *owned)
      : t(t), owned(owned) {}
  ~Tokenizer() { tfmc_tokenizer_destroy(owned); }
  static Tokenizer *open(const std::string &kind, const std::string &dir,
                         bool lowercase) {
    tfmc_tokenizer *t = nullptr;
    check(tfmc_tokenizer_open(kind.c_str(), dir.c_str(), lowercase, &t));
    return new Tokenizer(t, t);
  }
  std::vector<int64_t> encode(const std::string &text, int mode) const {
    int64_t *ids = nullptr;
    size_t n = 0;
    check(tfmc_tokenizer_encode(t, text.data(), text.size(), mode, &ids, &n));
    std::vector<int64_t> out(ids, ids + n);
    tfmc_free(ids);
    return out;
  }
  nb::bytes decode(const std::vector<int64_t> &ids, bool skipSpecial) const {
    char *text = nullptr;
    size_t n = 0;
    check(tfmc_tokenizer_decode(t, ids.data(), ids.size(), skipSpecial, &text,
                                &n));
    nb::bytes out(text, n);
    tfmc_free(text);
    return out;
  }
  size_t stablePrefix(const std::vector<int64_t> &ids) const {
    return tfmc_tokenizer_stable_prefix(t, ids.data(), ids.size());
  }
  int64_t special(const std::string &role) const {
    return tfmc_tokenizer_special(t, role.c_str());
  }
  size_t vocabSize() const { return tfmc_tokenizer_vocab_size(t); }
  const tfmc_tokenizer *get() const { return t; }

private:
  const tfmc_tokenizer *t;
  tfmc_tokenizer *owned; // null when the model owns it
};

class TextStream {
public:
  TextStream(const Tokenizer &tok, const std::vector<int64_t> &context) {
    check(
        tfmc_text_stream_create(tok.get(), context.data(), context.size(), &s));
  }
  ~TextStream() { tfmc_text_stream_destroy(s); }
  nb::bytes push(const std::vector<int64_t> &ids, bool final) {
    char *text = nullptr;
    size_t n = 0;
    check(tfmc_text_stream_push(s, ids.data(), ids.size(), final, &text, &n));
    nb::bytes out(text, n);
    tfmc_free(text);
    return out;
  }

private:
  tfmc_text_stream *s = nullptr;
};

class Model {
public:
  explicit Model(const std::string &path) {
    tfmc_status s;
    std::string msg;
    {
      nb::gil_scoped_release release;
      s = tfmc_model_open(path.c_str(), &m);
      if (s != TFMC_OK)
        msg = tfmc_last_error();
    }
    if (s != TFMC_OK)
      raise(s, msg);
  }
  ~Model() { tfmc_model_close(m); }
  tfmc_model *get() const { return m; }
  std::string family() const { return tfmc_model_family(m); }
  std::string device() const { return tfmc_model_device(m); }
  std::string targetCpu() const { return tfmc_model_target_cpu(m); }
  int64_t metadata(const std::string &key) const {
    return tfmc_model_metadata_int(m, key.c_str());
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (size_t i = 0; i < tfmc_model_num_entries(m); ++i)
      out.push_back(tfmc_model_entry_name(m, i));
    return out;
  }
  std::pair<std::vector<SpecTuple>, std::vector<SpecTuple>>
  signature(const std::string &entry) const {
    size_t ni = 0, no = 0;
    check(tfmc_model_entry_signature(m, entry.c_str(), &ni, &no));
    std::vector<SpecTuple> in, out;
    tfmc_tensor_spec spec;
    for (size_t i = 0; i < ni; ++i) {
      check(tfmc_model_entry_input(m, entry.c_str(), i, &spec));
      in.push_back(toTuple(spec));
    }
    for (size_t i = 0; i < no; ++i) {
      check(tfmc_model_entry_output(m, entry.c_str(), i, &spec));
      out.push_back(toTuple(spec));
    }
    return {in, out};
  }
  /// (channels, height, width, resize, rescale, mean, std), or None.
  nb::object imagePreprocessing() const {
    tfmc_image_preprocessing p;
    if (tfmc_model_image_preprocessing(m, &p) != TFMC_OK)
      return nb::none();
    std::vector<double> mean(p.mean, p.mean + p.channels),
        std(p.std, p.std + p.channels);
    return nb::make_tuple(p.channels, p.height, p.width, p.resize != 0,
                          p.rescale, mean, std);
  }
  std::optional<std::string> label(size_t index) const {
    const char *l = tfmc_model_label(m, index);
    return l ? std::optional<std::string>(l) : std::nullopt;
  }
  Tokenizer *tokenizer() const {
    const tfmc_tokenizer *t = nullptr;
    tfmc_status s = tfmc_model_tokenizer(m, &t);
    if (s == TFMC_ERROR_NOT_FOUND)
      return nullptr;
    check(s);
    return new Tokenizer(t, nullptr);
  }

private:
  tfmc_model *m = nullptr;
};

class Session {
public:
  Session(Model &model, const std::string &entry) {
    check(tfmc_session_create(model.get(), entry.c_str(), &s));
  }
  ~Session() { tfmc_session_destroy(s); }
  void bindInput(const std::string &name, int dtype,
                 const std::vector<int64_t> &shape, uintptr_t data, bool copy) {
    auto fn = copy ? tfmc_session_set_input : tfmc_session_bind_input;
    check(fn(s, name.c_str(), static_cast<tfmc_dtype>(dtype),
             static_cast<int32_t>(shape.size()), shape.data(), ptr(data)));
  }
  void bindOutput(const std::string &name, uintptr_t data, size_t capacity) {
    check(tfmc_session_bind_output(s, name.c_str(),
                                   const_cast<void *>(ptr(data)), capacity));
  }
  /// bindOutput of a writable C-contiguous buffer (a fresh NumPy array):
  /// its address read through the buffer protocol, no Python objects made.
  void bindOutputArray(const std::string &name, nb::handle array) {
    Py_buffer view;
    if (PyObject_GetBuffer(array.ptr(), &view,
                           PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) != 0)
      throw nb::python_error();
    void *data = view.buf;
    size_t bytes = static_cast<size_t>(view.len);
    PyBuffer_Release(&view); // the caller keeps the array alive
    check(tfmc_session_bind_output(s, name.c_str(), data, bytes));
  }
  void run() {
    tfmc_session *session = s;
    unlocked([session] { return tfmc_session_run(session); });
  }
  /// (dtype, shape, address, bytes) of an output of the last run.
  std::tuple<int, std::vector<int64_t>, uintptr_t, size_t>
  output(const std::string &name) const {
    tfmc_tensor_view v;
    check(tfmc_session_get_output(s, name.c_str(), &v));
    return {static_cast<int>(v.dtype),
            std::vector<int64_t>(v.shape, v.shape + v.rank),
            reinterpret_cast<uintptr_t>(v.data), v.bytes};
  }
  void setNumThreads(int threads) {
    check(tfmc_session_set_num_threads(s, threads));
  }
  void shareState(const Session &from) {
    check(tfmc_session_share_state(s, from.s));
  }

private:
  tfmc_session *s = nullptr;
};

class Generator {
public:
  explicit Generator(Model &model) {
    check(tfmc_generator_create(model.get(), &g));
  }
  ~Generator() { tfmc_generator_destroy(g); }
  void setNumThreads(int threads) {
    check(tfmc_generator_set_num_threads(g, threads));
  }
  void encode(std::vector<int64_t> ids) {
    tfmc_generator *gen = g;
    unlocked(
        [&] { return tfmc_generator_encode(gen, ids.data(), ids.size()); });
  }
  void append(std::vector<int64_t> ids) {
    tfmc_generator *gen = g;
    unlocked(
        [&] { return tfmc_generator_append(gen, ids.data(), ids.size()); });
  }
  /// The next-token logits of the last append, copied.
  std::vector<float> logits() const {
    const float *l = nullptr;
    size_t n = 0;
    check(tfmc_generator_logits(g, &l, &n));
    return std::vector<float>(l, l + n);
  }
  /// Samples from the first min(vocab, limit) logits (limit 0: all);
  /// advances the generator's random state.
  int64_t sample(float temperature, int topK, float topP, size_t limit) {
    const float *l = nullptr;
    size_t n = 0;
    check(tfmc_generator_logits(g, &l, &n));
    if (limit && limit < n)
      n = limit;
    tfmc_sampling params = {temperature, topK, topP};
    int64_t token = 0;
    check(tfmc_sample(l, n, &params, &rng, &token));
    return token;
  }
  void seed(uint64_t s) { rng = s; }
  size_t length() const { return tfmc_generator_length(g); }
  size_t capacity() const { return tfmc_generator_capacity(g); }
  void reset() { check(tfmc_generator_reset(g)); }

private:
  tfmc_generator *g = nullptr;
  uint64_t rng = 0;
};

} // namespace

NB_MODULE(_tfmc, m) {
  m.doc() = "tfmc's compiler driver and runtime (use the tfmc package)";
  m.def(
      "_register_error",
      [](int status, nb::object cls) { errorClasses()[status] = cls; },
      "status"_a, "cls"_a);
  m.def("status_name", [](int s) {
    return std::string(tfmc_status_name(static_cast<tfmc_status>(s)));
  });
  m.def("dtype_name", [](int d) {
    return std::string(tfmc_dtype_name(static_cast<tfmc_dtype>(d)));
  });
  m.def("compile", &compile, "options"_a);

  nb::class_<Tokenizer>(m, "Tokenizer")
      .def_static("open", &Tokenizer::open, "kind"_a, "directory"_a,
                  "lowercase"_a = false)
      .def("encode", &Tokenizer::encode, "text"_a, "mode"_a)
      .def("decode", &Tokenizer::decode, "ids"_a, "skip_special"_a)
      .def("stable_prefix", &Tokenizer::stablePrefix, "ids"_a)
      .def("special", &Tokenizer::special, "role"_a)
      .def_prop_ro("vocab_size", &Tokenizer::vocabSize);

  nb::class_<TextStream>(m, "TextStream")
      .def(nb::init<const Tokenizer &, const std::vector<int64_t> &>(),
           "tokenizer"_a, "context"_a, nb::keep_alive<1, 2>())
      .def("push", &TextStream::push, "ids"_a, "final"_a);

  nb::class_<Model>(m, "Model")
      .def(nb::init<const std::string &>(), "path"_a)
      .def_prop_ro("family", &Model::family)
      .def_prop_ro("device", &Model::device)
      .def_prop_ro("target_cpu", &Model::targetCpu)
      .def("metadata", &Model::metadata, "key"_a)
      .def("entries", &Model::entries)
      .def("image_preprocessing", &Model::imagePreprocessing)
      .def("label", &Model::label, "index"_a)
      .def("signature", &Model::signature, "entry"_a)
      .def("tokenizer", &Model::tokenizer, nb::keep_alive<0, 1>(),
           nb::rv_policy::take_ownership);

  nb::class_<Session>(m, "Session")
      .def(nb::init<Model &, const std::string &>(), "model"_a, "entry"_a,
           nb::keep_alive<1, 2>())
      .def("bind_input", &Session::bindInput, "name"_a, "dtype"_a, "shape"_a,
           "address"_a, "copy"_a)
      .def("bind_output", &Session::bindOutput, "name"_a, "address"_a,
           "capacity"_a)
      .def("bind_output_array", &Session::bindOutputArray, "name"_a, "array"_a)
      .def("run", &Session::run)
      .def("output", &Session::output, "name"_a)
      .def("set_num_threads", &Session::setNumThreads, "threads"_a)
      .def("share_state", &Session::shareState, "source"_a);

  nb::class_<Generator>(m, "Generator")
      .def(nb::init<Model &>(), "model"_a, nb::keep_alive<1, 2>())
      .def("set_num_threads", &Generator::setNumThreads, "threads"_a)
      .def("encode", &Generator::encode, "ids"_a)
      .def("append", &Generator::append, "ids"_a)
      .def("logits", &Generator::logits)
      .def("sample", &Generator::sample, "temperature"_a, "top_k"_a, "top_p"_a,
           "limit"_a)
      .def("seed", &Generator::seed, "seed"_a)
      .def_prop_ro("length", &Generator::length)
      .def_prop_ro("capacity", &Generator::capacity)
      .def("reset", &Generator::reset);
}
