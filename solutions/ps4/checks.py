"""PS4 hidden checks: run by the grader (SandboxAutograde), never by the student's kernel.

One function per autograded test cell of ps4.ipynb. Every reference is computed HERE, with
plain NumPy formulas written out in this file (no mlpkit.nn, no autodiff), on hidden inputs
drawn with ``hidden_rng`` (a per-course secret: they differ from term to term).
Layers are checked through a round trip: the student's forward returns (out, cache) as plain
data, and that cache is handed back to the student's backward. Messages are for students: what
was called, what was expected, and (through mlpkit.grading.diagnose_gradient, with known wrong
answers as candidates) the likely mistake.

Kept out of the release by ``CourseDirectory.ignore`` (nbgrader_config.py).
"""

import numpy as np

from autograder import BlackBox, CheckFailed, check, hidden_rng
from autograder.checking import returned
from autograder.prerequisites import Prerequisite, fix_first
from mlpkit.grading import check_close, check_gradient_close, check_scalar, check_shape

FORBIDDEN_MODULES = {
    "mlpkit.nn": "PS4 asks you to write the layers, the loss, the MLP and the optimisers yourself",
    "mlpkit.reverse": "PS4 asks you to write the backward passes by hand",
    "mlpkit.forward": "PS4 asks you to write the backward passes by hand",
    "mlpkit.numdiff": "PS4 asks you to write the gradient check yourself",
    "mlpkit.complexsafe": "PS4 asks you to write the gradient check yourself",
    "autograd": "PS4 asks you to write the backward passes by hand",
    "torch": "PS4 asks you to write the backward passes by hand",
    "jax": "PS4 asks you to write the backward passes by hand",
}

EPS = np.finfo(np.float64).eps
RTOL = 1e-10  # every value here is a formula's own value: only rounding may differ


# --------------------------------------------------------------------------- helpers


def rng_for(seed: int):
    """The generator of one draw of hidden inputs, numbered ``seed`` in this file
    (``hidden_rng``: a per-course secret, so the hidden inputs differ from term to term)."""
    return hidden_rng(f"ps4 {seed}")


def expect_values(label: str, got, expected, rtol: float = RTOL, candidates=None) -> None:
    """Entry by entry, up to rounding relative to the largest entry (forward values, updates);
    on failure, the description of a known wrong answer (``candidates``) that ``got`` matches."""
    expected = np.asarray(expected, dtype=float)
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    try:
        check_close(label, got, expected, rtol=rtol, atol=rtol * max(scale, 1e-300))
    except AssertionError as failure:
        hint = hint_from(got, candidates or {})
        if hint:
            raise CheckFailed(f"{failure}\n  Looks like: {hint}.") from None
        raise


def expect_gradient(label: str, got, expected, candidates=None, rtol: float = RTOL) -> None:
    """Relative error in norm <= rtol; on failure diagnose_gradient names the likely mistake."""
    usable = {}
    for description, wrong in (candidates or {}).items():
        wrong = np.asarray(wrong, dtype=float)
        if wrong.shape == np.shape(expected) and not np.allclose(wrong, expected, rtol=1e-6):
            usable[description] = wrong
    check_gradient_close(label, got, expected, rtol=rtol, candidates=usable)


def hint_from(got, candidates: dict) -> str:
    """The description of the first known wrong answer that ``got`` matches, or ""."""
    try:
        arr = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        return ""
    for description, wrong in candidates.items():
        wrong = np.asarray(wrong, dtype=float)
        if arr.shape == wrong.shape and np.all(np.isfinite(arr)) and np.allclose(
                arr, wrong, rtol=1e-9, atol=1e-12 * (1 + np.max(np.abs(wrong), initial=0))):
            return description
    return ""


def expect_update(label: str, got, expected, candidates: dict) -> None:
    """An optimiser's output: the formula's value up to rounding, with a hint for known slips."""
    expect_values(label, got, expected, rtol=1e-12, candidates=candidates)


def show(array) -> str:
    return np.array2string(np.asarray(array), precision=4, separator=", ", threshold=12)


# --------------------------------------------------------------------------- Part A: layers


def layer_case(seed: int, n: int, d: int, m: int):
    rng = rng_for(seed)
    X = rng.normal(0.0, 1.5, (n, d))
    W = rng.normal(0.0, 1.0, (d, m)) / np.sqrt(d)
    b = rng.normal(0.0, 1.0, m)
    dout = rng.normal(0.0, 1.0, (n, m))
    return X, W, b, dout


# (batch n, inputs d, outputs m): all different, square, one example, a wide layer
LINEAR_SHAPES = [(5, 3, 4), (4, 6, 2), (6, 4, 4), (1, 3, 5), (7, 9, 3)]


def linear_forward_case(student, k: int) -> None:
    n, d, m = LINEAR_SHAPES[k]
    X, W, b, _ = layer_case(k, n, d, m)
    label = f"linear_forward(X, W, b) with X {X.shape}, W {W.shape}, b {b.shape}"
    out, _cache = returned(label, student.call("linear_forward", X, W, b), 2, "out, cache")
    check_shape(f"out of {label}", out, (n, m))
    expect_values(f"out of {label}", out, X @ W + b, candidates={
        "X @ W without the bias b": X @ W,
        "X @ W - b: the bias is added, out = X @ W + b": X @ W - b})


