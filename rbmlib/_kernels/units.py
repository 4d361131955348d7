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

Visible unit ids (``rbmlib.units.VISIBLE_UNITS[name].kernel_id``), for
:func:`visible_sample_rows`, the visible half of a Gibbs step:

* ``BERNOULLI_VISIBLE = 0`` -- binary units: mean ``sigmoid(x)``;
* ``GAUSSIAN_VISIBLE = 1`` -- ``N(x, sigma^2)`` with ``x = b + h W``, held
  divided by ``sigma^2`` as the CD kernels hold them (Cho, Ilin and Raiko 2011);
* ``CATEGORICAL_VISIBLE = 2`` -- softmax groups (:func:`softmax_groups`): one
  category per group, missing groups (negative codes) kept at 0.
"""

import math

import numpy as np
from numba.np.ufunc.parallel import _launch_threads

from ._jit import njit, prange
from .sampling import (
    exp_f64,
    fast_exp,
    fast_sigmoid,
    gaussian,
    softplus,
    uniform,
)

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

BERNOULLI_VISIBLE = 0
GAUSSIAN_VISIBLE = 1
CATEGORICAL_VISIBLE = 2

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
@njit(inline="always", cache=True)
def _in_place(x, out):
    """Whether ``out`` is ``x`` (the same first element): an in-place pass.

    Such a pass gets a loop that names one array only. With ``x`` and ``out``
    as two names of the same memory, LLVM's runtime overlap check failed and
    the loop ran scalar, 7-8x slower than the vectorised loop (the sigmoid of
    ``ph0``, 0.32 against 0.042 ms per CD-1 update at batch 100 x 500).
    """
    return x.ctypes.data == out.ctypes.data


@njit(cache=True, error_model="numpy")
def _sigmoid_rows(x, bias, out):
    """out = sigmoid(x + bias), row by row (``out`` may be ``x``)."""
    m, n = x.shape
    if _in_place(x, out):
        for r in range(m):
            for j in range(n):  # one array named: vectorised (_in_place)
                x[r, j] = fast_sigmoid(x[r, j] + bias[j])
        return
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
    if _in_place(x, out):
        for r in prange(m):
            for j in range(n):
                x[r, j] = fast_sigmoid(x[r, j] + bias[j])
        return
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
    for r in range(x.shape[0]):
        hidden_mean_row(x[r], bias, out[r], unit)


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


# ------------------------------------------- one row (a block of one row) at a time
# For kernels that share the columns of a pass among threads (the fused CD
# update of ``cd.py``): ``x``, ``bias``, ``out`` are 1-D (a block of columns of
# one row) and ``offset`` is the counter of the block's first element, ``r * n +
# j0`` for columns ``j0 ..`` of row ``r`` of an ``(m, n)`` pass. Element for
# element the same arithmetic and random numbers as the 2-D dispatchers above.
# A new hidden unit type needs its branch here too (``cd.fused_blocks`` runs
# only ids up to ``NRELU_HIDDEN`` fused).
@njit(inline="always", cache=True)
def hidden_mean_row(x, bias, out, unit):
    """out = E[h | x + bias] for one row of hidden units of id ``unit`` (``out`` may be ``x``)."""
    n = x.shape[0]
    if _in_place(x, out):  # one array named: vectorised (_in_place)
        if unit == BERNOULLI_HIDDEN:
            for j in range(n):
                x[j] = fast_sigmoid(x[j] + bias[j])
        elif unit == GAUSSIAN_HIDDEN:
            for j in range(n):
                x[j] = x[j] + bias[j]
        else:
            for j in range(n):
                mu = x[j] + bias[j]
                x[j] = mu if mu > 0.0 else 0.0
    elif unit == BERNOULLI_HIDDEN:
        for j in range(n):
            out[j] = fast_sigmoid(x[j] + bias[j])
    elif unit == GAUSSIAN_HIDDEN:
        for j in range(n):
            out[j] = x[j] + bias[j]
    else:
        for j in range(n):
            mu = x[j] + bias[j]
            out[j] = mu if mu > 0.0 else 0.0


@njit(inline="always", cache=True)
def hidden_sample_row(x, bias, s_out, key, offset, keep_p, unit):
    """s_out = a sample of one row of hidden units of id ``unit`` (numbers ``offset + j``
    of ``key``); with ``keep_p`` the means go back into ``x``."""
    if unit == BERNOULLI_HIDDEN:
        _sample_row(x, bias, s_out, key, offset, keep_p)
    elif unit == GAUSSIAN_HIDDEN:
        _linear_sample_row(x, bias, s_out, key, offset, keep_p)
    else:
        _nrelu_sample_row(x, bias, s_out, key, offset, keep_p)


@njit(inline="always", cache=True)
def visible_sample_row(pre, b, sigma, v, key, offset, mean_only, unit):
    """One row of :func:`visible_sample_rows` for Bernoulli and Gaussian visible units
    (numbers ``offset + i`` of ``key``); ``sigma`` the row's standard deviations."""
    n = pre.shape[0]
    if unit == GAUSSIAN_VISIBLE:
        for i in range(n):
            s = sigma[i]
            noise = 0.0 if mean_only else s * gaussian(key, offset + i)
            v[i] = (b[i] + pre[i] + noise) / (s * s)
    elif mean_only:
        for i in range(n):
            v[i] = fast_sigmoid(pre[i] + b[i])
    else:
        _sample_row(pre, b, v, key, offset, False)


