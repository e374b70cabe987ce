"""The wire between the grader and the sandbox: length-prefixed JSON frames of plain data.

Both sides import this file (the sandbox loads it by path, see ``_sandbox.py``), so it uses
only the standard library and NumPy. Nothing is ever pickled: what crosses the wire is JSON
plus three tagged forms,

- ``{"__nd__": dtype, "shape": [...], "b64": ...}``  an array of float64, complex128, int64 or bool;
- ``{"__c__": [re, im]}``                             a complex number;
- ``{"__unsupported__": type name, "repr": text}``    a student value that is not plain data.

:func:`decode` checks every frame the grader receives: a malformed or oversized frame raises
:class:`WireError`, never anything the grader would then trust.
"""

from __future__ import annotations

import base64
import json
import math
import os
import socket
import struct
import time

import numpy as np

HEADER = struct.Struct("!I")
MAX_FRAME = 32 * 1024 * 1024  # bytes; a frame announcing more is a protocol error
MAX_DEPTH = 20  # nesting of lists/dicts in one value
MAX_ITEMS = 100_000  # elements of a list, dict or array
ARRAY_DTYPES = {"<f8": np.float64, "<c16": np.complex128, "<i8": np.int64, "|b1": np.bool_}


class WireError(Exception):
    """The other side sent something that is not a well-formed frame of plain data."""


class Unsupported:
    """A student value that is not plain data (a dual number, a generator, a custom class...)."""

    def __init__(self, type_name: str, text: str):
        self.type_name = type_name
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


# --------------------------------------------------------------------------- framing


def _until(sock: socket.socket, deadline: float | None) -> None:
    """Give the socket's next operation what is left before ``deadline`` (time.monotonic()).

    A timeout alone bounds each ``recv``; the other side could then keep a frame alive for
    ever by sending one byte just before each timeout. An overall deadline bounds the frame.
    """
    if deadline is None:
        return
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise socket.timeout("deadline passed")
    sock.settimeout(remaining)


def send(sock: socket.socket, message: dict, fds: tuple[int, ...] = (), *,
         deadline: float | None = None) -> None:
    """Send one frame; ``fds`` (file descriptors) travel with it (SCM_RIGHTS). With
    ``deadline``, the whole frame must be sent before it (``socket.timeout`` otherwise)."""
    data = json.dumps(message, allow_nan=True, separators=(",", ":")).encode()
    if len(data) > MAX_FRAME:
        raise WireError(f"frame of {len(data)} bytes exceeds the limit of {MAX_FRAME}")
    frame = HEADER.pack(len(data)) + data
    if fds:
        _until(sock, deadline)
        socket.send_fds(sock, [frame[: HEADER.size]], list(fds))
        _until(sock, deadline)
        sock.sendall(frame[HEADER.size:])  # sendall's timeout bounds the whole call
    else:
        _until(sock, deadline)
        sock.sendall(frame)


def _recv_exact(sock: socket.socket, size: int, deadline: float | None = None) -> bytes:
    chunks, remaining = [], size
    while remaining:
        _until(sock, deadline)
        chunk = sock.recv(min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def recv(sock: socket.socket, *, with_fds: bool = False, deadline: float | None = None):
    """Receive one frame: a dict, or (dict, fds). Blocks, or with ``deadline``
    (time.monotonic()) raises ``socket.timeout`` unless the whole frame arrived before it."""
    fds: list[int] = []
    if with_fds:
        _until(sock, deadline)
        header, fds, _flags, _addr = socket.recv_fds(sock, HEADER.size, 4)
        if not header:
            raise EOFError("the other side closed the connection")
        if len(header) < HEADER.size:
            try:
                header += _recv_exact(sock, HEADER.size - len(header), deadline)
            except BaseException:
                for fd in fds:
                    _close_quietly(fd)
                raise
    else:
        header = _recv_exact(sock, HEADER.size, deadline)
    (size,) = HEADER.unpack(header)
    if size > MAX_FRAME:
        for fd in fds:
            _close_quietly(fd)
        raise WireError(f"frame of {size} bytes announced, the limit is {MAX_FRAME}")
    try:
        message = json.loads(_recv_exact(sock, size, deadline))
    except (ValueError, RecursionError) as exc:
        for fd in fds:
            _close_quietly(fd)
        raise WireError(f"frame is not valid JSON: {exc}") from None
    except BaseException:
        for fd in fds:
            _close_quietly(fd)
        raise
    if not isinstance(message, dict) or not isinstance(message.get("op"), str):
        for fd in fds:
            _close_quietly(fd)
        raise WireError("frame is not a message (a JSON object with an 'op')")
    return (message, fds) if with_fds else message


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


# --------------------------------------------------------------------------- encoding


def encode_array(arr: np.ndarray) -> dict:
    """A numeric array as a tagged JSON object (float64, complex128, int64 or bool)."""
    kind = arr.dtype.kind
    if kind == "f":
        arr = arr.astype("<f8")
    elif kind == "c":
        arr = arr.astype("<c16")
    elif kind in "iu":
        arr = arr.astype("<i8")
    elif kind == "b":
        arr = arr.astype("|b1")
    else:
        raise TypeError(f"arrays of dtype {arr.dtype} are not plain data")
    data = np.ascontiguousarray(arr).tobytes()
    return {"__nd__": arr.dtype.str, "shape": list(arr.shape), "b64": base64.b64encode(data).decode()}


def encode(value, *, depth: int = 0, lenient: bool = False, describe=None):
    """``value`` as JSON-able plain data.

    ``lenient=True`` (the sandbox encoding a student's value) turns anything that is not plain
    data into an ``__unsupported__`` record instead of raising. ``describe(value)`` may map
    extra types (the grader's black boxes) to JSON; it returns ``None`` for "not mine".
    """
    if describe is not None:
        special = describe(value)
        if special is not None:
            return special
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (int, np.integer)):
        if abs(int(value)) >= 2**63:
            return _unsupported(value, "an integer too large to be plain data", lenient)
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (complex, np.complexfloating)):
        return {"__c__": [float(value.real), float(value.imag)]}
    if isinstance(value, np.ndarray):
        if value.size > MAX_ITEMS:
            return _unsupported(value, f"an array with {value.size} entries (too large)", lenient)
        try:
            return encode_array(np.asarray(value))
        except TypeError as exc:
            return _unsupported(value, str(exc), lenient)
    if depth >= MAX_DEPTH:
        return _unsupported(value, "nested too deeply", lenient)
    if type(value) in (list, tuple):
        if len(value) > MAX_ITEMS:
            return _unsupported(value, f"a {type(value).__name__} of {len(value)} items", lenient)
        return [encode(v, depth=depth + 1, lenient=lenient, describe=describe) for v in value]
    if type(value) is dict and all(type(k) is str for k in value) and len(value) <= MAX_ITEMS:
        return {k: encode(v, depth=depth + 1, lenient=lenient, describe=describe)
                for k, v in value.items()}
    return _unsupported(value, None, lenient)


