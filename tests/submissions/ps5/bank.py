"""PS5 submission bank: what each kind of submission must score, graded by real nbgrader runs.

Each submission is the RELEASED notebook with every answer cell filled with the model solution
(taken from solutions/ps5/ps5.ipynb), except the answer cells it replaces. ``lost`` names the
autograded test cells that must score 0; every other autograded cell must get full marks.
``messages`` maps a test cell to a phrase its autograded output must contain (the cause the
grader names). Several independent mistakes in different parts share one notebook, to keep the
bank fast to grade; each one's cell and phrase are listed.

Dependencies between checks (the model solution's, which the bank follows): ``logistic_loss_and_grad``
uses ``bernoulli_nll``; ``sgd_logistic`` uses ``minibatch_indices`` and ``logistic_loss_and_grad``;
the digits run (``test_digits``) uses ``stratified_split``, ``minibatch_indices`` and
``early_stopping``. A mistake also loses the checks of what is built on it.
``{course_root}`` in a source is replaced by the grading course's folder.
Built by tests/submissions/build.py; graded by tests/test_grading_pipeline.py.
"""

from __future__ import annotations


import attacks  # tests/submissions/attacks.py: attack code shared by every bank
from entry import Bank  # tests/submissions/entry.py: the bank and its entries, every problem set


BANK = Bank("ps5")
add = BANK.add


LOGISTIC_AND_UP = ("test_logistic", "test_sgd_logistic")

# --------------------------------------------------------------------------- correct styles

add("solution", description="the model solution")

