"""tfmc: an ahead-of-time compiler for transformer models, from Python.

    import tfmc
    art = tfmc.compile("examples/models/encoder.toml")     # in-process
    model = art.load()                                      # or tfmc.load(dir)
    out = model.session("forward").run({"input_ids": ids, ...})

Compilation runs the compiler library in this process (not the ``tfmc``
command); running uses the runtime library. NumPy arrays are handed to the
runtime without copies: C-contiguous inputs of the entry's dtype are read in
place, and every output is a fresh array the compiled code wrote directly.
See docs/python.md.
"""

import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from typing import (Dict, Iterator, List, Mapping, Optional, Sequence, Tuple,
                    Union)

import numpy as np

from . import _tfmc
from .errors import *  # noqa: F401,F403
from .errors import CompileError, DTypeError, Error

__version__ = "0.1.0"

PathLike = Union[str, "os.PathLike[str]"]

# tfmc_dtype codes <-> NumPy. bfloat16 has no NumPy type: its arrays are
# uint16 bit patterns (the upper half of a float32).
_DTYPES = {
    0: np.dtype(np.float32), 1: np.dtype(np.int64), 2: np.dtype(np.int32),
    3: np.dtype(np.float16), 4: np.dtype(np.uint16), 5: np.dtype(np.int8),
    6: np.dtype(np.bool_),
}
_CODES = {dt: code for code, dt in _DTYPES.items()}
_INT64, _INT32 = 1, 2

# Keyword options of compile() beyond its named parameters, as in the CLI
# (--target-seq-len is target_seq_len, ...).
_COMPILE_OPTIONS = {
    "target_seq_len": (int, str), "cpu": str, "vulkan_target": str,
    "max_positions": int, "weights": (str, os.PathLike),
    "random_weights": int, "decompose": bool, "no_fusion": bool,
    "no_merge_qkv": bool, "attention_maps": bool, "fusion_remarks": bool,
    "extra_passes": str, "passes_before_fusion": str,
    "passes_after_fusion": str, "passes_before_lowering": str,
    "dump_ir_dir": (str, os.PathLike), "gemm_kc": int,
    "gemm_mc": int, "quantize": str, "quantize_skip": str,
}
_STAGES = ("tfm", "fused", "plan", "linalg", "llvm", "asm", "graph", "glsl",
           "spirv")


def _length(name: str, v) -> str:
    if v is None:
        return ""
    if v == "dynamic":
        return v
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError("%s must be a positive int or 'dynamic', got %r"
                         % (name, v))
    return str(v)


def _options(model, target, batch, seq_len, weight_dtype, options) -> dict:
    if target not in ("cpu", "vulkan"):
        raise ValueError("target must be 'cpu' or 'vulkan', got %r" % target)
    kw = {"input": os.fspath(model), "target": target,
          "seq_len": _length("seq_len", seq_len)}
    if batch is not None:
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise ValueError("batch must be a positive int, got %r" % batch)
        kw["batch"] = batch
    if weight_dtype is not None:
        kw["weight_dtype"] = weight_dtype
    for key, value in options.items():
        kind = _COMPILE_OPTIONS.get(key)
        if kind is None:
            raise TypeError("compile() got an unknown option %r (options: %s)"
                            % (key, ", ".join(sorted(_COMPILE_OPTIONS))))
        if not isinstance(value, kind) or (kind is int and
                                           isinstance(value, bool)):
            raise TypeError("compile() option %s=%r has the wrong type"
                            % (key, value))
        if key == "target_seq_len":
            value = _length(key, value)
        elif isinstance(value, os.PathLike):
            value = os.fspath(value)
        kw[key] = value
    return kw


def _run_compiler(kw: dict) -> str:
    ok, diagnostics = _tfmc.compile(kw)
    if not ok:
        raise CompileError(diagnostics or "compilation failed")
    return diagnostics


class Artifact:
    """A compiled model directory (manifest.json, weights, code)."""

    def __init__(self, path: PathLike, diagnostics: str = "",
                 _temporary: bool = False):
        self.path = os.fspath(path)
        #: Warnings and remarks the compiler printed ("" when none).
        self.diagnostics = diagnostics
        if _temporary:
            self._cleanup = weakref.finalize(self, shutil.rmtree, self.path,
                                             True)

    def load(self, device: Optional[str] = None) -> "Model":
        """Opens the artifact (see :func:`load`)."""
        model = load(self.path, device)
        model._artifact = self  # a temporary directory outlives its model
        return model

    def __repr__(self) -> str:
        return "tfmc.Artifact(%r)" % self.path


