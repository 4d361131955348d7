"""scikit-learn's sklearn/neural_network/tests/test_mlp.py, ported to DBNClassifier/DBNRegressor.

Each test is named after the scikit-learn test it follows (``test_<name>`` ->
``test_<name>``) and keeps its data and assertions where they make sense for
a DBN network; networks without pretraining (``n_iter_pretrain=0``) are used
where scikit-learn's test compares training paths, since pretraining is not
part of MLPClassifier. Tests of the new parity features (activations,
solvers, L1, to_sklearn) follow at the end.
"""

import contextlib
import re
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import (
    load_digits,
    load_iris,
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import MinMaxScaler

from rbmlib import DBN, DBNClassifier, DBNRegressor

_X_iris, y_iris = load_iris(return_X_y=True)
X_iris = MinMaxScaler().fit_transform(_X_iris)
_digits = load_digits(n_class=2)
X_digits_binary = _digits.data[:200] / 16.0
y_digits_binary = _digits.target[:200]
_Xr, _yr = make_regression(n_samples=200, n_features=10, random_state=7)
X_reg = MinMaxScaler().fit_transform(_Xr)
y_reg = _yr * 0.1

# a plain network (no pretraining): the training path scikit-learn's tests compare
PLAIN = dict(hidden_layer_sizes=(16,), n_iter_pretrain=0)


@contextlib.contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


# ----------------------------------------------------------------------------
# ports of scikit-learn's tests
# ----------------------------------------------------------------------------


def test_multilabel_classification():
    X, y = make_multilabel_classification(n_samples=50, random_state=0,
                                          return_indicator=True)
    X = MinMaxScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = DBNClassifier(hidden_layer_sizes=(50,), n_iter_pretrain=0, solver="adam",
                            learning_rate_init=0.01, max_iter=300, random_state=0,
                            alpha=1e-5).fit(X, y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 5
    assert clf.predict(X).shape == y.shape
    assert set(np.unique(clf.predict(X))) <= {0, 1}
    assert clf.score(X, y) > 0.9  # subset accuracy, as scikit-learn's

    # partial fit
    clf = DBNClassifier(hidden_layer_sizes=(50,), n_iter_pretrain=0, solver="sgd",
                        learning_rate_init=0.2, random_state=0, alpha=1e-5)
    for _ in range(100):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3, 4])
    assert clf.n_iter_ == 100
    assert clf.score(X, y) >= 0.5

    # early stopping on multilabel y (no stratification)
    DBNClassifier(hidden_layer_sizes=(8,), n_iter_pretrain=0, early_stopping=True,
                  max_iter=5, random_state=0).fit(X, y).predict(X)


def test_multioutput_regression():
    X, y = make_regression(n_samples=200, n_targets=5, random_state=11)
    X = MinMaxScaler().fit_transform(X)
    with _quiet():
        reg = DBNRegressor(hidden_layer_sizes=(50,), n_iter_pretrain=0, max_iter=300,
                           learning_rate_init=0.01, random_state=1).fit(X, y)
    assert reg.predict(X).shape == (200, 5)
    assert reg.score(X, y) > 0.9


def test_partial_fit_classes_error():
    X = [[0.3, 0.2]]
    y = [0]
    clf = DBNClassifier(solver="sgd", **PLAIN)
    clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="is not the same as on last call"):
        clf.partial_fit(X, y, classes=[1, 2])


@pytest.mark.parametrize("binary", [True, False])
def test_partial_fit_classification(binary):
    # partial_fit gives the same network as fit, epoch for epoch
    X, y = (X_digits_binary, y_digits_binary) if binary else (X_iris, y_iris)
    kw = dict(PLAIN, solver="sgd", random_state=1, alpha=1e-5, learning_rate_init=0.2,
              shuffle=False)
    with _quiet():
        clf = DBNClassifier(max_iter=100, tol=0, n_iter_no_change=np.inf, **kw).fit(X, y)
    pred1 = clf.predict(X)
    inc = DBNClassifier(**kw)
    for _ in range(100):
        inc.partial_fit(X, y, classes=np.unique(y))
    assert_array_equal(inc.predict(X), pred1)
    for a, b in zip(inc.coefs_, clf.coefs_):
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert inc.n_iter_ == 100 and len(inc.loss_curve_) == 100
    assert inc.score(X, y) > 0.95


def test_partial_fit_unseen_classes():
    clf = DBNClassifier(random_state=0, **PLAIN)
    clf.partial_fit([[0.1], [0.2], [0.3]], ["a", "b", "c"], classes=["a", "b", "c", "d"])
    clf.partial_fit([[0.4]], ["d"])
    assert clf.score([[0.1], [0.2], [0.3], [0.4]], ["a", "b", "c", "d"]) > 0
    with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
        clf.partial_fit([[0.4]], ["e"])


