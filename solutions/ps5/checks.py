"""PS5 hidden checks: run by the grader (SandboxAutograde), never by the student's kernel.

One function per autograded test cell of ps5.ipynb. Every reference is computed HERE, with plain
NumPy formulas written out in this file, on inputs drawn from ``hidden_rng`` (keyed by the
course's secret, so one term's feedback does not reveal the next term's inputs). What is not the
student's answer comes from this file: data, reference functions, and the scripted training and
validation functions lent to ``early_stopping`` as black boxes (so the stopping epoch and the
returned parameters are known exactly). The digits run is graded on what it returned, never by
training again. Messages are for students: what was called, what was expected, the likely
mistake, and which earlier check to fix first when a function builds on a broken one.

Kept out of the release by ``CourseDirectory.ignore`` (nbgrader_config.py). Longer than ~500 lines
because it holds one check, with its reference and its known-mistake diagnoses, for each of the
14 test cells (sections follow the notebook's parts A to H).
"""

import numpy as np

from autograder import BlackBox, CheckFailed, check, hidden_rng
from autograder.checking import returned
from mlpkit.grading import check_close, check_scalar, check_shape

FORBIDDEN_MODULES = {
    "mlpkit.nn": "PS5 asks you to write the losses, their gradients and the training loops yourself",
    "mlpkit.reverse": "PS5 asks you to derive the gradients by hand",
    "mlpkit.forward": "PS5 asks you to derive the gradients by hand",
    "autograd": "PS5 asks you to derive the gradients by hand",
    "torch": "PS5 asks you to derive the gradients by hand",
    "jax": "PS5 asks you to derive the gradients by hand",
}

RTOL = 1e-10  # every value here is a formula's own value: only rounding may differ


# --------------------------------------------------------------------------- helpers


def as_float_array(value):
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    return arr


def matches(got, wrong, rtol: float = 1e-9) -> bool:
    arr, wrong = as_float_array(got), np.asarray(wrong, dtype=float)
    return (arr is not None and arr.shape == wrong.shape and bool(np.all(np.isfinite(arr)))
            and np.allclose(arr, wrong, rtol=rtol, atol=1e-14 * (1 + np.max(np.abs(wrong), initial=0))))


def hint_from(got, candidates: dict) -> str:
    """The description of the first known wrong answer that ``got`` matches, or ""."""
    for description, wrong in candidates.items():
        if matches(got, wrong):
            return description
    return ""


def compare(label: str, got, expected, candidates=None, rtol: float = RTOL, scalar=False) -> None:
    """``got`` equals ``expected`` up to rounding; on failure, name a known mistake it matches."""
    expected = np.asarray(expected, dtype=float)
    try:
        if scalar:
            check_scalar(label, got, float(expected), rtol=rtol, atol=1e-13 * (1 + abs(expected)))
        else:
            check_shape(label, got, expected.shape)
            scale = float(np.max(np.abs(expected), initial=0.0))
            check_close(label, got, expected, rtol=rtol, atol=rtol * max(scale, 1e-300))
    except AssertionError as failure:
        hint = hint_from(got, {k: v for k, v in (candidates or {}).items() if v is not None
                               and np.shape(v) == expected.shape
                               and not np.allclose(np.asarray(v, dtype=float), expected, rtol=1e-6)})
        if hint:
            raise CheckFailed(f"{failure}\n  Looks like: {hint}.") from None
        raise


def earlier_check(student, probe, name: str, test: str) -> str:
    """A hint naming an earlier broken function: ``probe(student)`` returns True when the
    student's earlier function gives the right answer on a small case."""
    try:
        if probe(student):
            return ""
    except AssertionError:
        pass
    return (f"\n  Your {name} is wrong on a small case, and this function is meant to use it: fix "
            f"{test} first.")


def show(array) -> str:
    return np.array2string(np.asarray(array), precision=4, separator=", ", threshold=12)


# --------------------------------------------------------------------------- references


def log_sigmoid_ref(z):
    return -np.logaddexp(0.0, -z)  # real input only: the grader never differentiates it


def sigmoid_ref(z):
    return np.exp(log_sigmoid_ref(z))


def bernoulli_ref(z, y):
    n = z.shape[0]
    loss = -np.sum(y * log_sigmoid_ref(z) + (1 - y) * log_sigmoid_ref(-z)) / n
    return loss, (sigmoid_ref(z) - y) / n


def categorical_ref(Z, y):
    n = Z.shape[0]
    shifted = Z - Z.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    probs = np.exp(log_probs)
    onehot = np.zeros_like(Z)
    onehot[np.arange(n), y] = 1.0
    return -np.mean(log_probs[np.arange(n), y]), (probs - onehot) / n, probs, onehot


def logistic_ref(w, b, X, y, lam):
    z = X @ w + b
    loss, dz = bernoulli_ref(z, y)
    return loss + 0.5 * lam * np.sum(w * w), X.T @ dz + lam * w, float(np.sum(dz))


def schedule_ref(n, batch_size, epochs, seed):
    rng = np.random.default_rng(seed)
    schedule = []
    for _ in range(epochs):
        order = rng.permutation(n)
        schedule.append([order[s:s + batch_size] for s in range(0, n, batch_size)])
    return schedule


def sgd_ref(X, y, lr, batch_size, epochs, lam, seed, schedule=None):
    w, b = np.zeros(X.shape[1]), 0.0
    losses = []
    for epoch in schedule or schedule_ref(len(y), batch_size, epochs, seed):
        for batch in epoch:
            _, dw, db = logistic_ref(w, b, X[batch], y[batch], lam)
            w, b = w - lr * dw, b - lr * db
        losses.append(logistic_ref(w, b, X, y, lam)[0])
    return w, b, np.array(losses)


def split_ref(y, fraction, seed):
    rng = np.random.default_rng(seed)
    val = [rng.permutation(np.flatnonzero(y == c))[:round(fraction * np.sum(y == c))]
           for c in np.unique(y)]
    val_idx = np.sort(np.concatenate(val))
    return np.setdiff1d(np.arange(len(y)), val_idx), val_idx


def mlp_loss_ref(theta, sizes, X, y):
    """Mean softmax cross-entropy of the notebook's tanh MLP on a flat parameter vector."""
    A, start = X, 0
    for l, (p, q) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = theta[start:start + p * q].reshape(p, q)
        b = theta[start + p * q:start + p * q + q]
        start += p * q + q
        A = A @ W + b
        if l < len(sizes) - 2:
            A = np.tanh(A)
    loss, _, probs, _ = categorical_ref(A, y)
    return loss, np.argmax(A, axis=1)