def compile(model: PathLike, output_dir: Optional[PathLike] = None, *,
            target: str = "cpu", batch: Optional[int] = None,
            seq_len: Union[int, str, None] = None,
            weight_dtype: Optional[str] = None, **options) -> Artifact:
    """Compiles a model file or folder into an artifact directory.

    ``model`` is a TOML model, a Hugging Face folder or a ``.mlir`` file.
    Without ``output_dir`` the artifact goes to a temporary directory that
    is removed with the returned :class:`Artifact` (and the models loaded
    from it). ``seq_len`` is a length or ``"dynamic"``; ``weight_dtype`` is
    f32, f16, bf16 or auto. Further keyword options are the CLI's flags with
    underscores (``target_seq_len``, ``cpu``, ``vulkan_target``,
    ``max_positions``, ``random_weights``, ``weights``, ``attention_maps``,
    ``no_fusion``, ``no_merge_qkv``, ``fusion_remarks``,
    ``passes_before_fusion``, ``passes_after_fusion`` (or ``extra_passes``),
    ``passes_before_lowering``, ``dump_ir_dir``, ``decompose``, ``gemm_kc``, ``gemm_mc``).
    Raises :class:`CompileError` with tfmc's located diagnostics.
    """
    kw = _options(model, target, batch, seq_len, weight_dtype, options)
    temporary = output_dir is None
    out = tempfile.mkdtemp(prefix="tfmc-") if temporary else output_dir
    out = os.fspath(out)
    if temporary:
        # The compiler writes a fresh directory and renames it into place.
        os.rmdir(out)
    kw["output"] = out
    kw["emit"] = "artifact"
    try:
        diagnostics = _run_compiler(kw)
    except BaseException:
        if temporary:
            shutil.rmtree(out, True)
        raise
    return Artifact(out, diagnostics, _temporary=temporary)


def emit(model: PathLike, stage: str = "fused", *, target: str = "cpu",
         batch: Optional[int] = None, seq_len: Union[int, str, None] = None,
         weight_dtype: Optional[str] = None, **options) -> str:
    """The text of one compilation stage, as ``tfmc --emit=STAGE`` prints it:
    tfm, fused, plan, linalg, llvm, asm, graph (DOT), glsl, spirv."""
    if stage not in _STAGES:
        raise ValueError("stage must be one of %s, got %r"
                         % (", ".join(_STAGES), stage))
    kw = _options(model, target, batch, seq_len, weight_dtype, options)
    with tempfile.TemporaryDirectory(prefix="tfmc-") as d:
        kw["output"] = os.path.join(d, "out.dot" if stage == "graph"
                                    else "out.mlir")
        kw["emit"] = stage
        _run_compiler(kw)
        with open(kw["output"], encoding="utf-8") as f:
            return f.read()


@dataclass(frozen=True)
class TensorSpec:
    """An input or output of an entry. ``shape`` has None where the size is
    chosen at run time (named in ``dim_names``, at most ``max_shape``)."""
    name: str
    dtype: np.dtype
    shape: Tuple[Optional[int], ...]
    max_shape: Tuple[int, ...]
    dim_names: Tuple[str, ...]
    id_bound: Optional[int]  # token ids lie in [0, id_bound)
    state: bool  # a KV cache the session owns

    @classmethod
    def _from(cls, t) -> "TensorSpec":
        name, code, shape, max_shape, dims, bound, state = t
        return cls(name, _DTYPES[code],
                   tuple(None if d < 0 else d for d in shape),
                   tuple(max_shape), tuple(dims), bound if bound > 0 else None,
                   state)


@dataclass(frozen=True)
class Entry:
    """An entry point: its inputs (without state), outputs and state."""
    name: str
    inputs: Tuple[TensorSpec, ...]
    outputs: Tuple[TensorSpec, ...]
    state: Tuple[TensorSpec, ...]