add("alt_loops", description="correct, loop style: losses one entry or row at a time, a "
    "log-sigmoid through np.where whose unused branch overflows (a harmless RuntimeWarning), "
    "logistic regression written out without bernoulli_nll, while-loop batches, a split built "
    "from Python lists, early stopping with a while loop and explicit copies, gradient descent "
    "into a preallocated array, maxout one piece at a time, an XOR network with 3 hidden units",
    answers={
        "answer_regression_losses": '''
def gaussian_nll(a, y):
    n = len(a)
    total = 0.0
    grad = np.zeros(a.shape)
    for index in np.ndindex(a.shape):
        r = a[index] - y[index]
        total += 0.5 * r * r
        grad[index] = r / n
    return total / n, grad


def laplace_nll(a, y):
    n = len(a)
    total = 0.0
    grad = np.zeros(a.shape)
    for index in np.ndindex(a.shape):
        r = a[index] - y[index]
        total += abs(r)
        if r > 0:
            grad[index] = 1.0 / n
        elif r < 0:
            grad[index] = -1.0 / n
    return total / n, grad
''',
        "answer_bernoulli": '''
def log_sigmoid(z):
    return np.where(z >= 0, -np.log1p(np.exp(-z)), z - np.log1p(np.exp(z)))


def bernoulli_nll(z, y):
    n = len(z)
    softplus = np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0)  # -log sigmoid(-z)
    loss = np.sum(softplus - y * z) / n
    sigmoid = np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))
    return loss, (sigmoid - y) / n
''',
        "answer_categorical": '''
def categorical_nll(Z, y):
    n, k = Z.shape
    loss = 0.0
    grad = np.zeros((n, k))
    for i in range(n):
        m = max(Z[i])
        e = np.exp(Z[i] - m)
        s = e.sum()
        loss += m + np.log(s) - Z[i, y[i]]
        grad[i] = e / s
        grad[i, y[i]] -= 1
    return loss / n, grad / n
''',
        "answer_logistic": '''
def logistic_loss_and_grad(w, b, X, y, lam=0.0):
    n = len(y)
    z = X @ w + b
    loss = np.mean(np.logaddexp(0, z) - y * z) + lam / 2 * np.dot(w, w)
    p = np.exp(-np.logaddexp(0, -z))
    error = p - y
    dw = np.zeros(len(w))
    for j in range(len(w)):
        dw[j] = np.dot(X[:, j], error) / n + lam * w[j]
    return loss, dw, error.sum() / n
''',
        "answer_minibatches": '''
def minibatch_indices(n, batch_size, epochs, seed=0):
    rng = np.random.default_rng(seed)
    result = []
    epoch = 0
    while epoch < epochs:
        order = rng.permutation(n)
        batches, start = [], 0
        while start < n:
            batches.append(order[start:min(start + batch_size, n)])
            start += batch_size
        result.append(batches)
        epoch += 1
    return result


def sgd_logistic(X, y, lr, batch_size, epochs, lam=0.0, seed=0):
    w = np.zeros(X.shape[1])
    b = 0.0
    losses = np.zeros(epochs)
    for e, batches in enumerate(minibatch_indices(len(y), batch_size, epochs, seed=seed)):
        for idx in batches:
            loss, dw, db = logistic_loss_and_grad(w, b, X[idx], y[idx], lam=lam)
            w = w - lr * dw
            b = b - lr * db
        losses[e] = logistic_loss_and_grad(w, b, X, y, lam=lam)[0]
    return w, b, losses
''',
        "answer_split": '''
def stratified_split(y, val_fraction, seed=0):
    rng = np.random.default_rng(seed)
    val, train = [], []
    for c in sorted(set(y.tolist())):
        members = [i for i in range(len(y)) if y[i] == c]
        shuffled = rng.permutation(members)
        k = round(val_fraction * len(members))
        val.extend(shuffled[:k].tolist())
        train.extend(shuffled[k:].tolist())
    return np.array(sorted(train), dtype=int), np.array(sorted(val), dtype=int)
''',
        "answer_early_stopping": '''
def early_stopping(w, train_epoch, val_loss, max_epochs, patience=3):
    best_loss = val_loss(w)
    losses = [best_loss]
    best_w, best_epoch = np.copy(w), 0
    epoch, bad_epochs = 0, 0
    while epoch < max_epochs and bad_epochs < patience:
        w = train_epoch(w)
        epoch += 1
        loss = val_loss(w)
        losses.append(loss)
        if loss < best_loss:
            best_loss, best_w, best_epoch, bad_epochs = loss, np.copy(w), epoch, 0
        else:
            bad_epochs += 1
    return best_w, {"val_loss": losses, "best_epoch": best_epoch, "epochs_run": epoch}
''',
        "answer_step_size": '''
def gd_quadratic(A, b, x0, lr, steps):
    xs = np.zeros((steps + 1, len(x0)))
    xs[0] = x0
    for k in range(steps):
        xs[k + 1] = xs[k] - lr * (A @ xs[k] - b)
    return xs


def critical_lr(A):
    eigenvalues, _ = np.linalg.eigh(A)
    return 2 / eigenvalues.max()
''',
        "answer_xor": '''
def xor_relu_params():
    # h = 3: relu(x1 + x2), relu(x1 + x2 - 1) and an unused unit
    return {"W": np.array([[1.0, 1.0, -1.0], [1.0, 1.0, -1.0]]), "c": np.array([0.0, -1.0, -5.0]),
            "w": np.array([1.0, -2.0, 7.0]), "b": 0.0}
''',
        "answer_maxout": '''
def maxout_forward(X, W, b):
    k = W.shape[0]
    pieces = [X @ W[i] + b[i] for i in range(k)]
    out = pieces[0].copy()
    winner = np.zeros(out.shape, dtype=int)
    for i in range(1, k):
        better = pieces[i] > out
        out[better] = pieces[i][better]
        winner[better] = i
    return out, (X, W, winner)


def maxout_backward(dout, cache):
    X, W, winner = cache
    dX = np.zeros(X.shape)
    dW = np.zeros(W.shape)
    db = np.zeros((W.shape[0], W.shape[2]))
    for i in range(W.shape[0]):
        dZ = np.where(winner == i, dout, 0.0)
        dX += dZ @ W[i].T
        dW[i] = X.T @ dZ
        db[i] = dZ.sum(axis=0)
    return dX, dW, db
''',
    })

