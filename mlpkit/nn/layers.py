r"""Layers with a hand-written backward pass, in matrix (batch) form.

Every layer maps a batch to a batch. ``forward(X)`` computes the output ``Y`` and keeps
(caches) what the backward pass will need; ``backward(dL_dY)`` receives the gradient of the
loss with respect to its output and returns the gradient with respect to its input,

.. math::

    \frac{\partial L}{\partial X} = \Bigl(\frac{\partial Y}{\partial X}\Bigr)^{\!\top}
    \frac{\partial L}{\partial Y}
    \qquad\text{(a Jacobian-transpose-vector product, never the Jacobian itself).}

A layer with parameters also stores their gradients: :class:`Linear` sets ``dL_dW`` and
``dL_db``. ``backward`` *overwrites* them (it does not add to them), so each layer object may
appear only once in a network.

Shapes: ``X`` is ``(n, p)``, one example per row (``n`` = batch size, ``p`` = features);
``dL_dY`` always has the shape of ``Y``, and ``dL_dX`` the shape of ``X``.

Layers accept complex arrays too (and :class:`mlpkit.complexsafe.ComplexStepArray`), so their
backward passes can be checked with the complex step. The kinks of ReLU and LeakyReLU are
decided by the real part of the input: away from 0 that is exact.
"""

from __future__ import annotations

import numpy as np

from mlpkit.nesting import Box
from mlpkit.nn.init import as_generator, get_initialiser

__all__ = [
    "Parameter", "Layer", "Linear", "Tanh", "Sigmoid", "ReLU", "LeakyReLU", "Softplus",
    "Identity", "Sequential", "ACTIVATIONS", "make_activation", "sigmoid", "softplus",
]


# --------------------------------------------------------------------------- stable helpers


def _as_array(X):
    """X as an array (subclasses kept); a value traced by mlpkit.forward or mlpkit.reverse is
    left as it is, so these functions can be differentiated in every mode."""
    return X if isinstance(X, Box) else np.asanyarray(X)


def sigmoid(X):
    r"""The logistic function :math:`\sigma(x) = 1/(1 + e^{-x})`, elementwise, never overflowing.

    With :math:`E = e^{-|x|} \in (0, 1]`: :math:`\sigma(x) = 1/(1+E)` for :math:`x > 0` and
    :math:`E/(1+E)` otherwise (accurate in relative terms for very negative :math:`x` too).
    """
    X = _as_array(X)
    E = np.exp(np.where(X > 0, -X, X))  # e^{-|x|}, written so that it stays analytic
    return np.where(X > 0, 1 / (1 + E), E / (1 + E))


def softplus(X):
    r"""The softplus :math:`\zeta(x) = \log(1 + e^{x})`, elementwise, never overflowing.

    :math:`\zeta(x) = \max(x, 0) + \log(1 + e^{-|x|})`; its derivative is :math:`\sigma(x)`.
    """
    X = _as_array(X)
    return np.where(X > 0, X, 0) + np.log1p(np.exp(np.where(X > 0, -X, X)))


# --------------------------------------------------------------------------- parameters


class Parameter:
    """One trainable array of a layer, seen from outside (what optimisers work on).

    ``value`` *is* the layer's array (``layer.W``) and ``grad`` *is* its gradient
    (``layer.dL_dW``), read at the moment you ask, so they never go stale. Optimisers
    update ``value`` in place. ``name`` is e.g. ``"W"``, or ``"2.W"`` inside a
    :class:`Sequential` (layer number 2).
    """

    def __init__(self, layer: Layer, attribute: str, name: str | None = None):
        self.layer = layer
        self.attribute = attribute          # "W" or "b"
        self.name = attribute if name is None else name

    @property
    def value(self) -> np.ndarray:
        return getattr(self.layer, self.attribute)

    @value.setter
    def value(self, array) -> None:
        setattr(self.layer, self.attribute, array)

    @property
    def grad(self) -> np.ndarray | None:
        """The gradient from the last backward pass (``None`` before the first one)."""
        return getattr(self.layer, "dL_d" + self.attribute)

    @grad.setter
    def grad(self, array) -> None:
        setattr(self.layer, "dL_d" + self.attribute, array)

    @property
    def is_weight(self) -> bool:
        """True for weight matrices (what weight decay shrinks), False for biases."""
        return self.attribute == "W"

    def __repr__(self) -> str:
        return f"Parameter({self.name}, shape={self.value.shape}, dtype={self.value.dtype})"


