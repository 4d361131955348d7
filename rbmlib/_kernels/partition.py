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
units' own energy), so its base model keeps the hidden units' marginal.

Exact log Z (``log_z_enumerate``) sums over the 2^n states of one layer and
marginalises the other in closed form; AIS (``ais_log_weights``) follows
Neal (2001) and Salakhutdinov and Murray (2008). Random numbers come from the
counter-based generator in ``sampling``: AIS run ``r`` draws only from the
stream ``stream_key(seed, r)``, so results do not depend on the thread count.
"""

import math

import numpy as np
from ._jit import njit, prange

from .sampling import gaussian, sigmoid, softplus, stream_key, uniform

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


@njit(parallel=True, cache=True)
def log_z_enumerate(M, a, offset, gaussian_other, inv_var):
    """log sum over binary states s of exp(a.s + phi(offset + s M)).

    The enumerated layer has ``n = M.shape[0]`` binary units with biases
    ``a``; ``x = offset + s M`` is the input to the other layer, which is
    marginalised in closed form by ``phi``:

    * ``gaussian_other=False`` (Bernoulli other layer): ``phi(x) = sum_i softplus(x_i)``;
    * ``gaussian_other=True``: ``phi(x) = sum_i x_i^2 inv_var_i / 2`` (the caller
      adds the constant ``sum_i log(sqrt(2 pi) sigma_i) - b^2 / (2 sigma_i^2)``).

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
        lin = 0.0
        for t in range(n - low):
            if (ch >> t) & 1:
                k = low + t
                s[k] = 1
                lin += a[k]
                for i in range(m):
                    x[i] += M[k, i]
        mx = -np.inf
        sm = 0.0
        for g in range(1 << low):
            if g > 0:
                lin = gray_flip(g, s, a, M, x, lin)
            val = lin
            if gaussian_other:
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


@njit(cache=True)
def _hidden_input_full(WT, c, u, x):
    """x = c + W u, as a sum of rows of W^T (u: visible state or v/sigma^2)."""
    V, H = WT.shape
    for j in range(H):
        x[j] = c[j]
    for i in range(V):
        ui = u[i]
        if ui != 0.0:
            for j in range(H):
                x[j] += ui * WT[i, j]


