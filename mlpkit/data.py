"""Small data sets for the lectures and assignments, all offline.

Every loader returns a :class:`Split`, a named tuple that unpacks like scikit-learn's
``train_test_split``::

    X_train, X_test, y_train, y_test = concentric(200, seed=0)

Conventions (the same for every loader):

- ``X`` is a float64 array of shape ``(n_samples, n_features)``, one example per row;
- ``y`` is an int64 array of class labels ``0 .. n_classes-1`` with shape ``(n_samples,)``
  (for :func:`regression_1d` it is the float64 target, also of shape ``(n_samples,)``);
- ``n`` is the total number of examples before the split;
- ``seed`` (an int) fixes both the sampling and the split: the same seed gives the same arrays;
- ``test_fraction`` of the examples go to the test set. Classification splits are
  stratified: each class contributes ``round(test_fraction * n_class)`` test examples,
  so both halves keep the class balance.

Synthetic sets: :func:`xor`, :func:`concentric`, :func:`moons`, :func:`spirals`,
:func:`regression_1d`. Real data: :func:`load_digits` (8x8 digits shipped with mlpkit) and
:func:`load_mnist` (28x28 MNIST from IDX files you already have; nothing is downloaded),
built on :func:`read_idx`.
"""

from __future__ import annotations

import functools
import gzip
import math
import numbers
import os
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mlpkit._checks import as_real_array, check_callable, check_count, check_nonnegative, check_seed

__all__ = [
    "Split",
    "xor",
    "concentric",
    "moons",
    "spirals",
    "regression_1d",
    "REGRESSION_TARGETS",
    "load_digits",
    "DIGITS_PATH",
    "read_idx",
    "load_mnist",
    "MNIST_FILES",
]

DATA_DIR = Path(__file__).resolve().parent / "data_files"
DIGITS_PATH = DATA_DIR / "digits.csv.gz"


class Split(NamedTuple):
    """Train/test arrays; unpacks as ``X_train, X_test, y_train, y_test``."""

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


# --------------------------------------------------------------------------- argument checks


def _check_fraction(test_fraction) -> float:
    """Return ``test_fraction`` as a float in [0, 1)."""
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, numbers.Real):
        raise TypeError(f"test_fraction must be a number in [0, 1), got {type(test_fraction).__name__}")
    test_fraction = float(test_fraction)
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction!r}")
    return test_fraction


# --------------------------------------------------------------------------- splitting


def _split(X, y, test_fraction: float, rng, *, stratify: bool) -> Split:
    """Shuffle and split; with ``stratify`` each class keeps its share in both halves.

    Every class (or the whole set) keeps at least one training example.
    """
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratify else [np.arange(len(y))]
    train_parts, test_parts = [], []
    for idx in groups:
        idx = rng.permutation(idx)
        n_test = min(int(round(test_fraction * len(idx))), len(idx) - 1)
        test_parts.append(idx[:n_test])
        train_parts.append(idx[n_test:])
    train = rng.permutation(np.concatenate(train_parts))
    test = rng.permutation(np.concatenate(test_parts))
    return Split(X[train], X[test], y[train], y[test])


def _class_sizes(n: int, n_classes: int) -> list[int]:
    """Share ``n`` examples among classes as evenly as possible (sizes differ by at most 1)."""
    return [n // n_classes + (k < n % n_classes) for k in range(n_classes)]


def _labels(sizes) -> np.ndarray:
    return np.concatenate([np.full(m, k, dtype=np.int64) for k, m in enumerate(sizes)])


# --------------------------------------------------------------------------- synthetic sets


def xor(n: int | None = None, *, noise: float = 0.1, seed: int = 0,
        test_fraction: float = 0.25) -> Split:
    """The XOR problem: label ``y = x1 XOR x2`` on the corners of the unit square.

    ``xor()`` returns the four points ``(0,0)->0, (0,1)->1, (1,0)->1, (1,1)->0`` as both the
    training and the test set (the task is to fit exactly those four; no linear model can).
    ``xor(n, noise=s)`` instead draws ``n`` examples: a random corner (balanced between the
    corners) plus Gaussian noise of standard deviation ``s`` in each coordinate, labelled by
    its corner, then splits them.

    Shapes: ``X`` (m, 2) float64, ``y`` (m,) int64 in {0, 1}.
    """
    rng = check_seed(seed)
    noise = check_nonnegative(noise, "noise")
    test_fraction = _check_fraction(test_fraction)
    corners = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    corner_labels = np.array([0, 1, 1, 0], dtype=np.int64)
    if n is None:
        return Split(corners.copy(), corners.copy(), corner_labels.copy(), corner_labels.copy())
    n = check_count(n, "n", minimum=2)
    which = np.concatenate([np.full(m, k) for k, m in enumerate(_class_sizes(n, 4))])
    X = corners[which] + noise * rng.standard_normal((n, 2))
    return _split(X, corner_labels[which], test_fraction, rng, stratify=True)


def _points_at_radius(radius: np.ndarray, rng) -> np.ndarray:
    angle = rng.uniform(0.0, 2.0 * np.pi, size=radius.shape)
    return np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])


