"""The cheap-gradient principle, measured: time(gradient) / time(f) for mlpkit.reverse.

Two functions f: R^n -> R,

(a) the loss of a 784-256-10 tanh MLP with softmax cross-entropy on 256 samples; all
    203,530 parameters arrive as ONE flat vector that f slices and reshapes;
(b) the Rosenbrock function in 10^5 dimensions (vectorised).

For each, the same plain-NumPy f is timed alone, under ``mlpkit.reverse.gradient``, under HIPS
autograd's ``grad`` (the same code with ``autograd.numpy``) and against its gradient written out
by hand in NumPy in the best case (``by_hand.py``: every buffer allocated once; no engine running
the same NumPy operations can be cheaper, so it is the floor), interleaved over repeats; the
minimum per-call CPU time of the process is reported (the machine may be shared:
CPU time leaves out the time other processes held the CPU, and the minimum is the least
disturbed), with the page faults per call and the load average.  Targets (issue 17), with the DEFAULT
allocator: gradient <= 2x f (MLP), <= 3x f (Rosenbrock), and at most half of autograd's time
on both.  Then PyTorch and JAX (``peers.py``) are timed the same way in a process of their own
(loading them changes the process's memory allocator and threads, so f is timed again there).
Run:  .venv/bin/python benchmarks/reverse_cost.py

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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from by_hand import hand_mlp_gradient, hand_rosenbrock_gradient, mlp_blocks  # noqa: E402

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
    ends = mlp_blocks(d, hidden, c)

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
    """Measure with the default allocator; then, unless one part is asked for, PyTorch and JAX
    in a process of their own, and the same as the first with the allocator tuning."""
    if "--keep-freed-memory" in sys.argv[1:]:
        return measure_all(tuned=keep_freed_memory())
    if "--peers" in sys.argv[1:]:
        return measure_all(tuned=False, peers=True)
    default = measure_all(tuned=False)
    if "--default-malloc" in sys.argv[1:]:
        return default
    import subprocess

    for flag, prefix, title in (
            ("--peers", "peers", "PyTorch and JAX, in a process of their own (loading them "
             "changes the process: its f is timed again)"),
            ("--keep-freed-memory", "tuned", "the same with the allocator tuning (not the "
             "headline: a user should not need it)")):
        child = subprocess.run([sys.executable, __file__, flag], capture_output=True, text=True,
                               check=True).stdout
        print(f"\n{title}:")
        print("\n".join(line for line in child.splitlines() if not line.startswith("RESULT")))
        result = next(line for line in child.splitlines() if line.startswith("RESULT"))
        print("RESULT " + " ".join(f"{prefix}_{kv}" for kv in result.split()[1:]))
    return default


def measure_all(tuned, peers=False):
    """f and its gradient by mlpkit, by hand and by HIPS autograd (or, with ``peers``, by mlpkit,
    PyTorch and JAX) on both problems, interleaved; print the table and a RESULT line."""
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

    if peers:
        from peers import jax, jax_gradient, jnp, torch, torch_gradient, torch_mlp, torch_rosenbrock
        libraries = {
            "MLP 784-256-10": (torch_mlp(X, y) if torch else None,
                               (lambda X_: make_mlp_loss(jnp, X_, y)[0], (X,))),
            "Rosenbrock 1e5": (torch_rosenbrock, (lambda: make_rosenbrock(jnp), ())),
        }
    by_hand = {"MLP 784-256-10": hand_mlp_gradient(X, y),
               "Rosenbrock 1e5": hand_rosenbrock_gradient(x_rosen.size)}

    ratios = {}
    for name, (f, x, f_autograd) in problems.items():
        candidates = {"f": f, "mlpkit.reverse": lambda v, f=f: gradient(f, v)}
        if not peers:
            candidates["NumPy by hand"] = by_hand[name]
            if autograd is not None:
                candidates["autograd"] = autograd.grad(f_autograd)
        else:
            f_torch, f_jax = libraries[name]
            if torch is not None:
                candidates["PyTorch"] = torch_gradient(f_torch)
            if jax is not None:
                candidates["JAX eager"] = jax_gradient(*f_jax, jit=False)
                candidates["JAX jit"] = jax_gradient(*f_jax, jit=True)
        reference = gradient(f, x)
        for label, fn in candidates.items():  # every peer computes the same gradient
            if label not in ("f", "mlpkit.reverse"):
                error = np.linalg.norm(fn(x) - reference) / np.linalg.norm(reference)
                assert error < 1e-10, (name, label, error)
        t = measure(candidates, x)
        ratios[name] = {label: t[label] / t["f"] for label in t}
        print(f"\n{name}: f = {1e3 * t['f']:.3f} ms, {FAULTS['f']:.0f} page faults per call")
        print(f"  {'gradient by':16} {'[ms]':>9} {'/ f':>6} {'page faults per call':>21}")
        for label in t:
            if label != "f":
                print(f"  {label:16} {1e3 * t[label]:9.3f} {t[label] / t['f']:6.2f} "
                      f"{FAULTS[label]:21.0f}")
    mlp_all, rosen_all = ratios.values()
    mlp, rosen = mlp_all["mlpkit.reverse"], rosen_all["mlpkit.reverse"]
    result = [f"mlp_ratio={mlp:.2f}", f"rosenbrock_ratio={rosen:.2f}"]
    for label, key in (("autograd", "autograd"), ("NumPy by hand", "by_hand"),
                       ("PyTorch", "pytorch"), ("JAX eager", "jax_eager"), ("JAX jit", "jax_jit")):
        if label in mlp_all:
            print(f"mlpkit time / {label} time: MLP {mlp / mlp_all[label]:.2f}, Rosenbrock "
                  f"{rosen / rosen_all[label]:.2f}")
            result += [f"{key}_mlp_ratio={mlp_all[label]:.2f}",
                       f"{key}_rosenbrock_ratio={rosen_all[label]:.2f}",
                       f"mlp_vs_{key}={mlp / mlp_all[label]:.2f}",
                       f"rosenbrock_vs_{key}={rosen / rosen_all[label]:.2f}"]
    if not peers:
        print("NumPy by hand is backpropagation written out, every buffer allocated once: the floor")
    print("targets (default allocator): MLP <= 2, Rosenbrock <= 3, and <= 0.5 of autograd's time")
    print(f"after the measurements: {load_average()}")
    print("RESULT " + " ".join(result))
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
