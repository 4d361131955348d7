"""Thread control shared by the estimators: Numba threads and BLAS threads.

``n_jobs`` limits two thread pools while a kernel runs:

- Numba's, with :func:`numba.set_num_threads`, which is thread-local: each
  Python thread sets its own and nothing leaks between threads.
- BLAS's (OpenBLAS, MKL, BLIS), with :mod:`threadpoolctl`.  Most BLAS builds
  (the pthreads OpenBLAS in NumPy's and SciPy's wheels, for one) have *one
  pool per process*: a limit set from one Python thread applies to all of
  them.  Entering and leaving ``threadpool_limits`` independently from two
  threads then interleaves (A saves 2 and sets 1, B saves 1, A restores 2
  while B still runs, B "restores" 1 for good), and the process was left at
  one BLAS thread after two concurrent ``n_jobs=1`` fits.  Here every block
  registers its limit under one process-wide lock: the first block to enter
  saves the original limits, the pool runs at the *smallest* limit among the
  blocks currently inside (so no block runs with more threads than it asked
  for), and the last block to leave restores the originals.  BLAS pools that
  are per-thread (OpenBLAS built on OpenMP) are limited per block with an
  ordinary ``threadpool_limits``.

OpenMP wait policy: importing rbmlib sets ``OMP_WAIT_POLICY=PASSIVE``
unless the environment already sets it (see ``rbmlib/__init__.py``): GNU
OpenMP's spinning workers took the cores from OpenBLAS's threads, and a CD-1
epoch at two threads ran 7x slower than at one on a 2-core machine.  It takes
effect only if no OpenMP runtime in the process has started before rbmlib is
imported (Numba starts its own at the first parallel call).

One pool at a time: on more than one Numba thread the persistent CD-1 epoch
(``rbmlib._kernels.cd.cd_epoch``, momentum SGD) runs each update in Numba's
pool alone: every thread computes a block of columns of each product with a
single-threaded BLAS call and the elementwise work on it, while the kernel
holds the BLAS it calls (SciPy's OpenBLAS) at one thread and gives it its
count back at the end of the epoch (``rbmlib._kernels.threads``).

Reproducibility: the kernels write their own rows and draw their random
numbers from a counter-based generator, so nothing in rbmlib's own code
depends on the number of threads.  BLAS does: a threaded GEMM may split and
round a product differently from a serial one (and the fused CD update splits
its products into one block per thread), and Gibbs chains amplify the
last-bit differences over epochs (2000 x 784 float32 binary data, 100 hidden,
batch 100: max |dW| ~ 5e-7 after 10 epochs between ``n_jobs=1`` and 2).  So
the same data, ``random_state`` and ``n_jobs`` give bit-identical models (on
the same machine and BLAS), while different ``n_jobs`` give models that
agree closely but not necessarily bit for bit.  Fits running concurrently in
threads of one process share the process's BLAS pool, which runs at the
smallest ``n_jobs`` among them.
"""

import threading
from collections import Counter
from contextlib import contextmanager, nullcontext

import numba
from joblib import cpu_count
from threadpoolctl import ThreadpoolController

try:  # threadpoolctl >= 3.7: only a "controlling" thread may change OpenBLAS
    from threadpoolctl import OpenBLASController as _OpenBLASController
except ImportError:  # pragma: no cover - older threadpoolctl
    _OpenBLASController = None


def effective_n_jobs(n_jobs):
    """Number of threads ``n_jobs`` stands for.

    Parameters
    ----------
    n_jobs : int or None
        ``None`` leaves the libraries' defaults alone; a positive number is
        used as is; ``-1`` means all CPUs, ``-2`` all but one, and so on
        (CPUs as counted by :func:`joblib.cpu_count`, which honours cgroup
        quotas and CPU affinity).

    Returns
    -------
    n : int or None
        At least 1, or None when ``n_jobs`` is None.

    Raises
    ------
    ValueError
        If ``n_jobs`` is 0.
    """
    if n_jobs is None:
        return None
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive number or -1.")
    if n_jobs < 0:
        return max(1, cpu_count() + 1 + n_jobs)
    return int(n_jobs)


