"""Contrastive divergence (CD-k) and persistent CD mini-batch updates.

Plain-array Numba kernels: no estimators, no scikit-learn. Shapes use
``V`` visible units, ``H`` hidden units, ``B`` the buffer batch size and
``m <= B`` the rows of the current mini-batch.

One update on a mini-batch ``v0`` (Hinton 2002; Tieleman 2008 for PCD;
statistics as in Hinton's practical guide, UTML TR 2010-003):

* ``ph0 = sigmoid(v0 W^T + c)`` -- hidden probabilities for the positive phase;
* the negative chain starts from hidden states sampled from ``ph0`` (CD) or
  from the persistent hidden states (PCD), and runs ``k`` Gibbs steps with
  sampled binary states ``v_k``, then ``ph_k = sigmoid(v_k W^T + c)``;
* ``grad W = (ph0^T v0 - ph_k^T v_k) / m`` computed as ONE matrix product of
  the stacked ``[ph0; -ph_k]^T [v0; v_k]`` (a single GEMM with 2m rows).

Visible units may be Bernoulli (visible kernel id 0) or Gaussian (id 1),
the latter with the energy of Cho, Ilin and Raiko (2011):
``E = sum (v-b)^2 / (2 sigma^2) - c h - (v / sigma^2) W^T h``, so that
``p(h=1|v) = sigmoid(c + (v/sigma^2) W^T)`` and ``p(v|h) = N(b + h W, sigma^2)``.
For Gaussian units the kernels hold ``u = v / sigma^2`` in the visible
buffers: then every formula (hidden input, gradient of W, gradient of b)
is the Bernoulli one with ``u`` in place of ``v``.
Hidden units may be Bernoulli, Gaussian (unit variance) or NReLU: every
kernel takes the hidden units' kernel id (``hidden_units``, see
:mod:`rbmlib._kernels.units`, where the fused mean-and-sample passes live).
``ph`` above is then the units' conditional mean (``c + v W^T`` for Gaussian
units, ``max(0, c + v W^T)`` for NReLU) and the chains run on their samples;
one CD driver serves every unit type.
All random numbers come from the counter-based generator in ``sampling``.
"""

import numpy as np
from ._jit import njit, prange

from .blas import gemm
from .optim import ADAM, SGD
from .optim import step as optimizer_step
from .sampling import gaussian, stream_key, uniform
from .units import (  # noqa: F401  (the Bernoulli passes, re-exported)
    PARALLEL_MIN_ELEMENTS,
    _sample_row,
    _sigmoid_rows,
    _sigmoid_rows_par,
    _sigmoid_sample_rows,
    _sigmoid_sample_rows_par,
    _use_threads,
    hidden_mean_rows,
    hidden_sample_rows,
    sigmoid_rows,
    sigmoid_sample_rows,
)


@njit(cache=True)
def gather_dense(X, order, start, stop, out):
    """Copy rows ``X[order[start:stop]]`` into the first rows of ``out``."""
    V = X.shape[1]
    for r in range(stop - start):
        src = order[start + r]
        for i in range(V):
            out[r, i] = X[src, i]


@njit(cache=True)
def gather_csr(data, indices, indptr, order, start, stop, out):
    """Densify CSR rows ``order[start:stop]`` into the first rows of ``out``."""
    V = out.shape[1]
    for r in range(stop - start):
        for i in range(V):
            out[r, i] = 0.0
        src = order[start + r]
        for p in range(indptr[src], indptr[src + 1]):
            out[r, indices[p]] = data[p]


@njit(cache=True)
def _load_batch(X, data, indices, indptr, is_sparse, order, start, stop,
                gaussian_units, sigma, Vcat):
    """Rows ``order[start:stop]`` of dense X or of the CSR triplet into ``Vcat``;
    for Gaussian visible units divided by ``sigma^2`` (the kernels hold v / sigma^2)."""
    if is_sparse:
        gather_csr(data, indices, indptr, order, start, stop, Vcat)
    else:
        gather_dense(X, order, start, stop, Vcat)
    if gaussian_units:
        V = Vcat.shape[1]
        for r in range(stop - start):
            for i in range(V):
                Vcat[r, i] = Vcat[r, i] / (sigma[i] * sigma[i])


