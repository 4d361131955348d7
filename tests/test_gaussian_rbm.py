"""Tests of GaussianBernoulliRBM against independent references.

References used: brute-force sums over the hidden states, numerical
integration (scipy.integrate) of exp(-F), and the exact log-likelihood
gradient of a tiny model from enumerating the hidden states (the visible
units given h are Gaussian, so their moments are closed-form).
scikit-learn's estimator checks for the class are in tests/test_common.py.
"""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import integrate
from scipy.special import logsumexp
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from rbmlib import DBN, DBNClassifier, DBNRegressor, DivergenceError, GaussianBernoulliRBM
from rbmlib._kernels.cd import cd_epoch
from rbmlib._kernels.negative import CD
from rbmlib.likelihood import log_likelihood, log_partition_exact


# ---------------------------------------------------------------- helpers
def _model(W, c, b, sigma, **params):
    """A GaussianBernoulliRBM with the given parameters (set in place after init)."""
    H, V = W.shape
    params.setdefault("batch_size", 10)
    params.setdefault("random_state", 0)
    m = GaussianBernoulliRBM(n_components=H, n_iter=0, **params)
    m.fit(np.random.RandomState(0).normal(size=(20, V)))
    m.components_[...] = W
    m.intercept_hidden_[...] = c
    m.intercept_visible_[...] = b
    m.sigma_[...] = sigma
    m._log_var[...] = np.log(np.asarray(sigma) ** 2)
    return m


def _random_params(H, V, rng, scale=1.0, learn=True):
    W = scale * rng.normal(size=(H, V))
    c = rng.normal(size=H)
    b = rng.normal(size=V)
    sigma = rng.uniform(0.6, 1.5, size=V) if learn else np.ones(V)
    return W, c, b, sigma


def _hidden_states(H):
    return np.array(list(itertools.product([0, 1], repeat=H)), dtype=float)


def _energy(v, h, W, c, b, sigma):
    """E(v, h) of Cho et al. (2011), straight from the definition."""
    return (np.sum((v - b) ** 2 / (2 * sigma**2)) - c @ h
            - (v / sigma**2) @ W.T @ h)


def _log_z_reference(W, c, b, sigma):
    """log Z by enumerating h and integrating v | h in closed form (test's own)."""
    hs = _hidden_states(W.shape[0])
    mu = b + hs @ W                                   # (2^H, V) means of v | h
    # int exp(-E) dv = exp(c.h + sum (mu^2 - b^2) / (2 s^2)) prod sqrt(2 pi) s
    terms = hs @ c + np.sum((mu**2 - b**2) / (2 * sigma**2), axis=1)
    return logsumexp(terms) + np.sum(np.log(np.sqrt(2 * np.pi) * sigma))


def _model_moments(W, c, b, sigma):
    """p(h) and E[v | h] of the model, by enumeration."""
    hs = _hidden_states(W.shape[0])
    mu = b + hs @ W
    terms = hs @ c + np.sum((mu**2 - b**2) / (2 * sigma**2), axis=1)
    p = np.exp(terms - logsumexp(terms))
    return hs, p, mu


def _exact_gradient(X, W, c, b, sigma):
    """Gradient of the mean log-likelihood of X w.r.t. W, c, b and z = log sigma^2."""
    s2 = sigma**2
    ph = 1 / (1 + np.exp(-(c + (X / s2) @ W.T)))      # p(h = 1 | x)
    hs, p, mu = _model_moments(W, c, b, sigma)
    gW = (ph.T @ (X / s2)) / len(X) - (p[:, None] * hs).T @ (mu / s2)
    gc = ph.mean(0) - p @ hs
    gb = (X / s2).mean(0) - p @ (mu / s2)
    a = hs @ W                                           # W^T h for each state
    data_z = np.mean(0.5 * (X - b) ** 2 - X * (ph @ W), axis=0)
    # E_{v|h}[(v - b)^2 / 2 - v a] = (a^2 + s^2) / 2 - (b + a) a
    model_z = p @ (0.5 * (a**2 + s2) - (b + a) * a)
    gz = (data_z - model_z) / s2
    return gW, gc, gb, gz


