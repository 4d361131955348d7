"""Hidden unit types (rbmlib.units, rbmlib._kernels.units): samplers, CD kernels,
free energies, exact log Z and AIS against independent references, and the
estimators with hidden_units="gaussian" / "nrelu" as users use them."""

import itertools
import math
import pickle

import numpy as np
import pytest
from scipy import integrate
from scipy.special import expit, logsumexp
from scipy.stats import norm
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from rbmlib import BernoulliRBM, GaussianBernoulliRBM
from rbmlib import likelihood as L
from rbmlib._kernels import units as KU
from rbmlib._kernels.cd import cd_update
from rbmlib._kernels.negative import CD, negative_phase_id
from rbmlib._kernels.sampling import stream_key
from rbmlib.rbm import FreeEnergyUndefinedError
from rbmlib.units import HIDDEN_UNITS, VISIBLE_UNITS

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
UNIT_IDS = {"bernoulli": 0, "gaussian": 1, "nrelu": 2}


def _mix64_ref(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def _uniforms_ref(seed, stream, n):
    """Plain-Python SplitMix64 counter RNG, written independently of the kernel."""
    key = _mix64_ref(seed ^ _mix64_ref((stream * GOLDEN + GOLDEN) & M64))
    return np.array([(_mix64_ref((key + i * GOLDEN) & M64) >> 11) / 2.0**53
                     for i in range(n)])


def _normals_ref(seed, stream, n):
    """Box-Muller on uniforms 2i, 2i+1 of the stream, as the kernels document."""
    u = _uniforms_ref(seed, stream, 2 * n)
    return np.sqrt(-2.0 * np.log(1.0 - u[0::2])) * np.cos(2.0 * np.pi * u[1::2])


def _sample_ref(unit, x, seed, stream):
    """A sample of the hidden units at pre-activation x with the kernels' numbers."""
    if unit == "bernoulli":
        u = _uniforms_ref(seed, stream, x.size).reshape(x.shape)
        return (u < expit(x)).astype(float)
    n = _normals_ref(seed, stream, x.size).reshape(x.shape)
    if unit == "gaussian":
        return x + n
    return np.maximum(0.0, x + np.sqrt(expit(x)) * n)


def _mean_ref(unit, x):
    return {"bernoulli": expit, "gaussian": lambda z: z,
            "nrelu": lambda z: np.maximum(z, 0.0)}[unit](x)


# ------------------------------------------------------------------ samplers
def _nrelu_moments(x):
    """Mean and variance of max(0, x + s Z), s^2 = sigmoid(x) (a rectified normal)."""
    s = np.sqrt(expit(x))
    a = x / s
    m1 = x * norm.cdf(a) + s * norm.pdf(a)
    m2 = (x * x + s * s) * norm.cdf(a) + x * s * norm.pdf(a)
    return m1, m2 - m1 * m1


def _moments(unit, x):
    if unit == "bernoulli":
        p = expit(x)
        return p, p * (1 - p)
    if unit == "gaussian":
        return x, np.ones_like(x)
    return _nrelu_moments(x)


def _check_moments(s, mean, var):
    """Column means and variances of the draws s within 5 standard errors."""
    n = s.shape[0]
    assert np.all(np.abs(s.mean(0) - mean) < 5 * np.sqrt(var / n) + 1e-9), (s.mean(0), mean)
    m4 = ((s - s.mean(0)) ** 4).mean(0)
    se_var = np.sqrt(np.maximum(m4 - s.var(0) ** 2, 0) / n)
    assert np.all(np.abs(s.var(0) - var) < 5 * se_var + 1e-9), (s.var(0), var)


@pytest.mark.parametrize("unit", ["bernoulli", "gaussian", "nrelu"])
@pytest.mark.parametrize("n_rows", [4000, 40000])  # serial and threaded passes
def test_kernel_sampler_moments(unit, n_rows):
    xs = np.array([-3.0, -1.0, -0.2, 0.0, 0.5, 2.0])
    bias = np.array([0.1, -0.1, 0.0, 0.3, 0.0, -0.5])
    x = np.ascontiguousarray(np.broadcast_to(xs, (n_rows, xs.size)))
    s = np.empty_like(x)
    KU.hidden_sample_rows(x, bias, s, np.uint64(stream_key(np.uint64(5), np.uint64(3))), True,
                          UNIT_IDS[unit])
    mu = xs + bias
    mean, var = _moments(unit, mu)
    # keep_p: x now holds the conditional means
    np.testing.assert_allclose(x[0], _mean_ref(unit, mu), rtol=1e-12, atol=1e-15)
    _check_moments(s, mean, var)
    if unit == "nrelu":
        assert s.min() == 0.0
    means = np.empty_like(x)
    KU.hidden_mean_rows(np.ascontiguousarray(np.broadcast_to(xs, x.shape)), bias, means,
                        UNIT_IDS[unit])
    np.testing.assert_allclose(means[0], _mean_ref(unit, mu), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("unit", ["gaussian", "nrelu"])
def test_kernel_sampler_matches_reference_numbers_any_threads(unit):
    rng = np.random.RandomState(0)
    x = rng.normal(0, 2, (7, 5))
    bias = rng.normal(0, 1, 5)
    key = np.uint64(stream_key(np.uint64(11), np.uint64(4)))
    s1, s2 = np.empty_like(x), np.empty_like(x)
    KU._noisy_sample_rows(x.copy(), bias, s1, key, False, UNIT_IDS[unit])
    KU._noisy_sample_rows_par(x.copy(), bias, s2, key, False, UNIT_IDS[unit])
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_allclose(s1, _sample_ref(unit, x + bias, 11, 4), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("unit", ["bernoulli", "gaussian", "nrelu"])
def test_numpy_sampler_moments(unit):
    u = HIDDEN_UNITS[unit]
    xs = np.array([-2.0, -0.3, 0.0, 1.0, 3.0])
    n = 50000
    s = u.sample(np.broadcast_to(xs, (n, xs.size)), np.random.RandomState(0))
    _check_moments(s, *_moments(unit, xs))
    f32 = u.sample(xs.astype(np.float32)[None], np.random.RandomState(0))
    assert f32.dtype == np.float32 and u.mean(xs.astype(np.float32)).dtype == np.float32


# ------------------------------------------------------------------ CD kernels
def _cd_ref(unit, v0, W, c, b, hchain, k, persistent, seed, ui, lr):
    """NumPy CD-k / PCD-k with the kernels' random numbers (no momentum or decay)."""
    m = v0.shape[0]
    base = ui * (2 * k + 1)
    x0 = v0 @ W.T + c
    ph0 = _mean_ref(unit, x0)
    h = hchain.copy() if persistent else _sample_ref(unit, x0, seed, base)
    for step in range(k):
        pv = expit(h @ W + b)
        u = _uniforms_ref(seed, base + 2 * step + 1, pv.size).reshape(pv.shape)
        vk = (u < pv).astype(float)
        xk = vk @ W.T + c
        phk = _mean_ref(unit, xk)
        if step < k - 1 or persistent:
            h = _sample_ref(unit, xk, seed, base + 2 * step + 2)
    gW = (ph0.T @ v0 - phk.T @ vk) / m
    gc = (ph0 - phk).mean(0)
    gb = (v0 - vk).mean(0)
    return W + lr * gW, c + lr * gc, b + lr * gb, h


@pytest.mark.parametrize("unit", ["bernoulli", "gaussian", "nrelu"])
@pytest.mark.parametrize("k,persistent", [(1, False), (2, False), (1, True)])
def test_cd_update_matches_numpy_reference(unit, k, persistent):
    rng = np.random.RandomState(1)
    m, V, H = 6, 5, 3
    v0 = (rng.rand(m, V) < 0.4).astype(float)
    W = rng.normal(0, 0.5, (H, V))
    c = rng.normal(0, 0.5, H)
    b = rng.normal(0, 0.5, V)
    hchain = rng.normal(0, 1, (m, H)) if unit != "bernoulli" else (rng.rand(m, H) < .5) * 1.
    Wk, ck, bk = W.copy(), c.copy(), b.copy()
    B = m + 2
    hch = np.zeros((B, H))
    hch[:m] = hchain
    Vcat = np.zeros((2 * B, V))
    Vcat[:m] = v0
    z = np.zeros
    cd_update(m, (k, negative_phase_id(persistent, False), 0, UNIT_IDS[unit], False),
              np.uint64(17), 4, (Wk, ck, bk, np.ones(V), z(0)), z(1, np.int64),
              (z((H, V)), z(H), z(V), z(0)), (hch, z(H)),
              (Vcat, z((2 * B, H)), z((B, H)), z((B, V)), z((H, V)), z((0, 0), np.int32)),
              (0.1, 0.0, 0.0, 0.1, 0.0, 0.9, 0.0, 0.0))
    want = _cd_ref(unit, v0, W, c, b, hchain, k, persistent, 17, 4, 0.1)
    for g, w in zip((Wk, ck, bk), want[:3]):
        np.testing.assert_allclose(g, w, atol=1e-12)
    if persistent:
        np.testing.assert_allclose(hch[:m], want[3], atol=1e-12)


def test_estimator_kernels_and_numpy_agree_on_the_gradient_in_expectation():
    """Mean CD-1 update of the kernel (many seeds) against the NumPy expectation
    with Gaussian hidden units: E[h | v] = x, so the positive statistics are exact
    and the negative ones average p(v | h) over h ~ N(x, 1)."""
    rng = np.random.RandomState(2)
    V, H = 3, 2
    v0 = np.array([[1.0, 0.0, 1.0]])
    W = rng.normal(0, 0.4, (H, V))
    c = rng.normal(0, 0.3, H)
    b = rng.normal(0, 0.3, V)
    n = 4000
    acc = np.zeros(V)
    for seed in range(n):
        Wk, ck, bk = W.copy(), c.copy(), b.copy()
        Vcat = np.zeros((2, V))
        Vcat[:1] = v0
        z = np.zeros
        cd_update(1, (1, CD, 0, 1, False), np.uint64(seed), 0,
                  (Wk, ck, bk, np.ones(V), z(0)), z(1, np.int64), (z((H, V)), z(H), z(V), z(0)),
                  (z((1, H)), z(H)),
                  (Vcat, z((2, H)), z((1, H)), z((1, V)), z((H, V)), z((0, 0), np.int32)),
                  (1.0, 0.0, 0.0, 0.1, 0.0, 0.9, 0.0, 0.0))
        acc += bk - b  # = v0 - v1
    # E[v1] = E_h sigmoid(b + h W), h ~ N(x, 1): Gauss-Hermite in 2-D
    x = (v0 @ W.T + c)[0]
    t, wq = np.polynomial.hermite_e.hermegauss(40)
    ev1 = np.zeros(V)
    for (t1, w1), (t2, w2) in itertools.product(zip(t, wq), zip(t, wq)):
        h = x + np.array([t1, t2])
        ev1 += w1 * w2 * expit(b + h @ W)
    ev1 /= wq.sum() ** 2
    se = 0.5 / math.sqrt(n)
    np.testing.assert_array_less(np.abs(acc / n - (v0[0] - ev1)), 5 * se)


# --------------------------------------------------- free energy, log Z, AIS
def _tiny(cls, unit, V, H, seed=0, scale=0.5, sigma=None, **kw):
    rng = np.random.RandomState(seed)
    if cls is BernoulliRBM:
        X = (rng.rand(20, V) < 0.5).astype(float)
    else:
        X = rng.normal(0, 1, (20, V))
    m = cls(n_components=H, hidden_units=unit, n_iter=1, learning_rate=1e-3,
            random_state=0, **kw).fit(X)
    m.components_ = rng.normal(0, scale, (H, V))
    m.intercept_hidden_ = rng.normal(0, scale, H)
    m.intercept_visible_ = rng.normal(0, scale, V)
    if sigma is not None:
        m._sigma = m.sigma_ = np.asarray(sigma, dtype=float)
    return m


def _F_by_integration(W, c, b, v):
    """-log of the integral over h in R^H of exp(-E(v, h)) with Gaussian hidden units,
    E = -b.v + |h|^2/2 - c.h - h W v (numerical, two hidden units)."""
    x = c + W @ v

    def f(h2, h1):
        h = np.array([h1, h2])
        return math.exp(-0.5 * h @ h + h @ x)

    lim = 12.0 + float(np.abs(x).max())
    val, _ = integrate.dblquad(f, -lim, lim, -lim, lim, epsabs=1e-12, epsrel=1e-10)
    return -float(b @ v) - math.log(val)


def test_gaussian_hidden_free_energy_and_exact_log_z_against_integration():
    rbm = _tiny(BernoulliRBM, "gaussian", V=4, H=2)
    W, c, b = rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_
    states = np.array(list(itertools.product([0.0, 1.0], repeat=4)))
    F_num = np.array([_F_by_integration(W, c, b, v) for v in states])
    np.testing.assert_allclose(rbm.free_energy(states), F_num, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(L.free_energy(rbm, states), F_num, rtol=1e-8, atol=1e-8)
    log_z = logsumexp(-F_num)
    est = rbm.log_partition()
    assert est.method == "exact"
    assert est.log_z == pytest.approx(log_z, abs=1e-7)
    ll = rbm.log_likelihood(states)
    np.testing.assert_allclose(ll, -F_num - log_z, atol=1e-7)
    assert logsumexp(ll) == pytest.approx(0.0, abs=1e-7)  # a distribution over v


def test_gaussian_hidden_pseudo_likelihood_against_brute_force():
    rbm = _tiny(BernoulliRBM, "gaussian", V=4, H=2, seed=3)
    states = np.array(list(itertools.product([0.0, 1.0], repeat=4)))
    F = rbm.free_energy(states)
    want = []
    for v in states:
        s = 0.0
        for i in range(4):
            u = v.copy()
            u[i] = 1 - u[i]
            s += math.log(expit(rbm.free_energy(u[None])[0] - rbm.free_energy(v[None])[0]))
        want.append(s)
    np.testing.assert_allclose(rbm.score_samples(states), want, rtol=1e-10)
    assert rbm.score(states) == pytest.approx(np.mean(want))
    assert np.all(np.isfinite(F))


def test_gaussian_visible_and_hidden_log_z_against_integration():
    rbm = _tiny(GaussianBernoulliRBM, "gaussian", V=2, H=1, scale=0.4, sigma=[0.8, 1.3])
    W, c, b, sig = (rbm.components_, rbm.intercept_hidden_, rbm.intercept_visible_,
                    rbm.sigma_)

    def energy(h, v2, v1):  # scalars or arrays that broadcast
        return ((v1 - b[0]) ** 2 / (2 * sig[0] ** 2) + (v2 - b[1]) ** 2 / (2 * sig[1] ** 2)
                + 0.5 * h * h - c[0] * h
                - h * (W[0, 0] * v1 / sig[0] ** 2 + W[0, 1] * v2 / sig[1] ** 2))

    # F(v) by integrating h numerically
    for v in ([0.3, -1.2], [2.0, 0.5]):
        val, _ = integrate.quad(lambda h: math.exp(-energy(h, v[1], v[0])), -30, 30)
        assert rbm.free_energy(np.array([v]))[0] == pytest.approx(-math.log(val), rel=1e-9)
    # Z by the trapezoid rule on a grid over (v1, v2, h): for an analytic integrand that
    # decays like a Gaussian (standard deviations of order 1) the rule converges
    # geometrically in the spacing, and [-15, 15]^3 leaves out less than exp(-50) of the
    # mass. On this model it agrees in log Z with scipy's adaptive tplquad on [-25, 25]^3
    # (epsrel 1e-8; 47 s of the suite's time) to 1.5e-12, and with 151 or 601 points per
    # axis to 1e-15; it takes 0.3 s
    g = np.linspace(-15.0, 15.0, 301)
    hh, v2 = np.meshgrid(g, g, indexing="ij")
    slices = [integrate.trapezoid(integrate.trapezoid(np.exp(-energy(hh, v2, v1)), g), g)
              for v1 in g]
    val = integrate.trapezoid(slices, g)
    est = rbm.log_partition()
    assert est.method == "exact"
    assert est.log_z == pytest.approx(math.log(val), abs=1e-6)
    ais = rbm.log_partition("ais", n_runs=200, random_state=0,
                            betas=np.linspace(0, 1, 2001))
    assert abs(ais.log_z - est.log_z) < max(0.05, 4 * ais.log_z_std)


def test_gaussian_visible_and_hidden_not_normalisable_is_a_clear_error():
    rbm = _tiny(GaussianBernoulliRBM, "gaussian", V=2, H=1)
    rbm.components_ = np.array([[3.0, 0.0]])  # 1 - 9 < 0: no finite Z
    with pytest.raises(ValueError, match="no finite log Z"):
        rbm.log_partition()
    with pytest.raises(ValueError, match="no finite log Z"):
        L.ais(rbm, n_runs=2, betas=[0.0, 1.0])


@pytest.mark.parametrize("reverse", [False, True])
def test_ais_matches_exact_gaussian_hidden(reverse):
    rbm = _tiny(BernoulliRBM, "gaussian", V=4, H=2, seed=4, scale=0.7)
    exact = L.log_partition_exact(rbm).log_z
    est = L.ais(rbm, n_runs=200, random_state=0, reverse=reverse,
                betas=np.linspace(0, 1, 3001), n_burn_in=200)
    assert abs(est.log_z - exact) < max(0.03, 4 * est.log_z_std), (est, exact)


def test_exact_or_ais_rule_reads_the_hidden_units():
    rbm = _tiny(BernoulliRBM, "gaussian", V=30, H=2)
    # Bernoulli hidden units would enumerate the 2 hidden units; Gaussian ones
    # must enumerate the 30 visible ones: too many, so AIS
    visible = VISIBLE_UNITS["bernoulli"]
    assert L._auto_method(rbm.components_, visible, HIDDEN_UNITS["gaussian"]) == "ais"
    assert L._auto_method(rbm.components_, visible, HIDDEN_UNITS["bernoulli"]) == "exact"
    with pytest.raises(ValueError, match="enumerates the visible layer: 30 units"):
        rbm.log_partition("exact")


# ------------------------------------------------------------------ NReLU
def test_nrelu_likelihoods_raise_not_implemented():
    X = load_digits().data[:100] / 16
    rbm = BernoulliRBM(8, hidden_units="nrelu", learning_rate=0.01, n_iter=2,
                       random_state=0).fit(X)
    for name in ("free_energy", "score_samples", "score", "log_likelihood"):
        assert not hasattr(rbm, name)
        with pytest.raises(NotImplementedError, match="'nrelu'"):
            getattr(rbm, name)(X)
    with pytest.raises(NotImplementedError, match="'nrelu'"):
        rbm.log_partition()
    with pytest.raises(FreeEnergyUndefinedError):
        rbm.score(X)
    for fn in (L.log_partition_exact, L.ais):
        with pytest.raises(NotImplementedError, match="'nrelu'"):
            fn(rbm)
    for fn in (L.free_energy, L.log_likelihood):
        with pytest.raises(NotImplementedError, match="'nrelu'"):
            fn(rbm, X)
    assert np.isnan(rbm.history_[-1]["pseudo_log_likelihood"])
    with pytest.raises(ValueError, match="validation_fraction.*nrelu"):
        clone(rbm).set_params(validation_fraction=0.2).fit(X)
    g = GaussianBernoulliRBM(4, hidden_units="nrelu", n_iter=1, random_state=0).fit(
        np.random.RandomState(0).normal(size=(30, 3)))
    with pytest.raises(NotImplementedError, match="'nrelu'"):
        g.score_samples(np.zeros((1, 3)))


# ------------------------------------------------------------- estimators
@pytest.mark.parametrize("cls", [BernoulliRBM, GaussianBernoulliRBM])
@pytest.mark.parametrize("unit", ["bernoulli", "gaussian", "nrelu"])
def test_transform_and_hidden_affine(cls, unit):
    rng = np.random.RandomState(0)
    X = rng.rand(40, 6) if cls is BernoulliRBM else rng.normal(size=(40, 6))
    kw = {"learn_sigma": True} if cls is GaussianBernoulliRBM else {}
    rbm = cls(5, hidden_units=unit, learning_rate=0.005, n_iter=3, random_state=0,
              **kw).fit(X)
    W, c = rbm._hidden_affine()
    assert W.shape == (6, 5) and c.shape == (5,)
    pre = X @ W + c
    np.testing.assert_allclose(rbm.transform(X), _mean_ref(unit, pre), rtol=1e-10,
                               atol=1e-12)
    assert rbm.hidden_units_ == unit
    assert rbm.gibbs(X[:3]).shape == (3, 6)


def test_invalid_hidden_units_is_a_clear_error():
    X = np.random.RandomState(0).rand(10, 3)
    rbm = BernoulliRBM(2, hidden_units="relu", n_iter=1)
    with pytest.raises(ValueError, match="hidden_units.*'relu'"):
        rbm.fit(X)
    assert not hasattr(rbm, "components_")


def test_set_params_hidden_units_then_refit_and_partial_fit_refuses():
    X = load_digits().data[:200] / 16
    rbm = BernoulliRBM(10, n_iter=2, random_state=0).fit(X)
    p_bern = rbm.transform(X)
    assert p_bern.min() >= 0 and p_bern.max() <= 1
    rbm.set_params(hidden_units="gaussian", learning_rate=0.001)
    with pytest.raises(ValueError, match="hidden_units='gaussian' differs"):
        rbm.partial_fit(X)
    np.testing.assert_array_equal(rbm.transform(X), p_bern)  # still the fitted model
    rbm.fit(X)
    assert rbm.hidden_units_ == "gaussian"
    W, c = rbm._hidden_affine()
    np.testing.assert_allclose(rbm.transform(X), X @ W + c, rtol=1e-12)
    assert rbm.transform(X).min() < 0
    rbm.set_params(hidden_units="bernoulli", learning_rate=0.1).fit(X)
    np.testing.assert_array_equal(rbm.transform(X), p_bern)  # same seed, same model


@pytest.mark.parametrize("unit", ["gaussian", "nrelu"])
def test_pickle_then_partial_fit_continues_exactly(unit):
    X = load_digits().data[:150] / 16
    rbm = BernoulliRBM(8, hidden_units=unit, learning_rate=0.005, n_iter=2,
                       random_state=0).fit(X)
    copy = pickle.loads(pickle.dumps(rbm))
    rbm.partial_fit(X)
    copy.partial_fit(X)
    np.testing.assert_array_equal(rbm.components_, copy.components_)
    np.testing.assert_array_equal(rbm.h_samples_, copy.h_samples_)
    assert copy.hidden_units_ == unit


def test_old_pickles_have_bernoulli_hidden_units():
    X = np.random.RandomState(0).rand(20, 4)
    rbm = BernoulliRBM(3, n_iter=1, random_state=0).fit(X)
    state = rbm.__getstate__()
    del state["hidden_units"], state["hidden_units_"]
    old = BernoulliRBM.__new__(BernoulliRBM)
    old.__setstate__(state)
    assert old.get_params()["hidden_units"] == "bernoulli"
    np.testing.assert_array_equal(old.score_samples(X), rbm.score_samples(X))


def test_float32_gaussian_hidden():
    X = (load_digits().data[:100] / 16).astype(np.float32)
    rbm = BernoulliRBM(6, hidden_units="gaussian", learning_rate=0.001, n_iter=2,
                       random_state=0).fit(X)
    assert rbm.components_.dtype == np.float32
    assert rbm.transform(X).dtype == np.float32
    assert rbm.free_energy(X).dtype == np.float32


def test_gaussian_hidden_too_large_learning_rate_diverges_clearly():
    X = load_digits().data / 16
    rbm = BernoulliRBM(32, hidden_units="gaussian", learning_rate=1.0, n_iter=20,
                       random_state=0)
    with pytest.raises(ValueError, match="learning_rate"):
        rbm.fit(X)
    assert not hasattr(rbm, "components_")


def test_grid_search_over_hidden_units_on_digits():
    X, y = load_digits(return_X_y=True)
    X = X[:500] / 16
    y = y[:500]
    pipe = Pipeline([("rbm", BernoulliRBM(32, n_iter=10, random_state=0)),
                     ("clf", LogisticRegression(max_iter=500))])
    # each unit type with a learning rate that suits it
    grid = [{"rbm__hidden_units": ["bernoulli"], "rbm__learning_rate": [0.1]},
            {"rbm__hidden_units": ["gaussian"], "rbm__learning_rate": [0.001]},
            {"rbm__hidden_units": ["nrelu"], "rbm__learning_rate": [0.05]}]
    search = GridSearchCV(pipe, grid, cv=2, error_score="raise").fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    # 32 features after 10 epochs on 250 rows (chance 0.1): measured 0.50, 0.58, 0.69
    assert np.all(scores > 0.35), scores
    assert search.best_estimator_.named_steps["rbm"].hidden_units_ == \
        search.best_params_["rbm__hidden_units"]


# Three checks fit data drawn from N(100, 1): a hundred times outside the range
# [0, 1] of Bernoulli visible units (BernoulliRBM warns and uses it as it is).
# Binary hidden units are bounded and survive it; unbounded (linear, rectified)
# hidden units make CD grow the weights geometrically at any sensible learning
# rate, and fit raises the DivergenceError that says so.
_UNBOUNDED_REASON = ("data of N(100, 1) for Bernoulli visible units: CD with unbounded "
                     "hidden units diverges (fit raises DivergenceError)")
_UNBOUNDED_FAILS = {name: _UNBOUNDED_REASON for name in (
    "check_fit_idempotent", "check_fit_check_is_fitted", "check_n_features_in")}


def _expected_failed(est):
    if isinstance(est, GaussianBernoulliRBM) or est.hidden_units == "bernoulli":
        return {}
    return _UNBOUNDED_FAILS


@parametrize_with_checks([
    BernoulliRBM(hidden_units="gaussian", learning_rate=0.001, n_iter=2, random_state=0),
    BernoulliRBM(hidden_units="nrelu", learning_rate=0.01, n_iter=2, random_state=0),
    GaussianBernoulliRBM(hidden_units="gaussian", learning_rate=0.001, n_iter=2,
                         random_state=0),
    GaussianBernoulliRBM(hidden_units="nrelu", learning_rate=0.001, n_iter=2,
                         random_state=0),
], expected_failed_checks=_expected_failed)
def test_sklearn_estimator_checks_hidden_units(estimator, check):
    check(estimator)


def test_likelihood_does_not_import_the_estimators():
    """The old likelihood.py <-> rbm.py import cycle is gone: likelihood reads the
    unit table and the kernels only (a fresh interpreter imports it first)."""
    import ast
    import subprocess
    import sys
    from pathlib import Path

    import rbmlib.likelihood

    package = Path(rbmlib.likelihood.__file__).parent  # rbmlib/likelihood/
    files = sorted(package.glob("*.py"))
    assert package.name == "likelihood" and len(files) > 1
    siblings = {f.stem for f in files}
    modules = set()
    for f in files:
        for n in ast.walk(ast.parse(f.read_text())):
            if isinstance(n, ast.ImportFrom) and n.level:
                if n.level == 1:  # inside the package: its own modules only
                    assert n.module in siblings, (f.name, n.module)
                else:  # out of the package: the kernels and the unit table only
                    assert n.level == 2, (f.name, n.level)
                    modules.add(n.module)
            absolute = ([a.name for a in n.names] if isinstance(n, ast.Import) else
                        [n.module] if isinstance(n, ast.ImportFrom) and not n.level else [])
            assert not any(m.split(".")[0] == "rbmlib" for m in absolute), (f.name, absolute)
    assert modules <= {"_kernels", "units"}, modules
    code = ("import importlib, sys; import rbmlib.units, rbmlib.likelihood as L; "
            "assert 'rbmlib.likelihood' in sys.modules; print(L.MAX_EXACT_UNITS)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "25"


# ------------------------------------------------------------------ categorical visible units
def test_categorical_units_entry_and_groups():
    from rbmlib.units import categorical_units

    entry = VISIBLE_UNITS["categorical"]
    assert categorical_units(None) is entry
    with pytest.raises(ValueError, match="have no groups.*categorical_units"):
        entry.onehot(np.zeros((1, 2), int))
    for bad in ([1, 2], [0, 2, 2], [[0, 1]], [0.0, 1.0], [0]):
        with pytest.raises(ValueError, match="offsets of categorical units"):
            categorical_units(bad)
    u = categorical_units([0, 2, 5, 7])
    assert u.kernel_id == 2 and u.discrete and not u.has_sigma and u.n_states(7) == 12
    assert repr(u) == "<visible units 'categorical', groups of [2, 3, 2]>"
    # pickling keeps the groups; the table's entry stays a singleton
    assert np.array_equal(pickle.loads(pickle.dumps(u)).offsets, u.offsets)
    assert pickle.loads(pickle.dumps(entry)) is entry
    codes = np.array([[0, 2, 1], [1, -1, 0]])
    X = u.onehot(codes)
    np.testing.assert_array_equal(X, [[1, 0, 0, 0, 1, 0, 1], [0, 1, 0, 0, 0, 1, 0]])
    np.testing.assert_array_equal(u.codes(X), codes)
    # one-hot states: the hidden input is v itself, the energy term -b.v
    b = np.arange(7.0)
    np.testing.assert_array_equal(u.hidden_input(X, None), X)
    np.testing.assert_allclose(u.energy_term(X, b, None), [-(0 + 4 + 6), -(1 + 5)])


def test_categorical_units_mean_sampler_and_initialisation():
    from rbmlib.units import categorical_units

    sizes = (2, 3, 4)
    u = categorical_units(np.concatenate([[0], np.cumsum(sizes)]))
    rng = np.random.RandomState(0)
    a = rng.normal(0, 1.5, (1, 9))
    p = u.mean(a, None)
    ref = np.concatenate([np.exp(a[0, o:o + K]) / np.exp(a[0, o:o + K]).sum()
                          for o, K in zip((0, 2, 5), sizes)])
    np.testing.assert_allclose(p[0], ref, rtol=1e-13)
    n = 40000
    s = u.sample(np.repeat(a, n, axis=0), None, np.random.RandomState(1))
    assert set(np.unique(s)) == {0.0, 1.0}
    np.testing.assert_array_equal(s[:, :2].sum(1) + s[:, 2:5].sum(1) + s[:, 5:].sum(1), 3)
    np.testing.assert_allclose(s.mean(0), ref, atol=4 * np.sqrt(0.25 / n))
    # initial biases and the AIS base model: log smoothed category frequencies
    codes = np.array([[0, 2, 3], [0, 2, -1], [1, 0, 3]])
    X = u.onehot(codes)
    b = u.init_bias(X.mean(0), "log_frequencies", 3)
    counts = [[2, 1], [1, 0, 2], [0, 0, 0, 2]]
    want = np.concatenate([np.log((np.array(k) + 1.0) / (sum(k) + len(k))) for k in counts])
    np.testing.assert_allclose(b, want, rtol=1e-14)
    np.testing.assert_array_equal(u.base_biases(X.mean(0), 3, None), b)
    np.testing.assert_array_equal(u.init_bias(X.mean(0), "zeros", 3), np.zeros(9))
    np.testing.assert_array_equal(u.base_biases(None, 0, None), np.zeros(9))
    # log Z of the base model (independent softmaxes) against enumeration
    configs = list(itertools.product(range(2), range(3), range(4)))
    brute = logsumexp([-u.energy_term(u.onehot(np.array([c])), b, None)[0] for c in configs])
    assert u.log_z_base(b, None) == pytest.approx(brute, rel=1e-13)


def test_categorical_free_energy_against_summing_out_the_hidden_units():
    from rbmlib.units import categorical_units, free_energy

    u = categorical_units([0, 2, 5])
    rng = np.random.RandomState(3)
    H = 4
    W, c, b = rng.normal(0, 1, (H, 5)), rng.normal(0, 1, H), rng.normal(0, 1, 5)
    X = u.onehot(np.array([[0, 1], [1, 2], [1, -1]]))
    hs = np.array(list(itertools.product([0, 1], repeat=H)), float)
    brute = -logsumexp((X @ b)[:, None] + (hs @ c)[None] + X @ W.T @ hs.T, axis=1)
    np.testing.assert_allclose(free_energy(X, W, c, b, None, u, HIDDEN_UNITS["bernoulli"]),
                               brute, rtol=1e-13)
    x = X @ W.T + c
    np.testing.assert_allclose(free_energy(X, W, c, b, None, u, HIDDEN_UNITS["gaussian"]),
                               -(X @ b) - (0.5 * x**2 + 0.5 * np.log(2 * np.pi)).sum(1),
                               rtol=1e-13)


def test_exact_or_ais_rule_reads_the_categorical_units():
    from rbmlib.units import categorical_units

    u = categorical_units(np.arange(0, 2 * 26 + 1, 2))   # 26 binary groups: 2^26 states
    W = np.zeros((30, 52))
    assert L._enumerated(W, u, HIDDEN_UNITS["bernoulli"]) == ("visible", 2**26)
    assert L._auto_method(W, u, HIDDEN_UNITS["bernoulli"]) == "ais"
    assert L._enumerated(W[:25], u, HIDDEN_UNITS["bernoulli"]) == ("hidden", 2**25)
    assert L._auto_method(W[:25], u, HIDDEN_UNITS["bernoulli"]) == "exact"
    # Gaussian hidden units cannot be enumerated: the visible configurations are
    assert L._enumerated(W[:2], u, HIDDEN_UNITS["gaussian"]) == ("visible", 2**26)
    small = categorical_units([0, 3, 7])                  # 12 configurations
    assert L._enumerated(W[:, :7], small, HIDDEN_UNITS["gaussian"]) == ("visible", 12)
    assert L._enumerated(W[:, :7], small, HIDDEN_UNITS["bernoulli"]) == ("visible", 12)
