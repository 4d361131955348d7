"""Out-of-core data and Dask: row blocks, streaming pretraining, real LocalClusters.

Every cluster here is a real ``dask.distributed.LocalCluster`` (threads in
this process for speed, and one with two worker processes), shut down at the
end; nothing is mocked.
"""

import os
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils import check_array

from rbmlib import DBN, BernoulliRBM, DBNClassifier, DBNRegressor
from rbmlib._blocks import RowBlocks, map_rows, pretrain_streaming, streaming_source

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), y


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of threads in this process (fast to start), with its Client."""
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=":0") as cluster:
        with distributed.Client(cluster) as c:
            yield c


@pytest.fixture
def memmap_of(tmp_path):
    count = [0]

    def make(X):
        count[0] += 1
        path = tmp_path / f"X{count[0]}.bin"
        mm = np.memmap(path, dtype=X.dtype, mode="w+", shape=X.shape)
        for start in range(0, X.shape[0], 500):  # written block by block
            mm[start:start + 500] = X[start:start + 500]
        mm.flush()
        del mm
        return np.memmap(path, dtype=X.dtype, mode="r", shape=X.shape)
    return make


# ---------------------------------------------------------------- row blocks
def _blocks(source, seed=None):
    rng = None if seed is None else np.random.RandomState(seed)
    return [b.toarray() if sp.issparse(b) else b for b in source.blocks(rng)]


def test_row_blocks_of_every_kind_cover_the_data(digits, memmap_of):
    X = digits[0][:1000]
    kinds = {
        "ndarray": X,
        "memmap": memmap_of(X),
        "csr": sp.csr_matrix(X),
        "dask": da.from_array(X, chunks=(300, 16)),  # column chunks are merged
        "list of blocks": [X[:300], X[300:777], X[777:]],
    }
    for name, data in kinds.items():
        blocks = _blocks(RowBlocks(data, 300))
        assert np.array_equal(np.vstack(blocks), X), name
        assert all(b.shape[0] <= 477 for b in blocks), name
    # the same blocks, in the same random order with the same row shuffles
    ref = _blocks(RowBlocks(X, 300), seed=3)
    assert not np.array_equal(np.vstack(ref), X)
    for name in ("memmap", "csr", "dask"):
        got = _blocks(RowBlocks(kinds[name], 300), seed=3)
        assert all(np.array_equal(a, b) for a, b in zip(ref, got)), name
    # "auto" takes a dask array's own chunks
    assert RowBlocks(da.from_array(X, chunks=(250, 64))).n_blocks == 4


def test_memmap_blocks_are_read_one_at_a_time(digits, memmap_of):
    mm = memmap_of(digits[0])
    for block in RowBlocks(mm, 200).blocks(np.random.RandomState(0)):
        # an in-memory copy of one block, not a view of the file
        assert not isinstance(block, np.memmap) and block.base is None
        assert block.shape[0] <= 200


def test_row_blocks_errors():
    X = np.zeros((10, 3))
    with pytest.raises(TypeError, match="one-shot iterator"):
        RowBlocks(b for b in [X])
    with pytest.raises(TypeError, match="one-shot iterator"):
        RowBlocks(iter([X, X]))
    for bad in (0, -5, 2.5, True, "big"):
        with pytest.raises(ValueError, match="block_size must be"):
            RowBlocks(X, bad)
    with pytest.raises(ValueError, match="Block 1 has 4 columns but block 0 has 3"):
        list(RowBlocks([X, np.zeros((2, 4))]).blocks())
    with pytest.raises(ValueError, match="Expected 2-D data"):
        RowBlocks(np.zeros(5))
    dX = da.from_array(X, chunks=5)
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        RowBlocks(dX[dX[:, 0] > -1])
    with pytest.raises(ValueError, match="no rows"):
        RowBlocks([np.zeros((0, 3))]).first_block()


def test_streaming_source_decides_what_streams(digits, memmap_of):
    X = digits[0][:100]
    assert streaming_source(X) is None  # in memory: the ordinary path
    assert streaming_source(X.tolist()) is None
    assert streaming_source(sp.csr_matrix(X)) is None
    mm = memmap_of(X)
    # a memmap no larger than one "auto" block trains in memory, exactly as an ndarray
    assert streaming_source(mm) is None
    assert streaming_source(mm, block_size=30).n_blocks == 4
    big = memmap_of(np.zeros((2**22 // 64 + 1, 64), np.float32))
    assert streaming_source(big) is not None
    # validation (np.asarray) drops the memmap subclass; the view still streams
    assert streaming_source(check_array(big)) is not None
    assert streaming_source(np.array(mm)) is None
    assert streaming_source(da.from_array(X, chunks=50)) is not None
    assert streaming_source([X[:50], X[50:]]) is not None
    assert streaming_source(X, block_size=30).n_blocks == 4


# ------------------------------------------------------ streaming pretraining
def _layers():
    return [BernoulliRBM(24, n_iter=3, batch_size=20, learning_rate=0.1, random_state=1,
                         n_jobs=1),
            BernoulliRBM(12, n_iter=3, batch_size=20, learning_rate=0.1, random_state=2,
                         n_jobs=1)]


def _holdout_accuracy(H, y):
    return LogisticRegression(max_iter=500).fit(H[:1200], y[:1200]).score(H[1200:], y[1200:])


def test_streaming_pretraining_file_backed_equals_in_memory(digits, memmap_of, client):
    """Bit for bit on one thread: ndarray, memmap and a dask array backed by the memmap."""
    X = digits[0]
    mm = memmap_of(X)
    fits = {}
    for name, data in {"ndarray": X, "memmap": mm,
                       "dask on the cluster": da.from_array(mm, chunks=(256, 64))}.items():
        fits[name] = pretrain_streaming(_layers(), RowBlocks(data, 256),
                                        np.random.RandomState(0))
    ref = fits.pop("ndarray")
    for name, rbms in fits.items():
        for a, b in zip(ref, rbms):
            assert np.array_equal(a.components_, b.components_), name
            assert np.array_equal(a.intercept_hidden_, b.intercept_hidden_), name
            assert np.array_equal(a.intercept_visible_, b.intercept_visible_), name
    # each layer saw every block of every epoch (one partial_fit pass per block)
    assert ref[0].n_iter_ == ref[1].n_iter_ == 3 * RowBlocks(X, 256).n_blocks
    # the stack learns as well as the in-memory greedy fit of the same layers
    in_memory = _layers()
    H = X
    for rbm in in_memory:
        H = rbm.fit(H).transform(H)
    H0 = ref[0].transform(X)
    assert H0.dtype == np.float32
    acc, acc_in_memory = (_holdout_accuracy(r[0].transform(X), digits[1]) for r in (ref, in_memory))
    assert acc > 0.5 and abs(acc - acc_in_memory) < 0.06, (acc, acc_in_memory)


# -------------------------------------------------------------- lazy inference
def test_map_rows_is_lazy_and_equals_transform(digits, client):
    X = digits[0]
    rbm = BernoulliRBM(16, n_iter=2, random_state=0).fit(X)
    dX = da.from_array(X, chunks=(400, 32))
    H = map_rows(rbm, "transform", dX, 16, rbm.components_.dtype)
    assert isinstance(H, da.Array) and H.shape == (X.shape[0], 16)
    assert H.chunks[0] == dX.chunks[0]
    expected = rbm.transform(X)
    rbm.set_params(n_iter=1).fit(X[:100])  # a refit after building the graph changes nothing
    assert np.array_equal(H.compute(), expected)
    pll = map_rows(rbm, "score_samples", dX, None, np.float32)
    assert pll.shape == (X.shape[0],)
    assert np.allclose(pll.compute(), rbm.score_samples(X))


# ------------------------------------------------------------ cluster search
GRID = {"rbm__n_components": [8, 16]}


def _search(X, y, backend, grid=GRID, cv=3):
    pipe = Pipeline([("rbm", BernoulliRBM(16, n_iter=8, batch_size=10, random_state=0,
                                          n_jobs=1)),
                     ("clf", LogisticRegression(max_iter=300))])
    search = GridSearchCV(pipe, grid, cv=cv, n_jobs=2)
    with joblib.parallel_backend(backend):
        search.fit(X, y)
    return search


def _same_search(a, b):
    assert a.best_params_ == b.best_params_
    assert a.best_score_ == b.best_score_
    for key in ("mean_test_score", "std_test_score", "split0_test_score"):
        np.testing.assert_array_equal(a.cv_results_[key], b.cv_results_[key])
    assert np.array_equal(a.best_estimator_["rbm"].components_,
                          b.best_estimator_["rbm"].components_)


def test_grid_search_on_dask_backend_equals_local(digits, client):
    X, y = digits[0][:450], digits[1][:450]
    local = _search(X, y, "threading")
    on_cluster = _search(X, y, "dask")
    _same_search(local, on_cluster)
    assert local.best_score_ > 0.25  # chance is 0.1


def _worker_threads():
    """Thread pools as rbmlib's kernels see them inside a worker (runs on the worker)."""
    import numba
    from threadpoolctl import threadpool_info

    import rbmlib  # noqa: F401  (loads the BLAS that rbmlib uses)

    blas = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    return {"numba": numba.get_num_threads(), "blas": blas, "pid": os.getpid()}


