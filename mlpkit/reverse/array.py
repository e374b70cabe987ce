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

The rules (``VJP_RULES``) live in :mod:`mlpkit.rules`, next to the tangent rules of forward
mode, each written once in the same traceable NumPy operations.  So the backward sweep can
itself be differentiated: when the values on the tape are traced by an outer call of either mode
(a Hessian-vector product, a second derivative), the sweep's arithmetic is recorded by that call.
Each tape carries the level of its call (:mod:`mlpkit.nesting`): values of different calls are
never confused, and the innermost call handles an operation first.

Memory: the tape keeps only what the rules read (``READS_NO_ARGS``, ``READS_ANS``); the
rest is replaced by a shape-only stand-in, so intermediates die as early as in plain f.  Large
results and adjoints live in buffers reused from call to call (:mod:`mlpkit._buffers`: fresh
memory costs a page fault per 4 KiB, which was most of the time of a gradient), and the
contributions ``x[index] += g`` to one adjoint are kept until it is read, then written into one
buffer (:class:`_PendingScatters`).  A VJP that is only -g (x - y, -x: ``NEGATES``) is not
computed: the sweep carries a sign with each adjoint and subtracts where it would add.

Choices at non-differentiable points (documented, tested): ``abs'(0) = 0``;
at a tie ``np.maximum``/``np.minimum`` give the adjoint to the second argument (so
``np.maximum(x, 0)`` has slope 0 at 0), and ``np.max``/``np.min`` to the first tied entry (the
one ``np.argmax`` picks), so ``np.clip`` has slope 0 at its bounds: the same conventions as
mlpkit.forward and the complex step.  Anything else raises TypeError.
"""

from __future__ import annotations

import inspect
import numpy as np


from mlpkit.nesting import _ACTIVE as _ACTIVE_LEVELS
from mlpkit import _buffers as buffers
from mlpkit.nesting import Box, check_active, close_level, open_level, primal, top_box
from mlpkit.rules import (  # noqa: F401  (the primitives are named here for the tape's readers)
    ARRAY_FUNCTIONS, READS_ANS, READS_NO_ARGS, UFUNC_PRIMITIVES, VALUE_ONLY, VJP_RULES,
    _broadcast_to, _concatenate, _cumsum, _einsum, _expand_dims, _getitem, _matmul, _max, _mean,
    _min, _pow, _prod, _solve,
    NEGATES, _reshape, _Scatter, _scatter_add, _scatter_into, _stack, _sum, _transpose, _where,
    _leading_slice, evaluate, supported_names,
    unbroadcast)

_SIGNATURES = {func: inspect.signature(adapter) for func, adapter in ARRAY_FUNCTIONS.items()}


def _unsupported(name: str) -> TypeError:
    return TypeError(f"{name} is not supported by mlpkit.reverse; supported: "
                     f"{', '.join(supported_names())}, indexing, .reshape, .T, comparisons")


# --- the tape and the traced value ---
class _ShapeOnly:
    """Stands in on the tape for an array whose values no rule will read."""

    __slots__ = ("shape", "ndim", "size")

    def __init__(self, v):  # v: a NumPy array or scalar (or a value traced by an outer call)
        self.shape = shape = v.shape
        self.ndim, self.size = len(shape), v.size


class Tape(list):
    """The Wengert list of one differentiation call, tagged with its level (mlpkit.nesting)."""

    __slots__ = ("level",)


class Node(Box):
    """A value computed from the traced input: ``.value`` (an ndarray) and its tape index.

    Under nested differentiation ``.value`` may itself be traced by an outer call.
    """

    __slots__ = ("value", "tape", "index")

    def __init__(self, value, tape: list, index: int):
        self.value, self.tape, self.index = value, tape, index

    def __repr__(self):
        return f"Node({self.value!r})"

    level = property(lambda self: self.tape.level)
    shape = property(lambda self: np.shape(self.value))
    ndim = property(lambda self: np.ndim(self.value))
    size = property(lambda self: np.size(self.value))
    dtype = property(lambda self: np.result_type(primal(self.value)))
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
    prod = lambda self, axis=None, keepdims=False: np.prod(self, axis, keepdims=keepdims)
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
    __lt__ = lambda self, o: primal(self) < primal(o)
    __le__ = lambda self, o: primal(self) <= primal(o)
    __gt__ = lambda self, o: primal(self) > primal(o)
    __ge__ = lambda self, o: primal(self) >= primal(o)
    __eq__ = lambda self, o: primal(self) == primal(o)
    __ne__ = lambda self, o: primal(self) != primal(o)
    __hash__ = None
    __bool__ = lambda self: bool(primal(self))  # not len(): Node([0.0]) is False, as in NumPy

    def _drops_derivative(self, *args, **kwargs):
        raise TypeError("this would turn a traced value into a plain number or array and drop "
                        "its derivative, so mlpkit.reverse cannot differentiate through it; keep "
                        "it as an array inside f (use np.stack instead of np.array([...]))")

    __float__ = __int__ = __complex__ = __index__ = __array__ = _drops_derivative

    def _apply_primitive(self, primitive, args, kwargs):
        return _apply_on(self.tape, primitive, args, kwargs)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = f"np.{ufunc.__name__}" + ("" if method == "__call__" else f".{method}")
        if kwargs:
            raise TypeError(f"{name}: keyword arguments ({', '.join(kwargs)}) are not supported "
                            "by mlpkit.reverse")
        if method == "__call__" and ufunc in VALUE_ONLY:
            return ufunc(*(primal(v) for v in inputs))
        if method == "__call__" and ufunc in UFUNC_PRIMITIVES:
            return _apply(UFUNC_PRIMITIVES[ufunc], inputs)
        raise _unsupported(name)

    def __array_function__(self, func, types, args, kwargs):
        if func in VALUE_ONLY:
            return func(*(primal(v) for v in args), **kwargs)
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
_FLOAT64 = np.dtype(np.float64)


def _value(v):
    return v.value if type(v) is Node else v


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
            if tape is not None and arg.tape is not tape:  # two levels: the innermost goes first
                return _apply_nested(primitive, args, kwargs)
            tape = arg.tape
            parents.append((position, arg.index))
            values[position] = arg.value
        elif isinstance(arg, Box):  # a value traced by forward mode
            return _apply_nested(primitive, args, kwargs)
    return _record(tape, primitive, parents, values, kwargs)


def _apply_nested(primitive, args, kwargs):
    """Several differentiation calls meet: the one of the highest level records first."""
    top = top_box(args)
    if type(top) is not Node:
        return top._apply_primitive(primitive, args, kwargs)
    return _apply_on(top.tape, primitive, args, kwargs)


def _apply_on(tape, primitive, args, kwargs):
    """Record on ``tape``; traced values of other (outer) calls are constants for it."""
    parents, values = [], list(args)
    for position, arg in enumerate(args):
        if type(arg) is Node and arg.tape is tape:
            parents.append((position, arg.index))
            values[position] = arg.value
    return _record(tape, primitive, parents, values, kwargs)


def _record(tape, primitive, parents, values, kwargs):
    ans = evaluate(primitive, values, kwargs)
    if (type(ans) is not np.ndarray or ans.dtype.char != "d") and getattr(  # float64: no check
            ans, "dtype", _FLOAT64).kind == "c":
        raise TypeError(f"complex values are not supported by mlpkit.reverse "
                        f"(np.{getattr(primitive, '__name__', '?')} gave a complex result)")
    if tape is None:  # all arguments were constants
        return ans
    if tape.level not in _ACTIVE_LEVELS:  # a traced value escaped its call and is used again
        check_active(tape.level)
    if primitive in READS_NO_ARGS:  # keep what the rules read; the rest can be freed early
        for position, _ in parents:
            values[position] = _ShapeOnly(values[position])
    elif primitive is np.multiply and len(parents) == 1:  # c * x: the rule of x reads only c
        position = parents[0][0]
        values[position] = _ShapeOnly(values[position])
    saved_ans = ans if primitive in READS_ANS else _ShapeOnly(ans)
    tape.append((primitive, tuple(parents), tuple(values), kwargs, saved_ans))
    return Node(ans, tape, len(tape) - 1)


# --- running f forwards and the tape backwards ---
def trace(f, x):
    """Run ``f`` on a traced ``x``; return ``(tape, output)`` (output: Node or constant).

    ``x`` is an array, or a value traced by an outer differentiation call (nesting).
    """
    tape = Tape([(None, (), (), {}, x)])
    tape.level = level = open_level()
    try:
        out = f(Node(x, tape, 0))
        if isinstance(out, (list, tuple)) and any(isinstance(v, Box) for v in out):
            raise TypeError("f returned a list/tuple of traced values; return np.stack(...) "
                            "instead")
        if type(out) is not Node or out.tape is not tape:
            top_box((out,))  # raises if f returned a value of an inner call that has finished
    finally:
        close_level(level)
    if not np.isrealobj(primal(out)):
        raise TypeError(f"f(x) must return real numbers, got {type(out).__name__}")
    return tape, out


def _add(total, grad):
    """total + grad, where either may be traced by an outer call (no in-place update then)."""
    return total + grad


# A traced adjoint built by the sweep from fresh buffers that nothing else references (the
# scatter-adds of indexing): it may be updated in place (``_add_at_in_place``) like a plain one.
TRACED_OWNED = "traced"


def backward(tape: list, out, seed, release: bool = False):
    """Return ``seed^T d(out)/dx`` (shaped like x) by one reverse sweep over the tape.

    ``seed`` is shaped like ``out``.  The sweep is a plain loop (no recursion), so tapes
    of any length work; the tape is left unchanged, ready for another sweep, unless
    ``release``: then each record is dropped once its adjoints have been passed on, so the
    values it kept are freed during the sweep (for a single sweep: less memory).  When the
    values on the tape are traced by an outer call (nested differentiation) the rules'
    arithmetic is traced too, and the result is a traced value.

    Signs: the adjoint of record i is ``signs[i] * grads[i]`` (signs +1 or -1).  A VJP that is
    -g (``NEGATES``: x - y, -x) of a full plain array g is not computed: the sign flips instead,
    passes through the later rules unchanged (every VJP is linear in g), and becomes a
    subtraction where adjoints are summed; only a gradient that ends up negative costs a
    negation, at the end.  (A number or a broadcast g, all strides 0, is negated by the rule:
    that costs nothing, while its sign could end up on a full array.)
    """
    x = tape[0][4]
    if type(out) is not Node or out.tape is not tape:  # f(x) did not depend on x
        return np.zeros(np.shape(x))
    grads = [None] * (out.index + 1)  # grads[i] = adjoint of record i, up to its sign
    signs = [1] * (out.index + 1)
    owned = [False] * (out.index + 1)  # grads[i] is a plain array allocated here: update in place
    grads[out.index] = seed
    for i in range(out.index, 0, -1):
        g = grads[i]
        if g is None:  # record i does not lead to the output
            continue
        grads[i] = None  # why: free each adjoint as soon as it has been passed on
        primitive, parents, args, kwargs, ans = tape[i]
        if release:
            tape[i] = None
        if type(g) is _PendingScatters:
            g = g.materialise(ans.shape)
        sign = signs[i]
        rules = VJP_RULES[primitive]
        negated = NEGATES.get(primitive)
        for position, parent in parents:
            shape = args[position].shape
            if position == negated and type(g) is np.ndarray and any(g.strides):
                grad, s = g, -sign  # -g: flip the sign (see the docstring)
            else:
                grad, s = rules[position](g, ans, *args, **kwargs), sign
            old = grads[parent]
            if old is None and type(grad) is np.ndarray:  # the common case, first and fast
                grads[parent], signs[parent] = unbroadcast(grad, shape), s
                continue
            if type(old) is _PendingScatters:
                if type(grad) is _Scatter and not isinstance(grad.g, Box):
                    old.append((grad, s))
                    continue
                grads[parent] = old = old.materialise(shape)
                owned[parent], signs[parent] = True, 1
            if s < 0 and (isinstance(grad, Box) or type(grad) is _Scatter and isinstance(
                    grad.g, Box) or isinstance(old, Box)):  # nested: signs only on plain arrays
                grad = _Scatter(grad.index, -grad.g) if type(grad) is _Scatter else -grad
                s = 1
            if signs[parent] < 0 and old is not None and (
                    isinstance(grad, Box) or type(grad) is _Scatter and isinstance(grad.g, Box)):
                grads[parent] = old = -old
                signs[parent], owned[parent] = 1, False
            if type(grad) is _Scatter:  # x[index]: add g into a buffer owned by x's adjoint
                if isinstance(old, Box) or isinstance(grad.g, Box):  # nested: stay traceable
                    if owned[parent] == TRACED_OWNED and old._add_at_in_place(grad.index, grad.g):
                        continue
                    exclusive = not isinstance(old, Box) or owned[parent] == TRACED_OWNED
                    grads[parent] = total = grad.traced_sum(old, shape)
                    owned[parent] = exclusive and hasattr(total, "_add_at_in_place") and (
                        TRACED_OWNED)
                    continue
                if old is None:  # added into a buffer when x's adjoint is read
                    grads[parent] = _PendingScatters([(grad, s)])
                    continue
                if owned[parent] is not True:
                    grads[parent] = _own_copy(old, shape)
                    owned[parent] = True
                grad.add_to(grads[parent], s * signs[parent])
            elif old is None:  # first contribution: keep it as it is (no copy)
                grads[parent], signs[parent] = unbroadcast(grad, shape), s
            elif owned[parent] is True and not isinstance(grad, Box):  # sum over the children
                if s == signs[parent]:
                    grads[parent] += unbroadcast(grad, shape)
                else:
                    grads[parent] -= unbroadcast(grad, shape)
            elif isinstance(old, Box) or isinstance(grad, Box):
                grads[parent] = old + unbroadcast(grad, shape)  # (signs are +1 here)
                owned[parent] = False
            else:  # the second contribution: the sum goes into a buffer the sweep owns
                combine = np.add if s == signs[parent] else np.subtract
                grads[parent] = combine(old, unbroadcast(grad, shape), out=buffers.empty(shape))
                owned[parent] = True
    grad = np.zeros(np.shape(x)) if grads[0] is None else grads[0]
    if type(grad) is _PendingScatters:
        return grad.materialise(np.shape(x))
    if signs[0] < 0:  # the one negation the sweep could not fold into an addition
        if owned[0] is True:
            return np.negative(grad, out=grad)
        grad = -grad
    if isinstance(grad, Box):
        return grad if grad.shape == np.shape(x) else np.broadcast_to(grad, np.shape(x))
    if isinstance(grad, np.ndarray) and grad.flags.owndata and grad.dtype == np.float64:
        return grad
    return _own_copy(grad, np.shape(x))  # own, writeable


class _PendingScatters(list):
    """The VJPs ``x[index] += g`` (plain) of one adjoint, kept until the adjoint is read.

    Why: zeros then ``+=`` touches the memory twice.  Kept together, the largest slice along the
    first axis (``theta[a:b]``, ``x[1:]``) is copied in, only the rest is zeroed, and the others
    are added: one pass over the memory fewer, a tenth of f for Rosenbrock.
    """

    def materialise(self, shape):
        """The adjoint, sum of the (scatter, sign) pairs, in a buffer (its sign: +1)."""
        out = buffers.empty(shape)
        spans = [(span, s, sign) for s, sign in self
                 if (span := _leading_slice(s.index, shape))]
        if not spans:
            out.fill(0.0)
            rest = self
        else:
            (start, stop), first, first_sign = max(spans, key=lambda t: t[0][1] - t[0][0])
            out[:start] = 0.0
            out[stop:] = 0.0
            twin, twin_sign = next(((s, sign) for span, s, sign in spans
                                    if span == (start, stop) and s is not first), (None, 1))
            target = out[start:stop]
            if twin is None:
                if first_sign > 0:
                    target[...] = first.g
                else:
                    np.negative(first.g, out=target)
            elif first_sign == twin_sign:  # x[a:b] used twice (Rosenbrock's x[:-1]): one pass
                np.add(first.g, twin.g, out=target)
                if first_sign < 0:
                    np.negative(target, out=target)
            else:  # one pass for the difference
                np.subtract(*((first.g, twin.g) if first_sign > 0 else (twin.g, first.g)),
                            out=target)
            rest = [(s, sign) for s, sign in self if s is not first and s is not twin]
        for scatter, sign in rest:
            scatter.add_to(out, sign)
        return out


def _own_copy(value, shape):
    """A float64 array of ``shape`` holding ``value`` (broadcast; zeros for None), in a buffer
    that the sweep owns, so it may add into it in place."""
    out = buffers.empty(shape)
    if value is None:
        out.fill(0.0)
    else:
        np.copyto(out, value)
    return out
