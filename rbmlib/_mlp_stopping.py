"""When back-propagation stops, and when its end deserves a ConvergenceWarning.

:class:`StoppingRule` is the stopping rule of :func:`rbmlib.mlp.fit_backprop`
(scikit-learn's MLP rule with ``tol`` and ``n_iter_no_change``, early stopping on
a held-out validation fraction, the plateau rule of a network still at the loss
of a constant prediction, and the "adaptive" schedule's step cuts), plugged into
the epoch loop of :func:`rbmlib._fitting.run_epochs`; its
:meth:`~StoppingRule.convergence_warning` is the message of the fit's
ConvergenceWarning. Imported from :mod:`rbmlib.mlp`, which re-exports it.
"""

import math

import numpy as np
from sklearn.model_selection import train_test_split

from . import _fitting


def _constant_loss(Y, out_activation):
    """Training loss of the best constant prediction (the stall reference).

    Cross-entropy of the class frequencies (softmax), of each column's
    frequency (logistic), or half the summed variance of the targets
    (identity), per sample.
    """
    p = Y.mean(axis=0, dtype=np.float64)
    if out_activation == "identity":
        return float(0.5 * np.sum(Y.var(axis=0, dtype=np.float64)))
    with np.errstate(divide="ignore", invalid="ignore"):
        if out_activation == "softmax":
            return float(-np.sum(np.where(p > 0, p * np.log(p), 0.0)))
        q = 1.0 - p
        return float(-np.sum(np.where(p > 0, p * np.log(p), 0.0)
                             + np.where(q > 0, q * np.log(q), 0.0)))


#: Fraction of the constant-prediction loss above which training counts as stalled.
STALL_RATIO = 0.95
#: A fit that reached max_iter is still improving (and warned about) when its lowest
#: loss fell over the last ``PROGRESS_WINDOW`` epochs by more than ``PROGRESS_SHARE``
#: of its fall since the first epoch (see :meth:`StoppingRule.convergence_warning`).
PROGRESS_WINDOW = 10
PROGRESS_SHARE = 0.02


