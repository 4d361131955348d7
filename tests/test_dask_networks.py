"""DBNClassifier, DBNRegressor and DBNAutoencoder fitted on dask arrays and memmaps.

Pretraining streams the dask array (or memmap) through the DBN's row blocks;
fine-tuning reads X computed chunk by chunk into one NumPy array. A fit on a
dask array is compared with a fit on the same rows in memory, with the same
``block_size`` (here the dask chunk size) and ``random_state``: the blocks, their
order and every arithmetic operation are then the same, so the models are
bit-identical (``np.array_equal``, not a tolerance). The one cluster here is a
real ``dask.distributed.LocalCluster``; nothing is mocked.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

from rbmlib import BernoulliRBM, DBNAutoencoder, DBNClassifier, DBNRegressor

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

N_ROWS, CHUNK = 600, 150  # 4 blocks


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X[:N_ROWS] / 16.0).astype(np.float32), y[:N_ROWS]


def _kw(block_size):
    return dict(n_iter_pretrain=2, max_iter=4, batch_size=50, random_state=0, n_jobs=1,
                pretrain_params={"block_size": block_size})


def _make(kind, block_size="auto"):
    if kind == "classifier":
        return DBNClassifier((16,), **_kw(block_size))
    if kind == "regressor":
        return DBNRegressor((16,), **_kw(block_size))
    return DBNAutoencoder((16,), n_components=4, visible_units=kind.split("-")[1],
                          **_kw(block_size))


def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings of the tiny networks
        return est.fit(X) if isinstance(est, DBNAutoencoder) else est.fit(X, y)


def _target(kind, y):
    return y * 1.0 if kind == "regressor" else y


def _assert_same_network(a, b):
    assert len(a.coefs_) == len(b.coefs_)
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert p.dtype == q.dtype and np.array_equal(p, q)
    for r, s in zip(a.dbn_.rbms_, b.dbn_.rbms_):
        assert np.array_equal(r.components_, s.components_)
    assert a.loss_curve_ == b.loss_curve_


KINDS = ["classifier", "regressor", "autoencoder-bernoulli", "autoencoder-gaussian"]


@pytest.mark.parametrize("kind", KINDS)
def test_fit_on_dask_streams_pretraining_and_equals_in_memory(kind, digits):
    X, y = digits
    y = _target(kind, y)
    dX, dy = da.from_array(X, chunks=(CHUNK, 64)), da.from_array(y, chunks=CHUNK)
    # block_size="auto": the dask array streams its own chunks (one partial_fit per
    # chunk and epoch); before, the dask array was loaded and pretrained in memory
    got = _fit(_make(kind), dX, dy)
    assert [r.n_iter_ for r in got.dbn_.rbms_] == [2 * (N_ROWS // CHUNK)] * len(
        got.dbn_.rbms_)
    # the same blocks from an in-memory X: bit-identical (same blocks, order, arithmetic)
    ref = _fit(_make(kind, CHUNK), X, y)
    _assert_same_network(got, ref)
    # y in memory with a dask X, and an integer block_size on the dask array
    _assert_same_network(_fit(_make(kind, CHUNK), dX, y), ref)
    # a dask y of unknown chunk sizes (boolean indexing) is computed at once
    _assert_same_network(_fit(_make(kind, CHUNK), dX, dy[dy > -1]), ref)
    if not kind.startswith("autoencoder"):  # dask sample weights
        w = np.linspace(0.5, 2.0, N_ROWS)
        got_w = _make(kind, CHUNK).fit(dX, dy, sample_weight=da.from_array(w, chunks=CHUNK))
        _assert_same_network(got_w, _make(kind, CHUNK).fit(X, y, sample_weight=w))
    # predictions / codes of a dask array stay lazy and equal the NumPy ones; the
    # BLAS product of a 150-row chunk may round differently from the 600-row one
    # (float32, one ulp), hence rtol=1e-6 for real-valued outputs
    method = "transform" if kind.startswith("autoencoder") else "predict"
    lazy = getattr(got, method)(dX)
    assert isinstance(lazy, da.Array) and lazy.chunks[0] == dX.chunks[0]
    np.testing.assert_allclose(lazy.compute(), getattr(ref, method)(X), rtol=1e-6)
    if kind == "classifier":
        np.testing.assert_array_equal(lazy.compute(), ref.predict(X))
        proba = got.predict_proba(dX)
        assert isinstance(proba, da.Array)
        np.testing.assert_allclose(proba.compute(), ref.predict_proba(X), rtol=1e-6)


@pytest.mark.parametrize("kind", ["classifier", "autoencoder-gaussian"])
def test_fit_on_memmap_equals_in_memory(kind, digits, tmp_path):
    X, y = digits
    mm = np.memmap(tmp_path / "X.bin", dtype=X.dtype, mode="w+", shape=X.shape)
    mm[:] = X
    mm.flush()
    mm = np.memmap(tmp_path / "X.bin", dtype=X.dtype, mode="r", shape=X.shape)
    got = _fit(_make(kind, 100), mm, y)
    assert got.dbn_.rbms_[0].n_iter_ == 2 * (N_ROWS // 100)  # streamed in 6 blocks
    _assert_same_network(got, _fit(_make(kind, 100), X, y))


def test_pretraining_on_dask_reads_one_block_at_a_time(digits, monkeypatch):
    """No RBM is ever trained on, or passes up, more rows than one chunk in pretraining."""
    X, y = digits
    seen = []
    for name in ("partial_fit", "fit", "transform"):
        orig = getattr(BernoulliRBM, name)

        def spy(self, data, *a, _orig=orig, _name=name, **k):
            seen.append((_name, data.shape[0]))
            return _orig(self, data, *a, **k)
        monkeypatch.setattr(BernoulliRBM, name, spy)
    clf = DBNClassifier((16, 8), n_iter_pretrain=1, max_iter=1, random_state=0, n_jobs=1)
    _fit(clf, da.from_array(X, chunks=(CHUNK, 64)), y)
    pretraining = [s for s in seen if s[0] in ("partial_fit", "fit")]
    assert pretraining and max(n for _, n in pretraining) <= CHUNK
    # transform calls in pretraining pass one block up; only the flat-layer check
    # after pretraining looks at (up to 1000) rows at once
    assert sum(n > CHUNK for _, n in seen) <= 2


def test_fit_with_a_distributed_client_equals_in_memory(digits):
    X, y = digits
    dX, dy = da.from_array(X, chunks=(CHUNK, 64)), da.from_array(y, chunks=CHUNK)
    ref = _fit(_make("classifier", CHUNK), X, y)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster:
        with distributed.Client(cluster):
            got = _fit(_make("classifier"), dX, dy)
            pred = got.predict(dX)
            assert isinstance(pred, da.Array)
            np.testing.assert_array_equal(pred.compute(), ref.predict(X))
            ae = _fit(_make("autoencoder-bernoulli"), dX, None)
            codes = ae.transform(dX)
            assert isinstance(codes, da.Array)
    _assert_same_network(got, ref)
    np.testing.assert_allclose(
        codes.compute(scheduler="sync"),
        _fit(_make("autoencoder-bernoulli", CHUNK), X, None).transform(X), rtol=1e-6)


@pytest.mark.parametrize("kind", ["classifier", "regressor", "autoencoder-bernoulli"])
def test_failed_fit_on_bad_dask_input_leaves_the_estimator_unchanged(kind, digits):
    X, y = digits
    y = _target(kind, y)
    est = _fit(_make(kind), X[:300], y[:300])
    before = {k: (v.copy() if isinstance(v, np.ndarray) else v)
              for k, v in est.__dict__.items()}
    coefs = [W.copy() for W in est.coefs_]
    bad_nan = X.copy()
    bad_nan[7, 3] = np.nan
    cases = [(da.from_array(bad_nan, chunks=(CHUNK, 64)), y, "NaN")]
    if kind == "autoencoder-bernoulli":
        cases.append((da.from_array(X * 3, chunks=(CHUNK, 64)), y, r"\[0, 1\]"))
    else:
        cases.append((da.from_array(X, chunks=(CHUNK, 64)), da.from_array(y[:500], chunks=100),
                      "inconsistent numbers of samples"))
    cases.append((da.from_array(X[:, :, None], chunks=(CHUNK, 64, 1)), y, "2-D dask array"))
    for dX, dy, match in cases:
        with pytest.raises(ValueError, match=match):
            _fit(est, dX, dy)
        assert est.__dict__.keys() == before.keys()
        assert all(np.array_equal(a, b) for a, b in zip(est.coefs_, coefs))
        assert est.dbn_ is before["dbn_"] and est.n_iter_ == before["n_iter_"]
