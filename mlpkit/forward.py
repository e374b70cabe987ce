"""Forward-mode automatic differentiation with dual numbers.

A dual number ``a + b eps`` carries a value ``a`` and a tangent ``b``, with the one rule
``eps**2 = 0``. Taylor's theorem then stops after the linear term and becomes exact:

    f(a + b eps) = f(a) + f'(a) b eps.

So running a program on ``x + v eps`` returns ``f(x) + (J(x) v) eps``: the value and the
Jacobian-vector product (JVP, the directional derivative along ``v``) in one forward sweep,
computed alongside the value. Each elementary operation needs only its tangent rule
``dy = f'(x) dx`` (the table ``TANGENT_RULES`` below); the chain rule is the order in which the
program runs. Plain NumPy code is differentiated as it is written:

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
- Every NumPy function or ufunc not in the table raises ``TypeError`` naming it.
"""

from __future__ import annotations

import inspect

import numpy as np

from mlpkit._checks import as_real_array, check_callable, check_same_shape, check_scalar_output

__all__ = ["Dual", "TANGENT_RULES", "derivative", "jvp", "gradient", "jacobian"]

LINEAR = "linear: the tangent goes through the same function, d f(x) = f(dx)"

# The whole of forward-mode AD: one tangent rule per operation.
TANGENT_RULES = {
    # y = f(x)                            dy = f'(x) dx
    np.negative: lambda x, dx: -dx,
    np.positive: lambda x, dx: dx,
    np.sin: lambda x, dx: np.cos(x) * dx,
    np.cos: lambda x, dx: -np.sin(x) * dx,
    np.tan: lambda x, dx: dx / np.cos(x) ** 2,
    np.exp: lambda x, dx: np.exp(x) * dx,
    np.log: lambda x, dx: dx / x,
    np.sqrt: lambda x, dx: _power_rule(x, 0.5, dx, 0.0),  # sqrt(x) = x ** (1/2)
    np.tanh: lambda x, dx: (1 - np.tanh(x) ** 2) * dx,
    np.arctan: lambda x, dx: dx / (1 + x**2),
    np.absolute: lambda x, dx: np.sign(x) * dx,  # sign(0) = 0, a subgradient
    np.square: lambda x, dx: 2 * x * dx,
    # z = f(x, y)                         dz = df/dx dx + df/dy dy
    np.add: lambda x, y, dx, dy: dx + dy,
    np.subtract: lambda x, y, dx, dy: dx - dy,
    np.multiply: lambda x, y, dx, dy: dx * y + x * dy,
    np.divide: lambda x, y, dx, dy: (dx - (x / y) * dy) / y,  # = (y dx - x dy) / y^2
    np.power: lambda x, y, dx, dy: _power_rule(x, y, dx, dy),  # y x^(y-1) dx + x^y log(x) dy
    np.maximum: lambda x, y, dx, dy: np.where(x > y, dx, dy),  # tie: second argument
    np.minimum: lambda x, y, dx, dy: np.where(x < y, dx, dy),  # tie: second argument
    np.matmul: lambda x, y, dx, dy: dx @ y + x @ dy,  # product rule, factor order kept
    np.dot: lambda x, y, dx, dy: np.dot(dx, y) + np.dot(x, dy),
    # selections                          dy = tangent of the selected element
    np.max: lambda x, dx, axis=None, keepdims=False: _select(np.argmax, x, dx, axis, keepdims),
    np.min: lambda x, dx, axis=None, keepdims=False: _select(np.argmin, x, dx, axis, keepdims),
    # linear maps                         d f(x) = f(dx)
    np.sum: LINEAR,
    np.mean: LINEAR,
    np.reshape: LINEAR,
    np.ravel: LINEAR,
    np.transpose: LINEAR,
    np.stack: LINEAR,
    np.concatenate: LINEAR,
}

# No tangent here: these answer with plain bools computed on the values (for `if` and loops).
VALUE_ONLY = {np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
              np.isfinite, np.isnan, np.isinf}


def _power_rule(x, y, dx, dy):
    """Tangent of z = x ** y:  dz = y x^(y-1) dx + x^y log(x) dy, each term where it moves."""
    x, y, dx, dy = np.broadcast_arrays(x, y, dx, dy)
    base_moves = (dx != 0) & (y != 0)  # x ** 0 = 1 does not move
    exponent_moves = dy != 0
    if np.any(base_moves & (x == 0) & (y < 1)):
        raise ValueError("the derivative of x ** y (y < 1, e.g. np.sqrt = x ** 0.5) is infinite "
                         "at x = 0, and the tangent direction moves x there")
    if np.any(exponent_moves & (x <= 0)):
        raise ValueError("x ** y with a differentiated exponent y needs x > 0 (d/dy x^y = x^y "
                         "log x); found a base <= 0")
    b, e = base_moves, exponent_moves
    dz = np.zeros(x.shape)
    dz[b] += y[b] * x[b] ** (y[b] - 1) * dx[b]
    dz[e] += x[e] ** y[e] * np.log(x[e]) * dy[e]
    return dz


