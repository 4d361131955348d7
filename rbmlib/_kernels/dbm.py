"""Arithmetic of Deep Boltzmann Machines with Bernoulli units, on plain arrays.

A DBM with ``K`` hidden layers has layers ``0..K`` (layer 0 the visible
units), weights ``W[k]`` of shape ``(n_k, n_{k+1})`` between layers ``k`` and
``k + 1`` and biases ``b[k]`` of shape ``(n_k,)``; its energy is

    E(h_0, ..., h_K) = - sum_k b_k . h_k - sum_k h_k W_k h_{k+1}

(Salakhutdinov and Hinton 2009). With Gaussian visible units (``gaussian=True``
in the functions that draw or sum over layer 0) the visible term is
``sum_i (h_0i - b_0i)^2 / 2`` instead of ``-b_0 . h_0`` (unit variance, the
Gaussian-Bernoulli DBM of Cho, Raiko and Ilin 2013, IJCNN, with ``sigma = 1``;
Salakhutdinov and Hinton 2009 model NORB's pixels so), so that
``p(h_0 | h_1) = N(b_0 + h_1 W_0^T, I)``; the hidden layers are unchanged and
mean field, which clamps layer 0, is the same. Given its two neighbours, layer ``k`` is a
layer of independent logistic units with pre-activation
``b_k + h_{k-1} W_{k-1} + h_{k+1} W_k^T``; the odd layers are independent given
the even ones and the reverse, which makes block Gibbs sampling over odd and
even layers, coordinate-ascent mean field, and summing the odd layers out
analytically (for AIS and exact enumeration) possible.

The products are NumPy ``@`` (BLAS); the logistic passes and Bernoulli draws
are the Numba kernels of the unit table (:func:`rbmlib._kernels.units.sigmoid_rows`,
:func:`~rbmlib._kernels.units.sigmoid_sample_rows`; the Gaussian draws of layer 0
:func:`~rbmlib._kernels.units.hidden_sample_rows` of the linear units), whose uniforms come from
the counter-based streams of :mod:`rbmlib._kernels.sampling` (a draw depends on
``(seed, stream, element)`` only). No scikit-learn here.
"""

import math

import numpy as np

from ._jit import njit
from .sampling import fast_sigmoid, stream_key
from .units import (
    GAUSSIAN_HIDDEN,
    hidden_sample_rows,
    sigmoid_rows,
    sigmoid_sample_rows,
)

#: ``log(2 pi) / 2``: a unit-variance Gaussian unit's share of ``log Z`` (its integral).
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def key(seed, stream):
    """The uint64 key of random stream ``stream`` of ``seed`` (both non-negative ints)."""
    return np.uint64(stream_key(np.uint64(seed), np.uint64(stream)))


def input_of(h, W, k, beta=1.0):
    """``h_{k-1} W_{k-1} + h_{k+1} W_k^T`` (the terms that exist), times ``beta``.

    ``h`` is a list of the layers' states (rows are samples); the biases are not
    included. Returns a new C-contiguous array of shape ``(n_rows, n_k)``.
    """
    K = len(W)
    if k > 0:
        out = h[k - 1] @ W[k - 1]
        if k < K:
            out += h[k + 1] @ W[k].T
    else:
        out = h[1] @ W[0].T
    if beta != 1.0:
        out *= beta
    return np.ascontiguousarray(out)


def up_pass(X, W, b, xw=None):
    """The recognition pass that starts mean field: ``mu_k = sigmoid(b_k + f_k
    mu_{k-1} W_{k-1})`` with ``f_k = 2`` below the top layer and 1 at the top.

    Below the top, a unit's input from the layer above is missing in a
    bottom-up pass; doubling the input from below stands in for it
    (Salakhutdinov and Hinton 2012, sec. 3.3).

    ``xw``, when given, is ``X @ W[0]``.

    Returns
    -------
    mu : list of ndarray
        ``[X, mu_1, ..., mu_K]``, ``mu_k`` of shape ``(n_rows, n_k)``.
    """
    K = len(W)
    mu = [X]
    for k in range(1, K + 1):
        pre = xw.copy() if (k == 1 and xw is not None) else mu[k - 1] @ W[k - 1]
        if k < K:
            pre *= 2.0
        pre = np.ascontiguousarray(pre)
        sigmoid_rows(pre, b[k], pre)
        mu.append(pre)
    return mu