add("alt_einsum_classes", description="correct, another style: einsum everywhere, an "
    "early-stopping bookkeeper class, take_along_axis for maxout, a one-hot matrix for the "
    "softmax, gradient descent through the matrix I - lr A, XOR with Goodfellow's weights scaled",
    answers={
        "answer_regression_losses": '''
def gaussian_nll(a, y):
    r = (a - y).reshape(len(a), -1)
    return 0.5 * np.einsum("nd,nd->", r, r) / len(a), (a - y) / len(a)


def laplace_nll(a, y):
    return np.abs(a - y).sum() / a.shape[0], np.sign(a - y) / a.shape[0]
''',
        "answer_categorical": '''
def categorical_nll(Z, y):
    n, k = Z.shape
    onehot = np.eye(k)[y]
    m = Z.max(axis=1)
    lse = m + np.log(np.einsum("nk->n", np.exp(Z - m[:, None])))
    loss = np.mean(lse - np.einsum("nk,nk->n", onehot, Z))
    return loss, (np.exp(Z - lse[:, None]) - onehot) / n
''',
        "answer_logistic": '''
def logistic_loss_and_grad(w, b, X, y, lam=0.0):
    z = np.einsum("nd,d->n", X, w) + b
    loss, dz = bernoulli_nll(z, y)
    return loss + lam * np.einsum("d,d->", w, w) / 2, np.einsum("nd,n->d", X, dz) + lam * w, dz.sum()
''',
        "answer_early_stopping": '''
class Bookkeeper:
    def __init__(self, patience):
        self.patience, self.losses, self.best_epoch, self.best_w, self.waited = patience, [], 0, None, 0

    def record(self, w, loss):
        """Returns True when training should stop."""
        self.losses.append(loss)
        epoch = len(self.losses) - 1
        if self.best_w is None or loss < self.losses[self.best_epoch]:
            self.best_epoch, self.best_w, self.waited = epoch, w, 0
            return False
        self.waited += 1
        return self.waited >= self.patience


def early_stopping(w, train_epoch, val_loss, max_epochs, patience=3):
    book = Bookkeeper(patience)
    book.record(w, val_loss(w))
    for _ in range(max_epochs):
        w = train_epoch(w)
        if book.record(w, val_loss(w)):
            break
    return book.best_w, {"val_loss": book.losses, "best_epoch": book.best_epoch,
                         "epochs_run": len(book.losses) - 1}
''',
        "answer_step_size": '''
def gd_quadratic(A, b, x0, lr, steps):
    M = np.eye(len(x0)) - lr * A
    xs = [x0.astype(float)]
    for _ in range(steps):
        xs.append(np.einsum("ij,j->i", M, xs[-1]) + lr * b)
    return np.stack(xs)


def critical_lr(A):
    return 2.0 / np.linalg.eigvalsh(A)[-1]
''',
        "answer_xor": '''
def xor_relu_params():
    W = 2.0 * np.ones((2, 2))
    return {"W": W, "c": np.array([0.0, -2.0]), "w": np.array([0.5, -1.0]), "b": 0.0}
''',
        "answer_maxout": '''
def maxout_forward(X, W, b):
    Z = np.einsum("nd,kdm->knm", X, W) + b[:, None, :]
    winner = Z.argmax(axis=0)
    out = np.take_along_axis(Z, winner[None], axis=0)[0]
    return out, (X, W, winner)


def maxout_backward(dout, cache):
    X, W, winner = cache
    mask = (np.arange(W.shape[0])[:, None, None] == winner[None]).astype(float)
    dZ = mask * dout[None]
    return (np.einsum("knm,kdm->nd", dZ, W), np.einsum("nd,knm->kdm", X, dZ),
            np.einsum("knm->km", dZ))
''',
    })

# --------------------------------------------------------------------------- plausible mistakes

add("mistakes_gaussian_softmax_critical_xor", description="four independent mistakes: the "
    "Gaussian NLL averaged over all entries (not over examples), a softmax without the max "
    "shift (NaN at logits of 1000), critical_lr = 1/L, and weights that compute OR instead of XOR",
    answers={
        "answer_regression_losses": '''
def gaussian_nll(a, y):
    r = a - y
    return np.mean(r * r) / 2, r / r.size


def laplace_nll(a, y):
    n = a.shape[0]
    return np.sum(np.abs(a - y)) / n, np.sign(a - y) / n
''',
        "answer_categorical": '''
def categorical_nll(Z, y):
    n = Z.shape[0]
    e = np.exp(Z)
    p = e / e.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(n), y]))
    g = p.copy()
    g[np.arange(n), y] -= 1
    return loss, g / n
''',
        "answer_step_size": '''
def gd_quadratic(A, b, x0, lr, steps):
    xs = [x0]
    for _ in range(steps):
        xs.append(xs[-1] - lr * (A @ xs[-1] - b))
    return np.array(xs)


def critical_lr(A):
    return 1.0 / np.max(np.linalg.eigvalsh(A))
''',
        "answer_xor": '''
def xor_relu_params():  # the second unit should subtract 2 relu(x1 + x2 - 1), not 1
    return {"W": np.array([[1.0, 1.0], [1.0, 1.0]]), "c": np.array([0.0, -1.0]),
            "w": np.array([1.0, -1.0]), "b": 0.0}
''',
    }, lost=("test_regression_losses", "test_categorical_nll", "test_step_size", "test_xor_relu"),
    messages={"test_regression_losses": "mean over ALL entries",
              "test_categorical_nll": "Subtract each row's maximum",
              "test_step_size": "1/L: the threshold is 2/L",
              "test_xor_relu": "that is OR, not XOR"})

