"""The training shell: the fit transaction and the one epoch loop of every model.

Every trainer of rbmlib (the RBMs' contrastive divergence, back-propagation of
the DBN networks and the autoencoder, and a model still to come such as a Deep
Boltzmann Machine) runs through the two pieces below, written once:

* :func:`transaction` -- a fit leaves the estimator exactly as it was when it
  raises: a shallow copy of its ``__dict__`` and the states of the random
  generators the call may advance (``random_state`` and a kept ``_rng``) are put
  back. A model trains a private copy of its state and swaps it in at the end
  (its ``_commit``), so the copy is a complete record.
* :func:`run_epochs` -- the epoch loop. It owns Ctrl-C (a KeyboardInterrupt
  anywhere in an epoch puts the state back to the last completed epoch; with at
  least one completed epoch training stops with a RuntimeWarning and the
  completed epochs are kept, otherwise the KeyboardInterrupt propagates to the
  transaction), the divergence check after each epoch (a
  :class:`~rbmlib.exceptions.DivergenceError` with the model's message), the
  history (one record per epoch), the stopping rule, and the verbose line with
  the epoch's time and the time left.

A model plugs in by subclassing :class:`EpochTrainer` and writing its hooks,
as scikit-learn's ``BaseMixture`` declares ``_initialize``, ``_m_step``, ...
for its subclasses. ``state`` is the model's private training state: any object
with ``n_iter`` (epochs completed), ``history`` (a list, one record per epoch)
and ``copy()`` (a snapshot the loop keeps per completed epoch). ``data`` is
whatever the model's epoch step reads (the training rows, scratch buffers, a
random generator); the loop only hands it to the hooks.

Hooks (on the model; all but the first have defaults on :class:`EpochTrainer`):

``_epoch_step(state, data, epoch) -> step``
    Required. One pass over the data, updating ``state`` in place; returns what
    the hooks below read (e.g. the epoch's loss) or None.
``_check_divergence(state, data, step) -> str or None``
    What the epoch broke (default: None, never).
``_divergence_error(bad, state, data, committed, epoch) -> exception``
    The error raised for it (default: a DivergenceError naming the epoch);
    ``committed`` is the state of the last completed epoch.
``_epoch_record(state, data, step, seconds) -> dict``
    The epoch's record in the history (default: ``{"epoch", "seconds"}``).
``_epoch_line(state, data, record, seconds, elapsed, epoch, n_epochs) -> str``
    The verbose line (default: ``[Name] Iteration n, <figures>, time = ...,
    time left ~ ...``); ``_verbose_label(data)`` its prefix (``[Name]``).
``_interrupt_message(committed, n_done, n_epochs) -> str``
    The RuntimeWarning of a Ctrl-C that kept ``n_done`` epochs.
``_snapshot(state)``
    The copy kept per completed epoch (default: ``state.copy()``).

A :class:`StoppingRule` decides after each epoch whether training stops (and
may print a line, such as the adaptive schedule's new learning rate); its
progress lives in its attributes, which the loop saves with each completed
epoch and puts back with the state on Ctrl-C. The fit transaction, the state's
initialisation and the swap into the estimator (``_commit``) stay with the
model's ``fit``; see CONTRIBUTING.md, "Adding a model".

Also here, for the loops' messages:

* :func:`time_left`: the estimate of the time left printed by the verbose lines;
* :class:`Pretraining`: the per-epoch progress of greedy layer-wise
  pretraining. A DBN wraps each layer's ``fit`` in :meth:`Pretraining.layer`;
  the RBM's epoch loop then prints its epoch line with the layer's position
  and the time left of the layer and of the whole pretraining
  (:func:`pretraining_layer`, :meth:`Pretraining.epoch_line`), so there is one
  epoch loop and one line per epoch;
* :func:`scale_cause`: the data's scale named in a DivergenceError.
"""

import contextvars
import math
import time
import warnings
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp

from .exceptions import DivergenceError

#: Inputs larger than this in magnitude are named as a likely cause of a
#: divergence: scaled data (MinMaxScaler, StandardScaler) rarely exceed it,
#: and a CD or back-propagation step grows with the input's magnitude.
LARGE_INPUT = 10.0


