"""The CD driver and the one parameter step of every RBM.

Plain-array Numba kernels: no estimators, no scikit-learn. Shapes use
``V`` visible units, ``H`` hidden units, ``B`` the buffer batch size and
``m <= B`` the rows of the current mini-batch.

One update on a mini-batch ``v0`` (Hinton 2002; Tieleman 2008 for PCD;
statistics as in Hinton's practical guide, UTML TR 2010-003) has two halves:

1. **the negative phase**, chosen from the table of
   :mod:`rbmlib._kernels.negative` (CD-k, persistent CD, their mean-field
   variants): it leaves ``ph0 = E[h | v0]`` in ``Hcat[:m]``, the negative
   particles ``v_k`` in ``Vcat[m:2m]`` and ``ph_k = E[h | v_k]`` in ``Hcat[m:2m]``;
2. **the parameter step** (:func:`parameter_step`), the same for every unit
   type and sampler: ``grad W = (ph0^T v0 - ph_k^T v_k) / m`` as ONE matrix
   product of the stacked ``[ph0; -ph_k]^T [v0; v_k]`` (a single GEMM with 2m
   rows), the bias gradients and the running sparsity estimate in one pass
   over the statistics, then momentum SGD fused into the GEMM (BLAS ``beta``)
   or an optimiser of :mod:`rbmlib._kernels.optim` (Adam, Adagrad, RMSprop,
   SGD with L1), with weight decay, L1 and the sparsity penalty, and the
   log-variances of Gaussian visible units when they are learned.

A unit type supplies only its kernels (:mod:`rbmlib._kernels.units`) and its
encoding of the data into ``Vcat[:m]``: dense or CSR rows here
(:func:`cd_epoch`; Gaussian units divided by ``sigma^2``), category codes as
one-hot rows in :func:`rbmlib._kernels.categorical.cd_epoch`. Both call
:func:`cd_update` with the same groups:

* ``settings = (k, negative_phase, visible_units, hidden_units, learn_log_var)``
  -- the chain: ``k`` (int) Gibbs steps and ``negative_phase`` (int) the id of
  :mod:`rbmlib._kernels.negative`; the units: ``visible_units`` (int) 0
  Bernoulli, 1 Gaussian, 2 categorical and ``hidden_units`` (int) 0 Bernoulli,
  1 Gaussian, 2 NReLU (ids of :mod:`rbmlib._kernels.units`); the step:
  ``learn_log_var`` (bool) also step the log-variances of Gaussian visible
  units (:func:`_log_var_update`);
* ``params = (W, c, b, sigma, log_var)`` -- ``(H, V)``, ``(H,)``, ``(V,)``,
  ``(V,)`` visible standard deviations (ones unless Gaussian), ``(V,)``
  ``log sigma^2`` (read and written only with ``learn_log_var``; may be empty);
* ``offsets`` -- ``(G + 1,)`` int64 boundaries of the groups of categorical
  units (any int64 array for the other visible units);
* ``velocities = (vel_W, vel_c, vel_b, vel_log_var)`` -- momentum buffers (the
  optimiser's first state vectors), shaped as the parameters;
* ``chains = (hchain, sparse_q)`` -- ``(B, H)`` persistent hidden states,
  ``(H,)`` running mean activation of the hidden units (sparsity target);
  or ``(hchain, sparse_q, tempering, centering)`` (:func:`chain_groups`): the
  replicas of parallel tempering (:mod:`rbmlib._kernels.negative`) and the
  offsets of the centered parametrisation (below); the 2-group tuple compiles
  kernels without either;
* ``scratch = (Vcat, Hcat, hs, pre_v, vm, codes)`` -- ``(2B, V)`` (rows
  ``[:m]`` hold the encoded mini-batch on entry), ``(2B, H)``, ``(B, H)``,
  ``(B, V)``, ``vm`` with at least one row of ``V`` (row 0 is scratch: the
  sparsity term's mean visible vector, the log-variance gradient) and
  ``codes`` ``(B, G)`` int32, the categorical mini-batch's codes (missing
  groups negative; ``(0, 0)`` for the other visible units);
* ``hyper = (learning_rate, momentum, weight_decay, sparsity_target,
  sparsity_cost, sparsity_decay, min_log_var, max_log_var)`` -- floats;
* ``optim`` -- None (momentum SGD without L1, fused) or the optimiser group of
  :func:`apply_optimizer_update`.

Visible units may be Bernoulli or Gaussian, the latter with the energy of
Cho, Ilin and Raiko (2011): ``E = sum (v-b)^2 / (2 sigma^2) - c h - (v /
sigma^2) W^T h``, so that ``p(h=1|v) = sigmoid(c + (v/sigma^2) W^T)`` and
``p(v|h) = N(b + h W, sigma^2)``. For Gaussian units the kernels hold ``u =
v / sigma^2`` in the visible buffers: then every formula (hidden input,
gradient of W, gradient of b) is the Bernoulli one with ``u`` in place of
``v``. Categorical units hold one-hot rows, missing groups at 0 in both
phases, so they add nothing to any gradient. Hidden units may be Bernoulli,
Gaussian (unit variance) or NReLU: ``ph`` above is then the units'
conditional mean and the chains run on their samples. All random numbers
come from the counter-based generator in ``sampling``.

**Centering** (Montavon and Mueller 2012; Melchior, Fischer and Wiskott 2016,
JMLR 17(99), Algorithm 1): ``centering = (decay, mu, lam, w_mu, wt_lam, model_weight)``,
offsets ``mu`` (V,) and ``lam`` (H,) of the energy ``E = -(v - mu) b~ - c~ (h -
lam) - (h - lam)^T W (v - mu)``. The kernels keep the UNCENTERED parameters
``W = W~``, ``b = b~ - W^T lam``, ``c = c~ - W mu`` (the same model), so the
sampler and every other kernel read them unchanged; each update (1) moves the
offsets towards the mini-batch means, ``mu <- decay mu + (1 - decay) mean v0``
and ``lam <- decay lam + (1 - decay) mean ph0`` (the model is unchanged: ``b~``
and ``c~`` absorb the move, as in the paper), (2) takes the step of the
optimiser on the centered gradient -- the GEMM reads ``[ph0 - lam; -(ph_k -
lam)]`` and ``[v0 - mu; v_k - mu]``, the bias statistics are unchanged -- and
(3) carries the centered biases' step back to ``b``, ``c``: ``c -= (W_new -
W_old) mu``, ``b -= (W_new - W_old)^T lam`` (``w_mu``, ``wt_lam`` (H,), (V,)
hold ``W_old mu``, ``W_old^T lam``). With plain SGD this is the step ``W +=
lr G_W``, ``b += lr (g_b - G_W^T lam)``, ``c += lr (g_c - G_W mu)`` with
``G_W = g_W - g_c mu^T - lam g_b^T`` (:func:`centered_gradient`, ``g`` the
uncentered CD statistics). Offsets are in the kernels' units (Gaussian visible
units: of ``v / sigma^2``). An empty ``mu`` turns centering off.

The layers between :func:`cd_update` and the loops (the negative phase's
dispatch and samplers, :func:`parameter_step` and its momentum step) are
inlined by Numba (``inline="always"``): a call between compiled functions
takes a reference to every array it passes, which cost about 1 microsecond per
mini-batch through these layers (a tenth of a CD-1 update on a tiny model).
"""