# ------------------------------------------------------------ free energy
@pytest.mark.parametrize("V", [1, 2])
def test_free_energy_matches_sum_over_hidden_states_and_integrates_to_z(V):
    rng = np.random.RandomState(V)
    H = 3
    W, c, b, sigma = _random_params(H, V, rng)
    m = _model(W, c, b, sigma)
    hs = _hidden_states(H)

    # F(v) = -log sum_h exp(-E(v, h)) at random points
    V_pts = rng.normal(size=(7, V)) * 2
    F_ref = [-logsumexp([-_energy(v, h, W, c, b, sigma) for h in hs]) for v in V_pts]
    np.testing.assert_allclose(m.free_energy(V_pts), F_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(m.score_samples(V_pts), -np.asarray(F_ref), rtol=1e-10)

    # int exp(-F(v)) dv = Z, numerically, against two closed forms of log Z
    shift = -m.free_energy(b[None])[0]    # scale the integrand near 1

    def f(*v):
        return np.exp(-m.free_energy(np.array([v[::-1]]))[0] - shift)

    lim = [(bi - 12 * si - 6 * np.abs(W[:, i]).sum(), bi + 12 * si + 6 * np.abs(W[:, i]).sum())
           for i, (bi, si) in enumerate(zip(b, sigma))]
    if V == 1:
        val, _ = integrate.quad(f, *lim[0], epsabs=0, epsrel=1e-10, limit=200)
    else:
        # adaptive dblquad calls free_energy point by point (slow): a fine grid
        # with the trapezoidal rule is as exact for smooth, fast-decaying integrands
        g0, g1 = (np.linspace(lo, hi, 801) for lo, hi in lim)
        G0, G1 = np.meshgrid(g0, g1, indexing="ij")
        dens = np.exp(-m.free_energy(np.c_[G0.ravel(), G1.ravel()]) - shift).reshape(G0.shape)
        val = integrate.trapezoid(integrate.trapezoid(dens, g1, axis=1), g0)
    log_z_numeric = np.log(val) + shift
    assert log_z_numeric == pytest.approx(_log_z_reference(W, c, b, sigma), abs=1e-6)
    assert log_z_numeric == pytest.approx(log_partition_exact(m).log_z, abs=1e-6)


def test_sparse_input_matches_dense():
    rng = np.random.RandomState(0)
    W, c, b, sigma = _random_params(3, 4, rng)
    m = _model(W, c, b, sigma)
    X = rng.normal(size=(5, 4))
    X[X < 0] = 0
    np.testing.assert_allclose(m.free_energy(sp.csr_matrix(X)), m.free_energy(X))
    np.testing.assert_allclose(m.transform(sp.csr_matrix(X)), m.transform(X))


# ------------------------------------------------------------- gradients
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_var_kernel_matches_numpy_reference(dtype):
    """cd_epoch with learn_log_var on one mini-batch: W, c, b exactly as without it
    (Gaussian units), and the log-variance step as a NumPy computation from the same
    chain."""
    rng = np.random.RandomState(0)
    H, V, m = 3, 4, 6
    W, c, b, sigma = (a.astype(dtype) for a in _random_params(H, V, rng, scale=0.5))
    X = rng.normal(size=(m, V)).astype(dtype)
    lr, mom = 0.05, 0.5

    def state():
        return [W.copy(), c.copy(), b.copy(), sigma.copy(), np.zeros_like(W),
                np.zeros_like(c), np.zeros_like(b), np.zeros((m, H), dtype),
                np.full(H, 0.1, dtype)]

    def bufs():
        return [np.zeros((2 * m, V), dtype), np.zeros((2 * m, H), dtype),
                np.zeros((m, H), dtype), np.zeros((m, V), dtype), np.zeros((H, V), dtype)]

    order = np.arange(m, dtype=np.int64)
    batch = (X, np.zeros(1, dtype), np.zeros(1, np.int32), np.zeros(2, np.int32), False)
    lo, hi = 2 * np.log(0.05), 2 * np.log(10.0)
    hyper = (lr, mom, 0.0, 0.1, 0.0, 0.9, lo, hi)
    e = np.zeros(0, dtype)
    ref, ref_bufs = state(), bufs()
    cd_epoch(batch, order, m, (2, CD, 1, 0, False), np.uint64(7), 3,
             (*ref[:4], e), np.zeros(1, np.int64), (*ref[4:7], e), tuple(ref[7:]),
             (*ref_bufs, np.zeros((0, 0), np.int32)), hyper)
    got, got_bufs = state(), bufs()
    log_var = np.log(sigma.astype(np.float64) ** 2).astype(dtype)
    vel_z = np.zeros(V, dtype)
    cd_epoch(batch, order, m, (2, CD, 1, 0, True), np.uint64(7), 3,
             (*got[:4], log_var), np.zeros(1, np.int64), (*got[4:7], vel_z), tuple(got[7:]),
             (*got_bufs, np.zeros((0, 0), np.int32)), hyper)
    tol = dict(rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6 if dtype == np.float32 else 1e-12)
    for a, r in zip(got[:3], ref[:3]):
        np.testing.assert_allclose(a, r, **tol)

    s2 = sigma.astype(np.float64) ** 2
    Vcat, Hcat = got_bufs[0].astype(np.float64), got_bufs[1].astype(np.float64)
    v0, vk = X.astype(np.float64), Vcat[m:] * s2
    ph0, phk = Hcat[:m], -Hcat[m:]
    W64, b64 = W.astype(np.float64), b.astype(np.float64)
    g = (np.mean(0.5 * (v0 - b64) ** 2 - v0 * (ph0 @ W64), axis=0)
         - np.mean(0.5 * (vk - b64) ** 2 - vk * (phk @ W64), axis=0)) / s2
    z_want = np.log(s2) + lr * g
    np.testing.assert_allclose(log_var, z_want, **tol)
    np.testing.assert_allclose(got[3], np.exp(z_want / 2), **tol)
    assert got[3].dtype == dtype


@pytest.mark.parametrize("learn_sigma", [False, True])
def test_cd_gradient_approaches_exact_gradient(learn_sigma):
    """One update with a batch of n rows gives lr * (CD-k gradient estimate)."""
    rng = np.random.RandomState(1)
    H, V, n = 3, 2, 20000
    W, c, b, sigma = _random_params(H, V, rng, scale=0.8, learn=learn_sigma)
    L = np.linalg.cholesky(np.array([[1.0, 0.7], [0.7, 1.0]]))
    X = rng.normal(size=(n, V)) @ L.T + [0.5, -0.5]
    g_exact = _exact_gradient(X, W, c, b, sigma)

    errors = {}
    for k in (1, 30):
        lr = 1e-3
        m = _model(W, c, b, sigma, batch_size=n, k=k, persistent=False,
                   learning_rate=lr, learn_sigma=learn_sigma, random_state=k)
        m.partial_fit(X)
        g_cd = [(m.components_ - W) / lr, (m.intercept_hidden_ - c) / lr,
                (m.intercept_visible_ - b) / lr]
        if learn_sigma:
            g_cd.append((m._log_var - np.log(sigma**2)) / lr)
        errors[k] = max(np.max(np.abs(gc - ge)) for gc, ge in zip(g_cd, g_exact))
        scale = max(np.max(np.abs(ge)) for ge in g_exact)
        if k == 30:
            # Monte Carlo error of 20000 chains is about 0.01-0.02
            assert errors[k] < 0.05 * max(scale, 1.0), (errors, scale)
        if not learn_sigma:
            np.testing.assert_array_equal(m.sigma_, 1.0)
    # CD-1 is biased on this model; the long chains remove most of the bias
    assert errors[30] < errors[1]


def test_training_raises_exact_log_likelihood():
    rng = np.random.RandomState(0)
    # two strongly correlated pairs of features: structure the hidden units can take
    z = rng.normal(size=(600, 2))
    X = np.c_[z[:, 0], z[:, 0] + 0.3 * rng.normal(size=600),
              z[:, 1], -z[:, 1] + 0.3 * rng.normal(size=600)]
    X = StandardScaler().fit_transform(X)
    ll = {}
    for learn_sigma in (False, True):
        m = GaussianBernoulliRBM(n_components=8, n_iter=0, random_state=0, persistent=False,
                                 learning_rate=0.005, momentum=0.5,
                                 learn_sigma=learn_sigma).fit(X)
        ll0 = log_likelihood(m, X).mean()
        # the initial model is nearly independent unit Gaussians
        assert ll0 == pytest.approx(-4 * 0.5 * np.log(2 * np.pi * np.e), abs=0.01)
        m.set_params(n_iter=40).fit(X)
        ll[learn_sigma] = log_likelihood(m, X).mean()
        # exact log-likelihood = the model's own -F minus the test's own log Z
        np.testing.assert_allclose(
            log_likelihood(m, X[:5]),
            m.score_samples(X[:5]) - _log_z_reference(
                m.components_, m.intercept_hidden_, m.intercept_visible_, m.sigma_),
            rtol=1e-8,
        )
        if learn_sigma:
            assert np.all(m.sigma_ < 0.9) and np.all(m.sigma_ >= 0.05)
        else:
            np.testing.assert_array_equal(m.sigma_, 1.0)
    # fixed unit variances cap the gain (the model's marginal variance is >= 1);
    # learned variances let the hidden units explain the correlations
    assert ll[False] > ll0 + 0.15, (ll0, ll)
    assert ll[True] > ll[False] + 0.4, (ll0, ll)


# ------------------------------------------------------- sampling / API
def test_gibbs_samples_or_means():
    rng = np.random.RandomState(0)
    W, c, b, sigma = _random_params(3, 4, rng)
    m = _model(W, c, b, sigma)
    v = rng.normal(size=(2000, 4))
    means = m.gibbs(v, sample=False)
    samples = m.gibbs(v)
    assert means.shape == samples.shape == v.shape
    # means are b + h W for binary h: a finite set of rows
    assert len(np.unique(np.round(means, 8), axis=0)) <= 2**3
    # with W = 0 the samples are b + sigma * N(0, 1) whatever v
    m.components_[...] = 0.0
    samples = m.gibbs(v)
    np.testing.assert_allclose(samples.mean(0), b, atol=0.15)
    np.testing.assert_allclose(samples.std(0), sigma, rtol=0.08)
    np.testing.assert_allclose(m.gibbs(v, sample=False), np.broadcast_to(b, v.shape))


def test_reproducible_and_float32_preserved():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5))
    for learn_sigma in (False, True):
        a = GaussianBernoulliRBM(n_components=4, n_iter=3, random_state=3,
                                 learn_sigma=learn_sigma).fit(X)
        b_ = GaussianBernoulliRBM(n_components=4, n_iter=3, random_state=3,
                                  learn_sigma=learn_sigma, n_jobs=1).fit(X)
        np.testing.assert_array_equal(a.components_, b_.components_)
        np.testing.assert_array_equal(a.sigma_, b_.sigma_)
        m = GaussianBernoulliRBM(n_components=4, n_iter=3, random_state=3,
                                 learn_sigma=learn_sigma).fit(X.astype(np.float32))
        X32 = X.astype(np.float32)
        for arr in (m.components_, m.intercept_hidden_, m.intercept_visible_, m.sigma_,
                    m.transform(X32), m.free_energy(X32), m.score_samples(X32),
                    m.gibbs(X32), m.gibbs(X32, sample=False), m.reconstruction_error(X32)):
            assert arr.dtype == np.float32
        np.testing.assert_allclose(m.components_, a.components_, atol=1e-3)


