"""What the assignments' test cells call: comparisons that explain themselves.

A failing check raises ``AssertionError`` with a message written for the student: what was
expected, what came back, and where (index of the worst entry, both values, the relative
error, the tolerance), plus a hint when the mistake has a recognisable shape::

    check_close("central_difference", got, expected, rtol=1e-8)
    check_gradient_close("dL_dW1", dL_dW1, reference)   # "... looks transposed ..."

Rules every function here keeps:

- the student's value (``got``) may be anything: ``None``, a list, a string, complex numbers,
  NaN. Problems with it become an ``AssertionError`` in plain words. Problems with the
  instructor's arguments (``expected``, tolerances, names) raise ``TypeError``/``ValueError``.
- nothing is ever written to stderr: no NumPy ``RuntimeWarning`` or ``ComplexWarning``
  (nbgrader scores a test cell that writes to stderr as failed).
- checks return ``None``: a test cell whose last expression is a float would be graded *by that
  float* in nbgrader, so a check never hands back a value to display.

Also here: :func:`diagnose_gradient` (names the likely mistake), :func:`cmp` (one printed line
per comparison, after Karpathy's backprop exercise), :class:`CallCounter` (how many times was
``f`` evaluated?) and seeded problem generators for hidden tests (:func:`random_problem`).
"""

from mlpkit.grading.compare import CallCounter, check_close, check_finite, check_scalar, check_shape
from mlpkit.grading.gradients import check_gradient_close, cmp, diagnose_gradient
from mlpkit.grading.problems import (
    LayerProblem,
    SmoothFunction,
    random_layer,
    random_mlp_sizes,
    random_points,
    random_problem,
    random_smooth_function,
)
from mlpkit.measure import rel_error

__all__ = [
    "rel_error",
    "check_close",
    "check_shape",
    "check_scalar",
    "check_finite",
    "check_gradient_close",
    "diagnose_gradient",
    "cmp",
    "CallCounter",
    "random_points",
    "random_smooth_function",
    "random_layer",
    "random_mlp_sizes",
    "random_problem",
    "SmoothFunction",
    "LayerProblem",
]
