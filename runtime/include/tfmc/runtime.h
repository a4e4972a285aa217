/*===- runtime.h - the tfmc runtime C API ----------------------------------===*
 *
 * Part of tfmc. Opens an artifact directory written by `tfmc -o DIR`
 * (manifest.json, model.so, weights.bin), checks it, and runs its entry
 * points. No MLIR or LLVM at run time; no exceptions cross this API.
 *
 * Every function that can fail returns a tfmc_status; the message of the
 * last failure on the calling thread is tfmc_last_error(). A model may be
 * shared by threads; a session belongs to one thread at a time.
 *
 *   tfmc_model *m;
 *   if (tfmc_model_open("out", &m) != TFMC_OK) { puts(tfmc_last_error()); }
 *   tfmc_session *s;
 *   tfmc_session_create(m, "forward", &s);
 *   int64_t shape[2] = {1, 3}, ids[3] = {5, 6, 7};
 *   tfmc_session_set_input(s, "input_ids", TFMC_DTYPE_INT64, 2, shape, ids);
 *   tfmc_session_run(s);
 *   tfmc_tensor_view logits;
 *   tfmc_session_get_output(s, "logits", &logits);
 *   tfmc_session_destroy(s);
 *   tfmc_model_close(m);
 *
 *===----------------------------------------------------------------------===*/

#ifndef TFMC_RUNTIME_H
#define TFMC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The artifact format version this runtime reads. */
#define TFMC_ARTIFACT_VERSION 2
/* The largest tensor rank an artifact may use. */
#define TFMC_MAX_RANK 8

typedef enum tfmc_status {
  TFMC_OK = 0,
  TFMC_ERROR_IO = 1,        /* a file could not be opened, read or mapped */
  TFMC_ERROR_FORMAT = 2,    /* malformed, truncated or inconsistent artifact */
  TFMC_ERROR_VERSION = 3,   /* artifact format version not supported */
  TFMC_ERROR_CHECKSUM = 4,  /* weights.bin does not match the manifest */
  TFMC_ERROR_CPU = 5,       /* this CPU lacks a feature the code needs */
  TFMC_ERROR_NOT_FOUND = 6, /* no entry point or tensor of that name */
  TFMC_ERROR_SHAPE = 7,     /* an input's shape does not match its spec */
  TFMC_ERROR_DTYPE = 8,     /* an input's dtype does not match its spec */
  TFMC_ERROR_RANGE = 9,     /* a token id outside [0, vocabulary size) */
  TFMC_ERROR_MISSING_INPUT = 10,    /* run() before every input was set */
  TFMC_ERROR_INVALID_ARGUMENT = 11, /* null pointer, bad index or count */
  TFMC_ERROR_OUT_OF_MEMORY = 12,
  TFMC_ERROR_STATE = 13, /* an output read before a successful run */
  TFMC_ERROR_DEVICE = 14 /* no usable Vulkan device, or it was lost */
} tfmc_status;

typedef enum tfmc_dtype {
  TFMC_DTYPE_FLOAT32 = 0,
  TFMC_DTYPE_INT64 = 1,
  TFMC_DTYPE_INT32 = 2,
  TFMC_DTYPE_FLOAT16 = 3,
  TFMC_DTYPE_BFLOAT16 = 4, /* the upper 16 bits of an IEEE float32 */
  TFMC_DTYPE_INT8 = 5,
  TFMC_DTYPE_BOOL = 6 /* one byte, 0 or 1 */
} tfmc_dtype;

/* A tensor an entry point takes or returns. A dimension chosen at run time
 * is -1 in `shape`, has a name in `dim_names` (equal names, equal sizes:
 * "seq" in input_ids and attention_mask) and its largest value in
 * `max_shape`. */
typedef struct tfmc_tensor_spec {
  const char *name; /* Hugging Face names: input_ids, attention_mask, ... */
  tfmc_dtype dtype;
  int32_t rank;
  int64_t shape[TFMC_MAX_RANK];
  int64_t max_shape[TFMC_MAX_RANK];
  const char *dim_names[TFMC_MAX_RANK]; /* "" for static dimensions */
  int64_t id_bound; /* > 0: every element must lie in [0, id_bound) */
  int32_t state;    /* 1: a KV cache the session owns, not set by callers */
} tfmc_tensor_spec;

/* An output after a run: valid until the next run or the session's end. */
typedef struct tfmc_tensor_view {
  const char *name;
  tfmc_dtype dtype;
  int32_t rank;
  int64_t shape[TFMC_MAX_RANK];
  const void *data; /* C order, 64-byte aligned */
  size_t bytes;
} tfmc_tensor_view;

typedef struct tfmc_model tfmc_model;
typedef struct tfmc_session tfmc_session;

