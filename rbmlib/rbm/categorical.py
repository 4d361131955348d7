"""Restricted Boltzmann Machine with categorical (softmax) visible units.

One K-way softmax group per input column and binary hidden units, the model
of Salakhutdinov, Mnih and Hinton (2007) for collaborative filtering (or
Gaussian or NReLU hidden units, ``hidden_units``, from :mod:`rbmlib.units`). The
shared machinery (transactional fit/partial_fit, epoch loop, Ctrl-C,
monitoring, divergence checks, pickling) is :class:`rbmlib.rbm._BaseRBM`;
the visible units are the unit table's categorical entry
(:func:`rbmlib.units.categorical_units`, built from ``offsets_``), so the free
energy is :func:`rbmlib.units.free_energy` and log Z, AIS and the
exact-or-AIS rule are :mod:`rbmlib.likelihood`'s; the arithmetic is in
:mod:`rbmlib._kernels.categorical`.

Internally the data are an int32 matrix of category codes of shape
``(n_samples, n_features_in_)`` with ``-1`` for a missing entry; the visible
layer is the concatenation of the one-hot groups (``V = sum_i K_i`` units).
"""

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from .. import likelihood
from .._blocks import is_dask_collection, lazy_method, mean_over_rows
from .._docstrings import Substitution
from .._kernels import categorical as _ck
from .._parallel import thread_limits
from .._params import ParamGroup, with_init
from ..units import VISIBLE_UNITS, categorical_units
from ._base import _BaseRBM
from ._categories import _CategoryEncoding
from ._common import _needs_free_energy, _row_blocks
from ._params import CENTERING, HIDDEN, OPTIMIZER, RBM_FIT, RBM_SIZE, TEMPERING
from ._state import _TrainState

__all__ = ["CategoricalRBM"]

def categorical_input_tags(tags):
    """``tags`` (scikit-learn's) of a transformer whose input is categorical columns:
    dense, strings and missing entries allowed, outputs floats whatever the input's
    dtype. CategoricalRBM's, and a DBN's over it."""
    tags.input_tags.sparse = False
    tags.input_tags.allow_nan = True
    tags.input_tags.categorical = True
    tags.input_tags.string = True
    tags.transformer_tags.preserves_dtype = []
    return tags


#: The parameters only CategoricalRBM has (between hidden_units and optimizer).
_OWN = ParamGroup(
    sample_visible=(True, ["boolean"]),
    visible_bias_init=("log_frequencies", [StrOptions({"zeros", "log_frequencies"})]),
    shuffle=(True, ["boolean"]),
    categories=("auto", [StrOptions({"auto"}), list]),
    missing_values=(np.nan, [Real, str, None]),
    handle_unknown=("error", [StrOptions({"error", "ignore"})]),
)


@with_init(RBM_SIZE, RBM_FIT.with_defaults(persistent=False), HIDDEN, _OWN, OPTIMIZER,
           TEMPERING, CENTERING)
