"""The likelihood half of :class:`rbmlib.DBM`: ``log Z`` (exact or AIS) and the
variational lower bound on ``log p(v)`` in nats (Salakhutdinov and Hinton 2009,
sec. 4; Neal 2001; Salakhutdinov and Murray 2008).
"""

import dataclasses
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import xlogy
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._blocks import is_dask_collection, lazy_method, mean_over_rows
from .._docstrings import Substitution
from .._kernels import dbm as _kd
from .._parallel import thread_limits
from ..likelihood import PartitionEstimate, _warn_low_ess, default_betas
from ..likelihood._estimate import _ess_threshold
from ..rbm._common import _HELD_OUT_OUTSIDE_SHARE, in_unit_interval, value_range
from ._dbm_training import _BLOCK_ROWS, _dense

#: ``log_partition(method="exact")`` enumerates ``2 ** n`` states, ``n`` the
#: units of the smaller of the two parities (odd or even layers).
MAX_EXACT_UNITS = 20
#: ``ais_n_betas="auto"``: AIS starts with this many inverse temperatures and
#: doubles them (``2 n - 1``) at most ``_AUTO_MAX_DOUBLINGS`` times (to 8,001)
#: while the effective sample size is below the level at which AIS warns
#: (:func:`rbmlib.likelihood._estimate._ess_threshold`: 10% of the runs).
_AUTO_N_BETAS = 1001
_AUTO_MAX_DOUBLINGS = 3


