"""DBM(visible_units="gaussian"): unit-variance Gaussian visible units (issue 23, "Gaussian
visible units where the unit table allows"; Cho, Raiko and Ilin 2013).

The references are independent of the kernels: log Z and log p(v) by numerical
integration of v over a fine grid times enumeration of every hidden state, the
model's moments from the same sums, and one joint-training update written out in
NumPy with the library's counter-based random numbers."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, logsumexp
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from rbmlib import DBM, DBMClassifier
from rbmlib._kernels import dbm as kd
from rbmlib._kernels.sampling import gaussian as normal_number
from rbmlib._kernels.sampling import uniform as uniform_number


def _tiny(sizes, seed=0, scale=0.8):
    rng = np.random.RandomState(seed)
    W = [rng.normal(0, scale, (sizes[k], sizes[k + 1])) for k in range(len(sizes) - 1)]
    b = [rng.normal(0, 0.5, s) for s in sizes]
    return W, b


def _fitted(W, b, **kw):
    """A Gaussian DBM with the given parameters, as if fitted."""
    d = DBM(hidden_layer_sizes=[w.shape[1] for w in W], visible_units="gaussian", **kw)
    d.coefs_, d.intercepts_ = [w.copy() for w in W], [x.copy() for x in b]
    d.n_features_in_ = len(b[0])
    d._visible_units = "gaussian"
    d._seed = 12345
    d._log_z_memo = {}
    return d


def _hidden_states(sizes):
    """Every joint state of the hidden layers, as a list of (N, n_k) arrays (k >= 1)."""
    n = sum(sizes[1:])
    idx = np.arange(2 ** n)
    S = ((idx[:, None] >> np.arange(n)) & 1).astype(float)
    out, col = [None], 0
    for s in sizes[1:]:
        out.append(S[:, col:col + s])
        col += s
    return out


def _hidden_neg_energy(W, b, h):
    """The hidden layers' part of -E for every hidden state (v excluded)."""
    val = sum(h[k] @ b[k] for k in range(1, len(b)))
    for k in range(1, len(W)):
        val = val + np.einsum("ni,ij,nj->n", h[k], W[k], h[k + 1])
    return val


def _grid_log_weights(W, b, half_width=15.0, n_grid=301):
    """log int exp(-E(v, h)) dv of every hidden state h, v integrated numerically
    over a square grid (2 visible units; a Riemann sum of step 0.1, whose error
    on a unit-variance Gaussian integrand, about exp(-2 pi^2 / 0.1^2), is far
    below rounding), and the hidden states."""
    sizes = [len(x) for x in b]
    assert sizes[0] == 2
    g = np.linspace(-half_width, half_width, n_grid)
    dv = g[1] - g[0]
    V = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
    base = -0.5 * ((V - b[0]) ** 2).sum(axis=1)
    h = _hidden_states(sizes)
    states, which = np.unique(h[1], axis=0, return_inverse=True)  # v sees h_1 only
    log_int = np.array([logsumexp(base + V @ (W[0] @ h1)) for h1 in states])
    return log_int[np.ravel(which)] + 2 * np.log(dv) + _hidden_neg_energy(W, b, h), h


def _log_joint(W, b, X, h):
    """-E(v, h) for every row of X (rows) and hidden state (columns)."""
    return (-0.5 * ((X - b[0]) ** 2).sum(axis=1)[:, None] + X @ W[0] @ h[1].T
            + _hidden_neg_energy(W, b, h)[None, :])


SIZES_2 = (2, 3, 2)
SIZES_3 = (2, 3, 2, 2)


