"""Row blocks of data too large for memory, and lazy inference on dask arrays.

Out-of-core training reads its data one block of rows at a time. A block
source (:class:`RowBlocks`) wraps

- an in-memory ndarray, a :class:`numpy.memmap` or a SciPy sparse matrix
  (blocks are row slices; a memmap slice is read from the file only when
  used),
- a dask array (blocks are row slices, each computed when it is needed, on
  the cluster when a ``dask.distributed.Client`` is active; only one block is
  in the caller's memory at a time), or
- a re-iterable of row blocks (a list of arrays, or any object whose
  ``__iter__`` returns a fresh iterator each time -- for example a class
  that reads a folder of ``.npy`` files); a one-shot iterator such as a
  generator is refused, because greedy pretraining reads the data once per
  epoch and per layer.

An ndarray and a memmap of the same data, cut into the same blocks and read
in the same (random) order, give exactly the same blocks, so a model trained
from either is bit-identical.

dask is imported only when a dask collection is seen (``"dask" in
sys.modules`` is checked first): it stays an optional dependency, the
``rbmlib[dask]`` extra.
"""

import copy
import sys
from numbers import Integral
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp

from ._fitting import EpochTrainer, run_epochs

__all__ = ["RowBlocks", "compute_rows", "fit_streaming", "is_dask_collection",
           "is_memory_mapped", "lazy_method", "map_rows", "mean_over_rows",
           "pretrain_streaming", "streaming_source"]

#: Dense elements of one block when the block size is "auto" (2**22 float32 = 16 MB:
#: 5,350 rows of 784 pixels).
AUTO_BLOCK_ELEMENTS = 2**22


def is_dask_collection(X):
    """True if X (any object) is a dask collection (array, dataframe); never imports dask."""
    if "dask" not in sys.modules:  # nothing can be a dask collection yet
        return False
    import dask

    return dask.is_dask_collection(X)


def is_memory_mapped(X):
    """True if X (any object) is a numpy.memmap or an ndarray view of one.

    Validation drops the memmap subclass, so the test follows ``.base``.
    """
    import mmap

    while isinstance(X, np.ndarray):
        if isinstance(X, np.memmap):
            return True
        X = X.base
    return isinstance(X, mmap.mmap)


def _is_array(X):
    return isinstance(X, np.ndarray) or sp.issparse(X) or is_dask_collection(X)


def _is_block(b):
    return _is_array(b) and len(getattr(b, "shape", ())) == 2


def _is_block_iterable(X):
    """A list/tuple of 2-D blocks, or an iterable object that is not array-like."""
    if _is_array(X) or hasattr(X, "__array__") or hasattr(X, "iloc"):
        return False
    if isinstance(X, (list, tuple)):
        return len(X) > 0 and all(_is_block(b) for b in X)
    return hasattr(X, "__iter__") and not isinstance(X, (str, bytes, dict))


def _dask_rows(X):
    """A 2-D dask array with one chunk across the columns (dask dataframes converted)."""
    if hasattr(X, "to_dask_array"):  # dask.dataframe
        X = X.to_dask_array(lengths=True)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D dask array of shape (n_samples, n_features); "
                         f"got one of shape {X.shape}.")
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError("The dask array has unknown chunk sizes (nan); call "
                         "X.compute_chunk_sizes() first.")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return X


def _check_block_size(block_size):
    if block_size is None or (isinstance(block_size, str) and block_size == "auto"):
        return "auto"
    if isinstance(block_size, Integral) and not isinstance(block_size, bool) and block_size >= 1:
        return int(block_size)
    raise ValueError(f"block_size must be 'auto', None or a positive integer (rows per "
                     f"block); got {block_size!r}.")