@njit(cache=True, error_model="numpy")
def sigmoid_change(pre, bias, old, damping):
    """``pre = (1 - damping) sigmoid(pre + bias) + damping old`` in place, in one
    pass; returns ``max |pre - old|`` (0 for an empty array)."""
    m, n = pre.shape
    delta = 0.0
    for r in range(m):
        for j in range(n):
            p = fast_sigmoid(pre[r, j] + bias[j])
            if damping != 0.0:
                p = (1.0 - damping) * p + damping * old[r, j]
            d = abs(p - old[r, j])
            delta = max(delta, d)
            pre[r, j] = p
    return delta


@njit(cache=True, error_model="numpy")
def momentum_step(param, vel, pos, neg, lr, momentum, decay):
    """``vel = momentum vel + lr (pos - neg - decay param)``; ``param += vel``
    (elementwise, in place, one pass over the four arrays of one shape)."""
    p, v, a, c = param.ravel(), vel.ravel(), pos.ravel(), neg.ravel()
    for i in range(p.shape[0]):
        v[i] = momentum * v[i] + lr * (a[i] - c[i] - decay * p[i])
        p[i] += v[i]


def centered_step(W, b, vW, vb, m, pos_W, pos_b, neg_W, neg_b, lr, momentum, decay, nu):
    """One update of the centered parametrisation, applied to the ordinary one.

    With offsets ``m_k`` the centered energy is ``-sum_k c_k . (h_k - m_k) -
    sum_k (h_k - m_k) W_k (h_{k+1} - m_{k+1})``, the same model as the
    ordinary energy with biases ``b_k = c_k - m_{k-1} W_{k-1} - W_k m_{k+1}``.
    The centered gradient (Melchior, Fischer and Wiskott 2016, algorithm 1)
    is ``E[(h_k - m_k)(h_{k+1} - m_{k+1})^T]_data - E[...]_model`` for
    ``W_k`` and ``E[h_k]_data - E[h_k]_model`` for ``c_k``; ``vW``, ``vb``
    are its momentum velocities. ``W`` and ``b`` (the ordinary parameters,
    lists changed in place) move as the centered ones do; then the hidden
    offsets move by ``nu`` toward the data's means ``pos_b`` (the visible
    offsets stay the data means), which leaves the model unchanged.

    Parameters
    ----------
    W, b, vW, vb, m : lists of ndarray
        Weights, ordinary biases, the velocities, the offsets (in place).
    pos_W, pos_b, neg_W, neg_b : lists of ndarray
        Uncentered statistics (:func:`data_statistics`, :func:`chain_statistics`).
    lr, momentum, decay, nu : float
    """
    K = len(W)
    for k in range(K):
        a, c = m[k], m[k + 1]
        g = (pos_W[k] - np.outer(a, pos_b[k + 1]) - np.outer(pos_b[k], c)) - (
            neg_W[k] - np.outer(a, neg_b[k + 1]) - np.outer(neg_b[k], c))
        g -= decay * W[k]
        vW[k] *= momentum
        vW[k] += lr * g
    for k in range(K + 1):
        vb[k] *= momentum
        vb[k] += lr * (pos_b[k] - neg_b[k])
        db = vb[k].copy()
        if k > 0:
            db -= m[k - 1] @ vW[k - 1]
        if k < K:
            db -= vW[k] @ m[k + 1]
        b[k] += db
    for k in range(K):
        W[k] += vW[k]
    for k in range(1, K + 1):
        m[k] *= 1.0 - nu
        m[k] += nu * pos_b[k]


