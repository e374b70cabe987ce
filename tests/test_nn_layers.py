"""Layers of mlpkit.nn: backward passes against the complex step and central differences.

Tolerances (relative error in norm): 1e-12 against the complex step (exact up to rounding),
1e-8 against central differences (truncation and round-off errors of about 1e-10 expected).
"""

import numpy as np
import pytest

from mlpkit.nn import (
    MLP,
    Identity,
    LeakyReLU,
    Linear,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Softplus,
    Tanh,
    make_activation,
    sigmoid,
    softplus,
)
from mlpkit.numdiff import gradient, rel_error

COMPLEX_STEP_TOL = 1e-12
CENTRAL_TOL = 1e-8
TOLERANCES = {"complex-step": COMPLEX_STEP_TOL, "central-difference": CENTRAL_TOL}
METHODS = list(TOLERANCES)

# (batch size n, inputs p, outputs q): batch size 1 and single features included
SHAPES = [(1, 1, 1), (1, 4, 3), (5, 3, 2), (8, 6, 7)]


def away_from_zero(rng, shape, margin=0.1):
    """Random numbers with |x| >= margin, so that kinks at 0 are never crossed by a step."""
    return rng.choice([-1.0, 1.0], size=shape) * (margin + np.abs(rng.standard_normal(shape)))


def numeric_input_gradient(layer, X, dL_dY, method):
    """Gradient of the scalar sum(dL_dY * layer(X)) with respect to X, numerically."""
    return gradient(lambda Z: np.sum(dL_dY * layer.forward(Z)), X, method=method)


def numeric_parameter_gradient(network, attribute_owner, name, X, dL_dY, method):
    """Gradient of sum(dL_dY * network(X)) with respect to attribute_owner.<name>."""
    original = getattr(attribute_owner, name)

    def f(value):
        setattr(attribute_owner, name, value)
        try:
            return np.sum(dL_dY * network.forward(X))
        finally:
            setattr(attribute_owner, name, original)

    return gradient(f, original, method=method)


# --------------------------------------------------------------------------- Linear


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n, p, q", SHAPES)
def test_linear_backward_matches_numerical_gradients(n, p, q, method):
    rng = np.random.default_rng(n * 100 + p * 10 + q)
    layer = Linear(p, q, seed=1)
    layer.b = rng.standard_normal(q)
    X = rng.standard_normal((n, p))
    dL_dY = rng.standard_normal((n, q))
    layer.forward(X)
    dL_dX = layer.backward(dL_dY)
    dL_dW, dL_db = layer.dL_dW.copy(), layer.dL_db.copy()
    assert dL_dX.shape == X.shape and dL_dW.shape == (p, q) and dL_db.shape == (q,)
    tol = TOLERANCES[method]
    assert rel_error(dL_dX, numeric_input_gradient(layer, X, dL_dY, method)) < tol
    assert rel_error(dL_dW, numeric_parameter_gradient(layer, layer, "W", X, dL_dY, method)) < tol
    assert rel_error(dL_db, numeric_parameter_gradient(layer, layer, "b", X, dL_dY, method)) < tol


def test_linear_matches_the_matrix_formulas():
    rng = np.random.default_rng(0)
    W, b = rng.standard_normal((3, 2)), rng.standard_normal(2)
    layer = Linear.from_weights(W, b)
    X, G = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    np.testing.assert_allclose(layer.forward(X), X @ W + b, rtol=1e-15)
    np.testing.assert_allclose(layer.backward(G), G @ W.T, rtol=1e-15)
    np.testing.assert_allclose(layer.dL_dW, X.T @ G, rtol=1e-15)
    np.testing.assert_allclose(layer.dL_db, G.sum(axis=0), rtol=1e-15)


def test_linear_can_skip_the_input_gradient():
    rng = np.random.default_rng(1)
    layer = Linear(3, 2, seed=0)
    X, G = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    layer.forward(X)
    assert layer.backward(G, need_dL_dX=False) is None
    np.testing.assert_allclose(layer.dL_dW, X.T @ G, rtol=1e-15)


# --------------------------------------------------------------------------- activations

