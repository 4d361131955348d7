"""Elementwise kernels: stable sigmoid / softplus and a counter-based RNG.

Everything here works on plain arrays and scalars. The random numbers come
from a counter-based generator (SplitMix64 finaliser applied to
``seed + counter``): the uniform drawn for element ``i`` of draw ``stream``
depends only on ``(seed, stream, i)``, never on which thread computes it, so
results are bit-identical for any number of threads. The generator is pure
integer arithmetic with no state carried from one element to the next, so
LLVM vectorises a loop that draws one uniform per element.

``fast_exp`` and ``fast_sigmoid`` are branch-free polynomial versions of
``exp`` and the logistic function (Cephes-style range reduction, Moshier
1989), for float32 and float64. They contain no call to libm and no branch,
so a loop over an array that calls them is vectorised by LLVM (Numba from
PyPI has no SVML, so ``math.exp`` in a loop runs one scalar libm call per
element, about 7 ns). They are accurate to about 1 ulp (exp) and 2 ulp
(sigmoid) over the whole float range, including subnormal results,
overflow to ``inf`` and ``nan`` propagation (tests/test_kernels_speed.py).
``sigmoid`` / ``softplus`` below keep libm's ``exp`` for the callers that
want it (one scalar at a time).
"""

import math

import numpy as np
from llvmlite import ir as _llir
from numba.core import types as _nbtypes
from numba.extending import intrinsic as _intrinsic
from numba.extending import overload as _overload

from ._jit import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(inline="always", cache=True)
def mix64(z):
    """SplitMix64 finaliser (Steele, Lea and Flood 2014) of a uint64."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(inline="always", cache=True)
def stream_key(seed, stream):
    """Key of one random stream: a uint64 derived from (seed, stream)."""
    return mix64(np.uint64(seed) ^ mix64(np.uint64(stream) * _GOLDEN + _GOLDEN))


@njit(inline="always", cache=True)
def uniform(key, i):
    """The i-th uniform double in [0, 1) of the stream with this key."""
    z = mix64(key + np.uint64(i) * _GOLDEN)
    return np.float64(z >> _S11) * _INV53


@njit(inline="always", cache=True)
def sigmoid(x):
    """Logistic function, stable for any finite or infinite x."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(inline="always", cache=True)
def softplus(x):
    """log(1 + exp(x)) without overflow."""
    if x > 0:
        return x + math.log1p(math.exp(-x))
    return math.log1p(math.exp(x))


