"""An array-level reverse-mode engine: a tape of NumPy calls and one VJP rule per call.

How it works (the design of HIPS autograd, cut down):

1. ``trace(f, x)`` wraps ``x`` in a :class:`Node` and runs the *unchanged* NumPy code ``f``.
   NumPy hands every ufunc call on a Node (``np.sin``, ``+``, ``@``) to
   ``Node.__array_ufunc__`` and other functions (``np.sum``, ``np.stack``) to
   ``Node.__array_function__``.  Each supported call is computed on the plain arrays and
   appended to the tape, a list (Wengert list) in execution order, which is already a
   topological order of the expression graph.
2. ``backward`` walks the tape from the end.  A record y = F(x_1, ..., x_k) receives its
   adjoint g = dL/dy (shaped like y); the rule for argument i returns the
   vector-Jacobian product g^T dy/dx_i (shaped like x_i); the adjoints of a value used
   several times are summed (Domke's sum over the children j of i, i in Pa(j)).

Broadcasting: if x_i of shape (3, 1) was broadcast to y of shape (2, 3, 4), each entry of
x_i was copied 8 times, and the derivative with respect to a copied entry is the *sum* of
the adjoints of its copies: :func:`unbroadcast` does that, for every rule, in one place.

Memory: the tape keeps only what the rules read (``READS_NO_ARGS``, ``READS_ANS``); the
rest is replaced by a shape-only stand-in, so intermediates die as early as in plain f.

Choices at non-differentiable points (documented, tested): ``abs'(0) = 0``;
at a tie ``np.maximum``/``np.minimum`` give the adjoint to the second argument (so
``np.maximum(x, 0)`` has slope 0 at 0), and ``np.max``/``np.min`` to the first tied entry (the
one ``np.argmax`` picks): the same conventions as mlpkit.forward and the complex step.
Anything else raises TypeError.
"""

from __future__ import annotations

import inspect
from typing import NamedTuple

import numpy as np


# --- primitives that are not ufuncs: fixed signatures, so the VJP rules can rely on them ---
_getitem = lambda x, index: x[index]
_reshape = lambda x, shape: np.reshape(x, shape)
_transpose = lambda x, axes=None: np.transpose(x, axes)
_sum = lambda x, axis=None, keepdims=False: np.sum(x, axis=axis, keepdims=keepdims)
_mean = lambda x, axis=None, keepdims=False: np.mean(x, axis=axis, keepdims=keepdims)
_max = lambda x, axis=None, keepdims=False: np.max(x, axis=axis, keepdims=keepdims)
_min = lambda x, axis=None, keepdims=False: np.min(x, axis=axis, keepdims=keepdims)
_stack = lambda *arrays, axis=0: np.stack(arrays, axis=axis)
_concatenate = lambda *arrays, axis=0: np.concatenate(arrays, axis=axis)
_where = lambda condition, x, y: np.where(condition, x, y)
_pow = lambda x, y: x**y  # the ** operator: NumPy turns x**2 into the faster np.square(x)


def _matmul(a, b):
    """a @ b for 1-D and 2-D arrays (``np.matmul``, ``np.dot`` and ``@`` all come here)."""
    if not (1 <= np.ndim(a) <= 2 and 1 <= np.ndim(b) <= 2):
        raise TypeError(f"np.matmul/np.dot/@ are supported by mlpkit.reverse for 1-D and 2-D "
                        f"arrays only, got shapes {np.shape(a)} and {np.shape(b)}")
    return np.matmul(a, b)


# --- helpers used by the rules ---
def unbroadcast(grad, shape):
    """Sum ``grad`` (shaped like a broadcast result) down to ``shape``, the operand's shape.

    Leading axes that broadcasting added are summed away; axes where the operand had
    length 1 are summed with ``keepdims``.  A no-op when the shapes already agree.
    """
    if getattr(grad, "shape", ()) == shape:
        return grad
    grad = np.sum(grad, axis=tuple(range(np.ndim(grad) - len(shape))))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return np.sum(grad, axis=stretched, keepdims=True) if stretched else grad


def _times(g, fresh):
    """g * fresh, written into ``fresh`` (a temporary just computed): one allocation fewer."""
    if isinstance(fresh, np.ndarray) and fresh.shape == np.shape(g):
        fresh *= g
        return fresh
    return g * fresh


