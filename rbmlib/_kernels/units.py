"""Numba kernels of the unit types: conditional means and fused sample passes.

The Numba side of the unit table :mod:`rbmlib.units`. A layer of units gets
its pre-activation ``x`` (a BLAS product plus a bias) and turns it into its
conditional mean and, in the same pass over memory, a sample. The kernels
dispatch on an integer unit id, checked once per call (never inside the
loop over elements), so each unit type keeps its own tight inner loop.

Hidden unit ids (``rbmlib.units.HIDDEN_UNITS[name].kernel_id``):

* ``BERNOULLI_HIDDEN = 0`` -- binary units: mean ``sigmoid(x)``, sample
  ``u < sigmoid(x)`` with ``u`` uniform;
* ``GAUSSIAN_HIDDEN = 1`` -- unit-variance linear units (Hinton and
  Salakhutdinov 2006): mean ``x``, sample ``x + N(0, 1)``;
* ``NRELU_HIDDEN = 2`` -- noisy rectified linear units (Nair and Hinton
  2010): mean ``max(0, x)``, sample ``max(0, x + N(0, sigmoid(x)))``.

Element ``(r, j)`` of an ``(m, n)`` pass draws its uniform (Bernoulli) or
its normal deviate (Gaussian, NReLU: Box-Muller on uniforms ``2 i`` and
``2 i + 1``) number ``i = r * n + j`` of the counter-based stream ``key``
(:mod:`rbmlib._kernels.sampling`), so a pass gives the same numbers on any
number of threads.
"""

import math

from numba.np.ufunc.parallel import _launch_threads

from ._jit import njit, prange
from .sampling import fast_sigmoid, gaussian, uniform

# Start Numba's threading layer now. The serial dispatchers below (and the CD
# kernels that call them) link in ``parallel=True`` kernels; a dispatcher
# compiled in a process that had loaded its parallel callee from the on-disk
# cache is cached without the callee's "launch the threads first" hook, and
# loading it later in a fresh process aborts with "LLVM ERROR: Symbol not found:
# allocate_sched" (seen with numba 0.68). Any training starts the threads
# anyway; starting them at import makes the order irrelevant.
_launch_threads()

BERNOULLI_HIDDEN = 0
GAUSSIAN_HIDDEN = 1
NRELU_HIDDEN = 2

# Below this many elements a pass stays on one thread: starting the thread
# pool costs more than it saves (batch 10 x 500 hidden units is 5,000).
PARALLEL_MIN_ELEMENTS = 16384


@njit(cache=True)
def _use_threads(n_elements):
    # Not ``numba.get_num_threads() > 1``: Numba implements it in compiled code
    # through a ctypes pointer, which makes every caller uncacheable. With one
    # thread the parallel pass runs on the calling thread (a few microseconds
    # of scheduling per call, against >= 16k elements of work).
    return n_elements >= PARALLEL_MIN_ELEMENTS


# ------------------------------------------------------------- Bernoulli units
@njit(cache=True, error_model="numpy")
def _sigmoid_rows(x, bias, out):
    """out = sigmoid(x + bias), row by row (``out`` may be ``x``)."""
    m, n = x.shape
    for r in range(m):
        for j in range(n):  # branch-free, no libm call: vectorised
            out[r, j] = fast_sigmoid(x[r, j] + bias[j])


@njit(cache=True, error_model="numpy")
def _sigmoid_sample_rows(x, bias, s_out, key, keep_p):
    """s_out = Bernoulli(sigmoid(x + bias)) in one pass; with ``keep_p`` the
    probabilities also go back into ``x`` (in place).

    Element ``(r, j)`` compares ``uniform(key, r * n + j)`` with its
    probability. ``s_out`` must not overlap ``x`` (two distinct arrays let LLVM
    vectorise the loop; a third output aliasing one of them made it fall back
    to its scalar loop, 10x slower).
    """
    m, n = x.shape
    if keep_p:
        for r in range(m):
            for j in range(n):
                p = fast_sigmoid(x[r, j] + bias[j])
                x[r, j] = p
                s_out[r, j] = 1.0 if uniform(key, r * n + j) < p else 0.0
    else:
        for r in range(m):
            for j in range(n):
                p = fast_sigmoid(x[r, j] + bias[j])
                s_out[r, j] = 1.0 if uniform(key, r * n + j) < p else 0.0


@njit(parallel=True, cache=True, error_model="numpy")
def _sigmoid_rows_par(x, bias, out):
    """:func:`_sigmoid_rows` with the rows shared among Numba's threads."""
    m, n = x.shape
    for r in prange(m):
        for j in range(n):
            out[r, j] = fast_sigmoid(x[r, j] + bias[j])


@njit(parallel=True, cache=True, error_model="numpy")
def _sigmoid_sample_rows_par(x, bias, s_out, key, keep_p):
    """:func:`_sigmoid_sample_rows` with the rows shared among Numba's threads
    (same uniforms per element, so the same result for any thread count)."""
    m, n = x.shape
    for r in prange(m):
        _sample_row(x[r], bias, s_out[r], key, r * n, keep_p)


