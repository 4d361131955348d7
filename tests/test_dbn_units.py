"""Per-layer hidden unit types in DBNClassifier / DBNRegressor (issue 12).

``hidden_units`` reaches the pretrained DBN, and ``activation="auto"`` follows
each pretrained layer's unit type (logistic for Bernoulli, relu for NReLU,
identity for Gaussian hidden units), so that the network computes exactly the
DBN's mean-field up-pass when fine-tuning starts.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes, load_iris
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, minmax_scale

from rbmlib import DBN, DBNClassifier, DBNRegressor

# iris' 150 rows: CD with sampled visible units hardly moves the weights (see the
# flat-layer warning of DBNClassifier); mean-field visible units do.
MEAN_FIELD = {"rbm_params": {"sample_visible": False}}


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return minmax_scale(X), y


def _fit_quiet(est, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(*args)


def _up_pass(dbn, X, n_layers):
    H = X
    for rbm in dbn.rbms_[:n_layers]:
        H = rbm.transform(H)
    return H


@pytest.mark.parametrize("hidden_units, expected", [
    ("bernoulli", ["logistic", "logistic"]),
    ("nrelu", ["relu", "relu"]),
    ("gaussian", ["identity"]),
    (("bernoulli", "nrelu", "gaussian"), ["logistic", "relu", "identity"]),
])
def test_auto_activation_transfers_pretrained_layers_exactly(iris, hidden_units, expected):
    """Before fine-tuning moves the weights, each hidden layer of the network
    equals the DBN's transform (with "logistic" for every layer, as "auto" was
    before, the NReLU and Gaussian layers would not)."""
    X, y = iris
    sizes = (12, 8, 6)[:len(expected)]
    dbn = _fit_quiet(DBN(sizes, hidden_units=hidden_units, n_iter=50,
                         random_state=0, **MEAN_FIELD), X)
    # a step of 1e-12 without momentum: the weights move by ~1e-12
    clf = _fit_quiet(DBNClassifier(dbn=dbn, solver="sgd", momentum=0.0, max_iter=1,
                                   learning_rate_init=1e-12, random_state=0), X, y)
    assert clf.activations_ == expected
    assert clf.pretrained_layers_ == len(expected)
    for layer in range(len(expected)):
        H = _up_pass(dbn, X, layer + 1)
        assert H.std(axis=0).max() > 0.01  # the layer is not trivially constant
        np.testing.assert_allclose(clf.hidden_activations(X, layer=layer), H,
                                   rtol=1e-6, atol=1e-8)


def test_hidden_units_reach_pretraining_and_auto_follows_them(iris):
    X, y = iris
    clf = _fit_quiet(DBNClassifier((12, 8, 6), hidden_units=("bernoulli", "nrelu", "gaussian"),
                                   n_iter_pretrain=50,
                                   pretrain_params=MEAN_FIELD, max_iter=5, random_state=0),
                     X, y)
    assert [r.hidden_units for r in clf.dbn_.rbms_] == ["bernoulli", "nrelu", "gaussian"]
    assert clf.pretrained_layers_ == 3
    assert clf.activations_ == ["logistic", "relu", "identity"]
    # an explicit activation wins over "auto" layer by layer
    clf.set_params(activation=["auto", "tanh", "auto"])
    _fit_quiet(clf, X, y)
    assert clf.activations_ == ["logistic", "tanh", "identity"]
    # without pretraining (Glorot weights) "auto" stays logistic
    clf.set_params(activation="auto", n_iter_pretrain=0)
    _fit_quiet(clf, X, y)
    assert clf.dbn_ is None
    assert clf.activations_ == ["logistic"] * 3


@pytest.mark.parametrize("hidden_units, expected", [
    ("nrelu", ["relu", "relu"]),
    (("bernoulli", "gaussian"), ["logistic", "identity"]),
])
def test_pipeline_cross_val_on_iris(hidden_units, expected):
    # measured: 0.96 mean 3-fold accuracy for both (random_state=0)
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(MinMaxScaler(), DBNClassifier(
        (32, 16), hidden_units=hidden_units, pretrain_params=MEAN_FIELD,
        learning_rate_init=0.01, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = cross_val_score(pipe, X, y, cv=3)
        pipe.fit(X, y)
    assert scores.mean() > 0.85, scores
    assert pipe[-1].activations_ == expected
    assert pipe[-1].pretrained_layers_ == 2


def test_grid_search_over_hidden_units(iris):
    X, y = iris
    grid = GridSearchCV(
        DBNClassifier((16,), pretrain_params=MEAN_FIELD, learning_rate_init=0.01,
                      max_iter=50, random_state=0),
        {"hidden_units": ["bernoulli", "nrelu", "gaussian"]}, cv=3)
    _fit_quiet(grid, X, y)
    act = {"bernoulli": ["logistic"], "nrelu": ["relu"], "gaussian": ["identity"]}
    assert grid.best_estimator_.activations_ == act[grid.best_params_["hidden_units"]]


@pytest.mark.parametrize("hidden_units, activation", [
    ("bernoulli", "logistic"), ("nrelu", "relu"), ("gaussian", "identity")])
def test_to_sklearn_matches_for_each_unit_type(iris, hidden_units, activation):
    X, y = iris
    clf = _fit_quiet(DBNClassifier((16,), hidden_units=hidden_units, pretrain_params=MEAN_FIELD,
                                   max_iter=20, random_state=0), X, y)
    mlp = clf.to_sklearn()
    assert mlp.activation == activation
    np.testing.assert_allclose(mlp.predict_proba(X), clf.predict_proba(X), rtol=1e-6,
                               atol=1e-9)


def test_to_sklearn_refuses_mixed_unit_activations(iris):
    X, y = iris
    clf = _fit_quiet(DBNClassifier((16, 8), hidden_units=("bernoulli", "gaussian"),
                                   pretrain_params=MEAN_FIELD, max_iter=5, random_state=0),
                     X, y)
    assert clf.activations_ == ["logistic", "identity"]
    with pytest.raises(ValueError, match="one activation for all hidden layers"):
        clf.to_sklearn()


def test_regressor_nrelu_and_to_sklearn():
    X, y = load_diabetes(return_X_y=True)
    X = minmax_scale(X)
    reg = _fit_quiet(DBNRegressor((16,), hidden_units="nrelu", pretrain_params=MEAN_FIELD,
                                  learning_rate_init=0.01, max_iter=100, random_state=0),
                     X, y)
    assert reg.dbn_.rbms_[0].hidden_units == "nrelu"
    assert reg.activations_ == ["relu"]
    assert reg.score(X, y) > 0.3
    np.testing.assert_allclose(reg.to_sklearn().predict(X), reg.predict(X), rtol=1e-6)


def test_set_params_hidden_units_then_refit(iris):
    X, y = iris
    clf = _fit_quiet(DBNClassifier((12, 8), pretrain_params=MEAN_FIELD, max_iter=5,
                                   random_state=0), X, y)
    assert clf.activations_ == ["logistic", "logistic"]
    clf.set_params(hidden_units=["bernoulli", "gaussian"])
    _fit_quiet(clf, X, y)
    assert [r.hidden_units for r in clf.dbn_.rbms_] == ["bernoulli", "gaussian"]
    assert clf.activations_ == ["logistic", "identity"]


@pytest.mark.parametrize("bad, match", [
    ("relu", "hidden_units"),
    (("bernoulli",), r"hidden_units must be a single value or one value per layer \(2\)"),
    (("bernoulli", "nrelu", "gaussian"), r"one value per layer \(2\)"),
    (("bernoulli", "linear"), r"hidden_units must be one of .*entry 1 is 'linear'"),
])
@pytest.mark.parametrize("cls", [DBNClassifier, DBNRegressor])
def test_bad_hidden_units_leaves_estimator_unchanged(iris, cls, bad, match):
    X, y = iris
    est = _fit_quiet(cls((12, 8), hidden_units=("bernoulli", "nrelu"), pretrain_params=MEAN_FIELD,
                         max_iter=3, random_state=0), X, y)
    before = {k: v for k, v in est.__dict__.items() if k.endswith("_")}
    coefs = [W.copy() for W in est.coefs_]
    est.set_params(hidden_units=bad)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)
    after = {k: v for k, v in est.__dict__.items() if k.endswith("_")}
    assert after.keys() == before.keys()
    assert est.dbn_ is before["dbn_"]
    assert est.activations_ == ["logistic", "relu"]
    for W0, W in zip(coefs, est.coefs_):
        np.testing.assert_array_equal(W0, W)


def test_hidden_units_in_pretrain_params_is_refused(iris):
    X, y = iris
    clf = DBNClassifier((8,), pretrain_params={"hidden_units": "nrelu"})
    with pytest.raises(ValueError, match="pretrain_params must not set.*hidden_units"):
        clf.fit(X, y)
