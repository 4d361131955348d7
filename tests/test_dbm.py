"""Deep Boltzmann Machines (rbmlib.DBM) against brute-force enumeration, and as users use them.

The references enumerate every joint state of a tiny DBM (6-4-3 units: 2**13
states) with the energy written out directly, independently of the kernels'
odd/even sums.
"""

import os
import pickle
import signal
import sys
import threading
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit, logsumexp
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from rbmlib import DBM, DBMClassifier
from rbmlib._kernels import dbm as kd
from rbmlib.deep import dbm as dbm_module

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _workflow import bars_labelled  # noqa: E402

SIZES = (6, 4, 3)


def _tiny(seed=0, scale=1.0, zero_top=False):
    rng = np.random.RandomState(seed)
    W = [rng.normal(0, scale, (SIZES[k], SIZES[k + 1])) for k in range(2)]
    if zero_top:
        W[1][:] = 0.0
    b = [rng.normal(0, 0.5, s) for s in SIZES]
    return W, b


def _joint(W, b):
    """Every joint state (v, h1, h2) and its -energy, written out directly."""
    n = sum(SIZES)
    idx = np.arange(2 ** n)
    S = ((idx[:, None] >> np.arange(n)) & 1).astype(float)
    v, h1, h2 = S[:, :6], S[:, 6:10], S[:, 10:]
    neg_e = (v @ b[0] + h1 @ b[1] + h2 @ b[2] + np.einsum("ni,ij,nj->n", v, W[0], h1)
             + np.einsum("ni,ij,nj->n", h1, W[1], h2))
    return v, h1, h2, neg_e


def _exact_posterior(W, b, x, joint=None):
    """p(h1, h2 | v = x): the states of (h1, h2) and their probabilities."""
    v, h1, h2, neg_e = _joint(W, b) if joint is None else joint
    rows = np.all(v == x, axis=1)
    lp = neg_e[rows] - logsumexp(neg_e[rows])
    return h1[rows], h2[rows], np.exp(lp)


def _mean_field_error(W, b):
    """Largest |mean-field marginal - exact posterior marginal| over all 64 v."""
    mu, _ = kd.mean_field(VIS, W, b, 500, 1e-13)
    joint = _joint(W, b)
    err = 0.0
    for i in range(64):
        h1, h2, p = _exact_posterior(W, b, VIS[i], joint)
        err = max(err, np.max(np.abs(mu[1][i] - p @ h1)), np.max(np.abs(mu[2][i] - p @ h2)))
    return err


def _exact_log_p(W, b, X):
    v, _, _, neg_e = _joint(W, b)
    log_z = logsumexp(neg_e)
    code = (v * (1 << np.arange(6))).sum(1).astype(int)
    marg = np.full(64, -np.inf)
    for c in range(64):
        marg[c] = logsumexp(neg_e[code == c])
    xc = (X * (1 << np.arange(6))).sum(1).astype(int)
    return marg[xc] - log_z, log_z


def _fitted(W, b, **kw):
    """A DBM with the given parameters, as if fitted."""
    d = DBM(hidden_layer_sizes=SIZES[1:], **kw)
    d.coefs_, d.intercepts_ = [w.copy() for w in W], [x.copy() for x in b]
    d.n_features_in_ = SIZES[0]
    d._seed = 12345
    d._log_z_memo = {}
    return d


VIS = ((np.arange(64)[:, None] >> np.arange(6)) & 1).astype(float)


# ------------------------------------------------------------------ exact checks
def test_exact_log_z_matches_brute_force():
    for seed in range(3):
        W, b = _tiny(seed, scale=1.5)
        assert_allclose(kd.exact_log_z(W, b), logsumexp(_joint(W, b)[3]), rtol=0, atol=1e-10)
        d = _fitted(W, b)
        est = d.log_partition(method="exact")
        assert est.method == "exact" and est.log_z_std == 0.0
        assert_allclose(est.log_z, logsumexp(_joint(W, b)[3]), atol=1e-10)


def test_fused_kernels_match_numpy():
    rng = np.random.RandomState(0)
    pre, old, bias = rng.normal(size=(7, 5)), rng.rand(7, 5), rng.normal(size=5)
    for damping in (0.0, 0.3):
        want = (1 - damping) * expit(pre + bias) + damping * old
        got = pre.copy()
        delta = kd.sigmoid_change(got, bias, old, damping)
        assert_allclose(got, want, rtol=1e-14, atol=1e-15)
        assert_allclose(delta, np.max(np.abs(want - old)), rtol=1e-14)
    W, v, a, c = (rng.normal(size=(4, 3)) for _ in range(4))
    v_ref = 0.5 * v + 0.1 * (a - c - 0.01 * W)
    W_ref = W + v_ref
    kd.momentum_step(W, v, a, c, 0.1, 0.5, 0.01)
    assert_allclose(v, v_ref, rtol=1e-14)
    assert_allclose(W, W_ref, rtol=1e-14)


