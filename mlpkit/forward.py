"""Forward-mode automatic differentiation with dual numbers.

A dual number ``a + b eps`` carries a value ``a`` and a tangent ``b``, with the one rule
``eps**2 = 0``. Taylor's theorem then stops after the linear term and becomes exact:

    f(a + b eps) = f(a) + f'(a) b eps.

So running a program on ``x + v eps`` returns ``f(x) + (J(x) v) eps``: the value and the
Jacobian-vector product (JVP, the directional derivative along ``v``) in one forward sweep,
computed alongside the value. Each elementary operation needs only its tangent rule
``dy = f'(x) dx`` (the table ``TANGENT_RULES``, taken from :mod:`mlpkit.rules`, where each rule is
written once for both AD modes); the chain rule is the order in which the program runs.
Plain NumPy code is differentiated as it is written:

    >>> derivative(lambda x: np.sin(x) * x, 2.0)      # sin(2) + 2 cos(2)
    0.0770037537313969

Shapes: ``value`` and ``tangent`` always have the same shape. For x of shape S and a direction v
of shape S, ``jvp`` returns f(x) and J v, both of f's output shape T. One pass gives one column of
J, so ``gradient`` and ``jacobian`` of a function of n inputs cost n forward passes: forward mode is
cheap for few inputs and many outputs (reverse mode, :mod:`mlpkit.reverse`, is the opposite).

Conventions where a derivative does not exist (never a silently wrong number):

- ``np.abs`` at 0 uses the subgradient ``sign(0) = 0``.
- ``np.maximum(x, y)`` / ``np.minimum(x, y)`` at a tie take the tangent of the second argument, so
  ``relu(x) = np.maximum(x, 0)`` has derivative 0 at 0, as in PyTorch.
- ``np.max`` / ``np.min`` take the tangent of the selected element; at a tie, the first one
  (the element ``np.argmax`` / ``np.argmin`` picks).
- ``np.sqrt(x)`` and ``x ** c`` with ``c < 1`` at ``x = 0`` have an infinite derivative: a
  direction that moves such an x raises ``ValueError``; one that does not move it gives 0.
- ``x ** y`` with a differentiated exponent uses ``log(x)``, so the base must be > 0 wherever the
  exponent's tangent is non-zero (``ValueError`` otherwise). A constant exponent allows any base.
- ``np.clip`` at a bound has slope 0 (it is ``np.minimum(np.maximum(x, lo), hi)``).
- Every NumPy function or ufunc not in the table raises ``TypeError`` naming it, and so does an
  ``np.einsum`` whose derivative is not an einsum again (a trace ``'ii->'``, a sum inside one
  operand ``'ij->'``, three operands).

Nesting: each call (``jvp``, ``derivative``, ...) tags its dual numbers with its own level
(:mod:`mlpkit.nesting`), and the tangent rules are written in traceable NumPy operations, so a
call may run inside another call of either mode: ``derivative(lambda t: derivative(lambda s:
s * t, 1.0), 0.7)`` is 1 (perturbations of the two calls are never confused), and
``jvp(lambda x: reverse.gradient(f, x), x, v)`` is a Hessian-vector product.
"""

from __future__ import annotations

import numpy as np

from mlpkit._checks import check_callable, check_same_shape, check_scalar_output
from mlpkit.nesting import Box, apply, as_input, new_level, primal, top_box
from mlpkit.rules import (ARRAY_FUNCTIONS, JVP_ALL_MOVING, JVP_RULES, LINEAR, LINEAR_ALL, UFUNC_PRIMITIVES,
                          VALUE_ONLY, _einsum, _getitem, _is_basic, _matmul, _max, _min,
                          _pow, _prod, _solve, _where, evaluate, supported_names)

__all__ = ["Dual", "TANGENT_RULES", "derivative", "jvp", "gradient", "jacobian"]

# The whole of forward-mode AD: one tangent rule per operation (the NumPy name -> its rule).
TANGENT_RULES = {f: JVP_RULES[p] for f, p in UFUNC_PRIMITIVES.items()}
TANGENT_RULES.update({np.sum: LINEAR, np.mean: LINEAR, np.reshape: LINEAR, np.ravel: LINEAR,
                      np.transpose: LINEAR, np.expand_dims: LINEAR, np.broadcast_to: LINEAR,
                      np.stack: LINEAR_ALL, np.concatenate: LINEAR_ALL, np.max: JVP_RULES[_max],
                      np.min: JVP_RULES[_min], np.dot: JVP_RULES[_matmul],
                      np.where: JVP_RULES[_where], np.cumsum: LINEAR,
                      np.linalg.solve: JVP_RULES[_solve], np.prod: JVP_RULES[_prod],
                      np.einsum: JVP_RULES[_einsum]})


