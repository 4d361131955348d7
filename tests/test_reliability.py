"""Reliability of every public estimator (issue 7).

Bad input (table-driven over estimators, methods and input kinds, plus
property-based tests), numerical extremes, divergence, interruption,
persistence, determinism, thread safety and out-of-core (memmap) training.
Every input kind either gives the result of the plain float64 C-contiguous
array or raises a ValueError/TypeError whose message names the problem.
"""

import pickle
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import rbmlib._kernels.mlp as mlp_kernels
import rbmlib.rbm as rbm_module
import rbmlib.rbm._base as rbm_base  # the RBMs' CD driver is looked up here
from rbmlib import (
    DBN,
    BernoulliRBM,
    DBNClassifier,
    DBNRegressor,
    DivergenceError,
    GaussianBernoulliRBM,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

N, V = 40, 6
_rng = np.random.RandomState(0)
X_BIN = (_rng.rand(N, V) > 0.5).astype(np.float64)  # binary: exact as int/bool too
Y_CLS = (X_BIN[:, 0] + X_BIN[:, 1] + X_BIN[:, 2] >= 2).astype(int) + X_BIN[:, 3].astype(int)
Y_REG = X_BIN @ np.arange(1.0, V + 1) / V

SUPERVISED = {"DBNClassifier": Y_CLS, "DBNRegressor": Y_REG}


def make(name, **kw):
    """Small, fast instance of each public estimator (and variants)."""
    if name == "BernoulliRBM":
        return BernoulliRBM(**{"n_components": 4, "n_iter": 3, "batch_size": 5,
                               "random_state": 0, **kw})
    if name == "GaussianBernoulliRBM":
        return GaussianBernoulliRBM(**{"n_components": 4, "n_iter": 3, "batch_size": 5,
                                       "random_state": 0, **kw})
    if name == "GaussianBernoulliRBM-sigma":
        return make("GaussianBernoulliRBM", learn_sigma=True, **kw)
    if name == "DBN":
        return DBN(**{"hidden_layer_sizes": (5, 3), "n_iter": 2, "batch_size": 5,
                      "random_state": 0, **kw})
    if name == "DBN-gaussian":
        return make("DBN", first_layer="gaussian", **kw)
    if name in ("DBNClassifier", "DBNRegressor"):
        cls = DBNClassifier if name == "DBNClassifier" else DBNRegressor
        return cls(**{"hidden_layer_sizes": (5,), "n_iter_pretrain": 2,
                      "batch_size_pretrain": 5, "batch_size": 10, "max_iter": 5,
                      "random_state": 0, **kw})
    raise KeyError(name)


def base(name):
    return name.split("-")[0]


def fit(name, X, est=None, **kw):
    est = make(name, **kw) if est is None else est
    y = SUPERVISED.get(base(name))
    if y is not None:
        return est.fit(X, y[: X.shape[0] if hasattr(X, "shape") else len(X)])
    return est.fit(X)


NAMES = ["BernoulliRBM", "GaussianBernoulliRBM", "DBN", "DBNClassifier", "DBNRegressor"]
ALL_NAMES = NAMES + ["GaussianBernoulliRBM-sigma", "DBN-gaussian"]
RBM_NAMES = ["BernoulliRBM", "GaussianBernoulliRBM", "GaussianBernoulliRBM-sigma"]

_RBM_METHODS = ["transform", "free_energy", "score_samples", "reconstruction_error",
                "log_likelihood"]
METHODS = {
    "BernoulliRBM": _RBM_METHODS,
    "GaussianBernoulliRBM": _RBM_METHODS,
    "DBN": ["transform"],
    "DBNClassifier": ["predict", "predict_proba", "predict_log_proba", "hidden_activations"],
    "DBNRegressor": ["predict", "hidden_activations"],
}
MAIN_METHOD = {"BernoulliRBM": "transform", "GaussianBernoulliRBM": "transform",
               "DBN": "transform", "DBNClassifier": "predict_proba",
               "DBNRegressor": "predict"}
METHOD_CASES = [(n, m) for n in NAMES for m in METHODS[n]]

_FITTED = {}


def fitted(name):
    """Fitted on X_BIN (cached; tests must not modify it)."""
    if name not in _FITTED:
        _FITTED[name] = fit(name, X_BIN)
    return _FITTED[name]


def outputs(est, X):
    """Every inference method's output on X (a dict)."""
    return {m: getattr(est, m)(X) for m in METHODS[base(type(est).__name__)]}


def params_of(est):
    """Every fitted parameter array of an estimator, as a flat list."""
    if hasattr(est, "components_"):
        out = [est.components_, est.intercept_hidden_, est.intercept_visible_]
        if hasattr(est, "sigma_"):
            out.append(est.sigma_)
        return out
    if hasattr(est, "rbms_"):
        return [a for r in est.rbms_ for a in params_of(r)]
    return list(est.coefs_) + list(est.intercepts_)


def assert_same_params(a, b):
    pa, pb = params_of(a), params_of(b)
    assert len(pa) == len(pb)
    for x, y in zip(pa, pb):
        assert_array_equal(x, y)


# --------------------------------------------------------------------------
# Input kinds that must give the plain float64 C-contiguous result
# --------------------------------------------------------------------------


def _memmap(X, tmp_path, dtype=np.float64):
    fn = tmp_path / f"X_{dtype.__name__}_{X.shape[0]}x{X.shape[1]}.dat"
    mm = np.memmap(fn, dtype=dtype, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    del mm
    return np.memmap(fn, dtype=dtype, mode="r", shape=X.shape)


def _readonly(X):
    X = X.copy()
    X.flags.writeable = False
    return X


def _noncontiguous(X):
    wide = np.zeros((X.shape[0] * 2, X.shape[1] * 3))
    wide[::2, ::3] = X
    out = wide[::2, ::3]
    assert not out.flags.c_contiguous and not out.flags.f_contiguous
    return out


EQUIVALENT = {
    "int": lambda X, tmp: X.astype(np.int64),
    "uint8": lambda X, tmp: X.astype(np.uint8),
    "bool": lambda X, tmp: X.astype(bool),
    "object": lambda X, tmp: X.astype(object),
    "numeric-strings": lambda X, tmp: X.astype(str),
    "fortran": lambda X, tmp: np.asfortranarray(X),
    "non-contiguous": lambda X, tmp: _noncontiguous(X),
    "read-only": lambda X, tmp: _readonly(X),
    "memmap": lambda X, tmp: _memmap(X, tmp),
    "list": lambda X, tmp: X.tolist(),
    "csr": lambda X, tmp: sp.csr_matrix(X),
    "csc": lambda X, tmp: sp.csc_matrix(X),
    "coo": lambda X, tmp: sp.coo_matrix(X),
    "csr_array": lambda X, tmp: sp.csr_array(X),
    "dataframe": lambda X, tmp: pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]),
}