# ------------------------------------------------- vectorisable log / softplus
# Cephes log.c (Moshier 1989): log(1 + x) = x - x^2/2 + x^3 P(x)/Q(x) on
# [sqrt(1/2) - 1, sqrt(2) - 1]; ln 2 split in two as in exp.
_LP0 = 1.01875663804580931796e-4
_LP1 = 4.97494994976747001425e-1
_LP2 = 4.70579119878881725854e0
_LP3 = 1.44989225341610930846e1
_LP4 = 1.79368678507819816313e1
_LP5 = 7.70838733755885391666e0
_LQ0 = 1.12873587189167450590e1
_LQ1 = 4.52279145837532221105e1
_LQ2 = 8.29875266912776603211e1
_LQ3 = 7.11544750618563894466e1
_LQ4 = 2.31251620126765340583e1
_LN2_HI = 0.693359375
_LN2_LO = -2.121944400546905827679e-4
_SQRT2 = 1.4142135623730951


@njit(cache=True, error_model="numpy")
def _log_1_2(u):
    """log(u) for u in [1, 2], branch-free (vectorisable), about 1 ulp."""
    big = u >= _SQRT2
    x = 0.5 * u - 1.0 if big else u - 1.0  # both exact
    e = 1.0 if big else 0.0
    z = x * x
    p = ((((_LP0 * x + _LP1) * x + _LP2) * x + _LP3) * x + _LP4) * x + _LP5
    q = ((((x + _LQ0) * x + _LQ1) * x + _LQ2) * x + _LQ3) * x + _LQ4
    y = x * (z * p / q) + e * _LN2_LO - 0.5 * z
    return (x + y) + e * _LN2_HI


@njit(inline="always", cache=True, error_model="numpy")
def softplus_sigmoid_f64(y):
    """``(softplus(y), sigmoid(y))`` of a float64, branch-free (vectorisable).

    ``t = exp(-|y|)`` (``sampling.exp_f64``, no libm call) serves both:
    ``softplus(y) = max(y, 0) + log1p(t)`` with ``log1p(t) = log(u) - ((u - 1) - t) / u``,
    ``u = 1 + t`` (the correction makes it exact to rounding for tiny ``t``),
    and ``sigmoid(y) = 1 / u`` or ``t / u``. A few ulp over the whole range
    (tests/test_kernels_speed.py); ``inf`` and ``nan`` propagate.
    """
    t = exp_f64(-abs(y))
    u = 1.0 + t
    s = 1.0 / u
    l1p = _log_1_2(u) - ((u - 1.0) - t) * s
    pos = y > 0.0
    return (y if pos else 0.0) + l1p, (s if pos else t * s)



# ------------------------------------------- hidden units' log-marginal (log Z, AIS)
# The hidden units' free-energy term ``lm(x) = log sum_h exp(x h - e(h))``
# without its constant ``lm(0)`` (``rbmlib.units.HiddenUnits.log_marginal_zero``,
# which the callers add): ``softplus(x)`` (Bernoulli), ``x^2 / 2`` (Gaussian).
# Exact log Z and AIS (``partition.py``, ``categorical.py``) call only these
# dispatchers, so a hidden unit type with a free energy adds its branch here.
# An id without a branch (NReLU: no closed form) gives NaN, never another
# unit type's value; ``rbmlib.likelihood`` refuses such units before calling.
@njit(inline="always", cache=True)
def hidden_log_marginal(x, unit):
    """``lm(x)`` of one hidden unit of kernel id ``unit`` (without ``lm(0)``'s constant
    for Gaussian units; NaN for an id without a closed form)."""
    if unit == BERNOULLI_HIDDEN:
        return softplus(x)
    if unit == GAUSSIAN_HIDDEN:
        return 0.5 * x * x
    return np.nan


@njit(inline="always", cache=True)
def hidden_log_marginal_row(x, unit, acc):
    """``acc + sum_j lm(x_j)``, added in the order of ``j`` (one branch per row)."""
    if unit == BERNOULLI_HIDDEN:
        for j in range(x.shape[0]):
            acc += softplus(x[j])
    elif unit == GAUSSIAN_HIDDEN:
        for j in range(x.shape[0]):
            acc += 0.5 * x[j] * x[j]
    else:
        acc = np.nan
    return acc


