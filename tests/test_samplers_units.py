"""Parallel tempering and centering with every unit type (issue 22's audit).

What tests/test_pt_centering.py checks on Bernoulli units, here for every visible
unit type (Bernoulli, Gaussian, categorical) and hidden unit type with a mean
(Bernoulli, Gaussian, NReLU), against independent references:

* the centered update of the kernels equals the uncentered update's statistics
  carried through the reparametrisation (the chain rule of Melchior, Fischer and
  Wiskott 2016, in NumPy), for CD, PCD and parallel tempering: the same random
  streams give the same negative particles, so the uncentered step is the CD
  gradient ``g`` and the centered one must be ``centered_gradient(g, mu, lam)``
  with the offsets moved towards the mini-batch means; with Adam, the optimiser's
  step on the centered gradient carried back to the uncentered parameters;
* the stationary distribution of the tempered chains for categorical visible
  units and Gaussian hidden units (exact p(v) by enumeration), and the swap rule
  for one-hot states;
* the estimators: pickle then partial_fit continues the offsets from their
  pickled values (the moving averages recomputed in NumPy), a centered model is
  exported exactly (``to_sklearn``) and stacked exactly in a DBN.
"""

import itertools
import pickle

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, logsumexp

from rbmlib import BernoulliRBM, CategoricalRBM, GaussianBernoulliRBM
from rbmlib._kernels.cd import cd_update, centered_gradient, chain_groups
from rbmlib._kernels.negative import CD, PCD, PT, tempering_group

BERN, GAUSS, CAT = 0, 1, 2  # visible kernel ids
SIZES = (3, 2, 3)  # the categorical groups of the tests


def _hidden_mean(x, hidden):
    """E[h | x] of the hidden units (NumPy): sigmoid, identity, max(0, x)."""
    return expit(x) if hidden == 0 else x if hidden == 1 else np.maximum(x, 0.0)


def _onehot(codes, sizes):
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    X = np.zeros((codes.shape[0], offsets[-1]))
    for g in range(len(sizes)):
        X[np.arange(codes.shape[0]), offsets[g] + codes[:, g]] = 1.0
    return X, offsets.astype(np.int64)


def _case(visible, rng, m, V):
    """Mini-batch (as the kernels hold it), sigma, offsets, codes for a visible type."""
    if visible == CAT:
        codes = np.stack([rng.randint(0, K, m) for K in SIZES], axis=1)
        v0, offsets = _onehot(codes, SIZES)
        return v0, np.ones(v0.shape[1]), offsets, codes.astype(np.int32)
    sigma = rng.uniform(0.6, 1.4, V) if visible == GAUSS else np.ones(V)
    v0 = rng.normal(0, 1, (m, V)) / sigma**2 if visible == GAUSS else (
        (rng.rand(m, V) < 0.4).astype(float))
    return v0, sigma, np.zeros(1, np.int64), np.zeros((0, 0), np.int32)


UNITS = [(BERN, 0), (GAUSS, 0), (CAT, 0), (BERN, 1), (BERN, 2), (CAT, 2)]


