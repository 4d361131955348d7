"""BernoulliRBM: kernels against NumPy references, exact enumeration, sklearn interface."""

import itertools
import pickle
import re

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, logsumexp
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from rbmlib import BernoulliRBM, DivergenceError
from rbmlib._kernels.cd import cd_epoch, cd_update
from rbmlib._kernels.negative import PCD, negative_phase_id
from rbmlib._kernels.sampling import stream_key

# ---------------------------------------------------------------- references
M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def _mix64_ref(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def _uniforms_ref(seed, stream, n):
    """Plain-Python SplitMix64 counter RNG, written independently of the kernel."""
    key = _mix64_ref(seed ^ _mix64_ref((stream * GOLDEN + GOLDEN) & M64))
    return np.array([(_mix64_ref((key + i * GOLDEN) & M64) >> 11) / 2.0**53 for i in range(n)])


def _cd_update_ref(v0, W, c, b, hchain, k, persistent, seed, update_index, lr,
                   momentum, weight_decay, vel, mean_field=False):
    """NumPy reference of one CD-k / PCD update (Hinton's practical guide)."""
    m = v0.shape[0]
    base = update_index * (2 * k + 1)
    ph0 = expit(v0 @ W.T + c)
    if persistent:
        h = hchain.copy()
    else:
        u = _uniforms_ref(seed, base, ph0.size).reshape(ph0.shape)
        h = (u < ph0).astype(float)
    for step in range(k):
        pv = expit(h @ W + b)
        u = _uniforms_ref(seed, base + 2 * step + 1, pv.size).reshape(pv.shape)
        vk = pv if (mean_field and step == k - 1) else (u < pv).astype(float)
        phk = expit(vk @ W.T + c)
        if step < k - 1 or persistent:
            u = _uniforms_ref(seed, base + 2 * step + 2, phk.size).reshape(phk.shape)
            h = (u < phk).astype(float)
    gW = (ph0.T @ v0 - phk.T @ vk) / m - weight_decay * W
    gc = (ph0 - phk).mean(0)
    gb = (v0 - vk).mean(0)
    vW, vc, vb = vel
    vW = momentum * vW + lr * gW
    vc = momentum * vc + lr * gc
    vb = momentum * vb + lr * gb
    return W + vW, c + vc, b + vb, h, (vW, vc, vb)


def _run_kernel_update(v0, W, c, b, hchain, k, persistent, seed, update_index, lr,
                       momentum, weight_decay, vel, B=None, mean_field=False):
    m, V = v0.shape
    H = W.shape[0]
    B = B or m
    dt = v0.dtype
    W, c, b = W.copy(), c.copy(), b.copy()
    vW, vc, vb = (a.copy() for a in vel)
    hch = np.zeros((B, H), dt)
    hch[:m] = hchain
    Vcat = np.zeros((2 * B, V), dt)
    Vcat[:m] = v0
    empty = np.zeros(0, dt)
    cd_update(m, (k, negative_phase_id(persistent, mean_field), 0, 0, False), np.uint64(seed),
              update_index, (W, c, b, np.ones(V, dt), empty), np.zeros(1, np.int64),
              (vW, vc, vb, empty), (hch, np.zeros(H, dt)),
              (Vcat, np.zeros((2 * B, H), dt), np.zeros((B, H), dt), np.zeros((B, V), dt),
               np.zeros((H, V), dt), np.zeros((0, 0), np.int32)),
              (lr, momentum, weight_decay, 0.1, 0.0, 0.9, 0.0, 0.0))
    return W, c, b, hch[:m], (vW, vc, vb)


def test_rng_matches_reference():
    from numba import njit

    from rbmlib._kernels.sampling import uniform

    @njit
    def draw(seed, stream, n):
        key = stream_key(np.uint64(seed), np.uint64(stream))
        out = np.empty(n)
        for i in range(n):
            out[i] = uniform(key, i)
        return out

    np.testing.assert_array_equal(draw(12345, 7, 50), _uniforms_ref(12345, 7, 50))
    u = draw(1, 2, 20000)
    assert 0.49 < u.mean() < 0.51 and u.min() >= 0 and u.max() < 1


@pytest.mark.parametrize("mean_field", [False, True])
@pytest.mark.parametrize("k,persistent", [(1, False), (3, False), (1, True), (2, True)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cd_update_matches_numpy_reference(k, persistent, dtype, mean_field):
    rng = np.random.RandomState(0)
    m, V, H = 7, 9, 5
    v0 = (rng.rand(m, V) < 0.4).astype(dtype)
    W = rng.normal(0, 0.5, (H, V)).astype(dtype)
    c = rng.normal(0, 0.5, H).astype(dtype)
    b = rng.normal(0, 0.5, V).astype(dtype)
    hchain = (rng.rand(m, H) < 0.5).astype(dtype)
    vel = [rng.normal(0, 0.01, a.shape).astype(dtype) for a in (W, c, b)]
    args = (v0, W, c, b, hchain, k, persistent, 99, 5, 0.1, 0.5, 1e-3, vel)
    got = _run_kernel_update(*args, B=m + 3, mean_field=mean_field)  # buffers > batch
    want = _cd_update_ref(*[a.astype(np.float64) if isinstance(a, np.ndarray) else a
                            for a in args[:-1]],
                          [a.astype(np.float64) for a in vel], mean_field=mean_field)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for g, w in zip(got[:3], want[:3]):
        assert g.dtype == dtype
        np.testing.assert_allclose(g, w, atol=tol)
    if persistent:
        np.testing.assert_array_equal(got[3], want[3])


def test_cd_epoch_sparse_equals_dense():
    rng = np.random.RandomState(1)
    n, V, H, B = 53, 12, 6, 10
    X = (rng.rand(n, V) < 0.2).astype(np.float64)
    Xs = sp.csr_matrix(X)
    outs = []
    for sparse in (False, True):
        W = rng.normal(0, 0.1, (H, V)) * 0 + 0.01
        state = [W, np.zeros(H), np.zeros(V), np.ones(V), np.zeros((H, V)), np.zeros(H),
                 np.zeros(V), np.zeros((B, H)), np.zeros(H)]
        bufs = [np.zeros((2 * B, V)), np.zeros((2 * B, H)), np.zeros((B, H)),
                np.zeros((B, V)), np.zeros((H, V))]
        order = np.arange(n)[::-1].copy()
        if sparse:
            args = (np.zeros((1, V)), Xs.data, Xs.indices.astype(np.int64),
                    Xs.indptr.astype(np.int64), True)
        else:
            args = (X, np.zeros(1), np.zeros(1, np.int64), np.zeros(2, np.int64), False)
        e = np.zeros(0)
        nb = cd_epoch(args, order, B, (1, PCD, 0, 0, False), np.uint64(3), 0,
                      (*state[:4], e), np.zeros(1, np.int64), (*state[4:7], e),
                      tuple(state[7:]), (*bufs, np.zeros((0, 0), np.int32)),
                      (0.1, 0.0, 0.0, 0.1, 0.0, 0.9, 0.0, 0.0))
        assert nb == 6  # ceil(53 / 10)
        outs.append(state[0])
    np.testing.assert_array_equal(outs[0], outs[1])


# ----------------------------------------------------- exact enumeration tests
def _all_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def _exact_loglik_and_grad(W, c, b, X):
    """Exact mean log-likelihood of X and its gradient, enumerating both layers."""
    V_all = _all_states(W.shape[1])
    fe = lambda v: -(v @ b) - np.logaddexp(0, v @ W.T + c).sum(1)  # noqa: E731
    logZ = logsumexp(-fe(V_all))
    ll = np.mean(-fe(X)) - logZ
    p_v = np.exp(-fe(V_all) - logZ)
    ph_data = expit(X @ W.T + c)
    ph_model = expit(V_all @ W.T + c)
    gW = ph_data.T @ X / len(X) - (ph_model * p_v[:, None]).T @ V_all
    return ll, gW


def _tiny_data(rng, n=40, V=6):
    protos = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [1, 0, 1, 0, 1, 0]], float)
    X = protos[rng.randint(0, 3, n)]
    flip = rng.rand(n, V) < 0.1
    return np.abs(X - flip)


def test_cd_k_gradient_approaches_exact_gradient():
    rng = np.random.RandomState(0)
    V, H = 6, 4
    X = _tiny_data(rng)
    W = rng.normal(0, 1.0, (H, V))
    c = rng.normal(0, 0.5, H)
    b = rng.normal(0, 0.5, V)
    _, g_exact = _exact_loglik_and_grad(W, c, b, X)
    reps = 4000  # many chains per data row: Monte Carlo error ~ 1e-2
    v0 = np.repeat(X, reps // len(X) + 1, axis=0)[:reps]
    errs = {}
    for k in (1, 3, 30):
        Wn, *_ = _run_kernel_update(v0, W, c, b, np.zeros((reps, H)), k, False, 7, 0,
                                    1.0, 0.0, 0.0, [np.zeros_like(W), np.zeros(H), np.zeros(V)])
        # exact-data positive phase so only the negative phase differs
        g_cd = Wn - W
        errs[k] = np.abs(g_cd - g_exact).max()
    assert errs[30] < errs[1]
    assert errs[30] < 0.05, errs
    assert errs[1] > 0.05, errs  # CD-1 is visibly biased at this weight scale


@pytest.mark.parametrize("sample_visible", [False, True])
def test_training_raises_exact_log_likelihood(sample_visible):
    rng = np.random.RandomState(0)
    X = _tiny_data(rng, n=60)
    model = BernoulliRBM(n_components=4, n_iter=1, learning_rate=0.05, random_state=0,
                         sample_visible=sample_visible)
    model.fit(X)
    ll0, _ = _exact_loglik_and_grad(model.components_, model.intercept_hidden_,
                                    model.intercept_visible_, X)
    model.set_params(n_iter=200).fit(X)
    ll1, _ = _exact_loglik_and_grad(model.components_, model.intercept_hidden_,
                                    model.intercept_visible_, X)
    assert ll1 > ll0 + 0.3, (ll0, ll1)


def test_free_energy_and_pseudo_likelihood_match_enumeration():
    rng = np.random.RandomState(3)
    X = _tiny_data(rng, n=10)
    model = BernoulliRBM(n_components=3, n_iter=5, random_state=0).fit(X)
    W, c, b = model.components_, model.intercept_hidden_, model.intercept_visible_
    H_all = _all_states(3)
    # F(v) = -log sum_h exp(-E(v, h))
    E = -(X @ b)[:, None] - (H_all @ c)[None, :] - X @ W.T @ H_all.T
    np.testing.assert_allclose(model.free_energy(X), -logsumexp(-E, axis=1), rtol=1e-10)
    # pseudo-likelihood: sum over units of log p(v_i | v_-i) by brute force
    # (scikit-learn's scale: its one-random-unit estimate times n_features)
    F = model.free_energy
    want = np.zeros(len(X))
    for i in range(X.shape[1]):
        Xf = X.copy()
        Xf[:, i] = 1 - Xf[:, i]
        want += -np.logaddexp(0, F(X) - F(Xf))
    np.testing.assert_allclose(model.score_samples(X), want, rtol=1e-8)
    assert np.all(model.score_samples(X) <= 0)


def test_pseudo_likelihood_has_the_expectation_of_sklearns_estimate():
    # scikit-learn flips one random unit i per row (x_i -> 1 - x_i) and returns
    # -n_features * softplus(F(x) - F(x')); the mean over all i is our value,
    # for binary and for fractional rows alike
    from sklearn.neural_network import BernoulliRBM as SkBernoulliRBM

    X, _ = load_digits(return_X_y=True)
    X = X[:20] / 16.0
    model = BernoulliRBM(n_components=7, n_iter=3, random_state=0).fit(X)
    sk = SkBernoulliRBM(n_components=7)
    sk.components_, sk.intercept_hidden_ = model.components_, model.intercept_hidden_
    sk.intercept_visible_, sk.n_features_in_ = model.intercept_visible_, X.shape[1]
    want = np.zeros(len(X))
    for i in range(X.shape[1]):
        Xf = X.copy()
        Xf[:, i] = 1 - Xf[:, i]
        want += -X.shape[1] * np.logaddexp(0, sk._free_energy(X) - sk._free_energy(Xf))
    np.testing.assert_allclose(model.score_samples(X), want / X.shape[1], rtol=1e-10)
    # and sklearn's own noisy estimate averages to it
    sk.random_state = np.random.RandomState(0)  # a new unit each call
    noisy = np.mean([sk.score_samples(X).mean() for _ in range(200)])
    assert abs(noisy - model.score_samples(X).mean()) < 0.05 * abs(noisy)


# --------------------------------------------------------- estimator behaviour
@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


def test_dtype_preserved(digits):
    X, _ = digits
    X32 = X[:200].astype(np.float32)
    m = BernoulliRBM(n_components=16, n_iter=2, random_state=0).fit(X32)
    assert m.components_.dtype == np.float32
    assert m.intercept_hidden_.dtype == np.float32
    assert m.transform(X32).dtype == np.float32
    assert m.score_samples(X32).dtype == np.float32
    m64 = BernoulliRBM(n_components=16, n_iter=2, random_state=0).fit(X[:200])
    assert m64.transform(X[:200]).dtype == np.float64
    np.testing.assert_allclose(m.components_, m64.components_, atol=1e-3)


def test_sparse_input_matches_dense(digits):
    X, _ = digits
    X = X[:300]
    dense = BernoulliRBM(n_components=16, n_iter=3, random_state=0).fit(X)
    sparse = BernoulliRBM(n_components=16, n_iter=3, random_state=0).fit(sp.csr_matrix(X))
    np.testing.assert_allclose(dense.components_, sparse.components_, atol=1e-12)
    np.testing.assert_allclose(dense.transform(X), sparse.transform(sp.csr_matrix(X)))
    sparse.partial_fit(sp.csr_matrix(X))


def test_same_seed_and_n_jobs_bit_identical_other_n_jobs_close(digits):
    X, _ = digits
    X = X[:400]
    for j in (1, 2, None):
        a, b = (BernoulliRBM(n_components=32, n_iter=3, random_state=42, n_jobs=j).fit(X)
                for _ in range(2))
        np.testing.assert_array_equal(a.components_, b.components_)
        np.testing.assert_array_equal(a.intercept_visible_, b.intercept_visible_)
    models = [BernoulliRBM(n_components=32, n_iter=3, random_state=42, n_jobs=j).fit(X)
              for j in (1, 2, None)]
    for m in models[1:]:  # up to BLAS rounding (amplified by training at larger sizes)
        np.testing.assert_allclose(models[0].components_, m.components_, atol=1e-8)
    other = BernoulliRBM(n_components=32, n_iter=3, random_state=43).fit(X)
    assert not np.array_equal(other.components_, models[0].components_)


def test_initialisation_follows_practical_guide(digits):
    X, _ = digits
    m = BernoulliRBM(n_components=64, n_iter=0, random_state=0,
                     visible_bias_init="log_odds").fit(X)
    p = np.clip(X.mean(0), 1e-3, 1 - 1e-3)
    np.testing.assert_allclose(m.intercept_visible_, np.log(p / (1 - p)))
    assert abs(m.components_.std() - 0.01) < 0.001
    assert np.all(m.intercept_hidden_ == 0)


def test_partial_fit_runs_all_minibatches_and_keeps_chains(digits):
    X, _ = digits
    X = X[:95]
    m = BernoulliRBM(n_components=8, batch_size=10, random_state=0)
    m.partial_fit(X)
    assert m._n_updates == 10  # ceil(95 / 10) updates, not one
    h1 = m.h_samples_.copy()
    m.partial_fit(X)
    assert m._n_updates == 20
    assert not np.array_equal(h1, m.h_samples_)
    # the chains continue: the same as one object fed twice after a pickle round trip
    m2 = BernoulliRBM(n_components=8, batch_size=10, random_state=0).partial_fit(X)
    m2 = pickle.loads(pickle.dumps(m2))
    m2.partial_fit(X)
    np.testing.assert_array_equal(m.components_, m2.components_)


def test_fit_learns_useful_features(digits):
    from sklearn.neural_network import BernoulliRBM as SkBernoulliRBM

    X, y = digits
    scores = []
    for cls in (SkBernoulliRBM, BernoulliRBM):
        pipe = Pipeline([("rbm", cls(n_components=64, n_iter=10, learning_rate=0.06,
                                     random_state=0)),
                         ("clf", LogisticRegression(C=100.0, max_iter=1000))])
        pipe.fit(X[:1200], y[:1200])
        scores.append(pipe.score(X[1200:], y[1200:]))
    assert scores[1] > 0.83  # 0.860 +- 0.009 over 5 seeds (scikit-learn 0.856 +- 0.005)
    assert scores[1] > scores[0] - 0.03, scores  # as good as scikit-learn's, up to noise
    rbm = pipe.named_steps["rbm"]
    assert rbm.history_[-1]["pseudo_log_likelihood"] > rbm.history_[0]["pseudo_log_likelihood"]
    assert rbm.history_[-1]["reconstruction_error"] < rbm.history_[0]["reconstruction_error"]


def test_gridsearch_clone_and_joblib(tmp_path, digits):
    X, y = digits
    X, y = X[:300], y[:300]
    pipe = Pipeline([("rbm", BernoulliRBM(n_iter=2, random_state=0)),
                     ("clf", LogisticRegression(max_iter=300))])
    gs = GridSearchCV(pipe, {"rbm__n_components": [8, 16]}, cv=2).fit(X, y)
    assert gs.best_params_["rbm__n_components"] in (8, 16)
    rbm = BernoulliRBM(n_components=8, n_iter=2, random_state=0).fit(X)
    c = clone(rbm)
    assert not hasattr(c, "components_") and c.get_params() == rbm.get_params()
    path = tmp_path / "rbm.joblib"
    joblib.dump(rbm, path)
    again = joblib.load(path)
    np.testing.assert_array_equal(again.transform(X), rbm.transform(X))


def test_verbose_prints_one_line_per_epoch(capsys, digits):
    X, _ = digits
    BernoulliRBM(n_components=8, n_iter=3, verbose=1, random_state=0).fit(X[:100])
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("[BernoulliRBM]")]
    assert len(lines) == 3
    # scikit-learn's line first ("%.2f", "%.2fs"), extra figures after it
    assert re.match(r"\[BernoulliRBM\] Iteration 1, pseudo-likelihood = -\d+\.\d\d, "
                    r"time = \d+\.\d\ds, reconstruction error = ", lines[0])
    assert "time left" in lines[0]


def test_free_energy_gap_and_early_stopping(digits):
    X, _ = digits
    m = BernoulliRBM(n_components=16, n_iter=4, validation_fraction=0.2, random_state=0).fit(X)
    assert len(m.history_) == 4
    assert all(np.isfinite(r["free_energy_gap"]) for r in m.history_)
    m = BernoulliRBM(n_components=64, n_iter=60, learning_rate=0.2, validation_fraction=0.5,
                     early_stopping=True, n_iter_no_change=2, random_state=0).fit(X[:60])
    assert m.n_iter_ < 60


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "X, match",
    [
        (np.array([[0.0, np.nan], [1.0, 0.0]]), "NaN"),
        (np.array([[0.0, np.inf], [1.0, 0.0]]), "infinity"),
        (np.zeros((0, 3)), "0 sample"),
        (np.array([0.0, 1.0, 1.0]), "2D array"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), "could not convert"),
    ],
)
def test_bad_input_raises_clear_error(X, match):
    with pytest.raises(ValueError, match=match):
        BernoulliRBM(n_components=2, n_iter=1).fit(X)


