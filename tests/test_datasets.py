import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from rbmlib import datasets
from rbmlib.datasets import load_mnist, read_idx



def _real_mnist_dir():
    """Where the real MNIST files are: RBMLIB_MNIST if set, as for load_mnist."""
    env = os.environ.get("RBMLIB_MNIST")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist"


REAL_MNIST = _real_mnist_dir()


def _write_idx(path, arr, magic):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    assert magic == 0x0800 + arr.ndim
    head = magic.to_bytes(4, "big") + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(head + arr.tobytes())


@pytest.fixture
def tiny_mnist(tmp_path):
    rng = np.random.default_rng(0)
    out = {}
    for subset, (img, lab), n in [("train", datasets._MNIST_FILES["train"], 5),
                                  ("test", datasets._MNIST_FILES["test"], 3)]:
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        _write_idx(tmp_path / img, images, 2051)
        _write_idx(tmp_path / lab, labels, 2049)
        out[subset] = (images, labels)
    return tmp_path, out


@pytest.mark.parametrize("subset", ["train", "test"])
def test_load_tiny(tiny_mnist, subset):
    path, ref = tiny_mnist
    X, y = load_mnist(path, subset=subset)
    images, labels = ref[subset]
    assert X.dtype == np.uint8 and y.dtype == np.uint8
    assert X.shape == (len(labels), 784)
    np.testing.assert_array_equal(X, images.reshape(len(labels), -1))
    np.testing.assert_array_equal(y, labels)
    bunch = load_mnist(path, subset=subset, return_X_y=False)
    np.testing.assert_array_equal(bunch.images, images)
    np.testing.assert_array_equal(bunch.data, X)


def test_env_variable(tiny_mnist, monkeypatch):
    path, ref = tiny_mnist
    monkeypatch.setenv("RBMLIB_MNIST", str(path))
    X, y = load_mnist(subset="test")
    np.testing.assert_array_equal(y, ref["test"][1])


def test_missing_files_message(tmp_path, monkeypatch):
    monkeypatch.setenv("RBMLIB_MNIST", str(tmp_path / "nowhere"))
    monkeypatch.setattr(datasets, "_DEFAULT_MNIST_DIR", tmp_path / "default")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")  # ../shared/data/mnist from here does not exist
    with pytest.raises(FileNotFoundError,
                       match="nowhere.*shared/data/mnist.*default.*Nothing is downloaded"):
        load_mnist()
    with pytest.raises(FileNotFoundError, match="given"):
        load_mnist(tmp_path / "given")


def test_bad_magic(tiny_mnist):
    path, _ = tiny_mnist
    img, lab = datasets._MNIST_FILES["train"]
    # swap the roles: labels file where images are expected
    (path / img).unlink()
    (path / img).symlink_to(path / lab)
    with pytest.raises(ValueError, match="magic number 2049, expected 2051"):
        load_mnist(path, subset="train")


def test_truncated_and_mismatch(tmp_path):
    bad = tmp_path / "x.gz"
    with gzip.open(bad, "wb") as f:
        f.write((2049).to_bytes(4, "big") + (10).to_bytes(4, "big") + bytes(3))
    with pytest.raises(ValueError, match="header says 10 data bytes"):
        read_idx(bad, 2049)
    img, lab = datasets._MNIST_FILES["test"]
    _write_idx(tmp_path / img, np.zeros((4, 28, 28)), 2051)
    _write_idx(tmp_path / lab, np.zeros(3), 2049)
    with pytest.raises(ValueError, match="4 images but .* 3 labels"):
        load_mnist(tmp_path, subset="test")


def test_bad_subset():
    with pytest.raises(ValueError, match="subset must be 'train' or 'test'"):
        load_mnist(subset="validation")


@pytest.mark.skipif(not (REAL_MNIST / "t10k-images-idx3-ubyte.gz").is_file(),
                    reason="MNIST files not present")
def test_real_mnist():
    X, y = load_mnist(REAL_MNIST, subset="test")
    assert X.shape == (10000, 784) and y.shape == (10000,)
    # md5 of the decompressed bytes, from the data folder's README
    with gzip.open(REAL_MNIST / "t10k-labels-idx1-ubyte.gz", "rb") as f:
        assert hashlib.md5(f.read()).hexdigest() == "27ae3e4e09519cfbb04c329615203637"
    assert np.bincount(y).tolist()[:2] == [980, 1135]
    assert X.max() == 255 and X.min() == 0
    Xtr, ytr = load_mnist(subset="train")  # default location
    assert Xtr.shape == (60000, 784) and ytr.shape == (60000,)


def test_real_mnist_location_honours_env(monkeypatch, tmp_path):
    monkeypatch.setenv("RBMLIB_MNIST", str(tmp_path))
    assert _real_mnist_dir() == tmp_path
    monkeypatch.delenv("RBMLIB_MNIST")
    assert _real_mnist_dir().parts[-3:] == ("shared", "data", "mnist")


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_gzip_names_the_file(tiny_mnist, keep):
    path, _ = tiny_mnist
    img, _ = datasets._MNIST_FILES["train"]
    data = (path / img).read_bytes()
    (path / img).write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(ValueError, match=f"{img}: truncated or corrupt gzip file") as info:
        load_mnist(path, subset="train")
    assert isinstance(info.value.__cause__, EOFError)


def test_corrupt_gzip_names_the_file(tmp_path):
    bad = tmp_path / "t10k-labels-idx1-ubyte.gz"
    good = gzip.compress((2049).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(3))
    bad.write_bytes(good[:12] + bytes(len(good) - 12))  # header kept, stream zeroed
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte.gz: truncated or corrupt"):
        read_idx(bad)
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="truncated or corrupt gzip file.*BadGzipFile"):
        read_idx(bad)
