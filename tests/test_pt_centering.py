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
import os
import pickle
import signal
import threading
import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy.special import expit, logsumexp
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from rbmlib import BernoulliRBM, CategoricalRBM, GaussianBernoulliRBM
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
    if visible in (0, 2):  # Bernoulli, or categorical one-hot rows
        f = -beta * v @ b
    else:  # Gaussian: v holds u = v / sigma^2
        f = (((v * sigma ** 2 - beta * b) ** 2) / (2 * sigma ** 2)).sum(1)
    lm = _softplus(x) if hidden == 0 else 0.5 * x ** 2
    return f - lm.sum(1)


def _scratch(B, H, V):
    return (np.zeros((2 * B, V)), np.zeros((2 * B, H)), np.zeros((B, H)), np.zeros((B, V)),
            np.zeros((1, V)), np.zeros((0, 0), np.int32))


# ---------------------------------------------------------------- the swap rule
@pytest.mark.parametrize("visible,hidden", [(0, 0), (1, 0), (0, 1), (2, 0), (2, 1)])
def test_swap_rule_is_the_metropolis_ratio_of_tempered_free_energies(visible, hidden):
    rng = np.random.RandomState(0)
    V, H, T, B, m = 7, 5, 4, 9, 8
    W = rng.normal(0, 1.0, (H, V))
    c, b = rng.normal(0, 1, H), rng.normal(0, 1, V)
    sigma = rng.uniform(0.5, 1.5, V) if visible == 1 else np.ones(V)
    betas = np.array([1.0, 0.7, 0.45, 0.2])
    if visible == 0:
        v = (rng.rand(T * B, V) < 0.5).astype(float)
    elif visible == 2:  # categorical: one-hot groups of 3, 2 and 2 categories
        v = np.zeros((T * B, V))
        for lo, k in ((0, 3), (3, 2), (5, 2)):
            v[np.arange(T * B), lo + rng.randint(0, k, T * B)] = 1.0
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
    _, p = _exact_pv(*_bimodal_model())
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


def test_pt_swaps_after_every_gibbs_sweep():
    """With k sweeps per update every sweep is followed by a swap pass, even and odd
    pairs alternating sweep by sweep across updates (Desjardins et al. 2010): with
    k = 3 and 3 temperatures, update 0 makes passes on pairs 0, 1, 0 and update 1 on
    1, 0, 1; the beta = 1 replicas still sample the exact p(v)."""
    m = 40
    _, one = _run_chains(PT, T=3, n_updates=1, k=3)
    np.testing.assert_array_equal(one[3][0], [2 * m, m])
    _, two = _run_chains(PT, T=3, n_updates=2, k=3)
    np.testing.assert_array_equal(two[3][0], [3 * m, 3 * m])
    _, p = _exact_pv(*_bimodal_model())
    emp, tempering = _run_chains(PT, T=6, n_updates=750, k=2)
    assert 0.5 * np.abs(emp - p).sum() < 0.05
    np.testing.assert_array_equal(tempering[3][0], [750 * m] * 5)


# ------------------------------------------------------------ the centered step
def _centering_group(mu, lam, decay):
    H, V = lam.shape[0], mu.shape[0]
    return (decay, mu, lam, np.zeros(H), np.zeros(V), 0.0)  # offsets from the data