def linear_backward_case(student, k: int) -> None:
    n, d, m = LINEAR_SHAPES[k]
    X, W, b, G = layer_case(k, n, d, m)
    label = f"linear_forward(X, W, b) with X {X.shape}, W {W.shape}"
    _, cache = returned(label, student.call("linear_forward", X, W, b), 2, "out, cache")
    # Another forward in between: backward must use its cache, not the latest call's state.
    X2, W2, b2, _ = layer_case(k + 50, n, d, m)
    student.call("linear_forward", X2, W2, b2)
    call = f"linear_backward(dout, cache) with dout {G.shape}, cache from {label}"
    dX, dW, db = returned(call, student.call("linear_backward", G, cache), 3, "dX, dW, db")
    stale = ("the X and W of the LATEST linear_forward call, not those of the cache you were "
             "given: backward must read everything it needs from its cache argument")
    square = {"dX = dout @ W: W must be transposed (dX = dout @ W.T)": G @ W} if d == m else {}
    expect_gradient(f"dX of {call}", dX, G @ W.T, {**square, stale: G @ W2.T})
    expect_gradient(f"dW of {call}", dW, X.T @ G,
                    {"dW = dout.T @ X, the transpose of the right answer X.T @ dout": G.T @ X,
                     stale: X2.T @ G})
    expect_gradient(f"db of {call}", db, G.sum(axis=0),
                    {"db = dout.mean(axis=0): the bias is added to every row, so the "
                     "gradients of the rows add up: db = dout.sum(axis=0)": G.mean(axis=0)})


@check("test_linear_forward")
def linear_forward(student):
    for k in range(len(LINEAR_SHAPES)):
        linear_forward_case(student, k)
    return (f"linear_forward gives X @ W + b for {len(LINEAR_SHAPES)} hidden shapes, batch of 1 "
            "included.")


LINEAR_FORWARD = Prerequisite("test_linear_forward", "your linear_forward",
                              lambda student: linear_forward_case(student, 0))


@check("test_linear_backward")
def linear_backward(student):
    for k in range(len(LINEAR_SHAPES)):
        with fix_first(student, [LINEAR_FORWARD]):
            linear_backward_case(student, k)
    return (f"dX = dout W^T, dW = X^T dout, db = column sums of dout for {len(LINEAR_SHAPES)} "
            "hidden shapes (square and batch of 1 included), using the cache of an earlier call.")


LINEAR_BACKWARD = Prerequisite("test_linear_backward", "your linear_backward",
                               lambda student: linear_backward_case(student, 0))


def activation_inputs(seed: int, scale: float = 2.0):
    rng = rng_for(seed)
    shapes = [(4, 5), (1, 3), (6, 2)]
    inputs = [rng.normal(0.0, scale, shape) for shape in shapes]
    inputs.append(np.array([[-7.5, -0.3, 0.02], [0.4, 3.25, 11.0]]))  # small and saturated
    return inputs, [rng.normal(0.0, 1.0, X.shape) for X in inputs]


def activation_case(student, name: str, k: int) -> None:
    """Forward and backward of one activation layer on hidden input ``k`` (0 <= k < 4)."""
    value, slope, wrong_slopes, seed = ACTIVATIONS[name]
    inputs, upstream = activation_inputs(seed)
    X, G = inputs[k], upstream[k]
    label = f"{name}_forward(X) with X of shape {X.shape}"
    out, cache = returned(label, student.call(f"{name}_forward", X), 2, "out, cache")
    check_shape(f"out of {label}", out, X.shape)
    expect_values(f"out of {label}", out, value(X))
    other = 0.5 - X[::-1]  # same shape, other values
    student.call(f"{name}_forward", other)  # state from the latest call must not matter
    call = f"{name}_backward(dout, cache) with the cache of {label}"
    dX = student.call(f"{name}_backward", G, cache)
    candidates = {description: G * wrong(X) for description, wrong in wrong_slopes.items()}
    candidates["the derivative at the input of the LATEST forward call, not at the X of the "
               "cache you were given: backward must use only its cache"] = G * slope(other)
    expect_gradient(f"dX of {call}", dX, G * slope(X), candidates)


def check_activation(student, name: str) -> str:
    for k in range(4):
        activation_case(student, name, k)
    return f"{name}_forward and {name}_backward agree with the formulas on 4 hidden inputs."


def tanh_value(X):
    return np.tanh(X)


def tanh_slope(X):
    return 1.0 - np.tanh(X) ** 2


def relu_value(X):
    return np.where(X > 0, X, 0.0)


def relu_slope(X):
    return (X > 0).astype(float)


def sigmoid_value(X):
    return 1.0 / (1.0 + np.exp(-X))


def sigmoid_slope(X):
    s = sigmoid_value(X)
    return s * (1.0 - s)


LEFT_OUT = "the derivative was left out (dX = dout)"
ACTIVATIONS = {  # name: (value, slope, known wrong slopes, seed of the hidden inputs)
    "tanh": (tanh_value, tanh_slope, {
        "1 - X**2 from the layer's INPUT X; the derivative of tanh at X is "
        "1 - tanh(X)**2 = 1 - out**2": lambda X: 1 - X**2,
        "1 - out: the derivative of tanh is 1 - out**2 (out squared)": lambda X: 1 - np.tanh(X),
        LEFT_OUT: lambda X: np.ones_like(X),
    }, 10),
    "relu": (relu_value, relu_slope, {
        "dout * out: ReLU's derivative is the 0/1 mask [X > 0], not the output": relu_value,
        "the mask is inverted ([X < 0] instead of [X > 0])": lambda X: (X < 0).astype(float),
        LEFT_OUT: lambda X: np.ones_like(X),
    }, 20),
    "sigmoid": (sigmoid_value, sigmoid_slope, {
        "X * (1 - X) from the layer's INPUT X; the derivative of the sigmoid at X is "
        "s * (1 - s) with s = sigmoid(X) = out": lambda X: X * (1 - X),
        "out itself: the derivative of the sigmoid is out * (1 - out)": sigmoid_value,
        LEFT_OUT: lambda X: np.ones_like(X),
    }, 30),
}