SMALL_GRID = {"rbm__learning_rate": [0.05, 0.1]}


def test_two_worker_processes_threads_and_search(digits):
    """Two worker processes with one thread each: one BLAS and one Numba thread per worker.

    distributed's Nanny starts workers with OMP/MKL/OPENBLAS_NUM_THREADS=1
    (``distributed.nanny.pre-spawn-environ``); NUMBA_NUM_THREADS is passed in
    ``env``, so two workers on two cores run two threads in all, not four.
    Estimators are pickled to the workers and the search equals the local one.
    """
    X, y = digits[0][:450], digits[1][:450]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0",
                                  env={"NUMBA_NUM_THREADS": "1"}) as cluster:
        with distributed.Client(cluster) as c:
            report = c.run(_worker_threads)
            assert len({r["pid"] for r in report.values()} | {os.getpid()}) == 3
            for r in report.values():
                assert r["numba"] == 1
                assert r["blas"] and all(n == 1 for n in r["blas"])
            on_cluster = _search(X, y, "dask", grid=SMALL_GRID, cv=2)
            # a fitted estimator comes back from a worker and keeps working here
            rbm = c.submit(lambda: BernoulliRBM(8, n_iter=1, random_state=0).fit(X)).result()
            assert rbm.transform(X).shape == (450, 8)
    _same_search(_search(X, y, "threading", grid=SMALL_GRID, cv=2), on_cluster)
    assert pickle.loads(pickle.dumps(on_cluster.best_estimator_)).score(X, y) > 0.5


