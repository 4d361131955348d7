"""Forward and backward passes of a multilayer perceptron (its optimisers: ``optim``).

Plain-array Numba kernels: no estimators, no scikit-learn. They serve the
fine-tuning stage of a Deep Belief Network (Hinton and Salakhutdinov 2006):
the hidden layers are logistic (as the pretrained RBMs' hidden units),
tanh, ReLU, leaky ReLU or identity, chosen per layer; the output layer is the identity (squared error), logistic (binary
cross-entropy) or softmax (cross-entropy).

Memory layout
-------------
All parameters live in ONE flat vector ``params`` so that the optimisers are
single fused loops; layer ``l`` (``0 <= l < L``) maps ``sizes[l]`` units to
``sizes[l + 1]`` units with

* ``W_l = params[offsets[2l] : offsets[2l] + sizes[l] * sizes[l+1]]`` viewed
  as a C-contiguous ``(sizes[l], sizes[l+1])`` matrix (scikit-learn's
  ``coefs_[l]`` orientation, i.e. an RBM's ``components_.T``);
* ``b_l = params[offsets[2l + 1] : offsets[2l + 1] + sizes[l+1]]``.

Gradients and optimiser moments use the same layout. The activations of all
layers for a mini-batch of at most ``B`` rows live in one flat buffer
``acts``; layer ``l``'s output for ``m <= B`` rows is
``acts[a_off[l] : a_off[l] + m * sizes[l+1]]`` viewed as ``(m, sizes[l+1])``,
so a short last batch still gets contiguous views and nothing is allocated
per mini-batch. ``deltas`` (the back-propagated errors) has the layout of
``acts``.

Dropout (Srivastava et al. 2014) is "inverted": a kept unit is scaled by
``1 / keep`` during training so that prediction uses the weights unchanged.
The backward pass draws the mask again from the same stream and needs only
the dropped activation ``a' = mask * f(z) / keep``: the derivative is
``mask * f'(z) / keep`` with ``f'`` written in ``f(z) = keep * a'``. Masks come
from the counter-based generator of ``sampling``: the uniform of element
``(r, j)`` of layer ``l`` in update ``t`` depends only on
``(seed, t * (L + 1) + l, r * n_units + j)``, so results do not depend on the
number of threads.

Max-norm constraints (Srivastava et al. 2014, sec. 5.1): with ``max_norm > 0``
each update is followed by :func:`max_norm_project`, which rescales every
hidden unit's incoming weight vector -- column ``j`` of ``W_l`` for the
hidden layers ``l < L - 1``, biases excluded -- to L2 norm ``max_norm`` when
its norm exceeds it (a projection onto the ball; the optimiser's moments
are not touched). The output layer is not constrained: the paper bounds
the incoming weights "at each hidden unit", and an identity output's
weights must scale with the targets.

Matrix products go to BLAS through ``np.dot(a, b, out)`` (BLAS brings its
own threads); the elementwise work around them (bias, sigmoid, dropout,
softmax, loss, derivative) is fused into single serial loops. They are
deliberately not ``parallel=True``: their cost is a small fraction of the
GEMMs' (one pass over the activations against ``n_units_in`` multiply-adds
per activation), and a fork-join per mini-batch alongside BLAS's own thread
pool made fine-tuning up to 30-80x slower on a loaded 2-core machine
(OpenMP workers spinning against OpenBLAS threads). Serial loops also make
every reduction's order fixed, so results do not depend on thread counts.

That is the one-thread path. On more than one Numba thread :func:`train_epoch`
runs :func:`train_epoch_fused` instead (issue 25): each update in Numba's pool
only, every thread computing one block of each product with a
single-threaded BLAS call and then that block's elementwise work (bias,
activation, dropout, derivative, penalty, optimiser step, max-norm) while
it is in cache, the BLAS held at one thread for the epoch, as the fused CD
update of :mod:`.cd`. The random numbers are the same; split products may
round in another order, so results agree with the one-thread path to
rounding. :func:`train_epoch_semi` (entropy minimisation) keeps the
one-thread path on any thread count.
"""

import math

import numpy as np
from ._jit import njit, prange

from .blas import gemm
from .cd import _block, gather_csr, gather_dense
from .optim import ADAM, SGD, adam_step, sgd_step, step  # noqa: F401  (re-exported)
from .sampling import sigmoid, softplus, stream_key, uniform
from .threads import at_one_blas_thread, num_threads
from .units import PARALLEL_MIN_ELEMENTS

# output activations
IDENTITY = 0
LOGISTIC = 1
SOFTMAX = 2

# hidden activations (``hid_kinds[l]`` of hidden layer l)
H_LOGISTIC = 0
H_TANH = 1
H_RELU = 2
H_LEAKY_RELU = 3
H_IDENTITY = 4


@njit(inline="always", cache=True)
def _weights(params, sizes, offsets, l):
    n_in = sizes[l]
    n_out = sizes[l + 1]
    o = offsets[2 * l]
    return params[o:o + n_in * n_out].reshape((n_in, n_out))


@njit(inline="always", cache=True)
def _bias(params, sizes, offsets, l):
    o = offsets[2 * l + 1]
    return params[o:o + sizes[l + 1]]


@njit(inline="always", cache=True)
def _rows(buf, sizes, a_off, l, m):
    n = sizes[l + 1]
    o = a_off[l]
    return buf[o:o + m * n].reshape((m, n))


@njit(inline="always", cache=True)
def _activate(t, kind, slope):
    """Hidden activation ``kind`` of the pre-activation t."""
    if kind == H_TANH:
        return math.tanh(t)
    if kind == H_RELU:
        return t if t > 0.0 else 0.0
    if kind == H_LEAKY_RELU:
        return t if t > 0.0 else slope * t
    if kind == H_IDENTITY:
        return t
    return sigmoid(t)