import numpy as np
from numba.core import types as _nbtypes
from numba.extending import overload

from ._jit import njit, prange
from .blas import gemm
from .negative import PCD, PCD_MEAN_FIELD, negative_phase
from .optim import ADAM, SGD
from .optim import step as optimizer_step
from .sampling import stream_key
from .threads import at_one_blas_thread, num_threads
from .threads import blas_threads, set_blas_threads  # noqa: F401  (re-exported: profile_cd.py)
from .units import (  # noqa: F401  (the Bernoulli passes, re-exported)
    BERNOULLI_HIDDEN,
    BERNOULLI_VISIBLE,
    GAUSSIAN_VISIBLE,
    NRELU_HIDDEN,
    PARALLEL_MIN_ELEMENTS,
    _sample_row,
    _sigmoid_rows,
    _sigmoid_rows_par,
    _sigmoid_sample_rows,
    _sigmoid_sample_rows_par,
    _use_threads,
    hidden_mean_row,
    hidden_mean_rows,
    hidden_sample_row,
    hidden_sample_rows,
    sigmoid_rows,
    sigmoid_sample_rows,
    visible_sample_row,
)


# ------------------------------------------------------------ encoding the rows
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


# ----------------------------------------------------------------- the driver
@njit(cache=True)
def cd_update(m, settings, seed, update_index, params, offsets, velocities, chains, scratch,
              hyper, optim=None):
    """One CD update on the mini-batch held in ``Vcat[:m]``: the negative phase of
    table id ``settings[1]``, then the parameter step.

    The one CD update of every unit type; the groups are those of the module
    docstring. ``m`` (int) rows of the mini-batch (``m <= B``); ``seed,
    update_index`` (int) its random streams (``(seed, update_index)``, see
    :mod:`rbmlib._kernels.negative`). Updates ``params``, ``velocities``,
    ``chains`` (and the optimiser state of ``optim``) in place.
    """
    k, phase, visible_units, hidden_units, learn_log_var = settings
    negative_phase(phase, m, k, (visible_units, hidden_units), seed, update_index, params,
                   offsets, chains, scratch)
    parameter_step(m, update_index, learn_log_var, params, velocities, chains, scratch, hyper,
                   optim)