# ------------------------------------------------- estimators on out-of-core data
def test_rbm_score_is_mean_pseudo_log_likelihood_and_drives_grid_search(digits):
    X = digits[0][:600]
    rbm = BernoulliRBM(16, n_iter=3, random_state=0).fit(X)
    assert isinstance(rbm.score(X), float)
    assert rbm.score(X) == pytest.approx(float(np.mean(rbm.score_samples(X))), rel=1e-6)
    # unsupervised model selection, no downstream classifier
    # a learning rate too small to move the weights loses
    search = GridSearchCV(BernoulliRBM(16, n_iter=20, random_state=0),
                          {"learning_rate": [1e-5, 0.1]}, cv=3).fit(X)
    assert search.best_params_ == {"learning_rate": 0.1}
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_rbm_dask_input_fit_partial_fit_transform_score(digits, client):
    X = digits[0][:1000]
    dX = da.from_array(X, chunks=(250, 64))
    # partial_fit of a dask array = partial_fit of its chunks, in order
    by_hand = BernoulliRBM(16, random_state=0)
    for start in range(0, 1000, 250):
        by_hand.partial_fit(X[start:start + 250])
    on_dask = BernoulliRBM(16, random_state=0).partial_fit(dX)
    assert np.array_equal(by_hand.components_, on_dask.components_)
    # fit streams n_iter passes over the chunks; transform and score stay lazy / distributed
    rbm = BernoulliRBM(16, n_iter=3, random_state=0).fit(dX)
    assert rbm.n_features_in_ == 64 and rbm.n_iter_ == 3 * 4
    H = rbm.transform(dX)
    assert isinstance(H, da.Array) and H.chunks[0] == dX.chunks[0]
    np.testing.assert_array_equal(H.compute(), rbm.transform(X))
    assert rbm.score(dX) == pytest.approx(rbm.score(X), rel=1e-5)
    with pytest.raises(ValueError, match="X has 10 features"):
        rbm.transform(dX[:, :10])
    # a failing fit leaves the model as it was
    before = rbm.components_.copy()
    bad = da.concatenate([dX[:500], da.from_array(np.full((10, 64), np.nan, np.float32))])
    with pytest.raises(ValueError):
        rbm.fit(bad)
    with pytest.raises(ValueError):
        rbm.partial_fit(bad)
    assert np.array_equal(rbm.components_, before) and rbm.n_iter_ == 12


