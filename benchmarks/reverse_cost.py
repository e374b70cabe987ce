"""The cheap-gradient principle, measured: time(gradient) / time(f) for mlpkit.reverse.

Two functions f: R^n -> R,

(a) the loss of a 784-256-10 tanh MLP with softmax cross-entropy on 256 samples; all
    203,530 parameters arrive as ONE flat vector that f slices and reshapes;
(b) the Rosenbrock function in 10^5 dimensions (vectorised).

For each, the same plain-NumPy f is timed alone, under ``mlpkit.reverse.gradient`` and
under HIPS autograd's ``grad`` (the same code with ``autograd.numpy``), interleaved over
repeats; the minimum per-call CPU time of the process is reported (the machine may be shared:
CPU time leaves out the time other processes held the CPU, and the minimum is the least
disturbed), with the page faults per call and the load average.  Targets (issue 17), with the DEFAULT
allocator: gradient <= 2x f (MLP), <= 3x f (Rosenbrock), and at most half of autograd's time
on both.  Run:  .venv/bin/python benchmarks/reverse_cost.py

Before and after a change of the engine, in one run: ``--against REV`` (a git revision, e.g.
HEAD) also times the mlpkit of that revision, extracted with ``git archive``; the two are run
alternately, three times each, in fresh processes, and the median of each ratio is reported
(``hvp_cost.py --against REV`` does the same for the Hessian-vector products).

Memory allocator: reverse mode keeps more arrays alive at once than f, and glibc hands the
memory of large arrays back to the OS when they are freed, so each call would get fresh pages,
and the first write to a page costs a page fault (microseconds in a VM).  mlpkit therefore
reuses its large buffers itself (mlpkit._buffers, a small caching allocator as in PyTorch and
JAX), and the "faults" columns show what each candidate still pays.  With the default
allocator plain NumPy f itself may pay page faults on large temporaries, depending on what the
process did before; asking glibc to keep freed memory (``keep_freed_memory``) removes that, so
the tuned run shows the ratios of pure computation.  A user should not need the tuning: one run
measures with the default allocator first (the headline numbers), then the same again in a
child process with the tuning (reported separately);
``--default-malloc`` or ``--keep-freed-memory`` measures only one of the two.  BLAS runs on one thread (unless
OPENBLAS_NUM_THREADS etc. are set): a ratio of operation counts, not of thread scheduling
on a shared machine, is what the cheap-gradient principle is about.
"""

from __future__ import annotations

import ctypes
import os
import resource
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


PER_CALL_COUNT = [1]  # the number of calls the last per_call made
# The clock: CPU seconds of this process (all its threads, user and system time, so page faults
# count), not wall time: on a shared machine wall time also counts the time other processes
# held the CPU.  MLPKIT_BENCH_CLOCK=wall measures wall time instead.
CLOCK = time.perf_counter if os.environ.get("MLPKIT_BENCH_CLOCK") == "wall" else time.process_time


def per_call(fn, arg, min_time=0.03):
    """Seconds per call of fn(arg), averaged over enough calls to last ``min_time``."""
    calls, start = 0, CLOCK()
    while True:
        fn(arg)
        calls += 1
        elapsed = CLOCK() - start
        if elapsed >= min_time:
            PER_CALL_COUNT[0] = calls
            return elapsed / calls


def minor_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


FAULTS = {}  # candidate name -> page faults per call in the last measure()


def measure(candidates, arg):
    """Least seconds per call for each candidate, timed interleaved over REPEATS rounds; the page
    faults per call go to FAULTS."""
    for fn in candidates.values():  # warm-up (imports, caches, BLAS threads)
        fn(arg)
    samples = {name: [] for name in candidates}
    FAULTS.clear()
    for _ in range(REPEATS):
        for name, fn in candidates.items():
            before = minor_faults()
            samples[name].append(per_call(fn, arg))
            FAULTS[name] = FAULTS.get(name, 0) + (minor_faults() - before) / PER_CALL_COUNT[0]
    for name in FAULTS:
        FAULTS[name] /= REPEATS
    return {name: min(times) for name, times in samples.items()}


def load_average() -> str:
    return "load average {:.2f} {:.2f} {:.2f} (2 cores)".format(*os.getloadavg())


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
    print(f"allocator: glibc {'keeping freed memory' if tuned else 'default'}; {load_average()}")
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
          f"{'autograd [ms]':>14} {'ratio':>6}   page faults per call: f, reverse, autograd")
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
              f"{1e3 * t.get('autograd', float('nan')):14.3f} {ag_ratio:6.2f}   "
              + ", ".join(f"{FAULTS.get(k, float('nan')):.0f}" for k in ("f", "reverse", "autograd")))
    (mlp, ag_mlp), (rosen, ag_rosen) = ratios.values()
    print(f"mlpkit time / autograd time: MLP {mlp / ag_mlp:.2f}, Rosenbrock {rosen / ag_rosen:.2f}")
    print("targets (default allocator): MLP <= 2, Rosenbrock <= 3, and <= 0.5 of autograd's time")
    print(f"after the measurements: {load_average()}")
    print(f"RESULT mlp_ratio={mlp:.2f} rosenbrock_ratio={rosen:.2f} "
          f"autograd_mlp_ratio={ag_mlp:.2f} autograd_rosenbrock_ratio={ag_rosen:.2f} "
          f"mlp_vs_autograd={mlp / ag_mlp:.2f} rosenbrock_vs_autograd={rosen / ag_rosen:.2f}")
    return ratios


def against(revision, script=__file__, runs=3):
    """Time the engine of ``revision`` and the working tree alternately, each in fresh processes
    of ``script`` (default allocator); print the median of every RESULT number for both."""
    import subprocess
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    print(f"{Path(script).name}: {revision} against the working tree, {runs} alternating runs "
          f"each, default allocator; {load_average()}", flush=True)
    with tempfile.TemporaryDirectory() as old:
        archive = subprocess.run(["git", "-C", str(root), "archive", revision, "mlpkit"],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
        results = {revision: [], "working tree": []}
        for _ in range(runs):
            for label, path in ((revision, old), ("working tree", "")):
                env = dict(os.environ, MLPKIT_ENGINE_PATH=path)
                out = subprocess.run([sys.executable, str(script), "--default-malloc"], env=env,
                                     capture_output=True, text=True, check=True).stdout
                line = next(li for li in out.splitlines() if li.startswith("RESULT"))
                results[label].append(dict(kv.split("=") for kv in line.split()[1:]))
    keys = list(results["working tree"][0])
    print(f"{'median of ' + str(runs) + ' runs':32} {revision:>10} {'after':>10}")
    for key in keys:
        before = statistics.median(float(r[key]) for r in results[revision] if key in r) if all(
            key in r for r in results[revision]) else float("nan")
        after = statistics.median(float(r[key]) for r in results["working tree"])
        print(f"{key:32} {before:10.2f} {after:10.2f}")
    print(f"after the runs: {load_average()}")
    print("RESULT " + " ".join(
        f"before_{k}={statistics.median(float(r[k]) for r in results[revision]):.2f}"
        for k in keys if all(k in r for r in results[revision])) + " " + " ".join(
        f"after_{k}={statistics.median(float(r[k]) for r in results['working tree']):.2f}"
        for k in keys))


if __name__ == "__main__":
    if "--against" in sys.argv:
        against(sys.argv[sys.argv.index("--against") + 1])
    else:
        main()