@pytest.mark.parametrize("model_weight", [0.0, 0.5, 1.0], ids=["data", "average", "model"])
@pytest.mark.parametrize("phase", [CD, PCD, PT], ids=["cd", "pcd", "pt"])
@pytest.mark.parametrize("visible,hidden", UNITS)
def test_centered_update_is_the_reparametrised_cd_step_for_every_unit_type(
        visible, hidden, phase, model_weight):
    if phase == PT and hidden == 2:
        pytest.skip("NReLU units have no free energy: parallel tempering refuses them")
    rng = np.random.RandomState(10 * visible + hidden)
    m = B = 7
    v0, sigma, offsets, codes = _case(visible, rng, m, 6)
    V, H, T, k = v0.shape[1], 5, 3, 2
    W = rng.normal(0, 0.4, (H, V))
    c, b = rng.normal(0, 0.5, H), rng.normal(0, 0.5, V)
    hchain = rng.rand(B, H) < 0.5 if hidden == 0 else rng.normal(0, 1, (B, H))
    if hidden == 2:
        hchain = np.abs(hchain)
    mu0, lam0 = rng.uniform(0.1, 0.6, V), rng.uniform(0.1, 0.6, H)
    lr, decay = 0.05, 0.7
    start = v0[rng.randint(0, m, T * B)] if phase == PT else None

    def run(centered):
        params = (W.copy(), c.copy(), b.copy(), sigma.copy(), np.zeros(0))
        vel = (np.zeros_like(W), np.zeros(H), np.zeros(V), np.zeros(0))
        tempering = (tempering_group(np.geomspace(1.0, 0.3, T), B, H, V, np.float64,
                                     vchains=start.copy()) if phase == PT else None)
        centering = (decay, mu0.copy(), lam0.copy(), np.zeros(H), np.zeros(V),
                     model_weight) if centered else None
        chains = chain_groups(hchain.astype(float), np.full(H, 0.1), tempering, centering)
        scratch = (np.zeros((2 * B, V)), np.zeros((2 * B, H)), np.zeros((B, H)),
                   np.zeros((B, V)), np.zeros((1, V)), codes.copy())
        scratch[0][:m] = v0
        cd_update(m, (k, phase, visible, hidden, False), np.uint64(5), 3, params, offsets,
                  vel, chains, scratch, (lr, 0.0, 0.0, 0.1, 0.0, 0.9, 0.0, 0.0))
        return params, scratch[0][m:2 * m].copy(), centering

    plain, vk_plain, _ = run(False)
    cent, vk_cent, centering = run(True)
    # the same negative particles (the centered step shifts Vcat by mu and back: the
    # last bit may differ)
    assert_allclose(vk_cent, vk_plain, rtol=1e-14, atol=1e-14)
    assert not np.array_equal(vk_plain, v0)  # (and a real negative phase)
    g_W, g_c, g_b = [(new - old) / lr for new, old in zip(plain[:3], (W, c, b))]
    # the offsets: moving averages of the visible states and hidden means of the data
    # and of the negative phase (mixed by model_weight: data, average, model)
    w = model_weight
    mu1 = decay * mu0 + (1 - decay) * ((1 - w) * v0.mean(0) + w * vk_plain.mean(0))
    lam1 = decay * lam0 + (1 - decay) * (
        (1 - w) * _hidden_mean(v0 @ W.T + c, hidden).mean(0)
        + w * _hidden_mean(vk_plain @ W.T + c, hidden).mean(0))
    assert_allclose(centering[1], mu1, rtol=1e-12)
    assert_allclose(centering[2], lam1, rtol=1e-12)
    d_W, d_c, d_b = centered_gradient(g_W, g_c, g_b, mu1, lam1)
    tol = {"rtol": 1e-9, "atol": 1e-11}
    assert_allclose(cent[0], W + lr * d_W, **tol)
    assert_allclose(cent[1], c + lr * d_c, **tol)
    assert_allclose(cent[2], b + lr * d_b, **tol)
    assert np.abs(d_W - g_W).max() > 1e-3  # the offsets changed the step


# -------------------------------------------- the tempered chains' stationary law
def _run_pt(W, c, b, units, offsets, codes, starts, n_updates, T, seed=1):
    """Visible states of the beta = 1 replicas over ``n_updates`` PT updates of a fixed
    model (learning rate 0), every replica started at ``starts``."""
    H, V = W.shape
    B = m = starts.shape[0]
    params = (W.copy(), c.copy(), b.copy(), np.ones(V), np.zeros(0))
    vel = (np.zeros_like(W), np.zeros(H), np.zeros(V), np.zeros(0))
    tempering = tempering_group(np.geomspace(1.0, 0.05, T), B, H, V, np.float64,
                                vchains=np.tile(starts, (T, 1)))
    chains = chain_groups(np.zeros((B, H)), np.zeros(H), tempering=tempering)
    scratch = (np.zeros((2 * B, V)), np.zeros((2 * B, H)), np.zeros((B, H)), np.zeros((B, V)),
               np.zeros((1, V)), codes)
    out = []
    for t in range(n_updates):
        scratch[0][:m] = starts  # the data half: any rows (learning rate 0)
        cd_update(m, (1, PT, units[0], units[1], False), np.uint64(seed), t, params, offsets,
                  vel, chains, scratch, (0.0, 0.0, 0.0, 0.1, 0.0, 0.9, 0.0, 0.0))
        out.append(scratch[0][m:2 * m].copy())
    assert_array_equal(params[0], W)
    return np.concatenate(out), tempering


