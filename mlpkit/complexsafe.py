r"""A complex-step-safe array: plain NumPy code, evaluated at :math:`x + ih`, keeps its derivative.

The complex step reads :math:`f'(x) \approx \operatorname{Im} f(x + ih) / h`. That is exact to
:math:`O(h^2)` for *analytic* operations, but ordinary NumPy code contains a few operations that
are not analytic, or that NumPy evaluates on complex numbers in a way that throws the
imaginary part away. Evaluated naively, they return a **silently wrong derivative**:

=======================  ==============================================  ==========================
operation                what plain NumPy does with :math:`x + ih`        the complex-safe rule here
=======================  ==============================================  ==========================
``np.abs(z)``, ``abs``   :math:`\sqrt{x^2 + h^2}`: imaginary part lost      ``z * sign(Re z)``
``np.sign(z)``           NumPy 2: :math:`z/|z|`, imaginary part ``h/x``     ``sign(Re z)`` (derivative 0)
``z > w``, ``z == w``    lexicographic order: at equal real parts the       compare real parts only
                         *imaginary* parts decide
``np.maximum``, ``max``  the same lexicographic order                      pick by the real part
``float(z)``, ``.real``  drops the imaginary part (a ``ComplexWarning``)    raise ``TypeError``
writing into a float     ``out[i] = z`` drops it too                       raise (warning -> error)
array
``np.floor``, ``conj``   not analytic                                       raise ``TypeError``
=======================  ==============================================  ==========================

:class:`ComplexStepArray` is an ``ndarray`` subclass that applies these rules. Every ufunc goes
through :meth:`ComplexStepArray.__array_ufunc__`: the analytic ones pass straight through, the ones
in :data:`REAL_PART_RULES` get the rule above, and any other ufunc raises a ``TypeError`` naming
it, so an unsupported operation never returns a silently wrong derivative.

One trap cannot be intercepted: ``np.array([a, b])`` built from traced values makes a plain
complex array. Use ``np.stack([a, b])`` instead; :func:`mlpkit.numdiff.gradient` raises if
``f``'s result has lost the safe type.
"""

from __future__ import annotations

import numpy as np

# Analytic ufuncs: the Taylor series in ih holds, so they pass through unchanged.
ANALYTIC_UFUNCS = frozenset({
    np.add, np.subtract, np.multiply, np.divide, np.true_divide, np.power, np.float_power,
    np.negative, np.positive, np.square, np.reciprocal, np.matmul,
    np.sin, np.cos, np.tan, np.arcsin, np.arccos, np.arctan,
    np.sinh, np.cosh, np.tanh, np.arcsinh, np.arccosh, np.arctanh,
    np.exp, np.exp2, np.expm1, np.log, np.log2, np.log10, np.log1p, np.sqrt,
    # tests on values: they look at the number, not through it
    np.isfinite, np.isnan, np.isinf,
})


def _real_sign(z):
    return np.sign(z.real).astype(z.dtype)


def _pick_by_real(pick_first):
    return lambda a, b: np.where(pick_first(a.real, b.real), a, b)


# The rules for the ufuncs that are not analytic but have a clear real-variable meaning.
# Each gets plain complex ndarrays and returns a plain array.
REAL_PART_RULES = {
    np.absolute: lambda z: z * _real_sign(z),            # |x| = x sign(x): d|x|/dx = sign(x)
    np.fabs: lambda z: z * _real_sign(z),
    np.sign: _real_sign,                                  # piecewise constant: derivative 0
    np.greater: lambda a, b: np.greater(a.real, b.real),
    np.greater_equal: lambda a, b: np.greater_equal(a.real, b.real),
    np.less: lambda a, b: np.less(a.real, b.real),
    np.less_equal: lambda a, b: np.less_equal(a.real, b.real),
    np.equal: lambda a, b: np.equal(a.real, b.real),
    np.not_equal: lambda a, b: np.not_equal(a.real, b.real),
    # At a tie the second argument wins (so np.maximum(x, 0) has slope 0 at x = 0), the same
    # convention as mlpkit.forward and mlpkit.reverse; np.max picks the first tied element.
    np.maximum: _pick_by_real(np.greater),
    np.minimum: _pick_by_real(np.less),
    np.fmax: _pick_by_real(np.greater),
    np.fmin: _pick_by_real(np.less),
}