def test_centered_step_is_the_centered_update_in_the_ordinary_parameters():
    # Melchior et al. (2016): gradient of the centered energy, computed here
    # directly from the centered states, then converted to ordinary biases
    rng = np.random.RandomState(1)
    W, b = _tiny(7, scale=0.7)
    m = [rng.rand(s) for s in SIZES]
    data = [rng.rand(9, s) for s in SIZES]  # mean-field rows
    model = [(rng.rand(11, s) < 0.5).astype(float) for s in SIZES]
    lr, wd, nu = 0.1, 0.01, 0.2
    c = [b[k] + (m[k - 1] @ W[k - 1] if k else 0) + (W[k] @ m[k + 1] if k < 2 else 0)
         for k in range(3)]
    W_new = [W[k] + lr * (((data[k] - m[k]).T @ (data[k + 1] - m[k + 1])) / 9
                          - ((model[k] - m[k]).T @ (model[k + 1] - m[k + 1])) / 11
                          - wd * W[k]) for k in range(2)]
    c_new = [c[k] + lr * (data[k].mean(0) - model[k].mean(0)) for k in range(3)]
    b_new = [c_new[k] - (m[k - 1] @ W_new[k - 1] if k else 0)
             - (W_new[k] @ m[k + 1] if k < 2 else 0) for k in range(3)]
    pos_W, pos_b = kd.data_statistics(data)
    neg_W = [(model[k].T @ model[k + 1]) / 11 for k in range(2)]
    neg_b = [x.mean(0) for x in model]
    Wk, bk, mk = [w.copy() for w in W], [x.copy() for x in b], [x.copy() for x in m]
    vW, vb = [np.zeros_like(w) for w in W], [np.zeros_like(x) for x in b]
    kd.centered_step(Wk, bk, vW, vb, mk, pos_W, pos_b, neg_W, neg_b, lr, 0.0, wd, nu)
    for k in range(2):
        assert_allclose(Wk[k], W_new[k], rtol=1e-12)
    for k in range(3):
        assert_allclose(bk[k], b_new[k], rtol=1e-12)
    assert_array_equal(mk[0], m[0])  # the visible offsets stay the data means
    for k in (1, 2):
        assert_allclose(mk[k], (1 - nu) * m[k] + nu * data[k].mean(0))


def test_mean_field_exact_when_posterior_factorises():
    # zero top weights: p(h1, h2 | v) = prod sigmoid(b1 + v W0) x prod sigmoid(b2)
    W, b = _tiny(1, scale=1.5, zero_top=True)
    mu, _ = kd.mean_field(VIS, W, b, 50, 0.0)
    joint = _joint(W, b)
    for i in (0, 5, 37, 63):
        h1, h2, p = _exact_posterior(W, b, VIS[i], joint)
        assert_allclose(mu[1][i], p @ h1, atol=1e-12)
        assert_allclose(mu[2][i], p @ h2, atol=1e-12)


def test_mean_field_fixed_point_close_to_exact_marginals():
    W, b = _tiny(2, scale=0.5)
    mu, n_done = kd.mean_field(VIS, W, b, 200, 1e-12)
    assert n_done < 200
    # a fixed point of the mean-field equations ...
    assert_allclose(mu[1], expit(b[1] + VIS @ W[0] + mu[2] @ W[1].T), atol=1e-10)
    assert_allclose(mu[2], expit(b[2] + mu[1] @ W[1]), atol=1e-10)
    # ... whose marginals approximate the exact posterior's: given v, h1 and h2
    # interact only through W1, and the mean-field error is second order in
    # W1 (halving W1 divides it by about 4), zero without it
    err = _mean_field_error(W, b)
    half = _mean_field_error([W[0], W[1] / 2], b)
    assert 0 < err < 0.05
    assert 3.0 < err / half < 5.0
    assert _mean_field_error([W[0], W[1] * 0], b) < 1e-12


def test_variational_bound_is_log_p_minus_kl():
    W, b = _tiny(3, scale=1.0)
    d = _fitted(W, b, n_mean_field=100, mean_field_tol=1e-12)
    bound = d.score_samples(VIS)  # exact log Z (13 units < 20)
    log_p, _ = _exact_log_p(W, b, VIS)
    assert np.all(bound <= log_p + 1e-10)
    mu, _ = kd.mean_field(VIS, W, b, 100, 1e-12)
    joint = _joint(W, b)
    for i in (0, 17, 42, 63):
        h1, h2, p = _exact_posterior(W, b, VIS[i], joint)
        q = (np.prod(np.where(h1 == 1, mu[1][i], 1 - mu[1][i]), axis=1)
             * np.prod(np.where(h2 == 1, mu[2][i], 1 - mu[2][i]), axis=1))
        kl = np.sum(q * (np.log(q) - np.log(p)))
        assert_allclose(bound[i], log_p[i] - kl, atol=1e-9)
    # score is the mean bound
    assert_allclose(d.score(VIS), bound.mean())


