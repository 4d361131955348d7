"""DBMClassifier as users use it: on the network base (partial_fit, warm_start,
pickle, clone, Pipeline, GridSearchCV), its input map in every predict path,
and to_sklearn's refusal. Tiny DBMs, a few epochs: each test well under a second
or two."""

import os
import pickle
import sys
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _workflow import bars_labelled  # noqa: E402
from _workflow import run_with_sigint as _run_with_sigint  # noqa: E402


_DBM = {"n_iter": 2, "n_iter_pretrain": 2, "n_chains": 20}


@pytest.fixture(scope="module")
def data():
    return bars_labelled(120)


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


# ------------------------------------------------------------------ as users use it (H3)
def test_cross_val_score_of_pipelines_equals_fitting_each_fold_by_hand(data):
    """cross_val_score of Pipeline(MinMaxScaler, DBMClassifier) and of
    Pipeline(MinMaxScaler, DBM) (the variational bound of each held-out fold, nats)
    equals fitting a clone on each training fold by hand: the DBM fitted inside is
    refitted per fold, nothing is shared between folds. (That fine-tuning learns the
    bars is test_dbm.py's test_classifier_learns_and_reuses_a_fitted_dbm.)"""
    from sklearn.model_selection import KFold, cross_val_score

    X, y = data
    X3 = X * 3.0  # scaled back into [0, 1] by the pipeline
    cv = KFold(3, shuffle=True, random_state=0)
    clf = make_pipeline(MinMaxScaler(), DBMClassifier((8, 6), dbm_params=_DBM,
                                                      learning_rate_init=0.01, max_iter=20,
                                                      random_state=0))
    dbm = make_pipeline(MinMaxScaler(), DBM((8, 6), random_state=0, **_DBM))
    with _quiet():
        acc = cross_val_score(clf, X3, y, cv=cv)
        bound = cross_val_score(dbm, X3, cv=cv)
        by_hand = [(clone(clf).fit(X3[tr], y[tr]).score(X3[te], y[te]),
                    clone(dbm).fit(X3[tr]).score(X3[te])) for tr, te in cv.split(X3)]
    assert_array_equal(acc, [a for a, _ in by_hand])
    assert_allclose(bound, [b for _, b in by_hand], rtol=1e-12)
    assert len(set(bound)) == 3  # three DBMs, three held-out folds
    # binary 16-pixel rows: a bound below 0, and above coin flips' 16 log(1/2)
    # (measured about -10.5)
    assert np.all(bound < 0) and np.all(bound > 16 * np.log(0.5))


def test_grid_search_over_a_pipeline_with_the_dbm_inside(data):
    X, y = data
    pipe = make_pipeline(MinMaxScaler(), DBMClassifier((8, 6), dbm_params=_DBM, max_iter=10,
                                                       learning_rate_init=0.01,
                                                       random_state=0))
    grid = GridSearchCV(pipe, {"dbmclassifier__dbm_params": [_DBM, {**_DBM, "n_iter": 4}]},
                        cv=2)
    with _quiet():
        grid.fit(X * 3, y)
    scores = grid.cv_results_["mean_test_score"]
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    best = grid.best_estimator_[-1]
    assert best.dbm_.n_iter_ == grid.best_params_["dbmclassifier__dbm_params"]["n_iter"]
    assert grid.predict(X * 3).shape == y.shape


def test_plots_of_a_fine_tuned_dbm_classifier(data, dbm):
    """plot_history draws the fine-tuning loss; the filters and receptive fields are
    the weights from the 16 pixels (4x4 tiles), not from the appended q(h_2 | v)."""
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rbmlib.plotting import (
        _first_layer_weights,
        _layer_products,
        plot_filters,
        plot_history,
        plot_receptive_fields,
        tile_images,
    )

    X, y = data
    clf = DBMClassifier(dbm=dbm, learning_rate_init=0.01, max_iter=3, random_state=0)
    with _quiet():
        clf.fit(X, y)
    W, _ = _first_layer_weights(clf)
    assert_array_equal(W, clf.coefs_[0][:16].T)
    prods = _layer_products(clf)
    assert len(prods) == 2  # the output layer is left out
    assert_allclose(prods[1], clf.coefs_[1].T @ clf.coefs_[0][:16].T)
    for fig, title, R in ((plot_filters(clf), "DBMClassifier layer 1: 8 filters", W),
                          (plot_receptive_fields(clf),
                           "DBMClassifier layer 2: receptive fields of 5 units", prods[1])):
        assert fig.axes[0].get_title() == title
        # 4x4 tiles of the pixels' weights (20 inputs have no square image shape)
        shown = fig.axes[0].images[0].get_array().filled(np.nan)
        assert_allclose(shown, tile_images(R, (4, 4), scale="symmetric"), equal_nan=True)
        plt.close(fig)
    fig = plot_history(clf)
    line = fig.axes[0].get_lines()[0]
    assert_allclose(line.get_ydata(), clf.loss_curve_)
    plt.close(fig)
    fig = plot_history(clf.dbm_)
    assert len(fig.axes) >= 3
    plt.close(fig)


# ------------------------------------------------------------------ Ctrl-C: real SIGINTs


