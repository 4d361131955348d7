"""The DBN variational bound of ``benchmarks/mnist_dbm.py`` against exact enumeration.

The benchmark scores the DBN beside the DBM by
``log p(v) >= E_q[log p(v | h1) + log p_top(h1) - log q(h1 | v)]`` with
``q = p(h1 | v)`` of the bottom RBM and ``p_top`` the top RBM's marginal on its
visible layer, the expectation by sampling. On a 6-4-3 DBN every term can be
enumerated: the sampled bound must match the exact expectation, and lie below
the DBN's exact log-likelihood.
"""

import importlib.util
import itertools
import os

import numpy as np
from scipy.special import expit, logsumexp

from rbmlib import DBN

HERE = os.path.dirname(os.path.abspath(__file__))


def _mnist_dbm():
    path = os.path.join(HERE, os.pardir, "benchmarks", "mnist_dbm.py")
    spec = importlib.util.spec_from_file_location("mnist_dbm_bench", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def _exact(dbn, V):
    """Exact log p(v) of the 2-layer DBN and the exact bound, per row of V."""
    bottom, top = dbn.rbms_
    W, b, c = bottom.components_, bottom.intercept_visible_, bottom.intercept_hidden_
    U, b2, c2 = top.components_, top.intercept_visible_, top.intercept_hidden_
    H1, H2 = _states(W.shape[0]), _states(U.shape[0])
    # top RBM: log p_top(h1) = log sum_h2 exp(-E(h1, h2)) - log Z_top
    log_unnorm = H1 @ b2 + np.logaddexp(0, H1 @ U.T + c2).sum(1)
    log_ptop = log_unnorm - logsumexp(log_unnorm)
    A = H1 @ W + b                                      # (n_h1, n_v)
    log_pv_h = V @ A.T - np.logaddexp(0, A).sum(1)      # (n_rows, n_h1)
    exact = logsumexp(log_pv_h + log_ptop, axis=1)
    q = expit(V @ W.T + c)                              # (n_rows, n_h1 units)
    log_q = H1 @ np.log(q).T + (1 - H1) @ np.log1p(-q).T   # (n_h1, n_rows)
    w = np.exp(log_q.T)
    bound = (w * (log_pv_h + log_ptop - log_q.T)).sum(1)
    return exact, bound


def test_dbn_bound_matches_enumeration_on_a_tiny_dbn():
    mod = _mnist_dbm()
    rng = np.random.RandomState(0)
    X = (rng.rand(200, 6) < np.linspace(0.2, 0.8, 6)).astype(np.float64)
    dbn = DBN((4, 3), n_iter=30, learning_rate=0.1, batch_size=10, random_state=0).fit(X)
    V = _states(6)
    sampled, est = mod.dbn_bound(dbn, V, 4000, np.random.RandomState(1),
                                 {"n_runs": 100, "random_state": 0})
    exact, bound = _exact(dbn, V)
    # the top log Z by AIS agrees with enumeration, so the bound differs by sampling only
    bottom, top = dbn.rbms_
    H1 = _states(4)
    log_z_top = logsumexp(H1 @ top.intercept_visible_
                          + np.logaddexp(0, H1 @ top.components_.T
                                         + top.intercept_hidden_).sum(1))
    assert abs(est.log_z - log_z_top) < 4 * est.log_z_std + 0.02
    assert np.all(bound <= exact + 1e-9)
    np.testing.assert_allclose(sampled, bound, atol=0.1)
