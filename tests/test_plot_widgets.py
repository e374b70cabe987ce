"""mlpkit.plot and mlpkit.widgets: every picture draws what it is given, every slider redraws."""

import dataclasses
import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import figure_audit  # noqa: E402
from mlpkit import plot, widgets  # noqa: E402

pytestmark = pytest.mark.filterwarnings("error")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def assert_labelled(fig):
    """A title somewhere, and x and y labels on every panel that is not a colorbar."""
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes] + [fig._suptitle.get_text() if fig._suptitle
                                                      else ""]
    assert any(titles), "figure has no title"
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    for ax in panels:
        assert ax.get_ylabel(), f"panel {ax.get_title()!r} has no y label"
        twins = [o for o in panels if o is not ax and ax.get_shared_x_axes().joined(ax, o)]
        assert ax.get_xlabel() or any(o.get_xlabel() for o in twins), "panel has no x label"


class Node:
    """Stand-in for mlpkit.reverse.Var: only the duck-typed attributes draw_graph reads."""

    def __init__(self, value, op="", parents=(), label=None, grad=None):
        self.value, self.op, self.parents, self.label, self.grad = value, op, parents, label, grad


# ------------------------------------------------------------------------------ plot


def test_error_vs_step_draws_each_method_zeros_slopes_and_eps():
    h = np.logspace(-12, 0, 13)
    errors = {"forward-difference": (h, h / 2), "complex-step": (h, np.where(h < 1e-6, 0.0, h**2))}
    fig = plot.error_vs_step(errors)
    assert_labelled(fig)
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    by_label = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(by_label["forward-difference"].get_ydata(), h / 2)
    complex_line = by_label["complex-step"].get_ydata()
    np.testing.assert_allclose(complex_line[h < 1e-6], plot.EPS / 10)  # zeros drawn below eps
    styles = {name: line.get_linestyle() for name, line in by_label.items()}
    assert styles["forward-difference"] != styles["complex-step"]
    slopes = sorted(
        round(np.polyfit(np.log10(line.get_xdata()), np.log10(line.get_ydata()), 1)[0], 6)
        for line in ax.get_lines() if line.get_color() == "0.55")
    assert slopes == [1.0, 2.0]
    assert any(np.allclose(line.get_ydata(), plot.EPS) for line in ax.get_lines())


def test_error_vs_step_rejects_bad_input():
    with pytest.raises(TypeError, match="dict"):
        plot.error_vs_step([1, 2])
    with pytest.raises(ValueError, match="length"):
        plot.error_vs_step({"a": (np.ones(3), np.ones(2))})
    with pytest.raises(ValueError, match="> 0"):
        plot.error_vs_step({"a": (np.array([0.0, 1.0]), np.ones(2))})


@pytest.mark.parametrize("kind", ["labels", "probability", "class scores"])
def test_decision_boundary_accepts_labels_probabilities_and_scores(kind):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = (X[:, 0] > 0).astype(int)
    seen_shapes = []

    def predict(points):
        seen_shapes.append(points.shape)
        p = 1 / (1 + np.exp(-4 * points[:, 0]))
        return {"labels": (p > 0.5).astype(int), "probability": p,
                "class scores": np.column_stack([1 - p, p])}[kind]

    fig = plot.decision_boundary(predict, X, y, resolution=30)
    assert_labelled(fig)
    assert seen_shapes == [(900, 2)]
    has_colorbar = any(ax.get_label() == "<colorbar>" for ax in fig.axes)
    assert has_colorbar == (kind == "probability")
    assert {t.get_text() for t in fig.axes[0].get_legend().get_texts()} == {"class 0", "class 1"}


def test_decision_boundary_rejects_bad_shapes():
    X, y = np.zeros((4, 3)), np.zeros(4)
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        plot.decision_boundary(lambda p: p[:, 0], X, y)
    with pytest.raises(ValueError, match="rows"):
        plot.decision_boundary(lambda p: p[:3, 0], np.zeros((4, 2)), y, resolution=5)


@dataclasses.dataclass
class History:
    loss: list
    accuracy: list


class PlainHistory:
    def __init__(self):
        self.loss, self.accuracy, self._private, self.name = [1.0, 0.5], [0.2, 0.9], [7], "run"


