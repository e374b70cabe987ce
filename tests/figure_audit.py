"""Legibility checks for every figure a notebook renders, run inside the notebook's kernel.

``install()`` hooks two places, so that no figure escapes:

* ``FigureCanvasBase.print_figure``: every PNG that is made (the inline backend's pictures,
  ``mlpkit.plot.CourseFigure``, the static pictures of ``mlpkit.widgets``) is audited at the
  resolution it is saved with;
* an IPython ``post_execute`` hook, registered before ``%matplotlib inline`` registers its own
  (which closes the figures): any pyplot figure still open at the end of a cell is audited too.

The audit draws the figure once more with Agg, records every text that is actually drawn with
its bounding box in pixels, and reports: texts whose boxes overlap, texts below ``MIN_TEXT_PX``
(the font size in pixels of the saved picture), "-0" tick labels, Python list reprs with quotes,
and legends that sit on top of plotted points. The results are kept in ``RECORDS`` (one dict per
audited figure) for the test to read. Used by tests/test_lecture_figures.py.
"""

from __future__ import annotations

import re

import numpy as np
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.collections import PathCollection
from matplotlib.text import Text
from matplotlib.transforms import Bbox

# Body text of JupyterLab and of the built site is 14 px at 100 % zoom; figure text may be a
# little smaller than prose, but not below 10 px (7.2 pt at 100 dpi), where digits blur.
MIN_TEXT_PX = 10.0
# A picture wider than the page is scaled down to fit it, and its text with it: 980 px is the
# content width of the built site (tools/build_site.py) and of a notebook on a laptop screen.
DISPLAY_WIDTH_PX = 980.0
NEGATIVE_ZERO = re.compile(r"^[-\u2212]0(\.0*)?$")
LIST_REPR = re.compile(r"\[\s*'[^']*'\s*(,\s*'[^']*'\s*)*\]")
OVERLAP_PX = 1.0          # boxes may touch; they must not overlap by more than this

RECORDS: list[dict] = []
_state = {"cell": -1, "installed": False}


def drawn_texts(fig) -> list[tuple[Text, object]]:
    """Every non-empty Text drawn when ``fig`` is drawn, with its window extent (pixels)."""
    seen = []
    original = Text.draw

    def recording_draw(self, renderer):
        original(self, renderer)
        if self.get_visible() and self.get_text().strip():
            try:
                seen.append((self, self.get_window_extent(renderer)))
            except (RuntimeError, ValueError):  # pragma: no cover - texts without a renderer
                pass

    Text.draw = recording_draw
    try:
        if fig.canvas is None or not hasattr(fig.canvas, "get_renderer"):
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            FigureCanvasAgg(fig)
        fig.canvas.draw()
    finally:
        Text.draw = original
    return seen


def _overlap(a, b) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return min(width, height) if width > 0 and height > 0 else 0.0


def _figure_name(fig) -> str:
    names = [fig._suptitle.get_text()] if getattr(fig, "_suptitle", None) else []
    names += [ax.get_title() for ax in fig.axes]
    return next((n for n in names if n and n.strip()), "untitled").replace("\n", " ")[:90]


def _legend_covers(ax, legend_box) -> int:
    """How many plotted points of ``ax`` fall inside the legend's box (points outside the axes
    are clipped away, so a legend below the axes covers nothing)."""
    legend_box = Bbox.intersection(legend_box, ax.bbox)   # None when the legend is outside
    if legend_box is None:
        return 0
    covered = 0
    for line in ax.get_lines():
        if not line.get_visible() or not len(line.get_xdata()):
            continue
        try:
            xy = np.column_stack(line.get_data(orig=False)).astype(float)
        except (TypeError, ValueError):  # dates or categories: not plotted points we can place
            continue
        covered += _inside(line.get_transform().transform(xy), legend_box)
    for collection in ax.collections:
        if isinstance(collection, PathCollection) and collection.get_visible():
            offsets = collection.get_offsets()
            if len(offsets):
                covered += _inside(collection.get_offset_transform().transform(offsets),
                                   legend_box)
    return covered


def _inside(points, box) -> int:
    points = points[np.all(np.isfinite(points), axis=1)]
    return int(np.sum((points[:, 0] > box.x0 + 1) & (points[:, 0] < box.x1 - 1)
                      & (points[:, 1] > box.y0 + 1) & (points[:, 1] < box.y1 - 1)))


