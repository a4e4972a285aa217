"""ctypes binding of the tfmc runtime's C API (runtime/include/tfmc/runtime.h)
for tests: models, sessions, generators and sampling, with numpy arrays."""
import ctypes as C
import os

import numpy as np

MAX_RANK = 8
DTYPES = {0: np.float32, 1: np.int64, 2: np.int32}
CODES = {np.dtype(np.float32): 0, np.dtype(np.int64): 1, np.dtype(np.int32): 2}


class TensorSpec(C.Structure):
    _fields_ = [("name", C.c_char_p), ("dtype", C.c_int), ("rank", C.c_int32),
                ("shape", C.c_int64 * MAX_RANK), ("max_shape", C.c_int64 * MAX_RANK),
                ("dim_names", C.c_char_p * MAX_RANK), ("id_bound", C.c_int64),
                ("state", C.c_int32)]


class TensorView(C.Structure):
    _fields_ = [("name", C.c_char_p), ("dtype", C.c_int), ("rank", C.c_int32),
                ("shape", C.c_int64 * MAX_RANK), ("data", C.c_void_p),
                ("bytes", C.c_size_t)]


class Sampling(C.Structure):
    _fields_ = [("temperature", C.c_float), ("top_k", C.c_int32), ("top_p", C.c_float)]


class Error(RuntimeError):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _lib():
    path = os.path.join(os.environ["TFMC_TOOLS"], "..", "lib", "libtfmc_runtime.so")
    lib = C.CDLL(os.path.abspath(path))
    P = C.c_void_p
    sigs = {
        "tfmc_last_error": ([], C.c_char_p),
        "tfmc_model_open": ([C.c_char_p, C.POINTER(P)], C.c_int),
        "tfmc_model_close": ([P], None),
        "tfmc_model_entry_signature": ([P, C.c_char_p, C.POINTER(C.c_size_t),
                                        C.POINTER(C.c_size_t)], C.c_int),
        "tfmc_model_entry_input": ([P, C.c_char_p, C.c_size_t, C.POINTER(TensorSpec)], C.c_int),
        "tfmc_model_entry_output": ([P, C.c_char_p, C.c_size_t, C.POINTER(TensorSpec)], C.c_int),
        "tfmc_session_create": ([P, C.c_char_p, C.POINTER(P)], C.c_int),
        "tfmc_session_destroy": ([P], None),
        "tfmc_session_share_state": ([P, P], C.c_int),
        "tfmc_session_set_input": ([P, C.c_char_p, C.c_int, C.c_int32,
                                    C.POINTER(C.c_int64), P], C.c_int),
        "tfmc_session_run": ([P], C.c_int),
        "tfmc_session_get_output": ([P, C.c_char_p, C.POINTER(TensorView)], C.c_int),
        "tfmc_generator_create": ([P, C.POINTER(P)], C.c_int),
        "tfmc_generator_destroy": ([P], None),
        "tfmc_generator_encode": ([P, C.POINTER(C.c_int64), C.c_size_t], C.c_int),
        "tfmc_generator_append": ([P, C.POINTER(C.c_int64), C.c_size_t], C.c_int),
        "tfmc_generator_logits": ([P, C.POINTER(C.POINTER(C.c_float)),
                                   C.POINTER(C.c_size_t)], C.c_int),
        "tfmc_generator_length": ([P], C.c_size_t),
        "tfmc_generator_reset": ([P], C.c_int),
        "tfmc_sample": ([C.POINTER(C.c_float), C.c_size_t, C.POINTER(Sampling),
                         C.POINTER(C.c_uint64), C.POINTER(C.c_int64)], C.c_int),
        "tfmc_model_tokenizer": ([P, C.POINTER(P)], C.c_int),
        "tfmc_tokenizer_open": ([C.c_char_p, C.c_char_p, C.c_int, C.POINTER(P)], C.c_int),
        "tfmc_tokenizer_destroy": ([P], None),
        "tfmc_tokenizer_encode": ([P, C.c_char_p, C.c_size_t, C.c_int,
                                   C.POINTER(C.POINTER(C.c_int64)),
                                   C.POINTER(C.c_size_t)], C.c_int),
        "tfmc_tokenizer_decode": ([P, C.POINTER(C.c_int64), C.c_size_t, C.c_int,
                                   C.POINTER(C.c_void_p), C.POINTER(C.c_size_t)], C.c_int),
        "tfmc_tokenizer_special": ([P, C.c_char_p], C.c_int64),
        "tfmc_tokenizer_vocab_size": ([P], C.c_size_t),
        "tfmc_free": ([P], None),
    }
    for name, (args, res) in sigs.items():
        f = getattr(lib, name)
        f.argtypes, f.restype = args, res
    return lib