def test_chain_statistics_match_exact_model_expectations():
    W, b = _tiny(4, scale=0.8)
    v, h1, h2, neg_e = _joint(W, b)
    p = np.exp(neg_e - logsumexp(neg_e))
    exact_W = [v.T @ (p[:, None] * h1), h1.T @ (p[:, None] * h2)]
    exact_b = [p @ v, p @ h1, p @ h2]
    rng = np.random.RandomState(0)
    n = 4000
    h = [(rng.rand(n, s) < 0.5).astype(float) for s in SIZES]
    kd.gibbs_sweeps(h, W, b, 7, 0, 30)  # burn-in
    stream = 1000
    acc_W = [np.zeros_like(w) for w in W]
    acc_b = [np.zeros(s) for s in SIZES]
    n_sweeps = 40
    for _ in range(n_sweeps):
        pp, used = kd.gibbs_sweeps(h, W, b, 7, stream, 1)
        stream += used
        dW, db = kd.chain_statistics(h, pp, W)
        for k in range(2):
            acc_W[k] += dW[k] / n_sweeps
        for k in range(3):
            acc_b[k] += db[k] / n_sweeps
    for k in range(2):
        assert_allclose(acc_W[k], exact_W[k], atol=0.015)
    for k in range(3):
        assert_allclose(acc_b[k], exact_b[k], atol=0.015)
    # the stochastic gradient (mean-field data statistics minus the chains')
    # against the exact gradient of the same objective
    mu, _ = kd.mean_field(VIS[:20], W, b, 50, 1e-12)
    pos_W, _ = kd.data_statistics(mu)
    for k in range(2):
        assert_allclose(pos_W[k] - acc_W[k], pos_W[k] - exact_W[k], atol=0.015)


def test_ais_log_z_within_its_error():
    W, b = _tiny(5, scale=1.2)
    exact = logsumexp(_joint(W, b)[3])
    d = _fitted(W, b)
    est = d.log_partition(method="ais", n_runs=200, n_betas=2000)
    assert est.method == "ais" and est.n_runs == 200 and est.n_betas == 2000
    assert 0 < est.log_z_std < 0.05 and 1 <= est.ess <= 200
    assert abs(est.log_z - exact) <= 4 * est.log_z_std + 1e-3
    assert est.log_z_lower <= exact + 1e-3 and exact <= est.log_z_upper + 1e-3
    # the default (auto) is exact for a DBM this small; the same seed repeats
    assert d.log_partition().method == "exact"
    again = d.log_partition(method="ais", n_runs=200, n_betas=2000)
    assert again.log_z == est.log_z


def test_samples_follow_the_model():
    W, b = _tiny(6, scale=0.8)
    v, _, _, neg_e = _joint(W, b)
    marg = np.exp(neg_e - logsumexp(neg_e)) @ v
    d = _fitted(W, b)
    V = d.sample(3000, n_gibbs=30, random_state=0)
    assert V.shape == (3000, 6) and np.all((V >= 0) & (V <= 1))
    assert_allclose(V.mean(0), marg, atol=0.03)
    assert_array_equal(V, d.sample(3000, n_gibbs=30, random_state=0))
    with pytest.raises(ValueError, match="n_gibbs"):
        d.sample(2, n_gibbs=0)


def test_exact_too_large_raises():
    d = DBM((30, 30), n_iter=0, n_iter_pretrain=0, random_state=0).fit(np.eye(25))
    with pytest.raises(ValueError, match="at most 2\\*\\*20"):
        d.log_partition(method="exact")
    with pytest.raises(ValueError, match="method"):
        d.log_partition(method="bogus")


# ------------------------------------------------------------------ training
def _bars(n=300, seed=0):
    """4x4 bars: each row one horizontal or vertical bar pattern with noise."""
    rng = np.random.RandomState(seed)
    X = np.zeros((n, 16))
    for i in range(n):
        img = np.zeros((4, 4))
        if rng.rand() < 0.5:
            img[rng.rand(4) < 0.5, :] = 1
        else:
            img[:, rng.rand(4) < 0.5] = 1
        X[i] = img.ravel()
    return X


def test_pretraining_composes_modified_rbms():
    X = _bars()
    d = DBM((8, 6), n_iter=0, n_iter_pretrain=3, random_state=0).fit(X)
    assert d.n_iter_pretrain_ == 6 and d.n_iter_ == 0
    assert [h["stage"] for h in d.history_] == ["pretraining layer 1"] * 3 + [
        "pretraining layer 2"] * 3
    assert [w.shape for w in d.coefs_] == [(16, 8), (8, 6)]
    assert [x.shape for x in d.intercepts_] == [(16,), (8,), (6,)]
    assert [c.shape for c in d.fantasy_particles_] == [(100, 16), (100, 8), (100, 6)]
    # three layers: the middle RBM's weights are halved (against a fit without halving)
    d3 = DBM((8, 6, 4), n_iter=0, n_iter_pretrain=2, random_state=0).fit(X)
    assert len(d3.coefs_) == 3 and d3.n_iter_pretrain_ == 6


def test_joint_training_improves_the_bound():
    X = _bars(400)
    kw = dict(hidden_layer_sizes=(10, 6), n_iter_pretrain=5, batch_size=20,
              learning_rate=0.05, random_state=0, ais_n_betas=500, ais_n_runs=50)
    before = DBM(n_iter=0, **kw).fit(X)
    after = DBM(n_iter=15, **kw).fit(X)
    # 16 visible + 6 top units: the even parity has 22 units, the odd 10 -> exact log Z
    assert after.log_partition().method == "exact"
    assert after.score(X) > before.score(X)
    rec = after.history_[-1]
    assert rec["stage"] == "joint" and 1 <= rec["mean_field_iterations"] <= 10


