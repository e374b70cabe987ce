"""Tags that keep nested differentiation calls apart (no perturbation confusion).

Every differentiation call (``forward.jvp``, ``reverse.gradient``, ...) opens a new *level*, a
number larger than that of every call already running.  The values it traces are *boxes*
(:class:`mlpkit.forward.Dual`, :class:`mlpkit.reverse.array.Node`) tagged with that level.  A
box's value may itself be a box of an outer (lower) level, and so on: a second derivative is a
box inside a box.

When an operation meets boxes of several levels, the box of the highest level, the innermost
call, handles it first: for that call the boxes of lower levels are constants.  Its derivative
rules are written in the same NumPy operations the engines trace, so the arithmetic they do on
those constants is recorded by the outer calls in turn.  This is how HIPS autograd and JAX nest
their transformations (Siskind and Pearlmutter 2005 describe the bug it prevents: without tags,
``d/dx [x * d/dy (x + y)]`` at x = 1 comes out 2 instead of 1).

A box that escapes its call (returned or kept in a closure and used after the call has finished)
can no longer be differentiated correctly; using it raises ``ValueError``.
"""

from __future__ import annotations

import itertools
from contextlib import contextmanager

import numpy as np

__all__ = ["Box", "new_level", "open_level", "close_level", "check_active", "apply", "primal",
           "top_box", "is_box", "as_input", "plain_result"]

_counter = itertools.count(1)
_ACTIVE = {0}  # level 0: Duals made by hand (forward.Dual(x, 1.0)); always usable


class Box:
    """Base class of traced values.  Subclasses set ``level`` and ``value`` and implement
    ``_apply_primitive(primitive, args, kwargs)``: run ``primitive`` for their level."""

    __slots__ = ()


def open_level() -> int:
    """Open the level of one differentiation call; close it with :func:`close_level`."""
    level = next(_counter)
    _ACTIVE.add(level)
    return level


def close_level(level: int) -> None:
    _ACTIVE.discard(level)


@contextmanager
def new_level():
    """The level of one differentiation call, closed when the ``with`` block ends."""
    level = open_level()
    try:
        yield level
    finally:
        close_level(level)


def is_box(v) -> bool:
    return isinstance(v, Box)


def primal(v):
    """The plain NumPy value under every level of boxes."""
    while isinstance(v, Box):
        v = v.value
    return v


def check_active(level: int) -> None:
    """Raise ``ValueError`` if the call of ``level`` has returned (a traced value escaped)."""
    if level not in _ACTIVE:
        raise ValueError("a value traced by a differentiation call that has already returned was "
                         "used again (it escaped through a return value or a closure); its "
                         "derivative would be wrong, so mlpkit refuses. Return plain results "
                         "from the function being differentiated")


def top_box(args):
    """The box of the highest level among ``args`` (None if there is none)."""
    top = None
    for a in args:
        if isinstance(a, Box) and (top is None or a.level > top.level):
            top = a
    if top is not None:
        check_active(top.level)
    return top


def apply(primitive, args, kwargs=None):
    """Call ``primitive(*args, **kwargs)``, letting the innermost box among ``args`` trace it."""
    top = top_box(args)
    if top is None:
        return primitive(*args, **(kwargs or {}))
    return top._apply_primitive(primitive, tuple(args), kwargs or {})


def as_input(x, name: str = "x", copy: bool = True):
    """``x`` as a float64 array (checked: real, finite), or as it is if an outer call traces it.

    ``copy=False`` (for a caller that only reads x and never returns it): a float64 array is
    used as it is, with no copy (why: on Rosenbrock in 10^5 dimensions the copy and the check
    cost a fifth of f).
    """
    from mlpkit._checks import as_real_array

    if isinstance(x, Box):
        return x
    if not copy and type(x) is np.ndarray and x.dtype == np.float64 and x.flags.c_contiguous:
        flat = x.reshape(-1)
        with np.errstate(over="ignore"):  # an overflow only sends us to the full check below
            squares = np.dot(flat, flat)
        if np.isfinite(squares):  # proves every entry finite: a NaN or an inf would propagate
            return x  # (one dot product costs less than np.isfinite of every entry)
    return as_real_array(x, name)


def plain_result(r):
    """A result for the user: a float for one number, an array otherwise; traced values as is."""
    if isinstance(r, Box):
        return r
    return float(r) if np.ndim(r) == 0 else r