@njit(cache=True)
def _hidden_probs(v, W, c, out, hidden_units=0):
    """out = E[h | v] (sigmoid(v W^T + c) for Bernoulli units); v is (m, V), out (m, H)."""
    np.dot(v, W.T, out)
    hidden_mean_rows(out, c, out, hidden_units)


@njit(cache=True)
def _hidden_probs_sample(v, W, c, out, hs, key, hidden_units=0):
    """out = E[h | v] and hs a sample of p(h | v), in one pass."""
    np.dot(v, W.T, out)
    hidden_sample_rows(out, c, hs, key, True, hidden_units)


@njit(cache=True, error_model="numpy")
def _sample_hidden(ph, hs, key):
    """hs = Bernoulli(ph) with uniforms from the stream ``key``."""
    m, H = ph.shape
    for r in range(m):
        for j in range(H):
            hs[r, j] = 1.0 if uniform(key, r * H + j) < ph[r, j] else 0.0


@njit(cache=True, error_model="numpy")
def _sample_visible(hs, W, b, sigma, gaussian_units, pre, v, key, mean_only=False):
    """v ~ p(v | h) (or E[v | h] when ``mean_only``); pre is scratch (m, V)."""
    m = hs.shape[0]
    np.dot(hs, W, pre)
    V = pre.shape[1]
    # one branch-free inner loop per case (the branches kept it from pipelining)
    if gaussian_units:
        for r in range(m):
            for i in range(V):
                s = sigma[i]
                noise = 0.0 if mean_only else s * gaussian(key, r * V + i)
                v[r, i] = (b[i] + pre[r, i] + noise) / (s * s)
    elif mean_only:
        sigmoid_rows(pre, b, v)
    else:
        sigmoid_sample_rows(pre, b, v, key, False)


@njit(cache=True)
def cd_update(m, settings, seed, update_index, params, velocities, chains, scratch, hyper,
              optim=None):
    """One CD-k / PCD update on the mini-batch held in ``Vcat[:m]``.

    The one CD driver of every unit type: the arrays come in groups
    (parameters, velocities, chains, scratch) and the unit types as kernel ids.

    Parameters
    ----------
    m : int
        Rows of the mini-batch (``m <= B``).
    settings : tuple (k, persistent, visible_units, hidden_units, mean_field, learn_log_var)
        ``k`` (int) Gibbs steps of the negative chain; ``persistent`` (bool): start
        the chain from ``hchain[:m]`` and store its end state there (PCD);
        ``visible_units`` (int) 0 Bernoulli, 1 Gaussian (``Vcat[:m]`` must then
        hold ``v / sigma^2``); ``hidden_units`` (int) the hidden kernel id of
        :mod:`rbmlib._kernels.units` (0 Bernoulli, 1 Gaussian, 2 NReLU:
        ``Hcat`` holds their conditional means, the chains run on their
        samples); ``mean_field`` (bool): use the visible probabilities instead of
        samples in the last Gibbs step (Hinton's practical guide, sec. 3.2);
        ``learn_log_var`` (bool): also take a CD step on the log-variances of
        Gaussian visible units (:func:`_log_var_update`).
    seed, update_index : int
        Random stream of this update: ``(seed, update_index)``.
    params : tuple (W, c, b, sigma, log_var)
        ``W`` (H, V) weights, ``c`` (H,) hidden and ``b`` (V,) visible biases,
        ``sigma`` (V,) visible standard deviations (Gaussian), ``log_var`` (V,)
        their logarithms squared (read and written only with ``learn_log_var``;
        may be empty otherwise). Updated in place.
    velocities : tuple (vel_W, vel_c, vel_b, vel_log_var)
        Momentum buffers, shaped as the parameters.
    chains : tuple (hchain, sparse_q)
        ``hchain`` (B, H) persistent hidden states; ``sparse_q`` (H,) running
        mean activation of the hidden units (sparsity target).
    scratch : tuple (Vcat, Hcat, hs, pre_v, grad_W)
        ``Vcat`` (2B, V): rows ``[:m]`` hold the data on entry, rows ``[m:2m]``
        get ``v_k``; ``Hcat`` (2B, H): rows ``[:m]`` get ``ph0``, rows
        ``[m:2m]`` get ``-ph_k``; ``hs`` (B, H), ``pre_v`` (B, V), ``grad_W``
        (H, V) scratch.
    hyper : tuple of 8 floats
        ``(learning_rate, momentum, weight_decay, sparsity_target,
        sparsity_cost, sparsity_decay, min_log_var, max_log_var)``.
    optim : tuple or None, default=None
        None: momentum SGD without L1 (the fused update of
        :func:`_apply_update`). Otherwise the optimiser group of
        :func:`apply_optimizer_update` (optimiser kind, step offset, L1
        strength, optimiser hyperparameters, second moments, gradient
        scratch); ``velocities`` then hold the optimiser's first state vectors.
    """
    k, persistent, visible_units, hidden_units, mean_field, learn_log_var = settings
    W, c, b, sigma, log_var = params
    vel_W, vel_c, vel_b, vel_z = velocities
    hchain, sparse_q = chains
    Vcat, Hcat, hs, pre_v, grad_W = scratch
    (learning_rate, momentum, weight_decay, sparsity_target, sparsity_cost,
     sparsity_decay, min_log_var, max_log_var) = hyper
    _gibbs_phase(m, k, persistent, visible_units == 1, seed, update_index,
                 W, c, b, sigma, hchain, Vcat, Hcat, hs, pre_v, mean_field, hidden_units)
    if learn_log_var:
        # grad_W[0] is free until _apply_update's GEMM overwrites it
        _log_var_update(m, W, b, sigma, log_var, vel_z, Vcat, Hcat, pre_v,
                        grad_W[0], learning_rate, momentum, min_log_var, max_log_var,
                        update_index, optim)
    if optim is None:
        _apply_update(m, 1.0 / m, W, c, b, vel_W, vel_c, vel_b, sparse_q,
                      Vcat, Hcat, grad_W, learning_rate, momentum, weight_decay,
                      sparsity_target, sparsity_cost, sparsity_decay)
    else:
        apply_optimizer_update(m, update_index, W, c, b, vel_W, vel_c, vel_b, sparse_q,
                               Vcat, Hcat, learning_rate, momentum, weight_decay,
                               sparsity_target, sparsity_cost, sparsity_decay, optim)