add("mistakes_laplace_maxout_ties_tiny", description="four independent mistakes: sign(0) taken "
    "as +1 in the Laplace gradient, maxout's gradient sent to every piece, a tie with the best "
    "validation loss counted as an improvement, and the tiny batch trained with a learning rate "
    "too small to over-fit it",
    answers={
        "answer_regression_losses": '''
def gaussian_nll(a, y):
    n = a.shape[0]
    return np.sum((a - y) ** 2) / (2 * n), (a - y) / n


def laplace_nll(a, y):
    n = a.shape[0]
    r = a - y
    return np.sum(np.abs(r)) / n, np.where(r >= 0, 1.0, -1.0) / n
''',
        "answer_maxout": '''
def maxout_forward(X, W, b):
    Z = np.einsum("nd,kdm->knm", X, W) + b[:, None, :]
    return Z.max(axis=0), (X, W)


def maxout_backward(dout, cache):
    X, W = cache
    k = W.shape[0]
    dX = sum(dout @ W[i].T for i in range(k))
    dW = np.stack([X.T @ dout for _ in range(k)])
    db = np.stack([dout.sum(axis=0) for _ in range(k)])
    return dX, dW, db
''',
        "answer_early_stopping": '''
def early_stopping(w, train_epoch, val_loss, max_epochs, patience=3):
    losses = [val_loss(w)]
    best_w, best_epoch, waited = w, 0, 0
    for epoch in range(1, max_epochs + 1):
        w = train_epoch(w)
        losses.append(val_loss(w))
        if losses[-1] <= losses[best_epoch]:
            best_w, best_epoch, waited = w, epoch, 0
        else:
            waited += 1
            if waited == patience:
                break
    return best_w, {"val_loss": losses, "best_epoch": best_epoch, "epochs_run": len(losses) - 1}
''',
        "answer_sanity": '''
X_digits, X_digits_test, y_digits, y_digits_test = data.load_digits(seed=0)
digits_sizes = [64, 32, 10]
theta0 = init_mlp(digits_sizes, seed=0)
initial_loss = mlp_loss_grad(theta0, digits_sizes, X_digits, y_digits)[0]
theta, state, tiny_losses = theta0.copy(), {}, []
for _ in range(200):
    loss, grad = mlp_loss_grad(theta, digits_sizes, X_digits[:20], y_digits[:20])
    tiny_losses.append(loss)
    theta = adam_step(theta, grad, state, lr=1e-4)
tiny_losses = np.array(tiny_losses)
small_sizes = [64, 6, 10]
theta_small = init_mlp(small_sizes, seed=1)
batch_gradient_error = numdiff.check_gradient(
    lambda t: mlp_loss_grad(t, small_sizes, X_digits[:5], y_digits[:5])[0], theta_small,
    mlp_loss_grad(theta_small, small_sizes, X_digits[:5], y_digits[:5])[1]).rel_error
''',
    }, lost=("test_regression_losses", "test_maxout", "test_early_stopping", "test_sanity"),
    messages={"test_regression_losses": "sign(0) = 0",
              "test_maxout": "EVERY piece",
              "test_early_stopping": "A tie with the best loss counted as an improvement",
              "test_sanity": "the tiny batch was not over-fitted"})

