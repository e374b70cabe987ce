"""Input checks shared by every mlpkit module: one place, one wording.

Each check raises a ``TypeError`` or ``ValueError`` whose message names the problem
(wrong type, non-finite value, complex input where a real one is needed, bad shape),
so a student never meets a raw traceback from deep inside NumPy.
"""

from __future__ import annotations

import numbers

import numpy as np


def check_callable(f, name: str = "f") -> None:
    """Raise ``TypeError`` unless ``f`` can be called."""
    if not callable(f):
        raise TypeError(f"{name} must be a function (callable), got {type(f).__name__}: {f!r:.60}")


def as_real_array(x, name: str = "x") -> np.ndarray:
    """Return ``x`` as a float64 array (a copy), checking that it is real and finite.

    Accepts a Python/NumPy scalar or any array-like of numbers.
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a number or an array of numbers, got {type(x).__name__}")
    try:
        arr = np.asarray(x)  # no copy yet: the one copy is the astype below
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a number or an array of numbers: {exc}") from None
    if arr.dtype == object or arr.dtype.kind not in "biufc":
        raise TypeError(
            f"{name} must be a number or an array of numbers, got {type(x).__name__}"
            f" with dtype {arr.dtype}"
        )
    if arr.dtype.kind == "c":
        raise TypeError(f"{name} must be real, got complex input (dtype {arr.dtype})")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))
        where = tuple(int(i) for i in bad[0]) if arr.ndim else "()"
        raise ValueError(f"{name} must be finite, but it contains NaN or inf (first at index {where})")
    return arr


def check_step(h, name: str = "h") -> float:
    """Return the step ``h`` as a float, checking that it is a finite number > 0."""
    if isinstance(h, bool) or not isinstance(h, numbers.Real):
        raise TypeError(f"step {name} must be a positive real number, got {type(h).__name__}")
    h = float(h)
    if not np.isfinite(h) or h <= 0:
        raise ValueError(f"step {name} must be a finite number > 0, got {h!r}")
    return h


def check_scalar_output(value, where: str = "f(x)") -> None:
    """Raise ``ValueError`` unless ``value`` holds exactly one number (what a gradient needs)."""
    size = np.size(value)
    if size != 1:
        raise ValueError(
            f"{where} must return a single number to take a gradient, but it returned "
            f"{size} values with shape {np.shape(value)}; use jacobian() for vector outputs"
        )


def check_same_shape(a_shape, b_shape, what: str) -> None:
    """Raise ``ValueError`` naming ``what`` when two shapes differ."""
    if tuple(a_shape) != tuple(b_shape):
        raise ValueError(f"shape mismatch in {what}: {tuple(a_shape)} versus {tuple(b_shape)}")


def check_count(n, name: str, minimum: int = 1) -> int:
    """Return ``n`` as an int, checking that it is an integer >= ``minimum``."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(n).__name__}: {n!r:.40}")
    if n < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {n}")
    return int(n)


def check_seed(seed) -> np.random.Generator:
    """Return a NumPy generator for an integer seed >= 0."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer (for reproducible data), got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return np.random.default_rng(int(seed))


def check_nonnegative(value, name: str) -> float:
    """Return ``value`` as a float, checking that it is a finite real number >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number >= 0, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value
