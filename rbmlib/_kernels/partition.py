"""Log partition function of an RBM: exact enumeration and annealed importance sampling.

Plain-array Numba kernels: no estimators, no scikit-learn. ``W`` is the
weight matrix of shape ``(H, V)`` (hidden x visible), ``c`` the hidden biases
``(H,)`` and ``b`` the visible biases ``(V,)``; all float64, C-contiguous.

Energies (Bernoulli hidden units ``h`` in {0, 1}^H):

* Bernoulli visible units: ``E(v, h) = -b.v - c.h - h W v``;
* Gaussian visible units (Cho, Ilin and Raiko 2011, as in ``cd.py``):
  ``E(v, h) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - c.h - (v / sigma^2) W^T h``.

Gaussian hidden units (``hidden_units=1``, the kernel id of
:mod:`rbmlib._kernels.units`) add ``sum_j h_j^2 / 2`` to the energy, so that
``p(h | v) = N(c + W u, 1)``; summing them out gives ``x_j^2 / 2 + log(2 pi) / 2``
per unit in place of ``softplus(x_j)``. AIS anneals ``W`` and ``c`` (not the
units' own energy), so its base model keeps the hidden units' marginal. These
hidden units' terms and samplers are not written here: the kernels call the
dispatchers of :mod:`rbmlib._kernels.units` on the hidden kernel id
(``hidden_log_marginal_row``, ``hidden_ais_row``), so a hidden unit type
with a free energy adds its branch there only.

Exact log Z (``log_z_enumerate``) sums over the 2^n states of one layer and
marginalises the other in closed form; AIS (``ais_log_weights``) follows
Neal (2001) and Salakhutdinov and Murray (2008). Random numbers come from the
counter-based generator in ``sampling``: AIS run ``r`` draws only from the
stream ``stream_key(seed, r)``, so results do not depend on the thread count.
"""

import math

import numpy as np

from ._jit import njit, prange
from .sampling import gaussian, sigmoid_f64, softplus, stream_key, uniform
from .units import (
    _use_threads,
    hidden_ais_row,
    hidden_log_marginal_row,
    softplus_sigmoid_f64,
)

MAX_ENUMERATED_UNITS = 30  # hard stop: 2^30 states; the public API says 25
CHUNK_BITS = 12            # states per parallel chunk: 2^12 (Gray-code updates)


@njit(inline="always", cache=True)
def _trailing_zeros(g):
    k = 0
    while (g & 1) == 0:
        g >>= 1
        k += 1
    return k


@njit(inline="always", cache=True)
def gray_flip(g, s, a, M, x, lin):
    """Step ``g > 0`` of a Gray-code walk over the binary states ``s``.

    Flips the unit that Gray code ``g`` changes, keeps ``x = offset + s @ M``
    up to date in place and returns the updated ``lin = s . a``. Shared by the
    enumerations of log Z here and in the categorical kernels.
    """
    k = _trailing_zeros(g)
    if s[k]:
        s[k] = 0
        lin -= a[k]
        for i in range(x.shape[0]):
            x[i] -= M[k, i]
    else:
        s[k] = 1
        lin += a[k]
        for i in range(x.shape[0]):
            x[i] += M[k, i]
    return lin


@njit(inline="always", cache=True)
def chunk_start(ch, low, s, a, M, x):
    """The first state of chunk ``ch`` of a Gray-code walk over the binary states ``s``.

    Units ``low`` and above take the bits of ``ch`` (``s`` zeros and ``x =
    offset`` on entry; ``x = offset + s @ M`` kept up to date in place);
    returns ``lin = s . a``. The walk over units ``0 .. low - 1`` then goes on
    with :func:`gray_flip`. Shared by the enumerations of log Z here and in the
    categorical kernels.
    """
    lin = 0.0
    for t in range(s.shape[0] - low):
        if (ch >> t) & 1:
            k = low + t
            s[k] = 1
            lin += a[k]
            for i in range(x.shape[0]):
                x[i] += M[k, i]
    return lin


