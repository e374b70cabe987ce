r"""Second derivatives by nesting the AD modes: Hessian-vector products and Hessians.

For a scalar function :math:`f: \mathbb R^n \to \mathbb R` (twice differentiable at x), the
Hessian-vector product :math:`H(x) v = \tfrac{d}{dt} \nabla f(x + t v)\big|_{t=0}` is a
derivative of a derivative, so it is one differentiation mode applied to another:

=========================  ======================================================  ==============
``mode``                   computation                                             cost
=========================  ======================================================  ==============
forward-over-reverse       ``forward.jvp(lambda y: reverse.gradient(f, y), x, v)``  a few f
reverse-over-reverse       ``reverse.gradient(lambda y: grad f(y) . v, x)``         a few f
reverse-over-forward       ``reverse.gradient(lambda y: forward.jvp(f, y, v), x)``  a few f
forward-over-forward       ``forward.gradient(lambda y: forward.jvp(f, y, v), x)``  n passes
=========================  ======================================================  ==============

Forward-over-reverse is the default (Pearlmutter 1994; the choice of JAX and of HIPS autograd):
the gradient is a function R^n -> R^n, and one forward sweep through it gives its derivative along
v at a small constant multiple of the cost of the gradient, whatever n.  The other nestings give
the same numbers (to rounding) and are there to compare.  A full Hessian is n Hessian-vector
products, one per column.

This module imports :mod:`mlpkit.forward` and :mod:`mlpkit.reverse`; they do not import it, so a
problem set can forbid it while allowing them.
"""

from __future__ import annotations

import numpy as np

from mlpkit import forward, reverse
from mlpkit._checks import check_callable, check_same_shape
from mlpkit.nesting import as_input, plain_result

__all__ = ["MODES", "hvp", "hessian"]

MODES = ("forward-over-reverse", "reverse-over-reverse", "reverse-over-forward",
         "forward-over-forward")


def _check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")


def _hvp(f, x, v, mode):
    if mode == "forward-over-reverse":  # (x and v are checked: skip jvp's checks and copies)
        return forward._push_forward(lambda y: reverse.gradient(f, y), x, v)[1]
    if mode == "reverse-over-reverse":
        return reverse.gradient(lambda y: np.sum(reverse.gradient(f, y) * v), x)
    if mode == "reverse-over-forward":
        return reverse.gradient(lambda y: forward.jvp(f, y, v)[1], x)
    return forward.gradient(lambda y: forward.jvp(f, y, v)[1], x)


def hvp(f, x, v, mode: str = "forward-over-reverse"):
    """The Hessian-vector product H(x) v of a scalar-valued ``f``, shaped like ``x``.

    ``x`` and ``v`` have the same shape (a float is returned for a scalar x).  ``mode`` picks the
    nesting (:data:`MODES`).  Nests further: ``f`` may itself differentiate, and ``hvp`` may be
    differentiated (a third derivative).
    """
    check_callable(f)
    _check_mode(mode)
    x, v = as_input(x, "x", copy=False), as_input(v, "v", copy=False)  # only read, never returned
    check_same_shape(np.shape(x), np.shape(v), "hvp: x and the vector v")
    return plain_result(_hvp(f, x, v, mode))


def hessian(f, x, mode: str = "forward-over-reverse") -> np.ndarray:
    """The Hessian of a scalar-valued ``f`` as a 2-D array (x.size, x.size).

    Column j is the Hessian-vector product with the unit vector e_j (x flattened in C order):
    n Hessian-vector products in the chosen ``mode``.
    """
    check_callable(f)
    _check_mode(mode)
    x = as_input(x, "x")
    n = int(np.size(x))
    columns = []
    for j in range(n):
        e_j = np.zeros(np.shape(x))
        e_j.flat[j] = 1.0
        columns.append(np.ravel(_hvp(f, x, e_j, mode)))
    if not columns:
        return np.zeros((0, 0))
    return np.stack(columns, axis=1)
