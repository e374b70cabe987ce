"""Plumbing of the checks: a student's value made into an array, and the words that describe it."""

from __future__ import annotations

import collections.abc
import contextlib
import math
import numbers
import warnings

import numpy as np

from mlpkit.measure import rel_error

# Patterns (sign flip, transpose, factor...) are recognised at this relative error: loose,
# because the strict check has already failed and we only look for a hint.
PATTERN_RTOL = 1e-6

NAN_HINT = (
    "NaN comes from 0/0, inf - inf, 0 * inf or the log/sqrt of a negative number, "
    "often after an overflow earlier in the computation"
)


# --------------------------------------------------------------------------- plumbing


@contextlib.contextmanager
def _quiet():
    """No NumPy floating-point warnings and no Python warnings inside this block."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def _num(value) -> str:
    """A number as Python prints it, all digits shown (0.30000000000000004, not 0.3)."""
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, complex):
        return repr(value)
    return repr(float(value))


def _where(index) -> str:
    """``[1, 2]`` for an index tuple; ``""`` for a scalar."""
    return "[" + ", ".join(str(int(i)) for i in index) + "]" if len(index) else ""


def _at(index) -> str:
    return f" at index {_where(index)}" if len(index) else ""


def _short(value, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _check_name(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a string naming the checked value, got {type(name).__name__}")
    return name


def _reference_array(expected, *, complex_ok: bool = True) -> np.ndarray:
    """The instructor's expected value as float64 (or complex128) array."""
    if expected is None or isinstance(expected, (str, bytes)):
        raise TypeError(f"expected must be a number or an array of numbers, got {_short(expected)}")
    with _quiet():
        try:
            arr = np.asarray(expected)
        except Exception as exc:
            raise TypeError(f"expected is not an array of numbers: {exc}") from None
    if arr.dtype.kind == "c" and complex_ok:
        return arr.astype(np.complex128)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"expected must hold real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64)


def _first_non_number(arr: np.ndarray):
    for index in np.ndindex(arr.shape):
        element = arr[index]
        if isinstance(element, bool) or not isinstance(element, numbers.Number):
            return index, element
    return (), None


def _student_array(name: str, got, *, complex_ok: bool = False) -> np.ndarray:
    """The student's value as a float64 (or complex128) array, or an AssertionError saying why not.

    Lists, tuples, NumPy scalars and integer arrays are fine. Complex values with a zero
    imaginary part count as real; a non-zero imaginary part fails unless ``complex_ok``.
    """
    if got is None:
        raise AssertionError(f"{name}: your function returned None; did you forget `return`?")
    if isinstance(got, (str, bytes)):
        raise AssertionError(
            f"{name}: expected a number or an array of numbers, but got the string {_short(got)}"
        )
    if isinstance(got, (dict, set, frozenset)):
        raise AssertionError(
            f"{name}: expected a number or an array of numbers, but got a {type(got).__name__}"
        )
    if callable(got) and not isinstance(got, np.ndarray):
        raise AssertionError(
            f"{name}: got a function ({_short(got)}) instead of a number; did you forget to call "
            "it (with parentheses and arguments)?"
        )
    if isinstance(got, collections.abc.Iterator):
        raise AssertionError(
            f"{name}: got a {type(got).__name__} (a lazy iterator), not numbers; "
            "build an array from it, e.g. np.array(list(...))"
        )
    with _quiet():
        try:
            arr = np.asarray(got)
        except Exception as exc:
            ragged = isinstance(exc, ValueError) and "inhomogeneous" in str(exc)
            raise AssertionError(
                f"{name}: could not turn your {type(got).__name__} into an array of numbers "
                f"({type(exc).__name__}: {exc})."
                + (" Rows of different lengths cause this." if ragged else "")
            ) from None
    kind = arr.dtype.kind
    if kind == "O":
        index, element = _first_non_number(arr)
        if element is None:  # an object array of plain numbers (Fraction, Decimal, ...)
            with _quiet():
                try:
                    arr = arr.astype(np.float64)
                except (TypeError, ValueError):
                    try:
                        arr = arr.astype(np.complex128)
                    except (TypeError, ValueError) as exc:
                        raise AssertionError(
                            f"{name}: could not read your answer as numbers ({exc})"
                        ) from None
            kind = arr.dtype.kind
        else:
            raise AssertionError(
                f"{name}: expected plain numbers, but your answer contains {_short(element, 40)} "
                f"(of type {type(element).__name__}){_at(index)}. If it is a dual number or a "
                "traced value, take its value (a float) first"
            )
    if kind == "b":
        raise AssertionError(
            f"{name}: got True/False values (a bool), not numbers; did you return a comparison "
            "instead of the value itself?"
        )
    if kind == "c":
        if complex_ok:
            return arr.astype(np.complex128)
        imaginary = np.flatnonzero(arr.imag)
        if imaginary.size == 0:
            return arr.real.astype(np.float64)
        index = np.unravel_index(int(imaginary[0]), arr.shape) if arr.ndim else ()
        raise AssertionError(
            f"{name}: expected a real number, but your answer is complex: {_num(arr[index])}"
            f"{_at(index)}. Return a real number: if the value comes from a complex "
            "computation, take the part you need (np.real or np.imag) before returning it"
        )
    if kind not in "iuf":
        raise AssertionError(
            f"{name}: expected numbers, but got an array of dtype {arr.dtype} ({_short(got, 40)})"
        )
    return arr.astype(np.float64)