@njit(cache=True, error_model="numpy")
def hidden_ais_row(x, c, h, d, key, key_g, ctr, bk, bp, sample, unit):
    """One AIS run's hidden layer between inverse temperatures ``bp`` and ``bk``.

    ``d[j] = lm(bk x_j) - lm(bp x_j)`` with ``x_j`` the input plus ``c_j`` (the
    caller sums ``d``) and, with ``sample``, ``h ~ p_bk(h | v)`` drawn with counters
    ``ctr + j`` (uniforms of ``key``, normal deviates of ``key_g``). Bernoulli:
    softplus and sigmoid in one branch-free pass (:func:`softplus_sigmoid_f64`);
    Gaussian: ``(bk^2 - bp^2) x_j^2 / 2`` and ``N(bk x_j, 1)``. An unknown id
    fills ``d`` with NaN.
    """
    H = x.shape[0]
    if unit == BERNOULLI_HIDDEN:
        if sample:
            for j in range(H):
                xj = x[j] + c[j]
                spk, pk = softplus_sigmoid_f64(bk * xj)
                d[j] = spk - softplus_sigmoid_f64(bp * xj)[0]
                h[j] = 1.0 if uniform(key, ctr + j) < pk else 0.0
        else:
            for j in range(H):
                xj = x[j] + c[j]
                d[j] = softplus_sigmoid_f64(bk * xj)[0] - softplus_sigmoid_f64(bp * xj)[0]
    elif unit == GAUSSIAN_HIDDEN:
        half = 0.5 * (bk * bk - bp * bp)
        for j in range(H):
            xj = x[j] + c[j]
            d[j] = half * (xj * xj)
        if sample:
            for j in range(H):
                h[j] = bk * (x[j] + c[j]) + gaussian(key_g, ctr + j)
    else:
        for j in range(H):
            d[j] = np.nan


@njit(inline="always", cache=True)
def hidden_tempered_sample_row(x, beta, h, key, ctr, key_g, ctr_g, unit):
    """``h ~ p_beta(h | x)`` for the categorical AIS: each stream has its own counter
    (uniforms ``ctr + j`` of ``key`` with ``p = 1 / (1 + exp(-beta x_j))``, normal
    deviates ``ctr_g + j`` of ``key_g``); returns the advanced ``(ctr, ctr_g)``.
    An unknown id fills ``h`` with NaN."""
    H = x.shape[0]
    if unit == GAUSSIAN_HIDDEN:
        for j in range(H):
            h[j] = beta * x[j] + gaussian(key_g, ctr_g)
            ctr_g += 1
    elif unit == BERNOULLI_HIDDEN:
        for j in range(H):
            p = 1.0 / (1.0 + math.exp(-beta * x[j]))
            h[j] = 1.0 if uniform(key, ctr) < p else 0.0
            ctr += 1
    else:
        for j in range(H):
            h[j] = np.nan
    return ctr, ctr_g


# ------------------------------------------------------------- visible units
@njit(cache=True, error_model="numpy")
def _softmax_row(pre, b, offsets, codes, masked, out, key, base, mode):
    """One row of :func:`softmax_groups` (uniforms ``base + g``)."""
    G = offsets.shape[0] - 1
    for g in range(G):
        o = offsets[g]
        K = offsets[g + 1] - o
        if masked and codes[g] < 0:
            for k in range(K):
                out[o + k] = 0.0
            continue
        mx = -np.inf
        for k in range(K):
            x = pre[o + k] + b[o + k]
            if x > mx:
                mx = x
        s = 0.0
        for k in range(K):
            e = fast_exp(pre[o + k] + b[o + k] - mx)
            out[o + k] = e
            s += e
        if mode == 0:
            inv = 1.0 / s
            for k in range(K):
                out[o + k] *= inv
        else:
            # inverse CDF on the unnormalised weights: u * s against the running sum
            t = uniform(key, base + g) * s
            pick = K - 1
            acc = 0.0
            for k in range(K):
                acc += out[o + k]
                if t < acc:
                    pick = k
                    break
            for k in range(K):
                out[o + k] = 0.0
            out[o + pick] = 1.0


@njit(cache=True)
def _softmax_rows_seq(pre, b, offsets, codes, masked, out, key, mode):
    G = offsets.shape[0] - 1
    for r in range(out.shape[0]):
        _softmax_row(pre[r], b, offsets, codes[r], masked, out[r], key, r * G, mode)


@njit(parallel=True, cache=True)
def _softmax_rows_par(pre, b, offsets, codes, masked, out, key, mode):
    G = offsets.shape[0] - 1
    for r in prange(out.shape[0]):
        _softmax_row(pre[r], b, offsets, codes[r], masked, out[r], key, r * G, mode)


