"""Pieces of the training shell that every model's loop shares.

* :func:`time_left`: the estimate of the time left printed by the verbose lines;
* :class:`Pretraining`: the per-epoch progress of greedy layer-wise
  pretraining. A DBN wraps each layer's ``fit`` in :meth:`Pretraining.layer`;
  the RBM's own epoch loop (``BaseRBM._train``) then prints its epoch line
  with the layer's position and the time left of the layer and of the whole
  pretraining (:func:`pretraining_layer`, :meth:`Pretraining.epoch_line`), so
  there is one epoch loop and one line per epoch;
* :func:`scale_cause`: the data's scale named in a DivergenceError.
"""

import contextvars
import math
import time
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp

#: Inputs larger than this in magnitude are named as a likely cause of a
#: divergence: scaled data (MinMaxScaler, StandardScaler) rarely exceed it,
#: and a CD or back-propagation step grows with the input's magnitude.
LARGE_INPUT = 10.0


def time_left(elapsed, done, total):
    """Seconds left if the ``total - done`` remaining steps take as long as the ``done`` ones."""
    return elapsed / done * (total - done) if done > 0 else math.nan


def max_abs(X, block_rows=4096):
    """Largest ``|X|`` of a dense or sparse matrix, a block of rows at a time (0 when empty)."""
    if sp.issparse(X):
        return float(np.max(np.abs(X.data))) if X.nnz else 0.0
    X = np.asarray(X) if not isinstance(X, np.ndarray) else X
    m = 0.0
    for start in range(0, X.shape[0], block_rows):
        block = X[start:start + block_rows]
        if block.size:
            m = max(m, float(np.max(np.abs(block))))
    return m


def scale_cause(X, name="X"):
    """The sentence naming the data's scale as a likely cause of a divergence, or "".

    Non-empty when ``max |X| > LARGE_INPUT``; it reports ``max |X|`` and the remedy
    (for ``name="y"``, regression targets: scaling the targets).
    """
    m = max_abs(X)
    if not m > LARGE_INPUT:
        return ""
    remedy = ("scale the targets, for example with sklearn.compose.TransformedTargetRegressor("
              "transformer=StandardScaler())" if name == "y" else
              "scale the features first, for example with sklearn.preprocessing."
              "StandardScaler or MinMaxScaler in a Pipeline")
    return f"The data's scale is a likely cause: max |{name}| = {m:.3g}; {remedy}."


# ------------------------------------------------------------------ pretraining
_LAYER = contextvars.ContextVar("rbmlib_pretraining_layer", default=None)


class Pretraining:
    """Progress of greedy layer-wise pretraining, one line per epoch of each layer.

    Parameters
    ----------
    label : str
        Prefix of the lines (``"[DBN]"``).
    n_iter : list of int
        Epochs of each layer.
    n_components : list of int
        Hidden units of each layer (the next layer's visible units).
    enabled : bool, default=True
        False: :meth:`layer` does nothing (verbose=0 stays silent).

    The time left of the whole pretraining assumes that an epoch costs in
    proportion to its layer's number of weights (both the CD step and the
    monitored pseudo-likelihood are O(n_visible x n_hidden) per row, and every
    layer sees the same rows); the rate is measured on the epochs done so far.
    """

    def __init__(self, label, n_iter, n_components, enabled=True):
        self.label = label
        self.enabled = enabled
        self.n_iter = [int(n) for n in n_iter]
        self.n_components = [int(h) for h in n_components]
        self.t_start = time.time()
        self.work_done = 0.0

    @contextmanager
    def layer(self, l, estimator):
        """While the block runs, ``estimator``'s epoch lines are those of layer ``l``."""
        if not self.enabled:
            yield
            return
        token = _LAYER.set((self, l, estimator))
        try:
            yield
        finally:
            _LAYER.reset(token)

    def _work_after(self, l):
        """Weights x epochs of the layers above layer ``l``."""
        H = self.n_components
        return float(sum(H[m - 1] * H[m] * self.n_iter[m] for m in range(l + 1, len(H))))

    def epoch_line(self, l, shape, epoch, n_epochs, figures, seconds, layer_elapsed):
        """The line of epoch ``epoch`` (0-based) of ``n_epochs`` of layer ``l``.

        ``shape`` is the layer's weight shape (n_hidden, n_visible); ``figures``
        the epoch's metrics (``"pseudo-likelihood = ..., ..."``); ``seconds``
        the epoch's time; ``layer_elapsed`` the time since the layer started.
        """
        H, V = shape
        self.work_done += float(H) * float(V)
        left = time_left(layer_elapsed, epoch + 1, n_epochs)
        work_left = float(H) * float(V) * (n_epochs - epoch - 1) + self._work_after(l)
        total_left = (time.time() - self.t_start) / self.work_done * work_left
        return (f"{self.label} Layer {l + 1}/{len(self.n_iter)}, Iteration {epoch + 1}/"
                f"{n_epochs}, {figures}, time = {seconds:.2f}s, time left ~ {left:.1f}s "
                f"(layer), ~ {total_left:.1f}s (pretraining)")


def pretraining_layer(estimator):
    """``(progress, l)`` when ``estimator`` is being trained as layer ``l`` of a
    :class:`Pretraining`, else None."""
    current = _LAYER.get()
    if current is None or current[2] is not estimator:
        return None
    return current[0], current[1]