def mean_field(X, W, b, n_iter, tol, damping=0.0, mu=None):
    """Mean-field posteriors ``q(h_k = 1 | v)`` of every hidden layer.

    Fixed-point iterations of ``mu_k = sigmoid(b_k + mu_{k-1} W_{k-1} +
    mu_{k+1} W_k^T)``, the odd layers first and then the even ones, each
    layer from the newest values of its neighbours (coordinate ascent on the
    variational lower bound, which cannot decrease when ``damping == 0``);
    ``damping`` in [0, 1) keeps that share of the previous value.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_0)
        Visible rows (float64, C order).
    W, b : lists of ndarray
        The DBM's weights and biases.
    n_iter : int
        Most sweeps (>= 1).
    tol : float
        Stop after the first sweep that changed no posterior by more than ``tol``.
    damping : float, default=0.0
    mu : list of ndarray, default=None
        Starting point (``[X, mu_1, ...]``, changed in place); None: :func:`up_pass`.

    Returns
    -------
    mu : list of ndarray
        ``[X, mu_1, ..., mu_K]``.
    n_done : int
        Sweeps run.
    """
    K = len(W)
    xw = X @ W[0]  # layer 1's input from the visible units, the same in every sweep
    if mu is None:
        mu = up_pass(X, W, b, xw)
    else:
        mu[0] = X
    n_done = 0
    for _ in range(n_iter):
        n_done += 1
        delta = 0.0
        for first in (1, 2):
            for k in range(first, K + 1, 2):
                if k == 1:
                    pre = xw + mu[2] @ W[1].T
                else:
                    pre = input_of(mu, W, k)
                delta = max(delta, sigmoid_change(pre, b[k], mu[k], float(damping)))
                mu[k] = pre
        if delta <= tol:
            break
    return mu, n_done


def draw_layer(pre, bias, out, key, gaussian=False, keep_mean=True):
    """``out`` = a draw of one layer given its input ``pre`` (biases excluded):
    Bernoulli units ``u < sigmoid(pre + bias)``, Gaussian (``gaussian``, layer 0
    only) ``N(pre + bias, 1)``; with ``keep_mean`` ``pre`` becomes the
    conditional mean."""
    if gaussian:
        hidden_sample_rows(pre, bias, out, key, keep_mean, GAUSSIAN_HIDDEN)
    else:
        sigmoid_sample_rows(pre, bias, out, key, keep_mean)


def gibbs_sweeps(h, W, b, seed, stream, n_steps, beta=1.0, gaussian=False):
    """``n_steps`` sweeps of block Gibbs sampling, odd layers then even ones.

    ``h`` (a list of the states of every layer, layer 0 the visible units)
    is updated in place. The DBM has weights ``beta * W`` (``beta = 1``: the
    model itself; AIS anneals it). Sweep ``s`` draws layer ``k`` from stream
    ``stream + s * (K + 1) + k`` of ``seed``; ``gaussian``: layer 0 from
    ``N(b_0 + beta h_1 W_0^T, 1)``.

    Returns
    -------
    p : list of ndarray or None
        The conditional means (probabilities) that drew the even layers in the
        last sweep (entries of the odd layers are None): the Rao-Blackwellised
        statistics of the chains use them.
    n_streams : int
        Streams used, ``n_steps * (K + 1)``.
    """
    K = len(W)
    p = [None] * (K + 1)
    for s in range(n_steps):
        for first in (1, 0):
            for k in range(first, K + 1, 2):
                pre = input_of(h, W, k, beta)
                draw_layer(pre, b[k], h[k], key(seed, stream + s * (K + 1) + k),
                           gaussian and k == 0)
                p[k] = pre
    return p, n_steps * (K + 1)


