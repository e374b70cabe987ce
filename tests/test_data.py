"""Tests for mlpkit.data: shapes, labels, seeds, class balance, geometry, digits, IDX/MNIST."""

import gzip
import hashlib
import re
import struct

import numpy as np
import pytest

from mlpkit import data
from mlpkit.data import Split

CLASSIFIERS = [
    ("xor", lambda seed: data.xor(80, seed=seed)),
    ("concentric", lambda seed: data.concentric(120, seed=seed)),
    ("moons", lambda seed: data.moons(120, noise=0.1, seed=seed)),
    ("spirals", lambda seed: data.spirals(150, n_classes=3, seed=seed)),
    ("digits", lambda seed: data.load_digits(seed=seed)),
]


def _all(split):
    return np.vstack([split.X_train, split.X_test]), np.concatenate([split.y_train, split.y_test])


# --------------------------------------------------------------------------- common contract


@pytest.mark.parametrize("name, make", CLASSIFIERS)
def test_classification_sets_have_documented_types_and_reproduce(name, make):
    split = make(3)
    assert isinstance(split, Split)
    X_train, X_test, y_train, y_test = split  # unpacks like train_test_split
    assert X_train.dtype == np.float64 and X_test.dtype == np.float64
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    assert X_train.ndim == 2 and X_train.shape[1] == X_test.shape[1]
    assert len(X_train) == len(y_train) and len(X_test) == len(y_test)
    assert np.all(np.isfinite(X_train))
    again = make(3)
    for a, b in zip(split, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = make(4)
    assert not np.array_equal(split.X_train, other.X_train)


@pytest.mark.parametrize("name, make", CLASSIFIERS)
def test_split_is_stratified_and_disjoint(name, make):
    split = make(0)
    X, y = _all(split)
    for label in np.unique(y):
        m = int(np.sum(y == label))
        assert int(np.sum(split.y_test == label)) == round(0.25 * m)
    # no example appears in both halves (rows are distinct real-valued points / images)
    train_rows = {row.tobytes() for row in split.X_train}
    test_rows = [row.tobytes() for row in split.X_test]
    if name != "digits":  # the digits set itself has a few duplicate images
        assert not any(row in train_rows for row in test_rows)


def test_test_fraction_zero_gives_empty_test_set():
    split = data.moons(10, seed=1, test_fraction=0.0)
    assert split.X_train.shape == (10, 2) and split.X_test.shape == (0, 2)
    assert split.y_test.shape == (0,)


# --------------------------------------------------------------------------- XOR


def test_xor_default_is_the_four_corners():
    X_train, X_test, y_train, y_test = data.xor()
    np.testing.assert_array_equal(X_train, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y_train, [0, 1, 1, 0])
    np.testing.assert_array_equal(X_test, X_train)
    np.testing.assert_array_equal(y_test, y_train)
    X_train[0, 0] = 9.0  # the two halves are separate copies
    assert data.xor().X_train[0, 0] == 0.0 and X_test[0, 0] == 0.0


def test_noisy_xor_labels_follow_the_nearest_corner():
    X, y = _all(data.xor(400, noise=0.05, seed=2))
    corner = np.round(X).astype(int)  # noise 0.05 never crosses 0.5 in 400 draws at this seed
    np.testing.assert_array_equal(y, corner[:, 0] ^ corner[:, 1])
    assert np.bincount(y).tolist() == [200, 200]


# --------------------------------------------------------------------------- concentric


def test_concentric_radii_and_balance():
    X, y = _all(data.concentric(2001, seed=5))
    radius = np.hypot(X[:, 0], X[:, 1])
    assert np.all(radius[y == 0] < 1 / 3)
    assert np.all((radius[y == 1] > 2 / 3) & (radius[y == 1] < 1))
    assert np.bincount(y).tolist() == [1001, 1000]


def test_concentric_is_uniform_by_area():
    X, y = _all(data.concentric(8000, seed=0))
    radius = np.hypot(X[:, 0], X[:, 1])
    # area below r = 1/6 is a quarter of the disc's area
    assert abs(np.mean(radius[y == 0] < 1 / 6) - 0.25) < 0.03
    # the circle of radius sqrt((4/9 + 1)/2) halves the ring's area
    assert abs(np.mean(radius[y == 1] ** 2 < (4 / 9 + 1) / 2) - 0.5) < 0.03
    # all directions
    angle = np.arctan2(X[:, 1], X[:, 0])
    assert abs(np.mean(angle > 0) - 0.5) < 0.03


# --------------------------------------------------------------------------- moons, spirals


def test_moons_without_noise_lie_on_their_half_circles():
    X, y = _all(data.moons(300, noise=0.0, seed=1))
    upper, lower = X[y == 0], X[y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, rtol=1e-12)
    assert np.all(upper[:, 1] >= 0)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, rtol=1e-12)
    assert np.all(lower[:, 1] <= 0.5)
    assert np.bincount(y).tolist() == [150, 150]


