"""Training speed and accuracy of mlpkit.nn, side by side with PyTorch (CPU).

Part 1. The same MLP, 784-256-10 with tanh, softmax cross-entropy, mini-batches of 128,
SGD with momentum 0.9, float32, trained for the same epochs on the same synthetic 784-d data
(10 Gaussian clusters) by mlpkit and by PyTorch. Both start from the same weights and see the
same batches in the same order; their runs alternate (mlpkit, torch, mlpkit, ...) so that a busy
machine slows both alike. PyTorch gets as many threads as NumPy's BLAS uses.

Part 2. The 8x8 digits (mlpkit.data.load_digits): 64-72-10 tanh (seed 001's 72 hidden units),
mean test accuracy over 5 seeds and the training time.

The last line reads ``RESULT accuracy=<mean digits test accuracy> ratio=<mlpkit time per epoch /
PyTorch time per epoch>``. Run: ``.venv/bin/python benchmarks/mlp_training.py``.
"""

from __future__ import annotations

import ctypes
import glob
import os
import statistics
import time

import numpy as np
import torch

from mlpkit.data import load_digits
from mlpkit.nn import MLP

SIZES = [784, 256, 10]
BATCH, LR, MOMENTUM = 128, 0.01, 0.9
N_TRAIN, N_TEST = 10240, 2048
EPOCHS, REPEATS = 4, 7
DIGITS = dict(optimizer="momentum", lr=0.1, momentum=0.9, epochs=30, batch_size=32)


def numpy_blas_threads() -> int:
    """Threads of the OpenBLAS bundled with NumPy (asked from the library), else from the env."""
    for path in glob.glob(os.path.join(os.path.dirname(np.__file__) + ".libs", "*openblas*")):
        library = ctypes.CDLL(path)
        for symbol in ("scipy_openblas_get_num_threads64_", "openblas_get_num_threads64_",
                       "openblas_get_num_threads"):
            if hasattr(library, symbol):
                return int(getattr(library, symbol)())
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if os.environ.get(variable):
            return int(os.environ[variable])
    return os.cpu_count() or 1


def synthetic_data(seed: int = 0):
    """10 classes: a Gaussian cloud (unit variance) around a random centre each, in 784-d."""
    rng = np.random.default_rng(seed)
    centres = 0.15 * rng.standard_normal((10, 784))
    y = rng.integers(0, 10, N_TRAIN + N_TEST)
    X = (centres[y] + rng.standard_normal((len(y), 784))).astype(np.float32)
    return X[:N_TRAIN], X[N_TRAIN:], y[:N_TRAIN], y[N_TRAIN:]


def train_mlpkit(X, y, seed: int):
    model = MLP(SIZES, activation="tanh", output="softmax", seed=seed, dtype=np.float32)
    start = time.perf_counter()
    model.fit(X, y, optimizer="momentum", lr=LR, momentum=MOMENTUM, epochs=EPOCHS,
              batch_size=BATCH, seed=seed, progress=False)
    return model, (time.perf_counter() - start) / EPOCHS


def train_torch(X, y, seed: int):
    """The same network, initial weights and batch order as train_mlpkit, in PyTorch."""
    start_weights = MLP(SIZES, activation="tanh", output="softmax", seed=seed, dtype=np.float32)
    net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.Tanh(), torch.nn.Linear(256, 10))
    with torch.no_grad():
        for torch_layer, ours in ((net[0], start_weights[0]), (net[2], start_weights[2])):
            torch_layer.weight.copy_(torch.from_numpy(ours.W.T.copy()))  # torch stores W^T
            torch_layer.bias.copy_(torch.from_numpy(ours.b))
    optimizer = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    cross_entropy = torch.nn.CrossEntropyLoss()
    X_all, y_all = torch.from_numpy(X), torch.from_numpy(y)
    rng = np.random.default_rng(seed)  # the same shuffles as MLP.fit(seed=seed)
    start = time.perf_counter()
    for _ in range(EPOCHS):
        order = torch.from_numpy(rng.permutation(len(X)))
        X_epoch, y_epoch, running_loss = X_all[order], y_all[order], 0.0
        for i in range(0, len(X), BATCH):
            optimizer.zero_grad()
            loss = cross_entropy(net(X_epoch[i:i + BATCH]), y_epoch[i:i + BATCH])
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
    return net, (time.perf_counter() - start) / EPOCHS


