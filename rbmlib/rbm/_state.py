"""The training state of the RBM estimators: a private copy of the model.

Every ``fit``/``partial_fit`` trains a :class:`_TrainState` (the arrays a CD
epoch reads and writes, in the kernels' order), made fresh
(:meth:`_RBMState._init_state`) or copied from the fitted estimator with its
chains resized (:meth:`_RBMState._state_from_self`), and swaps it into the
estimator only when the call succeeds (:meth:`_RBMState._commit`, the one place
that sets the fitted attributes). :meth:`_RBMState.__setstate__` completes the
state of models pickled by earlier releases.
"""

import numpy as np

from ._common import _column_mean
from ._params import OPTIMIZER

__all__ = ["_RBMState", "_TrainState"]


class _TrainState:
    """Everything a CD epoch reads and writes: a private copy of the model.

    ``arrays()`` lists them in the kernels' order. ``copy()`` is a snapshot
    (the epoch loop keeps one per completed epoch).
    """

    # vW, vc, vb, vel_log_var: the optimiser's first state vectors (the
    # velocities of momentum SGD); s2*: Adam's second moments (None otherwise)
    # pt_*: the replicas of parallel tempering (n_temperatures > 1): visible states,
    # round-trip labels and the inverse temperatures; center_*: the offsets of the
    # centered parametrisation (centered=True); None when not used
    _ARRAYS = ("W", "c", "b", "sigma", "vW", "vc", "vb", "hchain", "sparse_q",
               "log_var", "vel_log_var", "s2W", "s2c", "s2b", "s2_log_var",
               "pt_v", "pt_labels", "pt_betas", "center_mu", "center_lam")

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
        # the last epoch's swap counts (3, T - 1) and round trips of parallel tempering
        self.pt_stats = None
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


class _RBMState:
    """How ``_BaseRBM`` makes, commits and unpickles its training state (a mixin)."""

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
        state.use_optimizer(self.optimizer)
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
        log_var = self._log_var
        vel_log_var = self._vel_log_var
        if not self._visible_units.has_sigma:
            log_var = vel_log_var = None
        opt_name, opt_start, second = self._optimizer_state
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
        # the replicas of parallel tempering: rows resized as the chains (new ones at 0)
        tempering = self.__dict__.get("_tempering_state")
        if tempering is not None:
            v, labels, betas = tempering
            T = betas.shape[0]
            old = v.shape[0] // T
            keep = min(rows, old)
            state.pt_v = np.zeros((T * rows, V), dtype)
            state.pt_labels = np.zeros(T * rows, np.int64)
            for t in range(T):
                state.pt_v[t * rows:t * rows + keep] = v[t * old:t * old + keep]
                state.pt_labels[t * rows:t * rows + keep] = labels[t * old:t * old + keep]
            state.pt_betas = _own(betas)
        offsets = self.__dict__.get("_centering_offsets")
        if offsets is not None:
            state.center_mu, state.center_lam = _own(offsets[0]), _own(offsets[1])
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
        self._tempering_state = (None if state.pt_v is None else
                                 (state.pt_v, state.pt_labels, state.pt_betas))
        self._centering_offsets = (None if state.center_mu is None else
                                   (state.center_mu, state.center_lam))
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
        self.hidden_units_ = self.hidden_units

    def __setstate__(self, state):
        state = dict(state)
        state.pop("_buffers", None)  # scratch memory pickled by older versions
        # models pickled before the optimisers existed: momentum SGD without L1
        params = self._get_param_names()
        for name, default in OPTIMIZER.defaults.items():
            if name in params:
                state.setdefault(name, default)
        if "components_" in state:
            # fitted before the hidden units had a choice (Bernoulli) or before the
            # optimisers existed (the state is momentum SGD's velocities alone)
            state.setdefault("hidden_units_", "bernoulli")
            state.setdefault("_optimizer_state", ("sgd", 0, (None,) * 4))
        super().__setstate__(state)
