//===- Generator.cpp - autoregressive generation over a KV cache ----------===//
//
// Part of tfmc. A generator owns the KV cache of one sequence and the
// sessions that update it: `prefill` (any number of tokens) and `decode`
// (one token) for decoders, `encode` and `decode_step` for
// encoder-decoders. Every call appends tokens at `past_length` and leaves
// the logits of the next token.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"
#include "tfmc/abi.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace tfmc::rt;

struct tfmc_generator {
  tfmc_model *model = nullptr;
  bool encoderDecoder = false;
  tfmc_session *prefill = nullptr; // decoder only (null for enc-dec)
  tfmc_session *step = nullptr;    // decode / decode_step
  tfmc_session *encode = nullptr;  // encoder-decoder only
  tfmc_session *crossKV = nullptr; // its cross-attention K/V, once per source
  int64_t length = 0, capacity = 0, vocab = 0;
  bool encoded = false;
  const float *logits = nullptr;
  int32_t threads = 0;

  ~tfmc_generator() {
    tfmc_session_destroy(prefill);
    tfmc_session_destroy(step);
    tfmc_session_destroy(encode);
    tfmc_session_destroy(crossKV);
  }
};

static tfmc_status makeSession(tfmc_model *model, const char *entry,
                               tfmc_session **out) {
  if (!model->entry(entry))
    return fail(TFMC_ERROR_NOT_FOUND,
                std::string("the model has no '") + entry +
                    "' entry point; generation needs a decoder or "
                    "encoder-decoder compiled by this tfmc");
  return tfmc_session_create(model, entry, out);
}

extern "C" tfmc_status tfmc_generator_create(tfmc_model *model,
                                             tfmc_generator **out) {
  if (!model || !out)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "tfmc_generator_create: null");
  *out = nullptr;
  auto g = std::make_unique<tfmc_generator>();
  g->model = model;
  g->encoderDecoder = model->manifest.family == TFMC_FAMILY_ENCODER_DECODER;
  if (g->encoderDecoder) {
    if (tfmc_status s = makeSession(model, TFMC_ENTRY_ENCODE, &g->encode))
      return s;
    if (tfmc_status s = makeSession(model, TFMC_ENTRY_DECODE_STEP, &g->step))
      return s;
    if (model->entry(TFMC_ENTRY_CROSS_KV))
      if (tfmc_status s = makeSession(model, TFMC_ENTRY_CROSS_KV, &g->crossKV))
        return s;
  } else {
    if (tfmc_status s = makeSession(model, TFMC_ENTRY_PREFILL, &g->prefill))
      return s;
    if (tfmc_status s = makeSession(model, TFMC_ENTRY_DECODE, &g->step))
      return s;
    if (tfmc_status s = tfmc_session_share_state(g->step, g->prefill))
      return s;
  }
  for (const TensorSpec &t : g->step->entry->inputs)
    if (t.state && t.shape.size() >= 2)
      g->capacity = t.shape[1];
  const TensorSpec &logits = g->step->entry->outputs.at(0);
  g->vocab = logits.shape.back();
  if (g->capacity == 0 || logits.name != TFMC_IO_LOGITS)
    return fail(TFMC_ERROR_FORMAT, "entry '" + g->step->entry->name +
                                       "' is not a KV-cache decoding step");
  *out = g.release();
  return TFMC_OK;
}

extern "C" void tfmc_generator_destroy(tfmc_generator *g) { delete g; }

extern "C" tfmc_status tfmc_generator_set_num_threads(tfmc_generator *g,
                                                      int32_t threads) {
  if (!g)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "null generator");
  for (tfmc_session *s : {g->prefill, g->step, g->encode, g->crossKV})
    if (s)
      tfmc_session_set_num_threads(s, threads);
  return TFMC_OK;
}

extern "C" size_t tfmc_generator_length(const tfmc_generator *g) {
  return g ? static_cast<size_t>(g->length) : 0;
}

extern "C" size_t tfmc_generator_capacity(const tfmc_generator *g) {
  return g ? static_cast<size_t>(g->capacity) : 0;
}

extern "C" tfmc_status tfmc_generator_reset(tfmc_generator *g) {
  if (!g)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "null generator");
  g->length = 0;
  g->logits = nullptr;
  return TFMC_OK;
}

