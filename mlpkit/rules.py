"""The derivative rules of every primitive, written once, for both AD engines.

A *primitive* is a NumPy ufunc (``np.sin``, ``np.multiply``, ...) or one of the small functions
with fixed signatures below (``_sum``, ``_getitem``, ``_matmul``, ...) that the NumPy functions
are routed to (:data:`ARRAY_FUNCTIONS`).  For each primitive y = F(x_1, ..., x_k):

- ``JVP_RULES[F][i](dx_i, ans, *args, **kwargs)``: the tangent of y caused by the tangent dx_i of
  argument i (forward mode, :mod:`mlpkit.forward`, sums them over the arguments that move);
  ``LINEAR`` means F is linear in its first argument, so the tangent is F(dx_1, *options);
  ``LINEAR_ALL``: linear in all its (array) arguments (np.stack, np.concatenate);
- ``VJP_RULES[F][i](g, ans, *args, **kwargs)``: the vector-Jacobian product g^T dy/dx_i
  (reverse mode, :mod:`mlpkit.reverse.array`), shaped like y before :func:`unbroadcast`.

Every rule is written with the same NumPy operations that the engines trace: never with raw
values taken out of a traced box.  So when the arguments are themselves traced by an outer
differentiation call (a Hessian-vector product, a second derivative), the outer call records the
rule's arithmetic and differentiates through it: every mode nests in every mode
(:mod:`mlpkit.nesting`).  Decisions that are not derivatives (which element is the max, where a
kink is, whether a derivative is infinite) are taken on the plain values (:func:`primal`).

``JVP_ALL_MOVING`` gives the same tangent in fewer operations when every argument moves (d(x + y)
= dx + dy in one addition).  Some NumPy functions are composites of primitives and need no rule
(``np.outer``, ``np.clip``, ``np.split``).  ``np.einsum`` is supported for the contractions
whose rules are einsums again (:func:`_einsum_terms` says which; others raise TypeError);
``np.prod`` for ``axis=None`` or one integer axis.

Conventions where a derivative does not exist (the same in every mode): ``abs'(0) = 0``; at a tie
``np.maximum``/``np.minimum`` take the derivative of the second argument (``relu'(0) = 0``), so
``np.clip`` has slope 0 at its bounds; ``np.max``/``np.min`` the first tied entry (the one
``np.argmax`` picks).  Outside a function's domain (``np.arcsin`` at |x| >= 1, ``np.log`` at
x <= 0) NumPy's own nan/inf (with its warning) comes out, as for the function itself.

Elementwise functions whose rule is one formula f'(x) (``np.tanh``: 1 - tanh(x)^2, ``np.sin``,
``np.arcsin``, ...) are listed once in :data:`SLOPES`; both tables are built from it (the tangent
dy = f'(x) dx, and the adjoint g f'(x)).

Length: about 700 lines on purpose, so that every rule of both modes sits in one table that can
be read (and checked against a textbook) in one place.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mlpkit import _buffers
from mlpkit.nesting import Box, apply, primal

# --- primitives that are not ufuncs: fixed signatures, so the rules can rely on them ---------
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
_broadcast_to = lambda x, shape: np.broadcast_to(x, shape)
_expand_dims = lambda x, axis: np.expand_dims(x, axis)


def _cumsum(x, axis=None):
    return np.cumsum(x, axis=axis)


def _reverse_cumsum(g, x_shape, axis):
    """The VJP of cumsum: entry i of x feeds the sums i, i+1, ...: sum g from the end."""
    if axis is None:
        g = np.ravel(g)
        return np.reshape(_flip(_cumsum_traced(_flip(g, 0), 0), 0), x_shape)
    return _flip(_cumsum_traced(_flip(g, axis), axis), axis)


def _flip(g, axis):
    return g[_axis_index(np.ndim(g), axis, slice(None, None, -1))]


def _cumsum_traced(x, axis):
    return apply(_cumsum, (x,), {"axis": axis})


def _solve(a, b):
    """np.linalg.solve for one square matrix a (2-D) and b of shape (n,) or (n, k)."""
    if np.ndim(a) != 2 or np.ndim(b) not in (1, 2):
        raise TypeError(f"np.linalg.solve is supported by mlpkit's AD for a 2-D matrix and a 1-D "
                        f"or 2-D right-hand side, got shapes {np.shape(a)} and {np.shape(b)}")
    return np.linalg.solve(a, b)


def _solve_traced(a, b):
    return apply(_solve, (a, b))


def _solve_vjp_a(g, ans, a, b):
    """d/dA of A^{-1} b against g: -(A^{-T} g) ans^T."""
    w = _solve_traced(np.transpose(a), g)
    if np.ndim(ans) == 1:
        return -(np.reshape(w, (-1, 1)) * np.reshape(ans, (1, -1)))
    return -(w @ np.transpose(ans))


def _matmul(a, b):
    """a @ b for 1-D and 2-D arrays (``np.matmul``, ``np.dot`` and ``@`` all come here)."""
    if not (1 <= np.ndim(a) <= 2 and 1 <= np.ndim(b) <= 2):
        raise TypeError(f"np.matmul/np.dot/@ are supported by mlpkit's AD for 1-D and 2-D "
                        f"arrays only, got shapes {np.shape(a)} and {np.shape(b)}")
    return np.matmul(a, b)


def _is_basic(index) -> bool:
    """Basic indexing (ints, slices, None, ...) never selects an element twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (slice, int)) for p in parts)