@njit(inline="always", cache=True)
def _derivative(a, kind, slope):
    """Derivative of activation ``kind`` written in its output ``a = f(z)``."""
    if kind == H_TANH:
        return 1.0 - a * a
    if kind == H_RELU:
        return 1.0 if a > 0.0 else 0.0
    if kind == H_LEAKY_RELU:
        return 1.0 if a > 0.0 else slope
    if kind == H_IDENTITY:
        return 1.0
    return a * (1.0 - a)


@njit(cache=True)
def _bias_act_dropout(z, b, kind, slope, keep, key, dropout):
    """z = f(z + b), then inverted dropout with keep probability ``keep``."""
    m, n = z.shape
    inv_keep = 1.0 / keep
    for r in range(m):
        for j in range(n):
            a = _activate(z[r, j] + b[j], kind, slope)
            if dropout:
                if uniform(key, r * n + j) < keep:
                    a = a * inv_keep
                else:
                    a = 0.0
            z[r, j] = a


@njit(cache=True)
def input_dropout(x, keep, key):
    """In place: x[r, i] = x[r, i] / keep with probability keep, else 0."""
    m, n = x.shape
    inv_keep = 1.0 / keep
    for r in range(m):
        for i in range(n):
            if uniform(key, r * n + i) < keep:
                x[r, i] = x[r, i] * inv_keep
            else:
                x[r, i] = 0.0


@njit(cache=True)
def _output(z, b, y, out_kind, rowloss, with_loss):
    """Output activation in place on ``z`` (pre-activation without bias).

    With ``with_loss`` also ``rowloss[r]`` = loss of row r (nats for the
    cross-entropies; half the squared error summed over outputs otherwise),
    computed from the pre-activation so that it is finite for any input.
    """
    m, n = z.shape
    for r in range(m):
        if out_kind == SOFTMAX:
            mx = -np.inf
            for j in range(n):
                t = z[r, j] + b[j]
                z[r, j] = t
                if t > mx:
                    mx = t
            s = 0.0
            for j in range(n):
                s += math.exp(z[r, j] - mx)
            lse = mx + math.log(s)
            loss = 0.0
            for j in range(n):
                t = z[r, j]
                if with_loss:
                    loss += y[r, j] * (lse - t)
                z[r, j] = math.exp(t - lse)
        elif out_kind == LOGISTIC:
            loss = 0.0
            for j in range(n):
                t = z[r, j] + b[j]
                if with_loss:
                    loss += softplus(t) - y[r, j] * t
                z[r, j] = sigmoid(t)
        else:
            loss = 0.0
            for j in range(n):
                t = z[r, j] + b[j]
                z[r, j] = t
                if with_loss:
                    e = t - y[r, j]
                    loss += 0.5 * e * e
        if with_loss:
            rowloss[r] = loss


@njit(cache=True)
def forward(x, params, sizes, offsets, acts, a_off, out_kind, upto,
            y, rowloss, with_loss, keep_hidden, seed, stream0, hid_kinds, slope):
    """Forward pass of the rows ``x`` (m, sizes[0]) through layers ``0..upto``.

    Parameters
    ----------
    x : ndarray (m, sizes[0])
        Input rows (already dropped out when training with input dropout).
    params : ndarray (n_params,)
        Flat parameters (see the module docstring for the layout).
    sizes : int64 ndarray (L + 1,)
        Units per layer, input first, output last.
    offsets : int64 ndarray (2L,)
        Start of ``W_l`` at ``offsets[2l]`` and of ``b_l`` at ``offsets[2l+1]``.
    acts : ndarray (B * sum(sizes[1:]),)
        Activation buffer, written for layers ``0..upto``.
    a_off : int64 ndarray (L,)
        Start of each layer's rows in ``acts``.
    out_kind : int
        ``IDENTITY``, ``LOGISTIC`` or ``SOFTMAX`` for the last layer.
    upto : int
        Last layer computed (``L - 1`` for the whole network).
    y : ndarray (m, sizes[L])
        Targets (read only when ``with_loss``).
    rowloss : float64 ndarray (>= m,)
        Per-row loss, written when ``with_loss``.
    keep_hidden : float
        Keep probability of hidden units; dropout is applied when < 1.
    seed, stream0 : int
        Random stream of hidden layer l is ``(seed, stream0 + l + 1)``.
    hid_kinds : int64 ndarray (>= L - 1,)
        Activation of each hidden layer (``H_LOGISTIC``, ``H_TANH``, ...).
    slope : float
        Slope of ``H_LEAKY_RELU`` for negative inputs.
    """
    m = x.shape[0]
    L = sizes.shape[0] - 1
    dropout = keep_hidden < 1.0
    for l in range(upto + 1):
        W = _weights(params, sizes, offsets, l)
        b = _bias(params, sizes, offsets, l)
        z = _rows(acts, sizes, a_off, l, m)
        if l == 0:
            np.dot(x, W, z)
        else:
            np.dot(_rows(acts, sizes, a_off, l - 1, m), W, z)
        if l < L - 1:
            key = stream_key(seed, np.uint64(stream0 + l + 1))
            _bias_act_dropout(z, b, hid_kinds[l], slope, keep_hidden, key, dropout)
        else:
            _output(z, b, y, out_kind, rowloss, with_loss)


@njit(cache=True)
def _output_delta(p, y, d, w, inv_wsum):
    """d = (p - y) * w_r / sum(w): the gradient of the weighted mean loss."""
    m, n = p.shape
    for r in range(m):
        c = w[r] * inv_wsum
        for j in range(n):
            d[r, j] = (p[r, j] - y[r, j]) * c


@njit(cache=True)
def _penalty_and_bias_grad(gW, W, alpha, alpha_l1, d, gb):
    n_in, n_out = gW.shape
    m = d.shape[0]
    if alpha != 0.0 or alpha_l1 != 0.0:
        for i in range(n_in):
            for j in range(n_out):
                w = W[i, j]
                sgn = 1.0 if w > 0.0 else (-1.0 if w < 0.0 else 0.0)
                gW[i, j] += alpha * w + alpha_l1 * sgn
    for j in range(n_out):
        s = 0.0
        for r in range(m):
            s += d[r, j]
        gb[j] = s