class Session:
    """Runs one entry. A session belongs to one thread at a time; sessions of
    one model may run concurrently (each run releases the GIL)."""

    def __init__(self, model: "Model", entry: str):
        self.model = model
        self._s = _tfmc.Session(model._m, entry)
        self.entry: Entry = model.entries[entry]
        self._specs = {t.name: t for t in self.entry.inputs}
        self._codes = {t.name: _CODES[t.dtype] for t in self.entry.inputs}
        self._bound: Dict[str, np.ndarray] = {}
        # Per output: name, largest shape, dtype, whether its shape is
        # fixed (then the run's shape need not be asked for).
        self._outs = [(t.name, t.max_shape, t.dtype, None not in t.shape)
                      for t in self.entry.outputs]

    def set_num_threads(self, threads: int) -> None:
        """Threads the next runs use (0: one per core)."""
        self._s.set_num_threads(threads)

    def set_input(self, name: str, value) -> None:
        """Sets one input; kept for later runs until set again. A
        C-contiguous array of the input's dtype is used in place (not
        copied): do not modify it while the session may run."""
        arr = np.asarray(value)
        code = self._codes.get(name)
        if code is None:
            # The runtime's message lists the entry's inputs.
            self._s.bind_input(name, 0, list(arr.shape), 0, True)
        if arr.dtype == _DTYPES[code]:
            if not (arr.flags.c_contiguous and arr.flags.aligned):
                arr = np.ascontiguousarray(arr)
            self._s.bind_input(name, code, list(arr.shape),
                               arr.__array_interface__["data"][0], False)
            self._bound[name] = arr
            return
        if not (code == _INT64 and arr.dtype == np.int32):
            raise DTypeError("input '%s' must be %s, got %s" % (
                name, _DTYPES[code], arr.dtype))
        arr = np.ascontiguousarray(arr)  # copied and widened by the runtime
        self._s.bind_input(name, _INT32, list(arr.shape),
                           arr.__array_interface__["data"][0], True)
        self._bound.pop(name, None)

    def run(self, inputs: Optional[Mapping[str, object]] = None
            ) -> Dict[str, np.ndarray]:
        """Sets ``inputs`` ({name: array}), runs, and returns every output
        as a NumPy array of its own that the compiled code wrote in place
        (no copy; valid for as long as it is referenced)."""
        for name, value in (inputs or {}).items():
            self.set_input(name, value)
        bind = self._s.bind_output_array
        result = {}
        for name, shape, dtype, static in self._outs:
            buf = np.empty(shape, dtype=dtype)
            bind(name, buf)
            result[name] = buf
        self._s.run()
        for name, _, _, static in self._outs:
            if static:
                continue
            _, shape, _, _ = self._s.output(name)
            buf = result[name]
            if tuple(shape) != buf.shape:
                n = int(np.prod(shape, dtype=np.int64))
                result[name] = buf.reshape(-1)[:n].reshape(shape)
        return result

    def output_address(self, name: str) -> int:
        """Where the runtime wrote output ``name`` in the last run."""
        return self._s.output(name)[2]


@dataclass(frozen=True)
class Token:
    """One generated token: its id and the text it completed (may be "":
    a character that needs the next token too)."""
    id: int
    text: str


class Tokenizer:
    """The tokenizer compiled into an artifact, or one opened from files."""

    PLAIN, FRAMED, PROMPT = 0, 1, 2

    def __init__(self, t, owner=None):
        self._t = t
        self._owner = owner

    @classmethod
    def open(cls, kind: str, directory: PathLike,
             lowercase: bool = False) -> "Tokenizer":
        """kind: char, byte_bpe, wordpiece or tokenizer_json."""
        return cls(_tfmc.Tokenizer.open(kind, os.fspath(directory), lowercase))

    def encode(self, text: str, special: bool = False) -> List[int]:
        """Token ids; ``special`` adds the framing tokens (BERT's [CLS] ...
        [SEP], tokenizer.json's post-processor)."""
        return self._t.encode(text, self.FRAMED if special else self.PLAIN)

    def decode(self, ids: Sequence[int], skip_special: bool = True) -> str:
        return self._t.decode([int(i) for i in ids], skip_special).decode(
            "utf-8", "replace")

    def special(self, role: str) -> Optional[int]:
        """The id of bos, eos, pad, unk, cls or sep (None when absent)."""
        v = self._t.special(role)
        return None if v < 0 else v

    @property
    def vocab_size(self) -> int:
        return self._t.vocab_size


