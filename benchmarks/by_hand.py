"""Gradients written out by hand in NumPy, for the two benchmark functions of reverse_cost.py.

Backpropagation by hand, in its best case: every large array is allocated once, before timing,
and reused in place.  An engine that runs the same NumPy operations cannot be cheaper, so the
ratio of these to f is the floor of the cheap-gradient principle on this machine (what is left
for an engine to lose is its bookkeeping and its memory traffic).  NumPy only.
"""

from __future__ import annotations

import numpy as np


def mlp_blocks(d, hidden, c):
    """Where W1, b1, W2, b2 end in the flat parameter vector of reverse_cost.make_mlp_loss."""
    return np.cumsum([d * hidden, hidden, hidden * c, c])


def hand_mlp_gradient(X, y, hidden=256):
    """The gradient of reverse_cost.make_mlp_loss's loss, by hand: theta -> grad (reused array)."""
    n, d = X.shape
    c = int(y.max()) + 1
    ends = mlp_blocks(d, hidden, c)
    rows = np.arange(n)
    H = np.empty((n, hidden))  # the hidden layer, then reused for 1 - H**2
    dZ = np.empty((n, hidden))  # the adjoint of X W1 + b1
    grad = np.empty(ends[-1])
    dW1 = grad[: ends[0]].reshape(d, hidden)  # written in place, as every block below
    dW2 = grad[ends[1]: ends[2]].reshape(hidden, c)

    def gradient(theta):
        W1 = theta[: ends[0]].reshape(d, hidden)
        b1 = theta[ends[0]: ends[1]]
        W2 = theta[ends[1]: ends[2]].reshape(hidden, c)
        b2 = theta[ends[2]: ends[3]]
        np.matmul(X, W1, out=H)
        np.add(H, b1, out=H)
        np.tanh(H, out=H)
        logits = H @ W2 + b2  # (n, c): small
        logits -= logits.max(axis=1, keepdims=True)
        P = np.exp(logits)
        P /= P.sum(axis=1, keepdims=True)  # softmax
        P[rows, y] -= 1.0
        P /= n  # dL/dlogits of the mean cross-entropy
        grad[ends[2]:] = P.sum(axis=0)
        np.matmul(H.T, P, out=dW2)
        np.matmul(P, W2.T, out=dZ)
        np.multiply(H, H, out=H)
        np.subtract(1.0, H, out=H)  # tanh' = 1 - tanh**2
        np.multiply(dZ, H, out=dZ)
        grad[ends[0]: ends[1]] = dZ.sum(axis=0)
        np.matmul(X.T, dZ, out=dW1)
        return grad

    return gradient


def hand_rosenbrock_gradient(size):
    """The gradient of sum(100 (x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2), by hand, in place."""
    grad = np.empty(size)
    r = np.empty(size - 1)  # 200 (x[1:] - x[:-1]**2)
    t = np.empty(size - 1)

    def gradient(x):
        head, tail = x[:-1], x[1:]
        np.square(head, out=r)
        np.subtract(tail, r, out=r)
        np.multiply(r, 200.0, out=r)
        grad[0] = 0.0
        grad[1:] = r  # d/dx[i+1]
        np.multiply(head, r, out=t)  # d/dx[i] = -2 x[i] r - 2 (1 - x[i])
        np.subtract(1.0, head, out=r)
        np.add(t, r, out=t)
        np.multiply(t, 2.0, out=t)
        grad[:-1] -= t
        return grad

    return gradient
