"""Deep Belief Network classifier: greedy layer-wise pretraining, then fine-tuning.
"""

import warnings

import numpy as np
from scipy.special import log_expit, log_softmax
from sklearn.base import (
    ClassifierMixin,
    _fit_context,
)
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    column_or_1d,
)

from .._blocks import is_dask_collection, lazy_method
from .._docstrings import Substitution
from .._params import with_init
from ._export import to_sklearn_mlp
from ._network import _BaseDBNNetwork, _BaseNetwork
from ._params import DBN_NETWORK, RUN, SEMI_SUPERVISED


def _accuracy_from_probs(Y, P, sample_weight=None):
    if Y.shape[1] == 1:
        ok = (P[:, 0] > 0.5) == (Y[:, 0] > 0.5)
    else:
        ok = np.argmax(P, axis=1) == np.argmax(Y, axis=1)
    return float(np.average(ok, weights=sample_weight))


def _subset_accuracy_from_probs(Y, P, sample_weight=None):
    """Multilabel: fraction of rows whose every label is predicted right."""
    return float(np.average(np.all((P > 0.5) == (Y > 0.5), axis=1), weights=sample_weight))


def _check_fit_sample_weight(sample_weight, X):
    if sample_weight is None:
        return None
    return _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)


class _NetworkClassifier(ClassifierMixin, _BaseNetwork):
    """The classification half of a fine-tuned network, shared by
    :class:`DBNClassifier` and :class:`~rbmlib.DBMClassifier`: labels (binary,
    multiclass, multilabel, unlabelled rows and entropy minimisation),
    ``partial_fit``'s classes, ``predict_proba``/``predict_log_proba``/``predict``
    and ``score`` on the labelled rows. The model that starts the network
    comes from the other base (the DBN's or the DBM's hooks)."""

    _parameter_constraints: dict = {
        **_BaseNetwork._parameter_constraints, **SEMI_SUPERVISED.constraints,
    }
    _small_table_steps = True
    #: Whether the fitted network has one logistic output per label (a multilabel
    #: y) rather than one per class; set by every fit.
    _multilabel = False

    def __setstate__(self, state):
        # classifiers pickled before entropy minimisation existed: off
        state = dict(state)
        state.setdefault("unlabeled_entropy_weight", 0.0)
        if "coefs_" in state:
            state.setdefault("unlabeled_entropy_weight_", 0.0)
            state.setdefault("n_unlabeled_", 0)
        super().__setstate__(state)

    def _semi_kwargs(self, X, mask):
        """``_fit_network``'s unlabelled rows and entropy weight, and the fitted
        attributes reporting them, for the labelled-row ``mask`` (None: all)."""
        n_u = 0 if mask is None else int((~mask).sum())
        weight = float(self.unlabeled_entropy_weight) if n_u else 0.0
        X_u = X[~mask] if n_u and weight > 0 else None
        return ({"X_unlabeled": X_u, "unlabeled_entropy_weight": weight},
                {"unlabeled_entropy_weight_": weight, "n_unlabeled_": n_u})

    def _unlabeled_label(self):
        """The label of unlabelled rows: -1 for "auto" (scikit-learn's convention)."""
        return -1 if isinstance(self.unlabeled_label, str) and \
            self.unlabeled_label == "auto" else self.unlabeled_label

    def _labeled_mask(self, y):
        u = self._unlabeled_label()
        if u is None:
            return np.ones(y.shape[0], dtype=bool)
        if y.dtype.kind in "iuf" and isinstance(u, str):
            return np.ones(y.shape[0], dtype=bool)
        if y.dtype.kind in "US" and not isinstance(u, str):
            return np.ones(y.shape[0], dtype=bool)
        return np.asarray(y != u, dtype=bool)

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        inner = self._check_settings()
        first = not (incremental and hasattr(self, "coefs_"))
        X, y, sample_weight, X_dask = self._dask_inputs(X, y, sample_weight)
        cont = hasattr(self, "coefs_") and (incremental or self.warm_start)
        X, y, X_pre, enc = self._validate_fit_input(X, y, X_dask, inner, first, cont,
                                                    multi_output=True)
        sample_weight = _check_fit_sample_weight(sample_weight, X)
        ml_mask = self._multilabel_labeled_rows(y, incremental)
        if ml_mask is not None or type_of_target(y) == "multilabel-indicator":
            X_lab, sw = X, sample_weight
            if ml_mask is not None:
                y, X_lab = y[ml_mask], X[ml_mask]
                sw = None if sample_weight is None else sample_weight[ml_mask]
                if type_of_target(y) != "multilabel-indicator":
                    raise ValueError(
                        f"The labelled rows of the 2-D y must be a 0/1 label indicator "
                        f"matrix (multilabel); got {type_of_target(y)!r}.")
            lb = LabelBinarizer().fit(y) if first else self._label_binarizer
            if not first and y.shape[1] != len(lb.classes_):
                raise ValueError(f"y has {y.shape[1]} labels; the network was fitted on "
                                 f"{len(lb.classes_)}.")
            Y = lb.transform(y).astype(X.dtype)
            self._check_warm_start_classes(lb.classes_, incremental)
            sample_weight = sw
            semi, semi_attrs = self._semi_kwargs(X, ml_mask)
            state = self._fit_network(
                X, X_lab, Y, "logistic", _subset_accuracy_from_probs, None, inner,
                {"classes_": lb.classes_, "_label_binarizer": lb, "_multilabel": True,
                 "_encoder": enc, **semi_attrs},
                sample_weight=sample_weight, incremental=incremental, X_pretrain=X_pre,
                **semi)
            return self._set_state(state)
        y = column_or_1d(y, warn=True)
        mask = (self._labeled_mask(y) if not incremental
                else np.ones(y.shape[0], dtype=bool))
        u = self._unlabeled_label()
        n_unlabeled = int(np.sum(~mask))
        if not mask.any():
            raise ValueError(
                f"y has no labelled samples: every label equals unlabeled_label="
                f"{u!r}. Set unlabeled_label=None if {u!r} is a class."
            )
        if n_unlabeled:
            check_classification_targets(y[mask])
            if len(np.unique(y[mask])) < 2:
                # a single class besides u cannot be learned: u can only be a class
                warnings.warn(
                    f"y holds a single class besides unlabeled_label={u!r}, so {u!r} is "
                    f"treated as a class label and all {y.shape[0]} rows are labelled. "
                    f"Set unlabeled_label=None to say so and silence this warning.",
                    UserWarning)
                mask = np.ones_like(mask)
            elif self.unlabeled_label == "auto":
                # -1 may be a class ({-1, 0, 1} sentiment labels): never drop it
                # silently; unlabeled_label=-1 says the fit is semi-supervised
                warnings.warn(
                    f"{n_unlabeled} of {y.shape[0]} rows have the label {u!r}, which "
                    f"marks unlabelled rows (unlabeled_label='auto', scikit-learn's "
                    f"convention): they take part in pretraining only, not in "
                    f"fine-tuning. Set unlabeled_label=-1 to say so and silence this "
                    f"warning, or unlabeled_label=None if {u!r} is a class.", UserWarning)
        y_lab = y[mask]
        check_classification_targets(y_lab)
        if incremental:
            if first:
                if classes is None:
                    raise ValueError("classes must be passed on the first call to "
                                     "partial_fit.")
                lb = LabelBinarizer().fit(np.asarray(classes))
            else:
                lb = self._label_binarizer
                if classes is not None and not np.array_equal(
                        np.unique(np.asarray(classes)), lb.classes_):
                    raise ValueError(
                        f"`classes={list(classes)!r}` is not the same as on last call to "
                        f"partial_fit, was: {list(lb.classes_)!r}.")
            unseen = np.setdiff1d(np.unique(y_lab), lb.classes_)
            if unseen.size:
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{lb.classes_}. 'y' has {np.unique(y_lab)}.")
        else:
            lb = LabelBinarizer().fit(y_lab)
        if len(lb.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the labelled "
                f"data; "
                f"got 1 class: {lb.classes_[0]!r}."
            )
        self._check_warm_start_classes(lb.classes_, incremental)
        Y = lb.transform(y_lab).astype(X.dtype)
        X_lab = X if mask.all() else X[mask]
        sw = None if sample_weight is None else sample_weight[mask]
        out = "logistic" if Y.shape[1] == 1 else "softmax"
        semi, semi_attrs = self._semi_kwargs(X, mask)
        state = self._fit_network(X, X_lab, Y, out, _accuracy_from_probs, y_lab, inner,
                                  {"classes_": lb.classes_, "_label_binarizer": lb,
                                   "_multilabel": False, "_encoder": enc, **semi_attrs},
                                  sample_weight=sw, incremental=incremental,
                                  X_pretrain=X_pre, **semi)
        return self._set_state(state)

    def _multilabel_labeled_rows(self, y, incremental):
        """Mask of the labelled rows of a 2-D (multilabel) y with unlabelled rows, else None.

        An unlabelled row holds ``unlabeled_label`` in every column; a row
        holding it in some columns only is refused (ValueError).
        """
        u = self._unlabeled_label()
        if (incremental or u is None or isinstance(u, str) or np.ndim(y) != 2
                or y.shape[1] < 2 or y.dtype.kind not in "biuf"):
            return None
        hit = np.asarray(y == u)
        if not hit.any():
            return None
        partial = np.flatnonzero(hit.any(axis=1) & ~hit.all(axis=1))
        if partial.size:
            raise ValueError(
                f"y is a 2-D label indicator matrix whose row {partial[0]} holds "
                f"unlabeled_label={u!r} in some columns only; an unlabelled row holds "
                f"{u!r} in every column, a labelled one 0/1 indicators.")
        mask = ~hit.all(axis=1)
        if not mask.any():
            raise ValueError(
                f"y has no labelled samples: every row equals unlabeled_label={u!r}.")
        if self.unlabeled_label == "auto":
            warnings.warn(
                f"{int((~mask).sum())} of {y.shape[0]} rows of y are all {u!r}, which marks "
                f"unlabelled rows (unlabeled_label='auto'): they take part in pretraining "
                f"only. Set unlabeled_label=-1 to say so and silence this warning.",
                UserWarning)
        return mask

    def _check_warm_start_classes(self, classes, incremental):
        if (self.warm_start and not incremental and hasattr(self, "classes_")
                and not np.array_equal(self.classes_, classes)):
            raise ValueError(
                f"warm_start can only be used where `y` has the same classes as in the "
                f"previous call to fit. Previously got {self.classes_}, `y` has {classes}.")

    @Substitution()
    def predict_proba(self, X):
        """Class probabilities.

        {X_params}

        Returns
        -------
        P : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to 1.
        """
        if is_dask_collection(X):
            return lazy_method(self, "predict_proba", X)
        P = self._forward(self._validate_X_predict(X))
        if P.shape[1] == 1 and not self._multilabel:
            return np.hstack([1 - P, P])
        return P

    @Substitution()
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (nats).

        {X_params}

        Returns
        -------
        log_P : ndarray of shape (n_samples, n_classes)
            Computed from the output layer's pre-activations (log-sigmoid or
            log-softmax), so it stays finite where a probability rounds to 0.
        """
        if is_dask_collection(X):
            return lazy_method(self, "predict_log_proba", X)
        X = self._validate_X_predict(X)
        H = self._forward(X, layer=len(self.coefs_) - 2)
        Z = np.asarray(H @ self.coefs_[-1] + self.intercepts_[-1])
        if self._multilabel:
            return log_expit(Z)
        if Z.shape[1] == 1:
            # log sigmoid(+-z), finite where 1 - sigmoid(z) rounds to 0
            return np.hstack([log_expit(-Z), log_expit(Z)])
        return log_softmax(Z, axis=1)

    @Substitution()
    def predict(self, X):
        """Most probable class of each sample.

        {X_params}

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        if is_dask_collection(X):
            return lazy_method(self, "predict", X)
        P = self._forward(self._validate_X_predict(X))
        if P.shape[1] == 1 and not self._multilabel:
            P = P.ravel()
        return self._label_binarizer.inverse_transform(P)

    @Substitution()
    def score(self, X, y, sample_weight=None):
        """Accuracy on the labelled rows of (X, y): rows labelled ``unlabeled_label``
        (-1) are left out.

        So cross-validation and grid search on a semi-supervised y (the -1
        rows in every fold) score each fold on its labelled rows only, while
        fitting on all of them. A label that is one of ``classes_`` is always
        scored (``unlabeled_label=None``, or -1 a class). For a multilabel y,
        the subset accuracy, rows holding ``unlabeled_label`` in every column
        left out. A scorer passed as ``scoring=`` (a string or
        :func:`sklearn.metrics.make_scorer`) scores every row it is given.

        {X_params}
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            True labels, ``unlabeled_label`` marking rows to leave out.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
            Mean accuracy of :meth:`predict` on the labelled rows.

        Raises
        ------
        ValueError
            If no row of y is labelled.
        """
        from sklearn.metrics import accuracy_score

        check_is_fitted(self)
        y = np.asarray(y)
        u = self._unlabeled_label()
        mask = np.ones(y.shape[0], dtype=bool)
        if y.ndim == 1 and u is not None and not any(
                c == u for c in self.classes_.tolist()):
            mask = self._labeled_mask(y)
        elif (y.ndim == 2 and self._multilabel and u is not None
              and not isinstance(u, str) and y.dtype.kind in "biuf"):
            mask = ~np.all(y == u, axis=1)
        if not mask.any():
            raise ValueError(f"y has no labelled samples to score: every label equals "
                             f"unlabeled_label={u!r}.")
        if not mask.all():
            X = X[mask] if hasattr(X, "shape") and not hasattr(X, "iloc") else (
                X.iloc[mask] if hasattr(X, "iloc") else [x for x, k in zip(X, mask) if k])
            y = y[mask]
            if sample_weight is not None:
                sample_weight = np.asarray(sample_weight)[mask]
        return float(accuracy_score(y, self.predict(X), sample_weight=sample_weight))


