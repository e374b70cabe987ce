"""What the assignments' test cells call: comparisons that explain themselves.

A failing check raises ``AssertionError`` with a message written for the student: what was
expected, what came back, and where (index of the worst entry, both values, the relative
error, the tolerance), plus a hint when the mistake has a recognisable shape::

    check_close("central_difference", got, expected, rtol=1e-8)
    check_gradient("dL_dW1", dL_dW1, reference)   # "... looks transposed ..."

Rules every function here keeps:

- the student's value (``got``) may be anything: ``None``, a list, a string, complex numbers,
  NaN. Problems with it become an ``AssertionError`` in plain words. Problems with the
  instructor's arguments (``expected``, tolerances, names) raise ``TypeError``/``ValueError``.
- nothing is ever written to stderr: no NumPy ``RuntimeWarning`` or ``ComplexWarning``
  (nbgrader scores a test cell that writes to stderr as failed).
- checks return ``None``: a test cell whose last expression is a float would be graded *by that
  float* in nbgrader, so a check never hands back a value to display.

Also here: :func:`diagnose_gradient` (names the likely mistake), :func:`cmp` (one printed line
per comparison, after Karpathy's backprop exercise), :class:`CallCounter` (how many times was
``f`` evaluated?) and seeded problem generators for hidden tests (:func:`random_problem`).
"""

from __future__ import annotations

import collections.abc
import contextlib
import math
import numbers
import warnings
from typing import Callable, NamedTuple

import numpy as np

from mlpkit._checks import check_callable, check_count, check_nonnegative, check_seed
from mlpkit.numdiff import rel_error

__all__ = [
    "rel_error",
    "check_close",
    "check_shape",
    "check_scalar",
    "check_finite",
    "check_gradient",
    "diagnose_gradient",
    "cmp",
    "CallCounter",
    "random_points",
    "random_smooth_function",
    "random_layer",
    "random_mlp_sizes",
    "random_problem",
    "SmoothFunction",
    "LayerProblem",
]

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
            f"{_at(index)}. With the complex step the derivative is the imaginary part divided "
            "by h: np.imag(f(x + 1j*h)) / h"
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
        return (f" Your array has an extra first axis of length {got_shape[0]}: one entry per "
                "example? Did you forget to sum over the batch (axis 0)?")
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


# --------------------------------------------------------------------------- comparisons


