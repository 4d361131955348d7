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

from rbmlib import BernoulliRBM
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
    def make(X):
        path = tmp_path / "X.bin"
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
    assert streaming_source(mm) is not None
    # validation (np.asarray) drops the memmap subclass; the view still streams
    assert streaming_source(check_array(mm)) is not None
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
GRID = {"rbm__n_components": [8, 16], "rbm__learning_rate": [0.05, 0.1]}


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
    assert local.best_score_ > 0.65


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