@pytest.mark.parametrize("X", [np.array([[0.0, 2.0], [1.0, 0.0]]),
                               np.array([[0.0, -0.5], [1.0, 0.0]])])
@pytest.mark.parametrize("check_range", ["raise", True])
def test_out_of_range_input_raises_when_asked(X, check_range):
    with pytest.raises(ValueError, match=r"\[0, 1\].*MinMaxScaler"):
        BernoulliRBM(n_components=2, n_iter=1, check_range=check_range).fit(X)


def test_bad_parameters_name_the_parameter():
    X = np.eye(3)
    for params, match in [({"n_components": True}, "n_components.*an int"),
                          ({"n_components": 2.0}, "n_components"),
                          ({"batch_size": False}, "batch_size"),
                          ({"check_range": "maybe"}, "check_range"),
                          ({"early_stopping": True}, "early_stopping.*validation_fraction")]:
        with pytest.raises(ValueError, match=match):
            BernoulliRBM(**params).fit(X)


def test_bad_parameters_raise():
    X = np.eye(3)
    with pytest.raises(ValueError, match="n_components"):
        BernoulliRBM(n_components=0).fit(X)
    with pytest.raises(ValueError, match="learning_rate"):
        BernoulliRBM(learning_rate=-1.0).fit(X)
    with pytest.raises(ValueError, match="momentum"):
        BernoulliRBM(momentum=1.5).fit(X)


