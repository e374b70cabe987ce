"""PS4 submission bank: what each kind of submission must score, graded by real nbgrader runs.

Each submission is the RELEASED notebook with every answer cell filled with the model solution
(taken from solutions/ps4/ps4.ipynb), except the answer cells it replaces. ``lost`` names the
autograded test cells that must score 0; every other autograded cell must get full marks.
Dependencies between checks: the MLP check uses the linear, tanh, ReLU, sigmoid and softmax
functions (its cases cover all three activations); the training check uses the MLP (with every
activation), the softmax and both optimisers. A mistake therefore also loses the checks of
what is built on it.
``messages`` gives, for failing cells, the key phrase of the message each must show: the cause
the check names (a cell that fails only because of an earlier function names that check first).
``{course_root}`` in a source is replaced by the grading course's folder.
Built by tests/submissions/build.py; graded by tests/test_grading_pipeline.py.
"""

from __future__ import annotations

import attacks  # tests/submissions/attacks.py: attack code shared by every bank
from entry import Bank  # tests/submissions/entry.py: the bank and its entries, every problem set


BANK = Bank("ps4")
add = BANK.add
MODEL_MLP = BANK.model["answer_mlp"]


LINEAR_AND_UP = ("test_linear_backward", "test_mlp_loss_and_grads", "test_train")

# --------------------------------------------------------------------------- correct styles

add("solution", description="the model solution")

add("alt_einsum_dicts", description="correct, another style: einsum, caches as dicts of "
    "arrays, tanh' as 1/cosh^2 of the cached input, sigmoid via tanh, a log-sum-exp loss with a "
    "one-hot matrix, layers kept in a list of (forward, backward) pairs, a vectorised grad_check "
    "with np.divide(where=...), Adam with ** 0.5",
    answers={
        "answer_linear_forward": '''
def linear_forward(X, W, b):
    return np.einsum("nd,dm->nm", X, W) + b[None, :], {"X": X, "W": W}
''',
        "answer_linear_backward": '''
def linear_backward(dout, cache):
    X, W = cache["X"], cache["W"]
    return np.einsum("nm,dm->nd", dout, W), np.einsum("nd,nm->dm", X, dout), np.ones(len(dout)) @ dout
''',
        "answer_tanh": '''
def tanh_forward(X):
    return np.tanh(X), {"X": X}


def tanh_backward(dout, cache):
    return dout / np.cosh(cache["X"]) ** 2
''',
        "answer_relu": '''
def relu_forward(X):
    return np.maximum(X, 0.0), {"X": X}


def relu_backward(dout, cache):
    return np.where(cache["X"] > 0, dout, 0.0)
''',
        "answer_sigmoid": '''
def sigmoid_forward(X):
    out = 0.5 * (1.0 + np.tanh(0.5 * X))
    return out, {"out": out}


def sigmoid_backward(dout, cache):
    s = cache["out"]
    return dout * (s - s * s)
''',
        "answer_softmax_cross_entropy": '''
def softmax_cross_entropy(logits, y):
    n, k = logits.shape
    m = np.max(logits, axis=1)
    log_sum_exp = m + np.log(np.sum(np.exp(logits - m[:, None]), axis=1))
    onehot = np.eye(k)[y]
    loss = np.mean(log_sum_exp - np.sum(onehot * logits, axis=1))
    probabilities = np.exp(logits - log_sum_exp[:, None])
    return loss, (probabilities - onehot) / n
''',
        "answer_mlp": '''
ACT = {"tanh": (tanh_forward, tanh_backward), "relu": (relu_forward, relu_backward),
       "sigmoid": (sigmoid_forward, sigmoid_backward)}


def layer_list(params, activation):
    count = len([key for key in params if key.startswith("W")])
    layers = []
    for l in range(1, count + 1):
        layers.append(("linear", l))
        if l < count:
            layers.append(("act", l))
    return layers


def mlp_loss_and_grads(params, X, y, activation="tanh"):
    forward, backward = ACT[activation]
    stack = []
    h = X
    for kind, l in layer_list(params, activation):
        if kind == "linear":
            h, c = linear_forward(h, params["W%d" % l], params["b%d" % l])
        else:
            h, c = forward(h)
        stack.append((kind, l, c))
    loss, g = softmax_cross_entropy(h, y)
    grads = {}
    for kind, l, c in reversed(stack):
        if kind == "linear":
            g, grads["W%d" % l], grads["b%d" % l] = linear_backward(g, c)
        else:
            g = backward(g, c)
    return loss, grads


def mlp_predict(params, X, activation="tanh"):
    forward, _ = ACT[activation]
    h = X
    for kind, l in layer_list(params, activation):
        h = (linear_forward(h, params["W%d" % l], params["b%d" % l]) if kind == "linear"
             else forward(h))[0]
    return h.argmax(axis=1)
''',
        "answer_grad_check": '''
def grad_check(f, x, analytic_grad, h=1e-5):
    x = np.asarray(x, dtype=float)
    a = np.asarray(analytic_grad, dtype=float)
    numerical = np.zeros_like(x)
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = h
        step = step.reshape(x.shape)
        numerical.flat[i] = (f(x + step) - f(x - step)) / (2 * h)
    scale = np.maximum(np.abs(a), np.abs(numerical))
    errors = np.divide(np.abs(a - numerical), scale, out=np.zeros_like(scale), where=scale > 0)
    return errors.max()
''',
        "answer_sgd_momentum": '''
def sgd_momentum_step(w, dw, v, lr, mu):
    v_new = dw + mu * v
    return w - v_new * lr, v_new
''',
        "answer_adam": '''
def adam_step(w, dw, m, v, t, lr, beta1, beta2, eps):
    m_new = beta1 * m + (1 - beta1) * dw
    v_new = beta2 * v + (1 - beta2) * dw**2
    step = (m_new / (1 - beta1**t)) / ((v_new / (1 - beta2**t)) ** 0.5 + eps)
    return w - lr * step, m_new, v_new
''',
        "answer_train": '''
def train(params, X, y, optimizer="adam", lr=0.01, steps=100, activation="tanh", mu=0.9,
          beta1=0.9, beta2=0.999, eps=1e-8):
    names = sorted(params)
    current = [params[name].copy() for name in names]
    state = [[np.zeros_like(p), np.zeros_like(p)] for p in current]
    losses = np.zeros(steps)
    for step in range(steps):
        loss, grads = mlp_loss_and_grads(dict(zip(names, current)), X, y, activation=activation)
        losses[step] = loss
        for k, name in enumerate(names):
            if optimizer == "momentum":
                current[k], state[k][0] = sgd_momentum_step(current[k], grads[name], state[k][0],
                                                            lr, mu)
            else:
                current[k], state[k][0], state[k][1] = adam_step(
                    current[k], grads[name], state[k][0], state[k][1], step + 1, lr, beta1,
                    beta2, eps)
    return dict(zip(names, current)), losses
''',
    })

