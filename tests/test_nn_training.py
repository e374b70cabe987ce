"""Training with mlpkit.nn: XOR, concentric classes, optimisers, reproducibility, errors."""

import numpy as np
import pytest

from mlpkit.data import concentric, regression_1d, xor
from mlpkit.nn import (
    MLP,
    Adam,
    GradientDescent,
    History,
    Linear,
    Momentum,
    Nesterov,
    ReLU,
    RMSProp,
    Sequential,
    make_optimizer,
)

XOR_X, _, XOR_Y, _ = xor()   # (0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0


# --------------------------------------------------------------------------- XOR (seed 003)


def test_exact_relu_network_of_seed_003_computes_xor():
    """y = w^T max(0, W^T x + c) + b with W = [[1,1],[1,1]], c = [0,-1], w = [1,-2], b = 0."""
    net = Sequential(
        Linear.from_weights([[1, 1], [1, 1]], [0, -1]),
        ReLU(),
        Linear.from_weights([[1], [-2]], [0]),
    )
    hidden = net[1].forward(net[0].forward(XOR_X))
    np.testing.assert_array_equal(hidden, [[0, 0], [1, 0], [1, 0], [2, 1]])  # the slide's table
    np.testing.assert_array_equal(net.forward(XOR_X)[:, 0], XOR_Y)


def test_no_linear_model_fits_xor_but_a_trained_2_2_1_network_does():
    linear = MLP([2, 1], output="sigmoid", seed=0)
    linear.fit(XOR_X, XOR_Y, optimizer="adam", lr=0.1, epochs=300, batch_size=None)
    assert linear.score(XOR_X, XOR_Y) <= 0.75  # a line gets at most 3 of the 4 points right

    model = MLP([2, 2, 1], activation="tanh", output="sigmoid", seed=0)
    history = model.fit(XOR_X, XOR_Y, optimizer="adam", lr=0.1, epochs=300, batch_size=None)
    np.testing.assert_array_equal(model.predict(XOR_X), XOR_Y)
    assert history.loss[-1] < 0.05 < history.loss[0]


# --------------------------------------------------------------------------- topology (seed 000)


def test_concentric_classes_need_three_hidden_units():
    X_train, X_test, y_train, y_test = concentric(200, seed=0)
    three = MLP([2, 3, 1], activation="tanh", output="sigmoid", seed=0)
    three.fit(X_train, y_train, optimizer="adam", lr=0.05, epochs=500, batch_size=None)
    assert three.score(X_train, y_train) == 1.0
    assert three.score(X_test, y_test) == 1.0
    for seed in range(2):  # with 2 units some ring points always end up with the disc
        two = MLP([2, 2, 1], activation="tanh", output="sigmoid", seed=seed)
        two.fit(X_train, y_train, optimizer="adam", lr=0.05, epochs=500, batch_size=None)
        assert two.score(X_train, y_train) < 0.95


# --------------------------------------------------------------------------- fit / predict / score


def test_regression_fit_predict_score():
    X_train, X_test, y_train, y_test = regression_1d(120, seed=0, func="sine")
    model = MLP([1, 16, 1], activation="tanh", seed=0)
    history = model.fit(X_train, y_train, optimizer="adam", lr=0.02, epochs=150, batch_size=16)
    assert isinstance(history, History) and history.metric_name == "r2" and len(history) == 150
    prediction = model.predict(X_test)
    assert prediction.shape == y_test.shape
    r2 = 1 - np.sum((y_test - prediction) ** 2) / np.sum((y_test - y_test.mean()) ** 2)
    assert model.score(X_test, y_test) == pytest.approx(r2, rel=1e-12)
    assert r2 > 0.98
    assert history.metric[-1] > 0.98 and history.loss[-1] < history.loss[0] / 10


def test_classifier_outputs_and_validation_history():
    X_train, X_test, y_train, y_test = concentric(120, seed=1)
    model = MLP([2, 8, 2], activation="relu", output="softmax", init="he", seed=0)
    history = model.fit(X_train, y_train, optimizer="momentum", lr=0.1, epochs=40,
                        batch_size=10, validation_data=(X_test, y_test))
    assert len(history.val_loss) == len(history.val_metric) == 40
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-12)
    np.testing.assert_array_equal(model.predict(X_test), proba.argmax(axis=1))
    assert model.score(X_test, y_test) == np.mean(model.predict(X_test) == y_test)
    assert history.val_metric[-1] == model.score(X_test, y_test)

    binary = MLP([2, 8, 1], output="sigmoid", seed=0)
    binary.fit(X_train, y_train, epochs=2)
    p1 = binary.predict_proba(X_test)
    assert p1.shape == (len(X_test),)
    np.testing.assert_array_equal(binary.predict(X_test), (p1 > 0.5).astype(int))
    with pytest.raises(TypeError, match="classifiers"):
        MLP([2, 1]).predict_proba(X_test)