def _unsupported(what: str) -> TypeError:
    return TypeError(f"{what} is not supported by mlpkit.forward (no tangent rule); "
                     f"supported: {', '.join(supported_names())}")


def _as_float(a, what: str) -> np.ndarray:
    """``a`` as a float64 array; TypeError for complex or non-numbers."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be real numbers, got {type(a).__name__} "
                        f"with dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def _plain(result):
    """A 0-d NumPy result as a Python scalar (so ``if d > 0:`` reads naturally)."""
    kind = type(result)
    if kind is np.ndarray:
        return result if result.ndim else float(result)
    if kind is float or isinstance(result, Box):
        return result
    return float(result) if np.ndim(result) == 0 else result


def _shape(v):
    return getattr(v, "shape", ())  # a float has shape ()


def _constant(arg):
    """An argument that this level does not trace: a value of an outer call, a number or array
    (checked to be real), or an option of the primitive (an axis, an index, a shape)."""
    if isinstance(arg, Box):
        return arg
    if isinstance(arg, (list, tuple)) and any(isinstance(a, Box) for a in arg):
        return np.stack(arg)  # a list may hold Duals, e.g. [d[0], 1.0]: stacking keeps tangents
    if isinstance(arg, (str, bytes, complex, np.complexfloating)) or (
            isinstance(arg, np.ndarray) and arg.dtype.kind not in "biuf"):
        raise TypeError(f"a constant mixed with a Dual must be real numbers, got "
                        f"{type(arg).__name__}")
    return arg


def _zeros(v):
    return np.zeros(np.shape(v))


def _apply_at(level, primitive, args, kwargs):
    """Evaluate ``primitive`` on the values and its tangent rule on the tangents of ``level``."""
    values, tangents = [], []
    for arg in args:
        if type(arg) is Dual and arg.level == level:
            values.append(arg.value)
            tangents.append(arg.tangent)
        else:
            arg = _constant(arg)
            if type(arg) is Dual and arg.level == level:  # a list of Duals, stacked
                values.append(arg.value)
                tangents.append(arg.tangent)
            else:
                values.append(arg)
                tangents.append(None)
    value = evaluate(primitive, values, kwargs)
    rule = JVP_RULES[primitive]
    if rule is LINEAR:
        tangent = evaluate(primitive, (tangents[0], *values[1:]), kwargs)
    elif rule is LINEAR_ALL:
        tangent = primitive(*(_zeros(v) if t is None else t for v, t in zip(values, tangents)),
                            **kwargs)
    elif primitive in JVP_ALL_MOVING and all(t is not None for t in tangents[:2]):
        tangent = JVP_ALL_MOVING[primitive](*tangents[:2], value, *values, **kwargs)
    else:
        tangent, fresh = None, False
        for i, dx in enumerate(tangents):
            if dx is None:
                continue
            contribution = rule[i](dx, value, *values, **kwargs)
            if tangent is None:
                tangent, fresh = contribution, contribution is not dx
            elif fresh and type(tangent) is np.ndarray and not isinstance(contribution, Box) and (
                    tangent.shape == np.shape(value)):
                tangent += contribution  # a temporary made by a rule: add into it
            else:
                tangent, fresh = tangent + contribution, True
        if _shape(tangent) != _shape(value):  # an argument broadcast against the others
            tangent = (apply(np.add, (tangent, _zeros(value))))
    return Dual._make(value, tangent, level)


class Dual(Box):
    """A dual number (or array of them) ``value + tangent * eps`` with ``eps**2 = 0``.

    ``value`` and ``tangent`` have the same shape: Python floats for a scalar, float64 arrays
    otherwise. ``Dual(x)`` is a constant (tangent 0); ``Dual(x, 1.0)`` seeds dx/dx = 1.
    NumPy ufuncs and functions act on it through the rules in ``TANGENT_RULES``.
    ``level`` tags the differentiation call the dual number belongs to (0 for one made by
    hand); under nesting ``value`` and ``tangent`` may be traced by outer calls.
    """

    __slots__ = ("value", "tangent", "level")

    def __init__(self, value, tangent=None, level: int = 0):
        for part in (value, tangent):
            if isinstance(part, Box) and part.level >= level:
                raise ValueError("a Dual cannot hold a value traced by a differentiation call "
                                 "that is running (its derivative would be confused); use "
                                 "forward.jvp or forward.derivative inside that call instead")
        if not isinstance(value, Box):
            value = _as_float(value, "Dual value")
        if tangent is None:
            tangent = _zeros(value)
        elif not isinstance(tangent, Box):
            tangent = _as_float(tangent, "Dual tangent")
        check_same_shape(np.shape(value), np.shape(tangent), "Dual(value, tangent)")
        self.value = _plain(value)
        self.tangent = _plain(tangent)
        self.level = level

    @classmethod
    def _make(cls, value, tangent, level):
        dual = object.__new__(cls)
        dual.value, dual.tangent, dual.level = _plain(value), _plain(tangent), level
        return dual

    def __repr__(self):
        return f"Dual(value={self.value!r}, tangent={self.tangent!r})"

    def _apply_primitive(self, primitive, args, kwargs):
        return _apply_at(self.level, primitive, args, kwargs)

    def _add_at_in_place(self, index, g) -> bool:
        """``self[index] += g`` in place, for an adjoint that a reverse sweep owns outright
        (mlpkit.reverse.array.backward: nothing else refers to its buffers).  False, and
        nothing done, unless both are plain arrays underneath (one level of nesting)."""
        value, tangent = self.value, self.tangent
        if type(value) is not np.ndarray or type(tangent) is not np.ndarray or not (
                value.flags.writeable and tangent.flags.writeable):
            return False
        if type(g) is Dual:
            if g.level != self.level or isinstance(g.value, Box) or isinstance(g.tangent, Box):
                return False
            g_value, g_tangent = g.value, g.tangent
        elif isinstance(g, Box):
            return False
        else:
            g_value, g_tangent = g, None
        if _is_basic(index):
            value[index] += g_value
            if g_tangent is not None:
                tangent[index] += g_tangent
        else:
            np.add.at(value, index, g_value)
            if g_tangent is not None:
                np.add.at(tangent, index, g_tangent)
        return True

    # --- NumPy protocols: every operation goes through the rules ----------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = f"np.{ufunc.__name__}"
        if method != "__call__":
            raise _unsupported(f"{name}.{method}")
        if kwargs:
            raise TypeError(f"{name} with keyword arguments {sorted(kwargs)} is not "
                            "supported on Duals (out= cannot hold a tangent); write z = f(x)")
        if ufunc in VALUE_ONLY:
            return _plain(ufunc(*[primal(a) for a in inputs]))
        if ufunc not in UFUNC_PRIMITIVES:
            raise _unsupported(name)
        return apply(UFUNC_PRIMITIVES[ufunc], inputs)

    def __array_function__(self, func, types, args, kwargs):
        if func in VALUE_ONLY:
            return func(*(primal(a) for a in args), **kwargs)
        if func not in ARRAY_FUNCTIONS:
            raise _unsupported(f"np.{func.__name__}")
        return ARRAY_FUNCTIONS[func](*args, **kwargs)

    def __array__(self, dtype=None, copy=None):
        raise TypeError("converting a Dual to a plain NumPy array would drop its tangent; use "
                        ".value for the numbers, or np.stack / np.concatenate to combine Duals")

    def __float__(self):
        raise TypeError("float(Dual) would drop the tangent (the derivative); use .value for the "
                        "number, and NumPy functions (np.sin, not math.sin) on Duals")

    __int__ = __complex__ = __float__

    def __bool__(self):
        return bool(primal(self))

    # --- operators: the ufuncs behind them (reflected: ``2 * d`` calls d.__rmul__(2)) -------
    __add__ = lambda self, other: apply(np.add, (self, other))
    __radd__ = lambda self, other: apply(np.add, (other, self))
    __sub__ = lambda self, other: apply(np.subtract, (self, other))
    __rsub__ = lambda self, other: apply(np.subtract, (other, self))
    __mul__ = lambda self, other: apply(np.multiply, (self, other))
    __rmul__ = lambda self, other: apply(np.multiply, (other, self))
    __truediv__ = lambda self, other: apply(np.divide, (self, other))
    __rtruediv__ = lambda self, other: apply(np.divide, (other, self))
    __pow__ = lambda self, other: apply(_pow, (self, other))  # ** is faster than np.power
    __rpow__ = lambda self, other: apply(_pow, (other, self))
    __matmul__ = lambda self, other: np.matmul(self, other)
    __rmatmul__ = lambda self, other: np.matmul(other, self)
    __neg__ = lambda self: apply(np.negative, (self,))
    __pos__ = lambda self: self
    __abs__ = lambda self: apply(np.absolute, (self,))
    # comparisons act on the values and return bools
    __lt__ = lambda self, other: primal(self) < primal(other)
    __le__ = lambda self, other: primal(self) <= primal(other)
    __gt__ = lambda self, other: primal(self) > primal(other)
    __ge__ = lambda self, other: primal(self) >= primal(other)
    __eq__ = lambda self, other: primal(self) == primal(other)
    __ne__ = lambda self, other: primal(self) != primal(other)
    __hash__ = None  # mutable arrays inside, and == is elementwise

    # --- array-like behaviour --------------------------------------------------------------
    shape = property(lambda self: getattr(self.value, "shape", ()))
    ndim = property(lambda self: len(getattr(self.value, "shape", ())))
    size = property(lambda self: getattr(self.value, "size", 1))
    T = property(lambda self: np.transpose(self))

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a scalar Dual")
        return len(self.value)

    def __getitem__(self, index):  # indexing is linear: the tangent is indexed the same way
        return apply(_getitem, (self, index))

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def reshape(self, *shape):
        return np.reshape(self, shape[0] if len(shape) == 1 else shape)

    def ravel(self):
        return np.ravel(self)

    def sum(self, axis=None, keepdims=False):
        return np.sum(self, axis=axis, keepdims=keepdims)

    def mean(self, axis=None, keepdims=False):
        return np.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims=False):
        return np.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims=False):
        return np.min(self, axis=axis, keepdims=keepdims)

    def prod(self, axis=None, keepdims=False):
        return np.prod(self, axis=axis, keepdims=keepdims)


# --- derivatives of plain functions ------------------------------------------------------------
def _push_forward(f, x, v):
    """Run f on the dual input x + v eps; return (f(x), J v) as floats or arrays."""
    with new_level() as level:
        out = f(Dual._make(x, v, level))
        if isinstance(out, (list, tuple)) and any(isinstance(o, Box) for o in out):
            raise TypeError("f returned a list/tuple of Duals; combine them with np.stack")
        top_box((out,))  # raises if f returned a value of an inner call that has finished
    if type(out) is Dual and out.level == level:
        return out.value, out.tangent
    value = out if isinstance(out, Box) else as_input(out, "f(x)")
    return _plain(value), _plain(_zeros(value))  # f does not depend on x: its tangent is zero


def jvp(f, x, v):
    """Value and Jacobian-vector product ``(f(x), J(x) v)`` in one forward pass.

    x: scalar or array of shape S; v: direction of the same shape S. Returns two results of
    f's output shape T (floats when T = ()). Seeds ``x + v eps`` and reads off the eps part.
    """
    check_callable(f)
    x, v = as_input(x, "x"), as_input(v, "v")
    check_same_shape(np.shape(x), np.shape(v), "jvp: x and the direction v")
    return _push_forward(f, x, v)


def derivative(f, x) -> float:
    """f'(x) for a scalar x: one pass seeded with dx = 1 (an array if f is vector-valued)."""
    check_callable(f)
    x = as_input(x, "x")
    if np.ndim(x) != 0:
        raise ValueError(f"derivative needs a scalar x, got shape {np.shape(x)}; "
                         "use gradient or jacobian for arrays")
    return _push_forward(f, x, np.ones(()))[1]