@njit(inline="always", cache=True)
def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), stable."""
    return -softplus(-x)


@njit(cache=True)
def bernoulli_fill(prob, out, key):
    """out[i, j] = 1 if u_ij < prob[i, j] else 0, u from the stream ``key``."""
    n, m = prob.shape
    for i in range(n):
        for j in range(m):
            out[i, j] = 1.0 if uniform(key, i * m + j) < prob[i, j] else 0.0


@njit(cache=True)
def gaussian(key, i):
    """Standard normal deviate number i of the stream (Box-Muller on two uniforms)."""
    u1 = uniform(key, 2 * i)
    u2 = uniform(key, 2 * i + 1)
    r = math.sqrt(-2.0 * math.log(1.0 - u1))
    return r * math.cos(2.0 * math.pi * u2)


# ------------------------------------------------- vectorisable exp / sigmoid
@_intrinsic
def _f32_from_bits(typingctx, i):
    """Reinterpret the bits of an int32 as a float32 (an LLVM bitcast)."""
    sig = _nbtypes.float32(_nbtypes.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], _llir.FloatType())

    return sig, codegen


@_intrinsic
def _f64_from_bits(typingctx, i):
    """Reinterpret the bits of an int64 as a float64 (an LLVM bitcast)."""
    sig = _nbtypes.float64(_nbtypes.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], _llir.DoubleType())

    return sig, codegen


# float32 constants (Cephes expf.c); module globals are frozen as constants
_F = np.float32
_LOG2E_F = _F(1.44269504088896341)
_C1_F = _F(0.693359375)          # ln 2 split in two: C1 exact in 8 bits ...
_C2_F = _F(-2.12194440e-4)       # ... and the rest
_P0_F = _F(1.9875691500e-4)
_P1_F = _F(1.3981999507e-3)
_P2_F = _F(8.3334519073e-3)
_P3_F = _F(4.1665795894e-2)
_P4_F = _F(1.6666665459e-1)
_P5_F = _F(5.0000001201e-1)
_LO_F = _F(-104.0)               # exp(-104) < 2**-150: rounds to 0
_HI_F = _F(88.8)                 # exp(88.8) > FLT_MAX: overflows to inf
_HALF_F = _F(0.5)
_ONE_F = _F(1.0)
_ZERO_F = _F(0.0)

# float64 constants (Cephes exp.c: Pade approximant on [-ln2/2, ln2/2])
_LOG2E_D = 1.4426950408889634073599
_C1_D = 6.93145751953125e-1
_C2_D = 1.42860682030941723212e-6
_P0_D = 1.26177193074810590878e-4
_P1_D = 3.02994407707441961300e-2
_P2_D = 9.99999999999999999910e-1
_Q0_D = 3.00198505138664455042e-6
_Q1_D = 2.52448340349684104192e-3
_Q2_D = 2.27265548208155028766e-1
_Q3_D = 2.00000000000000000009e0
_LO_D = -746.0                   # exp(-746) < 2**-1075: rounds to 0
_HI_D = 710.0                    # exp(710) > DBL_MAX: overflows to inf


@njit(cache=True, error_model="numpy")
def exp_f32(x):
    """exp of a float32, branch-free (vectorisable), about 1 ulp."""
    xc = x if x > _LO_F else _LO_F
    xc = xc if xc < _HI_F else _HI_F
    n = np.floor(xc * _LOG2E_F + _HALF_F)
    r = xc - n * _C1_F
    r = r - n * _C2_F
    y = _P0_F
    y = y * r + _P1_F
    y = y * r + _P2_F
    y = y * r + _P3_F
    y = y * r + _P4_F
    y = y * r + _P5_F
    y = y * (r * r) + r + _ONE_F
    # y * 2**n in two steps, so that subnormal results and n = 128 need no branch
    ni = np.int32(n)
    n1 = ni >> np.int32(1)
    n2 = ni - n1
    y = y * _f32_from_bits((n1 + np.int32(127)) << np.int32(23))
    y = y * _f32_from_bits((n2 + np.int32(127)) << np.int32(23))
    return y if x == x else x


@njit(cache=True, error_model="numpy")
def exp_f64(x):
    """exp of a float64, branch-free (vectorisable), about 1 ulp."""
    xc = x if x > _LO_D else _LO_D
    xc = xc if xc < _HI_D else _HI_D
    n = np.floor(xc * _LOG2E_D + 0.5)
    r = xc - n * _C1_D
    r = r - n * _C2_D
    rr = r * r
    px = r * ((_P0_D * rr + _P1_D) * rr + _P2_D)
    qx = ((_Q0_D * rr + _Q1_D) * rr + _Q2_D) * rr + _Q3_D
    y = 1.0 + 2.0 * (px / (qx - px))
    ni = np.int64(n)
    n1 = ni >> np.int64(1)
    n2 = ni - n1
    y = y * _f64_from_bits((n1 + np.int64(1023)) << np.int64(52))
    y = y * _f64_from_bits((n2 + np.int64(1023)) << np.int64(52))
    return y if x == x else x


@njit(cache=True, error_model="numpy")
def sigmoid_f32(x):
    """Logistic function of a float32 in float32, branch-free (vectorisable).

    ``e = exp(-|x|)`` never overflows; ``1 / (1 + e)`` for ``x >= 0`` and
    ``e / (1 + e)`` for ``x < 0`` (a select, not a branch).
    """
    e = exp_f32(-abs(x))
    s = _ONE_F / (_ONE_F + e)
    return s if x >= _ZERO_F else e * s


@njit(cache=True, error_model="numpy")
def sigmoid_f64(x):
    """Logistic function of a float64, branch-free (vectorisable)."""
    e = exp_f64(-abs(x))
    s = 1.0 / (1.0 + e)
    return s if x >= 0.0 else e * s


def fast_exp(x):
    """exp(x), vectorisable in Numba loops; float32 in float32, float64 in float64.

    Callable from Numba code only (an overload chosen by the argument type).
    """
    raise NotImplementedError("fast_exp is callable from Numba-compiled code only")


def fast_sigmoid(x):
    """1 / (1 + exp(-x)), vectorisable in Numba loops; keeps the float type.

    Callable from Numba code only (an overload chosen by the argument type).
    """
    raise NotImplementedError("fast_sigmoid is callable from Numba-compiled code only")


@_overload(fast_exp)
def _ov_fast_exp(x):
    if x == _nbtypes.float32:
        return lambda x: exp_f32(x)
    if isinstance(x, (_nbtypes.Float, _nbtypes.Integer)):
        return lambda x: exp_f64(np.float64(x))
    return None


@_overload(fast_sigmoid)
def _ov_fast_sigmoid(x):
    if x == _nbtypes.float32:
        return lambda x: sigmoid_f32(x)
    if isinstance(x, (_nbtypes.Float, _nbtypes.Integer)):
        return lambda x: sigmoid_f64(np.float64(x))
    return None


@njit(cache=True, error_model="numpy")
def exp_array(x, out):
    """``out[...] = fast_exp(x)`` elementwise over C-contiguous arrays of one shape."""
    xf = x.reshape(-1)
    of = out.reshape(-1)
    for i in range(xf.shape[0]):
        of[i] = fast_exp(xf[i])


@njit(cache=True, error_model="numpy")
def sigmoid_array(x, out):
    """``out[...] = fast_sigmoid(x)`` elementwise over C-contiguous arrays of one shape."""
    xf = x.reshape(-1)
    of = out.reshape(-1)
    for i in range(xf.shape[0]):
        of[i] = fast_sigmoid(xf[i])
