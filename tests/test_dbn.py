"""Tests of DBN, DBNClassifier and DBNRegressor."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

import rbmlib
from rbmlib import DBN, BernoulliRBM, DBNClassifier, DBNRegressor
from rbmlib.mlp import forward

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# scikit-learn's estimator checks for DBN, DBNClassifier and DBNRegressor run in
# tests/test_common.py.


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


# ----------------------------------------------------------------------------
# DBN
# ----------------------------------------------------------------------------


def test_greedy_layerwise_training(digits):
    """Layer l is an RBM trained on layer l-1's hidden probabilities, seeded from rng."""
    X = digits[0][:300]
    dbn = DBN((20, 10), n_iter=(3, 2), learning_rate=(0.1, 0.05), batch_size=10,
              random_state=7).fit(X)
    seeds = np.random.RandomState(7).randint(np.iinfo(np.int32).max, size=2)
    # the DBN's default sample_visible=False reaches every Bernoulli layer
    r0 = BernoulliRBM(20, n_iter=3, learning_rate=0.1, batch_size=10, sample_visible=False,
                      random_state=int(seeds[0])).fit(X)
    H0 = r0.transform(X)
    r1 = BernoulliRBM(10, n_iter=2, learning_rate=0.05, batch_size=10, sample_visible=False,
                      random_state=int(seeds[1])).fit(H0)
    assert len(dbn.rbms_) == 2
    assert [r.n_iter for r in dbn.rbms_] == [3, 2]
    assert_array_equal(dbn.rbms_[0].components_, r0.components_)
    assert_array_equal(dbn.rbms_[1].components_, r1.components_)
    assert_allclose(dbn.transform(X), r1.transform(H0))
    assert dbn.get_feature_names_out().tolist() == [f"dbn{i}" for i in range(10)]


def test_dbn_settings_once_or_per_layer():
    X = np.random.RandomState(0).rand(30, 5)
    dbn = DBN((4, 3, 2), k=2, persistent=(True, False, True), n_iter=1,
              rbm_params=[{}, {"weight_decay": 1e-3}, {}], random_state=0).fit(X)
    assert [r.k for r in dbn.rbms_] == [2, 2, 2]
    assert [r.persistent for r in dbn.rbms_] == [True, False, True]
    assert [r.weight_decay for r in dbn.rbms_] == [0.0, 1e-3, 0.0]
    assert [r.n_components for r in dbn.rbms_] == [4, 3, 2]
    with pytest.raises(ValueError, match=r"n_iter must be a single value or one value per "
                                         r"layer \(3\); got 2 values"):
        DBN((4, 3, 2), n_iter=(1, 2)).fit(X)
    with pytest.raises(ValueError, match="hidden_layer_sizes must hold positive integers"):
        DBN((4, 0)).fit(X)
    with pytest.raises(ValueError, match="learning_rate"):
        DBN((4,), learning_rate=(-1.0,)).fit(X)


def test_dbn_dtype_and_sparse():
    rng = np.random.RandomState(0)
    X = (rng.rand(40, 8) < 0.3).astype(np.float32)
    dbn = DBN((5, 3), n_iter=2, random_state=0).fit(X)
    assert dbn.transform(X).dtype == np.float32
    dbn_sp = DBN((5, 3), n_iter=2, random_state=0).fit(sp.csr_matrix(X))
    assert_allclose(dbn_sp.transform(X), dbn.transform(X), rtol=1e-5)


def test_dbn_sample(digits):
    X = digits[0][:200]
    for sizes in [(16,), (16, 8)]:
        dbn = DBN(sizes, n_iter=2, random_state=0).fit(X)
        S = dbn.sample(5, n_gibbs=10, random_state=3)
        assert S.shape == (5, 64)
        assert np.all((S >= 0) & (S <= 1))
        assert_array_equal(S, dbn.sample(5, n_gibbs=10, random_state=3))
        assert not np.array_equal(S, dbn.sample(5, n_gibbs=10, random_state=4))
    with pytest.raises(ValueError, match="n_samples"):
        dbn.sample(0)
    with pytest.raises(ValueError, match="n_gibbs"):
        dbn.sample(2, n_gibbs=-1)


