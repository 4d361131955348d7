"""``njit`` for the kernels: Numba's on-disk cache, keyed on every kernel module.

Every kernel module imports ``njit`` (and ``prange``) from here instead of
from ``numba``.  It differs from ``numba.njit`` in two ways, both only for
``cache=True``:

**The cache is invalidated by an edit to any module of this directory.**
Numba's cache checks only the source file of the function it caches (a hash
of that one file, stored as the "source stamp" in the function's ``.nbi``
index).  A kernel of ``cd.py`` also contains the code of the helpers it calls
from ``negative.py``, ``units.py``, ``sampling.py``, ... (``inline="always"``
helpers are inlined, other jitted callees are linked in), so after an edit to
such a helper module -- or an in-place upgrade of rbmlib in which only the
helper module changed -- a kept cache would load the old machine code,
silently giving the old results.  Here the source stamp of every kernel is
the pair (Numba's stamp of its own file, :func:`kernels_digest`), the
SHA-256 of all ``*.py`` files of ``rbmlib/_kernels/``, computed once per
process.  A change to any of them changes every kernel's stamp: each kernel
is compiled again at its first call and its cache entry rewritten; the
following processes load it from the cache as before.  The cache directory
is the one Numba's own locators choose (``NUMBA_CACHE_DIR`` if set, else the
``__pycache__`` next to the kernels, else the user-wide cache directory):
this module only wraps the locator Numba found (``_KernelsLocator``) in the
kernels' cache (``_KernelCache``, a ``numba.core.caching.FunctionCache``
whose implementation wraps the locator), installed on the dispatcher in place
of the ``FunctionCache`` that ``numba.njit(cache=True)`` would install.
Explicit signatures (eager compilation) are not supported with
``cache=True``; no kernel uses them.

**No cache where Numba cannot cache.**  ``numba.njit(cache=True)`` raises
``RuntimeError: cannot cache function ...: no locator available`` at
decoration time -- that is, at ``import rbmlib`` -- when none of Numba's
cache locators finds a writable directory: a read-only install
(site-packages in a container image) with no writable ``HOME`` /
``XDG_CACHE_HOME`` and no usable ``NUMBA_CACHE_DIR``.  The kernels then must
still compile, only without the cache.  Whether caching works is detected
once (:func:`cache_available`), by decorating a probe function that lives in
this directory (the directory every kernel module lives in, so the same
locators apply to them).  The kernels also compile without the cache when
their sources cannot be read to compute the digest.
"""

import functools
import hashlib
import importlib.resources
import inspect

from numba import njit as _numba_njit
from numba import prange  # noqa: F401  (re-exported for the kernel modules)
from numba.core.caching import CompileResultCacheImpl, FunctionCache, _CacheLocator
from numba.core.dispatcher import Dispatcher

__all__ = ["njit", "prange", "cache_available", "kernels_digest"]


def _probe():  # pragma: no cover - never called, only decorated
    return 0


@functools.lru_cache(maxsize=None)
def cache_available():
    """Whether Numba can keep compiled kernels on disk for this package.

    Returns
    -------
    available : bool
        True when ``numba.njit(cache=True)`` finds a cache locator (a writable
        ``__pycache__`` next to the kernels, ``NUMBA_CACHE_DIR`` or the user
        cache directory); False otherwise.  Detected once per process.
    """
    try:
        _numba_njit(cache=True)(_probe)
    except RuntimeError as exc:  # "cannot cache function ...: no locator available"
        if "cannot cache" not in str(exc):
            raise
        return False
    return True


@functools.lru_cache(maxsize=None)
def kernels_digest():
    """SHA-256 of the sources of every kernel module, the kernels' cache key.

    Returns
    -------
    digest : str or None
        Hex digest over the names and contents of all ``*.py`` files of this
        package directory (``rbmlib/_kernels/``), in name order; None when
        they cannot be read (then the kernels are compiled without the
        cache).  Computed once per process.
    """
    h = hashlib.sha256()
    try:
        files = sorted(
            (p for p in importlib.resources.files(__package__).iterdir()
             if p.name.endswith(".py")),
            key=lambda p: p.name,
        )
        for p in files:
            data = p.read_bytes()
            h.update(f"{p.name}\0{len(data)}\0".encode())
            h.update(data)
    except (OSError, TypeError, ValueError):  # no readable sources (e.g. .pyc-only)
        return None
    return h.hexdigest() if files else None


class _KernelsLocator(_CacheLocator):
    """The locator Numba chose for a kernel, with :func:`kernels_digest` in its stamp.

    Numba compares the stamp stored in a function's cache index with
    ``get_source_stamp()`` and ignores the whole index when they differ.
    Everything else (cache directory, file names) is the wrapped locator's.
    """

    def __init__(self, locator, digest):
        self._locator = locator
        self._digest = digest

    def ensure_cache_path(self):
        self._locator.ensure_cache_path()

    def get_cache_path(self):
        return self._locator.get_cache_path()

    def get_source_stamp(self):
        return (self._locator.get_source_stamp(), self._digest)

    def get_disambiguator(self):
        return self._locator.get_disambiguator()

    def __getattr__(self, name):  # e.g. ``_py_file``, read by Numba's warnings
        if name == "_locator":
            raise AttributeError(name)
        return getattr(self._locator, name)


class _KernelCacheImpl(CompileResultCacheImpl):
    """Numba's compile-result cache implementation with :class:`_KernelsLocator`."""

    def __init__(self, py_func):
        super().__init__(py_func)  # finds Numba's locator (NUMBA_CACHE_DIR, __pycache__, ...)
        self._locator = _KernelsLocator(self._locator, kernels_digest())


class _KernelCache(FunctionCache):
    """The on-disk cache of one kernel: stale as soon as any kernel module changes."""

    _impl_class = _KernelCacheImpl


def njit(*args, **kwargs):
    """``numba.njit`` whose ``cache=True`` is keyed on every kernel module.

    Used exactly like ``numba.njit``: ``@njit``, ``@njit(cache=True)``,
    ``@njit(parallel=True, cache=True)``.  With ``cache=True`` the kernel is
    cached on disk by :class:`_KernelCache`, so any edit to a module of
    ``rbmlib/_kernels/`` recompiles it (see the module docstring).  When
    :func:`cache_available` is False (or the sources cannot be read) the
    function is compiled in memory at first call, as with ``cache=False``;
    results are the same, only the compile time is paid in every process.

    Raises
    ------
    TypeError
        With ``cache=True`` and explicit signatures (eager compilation would
        happen before the cache is installed).
    """
    if not kwargs.get("cache"):
        return _numba_njit(*args, **kwargs)
    kwargs = dict(kwargs, cache=False)  # the kernels' own cache is installed below
    if not cache_available() or kernels_digest() is None:
        return _numba_njit(*args, **kwargs)

    def decorate(func):
        disp = _numba_njit(**kwargs)(func)
        if isinstance(disp, Dispatcher):  # not a plain function (NUMBA_DISABLE_JIT=1)
            # what Dispatcher.enable_caching does, with the kernels' cache
            disp._cache = _KernelCache(disp.py_func)
        return disp

    if not args:
        return decorate
    if len(args) == 1 and inspect.isfunction(args[0]):
        return decorate(args[0])
    raise TypeError(
        "rbmlib._kernels._jit.njit: explicit signatures are not supported with "
        "cache=True; drop the signatures (the kernels compile lazily)"
    )