def test_wrong_n_features_after_fit_and_failed_partial_fit_leaves_model(digits):
    X, _ = digits
    m = BernoulliRBM(n_components=8, n_iter=1, random_state=0).fit(X[:100])
    with pytest.raises(ValueError, match="features"):
        m.transform(X[:5, :10])
    before = pickle.dumps(m.__dict__)
    bad = X[:10].copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        m.partial_fit(bad)
    with pytest.raises(ValueError, match="features"):
        m.partial_fit(X[:10, :20])
    assert pickle.dumps(m.__dict__) == before


def test_divergence_detected_and_model_restored(digits):
    X, _ = digits
    m = BernoulliRBM(n_components=16, n_iter=1, random_state=0).fit(X[:200])
    W = m.components_.copy()
    m.set_params(learning_rate=1e9)
    with pytest.raises(DivergenceError, match="learning_rate"):
        m.partial_fit(X[:200])
    np.testing.assert_array_equal(m.components_, W)


def test_log_likelihood_methods_match_enumeration():
    rng = np.random.RandomState(5)
    X = _tiny_data(rng, n=30)
    m = BernoulliRBM(n_components=4, n_iter=20, random_state=0).fit(X)
    ll_ref, _ = _exact_loglik_and_grad(m.components_, m.intercept_hidden_,
                                       m.intercept_visible_, X)
    assert m.log_partition().method == "exact"
    np.testing.assert_allclose(m.log_likelihood(X).mean(), ll_ref, rtol=1e-10)
    est = m.log_partition("ais", n_runs=50, betas=np.linspace(0, 1, 500), base_rate=X,
                          random_state=0)
    assert abs(est.log_z - m.log_partition().log_z) < 0.1
    with pytest.raises(ValueError, match="method"):
        m.log_partition("magic")
