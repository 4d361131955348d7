"""Thread control (rbmlib._parallel) and what n_jobs promises about results."""

import threading

import numba
import numpy as np
import pytest
from joblib import cpu_count
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_info, threadpool_limits

from rbmlib import BernoulliRBM, DBN
from rbmlib._parallel import _SHARED_BLAS, _is_per_thread, effective_n_jobs, thread_limits


def _shared_blas_threads():
    """Thread counts of the BLAS pools shared by the whole process."""
    return sorted({
        info["num_threads"] for info in threadpool_info()
        if info["user_api"] == "blas"
        and not (info["internal_api"] == "openblas" and info.get("threading_layer") == "openmp")
    })


def _release_openblas_control():
    # threadpoolctl >= 3.7 lets only the first thread that sets a process-wide
    # OpenBLAS limit change it until that thread leaves its ``with`` block;
    # the fixture sets its limit without keeping that control, as a process
    # whose limits come from its environment would be.
    try:
        from threadpoolctl import OpenBLASController
    except ImportError:  # pragma: no cover
        return
    OpenBLASController.clear_controlling_thread(force=True)


@pytest.fixture
def two_blas_threads():
    """Run the test with the shared BLAS pools at 2 threads (the 'original' limit)."""
    if not _shared_blas_threads():
        pytest.skip("no process-wide BLAS pool loaded")
    limiter = threadpool_limits(limits=2, user_api="blas")
    _release_openblas_control()
    try:
        if _shared_blas_threads() != [2]:
            pytest.skip("BLAS cannot run 2 threads here")
        yield
    finally:
        limiter.restore_original_limits()
        _release_openblas_control()
    assert _SHARED_BLAS.active_limits() == {}


def test_effective_n_jobs():
    assert effective_n_jobs(None) is None
    assert effective_n_jobs(3) == 3
    assert effective_n_jobs(-1) == cpu_count()
    assert effective_n_jobs(-10**6) == 1
    with pytest.raises(ValueError, match="n_jobs == 0"):
        effective_n_jobs(0)
    with pytest.raises(ValueError, match="n_jobs == 0"):
        with thread_limits(0):
            pass


def test_interleaved_blocks_from_two_threads_restore_the_original(two_blas_threads):
    """A enters, B enters, A leaves (B must still be limited), B leaves: back to 2."""
    a_in, b_in, a_out, b_may_leave = (threading.Event() for _ in range(4))
    seen = {}
    errors = []

    def run_a():
        try:
            with thread_limits(1):
                a_in.set()
                b_in.wait(10)
            a_out.set()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def run_b():
        try:
            a_in.wait(10)
            with thread_limits(1):
                b_in.set()
                a_out.wait(10)
                seen["b_after_a_left"] = _shared_blas_threads()
                seen["numba_in_b"] = numba.get_num_threads()
                b_may_leave.wait(10)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    ta, tb = threading.Thread(target=run_a), threading.Thread(target=run_b)
    ta.start(), tb.start()
    a_out.wait(10)
    b_may_leave.set()
    ta.join(10), tb.join(10)
    assert not errors
    assert seen["b_after_a_left"] == [1]  # B still runs at its own limit
    assert seen["numba_in_b"] == 1
    assert _shared_blas_threads() == [2]  # the original, not B's stale "original" of 1


def test_concurrent_limits_use_the_smallest(two_blas_threads):
    inside = threading.Event()
    leave = threading.Event()

    def hold_one():
        with thread_limits(1):
            inside.set()
            leave.wait(10)

    t = threading.Thread(target=hold_one)
    with thread_limits(2):
        assert _shared_blas_threads() == [2]
        t.start()
        inside.wait(10)
        assert _shared_blas_threads() == [1]  # no block runs with more than it asked for
        assert numba.get_num_threads() == min(2, numba.config.NUMBA_NUM_THREADS)  # per thread
        leave.set()
        t.join(10)
        assert _shared_blas_threads() == [2]
    assert _shared_blas_threads() == [2]


def test_nested_blocks(two_blas_threads):
    numba_before = numba.get_num_threads()
    with thread_limits(2):
        with thread_limits(1):
            assert _shared_blas_threads() == [1]
            assert numba.get_num_threads() == 1
            with thread_limits(None):
                assert _shared_blas_threads() == [1]
        assert _shared_blas_threads() == [2]
        assert numba.get_num_threads() == min(2, numba.config.NUMBA_NUM_THREADS)
        with pytest.raises(RuntimeError, match="boom"):
            with thread_limits(1):
                raise RuntimeError("boom")
        assert _shared_blas_threads() == [2]
    assert _shared_blas_threads() == [2]
    assert numba.get_num_threads() == numba_before
    assert _SHARED_BLAS.active_limits() == {}