def _spread(g, x, axis, keepdims):
    """Undo a reduction over ``axis``: re-insert the reduced axes, broadcast to x's shape."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, np.shape(x))


def _max_vjp(g, ans, x, axis=None, keepdims=False):
    """VJP of max (and min): the adjoint goes to the winner; at a tie, the first (as np.argmax)."""
    winners = x == _spread(ans, x, axis, keepdims)
    if axis is None:
        first = (np.cumsum(winners.ravel()) == 1).reshape(np.shape(x))
    else:
        first = np.cumsum(winners, axis=axis) == 1
    return _spread(g, x, axis, keepdims) * (first & winners)


class _Scatter(NamedTuple):
    """The VJP of x[index]: "add g at index" into x's adjoint, not a dense zeros array."""

    index: object
    g: object

    def add_to(self, grad):
        parts = self.index if isinstance(self.index, tuple) else (self.index,)
        if all(p is None or p is Ellipsis or isinstance(p, (slice, int)) for p in parts):
            grad[self.index] += self.g  # basic indexing never repeats an element
        else:
            np.add.at(grad, self.index, self.g)  # x[[0, 0]] has derivative 2: add each repeat


def _as_matrices(g, a, b):
    """View a @ b as (n, k) @ (k, m): a 1-D a is a row (1, k), a 1-D b a column (k, 1)."""
    a2 = np.reshape(a, (1, -1)) if np.ndim(a) == 1 else np.asarray(a)
    b2 = np.reshape(b, (-1, 1)) if np.ndim(b) == 1 else np.asarray(b)
    return np.reshape(g, (a2.shape[0], b2.shape[1])), a2, b2


def _matmul_d_a(g, ans, a, b):  # Y = A B  =>  dL/dA = G B^T
    g2, _, b2 = _as_matrices(g, a, b)
    return np.reshape(g2 @ b2.T, np.shape(a))


def _matmul_d_b(g, ans, a, b):  # dL/dB = A^T G
    g2, a2, _ = _as_matrices(g, a, b)
    return np.reshape(a2.T @ g2, np.shape(b))


def _power_d_base(g, ans, x, y):
    if np.isscalar(y) and y == 2:  # the common x**2: one operation fewer
        return _times(g, 2.0 * x)
    return g * y * x ** (y - 1)


def _power_d_exponent(g, ans, x, y):
    if np.any(np.asarray(x) < 0):
        raise ValueError("d(x**y)/dy = x**y log(x) needs x >= 0, but the base has negative "
                         "entries and the exponent is being differentiated")
    return g * x**y * np.log(np.where(np.asarray(x) > 0, x, 1.0))  # 0 where x = 0 (y > 0)


def _concatenate_vjp(i, g, ans, arrays, axis):
    if axis is None:  # concatenate(..., axis=None) flattened its arguments first
        g, axis, sizes = np.ravel(g), 0, [np.size(a) for a in arrays]
    else:
        sizes = [np.shape(a)[axis] for a in arrays]
    return np.reshape(np.split(g, np.cumsum(sizes)[:-1], axis=axis)[i], np.shape(arrays[i]))


class _Each:
    """The rules of a primitive taking any number of arrays: ``rules[i]`` is for the i-th."""

    def __init__(self, rule):
        self.rule = rule

    def __getitem__(self, i):
        return lambda g, ans, *arrays, axis: self.rule(i, g, ans, arrays, axis)