# --------------------------------------------------------------------------- base class


class Layer:
    """Base class: ``forward(X) -> Y`` caches, ``backward(dL_dY) -> dL_dX`` uses the cache."""

    def forward(self, X):
        raise NotImplementedError

    def backward(self, dL_dY):
        raise NotImplementedError

    def __call__(self, X):
        return self.forward(X)

    def parameters(self) -> list[Parameter]:
        """The trainable arrays of this layer (none for an activation)."""
        return []

    def zero_grad(self) -> None:
        """Set every parameter gradient to zeros."""
        for p in self.parameters():
            p.grad = np.zeros_like(p.value)

    def _check_dL_dY(self, dL_dY, expected_shape) -> None:
        """Clear errors for a backward call before any forward, or with a wrongly shaped input."""
        if expected_shape is None:
            raise RuntimeError(f"{self!r}: call forward(X) before backward(dL_dY)")
        if np.shape(dL_dY) != tuple(expected_shape):
            raise ValueError(
                f"{self!r}.backward: dL_dY must have the shape of the layer's last output "
                f"{tuple(expected_shape)}, got {np.shape(dL_dY)}"
            )

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# --------------------------------------------------------------------------- affine layer


class Linear(Layer):
    r"""Affine layer :math:`Y = XW + b`.

    Shapes: ``X`` (n, n_in), ``W`` (n_in, n_out), ``b`` (n_out,) added to every row,
    ``Y`` (n, n_out). Backward, with :math:`G = \partial L/\partial Y` (n, n_out):

    .. math::

        \frac{\partial L}{\partial W} = X^\top G, \qquad
        \frac{\partial L}{\partial b} = \mathbb 1^\top G \;(\text{sum over the batch}), \qquad
        \frac{\partial L}{\partial X} = G\, W^\top .

    ``init`` names the weight initialiser (:mod:`mlpkit.nn.init`); ``seed`` is an int, a NumPy
    Generator or None. Use :meth:`from_weights` to set ``W`` and ``b`` yourself.
    """

    def __init__(self, n_in: int, n_out: int, *, init="xavier", seed=None, dtype=np.float64):
        for name, size in (("n_in", n_in), ("n_out", n_out)):
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
                raise ValueError(f"Linear: {name} must be a positive integer, got {size!r}")
        self.W = get_initialiser(init)(int(n_in), int(n_out), as_generator(seed), dtype)
        self.b = np.zeros(int(n_out), dtype=dtype)
        self.dL_dW = None
        self.dL_db = None
        self._X = None

    @classmethod
    def from_weights(cls, W, b=None) -> Linear:
        """A layer with the given ``W`` (n_in, n_out) and ``b`` (n_out,) (zeros if omitted)."""
        W = np.array(W)  # a copy; integer weights become float64, float32 stays float32
        if W.dtype.kind not in "fc":
            W = W.astype(np.float64)
        if W.ndim != 2:
            raise ValueError(f"Linear.from_weights: W must be 2-D (n_in, n_out), got shape {W.shape}")
        b = np.zeros(W.shape[1], W.dtype) if b is None else np.array(b, dtype=W.dtype)
        if b.shape != (W.shape[1],):
            raise ValueError(
                f"Linear.from_weights: b must have shape ({W.shape[1]},) to match W {W.shape}, "
                f"got {b.shape}"
            )
        layer = cls.__new__(cls)
        layer.W, layer.b, layer.dL_dW, layer.dL_db, layer._X = W, b, None, None, None
        return layer

    @property
    def n_in(self) -> int:
        return self.W.shape[0]

    @property
    def n_out(self) -> int:
        return self.W.shape[1]

    def forward(self, X):
        X = _as_array(X)
        if X.ndim != 2 or X.shape[1] != self.n_in:
            hint = " (one example: use X.reshape(1, -1))" if X.ndim == 1 else ""
            raise ValueError(f"{self!r} expects X of shape (n, {self.n_in}), got {X.shape}{hint}")
        self._X = X
        return X @ self.W + self.b

    def backward(self, dL_dY, need_dL_dX: bool = True):
        """Store ``dL_dW``, ``dL_db``; return ``dL_dX`` (or None when ``need_dL_dX`` is False).

        Training never needs the gradient with respect to the data, so the first layer of a
        network can skip that product (PyTorch skips it for inputs that do not require grad).
        """
        self._check_dL_dY(dL_dY, None if self._X is None else (len(self._X), self.n_out))
        self.dL_dW = self._X.T @ dL_dY
        self.dL_db = dL_dY.sum(axis=0)
        return dL_dY @ self.W.T if need_dL_dX else None

    def parameters(self) -> list[Parameter]:
        return [Parameter(self, "W"), Parameter(self, "b")]

    def __repr__(self) -> str:
        return f"Linear({self.n_in} -> {self.n_out})"