@njit(cache=True)
def _gibbs_phase(m, k, persistent, gaussian_units, seed, update_index,
                 W, c, b, sigma, hchain, Vcat, Hcat, hs, pre_v, mean_field=False,
                 hidden_units=0):
    """Positive statistics and the negative chain of one update.

    On exit ``Hcat[:m]`` holds ``ph0``, ``Vcat[m:2m]`` the chain's visible
    states ``v_k`` and ``Hcat[m:2m]`` ``ph_k`` (not yet negated).

    PCD (``persistent``) does three matrix products per update for k = 1:
    the chain's ``h W``, then ONE product ``[v0; v_k] W^T`` for the positive
    phase and the chain's last hidden step (both use the same ``W`` and are
    independent; ``Vcat[:2m]`` already holds them stacked, and a product with
    twice the rows runs much faster per row when ``m`` is small), then the
    gradient. CD-k starts its chain from ``ph0``, so its positive phase comes
    first, on its own. Random streams are those of the unstacked order (each
    pass draws from its own key), so the order changes no random number.
    """
    nstreams = np.uint64(2 * k + 1)
    base = np.uint64(update_index) * nstreams

    v0 = Vcat[:m]
    ph0 = Hcat[:m]
    vk = Vcat[m:2 * m]
    phk = Hcat[m:2 * m]
    h = hs[:m]
    pv = pre_v[:m]

    if persistent:
        h[:, :] = hchain[:m]
    else:
        _hidden_probs_sample(v0, W, c, ph0, h, stream_key(seed, base), hidden_units)
    for step in range(k):
        key_v = stream_key(seed, base + np.uint64(2 * step + 1))
        key_h = stream_key(seed, base + np.uint64(2 * step + 2))
        _sample_visible(h, W, b, sigma, gaussian_units, pv, vk, key_v,
                        mean_field and step == k - 1)
        if persistent and step == k - 1:
            # [v0; v_k] W^T in one product: ph0 (means) and ph_k with its sample
            np.dot(Vcat[:2 * m], W.T, Hcat[:2 * m])
            hidden_mean_rows(ph0, c, ph0, hidden_units)
            hidden_sample_rows(phk, c, h, key_h, True, hidden_units)
        elif step < k - 1:
            _hidden_probs_sample(vk, W, c, phk, h, key_h, hidden_units)
        else:
            _hidden_probs(vk, W, c, phk, hidden_units)
    if persistent:
        if k == 0:
            _hidden_probs(v0, W, c, ph0, hidden_units)
        hchain[:m] = h


