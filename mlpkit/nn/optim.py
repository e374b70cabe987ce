r"""Gradient-based optimisers: gradient descent and its modern variants (Fleuret, EE-559 3b;
Perdikaris, ENM 531 Lecture 12, "Modern SGD variants").

Every optimiser is built from a list of :class:`mlpkit.nn.layers.Parameter` (``model.parameters()``)
and a learning rate :math:`\eta`. ``step()`` reads each parameter's gradient :math:`g`
(from the last backward pass) and updates the parameter :math:`\theta` *in place*.
The state (velocities, averages) has the parameters' shapes and dtypes: a float32 network is
trained in float32 throughout.

Optional weight decay :math:`\lambda` adds :math:`\lambda\theta` to the gradient of every weight
matrix (not the biases) before the update: the gradient of the L2 penalty
:math:`\tfrac{\lambda}{2}\lVert W\rVert^2`.

References: Ruder, *An overview of gradient descent optimization algorithms* (2016);
Goh, *Why momentum really works*, Distill (2017); Kingma and Ba, *Adam* (2015).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = [
    "Optimizer", "GradientDescent", "SGD", "Momentum", "Nesterov", "RMSProp", "Adam",
    "OPTIMIZERS", "make_optimizer",
]


def _check_rate(value, name: str, *, allow_zero: bool = False, below_one: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    low_ok = value >= 0 if allow_zero else value > 0
    if not (math.isfinite(value) and low_ok and (value < 1 or not below_one)):
        interval = "[0, 1)" if below_one else ("a number >= 0" if allow_zero else "a number > 0")
        raise ValueError(f"{name} must be {interval}, got {value!r}")
    return value


class Optimizer:
    """Base class: keeps the parameters, the learning rate ``lr`` and the ``weight_decay``."""

    default_lr = 0.01

    def __init__(self, parameters, lr: float | None = None, weight_decay: float = 0.0):
        self.parameters = list(parameters)
        if not self.parameters:
            raise ValueError(f"{type(self).__name__}: the list of parameters is empty")
        self.lr = _check_rate(self.default_lr if lr is None else lr, "lr")
        self.weight_decay = _check_rate(weight_decay, "weight_decay", allow_zero=True)

    def _zeros(self) -> list[np.ndarray]:
        """One zero array per parameter (for velocities and averages)."""
        return [np.zeros_like(p.value) for p in self.parameters]

    def _gradients(self):
        """Yield ``(parameter, gradient)``, with weight decay added to the weights' gradients."""
        for p in self.parameters:
            if p.grad is None:
                raise RuntimeError(f"parameter {p.name} has no gradient: call backward() first")
            g = p.grad
            if self.weight_decay and p.is_weight:
                g = g + self.weight_decay * p.value
            yield p, g

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zeros."""
        for p in self.parameters:
            p.grad = np.zeros_like(p.value)

    def step(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lr={self.lr})"


class GradientDescent(Optimizer):
    r"""(Stochastic) gradient descent:

    .. math:: \theta \leftarrow \theta - \eta\, g
    """

    default_lr = 0.1

    def step(self) -> None:
        for p, g in self._gradients():
            p.value -= self.lr * g


SGD = GradientDescent


class Momentum(Optimizer):
    r"""Gradient descent with (heavy-ball) momentum :math:`\mu` (default 0.9):

    .. math::

        v &\leftarrow \mu v + g \\
        \theta &\leftarrow \theta - \eta\, v

    (PyTorch's form. Ruder's :math:`v \leftarrow \mu v + \eta g,\ \theta \leftarrow \theta - v`
    is the same for a constant :math:`\eta`, with :math:`v` scaled by :math:`\eta`.)
    """

    def __init__(self, parameters, lr=None, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(parameters, lr, weight_decay)
        self.momentum = _check_rate(momentum, "momentum", allow_zero=True, below_one=True)
        self.velocity = self._zeros()

    def step(self) -> None:
        for (p, g), v in zip(self._gradients(), self.velocity, strict=True):
            v *= self.momentum
            v += g
            p.value -= self.lr * v


class Nesterov(Optimizer):
    r"""Nesterov accelerated gradient with momentum :math:`\mu` (default 0.9):

    .. math::

        v &\leftarrow \mu v + g \\
        \theta &\leftarrow \theta - \eta\,(g + \mu v)

    This is the "look-ahead" rule :math:`v \leftarrow \mu v + \eta\nabla L(\theta - \mu v)`,
    :math:`\theta \leftarrow \theta - v` rewritten so that only the gradient at the current
    parameters is needed (Sutskever et al. 2013; PyTorch's ``nesterov=True``).
    """

    def __init__(self, parameters, lr=None, momentum: float = 0.9, weight_decay: float = 0.0):
        super().__init__(parameters, lr, weight_decay)
        self.momentum = _check_rate(momentum, "momentum", allow_zero=True, below_one=True)
        self.velocity = self._zeros()

    def step(self) -> None:
        for (p, g), v in zip(self._gradients(), self.velocity, strict=True):
            v *= self.momentum
            v += g
            p.value -= self.lr * (g + self.momentum * v)


class RMSProp(Optimizer):
    r"""RMSProp (Hinton): divide by a running root mean square of the gradient, decay
    :math:`\rho` (default 0.9), :math:`\epsilon = 10^{-8}`:

    .. math::

        s &\leftarrow \rho s + (1-\rho)\, g \odot g \\
        \theta &\leftarrow \theta - \eta\, g / (\sqrt{s} + \epsilon)
    """

    default_lr = 1e-3

    def __init__(self, parameters, lr=None, rho: float = 0.9, eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(parameters, lr, weight_decay)
        self.rho = _check_rate(rho, "rho", allow_zero=True, below_one=True)
        self.eps = _check_rate(eps, "eps")
        self.mean_square = self._zeros()

    def step(self) -> None:
        for (p, g), s in zip(self._gradients(), self.mean_square, strict=True):
            s *= self.rho
            s += (1 - self.rho) * g * g
            p.value -= self.lr * g / (np.sqrt(s) + self.eps)


class Adam(Optimizer):
    r"""Adam (Kingma and Ba 2015), defaults :math:`\beta_1 = 0.9, \beta_2 = 0.999,
    \epsilon = 10^{-8}`; at step :math:`t = 1, 2, \dots`:

    .. math::

        m &\leftarrow \beta_1 m + (1-\beta_1)\, g \\
        v &\leftarrow \beta_2 v + (1-\beta_2)\, g \odot g \\
        \hat m &= m / (1 - \beta_1^t), \qquad \hat v = v / (1 - \beta_2^t) \\
        \theta &\leftarrow \theta - \eta\, \hat m / (\sqrt{\hat v} + \epsilon)
    """

    default_lr = 1e-3

    def __init__(self, parameters, lr=None, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(parameters, lr, weight_decay)
        self.beta1 = _check_rate(beta1, "beta1", allow_zero=True, below_one=True)
        self.beta2 = _check_rate(beta2, "beta2", allow_zero=True, below_one=True)
        self.eps = _check_rate(eps, "eps")
        self.m = self._zeros()
        self.v = self._zeros()
        self.t = 0

    def step(self) -> None:
        self.t += 1
        for (p, g), m, v in zip(self._gradients(), self.m, self.v, strict=True):
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            m_hat = m / (1 - self.beta1**self.t)
            v_hat = v / (1 - self.beta2**self.t)
            p.value -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


OPTIMIZERS = {
    "sgd": GradientDescent,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "rmsprop": RMSProp,
    "adam": Adam,
}
_ALIASES = {"gd": "sgd", "gradient-descent": "sgd"}


def make_optimizer(name, parameters, lr: float | None = None, **options) -> Optimizer:
    """A new optimiser from its name (see :data:`OPTIMIZERS`) for ``parameters``.

    ``lr=None`` takes the optimiser's default; ``options`` go to its constructor
    (``momentum=``, ``weight_decay=``, ...).
    """
    key = _ALIASES.get(name, name) if isinstance(name, str) else name
    if key not in OPTIMIZERS:
        raise ValueError(
            f"unknown optimiser {name!r}; choose one of {', '.join(map(repr, OPTIMIZERS))}"
        )
    return OPTIMIZERS[key](parameters, lr=lr, **options)