/// Sets a [1, n] int64 input.
static tfmc_status setIds(tfmc_session *s, const char *name, const int64_t *ids,
                          size_t n) {
  int64_t shape[2] = {1, static_cast<int64_t>(n)};
  return tfmc_session_set_input(s, name, TFMC_DTYPE_INT64, 2, shape, ids);
}

extern "C" tfmc_status tfmc_generator_encode(tfmc_generator *g,
                                             const int64_t *ids, size_t n) {
  if (!g || (n && !ids))
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "tfmc_generator_encode: null");
  if (!g->encoderDecoder)
    return fail(TFMC_ERROR_STATE, "this model has no encoder: start "
                                  "generation with the prompt instead");
  if (n == 0)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "the source sequence is empty");
  const EntrySpec &e = *g->encode->entry;
  std::vector<int64_t> ones(n, 1);
  if (tfmc_status s = setIds(g->encode, TFMC_IO_INPUT_IDS, ids, n))
    return s;
  bool masked =
      std::any_of(e.inputs.begin(), e.inputs.end(), [](const TensorSpec &t) {
        return t.name == TFMC_IO_ATTENTION_MASK;
      });
  if (masked)
    if (tfmc_status s =
            setIds(g->encode, TFMC_IO_ATTENTION_MASK, ones.data(), n))
      return s;
  if (tfmc_status s = tfmc_session_run(g->encode))
    return s;
  tfmc_tensor_view h;
  if (tfmc_status s =
          tfmc_session_get_output(g->encode, TFMC_IO_ENCODER_HIDDEN_STATES, &h))
    return s;
  if (g->crossKV) {
    // Every layer's cross-attention keys and values, once per source: the
    // steps read them instead of projecting the encoder states again.
    if (tfmc_status s =
            tfmc_session_set_input(g->crossKV, TFMC_IO_ENCODER_HIDDEN_STATES,
                                   h.dtype, h.rank, h.shape, h.data))
      return s;
    if (tfmc_status s = tfmc_session_run(g->crossKV))
      return s;
    for (const TensorSpec &t : g->crossKV->entry->outputs) {
      tfmc_tensor_view kv;
      if (tfmc_status s =
              tfmc_session_get_output(g->crossKV, t.name.c_str(), &kv))
        return s;
      if (tfmc_status s = tfmc_session_set_input(
              g->step, t.name.c_str(), kv.dtype, kv.rank, kv.shape, kv.data))
        return s;
    }
  } else if (tfmc_status s =
                 tfmc_session_set_input(g->step, TFMC_IO_ENCODER_HIDDEN_STATES,
                                        h.dtype, h.rank, h.shape, h.data)) {
    return s;
  }
  if (masked)
    if (tfmc_status s = setIds(g->step, TFMC_IO_ATTENTION_MASK, ones.data(), n))
      return s;
  g->encoded = true;
  g->length = 0;
  g->logits = nullptr;
  return TFMC_OK;
}

/// Runs one entry on `n` new tokens at the current length.
static tfmc_status runStep(tfmc_generator *g, tfmc_session *s,
                           const char *idsName, const int64_t *ids, size_t n) {
  if (tfmc_status st = setIds(s, idsName, ids, n))
    return st;
  int64_t past = g->length;
  if (tfmc_status st = tfmc_session_set_input(
          s, TFMC_IO_PAST_LENGTH, TFMC_DTYPE_INT64, 0, nullptr, &past))
    return st;
  if (tfmc_status st = tfmc_session_run(s))
    return st;
  tfmc_tensor_view v;
  if (tfmc_status st = tfmc_session_get_output(s, TFMC_IO_LOGITS, &v))
    return st;
  g->length += static_cast<int64_t>(n);
  g->logits = static_cast<const float *>(v.data);
  return TFMC_OK;
}