@njit(cache=True)
def _apply_update(m, inv_m, W, c, b, vel_W, vel_c, vel_b, sparse_q,
                  Vcat, Hcat, grad_W, learning_rate, momentum, weight_decay,
                  sparsity_target, sparsity_cost, sparsity_decay):
    """Momentum step on all parameters from the statistics left by ``_gibbs_phase``."""
    _bias_step(m, inv_m, c, b, vel_c, vel_b, sparse_q, Vcat, Hcat, learning_rate,
               momentum, sparsity_target, sparsity_cost, sparsity_decay)
    # one GEMM for both gradient statistics, [ph0; -phk]^T [v0; vk], with the
    # momentum step fused in through BLAS's beta:
    #   vel_W <- momentum * vel_W + (learning_rate / m) [ph0; -phk]^T [v0; vk]
    gemm(True, False, learning_rate * inv_m, Hcat[:2 * m], Vcat[:2 * m], momentum, vel_W)
    _weight_step(m, inv_m, W, vel_W, sparse_q, Vcat, grad_W, learning_rate, weight_decay,
                 sparsity_target, sparsity_cost)


@njit(cache=True)
def _bias_step(m, inv_m, c, b, vel_c, vel_b, sparse_q, Vcat, Hcat, learning_rate,
               momentum, sparsity_target, sparsity_cost, sparsity_decay):
    """Hidden and visible bias steps and the sparsity estimate; negates ``Hcat[m:2m]``."""
    H = c.shape[0]
    V = b.shape[0]
    for j in range(H):
        s0 = 0.0
        sk = 0.0
        for r in range(m):
            s0 += Hcat[r, j]
            sk += Hcat[m + r, j]
            Hcat[m + r, j] = -Hcat[m + r, j]
        q = s0 * inv_m
        sparse_q[j] = sparsity_decay * sparse_q[j] + (1.0 - sparsity_decay) * q
        g = (s0 - sk) * inv_m - sparsity_cost * (sparse_q[j] - sparsity_target)
        vel_c[j] = momentum * vel_c[j] + learning_rate * g
        c[j] += vel_c[j]
    for i in range(V):
        s = 0.0
        for r in range(m):
            s += Vcat[r, i] - Vcat[m + r, i]
        vel_b[i] = momentum * vel_b[i] + learning_rate * s * inv_m
        b[i] += vel_b[i]



@njit(cache=True)
def column_mean(X, m, out):
    """``out[i] = mean_r X[r, i]`` over the first ``m`` rows (the sparsity term's
    mean visible vector)."""
    V = out.shape[0]
    for i in range(V):
        out[i] = 0.0
    for r in range(m):
        for i in range(V):
            out[i] += X[r, i]
    inv_m = 1.0 / m
    for i in range(V):
        out[i] *= inv_m


@njit(cache=True)
def _weight_step(m, inv_m, W, vel_W, sparse_q, Vcat, grad_W, learning_rate, weight_decay,
                 sparsity_target, sparsity_cost):
    """Weight decay and sparsity terms into ``vel_W`` (which holds the momentum and
    data terms), then ``W += vel_W``. ``grad_W[0]`` is scratch."""
    H, V = W.shape
    do_sparse = sparsity_cost > 0.0
    vm = grad_W[0]
    if do_sparse:
        column_mean(Vcat, m, vm)  # mean_r v0_ri for the sparsity term
    lr_wd = learning_rate * weight_decay
    lr_sc = learning_rate * sparsity_cost
    if _use_threads(W.size):
        _weight_rows_par(W, vel_W, vm, lr_wd, lr_sc, sparse_q, sparsity_target, do_sparse)
    else:
        for j in range(H):
            _weight_row(W[j], vel_W[j], vm, lr_wd, lr_sc * (sparse_q[j] - sparsity_target),
                        do_sparse)


@njit(parallel=True, cache=True)
def _weight_rows_par(W, vel_W, vm, lr_wd, lr_sc, sparse_q, sparsity_target, do_sparse):
    """The rows of :func:`_weight_step` shared among Numba's threads."""
    for j in prange(W.shape[0]):
        _weight_row(W[j], vel_W[j], vm, lr_wd, lr_sc * (sparse_q[j] - sparsity_target),
                    do_sparse)