add("mistakes_unstable_sigmoid_last_batch_diagonal", description="three independent mistakes: "
    "log_sigmoid as np.log(1 / (1 + np.exp(-z))) (-inf at z = -800), the last partial batch "
    "dropped, and 2/max(diag(A)) taken for 2/L",
    answers={
        "answer_bernoulli": '''
def log_sigmoid(z):
    return np.log(1 / (1 + np.exp(-z)))


def bernoulli_nll(z, y):
    n = len(z)
    loss = -np.sum(y * log_sigmoid(z) + (1 - y) * log_sigmoid(-z)) / n
    return loss, (1 / (1 + np.exp(-z)) - y) / n
''',
        "answer_minibatches": '''
def minibatch_indices(n, batch_size, epochs, seed=0):
    rng = np.random.default_rng(seed)
    schedule = []
    for _ in range(epochs):
        order = rng.permutation(n)
        schedule.append([order[i * batch_size:(i + 1) * batch_size] for i in range(n // batch_size)])
    return schedule


def sgd_logistic(X, y, lr, batch_size, epochs, lam=0.0, seed=0):
    w, b = np.zeros(X.shape[1]), 0.0
    losses = []
    for epoch in minibatch_indices(len(y), batch_size, epochs, seed):
        for batch in epoch:
            _, dw, db = logistic_loss_and_grad(w, b, X[batch], y[batch], lam)
            w, b = w - lr * dw, b - lr * db
        losses.append(logistic_loss_and_grad(w, b, X, y, lam)[0])
    return w, b, np.array(losses)
''',
        "answer_step_size": '''
def gd_quadratic(A, b, x0, lr, steps):
    xs = [x0]
    for _ in range(steps):
        xs.append(xs[-1] - lr * (A @ xs[-1] - b))
    return np.array(xs)


def critical_lr(A):
    return 2.0 / np.max(np.diag(A))
''',
    }, lost=("test_bernoulli_extreme", "test_minibatch_indices", "test_sgd_logistic",
             "test_step_size"),
    messages={"test_bernoulli_extreme": "overflows",
              "test_minibatch_indices": "is dropped",
              "test_sgd_logistic": "fix test_minibatch_indices first",
              "test_step_size": "the diagonal of A is not its eigenvalues"})

add("mistakes_bernoulli_sign_uses_nn", description="two independent mistakes: bernoulli_nll's "
    "gradient (y - sigmoid(z)) / N (logistic regression and SGD, which use it, fail too), and "
    "categorical_nll delegated to mlpkit.nn's loss (numerically right, but the import is refused "
    "while grading)",
    answers={"answer_categorical": '''
def categorical_nll(Z, y):
    from mlpkit.nn import losses
    return losses.softmax_cross_entropy(Z, y)
''', "answer_bernoulli": '''
def log_sigmoid(z):
    return 0.5 * (z - np.abs(z)) - np.log1p(np.exp(-np.abs(z)))


def bernoulli_nll(z, y):
    n = z.shape[0]
    loss = -np.sum(y * log_sigmoid(z) + (1 - y) * log_sigmoid(-z)) / n
    return loss, (y - np.exp(log_sigmoid(z))) / n
'''}, lost=("test_bernoulli_nll", "test_bernoulli_extreme", "test_categorical_nll") + LOGISTIC_AND_UP,
    messages={"test_bernoulli_nll": "the sign is flipped",
              "test_logistic": "fix test_bernoulli_nll first",
              "test_categorical_nll": "mlpkit.nn is not available"})

add("mistakes_bias_decay_leak_in_place", description="three independent mistakes: weight decay "
    "applied to the bias, a validation split whose training part is every index (the validation "
    "set leaks into training), and gradient descent that updates the caller's x0 in place",
    answers={
        "answer_logistic": '''
def logistic_loss_and_grad(w, b, X, y, lam=0.0):
    loss, dz = bernoulli_nll(X @ w + b, y)
    loss = loss + 0.5 * lam * (np.sum(w * w) + b * b)
    return loss, X.T @ dz + lam * w, np.sum(dz) + lam * b
''',
        "answer_split": '''
def stratified_split(y, val_fraction, seed=0):
    rng = np.random.default_rng(seed)
    val = []
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        val.append(members[:round(val_fraction * len(members))])
    return np.arange(len(y)), np.sort(np.concatenate(val))
''',
        "answer_step_size": '''
def gd_quadratic(A, b, x0, lr, steps):
    x = x0
    xs = [x.copy()]
    for _ in range(steps):
        x -= lr * (A @ x - b)
        xs.append(x.copy())
    return np.array(xs)


def critical_lr(A):
    return 2.0 / np.max(np.linalg.eigvalsh(A))
''',
    }, lost=LOGISTIC_AND_UP + ("test_stratified_split", "test_digits", "test_step_size"),
    messages={"test_logistic": "the bias is decayed",
              "test_stratified_split": "the validation set leaks",
              "test_digits": "the validation set leaks into training",
              "test_step_size": "changed its argument"})