def activation_prerequisite(name: str) -> Prerequisite:
    return Prerequisite(f"test_{name}", f"your {name}_forward and {name}_backward",
                        lambda student: activation_case(student, name, 0))


@check("test_tanh")
def tanh_layer(student):
    return check_activation(student, "tanh")


@check("test_relu")
def relu_layer(student):
    return check_activation(student, "relu")


@check("test_sigmoid")
def sigmoid_layer(student):
    return check_activation(student, "sigmoid")


# --------------------------------------------------------------------------- Part B: softmax


def softmax_reference(Z, y):
    """Mean softmax cross-entropy of logits Z (N, K) with labels y, and dL/dZ (log-sum-exp)."""
    shift = Z.max(axis=1, keepdims=True)
    exp_shifted = np.exp(Z - shift)
    total = exp_shifted.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    log_sum_exp = shift[:, 0] + np.log(total[:, 0])
    loss = float(np.mean(log_sum_exp - Z[rows, y]))
    probabilities = exp_shifted / total
    onehot = np.zeros_like(Z)
    onehot[rows, y] = 1.0
    return loss, (probabilities - onehot) / len(y), probabilities


def check_softmax_case(student, Z, y, label):
    loss_ref, grad_ref, probabilities = softmax_reference(Z, y)
    loss, dZ = returned(label, student.call("softmax_cross_entropy", Z, y), 2, "loss, dlogits")
    n = len(y)
    try:
        check_scalar(f"loss of {label}", loss, loss_ref, rtol=RTOL,
                     atol=1e-12 * (1 + abs(loss_ref)))
    except AssertionError as failure:
        per_row = hint_from(loss, {"the SUM over the rows; the loss is their mean (divide by N)":
                                   loss_ref * n} if n > 1 else {})
        hint = f"\n  Looks like: {per_row}." if per_row else ""
        raise CheckFailed(f"{failure}{hint}") from None
    expect_gradient(f"dlogits of {label}", dZ, grad_ref, {
        "softmax - onehot without the 1/N: the loss is a mean over the N rows": grad_ref * n,
        "softmax(z) / N: the one-hot labels were not subtracted": probabilities / n,
    })


@check("test_softmax_cross_entropy")
def softmax_cross_entropy(student):
    rng = rng_for(40)
    cases = [(5, 3), (1, 4), (8, 10), (3, 2), (6, 6)]
    for n, k in cases:
        Z = rng.normal(0.0, 3.0, (n, k))
        y = rng.integers(0, k, n)
        label = f"softmax_cross_entropy(logits {Z.shape}, y={y.tolist()})"
        check_softmax_case(student, Z, y, label)
    Z = np.zeros((3, 4))  # all logits equal: the loss is log 4, whatever the labels
    check_softmax_case(student, Z, np.array([0, 3, 1]),
                       "softmax_cross_entropy(zeros (3, 4), y=[0, 3, 1])")
    return "Loss (mean over rows) and dlogits = (softmax - onehot)/N agree on 6 hidden cases."


def nonfinite_softmax(loss, dZ) -> str:
    """What is not finite (the loss, dlogits or both) and its usual cause, or ""."""
    def finite(value):
        try:
            return bool(np.all(np.isfinite(np.asarray(value, dtype=float))))
        except (TypeError, ValueError):
            return True  # not numbers at all: the comparison that follows says so
    loss_ok, grad_ok = finite(loss), finite(dZ)
    if loss_ok and grad_ok:
        return ""
    if grad_ok:
        return ("dlogits is finite, but the loss is not: the log-probability of a true class "
                "2000 below the row's maximum is -2000, while its probability e^-2000 is 0 in "
                "floating point and log(0) = -inf. Compute the log-probabilities directly, "
                "shifted - log(sum(exp(shifted))), never as log(softmax).")
    return ("dlogits contains NaN or inf: exp(1000) overflows to inf and inf / inf is NaN. "
            "Subtract each row's maximum from the logits before exp (then every exponent is "
            "<= 0)" + ("." if loss_ok else ", and compute the log-probabilities as shifted - "
                       "log(sum(exp(shifted))), never as log(softmax)."))


SOFTMAX = Prerequisite(
    "test_softmax_cross_entropy", "your softmax_cross_entropy",
    lambda student: check_softmax_case(student, *softmax_probe(), "softmax_cross_entropy(logits "
                                       "(5, 3), y=[0, 2, 2, 1, 0])"))


def softmax_probe():
    Z = rng_for(41).normal(0.0, 2.0, (5, 3))
    return Z, np.array([0, 2, 2, 1, 0])


@check("test_softmax_stability")
def softmax_stability(student):
    cases = [
        (np.array([[1000.0, -1000.0], [-1000.0, 1000.0], [0.0, 0.0]]), np.array([1, 1, 0])),
        (np.array([[1000.5, 1000.0, 999.0], [-1000.0, -1000.0, -1000.0]]), np.array([2, 1])),
        (np.array([[-1000.0, 0.0, 1000.0, 3.0]]), np.array([0])),
        (np.array([[800.0, 799.0], [-750.0, -752.5], [1000.0, 1000.0]]), np.array([0, 1, 0])),
    ]
    for Z, y in cases:
        label = (f"softmax_cross_entropy(logits={Z.tolist()}, y={y.tolist()})")
        with fix_first(student, [SOFTMAX]):
            loss, dZ = returned(label, student.call("softmax_cross_entropy", Z, y), 2,
                                "loss, dlogits")
            problem = nonfinite_softmax(loss, dZ)
            if problem:
                raise CheckFailed(f"{label} returned loss {loss!r} and dlogits\n  {show(dZ)}\n"
                                  f"  {problem}")
            check_softmax_case(student, Z, y, label)
    return ("Finite and correct at logits of size 1000 (loss 2000 where the true class is far "
            "below).")


