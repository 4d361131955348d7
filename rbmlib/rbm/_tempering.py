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

#: The smallest inverse temperature of the default ladder.
MIN_INVERSE_TEMPERATURE = 0.1


def temperature_ladder(n_temperatures, inverse_temperatures=None):
    """The inverse temperatures of parallel tempering.

    Parameters
    ----------
    n_temperatures : int
    inverse_temperatures : array-like of shape (n_temperatures,) or None
        Decreasing positive values, the first 1.0; None: geometric from 1 to
        ``MIN_INVERSE_TEMPERATURE``.

    Returns
    -------
    betas : ndarray of shape (n_temperatures,), float64

    Raises
    ------
    ValueError
        If ``n_temperatures < 1`` or the given ladder is not as above.
    """
    T = int(n_temperatures)
    if T < 1 or T != n_temperatures:
        raise ValueError(f"n_temperatures must be a positive integer; got {n_temperatures!r}.")
    if inverse_temperatures is None:
        return np.geomspace(1.0, MIN_INVERSE_TEMPERATURE, T) if T > 1 else np.ones(1)
    betas = np.asarray(inverse_temperatures, dtype=np.float64)
    if (betas.ndim != 1 or betas.shape[0] != T or betas[0] != 1.0
            or not np.all(np.isfinite(betas)) or np.any(betas <= 0)
            or np.any(np.diff(betas) >= 0)):
        raise ValueError(
            f"inverse_temperatures must be n_temperatures={T} decreasing positive "
            f"values starting at 1.0 (the model); got {inverse_temperatures!r}.")
    return betas


def adapt_ladder(betas, swap_counts, target, step=1.0, max_gap=5.0, n0=200.0):
    """One step of the ladder towards a target swap acceptance.

    The gaps ``d_t = log beta_t - log beta_{t+1}`` are multiplied by
    ``exp(s_t (a_t - target))``, ``a_t`` the fraction of accepted swaps of the
    pair ``(t, t + 1)`` in ``swap_counts`` (rows attempted, accepted) and
    ``s_t = step n_t / (n_t + n0)`` for its ``n_t`` attempts (a step as large
    as its evidence): a pair that swaps more often than the target is spread
    apart, one that swaps less often is drawn together; ``beta_0 = 1`` stays.
    Called between kernel calls of a few updates each (the ladder is fixed
    within a call), a stochastic approximation in the spirit of Desjardins et
    al. (2010)'s adaptive tempering.

    Parameters
    ----------
    betas : ndarray of shape (T,)
    swap_counts : ndarray of shape (3, T - 1)
        Attempted and accepted swaps since the last step (third row unused).
    target : float in (0, 1)
    step : float, default=1.0
    max_gap : float, default=5.0
        Gaps are clipped to ``[1e-4, max_gap]``.
    n0 : float, default=200.0

    Returns
    -------
    betas : ndarray of shape (T,), float64, decreasing from 1
    """
    betas = np.asarray(betas, dtype=np.float64)
    if betas.shape[0] < 2:
        return betas.copy()
    n = swap_counts[0]
    rates = swap_counts[1] / np.maximum(n, 1.0)
    gaps = -np.diff(np.log(betas))
    gaps *= np.exp(step * n / (n + n0) * (rates - target))
    gaps = np.clip(gaps, 1e-4, max_gap)
    return np.exp(-np.concatenate([[0.0], np.cumsum(gaps)]))


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
            Wt, _, bt, _ = P[t]
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