add("alt_loops", description="correct, loop style: weight and bias gradients one output unit "
    "at a time, caches as tuples with extra entries, a float mask, sigmoid through logaddexp, "
    "the softmax one class at a time, the MLP by while loops, CS231n's in-place grad_check on a "
    "copy (np.nditer), optimisers updating copies in place",
    answers={
        "answer_linear_backward": '''
def linear_backward(dout, cache):
    X, W = cache
    dW = np.zeros(W.shape)
    db = np.zeros(W.shape[1])
    for j in range(W.shape[1]):  # one output unit at a time
        dW[:, j] = X.T @ dout[:, j]
        db[j] = np.sum(dout[:, j])
    return dout @ W.T, dW, db
''',
        "answer_tanh": '''
def tanh_forward(X):
    out = np.tanh(X)
    return out, (X, out)


def tanh_backward(dout, cache):
    _, out = cache
    return dout * (1.0 - out**2)
''',
        "answer_relu": '''
def relu_forward(X):
    mask = (X > 0).astype(float)
    return X * mask, (mask,)


def relu_backward(dout, cache):
    (mask,) = cache
    return dout * mask
''',
        "answer_sigmoid": '''
def sigmoid_forward(X):
    out = np.exp(-np.logaddexp(0.0, -X))
    return out, (out,)


def sigmoid_backward(dout, cache):
    out = cache[0]
    return dout * out * (1.0 - out)
''',
        "answer_softmax_cross_entropy": '''
def softmax_cross_entropy(logits, y):
    n, k = logits.shape
    z = logits - np.max(logits, axis=1, keepdims=True)
    total = np.zeros(n)
    for j in range(k):
        total += np.exp(z[:, j])
    log_norm = np.log(total)
    loss = 0.0
    dlogits = np.zeros((n, k))
    for j in range(k):  # one class at a time
        picked = y == j
        loss += np.sum(log_norm[picked] - z[picked, j])
        dlogits[:, j] = np.exp(z[:, j] - log_norm) - picked
    return loss / n, dlogits / n
''',
        "answer_mlp": '''
def mlp_loss_and_grads(params, X, y, activation="tanh"):
    forward = {"tanh": tanh_forward, "relu": relu_forward, "sigmoid": sigmoid_forward}[activation]
    backward = {"tanh": tanh_backward, "relu": relu_backward, "sigmoid": sigmoid_backward}[activation]
    n_layers = len(params) // 2
    linear_caches, act_caches = [], []
    h, l = X, 1
    while l <= n_layers:
        h, c = linear_forward(h, params["W" + str(l)], params["b" + str(l)])
        linear_caches.append(c)
        if l < n_layers:
            h, c = forward(h)
            act_caches.append(c)
        l += 1
    loss, g = softmax_cross_entropy(h, y)
    grads = {}
    l = n_layers
    while l >= 1:
        g, grads["W" + str(l)], grads["b" + str(l)] = linear_backward(g, linear_caches[l - 1])
        if l > 1:
            g = backward(g, act_caches[l - 2])
        l -= 1
    return loss, grads


def mlp_predict(params, X, activation="tanh"):
    forward = {"tanh": tanh_forward, "relu": relu_forward, "sigmoid": sigmoid_forward}[activation]
    n_layers = len(params) // 2
    h = X
    for l in range(1, n_layers + 1):
        h = h @ params["W" + str(l)] + params["b" + str(l)]
        if l < n_layers:
            h = forward(h)[0]
    return np.array([int(np.argmax(row)) for row in h])
''',
        "answer_grad_check": '''
def grad_check(f, x, analytic_grad, h=1e-5):
    x = x.copy()
    worst = 0.0
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        fxph = f(x)
        x[ix] = oldval - h
        fxmh = f(x)
        x[ix] = oldval
        grad_numerical = (fxph - fxmh) / (2 * h)
        grad_analytic = analytic_grad[ix]
        if grad_numerical != 0 or grad_analytic != 0:
            rel = abs(grad_numerical - grad_analytic) / max(abs(grad_numerical), abs(grad_analytic))
            worst = max(worst, rel)
        it.iternext()
    return worst
''',
        "answer_sgd_momentum": '''
def sgd_momentum_step(w, dw, v, lr, mu):
    v = v.copy()
    v *= mu
    v += dw
    w = w.copy()
    w -= lr * v
    return w, v
''',
        "answer_adam": '''
def adam_step(w, dw, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * dw
    mt = m / (1 - beta1**t)
    v = beta2 * v + (1 - beta2) * (dw**2)
    vt = v / (1 - beta2**t)
    w = w.copy()
    w -= lr * mt / (np.sqrt(vt) + eps)
    return w, m, v
''',
    })

