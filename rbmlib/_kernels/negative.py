"""The negative phase of a CD update, chosen from a table of samplers.

Plain-array Numba kernels: no estimators, no scikit-learn. A sampler gets the
mini-batch ``v0 = Vcat[:m]`` and leaves the statistics the parameter step
(:func:`rbmlib._kernels.cd.parameter_step`) reads:

* ``Hcat[:m]`` -- ``ph0 = E[h | v0]``, the positive phase;
* ``Vcat[m:2m]`` -- ``v_k``, the negative particles' visible states;
* ``Hcat[m:2m]`` -- ``ph_k = E[h | v_k]`` (not negated).

It works for every unit type: the visible half of a Gibbs step is
:func:`rbmlib._kernels.units.visible_sample_rows` (Bernoulli, Gaussian or
softmax groups, by visible kernel id) and the hidden half
:func:`rbmlib._kernels.units.hidden_sample_rows` (by hidden kernel id).

The table (``settings[1]`` of the CD driver; the estimators look the id up in
``NEGATIVE_PHASES`` by name):

====  ===================  ==========================================================
 id   name                 negative particles
====  ===================  ==========================================================
 0    ``cd``               CD-k (Hinton 2002): ``k`` Gibbs steps from a hidden sample
                           of the data
 1    ``pcd``              persistent CD (Tieleman 2008): ``k`` Gibbs steps from the
                           persistent hidden states ``hchain[:m]``, stored back
 2    ``cd_mean_field``    CD-k whose last visible step keeps the probabilities
                           instead of a sample (Hinton's practical guide, sec. 3.2;
                           the estimators' ``sample_visible=False``)
 3    ``pcd_mean_field``   the same for persistent chains
 4    ``pt``               parallel tempering (Desjardins et al. 2010; Cho, Raiko
                           and Ilin 2010): persistent visible chains at ``T``
                           inverse temperatures, ``k`` Gibbs sweeps each, every
                           sweep followed by Metropolis swaps of neighbours
                           (:func:`_pt_chain`)
====  ===================  ==========================================================

The dispatch (:func:`negative_phase`) happens once per mini-batch, never per
element. Random numbers: update ``t`` of a fit owns ``2 k + 1`` counter-based
streams, ``stream_key(seed, t * (2 k + 1) + s)``: ``s = 0`` the hidden sample
of the data, ``2 step + 1`` and ``2 step + 2`` the visible and hidden halves
of Gibbs step ``step``; a pass draws number ``r * n + j`` of its stream for
element ``(r, j)``, so results do not depend on the thread count.

Parallel tempering keeps its state in a third group of ``chains``, ``(hchain,
sparse_q, tempering, centering)`` (:func:`rbmlib._kernels.cd.chain_groups`),
``tempering = (vchains, betas, labels, swap_counts, round_trips, bias_h,
bias_v)``:

* ``vchains`` -- ``(T * B, V)`` the visible states of the replicas, rows
  ``t * B : t * B + B`` at inverse temperature ``betas[t]`` (Gaussian units:
  divided by ``sigma^2``, as the CD kernels hold them);
* ``betas`` -- ``(T,)`` float64, decreasing, ``betas[0] == 1`` (the model);
* ``labels`` -- ``(T * B,)`` int64, the replica in each slot's round-trip
  state (0 none yet, 1 last end visited was beta = 1, 2 then reached the
  smallest beta); they move with the states;
* ``swap_counts`` -- ``(3, T - 1)`` float64: per neighbour pair ``(t, t + 1)``
  the swaps attempted, accepted, and the sum of the acceptance probabilities;
* ``round_trips`` -- ``(1,)`` int64, replicas that went from beta = 1 to the
  smallest beta and back;
* ``bias_h``, ``bias_v`` -- ``(H,)``, ``(V,)`` scratch (the scaled biases).

The tempered model at ``beta`` is the RBM of the same unit types with
parameters ``(beta W, beta c, beta b)`` (for binary units that is ``p_beta
propto exp(-beta E)``; Gaussian visible units keep ``sigma``), so every unit
kernel serves unchanged. Its random streams: update ``u`` owns ``2 k T + k``,
``stream_key(seed, u * (2 k T + k) + s)``: ``s = 1 + 2 (t k + step)`` and ``2 +
2 (t k + step)`` the hidden and visible halves of sweep ``step`` at temperature
``t``; ``s = 0`` the swaps after sweep 0 and ``s = 2 k T + step`` those after
sweep ``step > 0`` (the pair ``(t, t + 1)`` of chain row ``r`` draws number ``r
* T + t``). For ``k = 1`` that is ``2 T + 1`` streams, the swaps on ``s = 0``.

The 2-tuple ``chains = (hchain, sparse_q)`` of the other samplers compiles
without the tempering code (:func:`_tempered_chain` is an overload on the
tuple's length), so their kernels are those of the table without ``pt``.

Adding a sampler: write its kernel here (``_xx_chain(m, k, units, seed,
update_index, params, offsets, chains, scratch)``), leaving ``Hcat[:2m]`` and
``Vcat[m:2m]`` as above; any state of its own travels in ``chains``; give it
the next id, one branch in :func:`negative_phase` and one entry in
``NEGATIVE_PHASES``.

The parameter step, the unit kernels and both drivers (dense/CSR rows in
:mod:`rbmlib._kernels.cd`, category codes in :mod:`rbmlib._kernels.categorical`)
stay as they are; the estimator passes ``NEGATIVE_PHASES["pt"]`` in its settings.
"""