/* The message of the last failing call on this thread ("" if none). */
const char *tfmc_last_error(void);
const char *tfmc_status_name(tfmc_status status);
const char *tfmc_dtype_name(tfmc_dtype dtype);
size_t tfmc_dtype_size(tfmc_dtype dtype);

/* Opens an artifact directory: reads and validates manifest.json, checks
 * the CPU features it needs, maps weights.bin read-only and verifies its
 * size and checksum, loads model.so and resolves every entry point. */
tfmc_status tfmc_model_open(const char *directory, tfmc_model **model);
/* Opens the model embedded in the running executable (`tfmc --emit=exe`):
 * TFMC_ERROR_NOT_FOUND when it carries none. */
tfmc_status tfmc_model_open_embedded(tfmc_model **model);
/* Releases a model (null is ignored). Its sessions must be destroyed first. */
void tfmc_model_close(tfmc_model *model);

/* "encoder", "decoder", "encoder-decoder" or "" when unknown. */
const char *tfmc_model_family(const tfmc_model *model);
/* Special token ids by name ("bos", "eos", "pad"); -1 when the model has
 * none. Also "max_seq_len" (-1 when unbounded). */
int64_t tfmc_model_metadata_int(const tfmc_model *model, const char *key);
/* The target CPU name the code was compiled for. */
const char *tfmc_model_target_cpu(const tfmc_model *model);

size_t tfmc_model_num_entries(const tfmc_model *model);
/* Null when index is out of range. */
const char *tfmc_model_entry_name(const tfmc_model *model, size_t index);
tfmc_status tfmc_model_entry_signature(const tfmc_model *model,
                                       const char *entry, size_t *num_inputs,
                                       size_t *num_outputs);
tfmc_status tfmc_model_entry_input(const tfmc_model *model, const char *entry,
                                   size_t index, tfmc_tensor_spec *spec);
tfmc_status tfmc_model_entry_output(const tfmc_model *model, const char *entry,
                                    size_t index, tfmc_tensor_spec *spec);

/* A session owns the inputs, outputs and scratch memory of one entry. */
tfmc_status tfmc_session_create(tfmc_model *model, const char *entry,
                                tfmc_session **session);
void tfmc_session_destroy(tfmc_session *session);

/* Makes `dst` use the state buffers (KV caches) of `src` that have the same
 * names: the sessions of a model's `prefill` and `decode` entries then work
 * on one cache. */
tfmc_status tfmc_session_share_state(tfmc_session *dst,
                                     const tfmc_session *src);

/* Copies an input in, after checking its shape (named dimensions within
 * their bounds), dtype and (for token ids) values. int32 data is accepted
 * for int64 inputs and widened. On failure the input keeps its previous
 * value. Entries with a KV cache take "past_length", the number of cached
 * tokens; run() checks that the new tokens fit after them. */
tfmc_status tfmc_session_set_input(tfmc_session *session, const char *name,
                                   tfmc_dtype dtype, int32_t rank,
                                   const int64_t *shape, const void *data);
/* As tfmc_session_set_input, without the copy: the runs read the input
 * from `data` in place (a Vulkan artifact uploads it from there), so it
 * must stay valid and unchanged until the input is set or bound again or
 * the session ends. `dtype` must be the input's own (no int32 widening) and
 * `data` aligned to its element size. */
tfmc_status tfmc_session_bind_input(tfmc_session *session, const char *name,
                                    tfmc_dtype dtype, int32_t rank,
                                    const int64_t *shape, const void *data);
/* Makes the next runs write output `name` into `data` instead of the
 * session's own buffer (no copy; null returns to that buffer). `capacity`
 * must hold the output at its largest shape (max_shape), `data` be aligned
 * to its element size and stay valid while bound. tfmc_session_get_output
 * then views `data`; until the next run it reports TFMC_ERROR_STATE. */
tfmc_status tfmc_session_bind_output(tfmc_session *session, const char *name,
                                     void *data, size_t capacity);
/* Threads the next runs use (<= 0: the OpenMP default, one per core). */
tfmc_status tfmc_session_set_num_threads(tfmc_session *session,
                                         int32_t threads);
/* Runs the entry; fails (running nothing) if an input was never set. */
tfmc_status tfmc_session_run(tfmc_session *session);
tfmc_status tfmc_session_get_output(const tfmc_session *session,
                                    const char *name, tfmc_tensor_view *view);

/* Per-kernel GPU times of a Vulkan artifact's runs (timestamp queries).
 * Enable before running; then tfmc_session_profile fills up to `capacity`
 * entries (one per dispatch of the last run, in order) and returns how many
 * the last run had. CPU artifacts record nothing (returns 0). */