@njit(cache=True)
def _weight_row(w, vel, vm, lr_wd, extra, do_sparse):
    """One row: vel -= lr wd w (+ lr sparsity (q_j - p) mean v0); w += vel."""
    V = w.shape[0]
    if do_sparse:
        # d(penalty)/dW_ji ~ (q_j - p) * mean_r v0_ri
        for i in range(V):
            d = vel[i] - lr_wd * w[i] - extra * vm[i]
            vel[i] = d
            w[i] += d
    elif lr_wd != 0.0:
        for i in range(V):
            d = vel[i] - lr_wd * w[i]
            vel[i] = d
            w[i] += d
    else:
        for i in range(V):
            w[i] += vel[i]


@njit(cache=True)
def cd_epoch(batch, order, batch_size, settings, seed, update_index,
             params, velocities, chains, scratch, hyper, optim=None):
    """Run CD updates over ``order`` in even mini-batches of at most ``batch_size``.

    ``batch`` is ``(X, data, indices, indptr, is_sparse)``: rows come from
    dense ``X`` or, when ``is_sparse``, from the CSR triplet; one mini-batch at
    a time is densified into ``Vcat``. For Gaussian visible units the rows are
    divided by the current ``sigma^2`` as they are gathered. The other groups
    (and ``optim``) are those of :func:`cd_update`. Returns the number of updates performed
    (the caller adds it to ``update_index``). Allocates nothing.
    """
    X, data, indices, indptr, is_sparse = batch
    gaussian_units = settings[2] == 1
    sigma = params[3]
    Vcat = scratch[0]
    n = order.shape[0]
    n_batches = (n + batch_size - 1) // batch_size
    start = 0
    for t in range(n_batches):
        # even slices, as sklearn.utils.gen_even_slices
        size = n // n_batches + (1 if t < n % n_batches else 0)
        stop = start + size
        _load_batch(X, data, indices, indptr, is_sparse, order, start, stop,
                    gaussian_units, sigma, Vcat)
        cd_update(size, settings, seed, update_index + t, params, velocities, chains,
                  scratch, hyper, optim)
        start = stop
    return n_batches


@njit(cache=True)
def _log_var_update(m, W, b, sigma, log_var, vel_z, Vcat, Hcat, pre_v, acc,
                    learning_rate, momentum, min_log_var, max_log_var, update_index=0,
                    optim=None):
    """CD step on the log-variances ``z = log sigma^2`` of Gaussian visible units.

    :func:`cd_update` calls it (``learn_log_var``) between ``_gibbs_phase`` and
    ``_apply_update`` (parameters not yet
    moved, ``Hcat[m:2m]`` still ``+ph_k``). With the energy of Cho, Ilin and
    Raiko (2011), ``-dE/dz_i = exp(-z_i) ((v_i - b_i)^2 / 2 - v_i (h W)_i)``;
    the gradient is its data mean minus its model mean, with hidden
    probabilities in place of ``h``. ``z`` is clipped to
    ``[min_log_var, max_log_var]`` and ``sigma`` set to ``exp(z / 2)``.
    ``acc`` (V,) and ``pre_v[:m]`` are scratch. With a non-SGD ``optim``
    (see :func:`apply_optimizer_update`) the step is the optimiser's, its
    state in ``vel_z`` and the optimiser's fourth second-moment array, and
    clipping moves ``z`` only (the gradient statistics are kept).
    """
    V = W.shape[1]
    pv = pre_v[:m]
    for i in range(V):
        acc[i] = 0.0
    for phase in range(2):
        off = phase * m
        sign = 1.0 if phase == 0 else -1.0
        np.dot(Hcat[off:off + m], W, pv)
        for r in range(m):
            for i in range(V):
                s2 = sigma[i] * sigma[i]
                v = Vcat[off + r, i] * s2
                d = v - b[i]
                acc[i] += sign * (0.5 * d * d - v * pv[r, i])
    inv_m = 1.0 / m
    if optim is not None:
        kind, t_offset, _, ohyper, second, _ = optim
        if kind != SGD:
            for i in range(V):
                acc[i] = -acc[i] * inv_m / (sigma[i] * sigma[i])  # minimised: -gradient
            s2 = second[3] if kind == ADAM else vel_z
            optimizer_step(kind, log_var, acc, vel_z, s2, learning_rate, ohyper,
                           update_index + 1 - t_offset)
            for i in range(V):
                z = min(max(log_var[i], min_log_var), max_log_var)
                log_var[i] = z
                sigma[i] = np.exp(0.5 * z)
            return
    for i in range(V):
        g = acc[i] * inv_m / (sigma[i] * sigma[i])
        vel_z[i] = momentum * vel_z[i] + learning_rate * g
        z = log_var[i] + vel_z[i]
        if z < min_log_var:
            z = min_log_var
            vel_z[i] = 0.0
        elif z > max_log_var:
            z = max_log_var
            vel_z[i] = 0.0
        log_var[i] = z
        sigma[i] = np.exp(0.5 * z)