@pytest.mark.parametrize("delay", [0.5, 1.5])
def test_real_sigint_in_fine_tuning_keeps_the_completed_epochs(data, dbm, delay):
    X, y = data
    kw = dict(dbm=dbm, learning_rate_init=0.01, tol=0.0, n_iter_no_change=10**6,
              batch_size=20, random_state=0)
    with _quiet():
        DBMClassifier(max_iter=1, **kw).fit(X, y)  # compile outside the timing
    clf = DBMClassifier(max_iter=10**6, **kw)
    kind, out, msgs = _run_with_sigint(delay, lambda: clf.fit(X, y))
    if kind == "raised":  # before the first fine-tuning epoch completed: left unfitted
        assert not hasattr(clf, "coefs_")
        return
    assert clf.interrupted_ and 1 <= clf.n_iter_ < 10**6
    assert len(clf.loss_curve_) == clf.n_iter_
    assert any("interrupted by the user" in m for m in msgs), msgs
    # the kept network is that of a fit stopped after the same number of epochs
    with _quiet():
        ref = DBMClassifier(max_iter=clf.n_iter_, **kw).fit(X, y)
    for a, b in zip(clf.coefs_ + clf.intercepts_, ref.coefs_ + ref.intercepts_):
        assert_array_equal(a, b)
    assert_array_equal(clf.predict_proba(X), ref.predict_proba(X))


def test_real_sigint_in_the_dbm_fitted_inside_hands_back_its_epochs():
    """A real SIGINT during the joint training of the DBM that DBMClassifier.fit
    fits: the classifier is left unfitted and the KeyboardInterrupt carries the DBM
    with its completed epochs, which DBMClassifier(dbm=exc.dbm) fine-tunes."""
    rng = np.random.RandomState(0)
    X = (rng.rand(600, 100) < 0.3).astype(float)
    y = (X[:, :50].sum(1) > X[:, 50:].sum(1)).astype(int)
    dbm_params = dict(n_iter=100000, n_iter_pretrain=0, batch_size=10, n_chains=20)
    with _quiet():  # compile outside the timing
        DBMClassifier((100, 100), dbm_params={**dbm_params, "n_iter": 1}, max_iter=1,
                      random_state=0).fit(X[:40], y[:40])
    clf = DBMClassifier((100, 100), dbm_params=dbm_params, max_iter=2, random_state=0)
    kind, exc, msgs = _run_with_sigint(1.5, lambda: clf.fit(X, y))
    assert kind == "raised"  # no fine-tuning epoch ran: the KeyboardInterrupt goes on
    assert not hasattr(clf, "coefs_") and not hasattr(clf, "dbm_")
    dbm = getattr(exc, "dbm", None)
    if dbm is None:  # pragma: no cover - measured: 11 joint epochs by then
        pytest.skip("the SIGINT came before the first joint epoch ended")
    assert dbm.interrupted_ and 1 <= dbm.n_iter_ < 100000
    assert len(dbm.history_) == dbm.n_iter_
    assert any("exc.dbm" in m for m in msgs), msgs
    with _quiet():
        again = DBMClassifier(dbm=dbm, max_iter=2, random_state=0).fit(X, y)
    assert again.dbm_ is dbm and np.all(np.isfinite(again.predict_proba(X)))


def test_dask_input_streams_the_dbm_fitted_inside(data):
    """A dask X: the DBM fitted inside streams its chunks (the same model as an
    ndarray in blocks of the chunks' rows), fine-tuning reads X computed in
    memory, and predictions of a dask X are lazy."""
    da = pytest.importorskip("dask.array")
    X, y = data
    kw = dict(max_iter=3, learning_rate_init=0.01, random_state=0)
    with _quiet():
        lazy = DBMClassifier((6, 4), dbm_params=_DBM, **kw).fit(
            da.from_array(X, chunks=40), da.from_array(y, chunks=40))
        blocks = DBMClassifier((6, 4), dbm_params={**_DBM, "block_size": 40}, **kw).fit(X, y)
        whole = DBMClassifier((6, 4), dbm_params=_DBM, **kw).fit(X, y)
    for a, b in zip(lazy.coefs_ + lazy.dbm_.coefs_, blocks.coefs_ + blocks.dbm_.coefs_):
        assert_array_equal(a, b)
    assert not np.array_equal(lazy.dbm_.coefs_[0], whole.dbm_.coefs_[0])  # not in memory
    P = lazy.predict_proba(da.from_array(X, chunks=40))
    assert isinstance(P, da.Array)
    assert_allclose(P.compute(), lazy.predict_proba(X), rtol=1e-12)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_fine_tuning_options_of_the_network_base(data, dbm, solver):
    """What DBNClassifier's fine-tuning has: optimisers, dropout, early stopping
    (the best epoch's weights kept, scored on a stratified hold-out)."""
    X, y = data
    kw = dict(dbm=dbm, solver=solver, learning_rate_init=0.01, max_iter=15,
              random_state=0)
    with _quiet():
        plain = DBMClassifier(**kw).fit(X, y)
        dropped = DBMClassifier(dropout=0.5, input_dropout=0.2, **kw).fit(X, y)
        early = DBMClassifier(early_stopping=True, n_iter_no_change=3, **kw).fit(X, y)
    assert not np.allclose(plain.coefs_[0], dropped.coefs_[0])  # dropout changed training
    assert len(early.validation_scores_) == early.n_iter_
    assert early.best_validation_score_ == max(early.validation_scores_)
    for clf in (plain, dropped, early):
        assert clf.dbm_ is dbm and np.all(np.isfinite(clf.predict_proba(X)))