add("mistakes_logistic_sign_not_stratified", description="two independent mistakes: the data "
    "term of the logistic gradient with the wrong sign (written out without bernoulli_nll), and "
    "a validation split drawn from one permutation of all indices (not stratified)",
    answers={
        "answer_logistic": '''
def logistic_loss_and_grad(w, b, X, y, lam=0.0):
    n = len(y)
    z = X @ w + b
    loss, _ = bernoulli_nll(z, y)
    p = np.exp(log_sigmoid(z))
    return loss + 0.5 * lam * w @ w, X.T @ (y - p) / n + lam * w, np.mean(p - y)
''',
        "answer_split": '''
def stratified_split(y, val_fraction, seed=0):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    k = round(val_fraction * len(y))
    return np.sort(order[k:]), np.sort(order[:k])
''',
    }, lost=LOGISTIC_AND_UP + ("test_stratified_split", "test_digits"),
    messages={"test_logistic": "the sign of the data term is flipped",
              "test_sgd_logistic": "fix test_logistic first",
              "test_stratified_split": "Stratify",
              "test_digits": "not stratified"})

add("mistakes_reused_order_last_params", description="two mistakes: one permutation drawn once "
    "and reused every epoch, and early stopping that returns the last parameters instead of the "
    "best",
    answers={
        "answer_minibatches": '''
def minibatch_indices(n, batch_size, epochs, seed=0):
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    batches = [order[start:start + batch_size] for start in range(0, n, batch_size)]
    return [batches for _ in range(epochs)]


def sgd_logistic(X, y, lr, batch_size, epochs, lam=0.0, seed=0):
    w, b = np.zeros(X.shape[1]), 0.0
    losses = []
    for epoch in minibatch_indices(len(y), batch_size, epochs, seed):
        for batch in epoch:
            _, dw, db = logistic_loss_and_grad(w, b, X[batch], y[batch], lam)
            w, b = w - lr * dw, b - lr * db
        losses.append(logistic_loss_and_grad(w, b, X, y, lam)[0])
    return w, b, np.array(losses)
''',
        "answer_early_stopping": '''
def early_stopping(w, train_epoch, val_loss, max_epochs, patience=3):
    losses = [val_loss(w)]
    best_epoch, waited = 0, 0
    for epoch in range(1, max_epochs + 1):
        w = train_epoch(w)
        losses.append(val_loss(w))
        if losses[-1] < losses[best_epoch]:
            best_epoch, waited = epoch, 0
        else:
            waited += 1
            if waited == patience:
                break
    return w, {"val_loss": losses, "best_epoch": best_epoch, "epochs_run": len(losses) - 1}
''',
    }, lost=("test_minibatch_indices", "test_sgd_logistic", "test_early_stopping", "test_digits"),
    messages={"test_minibatch_indices": "every epoch uses the same order",
              "test_sgd_logistic": "fix test_minibatch_indices first",
              "test_early_stopping": "best_w is the LAST parameters",
              "test_digits": "It matches the LAST epoch"})

add("mistake_patience_off_by_one", description="early stopping waits patience + 1 epochs "
    "without improvement (waited > patience); the student also deleted the visible test cell of "
    "the XOR network: nbgrader puts it back and the grader grades it (full marks there)",
    delete=("test_xor_relu",),
    answers={"answer_early_stopping": '''
def early_stopping(w, train_epoch, val_loss, max_epochs, patience=3):
    losses = [val_loss(w)]
    best_w, best_epoch, waited = w, 0, 0
    for epoch in range(1, max_epochs + 1):
        w = train_epoch(w)
        losses.append(val_loss(w))
        if losses[-1] < losses[best_epoch]:
            best_w, best_epoch, waited = w, epoch, 0
        else:
            waited += 1
            if waited > patience:
                break
    return best_w, {"val_loss": losses, "best_epoch": best_epoch, "epochs_run": len(losses) - 1}
'''}, lost=("test_early_stopping", "test_digits"),
    messages={"test_early_stopping": "One epoch too many",
              "test_digits": "Fix the patience counter"})

# --------------------------------------------------------------------------- broken code

