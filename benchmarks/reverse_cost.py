"""The cheap-gradient principle, measured: time(gradient) / time(f) for mlpkit.reverse.

Two functions f: R^n -> R,

(a) the loss of a 784-256-10 tanh MLP with softmax cross-entropy on 256 samples; all
    203,530 parameters arrive as ONE flat vector that f slices and reshapes;
(b) the Rosenbrock function in 10^5 dimensions (vectorised).

For each, the same plain-NumPy f is timed alone, under ``mlpkit.reverse.gradient`` and
under HIPS autograd's ``grad`` (the same code with ``autograd.numpy``), interleaved over
repeats; the median per-call time is reported.  Targets: <= 3x (MLP), <= 4x (Rosenbrock),
and faster than autograd.  Run:  .venv/bin/python benchmarks/reverse_cost.py

Memory allocator: reverse mode keeps every intermediate array alive until the backward
sweep, so each gradient call asks the OS for fresh pages, which glibc hands back at the
end of the call.  In a small VM a fresh page can cost ~10 us and that, not arithmetic,
then dominates (f reuses its freed buffers and does not pay).  Like PyTorch and JAX with
their caching allocators, we ask glibc to keep freed memory (``keep_freed_memory``); pass
``--default-malloc`` to measure without it.  BLAS runs on one thread (unless
OPENBLAS_NUM_THREADS etc. are set): a ratio of operation counts, not of thread scheduling
on a shared machine, is what the cheap-gradient principle is about.
"""

from __future__ import annotations

import ctypes
import os
import statistics
import sys
import time

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before NumPy starts its BLAS

import numpy as np  # noqa: E402

from mlpkit.reverse import gradient  # noqa: E402

try:
    import autograd
    import autograd.numpy as anp
except ImportError:  # the "bench" extra is not installed
    autograd = anp = None

REPEATS = 25


def keep_freed_memory() -> bool:
    """Ask glibc malloc to reuse freed memory instead of returning it to the OS."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, Windows): nothing to do
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(libc.mallopt(M_MMAP_THRESHOLD, 1 << 30) and libc.mallopt(M_TRIM_THRESHOLD, 1 << 31))


def make_mlp_loss(xp, X, y, hidden=256):
    """Mean softmax cross-entropy of a tanh MLP; ``theta`` = [W1, b1, W2, b2] flattened."""
    n, d = X.shape
    c = int(y.max()) + 1
    sizes = [d * hidden, hidden, hidden * c, c]
    ends = np.cumsum(sizes)

    def loss(theta):
        W1 = theta[: ends[0]].reshape(d, hidden)
        b1 = theta[ends[0] : ends[1]]
        W2 = theta[ends[1] : ends[2]].reshape(hidden, c)
        b2 = theta[ends[2] : ends[3]]
        H = xp.tanh(X @ W1 + b1)  # (n, hidden)
        logits = H @ W2 + b2  # (n, c)
        shifted = logits - xp.max(logits, axis=1, keepdims=True)  # stable log-sum-exp
        log_probs = shifted - xp.log(xp.sum(xp.exp(shifted), axis=1, keepdims=True))
        return -xp.mean(log_probs[np.arange(n), y])

    return loss, int(ends[-1])


def make_rosenbrock(xp):
    def rosenbrock(x):
        return xp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    return rosenbrock


def per_call(fn, arg, min_time=0.03):
    """Seconds per call of fn(arg), averaged over enough calls to last ``min_time``."""
    calls, start = 0, time.perf_counter()
    while True:
        fn(arg)
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_time:
            return elapsed / calls


def measure(candidates, arg):
    """Median seconds per call for each candidate, timed interleaved over REPEATS rounds."""
    for fn in candidates.values():  # warm-up (imports, caches, BLAS threads)
        fn(arg)
    samples = {name: [] for name in candidates}
    for _ in range(REPEATS):
        for name, fn in candidates.items():
            samples[name].append(per_call(fn, arg))
    return {name: statistics.median(times) for name, times in samples.items()}


def main():
    tuned = "--default-malloc" not in sys.argv[1:] and keep_freed_memory()
    print(f"allocator: glibc {'keeping freed memory' if tuned else 'default'}")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((256, 784))
    y = rng.integers(0, 10, size=256)
    mlp_np, n_params = make_mlp_loss(np, X, y)
    theta = 0.05 * rng.standard_normal(n_params)
    x_rosen = rng.uniform(-1.0, 1.0, size=100_000)
    problems = {
        "MLP 784-256-10": (mlp_np, theta, make_mlp_loss(anp, X, y)[0] if anp else None),
        "Rosenbrock 1e5": (make_rosenbrock(np), x_rosen, make_rosenbrock(anp) if anp else None),
    }

    ratios = {}
    print(f"{'problem':16} {'f [ms]':>9} {'reverse [ms]':>13} {'ratio':>6} "
          f"{'autograd [ms]':>14} {'ratio':>6}")
    for name, (f, x, f_autograd) in problems.items():
        candidates = {"f": f, "reverse": lambda v, f=f: gradient(f, v)}
        if autograd is not None:
            candidates["autograd"] = autograd.grad(f_autograd)
            assert np.allclose(candidates["autograd"](x), gradient(f, x), rtol=1e-10, atol=1e-12)
        t = measure(candidates, x)
        ratio = t["reverse"] / t["f"]
        ag_ratio = t["autograd"] / t["f"] if "autograd" in t else float("nan")
        ratios[name] = (ratio, ag_ratio)
        print(f"{name:16} {1e3 * t['f']:9.3f} {1e3 * t['reverse']:13.3f} {ratio:6.2f} "
              f"{1e3 * t.get('autograd', float('nan')):14.3f} {ag_ratio:6.2f}")
    (mlp, ag_mlp), (rosen, ag_rosen) = ratios.values()
    print("targets: MLP <= 3, Rosenbrock <= 4, and below autograd on both")
    print(f"RESULT mlp_ratio={mlp:.2f} rosenbrock_ratio={rosen:.2f} "
          f"autograd_mlp_ratio={ag_mlp:.2f} autograd_rosenbrock_ratio={ag_rosen:.2f}")


if __name__ == "__main__":
    main()