# --------------------------------------------------------------------------- Part C: the MLP


ON_LOGITS = "act_on_logits"
NO_SLOPE = "no_activation_backward"
MLP_MISTAKES = {  # variant: what a result that matches it looks like
    ON_LOGITS: "the activation was also applied to the last layer's output; the logits are "
               "H_L = A_(L-1) W_L + b_L, with no activation after the last linear layer",
    NO_SLOPE: "the activation's backward pass was skipped: between two linear layers, dout "
              "must go through the activation's backward function (dout * its derivative)",
}


def mlp_reference(params, X, y, activation, variant=None):
    """Loss and gradients of the MLP of Part C, written out with plain NumPy (``variant``: one
    of MLP_MISTAKES, the same network with that mistake, for hints)."""
    value, slope = ACTIVATIONS[activation][:2]
    L = len(params) // 2
    H, A = [None], [X]
    for l in range(1, L + 1):
        H.append(A[l - 1] @ params[f"W{l}"] + params[f"b{l}"])
        if l < L:
            A.append(value(H[l]))
    logits = value(H[L]) if variant == ON_LOGITS else H[L]
    loss, G, _ = softmax_reference(logits, y)
    if variant == ON_LOGITS:
        G = G * slope(H[L])
    grads = {}
    for l in range(L, 0, -1):
        grads[f"W{l}"] = A[l - 1].T @ G
        grads[f"b{l}"] = G.sum(axis=0)
        if l > 1:
            G = (G @ params[f"W{l}"].T) * (1.0 if variant == NO_SLOPE else slope(H[l - 1]))
    return loss, grads, H[L]


def mlp_case(seed: int, sizes, n: int):
    rng = rng_for(seed)
    params = {}
    for l, (p, q) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{l}"] = rng.normal(0.0, 1.0, (p, q)) / np.sqrt(p)
        params[f"b{l}"] = rng.normal(0.0, 0.3, q)
    X = rng.normal(0.0, 1.0, (n, sizes[0]))
    y = rng.integers(0, sizes[-1], n)
    return params, X, y


MLP_CASES = [  # (sizes, batch, activation)
    ([3, 5, 4], 6, "tanh"),
    ([4, 6, 5, 3], 7, "relu"),
    ([2, 3, 2], 5, "sigmoid"),
    ([4, 4, 4, 4], 1, "tanh"),
    ([6, 8, 10], 9, "tanh"),
    ([3, 4, 3, 2], 4, "sigmoid"),
]


def mlp_prerequisites(activation: str) -> list:
    return [LINEAR_FORWARD, LINEAR_BACKWARD, activation_prerequisite(activation), SOFTMAX]


def check_mlp_loss_and_grads(student, label, params, X, y, act, **kwargs) -> None:
    """One call of mlp_loss_and_grads (``kwargs`` passed on, ``act`` the activation it means):
    the loss, then every gradient, output layer first."""
    loss_ref, grads_ref, _ = mlp_reference(params, X, y, act)
    variants = {MLP_MISTAKES[v]: mlp_reference(params, X, y, act, v) for v in MLP_MISTAKES}
    loss, grads = returned(label, student.call("mlp_loss_and_grads", params, X, y, **kwargs), 2,
                           "loss, grads")
    try:
        check_scalar(f"loss of {label}", loss, loss_ref, rtol=RTOL, atol=1e-13)
    except AssertionError as failure:
        hint = hint_from(loss, {text: v[0] for text, v in variants.items()})
        raise CheckFailed(f"{failure}" + (f"\n  Looks like: {hint}." if hint else "")) from None
    if not isinstance(grads, dict):
        raise CheckFailed(f"{label}: grads should be a dict with the keys of params "
                          f"({sorted(params)}), got a {type(grads).__name__}.")
    missing = [key for key in params if key not in grads]
    if missing:
        raise CheckFailed(f"{label}: grads has no entry for {missing}; it needs one per "
                          f"parameter, with the same keys as params ({list(params)}).")
    for key in reversed(list(params)):  # output layer first: the first wrong block locates it
        expect_gradient(f"grads[{key!r}] of {label}", grads[key], grads_ref[key],
                        {text: v[1][key] for text, v in variants.items()})


def check_mlp_predict(student, sizes, params, X, act, **kwargs) -> None:
    scores = mlp_reference(params, X, np.zeros(len(X), dtype=int), act)[2]
    shown = f"mlp_predict(params, X{''.join(f', {k}={v!r}' for k, v in kwargs.items())})"
    predicted = student.call("mlp_predict", params, X, **kwargs)
    check_shape(shown, predicted, (len(X),))
    if not np.array_equal(np.asarray(predicted), np.argmax(scores, axis=1)):
        default = "" if kwargs else (" Without the activation argument the hidden layers "
                                     "use tanh (the default in def mlp_predict).")
        raise CheckFailed(f"{shown} for layer sizes {sizes} returned "
                          f"{np.asarray(predicted).tolist()}, expected "
                          f"{np.argmax(scores, axis=1).tolist()} (the class with the largest "
                          f"logit in each row).{default}")


