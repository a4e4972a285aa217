//===- Generate.cpp - tfmc-run's text modes -------------------------------===//
//
// Part of tfmc.
//
//===----------------------------------------------------------------------===//

#include "Generate.h"
#include "tfmc/abi.h"

#include "Heatmap.h"
#include "Npy.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

using namespace tfmc;

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// The artifact's tokenizer (owned by the model).
const tfmc_tokenizer *tokenizerOf(Model &model) {
  const tfmc_tokenizer *t = nullptr;
  check(tfmc_model_tokenizer(model.get(), &t));
  return t;
}

std::vector<int64_t> encode(const tfmc_tokenizer *t, const std::string &text,
                            int addSpecial) {
  int64_t *ids = nullptr;
  size_t n = 0;
  check(
      tfmc_tokenizer_encode(t, text.data(), text.size(), addSpecial, &ids, &n));
  std::vector<int64_t> out(ids, ids + n);
  tfmc_free(ids);
  return out;
}

std::string decode(const tfmc_tokenizer *t, const std::vector<int64_t> &ids,
                   bool skipSpecial) {
  char *text = nullptr;
  size_t n = 0;
  check(
      tfmc_tokenizer_decode(t, ids.data(), ids.size(), skipSpecial, &text, &n));
  std::string out(text, n);
  tfmc_free(text);
  return out;
}

/// RAII for the runtime's text stream.
class TextStream {
public:
  TextStream(const tfmc_tokenizer *tok, const std::vector<int64_t> &context) {
    check(tfmc_text_stream_create(tok, context.data(), context.size(), &s));
  }
  ~TextStream() { tfmc_text_stream_destroy(s); }
  /// Appends `id` (none when `final`) and returns the text now ready.
  std::string take(const int64_t *id, bool final) {
    char *text = nullptr;
    size_t n = 0;
    check(tfmc_text_stream_push(s, id, id ? 1 : 0, final, &text, &n));
    std::string out(text, n);
    tfmc_free(text);
    return out;
  }

private:
  tfmc_text_stream *s = nullptr;
};

/// RAII for the C generator.
struct Generator {
  tfmc_generator *g = nullptr;
  explicit Generator(Model &m) { check(tfmc_generator_create(m.get(), &g)); }
  ~Generator() { tfmc_generator_destroy(g); }
  void append(const std::vector<int64_t> &ids) {
    check(tfmc_generator_append(g, ids.data(), ids.size()));
  }
  std::pair<const float *, size_t> logits() const {
    const float *l = nullptr;
    size_t v = 0;
    check(tfmc_generator_logits(g, &l, &v));
    return {l, v};
  }
};

/// Token labels for the axes of attention maps.
std::vector<std::string> labels(const tfmc_tokenizer *t,
                                const std::vector<int64_t> &ids) {
  std::vector<std::string> out;
  for (int64_t id : ids)
    out.push_back(decode(t, {id}, /*skipSpecial=*/false));
  return out;
}

/// Writes one PNG per layer and head of the [1, H, Q, K] outputs named
/// `prefix`.{l} of `session`.
int dumpMaps(Session &session, const std::string &dir,
             const std::string &prefix, const std::string &what, size_t layers,
             const std::vector<std::string> &rowLabels,
             const std::vector<std::string> &colLabels, int &written) {
  for (size_t l = 0; l < layers; ++l) {
    tfmc_tensor_view v = session.output(prefix + "." + std::to_string(l));
    if (v.rank != 4)
      return fail("attention output " + std::string(v.name) +
                  " is not [batch, heads, queries, keys]");
    int64_t heads = v.shape[1], q = v.shape[2], k = v.shape[3];
    for (int64_t h = 0; h < heads; ++h) {
      Heatmap map;
      map.title =
          what + ": layer " + std::to_string(l) + ", head " + std::to_string(h);
      map.rows = static_cast<int>(q);
      map.cols = static_cast<int>(k);
      map.values = static_cast<const float *>(v.data) + h * q * k;
      if (q <= 48 && k <= 48) {
        map.rowLabels = rowLabels;
        map.colLabels = colLabels;
      }
      std::string path = dir + "/" + prefix + "_layer" + std::to_string(l) +
                         "_head" + std::to_string(h) + ".png",
                  error;
      if (!writeHeatmapPNG(path, map, error))
        return fail(error);
      ++written;
    }
  }
  return 0;
}