add("infinite_loop", description="maxout_backward never returns (no cell of the notebook calls "
    "it, so only its check waits, and is stopped)",
    answers={"answer_maxout": '''
def maxout_forward(X, W, b):
    Z = np.einsum("nd,kdm->knm", X, W) + b[:, None, :]
    return Z.max(axis=0), (X, W, Z.argmax(axis=0))


def maxout_backward(dout, cache):
    while True:
        pass
'''}, lost=("test_maxout",), messages={"test_maxout": "did not finish within"})

add("ignores_interrupts", description="a top-level loop in the softmax cell that ignores SIGINT "
    "and catches every exception",
    answers={"answer_categorical": '''
import signal
import time

signal.signal(signal.SIGINT, signal.SIG_IGN)


def categorical_nll(Z, y):
    n = Z.shape[0]
    shifted = Z - np.max(Z, axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    grad = np.exp(log_probs)
    grad[np.arange(n), y] -= 1.0
    return -np.mean(log_probs[np.arange(n), y]), grad / n


while True:
    try:
        time.sleep(0.05)
    except BaseException:
        pass
'''}, lost=("test_categorical_nll",),
    messages={"test_categorical_nll": "categorical_nll is not defined"})

add("crash", description="maxout_backward crashes the interpreter (segfault)",
    answers={"answer_maxout": '''
def maxout_forward(X, W, b):
    Z = np.einsum("nd,kdm->knm", X, W) + b[:, None, :]
    return Z.max(axis=0), (X, W, Z.argmax(axis=0))


def maxout_backward(dout, cache):
    import ctypes
    return ctypes.string_at(0)
'''}, lost=("test_maxout",), messages={"test_maxout": "SIGSEGV"})

add("os_exit_in_function", description="xor_relu_params calls os._exit",
    answers={"answer_xor": '''
def xor_relu_params():
    import os
    os._exit(1)
'''}, lost=("test_xor_relu",), messages={"test_xor_relu": "exited with code 1"})

add("os_exit_in_cell", description="the split cell ends with os._exit(0): its function is lost, "
    "and the digits cell that needs it fails",
    answers={"answer_split": '''
def stratified_split(y, val_fraction, seed=0):
    rng = np.random.default_rng(seed)
    val = [rng.permutation(np.flatnonzero(y == c))[:round(val_fraction * np.sum(y == c))]
           for c in np.unique(y)]
    val_idx = np.sort(np.concatenate(val))
    return np.setdiff1d(np.arange(len(y)), val_idx), val_idx


import os

os._exit(0)
'''}, lost=("test_stratified_split", "test_digits"),
    messages={"test_stratified_split": "stratified_split is not defined",
              "test_digits": "fix test_stratified_split first"})

# --------------------------------------------------------------------------- tampering

add("tamper_numpy", description="wrong categorical_nll (zeros) plus patches of np.isclose, "
    "np.allclose, numpy.testing and mlpkit.grading so that comparisons always pass",
    answers={"answer_categorical": attacks.patch_comparisons(also_array_equal=True) + '''

def categorical_nll(Z, y):
    return 0.0, np.zeros(Z.shape)
'''}, lost=("test_categorical_nll",),
    messages={"test_categorical_nll": "your array is all zeros"})

add("tamper_kernel", description="wrong maxout (the mean of the pieces) plus a patch of the "
    "kernel's do_execute and showtraceback so that every cell reports success",
    answers={"answer_maxout": attacks.patch_kernel() + '''\
def maxout_forward(X, W, b):
    Z = np.einsum("nd,kdm->knm", X, W) + b[:, None, :]
    return Z.mean(axis=0), (X, W)


def maxout_backward(dout, cache):
    X, W = cache
    k = W.shape[0]
    return (sum(dout @ W[i].T for i in range(k)) / k, np.stack([X.T @ dout] * k) / k,
            np.stack([dout.sum(axis=0)] * k) / k)
'''}, lost=("test_maxout",), messages={"test_maxout": "the mean of the pieces"})

add("tamper_files", description="wrong laplace_nll plus attacks on the grader: overwrite the "
    "hidden checks and the gradebook, delete the config, read the checks, kill the grader",
    needs_landlock_signals=True,
    answers={"answer_regression_losses": attacks.tamper_files("ps5") + '''\


def gaussian_nll(a, y):
    n = a.shape[0]
    return np.sum((a - y) ** 2) / (2 * n), (a - y) / n


def laplace_nll(a, y):
    return 0.0, np.zeros(a.shape)
'''}, lost=("test_regression_losses",),
    messages={"test_regression_losses": "laplace_nll"})