def mlp_case_check(student, k: int) -> None:
    sizes, n, activation = MLP_CASES[k]
    params, X, y = mlp_case(60 + k, sizes, n)
    label = (f"mlp_loss_and_grads(params, X, y, activation={activation!r}) for layer sizes "
             f"{sizes}, batch of {n}")
    check_mlp_loss_and_grads(student, label, params, X, y, activation, activation=activation)
    check_mlp_predict(student, sizes, params, X, activation, activation=activation)


def default_activation_case():
    """A network whose predictions differ for tanh, ReLU and sigmoid: a changed default shows."""
    for seed in range(70, 200):
        params, X, y = mlp_case(seed, [3, 5, 4], 8)
        predictions = [tuple(np.argmax(mlp_reference(params, X, y, a)[2], axis=1))
                       for a in ACTIVATIONS]
        if len(set(predictions)) == len(predictions):
            return params, X, y
    raise RuntimeError("no network separates the activations")  # a grader bug: never expected


@check("test_mlp_loss_and_grads")
def mlp_loss_and_grads(student):
    for k, (_, _, activation) in enumerate(MLP_CASES):
        with fix_first(student, mlp_prerequisites(activation)):
            mlp_case_check(student, k)
    params, X, y = default_activation_case()
    with fix_first(student, mlp_prerequisites("tanh")):
        check_mlp_loss_and_grads(
            student, "mlp_loss_and_grads(params, X, y) (no activation argument: the default, "
            "tanh)", params, X, y, "tanh")
        check_mlp_predict(student, [3, 5, 4], params, X, "tanh")
    return ("Loss, every gradient and the predictions agree for 1, 2 and 3 hidden layers with "
            "tanh, ReLU and sigmoid (batch of 1 and square layers included), and with the "
            "default activation.")


def mlp_prerequisite(activation: str) -> Prerequisite:
    def probe(student):
        k = next(i for i, case in enumerate(MLP_CASES) if case[2] == activation)
        mlp_case_check(student, k)
    return Prerequisite("test_mlp_loss_and_grads", "your mlp_loss_and_grads", probe)


# --------------------------------------------------------------------------- Part D: grad check


class TestFunction:
    """f(x) = sum a sin(b x + c) + (w.x)^2 / 2 for x of any fixed shape, with its gradient."""

    def __init__(self, seed: int, shape: tuple, independent: int = 0):
        rng = rng_for(seed)
        self.a, self.b = rng.uniform(-2, 2, shape), rng.uniform(0.5, 2, shape)
        self.c, self.w = rng.uniform(-1, 1, shape), rng.uniform(-1, 1, shape)
        self.a.flat[:independent] = 0.0  # f does not depend on these entries: gradient exactly 0
        self.w.flat[:independent] = 0.0
        self.shape = shape
        self.x = np.round(rng.uniform(-1.5, 1.5, shape), 6)

    def __call__(self, x):
        return float(np.sum(self.a * np.sin(self.b * x + self.c)) + np.sum(self.w * x) ** 2 / 2)

    def gradient(self, x):
        return self.a * self.b * np.cos(self.b * x + self.c) + np.sum(self.w * x) * self.w


def entry_errors(analytic, numerical):
    """r_i = |a_i - n_i| / max(|a_i|, |n_i|), 0 where both are 0."""
    scale = np.maximum(np.abs(analytic), np.abs(numerical))
    safe = np.where(scale > 0, scale, 1.0)
    return np.where(scale > 0, np.abs(analytic - numerical) / safe, 0.0), scale


def signed_errors(analytic, numerical):
    """(a_i - n_i) / max(|a_i|, |n_i|): the r_i with the abs() forgotten."""
    scale = np.maximum(np.abs(analytic), np.abs(numerical))
    return np.where(scale > 0, (analytic - numerical) / np.where(scale > 0, scale, 1.0), 0.0)


def entry_errors_over(analytic, numerical, scale):
    """|a_i - n_i| / scale_i, 0 where the scale is 0."""
    return np.where(scale > 0, np.abs(analytic - numerical) / np.where(scale > 0, scale, 1.0), 0.0)


def max_relative_error(fun, x, analytic, h):
    """The definition of the notebook, the rounding slack of the comparison, and the values
    that known wrong versions of grad_check would return (for hints)."""
    central, forward, slack_n = np.zeros(x.shape), np.zeros(x.shape), np.zeros(x.shape)
    f_x = fun(x)
    for index in np.ndindex(x.shape):
        step = np.zeros(x.shape)
        step[index] = h
        plus, minus = fun(x + step), fun(x - step)
        central[index] = (plus - minus) / (2 * h)
        forward[index] = (plus - f_x) / h
        slack_n[index] = 64 * EPS * (abs(plus) + abs(minus) + abs(central[index]) * (
            abs(x[index]) + h)) / (2 * h)
    errors, scale = entry_errors(analytic, central)
    safe = np.where(scale > 0, scale, 1.0)
    slack = np.where(scale > 0, slack_n * (1 + errors) / safe, 0.0)
    norm = np.linalg.norm(analytic - central) / np.linalg.norm(central)
    wrong = {
        "forward differences (f(x + h e_i) - f(x)) / h; use central differences, "
        "(f(x + h e_i) - f(x - h e_i)) / (2h)": entry_errors(analytic, forward)[0].max(),
        "the difference was divided by h instead of 2h":
        entry_errors(analytic, 2 * central)[0].max(),
        "the relative error in norm, ||a - n|| / ||n||; return the worst entry's r_i": norm,
        "the mean of the r_i; return their maximum": errors.mean(),
        "the r_i without abs(): a_i - n_i can be negative, r_i = |a_i - n_i| / "
        "max(|a_i|, |n_i|)": signed_errors(analytic, central).max(),
        "|a_i - n_i| / |n_i|; divide by the larger of |a_i| and |n_i|":
        entry_errors_over(analytic, central, np.abs(central)).max(),
    }
    return float(errors.max()), float(slack.max()), wrong