def _tv(samples, states, p):
    """Total-variation distance between the empirical law of ``samples`` and ``p`` on
    ``states`` (rows of both in the same encoding)."""
    index = {tuple(s): i for i, s in enumerate(states)}
    counts = np.bincount([index[tuple(s)] for s in samples], minlength=len(states))
    return 0.5 * np.abs(counts / counts.sum() - p).sum()


def test_pt_samples_the_exact_law_of_a_bimodal_categorical_model():
    """Three groups of 3 categories, two modes (all first / all last categories);
    categorical Gibbs chains at beta = 1 stay in the mode they start in."""
    offsets = np.array([0, 3, 6, 9], np.int64)
    a = np.zeros(9)
    a[[0, 3, 6]] = 1.0
    z = np.zeros(9)
    z[[2, 5, 8]] = 1.0
    W = 7.0 * np.stack([a - z, z - a])
    c, b = np.array([-10.5, -10.5]), np.zeros(9)
    codes = np.array(list(itertools.product(range(3), repeat=3)))
    states, _ = _onehot(codes, (3, 3, 3))
    logp = states @ b + np.logaddexp(0, states @ W.T + c).sum(1)
    p = np.exp(logp - logsumexp(logp))
    assert np.sort(p)[-2:].min() > 0.2  # two heavy modes
    starts = np.tile(z, (30, 1))
    codes_b = np.zeros((30, 3), np.int32)  # every group observed
    pt, tempering = _run_pt(W, c, b, (CAT, 0), offsets, codes_b, starts, 1000, T=5)
    assert _tv(pt, states, p) < 0.06
    assert tempering[4][0] > 10 and np.all(tempering[3][1] > 0)
    gibbs, _ = _run_pt(W, c, b, (CAT, 0), offsets, codes_b, starts, 1000, T=1)
    assert _tv(gibbs, states, p) > 0.3


def test_pt_samples_the_exact_law_with_gaussian_hidden_units():
    """Bernoulli visible, unit-variance Gaussian hidden units: p(v) propto
    exp(b.v + |W v + c|^2 / 2), two modes (000111, 111000)."""
    W = 2.0 * np.array([[1.0, 1.0, 1.0, -1.0, -1.0, -1.0]])
    c, b = np.zeros(1), np.full(6, -3.0)
    states = np.array(list(itertools.product([0.0, 1.0], repeat=6)))
    logp = states @ b + 0.5 * ((states @ W.T + c) ** 2).sum(1)
    p = np.exp(logp - logsumexp(logp))
    assert np.sort(p)[-2:].min() > 0.15
    starts = np.tile([0.0, 0.0, 0.0, 1.0, 1.0, 1.0], (30, 1))
    none = np.zeros((0, 0), np.int32)
    pt, _ = _run_pt(W, c, b, (BERN, 1), np.zeros(1, np.int64), none, starts, 1500, T=6)
    assert _tv(pt, states, p) < 0.06
    gibbs, _ = _run_pt(W, c, b, (BERN, 1), np.zeros(1, np.int64), none, starts, 1500, T=1)
    assert _tv(gibbs, states, p) > 0.2


# ---------------------------------------------------------------- estimators
def _digits():
    from sklearn.datasets import load_digits

    return load_digits().data[:200] / 16.0


MAKERS = {
    "bernoulli-pt": (lambda: BernoulliRBM(8, n_temperatures=3, **KW),
                     lambda rng: rng.rand(60, 9)),
    "gaussian-pt": (lambda: GaussianBernoulliRBM(6, n_temperatures=3, **KW),
                    lambda rng: rng.normal(size=(60, 5))),
    "categorical-pt": (lambda: CategoricalRBM(6, persistent=True, n_temperatures=3, **KW),
                       lambda rng: rng.randint(0, 3, (60, 4))),
    "nrelu-pcd": (lambda: BernoulliRBM(6, hidden_units="nrelu", learning_rate=0.01, **KW),
                  lambda rng: (rng.rand(60, 7) < 0.3).astype(float)),
    "gaussian-hidden-cd": (lambda: BernoulliRBM(6, hidden_units="gaussian", persistent=False,
                                                learning_rate=0.01, **KW),
                           lambda rng: (rng.rand(60, 7) < 0.3).astype(float)),
}
KW = {"n_iter": 2, "batch_size": 20, "random_state": 0, "centered": True,
      "centering_decay": 0.9}


