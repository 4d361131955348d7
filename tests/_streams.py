"""The kernels' counter-based random numbers (rbmlib._kernels.sampling), in NumPy:
the independent reference the kernel tests draw their uniforms from."""

import numpy as np

_G = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def mix64(z):
    """SplitMix64's finaliser on uint64 arrays."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def uniforms(seed, stream, shape):
    """The uniforms in [0, 1) of stream ``(seed, stream)``, element ``i`` the i-th in C order."""
    with np.errstate(over="ignore"):
        key = mix64(np.uint64(seed) ^ mix64(np.uint64(stream) * _G + _G))
        i = np.arange(int(np.prod(shape)), dtype=np.uint64)
        z = mix64(key + i * _G)
    return ((z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53).reshape(shape)
