"""Restricted Boltzmann Machines trained by contrastive divergence.

The estimators here own parameters, validation, randomness and bookkeeping;
the arithmetic lives in the Numba kernels of :mod:`rbmlib._kernels`.

Every ``fit``/``partial_fit`` is a transaction: parameters and data are
validated first, training runs on a private copy of the model's arrays
(``_TrainState``) with scratch buffers built for the call, and the new state
is swapped into the estimator only when the call succeeds. A call that
raises (bad input, divergence, a KeyboardInterrupt before any epoch
completed) leaves the estimator exactly as it was, its random generator
included.
"""

import functools
import time
import warnings
from contextlib import contextmanager
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._kernels.cd import cd_epoch
from ._kernels.monitor import pseudo_loglik_bernoulli
from ._blocks import RowBlocks, fit_streaming, is_dask_collection, lazy_method, mean_over_rows
from . import _fitting, likelihood
from ._parallel import thread_limits
from .optim import SOLVERS, Optimizer
from .units import HIDDEN_UNITS, VISIBLE_UNITS
from .units import free_energy as _units_free_energy
from .units import hidden_units as _hidden_units_of
from .units import softplus as _softplus

_DIVERGENCE_LIMIT = 1e5
_PLL_MONITOR_ROWS = 10  # history_'s pseudo-likelihood: ~0.07 s per epoch at 784 x 500
_MONITOR_ROWS = 50  # rows of the training (and validation) data monitored per epoch
#: Inputs this far outside [0, 1] are taken as rounding (MinMaxScaler gives 1 + 2.2e-16).
_RANGE_TOL = 1e-6
def value_range(X):
    """``(min, max)`` of the values of X, dense or sparse (its implicit zeros count);
    ``(inf, -inf)`` for an empty X."""
    vals = X.data if sp.issparse(X) else np.asarray(X)
    if not vals.size:
        lo, hi = np.inf, -np.inf
    else:
        lo, hi = float(vals.min()), float(vals.max())
    if sp.issparse(X) and X.nnz < X.shape[0] * X.shape[1]:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    return lo, hi


def in_unit_interval(lo, hi):
    """Whether values in [lo, hi] lie in [0, 1] up to rounding (``_RANGE_TOL``)."""
    return lo >= -_RANGE_TOL and hi <= 1 + _RANGE_TOL


#: Outside fit, X passes the range check silently while at most this share of its
#: entries lies outside [0, 1]: rows scaled by a MinMaxScaler fitted on other rows
#: (a test fold, new data) have a few entries beyond the training range (on
#: breast_cancer's test folds up to 2.6, in well under 1% of the entries), while
#: unscaled or standardised data put a large share of them outside (about half).
_HELD_OUT_OUTSIDE_SHARE = 0.05
#: Dense elements of one row block in inference and statistics (2**17 float64 = 1 MB).
_BLOCK_ELEMENTS = 2**17
#: Work (rows x (V + H) x H) of one kernel call in training: a KeyboardInterrupt
#: is seen between calls, so an epoch is cut into calls of ~10-50 ms.
_CHUNK_WORK = 2**27
#: A hidden unit whose |pre-activation| exceeds this on every monitored row is
#: saturated (its probability is within 1e-13 of 0 or 1).
_SATURATION_PRE = 30.0
#: Together with saturation: weights this large (a model trained with a
#: sensible learning rate has weights of a few units, e.g. below 5 on MNIST)
#: whose hidden units are all saturated come from a too large learning rate.
_SATURATION_WEIGHT = 50.0
#: The optimiser parameters of the RBMs and their defaults (also those of
#: models pickled before they existed: momentum SGD without L1).
_OPTIMIZER_DEFAULTS = {"optimizer": "sgd", "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8,
                       "rho": 0.9, "alpha_l1": 0.0}


class DivergenceError(ValueError):
    """Raised when training diverges (non-finite, exploding or saturated parameters)."""


class FreeEnergyUndefinedError(NotImplementedError, AttributeError):
    """Raised by the likelihood methods of an RBM whose hidden units have no
    closed-form free energy (``hidden_units="nrelu"``).

    A NotImplementedError naming the unit type; also an AttributeError, so that
    ``hasattr(rbm, "score_samples")`` is False and scikit-learn (``Pipeline.score``,
    the estimator checks) treats the method as absent.
    """


class _needs_free_energy:
    """Method decorator: the method exists only when the hidden units have a free energy.

    Accessing it on a model whose (fitted, else requested) hidden units have none
    raises :class:`FreeEnergyUndefinedError`, as ``sklearn.utils.metaestimators.available_if``
    raises an AttributeError.
    """

    def __init__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.fn
        try:
            unit = obj._hidden_unit()
        except ValueError:  # an invalid hidden_units: fit will say so
            unit = None
        if unit is not None and not unit.has_free_energy:
            try:
                unit.check_free_energy(f"{type(obj).__name__}.{self.fn.__name__}")
            except NotImplementedError as e:
                raise FreeEnergyUndefinedError(str(e)) from None
        return self.fn.__get__(obj, owner)


class OutOfRangeWarning(UserWarning):
    """Warning: data given to a Bernoulli visible layer lies outside [0, 1]."""


class _IntNotBool(Interval):
    """An integer interval that refuses bools (``n_components=True`` is a mistake)."""

    def is_satisfied_by(self, val):
        if isinstance(val, (bool, np.bool_)):
            return False
        return super().is_satisfied_by(val)