@Substitution()
@with_init(DBN_NETWORK, SEMI_SUPERVISED, RUN)
class DBNClassifier(_NetworkClassifier, _BaseDBNNetwork):
    """Deep Belief Network classifier: greedy pretraining, then back-propagation.

    ``fit`` pretrains a :class:`DBN` on every row of X, copies its weights
    and hidden biases into a network with logistic hidden units and a fresh
    softmax output layer (logistic for two classes), and fine-tunes it on the
    labelled rows by minimising the cross-entropy. Labels equal to
    ``unlabeled_label`` (-1, scikit-learn's convention, as in
    :class:`sklearn.semi_supervised.SelfTrainingClassifier`) mark unlabelled
    rows, which take part in pretraining and, with
    ``unlabeled_entropy_weight > 0``, in fine-tuning through entropy
    minimisation (Grandvalet and Bengio 2005).

    Parameters
    ----------
    {network_params}
    unlabeled_label : "auto", int, float, str or None, default="auto"
        Label marking unlabelled rows, which take part in pretraining only
        (for a 2-D multilabel y: rows holding it in every column). "auto"
        takes -1 (scikit-learn's convention, as
        :class:`sklearn.semi_supervised.SelfTrainingClassifier`) and warns
        once per fit when y holds it, since -1 may also be a class (labels
        {-1, 0, 1}); ``unlabeled_label=-1`` says the fit is semi-supervised and
        is silent; None treats every label as a class.
    unlabeled_entropy_weight : float >= 0, default=0.0
        Entropy minimisation on the unlabelled rows (Grandvalet and Bengio
        2005): each fine-tuning update adds this weight times the mean
        entropy (nats) of the predicted class probabilities on a batch of
        ``batch_size`` unlabelled rows (passed forward without dropout,
        visited in random order, each once before any twice) to the mean
        cross-entropy of its labelled batch, so the decision boundary moves
        away from dense regions of the unlabelled rows. There is no ramp-up:
        the weight applies from the first update. 0 (the default) is off:
        on digits with 10% of the labels (5 label draws, the default 256-256
        network, pretrained) 0.25 gained 1.3 points of test accuracy over
        plain fine-tuning, but with very few labels (2% of digits, 10% of
        wine: 12-26 labelled rows) every weight tried (0.25-1) lost 4-12
        points on average, the network growing confident in its early
        mistakes (benchmarks/RESULTS.md, "Semi-supervised fine-tuning").
        Ignored when no row is unlabelled and in partial_fit.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (any type LabelBinarizer accepts).
    unlabeled_entropy_weight_ : float
        The entropy weight fine-tuning used: ``unlabeled_entropy_weight``
        when the fit had unlabelled rows, else 0.0.
    n_unlabeled_ : int
        Number of unlabelled rows of the last fit (0 for partial_fit).
    {network_attrs}

    {network_refs}

    Grandvalet, Y. and Bengio, Y. (2005). Semi-supervised learning by entropy
    minimization. NIPS 17, 529-536.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from rbmlib import DBNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DBNClassifier((64,), n_iter_pretrain=2, max_iter=5, random_state=0)
    >>> clf.fit(X / 16, y).predict_proba(X[:2] / 16).shape
    (2, 10)
    """

    _parameter_constraints: dict = {
        **_BaseDBNNetwork._parameter_constraints,
        **_NetworkClassifier._parameter_constraints,
    }

    @_fit_context(prefer_skip_nested_validation=False)
    @Substitution()
    def fit(self, X, y, sample_weight=None):
        """Pretrain on all rows of X, then fine-tune on the labelled ones.

        A fit that raises leaves the estimator exactly as it was (a
        divergence in fine-tuning leaves, consistently, the new fit's network
        of its last finite epoch). Ctrl-C (KeyboardInterrupt) stops all
        training at once: during fine-tuning after at least one epoch, the
        network of the last completed epoch (the best one with
        ``early_stopping``) is kept with a RuntimeWarning and
        ``interrupted_ = True``; earlier (in pretraining or the first
        fine-tuning epoch), the estimator is left as it was, a RuntimeWarning
        says what was completed, and the KeyboardInterrupt is re-raised with
        the DBN pretrained so far as its ``dbn`` attribute (None if none),
        which ``DBNClassifier(dbn=exc.dbn, ...)`` fine-tunes without
        pretraining again.

        Parameters
        ----------
        {network_fit_X}
        y : array-like or dask array of shape (n_samples,) or (n_samples, n_labels)
            Class labels; ``unlabeled_label`` (-1) marks unlabelled rows
            (with ``unlabeled_label="auto"``, a UserWarning gives their number). A 0/1 indicator
            matrix is a multilabel problem: one logistic output per label,
            as scikit-learn's MLPClassifier.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows in the fine-tuning loss (each
            mini-batch minimises its weighted mean loss) and in the
            validation score; pretraining ignores them.

        {fit_returns}

        Raises
        ------
        ValueError
            On bad input (NaN/inf, 1-D X, empty, inconsistent lengths), when
            no row is labelled, when y holds a single class, or when training
            diverges (``DivergenceError``).
        TypeError
            If ``dbn`` is not a :class:`DBN`.
        KeyboardInterrupt
            If interrupted before a fine-tuning epoch completed.
        """
        return self._atomic_fit(X, y, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=False)
    @Substitution()
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One fine-tuning epoch over (X, y), as scikit-learn's MLPClassifier.partial_fit.

        The first call (on an unfitted estimator) builds the network as
        :meth:`fit` does -- pretraining on this first X per
        ``n_iter_pretrain`` or ``dbn`` (``n_iter_pretrain=0`` for none) --
        and needs ``classes``; every call then runs one epoch of
        back-propagation, continuing the optimiser's state (momentum,
        Adam's moments, ...). ``n_iter_``, ``t_`` and ``loss_curve_``
        accumulate over the calls. A call that raises leaves the estimator
        as it was.

        {X_params}
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (every row is labelled in partial_fit), or a
            multilabel indicator matrix.
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call, optional (and
            checked) later. Ignored for multilabel y.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights of the loss.

        {fit_returns}

        Raises
        ------
        ValueError
            If ``classes`` is missing on the first call or differs from the
            first call's, if y holds labels outside ``classes``, or with
            ``early_stopping=True``.
        """
        return self._atomic_fit(X, y, sample_weight=sample_weight, incremental=True,
                                classes=classes)

    def to_sklearn(self):
        """An equivalent fitted :class:`sklearn.neural_network.MLPClassifier`.

        Same weights, the same hidden activation ("logistic", "tanh",
        "relu" or "identity") and output activation; its ``predict_proba``
        and ``predict`` agree with this model's (up to float rounding).
        Training it further follows scikit-learn's rules, not this class's
        (solvers "adagrad"/"rmsprop" become "adam"; ``alpha_l1``, dropout
        and ``max_norm`` are not carried over).

        Returns
        -------
        mlp : MLPClassifier

        Raises
        ------
        ValueError
            If a hidden layer is "leaky_relu" (scikit-learn has no leaky
            ReLU) or the hidden layers' activations differ (scikit-learn has
            one activation for all layers).
        """
        from sklearn.neural_network import MLPClassifier

        check_is_fitted(self)
        mlp = to_sklearn_mlp(self, MLPClassifier)
        mlp.classes_ = self.classes_
        mlp._label_binarizer = self._label_binarizer
        return mlp