class RowBlocks:
    """Re-readable row blocks of a data set (see the module docstring).

    Parameters
    ----------
    X : ndarray, numpy.memmap, sparse matrix, dask array or re-iterable of blocks
        The data, of shape (n_samples, n_features); blocks of an iterable are
        2-D arrays or sparse matrices with the same number of columns.
    block_size : int, "auto" or None, default="auto"
        Rows per block for array input; "auto" (or None) takes a dask array's
        own row chunks, and for other arrays ``max(1, 2**22 // n_features)``
        rows (16 MB of float32). Ignored for an iterable of blocks (its blocks
        are used as given).

    Raises
    ------
    TypeError
        If X is a one-shot iterator (a generator, ``iter(list)``...).
    ValueError
        If ``block_size`` is not a positive integer or "auto", if X is not
        2-D, or if a dask array has unknown chunk sizes.
    """

    def __init__(self, X, block_size="auto"):
        block_size = _check_block_size(block_size)
        self._iterable = None
        if is_dask_collection(X):
            X = _dask_rows(X)
        if _is_array(X):
            if len(X.shape) != 2:
                raise ValueError(f"Expected 2-D data of shape (n_samples, n_features); got "
                                 f"shape {X.shape}.")
            n = X.shape[0]
            if block_size == "auto" and is_dask_collection(X):
                bounds = np.concatenate([[0], np.cumsum(X.chunks[0])]).astype(np.int64)
            else:
                step = (max(1, AUTO_BLOCK_ELEMENTS // max(1, X.shape[1]))
                        if block_size == "auto" else block_size)
                bounds = np.append(np.arange(0, n, step, dtype=np.int64), n)
            self._bounds = [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
            self._X = X
            self.n_features = X.shape[1]
            self.dtype = X.dtype
        elif _is_block_iterable(X):
            if iter(X) is X:
                raise TypeError(
                    f"X is a one-shot iterator ({type(X).__name__}); out-of-core training "
                    f"reads the data once per epoch (and per layer of a DBN). Pass a list of "
                    f"blocks, a dask array or a numpy.memmap, or an object whose __iter__ "
                    f"returns a fresh iterator each time."
                )
            self._iterable = X
            self._X = None
            self._bounds = None
            self.n_features = None
            self.dtype = None
        else:
            raise TypeError(f"Cannot read row blocks from {type(X).__name__}; expected an "
                            f"array, a sparse matrix, a dask array or an iterable of 2-D blocks.")

    @property
    def n_rows(self):
        """Number of rows, or None for an iterable of blocks (not known before reading)."""
        return None if self._X is None else int(self._X.shape[0])

    @property
    def n_blocks(self):
        """Number of blocks, or None for an iterable of blocks (not known before reading)."""
        return None if self._bounds is None else len(self._bounds)

    def _read(self, start, stop):
        X = self._X
        block = X[start:stop]
        if is_dask_collection(block):
            block = block.compute()
        elif is_memory_mapped(block):
            block = np.array(block)  # one block in memory, the file untouched
        return block

    def __iter__(self):
        return self.blocks()

    def blocks(self, rng=None, shuffle_rows=True):
        """Yield the blocks, one at a time.

        Parameters
        ----------
        rng : numpy.random.RandomState, numpy.random.Generator or None, default=None
            When given, array blocks are visited in a random order and the
            rows of every block are shuffled (one permutation per block, drawn
            from ``rng`` in that order); an iterable's blocks keep their order
            and only their rows are shuffled. None yields the blocks in order,
            rows unshuffled.
        shuffle_rows : bool, default=True
            False: with ``rng``, only the order of the blocks is random (for a
            caller that shuffles the rows itself).

        Yields
        ------
        block : ndarray or sparse matrix of shape (n_block_rows, n_features)
            A sparse dask chunk comes as the sparse matrix it holds.

        Raises
        ------
        ValueError
            If a block of an iterable is not 2-D or its number of columns
            differs from the first block's.
        """
        if self._bounds is not None:
            order = (np.arange(len(self._bounds)) if rng is None
                     else rng.permutation(len(self._bounds)))
            blocks = (self._read(*self._bounds[i]) for i in order)
        else:
            blocks = iter(self._iterable)
        width = None
        for i, block in enumerate(blocks):
            if is_dask_collection(block):
                block = block.compute()
            if not sp.issparse(block):
                block = np.asarray(block)
            if block.ndim != 2:
                raise ValueError(f"Block {i} has shape {block.shape}; every block must be 2-D "
                                 f"(n_rows, n_features).")
            if width is None:
                width = block.shape[1]
            elif block.shape[1] != width:
                raise ValueError(f"Block {i} has {block.shape[1]} columns but block 0 has "
                                 f"{width}; every block must have the same features.")
            if block.shape[0] == 0:
                continue
            if rng is not None and shuffle_rows:
                block = block[rng.permutation(block.shape[0])]
            yield block

    def first_block(self):
        """The first block in storage order (for validation and initialisation)."""
        for block in self.blocks():
            return block
        raise ValueError("X holds no rows; at least one sample is required.")


def streaming_source(X, block_size="auto"):
    """The block source for out-of-core training, or None to train in memory.

    Parameters
    ----------
    X : object
        Training data.
    block_size : int, "auto" or None
        "auto" (or None) streams only what cannot or should not be loaded
        whole: a numpy.memmap larger than one block (2**22 elements), a dask
        array or an iterable of blocks; an
        integer streams any array in blocks of that many rows (so an ndarray
        and a memmap of the same data train identically).

    Returns
    -------
    source : RowBlocks or None
    """
    block_size = _check_block_size(block_size)
    if isinstance(block_size, int) and (_is_array(X) or _is_block_iterable(X)):
        return RowBlocks(X, block_size)
    if is_memory_mapped(X) and X.ndim == 2 and X.shape[0] * X.shape[1] <= AUTO_BLOCK_ELEMENTS:
        # a memmap no larger than one "auto" block costs no more in memory, and
        # trains exactly as the same data in an ndarray
        return None
    if is_memory_mapped(X) or is_dask_collection(X) or _is_block_iterable(X):
        return RowBlocks(X, block_size)
    return None


def compute_rows(X):
    """A dask array computed into one NumPy array, one row block at a time.

    The output is allocated once and each row chunk is computed (on the
    cluster when a ``dask.distributed.Client`` is active) and copied into
    it, so the peak memory is the output plus one chunk -- never a second
    full copy, as ``np.concatenate`` of the chunks would need. A 1-D array
    (targets, weights: one value per row, possibly of unknown chunk sizes)
    is computed at once. Anything that is not a dask collection is returned
    unchanged.

    Parameters
    ----------
    X : dask array of shape (n_samples,) or (n_samples, n_features), or any object

    Returns
    -------
    out : ndarray of the same shape and dtype (or X itself if not a dask collection)

    Raises
    ------
    ValueError
        If the dask array has unknown chunk sizes or more than 2 dimensions.
    TypeError
        If a chunk is a sparse matrix (densify or compute it yourself).
    """
    if not is_dask_collection(X):
        return X
    if hasattr(X, "to_dask_array"):  # dask dataframe / series
        X = X.to_dask_array(lengths=True)
    if X.ndim == 1:  # targets or weights: one value per row, computed at once
        return np.asarray(X.compute())
    if X.ndim != 2:
        raise ValueError(f"Expected a 1-D or 2-D dask array; got one of shape {X.shape}.")
    X = _dask_rows(X)
    out = np.empty(X.shape, dtype=X.dtype)
    source = RowBlocks(X, "auto")
    for start, stop in source._bounds:
        block = source._read(start, stop)
        if sp.issparse(block):
            raise TypeError("The dask array holds sparse chunks; compute it to a sparse "
                            "matrix yourself to train on it in memory.")
        out[start:stop] = block
    return out


def map_rows(estimator, method, X, n_outputs, dtype):
    """Lazy ``estimator.<method>(X)`` over the row chunks of a dask array.

    The fitted estimator is copied into the graph (a later refit of the
    original does not change the result), and each chunk is computed where
    it lives.

    Parameters
    ----------
    estimator : fitted estimator
    method : str
        "transform", "predict", "predict_proba", "score_samples"...
    X : dask array of shape (n_samples, n_features)
    n_outputs : int or None
        Columns of the output; None for a 1-D output of shape (n_samples,).
    dtype : numpy dtype
        Dtype of the output.

    Returns
    -------
    out : dask array of shape (n_samples, n_outputs) or (n_samples,)
        Chunked like X's rows; nothing is computed until ``.compute()``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        If X does not have the ``n_features_in_`` columns the estimator was
        fitted on.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    X = _dask_rows(X)
    expected = getattr(estimator, "n_features_in_", None)
    if expected is not None and X.shape[1] != expected:
        raise ValueError(f"X has {X.shape[1]} features, but {type(estimator).__name__} is "
                         f"expecting {expected} features as input.")
    frozen = copy.deepcopy(estimator)
    fn = getattr(frozen, method)
    name = f"{type(estimator).__name__.lower()}-{method}"
    dtype = np.dtype(dtype)
    if n_outputs is None:
        return X.map_blocks(_apply_1d, fn, drop_axis=1, dtype=dtype,
                            meta=np.empty((0,), dtype), name=name + "-" + _token(frozen, X))
    return X.map_blocks(_apply, fn, chunks=(X.chunks[0], (int(n_outputs),)), dtype=dtype,
                        meta=np.empty((0, 0), dtype), name=name + "-" + _token(frozen, X))


def lazy_method(estimator, method, X):
    """``estimator.<method>(X)`` of a dask array X, as a lazy dask array.

    The output's columns and dtype are read from the method's output on one
    row of zeros; then :func:`map_rows` builds the graph.

    Parameters
    ----------
    estimator, method, X
        As :func:`map_rows`.

    Returns
    -------
    out : dask array of shape (n_samples,) or (n_samples, n_outputs)

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        If X has the wrong number of columns.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    probe = np.asarray(getattr(estimator, method)(np.zeros((1, estimator.n_features_in_))))
    n_outputs = None if probe.ndim == 1 else probe.shape[1]
    return map_rows(estimator, method, X, n_outputs, probe.dtype)


def _token(estimator, X):
    import pickle

    from dask.base import tokenize

    return tokenize(pickle.dumps(estimator), X.name)


def _apply(block, fn):
    return np.asarray(fn(block))


def _apply_1d(block, fn):
    return np.asarray(fn(block)).reshape(-1)


def mean_over_rows(estimator, method, X):
    """Mean over all rows of ``estimator.<method>(X)`` (per-sample values) for a dask X.

    Parameters
    ----------
    estimator : fitted estimator
    method : str
        A method returning one value per row, e.g. "score_samples".
    X : dask array of shape (n_samples, n_features)

    Returns
    -------
    mean : float
        Computed (on the cluster when a Client is active).
    """
    values = map_rows(estimator, method, X, None, np.float64)
    return float(values.astype(np.float64).mean().compute())


# --------------------------------------------------------------------------
# Out-of-core training by partial_fit over blocks
# --------------------------------------------------------------------------


def _upward(rbms, block):
    """A block passed up through fitted RBMs (their hidden probabilities)."""
    for rbm in rbms:
        block = rbm.transform(block)
    return block


class _StreamingEpochs(EpochTrainer):
    """:func:`fit_streaming`'s epochs on the training shell (:func:`rbmlib._fitting.run_epochs`).

    An epoch is one ``partial_fit`` pass of the estimator over every block of
    ``data.source`` (visited in a random order drawn from ``data.rng``, each
    passed up through ``data.below``). The estimator trains in place and each
    ``partial_fit`` is itself a transaction, so the loop's state only counts the
    epochs; the shell owns the loop, the history and the verbose line.
    """

    def __init__(self, estimator, label, progress):
        self.estimator = estimator
        self.label = label
        self.progress = progress

    def _epoch_step(self, state, data, epoch):
        n_rows = 0
        for block in data.source.blocks(data.rng):
            self.estimator.partial_fit(_upward(data.below, block))
            n_rows += block.shape[0]
        if self.progress is not None:
            self.progress["epochs"] = epoch + 1
        return n_rows

    def _epoch_record(self, state, data, step, seconds):
        return {**super()._epoch_record(state, data, step, seconds), "n_rows": step}

    def _epoch_line(self, state, data, record, seconds, elapsed, epoch, n_epochs):
        return (f"{self.label}Epoch {epoch + 1}/{n_epochs} over {record['n_rows']} rows in "
                f"blocks, time = {seconds:.2f}s")


def fit_streaming(estimator, source, n_epochs, rng, below=(), verbose=0, label="",
                  progress=None):
    """Train an unfitted estimator by ``partial_fit`` over the blocks, ``n_epochs`` times.

    Each epoch visits the blocks in a random order with their rows shuffled
    (:meth:`RowBlocks.blocks`), passes each block up through the fitted
    estimators ``below`` (``transform``) and makes one ``partial_fit`` pass
    over it. Only one block (and its images in the layers) is in memory at a
    time. With ``n_epochs == 0`` the estimator is initialised by ``fit`` on
    the first block (its own ``n_iter`` is then expected to be 0). The epochs
    run in the training shell's loop (:func:`rbmlib._fitting.run_epochs`, with
    :class:`_StreamingEpochs` as the model); a KeyboardInterrupt propagates
    (``progress`` says where it landed), the blocks already passed staying in
    the estimator.

    Parameters
    ----------
    estimator : estimator with partial_fit
        Trained in place.
    source : RowBlocks
    n_epochs : int
    rng : numpy.random.RandomState
        Draws the block orders and row permutations.
    below : sequence of fitted transformers, default=()
    verbose : int, default=0
        Prints one line per epoch.
    label : str, default=""
        Prefix of the verbose line.
    progress : dict or None, default=None
        When given, ``progress["epochs"]`` counts the completed epochs.

    Returns
    -------
    estimator : the same estimator, fitted
    """
    if n_epochs == 0:
        return estimator.fit(_upward(below, source.first_block()))
    run_epochs(_StreamingEpochs(estimator, label, progress),
               SimpleNamespace(n_iter=0, history=[]),
               SimpleNamespace(source=source, rng=rng, below=below),
               n_epochs, verbose=bool(verbose), keep_partial=False)
    return estimator


def pretrain_streaming(rbms, source, rng, verbose=0, progress=None):
    """Greedy layer-wise pretraining of unfitted RBMs, reading the data in blocks.

    Layer ``l`` is trained for its own ``n_iter`` epochs (0: initialised only)
    on blocks streamed through the trained layers ``0 .. l-1``; no layer's
    representation of the whole data set is ever held. Memory is bounded by
    the block size and the model.

    Parameters
    ----------
    rbms : list of unfitted RBM estimators, bottom first
        Trained in place.
    source : RowBlocks
    rng : numpy.random.RandomState
    verbose : int, default=0
    progress : dict or None, default=None
        When given, kept up to date with ``layer`` (the layer in training)
        and ``epochs`` (its completed epochs): where a KeyboardInterrupt
        landed.

    Returns
    -------
    rbms : list
        The same RBMs, fitted.
    """
    progress = {} if progress is None else progress
    for l, rbm in enumerate(rbms):
        progress.update(layer=l, epochs=0)
        fit_streaming(rbm, source, int(rbm.n_iter), rng, below=rbms[:l], verbose=verbose,
                      label=f"[DBN] Layer {l + 1}/{len(rbms)}: ", progress=progress)
    progress.update(layer=len(rbms), epochs=0)
    return rbms
