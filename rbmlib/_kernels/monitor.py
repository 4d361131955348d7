"""Kernels for the quantities monitored while training: pseudo-log-likelihood."""

import numpy as np
from ._jit import njit, prange

from .sampling import log_sigmoid, softplus


@njit(parallel=True, cache=True)
def pseudo_loglik_bernoulli(X, pre, WT, b, out):
    """Exact pseudo-log-likelihood of each row, summed over visible units.

    ``out[r] = sum_i log sigmoid(g_i)`` with ``g_i = F(x^(i)) - F(x)`` and ``x^(i)`` the
    row with unit ``i`` replaced by ``1 - x_i`` (Besag 1975). For binary rows
    this is ``sum_i log p(x_i | x_-i)``; for any row it is the expected value
    of scikit-learn's one-random-unit estimate times ``V``, without its noise.
    With ``d = 1 - 2 x_i``,
    ``g_i = -b_i d - sum_j [softplus(pre_j + d W_ji) - softplus(pre_j)]``.

    Parameters
    ----------
    X : ndarray (n, V)
        Visible rows.
    pre : ndarray (n, H)
        Hidden pre-activations ``X W^T + c`` (computed by the caller with BLAS).
    WT : ndarray (V, H)
        Transposed weights, C-contiguous (the inner loop runs over hidden units).
    b : ndarray (V,)
        Visible biases.
    out : ndarray (n,)
        Output, in nats (summed over the V visible units).
    """
    n, V = X.shape
    H = WT.shape[1]
    for r in prange(n):
        sp = np.empty(H)
        for j in range(H):
            sp[j] = softplus(pre[r, j])
        acc = 0.0
        for i in range(V):
            d = 1.0 - 2.0 * X[r, i]
            g = -b[i] * d
            for j in range(H):
                g -= softplus(pre[r, j] + d * WT[i, j]) - sp[j]
            acc += log_sigmoid(g)
        out[r] = acc
