"""Deep Boltzmann Machines: greedy pretraining, joint mean-field/persistent-chain training.

:class:`DBM` is an undirected model of binary units in ``K >= 2`` hidden
layers above binary visible units (Salakhutdinov and Hinton 2009), or
Gaussian ones of unit variance (Cho, Raiko and Ilin 2013). Unlike a
DBN, every layer's inference is shaped by the layer above as well as the one
below: the posterior over the hidden layers is approximated by mean field,
whose fixed point feeds the top-down input back into every layer.

Training has two stages, both epochs of one training loop
(:func:`rbmlib._fitting.run_epochs`):

1. greedy pretraining of a stack of modified RBMs (the bottom one sees its
   visible layer twice in the upward pass, the top one its hidden layer twice
   in the downward pass, the middle ones are ordinary RBMs whose weights are
   halved when composed), so that the composed DBM does not count the
   evidence of a layer twice;
2. joint training of all layers by stochastic approximation: the data
   statistics from mean-field fixed points, the model statistics from
   persistent Markov chains (fantasy particles) moved by block Gibbs sampling
   over the odd and even layers.

The arithmetic is in :mod:`rbmlib._kernels.dbm`; the state and the epoch steps in
:mod:`rbmlib.deep._dbm_training`, ``log Z`` and the bound on ``log p(v)`` in
:mod:`rbmlib.deep._dbm_likelihood`; this module is the estimator (parameters,
fit, inference, sampling).

References
----------
R. Salakhutdinov and G. E. Hinton, "Deep Boltzmann Machines", AISTATS 2009.

R. Salakhutdinov and G. E. Hinton, "An efficient learning procedure for deep
Boltzmann machines", Neural Computation 24(8), 2012.

K. Cho, T. Raiko and A. Ilin, "Gaussian-Bernoulli deep Boltzmann machine",
IJCNN 2013.

R. M. Neal, "Annealed importance sampling", Statistics and Computing 11, 2001;
R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep belief
networks", ICML 2008 (AIS for RBMs and the schedule of inverse temperatures).
"""

import warnings
from numbers import Integral, Real
from types import SimpleNamespace

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .. import _fitting
from .._blocks import is_dask_collection, lazy_method, streaming_source
from .._docstrings import Substitution
from .._kernels import dbm as _kd
from .._parallel import thread_limits
from .._params import ParamGroup, with_init
from ..likelihood._estimate import _user_stacklevel
from ..rbm._common import (
    _IntNotBool,
    in_unit_interval,
    value_range,
)
from ..rbm.gaussian import column_moments, standardisation_problem
from ._dbm_likelihood import MAX_EXACT_UNITS, _DBMLikelihood
from ._dbm_training import (
    _BLOCK_ROWS,
    _BlockData,
    _check_layer_sizes,
    _DBMTraining,
    _dense,
)

__all__ = ["DBM", "MAX_EXACT_UNITS"]

#: Accepted input dtypes: float32 is kept (a float32 DBM), anything else becomes float64.
_FLOATS = [np.float64, np.float32]