@check("test_grad_check")
def grad_check(student):
    cases = 0
    functions = [TestFunction(80, (3, 4), independent=2), TestFunction(81, (5,)),
                 TestFunction(82, (2, 3), independent=1)]
    for fun in functions:
        exact = fun.gradient(fun.x)
        wrong_entry = np.unravel_index(exact.size - 1, exact.shape)
        scaled, flipped, noisy = exact.copy(), exact.copy(), exact.copy()
        scaled[wrong_entry] *= 1.1
        flipped[wrong_entry] *= -1
        noisy = exact * (1 + 1e-6 * np.cos(np.arange(exact.size)).reshape(exact.shape))
        analytic_grads = {"the exact gradient": exact,
                          "the exact gradient with its last entry 10% too large": scaled,
                          "the exact gradient with its last entry's sign flipped": flipped,
                          "the exact gradient with relative errors of 1e-6": noisy}
        for name, analytic in analytic_grads.items():
            for h in (None, 1e-3, 1e-7):
                box = BlackBox(fun, "f")
                kwargs = {} if h is None else {"h": h}
                h_used = 1e-5 if h is None else h
                label = (f"grad_check(f, x, analytic_grad{'' if h is None else f', h={h}'}) for f "
                         f"of x with shape {fun.shape} and analytic_grad = {name}")
                got = student.call("grad_check", box, fun.x.copy(), analytic.copy(), **kwargs)
                expected, slack, wrong = max_relative_error(fun, fun.x, analytic, h_used)
                check_scalar(label, got)  # one finite real number, or a message saying why not
                value = float(np.asarray(got, dtype=float).reshape(-1)[0])
                if not abs(value - expected) <= slack + 1e-15 + 1e-9 * expected:
                    hint = next((f"\n  Looks like: {description}." for description, other
                                 in wrong.items() if abs(value - other) <= 1e-6 * abs(other)), "")
                    raise CheckFailed(f"{label}: got {value!r}, expected {expected!r} (allowed "
                                      f"difference: rounding only, {slack + 1e-9 * expected:.1e})."
                                      + hint)
                size = fun.x.size
                if box.count not in (2 * size, 2 * size + 1):
                    raise CheckFailed(f"{label} evaluated f {box.count} times; central differences "
                                      f"for x with {size} entries need exactly 2 x {size} = "
                                      f"{2 * size} evaluations ({2 * size + 1} with f(x)).")
                if any(np.shape(point) != fun.shape for point in box.points):
                    raise CheckFailed(f"{label} called f with an array of another shape than x "
                                      f"{fun.shape}; f takes arrays shaped like x.")
                cases += 1
    return (f"grad_check returns the max relative error of central differences in {cases} hidden "
            "cases (three steps h, entries with zero gradient, 2n evaluations).")


# --------------------------------------------------------------------------- Part E: optimisers


def optimiser_arrays(seed: int, shape):
    rng = rng_for(seed)
    return rng.normal(0.0, 1.0, shape), [rng.normal(0.0, 1.0, shape) for _ in range(5)]


MOMENTUM_SETTINGS = [((4,), 0.1, 0.9), ((3, 2), 0.05, 0.5), ((5,), 0.2, 0.0), ((2, 2), 1e-3, 0.99)]
ADAM_SETTINGS = [((4,), 0.01, 0.9, 0.999, 1e-8), ((3, 2), 0.1, 0.5, 0.75, 1e-2),
                 ((5,), 0.003, 0.8, 0.99, 1e-3), ((2, 3), 0.05, 0.0, 0.9, 1e-8)]


@check("test_sgd_momentum")
def sgd_momentum(student):
    for k in range(len(MOMENTUM_SETTINGS)):
        momentum_sequence(student, k)
    return "Momentum matches v = mu v + dw, w = w - lr v over 4 hidden sequences of 5 steps."


MOMENTUM = Prerequisite("test_sgd_momentum", "your sgd_momentum_step",
                        lambda student: momentum_sequence(student, 1, steps=2))


def momentum_sequence(student, k: int, steps: int = 5) -> None:
    shape, lr, mu = MOMENTUM_SETTINGS[k]
    w, gradients = optimiser_arrays(90 + k, shape)
    v = np.zeros(shape)
    for step, dw in enumerate(gradients[:steps], start=1):
        label = (f"sgd_momentum_step(w, dw, v, lr={lr}, mu={mu}) at step {step} of a hidden "
                 f"sequence (arrays of shape {shape})")
        w_got, v_got = returned(label, student.call("sgd_momentum_step", w, dw, v, lr, mu), 2,
                                "w, v")
        v_new = mu * v + dw
        w_new = w - lr * v_new
        expect_update(f"v returned by {label}", v_got, v_new, {
            "v = mu*v - lr*dw (CS231n's form); this problem set uses v = mu*v + dw and "
            "w = w - lr*v (lecture 6)": mu * v - lr * dw,
            "v = mu*v + lr*dw; here the velocity does not include lr: v = mu*v + dw":
            mu * v + lr * dw,
        })
        expect_update(f"w returned by {label}", w_got, w_new, {
            "w + lr*v: the step goes uphill; subtract it (w = w - lr*v)": w + lr * v_new,
            "w - lr*v with the OLD velocity; update v first": w - lr * v,
            "w - lr*dw: plain gradient descent, the velocity is not used": w - lr * dw,
        })
        w, v = w_new, v_new  # continue from the right state, whatever the student returned