# --------------------------------------------------------------------------- Part A


@check("test_regression_losses")
def regression_losses(student):
    rng = hidden_rng("ps5 regression losses")
    shapes = [(6,), (4, 3), (1, 2), (5, 2), (3, 3), (2, 5)]
    for shape in shapes:
        a = rng.normal(0.0, 2.0, shape)
        y = rng.normal(0.0, 2.0, shape)
        y.flat[::3] = a.flat[::3]  # exact residuals 0: the Laplace kink
        n = shape[0]
        r = a - y
        label = f"gaussian_nll(a, y) with a and y of shape {shape}"
        loss, grad = returned(label, student.call("gaussian_nll", a, y), 2, "loss, grad")
        compare(f"loss of {label}", loss, np.sum(r * r) / (2 * n), {
            "the mean over ALL entries; an example's NLL sums its outputs, and the loss is the "
            "mean over the N = a.shape[0] examples": np.sum(r * r) / (2 * r.size),
            "the factor 1/2 of the Gaussian NLL is missing": np.sum(r * r) / n,
        }, scalar=True)
        compare(f"grad of {label}", grad, r / n, {
            "the gradient misses the factor 1/N of the mean": r,
            "(a - y) / (number of entries); divide by N = a.shape[0]": r / r.size,
            "2 (a - y) / N: the 1/2 of the loss cancels the 2 of the square": 2 * r / n,
            "the sign is flipped: d/da (a - y)^2 / 2 = a - y": -r / n,
        })
        label = f"laplace_nll(a, y) with a and y of shape {shape}"
        loss, grad = returned(label, student.call("laplace_nll", a, y), 2, "loss, grad")
        compare(f"loss of {label}", loss, np.sum(np.abs(r)) / n, {
            "the mean over ALL entries; divide by N = a.shape[0]": np.sum(np.abs(r)) / r.size,
        }, scalar=True)
        compare(f"grad of {label}", grad, np.sign(r) / n, {
            "the gradient is nonzero where a == y: the convention is sign(0) = 0 (np.sign gives "
            "it), not +1": np.where(r >= 0, 1.0, -1.0) / n,
            "the gradient is nonzero where a == y: the convention is sign(0) = 0 (np.sign gives "
            "it), not -1": np.where(r > 0, 1.0, -1.0) / n,
            "the gradient misses the factor 1/N of the mean": np.sign(r),
            "the sign is flipped: d/da |a - y| = sign(a - y)": -np.sign(r) / n,
        })
    return (f"Gaussian and Laplace NLLs and gradients agree on {len(shapes)} hidden cases (vectors, "
            "non-square batches, one example, residuals exactly 0).")


def bernoulli_candidates(z, y):
    n = z.shape[0]
    p = sigmoid_ref(z)
    return {
        "(y - sigmoid(z)) / N: the sign is flipped; the gradient of the NLL is sigmoid(z) - y":
        (y - p) / n,
        "sigmoid(z) - y without the 1/N of the mean": p - y,
        "sigmoid(z) * (1 - sigmoid(z)) * (...): the sigmoid's derivative cancels against the "
        "log; the gradient is (sigmoid(z) - y) / N": p * (1 - p) * (p - y) / n,
    }


def check_bernoulli_case(student, z, y, label_extra=""):
    n = z.shape[0]
    loss_ref, grad_ref = bernoulli_ref(z, y)
    label = f"bernoulli_nll(z, y) with N = {n}{label_extra}"
    loss, grad = returned(label, student.call("bernoulli_nll", z, y), 2, "loss, grad")
    compare(f"loss of {label}", loss, loss_ref, {
        "the SUM over the examples; the loss is their mean": loss_ref * n,
        "-log(sigmoid(z)) for every example, whatever y": np.mean(-log_sigmoid_ref(z)),
    }, scalar=True)
    compare(f"grad of {label}", grad, grad_ref, bernoulli_candidates(z, y))


@check("test_bernoulli_nll")
def bernoulli_nll(student):
    rng = hidden_rng("ps5 bernoulli")
    for size in (7, 1, 12):
        z = rng.normal(0.0, 3.0, size)
        label = f"log_sigmoid(z) with z of shape ({size},)"
        compare(label, student.call("log_sigmoid", z), log_sigmoid_ref(z), {
            "sigmoid(z), not its log": sigmoid_ref(z),
            "log(sigmoid(-z)); check the sign of z": log_sigmoid_ref(-z),
        })
    z = rng.normal(0.0, 2.0, (3, 4))
    compare("log_sigmoid(z) with z of shape (3, 4) (elementwise)", student.call("log_sigmoid", z),
            log_sigmoid_ref(z))
    for size in (9, 1, 6):
        z = rng.normal(0.0, 3.0, size)
        y = rng.integers(0, 2, size).astype(float)
        check_bernoulli_case(student, z, y)
    z = np.array([0.0, 0.0, 2.5])
    check_bernoulli_case(student, z, np.array([1.0, 0.0, 0.0]), " and z = [0, 0, 2.5]")
    return "log_sigmoid and bernoulli_nll agree on 8 hidden cases (batch of 1, z = 0 included)."


@check("test_bernoulli_extreme")
def bernoulli_extreme(student):
    rng = hidden_rng("ps5 bernoulli extreme")  # the labels; the logits are extreme on purpose
    cases = [np.array([-800.0, 800.0, -40.0, 40.0]), np.array([-1000.0, 1000.0, -745.5, 745.5, 0.0]),
             np.array([-710.0, 36.0, -36.0])]
    for z in cases:
        label = f"log_sigmoid({show(z)})"
        got = student.call("log_sigmoid", z)
        arr = as_float_array(got)
        if arr is not None and arr.shape == z.shape and not np.all(np.isfinite(arr)):
            raise CheckFailed(
                f"{label} returned {show(arr)}, with non-finite entries; expected "
                f"{show(log_sigmoid_ref(z))}. np.log(1 / (1 + np.exp(-z))) overflows: exp(800) is "
                "inf, the sigmoid becomes 0 and its log -inf. Use the form without overflow, "
                "(z - |z|) / 2 - log1p(exp(-|z|)).")
        compare(label, got, log_sigmoid_ref(z), rtol=1e-12)
    for z in cases:
        y = rng.integers(0, 2, z.shape).astype(float)
        y[:2] = [1.0, 0.0]  # the first two are confidently wrong: each costs about |z|
        label = f"bernoulli_nll(z={show(z)}, y={show(y)})"
        loss, grad = returned(label, student.call("bernoulli_nll", z, y), 2, "loss, grad")
        loss_arr, grad_arr = as_float_array(loss), as_float_array(grad)
        if (loss_arr is not None and not np.all(np.isfinite(loss_arr))) or (
                grad_arr is not None and not np.all(np.isfinite(grad_arr))):
            raise CheckFailed(
                f"{label} returned loss {loss!r} and grad {show(grad)}: not finite. At a logit of "
                "-800, log(sigmoid(z)) must be -800, not log(0) = -inf: compute it with the "
                "overflow-free log-sigmoid, and sigmoid(z) as exp(log_sigmoid(z)).")
        loss_ref, grad_ref = bernoulli_ref(z, y)
        compare(f"loss of {label}", loss, loss_ref, scalar=True, rtol=1e-12)
        compare(f"grad of {label}", grad, grad_ref, bernoulli_candidates(z, y), rtol=1e-12)
    return "Finite and right at logits of +-710 to +-1000 (losses of 800 and 1000 per example)."