def concentric(n: int = 200, seed: int = 0, *, test_fraction: float = 0.25) -> Split:
    """Two classes in the plane that no single-hidden-layer net with 2 units separates.

    Class 0 is the disc ``A = {x : |x| < 1/3}``, class 1 the ring ``B = {x : 2/3 < |x| < 1}``
    (the example of the lecture notes on topology). Points are uniform by area in each set
    (radius ``r = sqrt(u)`` scaled to the set), ``n // 2`` per class (class 0 gets the extra
    one when ``n`` is odd).

    Shapes: ``X`` (m, 2) float64, ``y`` (m,) int64 in {0, 1}.
    """
    n = check_count(n, "n", minimum=2)
    rng = check_seed(seed)
    test_fraction = _check_fraction(test_fraction)
    n_disc, n_ring = _class_sizes(n, 2)
    r_disc = (1.0 / 3.0) * np.sqrt(rng.uniform(0.0, 1.0, n_disc))
    inner2, outer2 = (2.0 / 3.0) ** 2, 1.0
    r_ring = np.sqrt(inner2 + (outer2 - inner2) * rng.uniform(0.0, 1.0, n_ring))
    # uniform() may return exactly 0.0, which would put a point on the open boundary 2/3.
    r_ring = np.where(r_ring <= 2.0 / 3.0, np.nextafter(2.0 / 3.0, 1.0), r_ring)
    X = np.vstack([_points_at_radius(r_disc, rng), _points_at_radius(r_ring, rng)])
    return _split(X, _labels([n_disc, n_ring]), test_fraction, rng, stratify=True)


def moons(n: int = 200, noise: float = 0.1, seed: int = 0, *,
          test_fraction: float = 0.25) -> Split:
    """Two interleaving half circles (the "moons" of scikit-learn's ``make_moons``).

    Class 0: ``(cos t, sin t)``; class 1: ``(1 - cos t, 1/2 - sin t)``, ``t`` uniform in
    ``[0, pi]``, plus Gaussian noise of standard deviation ``noise``.

    Shapes: ``X`` (m, 2) float64, ``y`` (m,) int64 in {0, 1}.
    """
    n = check_count(n, "n", minimum=2)
    noise = check_nonnegative(noise, "noise")
    rng = check_seed(seed)
    test_fraction = _check_fraction(test_fraction)
    n_upper, n_lower = _class_sizes(n, 2)
    t_upper = rng.uniform(0.0, np.pi, n_upper)
    t_lower = rng.uniform(0.0, np.pi, n_lower)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    X = np.vstack([upper, lower]) + noise * rng.standard_normal((n, 2))
    return _split(X, _labels([n_upper, n_lower]), test_fraction, rng, stratify=True)