# ------------------------------------------------------------------ exact checks
@pytest.mark.parametrize("sizes", [SIZES_2, SIZES_3])
def test_exact_log_z_is_the_integral_over_v(sizes):
    for seed in range(2):
        W, b = _tiny(sizes, seed, scale=1.0)
        lw, _ = _grid_log_weights(W, b)
        brute = logsumexp(lw)
        assert_allclose(kd.exact_log_z(W, b, gaussian=True), brute, rtol=0, atol=1e-8)
        est = _fitted(W, b).log_partition()  # auto: exact (the odd layers' units)
        assert est.method == "exact"
        assert_allclose(est.log_z, brute, rtol=0, atol=1e-8)
    # the parity enumerated is the odd one however small the visible layer
    assert kd.n_enumerated([1, 30, 1], gaussian=True) == 30
    assert kd.n_enumerated([1, 30, 1]) == 2


def test_ais_log_z_within_its_error():
    W, b = _tiny((4, 5, 3), seed=3, scale=0.9)
    exact = kd.exact_log_z(W, b, gaussian=True)
    d = _fitted(W, b)
    est = d.log_partition(method="ais", n_runs=200, n_betas=2000, random_state=0)
    assert 0 < est.log_z_std < 0.05
    assert abs(est.log_z - exact) <= 4 * est.log_z_std + 1e-3
    assert est.log_z_lower <= exact + 1e-3 and exact <= est.log_z_upper + 1e-3
    # the base model: v ~ N(b_0, 1), the hidden units independent logistic units
    _, log_z0 = kd.ais_log_weights(W, b, np.array([0.0, 1e-9]), 5, 0, gaussian=True)
    want = 2 * np.log(2 * np.pi) + np.logaddexp(0, b[1]).sum() + np.logaddexp(0, b[2]).sum()
    assert_allclose(log_z0, want, rtol=1e-14)


def test_bound_is_log_p_minus_kl_and_below_log_p():
    W, b = _tiny(SIZES_2, seed=4, scale=1.0)
    lw, h = _grid_log_weights(W, b)
    log_z = logsumexp(lw)
    X = np.random.RandomState(0).normal(0, 1.5, (12, 2))
    lj = _log_joint(W, b, X, h)
    log_p = logsumexp(lj, axis=1) - log_z
    d = _fitted(W, b, n_mean_field=200, mean_field_tol=1e-13)
    bound = d.score_samples(X)  # exact log Z, no range warning for real-valued rows
    assert np.all(bound <= log_p + 1e-9)
    mu, _ = kd.mean_field(X, W, b, 200, 1e-13)
    for i in range(len(X)):
        post = np.exp(lj[i] - logsumexp(lj[i]))
        q = (np.prod(np.where(h[1] == 1, mu[1][i], 1 - mu[1][i]), axis=1)
             * np.prod(np.where(h[2] == 1, mu[2][i], 1 - mu[2][i]), axis=1))
        kl = np.sum(q * (np.log(q) - np.log(post)))
        assert_allclose(bound[i], log_p[i] - kl, atol=1e-8)


def test_gibbs_chains_have_the_model_moments():
    W, b = _tiny(SIZES_2, seed=6, scale=0.9)
    lw, h = _grid_log_weights(W, b)
    p = np.exp(lw - logsumexp(lw))
    m = b[0] + h[1] @ W[0].T  # E[v | h]
    ev = p @ m
    evv = np.eye(2) + (m * p[:, None]).T @ m
    evh1 = (m * p[:, None]).T @ h[1]
    eh = [p @ h[1], p @ h[2]]
    rng = np.random.RandomState(0)
    n = 4000
    chains = [rng.normal(size=(n, 2))] + [(rng.rand(n, s) < 0.5).astype(float)
                                           for s in SIZES_2[1:]]
    kd.gibbs_sweeps(chains, W, b, 7, 0, 30, gaussian=True)  # burn-in
    stream, n_sweeps = 1000, 40
    acc_v, acc_vv, acc_vh, acc_h = 0.0, 0.0, 0.0, [0.0, 0.0]
    for _ in range(n_sweeps):
        pp, used = kd.gibbs_sweeps(chains, W, b, 7, stream, 1, gaussian=True)
        stream += used
        dW, db = kd.chain_statistics(chains, pp, W)
        acc_v = acc_v + db[0] / n_sweeps
        acc_vh = acc_vh + dW[0] / n_sweeps
        acc_vv = acc_vv + chains[0].T @ chains[0] / n / n_sweeps  # the sampled v
        for k in (0, 1):
            acc_h[k] = acc_h[k] + db[k + 1] / n_sweeps
    assert_allclose(acc_v, ev, atol=0.03)
    assert_allclose(acc_vv, evv, atol=0.08)
    assert_allclose(acc_vh, evh1, atol=0.03)
    for k in (0, 1):
        assert_allclose(acc_h[k], eh[k], atol=0.015)
    # sample(): chains from the biases, the returned means average to E[v]
    d = _fitted(W, b)
    V = d.sample(3000, n_gibbs=30, random_state=0)
    assert V.shape == (3000, 2) and V.dtype == np.float64
    assert_allclose(V.mean(0), ev, atol=0.05)
    assert_array_equal(V, d.sample(3000, n_gibbs=30, random_state=0))