import math

import numpy as np
from numba.extending import overload

from ._jit import njit
from .sampling import stream_key, uniform
from .units import (
    hidden_log_marginal,
    hidden_mean_rows,
    hidden_sample_rows,
    tempered_visible_energy,
    visible_sample_rows,
)

CD = 0
PCD = 1
CD_MEAN_FIELD = 2
PCD_MEAN_FIELD = 3
PT = 4

#: Kernel ids of the negative phases, by name (see the module docstring).
NEGATIVE_PHASES = {
    "cd": CD,
    "pcd": PCD,
    "cd_mean_field": CD_MEAN_FIELD,
    "pcd_mean_field": PCD_MEAN_FIELD,
    "pt": PT,
}


def negative_phase_id(persistent, mean_field, tempered=False):
    """The table id of the estimators' choice: persistent chains or not, and
    the last visible step's probabilities (``sample_visible=False``) or a sample;
    or parallel tempering (``tempered``; its chains are persistent samples).

    Parameters
    ----------
    persistent : bool
    mean_field : bool
    tempered : bool, default=False

    Returns
    -------
    int
        ``NEGATIVE_PHASES["cd"]``, ``["pcd"]``, ``["cd_mean_field"]``,
        ``["pcd_mean_field"]`` or ``["pt"]``.
    """
    if tempered:
        return PT
    name = ("pcd" if persistent else "cd") + ("_mean_field" if mean_field else "")
    return NEGATIVE_PHASES[name]


def tempering_group(betas, B, H, V, dtype, vchains=None, labels=None):
    """The ``tempering`` group of parallel tempering (module docstring) for ``B``
    chains per temperature: new replicas at zero (a persistent state when
    ``vchains``, ``labels`` are given), zero counts.

    Parameters
    ----------
    betas : array-like of shape (T,)
        Inverse temperatures, ``betas[0] == 1``, decreasing.
    B, H, V : int
    dtype : numpy dtype of the model
    vchains : ndarray of shape (T * B, V), optional
    labels : ndarray of shape (T * B,), int64, optional

    Returns
    -------
    tuple
        ``(vchains, betas, labels, swap_counts, round_trips, bias_h, bias_v)``.
    """
    betas = np.ascontiguousarray(betas, dtype=np.float64)
    T = betas.shape[0]
    if vchains is None:
        vchains = np.zeros((T * B, V), dtype)
    if labels is None:
        labels = np.zeros(T * B, np.int64)
    return (vchains, betas, labels, np.zeros((3, max(T - 1, 0))), np.zeros(1, np.int64),
            np.zeros(H, dtype), np.zeros(V, dtype))


