"""Tests of rbmlib.likelihood and rbmlib._kernels.partition.

References used here are independent of the kernels: brute force over both
layers (Bernoulli), a grid quadrature over the visible units (Gaussian), and
a plain NumPy/Python AIS that draws from the same counter-based random
streams (SplitMix64 re-implemented with Python integers).

Schedules: the AIS accuracy tests use 3,001 evenly spaced inverse temperatures
instead of the default 14,501. On these 64 x 16 models that already gives a
standard error below 0.02 nats (measured: errors of 0.00-0.03 nats over 20
seeds), far inside the 0.1-nat tolerance, at a fifth of the cost; the default
schedule is run once with few runs.
"""

import itertools
import math
from types import SimpleNamespace

import numba
import numpy as np
import pytest
from scipy.special import logsumexp
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

from rbmlib import likelihood as L
from rbmlib._kernels import partition as PK

# --------------------------------------------------------------------------
# helpers


def _model(W, c, b, sigma=None):
    m = SimpleNamespace(components_=np.asarray(W, float),
                        intercept_hidden_=np.asarray(c, float),
                        intercept_visible_=np.asarray(b, float))
    if sigma is not None:
        m.sigma_ = np.asarray(sigma, float)
    return m


def _random_model(H, V, scale, seed, gaussian=False):
    rng = np.random.default_rng(seed)
    sigma = np.exp(0.3 * rng.standard_normal(V)) if gaussian else None
    return _model(scale * rng.standard_normal((H, V)), rng.standard_normal(H),
                  rng.standard_normal(V), sigma)


def _states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def _brute_log_z(W, c, b):
    """log sum_{v,h} exp(-E(v,h)) over both layers."""
    H, V = W.shape
    hs, vs = _states(H), _states(V)
    neg_e = (vs @ b)[None, :] + (hs @ c)[:, None] + hs @ W @ vs.T
    return logsumexp(neg_e)


def _grid_log_z_gaussian(W, c, b, sigma, n_grid=601):
    """Gaussian visible units (V = 2): sum over h, rectangle rule over v."""
    H, V = W.shape
    assert V == 2
    half = np.abs(b).max() + np.abs(W).sum() + 12 * sigma.max()
    g = np.linspace(-half, half, n_grid)
    dv = g[1] - g[0]
    v = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    total = []
    for h in _states(H):
        neg_e = (-((v - b) ** 2 / (2 * sigma**2)).sum(1) + c @ h
                 + (v / sigma**2) @ (W.T @ h))
        total.append(logsumexp(neg_e) + 2 * np.log(dv))
    return logsumexp(total)


