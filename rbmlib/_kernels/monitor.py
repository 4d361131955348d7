"""Kernels for the quantities monitored while training: pseudo-log-likelihood."""

import numpy as np
from ._jit import njit, prange

from .sampling import log_sigmoid, softplus


@njit(parallel=True, cache=True)
def pseudo_loglik_bernoulli(X, pre, WT, b, out):
    """Exact pseudo-log-likelihood of each row, averaged over visible units.

    ``out[r] = (1/V) sum_i [x_i log s(d_i) + (1 - x_i) log s(-d_i)]`` with
    ``d_i = F(x; x_i=0) - F(x; x_i=1)`` the free-energy difference of unit i
    (Besag 1975). For binary rows this is ``(1/V) sum_i log p(x_i | x_-i)``;
    for rows in [0, 1] it is the expected value under independent Bernoulli
    units with those means.

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
        Output, in nats per visible unit.
    """
    n, V = X.shape
    H = WT.shape[1]
    for r in prange(n):
        sp = np.empty(H)
        for j in range(H):
            sp[j] = softplus(pre[r, j])
        acc = 0.0
        for i in range(V):
            xi = X[r, i]
            d = b[i]
            if xi == 0.0:
                for j in range(H):
                    d += softplus(pre[r, j] + WT[i, j]) - sp[j]
            elif xi == 1.0:
                for j in range(H):
                    d += sp[j] - softplus(pre[r, j] - WT[i, j])
            else:
                for j in range(H):
                    base = pre[r, j] - xi * WT[i, j]
                    d += softplus(base + WT[i, j]) - softplus(base)
            acc += xi * log_sigmoid(d) + (1.0 - xi) * log_sigmoid(-d)
        out[r] = acc / V
