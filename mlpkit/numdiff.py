r"""Derivatives by perturbation: finite differences and the complex step.

For a smooth :math:`f` and a step :math:`h > 0`, Taylor's theorem gives

.. math::

    \text{forward-difference:}\quad f'(x) &\approx \frac{f(x + h) - f(x)}{h}
        &&\text{error } \tfrac{h}{2} f''(x) = O(h) \\
    \text{backward-difference:}\quad f'(x) &\approx \frac{f(x) - f(x - h)}{h}
        &&\text{error } O(h) \\
    \text{central-difference:}\quad f'(x) &\approx \frac{f(x + h) - f(x - h)}{2h}
        &&\text{error } \tfrac{h^2}{6} f'''(x) = O(h^2) \\
    \text{complex-step:}\quad f'(x) &\approx \frac{\operatorname{Im} f(x + ih)}{h}
        &&\text{error } \tfrac{h^2}{6} f'''(x) = O(h^2)

The differences subtract two nearly equal numbers, so round-off grows like
:math:`\varepsilon |f| / h` as :math:`h` shrinks; the complex step subtracts nothing, so
:math:`h = 10^{-200}` is fine and the result is exact to machine precision
(Squire and Trapp 1998; Martins, Sturdza and Alonso 2003).

Method names are spelled out (``"forward-difference"``, not ``"forward"``) so they are not
confused with :mod:`mlpkit.forward`, forward-mode AD.

Every function takes ``f`` written with NumPy and ``x`` a float or float array of any shape.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from mlpkit._checks import as_real_array, check_callable, check_scalar_output, check_step
from mlpkit.complexsafe import ComplexStepArray, perturb
from mlpkit.measure import rel_error

METHODS = ("forward-difference", "backward-difference", "central-difference", "complex-step")

EPS = np.finfo(np.float64).eps
COMPLEX_STEP_H = 1e-200

# Default tolerances of check_gradient, in relative norm, matched to what each method can reach.
TOLERANCES = {
    "forward-difference": 1e-5,
    "backward-difference": 1e-5,
    "central-difference": 1e-8,
    "complex-step": 1e-12,
}


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return method


def optimal_step(method: str, x=1.0) -> np.ndarray | float:
    r"""The usual step for ``method`` at ``x`` (elementwise for arrays).

    Balancing truncation against round-off error:

    - forward/backward difference: error :math:`\approx \tfrac{h}{2}|f''| + 2\varepsilon|f|/h`,
      smallest near :math:`h = \sqrt{\varepsilon}\,\max(1, |x|) \approx 1.5\times10^{-8}`;
    - central difference: error :math:`\approx \tfrac{h^2}{6}|f'''| + \varepsilon|f|/h`,
      smallest near :math:`h = \varepsilon^{1/3}\max(1, |x|) \approx 6\times10^{-6}`;
    - complex step: no round-off term, so any tiny step works: ``1e-200``.
    """
    _check_method(method)
    scale = np.maximum(1.0, np.abs(as_real_array(x)))
    if method == "complex-step":
        h = np.full_like(scale, COMPLEX_STEP_H)
    elif method == "central-difference":
        h = EPS ** (1 / 3) * scale
    else:
        h = np.sqrt(EPS) * scale
    return float(h) if h.ndim == 0 else h


def _evaluate(f, x):
    """Call ``f`` with complex-cast warnings turned into a clear error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            return f(x)
        except np.exceptions.ComplexWarning:
            raise TypeError(
                "complex step: f cast a complex value to real (for example by writing it into a "
                "float array made with np.zeros(n)); create work arrays with "
                "np.zeros_like(x, shape=n) so they can hold x + ih and keep its type"
            ) from None


def _imaginary_part(value, h: float) -> np.ndarray:
    """Im(value) / h, checking that ``value`` still carries the complex-safe type.

    A plain complex result, or a real one, means the perturbation left the safe type somewhere
    inside ``f`` (for example ``np.abs(np.array([a, b]))``): the derivative could be wrong,
    so we refuse rather than guess.
    """
    if not isinstance(value, ComplexStepArray):
        kind = "a plain complex value" if np.iscomplexobj(value) else "a real value"
        raise TypeError(
            f"complex step: f(x + ih) returned {kind}, so the perturbation ih was lost inside f "
            "(typically np.array([...]) of traced values followed by np.abs, a comparison or a "
            "max; build arrays with np.stack or np.concatenate instead). If f truly does not "
            "depend on x, its derivative is 0 and needs no complex step."
        )
    return np.imag(value.view(np.ndarray)) / h