add("alt_in_place", description="correct, a third style: layers that cache their input and "
    "recompute (tanh, the plain sigmoid formula, clip for ReLU), a grad_check that perturbs one "
    "entry in place and undoes it by subtraction (the point differs from x - h e_i by rounding)",
    answers={
        "answer_tanh": '''
def tanh_forward(X):
    return np.tanh(X), (X,)


def tanh_backward(dout, cache):
    (X,) = cache
    return dout * (1 - np.tanh(X) ** 2)
''',
        "answer_relu": '''
def relu_forward(X):
    return X.clip(min=0), X


def relu_backward(dout, cache):
    return dout * (cache > 0)
''',
        "answer_sigmoid": '''
def sigmoid_forward(X):
    return 1 / (1 + np.exp(-X)), X


def sigmoid_backward(dout, cache):
    s = 1 / (1 + np.exp(-cache))
    return dout * s * (1 - s)
''',
        "answer_grad_check": '''
def grad_check(f, x, analytic_grad, h=1e-5):
    x = x.astype(float)  # a copy
    errors = []
    for i in range(x.size):
        x.flat[i] += h
        f_plus = f(x)
        x.flat[i] -= 2 * h
        f_minus = f(x)
        x.flat[i] += h
        n = (f_plus - f_minus) / (2 * h)
        a = analytic_grad.flat[i]
        errors.append(0.0 if a == n == 0 else abs(a - n) / max(abs(a), abs(n)))
    return max(errors)
''',
    })

add("deleted_test_cell", description="the solution with a visible test cell deleted: nbgrader "
    "puts it back (OverwriteCells.add_missing_cells) and the grader grades it",
    delete=("test_linear_forward",))

# --------------------------------------------------------------------------- plausible mistakes