def _unit_directions(shape):
    """e_1, ..., e_n reshaped to ``shape``: the seeds that pick out the columns of J."""
    for i in range(int(np.prod(shape))):
        e_i = np.zeros(shape)
        e_i.flat[i] = 1.0
        yield e_i


def gradient(f, x):
    """Gradient of a scalar-valued f, same shape as x (a float for scalar x).

    Costs n = x.size forward passes, one per input direction e_i (component i is J e_i):
    fine for a few inputs, the reason reverse mode exists for many.
    """
    check_callable(f)
    x = as_input(x, "x")
    components = []
    for e_i in _unit_directions(np.shape(x)):
        value, df_dxi = _push_forward(f, x, e_i)
        check_scalar_output(value, "f(x)")
        components.append(np.reshape(df_dxi, ()))
    if any(isinstance(c, Box) for c in components):  # traced by an outer call
        return np.reshape(np.stack(components), np.shape(x))
    grad = np.array(components, dtype=np.float64).reshape(np.shape(x))
    return _plain(grad)


def jacobian(f, x) -> np.ndarray:
    """Jacobian as a 2-D array of shape (f(x).size, x.size), built column by column: J e_i.

    Costs x.size forward passes. Both f's output and x are flattened in C order.
    """
    check_callable(f)
    x = as_input(x, "x")
    columns = [np.ravel(_push_forward(f, x, e_i)[1]) for e_i in _unit_directions(np.shape(x))]
    if not columns:  # x has no entries: one pass to learn the output size
        return np.zeros((np.size(_push_forward(f, x, x)[0]), 0))
    return np.stack(columns, axis=1)