# ------------------------------------------------------------------ optimisers
@njit(cache=True)
def apply_optimizer_update(m, update_index, W, c, b, vel_W, vel_c, vel_b, sparse_q,
                           Vcat, Hcat, learning_rate, momentum, weight_decay,
                           sparsity_target, sparsity_cost, sparsity_decay, optim):
    """The parameter step of one CD update with an optimiser and/or an L1 penalty.

    Called by :func:`cd_update` (and the categorical kernel) in place of
    :func:`_apply_update` when an optimiser group is given, with the
    statistics left by the Gibbs phase (``Hcat[:m]`` ``ph0``, ``Hcat[m:2m]``
    ``+ph_k``, ``Vcat[:2m]`` ``[v0; v_k]``).

    ``optim = (kind, t_offset, alpha_l1, ohyper, second, grads)``: ``kind``
    the optimiser id of :mod:`rbmlib._kernels.optim`; this update is the
    optimiser's step ``t = update_index + 1 - t_offset`` (Adam's bias
    correction); ``alpha_l1`` the L1 strength on the weights; ``ohyper``
    (N_HYPER,) float64 the optimiser's hyperparameters; ``second = (s2_W,
    s2_c, s2_b, s2_log_var)`` Adam's second moments (read only for Adam; may
    be empty otherwise) while ``vel_W, vel_c, vel_b`` hold the first state
    vector (SGD's velocity, Adagrad's sum of squares, RMSprop's mean square,
    Adam's first moment); ``grads = (g_W, g_c, g_b, vm)`` scratch of shapes
    (H, V) (may be empty for SGD), (H,), (V,), (V,).

    * SGD (momentum): as :func:`_apply_update` with the L1 subgradient
      ``learning_rate * alpha_l1 * sign(W)`` subtracted from the step;
    * otherwise the gradient of the minimised objective (minus the CD
      statistics, plus ``weight_decay W + alpha_l1 sign(W)`` and the sparsity
      terms) goes into ``g_W``, ``g_c``, ``g_b`` (one GEMM with BLAS
      ``beta = 0`` for ``g_W``) and :func:`rbmlib._kernels.optim.step`
      updates ``W`` row by row, then ``c`` and ``b``.
    """
    kind, t_offset, alpha_l1, ohyper, second, grads = optim
    s2_W, s2_c, s2_b, _ = second
    g_W, g_c, g_b, vm = grads
    inv_m = 1.0 / m
    H, V = W.shape
    do_sparse = sparsity_cost > 0.0
    if do_sparse:
        column_mean(Vcat, m, vm)  # mean_r v0_ri for the sparsity term of the weights
    if kind == SGD:
        _bias_step(m, inv_m, c, b, vel_c, vel_b, sparse_q, Vcat, Hcat, learning_rate,
                   momentum, sparsity_target, sparsity_cost, sparsity_decay)
        gemm(True, False, learning_rate * inv_m, Hcat[:2 * m], Vcat[:2 * m], momentum, vel_W)
        if _use_threads(W.size):
            _sgd_l1_rows_par(W, vel_W, vm, learning_rate * weight_decay,
                             learning_rate * alpha_l1, learning_rate * sparsity_cost,
                             sparse_q, sparsity_target, do_sparse)
        else:
            for j in range(H):
                _sgd_l1_row(W[j], vel_W[j], vm, learning_rate * weight_decay,
                            learning_rate * alpha_l1,
                            learning_rate * sparsity_cost * (sparse_q[j] - sparsity_target),
                            do_sparse)
        return
    t = update_index + 1 - t_offset
    # bias gradients (minimised objective) and the sparsity estimate; negates ph_k
    for j in range(H):
        s0 = 0.0
        sk = 0.0
        for r in range(m):
            s0 += Hcat[r, j]
            sk += Hcat[m + r, j]
            Hcat[m + r, j] = -Hcat[m + r, j]
        sparse_q[j] = sparsity_decay * sparse_q[j] + (1.0 - sparsity_decay) * (s0 * inv_m)
        g_c[j] = -(s0 - sk) * inv_m + sparsity_cost * (sparse_q[j] - sparsity_target)
    for i in range(V):
        s = 0.0
        for r in range(m):
            s += Vcat[r, i] - Vcat[m + r, i]
        g_b[i] = -s * inv_m
    # g_W = -[ph0; -ph_k]^T [v0; v_k] / m (beta = 0: g_W's old values are not read)
    gemm(True, False, -inv_m, Hcat[:2 * m], Vcat[:2 * m], 0.0, g_W)
    if _use_threads(W.size):
        _optim_rows_par(kind, W, g_W, vel_W, s2_W, vm, weight_decay, alpha_l1,
                        sparsity_cost, sparse_q, sparsity_target, do_sparse,
                        learning_rate, ohyper, t)
    else:
        for j in range(H):
            _optim_row(kind, W[j], g_W[j], vel_W[j], s2_W[j] if kind == ADAM else vel_W[j],
                       vm, weight_decay, alpha_l1,
                       sparsity_cost * (sparse_q[j] - sparsity_target), do_sparse,
                       learning_rate, ohyper, t)
    optimizer_step(kind, c, g_c, vel_c, s2_c if kind == ADAM else vel_c, learning_rate,
                   ohyper, t)
    optimizer_step(kind, b, g_b, vel_b, s2_b if kind == ADAM else vel_b, learning_rate,
                   ohyper, t)