def _select(arg_select, x, dx, axis, keepdims):
    """Tangent of np.max / np.min: pick dx where ``arg_select`` (np.argmax / np.argmin) points."""
    x, dx = np.asarray(x), np.asarray(dx)
    if axis is None:
        picked = dx.reshape(-1)[arg_select(x)]
        return np.full((1,) * x.ndim, picked) if keepdims else picked
    index = np.expand_dims(arg_select(x, axis=axis), axis)
    picked = np.take_along_axis(dx, index, axis=axis)
    return picked if keepdims else np.squeeze(picked, axis=axis)


def _n_inputs(rule) -> int:
    """How many array inputs a rule takes: its parameters without defaults come in pairs x, dx."""
    params = inspect.signature(rule).parameters.values()
    return sum(p.default is p.empty for p in params) // 2


_N_INPUTS = {f: _n_inputs(rule) for f, rule in TANGENT_RULES.items() if rule is not LINEAR}


def _np_name(func) -> str:
    return f"np.{getattr(func, '__name__', repr(func))}"


def _unsupported(what: str) -> TypeError:
    supported = ", ".join(sorted(_np_name(f) for f in TANGENT_RULES))
    return TypeError(f"{what} is not supported by mlpkit.forward (no tangent rule); "
                     f"supported: {supported}")


def _as_float(a, what: str) -> np.ndarray:
    """``a`` as a float64 array; TypeError for complex or non-numbers."""
    arr = np.asarray(a)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be real numbers, got {type(a).__name__} "
                        f"with dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def _split(arg):
    """(value, tangent) of an argument; a constant (float, int, ndarray) has tangent zero."""
    if isinstance(arg, (list, tuple)) and len(arg) > 0:
        arg = np.stack(arg)  # a list may hold Duals, e.g. [d[0], 1.0]: stacking keeps tangents
    if isinstance(arg, Dual):
        return arg.value, arg.tangent
    value = _as_float(arg, "a constant mixed with a Dual")
    return value, np.zeros_like(value)


def _split_all(args):
    """Values and tangents of several arguments, as two lists."""
    pairs = [_split(a) for a in args]
    return [v for v, _ in pairs], [t for _, t in pairs]


def _apply(func, args, kwargs):
    """Evaluate ``func`` on the values and its tangent rule on (values, tangents)."""
    rule = TANGENT_RULES.get(func)
    if rule is None:
        raise _unsupported(_np_name(func))
    if rule is LINEAR:  # first argument: an array or a sequence of arrays; the rest: options
        data, options = args[0], args[1:]
        if isinstance(data, (list, tuple)):  # np.stack, np.concatenate
            values, tangents = _split_all(data)
        else:
            values, tangents = _split(data)
        return Dual(func(values, *options, **kwargs), func(tangents, *options, **kwargs))
    n = _N_INPUTS[func]
    values, tangents = _split_all(args[:n])
    value = func(*values, *args[n:], **kwargs)
    return Dual(value, rule(*values, *tangents, *args[n:], **kwargs))


def _plain(result):
    """A 0-d NumPy result as a Python scalar (so ``if d > 0:`` reads naturally)."""
    return result.item() if np.ndim(result) == 0 else result


def _operator_pair(ufunc):
    """The methods for ``d OP other`` and the reflected ``other OP d``."""
    return (lambda self, other: ufunc(self, other)), (lambda self, other: ufunc(other, self))