def _scatter_into(total, g, index):
    """total + (g added at ``index``): an adjoint accumulating the VJP of x[index]."""
    if isinstance(total, Box) or isinstance(g, Box):  # deeper nesting: let the boxes trace it
        return apply(_scatter_into, (total, g, index))
    out = np.array(total, dtype=np.float64)  # a copy: the adjoints on the tape stay unchanged
    if _is_basic(index):
        out[index] += g
    else:
        np.add.at(out, index, g)
    return out


def _scatter_add(g, shape, index):
    """zeros(shape) with g added at ``index`` (repeated indices add up): the VJP of x[index]."""
    if isinstance(g, Box):  # deeper nesting: let the box trace it
        return apply(_scatter_add, (g, shape, index))
    out = _buffers.empty(shape)  # a reused buffer (why: see mlpkit._buffers)
    span = _leading_slice(index, shape)
    if span:  # x[a:b]: zero only the rest (one pass over the memory fewer)
        out[:span[0]] = 0.0
        out[span[1]:] = 0.0
        out[index] = g
        return out
    out.fill(0.0)
    if _is_basic(index):
        out[index] = g
    else:
        np.add.at(out, index, g)  # x[[0, 0]] has derivative 2: add each repeat
    return out


def _leading_slice(index, shape):
    """(start, stop) if ``index`` is a slice of step 1 along the first axis, else None."""
    if type(index) is slice and index.step in (None, 1) and shape:
        start, stop, _ = index.indices(shape[0])
        return (start, stop) if start <= stop else None
    return None


def evaluate(primitive, values, kwargs):
    """``primitive(*values, **kwargs)`` on the values of one level (both engines run primitives
    through here); a large plain result of an elementwise ufunc or a matrix product goes into a
    reused buffer (why: fresh memory costs page faults, see :mod:`mlpkit._buffers`)."""
    if type(primitive) is np.ufunc and not kwargs:
        return _buffers.apply_ufunc(primitive, *values)
    if primitive is _pow and type(values[1]) in (int, float) and values[1] == 2:
        return _buffers.apply_ufunc(np.square, values[0])  # what NumPy computes for x**2
    if primitive is _matmul and np.ndim(values[0]) == 2 and np.ndim(values[1]) == 2:
        return _buffers.matmul(*values)
    return primitive(*values, **kwargs)


# --- helpers used by the rules ----------------------------------------------------------------
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


def _uniform(g):
    """The number that a plain broadcast array (all strides 0, e.g. the adjoint of a sum) repeats;
    None for anything else."""
    if type(g) is np.ndarray and not any(g.strides):
        return g.reshape(-1)[0] if g.size else None
    return None


def _repeated(number, shape):
    """A read-only array of ``shape`` repeating one plain float64 number, with no memory of its
    own (all strides 0): ``np.broadcast_to(number, shape)`` in a tenth of its time (the
    adjoint of a sum, on every gradient)."""
    out = np.ndarray(shape, np.float64, np.array(number, np.float64), 0, (0,) * len(shape))
    out.flags.writeable = False
    return out


def _scale(g, c):
    """g * c for a constant number c: a broadcast view again when g is one (no full array)."""
    u = _uniform(g)
    if u is not None and np.isscalar(c):
        product = u * c
        if type(product) is np.float64:  # the usual case
            return _repeated(product, g.shape)
        return np.broadcast_to(product, g.shape)
    return _reused(np.multiply, g, c)


def _reused(ufunc, *operands):
    """``ufunc(*operands)``; a large plain result goes into a reused buffer (:mod:`mlpkit._buffers`
    says why: fresh memory costs page faults).  Traced operands are traced as usual."""
    return _buffers.apply_ufunc(ufunc, *operands)


def _scaled(fresh, c):
    """fresh * c for a number c, in place when ``fresh`` is a plain temporary just computed."""
    if type(fresh) is np.ndarray:
        fresh *= c
        return fresh
    return fresh * c


