"""Seeded problem generators for hidden tests: points, smooth functions, layers, MLP sizes."""

from __future__ import annotations

import numbers
from typing import Callable, NamedTuple

import numpy as np

from mlpkit._checks import check_count, check_seed


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