@pytest.fixture(scope="module")
def digits_rbm():
    """64 x 16 RBM trained by a plain NumPy CD-1 loop on binarised 8x8 digits."""
    X = (load_digits().data > 7).astype(np.float64)
    rng = np.random.default_rng(0)
    n, V = X.shape
    H = 16
    W = 0.01 * rng.standard_normal((H, V))
    c = np.zeros(H)
    p = X.mean(0).clip(0.01, 0.99)
    b = np.log(p / (1 - p))

    def sig(z):
        return 1.0 / (1.0 + np.exp(-z))

    for _ in range(30):
        for idx in np.array_split(rng.permutation(n), n // 20):
            v0 = X[idx]
            ph0 = sig(v0 @ W.T + c)
            h = (rng.random(ph0.shape) < ph0) * 1.0
            pv = sig(h @ W + b)
            v = (rng.random(pv.shape) < pv) * 1.0
            ph = sig(v @ W.T + c)
            W += 0.05 * (ph0.T @ v0 - ph.T @ v) / len(idx)
            c += 0.05 * (ph0 - ph).mean(0)
            b += 0.05 * (v0 - v).mean(0)
    model = _model(W, c, b)
    assert np.abs(W).max() > 1.0  # a trained, strongly coupled model
    return model, X


BETAS_TEST = np.linspace(0.0, 1.0, 3001)

# --------------------------------------------------------------------------
# exact log Z


@pytest.mark.parametrize("H, V", [(1, 1), (3, 5), (5, 3), (4, 4), (14, 3), (3, 14)])
def test_exact_matches_brute_force(H, V):
    # (14, 3) and (3, 14): more states than one chunk (2^12), so the
    # parallel chunks and the Gray-code updates are both exercised.
    for seed, scale in [(0, 0.5), (1, 3.0)]:
        m = _random_model(H, V, scale, seed)
        est = L.log_partition_exact(m)
        ref = _brute_log_z(m.components_, m.intercept_hidden_, m.intercept_visible_)
        assert est.method == "exact"
        assert est.log_z == pytest.approx(ref, rel=1e-12, abs=1e-10)
        assert est.log_z_lower == est.log_z_upper == est.log_z


def test_enumerate_kernel_matches_numpy_reference():
    rng = np.random.default_rng(7)
    n, m = 13, 6
    M = rng.standard_normal((n, m))
    a = rng.standard_normal(n)
    off = rng.standard_normal(m)
    s = _states(n)
    x = off + s @ M
    ref_bern = logsumexp(s @ a + np.logaddexp(0, x).sum(1))
    inv_var = rng.uniform(0.5, 2.0, m)
    ref_gauss = logsumexp(s @ a + 0.5 * (x**2 * inv_var).sum(1))
    assert PK.log_z_enumerate(M, a, off, False, inv_var) == pytest.approx(ref_bern, rel=1e-13)
    assert PK.log_z_enumerate(M, a, off, True, inv_var) == pytest.approx(ref_gauss, rel=1e-13)


def test_exact_large_values_no_overflow():
    # energies of order 1e4: a naive sum of exp would overflow
    m = _random_model(4, 6, 300.0, 3)
    ref = _brute_log_z(m.components_, m.intercept_hidden_, m.intercept_visible_)
    assert np.isfinite(L.log_partition_exact(m).log_z)
    assert L.log_partition_exact(m).log_z == pytest.approx(ref, rel=1e-12)


def test_exact_gaussian_matches_quadrature():
    m = _random_model(3, 2, 0.7, 4, gaussian=True)
    ref = _grid_log_z_gaussian(m.components_, m.intercept_hidden_,
                               m.intercept_visible_, m.sigma_)
    assert L.log_partition_exact(m).log_z == pytest.approx(ref, abs=1e-8)


def test_exact_float32_model():
    m = _random_model(5, 7, 1.0, 5)
    m32 = _model(m.components_.astype(np.float32), m.intercept_hidden_.astype(np.float32),
                 m.intercept_visible_.astype(np.float32))
    ref = _brute_log_z(m32.components_.astype(float), m32.intercept_hidden_.astype(float),
                       m32.intercept_visible_.astype(float))
    assert L.log_partition_exact(m32).log_z == pytest.approx(ref, rel=1e-12)


# --------------------------------------------------------------------------
# free energy and log-likelihood


def test_free_energy_and_normalisation_bernoulli():
    m = _random_model(5, 9, 1.0, 6)
    W, c, b = m.components_, m.intercept_hidden_, m.intercept_visible_
    vs = _states(9)
    hs = _states(5)
    F_ref = -logsumexp((vs @ b)[:, None] + (hs @ c)[None, :] + vs @ W.T @ hs.T, axis=1)
    np.testing.assert_allclose(L.free_energy(m, vs), F_ref, rtol=1e-12)
    ll, est = L.log_likelihood(m, vs, return_log_z=True)
    assert est.method == "exact"
    assert logsumexp(ll) == pytest.approx(0.0, abs=1e-10)  # sums to one
    # sparse input gives the same values
    import scipy.sparse as sp
    np.testing.assert_allclose(L.log_likelihood(m, sp.csr_matrix(vs), log_z=est), ll)


def test_log_likelihood_gaussian_integrates_to_one():
    m = _random_model(3, 2, 0.7, 8, gaussian=True)
    half = 15.0
    g = np.linspace(-half, half, 601)
    v = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    ll = L.log_likelihood(m, v)
    assert logsumexp(ll) + 2 * np.log(g[1] - g[0]) == pytest.approx(0.0, abs=1e-8)


def test_log_likelihood_log_z_options(digits_rbm):
    m, X = digits_rbm
    exact = L.log_partition_exact(m)
    ll_exact = L.log_likelihood(m, X[:50], log_z="exact")
    np.testing.assert_allclose(L.log_likelihood(m, X[:50], log_z=exact.log_z), ll_exact)
    ll_ais, est = L.log_likelihood(m, X[:50], log_z="ais", return_log_z=True,
                                   n_runs=50, betas=BETAS_TEST, base_rate=X,
                                   random_state=0)
    assert est.method == "ais"
    np.testing.assert_allclose(ll_ais, ll_exact, atol=0.1)
    with pytest.raises(ValueError, match="'log_z' parameter of log_likelihood must be"):
        L.log_likelihood(m, X[:5], log_z="magic")


def test_log_likelihood_defaults_to_ais_for_large_models():
    m = _random_model(30, 30, 0.1, 9)
    ll, est = L.log_likelihood(m, np.zeros((2, 30)), return_log_z=True, n_runs=8,
                               betas=np.linspace(0, 1, 101), random_state=0)
    assert est.method == "ais" and ll.shape == (2,)
    with pytest.raises(ValueError, match="more than 25"):
        L.log_partition_exact(m)


# --------------------------------------------------------------------------
# AIS kernel against a plain Python/NumPy AIS on the same random streams

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _stream_key(seed, stream):
    return _mix64(seed ^ _mix64((stream * _GOLDEN + _GOLDEN) & _MASK))


def _uniform(key, i):
    return (_mix64((key + i * _GOLDEN) & _MASK) >> 11) * 2.0**-53


def _gaussian(key, i):
    u1, u2 = _uniform(key, 2 * i), _uniform(key, 2 * i + 1)
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _ais_reference(W, c, b, b_base, sigma, gaussian, betas, seed, n_runs, v_init=None,
                   states=False):
    """Log weights of the runs (and, with ``states``, their last visible states)."""
    s2 = sigma**2

    def log_p(v, beta):
        if gaussian:
            lin = (-(1 - beta) * ((v - b_base) ** 2 / (2 * s2)).sum()
                   - beta * ((v - b) ** 2 / (2 * s2)).sum())
            x = c + W @ (v / s2)
        else:
            lin = (1 - beta) * b_base @ v + beta * b @ v
            x = c + W @ v
        return lin + np.logaddexp(0, beta * x).sum()

    H, V = W.shape
    out, finals = [], []
    for r in range(n_runs):
        key = _stream_key(seed, r)
        key_g = _stream_key(key, 1)
        ctr = 0
        if v_init is None:
            v = np.empty(V)
            for i in range(V):
                if gaussian:
                    v[i] = b_base[i] + sigma[i] * _gaussian(key_g, ctr)
                else:
                    v[i] = float(_uniform(key, ctr) < _sigmoid(b_base[i]))
                ctr += 1
        else:
            v = v_init[r].copy()
        lw = 0.0
        for k in range(1, len(betas)):
            lw += log_p(v, betas[k]) - log_p(v, betas[k - 1])
            if k == len(betas) - 1:
                break
            bk = betas[k]
            x = c + W @ (v / s2 if gaussian else v)
            h = np.empty(H)
            for j in range(H):
                h[j] = float(_uniform(key, ctr) < _sigmoid(bk * x[j]))
                ctr += 1
            mean = (1 - bk) * b_base + bk * (b + W.T @ h)
            for i in range(V):
                if gaussian:
                    v[i] = mean[i] + sigma[i] * _gaussian(key_g, ctr)
                else:
                    v[i] = float(_uniform(key, ctr) < _sigmoid(mean[i]))
                ctr += 1
        out.append(lw)
        finals.append(v)
    return (np.array(out), np.array(finals)) if states else np.array(out)


@pytest.mark.parametrize("gaussian", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_ais_kernel_matches_reference(gaussian, reverse):
    m = _random_model(4, 6, 1.0, 10, gaussian=gaussian)
    W, c, b = m.components_, m.intercept_hidden_, m.intercept_visible_
    sigma = m.sigma_ if gaussian else np.ones(6)
    rng = np.random.default_rng(1)
    b_base = rng.standard_normal(6)
    # 300 temperatures: more than 256 steps, so the periodic refresh runs too
    betas = np.linspace(0, 1, 300) ** 2
    R = 3
    v_init = None
    if reverse:
        betas = np.ascontiguousarray(betas[::-1])
        v_init = rng.standard_normal((R, 6)) if gaussian else (rng.random((R, 6)) < 0.5) * 1.0
    log_w = np.empty(R)
    v_final = np.empty((R, 6))
    PK.ais_log_weights(W, np.ascontiguousarray(W.T), c, b, b_base, sigma, gaussian,
                       betas, v_init if reverse else v_final, not reverse, 12345,
                       log_w, v_final)
    ref = _ais_reference(W, c, b, b_base, sigma, gaussian, betas, 12345, R, v_init)
    np.testing.assert_allclose(log_w, ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("gaussian", [False, True])
def test_gibbs_sweeps_that_start_reverse_ais_match_reference(gaussian):
    """The AIS kernel at a constant beta = 1 (7 sweeps): zero weights, and the chains'
    states are those of a plain Gibbs sampler of the RBM on the same streams."""
    m = _random_model(4, 5, 1.0, 11, gaussian=gaussian)
    W, c, b = m.components_, m.intercept_hidden_, m.intercept_visible_
    sigma = m.sigma_ if gaussian else np.ones(5)
    rng = np.random.default_rng(2)
    v = rng.standard_normal((3, 5)) if gaussian else (rng.random((3, 5)) < 0.5) * 1.0
    betas = np.ones(9)
    log_w, final = np.empty(3), np.empty((3, 5))
    PK.ais_log_weights(W, np.ascontiguousarray(W.T), c, b, np.zeros(5), sigma, gaussian,
                       betas, v, False, 99, log_w, final)
    ref_w, ref_v = _ais_reference(W, c, b, np.zeros(5), sigma, gaussian, betas, 99, 3, v,
                                  states=True)
    np.testing.assert_array_equal(log_w, 0.0)
    np.testing.assert_allclose(final, ref_v, rtol=1e-12, atol=1e-12)
    assert not np.array_equal(final, v)


# --------------------------------------------------------------------------
# AIS accuracy against exact log Z


def test_ais_digits_rbm_within_tenth_of_a_nat(digits_rbm):
    m, X = digits_rbm
    exact = L.log_partition_exact(m).log_z
    est = L.ais(m, n_runs=100, betas=BETAS_TEST, base_rate=X, random_state=0)
    assert est.method == "ais" and est.n_runs == 100 and est.n_betas == 3001
    assert abs(est.log_z - exact) < 0.1
    assert est.log_z_lower <= exact <= est.log_z_upper
    assert 0 < est.log_z_std < 0.05
    # the published default schedule, with a few runs
    est = L.ais(m, n_runs=16, base_rate=X, random_state=1)
    assert est.n_betas == 14501
    assert abs(est.log_z - exact) < 0.1


def test_reverse_ais_digits_rbm(digits_rbm):
    m, X = digits_rbm
    exact = L.log_partition_exact(m).log_z
    est = L.ais(m, n_runs=100, betas=BETAS_TEST, base_rate=X, reverse=True,
                random_state=0, n_burn_in=200)
    assert est.method == "reverse-ais"
    assert abs(est.log_z - exact) < 0.1
    assert est.log_z_lower <= exact <= est.log_z_upper
    # starting from data rows instead of Gibbs chains
    init = X[np.random.default_rng(0).choice(len(X), 100)]
    est = L.ais(m, n_runs=100, betas=BETAS_TEST, base_rate=X, reverse=True,
                random_state=0, init=init)
    assert abs(est.log_z - exact) < 0.1


@pytest.mark.parametrize("scale", [0.1, 0.5, 1.0, 2.0])
def test_ais_random_weights_within_tenth_of_a_nat(scale):
    m = _random_model(16, 64, scale, 3)
    exact = L.log_partition_exact(m).log_z
    est = L.ais(m, n_runs=100, betas=BETAS_TEST, random_state=int(10 * scale))
    assert abs(est.log_z - exact) < 0.1


def test_ais_gaussian_within_tenth_of_a_nat():
    m = _random_model(10, 30, 0.3, 5, gaussian=True)
    exact = L.log_partition_exact(m).log_z
    for reverse in (False, True):
        est = L.ais(m, n_runs=100, betas=BETAS_TEST, random_state=0, reverse=reverse,
                    n_burn_in=200)
        assert abs(est.log_z - exact) < 0.1


def test_ais_error_bars_cover_truth(digits_rbm):
    """Over repeated runs the +/-3 se bounds cover the exact value, and the
    reported standard error matches the spread of the estimates."""
    m, X = digits_rbm
    exact = L.log_partition_exact(m).log_z
    errors, stds, covered = [], [], 0
    for seed in range(12):
        est = L.ais(m, n_runs=64, betas=np.linspace(0, 1, 2001), base_rate=X,
                    random_state=seed)
        errors.append(est.log_z - exact)
        stds.append(est.log_z_std)
        covered += est.log_z_lower <= exact <= est.log_z_upper
    errors = np.array(errors)
    assert covered >= 11
    assert abs(errors.mean()) < 3 * np.mean(stds) / np.sqrt(12) + 0.01
    assert 0.5 < errors.std() / np.mean(stds) < 2.0


def test_ais_deterministic_for_any_thread_count():
    m = _random_model(8, 20, 1.0, 12)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = L.ais(m, n_runs=10, betas=np.linspace(0, 1, 201), random_state=3)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = L.ais(m, n_runs=10, betas=np.linspace(0, 1, 201), random_state=3)
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(one.log_weights, many.log_weights)
    other = L.ais(m, n_runs=10, betas=np.linspace(0, 1, 201), random_state=4)
    assert not np.array_equal(one.log_weights, other.log_weights)


def test_summary_statistics():
    log_w = np.log(np.array([1.0, 2.0, 3.0, 6.0]))
    est = L._summarise(log_w, 5.0, False, 10)
    mean, se = 3.0, np.std([1, 2, 3, 6], ddof=1) / 2
    assert est.log_z == pytest.approx(5.0 + np.log(mean))
    assert est.log_z_std == pytest.approx(se / mean)
    assert est.log_z_lower == -np.inf  # mean - 3 se < 0
    assert est.log_z_upper == pytest.approx(5.0 + np.log(mean + 3 * se))
    rev = L._summarise(log_w, 5.0, True, 10)
    assert rev.log_z == pytest.approx(5.0 - np.log(mean))
    assert rev.log_z_upper == np.inf and rev.log_z_lower == pytest.approx(5.0 - np.log(mean + 3 * se))
    assert float(est) == est.log_z


def test_default_betas():
    betas = L.default_betas()
    assert betas.shape == (14501,)
    assert betas[0] == 0 and betas[-1] == 1 and np.all(np.diff(betas) > 0)
    np.testing.assert_allclose(np.diff(betas)[[0, 499, 500, 4499, 4500, -1]],
                               [1e-3, 1e-3, 1e-4, 1e-4, 1e-5, 1e-5])


# --------------------------------------------------------------------------
# errors


def test_errors():
    m = _random_model(3, 4, 1.0, 0)
    with pytest.raises(NotFittedError, match="components_"):
        L.log_partition_exact(SimpleNamespace())
    with pytest.raises(ValueError, match="does not match"):
        L.log_partition_exact(_model(np.zeros((3, 4)), np.zeros(2), np.zeros(4)))
    with pytest.raises(ValueError, match="NaN"):
        L.log_partition_exact(_model(np.full((3, 4), np.nan), np.zeros(3), np.zeros(4)))
    with pytest.raises(ValueError, match="n_runs"):
        L.ais(m, n_runs=1)
    with pytest.raises(ValueError, match="start at 0, end at 1"):
        L.ais(m, betas=[0.0, 0.5])
    with pytest.raises(ValueError, match="strictly increasing"):
        L.ais(m, betas=[0.0, 0.6, 0.5, 1.0])
    with pytest.raises(ValueError, match="base_rate has 5 features"):
        L.ais(m, base_rate=np.zeros((10, 5)))
    with pytest.raises(ValueError, match="base_rate must be data"):
        L.ais(m, base_rate=np.zeros(4))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        L.ais(m, base_rate=np.full((3, 4), 2.0))
    with pytest.raises(ValueError, match="init must have shape"):
        L.ais(m, n_runs=4, reverse=True, init=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="4 features"):
        L.free_energy(m, np.zeros((2, 5)))
    with pytest.raises(ValueError, match="sigma_ must be positive"):
        L.log_partition_exact(_model(np.zeros((3, 4)), np.zeros(3), np.zeros(4), np.zeros(4)))


def test_with_bernoulli_rbm_estimator():
    from rbmlib.rbm import BernoulliRBM

    X = (load_digits().data[:500] > 7).astype(np.float64)
    rbm = BernoulliRBM(n_components=12, n_iter=3, batch_size=20, learning_rate=0.05,
                       random_state=0).fit(X)
    np.testing.assert_allclose(L.free_energy(rbm, X), rbm.free_energy(X), rtol=1e-10)
    exact = L.log_partition_exact(rbm)
    est = L.ais(rbm, n_runs=50, betas=BETAS_TEST, base_rate=X, random_state=0)
    assert abs(est.log_z - exact.log_z) < 0.1
    ll = L.log_likelihood(rbm, X)
    np.testing.assert_allclose(ll, -rbm.free_energy(X) - exact.log_z)


# --------------------------------------------------------------------------
# validation of every argument and of array contents


def test_free_energy_and_log_likelihood_reject_bad_X():
    import scipy.sparse as sp

    m = _random_model(3, 4, 1.0, 0)
    bad = {
        "NaN": np.array([[0.0, np.nan, 1.0, 0.0]]),
        "infinity": np.array([[0.0, np.inf, 1.0, 0.0]]),
        r"must lie in \[0, 1\] for Bernoulli.*range from -0.5 to 1": np.array([[0.0, -0.5, 1.0, 0.0]]),
        r"must lie in \[0, 1\].*range from 0 to 255": np.array([[0.0, 255.0, 1.0, 0.0]]),
    }
    for match, X in bad.items():
        for fn in (L.free_energy, lambda r, X: L.log_likelihood(r, X, log_z=1.0),
                   lambda r, X: L.log_likelihood(r, X)):
            with pytest.raises(ValueError, match=match):
                fn(m, X)
            with pytest.raises(ValueError, match=match):
                fn(m, sp.csr_matrix(X))
    with pytest.raises(ValueError, match="Complex data not supported"):
        L.free_energy(m, np.ones((1, 4), dtype=complex))
    with pytest.raises(ValueError, match="'X' parameter of free_energy"):
        L.free_energy(m, "0101")
    # fractions in [0, 1] (e.g. pixel intensities) are accepted, as are 1-D rows
    assert np.all(np.isfinite(L.log_likelihood(m, np.full((2, 4), 0.25))))
    assert L.free_energy(m, np.array([0.0, 1.0, 1.0, 0.0])).shape == (1,)


def test_gaussian_units_accept_any_finite_X_but_not_nan():
    m = _random_model(3, 4, 0.3, 1, gaussian=True)
    X = np.array([[-3.0, 0.5, 7.0, 255.0]])
    assert np.all(np.isfinite(L.log_likelihood(m, X)))
    with pytest.raises(ValueError, match="NaN"):
        L.log_likelihood(m, np.array([[0.0, np.nan, 0.0, 0.0]]))
    m.sigma_ = np.array([1.0, np.nan, 1.0, 1.0])
    with pytest.raises(ValueError, match="sigma_ must be positive and finite"):
        L.free_energy(m, X)


def test_estimator_log_likelihood_of_out_of_range_data_is_an_error():
    import warnings

    from rbmlib import BernoulliRBM

    X = (load_digits().data[:200] > 7).astype(np.float64)
    rbm = BernoulliRBM(n_components=6, n_iter=1, batch_size=20, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the estimator may only warn on its own
        with pytest.raises(ValueError, match=r"\[0, 1\]"):
            rbm.log_likelihood(load_digits().data[:5])  # raw 0..16 pixels


@pytest.mark.parametrize("log_z", [math.nan, math.inf, -math.inf, np.float64(np.nan)])
def test_log_likelihood_rejects_non_finite_log_z(log_z):
    m = _random_model(3, 4, 1.0, 0)
    X = np.zeros((2, 4))
    with pytest.raises(ValueError, match="log_z must be finite"):
        L.log_likelihood(m, X, log_z=log_z)
    est = L.PartitionEstimate(log_z, 0.0, log_z, log_z, "ais")
    with pytest.raises(ValueError, match="log_z must be finite"):
        L.log_likelihood(m, X, log_z=est)


def test_log_likelihood_rejects_bad_options():
    m = _random_model(3, 4, 1.0, 0)
    X = np.zeros((2, 4))
    with pytest.raises(ValueError, match="log_z must be"):
        L.log_likelihood(m, X, log_z=True)
    with pytest.raises(ValueError, match="'return_log_z' parameter"):
        L.log_likelihood(m, X, return_log_z="yes")
    with pytest.raises(TypeError, match="n_run\\b.*n_runs"):
        L.log_likelihood(m, X, n_run=10)  # a typo is not silently ignored


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_runs=2.0), "'n_runs' parameter of ais must be an int"),
    (dict(n_runs=True), "'n_runs' parameter of ais"),
    (dict(n_burn_in=-1), "'n_burn_in' parameter of ais must be an int in the range"),
    (dict(n_burn_in=2.5), "'n_burn_in' parameter of ais must be an int"),
    (dict(reverse="yes"), "'reverse' parameter of ais"),
    (dict(random_state="seed"), "'random_state' parameter of ais"),
    (dict(betas=[0.0, np.nan, 1.0]), "betas.*NaN"),
    (dict(betas=[0.0, 0.5, np.inf]), "betas.*infinity"),
    (dict(betas=[[0.0, 0.5, 1.0]]), "betas must be 1-D"),
    (dict(base_rate=np.array([[0.0, np.nan, 1.0, 0.0]] * 3)), "base_rate.*NaN"),
    # the column means are in [0, 1], the values are not
    (dict(base_rate=np.array([[-1.0, 0.0, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0]])),
     r"base_rate must lie in \[0, 1\]"),
    (dict(base_rate=np.zeros((0, 4))), "base_rate has no samples"),
    (dict(reverse=True, n_runs=2, init=np.array([[0.0, 0.5, 1.0, 0.0]] * 2)),
     r"init must hold binary states.*0\.5"),
    (dict(reverse=True, n_runs=2, init=np.array([[0.0, np.nan, 1.0, 0.0]] * 2)), "init.*NaN"),
    (dict(n_runs=2, init=np.zeros((2, 4))), "only used with reverse=True"),
])
def test_ais_rejects_bad_arguments(kwargs, match):
    m = _random_model(3, 4, 1.0, 0)
    with pytest.raises(ValueError, match=match):
        L.ais(m, **dict(dict(betas=np.linspace(0, 1, 5)), **kwargs))


