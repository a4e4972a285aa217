"""Hugging Face ViT folders written by transformers itself (ViTModel with
its pooler, ViTForImageClassification with 7 labels): random weights large
enough that every tensor matters, odd sizes (images 36x36 in 6x6 patches:
36 patches + the class token, d 40 in 5 heads, d_ff 72, 2 layers, batch 3),
compiled by tfmc and run by tfmc-run, compared with transformers at fp32
atol 1e-5, rtol 1e-4: last_hidden_state and pooler_output (ViTModel),
last_hidden_state and logits (the classifier, whose top-1 labels must
agree too). Then `tfmc-run --image` on the classifier folder with a
preprocessor_config.json and id2label: a PNG larger than the model's
36x36 (PIL's antialiased bilinear shrink), a smaller PNG (enlarged) and a
JPEG, preprocessed as ViTImageProcessor does -- pixel_values equal to
within float32 rounding -- and the printed top-5 classes and
probabilities equal to softmax(transformers' logits). Also the errors:
pixel_values of the wrong shape, an image size that is not a multiple of
the patch size, a missing classifier bias, a file that is not an image, a
grey image for an RGB model, a processor config tfmc cannot follow.

usage: check_vit.py WORKDIR
"""
import json
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from tfmc_run import compare, compile_model, run, target_args, tool  # noqa: E402
from transformers import ViTConfig, ViTForImageClassification, ViTModel  # noqa: E402

work = sys.argv[1]
os.makedirs(work, exist_ok=True)
B = 3
torch.manual_seed(11)
cfg = ViTConfig(hidden_size=40, num_hidden_layers=2, num_attention_heads=5,
                intermediate_size=72, image_size=36, patch_size=6,
                num_channels=3, num_labels=7, hidden_dropout_prob=0.0,
                attention_probs_dropout_prob=0.0)
# Three different "images": noise at different scales and offsets.
pixels = (np.random.default_rng(2).standard_normal((B, 3, 36, 36)) *
          np.array([0.5, 1.0, 2.0])[:, None, None, None] +
          np.array([-1.0, 0.0, 1.0])[:, None, None, None]).astype(np.float32)

for kind, cls in (("vit", ViTModel), ("vit-cls", ViTForImageClassification)):
    model = cls._from_config(cfg, attn_implementation="eager").eval()
    # Default initialisation leaves norms at 1, biases and the class token
    # near 0: perturb everything, matrices large enough (std 0.15) that
    # attention is peaked and the positions matter.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.15)
            else:
                p.add_(0.1 * torch.randn_like(p))
    folder = os.path.join(work, kind)
    if kind == "vit-cls":
        model.config.id2label = {i: "class-%c" % (65 + i) for i in range(7)}
        model.config.label2id = {v: k for k, v in model.config.id2label.items()}
    model.save_pretrained(folder, safe_serialization=True)
    if kind == "vit-cls":
        from transformers import ViTImageProcessor
        processor = ViTImageProcessor(size={"height": 36, "width": 36},
                                      image_mean=[0.485, 0.456, 0.406],
                                      image_std=[0.229, 0.224, 0.225])
        processor.save_pretrained(folder)
    art = compile_model(folder, os.path.join(work, kind + ".out"), "--batch=%d" % B)
    with torch.no_grad():
        ref = model(torch.from_numpy(pixels), output_hidden_states=True)
        # ViTForImageClassification returns no last_hidden_state: it is
        # the final LayerNorm of the last hidden state.
        hidden = (ref.last_hidden_state if kind == "vit" else
                  model.vit.layernorm(ref.hidden_states[-1]))
    got = run(art, {"pixel_values": pixels})
    compare("%s last_hidden_state" % kind, got["last_hidden_state"], hidden.numpy())
    if kind == "vit":
        compare("vit pooler_output", got["pooler_output"], ref.pooler_output.numpy())
    else:
        compare("vit-cls logits", got["logits"], ref.logits.numpy())
        top = ref.logits.numpy().argmax(-1)
        assert (got["logits"].argmax(-1) == top).all(), (got["logits"], top)
        print("vit-cls top-1 labels %s equal transformers OK" % list(top))
        spread = float(ref.logits.std())
        assert spread > 0.5, spread  # the head is not a constant
        cls_model = model