LIB = _lib()


def check(status):
    if status != 0:
        raise Error(status, LIB.tfmc_last_error().decode())


class Model:
    def __init__(self, path):
        self.h = C.c_void_p()
        check(LIB.tfmc_model_open(path.encode(), C.byref(self.h)))

    def close(self):
        if self.h:
            LIB.tfmc_model_close(self.h)
            self.h = None

    def specs(self, entry):
        ni, no = C.c_size_t(), C.c_size_t()
        check(LIB.tfmc_model_entry_signature(self.h, entry.encode(), C.byref(ni),
                                             C.byref(no)))
        out = {"inputs": [], "outputs": []}
        for kind, n, fn in (("inputs", ni.value, LIB.tfmc_model_entry_input),
                            ("outputs", no.value, LIB.tfmc_model_entry_output)):
            for i in range(n):
                s = TensorSpec()
                check(fn(self.h, entry.encode(), i, C.byref(s)))
                out[kind].append(dict(name=s.name.decode(), shape=list(s.shape[:s.rank]),
                                      max_shape=list(s.max_shape[:s.rank]),
                                      dims=[d.decode() for d in s.dim_names[:s.rank]],
                                      id_bound=s.id_bound, state=bool(s.state)))
        return out

    def session(self, entry):
        return Session(self, entry)

    def generator(self):
        return Generator(self)


class Session:
    def __init__(self, model, entry):
        self.model = model
        self.h = C.c_void_p()
        check(LIB.tfmc_session_create(model.h, entry.encode(), C.byref(self.h)))

    def __del__(self):
        if getattr(self, "h", None):
            LIB.tfmc_session_destroy(self.h)

    def share_state(self, other):
        check(LIB.tfmc_session_share_state(self.h, other.h))

    def set(self, name, array):
        a = np.ascontiguousarray(array)
        shape = (C.c_int64 * max(a.ndim, 1))(*a.shape)
        check(LIB.tfmc_session_set_input(self.h, name.encode(), CODES[a.dtype], a.ndim,
                                         shape, a.ctypes.data_as(C.c_void_p)))

    def run(self, **inputs):
        for name, a in inputs.items():
            self.set(name, a)
        check(LIB.tfmc_session_run(self.h))

    def output(self, name):
        v = TensorView()
        check(LIB.tfmc_session_get_output(self.h, name.encode(), C.byref(v)))
        n = v.bytes // np.dtype(DTYPES[v.dtype]).itemsize
        buf = (C.c_char * v.bytes).from_address(v.data)
        return np.frombuffer(buf, dtype=DTYPES[v.dtype], count=n).reshape(
            v.shape[:v.rank]).copy()