@njit(cache=True)
def _hidden_backward(dp, a, kind, slope, keep, key, dropout):
    """dp *= d a / d z of the (dropped-out) hidden units.

    ``a`` holds ``mask * f(z) / keep``; the mask is drawn again from the
    forward pass's stream, so dropped units get a zero derivative whatever
    their activation, and kept ones ``f'(z) / keep`` with ``f(z) = keep * a``.
    """
    m, n = dp.shape
    inv_keep = 1.0 / keep
    for r in range(m):
        for j in range(n):
            if dropout:
                if uniform(key, r * n + j) < keep:
                    dp[r, j] = dp[r, j] * _derivative(keep * a[r, j], kind, slope) * inv_keep
                else:
                    dp[r, j] = 0.0
            else:
                dp[r, j] = dp[r, j] * _derivative(a[r, j], kind, slope)


@njit(cache=True)
def backward(x, y, params, grads, sizes, offsets, acts, deltas, a_off,
             keep_hidden, alpha, alpha_l1, w, seed, stream0, hid_kinds, slope):
    """Gradient of ``sum_r w_r loss_r / sum_r w_r + alpha / 2 * sum_l ||W_l||^2
    + alpha_l1 * sum_l |W_l|`` into ``grads`` (the L1 term's subgradient is
    ``alpha_l1 * sign(W)``, 0 at 0).

    Needs the activations of a full forward pass of the same rows in ``acts``.
    The output delta ``p - y`` is the gradient of every supported
    (activation, loss) pair -- identity with squared error, logistic with
    binary cross-entropy, softmax with cross-entropy -- with respect to the
    output pre-activation (the canonical link).

    Parameters
    ----------
    x : ndarray (m, sizes[0])
        The forward pass's input rows.
    y : ndarray (m, sizes[L])
        Targets.
    grads : ndarray (n_params,)
        Output, in the layout of ``params``.
    deltas : ndarray like ``acts``
        Scratch for the back-propagated errors.
    keep_hidden : float
        Keep probability used in the forward pass.
    alpha, alpha_l1 : float
        L2 and L1 penalties on the weights (not on the biases).
    w : ndarray (>= m,)
        Row weights (sample weights; ones for the plain mean).
    seed, stream0, hid_kinds, slope :
        As in :func:`forward` (the dropout masks are drawn again).
    """
    m = x.shape[0]
    L = sizes.shape[0] - 1
    wsum = 0.0
    for r in range(m):
        wsum += w[r]
    inv_wsum = 1.0 / wsum if wsum > 0.0 else 0.0
    _output_delta(_rows(acts, sizes, a_off, L - 1, m), y,
                  _rows(deltas, sizes, a_off, L - 1, m), w, inv_wsum)
    backward_from_output(x, params, grads, sizes, offsets, acts, deltas, a_off,
                         keep_hidden, alpha, alpha_l1, seed, stream0, hid_kinds, slope)


@njit(cache=True)
def backward_from_output(x, params, grads, sizes, offsets, acts, deltas, a_off,
                         keep_hidden, alpha, alpha_l1, seed, stream0, hid_kinds, slope):
    """Gradient into ``grads`` given the output layer's delta (the gradient of the
    objective with respect to the output pre-activation of the ``m`` rows of
    ``x``), already written in the output rows of ``deltas``; the rest as
    :func:`backward` (which writes ``p - y`` there and calls this).
    """
    m = x.shape[0]
    L = sizes.shape[0] - 1
    dropout = keep_hidden < 1.0
    for l in range(L - 1, -1, -1):
        d = _rows(deltas, sizes, a_off, l, m)
        W = _weights(params, sizes, offsets, l)
        gW = _weights(grads, sizes, offsets, l)
        gb = _bias(grads, sizes, offsets, l)
        if l == 0:
            np.dot(x.T, d, gW)
        else:
            np.dot(_rows(acts, sizes, a_off, l - 1, m).T, d, gW)
        _penalty_and_bias_grad(gW, W, alpha, alpha_l1, d, gb)
        if l > 0:
            dp = _rows(deltas, sizes, a_off, l - 1, m)
            np.dot(d, W.T, dp)
            key = stream_key(seed, np.uint64(stream0 + l))
            _hidden_backward(dp, _rows(acts, sizes, a_off, l - 1, m), hid_kinds[l - 1],
                             slope, keep_hidden, key, dropout)


@njit(cache=True)
def entropy_delta(p, d, out_kind):
    """Output delta of the mean entropy of the predictions ``p`` (m rows); returns
    the mean entropy (nats).

    Softmax: ``H_r = -sum_k p_rk log p_rk`` and ``dH_r / dz_rk = -p_rk (log p_rk
    + H_r)``; logistic outputs (one Bernoulli per column, summed):
    ``dH / dz = -p (1 - p) z`` with ``z = log p - log(1 - p)``. ``d`` gets the
    gradient of ``(1 / m) sum_r H_r`` with respect to the pre-activations
    (Grandvalet and Bengio 2005). Terms with ``p`` exactly 0 or 1 contribute 0
    (their limit).
    """
    m, n = p.shape
    inv_m = 1.0 / m
    total = 0.0
    for r in range(m):
        if out_kind == SOFTMAX:
            h = 0.0
            for k in range(n):
                q = p[r, k]
                if q > 0.0:
                    h -= q * math.log(q)
            for k in range(n):
                q = p[r, k]
                d[r, k] = -q * (math.log(q) + h) * inv_m if q > 0.0 else 0.0
            total += h
        else:
            for k in range(n):
                q = p[r, k]
                if 0.0 < q < 1.0:
                    lq = math.log(q)
                    l1q = math.log1p(-q)
                    total -= q * lq + (1.0 - q) * l1q
                    d[r, k] = -q * (1.0 - q) * (lq - l1q) * inv_m
                else:
                    d[r, k] = 0.0
    return total * inv_m