@njit(parallel=True, cache=True)
def log_z_enumerate(M, a, offset, gaussian_other, inv_var, hidden_unit=-1):
    """log sum over binary states s of exp(a.s + phi(offset + s M)).

    The enumerated layer has ``n = M.shape[0]`` binary units with biases
    ``a``; ``x = offset + s M`` is the input to the other layer, which is
    marginalised in closed form by ``phi``:

    * ``gaussian_other=False`` (Bernoulli other layer): ``phi(x) = sum_i softplus(x_i)``;
    * ``gaussian_other=True``: ``phi(x) = sum_i x_i^2 inv_var_i / 2`` (the caller
      adds the constant ``sum_i log(sqrt(2 pi) sigma_i) - b^2 / (2 sigma_i^2)``);
    * ``hidden_unit >= 0`` (the other layer is the hidden one, of that kernel id):
      ``phi(x) = sum_i lm(x_i)``, the hidden units' log-marginal of
      :func:`rbmlib._kernels.units.hidden_log_marginal_row` (the caller adds
      ``m lm(0)`` for Gaussian units); ``gaussian_other`` and ``inv_var`` unused.

    The 2^n states are split into chunks of ``2^CHUNK_BITS`` that run in
    parallel; inside a chunk the states follow a Gray code, so each step
    flips one unit and updates ``x`` with one row of ``M`` (O(m) per state).
    ``x`` is recomputed from scratch at the start of every chunk, which bounds
    the accumulated rounding. Each chunk keeps a streaming log-sum-exp in
    float64 (running max and scaled sum); the chunks are combined at the end.

    Parameters
    ----------
    M : ndarray of shape (n, m)
    a : ndarray of shape (n,)
    offset : ndarray of shape (m,)
    gaussian_other : bool
    inv_var : ndarray of shape (m,)
        ``1 / sigma^2``; read only when ``gaussian_other``.
    hidden_unit : int, default=-1
        Kernel id of the marginalised hidden layer; -1 when the visible layer is
        the marginalised one (``gaussian_other``, ``inv_var``).

    Returns
    -------
    float
    """
    n, m = M.shape
    low = n if n < CHUNK_BITS else CHUNK_BITS
    n_chunks = 1 << (n - low)
    cmax = np.empty(n_chunks)
    csum = np.empty(n_chunks)
    for ch in prange(n_chunks):
        s = np.zeros(n, dtype=np.uint8)
        x = offset.copy()
        lin = chunk_start(ch, low, s, a, M, x)
        mx = -np.inf
        sm = 0.0
        for g in range(1 << low):
            if g > 0:
                lin = gray_flip(g, s, a, M, x, lin)
            val = lin
            if hidden_unit >= 0:
                val = hidden_log_marginal_row(x, hidden_unit, val)
            elif gaussian_other:
                for i in range(m):
                    val += 0.5 * x[i] * x[i] * inv_var[i]
            else:
                for i in range(m):
                    val += softplus(x[i])
            if val > mx:
                sm = sm * math.exp(mx - val) + 1.0
                mx = val
            else:
                sm += math.exp(val - mx)
        cmax[ch] = mx
        csum[ch] = sm
    mx = cmax.max()
    total = 0.0
    for ch in range(n_chunks):
        total += csum[ch] * math.exp(cmax[ch] - mx)
    return mx + math.log(total)


@njit(cache=True, error_model="numpy")
def softplus_array(x, out):
    """``out[...] = softplus(x)`` elementwise (float64, C-contiguous, one shape)."""
    xf = x.reshape(-1)
    of = out.reshape(-1)
    for i in range(xf.shape[0]):
        of[i] = softplus_sigmoid_f64(xf[i])[0]


@njit(cache=True, fastmath={"reassoc"})
def _sum(a):
    """Sum of a 1-D float64 array in SIMD lanes (reassociated; same order on any thread)."""
    s = 0.0
    for i in range(a.shape[0]):
        s += a[i]
    return s


# ------------------------------------------------------------------- AIS
@njit(cache=True, error_model="numpy")
def _ais_hidden_row(x, c, h, d, key, key_g, ctr, bk, bp, sample, hidden_units):
    """Log-weight increment ``sum_j lm(bk x_j) - lm(bp x_j)`` of one run (``x_j`` gets
    ``c_j`` added here) and, with ``sample``, ``h ~ p_bk(h | v)`` drawn with counters
    ``ctr + j``, both by the hidden units' dispatcher
    :func:`rbmlib._kernels.units.hidden_ais_row`. ``d`` is scratch of the row's length."""
    hidden_ais_row(x, c, h, d, key, key_g, ctr, bk, bp, sample, hidden_units)
    return _sum(d)


@njit(cache=True, error_model="numpy")
def _ais_visible_row(p, b, b_base, sigma, dlin, v, u, d, key, key_g, ctr, bk, gaussian_units):
    """``v ~ p_bk(v | h)`` from ``p = h W`` with counters ``ctr + i``; ``u = v`` (or
    ``v / sigma^2``); returns the mixing term ``lin(v)``. ``d`` is scratch."""
    V = p.shape[0]
    a = 1.0 - bk
    if gaussian_units:
        for i in range(V):
            s = sigma[i]
            vi = a * b_base[i] + bk * (b[i] + p[i]) + s * gaussian(key_g, ctr + i)
            v[i] = vi
            u[i] = vi / (s * s)
            d[i] = dlin[i] * (2.0 * vi - b[i] - b_base[i])
    else:
        for i in range(V):
            vi = 1.0 if uniform(key, ctr + i) < sigmoid_f64(a * b_base[i] + bk * (b[i] + p[i])) \
                else 0.0
            v[i] = vi
            u[i] = vi
            d[i] = dlin[i] * vi
    return _sum(d)


