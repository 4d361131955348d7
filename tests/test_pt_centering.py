"""Parallel tempering and the centered RBM, against exact enumeration and NumPy.

Kernels: the swap rule (the acceptance probability of every attempted swap equals
the Metropolis ratio of the tempered free energies computed in NumPy; a swap
happens exactly when its uniform is below it), the stationary distribution of the
beta = 1 replicas on a bimodal model (total-variation distance to the exact p(v),
where plain persistent Gibbs chains do not mix), the centered parameter step
against the formulas of Melchior, Fischer and Wiskott (2016) and against exact
expectations. Estimators: the options in grid search, clone, pickle then
partial_fit, a real SIGINT, and exact log Z of the exposed uncentered model.
"""

import itertools

import numpy as np
import pytest
from scipy.special import expit, logsumexp

from rbmlib._kernels.cd import cd_update, centered_gradient, chain_groups
from rbmlib._kernels.negative import PCD, PCD_MEAN_FIELD, PT, pt_swaps, tempering_group
from rbmlib._kernels.sampling import stream_key, uniform


def _softplus(x):
    return np.logaddexp(0.0, x)


def _all_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def _tempered_fe(v, W, c, b, sigma, beta, visible, hidden):
    """NumPy free energy of rows ``v`` (as the kernels hold them) in the RBM with
    parameters (beta W, beta c, beta b); constants of beta dropped."""
    x = beta * (v @ W.T + c)
    if visible == 0:
        f = -beta * v @ b
    else:  # Gaussian: v holds u = v / sigma^2
        f = (((v * sigma ** 2 - beta * b) ** 2) / (2 * sigma ** 2)).sum(1)
    lm = _softplus(x) if hidden == 0 else 0.5 * x ** 2
    return f - lm.sum(1)


def _scratch(B, H, V):
    return (np.zeros((2 * B, V)), np.zeros((2 * B, H)), np.zeros((B, H)), np.zeros((B, V)),
            np.zeros((1, V)), np.zeros((0, 0), np.int32))


# ---------------------------------------------------------------- the swap rule
@pytest.mark.parametrize("visible,hidden", [(0, 0), (1, 0), (0, 1)])
def test_swap_rule_is_the_metropolis_ratio_of_tempered_free_energies(visible, hidden):
    rng = np.random.RandomState(0)
    V, H, T, B, m = 7, 5, 4, 9, 8
    W = rng.normal(0, 1.0, (H, V))
    c, b = rng.normal(0, 1, H), rng.normal(0, 1, V)
    sigma = rng.uniform(0.5, 1.5, V) if visible == 1 else np.ones(V)
    betas = np.array([1.0, 0.7, 0.45, 0.2])
    if visible == 0:
        v = (rng.rand(T * B, V) < 0.5).astype(float)
    else:
        v = rng.normal(0, 1, (T * B, V)) / sigma ** 2
    labels = rng.randint(0, 3, T * B).astype(np.int64)
    for parity in (0, 1):
        group = tempering_group(betas, B, H, V, np.float64, vchains=v.copy(),
                                labels=labels.copy())
        key = np.uint64(stream_key(np.uint64(11), np.uint64(5 + parity)))
        pt_swaps(m, parity, (visible, hidden), key, (W, c, b, sigma), group,
                 np.zeros((B, H)), np.zeros((B, H)))
        want_v, want_l = v.copy(), labels.copy()
        counts = np.zeros((3, T - 1))
        for t in range(parity, T - 1, 2):
            a, bb = slice(t * B, t * B + m), slice((t + 1) * B, (t + 1) * B + m)
            sa, sb = v[a], v[bb]
            log_r = (_tempered_fe(sa, W, c, b, sigma, betas[t], visible, hidden)
                     + _tempered_fe(sb, W, c, b, sigma, betas[t + 1], visible, hidden)
                     - _tempered_fe(sb, W, c, b, sigma, betas[t], visible, hidden)
                     - _tempered_fe(sa, W, c, b, sigma, betas[t + 1], visible, hidden))
            p = np.minimum(1.0, np.exp(log_r))
            assert 0.05 < p.mean() < 0.999  # the test sees both outcomes
            u = np.array([uniform(key, r * T + t) for r in range(m)])
            acc = u < p
            counts[:, t] = (m, acc.sum(), p.sum())
            ia, ib = np.arange(t * B, t * B + m)[acc], np.arange((t + 1) * B, (t + 1) * B + m)[acc]
            want_v[ia], want_v[ib] = v[ib], v[ia]
            want_l[ia], want_l[ib] = labels[ib], labels[ia]
        # round-trip labels: slot 0 rows become 1 (counting a return from the top),
        # top-slot rows that came from beta = 1 become 2
        trips = int((want_l[:m] == 2).sum())
        want_l[:m] = 1
        top = want_l[(T - 1) * B:(T - 1) * B + m]
        top[top == 1] = 2
        np.testing.assert_allclose(group[3], counts, rtol=1e-12)
        np.testing.assert_array_equal(group[0], want_v)
        np.testing.assert_array_equal(group[2], want_l)
        assert group[4][0] == trips


