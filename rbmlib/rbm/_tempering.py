"""Parallel tempering for sampling a fitted RBM (NumPy; the DBN's top RBM).

The same sampler as the training kernel's negative phase ``PT``
(:mod:`rbmlib._kernels.negative`), written with the estimators' unit table for
drawing samples after training: replicas of the chains at inverse temperatures
``betas`` (``betas[0] == 1``, the model), the tempered model at ``beta`` being
the RBM with parameters ``(beta W, beta c, beta b)``; each sweep makes one
Gibbs step of every replica, then proposes swaps between neighbours (even
pairs, then odd pairs in the next sweep) accepted with the Metropolis
probability ``min(1, exp(F_i(v_i) + F_j(v_j) - F_i(v_j) - F_j(v_i)))`` of the
tempered free energies (Desjardins et al. 2010; Cho, Raiko and Ilin 2010).
"""

import numpy as np


def tempered_gibbs(rbm, v, n_sweeps, betas, rng):
    """Sample from a fitted RBM by parallel tempering.

    Parameters
    ----------
    rbm : fitted BernoulliRBM or GaussianBernoulliRBM
        Its hidden units must have a free energy.
    v : ndarray of shape (n_chains, n_features)
        Start of every replica (the same rows at every temperature).
    n_sweeps : int
        Gibbs sweeps (each followed by one swap pass).
    betas : array-like of shape (T,)
        Decreasing positive inverse temperatures, ``betas[0] == 1``.
    rng : numpy.random.RandomState

    Returns
    -------
    v : ndarray of shape (n_chains, n_features)
        The replicas at ``beta = 1`` after the last sweep.
    acceptance : ndarray of shape (T - 1,)
        Fraction of accepted swaps of each neighbour pair.
    """
    W, c, b, sigma = rbm._params()
    betas = np.asarray(betas, dtype=np.float64)
    T = betas.shape[0]
    P = [(beta * W, beta * c, beta * b, sigma) for beta in betas]
    reps = [np.array(v, copy=True) for _ in range(T)]
    unit = rbm._hidden_unit()
    accepted = np.zeros(max(T - 1, 0))
    attempted = np.zeros(max(T - 1, 0))
    for sweep in range(n_sweeps):
        for t in range(T):
            Wt, ct, bt, _ = P[t]
            h = unit.sample(rbm._hidden_pre(rbm._visible_input(reps[t], P[t]), P[t]), rng)
            reps[t] = rbm._visible_units.sample(h @ Wt + bt, sigma, rng).astype(
                W.dtype, copy=False)
        for t in range(sweep % 2, T - 1, 2):
            va, vb = reps[t], reps[t + 1]
            log_r = (rbm._free_energy(va, P[t]) + rbm._free_energy(vb, P[t + 1])
                     - rbm._free_energy(vb, P[t]) - rbm._free_energy(va, P[t + 1]))
            swap = rng.random_sample(va.shape[0]) < np.exp(np.minimum(log_r, 0.0))
            va[swap], vb[swap] = vb[swap].copy(), va[swap].copy()
            accepted[t] += swap.sum()
            attempted[t] += swap.shape[0]
    return reps[0], accepted / np.maximum(attempted, 1)