@njit(cache=True)
def max_norm_project(params, sizes, offsets, max_norm, scale):
    """In place: every hidden unit's incoming weights to L2 norm at most ``max_norm``.

    For each hidden layer ``l < L - 1`` and unit ``j``, the column
    ``w = W_l[:, j]`` (the bias excluded) becomes ``w * max_norm / ||w||``
    when ``||w|| > max_norm`` and stays as it is otherwise: the Euclidean
    projection onto the ball of radius ``max_norm`` (Srivastava et al. 2014,
    sec. 5.1). The output layer's weights are not constrained.

    Parameters
    ----------
    params : ndarray (n_params,)
        Flat parameters (see the module docstring), modified in place.
    sizes, offsets : int64 ndarray
        As in :func:`forward`.
    max_norm : float
        The bound, > 0.
    scale : float64 ndarray (>= max(sizes[1:-1]),)
        Scratch for the columns' squared norms and factors.

    Returns
    -------
    n_clipped : int
        Number of columns rescaled.
    """
    L = sizes.shape[0] - 1
    n_clipped = 0
    for l in range(L - 1):
        W = _weights(params, sizes, offsets, l)
        n_clipped += _max_norm_columns(W, 0, W.shape[1], max_norm, scale)
    return n_clipped


def train_epoch(X, data, indices, indptr, is_sparse, Y, SW, order, batch_size,
                params, grads, opt1, opt2, sizes, offsets, a_off, acts, deltas,
                xbuf, ybuf, wbuf, rowloss, out_kind, hid_kinds, slope, keep_input,
                keep_hidden, alpha, alpha_l1, solver, learning_rate, hyper,
                seed, update_index, max_norm=0.0):
    """:func:`train_epoch_semi` without unlabelled rows; returns ``(loss_sum,
    n_updates)``.

    On more than one Numba thread (with a BLAS whose thread count can be set,
    and at least ``FUSED_MIN_PARAMS`` parameters) the epoch runs
    :func:`train_epoch_fused` instead: the same updates with each product split
    into one block per thread, the BLAS held at one thread for the epoch and
    its thread count restored after it. Otherwise it runs
    :func:`train_epoch_unfused`.

    A Python function, not a compiled one: the choice is made here so that
    compiling the one-thread epoch does not compile the fused one (about 40 s
    per dtype on a fresh cache) for a process that never runs it.
    """
    args = (X, data, indices, indptr, is_sparse, Y, SW, order, batch_size,
            params, grads, opt1, opt2, sizes, offsets, a_off, acts, deltas,
            xbuf, ybuf, wbuf, rowloss, out_kind, hid_kinds, slope, keep_input,
            keep_hidden, alpha, alpha_l1, solver, learning_rate, hyper,
            seed, update_index, max_norm)
    blocks = fused_blocks(params.shape[0])
    if blocks > 0:
        ran, res = at_one_blas_thread(train_epoch_fused, *args, blocks)
        if ran:
            return res
    return train_epoch_unfused(*args)


@njit(cache=True)
def train_epoch_unfused(X, data, indices, indptr, is_sparse, Y, SW, order, batch_size,
                        params, grads, opt1, opt2, sizes, offsets, a_off, acts, deltas,
                        xbuf, ybuf, wbuf, rowloss, out_kind, hid_kinds, slope, keep_input,
                        keep_hidden, alpha, alpha_l1, solver, learning_rate, hyper,
                        seed, update_index, max_norm=0.0):
    """:func:`train_epoch`'s one-thread path (:func:`train_epoch_semi` without
    unlabelled rows), on any thread count."""
    no_rows = np.zeros(1, np.int64)
    total, n_batches, _ = train_epoch_semi(
        X, data, indices, indptr, is_sparse, Y, SW, order, batch_size,
        params, grads, opt1, opt2, sizes, offsets, a_off, acts, deltas,
        xbuf, ybuf, wbuf, rowloss, out_kind, hid_kinds, slope, keep_input,
        keep_hidden, alpha, alpha_l1, solver, learning_rate, hyper,
        seed, update_index, X, data, indices, indptr, is_sparse, no_rows, 0, 0.0,
        grads, xbuf, max_norm)
    return total, n_batches