def _shape_hint(got_shape: tuple, expected_shape: tuple) -> str:
    """One sentence about a common shape slip, or ""."""
    if len(got_shape) == 2 and got_shape[::-1] == expected_shape:
        return (" That is the transposed shape: check the order of the factors in your "
                "matrix product, or whether you need .T")
    if math.prod(got_shape) == math.prod(expected_shape):
        return (f" The number of values is right ({math.prod(got_shape)}), the layout is not: "
                "a vector of shape (n,) and a column of shape (n, 1) differ in NumPy; "
                "see .reshape, [:, None] or keepdims=True")
    if len(got_shape) == len(expected_shape) + 1 and got_shape[1:] == expected_shape:
        return (f" Your array has an extra first axis of length {got_shape[0]}: one row per "
                "input? If the answer is their sum, sum over axis 0")
    return ""


def _index_of(flat: int, shape: tuple) -> tuple:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def _worst(got: np.ndarray, expected: np.ndarray, wrong: np.ndarray, rtol: float, atol: float):
    """Index of the wrong entry that misses its tolerance by the largest factor."""
    candidates = np.flatnonzero(wrong)
    with _quiet():
        diff = np.abs(got - expected).reshape(-1)[candidates]
        tol = (atol + rtol * np.abs(expected)).reshape(-1)[candidates]
        ratio = np.where(tol > 0, diff / np.where(tol > 0, tol, 1.0), np.inf)
    diff = np.where(np.isnan(diff), np.inf, diff)
    ratio = np.where(np.isnan(ratio), np.inf, ratio)
    pick = candidates[np.lexsort((diff, ratio))[-1]]
    return _index_of(int(pick), got.shape)


def _entry_report(got: np.ndarray, expected: np.ndarray, index: tuple) -> str:
    """``got 0.52, expected 0.5 (difference 0.02, relative error 4.0e-02)``."""
    g, e = got[index].item(), expected[index].item()
    with _quiet():
        difference = abs(g - e)
        relative = difference / abs(e) if e != 0 else math.inf
    if e == 0:
        rel_text = "expected is 0, so only the absolute difference counts"
    else:
        rel_text = f"relative error {relative:.1e}"
    return f"got {_num(g)}, expected {_num(e)} (difference {difference:.2e}, {rel_text})"


def _nonfinite_report(name: str, arr: np.ndarray) -> str | None:
    bad = ~np.isfinite(arr)
    if not bad.any():
        return None
    n_nan, n_inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
    first = _index_of(int(np.flatnonzero(bad)[0]), arr.shape)
    parts = [f"{n_nan} NaN"] * bool(n_nan) + [f"{n_inf} infinite"] * bool(n_inf)
    where = f" (first{_at(first)}: {_num(arr[first])})" if arr.ndim else f" ({_num(arr[()])})"
    hint = NAN_HINT if n_nan else "inf comes from an overflow (exp of a large number) or x/0"
    return f"{name}: your answer contains {' and '.join(parts)} value(s){where}. {hint}"


def _rel_error(got: np.ndarray, expected: np.ndarray) -> float:
    with _quiet():
        value = rel_error(got, expected)
    return math.inf if math.isnan(value) else value


def _close(a: np.ndarray, b: np.ndarray, rtol: float) -> bool:
    return a.shape == b.shape and bool(np.all(np.isfinite(a))) and _rel_error(a, b) <= rtol