def test_visible_draw_is_the_library_normal_around_the_mean():
    W, b = _tiny(SIZES_2, seed=2)
    rng = np.random.RandomState(1)
    h = [rng.normal(size=(5, 2)), (rng.rand(5, 3) < 0.5) * 1.0, (rng.rand(5, 2) < 0.5) * 1.0]
    p, used = kd.gibbs_sweeps(h, W, b, 11, 40, 1, gaussian=True)
    assert used == 3
    assert_allclose(p[0], b[0] + h[1] @ W[0].T, rtol=1e-13)
    key = kd.key(11, 40)  # stream + 0: layer 0 of the first sweep
    z = np.array([[normal_number(key, r * 2 + i) for i in range(2)] for r in range(5)])
    assert_allclose(h[0] - p[0], z, rtol=0, atol=1e-12)


# ------------------------------------------------------------------ the joint update
def _numpy_sweep_bernoulli(pre, bias, key):
    p = expit(pre + bias)
    n = p.shape[1]
    u = np.array([[uniform_number(key, r * n + j) for j in range(n)]
                  for r in range(p.shape[0])])
    return p, (u < p).astype(float)


def test_joint_update_matches_numpy_reference():
    X = np.random.RandomState(0).normal(size=(15, 3))
    kw = dict(hidden_layer_sizes=(4, 2), visible_units="gaussian", n_iter=0,
              n_iter_pretrain=0, batch_size=100, n_chains=6, n_mean_field=4,
              mean_field_tol=0.0, learning_rate=0.05, momentum=0.5, weight_decay=1e-3,
              random_state=0)
    d = DBM(**kw).fit(X)
    W, b = [w.copy() for w in d.coefs_], [x.copy() for x in d.intercepts_]
    chains = [c.copy() for c in d.fantasy_particles_]
    assert_array_equal(chains[0], X[np.random.default_rng([d._seed, 1]).integers(0, 15, 6)])
    seed, stream = d._seed, d._stream
    d.partial_fit(X)  # one batch of all rows (in their order)
    # mean field: the up pass (doubled below the top), then n_mean_field sweeps
    mu1 = expit(2 * X @ W[0] + b[1])
    mu2 = expit(mu1 @ W[1] + b[2])
    for _ in range(4):
        mu1 = expit(X @ W[0] + mu2 @ W[1].T + b[1])
        mu2 = expit(mu1 @ W[1] + b[2])
    # one Gibbs sweep: h1 | v, h2; then v ~ N(b0 + h1 W0^T, 1) and h2 | h1
    _, h1 = _numpy_sweep_bernoulli(chains[0] @ W[0] + chains[2] @ W[1].T, b[1],
                                   kd.key(seed, stream + 1))
    m0 = b[0] + h1 @ W[0].T
    key0 = kd.key(seed, stream)
    z = np.array([[normal_number(key0, r * 3 + i) for i in range(3)] for r in range(6)])
    p2, h2 = _numpy_sweep_bernoulli(h1 @ W[1], b[2], kd.key(seed, stream + 2))
    assert_allclose(d.fantasy_particles_[0], m0 + z, rtol=1e-12, atol=1e-12)
    assert_array_equal(d.fantasy_particles_[1], h1)
    assert_array_equal(d.fantasy_particles_[2], h2)
    pos_W = [X.T @ mu1 / 15, mu1.T @ mu2 / 15]
    neg_W = [m0.T @ h1 / 6, h1.T @ p2 / 6]
    pos_b = [X.mean(0), mu1.mean(0), mu2.mean(0)]
    neg_b = [m0.mean(0), h1.mean(0), p2.mean(0)]
    for k in range(2):  # zero velocities before: one step of lr * gradient
        assert_allclose(d.coefs_[k], W[k] + 0.05 * (pos_W[k] - neg_W[k] - 1e-3 * W[k]),
                        rtol=1e-10, atol=1e-12)
    for k in range(3):
        assert_allclose(d.intercepts_[k], b[k] + 0.05 * (pos_b[k] - neg_b[k]),
                        rtol=1e-10, atol=1e-12)
    # the visible biases started at the data means (GaussianBernoulliRBM's start)
    assert_allclose(b[0], X.mean(0), rtol=1e-12)