# ------------------------------------------------------------------ transaction
@contextmanager
def transaction(estimator, keep=None):
    """Put ``estimator`` back exactly as it was if the block raises.

    Training never writes into the estimator's own arrays (it works on a
    copy of its state and swaps the result in), so a shallow copy of
    ``__dict__`` plus the states of the random generators the call may advance
    (``random_state`` and ``_rng`` when they are ``numpy.random.RandomState``
    instances) is a complete record.

    Parameters
    ----------
    estimator : object
        The estimator being fitted.
    keep : callable, default=None
        ``keep(exc) -> bool``: True for an exception after which the estimator
        keeps what the block set (a network that diverged in fine-tuning keeps,
        consistently, its last finite epoch). None: every exception restores.
    """
    saved = dict(estimator.__dict__)
    rngs = []
    for r in (saved.get("_rng"), saved.get("random_state")):
        if isinstance(r, np.random.RandomState) and all(r is not q for q, _ in rngs):
            rngs.append((r, r.get_state()))
    try:
        yield
    except BaseException as exc:
        if keep is not None and keep(exc):
            raise
        for r, s in rngs:
            r.set_state(s)
        estimator.__dict__.clear()
        estimator.__dict__.update(saved)
        raise


# ------------------------------------------------------------------ epoch loop
class StoppingRule:
    """Whether training stops after an epoch (this base: never).

    Subclasses write :meth:`update`. Their progress (counters, the best score)
    is kept in their attributes, which the epoch loop saves with each
    completed epoch and puts back on Ctrl-C: replace an array attribute rather
    than write into it.
    """

    def update(self, record, state):
        """Take in the record of the epoch just completed.

        Returns
        -------
        stop : bool
            Whether training stops after this epoch.
        message : str or None
            A line to print (verbose), after the model's label.
        """
        return False, None


class GapRule(StoppingRule):
    """Stop when ``record[key]`` grew ``n_iter_no_change`` epochs in a row.

    The RBMs' early stopping on the free-energy gap between held-out and
    training rows (a growing gap is overfitting); epochs whose record has no
    ``key`` are skipped.
    """

    def __init__(self, n_iter_no_change, key="free_energy_gap"):
        self.n_iter_no_change = n_iter_no_change
        self.key = key
        self.previous = None
        self.count = 0

    def update(self, record, state):
        if self.key not in record:
            return False, None
        gap = record[self.key]
        grew = self.previous is not None and gap > self.previous
        self.count = self.count + 1 if grew else 0
        self.previous = gap
        if self.count >= self.n_iter_no_change:
            return True, (f"Early stopping: the free-energy gap grew for {self.count} "
                          f"epochs in a row.")
        return False, None


class EpochTrainer:
    """The hooks of :func:`run_epochs` and their defaults (see the module docstring).

    A model subclasses it and writes ``_epoch_step``; the other hooks have
    defaults. :meth:`_run_epochs` runs the loop on the model.
    """

    def _epoch_step(self, state, data, epoch):
        """One pass over the training data, updating ``state`` in place.

        ``epoch`` counts the epochs of this call from 0. Returns what
        ``_check_divergence`` and ``_epoch_record`` read (or None).
        """
        raise NotImplementedError

    def _check_divergence(self, state, data, step):
        """Why the epoch broke the model (a short description), or None."""
        return None

    def _divergence_error(self, bad, state, data, committed, epoch):
        """The exception raised when ``_check_divergence`` found ``bad``.

        ``committed`` is the state after the last completed epoch (None when
        the loop keeps no snapshots); ``epoch`` counts this call's epochs from 0.
        """
        return DivergenceError(f"Training diverged in epoch {state.n_iter + 1}: {bad}.")

    def _epoch_record(self, state, data, step, seconds):
        """The epoch's record in the history (a dict of its figures)."""
        return {"epoch": state.n_iter + 1, "seconds": seconds}

    def _verbose_label(self, data):
        """Prefix of the verbose lines."""
        return f"[{type(self).__name__}]"

    def _epoch_line(self, state, data, record, seconds, elapsed, epoch, n_epochs):
        """The verbose line of an epoch (``state.n_iter`` already counts it)."""
        figures = "".join(f", {k} = {v:.4g}" for k, v in record.items()
                          if k not in ("epoch", "seconds") and isinstance(v, float))
        left = time_left(elapsed, epoch + 1, n_epochs)
        return (f"{self._verbose_label(data)} Iteration {state.n_iter}{figures}, "
                f"time = {seconds:.2f}s, time left ~ {left:.1f}s")

    def _interrupt_message(self, committed, n_done, n_epochs):
        """The RuntimeWarning of a Ctrl-C that kept ``n_done`` epochs of this call."""
        return (f"{type(self).__name__}: training interrupted by the user "
                f"(KeyboardInterrupt); the model is kept as it was after epoch "
                f"{committed.n_iter} ({n_done} of {n_epochs} epochs completed) and "
                f"interrupted_ is set to True.")

    def _snapshot(self, state):
        """A copy of ``state`` that later epochs do not change."""
        return state.copy()

    def _run_epochs(self, state, data, n_epochs, **kw):
        """:func:`run_epochs` on this model."""
        return run_epochs(self, state, data, n_epochs, **kw)


