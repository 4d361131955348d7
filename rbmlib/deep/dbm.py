"""Deep Boltzmann Machines: greedy pretraining, joint mean-field/persistent-chain training.

:class:`DBM` is an undirected model of binary units in ``K >= 2`` hidden
layers above binary visible units (Salakhutdinov and Hinton 2009). Unlike a
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

The arithmetic is in :mod:`rbmlib._kernels.dbm`.

References
----------
R. Salakhutdinov and G. E. Hinton, "Deep Boltzmann Machines", AISTATS 2009.

R. Salakhutdinov and G. E. Hinton, "An efficient learning procedure for deep
Boltzmann machines", Neural Computation 24(8), 2012.

R. M. Neal, "Annealed importance sampling", Statistics and Computing 11, 2001;
R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep belief
networks", ICML 2008 (AIS for RBMs and the schedule of inverse temperatures).
"""

import dataclasses
import warnings
from numbers import Integral, Real
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp
from scipy.special import xlogy
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _fitting
from .._kernels import dbm as _kd
from .._kernels.units import sigmoid_rows, sigmoid_sample_rows
from .._parallel import thread_limits
from ..likelihood import PartitionEstimate, _warn_low_ess, default_betas
from ..likelihood._estimate import _user_stacklevel
from ..rbm._common import (
    _HELD_OUT_OUTSIDE_SHARE,
    _IntNotBool,
    in_unit_interval,
    value_range,
)

__all__ = ["DBM"]

#: ``log_partition(method="exact")`` enumerates ``2 ** n`` states, ``n`` the
#: units of the smaller of the two parities (odd or even layers).
MAX_EXACT_UNITS = 20
#: Rows of one mean-field block in transform and score_samples.
_BLOCK_ROWS = 1024


def _check_layer_sizes(sizes):
    try:
        sizes = [int(s) for s in np.atleast_1d(np.asarray(sizes))]
        ok = all(s == h for s, h in zip(sizes, np.atleast_1d(np.asarray(sizes)))) and \
            all(not isinstance(h, (bool, np.bool_)) for h in np.atleast_1d(sizes))
    except (TypeError, ValueError):
        ok = False
    if not ok or len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(
            "hidden_layer_sizes must be a sequence of at least two positive integers "
            f"(the units of each hidden layer, bottom first); got {sizes!r}. A DBM with one "
            "hidden layer is an RBM: use rbmlib.BernoulliRBM.")
    return sizes


def _dense(X):
    return np.ascontiguousarray(X.toarray() if sp.issparse(X) else X, dtype=np.float64)


class _DBMState:
    """What an epoch reads and writes: a private copy of the model.

    ``W``, ``b``: the DBM's weights and biases (lists, see
    :mod:`rbmlib._kernels.dbm`); ``vW``, ``vb`` their momentum velocities;
    ``chains``: the fantasy particles (binary states of every layer) or None
    before the DBM is composed; ``rW``, ``rbv``, ``rbh``: the pretraining RBMs'
    weights and visible / hidden biases (None once composed) and ``rv`` the
    velocities of the RBM being trained; ``offsets``: the centering offsets of
    every layer (None unless centered); ``stream``: the next random stream of
    ``seed``; ``n_pretrain``: pretraining epochs done; ``n_iter``: all epochs
    done (``history`` has one record per epoch).
    """

    _LISTS = ("W", "b", "vW", "vb", "chains", "rW", "rbv", "rbh", "rv", "offsets")

    def __init__(self, **kw):
        for name in self._LISTS:
            setattr(self, name, kw.pop(name, None))
        for name in ("seed", "stream", "n_updates", "n_pretrain", "n_iter", "history"):
            setattr(self, name, kw.pop(name))
        assert not kw, kw

    @property
    def composed(self):
        return self.rW is None

    def copy(self):
        kw = {name: (None if getattr(self, name) is None
                     else [a.copy() for a in getattr(self, name)]) for name in self._LISTS}
        return _DBMState(seed=self.seed, stream=self.stream, n_updates=self.n_updates,
                         n_pretrain=self.n_pretrain, n_iter=self.n_iter,
                         history=list(self.history), **kw)


