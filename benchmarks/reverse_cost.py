"""The cheap-gradient principle, measured: time(gradient) / time(f) for mlpkit.reverse.

Two functions f: R^n -> R,

(a) the loss of a 784-256-10 tanh MLP with softmax cross-entropy on 256 samples; all
    203,530 parameters arrive as ONE flat vector that f slices and reshapes;
(b) the Rosenbrock function in 10^5 dimensions (vectorised).

For each, the same plain-NumPy f is timed alone, under ``mlpkit.reverse.gradient`` and
under HIPS autograd's ``grad`` (the same code with ``autograd.numpy``), interleaved over
repeats; the median per-call time is reported.  Targets (issue 17), with the DEFAULT
allocator: gradient <= 2x f (MLP), <= 3x f (Rosenbrock), and at most half of autograd's time
on both.  Run:  .venv/bin/python benchmarks/reverse_cost.py

Before and after a change of the engine, in one run: ``--against REV`` (a git revision, e.g.
HEAD) also times the mlpkit of that revision, extracted with ``git archive``; the two are run
alternately, three times each, in fresh processes, and the median ratios are reported.

Memory allocator: reverse mode keeps every intermediate array alive until the backward
sweep, so each gradient call asks the OS for fresh pages, which glibc hands back at the
end of the call.  In a small VM a fresh page can cost ~10 us and that, not arithmetic,
then dominates (f reuses its freed buffers and does not pay).  Like PyTorch and JAX with
their caching allocators, one can ask glibc to keep freed memory (``keep_freed_memory``).  A
user should not need that: one run measures with the default allocator first (the headline
numbers), then the same again in a child process with the tuning (reported separately);
``--default-malloc`` or ``--keep-freed-memory`` measures only one of the two.  BLAS runs on one thread (unless
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

if os.environ.get("MLPKIT_ENGINE_PATH"):  # --against: import the mlpkit of another revision
    sys.path.insert(0, os.environ["MLPKIT_ENGINE_PATH"])

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
    """Measure with the default allocator, then (unless one is asked for) with the tuning."""
    if "--keep-freed-memory" in sys.argv[1:]:
        return measure_all(tuned=keep_freed_memory())
    default = measure_all(tuned=False)
    if "--default-malloc" in sys.argv[1:]:
        return default
    import subprocess

    child = subprocess.run([sys.executable, __file__, "--keep-freed-memory"], capture_output=True,
                           text=True, check=True).stdout
    print("\nthe same with the allocator tuning (not the headline: a user should not need it):")
    print("\n".join(line for line in child.splitlines() if not line.startswith("RESULT")))
    tuned = next(line for line in child.splitlines() if line.startswith("RESULT"))
    print("RESULT " + " ".join(f"tuned_{kv}" for kv in tuned.split()[1:]))
    return default


def measure_all(tuned):
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
    print(f"mlpkit time / autograd time: MLP {mlp / ag_mlp:.2f}, Rosenbrock {rosen / ag_rosen:.2f}")
    print("targets (default allocator): MLP <= 2, Rosenbrock <= 3, and <= 0.5 of autograd's time")
    print(f"RESULT mlp_ratio={mlp:.2f} rosenbrock_ratio={rosen:.2f} "
          f"autograd_mlp_ratio={ag_mlp:.2f} autograd_rosenbrock_ratio={ag_rosen:.2f} "
          f"mlp_vs_autograd={mlp / ag_mlp:.2f} rosenbrock_vs_autograd={rosen / ag_rosen:.2f}")
    return ratios


def against(revision, runs=3):
    """Time the engine of ``revision`` and the working tree alternately; print median ratios."""
    import subprocess
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(["git", "-C", str(root), "archive", revision, "mlpkit"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
        ratios = {revision: [], "working tree": []}
        for _ in range(runs):
            for label, path in ((revision, old), ("working tree", "")):
                env = dict(os.environ, MLPKIT_ENGINE_PATH=path)
                out = subprocess.run([sys.executable, __file__, "--default-malloc"], env=env,
                                     capture_output=True, text=True, check=True).stdout
                line = next(li for li in out.splitlines() if li.startswith("RESULT"))
                ratios[label].append(dict(kv.split("=") for kv in line.split()[1:]))
    print(f"median of {runs} alternating runs, time(gradient) / time(f), default allocator:")
    for label, rows in ratios.items():
        mlp = statistics.median(float(r["mlp_ratio"]) for r in rows)
        rosen = statistics.median(float(r["rosenbrock_ratio"]) for r in rows)
        print(f"  {label:14} MLP {mlp:5.2f}   Rosenbrock {rosen:5.2f}")
        key = "before" if label == revision else "after"
        print(f"RESULT {key}_mlp_ratio={mlp:.2f} {key}_rosenbrock_ratio={rosen:.2f}")


if __name__ == "__main__":
    if "--against" in sys.argv:
        against(sys.argv[sys.argv.index("--against") + 1])
    else:
        main()