def test_ais_sparse_base_rate_is_checked_and_used():
    import scipy.sparse as sp

    m = _random_model(3, 4, 1.0, 0)
    X = (np.random.RandomState(0).rand(20, 4) < 0.3).astype(float)
    betas = np.linspace(0, 1, 50)
    dense = L.ais(m, n_runs=4, betas=betas, base_rate=X, random_state=0)
    sparse = L.ais(m, n_runs=4, betas=betas, base_rate=sp.csr_matrix(X), random_state=0)
    assert dense.log_z == sparse.log_z
    with pytest.raises(ValueError, match=r"base_rate must lie in \[0, 1\]"):
        L.ais(m, betas=betas, base_rate=sp.csr_matrix(X * 3))


# --------------------------------------------------------------------------
# categorical (softmax) visible units: the same functions, read from the unit table


def _categorical_model(sizes, H, scale, seed):
    """A duck-typed RBM with categorical visible units (``offsets_``) and random weights."""
    rng = np.random.default_rng(seed)
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    V = int(offsets[-1])
    m = _model(scale * rng.standard_normal((H, V)), rng.standard_normal(H),
               rng.standard_normal(V))
    m.offsets_ = offsets
    return m


def _configs(sizes):
    """Every visible configuration as one-hot rows (prod K_g, V)."""
    codes = np.array(list(itertools.product(*[range(K) for K in sizes])))
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    X = np.zeros((len(codes), offsets[-1]))
    for g in range(len(sizes)):
        X[np.arange(len(codes)), offsets[g] + codes[:, g]] = 1.0
    return X


