#!/usr/bin/env bash
# Sets everything up, builds, and runs the main job on a bundled example:
# compiles the character-level GPT trained on the fortunes text
# (examples/models/char-gpt) and generates text with it, greedy and sampled;
# then the string-reversing encoder-decoder, with attention maps; then a
# Llama-architecture model (a Hugging Face folder with a BPE tokenizer.json,
# examples/models/fortune-llama); then the char-GPT and the Llama again,
# compiled for Vulkan.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
BUILD=${TFMC_BUILD_DIR:-build}
OUT="$BUILD/demo"
mkdir -p "$OUT"
echo "== tfmc examples/models/char-gpt/model.toml -o $OUT/char-gpt"
"$BUILD/bin/tfmc" examples/models/char-gpt/model.toml --attention-maps -o "$OUT/char-gpt"
echo "== tfmc-run $OUT/char-gpt --prompt 'The meaning of life' (greedy)"
"$BUILD/bin/tfmc-run" "$OUT/char-gpt" --prompt "The meaning of life" --max-new-tokens 100
echo
echo "== ... sampled: --temperature 0.8 --top-k 40 --seed 1"
"$BUILD/bin/tfmc-run" "$OUT/char-gpt" --prompt "Q: Why" --max-new-tokens 100 \
  --temperature 0.8 --top-k 40 --seed 1 --dump-attention "$OUT/char-gpt-attention"
echo
echo "== tfmc examples/models/reverse/model.toml: an encoder-decoder that reverses strings"
"$BUILD/bin/tfmc" examples/models/reverse/model.toml --attention-maps -o "$OUT/reverse"
"$BUILD/bin/tfmc-run" "$OUT/reverse" --prompt "transformer" --max-new-tokens 20 \
  --dump-attention "$OUT/reverse-attention"
echo "(cross-attention heat maps: $OUT/reverse-attention/cross_attention_layer*_head*.png)"
echo
echo "== tfmc examples/models/fortune-llama: a Llama (RoPE, grouped-query attention, SwiGLU,"
echo "   RMSNorm) Hugging Face folder with a BPE tokenizer.json, float16 weights kept"
"$BUILD/bin/tfmc" examples/models/fortune-llama --weight-dtype=auto -o "$OUT/fortune-llama"
"$BUILD/bin/tfmc-run" "$OUT/fortune-llama" --prompt "Q: Why did the chicken" --max-new-tokens 60
echo
echo "== ... sampled: --temperature 0.8 --top-p 0.9 --seed 2"
"$BUILD/bin/tfmc-run" "$OUT/fortune-llama" --prompt "You will" --max-new-tokens 60 \
  --temperature 0.8 --top-p 0.9 --seed 2
echo
echo "== the same char-GPT compiled for Vulkan (--target=vulkan; lavapipe when there is no GPU)"
"$BUILD/bin/tfmc" examples/models/char-gpt/model.toml --target=vulkan -o "$OUT/char-gpt-vulkan"
"$BUILD/bin/tfmc-run" "$OUT/char-gpt-vulkan" --prompt "The meaning of life" --max-new-tokens 100
echo
"$BUILD/bin/tfmc" examples/models/fortune-llama --target=vulkan -o "$OUT/fortune-llama-vulkan"
"$BUILD/bin/tfmc-run" "$OUT/fortune-llama-vulkan" --prompt "Q: Why did the chicken" --max-new-tokens 60
echo
echo "(readable kernels: $BUILD/bin/tfmc examples/models/char-gpt/model.toml --target=vulkan --emit=glsl)"
