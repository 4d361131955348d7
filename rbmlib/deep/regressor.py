"""Deep Belief Network regressor: greedy layer-wise pretraining, then fine-tuning.
"""


import numpy as np
from sklearn.base import (
    RegressorMixin,
    _fit_context,
)
from sklearn.metrics import r2_score
from sklearn.preprocessing._data import _handle_zeros_in_scale
from sklearn.utils.validation import (
    check_is_fitted,
)

from .._blocks import is_dask_collection, lazy_method
from .._docstrings import Substitution
from ._export import to_sklearn_mlp
from ._network import _BaseDBNNetwork
from .classifier import _check_fit_sample_weight


@Substitution()
class DBNRegressor(RegressorMixin, _BaseDBNNetwork):
    """Deep Belief Network regressor: greedy pretraining, then back-propagation.

    ``fit`` pretrains a :class:`DBN` on X, copies its weights into a network
    with logistic hidden units and a fresh identity output layer (one unit
    per target), and fine-tunes it by minimising half the squared error.
    The targets are standardised internally (each column to mean 0 and
    standard deviation 1; ``loss_curve_``, ``coefs_[-1]`` and
    ``intercepts_[-1]`` are in those units) and predictions are mapped back
    to the units of y, so large targets need no rescaling.

    Parameters
    ----------
    {network_params}

    Attributes
    ----------
    {network_attrs}

    {network_refs}

    Examples
    --------
    >>> import numpy as np
    >>> from rbmlib import DBNRegressor
    >>> X = np.random.RandomState(0).rand(50, 4)
    >>> reg = DBNRegressor((8,), n_iter_pretrain=2, max_iter=5, random_state=0)
    >>> reg.fit(X, X.sum(axis=1)).predict(X[:3]).shape
    (3,)
    """

    #: The standardisation of the targets, ``(y - _y_mean) / _y_scale``, set by every
    #: fit; None (networks pickled before it): the outputs are in the units of y.
    _y_mean = None

    @_fit_context(prefer_skip_nested_validation=False)
    @Substitution()
    def fit(self, X, y, sample_weight=None):
        """Pretrain on X, then fine-tune on (X, y).

        Parameters
        ----------
        {network_fit_X}
        y : array-like or dask array of shape (n_samples,) or (n_samples, n_targets)
            Target values (several columns: multi-output regression, one
            identity output per target).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights of the fine-tuning loss and of the
            validation score; pretraining ignores them.

        {fit_returns}

        Raises
        ------
        ValueError
            On bad input (NaN/inf in X or y, 1-D X, empty, inconsistent
            lengths) or when training diverges (``DivergenceError``).
        TypeError
            If ``dbn`` is not a :class:`DBN`.
        KeyboardInterrupt
            If interrupted before a fine-tuning epoch completed (see
            :meth:`DBNClassifier.fit` for what Ctrl-C does).

        Notes
        -----
        A fit that raises leaves the estimator as it was; Ctrl-C behaves as
        in :meth:`DBNClassifier.fit`.
        """
        return self._atomic_fit(X, y, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=False)
    @Substitution()
    def partial_fit(self, X, y, sample_weight=None):
        """One fine-tuning epoch over (X, y), as scikit-learn's MLPRegressor.partial_fit.

        The first call builds the network as :meth:`fit` does (pretraining
        on this first X unless ``n_iter_pretrain=0`` or a fitted ``dbn``)
        and fixes the target standardisation from this first y; every call
        runs one epoch, continuing the optimiser's state. A call that raises
        leaves the estimator as it was.

        {X_params}
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None

        {fit_returns}

        Raises
        ------
        ValueError
            On bad input, a different number of features or targets than
            the first call's, or with ``early_stopping=True``.
        """
        return self._atomic_fit(X, y, sample_weight=sample_weight, incremental=True)

    def _fit(self, X, y, sample_weight=None, incremental=False):
        inner = self._check_settings()
        cont = hasattr(self, "coefs_") and (incremental or self.warm_start)
        X, y, sample_weight, X_dask = self._dask_inputs(X, y, sample_weight)
        X, y, X_pre, enc = self._validate_fit_input(
            X, y, X_dask, inner, not (incremental and cont), cont, multi_output=True,
            y_numeric=True)
        sample_weight = _check_fit_sample_weight(sample_weight, X)
        Y = np.asarray(y, dtype=np.float64)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if cont and self._y_mean is not None:
            # continue the fitted network: keep its target units
            if Y.shape[1] != self._y_mean.shape[0]:
                raise ValueError(f"y has {Y.shape[1]} targets; the network was fitted on "
                                 f"{self._y_mean.shape[0]}.")
            mean = self._y_mean.astype(np.float64)
            scale = self._y_scale.astype(np.float64)
        else:
            # standardise the targets: the network learns (y - mean) / scale
            mean = Y.mean(axis=0)
            scale = _handle_zeros_in_scale(Y.std(axis=0))
        Ys = ((Y - mean) / scale).astype(X.dtype)
        extra = {"_y_1d": np.asarray(y).ndim == 1, "_y_mean": mean.astype(X.dtype),
                 "_y_scale": scale.astype(X.dtype), "_encoder": enc}
        state = self._fit_network(
            X, X, Ys, "identity", lambda Yt, P, sample_weight=None: r2_score(
                Yt, P, sample_weight=sample_weight),
            None, inner, extra, sample_weight=sample_weight, incremental=incremental,
            X_pretrain=X_pre)
        return self._set_state(state)

    def _unscale(self, P):
        if self._y_mean is None:
            return P
        return P * self._y_scale + self._y_mean

    @Substitution()
    def predict(self, X):
        """Predicted targets.

        {X_params}

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
            One column per target, in the units of y; 1-D when fitted on a
            1-D y.
        """
        if is_dask_collection(X):
            return lazy_method(self, "predict", X)
        P = self._unscale(self._forward(self._validate_X_predict(X)))
        if self._y_1d:
            return P.ravel()
        return P

    def to_sklearn(self):
        """An equivalent fitted :class:`sklearn.neural_network.MLPRegressor`.

        Same weights and hidden activation, identity outputs; its
        ``predict`` agrees with this model's (up to float rounding). See
        :meth:`DBNClassifier.to_sklearn`.

        Raises
        ------
        ValueError
            As :meth:`DBNClassifier.to_sklearn`.

        Returns
        -------
        mlp : MLPRegressor
        """
        from sklearn.neural_network import MLPRegressor

        check_is_fitted(self)
        mlp = to_sklearn_mlp(self, MLPRegressor)
        if self._y_mean is not None:
            # fold the target scaling into the output layer
            mlp.coefs_[-1] = mlp.coefs_[-1] * self._y_scale
            mlp.intercepts_[-1] = mlp.intercepts_[-1] * self._y_scale + self._y_mean
        return mlp

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
