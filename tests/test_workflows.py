"""RBMs in ordinary scikit-learn use: refits, grid search, pipelines on real
data sets, persistence, Ctrl-C, threads, sparse input and memory.

Each test reproduces a way users (or faults) broke an RBM estimator; the
comments name what used to happen.
"""

import os
import pickle
import signal
import threading
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from rbmlib import BernoulliRBM, DivergenceError, GaussianBernoulliRBM
from rbmlib.rbm import OutOfRangeWarning

_DIGITS = load_digits().data / 16.0
_STD_DIGITS = StandardScaler().fit_transform(load_digits().data)


def _make(name, **kw):
    if name == "BernoulliRBM":
        return BernoulliRBM(**{"n_components": 8, "n_iter": 2, "random_state": 0, **kw})
    if name == "GaussianBernoulliRBM":
        return GaussianBernoulliRBM(**{"n_components": 8, "n_iter": 2, "random_state": 0,
                                       **kw})
    if name == "GaussianBernoulliRBM-sigma":
        return _make("GaussianBernoulliRBM", learn_sigma=True, **kw)
    raise KeyError(name)


def _data(name):
    return _DIGITS if name == "BernoulliRBM" else _STD_DIGITS


NAMES = ["BernoulliRBM", "GaussianBernoulliRBM", "GaussianBernoulliRBM-sigma"]


def _params(est):
    out = [est.components_, est.intercept_hidden_, est.intercept_visible_]
    if hasattr(est, "sigma_"):
        out.append(est.sigma_)
    return out


def _assert_same_model(a, b):
    for x, y in zip(_params(a), _params(b)):
        assert_array_equal(x, y)


# --------------------------------------------------------------------------
# 1. Refit after set_params; scratch memory is not model state
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_refit_after_set_params_n_components_then_partial_fit(name):
    # used to raise numba's "incompatible output array size": scratch buffers
    # of the first fit were reused by the second
    X = _data(name)[:300]
    m = _make(name, n_components=5).fit(X)
    m.set_params(n_components=9).fit(X)
    assert m.components_.shape == (9, 64)
    _assert_same_model(m, _make(name, n_components=9).fit(X))
    m.partial_fit(X[:50])
    m.set_params(batch_size=7, n_components=3).fit(X)
    m.partial_fit(X[:50])
    assert m.transform(X).shape == (300, 3)
    assert not any("buffer" in k for k in vars(m))


def test_partial_fit_with_changed_n_components_names_the_mismatch():
    m = _make("BernoulliRBM", n_components=5).fit(_DIGITS[:100])
    before = pickle.dumps(m)
    m.set_params(n_components=9)
    with pytest.raises(ValueError, match="n_components=9.*5 hidden units.*fit"):
        m.partial_fit(_DIGITS[:100])
    m.set_params(n_components=5)
    assert pickle.dumps(m) == before


def test_gridsearch_over_n_components_in_a_pipeline_then_fit_and_partial_fit():
    X, y = load_digits(return_X_y=True)
    X, y = X[:400], y[:400]
    pipe = Pipeline([("scale", MinMaxScaler()),
                     # 3 epochs on 267 rows: log-odds visible biases learn faster than
                     # the default zeros (CV 0.79 vs 0.69 at 32 units; scikit-learn 0.71)
                     ("rbm", BernoulliRBM(n_iter=3, learning_rate=0.06, random_state=0,
                                          visible_bias_init="log_odds")),
                     ("clf", LogisticRegression(C=100.0, max_iter=500))])
    gs = GridSearchCV(pipe, {"rbm__n_components": [4, 16, 32], "rbm__batch_size": [10, 40]},
                      cv=3, error_score="raise").fit(X, y)
    assert np.all(np.isfinite(gs.cv_results_["mean_test_score"]))
    assert gs.best_params_["rbm__n_components"] == 32
    assert gs.best_score_ > 0.75
    best = gs.best_estimator_
    rbm = best.named_steps["rbm"]
    Xs = best.named_steps["scale"].transform(X)
    for n in (4, 32, 16):
        rbm.set_params(n_components=n).fit(Xs)
        rbm.partial_fit(Xs[:100])
        assert rbm.transform(Xs).shape == (400, n)
    # the fitted pipeline keeps working after the RBM was refitted
    best.named_steps["clf"].fit(rbm.transform(Xs), y)
    assert best.score(X, y) > 0.75