@pytest.mark.parametrize("history", [
    {"loss": [1.0, 0.5], "accuracy": [0.2, 0.9]},
    [{"loss": 1.0, "accuracy": 0.2}, {"loss": 0.5, "accuracy": 0.9}],
    History([1.0, 0.5], [0.2, 0.9]),
    PlainHistory(),
])
def test_history_series_reads_dicts_records_and_objects(history):
    series = plot.history_series(history)
    assert set(series) == {"loss", "accuracy"}
    np.testing.assert_array_equal(series["loss"], [1.0, 0.5])
    np.testing.assert_array_equal(series["accuracy"], [0.2, 0.9])


def test_training_curves_puts_loss_left_log_and_metric_right():
    fig = plot.training_curves({"epoch": [0, 1, 2], "loss": [1.0, 0.4, 0.1],
                                "val_loss": [1.1, 0.6, 0.3], "accuracy": [0.5, 0.8, 0.9]})
    assert_labelled(fig)
    left, right = fig.axes
    assert left.get_yscale() == "log" and left.get_ylabel() == "loss"
    assert right.get_ylabel() == "accuracy"
    assert [line.get_label() for line in left.get_lines()] == ["loss", "val_loss"]
    np.testing.assert_array_equal(left.get_lines()[0].get_xdata(), [0, 1, 2])
    np.testing.assert_array_equal(right.get_lines()[0].get_ydata(), [0.5, 0.8, 0.9])
    with pytest.raises(ValueError, match="no per-epoch series"):
        plot.training_curves({"name": "run"})
    with pytest.raises(TypeError, match="history"):
        plot.training_curves(3)


def test_weight_images_tiles_columns_with_centred_diverging_map():
    rng = np.random.default_rng(1)
    W = rng.normal(size=(64, 5))
    fig = plot.weight_images(W, (8, 8))
    assert_labelled(fig)
    image = fig.axes[0].get_images()[0]
    mosaic = image.get_array()
    np.testing.assert_array_equal(mosaic[:8, :8], W[:, 0].reshape(8, 8))
    np.testing.assert_array_equal(mosaic[:8, 9:17], W[:, 1].reshape(8, 8))
    np.testing.assert_array_equal(mosaic[9:17, :8], W[:, 3].reshape(8, 8))  # 3 per row
    low, high = image.get_clim()
    assert low == -high == -np.abs(W).max()
    assert image.get_cmap().name.startswith(plot.DIVERGING)
    per_unit = plot.weight_images(W, (8, 8), shared_scale=False).axes[0].get_images()[0]
    assert np.nanmax(np.abs(per_unit.get_array()[:8, :8])) == 1.0
    with pytest.raises(ValueError, match=r"W\.T"):
        plot.weight_images(W.T, (8, 8))


def test_hidden_activations_with_inputs_and_scores():
    rng = np.random.default_rng(2)
    features = np.tanh(rng.normal(size=(3, 7)))
    fig = plot.hidden_activations(features, inputs=rng.random((3, 16)), image_shape=(4, 4),
                                  scores=rng.normal(size=(3, 10)), labels=["a", "b", "c"])
    assert_labelled(fig)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 3
    np.testing.assert_array_equal(panels[1].get_images()[0].get_array(), features)
    assert [t.get_text() for t in panels[1].get_yticklabels()] == ["a", "b", "c"]
    _, ax = plt.subplots()
    assert_labelled(plot.hidden_activations(features, ax=ax))
    with pytest.raises(ValueError, match="ax=None"):
        plot.hidden_activations(features, scores=np.ones((3, 2)), ax=ax)


def test_loss_grid_same_values_vectorised_or_point_by_point():
    quadratic = lambda w: w[0] ** 2 + 10 * w[1] ** 2
    with_matrix = lambda w: float(w @ np.diag([1.0, 10.0]) @ w)  # fails on a grid, then loops
    xs, ys, Z = plot.loss_grid(quadratic, (-1, 1), (-2, 2), resolution=9)
    _, _, Z_loop = plot.loss_grid(with_matrix, (-1, 1), (-2, 2), resolution=9)
    assert Z.shape == (10, 9)
    np.testing.assert_allclose(Z, Z_loop, rtol=1e-14)
    assert Z[3, 5] == pytest.approx(quadratic(np.array([xs[5], ys[3]])))


