"""The course's pictures, one function each, every one returning a matplotlib ``Figure``.

Each function takes plain NumPy arrays, dicts and callables (never an object of another mlpkit
module), draws into ``ax`` when given one, and otherwise makes a new figure with pyplot.
In a notebook the figure shows once, whether the call ends the cell or is assigned
(see :class:`CourseFigure`).

It is one module, longer than the course's usual 500 lines, so that the conventions below are
written once for every picture: they are what tests/test_lecture_figures.py checks.

Conventions: every figure has a title and labelled axes (they also make its text alternative,
:func:`describe`); no text below 9 pt; lines use the Okabe-Ito palette
(safe for colour-blind readers) *and* differ by line style and marker, so they survive
grey-scale printing; continuous data use viridis/cividis, signed data a diverging map
centred at 0.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import math
import numbers
import textwrap
from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colors as mcolors
from matplotlib import ticker as mticker
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Patch
from matplotlib.path import Path as MplPath

from mlpkit._checks import as_real_array, check_callable

# Okabe & Ito (2008), without yellow (too faint for lines on white).
OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#000000")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)))
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
DIVERGING = "RdBu_r"  # ColorBrewer RdBu: colour-blind safe, white at 0
EPS = float(np.finfo(np.float64).eps)


def line_style(i: int) -> dict:
    """Colour, line style and marker of the ``i``-th line: all three differ between lines."""
    return {
        "color": OKABE_ITO[i % len(OKABE_ITO)],
        "linestyle": LINESTYLES[i % len(LINESTYLES)],
        "marker": MARKERS[i % len(MARKERS)],
    }


class CourseFigure(Figure):
    """A pyplot figure that a notebook shows exactly once.

    The inline backend shows each new pyplot figure at the end of the cell, and IPython also
    shows the figure when it is the cell's value: twice. Here, displaying the figure shows a
    PNG and takes it out of pyplot, so whichever comes first wins. This also makes a returned
    figure visible with ``MPLBACKEND=Agg`` (as in ``make test``). With ipympl
    (``%matplotlib widget``) the interactive canvas is left to do the showing.
    """

    def _ipython_display_(self):
        from IPython.display import display

        backend = matplotlib.get_backend().lower()
        if "ipympl" in backend or "widget" in backend:
            return
        buffer = io.BytesIO()
        self.savefig(buffer, format="png")
        display({"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                 "text/plain": describe(self)}, raw=True)
        plt.close(self)


def describe(fig: Figure) -> str:
    """A text alternative of ``fig`` in one line: its titles and what each panel plots.

    Used as the plain-text form of every figure in a notebook (so as the ``alt`` text of the
    picture on the course's web pages): for ``CourseFigure`` directly, and for any other
    matplotlib figure once this module is imported in IPython (see the end of the module).
    """
    def plain(text: str) -> str:
        return " ".join(text.replace("$", "").replace("\\", "").split())

    parts = [plain(fig._suptitle.get_text())] if getattr(fig, "_suptitle", None) else []
    for ax in fig.axes:
        if not ax.get_visible() or ax.get_label() == "<colorbar>":
            continue
        title, x, y = plain(ax.get_title()), plain(ax.get_xlabel()), plain(ax.get_ylabel())
        axes = f"{y} against {x}" if x and y else (x or y)
        if title or axes:
            parts.append(f"{title}: {axes}" if title and axes else title or axes)
    parts = list(dict.fromkeys(p for p in parts if p))
    return "Figure. " + "; ".join(parts) if parts else "Figure without title or axis labels"


def _figure_and_axes(ax, figsize) -> tuple[Figure, plt.Axes]:
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained", FigureClass=CourseFigure)
        return fig, ax
    return ax.figure, ax


def _evaluate(f, x: np.ndarray, name: str) -> np.ndarray:
    """``f`` on every element of ``x``: one vectorised call, or one call per element."""
    check_callable(f, name)
    try:
        values = np.asarray(f(x), dtype=float)
        if values.shape == x.shape:
            return values
    except (TypeError, ValueError):
        pass
    return np.array([float(f(xi)) for xi in x.ravel()]).reshape(x.shape)


# --------------------------------------------------------------------------------------------
# Numerical differentiation
# --------------------------------------------------------------------------------------------


def error_vs_step(errors: Mapping, *, slopes: Sequence[float] = (1, 2), eps: float = EPS,
                  ax=None, title: str = "Error of the derivative against the step size h",
                  ylabel: str = "relative error") -> Figure:
    r"""Log-log plot of error against step ``h``, one line per method: the "V" picture.

    ``errors`` maps a method name to ``(h, err)``, two arrays of the same length. Exact zeros
    (the complex step often hits them) cannot sit on a log axis: they are drawn at ``eps/10``
    with a hollow marker. Dotted grey reference lines show :math:`\propto h^p` for each
    ``p`` in ``slopes`` (truncation error of order ``p``), and a horizontal line marks
    machine epsilon (the round-off floor :math:`\varepsilon \approx 2.2\times 10^{-16}`).
    """
    if not isinstance(errors, Mapping) or not errors:
        raise TypeError("errors must be a non-empty dict: method name -> (h array, error array)")
    fig, ax = _figure_and_axes(ax, (6.4, 4.4))
    zero_at = eps / 10
    h_all, err_all = [], []
    for i, (name, pair) in enumerate(errors.items()):
        if not (isinstance(pair, Sequence) and len(pair) == 2):
            raise TypeError(f"errors[{name!r}] must be a pair (h array, error array)")
        h = as_real_array(pair[0], f"h of {name!r}").ravel()
        err = np.abs(as_real_array(pair[1], f"error of {name!r}").ravel())
        if h.shape != err.shape:
            raise ValueError(f"h and error of {name!r} differ in length: {h.size} vs {err.size}")
        if np.any(h <= 0):
            raise ValueError(f"step sizes h of {name!r} must be > 0 for a log axis")
        style = line_style(i)
        shown = np.where(err > 0, err, zero_at)
        ax.loglog(h, shown, label=name, markersize=4, markevery=max(1, h.size // 20), **style)
        if np.any(err == 0):
            ax.plot(h[err == 0], shown[err == 0], linestyle="none", marker=style["marker"],
                    markerfacecolor="none", color=style["color"])
        h_all.append(h)
        err_all.append(err[err > 0])
    h_all = np.concatenate(h_all)
    positive = np.concatenate(err_all)
    y_low = min(zero_at, positive.min()) / 3 if positive.size else zero_at / 3
    y_high = max(positive.max() * 3, 1.0) if positive.size else 1.0
    ax.axhline(eps, color="0.4", linestyle=(0, (1, 2)), linewidth=1)
    ax.annotate(r"machine $\varepsilon$", (h_all.min(), eps), xytext=(2, 3),
                textcoords="offset points", fontsize=9, color="0.3")
    # Reference lines over the three largest decades of h, above the data so they do not hide it.
    h_max = h_all.max()
    anchor = positive.max() if positive.size else 1.0
    h_ref = np.geomspace(h_max / 1e3, h_max, 20)
    for p, dash in zip(slopes, ((0, (2, 2)), (0, (6, 3)), (0, (4, 1, 1, 1)))):
        ref = 3 * anchor * (h_ref / h_max) ** p
        ax.loglog(h_ref, ref, color="0.55", linestyle=dash, linewidth=1)
        ax.annotate(rf"$\propto h^{{{p:g}}}$", (h_ref[0], ref[0]), xytext=(-4, 0),
                    textcoords="offset points", ha="right", va="center", fontsize=9,
                    color="0.3")
    ax.set_ylim(y_low, y_high)
    ax.set_xlabel("step size h")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    # Below the axes: the curves and reference lines leave no corner reliably free.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2, fontsize=9, frameon=False)
    return fig


# --------------------------------------------------------------------------------------------
# Classifiers and training
# --------------------------------------------------------------------------------------------


def decision_boundary(predict, X, y, *, resolution: int = 200, margin: float = 0.5, ax=None,
                      title: str = "Decision boundary") -> Figure:
    """Regions of a 2-D classifier with the data on top.

    ``predict(points)`` gets an ``(m, 2)`` array and returns one of: labels ``(m,)`` (integers),
    the probability of class 1 ``(m,)`` or ``(m, 1)`` (floats in [0, 1]; a raw score outside
    [0, 1] is split at 0), or class probabilities/scores ``(m, k)`` (argmax is the label).
    ``X`` is ``(n, 2)`` and ``y`` ``(n,)``. Probabilities are drawn with cividis and the
    0.5 contour; labels as flat regions with black borders.
    """
    check_callable(predict, "predict")
    X = as_real_array(X, "X")
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2) for a 2-D picture, got {X.shape}")
    y = np.asarray(y).ravel()
    if y.size != X.shape[0]:
        raise ValueError(f"y has {y.size} labels but X has {X.shape[0]} points")
    fig, ax = _figure_and_axes(ax, (5.6, 4.6))
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xs, ys = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    out = np.asarray(predict(np.column_stack([grid_x.ravel(), grid_y.ravel()])), dtype=float)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.shape[0] != grid_x.size:
        raise ValueError(f"predict returned {out.shape[0]} rows for {grid_x.size} points")
    classes = np.unique(y)
    if out.ndim == 2:
        labels = np.argmax(out, axis=1).astype(float)
    elif np.allclose(out, np.round(out)):
        labels = out
    else:
        probability = out.reshape(grid_x.shape)
        threshold = 0.5 if out.min() >= 0 and out.max() <= 1 else 0.0
        name = "P(class 1)" if threshold == 0.5 else "score"
        image = ax.contourf(grid_x, grid_y, probability, levels=20, cmap="cividis", alpha=0.45)
        ax.contour(grid_x, grid_y, probability, levels=[threshold], colors="k", linewidths=1.5)
        fig.colorbar(image, ax=ax, label=f"{name}; black line: {threshold:g}")
        labels = None
    if labels is not None:
        all_classes = np.unique(np.concatenate([classes, np.unique(labels)]))
        index = np.searchsorted(all_classes, labels).reshape(grid_x.shape)
        cmap = mcolors.ListedColormap([OKABE_ITO[i % len(OKABE_ITO)]
                                       for i in range(all_classes.size)])
        ax.contourf(grid_x, grid_y, index, levels=np.arange(all_classes.size + 1) - 0.5,
                    cmap=cmap, alpha=0.3)
        if all_classes.size > 1:
            ax.contour(grid_x, grid_y, index, levels=np.arange(all_classes.size - 1) + 0.5,
                       colors="k", linewidths=1)
    for i, c in enumerate(classes):
        points = X[y == c]
        ax.scatter(points[:, 0], points[:, 1], s=28, marker=MARKERS[i % len(MARKERS)],
                   color=OKABE_ITO[i % len(OKABE_ITO)], edgecolors="k", linewidths=0.6,
                   label=f"class {c:g}" if isinstance(c, numbers.Number) else f"class {c}")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(title)
    ax.legend(loc="best", fontsize=9, framealpha=0.9)
    return fig


def history_series(history) -> dict[str, np.ndarray]:
    """The numeric per-epoch series of a training history, as ``{name: 1-D array}``.

    Accepts a dict of lists, a list of per-epoch dicts, a dataclass, or any object whose
    public attributes are lists of numbers (``history.loss``, ``history.accuracy``, ...).
    Empty series are left out; a string ``metric_name`` renames ``metric``/``val_metric``.
    """
    if isinstance(history, Mapping):
        items = dict(history)
    elif isinstance(history, Sequence) and history and isinstance(history[0], Mapping):
        keys = list(dict.fromkeys(k for record in history for k in record))
        items = {k: [record.get(k, np.nan) for record in history] for k in keys}
    elif dataclasses.is_dataclass(history) and not isinstance(history, type):
        items = {f.name: getattr(history, f.name) for f in dataclasses.fields(history)}
    elif hasattr(history, "__dict__"):
        items = {k: v for k, v in vars(history).items() if not k.startswith("_")}
    else:
        raise TypeError(f"history must be a dict of lists or an object with list attributes, "
                        f"got {type(history).__name__}")
    series = {}
    for key, values in items.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
            continue
        array = np.asarray(values, dtype=object)
        if array.ndim != 1 or array.size == 0:
            continue
        if all(v is None or (isinstance(v, numbers.Real) and not isinstance(v, bool))
               for v in array):
            series[str(key)] = np.array([np.nan if v is None else v for v in array], float)
    if not series:
        raise ValueError("history holds no per-epoch series of numbers to plot")
    metric_name = items.get("metric_name")  # History(metric_name="accuracy", metric=[...])
    if isinstance(metric_name, str) and metric_name:
        series = {k.replace("metric", metric_name) if k in ("metric", "val_metric") else k: v
                  for k, v in series.items()}
    return series


def training_curves(history, *, log_loss: bool = True, ax=None,
                    title: str = "Training history") -> Figure:
    """Loss (left axis) and metrics (right axis) against the epoch.

    ``history``: see :func:`history_series`. Series whose name contains ``"loss"`` go on the
    left axis (log scale if ``log_loss`` and all positive), others (accuracy, ...) on the right.
    A series named ``epoch``/``epochs`` is used as the x values when its length matches.
    """
    series = history_series(history)
    x_given = next((series.pop(k) for k in ("epoch", "epochs") if k in series), None)
    losses = {k: v for k, v in series.items() if "loss" in k.lower()}
    metrics = {k: v for k, v in series.items() if k not in losses}
    fig, ax = _figure_and_axes(ax, (6.4, 4.0))
    handles, metric_ax = [], None
    for i, (name, values) in enumerate(list(losses.items()) + list(metrics.items())):
        target = ax
        if name in metrics and losses:  # metrics get their own scale on the right
            metric_ax = metric_ax or ax.twinx()
            metric_ax.set_ylabel(", ".join(metrics))
            target = metric_ax
        if x_given is not None and x_given.size == values.size:
            x = x_given
        else:
            x = np.arange(1, values.size + 1)
        (line,) = target.plot(x, values, label=name, markersize=4,
                              markevery=max(1, values.size // 15), **line_style(i))
        handles.append(line)
    if losses:
        finite = np.concatenate([v[np.isfinite(v)] for v in losses.values()])
        if log_loss and finite.size and finite.min() > 0:
            ax.set_yscale("log")
        ax.set_ylabel("loss")
    else:
        ax.set_ylabel(", ".join(metrics))
    ax.set_xlabel("epoch")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    # Below the axes: with two y scales no corner is reliably free of data.
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.14),
              ncols=min(len(handles), 4), fontsize=9, frameon=False)
    return fig


# --------------------------------------------------------------------------------------------
# Inside a network
# --------------------------------------------------------------------------------------------


def _tile(images: np.ndarray, ncols: int, gap: int = 1) -> np.ndarray:
    """Arrange ``images`` ``(n, h, w)`` in a grid with NaN gaps (drawn in the 'bad' colour)."""
    n, h, w = images.shape
    nrows = math.ceil(n / ncols)
    mosaic = np.full((nrows * (h + gap) - gap, ncols * (w + gap) - gap), np.nan)
    for j, image in enumerate(images):
        r, c = divmod(j, ncols)
        mosaic[r * (h + gap):r * (h + gap) + h, c * (w + gap):c * (w + gap) + w] = image
    return mosaic


def _diverging_cmap():
    return plt.get_cmap(DIVERGING).with_extremes(bad="0.8")


def weight_images(W, image_shape: tuple[int, int], *, n_max: int | None = None,
                  ncols: int | None = None, shared_scale: bool = True, ax=None,
                  title: str = "Weights of the hidden units as images") -> Figure:
    """Columns of ``W`` ``(h*w, n_units)`` drawn as ``h x w`` images in a grid.

    Column ``j`` holds the weights from every pixel to hidden unit ``j`` (row-major pixels,
    the usual ``image.ravel()`` order). Red is positive, blue negative, white 0; with
    ``shared_scale=False`` each image is divided by its own max ``|w|``.
    Unit ``j`` sits at row ``j // ncols``, column ``j % ncols``.
    """
    W = as_real_array(W, "W")
    h, w = (int(s) for s in image_shape)
    if W.ndim != 2:
        raise ValueError(f"W must be a matrix (pixels, units), got shape {W.shape}")
    if W.shape[0] != h * w:
        hint = "; pass W.T (its rows are the images)" if W.shape[1] == h * w else ""
        raise ValueError(f"W has {W.shape[0]} rows but a {h}x{w} image has {h * w} pixels{hint}")
    n = W.shape[1] if n_max is None else min(int(n_max), W.shape[1])
    images = W[:, :n].T.reshape(n, h, w)
    if not shared_scale:
        scale = np.abs(images).max(axis=(1, 2), keepdims=True)
        images = images / np.where(scale > 0, scale, 1.0)
    ncols = ncols or math.ceil(math.sqrt(n))
    fig, ax = _figure_and_axes(ax, (1.0 + 0.75 * ncols, 0.4 + 0.75 * math.ceil(n / ncols)))
    vmax = float(np.abs(images).max()) or 1.0
    image = ax.imshow(_tile(images, ncols), cmap=_diverging_cmap(), vmin=-vmax, vmax=vmax,
                      interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8,
                 label="weight" if shared_scale else "weight / max |weight| of the unit")
    ax.set_xticks([c * (w + 1) + (w - 1) / 2 for c in range(min(ncols, n))],
                  [f"+{c}" for c in range(min(ncols, n))], fontsize=9)
    ax.set_yticks([r * (h + 1) + (h - 1) / 2 for r in range(math.ceil(n / ncols))],
                  [str(r * ncols) for r in range(math.ceil(n / ncols))], fontsize=9)
    ax.set_xlabel("hidden unit = row start + column offset")
    ax.set_ylabel("hidden unit (row start)")
    ax.set_title(title)
    return fig


def hidden_activations(features, *, inputs=None, image_shape: tuple[int, int] | None = None,
                       scores=None, labels: Sequence | None = None, ax=None,
                       title: str = "Hidden features for a few inputs") -> Figure:
    """Hidden-unit values ``features`` ``(n_inputs, n_hidden)`` as a heat map, one row per input.

    Optional side panels (only in a figure of its own, ``ax=None``): ``inputs``
    ``(n_inputs, h*w)`` drawn as ``image_shape`` images on the left, and output ``scores``
    ``(n_inputs, n_outputs)`` on the right with the largest score circled. ``labels`` name
    the rows. Signed features (tanh) use a diverging map centred at 0, others viridis.
    """
    features = as_real_array(features, "features")
    if features.ndim != 2:
        raise ValueError(f"features must be (n_inputs, n_hidden), got shape {features.shape}")
    n = features.shape[0]
    panels = ["inputs"] * (inputs is not None) + ["features"] + ["scores"] * (scores is not None)
    if ax is None:
        widths = {"inputs": 1.0, "features": 6.0, "scores": 2.5}
        fig, axs = plt.subplots(1, len(panels), figsize=(9.0, 1.6 + 0.5 * n), squeeze=False,
                                FigureClass=CourseFigure,
                                layout="constrained", width_ratios=[widths[p] for p in panels])
        axes = dict(zip(panels, axs[0]))
    elif len(panels) > 1:
        raise ValueError("inputs and scores get panels of their own: call with ax=None")
    else:
        axes = {"features": ax}
    ax = axes["features"]
    fig = ax.figure
    row_names = [str(s) for s in labels] if labels is not None else [str(i) for i in range(n)]
    signed = features.min() < 0 < features.max()
    vmax = float(np.abs(features).max()) or 1.0
    image = ax.imshow(features, aspect="auto", interpolation="nearest",
                      cmap=_diverging_cmap() if signed else "viridis",
                      vmin=-vmax if signed else None, vmax=vmax if signed else None)
    fig.colorbar(image, ax=ax, location="bottom", shrink=0.6, label="hidden unit value")
    ax.set_xlabel("hidden unit")
    ax.set_ylabel("input")
    ax.set_yticks(range(n), row_names)
    ax.set_title(title)
    if "inputs" in axes:
        if image_shape is None:
            raise ValueError("pass image_shape=(h, w) to draw the inputs as images")
        h, w = image_shape
        pictures = as_real_array(inputs, "inputs").reshape(n, h, w)
        side = axes["inputs"]
        side.imshow(_tile(pictures, 1), cmap="gray_r", interpolation="nearest")
        side.set_xticks([])
        side.set_yticks([r * (h + 1) + (h - 1) / 2 for r in range(n)], row_names)
        side.set_xlabel("pixels")
        side.set_ylabel("input image")
        side.set_title("input")
    if "scores" in axes:
        scores = as_real_array(scores, "scores")
        if scores.ndim != 2 or scores.shape[0] != n:
            raise ValueError(f"scores must be ({n}, n_outputs), got shape {scores.shape}")
        side = axes["scores"]
        side.imshow(scores, aspect="auto", cmap="cividis", interpolation="nearest")
        for colour, width in (("w", 3.0), ("k", 1.2)):  # visible on dark and light cells
            side.scatter(scores.argmax(axis=1), range(n), s=70, facecolors="none",
                         edgecolors=colour, linewidths=width)
        side.set_xticks(range(scores.shape[1]))
        side.set_yticks(range(n), row_names)
        side.tick_params(labelsize=9)
        side.set_xlabel("output unit")
        side.set_ylabel("input")
        side.set_title("scores (circle: largest)")
    return fig


# --------------------------------------------------------------------------------------------
# Optimisation
# --------------------------------------------------------------------------------------------


def loss_grid(loss, xlim: tuple[float, float], ylim: tuple[float, float],
              resolution: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(xs, ys, Z)`` with ``Z[i, j] = loss([xs[j], ys[i]])``.

    ``loss`` takes a point ``w`` of shape ``(2,)``. It is first tried vectorised, with ``w``
    of shape ``(2, ny, nx)`` (works for ``lambda w: w[0]**2 + 10 * w[1]**2``), then point by
    point.
    """
    check_callable(loss, "loss")
    xs = np.linspace(*xlim, resolution)
    ys = np.linspace(*ylim, resolution + 1)  # not square: a wrong vectorised shape shows up
    grid = np.stack(np.meshgrid(xs, ys))
    try:
        with np.errstate(all="ignore"):
            Z = np.asarray(loss(grid), dtype=float)
        if Z.shape != grid.shape[1:]:
            raise ValueError
    except (TypeError, ValueError, IndexError):
        with np.errstate(all="ignore"):
            Z = np.array([[float(loss(np.array([x, y]))) for x in xs] for y in ys])
    return xs, ys, Z


def _contour_levels(Z: np.ndarray, n: int) -> np.ndarray:
    finite = Z[np.isfinite(Z)]
    lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        return np.array([lo, lo + 1.0])
    if lo >= 0 and hi > 1e3 * max(lo, hi * 1e-9):  # many decades: log-spaced levels
        return np.geomspace(max(lo, hi * 1e-6), hi, n)
    return np.linspace(lo, hi, n)


def optimizer_paths(loss, paths: Mapping, *, xlim=None, ylim=None, minimum=None,
                    levels: int = 20, surface=None, ax=None,
                    title: str = "Optimiser paths on the loss surface") -> Figure:
    """Contours of a 2-D ``loss`` with one path per optimiser.

    ``paths`` maps a name to a ``(k, 2)`` array of iterates (first row: the start). Rows after
    the first non-finite one are dropped. ``minimum`` (a point) is marked with a star.
    ``surface=(xs, ys, Z)`` from :func:`loss_grid` skips re-evaluating the loss.
    """
    arrays = {}
    for name, path in paths.items():
        path = np.array(path, dtype=float)
        if path.ndim != 2 or path.shape[1] != 2:
            raise ValueError(f"path {name!r} must have shape (k, 2), got {path.shape}")
        bad = np.flatnonzero(~np.all(np.isfinite(path), axis=1))
        arrays[name] = path[:bad[0]] if bad.size else path
    if surface is None:
        points = np.concatenate([p for p in arrays.values() if p.size] or [np.zeros((1, 2))])
        if minimum is not None:
            points = np.vstack([points, np.asarray(minimum, float)])
        lo, hi = points.min(axis=0), points.max(axis=0)
        pad = 0.15 * np.maximum(hi - lo, 1.0)
        xlim = xlim or (lo[0] - pad[0], hi[0] + pad[0])
        ylim = ylim or (lo[1] - pad[1], hi[1] + pad[1])
        surface = loss_grid(loss, xlim, ylim)
    xs, ys, Z = surface
    made_here = ax is None
    fig, ax = _figure_and_axes(ax, (7.0, 5.6))
    levels = _contour_levels(Z, levels)
    # One colour per band, whatever the spacing: log-spaced levels stay readable.
    norm = mcolors.BoundaryNorm(levels, ncolors=256, extend="both")
    filled = ax.contourf(xs, ys, Z, levels=levels, cmap="cividis", norm=norm, alpha=0.55,
                         extend="both")
    ax.contour(xs, ys, Z, levels=levels, colors="0.35", linewidths=0.4)
    fig.colorbar(filled, ax=ax, label="loss", shrink=0.85, ticks=_round_ticks(levels),
                 format=mticker.FuncFormatter(lambda v, _: f"{v:g}"))
    for i, (name, path) in enumerate(arrays.items()):
        if not path.size:
            continue
        with np.errstate(all="ignore"):
            final = float(np.asarray(loss(path[-1]))) if loss is not None else np.nan
        ax.plot(path[:, 0], path[:, 1], linewidth=1.8, markersize=4,
                markevery=max(1, len(path) // 25), markeredgecolor="k", markeredgewidth=0.4,
                label=f"{name}: {len(path) - 1} steps, loss {final:.3g}", **line_style(i))
        ax.plot(*path[0], marker="o", color="k", markersize=7, markerfacecolor="w")
    if minimum is not None:
        ax.plot(*np.asarray(minimum, float), marker="*", color="k", markersize=14,
                linestyle="none", label="minimum")
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel("$w_1$")
    ax.set_ylabel("$w_2$")
    ax.set_title(title)
    # Below the picture: paths and contours fill the whole panel, so no corner is free of data.
    if made_here:
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2,
                   fontsize=9, frameon=False)
    else:
        ax.legend(loc="best", fontsize=9, framealpha=0.9)
    return fig


def _round_ticks(levels: np.ndarray) -> np.ndarray:
    """A few round values inside the range of ``levels``: powers of 10 (times 1, 2, 5) for
    log-spaced levels, a linear locator's steps otherwise; never a value like 0.0037."""
    lo, hi = float(levels[0]), float(levels[-1])
    if lo > 0 and hi / lo > 100:  # log-spaced (see _contour_levels)
        decades = np.arange(np.floor(np.log10(lo)), np.ceil(np.log10(hi)) + 1)
        for multiples in ((1,), (1, 3), (1, 2, 5)):
            ticks = np.array([m * 10.0**d for d in decades for m in multiples])
            ticks = ticks[(ticks >= lo) & (ticks <= hi)]
            if ticks.size >= 3:
                return ticks
        return ticks
    ticks = mticker.MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
    return ticks[(ticks >= lo) & (ticks <= hi)]


# --------------------------------------------------------------------------------------------
# Activation functions
# --------------------------------------------------------------------------------------------


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # no overflow for large |x|


DEFAULT_ACTIVATIONS = {
    "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1.0 - _sigmoid(x))),
    "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "ReLU": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float)),
    "leaky ReLU (0.1)": (lambda x: np.where(x > 0, x, 0.1 * x),
                         lambda x: np.where(x > 0, 1.0, 0.1)),
    "softplus": (lambda x: np.logaddexp(0.0, x), _sigmoid),
    "ELU": (lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
            lambda x: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0.0)))),
}