@njit(cache=True)
def train_epoch_semi(X, data, indices, indptr, is_sparse, Y, SW, order, batch_size,
                     params, grads, opt1, opt2, sizes, offsets, a_off, acts, deltas,
                     xbuf, ybuf, wbuf, rowloss, out_kind, hid_kinds, slope, keep_input,
                     keep_hidden, alpha, alpha_l1, solver, learning_rate, hyper,
                     seed, update_index, XU, data_u, indices_u, indptr_u, is_sparse_u,
                     order_u, batch_size_u, entropy_weight, grads_u, xubuf,
                     max_norm=0.0):
    """One pass over ``order`` in even mini-batches of at most ``batch_size`` rows.

    Each mini-batch is gathered into ``xbuf``/``ybuf``/``wbuf`` (dense rows of
    ``X`` or densified CSR rows of ``(data, indices, indptr)``, targets, sample
    weights ``SW``), dropped out, passed forward and backward (the objective
    is the mini-batch's sample-weighted mean loss plus the penalties), and
    the parameters are updated by optimiser ``solver`` of
    :mod:`rbmlib._kernels.optim` (state ``opt1``/``opt2``, hyperparameters
    ``hyper``, update number ``update_index + t + 1``). Update ``t`` draws
    its dropout masks from streams ``(update_index + t) * (L + 1) + l``.
    Allocates nothing per mini-batch.

    With ``entropy_weight > 0`` (softmax or logistic outputs), each update
    also takes the next ``batch_size_u`` unlabelled rows ``order_u[t *
    batch_size_u : (t + 1) * batch_size_u]`` of ``XU`` (dense, or the CSR
    triplet ``data_u, indices_u, indptr_u`` when ``is_sparse_u``; gathered into
    ``xubuf``; ``batch_size_u <= batch_size``), passes them forward without
    dropout and adds ``entropy_weight`` times the gradient of their mean
    prediction entropy (:func:`entropy_delta`, back-propagated into
    ``grads_u``, no penalty) to the labelled gradient before the step: entropy
    minimisation (Grandvalet and Bengio 2005). ``order_u`` holds at least
    ``n_batches * batch_size_u`` row indices.

    With ``max_norm > 0`` every update is followed by
    :func:`max_norm_project` (the hidden units' incoming weight vectors
    rescaled to L2 norm at most ``max_norm``; Srivastava et al. 2014). 0
    (the default): no constraint.

    Returns
    -------
    loss_sum : float
        Sum over the rows of ``SW[r] * loss_r`` (nats or half squared error),
        measured in the forward pass of their update (with dropout).
    n_updates : int
        Number of mini-batches processed.
    entropy_sum : float
        Sum over the updates of the unlabelled batch's mean entropy (nats;
        0 without the term).
    """
    n = order.shape[0]
    L = sizes.shape[0] - 1
    n_batches = (n + batch_size - 1) // batch_size
    total = 0.0
    start = 0
    drop_in = keep_input < 1.0
    semi = entropy_weight > 0.0 and out_kind != IDENTITY and batch_size_u > 0
    ent_total = 0.0
    constrain = max_norm > 0.0
    scale = np.empty(sizes[1:].max() if constrain else 0, np.float64)
    sw2 = SW.reshape((SW.shape[0], 1))
    wb2 = wbuf.reshape((wbuf.shape[0], 1))
    for t in range(n_batches):
        size = n // n_batches + (1 if t < n % n_batches else 0)
        stop = start + size
        if is_sparse:
            gather_csr(data, indices, indptr, order, start, stop, xbuf)
        else:
            gather_dense(X, order, start, stop, xbuf)
        gather_dense(Y, order, start, stop, ybuf)
        gather_dense(sw2, order, start, stop, wb2)
        x = xbuf[:size]
        y = ybuf[:size]
        stream0 = (update_index + t) * (L + 1)
        if drop_in:
            input_dropout(x, keep_input, stream_key(seed, np.uint64(stream0)))
        forward(x, params, sizes, offsets, acts, a_off, out_kind, L - 1,
                y, rowloss, True, keep_hidden, seed, stream0, hid_kinds, slope)
        for r in range(size):
            total += wbuf[r] * rowloss[r]
        backward(x, y, params, grads, sizes, offsets, acts, deltas, a_off,
                 keep_hidden, alpha, alpha_l1, wbuf, seed, stream0, hid_kinds, slope)
        if semi:
            u0 = t * batch_size_u
            if is_sparse_u:
                gather_csr(data_u, indices_u, indptr_u, order_u, u0, u0 + batch_size_u, xubuf)
            else:
                gather_dense(XU, order_u, u0, u0 + batch_size_u, xubuf)
            xu = xubuf[:batch_size_u]
            forward(xu, params, sizes, offsets, acts, a_off, out_kind, L - 1,
                    ybuf, rowloss, False, 1.0, seed, stream0, hid_kinds, slope)
            ent_total += entropy_delta(_rows(acts, sizes, a_off, L - 1, batch_size_u),
                                       _rows(deltas, sizes, a_off, L - 1, batch_size_u),
                                       out_kind)
            backward_from_output(xu, params, grads_u, sizes, offsets, acts, deltas, a_off,
                                 1.0, 0.0, 0.0, seed, stream0, hid_kinds, slope)
            for i in range(grads.shape[0]):
                grads[i] += entropy_weight * grads_u[i]
        step(solver, params, grads, opt1, opt2, learning_rate, hyper, update_index + t + 1)
        if constrain:
            max_norm_project(params, sizes, offsets, max_norm, scale)
        start = stop
    return total, n_batches, ent_total


@njit(cache=True)
def predict(X, data, indices, indptr, is_sparse, params, sizes, offsets, a_off,
            acts, xbuf, out_kind, upto, out, hid_kinds, slope):
    """Activations of layer ``upto`` for every row of X, in chunks of ``xbuf``'s rows.

    ``out`` has shape ``(n_samples, sizes[upto + 1])``; no dropout. Rows come
    from dense ``X`` or from the CSR triplet when ``is_sparse``.
    """
    n = out.shape[0]
    B = xbuf.shape[0]
    k = out.shape[1]
    dummy_y = xbuf[:0, :0]
    dummy_loss = np.empty(0)
    order = np.arange(n)
    for start in range(0, n, B):
        stop = min(start + B, n)
        m = stop - start
        if is_sparse:
            gather_csr(data, indices, indptr, order, start, stop, xbuf)
        else:
            gather_dense(X, order, start, stop, xbuf)
        forward(xbuf[:m], params, sizes, offsets, acts, a_off, out_kind, upto,
                dummy_y, dummy_loss, False, 1.0, 0, 0, hid_kinds, slope)
        a = _rows(acts, sizes, a_off, upto, m)
        for r in range(m):
            for j in range(k):
                out[start + r, j] = a[r, j]


# ------------------------------------------------- the fused epoch on Numba's threads
#: Below this many parameters the fused epoch is not used (as the CD update's).
FUSED_MIN_PARAMS = PARALLEL_MIN_ELEMENTS


@njit(cache=True)
def fused_blocks(n_params):
    """Blocks of :func:`train_epoch_fused` (one per Numba thread), 0 when the epoch
    runs unfused: one thread, or fewer than ``FUSED_MIN_PARAMS`` parameters
    (:func:`train_epoch` asks from Python; tests and benchmarks too)."""
    if n_params < FUSED_MIN_PARAMS:
        return 0
    nt = num_threads()
    if nt < 2:
        return 0
    return nt