def test_pretraining_bottom_rbm_is_gaussian_bernoulli():
    X = np.random.RandomState(0).normal(size=(10, 3))
    d = DBM((4, 2), visible_units="gaussian", n_iter=0, n_iter_pretrain=1, batch_size=100,
            learning_rate_pretrain=0.1, momentum=0.0, weight_decay=0.0, n_chains=4,
            random_state=0)
    # the bottom RBM's first CD-1 step, from the weights the fit starts with
    rng = np.random.RandomState(0)
    W0 = rng.normal(0.0, 0.01, (3, 4))
    rng.normal(0.0, 0.01, (4, 2))
    seed = int(rng.randint(0, 2**62))
    bv, bh = X.mean(0), np.zeros(4)
    h0, hs = _numpy_sweep_bernoulli(2 * X @ W0, bh, kd.key(seed, 0))  # up input doubled
    m1 = hs @ W0.T + bv
    key = kd.key(seed, 1)
    v1 = m1 + np.array([[normal_number(key, r * 3 + i) for i in range(3)] for r in range(10)])
    h1 = expit(2 * v1 @ W0 + bh)
    W_ref = W0 + 0.1 * (X.T @ h0 - v1.T @ h1) / 10
    d.fit(X)
    # composed: the bottom RBM's weights are W_0 (K = 2: no halving), its visible biases b_0
    assert_allclose(d.coefs_[0], W_ref, rtol=1e-10, atol=1e-14)
    assert_allclose(d.intercepts_[0], bv + 0.1 * (X.mean(0) - v1.mean(0)), rtol=1e-10)
    assert_allclose(d.history_[0]["pretraining_error"], np.mean((X - m1) ** 2), rtol=1e-10)


# ------------------------------------------------------------------ user workflows
def _real_data(n=200, seed=0):
    """Two clusters of 6 real-valued features on a scale far from standardised."""
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n)
    centres = np.array([[1, -1, 1, -1, 0.5, 0.5], [-1, 1, -1, 1, -0.5, -0.5]])
    X = 50.0 + 20.0 * (centres[y] + 0.6 * rng.normal(size=(n, 6)))
    return X, y


_KW = dict(hidden_layer_sizes=(8, 4), visible_units="gaussian", n_iter=3, n_iter_pretrain=2,
           batch_size=20, n_chains=20, ais_n_runs=20, ais_n_betas=200, random_state=0)