class _DBMLikelihood:
    """``log_partition``, ``score_samples`` and ``score`` (a mixin of :class:`rbmlib.DBM`)."""

    def _params64(self):
        """Weights and biases in float64 (a float32 DBM's likelihoods are computed
        in float64 all the same)."""
        return ([np.asarray(w, dtype=np.float64) for w in self.coefs_],
                [np.asarray(x, dtype=np.float64) for x in self.intercepts_])

    def _n_exact_units(self):
        return _kd.n_enumerated([len(x) for x in self.intercepts_], self._gaussian())

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
        and sums the others out; with Gaussian visible units it enumerates
        the odd layers (``n`` their units) and integrates the visible units
        out analytically, and the AIS base model draws them from
        ``N(intercepts_[0], 1)`` (its ``log Z_0`` includes ``(n_0 / 2) log(2
        pi)``).

        Parameters
        ----------
        method : {"auto", "exact", "ais"}, default="auto"
            "auto": exact when ``n <= MAX_EXACT_UNITS`` (20), else AIS.
        n_runs, n_betas : int, default=None
            AIS runs and inverse temperatures; None: ``ais_n_runs``, ``ais_n_betas``
            (whose "auto" starts at 1,001 temperatures and doubles them, at
            most 3 times, while the effective sample size is below 10% of the
            runs, unless ``target_ess`` is given).
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
        if (method == "auto" and n_runs is None and n_betas is None and random_state is None
                and target_ess is None and max_doublings == 4):
            return self._log_z_estimate()  # the estimate score_samples uses (computed once)
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
                which = ("odd layers" if self._gaussian() else "smaller parity")
                raise ValueError(
                    f"log_partition(method='exact') enumerates 2**{n} states (the units of "
                    f"the {which} of layers {sizes}); at most 2**{MAX_EXACT_UNITS} "
                    f"are allowed. Use method='ais'.")
            lz = _kd.exact_log_z(*self._params64(), gaussian=self._gaussian())
            return PartitionEstimate(lz, 0.0, lz, lz, "exact")
        R = self.ais_n_runs if n_runs is None else n_runs
        T = self.ais_n_betas if n_betas is None else n_betas
        if isinstance(T, str) and T == "auto":
            T = _AUTO_N_BETAS
            if target_ess is None and isinstance(R, Integral):
                target_ess = float(_ess_threshold(R))
                max_doublings = _AUTO_MAX_DOUBLINGS
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
                log_w, log_z0 = _kd.ais_log_weights(*self._params64(), _betas(T), R, seed,
                                                    gaussian=self._gaussian())
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

    @Substitution()
    def score_samples(self, X):
        """Variational lower bound on ``log p(v)`` of each row, in nats.

        ``log p(v) >= sum_h q(h) (-E(v, h)) + H(q) - log Z`` with ``q`` the
        mean-field posterior (Salakhutdinov and Hinton 2009, eq. 7) and
        ``log Z`` from :meth:`log_partition` (exact for tiny DBMs, otherwise
        AIS with ``ais_n_runs`` and ``ais_n_betas``, computed once per fitted
        model; ``log_partition()`` returns that estimate with its
        diagnostics). The bound holds with the exact ``log Z``; with AIS it is an
        estimate (AIS tends to underestimate ``log Z``, which makes the bound
        optimistic by about its error).

        {X_dask_params}
            Rows with values in [0, 1] (binary rows for a likelihood); with
            Gaussian visible units, real rows scaled as for fit.

        Returns
        -------
        bound : ndarray of shape (n_samples,)
            In nats; for a dask X, a lazy dask array (``log Z`` computed first).
            With Gaussian visible units a bound on the log-density of X, in
            nats per row (of the standardised data).

        Raises
        ------
        ValueError
            If X has NaN or infinite values or the wrong number of features.

        Warns
        -----
        UserWarning
            Bernoulli visible units: if more than 5% of the values of X lie
            outside [0, 1] (unscaled or standardised data), for which the
            numbers are no log-likelihoods (on digits shifted by -0.5 they came
            out positive). A few values just outside, as a ``MinMaxScaler``
            fitted on other rows gives a held-out fold, pass silently.
        """
        check_is_fitted(self)
        if is_dask_collection(X):
            self._log_z_estimate()  # once, before the model is copied into the graph
            return lazy_method(self, "score_samples", X)
        X = self._validate_X(X, reset=False)
        lo, hi = value_range(X)
        if X.shape[0] and not self._gaussian() and not in_unit_interval(lo, hi):
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

    def _log_z_estimate(self):
        """``log_partition()`` with the model's settings, computed once per fitted model
        (``_log_z_memo`` is emptied by every fit); its warnings name the user's line."""
        check_is_fitted(self)
        memo = self.__dict__.setdefault("_log_z_memo", {})
        key = ("log_z", self.ais_n_runs, self.ais_n_betas)  # set_params may change them
        if key not in memo:
            memo[key] = self._log_partition("auto", None, None, None, stacklevel=None)
        return memo[key]

    def _log_z(self):
        return float(self._log_z_estimate().log_z)

    def _bound_unnormalised(self, X):
        """``E_q[-E(v, h)] + H(q)`` of each row, in nats."""
        W, b = self._params64()
        out = np.empty(X.shape[0])
        for start in range(0, X.shape[0], _BLOCK_ROWS):
            xb = _dense(X[start:start + _BLOCK_ROWS])
            mu, _ = _kd.mean_field(xb, W, b, self.n_mean_field, self.mean_field_tol,
                                   self.mean_field_damping)
            if self._gaussian():  # -|v - b_0|^2 / 2 for the visible units
                val = sum(m @ bk for m, bk in zip(mu[1:], b[1:]))
                val = val - 0.5 * ((xb - b[0]) ** 2).sum(axis=1)
            else:
                val = sum(m @ bk for m, bk in zip(mu, b))
            for k in range(len(W)):
                val = val + np.einsum("ij,ij->i", mu[k] @ W[k], mu[k + 1])
            for m in mu[1:]:
                val = val - (xlogy(m, m) + xlogy(1.0 - m, 1.0 - m)).sum(axis=1)
            out[start:start + xb.shape[0]] = val
        return out

    @Substitution()
    def score(self, X, y=None):
        """Mean variational lower bound of the rows of X (nats per row).

        {X_dask_params}
            A dask X is scored chunk by chunk (``log Z`` computed once, first).
        {unsupervised_score_returns}

        Raises
        ------
        ValueError
            As :meth:`score_samples` (which also warns as it does).
        """
        if is_dask_collection(X):
            check_is_fitted(self)
            self._log_z_estimate()  # once, before the model is copied into the graph
            return mean_over_rows(self, "score_samples", X)
        return float(np.mean(self.score_samples(X)))


def _betas(n):
    """``n`` inverse temperatures from 0 to 1 spaced as :func:`default_betas`."""
    ref = default_betas()
    if n == len(ref):
        return ref
    return np.interp(np.linspace(0.0, 1.0, n), np.linspace(0.0, 1.0, len(ref)), ref)