def _times(g, fresh):
    """g * fresh, written into ``fresh`` (a plain temporary just computed): one allocation fewer."""
    if type(fresh) is np.ndarray and fresh.shape == np.shape(g) and not isinstance(g, Box):
        fresh *= g
        return fresh
    return g * fresh


def _one_minus_square(a):
    """1 - a**2; for a plain array, in one reused buffer (the slope of tanh, the activation of the
    course's networks: why reuse, see :func:`_reused`)."""
    if isinstance(a, Box):
        return 1.0 - a**2
    out = _reused(np.square, a)
    if type(out) is not np.ndarray:  # a 0-d a gives a NumPy number
        return 1.0 - out
    return np.subtract(1.0, out, out=out)


def _spread(g, x, axis, keepdims):
    """Undo a reduction over ``axis``: re-insert the reduced axes, broadcast to x's shape."""
    if axis is None and type(g) in (np.ndarray, np.float64) and np.ndim(g) == 0 and (
            g.dtype.char == "d"):  # the adjoint of a sum of everything: one number repeated
        return _repeated(g, np.shape(x))
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, np.shape(x))


def _first_winners(x, ans, axis, keepdims):
    """Plain bool mask of the entry max/min selected: at a tie the first one (as np.argmax)."""
    x, ans = primal(x), primal(ans)
    winners = x == _spread(ans, x, axis, keepdims)
    if axis is None:
        first = (np.cumsum(winners.ravel()) == 1).reshape(np.shape(x))
    else:
        first = np.cumsum(winners, axis=axis) == 1
    return first & winners


def _max_vjp(g, ans, x, axis=None, keepdims=False):
    """VJP of max (and min): the adjoint goes to the winner."""
    return _spread(g, x, axis, keepdims) * _first_winners(x, ans, axis, keepdims)


def _max_jvp(dx, ans, x, axis=None, keepdims=False):
    """JVP of max (and min): the tangent of the winner."""
    return np.sum(dx * _first_winners(x, ans, axis, keepdims), axis=axis, keepdims=keepdims)


class _Scatter(NamedTuple):
    """The VJP of x[index] on plain arrays: "add g at index" into x's adjoint, not a dense array."""

    index: object
    g: object

    def add_to(self, grad, sign=1):
        """grad[index] += sign * g (sign +1 or -1: a subtraction costs what an addition does)."""
        if _is_basic(self.index):  # basic indexing never repeats an element
            if sign > 0:
                grad[self.index] += self.g
            else:
                grad[self.index] -= self.g
        else:  # x[[0, 0]] has derivative 2: add each repeat
            (np.add if sign > 0 else np.subtract).at(grad, self.index, self.g)

    def traced_sum(self, total, shape):
        """total + self as a traced operation (nested differentiation: total or g is traced)."""
        if total is None:
            return apply(_scatter_add, (self.g, shape, self.index))
        return apply(_scatter_into, (total, self.g, self.index))


def _getitem_vjp(g, ans, x, index):
    return _Scatter(index, g)  # the sweep adds it into x's adjoint (traced: _scatter_into)


def _as_matrices(g, a, b):
    """View a @ b as (n, k) @ (k, m): a 1-D a is a row (1, k), a 1-D b a column (k, 1)."""
    a2 = np.reshape(a, (1, -1)) if np.ndim(a) == 1 else a
    b2 = np.reshape(b, (-1, 1)) if np.ndim(b) == 1 else b
    return np.reshape(g, (a2.shape[0], b2.shape[1])), a2, b2


def _matmul_d_a(g, ans, a, b):  # Y = A B  =>  dL/dA = G B^T
    g2, _, b2 = _as_matrices(g, a, b)
    return np.reshape(_reused_matmul(g2, np.transpose(b2)), np.shape(a))


def _matmul_d_b(g, ans, a, b):  # dL/dB = A^T G
    g2, a2, _ = _as_matrices(g, a, b)
    return np.reshape(_reused_matmul(np.transpose(a2), g2), np.shape(b))


def _reused_matmul(a, b):
    """a @ b, a large plain result in a reused buffer (as :func:`_reused`)."""
    return _buffers.matmul(a, b)


def _matmul_traced(a, b):
    if isinstance(a, Box) or isinstance(b, Box):
        return apply(_matmul, (a, b))
    return evaluate(_matmul, (a, b), {})  # plain: a large product goes into a reused buffer


def _power_d_base(g, ans, x, y):
    if np.isscalar(y) and y == 2:  # the common x**2: one operation fewer
        u = _uniform(g)
        if u is not None and np.shape(x) == g.shape:  # g repeats one number
            return _reused(np.multiply, x, 2.0 * u)
        if isinstance(x, Box) and not isinstance(g, Box):
            return x * (2.0 * g)  # traced x: scale the plain g first, an operation fewer
        return _times(g, _reused(np.multiply, x, 2.0))
    return g * y * x ** (y - 1)


