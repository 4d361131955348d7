"""Test-session settings.

Thread pools under pytest-xdist: each worker process would otherwise start
as many Numba and BLAS threads as the machine has cores, so two workers on a
2-core machine ran four busy threads (plus OpenBLAS's spin-waiting ones) and
a 150-row iris fit took a minute of wall time for 2 s of CPU.  As
scikit-learn's own conftest does, each worker gets ``cores // workers``
threads (at least 1) for the libraries' defaults.  A test that passes
``n_jobs`` explicitly still gets the threads it asks for: rbmlib raises the
limits for the duration of that fit and restores them afterwards.

``RBMLIB_TEST_THREADS`` overrides the number (``0`` leaves the libraries'
defaults alone).
"""

import os
import signal
import threading

import pytest
from joblib import cpu_count


def _threads_per_worker():
    override = os.environ.get("RBMLIB_TEST_THREADS")
    if override is not None:
        return int(override)
    n_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if n_workers <= 1:
        return 0
    return max(1, cpu_count() // n_workers)


def pytest_configure(config):
    threads = _threads_per_worker()
    if threads <= 0:
        return
    import numba
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)  # BLAS (and OpenMP) pools of this worker
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))


@pytest.fixture(autouse=True)
def _python_sigint_handler():
    """Every test starts with Python's own SIGINT handler.

    The Ctrl-C tests send a real SIGINT to their own process and expect a
    KeyboardInterrupt. A test run earlier in the same worker (dask's
    distributed cluster, for one) can leave another handler installed; the
    signal was then swallowed and a fit with max_iter=100000 ran for ever.
    """
    if threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