class DBM(_fitting.EpochTrainer, ClassNamePrefixFeaturesOutMixin, TransformerMixin,
          BaseEstimator):
    """Deep Boltzmann Machine with binary units (Salakhutdinov and Hinton 2009).

    An undirected model of binary visible units ``v = h_0`` and ``K >= 2``
    layers of binary hidden units ``h_1, ..., h_K`` with energy

        E(v, h) = - sum_k b_k . h_k - sum_k h_k W_k h_{k+1},

    ``W_k = coefs_[k]`` of shape ``(n_k, n_{k+1})`` and ``b_k = intercepts_[k]``.
    Fitting pretrains a stack of modified RBMs greedily (``n_iter_pretrain``
    epochs each), composes them into the DBM and trains all layers jointly
    (``n_iter`` epochs): each mini-batch's data statistics come from the
    mean-field fixed point of its rows, the model's from ``n_chains``
    persistent Gibbs chains. X is expected in [0, 1] (binary data or
    probabilities, e.g. pixel intensities scaled by 255).

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default=(256, 256)
        Units of each hidden layer, bottom first; at least two layers.
    n_iter : int, default=10
        Epochs of joint training in ``fit``.
    n_iter_pretrain : int, default=10
        Epochs of CD-1 for each pretraining RBM; 0 starts joint training from
        small random weights (``N(0, 0.01^2)``), zero hidden biases and the
        visible biases ``log(p / (1 - p))`` of the data means ``p`` (clipped to
        [0.01, 0.99]), the start of every pretraining RBM too.
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
        AIS runs of :meth:`log_partition` (and so of ``score_samples``).
    ais_n_betas : int, default=14501
        Inverse temperatures of those runs, 0 and 1 included, spaced as the
        schedule of Salakhutdinov and Murray (2008) (:func:`rbmlib.likelihood.default_betas`,
        14,501 temperatures, interpolated for another number).
    n_jobs : int or None, default=1
        Threads for Numba and BLAS (1: one thread; None: the libraries'
        defaults, all cores; -1: all cores). The products of joint training
        are small (``batch_size`` and ``n_chains`` rows), and threaded BLAS
        waits for its threads on every one of them, so one thread is the
        default (benchmarks/RESULTS.md, "DBM threads"). The same
        ``random_state``, data and ``n_jobs`` give bit-identical results.
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

    Examples
    --------
    >>> import numpy as np
    >>> from rbmlib import DBM
    >>> X = (np.random.RandomState(0).rand(200, 16) > 0.5).astype(float)
    >>> dbm = DBM(hidden_layer_sizes=(8, 4), n_iter=2, n_iter_pretrain=2,
    ...           random_state=0).fit(X)
    >>> dbm.transform(X).shape
    (200, 4)
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like"],
        "n_iter": [_IntNotBool(Integral, 0, None, closed="left")],
        "n_iter_pretrain": [_IntNotBool(Integral, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_decay": [Interval(Real, 0, None, closed="left")],
        "learning_rate_pretrain": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [_IntNotBool(Integral, 1, None, closed="left")],
        "n_chains": [_IntNotBool(Integral, 1, None, closed="left")],
        "n_gibbs_steps": [_IntNotBool(Integral, 1, None, closed="left")],
        "n_mean_field": [_IntNotBool(Integral, 1, None, closed="left")],
        "mean_field_tol": [Interval(Real, 0, None, closed="left")],
        "mean_field_damping": [Interval(Real, 0, 1, closed="left")],
        "centered": ["boolean"],
        "centering_decay": [Interval(Real, 0, 1, closed="left")],
        "transform_layers": [StrOptions({"top", "all"})],
        "ais_n_runs": [_IntNotBool(Integral, 2, None, closed="left")],
        "ais_n_betas": [_IntNotBool(Integral, 2, None, closed="left")],
        "n_jobs": [None, _IntNotBool(Integral, None, None, closed="neither")],
        "warm_start": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, hidden_layer_sizes=(256, 256), *, n_iter=10, n_iter_pretrain=10,
                 learning_rate=0.005, learning_rate_decay=0.0, learning_rate_pretrain=0.05,
                 momentum=0.5, weight_decay=1e-4, batch_size=100, n_chains=100,
                 n_gibbs_steps=1, n_mean_field=10, mean_field_tol=1e-5,
                 mean_field_damping=0.0, centered=False, centering_decay=0.99,
                 transform_layers="top", ais_n_runs=100,
                 ais_n_betas=14501, n_jobs=1, warm_start=False, random_state=None,
                 verbose=0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.n_iter = n_iter
        self.n_iter_pretrain = n_iter_pretrain
        self.learning_rate = learning_rate
        self.learning_rate_decay = learning_rate_decay
        self.learning_rate_pretrain = learning_rate_pretrain
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.n_chains = n_chains
        self.n_gibbs_steps = n_gibbs_steps
        self.n_mean_field = n_mean_field
        self.mean_field_tol = mean_field_tol
        self.mean_field_damping = mean_field_damping
        self.centered = centered
        self.centering_decay = centering_decay
        self.transform_layers = transform_layers
        self.ais_n_runs = ais_n_runs
        self.ais_n_betas = ais_n_betas
        self.n_jobs = n_jobs
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ input
    def _validate_X(self, X, reset):
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=reset)
        return X

    def _warn_range(self, X):
        lo, hi = value_range(X)
        if X.shape[0] and not in_unit_interval(lo, hi):
            warnings.warn(
                f"DBM: X has values in [{lo:.3g}, {hi:.3g}], outside [0, 1]; the DBM's "
                f"visible units are binary and X is used as their probabilities. Scale X "
                f"to [0, 1] first (e.g. sklearn.preprocessing.MinMaxScaler in a Pipeline).",
                UserWarning, stacklevel=_user_stacklevel())

    # ------------------------------------------------------------------ state
    def _new_state(self, X, rng, pretrain):
        """Weights ~ N(0, 0.01^2), hidden biases 0, visible biases the log-odds of
        the data means clipped to [0.01, 0.99] (Hinton's practical guide, sec. 8),
        for the DBM and its pretraining RBMs."""
        sizes = [X.shape[1]] + _check_layer_sizes(self.hidden_layer_sizes)
        K = len(sizes) - 1
        W = [rng.normal(0.0, 0.01, (sizes[k], sizes[k + 1])) for k in range(K)]
        p = np.clip(np.asarray(X.mean(axis=0), dtype=np.float64).ravel(), 0.01, 0.99)
        b = [np.log(p) - np.log1p(-p)] + [np.zeros(s) for s in sizes[1:]]
        seed = int(rng.randint(0, 2**62))
        st = _DBMState(W=W, b=b, vW=[np.zeros_like(w) for w in W],
                       vb=[np.zeros_like(x) for x in b], seed=seed, stream=0, n_updates=0,
                       n_pretrain=0, n_iter=0, history=[])
        if pretrain:
            st.rW = [w.copy() for w in W]
            st.rbv = [b[0].copy()] + [np.zeros(sizes[k]) for k in range(1, K)]
            st.rbh = [np.zeros(sizes[k + 1]) for k in range(K)]
        return st

    def _fitted_state(self):
        return _DBMState(W=[w.copy() for w in self.coefs_],
                         b=[x.copy() for x in self.intercepts_],
                         vW=[v.copy() for v in self._velocities[0]],
                         vb=[v.copy() for v in self._velocities[1]],
                         chains=[c.copy() for c in self.fantasy_particles_],
                         offsets=(None if getattr(self, "offsets_", None) is None
                                  else [m.copy() for m in self.offsets_]),
                         seed=self._seed, stream=self._stream, n_updates=self._n_updates,
                         n_pretrain=self.n_iter_pretrain_,
                         n_iter=self.n_iter_ + self.n_iter_pretrain_,
                         history=list(self.history_))

    @staticmethod
    def _factors(l, K):
        """(up, down) multipliers of pretraining RBM ``l`` of ``K``."""
        return (2.0 if l == 0 else 1.0), (2.0 if l == K - 1 else 1.0)

    def _compose(self, state, X):
        """The DBM from the pretraining RBMs (if any), and its fantasy particles."""
        K = len(state.W)
        if state.rW is not None:
            for l in range(K):
                state.W[l] = state.rW[l] * (0.5 if 0 < l < K - 1 else 1.0)
            state.b[0] = state.rbv[0].copy()
            for k in range(1, K):
                state.b[k] = 0.5 * (state.rbh[k - 1] + state.rbv[k])
            state.b[K] = state.rbh[K - 1].copy()
            state.rW = state.rbv = state.rbh = state.rv = None
            state.vW = [np.zeros_like(w) for w in state.W]
            state.vb = [np.zeros_like(x) for x in state.b]
        # the chains start at training rows and their sampled mean-field posteriors
        n = X.shape[0]
        rows = np.random.default_rng([state.seed, 1]).integers(0, n, self.n_chains)
        mu, _ = _kd.mean_field(_dense(X[rows]), state.W, state.b, self.n_mean_field,
                               self.mean_field_tol, self.mean_field_damping)
        draw = np.random.default_rng([state.seed, 3, state.n_iter])
        state.chains = [(draw.random(m.shape) < m).astype(np.float64) for m in mu]

    # ------------------------------------------------------------------ epochs
    def _order(self, state, n):
        return np.random.default_rng([state.seed, 2, state.n_iter]).permutation(n)

    def _layer_input(self, state, data, l):
        """Training rows of pretraining RBM ``l``: X, or the probabilities of the
        hidden units of RBM ``l - 1`` given its own input (computed once)."""
        if l == 0:
            return data.X
        if l not in data.inputs:
            below = self._layer_input(state, data, l - 1)
            up, _ = self._factors(l - 1, len(state.W))
            out = np.empty((below.shape[0], state.rW[l - 1].shape[1]))
            for start in range(0, below.shape[0], _BLOCK_ROWS):
                blk = _dense(below[start:start + _BLOCK_ROWS]) @ state.rW[l - 1]
                blk *= up
                sigmoid_rows(blk, state.rbh[l - 1], blk)
                out[start:start + _BLOCK_ROWS] = blk
            data.inputs[l] = out
        return data.inputs[l]

    def _pretrain_epoch(self, state, data, l):
        """One epoch of CD-1 for pretraining RBM ``l`` (modified: its upward
        input doubled at the bottom, its downward input doubled at the top)."""
        K = len(state.W)
        up, down = self._factors(l, K)
        V = self._layer_input(state, data, l)
        W, bv, bh = state.rW[l], state.rbv[l], state.rbh[l]
        if state.rv is None or state.rv[0].shape != W.shape:
            state.rv = [np.zeros_like(W), np.zeros_like(bv), np.zeros_like(bh)]
        vW, vbv, vbh = state.rv
        lr, mom, wd = self.learning_rate_pretrain, self.momentum, self.weight_decay
        order = self._order(state, V.shape[0])
        err = 0.0
        for start in range(0, len(order), self.batch_size):
            v0 = _dense(V[np.sort(order[start:start + self.batch_size])])
            m = v0.shape[0]
            h0 = v0 @ W
            h0 *= up
            hs = np.empty_like(h0)
            sigmoid_sample_rows(h0, bh, hs, _kd.key(state.seed, state.stream), True)
            state.stream += 1
            v1 = np.ascontiguousarray(hs @ W.T)
            v1 *= down
            sigmoid_rows(v1, bv, v1)
            h1 = v1 @ W
            h1 *= up
            sigmoid_rows(h1, bh, h1)
            gW = (v0.T @ h0 - v1.T @ h1) / m - wd * W
            vW *= mom
            vW += lr * gW
            W += vW
            vbv *= mom
            vbv += lr * (v0.mean(axis=0) - v1.mean(axis=0))
            bv += vbv
            vbh *= mom
            vbh += lr * (h0.mean(axis=0) - h1.mean(axis=0))
            bh += vbh
            err += float(np.sum((v0 - v1) ** 2))
            state.n_updates += 1
        return err / max(V.shape[0] * V.shape[1], 1)

    def _joint_epoch(self, state, data):
        """One epoch of joint training: mean-field data statistics, chain model statistics."""
        X = data.X
        K = len(state.W)
        t = state.n_iter - state.n_pretrain
        lr = self.learning_rate / (1.0 + self.learning_rate_decay * t)
        mom, wd = self.momentum, self.weight_decay
        order = self._order(state, X.shape[0])
        err, n_mf, n_batches = 0.0, 0, 0
        if not self.centered:
            state.offsets = None
        for start in range(0, len(order), self.batch_size):
            xb = _dense(X[np.sort(order[start:start + self.batch_size])])
            mu, used = _kd.mean_field(xb, state.W, state.b, self.n_mean_field,
                                      self.mean_field_tol, self.mean_field_damping)
            pos_W, pos_b = _kd.data_statistics(mu)
            if self.centered and state.offsets is None:
                # the visible units' data means; the hidden layers' means on this batch
                state.offsets = [np.asarray(X.mean(axis=0), dtype=np.float64).ravel()] + [
                    m.mean(axis=0) for m in mu[1:]]
            p, n_streams = _kd.gibbs_sweeps(state.chains, state.W, state.b, state.seed,
                                            state.stream, self.n_gibbs_steps)
            state.stream += n_streams
            neg_W, neg_b = _kd.chain_statistics(state.chains, p, state.W)
            if state.offsets is not None:
                _kd.centered_step(state.W, state.b, state.vW, state.vb, state.offsets,
                                  pos_W, pos_b, neg_W, neg_b, lr, mom, wd,
                                  1.0 - self.centering_decay)
            else:
                for k in range(K):
                    _kd.momentum_step(state.W[k], state.vW[k], pos_W[k], neg_W[k], lr, mom,
                                      wd)
                for k in range(K + 1):
                    _kd.momentum_step(state.b[k], state.vb[k], pos_b[k], neg_b[k], lr, mom,
                                      0.0)
            rec = np.ascontiguousarray(mu[1] @ state.W[0].T)
            sigmoid_rows(rec, state.b[0], rec)
            err += float(np.sum((xb - rec) ** 2))
            n_mf += used
            n_batches += 1
            state.n_updates += 1
        return {"stage": "joint",
                "reconstruction_error": err / max(X.shape[0] * X.shape[1], 1),
                "mean_field_iterations": n_mf / max(n_batches, 1),
                "learning_rate": float(lr)}

    def _epoch_step(self, state, data, epoch):
        K = len(state.W)
        if not state.composed:
            l = state.n_pretrain // data.n_iter_pretrain if data.n_iter_pretrain else K
            if l < K:
                err = self._pretrain_epoch(state, data, l)
                state.n_pretrain += 1
                if state.n_pretrain == K * data.n_iter_pretrain:
                    self._compose(state, data.X)
                return {"stage": f"pretraining layer {l + 1}", "pretraining_error": err}
            self._compose(state, data.X)
        return self._joint_epoch(state, data)

    def _check_divergence(self, state, data, step):
        arrays = (state.W + state.b) if state.composed else (state.rW + state.rbv + state.rbh)
        if not all(np.isfinite(a).all() for a in arrays):
            return "the weights or biases are no longer finite"
        return None

    def _divergence_error(self, bad, state, data, committed, epoch):
        from ..exceptions import DivergenceError

        stage = "joint training" if state.composed else "pretraining"
        rate = "learning_rate" if state.composed else "learning_rate_pretrain"
        return DivergenceError(
            f"DBM: {stage} diverged in epoch {state.n_iter + 1}: {bad}. Lower {rate} "
            f"(now {getattr(self, rate)}) or raise weight_decay. "
            f"{_fitting.scale_cause(data.X)}".rstrip())

    def _epoch_record(self, state, data, step, seconds):
        return {"epoch": state.n_iter + 1, "seconds": seconds, **step}

    def _epoch_line(self, state, data, record, seconds, elapsed, epoch, n_epochs):
        line = super()._epoch_line(state, data, record, seconds, elapsed, epoch, n_epochs)
        label = self._verbose_label(data)
        return line.replace(label, f"{label} [{record['stage']}]", 1)

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
        self._log_z_memo = {}

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Pretrain (unless ``warm_start`` on a fitted DBM) and train jointly.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training rows, values in [0, 1] (a warning otherwise).
        y : None
            Ignored.

        Returns
        -------
        self : DBM

        Raises
        ------
        ValueError
            Bad parameters or X (NaN, inf, no rows, fewer than two hidden
            layers, a different number of features under ``warm_start``).
        rbmlib.DivergenceError
            When the weights stop being finite; the DBM is left as it was.
        KeyboardInterrupt
            On Ctrl-C before the first epoch completed (the DBM is left as it
            was); later, training stops with a RuntimeWarning and keeps the
            completed epochs (``interrupted_``).
        """
        with _fitting.transaction(self):
            warm = self.warm_start and hasattr(self, "coefs_")
            X = self._validate_X(X, reset=not warm)
            self._warn_range(X)
            if warm:
                self._check_same_layers()
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
    def partial_fit(self, X, y=None):
        """One epoch of joint training on X, continuing the persistent chains.

        On an unfitted DBM, the weights start small and random (no pretraining;
        call ``fit`` first for the pretrained start). Atomic: Ctrl-C or an error
        leaves the DBM as it was.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        self : DBM

        Raises
        ------
        ValueError
            Bad X, or a number of features that differs from the fitted one.
        rbmlib.DivergenceError
            As in ``fit``.
        """
        with _fitting.transaction(self):
            fitted = hasattr(self, "coefs_")
            X = self._validate_X(X, reset=not fitted)
            self._warn_range(X)
            if fitted:
                self._check_same_layers()
                state = self._fitted_state()
            else:
                state = self._new_state(X, check_random_state(self.random_state),
                                        pretrain=False)
                with thread_limits(self.n_jobs):
                    self._compose(state, X)
            self._train(X, state, 1, 0, keep_partial=False)
        return self

    def _check_same_layers(self):
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
        out = [np.empty((X.shape[0], w.shape[1])) for w in self.coefs_]
        with thread_limits(self.n_jobs):
            for start in range(0, X.shape[0], _BLOCK_ROWS):
                xb = _dense(X[start:start + _BLOCK_ROWS])
                mu, _ = _kd.mean_field(xb, self.coefs_, self.intercepts_, self.n_mean_field,
                                       self.mean_field_tol, self.mean_field_damping)
                for k in range(K):
                    out[k][start:start + xb.shape[0]] = mu[k + 1]
        return out

    def transform(self, X):
        """Mean-field posteriors ``q(h_k = 1 | v)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        H : ndarray of shape (n_samples, n_K) or (n_samples, n_1 + ... + n_K)
            The top layer's posteriors (``transform_layers="top"``), or every
            hidden layer's, bottom first (``"all"``), float64 in [0, 1].
        """
        check_is_fitted(self)
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
        bias alone and run ``n_gibbs`` sweeps (odd layers, then even ones).

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
            The visible units' probabilities given the last sweep's layer 1.

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
        h = []
        for k, bk in enumerate(self.intercepts_):
            s = np.empty((n_samples, len(bk)))
            sigmoid_sample_rows(np.zeros_like(s), bk, s, _kd.key(seed, k), False)
            h.append(s)
        with thread_limits(self.n_jobs):
            p, _ = _kd.gibbs_sweeps(h, self.coefs_, self.intercepts_, seed, len(h), n_gibbs)
        return p[0]

    # ------------------------------------------------------------------ likelihood
    def _n_exact_units(self):
        sizes = [len(x) for x in self.intercepts_]
        return min(sum(sizes[0::2]), sum(sizes[1::2]))

    def log_partition(self, method="auto", *, n_runs=None, n_betas=None, random_state=None,
                      target_ess=None, max_doublings=4):
        """``log Z`` of the DBM, in nats: exact by enumeration or by AIS.

        AIS (Neal 2001) anneals from the DBM with zero weights and the same
        biases (all units independent, ``log Z_0`` in closed form) to the DBM,
        the intermediate models having weights ``beta * coefs_``. A run's state
        is its even layers (the visible units among them); the odd layers are
        summed out analytically in the importance weights, and each
        temperature moves the state by one Gibbs sweep (Salakhutdinov and
        Hinton 2009, sec. 4). The exact method enumerates the ``2 ** n``
        states of the layers of one parity (the one with fewer units, ``n``)
        and sums the others out.

        Parameters
        ----------
        method : {"auto", "exact", "ais"}, default="auto"
            "auto": exact when ``n <= MAX_EXACT_UNITS`` (20), else AIS.
        n_runs, n_betas : int, default=None
            AIS runs and inverse temperatures; None: ``ais_n_runs``, ``ais_n_betas``.
        random_state : int, RandomState instance or None, default=None
            Seed of the AIS runs; None: a seed kept by the fitted model, so
            that repeated calls agree.
        target_ess : float >= 1, default=None
            AIS only: while the effective sample size of the weights is below
            it, run again with twice the temperatures (``2 n_betas - 1``), at
            most ``max_doublings`` times (as :func:`rbmlib.likelihood.ais` with
            ``grow="betas"``); the estimate records ``target_ess``,
            ``target_reached`` and ``n_doublings``. None: one pass.
        max_doublings : int >= 0, default=4
            See ``target_ess``.

        Returns
        -------
        estimate : rbmlib.likelihood.PartitionEstimate
            ``log_z`` (nats), its standard error ``log_z_std`` (delta method,
            0 when exact), the ``log(mean w -/+ 3 se)`` bounds, the effective
            sample size ``ess`` of the importance weights, the largest
            weight's share ``max_weight_share`` and the log weights.

        Raises
        ------
        ValueError
            For method="exact" on a DBM with more than 20 units in both
            parities, or an unknown method / a bad n_runs, n_betas,
            max_doublings or target_ess (below 1 or above ``n_runs``, which
            can never be reached).

        Warns
        -----
        RuntimeWarning
            When a few AIS runs carry the estimate (the effective sample size
            below 10% of ``n_runs``, or below 5 and half of ``n_runs``; as
            :func:`rbmlib.likelihood.ais`): ``log_z_std`` and the bounds cannot
            then be trusted; use more temperatures (``n_betas``) and runs.
            With ``target_ess``, when it was not reached.
        """
        return self._log_partition(method, n_runs, n_betas, random_state, stacklevel=4,
                                   target_ess=target_ess, max_doublings=max_doublings)

    def _log_partition(self, method, n_runs, n_betas, random_state, stacklevel,
                       target_ess=None, max_doublings=4):
        """:meth:`log_partition`; ``stacklevel`` of its warning points at the caller."""
        check_is_fitted(self)
        if method not in ("auto", "exact", "ais"):
            raise ValueError(f"method must be 'auto', 'exact' or 'ais'; got {method!r}.")
        n = self._n_exact_units()
        if method == "exact" or (method == "auto" and n <= MAX_EXACT_UNITS):
            if n > MAX_EXACT_UNITS:
                sizes = [len(x) for x in self.intercepts_]
                raise ValueError(
                    f"log_partition(method='exact') enumerates 2**{n} states (the units of "
                    f"the smaller parity of layers {sizes}); at most 2**{MAX_EXACT_UNITS} "
                    f"are allowed. Use method='ais'.")
            lz = _kd.exact_log_z(self.coefs_, self.intercepts_)
            return PartitionEstimate(lz, 0.0, lz, lz, "exact")
        R = self.ais_n_runs if n_runs is None else n_runs
        T = self.ais_n_betas if n_betas is None else n_betas
        for name, val, low in (("n_runs", R, 2), ("n_betas", T, 2),
                               ("max_doublings", max_doublings, 0)):
            if not isinstance(val, Integral) or isinstance(val, bool) or val < low:
                raise ValueError(f"{name} must be an integer >= {low}; got {val!r}.")
        if target_ess is not None and not (
                isinstance(target_ess, Real) and 1 <= target_ess <= R):
            raise ValueError(
                f"target_ess must be a number in [1, n_runs={R}] (the effective sample "
                f"size is at most the number of runs) or None; got {target_ess!r}.")
        seed = (self._seed ^ 0x5DEECE66D) if random_state is None else int(
            check_random_state(random_state).randint(0, 2**62))
        doublings = 0
        while True:
            with thread_limits(self.n_jobs):
                log_w, log_z0 = _kd.ais_log_weights(self.coefs_, self.intercepts_,
                                                    _betas(T), R, seed)
            est = PartitionEstimate.from_log_weights(log_w, log_z0, n_betas=T)
            if target_ess is None or est.ess >= target_ess or doublings >= max_doublings:
                break
            doublings += 1
            T, seed = 2 * T - 1, seed + 1
        if target_ess is not None:
            est = dataclasses.replace(est, target_ess=float(target_ess),
                                      target_reached=bool(est.ess >= target_ess),
                                      n_doublings=doublings)
        _warn_low_ess(est, reverse=False, stacklevel=stacklevel)
        return est

    def score_samples(self, X):
        """Variational lower bound on ``log p(v)`` of each row, in nats.

        ``log p(v) >= sum_h q(h) (-E(v, h)) + H(q) - log Z`` with ``q`` the
        mean-field posterior (Salakhutdinov and Hinton 2009, eq. 7) and
        ``log Z`` from :meth:`log_partition` (exact for tiny DBMs, otherwise
        AIS with ``ais_n_runs`` and ``ais_n_betas``, computed once per fitted
        model). The bound holds with the exact ``log Z``; with AIS it is an
        estimate (AIS tends to underestimate ``log Z``, which makes the bound
        optimistic by about its error).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows with values in [0, 1] (binary rows for a likelihood).

        Returns
        -------
        bound : ndarray of shape (n_samples,)
            In nats.

        Raises
        ------
        ValueError
            If X has NaN or infinite values or the wrong number of features.

        Warns
        -----
        UserWarning
            If more than 5% of the values of X lie outside [0, 1] (unscaled or
            standardised data), for which the numbers are no log-likelihoods
            (on digits shifted by -0.5 they came out positive). A few values
            just outside, as a ``MinMaxScaler`` fitted on other rows gives a
            held-out fold, pass silently.
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        lo, hi = value_range(X)
        if X.shape[0] and not in_unit_interval(lo, hi):
            vals = X.data if sp.issparse(X) else X
            share = np.count_nonzero((vals < 0) | (vals > 1)) / (X.shape[0] * X.shape[1])
            if share > _HELD_OUT_OUTSIDE_SHARE:
                warnings.warn(
                    f"DBM.score_samples: {100 * share:.0f}% of the values of X lie outside "
                    f"[0, 1] (range [{lo:.3g}, {hi:.3g}]): the bound on log p(v) is "
                    f"defined for X in [0, 1] (the visible units' probabilities) and these "
                    f"numbers are no log-likelihoods. Scale X as for fit (e.g. "
                    f"sklearn.preprocessing.MinMaxScaler).", UserWarning, stacklevel=2)
        with thread_limits(self.n_jobs):
            bound = self._bound_unnormalised(X)
        return bound - self._log_z()

    def _log_z(self):
        memo = getattr(self, "_log_z_memo", None)
        if memo is None:
            memo = {}
        if "log_z" not in memo:  # one estimate per fitted model (set empty by fit)
            memo["log_z"] = self._log_partition("auto", None, None, None, stacklevel=5)
        return float(memo["log_z"].log_z)

    def _bound_unnormalised(self, X):
        """``E_q[-E(v, h)] + H(q)`` of each row, in nats."""
        W, b = self.coefs_, self.intercepts_
        out = np.empty(X.shape[0])
        for start in range(0, X.shape[0], _BLOCK_ROWS):
            xb = _dense(X[start:start + _BLOCK_ROWS])
            mu, _ = _kd.mean_field(xb, W, b, self.n_mean_field, self.mean_field_tol,
                                   self.mean_field_damping)
            val = sum(m @ bk for m, bk in zip(mu, b))
            for k in range(len(W)):
                val = val + np.einsum("ij,ij->i", mu[k] @ W[k], mu[k + 1])
            for m in mu[1:]:
                val = val - (xlogy(m, m) + xlogy(1.0 - m, 1.0 - m)).sum(axis=1)
            out[start:start + xb.shape[0]] = val
        return out

    def score(self, X, y=None):
        """Mean variational lower bound of the rows of X (nats per row).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        score : float
            In nats.

        Raises
        ------
        ValueError
            As :meth:`score_samples` (which also warns as it does).
        """
        return float(np.mean(self.score_samples(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def _betas(n):
    """``n`` inverse temperatures from 0 to 1 spaced as :func:`default_betas`."""
    ref = default_betas()
    if n == len(ref):
        return ref
    return np.interp(np.linspace(0.0, 1.0, n), np.linspace(0.0, 1.0, len(ref)), ref)

