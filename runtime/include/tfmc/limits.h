/*===- limits.h - the largest inputs tfmc and its runtime accept ----------===*
 *
 * Part of tfmc. One place for the bounds every reader checks (documented in
 * docs/limits.md): each file is a regular file no larger than its kind's
 * cap, JSON nests no deeper than TFMC_MAX_JSON_DEPTH, and counts a file can
 * set stay below the caps here, so a hostile or damaged input is a clear
 * error instead of exhausted memory, a blocked read or a stack overflow.
 * Header-only, C and C++; shared by the compiler and the runtime.
 *
 *===----------------------------------------------------------------------===*/

#ifndef TFMC_LIMITS_H
#define TFMC_LIMITS_H

#include <stddef.h>
#include <stdint.h>

/* Configuration and metadata: config.json, TOML model files, manifest.json,
 * model.safetensors.index.json, tokenizer_config.json, preprocessor
 * configs, chars.json, .mlir input. */
#define TFMC_MAX_CONFIG_FILE_BYTES (UINT64_C(64) << 20)
/* Tokenizer vocabularies: tokenizer.json, vocab.json, merges.txt, vocab.txt. */
#define TFMC_MAX_TOKENIZER_FILE_BYTES (UINT64_C(1) << 30)
/* Arrays and images given to tfmc-run (.npy, PNG, JPEG), and SPIR-V. */
#define TFMC_MAX_DATA_FILE_BYTES (UINT64_C(16) << 30)
/* Weight files (safetensors, weights.bin) are mapped, not read: any size a
 * regular file can have, but a safetensors header is at most 100 MiB (the
 * format's own limit). */
#define TFMC_MAX_SAFETENSORS_HEADER_BYTES (UINT64_C(100) << 20)
/* Model sizes a model file (TOML, config.json) or a flag may set: layers
 * per stack; any one dimension (d_model, d_ff, vocabulary, heads, experts,
 * sequence length, batch); the elements of any one weight tensor. */
#define TFMC_MAX_LAYERS 4096
#define TFMC_MAX_MODEL_DIM (INT64_C(1) << 24)
#define TFMC_MAX_TENSOR_ELEMENTS (INT64_C(1) << 36)
/* Worker threads of one session (tfmc_session_set_num_threads, tfmc-run
 * --threads); 0 means one per core. */
#define TFMC_MAX_THREADS 1024
/* Nesting of arrays and objects in any JSON file. */
#define TFMC_MAX_JSON_DEPTH 128

/* Whether `text` nests arrays/objects at most `max_depth` deep (strings and
 * their escapes skipped); when not, *at is the byte offset of the first
 * bracket too deep. Linear, no recursion: run before a JSON parser whose
 * values (or their error messages) recurse. */
static inline int tfmc_json_depth_ok(const char *text, size_t size,
                                     size_t max_depth, size_t *at) {
  size_t depth = 0;
  int in_string = 0;
  for (size_t i = 0; i < size; ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = 0;
    } else if (c == '"') {
      in_string = 1;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) {
        if (at)
          *at = i;
        return 0;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return 1;
}

#endif /* TFMC_LIMITS_H */
