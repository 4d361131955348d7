"""Thread control shared by the estimators: Numba threads and BLAS threads."""

import os
from contextlib import contextmanager

import numba
from threadpoolctl import threadpool_limits


def effective_n_jobs(n_jobs):
    """Threads to use for ``n_jobs`` (None: leave the defaults, returns None)."""
    if n_jobs is None:
        return None
    n_cpu = os.cpu_count() or 1
    if n_jobs < 0:
        return max(1, n_cpu + 1 + n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive number or -1.")
    return n_jobs


@contextmanager
def thread_limits(n_jobs):
    """Limit Numba's and BLAS's threads to ``n_jobs`` inside the block.

    Results do not depend on the number of threads: every kernel writes its
    own rows and draws its random numbers from a counter-based generator.
    """
    n = effective_n_jobs(n_jobs)
    if n is None:
        yield
        return
    n = min(n, numba.config.NUMBA_NUM_THREADS)
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        with threadpool_limits(limits=n, user_api="blas"):
            yield
    finally:
        numba.set_num_threads(old)
