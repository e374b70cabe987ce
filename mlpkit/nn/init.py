r"""Weight initialisers: where gradient descent starts.

Each initialiser returns a weight matrix :math:`W` of shape ``(n_in, n_out)`` (so a layer
computes :math:`Y = XW + b`); biases start at zero. The random numbers are drawn in float64
and then cast, so a float32 and a float64 network built with the same seed start from the
same weights (up to rounding).

==========  =====================================================  ============================
name        distribution of each :math:`W_{ij}`                     meant for
==========  =====================================================  ============================
``normal``  :math:`\mathcal N(0, \sigma^2)`, :math:`\sigma = 0.01`   "small random values" (Chen's slides)
``xavier``  :math:`\mathcal U(-a, a)`,                               tanh, sigmoid
            :math:`a = \sqrt{6 / (n_\text{in} + n_\text{out})}`
``he``      :math:`\mathcal N(0, 2 / n_\text{in})`                   ReLU family
==========  =====================================================  ============================

Xavier/Glorot (Glorot and Bengio 2010) keeps the variance of the activations and of the
back-propagated gradients about equal from layer to layer,
:math:`\operatorname{Var} W_{ij} = 2 / (n_\text{in} + n_\text{out})`; He et al. (2015) double
the forward variance, :math:`2 / n_\text{in}`, because a ReLU zeroes half of its inputs.
Too small a start (``normal`` in a deep tanh net) makes every signal, and so every gradient,
shrink layer after layer.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["normal", "xavier", "he", "INITIALISERS", "get_initialiser", "as_generator"]


def as_generator(seed) -> np.random.Generator:
    """A NumPy random generator from ``None``, an int seed >= 0 or a generator (returned as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"seed must be None, an integer >= 0 or a numpy Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


def normal(n_in: int, n_out: int, rng: np.random.Generator, dtype=np.float64,
           std: float = 0.01) -> np.ndarray:
    r"""Small Gaussian weights, :math:`W_{ij} \sim \mathcal N(0, \mathrm{std}^2)`; shape (n_in, n_out)."""
    return (std * rng.standard_normal((n_in, n_out))).astype(dtype)


def xavier(n_in: int, n_out: int, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    r"""Glorot uniform, :math:`W_{ij} \sim \mathcal U(-a, a)` with
    :math:`a = \sqrt{6/(n_\text{in} + n_\text{out})}`; shape (n_in, n_out)."""
    a = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-a, a, size=(n_in, n_out)).astype(dtype)


def he(n_in: int, n_out: int, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    r"""He normal, :math:`W_{ij} \sim \mathcal N(0, 2/n_\text{in})`; shape (n_in, n_out)."""
    return (np.sqrt(2.0 / n_in) * rng.standard_normal((n_in, n_out))).astype(dtype)


INITIALISERS = {"normal": normal, "xavier": xavier, "glorot": xavier, "he": he}


def get_initialiser(name):
    """The initialiser called ``name`` (see :data:`INITIALISERS`), or ``name`` if it is a function.

    A function must have the signature ``init(n_in, n_out, rng, dtype) -> array (n_in, n_out)``.
    """
    if callable(name):
        return name
    if name not in INITIALISERS:
        raise ValueError(
            f"unknown initialiser {name!r}; choose one of {', '.join(map(repr, INITIALISERS))} "
            "or pass a function init(n_in, n_out, rng, dtype)"
        )
    return INITIALISERS[name]