def test_training_is_reproducible_for_a_seed():
    X, _, y, _ = concentric(100, seed=3)

    def train(seed):
        model = MLP([2, 5, 2], output="softmax", seed=seed)
        history = model.fit(X, y, optimizer="adam", lr=0.01, epochs=5, batch_size=8)
        return history, [p.value.copy() for p in model.parameters()]

    (h1, w1), (h2, w2), (h3, _) = train(4), train(4), train(5)
    assert h1.loss == h2.loss and h1.metric == h2.metric
    assert all(np.array_equal(a, b) for a, b in zip(w1, w2, strict=True))
    assert h1.loss != h3.loss


def test_float32_training_stays_float32():
    X, _, y, _ = concentric(64, seed=0)
    model = MLP([2, 4, 2], output="softmax", seed=0, dtype=np.float32)
    model.fit(X, y, optimizer="adam", epochs=2, batch_size=16)  # float64 data, cast once
    assert all(p.value.dtype == np.float32 and p.grad.dtype == np.float32
               for p in model.parameters())
    assert model.forward(X.astype(np.float32)).dtype == np.float32


def test_diverging_training_stops_with_advice():
    X, _, y, _ = regression_1d(50, seed=0)
    model = MLP([1, 8, 1], activation="tanh", seed=0)
    with pytest.raises(ValueError, match="diverged.*smaller learning rate than lr=10"):
        model.fit(X, y, optimizer="sgd", lr=10.0, epochs=200, batch_size=None)


# --------------------------------------------------------------------------- optimisers


def one_parameter_model(value, grad):
    """A Linear(1, 1) whose W and gradient we set by hand (b's gradient is 0)."""
    layer = Linear.from_weights([[value]], [0.0])
    layer.dL_dW, layer.dL_db = np.array([[grad]]), np.array([0.0])
    return layer


@pytest.mark.parametrize("make, rule", [
    (lambda p: GradientDescent(p, lr=0.1),
     lambda theta, gs: theta - 0.1 * gs[0] - 0.1 * gs[1]),
    (lambda p: Momentum(p, lr=0.1, momentum=0.5),            # v1 = g1, v2 = 0.5 g1 + g2
     lambda theta, gs: theta - 0.1 * gs[0] - 0.1 * (0.5 * gs[0] + gs[1])),
    (lambda p: Nesterov(p, lr=0.1, momentum=0.5),            # theta -= lr (g + mu v)
     lambda theta, gs: theta - 0.1 * (gs[0] + 0.5 * gs[0])
     - 0.1 * (gs[1] + 0.5 * (0.5 * gs[0] + gs[1]))),
    (lambda p: RMSProp(p, lr=0.1, rho=0.5, eps=1e-300),         # s1 = g1^2/2, s2 = g1^2/4 + g2^2/2
     lambda theta, gs: theta - 0.1 * gs[0] / np.sqrt(gs[0] ** 2 / 2)
     - 0.1 * gs[1] / np.sqrt(gs[0] ** 2 / 4 + gs[1] ** 2 / 2)),
    (lambda p: Adam(p, lr=0.1, beta1=0.5, beta2=0.75, eps=1e-300),
     lambda theta, gs: theta - 0.1 * np.sign(gs[0])          # step 1: m_hat/sqrt(v_hat) = sign(g)
     - 0.1 * ((0.25 * gs[0] + 0.5 * gs[1]) / 0.75)
     / np.sqrt((0.1875 * gs[0] ** 2 + 0.25 * gs[1] ** 2) / 0.4375)),
])
def test_optimiser_steps_follow_their_update_rules(make, rule):
    gradients = [2.0, -0.5]
    layer = one_parameter_model(1.0, gradients[0])
    optimizer = make(layer.parameters())
    optimizer.step()
    layer.dL_dW = np.array([[gradients[1]]])
    optimizer.step()
    assert layer.W[0, 0] == pytest.approx(rule(1.0, gradients), rel=1e-14)
    assert layer.b[0] == 0.0


@pytest.mark.parametrize("name, lr", [
    ("sgd", 0.1), ("momentum", 0.05), ("nesterov", 0.05), ("rmsprop", 0.01), ("adam", 0.02),
])
def test_every_optimiser_trains(name, lr):
    X, _, y, _ = regression_1d(80, seed=1)
    model = MLP([1, 10, 1], seed=0)
    history = model.fit(X, y, optimizer=name, lr=lr, epochs=40, batch_size=8)
    assert history.loss[-1] < 0.3 * history.loss[0]


