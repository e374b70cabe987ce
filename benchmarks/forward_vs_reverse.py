"""Forward versus reverse mode for the full Jacobian of f: R^n -> R^m, measured.

    f(x) = tanh(W sin(x)),  W a fixed (m, n) matrix,

so one evaluation costs O(mn) for every (n, m).  Forward mode (mlpkit.forward) builds J
column by column: n JVPs.  Reverse mode (mlpkit.reverse) records the tape once and builds J
row by row: m VJPs.  Expect time ~ n for forward and ~ m for reverse, with the crossover
near n = m (the constants differ: a reverse sweep costs more than a forward pass).

Memory: forward mode keeps only the current (value, tangent) pairs; reverse mode keeps the
tape.  The second table runs a loop of L steps, z <- sin(z * x) + x (seed 004's recursion,
on a vector x of n = 256 entries), and reports the tape's size and the peak memory
(``tracemalloc``, which sees NumPy's buffers) of one JVP and of one VJP.

Writes benchmarks/results/forward_vs_reverse.png (log-log).  Run:
    .venv/bin/python benchmarks/forward_vs_reverse.py
"""

from __future__ import annotations

import statistics
import tracemalloc
from pathlib import Path

from reverse_cost import keep_freed_memory, per_call  # same folder; sets BLAS to one thread

import numpy as np  # after reverse_cost, which fixes the BLAS threads

from mlpkit import forward, reverse

SIZES = [1, 4, 16, 64, 256]
REPEATS = 5
RESULTS = Path(__file__).resolve().parent / "results"


def make_f(n, m, seed=0):
    W = np.random.default_rng(seed).standard_normal((m, n)) / np.sqrt(n)
    return lambda x: np.tanh(W @ np.sin(x))


def loop_f(steps):
    def f(x):
        z = 0.0 * x
        for _ in range(steps):
            z = np.sin(z * x) + x
        return np.sum(z)

    return f


def time_jacobians():
    rows = []
    x_of = {n: np.linspace(-1.0, 1.0, n) for n in SIZES}
    for n in SIZES:
        for m in SIZES:
            f, x = make_f(n, m), x_of[n]
            J_forward, J_reverse = forward.jacobian(f, x), reverse.jacobian(f, x)
            assert np.allclose(J_forward, J_reverse, rtol=1e-12, atol=1e-14)
            t_fwd, t_rev = [], []
            for _ in range(REPEATS):  # interleaved
                t_fwd.append(per_call(lambda v, f=f: forward.jacobian(f, v), x, 0.01))
                t_rev.append(per_call(lambda v, f=f: reverse.jacobian(f, v), x, 0.01))
            rows.append((n, m, statistics.median(t_fwd), statistics.median(t_rev),
                         reverse.tape_size(f, x).bytes))
    return rows


def peak_bytes(fn):
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def measure_memory(n=256, steps_list=(10, 100, 1000)):
    x, direction = np.linspace(0.1, 1.0, n), np.ones(n)
    rows = []
    for steps in steps_list:
        f = loop_f(steps)
        size = reverse.tape_size(f, x)
        fwd = peak_bytes(lambda f=f: forward.jvp(f, x, direction))
        rev = peak_bytes(lambda f=f: reverse.vjp(f, x, 1.0))
        rows.append((steps, size.nodes, size.bytes, fwd, rev))
    return rows


def plot(rows, memory_rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = [(axes[0], lambda r: r[1] == 4, lambda r: r[0], "n (inputs)", "m = 4"),
              (axes[1], lambda r: r[0] == 4, lambda r: r[1], "m (outputs)", "n = 4")]
    for ax, keep, size, xlabel, title in panels:
        pick = [r for r in rows if keep(r)]
        ax.loglog([size(r) for r in pick], [1e3 * r[2] for r in pick], "o-",
                  label="forward: n JVPs")
        ax.loglog([size(r) for r in pick], [1e3 * r[3] for r in pick], "s--",
                  label="reverse: m VJPs")
        ax.set(xlabel=xlabel, ylabel="full Jacobian [ms]", title=title)
        ax.legend()
    steps = [r[0] for r in memory_rows]
    axes[2].loglog(steps, [r[2] for r in memory_rows], "s--", label="reverse: tape")
    axes[2].loglog(steps, [r[4] for r in memory_rows], "^:", label="reverse: peak (VJP)")
    axes[2].loglog(steps, [r[3] for r in memory_rows], "o-", label="forward: peak (JVP)")
    axes[2].set(xlabel="loop steps L (n = 256)", ylabel="bytes", title="memory")
    axes[2].legend()
    fig.tight_layout()
    RESULTS.mkdir(exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main():
    keep_freed_memory()
    rows = time_jacobians()
    print("full Jacobian of f(x) = tanh(W sin x), f: R^n -> R^m (median of interleaved runs)")
    print(f"{'n':>4} {'m':>4} {'forward [ms]':>13} {'reverse [ms]':>13} {'fwd/rev':>8} "
          f"{'tape [kB]':>10}")
    for n, m, t_fwd, t_rev, tape_bytes in rows:
        print(f"{n:4d} {m:4d} {1e3 * t_fwd:13.3f} {1e3 * t_rev:13.3f} {t_fwd / t_rev:8.2f} "
              f"{tape_bytes / 1e3:10.1f}")
    memory_rows = measure_memory()
    print("\nmemory of one derivative of the loop z <- sin(z x) + x, n = 256")
    print(f"{'steps':>6} {'tape nodes':>11} {'tape [kB]':>10} {'JVP peak [kB]':>14} "
          f"{'VJP peak [kB]':>14}")
    for steps, nodes, tape_bytes, fwd, rev in memory_rows:
        print(f"{steps:6d} {nodes:11d} {tape_bytes / 1e3:10.1f} {fwd / 1e3:14.1f} "
              f"{rev / 1e3:14.1f}")
    path = RESULTS / "forward_vs_reverse.png"
    plot(rows, memory_rows, path)
    print(f"\nfigure: {path}")
    ratio = {(n, m): t_fwd / t_rev for n, m, t_fwd, t_rev, _ in rows}
    big, last = max(SIZES), memory_rows[-1]
    print(f"RESULT fwd_over_rev_n{big}_m1={ratio[big, 1]:.2f} "
          f"fwd_over_rev_n1_m{big}={ratio[1, big]:.3f} "
          f"tape_kB_L{last[0]}={last[2] / 1e3:.0f} "
          f"vjp_over_jvp_peak_L{last[0]}={last[4] / last[3]:.1f}")


if __name__ == "__main__":
    main()