def _compare(a, b, method):
    if method == "predict" and a.dtype.kind in "iu":
        assert_array_equal(a, b)
    else:
        # sparse products may sum in another order: equal to rounding
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", list(EQUIVALENT))
@pytest.mark.parametrize("name", NAMES)
def test_fit_input_kinds_give_the_float64_result(name, kind, tmp_path):
    X = EQUIVALENT[kind](X_BIN, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = fit(name, X)
    ref = fitted(name)
    for a, b in zip(params_of(est), params_of(ref)):
        assert a.dtype == np.float64
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    m = MAIN_METHOD[name]
    X_ref = EQUIVALENT["dataframe"](X_BIN, tmp_path) if kind == "dataframe" else X_BIN
    _compare(getattr(est, m)(X_ref), getattr(ref, m)(X_BIN), m)


@pytest.mark.parametrize("kind", list(EQUIVALENT))
@pytest.mark.parametrize("name, method", METHOD_CASES)
def test_method_input_kinds_give_the_float64_result(name, method, kind, tmp_path):
    est = fitted(name)
    X = EQUIVALENT[kind](X_BIN[:15], tmp_path)
    with warnings.catch_warnings():
        # a model fitted without feature names, given a DataFrame: no warning wanted
        # either way, but sklearn's own message is not this test's subject
        warnings.simplefilter("ignore", UserWarning)
        got = getattr(est, method)(X)
    want = getattr(est, method)(X_BIN[:15])
    assert type(got) is np.ndarray
    _compare(got, want, method)


@pytest.mark.parametrize("name", NAMES)
def test_float32_input_gives_float32_model_close_to_float64(name):
    est = fit(name, X_BIN.astype(np.float32))
    for a in params_of(est):
        assert a.dtype == np.float32
    m = MAIN_METHOD[name]
    out = getattr(est, m)(X_BIN.astype(np.float32))
    assert np.all(np.isfinite(out))
    if m != "predict":
        assert out.dtype == np.float32


# --------------------------------------------------------------------------
# Bad input: a ValueError / TypeError whose message names the problem
# --------------------------------------------------------------------------


def _with(X, i, j, value):
    X = X.astype(np.float64)
    X[i, j] = value
    return X


BAD = {
    "nan": (lambda X: _with(X, 1, 2, np.nan), ValueError, "NaN"),
    "+inf": (lambda X: _with(X, 0, 0, np.inf), ValueError, "infinity"),
    "-inf": (lambda X: _with(X, 3, 1, -np.inf), ValueError, "infinity"),
    "nan-sparse": (lambda X: sp.csr_matrix(_with(X, 1, 2, np.nan)), ValueError, "NaN"),
    "0-samples": (lambda X: X[:0], ValueError, "0 sample"),
    "1-D": (lambda X: X[0], ValueError, "2D array"),
    "3-D": (lambda X: X[:, :, None], ValueError, "dim"),
    "complex": (lambda X: X.astype(complex), ValueError, "[Cc]omplex"),
    "strings": (lambda X: np.where(X > 0, "yes", "no"), ValueError, "could not convert"),
    "object-strings": (lambda X: np.where(X > 0, "yes", "no").astype(object), ValueError,
                       "could not convert"),
    "object-None": (lambda X: np.where(X > 0, None, 0.0).astype(object), (ValueError, TypeError),
                    "NaN|None|float"),
}


@pytest.mark.parametrize("case", list(BAD))
@pytest.mark.parametrize("name", NAMES)
def test_fit_bad_input_raises_naming_the_problem(name, case):
    make_bad, exc, match = BAD[case]
    est = make(name)
    X = make_bad(X_BIN)
    y = SUPERVISED.get(name)
    with pytest.raises(exc, match=match):
        if y is None:
            est.fit(X)
        else:
            est.fit(X, y[: X.shape[0]] if X.ndim >= 2 else y)
    with pytest.raises(NotFittedError):
        getattr(est, MAIN_METHOD[name])(X_BIN)


BAD_AFTER_FIT = {
    **BAD,
    "more-features": (lambda X: np.hstack([X, X[:, :1]]), ValueError, "features"),
    "fewer-features": (lambda X: X[:, :-1], ValueError, "features"),
}


@pytest.mark.parametrize("case", list(BAD_AFTER_FIT))
@pytest.mark.parametrize("name, method", METHOD_CASES)
def test_method_bad_input_raises_naming_the_problem(name, method, case):
    make_bad, exc, match = BAD_AFTER_FIT[case]
    with pytest.raises(exc, match=match):
        getattr(fitted(name), method)(make_bad(X_BIN))


@pytest.mark.parametrize("name", ["BernoulliRBM", "GaussianBernoulliRBM",
                                  "GaussianBernoulliRBM-sigma"])
@pytest.mark.parametrize("case", ["nan", "more-features", "0-samples"])
def test_failed_partial_fit_leaves_the_model_unchanged(name, case):
    est = fit(name, X_BIN)
    before = [a.copy() for a in params_of(est)] + [est.h_samples_.copy()]
    n_iter, n_updates = est.n_iter_, est._n_updates
    with pytest.raises(ValueError):
        est.partial_fit(BAD_AFTER_FIT[case][0](X_BIN))
    for a, b in zip(params_of(est) + [est.h_samples_], before):
        assert_array_equal(a, b)
    assert (est.n_iter_, est._n_updates) == (n_iter, n_updates)


def test_partial_fit_wrong_n_features_names_the_counts():
    est = fit("BernoulliRBM", X_BIN)
    with pytest.raises(ValueError, match=f"7 features.*{V} features"):
        est.partial_fit(np.hstack([X_BIN, X_BIN[:, :1]]))


# ---------------------------------------------------------- Bernoulli range


X_OUT = X_BIN * 3.0 - 1.0  # values -1 and 2
X_FAR = X_BIN * 5.0 - 2.0  # values -2 and 3: beyond the held-out rows' slack of 1


@pytest.mark.parametrize("name", ["BernoulliRBM", "DBN", "DBNClassifier", "DBNRegressor"])
def test_bernoulli_first_layer_warns_about_values_outside_unit_interval_in_fit(name):
    kw = {} if name == "BernoulliRBM" else {"first_layer": "bernoulli"}
    with pytest.warns(UserWarning, match=r"\[0, 1\].*\[-1, 2\].*MinMaxScaler"):
        est = fit(name, X_OUT, **kw)
    out = getattr(est, MAIN_METHOD[name])(X_BIN)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("name", ["DBN", "DBNClassifier", "DBNRegressor"])
def test_auto_first_layer_takes_values_outside_unit_interval_as_real_valued(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ConvergenceWarning)  # the tiny max_iter of make()
        est = fit(name, X_OUT)
    assert est.first_layer_ == "gaussian"
    assert np.all(np.isfinite(getattr(est, MAIN_METHOD[name])(X_OUT)))
    assert fit(name, X_BIN).first_layer_ == "bernoulli"


def test_bernoulli_rbm_refuses_values_outside_unit_interval_when_asked():
    for check_range in ("raise", True):
        est = make("BernoulliRBM", check_range=check_range)
        with pytest.raises(ValueError, match=r"\[0, 1\].*MinMaxScaler"):
            est.fit(X_OUT)
        est.fit(X_BIN)
        for method in ("transform", "free_energy", "score_samples", "reconstruction_error"):
            with pytest.raises(ValueError, match=r"\[0, 1\]"):
                getattr(est, method)(X_OUT)


@pytest.mark.parametrize("method", ["transform", "free_energy", "score_samples",
                                    "reconstruction_error"])
def test_bernoulli_rbm_inference_on_values_outside_unit_interval_warns_once(method):
    est = fitted("BernoulliRBM")
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        out = getattr(est, method)(X_FAR)
    msgs = [str(w.message) for w in rec if issubclass(w.category, rbm_module.OutOfRangeWarning)]
    assert len(msgs) == 1 and "[-2, 3]" in msgs[0] and "check_range" in msgs[0], msgs
    # held-out rows with a few entries outside [0, 1] (a MinMaxScaler fitted on
    # other rows) are silent: here 1 entry in 5 rows
    X_few = X_BIN[:5].copy()
    X_few[0, 0] = 2.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(est, method)(X_few)
    assert np.all(np.isfinite(out))
    # rounding-level excess (MinMaxScaler's 1.0000000000000002) is silent
    X_round = X_BIN * (1 + 2e-16) - 1e-12 * (1 - X_BIN)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(est, method)(X_round)


def test_bernoulli_rbm_inference_is_defined_for_any_finite_input():
    est = fitted("BernoulliRBM")
    X = np.random.RandomState(0).normal(0, 1e3, (7, V))
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("ignore", rbm_module.OutOfRangeWarning)
        for method in ("transform", "free_energy", "score_samples", "reconstruction_error"):
            assert np.all(np.isfinite(getattr(est, method)(X))), method


def test_bernoulli_check_range_false_accepts_any_real_values():
    est = fit("BernoulliRBM", X_OUT, check_range=False)
    assert np.all(np.isfinite(est.transform(X_OUT)))
    dbn = fit("DBN", X_OUT, rbm_params={"check_range": False})
    assert np.all(np.isfinite(dbn.transform(X_OUT)))


@pytest.mark.parametrize("name", ["DBNClassifier", "DBNRegressor"])
def test_fine_tuned_network_predicts_any_real_input(name):
    # the fine-tuned network is a plain function of X: out-of-range rows
    # (e.g. slightly off after scaling) get finite predictions
    est = fitted(name)
    out = est.predict_proba(X_OUT) if name == "DBNClassifier" else est.predict(X_OUT)
    assert np.all(np.isfinite(out))


def test_gaussian_rbm_refuses_unstandardised_data():
    with pytest.raises(ValueError, match="standard deviation.*StandardScaler"):
        make("GaussianBernoulliRBM").fit(X_BIN * 1000)


# ------------------------------------------------------ tiny shapes, names


@pytest.mark.parametrize("name", NAMES)
def test_one_feature(name):
    X = X_BIN[:, :1]
    est = fit(name, X)
    for m, out in outputs(est, X).items():
        assert out.shape[0] == N
        if out.dtype.kind == "f" and m != "predict_log_proba":
            assert np.all(np.isfinite(out)), m


@pytest.mark.parametrize("name", ["BernoulliRBM", "GaussianBernoulliRBM", "DBN", "DBNRegressor"])
def test_one_sample(name):
    X = X_BIN[:1]
    est = fit(name, X)
    for m, out in outputs(est, X_BIN[:3]).items():
        assert out.shape[0] == 3
        assert np.all(np.isfinite(out)), m


def test_classifier_one_sample_names_the_class_count():
    with pytest.raises(ValueError, match="at least 2 classes"):
        make("DBNClassifier").fit(X_BIN[:1], Y_CLS[:1])


@pytest.mark.parametrize("name", NAMES)
def test_dataframe_feature_names(name):
    cols = [f"pixel_{i}" for i in range(V)]
    df = pd.DataFrame(X_BIN, columns=cols)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no feature-name warnings from fit's own monitoring
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = fit(name, df, verbose=0)
    assert_array_equal(est.feature_names_in_, cols)
    assert est.n_features_in_ == V
    m = MAIN_METHOD[name]
    _compare(getattr(est, m)(df), getattr(fitted(name), m)(X_BIN), m)
    if hasattr(est, "get_feature_names_out"):
        n_out = getattr(est, m)(df).shape[1]
        prefix = type(est).__name__.lower()
        assert_array_equal(est.get_feature_names_out(), [f"{prefix}{i}" for i in range(n_out)])
    # columns renamed or reordered: a ValueError naming the feature names
    with pytest.raises(ValueError, match="feature names"):
        getattr(est, m)(df[cols[::-1]])
    # a plain array after fitting with names: scikit-learn's warning, right result
    with pytest.warns(UserWarning, match="feature names"):
        getattr(est, m)(X_BIN)


@pytest.mark.parametrize("name", ["BernoulliRBM", "DBN"])
def test_set_output_pandas(name):
    est = make(name).set_output(transform="pandas")
    est.fit(pd.DataFrame(X_BIN, columns=list("abcdef")))
    out = est.transform(pd.DataFrame(X_BIN, columns=list("abcdef")))
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(est.get_feature_names_out())


def test_dataframe_with_mixed_dtypes_and_categorical_strings_is_refused():
    df = pd.DataFrame({"a": [0.0, 1.0, 1.0], "b": ["x", "y", "x"]})
    with pytest.raises(ValueError, match="could not convert|string"):
        make("BernoulliRBM").fit(df)


# --------------------------------------------------------------------------
# Property-based tests
# --------------------------------------------------------------------------

_shapes = st.tuples(st.integers(1, 12), st.integers(1, 6))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), shape=_shapes, float32=st.booleans())
def test_property_bernoulli_rbm_on_random_unit_data(data, shape, float32):
    dtype = np.float32 if float32 else np.float64
    X = data.draw(hnp.arrays(dtype, shape, elements=st.floats(0, 1, width=32)))
    est = BernoulliRBM(n_components=3, n_iter=2, batch_size=4, random_state=0).fit(X)
    H = est.transform(X)
    assert H.shape == (shape[0], 3) and H.dtype == dtype
    assert np.all((H >= 0) & (H <= 1))
    pll = est.score_samples(X)
    assert np.all(np.isfinite(pll)) and np.all(pll <= 1e-6)
    assert np.all(np.isfinite(est.free_energy(X)))
    assert np.all(np.isfinite(est.log_likelihood(X)))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), shape=_shapes)