def test_weight_decay_shrinks_weights_not_biases():
    layer = one_parameter_model(2.0, 0.0)
    layer.b[0] = 1.0
    GradientDescent(layer.parameters(), lr=0.1, weight_decay=0.5).step()
    assert layer.W[0, 0] == pytest.approx(2.0 * (1 - 0.1 * 0.5), rel=1e-15)
    assert layer.b[0] == 1.0


def test_fit_accepts_a_ready_optimiser_but_only_for_its_own_parameters():
    X, _, y, _ = regression_1d(20, seed=0)
    model, other = MLP([1, 3, 1], seed=0), MLP([1, 3, 1], seed=1)
    model.fit(X, y, optimizer=Adam(model.parameters(), lr=0.01), epochs=1)
    with pytest.raises(ValueError, match="another model"):
        model.fit(X, y, optimizer=Adam(other.parameters()), epochs=1)
    with pytest.raises(ValueError, match="optimiser itself"):
        model.fit(X, y, optimizer=Adam(model.parameters()), lr=0.1, epochs=1)


# --------------------------------------------------------------------------- progress bar


def test_progress_bar_goes_to_stdout_never_stderr(capsys):
    X, _, y, _ = regression_1d(20, seed=0)
    MLP([1, 3, 1], seed=0).fit(X, y, epochs=3, progress=True)
    out, err = capsys.readouterr()
    assert err == "" and "3/3" in out


def test_progress_is_off_by_default_and_under_nbgrader(capsys, monkeypatch):
    X, _, y, _ = regression_1d(20, seed=0)
    MLP([1, 3, 1], seed=0).fit(X, y, epochs=2)
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    MLP([1, 3, 1], seed=0).fit(X, y, epochs=2)
    assert capsys.readouterr() == ("", "")


# --------------------------------------------------------------------------- clear errors


def test_bad_data_is_rejected_with_a_reason():
    model = MLP([2, 3, 2], output="softmax", seed=0)
    X, y = np.zeros((4, 2)), np.array([0, 1, 1, 0])
    with pytest.raises(ValueError, match="NaN or inf"):
        model.fit(np.array([[0.0, np.nan]] * 4), y)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        model.fit(np.zeros((4, 3)), y)
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        model.fit(X, y[:3])
    with pytest.raises(ValueError, match="class label 2 is out of range"):
        model.fit(X, np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="labels 0 or 1"):
        MLP([2, 1], output="sigmoid").fit(X, np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="NaN or inf"):
        MLP([2, 1]).fit(X, np.array([0.0, np.inf, 1.0, 0.0]))
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        model.predict(np.zeros(2))


def test_bad_settings_are_rejected_with_the_known_names():
    X, y = np.zeros((4, 2)), np.array([0, 1, 1, 0])
    model = MLP([2, 3, 2], output="softmax", seed=0)
    with pytest.raises(ValueError, match="'sgd'.*'adam'"):
        model.fit(X, y, optimizer="adagrad")
    with pytest.raises(ValueError, match="SoftmaxCrossEntropy, not MSE"):
        model.fit(X, y, loss="mse")
    with pytest.raises(ValueError, match="epochs"):
        model.fit(X, y, epochs=-1)
    with pytest.raises(ValueError, match="lr must be"):
        model.fit(X, y, lr=-0.1)
    with pytest.raises(ValueError, match="'linear'.*'softmax'"):
        MLP([2, 2], output="relu")
    with pytest.raises(ValueError, match="one output unit"):
        MLP([2, 2], output="sigmoid")
    with pytest.raises(ValueError, match="sizes"):
        MLP([2])
    with pytest.raises(ValueError, match="float32 or float64"):
        MLP([2, 1], dtype=np.int64)
    with pytest.raises(ValueError, match="choose one of"):
        make_optimizer("lbfgs", model.parameters())


def test_fit_calls_the_callback_once_per_epoch_with_the_history_values():
    from mlpkit.data import xor

    X, _, y, _ = xor()
    seen = []
    model = MLP([2, 3, 1], output="sigmoid", seed=0)
    history = model.fit(X, y, epochs=4, lr=0.5, callback=lambda *row: seen.append(row))
    assert [row[0] for row in seen] == [0, 1, 2, 3]
    assert [row[1] for row in seen] == history.loss and [row[2] for row in seen] == history.metric
