//===- Generate.h - tfmc-run's text modes ----------------------*- C++ -*-===//
//
// Part of tfmc. The modes of tfmc-run that start from text, through the
// artifact's tokenizer: generation (--prompt) for decoders and
// encoder-decoders, sentence embeddings (--text) for encoders, and
// attention maps (--dump-attention) for both.
//
//===----------------------------------------------------------------------===//

#ifndef TFMC_RUN_GENERATE_H
#define TFMC_RUN_GENERATE_H

#include "tfmc/runtime.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tfmc {

struct TextOptions {
  std::optional<std::string> prompt;
  std::vector<std::string> texts;
  int maxNewTokens = 64;
  /// Given on the command line: then exceeding the model's maximum is an
  /// error; the default is shortened to what fits.
  bool maxNewTokensGiven = false;
  tfmc_sampling sampling = {0.0f, 0, 1.0f};
  uint64_t seed = 0;
  bool showIds = false, normalize = true;
  /// Vulkan: one untimed prefill + decode step first (see generate).
  bool warmup = true;
  std::string attentionDir, outputDir;
  int threads = 0;
};

/// --prompt: generates, streaming text to stdout, statistics to stderr.
int generate(Model &model, const TextOptions &o);
/// --text: sentence embeddings and their cosine similarities.
int embed(Model &model, const TextOptions &o);

/// Vulkan artifacts: how long creating the pipelines took at open and what
/// the pipeline cache did, on stderr (nothing for CPU artifacts).
void printPipelineStats(const Model &model);

/// Reports an error as tfmc-run does; returns 1.
int fail(const std::string &msg);

} // namespace tfmc

#endif // TFMC_RUN_GENERATE_H