size_t countOutputs(Model &model, const std::string &entry,
                    const std::string &prefix) {
  size_t n = 0;
  for (const tfmc_tensor_spec &s : model.outputs(entry))
    n += std::strncmp(s.name, (prefix + ".").c_str(), prefix.size() + 1) == 0;
  return n;
}

bool hasEntry(Model &model, const std::string &name) {
  for (const std::string &e : model.entries())
    if (e == name)
      return true;
  return false;
}

/// Binds input_ids and the conveniences (all-ones mask, zero types).
void bindTokens(Model &model, Session &s, const std::string &entry,
                const std::string &idsName, const std::vector<int64_t> &ids) {
  std::vector<int64_t> shape = {1, static_cast<int64_t>(ids.size())};
  for (const tfmc_tensor_spec &spec : model.inputs(entry)) {
    std::string name = spec.name;
    if (name == idsName)
      s.setInput(name, shape, ids);
    else if (name == TFMC_IO_ATTENTION_MASK)
      s.setInput(name, shape, std::vector<int64_t>(ids.size(), 1));
    else if (name == TFMC_IO_TOKEN_TYPE_IDS)
      s.setInput(name, shape, std::vector<int64_t>(ids.size(), 0));
  }
}

std::string needAttentionEntry(const char *entry) {
  return std::string("--dump-attention needs the debug entry '") + entry +
         "': compile the model with tfmc --attention-maps";
}

} // namespace

void tfmc::printPipelineStats(const Model &model) {
  tfmc_pipeline_stats st;
  if (tfmc_model_pipeline_stats(model.get(), &st) != TFMC_OK || !st.pipelines)
    return;
  const char *cache = st.cache == TFMC_PIPELINE_CACHE_HIT    ? "hit"
                      : st.cache == TFMC_PIPELINE_CACHE_MISS ? "miss"
                                                             : "off";
  std::fprintf(stderr,
               "pipelines: %zu created in %.2f ms; pipeline cache %s%s%s%s\n",
               st.pipelines, st.create_ms, cache, *st.cache_path ? " " : "",
               st.cache_path, st.cache_written ? " (written)" : "");
}