def test_pickle_holds_parameters_not_scratch_memory():
    X = _DIGITS
    m = BernoulliRBM(n_components=64, n_iter=2, random_state=0).fit(X)
    m.partial_fit(X[:100])
    size = len(pickle.dumps(m))
    w = m.components_.nbytes
    # weights, their momentum buffers, the chains and a RandomState: was 4.4x + 10 kB
    assert size < 2.5 * w + m.h_samples_.nbytes + 8000, (size, w)


def test_chains_never_larger_than_the_data():
    # batch_size=10**6 on 60 rows used to keep a (10**6, n_components) chain
    X = _DIGITS[:60]
    m = BernoulliRBM(n_components=8, batch_size=10**6, n_iter=2, random_state=0).fit(X)
    assert m.h_samples_.shape == (60, 8)
    assert len(pickle.dumps(m)) < 2.5 * m.components_.nbytes + m.h_samples_.nbytes + 8000
    m.partial_fit(X[:30])
    assert m.h_samples_.shape[0] <= 60
    # a small batch_size is the same model as before
    ref = BernoulliRBM(n_components=8, batch_size=60, n_iter=2, random_state=0).fit(X)
    _assert_same_model(BernoulliRBM(n_components=8, batch_size=10**6, n_iter=2,
                                    random_state=0).fit(X), ref)


def test_partial_fit_takes_a_changed_batch_size():
    # used to take min(batch_size, h_samples_.shape[0]): the new size was ignored
    X = _DIGITS[:100]
    m = BernoulliRBM(n_components=8, batch_size=10, random_state=0).partial_fit(X)
    assert m.h_samples_.shape[0] == 10 and m._n_updates == 10
    m.set_params(batch_size=25).partial_fit(X)
    assert m.h_samples_.shape[0] == 25
    assert m._n_updates == 14  # ceil(100 / 25) more updates
    m.set_params(batch_size=4).partial_fit(X)
    assert m.h_samples_.shape[0] == 4 and m._n_updates == 39


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("mmap_mode", [None, "r"])
def test_joblib_load_then_fit_partial_fit_transform(name, mmap_mode, tmp_path):
    # with mmap_mode="r" the arrays are read-only memmaps: partial_fit used to
    # fail with a numba TypingError on a read-only array
    X = _data(name)[:200]
    m = _make(name).fit(X)
    path = tmp_path / "rbm.joblib"
    joblib.dump(m, path)
    loaded = joblib.load(path, mmap_mode=mmap_mode)
    if mmap_mode:
        assert isinstance(loaded.components_, np.memmap)
        assert not loaded.components_.flags.writeable
    assert_array_equal(loaded.transform(X), m.transform(X))
    loaded.partial_fit(X[:50])
    m.partial_fit(X[:50])
    _assert_same_model(loaded, m)
    assert_array_equal(loaded.h_samples_, m.h_samples_)
    again = joblib.load(path)  # the file is unchanged
    _assert_same_model(again, _make(name).fit(X))
    loaded.fit(X)
    _assert_same_model(loaded, _make(name).fit(X))


# --------------------------------------------------------------------------
# 2. MinMaxScaler pipelines on real data sets
# --------------------------------------------------------------------------