#: The DBM's parameters, declared once with their defaults and constraints (``with_init``
#: writes ``__init__`` from them, as for the RBMs and the networks).
_DBM_PARAMS = ParamGroup(
    hidden_layer_sizes=((256, 256), ["array-like"]),
    visible_units=("bernoulli", [StrOptions({"bernoulli", "gaussian"})]),
    n_iter=(10, [_IntNotBool(Integral, 0, None, closed="left")]),
    n_iter_pretrain=(10, [_IntNotBool(Integral, 0, None, closed="left")]),
    learning_rate=(0.005, [Interval(Real, 0, None, closed="neither")]),
    learning_rate_decay=(0.0, [Interval(Real, 0, None, closed="left")]),
    learning_rate_pretrain=(0.05, [Interval(Real, 0, None, closed="neither")]),
    momentum=(0.5, [Interval(Real, 0, 1, closed="left")]),
    weight_decay=(1e-4, [Interval(Real, 0, None, closed="left")]),
    batch_size=(100, [_IntNotBool(Integral, 1, None, closed="left")]),
    n_chains=(100, [_IntNotBool(Integral, 1, None, closed="left")]),
    n_gibbs_steps=(1, [_IntNotBool(Integral, 1, None, closed="left")]),
    n_mean_field=(10, [_IntNotBool(Integral, 1, None, closed="left")]),
    mean_field_tol=(1e-05, [Interval(Real, 0, None, closed="left")]),
    mean_field_damping=(0.0, [Interval(Real, 0, 1, closed="left")]),
    centered=(False, ["boolean"]),
    centering_decay=(0.99, [Interval(Real, 0, 1, closed="left")]),
    transform_layers=("top", [StrOptions({"top", "all"})]),
    ais_n_runs=(100, [_IntNotBool(Integral, 2, None, closed="left")]),
    ais_n_betas=("auto", [_IntNotBool(Integral, 2, None, closed="left"), StrOptions({"auto"})]),
    n_jobs=(1, [None, _IntNotBool(Integral, None, None, closed="neither")]),
    block_size=("auto", [None, StrOptions({"auto"}),
                         _IntNotBool(Integral, 1, None, closed="left")]),
    warm_start=(False, ["boolean"]),
    random_state=(None, ["random_state"]),
    verbose=(0, ["verbose"]),
)