@njit(cache=True)
def _ais_init_row(r, v_init, sample_init, b, b_base, sigma, dlin, v, u, d, key, key_g,
                  gaussian_units):
    """Starting state of run ``r`` (base-model sample with counters ``0..V-1``, or
    ``v_init[r]``) into ``v`` and ``u``; returns ``lin(v)``."""
    V = v.shape[0]
    for i in range(V):
        if not sample_init:
            v[i] = v_init[r, i]
        elif gaussian_units:
            v[i] = b_base[i] + sigma[i] * gaussian(key_g, i)
        else:
            v[i] = 1.0 if uniform(key, i) < sigmoid_f64(b_base[i]) else 0.0
    for i in range(V):
        if gaussian_units:
            u[i] = v[i] / (sigma[i] * sigma[i])
            d[i] = dlin[i] * (2.0 * v[i] - b[i] - b_base[i])
        else:
            u[i] = v[i]
            d[i] = dlin[i] * v[i]
    return _sum(d)


@njit(parallel=True, cache=True)
def _ais_hidden_pass_par(X, c, Hs, D, keys, keys_g, ctr, bk, bp, sample, hidden_units, lw, lin):
    for r in prange(X.shape[0]):
        lw[r] += (bk - bp) * lin[r] + _ais_hidden_row(
            X[r], c, Hs[r], D[r, :X.shape[1]], keys[r], keys_g[r], ctr, bk, bp, sample,
            hidden_units)


@njit(parallel=True, cache=True)
def _ais_visible_pass_par(P, b, b_base, sigma, dlin, Vs, U, D, keys, keys_g, ctr, bk,
                          gaussian_units, lin):
    for r in prange(P.shape[0]):
        lin[r] = _ais_visible_row(P[r], b, b_base, sigma, dlin, Vs[r], U[r],
                                  D[r, :P.shape[1]], keys[r], keys_g[r], ctr, bk,
                                  gaussian_units)