def _is_per_thread(lib):
    """Whether a BLAS library's thread limit is per Python thread."""
    return lib.internal_api == "openblas" and getattr(lib, "threading_layer", None) == "openmp"


def _set_limits(controller, limits):
    """``controller.limit(limits=...)``, effective from any Python thread.

    threadpoolctl >= 3.7 lets only one "controlling" thread change a
    process-wide OpenBLAS pool and silently ignores the others; every change
    made here is serialised under ``_SharedBlasLimit._lock``, so ownership is
    cleared around it and the change always takes effect.
    """
    clear = getattr(_OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)
    try:
        return controller.limit(limits=limits)
    finally:
        if clear is not None:
            clear(force=True)


class _SharedBlasLimit:
    """Reference-counted limit on the process-wide BLAS pools."""

    def __init__(self):
        self._lock = threading.Lock()
        self._active = Counter()  # limit -> number of blocks inside with that limit
        self._controller = None  # the process-wide BLAS libraries, found on first entry
        self._original = None  # threadpoolctl limiter holding the original limits
        self._applied = None

    def _apply(self):
        want = min(self._active)
        if want != self._applied:
            _set_limits(self._controller, want)
            self._applied = want

    def acquire(self, n, controller):
        with self._lock:
            if not self._active:
                self._controller = controller
                self._original = _set_limits(controller, n)
                self._applied = n
            self._active[n] += 1
            self._apply()

    def release(self, n):
        with self._lock:
            self._active[n] -= 1
            if self._active[n] == 0:
                del self._active[n]
            if self._active:
                self._apply()
                return
            original, self._original, self._controller = self._original, None, None
            self._applied = None
            clear = getattr(_OpenBLASController, "clear_controlling_thread", None)
            if clear is not None:
                clear(force=True)
            try:
                original.restore_original_limits()
            finally:
                if clear is not None:
                    clear(force=True)

    def active_limits(self):
        """Limits of the blocks currently inside (for tests and debugging)."""
        with self._lock:
            return dict(self._active)


_SHARED_BLAS = _SharedBlasLimit()

_CONTROLLER = None
_CONTROLLER_LOCK = threading.Lock()


def _blas_controller():
    """The process's BLAS libraries, found once (as scikit-learn's
    ``_get_threadpool_controller``): building a ThreadpoolController walks every
    loaded shared library, about 1 ms, and ``thread_limits`` runs per block."""
    global _CONTROLLER
    with _CONTROLLER_LOCK:
        if _CONTROLLER is None:
            _CONTROLLER = ThreadpoolController().select(user_api="blas")
        return _CONTROLLER


@contextmanager
def thread_limits(n_jobs):
    """Limit Numba's and BLAS's threads to ``n_jobs`` inside the block.

    Safe to use from several Python threads at once and nested: BLAS pools
    shared by the whole process run at the smallest limit among the blocks
    currently inside and get their original limits back when the last block
    leaves (see the module docstring).

    Parameters
    ----------
    n_jobs : int or None
        As in :func:`effective_n_jobs`; None leaves every limit alone.

    Raises
    ------
    ValueError
        If ``n_jobs`` is 0.
    """
    n = effective_n_jobs(n_jobs)
    if n is None:
        yield
        return
    n = min(n, numba.config.NUMBA_NUM_THREADS)
    blas = _blas_controller()
    per_thread = [lib.filepath for lib in blas.lib_controllers if _is_per_thread(lib)]
    shared = [lib.filepath for lib in blas.lib_controllers if not _is_per_thread(lib)]
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        if shared:
            _SHARED_BLAS.acquire(n, blas.select(filepath=shared))
        try:
            local = blas.select(filepath=per_thread).limit(limits=n) if per_thread else nullcontext()
            with local:
                yield
        finally:
            if shared:
                _SHARED_BLAS.release(n)
    finally:
        numba.set_num_threads(old)