def activation_grid(functions: Mapping | None = None, *, x=None, ncols: int = 3, axes=None,
                    title: str = "Activation functions and their derivatives") -> Figure:
    """One panel per activation: ``f`` (solid) and ``f'`` (dashed).

    ``functions`` maps a name to ``(f, df)`` or to ``f`` alone (then ``f'`` is estimated with
    ``np.gradient`` and labelled so); default :data:`DEFAULT_ACTIVATIONS`. ``x`` defaults to
    401 points on [-4, 4]. ``axes``: a sequence of at least ``len(functions)`` Axes to draw in.
    """
    functions = DEFAULT_ACTIVATIONS if functions is None else functions
    x = np.linspace(-4, 4, 401) if x is None else as_real_array(x, "x").ravel()
    n = len(functions)
    if axes is None:
        nrows = math.ceil(n / ncols)
        fig, grid = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.5 * nrows),
                                 FigureClass=CourseFigure,
                                 layout="constrained", squeeze=False)
        for extra in grid.ravel()[n:]:
            extra.set_visible(False)
        axes = grid.ravel()
    elif len(axes) < n:
        raise ValueError(f"{n} functions need {n} axes, got {len(axes)}")
    fig = axes[0].figure
    for ax, (name, pair) in zip(axes, functions.items()):
        f, df = pair if isinstance(pair, tuple) else (pair, None)
        fx = _evaluate(f, x, f"{name} function")
        if df is None:
            dfx, d_label = np.gradient(fx, x), "f'(x) (numerical)"
        else:
            dfx, d_label = _evaluate(df, x, f"{name} derivative"), "f'(x)"
        ax.axhline(0, color="0.8", linewidth=0.8)
        ax.axvline(0, color="0.8", linewidth=0.8)
        ax.plot(x, fx, color=OKABE_ITO[0], linestyle="-", linewidth=2, label="f(x)")
        ax.plot(x, dfx, color=OKABE_ITO[1], linestyle="--", linewidth=2, label=d_label)
        ax.set_title(name)
        ax.set_xlabel("x")
        ax.set_ylabel("value")
        ax.legend(fontsize=9, loc="best")
    fig.suptitle(title)
    return fig