@pytest.mark.parametrize("momentum", [0, 0.9])
def test_partial_fit_regression(momentum):
    X, y = _Xr, _yr  # standard normal features, as scikit-learn's X_reg
    kw = dict(PLAIN, solver="sgd", activation="relu", random_state=1,
              learning_rate_init=0.05, batch_size=X.shape[0], momentum=momentum)
    with _quiet():
        reg = DBNRegressor(max_iter=100, tol=0, n_iter_no_change=np.inf, **kw).fit(X, y)
    pred1 = reg.predict(X)
    inc = DBNRegressor(**kw)
    for _ in range(100):
        inc.partial_fit(X, y)
    assert_allclose(inc.predict(X), pred1, rtol=1e-8, atol=1e-8)
    assert inc.score(X, y) > 0.65


def test_partial_fit_errors():
    X = [[0.3, 0.2], [0.1, 0.6]]
    y = [1, 0]
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        DBNClassifier(solver="sgd", **PLAIN).partial_fit(X, y)
    with pytest.raises(ValueError, match="classes not in"):
        DBNClassifier(solver="sgd", **PLAIN).partial_fit(X, y, classes=[2, 3])


def test_predict_proba_binary():
    X, y = X_digits_binary[:50], y_digits_binary[:50]
    with _quiet():
        clf = DBNClassifier(hidden_layer_sizes=(5,), n_iter_pretrain=0, max_iter=20,
                            random_state=0).fit(X, y)
    P = clf.predict_proba(X)
    assert P.shape == (50, 2)
    assert_allclose(P.sum(axis=1), 1.0, rtol=1e-6)
    assert_allclose(np.log(P), clf.predict_log_proba(X), rtol=1e-5, atol=1e-7)
    assert_array_equal(clf.classes_[P.argmax(axis=1)], clf.predict(X))


def test_predict_proba_multiclass():
    X, y = load_digits(n_class=3, return_X_y=True)
    X, y = X[:50] / 16.0, y[:50]
    with _quiet():
        clf = DBNClassifier(hidden_layer_sizes=(5,), n_iter_pretrain=0, max_iter=20,
                            random_state=0).fit(X, y)
    P = clf.predict_proba(X)
    assert P.shape == (50, 3)
    assert_allclose(P.sum(axis=1), 1.0, rtol=1e-6)
    assert_allclose(np.log(P), clf.predict_log_proba(X), rtol=1e-5, atol=1e-7)


def test_predict_proba_multilabel():
    X, Y = make_multilabel_classification(n_samples=50, random_state=0,
                                          return_indicator=True)
    X = MinMaxScaler().fit_transform(X)
    with _quiet():
        clf = DBNClassifier(hidden_layer_sizes=(5,), n_iter_pretrain=0, max_iter=20,
                            random_state=0).fit(X, Y)
    P = clf.predict_proba(X)
    assert P.shape == (50, 5)
    assert (P.sum(axis=1) - 1 > 1e-3).any()  # independent sigmoids, not a softmax
    assert_array_equal(clf.predict(X), (P > 0.5).astype(int))
    assert_allclose(np.log(P), clf.predict_log_proba(X), rtol=1e-5, atol=1e-7)


def test_warm_start():
    X, y = X_iris, y_iris
    y_3classes_alt = np.array([0] * 50 + [1] * 50 + [3] * 50)
    y_2classes = np.array([0] * 75 + [1] * 75)
    kw = dict(hidden_layer_sizes=(2,), n_iter_pretrain=0, warm_start=True, random_state=42,
              max_iter=5)
    with _quiet():
        clf = DBNClassifier(**kw).fit(X, y)
        first = [W.copy() for W in clf.coefs_]
        clf.fit(X, y)  # continues from the fitted weights
        assert any(not np.allclose(a, b) for a, b in zip(first, clf.coefs_))
        ref = DBNClassifier(**dict(kw, warm_start=False)).fit(X, y)
        assert not np.allclose(ref.coefs_[0], clf.coefs_[0])
        for y_i in (y_2classes, y_3classes_alt):
            clf = DBNClassifier(**kw).fit(X, y)
            message = ("warm_start can only be used where `y` has the same classes as in "
                       "the previous call to fit. Previously got [0 1 2], `y` has %s"
                       % np.unique(y_i))
            with pytest.raises(ValueError, match=re.escape(message)):
                clf.fit(X, y_i)


@pytest.mark.parametrize("Estimator", [DBNClassifier, DBNRegressor])
def test_warm_start_full_iteration(Estimator):
    max_iter = 3
    clf = Estimator(hidden_layer_sizes=(2,), n_iter_pretrain=0, solver="sgd",
                    warm_start=True, max_iter=max_iter, random_state=0)
    with _quiet():
        clf.fit(X_iris, y_iris)
        assert clf.n_iter_ == max_iter
        clf.fit(X_iris, y_iris)
        assert clf.n_iter_ == max_iter