def test_property_any_float_input_is_fitted_or_refused(data, shape):
    X = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(
        allow_nan=True, allow_infinity=True, width=64)))
    est = GaussianBernoulliRBM(n_components=3, n_iter=2, batch_size=4, random_state=0)
    try:
        est.fit(X)
    except ValueError as exc:
        msg = str(exc)
        assert any(w in msg for w in ("NaN", "infinity", "standard deviation",
                                      "learning_rate")), msg
        return
    out = est.transform(X)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(params_of(est)[0]))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), shape=st.tuples(st.integers(2, 12), st.integers(1, 5)))
def test_property_dbn_classifier_on_random_shapes(data, shape):
    X = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(0, 1)))
    y = np.arange(shape[0]) % 2
    clf = DBNClassifier((3,), n_iter_pretrain=1, max_iter=3, batch_size=4,
                        random_state=0).fit(X, y)
    P = clf.predict_proba(X)
    assert P.shape == (shape[0], 2)
    assert_allclose(P.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= {0, 1}


# --------------------------------------------------------------------------
# Numerical extremes
# --------------------------------------------------------------------------


def _extreme_rbm(est, scale=1e4):
    rng = np.random.RandomState(1)
    est.components_[...] = scale * np.sign(rng.randn(*est.components_.shape))
    est.intercept_hidden_[...] = scale * np.sign(rng.randn(*est.intercept_hidden_.shape))
    est.intercept_visible_[...] = scale * np.sign(rng.randn(*est.intercept_visible_.shape))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", NAMES)
def test_extreme_preactivations_give_finite_outputs_without_warnings(name, dtype):
    est = fit(name, X_BIN.astype(dtype))
    if hasattr(est, "components_"):
        _extreme_rbm(est)
    elif hasattr(est, "rbms_"):
        for r in est.rbms_:
            _extreme_rbm(r)
    else:
        rng = np.random.RandomState(1)
        for W in est.coefs_ + est.intercepts_:
            W[...] = 1e4 * np.sign(rng.randn(*W.shape))
    X = X_BIN.astype(dtype)
    methods = [m for m in METHODS[name] if m != "predict_log_proba"]
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        outs = {m: getattr(est, m)(X) for m in methods}
    for m, out in outs.items():
        assert np.all(np.isfinite(out)), m
    if "predict_proba" in outs:
        assert_allclose(outs["predict_proba"].sum(axis=1), 1.0, rtol=1e-5)
    if "transform" in outs:
        assert np.all((outs["transform"] >= 0) & (outs["transform"] <= 1))
    if name == "BernoulliRBM":
        assert np.all(outs["score_samples"] <= 0)


def test_free_energy_matches_logaddexp_in_the_normal_range():
    est = fitted("BernoulliRBM")
    pre = X_BIN @ est.components_.T + est.intercept_hidden_
    want = -X_BIN @ est.intercept_visible_ - np.logaddexp(0, pre).sum(axis=1)
    assert_allclose(est.free_energy(X_BIN), want, rtol=1e-14)


# --------------------------------------------------------------------------
# Divergence
# --------------------------------------------------------------------------

DIVERGING = {
    "BernoulliRBM": {"learning_rate": 1e9},
    "GaussianBernoulliRBM": {"learning_rate": 1e9},
    "GaussianBernoulliRBM-sigma": {"learning_rate": 1e9},
    "DBN": {"learning_rate": 1e9},
    "DBNClassifier": {"learning_rate_init": 1e9},
    "DBNRegressor": {"learning_rate_init": 1e9},
}


@pytest.mark.parametrize("name", list(DIVERGING))
def test_divergence_names_learning_rate_and_leaves_a_finite_model(name):
    est = make(name, **DIVERGING[name])
    with pytest.raises(DivergenceError, match="learning_rate") as info:
        with np.errstate(all="ignore"):
            fit(name, X_BIN, est=est)
    assert isinstance(info.value, ValueError)
    if base(name) == "DBN":
        return  # greedy pretraining stopped in a layer: no DBN is kept
    if name in RBM_NAMES:
        # a failed fit leaves the estimator as it was: here, not fitted
        assert not hasattr(est, "components_") and not hasattr(est, "n_features_in_")
        with pytest.raises(NotFittedError):
            est.transform(X_BIN)
        return
    for a in params_of(est):
        assert np.all(np.isfinite(a))
    out = getattr(est, MAIN_METHOD[base(name)])(X_BIN)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("name", RBM_NAMES)
def test_diverging_refit_leaves_the_fitted_model_unchanged(name):
    est = fit(name, X_BIN)
    before = pickle.dumps(est)
    est.set_params(**DIVERGING[name])
    with pytest.raises(DivergenceError, match="learning_rate"), np.errstate(all="ignore"):
        est.fit(X_BIN)
    est.set_params(learning_rate=make(name).learning_rate)
    assert pickle.dumps(est) == before


@pytest.mark.parametrize("name", ["DBNClassifier", "DBNRegressor"])
def test_fine_tuning_divergence_keeps_the_last_finite_epoch(name):
    ok = fit(name, X_BIN, max_iter=2)
    est = make(name, learning_rate_init=1e9, n_iter_pretrain=2)
    with pytest.raises(DivergenceError, match="learning_rate_init"):
        with np.errstate(all="ignore"):
            fit(name, X_BIN, est=est)
    assert est.n_iter_ == len(est.loss_curve_)
    # same pretraining: if it diverged in the first epoch, the network is the pretrained one
    if est.n_iter_ == 0 and est.pretrained_layers_:  # (flat layers start from Glorot)
        assert_array_equal(est.coefs_[0], ok.dbn_.rbms_[0].components_.T)


@pytest.mark.parametrize("name", RBM_NAMES)
def test_divergence_in_partial_fit_leaves_the_model_unchanged(name):
    est = fit(name, X_BIN)
    before = [a.copy() for a in params_of(est)]
    est.set_params(learning_rate=1e9)
    with pytest.raises(DivergenceError, match="learning_rate"), np.errstate(all="ignore"):
        est.partial_fit(X_BIN)
    for a, b in zip(params_of(est), before):
        assert_array_equal(a, b)


# --------------------------------------------------------------------------
# Interruption
# --------------------------------------------------------------------------


def _raise_on_call(monkeypatch, module, attr, n):
    real = getattr(module, attr)
    calls = {"n": 0}

    def patched(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, attr, patched)
    return calls


@pytest.mark.parametrize("name", ["BernoulliRBM", "GaussianBernoulliRBM",
                                  "GaussianBernoulliRBM-sigma"])
def test_keyboard_interrupt_in_rbm_fit_keeps_the_last_completed_epoch(name, monkeypatch):
    module, attr = rbm_base, "cd_epoch"  # the one CD driver, learn_sigma included
    _raise_on_call(monkeypatch, module, attr, 3)
    est = make(name, n_iter=5)
    with pytest.warns(RuntimeWarning, match="interrupted.*after epoch 2"):
        est.fit(X_BIN)
    monkeypatch.undo()
    assert est.n_iter_ == 2 and len(est.history_) == 2
    assert_same_params(est, make(name, n_iter=2).fit(X_BIN))
    assert np.all(np.isfinite(est.transform(X_BIN)))
    est.partial_fit(X_BIN)  # still trainable
    assert est.n_iter_ == 3


@pytest.mark.parametrize("name", ["DBNClassifier", "DBNRegressor"])
def test_keyboard_interrupt_in_fine_tuning_keeps_the_last_completed_epoch(name, monkeypatch):
    _raise_on_call(monkeypatch, mlp_kernels, "train_epoch", 3)
    est = make(name, max_iter=10)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fit(name, X_BIN, est=est)
    monkeypatch.undo()
    msgs = [str(w.message) for w in rec]
    assert any("interrupted" in m and "after epoch 2" in m for m in msgs), msgs
    assert not any(issubclass(w.category, ConvergenceWarning)
                   and "maximum iterations" in str(w.message) for w in rec)
    assert est.n_iter_ == 2 and len(est.loss_curve_) == 2
    ref = fit(name, X_BIN, max_iter=2)
    assert_same_params(est, ref)
    m = MAIN_METHOD[name]
    assert_array_equal(getattr(est, m)(X_BIN), getattr(ref, m)(X_BIN))


def test_keyboard_interrupt_in_dbn_pretraining_gives_a_usable_dbn(monkeypatch):
    _raise_on_call(monkeypatch, rbm_base, "cd_epoch", 2)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        dbn = make("DBN").fit(X_BIN)
    monkeypatch.undo()
    assert dbn.rbms_[0].n_iter_ == 1
    assert np.all(np.isfinite(dbn.transform(X_BIN)))


# --------------------------------------------------------------------------
# Persistence
# --------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["pickle", "joblib"])
@pytest.mark.parametrize("name", ALL_NAMES)
def test_round_trip_gives_identical_outputs(name, how, tmp_path):
    est = fit(name, X_BIN)
    if how == "pickle":
        est2 = pickle.loads(pickle.dumps(est))
    else:
        joblib.dump(est, tmp_path / "model.joblib")
        est2 = joblib.load(tmp_path / "model.joblib")
    assert_same_params(est, est2)
    o1, o2 = outputs(est, X_BIN), outputs(est2, X_BIN)
    for m in o1:
        assert_array_equal(o1[m], o2[m])


@pytest.mark.parametrize("how", ["pickle", "joblib"])
@pytest.mark.parametrize("name", RBM_NAMES)
def test_partial_fit_after_reload_continues_exactly(name, how, tmp_path):
    X1, X2 = X_BIN[:20], X_BIN[20:]
    est = make(name, n_iter=2).fit(X1)
    est.partial_fit(X2)
    if how == "pickle":
        est2 = pickle.loads(pickle.dumps(est))
    else:
        joblib.dump(est, tmp_path / "model.joblib")
        est2 = joblib.load(tmp_path / "model.joblib")
    for e in (est, est2):
        e.partial_fit(X1)
        e.partial_fit(X2)
    assert_same_params(est, est2)
    assert_array_equal(est.h_samples_, est2.h_samples_)
    assert est._n_updates == est2._n_updates


def test_partial_fit_from_scratch_after_reload_continues_exactly():
    est = BernoulliRBM(n_components=4, batch_size=5, random_state=0)
    est.partial_fit(X_BIN)
    est2 = pickle.loads(pickle.dumps(est))
    est.partial_fit(X_BIN)
    est2.partial_fit(X_BIN)
    assert_same_params(est, est2)


# --------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_NAMES)
def test_same_random_state_is_bit_identical(name):
    a, b = fit(name, X_BIN), fit(name, X_BIN)
    assert_same_params(a, b)


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("name", ALL_NAMES)
def test_n_jobs_does_not_change_results(name, sparse):
    X = sp.csr_matrix(X_BIN) if sparse else X_BIN
    a = fit(name, X, n_jobs=1)
    b = fit(name, X, n_jobs=2)
    assert_same_params(a, b)
    oa, ob = outputs(a, X_BIN), outputs(b, X_BIN)
    for m in oa:
        assert_array_equal(oa[m], ob[m])


def test_random_state_instance_is_not_reused_between_fits():
    rs = np.random.RandomState(0)
    est = BernoulliRBM(n_components=4, n_iter=2, batch_size=5, random_state=rs)
    w1 = est.fit(X_BIN).components_.copy()
    w2 = est.fit(X_BIN).components_.copy()
    assert not np.array_equal(w1, w2)  # sklearn's convention: the instance advances


# --------------------------------------------------------------------------
# Thread safety
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name, method", METHOD_CASES)
def test_concurrent_inference_equals_serial(name, method):
    est = fitted(name)
    rng = np.random.RandomState(2)
    chunks = [X_BIN[rng.permutation(N)[: 10 + i]] for i in range(12)]
    serial = [getattr(est, method)(c) for c in chunks]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(getattr(est, method), chunks))
    for a, b in zip(serial, parallel):
        assert_array_equal(a, b)


