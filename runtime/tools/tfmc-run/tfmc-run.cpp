//===- tfmc-run.cpp - run a compiled tfmc artifact ------------------------===//
//
// Part of tfmc. Binds inputs from .npy files (or a token list), runs an entry
// point, and writes each output as <name>.npy or prints a summary. Uses only
// the runtime library: no MLIR, no LLVM.
//
//===----------------------------------------------------------------------===//

#include "Generate.h"
#include "Image.h"
#include "Npy.h"
#include "tfmc/abi.h"
#include "tfmc/limits.h"

#include "tfmc/runtime.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <sys/stat.h>

namespace {

const char *kUsage = R"(usage: tfmc-run ARTIFACT [options]

Runs an entry point of an artifact directory written by `tfmc MODEL -o DIR`.
An executable written by `tfmc --emit=exe` takes the same options, without
ARTIFACT: the model is inside it.

Inputs:
  --input NAME=FILE.npy   bind an input from a NumPy file (float32, int64 or
                          int32; int32 is widened for int64 inputs)
  --tokens [NAME=]IDS     bind token ids given as 1,2,3 with shape [1, n]
                          (default NAME: the entry's first token-id input);
                          an unset attention_mask is then all ones and an
                          unset token_type_ids all zeros
Running:
  --entry NAME            the entry point (default: forward, or the
                          artifact's only entry when it has one)
  --threads N             worker threads (default: one per core)
  --device NAME           Vulkan artifacts: the device (index or part of its
                          name; default: a discrete GPU, else the first
                          device; same as TFMC_VULKAN_DEVICE)
  --profile               Vulkan artifacts: print each kernel's GPU time
                          (timestamp queries) of an --input/--tokens run
  --bench N               time N runs after 2 warm-up runs and print the
                          min/median/max latency
Outputs:
  --output-dir DIR        write every output to DIR/<name>.npy
                          (default: print a summary of each output)
  --list                  print the artifact's entries and tensors, then exit

Text (through the tokenizer compiled into the artifact):
  --prompt TEXT           generate (decoder: continue TEXT; encoder-decoder:
                          encode TEXT, decode from <bos>), streaming the
                          text, then print prefill and decode tokens/s
  --max-new-tokens N      tokens to generate (default 64, or what fits in the
                          model's maximum sequence length); stops at <eos>
  --temperature T         0 (default) is greedy; else sample logits / T
  --top-k K               sample among the K most likely tokens (0: all)
  --top-p P               ... within the smallest set of probability >= P
  --seed S                seed of the sampler (default 0): same seed, same
                          text
  --show-ids              also print the generated token ids
  --no-warmup             Vulkan artifacts: time the first prefill as it
                          comes (by default an untimed first pass, reported
                          as "first run", absorbs the driver's first-use
                          shader compiles)
  --text TEXT             encoder: the sentence's embedding (mean pooling,
                          L2-normalised); repeat for cosine similarities;
                          --output-dir writes DIR/embeddings.npy
  --no-normalize          embeddings without L2 normalisation

Images (vision models compiled from a Hugging Face folder with its
preprocessor_config.json):
  --image FILE            a PNG or JPEG, resized and normalised as the
                          folder's image processor does; one per batch row
                          (repeat); prints each image's top-5 classes
                          (id2label); --output-dir also writes
                          pixel_values.npy and the outputs
  --dump-attention DIR    write a PNG heat map of every layer's and head's
                          attention over the text to DIR (needs a model
                          compiled with tfmc --attention-maps)
)";

std::string progName = "tfmc-run";
} // namespace

int tfmc::fail(const std::string &msg) {
  std::fprintf(stderr, "%s: error: %s\n", progName.c_str(), msg.c_str());
  return 1;
}

namespace {
using tfmc::fail;

std::string shapeString(const int64_t *shape, int32_t rank) {
  std::string s = "[";
  for (int32_t i = 0; i < rank; ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool parseInt(const std::string &s, long long &out) {
  if (s.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  out = std::strtoll(s.c_str(), &end, 10);
  return errno == 0 && *end == '\0';
}

/// One line per tensor: name (the column as wide as the longest), dtype,
/// shape with run-time dimensions by name, their bounds, the id range.
void printSpecs(const char *kind, const std::vector<tfmc_tensor_spec> &specs,
                int nameWidth) {
  for (const tfmc_tensor_spec &s : specs) {
    std::string shape = "[", bounds;
    for (int32_t d = 0; d < s.rank; ++d) {
      bool dyn = s.shape[d] < 0;
      shape += (d ? ", " : "") +
               (dyn ? std::string(s.dim_names[d]) : std::to_string(s.shape[d]));
      if (dyn && bounds.find(std::string(s.dim_names[d]) + " ") ==
                     std::string::npos)
        bounds += std::string(bounds.empty() ? "" : ", ") + s.dim_names[d] +
                  " <= " + std::to_string(s.max_shape[d]);
    }
    shape += "]";
    std::printf("  %s %-*s %-8s %s", kind, nameWidth, s.name,
                tfmc_dtype_name(s.dtype), shape.c_str());
    if (!bounds.empty())
      std::printf("  (%s)", bounds.c_str());
    if (s.id_bound > 0)
      std::printf("  ids in [0, %lld)", static_cast<long long>(s.id_bound));
    if (s.state)
      std::printf("  state");
    std::printf("\n");
  }
}

void printSummary(const tfmc_tensor_view &v) {
  std::printf("%s: %s %s\n", v.name, tfmc_dtype_name(v.dtype),
              shapeString(v.shape, v.rank).c_str());
  size_t n = v.bytes / tfmc_dtype_size(v.dtype);
  if (v.dtype != TFMC_DTYPE_FLOAT32 || n == 0)
    return;
  const float *f = static_cast<const float *>(v.data);
  double sum = 0, sumSq = 0;
  float lo = f[0], hi = f[0];
  for (size_t i = 0; i < n; ++i) {
    sum += f[i];
    sumSq += double(f[i]) * f[i];
    lo = std::min(lo, f[i]);
    hi = std::max(hi, f[i]);
  }
  double mean = sum / n;
  std::printf("  min %.6g  max %.6g  mean %.6g  std %.6g\n", lo, hi, mean,
              std::sqrt(std::max(0.0, sumSq / n - mean * mean)));
  std::printf("  first:");
  for (size_t i = 0; i < std::min<size_t>(n, 6); ++i)
    std::printf(" %.6g", f[i]);
  std::printf("\n");
  // For logits, the most likely next token at the last position.
  if (std::strcmp(v.name, TFMC_IO_LOGITS) == 0 && v.rank >= 2) {
    size_t vocab = v.shape[v.rank - 1];
    const float *last = f + n - vocab;
    size_t best = std::max_element(last, last + vocab) - last;
    std::printf("  argmax at the last position: %zu\n", best);
  }
}

/// Per-kernel GPU time of the last run, largest first.
void printProfile(tfmc_session *session) {
  size_t n = tfmc_session_profile(session, nullptr, 0);
  if (!n) {
    std::printf("profile: no GPU timings (a CPU artifact?)\n");
    return;
  }
  std::vector<tfmc_profile_entry> entries(n);
  tfmc_session_profile(session, entries.data(), n);
  std::map<std::string, std::pair<double, int>> byKernel;
  double total = 0;
  for (const tfmc_profile_entry &e : entries) {
    auto &k = byKernel[e.kernel];
    k.first += e.microseconds;
    k.second += 1;
    total += e.microseconds;
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> rows(
      byKernel.begin(), byKernel.end());
  std::sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) {
    return a.second.first > b.second.first;
  });
  std::printf("%-28s %10s %6s %8s\n", "kernel", "time (us)", "calls", "share");
  for (const auto &[name, t] : rows)
    std::printf("%-28s %10.1f %6d %7.1f%%\n", name.c_str(), t.first, t.second,
                total > 0 ? 100.0 * t.first / total : 0.0);
  std::printf("%-28s %10.1f %6zu\n", "total (GPU)", total, n);
}

struct Options {
  std::string artifact, outputDir;
  std::string entry; ///< --entry; empty: the only entry, else forward
  std::vector<std::pair<std::string, std::string>> inputs; // name, file
  std::vector<std::pair<std::string, std::string>> tokens; // name, ids
  int threads = 0, bench = 0;
  bool list = false, profile = false;
  std::string device; ///< --device (Vulkan artifacts only)
  tfmc::TextOptions text;
  std::vector<std::string> images; ///< --image (vision models)
};

bool parseFloat(const std::string &s, float &out) {
  if (s.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  out = std::strtof(s.c_str(), &end);
  return errno == 0 && *end == '\0' && std::isfinite(out);
}

/// Parses argv; returns -1 to continue, else an exit code. An embedded
/// model takes the place of the ARTIFACT argument.
int parseArgs(int argc, char **argv, Options &o, bool embedded) {
  auto value = [&](int &i, const char *flag, std::string &out) {
    std::string a = argv[i];
    size_t len = std::strlen(flag);
    if (a.size() > len && a.compare(0, len, flag) == 0 && a[len] == '=') {
      out = a.substr(len + 1);
      return true;
    }
    if (a == flag) {
      if (i + 1 >= argc)
        return false;
      out = argv[++i];
      return true;
    }
    return false;
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i], v;
    auto is = [&](const char *flag) {
      return a == flag || a.rfind(std::string(flag) + "=", 0) == 0;
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (is("--device")) {
      if (!value(i, "--device", v) || v.empty())
        return fail("--device needs a device index or name");
      setenv("TFMC_VULKAN_DEVICE", v.c_str(), 1);
      o.device = v;
    } else if (a == "--profile") {
      o.profile = true;
    } else if (a == "--list") {
      o.list = true;
    } else if (is("--input") || is("--tokens")) {
      bool tokens = is("--tokens");
      if (!value(i, tokens ? "--tokens" : "--input", v))
        return fail(a + " needs a value");
      size_t eq = v.find('=');
      if (tokens) {
        o.tokens.push_back(
            eq == std::string::npos
                ? std::make_pair(std::string(), v)
                : std::make_pair(v.substr(0, eq), v.substr(eq + 1)));
      } else {
        if (eq == std::string::npos || eq == 0)
          return fail("--input expects NAME=FILE.npy, got '" + v + "'");
        o.inputs.push_back({v.substr(0, eq), v.substr(eq + 1)});
      }
    } else if (is("--prompt")) {
      if (!value(i, "--prompt", v))
        return fail("--prompt needs a value");
      o.text.prompt = v;
    } else if (is("--image")) {
      if (!value(i, "--image", v) || v.empty())
        return fail("--image needs a file");
      o.images.push_back(v);
    } else if (is("--text")) {
      if (!value(i, "--text", v))
        return fail("--text needs a value");
      o.text.texts.push_back(v);
    } else if (is("--dump-attention")) {
      if (!value(i, "--dump-attention", o.text.attentionDir) ||
          o.text.attentionDir.empty())
        return fail("--dump-attention needs a directory");
    } else if (a == "--show-ids") {
      o.text.showIds = true;
    } else if (a == "--no-warmup") {
      o.text.warmup = false;
    } else if (a == "--no-normalize") {
      o.text.normalize = false;
    } else if (is("--max-new-tokens") || is("--top-k") || is("--seed")) {
      const char *flag = is("--max-new-tokens") ? "--max-new-tokens"
                         : is("--top-k")        ? "--top-k"
                                                : "--seed";
      long long n;
      bool seed = std::strcmp(flag, "--seed") == 0;
      if (!value(i, flag, v) || !parseInt(v, n) || n < (seed ? 0 : 1) ||
          (!seed && n > 1000000))
        return fail(std::string(flag) + " expects a " +
                    (seed ? "non-negative" : "positive") + " integer, got '" +
                    v + "'");
      if (seed)
        o.text.seed = static_cast<uint64_t>(n);
      else if (std::strcmp(flag, "--top-k") == 0)
        o.text.sampling.top_k = static_cast<int32_t>(n);
      else {
        o.text.maxNewTokens = static_cast<int>(n);
        o.text.maxNewTokensGiven = true;
      }
    } else if (is("--temperature") || is("--top-p")) {
      bool temp = is("--temperature");
      float f;
      if (!value(i, temp ? "--temperature" : "--top-p", v) ||
          !parseFloat(v, f) || f < 0 || (!temp && (f <= 0 || f > 1)))
        return fail(
            temp ? "--temperature expects a number >= 0, got '" + v + "'"
                 : "--top-p expects a number in (0, 1], got '" + v + "'");
      (temp ? o.text.sampling.temperature : o.text.sampling.top_p) = f;
    } else if (is("--entry")) {
      if (!value(i, "--entry", o.entry) || o.entry.empty())
        return fail("--entry needs a value");
    } else if (is("--output-dir")) {
      if (!value(i, "--output-dir", o.outputDir) || o.outputDir.empty())
        return fail("--output-dir needs a value");
    } else if (is("--threads") || is("--bench")) {
      bool threads = is("--threads");
      long long n;
      long long most = threads ? TFMC_MAX_THREADS : 1000000;
      if (!value(i, threads ? "--threads" : "--bench", v) || !parseInt(v, n) ||
          n < 1 || n > most)
        return fail(std::string(threads ? "--threads" : "--bench") +
                    " expects an integer in [1, " + std::to_string(most) +
                    "], got '" + v + "'");
      (threads ? o.threads : o.bench) = static_cast<int>(n);
    } else if (!a.empty() && a[0] == '-') {
      return fail("unknown option '" + a + "' (see --help)");
    } else if (o.artifact.empty() && !embedded) {
      o.artifact = a;
    } else {
      return fail("unexpected argument '" + a + "'" +
                  (embedded ? " (this executable runs its own model)"
                            : " (one artifact per run)"));
    }
  }
  if (o.artifact.empty() && !embedded) {
    std::fputs(kUsage, stderr);
    return 1;
  }
  if (o.text.prompt && !o.text.texts.empty())
    return fail("--prompt (generation) and --text (embeddings) do not mix");
  bool textMode = o.text.prompt || !o.text.texts.empty();
  if (!o.images.empty() &&
      (textMode || !o.inputs.empty() || !o.tokens.empty() || o.bench ||
       o.profile || !o.text.attentionDir.empty()))
    return fail("--image takes no --prompt, --text, --input, --tokens, "
                "--bench, --profile or --dump-attention");
  if (textMode && (!o.inputs.empty() || !o.tokens.empty() || o.bench))
    return fail("--prompt/--text take no --input, --tokens or --bench");
  if (textMode && o.profile)
    return fail("--profile times the kernels of one entry run (--input or "
                "--tokens); it does not apply to --prompt or --text");
  if (!textMode && !o.text.attentionDir.empty())
    return fail("--dump-attention needs --prompt or --text");
  o.text.threads = o.threads;
  if (!textMode)
    return -1;
  o.text.outputDir = o.outputDir;
  return -1;
}

int run(const Options &o, tfmc_model *embedded) {
  tfmc::Model model =
      embedded ? tfmc::Model(embedded) : tfmc::Model(o.artifact);
  if (!o.device.empty() && std::string(tfmc_model_device(model.get())) == "cpu")
    return fail("--device selects a Vulkan device; " +
                (embedded ? std::string("this executable") : o.artifact) +
                " is a CPU artifact");
  if (o.list) {
    const char *cpu = tfmc_model_target_cpu(model.get());
    std::printf(
        "%s: %s model for %s\n", embedded ? "(embedded)" : o.artifact.c_str(),
        model.family().empty() ? "a" : model.family().c_str(),
        *cpu ? cpu
             : (std::string("Vulkan device ") + tfmc_model_device(model.get()))
                   .c_str());
    int width = 0;
    for (const std::string &e : model.entries())
      for (const auto &list : {model.inputs(e), model.outputs(e)})
        for (const tfmc_tensor_spec &s : list)
          width = std::max(width, static_cast<int>(std::strlen(s.name)));
    for (const std::string &e : model.entries()) {
      std::printf("entry %s\n", e.c_str());
      printSpecs("in ", model.inputs(e), width);
      printSpecs("out", model.outputs(e), width);
    }
    return 0;
  }
  if (!o.images.empty())
    return tfmc::classify(model, o.images, o.threads, o.outputDir);
  if (o.text.prompt)
    return tfmc::generate(model, o.text);
  if (!o.text.texts.empty())
    return tfmc::embed(model, o.text);
  // An artifact with a single entry (a hand-written .mlir with one public
  // function, say) runs it without --entry.
  std::string entry = !o.entry.empty()              ? o.entry
                      : model.entries().size() == 1 ? model.entries().front()
                                                    : TFMC_ENTRY_FORWARD;
  std::vector<tfmc_tensor_spec> specs = model.inputs(entry);
  tfmc::Session session = model.session(entry);
  if (o.threads)
    session.setNumThreads(o.threads);
  if (o.profile)
    tfmc::check(tfmc_session_enable_profiling(session.get(), 1));

  std::map<std::string, bool> bound;
  std::vector<int64_t> idsShape; // of the token ids given, if any
  for (const auto &[name, file] : o.inputs) {
    tfmc::NpyArray a;
    std::string error;
    if (!tfmc::readNpy(file, a, error))
      return fail(error);
    try {
      session.setInput(name, a.dtype, a.shape, a.data.data());
    } catch (const tfmc::Error &e) {
      return fail(file + ": " + e.what());
    }
    bound[name] = true;
    if (name == TFMC_IO_INPUT_IDS || name == TFMC_IO_DECODER_INPUT_IDS)
      idsShape = a.shape;
  }
  for (const auto &[given, list] : o.tokens) {
    std::string name = given;
    if (name.empty()) {
      for (const tfmc_tensor_spec &s : specs)
        if (s.id_bound > 0 && !bound.count(s.name)) {
          name = s.name;
          break;
        }
      if (name.empty())
        return fail("--tokens: entry '" + entry +
                    "' has no (unbound) token-id input; name one with "
                    "--tokens NAME=IDS");
    }
    std::vector<int64_t> ids;
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string item =
          list.substr(start, comma == std::string::npos ? std::string::npos
                                                        : comma - start);
      long long v;
      if (!parseInt(item, v))
        return fail("--tokens: '" + item + "' is not an integer token id");
      ids.push_back(v);
      if (comma == std::string::npos)
        break;
      start = comma + 1;
    }
    idsShape = {1, static_cast<int64_t>(ids.size())};
    session.setInput(name, idsShape, ids);
    bound[name] = true;
  }
  // As in Hugging Face's modeling classes, attention_mask and
  // token_type_ids are optional when they are the token ids' shape: no
  // padding, one segment.
  if (!idsShape.empty())
    for (const tfmc_tensor_spec &s : specs) {
      std::string name = s.name;
      if (bound.count(name) ||
          (name != TFMC_IO_ATTENTION_MASK && name != TFMC_IO_TOKEN_TYPE_IDS) ||
          s.rank != static_cast<int>(idsShape.size()))
        continue;
      std::vector<int64_t> shape = idsShape;
      size_t n = 1;
      for (int64_t d : shape)
        n *= d;
      std::vector<int64_t> fill(n, name == TFMC_IO_ATTENTION_MASK ? 1 : 0);
      if (s.dtype == TFMC_DTYPE_FLOAT32) {
        std::vector<float> f(fill.begin(), fill.end());
        session.setInput(name, shape, f);
      } else {
        session.setInput(name, shape, fill);
      }
    }

  // Inputs are valid; the output directory must be usable before running.
  if (!o.outputDir.empty()) {
    std::string error;
    if (!tfmc::makeDirs(o.outputDir, error))
      return fail(error);
  }

  if (o.bench) {
    printPipelineStats(model);
    using clock = std::chrono::steady_clock;
    for (int i = 0; i < 2; ++i)
      session.run();
    std::vector<double> ms;
    for (int i = 0; i < o.bench; ++i) {
      auto t0 = clock::now();
      session.run();
      ms.push_back(
          std::chrono::duration<double, std::milli>(clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::printf(
        "latency over %d runs: min %.3f ms  median %.3f ms  max %.3f ms\n",
        o.bench, ms.front(), ms[ms.size() / 2], ms.back());
  } else {
    session.run();
  }
  if (o.profile)
    printProfile(session.get());

  for (const tfmc_tensor_spec &s : model.outputs(entry)) {
    tfmc_tensor_view v = session.output(s.name);
    if (o.outputDir.empty()) {
      if (!o.bench)
        printSummary(v);
      continue;
    }
    std::string path = o.outputDir + "/" + s.name + ".npy", error;
    if (!tfmc::writeNpy(path, v.dtype,
                        std::vector<int64_t>(v.shape, v.shape + v.rank), v.data,
                        v.bytes, error))
      return fail(error);
  }
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  if (argc > 0 && argv[0][0]) {
    progName = argv[0];
    progName = progName.substr(progName.find_last_of('/') + 1);
  }
  // An executable from `tfmc --emit=exe` carries its model.
  tfmc_model *embedded = nullptr;
  tfmc_status st = tfmc_model_open_embedded(&embedded);
  if (st != TFMC_OK && st != TFMC_ERROR_NOT_FOUND)
    return fail(tfmc_last_error());
  Options o;
  if (int rc = parseArgs(argc, argv, o, embedded != nullptr); rc >= 0) {
    tfmc_model_close(embedded);
    return rc;
  }
  try {
    return run(o, embedded);
  } catch (const tfmc::Error &e) {
    return fail(e.what());
  } catch (const std::bad_alloc &) {
    return fail("out of memory");
  }
}
