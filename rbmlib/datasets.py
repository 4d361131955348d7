"""Data sets read from local files (nothing is downloaded).

MNIST is read from the four gzip-compressed IDX files of the original
distribution (LeCun, Cortes and Burges). The folder is, in order of
precedence: the ``path`` argument, the ``RBMLIB_MNIST`` environment
variable, ``../shared/data/mnist`` relative to the repository root.
"""

import gzip
import os
import zlib
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_mnist"]

_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049

_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

# rbmlib/datasets.py -> repository root is two levels up; data lives beside it.
_DEFAULT_MNIST_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist"


def _mnist_dirs(path):
    """Candidate folders, in the order they are tried."""
    if path is not None:
        return [Path(path)]
    dirs = []
    env = os.environ.get("RBMLIB_MNIST")
    if env:
        dirs.append(Path(env))
    # the project's layout (shared/ beside the repository), from the
    # current folder (an installed package lives elsewhere) and from the source tree
    for d in (Path.cwd().parent / "shared" / "data" / "mnist", _DEFAULT_MNIST_DIR):
        if d not in dirs:
            dirs.append(d)
    return dirs


def _open_idx(filename):
    """Open an IDX file, gzip-compressed (``.gz``) or not."""
    filename = Path(filename)
    if filename.suffix == ".gz":
        return gzip.open(filename, "rb")
    return open(filename, "rb")


def read_idx(filename, expected_magic=None):
    """Read one IDX file (optionally gzip-compressed) into a uint8 array.

    Parameters
    ----------
    filename : str or path-like
        The file; a name ending in ``.gz`` is decompressed with gzip.
    expected_magic : int, default=None
        If given, the big-endian int32 magic number the file must start with
        (2051 for MNIST images, 2049 for labels).

    Returns
    -------
    data : ndarray of dtype uint8 and shape given by the file's header
        For MNIST images ``(n_images, 28, 28)``, for labels ``(n_labels,)``.

    Raises
    ------
    ValueError
        If the magic number is not the expected one, the data type is not
        unsigned byte (0x08), the file is shorter or longer than its header
        says, or a ``.gz`` file is truncated or corrupt (the message names the
        file).
    """
    try:
        with _open_idx(filename) as f:
            raw = f.read()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise ValueError(
            f"{filename}: truncated or corrupt gzip file ({type(exc).__name__}: {exc}); "
            "the download or copy was probably interrupted -- replace the file."
        ) from exc
    if len(raw) < 4:
        raise ValueError(f"{filename}: too short to be an IDX file ({len(raw)} bytes).")
    magic = int.from_bytes(raw[:4], "big")
    if expected_magic is not None and magic != expected_magic:
        raise ValueError(
            f"{filename}: magic number {magic}, expected {expected_magic}; "
            "not an IDX file of the expected kind."
        )
    zero, dtype_code, ndim = int.from_bytes(raw[:2], "big"), raw[2], raw[3]
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(
            f"{filename}: IDX header {raw[:4].hex()} is not unsigned-byte data (0x0008..)."
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{filename}: truncated IDX header.")
    shape = tuple(int.from_bytes(raw[4 + 4 * d: 8 + 4 * d], "big") for d in range(ndim))
    size = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != size:
        raise ValueError(
            f"{filename}: header says {size} data bytes for shape {shape}, "
            f"file has {len(raw) - header}."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def load_mnist(path=None, subset="train", *, return_X_y=True):
    """Load MNIST from the local gzip IDX files.

    Nothing is downloaded: the four original files
    (``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
    ``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz``) must already
    be in the folder.

    Parameters
    ----------
    path : str or path-like, default=None
        Folder holding the files. If None, the environment variable
        ``RBMLIB_MNIST`` is used when set, else ``../shared/data/mnist``
        relative to the current folder (the repository root), else relative
        to the source tree.
    subset : {"train", "test"}, default="train"
        The 60,000 training images or the 10,000 test images.
    return_X_y : bool, default=True
        If True return ``(X, y)``; otherwise a :class:`~sklearn.utils.Bunch`
        with ``data``, ``target``, ``images`` (n, 28, 28), ``subset`` and
        ``path``.

    Returns
    -------
    X : ndarray of shape (n_samples, 784), dtype uint8
        Pixel intensities 0-255, each image flattened row-major.
    y : ndarray of shape (n_samples,), dtype uint8
        Digit labels 0-9.

    Raises
    ------
    ValueError
        If ``subset`` is not "train" or "test", if a file has the wrong
        magic number or size or is a truncated or corrupt gzip file, or if
        images and labels disagree in number.
    FileNotFoundError
        If the files are not found; the message lists where it looked.

    References
    ----------
    Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based learning
    applied to document recognition", Proc. IEEE 86(11), 1998.
    """
    if subset not in _MNIST_FILES:
        raise ValueError(f"subset must be 'train' or 'test', got {subset!r}.")
    img_name, lab_name = _MNIST_FILES[subset]
    tried = []
    for d in _mnist_dirs(path):
        img, lab = d / img_name, d / lab_name
        if img.is_file() and lab.is_file():
            break
        tried.append(str(d))
    else:
        raise FileNotFoundError(
            f"MNIST files {img_name} and {lab_name} not found; looked in: "
            + ", ".join(tried)
            + ". Nothing is downloaded: put the four gzip IDX files in one of these "
            "folders, pass path=..., or set the RBMLIB_MNIST environment variable."
        )
    images = read_idx(img, _IDX_IMAGES_MAGIC)
    labels = read_idx(lab, _IDX_LABELS_MAGIC)
    if images.ndim != 3 or labels.ndim != 1:
        raise ValueError(
            f"{img}: expected 3-d images and 1-d labels, got shapes "
            f"{images.shape} and {labels.shape}."
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{img} has {images.shape[0]} images but {lab} has {labels.shape[0]} labels."
        )
    X = images.reshape(images.shape[0], -1)
    if return_X_y:
        return X, labels
    return Bunch(data=X, target=labels, images=images, subset=subset, path=str(d))
