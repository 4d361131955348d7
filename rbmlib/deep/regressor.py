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
from ._docs import _NETWORK_ATTRS_DOC, _NETWORK_PARAMS_DOC, _NETWORK_REFS_DOC
from ._network import _BaseDBNNetwork
from .classifier import _check_fit_sample_weight


class DBNRegressor(RegressorMixin, _BaseDBNNetwork):
    __doc__ = (
        """Deep Belief Network regressor: greedy pretraining, then back-propagation.

    ``fit`` pretrains a :class:`DBN` on X, copies its weights into a network
    with logistic hidden units and a fresh identity output layer (one unit
    per target), and fine-tunes it by minimising half the squared error.
    The targets are standardised internally (each column to mean 0 and
    standard deviation 1; ``loss_curve_``, ``coefs_[-1]`` and
    ``intercepts_[-1]`` are in those units) and predictions are mapped back
    to the units of y, so large targets need no rescaling.
"""
        + _NETWORK_PARAMS_DOC
        + """

    Attributes
    ----------"""
        + _NETWORK_ATTRS_DOC
        + "\n"
        + _NETWORK_REFS_DOC
        + """

    Examples
    --------
    >>> import numpy as np
    >>> from rbmlib import DBNRegressor
    >>> X = np.random.RandomState(0).rand(50, 4)
    >>> reg = DBNRegressor((8,), n_iter_pretrain=2, max_iter=5, random_state=0)
    >>> reg.fit(X, X.sum(axis=1)).predict(X[:3]).shape
    (3,)
    """
    )

    def __init__(
        self,
        hidden_layer_sizes=(256, 256),
        *,
        first_layer="auto",
        hidden_units="bernoulli",
        dbn=None,
        n_iter_pretrain="auto",
        learning_rate_pretrain=None,
        batch_size_pretrain=10,
        pretrain_params=None,
        solver="adam",
        learning_rate_init="auto",
        learning_rate="constant",
        power_t=0.5,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        alpha=1e-5,
        batch_size="auto",
        max_iter=200,
        dropout=0.0,
        input_dropout=0.0,
        shuffle=True,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        activation="auto",
        negative_slope=0.01,
        alpha_l1=0.0,
        rho=0.9,
        warm_start=False,
        verbose=0,
        random_state=None,
        n_jobs=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.first_layer = first_layer
        self.hidden_units = hidden_units
        self.dbn = dbn
        self.n_iter_pretrain = n_iter_pretrain
        self.learning_rate_pretrain = learning_rate_pretrain
        self.batch_size_pretrain = batch_size_pretrain
        self.pretrain_params = pretrain_params
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.power_t = power_t
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.shuffle = shuffle
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.activation = activation
        self.negative_slope = negative_slope
        self.alpha_l1 = alpha_l1
        self.rho = rho
        self.warm_start = warm_start
        self.validation_fraction = validation_fraction
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Pretrain on X, then fine-tune on (X, y).

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Training data (in [0, 1] for a Bernoulli first layer; integer
            codes or a DataFrame of categories for a categorical one).
            A dask array (y and ``sample_weight`` dask or NumPy) or a
            ``numpy.memmap`` is accepted. What is streamed and what is held:
            greedy pretraining streams X through the DBN's row blocks
            (``pretrain_params={"block_size": ...}``, default "auto": a dask
            array's own row chunks, or 2**22-element blocks of a memmap larger
            than that; see :class:`DBN`), so no layer's representation of the
            whole data set is ever built. Fine-tuning then holds X in memory:
            a dask X is computed one row chunk at a time (on the cluster when
            a ``dask.distributed.Client`` is active) into one preallocated
            NumPy array of ``n_samples * n_features`` elements of X's dtype
            (no second copy); a memmap goes to fine-tuning as an ordinary
            array. A dask X thus needs its full size in memory for
            fine-tuning only, and the model equals the fit on the same rows
            in memory with the same integer ``block_size`` and
            ``random_state``, bit for bit.
        y : array-like or dask array of shape (n_samples,) or (n_samples, n_targets)
            Target values (several columns: multi-output regression, one
            identity output per target).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights of the fine-tuning loss and of the
            validation score; pretraining ignores them.

        Returns
        -------
        self : DBNRegressor

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
    def partial_fit(self, X, y, sample_weight=None):
        """One fine-tuning epoch over (X, y), as scikit-learn's MLPRegressor.partial_fit.

        The first call builds the network as :meth:`fit` does (pretraining
        on this first X unless ``n_iter_pretrain=0`` or a fitted ``dbn``)
        and fixes the target standardisation from this first y; every call
        runs one epoch, continuing the optimiser's state. A call that raises
        leaves the estimator as it was.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : DBNRegressor

        Raises
        ------
        ValueError
            On bad input, a different number of targets than the first
            call's, or with ``early_stopping=True``.
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
        if cont and getattr(self, "_y_mean", None) is not None:
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
        mean = getattr(self, "_y_mean", None)  # absent in models pickled before 0.x
        if mean is None:
            return P
        return P * self._y_scale + mean

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

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
        mlp = self._sklearn_mlp(MLPRegressor)
        if getattr(self, "_y_mean", None) is not None:
            # fold the target scaling into the output layer
            mlp.coefs_[-1] = mlp.coefs_[-1] * self._y_scale
            mlp.intercepts_[-1] = mlp.intercepts_[-1] * self._y_scale + self._y_mean
        return mlp

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
