/*===- abi.h - names shared by the compiler and the runtime ---------------===*
 *
 * Part of tfmc. The one table of the names that cross from the compiler to
 * the runtime: entry points and the tensors generation drives, tokenizer
 * kinds and their files, element type names in manifest.json, and the
 * opcodes of a Vulkan entry's scalar program. The compiler (model builder,
 * artifact writer, Vulkan planner) and the runtime (generator, manifest
 * reader, tfmc-run) include this header; neither spells these literals.
 *
 *===----------------------------------------------------------------------===*/

#ifndef TFMC_ABI_H
#define TFMC_ABI_H

#include <stddef.h>
#include <stdint.h>

/* Model families (manifest.json "model.family"). */
#define TFMC_FAMILY_ENCODER "encoder"
#define TFMC_FAMILY_DECODER "decoder"
#define TFMC_FAMILY_ENCODER_DECODER "encoder-decoder"

/* Entry points. */
#define TFMC_ENTRY_FORWARD "forward"                     /* encoder, decoder */
#define TFMC_ENTRY_FORWARD_ATTENTION "forward_attention" /* + probabilities */
#define TFMC_ENTRY_PREFILL "prefill"                     /* decoder: a prompt */
#define TFMC_ENTRY_DECODE                                                      \
  "decode" /* decoder: one token;                                              \
              encoder-decoder:                                                 \
              teacher forcing */
#define TFMC_ENTRY_DECODE_ATTENTION "decode_attention"
#define TFMC_ENTRY_ENCODE "encode"           /* encoder-decoder */
#define TFMC_ENTRY_DECODE_STEP "decode_step" /* encoder-decoder */
/* encoder-decoder: the cross-attention keys and values of an encoded
 * source, computed once and read by every decode_step. */
#define TFMC_ENTRY_CROSS_KV "cross_kv"

/* Entry tensors. */
#define TFMC_IO_INPUT_IDS "input_ids"
#define TFMC_IO_DECODER_INPUT_IDS "decoder_input_ids"
#define TFMC_IO_ATTENTION_MASK "attention_mask"
#define TFMC_IO_TOKEN_TYPE_IDS "token_type_ids"
#define TFMC_IO_PAST_LENGTH "past_length" /* tokens already in the cache */
#define TFMC_IO_ENCODER_HIDDEN_STATES "encoder_hidden_states"
#define TFMC_IO_LOGITS "logits"
#define TFMC_IO_LAST_HIDDEN_STATE "last_hidden_state"
/* State: TFMC_IO_KV_PREFIX "<layer>.key" / ".value". */
#define TFMC_IO_KV_PREFIX "past_key_values."
/* cross_kv outputs, decode_step inputs: TFMC_IO_CROSS_KV_PREFIX
 * "<layer>.key" / ".value", [1, source length, kv features]. */
#define TFMC_IO_CROSS_KV_PREFIX "cross_key_values."
/* Debug entries: "<prefix>.<layer>". */
#define TFMC_IO_ATTENTION_PREFIX "attention"
#define TFMC_IO_SELF_ATTENTION_PREFIX "self_attention"
#define TFMC_IO_CROSS_ATTENTION_PREFIX "cross_attention"

/* Named dimensions. */
#define TFMC_DIM_SEQ "seq"
#define TFMC_DIM_SRC_SEQ "src_seq"
#define TFMC_DIM_TGT_SEQ "tgt_seq"

/* Tokenizer kinds and the files each reads (NULL-terminated lists). */
#define TFMC_TOKENIZER_CHAR "char"
#define TFMC_TOKENIZER_BYTE_BPE "byte_bpe"
#define TFMC_TOKENIZER_WORDPIECE "wordpiece"
#define TFMC_TOKENIZER_HF_JSON "tokenizer_json"
#define TFMC_TOKENIZER_CHAR_FILES                                              \
  { "chars.json", 0 }
#define TFMC_TOKENIZER_BYTE_BPE_FILES                                          \
  { "vocab.json", "merges.txt", 0 }
#define TFMC_TOKENIZER_WORDPIECE_FILES                                         \
  { "vocab.txt", 0 }
#define TFMC_TOKENIZER_HF_JSON_FILES                                           \
  { "tokenizer.json", 0 }

/* Element types in manifest.json ("dtype"), in tfmc_dtype order. */
#define TFMC_DTYPE_NAMES                                                       \
  { "float32", "int64", "int32", "float16", "bfloat16", "int8", "bool" }

/* Vulkan scalar programs: [opcode, a, b] per slot, in this order. */
#define TFMC_VK_SCALAR_OPS                                                     \
  {                                                                            \
    "const", "dim", "index", "add", "sub", "mul", "div", "ceildiv", "min",     \
        "max"                                                                  \
  }

/* The signature of an entry point: what its code was compiled for. The
 * compiler folds each input, output and weights-buffer tensor into it with
 * tfmc_signature_add (in that order: inputs, outputs, then every weight
 * entry); the generated code exports the result (CPU: the symbol
 * tfmc_<entry>_signature, a uint64_t; Vulkan: kernels.spv's header) and the
 * runtime recomputes it from manifest.json, rejecting a manifest that
 * disagrees with the code it describes (a dtype, a shape, an offset). */
static inline uint64_t tfmc_signature_add(uint64_t h, const char *kind,
                                          const char *name, const char *dtype,
                                          const int64_t *dims, size_t rank) {
  const char *parts[3] = {kind, name, dtype};
  for (int i = 0; i < 3; ++i) {
    for (const char *c = parts[i]; *c; ++c)
      h = (h ^ (unsigned char)*c) * 0x100000001b3ull;
    h = (h ^ 0xffu) * 0x100000001b3ull;
  }
  for (size_t i = 0; i < rank; ++i) {
    uint64_t d = (uint64_t)dims[i];
    for (int b = 0; b < 8; ++b)
      h = (h ^ ((d >> (8 * b)) & 0xffu)) * 0x100000001b3ull;
  }
  return h;
}
#define TFMC_SIGNATURE_SEED 0xcbf29ce484222325ull

#endif /* TFMC_ABI_H */