def test_spirals_share_examples_evenly_and_stay_in_the_unit_disc():
    X, y = _all(data.spirals(301, n_classes=4, noise=0.0, seed=0))
    assert sorted(np.bincount(y).tolist()) == [75, 75, 75, 76]
    radius = np.hypot(X[:, 0], X[:, 1])
    assert radius.max() <= 1.0 + 1e-15
    # noise-free arm k: angle = 4k + 4r, point (r sin a, r cos a)
    for k in range(4):
        r = radius[y == k]
        a = 4 * k + 4 * r
        expected = np.column_stack([r * np.sin(a), r * np.cos(a)])
        np.testing.assert_allclose(X[y == k], expected, atol=1e-12)


# --------------------------------------------------------------------------- regression


@pytest.mark.parametrize("target", sorted(data.REGRESSION_TARGETS))
def test_regression_targets_without_noise_are_exact(target):
    X_train, X_test, y_train, y_test = data.regression_1d(60, seed=2, func=target)
    assert X_train.shape == (45, 1) and X_test.shape == (15, 1)
    assert y_train.shape == (45,) and y_train.dtype == np.float64
    func = data.REGRESSION_TARGETS[target]
    np.testing.assert_array_equal(y_train, func(X_train[:, 0]))
    assert X_train.min() >= -1 and X_train.max() < 1


def test_regression_with_a_function_noise_and_range():
    split = data.regression_1d(500, seed=1, func=lambda x: 2 * x + 1, noise=0.1, x_range=(0, 3))
    x, y = split.X_train[:, 0], split.y_train
    assert x.min() >= 0 and x.max() < 3
    residual = y - (2 * x + 1)
    assert 0.08 < residual.std() < 0.12
    assert abs(residual.mean()) < 0.02


@pytest.mark.parametrize("func, error, match", [
    ("cosine", ValueError, "unknown target 'cosine'"),
    (42, TypeError, "func must be a function"),
    (lambda x: x[:3], ValueError, "same shape"),
    (lambda x: np.log(x - 5), ValueError, "must be finite"),
])
def test_regression_rejects_bad_targets(func, error, match):
    with np.errstate(invalid="ignore"), pytest.raises(error, match=match):
        data.regression_1d(10, func=func)