@check("test_categorical_nll")
def categorical_nll(student):
    rng = hidden_rng("ps5 categorical")
    cases = []
    for n, k in [(5, 3), (1, 4), (7, 10), (3, 2), (4, 4)]:
        cases.append((rng.normal(0.0, 3.0, (n, k)), rng.integers(0, k, n)))
    cases.append((np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 3.0], [800.0, 799.0, 0.0]]),
                  np.array([1, 1, 2])))
    for Z, y in cases:
        n = Z.shape[0]
        loss_ref, grad_ref, probs, onehot = categorical_ref(Z, y)
        label = f"categorical_nll(Z, y) with Z of shape {Z.shape}, y = {y.tolist()}"
        if np.max(np.abs(Z)) > 100:
            label = f"categorical_nll(Z={Z.tolist()}, y={y.tolist()})"
        loss, grad = returned(label, student.call("categorical_nll", Z, y), 2, "loss, grad")
        loss_arr, grad_arr = as_float_array(loss), as_float_array(grad)
        if (loss_arr is not None and not np.all(np.isfinite(loss_arr))) or (
                grad_arr is not None and not np.all(np.isfinite(grad_arr))):
            raise CheckFailed(
                f"{label} returned loss {loss!r} and grad {show(grad)}: not finite. Subtract each "
                "row's maximum before np.exp, and compute log-probabilities as shifted - "
                "log(sum(exp(shifted))) (log-sum-exp), never as log(softmax).")
        compare(f"loss of {label}", loss, loss_ref, {
            "the SUM over the rows; the loss is their mean": loss_ref * n}, scalar=True)
        compare(f"grad of {label}", grad, grad_ref, {
            "softmax - onehot without the 1/N of the mean": grad_ref * n,
            "softmax / N: the one-hot labels were not subtracted": probs / n,
            "(onehot - softmax) / N: the sign is flipped": -grad_ref,
        })
    return "Loss and gradient agree on 6 hidden cases (batch of 1, K = 2 to 10, logits of 1000)."


# --------------------------------------------------------------------------- Part B


def bernoulli_ok(student) -> bool:
    z, y = np.array([1.5, -0.5, 0.25]), np.array([1.0, 0.0, 0.0])
    loss, grad = student.call("bernoulli_nll", z, y)
    loss_ref, grad_ref = bernoulli_ref(z, y)
    return matches(loss, loss_ref) and matches(grad, grad_ref)


@check("test_logistic")
def logistic(student):
    rng = hidden_rng("ps5 logistic")
    settings = [(6, 3, None), (5, 2, 0.0), (7, 4, 0.3), (1, 3, 1.5), (4, 4, 0.05)]
    for n, d, lam in settings:
        X = rng.normal(0.0, 1.5, (n, d))
        w = rng.normal(0.0, 1.0, d)
        b = float(rng.normal(0.0, 1.0))
        y = rng.integers(0, 2, n).astype(float)
        lam_used = 0.0 if lam is None else lam
        kwargs = {} if lam is None else {"lam": lam}
        label = (f"logistic_loss_and_grad(w, b, X, y{'' if lam is None else f', lam={lam}'}) with "
                 f"X of shape {X.shape}, b = {b:.4f}")
        got = student.call("logistic_loss_and_grad", w, b, X, y, **kwargs)
        loss, dw, db = returned(label, got, 3, "loss, dw, db")
        loss_ref, dw_ref, db_ref = logistic_ref(w, b, X, y, lam_used)
        p = sigmoid_ref(X @ w + b)
        try:
            compare(f"loss of {label}", loss, loss_ref, {
                "lam * ||w||^2 without the 1/2 (the penalty is (lam / 2) ||w||^2)":
                loss_ref + 0.5 * lam_used * np.sum(w * w),
                "the bias is decayed too ((lam / 2) b^2 in the loss); the text says the bias is "
                "not regularised": loss_ref + 0.5 * lam_used * b * b,
                "no weight decay term in the loss": loss_ref - 0.5 * lam_used * np.sum(w * w),
            }, scalar=True)
            compare(f"dw of {label}", dw, dw_ref, {
                "X^T (y - sigmoid(z)) / N + lam w: the sign of the data term is flipped; the "
                "gradient of the NLL is sigmoid(z) - y": X.T @ (y - p) / n + lam_used * w,
                "the weight decay's gradient is (lam / 2) w; the derivative of (lam / 2) ||w||^2 "
                "is lam w": dw_ref - 0.5 * lam_used * w,
                "no weight decay in the gradient (+ lam w is missing)": dw_ref - lam_used * w,
                "X^T (sigmoid(z) - y) without the 1/N of the mean": X.T @ (p - y) + lam_used * w,
            })
            compare(f"db of {label}", db, db_ref, {
                "db includes lam * b: the bias is decayed, but the text says it is not "
                "regularised": db_ref + lam_used * b,
                "mean(y - sigmoid(z)): the sign is flipped": -db_ref,
            }, scalar=True)
        except AssertionError as failure:
            raise CheckFailed(f"{failure}{earlier_check(student, bernoulli_ok, 'bernoulli_nll', 'test_bernoulli_nll')}") from None
    return ("Loss, dw and db agree for 5 hidden problems (lam = 0, the default, 0.05 to 1.5; a "
            "batch of one; the bias never decayed).")


# --------------------------------------------------------------------------- Part C