@njit(cache=True, error_model="numpy")
def _input_block(p, blocks, X, data, indices, indptr, is_sparse, order, start, stop, xbuf,
                 drop_in, keep, key):
    """Block ``p`` of :func:`_fused_input`."""
    m = stop - start
    n = xbuf.shape[1]
    inv_keep = 1.0 / keep
    r0 = m * p // blocks
    r1 = m * (p + 1) // blocks
    if r1 > r0:
        if is_sparse:
            gather_csr(data, indices, indptr, order, start + r0, start + r1, xbuf[r0:r1])
        else:
            gather_dense(X, order, start + r0, start + r1, xbuf[r0:r1])
        if drop_in:
            for r in range(r0, r1):
                for i in range(n):
                    u = uniform(key, r * n + i)
                    xbuf[r, i] = xbuf[r, i] * inv_keep if u < keep else 0.0


@njit(parallel=True, cache=True)
def _fused_input(blocks, X, data, indices, indptr, is_sparse, order, start, stop, xbuf,
                 drop_in, keep, key):
    """Rows ``order[start:stop]`` into ``xbuf`` and their input dropout, by row blocks
    (the same uniforms as :func:`input_dropout`)."""
    for p in prange(blocks):
        _input_block(p, blocks, X, data, indices, indptr, is_sparse, order, start, stop,
                     xbuf, drop_in, keep, key)


@njit(cache=True, error_model="numpy")
def _forward_block(p, blocks, prev, m, W, b, z, keep, key, dropout, kind, slope):
    """Block ``p`` of :func:`_fused_forward`."""
    n = z.shape[1]
    j0, j1 = _block(n, blocks, p)
    if j1 > j0:
        gemm(False, False, 1.0, prev, W[:, j0:j1], 0.0, z[:, j0:j1])
        inv_keep = 1.0 / keep
        if kind == H_LOGISTIC:
            # sampling.sigmoid without its branch, so that the loop vectorises (about 4x
            # faster with dropout): the same numerator, denominator and rounding
            for r in range(m):
                if dropout:
                    for j in range(j0, j1):
                        t = z[r, j] + b[j]
                        e = math.exp(-abs(t))
                        a = (1.0 if t >= 0 else e) / (1.0 + e)
                        u = uniform(key, r * n + j)
                        z[r, j] = a * inv_keep if u < keep else 0.0
                else:
                    for j in range(j0, j1):
                        t = z[r, j] + b[j]
                        e = math.exp(-abs(t))
                        z[r, j] = (1.0 if t >= 0 else e) / (1.0 + e)
        else:
            for r in range(m):
                for j in range(j0, j1):
                    a = _activate(z[r, j] + b[j], kind, slope)
                    if dropout:
                        u = uniform(key, r * n + j)
                        a = a * inv_keep if u < keep else 0.0
                    z[r, j] = a


@njit(parallel=True, cache=True)
def _fused_forward(blocks, l, prev, m, params, sizes, offsets, acts, a_off, keep, key,
                   dropout, kind, slope):
    """Hidden layer ``l`` of :func:`forward` by blocks of its units: per block
    ``z_j = prev W_j`` (one single-threaded gemm), then bias, activation and
    dropout on the block (:func:`_bias_act_dropout`'s arithmetic and uniforms).
    Each block is a separately compiled function (:func:`_forward_block`): loops
    compiled inside a parallel region ran about 3x slower."""
    W = _weights(params, sizes, offsets, l)
    b = _bias(params, sizes, offsets, l)
    z = _rows(acts, sizes, a_off, l, m)
    for p in prange(blocks):
        _forward_block(p, blocks, prev, m, W, b, z, keep, key, dropout, kind, slope)


@njit(cache=True, error_model="numpy")
def _delta_block(p, blocks, k, m, params, sizes, offsets, acts, deltas, a_off, keep, key,
                 dropout, kind, slope):
    """Block ``p`` of the delta of hidden layer ``k - 1``: ``dp_i = d_k W_k[i]^T`` for
    its units ``i`` (rows of ``W_k``), times the derivative (:func:`_hidden_backward`)."""
    d = _rows(deltas, sizes, a_off, k, m)
    W = _weights(params, sizes, offsets, k)
    dp = _rows(deltas, sizes, a_off, k - 1, m)
    a = _rows(acts, sizes, a_off, k - 1, m)
    n = dp.shape[1]
    i0, i1 = _block(n, blocks, p)
    if i1 > i0:
        gemm(False, True, 1.0, d, W[i0:i1], 0.0, dp[:, i0:i1])
        inv_keep = 1.0 / keep
        if kind == H_LOGISTIC:
            # _derivative's logistic case written out: without the kind's branches
            # in the inner loop it vectorises (the same arithmetic)
            for r in range(m):
                if dropout:
                    for j in range(i0, i1):
                        f = keep * a[r, j]
                        g = dp[r, j] * (f * (1.0 - f)) * inv_keep
                        u = uniform(key, r * n + j)
                        dp[r, j] = g if u < keep else 0.0
                else:
                    for j in range(i0, i1):
                        f = a[r, j]
                        dp[r, j] = dp[r, j] * (f * (1.0 - f))
        else:
            for r in range(m):
                if dropout:
                    for j in range(i0, i1):
                        g = dp[r, j] * _derivative(keep * a[r, j], kind, slope) * inv_keep
                        u = uniform(key, r * n + j)
                        dp[r, j] = g if u < keep else 0.0
                else:
                    for j in range(i0, i1):
                        dp[r, j] = dp[r, j] * _derivative(a[r, j], kind, slope)


@njit(cache=True)
def _penalty_row(g, w, alpha, alpha_l1):
    """g += alpha * w + alpha_l1 * sign(w) on one row segment (a 1-D loop vectorises;
    the same arithmetic as :func:`_penalty_and_bias_grad`)."""
    for j in range(g.shape[0]):
        x = w[j]
        sgn = 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)
        g[j] += alpha * x + alpha_l1 * sgn


