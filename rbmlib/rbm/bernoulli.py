"""Bernoulli-Bernoulli RBM, the drop-in for scikit-learn's BernoulliRBM.
"""

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import StrOptions

from .._parallel import thread_limits
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
    converged; mean +- std over 5 seeds, benchmarks/bench_sample_visible.py)
    the test accuracy is 0.944 +- 0.004 with the defaults, 0.940 +- 0.003
    with ``shuffle=False`` and 0.940 +- 0.003 with scikit-learn's class.

    Parameters
    ----------
    n_components : int, default=256
        Number of hidden units.
    learning_rate : float, default=0.1
        Step size of each update (the gradient is averaged over the mini-batch).
    batch_size : int, default=10
        Examples per mini-batch; also the number of persistent chains (at
        most the number of training rows). A new value takes effect at the
        next :meth:`fit` or :meth:`partial_fit`.
    n_iter : int, default=10
        Epochs over the training data in :meth:`fit`.
    verbose : int, default=0
        If non-zero, print one line per epoch, starting as scikit-learn's
        (``[BernoulliRBM] Iteration 1, pseudo-likelihood = -25.39, time =
        0.14s``: the mean :meth:`score_samples` of up to 10 monitored training
        rows, and the epoch's seconds), followed by the reconstruction error
        and the estimated time left.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and all sampling. The same
        ``random_state``, data and ``n_jobs`` give bit-identical results;
        different ``n_jobs`` agree up to floating-point rounding in BLAS,
        which training can amplify.
    k : int, default=1
        Gibbs steps per update (CD-k / PCD-k).
    persistent : bool, default=True
        Persistent CD (Tieleman 2008): the negative chains continue from one
        update to the next, as in scikit-learn. False gives CD-k (Hinton 2002),
        each chain starting at the data.
    momentum : float, default=0.0
        Momentum of the parameter updates with ``optimizer="sgd"`` (the guide
        suggests 0.5 then 0.9).
    weight_decay : float, default=0.0
        L2 penalty coefficient on the weights (not on biases).
    sparsity_target : float, default=0.1
        Target mean activation of the hidden units (guide, sec. 11).
    sparsity_cost : float, default=0.0
        Strength of the sparsity penalty; 0 switches it off.
    validation_fraction : float or None, default=None
        Fraction of the rows of X held out in :meth:`fit` to monitor the
        free-energy gap (guide, sec. 6), recorded in ``history_``.
    early_stopping : bool, default=False
        Stop when the free-energy gap has grown for ``n_iter_no_change``
        epochs in a row. Needs ``validation_fraction``: :meth:`fit` raises a
        ValueError when it is None.
    n_iter_no_change : int, default=5
        See ``early_stopping``.
    n_jobs : int or None, default=None
        Threads for the kernels and BLAS. None leaves the libraries' defaults
        (all cores); -1 all cores; 1 a single thread.
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
        over 5 seeds (benchmarks/bench_sample_visible.py, other parameters at their defaults),
        False gave better features on digits /16 and small UCI sets (logistic regression
        accuracy: digits 0.967 vs 0.948, wine 0.946 vs 0.815, breast_cancer 0.953 vs 0.931),
        slightly worse ones on MNIST (0.927 vs 0.934) and on scikit-learn's nudged-digits example
        (0.931 vs 0.944), and fails scikit-learn's test_rbm.py likelihood check. The chains are
        driven by sampled binary hidden states either way.
    visible_bias_init : {"zeros", "log_odds"}, default="zeros"
        Initial visible biases ``intercept_visible_`` in :meth:`fit` and in the first
        :meth:`partial_fit`: "zeros" as scikit-learn; "log_odds" ``log(p / (1 - p))`` of the
        training data's column means ``p`` clipped to [0.001, 0.999] (Hinton's practical guide,
        sec. 8). Measured over 5 seeds (benchmarks/bench_sample_visible.py), "zeros" gave
        better features on scikit-learn's nudged-digits example (0.944 vs 0.935), MNIST (0.934
        vs 0.931) and breast_cancer (0.931 vs 0.928), and equal ones within the seeds' spread on
        digits /16 (0.948 vs 0.952) and wine (0.815 vs 0.832). "log_odds" learns faster when
        there are few updates (3 epochs on 267 digits rows: cross-validated accuracy 0.79 vs 0.69,
        scikit-learn 0.71).
    shuffle : bool, default=True
        Visit the training rows in a new random order (drawn from ``random_state``) every epoch
        of :meth:`fit`; False keeps the order of X in every epoch, as scikit-learn does.
        :meth:`partial_fit` always keeps the order given.
    hidden_units : {"bernoulli", "gaussian", "nrelu"}, default="bernoulli"
        Type of the hidden units (:data:`rbmlib.units.HIDDEN_UNITS`):

        - "bernoulli": binary units, ``p(h_j = 1 | v) = sigmoid(x_j)`` with
          ``x = c + v W^T`` the pre-activation; :meth:`transform` gives the
          probabilities.
        - "gaussian": linear units with unit-variance Gaussian noise, energy
          ``sum_j h_j^2 / 2 - c.h - h W v``, so ``p(h | v) = N(x, 1)``; as the
          code layer of Hinton and Salakhutdinov (2006). :meth:`transform`
          gives the mean ``x``; the free energy has the closed form
          ``-sum_j (x_j^2 / 2 + log(2 pi) / 2)`` plus the visible term, so the
          likelihood methods, exact log Z and AIS are defined. Linear units
          are unbounded: use a much smaller ``learning_rate`` (Hinton and
          Salakhutdinov used 1e-3 for the linear code layer, against 0.1 for
          binary layers); too large a rate makes training diverge (a
          DivergenceError naming ``learning_rate``).
        - "nrelu": noisy rectified linear units (Nair and Hinton 2010),
          sampled as ``max(0, x + N(0, sigmoid(x)))``; :meth:`transform` gives
          ``max(0, x)``. They have no closed-form free energy:
          ``free_energy``, ``score_samples``, ``score``, ``log_partition`` and
          ``log_likelihood`` raise :class:`rbmlib.rbm.FreeEnergyUndefinedError`
          (a NotImplementedError naming "nrelu", also an AttributeError so
          that ``hasattr`` is False), the per-epoch pseudo-likelihood in
          ``history_`` is nan and ``validation_fraction`` must be None.
          Also prefer a smaller ``learning_rate`` than for binary units.

        Changing it after fitting takes effect at the next :meth:`fit`
        (:meth:`partial_fit` raises a ValueError).
    optimizer : {"sgd", "adagrad", "rmsprop", "adam"}, default="sgd"
        Update rule applied to the CD gradient estimate ``g`` (ascent
        direction) of the weights and biases: the optimiser of
        :mod:`rbmlib.optim`, shared with the back-propagation of the DBN
        networks. "sgd" is momentum SGD, ``v = momentum v + learning_rate g``,
        ``p += v`` (fused into the gradient's matrix product; scikit-learn's
        BernoulliRBM with ``momentum=0``); "adagrad" (Duchi et al. 2011),
        "rmsprop" (Tieleman and Hinton 2012) and "adam" (Kingma and Ba 2015)
        scale each parameter's step by a running root mean square of its
        gradient, so every parameter moves by up to about ``learning_rate``
        per update: they want a smaller ``learning_rate`` than "sgd" (on
        digits / 16, 64 hidden units, 10 epochs, features + logistic
        regression: "sgd" at 0.1 gave 0.887 accuracy, "adam" at 0.01 0.875,
        "adagrad" at 0.1 0.849, "rmsprop" and "adam" at 0.003 0.77).
        ``momentum`` is used by "sgd" only. The optimiser's state (velocities
        or moments, and its step count) is part of the fitted model: it is
        pickled and :meth:`partial_fit` continues it; a :meth:`partial_fit`
        with another ``optimizer`` than the last call's starts that one from
        zero state.
    beta_1 : float, default=0.9
        Adam's decay rate of the mean gradient, in [0, 1).
    beta_2 : float, default=0.999
        Adam's decay rate of the mean squared gradient, in [0, 1).
    epsilon : float, default=1e-8
        Added to the root mean square of the gradient by "adagrad",
        "rmsprop" and "adam" (numerical stability), > 0.
    rho : float, default=0.9
        RMSprop's decay rate of the mean squared gradient, in [0, 1).
    alpha_l1 : float, default=0.0
        L1 penalty ``alpha_l1 * sum_ji |W_ji|`` on the weights (not on
        biases), next to ``weight_decay``'s L2; its subgradient
        ``alpha_l1 * sign(W)`` (``sign(0) = 0``) is subtracted from ``g``.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weights ``W``.
    intercept_hidden_ : ndarray of shape (n_components,)
        Hidden biases ``c``.
    intercept_visible_ : ndarray of shape (n_features,)
        Visible biases ``b``.
    h_samples_ : ndarray of shape (n_chains, n_components)
        Hidden states of the persistent chains, ``n_chains = min(batch_size,
        n_samples)``.
    interrupted_ : bool
        True when the last :meth:`fit` was stopped by a KeyboardInterrupt
        (Ctrl-C) and kept its completed epochs; False after a fit or
        partial_fit that ran to the end. Code that trains several models in
        a row (a DBN's layers) reads it to stop the remaining ones.
    hidden_units_ : str
        The hidden unit type of the fitted model (``hidden_units`` at the last
        :meth:`fit`).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has feature names that are all strings.
    n_iter_ : int
        Epochs completed.
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
    G. E. Hinton and R. R. Salakhutdinov, "Reducing the dimensionality of
    data with neural networks", Science 313(5786), 2006.

    V. Nair and G. E. Hinton, "Rectified linear units improve restricted
    Boltzmann machines", ICML 2010.

    G. E. Hinton, "A Practical Guide to Training Restricted Boltzmann
    Machines", UTML TR 2010-003, University of Toronto, 2010.

    G. E. Hinton, "Training products of experts by minimizing contrastive
    divergence", Neural Computation 14(8), 2002.

    T. Tieleman, "Training Restricted Boltzmann Machines using
    Approximations to the Likelihood Gradient", ICML 2008.

    J. Duchi, E. Hazan and Y. Singer, "Adaptive subgradient methods for online
    learning and stochastic optimization", JMLR 12, 2011 (Adagrad).

    T. Tieleman and G. E. Hinton, "Lecture 6.5 - RMSprop", COURSERA: Neural
    Networks for Machine Learning, 2012.

    D. P. Kingma and J. Ba, "Adam: a method for stochastic optimization",
    ICLR 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from rbmlib import BernoulliRBM
    >>> X = np.array([[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 1]])
    >>> model = BernoulliRBM(n_components=2, random_state=0).fit(X)
    >>> model.transform(X).shape
    (4, 2)
    """

    _parameter_constraints: dict = {
        **_BaseRBM._parameter_constraints,
        "check_range": [StrOptions({"warn", "raise", "ignore"}), "boolean"],
        "sample_visible": ["boolean"],
        "visible_bias_init": [StrOptions({"zeros", "log_odds"})],
        "shuffle": ["boolean"],
    }

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=0.1,
        batch_size=10,
        n_iter=10,
        verbose=0,
        random_state=None,
        k=1,
        persistent=True,
        momentum=0.0,
        weight_decay=0.0,
        sparsity_target=0.1,
        sparsity_cost=0.0,
        validation_fraction=None,
        early_stopping=False,
        n_iter_no_change=5,
        n_jobs=None,
        check_range="warn",
        sample_visible=True,
        visible_bias_init="zeros",
        shuffle=True,
        hidden_units="bernoulli",
        optimizer="sgd",
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        rho=0.9,
        alpha_l1=0.0,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.k = k
        self.persistent = persistent
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.sparsity_target = sparsity_target
        self.sparsity_cost = sparsity_cost
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.n_jobs = n_jobs
        self.check_range = check_range
        self.sample_visible = sample_visible
        self.visible_bias_init = visible_bias_init
        self.shuffle = shuffle
        self.hidden_units = hidden_units
        self.optimizer = optimizer
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.rho = rho
        self.alpha_l1 = alpha_l1

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
    def free_energy(self, X):
        """Free energy F(v) = -b.v - sum_j softplus(c_j + W_j.v) of each sample.

        Defined for any finite input (out-of-range values warn, see
        ``check_range``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        F : ndarray of shape (n_samples,)
            In nats, in the model's dtype; ``p(v) = exp(-F(v)) / Z``.
        """
        return super().free_energy(X)

    @_needs_free_energy
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

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        pll : ndarray of shape (n_samples,)
            In nats, in the model's dtype; non-positive for X in [0, 1].

        References
        ----------
        J. Besag, "Statistical analysis of non-lattice data", The
        Statistician 24(3), 1975.
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
