"""DBMClassifier as users use it: on the network base (partial_fit, warm_start,
pickle, clone, Pipeline, GridSearchCV), its input map in every predict path,
and to_sklearn's refusal. Tiny DBMs, a few epochs: each test well under a second
or two."""

import pickle
import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from rbmlib import DBM, DBMClassifier


def _bars_labelled(n=120, seed=0):
    """4x4 images of horizontal (1) or vertical (0) bars: no linear rule separates them."""
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n)
    X = np.zeros((n, 16))
    for i in range(n):
        img = np.zeros((4, 4))
        on = rng.rand(4) < 0.5
        on[rng.randint(4)] = True
        if y[i]:
            img[on, :] = 1
        else:
            img[:, on] = 1
        X[i] = img.ravel()
    return X, y


_DBM = {"n_iter": 2, "n_iter_pretrain": 2, "n_chains": 20}


@pytest.fixture(scope="module")
def data():
    return _bars_labelled()


@pytest.fixture(scope="module")
def dbm(data):
    return DBM((8, 5), random_state=0, **_DBM).fit(data[0])


@contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # few epochs on purpose
        yield


def test_fitted_network_reads_the_augmented_input_in_every_predict_path(data, dbm):
    """With a step of 1e-12 the fitted network is the initial one: its hidden
    layers, read through predict's input map, are the DBM's mean-field posteriors."""
    X, y = data
    clf = DBMClassifier(dbm=dbm, learning_rate_init=1e-12, max_iter=1, random_state=0)
    with _quiet():
        clf.fit(X, y)
    mu = dbm._posteriors(X)
    assert clf.coefs_[0].shape == (16 + 5, 8) and clf.dbm_ is dbm
    assert_allclose(clf.hidden_activations(X, layer=0), mu[0], atol=1e-6)
    assert_allclose(clf.hidden_activations(X, layer=1), mu[1], atol=1e-6)
    assert clf.activations_ == ["logistic", "logistic"] and clf.pretrained_layers_ == 2
    # predict_log_proba from the pre-activations agrees with log(predict_proba)
    assert_allclose(clf.predict_log_proba(X[:5]), np.log(clf.predict_proba(X[:5])),
                    atol=1e-10)


def test_pickle_then_partial_fit_continues_the_network_and_keeps_the_dbm(data, dbm):
    X, y = data
    clf = DBMClassifier(dbm=dbm, learning_rate_init=0.01, max_iter=3, random_state=0)
    with _quiet():
        clf.fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    assert_array_equal(again.predict_proba(X), clf.predict_proba(X))
    dbm_before = [w.copy() for w in again.dbm_.coefs_]
    clf.partial_fit(X, y)
    again.partial_fit(X, y)
    for a, b in zip(clf.coefs_, again.coefs_):
        assert_array_equal(a, b)  # the optimiser's state travelled with the pickle
    assert again.n_iter_ == 4 and len(again.loss_curve_) == 4
    for w, w0 in zip(again.dbm_.coefs_, dbm_before):
        assert_array_equal(w, w0)  # fine-tuning leaves the DBM as it was
    with pytest.raises(ValueError, match="classes"):
        again.partial_fit(X, y, classes=[0, 1, 2])


def test_partial_fit_from_scratch_fits_the_dbm_once(data):
    X, y = data
    clf = DBMClassifier((6, 4), dbm_params=_DBM, learning_rate_init=0.01, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    assert not hasattr(clf, "coefs_")  # a failed call leaves it as it was
    clf.partial_fit(X, y, classes=[0, 1])
    dbm = clf.dbm_
    clf.partial_fit(X, y)
    assert clf.dbm_ is dbm and clf.n_iter_ == 2
    assert_array_equal(clf.classes_, [0, 1])


def test_warm_start_continues_and_refuses_new_classes(data, dbm):
    X, y = data
    clf = DBMClassifier(dbm=dbm, learning_rate_init=0.01, max_iter=2, warm_start=True,
                        random_state=0)
    with _quiet():
        clf.fit(X, y)
        first = [w.copy() for w in clf.coefs_]
        clf.fit(X, y)
    assert clf.dbm_ is dbm
    assert not np.allclose(clf.coefs_[-1], first[-1])
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X, y + 1)