add("mistake_transposed_dW", description="weight gradient dout.T @ X instead of X.T @ dout",
    answers={"answer_linear_backward": '''
def linear_backward(dout, cache):
    X, W = cache
    return dout @ W.T, dout.T @ X, dout.sum(axis=0)
'''}, lost=LINEAR_AND_UP,
    messages={'test_linear_backward': 'looks transposed',
              'test_mlp_loss_and_grads': 'Fix test_linear_backward first',
              'test_train': 'Fix test_linear_backward first'})

add("mistake_bias_not_summed", description="bias gradient not summed over the batch (db = dout)",
    answers={"answer_linear_backward": '''
def linear_backward(dout, cache):
    X, W = cache
    return dout @ W.T, X.T @ dout, dout
'''}, lost=LINEAR_AND_UP,
    messages={'test_linear_backward': 'not summed over the batch',
              'test_mlp_loss_and_grads': 'Fix test_linear_backward first',
              'test_train': 'Fix test_linear_backward first'})

add("mistake_bias_averaged", description="bias gradient averaged over the batch where the sum "
    "is needed (right for a batch of one only)",
    answers={"answer_linear_backward": '''
def linear_backward(dout, cache):
    X, W = cache
    return dout @ W.T, X.T @ dout, dout.mean(axis=0)
'''}, lost=LINEAR_AND_UP,
    messages={'test_linear_backward': 'db = dout.mean(axis=0)',
              'test_mlp_loss_and_grads': 'Fix test_linear_backward first',
              'test_train': 'Fix test_linear_backward first'})

add("mistake_tanh_preactivation", description="tanh derivative 1 - s**2 computed from the "
    "pre-activation s (the cached input) instead of the output",
    answers={"answer_tanh": '''
def tanh_forward(X):
    return np.tanh(X), X


def tanh_backward(dout, cache):
    s = cache
    return dout * (1 - s**2)
'''}, lost=("test_tanh", "test_mlp_loss_and_grads", "test_train"),
    messages={'test_tanh': "from the layer's INPUT X",
              'test_mlp_loss_and_grads': 'Fix test_tanh first',
              'test_train': 'Fix test_tanh first'})

add("mistake_sigmoid_preactivation", description="sigmoid derivative s*(1-s) computed on the "
    "pre-activation s instead of the output",
    answers={"answer_sigmoid": '''
def sigmoid_forward(X):
    return 1 / (1 + np.exp(-X)), X


def sigmoid_backward(dout, cache):
    s = cache
    return dout * s * (1 - s)
'''}, lost=("test_sigmoid", "test_mlp_loss_and_grads", "test_train"),
    messages={'test_sigmoid': "from the layer's INPUT X",
              'test_mlp_loss_and_grads': 'Fix test_sigmoid first',
              'test_train': 'Fix test_sigmoid first'})

add("mistake_relu_output", description="ReLU backward multiplies by the output instead of the "
    "0/1 mask",
    answers={"answer_relu": '''
def relu_forward(X):
    out = np.maximum(X, 0)
    return out, out


def relu_backward(dout, cache):
    return dout * cache
'''}, lost=("test_relu", "test_mlp_loss_and_grads", "test_train"),
    messages={'test_relu': "ReLU's derivative is the 0/1 mask",
              'test_mlp_loss_and_grads': 'Fix test_relu first',
              'test_train': 'Fix test_relu first'})

add("mistake_softmax_unstable", description="softmax without the max shift: right for moderate "
    "logits, NaN at logits of 1000",
    answers={"answer_softmax_cross_entropy": '''
def softmax_cross_entropy(logits, y):
    N = logits.shape[0]
    exp = np.exp(logits)
    probs = exp / exp.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(N), y]))
    dlogits = probs.copy()
    dlogits[np.arange(N), y] -= 1
    return loss, dlogits / N
'''}, lost=("test_softmax_stability",),
    messages={'test_softmax_stability': 'exp(1000) overflows'})

add("mistake_softmax_log_of_probability", description="max shift, but the loss is "
    "log(softmax): infinite when the true class is 2000 below the maximum",
    answers={"answer_softmax_cross_entropy": '''
def softmax_cross_entropy(logits, y):
    N = logits.shape[0]
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = exp / exp.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(N), y]))
    dlogits = probs.copy()
    dlogits[np.arange(N), y] -= 1
    return loss, dlogits / N
'''}, lost=("test_softmax_stability",),
    messages={'test_softmax_stability': 'dlogits is finite, but the loss is not'})