def torch_accuracy(net, X, y) -> float:
    with torch.no_grad():
        return float((net(torch.from_numpy(X)).argmax(dim=1).numpy() == y).mean())


def compare_with_torch():
    threads = numpy_blas_threads()
    torch.set_num_threads(threads)
    X_train, X_test, y_train, y_test = synthetic_data()
    print(f"Part 1: {SIZES} tanh, softmax cross-entropy, batch {BATCH}, SGD lr={LR} "
          f"momentum={MOMENTUM}, float32, {EPOCHS} epochs on {N_TRAIN} synthetic examples")
    print(f"  threads: NumPy BLAS {threads}, torch.set_num_threads({threads}); "
          f"numpy {np.__version__}, torch {torch.__version__}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other work slows both sides)")
    train_mlpkit(X_train[:1024], y_train[:1024], seed=0)  # warm-up (imports, BLAS buffers)
    train_torch(X_train[:1024], y_train[:1024], seed=0)
    ours, theirs = [], []
    for repeat in range(REPEATS):
        model, seconds = train_mlpkit(X_train, y_train, seed=repeat)
        ours.append((seconds, model.score(X_test, y_test)))
        net, seconds = train_torch(X_train, y_train, seed=repeat)
        theirs.append((seconds, torch_accuracy(net, X_test, y_test)))
        print(f"  run {repeat}: mlpkit {ours[-1][0]:.3f} s/epoch (test acc {ours[-1][1]:.4f})   "
              f"torch {theirs[-1][0]:.3f} s/epoch (test acc {theirs[-1][1]:.4f})")
    ours_time = statistics.median(s for s, _ in ours)
    theirs_time = statistics.median(s for s, _ in theirs)
    print(f"  median time per epoch: mlpkit {ours_time:.3f} s, torch {theirs_time:.3f} s, "
          f"ratio {ours_time / theirs_time:.2f} (min: {min(s for s, _ in ours):.3f} s vs "
          f"{min(s for s, _ in theirs):.3f} s)")
    print(f"  mean final test accuracy: mlpkit {np.mean([a for _, a in ours]):.4f}, "
          f"torch {np.mean([a for _, a in theirs]):.4f}")
    return ours_time / theirs_time


def digits():
    print(f"Part 2: digits 8x8, 64-72-10 tanh, softmax, float32, {DIGITS}")
    accuracies, seconds = [], []
    for seed in range(5):
        X_train, X_test, y_train, y_test = load_digits(seed)
        model = MLP([64, 72, 10], activation="tanh", output="softmax", seed=seed,
                    dtype=np.float32)
        start = time.perf_counter()
        model.fit(X_train, y_train, progress=False, **DIGITS)
        seconds.append(time.perf_counter() - start)
        accuracies.append(model.score(X_test, y_test))
        print(f"  seed {seed}: {len(X_train)} train / {len(X_test)} test, "
              f"test accuracy {accuracies[-1]:.4f}, training {seconds[-1]:.2f} s")
    print(f"  mean test accuracy {np.mean(accuracies):.4f} (min {min(accuracies):.4f}), "
          f"mean training time {np.mean(seconds):.2f} s")
    return float(np.mean(accuracies))


if __name__ == "__main__":
    ratio = compare_with_torch()
    accuracy = digits()
    print(f"RESULT accuracy={accuracy:.4f} ratio={ratio:.2f}")