def _directional(f, x: np.ndarray, direction: np.ndarray, method: str, h, fx=None):
    """The derivative of ``f`` at ``x`` along ``direction`` (a unit basis vector), as an array.

    ``h`` is a float step. ``fx = f(x)`` may be passed to save an evaluation (one-sided methods).
    """
    if method == "complex-step":
        return _imaginary_part(_evaluate(f, perturb(x, direction, h)), h)
    # Make the step exactly representable: (x + h) - x == h in floating point.
    step = ((x + h * direction) - x)[direction != 0][0]
    if step == 0:
        raise ValueError(f"step h = {h:g} is too small for x = {x[direction != 0][0]!r}: x + h == x in "
                         "floating point, so the difference would be 0/0")
    if method == "central-difference":
        forward_value = np.asarray(f(x + step * direction), dtype=np.float64)
        backward_value = np.asarray(f(x - step * direction), dtype=np.float64)
        return (forward_value - backward_value) / (2 * step)
    if fx is None:
        fx = np.asarray(f(x), dtype=np.float64)
    if method == "forward-difference":
        return (np.asarray(f(x + step * direction), dtype=np.float64) - fx) / step
    return (fx - np.asarray(f(x - step * direction), dtype=np.float64)) / step


def _steps(method: str, x: np.ndarray, h) -> np.ndarray:
    """One step per component of ``x``: the given ``h``, or the optimal one."""
    if h is None:
        return np.broadcast_to(optimal_step(method, x), x.shape)
    return np.full(x.shape, check_step(h))


def _jacobian_columns(f, x: np.ndarray, method: str, h):
    """Yield (flat index, column of the Jacobian as f's output shape) for each input."""
    _check_method(method)
    steps = _steps(method, x, h)
    one_sided = method in ("forward-difference", "backward-difference")
    fx = np.asarray(f(x.copy()), dtype=np.float64) if one_sided else None
    for i in range(x.size):
        direction = np.zeros(x.shape)
        direction.flat[i] = 1.0
        yield i, _directional(f, x, direction, method, float(steps.flat[i]), fx)


def derivative(f, x, method: str = "complex-step", h=None) -> float:
    """The derivative :math:`f'(x)` of a scalar function at a scalar ``x``."""
    check_callable(f)
    x = as_real_array(x)
    if x.size != 1:
        raise ValueError(f"derivative() takes a scalar x, got shape {x.shape}; use gradient()")
    x = x.reshape(())
    _, column = next(_jacobian_columns(f, x, method, h))
    check_scalar_output(column, "f(x)")
    return float(np.reshape(column, ()))


def gradient(f, x, method: str = "complex-step", h=None):
    r"""The gradient :math:`\nabla f(x)` of a scalar-valued ``f``; same shape as ``x``.

    Costs ``n`` evaluations of ``f`` (complex step), ``2n`` (central) or ``n + 1`` (one-sided),
    for ``x`` with ``n`` components. A scalar ``x`` gives a float.
    """
    check_callable(f)
    x = as_real_array(x)
    grad = np.empty(x.shape)
    for i, column in _jacobian_columns(f, x, method, h):
        check_scalar_output(column, "f(x)")
        grad.flat[i] = np.reshape(column, ())
    return float(grad) if grad.ndim == 0 else grad


def jacobian(f, x, method: str = "complex-step", h=None) -> np.ndarray:
    r"""The Jacobian :math:`J_{ij} = \partial f_i / \partial x_j` as a 2-D array.

    Shape ``(size of f(x), size of x)``: ``f``'s output and ``x`` are flattened in C order.
    Built one column (one input direction) at a time.
    """
    check_callable(f)
    x = as_real_array(x)
    columns = [np.reshape(column, -1) for _, column in _jacobian_columns(f, x, method, h)]
    return np.stack(columns, axis=1)