add("mistake_softmax_gradient_no_mean", description="loss averaged, but the gradient misses "
    "the 1/N",
    answers={"answer_softmax_cross_entropy": '''
def softmax_cross_entropy(logits, y):
    N = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(N), y].mean()
    dlogits = np.exp(log_probs)
    dlogits[np.arange(N), y] -= 1
    return loss, dlogits
'''}, lost=("test_softmax_cross_entropy", "test_softmax_stability", "test_mlp_loss_and_grads",
            "test_train"),
    messages={'test_softmax_cross_entropy': 'without the 1/N',
              'test_softmax_stability': 'Fix test_softmax_cross_entropy first',
              'test_mlp_loss_and_grads': 'Fix test_softmax_cross_entropy first',
              'test_train': 'Fix test_softmax_cross_entropy first'})

add("mistake_momentum_sign", description="momentum step with the wrong sign (w + lr v)",
    answers={"answer_sgd_momentum": '''
def sgd_momentum_step(w, dw, v, lr, mu):
    v = mu * v + dw
    return w + lr * v, v
'''}, lost=("test_sgd_momentum", "test_train"),
    messages={'test_sgd_momentum': 'the step goes uphill',
              'test_train': 'Fix test_sgd_momentum first'})

add("mistake_adam_no_bias_correction", description="Adam without the bias correction",
    answers={"answer_adam": '''
def adam_step(w, dw, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw * dw
    return w - lr * m / (np.sqrt(v) + eps), m, v
'''}, lost=("test_adam", "test_train"),
    messages={'test_adam': 'no bias correction',
              'test_train': 'Fix test_adam first'})

add("mistake_train_t_from_zero", description="train counts Adam's steps from t = 0 (division "
    "by 1 - beta**0 = 0 in the first step)",
    answers={"answer_train": '''
def train(params, X, y, optimizer="adam", lr=0.01, steps=100, activation="tanh", mu=0.9,
          beta1=0.9, beta2=0.999, eps=1e-8):
    params = {k: v.copy() for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in params.items()}
    s = {k: np.zeros_like(v) for k, v in params.items()}
    losses = []
    for t in range(steps):
        loss, grads = mlp_loss_and_grads(params, X, y, activation)
        losses.append(loss)
        for k in params:
            if optimizer == "momentum":
                params[k], m[k] = sgd_momentum_step(params[k], grads[k], m[k], lr, mu)
            else:
                params[k], m[k], s[k] = adam_step(params[k], grads[k], m[k], s[k], t, lr, beta1,
                                                  beta2, eps)
    return params, losses
'''}, lost=("test_train",),
    messages={'test_train': 't must be 1 at the first step'})

add("mistake_grad_check_forward", description="grad_check with forward differences",
    answers={"answer_grad_check": '''
def grad_check(f, x, analytic_grad, h=1e-5):
    x = np.array(x, dtype=float)
    fx = f(x)
    worst = 0.0
    for index in np.ndindex(x.shape):
        x_plus = x.copy()
        x_plus[index] += h
        numerical = (f(x_plus) - fx) / h
        scale = max(abs(analytic_grad[index]), abs(numerical))
        if scale > 0:
            worst = max(worst, abs(analytic_grad[index] - numerical) / scale)
    return worst
'''}, lost=("test_grad_check",),
    messages={'test_grad_check': 'forward differences'})

add("mistake_grad_check_norm", description="grad_check returns the relative error in norm "
    "instead of the worst entry",
    answers={"answer_grad_check": '''
def grad_check(f, x, analytic_grad, h=1e-5):
    x = np.array(x, dtype=float)
    numerical = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = h
        numerical[index] = (f(x + step) - f(x - step)) / (2 * h)
    return np.linalg.norm(analytic_grad - numerical) / np.linalg.norm(numerical)
'''}, lost=("test_grad_check",),
    messages={'test_grad_check': 'relative error in norm'})

add("mistake_uses_nn", description="linear_backward delegates to mlpkit.nn.Linear (numerically "
    "right, but the task is to write it: the import is refused while grading)",
    answers={"answer_linear_backward": '''
def linear_backward(dout, cache):
    from mlpkit import nn
    X, W = cache
    layer = nn.Linear.from_weights(W)
    layer.forward(X)
    dX = layer.backward(dout)
    return dX, layer.dL_dW, layer.dL_db
'''}, lost=LINEAR_AND_UP,
    messages={'test_linear_backward': 'mlpkit.nn is not available',
              'test_mlp_loss_and_grads': 'Fix test_linear_backward first',
              'test_train': 'Fix test_linear_backward first'})