class Model:
    """An opened artifact: its entries, metadata and tokenizer."""

    def __init__(self, path: PathLike):
        self.path = os.fspath(path)
        self._m = _tfmc.Model(self.path)
        self._artifact = None
        entries = {}
        for name in self._m.entries():
            ins, outs = self._m.signature(name)
            ins = [TensorSpec._from(t) for t in ins]
            entries[name] = Entry(
                name, tuple(t for t in ins if not t.state),
                tuple(TensorSpec._from(t) for t in outs),
                tuple(t for t in ins if t.state))
        #: {name: Entry}, in the artifact's order.
        self.entries: Dict[str, Entry] = entries
        t = self._m.tokenizer()
        self.tokenizer: Optional[Tokenizer] = (
            Tokenizer(t, self) if t is not None else None)

    family = property(lambda self: self._m.family,
                      doc="encoder, decoder or encoder-decoder")
    device = property(lambda self: self._m.device,
                      doc='"cpu" or the Vulkan device\'s name')
    target_cpu = property(lambda self: self._m.target_cpu)

    @property
    def metadata(self) -> Dict[str, Optional[int]]:
        """bos, eos, pad ids and max_seq_len (None when the model has none)."""
        out = {}
        for key in ("bos", "eos", "pad", "max_seq_len"):
            v = self._m.metadata(key)
            out[key] = None if v < 0 else v
        return out

    @property
    def image_preprocessing(self) -> Optional[Dict[str, object]]:
        """A vision model's image preprocessing (its folder's
        preprocessor_config.json): channels, height, width, resize,
        rescale (0: none), mean, std; None when it has none."""
        p = self._m.image_preprocessing()
        if p is None:
            return None
        return dict(zip(("channels", "height", "width", "resize", "rescale",
                         "mean", "std"), p))

    @property
    def labels(self) -> List[Optional[str]]:
        """A classifier's class names by id (id2label; None where a class
        has none); [] for other models."""
        logits = [t for t in self.main_entry.outputs if t.name == "logits"]
        if not logits or self.family != "encoder" or \
                len(logits[0].max_shape) != 2:
            return []
        return [self._m.label(i) for i in range(logits[0].max_shape[1])]

    @property
    def main_entry(self) -> Entry:
        """forward where the model has it, else its first entry."""
        return self.entries.get("forward", next(iter(self.entries.values())))

    @property
    def inputs(self) -> Tuple[TensorSpec, ...]:
        return self.main_entry.inputs

    @property
    def outputs(self) -> Tuple[TensorSpec, ...]:
        return self.main_entry.outputs

    def session(self, entry: Optional[str] = None) -> Session:
        return Session(self, entry or self.main_entry.name)

    def run(self, inputs: Mapping[str, object],
            entry: Optional[str] = None) -> Dict[str, np.ndarray]:
        """One run in a fresh session."""
        return self.session(entry).run(inputs)

    def _need_tokenizer(self) -> Tokenizer:
        if self.tokenizer is None:
            raise Error("the artifact has no tokenizer; pass token ids")
        return self.tokenizer

    def generate(self, prompt: Union[str, Sequence[int]],
                 max_new_tokens: Optional[int] = None, *,
                 temperature: float = 0.0, top_k: int = 0, top_p: float = 1.0,
                 seed: int = 0, threads: int = 0) -> Iterator[Token]:
        """Generates after ``prompt`` (text, through the artifact's
        tokenizer, or token ids), yielding each token as it is chosen, as
        ``tfmc-run --prompt`` does: temperature 0 is greedy; otherwise the
        logits / temperature are limited to the top_k largest (0: all), then
        to top_p of the probability, and sampled with ``seed``. Stops after
        the end-of-sequence id (yielded, with the text still held back) or
        after max_new_tokens (default 64, fewer where the model's maximum
        length leaves less room). Ids past the tokenizer's vocabulary (a
        padded embedding table) are never chosen."""
        family = self.family
        if family == "encoder":
            raise Error("generate() needs a decoder or an encoder-decoder; "
                        "this is an encoder (use embed)")
        encdec = family == "encoder-decoder"
        tok = self.tokenizer
        if isinstance(prompt, str):
            if not prompt:
                raise ValueError("the prompt is empty")
            ids = self._need_tokenizer()._t.encode(
                prompt, Tokenizer.PLAIN if encdec else Tokenizer.PROMPT)
        else:
            ids = [int(i) for i in prompt]
        if not ids:
            raise ValueError("the prompt encodes to no tokens")
        meta = self.metadata
        eos = meta["eos"] if meta["eos"] is not None else (
            tok.special("eos") if tok else None)
        bos = meta["bos"] if meta["bos"] is not None else (
            tok.special("bos") if tok else None)
        if encdec and bos is None:
            raise Error("the model has no bos id to start decoding with")
        target = [bos] if encdec else list(ids)
        max_len = meta["max_seq_len"]
        given = max_new_tokens is not None
        max_new = max_new_tokens if given else 64
        if max_len is not None:
            room = max_len - len(target)
            if not given and 0 < room < max_new:
                max_new = room
            if len(target) + max_new > max_len:
                raise ValueError(
                    "%s plus max_new_tokens %d exceed the model's maximum "
                    "sequence length %d" % (
                        "<bos>" if encdec else
                        "the prompt (%d tokens)" % len(ids), max_new, max_len))
        return self._generate(ids, target, encdec, eos, max_new, temperature,
                              top_k, top_p, seed, threads)

    def _generate(self, ids, target, encdec, eos, max_new, temperature, top_k,
                  top_p, seed, threads) -> Iterator[Token]:
        gen = _tfmc.Generator(self._m)
        if threads:
            gen.set_num_threads(threads)
        gen.seed(seed)
        if encdec:
            gen.encode(ids)
        gen.append(target)
        tok = self.tokenizer
        stream = _tfmc.TextStream(tok._t, target) if tok else None
        limit = tok.vocab_size if tok else 0
        for i in range(max_new):
            nxt = gen.sample(temperature, top_k, top_p, limit)
            stop = eos is not None and nxt == eos
            last = stop or i + 1 == max_new
            # The last token's text is everything the stream still holds.
            text = stream.push([] if stop else [nxt], last) if stream else b""
            yield Token(nxt, text.decode("utf-8", "replace"))
            if last:
                return
            gen.append([nxt])

    def embed(self, texts: Union[str, Sequence[str]],
              normalize: bool = True) -> np.ndarray:
        """Sentence embeddings of an encoder, as ``tfmc-run --text``
        computes them: each text framed by the tokenizer ([CLS] ... [SEP]),
        mean pooling over its tokens, then L2 normalisation (unless
        ``normalize`` is False). Returns float32 [len(texts), hidden]."""
        if self.family != "encoder":
            raise Error("embed() needs an encoder; this is a %s"
                        % self.family)
        tok = self._need_tokenizer()
        if isinstance(texts, str):
            texts = [texts]
        session = self.session("forward")
        max_len = self.metadata["max_seq_len"]
        rows = []
        for i, text in enumerate(texts):
            ids = tok._t.encode(text, Tokenizer.FRAMED)
            if max_len is not None and len(ids) > max_len:
                raise ValueError("text %d has %d tokens; the model takes at "
                                 "most %d" % (i + 1, len(ids), max_len))
            feed = {}
            shape = (1, len(ids))
            for t in session.entry.inputs:
                if t.name == "input_ids":
                    feed[t.name] = np.asarray(ids, np.int64).reshape(shape)
                elif t.name == "attention_mask":
                    feed[t.name] = np.ones(shape, np.int64)
                elif t.name == "token_type_ids":
                    feed[t.name] = np.zeros(shape, np.int64)
            h = session.run(feed)["last_hidden_state"][0]
            e = h.astype(np.float64).mean(axis=0)
            if normalize:
                e = e / max(np.linalg.norm(e), 1e-12)
            rows.append(e.astype(np.float32))
        return np.stack(rows)

    def __repr__(self) -> str:
        return "tfmc.Model(%r, family=%r, device=%r)" % (
            self.path, self.family, self.device)


