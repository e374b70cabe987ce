"""Sliders for the lectures: each explorer is a live figure plus a static picture.

Every ``*_explorer`` function builds an ipywidgets UI, shows it, and returns an object holding
``controls`` (the sliders and menus), ``figure`` (a matplotlib Figure redrawn on every change),
``png`` (the current picture) and ``widget`` (the whole UI).

How the picture survives without a kernel: the UI is displayed as one output whose MIME
bundle holds both the live widget view and a PNG of the figure for the initial values.
A live Jupyter shows the widget; GitHub, nbconvert and other readers without a kernel fall
back to the PNG. The live figure lives in an ``Output`` widget whose ``outputs`` are set
directly (no capture of print/display messages), so it also updates from slider callbacks.

The sliders are ordinary ipywidgets sliders: focus them with Tab and move them with the
arrow keys. Figures are made with ``matplotlib.figure.Figure`` (not pyplot), so nothing is
shown twice and nothing needs closing.
"""

from __future__ import annotations

import base64
import html
import io
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from mlpkit import plot
from mlpkit._checks import as_real_array, check_callable

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def figure_png(figure: Figure, dpi: int = 90) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _png_output(png: bytes, description: str) -> dict:
    """An output record (nbformat display_data) holding the PNG and a text description."""
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(png).decode("ascii"),
                     "text/plain": description}}


def _ipython():
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - ipywidgets depends on IPython
        return None
    return get_ipython()


class Explorer:
    """Controls, a readout line and a live figure, redrawn by ``draw`` on every change.

    ``draw(figure, **values)`` gets an empty Figure and the current control values (keyed as
    in ``controls``) and returns a one-line text description (shown under the controls and
    used as the text alternative of the picture).
    """

    def __init__(self, controls: Mapping[str, widgets.Widget], draw: Callable[..., str],
                 figsize: tuple[float, float] = (7.0, 4.2)):
        self.controls = dict(controls)
        self._draw = draw
        self.figure = Figure(figsize=figsize, layout="constrained")
        FigureCanvasAgg(self.figure)  # one canvas kept: its text-size cache makes redraws faster
        self.readout = widgets.HTML()
        self.output = widgets.Output()
        self.widget = widgets.VBox([widgets.HBox(list(self.controls.values())), self.readout,
                                    self.output])
        self.png = b""
        self.description = ""
        self.renders = 0
        self._shown_in: object = None
        self.refresh()
        for control in self.controls.values():
            control.observe(self._on_change, names="value")

    @property
    def values(self) -> dict:
        """Current values of the controls."""
        return {name: control.value for name, control in self.controls.items()}

    def refresh(self) -> None:
        """Redraw the figure for the current control values."""
        self.figure.clear()
        self.description = self._draw(self.figure, **self.values) or ""
        self.png = figure_png(self.figure)
        self.readout.value = html.escape(self.description)
        self.output.outputs = (_png_output(self.png, self.description),)
        self.renders += 1

    def _on_change(self, change) -> None:
        # Exceptions in a widget callback vanish into the kernel log: show them instead.
        try:
            self.refresh()
        except Exception as exc:  # reported to the reader, not hidden
            self.readout.value = f"<b>could not redraw:</b> {html.escape(repr(exc))}"

    def mimebundle(self) -> dict:
        """Widget view plus the PNG fallback for readers without a kernel."""
        bundle = self.widget._repr_mimebundle_()
        bundle["image/png"] = base64.b64encode(self.png).decode("ascii")
        bundle["text/plain"] = f"[figure] {self.description}"
        return bundle

    def show(self):
        """Display the UI (in IPython only); returns the display handle or ``None``."""
        shell = _ipython()
        if shell is None:
            return None
        from IPython.display import display

        self._shown_in = getattr(shell, "execution_count", None)
        return display(self.mimebundle(), raw=True, display_id=True)

    def _ipython_display_(self):
        # The constructor already showed the UI: a bare call in a cell must not show it twice.
        shell = _ipython()
        if shell is not None and getattr(shell, "execution_count", None) == self._shown_in:
            return
        self.show()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description})"