int tfmc::generate(Model &model, const TextOptions &o) {
  std::string family = model.family();
  bool encdec = family == TFMC_FAMILY_ENCODER_DECODER;
  if (family == TFMC_FAMILY_ENCODER)
    return fail("--prompt generates text with a decoder or an "
                "encoder-decoder; this is an encoder (use --text)");
  if (!o.attentionDir.empty() &&
      !hasEntry(model, encdec ? TFMC_ENTRY_DECODE_ATTENTION
                              : TFMC_ENTRY_FORWARD_ATTENTION))
    return fail(needAttentionEntry(encdec ? TFMC_ENTRY_DECODE_ATTENTION
                                          : TFMC_ENTRY_FORWARD_ATTENTION));
  const tfmc_tokenizer *tok = tokenizerOf(model);
  if (o.prompt->empty())
    return fail("the prompt is empty" +
                std::string(encdec ? ""
                                   : " (a decoder continues a prompt of "
                                     "at least one token)"));
  // A decoder's prompt gets the leading framing HF's tokenizer(prompt)
  // adds (Llama's <s>); an encoder's input all of it (T5's trailing </s>).
  std::vector<int64_t> prompt =
      encode(tok, *o.prompt, encdec ? TFMC_ENCODE_SOURCE : TFMC_ENCODE_PROMPT);
  if (prompt.empty())
    return fail("the prompt encodes to no tokens");
  int64_t maxLen = model.metadata("max_seq_len");
  int64_t eos = model.metadata("eos");
  if (eos < 0)
    eos = tfmc_tokenizer_special(tok, "eos");
  int64_t bos = model.metadata("bos");
  if (bos < 0)
    bos = tfmc_tokenizer_special(tok, "bos");
  if (encdec && bos < 0)
    return fail("the model has no bos id to start decoding with");
  // The target starts with the prompt (decoder) or <bos> (encoder-decoder).
  std::vector<int64_t> target = encdec ? std::vector<int64_t>{bos} : prompt;
  int maxNew = o.maxNewTokens;
  int64_t room = maxLen - static_cast<int64_t>(target.size());
  if (maxLen > 0 && !o.maxNewTokensGiven && room > 0 && room < maxNew) {
    std::fprintf(stderr,
                 "note: generating at most %lld new tokens (the model's "
                 "maximum sequence length is %lld)\n",
                 static_cast<long long>(room), static_cast<long long>(maxLen));
    maxNew = static_cast<int>(room);
  }
  if (maxLen > 0 && static_cast<int64_t>(target.size()) + maxNew > maxLen)
    return fail(std::string(encdec ? "<bos>"
                                   : "the prompt (" +
                                         std::to_string(prompt.size()) +
                                         " tokens)") +
                " plus --max-new-tokens " + std::to_string(maxNew) +
                " exceed the model's maximum sequence length " +
                std::to_string(maxLen));

  Generator gen(model);
  if (o.threads)
    check(tfmc_generator_set_num_threads(gen.g, o.threads));
  // Vulkan drivers may compile a shader at its first dispatch (Mesa's
  // lavapipe JITs every kernel then): an untimed first pass -- the prompt,
  // one decode step, then an empty cache again -- keeps that out of the
  // prefill and decode figures and reports it on its own.
  tfmc_pipeline_stats pipelines;
  check(tfmc_model_pipeline_stats(model.get(), &pipelines));
  double firstRunMs = -1;
  if (o.warmup && pipelines.pipelines) {
    auto w0 = Clock::now();
    if (encdec)
      check(tfmc_generator_encode(gen.g, prompt.data(), prompt.size()));
    gen.append(target);
    if (maxNew > 1)
      gen.append({target.back()});
    check(tfmc_generator_reset(gen.g));
    firstRunMs = 1e3 * seconds(w0, Clock::now());
  }
  auto t0 = Clock::now();
  if (encdec)
    check(tfmc_generator_encode(gen.g, prompt.data(), prompt.size()));
  gen.append(target);
  auto t1 = Clock::now();
  size_t prefillTokens = encdec ? prompt.size() + 1 : prompt.size();

  // Stream: the prompt as it is (decoder), then each token's bytes once
  // they complete a character.
  if (!encdec) {
    std::fwrite(o.prompt->data(), 1, o.prompt->size(), stdout);
    std::fflush(stdout);
  }
  TextStream stream(tok, target);
  std::vector<int64_t> generated;
  uint64_t rng = o.seed;
  bool stoppedAtEos = false;
  // Ids past the tokenizer's vocabulary (an embedding table padded to a
  // round size) cannot be spelled: they are never sampled.
  size_t spellable = tfmc_tokenizer_vocab_size(tok);
  for (int i = 0; i < maxNew; ++i) {
    auto [logits, vocab] = gen.logits();
    int64_t next = 0;
    check(tfmc_sample(logits, std::min(vocab, spellable), &o.sampling, &rng,
                      &next));
    generated.push_back(next);
    target.push_back(next);
    if (next == eos) {
      stoppedAtEos = true;
      break;
    }
    std::string ready = stream.take(&next, /*final=*/false);
    std::fwrite(ready.data(), 1, ready.size(), stdout);
    std::fflush(stdout);
    if (i + 1 < maxNew)
      gen.append({next});
  }
  auto t2 = Clock::now();
  std::string rest = stream.take(nullptr, /*final=*/true);
  std::fwrite(rest.data(), 1, rest.size(), stdout);
  std::printf("\n");
  if (o.showIds) {
    std::printf("ids:");
    for (int64_t id : generated)
      std::printf(" %lld", static_cast<long long>(id));
    std::printf("\n");
  }
  std::fflush(stdout);
  size_t steps = generated.empty() ? 0 : generated.size() - 1;
  printPipelineStats(model);
  if (firstRunMs >= 0)
    std::fprintf(stderr,
                 "first run: %.2f ms (prefill + one decode step, untimed "
                 "below: includes the driver's first-use shader compiles)\n",
                 firstRunMs);
  std::fprintf(stderr,
               "prefill: %zu tokens in %.2f ms (%.1f tokens/s); decode: %zu "
               "tokens in %.2f ms (%.1f tokens/s)%s\n",
               prefillTokens, 1e3 * seconds(t0, t1),
               prefillTokens / std::max(1e-9, seconds(t0, t1)), steps,
               1e3 * seconds(t1, t2), steps / std::max(1e-9, seconds(t1, t2)),
               stoppedAtEos ? "; stopped at <eos>" : "");

  if (o.attentionDir.empty())
    return 0;
  if (std::string error; !makeDirs(o.attentionDir, error))
    return fail(error);
  int written = 0;
  if (!encdec) {
    Session s = model.session(TFMC_ENTRY_FORWARD_ATTENTION);
    bindTokens(model, s, TFMC_ENTRY_FORWARD_ATTENTION, TFMC_IO_INPUT_IDS,
               target);
    s.run();
    std::vector<std::string> lab = labels(tok, target);
    if (int rc = dumpMaps(
            s, o.attentionDir, "attention", "self-attention",
            countOutputs(model, TFMC_ENTRY_FORWARD_ATTENTION, "attention"), lab,
            lab, written))
      return rc;
  } else {
    Session enc = model.session(TFMC_ENTRY_ENCODE);
    bindTokens(model, enc, TFMC_ENTRY_ENCODE, TFMC_IO_INPUT_IDS, prompt);
    enc.run();
    tfmc_tensor_view memory = enc.output(TFMC_IO_ENCODER_HIDDEN_STATES);
    Session s = model.session(TFMC_ENTRY_DECODE_ATTENTION);
    bindTokens(model, s, TFMC_ENTRY_DECODE_ATTENTION, TFMC_IO_DECODER_INPUT_IDS,
               target);
    s.setInput(TFMC_IO_ENCODER_HIDDEN_STATES, memory.dtype,
               std::vector<int64_t>(memory.shape, memory.shape + memory.rank),
               memory.data);
    for (const tfmc_tensor_spec &spec :
         model.inputs(TFMC_ENTRY_DECODE_ATTENTION))
      if (std::string(spec.name) == TFMC_IO_ATTENTION_MASK)
        s.setInput(TFMC_IO_ATTENTION_MASK, {1, int64_t(prompt.size())},
                   std::vector<int64_t>(prompt.size(), 1));
    s.run();
    std::vector<std::string> tl = labels(tok, target), sl = labels(tok, prompt);
    size_t layers =
        countOutputs(model, TFMC_ENTRY_DECODE_ATTENTION, "self_attention");
    if (int rc = dumpMaps(s, o.attentionDir, "self_attention",
                          "decoder self-attention", layers, tl, tl, written))
      return rc;
    if (int rc = dumpMaps(s, o.attentionDir, "cross_attention",
                          "cross-attention", layers, tl, sl, written))
      return rc;
  }
  std::fprintf(stderr, "wrote %d attention maps to %s\n", written,
               o.attentionDir.c_str());
  return 0;
}

