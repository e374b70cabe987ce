"""Every array function that mlpkit.nn exports is differentiable in every mode, once and twice.

The test walks the public names (``__all__``) of every module of :mod:`mlpkit.nn`.  Each one is
either an array function tested here (the activations, as functions and as parameter-free
layers, and the losses called as functions of the predictions) or listed in
``NOT_ARRAY_FUNCTIONS`` with the reason it is not one.  A new export that is in neither fails
``test_every_export_is_classified``: it cannot be added without a decision.

For each array function f: numdiff (the complex step, or central differences where it does not
apply), forward and reverse mode agree (1e-12 relative; 1e-7 against central differences), and
the four nestings of ``second_order.hvp`` agree with each other and with a central difference of
the reverse gradient.
"""

import importlib
import pkgutil

import numpy as np
import pytest

import mlpkit.nn
from mlpkit import forward, numdiff, reverse, second_order
from mlpkit.measure import rel_error
from mlpkit.nn import layers, losses

RNG = np.random.default_rng(1717)
WEIGHTS = RNG.normal(size=(4, 3))  # f(x) = sum(weights * activation(x)): every entry matters
POINT = RNG.uniform(-2.0, 2.0, size=(4, 3))  # generic: no entry at a kink (0)
TARGET = RNG.normal(size=(4, 3))
LABELS = np.array([0, 2, 1, 2])
PROBABILITIES = RNG.uniform(0.0, 1.0, size=(4, 3))


def _activation_function(fn):
    return lambda x: np.sum(WEIGHTS * fn(x))


def _activation_layer(cls):
    return lambda x: np.sum(WEIGHTS * cls().forward(x))


def _loss(cls, target):
    return lambda x: cls()(x, target)


# export -> the scalar function of a (4, 3) array that differentiates it
ARRAY_FUNCTIONS = {
    "sigmoid": _activation_function(layers.sigmoid),
    "softplus": _activation_function(layers.softplus),
    **{cls.__name__: _activation_layer(cls) for cls in layers.ACTIVATIONS.values()},
    "MSE": _loss(losses.MSE, TARGET),
    "HalfSquaredError": _loss(losses.HalfSquaredError, TARGET),
    "MAE": _loss(losses.MAE, TARGET),
    "BinaryCrossEntropy": _loss(losses.BinaryCrossEntropy, PROBABILITIES),
    "SoftmaxCrossEntropy": _loss(losses.SoftmaxCrossEntropy, LABELS),
}

NOT_ARRAY_FUNCTIONS = {
    # containers and factories: what they build is tested through ARRAY_FUNCTIONS
    "ACTIVATIONS": "a table of the activation layers", "LOSSES": "a table of the losses",
    "INITIALISERS": "a table of random initialisers", "OPTIMIZERS": "a table of optimisers",
    "OUTPUTS": "a table of output units", "make_activation": "builds an activation layer",
    "get_loss": "builds a loss", "make_optimizer": "builds an optimiser",
    "get_initialiser": "looks up an initialiser",
    # base classes and classes with state or parameters
    "Layer": "abstract base class", "Loss": "abstract base class",
    "Optimizer": "abstract base class", "Parameter": "a handle on a layer's array",
    "Linear": "a layer with parameters (its forward is X @ W + b)",
    "Sequential": "a stack of layers", "MLP": "a model with parameters and a training loop",
    "History": "a record of training",
    # random draws and optimisers: no function of an input array to differentiate
    "normal": "random initialiser", "xavier": "random initialiser", "he": "random initialiser",
    "as_generator": "random generator", "SGD": "optimiser", "Adam": "optimiser",
    "GradientDescent": "optimiser", "Momentum": "optimiser", "Nesterov": "optimiser",
    "RMSProp": "optimiser",
}


def _exports():
    names = set(mlpkit.nn.__all__)
    for info in pkgutil.walk_packages(mlpkit.nn.__path__, "mlpkit.nn."):
        names |= set(getattr(importlib.import_module(info.name), "__all__", ()))
    return names


def test_every_export_is_classified():
    unclassified = _exports() - set(ARRAY_FUNCTIONS) - set(NOT_ARRAY_FUNCTIONS)
    assert unclassified == set(), ("exported by mlpkit.nn but neither differentiated here nor "
                                   f"listed as not an array function: {sorted(unclassified)}")
    assert set(ARRAY_FUNCTIONS) <= _exports()
    assert set(NOT_ARRAY_FUNCTIONS) <= _exports(), "stale entries: remove them"


def _reference(f, x):
    try:
        return numdiff.gradient(f, x, method="complex-step"), 1e-12
    except TypeError:  # not analytic in the complex plane (numdiff says so): central differences
        return numdiff.gradient(f, x, method="central-difference"), 1e-7


@pytest.mark.parametrize("name", list(ARRAY_FUNCTIONS))
def test_export_is_differentiable_by_numdiff_forward_and_reverse(name):
    f = ARRAY_FUNCTIONS[name]
    reference, tolerance = _reference(f, POINT)
    for mode, gradient in (("forward", forward.gradient), ("reverse", reverse.gradient)):
        got = gradient(f, POINT)
        assert np.shape(got) == POINT.shape
        err = rel_error(got, reference)
        assert err <= tolerance, f"{name}, {mode}: relative error {err:.1e} > {tolerance:.0e}"
    assert isinstance(f(POINT), float)  # the plain call still returns a plain number


@pytest.mark.parametrize("name", list(ARRAY_FUNCTIONS))
def test_export_is_differentiable_twice_by_nesting(name):
    f = ARRAY_FUNCTIONS[name]
    v = RNG.normal(size=POINT.shape)
    products = {mode: second_order.hvp(f, POINT, v, mode=mode) for mode in second_order.MODES}
    h = 1e-5
    difference = (reverse.gradient(f, POINT + h * v) - reverse.gradient(f, POINT - h * v)) / (2 * h)
    scale = max(np.linalg.norm(difference), 1.0)
    assert np.linalg.norm(products["forward-over-reverse"] - difference) <= 1e-6 * scale, name
    for mode, hv in products.items():
        assert np.linalg.norm(hv - products["forward-over-reverse"]) <= 1e-12 * scale, (name, mode)


def test_traced_calls_keep_the_plain_error_messages():
    """Bad input is refused with the same message whether or not the predictions are traced."""
    bad_target = np.zeros((4, 2))
    for grad in (forward.gradient, reverse.gradient):
        with pytest.raises(ValueError, match="predictions versus targets"):
            grad(lambda x: losses.MSE()(x, bad_target), POINT)
        with pytest.raises(ValueError, match="targets must be in"):
            grad(lambda x: losses.BinaryCrossEntropy()(x, TARGET * 5), POINT)
        with pytest.raises(TypeError, match="class labels must be integers"):
            grad(lambda x: losses.SoftmaxCrossEntropy()(x, LABELS * 1.0), POINT)
        with pytest.raises(ValueError, match="logits must have shape"):
            grad(lambda x: losses.SoftmaxCrossEntropy()(np.ravel(x), LABELS), POINT)