# --------------------------------------------------------------------------- activations


class Tanh(Layer):
    r""":math:`Y = \tanh X` elementwise; :math:`\partial L/\partial X = G \odot (1 - Y \odot Y)`."""

    def __init__(self):
        self._Y = None

    def forward(self, X):
        self._Y = np.tanh(X)
        return self._Y

    def backward(self, dL_dY):
        self._check_dL_dY(dL_dY, None if self._Y is None else self._Y.shape)
        return dL_dY * (1 - self._Y * self._Y)


class Sigmoid(Layer):
    r""":math:`Y = \sigma(X) = 1/(1+e^{-X})` elementwise;
    :math:`\partial L/\partial X = G \odot Y \odot (1 - Y)`."""

    def __init__(self):
        self._Y = None

    def forward(self, X):
        self._Y = sigmoid(X)
        return self._Y

    def backward(self, dL_dY):
        self._check_dL_dY(dL_dY, None if self._Y is None else self._Y.shape)
        return dL_dY * self._Y * (1 - self._Y)


class ReLU(Layer):
    r""":math:`Y = \max(X, 0)` elementwise; :math:`\partial L/\partial X = G \odot [X > 0]`.

    At :math:`x = 0` we take the derivative 0 (the left derivative, as PyTorch does; the activation table
    of Perdikaris, ENM 531 Lecture 12, takes 1 there). Any value in [0, 1] is a valid subgradient.
    """

    def __init__(self):
        self._positive = None

    def forward(self, X):
        X = _as_array(X)
        self._positive = X > 0
        return X * self._positive

    def backward(self, dL_dY):
        self._check_dL_dY(dL_dY, None if self._positive is None else self._positive.shape)
        return dL_dY * self._positive


class LeakyReLU(Layer):
    r""":math:`Y = X` where :math:`X > 0`, else :math:`\alpha X` (default :math:`\alpha = 0.01`);
    :math:`\partial L/\partial X = G` where :math:`X > 0`, else :math:`\alpha G`."""

    def __init__(self, alpha: float = 0.01):
        self.alpha = float(alpha)
        self._positive = None

    def forward(self, X):
        X = _as_array(X)
        self._positive = X > 0
        return np.where(self._positive, X, self.alpha * X)

    def backward(self, dL_dY):
        self._check_dL_dY(dL_dY, None if self._positive is None else self._positive.shape)
        return np.where(self._positive, dL_dY, self.alpha * dL_dY)

    def __repr__(self) -> str:
        return f"LeakyReLU(alpha={self.alpha})"


