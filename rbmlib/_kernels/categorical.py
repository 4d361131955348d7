"""Kernels of the RBM with categorical (softmax) visible units.

Plain-array Numba kernels: no estimators, no scikit-learn. The visible layer
is ``G`` groups (one per input column); group ``g`` owns the one-hot units
``offsets[g]:offsets[g + 1]`` (``K_g`` categories), ``V = offsets[G]``.
Data rows are integer codes ``codes[r, g]`` in ``[0, K_g)``, or ``-1`` for a
missing entry. A missing group is absent from the row's RBM (Salakhutdinov,
Mnih and Hinton, ICML 2007): its one-hot units are 0 in the positive phase
and it is not reconstructed (kept at 0) in the negative phase, so it
contributes nothing to any gradient.

Energy with Bernoulli hidden units ``h``: ``E(v, h) = -b.v - c.h - h W v``
where ``v`` is the concatenated one-hot vector; ``p(v_g = k | h) =
softmax_k(b_gk + W_gk . h)``; free energy ``F(v) = -b.v - sum_j softplus(c_j
+ W_j v)``. The hidden units may also be Gaussian (``p(h_j | v) = N(c_j + W_j
v, 1)``, free-energy term ``-(c_j + W_j v)^2 / 2 - log(2 pi) / 2``) or NReLU
(Nair and Hinton 2010; no closed-form free energy).

Training: the categorical units supply their sampler (the softmax groups,
:func:`rbmlib._kernels.units.softmax_groups`, visible kernel id 2) and their
encoding of codes as one-hot rows (:func:`onehot_rows`); :func:`cd_epoch`
then calls the CD update every RBM shares (:func:`rbmlib._kernels.cd.cd_update`:
the negative phase from the table of :mod:`rbmlib._kernels.negative`, the
one parameter step), with its grouped arguments (``settings``, ``params``,
``offsets``, ...).

All random numbers come from the counter-based generator of ``sampling``:
the category of ``(row r, group g)`` is drawn with ``uniform(key, r * G +
g)``, the hidden unit ``(r, j)`` with ``uniform(key, r * H + j)``, so results
do not depend on the number of threads.
"""

import math

import numpy as np

from ._jit import njit, prange
from .cd import cd_update
from .partition import chunk_start, gray_flip
from .sampling import stream_key, uniform
from .units import (  # noqa: F401  (softmax_groups: the units' sampler, re-exported)
    BERNOULLI_HIDDEN,
    hidden_log_marginal,
    hidden_log_marginal_row,
    hidden_tempered_sample_row,
    softmax_groups,
)

#: Hidden states per parallel chunk of the exact log Z (Gray-code updates inside).
CHUNK_BITS = 12


# ----------------------------------------------------------------- training
@njit(cache=True)
def onehot_rows(codes, order, offsets, Cb, Vb):
    """``Cb[r] = codes[order[r]]`` and ``Vb[r]`` its one-hot vector (zeros where missing)."""
    G = codes.shape[1]
    V = Vb.shape[1]
    for r in range(order.shape[0]):
        src = order[r]
        for i in range(V):
            Vb[r, i] = 0.0
        for g in range(G):
            a = codes[src, g]
            Cb[r, g] = a
            if a >= 0:
                Vb[r, offsets[g] + a] = 1.0


@njit(cache=True)
def cd_epoch(codes, order, size, settings, seed, update_index, params, offsets, velocities,
             chains, scratch, hyper, optim=None):
    """CD updates over ``codes[order]`` in consecutive mini-batches of ``size`` rows.

    The categorical units' encoding: each mini-batch's codes go into the
    ``codes`` buffer of ``scratch`` (its last entry) and their one-hot rows into
    ``Vcat[:size]`` (:func:`onehot_rows`), then
    :func:`rbmlib._kernels.cd.cd_update` runs the update, with the groups of
    :mod:`rbmlib._kernels.cd` (``settings[2]`` the categorical visible id 2,
    ``offsets`` the groups' boundaries). The negative chain
    samples only the groups observed in the row it is paired with (row ``r``
    of the mini-batch), so missing groups have zero positive and negative
    statistics. ``order.shape[0]`` must be a multiple of ``size``; update ``t``
    uses the random stream ``(seed, update_index + t)``. Returns the number of
    updates. Allocates nothing.
    """
    n_batches = order.shape[0] // size
    Vcat, Cb = scratch[0], scratch[5]
    for t in range(n_batches):
        onehot_rows(codes, order[t * size:(t + 1) * size], offsets, Cb, Vcat)
        cd_update(size, settings, seed, update_index + t, params, offsets, velocities,
                  chains, scratch, hyper, optim)
    return n_batches