# --------------------------------------------------------------------------------------------
# Computational graph of the scalar reverse engine
# --------------------------------------------------------------------------------------------


def _parents(node) -> list[tuple[object, object]]:
    pairs = list(getattr(node, "parents", ()) or ())
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError("each entry of .parents must be a (parent, local_derivative) pair, "
                            f"got {pair!r:.60}")
    return pairs


def graph_layers(root) -> tuple[list, dict[int, int]]:
    """Nodes of the graph ending at ``root`` in topological order, and ``{id(node): depth}``.

    The order is the reverse engine's own (:func:`mlpkit.reverse.scalar.topological_order`, an
    iterative depth-first search over ``.parents``). Depth 0: inputs (no parents); otherwise
    1 + the largest depth of a parent, so every edge points down a row.
    """
    from mlpkit.reverse.scalar import topological_order  # here: a problem set may forbid reverse

    try:
        order = topological_order(root)
    except (TypeError, ValueError):  # a hand-made node whose .parents are not (node, value) pairs
        stack, seen = [root], set()
        while stack:  # find it, for a message that says what is wrong
            node = stack.pop()
            if id(node) not in seen:
                seen.add(id(node))
                stack.extend(parent for parent, _ in _parents(node))
        raise
    depth = {}
    for node in order:
        depth[id(node)] = 1 + max((depth[id(p)] for p, _ in _parents(node)), default=-1)
    return order, depth