# ------------------------------------------- the stationary distribution of PT
def _bimodal_model():
    """A 6-2 RBM whose p(v) has two modes, 000111 and 111000, of similar mass,
    separated by states of tiny probability: Gibbs chains at beta = 1 stay in one."""
    W = np.array([[6.0, 6.0, 6.0, -6.0, -6.0, -6.0],
                  [-6.0, -6.0, -6.0, 6.0, 6.0, 6.0]])
    b = np.full(6, 0.0)
    c = np.array([-9.0, -9.0])
    return W, c, b


def _exact_pv(W, c, b):
    S = _all_states(W.shape[1])
    logp = S @ b + _softplus(S @ W.T + c).sum(1)
    return S, np.exp(logp - logsumexp(logp))


def _run_chains(phase, T, n_updates, k=1, seed=3):
    W, c, b = _bimodal_model()
    H, V = W.shape
    B = m = 40
    params = (W.copy(), c.copy(), b.copy(), np.ones(V), np.zeros(0))
    vel = (np.zeros_like(W), np.zeros(H), np.zeros(V), np.zeros(0))
    betas = np.geomspace(1.0, 0.05, T)
    # every chain starts in the mode 000111 (its hidden state 01 for PCD)
    start = np.tile([0.0, 0.0, 0.0, 1.0, 1.0, 1.0], (T * B, 1))
    tempering = tempering_group(betas, B, H, V, np.float64, vchains=start)
    hchain = np.tile([0.0, 1.0], (B, 1))
    chains = chain_groups(hchain, np.zeros(H), tempering=tempering)
    scratch = _scratch(B, H, V)
    hyper = (0.0, 0.0, 0.0, 0.1, 0.0, 0.9, 0.0, 0.0)  # learning rate 0: a fixed model
    counts = np.zeros(2 ** V)
    powers = 2 ** np.arange(V - 1, -1, -1)
    for t in range(n_updates):
        scratch[0][:m] = 0.0
        cd_update(m, (k, phase, 0, 0, False), np.uint64(seed), t, params, np.zeros(1, np.int64),
                  vel, chains, scratch, hyper)
        vk = scratch[0][m:2 * m]
        np.add.at(counts, (vk @ powers).astype(int), 1)
    np.testing.assert_array_equal(params[0], W)  # the model did not move
    return counts / counts.sum(), tempering


def test_pt_beta_one_replicas_sample_the_exact_distribution_of_a_bimodal_model():
    S, p = _exact_pv(*_bimodal_model())
    modes = np.argsort(p)[-2:]
    assert p[modes].min() > 0.2  # two heavy modes ...
    emp_pt, tempering = _run_chains(PT, T=6, n_updates=1500)
    tv_pt = 0.5 * np.abs(emp_pt - p).sum()
    assert tv_pt < 0.05, tv_pt
    rates = tempering[3][1] / tempering[3][0]
    assert np.all(rates > 0.05), rates
    assert tempering[4][0] > 10  # replicas went from beta = 1 to the top and back
    # ... between which persistent Gibbs chains at beta = 1 do not move (the same
    # update, PCD's table entry): the test above can tell a sampler that does not mix
    emp_pcd, _ = _run_chains(PCD, T=1, n_updates=1500)
    assert 0.5 * np.abs(emp_pcd - p).sum() > 0.2