typedef struct tfmc_profile_entry {
  const char *kernel;  /* the kernel's name, e.g. "linear_3" */
  double microseconds; /* GPU time of the dispatch */
} tfmc_profile_entry;
tfmc_status tfmc_session_enable_profiling(tfmc_session *session, int enable);
size_t tfmc_session_profile(const tfmc_session *session,
                            tfmc_profile_entry *entries, size_t capacity);
/* The device a model runs on: "cpu" or the Vulkan device's name. */
const char *tfmc_model_device(const tfmc_model *model);

/* How a Vulkan artifact's pipelines were created when it was opened:
 * from the SPIR-V through a pipeline cache persisted per device, driver and
 * kernels file (in $XDG_CACHE_HOME/tfmc/vulkan or ~/.cache/tfmc/vulkan;
 * $TFMC_VULKAN_PIPELINE_CACHE names another directory, or "0" for none).
 * Drivers that compile shaders at their first dispatch rather than at
 * pipeline creation (Mesa's lavapipe) spend that time in the first run of
 * each entry instead. A CPU artifact reports zeros. */
typedef enum tfmc_pipeline_cache {
  TFMC_PIPELINE_CACHE_OFF = 0,  /* no cache directory, or turned off */
  TFMC_PIPELINE_CACHE_HIT = 1,  /* read a cache for this device and kernels */
  TFMC_PIPELINE_CACHE_MISS = 2, /* none yet: built from SPIR-V */
} tfmc_pipeline_cache;
typedef struct tfmc_pipeline_stats {
  size_t pipelines; /* one per kernel */
  double create_ms; /* vkCreateComputePipelines, all of them */
  tfmc_pipeline_cache cache;
  int cache_written;      /* the cache file was (re)written at open */
  const char *cache_path; /* "" when off; valid while the model is open */
} tfmc_pipeline_stats;
tfmc_status tfmc_model_pipeline_stats(const tfmc_model *model,
                                      tfmc_pipeline_stats *stats);

/* How an image becomes a vision model's pixel_values, as the Hugging Face
 * folder's preprocessor_config.json says (ViTImageProcessor): resized to
 * height x width with PIL's bilinear filter (when `resize`), each 8-bit
 * value multiplied by `rescale` (0: not), then (x - mean[c]) / std[c]; the
 * result in channel-first order. The arrays are valid while the model is
 * open. */
typedef struct tfmc_image_preprocessing {
  int64_t channels, height, width;
  int resize;
  double rescale;
  const double *mean, *std; /* `channels` each */
} tfmc_image_preprocessing;
/* TFMC_ERROR_NOT_FOUND when the artifact has no image preprocessing. */
tfmc_status tfmc_model_image_preprocessing(const tfmc_model *model,
                                           tfmc_image_preprocessing *out);
/* The name of class `index` of a classifier (config.json's id2label);
 * null when the model names none. */
const char *tfmc_model_label(const tfmc_model *model, size_t index);

/*===----------------------------------------------------------------------===
 * Generation: a KV cache and the entries that extend it
 *===----------------------------------------------------------------------===*/

typedef struct tfmc_generator tfmc_generator;

/* A generator for a decoder (entries prefill/decode) or an encoder-decoder
 * (encode/decode_step), with its own KV cache of max_seq_len positions. */
tfmc_status tfmc_generator_create(tfmc_model *model, tfmc_generator **gen);
void tfmc_generator_destroy(tfmc_generator *gen);
tfmc_status tfmc_generator_set_num_threads(tfmc_generator *gen,
                                           int32_t threads);
/* Encoder-decoder: encodes the source (once); decoding restarts. */
tfmc_status tfmc_generator_encode(tfmc_generator *gen, const int64_t *ids,
                                  size_t n);
/* Appends tokens to the sequence (a prompt at once, or one sampled token)
 * and computes the logits of the next one. Fails, appending nothing, when
 * an id is out of range or the tokens do not fit the cache. */
tfmc_status tfmc_generator_append(tfmc_generator *gen, const int64_t *ids,
                                  size_t n);
/* The next-token logits of the last append: `vocab` floats, valid until the
 * next append. */
tfmc_status tfmc_generator_logits(const tfmc_generator *gen,
                                  const float **logits, size_t *vocab);
/* Tokens in the cache, and how many fit. */
size_t tfmc_generator_length(const tfmc_generator *gen);
size_t tfmc_generator_capacity(const tfmc_generator *gen);
/* Empties the cache (an encoder-decoder keeps its encoded source). */
tfmc_status tfmc_generator_reset(tfmc_generator *gen);

/* How the next token is chosen: temperature 0 is greedy (the first
 * maximum); otherwise logits / temperature are restricted to the top_k
 * largest (0: all), then to the smallest set whose probability reaches
 * top_p, and sampled. */
typedef struct tfmc_sampling {
  float temperature;
  int32_t top_k;
  float top_p;
} tfmc_sampling;