def _power_d_exponent(g, ans, x, y):
    x_plain = primal(x)
    if np.any(np.asarray(x_plain) < 0):
        raise ValueError("d(x**y)/dy = x**y log(x) needs x >= 0, but the base has negative "
                         "entries and the exponent is being differentiated")
    return g * x**y * np.log(np.where(np.asarray(x_plain) > 0, x, 1.0))  # 0 where x = 0 (y > 0)


def _power_jvp_base(dx, ans, x, y):
    """dz = y x^(y-1) dx; an infinite derivative (x = 0, y < 1) that dx moves raises."""
    if np.isscalar(y):
        if y == 2:
            return _scaled(_reused(np.multiply, x, dx), 2.0)
        if y == 0:
            return 0.0 * dx  # x ** 0 = 1 does not move
        if y == 1:
            return dx
    x_plain, y_plain = np.asarray(primal(x)), np.asarray(primal(y))
    singular = (x_plain == 0) & (y_plain < 1)
    if np.any(singular & (y_plain != 0) & (np.asarray(primal(dx)) != 0)):
        raise ValueError("the derivative of x ** y (y < 1, e.g. np.sqrt = x ** 0.5) is infinite "
                         "at x = 0, and the tangent direction moves x there")
    if not np.any(singular):
        return dx * (y * x ** (y - 1))
    safe_x = np.where(singular, 1.0, x)
    return np.where(singular, 0.0, dx * (y * safe_x ** (y - 1)))


def _power_jvp_exponent(dy, ans, x, y):
    """dz = x^y log(x) dy, which needs x > 0 wherever dy moves."""
    x_plain = np.asarray(primal(x))
    if np.any((np.asarray(primal(dy)) != 0) & (x_plain <= 0)):
        raise ValueError("x ** y with a differentiated exponent y needs x > 0 (d/dy x^y = x^y "
                         "log x); found a base <= 0")
    return dy * ans * np.log(np.where(x_plain > 0, x, 1.0))


def _sqrt_jvp(dx, ans, x):
    zero = np.asarray(primal(ans)) == 0
    if not np.any(zero):
        return dx * (0.5 / ans)
    if np.any(zero & (np.asarray(primal(dx)) != 0)):
        raise ValueError("the derivative of np.sqrt is infinite at x = 0, and the tangent "
                         "direction moves x there")
    return np.where(zero, 0.0, dx * (0.5 / np.where(zero, 1.0, ans)))


def _axis_index(ndim, axis, item):
    """The index that picks ``item`` along ``axis`` (a slice or an int) of an ndim-array."""
    return (slice(None),) * (axis % ndim) + (item,)


def _stack_vjp(i, g, ans, arrays, axis):
    return g[_axis_index(np.ndim(g), axis, i)]


def _concatenate_vjp(i, g, ans, arrays, axis):
    if axis is None:  # concatenate(..., axis=None) flattened its arguments first
        g, axis, sizes = np.ravel(g), 0, [np.size(a) for a in arrays]
    else:
        sizes = [np.shape(a)[axis] for a in arrays]
    start = sum(sizes[:i])
    piece = g[_axis_index(np.ndim(g), axis, slice(start, start + sizes[i]))]
    return np.reshape(piece, np.shape(arrays[i]))


class _Each:
    """The rules of a primitive taking any number of arrays: ``rules[i]`` is for the i-th."""

    def __init__(self, rule):
        self.rule = rule

    def __getitem__(self, i):
        return lambda g, ans, *arrays, axis: self.rule(i, g, ans, arrays, axis)


# --- elementwise functions y = f(x) whose rule is one formula f'(x) (given x and y = ans):
# written ONCE here; forward mode's tangent dy = f'(x) dx and reverse mode's adjoint g f'(x) are
# both made from it (``_tangent_from_slope``, ``_adjoint_from_slope``).  Each formula returns a
# new array (the adjoint is multiplied into it in place). ------------------------------------
SLOPES = {
    np.sin: lambda x, ans: np.cos(x),
    np.cos: lambda x, ans: -np.sin(x),
    np.tan: lambda x, ans: 1.0 + ans**2,
    np.tanh: lambda x, ans: _one_minus_square(ans),  # 1 - tanh(x)^2
    np.expm1: lambda x, ans: ans + 1.0,
    np.arctan: lambda x, ans: 1.0 / (1.0 + x**2),
    np.sinh: lambda x, ans: np.cosh(x),
    np.cosh: lambda x, ans: np.sinh(x),
    np.arcsin: lambda x, ans: 1.0 / np.sqrt(1.0 - x**2),   # |x| < 1
    np.arccos: lambda x, ans: -1.0 / np.sqrt(1.0 - x**2),  # |x| < 1
    np.arcsinh: lambda x, ans: 1.0 / np.sqrt(1.0 + x**2),
    np.arccosh: lambda x, ans: 1.0 / np.sqrt(x**2 - 1.0),  # x > 1
    np.arctanh: lambda x, ans: 1.0 / (1.0 - x**2),         # |x| < 1
}