@pytest.mark.parametrize("load", [load_iris, load_wine, load_breast_cancer])
def test_cross_val_score_of_minmax_pipelines_is_finite_and_sensible(load, tmp_path):
    # held-out rows fall outside the training range of MinMaxScaler (and it
    # returns 1.0000000000000002): used to give all-NaN scores
    X, y = load(return_X_y=True)
    majority = np.bincount(y).max() / len(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutOfRangeWarning)
        # memory: the second pipeline reuses the fitted scaler and RBM of the first
        default = cross_val_score(make_pipeline(MinMaxScaler(), BernoulliRBM(random_state=0),
                                                LogisticRegression(), memory=str(tmp_path)),
                                  X, y, error_score="raise")
        tuned = cross_val_score(make_pipeline(MinMaxScaler(), BernoulliRBM(random_state=0),
                                              LogisticRegression(C=100.0, max_iter=2000),
                                              memory=str(tmp_path)),
                                X, y, error_score="raise")
    assert np.all(np.isfinite(default)) and np.all(default >= majority - 0.1), default
    # the hidden probabilities vary little after 10 epochs on ~150 rows; a
    # classifier that is not shrunk towards constant features uses them
    assert tuned.mean() > 0.85, tuned


def test_minmax_scaler_rounding_and_held_out_rows_are_silent_unscaled_rows_warn_once():
    X, _ = load_breast_cancer(return_X_y=True)
    scaler = MinMaxScaler().fit(X[:300])
    Xtr = scaler.transform(X[:300])
    assert Xtr.max() > 1.0  # 1.0000000000000002 on this data set
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rbm = BernoulliRBM(n_components=16, n_iter=2, random_state=0).fit(Xtr)
    Xte = scaler.transform(X[300:])
    assert Xte.min() < 0 or Xte.max() > 1 + 1e-6  # held-out rows leave [0, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        H = rbm.transform(Xte)
        rbm.transform(np.clip(Xte, 0, 1))
    assert np.all(np.isfinite(H))
    # rows that were not scaled at all still warn, once
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        rbm.transform(X[300:])
    rec = [w for w in rec if issubclass(w.category, OutOfRangeWarning)]
    assert len(rec) == 1 and "MinMaxScaler(clip=True)" in str(rec[0].message)