@Substitution(learning_rate_default="0.1")
class CategoricalRBM(_CategoryEncoding, _BaseRBM,
                     visible_units=VISIBLE_UNITS["categorical"]):
    """RBM with categorical (softmax) visible units, trained by CD-k or persistent CD.

    Each input column is one group of ``K_i`` one-hot visible units of which
    exactly one is on (a softmax unit); the hidden units are binary by default
    (Salakhutdinov, Mnih and Hinton 2007; ``hidden_units`` gives the Gaussian
    and NReLU alternatives). With ``v`` the concatenated
    one-hot vector, the energy is ``E(v, h) = -b.v - c.h - h W v``, so

    * ``p(h_j = 1 | v) = sigmoid(c_j + W_j . v)`` (:meth:`transform`);
    * ``p(v_i = k | h) = softmax_k(b_ik + W_ik . h)`` over the categories of
      column ``i``;
    * free energy ``F(v) = -b.v - sum_j softplus(c_j + W_j . v)`` in nats.

    **Missing entries** (NaN, None, ``pd.NA`` or ``missing_values``) are
    absent from the row's RBM, as each user's RBM in the collaborative-filtering
    model has only the rated items: the group is off in the positive phase and
    not reconstructed in the negative phase, so it contributes nothing to any
    gradient (weight decay still shrinks its weights). :meth:`impute` fills
    them with the most probable category after one mean-field up-down pass.
    :meth:`free_energy`, :meth:`score_samples` and :meth:`transform` use the
    observed groups only; :meth:`log_likelihood` needs complete rows.

    **Persistent chains** (``persistent=True``) keep the hidden states between
    updates; the visible groups sampled from them are those observed in the
    row of the mini-batch the chain is paired with. The default is CD
    (``persistent=False``), as in the paper, because with missing entries
    each row has its own RBM.

    Parameters
    ----------
    {rbm_batch_params}
    verbose : int, default=0
        If non-zero, print one line per epoch (pseudo-likelihood, seconds,
        reconstruction error, time left).
    {rbm_sampling_params}
    persistent : bool, default=False
        Persistent CD (Tieleman 2008); False is CD-k (Hinton 2002), the
        default here because with missing entries each row has its own RBM.
    {rbm_update_params}
    {rbm_sampler_params}
    {rbm_hidden_units}

        With Gaussian hidden units the exact :meth:`log_partition`
        enumerates the ``prod_i K_i`` visible configurations (at most 2^25;
        "auto" uses AIS beyond).
    sample_visible : bool, default=True
        Sample the visible groups in the last Gibbs step (unbiased CD-k);
        False uses their softmax probabilities (mean field).
    visible_bias_init : {"log_frequencies", "zeros"}, default="log_frequencies"
        Initial visible biases: the log of each category's frequency among
        the observed training entries, smoothed by one pseudo-count per
        category (Hinton's practical guide, sec. 8, for softmax units), or 0.
    shuffle : bool, default=True
        Visit the training rows in a new random order every epoch of :meth:`fit`.
    categories : "auto" or list of array-like, default="auto"
        Categories of each column, as in
        :class:`sklearn.preprocessing.OneHotEncoder`: "auto" takes the sorted
        distinct observed values of the training data; a list gives
        ``categories[i]`` for column ``i`` (unique; numeric ones sorted).
        Missing values are never categories.
    missing_values : int, float, str, np.nan or None, default=np.nan
        Value marking a missing entry, besides NaN, None and ``pd.NA``, which
        are always missing (as in :class:`sklearn.impute.SimpleImputer`).
    handle_unknown : {"error", "ignore"}, default="error"
        A category not in ``categories_`` met after the first fit: "error"
        raises a ValueError naming the column and values; "ignore" treats
        the entry as missing (it is then imputed by :meth:`impute`).
    {rbm_optimizer_params}

    Attributes
    ----------
    categories_ : list of ndarray
        ``categories_[i]`` are the categories of column ``i`` (``K_i`` values),
        in the order of the one-hot units.
    components_ : ndarray of shape (n_components, sum of K_i), float64
        Weights ``W``; columns ``offsets_[i]:offsets_[i + 1]`` belong to column ``i``.
    intercept_hidden_ : ndarray of shape (n_components,), float64
        Hidden biases ``c``.
    intercept_visible_ : ndarray of shape (sum of K_i,), float64
        Visible biases ``b``.
    offsets_ : ndarray of shape (n_features_in_ + 1,), int64
        Boundaries of the one-hot groups.
    {rbm_chain_attrs}
    n_features_in_ : int
        Number of input columns (softmax groups).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has feature names that are all strings.
    history_ : list of dict
        One entry per epoch: ``epoch``, ``reconstruction_error``,
        ``pseudo_log_likelihood`` (nats, summed over observed groups, on up to
        10 monitored training rows), ``seconds`` and ``free_energy_gap`` with
        ``validation_fraction``.

    See Also
    --------
    rbmlib.BernoulliRBM : binary visible units.
    sklearn.preprocessing.OrdinalEncoder : integer codes of categories.

    References
    ----------
    R. Salakhutdinov, A. Mnih and G. Hinton, "Restricted Boltzmann machines
    for collaborative filtering", ICML 2007.

    R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep
    belief networks", ICML 2008 (AIS).

    {rbm_refs}

    Examples
    --------
    >>> import numpy as np
    >>> from rbmlib import CategoricalRBM
    >>> X = np.array([[0, 1, 2], [1, 0, 2], [0, 1, 0], [2, 0, 1]])
    >>> model = CategoricalRBM(n_components=4, random_state=0).fit(X)
    >>> model.transform(X).shape
    (4, 4)
    >>> model.impute([[0, np.nan, 2]]).shape
    (1, 3)
    """

    _parameter_constraints: dict = {**_BaseRBM._parameter_constraints, **_OWN.constraints}

    # ------------------------------------------------------------------ input
    def _validate_X(self, X, reset, training=None):
        cols = self._columns(X, reset)
        if reset:
            self._fit_categories(cols)
        self._check_missing_not_category()
        return self._encode(cols)

    def _check_fitted_X(self, X):
        check_is_fitted(self)
        return self._validate_X(X, reset=False)

    # -------------------------------------------------------- dask arrays
    def _fit_dask(self, X):
        with self._categories_of_all_chunks(X):
            return super()._fit_dask(X)

    @Substitution()
    def partial_fit(self, X, y=None):
        """Run one pass of CD updates over X in mini-batches of batch_size.

        As :meth:`rbmlib.BernoulliRBM.partial_fit`: the call is atomic (on
        error or KeyboardInterrupt the model is left as it was). The first
        call sets ``categories_``; with ``categories="auto"`` and a dask X
        they are the observed values of all its chunks (one reading pass
        before training), as for the same data in memory.

        Parameters
        ----------
        X : array-like, DataFrame or dask array of shape (n_samples, n_features)
            Categories, NaN/None or ``missing_values`` for missing entries. A
            dask array is read chunk by chunk, in order; all its chunks are
            applied or, if one fails, none.
        {unsupervised_fit_returns}

        Raises
        ------
        ValueError
            On bad input (wrong columns, an unknown category with
            ``handle_unknown="error"``, a column without an observed value) or
            bad parameters.
        KeyboardInterrupt
            If interrupted (the model is as before the call).
        """
        if is_dask_collection(X) and not hasattr(self, "components_"):
            with self._categories_of_all_chunks(X):
                return super().partial_fit(X, y)
        return super().partial_fit(X, y)

    @property
    def _visible_units(self):
        """The categorical :class:`rbmlib.units.VisibleUnits` of the fitted groups
        (``offsets_``; the unit table's entry, without groups, before fitting)."""
        return categorical_units(self.__dict__.get("offsets_"))

    def _onehot(self, codes, dtype=np.float64):
        """One-hot matrix (n, V) of codes; missing groups all zero."""
        return self._visible_units.onehot(codes, dtype)

    def _onehot_csr(self, codes, dtype=np.float64):
        """The one-hot rows (n, V) of codes as a CSR matrix: one stored 1 per observed
        entry (``n G`` values at most), never the dense ``n V``, which for a column of
        thousands of categories is far larger than anything computed from it."""
        codes = np.asarray(codes)
        obs = codes >= 0
        indices = (codes + self.offsets_[:-1])[obs]  # row-major: rows in order
        indptr = np.zeros(codes.shape[0] + 1, dtype=np.int64)
        np.cumsum(obs.sum(axis=1), out=indptr[1:])
        return sp.csr_matrix((np.ones(indices.shape[0], dtype), indices, indptr),
                             shape=(codes.shape[0], int(self.offsets_[-1])))

    def _category_frequencies(self, codes):
        """Mean of each one-hot column over the rows of codes (n, G), shape (V,)."""
        obs = codes >= 0
        counts = np.bincount((codes + self.offsets_[:-1])[obs],
                             minlength=int(self.offsets_[-1]))
        return counts / codes.shape[0]

    def _visible_input(self, X, P=None):
        return self._onehot_csr(X)

    def _visible_row_blocks(self, n):
        """Row blocks over which a dense (rows, V) array stays bounded."""
        return _row_blocks(n, max(int(self.offsets_[-1]), int(self.n_components)))

    def _saturation_applies(self, X_monitor):
        return True  # one-hot inputs are in [0, 1]

    # --------------------------------------------------------------- training
    def _init_state(self, X, rows, rng):
        codes = X if rows is None else X[rows]
        H = self.n_components
        V = int(self.offsets_[-1])
        dtype = np.float64
        W = np.ascontiguousarray(rng.normal(0.0, 0.01, (H, V)).astype(dtype))
        n_rows = codes.shape[0]
        b = self._visible_units.init_bias(self._category_frequencies(codes).astype(dtype),
                                          self.visible_bias_init, n_rows)
        return _TrainState(
            W=W, c=np.zeros(H, dtype), b=b, sigma=np.ones(V, dtype),
            vW=np.zeros_like(W), vc=np.zeros(H, dtype), vb=np.zeros(V, dtype),
            hchain=np.zeros((min(self.batch_size, n_rows), H), dtype),
            sparse_q=np.full(H, self.sparsity_target, dtype),
            n_updates=0, n_iter=0, history=[],
            seed=int(rng.randint(0, 2**63 - 1, dtype=np.int64)),
        )

    def _scratch(self, B, H, V, dtype):
        """The CD kernels' scratch, with the mini-batch's category codes."""
        G = self.offsets_.shape[0] - 1
        return super()._scratch(B, H, V, dtype)[:5] + (np.zeros((B, G), np.int32),)

    def _cd_source(self, X, dtype):
        """Category codes, one-hot encoded by the categorical units' CD epoch kernel."""
        return _ck.cd_epoch, X, self.offsets_

    # ------------------------------------------------------------- inference
    def _sample_visibles(self, h, rng):
        """Sampled codes (n, G) given hidden states (the unit table's sampler)."""
        return self._visible_units.codes(super()._sample_visibles(h, rng))

    def _reconstruction_error(self, X, P=None):
        # the reconstruction is dense (rows, V): blocks of rows bounded in V
        out = np.empty(X.shape[0])
        for start, stop in self._visible_row_blocks(X.shape[0]):
            out[start:stop] = self._reconstruction_error_block(X[start:stop], P)
        return out

    def _reconstruction_error_block(self, X, P):
        # squared error over the one-hot units of the observed groups, per observed group
        v = self._onehot(X)
        r = self._visible_means(self._mean_hiddens(X, P), P)
        obs = (X >= 0)
        mask = np.repeat(obs, np.diff(self.offsets_), axis=1)
        err = (((v - r) ** 2) * mask).sum(axis=1)
        return err / np.maximum(obs.sum(axis=1), 1)

    def _free_energy(self, X, P=None):
        return self._blockwise(X, self._free_energy_block, P)

    def _free_energy_block(self, X, P):
        # rbmlib.units.free_energy of the one-hot rows
        return super()._free_energy_block(self._onehot_csr(X), P)

    def _score_samples(self, X, P=None):
        return self._blockwise(X, self._score_samples_block, P)

    def _score_samples_block(self, X, P):
        W, c, b, _ = self._params(P)
        pre = np.ascontiguousarray(self._hidden_pre(self._visible_input(X), P))
        out = np.empty(X.shape[0])
        with thread_limits(self.n_jobs):
            _ck.pseudo_loglik(np.ascontiguousarray(X), self.offsets_, pre,
                              np.ascontiguousarray(W.T), np.ascontiguousarray(b), out,
                              int(self._hidden_unit().kernel_id))
        return out

    @_needs_free_energy
    @Substitution()
    def free_energy(self, X):
        """Free energy ``F(v) = -b.v - sum_j softplus(c_j + W_j . v)`` of each row.

        Missing entries are absent from the row's RBM (their one-hot units are 0).

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features_in_)
            Categories (see ``categories_``), NaN/None or ``missing_values`` for
            missing entries.

        Returns
        -------
        F : ndarray of shape (n_samples,), float64
            In nats; ``p(v) = exp(-F(v)) / Z`` for complete rows.

        {not_fitted_raises}
        ValueError
            If X has the wrong number of columns or an unknown category
            (with ``handle_unknown="error"``).
        """
        X = self._check_fitted_X(X)
        return self._free_energy(X)

    @_needs_free_energy
    @Substitution()
    def score_samples(self, X):
        """Pseudo-log-likelihood of each row, summed over its observed columns, in nats.

        ``sum_i log p(v_i | v_-i)`` over the observed columns ``i``, where
        ``log p(v_i | v_-i) = -F(v) - logsumexp_k -F(v with column i set to
        category k)`` (Besag 1975). As :meth:`rbmlib.BernoulliRBM.score_samples`
        every column is computed (exact, no random state) and the terms are
        summed (scikit-learn's scale); divide by the number of observed
        entries for a per-entry value. Costs O(V H) per row.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features_in_)

        Returns
        -------
        pll : ndarray of shape (n_samples,), float64
            Non-positive, in nats.

        {not_fitted_raises}
        ValueError
            As for :meth:`free_energy`.

        References
        ----------
        {pseudo_likelihood_ref}
        """
        X = self._check_fitted_X(X)
        return self._score_samples(X)

    @_needs_free_energy
    @Substitution()
    def score(self, X, y=None):
        """Mean of :meth:`score_samples` (pseudo-log-likelihood) over the rows, in nats.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features_in_)
        {unsupervised_score_returns}
        """
        if is_dask_collection(X):
            return mean_over_rows(self, "score_samples", X)
        return float(np.mean(self.score_samples(X)))

    @Substitution()
    def transform(self, X):
        """Hidden-unit probabilities ``p(h_j = 1 | v)`` of each row.

        Parameters
        ----------
        X : array-like, DataFrame or dask array of shape (n_samples, n_features_in_)
            Missing entries are absent (contribute 0 to the hidden input).

        Returns
        -------
        h : ndarray of shape (n_samples, n_components), float64
            For a dask X, a lazy dask array with X's row chunks.

        {not_fitted_raises}
        ValueError
            As for :meth:`free_energy`.
        """
        if is_dask_collection(X):
            return lazy_method(self, "transform", X)
        X = self._check_fitted_X(X)
        with thread_limits(self.n_jobs):
            return self._mean_hiddens(X)

    def _decode(self, codes):
        """Categories (n, G) of codes (no missing)."""
        cats = self.categories_
        kinds = {c.dtype.kind for c in cats}
        if kinds <= set("biuf"):
            dtype = np.result_type(*[c.dtype for c in cats])
        else:
            dtype = object
        out = np.empty(codes.shape, dtype=dtype)
        for g, c in enumerate(cats):
            out[:, g] = c[codes[:, g]]
        return out

    def predict_proba_visible(self, X):
        """Probabilities of every category of every column after one mean-field up-down pass.

        ``p(v_i = k | h = p(h | v_obs))``: the hidden probabilities given the
        observed entries, then each column's softmax.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features_in_)

        Returns
        -------
        proba : list of ndarray
            ``proba[i]`` of shape (n_samples, K_i), float64, rows summing to 1,
            columns in the order of ``categories_[i]``.

        Raises
        ------
        NotFittedError, ValueError
            As for :meth:`transform`.
        """
        X = self._check_fitted_X(X)
        p = np.empty((X.shape[0], int(self.offsets_[-1])))
        for start, stop in self._visible_row_blocks(X.shape[0]):
            p[start:stop] = self._visible_means(self._mean_hiddens(X[start:stop]))
        return [p[:, self.offsets_[g]:self.offsets_[g + 1]] for g in range(X.shape[1])]

    def impute(self, X):
        """Fill the missing entries of X with the most probable category.

        One mean-field up-down pass: ``h = p(h | v_obs)`` from the observed
        entries, then for each missing entry the category with the highest
        ``p(v_i = k | h)``. Observed entries are returned unchanged.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features_in_)
            Missing entries are NaN, None, ``pd.NA`` or ``missing_values``
            (and unknown categories with ``handle_unknown="ignore"``).

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features_in_)
            Categories (a numeric dtype when all categories are numbers,
            object otherwise).

        Raises
        ------
        NotFittedError, ValueError
            As for :meth:`transform`.
        """
        codes = self._check_fitted_X(X)
        filled = codes.copy()
        for start, stop in self._visible_row_blocks(codes.shape[0]):
            rows = codes[start:stop]
            with thread_limits(self.n_jobs):
                p = self._visible_means(self._mean_hiddens(rows))
            for g in range(codes.shape[1]):
                miss = rows[:, g] < 0
                if miss.any():
                    filled[start + np.flatnonzero(miss), g] = np.argmax(
                        p[miss, self.offsets_[g]:self.offsets_[g + 1]], axis=1)
        return self._decode(filled)

    @Substitution()
    def inverse_transform(self, X):
        """Most probable category of each column given hidden states or probabilities.

        ``argmax_k p(v_i = k | h)`` with ``h = X`` (e.g. the output of
        :meth:`transform`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Hidden states or probabilities.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
            Categories.

        {not_fitted_raises}
        ValueError
            If X does not have ``n_components`` columns or is not finite.
        """
        check_is_fitted(self)
        h = check_array(X, dtype=np.float64)
        if h.shape[1] != self.components_.shape[0]:
            raise ValueError(f"X has {h.shape[1]} columns; inverse_transform expects "
                             f"n_components={self.components_.shape[0]} hidden values.")
        p = self._visible_means(h)
        codes = np.column_stack([
            np.argmax(p[:, self.offsets_[g]:self.offsets_[g + 1]], axis=1)
            for g in range(len(self.offsets_) - 1)])
        return self._decode(codes)

    def gibbs(self, v):
        """One Gibbs step v -> h -> v', sampling both layers.

        Missing entries of ``v`` are absent in the up pass; every column is
        sampled in the down pass.

        Parameters
        ----------
        v : array-like or DataFrame of shape (n_samples, n_features_in_)

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features_in_)
            Sampled categories.
        """
        return self._decode(self._gibbs_step(v))

    # ------------------------------------------------------------- likelihood
    def _likelihood_data(self, X):
        """One-hot float64 states (n, V), CSR, of categories X (None stays None)."""
        return None if X is None else self._onehot_csr(self._check_fitted_X(X))

    @_needs_free_energy
    @Substitution()
    def log_partition(self, method="auto", **ais_params):
        """Log partition function ``log Z`` of the model, in nats.

        :func:`rbmlib.likelihood.log_partition` with the model's categorical
        units (the rule every RBM uses). Exact: the layer with fewer states is
        enumerated, the ``2^n_components`` hidden states (each softmax group
        summed out, ``log Z = logsumexp_h [c.h + sum_i logsumexp_k (b_ik +
        W_ik . h)]``) or the ``prod_i K_i`` visible configurations (the hidden
        units summed or, Gaussian ones, integrated out, ``logsumexp_v -F(v)``),
        at most ``2^25`` states (Numba, parallel). AIS: forward annealed
        importance sampling from a base model of independent softmaxes
        (biases ``log`` of the category frequencies of ``base_rate``, smoothed
        by one pseudo-count; uniform when None) to the RBM, one Gibbs sweep per
        inverse temperature; Gaussian hidden units are ``N(beta x, 1)`` at
        inverse temperature ``beta``.

        Parameters
        ----------
        method : {"auto", "exact", "ais", "both"}, default="auto"
            "auto" is "exact" when the enumerated layer has at most ``2^25``
            states, else "ais"; "both" is forward and reverse AIS
            (:func:`rbmlib.likelihood.log_partition`).
        **ais_params
            Passed to :func:`rbmlib.likelihood.ais`, as for the other RBMs
            (``n_runs``, ``betas``, ``reverse``, ``random_state``, ``init``,
            ``n_burn_in``, ``pt_betas``, ``target_ess``, ``grow``,
            ``max_doublings``, ``verbose``: the estimator's ``verbose`` unless
            given). Data are given as categories, as to :meth:`fit`:
            ``base_rate`` of shape ``(n_samples, n_features_in_)`` (missing
            entries allowed; typically the training data) and an array ``init``
            of shape ``(n_runs, n_features_in_)`` (complete rows: reverse AIS's starting
            states), which are encoded as the units' one-hot rows.

        Returns
        -------
        estimate : rbmlib.likelihood.PartitionEstimate or rbmlib.likelihood.BidirectionalEstimate
            ``log_z`` (nats), ``log_z_std``, the ``method`` used and, for AIS,
            its diagnostics; for "both", the ``forward`` and ``reverse``
            estimates.

        {not_fitted_raises}
        ValueError
            If ``method`` is unknown, "exact" is asked with more than ``2^25``
            states in both layers, ``n_runs < 2``, ``betas`` is invalid or
            ``base_rate`` or ``init`` has unknown categories (or ``init`` a
            missing entry).
        TypeError
            If ``ais_params`` has a name :func:`rbmlib.likelihood.ais` does not take.
        FreeEnergyUndefinedError
            With ``hidden_units="nrelu"`` (no closed-form free energy).

        References
        ----------
        R. M. Neal, "Annealed importance sampling", Statistics and Computing
        11(2), 2001. R. Salakhutdinov and I. Murray, "On the quantitative
        analysis of deep belief networks", ICML 2008.
        """
        check_is_fitted(self)
        params = dict(ais_params)
        params.setdefault("verbose", self.verbose)
        if method != "exact":
            params["base_rate"] = self._likelihood_data(params.get("base_rate"))
            init = params.get("init")
            if init is not None and not isinstance(init, str):
                params["init"] = self._likelihood_data(init).toarray()
        with thread_limits(self.n_jobs):
            return likelihood.log_partition(self, method, **params)

    @_needs_free_energy
    def log_likelihood(self, X, log_z=None, **ais_params):
        """Log-likelihood ``log p(v) = -F(v) - log Z`` of each complete row, in nats.

        :func:`rbmlib.likelihood.log_likelihood` of the one-hot rows.

        Parameters
        ----------
        X : array-like or DataFrame of shape (n_samples, n_features_in_)
            Complete rows (no missing entry).
        log_z : None, {"exact", "ais", "both"}, float or estimate, default=None
            None: exact when the enumerated layer has at most ``2^25`` states,
            else AIS with ``base_rate=X`` unless given; a string: that method
            ("both": the pair of log-likelihoods by forward and reverse AIS);
            a number or an estimate: used as given.
        **ais_params
            Passed to :func:`rbmlib.likelihood.ais` (``n_runs``, ``betas``,
            ``base_rate`` (categories), ``random_state``).

        Returns
        -------
        log_lik : ndarray of shape (n_samples,), float64
            Nats.

        Raises
        ------
        ValueError
            If X has a missing entry (the marginal over missing softmax groups
            has no closed form), or as for :meth:`free_energy` and
            :meth:`log_partition`.
        TypeError
            If ``ais_params`` has a name :func:`rbmlib.likelihood.ais` does not take.
        """
        codes = self._check_fitted_X(X)
        if (codes < 0).any():
            r, g = np.argwhere(codes < 0)[0]
            raise ValueError(
                f"log_likelihood needs complete rows; X has a missing entry (row {r}, "
                f"column {g}). Use score_samples, or impute first.")
        params = dict(ais_params)
        if "base_rate" in params:
            params["base_rate"] = self._likelihood_data(params["base_rate"])
        with thread_limits(self.n_jobs):
            return likelihood.log_likelihood(self, self._onehot_csr(codes), log_z=log_z,
                                             **params)

    def __sklearn_tags__(self):
        return categorical_input_tags(super().__sklearn_tags__())