SMOOTH = [Tanh, Sigmoid, Softplus, Identity]
KINKED = [ReLU, LeakyReLU]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n, p, q", SHAPES)
@pytest.mark.parametrize("Activation", SMOOTH + KINKED)
def test_activation_backward_matches_numerical_gradients(Activation, n, p, q, method):
    rng = np.random.default_rng(n + 7 * p)
    layer = Activation()
    # kinked ones stay away from 0, where their derivative jumps
    X = away_from_zero(rng, (n, p)) if Activation in KINKED else 2 * rng.standard_normal((n, p))
    dL_dY = rng.standard_normal((n, p))
    layer.forward(X)
    dL_dX = layer.backward(dL_dY)
    assert dL_dX.shape == X.shape
    assert rel_error(dL_dX, numeric_input_gradient(layer, X, dL_dY, method)) < TOLERANCES[method]


def test_relu_family_match_their_formulas_exactly():
    X = np.array([[-2.0, -0.5, 0.0, 0.5, 3.0]])
    G = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]])
    relu, leaky = ReLU(), LeakyReLU(alpha=0.1)
    np.testing.assert_array_equal(relu.forward(X), [[0.0, 0.0, 0.0, 0.5, 3.0]])
    np.testing.assert_array_equal(relu.backward(G), [[0.0, 0.0, 0.0, 4.0, 5.0]])  # 0 at x = 0
    np.testing.assert_allclose(leaky.forward(X), [[-0.2, -0.05, 0.0, 0.5, 3.0]], rtol=1e-15)
    np.testing.assert_allclose(leaky.backward(G), [[0.1, 0.2, 0.3, 4.0, 5.0]], rtol=1e-15)


def test_sigmoid_and_softplus_are_stable_and_accurate():
    x = np.array([-1000.0, -40.0, -1.0, 0.0, 2.0, 40.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow
        s, z = sigmoid(x), softplus(x)
    np.testing.assert_allclose(s[1:-1], 1 / (1 + np.exp(-x[1:-1])), rtol=1e-15)
    np.testing.assert_allclose(s[1], np.exp(-40.0), rtol=1e-14)   # relative accuracy in the tail
    assert s[0] == 0.0 and s[-1] == 1.0
    np.testing.assert_allclose(z[1:-1], np.log1p(np.exp(x[1:-1])), rtol=1e-14)
    assert z[0] == 0.0 and z[-1] == 1000.0


def test_tanh_layer_matches_seed_000_recursion():
    """G_{l-1} = (1 - A ⊙ A) ⊙ (G_l W^T): the tanh backward step of the matrix form."""
    rng = np.random.default_rng(2)
    H = rng.standard_normal((4, 3))
    G_next = rng.standard_normal((4, 3))
    layer = Tanh()
    A = layer.forward(H)
    np.testing.assert_allclose(layer.backward(G_next), (1 - A * A) * G_next, rtol=1e-15)


# --------------------------------------------------------------------------- whole networks


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "softplus", "identity"])
@pytest.mark.parametrize("n", [1, 6])
def test_network_parameter_gradients_match_the_complex_step(activation, n):
    rng = np.random.default_rng(n)
    model = MLP([3, 4, 5, 2], activation=activation, seed=3)
    for p in model.parameters():
        p.value[...] = rng.standard_normal(p.value.shape)  # biases non-zero too
    X = rng.standard_normal((n, 3))
    dL_dY = rng.standard_normal((n, 2))
    model.forward(X)
    dL_dX = model.backward(dL_dY)
    assert rel_error(dL_dX, numeric_input_gradient(model, X, dL_dY, "complex-step")) < 1e-12
    for p in model.parameters():
        numeric = numeric_parameter_gradient(model, p.layer, p.attribute, X, dL_dY, "complex-step")
        assert rel_error(p.grad, numeric) < COMPLEX_STEP_TOL, p.name


def test_relu_network_gradients_match_central_differences():
    rng = np.random.default_rng(5)
    model = Sequential(Linear(2, 6, seed=0), ReLU(), Linear(6, 1, seed=1))
    X = rng.standard_normal((7, 2))
    dL_dY = rng.standard_normal((7, 1))
    H = model[0].forward(X)
    assert np.min(np.abs(H)) > 1e-3  # no hidden unit sits on its kink
    model.forward(X)
    model.backward(dL_dY)
    for p in model.parameters():
        numeric = numeric_parameter_gradient(model, p.layer, p.attribute, X, dL_dY,
                                             "central-difference")
        assert rel_error(p.grad, numeric) < 1e-7, p.name