def test_cross_validated_minmax_pipeline_of_the_readme_is_silent():
    # the README's advice (MinMaxScaler, then the RBM, then a classifier) under
    # cross-validation: the test folds leave [0, 1] a little, and nothing warns
    X, y = load_breast_cancer(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = cross_val_score(make_pipeline(MinMaxScaler(), BernoulliRBM(n_iter=3,
                                               random_state=0), LogisticRegression()), X, y)
    assert np.all(np.isfinite(scores))


# --------------------------------------------------------------------------
# 5. A failed fit or partial_fit leaves the estimator as it was
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_failed_refit_then_transform(name):
    # fit(bad) used to overwrite n_features_in_ before the late checks ran,
    # so the next transform of good data failed
    X = _data(name)[:200]
    m = _make(name).fit(X)
    before = pickle.dumps(m)
    H = m.transform(X)
    bad_late = X[:, :10] * 1e9 if name != "BernoulliRBM" else X[:, :10]
    if name == "BernoulliRBM":
        m.set_params(learning_rate=1e9)
    with pytest.raises(ValueError), np.errstate(all="ignore"):
        m.fit(bad_late)  # fails after validation (scale check or divergence)
    m.set_params(learning_rate=_make(name).learning_rate)
    with pytest.raises(ValueError, match="NaN"):
        m.fit(np.where(X > 0.5, np.nan, X)[:, :20])
    assert pickle.dumps(m) == before
    assert_array_equal(m.transform(X), H)


@pytest.mark.parametrize("name", NAMES)
def test_failed_partial_fit_leaves_everything_including_the_rng(name):
    X = _data(name)[:100]
    m = _make(name).partial_fit(X)
    twin = pickle.loads(pickle.dumps(m))
    before = pickle.dumps(m)
    m.set_params(learning_rate=1e9)
    with pytest.raises(DivergenceError), np.errstate(all="ignore"):
        m.partial_fit(X)  # consumed the RNG (monitored rows) before failing
    with pytest.raises(ValueError, match="features"):
        m.partial_fit(X[:, :5])
    m.set_params(learning_rate=_make(name).learning_rate)
    assert pickle.dumps(m) == before
    m.partial_fit(X)
    twin.partial_fit(X)
    _assert_same_model(m, twin)
    assert m.history_ == [dict(h, seconds=g["seconds"]) for h, g in zip(twin.history_,
                                                                           m.history_)]


def test_failed_first_fit_leaves_an_unfitted_estimator():
    m = _make("BernoulliRBM", learning_rate=1e9)
    with pytest.raises(DivergenceError), np.errstate(all="ignore"):
        m.fit(_DIGITS[:100])
    assert not hasattr(m, "n_features_in_") and not hasattr(m, "components_")
    with pytest.raises(NotFittedError):
        m.transform(_DIGITS[:5])


# --------------------------------------------------------------------------
# 6. Ctrl-C: real SIGINTs at several moments
# --------------------------------------------------------------------------


def _fit_with_sigint(est, X, delay):
    """fit with a real SIGINT sent after ``delay`` seconds; returns (outcome, warnings)."""
    timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
    outcome = "raised"
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            timer.start()
            est.fit(X)
            outcome = "returned"
            timer.join()  # the signal, if still pending, is taken before we go on
            for _ in range(100):
                threading.Event().wait(0.001)
        except KeyboardInterrupt:
            timer.join()
    return outcome, [str(w.message) for w in rec if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("name", NAMES)
def test_real_sigint_at_several_moments_leaves_a_consistent_model(name, capsys):
    X = _data(name)
    kw = dict(n_components=100, n_iter=100000)
    prior = _make(name, n_components=3).fit(X[:50])  # a fitted model to be refitted
    prior.set_params(**kw)
    outcomes = []
    for i, delay in enumerate([0.0, 0.003, 0.03, 0.1, 0.25, 0.4]):
        est = pickle.loads(pickle.dumps(prior))
        est.set_params(verbose=i % 2)  # lands in the verbose print too
        before = pickle.dumps(est)
        outcome, msgs = _fit_with_sigint(est, X, delay)
        outcomes.append(outcome)
        if outcome == "raised":
            # nothing completed: exactly as before fit
            assert pickle.dumps(est) == before
            continue
        assert est.interrupted_ is True
        assert est.n_iter_ == len(est.history_) >= 1
        assert [h["epoch"] for h in est.history_] == list(range(1, est.n_iter_ + 1))
        assert any("interrupted" in m and f"after epoch {est.n_iter_}" in m for m in msgs), msgs
        # the weights of the last completed epoch, bit for bit
        ref = _make(name, n_components=100, n_iter=est.n_iter_).fit(X)
        _assert_same_model(est, ref)
        assert_array_equal(est.h_samples_, ref.h_samples_)
        assert np.all(np.isfinite(est.transform(X[:10])))
        est.partial_fit(X[:100])  # still trainable
        assert est.interrupted_ is False and est.n_iter_ == len(est.history_)
    capsys.readouterr()
    assert "returned" in outcomes


def test_real_sigint_in_the_first_epoch_restores_the_estimator():
    X = np.tile(_DIGITS, (8, 1))
    est = BernoulliRBM(n_components=256, n_iter=5, random_state=0).fit(_DIGITS[:40])
    est.set_params(n_iter=3)
    before = pickle.dumps(est)
    est.fit(X[:20])  # warm up (compilation) outside the timed part
    est = pickle.loads(before)
    outcome, _ = _fit_with_sigint(est, X, 0.05)
    assert outcome == "raised"
    assert pickle.dumps(est) == before


def test_normal_fit_sets_interrupted_false():
    m = _make("BernoulliRBM").fit(_DIGITS[:50])
    assert m.interrupted_ is False


# --------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_concurrent_fits_on_two_threads_equal_sequential(name):
    X = _data(name)[:600]
    configs = [dict(n_components=16, n_jobs=1), dict(n_components=24, n_jobs=1),
               dict(n_components=16, n_jobs=1, batch_size=20)]
    sequential = [_make(name, n_iter=3, **c).fit(X) for c in configs]
    with ThreadPoolExecutor(max_workers=2) as pool:
        concurrent = list(pool.map(lambda c: _make(name, n_iter=3, **c).fit(X), configs))
    for a, b in zip(sequential, concurrent):
        _assert_same_model(a, b)


# --------------------------------------------------------------------------
# 10. CSR duplicates
# --------------------------------------------------------------------------


def _csr_with_duplicates(X):
    """X as a CSR matrix whose every nonzero is stored as two halves."""
    Xc = sp.csr_matrix(X)
    n = Xc.shape[0]
    data, indices, indptr = [], [], [0]
    for r in range(n):
        s, e = Xc.indptr[r], Xc.indptr[r + 1]
        data += list(Xc.data[s:e] / 2) * 2
        indices += list(Xc.indices[s:e]) * 2
        indptr.append(len(data))
    D = sp.csr_matrix((np.array(data), np.array(indices), np.array(indptr)), shape=X.shape)
    assert not D.has_canonical_format
    return D


@pytest.mark.parametrize("name", NAMES)
def test_csr_duplicates_are_summed_as_scipy_does(name):
    X = _data(name)[:150]
    D = _csr_with_duplicates(X)
    data, indices = D.data.copy(), D.indices.copy()
    m = _make(name).fit(D)
    _assert_same_model(m, _make(name).fit(X))
    assert_array_equal(m.score_samples(D), m.score_samples(X))
    m.partial_fit(D)
    # the user's matrix is not modified
    assert_array_equal(D.data, data) and assert_array_equal(D.indices, indices)
    assert not D.has_canonical_format


def test_csr_duplicates_are_range_checked_after_summing():
    D = sp.csr_matrix((np.array([0.9, 0.9, 0.5]), np.array([0, 0, 1]), np.array([0, 2, 3])),
                      shape=(2, 2))
    with pytest.warns(OutOfRangeWarning, match="1.8"):
        BernoulliRBM(n_components=2, n_iter=1, random_state=0).fit(D)
    with pytest.raises(ValueError, match="1.8"):
        BernoulliRBM(n_components=2, n_iter=1, check_range="raise").fit(D)


# --------------------------------------------------------------------------
# 12. Memory: row blocks, only the rows needed
# --------------------------------------------------------------------------


def _peak(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", ["BernoulliRBM", "GaussianBernoulliRBM"])
def test_inference_on_wide_sparse_input_works_in_row_blocks(name):
    # score_samples and reconstruction_error used to densify all of X
    # (3.2 GB and 9.6 GB on a 4000 x 100,000 CSR with 1.6 MB of nonzeros)
    rng = np.random.RandomState(0)
    X = sp.random(200, 20000, density=0.002, format="csr", random_state=rng)
    X.data[:] = 1.0
    dense_bytes = X.shape[0] * X.shape[1] * 8  # 32 MB
    m = _make(name, n_components=2, n_iter=1).fit(X)
    for method in ("score_samples", "reconstruction_error", "free_energy", "transform"):
        fn = getattr(m, method)
        out = fn(X[:3])
        peak = _peak(lambda: fn(X))
        assert peak < dense_bytes / 3, (method, peak)
        np.testing.assert_allclose(fn(X)[:3], out, rtol=1e-12)


@pytest.mark.parametrize("name", ["BernoulliRBM", "GaussianBernoulliRBM"])
def test_validation_fraction_reads_only_the_rows_it_needs_from_a_memmap(name, tmp_path):
    # used to copy the whole training part and densify all validation rows
    n, v = 40000, 50  # 16 MB of float64
    rng = np.random.RandomState(0)
    fn = tmp_path / "X.dat"
    mm = np.memmap(fn, dtype=np.float64, mode="w+", shape=(n, v))
    for s in range(0, n, 4000):  # written a block at a time
        block = rng.rand(4000, v)
        mm[s:s + 4000] = block if name == "BernoulliRBM" else (block - 0.5) * 3.4
    mm.flush()
    del mm
    mm = np.memmap(fn, dtype=np.float64, mode="r", shape=(n, v))
    est = _make(name, n_components=8, n_iter=1, batch_size=20, validation_fraction=0.3)
    est.fit(mm[:100])  # compile outside the measurement
    peak = _peak(lambda: est.fit(mm))
    assert peak < 0.2 * mm.nbytes, (peak, mm.nbytes)
    assert np.isfinite(est.history_[-1]["free_energy_gap"])


# --------------------------------------------------------------------------
# 14. Bad settings and bad data get a message naming the problem
# --------------------------------------------------------------------------


def test_uncentred_gaussian_data_warns_to_standardise():
    X = np.random.RandomState(0).normal(size=(300, 5)) + 1e4
    with pytest.warns(UserWarning, match="feature \\d.*mean 1e\\+04.*not centred.*Standardise"):
        try:
            GaussianBernoulliRBM(n_components=4, n_iter=2, random_state=0).fit(X)
        except DivergenceError as exc:  # if it diverges, the message names the data
            assert "not centred" in str(exc)


def test_constant_far_column_divergence_names_the_data_not_only_the_learning_rate():
    X = np.random.RandomState(0).normal(size=(300, 5))
    X = np.c_[X, np.full(300, 1e6)]
    with pytest.warns(UserWarning, match="feature 5"):
        with pytest.raises(DivergenceError,
                           match="data are the likely cause.*feature 5.*constant.*Standardise"):
            GaussianBernoulliRBM(n_components=4, n_iter=2, random_state=0).fit(X)


def test_saturating_learning_rate_raises_divergence_error():
    # learning_rate=1e4 used to saturate every hidden unit without a word
    for lr in (1e2, 1e4):
        m = BernoulliRBM(n_components=64, learning_rate=lr, n_iter=5, random_state=0)
        with pytest.raises(DivergenceError, match="saturated.*learning_rate"):
            m.fit(_DIGITS)
    # a sensible learning rate on the same data is not flagged
    BernoulliRBM(n_components=64, learning_rate=0.1, n_iter=5, random_state=0).fit(_DIGITS)


@pytest.mark.parametrize("cls", [BernoulliRBM, GaussianBernoulliRBM])
def test_early_stopping_without_validation_fraction_is_an_error(cls):
    with pytest.raises(ValueError, match="early_stopping=True needs validation_fraction"):
        cls(n_components=2, early_stopping=True).fit(_STD_DIGITS[:20])
    m = cls(n_components=2, n_iter=3, early_stopping=True, validation_fraction=0.2,
            random_state=0).fit(_STD_DIGITS[:50] if cls is GaussianBernoulliRBM
                                else _DIGITS[:50])
    assert "free_energy_gap" in m.history_[0]


@pytest.mark.parametrize("param", ["n_components", "batch_size", "n_iter", "k",
                                   "n_iter_no_change"])
@pytest.mark.parametrize("cls", [BernoulliRBM, GaussianBernoulliRBM])
def test_bool_is_not_an_int(cls, param):
    # n_components=True used to fail inside numpy with "an integer is required"
    with pytest.raises(ValueError, match=f"'{param}' parameter.*an int.*Got True"):
        cls(**{param: True}).fit(_STD_DIGITS[:20])


def test_clone_of_an_interrupted_or_fitted_model_is_unfitted():
    m = _make("BernoulliRBM").fit(_DIGITS[:50])
    c = clone(m)
    assert not hasattr(c, "interrupted_") and not hasattr(c, "components_")