# Mistakes that earlier checks gave full marks or misleading hints (issue 12): parameters no
# check varied, arguments changed in place, state kept between calls, MLP-level slips.

TRAIN = '''
def train(params, X, y, optimizer="adam", lr=0.01, steps=100, activation="tanh", mu=0.9,
          beta1=0.9, beta2=0.999, eps=1e-8):
    params = {name: value.copy() for name, value in params.items()}
    velocity = {name: np.zeros_like(value) for name, value in params.items()}
    second = {name: np.zeros_like(value) for name, value in params.items()}
    losses = []
    for t in range(1, steps + 1):
        loss, grads = mlp_loss_and_grads(params, X, y, activation)
        losses.append(loss)
        for name in params:
            if optimizer == "momentum":
                params[name], velocity[name] = sgd_momentum_step(params[name], grads[name],
                                                                 velocity[name], lr, mu)
            else:
                params[name], velocity[name], second[name] = adam_step(
                    params[name], grads[name], velocity[name], second[name], t, lr, beta1,
                    beta2, eps)
    return params, losses
'''


def train_variant(old: str, new: str) -> str:
    assert TRAIN.count(old) == 1, old
    return TRAIN.replace(old, new)


add("alt_train_style", description="correct train in another style (the base of the train "
    "mistakes below)", answers={"answer_train": TRAIN})

add("mistake_train_ignores_activation", description="train calls mlp_loss_and_grads without "
    "its activation: always tanh (the old checks only trained tanh networks)",
    answers={"answer_train": train_variant("mlp_loss_and_grads(params, X, y, activation)",
                                           "mlp_loss_and_grads(params, X, y)")},
    lost=("test_train",), messages={"test_train": "ignores its argument activation='relu'"})

add("mistake_train_fixed_eps", description="train hands Adam eps=1e-8 written out instead of "
    "its argument eps (the old checks always passed 1e-8)",
    answers={"answer_train": train_variant("beta1,\n                    beta2, eps)",
                                           "beta1,\n                    beta2, 1e-8)")},
    lost=("test_train",), messages={"test_train": "ignores its argument eps=0.001"})

add("mistake_train_default_momentum", description="train's default optimizer is momentum, "
    "not Adam (the old checks always passed optimizer)",
    answers={"answer_train": train_variant('optimizer="adam"', 'optimizer="momentum"')},
    lost=("test_train",), messages={"test_train": "defaults of your def train"})

add("mistake_predict_default_relu", description="mlp_predict's default activation is relu "
    "(the old checks always passed activation)",
    answers={"answer_mlp": MODEL_MLP.replace('def mlp_predict(params, X, activation="tanh")',
                                            'def mlp_predict(params, X, activation="relu")')},
    lost=("test_mlp_loss_and_grads",),
    messages={"test_mlp_loss_and_grads": "Without the activation argument"})

add("mistake_momentum_in_place", description="sgd_momentum_step updates w and v in place "
    "(w -= lr * v): right values, but the caller's arrays change",
    answers={"answer_sgd_momentum": '''
def sgd_momentum_step(w, dw, v, lr, mu):
    v *= mu
    v += dw
    w -= lr * v
    return w, v
'''}, lost=("test_sgd_momentum",),
    messages={"test_sgd_momentum": "changed its argument w (argument 1) in place"})

add("mistake_grad_check_no_restore", description="grad_check perturbs the caller's x and "
    "never puts the entry back",
    answers={"answer_grad_check": '''
def grad_check(f, x, analytic_grad, h=1e-5):
    worst = 0.0
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = f(x)
        x[index] = original - h
        f_minus = f(x)
        numerical = (f_plus - f_minus) / (2 * h)
        scale = max(abs(analytic_grad[index]), abs(numerical))
        if scale > 0:
            worst = max(worst, abs(analytic_grad[index] - numerical) / scale)
    return worst
'''}, lost=("test_grad_check",),
    messages={"test_grad_check": "changed its argument x (argument 2) in place"})

add("mistake_train_mutates_params", description="train updates the caller's params dict "
    "instead of a copy",
    answers={"answer_train": train_variant(
        "params = {name: value.copy() for name, value in params.items()}", "pass")},
    lost=("test_train",),
    messages={"test_train": "changed its argument params (argument 1) in place"})