def test_optimizer_paths_drops_points_after_divergence():
    loss = lambda w: w[0] ** 2 + w[1] ** 2
    good = np.array([[1.0, 1.0], [0.5, 0.5], [0.0, 0.0]])
    bad = np.array([[1.0, -1.0], [2.0, -2.0], [np.inf, np.nan], [1.0, 1.0]])
    fig = plot.optimizer_paths(loss, {"gd": good, "too fast": bad}, minimum=(0, 0))
    assert_labelled(fig)
    lines = {line.get_label().split(":")[0]: line for line in fig.axes[0].get_lines()}
    np.testing.assert_array_equal(lines["gd"].get_xydata(), good)
    np.testing.assert_array_equal(lines["too fast"].get_xydata(), bad[:2])
    assert lines["gd"].get_color() != lines["too fast"].get_color()
    assert lines["gd"].get_marker() != lines["too fast"].get_marker()
    with pytest.raises(ValueError, match=r"\(k, 2\)"):
        plot.optimizer_paths(loss, {"flat": np.zeros(3)})


def test_activation_grid_defaults_have_correct_derivatives():
    x = np.linspace(-3, 3, 13) + 0.05  # away from the kinks at 0
    for name, (f, df) in plot.DEFAULT_ACTIVATIONS.items():
        h = 1e-6
        np.testing.assert_allclose(df(x), (f(x + h) - f(x - h)) / (2 * h), atol=1e-8,
                                   err_msg=name)
    fig = plot.activation_grid()
    assert_labelled(fig)
    assert sum(ax.get_visible() for ax in fig.axes) == len(plot.DEFAULT_ACTIVATIONS)
    only_f = plot.activation_grid({"square": lambda x: x**2}, x=np.linspace(-1, 1, 201))
    derivative = only_f.axes[0].get_lines()[-1]
    assert "numerical" in derivative.get_label()
    np.testing.assert_allclose(derivative.get_ydata()[1:-1], 2 * np.linspace(-1, 1, 201)[1:-1],
                               atol=1e-12)


def small_graph():
    """y = x1 * x2 + sin(x1) + x1 * x1 at x1 = 2, x2 = 3, after backward."""
    x1, x2 = Node(2.0, label="x1", grad=3 + math.cos(2) + 4), Node(3.0, label="x2", grad=2.0)
    product = Node(6.0, "*", ((x1, 3.0), (x2, 2.0)), grad=1.0)
    sine = Node(math.sin(2), "sin", ((x1, math.cos(2)),), grad=1.0)
    square = Node(4.0, "*", ((x1, 2.0), (x1, 2.0)), grad=1.0)
    y = Node(10 + math.sin(2), "+", ((product, 1.0), (sine, 1.0), (square, 1.0)), label="y",
             grad=1.0)
    return y, (x1, x2, product, sine, square)


def test_draw_graph_layers_boxes_and_edge_labels():
    y, (x1, x2, product, sine, square) = small_graph()
    order, depth = plot.graph_layers(y)
    assert order[-1] is y and len(order) == 6
    assert [depth[id(n)] for n in (x1, x2, product, sine, square, y)] == [0, 0, 1, 1, 1, 2]
    fig = plot.draw_graph(y)
    fig.canvas.draw()  # arrows are anchored to the boxes: resolved only when drawn
    assert_labelled(fig)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "v4 = sin\nvalue 0.9093\ngrad 1" in texts  # unlabelled: named by evaluation order
    assert f"x1\nvalue 2\ngrad {3 + math.cos(2) + 4:.4g}" in texts
    assert "y = +\nvalue 10.91\ngrad 1" in texts
    assert "2 + 2" in texts  # x1 * x1: one arrow, both local derivatives
    assert f"{math.cos(2):.4g}" in texts
    arrows = [p for p in fig.axes[0].patches if (p.get_gid() or "").startswith("graph-edge-")]
    assert len(arrows) == 7  # one per (parent, child) pair
    assert_graph_is_legible(fig)


# Body text of JupyterLab and of the built site at 100 % zoom: 14 px (10 pt at 100 dpi is 13.9 px).
BODY_TEXT_PX = 13.8
DISPLAY_WIDTH_PX = figure_audit.DISPLAY_WIDTH_PX  # a wider picture is scaled down to the page