def test_incremental_bernoulli_rbm_equals_partial_fit_by_hand(digits, client):
    from dask_ml.wrappers import Incremental

    X = digits[0]
    dX = da.from_array(X, chunks=(300, 64))
    inc = Incremental(BernoulliRBM(16, random_state=0)).fit(dX)  # default arguments
    assert isinstance(inc.score(dX, None), float)  # dask-ml's score takes y
    inc = Incremental(BernoulliRBM(16, random_state=0), shuffle_blocks=False).fit(dX)
    by_hand = BernoulliRBM(16, random_state=0)
    for start in range(0, X.shape[0], 300):
        by_hand.partial_fit(X[start:start + 300])
    assert np.array_equal(inc.estimator_.components_, by_hand.components_)
    assert inc.score(dX, None) == pytest.approx(by_hand.score(X), rel=1e-5)
    np.testing.assert_array_equal(inc.transform(dX).compute(), by_hand.transform(X))


def _dbn(**kw):
    return DBN((128, 64), n_iter=2, batch_size=20, learning_rate=0.05, random_state=0,
               n_jobs=1, **kw)


def test_dbn_out_of_core_equals_in_memory_bit_for_bit(digits, memmap_of, client):
    X = digits[0]
    mm = memmap_of(X)
    ref = _dbn(block_size=300).fit(X)
    for data in (mm, da.from_array(mm, chunks=(300, 64))):
        got = _dbn(block_size=300).fit(data)
        assert got.n_features_in_ == 64
        for a, b in zip(ref.rbms_, got.rbms_):
            assert np.array_equal(a.components_, b.components_)
            assert np.array_equal(a.intercept_hidden_, b.intercept_hidden_)
    # "auto": a dask array streams its own chunks (here the same blocks)
    auto = _dbn().fit(da.from_array(X, chunks=(300, 64)))
    assert np.array_equal(auto.rbms_[1].components_, ref.rbms_[1].components_)
    # a list of blocks is read in its own order (rows shuffled within blocks)
    blocks = [X[s:s + 300] for s in range(0, 1797, 300)]
    listed = _dbn().fit(blocks)
    assert listed.n_features_in_ == 64 and listed.rbms_[0].n_iter_ == 2 * 6
    assert np.array_equal(_dbn().fit(blocks).rbms_[1].components_, listed.rbms_[1].components_)
    # the top layer is trained, not left at its initialisation
    assert ref.rbms_[1].n_iter_ == 2 * 6
    H = ref.transform(X)
    assert H.shape == (1797, 64) and H.dtype == np.float32
    # and as far as the in-memory greedy fit of the same layers gets
    std_in_memory = _dbn().fit(X).transform(X).std()
    assert 0.5 < H.std() / std_in_memory < 2


def test_dbn_out_of_core_memory_is_bounded_by_the_block(digits, memmap_of):
    """Streaming never holds a layer's representation of all rows; in memory it does."""
    import tracemalloc

    X = np.tile(digits[0], (10, 1))  # 17,970 x 64 float32 (4.6 MB); H of layer 1 is 9.2 MB
    mm = memmap_of(X)
    peaks = {}
    for name, data, block in (("memmap", mm, 500), ("in memory", X, "auto")):
        dbn = DBN((128, 64), n_iter=1, batch_size=50, random_state=0, n_jobs=1,
                  block_size=block)
        dbn.fit(data[:600])  # compile and warm up outside the measurement
        tracemalloc.start()
        dbn.fit(data)
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks["memmap"] < 0.5 * X.nbytes < peaks["in memory"]