# --------------------------------------------------------------------------
# Out of core: numpy.memmap
# --------------------------------------------------------------------------


def _uint8_to_float32_memmap(tmp_path, n=400, v=30, seed=0):
    """A read-only float32 memmap written from uint8 "pixels" chunk by chunk."""
    pixels = np.random.RandomState(seed).randint(0, 256, size=(n, v)).astype(np.uint8)
    fn = tmp_path / "pixels_f32.dat"
    mm = np.memmap(fn, dtype=np.float32, mode="w+", shape=(n, v))
    for start in range(0, n, 128):
        mm[start:start + 128] = pixels[start:start + 128] / np.float32(255)
    mm.flush()
    del mm
    return np.memmap(fn, dtype=np.float32, mode="r", shape=(n, v)), pixels


@pytest.mark.parametrize("name", ["BernoulliRBM", "GaussianBernoulliRBM"])
def test_fit_and_partial_fit_on_read_only_memmap_equal_in_memory(name, tmp_path):
    mm, pixels = _uint8_to_float32_memmap(tmp_path)
    assert not mm.flags.writeable
    X = np.array(mm)  # the same values, in memory
    a = make(name, n_components=8, n_iter=2).fit(mm)
    b = make(name, n_components=8, n_iter=2).fit(X)
    assert_same_params(a, b)
    a.partial_fit(mm[:200])
    b.partial_fit(X[:200])
    assert_same_params(a, b)
    assert_array_equal(a.transform(mm), b.transform(X))
    # validation hands the kernels the memmap's own buffer (no copy)
    assert np.shares_memory(a._validate_X(mm, reset=False), mm)