def test_centered_update_is_the_step_of_melchior_et_al():
    """One update (mean-field persistent chain: deterministic statistics) with momentum:
    the offsets move first, the weights take the centered gradient, the biases the
    centered step carried back to the uncentered parametrisation."""
    rng = np.random.RandomState(1)
    m, V, H, B = 6, 8, 5, 6
    v0 = (rng.rand(m, V) < 0.4).astype(float)
    W = rng.normal(0, 0.5, (H, V))
    c, b = rng.normal(0, 0.5, H), rng.normal(0, 0.5, V)
    vel = [rng.normal(0, 0.01, a.shape) for a in (W, c, b)]
    hchain = (rng.rand(B, H) < 0.5).astype(float)
    mu, lam = rng.uniform(0.2, 0.8, V), rng.uniform(0.2, 0.8, H)
    lr, mom, decay = 0.1, 0.5, 0.8

    params = (W.copy(), c.copy(), b.copy(), np.ones(V), np.zeros(0))
    vels = (*[a.copy() for a in vel], np.zeros(0))
    cen = _centering_group(mu.copy(), lam.copy(), decay)
    scratch = _scratch(B, H, V)
    scratch[0][:m] = v0
    cd_update(m, (1, PCD_MEAN_FIELD, 0, 0, False), np.uint64(2), 0, params,
              np.zeros(1, np.int64), vels,
              chain_groups(hchain.copy(), np.full(H, 0.1), centering=cen), scratch,
              (lr, mom, 0.0, 0.1, 0.0, 0.9, 0.0, 0.0))

    ph0 = expit(v0 @ W.T + c)
    vk = expit(hchain[:m] @ W + b)  # the mean-field chain step
    phk = expit(vk @ W.T + c)
    mu1 = decay * mu + (1 - decay) * v0.mean(0)
    lam1 = decay * lam + (1 - decay) * ph0.mean(0)
    gW = (ph0.T @ v0 - phk.T @ vk) / m
    gc, gb = (ph0 - phk).mean(0), (v0 - vk).mean(0)
    G_W = gW - np.outer(gc, mu1) - np.outer(lam1, gb)  # <(h-lam)(v-mu)^T>_d - ..._m
    np.testing.assert_allclose(
        G_W, ((ph0 - lam1).T @ (v0 - mu1) - (phk - lam1).T @ (vk - mu1)) / m, atol=1e-14)
    vW1 = mom * vel[0] + lr * G_W
    vc1, vb1 = mom * vel[1] + lr * gc, mom * vel[2] + lr * gb
    W1 = W + vW1
    c1 = c + vc1 - (W1 - W) @ mu1  # c = c~ - W mu
    b1 = b + vb1 - (W1 - W).T @ lam1  # b = b~ - W^T lam
    tol = {"rtol": 1e-12, "atol": 1e-13}
    np.testing.assert_allclose(cen[1], mu1, **tol)
    np.testing.assert_allclose(cen[2], lam1, **tol)
    np.testing.assert_allclose(params[0], W1, **tol)
    np.testing.assert_allclose(params[1], c1, **tol)
    np.testing.assert_allclose(params[2], b1, **tol)
    np.testing.assert_allclose(vels[0], vW1, **tol)
    # the same uncentered step direction from the NumPy helper (SGD, momentum 0)
    d_W, d_c, d_b = centered_gradient(gW, gc, gb, mu1, lam1)
    np.testing.assert_allclose(d_W, G_W, atol=1e-14)
    np.testing.assert_allclose(d_c, gc - G_W @ mu1, atol=1e-14)
    np.testing.assert_allclose(d_b, gb - G_W.T @ lam1, atol=1e-14)


def _joint_states(V, H):
    S = _all_states(V + H)
    return S[:, :V], S[:, V:]