def spirals(n: int = 300, n_classes: int = 3, noise: float = 0.2, seed: int = 0, *,
            test_fraction: float = 0.25) -> Split:
    """Interleaved spiral arms, one per class (the CS231n toy set).

    Arm ``k`` has radius ``r`` from 0 to 1 and angle ``4 k + 4 r`` (radians) plus Gaussian
    noise of standard deviation ``noise`` on the angle; the point is ``(r sin a, r cos a)``.
    The ``n`` examples are shared evenly among the classes.

    Shapes: ``X`` (m, 2) float64, ``y`` (m,) int64 in {0, .., n_classes-1}.
    """
    n_classes = check_count(n_classes, "n_classes", minimum=2)
    n = check_count(n, "n", minimum=n_classes)
    noise = check_nonnegative(noise, "noise")
    rng = check_seed(seed)
    test_fraction = _check_fraction(test_fraction)
    sizes = _class_sizes(n, n_classes)
    arms = []
    for k, m in enumerate(sizes):
        radius = np.linspace(0.0, 1.0, m)
        angle = 4.0 * k + 4.0 * radius + noise * rng.standard_normal(m)
        arms.append(np.column_stack([radius * np.sin(angle), radius * np.cos(angle)]))
    return _split(np.vstack(arms), _labels(sizes), test_fraction, rng, stratify=True)


#: Named targets for :func:`regression_1d`, each a NumPy function of ``x`` in [-1, 1].
REGRESSION_TARGETS = {
    "sine": lambda x: np.sin(np.pi * x),  # smooth
    "wiggle": lambda x: np.sin(3.0 * np.pi * x) * np.exp(-x**2),  # several bumps
    "abs": lambda x: np.abs(x),  # a kink: two ReLUs make it exactly
    "step": lambda x: np.where(x < 0.0, 0.0, 1.0),  # a jump: approximated, never exact
}


def regression_1d(n: int = 100, seed: int = 0, *, func="sine", noise: float = 0.0,
                  x_range: tuple[float, float] = (-1.0, 1.0),
                  test_fraction: float = 0.25) -> Split:
    """A 1-D target to fit with a small network (universal-approximation demos).

    ``x`` is uniform on ``x_range``; ``y = func(x) + noise * N(0, 1)``. ``func`` is one of the
    names in :data:`REGRESSION_TARGETS` (``"sine"``, ``"wiggle"``, ``"abs"``, ``"step"``) or any
    NumPy function that maps an array of shape ``(n,)`` to an array of the same shape.

    Shapes: ``X`` (m, 1) float64 (a design matrix with one feature), ``y`` (m,) float64.
    Use ``y[:, None]`` where a network wants a column.
    """
    n = check_count(n, "n", minimum=2)
    rng = check_seed(seed)
    noise = check_nonnegative(noise, "noise")
    test_fraction = _check_fraction(test_fraction)
    if isinstance(func, str):
        if func not in REGRESSION_TARGETS:
            raise ValueError(
                f"unknown target {func!r}; choose one of {sorted(REGRESSION_TARGETS)} "
                "or pass a function"
            )
        func = REGRESSION_TARGETS[func]
    check_callable(func, "func")
    bounds = as_real_array(x_range, "x_range")
    if bounds.shape != (2,) or not bounds[0] < bounds[1]:
        raise ValueError(f"x_range must be two numbers (low, high) with low < high, got {x_range!r}")
    low, high = float(bounds[0]), float(bounds[1])
    x = rng.uniform(low, high, n)
    target = as_real_array(func(x.copy()), "func(x)")
    if target.shape != x.shape:
        raise ValueError(
            f"func must map an array of shape {x.shape} to the same shape, got {target.shape}"
        )
    y = target + noise * rng.standard_normal(n)
    return _split(x[:, None], y, test_fraction, rng, stratify=False)