@njit(cache=True)
def _sum_squares_row(w, acc):
    """acc += w * w on one row segment (:func:`max_norm_project`'s arithmetic)."""
    for j in range(w.shape[0]):
        x = w[j]
        acc[j] += x * x


@njit(cache=True)
def _scale_row(w, factor):
    """w *= factor on one row segment."""
    for j in range(w.shape[0]):
        w[j] = w[j] * factor[j]


@njit(cache=True)
def _max_norm_columns(W, c0, c1, max_norm, scale):
    """Columns ``c0:c1`` of ``W`` rescaled in place to L2 norm at most ``max_norm``;
    returns how many were rescaled. ``scale[c0:c1]`` (float64) is scratch. Row by
    row (``W`` is C-contiguous, so the loops vectorise), each column's squares
    summed in row order: the arithmetic of :func:`max_norm_project` for one thread's
    block of units or for a whole layer."""
    sc = scale[c0:c1]
    sc[:] = 0.0
    for i in range(W.shape[0]):
        _sum_squares_row(W[i, c0:c1], sc)
    return _clip_columns(W, c0, c1, max_norm, scale)


@njit(cache=True)
def _clip_columns(W, c0, c1, max_norm, scale):
    """The second half of :func:`_max_norm_columns`: ``scale[c0:c1]`` holds the
    columns' sums of squares; those with a norm above ``max_norm`` are rescaled.
    Returns how many."""
    sc = scale[c0:c1]
    clipped = 0
    for j in range(c1 - c0):
        s = math.sqrt(sc[j])
        if s > max_norm:
            sc[j] = max_norm / s
            clipped += 1
        else:
            sc[j] = 1.0
    if clipped:
        for i in range(W.shape[0]):
            _scale_row(W[i, c0:c1], sc)
    return clipped


@njit(cache=True)
def _step_block(p, blocks, k, prev, m, params, grads, opt1, opt2, sizes, offsets, deltas,
                a_off, alpha, alpha_l1, solver, learning_rate, hyper, t, max_norm, scale):
    """Block ``p`` of layer ``k``'s gradient and optimiser step: ``gW = prev^T d_k`` on a
    block of columns of ``W_k`` (hidden layers under max-norm, or wide layers) or of
    rows (otherwise), the penalties, a block of the bias gradient, the step of
    :func:`rbmlib._kernels.optim.step` on those parameters and, under max-norm, the
    projection of the block's columns (:func:`max_norm_project`'s arithmetic)."""
    L = sizes.shape[0] - 1
    d = _rows(deltas, sizes, a_off, k, m)
    W = _weights(params, sizes, offsets, k)
    gW = _weights(grads, sizes, offsets, k)
    gb = _bias(grads, sizes, offsets, k)
    n_in, n_out = W.shape
    ow = offsets[2 * k]
    ob = offsets[2 * k + 1]
    constrain = max_norm > 0.0 and k < L - 1
    if constrain or n_out >= 32 * blocks:
        c0, c1 = _block(n_out, blocks, p)
        i0, i1 = 0, n_in
    else:
        c0, c1 = 0, n_out
        i0, i1 = _block(n_in, blocks, p)
    if i1 > i0 and c1 > c0:
        gemm(True, False, 1.0, prev[:, i0:i1], d[:, c0:c1], 0.0, gW[i0:i1, c0:c1])
        penalty = alpha != 0.0 or alpha_l1 != 0.0
        if c0 == 0 and c1 == n_out and not constrain:
            # whole (narrow) rows: one step over the block
            if penalty:
                for i in range(i0, i1):
                    _penalty_row(gW[i, c0:c1], W[i, c0:c1], alpha, alpha_l1)
            a0 = ow + i0 * n_out
            a1 = ow + i1 * n_out
            step(solver, params[a0:a1], grads[a0:a1], opt1[a0:a1], opt2[a0:a1],
                 learning_rate, hyper, t)
        else:
            # one pass per row segment while it is in cache: penalty, step and the
            # columns' squares for max-norm (each element's arithmetic, and the order
            # of the sums, as in separate passes)
            sc = scale[c0:c1]
            if constrain:
                sc[:] = 0.0
            for i in range(i0, i1):
                if penalty:
                    _penalty_row(gW[i, c0:c1], W[i, c0:c1], alpha, alpha_l1)
                a0 = ow + i * n_out + c0
                a1 = ow + i * n_out + c1
                step(solver, params[a0:a1], grads[a0:a1], opt1[a0:a1], opt2[a0:a1],
                     learning_rate, hyper, t)
                if constrain:
                    _sum_squares_row(W[i, c0:c1], sc)
            if constrain:
                _clip_columns(W, c0, c1, max_norm, scale)
    b0, b1 = _block(n_out, blocks, p)
    if b1 > b0:
        for j in range(b0, b1):
            s = 0.0
            for r in range(m):
                s += d[r, j]
            gb[j] = s
        step(solver, params[ob + b0:ob + b1], grads[ob + b0:ob + b1], opt1[ob + b0:ob + b1],
             opt2[ob + b0:ob + b1], learning_rate, hyper, t)


@njit(parallel=True, cache=True)
def _fused_backward(blocks, ka, kb, kc, x, m, params, grads, opt1, opt2, sizes, offsets,
                    acts, deltas, a_off, keep, seed, stream0, hid_kinds, slope, alpha,
                    alpha_l1, solver, learning_rate, hyper, t, max_norm, scale):
    """One region of the fused backward pass: per block, with ``ka >= 1`` the delta of
    layer ``ka - 1`` (:func:`_delta_block`, reading ``W_ka`` not yet stepped); then the
    gradient and step of layers ``kb`` and ``kc`` (:func:`_step_block`; ``-1``: none),
    whose deltas are complete and whose weights no other block of the region reads."""
    dropout = keep < 1.0
    key = stream_key(seed, np.uint64(stream0 + max(ka, 1)))
    kind = hid_kinds[ka - 1] if ka >= 1 else 0
    pb = _rows(acts, sizes, a_off, max(kb, 1) - 1, m) if kb >= 1 else x
    pc = _rows(acts, sizes, a_off, max(kc, 1) - 1, m) if kc >= 1 else x
    for p in prange(blocks):
        if ka >= 1:
            _delta_block(p, blocks, ka, m, params, sizes, offsets, acts, deltas, a_off, keep,
                         key, dropout, kind, slope)
        if kb >= 0:
            _step_block(p, blocks, kb, pb, m, params, grads, opt1, opt2, sizes, offsets,
                        deltas, a_off, alpha, alpha_l1, solver, learning_rate, hyper, t,
                        max_norm, scale[max(kb, 0)])
        if kc >= 0:
            _step_block(p, blocks, kc, pc, m, params, grads, opt1, opt2, sizes, offsets,
                        deltas, a_off, alpha, alpha_l1, solver, learning_rate, hyper, t,
                        max_norm, scale[max(kc, 0)])