@pytest.mark.parametrize("name", ["DBN", "DBNClassifier"])
def test_networks_fit_on_read_only_memmap(name, tmp_path):
    mm, _ = _uint8_to_float32_memmap(tmp_path, n=200)
    X = np.array(mm)
    y = (X[:, 0] > 0.5).astype(int)
    kw = dict(n_iter=2) if name == "DBN" else dict(n_iter_pretrain=2, max_iter=3)
    est = make(name, **kw)
    a = est.fit(mm) if name == "DBN" else est.fit(mm, y)
    est2 = make(name, **kw)
    b = est2.fit(X) if name == "DBN" else est2.fit(X, y)
    assert_same_params(a, b)


@pytest.mark.parametrize("name", ["BernoulliRBM", "GaussianBernoulliRBM"])
def test_memmap_fit_allocates_far_less_than_the_array(name, tmp_path):
    n, v = 20000, 50  # 4 MB of float32
    mm, _ = _uint8_to_float32_memmap(tmp_path, n=n, v=v)
    est = make(name, n_components=8, n_iter=1, batch_size=20)
    est.fit(mm[:50])  # compile and warm up outside the measurement
    tracemalloc.start()
    try:
        est.fit(mm)
        est.partial_fit(mm)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.4 * mm.nbytes, (peak, mm.nbytes)  # a copy of X would be >= 1.0