add("mistake_softmax_shift_in_place", description="softmax_cross_entropy subtracts the row "
    "maxima from the caller's logits in place",
    answers={"answer_softmax_cross_entropy": '''
def softmax_cross_entropy(logits, y):
    N = logits.shape[0]
    logits -= logits.max(axis=1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    rows = np.arange(N)
    dlogits = np.exp(log_probs)
    dlogits[rows, y] -= 1
    return float(-log_probs[rows, y].mean()), dlogits / N
'''}, lost=("test_softmax_cross_entropy", "test_softmax_stability"),
    messages={"test_softmax_cross_entropy": "changed its argument logits (argument 1) in place",
              "test_softmax_stability": "Fix test_softmax_cross_entropy first"})

add("mistake_tanh_global_state", description="tanh_backward uses the output of the LATEST "
    "tanh_forward call (a global), not its cache: right for one hidden layer only",
    answers={"answer_tanh": '''
_latest = {}


def tanh_forward(X):
    out = np.tanh(X)
    _latest["out"] = out
    return out, out


def tanh_backward(dout, cache):
    return dout * (1 - _latest["out"] ** 2)
'''}, lost=("test_tanh", "test_mlp_loss_and_grads", "test_train"),
    messages={"test_tanh": "LATEST forward call", "test_mlp_loss_and_grads": "Fix test_tanh first",
              "test_train": "Fix test_tanh first"})

add("mistake_tanh_one_minus_out", description="tanh_backward uses 1 - out instead of "
    "1 - out**2",
    answers={"answer_tanh": '''
def tanh_forward(X):
    out = np.tanh(X)
    return out, out


def tanh_backward(dout, cache):
    return dout * (1 - cache)
'''}, lost=("test_tanh", "test_mlp_loss_and_grads", "test_train"),
    messages={"test_tanh": "1 - out**2 (out squared)", "test_mlp_loss_and_grads": "Fix test_tanh first",
              "test_train": "Fix test_tanh first"})

add("mistake_linear_forward_no_bias", description="linear_forward forgets the bias",
    answers={"answer_linear_forward": '''
def linear_forward(X, W, b):
    return X @ W, (X, W)
'''}, lost=("test_linear_forward", "test_mlp_loss_and_grads", "test_train"),
    messages={"test_linear_forward": "without the bias b",
              "test_mlp_loss_and_grads": "Fix test_linear_forward first",
              "test_train": "Fix test_linear_forward first"})

add("mistake_mlp_activation_on_logits", description="the MLP applies the activation after the "
    "last linear layer too (forward and backward consistent)",
    answers={"answer_mlp": MODEL_MLP.replace(
        """        if l < L:
            out, cache = activation_forward(out)
            caches.append(cache)
    loss""", """        out, cache = activation_forward(out)
        caches.append(cache)
    loss""").replace("""        if l < L:
            dout = activation_backward(dout, caches.pop())""",
                     """        dout = activation_backward(dout, caches.pop())""")},
    lost=("test_mlp_loss_and_grads", "test_train"),
    messages={"test_mlp_loss_and_grads": "also applied to the last layer's output",
              "test_train": "Fix test_mlp_loss_and_grads first"})

add("mistake_mlp_skips_activation_backward", description="the MLP's backward pass skips the "
    "activation layers (dout goes straight from one linear layer to the next)",
    answers={"answer_mlp": MODEL_MLP.replace(
        """        if l < L:
            dout = activation_backward(dout, caches.pop())""",
        """        if l < L:
            caches.pop()""")},
    lost=("test_mlp_loss_and_grads", "test_train"),
    messages={"test_mlp_loss_and_grads": "activation's backward pass was skipped",
              "test_train": "Fix test_mlp_loss_and_grads first"})

add("mistake_grad_check_no_abs", description="grad_check forgets the abs() in r_i",
    answers={"answer_grad_check": '''
def grad_check(f, x, analytic_grad, h=1e-5):
    x = np.array(x, dtype=float)
    worst = 0.0
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += h
        minus[index] -= h
        numerical = (f(plus) - f(minus)) / (2 * h)
        scale = max(abs(analytic_grad[index]), abs(numerical))
        if scale > 0:
            worst = max(worst, (analytic_grad[index] - numerical) / scale)
    return worst
'''}, lost=("test_grad_check",), messages={"test_grad_check": "without abs()"})

# --------------------------------------------------------------------------- broken code

add("infinite_loop", description="grad_check never returns (the provided cell that calls it "
    "hangs too and is stopped)",
    answers={"answer_grad_check": attacks.never_returns("grad_check(f, x, analytic_grad, h=1e-5)")},
    lost=("test_grad_check",))