def chain_statistics(h, p, W):
    """The chains' estimates of ``E[h_k^T h_{k+1}]`` and ``E[h_k]`` under the model.

    Each product pairs an odd layer's sampled states with an even layer's
    conditional probabilities given them (exact conditional expectation, so
    an unbiased, lower-variance estimate than two samples); the bias
    statistics are the even layers' probabilities and the odd layers' samples.
    Gaussian visible units: ``p[0]`` is their conditional mean, which plays the
    same part (the gradient of ``b_0`` is ``E[v]_data - E[v]_model`` too).

    Returns
    -------
    dW : list of ndarray
        ``dW[k]`` of shape ``(n_k, n_{k+1})``, averaged over the chains.
    db : list of ndarray
        ``db[k]`` of shape ``(n_k,)``.
    """
    K = len(W)
    n = h[0].shape[0]
    e = [p[k] if k % 2 == 0 else h[k] for k in range(K + 1)]
    dW = [(e[k].T @ e[k + 1]) / n for k in range(K)]
    db = [e[k].mean(axis=0) for k in range(K + 1)]
    return dW, db


def data_statistics(mu):
    """``E_q[h_k^T h_{k+1}]`` and ``E_q[h_k]`` of the mean-field posteriors
    ``mu = [X, mu_1, ...]``, averaged over the rows (same layout as
    :func:`chain_statistics`)."""
    n = mu[0].shape[0]
    dW = [(mu[k].T @ mu[k + 1]) / n for k in range(len(mu) - 1)]
    db = [m.mean(axis=0) for m in mu]
    return dW, db


# ----------------------------------------------------------- log Z pieces
def _softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def log_unnormalised(h, W, b, parity, beta=1.0, gaussian=False):
    """``log sum_{layers of the other parity} exp(-E)`` of each row of ``h``.

    The layers of parity ``parity`` (0: even, layer 0 the visible units
    included; 1: odd) are given in ``h`` (entries of the other layers are
    ignored); those of the other parity are summed out analytically, each
    unit contributing ``softplus(b_j + beta * input_j)``. The weights are
    ``beta * W``.

    Gaussian visible units (``gaussian``): given, layer 0 contributes
    ``-|v - b_0|^2 / 2``; summed out (``parity == 1``), it is integrated:
    ``int exp(-|v - b_0|^2 / 2 + v . a) dv = (2 pi)^(n_0 / 2) exp(b_0 . a +
    |a|^2 / 2)`` with ``a = beta h_1 W_0^T``.

    Returns
    -------
    log_p : ndarray of shape (n_rows,)
        In nats.
    """
    K = len(W)
    n = next(x for x in h if x is not None).shape[0]
    out = np.zeros(n)
    for k in range(K + 1):
        if gaussian and k == 0:
            if parity == 0:
                out -= 0.5 * ((h[0] - b[0]) ** 2).sum(axis=1)
            else:
                a = input_of(h, W, 0, beta)
                out += a @ b[0] + 0.5 * (a * a).sum(axis=1) + len(b[0]) * _HALF_LOG_2PI
        elif k % 2 == parity:
            out += h[k] @ b[k]
        else:
            out += _softplus(input_of(h, W, k, beta) + b[k]).sum(axis=1)
    return out


def all_states(n_bits, start, stop):
    """Rows ``start..stop-1`` of the binary enumeration of ``n_bits`` bits (float64)."""
    idx = np.arange(start, stop, dtype=np.int64)
    return ((idx[:, None] >> np.arange(n_bits, dtype=np.int64)) & 1).astype(np.float64)


def n_enumerated(sizes, gaussian=False):
    """Units of the parity :func:`exact_log_z` enumerates (``2 **`` that many
    states): the smaller parity, the odd one with Gaussian visible units."""
    n_par = [sum(sizes[0::2]), sum(sizes[1::2])]
    return n_par[1] if gaussian else min(n_par)


