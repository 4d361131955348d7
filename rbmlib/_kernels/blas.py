"""BLAS ``gemm`` with ``alpha`` and ``beta``, callable from Numba-compiled kernels.

``np.dot(a, b, out)`` in Numba always computes ``out = a @ b`` (alpha 1,
beta 0). The CD update wants ``vel = momentum * vel + lr / m * (G^T V)``,
which one ``gemm`` with ``beta = momentum`` does in place, without a
separate gradient buffer and a second pass over it. ``gemm`` here calls
the same BLAS as Numba's ``np.dot`` (``numba_xxgemm`` of Numba's helper
library, which binds SciPy's ``cython_blas`` at run time), by symbol name,
so the kernels that use it stay cacheable.
"""

import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic
from numba.np.linalg import ensure_blas

from ._jit import njit

_CHAR = ir.IntType(8)


@intrinsic
def _xxgemm(typingctx, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
    """Column-major BLAS gemm on the data pointers of three arrays of one float dtype."""
    for arr in (a, b, c):
        if not isinstance(arr, types.Array) or arr.dtype != c.dtype:
            return None
    if c.dtype not in (types.float32, types.float64):
        return None
    ensure_blas()
    dtype = c.dtype
    sig = types.int32(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)

    def codegen(context, builder, signature, args):
        intp = context.get_value_type(types.intp)
        voidp = cgutils.voidptr_t
        fnty = ir.FunctionType(ir.IntType(32), [_CHAR, _CHAR, _CHAR, intp, intp, intp,
                                                voidp, voidp, intp, voidp, intp, voidp,
                                                voidp, intp])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "numba_xxgemm")
        ta, tb, m_, n_, k_, al, A, lda_, B, ldb_, be, C, ldc_ = args
        st = signature.args

        def as_char(v, ty):
            return builder.trunc(context.cast(builder, v, ty, types.int64), _CHAR)

        def as_intp(v, ty):
            return context.cast(builder, v, ty, types.intp)

        def slot(v, ty):
            return builder.bitcast(
                cgutils.alloca_once_value(builder, context.cast(builder, v, ty, dtype)), voidp)

        def data(v, ty):
            return builder.bitcast(context.make_array(ty)(context, builder, v).data, voidp)

        kind = ir.Constant(_CHAR, ord("s" if dtype == types.float32 else "d"))
        return builder.call(fn, (kind, as_char(ta, st[0]), as_char(tb, st[1]),
                                 as_intp(m_, st[2]), as_intp(n_, st[3]), as_intp(k_, st[4]),
                                 slot(al, st[5]), data(A, st[6]), as_intp(lda_, st[7]),
                                 data(B, st[8]), as_intp(ldb_, st[9]), slot(be, st[10]),
                                 data(C, st[11]), as_intp(ldc_, st[12])))

    return sig, codegen


_N = ord("n")
_T = ord("t")


@njit(cache=True)
def gemm(trans_a, trans_b, alpha, A, B, beta, C):
    """``C = alpha * op(A) @ op(B) + beta * C`` in place, for row-major 2-D arrays.

    Parameters
    ----------
    trans_a, trans_b : bool
        ``op(X) = X.T`` when True, ``X`` otherwise.
    alpha, beta : float
    A, B, C : ndarray, 2-D, one float dtype (float32 or float64)
        Rows may be strided (a slice of leading rows of a bigger buffer) but each
        row must be contiguous. ``beta = 0`` ignores the values in ``C`` (BLAS).

    Raises
    ------
    ValueError
        When the shapes do not match or a row is not contiguous.
    """
    M = C.shape[0]
    N = C.shape[1]
    K = A.shape[0] if trans_a else A.shape[1]
    if (A.shape[1] if trans_a else A.shape[0]) != M:
        raise ValueError("gemm: op(A) has the wrong number of rows")
    if (B.shape[1] if trans_b else B.shape[0]) != K or (B.shape[0] if trans_b else B.shape[1]) != N:
        raise ValueError("gemm: op(B) does not match op(A) and C")
    isz = C.itemsize
    if A.strides[1] != isz or B.strides[1] != isz or C.strides[1] != isz:
        raise ValueError("gemm: rows must be contiguous")
    if M == 0 or N == 0:
        return
    if K == 0:
        for i in range(M):
            for j in range(N):
                C[i, j] = beta * C[i, j]
        return
    lda = max(A.strides[0] // isz, A.shape[1], 1)
    ldb = max(B.strides[0] // isz, B.shape[1], 1)
    ldc = max(C.strides[0] // isz, N, 1)
    # row-major C = op(A) op(B)  <=>  column-major C^T = op(B)^T op(A)^T
    _xxgemm(_T if trans_b else _N, _T if trans_a else _N, N, M, K,
            alpha, B, ldb, A, lda, beta, C, ldc)