def test_n_iter_no_change_inf():
    X, y = X_digits_binary[:100], y_digits_binary[:100]
    max_iter = 300
    with _quiet():
        clf = DBNClassifier(hidden_layer_sizes=(8,), n_iter_pretrain=0, tol=1e9,
                            max_iter=max_iter, solver="sgd", n_iter_no_change=np.inf,
                            random_state=0).fit(X, y)
    assert clf.n_iter_ == max_iter
    with pytest.raises(ValueError, match="n_iter_no_change"):
        DBNClassifier(n_iter_no_change=-np.inf, **PLAIN).fit(X, y)


def test_mlp_early_stopping_string_labels():
    X, y = make_classification(n_samples=200, n_features=10, n_classes=3,
                               n_informative=5, random_state=42)
    X = MinMaxScaler().fit_transform(X)
    y = np.array(["class_a", "class_b", "class_c"], dtype=object)[y]
    clf = DBNClassifier(early_stopping=True, max_iter=50, random_state=42, **PLAIN)
    with _quiet():
        clf.fit(X, y)
    assert clf.validation_scores_ is not None
    assert len(clf.validation_scores_) == clf.n_iter_
    assert np.isfinite(clf.validation_scores_).all()
    assert set(clf.predict(X)) <= set(y)


@pytest.mark.parametrize("Estimator", [DBNClassifier, DBNRegressor])
def test_mlp_partial_fit_after_fit(Estimator):
    with _quiet():
        est = Estimator(early_stopping=True, random_state=0, max_iter=5,
                        **PLAIN).fit(X_iris, y_iris)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping=True"):
        est.partial_fit(X_iris, y_iris)


def test_mlp_sample_weight_with_early_stopping():
    X, y = make_regression(n_samples=100, n_features=2, n_informative=2, random_state=42)
    X = MinMaxScaler().fit_transform(X)
    params = dict(hidden_layer_sizes=(10,), n_iter_pretrain=0, solver="adam",
                  early_stopping=True, tol=1e-2, learning_rate_init=0.01, batch_size=10,
                  random_state=42, max_iter=30)
    with _quiet():
        m1 = DBNRegressor(**params).fit(X, y, sample_weight=np.ones_like(y))
        m2 = DBNRegressor(**params).fit(X, y, sample_weight=None)
    assert_allclose(m1.predict(X), m2.predict(X))


def test_minimum_input_sample_size():
    X, y = make_regression(n_samples=2, n_features=5, random_state=0)
    model = DBNRegressor(early_stopping=True, random_state=0, **PLAIN)
    with pytest.raises(ValueError, match="The validation set is too small"):
        model.fit(X, y)
    assert not hasattr(model, "coefs_")  # a failed fit leaves the estimator as it was


def test_mlp_loading_from_joblib_partial_fit(tmp_path):
    X, y = X_reg[:50], y_reg[:50]
    est = DBNRegressor(random_state=0, max_iter=5, **PLAIN)
    for _ in range(3):
        est.partial_fit(X, y)
    path = tmp_path / "dbn.joblib"
    joblib.dump(est, path)
    loaded = joblib.load(path)
    est.partial_fit(X, y)
    loaded.partial_fit(X, y)
    assert_allclose(loaded.predict(X), est.predict(X))
    assert loaded.n_iter_ == 4


# ----------------------------------------------------------------------------
# sample weights, activations, solvers, L1, to_sklearn
# ----------------------------------------------------------------------------


def test_sample_weight_equals_repeated_rows():
    # full-batch, unshuffled: weight 2 on a row == that row twice
    X, y = X_iris[::5], y_iris[::5]
    sw = np.where(np.arange(len(y)) % 3 == 0, 2.0, 1.0)
    rep = np.repeat(np.arange(len(y)), sw.astype(int))
    kw = dict(PLAIN, solver="sgd", learning_rate_init=0.5, batch_size=1000, shuffle=False,
              max_iter=20, tol=0, n_iter_no_change=np.inf, random_state=0)
    with _quiet():
        a = DBNClassifier(**kw).fit(X, y, sample_weight=sw)
        b = DBNClassifier(**kw).fit(X[rep], y[rep])
        c = DBNClassifier(**kw).fit(X, y)
    assert_allclose(a.coefs_[0], b.coefs_[0], rtol=1e-10, atol=1e-12)
    assert not np.allclose(a.coefs_[0], c.coefs_[0])
    with pytest.raises(ValueError, match="[Nn]egative"):
        DBNClassifier(**kw).fit(X, y, sample_weight=-sw)


@pytest.mark.parametrize("activation", ["logistic", "tanh", "relu", "leaky_relu",
                                        "identity", ["tanh", "relu"]])