def test_pipeline_grid_search_and_no_range_warning():
    X, _ = _real_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # standardised data: no warning at all
        pipe = make_pipeline(StandardScaler(), DBM(**_KW)).fit(X)
        Z = pipe.transform(X)
        assert Z.shape == (200, 4) and np.all((Z >= 0) & (Z <= 1))
        score = pipe.score(X)
        assert np.isfinite(score)
        assert pipe[-1].log_partition().method == "exact"  # 8 odd units
        grid = GridSearchCV(make_pipeline(StandardScaler(), DBM(**_KW)),
                            {"dbm__n_iter": [0, 3]}, cv=2).fit(X)
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    clone(grid.best_estimator_)
    assert pipe[-1].history_[-1]["stage"] == "joint"
    V = pipe[-1].sample(5, n_gibbs=10, random_state=0)
    assert V.shape == (5, 6) and np.all(np.isfinite(V))


def test_unscaled_data_raises_and_uncentred_data_warns():
    X, _ = _real_data()
    d = DBM(**_KW)
    with pytest.raises(ValueError, match="feature .* standard deviation .*StandardScaler"):
        d.fit(X)
    assert not hasattr(d, "coefs_")
    Xs = StandardScaler().fit_transform(X)
    with pytest.warns(UserWarning, match="not centred"):
        DBM(**_KW).fit(Xs + 100.0)
    # fitted: partial_fit on unscaled rows raises too and leaves the DBM as it was
    d.fit(Xs)
    before = pickle.dumps(d)
    with pytest.raises(ValueError, match="standard deviation"):
        d.partial_fit(X)
    assert pickle.dumps(d) == before
    # the Bernoulli DBM still warns for real-valued rows
    with pytest.warns(UserWarning, match="DBM\\(visible_units='gaussian'\\)"):
        DBM((3, 2), n_iter=1, n_iter_pretrain=0, random_state=0).fit(Xs)


def test_pickle_then_partial_fit_continues_and_units_are_checked():
    X = StandardScaler().fit_transform(_real_data()[0])
    a = DBM(**_KW).fit(X)
    b = pickle.loads(pickle.dumps(a))
    a.partial_fit(X)
    b.partial_fit(X)
    for x, y in zip(a.coefs_ + a.fantasy_particles_, b.coefs_ + b.fantasy_particles_):
        assert_array_equal(x, y)
    assert a.n_iter_ == 4
    # the chains' visible units are real-valued (not thresholded to 0/1)
    assert not np.all(np.isin(a.fantasy_particles_[0], (0.0, 1.0)))
    b.set_params(visible_units="bernoulli", warm_start=True)
    with pytest.raises(ValueError, match="visible_units"):
        b.fit(X)


def test_centered_gaussian_dbm_trains_without_pretraining():
    X = StandardScaler().fit_transform(_real_data()[0])
    kw = {**_KW, "n_iter_pretrain": 0, "n_iter": 10, "learning_rate": 0.05}
    before = DBM(**{**kw, "n_iter": 0}).fit(X).score(X)
    d = DBM(**kw, centered=True).fit(X)
    # the visible offsets are the data means (the same in the Gaussian energy: its
    # linear term in v is b_0 . v, as the Bernoulli energy's)
    assert_allclose(d.offsets_[0], X.mean(0), atol=1e-12)
    assert all(np.isfinite(w).all() for w in d.coefs_ + d.intercepts_)
    # the bound in nats per row (exact log Z): from independent N(0, 1) features'
    # -8.51 to -7.59 (the two clusters found)
    assert d.score(X) > before + 0.5


