"""DBN, DBNClassifier and DBNRegressor in ordinary scikit-learn use.

Defaults against scikit-learn's MLP defaults on real data sets, the
semi-supervised label convention, failed refits, Ctrl-C (real SIGINTs),
duplicate CSR entries, predict_log_proba, parameter errors, grid search,
set_params then refit, and pickle/joblib round trips.
"""

import io
import os
import pickle
import re
import signal
import sys
import time
import warnings
from contextlib import contextmanager, redirect_stdout

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import log_expit
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris, load_wine, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import rbmlib.mlp as mlp_module
from rbmlib import (DBN, BernoulliRBM, DBNClassifier, DBNRegressor, DivergenceError,
                    GaussianBernoulliRBM)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _workflow import run_with_sigint as _run_with_sigint  # noqa: E402


def _minmax(X):
    return MinMaxScaler(clip=True).fit_transform(X)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return _minmax(X), y


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16.0, y[:400]


@contextmanager
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


# ----------------------------------------------------------------------------
# 3. Defaults learn where scikit-learn's MLP defaults learn
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("loader", [load_iris, load_wine], ids=["iris", "wine"])
def test_default_classifier_within_003_of_mlp_defaults(loader):
    """5-fold CV with MinMaxScaler(clip=True): the old defaults scored 0.33 / 0.38."""
    X, y = loader(return_X_y=True)
    cv = StratifiedKFold(5, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = cross_val_score(make_pipeline(MinMaxScaler(clip=True),
                                             DBNClassifier(random_state=0)), X, y, cv=cv)
        ref = cross_val_score(make_pipeline(MinMaxScaler(clip=True),
                                            MLPClassifier(random_state=0)), X, y, cv=cv)
    assert ours.mean() >= ref.mean() - 0.03, (ours.mean(), ref.mean())


def test_default_regressor_learns_make_regression():
    """Targets of scale ~100: standardised internally, predictions in y's units."""
    X, y = make_regression(n_samples=500, n_features=10, n_informative=8, noise=5.0,
                           random_state=0)
    Xtr, Xte, ytr, yte = X[:400], X[400:], y[:400], y[400:]
    scaler = MinMaxScaler(clip=True).fit(Xtr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = DBNRegressor(random_state=0).fit(scaler.transform(Xtr), ytr)
    assert reg.score(scaler.transform(Xte), yte) > 0.9
    # the sklearn conversion folds the target scaling into the output layer
    assert_allclose(reg.to_sklearn().predict(scaler.transform(Xte)),
                    reg.predict(scaler.transform(Xte)), rtol=1e-6, atol=1e-6)


def test_stalled_training_warns(iris):
    """A step too small to move the loss: a plateau at the loss of a constant
    prediction does not stop training (not convergence); the warning says so."""
    X, y = iris
    clf = DBNClassifier((16,), n_iter_pretrain=1, learning_rate_init=1e-9, max_iter=60,
                        random_state=0)
    with pytest.warns(ConvergenceWarning, match="After 60 epochs the training loss .* no "
                                                "better than that of a constant prediction"):
        clf.fit(X, y)
    assert clf.n_iter_ == 60
    reg = DBNRegressor((16,), n_iter_pretrain=1, learning_rate_init=1e-9, max_iter=30,
                       random_state=0)
    with pytest.warns(ConvergenceWarning, match="constant prediction"):
        reg.fit(X[:, :3], X[:, 3])
    # with early stopping the validation score decides: stopped, and stalled
    clf.set_params(early_stopping=True, max_iter=200)
    with pytest.warns(ConvergenceWarning, match="training stalled: it stopped after"):
        clf.fit(X, y)
    assert clf.n_iter_ < 200


def test_flat_pretrained_layers_start_from_random_weights():
    """make_regression scaled to [0, 1]: features near 0.5 leave the RBMs' hidden
    units constant; the network does not start from them (and says so)."""
    X, y = make_regression(n_samples=300, n_features=10, random_state=0)
    X = _minmax(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a routine fallback: no warning...
        warnings.simplefilter("ignore", ConvergenceWarning)  # (max_iter=5)
        # Bernoulli visible units on purpose: first_layer="auto" gives min-max
        # scaled measurements Gaussian units, which do not go flat
        reg = DBNRegressor((32, 16), n_iter_pretrain=3, max_iter=5, random_state=0,
                           first_layer="bernoulli",
                           pretrain_params={"sample_visible": True}).fit(X, y)
    assert reg.pretrained_layers_ == 0 and len(reg.dbn_.rbms_) == 2
    with _quiet(), redirect_stdout(io.StringIO()) as out:  # ...but verbose says so
        reg.set_params(verbose=1).fit(X, y)
    assert re.search("almost constant.*layers 1-2 start from random", out.getvalue())
    reg.set_params(verbose=0)
    assert not np.allclose(reg.coefs_[0], reg.dbn_.rbms_[0].components_.T, atol=0.05)
    # a fitted dbn passed in is used whole
    with _quiet():
        reg2 = DBNRegressor(dbn=reg.dbn_, max_iter=1, learning_rate_init=1e-12,
                            alpha=0.0).fit(X, y)
    assert reg2.pretrained_layers_ == 2
    assert_allclose(reg2.coefs_[0], reg.dbn_.rbms_[0].components_.T, atol=1e-9)


def test_auto_pretraining_epochs_scale_with_the_number_of_updates(iris):
    X, _ = iris
    with _quiet():
        dbn = DBN((8, 4), random_state=0).fit(X)
    # 150 rows in batches of 10: 15 updates per epoch -> ceil(1000 / 15) epochs
    assert [r.n_iter for r in dbn.rbms_] == [67, 67]
    Xb = np.tile(X, (100, 1))  # 15,000 rows: 1500 updates per epoch -> 10 epochs
    assert DBN((4,), n_iter=0)._make_rbms(np.random.RandomState(0), len(Xb))[0].n_iter == 0
    assert DBN((4,))._make_rbms(np.random.RandomState(0), len(Xb))[0].n_iter == 10


# ----------------------------------------------------------------------------
# 4. Label -1: semi-supervised convention, with a warning
# ----------------------------------------------------------------------------


def test_minus_one_labels_warn_and_can_be_a_class(iris):
    X, y = iris
    y3 = y - 1  # {-1, 0, 1}
    clf = DBNClassifier((8,), n_iter_pretrain=1, max_iter=5, random_state=0)
    with pytest.warns(UserWarning, match=r"50 of 150 rows have the label -1.*"
                                         r"unlabeled_label=-1 to say so.*"
                                         r"unlabeled_label=None if -1 is a class"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y3)
    assert_array_equal(clf.classes_, [0, 1])
    assert clf.t_ == 5 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf2 = clone(clf).set_params(unlabeled_label=None).fit(X, y3)
    assert_array_equal(clf2.classes_, [-1, 0, 1])
    assert clf2.t_ == 5 * 150


def test_explicit_unlabeled_label_is_a_silent_semi_supervised_fit(iris):
    """unlabeled_label=-1 says the -1 rows are unlabelled: no warning, in every CV fold."""
    X, y = iris
    y_semi = y.copy()
    y_semi[::3] = -1
    clf = DBNClassifier((8,), n_iter_pretrain=1, max_iter=20, unlabeled_label=-1,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y_semi)
        # a custom scorer on the labelled rows only, as a semi-supervised CV would
        cross_val_score(clf, X, y_semi, cv=3,
                        scoring=lambda e, Xs, ys: e.score(Xs[ys != -1], ys[ys != -1]))
    assert_array_equal(clf.classes_, [0, 1, 2])
    assert clf.t_ == 20 * 100


def test_multilabel_y_with_unlabelled_rows():
    """A 2-D indicator y: rows of -1 are unlabelled (pretraining only); a row with
    -1 in some columns only is refused with a clear error."""
    rng = np.random.RandomState(0)
    X = rng.rand(60, 6)
    Y = (X[:, :3] > 0.5).astype(int)
    Y_semi = Y.copy()
    Y_semi[:20] = -1
    clf = DBNClassifier((8,), n_iter_pretrain=1, max_iter=3, unlabeled_label=-1,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, Y_semi)
    assert clf.predict(X).shape == (60, 3) and clf.t_ == 3 * 40
    assert len(clf.dbn_.rbms_) == 1 and clf.dbn_.rbms_[0].n_features_in_ == 6
    with pytest.warns(UserWarning, match="20 of 60 rows of y are all -1"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clone(clf).set_params(unlabeled_label="auto").fit(X, Y_semi)
    Y_bad = Y.copy()
    Y_bad[5, 0] = -1
    with pytest.raises(ValueError, match="row 5 holds unlabeled_label=-1 in some columns"):
        clone(clf).fit(X, Y_bad)


# ----------------------------------------------------------------------------
# 5. A failed (re)fit leaves the estimator usable and consistent
# ----------------------------------------------------------------------------


def _state(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("__")}


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if k in ("coefs_", "intercepts_"):
            for u, v in zip(a[k], b[k]):
                assert_array_equal(u, v)
        elif isinstance(a[k], np.ndarray):
            assert_array_equal(a[k], b[k])
        else:
            assert a[k] is b[k] or a[k] == b[k], k


@pytest.mark.parametrize("bad", ["pretraining_diverges", "no_labels", "bad_dbn", "nan",
                                 "bad_sizes"])
def test_failed_refit_leaves_the_fitted_model_unchanged(iris, bad):
    X, y = iris
    with _quiet():
        clf = DBNClassifier((8,), n_iter_pretrain=2, max_iter=5, random_state=0).fit(X, y)
    before = _state(clf)
    P = clf.predict_proba(X)
    X6 = np.hstack([X, X[:, :2]])  # a different number of features
    y2 = np.arange(150) % 2  # two classes instead of three
    refit = {
        "pretraining_diverges": lambda: clf.set_params(learning_rate_pretrain=1e9).fit(X6, y2),
        "no_labels": lambda: clf.fit(X6, -np.ones(150, int)),
        "bad_dbn": lambda: clf.set_params(dbn=BernoulliRBM(4)).fit(X6, y2),
        "nan": lambda: clf.fit(np.where(X6 > 0.9, np.nan, X6), y2),
        "bad_sizes": lambda: clf.set_params(hidden_layer_sizes=(4, True)).fit(X6, y2),
    }[bad]
    with pytest.raises((ValueError, TypeError)), np.errstate(all="ignore"), _quiet():
        refit()
    _assert_same_state(_state(clf), before)
    assert clf.n_features_in_ == 4
    assert_array_equal(clf.predict_proba(X), P)


def test_diverging_refit_gives_a_consistent_new_model(iris):
    """Fine-tuning diverges: classes_, n_features_in_ and the network all of the new fit."""
    X, y = iris
    with _quiet():
        clf = DBNClassifier((8,), n_iter_pretrain=2, max_iter=5, random_state=0).fit(X, y)
    X6 = np.hstack([X, X[:, :2]])
    y2 = np.arange(150) % 2
    clf.set_params(learning_rate_init=1e9, solver="sgd")
    with pytest.raises(DivergenceError, match="learning_rate_init"), np.errstate(all="ignore"):
        with _quiet():
            clf.fit(X6, y2)
    assert_array_equal(clf.classes_, [0, 1])
    assert clf.n_features_in_ == 6 and clf.coefs_[0].shape[0] == 6
    assert clf.coefs_[-1].shape[1] == 1 and clf.n_outputs_ == 1
    assert clf.predict(X6).shape == (150,)
    assert np.all(np.isfinite(clf.predict_proba(X6)))


def test_failed_dbn_refit_leaves_it_unchanged(iris):
    X, _ = iris
    with _quiet():
        dbn = DBN((6, 3), n_iter=2, random_state=0).fit(X)
    W = dbn.rbms_[0].components_.copy()
    H = dbn.transform(X)
    with pytest.raises(DivergenceError), np.errstate(all="ignore"), _quiet():
        dbn.set_params(learning_rate=1e9).fit(np.hstack([X, X]))
    assert dbn.n_features_in_ == 4
    assert_array_equal(dbn.rbms_[0].components_, W)
    assert_array_equal(dbn.transform(X), H)


# ----------------------------------------------------------------------------
# 6. Ctrl-C: real SIGINTs
# ----------------------------------------------------------------------------


def _returns(fn):
    """fn(); a KeyboardInterrupt escaping it fails the test (not the whole session)."""
    try:
        return fn()
    except KeyboardInterrupt:
        pytest.fail("the KeyboardInterrupt escaped fit")


def _sigint_on_call(monkeypatch, module, attr, n):
    """Send a real SIGINT to this process from inside the n-th call of module.attr."""
    real = getattr(module, attr)
    calls = {"n": 0}

    def patched(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)  # the KeyboardInterrupt is raised here
        return real(*args, **kwargs)

    monkeypatch.setattr(module, attr, patched)
    return calls


@pytest.mark.parametrize("delay", [0.3, 1.0, 2.5])
def test_sigint_stops_all_of_dbn_pretraining(digits, delay):
    X, _ = digits
    with _quiet():
        DBN((8,), n_iter=1, random_state=0).fit(X)  # compile outside the timing
    # ~0.5 ms per epoch here: without a prompt stop the fit runs ~30 s and fails
    dbn = DBN((32, 16, 8), n_iter=20000, random_state=0)
    kind, out, msgs = _run_with_sigint(delay, lambda: dbn.fit(X))
    if kind == "raised":  # in the first epoch of the first layer: nothing kept
        assert not hasattr(dbn, "rbms_")
        return
    assert dbn.interrupted_
    assert any("DBN: pretraining interrupted" in m for m in msgs), msgs
    # all training stopped: the last kept layer is partial, no layer after it ran
    assert 1 <= len(dbn.rbms_) <= 3
    assert all(r.n_iter_ == r.n_iter for r in dbn.rbms_[:-1])
    assert dbn.rbms_[-1].n_iter_ < 20000
    H = dbn.transform(X)
    assert H.shape == (len(X), dbn.rbms_[-1].n_components) and np.all(np.isfinite(H))


def test_sigint_between_layers_keeps_the_completed_layers(digits, monkeypatch):
    X, _ = digits
    _sigint_on_call(monkeypatch, BernoulliRBM, "transform", 1)
    dbn = DBN((16, 8, 4), n_iter=2, random_state=0)
    with pytest.warns(RuntimeWarning, match=r"after layer 1 of 3.*1 layer\(s\)"):
        _returns(lambda: dbn.fit(X))
    monkeypatch.undo()
    assert dbn.interrupted_ and len(dbn.rbms_) == 1 and dbn.rbms_[0].n_iter_ == 2
    assert dbn.transform(X).shape == (len(X), 16)


def test_sigint_in_a_later_layer_keeps_its_completed_epochs(digits, monkeypatch):
    X, _ = digits
    # one _run_epoch call per CD epoch: layer 1 makes calls 1-3, layer 2 calls 4, 5, ...
    _sigint_on_call(monkeypatch, BernoulliRBM, "_run_epoch", 3 + 3)
    dbn = DBN((16, 8, 4), n_iter=(3, 5, 5), random_state=0)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        _returns(lambda: dbn.fit(X))
    monkeypatch.undo()
    msgs = [str(w.message) for w in rec]
    assert any("in layer 2 of 3 after 2 of 5 epochs" in m for m in msgs), msgs
    assert [r.n_iter_ for r in dbn.rbms_] == [3, 2]  # layer 3 never ran
    assert dbn.transform(X).shape == (len(X), 8)
    ref = DBN((16, 8), n_iter=(3, 2), random_state=0)
    with _quiet():
        ref.fit(X)
    assert_allclose(dbn.transform(X), ref.transform(X), rtol=1e-12)


@pytest.mark.parametrize("delay", [0.3, 1.5])
def test_sigint_in_classifier_pretraining_restores_and_attaches_the_dbn(digits, delay):
    X, y = digits
    with _quiet():
        clf = DBNClassifier((16, 8), n_iter_pretrain=2, max_iter=3, random_state=0).fit(X, y)
    before = _state(clf)
    clf.set_params(n_iter_pretrain=20000)
    kind, out, msgs = _run_with_sigint(delay, lambda: clf.fit(X, y))
    assert kind == "raised"
    _assert_same_state(_state(clf), before)  # left exactly as before this fit
    assert any("before any fine-tuning epoch completed" in m and "exc.dbn" in m
               for m in msgs), msgs
    dbn = out.dbn
    assert isinstance(dbn, DBN) and dbn.interrupted_
    # the completed pretraining is reused, not repeated
    with _quiet():
        clf2 = DBNClassifier(dbn=dbn, max_iter=3, random_state=0).fit(X, y)
    assert clf2.dbn_ is dbn
    assert_array_equal(clf2.coefs_[0].shape, dbn.rbms_[0].components_.T.shape)


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("delay", [0.5, 2.0])
def test_sigint_in_fine_tuning_keeps_the_last_completed_epoch(digits, delay, early_stopping):
    X, y = digits
    clf = DBNClassifier((16,), n_iter_pretrain=1, max_iter=10**5, tol=0.0,
                        n_iter_no_change=10**5, early_stopping=early_stopping,
                        batch_size=50, random_state=0)
    with _quiet():
        clone(clf).set_params(max_iter=1).fit(X, y)  # compile outside the timing
    kind, out, msgs = _run_with_sigint(delay, lambda: clf.fit(X, y))
    if kind == "raised":  # landed before the first fine-tuning epoch completed
        assert not hasattr(clf, "coefs_")
        return
    assert clf.interrupted_ and 1 <= clf.n_iter_ < 10**5
    assert len(clf.loss_curve_) == clf.n_iter_
    assert any("interrupted by the user" in m for m in msgs), msgs
    assert not any("maximum iterations" in m for m in msgs)
    if early_stopping:
        assert len(clf.validation_scores_) == clf.n_iter_
        assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert np.all(np.isfinite(clf.predict_proba(X)))


def test_sigint_in_monitoring_rolls_back_the_unfinished_epoch(digits, monkeypatch):
    """SIGINT inside the validation scoring of epoch 4: epochs 1-3 are kept."""
    X, y = digits
    kw = dict(hidden_layer_sizes=(16,), n_iter_pretrain=1, early_stopping=True,
              tol=0.0, n_iter_no_change=100, random_state=0)
    _sigint_on_call(monkeypatch, mlp_module, "forward", 4)
    clf = DBNClassifier(max_iter=50, **kw)
    with pytest.warns(RuntimeWarning, match="after 3 of at most 50 epochs"):
        _returns(lambda: clf.fit(X, y))
    monkeypatch.undo()
    assert clf.n_iter_ == 3 and len(clf.validation_scores_) == 3
    with _quiet():
        ref = DBNClassifier(max_iter=3, **kw).fit(X, y)
    assert ref.validation_scores_ == clf.validation_scores_
    assert_array_equal(clf.predict_proba(X), ref.predict_proba(X))


def test_sigint_before_fine_tuning_completes_an_epoch(digits, monkeypatch):
    X, y = digits
    _sigint_on_call(monkeypatch, mlp_module._k, "train_epoch", 1)
    clf = DBNRegressor((8,), n_iter_pretrain=2, random_state=0)
    with pytest.raises(KeyboardInterrupt) as info, _quiet():
        clf.fit(X, y.astype(float))
    monkeypatch.undo()
    assert not hasattr(clf, "coefs_") and not hasattr(clf, "n_features_in_")
    assert isinstance(info.value.dbn, DBN) and not info.value.dbn.interrupted_


# ----------------------------------------------------------------------------
# 10. Duplicate CSR entries are summed, as scipy does
# ----------------------------------------------------------------------------


def _with_duplicates(X):
    """A CSR matrix equal (for scipy) to X whose entries are each stored twice, halved."""
    C = sp.coo_matrix(X)
    rows = np.concatenate([C.row, C.row])
    cols = np.concatenate([C.col, C.col])
    data = np.concatenate([C.data, C.data]) / 2
    order = np.argsort(rows, kind="stable")
    M = sp.csr_matrix((data[order], cols[order],
                       np.searchsorted(rows[order], np.arange(X.shape[0] + 1))),
                      shape=X.shape)
    assert not M.has_canonical_format
    return M


@pytest.mark.parametrize("name", ["DBN", "DBNClassifier", "DBNRegressor"])
def test_csr_duplicates_are_summed(digits, name):
    X, y = digits
    X = X[:120]
    Xd = _with_duplicates(X)
    assert_allclose(Xd.toarray(), X)
    data, indices = Xd.data.copy(), Xd.indices.copy()
    est = {"DBN": DBN((8,), n_iter=2, random_state=0),
           "DBNClassifier": DBNClassifier((8,), n_iter_pretrain=2, max_iter=5, random_state=0),
           "DBNRegressor": DBNRegressor((8,), n_iter_pretrain=2, max_iter=5, random_state=0)}[name]
    args = () if name == "DBN" else (y[:120] if name == "DBNClassifier" else y[:120] * 1.0,)
    with _quiet():
        a = clone(est).fit(X, *args)
        b = clone(est).fit(Xd, *args)
    method = "transform" if name == "DBN" else "predict"
    assert_allclose(getattr(b, method)(Xd), getattr(a, method)(X), rtol=1e-10, atol=1e-12)
    assert_allclose(getattr(a, method)(Xd), getattr(a, method)(X), rtol=1e-10, atol=1e-12)
    # the user's matrix is not modified
    assert not Xd.has_canonical_format
    assert_array_equal(Xd.data, data)
    assert_array_equal(Xd.indices, indices)


def test_mlp_kernel_input_sums_duplicates():
    X = np.random.RandomState(0).rand(30, 5)
    Xd = _with_duplicates(X)
    dense, data, indices, indptr, is_sparse = mlp_module._kernel_X(Xd)
    assert is_sparse
    assert_allclose(sp.csr_matrix((data, indices, indptr), shape=X.shape).toarray(), X)
    assert len(data) == np.count_nonzero(X)


# ----------------------------------------------------------------------------
# 14. predict_log_proba, the dbn parameter, hidden_layer_sizes, early stopping
# ----------------------------------------------------------------------------


def test_binary_predict_log_proba_is_finite_where_probabilities_saturate(iris):
    X, y = iris
    yb = (y == 2).astype(int)
    with _quiet():
        clf = DBNClassifier((8,), n_iter_pretrain=2, max_iter=20, random_state=0).fit(X, yb)
    clf.coefs_[-1] = clf.coefs_[-1] * 1e4  # saturate the output unit
    logP = clf.predict_log_proba(X)
    assert np.all(np.isfinite(logP))
    z = clf._forward(X, layer=0) @ clf.coefs_[-1] + clf.intercepts_[-1]
    assert_allclose(logP, np.hstack([log_expit(-z), log_expit(z)]), rtol=1e-12)
    assert_allclose(np.exp(logP), clf.predict_proba(X), atol=1e-12)
    with _quiet():
        clf3 = DBNClassifier((8,), n_iter_pretrain=2, max_iter=20, random_state=0).fit(X, y)
    clf3.coefs_[-1] = clf3.coefs_[-1] * 1e4
    assert np.all(np.isfinite(clf3.predict_log_proba(X)))


@pytest.mark.parametrize("cls", [DBNClassifier, DBNRegressor])
def test_dbn_parameter_must_be_a_dbn(iris, cls):
    X, y = iris
    for bad in [BernoulliRBM(4), make_pipeline(DBN((4,)))]:
        with pytest.raises(TypeError, match="dbn must be an rbmlib.DBN"):
            cls(dbn=bad, max_iter=2).fit(X, y * 1.0 if cls is DBNRegressor else y)


@pytest.mark.parametrize("sizes", [True, (4, True), (4, 2.5), 2.5, "ab", (), [[4, 2]],
                                   np.array([[4, 2]]), (4, 0), (4, -1), {"a": 1}, None])
@pytest.mark.parametrize("cls", [DBN, DBNClassifier, DBNRegressor])
def test_bad_hidden_layer_sizes(iris, cls, sizes):
    X, y = iris
    est = cls(hidden_layer_sizes=sizes)
    args = () if cls is DBN else (y,)
    with pytest.raises((ValueError, TypeError), match="hidden_layer_sizes"):
        est.fit(X, *args)
    assert not hasattr(est, "n_features_in_")


def test_early_stopping_follows_sklearns_rule(digits):
    X, y = digits
    with _quiet():
        clf = DBNClassifier((16,), n_iter_pretrain=1, early_stopping=True, n_iter_no_change=3,
                            tol=0.01, max_iter=200, random_state=0).fit(X, y)
    scores = clf.validation_scores_
    # replay scikit-learn's _update_no_improvement_count on the recorded scores
    best, count, stop = -np.inf, 0, None
    for i, s in enumerate(scores):
        count = count + 1 if s < best + 0.01 else 0
        best = max(best, s)
        if count > 3:
            stop = i + 1
            break
    assert stop == clf.n_iter_ < 200
    assert clf.best_validation_score_ == max(scores)
    assert clf.best_loss_ is None
    # the kept weights are those of the best epoch, not the last
    assert clf.validation_scores_.index(max(scores)) < clf.n_iter_ - 1


# ----------------------------------------------------------------------------
# 1. Grid search, set_params then refit, persistence
# ----------------------------------------------------------------------------


def test_grid_search_over_layers_and_pretraining(iris):
    X, y = iris
    base = DBNClassifier(max_iter=30, solver="sgd", learning_rate_init=0.1, batch_size=20,
                         random_state=0)
    grid = GridSearchCV(base, {"hidden_layer_sizes": [(8,), (8, 4)],
                               "n_iter_pretrain": [0, 3],
                               "learning_rate_pretrain": [0.05, 0.1]}, cv=2)
    with _quiet():
        grid.fit(X, y)
    assert len(grid.cv_results_["params"]) == 8
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.best_estimator_.n_layers_ == len(grid.best_params_["hidden_layer_sizes"]) + 2
    grid2 = GridSearchCV(DBN(n_iter=2, random_state=0).set_output(transform="default"),
                         {"hidden_layer_sizes": [(4,), (6, 3)], "batch_size": [10, 30]},
                         cv=2, scoring=lambda est, X, y=None: float(np.mean(est.transform(X))))
    with _quiet():
        grid2.fit(X)
    assert len(grid2.cv_results_["params"]) == 4


def test_set_params_then_refit(iris):
    X, y = iris
    with _quiet():
        clf = DBNClassifier((8,), n_iter_pretrain=2, max_iter=5, random_state=0).fit(X, y)
        clf.set_params(hidden_layer_sizes=(12, 6), n_iter_pretrain=(2, 1)).fit(X, y)
    assert [W.shape for W in clf.coefs_] == [(4, 12), (12, 6), (6, 3)]
    assert [r.n_iter_ for r in clf.dbn_.rbms_] == [2, 1]
    with _quiet():
        dbn = DBN((6,), n_iter=2, random_state=0).fit(X)
        dbn.set_params(hidden_layer_sizes=(5, 3), n_iter=1).fit(X)
    assert dbn.transform(X).shape == (150, 3)


@pytest.mark.parametrize("mmap_mode", [None, "r"])
def test_joblib_round_trip_then_predict_and_refit(iris, tmp_path, mmap_mode):
    X, y = iris
    with _quiet():
        clf = DBNClassifier((8, 4), n_iter_pretrain=2, max_iter=5, random_state=0).fit(X, y)
        reg = DBNRegressor((8,), n_iter_pretrain=2, max_iter=5, random_state=0).fit(X, y * 10.0)
    for est, method in [(clf, "predict_proba"), (reg, "predict"), (clf.dbn_, "transform")]:
        path = tmp_path / "model.joblib"
        joblib.dump(est, path)
        loaded = joblib.load(path, mmap_mode=mmap_mode)
        assert_array_equal(getattr(loaded, method)(X), getattr(est, method)(X))
        with _quiet():
            if isinstance(loaded, DBN):
                loaded.fit(X)
                # continue from the loaded (read-only) DBN in a classifier
                c2 = DBNClassifier(dbn=joblib.load(path, mmap_mode=mmap_mode), max_iter=3,
                                   random_state=0).fit(X, y)
                assert c2.predict(X).shape == (150,)
            else:
                loaded.set_params(max_iter=3).fit(X, y if loaded is not reg else y * 10.0)
        assert np.all(np.isfinite(getattr(loaded, method)(X)))


def test_pickles_hold_no_scratch_buffers(iris):
    X, y = iris
    with _quiet():
        clf = DBNClassifier((32, 16), n_iter_pretrain=2, max_iter=3, random_state=0).fit(X, y)
    state = pickle.loads(pickle.dumps(clf))
    objs = [state, state.dbn_] + list(state.dbn_.rbms_)
    for o in objs:
        for k in vars(o):
            assert "buf" not in k.lower() and "scratch" not in k.lower(), (type(o), k)
    # the network pickles its parameters, not per-batch activations
    n_param_bytes = sum(W.nbytes + b.nbytes for W, b in zip(clf.coefs_, clf.intercepts_))
    net = clone(clf)
    net.__dict__.update({k: v for k, v in vars(clf).items() if k != "dbn_"})
    assert len(pickle.dumps(net)) < 2 * n_param_bytes + 20000


def test_default_estimators_on_standardised_input_workflows(monkeypatch):
    """first_layer="auto" on StandardScaler output (a Gaussian bottom layer on X the DBN
    standardises itself), at the defaults: a Pipeline in GridSearchCV (set_params then
    refit), pickle then partial_fit, and a real SIGINT in the Gaussian layer's
    pretraining, which leaves the estimator as it was."""
    X, y = load_wine(return_X_y=True)
    Xs = StandardScaler().fit_transform(X)
    pipe = make_pipeline(StandardScaler(), DBNClassifier(random_state=0))
    with _quiet():
        grid = GridSearchCV(pipe, {"dbnclassifier__hidden_layer_sizes": [(16,), (32, 16)]},
                            cv=3).fit(X, y)
    best = grid.best_estimator_[-1]
    assert best.first_layer_ == "gaussian" and best.dbn_.scalers_[0] is not None
    assert grid.best_score_ > 0.9, grid.best_score_
    clf = pickle.loads(pickle.dumps(best))
    with _quiet():
        clf.partial_fit(Xs, y)
    assert clf.n_iter_ == best.n_iter_ + 1 and clf.first_layer_ == "gaussian"
    before = pickle.dumps(clf)
    _sigint_on_call(monkeypatch, GaussianBernoulliRBM, "_run_epoch", 1)
    with _quiet(), pytest.raises(KeyboardInterrupt):
        clf.fit(Xs, y)
    assert pickle.dumps(clf) == before
    assert clf.n_iter_ == best.n_iter_ + 1 and clf.first_layer_ == "gaussian"