def test_gaussian_first_layer():
    X = np.random.RandomState(0).normal(size=(30, 4))
    if hasattr(rbmlib, "GaussianBernoulliRBM"):
        dbn = DBN((3, 2), first_layer="gaussian", n_iter=2, random_state=0).fit(X)
        assert isinstance(dbn.rbms_[0], rbmlib.GaussianBernoulliRBM)
        clf = DBNClassifier(dbn=dbn, max_iter=1, learning_rate_init=1e-12, alpha=0.0)
        clf.fit(X, np.arange(30) % 2)
        assert_allclose(clf.hidden_activations(X), dbn.transform(X), atol=1e-8)
    else:
        with pytest.raises(ValueError, match="GaussianBernoulliRBM"):
            DBN((3,), first_layer="gaussian").fit(X)


def test_bad_input_errors():
    X = np.random.RandomState(0).rand(10, 4)
    Xnan = X.copy()
    Xnan[0, 0] = np.nan
    for est in [DBN((3,), n_iter=1, first_layer="bernoulli"),
                DBNClassifier((3,), n_iter_pretrain=1, max_iter=1, first_layer="bernoulli")]:
        y = np.arange(10) % 2
        fit = (lambda Z: est.fit(Z)) if isinstance(est, DBN) else (lambda Z: est.fit(Z, y))
        with pytest.raises(ValueError, match="NaN"):
            fit(Xnan)
        with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
            fit(X[:, 0])
        with pytest.raises(ValueError, match="0 sample"):
            fit(X[:0])
        with pytest.warns(Warning, match=r"\[0, 1\]"):  # check_range="warn"
            fit(X * 5)
        fit(X)
        method = est.transform if isinstance(est, DBN) else est.predict
        with pytest.raises(ValueError, match="4 features"):
            method(X[:, :3])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        DBNClassifier((3,)).fit(X, np.arange(9) % 2)
    with pytest.raises(ValueError, match="no labelled samples"):
        DBNClassifier((3,)).fit(X, -np.ones(10, int))
    # -1 besides a single class can only be a class: kept as one, with a warning
    y_pm = np.where(np.arange(10) % 2, 1, -1)
    with pytest.warns(UserWarning, match="single class besides unlabeled_label=-1.*"
                                         "unlabeled_label=None"):
        clf = DBNClassifier((3,), n_iter_pretrain=1, max_iter=2).fit(X, y_pm)
    assert_array_equal(clf.classes_, [-1, 1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        DBNClassifier((3,), unlabeled_label=None).fit(X, np.ones(10))
    with pytest.raises(ValueError, match="Unknown label type"):
        DBNClassifier((3,)).fit(X, np.linspace(0, 1, 10))
    with pytest.raises(ValueError, match="Input y contains NaN"):
        DBNRegressor((3,)).fit(X, np.full(10, np.nan))
    with pytest.raises(ValueError, match="dropout"):
        DBNClassifier(dropout=1.0).fit(X, np.arange(10) % 2)
    with pytest.raises(ValueError, match="solver"):
        DBNRegressor(solver="lbfgs").fit(X, np.arange(10.0))


# ----------------------------------------------------------------------------
# pretraining -> network
# ----------------------------------------------------------------------------


def test_weight_transfer_is_exact(digits):
    """Before fine-tuning, the network's last hidden layer is DBN.transform."""
    X, y = digits
    X = X[:300]
    dbn = DBN((24, 12), n_iter=2, random_state=0).fit(X)
    clf = DBNClassifier(dbn=dbn, random_state=0)
    coefs, ints = clf._initial_weights(dbn, 64, 10, X.dtype, np.random.RandomState(0))
    assert_array_equal(coefs[0], dbn.rbms_[0].components_.T)
    assert_array_equal(ints[1], dbn.rbms_[1].intercept_hidden_)
    assert_allclose(forward(X, coefs, ints, "softmax", layer=-2), dbn.transform(X),
                    rtol=1e-13, atol=1e-15)
    # and through the public path: a vanishing step keeps the hidden layers
    clf.set_params(max_iter=1, learning_rate_init=1e-14, alpha=0.0).fit(X, y[:300])
    assert clf.dbn_ is dbn
    assert_allclose(clf.hidden_activations(X), dbn.transform(X), atol=1e-10)
    assert_allclose(clf.hidden_activations(X, layer=0), dbn.rbms_[0].transform(X), atol=1e-10)
    with pytest.raises(ValueError, match="layer must index one of the 2 hidden layers"):
        clf.hidden_activations(X, layer=2)


def test_pretraining_off_and_dbn_passed_in(digits):
    X, y = digits
    X, y = X[:200], y[:200]
    base = DBNClassifier((16,), n_iter_pretrain=0, max_iter=5, random_state=0).fit(X, y)
    assert base.dbn_ is None
    assert [W.shape for W in base.coefs_] == [(64, 16), (16, 10)]

    dbn = DBN((16,), n_iter=2, random_state=1).fit(X)
    clf = DBNClassifier((99,), dbn=dbn, max_iter=5, random_state=0).fit(X, y)
    assert clf.dbn_ is dbn  # fitted: used as is, its layer sizes win
    assert clf.coefs_[0].shape == (64, 16)
    # FrozenEstimator survives clone (e.g. in GridSearchCV)
    frozen = clone(DBNClassifier(dbn=FrozenEstimator(dbn), max_iter=5, random_state=0))
    frozen.fit(X, y)
    assert frozen.dbn_ is dbn
    # an unfitted DBN is cloned and fitted on X
    template = DBN((8,), n_iter=1, random_state=0)
    clf2 = DBNClassifier(dbn=template, max_iter=5, random_state=0).fit(X, y)
    assert clf2.dbn_ is not template and not hasattr(template, "rbms_")
    assert clf2.coefs_[0].shape == (64, 8)
    with pytest.raises(ValueError, match="fitted dbn was trained on 64 features"):
        DBNClassifier(dbn=dbn).fit(X[:, :10], y)


def test_semi_supervised_rows_pretrain_only(digits):
    X, y = digits
    X, y = X[:200], y[:200].copy()
    y[50:] = -1
    clf = DBNClassifier((16,), n_iter_pretrain=2, max_iter=5, random_state=3).fit(X, y)
    assert_array_equal(clf.classes_, np.arange(10))
    assert clf.t_ == 5 * 50  # fine-tuning saw the 50 labelled rows per epoch
    seed = np.random.RandomState(3).randint(np.iinfo(np.int32).max)
    dbn_all = DBN((16,), n_iter=2, random_state=seed).fit(X)  # pretrained on all 200 rows
    assert_array_equal(clf.dbn_.rbms_[0].components_, dbn_all.rbms_[0].components_)
    # string labels: nothing is unlabelled
    ys = np.array(["a", "b"])[np.arange(200) % 2]
    assert DBNClassifier((4,), n_iter_pretrain=1, max_iter=2).fit(X, ys).t_ == 2 * 200


def test_pretraining_beats_random_init_with_few_labels(digits):
    """Digits, 10% of the labels kept: mean test accuracy over 3 seeds."""
    X, y = digits
    acc = {True: [], False: []}
    for seed in range(3):
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=seed,
                                              stratify=y)
        ys = ytr.copy()
        ys[np.random.RandomState(seed).rand(len(ys)) >= 0.1] = -1
        for pretrain in (True, False):
            clf = DBNClassifier((64, 64), n_iter_pretrain=20 if pretrain else 0,
                                batch_size=10, max_iter=50, random_state=seed, n_jobs=1)
            acc[pretrain].append(clf.fit(Xtr, ys).score(Xte, yte))
    assert np.mean(acc[True]) > np.mean(acc[False]) + 0.01, acc


# ----------------------------------------------------------------------------
# outputs, sklearn conversion, composition
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("labels", [np.arange(3), np.array(["cat", "dog", "emu"]),
                                    np.array([2.0, -7.0]), np.array([False, True])])
def test_classifier_labels_and_to_sklearn(digits, labels):
    X, y = digits
    X, y = X[:300], labels[y[:300] % len(labels)]
    clf = DBNClassifier((12, 8), n_iter_pretrain=2, max_iter=20, dropout=0.1,
                        random_state=0).fit(X, y)
    assert_array_equal(clf.classes_, np.unique(labels))
    P = clf.predict_proba(X)
    assert P.shape == (300, len(labels))
    assert_allclose(P.sum(axis=1), 1.0)
    assert_array_equal(clf.predict(X), clf.classes_[P.argmax(axis=1)])
    assert clf.predict(X).dtype == y.dtype
    assert_allclose(clf.predict_log_proba(X), np.log(P))
    assert clf.out_activation_ == ("logistic" if len(labels) == 2 else "softmax")
    sk = clf.to_sklearn()
    assert isinstance(sk, MLPClassifier) and sk.activation == "logistic"
    assert sk.hidden_layer_sizes == (12, 8)
    assert_allclose(sk.predict_proba(X), P, atol=1e-6, rtol=0)
    assert_array_equal(sk.predict(X), clf.predict(X))
    assert sk.score(X, y) == clf.score(X, y)


def test_regressor_multi_output_and_to_sklearn():
    rng = np.random.RandomState(0)
    X = rng.rand(200, 5)
    Y = np.column_stack([X.sum(axis=1), X[:, 0] * X[:, 1], np.sin(3 * X[:, 2])])
    reg = DBNRegressor((20,), n_iter_pretrain=3, solver="adam", learning_rate_init=0.01,
                       max_iter=200, batch_size=20, random_state=0).fit(X, Y)
    P = reg.predict(X)
    assert P.shape == (200, 3)
    assert reg.score(X, Y) > 0.8
    sk = reg.to_sklearn()
    assert isinstance(sk, MLPRegressor)
    assert_allclose(sk.predict(X), P, atol=1e-6, rtol=0)
    reg1 = clone(reg).set_params(max_iter=20).fit(X, Y[:, 0])
    assert reg1.predict(X).shape == (200,)
    assert_allclose(reg1.to_sklearn().predict(X), reg1.predict(X), atol=1e-6, rtol=0)
    X32 = X.astype(np.float32)
    reg32 = clone(reg).set_params(max_iter=5).fit(X32, Y)
    assert reg32.predict(X32).dtype == np.float32
    assert all(W.dtype == np.float32 for W in reg32.coefs_)


def test_fit_record_early_stopping_and_verbose(digits, capsys):
    X, y = digits
    X, y = X[:400], y[:400]
    clf = DBNClassifier((16,), n_iter_pretrain=1, max_iter=30, early_stopping=True,
                        n_iter_no_change=3, learning_rate="adaptive", verbose=1,
                        random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert "[DBN] Layer 1/1: 64 -> 16 units (BernoulliRBM)" in out
    assert "[DBNClassifier] Iteration 1, loss = " in out and "validation score = " in out
    assert "time left" in out
    assert len(clf.validation_scores_) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.loss_ == clf.loss_curve_[-1]
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            DBNClassifier((8,), n_iter_pretrain=1, max_iter=2).fit(X, y)


def test_pipeline_and_grid_search(digits):
    X, y = digits
    X, y = X[:300] * 16, y[:300]
    pipe = make_pipeline(MinMaxScaler(), DBNClassifier(n_iter_pretrain=2, max_iter=60,
                                                       solver="sgd", learning_rate_init=0.1,
                                                       batch_size=100, random_state=0))
    grid = GridSearchCV(pipe, {"dbnclassifier__hidden_layer_sizes": [(8,), (16, 8)]}, cv=2)
    grid.fit(X, y)
    assert grid.best_params_["dbnclassifier__hidden_layer_sizes"] in [(8,), (16, 8)]
    assert grid.score(X, y) > 0.5
    feats = make_pipeline(MinMaxScaler(), DBN((10,), n_iter=2, random_state=0))
    assert feats.fit_transform(X).shape == (300, 10)


def test_dbn_demo_rows():
    from rbmlib._demo_dbn import run_dbn_demo

    rows = run_dbn_demo(quick=True, hidden_layer_sizes=(32,))
    assert [r[0].split(" ")[1] for r in rows] == ["DBNClassifier", "DBNClassifier",
                                                 "MLPClassifier"]
    for name, acc, seconds in rows:
        assert 0.8 < acc <= 1.0 and seconds > 0


def test_dbn_pickled_before_sample_visible_refits_as_it_did():
    """A DBN pickled by an earlier release (no sample_visible attribute) loads, clones
    and refits with the behaviour it had: sampled visible units."""
    import pickle

    X = np.random.RandomState(0).rand(40, 5)
    old = DBN((4,), n_iter=1, random_state=0)
    state = dict(old.__dict__)
    del state["sample_visible"]
    restored = DBN.__new__(DBN)
    restored.__setstate__(state)
    again = pickle.loads(pickle.dumps(restored)).fit(X)
    assert again.sample_visible is True and again.rbms_[0].sample_visible is True
    assert clone(restored).get_params()["sample_visible"] is True