@njit(inline="always", cache=True)
def negative_phase(phase, m, k, units, seed, update_index, params, offsets, chains, scratch):
    """Run the sampler of table id ``phase`` on the mini-batch ``Vcat[:m]``.

    Parameters
    ----------
    phase : int
        ``CD``, ``PCD``, ``CD_MEAN_FIELD``, ``PCD_MEAN_FIELD`` or ``PT`` (the last
        needs the 4-group ``chains``; with 2 groups it does nothing).
    m, k : int
        Rows of the mini-batch; Gibbs steps.
    units : tuple (visible_units, hidden_units)
        Kernel ids of :mod:`rbmlib._kernels.units`.
    seed, update_index : int
        Random streams of this update (see the module docstring).
    params, offsets, chains, scratch
        The CD driver's groups (:func:`rbmlib._kernels.cd.cd_update`):
        ``(W, c, b, sigma, ...)``, the categorical groups' boundaries,
        ``(hchain, ...)``, ``(Vcat, Hcat, hs, pre_v, vm, codes)``.
    """
    if phase == PT:
        _tempered_chain(m, k, units, seed, update_index, params, offsets, chains, scratch)
    elif phase == PCD or phase == PCD_MEAN_FIELD:
        _pcd_chain(m, k, phase == PCD_MEAN_FIELD, units, seed, update_index, params, offsets,
                   chains, scratch)
    else:
        _cd_chain(m, k, phase == CD_MEAN_FIELD, units, seed, update_index, params, offsets,
                  scratch)


@njit(inline="always", cache=True)
def _hidden_probs(v, W, c, out, hidden_units):
    """out = E[h | v] (sigmoid(v W^T + c) for Bernoulli units); v is (m, V), out (m, H)."""
    np.dot(v, W.T, out)
    hidden_mean_rows(out, c, out, hidden_units)


@njit(inline="always", cache=True)
def _hidden_probs_sample(v, W, c, out, hs, key, hidden_units):
    """out = E[h | v] and hs a sample of p(h | v), in one pass."""
    np.dot(v, W.T, out)
    hidden_sample_rows(out, c, hs, key, True, hidden_units)


@njit(inline="always", cache=True)
def _gibbs_steps(m, k, mean_field, units, seed, base, params, offsets, scratch):
    """The Gibbs steps of a chain that starts from the hidden states ``hs[:m]``.

    Step ``s`` draws the visible states ``Vcat[m:2m]`` (their means instead in the
    last step with ``mean_field``) from stream ``base + 2 s + 1`` and, except in
    the last step, whose hidden half belongs to the sampler, the hidden means
    ``Hcat[m:2m]`` and states ``hs[:m]`` from stream ``base + 2 s + 2``.
    """
    visible_units, hidden_units = units
    W, c, b, sigma = params[0], params[1], params[2], params[3]
    Vcat, Hcat, hs, pre_v, codes = scratch[0], scratch[1], scratch[2], scratch[3], scratch[5]
    vk, phk, h, pv = Vcat[m:2 * m], Hcat[m:2 * m], hs[:m], pre_v[:m]
    for step in range(k):
        np.dot(h, W, pv)
        visible_sample_rows(pv, b, (sigma, offsets, codes), vk,
                            stream_key(seed, base + np.uint64(2 * step + 1)),
                            mean_field and step == k - 1, visible_units)
        if step < k - 1:
            _hidden_probs_sample(vk, W, c, phk, h,
                                 stream_key(seed, base + np.uint64(2 * step + 2)), hidden_units)


@njit(inline="always", cache=True)
def _cd_chain(m, k, mean_field, units, seed, update_index, params, offsets, scratch):
    """CD-k: the positive phase, then ``k`` Gibbs steps from its hidden sample."""
    W, c = params[0], params[1]
    Vcat, Hcat, hs = scratch[0], scratch[1], scratch[2]
    base = np.uint64(update_index) * np.uint64(2 * k + 1)
    _hidden_probs_sample(Vcat[:m], W, c, Hcat[:m], hs[:m], stream_key(seed, base), units[1])
    _gibbs_steps(m, k, mean_field, units, seed, base, params, offsets, scratch)
    if k > 0:
        _hidden_probs(Vcat[m:2 * m], W, c, Hcat[m:2 * m], units[1])