@pytest.mark.parametrize("x_range", [(1, 0), (0, 0), (0, 1, 2), 5])
def test_regression_rejects_bad_ranges(x_range):
    with pytest.raises(ValueError, match="x_range"):
        data.regression_1d(10, x_range=x_range)


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize("call, error, match", [
    (lambda: data.concentric(0), ValueError, "n must be at least 2"),
    (lambda: data.concentric(-5), ValueError, "n must be at least 2"),
    (lambda: data.moons(10.0), TypeError, "n must be an integer"),
    (lambda: data.moons("100"), TypeError, "n must be an integer, got str"),
    (lambda: data.moons(True), TypeError, "n must be an integer, got bool"),
    (lambda: data.xor(0), ValueError, "n must be at least 2"),
    (lambda: data.spirals(2, n_classes=3), ValueError, "n must be at least 3"),
    (lambda: data.spirals(10, n_classes=1), ValueError, "n_classes must be at least 2"),
    (lambda: data.moons(10, noise=-0.1), ValueError, "noise must be a finite number >= 0"),
    (lambda: data.moons(10, noise=float("nan")), ValueError, "noise"),
    (lambda: data.moons(10, noise="a lot"), TypeError, "noise must be a real number"),
    (lambda: data.concentric(10, seed=-1), ValueError, "seed must be >= 0"),
    (lambda: data.concentric(10, seed=1.5), TypeError, "seed must be an integer"),
    (lambda: data.concentric(10, seed=None), TypeError, "seed must be an integer"),
    (lambda: data.load_digits(test_fraction=1.0), ValueError, r"test_fraction must be in \[0, 1\)"),
    (lambda: data.load_digits(test_fraction=-0.1), ValueError, "test_fraction"),
    (lambda: data.load_digits(test_fraction="half"), TypeError, "test_fraction"),
])
def test_bad_arguments_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --------------------------------------------------------------------------- digits


def test_digits_file_is_the_documented_one():
    digest = hashlib.sha256(data.DIGITS_PATH.read_bytes()).hexdigest()
    readme = (data.DATA_DIR / "README.md").read_text()
    assert digest in readme
    assert "CC BY 4.0" in readme and "BSD 3-Clause" in readme and "Alpaydin" in readme


def test_digits_load_1797_images_of_64_pixels():
    X_train, X_test, y_train, y_test = data.load_digits(seed=0, test_fraction=0.2)
    X = np.vstack([X_train, X_test])
    y = np.concatenate([y_train, y_test])
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.dtype == np.float64 and X.min() == 0.0 and X.max() == 1.0
    counts = X * 16  # the original integer counts 0..16
    np.testing.assert_array_equal(counts, np.round(counts))
    assert set(y.tolist()) == set(range(10))
    assert np.bincount(y).min() >= 174 and np.bincount(y).max() <= 183
    assert len(X_test) == sum(round(0.2 * m) for m in np.bincount(y))


def test_digits_first_image_is_a_zero():
    pixels, labels = data._digits_arrays()
    assert labels[0] == 0
    np.testing.assert_array_equal(pixels[0, :8], [0, 0, 5, 13, 9, 1, 0, 0])
    # a zero has an empty middle: the centre pixels are dark, the ring around them is not
    image = pixels[0].reshape(8, 8)
    assert image[3:5, 3:5].max() == 0 and image[3:5, [2, 5]].min() >= 8
    with pytest.raises(ValueError):
        pixels[0, 0] = 1  # the cached copy is read-only


# --------------------------------------------------------------------------- IDX


def idx_bytes(array, code, *, magic_prefix=b"\x00\x00"):
    """An IDX file written independently of mlpkit, with struct."""
    big_endian = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    header = magic_prefix + bytes([code, array.ndim])
    header += b"".join(struct.pack(">I", d) for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=big_endian[code]).tobytes()


@pytest.mark.parametrize("code, dtype", [
    (0x08, np.uint8), (0x09, np.int8), (0x0B, np.int16),
    (0x0C, np.int32), (0x0D, np.float32), (0x0E, np.float64),
])
@pytest.mark.parametrize("gzipped", [False, True])
def test_idx_round_trip(tmp_path, code, dtype, gzipped):
    rng = np.random.default_rng(code)
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    if info is not None:
        array = rng.integers(info.min, info.max, size=(3, 4, 5), endpoint=True).astype(dtype)
    else:
        array = rng.standard_normal((3, 4, 5)).astype(dtype)
    raw = idx_bytes(array, code)
    path = tmp_path / ("x.idx.gz" if gzipped else "x.idx")
    path.write_bytes(gzip.compress(raw) if gzipped else raw)
    back = data.read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)
    assert data.read_idx(str(path)).shape == (3, 4, 5)


