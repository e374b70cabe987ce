"""Reverse-mode automatic differentiation: adjoints swept backwards over a recorded graph.

Two engines, one idea (the chain rule applied from the output back to the inputs):

- :mod:`mlpkit.reverse.scalar`: :class:`Var`, one number per node, small enough to read
  in a lecture (``y.backward()`` fills ``x.grad``);
- :mod:`mlpkit.reverse.array`: a tape of NumPy calls with one vector-Jacobian product (VJP)
  rule per primitive, fast enough to train an MLP.  The functions below use it: ``f`` is
  plain NumPy code, ``x`` a number or an array.

Shapes, for f: R^n -> R^m (x and f(x) may have any shape; n = x.size, m = f(x).size):

======================  =====================================================
``gradient(f, x)``      grad f(x), shaped like x (a float if x is a number); m = 1
``derivative(f, x)``    df/dx for a number x, shaped like f(x) (a float if m = 1)
``jacobian(f, x)``      J, a 2-D array (m, n), row i = grad f_i: m reverse sweeps
``vjp(f, x, u)``        (f(x), u^T J): u shaped like f(x), u^T J shaped like x
``tape_size(f, x)``     (nodes, bytes) recorded for f at x
======================  =====================================================
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from mlpkit._checks import as_real_array, check_callable, check_same_shape, check_scalar_output
from mlpkit.nesting import Box, as_input, plain_result
from mlpkit.reverse.array import Node, backward, trace
from mlpkit.reverse.scalar import Var

__all__ = ["Var", "Node", "TapeSize", "derivative", "gradient", "jacobian", "tape_size", "vjp"]


def _record(f, x, copy=True):
    """Check the inputs, run f once on a traced x; return (x, tape, output, output value).

    ``copy=False``: x is not copied (the caller returns nothing that could be x itself)."""
    check_callable(f)
    x = as_input(x, copy=copy)
    tape, out = trace(f, x)
    value = out.value if isinstance(out, Node) and out.tape is tape else out
    if type(value) is np.float64 and math.isfinite(value):
        pass  # the usual scalar loss is checked already (as_real_array costs microseconds)
    elif not isinstance(value, Box):
        value = as_real_array(value, "f(x)")
    return x, tape, out, value


def gradient(f, x):
    """Gradient of a scalar function, grad_i = df/dx_i, by one reverse sweep.

    ``f(x)`` must hold one number; the result has the shape of ``x`` (a float if x is a
    number).  Costs about one extra evaluation of f, whatever the size of x.  Nests: ``f`` may
    itself differentiate (a Hessian-vector product is a gradient of a gradient).
    """
    x, tape, out, value = _record(f, x, copy=False)  # the sweep only reads x
    check_scalar_output(value)
    grad = backward(tape, out, np.ones(np.shape(value)), release=True)  # one sweep
    return plain_result(grad)


def vjp(f, x, u):
    """Return ``(f(x), u^T J)``: the vector-Jacobian product J^T u in one reverse sweep.

    ``u`` has the shape of f(x); ``u^T J`` (sum_i u_i df_i/dx) has the shape of x.
    """
    x, tape, out, value = _record(f, x)
    u = as_input(u, "u")
    check_same_shape(np.shape(u), np.shape(value), "vjp: u versus f(x)")
    grad = backward(tape, out, u, release=True)
    return plain_result(value), plain_result(grad)


def jacobian(f, x):
    """The Jacobian J[i, j] = d f_i / d x_j as a 2-D array (f(x).size, x.size).

    One forward run records the tape; then each row i is the VJP with the unit vector e_i
    (m reverse sweeps): cheap when f has few outputs, whatever the number of inputs.
    """
    x, tape, out, value = _record(f, x)
    return _jacobian_rows(tape, out, value, np.size(x))


def derivative(f, x):
    """df/dx for a single number x: a float if f(x) is a number, else shaped like f(x)."""
    if np.ndim(x) != 0:
        raise ValueError(f"derivative() needs a single number x, got shape {np.shape(x)}; "
                         "use gradient() or jacobian() for arrays")
    x, tape, out, value = _record(f, x)
    column = _jacobian_rows(tape, out, value, 1)[:, 0]
    return plain_result(column[0] if np.ndim(value) == 0 else np.reshape(column, np.shape(value)))


def _jacobian_rows(tape, out, value, n):
    rows = []
    for i in range(np.size(value)):  # row i = e_i^T J, one reverse sweep over the same tape
        seed = np.zeros(np.shape(value))
        seed.flat[i] = 1.0
        rows.append(np.ravel(backward(tape, out, seed)))
    if not rows:
        return np.zeros((0, n))
    if any(isinstance(r, Box) for r in rows):  # traced by an outer call: stay traceable
        return np.stack(rows)
    return np.array(rows, dtype=np.float64).reshape(len(rows), n)


class TapeSize(NamedTuple):
    nodes: int  # records on the tape (the input included)
    bytes: int  # memory of the distinct arrays the tape keeps alive for the backward sweep


def tape_size(f, x) -> TapeSize:
    """What reverse mode stores for ``f`` at ``x``: the records and the bytes they keep.

    A view is counted once, through the array that owns its memory.
    """
    check_callable(f)
    tape, _ = trace(f, as_real_array(x))
    owners = {}
    for _, _, args, _, ans in tape:
        for a in (*args, ans):
            while isinstance(a, np.ndarray) and isinstance(a.base, np.ndarray):
                a = a.base
            if isinstance(a, (np.ndarray, np.generic)):
                owners[id(a)] = a.nbytes
    return TapeSize(len(tape), sum(owners.values()))