def graph_parts(fig):
    """Node boxes (display pixels) by index, and the edges as (parent, child, points in pixels)."""
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = {int(t.get_gid().rsplit("-", 1)[1]): t.get_bbox_patch().get_window_extent(renderer)
             for t in ax.texts if (t.get_gid() or "").startswith("graph-node-")}
    edges = []
    for patch in ax.patches:
        if not (patch.get_gid() or "").startswith("graph-edge-"):
            continue
        parent, child = (int(i) for i in patch.get_gid().split("-")[2:])
        points = []
        for line in patch.get_path().to_polygons(closed_only=False):   # the shaft and the head
            line = patch.get_transform().transform(line)
            for a, b in zip(line, line[1:]):
                points.append(a + np.linspace(0, 1, 40)[:, None] * (b - a))
        edges.append((parent, child, np.concatenate(points)))
    return boxes, edges


def assert_graph_is_legible(fig):
    """No edge passes through a box other than its two ends; all text at body size, no overlap."""
    boxes, edges = graph_parts(fig)
    assert boxes and edges
    for parent, child, points in edges:
        for index, box in boxes.items():
            if index in (parent, child):
                continue
            inside = ((points[:, 0] > box.x0 + 1) & (points[:, 0] < box.x1 - 1)
                      & (points[:, 1] > box.y0 + 1) & (points[:, 1] < box.y1 - 1))
            assert not inside.any(), f"edge {parent} -> {child} passes through node {index}"
    width_px = fig.get_size_inches()[0] * fig.dpi
    shrink = min(1.0, DISPLAY_WIDTH_PX / width_px)
    record = figure_audit.audit(fig)
    assert record["problems"] == [], record["problems"]       # no overlapping text, among others
    for text, _ in figure_audit.drawn_texts(fig):
        shown = text.get_fontsize() * fig.dpi / 72 * shrink
        assert shown >= BODY_TEXT_PX, (f"{text.get_text()!r} is {shown:.1f} px high on the page; "
                                       f"body text is {BODY_TEXT_PX:g} px")


def test_draw_graph_edges_never_pass_behind_boxes():
    """Domke's example, Stan's log-density (edges that skip rows) and a random program."""
    from mlpkit.reverse import Var

    x = Var(0.0, label="x")
    a = np.exp(x)
    b = a**2
    c = a + b
    f = np.exp(c) + np.sin(c)
    f.backward()
    assert_graph_is_legible(plot.draw_graph(f))

    y, mu, sigma = Var(2.0, label="y"), Var(0.5, label="mu"), Var(1.2, label="sigma")
    log_density = -0.5 * ((y - mu) / sigma) ** 2 - np.log(sigma) - 0.9189
    log_density.backward()
    fig = plot.draw_graph(log_density)
    assert_graph_is_legible(fig)
    order, depth = plot.graph_layers(log_density)
    assert any(depth[id(child)] - depth[id(parent)] > 1     # edges that skip rows: lanes needed
               for child in order for parent, _ in child.parents)

    rng = np.random.default_rng(0)
    for trial in range(3):
        nodes = [Var(float(v), label=f"x{i}") for i, v in enumerate(rng.normal(size=3))]
        for _ in range(7):   # each new node reads two earlier ones, some far back (long edges)
            i, j = rng.choice(len(nodes), size=2, replace=False)
            nodes.append(nodes[i] * nodes[j] if rng.random() < 0.5 else nodes[i] + nodes[j])
        out = nodes[-1] + nodes[3]
        out.backward()
        assert_graph_is_legible(plot.draw_graph(out, title=f"random program {trial}"))
        plt.close("all")


def test_draw_graph_before_backward_and_deep_graphs():
    leaf = Node(0.5, label="x")
    node = leaf
    for _ in range(3000):  # deeper than Python's recursion limit
        node = Node(node.value, "id", ((node, 1.0),))
    order, depth = plot.graph_layers(node)
    assert len(order) == 3001 and depth[id(node)] == 3000
    with pytest.raises(ValueError, match="max_nodes"):
        plot.draw_graph(node)
    fig = plot.draw_graph(Node(0.25, "sin", ((leaf, 1.0),)))  # grad None: not run yet
    assert any(t.get_text().endswith("grad -") for t in fig.axes[0].texts)
    with pytest.raises(TypeError, match="pair"):
        plot.draw_graph(Node(1.0, "bad", (leaf,)))


# ------------------------------------------------------------------------------ widgets


def test_step_errors_follow_the_truncation_error():
    x0, h = 1.0, 1e-4
    errors = widgets.step_errors(np.sin, np.cos(x0), x0, [h])
    # forward: h/2 |f''| / |f'|; central: h^2/6 |f'''| / |f'|
    assert errors["forward-difference"][1][0] == pytest.approx(h / 2 * np.tan(x0), rel=1e-3)
    assert errors["central-difference"][1][0] == pytest.approx(h**2 / 6, rel=1e-3)
    assert widgets.step_errors(np.sin, np.cos(x0), x0, [1e-20])["complex-step"][1][0] < 1e-15
    assert "complex-step" not in widgets.step_errors(math.sin, math.cos(x0), x0, [1e-8])