def test_history_and_verbose(capsys):
    X = np.random.RandomState(0).normal(size=(100, 3))
    m = GaussianBernoulliRBM(n_components=2, n_iter=2, verbose=1, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert "-free energy" in out and out.count("Iteration") == 2
    assert set(m.history_[0]) >= {"negative_free_energy", "reconstruction_error"}


# --------------------------------------------------------- bad input
@pytest.mark.parametrize("learn_sigma", [False, True])
def test_unstandardised_data_raises_clear_error(learn_sigma):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 4)) * 1e3
    m = GaussianBernoulliRBM(n_components=4, random_state=0, learn_sigma=learn_sigma)
    with pytest.raises(ValueError, match="Standardise X first.*StandardScaler"):
        m.fit(X)
    with pytest.raises(ValueError, match="standard deviation"):
        GaussianBernoulliRBM(n_components=4).partial_fit(X)
    # later partial_fit calls are checked too, and leave the model unchanged
    m = GaussianBernoulliRBM(n_components=4, random_state=0).partial_fit(X / 1e3)
    W = m.components_.copy()
    with pytest.raises(ValueError, match="Standardise"):
        m.partial_fit(X)
    np.testing.assert_array_equal(m.components_, W)
    # the documented remedy works and gives finite output
    pipe = make_pipeline(StandardScaler(),
                         GaussianBernoulliRBM(n_components=4, n_iter=3, random_state=0))
    H = pipe.fit_transform(X)
    assert np.all(np.isfinite(H))


