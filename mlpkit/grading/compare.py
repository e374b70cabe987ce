"""Comparisons a test cell calls: values, shapes, scalars, finiteness, and a call counter."""

from __future__ import annotations

import math
import numbers
from typing import Callable

import numpy as np

from mlpkit._checks import check_callable, check_count, check_nonnegative
from mlpkit.grading.gradients import _describe_factor, _wrong_entries
from mlpkit.grading._report import (
    NAN_HINT,
    PATTERN_RTOL,
    _close,
    _check_name,
    _entry_report,
    _index_of,
    _nonfinite_report,
    _quiet,
    _reference_array,
    _shape_hint,
    _student_array,
    _where,
    _worst,
)


# --------------------------------------------------------------------------- comparisons


def check_close(name: str, got, expected, rtol: float = 1e-12, atol: float = 0.0, *,
                slips: dict | None = None) -> None:
    """Assert ``|got - expected| <= atol + rtol * |expected|`` entry by entry.

    ``got`` must have ``expected``'s shape (a scalar ``expected`` also accepts any single
    number, e.g. shape (1,)). NaN in ``got`` fails unless ``expected`` has NaN at the same
    place; equal infinities match. Complex ``got`` fails unless ``expected`` is complex.
    On failure the ``AssertionError`` names the worst entry, both values, the relative error,
    the tolerance and what the comparison measured (a flipped sign, a transpose, a constant
    factor, which entries are wrong). It never guesses a cause in words of its own: the
    caller names causes, in its problem set's words, with ``slips``, a dict
    ``{cause: what that mistake would return}``; the first one that matches ``got`` (and not
    ``expected``) is reported as the likely cause.
    """
    name = _check_name(name)
    rtol, atol = check_nonnegative(rtol, "rtol"), check_nonnegative(atol, "atol")
    ref = _reference_array(expected)
    arr = _student_array(name, got, complex_ok=ref.dtype.kind == "c")
    if ref.ndim == 0 and arr.size == 1:
        arr = arr.reshape(())
    if arr.shape != ref.shape:
        raise AssertionError(
            f"{name}: your answer has shape {arr.shape}, but it should have shape {ref.shape}."
            + _shape_hint(arr.shape, ref.shape)
        )
    with _quiet():
        both_nan = np.isnan(arr) & np.isnan(ref)
        within = np.isfinite(ref) & (np.abs(arr - ref) <= atol + rtol * np.abs(ref))
        ok = (arr == ref) | within | both_nan
    if ok.all():
        return
    nan_here = np.isnan(arr) & ~np.isnan(ref)
    if nan_here.any():
        raise AssertionError(_nan_message(name, arr, nan_here))
    tolerance = f"tolerance: |got - expected| <= atol + rtol*|expected| with rtol={rtol:g}, atol={atol:g}"
    index = _worst(arr, ref, ~ok, rtol, atol)
    if ref.ndim == 0:
        message = f"{name}: {_entry_report(arr, ref, index)}; {tolerance}."
    else:
        message = (
            f"{name}: {int((~ok).sum())} of {ok.size} values are wrong ({tolerance}).\n"
            f"  worst at index {_where(index)}: {_entry_report(arr, ref, index)}"
        )
    cause = _matching_slip(arr, ref, slips or {}, rtol)
    if cause:
        message += f"\n  Likely cause: {cause}"
    else:
        hint = _measured_pattern(arr, ref, rtol) if ref.dtype.kind != "c" else None
        if hint:
            message += f"\n  Hint: {hint}"
    raise AssertionError(message)


def _matching_slip(arr: np.ndarray, ref: np.ndarray, slips: dict, rtol: float) -> str | None:
    """The first ``slips`` entry whose value ``arr`` matches while ``ref`` does not."""
    tol = max(PATTERN_RTOL, rtol)
    for cause, value in slips.items():
        with _quiet():
            try:
                wrong = np.asarray(value, dtype=ref.dtype).reshape(arr.shape)
            except (TypeError, ValueError):
                continue
        if _close(arr, wrong, tol) and not _close(ref, wrong, tol):
            return cause
    return None


def _measured_pattern(arr: np.ndarray, ref: np.ndarray, rtol: float) -> str | None:
    """What the comparison shows about ``arr`` (facts, no guessed cause), or None."""
    tol = max(PATTERN_RTOL, rtol)
    if not np.all(np.isfinite(arr)):
        return None
    if not np.any(arr) and np.any(ref):
        return "your array is all zeros"
    if not np.any(ref):
        return None
    if _close(-arr, ref, tol):
        return "sign flipped: yours is minus the expected one"
    if arr.ndim == 2 and arr.shape[0] == arr.shape[1] and _close(arr.T, ref, tol) \
            and not _close(ref.T, ref, tol):
        return "your array is the transpose of the expected one"
    with _quiet():
        c = float(np.vdot(arr, ref) / np.vdot(ref, ref))
    factor = _describe_factor(abs(c)) if math.isfinite(c) and c != 0 else ""
    meaningful = arr.size > 1 or factor.isdigit() or factor.startswith("1/")
    if factor and meaningful and abs(c - 1) > tol and _close(arr, c * ref, tol):
        sign = "minus " if c < 0 else ""
        return f"off by a constant factor: yours is {sign}{factor} times the expected one"
    return _wrong_entries(arr, ref, show_first=False)