extern "C" tfmc_status tfmc_generator_append(tfmc_generator *g,
                                             const int64_t *ids, size_t n) {
  if (!g || (n && !ids))
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "tfmc_generator_append: null");
  if (n == 0)
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                "nothing to append: the prompt is empty");
  if (g->encoderDecoder && !g->encoded)
    return fail(TFMC_ERROR_STATE, "encode a source sequence before decoding");
  if (g->length + static_cast<int64_t>(n) > g->capacity)
    return fail(TFMC_ERROR_RANGE,
                std::to_string(g->length) + " cached + " + std::to_string(n) +
                    " new tokens exceed the model's maximum sequence length " +
                    std::to_string(g->capacity));
  // Validate every id up front: a failure appends nothing.
  int64_t bound = 0;
  for (const TensorSpec &t : g->step->entry->inputs)
    if (t.idBound > 0)
      bound = t.idBound;
  for (size_t i = 0; i < n; ++i)
    if (ids[i] < 0 || (bound && ids[i] >= bound))
      return fail(TFMC_ERROR_RANGE,
                  "token " + std::to_string(i) + " = " +
                      std::to_string(ids[i]) +
                      " is out of range: ids must lie in [0, " +
                      std::to_string(bound) + ") (the vocabulary size)");
  const char *idsName =
      g->encoderDecoder ? TFMC_IO_DECODER_INPUT_IDS : TFMC_IO_INPUT_IDS;
  if (n > 1 && g->prefill)
    return runStep(g, g->prefill, idsName, ids, n);
  for (size_t i = 0; i < n; ++i)
    if (tfmc_status s = runStep(g, g->step, idsName, ids + i, 1))
      return s;
  return TFMC_OK;
}

extern "C" tfmc_status tfmc_generator_logits(const tfmc_generator *g,
                                             const float **logits,
                                             size_t *vocab) {
  if (!g || !logits)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "tfmc_generator_logits: null");
  if (!g->logits)
    return fail(TFMC_ERROR_STATE, "no logits yet: append tokens first");
  *logits = g->logits;
  if (vocab)
    *vocab = static_cast<size_t>(g->vocab);
  return TFMC_OK;
}

//===----------------------------------------------------------------------===//
// Sampling
//===----------------------------------------------------------------------===//

/// splitmix64: a small, well-mixed generator whose whole state is one
/// integer the caller keeps, so runs with a seed repeat exactly.
static uint64_t nextRandom(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

extern "C" tfmc_status tfmc_sample(const float *logits, size_t vocab,
                                   const tfmc_sampling *params,
                                   uint64_t *rngState, int64_t *token) {
  if (!logits || !vocab || !params || !token)
    return fail(TFMC_ERROR_INVALID_ARGUMENT, "tfmc_sample: null argument");
  if (!(params->temperature >= 0.0f) || params->top_k < 0 ||
      !(params->top_p > 0.0f && params->top_p <= 1.0f))
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                "sampling needs temperature >= 0, top_k >= 0 and top_p in "
                "(0, 1]");
  // Greedy: the first maximum.
  if (params->temperature == 0.0f) {
    *token = std::max_element(logits, logits + vocab) - logits;
    return TFMC_OK;
  }
  if (!rngState)
    return fail(TFMC_ERROR_INVALID_ARGUMENT,
                "tfmc_sample: sampling needs a random state");
  // Candidates by decreasing logit (ties: lower id first), cut to top-k.
  std::vector<int64_t> order(vocab);
  std::iota(order.begin(), order.end(), 0);
  size_t k = params->top_k > 0 ? std::min<size_t>(params->top_k, vocab) : vocab;
  auto before = [&](int64_t a, int64_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
  order.resize(k);
  // Softmax of logits / T in double precision.
  std::vector<double> p(k);
  double top = logits[order[0]] / double(params->temperature), sum = 0;
  for (size_t i = 0; i < k; ++i)
    sum += p[i] =
        std::exp(logits[order[i]] / double(params->temperature) - top);
  // Top-p: the smallest prefix whose probability reaches p.
  double mass = 0;
  size_t keep = k;
  for (size_t i = 0; i < k; ++i) {
    mass += p[i] / sum;
    if (mass >= params->top_p) {
      keep = i + 1;
      break;
    }
  }
  double total = std::accumulate(p.begin(), p.begin() + keep, 0.0);
  double u = (nextRandom(*rngState) >> 11) * 0x1.0p-53 * total;
  for (size_t i = 0; i < keep; ++i) {
    if (u < p[i] || i + 1 == keep) {
      *token = order[i];
      return TFMC_OK;
    }
    u -= p[i];
  }
  *token = order[0];
  return TFMC_OK;
}