def test_two_concurrent_fits_do_not_leak_the_blas_limit(two_blas_threads):
    X = (load_digits().data > 7).astype(np.float64)
    barrier = threading.Barrier(2)
    models, errors = {}, []

    def fit(i):
        try:
            est = BernoulliRBM(n_components=16, n_iter=15, batch_size=50, random_state=i, n_jobs=1)
            barrier.wait(10)
            models[i] = est.fit(X)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=fit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors and len(models) == 2
    assert _shared_blas_threads() == [2]
    assert _SHARED_BLAS.active_limits() == {}
    # and a fit in a thread gives the same model as in the main thread
    alone = BernoulliRBM(n_components=16, n_iter=15, batch_size=50, random_state=0, n_jobs=1).fit(X)
    assert_array_equal(alone.components_, models[0].components_)


def test_per_thread_pools_are_recognised():
    class Lib:
        internal_api = "openblas"
        threading_layer = "openmp"

    assert _is_per_thread(Lib())
    Lib.threading_layer = "pthreads"
    assert not _is_per_thread(Lib())


@pytest.fixture(scope="module")
def mnist_sized():
    """2000 x 784 float32 binary data: big enough for BLAS to use its threads."""
    rng = np.random.RandomState(0)
    return (rng.rand(2000, 784) < 0.3).astype(np.float32)


def _params(est):
    return [est.components_.copy(), est.intercept_hidden_.copy(), est.intercept_visible_.copy()]


@pytest.fixture(scope="module")
def realistic_fits(mnist_sized):
    """Two fits for each n_jobs, same data and random_state; params after fit
    and after one more partial_fit, and the hidden means of 50 rows."""
    X = mnist_sized
    out = {}
    for n_jobs in (1, 2):
        runs = []
        for _ in range(2):
            est = BernoulliRBM(n_components=100, n_iter=2, batch_size=100, random_state=0,
                               n_jobs=n_jobs).fit(X)
            fitted, hidden = _params(est), est.transform(X[:50])
            est.partial_fit(X[:500])
            runs.append((fitted, hidden, _params(est)))
        out[n_jobs] = runs
    return out


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_same_n_jobs_is_bit_identical_at_realistic_size(realistic_fits, n_jobs):
    (fit_a, hid_a, cont_a), (fit_b, hid_b, cont_b) = realistic_fits[n_jobs]
    for x, y in zip(fit_a + [hid_a] + cont_a, fit_b + [hid_b] + cont_b):
        assert x.dtype == np.float32
        assert_array_equal(x, y)


def test_different_n_jobs_are_close_at_realistic_size(realistic_fits, mnist_sized):
    """Threaded BLAS may round differently: promised close, not bit-identical."""
    one, two = realistic_fits[1][0][0], realistic_fits[2][0][0]
    for x, y in zip(one, two):
        assert_allclose(x, y, atol=1e-3)
    other_seed = BernoulliRBM(n_components=100, n_iter=2, batch_size=100, random_state=1,
                              n_jobs=1).fit(mnist_sized)
    assert np.abs(other_seed.components_ - one[0]).max() > 1e-2


def test_dbn_same_n_jobs_is_bit_identical(mnist_sized):
    X = mnist_sized[:1000]
    kw = dict(hidden_layer_sizes=(64, 32), n_iter=2, batch_size=100, random_state=0, n_jobs=2)
    a, b = DBN(**kw).fit(X), DBN(**kw).fit(X)
    assert_array_equal(a.transform(X[:20]), b.transform(X[:20]))


@pytest.mark.parametrize("user_value", [None, "ACTIVE"])
def test_openmp_wait_policy_is_passive_unless_the_user_set_one(user_value):
    # GNU OpenMP's spinning workers (Numba's threading layer) took the cores
    # from OpenBLAS's threads: a CD-1 epoch at n_jobs=2 ran 7x slower than at
    # n_jobs=1 on a 2-core machine.  Importing rbmlib asks for a passive wait
    # before OpenMP starts, and keeps a policy the user chose.
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if user_value is not None:
        env["OMP_WAIT_POLICY"] = user_value
    code = "import os, rbmlib; print(os.environ['OMP_WAIT_POLICY'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == (user_value or "PASSIVE")
