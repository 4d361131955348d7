"""Inference and likelihood methods shared by the RBM estimators.
"""


import numpy as np
import scipy.sparse as sp
from sklearn.base import TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .. import likelihood
from .._blocks import is_dask_collection, lazy_method, mean_over_rows
from .._docstrings import Substitution
from ..units import free_energy as _units_free_energy
from ..units import hidden_units as _hidden_units_of
from ._common import _dense_rows, _needs_free_energy, _row_blocks


class _RBMInference(TransformerMixin):
    """Inference and likelihood methods of the RBM estimators (a mixin of ``_BaseRBM``):
    scores, transform, Gibbs sampling, reconstruction error, free energy, log Z and
    log-likelihood."""

    @_needs_free_energy
    @Substitution()
    def score(self, X, y=None):
        """Mean of :meth:`score_samples` over the samples, in nats.

        For a BernoulliRBM the mean per-sample pseudo-log-likelihood (Besag
        1975), as ``GaussianMixture.score`` is a mean log-likelihood: higher
        is better, so ``GridSearchCV(BernoulliRBM(), {...})`` and
        ``dask_ml.wrappers.Incremental`` select models without a downstream
        estimator. For a GaussianBernoulliRBM the mean negative free energy
        (log-density up to ``log Z``): comparable between data sets under one
        model, not between models (use :meth:`log_likelihood` for that).

        {X_dask_params}
            A dask array is scored chunk by chunk (on the cluster when a
            ``dask.distributed.Client`` is active).
        {unsupervised_score_returns}

        {not_fitted_raises}
        ValueError
            On bad input, as for :meth:`transform`.

        References
        ----------
        {pseudo_likelihood_ref}
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
        return self._visible_units.init_bias(mean, self.visible_bias_init)

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

    @Substitution()
    def transform(self, X):
        """Hidden-unit probabilities p(h_j = 1 | v) for each sample.

        Defined for any finite input (a BernoulliRBM warns about values
        outside [0, 1], see ``check_range``).

        {X_dask_params}

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
            name = self.hidden_units
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
        return self._gibbs_step(v)

    def _gibbs_step(self, v, sample=True):
        """The visible states (``sample``) or means after one step v -> h -> v' from
        the validated ``v``, drawn from ``random_state_`` (made on first use)."""
        check_is_fitted(self)
        if not hasattr(self, "random_state_"):
            self.random_state_ = check_random_state(self.random_state)
        v = self._validate_X(v, reset=False)
        if sp.issparse(v):
            v = v.toarray()
        h = self._sample_hiddens(v, self.random_state_)
        if sample:
            return self._sample_visibles(h, self.random_state_)
        return self._visible_means(h)

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

    @Substitution()
    def reconstruction_error(self, X):
        """Mean-field reconstruction error of each sample.

        ``mean_i (x_i - r_i)^2`` with ``r = E[v | h = p(h | x)]``, the
        visible means given the hidden probabilities (Hinton 2010, sec. 5).
        Computed a block of rows at a time (sparse X is never densified whole).

        {X_params}

        Returns
        -------
        err : ndarray of shape (n_samples,)
            Mean squared error per visible unit, in the model's dtype.
        """
        X = self._check_fitted_X(X)
        return self._reconstruction_error(X)

    @_needs_free_energy
    @Substitution()
    def free_energy(self, X):
        """Free energy ``F(v)`` of each sample, in nats.

        Its formula for the model's unit types is in the class docstring;
        ``p(v) = exp(-F(v)) / Z``. Computed a block of rows at a time (sparse
        X is never densified whole). Any finite input is accepted; values
        outside the visible units' range are checked as in :meth:`transform`
        (BernoulliRBM: warned about, see ``check_range``).

        {X_params}

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
        method : {"auto", "exact", "ais", "both"}, default="auto"
            "exact" enumerates the smaller layer (at most 25 units);
            "ais" uses annealed importance sampling (Salakhutdinov and Murray
            2008); "auto" picks "exact" when it is possible; "both" runs
            forward AIS (which tends to overstate the log-likelihood) and
            reverse AIS (Burda, Grosse and Salakhutdinov 2015; tends to
            understate it), see :func:`rbmlib.likelihood.log_partition`.
        **ais_params
            Passed to :func:`rbmlib.likelihood.ais` (``n_runs``, ``betas``,
            ``base_rate`` -- give the training data here --, ``random_state``,
            ``target_ess``, ``verbose``: the estimator's ``verbose`` unless
            given, so that a verbose model reports the progress of AIS).

        Returns
        -------
        estimate : rbmlib.likelihood.PartitionEstimate or rbmlib.likelihood.BidirectionalEstimate
            ``log_z``, its standard error ``log_z_std``, the bounds
            ``log_z_lower``/``log_z_upper``, the ``method`` used and, for AIS,
            the effective sample size ``ess`` and the largest weight's share
            ``max_weight_share``; for "both", the ``forward`` and ``reverse``
            estimates.

        Raises
        ------
        ValueError
            If "exact" is asked for a model too large to enumerate.
        """
        check_is_fitted(self)
        ais_params.setdefault("verbose", self.verbose)
        return likelihood.log_partition(self, method, **ais_params)

    @_needs_free_energy
    @Substitution()
    def log_likelihood(self, X, log_z=None, **ais_params):
        """Log-likelihood of each sample, ``-F(x) - log Z``, in nats.

        {X_params}
        log_z : None, {"exact", "ais", "both"}, float or estimate, default=None
            How log Z is obtained: None is exact enumeration when the smaller
            layer has at most 25 units and AIS (base model fitted to X)
            otherwise; "both" forward and reverse AIS; or a value computed
            once with :meth:`log_partition`.
        **ais_params
            Passed to :func:`rbmlib.likelihood.ais` (``verbose``: the
            estimator's ``verbose`` unless given).

        Returns
        -------
        log_lik : ndarray of shape (n_samples,), or a tuple of two
            In nats (a log-density for Gaussian visible units); for "both"
            (or a :class:`rbmlib.likelihood.BidirectionalEstimate`) the pair
            ``(log_lik_forward, log_lik_reverse)``.

        Raises
        ------
        ValueError
            On bad input, as for :meth:`transform`.
        """
        X = self._check_fitted_X(X)
        ais_params.setdefault("verbose", self.verbose)
        return likelihood.log_likelihood(self, X, log_z=log_z, **ais_params)