@pytest.mark.parametrize("solver", ["sgd", "adagrad", "rmsprop", "adam"])
def test_every_activation_and_solver_learns_iris(activation, solver):
    lr = {"sgd": 0.2, "adagrad": 0.05, "rmsprop": 0.005, "adam": 0.01}[solver]
    with _quiet():
        clf = DBNClassifier(hidden_layer_sizes=(16, 16), n_iter_pretrain=0,
                            activation=activation, solver=solver, learning_rate_init=lr,
                            max_iter=150, random_state=0, alpha_l1=1e-5).fit(X_iris, y_iris)
    assert clf.score(X_iris, y_iris) > 0.9
    n_hidden = 2
    want = [activation] * n_hidden if isinstance(activation, str) else activation
    assert clf.activations_ == want


def test_tanh_transfer_is_exact():
    # a tanh layer from a sigmoid RBM computes the same network function at the start
    dbn = DBN((12, 8), n_iter=3, random_state=0).fit(X_iris)
    kw = dict(dbn=dbn, max_iter=1, learning_rate_init=1e-300, solver="sgd", momentum=0.0,
              random_state=0)
    with _quiet():
        a = DBNClassifier(activation="logistic", **kw).fit(X_iris, y_iris)
        b = DBNClassifier(activation="tanh", **kw).fit(X_iris, y_iris)
        c = DBNClassifier(activation=["tanh", "logistic"], **kw).fit(X_iris, y_iris)
    assert_allclose(b.predict_proba(X_iris), a.predict_proba(X_iris), rtol=1e-10)
    assert_allclose(c.predict_proba(X_iris), a.predict_proba(X_iris), rtol=1e-10)
    assert_allclose(b.coefs_[0], a.coefs_[0] / 2, rtol=1e-12)
    # tanh(z / 2) = 2 sigmoid(z) - 1
    assert_allclose(b.hidden_activations(X_iris, 0), 2 * a.hidden_activations(X_iris, 0) - 1,
                    rtol=1e-10, atol=1e-12)


def test_l1_penalty_sparsifies_weights():
    kw = dict(PLAIN, solver="sgd", learning_rate_init=0.1, max_iter=200, random_state=0)
    with _quiet():
        plain = DBNClassifier(**kw).fit(X_iris, y_iris)
        l1 = DBNClassifier(alpha_l1=0.01, **kw).fit(X_iris, y_iris)
    assert np.abs(l1.coefs_[0]).sum() < 0.5 * np.abs(plain.coefs_[0]).sum()
    with pytest.raises(ValueError, match="alpha_l1"):
        DBNClassifier(alpha_l1=-1.0, **PLAIN).fit(X_iris, y_iris)


@pytest.mark.parametrize("activation", ["logistic", "tanh", "relu", "identity"])
@pytest.mark.parametrize("Estimator", [DBNClassifier, DBNRegressor])
def test_to_sklearn_covers_every_sklearn_activation(Estimator, activation):
    with _quiet():
        est = Estimator(hidden_layer_sizes=(6, 5), n_iter_pretrain=0, activation=activation,
                        max_iter=20, random_state=0, solver="rmsprop",
                        learning_rate_init=0.01).fit(X_iris, y_iris)
    mlp = est.to_sklearn()
    assert mlp.activation == activation
    if Estimator is DBNClassifier:
        assert_allclose(mlp.predict_proba(X_iris), est.predict_proba(X_iris), rtol=1e-7)
    else:
        assert_allclose(mlp.predict(X_iris), est.predict(X_iris), rtol=1e-7, atol=1e-9)


def test_to_sklearn_refuses_leaky_relu_and_mixed_activations():
    with _quiet():
        est = DBNClassifier(hidden_layer_sizes=(4,), n_iter_pretrain=0,
                            activation="leaky_relu", max_iter=3,
                            random_state=0).fit(X_iris, y_iris)
        mixed = DBNClassifier(hidden_layer_sizes=(4, 4), n_iter_pretrain=0,
                              activation=["tanh", "relu"], max_iter=3,
                              random_state=0).fit(X_iris, y_iris)
    with pytest.raises(ValueError, match="no leaky ReLU"):
        est.to_sklearn()
    with pytest.raises(ValueError, match="one activation for all hidden layers"):
        mixed.to_sklearn()


def test_bad_activation_and_solver_are_clear_errors():
    with pytest.raises(ValueError, match="activation"):
        DBNClassifier(activation="softplus", **PLAIN).fit(X_iris, y_iris)
    with pytest.raises(ValueError, match="one name per hidden layer"):
        DBNClassifier(activation=["tanh", "relu"], **PLAIN).fit(X_iris, y_iris)
    with pytest.raises(ValueError, match="solver"):
        DBNClassifier(solver="lbfgs", **PLAIN).fit(X_iris, y_iris)