def _tangent_from_slope(slope):
    return (lambda dx, ans, x: _times(dx, slope(x, ans)),)


def _adjoint_from_slope(slope):
    return (lambda g, ans, x: _times(g, slope(x, ans)),)


def _einsum_terms(subscripts, n_operands):
    """(input terms, output term) of an einsum that mlpkit differentiates, or a clear TypeError.

    Supported: one or two operands of letters; no letter twice in one operand (no diagonals or
    traces); every letter of an operand also in the output or in the other operand (nothing
    summed inside one operand alone); an output of distinct letters.  That covers 'ij,jk->ik',
    'ij,j->i', 'i,i->', 'ij,ij->', 'bij,bjk->bik', 'ij->ji' and the like.
    """
    def refuse(why):
        return TypeError(f"np.einsum({subscripts!r}, ...) is not supported by mlpkit's AD: {why}. "
                         "Supported: one or two operands, each letter at most once per operand "
                         "and shared with the output or the other operand, e.g. 'ij,jk->ik', "
                         "'ij,j->i', 'i,i->', 'ij,ij->', 'bij,bjk->bik', 'ij->ji'")

    if not isinstance(subscripts, str):
        raise refuse("the subscripts must be a string")
    spec = subscripts.replace(" ", "")
    if "." in spec:
        raise refuse("'...' is not supported")
    inputs, arrow, output = spec.partition("->")
    terms = inputs.split(",")
    if len(terms) != n_operands or n_operands not in (1, 2):
        raise refuse(f"{n_operands} operand(s) for {len(terms)} term(s); one or two are supported")
    if not all(t.isalpha() or t == "" for t in terms + [output]):
        raise refuse("subscripts must be letters")
    if not arrow:  # implicit mode: the letters used once, in alphabetical order
        letters = "".join(terms)
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    for t in terms + [output]:
        if len(set(t)) != len(t):
            raise refuse(f"the letter repeated in {t!r} (a diagonal or trace)")
    for i, t in enumerate(terms):
        others = output + "".join(terms[:i] + terms[i + 1:])
        if set(t) - set(others):
            raise refuse(f"{''.join(sorted(set(t) - set(others)))!r} is summed inside one operand")
    if set(output) - set("".join(terms)):
        raise refuse("an output letter appears in no operand")
    return terms, output


def _einsum(*operands, subscripts):
    return np.einsum(subscripts, *operands)


def _einsum_vjp(i, g, ans, operands, subscripts):
    """The adjoint of operand i: g contracted with the other operand, into operand i's letters."""
    terms, output = _einsum_terms(subscripts, len(operands))
    others = [o for j, o in enumerate(operands) if j != i]
    other_terms = [t for j, t in enumerate(terms) if j != i]
    spec = ",".join([output] + other_terms) + "->" + terms[i]
    return np.einsum(spec, g, *others)


def _einsum_jvp(i, dx, ans, operands, subscripts):
    """einsum is linear in each operand: the tangent is the same einsum with dx in place i."""
    moved = list(operands)
    moved[i] = dx
    return np.einsum(subscripts, *moved)


class _EachOperand:
    """The rules of ``_einsum`` (operands positional, the subscripts a keyword)."""

    def __init__(self, rule):
        self.rule = rule

    def __getitem__(self, i):
        return lambda g, ans, *operands, subscripts: self.rule(i, g, ans, operands, subscripts)


def _prod(x, axis=None, keepdims=False):
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise TypeError(f"np.prod is supported by mlpkit's AD with axis=None or one integer axis, "
                        f"got axis={axis!r}")
    return np.prod(x, axis=axis, keepdims=keepdims)


_OTHERS_BY_PRODUCTS = 64