@njit(cache=True)
def ais_log_weights(W, WT, c, b, b_base, sigma, gaussian_units,
                    betas, v_init, sample_init, seed, log_w, v_final, hidden_units=0):
    """Log importance weights of AIS runs along the inverse temperatures ``betas``.

    Intermediate distributions (Salakhutdinov and Murray 2008, eq. 14, with
    a base model ``A`` of visible biases ``b_base`` and no weights):

    * Bernoulli: ``log p*_beta(v) = (1-beta) b_base.v + beta b.v
      + sum_j softplus(beta (c_j + W_j v))``;
    * Gaussian: ``log p*_beta(v) = -(1-beta) |v - b_base|^2_s - beta |v - b|^2_s
      + sum_j softplus(beta (c_j + W_j (v / sigma^2)))`` with
      ``|z|^2_s = sum_i z_i^2 / (2 sigma_i^2)``;
    * Gaussian hidden units (``hidden_units=1``): ``(beta x_j)^2 / 2`` in place
      of ``softplus(beta x_j)``, and ``h_j ~ N(beta x_j, 1)`` in the sweeps.

    At ``beta = 0`` this is the base model, whose normaliser is known
    (``2^H prod_i (1 + exp(b_base_i))``, or ``2^H prod_i sqrt(2 pi) sigma_i``).
    Each run starts from a state ``v`` of ``p_{betas[0]}`` and for
    ``k = 1 .. K`` adds ``log p*_{beta_k}(v) - log p*_{beta_{k-1}}(v)`` to its
    log weight, then (for ``k < K``) makes one Gibbs sweep ``h ~ p_k(h | v)``,
    ``v ~ p_k(v | h)`` that leaves ``p_{beta_k}`` invariant. Then
    ``E[exp(log_w)] = Z_{betas[K]} / Z_{betas[0]}`` whatever the order of
    ``betas``: increasing (0 -> 1) is forward AIS, decreasing (1 -> 0) is
    reverse AIS, whose starting states should be samples of the RBM. A
    constant ``betas = 1`` of length ``n + 2`` makes ``n`` Gibbs sweeps of the
    RBM from ``v_init`` (zero weights; ``v_final`` the chains' states): the
    chains that start reverse AIS.

    The ``R`` runs advance together, one temperature at a time, as matrices:
    per temperature one product ``X = U W^T`` (``U`` the runs' visible states,
    divided by ``sigma^2`` for Gaussian units) gives every run's hidden input
    for its log-weight increment and its hidden sample, and one product
    ``P = H_s W`` the visible inputs; the elementwise passes use branch-free
    exp / log / sigmoid (:func:`softplus_sigmoid_f64`) that LLVM vectorises
    and run their rows on Numba's threads when big enough. Run ``r`` draws
    from its own streams (``stream_key(seed, r)`` and, for normal deviates,
    ``stream_key(that key, 1)``) with counters ``0..V-1`` for a sampled start
    and then ``H`` hidden and ``V`` visible counters per sweep, so the result
    does not depend on the thread count.

    Parameters
    ----------
    W : ndarray of shape (H, V)
    WT : ndarray of shape (V, H)
        ``W.T`` as a C-contiguous copy (the operand of ``U W^T``).
    c : ndarray of shape (H,)
    b, b_base, sigma : ndarrays of shape (V,)
        Visible biases of the RBM and of the base model; visible standard
        deviations (read only when ``gaussian_units``).
    gaussian_units : bool
    betas : ndarray of shape (K + 1,)
    v_init : ndarray of shape (R, V)
        Starting states, read only when ``sample_init`` is False (may be
        ``v_final``'s own buffer otherwise).
    sample_init : bool
        Draw the starting states from the base model (requires ``betas[0] == 0``).
    seed : int
        Run ``r`` uses the random stream ``stream_key(seed, r)``.
    log_w : ndarray of shape (R,)
        Output: the log weights (nats).
    v_final : ndarray of shape (R, V)
        Output: the last visible state of each run.
    hidden_units : int, default=0
        Kernel id of the hidden units (:mod:`rbmlib._kernels.units`, whose
        :func:`~rbmlib._kernels.units.hidden_ais_row` gives their log-weight terms
        and tempered sampler; an id without a free energy gives NaN weights).

    References
    ----------
    R. M. Neal, "Annealed importance sampling", Statistics and Computing 11(2), 2001.
    R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep belief
    networks", ICML 2008.
    """
    R = log_w.shape[0]
    H, V = W.shape
    K = betas.shape[0] - 1
    keys = np.empty(R, dtype=np.uint64)
    keys_g = np.empty(R, dtype=np.uint64)
    for r in range(R):
        keys[r] = stream_key(seed, r)
        keys_g[r] = stream_key(keys[r], 1)  # normal deviates: a separate stream
    dlin = np.empty(V)  # per-unit coefficient of the base/model mixing term
    for i in range(V):
        if gaussian_units:
            dlin[i] = (b[i] - b_base[i]) / (2.0 * sigma[i] * sigma[i])
        else:
            dlin[i] = b[i] - b_base[i]
    U = np.empty((R, V))
    X = np.empty((R, H))
    Hs = np.zeros((R, H))
    P = np.empty((R, V))
    D = np.empty((R, max(H, V)))
    lin = np.empty(R)
    lw = np.zeros(R)
    Vs = np.empty((R, V))
    for r in range(R):
        lin[r] = _ais_init_row(r, v_init, sample_init, b, b_base, sigma, dlin, Vs[r], U[r],
                               D[r, :V], keys[r], keys_g[r], gaussian_units)
    ctr = V if sample_init else 0
    par_h = _use_threads(R * H)
    par_v = _use_threads(R * V)
    for k in range(1, K + 1):
        bk = betas[k]
        bp = betas[k - 1]
        sample = k < K
        np.dot(U, WT, X)
        if par_h:
            _ais_hidden_pass_par(X, c, Hs, D, keys, keys_g, ctr, bk, bp, sample,
                                 hidden_units, lw, lin)
        else:
            for r in range(R):
                lw[r] += (bk - bp) * lin[r] + _ais_hidden_row(
                    X[r], c, Hs[r], D[r, :H], keys[r], keys_g[r], ctr, bk, bp, sample,
                    hidden_units)
        if not sample:
            break
        ctr += H
        np.dot(Hs, W, P)
        if par_v:
            _ais_visible_pass_par(P, b, b_base, sigma, dlin, Vs, U, D, keys, keys_g, ctr, bk,
                                  gaussian_units, lin)
        else:
            for r in range(R):
                lin[r] = _ais_visible_row(P[r], b, b_base, sigma, dlin, Vs[r], U[r],
                                          D[r, :V], keys[r], keys_g[r], ctr, bk,
                                          gaussian_units)
        ctr += V
    for r in range(R):
        log_w[r] = lw[r]
        for i in range(V):
            v_final[r, i] = Vs[r, i]