def _brute_categorical(m, sizes, hidden="bernoulli"):
    """log p(v) of every configuration by enumerating both layers (Bernoulli hidden
    units) or the visible configurations and a Gaussian integral (Gaussian hidden)."""
    W, c, b = m.components_, m.intercept_hidden_, m.intercept_visible_
    X = _configs(sizes)
    if hidden == "bernoulli":
        hs = _states(W.shape[0])
        neg_e = (X @ b)[:, None] + (hs @ c)[None, :] + X @ W.T @ hs.T
        neg_f = logsumexp(neg_e, axis=1)
    else:
        x = X @ W.T + c
        neg_f = X @ b + (0.5 * x**2 + 0.5 * np.log(2 * np.pi)).sum(axis=1)
    return X, neg_f - logsumexp(neg_f)


@pytest.mark.parametrize("sizes, H", [
    ((2, 3, 2), 3),    # 8 hidden states < 12 configurations: the hidden layer enumerated
    ((2, 3), 4),       # 6 configurations < 16 hidden states: the visible layer enumerated
])
def test_categorical_exact_log_likelihood_matches_enumeration_of_both_layers(sizes, H):
    m = _categorical_model(sizes, H, 1.5, 20 + H)
    X, ref = _brute_categorical(m, sizes)
    ll, est = L.log_likelihood(m, X, log_z="exact", return_log_z=True)
    assert est.method == "exact"
    np.testing.assert_allclose(ll, ref, rtol=1e-11, atol=1e-11)
    np.testing.assert_allclose(L.log_likelihood(m, X), ref, rtol=1e-11, atol=1e-11)  # auto
    assert L.log_partition(m).method == "exact"
    layer, n_states = L._enumerated(m.components_, L._visible(m, None), L._hidden(m, ""))
    assert (layer, n_states) == (("hidden", 2**H) if 2**H <= np.prod(sizes)
                                 else ("visible", int(np.prod(sizes))))