@njit(parallel=True, cache=True)
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
    reverse AIS, whose starting states should be samples of the RBM.

    For Bernoulli units the hidden input ``c + W v`` is updated only for the
    visible units that changed (cheap at high ``beta``, where few flip) and
    recomputed from scratch every 256 steps to bound rounding.

    Parameters
    ----------
    W : ndarray of shape (H, V)
    WT : ndarray of shape (V, H)
        ``W.T`` as a C-contiguous copy.
    c : ndarray of shape (H,)
    b, b_base, sigma : ndarrays of shape (V,)
        Visible biases of the RBM and of the base model; visible standard
        deviations (read only when ``gaussian_units``).
    gaussian_units : bool
    betas : ndarray of shape (K + 1,)
    v_init : ndarray of shape (R, V)
        Starting states, read only when ``sample_init`` is False.
    sample_init : bool
        Draw the starting states from the base model (requires ``betas[0] == 0``).
    seed : int
        Run ``r`` uses the random stream ``stream_key(seed, r)``.
    log_w : ndarray of shape (R,)
        Output: the log weights.
    v_final : ndarray of shape (R, V)
        Output: the last visible state of each run.
    hidden_units : int, default=0
        Kernel id of the hidden units: 0 Bernoulli, 1 Gaussian.
    """
    R = log_w.shape[0]
    H, V = W.shape
    K = betas.shape[0] - 1
    for r in prange(R):
        key = stream_key(seed, r)
        key_g = stream_key(key, 1)  # normal deviates: a separate stream
        ctr = 0
        v = np.empty(V)
        u = np.empty(V)
        x = np.empty(H)
        h = np.zeros(H)
        wh = np.zeros(V)       # W^T h
        dlin = np.empty(V)     # per-unit coefficient of the base/model mixing term
        if gaussian_units:
            for i in range(V):
                s2 = sigma[i] * sigma[i]
                dlin[i] = (b[i] - b_base[i]) / (2.0 * s2)
        else:
            for i in range(V):
                dlin[i] = b[i] - b_base[i]
        # starting state
        if sample_init:
            for i in range(V):
                if gaussian_units:
                    v[i] = b_base[i] + sigma[i] * gaussian(key_g, ctr)
                else:
                    v[i] = 1.0 if uniform(key, ctr) < sigmoid(b_base[i]) else 0.0
                ctr += 1
        else:
            for i in range(V):
                v[i] = v_init[r, i]
        # mixing term  lin(v): its coefficient in log p* is beta
        lin = 0.0
        for i in range(V):
            if gaussian_units:
                u[i] = v[i] / (sigma[i] * sigma[i])
                lin += dlin[i] * (2.0 * v[i] - b[i] - b_base[i])
            else:
                u[i] = v[i]
                lin += dlin[i] * v[i]
        _hidden_input_full(WT, c, u, x)
        lw = 0.0
        for k in range(1, K + 1):
            bk = betas[k]
            bp = betas[k - 1]
            acc = (bk - bp) * lin
            if hidden_units == 0:
                for j in range(H):
                    acc += softplus(bk * x[j]) - softplus(bp * x[j])
            else:
                sq = 0.0
                for j in range(H):
                    sq += x[j] * x[j]
                acc += 0.5 * (bk * bk - bp * bp) * sq
            lw += acc
            if k == K:
                break
            # Gibbs sweep at beta_k: hidden, keeping W^T h up to date
            for j in range(H):
                if hidden_units == 0:
                    hj = 1.0 if uniform(key, ctr) < sigmoid(bk * x[j]) else 0.0
                else:
                    hj = bk * x[j] + gaussian(key_g, ctr)
                ctr += 1
                if hj != h[j]:
                    d = hj - h[j]
                    h[j] = hj
                    for i in range(V):
                        wh[i] += d * W[j, i]
            # visible
            refresh = (k & 255) == 0
            if refresh:
                for i in range(V):
                    wh[i] = 0.0
                for j in range(H):
                    if h[j] != 0.0:
                        for i in range(V):
                            wh[i] += h[j] * W[j, i]
            lin = 0.0
            for i in range(V):
                mean_in = (1.0 - bk) * b_base[i] + bk * (b[i] + wh[i])
                if gaussian_units:
                    vi = mean_in + sigma[i] * gaussian(key_g, ctr)
                    v[i] = vi
                    u[i] = vi / (sigma[i] * sigma[i])
                    lin += dlin[i] * (2.0 * vi - b[i] - b_base[i])
                else:
                    vi = 1.0 if uniform(key, ctr) < sigmoid(mean_in) else 0.0
                    if vi != v[i] and not refresh:
                        d = vi - v[i]
                        for j in range(H):
                            x[j] += d * WT[i, j]
                    v[i] = vi
                    u[i] = vi
                    lin += dlin[i] * vi
                ctr += 1
            if gaussian_units or refresh:
                _hidden_input_full(WT, c, u, x)
        log_w[r] = lw
        for i in range(V):
            v_final[r, i] = v[i]


@njit(parallel=True, cache=True)
def gibbs_chains(W, WT, c, b, sigma, gaussian_units, v, n_steps, seed, hidden_units=0):
    """Run ``n_steps`` Gibbs sweeps of the RBM (beta = 1) on each row of ``v`` in place.

    Chain ``r`` draws from the random stream ``stream_key(seed, r)``. Used to
    produce approximate model samples that start reverse AIS. ``hidden_units``
    is the kernel id of the hidden units (0 Bernoulli, 1 Gaussian).
    """
    R, V = v.shape
    H = W.shape[0]
    for r in prange(R):
        key = stream_key(seed, r)
        key_g = stream_key(key, 1)
        ctr = 0
        u = np.empty(V)
        x = np.empty(H)
        wh = np.empty(V)
        for i in range(V):
            u[i] = v[r, i] / (sigma[i] * sigma[i]) if gaussian_units else v[r, i]
        for step in range(n_steps):
            _hidden_input_full(WT, c, u, x)
            for i in range(V):
                wh[i] = b[i]
            for j in range(H):
                if hidden_units == 0:
                    if uniform(key, ctr) < sigmoid(x[j]):
                        for i in range(V):
                            wh[i] += W[j, i]
                else:
                    hj = x[j] + gaussian(key_g, ctr)
                    for i in range(V):
                        wh[i] += hj * W[j, i]
                ctr += 1
            for i in range(V):
                if gaussian_units:
                    vi = wh[i] + sigma[i] * gaussian(key_g, ctr)
                    u[i] = vi / (sigma[i] * sigma[i])
                else:
                    vi = 1.0 if uniform(key, ctr) < sigmoid(wh[i]) else 0.0
                    u[i] = vi
                v[r, i] = vi
                ctr += 1
