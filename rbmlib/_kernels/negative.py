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
====  ===================  ==========================================================

The dispatch (:func:`negative_phase`) happens once per mini-batch, never per
element. Random numbers: update ``t`` of a fit owns ``2 k + 1`` counter-based
streams, ``stream_key(seed, t * (2 k + 1) + s)``: ``s = 0`` the hidden sample
of the data, ``2 step + 1`` and ``2 step + 2`` the visible and hidden halves
of Gibbs step ``step``; a pass draws number ``r * n + j`` of its stream for
element ``(r, j)``, so results do not depend on the thread count.

Adding a sampler (parallel tempering, say):

1. write its kernel here, ``_pt_chain(m, k, units, seed, update_index, params,
   offsets, chains, scratch)``, leaving ``Hcat[:2m]`` and ``Vcat[m:2m]`` as
   above (any state of its own -- replica chains, inverse temperatures --
   travels in ``chains`` after ``(hchain, sparse_q)``; it may use more random
   streams per update than ``2 k + 1`` if it says how many);
2. give it the next id (``PT = 4``), one branch in :func:`negative_phase` and one
   entry in ``NEGATIVE_PHASES`` (``"pt": PT``).

The parameter step, the unit kernels and both drivers (dense/CSR rows in
:mod:`rbmlib._kernels.cd`, category codes in :mod:`rbmlib._kernels.categorical`)
stay as they are; the estimator passes ``NEGATIVE_PHASES["pt"]`` in its settings.
"""

import numpy as np

from ._jit import njit
from .sampling import stream_key
from .units import hidden_mean_rows, hidden_sample_rows, visible_sample_rows

CD = 0
PCD = 1
CD_MEAN_FIELD = 2
PCD_MEAN_FIELD = 3

#: Kernel ids of the negative phases, by name (see the module docstring).
NEGATIVE_PHASES = {
    "cd": CD,
    "pcd": PCD,
    "cd_mean_field": CD_MEAN_FIELD,
    "pcd_mean_field": PCD_MEAN_FIELD,
}


def negative_phase_id(persistent, mean_field):
    """The table id of the estimators' choice: persistent chains or not, and
    the last visible step's probabilities (``sample_visible=False``) or a sample.

    Parameters
    ----------
    persistent : bool
    mean_field : bool

    Returns
    -------
    int
        ``NEGATIVE_PHASES["cd"]``, ``["pcd"]``, ``["cd_mean_field"]`` or
        ``["pcd_mean_field"]``.
    """
    name = ("pcd" if persistent else "cd") + ("_mean_field" if mean_field else "")
    return NEGATIVE_PHASES[name]


@njit(inline="always", cache=True)
def negative_phase(phase, m, k, units, seed, update_index, params, offsets, chains, scratch):
    """Run the sampler of table id ``phase`` on the mini-batch ``Vcat[:m]``.

    Parameters
    ----------
    phase : int
        ``CD``, ``PCD``, ``CD_MEAN_FIELD`` or ``PCD_MEAN_FIELD``.
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
    if phase == PCD or phase == PCD_MEAN_FIELD:
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