def test_idx_one_dimensional_labels(tmp_path):
    labels = np.array([7, 2, 1, 0, 4], dtype=np.uint8)
    path = tmp_path / "labels"
    path.write_bytes(idx_bytes(labels, 0x08))
    np.testing.assert_array_equal(data.read_idx(path), labels)


@pytest.mark.parametrize("mangle, match", [
    (lambda raw: b"\x08\x03" + raw[2:], "not an IDX file: the magic number must start with two zero"),
    (lambda raw: raw[:2] + b"\x0a" + raw[3:], "unknown IDX type code 0x0A"),
    (lambda raw: raw[:-1], r"truncated: shape \(2, 3, 4\) of uint8 needs 24 data bytes, found 23"),
    (lambda raw: raw + b"\x00", "has extra bytes"),
    (lambda raw: raw[:9], "truncated IDX header"),
    (lambda raw: raw[:3], "only 3 bytes"),
    (lambda raw: gzip.compress(raw)[:-10], "damaged gzip file"),
])
def test_idx_corruption_is_reported(tmp_path, mangle, match):
    raw = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4), 0x08)
    path = tmp_path / "bad"
    path.write_bytes(mangle(raw))
    with pytest.raises(ValueError, match=match):
        data.read_idx(path)


def test_idx_missing_file_and_bad_path_type(tmp_path):
    with pytest.raises(FileNotFoundError):
        data.read_idx(tmp_path / "nothing-here")
    with pytest.raises(TypeError, match="path must be a str or a pathlib.Path"):
        data.read_idx(3)


# --------------------------------------------------------------------------- MNIST


def write_fake_mnist(directory, *, n_train=6, n_test=4, gz=(), dotted=()):
    rng = np.random.default_rng(0)
    parts = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28)).astype(np.uint8),
        "train_labels": rng.integers(0, 10, n_train).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28)).astype(np.uint8),
        "test_labels": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    for role, array in parts.items():
        name = data.MNIST_FILES[role]
        if role in dotted:
            name = name.replace("-idx", ".idx")
        raw = idx_bytes(array, 0x08)
        if role in gz:
            (directory / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (directory / name).write_bytes(raw)
    return parts


def test_load_mnist_reads_plain_gzipped_and_dotted_names(tmp_path):
    parts = write_fake_mnist(tmp_path, gz=("train_images", "test_labels"), dotted=("test_images",))
    X_train, X_test, y_train, y_test = data.load_mnist(tmp_path)
    assert X_train.shape == (6, 784) and X_test.shape == (4, 784)
    assert X_train.dtype == np.float64 and y_train.dtype == np.int64
    np.testing.assert_array_equal(X_train * 255, parts["train_images"].reshape(6, -1))
    np.testing.assert_array_equal(y_test, parts["test_labels"])
    images = data.load_mnist(str(tmp_path), flatten=False).X_test
    assert images.shape == (4, 28, 28) and 0 <= images.min() and images.max() <= 1


def test_load_mnist_names_exactly_the_missing_files(tmp_path):
    write_fake_mnist(tmp_path)
    (tmp_path / "t10k-images-idx3-ubyte").unlink()
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError) as info:
        data.load_mnist(tmp_path)
    message = str(info.value)
    assert "train-labels-idx1-ubyte.gz" in message and "t10k-images-idx3-ubyte.gz" in message
    assert "train-images" not in message and "t10k-labels" not in message
    assert "http://yann.lecun.com/exdb/mnist/" in message
    assert "never downloads" in message and str(tmp_path) in message


def test_load_mnist_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="the directory does not exist") as info:
        data.load_mnist(tmp_path / "no-such-dir")
    assert len(re.findall(r"-ubyte\.gz", str(info.value))) == 4
    with pytest.raises(TypeError, match="directory must be"):
        data.load_mnist(None)


def test_load_mnist_rejects_files_that_do_not_fit(tmp_path):
    write_fake_mnist(tmp_path)
    labels = np.zeros(5, dtype=np.uint8)  # 6 training images but 5 labels
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels, 0x08))
    with pytest.raises(ValueError, match="do not fit together"):
        data.load_mnist(tmp_path)
