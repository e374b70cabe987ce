"""Gradients: a comparison that names the likely mistake (transposed, unsummed, sign, factor)."""

from __future__ import annotations

import collections.abc
import math

import numpy as np

from mlpkit._checks import check_nonnegative
from mlpkit.grading._report import (
    PATTERN_RTOL,
    _check_name,
    _close,
    _entry_report,
    _index_of,
    _nonfinite_report,
    _quiet,
    _reference_array,
    _rel_error,
    _student_array,
    _where,
    _worst,
)


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
                        rtol: float, show_first: bool = True, guess: bool = False) -> str | None:
    """The recognised pattern for arrays of equal shape, or None.

    By default only what was measured (sign flipped, transposed, a factor, all zeros): this is
    shared by every problem set, and a cause named here would be another set's cause. With
    ``guess`` (:func:`diagnose_gradient`, for gradients of matrix products) a usual cause is
    added; a problem set names its own causes through ``candidates``."""
    tol = max(PATTERN_RTOL, rtol)
    if not np.all(np.isfinite(got)):
        return _nonfinite_report("your gradient", got)
    for label, wrong_answer in candidates.items():
        if _close(got, wrong_answer, tol):
            return f"looks like: {label}"
    if not np.any(got) and np.any(expected):
        return "your array is all zeros, the expected one is not"
    if not np.any(expected):
        return None
    if _close(-got, expected, tol):
        return ("sign flipped: yours is minus the expected one"
                + ("; check the sign of a derivative or the order of a subtraction" if guess
                   else ""))
    if got.ndim == 2 and got.shape[0] == got.shape[1] and _close(got.T, expected, tol) \
            and not _close(expected.T, expected, tol):
        return ("looks transposed: the transpose of your array matches (rows and columns "
                "swapped)" + ("; check the order of the factors (for Y = X @ W, dL_dW = "
                              "X.T @ dL_dY)" if guess else ""))
    with _quiet():
        c = float(np.vdot(got, expected) / np.vdot(expected, expected))
        scaled = c * expected
    factor = _describe_factor(abs(c)) if math.isfinite(c) and c != 0 else ""
    # Two single numbers always differ by some factor: only a round one is a diagnosis.
    meaningful = got.size > 1 or factor.isdigit() or factor.startswith("1/")
    if factor and meaningful and abs(c - 1) > tol and _close(got, scaled, tol):
        sign = "minus " if c < 0 else ""
        return (f"off by a constant factor: yours is {sign}{factor} times the expected one"
                + (f"; {_factor_hint(factor)}" if guess else ""))
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
        pattern = _same_shape_pattern(arr, ref, wrong_answers, rtol, guess=True)
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
        after = _same_shape_pattern(arr.T, ref, {}, rtol, guess=True)
        if after:
            return f"{name} looks transposed ({mismatch}), and after transposing: {after}"
    if arr.size == ref.size and _close(arr.reshape(ref.shape), ref, tol):
        return (f"{name}: right numbers, wrong shape: {mismatch}; reshape it, or build it with "
                "keepdims=True / [:, None] / .reshape(-1)")
    return f"{name}: {mismatch}; no simple pattern"


def check_gradient_close(name: str, got, expected, rtol: float = 1e-12, *, atol: float = 0.0,
                   candidates=None) -> None:
    """Assert that a gradient matches: ``||got - expected|| <= rtol * ||expected||`` (or ``<= atol``).

    The relative error is :func:`mlpkit.measure.rel_error`, in norm over the whole array, so
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