# --- THE table: primitive -> one VJP rule per argument, rule(g, ans, *args, **kwargs) ---
VJP_RULES = {
    np.add: (lambda g, ans, x, y: g, lambda g, ans, x, y: g),
    np.subtract: (lambda g, ans, x, y: g, lambda g, ans, x, y: -g),
    np.multiply: (lambda g, ans, x, y: g * y, lambda g, ans, x, y: g * x),
    np.divide: (lambda g, ans, x, y: g / y, lambda g, ans, x, y: -g * ans / y),
    np.power: (_power_d_base, _power_d_exponent),
    _pow: (_power_d_base, _power_d_exponent),
    np.negative: (lambda g, ans, x: -g,),
    np.sin: (lambda g, ans, x: _times(g, np.cos(x)),),
    np.cos: (lambda g, ans, x: _times(g, -np.sin(x)),),
    np.tan: (lambda g, ans, x: _times(g, 1.0 + ans**2),),
    np.exp: (lambda g, ans, x: g * ans,),
    np.log: (lambda g, ans, x: g / x,),
    np.log1p: (lambda g, ans, x: g / (1.0 + x),),
    np.sqrt: (lambda g, ans, x: g * 0.5 / ans,),  # infinite at x = 0 (NumPy warns)
    np.tanh: (lambda g, ans, x: _times(g, 1.0 - ans**2),),
    np.arctan: (lambda g, ans, x: g / (1.0 + x**2),),
    np.absolute: (lambda g, ans, x: _times(g, np.sign(x)),),  # sign(0) = 0
    np.square: (lambda g, ans, x: _times(g, 2.0 * x),),
    np.maximum: (lambda g, ans, x, y: g * (x > y),  # a tie goes to the second argument
                 lambda g, ans, x, y: g * (x <= y)),
    np.minimum: (lambda g, ans, x, y: g * (x < y),
                 lambda g, ans, x, y: g * (x >= y)),
    _matmul: (_matmul_d_a, _matmul_d_b),
    _sum: (lambda g, ans, x, axis=None, keepdims=False: _spread(g, x, axis, keepdims),),
    _mean: (lambda g, ans, x, axis=None, keepdims=False:
            _spread(g, x, axis, keepdims) * (np.size(ans) / np.size(x)),),
    _max: (_max_vjp,),
    _min: (_max_vjp,),  # the same rule: the adjoint goes to the entries equal to the result
    _getitem: (lambda g, ans, x, index: _Scatter(index, g),),
    _reshape: (lambda g, ans, x, shape: np.reshape(g, np.shape(x)),),
    _transpose: (lambda g, ans, x, axes=None: np.transpose(
        g, None if axes is None else np.argsort([a % np.ndim(x) for a in axes])),),
    _where: (None,  # no rule for the condition: it is a constant
             lambda g, ans, c, x, y: np.where(c, g, 0.0),
             lambda g, ans, c, x, y: np.where(c, 0.0, g)),
    _stack: _Each(lambda i, g, ans, arrays, axis: np.take(g, i, axis=axis)),
    _concatenate: _Each(_concatenate_vjp),
}
# What the rules read, so the tape keeps only that: these read only the shapes of their
# traced arguments ...
READS_NO_ARGS = {np.add, np.subtract, np.negative, np.tan, np.exp, np.sqrt, np.tanh, _sum,
                 _mean, _getitem, _reshape, _transpose, _where, _stack, _concatenate}
# ... and only these read their result ``ans``.
READS_ANS = {np.divide, np.tan, np.exp, np.sqrt, np.tanh, _max, _min}


def _reduction(primitive):
    return lambda a, axis=None, *, keepdims=False: _apply(primitive, (a,), {
        "axis": axis, "keepdims": keepdims})


# NumPy functions (not ufuncs) -> adapter with NumPy's signature (the supported part of it)
ARRAY_FUNCTIONS = {
    np.sum: _reduction(_sum),
    np.mean: _reduction(_mean),
    np.max: _reduction(_max),
    np.min: _reduction(_min),
    np.dot: lambda a, b: _apply(_matmul if np.ndim(a) and np.ndim(b) else np.multiply, (a, b)),
    np.reshape: lambda a, shape: _apply(_reshape, (a, shape)),
    np.ravel: lambda a: _apply(_reshape, (a, -1)),
    np.transpose: lambda a, axes=None: _apply(_transpose, (a, axes)),
    np.stack: lambda arrays, axis=0: _apply(_stack, tuple(arrays), {"axis": axis}),
    np.concatenate: lambda arrays, axis=0: _apply(_concatenate, tuple(arrays), {"axis": axis}),
    np.where: lambda condition, x, y: _apply(_where, (_constant(condition), x, y)),
}
ARRAY_FUNCTIONS.update({np.amax: ARRAY_FUNCTIONS[np.max], np.amin: ARRAY_FUNCTIONS[np.min]})
_SIGNATURES = {func: inspect.signature(adapter) for func, adapter in ARRAY_FUNCTIONS.items()}
# Functions whose result does not depend differentiably on the values: run on plain arrays.
VALUE_ONLY = {np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
              np.isfinite, np.isnan, np.isinf, np.shape, np.ndim, np.size, np.zeros_like,
              np.ones_like, np.argmax, np.argmin, np.argsort}


def _unsupported(name: str) -> TypeError:
    names = sorted({f.__name__ for f in VJP_RULES if isinstance(f, np.ufunc)}
                   | {f.__name__ for f in ARRAY_FUNCTIONS} | {"matmul"})
    return TypeError(f"{name} is not supported by mlpkit.reverse; supported: "
                     f"{', '.join('np.' + n for n in names)}, indexing, .reshape, .T, comparisons")


# --- the tape and the traced value ---
class _ShapeOnly:
    """Stands in on the tape for an array whose values no rule will read."""

    __slots__ = ("shape", "ndim", "size")

    def __init__(self, v):  # v: a NumPy array or scalar
        self.shape, self.ndim, self.size = v.shape, v.ndim, v.size


