"""Discriminative fine-tuning of a Deep Boltzmann Machine (Salakhutdinov and Hinton 2009, sec. 5).

:class:`DBMClassifier` turns a fitted :class:`~rbmlib.DBM` into a feed-forward
network: each input ``v`` is augmented with its mean-field posterior
``q(h_2 | v)``, the first hidden layer takes ``v`` through ``W_1`` and
``q(h_2 | v)`` through ``W_2^T`` (the top-down input that mean field gives
it), the layers above take ``W_2, ..., W_K`` and a softmax (logistic for two
classes) output layer is added; the network is fine-tuned by
back-propagation. For a 2-layer DBM the first forward pass is the mean-field
update of both hidden layers at the fixed point, so it returns
``q(h_2 | v)`` itself.

The classifier is the network base's (:class:`rbmlib.deep._network._BaseNetwork`,
with the labels of :class:`rbmlib.deep.classifier._NetworkClassifier`): this
module supplies only the model hooks, the DBM fitted inside and the input map
``X -> [X, q(h_2 | X)]``.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.base import _fit_context, clone
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_is_fitted

from .._docstrings import Substitution
from .._params import ParamGroup, with_init
from ..mlp import glorot_uniform
from ._params import ACTIVATION, FINE_TUNING, FINE_TUNING_MORE, RUN, SEMI_SUPERVISED
from .classifier import _NetworkClassifier
from .dbm import DBM, _check_layer_sizes

__all__ = ["DBMClassifier"]


#: The DBM the network starts from: given, or fitted inside with these settings.
_DBM_MODEL = ParamGroup(
    hidden_layer_sizes=((256, 256), ["array-like"]),
    dbm=(None, [None, HasMethods(["fit", "transform"])]),
    dbm_params=(None, [None, dict]),
)


@Substitution()
@with_init(_DBM_MODEL,
           FINE_TUNING.with_defaults(alpha=0.0, batch_size=200),
           ACTIVATION, FINE_TUNING_MORE, SEMI_SUPERVISED, RUN.with_defaults(n_jobs=1))
class DBMClassifier(_NetworkClassifier):
    """Classifier fine-tuned from a Deep Boltzmann Machine (Salakhutdinov and Hinton 2009).

    Fits a :class:`~rbmlib.DBM` on X (or uses the one given), builds the
    network of the paper's section 5 from it and fine-tunes it by
    back-propagation with the cross-entropy loss:

    * the input is ``[v, q(h_2 | v)]``, ``q`` the DBM's mean-field posterior
      of its second hidden layer (computed with the DBM fixed, once per fit
      or ``partial_fit`` call and per prediction);
    * hidden layer 1 has weights ``[W_1; W_2^T]`` and the DBM's biases of
      layer 1, hidden layer ``k >= 2`` weights ``W_k`` and biases ``b_k``
      (logistic units); the output layer starts from Glorot-uniform weights.

    For a 2-layer DBM the first forward pass equals the mean-field
    posteriors: layer 1 computes ``sigmoid(b_1 + v W_1 + q_2 W_2^T) = q_1`` and
    layer 2 ``sigmoid(b_2 + q_1 W_2) = q_2`` at the fixed point. Above two
    layers, layers 3 and up have no top-down input (as in a DBN's up-pass).

    Fine-tuning is that of :class:`~rbmlib.DBNClassifier` (the same network
    base): its optimisers, dropout, early stopping, ``partial_fit``
    (continuing the optimiser's state), ``warm_start``, Ctrl-C keeping the
    completed epochs, multilabel y and unlabelled rows (``unlabeled_label``:
    they take part in the DBM's training, and with
    ``unlabeled_entropy_weight > 0`` in fine-tuning).

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default=(256, 256)
        Hidden layers of the DBM fitted inside (at least two; ignored when
        ``dbm`` is given).
    dbm : DBM, default=None
        A fitted DBM is used as it is (not refitted); an unfitted one is
        cloned and fitted on X. None: ``DBM(hidden_layer_sizes, **dbm_params)``.
        ``clone`` (and so GridSearchCV, cross_validate) clones a fitted DBM
        into an unfitted one, refitted in every fold; wrapped in
        :class:`sklearn.frozen.FrozenEstimator` it survives ``clone`` and is
        shared by the folds.
    dbm_params : dict, default=None
        Parameters of the DBM fitted inside (``n_iter``, ``n_iter_pretrain``,
        ...); ``random_state``, ``n_jobs`` and ``verbose`` default to this
        estimator's.
    solver : {"sgd", "adagrad", "rmsprop", "adam"}, default="adam"
        Optimiser of fine-tuning (:mod:`rbmlib.optim`).
    learning_rate_init : float or "auto", default="auto"
        Initial step size of fine-tuning; "auto" is
        :class:`~rbmlib.DBNClassifier`'s: scikit-learn's 0.001, and 0.003 up
        to 400 labelled rows (better or equal on 7 of 8 table/scaler pairs,
        at most 0.007 worse, in ``benchmarks/bench_dbm_classifier_defaults.py``:
        benchmarks/RESULTS.md); the value used is ``learning_rate_init_``.
    {network_solver_params}
    batch_size : int or "auto", default=200
        Mini-batch rows of fine-tuning (at most the number of labelled rows);
        "auto" is :class:`~rbmlib.DBNClassifier`'s (32 up to 400 labelled
        rows), which with ``learning_rate_init="auto"`` lost accuracy on 5 of
        8 table/scaler pairs (benchmarks/RESULTS.md).
    {network_epoch_params}
    input_dropout : float, default=0.0
        Probability of dropping each input unit (of the augmented input).
    {network_stopping_params}
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the labelled rows (stratified),
        stop on their accuracy (scikit-learn's rule) and keep the weights of
        the best epoch.
    validation_fraction : float, default=0.1
    activation : {"auto", "logistic", "tanh", "relu", "leaky_relu", "identity"} \
or list of them, default="auto"
        Hidden activations; "auto" is "logistic" (the DBM's binary units), so
        the first forward pass is the DBM's mean-field up-pass. "tanh" is
        rescaled exactly as in :class:`~rbmlib.DBNClassifier`.
    negative_slope : float, default=0.01
        Slope of "leaky_relu" for negative inputs.
    warm_start : bool, default=False
        ``fit`` continues from the fitted network (the same DBM and classes).
    unlabeled_label : "auto", int, float, str or None, default="auto"
        Label of unlabelled rows, as :class:`~rbmlib.DBNClassifier`'s.
    unlabeled_entropy_weight : float >= 0, default=0.0
        Entropy minimisation on the unlabelled rows, as
        :class:`~rbmlib.DBNClassifier`'s.
    verbose : int, default=0
    random_state : int, RandomState instance or None, default=None
        Seeds the DBM fitted inside, the output layer, the split, shuffling
        and dropout.
    n_jobs : int or None, default=1
        Threads for Numba and BLAS, of the DBM fitted inside and of
        fine-tuning (None: the libraries' defaults, all cores). The products
        are small and threads cost more than they give on them
        (benchmarks/RESULTS.md, "DBM threads").

    Attributes
    ----------
    dbm_ : DBM
        The fitted DBM.
    classes_ : ndarray of shape (n_classes,)
    coefs_ : list of ndarray
        Network weights, ``coefs_[0]`` of shape ``(n_features + n_2, n_1)``.
    intercepts_ : list of ndarray
    loss_curve_ : list of float
        Training loss (nats per row, with the penalty) per epoch.
    {network_fit_attrs}
    activations_ : list of str
        Hidden activation of each layer ("auto" resolved).
    batch_size_, learning_rate_init_ : int, float
        The fine-tuning steps used.
    {features_in_attrs}

    References
    ----------
    R. Salakhutdinov and G. E. Hinton, "Deep Boltzmann Machines", AISTATS 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from rbmlib import DBMClassifier
    >>> rng = np.random.RandomState(0)
    >>> X = (rng.rand(100, 8) > 0.5).astype(float)
    >>> y = (X[:, 0] + X[:, 1] > 1).astype(int)
    >>> clf = DBMClassifier(hidden_layer_sizes=(6, 4), learning_rate_init=0.1,
    ...                     random_state=0,
    ...                     dbm_params={"n_iter": 2, "n_iter_pretrain": 2}).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    >>> clf.score(X, y)
    1.0
    """

    _parameter_constraints: dict = {
        **_NetworkClassifier._parameter_constraints, **_DBM_MODEL.constraints,
    }
    _model_attr = "dbm_"

    def __setstate__(self, state):
        # DBMClassifiers pickled before the network base: every row labelled by
        # default (no unlabeled_label then), the resolved fine-tuning steps unknown
        state = dict(state)
        state.setdefault("unlabeled_label", None)
        for name, value in (("power_t", 0.5), ("beta_1", 0.9), ("beta_2", 0.999),
                            ("epsilon", 1e-8), ("alpha_l1", 0.0), ("rho", 0.9),
                            ("shuffle", True), ("activation", "auto"),
                            ("negative_slope", 0.01), ("warm_start", False)):
            state.setdefault(name, value)
        if "coefs_" in state:
            for name, value in (("t_", 0), ("best_loss_", None), ("loss_", None),
                                ("best_validation_score_", None), ("interrupted_", False),
                                ("n_layers_", len(state["coefs_"]) + 1),
                                ("n_outputs_", state["coefs_"][-1].shape[1]),
                                ("pretrained_layers_", len(state["coefs_"]) - 1),
                                ("first_layer_", "bernoulli")):
                state.setdefault(name, value)
        super().__setstate__(state)

    # ------------------------------------------------------------ model hooks
    def _check_settings(self):
        """The ``dbm`` given (fitted or not) or None; TypeError / ValueError if bad."""
        dbm = self.dbm
        if dbm is None:
            _check_layer_sizes(self.hidden_layer_sizes)
            self._dbm_template(0)._validate_params()
            return None
        inner = getattr(dbm, "estimator", dbm)  # sklearn.frozen.FrozenEstimator
        if not isinstance(inner, DBM):
            raise TypeError(f"dbm must be an rbmlib.DBM (fitted or not) or None; got "
                            f"{type(inner).__name__}.")
        if not hasattr(inner, "coefs_"):
            inner._validate_params()
        return inner

    def _dbm_template(self, seed):
        params = {"random_state": seed, "n_jobs": self.n_jobs, "verbose": self.verbose,
                  **(self.dbm_params or {})}
        return DBM(hidden_layer_sizes=self.hidden_layer_sizes, **params)

    def _n_hidden(self, inner):
        if inner is not None and hasattr(inner, "coefs_"):
            return len(inner.coefs_)
        sizes = (inner if inner is not None else self).hidden_layer_sizes
        return len(_check_layer_sizes(sizes))

    def _unit_activations(self, inner):
        """The DBM's units are binary: "auto" is logistic in every DBM layer."""
        return ["logistic"] * self._n_hidden(inner)

    def _fitted_dbm(self, X, rng, inner=None):
        """The fitted DBM: ``dbm`` as it is if fitted, else a clone of it or the
        DBM of ``hidden_layer_sizes`` and ``dbm_params`` fitted on X."""
        if inner is not None and hasattr(inner, "coefs_"):
            if inner.n_features_in_ != X.shape[1]:
                raise ValueError(
                    f"X has {X.shape[1]} features but the given dbm was fitted on "
                    f"{inner.n_features_in_}.")
            return inner
        seed = int(rng.randint(0, 2**31 - 1))
        dbm = clone(inner) if inner is not None else self._dbm_template(seed)
        return dbm.fit(X)

    def _fit_model(self, X, X_pretrain, rng, inner):
        # a dask X: the DBM streams its chunks (fine-tuning reads X computed in memory)
        return self._fitted_dbm(X if X_pretrain is None else X_pretrain, rng, inner)

    def _start_network(self, dbm, inner, X, Y, rng):
        """The network of section 5 from the fitted DBM (all its layers)."""
        coefs, intercepts = self.initial_network(dbm, Y.shape[1], rng, X.dtype)
        activations = self._activations(len(coefs) - 1, self._unit_activations(dbm))
        coefs, intercepts = self._tanh_transfer(coefs, intercepts, activations,
                                                len(coefs) - 1)
        return len(coefs) - 1, coefs, intercepts, activations

    @staticmethod
    def _model_progress(dbm):
        return (f"trained so far ({dbm.n_iter_pretrain_} pretraining and {dbm.n_iter_} "
                f"joint epochs)")

    def _input_map(self, X, model):
        return self._augment(X, model)

    @staticmethod
    def _network_n_inputs(n_features, model):
        return n_features + model.coefs_[1].shape[1]

    def _augment(self, X, dbm=None):
        """``[X, q(h_2 | X)]``, dense, in X's float dtype."""
        dbm = self.dbm_ if dbm is None else dbm
        q2 = dbm._posteriors(X)[1]
        Xd = X.toarray() if sp.issparse(X) else np.asarray(X)
        return np.hstack([Xd, q2.astype(Xd.dtype, copy=False)])

    def initial_network(self, dbm, n_outputs, rng, dtype=np.float64):
        """Weights and biases of the network built from ``dbm`` (before fine-tuning).

        Parameters
        ----------
        dbm : DBM
            A fitted DBM.
        n_outputs : int
            Output units (1 for two classes, else the number of classes).
        rng : numpy.random.RandomState
            Draws the output layer's Glorot-uniform weights.
        dtype : {numpy.float64, numpy.float32}, default=numpy.float64
            Of the weights (X's).

        Returns
        -------
        coefs, intercepts : lists of ndarray
            ``coefs[0]`` of shape ``(n_features + n_2, n_1)``.
        """
        W, b = dbm.coefs_, dbm.intercepts_
        coefs = [np.vstack([W[0], W[1].T])] + [w.copy() for w in W[1:]]
        coefs = [np.ascontiguousarray(w, dtype=dtype) for w in coefs]
        intercepts = [np.asarray(x, dtype=dtype).copy() for x in b[1:]]
        coefs.append(glorot_uniform(W[-1].shape[1], n_outputs, rng, dtype))
        intercepts.append(np.zeros(n_outputs, dtype))
        return coefs, intercepts

    # ------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=False)
    @Substitution()
    def fit(self, X, y, sample_weight=None):
        """Fit the DBM (unless a fitted one was given), then fine-tune the network.

        A fit that raises leaves the estimator as it was (a divergence in
        fine-tuning leaves, consistently, the new fit's network of its last
        finite epoch). Ctrl-C during fine-tuning after at least one epoch
        keeps the network of the last completed epoch (``interrupted_``);
        earlier, the estimator is left as it was and the KeyboardInterrupt is
        re-raised.

        {X_params}
            Values in [0, 1] (the DBM's visible probabilities), or
            standardised features for a DBM with Gaussian visible units
            (``dbm_params=dict(visible_units="gaussian")``, e.g. after a
            StandardScaler in a Pipeline).
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (``unlabeled_label`` marks unlabelled rows, which the
            DBM is trained on but fine-tuning leaves out), or a multilabel
            indicator matrix.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights of the fine-tuning loss (the DBM ignores them).

        {fit_returns}

        Raises
        ------
        ValueError
            Bad X or y, fewer than two classes, a given fitted DBM with another
            number of features.
        TypeError
            If ``dbm`` is not a :class:`~rbmlib.DBM`.
        rbmlib.DivergenceError
            When fine-tuning diverges (lower ``learning_rate_init``).
        """
        return self._atomic_fit(X, y, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=False)
    @Substitution()
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One fine-tuning epoch over (X, y), continuing the optimiser's state.

        The first call on an unfitted classifier fits the DBM on this X (or
        takes ``dbm``) and builds the network, and needs ``classes``; every
        call runs one epoch of back-propagation with the DBM fixed.
        ``n_iter_``, ``t_`` and ``loss_curve_`` accumulate. A call that raises
        leaves the estimator as it was.

        {X_params}
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None

        {fit_returns}

        Raises
        ------
        ValueError
            If ``classes`` is missing on the first call or differs from the
            first call's, y holds labels outside it, or with
            ``early_stopping=True``.
        """
        return self._atomic_fit(X, y, sample_weight=sample_weight, incremental=True,
                                classes=classes)

    def to_sklearn(self):
        """Not available: no scikit-learn estimator computes this network.

        The network's input is ``[X, q(h_2 | X)]``, and ``q(h_2 | X)`` is the
        DBM's mean-field fixed point (damped iterations to a tolerance), which
        no layer of :class:`sklearn.neural_network.MLPClassifier` computes;
        an MLP fed ``X`` alone would predict differently.

        Raises
        ------
        NotImplementedError
            Always. ``predict_proba`` of this classifier, or an MLPClassifier
            trained on ``self._augment(X)``, are the alternatives.
        """
        check_is_fitted(self)
        raise NotImplementedError(
            "DBMClassifier.to_sklearn: the network reads [X, q(h_2 | X)], where q is the "
            "DBM's mean-field posterior (an iterated fixed point), which no "
            "scikit-learn MLPClassifier layer computes; use this classifier's "
            "predict_proba (it pickles), or an MLPClassifier on the augmented input.")