def _product_of_others(x, ans, axis, keepdims):
    """d prod / d x_k = the product of the other entries along the axis, shaped like x.

    Each position's product is formed with that entry replaced by 1: exact, also at zeros, and
    its own derivative (nesting) is exact too.  That costs (axis length) products, so along an
    axis longer than ``_OTHERS_BY_PRODUCTS`` with no zero entry, ans / x is used instead (same
    first derivative to rounding; a nested second derivative of it cancels for entries near 0).
    """
    if axis is None:
        flat = np.reshape(x, (-1,))
        return np.reshape(_product_of_others(flat, np.reshape(ans, (1,)), 0, True), np.shape(x))
    axis = axis % np.ndim(x)
    if np.shape(x)[axis] > _OTHERS_BY_PRODUCTS:
        if np.any(np.asarray(primal(x)) == 0):
            raise ValueError(f"the derivative of np.prod along an axis of length "
                             f"{np.shape(x)[axis]} > {_OTHERS_BY_PRODUCTS} with a zero entry is "
                             "not supported by mlpkit's AD (it would divide by 0)")
        return _spread(ans, x, axis, keepdims) / x
    pieces = []
    for k in range(np.shape(x)[axis]):
        one_here = np.zeros(np.shape(x), dtype=bool)
        one_here[_axis_index(np.ndim(x), axis, k)] = True
        pieces.append(np.prod(np.where(one_here, 1.0, x), axis=axis, keepdims=True))
    return np.concatenate(pieces, axis=axis)


def _prod_vjp(g, ans, x, axis=None, keepdims=False):
    return _spread(g, x, axis, keepdims) * _product_of_others(x, ans, axis, keepdims)


def _prod_jvp(dx, ans, x, axis=None, keepdims=False):
    return np.sum(dx * _product_of_others(x, ans, axis, keepdims), axis=axis, keepdims=keepdims)