def check_close(name: str, got, expected, rtol: float = 1e-12, atol: float = 0.0) -> None:
    """Assert ``|got - expected| <= atol + rtol * |expected|`` entry by entry.

    ``got`` must have ``expected``'s shape (a scalar ``expected`` also accepts any single
    number, e.g. shape (1,)). NaN in ``got`` fails unless ``expected`` has NaN at the same
    place; equal infinities match. Complex ``got`` fails unless ``expected`` is complex.
    On failure the ``AssertionError`` names the worst entry, both values, the relative error,
    the tolerance and, when one is recognised, the likely mistake (sign, transpose, factor).
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
    hint = _same_shape_pattern(arr, ref, {}, rtol, show_first=False) \
        if ref.dtype.kind != "c" else None
    if hint:
        message += f"\n  Hint: {hint}"
    raise AssertionError(message)


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


# --------------------------------------------------------------------------- gradients


def _describe_factor(c: float) -> str:
    """``2``, ``1/32`` or ``0.37`` for a scale factor."""
    for k in range(2, 10_001):
        if abs(c - k) <= 1e-6 * k:
            return str(k)
        if abs(c * k - 1.0) <= 1e-6:
            return f"1/{k}"
        if k > abs(c) + 1 and k * abs(c) > 2:
            break
    return f"{c:.6g}"


def _factor_hint(factor: str) -> str:
    if factor in ("2", "1/2"):
        return ("check the 1/2 of a squared-error loss (the derivative of (y - t)**2 / 2 is "
                "y - t) or a term counted twice")
    if factor.startswith("1/") or factor.isdigit():
        n = factor.removeprefix("1/")
        return (f"if {n} is your batch size, an average over the batch (1/n) is missing or "
                "applied twice")
    return "a scale factor is off somewhere (a learning rate, a mean instead of a sum?)"


def _wrong_entries(got: np.ndarray, expected: np.ndarray, show_first: bool = True) -> str | None:
    """``"3 of 12 entries are right; the wrong ones are all in column 1"``, or None."""
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    with _quiet():
        wrong = np.abs(got - expected) > PATTERN_RTOL * max(scale, np.finfo(float).tiny)
    n_wrong = int(wrong.sum())
    if n_wrong == 0 or n_wrong == wrong.size or wrong.size < 2:
        return None
    text = f"{wrong.size - n_wrong} of {wrong.size} entries are right, {n_wrong} wrong"
    if wrong.ndim == 2 and n_wrong > 1:
        rows, cols = np.nonzero(wrong)
        if len(set(cols.tolist())) == 1:
            text += f", all in column {int(cols[0])}"
        elif len(set(rows.tolist())) == 1:
            text += f", all in row {int(rows[0])}"
    if not show_first:
        return text
    first = _index_of(int(np.flatnonzero(wrong)[0]), got.shape)
    return text + f" (first wrong at index {_where(first)}: {_entry_report(got, expected, first)})"


def _same_shape_pattern(got: np.ndarray, expected: np.ndarray, candidates: dict,
                        rtol: float, show_first: bool = True) -> str | None:
    """The recognised mistake for arrays of equal shape, or None."""
    tol = max(PATTERN_RTOL, rtol)
    if not np.all(np.isfinite(got)):
        return _nonfinite_report("your gradient", got)
    for label, wrong_answer in candidates.items():
        if _close(got, wrong_answer, tol):
            return f"looks like: {label}"
    if not np.any(got) and np.any(expected):
        return ("your array is all zeros: was the gradient computed and accumulated (+=), "
                "and not reset afterwards?")
    if not np.any(expected):
        return None
    if _close(-got, expected, tol):
        return ("sign flipped: yours is minus the expected one; check the sign of a "
                "derivative (y_hat - y, not y - y_hat) or of the update step")
    if got.ndim == 2 and got.shape[0] == got.shape[1] and _close(got.T, expected, tol) \
            and not _close(expected.T, expected, tol):
        return ("looks transposed: the transpose of your array matches; check the order of "
                "the factors (for Y = X @ W, dL_dW = X.T @ dL_dY)")
    with _quiet():
        c = float(np.vdot(got, expected) / np.vdot(expected, expected))
        scaled = c * expected
    factor = _describe_factor(abs(c)) if math.isfinite(c) and c != 0 else ""
    # Two single numbers always differ by some factor: only a round one is a diagnosis.
    meaningful = got.size > 1 or factor.isdigit() or factor.startswith("1/")
    if factor and meaningful and abs(c - 1) > tol and _close(got, scaled, tol):
        sign = "minus " if c < 0 else ""
        return (f"off by a constant factor: yours is {sign}{factor} times the expected one; "
                + _factor_hint(factor))
    return _wrong_entries(got, expected, show_first)


def _bias_pattern(got: np.ndarray, expected: np.ndarray, tol: float) -> str | None:
    """A per-example bias gradient (n, k) where the summed one (k,) was expected."""
    k = expected.size
    if got.ndim != 2 or expected.ndim not in (1, 2) or max(expected.shape, default=0) != k:
        return None
    target = expected.reshape(-1)
    for axis in (0, 1):
        if got.shape[1 - axis] != k or got.shape[axis] == 1:
            continue
        n = got.shape[axis]
        for how, reduced in (("sum", got.sum(axis=axis)), ("mean", got.mean(axis=axis))):
            if _close(reduced, target, tol):
                return (f"bias gradient not summed over the batch: yours has shape {got.shape} "
                        f"(one {'row' if axis == 0 else 'column'} per example, {n} examples), and "
                        f"its {how} over axis {axis} matches the expected shape {expected.shape}; "
                        f"use dL_dZ.{how}(axis={axis})")
    return None


def diagnose_gradient(got, expected, *, name: str = "gradient", candidates=None,
                      rtol: float = 1e-12) -> str:
    """Name the likely mistake in a gradient ``got`` compared with the correct ``expected``.

    Returns one short sentence. Recognised: a match (within ``rtol``, relative error in
    norm), a near miss (round-off), NaN/inf, an all-zero array, a flipped sign, a transpose,
    a bias gradient not summed over the batch (shape (n, k) instead of (k,)), a constant factor
    (reported as e.g. ``2`` or ``1/32``), right numbers in the wrong shape, and some entries
    right. ``candidates`` maps descriptions to known wrong answers, for mistakes no generic
    rule sees, e.g. ``{"missing tanh derivative (1 - h**2)": dL_dH @ W2.T}``. Otherwise
    says ``"no simple pattern"``. Never raises for a bad ``got``: it describes it instead.
    """
    name = _check_name(name)
    rtol = check_nonnegative(rtol, "rtol")
    ref = _reference_array(expected, complex_ok=False)
    candidates = {} if candidates is None else candidates
    if not isinstance(candidates, collections.abc.Mapping):
        raise TypeError("candidates must map a description (str) to a known wrong answer (array)")
    wrong_answers = {str(label): _reference_array(arr, complex_ok=False)
                     for label, arr in candidates.items()}
    try:
        arr = _student_array(name, got)
    except AssertionError as exc:
        return str(exc)
    tol = max(PATTERN_RTOL, rtol)
    if arr.shape == ref.shape:
        error = _rel_error(arr, ref) if np.all(np.isfinite(arr)) else math.inf
        if error <= rtol:
            return f"{name} matches the expected gradient (relative error {error:.1e})"
        pattern = _same_shape_pattern(arr, ref, wrong_answers, rtol)
        if pattern is None and error <= tol:
            pattern = (f"almost right (relative error {error:.1e}, tolerance {rtol:g}): "
                       "look for lost precision (float32, a finite-difference estimate)")
        return f"{name}: {pattern or 'no simple pattern (compare a few entries by hand)'}"
    for label, wrong_answer in wrong_answers.items():
        if _close(arr, wrong_answer, tol):
            return f"{name}: looks like: {label}"
    bias = _bias_pattern(arr, ref, tol)
    if bias:
        return f"{name}: {bias}"
    mismatch = f"yours has shape {arr.shape}, the expected shape is {ref.shape}"
    if arr.ndim == 2 and arr.shape[::-1] == ref.shape:
        if _close(arr.T, ref, tol):
            return (f"{name} looks transposed: {mismatch}, and the transpose of yours matches; "
                    "check the order of the factors (for Y = X @ W, dL_dW = X.T @ dL_dY)")
        after = _same_shape_pattern(arr.T, ref, {}, rtol)
        if after:
            return f"{name} looks transposed ({mismatch}), and after transposing: {after}"
    if arr.size == ref.size and _close(arr.reshape(ref.shape), ref, tol):
        return (f"{name}: right numbers, wrong shape: {mismatch}; reshape it, or build it with "
                "keepdims=True / [:, None] / .reshape(-1)")
    return f"{name}: {mismatch}; no simple pattern"


def check_gradient(name: str, got, expected, rtol: float = 1e-12, *, atol: float = 0.0,
                   candidates=None) -> None:
    """Assert that a gradient matches: ``||got - expected|| <= rtol * ||expected||`` (or ``<= atol``).

    The relative error is :func:`mlpkit.numdiff.rel_error`, in norm over the whole array, so
    entries that are (nearly) zero do not make the test fragile. On failure the message gives
    the relative error, the tolerance, the worst entry and :func:`diagnose_gradient`'s verdict.
    """
    name = _check_name(name)
    rtol, atol = check_nonnegative(rtol, "rtol"), check_nonnegative(atol, "atol")
    ref = _reference_array(expected, complex_ok=False)
    arr = _student_array(name, got)
    if arr.shape != ref.shape:
        diagnosis = diagnose_gradient(arr, ref, name=name, candidates=candidates, rtol=rtol)
        raise AssertionError(
            f"{name}: your gradient has shape {arr.shape}, but it should have shape "
            f"{ref.shape} (a gradient has the shape of what it differentiates by).\n"
            f"  Diagnosis: {diagnosis}"
        )
    problem = _nonfinite_report(name, arr)
    if problem:
        raise AssertionError(problem)
    error = _rel_error(arr, ref)
    with _quiet():
        difference = float(np.linalg.norm(arr - ref))
    if error <= rtol or difference <= atol:
        return
    diagnosis = diagnose_gradient(arr, ref, name=name, candidates=candidates, rtol=rtol)
    index = _worst(arr, ref, np.ones(arr.shape, dtype=bool), 0.0, 0.0)
    where = f"worst entry at index {_where(index)}: " if arr.ndim else ""
    raise AssertionError(
        f"{name}: wrong gradient. Relative error ||got - expected|| / ||expected|| = "
        f"{error:.2e}, tolerance {rtol:g}.\n"
        f"  {where}{_entry_report(arr, ref, index)}\n"
        f"  Diagnosis: {diagnosis}"
    )


def cmp(name: str, got, expected, *, rtol: float = 1e-8) -> None:
    """Print one line: ``exact``, ``approximately (max diff ...)`` or ``WRONG (...)``.

    After Karpathy's backprop exercise, for comparing a hand-written gradient with a
    reference in a notebook. "approximately" means relative error in norm <= ``rtol``.
    Prints, never raises for a bad ``got``, returns None.
    """
    name = _check_name(name)
    rtol = check_nonnegative(rtol, "rtol")
    ref = _reference_array(expected, complex_ok=False)
    label = f"{name:<15s} |"
    try:
        arr = _student_array(name, got)
    except AssertionError as exc:
        print(f"{label} WRONG ({str(exc).removeprefix(name + ': ')})")
        return
    if arr.shape != ref.shape:
        verdict = "WRONG (" + diagnose_gradient(arr, ref, name=name).removeprefix(name + ": ") + ")"
    elif np.array_equal(arr, ref):
        verdict = "exact"
    else:
        with _quiet():
            max_diff = float(np.max(np.abs(arr - ref)))
        if np.all(np.isfinite(arr)) and _rel_error(arr, ref) <= rtol:
            verdict = f"approximately (max diff {max_diff:.1e})"
        else:
            hint = diagnose_gradient(arr, ref, name=name).removeprefix(name + ": ")
            verdict = f"WRONG (max diff {max_diff:.2g}; {hint})"
    print(f"{label} {verdict}")


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


# --------------------------------------------------------------------------- problem generators


def random_points(seed: int, n: int = 5, *, dim: int | None = None, low: float = -2.0,
                  high: float = 2.0) -> np.ndarray:
    """``n`` points uniform in ``[low, high)``: shape (n,), or (n, dim) when ``dim`` is given."""
    rng = check_seed(seed)
    n = check_count(n, "n")
    shape = (n,) if dim is None else (n, check_count(dim, "dim"))
    if not (isinstance(low, numbers.Real) and isinstance(high, numbers.Real) and low < high):
        raise ValueError(f"need real numbers low < high, got low={low!r}, high={high!r}")
    return rng.uniform(float(low), float(high), shape)


class SmoothFunction(NamedTuple):
    """A test function with its exact first and second derivatives (elementwise NumPy code)."""

    f: Callable
    df: Callable
    d2f: Callable
    formula: str


def random_smooth_function(seed: int) -> SmoothFunction:
    """A random member of the family ``a sin(b x + c) + d exp(e x) + p x**2 + q / (1 + x**2)``.

    The coefficients are drawn from the seed (``b`` in [0.5, 2], ``e`` in [-1, 1], the others
    in [-2, 2]); ``df`` and ``d2f`` are the exact derivatives. Everything is analytic and
    written with ``np.sin``, ``np.cos``, ``np.exp``, ``+``, ``*``, ``/`` and ``**``, so it works
    on complex numbers (the complex step) and on arrays (elementwise).
    """
    rng = check_seed(seed)
    a, c, d, p, q = (float(v) for v in np.round(rng.uniform(-2.0, 2.0, 5), 3))
    b = float(np.round(rng.uniform(0.5, 2.0), 3))
    e = float(np.round(rng.uniform(-1.0, 1.0), 3))

    def f(x):
        return a * np.sin(b * x + c) + d * np.exp(e * x) + p * x**2 + q / (1 + x**2)

    def df(x):
        return (a * b * np.cos(b * x + c) + d * e * np.exp(e * x) + 2 * p * x
                - 2 * q * x / (1 + x**2) ** 2)

    def d2f(x):
        return (-a * b**2 * np.sin(b * x + c) + d * e**2 * np.exp(e * x) + 2 * p
                + q * (6 * x**2 - 2) / (1 + x**2) ** 3)

    formula = f"f(x) = {a}*sin({b}*x + {c}) + {d}*exp({e}*x) + {p}*x**2 + {q}/(1 + x**2)"
    return SmoothFunction(f, df, d2f, formula)


class LayerProblem(NamedTuple):
    """Inputs of a linear layer ``Y = X @ W + b`` and an upstream gradient ``dL_dY``.

    Shapes: ``X`` (batch, n_in), ``W`` (n_in, n_out), ``b`` (n_out,), ``dL_dY`` (batch, n_out).
    """

    X: np.ndarray
    W: np.ndarray
    b: np.ndarray
    dL_dY: np.ndarray


def random_layer(seed: int, n_in: int | None = None, n_out: int | None = None,
                 batch: int | None = None) -> LayerProblem:
    """Random standard-normal layer data; ``W`` is scaled by ``1/sqrt(n_in)``.

    Sizes not given are drawn from 2..7 and are all different from one another, so a
    transposed or unsummed answer always has the wrong shape and is diagnosed as such.
    For the convention ``Y = X @ W.T + b`` with ``W`` (n_out, n_in), use ``W.T``.
    """
    rng = check_seed(seed)
    drawn = iter(int(v) for v in rng.choice(np.arange(2, 8), size=3, replace=False))
    batch = next(drawn) if batch is None else check_count(batch, "batch")
    n_in = next(drawn) if n_in is None else check_count(n_in, "n_in")
    n_out = next(drawn) if n_out is None else check_count(n_out, "n_out")
    return LayerProblem(
        X=rng.standard_normal((batch, n_in)),
        W=rng.standard_normal((n_in, n_out)) / np.sqrt(n_in),
        b=rng.standard_normal(n_out),
        dL_dY=rng.standard_normal((batch, n_out)),
    )


def random_mlp_sizes(seed: int, depth: int = 2, *, low: int = 2, high: int = 8) -> list[int]:
    """Layer widths ``[n_in, hidden_1, .., n_out]`` (``depth`` weight layers), each in low..high."""
    rng = check_seed(seed)
    depth = check_count(depth, "depth")
    low, high = check_count(low, "low"), check_count(high, "high", minimum=low)
    return [int(v) for v in rng.integers(low, high + 1, size=depth + 1)]


_GENERATORS = {
    "points": random_points,
    "smooth": random_smooth_function,
    "layer": random_layer,
    "mlp_sizes": random_mlp_sizes,
}


def random_problem(seed: int, kind: str, **options):
    """Dispatch to a generator by name: ``"points"``, ``"smooth"``, ``"layer"``, ``"mlp_sizes"``.

    ``random_problem(3, "layer", batch=4)`` is ``random_layer(3, batch=4)``. The same seed
    always gives the same problem.
    """
    if kind not in _GENERATORS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {sorted(_GENERATORS)}")
    return _GENERATORS[kind](seed, **options)
