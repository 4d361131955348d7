"""A DBM fitted on float32 rows is a float32 DBM (issue 23: half the memory and
faster products for MNIST-size joint training); its likelihoods are computed in
float64 all the same, and it follows the float64 DBM's draws."""

import os
import pickle
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from rbmlib import DBM, DBMClassifier

sys.path.insert(0, os.path.dirname(__file__))
from _workflow import bars_labelled  # noqa: E402

KW = dict(hidden_layer_sizes=(8, 6), n_iter=4, n_iter_pretrain=3, batch_size=20,
          n_chains=10, random_state=0)


def _arrays(d):
    return d.coefs_ + d.intercepts_ + d.fantasy_particles_ + list(d._velocities[0])


@pytest.mark.parametrize("centered", [False, True])
def test_float32_rows_train_a_float32_dbm_that_tracks_the_float64_one(centered):
    X, _ = bars_labelled(200, 0)
    d64 = DBM(centered=centered, **KW).fit(X)
    d32 = DBM(centered=centered, **KW).fit(X.astype(np.float32))
    for a in _arrays(d32) + ([] if not centered else d32.offsets_):
        assert a.dtype == np.float32
    for a in _arrays(d64):
        assert a.dtype == np.float64
    # the same draws in both precisions: the chains' states are equal and the
    # weights differ by float32 rounding only
    for a, b in zip(d32.fantasy_particles_, d64.fantasy_particles_):
        assert np.mean(a != b) < 0.02
    for a, b in zip(d32.coefs_, d64.coefs_):
        assert_allclose(a, b, atol=1e-3)
    assert d32.transform(X).dtype == np.float32
    assert d32.transform(X.astype(np.float32)).dtype == np.float32
    assert d64.transform(X.astype(np.float32)).dtype == np.float64
    assert d32.sample(3, n_gibbs=5, random_state=0).dtype == np.float32


def test_float32_likelihoods_are_computed_in_float64():
    """Exact log Z, AIS and the bound of a float32 DBM equal those of the same
    weights held in float64 (the float32 weights cast up), not a float32 sum."""
    X, _ = bars_labelled(200, 0)
    d32 = DBM(**KW).fit(X.astype(np.float32))
    d64 = pickle.loads(pickle.dumps(d32))
    d64.coefs_ = [w.astype(np.float64) for w in d32.coefs_]
    d64.intercepts_ = [b.astype(np.float64) for b in d32.intercepts_]
    assert d32.log_partition(method="exact").log_z == d64.log_partition(method="exact").log_z
    a32 = d32.log_partition(method="ais", n_runs=20, n_betas=300)
    a64 = d64.log_partition(method="ais", n_runs=20, n_betas=300)
    assert a32.log_z == a64.log_z
    s32, s64 = d32.score_samples(X), d64.score_samples(X)
    assert s32.dtype == np.float64
    assert_allclose(s32, s64, rtol=1e-12)


def test_float32_dbm_keeps_its_type_when_continued_on_float64_rows():
    X, _ = bars_labelled(200, 0)
    d = DBM(**KW).fit(X.astype(np.float32))
    d.partial_fit(X)
    assert all(a.dtype == np.float32 for a in _arrays(d))
    d.set_params(warm_start=True, n_iter=1).fit(X)
    assert all(a.dtype == np.float32 for a in _arrays(d)) and d.n_iter_ == 6
    # a new fit on float64 rows is a float64 DBM again
    d.set_params(warm_start=False).fit(X)
    assert all(a.dtype == np.float64 for a in _arrays(d))


def test_float32_streamed_memmap_trains_the_float32_in_memory_dbm(tmp_path):
    X, _ = bars_labelled(200, 0)
    X32 = X.astype(np.float32)
    m = np.memmap(tmp_path / "x.dat", dtype=np.float32, mode="w+", shape=X.shape)
    m[:] = X32
    m.flush()
    r = np.memmap(tmp_path / "x.dat", dtype=np.float32, mode="r", shape=X.shape)
    streamed = DBM(block_size=200, **KW).fit(r)
    whole = DBM(**KW).fit(X32)
    for a, b in zip(_arrays(streamed), _arrays(whole)):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)


def test_float32_pipeline_and_classifier():
    """A user's float32 table through MinMaxScaler (which keeps float32) into a
    DBMClassifier: it fits, predicts and pickles, its DBM float32, and it
    predicts as the float64 pipeline does."""
    X, y = bars_labelled(200, 0)
    X = X * 3 + 1

    def pipe():
        clf = DBMClassifier(dbm=DBM(**KW), max_iter=200, random_state=0)
        return make_pipeline(MinMaxScaler(), clf)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # tiny settings
        p32 = pipe().fit(X.astype(np.float32), y)
        p64 = pipe().fit(X, y)
    assert p32[-1].dbm_.coefs_[0].dtype == np.float32
    assert p64[-1].dbm_.coefs_[0].dtype == np.float64
    acc = p32.score(X.astype(np.float32), y)
    assert acc > 0.6  # above chance (0.5) on classes no linear rule separates
    assert np.mean(p32.predict(X) == p64.predict(X)) >= 0.95
    assert pickle.loads(pickle.dumps(p32)).score(X.astype(np.float32), y) == acc
