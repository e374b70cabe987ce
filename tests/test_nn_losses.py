"""Losses of mlpkit.nn: values, gradients (complex step 1e-12, central differences 1e-8),
stability at extreme logits, and clear errors."""

import numpy as np
import pytest

from mlpkit.nn import (
    MAE,
    MSE,
    BinaryCrossEntropy,
    HalfSquaredError,
    SoftmaxCrossEntropy,
    get_loss,
)
from mlpkit.numdiff import gradient, rel_error

TOLERANCES = {"complex-step": 1e-12, "central-difference": 1e-8}
METHODS = list(TOLERANCES)
SHAPES = [(1, 1), (1, 3), (4, 1), (6, 5)]


def make_case(kind, n, k, rng):
    """(loss, predictions, targets) for a loss kind and a prediction shape (n, k)."""
    pred = 2 * rng.standard_normal((n, k))
    if kind == "mse":
        return MSE(), pred, rng.standard_normal((n, k))
    if kind == "half-sse":
        return HalfSquaredError(), pred, rng.standard_normal((n, k))
    if kind == "mae":  # keep |pred - target| >= 0.1, away from the kink
        gap = rng.choice([-1.0, 1.0], (n, k)) * (0.1 + np.abs(rng.standard_normal((n, k))))
        return MAE(), pred, pred - gap
    if kind == "bce-labels":
        return BinaryCrossEntropy(), pred, rng.integers(0, 2, (n, k)).astype(float)
    if kind == "bce-soft":
        return BinaryCrossEntropy(), pred, rng.uniform(0, 1, (n, k))
    if kind == "cross-entropy":
        k = max(k, 2)
        return SoftmaxCrossEntropy(), 2 * rng.standard_normal((n, k)), rng.integers(0, k, n)
    raise AssertionError(kind)


KINDS = ["mse", "half-sse", "mae", "bce-labels", "bce-soft", "cross-entropy"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n, k", SHAPES)
@pytest.mark.parametrize("kind", KINDS)
def test_loss_gradient_matches_numerical_gradient(kind, n, k, method):
    rng = np.random.default_rng(10 * n + k)
    loss, pred, target = make_case(kind, n, k, rng)
    value = loss.forward(pred, target)
    assert isinstance(value, float)
    dL_dpred = loss.backward()
    assert dL_dpred.shape == pred.shape
    numeric = gradient(lambda P: loss.forward(P, target), pred, method=method)
    assert rel_error(dL_dpred, numeric) < TOLERANCES[method]


def test_values_match_their_definitions():
    rng = np.random.default_rng(0)
    F, Y = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    assert MSE()(F, Y) == pytest.approx(np.mean((F - Y) ** 2), rel=1e-15)
    assert HalfSquaredError()(F, Y) == pytest.approx(0.5 * np.sum((F - Y) ** 2), rel=1e-15)
    assert MAE()(F, Y) == pytest.approx(np.mean(np.abs(F - Y)), rel=1e-15)

    z, y = rng.standard_normal((6, 1)) * 3, rng.integers(0, 2, (6, 1)).astype(float)
    p = 1 / (1 + np.exp(-z))
    naive_bce = np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p))
    assert BinaryCrossEntropy()(z, y) == pytest.approx(naive_bce, rel=1e-13)
    # the softplus form of seed 003: -log P(y) = zeta((1 - 2y) z)
    assert BinaryCrossEntropy()(z, y) == pytest.approx(np.mean(np.log1p(np.exp((1 - 2 * y) * z))),
                                                       rel=1e-13)

    Z, labels = rng.standard_normal((6, 4)) * 3, rng.integers(0, 4, 6)
    softmax = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    naive_ce = -np.mean(np.log(softmax[np.arange(6), labels]))
    ce = SoftmaxCrossEntropy()
    assert ce(Z, labels) == pytest.approx(naive_ce, rel=1e-13)
    onehot = np.eye(4)[labels]
    np.testing.assert_allclose(ce.backward(), (softmax - onehot) / 6, rtol=1e-13, atol=1e-17)
    np.testing.assert_allclose(ce.backward().sum(axis=1), 0, atol=1e-16)


def test_half_squared_error_gradient_is_seed_000s_G():
    F, Y = np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[0.5, 2.0], [4.0, 1.0]])
    loss = HalfSquaredError()
    assert loss(F, Y) == 0.5 * (0.25 + 0 + 1 + 16)
    np.testing.assert_array_equal(loss.backward(), F - Y)


def test_extreme_logits_give_finite_exact_losses_and_gradients():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        bce = BinaryCrossEntropy()
        z = np.array([[1000.0], [-1000.0], [1000.0], [-1000.0]])
        y = np.array([[1.0], [0.0], [0.0], [1.0]])
        assert bce(z, y) == pytest.approx((0 + 0 + 1000 + 1000) / 4, rel=1e-15)
        np.testing.assert_allclose(bce.backward(), [[0.0], [0.0], [0.25], [-0.25]], atol=1e-300)

        ce = SoftmaxCrossEntropy()
        Z = np.array([[1000.0, -1000.0, 0.0], [1000.0, -1000.0, 0.0]])
        assert ce(Z, np.array([0, 1])) == pytest.approx((0 + 2000) / 2, rel=1e-15)
        np.testing.assert_allclose(ce.backward(), [[0, 0, 0], [0.5, -0.5, 0]], atol=1e-300)


def test_float32_in_float32_out():
    rng = np.random.default_rng(0)
    pred = rng.standard_normal((4, 3)).astype(np.float32)
    for loss, target in [
        (MSE(), pred + 1), (HalfSquaredError(), pred + 1), (MAE(), pred + 1),
        (BinaryCrossEntropy(), (pred > 0).astype(np.float32)),
        (SoftmaxCrossEntropy(), np.array([0, 1, 2, 0])),
    ]:
        loss(pred, target)
        assert loss.backward().dtype == np.float32, loss


# --------------------------------------------------------------------------- clear errors


def test_shape_mismatch_is_named():
    with pytest.raises(ValueError, match=r"MSE: predictions versus targets: \(4, 1\) versus \(4,\)"):
        MSE()(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(ValueError, match="shape mismatch"):
        BinaryCrossEntropy()(np.zeros((4, 1)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        SoftmaxCrossEntropy()(np.zeros((3, 2)), np.zeros((3, 1), dtype=int))
    with pytest.raises(ValueError, match=r"shape \(n, k\)"):
        SoftmaxCrossEntropy()(np.zeros(3), np.zeros(3, dtype=int))


def test_bad_labels_are_named():
    with pytest.raises(ValueError, match="class label 3 is out of range.*0..2"):
        SoftmaxCrossEntropy()(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="out of range"):
        SoftmaxCrossEntropy()(np.zeros((2, 3)), np.array([-1, 0]))
    with pytest.raises(TypeError, match="integers"):
        SoftmaxCrossEntropy()(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        BinaryCrossEntropy()(np.zeros((2, 1)), np.array([[0.0], [2.0]]))


def test_backward_before_forward_and_unknown_names():
    with pytest.raises(RuntimeError, match="forward"):
        MSE().backward()
    with pytest.raises(ValueError, match="'mse'.*'cross-entropy'"):
        get_loss("hinge")
    assert isinstance(get_loss("softmax-cross-entropy"), SoftmaxCrossEntropy)