@pytest.mark.parametrize("hidden", ["bernoulli", "gaussian"])
def test_categorical_exact_log_z_chunks_against_brute_force(hidden):
    """More states than one parallel chunk (2^12) in each enumeration kernel."""
    from rbmlib._kernels import categorical as CK

    sizes = (4, 4, 4, 4, 4, 4, 2)           # 8192 configurations
    m = _categorical_model(sizes, 13, 0.3, 31)
    m.hidden_units_ = hidden
    W, c, b = m.components_, m.intercept_hidden_, m.intercept_visible_
    X, ref = _brute_categorical(m, sizes, hidden)
    # the rule enumerates the visible configurations (8192 < 2^13 hidden states)
    np.testing.assert_allclose(L.log_likelihood(m, X), ref, rtol=1e-10, atol=1e-10)
    if hidden == "bernoulli":  # the hidden enumeration, 2^13 states, same value
        log_z = CK.log_z_hidden_enumerate(W, c, b, m.offsets_)
        neg_f = -L.free_energy(m, X)
        assert log_z == pytest.approx(logsumexp(neg_f), rel=1e-12)


@pytest.mark.parametrize("hidden", ["bernoulli", "gaussian"])
def test_categorical_ais_within_its_reported_error_of_exact(hidden):
    sizes = (3, 4, 2, 3, 5)
    m = _categorical_model(sizes, 6, 0.8 if hidden == "bernoulli" else 0.4, 40)
    m.hidden_units_ = hidden
    exact = L.log_partition_exact(m).log_z
    data = _configs(sizes)[np.random.default_rng(0).choice(360, 200)]
    est = L.ais(m, n_runs=100, betas=np.linspace(0, 1, 1001), base_rate=data,
                random_state=0)
    assert est.method == "ais" and est.n_runs == 100
    assert est.log_z_lower <= exact <= est.log_z_upper
    assert abs(est.log_z - exact) < 4 * est.log_z_std + 1e-3, (est, exact)
    assert est.log_z_std < 0.05
    # the base model of a uniform base_rate is the table's log Z of independent softmaxes
    uniform = L.ais(m, n_runs=4, betas=np.linspace(0, 1, 11), random_state=0)
    assert uniform.log_z_base == pytest.approx(
        np.log(sizes).sum() + 6 * (np.log(2) if hidden == "bernoulli"
                                   else 0.5 * np.log(2 * np.pi)))
    # log_likelihood with log_z=None chooses exact here, and AIS when asked
    X = _configs(sizes)[:5]
    ll_ais = L.log_likelihood(m, X, log_z="ais", n_runs=50, betas=np.linspace(0, 1, 501),
                              random_state=1)
    np.testing.assert_allclose(ll_ais, L.log_likelihood(m, X), atol=0.1)


