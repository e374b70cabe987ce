"""PyTorch and JAX, the libraries a user would pick instead of mlpkit, on the two benchmark
functions of reverse_cost.py: PyTorch on the CPU (``torch.autograd.grad``; double backward for
H v) and JAX on the CPU (``jax.grad``, eager and jit-compiled; ``jax.jvp`` of ``jax.grad`` for
H v), with the same float64 data.

Every library runs on one thread (as NumPy's BLAS in the benchmarks).  A library that is not
installed is None here and its columns are skipped (the "bench" extra installs them).  Loading
them changes the process (its memory allocator's state, its threads), so reverse_cost.py times
them in a process of their own; its headline numbers come from a process without them.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy starts its BLAS
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402

from by_hand import mlp_blocks  # noqa: E402

try:
    import torch
    torch.set_num_threads(1)
except ImportError:
    torch = None
try:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
except ImportError:
    jax = jnp = None


# --- PyTorch ---------------------------------------------------------------------------------
def torch_mlp(X, y, hidden=256):
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    n, d = X.shape
    ends = mlp_blocks(d, hidden, int(y.max()) + 1)

    def loss(theta):
        W1 = theta[: ends[0]].reshape(d, hidden)
        b1 = theta[ends[0]: ends[1]]
        W2 = theta[ends[1]: ends[2]].reshape(hidden, -1)
        b2 = theta[ends[2]: ends[3]]
        logits = torch.tanh(Xt @ W1 + b1) @ W2 + b2
        shifted = logits - torch.max(logits, dim=1, keepdim=True).values
        log_probs = shifted - torch.log(torch.sum(torch.exp(shifted), dim=1, keepdim=True))
        return -torch.mean(log_probs[torch.arange(n), yt])

    return loss


def torch_rosenbrock(x):
    return torch.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def torch_gradient(f):
    def gradient(x):
        xt = torch.from_numpy(x).requires_grad_(True)
        (g,) = torch.autograd.grad(f(xt), xt)
        return g.numpy()

    return gradient


def torch_hvp(f, v):
    """H v by double backward: the gradient of grad . v (``create_graph=True``)."""
    vt = torch.from_numpy(v)

    def hv(x):
        xt = torch.from_numpy(x).requires_grad_(True)
        (g,) = torch.autograd.grad(f(xt), xt, create_graph=True)
        (h,) = torch.autograd.grad(g, xt, grad_outputs=vt)
        return h.numpy()

    return hv


# --- JAX -------------------------------------------------------------------------------------
def jax_gradient(make_f, data, jit):
    """``jax.grad`` of ``make_f(*data)``; the data are arguments (not constants folded into the
    jit-compiled code)."""
    data = tuple(jnp.asarray(d) for d in data)

    def grad(x, *data):
        return jax.grad(make_f(*data))(x)

    grad = jax.jit(grad) if jit else grad
    return lambda x: np.asarray(grad(jnp.asarray(x), *data).block_until_ready())


def jax_hvp(make_f, data, v, jit):
    """H v of ``make_f(*data)`` by forward-over-reverse (``jax.jvp`` of ``jax.grad``)."""
    vj, data = jnp.asarray(v), tuple(jnp.asarray(d) for d in data)

    def hv(x, v, *data):
        return jax.jvp(jax.grad(make_f(*data)), (x,), (v,))[1]

    hv = jax.jit(hv) if jit else hv
    return lambda x: np.asarray(hv(jnp.asarray(x), vj, *data).block_until_ready())