@check("test_adam")
def adam(student):
    for k in range(len(ADAM_SETTINGS)):
        adam_sequence(student, k)
    return "Adam matches the update with bias correction over 4 hidden sequences of 5 steps."


ADAM = Prerequisite("test_adam", "your adam_step", lambda student: adam_sequence(student, 1, 2))


def adam_sequence(student, k: int, steps: int = 5) -> None:
    shape, lr, beta1, beta2, eps = ADAM_SETTINGS[k]
    w, gradients = optimiser_arrays(100 + k, shape)
    m, v = np.zeros(shape), np.zeros(shape)
    for t, dw in enumerate(gradients[:steps], start=1):
        label = (f"adam_step(w, dw, m, v, t={t}, lr={lr}, beta1={beta1}, beta2={beta2}, "
                 f"eps={eps}) in a hidden sequence (arrays of shape {shape})")
        w_got, m_got, v_got = returned(label, student.call(
            "adam_step", w, dw, m, v, t, lr, beta1, beta2, eps), 3, "w, m, v")
        m_new = beta1 * m + (1 - beta1) * dw
        v_new = beta2 * v + (1 - beta2) * dw * dw
        m_hat, v_hat = m_new / (1 - beta1**t), v_new / (1 - beta2**t)
        w_new = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        expect_update(f"m returned by {label}", m_got, m_new, {
            "m = beta1*m + dw: the new gradient needs the factor (1 - beta1)": beta1 * m + dw,
            "m returned after the bias correction; return m itself, correct only inside "
            "the step": m_hat})
        expect_update(f"v returned by {label}", v_got, v_new, {
            "v = beta2*v + (1 - beta2)*|dw|: the second moment averages dw*dw":
            beta2 * v + (1 - beta2) * np.abs(dw),
            "v returned after the bias correction; return v itself": v_hat})
        t_next_m, t_next_v = m_new / (1 - beta1**(t + 1)), v_new / (1 - beta2**(t + 1))
        expect_update(f"w returned by {label}", w_got, w_new, {
            "no bias correction: m and v were not divided by (1 - beta**t)":
            w - lr * m_new / (np.sqrt(v_new) + eps),
            "only m was bias-corrected; v needs v / (1 - beta2**t) too":
            w - lr * m_hat / (np.sqrt(v_new) + eps),
            "eps inside the square root; the step is m_hat / (sqrt(v_hat) + eps)":
            w - lr * m_hat / np.sqrt(v_hat + eps),
            "the bias correction used t + 1; t is already 1 at the first step":
            w - lr * t_next_m / (np.sqrt(t_next_v) + eps),
            "w + lr*...: the step goes uphill": w + lr * m_hat / (np.sqrt(v_hat) + eps),
        })
        w, m, v = w_new, m_new, v_new


# --------------------------------------------------------------------------- Part F: training


TRAIN_DEFAULTS = dict(optimizer="adam", lr=0.01, steps=100, activation="tanh", mu=0.9,
                      beta1=0.9, beta2=0.999, eps=1e-8)
TRAIN_MISTAKES = {  # variant: what losses that match it look like
    "t_from_0": "Adam's step counter starts at t = 0; t must be 1 at the first step (with "
                "t = 0 the bias correction divides by 1 - beta1**0 = 0)",
    "fresh_state": "the optimiser state (v, or m and v) starts again at zero in every step; "
                   "each parameter's state must be kept from one step to the next",
    "loss_after_update": "losses[k] is the loss after step k; record the loss computed in "
                         "step k, before that step's update (losses[0] = the starting loss)",
}


def train_reference(params, X, y, optimizer, lr, steps, activation, mu, beta1, beta2, eps,
                    variant=None):
    """The loop of Part F with plain NumPy; ``variant``: one of TRAIN_MISTAKES, for hints."""
    params = {key: value.copy() for key, value in params.items()}
    first = {key: np.zeros_like(value) for key, value in params.items()}
    second = {key: np.zeros_like(value) for key, value in params.items()}
    losses = []
    for t in range(1, steps + 1):
        loss, grads, _ = mlp_reference(params, X, y, activation)
        if variant != "loss_after_update":
            losses.append(loss)
        if variant == "fresh_state":
            first = {key: np.zeros_like(value) for key, value in params.items()}
            second = {key: np.zeros_like(value) for key, value in params.items()}
        step = t - 1 if variant == "t_from_0" else t
        for key in params:
            g = grads[key]
            if optimizer == "momentum":
                first[key] = mu * first[key] + g
                params[key] = params[key] - lr * first[key]
            else:
                first[key] = beta1 * first[key] + (1 - beta1) * g
                second[key] = beta2 * second[key] + (1 - beta2) * g * g
                m_hat = first[key] / (1 - beta1**step)
                v_hat = second[key] / (1 - beta2**step)
                params[key] = params[key] - lr * m_hat / (np.sqrt(v_hat) + eps)
        if variant == "loss_after_update":
            losses.append(mlp_reference(params, X, y, activation)[0])
    return params, np.array(losses)


def same_losses(got, expected) -> bool:
    return (got.shape == expected.shape and not np.all(np.isnan(expected))
            and bool(np.allclose(got, expected, rtol=1e-9, atol=1e-13, equal_nan=True)))