def _number(value) -> str:
    if value is None:
        return "-"
    try:
        return f"{complex(value).real:.4g}" if np.iscomplexobj(value) else f"{float(value):.4g}"
    except (TypeError, ValueError):
        return str(value)[:12]


_NODE_STYLES = {  # fill, edge, box style: three cues, not just colour
    "input": ("#D6EAF8", OKABE_ITO[0], "square,pad=0.4", 1.0),
    "operation": ("#FBE5C8", "#A05A00", "round,pad=0.4", 1.0),
    "output": ("#C9EBDD", OKABE_ITO[2], "round4,pad=0.4", 2.5),
}
# Every label of the graph at body-text size: 10 pt is 14 px at the 100 dpi of a notebook.
GRAPH_FONT_PT = 10.0
_SLOT_INCHES, _ROW_INCHES = 1.9, 1.2  # room for a box and, between rows, an edge label
_LABEL_BOX = {"boxstyle": "round,pad=0.15", "fc": "w", "ec": "none", "alpha": 0.9}


def _graph_edges(order) -> list[tuple[object, object, list]]:
    """``(parent, child, local derivatives)``: one edge per pair (``x * x`` has two locals)."""
    edges = []
    for child in order:
        by_parent: dict[int, list] = {}
        for parent, local in _parents(child):
            by_parent.setdefault(id(parent), [parent]).append(local)
        edges += [(parent, child, locals_) for parent, *locals_ in by_parent.values()]
    return edges