@njit(inline="always", cache=True)
def _pcd_chain(m, k, mean_field, units, seed, update_index, params, offsets, chains, scratch):
    """Persistent CD: ``k`` Gibbs steps from ``hchain[:m]``, whose end state is stored back.

    Three matrix products per update for k = 1: the chain's ``h W``, then ONE
    product ``[v0; v_k] W^T`` for the positive phase and the chain's last
    hidden step (both use the same ``W`` and are independent; ``Vcat[:2m]``
    already holds them stacked, and a product with twice the rows runs much
    faster per row when ``m`` is small), then the gradient. Random streams are
    those of the unstacked order (each pass draws from its own key), so the
    order changes no random number.
    """
    W, c = params[0], params[1]
    hchain = chains[0]
    Vcat, Hcat, hs = scratch[0], scratch[1], scratch[2]
    base = np.uint64(update_index) * np.uint64(2 * k + 1)
    h = hs[:m]
    h[:, :] = hchain[:m]
    _gibbs_steps(m, k, mean_field, units, seed, base, params, offsets, scratch)
    if k > 0:
        # [v0; v_k] W^T in one product: ph0 (means) and ph_k with its sample
        np.dot(Vcat[:2 * m], W.T, Hcat[:2 * m])
        hidden_mean_rows(Hcat[:m], c, Hcat[:m], units[1])
        hidden_sample_rows(Hcat[m:2 * m], c, h, stream_key(seed, base + np.uint64(2 * k)), True,
                           units[1])
    else:
        _hidden_probs(Vcat[:m], W, c, Hcat[:m], units[1])
    hchain[:m] = h


# ------------------------------------------------------------ parallel tempering
def _tempered_chain(m, k, units, seed, update_index, params, offsets, chains, scratch):
    """:func:`_pt_chain` on ``chains[2]``; nothing when ``chains`` has no tempering
    group (an overload: the 2-group kernels never compile the tempering code)."""
    raise NotImplementedError("callable from Numba code only")


@overload(_tempered_chain, inline="always")
def _ov_tempered_chain(m, k, units, seed, update_index, params, offsets, chains, scratch):
    if len(chains.types) < 3:
        def impl(m, k, units, seed, update_index, params, offsets, chains, scratch):
            return None
    else:
        def impl(m, k, units, seed, update_index, params, offsets, chains, scratch):
            _pt_chain(m, k, units, seed, update_index, params, offsets, chains[2], scratch)
    return impl


@njit(inline="always", cache=True)
def _scale_rows(x, beta):
    """x *= beta (nothing at beta = 1)."""
    if beta != 1.0:
        m, n = x.shape
        for r in range(m):
            for j in range(n):
                x[r, j] *= beta


@njit(cache=True)
def _pt_chain(m, k, units, seed, update_index, params, offsets, tempering, scratch):
    """Parallel tempering: ``k`` Gibbs sweeps of every replica, each followed by a swap
    pass, and the statistics of the replicas at beta = 1.

    Each sweep runs the replica rows ``vchains[t * B : t * B + m]`` through one
    Gibbs step (hidden half, then visible half) of the RBM with parameters
    ``(beta_t W, beta_t c, beta_t b)``, then :func:`pt_swaps` (pairs ``(t, t +
    1)`` with ``t`` of the parity of the sweep's number in the fit, ``update_index
    k + step``: even and odd pairs alternate every sweep); then ``Vcat[m:2m]``
    gets the beta = 1 replicas and ``Hcat[:2m]`` the hidden means of ``[v0; v_k]``.
    Groups as in the module docstring; ``Hcat[m:2m]``, ``hs[:m]`` and
    ``pre_v[:m]`` are scratch until the end.
    """
    visible_units, hidden_units = units
    W, c, b, sigma = params[0], params[1], params[2], params[3]
    vchains, betas, bias_h, bias_v = tempering[0], tempering[1], tempering[5], tempering[6]
    Vcat, Hcat, hs, pre_v, codes = scratch[0], scratch[1], scratch[2], scratch[3], scratch[5]
    T = betas.shape[0]
    B = vchains.shape[0] // T
    H = c.shape[0]
    V = b.shape[0]
    base = np.uint64(update_index) * np.uint64(2 * k * T + k)
    h, pv, x = hs[:m], pre_v[:m], Hcat[m:2 * m]
    for step in range(k):
        for t in range(T):
            beta = betas[t]
            for j in range(H):
                bias_h[j] = beta * c[j]
            for i in range(V):
                bias_v[i] = beta * b[i]
            v = vchains[t * B:t * B + m]
            s = 2 * (t * k + step)
            np.dot(v, W.T, x)
            _scale_rows(x, beta)
            hidden_sample_rows(x, bias_h, h, stream_key(seed, base + np.uint64(s + 1)), False,
                               hidden_units)
            np.dot(h, W, pv)
            _scale_rows(pv, beta)
            visible_sample_rows(pv, bias_v, (sigma, offsets, codes), v,
                                stream_key(seed, base + np.uint64(s + 2)), False,
                                visible_units)
        # the swaps after each sweep: stream 0, then 2 k T + step; pairs of the parity
        # of the sweep's number in the fit (even and odd pairs alternate every sweep)
        swap_stream = 0 if step == 0 else 2 * k * T + step
        pt_swaps(m, (update_index * k + step) % 2, units,
                 stream_key(seed, base + np.uint64(swap_stream)), params, tempering,
                 Hcat[:m], Hcat[m:2 * m])
    Vcat[m:2 * m] = vchains[:m]
    np.dot(Vcat[:2 * m], W.T, Hcat[:2 * m])
    hidden_mean_rows(Hcat[:2 * m], c, Hcat[:2 * m], hidden_units)