@njit(cache=True, error_model="numpy")
def _sample_row(x, bias, s_out, key, offset, keep_p):
    """One row of :func:`_sigmoid_sample_rows`; uniforms ``offset + j``."""
    n = x.shape[0]
    if keep_p:
        for j in range(n):
            p = fast_sigmoid(x[j] + bias[j])
            x[j] = p
            s_out[j] = 1.0 if uniform(key, offset + j) < p else 0.0
    else:
        for j in range(n):
            p = fast_sigmoid(x[j] + bias[j])
            s_out[j] = 1.0 if uniform(key, offset + j) < p else 0.0


@njit(cache=True)
def sigmoid_rows(x, bias, out):
    """out = sigmoid(x + bias); on several threads when the pass is big enough."""
    if _use_threads(x.size):
        _sigmoid_rows_par(x, bias, out)
    else:
        _sigmoid_rows(x, bias, out)


@njit(cache=True)
def sigmoid_sample_rows(x, bias, s_out, key, keep_p):
    """s_out = Bernoulli(sigmoid(x + bias)) (and x = the probabilities with
    ``keep_p``); threaded when big enough."""
    if _use_threads(x.size):
        _sigmoid_sample_rows_par(x, bias, s_out, key, keep_p)
    else:
        _sigmoid_sample_rows(x, bias, s_out, key, keep_p)


# ------------------------------------------------- Gaussian (linear) units
@njit(cache=True, error_model="numpy")
def _linear_sample_row(x, bias, s_out, key, offset, keep_p):
    """s_out = x + bias + N(0, 1); with ``keep_p`` also x = x + bias (the mean)."""
    n = x.shape[0]
    for j in range(n):
        mu = x[j] + bias[j]
        if keep_p:
            x[j] = mu
        s_out[j] = mu + gaussian(key, offset + j)


# ------------------------------------------------------------------- NReLU units
@njit(cache=True, error_model="numpy")
def _nrelu_sample_row(x, bias, s_out, key, offset, keep_p):
    """s_out = max(0, mu + N(0, sigmoid(mu))) with mu = x + bias; with ``keep_p``
    also x = max(0, mu), the mean used for the statistics (Nair and Hinton 2010)."""
    n = x.shape[0]
    for j in range(n):
        mu = x[j] + bias[j]
        s = mu + math.sqrt(fast_sigmoid(mu)) * gaussian(key, offset + j)
        s_out[j] = s if s > 0.0 else 0.0
        if keep_p:
            x[j] = mu if mu > 0.0 else 0.0


@njit(cache=True, error_model="numpy")
def _noisy_sample_rows(x, bias, s_out, key, keep_p, unit):
    m, n = x.shape
    if unit == GAUSSIAN_HIDDEN:
        for r in range(m):
            _linear_sample_row(x[r], bias, s_out[r], key, r * n, keep_p)
    else:
        for r in range(m):
            _nrelu_sample_row(x[r], bias, s_out[r], key, r * n, keep_p)


@njit(parallel=True, cache=True, error_model="numpy")
def _noisy_sample_rows_par(x, bias, s_out, key, keep_p, unit):
    m, n = x.shape
    if unit == GAUSSIAN_HIDDEN:
        for r in prange(m):
            _linear_sample_row(x[r], bias, s_out[r], key, r * n, keep_p)
    else:
        for r in prange(m):
            _nrelu_sample_row(x[r], bias, s_out[r], key, r * n, keep_p)


@njit(cache=True, error_model="numpy")
def _mean_rows(x, bias, out, unit):
    """out = mean of the units of id ``unit`` at pre-activation x + bias (not Bernoulli)."""
    m, n = x.shape
    if unit == GAUSSIAN_HIDDEN:
        for r in range(m):
            for j in range(n):
                out[r, j] = x[r, j] + bias[j]
    else:
        for r in range(m):
            for j in range(n):
                mu = x[r, j] + bias[j]
                out[r, j] = mu if mu > 0.0 else 0.0


# --------------------------------------------------------------- dispatchers
@njit(cache=True)
def hidden_mean_rows(x, bias, out, unit):
    """out = E[h | x + bias] for hidden units of kernel id ``unit`` (``out`` may be ``x``).

    Parameters
    ----------
    x : ndarray of shape (m, n)
        Pre-activations without the bias.
    bias : ndarray of shape (n,)
    out : ndarray of shape (m, n)
    unit : int
        ``BERNOULLI_HIDDEN``, ``GAUSSIAN_HIDDEN`` or ``NRELU_HIDDEN``.
    """
    if unit == BERNOULLI_HIDDEN:
        sigmoid_rows(x, bias, out)
    else:
        _mean_rows(x, bias, out, unit)


@njit(cache=True)
def hidden_sample_rows(x, bias, s_out, key, keep_p, unit):
    """s_out = a sample of the hidden units of id ``unit`` at pre-activation x + bias.

    With ``keep_p`` the means go back into ``x`` (in place), in the same pass.
    Threaded when the pass is big enough; the random numbers of element
    ``(r, j)`` depend only on ``(key, r * n + j)``.
    """
    if unit == BERNOULLI_HIDDEN:
        sigmoid_sample_rows(x, bias, s_out, key, keep_p)
    elif _use_threads(x.size):
        _noisy_sample_rows_par(x, bias, s_out, key, keep_p, unit)
    else:
        _noisy_sample_rows(x, bias, s_out, key, keep_p, unit)