@with_init(_DBM_PARAMS)
class DBM(_DBMTraining, _DBMLikelihood, ClassNamePrefixFeaturesOutMixin, TransformerMixin,
          BaseEstimator):
    """Deep Boltzmann Machine with binary hidden units (Salakhutdinov and Hinton 2009).

    An undirected model of binary visible units ``v = h_0`` and ``K >= 2``
    layers of binary hidden units ``h_1, ..., h_K`` with energy

        E(v, h) = - sum_k b_k . h_k - sum_k h_k W_k h_{k+1},

    ``W_k = coefs_[k]`` of shape ``(n_k, n_{k+1})`` and ``b_k = intercepts_[k]``.
    With ``visible_units="gaussian"`` the visible units are real-valued, of
    unit variance (the Gaussian-Bernoulli DBM of Cho, Raiko and Ilin 2013 with
    ``sigma = 1``):

        E(v, h) = sum_i (v_i - b_0i)^2 / 2 - v W_0 h_1 - sum_{k>=1} b_k . h_k
                  - sum_{k>=1} h_k W_k h_{k+1},

    so that ``p(v | h_1) = N(b_0 + h_1 W_0^T, I)``; **standardise the data**
    (zero mean, unit variance per feature), e.g.
    ``make_pipeline(StandardScaler(), DBM(visible_units="gaussian"))``.
    Fitting pretrains a stack of modified RBMs greedily (``n_iter_pretrain``
    epochs each), composes them into the DBM and trains all layers jointly
    (``n_iter`` epochs): each mini-batch's data statistics come from the
    mean-field fixed point of its rows, the model's from ``n_chains``
    persistent Gibbs chains. With Bernoulli visible units X is expected in
    [0, 1] (binary data or probabilities, e.g. pixel intensities scaled by
    255; a warning otherwise).

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default=(256, 256)
        Units of each hidden layer, bottom first; at least two layers.
    visible_units : {"bernoulli", "gaussian"}, default="bernoulli"
        The visible units, named as the unit table :mod:`rbmlib.units` and
        ``DBN(first_layer=...)`` name them. "bernoulli": binary units, X in
        [0, 1]. "gaussian": linear units with Gaussian noise of unit variance
        for standardised real-valued X; the bottom pretraining RBM is then a
        Gaussian-Bernoulli RBM (its reconstruction a draw of ``N(b_0 + h_1
        W_0^T, 1)``, as :class:`~rbmlib.GaussianBernoulliRBM`'s CD step),
        the chains draw the visible units from that normal, ``sample``
        returns its means, and ``log Z`` integrates them out analytically.
        As for GaussianBernoulliRBM, ``fit`` and ``partial_fit`` raise a
        ValueError naming the feature when a feature of X has a standard
        deviation above ``MAX_FEATURE_STD`` (10), and warn when one has a
        mean far from 0 (``|mean| > 10 + 2 std``).
    n_iter : int, default=10
        Epochs of joint training in ``fit``.
    n_iter_pretrain : int, default=10
        Epochs of CD-1 for each pretraining RBM; 0 starts joint training from
        small random weights (``N(0, 0.01^2)``), zero hidden biases and the
        visible biases ``log(p / (1 - p))`` of the data means ``p`` (clipped to
        [0.01, 0.99]; Gaussian visible units: the data means), the start of
        every pretraining RBM too.
    learning_rate : float, default=0.005
        Step size of joint training at epoch 0.
    learning_rate_decay : float, default=0.0
        Epoch ``t`` of joint training (counted over every fit and partial_fit
        call) steps ``learning_rate / (1 + learning_rate_decay * t)``. The
        stochastic approximation of joint training converges with a step size
        that decays to zero (Salakhutdinov and Hinton 2012, sec. 3.1).
    learning_rate_pretrain : float, default=0.05
        Step size of CD in pretraining.
    momentum : float, default=0.5
        Momentum of both stages.
    weight_decay : float, default=1e-4
        L2 penalty on the weights (not the biases), both stages.
    batch_size : int, default=100
        Rows per update.
    n_chains : int, default=100
        Persistent chains (fantasy particles) of joint training.
    n_gibbs_steps : int, default=1
        Gibbs sweeps (odd layers, then even layers) of the chains per update.
    n_mean_field : int, default=10
        Most mean-field sweeps per mini-batch (and in ``transform`` and
        ``score_samples``).
    mean_field_tol : float, default=1e-5
        Mean field stops after a sweep that changed no posterior by more than this.
    mean_field_damping : float, default=0.0
        Share in [0, 1) of its previous value that each mean-field update keeps.
        The sweeps update the odd layers and then the even ones (coordinate
        ascent on the variational bound), which converges without damping.
    centered : bool, default=False
        Joint training in the centered parametrisation (Montavon and Mueller
        2012; Melchior, Fischer and Wiskott 2016): the energy uses ``h_k -
        m_k`` with offsets ``m_k`` (``offsets_``), the visible units' data
        means and moving averages of the hidden layers' mean-field means,
        which conditions the gradient better and lets a DBM train without
        pretraining. ``coefs_`` and ``intercepts_`` stay those of the ordinary
        energy (the same model), so every method is unchanged.
    centering_decay : float, default=0.99
        The hidden offsets move by ``1 - centering_decay`` of their distance
        to the mini-batch's mean-field means at every update.
    transform_layers : {"top", "all"}, default="top"
        What ``transform`` returns: the top layer's mean-field posteriors, or
        those of every hidden layer side by side (bottom first).
    ais_n_runs : int, default=100
        AIS runs of :meth:`log_partition` (and so of ``score_samples`` and
        ``score``).
    ais_n_betas : int or "auto", default="auto"
        Inverse temperatures of those runs, 0 and 1 included, spaced as the
        schedule of Salakhutdinov and Murray (2008) (:func:`rbmlib.likelihood.default_betas`,
        14,501 temperatures, interpolated for another number). "auto" makes
        the cost of a score proportionate to the model: 1,001 temperatures,
        doubled (2,001, 4,001, at most 8,001) while the effective sample
        size of the importance weights is below 10% of ``ais_n_runs`` (where
        AIS warns that a few runs carry the estimate); the estimate records
        its ``n_betas``, ``ess``, ``target_reached`` and ``n_doublings``
        (``log_partition()`` returns the one ``score`` used), and a warning
        says when even 8,001 were not enough. The paper's schedule is
        ``ais_n_betas=14501`` (the cost of one score on MNIST: see
        benchmarks/RESULTS.md, "DBM score").
    n_jobs : int or None, default=1
        Threads for Numba and BLAS (1: one thread; None: the libraries'
        defaults, all cores; -1: all cores). The products of joint training
        are small (``batch_size`` and ``n_chains`` rows), and threaded BLAS
        waits for its threads on every one of them, so one thread is the
        default (benchmarks/RESULTS.md, "DBM threads"). The same
        ``random_state``, data and ``n_jobs`` give bit-identical results.
    block_size : int, "auto" or None, default="auto"
        Out-of-core training, as :class:`~rbmlib.DBN`'s. A ``numpy.memmap``
        larger than one block, a dask array or a re-iterable of row blocks (a
        list of 2-D arrays...) is never loaded whole: ``fit`` and
        ``partial_fit`` read the blocks in a random order every epoch (and
        twice more per fit: the column means, and the rows that start the
        chains), pass each one up through the pretraining RBMs below the layer
        in training, and draw the mini-batches from its rows; memory is
        bounded by the block size and the model. "auto" (or None) streams only
        those inputs, in a dask array's own chunks or blocks of ``2**22 //
        n_features`` rows; an integer streams any array in blocks of that many
        rows (so an ndarray, a memmap and a dask array of the same data give
        bit-identical models; one block of all the rows gives the in-memory
        fit). ``transform``, ``score_samples`` and ``score`` read X a block of
        rows at a time whatever it is; for a dask X the first two return lazy
        dask arrays and ``score`` computes the mean chunk by chunk.
    warm_start : bool, default=False
        ``fit`` on a fitted DBM continues joint training (no pretraining) for
        ``n_iter`` epochs, from its weights and chains.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights' initialisation and the random streams of training
        (drawn once per fit, kept in the model so that ``partial_fit``
        continues them).
    verbose : int, default=0
        Print one line per epoch.

    Attributes
    ----------
    coefs_ : list of ndarray
        ``coefs_[k]`` of shape ``(n_k, n_{k+1})``, the weights between layer
        ``k`` and ``k + 1`` (layer 0 the visible units).
    intercepts_ : list of ndarray
        ``intercepts_[k]`` of shape ``(n_k,)``, the biases of layer ``k``
        (``intercepts_[0]`` the visible biases).
    fantasy_particles_ : list of ndarray
        States of the persistent chains, ``(n_chains, n_k)`` per layer.
    offsets_ : list of ndarray or None
        The centering offsets ``m_k``, ``(n_k,)`` per layer (``centered``),
        else None.
    n_iter_ : int
        Epochs of joint training completed.
    n_iter_pretrain_ : int
        Epochs of pretraining completed (all layers).
    history_ : list of dict
        One record per epoch: ``epoch``, ``seconds``, ``stage``
        ("pretraining layer l" or "joint"), and ``pretraining_error`` (mean
        squared reconstruction error of the layer's input) or
        ``reconstruction_error`` (of X from the mean-field posterior of layer 1),
        ``mean_field_iterations`` (mean per mini-batch) and ``learning_rate``.
    interrupted_ : bool
        Whether Ctrl-C stopped the last fit (the completed epochs are kept).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        When X had string column names.

    See Also
    --------
    rbmlib.DBN : the directed deep model built from the same RBMs.

    Notes
    -----
    Joint training costs, per mini-batch of ``m`` rows, up to ``2 *
    n_mean_field + 1`` products of an ``m``-row block with each weight matrix
    (mean field) and ``2 * n_gibbs_steps`` with ``n_chains`` rows (the chains).

    References
    ----------
    R. Salakhutdinov and G. E. Hinton, "Deep Boltzmann Machines", AISTATS 2009.

    R. Salakhutdinov and G. E. Hinton, "An efficient learning procedure for
    deep Boltzmann machines", Neural Computation 24(8), 2012.

    K. Cho, T. Raiko and A. Ilin, "Gaussian-Bernoulli deep Boltzmann
    machine", IJCNN 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from rbmlib import DBM
    >>> X = (np.random.RandomState(0).rand(200, 16) > 0.5).astype(float)
    >>> dbm = DBM(hidden_layer_sizes=(8, 4), n_iter=2, n_iter_pretrain=2,
    ...           random_state=0).fit(X)
    >>> dbm.transform(X).shape
    (200, 4)

    Real-valued data, standardised for Gaussian visible units:

    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> Z = np.random.RandomState(0).normal(50.0, 20.0, size=(200, 6))
    >>> model = make_pipeline(StandardScaler(), DBM(
    ...     hidden_layer_sizes=(8, 4), visible_units="gaussian", n_iter=2,
    ...     n_iter_pretrain=2, random_state=0)).fit(Z)
    >>> model.transform(Z).shape
    (200, 4)
    """

    _parameter_constraints: dict = _DBM_PARAMS.constraints
    # the visible units of a DBM pickled before visible_units existed (the
    # instance attribute that __init__ sets hides it)
    visible_units = "bernoulli"

    # ------------------------------------------------------------------ input
    def _validate_X(self, X, reset):
        return validate_data(self, X, accept_sparse="csr", dtype=_FLOATS, reset=reset)

    def _training_data(self, X, reset):
        """Validated X in memory, or a :class:`_BlockData` of its blocks (``block_size``)."""
        source = streaming_source(X, self.block_size)
        if source is None:
            return self._validate_X(X, reset=reset)
        validate_data(self, source.first_block(), accept_sparse="csr", dtype=_FLOATS,
                      reset=reset)
        n = self.n_features_in_

        def check(block):
            block = check_array(block, accept_sparse="csr", dtype=_FLOATS)
            if block.shape[1] != n:
                raise ValueError(f"A block of X has {block.shape[1]} features, but DBM is "
                                 f"expecting {n} features as input.")
            return block

        return _BlockData(source, check)

    def _gaussian(self):
        """Whether the fitted DBM's visible units are Gaussian (a DBM pickled
        before ``visible_units`` existed has Bernoulli ones)."""
        return getattr(self, "_visible_units", "bernoulli") == "gaussian"

    def _check_input(self, X):
        """Warn for X outside [0, 1] (Bernoulli visible units); check that X is
        standardised (Gaussian visible units), as GaussianBernoulliRBM does."""
        if self._gaussian_training():
            self._check_standardised(X)
        else:
            self._warn_range(X)

    def _check_standardised(self, X):
        if X.shape[0] < 2:
            return
        if isinstance(X, _BlockData):
            mean = np.asarray(X.mean(), dtype=np.float64).ravel()
            std = np.sqrt(np.asarray(X.variance(), dtype=np.float64).ravel())
        else:
            mean, std = column_moments(X)
        message = standardisation_problem(mean, std, "DBM(visible_units='gaussian')",
                                          "DBM(visible_units='gaussian')")
        if message is not None:
            warnings.warn(message, UserWarning, stacklevel=_user_stacklevel())

    def _warn_range(self, X):
        lo, hi = (X.lo, X.hi) if isinstance(X, _BlockData) else value_range(X)
        if X.shape[0] and not in_unit_interval(lo, hi):
            warnings.warn(
                f"DBM: X has values in [{lo:.3g}, {hi:.3g}], outside [0, 1]; the DBM's "
                f"visible units are binary (visible_units='bernoulli') and X is used as "
                f"their probabilities. Scale X to [0, 1] "
                f"first (e.g. sklearn.preprocessing.MinMaxScaler in a Pipeline), or model "
                f"standardised real-valued data with DBM(visible_units='gaussian').",
                UserWarning, stacklevel=_user_stacklevel())

    # ------------------------------------------------------------------ fit
    def _train(self, X, state, n_epochs, n_iter_pretrain, keep_partial):
        data = SimpleNamespace(X=X, inputs={}, n_iter_pretrain=n_iter_pretrain)
        with thread_limits(self.n_jobs):
            state, interrupted = self._run_epochs(state, data, n_epochs,
                                                  verbose=bool(self.verbose),
                                                  keep_partial=keep_partial)
            if not state.composed:  # Ctrl-C in pretraining: the RBMs trained so far
                self._compose(state, X)
        self._commit(state, interrupted)

    def _commit(self, state, interrupted):
        self.coefs_ = state.W
        self.intercepts_ = state.b
        self.fantasy_particles_ = state.chains
        self.offsets_ = state.offsets
        self._velocities = (state.vW, state.vb)
        self._seed, self._stream, self._n_updates = state.seed, state.stream, state.n_updates
        self.n_iter_pretrain_ = state.n_pretrain
        self.n_iter_ = state.n_iter - state.n_pretrain
        self.history_ = state.history
        self.interrupted_ = interrupted
        self._visible_units = self.visible_units
        self._log_z_memo = {}

    @_fit_context(prefer_skip_nested_validation=True)
    @Substitution()
    def fit(self, X, y=None):
        """Pretrain (unless ``warm_start`` on a fitted DBM) and train jointly.

        {X_dask_params}
            Training rows, values in [0, 1] (a warning otherwise; Gaussian
            visible units: standardised features, see ``visible_units``); float32
            rows train a float32 DBM (``coefs_`` float32; its likelihoods are
            still computed in float64), anything else a float64 one; a memmap,
            a dask array or a list of row blocks is streamed (``block_size``).
        {unsupervised_fit_returns}

        Raises
        ------
        ValueError
            Bad parameters or X (NaN, inf, no rows, fewer than two hidden
            layers, a different number of features or ``visible_units`` under
            ``warm_start``; with Gaussian visible units, a feature of standard
            deviation above 10).
        rbmlib.DivergenceError
            When the weights stop being finite; the DBM is left as it was.
        KeyboardInterrupt
            On Ctrl-C before the first epoch completed (the DBM is left as it
            was); later, training stops with a RuntimeWarning and keeps the
            completed epochs (``interrupted_``).
        """
        with _fitting.transaction(self):
            warm = self.warm_start and hasattr(self, "coefs_")
            X = self._training_data(X, reset=not warm)
            if warm:
                self._check_same_layers()
            self._check_input(X)
            if warm:
                state = self._fitted_state()
                self._train(X, state, self.n_iter, 0, keep_partial=True)
            else:
                rng = check_random_state(self.random_state)
                K = len(_check_layer_sizes(self.hidden_layer_sizes))
                pre = self.n_iter_pretrain
                state = self._new_state(X, rng, pretrain=pre > 0)
                if pre == 0:
                    with thread_limits(self.n_jobs):
                        self._compose(state, X)
                self._train(X, state, K * pre + self.n_iter, pre, keep_partial=True)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    @Substitution()
    def partial_fit(self, X, y=None):
        """One epoch of joint training on X, continuing the persistent chains.

        On an unfitted DBM, the weights start small and random (no pretraining;
        call ``fit`` first for the pretrained start). Atomic: Ctrl-C or an error
        leaves the DBM as it was.

        {X_dask_params}
            Streamed as in ``fit`` (``block_size``).
        {unsupervised_fit_returns}

        Raises
        ------
        ValueError
            Bad X (as in ``fit``), or a number of features or ``visible_units``
            that differs from the fitted one.
        rbmlib.DivergenceError
            As in ``fit``.
        """
        with _fitting.transaction(self):
            fitted = hasattr(self, "coefs_")
            X = self._training_data(X, reset=not fitted)
            if fitted:
                self._check_same_layers()
            self._check_input(X)
            if fitted:
                state = self._fitted_state()
            else:
                state = self._new_state(X, check_random_state(self.random_state),
                                        pretrain=False)
                with thread_limits(self.n_jobs):
                    self._compose(state, X)
            self._train(X, state, 1, 0, keep_partial=False)
        return self

    def _check_same_layers(self):
        have_units = getattr(self, "_visible_units", "bernoulli")
        if self.visible_units != have_units:
            raise ValueError(
                f"visible_units is {self.visible_units!r} but the fitted DBM has "
                f"{have_units!r} visible units; set warm_start=False to refit.")
        sizes = _check_layer_sizes(self.hidden_layer_sizes)
        have = [w.shape[1] for w in self.coefs_]
        if sizes != have:
            raise ValueError(
                f"hidden_layer_sizes is {sizes} but the fitted DBM has layers {have}; "
                f"set warm_start=False to refit with new layers.")
        if self.fantasy_particles_[0].shape[0] != self.n_chains:
            raise ValueError(
                f"n_chains is {self.n_chains} but the fitted DBM has "
                f"{self.fantasy_particles_[0].shape[0]} chains; set warm_start=False to refit.")

    # ------------------------------------------------------------------ inference
    def _posteriors(self, X):
        """Mean-field posteriors of every hidden layer, a block of rows at a time."""
        K = len(self.coefs_)
        dt = self.coefs_[0].dtype
        out = [np.empty((X.shape[0], w.shape[1]), dtype=dt) for w in self.coefs_]
        with thread_limits(self.n_jobs):
            for start in range(0, X.shape[0], _BLOCK_ROWS):
                xb = _dense(X[start:start + _BLOCK_ROWS], dt)
                mu, _ = _kd.mean_field(xb, self.coefs_, self.intercepts_, self.n_mean_field,
                                       self.mean_field_tol, self.mean_field_damping)
                for k in range(K):
                    out[k][start:start + xb.shape[0]] = mu[k + 1]
        return out

    @Substitution()
    def transform(self, X):
        """Mean-field posteriors ``q(h_k = 1 | v)``.

        {X_dask_params}

        Returns
        -------
        H : ndarray of shape (n_samples, n_K) or (n_samples, n_1 + ... + n_K)
            The top layer's posteriors (``transform_layers="top"``), or every
            hidden layer's, bottom first (``"all"``), in [0, 1], in the DBM's
            float type (float32 for a DBM fitted on float32 rows); for
            a dask X, a lazy dask array chunked as X's rows.
        """
        check_is_fitted(self)
        if is_dask_collection(X):
            return lazy_method(self, "transform", X)
        X = self._validate_X(X, reset=False)
        mu = self._posteriors(X)
        return mu[-1] if self.transform_layers == "top" else np.hstack(mu)

    @property
    def _n_features_out(self):
        sizes = [w.shape[1] for w in self.coefs_]
        return sizes[-1] if self.transform_layers == "top" else sum(sizes)

    def sample(self, n_samples=1, n_gibbs=1000, random_state=None):
        """Draw visible vectors by block Gibbs sampling of the DBM.

        ``n_samples`` independent chains start with every unit drawn from its
        bias alone (Gaussian visible units from ``N(intercepts_[0], 1)``) and
        run ``n_gibbs`` sweeps (odd layers, then even ones).

        Parameters
        ----------
        n_samples : int, default=1
        n_gibbs : int, default=1000
            Sweeps per chain (>= 1).
        random_state : int, RandomState instance or None, default=None
            Seed of the chains.

        Returns
        -------
        V : ndarray of shape (n_samples, n_features_in_)
            The visible units' probabilities (Gaussian visible units: their
            means ``b_0 + h_1 W_0^T``) given the last sweep's layer 1, in the
            DBM's float type.

        Raises
        ------
        ValueError
            If n_samples < 1 or n_gibbs < 1.
        """
        check_is_fitted(self)
        for name, val in (("n_samples", n_samples), ("n_gibbs", n_gibbs)):
            if not isinstance(val, Integral) or isinstance(val, bool) or val < 1:
                raise ValueError(f"{name} must be a positive integer; got {val!r}.")
        seed = int(check_random_state(random_state).randint(0, 2**62))
        gaussian = self._gaussian()
        h = []
        for k, bk in enumerate(self.intercepts_):
            s = np.empty((n_samples, len(bk)), dtype=bk.dtype)
            _kd.draw_layer(np.zeros_like(s), bk, s, _kd.key(seed, k), gaussian and k == 0,
                           keep_mean=False)
            h.append(s)
        with thread_limits(self.n_jobs):
            p, _ = _kd.gibbs_sweeps(h, self.coefs_, self.intercepts_, seed, len(h), n_gibbs,
                                    gaussian=gaussian)
        return p[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