def test_divergence_error_mentions_standardising():
    X = np.random.RandomState(0).normal(size=(100, 3)) * 9
    m = GaussianBernoulliRBM(n_components=4, learning_rate=50.0, n_iter=5, random_state=0)
    with pytest.raises(DivergenceError, match="learning_rate.*standardised"):
        m.fit(X)
    assert not hasattr(m, "components_")  # a failed fit leaves the estimator as it was


def test_bad_parameter():
    with pytest.raises(ValueError, match="learn_sigma"):
        GaussianBernoulliRBM(learn_sigma="yes").fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        GaussianBernoulliRBM().fit(np.array([[0.0, np.nan], [1.0, 2.0]]))


# ------------------------------------------------------ DBN first layer
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_dbn_with_gaussian_first_layer():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    dbn = DBN(hidden_layer_sizes=(6, 4), first_layer="gaussian", n_iter=2,
              random_state=0).fit(X)
    assert isinstance(dbn.rbms_[0], GaussianBernoulliRBM)
    assert dbn.transform(X).shape == (120, 4)
    S = dbn.sample(3, n_gibbs=5, random_state=0)
    assert S.shape == (3, 5) and np.all(np.isfinite(S))

    # max_iter: the default (200 Adam epochs at 1e-3, as MLPClassifier) stops
    # short on 120 rows, for MLPClassifier too (0.80)
    clf = DBNClassifier(hidden_layer_sizes=(8,), first_layer="gaussian", n_iter_pretrain=2,
                        max_iter=600, random_state=0).fit(X, y)
    assert isinstance(clf.dbn_.rbms_[0], GaussianBernoulliRBM)
    assert clf.score(X, y) > 0.9
    reg = DBNRegressor(hidden_layer_sizes=(8,), first_layer="gaussian", n_iter_pretrain=2,
                       random_state=0).fit(X, X[:, 0])
    assert isinstance(reg.dbn_.rbms_[0], GaussianBernoulliRBM)
    assert np.all(np.isfinite(reg.predict(X)))
    with pytest.raises(ValueError, match="Standardise"):
        DBN(hidden_layer_sizes=(3,), first_layer="gaussian").fit(X * 1e3)