@njit(cache=True)
def _sign(x):
    """sign(x) with sign(0) = 0: the L1 subgradient."""
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return 0.0


@njit(cache=True)
def _sgd_l1_row(w, vel, vm, lr_wd, lr_l1, extra, do_sparse):
    """One row of the momentum step with L1: vel -= lr (wd w + l1 sign(w)
    [+ sparsity (q_j - p) mean v0]); w += vel."""
    V = w.shape[0]
    for i in range(V):
        wi = w[i]
        d = vel[i] - lr_wd * wi - lr_l1 * _sign(wi)
        if do_sparse:
            d -= extra * vm[i]
        vel[i] = d
        w[i] = wi + d


@njit(parallel=True, cache=True)
def _sgd_l1_rows_par(W, vel_W, vm, lr_wd, lr_l1, lr_sc, sparse_q, sparsity_target,
                     do_sparse):
    """The rows of :func:`_sgd_l1_row` shared among Numba's threads."""
    for j in prange(W.shape[0]):
        _sgd_l1_row(W[j], vel_W[j], vm, lr_wd, lr_l1,
                    lr_sc * (sparse_q[j] - sparsity_target), do_sparse)


@njit(cache=True)
def _optim_row(kind, w, g, s1, s2, vm, weight_decay, alpha_l1, extra, do_sparse,
               learning_rate, ohyper, t):
    """One weight row: add the penalties' gradients to ``g``, then the optimiser step."""
    V = w.shape[0]
    if do_sparse:
        for i in range(V):
            wi = w[i]
            g[i] += weight_decay * wi + alpha_l1 * _sign(wi) + extra * vm[i]
    elif weight_decay != 0.0 or alpha_l1 != 0.0:  # (no pass without penalties)
        for i in range(V):
            wi = w[i]
            g[i] += weight_decay * wi + alpha_l1 * _sign(wi)
    optimizer_step(kind, w, g, s1, s2, learning_rate, ohyper, t)


@njit(parallel=True, cache=True)
def _optim_rows_par(kind, W, g_W, s1_W, s2_W, vm, weight_decay, alpha_l1, sparsity_cost,
                    sparse_q, sparsity_target, do_sparse, learning_rate, ohyper, t):
    """The rows of :func:`_optim_row` shared among Numba's threads."""
    for j in prange(W.shape[0]):
        _optim_row(kind, W[j], g_W[j], s1_W[j], s2_W[j] if kind == ADAM else s1_W[j], vm,
                   weight_decay, alpha_l1, sparsity_cost * (sparse_q[j] - sparsity_target),
                   do_sparse, learning_rate, ohyper, t)