# --------------------------------------------------------------------------- 8x8 digits


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Pixels (1797, 64) in 0..16 and labels (1797,) from the shipped CSV (read once)."""
    with gzip.open(DIGITS_PATH, "rt", encoding="ascii") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.int64)
    if table.shape != (1797, 65):
        raise ValueError(f"{DIGITS_PATH} is damaged: expected 1797 rows of 65 numbers, got {table.shape}")
    pixels, labels = table[:, :64], table[:, 64]
    pixels.setflags(write=False)
    labels.setflags(write=False)
    return pixels, labels


def load_digits(seed: int = 0, test_fraction: float = 0.25) -> Split:
    """The 8x8 handwritten digits (UCI optdigits test set, as shipped by scikit-learn).

    1797 grey images of the digits 0-9 (about 180 each); every pixel counts the "on" pixels
    of a 4x4 block of a 32x32 bitmap, an integer 0..16. Returned ``X`` holds those counts
    divided by 16, so it is float64 in [0, 1], one image per row with shape (m, 64);
    ``X[i].reshape(8, 8)`` is the picture. ``y`` is int64 in 0..9. The split is stratified.
    Source and licence: ``mlpkit/data_files/README.md``.
    """
    rng = check_seed(seed)
    test_fraction = _check_fraction(test_fraction)
    pixels, labels = _digits_arrays()
    return _split(pixels / 16.0, labels.copy(), test_fraction, rng, stratify=True)


# --------------------------------------------------------------------------- IDX and MNIST

# The third byte of an IDX file's magic number says the element type; data are big-endian.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_bytes(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":  # not gzip: a plain IDX file
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: damaged gzip file ({exc}); download it again") from None


def read_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST format) into a NumPy array; gzipped files work too.

    Layout: a 4-byte magic number ``0x00 0x00 <type> <ndim>``, then ``ndim`` big-endian
    uint32 sizes, then the elements in C order, big-endian. Type codes: 0x08 uint8,
    0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64. The returned array has
    that dtype in native byte order and shape ``(d1, .., d_ndim)``.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` naming the problem
    for a wrong magic number, an unknown type code, or a truncated or overlong file.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a pathlib.Path, got {type(path).__name__}")
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise ValueError(f"{path}: not an IDX file (only {len(raw)} bytes, the header needs 4)")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"{path}: not an IDX file: the magic number must start with two zero bytes, "
            f"got {raw[:4].hex(' ')}"
        )
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02X} (known: {known})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes, {ndim} sizes need {header})")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    found = len(raw) - header
    if found != expected:
        problem = "truncated" if found < expected else "has extra bytes"
        raise ValueError(
            f"{path}: IDX file {problem}: shape {shape} of {dtype.name} needs {expected} data "
            f"bytes, found {found}"
        )
    data = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


#: The four MNIST files, by role. Each may also be gzipped (``.gz``) or have a dot before
#: ``idx`` (``train-images.idx3-ubyte``, as some mirrors name them).
MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

_MNIST_SOURCES = (
    "the MNIST database page http://yann.lecun.com/exdb/mnist/ (LeCun, Cortes and Burges), "
    "or a mirror of the same files such as https://ossci-datasets.s3.amazonaws.com/mnist/"
)


def _find_mnist_file(directory: Path, stem: str) -> Path | None:
    dotted = stem.replace("-idx", ".idx")  # train-images.idx3-ubyte, as some mirrors name it
    for base in (stem, dotted):
        for name in (base, base + ".gz"):
            if (directory / name).is_file():
                return directory / name
    return None


def load_mnist(directory, *, flatten: bool = True) -> Split:
    """Load MNIST from the four standard IDX files in ``directory``. Never downloads.

    Looks for ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each optionally ``.gz``).
    If any is missing, raises ``FileNotFoundError`` naming the missing files and where to
    get them. The split is MNIST's own (60000 training, 10000 test images).

    Returns ``X`` float64 in [0, 1] (pixel / 255) with shape (m, 784), or (m, 28, 28) with
    ``flatten=False``, and ``y`` int64 in 0..9.
    """
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(f"directory must be a str or a pathlib.Path, got {type(directory).__name__}")
    directory = Path(directory).expanduser()
    found = {role: _find_mnist_file(directory, stem) for role, stem in MNIST_FILES.items()}
    missing = [MNIST_FILES[role] for role, path in found.items() if path is None]
    if missing:
        where = "" if directory.is_dir() else " (the directory does not exist)"
        raise FileNotFoundError(
            f"MNIST files missing in {directory}{where}: "
            + ", ".join(f"{stem}.gz" for stem in missing)
            + f". mlpkit never downloads. Get them from {_MNIST_SOURCES}, and put them "
            f"(gzipped or not) in {directory}."
        )
    arrays = {role: read_idx(path) for role, path in found.items()}
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"MNIST {part} files do not fit together: images of shape {images.shape}, "
                f"labels of shape {labels.shape}; expected (m, rows, cols) and (m,)"
            )
    X_train, X_test = (arrays[k] / 255.0 for k in ("train_images", "test_images"))
    if flatten:
        X_train, X_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    y_train, y_test = (arrays[k].astype(np.int64) for k in ("train_labels", "test_labels"))
    return Split(X_train, X_test, y_train, y_test)
