"""The course's pictures, one function each, every one returning a matplotlib ``Figure``.

Each function takes plain NumPy arrays, dicts and callables (never an object of another mlpkit
module), draws into ``ax`` when given one, and otherwise makes a new figure with pyplot.
In a notebook the figure shows once, whether the call ends the cell or is assigned
(see :class:`CourseFigure`).

Conventions: every figure has a title and labelled axes; lines use the Okabe-Ito palette
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
from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colors as mcolors
from matplotlib.figure import Figure
from matplotlib.patches import Patch

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
        titles = [self._suptitle.get_text() if self._suptitle else ""]
        titles += [ax.get_title() for ax in self.axes]
        display({"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                 "text/plain": f"<Figure: {next((t for t in titles if t), 'untitled')}>"},
                raw=True)
        plt.close(self)


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
                textcoords="offset points", fontsize=8, color="0.3")
    # Reference lines over the three largest decades of h, above the data so they do not hide it.
    h_max = h_all.max()
    anchor = positive.max() if positive.size else 1.0
    h_ref = np.geomspace(h_max / 1e3, h_max, 20)
    for p, dash in zip(slopes, ((0, (2, 2)), (0, (6, 3)), (0, (4, 1, 1, 1)))):
        ref = 3 * anchor * (h_ref / h_max) ** p
        ax.loglog(h_ref, ref, color="0.55", linestyle=dash, linewidth=1)
        ax.annotate(rf"$\propto h^{{{p:g}}}$", (h_ref[0], ref[0]), xytext=(-4, 0),
                    textcoords="offset points", ha="right", va="center", fontsize=8,
                    color="0.3")
    ax.set_ylim(y_low, y_high)
    ax.set_xlabel("step size h")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
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
    ax.legend(loc="best", fontsize=8, framealpha=0.9)
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
              ncols=min(len(handles), 4), fontsize=8, frameon=False)
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
                  [f"+{c}" for c in range(min(ncols, n))], fontsize=7)
    ax.set_yticks([r * (h + 1) + (h - 1) / 2 for r in range(math.ceil(n / ncols))],
                  [str(r * ncols) for r in range(math.ceil(n / ncols))], fontsize=7)
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
        side.tick_params(labelsize=7)
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
    fig, ax = _figure_and_axes(ax, (6.0, 4.8))
    levels = _contour_levels(Z, levels)
    # One colour per band, whatever the spacing: log-spaced levels stay readable.
    norm = mcolors.BoundaryNorm(levels, ncolors=256, extend="both")
    filled = ax.contourf(xs, ys, Z, levels=levels, cmap="cividis", norm=norm, alpha=0.55,
                         extend="both")
    ax.contour(xs, ys, Z, levels=levels, colors="0.35", linewidths=0.4)
    fig.colorbar(filled, ax=ax, label="loss", shrink=0.85, ticks=levels[::3], format="%.2g")
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
    ax.legend(loc="best", fontsize=8, framealpha=0.9)
    return fig


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
        ax.legend(fontsize=7, loc="best")
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

    Walks ``.parents`` iteratively (no recursion limit). Depth 0: inputs (no parents);
    otherwise 1 + the largest depth of a parent, so every edge points to the right.
    """
    order, visited, stack = [], set(), [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent, _ in reversed(_parents(node)):
            if id(parent) not in visited:
                stack.append((parent, False))
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


def draw_graph(var, *, max_nodes: int = 150, ax=None,
               title: str = "Computational graph: value and grad (adjoint) of each node") -> Figure:
    """Draw the expression graph ending at a scalar reverse-mode variable ``var``.

    Duck-typed: each node needs ``.value``, ``.grad`` (``None`` before ``backward``), ``.op``
    (``""`` for an input) and ``.parents``, a tuple of ``(parent, local_derivative)`` pairs;
    ``.label`` is used when present. Layers by topological depth (inputs left, ``var`` right);
    each edge ``parent -> child`` is labelled with the local derivative d child / d parent
    (``a + b`` when the parent is used twice, as in ``x * x``: the adjoint adds both).
    Nodes without a label are named ``v1, v2, ...`` in evaluation (topological) order.
    """
    order, depth = graph_layers(var)
    if len(order) > max_nodes:
        raise ValueError(f"the graph has {len(order)} nodes, more than max_nodes={max_nodes} "
                         "that can be read in one picture")
    layers: dict[int, list] = {}
    for node in order:
        layers.setdefault(depth[id(node)], []).append(node)
    position: dict[int, tuple[float, float]] = {}
    for d in sorted(layers):
        nodes = layers[d]
        if d > 0:  # barycentre ordering: fewer crossing edges
            nodes.sort(key=lambda v: -np.mean([position[id(p)][1] for p, _ in _parents(v)]))
        for i, node in enumerate(nodes):
            position[id(node)] = (float(d), (len(nodes) - 1) / 2 - i)
    widest = max(len(nodes) for nodes in layers.values())
    fig, ax = _figure_and_axes(ax, (1.0 + 2.4 * len(layers), 1.3 + 1.15 * widest))
    boxes = {}
    for number, node in enumerate(order, start=1):
        # Unlabelled nodes are named v1, v2, ... in evaluation order, as in an evaluation trace.
        op, label = getattr(node, "op", "") or "", getattr(node, "label", None) or f"v{number}"
        kind = "output" if node is var else ("operation" if _parents(node) else "input")
        head = f"{label} = {op}" if op else label
        text = f"{head}\nvalue {_number(node.value)}\ngrad {_number(getattr(node, 'grad', None))}"
        fill, edge, box, width = _NODE_STYLES[kind]
        boxes[id(node)] = ax.text(*position[id(node)], text, ha="center", va="center",
                                  fontsize=8, zorder=3, family="monospace",
                                  bbox={"boxstyle": box, "fc": fill, "ec": edge, "lw": width})
    for child in order:
        locals_by_parent: dict[int, list] = {}  # x * x: one arrow, both local derivatives
        for parent, local in _parents(child):
            locals_by_parent.setdefault(id(parent), [parent]).append(local)
        for parent, *local_derivatives in locals_by_parent.values():
            ax.annotate("", xy=(0.0, 0.5), xycoords=boxes[id(child)], xytext=(1.0, 0.5),
                        textcoords=boxes[id(parent)], zorder=1,
                        arrowprops={"arrowstyle": "-|>", "color": "0.3", "shrinkA": 5,
                                    "shrinkB": 5})
            (x0, y0), (x1, y1) = position[id(parent)], position[id(child)]
            ax.text((x0 + x1) / 2, (y0 + y1) / 2, " + ".join(map(_number, local_derivatives)),
                    fontsize=7, ha="center", va="center", zorder=2, color="0.15",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "w", "ec": "none", "alpha": 0.9})
    ax.set_xlim(-0.6, max(layers) + 0.6)
    ax.set_ylim(-widest / 2 - 0.1, widest / 2 + 0.1)
    ax.set_xticks(sorted(layers), [f"depth {d}" for d in sorted(layers)], fontsize=8)
    ax.set_yticks([])
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("topological depth (inputs left, output right); "
                  "edge label: local derivative d child / d parent")
    ax.set_ylabel("nodes at each depth")
    ax.set_title(title)
    legend = [Patch(facecolor=fill, edgecolor=edge, linewidth=width, label=kind)
              for kind, (fill, edge, _, width) in _NODE_STYLES.items()]
    ax.legend(handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=3,
              fontsize=7, frameon=False)
    return fig


__all__ = [
    "CourseFigure", "OKABE_ITO", "LINESTYLES", "MARKERS", "DIVERGING", "DEFAULT_ACTIVATIONS",
    "line_style", "error_vs_step", "decision_boundary", "history_series", "training_curves", "weight_images",
    "hidden_activations", "loss_grid", "optimizer_paths", "activation_grid", "graph_layers",
    "draw_graph",
]