def test_centering_trains_without_pretraining():
    # Melchior, Fischer and Wiskott (2016): the centered gradient trains a DBM
    # from random weights faster; held-out bound with exact log Z (odd layer: 16
    # units). Measured: -22.40 plain, -21.47 centered (seed 1: -21.93, -21.47)
    from sklearn.datasets import load_digits

    X = (load_digits().data >= 8).astype(float)
    X_tr, X_te = X[:1200], X[1200:]
    kw = dict(hidden_layer_sizes=(16, 20), n_iter_pretrain=0, n_iter=15, batch_size=20,
              learning_rate=0.03, n_jobs=1, random_state=0)
    plain = DBM(**kw).fit(X_tr)
    centered = DBM(centered=True, **kw).fit(X_tr)
    assert plain.offsets_ is None and [len(m) for m in centered.offsets_] == [64, 16, 20]
    assert centered.log_partition().method == "exact"
    assert centered.score(X_te) > plain.score(X_te) + 0.25


def test_warm_start_and_partial_fit_continue_the_same_run():
    X = _bars(120)
    kw = dict(hidden_layer_sizes=(6, 4), n_iter_pretrain=2, batch_size=30, n_chains=10,
              random_state=0)
    full = DBM(n_iter=3, **kw).fit(X)
    part = DBM(n_iter=2, **kw).fit(X)
    warm = pickle.loads(pickle.dumps(part))
    warm.set_params(warm_start=True, n_iter=1).fit(X)
    part2 = pickle.loads(pickle.dumps(part)).partial_fit(X)
    for m in (warm, part2):
        for a, c in zip(m.coefs_ + m.intercepts_ + m.fantasy_particles_,
                        full.coefs_ + full.intercepts_ + full.fantasy_particles_):
            assert_array_equal(a, c)
        assert m.n_iter_ == 3
    # the chains moved in the continued epoch
    assert any(np.any(a != c) for a, c in zip(part.fantasy_particles_,
                                               part2.fantasy_particles_))
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        warm.set_params(hidden_layer_sizes=(5, 4)).fit(X)


def test_partial_fit_from_scratch_and_feature_check():
    X = _bars(60)
    d = DBM((5, 3), n_chains=7, random_state=0).partial_fit(X)
    assert d.n_iter_ == 1 and d.n_iter_pretrain_ == 0
    assert d.fantasy_particles_[2].shape == (7, 3)
    before = pickle.dumps(d)
    with pytest.raises(ValueError, match="features"):
        d.partial_fit(X[:, :10])
    assert pickle.dumps(d) == before


def test_bad_parameters_and_failed_fit_leave_it_unchanged():
    X = _bars(60)
    with pytest.raises(ValueError, match="at least two"):
        DBM((5,)).fit(X)
    with pytest.raises(ValueError, match="at least two"):
        DBM((5, 0)).fit(X)
    d = DBM((5, 3), n_iter=1, n_iter_pretrain=1, random_state=0).fit(X)
    before = pickle.dumps(d)
    with pytest.raises(ValueError):
        d.fit(np.full_like(X, np.nan))
    assert pickle.dumps(d) == before


def test_keyboard_interrupt_in_epoch_three_keeps_two(monkeypatch):
    X = _bars(60)
    kw = dict(hidden_layer_sizes=(5, 3), n_iter_pretrain=1, batch_size=60, random_state=0)
    calls = {"n": 0}
    real = kd.mean_field

    def interrupting(*a, **k):  # joint epochs call mean_field once per batch (one batch)
        if a[0].shape[0] == 60:
            calls["n"] += 1
            if calls["n"] == 2:  # joint epoch 2 = epoch 4 overall
                raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(kd, "mean_field", interrupting)
    d = DBM(n_iter=5, **kw)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        d.fit(X)
    monkeypatch.setattr(kd, "mean_field", real)
    assert d.interrupted_ and d.n_iter_ == 1 and d.n_iter_pretrain_ == 2
    ref = DBM(n_iter=1, **kw).fit(X)
    for a, c in zip(d.coefs_, ref.coefs_):
        assert_array_equal(a, c)


def test_real_sigint_keeps_completed_epochs():
    rng = np.random.RandomState(0)
    X = (rng.rand(600, 100) < 0.3).astype(float)
    kw = dict(hidden_layer_sizes=(100, 100), n_iter_pretrain=0, batch_size=10, n_jobs=1,
              random_state=0)
    DBM(n_iter=1, **kw).fit(X[:20])  # compile outside the timed part
    est = DBM(n_iter=100000, **kw)
    for delay in (1.0, 2.5):
        timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            try:
                timer.start()
                est.fit(X)
                timer.join()
            except KeyboardInterrupt:
                timer.join()
                continue
        assert est.interrupted_ is True
        assert est.n_iter_ == len(est.history_) >= 1
        assert any("interrupted" in str(w.message) for w in rec)
        ref = DBM(n_iter=est.n_iter_, **kw).fit(X)
        for a, c in zip(est.coefs_, ref.coefs_):
            assert_array_equal(a, c)
        return
    pytest.skip("both SIGINTs came before the first epoch ended")