def audit(fig, dpi=None) -> dict:
    """The legibility problems of ``fig`` as saved at ``dpi`` (default: the figure's dpi)."""
    dpi = float(dpi) if isinstance(dpi, (int, float)) and dpi > 0 else float(fig.dpi)
    texts = drawn_texts(fig)
    scale = dpi / fig.dpi                     # the boxes are measured at the figure's dpi
    problems = []
    width_px = fig.get_size_inches()[0] * dpi
    shrink = min(1.0, DISPLAY_WIDTH_PX / width_px)
    for text, _box in texts:
        content = text.get_text().strip()
        pixels = text.get_fontsize() * dpi / 72.0 * shrink
        if pixels < MIN_TEXT_PX - 1e-9:
            scaled = (f", after the {width_px:.0f} px wide picture is scaled to the "
                      f"{DISPLAY_WIDTH_PX:.0f} px page" if shrink < 1 else "")
            problems.append(f"text {content[:40]!r} is {pixels:.1f} px high{scaled} "
                            f"(minimum {MIN_TEXT_PX:g} px)")
        if NEGATIVE_ZERO.match(content):
            problems.append(f"tick label {content!r}: write 0")
        if LIST_REPR.search(content):
            problems.append(f"text {content[:60]!r} shows a Python list repr with quotes")
    canvas = fig.bbox
    for text, box in texts:
        if (box.x0 < canvas.x0 - 1 or box.x1 > canvas.x1 + 1 or box.y0 < canvas.y0 - 1
                or box.y1 > canvas.y1 + 1):
            problems.append(f"text {text.get_text().strip()[:40]!r} is cut off at the edge of "
                            "the picture")
    for i, (a, box_a) in enumerate(texts):
        for b, box_b in texts[i + 1:]:
            depth = _overlap(box_a, box_b) * scale
            if depth > OVERLAP_PX:
                problems.append(f"texts {a.get_text().strip()[:30]!r} and "
                                f"{b.get_text().strip()[:30]!r} overlap by {depth:.0f} px")
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is not None and legend.get_visible() and ax.get_visible():
            covered = _legend_covers(ax, legend.get_window_extent(fig.canvas.get_renderer()))
            if covered:
                problems.append(f"the legend of {ax.get_title()[:40]!r} covers {covered} "
                                "plotted point(s)")
    return {"cell": _state["cell"], "figure": _figure_name(fig), "dpi": dpi,
            "texts": len(texts), "problems": problems}


def _record(fig, dpi=None):
    try:
        record = audit(fig, dpi)
    except Exception as error:  # an audit must never break the lecture it watches
        record = {"cell": _state["cell"], "figure": _figure_name(fig), "dpi": dpi, "texts": 0,
                  "problems": [f"could not audit: {type(error).__name__}: {error}"]}
    record["id"] = id(fig)
    RECORDS.append(record)


def install(ipython=None):
    """Hook print_figure and the post_execute event (call before ``%matplotlib inline``)."""
    if _state["installed"]:
        return
    _state["installed"] = True
    original = FigureCanvasBase.print_figure

    def audited_print_figure(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        if not _state.get("busy"):
            _state["busy"] = True
            try:
                _record(self.figure, kwargs.get("dpi"))
            finally:
                _state["busy"] = False
        return result

    FigureCanvasBase.print_figure = audited_print_figure

    if ipython is None:
        from IPython import get_ipython
        ipython = get_ipython()
    if ipython is None:
        return

    def pre_run_cell(info=None):
        _state["cell"] += 1
        _state["printed"] = len(RECORDS)

    def post_execute():
        import matplotlib.pyplot as plt
        audited = {r["id"] for r in RECORDS[_state.get("printed", 0):]}
        for number in plt.get_fignums():
            fig = plt.figure(number)
            if id(fig) not in audited:   # not saved as a PNG during the cell (yet)
                _record(fig)

    ipython.events.register("pre_run_cell", pre_run_cell)
    ipython.events.register("post_execute", post_execute)


__all__ = ["DISPLAY_WIDTH_PX", "MIN_TEXT_PX", "RECORDS", "audit", "drawn_texts", "install"]