int tfmc::embed(Model &model, const TextOptions &o) {
  if (model.family() != TFMC_FAMILY_ENCODER)
    return fail("--text computes sentence embeddings with an encoder; this "
                "is a " +
                model.family() + " (use --prompt)");
  if (!o.attentionDir.empty() && !hasEntry(model, TFMC_ENTRY_FORWARD_ATTENTION))
    return fail(needAttentionEntry(TFMC_ENTRY_FORWARD_ATTENTION));
  const tfmc_tokenizer *tok = tokenizerOf(model);
  int64_t maxLen = model.metadata("max_seq_len");
  Session session = model.session(TFMC_ENTRY_FORWARD);
  if (o.threads)
    session.setNumThreads(o.threads);
  std::vector<std::vector<float>> embeddings;
  std::vector<std::vector<int64_t>> allIds;
  for (size_t i = 0; i < o.texts.size(); ++i) {
    std::vector<int64_t> ids = encode(tok, o.texts[i], TFMC_ENCODE_FRAMED);
    if (maxLen > 0 && static_cast<int64_t>(ids.size()) > maxLen)
      return fail("--text " + std::to_string(i + 1) + " has " +
                  std::to_string(ids.size()) +
                  " tokens; the model takes at most " + std::to_string(maxLen));
    bindTokens(model, session, TFMC_ENTRY_FORWARD, TFMC_IO_INPUT_IDS, ids);
    session.run();
    tfmc_tensor_view h = session.output(TFMC_IO_LAST_HIDDEN_STATE);
    int64_t n = h.shape[1], d = h.shape[2];
    // Mean pooling over the tokens (all attended), then L2 normalisation,
    // as sentence-transformers' Pooling and Normalize modules do.
    std::vector<double> sum(d, 0.0);
    const float *x = static_cast<const float *>(h.data);
    for (int64_t t = 0; t < n; ++t)
      for (int64_t k = 0; k < d; ++k)
        sum[k] += x[t * d + k];
    std::vector<float> e(d);
    double norm = 0;
    for (int64_t k = 0; k < d; ++k) {
      e[k] = static_cast<float>(sum[k] / n);
      norm += double(e[k]) * e[k];
    }
    norm = std::sqrt(norm);
    if (o.normalize && norm > 0)
      for (float &v : e)
        v = static_cast<float>(v / std::max(norm, 1e-12));
    std::printf("text %zu (%lld tokens): embedding [%lld]:", i + 1,
                static_cast<long long>(n), static_cast<long long>(d));
    for (int64_t k = 0; k < std::min<int64_t>(d, 6); ++k)
      std::printf(" %.6f", e[k]);
    std::printf(" ...\n");
    embeddings.push_back(std::move(e));
    allIds.push_back(std::move(ids));
  }
  if (embeddings.size() >= 2) {
    std::printf("cosine similarity:\n");
    for (size_t a = 0; a < embeddings.size(); ++a) {
      std::printf("  %zu:", a + 1);
      for (size_t b = 0; b < embeddings.size(); ++b) {
        double dot = 0, na = 0, nb = 0;
        for (size_t k = 0; k < embeddings[a].size(); ++k) {
          dot += double(embeddings[a][k]) * embeddings[b][k];
          na += double(embeddings[a][k]) * embeddings[a][k];
          nb += double(embeddings[b][k]) * embeddings[b][k];
        }
        std::printf(" %.4f", dot / std::max(1e-24, std::sqrt(na * nb)));
      }
      std::printf("\n");
    }
  }
  if (!o.outputDir.empty()) {
    if (std::string error; !makeDirs(o.outputDir, error))
      return fail(error);
    std::vector<float> flat;
    for (auto &e : embeddings)
      flat.insert(flat.end(), e.begin(), e.end());
    std::string error;
    if (!writeNpy(o.outputDir + "/embeddings.npy", TFMC_DTYPE_FLOAT32,
                  {static_cast<int64_t>(embeddings.size()),
                   static_cast<int64_t>(embeddings[0].size())},
                  flat.data(), flat.size() * sizeof(float), error))
      return fail(error);
  }
  if (o.attentionDir.empty())
    return 0;
  if (std::string error; !makeDirs(o.attentionDir, error))
    return fail(error);
  int written = 0;
  Session s = model.session(TFMC_ENTRY_FORWARD_ATTENTION);
  size_t layers =
      countOutputs(model, TFMC_ENTRY_FORWARD_ATTENTION, "attention");
  for (size_t i = 0; i < allIds.size(); ++i) {
    bindTokens(model, s, TFMC_ENTRY_FORWARD_ATTENTION, TFMC_IO_INPUT_IDS,
               allIds[i]);
    s.run();
    std::vector<std::string> lab = labels(tok, allIds[i]);
    std::string dir = o.attentionDir + "/text" + std::to_string(i + 1);
    if (std::string error; !makeDirs(dir, error))
      return fail(error);
    if (int rc = dumpMaps(s, dir, "attention", "self-attention", layers, lab,
                          lab, written))
      return rc;
  }
  std::fprintf(stderr, "wrote %d attention maps to %s\n", written,
               o.attentionDir.c_str());
  return 0;
}