def test_centered_gradient_against_exact_expectations():
    """The log-likelihood gradient of the centered parametrisation, from exact
    expectations over all (v, h), equals the uncentered one transformed by the known
    offset terms; a step on the centered parameters, uncentered, is the step of
    ``centered_gradient``; and both parametrisations give the same p(v)."""
    rng = np.random.RandomState(4)
    V, H = 5, 3
    W = rng.normal(0, 1, (H, V))
    c, b = rng.normal(0, 1, H), rng.normal(0, 1, V)
    mu, lam = rng.uniform(0.1, 0.9, V), rng.uniform(0.1, 0.9, H)
    data = (rng.rand(12, V) < 0.5).astype(float)
    Vs, Hs = _joint_states(V, H)
    # model expectations of the uncentered RBM
    logp = Vs @ b + Hs @ c + np.einsum("nj,ji,ni->n", Hs, W, Vs)
    p = np.exp(logp - logsumexp(logp))
    ph = expit(data @ W.T + c)  # data expectations with E[h | v]
    g_W = ph.T @ data / len(data) - (Hs * p[:, None]).T @ Vs
    g_c = ph.mean(0) - p @ Hs
    g_b = data.mean(0) - p @ Vs
    # the centered parametrisation: E = -(v-mu) b~ - c~ (h-lam) - (h-lam)^T W (v-mu)
    bt, ct = b + W.T @ lam, c + W @ mu
    logp_c = (Vs - mu) @ bt + (Hs - lam) @ ct + np.einsum("nj,ji,ni->n", Hs - lam, W, Vs - mu)
    p_c = np.exp(logp_c - logsumexp(logp_c))
    np.testing.assert_allclose(p_c, p, rtol=1e-10)  # the same model
    # its gradient: d/dW~ = <(h-lam)(v-mu)^T>, d/db~ = <v-mu>, d/dc~ = <h-lam>
    G_W = ((ph - lam).T @ (data - mu) / len(data)
           - ((Hs - lam) * p[:, None]).T @ (Vs - mu))
    G_b = (data - mu).mean(0) - p @ (Vs - mu)
    G_c = (ph - lam).mean(0) - p @ (Hs - lam)
    np.testing.assert_allclose(G_b, g_b, atol=1e-12)
    np.testing.assert_allclose(G_c, g_c, atol=1e-12)
    d_W, d_c, d_b = centered_gradient(g_W, g_c, g_b, mu, lam)
    np.testing.assert_allclose(d_W, G_W, atol=1e-12)
    # a step on (W~, b~, c~), then uncentered, is the step (d_W, d_c, d_b)
    lr = 0.3
    W1 = W + lr * G_W
    b1 = (bt + lr * G_b) - W1.T @ lam
    c1 = (ct + lr * G_c) - W1 @ mu
    np.testing.assert_allclose(W1, W + lr * d_W, atol=1e-12)
    np.testing.assert_allclose(b1, b + lr * d_b, atol=1e-12)
    np.testing.assert_allclose(c1, c + lr * d_c, atol=1e-12)
    # and it differs from the uncentered step (the offsets' effect is not zero)
    assert np.abs(d_W - g_W).max() > 1e-2


# ------------------------------------------------------------------ estimators


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def _tiny_data(n=120, V=6, seed=0):
    rng = np.random.RandomState(seed)
    proto = (rng.rand(3, V) < 0.5).astype(float)
    X = proto[rng.randint(0, 3, n)]
    flip = rng.rand(n, V) < 0.1
    return np.abs(X - flip)


def test_centered_fit_exposes_the_uncentered_model_exactly():
    """log Z of the fitted (uncentered) parameters, rbmlib's exact value, equals NumPy
    enumeration; the centered energy with the fitted offsets gives the same p(v) and
    log Z shifted by the constant its expansion predicts."""
    X = _tiny_data()
    m = BernoulliRBM(4, n_iter=5, learning_rate=0.1, batch_size=10, random_state=0,
                     centered=True, n_temperatures=3).fit(X)
    W, c, b = m.components_, m.intercept_hidden_, m.intercept_visible_
    mu, lam = m._centering_offsets
    S = _all_states(6)
    log_z = logsumexp(S @ b + _softplus(S @ W.T + c).sum(1))
    assert m.log_partition(method="exact").log_z == pytest.approx(log_z, abs=1e-10)
    Vs, Hs = _joint_states(6, 4)
    bt, ct = b + W.T @ lam, c + W @ mu
    neg_e_c = (Vs - mu) @ bt + (Hs - lam) @ ct + np.einsum("nj,ji,ni->n", Hs - lam, W, Vs - mu)
    const = mu @ bt + lam @ ct - lam @ W @ mu  # E_centered = E + const
    assert logsumexp(neg_e_c) == pytest.approx(log_z - const, abs=1e-10)
    # the offsets are the data's moving averages, not their initial values
    np.testing.assert_allclose(mu, X.mean(0), atol=0.1)
    assert np.all((lam > 0) & (lam < 1))
    # and the centered fit learned: exact log-likelihood above the uniform model's
    ll_exact = (X @ b + _softplus(X @ W.T + c).sum(1)).mean() - log_z
    assert ll_exact > -6 * np.log(2) + 0.5