def load(path: PathLike, device: Optional[str] = None) -> Model:
    """Opens an artifact directory. ``device``: None (the artifact's own
    target), "cpu", "vulkan" or "vulkan:N" (the N-th Vulkan device, as
    $TFMC_VULKAN_DEVICE chooses it). Raises a :class:`tfmc.RuntimeError`
    subclass naming the file and field when the artifact is unusable."""
    path = os.fspath(path)
    want = None
    if device is not None:
        kind, _, index = device.partition(":")
        if kind not in ("cpu", "vulkan") or (index and kind == "cpu"):
            raise ValueError("device must be 'cpu', 'vulkan' or 'vulkan:N', "
                             "got %r" % device)
        want = kind
        if index:
            os.environ["TFMC_VULKAN_DEVICE"] = index
    model = Model(path)
    if want is not None and (model.device == "cpu") != (want == "cpu"):
        raise ValueError("%s was compiled for %s; it cannot run on %r "
                         "(recompile with target=%r)" % (
                             path, "the CPU" if model.device == "cpu"
                             else "Vulkan", device, want))
    return model


__all__ = [
    "compile", "emit", "load", "Artifact", "Model", "Session", "Entry",
    "TensorSpec", "Tokenizer", "Token", "__version__",
] + __import__("tfmc.errors", fromlist=["__all__"]).__all__