class Generator:
    def __init__(self, model):
        self.model = model
        self.h = C.c_void_p()
        check(LIB.tfmc_generator_create(model.h, C.byref(self.h)))

    def __del__(self):
        if getattr(self, "h", None):
            LIB.tfmc_generator_destroy(self.h)

    @staticmethod
    def _ids(ids):
        a = np.ascontiguousarray(np.asarray(ids, dtype=np.int64))
        return a, a.ctypes.data_as(C.POINTER(C.c_int64))

    def encode(self, ids):
        a, p = self._ids(ids)
        check(LIB.tfmc_generator_encode(self.h, p, a.size))

    def append(self, ids):
        a, p = self._ids(ids)
        check(LIB.tfmc_generator_append(self.h, p, a.size))

    def logits(self):
        ptr, n = C.POINTER(C.c_float)(), C.c_size_t()
        check(LIB.tfmc_generator_logits(self.h, C.byref(ptr), C.byref(n)))
        return np.ctypeslib.as_array(ptr, shape=(n.value,)).copy()

    def length(self):
        return LIB.tfmc_generator_length(self.h)

    def reset(self):
        check(LIB.tfmc_generator_reset(self.h))


def expect_error(what, fn, *needles):
    """Calls fn(), which must raise Error with every needle in its message;
    prints "<what>: error: <message>" (for FileCheck) or exits with FAIL."""
    import sys
    try:
        fn()
    except Error as e:
        msg = str(e)
        missing = [n for n in needles if n not in msg]
        if missing:
            sys.exit(f"FAIL {what}: message '{msg}' lacks {missing}")
        print(f"{what}: error: {msg}")
        return
    sys.exit(f"FAIL {what}: no error")


def sample(logits, temperature=0.0, top_k=0, top_p=1.0, state=None):
    """Returns (token, new_state)."""
    a = np.ascontiguousarray(logits, dtype=np.float32)
    st = C.c_uint64(state or 0)
    tok = C.c_int64()
    params = Sampling(temperature, top_k, top_p)
    check(LIB.tfmc_sample(a.ctypes.data_as(C.POINTER(C.c_float)), a.size, C.byref(params),
                          C.byref(st), C.byref(tok)))
    return tok.value, st.value


class Tokenizer:
    """A runtime tokenizer: Tokenizer(kind, directory, lowercase) opens files,
    Tokenizer.of(model) is the one compiled into an artifact."""

    def __init__(self, kind=None, directory=None, lowercase=False, _handle=None, _owner=None):
        self.h = None
        self._owned = _handle is None
        self._owner = _owner
        if _handle is None:
            h = C.c_void_p()
            check(LIB.tfmc_tokenizer_open(kind.encode(), directory.encode(),
                                          int(lowercase), C.byref(h)))
            _handle = h
        self.h = _handle

    @classmethod
    def of(cls, model):
        h = C.c_void_p()
        check(LIB.tfmc_model_tokenizer(model.h, C.byref(h)))
        return cls(_handle=h, _owner=model)

    def __del__(self):
        if getattr(self, "_owned", False) and self.h:
            LIB.tfmc_tokenizer_destroy(self.h)
            self.h = None

    def encode(self, text, add_special=False):
        data = text.encode("utf-8") if isinstance(text, str) else text
        ids, n = C.POINTER(C.c_int64)(), C.c_size_t()
        check(LIB.tfmc_tokenizer_encode(self.h, data, len(data), int(add_special),
                                        C.byref(ids), C.byref(n)))
        out = [ids[i] for i in range(n.value)]
        LIB.tfmc_free(C.cast(ids, C.c_void_p))
        return out

    def decode_bytes(self, ids, skip_special=False):
        arr = (C.c_int64 * max(1, len(ids)))(*ids)
        text, n = C.c_void_p(), C.c_size_t()
        check(LIB.tfmc_tokenizer_decode(self.h, arr, len(ids), int(skip_special),
                                        C.byref(text), C.byref(n)))
        out = C.string_at(text, n.value)
        LIB.tfmc_free(text)
        return out

    def decode(self, ids, skip_special=False):
        return self.decode_bytes(ids, skip_special).decode("utf-8", errors="replace")

    def special(self, role):
        return LIB.tfmc_tokenizer_special(self.h, role.encode())

    def vocab_size(self):
        return LIB.tfmc_tokenizer_vocab_size(self.h)