def _graph_positions(order, depth, edges) -> tuple[dict, int, int]:
    """Where each node and each *lane* sits: ``{key: (x, y)}``, the widest row, the row count.

    Keys: ``("node", id(node))`` and ``("lane", edge index, depth)``. An edge that skips rows
    gets a lane (an empty slot) in every row it crosses, so that it runs between the boxes, not
    behind them. Row ``d`` is at ``y = -d``; its items are ordered by the mean position of their
    predecessors in the row above (barycentre ordering: few crossings) and centred on ``x = 0``.
    """
    rows: dict[int, list[tuple]] = {}
    predecessors: dict[tuple, list[tuple]] = {}
    for node in order:
        key = ("node", id(node))
        rows.setdefault(depth[id(node)], []).append(key)
        predecessors[key] = []
    for k, (parent, child, _) in enumerate(edges):
        above = ("node", id(parent))
        for d in range(depth[id(parent)] + 1, depth[id(child)]):
            lane = ("lane", k, d)
            rows[d].append(lane)
            predecessors[lane] = [above]
            above = lane
        predecessors[("node", id(child))].append(above)
    position: dict[tuple, tuple[float, float]] = {}
    for d in sorted(rows):
        items = rows[d]
        if d > 0:
            items.sort(key=lambda item: float(np.mean([position[p][0] for p in predecessors[item]]))
                       if predecessors[item] else 0.0)
        for i, item in enumerate(items):
            position[item] = (i - (len(items) - 1) / 2, -float(d))
    return position, max(len(items) for items in rows.values()), len(rows)