class Node:
    """A value computed from the traced input: ``.value`` (an ndarray) and its tape index."""

    __slots__ = ("value", "tape", "index")

    def __init__(self, value, tape: list, index: int):
        self.value, self.tape, self.index = value, tape, index

    def __repr__(self):
        return f"Node({self.value!r})"

    shape = property(lambda self: np.shape(self.value))
    ndim = property(lambda self: np.ndim(self.value))
    size = property(lambda self: np.size(self.value))
    dtype = property(lambda self: np.result_type(self.value))
    T = property(lambda self: _apply(_transpose, (self,)))
    __len__ = lambda self: len(self.value)
    __getitem__ = lambda self, index: _apply(_getitem, (self, index))
    reshape = lambda self, *shape: _apply(_reshape, (self, shape[0] if len(shape) == 1 else shape))
    ravel = flatten = lambda self: _apply(_reshape, (self, -1))
    transpose = lambda self, *axes: _apply(_transpose, (self, (
        axes[0] if len(axes) == 1 else axes) or None))
    sum = lambda self, axis=None, keepdims=False: np.sum(self, axis, keepdims=keepdims)
    mean = lambda self, axis=None, keepdims=False: np.mean(self, axis, keepdims=keepdims)
    max = lambda self, axis=None, keepdims=False: np.max(self, axis, keepdims=keepdims)
    min = lambda self, axis=None, keepdims=False: np.min(self, axis, keepdims=keepdims)
    dot = lambda self, other: np.dot(self, other)

    # arithmetic goes straight to _apply (skipping NumPy's dispatch: it is the hot path)
    __add__ = lambda self, o: _apply(np.add, (self, o))
    __radd__ = lambda self, o: _apply(np.add, (o, self))
    __sub__ = lambda self, o: _apply(np.subtract, (self, o))
    __rsub__ = lambda self, o: _apply(np.subtract, (o, self))
    __mul__ = lambda self, o: _apply(np.multiply, (self, o))
    __rmul__ = lambda self, o: _apply(np.multiply, (o, self))
    __truediv__ = lambda self, o: _apply(np.divide, (self, o))
    __rtruediv__ = lambda self, o: _apply(np.divide, (o, self))
    __pow__ = lambda self, o: _apply(_pow, (self, o))
    __rpow__ = lambda self, o: _apply(_pow, (o, self))
    __matmul__ = lambda self, o: _apply(_matmul, (self, o))
    __rmatmul__ = lambda self, o: _apply(_matmul, (o, self))
    __neg__ = lambda self: _apply(np.negative, (self,))
    __pos__ = lambda self: self
    __abs__ = lambda self: _apply(np.absolute, (self,))
    # comparisons give plain bool arrays, so `if` and np.where(x > 0, ...) work on values
    __lt__ = lambda self, o: self.value < _value(o)
    __le__ = lambda self, o: self.value <= _value(o)
    __gt__ = lambda self, o: self.value > _value(o)
    __ge__ = lambda self, o: self.value >= _value(o)
    __eq__ = lambda self, o: self.value == _value(o)
    __ne__ = lambda self, o: self.value != _value(o)
    __hash__ = None
    __bool__ = lambda self: bool(self.value)  # not len(): Node([0.0]) is False, as in NumPy

    def _drops_derivative(self, *args, **kwargs):
        raise TypeError("this would turn a traced value into a plain number or array and drop "
                        "its derivative, so mlpkit.reverse cannot differentiate through it; keep "
                        "it as an array inside f (use np.stack instead of np.array([...]))")

    __float__ = __int__ = __complex__ = __index__ = __array__ = _drops_derivative

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        if kwargs:
            raise TypeError(f"{name}: keyword arguments ({', '.join(kwargs)}) are not supported "
                            "by mlpkit.reverse")
        if method == "__call__" and ufunc in VALUE_ONLY:
            return ufunc(*(_value(v) for v in inputs))
        if method == "__call__" and (ufunc in VJP_RULES or ufunc is np.matmul):
            return _apply(_matmul if ufunc is np.matmul else ufunc, inputs)
        raise _unsupported(name)

    def __array_function__(self, func, types, args, kwargs):
        if func in VALUE_ONLY:
            return func(*(_value(v) for v in args), **kwargs)
        if func not in ARRAY_FUNCTIONS:
            raise _unsupported(f"np.{func.__name__}")
        try:
            return ARRAY_FUNCTIONS[func](*args, **kwargs)
        except TypeError:  # name the unsupported arguments, if that is what went wrong
            try:
                _SIGNATURES[func].bind(*args, **kwargs)
            except TypeError as exc:
                raise TypeError(f"np.{func.__name__}: {exc}; mlpkit.reverse supports "
                                f"np.{func.__name__}{_SIGNATURES[func]}") from None
            raise