add("ignores_interrupts", description="a top-level loop in the Adam cell that ignores SIGINT "
    "and catches every exception",
    answers={"answer_adam": attacks.ignores_interrupts('''
def adam_step(w, dw, m, v, t, lr, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw * dw
    return w - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v
''')}, lost=("test_adam", "test_train"))

add("crash", description="relu_backward crashes the interpreter (segfault)",
    answers={"answer_relu": '''
def relu_forward(X):
    mask = X > 0
    return X * mask, mask

''' + attacks.segfault("relu_backward(dout, cache)")},
    lost=("test_relu", "test_mlp_loss_and_grads", "test_train"))

add("os_exit_in_function", description="sigmoid_forward calls os._exit",
    answers={"answer_sigmoid": attacks.exits("sigmoid_forward(X)") + '''

def sigmoid_backward(dout, cache):
    return dout * cache * (1 - cache)
'''}, lost=("test_sigmoid", "test_mlp_loss_and_grads", "test_train"))

add("os_exit_in_cell", description="the momentum cell ends with os._exit(0)",
    answers={"answer_sgd_momentum": attacks.exit_after('''
def sgd_momentum_step(w, dw, v, lr, mu):
    v = mu * v + dw
    return w - lr * v, v
''')}, lost=("test_sgd_momentum", "test_train"))

add("kills_own_process", description="mlp_predict sends SIGKILL to its own process (a killed "
    "kernel); the two training figures' cells die with it",
    answers={"answer_mlp": '''
def mlp_loss_and_grads(params, X, y, activation="tanh"):
    forward, backward = {"tanh": (tanh_forward, tanh_backward), "relu": (relu_forward, relu_backward),
                         "sigmoid": (sigmoid_forward, sigmoid_backward)}[activation]
    L = len(params) // 2
    caches, out = [], X
    for l in range(1, L + 1):
        out, cache = linear_forward(out, params[f"W{l}"], params[f"b{l}"])
        caches.append(cache)
        if l < L:
            out, cache = forward(out)
            caches.append(cache)
    loss, dout = softmax_cross_entropy(out, y)
    grads = {}
    for l in range(L, 0, -1):
        if l < L:
            dout = backward(dout, caches.pop())
        dout, grads[f"W{l}"], grads[f"b{l}"] = linear_backward(dout, caches.pop())
    return loss, grads

''' + attacks.kills_itself('mlp_predict(params, X, activation="tanh")')}, lost=("test_mlp_loss_and_grads",))

add("leaves_daemon", description="correct answers, but a cell starts a detached process "
    "(setsid, double fork, exec) that would outlive grading; the grader must kill it",
    answers={"answer_grad_check": '''
import os

if os.fork() == 0:  # a daemon: new session, double fork, another program
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "987654.321"])
    os._exit(0)


def grad_check(f, x, analytic_grad, h=1e-5):
    x = np.array(x, dtype=float)
    worst = 0.0
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += h
        minus[index] -= h
        numerical = (f(plus) - f(minus)) / (2 * h)
        scale = max(abs(analytic_grad[index]), abs(numerical))
        if scale > 0:
            worst = max(worst, abs(analytic_grad[index] - numerical) / scale)
    return worst
'''})

# --------------------------------------------------------------------------- tampering

add("tamper_numpy", description="wrong linear_backward (zeros) plus patches of np.isclose, "
    "np.allclose, numpy.testing and mlpkit.grading so that comparisons always pass",
    answers={"answer_linear_backward": attacks.patch_comparisons(also_array_equal=True) + '''

def linear_backward(dout, cache):
    X, W = cache
    return np.zeros(X.shape), np.zeros(W.shape), np.zeros(W.shape[1])
'''}, lost=LINEAR_AND_UP)

add("tamper_kernel", description="wrong adam_step plus a patch of the kernel's do_execute and "
    "showtraceback so that every cell reports success",
    answers={"answer_adam": attacks.patch_kernel() + '''\
def adam_step(w, dw, m, v, t, lr, beta1, beta2, eps):
    return w - lr * dw, m, v
'''}, lost=("test_adam", "test_train"))

add("tamper_files", description="wrong sgd_momentum_step plus attacks on the grader: overwrite "
    "the hidden checks and the gradebook, delete the config, read the checks, kill the grader",
    needs_landlock_signals=True,
    answers={"answer_sgd_momentum": attacks.tamper_files("ps4") + '''\


def sgd_momentum_step(w, dw, v, lr, mu):
    return w - lr * dw, v
'''}, lost=("test_sgd_momentum", "test_train"))
