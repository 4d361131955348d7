"""Discriminative fine-tuning of a Deep Boltzmann Machine (Salakhutdinov and Hinton 2009, sec. 5).

:class:`DBMClassifier` turns a fitted :class:`~rbmlib.DBM` into a feed-forward
network: each input ``v`` is augmented with its mean-field posterior
``q(h_2 | v)``, the first hidden layer takes ``v`` through ``W_1`` and
``q(h_2 | v)`` through ``W_2^T`` (the top-down input that mean field gives
it), the layers above take ``W_2, ..., W_K`` and a softmax (logistic for two
classes) output layer is added; the network is fine-tuned by
back-propagation (:func:`rbmlib.mlp.fit_backprop`). For a 2-layer DBM the
first forward pass is the mean-field update of both hidden layers at the
fixed point, so it returns ``q(h_2 | v)`` itself.
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _fitting
from ..mlp import SCHEDULES, SOLVERS, fit_backprop, forward, glorot_uniform
from .dbm import DBM

__all__ = ["DBMClassifier"]


def _accuracy(Y, P, sample_weight=None):
    ok = ((P[:, 0] > 0.5) == (Y[:, 0] > 0.5)) if Y.shape[1] == 1 else (
        np.argmax(P, axis=1) == np.argmax(Y, axis=1))
    return float(np.average(ok, weights=sample_weight))


class DBMClassifier(ClassifierMixin, BaseEstimator):
    """Classifier fine-tuned from a Deep Boltzmann Machine (Salakhutdinov and Hinton 2009).

    Fits a :class:`~rbmlib.DBM` on X (or uses the one given), builds the
    network of the paper's section 5 from it and fine-tunes it by
    back-propagation with the cross-entropy loss:

    * the input is ``[v, q(h_2 | v)]``, ``q`` the DBM's mean-field posterior
      of its second hidden layer (computed once per fit and per prediction,
      with the DBM fixed);
    * hidden layer 1 has weights ``[W_1; W_2^T]`` and the DBM's biases of
      layer 1, hidden layer ``k >= 2`` weights ``W_k`` and biases ``b_k``
      (logistic units); the output layer starts from Glorot-uniform weights.

    For a 2-layer DBM the first forward pass equals the mean-field
    posteriors: layer 1 computes ``sigmoid(b_1 + v W_1 + q_2 W_2^T) = q_1`` and
    layer 2 ``sigmoid(b_2 + q_1 W_2) = q_2`` at the fixed point. Above two
    layers, layers 3 and up have no top-down input (as in a DBN's up-pass).

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default=(256, 256)
        Hidden layers of the DBM fitted inside (ignored when ``dbm`` is given).
    dbm : DBM, default=None
        A fitted DBM is used as it is (not refitted); an unfitted one is
        cloned and fitted on X. None: ``DBM(hidden_layer_sizes, **dbm_params)``.
    dbm_params : dict, default=None
        Parameters of the DBM fitted inside (``n_iter``, ``n_iter_pretrain``,
        ...); ``random_state`` and ``n_jobs`` default to this estimator's.
    solver : {"sgd", "adam", ...}, default="adam"
        Update rule of fine-tuning (:mod:`rbmlib.optim`). The fine-tuning
        defaults are those of scikit-learn's ``MLPClassifier``.
    learning_rate_init : float, default=0.001
    learning_rate : {"constant", "invscaling", "adaptive", ...}, default="constant"
        Schedule of the step size (as scikit-learn's MLPs).
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    alpha : float, default=0.0
        L2 penalty on the weights.
    batch_size : int, default=200
        Rows per update (at most the number of rows).
    max_iter : int, default=200
        Most epochs of fine-tuning.
    tol : float, default=1e-4
    n_iter_no_change : int, default=10
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows and keep the weights of
        the best validation accuracy.
    validation_fraction : float, default=0.1
    dropout : float, default=0.0
        Probability of dropping a hidden unit in training (Srivastava et al. 2014).
    input_dropout : float, default=0.0
        Probability of dropping an input unit (of the augmented input).
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
    n_jobs : int or None, default=1
        Threads for Numba and BLAS, of the DBM fitted inside and of
        fine-tuning (None: the libraries' defaults, all cores). The products
        are small: 20 epochs of fine-tuning on ``load_digits`` took 2.9 s at
        one thread and 25.7 s at the libraries' two on a busy 2-core machine.

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
    validation_scores_ : list of float or None
        With ``early_stopping``.
    n_iter_ : int
        Epochs of fine-tuning run.
    n_features_in_ : int

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
        "hidden_layer_sizes": ["array-like"],
        "dbm": [None, HasMethods(["fit", "transform"])],
        "dbm_params": [None, dict],
        "solver": [StrOptions(set(SOLVERS))],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [StrOptions(set(SCHEDULES))],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "input_dropout": [Interval(Real, 0, 1, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "n_jobs": [None, Integral],
    }

    def __init__(self, hidden_layer_sizes=(256, 256), *, dbm=None, dbm_params=None,
                 solver="adam", learning_rate_init=0.001, learning_rate="constant",
                 momentum=0.9, nesterovs_momentum=True, alpha=0.0, batch_size=200,
                 max_iter=200, tol=1e-4, n_iter_no_change=10, early_stopping=False,
                 validation_fraction=0.1, dropout=0.0, input_dropout=0.0,
                 random_state=None, verbose=0, n_jobs=1):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dbm = dbm
        self.dbm_params = dbm_params
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs

    def _fitted_dbm(self, X, rng):
        if self.dbm is not None and hasattr(self.dbm, "coefs_"):
            if self.dbm.n_features_in_ != X.shape[1]:
                raise ValueError(
                    f"X has {X.shape[1]} features but the given dbm was fitted on "
                    f"{self.dbm.n_features_in_}.")
            return self.dbm
        if self.dbm is not None:
            dbm = clone(self.dbm)
        else:
            params = {"random_state": int(rng.randint(0, 2**31 - 1)), "n_jobs": self.n_jobs,
                      "verbose": self.verbose, **(self.dbm_params or {})}
            dbm = DBM(hidden_layer_sizes=self.hidden_layer_sizes, **params)
        return dbm.fit(X)

    def _augment(self, X, dbm=None):
        """``[X, q(h_2 | X)]`` (dense float64)."""
        dbm = self.dbm_ if dbm is None else dbm
        q2 = dbm._posteriors(X)[1]
        Xd = X.toarray() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
        return np.hstack([Xd, q2])

    def initial_network(self, dbm, n_outputs, rng):
        """Weights and biases of the network built from ``dbm`` (before fine-tuning).

        Parameters
        ----------
        dbm : DBM
            A fitted DBM.
        n_outputs : int
            Output units (1 for two classes, else the number of classes).
        rng : numpy.random.RandomState
            Draws the output layer's Glorot-uniform weights.

        Returns
        -------
        coefs, intercepts : lists of ndarray
            ``coefs[0]`` of shape ``(n_features + n_2, n_1)``.
        """
        W, b = dbm.coefs_, dbm.intercepts_
        coefs = [np.vstack([W[0], W[1].T])] + [w.copy() for w in W[1:]]
        intercepts = [x.copy() for x in b[1:]]
        coefs.append(glorot_uniform(W[-1].shape[1], n_outputs, rng, np.float64))
        intercepts.append(np.zeros(n_outputs))
        return coefs, intercepts

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the DBM (unless a fitted one was given), then fine-tune the network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Values in [0, 1].
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : DBMClassifier

        Raises
        ------
        ValueError
            Bad X or y, fewer than two classes, a given fitted DBM with another
            number of features.
        rbmlib.DivergenceError
            When fine-tuning diverges (lower ``learning_rate_init``); the
            classifier is left as it was.
        """
        with _fitting.transaction(self):
            X, y = validate_data(self, X, y, accept_sparse="csr", dtype=np.float64)
            check_classification_targets(y)
            lb = LabelBinarizer().fit(y)
            if len(lb.classes_) < 2:
                raise ValueError(
                    f"DBMClassifier needs samples of at least 2 classes in the data; got "
                    f"only one class: {lb.classes_.tolist()}.")
            Y = lb.transform(y).astype(np.float64)
            rng = check_random_state(self.random_state)
            dbm = self._fitted_dbm(X, rng)
            A = self._augment(X, dbm)
            coefs, intercepts = self.initial_network(dbm, Y.shape[1], rng)
            res = fit_backprop(
                A, Y, coefs, intercepts,
                out_activation="logistic" if Y.shape[1] == 1 else "softmax",
                score=_accuracy, rng=rng, stratify=y, solver=self.solver,
                learning_rate_init=self.learning_rate_init,
                learning_rate=self.learning_rate, momentum=self.momentum,
                nesterovs_momentum=self.nesterovs_momentum, max_iter=self.max_iter,
                tol=self.tol, n_iter_no_change=self.n_iter_no_change,
                early_stopping=self.early_stopping,
                validation_fraction=self.validation_fraction,
                batch_size=min(self.batch_size, X.shape[0]), alpha=self.alpha,
                dropout=self.dropout, input_dropout=self.input_dropout,
                verbose=self.verbose, n_jobs=self.n_jobs, name="DBMClassifier")
            self.dbm_ = dbm
            self._label_binarizer = lb
            self.classes_ = lb.classes_
            self.coefs_, self.intercepts_ = res.coefs, res.intercepts
            self.loss_curve_ = list(res.loss_curve)
            self.validation_scores_ = res.validation_scores
            self.n_iter_ = res.n_iter
            self.out_activation_ = "logistic" if Y.shape[1] == 1 else "softmax"
        return self

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        P : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=False)
        P = forward(self._augment(X), self.coefs_, self.intercepts_, self.out_activation_,
                    n_jobs=self.n_jobs)
        return np.hstack([1.0 - P, P]) if P.shape[1] == 1 else P

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (nats).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_P : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Most probable class of each row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def hidden_activations(self, X, layer=-1):
        """Activations of a hidden layer of the fine-tuned network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        layer : int, default=-1
            Hidden layer (0 the first; negative counts from the top hidden layer).

        Returns
        -------
        H : ndarray of shape (n_samples, n_units)
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=np.float64, reset=False)
        n_hidden = len(self.coefs_) - 1
        idx = layer if layer >= 0 else n_hidden + layer
        if not 0 <= idx < n_hidden:
            raise ValueError(f"layer must be in [-{n_hidden}, {n_hidden - 1}]; got {layer}.")
        return forward(self._augment(X), self.coefs_, self.intercepts_,
                       self.out_activation_, layer=idx, n_jobs=self.n_jobs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
