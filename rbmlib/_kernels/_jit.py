"""``njit`` that uses Numba's on-disk cache only where Numba can cache.

``numba.njit(cache=True)`` raises ``RuntimeError: cannot cache function ...:
no locator available`` at decoration time -- that is, at ``import rbmlib`` --
when none of Numba's cache locators finds a writable directory: a read-only
install (site-packages in a container image) with no writable ``HOME`` /
``XDG_CACHE_HOME`` and no usable ``NUMBA_CACHE_DIR``.  The kernels then must
still compile, only without the cache.

Whether caching works is detected once, by decorating a probe function that
lives in this directory (the directory every kernel module lives in, so the
same locators apply to them).  Every kernel module imports ``njit`` (and
``prange``) from here instead of from ``numba``.
"""

import functools

from numba import njit as _numba_njit
from numba import prange  # noqa: F401  (re-exported for the kernel modules)

__all__ = ["njit", "prange", "cache_available"]


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


def njit(*args, **kwargs):
    """``numba.njit`` with ``cache=True`` dropped when caching is unavailable.

    Used exactly like ``numba.njit``: ``@njit``, ``@njit(cache=True)``,
    ``@njit(parallel=True, cache=True)``.  When :func:`cache_available` is
    False the function is compiled in memory at first call, as with
    ``cache=False``; results are the same, only the compile time is paid in
    every process.
    """
    if kwargs.get("cache") and not cache_available():
        kwargs = dict(kwargs, cache=False)
    return _numba_njit(*args, **kwargs)