def _float_log_slider(description: str, value: float, low: float, high: float,
                      continuous: bool) -> widgets.FloatLogSlider:
    return widgets.FloatLogSlider(
        value=value, base=10, min=np.log10(low), max=np.log10(high), step=0.1,
        description=description, readout_format=".1e", continuous_update=continuous,
        style={"description_width": "initial"}, layout=widgets.Layout(width="420px"))


# --------------------------------------------------------------------------------------------
# Step size of finite differences and the complex step
# --------------------------------------------------------------------------------------------

STEP_FORMULAS = {
    "forward-difference": lambda f, x, h: (f(x + h) - f(x)) / h,
    "central-difference": lambda f, x, h: (f(x + h) - f(x - h)) / (2 * h),
    "complex-step": lambda f, x, h: np.imag(f(x + 1j * h)) / h,
}


def step_errors(f, exact: float, x0: float, steps) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{method: (steps, error)}`` for the formulas in :data:`STEP_FORMULAS`.

    The error is relative, ``|estimate - exact| / |exact|``, or absolute when ``exact == 0``.
    A method that fails on ``f`` (the complex step on code that refuses complex numbers) is
    left out.
    """
    steps = np.asarray(steps, dtype=float)
    scale = abs(exact) if exact != 0 else 1.0
    errors = {}
    for name, formula in STEP_FORMULAS.items():
        try:
            with np.errstate(all="ignore"):
                estimates = np.array([float(np.real(formula(f, x0, h))) for h in steps])
        except (TypeError, ValueError):
            continue
        errors[name] = (steps, np.abs(estimates - exact) / scale)
    return errors


def step_size_explorer(f, df, x0: float, *, h_range: tuple[float, float] = (1e-16, 1.0),
                       h: float = 1e-6, show: bool = True) -> Explorer:
    """Slider over the step ``h``: the V curve of forward/central/complex-step errors at ``x0``.

    ``f`` is a scalar function written with NumPy (complex-safe for the complex step); ``df``
    is its exact derivative (a function, or the number ``f'(x0)``). The current ``h`` is a
    vertical line with the three current errors marked.
    """
    check_callable(f, "f")
    x0 = float(as_real_array(x0, "x0"))
    exact = float(df(x0)) if callable(df) else float(as_real_array(df, "df"))
    grid = np.logspace(np.log10(h_range[0]), np.log10(h_range[1]), 81)
    curves = step_errors(f, exact, x0, grid)
    y_label = "relative error" if exact != 0 else "absolute error"

    def draw(figure, h):
        ax = figure.subplots()
        plot.error_vs_step(curves, ax=ax, ylabel=y_label,
                           title=f"Derivative at x0 = {x0:g}: error against step h")
        ax.axvline(h, color="k", linewidth=1)
        now = step_errors(f, exact, x0, [h])
        parts = [f"h = {h:.1e}"]
        for i, (name, (_, error)) in enumerate(now.items()):
            shown = max(error[0], plot.EPS / 10)
            ax.plot(h, shown, marker=plot.MARKERS[i], markersize=13 - 3 * i,  # all visible
                    color=plot.OKABE_ITO[i],
                    markeredgecolor="k", linestyle="none", zorder=5)
            parts.append(f"{name}: {error[0]:.1e}")
        return " | ".join(parts)

    slider = _float_log_slider("step h", h, *h_range, continuous=False)
    explorer = Explorer({"h": slider}, draw, figsize=(7.0, 4.4))
    if show:
        explorer.show()
    return explorer


# --------------------------------------------------------------------------------------------
# Universal approximation with a sum of shifted ReLUs
# --------------------------------------------------------------------------------------------


def fit_relu_sum(x, y, n_units: int):
    r"""Least-squares fit :math:`\hat y(x) = c + \sum_j a_j \max(0, x - k_j)`.

    One hidden layer of ``n_units`` ReLUs with input weight 1 and fixed, evenly spaced knots
    ``k_j`` starting at ``min(x)``; only the output weights ``a`` and bias ``c`` are fitted
    (a linear least-squares problem). The result is the best continuous piecewise-linear
    function with those breakpoints. Returns ``(fitted values, knots, a, c)``.
    """
    x = as_real_array(x, "x").ravel()
    y = as_real_array(y, "y").ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y differ in length: {x.size} vs {y.size}")
    if int(n_units) < 1:
        raise ValueError(f"n_units must be >= 1, got {n_units}")
    knots = x.min() + (x.max() - x.min()) * np.arange(int(n_units)) / int(n_units)
    hidden = np.maximum(0.0, x[:, None] - knots[None, :])  # (n_points, n_units)
    design = np.column_stack([np.ones_like(x), hidden])
    coefficients, *_ = np.linalg.lstsq(design, y, rcond=None)
    return design @ coefficients, knots, coefficients[1:], coefficients[0]


def universal_approximation_explorer(target, x_range: tuple[float, float] = (-3.0, 3.0), *,
                                     max_units: int = 40, units: int = 4,
                                     n_points: int = 401, show: bool = True) -> Explorer:
    """Slider for the number of hidden ReLU units fitting ``target`` on ``x_range``.

    ``target`` is a function of one variable (vectorised or not). Top: target and fit, with
    the knots marked; bottom: the error ``target - fit``. See :func:`fit_relu_sum`.
    """
    x = np.linspace(*x_range, n_points)
    y = plot._evaluate(target, x, "target")

    def draw(figure, units):
        fitted, knots, _, _ = fit_relu_sum(x, y, units)
        error = y - fitted
        top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1])
        top.plot(x, y, color="k", linewidth=2.5, label="target")
        top.plot(x, fitted, color=plot.OKABE_ITO[1], linestyle="--", linewidth=2,
                 label=f"{units} ReLU units")
        top.plot(knots, np.interp(knots, x, fitted), linestyle="none", marker="|",
                 markersize=12, color=plot.OKABE_ITO[0], label="knots (unit switches on)")
        top.set_ylabel("y")
        top.set_title(f"Sum of {units} shifted ReLUs fitted by least squares")
        top.legend(fontsize=9, loc="best")
        bottom.plot(x, error, color=plot.OKABE_ITO[2], linestyle="-")
        bottom.axhline(0, color="0.6", linewidth=0.8)
        bottom.set_xlabel("x")
        bottom.set_ylabel("error")
        max_error = np.max(np.abs(error))
        return (f"{units} hidden ReLU units: max |error| = {max_error:.2e}, "
                f"RMS error = {np.sqrt(np.mean(error ** 2)):.2e}")

    slider = widgets.IntSlider(value=units, min=1, max=max_units, description="hidden units",
                               continuous_update=False, style={"description_width": "initial"})
    explorer = Explorer({"units": slider}, draw, figsize=(7.0, 4.8))
    if show:
        explorer.show()
    return explorer


# --------------------------------------------------------------------------------------------
# Optimisers on a 2-D loss surface
# --------------------------------------------------------------------------------------------


class _Point:
    """A point of a 2-D loss surface, shaped like a layer's parameter so that the library's own
    optimisers (:mod:`mlpkit.nn.optim`) can move it: ``value``, ``grad``, ``name``."""

    name, is_weight = "w", False

    def __init__(self):
        self.value, self.grad = None, None


def classic_optimizers(momentum: float = 0.9, rho: float = 0.9, beta1: float = 0.9,
                       beta2: float = 0.999, eps: float = 1e-8) -> dict[str, Callable]:
    r"""``{name: make_step}``: ``make_step(lr)`` returns a fresh ``step(w, dL_dw) -> new w``.

    Each step is one ``step()`` of the library's optimiser (:mod:`mlpkit.nn.optim`, whose
    docstrings give the update rules): gradient descent, momentum, Nesterov, RMSProp and Adam
    (Kingma and Ba 2015), each with its own state (velocity, averages) for the path it draws.
    """
    from mlpkit.nn import optim

    def maker(cls, **options):
        def make_step(lr):
            point, optimizer = _Point(), None

            def step(w, g):
                nonlocal optimizer
                point.value = np.array(w, dtype=float)
                point.grad = np.asarray(g, dtype=float)
                if optimizer is None:  # the state takes the point's shape on the first step
                    optimizer = cls([point], lr=lr, **options)
                optimizer.step()
                return point.value

            return step

        return make_step

    return {"gradient descent": maker(optim.GradientDescent),
            "momentum": maker(optim.Momentum, momentum=momentum),
            "Nesterov": maker(optim.Nesterov, momentum=momentum),
            "RMSProp": maker(optim.RMSProp, rho=rho, eps=eps),
            "Adam": maker(optim.Adam, beta1=beta1, beta2=beta2, eps=eps)}


def optimizer_path(grad, start, step: Callable, n_steps: int, limit: float = 1e6) -> np.ndarray:
    """Iterates ``(k, 2)`` of ``w <- step(w, grad(w))`` from ``start``.

    Stops early (keeping the last finite point) when an iterate is not finite or leaves
    ``|w| <= limit``: the path has diverged.
    """
    w = as_real_array(start, "start").ravel()
    path = [w]
    with np.errstate(all="ignore"):
        for _ in range(int(n_steps)):
            w = np.asarray(step(w, np.asarray(grad(w), dtype=float)), dtype=float)
            if not np.all(np.isfinite(w)) or np.max(np.abs(w)) > limit:
                break
            path.append(w)
    return np.array(path)


def optimizer_explorer(loss, grad, start, optimizers: Mapping[str, Callable] | None = None,
                       *, lr: float = 0.01, lr_range: tuple[float, float] = (1e-4, 1.0),
                       steps: int = 100, xlim=None, ylim=None, minimum=None,
                       show: bool = True) -> Explorer:
    """Learning-rate slider, optimiser menu and step-count slider; the path on the contours.

    ``loss(w)`` and ``grad(w)`` take a point ``w`` of shape ``(2,)``. ``optimizers`` maps a
    name to ``make_step(lr) -> step(w, dL_dw) -> new w`` (default
    :func:`classic_optimizers`); wrap any other optimiser in such a function. The plotting box
    defaults to a square around ``start`` that contains the origin (and ``minimum``).
    """
    check_callable(loss, "loss")
    check_callable(grad, "grad")
    start = as_real_array(start, "start").ravel()
    optimizers = dict(optimizers or classic_optimizers())
    if not optimizers:
        raise ValueError("optimizers must name at least one optimiser")
    corners = [start, np.zeros(2)] + ([np.asarray(minimum, float)] if minimum is not None else [])
    lo, hi = np.min(corners, axis=0), np.max(corners, axis=0)
    pad = 0.3 * max(float(np.max(hi - lo)), 1.0)
    xlim = xlim or (lo[0] - pad, hi[0] + pad)
    ylim = ylim or (lo[1] - pad, hi[1] + pad)
    surface = plot.loss_grid(loss, xlim, ylim)

    def draw(figure, optimizer, lr, steps):
        path = optimizer_path(grad, start, optimizers[optimizer](lr), steps)
        ax = figure.subplots()
        plot.optimizer_paths(loss, {optimizer: path}, surface=surface, minimum=minimum, ax=ax,
                             title=f"{optimizer}, learning rate {lr:.1e}")
        with np.errstate(all="ignore"):
            final = float(loss(path[-1]))
        status = "diverged, stopped" if len(path) - 1 < steps else "done"
        return (f"{optimizer}, lr = {lr:.1e}: {len(path) - 1} of {steps} steps ({status}), "
                f"final loss {final:.3g} at w = ({path[-1][0]:.3g}, {path[-1][1]:.3g})")

    controls = {
        "optimizer": widgets.Dropdown(options=list(optimizers), description="optimiser"),
        "lr": _float_log_slider("learning rate", lr, *lr_range, continuous=False),
        "steps": widgets.IntSlider(value=steps, min=1, max=max(steps, 500), description="steps",
                                   continuous_update=False),
    }
    explorer = Explorer(controls, draw, figsize=(6.4, 5.0))
    if show:
        explorer.show()
    return explorer


# --------------------------------------------------------------------------------------------
# Live training curve
# --------------------------------------------------------------------------------------------


class TrainingView(Explorer):
    """Loss (and metric) against the epoch, redrawn as ``update(epoch, loss, metric)`` arrives.

    Redraws at most every ``min_interval`` seconds (PNG rendering is the slow part) and always
    in :meth:`finish`, which also replaces the static picture with the final curves.
    """

    def __init__(self, metric_name: str = "metric", total_epochs: int | None = None,
                 log_loss: bool = True, min_interval: float = 0.25):
        self.metric_name = metric_name
        self.log_loss = log_loss
        self.min_interval = float(min_interval)
        self.epochs: list[float] = []
        self.losses: list[float] = []
        self.metrics: list[float] = []
        self.result = None
        self._handle = None
        self._last_refresh = -np.inf
        self.progress = widgets.IntProgress(value=0, min=0, max=total_epochs or 1,
                                            description="epochs",
                                            layout={"visibility": "visible" if total_epochs
                                                    else "hidden"})
        super().__init__({}, self._draw_curves, figsize=(6.4, 3.8))
        self.widget.children = (self.progress, *self.widget.children[1:])

    def _draw_curves(self, figure) -> str:
        ax = figure.subplots()
        if not self.epochs:
            ax.set(xlabel="epoch", ylabel="loss", title="Training: waiting for the first epoch")
            return "no epoch yet"
        history = {"epoch": self.epochs, "loss": self.losses}
        if any(m is not None for m in self.metrics):
            history[self.metric_name] = self.metrics
        plot.training_curves(history, log_loss=self.log_loss, ax=ax,
                             title=f"Training: epoch {self.epochs[-1]:g}")
        text = f"epoch {self.epochs[-1]:g}: loss {self.losses[-1]:.4g}"
        if self.metrics[-1] is not None:
            text += f", {self.metric_name} {self.metrics[-1]:.4g}"
        return text

    def update(self, epoch, loss, metric=None) -> None:
        """Record one epoch; usable as a training-loop callback."""
        self.epochs.append(float(epoch))
        self.losses.append(float(loss))
        self.metrics.append(None if metric is None else float(metric))
        self.progress.value = min(len(self.epochs), self.progress.max)
        if time.monotonic() - self._last_refresh >= self.min_interval:
            self.refresh()
            self._last_refresh = time.monotonic()

    def finish(self) -> None:
        """Draw the final curves, also into the static picture of the notebook."""
        self.refresh()
        if self._handle is not None:
            self._handle.update(self.mimebundle(), raw=True)

    def show(self):
        self._handle = super().show()
        return self._handle


def training_view(source: Iterable | Callable | None = None, *, metric_name: str = "metric",
                  total_epochs: int | None = None, log_loss: bool = True,
                  min_interval: float = 0.25, show: bool = True) -> TrainingView:
    """A live loss curve, fed in one of three ways.

    - ``source`` an iterable (e.g. a generator) of ``(epoch, loss, metric)`` tuples (``metric``
      may be ``None``): consumed here, one redraw per epoch (throttled);
    - ``source`` a function taking a callback, e.g.
      ``lambda callback: model.fit(X, y, callback=callback)``: called with
      ``view.update``; its return value is kept in ``view.result``;
    - ``source=None``: call ``view.update(epoch, loss, metric)`` yourself, then
      ``view.finish()``.
    """
    view = TrainingView(metric_name, total_epochs, log_loss, min_interval)
    if show:
        view.show()
    if source is None:
        return view
    if isinstance(source, Iterable):
        for record in source:
            if not (isinstance(record, Sequence) and len(record) in (2, 3)):
                raise TypeError("each item must be (epoch, loss) or (epoch, loss, metric), "
                                f"got {record!r:.60}")
            view.update(*record)
    elif callable(source):
        view.result = source(view.update)
    else:
        raise TypeError("source must be an iterable of (epoch, loss, metric) or a function "
                        f"taking a callback, got {type(source).__name__}")
    view.finish()
    return view


__all__ = [
    "Explorer", "TrainingView", "STEP_FORMULAS", "figure_png", "step_errors",
    "step_size_explorer", "fit_relu_sum", "universal_approximation_explorer",
    "classic_optimizers", "optimizer_path", "optimizer_explorer", "training_view",
]