# ------------------------------------------------------------------ scoring
# The hidden units' free-energy term without its constant, ``lm(x)``:
# rbmlib._kernels.units.hidden_log_marginal (its row form ..._row), keyed by the
# hidden kernel id (``softplus(x)``, ``x^2 / 2``; the constant cancels in every
# difference of free energies).


@njit(parallel=True, cache=True)
def pseudo_loglik(codes, offsets, pre, WT, b, out, unit=BERNOULLI_HIDDEN):
    """Exact pseudo-log-likelihood of each row, summed over its observed groups.

    ``out[r] = sum_{g observed} log p(v_g = a_g | v_-g)`` with
    ``log p(v_g = a | v_-g) = -F(v) - logsumexp_k(-F(v with group g set to k))``
    (Besag 1975); missing groups are absent from the row's RBM.

    Parameters
    ----------
    codes : ndarray of shape (n, G), int32
        Codes, -1 for missing.
    offsets : ndarray of shape (G + 1,), int64
    pre : ndarray of shape (n, H)
        Hidden pre-activations ``v W^T + c`` of the rows (missing groups 0).
    WT : ndarray of shape (V, H)
        Transposed weights, C-contiguous.
    b : ndarray of shape (V,)
    out : ndarray of shape (n,)
        Nats.
    unit : int, default=BERNOULLI_HIDDEN
        Hidden units' kernel id, Bernoulli or Gaussian (their free-energy term).
    """
    n, G = codes.shape
    H = WT.shape[1]
    k_max = 1
    for g in range(G):
        k_max = max(k_max, offsets[g + 1] - offsets[g])
    for r in prange(n):
        vals = np.empty(k_max)  # one buffer per row
        sp0 = hidden_log_marginal_row(pre[r], unit, 0.0)
        acc = 0.0
        for g in range(G):
            a = codes[r, g]
            if a < 0:
                continue
            o = offsets[g]
            K = offsets[g + 1] - o
            # s_k = b_gk + sum_j lm(pre_j - W_ja + W_jk); s_a uses sp0
            mx = -np.inf
            s_a = b[o + a] + sp0
            for kk in range(K):
                if kk == a:
                    s = s_a
                else:
                    s = b[o + kk]
                    for j in range(H):
                        s += hidden_log_marginal(pre[r, j] - WT[o + a, j] + WT[o + kk, j], unit)
                vals[kk] = s
                if s > mx:
                    mx = s
            t = 0.0
            for kk in range(K):
                t += math.exp(vals[kk] - mx)
            acc += s_a - (mx + math.log(t))
        out[r] = acc


# ---------------------------------------------------------- log partition
@njit(inline="always", cache=True)
def _lse_add(val, mx, s):
    """Add ``val`` to a streaming log-sum-exp kept as ``mx + log(s)`` (running
    max ``mx``, scaled sum ``s``; start from ``-inf, 0``); returns the new pair."""
    if val > mx:
        return val, s * math.exp(mx - val) + 1.0
    return mx, s + math.exp(val - mx)


@njit(cache=True)
def _lse_chunks(cmax, csum):
    """The log-sum-exp of the chunks' streaming sums ``cmax[ch] + log(csum[ch])``."""
    m = cmax.max()
    tot = 0.0
    for ch in range(cmax.shape[0]):
        tot += csum[ch] * math.exp(cmax[ch] - m)
    return m + math.log(tot)



@njit(inline="always", cache=True)
def _max_and_sum_exp(x, o0, o1):
    """``(m, s)`` with ``m = max x[o0:o1]`` and ``s = sum exp(x[o0:o1] - m)``: one
    group's log-sum-exp ``m + log(s)`` and its softmax's normaliser."""
    mx = -np.inf
    for i in range(o0, o1):
        if x[i] > mx:
            mx = x[i]
    s = 0.0
    for i in range(o0, o1):
        s += math.exp(x[i] - mx)
    return mx, s


@njit(cache=True)
def _group_lse_sum(x, offsets):
    """sum_g logsumexp_k x[offsets[g] + k]."""
    tot = 0.0
    for g in range(offsets.shape[0] - 1):
        mx, s = _max_and_sum_exp(x, offsets[g], offsets[g + 1])
        tot += mx + math.log(s)
    return tot