def test_clone_pipeline_and_grid_search(data, dbm):
    X, y = data
    est = DBMClassifier((6, 4), dbm_params=_DBM, learning_rate_init=0.01, max_iter=5,
                        random_state=0)
    c = clone(est)
    assert c.get_params() == est.get_params() and not hasattr(c, "dbm_")
    pipe = make_pipeline(MinMaxScaler(), clone(est))
    with _quiet():
        pipe.fit(X * 3, y)  # scaled back into [0, 1] inside the pipeline
        grid = GridSearchCV(DBMClassifier(dbm=FrozenEstimator(dbm), max_iter=5,
                                          random_state=0),
                            {"learning_rate_init": [0.001, 0.01]}, cv=2).fit(X, y)
    assert pipe.predict(X * 3).shape == (X.shape[0],)
    assert 0.0 <= pipe.score(X * 3, y) <= 1.0
    # a frozen fitted dbm survives clone: shared, not refitted, by every fold
    assert grid.best_estimator_.dbm_ is dbm
    assert grid.best_estimator_.predict_proba(X).shape == (X.shape[0], 2)


def test_float32_input_gives_a_float32_network(data, dbm):
    X, y = data
    clf = DBMClassifier(dbm=dbm, max_iter=2, random_state=0)
    with _quiet():
        clf.fit(X.astype(np.float32), y)
    assert all(w.dtype == np.float32 for w in clf.coefs_)
    assert clf.predict_proba(X.astype(np.float32)).dtype == np.float32


def test_to_sklearn_says_why_it_cannot(data, dbm):
    X, y = data
    clf = DBMClassifier(dbm=dbm, max_iter=1, random_state=0)
    with _quiet():
        clf.fit(X, y)
    with pytest.raises(NotImplementedError, match="mean-field posterior"):
        clf.to_sklearn()


def test_bad_dbm_and_layers_are_refused_before_training(data):
    X, y = data
    with pytest.raises(TypeError, match="rbmlib.DBM"):
        DBMClassifier(dbm=MinMaxScaler()).fit(X, y)
    with pytest.raises(ValueError, match="at least two"):
        DBMClassifier((5,)).fit(X, y)


def test_ctrl_c_in_the_dbm_leaves_the_classifier_as_it_was_and_hands_back_the_dbm(
        data, monkeypatch):
    """Ctrl-C during the DBM's joint training (fitted inside): the DBM keeps its
    completed epochs, the classifier is left unfitted, and the KeyboardInterrupt
    carries that DBM as exc.dbm, which DBMClassifier(dbm=exc.dbm) fine-tunes."""
    from rbmlib._kernels import dbm as kd

    X, y = data[0][:60], data[1][:60]  # one batch of 60 rows per epoch
    real = kd.mean_field
    calls = {"n": 0}

    def interrupting(*a, **k):  # the joint epochs' mean field on the batch
        if a[0].shape[0] == 60:
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(kd, "mean_field", interrupting)
    clf = DBMClassifier((6, 4), dbm_params={"n_iter": 5, "n_iter_pretrain": 1,
                                            "batch_size": 60, "n_chains": 20},
                        max_iter=2, random_state=0)
    with pytest.warns(RuntimeWarning) as rec, pytest.raises(KeyboardInterrupt) as info:
        clf.fit(X, y)
    monkeypatch.setattr(kd, "mean_field", real)
    assert not hasattr(clf, "coefs_") and not hasattr(clf, "dbm_")
    dbm = info.value.dbm
    assert dbm.interrupted_ and dbm.n_iter_ == 1 and dbm.n_iter_pretrain_ == 2  # joint 2 cut
    assert any("exc.dbm" in str(w.message) for w in rec)
    with _quiet():
        DBMClassifier(dbm=dbm, max_iter=2, random_state=0).fit(X, y)