@njit(inline="always", cache=True)
def tempered_free_energy(v, x, b, sigma, beta, units):
    """Free energy of the visible state ``v`` in the RBM with parameters
    ``(beta W, beta c, beta b)``, up to a constant of ``beta`` alone.

    ``x`` is ``v W^T + c`` (the untempered hidden input, (H,)); ``v`` as the
    kernels hold it (Gaussian units: divided by ``sigma^2``). The visible term
    is :func:`rbmlib._kernels.units.tempered_visible_energy`, the hidden one
    ``-sum_j lm(beta x_j)`` (:func:`rbmlib._kernels.units.hidden_log_marginal`;
    NaN for hidden units without a closed form).
    """
    f = tempered_visible_energy(v, b, sigma, beta, units[0])
    for j in range(x.shape[0]):
        f -= hidden_log_marginal(beta * x[j], units[1])
    return f


@njit(cache=True)
def pt_swaps(m, parity, units, key, params, tempering, xa, xb):
    """One pass of replica swaps between neighbouring temperatures (Metropolis).

    For each pair ``(t, t + 1)`` with ``t = parity, parity + 2, ...`` and each
    chain row ``r < m``, the states ``v_a`` (at ``beta_t``) and ``v_b`` (at
    ``beta_{t+1}``) swap with probability ``min(1, exp(F_t(v_a) + F_{t+1}(v_b)
    - F_t(v_b) - F_{t+1}(v_a)))`` (``F_beta`` the free energy of
    :func:`tempered_free_energy`; the partition functions cancel), decided by
    ``uniform(key, r * T + t)``. Counts the attempts, the accepted swaps and
    the acceptance probabilities in ``swap_counts``; then updates the
    round-trip labels (``round_trips``). ``xa``, ``xb`` (at least (m, H)) are
    scratch.
    """
    W, c, b, sigma = params[0], params[1], params[2], params[3]
    vchains, betas, labels, swap_counts, round_trips = (tempering[0], tempering[1],
                                                         tempering[2], tempering[3],
                                                         tempering[4])
    T = betas.shape[0]
    B = vchains.shape[0] // T
    V = vchains.shape[1]
    xa, xb = xa[:m], xb[:m]
    for t in range(parity, T - 1, 2):
        va = vchains[t * B:t * B + m]
        vb = vchains[(t + 1) * B:(t + 1) * B + m]
        np.dot(va, W.T, xa)
        np.dot(vb, W.T, xb)
        ba = betas[t]
        bb = betas[t + 1]
        for r in range(m):
            for j in range(c.shape[0]):
                xa[r, j] += c[j]
                xb[r, j] += c[j]
            log_ratio = (tempered_free_energy(va[r], xa[r], b, sigma, ba, units)
                         + tempered_free_energy(vb[r], xb[r], b, sigma, bb, units)
                         - tempered_free_energy(vb[r], xb[r], b, sigma, ba, units)
                         - tempered_free_energy(va[r], xa[r], b, sigma, bb, units))
            p = 1.0 if log_ratio >= 0.0 else math.exp(log_ratio)
            swap_counts[0, t] += 1.0
            swap_counts[2, t] += p
            if uniform(key, r * T + t) < p:
                swap_counts[1, t] += 1.0
                for i in range(V):
                    tmp = va[r, i]
                    va[r, i] = vb[r, i]
                    vb[r, i] = tmp
                la = labels[t * B + r]
                labels[t * B + r] = labels[(t + 1) * B + r]
                labels[(t + 1) * B + r] = la
    top = (T - 1) * B
    for r in range(m):
        if labels[r] == 2:
            round_trips[0] += 1
        labels[r] = 1
        if labels[top + r] == 1:
            labels[top + r] = 2
