r"""Losses with their gradients, used like layers.

``loss.forward(pred, target)`` (or ``loss(pred, target)``) returns the loss as a float and caches
what ``loss.backward()`` needs; ``backward()`` returns :math:`\partial L / \partial\,\text{pred}`,
an array of ``pred``'s shape, to hand to the network's ``backward``.

Each loss is the negative log-likelihood of an *output unit* (Goodfellow, Bengio and Courville 2016,
section 6.2.2; Chen, Deep Feedforward Networks):

==================================  ===============================  ============================
output unit, :math:`p(y \mid x)`    loss                              gradient w.r.t. the outputs
==================================  ===============================  ============================
linear, Gaussian                    :class:`MSE`: mean                :math:`2(F - Y)/(nk)`
                                    :math:`(F - Y)^2`
linear, Gaussian                    :class:`HalfSquaredError`:        :math:`F - Y` (Perdikaris's
                                    :math:`\tfrac12\sum (F-Y)^2`       :math:`G_\ell`)
linear, Laplace                     :class:`MAE`: mean                :math:`\operatorname{sign}(F-Y)/(nk)`
                                    :math:`|F - Y|`
sigmoid, Bernoulli                  :class:`BinaryCrossEntropy`       :math:`(\sigma(z) - y)/n`
                                    (from logits :math:`z`)
softmax, categorical                :class:`SoftmaxCrossEntropy`      :math:`(\operatorname{softmax}(Z)
                                    (from logits :math:`Z`)            - \text{onehot}(y))/n`
==================================  ===============================  ============================

The two cross-entropies take the *logits* (scores before the sigmoid or softmax) and fold the
output unit into the loss, which is what makes them stable: logits of :math:`\pm 1000` give a
finite loss and finite gradients. Shapes: ``F``, ``Y`` (n, k); logits ``z`` (n,) or (n, 1)
with targets of the same shape; ``Z`` (n, k) with integer labels ``y`` (n,) in 0..k-1.

Losses use the dtype they are given (a float32 network gets float32 gradients): convert the
targets to the predictions' dtype once, outside the training loop (``MLP.fit`` does).
"""

from __future__ import annotations

import numpy as np

from mlpkit._checks import check_same_shape
from mlpkit.nesting import Box
from mlpkit.nn.layers import _as_array, sigmoid, softplus

__all__ = [
    "Loss", "MSE", "HalfSquaredError", "MAE", "BinaryCrossEntropy", "SoftmaxCrossEntropy",
    "LOSSES", "get_loss",
]


def _number(value):
    """A real loss as a Python float; a complex one (complex-step checks) or one traced by
    mlpkit.forward / mlpkit.reverse (to differentiate the loss) is returned as it is."""
    return value if isinstance(value, Box) or np.iscomplexobj(value) else float(value)


class Loss:
    """Base class: ``forward(pred, target) -> float`` caches, ``backward() -> dL_dpred``."""

    def __init__(self):
        self._cache = None

    def __call__(self, pred, target) -> float:
        return self.forward(pred, target)

    def forward(self, pred, target) -> float:
        raise NotImplementedError

    def backward(self):
        raise NotImplementedError

    def _cached(self):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}: call forward(pred, target) before backward()")
        return self._cache

    def _arrays(self, pred, target):
        """``pred`` and ``target`` as arrays (subclasses kept), checked to have the same shape."""
        pred, target = _as_array(pred), _as_array(target)
        check_same_shape(pred.shape, target.shape,
                         f"{type(self).__name__}: predictions versus targets")
        return pred, target

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSE(Loss):
    r"""Mean squared error :math:`L = \frac{1}{N}\sum_{i,j} (F_{ij} - Y_{ij})^2` over all
    :math:`N = nk` entries; :math:`\partial L/\partial F = 2(F - Y)/N`."""

    def forward(self, pred, target) -> float:
        pred, target = self._arrays(pred, target)
        residual = pred - target
        self._cache = residual
        return _number(np.mean(residual * residual))

    def backward(self):
        residual = self._cached()
        return (2 / residual.size) * residual


class HalfSquaredError(Loss):
    r"""Half the sum of squares :math:`L = \frac12\sum_{i,j} (F_{ij} - Y_{ij})^2`
    (Perdikaris, ENM 531 Lecture 12); :math:`\partial L/\partial F = F - Y`. It grows with the
    batch size: use a smaller learning rate than with :class:`MSE`."""

    def forward(self, pred, target) -> float:
        pred, target = self._arrays(pred, target)
        residual = pred - target
        self._cache = residual
        return _number(0.5 * np.sum(residual * residual))

    def backward(self):
        return self._cached().copy()


class MAE(Loss):
    r"""Mean absolute error :math:`L = \frac{1}{N}\sum_{i,j} |F_{ij} - Y_{ij}|`;
    :math:`\partial L/\partial F = \operatorname{sign}(F - Y)/N` (0 where :math:`F = Y`).

    :math:`|d|` is computed as :math:`d` or :math:`-d` according to the sign of (the real part
    of) :math:`d`, so a complex-step check works away from :math:`d = 0`; ``np.abs`` of a
    complex number would be its modulus and lose the derivative."""

    def forward(self, pred, target) -> float:
        pred, target = self._arrays(pred, target)
        residual = pred - target
        self._cache = residual
        return _number(np.mean(np.where(residual >= 0, residual, -residual)))

    def backward(self):
        residual = self._cached()
        return np.sign(residual) / residual.size


