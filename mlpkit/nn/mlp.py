r"""A multi-layer perceptron you can build, train and inspect in a few lines.

.. code-block:: python

    from mlpkit.nn import MLP
    model = MLP([64, 72, 10], activation="tanh", output="softmax", seed=0)
    history = model.fit(X_train, y_train, optimizer="momentum", lr=0.1, epochs=30)
    model.score(X_test, y_test)          # accuracy

``MLP(sizes)`` stacks ``Linear(sizes[0] -> sizes[1])``, an activation, ``Linear(sizes[1] ->
sizes[2])``, ..., ending with a Linear layer: the network computes *scores*
:math:`F = A_{L-1}W_{L-1} + b_{L-1}` (the forward pass of Perdikaris, ENM 531 Lecture 12,
:math:`A_\ell = \sigma(H_\ell)`).
The ``output`` unit says what the scores mean, and so which loss, predictions and score fit:

============  ======================  ==================  ==================  =================
``output``    scores                  default loss        ``predict``         ``score``
============  ======================  ==================  ==================  =================
``linear``    the prediction (n, k)   ``"mse"``           scores; (n,) if     :math:`R^2`
                                      (or half-sse, mae)  k = 1
``sigmoid``   logit of P(y=1) (n, 1)  ``"bce"``           labels 0/1 (n,)     accuracy
``softmax``   logits (n, k)           ``"cross-entropy"`` labels 0..k-1 (n,)  accuracy
============  ======================  ==================  ==================  =================

The sigmoid and softmax are applied inside the loss (stable) and by ``predict_proba``, never by
``forward``. :math:`R^2 = 1 - \sum (y - \hat y)^2 / \sum (y - \bar y)^2` with :math:`\bar y` the
mean of each target column (1 is perfect, 0 is as good as predicting the mean).

One training step is ``forward``, the loss, ``backward``, ``optimizer.step()``. For tanh layers
and the loss :math:`\tfrac12\lVert F - Y\rVert^2` the backward pass is Perdikaris's recursion, with
:math:`G_\ell = \partial L/\partial F` and :math:`G_{\ell-1} = \partial L/\partial H_\ell`:

.. math::

    G_\ell = F - Y, \qquad
    \frac{\partial L}{\partial W_\ell} = A_\ell^\top G_\ell, \qquad
    \frac{\partial L}{\partial b_\ell} = \mathbb 1^\top G_\ell, \qquad
    G_{\ell-1} = (1 - A_\ell \odot A_\ell) \odot (G_\ell W_\ell^\top), \ \dots

(The second copy of Perdikaris's slide gives :math:`\partial L/\partial b_{\ell-1}` the shape
:math:`1 \times p_{\ell+1}`, and its :math:`G_1` line names :math:`\partial L/\partial W_\ell`;
they are :math:`1 \times p_\ell` and :math:`\partial L/\partial W_1`.) The first layer's
:math:`G_0 W_0^\top` (the gradient with respect to the data) is not needed and not computed.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from mlpkit._checks import as_real_array
from mlpkit.nn.init import as_generator
from mlpkit.nn.layers import Linear, Sequential, make_activation, sigmoid
from mlpkit.nn.losses import (
    MAE,
    MSE,
    BinaryCrossEntropy,
    HalfSquaredError,
    SoftmaxCrossEntropy,
    _check_labels,
    get_loss,
)
from mlpkit.nn.optim import Optimizer, make_optimizer

__all__ = ["MLP", "History", "OUTPUTS"]

#: output unit -> (default loss, the loss classes that fit it)
OUTPUTS = {
    "linear": ("mse", (MSE, HalfSquaredError, MAE)),
    "sigmoid": ("bce", (BinaryCrossEntropy,)),
    "softmax": ("cross-entropy", (SoftmaxCrossEntropy,)),
}


@dataclass
class History:
    """What ``fit`` measured, one entry per epoch.

    ``loss`` and ``metric`` (``metric_name``: "accuracy" or "r2") are accumulated over the
    epoch's mini-batches as they are trained on (the weights change during the epoch, as in
    Keras); ``val_loss`` and ``val_metric`` are computed on ``validation_data`` after each epoch.
    """

    metric_name: str
    loss: list[float] = field(default_factory=list)
    metric: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_metric: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.loss)


class MLP(Sequential):
    """A fully connected network ``sizes[0] -> sizes[1] -> ... -> sizes[-1]``.

    ``activation`` for the hidden layers: "tanh", "sigmoid", "relu", "leaky-relu", "softplus",
    "identity". ``output``: "linear", "sigmoid" (needs ``sizes[-1] == 1``) or "softmax"
    (``sizes[-1] >= 2`` classes). ``init``: "xavier", "he", "normal". ``seed`` fixes the
    initial weights and, unless ``fit`` gets its own seed, the shuffling. ``dtype``: float64
    (default) or float32.
    """

    def __init__(self, sizes, activation: str = "tanh", output: str = "linear",
                 init="xavier", seed=None, dtype=np.float64):
        sizes = _check_sizes(sizes)
        if output not in OUTPUTS:
            raise ValueError(f"unknown output {output!r}; choose one of {', '.join(map(repr, OUTPUTS))}")
        if output == "sigmoid" and sizes[-1] != 1:
            raise ValueError(f"output='sigmoid' needs one output unit (sizes[-1] == 1), got {sizes[-1]}")
        if output == "softmax" and sizes[-1] < 2:
            raise ValueError("output='softmax' needs sizes[-1] >= 2 outputs, one per class")
        if not isinstance(activation, str):
            raise TypeError(f"activation must be a name such as 'tanh', got {type(activation).__name__}")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype}")
        self.sizes, self.activation, self.output = sizes, activation, output
        self._rng = as_generator(seed)
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            layers.append(Linear(n_in, n_out, init=init, seed=self._rng, dtype=self.dtype))
            if i < len(sizes) - 2:
                layers.append(make_activation(activation))
        super().__init__(*layers)

    def __repr__(self) -> str:
        return (f"MLP({self.sizes}, activation={self.activation!r}, output={self.output!r}, "
                f"dtype={self.dtype.name})")

    # ------------------------------------------------------------------ checking data

    def _inputs(self, X, name: str = "X") -> np.ndarray:
        """``X`` as a finite real (n, sizes[0]) array of the network's dtype."""
        X = as_real_array(X, name)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            hint = " (one example: use X.reshape(1, -1))" if X.ndim == 1 else ""
            raise ValueError(
                f"{name} must have shape (n, {self.sizes[0]}) for this network, got {X.shape}{hint}"
            )
        return X.astype(self.dtype, copy=False)

    def _targets(self, y, n: int, name: str = "y") -> np.ndarray:
        """``y`` checked against the output unit: float targets (n, k), 0/1 (n, 1) or labels (n,)."""
        k = self.sizes[-1]
        if self.output == "softmax":
            y = np.asarray(y)
            if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
                y = y.astype(np.int64)  # labels stored as whole floats, e.g. 3.0
            return _check_labels(y, n, k)
        y = as_real_array(y, name)
        if y.ndim == 1 and k == 1:
            y = y[:, None]
        if y.shape != (n, k):
            raise ValueError(f"{name} must have shape ({n}, {k}) or ({n},) here, got {y.shape}")
        if self.output == "sigmoid" and not np.all((y == 0) | (y == 1)):
            raise ValueError(f"{name} must hold class labels 0 or 1 for output='sigmoid'")
        return y.astype(self.dtype, copy=False)

    def _loss(self, loss):
        default, allowed = OUTPUTS[self.output]
        loss = get_loss(default if loss is None else loss)
        if not isinstance(loss, allowed):
            names = ", ".join(cls.__name__ for cls in allowed)
            raise ValueError(f"output={self.output!r} is trained with {names}, not {loss!r}")
        return loss

    # ------------------------------------------------------------------ predictions

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities: P(y=1) with shape (n,) (sigmoid) or (n, k) rows summing to 1."""
        scores = self.forward(self._inputs(X))
        if self.output == "sigmoid":
            return sigmoid(scores[:, 0])
        if self.output == "softmax":
            exp_shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
            return exp_shifted / exp_shifted.sum(axis=1, keepdims=True)
        raise TypeError("predict_proba is for classifiers (output='sigmoid' or 'softmax')")

    def predict(self, X) -> np.ndarray:
        """Predicted labels (n,) for classifiers; values (n,) or (n, k) for output='linear'."""
        scores = self.forward(self._inputs(X))
        return self._decide(scores)

    def _decide(self, scores) -> np.ndarray:
        if self.output == "sigmoid":
            return (scores[:, 0] > 0).astype(np.int64)   # sigma(z) > 1/2  <=>  z > 0
        if self.output == "softmax":
            return scores.argmax(axis=1)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def score(self, X, y) -> float:
        """Accuracy (fraction of correct labels) for classifiers; R^2 for output='linear'."""
        X = self._inputs(X)
        y = self._targets(y, len(X))
        return _metric(self.output, self.forward(X), y, _total_squares(self.output, y))

    # ------------------------------------------------------------------ training

    def fit(self, X, y, *, loss=None, optimizer="sgd", lr: float | None = None,
            epochs: int = 10, batch_size: int | None = 32, shuffle: bool = True, seed=None,
            weight_decay: float = 0.0, validation_data=None, progress: bool | None = None,
            callback=None, **optimizer_options) -> History:
        """Train by mini-batch gradient descent; returns a :class:`History`.

        ``optimizer`` is a name ("sgd", "momentum", "nesterov", "rmsprop", "adam") built with
        ``lr``, ``weight_decay`` and ``optimizer_options`` (e.g. ``momentum=0.9``), or an
        :class:`~mlpkit.nn.optim.Optimizer` already made for ``model.parameters()``.
        ``batch_size=None`` uses the whole training set (full-batch gradient descent). Each epoch
        visits the examples in a new random order (``shuffle``; ``seed``, else the model's seed).
        ``progress``: a tqdm bar over the epochs (None: shown only in a notebook, never under
        nbgrader; in a console it goes to stdout). Calling ``fit`` again continues from the
        current weights with a fresh optimiser state. ``callback(epoch, loss, metric)``, if given,
        is called after every epoch (for live views such as ``mlpkit.widgets.training_view``).

        Raises ``ValueError`` if the loss becomes NaN or infinite (the steps are too large).
        """
        X = self._inputs(X)
        y = self._targets(y, len(X))
        n = len(X)
        loss_fn = self._loss(loss)
        optimizer = self._optimizer(optimizer, lr, weight_decay, optimizer_options)
        epochs = _check_count(epochs, "epochs", minimum=0)
        batch_size = n if batch_size is None else min(_check_count(batch_size, "batch_size"), n)
        validation = None
        if validation_data is not None:
            X_val, y_val = validation_data
            X_val = self._inputs(X_val, "validation X")
            validation = (X_val, self._targets(y_val, len(X_val), "validation y"))
        rng = self._rng if seed is None else as_generator(seed)
        history = History("accuracy" if self.output != "linear" else "r2")
        total_squares = _total_squares(self.output, y)
        is_sum = isinstance(loss_fn, HalfSquaredError)   # a sum over examples, not a mean

        bar = tqdm(range(epochs), desc="training", unit="epoch", file=sys.stdout,
                   disable=not _show_progress(progress))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for epoch in bar:
                order = rng.permutation(n) if shuffle else slice(None)
                X_epoch, y_epoch = X[order], y[order]
                epoch_loss, hits = 0.0, 0.0
                for start in range(0, n, batch_size):
                    X_batch = X_epoch[start:start + batch_size]
                    y_batch = y_epoch[start:start + batch_size]
                    scores = self.forward(X_batch)
                    batch_loss = loss_fn.forward(scores, y_batch)
                    if not math.isfinite(batch_loss):
                        _diverged(batch_loss, epoch, optimizer)
                    self.backward(loss_fn.backward(), need_dL_dX=False)
                    optimizer.step()
                    epoch_loss += batch_loss if is_sum else batch_loss * len(X_batch) / n
                    hits += _hits(self.output, scores, y_batch)
                if not all(np.all(np.isfinite(p.value)) for p in self.parameters()):
                    _diverged(float("nan"), epoch, optimizer)
                history.loss.append(epoch_loss)
                history.metric.append(_from_hits(self.output, hits, n, total_squares))
                postfix = {"loss": f"{epoch_loss:.4g}", history.metric_name: f"{history.metric[-1]:.4g}"}
                if validation is not None:
                    val_scores = self.forward(validation[0])
                    history.val_loss.append(loss_fn.forward(val_scores, validation[1]))
                    history.val_metric.append(_metric(
                        self.output, val_scores, validation[1], _total_squares(self.output, validation[1])
                    ))
                    postfix["val_" + history.metric_name] = f"{history.val_metric[-1]:.4g}"
                bar.set_postfix(postfix, refresh=False)
                if callback is not None:
                    callback(epoch, epoch_loss, history.metric[-1])
        bar.close()
        return history

    def _optimizer(self, optimizer, lr, weight_decay, options) -> Optimizer:
        if isinstance(optimizer, Optimizer):
            if lr is not None or weight_decay or options:
                raise ValueError("give lr, weight_decay and options to the optimiser itself, not to fit")
            mine = {id(layer) for layer in self.layers}
            if any(id(p.layer) not in mine for p in optimizer.parameters):
                raise ValueError("this optimiser was made for another model's parameters")
            return optimizer
        return make_optimizer(optimizer, self.parameters(), lr=lr, weight_decay=weight_decay,
                              **options)


# ---------------------------------------------------------------------- helpers


def _check_sizes(sizes) -> list[int]:
    try:
        sizes = list(sizes)
    except TypeError:
        raise TypeError(f"sizes must be a list of layer widths such as [2, 3, 1], got {sizes!r}") from None
    if len(sizes) < 2 or any(isinstance(s, bool) or not isinstance(s, numbers.Integral) or s < 1
                             for s in sizes):
        raise ValueError(f"sizes must be at least two positive integers such as [2, 3, 1], got {sizes!r}")
    return [int(s) for s in sizes]


def _check_count(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _diverged(value: float, epoch: int, optimizer: Optimizer):
    raise ValueError(
        f"training diverged: the loss or the weights became {value} in epoch {epoch + 1}. "
        f"The steps are too large: try a smaller learning rate than lr={optimizer.lr:g}"
    )


def _show_progress(progress) -> bool:
    """Explicit True/False wins; None means: only in a Jupyter kernel, and never under nbgrader."""
    if progress is not None:
        return bool(progress)
    if os.environ.get("NBGRADER_EXECUTION"):
        return False
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _hits(output: str, scores, y) -> float:
    """Correct predictions (classifiers) or the residual sum of squares (linear) of a batch."""
    if output == "softmax":
        return int(np.count_nonzero(scores.argmax(axis=1) == y))
    if output == "sigmoid":
        return int(np.count_nonzero((scores > 0) == (y > 0.5)))
    residual = scores - y
    return float(np.sum(residual * residual))


def _total_squares(output: str, y) -> float:
    """Sum of squares about each column's mean (the denominator of R^2); unused by classifiers."""
    return float(np.sum((y - y.mean(axis=0)) ** 2)) if output == "linear" else 0.0


def _from_hits(output: str, hits: float, n: int, total_squares: float) -> float:
    if output != "linear":
        return hits / n
    return 1 - hits / total_squares if total_squares > 0 else float("nan")


def _metric(output: str, scores, y, total_squares: float) -> float:
    return _from_hits(output, _hits(output, scores, y), len(y), total_squares)