# ------------------------------------------------------------------ as users use it
def test_transform_options_pipeline_and_grid_search():
    X = _bars(120) * 3.0  # scaled back to [0, 1] by the pipeline
    pipe = Pipeline([("scale", MinMaxScaler()),
                     ("dbm", DBM((6, 4), n_iter=2, n_iter_pretrain=1, random_state=0))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scaled data: no range warning
        Z = pipe.fit_transform(X)
    assert Z.shape == (120, 4) and np.all((Z >= 0) & (Z <= 1))
    assert list(pipe.get_feature_names_out()) == [f"dbm{i}" for i in range(4)]
    pipe.set_params(dbm__transform_layers="all")
    assert pipe.transform(X).shape == (120, 10)
    assert_allclose(pipe.transform(X)[:, 6:], Z)
    grid = GridSearchCV(DBM((6, 4), n_iter_pretrain=1, random_state=0),
                        {"n_iter": [0, 3]}, cv=2).fit(_bars(120))
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    clone(grid.best_estimator_)


def test_range_warning_names_the_remedy():
    with pytest.warns(UserWarning, match="MinMaxScaler") as rec:
        DBM((3, 2), n_iter=1, n_iter_pretrain=0, random_state=0).fit(_bars(20) * 2)
    # standardised (real-valued) data: the message names the Gaussian visible units,
    # which take such data without the warning
    msg = str(rec[0].message)
    assert "visible_units='bernoulli'" in msg and "DBM(visible_units='gaussian')" in msg
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DBM((3, 2), visible_units="gaussian", n_iter=1, n_iter_pretrain=0,
            random_state=0).fit(_bars(20) * 2 - 1)


def test_plot_history():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from rbmlib.plotting import plot_history

    d = DBM((5, 3), n_iter=2, n_iter_pretrain=2, random_state=0).fit(_bars(40))
    fig = plot_history(d)
    assert len(fig.axes) >= 3  # pretraining error, reconstruction error, mean field, ...
    import matplotlib.pyplot as plt

    plt.close(fig)
    from rbmlib.plotting import plot_filters

    fig = plot_filters(d)  # the first layer's weights, one 4x4 tile per hidden unit
    assert fig.axes
    plt.close(fig)
    # receptive fields: a DBM has no output layer, so layer -1 is its top layer
    # (it was layer 1: the top weights were dropped as if an output layer)
    from rbmlib.plotting import _layer_products, plot_receptive_fields

    prods = _layer_products(d)
    assert len(prods) == 2
    assert_allclose(prods[1], d.coefs_[1].T @ d.coefs_[0].T)
    fig = plot_receptive_fields(d)
    assert fig.axes[0].get_title() == "DBM layer 2: receptive fields of 3 units"
    plt.close(fig)


def test_verbose_lines(capsys):
    DBM((5, 3), n_iter=1, n_iter_pretrain=1, random_state=0, verbose=1).fit(_bars(40))
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("[DBM] [pretraining layer 1] Iteration 1")
    assert out[-1].startswith("[DBM] [joint] Iteration 3") and "mean_field_iterations" in out[-1]


def test_sparse_input_matches_dense():
    import scipy.sparse as sp

    X = _bars(60)
    kw = dict(hidden_layer_sizes=(5, 3), n_iter=2, n_iter_pretrain=1, random_state=0)
    a = DBM(**kw).fit(X)
    s = DBM(**kw).fit(sp.csr_matrix(X))
    # equal up to the rounding of the column means (summed in another order)
    for x, y in zip(a.coefs_, s.coefs_):
        assert_allclose(x, y, rtol=1e-9, atol=1e-12)
    assert_allclose(a.transform(X), s.transform(sp.csr_matrix(X)), rtol=1e-9)


@parametrize_with_checks([DBM(n_iter=2, n_iter_pretrain=2, ais_n_betas=200, ais_n_runs=20,
                              n_jobs=1, random_state=0)])
def test_sklearn_estimator_checks(estimator, check):
    # default-constructed except the epochs, the size of the AIS behind
    # score_samples (14,501 temperatures by default) and one thread (the
    # checks' products are tiny: threaded BLAS only adds synchronisation)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="DBM: X has values")
        check(estimator)


# ------------------------------------------------------------------ fine-tuning


_CLF_DBM = {"n_iter": 3, "n_iter_pretrain": 3, "n_chains": 20}


def test_classifier_first_forward_pass_is_the_mean_field_up_pass():
    from rbmlib.mlp import forward

    X, y = bars_labelled(100)
    dbm = DBM((8, 5), n_mean_field=500, mean_field_tol=1e-12, random_state=0,
              **_CLF_DBM).fit(X)
    clf = DBMClassifier(dbm=dbm, random_state=0)
    coefs, intercepts = clf.initial_network(dbm, 1, np.random.RandomState(0))
    assert coefs[0].shape == (16 + 5, 8)
    clf.dbm_ = dbm
    A = clf._augment(X)
    mu, _ = kd.mean_field(X, dbm.coefs_, dbm.intercepts_, 500, 1e-12)
    assert_allclose(forward(A, coefs, intercepts, "logistic", layer=0), mu[1], atol=1e-6)
    assert_allclose(forward(A, coefs, intercepts, "logistic", layer=1), mu[2], atol=1e-6)


def test_classifier_learns_and_reuses_a_fitted_dbm():
    X, y = bars_labelled(300)
    labels = np.array(["vertical", "horizontal"])[y]
    dbm = DBM((10, 6), n_iter=10, n_iter_pretrain=10, batch_size=20, learning_rate=0.02,
              learning_rate_pretrain=0.1, n_chains=20, random_state=0).fit(X[:200])
    before = pickle.dumps(dbm)
    # horizontal against vertical bars: no linear rule separates them
    clf = DBMClassifier(dbm=dbm, learning_rate_init=0.01, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of a short fine-tuning
        clf.fit(X[:200], labels[:200])
    assert clf.dbm_ is dbm and pickle.dumps(dbm) == before  # used as it is
    assert set(clf.classes_) == {"vertical", "horizontal"}
    assert clf.score(X[200:], labels[200:]) > 0.9
    P = clf.predict_proba(X[200:])
    assert_allclose(P.sum(1), 1.0)
    assert clf.hidden_activations(X[:3], layer=0).shape == (3, 10)
    again = pickle.loads(pickle.dumps(clf))
    assert_array_equal(again.predict_proba(X[200:]), P)
    with pytest.raises(ValueError, match="features"):
        DBMClassifier(dbm=dbm).fit(X[:, :8], y)


def test_classifier_in_grid_search_fits_its_own_dbm():
    X, y = bars_labelled(120)
    grid = GridSearchCV(DBMClassifier((6, 4), dbm_params=_CLF_DBM, max_iter=20,
                                      random_state=0),
                        {"learning_rate_init": [0.001, 0.01]}, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grid.fit(X, y)
    assert grid.best_estimator_.dbm_.n_iter_ == 3
    assert grid.best_score_ > 0.5


_SW_REASON = (
    "mini-batch back-propagation: a weight of 2 is not a repeated row (the mini-batches "
    "differ), and the DBM fitted inside ignores sample_weight (as DBNClassifier's DBN)")


@parametrize_with_checks(
    [DBMClassifier((32, 16), learning_rate_init=0.01, n_jobs=1, random_state=0,
                   dbm_params={"n_iter": 1, "n_iter_pretrain": 1})],
    expected_failed_checks=lambda est: {
        "check_sample_weight_equivalence_on_dense_data": _SW_REASON,
        "check_sample_weight_equivalence_on_sparse_data": _SW_REASON})
def test_classifier_sklearn_estimator_checks(estimator, check):
    # small layers (the default 256-256 network fine-tunes ~5 s per fit here)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="DBM: X has values")
        check(estimator)


# ------------------------------------------------------------------ review fixes (R1)
def test_default_n_jobs_is_one_thread(monkeypatch):
    """Threaded BLAS on the DBM's small products was 20x slower on a busy machine
    (load_digits, defaults: 191 s at two threads, 9.3 s at one): the default is 1."""
    seen = []
    real = dbm_module.thread_limits

    def spy(n_jobs):
        seen.append(n_jobs)
        return real(n_jobs)

    monkeypatch.setattr(dbm_module, "thread_limits", spy)
    assert DBM().n_jobs == 1 and DBMClassifier().n_jobs == 1
    DBM((3, 2), n_iter=1, n_iter_pretrain=1, random_state=0).fit(_bars(20)).transform(
        _bars(5))
    assert seen and set(seen) == {1}
    clf = DBMClassifier((3, 2), max_iter=2, random_state=0,
                        dbm_params={"n_iter": 1, "n_iter_pretrain": 1})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=2 does not converge
        clf.fit(*bars_labelled(40))
    assert clf.dbm_.n_jobs == 1


def test_ais_estimate_carries_the_diagnostics_and_warns_when_few_runs_count():
    """DBM.log_partition reports the largest weight's share beside the ESS and warns,
    as rbmlib.likelihood.ais does, when a few runs carry the estimate."""
    W, b = _tiny(5, scale=1.2)
    d = _fitted(W, b)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = d.log_partition(method="ais", n_runs=50, n_betas=2000)
    assert 1 / 50 <= est.max_weight_share < 0.2
    w = np.exp(est.log_weights - est.log_weights.max())
    assert_allclose(est.max_weight_share, w.max() / w.sum())
    assert_allclose(est.ess, w.sum() ** 2 / (w * w).sum())
    big = _fitted(*_tiny(5, scale=8.0))
    with pytest.warns(RuntimeWarning, match="effective sample size"):
        poor = big.log_partition(method="ais", n_runs=50, n_betas=2)
    assert poor.ess < 5 and poor.max_weight_share > 0.2


def test_score_samples_warns_on_values_outside_unit_interval():
    """A likelihood of values that are not probabilities is undefined (it came out
    positive, +21 and +30 nats on digits shifted by -0.5, without a word); a held-out
    fold a little beyond [0, 1] passes silently."""
    d = _fitted(*_tiny(0))
    with pytest.warns(UserWarning, match=r"outside \[0, 1\]") as rec:
        d.score_samples(VIS[:3] - 0.5)
    assert rec[0].filename == __file__
    with pytest.warns(UserWarning, match="no log-likelihoods"):
        d.score(VIS[:3] * 2)
    X = VIS.copy()
    X[0, 0] = 1.02  # 1 value in 384
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(d.score_samples(X) < 0)


def test_range_warning_points_at_the_callers_line():
    for method in ("fit", "partial_fit"):
        with pytest.warns(UserWarning, match="MinMaxScaler") as rec:
            getattr(DBM((3, 2), n_iter=1, n_iter_pretrain=0, random_state=0),
                    method)(_bars(20) * 2)
        assert rec[0].filename == __file__, (method, rec[0].filename)
    # and from the DBM fitted inside a DBMClassifier (it named _dbm_classifier.py)
    X, y = bars_labelled(40)
    clf = DBMClassifier((3, 2), max_iter=2, random_state=0,
                        dbm_params={"n_iter": 1, "n_iter_pretrain": 1})
    with pytest.warns(UserWarning, match="MinMaxScaler") as rec:
        clf.fit(X * 2, y)
    assert [w.filename for w in rec if w.category is UserWarning] == [__file__]


def test_log_partition_grows_the_schedule_to_a_target_ess():
    """target_ess as in rbmlib.likelihood.ais: twice the temperatures until reached
    (6-4-3 DBM, 3 temperatures: ESS < 30 of 50; 65 after 5 doublings, ESS 37),
    the estimate then within its error of the exact log Z; not reached: a warning."""
    W, b = _tiny(5, scale=1.2)
    exact = logsumexp(_joint(W, b)[3])
    d = _fitted(W, b)
    first = d.log_partition(method="ais", n_runs=50, n_betas=3)
    assert first.ess < 30 and first.target_reached is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = d.log_partition(method="ais", n_runs=50, n_betas=3, target_ess=30,
                              max_doublings=8)
    assert est.target_reached and est.ess >= 30 and est.target_ess == 30
    assert est.n_betas == 2 ** est.n_doublings * 2 + 1 and est.n_doublings >= 1
    assert abs(est.log_z - exact) <= 4 * est.log_z_std
    with pytest.warns(RuntimeWarning, match="did not reach target_ess=30"):
        poor = d.log_partition(method="ais", n_runs=50, n_betas=3, target_ess=30,
                               max_doublings=1)
    assert poor.target_reached is False and poor.n_doublings == 1 and poor.n_betas == 5
    with pytest.raises(ValueError, match="target_ess"):
        d.log_partition(method="ais", n_runs=50, target_ess=51)


def test_docstring_examples_run_without_warnings():
    """The Examples sections are documented ordinary use: no warning may fire (the
    DBMClassifier example stopped at max_iter=5 with a ConvergenceWarning)."""
    import doctest

    from rbmlib.deep import _dbm_classifier

    for obj, module in ((DBM, dbm_module), (DBMClassifier, _dbm_classifier)):
        tests = [t for t in doctest.DocTestFinder().find(obj, obj.__name__, module=module)
                 if t.examples]
        assert tests, obj.__name__
        for test in tests:
            runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                runner.run(test)
            assert runner.failures == 0, test.name


# ------------------------------------------------------------------ out of core (H3)
def _blocked_fits(X, path, **kw):
    """The same DBM fitted on X in blocks of 50 rows: from the ndarray, a memmap
    of it, a dask array chunked as the blocks."""
    da = pytest.importorskip("dask.array")
    m = np.memmap(path, dtype=np.float64, mode="w+", shape=X.shape)
    m[:] = X
    m.flush()
    r = np.memmap(path, dtype=np.float64, mode="r", shape=X.shape)
    return {"ndarray": DBM(block_size=50, **kw).fit(X),
            "memmap": DBM(block_size=50, **kw).fit(r),
            "dask": DBM(**kw).fit(da.from_array(X, chunks=50))}  # "auto": its chunks


def _params_of(d):
    return d.coefs_ + d.intercepts_ + d.fantasy_particles_


def test_streamed_fit_reads_blocks_and_agrees_across_sources(tmp_path, monkeypatch):
    """memmap and dask input are trained on one block of rows at a time (as the
    DBN's block_size): the models from an ndarray, a memmap and a dask array cut
    into the same blocks are bit-identical; one block of all the rows is the
    in-memory fit; no block read is larger than block_size rows."""
    from rbmlib.deep import _dbm_training

    X = _bars(200)
    kw = dict(hidden_layer_sizes=(6, 4), n_iter=2, n_iter_pretrain=2, batch_size=30,
              n_chains=10, random_state=0)
    seen = []
    real = _dbm_training._dense

    def spy(A, *args):  # every block's mini-batches pass through _dense
        seen.append(A.shape[0])
        return real(A, *args)

    monkeypatch.setattr(_dbm_training, "_dense", spy)
    fits = _blocked_fits(X, tmp_path / "bars.dat", **kw)
    monkeypatch.undo()
    assert max(seen) <= 50 and 20 in seen  # 50-row blocks: batches of 30, then 20
    for name in ("memmap", "dask"):
        for a, c in zip(_params_of(fits["ndarray"]), _params_of(fits[name])):
            assert_array_equal(a, c, err_msg=name)
    assert [h["stage"] for h in fits["dask"].history_] == [
        "pretraining layer 1"] * 2 + ["pretraining layer 2"] * 2 + ["joint"] * 2
    whole = DBM(**kw).fit(X)
    for a, c in zip(_params_of(whole), _params_of(DBM(block_size=200, **kw).fit(X))):
        assert_array_equal(a, c)
    # four blocks are another order of mini-batches, not the in-memory epochs
    assert not np.array_equal(whole.coefs_[0], fits["ndarray"].coefs_[0])
    # a list of blocks (read in its order) trains the same model's shapes
    listed = DBM(**kw).fit([X[i:i + 50] for i in range(0, 200, 50)])
    assert [w.shape for w in listed.coefs_] == [(16, 6), (6, 4)]
    assert listed.n_iter_ == 2 and listed.n_iter_pretrain_ == 4


def test_streamed_partial_fit_transform_and_score_of_dask_input(tmp_path):
    """partial_fit streams a dask X as fit does; transform and score_samples of a
    dask X are lazy dask arrays equal to the in-memory results; score computes
    the mean chunk by chunk with the log Z computed once."""
    da = pytest.importorskip("dask.array")
    X = _bars(200)
    kw = dict(hidden_layer_sizes=(6, 4), n_iter=1, n_iter_pretrain=1, batch_size=30,
              n_chains=10, random_state=0)
    D = da.from_array(X, chunks=50)
    d = DBM(**kw).fit(D).partial_fit(D)
    assert d.n_iter_ == 2
    same = DBM(block_size=50, **kw).fit(X).partial_fit(X)  # the ndarray in 50-row blocks
    for a, c in zip(_params_of(d), _params_of(same)):
        assert_array_equal(a, c)
    whole = DBM(block_size=50, **kw).fit(X).set_params(block_size="auto").partial_fit(X)
    assert not np.array_equal(whole.coefs_[0], d.coefs_[0])  # in memory: other batches
    H = d.transform(D)
    assert isinstance(H, da.Array)
    assert_allclose(H.compute(), d.transform(X), rtol=1e-12)
    S = d.score_samples(D)
    assert isinstance(S, da.Array)
    assert_allclose(S.compute(), d.score_samples(X), rtol=1e-12)
    assert d.score(D) == pytest.approx(d.score(X), rel=1e-12)


def test_streamed_fit_errors_leave_the_dbm_as_it_was():
    X = _bars(120)
    d = DBM((5, 3), n_iter=1, n_iter_pretrain=1, random_state=0).fit(X)
    before = pickle.dumps(d)
    bad = [X[:60], np.full((60, 16), np.nan)]
    with pytest.raises(ValueError, match="NaN"):
        d.fit(bad)
    with pytest.raises(ValueError, match="features"):
        d.fit([X[:60], X[60:, :10]])
    with pytest.raises(TypeError, match="one-shot iterator"):
        d.fit(b for b in (X[:60], X[60:]))
    assert pickle.dumps(d) == before
    with pytest.warns(UserWarning, match="MinMaxScaler"):
        DBM((3, 2), n_iter=1, n_iter_pretrain=0, random_state=0).fit([X[:60] * 2, X[60:]])


def test_joint_update_with_decays_against_numpy():
    """One joint-training update (one mini-batch, momentum from rest) against the
    update written out in NumPy: mean-field data statistics minus the chains'
    Rao-Blackwellised statistics, L2 weight decay on the weights only, and the
    step learning_rate / (1 + learning_rate_decay * t), t counting every call."""
    X = _bars(40)
    kw = dict(hidden_layer_sizes=(5, 3), n_iter_pretrain=0, batch_size=40, n_chains=7,
              learning_rate=0.05, learning_rate_decay=0.5, weight_decay=0.01,
              random_state=0)
    d = DBM(n_iter=2, **kw).fit(X)
    assert [h["learning_rate"] for h in d.history_] == [0.05, 0.05 / 1.5]
    d.partial_fit(X)
    assert d.history_[-1]["learning_rate"] == pytest.approx(0.05 / 2.0)
    # from rest: a composed DBM (no joint epoch yet), its velocities zero
    d0 = DBM(n_iter=0, **kw).fit(X)
    assert all(not v.any() for v in d0._velocities[0] + d0._velocities[1])
    W, b = [w.copy() for w in d0.coefs_], [x.copy() for x in d0.intercepts_]
    h = [c.copy() for c in d0.fantasy_particles_]
    order = np.random.default_rng([d0._seed, 2, 0]).permutation(40)
    mu, _ = kd.mean_field(X[np.sort(order)], W, b, d0.n_mean_field, d0.mean_field_tol)
    p, _ = kd.gibbs_sweeps(h, W, b, d0._seed, d0._stream, 1)
    e = [p[0], h[1], p[2]]  # even layers: probabilities; odd: the sampled states
    lr = 0.05  # epoch 0 of joint training
    W_ref = [W[k] + lr * (mu[k].T @ mu[k + 1] / 40 - e[k].T @ e[k + 1] / 7 - 0.01 * W[k])
             for k in range(2)]
    b_ref = [b[k] + lr * (mu[k].mean(0) - e[k].mean(0)) for k in range(3)]
    d1 = d0.set_params(warm_start=True, n_iter=1).fit(X)
    for k in range(2):
        assert_allclose(d1.coefs_[k], W_ref[k], rtol=1e-12, atol=1e-15)
    for k in range(3):
        assert_allclose(d1.intercepts_[k], b_ref[k], rtol=1e-12, atol=1e-15)
    for a, c in zip(d1.fantasy_particles_, h):
        assert_array_equal(a, c)