@parametrize_with_checks([DBM(visible_units="gaussian", n_iter=2, n_iter_pretrain=2,
                              ais_n_betas=200, ais_n_runs=20, n_jobs=1, random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    # as test_dbm's checks; some checks fit data centred at 100, which the
    # Gaussian DBM fits with the warning GaussianBernoulliRBM gives
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="DBM\\(visible_units='gaussian'\\) expects")
        check(estimator)


def test_streamed_blocks_match_in_memory_and_are_checked(tmp_path):
    X = StandardScaler().fit_transform(_real_data()[0])
    path = tmp_path / "x.dat"
    m = np.memmap(path, dtype=np.float64, mode="w+", shape=X.shape)
    m[:] = X
    m.flush()
    r = np.memmap(path, dtype=np.float64, mode="r", shape=X.shape)
    whole = DBM(block_size=200, **_KW).fit(X)  # one block: the in-memory fit
    streamed = DBM(block_size=200, **_KW).fit(r)
    for a, c in zip(whole.coefs_ + whole.fantasy_particles_,
                    streamed.coefs_ + streamed.fantasy_particles_):
        assert_array_equal(a, c)
    blocks = [X[:70] * 30.0, X[70:] * 30.0]  # unscaled, in a list of blocks
    with pytest.raises(ValueError, match="standard deviation"):
        DBM(**_KW).fit(blocks)


def test_dbm_pickled_before_visible_units_is_bernoulli():
    X = (np.random.RandomState(0).rand(60, 8) < 0.3).astype(float)
    d = DBM((4, 3), n_iter=1, n_iter_pretrain=1, n_chains=10, random_state=0).fit(X)
    old = pickle.loads(pickle.dumps(d))
    del old.visible_units, old._visible_units  # as an earlier release pickled it
    old = pickle.loads(pickle.dumps(old))
    assert old.get_params()["visible_units"] == "bernoulli" and not old._gaussian()
    d.partial_fit(X)
    old.partial_fit(X)
    for a, c in zip(d.coefs_ + d.fantasy_particles_, old.coefs_ + old.fantasy_particles_):
        assert_array_equal(a, c)


def test_float32_gaussian_dbm():
    X = StandardScaler().fit_transform(_real_data()[0])
    d64 = DBM(**_KW).fit(X)
    d32 = DBM(**_KW).fit(X.astype(np.float32))
    assert all(w.dtype == np.float32 for w in d32.coefs_ + d32.intercepts_
               + d32.fantasy_particles_)
    assert d32.transform(X.astype(np.float32)).dtype == np.float32
    assert d32.sample(3, n_gibbs=5, random_state=0).dtype == np.float32
    for x, y in zip(d32.coefs_, d64.coefs_):  # the same draws, float32 rounding apart
        assert_allclose(x, y, atol=2e-3)
    assert_allclose(d32.score(X), d64.score(X), atol=0.05)


def test_classifier_on_a_gaussian_dbm():
    from rbmlib.mlp import forward

    X, y = _real_data(300)
    Xs = StandardScaler().fit_transform(X)
    dbm = DBM(**{**_KW, "n_mean_field": 500, "mean_field_tol": 1e-12}).fit(Xs[:200])
    clf = DBMClassifier(dbm=dbm, random_state=0)
    coefs, intercepts = clf.initial_network(dbm, 1, np.random.RandomState(0))
    clf.dbm_ = dbm
    A = clf._augment(Xs)
    mu, _ = kd.mean_field(Xs, dbm.coefs_, dbm.intercepts_, 500, 1e-12)
    assert_allclose(forward(A, coefs, intercepts, "logistic", layer=0), mu[1], atol=1e-6)
    assert_allclose(forward(A, coefs, intercepts, "logistic", layer=1), mu[2], atol=1e-6)
    pipe = make_pipeline(StandardScaler(), DBMClassifier(
        hidden_layer_sizes=(8, 4), dbm_params={k: v for k, v in _KW.items()
                                               if k != "hidden_layer_sizes"},
        max_iter=30, learning_rate_init=0.01, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of a short fine-tuning
        pipe.fit(X[:200], y[:200])
    assert pipe[-1].dbm_._gaussian()
    assert pipe.score(X[200:], y[200:]) > 0.9