@dataclass(frozen=True)
class GradientCheck:
    """What :func:`check_gradient` found. ``str()`` gives a one-paragraph report."""

    method: str
    rel_error: float          # relative error of the whole gradient, in norm
    tolerance: float
    worst_index: tuple        # index of the component with the largest relative error
    worst_rel_error: float
    worst_given: float
    worst_reference: float

    @property
    def passed(self) -> bool:
        return self.rel_error <= self.tolerance

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        return (
            f"gradient check {verdict} against {self.method}: relative error "
            f"{self.rel_error:.2e} (tolerance {self.tolerance:.0e}); worst component "
            f"{self.worst_index}: given {self.worst_given:.12g}, reference "
            f"{self.worst_reference:.12g} (relative error {self.worst_rel_error:.2e})"
        )


def check_gradient(f, x, grad, method: str = "complex-step", h=None,
                   tolerance: float | None = None) -> GradientCheck:
    """Compare a gradient ``grad`` of ``f`` at ``x`` with a numerical one.

    Returns a :class:`GradientCheck` (truthy when it passed) that names the worst component.
    The default tolerance depends on the method (:data:`TOLERANCES`).
    """
    x = as_real_array(x)
    given = as_real_array(grad, name="grad")
    if given.shape != x.shape:
        raise ValueError(f"grad must have x's shape {x.shape}, got {given.shape}")
    reference = np.asarray(gradient(f, x, method=method, h=h), dtype=np.float64)
    scale = np.maximum(np.maximum(np.abs(given), np.abs(reference)), np.finfo(float).tiny)
    per_component = np.abs(given - reference) / scale
    worst = np.unravel_index(int(np.argmax(per_component)), x.shape) if x.ndim else ()
    return GradientCheck(
        method=method,
        rel_error=rel_error(given, reference),
        tolerance=TOLERANCES[method] if tolerance is None else float(tolerance),
        worst_index=tuple(int(i) for i in worst),
        worst_rel_error=float(per_component[worst]),
        worst_given=float(given[worst]),
        worst_reference=float(reference[worst]),
    )


# --- Hessian-vector products: a numerical derivative of a gradient -------------------------------
HVP_METHODS = ("complex-step", "central-difference")


def hvp(grad, x, v, method: str = "complex-step", h=None):
    r"""The Hessian-vector product :math:`H(x) v` as the derivative of ``grad`` along ``v``.

    ``grad`` is a function returning :math:`\nabla f` shaped like ``x`` (for example a gradient
    derived by hand and written in NumPy); :math:`H v = \tfrac{d}{dt} \nabla f(x + t v)` at
    :math:`t = 0`, taken by

    - ``"complex-step"``: :math:`\operatorname{Im} \nabla f(x + i h v) / h` with ``h = 1e-200``:
      exact to rounding when ``grad`` is analytic and complex-step safe (see
      :mod:`mlpkit.complexsafe`), at the cost of one complex evaluation of ``grad``;
    - ``"central-difference"``: :math:`(\nabla f(x + h v) - \nabla f(x - h v)) / 2h`, with
      :math:`h = \varepsilon^{1/3} \max(1, \lVert x \rVert_\infty) / \lVert v \rVert_\infty` by
      default: error :math:`O(h^2)` plus round-off, about 1e-8 relative.

    AD computes the same product by nesting modes (:func:`mlpkit.second_order.hvp`).
    """
    check_callable(grad, "grad")
    if method not in HVP_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(HVP_METHODS)}")
    x, v = as_real_array(x), as_real_array(v, "v")
    if x.shape != v.shape:
        raise ValueError(f"shape mismatch in hvp: x has shape {x.shape}, v has shape {v.shape}")
    v_size = float(np.max(np.abs(v))) if v.size else 0.0
    if v_size == 0.0:
        return 0.0 if x.ndim == 0 else np.zeros(x.shape)
    if method == "complex-step":
        step = COMPLEX_STEP_H if h is None else check_step(h)
        result = _imaginary_part(_evaluate(grad, perturb(x, v, step)), step)
    else:
        scale = max(1.0, float(np.max(np.abs(x)))) if x.size else 1.0
        step = EPS ** (1 / 3) * scale / v_size if h is None else check_step(h)
        forward_value = np.asarray(grad(x + step * v), dtype=np.float64)
        backward_value = np.asarray(grad(x - step * v), dtype=np.float64)
        result = (forward_value - backward_value) / (2 * step)
    if np.shape(result) != x.shape:
        raise ValueError(f"grad(x) must have x's shape {x.shape}, got {np.shape(result)}")
    return float(result) if x.ndim == 0 else result
