"""Large arrays that the AD engines reuse from one call to the next (a caching allocator).

Why: a gradient keeps more arrays alive at once than f does (the values the backward sweep
reads, the adjoints).  With glibc's default settings, the memory of such large arrays is handed
back to the operating system when they are freed at the end of the call, so the next call gets
fresh pages, and the first write to each 4 KiB page costs a page fault (one to several
microseconds in a virtual machine).  On Rosenbrock in 10^5 dimensions that, not arithmetic, was
three quarters of the time of a gradient.  PyTorch and JAX keep freed memory in a cache of their
own for the same reason; this module is that cache, cut down to one idea:

    a buffer is free when nothing but this cache refers to it.

:func:`empty` returns a float64 array of the asked shape: a cached one that nobody uses any more
(checked with CPython's reference count, which counts every variable, container and NumPy view
that refers to the array), or a new one that it then keeps.  An array the user still holds (a
returned gradient, a value kept in a closure) is never handed out again.  Small arrays (below
:data:`MIN_BYTES`) come from malloc as usual: malloc reuses those cheaply.  The cache holds at
most :data:`MAX_BYTES`; :func:`clear` empties it.  On an interpreter whose reference counts
cannot tell this (not CPython, CPython without the GIL, or a count that does not move by one
per reference: checked at import) it is switched off.  What goes through it: the results of
elementwise ufuncs and matrix products on float64 arrays that the engines run
(:func:`mlpkit.rules.evaluate`), the adjoints the backward sweep sums into, and a few rule
temporaries; the numbers are the same either way.
"""

from __future__ import annotations

import math
import sys

import numpy as np

__all__ = ["empty", "apply_ufunc", "matmul", "clear", "cached_bytes", "MIN_BYTES", "MAX_BYTES"]

MIN_BYTES = 1 << 17  # 128 KiB: glibc's default threshold for large allocations
MAX_BYTES = 1 << 26  # 64 MiB at most kept for reuse

_cache: dict[tuple, list] = {}  # shape -> the float64 arrays of that shape, in use or free
_cached_bytes = 0


def _free_count():
    """sys.getrefcount of a buffer that only the cache holds, seen from a loop as in :func:`empty`
    (3 on CPython 3.11: the list, the loop variable, getrefcount's argument); None unless one
    more reference shows as one more count (then the cache cannot tell free from used)."""
    probe, counts = [np.empty(0)], []
    for buffer in probe:
        counts.append(sys.getrefcount(buffer))
    held = probe[0]  # noqa: F841  (one more reference, on purpose)
    for buffer in probe:
        counts.append(sys.getrefcount(buffer))
    return counts[0] if counts[1] == counts[0] + 1 else None


_FREE = _free_count()
ENABLED = (sys.implementation.name == "cpython" and _FREE is not None
           and getattr(sys, "_is_gil_enabled", lambda: True)())


def empty(shape: tuple) -> np.ndarray:
    """An uninitialised float64 array of ``shape`` (a tuple of ints), reused if one is free."""
    global _cached_bytes
    nbytes = 8 * math.prod(shape)
    if nbytes < MIN_BYTES or not ENABLED:
        return np.empty(shape)
    buffers = _cache.get(shape)
    if buffers is None:
        buffers = _cache[shape] = []
    for buffer in buffers:
        if sys.getrefcount(buffer) == _FREE:
            return buffer
    if _cached_bytes + nbytes > MAX_BYTES:
        _evict_free()
    buffer = np.empty(shape)
    if _cached_bytes + nbytes <= MAX_BYTES:
        buffers.append(buffer)
        _cached_bytes += nbytes
    return buffer


_NUMBERS = (float, int, np.float64)


def apply_ufunc(ufunc, *operands):
    """``ufunc(*operands)``; when the operands are float64 arrays (and numbers) and the result is
    large, it is written into a cached buffer (the same numbers either way)."""
    shape = None
    for v in operands:
        if type(v) is np.ndarray:
            if v.dtype.char != "d":
                return ufunc(*operands)
            if shape is None or v.shape == shape:
                shape = v.shape
            else:
                try:
                    shape = np.broadcast_shapes(shape, v.shape)
                except ValueError:  # let the ufunc raise NumPy's own message
                    return ufunc(*operands)
        elif type(v) not in _NUMBERS:
            return ufunc(*operands)
    if shape is None or 8 * math.prod(shape) < MIN_BYTES or not ENABLED:
        return ufunc(*operands)
    return ufunc(*operands, out=empty(shape))


def matmul(a, b):
    """``a @ b``; for two 2-D float64 arrays a large result goes into a cached buffer."""
    if (type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 2 and b.ndim == 2
            and a.dtype.char == "d" and b.dtype.char == "d" and a.shape[1] == b.shape[0]
            and 8 * a.shape[0] * b.shape[1] >= MIN_BYTES and ENABLED):
        return np.matmul(a, b, out=empty((a.shape[0], b.shape[1])))
    return a @ b


def _evict_free() -> None:
    """Drop every free buffer (of any shape); the ones in use stay."""
    global _cached_bytes
    for shape, buffers in list(_cache.items()):
        kept = []
        for buffer in buffers:  # the same loop as in empty(), so _FREE applies
            if sys.getrefcount(buffer) > _FREE:
                kept.append(buffer)
            else:
                _cached_bytes -= buffer.nbytes
        _cache[shape] = kept


def clear() -> None:
    """Forget every cached buffer (arrays still in use live on as ordinary arrays)."""
    global _cached_bytes
    _cache.clear()
    _cached_bytes = 0


def cached_bytes() -> int:
    """Bytes of the arrays the cache holds (in use or free)."""
    return _cached_bytes
