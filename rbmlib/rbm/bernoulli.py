"""Bernoulli-Bernoulli RBM, the drop-in for scikit-learn's BernoulliRBM.
"""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import StrOptions

from .._docstrings import Substitution
from .._parallel import thread_limits
from .._params import ParamGroup, with_init
from ..exceptions import OutOfRangeWarning
from ..units import VISIBLE_UNITS
from ._base import _BaseRBM
from ._common import (
    _HELD_OUT_OUTSIDE_SHARE,
    _RANGE_TOL,
    _needs_free_energy,
    _pseudo_loglik,
    in_unit_interval,
    value_range,
)
from ._params import CENTERING, HIDDEN, OPTIMIZER, RBM_FIT, RBM_SIZE, TEMPERING

#: The parameters only BernoulliRBM has (between n_jobs and hidden_units).
_OWN = ParamGroup(
    check_range=("warn", [StrOptions({"warn", "raise", "ignore"}), "boolean"]),
    sample_visible=(True, ["boolean"]),
    visible_bias_init=("zeros", [StrOptions({"zeros", "log_odds"})]),
    shuffle=(True, ["boolean"]),
)


@with_init(RBM_SIZE, RBM_FIT, _OWN, HIDDEN, OPTIMIZER, TEMPERING, CENTERING)
@Substitution(learning_rate_default="0.1", visible_bias_doc="Visible biases ``b``.")
class BernoulliRBM(_BaseRBM, visible_units=VISIBLE_UNITS["bernoulli"]):
    """Bernoulli Restricted Boltzmann Machine trained by CD-k or persistent CD.

    Binary visible and hidden units. A drop-in replacement for
    :class:`sklearn.neural_network.BernoulliRBM` (same parameters, defaults,
    fitted attributes and methods) whose mini-batch updates run in Numba
    kernels with the matrix products in BLAS.

    Energy ``E(v, h) = -b.v - c.h - h W v``; free energy
    ``F(v) = -b.v - sum_j softplus(c_j + W_j.v)`` in nats.

    Training follows scikit-learn and Hinton's practical guide: hidden
    probabilities (not samples) for the gradient statistics, sampled binary
    states to drive the Gibbs chains, weights drawn from N(0, 0.01^2), zero
    initial biases (``visible_bias_init="log_odds"`` starts the visible biases
    at the log-odds of the data means instead, as the guide suggests).

    **scikit-learn's algorithm exactly**: ``BernoulliRBM(shuffle=False)`` with
    the other parameters at their defaults (``sample_visible=True``,
    ``visible_bias_init="zeros"``, ``k=1``, ``persistent=True``, no momentum,
    weight decay or sparsity) makes the updates of
    :class:`sklearn.neural_network.BernoulliRBM` (persistent CD-1 over the
    rows in their order, the same initial weights for the same
    ``random_state``). Only the random stream of the Gibbs sampling differs
    (rbmlib's counter-based generator), and when ``n_samples`` is not a
    multiple of ``batch_size`` the mini-batches are even
    (``sklearn.utils.gen_even_slices``) where scikit-learn makes the last one
    shorter. The default ``shuffle=True`` differs from it only by visiting
    the rows in a new random order every epoch. On scikit-learn's example
    "RBM features for digit classification" (nudged digits, 100 hidden
    units, learning rate 0.06, 10 epochs, LogisticRegression(C=6000)
    converged; mean +- std over 5 seeds, benchmarks/bench_sample_visible.py,
    numbers in benchmarks/RESULTS.md) the test accuracy with the defaults is
    at least that of scikit-learn's class, and with ``shuffle=False`` equal
    to it within the seeds' spread.

    Parameters
    ----------
    {rbm_batch_params}
    verbose : int, default=0
        If non-zero, print one line per epoch, starting as scikit-learn's
        (``[BernoulliRBM] Iteration 1, pseudo-likelihood = -25.39, time =
        0.14s``: the mean :meth:`score_samples` of up to 10 monitored training
        rows, and the epoch's seconds), followed by the reconstruction error
        and the estimated time left.
    {rbm_sampling_params}
    persistent : bool, default=True
        Persistent CD (Tieleman 2008): the negative chains continue from one
        update to the next, as in scikit-learn. False gives CD-k (Hinton 2002),
        each chain starting at the data.
    {rbm_update_params}
    {rbm_sampler_params}
    check_range : {"warn", "raise", "ignore"} or bool, default="warn"
        What to do when X has values outside [0, 1] by more than rounding
        (1e-6): in ``fit`` and ``partial_fit`` any such value counts; in the
        other methods (held-out rows) only more than 5% of the entries do, so
        that rows scaled by a MinMaxScaler fitted on other rows (a test fold,
        whose few outliers leave the training range) pass silently while
        unscaled or standardised data do not. "warn" issues one :class:`OutOfRangeWarning`
        (a UserWarning) per call naming the range seen and the remedy, and
        uses the values as they are (as scikit-learn's BernoulliRBM does:
        every method is defined for any finite input); "raise" raises a
        ValueError; "ignore" says nothing. True means "raise", False
        "ignore"; "raise" refuses any value outside [0, 1] in every method.
    sample_visible : bool, default=True
        Sample the visible units in the last Gibbs step of each update, as scikit-learn does (the
        unbiased CD-k/PCD estimator); False uses their probabilities instead (mean-field, Hinton's
        practical guide sec. 3.2), which lowers the variance of the negative statistics. Measured
        over 5 seeds (benchmarks/bench_sample_visible.py, other parameters at their defaults;
        numbers in benchmarks/RESULTS.md), False gave better features on digits /16 and small UCI
        sets (logistic regression accuracy on digits, wine and breast_cancer), slightly worse
        ones on MNIST and on scikit-learn's nudged-digits example, and fails scikit-learn's
        test_rbm.py likelihood check. The chains are driven by sampled binary hidden states
        either way.
    visible_bias_init : {"zeros", "log_odds"}, default="zeros"
        Initial visible biases ``intercept_visible_`` in :meth:`fit` and in the first
        :meth:`partial_fit`: "zeros" as scikit-learn; "log_odds" ``log(p / (1 - p))`` of the
        training data's column means ``p`` clipped to [0.001, 0.999] (Hinton's practical guide,
        sec. 8). Measured over 5 seeds (benchmarks/bench_sample_visible.py; numbers in
        benchmarks/RESULTS.md), "zeros" gave better features on scikit-learn's nudged-digits
        example, MNIST and breast_cancer, and equal ones within the seeds' spread on digits /16
        and wine. "log_odds" learns faster when there are few updates (3 epochs on 267 digits
        rows: a higher cross-validated accuracy than "zeros" and scikit-learn's class).
    shuffle : bool, default=True
        Visit the training rows in a new random order (drawn from ``random_state``) every epoch
        of :meth:`fit`; False keeps the order of X in every epoch, as scikit-learn does.
        :meth:`partial_fit` always keeps the order given.
    {rbm_hidden_units}
    {rbm_optimizer_params}

    Attributes
    ----------
    {rbm_weight_attrs}
    {rbm_chain_attrs}
    {features_in_attrs}
    history_ : list of dict
        One entry per epoch: ``epoch``, ``reconstruction_error``,
        ``pseudo_log_likelihood`` (the mean of :meth:`score_samples`, nats
        summed over the visible units, scikit-learn's scale), ``seconds``, and
        ``free_energy_gap`` (nats) when ``validation_fraction`` is set; the
        monitored quantities use a fixed subset of up to 50 training rows
        (the pseudo-log-likelihood its first 10, as it costs O(V H)
        transcendental functions per row).

    References
    ----------
    {rbm_refs}

    Examples
    --------
    >>> import numpy as np
    >>> from rbmlib import BernoulliRBM
    >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> model = BernoulliRBM(n_components=2, random_state=0).fit(X)
    >>> model.transform(X).shape
    (4, 2)
    """

    _parameter_constraints: dict = {**_BaseRBM._parameter_constraints, **_OWN.constraints}

    def _range_mode(self):
        mode = self.check_range
        if mode is True or mode is np.True_:
            return "raise"
        if mode is False or mode is np.False_:
            return "ignore"
        if mode not in ("warn", "raise", "ignore"):
            raise ValueError(
                f"check_range must be 'warn', 'raise', 'ignore' or a bool; got {mode!r}."
            )
        return mode

    def _check_values(self, X, training=True):
        mode = self._range_mode()
        if mode == "ignore":
            return
        lo, hi = value_range(X)
        if in_unit_interval(lo, hi):
            return
        vals = X.data if sp.issparse(X) else X
        if not training and mode != "raise":
            outside = np.count_nonzero((vals < -_RANGE_TOL) | (vals > 1 + _RANGE_TOL))
            if outside <= _HELD_OUT_OUTSIDE_SHARE * X.shape[0] * X.shape[1]:
                return
        msg = (
            f"BernoulliRBM expects X in [0, 1] (binary or probabilities); got values in "
            f"[{lo:.6g}, {hi:.6g}]. Scale the data first, for example with "
            f"sklearn.preprocessing.MinMaxScaler(clip=True), or use GaussianBernoulliRBM "
            f"for real-valued data."
        )
        if mode == "raise":
            raise ValueError(msg)
        warnings.warn(
            msg + " The values are used as they are, which is rarely meaningful for "
            "Bernoulli units; check_range='raise' makes this an error and "
            "check_range='ignore' silences it.",
            OutOfRangeWarning,
            stacklevel=4,
        )

    @_needs_free_energy
    @Substitution()
    def score_samples(self, X):
        """Pseudo-log-likelihood of each sample, summed over the visible units, in nats.

        ``sum_i log sigmoid(F(x^(i)) - F(x))`` where ``x^(i)`` is ``x`` with
        unit ``i`` replaced by ``1 - x_i``. For binary rows this is the
        pseudo-log-likelihood ``sum_i log p(x_i | x_-i)`` of Besag (1975).
        scikit-learn's BernoulliRBM flips one random unit per row and
        multiplies by ``n_features``: a noisy estimate whose expected value is
        this sum. Here every unit is computed (exact, no noise, no random
        state used), on scikit-learn's scale (divide by ``n_features_in_`` for
        a per-unit value comparable across data sets). Costs O(n_features x
        n_components) per row; sparse X is processed a block of rows at a
        time. Defined for any finite input.

        {X_params}

        Returns
        -------
        pll : ndarray of shape (n_samples,)
            In nats, in the model's dtype; non-positive for X in [0, 1].

        References
        ----------
        {pseudo_likelihood_ref}
        """
        X = self._check_fitted_X(X)
        return self._score_samples(X)

    def _score_samples(self, X, P=None):
        return self._blockwise(X, self._score_samples_block, P)

    def _score_samples_block(self, Xd, P):
        W, _, b, _ = self._params(P)
        pre = np.ascontiguousarray(self._hidden_pre(Xd, P), dtype=np.float64)
        unit = self._hidden_unit()
        kernel = unit.pseudo_loglik_kernel
        if kernel is None:
            return _pseudo_loglik(unit, np.asarray(Xd, dtype=np.float64), pre,
                                  np.asarray(W, dtype=np.float64),
                                  np.asarray(b, dtype=np.float64))
        out = np.empty(Xd.shape[0], dtype=np.float64)
        with thread_limits(self.n_jobs):
            kernel(
                np.ascontiguousarray(Xd, dtype=np.float64), pre,
                np.ascontiguousarray(W.T, dtype=np.float64),
                np.ascontiguousarray(b, dtype=np.float64), out,
            )
        return out
