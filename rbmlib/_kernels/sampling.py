"""Elementwise kernels: stable sigmoid / softplus and a counter-based RNG.

Everything here works on plain arrays and scalars. The random numbers come
from a counter-based generator (SplitMix64 finaliser applied to
``seed + counter``): the uniform drawn for element ``i`` of draw ``stream``
depends only on ``(seed, stream, i)``, never on which thread computes it, so
results are bit-identical for any number of threads.
"""

import math

import numpy as np
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