@pytest.mark.parametrize("cls,X", [
    (GaussianBernoulliRBM, np.random.RandomState(0).normal(size=(60, 5))),
    (CategoricalRBM, np.random.RandomState(0).randint(0, 3, (60, 4))),
])
def test_every_visible_unit_type_trains_with_pt_and_centering(cls, X):
    kw = {"persistent": True} if cls is CategoricalRBM else {}
    m = cls(4, n_iter=2, batch_size=10, random_state=0, n_temperatures=3, centered=True,
            **kw).fit(X)
    assert len(m.history_[-1]["swap_acceptance"]) == 2
    assert all(0 <= a <= 1 for a in m.history_[-1]["swap_acceptance"])
    assert np.all(np.isfinite(m.components_))
    assert m._centering_offsets[0].shape == (m.components_.shape[1],)


def test_pt_history_and_plot(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from rbmlib.plotting import plot_history

    m = BernoulliRBM(4, n_iter=3, batch_size=10, random_state=0, n_temperatures=4).fit(
        _tiny_data())
    for rec in m.history_:
        assert len(rec["swap_acceptance"]) == 3 and rec["round_trips"] >= 0
    fig = plot_history(m)
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert any("swap acceptance" in s for s in labels)
    assert any("round trips" in s for s in labels)
    ax = next(a for a in fig.axes if "swap acceptance" in a.get_ylabel())
    assert len(ax.get_lines()) == 3


def test_bad_sampler_parameters_raise_and_leave_the_model():
    X = _tiny_data()
    m = BernoulliRBM(4, n_iter=1, random_state=0).fit(X)
    before = pickle.dumps(m)
    for kw, match in [({"n_temperatures": 3, "persistent": False}, "persistent=True"),
                      ({"n_temperatures": 3, "hidden_units": "nrelu"}, "free energies"),
                      ({"n_temperatures": 3, "inverse_temperatures": [1.0, 0.5]}, "decreasing"),
                      ({"n_temperatures": 2, "inverse_temperatures": [0.9, 0.5]}, "starting at 1"),
                      ({"n_temperatures": 2, "inverse_temperatures": [1.0, 1.5]}, "decreasing")]:
        for call in (m.fit, m.partial_fit)[:1 if "hidden_units" in kw else 2]:
            with pytest.raises(ValueError, match=match):
                m.set_params(**kw)
                call(X)
            m.set_params(n_temperatures=1, persistent=True, sample_visible=True,
                         hidden_units="bernoulli", inverse_temperatures=None)
            assert pickle.dumps(m) == before
    with pytest.raises(ValueError, match="n_temperatures"):
        BernoulliRBM(n_temperatures=0).fit(X)
    with pytest.raises(ValueError, match="centering_decay"):
        BernoulliRBM(centered=True, centering_decay=1.5).fit(X)


def test_gridsearch_over_n_temperatures_and_centered(digits):
    X, y = digits
    pipe = Pipeline([("rbm", BernoulliRBM(32, n_iter=10, learning_rate=0.1, random_state=0)),
                     ("clf", LogisticRegression(max_iter=500))])
    grid = {"rbm__n_temperatures": [1, 3], "rbm__centered": [False, True]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.all(scores > 0.25), scores  # chance: 0.1
    best = search.best_estimator_.named_steps["rbm"]
    assert (best._tempering_state is not None) == (best.n_temperatures > 1)
    assert (best._centering_offsets is not None) == best.centered


def test_clone_pickle_then_partial_fit_continue_the_chains_and_offsets(digits):
    X = digits[0]
    m = BernoulliRBM(16, n_iter=2, batch_size=20, random_state=0, n_temperatures=3,
                     centered=True).fit(X)
    c = clone(m)
    assert not hasattr(c, "components_") and c.get_params() == m.get_params()
    copy = pickle.loads(pickle.dumps(m))
    v_before = m._tempering_state[0].copy()
    mu_before = m._centering_offsets[0].copy()
    m.partial_fit(X[:100])
    copy.partial_fit(X[:100])
    assert_array_equal(m.components_, copy.components_)
    assert_array_equal(m._tempering_state[0], copy._tempering_state[0])
    assert_array_equal(m._centering_offsets[1], copy._centering_offsets[1])
    assert not np.array_equal(m._tempering_state[0], v_before)
    assert not np.array_equal(m._centering_offsets[0], mu_before)
    assert len(m.history_) == 3 and "swap_acceptance" in m.history_[-1]
    # the partial_fit used the kept replicas and offsets: restarting them changes it
    fresh = pickle.loads(pickle.dumps(copy))
    fresh2 = pickle.loads(pickle.dumps(copy))
    fresh2._tempering_state = None
    fresh2._centering_offsets = None
    fresh.partial_fit(X[:100])
    fresh2.partial_fit(X[:100])
    assert not np.array_equal(fresh.components_, fresh2.components_)


def test_real_sigint_during_a_pt_fit(digits):
    X = np.tile(digits[0], (4, 1))
    kw = {"n_components": 64, "n_temperatures": 4, "centered": True, "random_state": 0, "n_jobs": 1}
    BernoulliRBM(n_iter=1, **kw).fit(X[:20])  # compiled before the clock starts
    est = BernoulliRBM(n_iter=100000, **kw)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        timer.start()
        try:
            est.fit(X)
        except KeyboardInterrupt:  # before the first epoch completed: left unfitted
            timer.join()
            assert not hasattr(est, "components_")
            pytest.skip("the machine was too slow for one epoch in 1 s")
        timer.join()
    assert est.interrupted_ and est.n_iter_ == len(est.history_) >= 1
    assert any("interrupted" in str(w.message) for w in rec)
    ref = BernoulliRBM(n_iter=est.n_iter_, **kw).fit(X)
    assert_array_equal(est.components_, ref.components_)
    assert_array_equal(est._tempering_state[0], ref._tempering_state[0])
    assert_array_equal(est._centering_offsets[0], ref._centering_offsets[0])


def test_pt_and_centering_same_result_on_one_and_two_threads():
    """The tempered sweeps and swaps draw counter-based numbers per element and row:
    the same replicas and parameters whatever Numba's thread count (passes big enough
    to run threaded)."""
    import numba

    from rbmlib._kernels.cd import cd_epoch

    rng = np.random.RandomState(0)
    n, V, H, B, T = 120, 64, 300, 60, 3
    X = (rng.rand(n, V) < 0.3).astype(float)
    results = []
    old = numba.get_num_threads()
    try:
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            W = np.ascontiguousarray(np.random.RandomState(1).normal(0, 0.1, (H, V)))
            params = (W, np.zeros(H), np.zeros(V), np.ones(V), np.zeros(0))
            vel = (np.zeros_like(W), np.zeros(H), np.zeros(V), np.zeros(0))
            temp = tempering_group(np.geomspace(1, 0.2, T), B, H, V, np.float64)
            cen = _centering_group(X.mean(0), np.full(H, 0.5), 0.9)
            chains = chain_groups(np.zeros((B, H)), np.full(H, 0.1), temp, cen)
            batch = (X, np.zeros(1), np.zeros(1, np.int32), np.zeros(2, np.int32), False)
            cd_epoch(batch, np.arange(n, dtype=np.int64), B, (1, PT, 0, 0, False), np.uint64(3),
                     0, params, np.zeros(1, np.int64), vel, chains, _scratch(B, H, V),
                     (0.05, 0.5, 0.0, 0.1, 0.0, 0.9, 0.0, 0.0), None)
            results.append((W.copy(), temp[0].copy(), temp[3].copy(), cen[1].copy()))
    finally:
        numba.set_num_threads(old)
    for a, b_ in zip(*results):
        assert_array_equal(a, b_)


def test_tempered_gibbs_of_a_fitted_rbm_samples_the_exact_distribution():
    """rbmlib.rbm._tempering.tempered_gibbs (DBN.sample's top RBM) on the bimodal model:
    its beta = 1 replicas, all started in one mode, reach the exact p(v); plain Gibbs
    chains (one temperature) stay in their mode."""
    from rbmlib.rbm._tempering import tempered_gibbs

    W, c, b = _bimodal_model()
    rbm = BernoulliRBM(2, n_iter=1, random_state=0).fit(_tiny_data())
    rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_ = W, c, b
    _, p = _exact_pv(W, c, b)
    powers = 2 ** np.arange(5, -1, -1)
    v0 = np.tile([0.0, 0.0, 0.0, 1.0, 1.0, 1.0], (4000, 1))
    tv = {}
    for name, betas in (("pt", np.geomspace(1.0, 0.05, 6)), ("gibbs", [1.0])):
        v, _ = tempered_gibbs(rbm, v0, 60, betas, np.random.RandomState(0))
        emp = np.bincount((v @ powers).astype(int), minlength=64) / len(v)
        tv[name] = 0.5 * np.abs(emp - p).sum()
    assert tv["pt"] < 0.05 and tv["gibbs"] > 0.3, tv


def test_dbn_pretrains_centered_pt_layers_and_samples_with_pt(digits):
    from rbmlib import DBN

    X = digits[0]
    dbn = DBN([16, 8], n_iter=2, random_state=0,
              rbm_params={"n_temperatures": 3, "centered": True}).fit(X)
    for rbm in dbn.rbms_:
        assert rbm._centering_offsets is not None and "swap_acceptance" in rbm.history_[-1]
    S = dbn.sample(20, n_gibbs=5, random_state=1, n_temperatures=4)
    assert S.shape == (20, X.shape[1]) and np.all((S >= 0) & (S <= 1))
    assert_array_equal(S, dbn.sample(20, n_gibbs=5, random_state=1, n_temperatures=4))
    assert not np.array_equal(S, dbn.sample(20, n_gibbs=5, random_state=1))
    with pytest.raises(ValueError, match="starting at 1"):
        dbn.sample(2, n_temperatures=2, inverse_temperatures=[0.5, 0.1])


def test_adapted_ladder_moves_the_swap_acceptance_towards_the_target(digits):
    from rbmlib.rbm._tempering import adapt_ladder

    # the rule: gaps of a pair above the target widen, below it narrow, beta_0 stays 1;
    # the step grows with the evidence, n / (n + 200)
    betas = np.array([1.0, 0.5, 0.25])
    counts = np.array([[200.0, 200.0], [180.0, 20.0], [0.0, 0.0]])
    new = adapt_ladder(betas, counts, 0.5)
    np.testing.assert_allclose(np.diff(np.log(new)), np.log(0.5) * np.exp([0.2, -0.2]))
    assert new[0] == 1.0
    # in training: a ladder much too dense (acceptance near 1) spreads out
    X = digits[0]
    kw = {"n_iter": 6, "batch_size": 10, "random_state": 0, "n_temperatures": 4,
              "inverse_temperatures": [1.0, 0.99, 0.98, 0.97], "swap_acceptance_target": 0.4}
    m = BernoulliRBM(16, **kw).fit(X)
    first = np.array(m.history_[0]["swap_acceptance"])
    last = np.array(m.history_[-1]["swap_acceptance"])
    assert np.abs(last - 0.4).max() < np.abs(first - 0.4).max(), (first, last)
    betas = m._tempering_state[2]
    assert betas[0] == 1.0 and np.all(np.diff(betas) < 0) and betas[-1] < 0.9, betas
    fixed = BernoulliRBM(16, **dict(kw, swap_acceptance_target=None)).fit(X)
    assert_array_equal(fixed._tempering_state[2], [1.0, 0.99, 0.98, 0.97])
    # partial_fit continues the adapted ladder (pickled with the replicas)
    copy = pickle.loads(pickle.dumps(m))
    copy.partial_fit(X[:100])
    m.partial_fit(X[:100])
    assert_array_equal(copy._tempering_state[2], m._tempering_state[2])
    attempts = 100 // 10 // 2 * 10  # 10 updates, each pair in every other one, 10 chains
    counts = np.array([[attempts] * 3, np.array(m.history_[-1]["swap_acceptance"]) * attempts,
                       [0.0] * 3])
    np.testing.assert_allclose(m._tempering_state[2], adapt_ladder(betas, counts, 0.4),
                               rtol=1e-12)