def test_dbn_block_errors_and_score(digits):
    X = digits[0][:400]
    with pytest.raises(TypeError, match="one-shot iterator"):
        _dbn().fit(b for b in [X[:200], X[200:]])
    with pytest.raises(ValueError, match="block_size"):
        _dbn(block_size=0).fit(X)
    dbn = _dbn(block_size=100).fit([X[:200], X[200:]])
    assert dbn.score(X) == pytest.approx(dbn.rbms_[0].score(X))
    with pytest.raises(ValueError, match="Block 1 has 5 columns"):
        _dbn().fit([X[:200], X[200:, :5]])
    assert dbn.rbms_[0].components_.shape == (128, 64)  # a failed fit changed nothing


def test_dbn_classifier_pretrains_out_of_core_and_predicts_lazily(digits, memmap_of, client):
    X, y = digits
    mm = memmap_of(X)
    clf = DBNClassifier((32,), n_iter_pretrain=2, max_iter=30,
                        pretrain_params={"block_size": 200}, random_state=0, n_jobs=1)
    clf.fit(mm, y)
    # the bottom RBM was trained by one partial_fit pass per block and epoch
    assert clf.dbn_.rbms_[0].n_iter_ == 2 * 9
    dX = da.from_array(X, chunks=(500, 64))
    pred, proba = clf.predict(dX), clf.predict_proba(dX)
    assert isinstance(pred, da.Array) and isinstance(proba, da.Array)
    np.testing.assert_array_equal(pred.compute(), clf.predict(X))
    np.testing.assert_allclose(proba.compute(), clf.predict_proba(X), rtol=1e-6)
    assert clf.score(X, y) > 0.8
    reg = DBNRegressor((16,), n_iter_pretrain=1, max_iter=20, random_state=0).fit(X, y * 1.0)
    np.testing.assert_allclose(reg.predict(dX).compute(), reg.predict(X), rtol=1e-6)


def test_dbn_out_of_core_ctrl_c_keeps_completed_layers(digits, memmap_of):
    import signal
    import threading

    X = np.tile(digits[0], (4, 1))
    mm = memmap_of(X)
    DBN((64, 32), n_iter=1, block_size=500, random_state=0).fit(mm[:600])  # compile first
    dbn = DBN((64, 32), n_iter=[1, 100000], batch_size=20, block_size=500, random_state=0,
              n_jobs=1)
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.warns(RuntimeWarning, match="interrupted by the user"):
            dbn.fit(mm)
    finally:
        timer.cancel()
    assert dbn.interrupted_ and len(dbn.rbms_) in (1, 2)
    assert dbn.rbms_[0].n_iter_ == RowBlocks(mm, 500).n_blocks  # layer 1 completed
    assert dbn.transform(X).shape == (X.shape[0], dbn.rbms_[-1].n_components)
    # pickled and restored, the interrupted model keeps working
    assert np.array_equal(pickle.loads(pickle.dumps(dbn)).transform(X), dbn.transform(X))


def test_incremental_dbn_classifier_equals_partial_fit_by_hand(digits, client):
    from dask_ml.wrappers import Incremental

    X, y = digits
    dX, dy = da.from_array(X, chunks=(300, 64)), da.from_array(y, chunks=300)
    kw = dict(hidden_layer_sizes=(32,), n_iter_pretrain=0, random_state=0, n_jobs=1)
    classes = np.arange(10)
    default = Incremental(DBNClassifier(**kw)).fit(dX, dy, classes=classes)
    assert 0.1 < default.score(dX, dy) <= 1
    inc = Incremental(DBNClassifier(**kw), shuffle_blocks=False).fit(dX, dy, classes=classes)
    by_hand = DBNClassifier(**kw)
    for start in range(0, X.shape[0], 300):
        by_hand.partial_fit(X[start:start + 300], y[start:start + 300], classes=classes)
    for a, b in zip(inc.estimator_.coefs_, by_hand.coefs_):
        assert np.array_equal(a, b)
    assert inc.score(dX, dy) == by_hand.score(X, y)
    pred = inc.predict(dX)
    assert isinstance(pred, da.Array)
    np.testing.assert_array_equal(pred.compute(), by_hand.predict(X))