@njit(parallel=True, cache=True)
def log_z_hidden_enumerate(W, c, b, offsets):
    """Exact ``log Z = logsumexp_h [c.h + sum_g logsumexp_k (b_gk + W_gk . h)]``.

    Enumerates the ``2^H`` hidden states in parallel chunks of
    ``2^CHUNK_BITS`` states, each in Gray-code order (one row of ``W`` added
    or subtracted per state; recomputed at the start of every chunk), with a
    streaming log-sum-exp per chunk. Cost ``O(2^H V)``.
    """
    H = W.shape[0]
    bits = min(H, CHUNK_BITS)
    n_chunks = 1 << (H - bits)
    per = 1 << bits
    cmax = np.empty(n_chunks)
    csum = np.empty(n_chunks)
    for ch in prange(n_chunks):
        x = b.copy()
        h = np.zeros(H, np.int8)
        ch_dot = chunk_start(ch, bits, h, c, W, x)
        mx = -np.inf
        s = 0.0
        for t in range(per):
            if t > 0:
                ch_dot = gray_flip(t, h, c, W, x, ch_dot)
            mx, s = _lse_add(ch_dot + _group_lse_sum(x, offsets), mx, s)
        cmax[ch] = mx
        csum[ch] = s
    return _lse_chunks(cmax, csum)


@njit(parallel=True, cache=True)
def log_z_visible_enumerate(WT, c, b, offsets, unit=BERNOULLI_HIDDEN):
    """``log Z = logsumexp_v [b.v + sum_j lm(c_j + W_j v)]`` over the visible configurations.

    The ``N = prod_g K_g`` configurations (one category per group) are
    enumerated in mixed-radix order, group 0 the fastest digit, in parallel
    chunks of ``2^CHUNK_BITS`` configurations: a step changes the category of
    one group (more on a carry) and updates ``x = c + W v`` with two rows of
    ``W^T``, O(H) per configuration; ``x`` is recomputed at the start of every
    chunk, which bounds the rounding. ``lm`` is the hidden units' free-energy
    term without its constant (``softplus`` for Bernoulli units, ``x^2 / 2``
    for Gaussian ones, ``unit`` their kernel id); the caller adds ``H log(2 pi)
    / 2`` for Gaussian units. Cost ``O(N H)``.

    Parameters
    ----------
    WT : ndarray of shape (V, H)
        Transposed weights, C-contiguous.
    c : ndarray of shape (H,)
    b : ndarray of shape (V,)
    offsets : ndarray of shape (G + 1,), int64
    unit : int, default=BERNOULLI_HIDDEN

    Returns
    -------
    float
    """
    H = WT.shape[1]
    G = offsets.shape[0] - 1
    n = 1
    for g in range(G):
        n *= offsets[g + 1] - offsets[g]
    per = 1 << CHUNK_BITS
    n_chunks = (n + per - 1) // per
    cmax = np.empty(n_chunks)
    csum = np.empty(n_chunks)
    for ch in prange(n_chunks):
        start = ch * per
        stop = min(n, start + per)
        d = np.empty(G, np.int64)
        x = c.copy()
        lin = 0.0
        rest = start
        for g in range(G):
            K = offsets[g + 1] - offsets[g]
            d[g] = rest % K
            rest //= K
            i = offsets[g] + d[g]
            lin += b[i]
            for j in range(H):
                x[j] += WT[i, j]
        mx = -np.inf
        s = 0.0
        for t in range(start, stop):
            if t > start:  # next configuration: increment the mixed-radix odometer
                for g in range(G):
                    o = offsets[g]
                    old = o + d[g]
                    if d[g] + 1 < offsets[g + 1] - o:
                        d[g] += 1
                        carry = False
                    else:
                        d[g] = 0
                        carry = True
                    new = o + d[g]
                    lin += b[new] - b[old]
                    for j in range(H):
                        x[j] += WT[new, j] - WT[old, j]
                    if not carry:
                        break
            val = hidden_log_marginal_row(x, unit, lin)
            mx, s = _lse_add(val, mx, s)
        cmax[ch] = mx
        csum[ch] = s
    return _lse_chunks(cmax, csum)


