"""Neural networks with hand-written backward passes (NumPy only).

- :mod:`mlpkit.nn.layers`  Linear, Tanh, Sigmoid, ReLU, LeakyReLU, Softplus, Identity, Sequential
- :mod:`mlpkit.nn.losses`  MSE, HalfSquaredError, MAE, BinaryCrossEntropy, SoftmaxCrossEntropy
- :mod:`mlpkit.nn.init`    weight initialisers: normal, xavier, he
- :mod:`mlpkit.nn.optim`   GradientDescent, Momentum, Nesterov, RMSProp, Adam
- :mod:`mlpkit.nn.mlp`     MLP: build, fit (with a progress bar and a History), predict, score

Every layer follows one pattern (CS231n's ``layer_forward`` / ``layer_backward``)::

    Y = layer.forward(X)          # caches what backward needs
    dL_dX = layer.backward(dL_dY) # and stores layer.dL_dW, layer.dL_db if it has parameters
"""

from mlpkit.nn.init import INITIALISERS, he, normal, xavier
from mlpkit.nn.layers import (
    ACTIVATIONS,
    Identity,
    Layer,
    LeakyReLU,
    Linear,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Softplus,
    Tanh,
    make_activation,
    sigmoid,
    softplus,
)
from mlpkit.nn.losses import (
    LOSSES,
    MAE,
    MSE,
    BinaryCrossEntropy,
    HalfSquaredError,
    Loss,
    SoftmaxCrossEntropy,
    get_loss,
)
from mlpkit.nn.mlp import MLP, OUTPUTS, History
from mlpkit.nn.optim import (
    OPTIMIZERS,
    SGD,
    Adam,
    GradientDescent,
    Momentum,
    Nesterov,
    Optimizer,
    RMSProp,
    make_optimizer,
)

__all__ = [
    "INITIALISERS", "he", "normal", "xavier",
    "ACTIVATIONS", "Identity", "Layer", "LeakyReLU", "Linear", "Parameter", "ReLU",
    "Sequential", "Sigmoid", "Softplus", "Tanh", "make_activation", "sigmoid", "softplus",
    "LOSSES", "MAE", "MSE", "BinaryCrossEntropy", "HalfSquaredError", "Loss",
    "SoftmaxCrossEntropy", "get_loss",
    "MLP", "OUTPUTS", "History",
    "OPTIMIZERS", "SGD", "Adam", "GradientDescent", "Momentum", "Nesterov", "Optimizer",
    "RMSProp", "make_optimizer",
]
