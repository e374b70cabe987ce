"""Tests for mlpkit.grading: what passes, what fails, and what the student is told."""

import re
import warnings
from fractions import Fraction

import numpy as np
import pytest

from mlpkit import grading, numdiff
from mlpkit.grading import (
    CallCounter,
    check_close,
    check_finite,
    check_gradient_close,
    check_scalar,
    check_shape,
    cmp,
    diagnose_gradient,
)


@pytest.fixture(autouse=True)
def nothing_on_stderr(capfd):
    """Every test: any warning is an error, and nothing may reach stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    assert capfd.readouterr().err == ""


def failure(check, *args, **kwargs) -> str:
    """The AssertionError message of a check that must fail."""
    with pytest.raises(AssertionError) as info:
        check(*args, **kwargs)
    return str(info.value)


@pytest.fixture
def layer():
    """A batch of 8 through Y = X @ W + b with W (3, 5): the usual gradients."""
    rng = np.random.default_rng(7)
    X, W, dL_dY = rng.standard_normal((8, 3)), rng.standard_normal((3, 5)), rng.standard_normal((8, 5))
    return {"X": X, "W": W, "dL_dY": dL_dY, "dL_dW": X.T @ dL_dY, "dL_db": dL_dY.sum(axis=0)}


# --------------------------------------------------------------------------- what the student returned

BAD_RETURNS = [
    (None, "your function returned None; did you forget `return`?"),
    ("0.5", "got the string '0.5'"),
    ({"a": 1.0}, "got a dict"),
    (len, "got a function"),
    ((v for v in [1.0]), "a lazy iterator"),
    ([[1.0, 2.0], [3.0]], "Rows of different lengths"),
    (np.array([True, False]), "True/False values"),
    ([object(), 1.0], "of type object"),
    (np.array(["1", "2"]), "dtype <U1"),
]


@pytest.mark.parametrize("got, phrase", BAD_RETURNS)
@pytest.mark.parametrize("check", ["close", "scalar", "shape", "finite", "gradient"])
def test_every_check_explains_a_bad_return_value(got, phrase, check):
    expected = np.array([1.0, 2.0])
    calls = {
        "close": lambda: check_close("answer", got, expected),
        "scalar": lambda: check_scalar("answer", got, 1.0),
        "shape": lambda: check_shape("answer", got, (2,)),
        "finite": lambda: check_finite("answer", got),
        "gradient": lambda: check_gradient_close("answer", got, expected),
    }
    message = failure(calls[check])
    assert message.startswith("answer: ")
    assert phrase in message


def test_checks_accept_reasonable_styles():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    check_close("list", [[1, 2], [3, 4]], expected)
    check_close("tuple", ((1.0, 2.0), (3.0, 4.0)), expected)
    check_close("int array", np.array([[1, 2], [3, 4]], dtype=np.int32), expected)
    check_close("float32 exact", expected.astype(np.float32), expected)
    check_close("fractions", [Fraction(1, 2)], [0.5])
    check_close("complex with zero imaginary part", expected + 0j, expected)
    check_close("scalar as 1-element array", np.array([0.25]), 0.25)
    check_close("numpy scalar", np.float64(0.25), 0.25)
    check_scalar("python int", 3, 3.0)
    check_scalar("0-d", np.array(3.0), 3)
    check_scalar("1-element list", [3.0], 3)
    check_scalar("no reference, just finite", -1e300)
    check_shape("shape", np.zeros((4, 2)), (4, 2))
    check_shape("wildcard", np.zeros((17, 10)), (None, 10))
    check_shape("vector", [1.0, 2.0, 3.0], (3,))
    check_finite("finite", [[0.0, -1e308]])


def test_checks_return_none_so_a_test_cell_never_displays_a_value():
    # nbgrader grades a cell whose last expression is a float by that float
    assert check_close("x", 1.0, 1.0) is None
    assert check_scalar("x", 1.0, 1.0) is None
    assert check_shape("x", np.zeros(2), (2,)) is None
    assert check_finite("x", 1.0) is None
    assert check_gradient_close("x", [1.0], [1.0]) is None


# --------------------------------------------------------------------------- check_close


def test_check_close_reports_the_worst_entry_with_values_error_and_tolerance():
    expected = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    got = expected.copy()
    got[0, 0] = 1.001  # relative error 1e-3
    got[1, 2] = 6.6  # relative error 0.1: the worst
    message = failure(check_close, "dL_dW", got, expected)
    assert "2 of 6 values are wrong" in message
    assert "worst at index [1, 2]: got 6.6, expected 6.0" in message
    assert "relative error 1.0e-01" in message
    assert "rtol=1e-12, atol=0" in message


def test_check_close_tolerance_is_relative_to_expected():
    expected = np.array([1.0, -200.0])
    check_close("x", expected * (1 + 0.9e-9), expected, rtol=1e-9)
    assert "values are wrong" in failure(check_close, "x", expected * (1 + 2e-9), expected, rtol=1e-9)
    check_close("x", [1e-13], [0.0], atol=1e-12)
    message = failure(check_close, "x", [1e-13], [0.0])
    assert "expected is 0, so only the absolute difference counts" in message


def test_check_close_prints_all_digits():
    check_close("s", 0.1 + 0.2, 0.3)  # within rtol=1e-12
    message = failure(check_close, "s", 0.1 + 0.2, 0.3, rtol=0.0)  # exact comparison
    assert "got 0.30000000000000004, expected 0.3" in message


def test_check_close_scalar_message_is_one_line():
    message = failure(check_close, "loss", 0.52, 0.5)
    assert message.startswith("loss: got 0.52, expected 0.5 (difference 2.00e-02, relative error 4.0e-02)")


def test_check_close_nan_inf_and_complex():
    message = failure(check_close, "y", [1.0, np.nan, np.nan], [1.0, 2.0, 3.0])
    assert "2 NaN value(s) (first at index [1])" in message and "0/0" in message
    check_close("inf", [np.inf, -np.inf], [np.inf, -np.inf])
    check_close("nan where expected", [np.nan], [np.nan])
    assert "got -inf, expected inf" in failure(check_close, "inf", [-np.inf], [np.inf])
    message = failure(check_close, "d", [1.0 + 1e-20j, 2.0], [1.0, 2.0])
    assert "expected a real number, but your answer is complex: (1+1e-20j) at index [0]" in message
    assert "np.real or np.imag" in message
    check_close("complex expected", [1 + 2j], [1 + 2j])
    assert "values are wrong" in failure(check_close, "c", [1 + 3j], [1 + 2j])


def test_check_close_shape_mismatch_hints():
    message = failure(check_close, "W", np.zeros((3, 2)), np.zeros((2, 3)))
    assert "your answer has shape (3, 2), but it should have shape (2, 3)" in message
    assert "transposed" in message
    message = failure(check_close, "b", np.zeros((4, 1)), np.zeros(4))
    assert "(n, 1)" in message
    message = failure(check_close, "b", np.zeros((8, 4)), np.zeros(4))
    assert "extra first axis of length 8" in message and "sum over axis 0" in message


@pytest.mark.parametrize("transform, phrase", [
    (lambda e: -e, "sign flipped"),
    (lambda e: 2 * e, "2 times the expected one"),
    (lambda e: e / 8, "1/8 times the expected one"),
    (lambda e: np.where(np.arange(5) == 3, e + 1, e), "4 of 5 entries are right, 1 wrong"),
])
def test_check_close_adds_a_hint_for_recognised_mistakes(transform, phrase):
    expected = np.array([0.3, -1.2, 2.5, 0.7, -0.4])
    message = failure(check_close, "g", transform(expected), expected)
    assert "Hint: " in message and phrase in message


def test_check_close_names_a_cause_only_from_the_callers_slips():
    expected = np.array([0.3, -1.2, 2.5])
    zeros = np.zeros(3)
    message = failure(check_close, "g", zeros, expected)
    assert "all zeros" in message and "+=" not in message and "Likely cause" not in message
    slips = {"the imaginary part was dropped (a real array)": zeros,
             "the step was never used": expected}  # matches expected too: never reported
    message = failure(check_close, "g", zeros, expected, slips=slips)
    assert "Likely cause: the imaginary part was dropped" in message and "Hint" not in message
    message = failure(check_close, "g", -expected, expected, slips=slips)
    assert "Likely cause" not in message and "sign flipped" in message
    assert "y_hat" not in message and "update" not in message  # no other problem set's words


def test_check_close_rejects_bad_instructor_arguments():
    with pytest.raises(TypeError, match="name must be a string"):
        check_close(3, 1.0, 1.0)
    with pytest.raises(ValueError, match="rtol must be a finite number >= 0"):
        check_close("x", 1.0, 1.0, rtol=-1.0)
    with pytest.raises(TypeError, match="atol must be a real number"):
        check_close("x", 1.0, 1.0, atol="small")
    with pytest.raises(TypeError, match="expected must be a number"):
        check_close("x", 1.0, None)


# --------------------------------------------------------------------------- check_shape, _scalar, _finite


def test_check_shape_messages():
    message = failure(check_shape, "W1", np.zeros((5, 3)), (3, 5))
    assert "your array has shape (5, 3), but it should have shape (3, 5)" in message
    assert "transposed" in message
    message = failure(check_shape, "b", np.zeros(10), (1, 10))
    assert "should have shape (1, 10)" in message and "reshape" in message
    message = failure(check_shape, "probs", np.zeros((4, 9)), (None, 10))
    assert "should have shape (any, 10)" in message
    message = failure(check_shape, "v", np.zeros(3), (4,))
    assert "should have shape (4,)." in message
    assert "string" in failure(check_shape, "v", "abc", (3,))


def test_check_shape_rejects_a_bad_expected_shape():
    for bad in ([3, 4], (3.0,), (-1,), (True,), 3):
        with pytest.raises(TypeError, match="expected_shape"):
            check_shape("x", np.zeros(3), bad)


def test_check_scalar_messages():
    message = failure(check_scalar, "loss", np.ones(3), 3.0)
    assert "expected a single number, but got 3 values (an array of shape (3,))" in message
    assert "1 infinite value(s) (inf)" in failure(check_scalar, "loss", float("inf"))
    assert "NaN" in failure(check_scalar, "loss", np.float64("nan"), 1.0)
    assert "got 2.0, expected 1.0" in failure(check_scalar, "loss", 2.0, 1.0)
    with pytest.raises(ValueError, match="expected must be a single number"):
        check_scalar("loss", 1.0, [1.0, 2.0])


def test_check_finite_counts_and_locates():
    message = failure(check_finite, "H", [[1.0, np.inf], [np.nan, np.nan]])
    assert "2 NaN and 1 infinite value(s) (first at index [0, 1]: inf)" in message
    message = failure(check_finite, "z", np.array([1.0 + 0j, complex(0.0, np.inf)]))
    assert "infinite" in message


# --------------------------------------------------------------------------- diagnose_gradient


def test_diagnose_a_match_and_a_near_miss(layer):
    dW = layer["dL_dW"]
    assert "matches the expected gradient" in diagnose_gradient(dW.copy(), dW, name="dL_dW")
    message = diagnose_gradient(dW * (1 + 1e-9), dW, name="dL_dW")
    assert message.startswith("dL_dW: almost right (relative error 1.0e-09")


def test_diagnose_transposed_rectangular_and_square(layer):
    dW = layer["dL_dW"]
    message = diagnose_gradient(dW.T, dW, name="dL_dW")
    assert message.startswith("dL_dW looks transposed")
    assert "(5, 3)" in message and "(3, 5)" in message
    square = np.arange(9.0).reshape(3, 3)
    assert "looks transposed" in diagnose_gradient(square.T, square)
    # a transposed *and* sign-flipped answer says both
    message = diagnose_gradient(-dW.T, dW)
    assert "looks transposed" in message and "sign flipped" in message


def test_diagnose_does_not_call_a_symmetric_matrix_transposed():
    symmetric = np.array([[2.0, 1.0], [1.0, 3.0]])
    message = diagnose_gradient(symmetric + 1.0, symmetric)
    assert "transposed" not in message


def test_diagnose_bias_not_summed_over_the_batch(layer):
    dL_dY, db = layer["dL_dY"], layer["dL_db"]
    message = diagnose_gradient(dL_dY, db, name="dL_db")
    assert message.startswith("dL_db: bias gradient not summed over the batch")
    assert "(8, 5)" in message and "sum over axis 0" in message and "8 examples" in message
    assert "sum over axis 1" in diagnose_gradient(dL_dY.T, db)
    assert "mean over axis 0" in diagnose_gradient(dL_dY, dL_dY.mean(axis=0))
    assert "not summed" in diagnose_gradient(dL_dY, db[None, :])  # keepdims reference


def test_diagnose_sign_factor_zeros_and_nan(layer):
    dW = layer["dL_dW"]
    assert "sign flipped" in diagnose_gradient(-dW, dW)
    message = diagnose_gradient(2 * dW, dW)
    assert "off by a constant factor: yours is 2 times" in message and "1/2" in message
    message = diagnose_gradient(dW / 8, dW)
    assert "yours is 1/8 times" in message and "batch size" in message
    assert "yours is 32 times" in diagnose_gradient(32 * dW, dW)
    assert "minus 2 times" in diagnose_gradient(-2 * dW, dW)
    assert "yours is 0.37 times" in diagnose_gradient(0.37 * dW, dW)
    assert "all zeros" in diagnose_gradient(np.zeros_like(dW), dW)
    broken = dW.copy()
    broken[2, 1] = np.nan
    assert "1 NaN" in diagnose_gradient(broken, dW)


def test_diagnose_known_wrong_answers_from_candidates(layer):
    H = np.tanh(layer["X"] @ layer["W"])
    dL_dH = layer["dL_dY"]
    correct = dL_dH * (1 - H**2)
    message = diagnose_gradient(dL_dH, correct, name="dL_dZ",
                                candidates={"missing tanh derivative (1 - H**2)": dL_dH})
    assert message == "dL_dZ: looks like: missing tanh derivative (1 - H**2)"
    # without the candidate, no generic rule claims it
    assert "no simple pattern" in diagnose_gradient(dL_dH, correct, name="dL_dZ")
    with pytest.raises(TypeError, match="candidates must map"):
        diagnose_gradient(dL_dH, correct, candidates=[dL_dH])


def test_diagnose_wrong_shape_and_partial_answers(layer):
    db = layer["dL_db"]
    assert "right numbers, wrong shape" in diagnose_gradient(db[:, None], db)
    assert "no simple pattern" in diagnose_gradient(np.ones(7), db)
    dW = layer["dL_dW"].copy()
    expected = dW.copy()
    dW[:, 4] += 1.0
    message = diagnose_gradient(dW, expected)
    assert "12 of 15 entries are right, 3 wrong, all in column 4" in message
    dW = expected.copy()
    dW[1, :] *= 3
    assert "all in row 1" in diagnose_gradient(dW, expected)


def test_diagnose_describes_a_bad_value_instead_of_raising():
    assert "returned None" in diagnose_gradient(None, np.ones(2))
    assert "string" in diagnose_gradient("grad", np.ones(2))


# --------------------------------------------------------------------------- check_gradient_close


def test_check_gradient_passes_at_machine_precision_and_uses_rel_error(layer):
    dW = layer["dL_dW"]
    other_order = np.einsum("ni,nj->ij", layer["X"], layer["dL_dY"])  # same maths, other rounding
    check_gradient_close("dL_dW", other_order, dW)
    assert grading.rel_error is numdiff.rel_error
    message = failure(check_gradient_close, "dL_dW", dW * (1 + 3e-12), dW)
    assert "Relative error ||got - expected|| / ||expected|| = 3.00e-12, tolerance 1e-12" in message
    check_gradient_close("dL_dW", dW * (1 + 3e-12), dW, rtol=1e-11)
    check_gradient_close("zero", [1e-14, 0.0], [0.0, 0.0], atol=1e-13)


def test_check_gradient_failure_includes_the_diagnosis(layer):
    dW, db = layer["dL_dW"], layer["dL_db"]
    message = failure(check_gradient_close, "dL_dW", dW.T, dW)
    assert "should have shape (3, 5)" in message and "Diagnosis: dL_dW looks transposed" in message
    message = failure(check_gradient_close, "dL_db", layer["dL_dY"], db)
    assert "Diagnosis: dL_db: bias gradient not summed over the batch" in message
    message = failure(check_gradient_close, "dL_dW", -dW, dW)
    assert "wrong gradient" in message and "worst entry at index [" in message
    assert "Diagnosis: dL_dW: sign flipped" in message
    message = failure(check_gradient_close, "dL_dW", dW, 2 * dW)
    assert "1/2 times" in message
    message = failure(check_gradient_close, "dL_dW", np.full((3, 5), np.inf), dW)
    assert "15 infinite value(s)" in message


# --------------------------------------------------------------------------- cmp


def test_cmp_prints_one_karpathy_style_line(capfd, layer):
    dW = layer["dL_dW"]
    assert cmp("dW", dW.copy(), dW) is None
    cmp("dW", dW * (1 + 1e-13), dW)
    cmp("dW", dW.T, dW)
    cmp("dW", 2 * dW, dW)
    cmp("db", None, layer["dL_db"])
    lines = capfd.readouterr().out.splitlines()
    assert len(lines) == 5
    assert re.fullmatch(r"dW {14}\| exact", lines[0])
    assert re.fullmatch(r"dW {14}\| approximately \(max diff \d\.\de-1[234]\)", lines[1])
    assert lines[2].startswith("dW              | WRONG (dW looks transposed")
    assert lines[3].startswith("dW              | WRONG (max diff ") and "2 times" in lines[3]
    assert lines[4] == "db              | WRONG (your function returned None; did you forget `return`?)"


# --------------------------------------------------------------------------- CallCounter


def test_call_counter_counts_passes_arguments_and_resets():
    def f(x, scale=1.0):
        """Doc of f."""
        return scale * x**2

    counted = CallCounter(f)
    assert counted.__name__ == "f" and counted.__doc__ == "Doc of f." and counted.__wrapped__ is f
    assert counted(3.0) == 9.0 and counted(np.array([1.0, 2.0]), scale=2.0).tolist() == [2.0, 8.0]
    assert counted.calls == 2 and repr(counted) == "CallCounter(f, calls=2)"
    counted.reset()
    assert counted.calls == 0
    numdiff.derivative(counted, 1.5, method="central-difference")
    assert counted.calls >= 2  # a central difference needs two evaluations at least


def test_call_counter_limit():
    counted = CallCounter(np.sin, max_calls=2)
    counted(0.1)
    counted(0.2)
    message = failure(counted, 0.3)
    assert "sin was evaluated more than 2 times" in message
    with pytest.raises(TypeError, match="f must be a function"):
        CallCounter(3.0)
    with pytest.raises(ValueError, match="max_calls"):
        CallCounter(np.sin, max_calls=-1)


# --------------------------------------------------------------------------- problem generators


def test_generators_are_reproducible_and_seed_dependent():
    np.testing.assert_array_equal(grading.random_points(5), grading.random_problem(5, "points"))
    assert not np.array_equal(grading.random_points(5), grading.random_points(6))
    first, again = grading.random_layer(5), grading.random_problem(5, "layer")
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert grading.random_layer(5).X.tolist() != grading.random_layer(6).X.tolist()
    assert grading.random_problem(5, "mlp_sizes", depth=3) == grading.random_mlp_sizes(5, depth=3)
    assert len({tuple(grading.random_mlp_sizes(s, depth=3)) for s in range(10)}) > 1
    assert grading.random_problem(5, "smooth").formula == grading.random_smooth_function(5).formula
    assert grading.random_smooth_function(5).formula != grading.random_smooth_function(6).formula


@pytest.mark.parametrize("seed", range(10))
def test_smooth_function_derivatives_are_exact(seed):
    problem = grading.random_smooth_function(seed)
    x = grading.random_points(seed, 7)
    h = 1e-200
    complex_step = np.imag(problem.f(x + 1j * h)) / h
    assert numdiff.rel_error(problem.df(x), complex_step) < 1e-13
    second = np.imag(problem.df(x + 1j * h)) / h
    assert numdiff.rel_error(problem.d2f(x), second) < 1e-13
    assert problem.formula.startswith("f(x) = ")


def test_random_points_shapes_and_range():
    x = grading.random_points(0, 50, low=1.0, high=2.0)
    assert x.shape == (50,) and x.min() >= 1.0 and x.max() < 2.0
    assert grading.random_points(0, 4, dim=3).shape == (4, 3)
    with pytest.raises(ValueError, match="low < high"):
        grading.random_points(0, 4, low=2.0, high=1.0)


def test_random_layer_shapes_are_distinct_and_consistent():
    for seed in range(20):
        X, W, b, dL_dY = grading.random_layer(seed)
        batch, n_in = X.shape
        n_out = W.shape[1]
        assert len({batch, n_in, n_out}) == 3
        assert W.shape == (n_in, n_out) and b.shape == (n_out,) and dL_dY.shape == (batch, n_out)
    X, W, b, dL_dY = grading.random_layer(0, n_in=4, n_out=4, batch=2)
    assert X.shape == (2, 4) and W.shape == (4, 4) and dL_dY.shape == (2, 4)


def test_random_mlp_sizes():
    sizes = grading.random_mlp_sizes(3, depth=4, low=2, high=3)
    assert len(sizes) == 5 and set(sizes) <= {2, 3}


@pytest.mark.parametrize("call, error, match", [
    (lambda: grading.random_problem(0, "matrix"), ValueError, "unknown kind 'matrix'"),
    (lambda: grading.random_points(-1), ValueError, "seed must be >= 0"),
    (lambda: grading.random_layer("0"), TypeError, "seed must be an integer"),
    (lambda: grading.random_points(0, 0), ValueError, "n must be at least 1"),
    (lambda: grading.random_mlp_sizes(0, depth=0), ValueError, "depth must be at least 1"),
])
def test_generators_reject_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --------------------------------------------------------------------------- no warnings, anywhere


NASTY = [None, "x", [1.0, np.nan], [np.inf, -np.inf], [1e308, -1e308], [1 + 1j, 2.0],
         np.array([1e-320, 0.0]), [[1.0], [2.0, 3.0]], np.ones((2, 1)), object()]


@pytest.mark.parametrize("got", NASTY, ids=lambda v: type(v).__name__)
def test_no_warning_on_any_path(got, recwarn, capfd):
    expected = np.array([1e-300, 2.0])
    for call in (
        lambda: check_close("g", got, expected),
        lambda: check_close("g", got, [np.inf, 0.0]),
        lambda: check_scalar("g", got, 1.0),
        lambda: check_shape("g", got, (2,)),
        lambda: check_finite("g", got),
        lambda: check_gradient_close("g", got, expected),
        lambda: check_gradient_close("g", got, np.zeros(2)),
    ):
        try:
            call()
        except AssertionError:
            pass
    diagnose_gradient(got, expected)
    diagnose_gradient(got, np.zeros(2))
    cmp("g", got, expected)
    assert len(recwarn) == 0
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out.startswith("g ")
