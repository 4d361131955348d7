"""Restricted Boltzmann Machines trained by contrastive divergence.

The estimators here own parameters, validation, randomness and bookkeeping;
the arithmetic lives in the Numba kernels of :mod:`rbmlib._kernels`.

Every ``fit``/``partial_fit`` is a transaction: parameters and data are
validated first, training runs on a private copy of the model's arrays
(``_TrainState``, made and committed by :mod:`rbmlib.rbm._state`) with scratch
buffers built for the call, and the new state is swapped into the estimator
only when the call succeeds. A call that
raises (bad input, divergence, a KeyboardInterrupt before any epoch
completed) leaves the estimator exactly as it was, its random generator
included.
"""

import warnings
from types import SimpleNamespace

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
from sklearn.utils.validation import validate_data

from .. import _fitting
from .._blocks import RowBlocks, fit_streaming, is_dask_collection
from .._docstrings import Substitution
from .._kernels.cd import cd_epoch, chain_groups
from .._kernels.negative import negative_phase_id, tempering_group
from .._parallel import thread_limits
from ..exceptions import DivergenceError
from ..optim import Optimizer
from ..units import VISIBLE_UNITS
from ._common import (
    _CHUNK_WORK,
    _DIVERGENCE_LIMIT,
    _MONITOR_ROWS,
    _PLL_MONITOR_ROWS,
    _RANGE_TOL,
    _SATURATION_PRE,
    _SATURATION_WEIGHT,
    _dense_rows,
)
from ._inference import _RBMInference
from ._params import CENTERING, HIDDEN, OPTIMIZER, RBM_FIT, RBM_SIZE, TEMPERING
from ._state import _RBMState
from ._tempering import adapt_ladder, temperature_ladder


def _tempering_record(counts, round_trips):
    """``history_``'s figures of parallel tempering from one epoch's swap counts
    ``(3, T - 1)`` (attempted, accepted, summed acceptance probabilities)."""
    attempts = np.maximum(counts[0], 1.0)
    return {
        "swap_acceptance": [float(a) for a in counts[1] / attempts],
        "round_trips": int(round_trips),
    }


#: The RBM estimator of each visible unit type, by its name in the unit table
#: (:data:`rbmlib.units.VISIBLE_UNITS`). A class registers with a class keyword,
#: ``class BernoulliRBM(_BaseRBM, visible_units=VISIBLE_UNITS["bernoulli"])``;
#: the DBN builds its layers from it (``first_layer``, and above hidden units ``u``
#: ``RBM_CLASSES[u.visible_above]``).
RBM_CLASSES = {}


#: ``centering_offsets``: the weight of the negative phase's means in the offsets' target.
_MODEL_MEAN_WEIGHT = {"data": 0.0, "average": 0.5, "model": 1.0}

