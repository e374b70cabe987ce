"""How far a result is from a reference: the one relative-error measure the course uses.

:mod:`mlpkit.numdiff` (gradient checks) and :mod:`mlpkit.grading` (the assignments' visible tests)
both measure with it. It lives in a module of its own so that a problem set which forbids
``mlpkit.numdiff`` (students write finite differences themselves) still lets ``mlpkit.grading``
work: nothing a test cell imports depends on a module an answer might be asked to replace.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rel_error"]


def rel_error(a, b) -> float:
    r"""Relative error in norm, :math:`\lVert a - b \rVert / \lVert b \rVert` (``b``: reference).

    When ``b`` is all zeros, the absolute error :math:`\lVert a \rVert` is returned.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shape mismatch {a.shape} versus {b.shape}")
    scale = np.linalg.norm(b)
    difference = np.linalg.norm(a - b)
    return float(difference / scale) if scale > 0 else float(difference)
