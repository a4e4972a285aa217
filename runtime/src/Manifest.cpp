//===- Manifest.cpp - manifest.json, parsed and validated -----------------===//
//
// Part of tfmc. nlohmann::json reports errors with exceptions; every one is
// caught here and turned into a message with the field's JSON path.
//
//===----------------------------------------------------------------------===//

#include "Manifest.h"

#include "tfmc/abi.h"
#include "tfmc/limits.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <iterator>
#include <set>
#include <stdexcept>

using nlohmann::json;

namespace tfmc::rt {

bool parseDtype(const std::string &name, tfmc_dtype &out) {
  static const char *const kNames[] = TFMC_DTYPE_NAMES;
  for (size_t i = 0; i < std::size(kNames); ++i)
    if (name == kNames[i]) {
      out = static_cast<tfmc_dtype>(i);
      return true;
    }
  return false;
}

namespace {
/// A malformed field: where (JSON path) and what.
struct FieldError : std::runtime_error {
  FieldError(const std::string &where, const std::string &what)
      : std::runtime_error(where + ": " + what) {}
};

/// A JSON value together with its path, for messages.
struct Node {
  const json &value;
  std::string path;

  Node at(const char *key) const {
    if (!value.is_object())
      throw FieldError(path, "expected an object");
    auto it = value.find(key);
    if (it == value.end())
      throw FieldError(path, std::string("missing field '") + key + "'");
    return {*it, path + "." + key};
  }
  bool has(const char *key) const {
    return value.is_object() && value.contains(key);
  }
  Node at(size_t i) const {
    return {value[i], path + "[" + std::to_string(i) + "]"};
  }
  size_t size() const {
    if (!value.is_array())
      throw FieldError(path, "expected an array");
    return value.size();
  }
  std::string str() const {
    if (!value.is_string())
      throw FieldError(path, "expected a string");
    return value.get<std::string>();
  }
  int64_t integer(int64_t min = INT64_MIN) const {
    if (!value.is_number_integer())
      throw FieldError(path, "expected an integer");
    int64_t v = value.get<int64_t>();
    if (v < min)
      throw FieldError(path, "expected an integer >= " + std::to_string(min) +
                                 ", got " + std::to_string(v));
    return v;
  }
  double number() const {
    if (!value.is_number())
      throw FieldError(path, "expected a number");
    return value.get<double>();
  }
  bool boolean() const {
    if (!value.is_boolean())
      throw FieldError(path, "expected a boolean");
    return value.get<bool>();
  }
};

/// A file name inside the artifact directory: no separators, no "..".
std::string fileName(const Node &n) {
  std::string s = n.str();
  if (s.empty() || s.find('/') != std::string::npos || s == "." || s == "..")
    throw FieldError(n.path, "'" + s + "' is not a file name");
  return s;
}

TensorSpec parseTensor(const Node &n,
                       const std::map<std::string, DimBound> &dims) {
  TensorSpec t;
  t.name = n.at("name").str();
  if (t.name.empty())
    throw FieldError(n.path + ".name", "empty tensor name");
  Node dtype = n.at("dtype");
  if (!parseDtype(dtype.str(), t.dtype))
    throw FieldError(dtype.path, "unknown dtype '" + dtype.str() + "'");
  Node shape = n.at("shape");
  size_t rank = shape.size();
  if (rank > TFMC_MAX_RANK)
    throw FieldError(shape.path, "rank " + std::to_string(rank) +
                                     " exceeds the runtime's maximum of " +
                                     std::to_string(TFMC_MAX_RANK));
  size_t elements = 1;
  for (size_t i = 0; i < rank; ++i) {
    Node dim = shape.at(i);
    int64_t d, max;
    if (dim.value.is_string()) {
      // A named dynamic dimension, bounded in the entry's "dims".
      std::string name = dim.str();
      auto it = dims.find(name);
      if (it == dims.end())
        throw FieldError(dim.path, "dimension '" + name +
                                       "' has no bounds in the entry's dims");
      d = -1;
      max = it->second.max;
      t.dimNames.push_back(name);
    } else {
      d = max = dim.integer(0);
      t.dimNames.push_back("");
    }
    // Guard the byte-size computations against overflow.
    if (max > (int64_t(1) << 40) || (max && elements > (size_t(1) << 40) / max))
      throw FieldError(shape.path, "tensor is impossibly large");
    elements *= static_cast<size_t>(max);
    t.shape.push_back(d);
    t.maxShape.push_back(max);
  }
  if (n.has("id_bound"))
    t.idBound = n.at("id_bound").integer(1);
  if (n.has("state")) {
    Node st = n.at("state");
    if (!st.value.is_boolean())
      throw FieldError(st.path, "expected a boolean");
    t.state = st.value.get<bool>();
    if (t.state && t.dynamic())
      throw FieldError(st.path, "state tensors must have a static shape");
  }
  return t;
}
void parseVulkanTarget(const Node &target, Manifest &m) {
  m.vulkanProfile = target.at("profile").str();
  m.kernelsFile = fileName(target.at("kernels_file"));
  m.stateBytes = target.at("state_bytes").integer(0);
  m.pushWords = target.at("push_constant_words").integer(1);
  if (target.has("features")) {
    Node features = target.at("features");
    for (size_t i = 0, e = features.size(); i < e; ++i) {
      std::string f = features.at(i).str();
      if (f != "storage16" && f != "storage8")
        throw FieldError(features.at(i).path,
                         "unknown device feature '" + f + "'");
      m.deviceFeatures.push_back(f);
    }
  }
  if (m.pushWords > 32)
    throw FieldError(target.path + ".push_constant_words",
                     "more than 32 push-constant words");
  Node kernels = target.at("kernels");
  for (size_t i = 0, e = kernels.size(); i < e; ++i) {
    Node k = kernels.at(i);
    VulkanKernel kernel;
    kernel.name = k.at("name").str();
    kernel.offset = k.at("offset").integer(0);
    kernel.words = k.at("words").integer(1);
    kernel.localSize = k.at("local_size").integer(1);
    if (kernel.offset % 4)
      throw FieldError(k.path + ".offset", "not a multiple of 4");
    m.kernels.push_back(kernel);
  }
}

void parseVulkanEntry(const Node &n, const Manifest &m, VulkanEntry &e) {
  e.arenaBytes = n.at("arena_bytes").integer(0);
  static const std::pair<const char *, VulkanScalar::Op> kOps[] = {
      {"const", VulkanScalar::Const}, {"dim", VulkanScalar::Dim},
      {"index", VulkanScalar::Index}, {"add", VulkanScalar::Add},
      {"sub", VulkanScalar::Sub},     {"mul", VulkanScalar::Mul},
      {"div", VulkanScalar::Div},     {"ceildiv", VulkanScalar::CeilDiv},
      {"min", VulkanScalar::Min},     {"max", VulkanScalar::Max}};
  Node scalars = n.at("scalars");
  for (size_t i = 0, end = scalars.size(); i < end; ++i) {
    Node s = scalars.at(i);
    if (s.size() != 3)
      throw FieldError(s.path, "expected [op, a, b]");
    VulkanScalar op;
    std::string name = s.at(size_t(0)).str();
    bool known = false;
    for (auto [text, code] : kOps)
      if (name == text) {
        op.op = code;
        known = true;
      }
    if (!known)
      throw FieldError(s.path, "unknown scalar op '" + name + "'");
    op.a = s.at(1).integer();
    op.b = s.at(2).integer();
    // Operands of arithmetic are earlier slots.
    bool arith = op.op >= VulkanScalar::Add;
    if (arith &&
        (op.a < 0 || op.b < 0 || op.a >= int64_t(i) || op.b >= int64_t(i)))
      throw FieldError(s.path, "operand slot out of range");
    e.scalars.push_back(op);
  }
  auto slot = [&](const Node &v) {
    int64_t k = v.integer(0);
    if (k >= int64_t(e.scalars.size()))
      throw FieldError(v.path, "no scalar slot " + std::to_string(k));
    return k;
  };
  for (const char *kind : {"inputs", "outputs"}) {
    Node list = n.at(kind);
    auto &dst = kind[0] == 'i' ? e.inputs : e.outputs;
    for (size_t i = 0, end = list.size(); i < end; ++i) {
      Node b = list.at(i);
      VulkanIo io;
      io.buffer = b.at("buffer").str();
      if (io.buffer == "scalar")
        io.slot = slot(b.at("slot"));
      else if (io.buffer == "arena" || io.buffer == "state")
        io.offset = b.at("offset").integer(0);
      else
        throw FieldError(b.path + ".buffer",
                         "unknown buffer '" + io.buffer + "'");
      dst.push_back(io);
    }
  }
  Node dispatches = n.at("dispatches");
  for (size_t i = 0, end = dispatches.size(); i < end; ++i) {
    Node d = dispatches.at(i);
    VulkanDispatch dispatch;
    dispatch.kernel = d.at("kernel").integer(0);
    if (dispatch.kernel >= int64_t(m.kernels.size()))
      throw FieldError(d.path + ".kernel", "no such kernel");
    Node push = d.at("push");
    if (int64_t(push.size()) > m.pushWords)
      throw FieldError(push.path, "more push constants than declared");
    for (size_t j = 0, je = push.size(); j < je; ++j)
      dispatch.push.push_back(static_cast<int32_t>(push.at(j).integer(0)));
    Node groups = d.at("groups");
    if (groups.size() != 3)
      throw FieldError(groups.path, "expected 3 slots");
    for (size_t j = 0; j < 3; ++j)
      dispatch.groups[j] = slot(groups.at(j));
    if (d.has("barrier"))
      dispatch.barrier = d.at("barrier").value.is_boolean() &&
                         d.at("barrier").value.get<bool>();
    e.dispatches.push_back(std::move(dispatch));
  }
}
} // namespace

bool parseManifest(const std::string &path, const std::string &text,
                   Manifest &m, tfmc_status &status, std::string &error) {
  json doc;
  if (size_t at = 0;
      !tfmc_json_depth_ok(text.data(), text.size(), TFMC_MAX_JSON_DEPTH, &at)) {
    status = TFMC_ERROR_FORMAT;
    error = path + ": JSON nested deeper than " +
            std::to_string(TFMC_MAX_JSON_DEPTH) + " levels (at byte " +
            std::to_string(at) + ")";
    return false;
  }
  try {
    doc = json::parse(text);
  } catch (const json::parse_error &e) {
    // "path:line:column: not valid JSON: <what>", without nlohmann's prefix.
    size_t line = 1, column = 1;
    for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i, ++column)
      if (text[i] == '\n') {
        ++line;
        column = 0;
      }
    std::string what = e.what();
    size_t colon = what.find(": ", what.find("column"));
    if (colon != std::string::npos)
      what = what.substr(colon + 2);
    status = TFMC_ERROR_FORMAT;
    error = path + ":" + std::to_string(line) + ":" + std::to_string(column) +
            ": not valid JSON: " + what;
    return false;
  } catch (const json::exception &e) {
    // A value the parser cannot hold (out_of_range: a number too large).
    status = TFMC_ERROR_FORMAT;
    error = path + ": not valid JSON: " + e.what();
    return false;
  }
  try {
    Node root{doc, "$"};
    // Format and version first: a newer artifact should say so rather than
    // fail on a field it renamed.
    if (root.at("format").str() != "tfmc-artifact")
      throw FieldError("$.format", "not a tfmc artifact manifest");
    m.version = root.at("version").integer();
    if (m.version != TFMC_ARTIFACT_VERSION) {
      status = TFMC_ERROR_VERSION;
      error = path + ": artifact format version " + std::to_string(m.version) +
              " is not supported by this runtime (it reads version " +
              std::to_string(TFMC_ARTIFACT_VERSION) +
              "); recompile the model with a matching tfmc";
      return false;
    }
    Node target = root.at("target");
    m.targetKind = target.at("kind").str();
    bool vulkan = m.targetKind == "vulkan";
    if (vulkan) {
      parseVulkanTarget(target, m);
    } else {
      m.triple = target.at("triple").str();
      m.cpu = target.at("cpu").str();
      Node features = target.at("features");
      for (size_t i = 0, e = features.size(); i < e; ++i)
        m.features.push_back(features.at(i).str());
      m.library = fileName(root.at("library"));
    }
    Node weights = root.at("weights");
    m.weightsFile = fileName(weights.at("file"));
    m.weightsBytes = static_cast<uint64_t>(weights.at("bytes").integer(0));
    Node checksum = weights.at("checksum");
    std::string hex = checksum.str();
    char *end = nullptr;
    if (hex.size() != 18 || hex.compare(0, 2, "0x") != 0 ||
        (m.weightsChecksum = std::strtoull(hex.c_str() + 2, &end, 16),
         *end != '\0'))
      throw FieldError(checksum.path, "expected 0x and 16 hex digits");
    if (weights.has("tensors")) {
      Node tensors = weights.at("tensors");
      for (size_t i = 0, e = tensors.size(); i < e; ++i) {
        Node t = tensors.at(i);
        WeightTensor w;
        w.name = t.at("name").str();
        w.dtype = t.at("dtype").str();
        tfmc_dtype d;
        if (!parseDtype(w.dtype, d) ||
            (d != TFMC_DTYPE_FLOAT32 && d != TFMC_DTYPE_FLOAT16 &&
             d != TFMC_DTYPE_BFLOAT16))
          throw FieldError(t.path + ".dtype",
                           "weights are float32, float16 or bfloat16, not '" +
                               w.dtype + "'");
        w.layout = t.at("layout").str();
        bool panels = w.layout == "gemm_panels" || w.layout == "gated_panels";
        if (!panels && w.layout != "row_major" && w.layout != "sinusoidal" &&
            w.layout != "rotary")
          throw FieldError(t.path + ".layout",
                           "unknown layout '" + w.layout + "'");
        Node shape = t.at("shape");
        for (size_t j = 0, je = shape.size(); j < je; ++j)
          w.shape.push_back(shape.at(j).integer(1));
        if (panels) {
          w.panelWidth = t.at("panel_width").integer(1);
          Node kn = t.at("kn");
          if (!kn.value.is_boolean())
            throw FieldError(kn.path, "expected a boolean");
          w.kn = kn.value.get<bool>();
          if (t.has("quant_bits")) {
            w.quantBits = t.at("quant_bits").integer(4);
            if (w.quantBits != 4 && w.quantBits != 8)
              throw FieldError(t.path + ".quant_bits",
                               "quantized weights have 8 or 4 bits");
            w.quantGroup = t.at("quant_group").integer(1);
          }
        }
        w.offset = t.at("offset").integer(0);
        w.bytes = t.at("bytes").integer(0);
        if (static_cast<uint64_t>(w.offset) > m.weightsBytes ||
            static_cast<uint64_t>(w.bytes) > m.weightsBytes - w.offset)
          throw FieldError(t.path,
                           "tensor '" + w.name + "' lies outside weights.bin");
        m.weightTensors.push_back(std::move(w));
      }
    }
    if (root.has("model")) {
      Node model = root.at("model");
      if (model.has("family"))
        m.family = model.at("family").str();
      auto optInt = [&](const char *key, int64_t &field) {
        if (model.has(key))
          field = model.at(key).integer(0);
      };
      optInt("bos_id", m.bosId);
      optInt("eos_id", m.eosId);
      optInt("pad_id", m.padId);
      optInt("max_seq_len", m.maxSeqLen);
    }
    if (root.has("image")) {
      Node im = root.at("image");
      ImageSpec &s = m.image;
      s.present = true;
      s.channels = im.at("channels").integer(1);
      if (im.has("height")) {
        s.preprocessing = true;
        s.height = im.at("height").integer(1);
        s.width = im.at("width").integer(1);
        s.resize = im.at("resize").boolean();
        s.rescale = im.at("rescale").number();
        for (auto [key, out] :
             {std::pair<const char *, std::vector<double> *>{"mean", &s.mean},
              {"std", &s.std}}) {
          Node v = im.at(key);
          if (v.size() != static_cast<size_t>(s.channels))
            throw FieldError(v.path, "expected one number per channel");
          for (size_t i = 0; i < v.size(); ++i)
            out->push_back(v.at(i).number());
        }
        for (double sd : s.std)
          if (!(sd > 0))
            throw FieldError(im.path + ".std", "expected positive numbers");
      }
      if (im.has("labels")) {
        Node l = im.at("labels");
        for (size_t i = 0, e = l.size(); i < e; ++i)
          s.labels.push_back(l.at(i).str());
      }
    }
    if (root.has("tokenizer")) {
      Node t = root.at("tokenizer");
      m.tokenizer.kind = t.at("kind").str();
      if (t.has("lowercase")) {
        Node l = t.at("lowercase");
        if (!l.value.is_boolean())
          throw FieldError(l.path, "expected a boolean");
        m.tokenizer.lowercase = l.value.get<bool>();
      }
      Node files = t.at("files");
      for (size_t i = 0, e = files.size(); i < e; ++i)
        m.tokenizer.files.push_back(fileName(files.at(i)));
      if (t.has("inline")) {
        Node in = t.at("inline");
        if (!in.value.is_object())
          throw FieldError(in.path, "expected an object");
        for (auto it = in.value.begin(); it != in.value.end(); ++it) {
          Node f{it.value(), in.path + "." + it.key()};
          m.tokenizer.inlineFiles[it.key()] = f.str();
        }
      }
    }
    Node entries = root.at("entries");
    std::set<std::string> names;
    for (size_t i = 0, e = entries.size(); i < e; ++i) {
      Node n = entries.at(i);
      EntrySpec entry;
      entry.name = n.at("name").str();
      {
        Node sig = n.at("signature");
        std::string hex = sig.str();
        char *end = nullptr;
        if (hex.size() != 18 || hex.compare(0, 2, "0x") != 0 ||
            (entry.signature = std::strtoull(hex.c_str() + 2, &end, 16),
             *end != '\0'))
          throw FieldError(sig.path, "expected 0x and 16 hex digits");
      }
      if (!names.insert(entry.name).second)
        throw FieldError(n.path + ".name",
                         "duplicate entry '" + entry.name + "'");
      if (vulkan) {
        parseVulkanEntry(n.at("vulkan"), m, entry.vulkan);
      } else {
        entry.symbol = n.at("symbol").str();
        entry.workspaceBytes =
            static_cast<uint64_t>(n.at("workspace_bytes").integer(0));
      }
      if (n.has("dims")) {
        Node dims = n.at("dims");
        if (!dims.value.is_object())
          throw FieldError(dims.path, "expected an object");
        for (auto it = dims.value.begin(); it != dims.value.end(); ++it) {
          Node b{it.value(), dims.path + "." + it.key()};
          DimBound bound;
          bound.min = b.at("min").integer(0);
          bound.max = b.at("max").integer(bound.min);
          entry.dims[it.key()] = bound;
        }
      }
      std::set<std::string> tensorNames;
      for (const char *kind : {"inputs", "outputs"}) {
        Node list = n.at(kind);
        auto &dst = kind[0] == 'i' ? entry.inputs : entry.outputs;
        for (size_t j = 0, je = list.size(); j < je; ++j) {
          dst.push_back(parseTensor(list.at(j), entry.dims));
          if (!tensorNames.insert(dst.back().name).second)
            throw FieldError(list.at(j).path + ".name",
                             "duplicate tensor '" + dst.back().name + "'");
        }
      }
      m.entries.push_back(std::move(entry));
    }
  } catch (const FieldError &e) {
    status = TFMC_ERROR_FORMAT;
    error = path + ": " + e.what();
    return false;
  } catch (const json::exception &e) {
    status = TFMC_ERROR_FORMAT;
    error = path + ": " + e.what();
    return false;
  }
  return true;
}

uint64_t entrySignature(const EntrySpec &e, const Manifest &m) {
  uint64_t h = TFMC_SIGNATURE_SEED;
  for (const TensorSpec &t : e.inputs)
    h = tfmc_signature_add(h, t.state ? "state" : "in", t.name.c_str(),
                           tfmc_dtype_name(t.dtype), t.shape.data(),
                           t.shape.size());
  for (const TensorSpec &t : e.outputs)
    h = tfmc_signature_add(h, "out", t.name.c_str(), tfmc_dtype_name(t.dtype),
                           t.shape.data(), t.shape.size());
  for (const WeightTensor &w : m.weightTensors) {
    std::vector<int64_t> dims = {w.offset, w.bytes, w.panelWidth, w.kn};
    dims.insert(dims.end(), w.shape.begin(), w.shape.end());
    if (w.quantBits)
      dims.insert(dims.end(), {-1, w.quantBits, w.quantGroup});
    h = tfmc_signature_add(h, w.layout.c_str(), w.name.c_str(), w.dtype.c_str(),
                           dims.data(), dims.size());
  }
  return h;
}

} // namespace tfmc::rt
