"""Accuracy against step size: forward, central and complex step (not a timing benchmark).

Two classic test functions:
  Martins, Sturdza and Alonso (2003):  f(x) = e^x / sqrt(sin^3 x + cos^3 x)  at x = 1.5
  Moler ("Complex step differentiation", 2013):  f(x) = e^x / (cos^3 x + sin^3 x)  at x = pi/4
Prints a table of relative errors for h = 1e-1 ... 1e-300, checks the targets (complex step within
4 ulp for every h <= 1e-8; central differences bottom out near 1e-10) and saves a log-log plot
to benchmarks/results/step_accuracy.png.

    python benchmarks/step_accuracy.py
"""

from pathlib import Path

import numpy as np

from mlpkit.numdiff import derivative


def martins(x):
    return np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)


def martins_derivative(x):
    s, c = np.sin(x), np.cos(x)
    return martins(x) * (1 - 1.5 * (s**2 * c - c**2 * s) / (s**3 + c**3))


def moler(x):
    return np.exp(x) / (np.cos(x) ** 3 + np.sin(x) ** 3)


def moler_derivative(x):
    s, c = np.sin(x), np.cos(x)
    return moler(x) * (1 - 3 * (s**2 * c - c**2 * s) / (s**3 + c**3))


CASES = {
    "Martins et al. at x = 1.5": (martins, martins_derivative, 1.5),
    "Moler at x = pi/4": (moler, moler_derivative, np.pi / 4),
}
METHODS = ("forward-difference", "central-difference", "complex-step")


def errors_for(f, df, x0, steps):
    exact = df(x0)
    table = {}
    for method in METHODS:
        usable, values = [], []
        for h in steps:
            try:
                values.append(derivative(f, x0, method=method, h=h))
                usable.append(h)
            except ValueError:  # x + h == x: the difference formulas cannot go this small
                break
        usable, values = np.array(usable), np.array(values)
        table[method] = (usable, np.abs(values - exact) / abs(exact), np.abs(values - exact))
    return exact, table


def main():
    steps = 10.0 ** -np.arange(1, 301)
    figure_rows = {}
    ok = True
    for title, (f, df, x0) in CASES.items():
        exact, table = errors_for(f, df, x0, steps)
        figure_rows[title] = table
        print(f"\n{title}: f'(x0) = {exact!r}")
        print(f"{'h':>8} " + " ".join(f"{m:>20}" for m in METHODS))
        for k in (1, 2, 4, 5, 6, 8, 10, 12, 14, 16, 20, 50, 100, 200, 300):
            h = 10.0**-k
            cells = []
            for method in METHODS:
                hs, rel, _ = table[method]
                hit = np.flatnonzero(hs == h)
                cells.append(f"{rel[hit[0]]:20.2e}" if hit.size else f"{'':>20}")
            print(f"{h:8.0e} " + " ".join(cells))
        hs, rel, absolute = table["complex-step"]
        ulps = absolute[hs <= 1e-8] / np.spacing(abs(exact))
        best_central = table["central-difference"][1].min()
        best_forward = table["forward-difference"][1].min()
        print(f"complex step, h <= 1e-8: at most {ulps.max():.0f} ulp (target <= 4)")
        print(f"best central difference: {best_central:.1e} (target: bottoms out near 1e-10); "
              f"best forward difference: {best_forward:.1e}")
        ok &= bool(ulps.max() <= 4) and 1e-12 < best_central < 1e-8
    save_plot(figure_rows)
    print(f"\nRESULT targets_met={ok}")


def save_plot(rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    styles = {"forward-difference": ("#E69F00", "o"), "central-difference": ("#0072B2", "s"),
              "complex-step": ("#009E73", "^")}
    fig, axes = plt.subplots(1, len(rows), figsize=(11, 4), sharey=True)
    for ax, (title, table) in zip(axes, rows.items()):
        for method, (hs, rel, _) in table.items():
            color, marker = styles[method]
            shown = hs >= 1e-20  # the complex step stays flat all the way to 1e-300 (see table)
            floor = np.maximum(rel[shown], 1e-17)  # exact results drawn at the bottom
            ax.loglog(hs[shown], floor, marker=marker, color=color, label=method, lw=1.2)
        ax.set_title(title)
        ax.set_xlabel("step h")
        ax.invert_xaxis()
    axes[0].set_ylabel("relative error of f'(x)")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(out / "step_accuracy.png", dpi=110)
    print(f"plot saved to {out / 'step_accuracy.png'}")


if __name__ == "__main__":
    main()