@njit(cache=True)
def train_epoch_fused(X, data, indices, indptr, is_sparse, Y, SW, order, batch_size,
                      params, grads, opt1, opt2, sizes, offsets, a_off, acts, deltas,
                      xbuf, ybuf, wbuf, rowloss, out_kind, hid_kinds, slope, keep_input,
                      keep_hidden, alpha, alpha_l1, solver, learning_rate, hyper,
                      seed, update_index, max_norm, blocks):
    """:func:`train_epoch` with each update's matrix products split into ``blocks``
    blocks on Numba's threads; returns ``(loss_sum, n_updates)``.

    The same updates as :func:`train_epoch_semi` without unlabelled rows: the
    same mini-batches, random numbers (dropout uniform of element ``(r, j)`` of
    layer ``l`` number ``r * n + j`` of stream ``(seed, t (L + 1) + l)``) and,
    element for element, the same arithmetic. Each block's product is a
    single-threaded BLAS call on the thread that then works on the block while
    it is in cache (as the fused CD update, :func:`rbmlib._kernels.cd.cd_epoch`):

    * the mini-batch's gather and input dropout, by rows;
    * per hidden layer ``l``, ``z = a_{l-1} W_l`` by blocks of its units, with
      bias, activation and dropout on the block (:func:`_fused_forward`);
    * the output layer (a few columns) and its delta, serially;
    * from the top, one region per hidden layer ``k``: the delta of layer
      ``k - 1`` by blocks of its units (``d_k W_k^T`` with ``W_k`` not yet
      stepped) together with layer ``k + 1``'s weight gradient, penalties,
      optimiser step and max-norm projection by blocks of ``W_{k+1}``
      (:func:`_fused_backward`); a last region steps layers 1 and 0.

    Split products may round their sums in another order than whole ones, so
    the result agrees with :func:`train_epoch`'s one-thread result to
    rounding, not necessarily bit for bit. The caller holds the BLAS at one
    thread (:func:`train_epoch` does). Any solver of :mod:`.optim`.
    """
    n = order.shape[0]
    L = sizes.shape[0] - 1
    n_batches = (n + batch_size - 1) // batch_size
    total = 0.0
    start = 0
    drop_in = keep_input < 1.0
    dropout = keep_hidden < 1.0
    scale = np.empty((L, sizes[1:].max()), np.float64)  # a row per layer: a region
    # steps two layers, whose column blocks differ
    sw2 = SW.reshape((SW.shape[0], 1))
    wb2 = wbuf.reshape((wbuf.shape[0], 1))
    n0 = xbuf.shape[1]
    xflat = xbuf.reshape(xbuf.shape[0] * n0)
    W_out = _weights(params, sizes, offsets, L - 1)
    b_out = _bias(params, sizes, offsets, L - 1)
    for t in range(n_batches):
        size = n // n_batches + (1 if t < n % n_batches else 0)
        stop = start + size
        stream0 = (update_index + t) * (L + 1)
        _fused_input(blocks, X, data, indices, indptr, is_sparse, order, start, stop, xbuf,
                     drop_in, keep_input, stream_key(seed, np.uint64(stream0)))
        gather_dense(Y, order, start, stop, ybuf)
        gather_dense(sw2, order, start, stop, wb2)
        x = xflat[:size * n0].reshape((size, n0))
        y = ybuf[:size]
        for l in range(L - 1):
            prev = x if l == 0 else _rows(acts, sizes, a_off, l - 1, size)
            _fused_forward(blocks, l, prev, size, params, sizes, offsets, acts, a_off,
                           keep_hidden, stream_key(seed, np.uint64(stream0 + l + 1)),
                           dropout, hid_kinds[l], slope)
        z = _rows(acts, sizes, a_off, L - 1, size)
        prev = x if L == 1 else _rows(acts, sizes, a_off, L - 2, size)
        np.dot(prev, W_out, z)
        _output(z, b_out, y, out_kind, rowloss, True)
        wsum = 0.0
        for r in range(size):
            total += wbuf[r] * rowloss[r]
            wsum += wbuf[r]
        inv_wsum = 1.0 / wsum if wsum > 0.0 else 0.0
        _output_delta(z, y, _rows(deltas, sizes, a_off, L - 1, size), wbuf, inv_wsum)
        tt = update_index + t + 1
        for k in range(L - 1, 0, -1):
            _fused_backward(blocks, k, k + 1 if k + 1 <= L - 1 else -1, -1, x, size, params,
                            grads, opt1, opt2, sizes, offsets, acts, deltas, a_off,
                            keep_hidden, seed, stream0, hid_kinds, slope, alpha, alpha_l1,
                            solver, learning_rate, hyper, tt, max_norm, scale)
        _fused_backward(blocks, 0, 1 if L >= 2 else -1, 0, x, size, params, grads, opt1,
                        opt2, sizes, offsets, acts, deltas, a_off, keep_hidden, seed,
                        stream0, hid_kinds, slope, alpha, alpha_l1, solver, learning_rate,
                        hyper, tt, max_norm, scale)
        start = stop
    return total, n_batches