def draw_graph(var, *, max_nodes: int = 150, ax=None,
               title: str = "Computational graph: value and grad (adjoint) of each node") -> Figure:
    """Draw the expression graph ending at a scalar reverse-mode variable ``var``.

    Duck-typed: each node needs ``.value``, ``.grad`` (``None`` before ``backward``), ``.op``
    (``""`` for an input) and ``.parents``, a tuple of ``(parent, local_derivative)`` pairs;
    ``.label`` is used when present. One row per topological depth, inputs at the top and
    ``var`` at the bottom; each edge ``parent -> child`` is labelled with the local derivative
    d child / d parent (``a + b`` when the parent is used twice, as in ``x * x``: the adjoint
    adds both). An edge that skips rows runs through an empty lane of each row it crosses, so
    no edge passes behind a box. Nodes without a label are named ``v1, v2, ...`` in evaluation
    (topological) order. All text is :data:`GRAPH_FONT_PT` points (body-text size).
    """
    order, depth = graph_layers(var)
    if len(order) > max_nodes:
        raise ValueError(f"the graph has {len(order)} nodes, more than max_nodes={max_nodes} "
                         "that can be read in one picture")
    edges = _graph_edges(order)
    position, widest, n_rows = _graph_positions(order, depth, edges)
    made_here = ax is None
    fig, ax = _figure_and_axes(ax, (max(6.0, 1.2 + _SLOT_INCHES * widest), 1.6 + _ROW_INCHES * n_rows))
    font = GRAPH_FONT_PT
    boxes = {}
    for number, node in enumerate(order, start=1):
        # Unlabelled nodes are named v1, v2, ... in evaluation order, as in an evaluation trace.
        op, label = getattr(node, "op", "") or "", getattr(node, "label", None) or f"v{number}"
        kind = "output" if node is var else ("operation" if _parents(node) else "input")
        head = f"{label} = {op}" if op else label
        text = f"{head}\nvalue {_number(node.value)}\ngrad {_number(getattr(node, 'grad', None))}"
        fill, edge, box, width = _NODE_STYLES[kind]
        boxes[id(node)] = ax.text(*position[("node", id(node))], text, ha="center", va="center",
                                  fontsize=font, zorder=3, family="monospace",
                                  gid=f"graph-node-{number - 1}",
                                  bbox={"boxstyle": box, "fc": fill, "ec": edge, "lw": width})
    ax.set_xlim(-widest / 2 - 0.05, widest / 2 + 0.05)
    ax.set_ylim(-(n_rows - 1) - 0.55, 0.55)
    fig.canvas.draw()  # sizes the boxes around the texts, so that edges can end at them
    renderer = fig.canvas.get_renderer()
    to_data = ax.transData.inverted()
    half_height = {}  # of the boxes of each row, in data units
    for node in order:
        extent = to_data.transform(boxes[id(node)].get_bbox_patch().get_window_extent(renderer)
                                   .get_points())
        d = depth[id(node)]
        half_height[d] = max(half_height.get(d, 0.0), (extent[1, 1] - extent[0, 1]) / 2)
    index = {id(node): i for i, node in enumerate(order)}
    paths = []
    for k, (parent, child, _) in enumerate(edges):
        (xp, yp), (xc, yc) = position[("node", id(parent))], position[("node", id(child))]
        vertices = [(xp, yp - half_height[depth[id(parent)]])]
        for d in range(depth[id(parent)] + 1, depth[id(child)]):  # straight down each lane
            x_lane, y_lane = position[("lane", k, d)]
            vertices += [(x_lane, y_lane + half_height.get(d, 0.3)),
                         (x_lane, y_lane - half_height.get(d, 0.3))]
        vertices.append((xc, yc + half_height[depth[id(child)]]))
        paths.append(vertices)
        ax.add_patch(FancyArrowPatch(path=MplPath(vertices), arrowstyle="-|>", mutation_scale=14,
                                     color="0.3", linewidth=1.1, zorder=1, shrinkA=0, shrinkB=0,
                                     gid=f"graph-edge-{index[id(parent)]}-{index[id(child)]}"))
    # Points along every edge (display coordinates): a label must not sit on another edge.
    steps = np.linspace(0.0, 1.0, 60)[:, None]
    samples = [np.concatenate([ax.transData.transform(np.array(a) + steps * (np.array(b) - a))
                               for a, b in zip(vertices, vertices[1:])]) for vertices in paths]
    placed = []  # label boxes (display) already placed, to keep labels apart
    for k, (parent, child, local_derivatives) in enumerate(edges):
        (x0, y0), (x1, y1) = paths[k][-2], paths[k][-1]  # the last leg, into the child
        others = np.concatenate([samples[j] for j in range(len(paths)) if j != k] or
                                [np.empty((0, 2))])
        text = " + ".join(map(_number, local_derivatives))
        for t in (0.5, 0.35, 0.65, 0.25, 0.75, 0.15, 0.85):
            label = ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), text, fontsize=font,
                            ha="center", va="center", zorder=2, color="0.1", bbox=_LABEL_BOX,
                            gid=f"graph-label-{index[id(parent)]}-{index[id(child)]}")
            box = label.get_window_extent(renderer).padded(2)
            on_edge = np.any((others[:, 0] > box.x0) & (others[:, 0] < box.x1)
                             & (others[:, 1] > box.y0) & (others[:, 1] < box.y1))
            if not on_edge and not any(box.overlaps(other) for other in placed):
                break
            label.remove()
        else:  # no free place: keep the middle (the tests report the clash)
            label = ax.text(x0 + 0.5 * (x1 - x0), y0 + 0.5 * (y1 - y0), text, fontsize=font,
                            ha="center", va="center", zorder=2, color="0.1", bbox=_LABEL_BOX,
                            gid=f"graph-label-{index[id(parent)]}-{index[id(child)]}")
            box = label.get_window_extent(renderer).padded(2)
        placed.append(box)
    ax.set_yticks([-d for d in range(n_rows)], [f"depth {d}" for d in range(n_rows)], fontsize=font)
    ax.set_xticks([])
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_ylabel("topological depth (inputs at the top)", fontsize=font)
    ax.set_xlabel("edge label: local derivative d child / d parent", fontsize=font)
    width_in_characters = int(fig.get_size_inches()[0] * 72 / (0.6 * (font + 2)))
    ax.set_title(textwrap.fill(title, max(width_in_characters, 30)), fontsize=font + 2)
    legend = [Patch(facecolor=fill, edgecolor=edge, linewidth=width, label=kind)
              for kind, (fill, edge, _, width) in _NODE_STYLES.items()]
    if made_here:  # below the picture, outside the axes
        fig.legend(handles=legend, loc="outside lower center", ncols=3, fontsize=font,
                   frameon=False)
    else:          # in a figure we do not lay out: to the right of the axes
        ax.legend(handles=legend, loc="lower left", bbox_to_anchor=(1.0, 0.0), fontsize=font,
                  frameon=False)
    return fig


def _describe_figures_in_ipython() -> None:
    """Make ``describe`` the plain-text form of every matplotlib figure shown in IPython."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the course
        return
    shell = get_ipython()
    if shell is not None:
        formatter = shell.display_formatter.formatters["text/plain"]
        formatter.for_type(Figure, lambda fig, printer, cycle: printer.text(describe(fig)))


_describe_figures_in_ipython()

__all__ = [
    "CourseFigure", "describe", "OKABE_ITO", "LINESTYLES", "MARKERS", "DIVERGING", "DEFAULT_ACTIVATIONS",
    "GRAPH_FONT_PT", "line_style", "error_vs_step", "decision_boundary", "history_series",
    "training_curves", "weight_images",
    "hidden_activations", "loss_grid", "optimizer_paths", "activation_grid", "graph_layers",
    "draw_graph",
]