def cd_epoch(batch, order, batch_size, settings, seed, update_index,
             params, offsets, velocities, chains, scratch, hyper, optim=None):
    """Run CD updates over ``order`` in even mini-batches of at most ``batch_size``.

    ``batch`` is ``(X, data, indices, indptr, is_sparse)``: rows come from
    dense ``X`` or, when ``is_sparse``, from the CSR triplet; one mini-batch at
    a time is densified into ``Vcat``. For Gaussian visible units the rows are
    divided by the current ``sigma^2`` as they are gathered. The other groups
    (and ``optim``) are those of :func:`cd_update`. Returns the number of updates performed
    (the caller adds it to ``update_index``). Allocates nothing.

    Where :func:`fused_blocks` allows it (persistent CD-1 with momentum SGD on
    more than one Numba thread, and a BLAS whose thread count can be set) the
    updates run fused (:func:`cd_epoch_fused`), the BLAS held at one thread for
    the epoch and its thread count restored after it; otherwise
    :func:`cd_epoch_unfused`. A Python function, not a compiled one, so that
    compiling the one-thread epoch does not compile the fused update's parallel
    regions in a process that never runs them.
    """
    blocks = 0 if optim is not None else fused_blocks(settings, chains, params[0])
    if blocks > 0:
        ran, n_batches = at_one_blas_thread(
            cd_epoch_fused, batch, order, batch_size, settings, seed, update_index, params,
            velocities, chains, scratch, hyper, blocks)
        if ran:
            return n_batches
    return cd_epoch_unfused(batch, order, batch_size, settings, seed, update_index,
                            params, offsets, velocities, chains, scratch, hyper, optim)


@njit(inline="always", cache=True)
def _batch_bounds(n, n_batches, t, start):
    """Rows ``[start, stop)`` of mini-batch ``t``: even slices, as
    sklearn.utils.gen_even_slices."""
    return start + n // n_batches + (1 if t < n % n_batches else 0)


@njit(cache=True)
def cd_epoch_unfused(batch, order, batch_size, settings, seed, update_index,
                     params, offsets, velocities, chains, scratch, hyper, optim=None):
    """:func:`cd_epoch`'s updates one :func:`cd_update` at a time (any thread count)."""
    X, data, indices, indptr, is_sparse = batch
    n = order.shape[0]
    n_batches = (n + batch_size - 1) // batch_size
    start = 0
    for t in range(n_batches):
        stop = _batch_bounds(n, n_batches, t, start)
        _load_batch(X, data, indices, indptr, is_sparse, order, start, stop,
                    settings[2] == 1, params[3], scratch[0])
        cd_update(stop - start, settings, seed, update_index + t, params, offsets, velocities,
                  chains, scratch, hyper, optim)
        start = stop
    return n_batches


@njit(cache=True)
def cd_epoch_fused(batch, order, batch_size, settings, seed, update_index,
                   params, velocities, chains, scratch, hyper, blocks):
    """:func:`cd_epoch`'s updates as :func:`_fused_pcd1_update` on ``blocks`` blocks (one
    per Numba thread, each product a single-threaded BLAS call: the caller holds the
    BLAS at one thread)."""
    X, data, indices, indptr, is_sparse = batch
    n = order.shape[0]
    n_batches = (n + batch_size - 1) // batch_size
    start = 0
    for t in range(n_batches):
        stop = _batch_bounds(n, n_batches, t, start)
        _load_batch(X, data, indices, indptr, is_sparse, order, start, stop,
                    settings[2] == 1, params[3], scratch[0])
        _fused_pcd1_update(stop - start, blocks, settings, seed, update_index + t, params,
                           velocities, chains, scratch, hyper)
        start = stop
    return n_batches


# ------------------------------------------------- the fused update on Numba's threads
#: Below this many weights the fused update is not used (as the threaded passes).
FUSED_MIN_WEIGHTS = PARALLEL_MIN_ELEMENTS


def _plain_chains(chains):
    """Whether ``chains`` is the 2-group tuple (no tempering, no centering); Numba only."""
    raise NotImplementedError("callable from Numba code only")


@overload(_plain_chains, inline="always")
def _ov_plain_chains(chains):
    if len(chains.types) == 2:
        return lambda chains: True
    return lambda chains: False