@pytest.mark.parametrize("case", sorted(MAKERS))
def test_pickle_then_partial_fit_continues_the_offsets_from_their_values(case):
    """One update of partial_fit (batch = the chunk) moves the pickled offsets by the
    moving averages of Melchior et al. (2016): ``mu <- d mu + (1 - d) mean x`` (the
    visible states as the kernels hold them: x / sigma^2 for Gaussian units, one-hot
    rows for categorical ones) and ``lam <- d lam + (1 - d) mean E[h | x]`` under the
    pickled parameters; every unit type with a mean, with PCD, CD and PT."""
    make, data = MAKERS[case]
    X = data(np.random.RandomState(0))
    m = make().fit(X)
    copy = pickle.loads(pickle.dumps(m))
    mu0, lam0 = (a.copy() for a in copy._centering_offsets)
    chunk = X[:20]
    ph = copy.transform(chunk).mean(0)  # under the pickled parameters
    x = copy._onehot(chunk) if case.startswith("categorical") else copy._visible_input(chunk)
    pt_before = None if copy._tempering_state is None else copy._tempering_state[0].copy()
    copy.partial_fit(chunk)
    mu1, lam1 = copy._centering_offsets
    assert_allclose(mu1, 0.9 * mu0 + 0.1 * np.asarray(x.mean(0)).ravel(), rtol=1e-10)
    assert_allclose(lam1, 0.9 * lam0 + 0.1 * ph, rtol=1e-9, atol=1e-12)
    # the pickled offsets were not those a fresh start would take from the chunk
    assert np.abs(mu0 - np.asarray(x.mean(0)).ravel()).max() > 1e-3
    assert len(copy.history_) == 3 and np.all(np.isfinite(copy.components_))
    assert (pt_before is not None) == case.endswith("-pt")
    if pt_before is not None:  # the replicas moved on from their pickled states
        assert copy._tempering_state[0].shape == pt_before.shape
        assert not np.array_equal(copy._tempering_state[0], pt_before)
        assert len(copy.history_[-1]["swap_acceptance"]) == 2