# --image: three pictures (smooth gradients plus noise, so that resizing
# has something to average) through tfmc-run and through transformers.
from PIL import Image  # noqa: E402
rng = np.random.default_rng(7)
paths = []
for i, (w, h, ext) in enumerate(((50, 41, "png"), (20, 30, "png"), (64, 48, "jpg"))):
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack([(xx * 255 // w + 40 * i), (yy * 255 // h), (xx + yy) * 3 % 256], -1)
    img = np.clip(img + rng.integers(-30, 30, img.shape), 0, 255).astype(np.uint8)
    path = os.path.join(work, "image%d.%s" % (i, ext))
    Image.fromarray(img, "RGB").save(path, quality=90) if ext == "jpg" else \
        Image.fromarray(img, "RGB").save(path)
    paths.append(path)
images = [Image.open(p) for p in paths]
want_pixels = processor(images=images, return_tensors="np")["pixel_values"]
with torch.no_grad():
    want_logits = cls_model(torch.from_numpy(want_pixels)).logits.double()
want_prob = torch.softmax(want_logits, -1).numpy()
args = [tool("tfmc-run"), os.path.join(work, "vit-cls.out")]
for p in paths:
    args += ["--image", p]
res = os.path.join(work, "image.res")
r = subprocess.run(args + ["--output-dir", res], capture_output=True, text=True)
if r.returncode != 0:
    sys.exit("tfmc-run --image failed:\n" + r.stderr)
compare("--image pixel_values (PNG shrunk, PNG enlarged, JPEG)",
        np.load(os.path.join(res, "pixel_values.npy")), want_pixels, atol=1e-6, rtol=0)
compare("--image logits", np.load(os.path.join(res, "logits.npy")), want_logits.numpy())
printed = [l.split() for l in r.stdout.splitlines() if l.startswith("  ")]
for i in range(3):
    top = np.argsort(-want_prob[i], kind="stable")[:5]
    rows = printed[5 * i:5 * i + 5]
    assert [int(x[1]) for x in rows] == list(top), (rows, top)
    assert [x[2] for x in rows] == ["class-%c" % (65 + t) for t in top], rows
    got = np.array([float(x[0]) for x in rows])
    assert np.abs(got - want_prob[i][top]).max() < 2e-6, (got, want_prob[i][top])
print("--image top-5 classes and probabilities equal transformers' OK")

# Errors, each one clear message and a non-zero exit.
def fails(args, expect):
    r = subprocess.run(args, capture_output=True, text=True)
    ok = r.returncode != 0 and expect in r.stderr and "Assertion" not in r.stderr
    print("error %r: %s" % (expect, "OK" if ok else "FAIL:\n" + r.stderr))
    if not ok:
        sys.exit(1)

bad = os.path.join(work, "bad.npy")
np.save(bad, pixels[:, :, :30, :])
fails([tool("tfmc-run"), os.path.join(work, "vit.out"), "--input",
       "pixel_values=" + bad], "must have shape [3, 3, 36, 36], got [3, 3, 30, 36]")
odd = os.path.join(work, "vit-odd")
os.makedirs(odd, exist_ok=True)
conf = json.load(open(os.path.join(work, "vit", "config.json")))
conf["image_size"] = 32
json.dump(conf, open(os.path.join(odd, "config.json"), "w"))
os.symlink(os.path.join(work, "vit", "model.safetensors"),
           os.path.join(odd, "model.safetensors"))
fails([tool("tfmc"), odd, "-o", os.path.join(work, "odd.out"), *target_args()],
      "error: config key 'patch_size': the image size 32 is not a multiple of "
      "the patch size 6")
# A classifier weight without its bias: the missing tensor is named.
from safetensors.numpy import load_file, save_file  # noqa: E402
nobias = os.path.join(work, "vit-nobias")
os.makedirs(nobias, exist_ok=True)
tensors = load_file(os.path.join(work, "vit-cls", "model.safetensors"))
del tensors["classifier.bias"]
save_file(tensors, os.path.join(nobias, "model.safetensors"))
os.symlink(os.path.join(work, "vit-cls", "config.json"),
           os.path.join(nobias, "config.json"))
fails([tool("tfmc"), nobias, "-o", os.path.join(work, "nobias.out"), *target_args()],
      "missing weight 'classifier.bias' (expected shape [7])")
if os.path.exists(os.path.join(work, "nobias.out")):
    sys.exit("a failed compile wrote its output directory")
art_cls = os.path.join(work, "vit-cls.out")
notimg = os.path.join(work, "notes.png")
open(notimg, "w").write("not an image\n")
fails([tool("tfmc-run"), art_cls] + sum((["--image", p] for p in
                                         (paths[0], notimg, paths[1])), []),
      "notes.png: not a PNG or JPEG image")
grey = os.path.join(work, "grey.png")
Image.fromarray(np.zeros((36, 36), np.uint8), "L").save(grey)
fails([tool("tfmc-run"), art_cls, "--image", grey, "--image", paths[0],
       "--image", paths[1]],
      "grey.png: the image has 1 channel(s) (grey); the model takes 3 (RGB)")
fails([tool("tfmc-run"), art_cls, "--image", paths[0]],
      "the model was compiled for batch 3: give 3 --image")
bicubic = os.path.join(work, "vit-bicubic")
os.makedirs(bicubic, exist_ok=True)
for f in ("config.json", "model.safetensors"):
    os.symlink(os.path.join(work, "vit-cls", f), os.path.join(bicubic, f))
pc = json.load(open(os.path.join(work, "vit-cls", "preprocessor_config.json")))
pc["resample"] = 3
json.dump(pc, open(os.path.join(bicubic, "preprocessor_config.json"), "w"), indent=2)
fails([tool("tfmc"), bicubic, "-o", os.path.join(work, "bicubic.out"), *target_args()],
      "preprocessor_config.json:")
fails([tool("tfmc"), bicubic, "-o", os.path.join(work, "bicubic.out"), *target_args()],
      "config key 'resample': tfmc resizes with PIL's bilinear filter only")
print("OK")