@njit(cache=True)
def fused_blocks(settings, chains, W):
    """Blocks of the fused update (:func:`_fused_pcd1_update`) for this epoch, 0 when
    the update must run unfused (:func:`cd_epoch` asks from Python; tests and
    benchmarks too).

    Fused: persistent CD-1 (sampled or mean-field visible states), Bernoulli or
    Gaussian visible units, any hidden units, momentum SGD (no optimiser group,
    no L1, no learned log-variances), no tempering or centering, at least
    ``FUSED_MIN_WEIGHTS`` weights and more than one Numba thread. One block per
    thread, each at least 32 columns wide.
    """
    k, phase, visible_units, hidden_units, learn_log_var = settings
    if not _plain_chains(chains) or learn_log_var or k != 1:
        return 0
    if phase != PCD and phase != PCD_MEAN_FIELD:
        return 0
    if visible_units != BERNOULLI_VISIBLE and visible_units != GAUSSIAN_VISIBLE:
        return 0
    if hidden_units < BERNOULLI_HIDDEN or hidden_units > NRELU_HIDDEN:
        return 0  # a unit type without a branch in the one-row kernels (units.py)
    H, V = W.shape
    if H * V < FUSED_MIN_WEIGHTS:
        return 0
    nt = num_threads()
    if nt < 2:
        return 0
    return max(1, min(nt, min(H, V) // 32))


@njit(inline="always", cache=True)
def _block(n, blocks, p):
    """Columns ``[lo, hi)`` of block ``p`` of ``blocks``: boundaries on multiples of 16
    elements (a 64-byte cache line of float32), the last block ending at ``n``."""
    q = (n + 15) // 16
    lo = min(n, (q * p // blocks) * 16)
    hi = min(n, (q * (p + 1) // blocks) * 16)
    return lo, hi


@njit(inline="always", cache=True)
def _fused_pcd1_update(m, blocks, settings, seed, update_index, params, velocities, chains,
                       scratch, hyper):
    """One persistent CD-1 update in two parallel regions of ``blocks`` blocks.

    The same update as :func:`cd_update` (``_pcd_chain`` then
    :func:`parameter_step` with momentum SGD): the same random numbers (streams
    ``(seed, 3 t + 1)`` and ``(seed, 3 t + 2)``, element ``(r, j)`` number ``r * n +
    j``) and, element for element, the same arithmetic; only the matrix products
    are split into column blocks, each a single-threaded BLAS call on the thread
    that then works on the block while it is in cache:

    1. :func:`_fused_visible` -- per block of visible units ``i``: ``pre_v = h W``,
       ``v_k`` sampled (or its means), the visible biases' momentum step
       (``b`` is not read again in the update) and, with a sparsity cost, the mean
       visible vector;
    2. :func:`_fused_hidden` -- per block of hidden units ``j``: ``[v0; v_k] W_j^T``,
       ``ph0``, ``ph_k`` and the chain's new states ``hchain[:m]``, the hidden biases'
       step and the sparsity estimate, the rows ``W_j`` of the gradient product with
       the momentum step in BLAS's ``beta``, and ``W_j += vel_W_j``. A block
       reads and writes only its own rows of ``W``, so the update needs no third
       region.

    A thread's products (rows or columns of the unsplit ones) may round their
    sums in another order than the unsplit, multi-threaded products, so a model
    trained on several threads agrees with the one-thread model closely, not
    necessarily bit for bit (see :mod:`rbmlib._parallel`).
    """
    _k, phase, visible_units, hidden_units, _learn_log_var = settings
    W, c, b, sigma = params[0], params[1], params[2], params[3]
    vel_W, vel_c, vel_b = velocities[0], velocities[1], velocities[2]
    hchain, sparse_q = chains[0], chains[1]
    Vcat, Hcat, pre_v, vm = scratch[0], scratch[1], scratch[3], scratch[4][0]
    (learning_rate, momentum, weight_decay, sparsity_target, sparsity_cost,
     sparsity_decay, _, _) = hyper
    base = np.uint64(update_index) * np.uint64(3)
    _fused_visible(blocks, m, hchain, W, b, sigma, vel_b, Vcat, pre_v, vm,
                   stream_key(seed, base + np.uint64(1)), phase == PCD_MEAN_FIELD,
                   visible_units, learning_rate, momentum, sparsity_cost > 0.0)
    _fused_hidden(blocks, m, W, c, vel_W, vel_c, sparse_q, hchain, Vcat, Hcat, vm,
                  stream_key(seed, base + np.uint64(2)), hidden_units, learning_rate,
                  momentum, weight_decay, sparsity_target, sparsity_cost, sparsity_decay)


@njit(parallel=True, cache=True, error_model="numpy")
def _fused_visible(blocks, m, hchain, W, b, sigma, vel_b, Vcat, pre_v, vm, key, mean_only,
                   visible_units, learning_rate, momentum, do_sparse):
    """Region 1 of :func:`_fused_pcd1_update` (the visible half of the Gibbs step)."""
    V = W.shape[1]
    inv_m = 1.0 / m
    for p in prange(blocks):
        i0, i1 = _block(V, blocks, p)
        if i1 > i0:
            gemm(False, False, 1.0, hchain[:m], W[:, i0:i1], 0.0, pre_v[:m, i0:i1])
            for r in range(m):
                visible_sample_row(pre_v[r][i0:i1], b[i0:i1], sigma[i0:i1], Vcat[m + r][i0:i1],
                                   key, r * V + i0, mean_only, visible_units)
            for i in range(i0, i1):
                vel_b[i] = (momentum * vel_b[i]
                            + learning_rate * _visible_statistic(m, i, Vcat) * inv_m)
                b[i] += vel_b[i]
            if do_sparse:  # column_mean of v0 on the block
                for i in range(i0, i1):
                    vm[i] = 0.0
                for r in range(m):
                    for i in range(i0, i1):
                        vm[i] += Vcat[r, i]
                for i in range(i0, i1):
                    vm[i] *= inv_m


@njit(parallel=True, cache=True, error_model="numpy")
def _fused_hidden(blocks, m, W, c, vel_W, vel_c, sparse_q, hchain, Vcat, Hcat, vm, key,
                  hidden_units, learning_rate, momentum, weight_decay, sparsity_target,
                  sparsity_cost, sparsity_decay):
    """Region 2 of :func:`_fused_pcd1_update` (the hidden half and the parameter step)."""
    H = W.shape[0]
    inv_m = 1.0 / m
    do_sparse = sparsity_cost > 0.0
    lr_wd = learning_rate * weight_decay
    lr_sc = learning_rate * sparsity_cost
    for p in prange(blocks):
        j0, j1 = _block(H, blocks, p)
        if j1 > j0:
            gemm(False, True, 1.0, Vcat[:2 * m], W[j0:j1], 0.0, Hcat[:2 * m, j0:j1])
            for r in range(m):
                hidden_mean_row(Hcat[r][j0:j1], c[j0:j1], Hcat[r][j0:j1], hidden_units)
                hidden_sample_row(Hcat[m + r][j0:j1], c[j0:j1], hchain[r][j0:j1], key,
                                  r * H + j0, True, hidden_units)
            for j in range(j0, j1):
                d = _hidden_statistic(m, j, inv_m, Hcat, sparse_q, sparsity_decay)
                g = d - sparsity_cost * (sparse_q[j] - sparsity_target)
                vel_c[j] = momentum * vel_c[j] + learning_rate * g
                c[j] += vel_c[j]
            gemm(True, False, learning_rate * inv_m, Hcat[:2 * m, j0:j1], Vcat[:2 * m],
                 momentum, vel_W[j0:j1])
            for j in range(j0, j1):
                _weight_row(W[j], vel_W[j], vm, lr_wd, lr_sc * (sparse_q[j] - sparsity_target),
                            do_sparse)


# ------------------------------------------------------------ the parameter step
@njit(inline="always", cache=True)
def parameter_step(m, update_index, learn_log_var, params, velocities, chains, scratch, hyper,
                   optim=None):
    """The parameter step of one CD update, from the statistics the negative
    phase left (``Hcat[:m]`` ``ph0``, ``Hcat[m:2m]`` ``+ph_k``, ``Vcat[:2m]``
    ``[v0; v_k]``; groups as in the module docstring).

    With ``learn_log_var`` the log-variances first (:func:`_log_var_update`,
    parameters not yet moved); then momentum SGD without L1 fused into the
    gradient GEMM (:func:`_momentum_update`, ``optim`` None) or the optimiser of
    ``optim`` (:func:`apply_optimizer_update`). Negates ``Hcat[m:2m]``.
    """
    W, c, b, sigma, log_var = params
    vel_W, vel_c, vel_b, vel_z = velocities
    sparse_q = chains[1]
    Vcat, Hcat, pre_v, vm = scratch[0], scratch[1], scratch[3], scratch[4]
    (learning_rate, momentum, weight_decay, sparsity_target, sparsity_cost,
     sparsity_decay, min_log_var, max_log_var) = hyper
    centering = _centering_of(chains)
    center_begin(m, centering, W, Vcat, Hcat)
    if learn_log_var:
        # vm[0] is free until the weight step's sparsity term
        _log_var_update(m, W, b, sigma, log_var, vel_z, Vcat, Hcat, pre_v,
                        vm[0], learning_rate, momentum, min_log_var, max_log_var,
                        update_index, optim)
    if optim is None:
        _momentum_update(m, 1.0 / m, W, c, b, vel_W, vel_c, vel_b, sparse_q,
                         Vcat, Hcat, vm, learning_rate, momentum, weight_decay,
                         sparsity_target, sparsity_cost, sparsity_decay, centering)
    else:
        apply_optimizer_update(m, update_index, W, c, b, vel_W, vel_c, vel_b, sparse_q,
                               Vcat, Hcat, learning_rate, momentum, weight_decay,
                               sparsity_target, sparsity_cost, sparsity_decay, optim,
                               centering)
    center_end(centering, W, c, b)


@njit(inline="always", cache=True)
def _hidden_statistic(m, j, inv_m, Hcat, sparse_q, sparsity_decay):
    """``(sum_r ph0_rj - sum_r phk_rj) / m``, the data-minus-model statistic of
    hidden unit ``j``. Also moves the sparsity estimate ``sparse_q[j]`` towards
    the batch mean of ``ph0`` and negates ``ph_k`` in place (for the one GEMM
    ``[ph0; -ph_k]^T [v0; v_k]``)."""
    s0 = 0.0
    sk = 0.0
    for r in range(m):
        s0 += Hcat[r, j]
        sk += Hcat[m + r, j]
        Hcat[m + r, j] = -Hcat[m + r, j]
    q = s0 * inv_m
    sparse_q[j] = sparsity_decay * sparse_q[j] + (1.0 - sparsity_decay) * q
    return (s0 - sk) * inv_m


@njit(inline="always", cache=True)
def _visible_statistic(m, i, Vcat):
    """``sum_r (v0_ri - vk_ri)``: ``m`` times the statistic of visible unit ``i``."""
    s = 0.0
    for r in range(m):
        s += Vcat[r, i] - Vcat[m + r, i]
    return s


@njit(inline="always", cache=True)
def _momentum_update(m, inv_m, W, c, b, vel_W, vel_c, vel_b, sparse_q,
                     Vcat, Hcat, grad_W, learning_rate, momentum, weight_decay,
                     sparsity_target, sparsity_cost, sparsity_decay, centering=None):
    """Momentum step on all parameters from the statistics of the negative phase
    (of the centered parametrisation with a ``centering`` group)."""
    _bias_step(m, inv_m, c, b, vel_c, vel_b, sparse_q, Vcat, Hcat, learning_rate,
               momentum, sparsity_target, sparsity_cost, sparsity_decay)
    # one GEMM for both gradient statistics, [ph0; -phk]^T [v0; vk], with the
    # momentum step fused in through BLAS's beta:
    #   vel_W <- momentum * vel_W + (learning_rate / m) [ph0; -phk]^T [v0; vk]
    center_shift(m, centering, Vcat, Hcat, 1.0)
    gemm(True, False, learning_rate * inv_m, Hcat[:2 * m], Vcat[:2 * m], momentum, vel_W)
    center_shift(m, centering, Vcat, Hcat, -1.0)
    _weight_step(m, inv_m, W, vel_W, sparse_q, Vcat, grad_W, learning_rate, weight_decay,
                 sparsity_target, sparsity_cost)


@njit(inline="always", cache=True)
def _bias_step(m, inv_m, c, b, vel_c, vel_b, sparse_q, Vcat, Hcat, learning_rate,
               momentum, sparsity_target, sparsity_cost, sparsity_decay):
    """Momentum steps of the hidden and visible biases (with the sparsity term) and
    the sparsity estimate; negates ``Hcat[m:2m]``."""
    H = c.shape[0]
    V = b.shape[0]
    for j in range(H):
        d = _hidden_statistic(m, j, inv_m, Hcat, sparse_q, sparsity_decay)
        g = d - sparsity_cost * (sparse_q[j] - sparsity_target)
        vel_c[j] = momentum * vel_c[j] + learning_rate * g
        c[j] += vel_c[j]
    for i in range(V):
        vel_b[i] = momentum * vel_b[i] + learning_rate * _visible_statistic(m, i, Vcat) * inv_m
        b[i] += vel_b[i]


@njit(cache=True)
def _bias_gradients(m, inv_m, g_c, g_b, sparse_q, Vcat, Hcat, sparsity_target, sparsity_cost,
                    sparsity_decay):
    """The biases' gradients of the minimised objective (minus the statistics, plus
    the sparsity term) into ``g_c``, ``g_b``, and the sparsity estimate; negates
    ``Hcat[m:2m]``."""
    H = g_c.shape[0]
    V = g_b.shape[0]
    for j in range(H):
        d = _hidden_statistic(m, j, inv_m, Hcat, sparse_q, sparsity_decay)
        g_c[j] = -d + sparsity_cost * (sparse_q[j] - sparsity_target)
    for i in range(V):
        g_b[i] = -_visible_statistic(m, i, Vcat) * inv_m


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


@njit(inline="always", cache=True)
def _weight_step(m, inv_m, W, vel_W, sparse_q, Vcat, grad_W, learning_rate, weight_decay,
                 sparsity_target, sparsity_cost):
    """Weight decay and sparsity terms into ``vel_W`` (which holds the momentum and
    data terms), then ``W += vel_W``. ``grad_W[0]`` is scratch."""
    H = W.shape[0]
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


@njit(inline="always", cache=True)
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
def _log_var_update(m, W, b, sigma, log_var, vel_z, Vcat, Hcat, pre_v, acc,
                    learning_rate, momentum, min_log_var, max_log_var, update_index=0,
                    optim=None):
    """CD step on the log-variances ``z = log sigma^2`` of Gaussian visible units.

    :func:`parameter_step` calls it (``learn_log_var``) after the negative
    phase, before the other parameters move (``Hcat[m:2m]`` still ``+ph_k``). With the energy of Cho, Ilin and
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
                           sparsity_target, sparsity_cost, sparsity_decay, optim,
                           centering=None):
    """The parameter step of one CD update with an optimiser and/or an L1 penalty.

    Called by :func:`parameter_step` in place of :func:`_momentum_update`
    when an optimiser group is given, with the statistics left by the
    negative phase (``Hcat[:m]`` ``ph0``, ``Hcat[m:2m]``
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

    * SGD (momentum): as :func:`_momentum_update` with the L1 subgradient
      ``learning_rate * alpha_l1 * sign(W)`` subtracted from the step;
    * otherwise the gradient of the minimised objective (minus the CD
      statistics, plus ``weight_decay W + alpha_l1 sign(W)`` and the sparsity
      terms) goes into ``g_W``, ``g_c``, ``g_b`` (one GEMM with BLAS
      ``beta = 0`` for ``g_W``) and :func:`rbmlib._kernels.optim.step`
      updates ``W`` row by row, then ``c`` and ``b``.

    ``centering`` (None or the group of the module docstring): the weight GEMM
    reads the centered statistics.
    """
    kind, t_offset, alpha_l1, ohyper, second, grads = optim
    s2_W, s2_c, s2_b, _ = second
    g_W, g_c, g_b, vm = grads
    inv_m = 1.0 / m
    H = W.shape[0]
    do_sparse = sparsity_cost > 0.0
    if do_sparse:
        column_mean(Vcat, m, vm)  # mean_r v0_ri for the sparsity term of the weights
    if kind == SGD:
        _bias_step(m, inv_m, c, b, vel_c, vel_b, sparse_q, Vcat, Hcat, learning_rate,
                   momentum, sparsity_target, sparsity_cost, sparsity_decay)
        center_shift(m, centering, Vcat, Hcat, 1.0)
        gemm(True, False, learning_rate * inv_m, Hcat[:2 * m], Vcat[:2 * m], momentum, vel_W)
        center_shift(m, centering, Vcat, Hcat, -1.0)
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
    _bias_gradients(m, inv_m, g_c, g_b, sparse_q, Vcat, Hcat, sparsity_target, sparsity_cost,
                    sparsity_decay)
    # g_W = -[ph0; -ph_k]^T [v0; v_k] / m (beta = 0: g_W's old values are not read)
    center_shift(m, centering, Vcat, Hcat, 1.0)
    gemm(True, False, -inv_m, Hcat[:2 * m], Vcat[:2 * m], 0.0, g_W)
    center_shift(m, centering, Vcat, Hcat, -1.0)
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


# ------------------------------------------------------------------- centering
def chain_groups(hchain, sparse_q, tempering=None, centering=None):
    """The ``chains`` group of :func:`cd_update`: ``(hchain, sparse_q)`` when neither
    parallel tempering nor centering is used (the kernels compiled without them),
    else the 4-group form with empty arrays for the one not used.

    Parameters
    ----------
    hchain : ndarray of shape (B, H)
    sparse_q : ndarray of shape (H,)
    tempering : tuple or None
        ``(vchains, betas, labels, swap_counts, round_trips, bias_h, bias_v)``
        (:mod:`rbmlib._kernels.negative`).
    centering : tuple or None
        ``(decay, mu, lam, w_mu, wt_lam, model_weight)`` (module docstring).

    Returns
    -------
    tuple
    """
    if tempering is None and centering is None:
        return (hchain, sparse_q)
    dtype = hchain.dtype
    if tempering is None:
        tempering = (np.zeros((1, 0), dtype), np.ones(1), np.zeros(1, np.int64),
                     np.zeros((3, 0)), np.zeros(1, np.int64), np.zeros(0, dtype),
                     np.zeros(0, dtype))
    if centering is None:
        e = np.zeros(0, dtype)
        centering = (0.0, e, e, e, e, 0.0)
    return (hchain, sparse_q, tempering, centering)


def _centering_of(chains):
    """``chains[3]`` or None (2-group chains); callable from Numba code only."""
    raise NotImplementedError("callable from Numba code only")


@overload(_centering_of, inline="always")
def _ov_centering_of(chains):
    if len(chains.types) < 4:
        return lambda chains: None
    return lambda chains: chains[3]


def center_begin(m, centering, W, Vcat, Hcat):
    """Move the offsets towards the mini-batch means (``Vcat[:m]``, ``Hcat[:m]``) and
    keep ``W mu``, ``W^T lam`` for :func:`center_end`; nothing for None or an
    empty ``mu``. Callable from Numba code only."""
    raise NotImplementedError("callable from Numba code only")


def center_shift(m, centering, Vcat, Hcat, sign):
    """``sign`` 1: ``Vcat[:2m] -= mu``, ``Hcat[:m] -= lam``, ``Hcat[m:2m] += lam`` (the
    statistics ``[ph0; -ph_k]`` centered); ``sign`` -1: ``Vcat[:2m] += mu`` back
    (``Hcat`` is not read again). Nothing for None or an empty ``mu``. Callable from
    Numba code only."""
    raise NotImplementedError("callable from Numba code only")


def center_end(centering, W, c, b):
    """Carry the centered biases' step back to the uncentered ones: ``c -= W mu -
    w_mu``, ``b -= W^T lam - wt_lam``. Callable from Numba code only."""
    raise NotImplementedError("callable from Numba code only")


@overload(center_begin, inline="always")
def _ov_center_begin(m, centering, W, Vcat, Hcat):
    if isinstance(centering, _nbtypes.NoneType):
        return lambda m, centering, W, Vcat, Hcat: None

    def impl(m, centering, W, Vcat, Hcat):
        decay, mu, lam, w_mu, wt_lam, model_weight = centering
        if mu.shape[0] > 0:
            update_offsets(m, decay, model_weight, mu, lam, Vcat, Hcat)
            offset_products(W, mu, lam, w_mu, wt_lam)
    return impl


@overload(center_shift, inline="always")
def _ov_center_shift(m, centering, Vcat, Hcat, sign):
    if isinstance(centering, _nbtypes.NoneType):
        return lambda m, centering, Vcat, Hcat, sign: None

    def impl(m, centering, Vcat, Hcat, sign):
        mu, lam = centering[1], centering[2]
        if mu.shape[0] > 0:
            shift_statistics(m, mu, lam, Vcat, Hcat, sign)
    return impl


@overload(center_end, inline="always")
def _ov_center_end(centering, W, c, b):
    if isinstance(centering, _nbtypes.NoneType):
        return lambda centering, W, c, b: None

    def impl(centering, W, c, b):
        mu, lam, w_mu, wt_lam = centering[1], centering[2], centering[3], centering[4]
        if mu.shape[0] > 0:
            uncenter_biases(W, c, b, mu, lam, w_mu, wt_lam)
    return impl


@njit(cache=True)
def update_offsets(m, decay, model_weight, mu, lam, V0, H0):
    """``mu <- decay mu + (1 - decay) target`` with ``target`` the mean of ``V0``'s
    first ``m`` rows (the data), or with ``model_weight`` > 0 ``(1 - model_weight)``
    of it plus ``model_weight`` times the mean of rows ``m .. 2m`` (the negative
    phase); the same for ``lam`` and ``H0`` (the offsets' moving averages; Melchior
    et al. 2016, Algorithm 1 and its model-mean and average variants)."""
    _move_offsets(m, decay, model_weight, mu, V0)
    _move_offsets(m, decay, model_weight, lam, H0)


@njit(inline="always", cache=True)
def _move_offsets(m, decay, model_weight, off, S):
    """One offset vector's step of :func:`update_offsets`, from the statistics ``S``."""
    inv_m = 1.0 / m
    for i in range(off.shape[0]):
        s = 0.0
        for r in range(m):
            s += S[r, i]
        target = s * inv_m
        if model_weight != 0.0:
            s_model = 0.0
            for r in range(m, 2 * m):
                s_model += S[r, i]
            target = (1.0 - model_weight) * target + model_weight * (s_model * inv_m)
        off[i] = decay * off[i] + (1.0 - decay) * target


@njit(cache=True)
def offset_products(W, mu, lam, w_mu, wt_lam):
    """``w_mu = W mu`` (H,) and ``wt_lam = W^T lam`` (V,)."""
    H, V = W.shape
    for i in range(V):
        wt_lam[i] = 0.0
    for j in range(H):
        s = 0.0
        lj = lam[j]
        for i in range(V):
            s += W[j, i] * mu[i]
            wt_lam[i] += lj * W[j, i]
        w_mu[j] = s


@njit(cache=True)
def shift_statistics(m, mu, lam, Vcat, Hcat, sign):
    """See :func:`center_shift`."""
    V = mu.shape[0]
    H = lam.shape[0]
    for r in range(2 * m):
        for i in range(V):
            Vcat[r, i] -= sign * mu[i]
    if sign > 0.0:
        for r in range(m):
            for j in range(H):
                Hcat[r, j] -= lam[j]
                Hcat[m + r, j] += lam[j]


@njit(cache=True)
def uncenter_biases(W, c, b, mu, lam, w_mu, wt_lam):
    """``c -= W mu - w_mu``, ``b -= W^T lam - wt_lam``: the uncentered biases of the
    centered ones after ``W`` moved (``w_mu``, ``wt_lam`` from before the step)."""
    H, V = W.shape
    for i in range(V):
        b[i] += wt_lam[i]
    for j in range(H):
        s = 0.0
        lj = lam[j]
        for i in range(V):
            s += W[j, i] * mu[i]
            b[i] -= lj * W[j, i]
        c[j] -= s - w_mu[j]


def centered_gradient(g_W, g_c, g_b, mu, lam):
    """The centered gradient in the uncentered coordinates (NumPy; for any model
    with a bipartite energy, e.g. each layer pair of a DBM).

    With the uncentered CD statistics ``g_W = <h v^T>_d - <h v^T>_m`` (H, V),
    ``g_c = <h>_d - <h>_m``, ``g_b = <v>_d - <v>_m``, the centered gradient
    (Melchior et al. 2016, eq. 10-12) is ``G_W = g_W - g_c mu^T - lam g_b^T``,
    ``G_b~ = g_b``, ``G_c~ = g_c``; a step of size ``lr`` on the centered
    parameters moves the uncentered ones by ``lr (G_W, g_c - G_W mu, g_b -
    G_W^T lam)``.

    Returns
    -------
    d_W, d_c, d_b : ndarrays
        The direction of the step on ``(W, c, b)``.
    """
    G_W = g_W - np.outer(g_c, mu) - np.outer(lam, g_b)
    return G_W, g_c - G_W @ mu, g_b - G_W.T @ lam