class _BaseRBM(_fitting.EpochTrainer, _RBMState, _RBMInference,
               ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
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

    def __init_subclass__(cls, visible_units=None, **kwargs):
        """With ``visible_units`` (a :class:`rbmlib.units.VisibleUnits`), register the
        class as their RBM estimator (``RBM_CLASSES``) and set its ``_visible_units``,
        unless it defines them itself (CategoricalRBM: a property of its fitted groups)."""
        super().__init_subclass__(**kwargs)
        if visible_units is not None:
            RBM_CLASSES[visible_units.name] = cls
            if "_visible_units" not in cls.__dict__:
                cls._visible_units = visible_units

    # history_ key and verbose label of the per-epoch mean of score_samples
    _score_key = "pseudo_log_likelihood"
    _score_label = "pseudo-likelihood"

    # Training settings that some RBM classes take as parameters and the others fix.
    # A class with the parameter stores it in __init__ (the instance attribute hides
    # these); a class without it trains as set here: GaussianBernoulliRBM always
    # shuffles, samples its visible units and starts their biases by its units' own
    # rule (the data means), and only it learns the variances. Not parameters of the
    # classes without them (get_params reads the __init__ signature).
    shuffle = True
    sample_visible = True
    visible_bias_init = "zeros"
    learn_sigma = False
    # the sampler and the parametrisation of a model pickled before they were parameters
    n_temperatures = 1
    inverse_temperatures = None
    centered = False
    centering_decay = 0.99
    centering_offsets = "data"
    swap_acceptance_target = None
    # ... and the hidden units of a model made before the hidden_units parameter
    # existed (a pickle of an earlier release: Bernoulli units)
    hidden_units = "bernoulli"
    # fitted state of the models whose visible units have variances
    # (``_visible_units.has_sigma``): their log-variances and velocities; None otherwise
    _log_var = None
    _vel_log_var = None

    # the shared parameters' constraints, declared with their defaults in ._params
    _parameter_constraints: dict = {
        **RBM_SIZE.constraints, **RBM_FIT.constraints, **HIDDEN.constraints,
        **OPTIMIZER.constraints, **TEMPERING.constraints, **CENTERING.constraints,
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

    # --------------------------------------------------------------- training
    @staticmethod
    def _scratch(B, H, V, dtype):
        """Scratch buffers of the CD kernels for mini-batches of up to B rows: the
        ``scratch`` group ``(Vcat, Hcat, hs, pre_v, vm, codes)`` of
        :mod:`rbmlib._kernels.cd` (no category codes here)."""
        return (
            np.zeros((2 * B, V), dtype),
            np.zeros((2 * B, H), dtype),
            np.zeros((B, H), dtype),
            np.zeros((B, V), dtype),
            np.zeros((1, V), dtype),
            np.zeros((0, 0), np.int32),
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
        name = self.optimizer
        if name == "sgd" and self.alpha_l1 == 0:
            return None
        return (np.zeros((H if name != "sgd" else 0, V), dtype),
                np.zeros(H, dtype), np.zeros(V, dtype), np.zeros(V, dtype))

    def _optimizer_args(self, state, opt_scratch):
        """The kernels' ``optim`` group (see
        :func:`rbmlib._kernels.cd.apply_optimizer_update`), or None."""
        if opt_scratch is None:
            return None
        kind, ohyper = Optimizer(
            self.optimizer, momentum=self.momentum, nesterovs_momentum=False,
            beta_1=self.beta_1, beta_2=self.beta_2, rho=self.rho, epsilon=self.epsilon,
        ).kernel_args()
        H, V = state.W.shape
        dtype = state.W.dtype
        second = (state.s2W if state.s2W is not None else np.zeros((0, V), dtype),
                  *(a if a is not None else np.zeros(0, dtype)
                    for a in (state.s2c, state.s2b, state.s2_log_var)))
        return (int(kind), int(state.opt_start), float(self.alpha_l1), ohyper, second,
                opt_scratch)

    def _cd_source(self, X, dtype):
        """``(kernel, rows, offsets)``: the CD epoch kernel that encodes this model's
        data into the visible buffer, the data as it takes them, and the groups'
        ``offsets`` (:mod:`rbmlib._kernels.cd`). Here dense or CSR rows."""
        if sp.issparse(X):
            rows = (np.zeros((1, X.shape[1]), dtype), X.data, X.indices, X.indptr, True)
        else:
            rows = (X, np.zeros(1, dtype), np.zeros(1, np.int32), np.zeros(2, np.int32), False)
        return cd_epoch, rows, np.zeros(1, np.int64)

    def _run_epoch(self, state, X, order, scratch, opt_scratch=None):
        """One pass of CD updates over the rows ``X[order]``, into ``state``."""
        H, V = state.W.shape
        dtype = state.W.dtype
        batch_size = min(self.batch_size, order.shape[0])
        kernel, rows, offsets = self._cd_source(X, dtype)
        # the kernels' grouped arguments (the module docstring of rbmlib._kernels.cd)
        learn_log_var = bool(self.learn_sigma)
        negative_phase = negative_phase_id(bool(self.persistent),
                                           not self.sample_visible,
                                           tempered=state.pt_v is not None)
        settings = (int(self.k), negative_phase, int(self._visible_units.kernel_id),
                    int(self._hidden_unit().kernel_id), learn_log_var)
        lo, hi = self._log_var_range()
        hyper = (float(self.learning_rate), float(self.momentum), float(self.weight_decay),
                 float(self.sparsity_target), float(self.sparsity_cost), 0.9, lo, hi)
        empty = np.zeros(0, dtype)
        params = (state.W, state.c, state.b, state.sigma,
                  state.log_var if learn_log_var else empty)
        velocities = (state.vW, state.vc, state.vb,
                      state.vel_log_var if learn_log_var else empty)
        tempering = centering = None
        if state.pt_v is not None:  # parallel tempering: the replicas, counts from zero
            tempering = tempering_group(state.pt_betas, state.hchain.shape[0], H, V, dtype,
                                        vchains=state.pt_v, labels=state.pt_labels)
        if state.center_mu is not None:
            centering = (float(self.centering_decay), state.center_mu, state.center_lam,
                         np.zeros(H, dtype), np.zeros(V, dtype),
                         _MODEL_MEAN_WEIGHT[self.centering_offsets])
        # (hchain, sparse_q), or with the groups of tempering and centering
        chains = chain_groups(state.hchain, state.sparse_q, tempering, centering)
        optim = self._optimizer_args(state, opt_scratch)
        adapt = tempering is not None and self.swap_acceptance_target is not None
        counted = None if not adapt else np.zeros_like(tempering[3])
        n_done = 0
        for start, stop, size, t in self._epoch_calls(order.shape[0], batch_size, H, V):
            n_done += int(kernel(rows, np.ascontiguousarray(order[start:stop]), size, settings,
                                 np.uint64(state.seed), state.n_updates + t, params, offsets,
                                 velocities, chains, tuple(scratch), hyper, optim))
            if adapt:  # the ladder (read by the kernel) from this call's swaps
                tempering[1][:] = adapt_ladder(tempering[1], tempering[3] - counted,
                                               float(self.swap_acceptance_target))
                counted = tempering[3].copy()
        state.n_updates += n_done
        if tempering is not None:
            state.pt_stats = (tempering[3].copy(), int(tempering[4][0]))
            state.pt_betas = tempering[1]

    def _log_var_range(self):
        """Bounds of the learned log-variances of the visible units (none here)."""
        return 0.0, 0.0

    def _check_divergence(self, state, data, step=None):
        """What broke when the epoch broke the model (for a DivergenceError), else None."""
        X_monitor = data.monitor
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
        if self._hidden_unit().real_valued:
            return False  # only bounded hidden units saturate
        return bool(X_monitor.size == 0 or (X_monitor.min() >= -_RANGE_TOL
                                            and X_monitor.max() <= 1 + _RANGE_TOL))

    def _temperature_ladder(self):
        """The inverse temperatures of parallel tempering, float64 of shape
        (n_temperatures,): ``inverse_temperatures`` checked, or by default
        geometric from 1 to 0.1 (:func:`rbmlib.rbm._tempering.temperature_ladder`)."""
        return temperature_ladder(self.n_temperatures, self.inverse_temperatures)

    def _prepare_sampler_state(self, state, monitor):
        """Give ``state`` the replicas of parallel tempering (``n_temperatures > 1``)
        and the offsets of centering (``centered``) when it has none, or drop them.

        New replicas start at 0 (as the persistent hidden chains); a changed ladder
        keeps the replicas when their number is unchanged. New offsets are the means
        of the visible input and of the hidden means on the monitored training rows.
        """
        H, V = state.W.shape
        dtype = state.W.dtype
        if self.n_temperatures > 1:
            betas = self._temperature_ladder()
            B = state.hchain.shape[0]
            if state.pt_v is None or state.pt_v.shape[0] != betas.shape[0] * B:
                state.pt_v = np.zeros((betas.shape[0] * B, V), dtype)
                state.pt_labels = np.zeros(betas.shape[0] * B, np.int64)
            # an adapted ladder (swap_acceptance_target) continues from the fitted one
            if (self.swap_acceptance_target is None or state.pt_betas is None
                    or state.pt_betas.shape != betas.shape):
                state.pt_betas = betas
        else:
            state.pt_v = state.pt_labels = state.pt_betas = None
        if self.centered:
            if state.center_mu is None:
                P = state.params()
                state.center_mu = np.ascontiguousarray(
                    np.asarray(self._visible_input(monitor, P).mean(axis=0)).ravel(), dtype)
                state.center_lam = np.ascontiguousarray(
                    self._mean_hiddens(monitor, P).mean(axis=0), dtype)
        else:
            state.center_mu = state.center_lam = None

    def _train(self, state, X, rows, n_epochs, rng, *, shuffle, X_val=None, keep_partial,
               data_problem=None):
        """Train ``state`` (never self) for ``n_epochs`` epochs of CD in the shell's loop.

        ``rows`` are the training rows of X (None: all, in order). The loop
        (:func:`rbmlib._fitting.run_epochs`) checks the parameters after each
        epoch (a DivergenceError naming ``learning_rate`` when they broke), stops
        early on a growing free-energy gap (``early_stopping``), and on Ctrl-C
        puts ``state`` back to the last completed epoch: with ``keep_partial``
        and at least one completed epoch it stops with a warning and returns
        ``(state, True)``, otherwise the KeyboardInterrupt propagates (the
        caller's transaction restores the estimator).

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
        state.use_optimizer(self.optimizer)
        opt_scratch = self._optimizer_scratch(H, V, state.W.dtype)
        monitor = self._monitor_rows(X, base_order, rng)
        self._prepare_sampler_state(state, monitor)
        # a DBN pretraining this RBM as one of its layers: the epoch lines are the DBN's
        layer = _fitting.pretraining_layer(self)
        data = SimpleNamespace(X=X, order=base_order, shuffle=shuffle, rng=rng, scratch=scratch,
                               opt_scratch=opt_scratch, monitor=monitor, X_val=X_val,
                               problem=data_problem, layer=layer,
                               last_epoch=state.n_iter + n_epochs)
        stopping = (_fitting.GapRule(self.n_iter_no_change) if self.early_stopping
                    else None)
        return self._run_epochs(state, data, n_epochs, keep_partial=keep_partial,
                                verbose=bool(self.verbose or layer is not None),
                                stopping=stopping)

    # hooks of the shell's epoch loop (``data``: what _train prepared)
    def _epoch_step(self, state, data, epoch):
        order = data.order[data.rng.permutation(len(data.order))] if data.shuffle else data.order
        with thread_limits(self.n_jobs):
            if data.opt_scratch is None:  # momentum SGD without L1: the fused update
                self._run_epoch(state, data.X, order, data.scratch)
            else:
                self._run_epoch(state, data.X, order, data.scratch, data.opt_scratch)

    def _divergence_error(self, bad, state, data, committed, epoch):
        return DivergenceError(self._divergence_message(bad, state.n_iter + 1, data.X,
                                                        data.problem))

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

    def _verbose_label(self, data):
        if data.layer is None:
            return f"[{type(self).__name__}]"
        progress, l = data.layer
        return f"{progress.label} Layer {l + 1}/{len(progress.n_iter)}:"

    def _epoch_line(self, state, data, record, seconds, elapsed, epoch, n_epochs):
        # scikit-learn's line first, then the extra figures; as a DBN's layer
        # (``data.layer`` from _fitting.pretraining_layer) the DBN's line
        extra = ""
        if "free_energy_gap" in record:
            extra = f", free-energy gap = {record['free_energy_gap']:.3f}"
        if data.layer is not None:
            progress, l = data.layer
            score = record[self._score_key]
            figures = (f"{self._score_label} = {score:.2f}, " if np.isfinite(score) else ""
                       ) + f"reconstruction error = {record['reconstruction_error']:.4f}{extra}"
            return progress.epoch_line(l, state.W.shape, epoch, n_epochs, figures, seconds,
                                       elapsed)
        left = _fitting.time_left(elapsed, epoch + 1, n_epochs)
        return (
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

    #: False (set by a DBN on its layers): ``history_``'s score (the pseudo-likelihood,
    #: O(V H) transcendentals per monitored row, on a 200-row table 3 times the cost of
    #: the CD epoch) only in epochs 1, 2, 4, 8, ... and the last one of a fit (nan in
    #: the others), unless the epoch lines print it (verbose). See ``_score_epoch``.
    _score_every_epoch = True

    def _score_epoch(self, epoch, data):
        """Whether ``history_``'s entry of (1-based) ``epoch`` gets the score."""
        if self._score_every_epoch or self.verbose or data.layer is not None:
            return True
        return epoch & (epoch - 1) == 0 or epoch >= data.last_epoch

    def _epoch_record(self, state, data, step, seconds):
        # the rows were validated by fit: the private helpers, no second validation
        X_monitor, X_val = data.monitor, data.X_val
        P = state.params()
        has_fe = self._hidden_unit().has_free_energy
        epoch = state.n_iter + 1
        rec = {
            "epoch": epoch,
            "reconstruction_error": float(np.mean(self._reconstruction_error(X_monitor, P))),
            # the exact pseudo-likelihood costs O(V H) transcendentals per
            # row: on the first _PLL_MONITOR_ROWS rows only; undefined (nan)
            # for hidden units without a free energy
            self._score_key: (float(np.mean(self._score_samples(
                X_monitor[:_PLL_MONITOR_ROWS], P)))
                if has_fe and self._score_epoch(epoch, data) else float("nan")),
            "seconds": seconds,
        }
        if X_val is not None and has_fe:
            m = min(X_val.shape[0], X_monitor.shape[0])
            rec["free_energy_gap"] = float(
                np.mean(self._free_energy(X_val[:m], P))
                - np.mean(self._free_energy(X_monitor[:m], P))
            )
        if state.pt_stats is not None:  # parallel tempering
            rec.update(_tempering_record(*state.pt_stats))
        return rec

    def _check_fit_params(self):
        self._check_sampler_params()
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

    def _check_sampler_params(self):
        """Parallel tempering's requirements (fit and partial_fit)."""
        unit = self._hidden_unit(fitted=False)
        if self.n_temperatures > 1:
            self._temperature_ladder()  # raises on a bad ladder
            if not unit.has_free_energy:
                raise ValueError(
                    f"n_temperatures={self.n_temperatures} runs parallel tempering, whose "
                    f"swaps compare free energies, undefined for hidden_units={unit.name!r} "
                    f"(no closed form); use n_temperatures=1 or other hidden units.")
            if not self.persistent:
                raise ValueError(
                    f"n_temperatures={self.n_temperatures} runs parallel tempering, whose "
                    f"chains are persistent; set persistent=True (or n_temperatures=1 for "
                    f"CD-k).")
        elif self.inverse_temperatures is not None:
            self._temperature_ladder()

    @Substitution()
    def fit(self, X, y=None):
        """Fit the model to the data X by CD-k or persistent CD.

        A fit that raises leaves the estimator exactly as it was. A
        KeyboardInterrupt (Ctrl-C) after the first epoch stops training, keeps
        the completed epochs (``n_iter_ == len(history_)``), warns with a
        RuntimeWarning and sets ``interrupted_ = True``; during the first
        epoch (or before) the estimator is left as it was and the
        KeyboardInterrupt is re-raised.

        {X_dask_params}
            Training data; float32 data gives float32 parameters. Sparse
            input is read one mini-batch at a time and never densified whole;
            a numpy.memmap is read in place. A dask array is streamed:
            ``n_iter`` passes of :meth:`partial_fit` over its row chunks (in a
            random order, rows shuffled within each chunk), one chunk in
            memory at a time (``validation_fraction`` must then be None).
        {unsupervised_fit_returns}
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
        with _fitting.transaction(self):
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
                                         shuffle=self.shuffle, X_val=X_val, keep_partial=True, data_problem=problem)
        self._commit(state, rng, interrupted)

    @Substitution()
    def partial_fit(self, X, y=None):
        """Run one pass of CD updates over X in mini-batches of batch_size.

        Unlike scikit-learn's BernoulliRBM, which makes a single update,
        this runs over all of X (in the order given) and keeps the persistent
        chains between calls; a changed ``batch_size`` takes effect (the
        chains are resized). The call is atomic: if it raises (bad input,
        divergence, KeyboardInterrupt) the model is left exactly as it was
        before the call, its random generator included.

        {X_dask_params}
            Data. A dask array is read chunk by chunk, in order; all its
            chunks are applied or, if one fails, none.
        {unsupervised_fit_returns}

        Raises
        ------
        ValueError
            As for :meth:`fit`.
        KeyboardInterrupt
            If interrupted (the model is as before the call).
        """
        if is_dask_collection(X):
            with _fitting.transaction(self):  # all chunks or nothing
                for block in RowBlocks(X).blocks():
                    self._partial_fit(block)
            return self
        with _fitting.transaction(self):
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
        self._check_sampler_params()
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self):
        return self.components_.shape[0]