def test_step_size_explorer_slider_moves_the_marker():
    explorer = widgets.step_size_explorer(np.sin, np.cos, 1.0, h=1e-6)
    assert_labelled(explorer.figure)
    before_png, before_text = explorer.png, explorer.description
    assert explorer.output.outputs[0]["data"]["image/png"]
    explorer.controls["h"].value = 1e-2
    assert explorer.png != before_png and explorer.description != before_text
    assert explorer.description.startswith("h = 1.0e-02")
    vertical = [line for line in explorer.figure.axes[0].get_lines() if line.get_color() == "k"]
    assert vertical[0].get_xdata()[0] == pytest.approx(1e-2)
    assert explorer.output.outputs[0]["data"]["text/plain"] == explorer.description
    assert explorer.show() is None  # no IPython here: nothing to display, no error


def test_fit_relu_sum_is_exact_for_piecewise_linear_and_improves_with_units():
    x = np.linspace(-3, 3, 101)
    fitted, knots, _, _ = widgets.fit_relu_sum(x, np.abs(x), 2)  # knots at -3 and 0
    np.testing.assert_array_equal(knots, [-3.0, 0.0])
    np.testing.assert_allclose(fitted, np.abs(x), atol=1e-12)
    errors = [np.max(np.abs(widgets.fit_relu_sum(x, np.sin(x), n)[0] - np.sin(x)))
              for n in (2, 4, 8, 16)]
    assert all(b < a / 2 for a, b in zip(errors, errors[1:]))
    with pytest.raises(ValueError, match="n_units"):
        widgets.fit_relu_sum(x, x, 0)


def test_universal_approximation_slider_changes_the_fit():
    explorer = widgets.universal_approximation_explorer(np.sin, (-3, 3), units=2, n_points=101)
    assert_labelled(explorer.figure)

    def fit_line():
        return explorer.figure.axes[0].get_lines()[1].get_ydata().copy()

    before, before_png = fit_line(), explorer.png
    explorer.controls["units"].value = 10
    assert explorer.png != before_png
    assert np.max(np.abs(fit_line() - before)) > 0.05
    assert explorer.description.startswith("10 hidden ReLU units")


def test_classic_optimizers_first_steps():
    w, g = np.array([1.0, -2.0]), np.array([0.5, 4.0])
    rules = widgets.classic_optimizers(momentum=0.9)
    np.testing.assert_allclose(rules["gradient descent"](0.1)(w, g), w - 0.1 * g)
    momentum = rules["momentum"](0.1)
    w1 = momentum(w, g)
    np.testing.assert_allclose(momentum(w1, g), w1 - 0.1 * (0.9 * g + g))
    np.testing.assert_allclose(rules["Nesterov"](0.1)(w, g), w - 0.1 * (g + 0.9 * g))
    np.testing.assert_allclose(rules["Adam"](0.1)(w, g), w - 0.1 * np.sign(g), rtol=1e-6)
    np.testing.assert_allclose(rules["RMSProp"](0.1)(w, g), w - 0.1 * np.sign(g) / np.sqrt(0.1),
                               rtol=1e-6)
    fresh = rules["momentum"](0.1)  # new state for each run
    np.testing.assert_allclose(fresh(w, g), w1)


def test_optimizer_path_converges_or_stops_when_diverging():
    grad = lambda w: np.array([2 * w[0], 20 * w[1]])
    gd = widgets.classic_optimizers()["gradient descent"]
    converged = widgets.optimizer_path(grad, (1.0, 1.0), gd(0.04), 200)
    assert converged.shape == (201, 2) and np.max(np.abs(converged[-1])) < 1e-6
    diverged = widgets.optimizer_path(grad, (1.0, 1.0), gd(0.2), 200)
    assert len(diverged) < 201 and np.all(np.isfinite(diverged))


