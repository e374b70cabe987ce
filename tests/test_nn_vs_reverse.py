"""mlpkit.nn's hand-written backward passes equal mlpkit.reverse on the same maths.

The references below are the textbook formulas written as plain NumPy, independently of the
layer classes; mlpkit.reverse differentiates them. Agreement to 1e-12 in relative norm.
"""

import numpy as np
import pytest

from mlpkit import nn, reverse
from mlpkit.numdiff import rel_error

TOL = 1e-12


def shapes():
    """Random (batch, n_in, n_out) shapes, batch size 1 included."""
    rng = np.random.default_rng(2024)
    return [(1, 3, 2), (5, 4, 3)] + [tuple(int(v) for v in rng.integers(1, 7, size=3)) for _ in range(3)]


ACTIVATION_FORMULAS = {
    "Tanh": (nn.Tanh, np.tanh),
    "Sigmoid": (nn.Sigmoid, lambda s: 1 / (1 + np.exp(-s))),
    "ReLU": (nn.ReLU, lambda s: np.maximum(s, 0.0)),
    "LeakyReLU": (lambda: nn.LeakyReLU(0.1), lambda s: np.where(s > 0, s, 0.1 * s)),
    "Softplus": (nn.Softplus, lambda s: np.log1p(np.exp(s))),
    "Identity": (nn.Identity, lambda s: s),
}


@pytest.mark.parametrize("name", list(ACTIVATION_FORMULAS))
@pytest.mark.parametrize("shape", shapes())
def test_activation_backward_equals_reverse_mode(name, shape):
    make, formula = ACTIVATION_FORMULAS[name]
    rng = np.random.default_rng(hash((name, shape)) % 2**32)
    n, p, _ = shape
    X = rng.normal(size=(n, p))
    X[np.abs(X) < 1e-3] = 0.5  # stay off the kink of ReLU-like units
    dL_dY = rng.normal(size=(n, p))
    layer = make()
    layer.forward(X)
    got = layer.backward(dL_dY)
    expected = reverse.gradient(lambda S: np.sum(formula(S) * dL_dY), X)
    assert rel_error(got, expected) <= TOL, f"{name}: {got} vs {expected}"


@pytest.mark.parametrize("shape", shapes())
def test_linear_backward_equals_reverse_mode(shape):
    n, p, k = shape
    rng = np.random.default_rng(n * 100 + p * 10 + k)
    X, W, b, dL_dY = (rng.normal(size=s) for s in [(n, p), (p, k), (k,), (n, k)])
    layer = nn.Linear.from_weights(W, b)
    layer.forward(X)
    dL_dX = layer.backward(dL_dY)
    loss = lambda X, W, b: np.sum((X @ W + b) * dL_dY)
    assert rel_error(dL_dX, reverse.gradient(lambda X_: loss(X_, W, b), X)) <= TOL
    assert rel_error(layer.dL_dW, reverse.gradient(lambda W_: loss(X, W_, b), W)) <= TOL
    assert rel_error(layer.dL_db, reverse.gradient(lambda b_: loss(X, W, b_), b)) <= TOL


def _log_softmax(Z):
    shifted = Z - np.max(Z, axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


LOSS_FORMULAS = {
    "MSE": (nn.MSE, lambda F, Y: np.mean((F - Y) ** 2), "real"),
    "HalfSquaredError": (nn.HalfSquaredError, lambda F, Y: 0.5 * np.sum((F - Y) ** 2), "real"),
    "MAE": (nn.MAE, lambda F, Y: np.mean(np.abs(F - Y)), "real"),
    "BinaryCrossEntropy": (
        nn.BinaryCrossEntropy,
        lambda Z, Y: np.mean(Y * np.log1p(np.exp(-Z)) + (1 - Y) * np.log1p(np.exp(Z))), "binary"),
    "SoftmaxCrossEntropy": (
        nn.SoftmaxCrossEntropy,
        lambda Z, y: -np.mean(_log_softmax(Z)[np.arange(Z.shape[0]), y]), "labels"),
}


@pytest.mark.parametrize("name", list(LOSS_FORMULAS))
@pytest.mark.parametrize("shape", shapes())
def test_loss_backward_equals_reverse_mode(name, shape):
    make, formula, kind = LOSS_FORMULAS[name]
    n, _, k = shape
    k = max(k, 2)
    rng = np.random.default_rng(len(name) * 1000 + n * 10 + k)
    F = rng.normal(size=(n, k)) * 2
    target = {"real": rng.normal(size=(n, k)), "binary": rng.integers(0, 2, size=(n, k)).astype(float),
              "labels": rng.integers(0, k, size=n)}[kind]
    loss = make()
    value = loss.forward(F, target)
    got = loss.backward()
    expected = reverse.gradient(lambda F_: formula(F_, target), F)
    assert abs(value - formula(F, target)) <= 1e-12 * max(1.0, abs(value))
    assert rel_error(got, expected) <= TOL, f"{name}: {got} vs {expected}"


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_whole_mlp_backprop_equals_reverse_gradient_of_the_same_loss(activation):
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(6, 4)), rng.integers(0, 3, size=6)
    model = nn.MLP([4, 5, 4, 3], activation=activation, output="softmax", seed=3)
    loss = nn.SoftmaxCrossEntropy()
    loss.forward(model.forward(X), y)
    model.zero_grad()
    model.backward(loss.backward())
    params = model.parameters()
    shapes_ = [p.value.shape for p in params]
    act = {"tanh": np.tanh, "relu": lambda s: np.maximum(s, 0.0),
           "sigmoid": lambda s: 1 / (1 + np.exp(-s))}[activation]

    def flat_loss(theta):
        arrays, start = [], 0
        for shape in shapes_:
            size = int(np.prod(shape))
            arrays.append(theta[start:start + size].reshape(shape))
            start += size
        A = X
        for i in range(0, len(arrays) - 2, 2):
            A = act(A @ arrays[i] + arrays[i + 1])
        Z = A @ arrays[-2] + arrays[-1]
        return -np.mean(_log_softmax(Z)[np.arange(len(y)), y])

    theta = np.concatenate([p.value.ravel() for p in params])
    expected = reverse.gradient(flat_loss, theta)
    got = np.concatenate([p.grad.ravel() for p in params])
    assert rel_error(got, expected) <= TOL