def run_epochs(model, state, data, n_epochs, *, verbose=False, keep_partial=True,
               stopping=None):
    """Train ``state`` for up to ``n_epochs`` epochs of ``model``'s epoch step.

    Each epoch: ``_epoch_step``; ``_check_divergence`` (a description raises
    ``_divergence_error``); ``_epoch_record`` appended to ``state.history``
    and ``state.n_iter += 1``; the verbose line; the stopping rule; then the
    epoch is committed (a snapshot, with ``keep_partial``).

    Parameters
    ----------
    model : EpochTrainer
        Supplies the hooks.
    state : object
        The model's training state (``n_iter``, ``history``, ``copy()``),
        trained in place.
    data : object
        Passed to the hooks.
    n_epochs : int
        Most epochs to run.
    verbose : bool, default=False
        Print ``_epoch_line`` after each epoch, and the stopping rule's lines.
    keep_partial : bool, default=True
        Keep the completed epochs on Ctrl-C: a KeyboardInterrupt after at
        least one completed epoch of this call stops training with a
        RuntimeWarning (``_interrupt_message``) and returns the state of the
        last completed epoch. False (an atomic call, such as partial_fit):
        no snapshots, and a KeyboardInterrupt propagates.
    stopping : StoppingRule, default=None
        Decides after each epoch whether training stops; None runs
        ``n_epochs`` epochs.

    Returns
    -------
    state : object
        ``state`` itself, or on Ctrl-C the snapshot of its last completed epoch.
    interrupted : bool
        Whether Ctrl-C stopped training.

    Raises
    ------
    DivergenceError
        (Or what ``_divergence_error`` returns.) When an epoch broke the model.
    KeyboardInterrupt
        On Ctrl-C before any epoch of this call completed, or always when not
        ``keep_partial``.
    """
    first = state.n_iter
    committed = model._snapshot(state) if keep_partial else None
    progress = dict(vars(stopping)) if stopping is not None else None
    t_start = time.time()
    try:
        for epoch in range(n_epochs):
            t0 = time.time()
            step = model._epoch_step(state, data, epoch)
            bad = model._check_divergence(state, data, step)
            if bad is not None:
                raise model._divergence_error(bad, state, data, committed, epoch)
            seconds = time.time() - t0
            record = model._epoch_record(state, data, step, seconds)
            state.history.append(record)
            state.n_iter += 1
            if verbose:
                print(model._epoch_line(state, data, record, seconds,
                                        time.time() - t_start, epoch, n_epochs))
            stop, message = (False, None) if stopping is None else stopping.update(record,
                                                                                  state)
            if message is not None and verbose:
                print(f"{model._verbose_label(data)} {message}")
            if keep_partial:
                committed = model._snapshot(state)
                if stopping is not None:
                    progress = dict(vars(stopping))
            if stop:
                break
    except KeyboardInterrupt:
        if not keep_partial or committed.n_iter == first:
            raise
        if stopping is not None:
            vars(stopping).clear()
            vars(stopping).update(progress)
        warnings.warn(model._interrupt_message(committed, committed.n_iter - first, n_epochs),
                      RuntimeWarning)
        return committed, True
    return state, False


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