class StoppingRule(_fitting.StoppingRule):
    """When back-propagation stops: scikit-learn's MLP rule, and the plateau rule.

    An epoch "improves" when the training loss falls by more than ``tol``
    (with ``early_stopping``: the validation score rises by at least ``tol``),
    and also, without early stopping, while the training loss is still above
    ``STALL_RATIO`` times the loss of the best constant prediction (a sigmoid
    network often starts on such a plateau, its loss falling by less than
    ``tol`` per epoch for tens of epochs before it drops; stopping there is not
    convergence). After more than ``n_iter_no_change`` epochs in a row without
    improvement the optimiser is told (:meth:`rbmlib.optim.Optimizer.on_plateau`:
    the "adaptive" schedule divides its learning rate by 5 and training goes
    on); otherwise training stops.

    Parameters
    ----------
    max_iter : int, default=200
        Most epochs.
    tol : float, default=1e-4
        Improvement threshold.
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows and stop on their score;
        the weights of the best validation epoch are kept.
    validation_fraction : float, default=0.1
        Fraction of rows held out when ``early_stopping``.
    incremental : bool, default=False
        partial_fit: no ConvergenceWarning for reaching ``max_iter``.

    Attributes
    ----------
    best_loss : float
        Lowest training loss so far.
    best_score : float
        Highest validation score so far (``early_stopping``).
    best_params : ndarray or None
        The flat parameters of that epoch.
    no_improve : int
        Epochs in a row without improvement.
    stopped : bool
        Whether the rule stopped training.
    """

    def __init__(self, max_iter=200, tol=1e-4, n_iter_no_change=10, early_stopping=False,
                 validation_fraction=0.1, incremental=False):
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.incremental = incremental

    def validation_split(self, X, Y, SW, rng, stratify=None):
        """``(X, Y, SW, X_val, Y_val, SW_val)``: the held-out rows of early stopping.

        Without ``early_stopping`` the arrays are returned unchanged with None
        for the held-out ones. The split is stratified on ``stratify`` when
        every class allows it, and draws one seed from ``rng``.

        Raises
        ------
        ValueError
            If it leaves no training row or fewer than 2 validation rows.
        """
        if not self.early_stopping:
            return X, Y, SW, None, None, None
        n = X.shape[0]
        n_val = int(math.ceil(self.validation_fraction * n))
        if n_val < 2 or n - n_val < 1:
            raise ValueError(
                f"The validation set is too small. Increase 'validation_fraction' or the "
                f"size of your dataset: early_stopping with validation_fraction="
                f"{self.validation_fraction} holds out {n_val} of {n} samples, and needs at "
                f"least 2 validation samples and 1 training sample."
            )
        split_seed = rng.randint(np.iinfo(np.int32).max)
        try:
            X, X_val, Y, Y_val, SW, SW_val = train_test_split(
                X, Y, SW, test_size=self.validation_fraction, random_state=split_seed,
                stratify=stratify)
        except ValueError:
            X, X_val, Y, Y_val, SW, SW_val = train_test_split(
                X, Y, SW, test_size=self.validation_fraction, random_state=split_seed)
        return X, np.ascontiguousarray(Y), SW, X_val, Y_val, SW_val

    def start(self, constant_loss, optimizer):
        """Fresh progress for a fit whose constant prediction loses ``constant_loss``."""
        self.plateau = STALL_RATIO * constant_loss
        self.optimizer = optimizer
        self.best_loss = np.inf
        self.best_score = -np.inf
        self.best_params = None
        self.no_improve = 0
        self.stopped = False
        return self

    def update(self, record, state):
        loss = record["loss"]
        if self.early_stopping:
            val = record["validation_score"]
            # scikit-learn's rule: no improvement unless val >= best + tol
            improved = not (val < self.best_score + self.tol)
        else:
            # a loss still at the level of a constant prediction is a plateau,
            # not convergence: it does not count towards stopping
            improved = not (loss > self.best_loss - self.tol) or loss >= self.plateau
        self.best_loss = min(self.best_loss, loss)
        self.no_improve = 0 if improved else self.no_improve + 1
        if self.early_stopping and val > self.best_score:
            self.best_score, self.best_params = val, state.params.copy()
        if self.no_improve <= self.n_iter_no_change:
            return False, None
        if self.optimizer.on_plateau():
            self.no_improve = 0
            return False, f"Setting learning rate to {self.optimizer.lr:.6g}"
        self.stopped = True
        what = "Validation score" if self.early_stopping else "Training loss"
        return True, (f"{what} did not improve more than tol={self.tol} for "
                      f"{self.n_iter_no_change} consecutive epochs. Stopping.")

    def convergence_warning(self, name, loss_curve, reference, validation_scores=None):
        """The ConvergenceWarning's message at the end of a fit (None: no warning).

        When the rule stopped while the lowest training loss is above
        ``STALL_RATIO`` times ``reference``, the loss of the best constant
        prediction (stalled); and when ``max_iter`` was reached while training
        was still making progress: over the last ``PROGRESS_WINDOW`` epochs the
        lowest training loss (with early stopping, the best validation score)
        moved by more than ``PROGRESS_SHARE`` of all it moved since the first
        epoch (always for a fit of one epoch). A fit that reaches ``max_iter``
        creeping by a few multiples of ``tol`` per epoch, as the default
        256-256 network does on tables of 200-500 rows, is not warned about:
        on MASS::fgl, ISLR::Hitters and MASS::Boston the last 10 of the
        default 200 epochs moved the loss by at most 1.2% of its fall, and 100
        to 200 more epochs changed the held-out score by +0.007 to +0.018,
        while stopped after 50 epochs the share was 3.7-18% and the score 0.03
        to 0.15 lower (benchmarks/RESULTS.md, issue 21).

        Parameters
        ----------
        name : str
            The estimator's name, which starts the message.
        loss_curve : list of float
            Training loss per epoch.
        reference : float
            Training loss of the best constant prediction.
        validation_scores : list of float, default=None
            Validation score per epoch (``early_stopping``).

        Returns
        -------
        message : str or None
        """
        if not loss_curve or self.incremental:
            return None
        lowest = min(loss_curve)
        stalled = ""
        if lowest >= STALL_RATIO * reference:
            stalled = (
                f"the training loss ({lowest:.4g}) is no better than that of a constant "
                f"prediction ({reference:.4g}: the class frequencies or the target mean). "
                f"Raise learning_rate_init or max_iter, or check the pretraining (its "
                f"hidden units may be almost constant: raise n_iter_pretrain or "
                f"learning_rate_pretrain)."
            )
        if self.stopped and stalled:
            return (f"{name}: training stalled: it stopped after {len(loss_curve)} epochs "
                    f"without improvement and {stalled}")
        if not self.stopped and (stalled or _still_improving(
                loss_curve if not self.early_stopping or not validation_scores
                else [-v for v in validation_scores])):
            return (f"{name}: maximum iterations ({self.max_iter}) reached and the "
                    f"optimization hasn't converged yet."
                    + (f" After {len(loss_curve)} epochs {stalled}" if stalled else ""))
        return None


def _still_improving(curve):
    """Whether a loss curve (lower is better) was still falling at its end.

    True when the running minimum fell over the last ``PROGRESS_WINDOW`` epochs
    (fewer for a shorter curve) by more than ``PROGRESS_SHARE`` of its fall since
    the first epoch, or when the curve has one epoch or never fell.
    """
    best = np.minimum.accumulate(np.asarray(curve, dtype=np.float64))
    if best.size < 2 or not np.all(np.isfinite(best)):
        return True
    total = best[0] - best[-1]
    if not total > 0:
        return True
    window = min(PROGRESS_WINDOW, best.size - 1)
    return bool(best[-1 - window] - best[-1] > PROGRESS_SHARE * total)