_NO_KWARGS = {}  # shared, never modified


def _value(v):
    return v.value if type(v) is Node else v


def _constant(v):
    if type(v) is Node:
        raise TypeError("np.where's condition must not be a traced value (use a comparison such "
                        "as x > 0, which gives a plain bool array)")
    return v


def _apply(primitive, args, kwargs=_NO_KWARGS):
    """Run ``primitive`` on the values of ``args`` and append the call to the tape.

    The tape is a list (a Wengert list) of records ``(primitive, parents, args, kwargs,
    ans)``: ``parents`` holds ``(argument position, record index)`` for each traced
    argument, ``args`` and ``ans`` the values the rules read (shape-only stand-ins for
    the others).  Record 0 is the input x.
    """
    tape, parents, values = None, [], list(args)
    for position, arg in enumerate(args):
        if type(arg) is Node:
            if tape is not None and arg.tape is not tape:
                raise ValueError("values traced by two different differentiation calls were "
                                 "mixed (nested differentiation is not supported)")
            tape = arg.tape
            parents.append((position, arg.index))
            values[position] = arg.value
    ans = primitive(*values, **kwargs)
    if getattr(ans, "dtype", np.dtype(float)).kind == "c":
        raise TypeError(f"complex values are not supported by mlpkit.reverse "
                        f"(np.{getattr(primitive, '__name__', '?')} gave a complex result)")
    if tape is None:  # all arguments were constants
        return ans
    if primitive in READS_NO_ARGS:  # keep what the rules read; the rest can be freed early
        for position, _ in parents:
            values[position] = _ShapeOnly(values[position])
    saved_ans = ans if primitive in READS_ANS else _ShapeOnly(ans)
    tape.append((primitive, tuple(parents), tuple(values), kwargs, saved_ans))
    return Node(ans, tape, len(tape) - 1)


# --- running f forwards and the tape backwards ---
def trace(f, x: np.ndarray):
    """Run ``f`` on a traced ``x``; return ``(tape, output)`` (output: Node or constant)."""
    tape = [(None, (), (), {}, x)]
    out = f(Node(x, tape, 0))
    if isinstance(out, (list, tuple)) and any(type(v) is Node for v in out):
        raise TypeError("f returned a list/tuple of traced values; return np.stack(...) instead")
    if not np.isrealobj(_value(out)):
        raise TypeError(f"f(x) must return real numbers, got {type(out).__name__}")
    return tape, out


def backward(tape: list, out, seed) -> np.ndarray:
    """Return ``seed^T d(out)/dx`` (shaped like x) by one reverse sweep over the tape.

    ``seed`` is shaped like ``out``.  The sweep is a plain loop (no recursion), so tapes
    of any length work; the tape is left unchanged, ready for another sweep.
    """
    x = tape[0][4]
    if type(out) is not Node:  # f(x) did not depend on x
        return np.zeros_like(x)
    grads = [None] * (out.index + 1)  # grads[i] = adjoint of record i
    owned = [False] * (out.index + 1)  # grads[i] was allocated here: safe to update in place
    grads[out.index] = seed
    for i in range(out.index, 0, -1):
        g = grads[i]
        if g is None:  # record i does not lead to the output
            continue
        grads[i] = None  # why: free each adjoint as soon as it has been passed on
        primitive, parents, args, kwargs, ans = tape[i]
        rules = VJP_RULES[primitive]
        for position, parent in parents:
            grad, shape = rules[position](g, ans, *args, **kwargs), args[position].shape
            if type(grad) is _Scatter:  # x[index]: add g into a buffer owned by x's adjoint
                if not owned[parent]:
                    old = grads[parent]
                    grads[parent] = np.zeros(shape) if old is None else np.array(old)
                    owned[parent] = True
                grad.add_to(grads[parent])
            elif grads[parent] is None:  # first contribution: keep it as it is (no copy)
                grads[parent] = unbroadcast(grad, shape)
            elif owned[parent]:  # later ones: the sum over the children of the node
                grads[parent] += unbroadcast(grad, shape)
            else:
                grads[parent], owned[parent] = grads[parent] + unbroadcast(grad, shape), True
    grad = np.zeros_like(x) if grads[0] is None else grads[0]
    if isinstance(grad, np.ndarray) and grad.flags.owndata and grad.dtype == x.dtype:
        return grad
    return np.array(np.broadcast_to(grad, x.shape), dtype=x.dtype)  # own, writeable memory