class Dual:
    """A dual number (or array of them) ``value + tangent * eps`` with ``eps**2 = 0``.

    ``value`` and ``tangent`` have the same shape: Python floats for a scalar, float64 arrays
    otherwise. ``Dual(x)`` is a constant (tangent 0); ``Dual(x, 1.0)`` seeds dx/dx = 1.
    NumPy ufuncs and functions act on it through the rules in ``TANGENT_RULES``.
    """

    __slots__ = ("value", "tangent")

    def __init__(self, value, tangent=None):
        value = _as_float(value, "Dual value")
        tangent = np.zeros_like(value) if tangent is None else _as_float(tangent, "Dual tangent")
        check_same_shape(value.shape, tangent.shape, "Dual(value, tangent)")
        self.value = _plain(value)
        self.tangent = _plain(tangent)

    def __repr__(self):
        return f"Dual(value={self.value!r}, tangent={self.tangent!r})"

    # --- NumPy protocols: every operation goes through TANGENT_RULES --------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__":
            raise _unsupported(f"{_np_name(ufunc)}.{method}")
        if kwargs:
            raise TypeError(f"{_np_name(ufunc)} with keyword arguments {sorted(kwargs)} is not "
                            "supported on Duals (out= cannot hold a tangent); write z = f(x)")
        if ufunc in VALUE_ONLY:
            return _plain(ufunc(*[a.value if isinstance(a, Dual) else a for a in inputs]))
        return _apply(ufunc, inputs, {})

    def __array_function__(self, func, types, args, kwargs):
        if not all(issubclass(t, (Dual, np.ndarray)) for t in types):
            return NotImplemented
        return _apply(func, args, kwargs)

    def __array__(self, dtype=None, copy=None):
        raise TypeError("converting a Dual to a plain NumPy array would drop its tangent; use "
                        ".value for the numbers, or np.stack / np.concatenate to combine Duals")

    def __float__(self):
        raise TypeError("float(Dual) would drop the tangent (the derivative); use .value for the "
                        "number, and NumPy functions (np.sin, not math.sin) on Duals")

    __int__ = __complex__ = __float__

    def __bool__(self):
        return bool(self.value)

    # --- operators: the ufuncs behind them (reflected: ``2 * d`` calls d.__rmul__(2)) -------
    __add__, __radd__ = _operator_pair(np.add)
    __sub__, __rsub__ = _operator_pair(np.subtract)
    __mul__, __rmul__ = _operator_pair(np.multiply)
    __truediv__, __rtruediv__ = _operator_pair(np.divide)
    __pow__, __rpow__ = _operator_pair(np.power)
    __matmul__, __rmatmul__ = _operator_pair(np.matmul)
    __neg__ = lambda self: np.negative(self)
    __pos__ = lambda self: np.positive(self)
    __abs__ = lambda self: np.absolute(self)
    # comparisons act on the values and return bools (VALUE_ONLY)
    __lt__ = lambda self, other: np.less(self, other)
    __le__ = lambda self, other: np.less_equal(self, other)
    __gt__ = lambda self, other: np.greater(self, other)
    __ge__ = lambda self, other: np.greater_equal(self, other)
    __eq__ = lambda self, other: np.equal(self, other)
    __ne__ = lambda self, other: np.not_equal(self, other)
    __hash__ = None  # mutable arrays inside, and == is elementwise

    # --- array-like behaviour --------------------------------------------------------------
    shape = property(lambda self: np.shape(self.value))
    ndim = property(lambda self: np.ndim(self.value))
    size = property(lambda self: np.size(self.value))
    T = property(lambda self: np.transpose(self))

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a scalar Dual")
        return len(self.value)

    def __getitem__(self, index):  # indexing is linear: the tangent is indexed the same way
        return Dual(self.value[index], self.tangent[index])

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


# --- derivatives of plain functions ------------------------------------------------------------
def _push_forward(f, x: np.ndarray, v: np.ndarray):
    """Run f on the dual input x + v eps; return (f(x), J v) as floats or arrays."""
    out = f(Dual(x, v))
    if isinstance(out, Dual):
        return out.value, out.tangent
    if isinstance(out, (list, tuple)) and any(isinstance(o, Dual) for o in out):
        raise TypeError("f returned a list/tuple of Duals; combine them with np.stack")
    value = as_real_array(out, "f(x)")  # f does not depend on x: its tangent is zero
    return _plain(value), _plain(np.zeros_like(value))


def jvp(f, x, v):
    """Value and Jacobian-vector product ``(f(x), J(x) v)`` in one forward pass.

    x: scalar or array of shape S; v: direction of the same shape S. Returns two results of
    f's output shape T (floats when T = ()). Seeds ``x + v eps`` and reads off the eps part.
    """
    check_callable(f)
    x, v = as_real_array(x, "x"), as_real_array(v, "v")
    check_same_shape(x.shape, v.shape, "jvp: x and the direction v")
    return _push_forward(f, x, v)


def derivative(f, x) -> float:
    """f'(x) for a scalar x: one pass seeded with dx = 1 (an array if f is vector-valued)."""
    check_callable(f)
    x = as_real_array(x, "x")
    if x.ndim != 0:
        raise ValueError(f"derivative needs a scalar x, got shape {x.shape}; "
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
    x = as_real_array(x, "x")
    grad = np.zeros(x.shape)
    for i, e_i in enumerate(_unit_directions(x.shape)):
        value, df_dxi = _push_forward(f, x, e_i)
        check_scalar_output(value, "f(x)")
        grad.flat[i] = np.ravel(df_dxi)[0]
    return _plain(grad)


def jacobian(f, x) -> np.ndarray:
    """Jacobian as a 2-D array of shape (f(x).size, x.size), built column by column: J e_i.

    Costs x.size forward passes. Both f's output and x are flattened in C order.
    """
    check_callable(f)
    x = as_real_array(x, "x")
    columns = [np.ravel(_push_forward(f, x, e_i)[1]) for e_i in _unit_directions(x.shape)]
    if not columns:  # x has no entries: one pass to learn the output size
        return np.zeros((np.size(_push_forward(f, x, x)[0]), 0))
    return np.stack(columns, axis=1)