def _unsupported(value, why, lenient: bool) -> dict:
    cls = type(value)
    name = cls.__name__ if cls.__module__ in ("builtins", None) else f"{cls.__module__}.{cls.__name__}"
    if not lenient:
        raise TypeError(f"{name} is not plain data" + (f": {why}" if why else ""))
    text = why
    if text is None:
        try:
            text = object.__repr__(value) if cls.__repr__ is object.__repr__ else repr(value)
        except BaseException:  # noqa: B036 - a student's __repr__ may raise anything
            text = "(its repr failed)"
    if not isinstance(text, str):
        text = "(repr did not return a string)"
    return {"__unsupported__": name[:200], "repr": text[:200]}


# --------------------------------------------------------------------------- decoding


def decode(obj, *, depth: int = 0, hook=None):
    """Plain data from JSON: validates every tagged form; raises :class:`WireError`.

    ``hook(dict)`` may decode extra tagged dicts (the sandbox's black boxes); it returns
    ``NotImplemented`` for "not mine".
    """
    if depth > MAX_DEPTH + 2:
        raise WireError("value nested too deeply")
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj
    if isinstance(obj, list):
        if len(obj) > MAX_ITEMS:
            raise WireError("list too long")
        return [decode(v, depth=depth + 1, hook=hook) for v in obj]
    if isinstance(obj, dict):
        if hook is not None:
            special = hook(obj)
            if special is not NotImplemented:
                return special
        if "__nd__" in obj:
            return _decode_array(obj)
        if "__c__" in obj:
            pair = obj["__c__"]
            if (len(obj) != 1 or not isinstance(pair, list) or len(pair) != 2
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair)):
                raise WireError("malformed complex number")
            return complex(pair[0], pair[1])
        if "__unsupported__" in obj:
            name, text = obj.get("__unsupported__"), obj.get("repr")
            if not isinstance(name, str) or not isinstance(text, str):
                raise WireError("malformed unsupported-value record")
            return Unsupported(name[:200], text[:200])
        if len(obj) > MAX_ITEMS:
            raise WireError("dict too large")
        return {str(k): decode(v, depth=depth + 1, hook=hook) for k, v in obj.items()}
    raise WireError(f"unexpected JSON value of type {type(obj).__name__}")


def _decode_array(obj: dict) -> np.ndarray:
    dtype, shape, b64 = obj.get("__nd__"), obj.get("shape"), obj.get("b64")
    if dtype not in ARRAY_DTYPES or not isinstance(shape, list) or not isinstance(b64, str):
        raise WireError("malformed array")
    if len(shape) > 32 or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d
                                  for d in shape):
        raise WireError("malformed array shape")
    count = math.prod(shape)
    if count > MAX_ITEMS:
        raise WireError("array too large")
    try:
        raw = base64.b64decode(b64.encode(), validate=True)
    except ValueError:
        raise WireError("array data is not base64") from None
    if len(raw) != count * np.dtype(dtype).itemsize:
        raise WireError("array data does not match its shape")
    return np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape).astype(ARRAY_DTYPES[dtype])