@njit(cache=True)
def softmax_groups(pre, b, offsets, codes, masked, out, key, mode):
    """Per-group softmax of ``pre + b``, as probabilities or one-hot samples.

    Parameters
    ----------
    pre : ndarray of shape (m, V)
        Visible input ``h W`` (without the biases). May be the same array as ``out``.
    b : ndarray of shape (V,)
        Visible biases.
    offsets : ndarray of shape (G + 1,), int64
        Group boundaries.
    codes : ndarray of shape (m, G), int32
        With ``masked``, groups whose code is negative (missing) get zeros.
    masked : bool
        Apply the mask of ``codes``; False computes every group.
    out : ndarray of shape (m, V)
        Output: ``mode=0`` the probabilities ``p(v_g = k | h)``; ``mode=1`` a
        one-hot sample of each group, drawn with ``uniform(key, r * G + g)``.
    key : uint64
        Random stream (``mode=1`` only).
    mode : int
        0 probabilities, 1 samples.
    """
    if _use_threads(out.shape[0] * out.shape[1]):
        _softmax_rows_par(pre, b, offsets, codes, masked, out, key, mode)
    else:
        _softmax_rows_seq(pre, b, offsets, codes, masked, out, key, mode)


@njit(cache=True, error_model="numpy")
def _gaussian_visible_rows(pre, b, sigma, v, key, mean_only):
    """v = (b + pre + sigma N(0, 1)) / sigma^2 (without the noise when ``mean_only``);
    element ``(r, i)`` draws normal deviate ``r * V + i`` of ``key``."""
    m, V = pre.shape
    for r in range(m):
        visible_sample_row(pre[r], b, sigma, v[r], key, r * V, mean_only, GAUSSIAN_VISIBLE)


@njit(inline="always", cache=True)
def visible_sample_rows(pre, b, layout, v, key, mean_only, unit):
    """v = a sample of the visible units of kernel id ``unit`` given ``pre = h W``
    (their conditional mean instead with ``mean_only``).

    Parameters
    ----------
    pre : ndarray of shape (m, V)
        Visible input without the biases.
    b : ndarray of shape (V,)
    layout : tuple (sigma, offsets, codes)
        What the unit types need beyond ``b``: ``sigma`` (V,) the standard
        deviations of Gaussian units; ``offsets`` (G + 1,) int64 the groups of
        categorical units and ``codes`` (at least m, G) int32 the codes of the
        mini-batch, whose missing groups stay 0. Unused entries may be empty.
    v : ndarray of shape (m, V)
        Output (Gaussian units: divided by ``sigma^2``).
    key : uint64
        Random stream: element ``(r, i)`` (group ``(r, g)`` for categorical
        units) uses number ``r * V + i`` (``r * G + g``).
    mean_only : bool
    unit : int
        ``BERNOULLI_VISIBLE``, ``GAUSSIAN_VISIBLE`` or ``CATEGORICAL_VISIBLE``.
    """
    # one branch-free inner loop per case (the branches kept it from pipelining)
    sigma, offsets, codes = layout
    if unit == CATEGORICAL_VISIBLE:
        softmax_groups(pre, b, offsets, codes[:pre.shape[0]], True, v, key,
                       0 if mean_only else 1)
    elif unit == GAUSSIAN_VISIBLE:
        _gaussian_visible_rows(pre, b, sigma, v, key, mean_only)
    elif mean_only:
        sigmoid_rows(pre, b, v)
    else:
        sigmoid_sample_rows(pre, b, v, key, False)


# ------------------------------------------- tempered free energy (parallel tempering)
@njit(inline="always", cache=True)
def tempered_visible_energy(v, b, sigma, beta, unit):
    """The visible units' term of the free energy of one state ``v`` (V,) in the RBM
    with visible biases ``beta b`` (the tempered model of parallel tempering,
    :mod:`rbmlib._kernels.negative`), up to a constant of ``beta``.

    ``v`` as the CD kernels hold it. Bernoulli and categorical (one-hot) units:
    ``-beta b . v``; Gaussian units (``v`` holds ``u = v / sigma^2``): ``sum_i
    (u_i sigma_i^2 - beta b_i)^2 / (2 sigma_i^2)``, the energy of Cho, Ilin and
    Raiko (2011) with means ``beta b``.
    """
    f = 0.0
    if unit == GAUSSIAN_VISIBLE:
        for i in range(v.shape[0]):
            s2 = sigma[i] * sigma[i]
            d = v[i] * s2 - beta * b[i]
            f += d * d / (2.0 * s2)
    else:
        for i in range(v.shape[0]):
            f -= beta * b[i] * v[i]
    return f
