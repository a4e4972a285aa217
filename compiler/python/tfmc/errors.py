"""The exceptions tfmc raises.

Every runtime failure is a :class:`tfmc.RuntimeError` subclass chosen by the
runtime's status code (``exc.status`` is its name, e.g. ``"TFMC_ERROR_SHAPE"``)
and carries the runtime's message. Those about a caller's values also derive
from the matching built-in exception (``ShapeError`` is a ``ValueError``,
``NotFoundError`` a ``KeyError``, ...), so generic handlers work too.
Compilation failures raise :class:`CompileError` with the compiler's located
diagnostics (``file:line:col: error: ...``).
"""

import builtins

from . import _tfmc


class Error(Exception):
    """Base class of every tfmc exception."""


class CompileError(Error):
    """The compiler rejected the model; ``diagnostics`` is what tfmc prints."""

    def __init__(self, diagnostics: str):
        super().__init__(diagnostics.rstrip("\n"))
        self.diagnostics = diagnostics


class RuntimeError(Error, builtins.RuntimeError):
    """A runtime call failed; ``status`` names the C status code."""

    status = "TFMC_ERROR"

    def __str__(self) -> str:
        # KeyError's repr-quoting would hide the message's own quotes.
        return str(self.args[0]) if self.args else ""


def _status(code: int, name: str, status: str, *bases: type) -> type:
    cls = type(name, (RuntimeError, *bases), {
        "status": "TFMC_ERROR_" + status,
        "__doc__": "Raised for TFMC_ERROR_%s: %s." % (
            status, _tfmc.status_name(code)),
        "__module__": "tfmc",
    })
    _tfmc._register_error(code, cls)
    return cls


FileError = _status(1, "FileError", "IO", builtins.OSError)
FormatError = _status(2, "FormatError", "FORMAT")
VersionError = _status(3, "VersionError", "VERSION")
ChecksumError = _status(4, "ChecksumError", "CHECKSUM")
CpuError = _status(5, "CpuError", "CPU")
NotFoundError = _status(6, "NotFoundError", "NOT_FOUND", builtins.KeyError)
ShapeError = _status(7, "ShapeError", "SHAPE", builtins.ValueError)
DTypeError = _status(8, "DTypeError", "DTYPE", builtins.TypeError)
RangeError = _status(9, "RangeError", "RANGE", builtins.ValueError)
MissingInputError = _status(10, "MissingInputError", "MISSING_INPUT",
                            builtins.ValueError)
InvalidArgumentError = _status(11, "InvalidArgumentError", "INVALID_ARGUMENT",
                               builtins.ValueError)
OutOfMemoryError = _status(12, "OutOfMemoryError", "OUT_OF_MEMORY",
                           builtins.MemoryError)
StateError = _status(13, "StateError", "STATE")
DeviceError = _status(14, "DeviceError", "DEVICE")

__all__ = [
    "Error", "CompileError", "RuntimeError", "FileError", "FormatError",
    "VersionError", "ChecksumError", "CpuError", "NotFoundError", "ShapeError",
    "DTypeError", "RangeError", "MissingInputError", "InvalidArgumentError",
    "OutOfMemoryError", "StateError", "DeviceError",
]