def _nan_message(name: str, arr: np.ndarray, nan_here: np.ndarray) -> str:
    first = _index_of(int(np.flatnonzero(nan_here)[0]), arr.shape)
    count = int(nan_here.sum())
    where = f" (first at index {_where(first)})" if arr.ndim else ""
    return f"{name}: your answer contains {count} NaN value(s){where}. {NAN_HINT}."


def check_shape(name: str, got, expected_shape) -> None:
    """Assert that ``got`` is an array of numbers with shape ``expected_shape``.

    ``expected_shape`` is a tuple of ints; ``None`` in it matches any length on that axis,
    e.g. ``(None, 10)`` for "any number of rows, 10 columns".
    """
    name = _check_name(name)
    if not isinstance(expected_shape, tuple) or not all(
        d is None or (isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 0)
        for d in expected_shape
    ):
        raise TypeError(f"expected_shape must be a tuple of ints >= 0 or None, got {expected_shape!r}")
    shape = _student_array(name, got, complex_ok=True).shape
    fits = len(shape) == len(expected_shape) and all(
        want is None or have == want for have, want in zip(shape, expected_shape, strict=True)
    )
    if not fits:
        shown = "(" + ", ".join("any" if d is None else str(d) for d in expected_shape) + (
            ",)" if len(expected_shape) == 1 else ")")
        hint = "" if None in expected_shape else _shape_hint(shape, tuple(expected_shape))
        raise AssertionError(f"{name}: your array has shape {shape}, but it should have shape {shown}.{hint}")


def check_scalar(name: str, got, expected=None, rtol: float = 1e-12, atol: float = 0.0) -> None:
    """Assert that ``got`` is one finite real number, and close to ``expected`` if one is given.

    Python and NumPy numbers, 0-d arrays and arrays holding a single value all count as one
    number; the comparison is :func:`check_close`'s.
    """
    name = _check_name(name)
    if expected is not None and np.size(_reference_array(expected)) != 1:
        raise ValueError(f"expected must be a single number, got shape {np.shape(expected)}")
    arr = _student_array(name, got)
    if arr.size != 1:
        raise AssertionError(
            f"{name}: expected a single number, but got {arr.size} values (an array of shape "
            f"{arr.shape}). A loss or a derivative of a scalar function is one number; "
            "did you forget a sum or an index?"
        )
    value = arr.reshape(())
    problem = _nonfinite_report(name, value)
    if problem:
        raise AssertionError(problem)
    if expected is not None:
        check_close(name, value, _reference_array(expected).reshape(()), rtol=rtol, atol=atol)


def check_finite(name: str, got) -> None:
    """Assert that every entry of ``got`` is a finite number (no NaN, no inf)."""
    name = _check_name(name)
    arr = _student_array(name, got, complex_ok=True)
    with _quiet():
        problem = _nonfinite_report(name, arr)
    if problem:
        raise AssertionError(problem)


# --------------------------------------------------------------------------- call counter


class CallCounter:
    """Wrap ``f`` and count its evaluations: ``f = CallCounter(f); ...; f.calls``.

    Counts calls, not points: ``f(X)`` with a batch ``X`` is one call. With ``max_calls``,
    the call after the limit raises ``AssertionError`` (the answer evaluates ``f`` too often).
    ``reset()`` sets the count back to 0.
    """

    def __init__(self, f: Callable, *, max_calls: int | None = None):
        check_callable(f, "f")
        self.f = f
        self.calls = 0
        self.max_calls = None if max_calls is None else check_count(max_calls, "max_calls", 0)
        self.__name__ = getattr(f, "__name__", type(f).__name__)
        self.__doc__ = getattr(f, "__doc__", None)
        self.__wrapped__ = f

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.max_calls is not None and self.calls > self.max_calls:
            raise AssertionError(
                f"{self.__name__} was evaluated more than {self.max_calls} times; this exercise "
                f"needs at most {self.max_calls} evaluations. Reuse values you already computed."
            )
        return self.f(*args, **kwargs)

    def reset(self) -> None:
        """Start counting from 0 again."""
        self.calls = 0

    def __repr__(self) -> str:
        return f"CallCounter({self.__name__}, calls={self.calls})"