@pytest.mark.parametrize("phase", [PCD, PT], ids=["pcd", "pt"])
@pytest.mark.parametrize("visible,hidden", [(BERN, 0), (GAUSS, 0), (CAT, 1)])
def test_centered_update_with_adam_steps_the_centered_gradient(visible, hidden, phase):
    """With an optimiser the centered step is the optimiser's step on the centered
    parameters, carried back: Adam's first step (zero moments, bias-corrected) is
    ``lr g / (|g| + eps / sqrt(1 - beta_2))`` elementwise, on ``G_W`` for the weights
    and on the bias statistics for the centered biases ``b~ = b + W^T lam``, ``c~ = c
    + W mu``. The CD statistics ``g`` come from a plain SGD step on the same random
    streams; the uncentered Adam step on them is checked first."""
    from rbmlib._kernels.optim import ADAM, H_BETA_1, H_BETA_2, H_EPSILON, N_HYPER

    rng = np.random.RandomState(7 + visible)
    m = B = 6
    v0, sigma, offsets, codes = _case(visible, rng, m, 5)
    V, H, T = v0.shape[1], 4, 3
    W = rng.normal(0, 0.4, (H, V))
    c, b = rng.normal(0, 0.5, H), rng.normal(0, 0.5, V)
    hchain = rng.rand(B, H) < 0.5 if hidden == 0 else rng.normal(0, 1, (B, H))
    mu0, lam0 = rng.uniform(0.1, 0.6, V), rng.uniform(0.1, 0.6, H)
    lr, decay, eps, beta_2 = 0.05, 0.7, 0.02, 0.999
    start = v0[rng.randint(0, m, T * B)] if phase == PT else None
    hyper = np.zeros(N_HYPER)
    hyper[H_BETA_1], hyper[H_BETA_2], hyper[H_EPSILON] = 0.9, beta_2, eps

    def run(centered, adam):
        params = (W.copy(), c.copy(), b.copy(), sigma.copy(), np.zeros(0))
        vel = (np.zeros_like(W), np.zeros(H), np.zeros(V), np.zeros(0))
        tempering = (tempering_group(np.geomspace(1.0, 0.3, T), B, H, V, np.float64,
                                     vchains=start.copy()) if phase == PT else None)
        centering = (decay, mu0.copy(), lam0.copy(), np.zeros(H), np.zeros(V), 0.0) if centered \
            else None
        chains = chain_groups(hchain.astype(float), np.full(H, 0.1), tempering, centering)
        scratch = (np.zeros((2 * B, V)), np.zeros((2 * B, H)), np.zeros((B, H)),
                   np.zeros((B, V)), np.zeros((1, V)), codes.copy())
        scratch[0][:m] = v0
        optim = None
        if adam:
            optim = (ADAM, 3, 0.0, hyper,  # t = update_index + 1 - 3 = 1
                     (np.zeros((H, V)), np.zeros(H), np.zeros(V), np.zeros(0)),
                     (np.zeros((H, V)), np.zeros(H), np.zeros(V), np.zeros(V)))
        cd_update(m, (1, phase, visible, hidden, False), np.uint64(9), 3, params, offsets,
                  vel, chains, scratch, (lr, 0.0, 0.0, 0.1, 0.0, 0.9, 0.0, 0.0), optim)
        return params, centering

    plain, _ = run(False, False)
    g_W, g_c, g_b = [(new - old) / lr for new, old in zip(plain[:3], (W, c, b))]

    def adam1(g):
        return lr * g / (np.abs(g) + eps / np.sqrt(1 - beta_2))

    tol = {"rtol": 1e-9, "atol": 1e-12}
    uncentered, _ = run(False, True)
    for got, p0, g in zip(uncentered[:3], (W, c, b), (g_W, g_c, g_b)):
        assert_allclose(got, p0 + adam1(g), **tol)
    cent, centering = run(True, True)
    mu1, lam1 = centering[1], centering[2]
    assert_allclose(mu1, decay * mu0 + (1 - decay) * v0.mean(0), rtol=1e-12)
    G_W = centered_gradient(g_W, g_c, g_b, mu1, lam1)[0]
    W1 = W + adam1(G_W)
    assert_allclose(cent[0], W1, **tol)
    assert_allclose(cent[1], c + adam1(g_c) - (W1 - W) @ mu1, **tol)
    assert_allclose(cent[2], b + adam1(g_b) - (W1 - W).T @ lam1, **tol)


# ----------------------------------------------- centering_offsets, as users use it
def test_centering_offsets_as_users_use_them():
    """``centering_offsets`` through the estimator: "data" is the default and the
    earlier behaviour; "average" (the enhanced gradient) and "model" train a
    different model, continue their offsets through pickle then partial_fit, and
    GridSearchCV takes the parameter; a bad value fails fit with a clear error and
    leaves the RBM as it was."""
    import pickle

    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV

    from rbmlib import BernoulliRBM

    X = (load_digits().data[:300] > 7).astype(float)
    kw = dict(n_components=16, n_iter=3, batch_size=20, learning_rate=0.05,
              centered=True, random_state=0)
    assert BernoulliRBM().centering_offsets == "data"
    fits = {o: BernoulliRBM(centering_offsets=o, **kw).fit(X)
            for o in ("data", "average", "model")}
    assert_array_equal(fits["data"].components_,
                       BernoulliRBM(**kw).fit(X).components_)
    for o in ("average", "model"):
        assert np.abs(fits[o].components_ - fits["data"].components_).max() > 1e-5
        assert np.all(np.isfinite(fits[o].components_))
    rbm = fits["average"]
    again = pickle.loads(pickle.dumps(rbm))
    rbm.partial_fit(X)
    again.partial_fit(X)
    assert_array_equal(again.components_, rbm.components_)
    grid = GridSearchCV(BernoulliRBM(**kw), {"centering_offsets": ["data", "average"]},
                        cv=2).fit(X)
    assert grid.best_params_["centering_offsets"] in ("data", "average")
    before = rbm.components_.copy()
    with pytest.raises(ValueError, match="centering_offsets"):
        rbm.set_params(centering_offsets="mean").fit(X)
    assert_array_equal(rbm.components_, before)