def train_hint(losses, params, X, y, hyper: dict, passed: dict) -> str:
    """What the losses of a failed run match (a known mistake, an ignored argument, a changed
    default), or, failing that, only what was measured."""
    try:
        got = np.asarray(losses, dtype=float).reshape(-1)
    except (TypeError, ValueError):
        return ""
    for variant, text in TRAIN_MISTAKES.items():
        if variant == "t_from_0" and hyper["optimizer"] != "adam":
            continue
        with np.errstate(all="ignore"):
            if same_losses(got, train_reference(params, X, y, **hyper, variant=variant)[1]):
                return f"Looks like: {text}."
    for name, value in hyper.items():  # an argument the loop does not use (its default instead)
        if name in passed and value != TRAIN_DEFAULTS[name] and name != "steps":
            other = dict(hyper, **{name: TRAIN_DEFAULTS[name]})
            with np.errstate(all="ignore"):
                if same_losses(got, train_reference(params, X, y, **other)[1]):
                    return (f"Looks like: train ignores its argument {name}={value!r} and uses "
                            f"{TRAIN_DEFAULTS[name]!r}; pass it on to the function that needs it.")
    expected = train_reference(params, X, y, **hyper)[1]
    if got.shape != expected.shape:
        return (f"You returned {got.size} losses for steps={hyper['steps']}: one loss per step"
                + ("; without the steps argument train runs 100 steps." if "steps" not in passed
                   else "."))
    relevant = ["optimizer", "lr", "steps", "activation"] + (
        ["mu"] if hyper["optimizer"] == "momentum" else ["beta1", "beta2", "eps"])
    unset = ", ".join(f"{k}={TRAIN_DEFAULTS[k]!r}" for k in relevant if k not in passed)
    if unset and np.allclose(got[:1], expected[:1], rtol=1e-9):
        return (f"This call leaves {unset} to the defaults of your def train(...) line: check "
                "those defaults against the text of Part F.")
    bad = int(np.argmax(~np.isclose(got, expected, rtol=1e-9, atol=1e-13)))
    if bad == 0:
        return ("losses[0] should be mlp_loss_and_grads(params, X, y, activation)[0] for the "
                "starting parameters.")
    right = "losses[0] is" if bad == 1 else f"losses[0] to losses[{bad - 1}] are"
    return (f"{right} right and losses[{bad}] is not, while your "
            "mlp_loss_and_grads and optimiser step pass their own checks here: the update in "
            f"step {bad} differs from the loop of Part F (what train passes to the step).")


def train_prerequisites(optimizer: str, activation: str) -> list:
    return mlp_prerequisites(activation) + [mlp_prerequisite(activation),
                                            MOMENTUM if optimizer == "momentum" else ADAM]


TRAIN_RUNS = [  # (keyword arguments passed, layer sizes): every argument takes two values, and
    # the last runs leave them to their defaults
    (dict(optimizer="momentum", lr=0.3, steps=6, activation="tanh", mu=0.9, beta1=0.9,
          beta2=0.999, eps=1e-8), [2, 3, 2]),
    (dict(optimizer="adam", lr=0.05, steps=6, activation="tanh", mu=0.9, beta1=0.9,
          beta2=0.999, eps=1e-8), [2, 4, 2]),
    (dict(optimizer="momentum", lr=0.2, steps=5, activation="relu", mu=0.5), [2, 4, 2]),
    (dict(optimizer="adam", lr=0.03, steps=4, activation="sigmoid", beta1=0.8, beta2=0.99,
          eps=1e-3), [2, 3, 2]),
    (dict(optimizer="adam", lr=0.02, steps=3, activation="tanh"), [2, 3, 3, 2]),
    (dict(optimizer="momentum", lr=0.1, steps=4), [2, 3, 2]),
    (dict(), [2, 3, 2]),
]


@check("test_train")
def train(student):
    rng = rng_for(110)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    X = np.vstack([corners, np.tile(corners, (2, 1)) + rng.normal(0.0, 0.1, (8, 2))])
    y = np.array([0, 1, 1, 0] * 3)
    for k, (passed, sizes) in enumerate(TRAIN_RUNS):
        params, _, _ = mlp_case(111 + k, sizes, 1)
        hyper = dict(TRAIN_DEFAULTS, **passed)
        shown = ", ".join(f"{key}={value!r}" for key, value in passed.items())
        label = (f"train(params, X, y{', ' if shown else ''}{shown}) on 12 noisy XOR points, "
                 f"layer sizes {sizes}")
        expected_params, expected_losses = train_reference(params, X, y, **hyper)
        with fix_first(student, train_prerequisites(hyper["optimizer"], hyper["activation"])):
            got_params, losses = returned(label, student.call("train", params, X, y, **passed), 2,
                                          "params, losses")
            try:
                check_close(f"losses of {label}", losses, expected_losses, rtol=RTOL, atol=1e-13)
            except AssertionError as failure:
                hint = train_hint(losses, params, X, y, hyper, passed)
                raise CheckFailed(f"{failure}\n  {hint}" if hint else str(failure)) from None
            if not isinstance(got_params, dict) or set(got_params) != set(params):
                raise CheckFailed(f"{label}: the trained params should be a dict with the keys "
                                  f"{sorted(params)}, got {type(got_params).__name__} "
                                  f"{sorted(got_params) if isinstance(got_params, dict) else ''}.")
            for key in params:
                expect_values(f"params[{key!r}] returned by {label}", got_params[key],
                              expected_params[key], rtol=1e-9)
    return ("train reproduces the loss history and the parameters of momentum and Adam runs "
            "(3 to 100 full-batch steps, every activation, every hyper-parameter changed once "
            "and left to its default once) to 1e-9.")