class Softplus(Layer):
    r""":math:`Y = \zeta(X) = \log(1 + e^X)` elementwise, a smooth ReLU;
    :math:`\partial L/\partial X = G \odot \sigma(X)`."""

    def __init__(self):
        self._X = None

    def forward(self, X):
        self._X = X
        return softplus(X)

    def backward(self, dL_dY):
        self._check_dL_dY(dL_dY, None if self._X is None else np.shape(self._X))
        return dL_dY * sigmoid(self._X)


class Identity(Layer):
    r""":math:`Y = X`; :math:`\partial L/\partial X = G`. (A "linear activation": a network
    built with it is one affine map.)"""

    def __init__(self):
        self._shape = None

    def forward(self, X):
        self._shape = np.shape(X)
        return X

    def backward(self, dL_dY):
        self._check_dL_dY(dL_dY, self._shape)
        return dL_dY


ACTIVATIONS = {
    "tanh": Tanh,
    "sigmoid": Sigmoid,
    "relu": ReLU,
    "leaky-relu": LeakyReLU,
    "softplus": Softplus,
    "identity": Identity,
}
_ALIASES = {"leaky_relu": "leaky-relu", "linear": "identity", "logistic": "sigmoid"}


def make_activation(name) -> Layer:
    """A new activation layer from its name (see :data:`ACTIVATIONS`), or ``name`` if a Layer."""
    if isinstance(name, Layer):
        return name
    key = _ALIASES.get(name, name) if isinstance(name, str) else name
    if key not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; choose one of {', '.join(map(repr, ACTIVATIONS))}"
        )
    return ACTIVATIONS[key]()


# --------------------------------------------------------------------------- container


class Sequential(Layer):
    r"""Layers applied one after the other: forward in order, backward in reverse order.

    For layers :math:`f_1, \dots, f_m`: :math:`Y = f_m(\cdots f_1(X))`, and the backward pass
    hands :math:`\partial L/\partial Y` to :math:`f_m`, its result to :math:`f_{m-1}`, and so on
    (the chain rule, one Jacobian-transpose product per layer). ``parameters()`` lists every
    layer's parameters, named ``"<layer number>.<W or b>"``.
    """

    def __init__(self, *layers: Layer):
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"Sequential: item {i} is a {type(layer).__name__}, not a Layer")
        if len({id(layer) for layer in layers}) != len(layers):
            raise ValueError(
                "Sequential: the same layer object appears twice; backward overwrites a layer's "
                "gradients, so create a new layer for each position"
            )
        self.layers = list(layers)
        self._check_sizes()

    def _check_sizes(self) -> None:
        """Consecutive Linear layers must fit: n_out of one = n_in of the next."""
        previous = None
        for i, layer in enumerate(self.layers):
            if isinstance(layer, Linear):
                if previous is not None and previous[1].n_out != layer.n_in:
                    j, before = previous
                    raise ValueError(
                        f"Sequential: layer {j} {before!r} outputs {before.n_out} features but "
                        f"layer {i} {layer!r} expects {layer.n_in}"
                    )
                previous = (i, layer)

    def forward(self, X):
        for layer in self.layers:
            X = layer.forward(X)
        return X

    def backward(self, dL_dY, need_dL_dX: bool = True):
        """Back-propagate through all layers; returns ``dL_dX`` (None if not ``need_dL_dX``)."""
        for layer in reversed(self.layers[1:]):
            dL_dY = layer.backward(dL_dY)
        first = self.layers[0]
        if isinstance(first, (Linear, Sequential)):
            return first.backward(dL_dY, need_dL_dX=need_dL_dX)
        return first.backward(dL_dY)

    def parameters(self) -> list[Parameter]:
        return [
            Parameter(p.layer, p.attribute, name=f"{i}.{p.name}")
            for i, layer in enumerate(self.layers)
            for p in layer.parameters()
        ]

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]

    def __iter__(self):
        return iter(self.layers)

    def __repr__(self) -> str:
        inner = ",\n".join(f"  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"{type(self).__name__}(\n{inner}\n)"