class BinaryCrossEntropy(Loss):
    r"""Binary cross-entropy from logits, the loss of a sigmoid output unit.

    With :math:`p = \sigma(z)` the predicted probability of class 1 and :math:`y \in [0, 1]`:

    .. math::

        L = \frac1n \sum_i -y_i \log\sigma(z_i) - (1-y_i)\log(1-\sigma(z_i))
          = \frac1n \sum_i y_i\,\zeta(-z_i) + (1-y_i)\,\zeta(z_i),

    using :math:`-\log\sigma(z) = \zeta(-z)` and :math:`-\log(1-\sigma(z)) = \zeta(z)` with the
    softplus :math:`\zeta`; for a label :math:`y \in \{0,1\}` this is :math:`\zeta((1-2y)z)`.
    Gradient: :math:`\partial L/\partial z_i = ((1-y_i)\sigma(z_i) - y_i\sigma(-z_i))/n
    = (\sigma(z_i) - y_i)/n`, written without the cancellation of the last form.

    ``pred`` holds logits of shape (n,) or (n, 1); ``target`` has the same shape.
    """

    def forward(self, pred, target) -> float:
        pred, target = self._arrays(pred, target)
        if np.any((target < 0) | (target > 1)):
            raise ValueError("BinaryCrossEntropy: targets must be in [0, 1] (labels 0 or 1)")
        self._cache = (pred, target)
        losses = target * softplus(-pred) + (1 - target) * softplus(pred)
        return _number(np.mean(losses))

    def backward(self):
        logits, target = self._cached()
        return ((1 - target) * sigmoid(logits) - target * sigmoid(-logits)) / logits.size


class SoftmaxCrossEntropy(Loss):
    r"""Softmax cross-entropy from logits, the loss of a softmax output unit.

    For logits :math:`Z` (n, k) and integer labels :math:`y_i \in \{0..k-1\}`:

    .. math::

        L = \frac1n \sum_i \Bigl(\log\sum_j e^{Z_{ij}} - Z_{i y_i}\Bigr),
        \qquad
        \frac{\partial L}{\partial Z} = \frac1n\bigl(\operatorname{softmax}(Z) - \text{onehot}(y)\bigr).

    The log-sum-exp is computed stably: with :math:`m_i = \max_j Z_{ij}`,
    :math:`\log\sum_j e^{Z_{ij}} = m_i + \log\sum_j e^{Z_{ij} - m_i}`, where every
    :math:`e^{Z_{ij} - m_i} \le 1` and one of them is 1, so nothing overflows or vanishes.
    """

    def forward(self, pred, target) -> float:
        pred = _as_array(pred)
        if pred.ndim != 2:
            raise ValueError(
                f"SoftmaxCrossEntropy: logits must have shape (n, k), got {np.shape(pred)}"
            )
        n, k = pred.shape
        labels = _check_labels(target, n, k)
        rows = np.arange(n)
        shift = pred.max(axis=1, keepdims=True)              # m_i, (n, 1)
        exp_shifted = np.exp(pred - shift)                     # e^{Z_ij - m_i} in (0, 1]
        total = exp_shifted.sum(axis=1, keepdims=True)        # (n, 1)
        log_sum_exp = shift[:, 0] + np.log(total[:, 0])       # (n,)
        self._cache = (exp_shifted / total, rows, labels)      # softmax(Z), for backward
        return _number(np.mean(log_sum_exp - pred[rows, labels]))

    def backward(self):
        probabilities, rows, labels = self._cached()
        dL_dZ = probabilities.copy()
        dL_dZ[rows, labels] -= 1
        return dL_dZ / len(labels)


def _check_labels(labels, n: int, k: int) -> np.ndarray:
    """Integer class labels of shape (n,) with values in 0..k-1, or a clear error."""
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"class labels must be integers 0..{k - 1}, got dtype {labels.dtype}"
            + ("; use y.astype(int)" if labels.dtype.kind == "f" else "")
        )
    if labels.shape != (n,):
        raise ValueError(
            f"class labels must have shape ({n},), one per row of the logits, got {labels.shape}"
        )
    if n and (labels.min() < 0 or labels.max() >= k):
        bad = labels[(labels < 0) | (labels >= k)][0]
        raise ValueError(f"class label {bad} is out of range: with {k} outputs labels are 0..{k - 1}")
    return labels


LOSSES = {
    "mse": MSE,
    "half-sse": HalfSquaredError,
    "mae": MAE,
    "bce": BinaryCrossEntropy,
    "cross-entropy": SoftmaxCrossEntropy,
}
_ALIASES = {"binary-cross-entropy": "bce", "softmax-cross-entropy": "cross-entropy"}


def get_loss(name) -> Loss:
    """A new loss from its name (see :data:`LOSSES`), or ``name`` itself if it is a Loss."""
    if isinstance(name, Loss):
        return name
    key = _ALIASES.get(name, name) if isinstance(name, str) else name
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; choose one of {', '.join(map(repr, LOSSES))}")
    return LOSSES[key]()
