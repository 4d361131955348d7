"""Thread counts from inside Numba kernels: Numba's pool and the kernels' BLAS.

The CD epoch (:func:`rbmlib._kernels.cd.cd_epoch`) can run a whole update in
Numba's thread pool: each thread computes its own block of every matrix
product with a *single-threaded* BLAS call and, in the same pass while the
block is in its cache, the elementwise work on it (sigmoids, samples, bias
and weight steps). Two pools taking turns on the same cores -- OpenBLAS's
workers spin-waiting after each product while Numba's threads want the cores
for the elementwise passes -- cost a two-thread CD-1 update on a 2-core
machine about as much as its elementwise work (benchmarks/RESULTS.md, issue
25). For that the kernel needs

* :func:`num_threads` -- Numba's thread count of the calling thread (what
  :func:`rbmlib._parallel.thread_limits` set), and
* :func:`blas_threads` / :func:`set_blas_threads` -- the thread count of the
  BLAS the kernels call (Numba binds SciPy's ``cython_blas``; with SciPy's
  OpenBLAS wheels that is ``libscipy_openblas``'s
  ``openblas_get_num_threads`` / ``openblas_set_num_threads``).

All three are called by symbol name, so the kernels using them stay
cacheable: Numba registers ``get_num_threads`` when it starts its threading
layer, this module registers ``rbmlib_blas_get_num_threads`` and
``rbmlib_blas_set_num_threads`` at import. When the BLAS behind
``cython_blas`` has no such functions (MKL, BLIS, Accelerate builds of
SciPy), :func:`blas_threads` returns 0 and :func:`set_blas_threads` does
nothing; the kernels then keep their BLAS-threaded path.
"""

import ctypes

from llvmlite import binding as _ll
from llvmlite import ir as _ir
from numba.core import cgutils, types
from numba.extending import intrinsic
from numba.np.ufunc.parallel import _launch_threads

from ._jit import njit

_launch_threads()  # registers Numba's ``get_num_threads`` symbol

_GET = "rbmlib_blas_get_num_threads"
_SET = "rbmlib_blas_set_num_threads"

#: Names of the thread-count functions in the BLAS libraries SciPy is built on
#: (plain OpenBLAS, and the ``scipy_``-prefixed builds of SciPy's wheels).
_CANDIDATES = (("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
               ("openblas_get_num_threads", "openblas_set_num_threads"),
               ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
               ("openblas_get_num_threads64_", "openblas_set_num_threads64_"))


def _find_blas_functions():
    """``(get, set)`` ctypes functions of the BLAS behind SciPy's ``cython_blas``, or None.

    ``dlsym`` on ``cython_blas``'s own handle searches the libraries it is
    linked against, so the functions found belong to the BLAS the kernels call
    (not to NumPy's, which may be another OpenBLAS in the same process).
    """
    try:
        from scipy.linalg import cython_blas
        lib = ctypes.CDLL(cython_blas.__file__)
    except (ImportError, OSError):  # pragma: no cover - SciPy is a dependency
        return None
    for get_name, set_name in _CANDIDATES:
        get = getattr(lib, get_name, None)
        put = getattr(lib, set_name, None)
        if get is not None and put is not None:
            return get, put
    return None  # pragma: no cover - non-OpenBLAS SciPy


def _register():
    found = _find_blas_functions()
    if found is not None:
        get, put = found
        _ll.add_symbol(_GET, ctypes.cast(get, ctypes.c_void_p).value)
        _ll.add_symbol(_SET, ctypes.cast(put, ctypes.c_void_p).value)
        return True
    # stand-ins compiled once: "0 threads known", "ignore"
    from numba import cfunc  # pragma: no cover - non-OpenBLAS SciPy

    get0 = cfunc(types.int32())(lambda: 0)
    set0 = cfunc(types.void(types.int32))(lambda n: None)
    _register.keep = (get0, set0)  # the compiled code must outlive this call
    _ll.add_symbol(_GET, get0.address)
    _ll.add_symbol(_SET, set0.address)
    return False


#: Whether the kernels can set the thread count of their BLAS (OpenBLAS).
BLAS_CONTROL = _register()


@intrinsic
def _num_threads(typingctx):
    """Numba's thread count for the calling thread (as ``numba.get_num_threads()``,
    but cacheable: a call by symbol name instead of a ctypes pointer)."""
    sig = types.intp()

    def codegen(context, builder, signature, args):
        fnty = _ir.FunctionType(_ir.IntType(32), [])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "get_num_threads")
        return builder.sext(builder.call(fn, ()), context.get_value_type(types.intp))

    return sig, codegen


@intrinsic
def _blas_threads(typingctx):
    """Thread count of the kernels' BLAS; 0 when it cannot be read (not OpenBLAS)."""
    sig = types.intp()

    def codegen(context, builder, signature, args):
        fnty = _ir.FunctionType(_ir.IntType(32), [])
        fn = cgutils.get_or_insert_function(builder.module, fnty, _GET)
        return builder.sext(builder.call(fn, ()), context.get_value_type(types.intp))

    return sig, codegen


@intrinsic
def _set_blas_threads(typingctx, n):
    """Set the thread count of the kernels' BLAS (nothing when not OpenBLAS)."""
    if not isinstance(n, types.Integer):
        return None
    sig = types.none(n)

    def codegen(context, builder, signature, args):
        fnty = _ir.FunctionType(_ir.VoidType(), [_ir.IntType(32)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, _SET)
        builder.call(fn, (builder.trunc(context.cast(builder, args[0], signature.args[0],
                                                       types.int64), _ir.IntType(32)),))
        return context.get_dummy_value()

    return sig, codegen


@njit(inline="always", cache=True)
def num_threads():
    """Numba's thread count for the calling thread (``numba.get_num_threads()``, cacheable)."""
    return _num_threads()


@njit(inline="always", cache=True)
def blas_threads():
    """Thread count of the kernels' BLAS; 0 when it cannot be read (not OpenBLAS).
    Callable from Python and from Numba code."""
    return _blas_threads()


@njit(inline="always", cache=True)
def set_blas_threads(n):
    """Set the thread count of the kernels' BLAS (nothing when not OpenBLAS).
    Callable from Python and from Numba code."""
    _set_blas_threads(n)


def at_one_blas_thread(kernel, *args):
    """Call ``kernel(*args)`` with the kernels' BLAS held at one thread, its thread
    count restored afterwards (also when ``kernel`` raises); from Python only.

    For the fused epochs, whose every product is a single-threaded BLAS call on one
    of Numba's threads. Returns ``(True, result)``, or ``(False, None)`` without
    calling ``kernel`` when the BLAS's thread count cannot be read (not OpenBLAS):
    the caller then runs its unfused path.
    """
    before = blas_threads()
    if before < 1:
        return False, None
    if before != 1:
        set_blas_threads(1)
    try:
        return True, kernel(*args)
    finally:
        if before != 1:
            set_blas_threads(before)