def test_categorical_errors():
    m = _categorical_model((2, 3), 3, 1.0, 50)
    X = _configs((2, 3))
    with pytest.raises(ValueError, match=r"one-hot states.*values such as 0\.5"):
        L.free_energy(m, np.full((1, 5), 0.5))
    with pytest.raises(ValueError, match="at most one unit on in each group.*row 0 has 2 of "
                                         r"group 1 \(units 2:5\)"):
        L.free_energy(m, np.array([[1.0, 0, 1, 1, 0]]))
    # a missing entry (an all-zero group) has a free energy, not a likelihood
    assert np.isfinite(L.free_energy(m, np.array([[1.0, 0, 0, 0, 0]]))).all()
    with pytest.raises(ValueError, match="exactly one unit on in each group.*no missing"):
        L.log_likelihood(m, np.array([[1.0, 0, 0, 0, 0]]), log_z=0.0)
    with pytest.raises(ValueError, match="base_rate must hold one-hot states"):
        L.ais(m, base_rate=X * 2, betas=np.linspace(0, 1, 5))
    with pytest.raises(ValueError, match="init must hold one-hot states.*exactly one unit"):
        L.ais(m, reverse=True, n_runs=2, init=np.array([[1.0, 0, 0, 0, 0]] * 2),
              betas=np.linspace(0, 1, 5))
    bad = _categorical_model((2, 3), 3, 1.0, 50)
    bad.offsets_ = np.array([0, 2, 6])
    with pytest.raises(ValueError, match="does not match the categorical groups"):
        L.log_partition_exact(bad)
    bad.offsets_ = np.array([0, 3, 2])
    with pytest.raises(ValueError, match="strictly increasing"):
        L.log_partition_exact(bad)
    m.hidden_units_ = "nrelu"
    with pytest.raises(NotImplementedError, match="hidden_units='nrelu'"):
        L.log_likelihood(m, X)
