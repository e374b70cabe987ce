"""A scalar reverse-mode engine, small enough to read in one lecture.

Every arithmetic operation on a :class:`Var` creates a new ``Var`` that remembers

* ``.parents``: a tuple of ``(parent_var, local_derivative)`` pairs, the edges of the
  expression graph with d(this)/d(parent) evaluated at the current values;
* ``.op``: a short label such as ``"*"`` or ``"sin"`` (used to draw the graph).

``y.backward()`` then applies the chain rule from the output back to the inputs
(Domke's adjoint recursion, with Pa(j) the parents of node j)::

    dy/dy   = 1
    dy/dx_i = sum over children j of i  of  dy/dx_j * dx_j/dx_i

Each node is visited after all of its children (reverse topological order), so its
adjoint ``grad`` is complete before it is passed on.  Plain numbers mixed into the
arithmetic are constants: they are not recorded in the graph.

Calling ``backward()`` twice follows PyTorch: the grads of the graph's intermediate
(non-leaf) nodes are reset at the start of each call, the leaves (inputs) *accumulate*
with ``+=``.  So two calls double ``x.grad``; set ``x.grad = 0.0`` between calls (this is
what ``optimizer.zero_grad()`` does in a training loop).
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def _sign(u: float) -> float:
    return float((u > 0) - (u < 0))  # d|u|/du; we take 0 at u = 0


# The local derivative rules: ufunc -> (label, value function, derivative function).
# Each derivative is d op(u) / du, a function of the input u.
UNARY_RULES = {
    np.sin: ("sin", math.sin, math.cos),
    np.cos: ("cos", math.cos, lambda u: -math.sin(u)),
    np.tan: ("tan", math.tan, lambda u: 1.0 + math.tan(u) ** 2),
    np.exp: ("exp", math.exp, math.exp),
    np.log: ("log", math.log, lambda u: 1.0 / u),
    np.sqrt: ("sqrt", math.sqrt, lambda u: 0.5 / math.sqrt(u)),
    np.tanh: ("tanh", math.tanh, lambda u: 1.0 - math.tanh(u) ** 2),
    np.arctan: ("arctan", math.atan, lambda u: 1.0 / (1.0 + u * u)),
    np.absolute: ("abs", abs, _sign),
}


def _power(a: float, b: float):
    value = math.pow(a, b)  # raises ValueError for (-8) ** 0.5 instead of returning complex
    d_base = b * math.pow(a, b - 1) if b != 0 else 0.0
    d_exponent = value * math.log(a) if a > 0 else 0.0  # d/db 0**b = 0 for b > 0
    return value, d_base, d_exponent


# ufunc -> (label, rule); rule(a, b) returns (a op b, d/da, d/db).
BINARY_RULES = {
    np.add: ("+", lambda a, b: (a + b, 1.0, 1.0)),
    np.subtract: ("-", lambda a, b: (a - b, 1.0, -1.0)),
    np.multiply: ("*", lambda a, b: (a * b, b, a)),
    np.divide: ("/", lambda a, b: (a / b, 1.0 / b, -a / (b * b))),
    np.power: ("**", _power),
}


class Var:
    """A real number that records how it was computed, so it can be differentiated.

    ``Var(value)`` makes an input (a leaf of the graph); ``.grad`` holds
    d(output)/d(this) after ``output.backward()`` (0.0 before).  ``label`` is an optional
    name for drawings (``Var(2.0, label="x")``).
    """

    __slots__ = ("value", "grad", "parents", "op", "label")

    def __init__(self, value, parents: tuple = (), op: str = "", *, label: str | None = None):
        if isinstance(value, Var) or isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"Var needs a real number, got {type(value).__name__}: {value!r:.40}")
        self.value = float(value)
        self.grad = 0.0
        self.parents = parents
        self.op = op
        self.label = label

    def __repr__(self) -> str:
        return f"Var(value={self.value!r}, grad={self.grad!r})"

    # arithmetic: x + 2, 2 + x, np.float64(2) * x, ... all go through BINARY_RULES
    __add__ = lambda self, other: _binary(np.add, self, other)
    __radd__ = lambda self, other: _binary(np.add, other, self)
    __sub__ = lambda self, other: _binary(np.subtract, self, other)
    __rsub__ = lambda self, other: _binary(np.subtract, other, self)
    __mul__ = lambda self, other: _binary(np.multiply, self, other)
    __rmul__ = lambda self, other: _binary(np.multiply, other, self)
    __truediv__ = lambda self, other: _binary(np.divide, self, other)
    __rtruediv__ = lambda self, other: _binary(np.divide, other, self)
    __pow__ = lambda self, other: _binary(np.power, self, other)
    __rpow__ = lambda self, other: _binary(np.power, other, self)
    __neg__ = lambda self: Var(-self.value, ((self, -1.0),), "neg")
    __pos__ = lambda self: self
    __abs__ = lambda self: np.absolute(self)
    # comparisons look at values only (they have no derivative); the hash stays identity
    __lt__ = lambda self, other: self.value < _value(other)
    __le__ = lambda self, other: self.value <= _value(other)
    __gt__ = lambda self, other: self.value > _value(other)
    __ge__ = lambda self, other: self.value >= _value(other)
    __eq__ = lambda self, other: self.value == _value(other)
    __ne__ = lambda self, other: self.value != _value(other)
    __hash__ = object.__hash__

    def __float__(self):
        raise TypeError("float(Var) would drop the derivative; use .value to read the number")

    # np.sin(x), np.exp(x), ... and numpy scalars mixed with Vars arrive here
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs:
            raise TypeError(f"np.{ufunc.__name__}.{method} with {kwargs} is not supported on Var")
        if ufunc in UNARY_RULES:
            (u,) = inputs
            label, value_fn, derivative_fn = UNARY_RULES[ufunc]
            return Var(value_fn(u.value), ((u, derivative_fn(u.value)),), label)
        if ufunc in BINARY_RULES:
            return _binary(ufunc, *inputs)
        if ufunc is np.negative:
            return -inputs[0]
        if ufunc in (np.less, np.less_equal, np.greater, np.greater_equal, np.equal,
                     np.not_equal):
            return bool(ufunc(*(_value(v) for v in inputs)))
        names = ", ".join(label for label, _, _ in UNARY_RULES.values())
        raise TypeError(f"np.{ufunc.__name__} is not supported by Var; supported: np.{{{names}}}, "
                        "+ - * / ** and comparisons")

    def backward(self) -> None:
        """Set ``.grad`` = d(self)/d(node) on every node of the graph that leads to ``self``.

        Leaves accumulate (``+=``), intermediate nodes are reset first; see the module notes.
        """
        order = topological_order(self)
        for node in order:
            if node.parents:
                node.grad = 0.0
        self.grad += 1.0  # the seed dy/dy = 1
        for node in reversed(order):  # children before parents
            for parent, local_derivative in node.parents:
                parent.grad += local_derivative * node.grad


def topological_order(output: Var) -> list[Var]:
    """Every node that ``output`` depends on, each listed after all of its parents.

    Depth-first search with an explicit stack instead of recursion, so a chain of
    10^5 operations does not hit Python's recursion limit.  A node reached twice
    (``b = a + a``) is listed once: it must collect *all* its children's contributions
    before passing its own grad on.
    """
    order, seen = [], set()
    stack = [(output, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:  # all parents are already in `order`
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            # parents pushed last-first, so the first parent is visited first (evaluation order)
            stack.extend((parent, False) for parent, _ in reversed(node.parents)
                         if id(parent) not in seen)
    return order


def _value(v) -> float:
    return v.value if isinstance(v, Var) else v


def _binary(ufunc, a, b):
    """``a op b`` where at least one of a, b is a Var; constants get no graph edge."""
    for v in (a, b):
        if not isinstance(v, Var) and (isinstance(v, bool) or not isinstance(v, numbers.Real)):
            return NotImplemented  # lets Python/NumPy report the unsupported operand type
    label, rule = BINARY_RULES[ufunc]
    if ufunc is np.power and isinstance(b, Var) and _value(a) < 0:
        raise ValueError("d(a**b)/db = a**b log(a) needs a >= 0, but a < 0 and b is a Var")
    value, d_a, d_b = rule(float(_value(a)), float(_value(b)))
    parents = tuple((v, d) for v, d in ((a, d_a), (b, d_b)) if isinstance(v, Var))
    return Var(value, parents, label)