def exact_log_z(W, b, chunk=1 << 14, gaussian=False):
    """``log Z`` by enumerating the layers of one parity and summing the others out.

    Enumerates the parity with fewer units, ``2 ** n`` states in chunks of
    ``chunk`` rows; with Gaussian visible units (``gaussian``) the odd layers,
    the visible units integrated out analytically (:func:`log_unnormalised`).
    The caller bounds ``n``.

    Returns
    -------
    log_z : float
        In nats.
    """
    K = len(W)
    sizes = [len(bk) for bk in b]
    n_par = [sum(sizes[k] for k in range(K + 1) if k % 2 == q) for q in (0, 1)]
    parity = 1 if gaussian else (0 if n_par[0] <= n_par[1] else 1)
    layers = [k for k in range(K + 1) if k % 2 == parity]
    n_bits = n_par[parity]
    total = 1 << n_bits
    acc = -math.inf
    for start in range(0, total, chunk):
        states = all_states(n_bits, start, min(total, start + chunk))
        h = [None] * (K + 1)
        col = 0
        for k in layers:
            h[k] = np.ascontiguousarray(states[:, col:col + sizes[k]])
            col += sizes[k]
        lp = log_unnormalised(h, W, b, parity, gaussian=gaussian)
        m = float(np.max(lp))
        acc = np.logaddexp(acc, m + math.log(float(np.sum(np.exp(lp - m)))))
    return float(acc)


def ais_log_weights(W, b, betas, n_runs, seed, progress=None, gaussian=False):
    """Log importance weights of AIS runs from the independent units to the DBM.

    The intermediate models are the DBM with weights ``beta * W`` and its own
    biases; at ``beta = 0`` every unit is independent (``log Z_0 = sum_k
    sum_j softplus(b_kj)``; Gaussian visible units, ``gaussian``: ``v ~
    N(b_0, I)``, whose share of ``log Z_0`` is ``(n_0 / 2) log(2 pi)``) and
    sampled exactly. The state of a run is its
    even layers (the odd ones summed out analytically, Salakhutdinov and
    Hinton 2009, sec. 4): the weight gains ``log p*_{beta_t}(x) - log
    p*_{beta_{t-1}}(x)`` of :func:`log_unnormalised`, then ``x`` moves by one
    Gibbs sweep of the DBM at ``beta_t`` (which leaves the even layers'
    marginal invariant; the odd layers' inputs of the weight draw its odd
    half, so a temperature costs one product per weight matrix and layer
    side, as :func:`gibbs_sweeps`).

    Returns
    -------
    log_w : ndarray of shape (n_runs,)
    log_z_base : float
        ``log Z_0`` in nats.
    """
    K = len(W)
    if gaussian:
        log_z_base = float(len(b[0]) * _HALF_LOG_2PI
                           + sum(_softplus(bk).sum() for bk in b[1:]))
    else:
        log_z_base = float(sum(_softplus(bk).sum() for bk in b))
    h = []
    for k in range(K + 1):
        pre = np.zeros((n_runs, len(b[k])))
        s = np.empty_like(pre)
        draw_layer(pre, b[k], s, key(seed, k), gaussian and k == 0, keep_mean=False)
        h.append(s)
    stream = K + 1
    log_w = np.zeros(n_runs)
    prev = float(betas[0])
    for t in range(1, len(betas)):
        beta = float(betas[t])
        # both log p* at the current even states from one set of odd inputs,
        # which also draw the odd layers of the sweep at beta_t
        for k in range(1, K + 1, 2):
            x = input_of(h, W, k)
            log_w += (_softplus(beta * x + b[k]) - _softplus(prev * x + b[k])).sum(axis=1)
            x *= beta
            sigmoid_sample_rows(x, b[k], h[k], key(seed, stream + k), False)
        for k in range(0, K + 1, 2):
            x = input_of(h, W, k, beta)
            draw_layer(x, b[k], h[k], key(seed, stream + k), gaussian and k == 0,
                       keep_mean=False)
        stream += K + 1
        prev = beta
        if progress is not None:
            progress(t)
    return log_w, log_z_base