def schedule_problem(got, expected, n, batch_size, seed) -> str:
    """Why a schedule differs from the prescribed one, in words."""
    if not isinstance(got, list) or len(got) != len(expected):
        return (f"expected a list with one entry per epoch ({len(expected)}), got "
                f"{len(got) if isinstance(got, list) else type(got).__name__}")
    epochs = []
    for e, batches in enumerate(got):
        if not isinstance(batches, list):
            return f"epoch {e} is a {type(batches).__name__}, not a list of index arrays"
        arrays = [as_float_array(b) for b in batches]
        if any(a is None or a.ndim != 1 for a in arrays):
            return f"epoch {e} holds something other than 1-D index arrays"
        epochs.append(arrays)
    sizes = [[len(a) for a in arrays] for arrays in epochs]
    want = [len(b) for b in expected[0]]
    full = [batch_size] * (n // batch_size)
    if sizes[0] == full and want != full:
        return (f"batch sizes {sizes[0]}, expected {want}: the last, shorter batch of "
                f"{n % batch_size} examples is dropped; keep it (every example once per epoch)")
    if sizes[0] != want:
        return f"batch sizes {sizes[0]} in epoch 0, expected {want}"
    orders = [np.concatenate(arrays) if arrays else np.zeros(0) for arrays in epochs]
    for e, order in enumerate(orders):
        if not np.array_equal(np.sort(order), np.arange(n)):
            return f"epoch {e} does not visit each of the {n} examples exactly once"
    first = np.concatenate(expected[0])
    if np.array_equal(orders[0], first) and len(orders) > 1 and all(
            np.array_equal(o, orders[0]) for o in orders[1:]):
        return ("every epoch uses the same order: draw a NEW rng.permutation(n) at the start of "
                "each epoch from the one generator (not the same permutation reused, not a "
                "generator re-created every epoch)")
    if all(np.array_equal(o, orders[0]) for o in orders[1:]) and len(orders) > 1:
        return "every epoch uses the same order: the order must change from epoch to epoch"
    return (f"the orders are not those of the prescribed random calls: rng = "
            f"np.random.default_rng({seed}) once, then one rng.permutation({n}) per epoch, "
            "batches = consecutive slices of that permutation")


@check("test_minibatch_indices")
def minibatch_indices(student):
    rng = hidden_rng("ps5 minibatch")
    cases = [(10, 4, 3, None), (12, 3, 2, 5), (7, 7, 2, 11), (5, 8, 2, 3), (9, 1, 2, 0),
             (23, 5, 4, 2024),  # then one schedule this term's secret draws
             (int(rng.integers(11, 40)), int(rng.integers(2, 9)), 2, int(rng.integers(0, 10**6)))]
    for n, batch_size, epochs, seed in cases:
        kwargs = {} if seed is None else {"seed": seed}
        label = (f"minibatch_indices({n}, {batch_size}, {epochs}"
                 f"{'' if seed is None else f', seed={seed}'})")
        got = student.call("minibatch_indices", n, batch_size, epochs, **kwargs)
        expected = schedule_ref(n, batch_size, epochs, 0 if seed is None else seed)
        ok = isinstance(got, list) and len(got) == epochs and all(
            isinstance(g, list) and len(g) == len(e) and all(
                as_float_array(a) is not None and np.array_equal(np.asarray(a), b)
                for a, b in zip(g, e)) for g, e in zip(got, expected))
        if not ok:
            raise CheckFailed(f"{label}: {schedule_problem(got, expected, n, batch_size, 0 if seed is None else seed)}.")
    return (f"The batches of {len(cases)} hidden schedules are exactly those of the prescribed "
            "random calls (default seed, batch of 1, a batch larger than n, partial last batches).")


def schedule_ok(student) -> bool:
    got = student.call("minibatch_indices", 7, 3, 2, seed=1)
    expected = schedule_ref(7, 3, 2, 1)
    return isinstance(got, list) and len(got) == 2 and all(
        isinstance(g, list) and len(g) == len(e) and all(np.array_equal(np.asarray(a), b)
                                                          for a, b in zip(g, e))
        for g, e in zip(got, expected))


def logistic_ok(student) -> bool:
    X = np.array([[1.0, -0.5], [0.3, 2.0], [-1.2, 0.4]])
    w, b, y = np.array([0.4, -0.3]), 0.2, np.array([1.0, 0.0, 1.0])
    loss, dw, db = student.call("logistic_loss_and_grad", w, b, X, y, 0.7)
    loss_ref, dw_ref, db_ref = logistic_ref(w, b, X, y, 0.7)
    return matches(loss, loss_ref) and matches(dw, dw_ref) and matches(db, db_ref)


@check("test_sgd_logistic")
def sgd_logistic(student):
    rng = hidden_rng("ps5 sgd")
    runs = [(13, 3, 0.4, 4, 3, None, None), (10, 2, 0.8, 5, 2, 0.05, 7), (6, 4, 0.3, 6, 3, 0.2, None),
            (9, 2, 1.0, 2, 2, None, 3)]
    for n, d, lr, batch_size, epochs, lam, seed in runs:
        X = rng.normal(0.0, 1.0, (n, d))
        y = (X @ rng.normal(0.0, 1.0, d) + rng.normal(0.0, 0.5, n) > 0).astype(float)
        kwargs = {}
        if lam is not None:
            kwargs["lam"] = lam
        if seed is not None:
            kwargs["seed"] = seed
        lam_used, seed_used = lam or 0.0, seed or 0
        label = (f"sgd_logistic(X, y, {lr}, {batch_size}, {epochs}"
                 + "".join(f", {k}={v}" for k, v in kwargs.items())
                 + f") with X of shape {X.shape}")
        w, b, losses = returned(label, student.call("sgd_logistic", X, y, lr, batch_size, epochs,
                                                    **kwargs), 3, "w, b, losses")
        w_ref, b_ref, losses_ref = sgd_ref(X, y, lr, batch_size, epochs, lam_used, seed_used)
        same_order = [schedule_ref(n, batch_size, 1, seed_used)[0]] * epochs
        no_partial = [[b for b in e if len(b) == batch_size]
                      for e in schedule_ref(n, batch_size, epochs, seed_used)]
        candidates = {
            "the same batch order in every epoch: use a new permutation each epoch":
            sgd_ref(X, y, lr, batch_size, epochs, lam_used, seed_used, same_order)[2],
            "the last, shorter batch of each epoch is skipped":
            sgd_ref(X, y, lr, batch_size, epochs, lam_used, seed_used, no_partial)[2],
        }
        try:
            compare(f"losses of {label}", losses, losses_ref, candidates, rtol=1e-9)
            compare(f"w of {label}", w, w_ref, rtol=1e-9)
            compare(f"b of {label}", b, b_ref, rtol=1e-9, scalar=True)
        except AssertionError as failure:
            hints = (earlier_check(student, schedule_ok, "minibatch_indices", "test_minibatch_indices")
                     + earlier_check(student, logistic_ok, "logistic_loss_and_grad", "test_logistic"))
            if not hints:
                hints = ("\n  Your minibatch_indices and logistic_loss_and_grad pass a small case, so "
                         "look at the loop: start from w = 0 and b = 0, one step w -= lr * dw, "
                         "b -= lr * db per batch (the batch's loss, weight decay included), and "
                         "the loss on all of X recorded after each epoch.")
            raise CheckFailed(f"{failure}{hints}") from None
    return ("sgd_logistic reproduces w, b and the per-epoch losses of 4 hidden runs (default lam "
            "and seed, partial last batches).")


@check("test_stratified_split")
def stratified_split(student):
    rng = hidden_rng("ps5 split")
    cases = [([9, 13, 5], 0.2, None), ([6, 10], 0.25, 4), ([12, 7, 3, 20], 0.4, 9), ([4, 4, 4], 0.5, 1)]
    for counts, fraction, seed in cases:
        y = rng.permutation(np.repeat(np.arange(len(counts)), counts))
        n = len(y)
        kwargs = {} if seed is None else {"seed": seed}
        label = (f"stratified_split(y, {fraction}{'' if seed is None else f', seed={seed}'}) for "
                 f"{n} labels with class counts {counts}")
        train_idx, val_idx = returned(label, student.call("stratified_split", y, fraction, **kwargs),
                                      2, "train_idx, val_idx")
        train_ref, val_ref = split_ref(y, fraction, 0 if seed is None else seed)
        train_arr, val_arr = as_float_array(train_idx), as_float_array(val_idx)
        if train_arr is None or val_arr is None or train_arr.ndim != 1 or val_arr.ndim != 1:
            raise CheckFailed(f"{label} should return two 1-D integer index arrays.")
        shared = np.intersect1d(train_arr, val_arr)
        if shared.size:
            raise CheckFailed(f"{label}: {shared.size} indices are in both train_idx and val_idx "
                              f"(e.g. {shared[:5].astype(int).tolist()}): the validation set leaks "
                              "into training. The two parts must not overlap.")
        if not np.array_equal(np.sort(np.concatenate([train_arr, val_arr])), np.arange(n)):
            raise CheckFailed(f"{label}: together the two parts must hold each of the {n} indices "
                              f"exactly once; they hold {len(train_arr) + len(val_arr)} entries.")
        if val_arr.size and not np.all(np.diff(val_arr) > 0) or train_arr.size and not np.all(
                np.diff(train_arr) > 0):
            raise CheckFailed(f"{label}: return both index arrays sorted.")
        per_class = [int(np.sum(y[val_arr.astype(int)] == c)) for c in range(len(counts))]
        wanted = [round(fraction * c) for c in counts]
        if per_class != wanted:
            raise CheckFailed(f"{label}: validation examples per class {per_class}, expected "
                              f"round({fraction} n_c) = {wanted}. Stratify: draw the validation "
                              "examples class by class, not from one permutation of all indices.")
        if not np.array_equal(val_arr, val_ref):
            raise CheckFailed(f"{label}: the right sizes, but not the split of the prescribed random "
                              f"calls: rng = np.random.default_rng({0 if seed is None else seed}) once, "
                              "then for each class in increasing order one rng.permutation of its "
                              "indices, whose first round(val_fraction n_c) entries go to validation.")
    return (f"{len(cases)} hidden splits: disjoint, complete, sorted, stratified, and those of the "
            "prescribed random calls (default seed included).")


def scripted(script, start):
    """A training and a validation function that follow a script: ``train`` adds 1 to every
    entry of w (so w - start counts the epochs), ``val`` returns script[epoch]."""
    start = np.asarray(start, dtype=float)

    def train(w):
        return np.asarray(w) + 1.0

    def val(w):
        epoch = int(round(float(np.real(np.asarray(w).reshape(-1)[0] - start[0]))))
        return float(script[min(max(epoch, 0), len(script) - 1)])

    return BlackBox(train, "train_epoch"), BlackBox(val, "val_loss")


def stopping_ref(script, max_epochs, patience, strict=True):
    """(best epoch, epochs run) of the rule; ``strict=False`` and other patiences model mistakes."""
    best, waited, epoch = 0, 0, 0
    for epoch in range(1, max_epochs + 1):
        if script[epoch] < script[best] or (not strict and script[epoch] <= script[best]):
            best, waited = epoch, 0
        else:
            waited += 1
            if waited == patience:
                break
    return best, epoch


def stopping_mistake(script, max_epochs, patience, trained) -> str:
    """The known wrong rule that stops after ``trained`` epochs on this script, in words."""
    rules = {
        " One epoch too many: stop as soon as `patience` epochs IN A ROW brought no improvement "
        "(an off-by-one in the patience counter).": stopping_ref(script, max_epochs, patience + 1)[1],
        " One epoch too few: an off-by-one in the patience counter (stop after `patience` epochs "
        "without improvement, not patience - 1).": stopping_ref(script, max_epochs, max(patience - 1, 1))[1],
        " A tie with the best loss counted as an improvement: only a STRICTLY lower loss resets "
        "the patience.": stopping_ref(script, max_epochs, patience, strict=False)[1],
    }
    found = [cause for cause, stop in rules.items() if stop == trained]
    return found[0] if len(found) == 1 else ""


@check("test_early_stopping")
def early_stopping(student):
    scripts = [  # (val losses by epoch, max_epochs, patience or None for the default 3)
        ([5.0, 4.0, 3.0, 3.5, 3.2, 3.0, 2.9, 3.1, 3.3, 3.4, 3.6, 9.0, 9.0, 9.0], 12, None),
        ([2.0, 1.5, 1.5, 1.4, 1.6, 1.7, 1.45, 1.3, 1.9, 2.0, 2.1, 2.2], 11, 2),
        ([1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.45, 0.44], 5, 4),
        ([1.0, 1.2, 0.99, 1.3, 1.4, 0.5, 0.4], 6, 1),
        ([3.0, 3.1, 3.2, 3.3, 3.4, 3.5, 2.0, 1.0], 7, 5),
        ([4.0, 3.0, 3.0, 3.0, 3.0, 2.0, 1.0, 0.5, 0.4, 0.3], 9, None),
    ]
    rng = hidden_rng("ps5 early stopping")
    for script, max_epochs, patience in scripts:
        start = np.round(rng.normal(0.0, 3.0, 3), 3)
        train, val = scripted(script, start)
        kwargs = {} if patience is None else {"patience": patience}
        label = (f"early_stopping(w, train_epoch, val_loss, max_epochs={max_epochs}"
                 f"{'' if patience is None else f', patience={patience}'}) with scripted "
                 f"validation losses {script[:max_epochs + 1]} for epochs 0, 1, ...")
        best_w, history = returned(label, student.call("early_stopping", start, train, val,
                                                       max_epochs, **kwargs), 2, "best_w, history")
        best, stopped = stopping_ref(script, max_epochs, 3 if patience is None else patience)
        if not isinstance(history, dict) or not {"val_loss", "best_epoch", "epochs_run"} <= set(history):
            raise CheckFailed(f"{label}: history should be a dict with the keys 'val_loss', "
                              f"'best_epoch' and 'epochs_run', got {type(history).__name__} "
                              f"{sorted(history) if isinstance(history, dict) else ''}.")
        runs, trained = history["epochs_run"], train.count
        if trained != stopped:
            cause = stopping_mistake(script, max_epochs, 3 if patience is None else patience, trained)
            raise CheckFailed(f"{label}: train_epoch was called {trained} times; the rule stops "
                              f"after epoch {stopped} (best epoch {best}).{cause}")
        if val.count != stopped + 1:
            raise CheckFailed(f"{label}: val_loss was called {val.count} times; expected once at "
                              f"the start and once per epoch, {stopped + 1} in all.")
        if runs != stopped:
            raise CheckFailed(f"{label}: history['epochs_run'] = {runs!r}, but train_epoch was "
                              f"called {stopped} times.")
        compare(f"history['val_loss'] of {label}", history["val_loss"], script[:stopped + 1])
        if history["best_epoch"] != best:
            got_best = history["best_epoch"]
            tied = (isinstance(got_best, int) and 0 <= got_best < len(script)
                    and script[got_best] == script[best])
            extra = (" Ties: the EARLIEST epoch with the lowest loss is the best (only a strictly "
                     "lower loss replaces it)." if tied else "")
            raise CheckFailed(f"{label}: history['best_epoch'] = {history['best_epoch']!r}, "
                              f"expected {best}.{extra}")
        arr = as_float_array(best_w)
        if arr is not None and arr.shape == start.shape and stopped != best and np.allclose(
                arr, start + stopped):
            raise CheckFailed(f"{label}: best_w is the LAST parameters (after epoch {stopped}); "
                              f"return the parameters of the best epoch, {best}.")
        compare(f"best_w of {label} (the parameters after epoch {best})", best_w, start + best,
                rtol=1e-12)
    return ("early_stopping stops exactly when the patience rule says, returns the best "
            f"parameters and the history for {len(scripts)} scripted runs (ties, default patience, "
            "max_epochs reached, best at epoch 0).")


# --------------------------------------------------------------------------- Part D


def spd_matrix(rng, d):
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    eigenvalues = rng.uniform(0.5, 6.0, d)
    return (Q * eigenvalues) @ Q.T


@check("test_step_size")
def step_size(student):
    rng = hidden_rng("ps5 step size")
    for d, lr, steps in [(2, 0.1, 5), (3, 0.2, 8), (4, 0.05, 1), (3, 0.3, 0), (1, 0.7, 6)]:
        A = spd_matrix(rng, d)
        A = (A + A.T) / 2
        b, x0 = rng.normal(size=d), rng.normal(size=d)
        label = f"gd_quadratic(A, b, x0, {lr}, {steps}) with a {d}x{d} matrix A"
        xs = [x0]
        for _ in range(steps):
            xs.append(xs[-1] - lr * (A @ xs[-1] - b))
        xs = np.array(xs)
        plus = [x0]
        for _ in range(steps):
            plus.append(plus[-1] + lr * (A @ plus[-1] - b))
        compare(label, student.call("gd_quadratic", A, b, x0, lr, steps), xs, {
            "x_{k+1} = x_k + lr (A x_k - b): the step goes uphill": np.array(plus),
            "the iterates without x0 (row 0 must be x0)": xs[1:],
        }, rtol=1e-12)
    for d in (2, 3, 5, 1):
        A = spd_matrix(rng, d)
        A = (A + A.T) / 2
        eigenvalues = np.linalg.eigvalsh(A)
        label = f"critical_lr(A) for a {d}x{d} symmetric positive definite A = {show(A)}"
        compare(label, student.call("critical_lr", A), 2.0 / eigenvalues[-1], {
            "1/L: the threshold is 2/L (the error along the top eigenvector is multiplied by "
            "1 - eta L, which stays above -1 until eta = 2/L)": 1.0 / eigenvalues[-1],
            "2 / (smallest eigenvalue): the LARGEST eigenvalue L limits the step":
            2.0 / eigenvalues[0],
            "2 / max(diag(A)): the diagonal of A is not its eigenvalues when A is not diagonal; "
            "use np.linalg.eigvalsh(A)": 2.0 / np.max(np.diag(A)),
            "2 / trace(A): use the largest eigenvalue, not the sum": 2.0 / np.trace(A),
        }, scalar=True, rtol=1e-10)
    return "gd_quadratic's iterates and critical_lr = 2/L agree on 9 hidden quadratics (non-diagonal A)."


# --------------------------------------------------------------------------- Part E


@check("test_sanity")
def sanity(student):
    initial = as_float_array(student.get("initial_loss"))
    if initial is None or initial.size != 1 or not np.isfinite(initial).all():
        raise CheckFailed(f"initial_loss should be one finite number, got {initial!r}.")
    if abs(float(initial.reshape(-1)[0]) - np.log(10)) > 0.1:
        raise CheckFailed(f"initial_loss = {float(initial.reshape(-1)[0]):.4f}, but a 10-class "
                          f"softmax with small initial weights starts near log 10 = "
                          f"{np.log(10):.4f}: use init_mlp([64, 32, 10], seed=0) on all of X_digits.")
    tiny = as_float_array(student.get("tiny_losses"))
    if tiny is None or tiny.shape != (200,) or not np.all(np.isfinite(tiny)):
        raise CheckFailed("tiny_losses should be a NumPy array of 200 finite losses (one per Adam "
                          f"step), got {None if tiny is None else tiny.shape}.")
    if abs(tiny[0] - np.log(10)) > 0.3:
        raise CheckFailed(f"tiny_losses[0] = {tiny[0]:.4f}: the loss before the first step should be "
                          "near log 10 (record the loss BEFORE each step, from init_mlp(..., seed=0)).")
    if not tiny[-1] < 0.01:
        raise CheckFailed(f"the tiny batch was not over-fitted: tiny_losses[-1] = {tiny[-1]:.4g}, "
                          "expected below 0.01 after 200 Adam steps with lr = 0.01 on the first 20 "
                          "examples (check the learning rate, the step count and that every step "
                          "uses the updated parameters).")
    error = as_float_array(student.get("batch_gradient_error"))
    if error is None or error.size != 1 or not (0 <= float(error.reshape(-1)[0]) < 1e-12):
        raise CheckFailed(f"batch_gradient_error = {error!r}: expected the relative error of the "
                          "complex-step gradient check (numdiff.check_gradient(...).rel_error), "
                          "about 1e-16 for the provided network.")
    return (f"initial loss {float(initial.reshape(-1)[0]):.4f} (log 10 = 2.3026), tiny batch over-"
            f"fitted to {tiny[-1]:.2e}, gradient check {float(error.reshape(-1)[0]):.1e}.")


# --------------------------------------------------------------------------- Part G


CORNERS = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


@check("test_xor_relu")
def xor_relu(student):
    params = student.call("xor_relu_params")
    if not isinstance(params, dict) or not {"W", "c", "w", "b"} <= set(params):
        raise CheckFailed("xor_relu_params() should return a dict with the keys 'W', 'c', 'w' and "
                          f"'b', got {type(params).__name__} "
                          f"{sorted(params) if isinstance(params, dict) else ''}.")
    W, c, w, b = (as_float_array(params[k]) for k in ("W", "c", "w", "b"))
    if W is None or W.ndim != 2 or W.shape[0] != 2 or W.shape[1] < 1:
        raise CheckFailed(f"W should have shape (2, h) with h >= 1 hidden units, got "
                          f"{None if W is None else W.shape}.")
    h = W.shape[1]
    if c is None or c.shape != (h,) or w is None or w.shape != (h,) or b is None or b.size != 1:
        raise CheckFailed(f"with W of shape (2, {h}), c and w should have shape ({h},) and b be one "
                          f"number; got c {None if c is None else c.shape}, w "
                          f"{None if w is None else w.shape}, b {None if b is None else b.shape}.")
    if not all(np.all(np.isfinite(v)) for v in (W, c, w, b)):
        raise CheckFailed("the weights must be finite numbers.")
    outputs = np.maximum(0.0, CORNERS @ W + c) @ w + float(b.reshape(-1)[0])
    linear = CORNERS @ W @ w + c @ w + float(b.reshape(-1)[0])
    if not np.allclose(outputs, [0.0, 1.0, 1.0, 0.0], rtol=0, atol=1e-12):
        names = {(0, 1, 1, 1): "OR", (0, 0, 0, 1): "AND", (1, 0, 0, 1): "XNOR"}
        rounded = tuple(int(v) for v in np.round(outputs)) if np.allclose(
            outputs, np.round(outputs), atol=1e-9) else None
        which = f" (that is {names[rounded]}, not XOR)" if rounded in names else ""
        raise CheckFailed(f"f(x) = w . relu(x W + c) + b at (0,0), (0,1), (1,0), (1,1) is "
                          f"{show(outputs)}{which}; expected exactly [0, 1, 1, 0].")
    return (f"f = w . relu(x W + c) + b, computed by the grader from your weights ({h} hidden units), "
            f"is exactly 0, 1, 1, 0 at the four corners (the hidden layer is needed: without the "
            f"ReLU the same weights give {show(linear)}).")


def maxout_ref(X, W, b):
    Z = np.einsum("nd,kdm->knm", X, W) + b[:, None, :]
    winner = np.argmax(Z, axis=0)
    return Z.max(axis=0), Z, winner


@check("test_maxout")
def maxout(student):
    rng = hidden_rng("ps5 maxout")
    shapes = [(4, 3, 2, 2), (1, 2, 3, 3), (5, 4, 4, 2), (3, 5, 2, 4), (6, 2, 5, 3)]
    for n, d, m, k in shapes:
        X = rng.normal(0.0, 1.5, (n, d))
        W = rng.normal(0.0, 1.0, (k, d, m))
        b = rng.normal(0.0, 0.5, (k, m))
        G = rng.normal(0.0, 1.0, (n, m))
        label = f"maxout_forward(X, W, b) with X {X.shape}, W {W.shape}, b {b.shape}"
        out_ref, Z, winner = maxout_ref(X, W, b)
        out, cache = returned(label, student.call("maxout_forward", X, W, b), 2, "out, cache")
        compare(f"out of {label}", out, out_ref, {
            "the mean of the pieces, not their maximum": Z.mean(axis=0),
            "the minimum of the pieces, not their maximum": Z.min(axis=0),
        })
        X2, W2, b2 = rng.normal(size=X.shape), rng.normal(size=W.shape), rng.normal(size=b.shape)
        student.call("maxout_forward", X2, W2, b2)  # backward must use its cache, not the latest call
        call = f"maxout_backward(dout, cache) with dout {G.shape} and the cache of {label}"
        dX, dW, db = returned(call, student.call("maxout_backward", G, cache), 3, "dX, dW, db")
        mask = np.stack([(winner == i).astype(float) for i in range(k)])
        dZ = mask * G
        all_pieces = np.broadcast_to(G, (k, n, m))
        compare(f"dX of {call}", dX, np.einsum("knm,kdm->nd", dZ, W), {
            "dout was sent to EVERY piece; only the winning piece of each output gets it":
            np.einsum("knm,kdm->nd", all_pieces, W),
            "dout / k to every piece (an average); the maximum sends it to the winner only":
            np.einsum("knm,kdm->nd", all_pieces, W) / k,
        })
        compare(f"dW of {call}", dW, np.einsum("nd,knm->kdm", X, dZ), {
            "dout was sent to EVERY piece; only the winning piece of each output gets it":
            np.einsum("nd,knm->kdm", X, all_pieces),
            "dout / k to every piece (an average); the maximum sends it to the winner only":
            np.einsum("nd,knm->kdm", X, all_pieces) / k,
        })
        compare(f"db of {call}", db, dZ.sum(axis=1), {
            "dout was sent to EVERY piece; only the winning piece of each output gets it":
            all_pieces.sum(axis=1),
            "db averaged over the batch; the bias gradient is the SUM over the rows":
            dZ.mean(axis=1),
        })
    return (f"maxout forward and backward agree on {len(shapes)} hidden shapes (k = 2 to 4 pieces, "
            "a batch of one), using the cache of an earlier call.")


# --------------------------------------------------------------------------- Part H


def split_ok(student) -> bool:
    y = np.array([0, 1, 1, 0, 2, 1, 0, 2, 1, 0])
    train_idx, val_idx = student.call("stratified_split", y, 0.5, seed=2)
    train_ref, val_ref = split_ref(y, 0.5, 2)
    return matches(train_idx, train_ref) and matches(val_idx, val_ref)


def early_stopping_ok(student) -> bool:
    script = [3.0, 2.0, 2.5, 1.0, 1.5, 1.6, 1.7, 0.5]
    train, val = scripted(script, np.zeros(2))
    best_w, history = student.call("early_stopping", np.zeros(2), train, val, 7, patience=2)
    return (isinstance(history, dict) and history.get("best_epoch") == 3
            and history.get("epochs_run") == 5 and matches(best_w, np.full(2, 3.0)))


def digits_dependencies(student) -> str:
    """Which earlier functions the digits cell uses are broken, as a hint naming their checks."""
    broken = []
    for name, probe, test in (("stratified_split", split_ok, "test_stratified_split"),
                              ("minibatch_indices", schedule_ok, "test_minibatch_indices"),
                              ("early_stopping", early_stopping_ok, "test_early_stopping")):
        try:
            ok = probe(student)
        except AssertionError:  # CheckFailed too: missing, raised, hung
            ok = False
        if not ok:
            broken.append((name, test))
    if not broken:
        return ""
    return ("\n  The digits cell uses " + ", ".join(name for name, _ in broken) + ", which "
            + ("fails" if len(broken) == 1 else "fail") + " a small case: fix "
            + " and ".join(test for _, test in broken) + " first.")


def get_digits_variable(student, name):
    try:
        return student.get(name)
    except AssertionError as failure:
        raise CheckFailed(f"{failure}{digits_dependencies(student)}") from None


@check("test_digits")
def digits(student):
    from mlpkit import data

    X_digits, _, y_digits, _ = data.load_digits(seed=0)
    n = len(y_digits)
    train_idx = as_float_array(get_digits_variable(student, "digits_train_idx"))
    val_idx = as_float_array(get_digits_variable(student, "digits_val_idx"))
    if train_idx is None or val_idx is None or train_idx.ndim != 1 or val_idx.ndim != 1:
        raise CheckFailed("digits_train_idx and digits_val_idx should be 1-D integer index arrays.")
    if val_idx.size == 0 or np.any(val_idx != np.round(val_idx)) or val_idx.min() < 0 or val_idx.max() >= n:
        raise CheckFailed(f"digits_val_idx should hold indices into the {n} training images.")
    val_idx = val_idx.astype(int)
    shared = np.intersect1d(train_idx, val_idx)
    if shared.size:
        raise CheckFailed(f"{shared.size} of the validation images are also in digits_train_idx: "
                          "the validation set leaks into training, so its loss says nothing about "
                          "new images. The split must be disjoint (check your stratified_split, "
                          "test_stratified_split).")
    counts = np.bincount(y_digits, minlength=10)
    per_class = np.bincount(y_digits[val_idx], minlength=10)
    wanted = np.array([round(0.2 * c) for c in counts])
    if not np.array_equal(per_class, wanted):
        raise CheckFailed(f"validation images per class {per_class.tolist()}, expected round(0.2 n_c) "
                          f"= {wanted.tolist()}: not stratified_split(y_digits, 0.2, seed=0) (check "
                          "test_stratified_split first).")
    history = get_digits_variable(student, "digits_history")
    if not isinstance(history, dict) or not {"val_loss", "best_epoch", "epochs_run"} <= set(history):
        raise CheckFailed("digits_history should be the history dict early_stopping returned, with "
                          "the keys 'val_loss', 'best_epoch' and 'epochs_run'.")
    losses = as_float_array(history["val_loss"])
    runs, best = as_float_array(history["epochs_run"]), as_float_array(history["best_epoch"])
    if (losses is None or losses.ndim != 1 or runs is None or best is None or runs.size != 1
            or best.size != 1 or runs.reshape(-1)[0] % 1 or best.reshape(-1)[0] % 1):
        raise CheckFailed("digits_history['val_loss'] should be a list of numbers and 'best_epoch', "
                          "'epochs_run' integers.")
    runs, best = int(runs.reshape(-1)[0]), int(best.reshape(-1)[0])
    if len(losses) != runs + 1:
        raise CheckFailed(f"digits_history has {len(losses)} validation losses for {runs} epochs; "
                          "expected one per epoch plus epoch 0.")
    if best != int(np.argmin(losses)):
        raise CheckFailed(f"digits_history['best_epoch'] = {best}, but the lowest validation loss is "
                          f"at epoch {int(np.argmin(losses))} (fix early_stopping: test_early_stopping).")
    if not (runs == 40 or runs - best == 5):
        raise CheckFailed(f"the run stopped after epoch {runs} with its best epoch at {best}: with "
                          "patience 5 it must stop exactly 5 epochs after the best (or after 40 "
                          "epochs). Fix the patience counter of early_stopping (test_early_stopping).")
    theta = as_float_array(get_digits_variable(student, "digits_best_theta"))
    sizes = [64, 32, 10]
    size = 64 * 32 + 32 + 32 * 10 + 10
    if theta is None or theta.shape != (size,):
        raise CheckFailed(f"digits_best_theta should be the flat parameter vector of the [64, 32, 10] "
                          f"network ({size} entries), got {None if theta is None else theta.shape}.")
    loss, predictions = mlp_loss_ref(theta, sizes, X_digits[val_idx], y_digits[val_idx])
    if not np.isclose(loss, losses[best], rtol=1e-9, atol=1e-12):
        last = f" (history's last loss is {losses[-1]:.6f})" if runs != best else ""
        hint = (" It matches the LAST epoch: early_stopping must return the best parameters, not "
                "the last (test_early_stopping)." if np.isclose(loss, losses[-1], rtol=1e-9) else "")
        raise CheckFailed(f"digits_best_theta has validation loss {loss:.6f} on your validation "
                          f"images, but digits_history records {losses[best]:.6f} for the best "
                          f"epoch {best}{last}: the returned parameters are not those of the best "
                          f"epoch.{hint}")
    accuracy = float(np.mean(predictions == y_digits[val_idx]))
    if accuracy < 0.95:
        raise CheckFailed(f"validation accuracy of digits_best_theta: {accuracy:.4f}, below 0.95.")
    return (f"split disjoint and stratified, history consistent (best epoch {best} of {runs}), "
            f"digits_best_theta has the recorded best validation loss {loss:.4f} and accuracy "
            f"{accuracy:.4f}.")