/* Picks a token. `rng_state` (seed it once, e.g. with a user's --seed) is
 * advanced by each random draw, so a seed reproduces a whole generation. */
tfmc_status tfmc_sample(const float *logits, size_t vocab,
                        const tfmc_sampling *params, uint64_t *rng_state,
                        int64_t *token);

/*===----------------------------------------------------------------------===
 * Tokenizers: character-level, GPT-2 byte-level BPE, BERT WordPiece,
 * Hugging Face tokenizer.json (BPE)
 *===----------------------------------------------------------------------===*/

typedef struct tfmc_tokenizer tfmc_tokenizer;

/* The tokenizer compiled into the model's artifact (owned by the model);
 * TFMC_ERROR_NOT_FOUND when it has none. */
tfmc_status tfmc_model_tokenizer(tfmc_model *model,
                                 const tfmc_tokenizer **tokenizer);
/* A tokenizer from files in `directory`: kind "byte_bpe" reads vocab.json
 * and merges.txt, "wordpiece" vocab.txt (`lowercase` also strips accents,
 * as BERT uncased does), "char" chars.json, "tokenizer_json"
 * tokenizer.json. */
tfmc_status tfmc_tokenizer_open(const char *kind, const char *directory,
                                int lowercase, tfmc_tokenizer **tokenizer);
void tfmc_tokenizer_destroy(tfmc_tokenizer *tokenizer);
/* How tfmc_tokenizer_encode frames the text. */
#define TFMC_ENCODE_PLAIN 0
/* The tokenizer's framing tokens: BERT's [CLS] ... [SEP], the
 * post-processor's of tokenizer.json (Llama: <s> ...). */
#define TFMC_ENCODE_FRAMED 1
/* What a prompt for a decoder to continue gets: the leading framing tokens
 * of tokenizer.json's post-processor (Llama's <s>), as Hugging Face's
 * tokenizer(prompt) adds them; nothing for the other kinds. */
#define TFMC_ENCODE_PROMPT 2
/* What the source text of an encoder-decoder gets: all of tokenizer.json's
 * post-processor framing (T5's trailing </s>), as Hugging Face's
 * tokenizer(text) adds it; nothing for the other kinds. */
#define TFMC_ENCODE_SOURCE 3
/* UTF-8 text to ids (*ids is allocated; release it with tfmc_free);
 * add_special is one of TFMC_ENCODE_*. */
tfmc_status tfmc_tokenizer_encode(const tfmc_tokenizer *tokenizer,
                                  const char *text, size_t length,
                                  int add_special, int64_t **ids,
                                  size_t *count);
/* Ids to UTF-8 (*text is allocated and NUL-terminated; tfmc_free). One
 * byte-level BPE token may end inside a character. */
tfmc_status tfmc_tokenizer_decode(const tfmc_tokenizer *tokenizer,
                                  const int64_t *ids, size_t count,
                                  int skip_special, char **text,
                                  size_t *length);
/* How many of the leading `count` ids decode to text that ids appended
 * later cannot change (a run of <0xXX> byte-fallback tokens at the end
 * may still join into one character): what a streaming caller can show. */
size_t tfmc_tokenizer_stable_prefix(const tfmc_tokenizer *tokenizer,
                                    const int64_t *ids, size_t count);
/* The text of a generation as it streams: created with the context (a
 * decoder's prompt, an encoder-decoder's <bos>), then given each generated
 * id, it returns the text that id completed -- decoding the whole sequence
 * (SentencePiece-style decoders join across tokens) and holding back what a
 * later id may still change: trailing byte-fallback tokens, an incomplete
 * UTF-8 character. `final` returns everything left. Special tokens are
 * skipped. The tokenizer must outlive the stream. */
typedef struct tfmc_text_stream tfmc_text_stream;
tfmc_status tfmc_text_stream_create(const tfmc_tokenizer *tokenizer,
                                    const int64_t *context, size_t count,
                                    tfmc_text_stream **stream);
/* Appends `count` ids; *text (NUL-terminated, tfmc_free) is the new text. */
tfmc_status tfmc_text_stream_push(tfmc_text_stream *stream,
                                  const int64_t *ids, size_t count, int final,
                                  char **text, size_t *length);
void tfmc_text_stream_destroy(tfmc_text_stream *stream);
/* Special token ids by role: "bos", "eos", "pad", "unk", "cls", "sep"; -1
 * when the vocabulary has none. */
int64_t tfmc_tokenizer_special(const tfmc_tokenizer *tokenizer,
                               const char *role);
size_t tfmc_tokenizer_vocab_size(const tfmc_tokenizer *tokenizer);
void tfmc_free(void *p);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* TFMC_RUNTIME_H */