def _row_blocks(n_rows, width):
    """``(start, stop)`` blocks of rows with at most ~_BLOCK_ELEMENTS dense elements."""
    step = max(1, _BLOCK_ELEMENTS // max(1, width))
    for start in range(0, n_rows, step):
        yield start, min(start + step, n_rows)


def _dense_rows(X, rows):
    """Rows of X (a slice or sorted indices) as a C-contiguous dense array."""
    Xr = X[rows]
    if sp.issparse(Xr):
        return Xr.toarray()
    return np.ascontiguousarray(Xr)


def _column_mean(X, rows=None):
    """Mean of each column over ``rows`` (all when None), in float64, a block at a time.

    Never copies more than one block of a dense (possibly memory-mapped) X.
    """
    n_rows = X.shape[0] if rows is None else len(rows)
    if sp.issparse(X):
        Xs = X if rows is None else X[rows]
        return np.asarray(Xs.sum(axis=0), dtype=np.float64).ravel() / n_rows
    total = np.zeros(X.shape[1], dtype=np.float64)
    for start, stop in _row_blocks(n_rows, X.shape[1]):
        block = X[start:stop] if rows is None else X[rows[start:stop]]
        total += block.sum(axis=0, dtype=np.float64)
    return total / n_rows


def _pseudo_loglik(unit, X, pre, W, b):
    """Pseudo-log-likelihood ``sum_i log sigmoid(F(x^(i)) - F(x))`` for Bernoulli
    visible units and any hidden unit type with a free energy (NumPy, float64).

    ``F(x^(i)) - F(x) = -b_i d_i - sum_j [phi(pre_j + d_i W_ji) - phi(pre_j)]`` with
    ``d_i = 1 - 2 x_i`` and ``phi`` the unit's ``log_marginal``. Row blocks of
    the caller bound the (n, V, H) temporary; Gaussian hidden units use the
    closed form ``phi(x + d) - phi(x) = d (x + d / 2)`` (two products).
    """
    d = 1.0 - 2.0 * X
    if unit.name == "gaussian":
        g = -b * d - d * (pre @ W) - 0.5 * d * d * (W * W).sum(axis=0)
    else:
        diff = unit.log_marginal_pseudo_diff(pre[:, None, :], d[:, :, None] * W.T[None])
        g = -b * d - diff.sum(axis=2)
    return -_softplus(-g).sum(axis=1)


class _TrainState:
    """Everything a CD epoch reads and writes: a private copy of the model.

    ``arrays()`` lists them in the kernels' order. ``copy()`` is a snapshot
    (the epoch loop keeps one per completed epoch).
    """

    # vW, vc, vb, vel_log_var: the optimiser's first state vectors (the
    # velocities of momentum SGD); s2*: Adam's second moments (None otherwise)
    _ARRAYS = ("W", "c", "b", "sigma", "vW", "vc", "vb", "hchain", "sparse_q",
               "log_var", "vel_log_var", "s2W", "s2c", "s2b", "s2_log_var")

    def __init__(self, **kw):
        for name in self._ARRAYS:
            setattr(self, name, kw.pop(name, None))
        self.n_updates = kw.pop("n_updates")
        self.n_iter = kw.pop("n_iter")
        self.history = kw.pop("history")
        self.seed = kw.pop("seed")
        # the optimiser the state vectors belong to, and the update count at
        # which it started (its step number is n_updates - opt_start + 1)
        self.optimizer = kw.pop("optimizer", "sgd")
        self.opt_start = kw.pop("opt_start", 0)
        assert not kw, kw

    def params(self):
        return self.W, self.c, self.b, self.sigma

    def copy(self):
        kw = {name: (None if getattr(self, name) is None else getattr(self, name).copy())
              for name in self._ARRAYS}
        return _TrainState(n_updates=self.n_updates, n_iter=self.n_iter,
                           history=list(self.history), seed=self.seed,
                           optimizer=self.optimizer, opt_start=self.opt_start, **kw)

    def use_optimizer(self, name):
        """Make the optimiser state that of ``name``: kept when it already is,
        else zero state vectors (second moments for Adam only) starting now."""
        if name == self.optimizer and (name != "adam" or self.s2W is not None):
            return
        zeros = (lambda a: None if a is None else np.zeros_like(a))
        self.vW, self.vc, self.vb = zeros(self.vW), zeros(self.vc), zeros(self.vb)
        self.vel_log_var = zeros(self.vel_log_var)
        if name == "adam":
            self.s2W, self.s2c, self.s2b = zeros(self.W), zeros(self.c), zeros(self.b)
            self.s2_log_var = zeros(self.log_var)
        else:
            self.s2W = self.s2c = self.s2b = self.s2_log_var = None
        self.optimizer = name
        self.opt_start = self.n_updates


def _own(a, dtype=None):
    """A writable, C-contiguous, in-memory copy of ``a`` (a memmap gives an ndarray)."""
    return np.array(a, dtype=dtype if dtype is not None else a.dtype, order="C", copy=True)


class _BaseRBM(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared machinery of the RBM estimators (not public).

    The unit types are entries of the unit table :mod:`rbmlib.units`: a
    subclass sets ``_visible_units`` (a :class:`rbmlib.units.VisibleUnits`) and
    the ``hidden_units`` parameter picks the hidden ones; the free energy, the
    conditional means and samplers, the CD kernel ids and the hidden affine map
    are read from them. A subclass adds only what is specific to its visible
    units: ``_check_values``, ``_check_training_data`` and ``_score_samples``
    (and parameters of its own).
    """

    _visible_units = VISIBLE_UNITS["bernoulli"]
    # history_ key and verbose label of the per-epoch mean of score_samples
    _score_key = "pseudo_log_likelihood"
    _score_label = "pseudo-likelihood"

    _parameter_constraints: dict = {
        "n_components": [_IntNotBool(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [_IntNotBool(Integral, 1, None, closed="left")],
        "n_iter": [_IntNotBool(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "k": [_IntNotBool(Integral, 1, None, closed="left")],
        "persistent": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
        "sparsity_cost": [Interval(Real, 0, None, closed="left")],
        "validation_fraction": [None, Interval(Real, 0, 1, closed="neither")],
        "early_stopping": ["boolean"],
        "n_iter_no_change": [_IntNotBool(Integral, 1, None, closed="left")],
        "n_jobs": [None, _IntNotBool(Integral, None, None, closed="neither")],
        "hidden_units": [StrOptions(set(HIDDEN_UNITS))],
        "optimizer": [StrOptions(set(SOLVERS))],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "rho": [Interval(Real, 0, 1, closed="left")],
        "alpha_l1": [Interval(Real, 0, None, closed="left")],
    }

    # ------------------------------------------------------------------ input
    def _validate_X(self, X, reset, training=None):
        """Validated X; ``training`` (default: ``reset``) when X is training data."""
        X = validate_data(
            self,
            X,
            accept_sparse="csr",
            dtype=[np.float64, np.float32],
            order="C",
            reset=reset,
        )
        if X.shape[0] == 0:  # validate_data already refuses this; be explicit
            raise ValueError("X has 0 samples; at least one is required.")
        if not reset and hasattr(self, "components_"):
            X = X.astype(self.components_.dtype, copy=False)
        if sp.issparse(X) and not X.has_canonical_format:
            # duplicate entries are summed by scipy (and by transform) but the
            # gather kernels would overwrite them: sum them on a copy
            X = X.copy()
            X.sum_duplicates()
        self._check_values(X, training=reset if training is None else training)
        return X

    def _check_values(self, X, training=True):
        """Range checks specific to the visible units (override); ``training``
        when X is training data rather than held-out rows."""

    def _check_training_data(self, X):
        """Checks of the training data beyond its range (override).

        Raises on data that cannot be trained on; returns a message about data
        that can be but are likely to make training fail (the caller warns
        with it and puts it first in a DivergenceError), else None.
        """
        return None

    def _warn_data_problem(self, X):
        problem = self._check_training_data(X)
        if problem is not None:
            warnings.warn(problem, UserWarning, stacklevel=5)
        return problem

    # ---------------------------------------------------------- transactions
    @contextmanager
    def _transaction(self):
        """Put the estimator back exactly as it was if the block raises.

        Training never writes into the estimator's own arrays (it works on
        copies), so a shallow copy of ``__dict__`` plus the states of the
        random generators the call may advance is a complete record.
        """
        saved = dict(self.__dict__)
        rngs = []
        for r in (saved.get("_rng"), self.random_state):
            if isinstance(r, np.random.RandomState) and all(r is not q for q, _ in rngs):
                rngs.append((r, r.get_state()))
        try:
            yield
        except BaseException:
            for r, s in rngs:
                r.set_state(s)
            for key in [k for k in self.__dict__ if k not in saved]:
                del self.__dict__[key]
            self.__dict__.update(saved)
            raise

    # --------------------------------------------------------------- training
    def _init_state(self, X, rows, rng):
        """A freshly initialised model for training rows ``rows`` of X."""
        n_features = X.shape[1]
        dtype = X.dtype
        H = self.n_components
        W = np.ascontiguousarray(rng.normal(0.0, 0.01, (H, n_features)).astype(dtype))
        b = self._init_visible(_column_mean(X, rows)).astype(dtype)
        n_rows = X.shape[0] if rows is None else len(rows)
        state = _TrainState(
            W=W,
            c=np.zeros(H, dtype=dtype),
            b=np.ascontiguousarray(b),
            sigma=np.ones(n_features, dtype=dtype),
            vW=np.zeros_like(W),
            vc=np.zeros(H, dtype=dtype),
            vb=np.zeros(n_features, dtype=dtype),
            # the chains of at most batch_size rows, never more than the data
            hchain=np.zeros((min(self.batch_size, n_rows), H), dtype=dtype),
            sparse_q=np.full(H, self.sparsity_target, dtype=dtype),
            # the log-variances (GaussianBernoulliRBM(learn_sigma=True) learns them)
            log_var=np.zeros(n_features, dtype=dtype) if self._visible_units.has_sigma else None,
            vel_log_var=np.zeros(n_features, dtype=dtype) if self._visible_units.has_sigma else None,
            n_updates=0,
            n_iter=0,
            history=[],
            seed=int(rng.randint(0, 2**63 - 1, dtype=np.int64)),
        )
        state.use_optimizer(self._optimizer_param("optimizer"))
        return state

    def _state_from_self(self, n_rows):
        """A private, writable copy of the fitted model, chains resized for this call.

        The persistent chains get between ``min(batch_size, n_rows)`` and
        ``batch_size`` rows: new chains start at zero, surplus ones are dropped.
        """
        dtype = self.components_.dtype
        vW, vc, vb = self._velocities
        H = self.components_.shape[0]
        h = self.h_samples_
        need = min(self.batch_size, n_rows)
        rows = min(max(h.shape[0], need), self.batch_size)
        hchain = np.zeros((rows, H), dtype=dtype)
        keep = min(rows, h.shape[0])
        hchain[:keep] = h[:keep]
        V = self.components_.shape[1]
        log_var = getattr(self, "_log_var", None)
        vel_log_var = getattr(self, "_vel_log_var", None)
        if not self._visible_units.has_sigma:
            log_var = vel_log_var = None
        # models fitted before the optimisers existed were momentum SGD
        opt_name, opt_start, second = getattr(self, "_optimizer_state",
                                              ("sgd", 0, (None,) * 4))
        s2W, s2c, s2b, s2z = (None if a is None else _own(a) for a in second)
        state = _TrainState(
            W=_own(self.components_), c=_own(self.intercept_hidden_),
            b=_own(self.intercept_visible_), sigma=_own(self._sigma),
            vW=_own(vW), vc=_own(vc), vb=_own(vb), hchain=hchain,
            sparse_q=_own(self._sparsity_q),
            log_var=(None if not self._visible_units.has_sigma else
                     np.zeros(V, dtype) if log_var is None else _own(log_var)),
            vel_log_var=(None if not self._visible_units.has_sigma else
                         np.zeros(V, dtype) if vel_log_var is None else _own(vel_log_var)),
            n_updates=self._n_updates, n_iter=self.n_iter_,
            history=list(self.history_), seed=self._seed,
            s2W=s2W, s2c=s2c, s2b=s2b,
            s2_log_var=s2z if self._visible_units.has_sigma else None,
            optimizer=opt_name, opt_start=opt_start,
        )
        if state.log_var is not None and state.s2W is not None and state.s2_log_var is None:
            state.s2_log_var = np.zeros_like(state.log_var)
        return state

    def _commit(self, state, rng, interrupted):
        """Swap a trained state into the estimator (the only place that sets it)."""
        self.components_ = state.W
        self.intercept_hidden_ = state.c
        self.intercept_visible_ = state.b
        self._sigma = state.sigma
        self._velocities = [state.vW, state.vc, state.vb]
        self.h_samples_ = state.hchain
        self._sparsity_q = state.sparse_q
        if state.log_var is not None:
            self._log_var = state.log_var
            self._vel_log_var = state.vel_log_var
        self._n_updates = state.n_updates
        # the optimiser's state beyond the velocities (pickled: partial_fit continues it)
        self._optimizer_state = (state.optimizer, state.opt_start,
                                 (state.s2W, state.s2c, state.s2b, state.s2_log_var))
        self.n_iter_ = state.n_iter
        self.history_ = state.history
        self._seed = state.seed
        self._rng = rng  # kept (and pickled) so that partial_fit continues the stream
        self.interrupted_ = interrupted
        self.hidden_units_ = getattr(self, "hidden_units", "bernoulli")

    def __setstate__(self, state):
        state = dict(state)
        state.pop("_buffers", None)  # scratch memory pickled by older versions
        # models pickled before hidden_units existed have Bernoulli hidden units
        state.setdefault("hidden_units", "bernoulli")
        # ... and before the optimisers existed, momentum SGD without L1
        params = self._get_param_names()
        for name, default in _OPTIMIZER_DEFAULTS.items():
            if name in params:
                state.setdefault(name, default)
        if "components_" in state:
            state.setdefault("hidden_units_", "bernoulli")
        super().__setstate__(state)

    @staticmethod
    def _scratch(B, H, V, dtype):
        """Scratch buffers of the CD kernels for mini-batches of up to B rows."""
        return (
            np.zeros((2 * B, V), dtype),
            np.zeros((2 * B, H), dtype),
            np.zeros((B, H), dtype),
            np.zeros((B, V), dtype),
            np.zeros((H, V), dtype),
        )

    @staticmethod
    def _epoch_calls(n, batch_size, H, V):
        """Split one epoch's even mini-batches into kernel calls of bounded work.

        Yields ``(start, stop, size, first_batch)``: rows ``order[start:stop]``
        form whole mini-batches of ``size`` rows each (the sizes of
        ``sklearn.utils.gen_even_slices``), so the calls make exactly the
        updates of one call over the whole epoch.
        """
        n_batches = (n + batch_size - 1) // batch_size
        q, r = divmod(n, n_batches)
        groups = [(0, r, q + 1), (r, n_batches, q)]  # batch ranges of equal size
        start = 0
        for b0, b1, size in groups:
            if size == 0 or b1 <= b0:
                continue
            per_call = max(1, _CHUNK_WORK // max(1, size * (V + H) * H))
            for t in range(b0, b1, per_call):
                nb = min(per_call, b1 - t)
                yield start, start + nb * size, size, t
                start += nb * size

    def _optimizer_scratch(self, H, V, dtype):
        """Gradient scratch of :func:`rbmlib._kernels.cd.apply_optimizer_update`,
        or None for momentum SGD without L1 (the fused update needs none).

        ``(g_W, g_c, g_b, vm)`` of shapes (H, V) ((0, V) for SGD), (H,), (V,), (V,).
        """
        name = self._optimizer_param("optimizer")
        if name == "sgd" and self._optimizer_param("alpha_l1") == 0:
            return None
        return (np.zeros((H if name != "sgd" else 0, V), dtype),
                np.zeros(H, dtype), np.zeros(V, dtype), np.zeros(V, dtype))

    def _optimizer_args(self, state, opt_scratch):
        """The kernels' ``optim`` group (see
        :func:`rbmlib._kernels.cd.apply_optimizer_update`), or None."""
        if opt_scratch is None:
            return None
        p = self._optimizer_param
        kind, ohyper = Optimizer(
            p("optimizer"), momentum=self.momentum, nesterovs_momentum=False,
            beta_1=p("beta_1"), beta_2=p("beta_2"), rho=p("rho"), epsilon=p("epsilon"),
        ).kernel_args()
        H, V = state.W.shape
        dtype = state.W.dtype
        second = (state.s2W if state.s2W is not None else np.zeros((0, V), dtype),
                  *(a if a is not None else np.zeros(0, dtype)
                    for a in (state.s2c, state.s2b, state.s2_log_var)))
        return (int(kind), int(state.opt_start), float(p("alpha_l1")), ohyper, second,
                opt_scratch)

    def _optimizer_param(self, name):
        """An optimiser parameter (its default for a subclass without it)."""
        return getattr(self, name, _OPTIMIZER_DEFAULTS[name])

    def _run_epoch(self, state, X, order, scratch, opt_scratch=None):
        """One pass of CD updates over the rows ``X[order]``, into ``state``."""
        H, V = state.W.shape
        dtype = state.W.dtype
        batch_size = min(self.batch_size, order.shape[0])
        if sp.issparse(X):
            Xd = np.zeros((1, V), dtype)
            data, indices, indptr = X.data, X.indices, X.indptr
        else:
            Xd = X
            data = np.zeros(1, dtype)
            indices = np.zeros(1, np.int32)
            indptr = np.zeros(2, np.int32)
        batch = (Xd, data, indices, indptr, bool(sp.issparse(X)))
        # the kernels' grouped arguments (CONVENTIONS: parameters, velocities, scratch)
        learn_log_var = bool(getattr(self, "learn_sigma", False))
        settings = (int(self.k), bool(self.persistent), int(self._visible_units.kernel_id),
                    int(self._hidden_unit().kernel_id),
                    not getattr(self, "sample_visible", True), learn_log_var)
        lo, hi = self._log_var_range()
        hyper = (float(self.learning_rate), float(self.momentum), float(self.weight_decay),
                 float(self.sparsity_target), float(self.sparsity_cost), 0.9, lo, hi)
        empty = np.zeros(0, dtype)
        params = (state.W, state.c, state.b, state.sigma,
                  state.log_var if learn_log_var else empty)
        velocities = (state.vW, state.vc, state.vb,
                      state.vel_log_var if learn_log_var else empty)
        chains = (state.hchain, state.sparse_q)
        optim = self._optimizer_args(state, opt_scratch)
        n_done = 0
        for start, stop, size, t in self._epoch_calls(order.shape[0], batch_size, H, V):
            n_done += int(cd_epoch(batch, order[start:stop], size, settings,
                                   np.uint64(state.seed), state.n_updates + t, params,
                                   velocities, chains, tuple(scratch), hyper, optim))
        state.n_updates += n_done

    def _log_var_range(self):
        """Bounds of the learned log-variances of the visible units (none here)."""
        return 0.0, 0.0

    def _check_divergence(self, state, X_monitor):
        """A DivergenceError message when the epoch broke the model, else None."""
        for name, a in (("components_", state.W), ("intercept_hidden_", state.c),
                        ("intercept_visible_", state.b)):
            if not np.all(np.isfinite(a)) or np.max(np.abs(a)) > _DIVERGENCE_LIMIT:
                return (f"{name} became non-finite or exceeded {_DIVERGENCE_LIMIT:g} "
                        f"in magnitude")
        w_max = float(np.max(np.abs(state.W))) if state.W.size else 0.0
        if w_max > _SATURATION_WEIGHT and self._saturation_applies(X_monitor):
            pre = np.abs(self._hidden_pre(self._visible_input(X_monitor, state.params()),
                                          state.params()))
            if np.all(pre > _SATURATION_PRE):
                return (f"the hidden units saturated (weights up to {w_max:.3g}; every "
                        f"hidden probability on the monitored rows is 0 or 1 to within "
                        f"1e-13, so the gradient carries no information)")
        return None

    def _divergence_hint(self):
        """Extra advice appended to a DivergenceError message (override)."""
        return ""

    def _saturation_applies(self, X_monitor):
        """Whether saturated hidden units mean a too large learning rate (override).

        Not for Bernoulli units fed values outside [0, 1] (warned about):
        there the data's scale, not the learning rate, saturates them.
        """
        if self._hidden_unit().name != "bernoulli":
            return False  # only binary hidden units saturate
        return bool(X_monitor.size == 0 or (X_monitor.min() >= -_RANGE_TOL
                                            and X_monitor.max() <= 1 + _RANGE_TOL))

    def _train(self, state, X, rows, n_epochs, rng, *, shuffle, X_val=None, keep_partial,
               data_problem=None):
        """Epoch loop shared by fit and partial_fit, on ``state`` (never on self).

        ``rows`` are the training rows of X (None: all, in order). After each
        epoch the parameters are checked; a DivergenceError naming
        ``learning_rate`` is raised when they broke. A KeyboardInterrupt
        anywhere in the loop puts ``state`` back to the last completed epoch;
        with ``keep_partial`` and at least one completed epoch the loop then
        stops with a warning and returns ``(state, True)``, otherwise the
        KeyboardInterrupt propagates (the caller's transaction restores the
        estimator).

        Returns
        -------
        state : _TrainState
        interrupted : bool
        """
        n = X.shape[0] if rows is None else len(rows)
        base_order = np.arange(n, dtype=np.int64) if rows is None else rows.astype(np.int64)
        H, V = state.W.shape
        scratch = self._scratch(min(self.batch_size, n), H, V, state.W.dtype)
        # a changed optimizer starts from zero state (partial_fit); others continue
        state.use_optimizer(self._optimizer_param("optimizer"))
        opt_scratch = self._optimizer_scratch(H, V, state.W.dtype)
        monitor = self._monitor_rows(X, base_order, rng)
        best_gap_count = 0
        prev_gap = None
        t_start = time.time()
        # a DBN pretraining this RBM as one of its layers: the epoch lines are the DBN's
        layer = _fitting.pretraining_layer(self)
        committed = state.copy() if keep_partial else None
        first_iter = state.n_iter
        try:
            for epoch in range(n_epochs):
                t0 = time.time()
                order = base_order[rng.permutation(n)] if shuffle else base_order
                with thread_limits(self.n_jobs):
                    if opt_scratch is None:  # momentum SGD without L1: the fused update
                        self._run_epoch(state, X, order, scratch)
                    else:
                        self._run_epoch(state, X, order, scratch, opt_scratch)
                bad = self._check_divergence(state, monitor)
                if bad is not None:
                    raise DivergenceError(self._divergence_message(
                        bad, state.n_iter + 1, X, data_problem))
                seconds = time.time() - t0
                record = self._epoch_record(state, monitor, X_val, seconds)
                state.n_iter += 1
                state.history.append(record)
                if self.verbose or layer is not None:
                    self._print_epoch(state, record, seconds, t_start,
                                      epoch, n_epochs, layer)
                if keep_partial:
                    committed = state.copy()
                if self.early_stopping and "free_energy_gap" in record:
                    gap = record["free_energy_gap"]
                    grew = prev_gap is not None and gap > prev_gap
                    best_gap_count = best_gap_count + 1 if grew else 0
                    prev_gap = gap
                    if best_gap_count >= self.n_iter_no_change:
                        if self.verbose or layer is not None:
                            print(f"{self._verbose_label(layer)} Early stopping: the "
                                  f"free-energy gap grew for {best_gap_count} epochs in a row.")
                        break
        except KeyboardInterrupt:
            if not keep_partial or committed.n_iter == first_iter:
                raise
            warnings.warn(
                f"{type(self).__name__}: training interrupted by the user (KeyboardInterrupt); "
                f"the model is kept as it was after epoch {committed.n_iter} "
                f"({committed.n_iter - first_iter} of {n_epochs} epochs completed) and "
                f"interrupted_ is set to True.",
                RuntimeWarning,
            )
            return committed, True
        return state, False

    def _divergence_message(self, bad, epoch, X, data_problem):
        """The DivergenceError message: what broke, then the likely causes and remedies.

        The data come first when they are the likely cause: a problem found by
        ``_check_training_data`` (``data_problem``), or a large scale (``max |X|``
        above ``_fitting.LARGE_INPUT``); the learning rate always.
        """
        causes = [c for c in (f"The data are the likely cause: {data_problem}"
                              if data_problem else "", _fitting.scale_cause(X)) if c]
        rate = f"learning_rate (currently {self.learning_rate!r})."
        rate = f"Otherwise, reduce {rate}" if causes else f"Reduce {rate}"
        return " ".join([f"Training diverged in epoch {epoch}: {bad}."] + causes + [
            rate + ("" if data_problem else self._divergence_hint()),
            "The estimator was left as it was before this call."])

    def _verbose_label(self, layer):
        if layer is None:
            return f"[{type(self).__name__}]"
        progress, l = layer
        return f"{progress.label} Layer {l + 1}/{len(progress.n_iter)}:"

    def _print_epoch(self, state, record, seconds, t_start, epoch, n_epochs, layer=None):
        # scikit-learn's line first, then the extra figures; as a DBN's layer
        # (``layer`` from _fitting.pretraining_layer) the DBN's line
        elapsed = time.time() - t_start
        extra = ""
        if "free_energy_gap" in record:
            extra = f", free-energy gap = {record['free_energy_gap']:.3f}"
        if layer is not None:
            progress, l = layer
            score = record[self._score_key]
            figures = (f"{self._score_label} = {score:.2f}, " if np.isfinite(score) else ""
                       ) + f"reconstruction error = {record['reconstruction_error']:.4f}{extra}"
            print(progress.epoch_line(l, state.W.shape, epoch, n_epochs, figures, seconds,
                                      elapsed))
            return
        left = _fitting.time_left(elapsed, epoch + 1, n_epochs)
        print(
            f"[{type(self).__name__}] Iteration {state.n_iter}, "
            f"{self._score_label} = {record[self._score_key]:.2f}, "
            f"time = {seconds:.2f}s, "
            f"reconstruction error = {record['reconstruction_error']:.4f}"
            f"{extra}, time left ~ {left:.1f}s"
        )

    def _monitor_rows(self, X, rows, rng, max_rows=_MONITOR_ROWS):
        """Up to ``max_rows`` of the training rows, dense (a copy of those rows only)."""
        idx = np.sort(rng.choice(rows, size=min(len(rows), max_rows), replace=False))
        return _dense_rows(X, idx)

    def _epoch_record(self, state, X_monitor, X_val, seconds):
        # the rows were validated by fit: the private helpers, no second validation
        P = state.params()
        has_fe = self._hidden_unit().has_free_energy
        rec = {
            "epoch": state.n_iter + 1,
            "reconstruction_error": float(np.mean(self._reconstruction_error(X_monitor, P))),
            # the exact pseudo-likelihood costs O(V H) transcendentals per
            # row: on the first _PLL_MONITOR_ROWS rows only; undefined (nan)
            # for hidden units without a free energy
            self._score_key: (float(np.mean(self._score_samples(
                X_monitor[:_PLL_MONITOR_ROWS], P))) if has_fe else float("nan")),
            "seconds": seconds,
        }
        if X_val is not None and has_fe:
            m = min(X_val.shape[0], X_monitor.shape[0])
            rec["free_energy_gap"] = float(
                np.mean(self._free_energy(X_val[:m], P))
                - np.mean(self._free_energy(X_monitor[:m], P))
            )
        return rec

    def _check_fit_params(self):
        unit = self._hidden_unit(fitted=False)
        if self.validation_fraction is not None and not unit.has_free_energy:
            raise ValueError(
                f"validation_fraction monitors the free-energy gap, which is undefined for "
                f"hidden_units={unit.name!r} (no closed-form free energy); set "
                f"validation_fraction=None (and early_stopping=False)."
            )
        if self.early_stopping and self.validation_fraction is None:
            raise ValueError(
                "early_stopping=True needs validation_fraction, the fraction of X held out "
                "to monitor the free-energy gap (for example validation_fraction=0.1); got "
                "validation_fraction=None."
            )

    def fit(self, X, y=None):
        """Fit the model to the data X by CD-k or persistent CD.

        A fit that raises leaves the estimator exactly as it was. A
        KeyboardInterrupt (Ctrl-C) after the first epoch stops training, keeps
        the completed epochs (``n_iter_ == len(history_)``), warns with a
        RuntimeWarning and sets ``interrupted_ = True``; during the first
        epoch (or before) the estimator is left as it was and the
        KeyboardInterrupt is re-raised.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Training data; float32 data gives float32 parameters. Sparse
            input is read one mini-batch at a time and never densified whole;
            a numpy.memmap is read in place. A dask array is streamed:
            ``n_iter`` passes of :meth:`partial_fit` over its row chunks (in a
            random order, rows shuffled within each chunk), one chunk in
            memory at a time (``validation_fraction`` must then be None).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted model.

        Raises
        ------
        ValueError
            On bad input (NaN/inf, wrong shape, empty) or bad parameters;
            ``DivergenceError`` (a ValueError) if training diverges.
        KeyboardInterrupt
            If interrupted before the first epoch completed.
        """
        if is_dask_collection(X):
            return self._fit_dask(X)
        with self._transaction():
            self._fit(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def _fit(self, X):
        self._check_fit_params()
        X = self._validate_X(X, reset=True)
        problem = self._warn_data_problem(X)
        # the model being trained has the requested hidden units (the methods the
        # epoch loop calls read hidden_units_); the transaction restores it on failure
        self.hidden_units_ = self._hidden_unit(fitted=False).name
        rng = check_random_state(self.random_state)
        n = X.shape[0]
        rows = None
        X_val = None
        if self.validation_fraction is not None:
            n_val = max(1, int(round(self.validation_fraction * n)))
            if n_val >= n:
                raise ValueError(
                    f"validation_fraction={self.validation_fraction} leaves no training "
                    f"samples out of {n}."
                )
            perm = rng.permutation(n)
            # the free-energy gap uses at most _MONITOR_ROWS held-out rows:
            # only those are read (and densified)
            X_val = _dense_rows(X, np.sort(perm[:min(n_val, _MONITOR_ROWS)]))
            rows = np.sort(perm[n_val:])
        state = self._init_state(X, rows, rng)
        state, interrupted = self._train(state, X, rows, self.n_iter, rng,
                                         shuffle=getattr(self, "shuffle", True), X_val=X_val, keep_partial=True, data_problem=problem)
        self._commit(state, rng, interrupted)

    def partial_fit(self, X, y=None):
        """Run one pass of CD updates over X in mini-batches of batch_size.

        Unlike scikit-learn's BernoulliRBM, which makes a single update,
        this runs over all of X (in the order given) and keeps the persistent
        chains between calls; a changed ``batch_size`` takes effect (the
        chains are resized). The call is atomic: if it raises (bad input,
        divergence, KeyboardInterrupt) the model is left exactly as it was
        before the call, its random generator included.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Data. A dask array is read chunk by chunk, in order; all its
            chunks are applied or, if one fails, none.
        y : None
            Ignored.

        Returns
        -------
        self : object

        Raises
        ------
        ValueError
            As for :meth:`fit`.
        KeyboardInterrupt
            If interrupted (the model is as before the call).
        """
        if is_dask_collection(X):
            with self._transaction():  # all chunks or nothing
                for block in RowBlocks(X).blocks():
                    self._partial_fit(block)
            return self
        with self._transaction():
            self._partial_fit(X)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def _partial_fit(self, X):
        first = not hasattr(self, "components_")
        if not first and self.n_components != self.components_.shape[0]:
            raise ValueError(
                f"n_components={self.n_components} differs from the fitted model's "
                f"{self.components_.shape[0]} hidden units; partial_fit continues the fitted "
                f"model: call fit to start again with the new n_components."
            )
        if not first and self._hidden_unit(fitted=False) is not self._hidden_unit():
            raise ValueError(
                f"hidden_units={self.hidden_units!r} differs from the fitted model's "
                f"{self.hidden_units_!r}; partial_fit continues the fitted model: call fit "
                f"to start again with the new hidden_units."
            )
        X = self._validate_X(X, reset=first, training=True)
        problem = self._warn_data_problem(X)
        if first:
            self.hidden_units_ = self._hidden_unit(fitted=False).name
            rng = check_random_state(self.random_state)
            state = self._init_state(X, None, rng)
        else:
            rng = self._rng
            state = self._state_from_self(X.shape[0])
        state, _ = self._train(state, X, None, 1, rng, shuffle=False, keep_partial=False,
                               data_problem=problem)
        self._commit(state, rng, False)

    def _fit_dask(self, X):
        """fit on a dask array: ``n_iter`` passes of partial_fit over its row chunks.

        Each pass visits the chunks in a random order, rows shuffled within
        each chunk (:func:`rbmlib._blocks.fit_streaming`); one chunk at a time
        is in memory. A fresh model is trained and swapped in on success.
        """
        self._validate_params()
        self._check_fit_params()
        if self.validation_fraction is not None:
            raise ValueError(
                "validation_fraction is not supported when fitting a dask array (its chunks "
                "are streamed through partial_fit); hold out rows yourself and compare "
                "score() on them, or set validation_fraction=None."
            )
        est = clone(self)
        fit_streaming(est, RowBlocks(X), self.n_iter, check_random_state(self.random_state))
        params = self.get_params(deep=False)
        for key in [k for k in vars(self) if k not in params]:
            delattr(self, key)
        self.__dict__.update({k: v for k, v in vars(est).items() if k not in params})
        return self

    @_needs_free_energy
    def score(self, X, y=None):
        """Mean of :meth:`score_samples` over the samples, in nats.

        For a BernoulliRBM the mean per-sample pseudo-log-likelihood (Besag
        1975), as ``GaussianMixture.score`` is a mean log-likelihood: higher
        is better, so ``GridSearchCV(BernoulliRBM(), {...})`` and
        ``dask_ml.wrappers.Incremental`` select models without a downstream
        estimator. For a GaussianBernoulliRBM the mean negative free energy
        (log-density up to ``log Z``): comparable between data sets under one
        model, not between models (use :meth:`log_likelihood` for that).

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            A dask array is scored chunk by chunk (on the cluster when a
            ``dask.distributed.Client`` is active).
        y : None
            Ignored.

        Returns
        -------
        score : float
            In nats.

        Raises
        ------
        NotFittedError
            If the model is not fitted.
        ValueError
            On bad input, as for :meth:`transform`.

        References
        ----------
        J. Besag, "Statistical analysis of non-lattice data", The
        Statistician 24(3), 1975.
        """
        if is_dask_collection(X):
            return mean_over_rows(self, "score_samples", X)
        return float(np.mean(self.score_samples(X), dtype=np.float64))

    # ------------------------------------------------------------- inference
    def _check_fitted_X(self, X):
        check_is_fitted(self)
        return self._validate_X(X, reset=False)

    def _params(self, P=None):
        if P is not None:
            return P
        return self.components_, self.intercept_hidden_, self.intercept_visible_, self._sigma

    def _hidden_pre(self, X, P=None):
        W, c, _, _ = self._params(P)
        pre = np.asarray(X @ W.T)
        pre += c
        return pre

    def _visible_input(self, X, P=None):
        """What the hidden units see of X (``v``, or ``v / sigma^2`` for Gaussian units)."""
        W, _, _, sigma = self._params(P)
        return self._visible_units.hidden_input(X, sigma.astype(W.dtype, copy=False))

    def _init_visible(self, mean):
        return self._visible_units.init_bias(mean, getattr(self, "visible_bias_init", "zeros"))

    def _visible_means(self, h, P=None):
        W, _, b, sigma = self._params(P)
        return self._visible_units.mean(h @ W + b, sigma)

    def _sample_visibles(self, h, rng):
        W, _, b, sigma = self._params()
        return self._visible_units.sample(h @ W + b, sigma, rng)

    def _free_energy(self, X, P=None):
        return self._blockwise(X, self._free_energy_block, P)

    def _free_energy_block(self, X, P):
        W, c, b, sigma = self._params(P)
        F = _units_free_energy(X, W, c, b, sigma, self._visible_units, self._hidden_unit())
        return F.astype(W.dtype, copy=False)

    def transform(self, X):
        """Hidden-unit probabilities p(h_j = 1 | v) for each sample.

        Defined for any finite input (a BernoulliRBM warns about values
        outside [0, 1], see ``check_range``).

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)

        Returns
        -------
        h : ndarray of shape (n_samples, n_components)
            Same float dtype as the model; for a dask X, a lazy dask array
            with X's row chunks (``map_blocks``), computed where the chunks live.
        """
        if is_dask_collection(X):
            return lazy_method(self, "transform", X)
        X = self._check_fitted_X(X)
        return self._mean_hiddens(X)

    def _hidden_unit(self, fitted=True):
        """The :class:`rbmlib.units.HiddenUnits` of the model.

        The fitted model's (``hidden_units_``) once fitted, unless ``fitted``
        is False; the ``hidden_units`` parameter otherwise.
        """
        name = self.__dict__.get("hidden_units_") if fitted else None
        if name is None:
            name = getattr(self, "hidden_units", "bernoulli")
        return _hidden_units_of(name)

    def _hidden_affine(self):
        """The affine map of the hidden pre-activations: ``(W, c)`` with
        ``pre = X @ W + c``, W of shape (n_features, n_components) and c of shape
        (n_components,), new arrays in the model's dtype.

        ``transform(X)`` is ``self._hidden_unit().mean(X @ W + c)``: the DBN
        builds its feed-forward layers from it (the visible units' input map,
        ``v / sigma^2`` for Gaussian units, is folded into W).
        """
        check_is_fitted(self)
        W, c, _, sigma = self._params()
        return self._visible_units.hidden_affine(W, c, sigma)

    def _mean_hiddens(self, v, P=None):
        return self._hidden_unit().mean(self._hidden_pre(self._visible_input(v, P), P))

    def _sample_hiddens(self, v, rng, P=None):
        return self._hidden_unit().sample(self._hidden_pre(self._visible_input(v, P), P), rng)

    def gibbs(self, v):
        """One Gibbs step v -> h -> v', sampling both layers.

        Parameters
        ----------
        v : ndarray of shape (n_samples, n_features)
            Visible states to start from.

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
            Visible samples after one step.
        """
        check_is_fitted(self)
        if not hasattr(self, "random_state_"):
            self.random_state_ = check_random_state(self.random_state)
        v = self._validate_X(v, reset=False)
        if sp.issparse(v):
            v = v.toarray()
        h = self._sample_hiddens(v, self.random_state_)
        return self._sample_visibles(h, self.random_state_)

    def _blockwise(self, X, fn, P):
        """``fn(dense_block, P)`` over row blocks of X, concatenated (1-D, model dtype)."""
        W = self._params(P)[0]
        out = np.empty(X.shape[0], dtype=W.dtype)
        for start, stop in _row_blocks(X.shape[0], max(X.shape[1], W.shape[0])):
            out[start:stop] = fn(_dense_rows(X, slice(start, stop)), P)
        return out

    def _reconstruction_error(self, X, P=None):
        return self._blockwise(X, self._reconstruction_error_block, P)

    def _reconstruction_error_block(self, X, P):
        r = self._visible_means(self._mean_hiddens(X, P), P)
        return np.mean((X - r) ** 2, axis=1)

    def reconstruction_error(self, X):
        """Mean-field reconstruction error of each sample.

        ``mean_i (x_i - r_i)^2`` with ``r = E[v | h = p(h | x)]``, the
        visible means given the hidden probabilities (Hinton 2010, sec. 5).
        Computed a block of rows at a time (sparse X is never densified whole).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        err : ndarray of shape (n_samples,)
            Mean squared error per visible unit, in the model's dtype.
        """
        X = self._check_fitted_X(X)
        return self._reconstruction_error(X)

    @_needs_free_energy
    def free_energy(self, X):
        """Free energy of each sample, in nats (see the class docstring).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        F : ndarray of shape (n_samples,)
            In nats, in the model's dtype; ``p(v) = exp(-F(v)) / Z``.
        """
        X = self._check_fitted_X(X)
        return self._free_energy(X)

    @_needs_free_energy
    def log_partition(self, method="auto", **ais_params):
        """Log partition function log Z of the model, in nats.

        Parameters
        ----------
        method : {"auto", "exact", "ais"}, default="auto"
            "exact" enumerates the smaller layer (at most 25 units);
            "ais" uses annealed importance sampling (Salakhutdinov and Murray
            2008); "auto" picks "exact" when it is possible.
        **ais_params
            Passed to :func:`rbmlib.likelihood.ais` (``n_runs``, ``betas``,
            ``base_rate`` -- give the training data here --, ``random_state``,
            ``verbose``: the estimator's ``verbose`` unless given, so that a
            verbose model reports the progress of AIS).

        Returns
        -------
        estimate : rbmlib.likelihood.PartitionEstimate
            ``log_z``, its standard error ``log_z_std``, the bounds
            ``log_z_lower``/``log_z_upper`` and the ``method`` used.

        Raises
        ------
        ValueError
            If "exact" is asked for a model too large to enumerate.
        """
        check_is_fitted(self)
        ais_params.setdefault("verbose", self.verbose)
        return likelihood.log_partition(self, method, **ais_params)

    @_needs_free_energy
    def log_likelihood(self, X, log_z=None, **ais_params):
        """Log-likelihood of each sample, ``-F(x) - log Z``, in nats.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        log_z : None, {"exact", "ais"}, float or PartitionEstimate, default=None
            How log Z is obtained: None is exact enumeration when the smaller
            layer has at most 25 units and AIS (base model fitted to X)
            otherwise; or a value computed once with :meth:`log_partition`.
        **ais_params
            Passed to :func:`rbmlib.likelihood.ais` (``verbose``: the
            estimator's ``verbose`` unless given).

        Returns
        -------
        log_lik : ndarray of shape (n_samples,)
            In nats (a log-density for Gaussian visible units).

        Raises
        ------
        ValueError
            On bad input, as for :meth:`transform`.
        """
        X = self._check_fitted_X(X)
        ais_params.setdefault("verbose", self.verbose)
        return likelihood.log_likelihood(self, X, log_z=log_z, **ais_params)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self):
        return self.components_.shape[0]


class BernoulliRBM(_BaseRBM):
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
        if unit.name != "bernoulli":
            return _pseudo_loglik(unit, np.asarray(Xd, dtype=np.float64), pre,
                                  np.asarray(W, dtype=np.float64),
                                  np.asarray(b, dtype=np.float64))
        out = np.empty(Xd.shape[0], dtype=np.float64)
        with thread_limits(self.n_jobs):
            pseudo_loglik_bernoulli(
                np.ascontiguousarray(Xd, dtype=np.float64), pre,
                np.ascontiguousarray(W.T, dtype=np.float64),
                np.ascontiguousarray(b, dtype=np.float64), out,
            )
        return out