def test_parameters_are_live_views_named_by_layer():
    model = MLP([2, 3, 1], seed=0)
    params = model.parameters()
    assert [p.name for p in params] == ["0.W", "0.b", "2.W", "2.b"]
    assert all(isinstance(p, Parameter) for p in params)
    assert params[0].value is model[0].W
    assert params[0].grad is None  # no backward pass yet
    model.forward(np.ones((4, 2)))
    model.backward(np.ones((4, 1)))
    assert params[0].grad is model[0].dL_dW and params[3].grad is model[2].dL_db
    model.zero_grad()
    assert all(np.all(p.grad == 0) and p.grad.shape == p.value.shape for p in params)


def test_float32_layers_stay_float32():
    rng = np.random.default_rng(0)
    model = MLP([5, 4, 3], activation="tanh", seed=0, dtype=np.float32)
    X = rng.standard_normal((6, 5)).astype(np.float32)
    Y = model.forward(X)
    dL_dX = model.backward(np.ones_like(Y))
    assert Y.dtype == np.float32 and dL_dX.dtype == np.float32
    assert all(p.value.dtype == np.float32 and p.grad.dtype == np.float32
               for p in model.parameters())
    for Activation in SMOOTH + KINKED:
        layer = Activation()
        assert layer.forward(X).dtype == np.float32
        assert layer.backward(X).dtype == np.float32


def test_same_seed_same_weights_and_float32_matches_float64_start():
    a, b = MLP([4, 3, 2], seed=7), MLP([4, 3, 2], seed=7)
    c = MLP([4, 3, 2], seed=7, dtype=np.float32)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters(), strict=True):
        np.testing.assert_array_equal(pa.value, pb.value)
        np.testing.assert_array_equal(pa.value.astype(np.float32), pc.value)
    assert not np.array_equal(a[0].W, MLP([4, 3, 2], seed=8)[0].W)


@pytest.mark.parametrize("init, expected_std", [
    ("normal", 0.01), ("xavier", np.sqrt(2 / (400 + 300))), ("he", np.sqrt(2 / 400)),
])
def test_initialisers_have_the_stated_spread(init, expected_std):
    W = Linear(400, 300, init=init, seed=0).W
    assert abs(W.mean()) < 0.05 * expected_std
    assert abs(W.std() / expected_std - 1) < 0.02


# --------------------------------------------------------------------------- clear errors


def test_linear_rejects_inputs_of_the_wrong_width():
    layer = Linear(3, 2, seed=0)
    with pytest.raises(ValueError, match=r"expects X of shape \(n, 3\), got \(4, 2\)"):
        layer.forward(np.ones((4, 2)))
    with pytest.raises(ValueError, match="reshape"):
        layer.forward(np.ones(3))


def test_backward_needs_forward_and_the_right_shape():
    for layer in (Linear(3, 2, seed=0), Tanh(), ReLU(), Softplus(), Identity()):
        with pytest.raises(RuntimeError, match="forward"):
            layer.backward(np.ones((4, 2)))
    layer = Linear(3, 2, seed=0)
    layer.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"\(4, 2\), got \(2, 4\)"):
        layer.backward(np.ones((2, 4)))
    tanh = Tanh()
    tanh.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match="shape"):
        tanh.backward(np.ones((4, 2)))


def test_sequential_checks_its_layers():
    with pytest.raises(ValueError, match="outputs 3 features but layer 2"):
        Sequential(Linear(2, 3, seed=0), Tanh(), Linear(4, 1, seed=0))
    shared = Tanh()
    with pytest.raises(ValueError, match="twice"):
        Sequential(Linear(2, 2, seed=0), shared, Linear(2, 2, seed=0), shared)
    with pytest.raises(TypeError, match="not a Layer"):
        Sequential(Linear(2, 2, seed=0), np.tanh)


def test_unknown_activation_lists_the_known_ones():
    with pytest.raises(ValueError, match="'tanh'.*'relu'"):
        make_activation("swish")
    with pytest.raises(ValueError, match="choose one of"):
        MLP([2, 2, 1], activation="gelu")
    with pytest.raises(ValueError, match="initialiser"):
        Linear(2, 2, init="orthogonal")