def _split(a, indices_or_sections, axis=0):
    """np.split as basic slices of a (composite: the rule of indexing does the derivative)."""
    n = np.shape(a)[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        if indices_or_sections <= 0 or n % indices_or_sections:
            raise ValueError(f"np.split: an axis of length {n} cannot be split into "
                             f"{indices_or_sections} equal parts")
        step = n // indices_or_sections
        bounds = list(range(0, n + 1, step))
    else:
        bounds = [0, *[min(int(i), n) for i in indices_or_sections], n]
    return [a[_axis_index(np.ndim(a), axis, slice(lo, max(lo, hi)))]
            for lo, hi in zip(bounds[:-1], bounds[1:])]


LINEAR = "linear in its first argument: the tangent is F(dx, *options)"
LINEAR_ALL = "linear in all its array arguments: the tangent is F(dx_1, ..., dx_k)"

# --- THE table of forward (tangent) rules: dy = sum over moving arguments of rule_i(dx_i) ----
JVP_RULES = {
    np.negative: LINEAR,
    np.positive: LINEAR,
    np.exp: (lambda dx, ans, x: dx * ans,),
    np.log: (lambda dx, ans, x: dx / x,),
    np.log1p: (lambda dx, ans, x: dx / (1.0 + x),),
    np.sqrt: (_sqrt_jvp,),
    np.absolute: (lambda dx, ans, x: dx * np.sign(x),),  # sign(0) = 0, a subgradient
    np.square: (lambda dx, ans, x: _scaled(_reused(np.multiply, x, dx), 2.0),),
    np.add: (lambda dx, ans, x, y: dx, lambda dy, ans, x, y: dy),
    np.subtract: (lambda dx, ans, x, y: dx, lambda dy, ans, x, y: _reused(np.negative, dy)),
    np.multiply: (lambda dx, ans, x, y: _reused(np.multiply, dx, y),  # dx * y
                  lambda dy, ans, x, y: _reused(np.multiply, x, dy)),  # x * dy
    np.divide: (lambda dx, ans, x, y: dx / y, lambda dy, ans, x, y: -(dy * ans) / y),
    np.power: (_power_jvp_base, _power_jvp_exponent),
    _pow: (_power_jvp_base, _power_jvp_exponent),
    np.maximum: (lambda dx, ans, x, y: np.where(primal(x) > primal(y), dx, 0.0),  # tie: 2nd
                 lambda dy, ans, x, y: np.where(primal(x) > primal(y), 0.0, dy)),
    np.minimum: (lambda dx, ans, x, y: np.where(primal(x) < primal(y), dx, 0.0),
                 lambda dy, ans, x, y: np.where(primal(x) < primal(y), 0.0, dy)),
    _matmul: (lambda da, ans, a, b: _matmul_traced(da, b),
              lambda db, ans, a, b: _matmul_traced(a, db)),
    _sum: LINEAR,
    _mean: LINEAR,
    _max: (_max_jvp,),
    _min: (_max_jvp,),
    _getitem: LINEAR,
    _reshape: LINEAR,
    _transpose: LINEAR,
    _broadcast_to: LINEAR,
    _expand_dims: LINEAR,
    _scatter_add: LINEAR,
    _scatter_into: (lambda dt, ans, total, g, index: dt,
                    lambda dg, ans, total, g, index: apply(_scatter_add, (dg, np.shape(total),
                                                                          index))),
    _where: (None,  # the condition is a constant
             lambda dx, ans, c, x, y: np.where(c, dx, 0.0),
             lambda dy, ans, c, x, y: np.where(c, 0.0, dy)),
    _stack: LINEAR_ALL,
    _concatenate: LINEAR_ALL,
    np.logaddexp: (lambda dx, ans, x, y: dx * np.exp(x - ans),
                   lambda dy, ans, x, y: dy * np.exp(y - ans)),
    _cumsum: LINEAR,
    _solve: (lambda da, ans, a, b: -_solve_traced(a, da @ ans),  # d(A^-1 b) = -A^-1 dA A^-1 b
             lambda db, ans, a, b: _solve_traced(a, db)),
    _prod: (_prod_jvp,),
    _einsum: _EachOperand(_einsum_jvp),
    **{f: _tangent_from_slope(slope) for f, slope in SLOPES.items()},
}

# When every argument moves, these give the tangent in fewer operations than the sum of the
# rules above: d(x + y) = dx + dy in one addition.
JVP_ALL_MOVING = {
    np.add: lambda dx, dy, ans, x, y: _reused(np.add, dx, dy),  # dx + dy
    np.subtract: lambda dx, dy, ans, x, y: _reused(np.subtract, dx, dy),  # dx - dy
    _scatter_into: lambda dt, dg, ans, total, g, index: apply(_scatter_into, (dt, dg, index)),
}

# --- THE table of reverse (adjoint) rules: one VJP per argument, rule(g, ans, *args, **kw) ---
VJP_RULES = {
    np.add: (lambda g, ans, x, y: g, lambda g, ans, x, y: g),
    np.subtract: (lambda g, ans, x, y: g, lambda g, ans, x, y: _scale(g, -1.0)),
    np.multiply: (lambda g, ans, x, y: _scale(g, y), lambda g, ans, x, y: _scale(g, x)),
    np.divide: (lambda g, ans, x, y: g / y, lambda g, ans, x, y: -g * ans / y),
    np.power: (_power_d_base, _power_d_exponent),
    _pow: (_power_d_base, _power_d_exponent),
    np.negative: (lambda g, ans, x: _scale(g, -1.0),),
    np.positive: (lambda g, ans, x: g,),
    np.exp: (lambda g, ans, x: g * ans,),
    np.log: (lambda g, ans, x: g / x,),
    np.log1p: (lambda g, ans, x: g / (1.0 + x),),
    np.sqrt: (lambda g, ans, x: g * 0.5 / ans,),  # infinite at x = 0 (NumPy warns)
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
    _getitem: (_getitem_vjp,),
    _scatter_add: (lambda g, ans, x, shape, index: g[index],),
    _scatter_into: (lambda g, ans, total, x, index: g, lambda g, ans, total, x, index: g[index]),
    _reshape: (lambda g, ans, x, shape: np.reshape(g, np.shape(x)),),
    _expand_dims: (lambda g, ans, x, axis: np.reshape(g, np.shape(x)),),
    _broadcast_to: (lambda g, ans, x, shape: unbroadcast(g, np.shape(x)),),
    _transpose: (lambda g, ans, x, axes=None: np.transpose(
        g, None if axes is None else np.argsort([a % np.ndim(x) for a in axes])),),
    _where: (None,  # no rule for the condition: it is a constant
             lambda g, ans, c, x, y: np.where(c, g, 0.0),
             lambda g, ans, c, x, y: np.where(c, 0.0, g)),
    _stack: _Each(_stack_vjp),
    _concatenate: _Each(_concatenate_vjp),
    np.logaddexp: (lambda g, ans, x, y: g * np.exp(x - ans),
                   lambda g, ans, x, y: g * np.exp(y - ans)),
    _cumsum: (lambda g, ans, x, axis=None: _reverse_cumsum(g, np.shape(x), axis),),
    _solve: (_solve_vjp_a, lambda g, ans, a, b: _solve_traced(np.transpose(a), g)),
    _prod: (_prod_vjp,),
    _einsum: _EachOperand(_einsum_vjp),
    **{f: _adjoint_from_slope(slope) for f, slope in SLOPES.items()},
}
assert set(JVP_RULES) == set(VJP_RULES), "every primitive needs both rules"

# The arguments whose VJP above is -g (a test checks that the rules say so).  The reverse sweep
# does not compute those negations: it carries a sign with each adjoint instead (VJPs are linear
# in g, so the sign passes through every rule) and folds it into the next addition as a
# subtraction, so a negation costs no pass over the memory (Rosenbrock's gradient has two).
NEGATES = {np.negative: 0, np.subtract: 1}  # primitive -> the position of that argument

# What the VJP rules read, so the tape keeps only that: these read only the shapes of their
# traced arguments ...
READS_NO_ARGS = {np.add, np.subtract, np.negative, np.positive, np.tan, np.exp, np.expm1,
                 np.sqrt, np.tanh, _sum, _mean, _getitem, _reshape, _transpose, _where, _stack,
                 _concatenate, _broadcast_to, _expand_dims, _scatter_add, _scatter_into, _cumsum}
# ... and only these read their result ``ans``.
READS_ANS = {np.divide, np.tan, np.exp, np.expm1, np.sqrt, np.tanh, _max, _min, np.logaddexp,
             _solve, _prod}

# Ufuncs -> primitive (np.matmul goes to _matmul, which checks the dimensions).
UFUNC_PRIMITIVES = {f: f for f in VJP_RULES if isinstance(f, np.ufunc)}
UFUNC_PRIMITIVES[np.matmul] = _matmul


def _constant(v):
    if isinstance(v, Box):
        raise TypeError("np.where's condition must not be a traced value (use a comparison such "
                        "as x > 0, which gives a plain bool array)")
    return v


def _reduction(primitive):
    return lambda a, axis=None, *, keepdims=False: apply(primitive, (a,), {
        "axis": axis, "keepdims": keepdims})


# NumPy functions (not ufuncs) -> adapter with NumPy's signature (the supported part of it)
ARRAY_FUNCTIONS = {
    np.sum: _reduction(_sum),
    np.mean: _reduction(_mean),
    np.max: _reduction(_max),
    np.min: _reduction(_min),
    np.dot: lambda a, b: apply(_matmul if np.ndim(a) and np.ndim(b) else np.multiply, (a, b)),
    np.reshape: lambda a, shape: apply(_reshape, (a, shape)),
    np.ravel: lambda a: apply(_reshape, (a, -1)),
    np.transpose: lambda a, axes=None: apply(_transpose, (a, axes)),
    np.stack: lambda arrays, axis=0: apply(_stack, tuple(arrays), {"axis": axis}),
    np.concatenate: lambda arrays, axis=0: apply(_concatenate, tuple(arrays), {"axis": axis}),
    np.where: lambda condition, x, y: apply(_where, (_constant(condition), x, y)),
    np.expand_dims: lambda a, axis: apply(_expand_dims, (a, axis)),
    np.broadcast_to: lambda array, shape: apply(_broadcast_to, (array, shape)),
    np.cumsum: lambda a, axis=None: apply(_cumsum, (a,), {"axis": axis}),
    np.linalg.solve: lambda a, b: apply(_solve, (a, b)),
    np.prod: lambda a, axis=None, *, keepdims=False: apply(_prod, (a,), {
        "axis": axis, "keepdims": keepdims}),
    np.einsum: lambda subscripts, *operands: apply(_einsum, operands, {
        "subscripts": _einsum_checked(subscripts, len(operands))}),
    np.split: _split,
    # composites: written with the primitives above, so no rule of their own is needed
    np.outer: lambda a, b: np.reshape(a, (-1, 1)) * np.reshape(b, (1, -1)),
    np.clip: lambda a, a_min, a_max: _clip(a, a_min, a_max),
}


def _einsum_checked(subscripts, n_operands):
    _einsum_terms(subscripts, n_operands)  # a clear TypeError for what the rules do not cover
    return subscripts


def _clip(a, a_min, a_max):
    """np.clip as np.minimum(np.maximum(a, a_min), a_max): at a bound the derivative is 0."""
    if a_min is not None:
        a = np.maximum(a, a_min)
    return a if a_max is None else np.minimum(a, a_max)

ARRAY_FUNCTIONS.update({np.amax: ARRAY_FUNCTIONS[np.max], np.amin: ARRAY_FUNCTIONS[np.min]})

# Functions whose result does not depend differentiably on the values (a derivative of 0, or
# no derivative at all): evaluated on the plain values.
VALUE_ONLY = {np.less, np.less_equal, np.greater, np.greater_equal, np.equal, np.not_equal,
              np.isfinite, np.isnan, np.isinf, np.sign, np.shape, np.ndim, np.size,
              np.zeros_like, np.ones_like, np.argmax, np.argmin, np.argsort}


def supported_names() -> list[str]:
    """``np.<name>`` of every supported ufunc and NumPy function, sorted."""
    names = {f.__name__ for f in UFUNC_PRIMITIVES} | {
        ("linalg." if f is np.linalg.solve else "") + f.__name__ for f in ARRAY_FUNCTIONS}
    return sorted("np." + n for n in names)