def _unwrap(value):
    """Plain ndarray view of a ComplexStepArray (anything else unchanged, tuples recursively)."""
    if isinstance(value, ComplexStepArray):
        return value.view(np.ndarray)
    if isinstance(value, (tuple, list)):
        return type(value)(_unwrap(v) for v in value)
    return value


def _wrap(value):
    """Wrap complex results (arrays and NumPy scalars) so the safe rules keep applying."""
    if isinstance(value, np.ndarray) and not isinstance(value, ComplexStepArray):
        return value.view(ComplexStepArray) if value.dtype.kind == "c" else value
    if isinstance(value, np.complexfloating):
        return np.asarray(value).view(ComplexStepArray)
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _real_complex_matmul(a, b):
    """a @ b where one side is real: two real products, not one complex one.

    NumPy would first copy the real matrix to complex, which costs more than the product.
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind != "c" and b.dtype.kind == "c":
        return (a @ b.real) + 1j * (a @ b.imag)
    if b.dtype.kind != "c" and a.dtype.kind == "c":
        return (a.real @ b) + 1j * (a.imag @ b)
    return a @ b


def _reduce_by_real(z, ufunc, axis=None, keepdims=False, **unused):
    """``np.max``/``np.min`` along ``axis``, choosing the element by its real part."""
    choose = np.argmax if ufunc in (np.maximum, np.fmax) else np.argmin
    if axis is None:
        flat = z.reshape(-1)
        picked = flat[choose(flat.real)]
        return picked.reshape((1,) * z.ndim) if keepdims else picked
    if isinstance(axis, tuple):
        raise TypeError("complex step: np.max/np.min over several axes at once is not supported")
    index = np.expand_dims(choose(z.real, axis=axis), axis)
    picked = np.take_along_axis(z, index, axis=axis)
    return picked if keepdims else np.squeeze(picked, axis=axis)


class ComplexStepArray(np.ndarray):
    """A complex ``ndarray`` that applies the complex-safe rules of this module.

    Create it with ``np.asarray(x + 1j * h).view(ComplexStepArray)``; :mod:`mlpkit.numdiff`
    does that for you. Indexing returns 0-d ``ComplexStepArray`` values rather than NumPy scalars,
    and iteration yields them too, so ``abs(x[0])`` and ``for xi in x`` stay safe.
    """

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        raw_inputs = _unwrap(inputs)
        if "out" in kwargs:
            kwargs["out"] = _unwrap(kwargs["out"])
        if method == "reduce" and ufunc in (np.maximum, np.minimum, np.fmax, np.fmin):
            return _wrap(_reduce_by_real(raw_inputs[0], ufunc, **kwargs))
        if ufunc in REAL_PART_RULES:
            if method != "__call__" or kwargs:
                raise TypeError(f"complex step: np.{ufunc.__name__}.{method} is not supported")
            return _wrap(REAL_PART_RULES[ufunc](*(np.asarray(v) for v in raw_inputs)))
        if ufunc not in ANALYTIC_UFUNCS:
            raise TypeError(
                f"complex step: np.{ufunc.__name__} is not supported: it is not analytic, so "
                "f(x + ih) would not carry the derivative. Use central differences or an AD mode "
                "(mlpkit.forward, mlpkit.reverse) for this function."
            )
        if ufunc is np.matmul and method == "__call__" and not kwargs:
            return _wrap(_real_complex_matmul(*raw_inputs))
        return _wrap(getattr(ufunc, method)(*raw_inputs, **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        raw_args, raw_kwargs = _unwrap(args), _unwrap(kwargs)
        if func in _ORDER_FUNCTIONS:  # np.max, np.argmin, ...: order by the real part
            return _wrap(_ORDER_FUNCTIONS[func](*raw_args, **raw_kwargs))
        if func not in STRUCTURAL_FUNCTIONS:
            raise TypeError(
                f"complex step: np.{func.__name__} is not supported on complex-step values (it may "
                "compare, take absolute values or split real and imaginary parts internally, which "
                "would lose the derivative); rewrite f with the supported operations or use "
                "mlpkit.forward / mlpkit.reverse"
            )
        return _wrap(func(*raw_args, **raw_kwargs))

    def __repr__(self):
        return f"ComplexStepArray({self.view(np.ndarray)!r})"

    def __getitem__(self, index):
        return _wrap(super().__getitem__(index))

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self)))

    def __float__(self):
        raise TypeError(
            "complex step: float() drops the imaginary part that carries the derivative. It is "
            "called by float(x), math.sin(x) and by writing x into a float array: keep values in "
            "arrays made with np.zeros_like(x, shape=n) and use np.sin"
        )

    __int__ = __float__

    def __complex__(self):
        raise TypeError("complex step: complex() turns the traced value into a plain number")

    def item(self, *args):
        raise TypeError("complex step: .item() turns the traced value into a plain Python number")

    def tolist(self):
        raise TypeError("complex step: .tolist() turns traced values into plain Python numbers")

    def astype(self, dtype, *args, **kwargs):
        if np.dtype(dtype).kind != "c":
            raise TypeError(
                f"complex step: .astype({np.dtype(dtype)}) casts to real and drops the derivative"
            )
        return _wrap(self.view(np.ndarray).astype(dtype, *args, **kwargs))

    @property
    def real(self):
        raise TypeError("complex step: .real drops the imaginary part that carries the derivative")

    @property
    def imag(self):
        raise TypeError("complex step: .imag inside f reads the perturbation itself")


# NumPy functions that only move, combine or sum values with analytic operations: safe as they are.
STRUCTURAL_FUNCTIONS = frozenset({
    np.sum, np.mean, np.prod, np.cumsum, np.cumprod, np.dot, np.vdot, np.inner, np.outer,
    np.matmul, np.tensordot, np.einsum, np.trace, np.diag, np.diagonal,
    np.stack, np.concatenate, np.hstack, np.vstack, np.column_stack, np.split, np.array_split,
    np.reshape, np.ravel, np.transpose, np.swapaxes, np.moveaxis, np.expand_dims, np.squeeze,
    np.broadcast_to, np.broadcast_arrays, np.atleast_1d, np.atleast_2d, np.tile, np.repeat,
    np.flip, np.roll, np.take, np.take_along_axis, np.copy, np.where, np.append,
    np.zeros_like, np.ones_like, np.full_like, np.empty_like,
    np.shape, np.ndim, np.size, np.result_type, np.iscomplexobj, np.isrealobj,
    np.linalg.solve, np.linalg.inv, np.linalg.det,  # analytic in the matrix entries
    np.sin, np.cos, np.exp,  # (ufuncs; listed so a subclass dispatch never trips)
})


def _by_real(choose):
    """np.argmax-like functions applied to the real part only."""
    return lambda z, *args, **kwargs: choose(np.asarray(z).real, *args, **kwargs)


# Functions whose result depends on an ordering: order by the real part.
_ORDER_FUNCTIONS = {
    np.max: lambda z, axis=None, keepdims=False, **kw: _reduce_by_real(z, np.maximum, axis, keepdims),
    np.amax: lambda z, axis=None, keepdims=False, **kw: _reduce_by_real(z, np.maximum, axis, keepdims),
    np.min: lambda z, axis=None, keepdims=False, **kw: _reduce_by_real(z, np.minimum, axis, keepdims),
    np.amin: lambda z, axis=None, keepdims=False, **kw: _reduce_by_real(z, np.minimum, axis, keepdims),
    np.argmax: _by_real(np.argmax),
    np.argmin: _by_real(np.argmin),
    np.argsort: _by_real(np.argsort),
}


def perturb(x: np.ndarray, direction: np.ndarray, h: float) -> ComplexStepArray:
    """Return ``x + i h direction`` as a :class:`ComplexStepArray` (``x``: real array)."""
    z = np.asarray(x, dtype=np.complex128) + 1j * h * np.asarray(direction, dtype=np.float64)
    return np.asarray(z).view(ComplexStepArray)  # asarray: a 0-d sum is a NumPy scalar