@njit(parallel=True, cache=True)
def ais_log_weights(W, c, b, b_base, offsets, betas, seed, log_w, codes_init, sample_init,
                    codes_final, unit=BERNOULLI_HIDDEN):
    """AIS log importance weights along ``betas``, one run per entry of ``log_w``.

    Intermediate distributions ``p*_beta(v) = exp((1 - beta) b_A.v + beta b.v)
    prod_j exp(lm(beta (c_j + W_j v)))`` from the base model (independent
    softmaxes with biases ``b_A``, ``beta = 0``) to the RBM (``beta = 1``),
    with ``lm`` the hidden units' free-energy term (``softplus`` for Bernoulli
    units, ``x^2 / 2 + log(2 pi) / 2`` for Gaussian ones, ``unit`` their kernel
    id): the interaction ``h W v + c.h`` is scaled by ``beta``, so the hidden
    units at ``beta`` are ``Bernoulli(sigmoid(beta x))`` or ``N(beta x, 1)``.
    One Gibbs sweep at each intermediate temperature (Neal 2001; Salakhutdinov
    and Murray 2008). Run ``r`` draws only from ``stream_key(seed, r)`` (its
    normal deviates from ``stream_key(stream_key(seed, r), 1)``).

    Run ``r`` starts from a sample of the base model (``sample_init``, drawn with
    counters ``0..G-1``; AIS from the base model has ``betas[0] == 0``) or from the codes
    ``codes_init[r]`` (shape (R, G), category indices; not read otherwise), and
    its last state goes to ``codes_final[r]``. As in
    :func:`rbmlib._kernels.partition.ais_log_weights`, ``E[exp(log_w)] =
    Z_{betas[-1]} / Z_{betas[0]}`` whatever the order of ``betas``: decreasing
    (1 -> 0) from samples of the RBM is reverse AIS, and a constant ``betas = 1``
    of length ``n + 2`` makes ``n`` Gibbs sweeps of the RBM (zero weights).
    """
    H, V = W.shape
    G = offsets.shape[0] - 1
    T = betas.shape[0]
    R = log_w.shape[0]
    for r in prange(R):
        key = stream_key(seed, r)
        gkey = stream_key(key, 1)
        ctr = 0
        gctr = 0
        v = np.empty(G, np.int64)
        x = np.empty(H)
        hb = np.empty(H)
        logits = np.empty(V)
        # a sample of the base model, or the given start
        for g in range(G):
            if not sample_init:
                v[g] = codes_init[r, g]
                continue
            o = offsets[g]
            mx, s = _max_and_sum_exp(b_base, o, offsets[g + 1])
            u = uniform(key, ctr) * s
            ctr += 1
            pick = offsets[g + 1] - 1 - o
            acc = 0.0
            for i in range(o, offsets[g + 1]):
                acc += math.exp(b_base[i] - mx)
                if u < acc:
                    pick = i - o
                    break
            v[g] = pick
        lw = 0.0
        for t in range(1, T):
            bp = betas[t - 1]
            bt = betas[t]
            lin = 0.0
            for g in range(G):
                i = offsets[g] + v[g]
                lin += b[i] - b_base[i]
            for j in range(H):
                s = c[j]
                for g in range(G):
                    s += W[j, offsets[g] + v[g]]
                x[j] = s
                lw += hidden_log_marginal(bt * s, unit) - hidden_log_marginal(bp * s, unit)
            lw += (bt - bp) * lin
            if t == T - 1:
                break
            # one Gibbs sweep at inverse temperature bt
            ctr, gctr = hidden_tempered_sample_row(x, bt, hb, key, ctr, gkey, gctr, unit)
            for i in range(V):
                logits[i] = (1.0 - bt) * b_base[i] + bt * b[i]
            for j in range(H):
                if hb[j] != 0.0:
                    for i in range(V):
                        logits[i] += bt * hb[j] * W[j, i]
            for g in range(G):
                o = offsets[g]
                mx = -np.inf
                for i in range(o, offsets[g + 1]):
                    if logits[i] > mx:
                        mx = logits[i]
                s = 0.0
                for i in range(o, offsets[g + 1]):
                    logits[i] = math.exp(logits[i] - mx)
                    s += logits[i]
                u = uniform(key, ctr) * s
                ctr += 1
                pick = offsets[g + 1] - 1 - o
                acc = 0.0
                for i in range(o, offsets[g + 1]):
                    acc += logits[i]
                    if u < acc:
                        pick = i - o
                        break
                v[g] = pick
        log_w[r] = lw
        for g in range(G):
            codes_final[r, g] = v[g]