def test_optimizer_explorer_menu_and_slider_change_the_path():
    loss = lambda w: w[0] ** 2 + 10 * w[1] ** 2
    grad = lambda w: np.array([2 * w[0], 20 * w[1]])
    explorer = widgets.optimizer_explorer(loss, grad, (1.5, 1.0), lr=0.01, steps=20)
    assert_labelled(explorer.figure)

    def path():
        return explorer.figure.axes[0].get_lines()[0].get_xydata().copy()

    first = path()
    np.testing.assert_allclose(first[1], [1.5 - 0.01 * 3.0, 1.0 - 0.01 * 20.0])
    explorer.controls["lr"].value = 0.05
    second = path()
    assert not np.allclose(first, second)
    explorer.controls["optimizer"].value = "Adam"
    assert not np.allclose(second, path())
    assert explorer.description.startswith("Adam, lr = 5.0e-02: 20 of 20 steps")


def test_training_view_consumes_a_generator_and_redraws():
    records = [(1, 1.0, 0.5), (2, 0.5, 0.7)]
    view = widgets.training_view(iter(records), metric_name="accuracy", total_epochs=2,
                                 min_interval=0.0)
    assert view.renders == 1 + 2 + 1  # empty, each epoch, finish
    assert_labelled(view.figure)
    loss_line = view.figure.axes[0].get_lines()[0]
    np.testing.assert_array_equal(loss_line.get_ydata(), [1.0, 0.5])
    assert view.progress.value == 2
    assert view.description == "epoch 2: loss 0.5, accuracy 0.7"


def test_training_view_as_callback_and_by_hand():
    def fit(callback):
        for epoch in range(2):
            callback(epoch, 1.0 / (epoch + 1))
        return "history"

    view = widgets.training_view(fit, min_interval=3600.0)
    assert view.result == "history" and view.losses == [1.0, 0.5]
    assert view.renders == 3  # throttled: empty, first epoch, final
    manual = widgets.training_view()
    empty_png = manual.png
    manual.update(0, 2.0, None)
    manual.finish()
    assert manual.png != empty_png and manual.metrics == [None]
    with pytest.raises(TypeError, match="epoch, loss"):
        widgets.training_view([(1,)])
    with pytest.raises(TypeError, match="callback"):
        widgets.training_view(3)


# ------------------------------------------------------------------------------ notebook


@pytest.mark.slow
def test_executed_notebook_keeps_a_png_of_the_widget(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import numpy as np\n"
                                  "from mlpkit.widgets import universal_approximation_explorer"),
        nbformat.v4.new_code_cell("universal_approximation_explorer(np.sin, (-3, 3), units=3)"),
        nbformat.v4.new_code_cell("from mlpkit import plot\nplot.activation_grid()"),
    ]
    nbclient.NotebookClient(notebook, kernel_name="python3", timeout=60,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = notebook.cells[1].outputs
    assert [o.output_type for o in outputs] == ["display_data"]  # shown once, no stderr
    data = outputs[0]["data"]
    assert data["image/png"].startswith("iVBORw0KGgo")  # base64 of the PNG signature
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"].startswith("[figure] 3 hidden ReLU units")
    # A returned pyplot figure is shown once, with the inline backend or with Agg.
    plot_outputs = notebook.cells[2].outputs
    assert len(plot_outputs) == 1 and "image/png" in plot_outputs[0]["data"]
    title = "Activation functions and their derivatives"
    assert plot_outputs[0]["data"]["text/plain"].startswith(f"Figure. {title}; sigmoid: value against x")


def test_describe_gives_a_text_alternative_from_titles_and_labels():
    fig, (left, right) = plt.subplots(1, 2)
    left.set(title="Loss $\\mathcal{L}$", xlabel="epoch", ylabel="loss")
    right.set(xlabel="s")
    fig.suptitle("Training")
    assert plot.describe(fig) == "Figure. Training; Loss mathcal{L}: loss against epoch; s"
    assert plot.describe(plt.figure()) == "Figure without title or axis labels"


def test_loss_contour_ticks_are_round_numbers():
    for levels in (np.geomspace(0.0123, 2345.6, 20), np.linspace(-0.37, 4.91, 20),
                   np.geomspace(3.3, 870.0, 20)):
        ticks = plot._round_ticks(levels)
        assert ticks.size >= 3, (levels[0], levels[-1], ticks)
        assert np.all((ticks >= levels[0]) & (ticks <= levels[-1]))
        mantissas = ticks / 10.0 ** np.floor(np.log10(np.abs(np.where(ticks == 0, 1, ticks))))
        assert np.allclose(mantissas, np.round(mantissas * 2) / 2), ticks   # 1, 1.5, 2, 2.5, 5 ...
