"""AIS you can trust: diagnostics with every estimate, growth to a target effective
sample size, forward and reverse AIS from one call, reverse AIS for categorical
visible units (issue 22, "Likelihood from both sides").

References: exact log Z by enumeration on tiny models (at most 12 visible and 12
hidden units), exact samples of p(v) drawn by enumeration (the starting states
that make reverse AIS a stochastic upper bound), and a NumPy computation of the
effective sample size and the largest weight's share from the log weights.
"""

import itertools
import pickle
import re
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.special import logsumexp

from rbmlib import likelihood as L

BETAS = np.linspace(0.0, 1.0, 1001)


def _model(H, V, scale, seed, *, sizes=None, gaussian=False):
    """A duck-typed RBM with random parameters: Bernoulli, Gaussian or categorical
    (one-hot groups of ``sizes``) visible units, Bernoulli hidden units."""
    rng = np.random.default_rng(seed)
    if sizes is not None:
        V = int(sum(sizes))
    m = SimpleNamespace(components_=scale * rng.standard_normal((H, V)),
                        intercept_hidden_=rng.standard_normal(H),
                        intercept_visible_=rng.standard_normal(V))
    if sizes is not None:
        m.offsets_ = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    if gaussian:
        m.sigma_ = np.exp(0.3 * rng.standard_normal(V))
    return m


def _configs(sizes):
    """Every visible configuration as one-hot rows (categorical units)."""
    codes = np.array(list(itertools.product(*[range(K) for K in sizes])))
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    X = np.zeros((len(codes), offsets[-1]))
    for g in range(len(sizes)):
        X[np.arange(len(codes)), offsets[g] + codes[:, g]] = 1.0
    return X


def _exact_samples(m, n, seed, sizes=None):
    """``n`` exact samples of p(v): by enumerating the visible states (Bernoulli,
    categorical), or h ~ p(h) by enumeration then v ~ N(b + W^T h, sigma^2) (Gaussian)."""
    rng = np.random.default_rng(seed)
    W, c, b = m.components_, m.intercept_hidden_, m.intercept_visible_
    H, V = W.shape
    if getattr(m, "sigma_", None) is not None:
        s2 = m.sigma_**2
        hs = np.array(list(itertools.product([0.0, 1.0], repeat=H)))
        mean = b + hs @ W
        log_p = hs @ c + ((mean**2 - b**2) / (2 * s2)).sum(axis=1)
        h = hs[rng.choice(len(hs), n, p=np.exp(log_p - logsumexp(log_p)))]
        return b + h @ W + m.sigma_ * rng.standard_normal((n, V))
    X = _configs(sizes) if sizes else np.array(list(itertools.product([0.0, 1.0], repeat=V)))
    log_p = -L.free_energy(m, X)
    return X[rng.choice(len(X), n, p=np.exp(log_p - logsumexp(log_p)))]


CASES = {  # (model, sizes): at most 12 visible and 12 hidden units
    "bernoulli": (lambda: _model(10, 12, 1.0, 1), None),
    "gaussian": (lambda: _model(8, 10, 0.3, 2, gaussian=True), None),
    "categorical": (lambda: _model(6, 0, 0.8, 3, sizes=(3, 4, 2, 3)), (3, 4, 2, 3)),
}


# ------------------------------------------------------------------ diagnostics
@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("reverse", [False, True])
def test_ess_and_largest_share_match_numpy_from_the_same_log_weights(case, reverse):
    m = CASES[case][0]()
    est = L.ais(m, n_runs=30, betas=np.linspace(0, 1, 20), reverse=reverse, n_burn_in=50,
                random_state=0)
    lw = est.log_weights
    assert lw.shape == (30,) and est.n_runs == 30
    w = np.exp(lw - lw.max())
    assert est.ess == pytest.approx(w.sum() ** 2 / (w**2).sum(), rel=1e-12)
    assert est.max_weight_share == pytest.approx(w.max() / w.sum(), rel=1e-12)
    assert 1.0 <= est.ess <= 30.0 and 1 / 30 <= est.max_weight_share <= 1.0
    # the summary of plain log weights (a DBM's AIS, say) is the same estimate
    again = L.PartitionEstimate.from_log_weights(lw, est.log_z_base, reverse=reverse,
                                                 n_betas=20)
    assert again.log_z == est.log_z and again.ess == est.ess
    assert again.method == ("reverse-ais" if reverse else "ais")
    assert est.target_reached is None and np.isnan(est.target_ess) and est.n_doublings == 0


def test_diagnostics_of_hand_made_weights():
    est = L.PartitionEstimate.from_log_weights(np.log([1.0, 1.0, 1.0, 97.0]), 2.0)
    assert est.max_weight_share == pytest.approx(0.97)
    assert est.ess == pytest.approx(100.0**2 / (3 + 97.0**2))
    assert est.log_z == pytest.approx(2.0 + np.log(25.0))
    assert "ESS 1.1" in est.summary() and "largest weight 97.0%" in est.summary()
    equal = L.PartitionEstimate.from_log_weights(np.zeros(8), 0.0)
    assert equal.ess == pytest.approx(8.0) and equal.max_weight_share == pytest.approx(1 / 8)
    for bad in (np.zeros(1), np.zeros((2, 2)), [0.0, np.nan], [0.0, np.inf]):
        with pytest.raises(ValueError, match="log_weights must be a 1-D array"):
            L.PartitionEstimate.from_log_weights(bad, 0.0)
    with pytest.raises(ValueError, match="log_z_base must be finite"):
        L.PartitionEstimate.from_log_weights([0.0, 1.0], np.nan)
    assert L.log_partition_exact(CASES["bernoulli"][0]()).summary().endswith("(exact)")


def test_verbose_prints_ess_and_largest_share_beside_the_estimate(capsys):
    m = CASES["bernoulli"][0]()
    est = L.ais(m, n_runs=20, betas=np.linspace(0, 1, 50), random_state=0, verbose=1)
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.match(
        rf"\[AIS\] log Z = {est.log_z:.4f} \(s\.e\. {est.log_z_std:.4f}\), effective sample "
        rf"size {est.ess:.1f} of 20 runs, largest weight {100 * est.max_weight_share:.1f}% "
        r"of the total, 50 temperatures, time = ", last), last


def test_the_documented_calls_do_not_warn():
    """The calls of the user guide (docs/user_guide/likelihood.rst) and the tests'
    ordinary use: a trained 64 x 12 model, 100 runs, 2,001 temperatures."""
    from sklearn.datasets import load_digits

    from rbmlib import BernoulliRBM

    X = (load_digits().data[:500] / 16.0 > 0.5).astype(float)
    rbm = BernoulliRBM(n_components=12, n_iter=10, random_state=0).fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fwd = L.ais(rbm, n_runs=100, betas=np.linspace(0, 1, 2001), base_rate=X,
                    random_state=0)
        rev = L.ais(rbm, n_runs=100, betas=np.linspace(0, 1, 2001), reverse=True,
                    n_burn_in=200, random_state=0)
        both = rbm.log_partition("both", n_runs=100, betas=np.linspace(0, 1, 2001),
                                 base_rate=X, n_burn_in=200, random_state=0)
    for est in (fwd, rev, both.forward, both.reverse):
        assert est.ess > 50 and est.max_weight_share < 0.1


# ------------------------------------------------------------------ target_ess
def test_target_ess_doubles_the_schedule_until_reached():
    m = CASES["bernoulli"][0]()
    exact = L.log_partition_exact(m).log_z
    short = L.ais(m, n_runs=100, betas=np.linspace(0, 1, 5), random_state=0)
    assert short.ess < 90  # the first pass falls short
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reached: no warning
        est = L.ais(m, n_runs=100, betas=np.linspace(0, 1, 5), target_ess=90,
                    random_state=0)
    assert est.target_reached is True and est.target_ess == 90.0 and est.ess >= 90
    assert est.n_doublings >= 1 and est.n_betas == 4 * 2**est.n_doublings + 1
    assert est.n_runs == 100 and est.log_weights.shape == (100,)
    assert abs(est.log_z - exact) < 4 * est.log_z_std + 0.01
    assert f"target ESS 90 reached after {est.n_doublings} doubling" in est.summary()
    # a first pass that already reaches the target is the plain estimate
    plain = L.ais(m, n_runs=20, betas=BETAS, random_state=1)
    kept = L.ais(m, n_runs=20, betas=BETAS, target_ess=10, random_state=1)
    assert kept.log_z == plain.log_z and kept.n_doublings == 0 and kept.target_reached


def test_refined_schedule_keeps_every_temperature():
    betas = np.array([0.0, 0.1, 0.5, 1.0])
    fine = L._refine(betas)
    np.testing.assert_array_equal(fine[::2], betas)
    np.testing.assert_allclose(fine[1::2], [0.05, 0.3, 0.75])


def test_target_ess_says_when_it_is_not_reached():
    """Two temperatures on a strongly coupled model: one doubling cannot fix it."""
    m = _model(8, 10, 2.0, 4)
    with pytest.warns(RuntimeWarning) as record:
        est = L.ais(m, n_runs=100, betas=[0.0, 1.0], target_ess=50, max_doublings=1,
                    random_state=0)
    assert len(record) == 1
    assert est.target_reached is False and est.n_doublings == 1 and est.n_betas == 3
    assert est.ess < 50
    msg = str(record[0].message)
    assert "did not reach target_ess=50 after 1 doubling" in msg
    assert f"effective sample size of the importance weights is {est.ess:.1f}" in msg
    assert f"{100 * est.max_weight_share:.0f}% of their sum" in msg
    assert "NOT reached after 1 doubling" in est.summary()


def test_target_ess_doubling_the_runs_pools_them():
    m = CASES["categorical"][0]()
    betas = np.linspace(0, 1, 30)
    first = L.ais(m, n_runs=10, betas=betas, random_state=3)
    est = L.ais(m, n_runs=10, betas=betas, target_ess=first.ess + 5, grow="runs",
                random_state=3)
    assert est.target_reached and est.n_doublings >= 1
    assert est.n_runs == 10 * 2**est.n_doublings == est.log_weights.shape[0]
    np.testing.assert_array_equal(est.log_weights[:10], first.log_weights)
    assert est.n_betas == 30
    rev = L.ais(m, n_runs=10, betas=betas, reverse=True, n_burn_in=20, target_ess=15,
                grow="runs", max_doublings=2, random_state=3)
    assert rev.n_runs == 10 * 2**rev.n_doublings and rev.method == "reverse-ais"


@pytest.mark.parametrize("kwargs, match", [
    (dict(target_ess=101), "can never be reached with grow='betas' and n_runs=100"),
    (dict(target_ess=1601, grow="runs"), "at most 1600 runs"),
    (dict(target_ess=50, grow="runs", reverse=True, init=np.zeros((100, 4))),
     "grow='runs' needs new starting states"),
    (dict(target_ess=0.5), "'target_ess' parameter of ais"),
    (dict(target_ess=5, grow="temperatures"), "'grow' parameter of ais"),
    (dict(target_ess=5, max_doublings=-1), "'max_doublings' parameter of ais"),
])
def test_target_ess_rejects_what_cannot_work(kwargs, match):
    m = _model(3, 4, 1.0, 0)
    with pytest.raises(ValueError, match=match):
        L.ais(m, betas=np.linspace(0, 1, 5), **kwargs)


# ------------------------------------------------------------------ reverse AIS
@pytest.mark.parametrize("case", sorted(CASES))
def test_reverse_ais_agrees_with_exact_log_z_within_its_error(case):
    make, sizes = CASES[case]
    m = make()
    exact = L.log_partition_exact(m).log_z
    starts = {"gibbs": dict(n_burn_in=200),
              "exact samples": dict(init=_exact_samples(m, 100, 0, sizes))}
    for name, start in starts.items():
        est = L.ais(m, n_runs=100, betas=BETAS, reverse=True, random_state=0, **start)
        assert est.method == "reverse-ais"
        assert abs(est.log_z - exact) < 4 * est.log_z_std + 0.01, (name, est, exact)
        assert est.log_z_lower <= exact <= est.log_z_upper, name
        assert est.ess > 80


@pytest.mark.parametrize("case", ["bernoulli", "categorical"])
def test_forward_and_reverse_bound_log_z_from_either_side_on_average(case):
    """A short schedule and 4 runs: forward AIS underestimates log Z on average,
    reverse AIS from exact samples overestimates it (Burda et al. 2015), each by
    several standard errors of the mean over 50 seeds."""
    sizes = None if case == "bernoulli" else (3, 4, 2, 3)
    m = _model(10, 12, 2.5, 1) if sizes is None else _model(10, 0, 2.5, 6, sizes=sizes)
    exact = L.log_partition_exact(m).log_z
    betas = np.linspace(0, 1, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 4 runs: low ESS is expected
        fwd = np.array([L.ais(m, n_runs=4, betas=betas, random_state=s).log_z
                        for s in range(50)]) - exact
        rev = np.array([L.ais(m, n_runs=4, betas=betas, reverse=True, random_state=s,
                              init=_exact_samples(m, 4, s, sizes)).log_z
                        for s in range(50)]) - exact
    se_f, se_r = fwd.std() / np.sqrt(50), rev.std() / np.sqrt(50)
    assert fwd.mean() + 2 * se_f < 0 < rev.mean() - 2 * se_r, (fwd.mean(), se_f,
                                                                rev.mean(), se_r)


def test_categorical_kernel_at_constant_beta_sweeps_without_weight():
    """The categorical AIS kernel's constant schedule (the Gibbs sweeps that start
    reverse AIS) adds nothing to the weights and moves the states."""
    m = CASES["categorical"][0]()
    W, c, b = m.components_, m.intercept_hidden_, m.intercept_visible_
    path = L._Path(W, c, b, None, np.zeros(12), L._visible(m, None), L._hidden(m, ""))
    codes = np.zeros((5, 4), np.int64)
    out = np.empty_like(codes)
    log_w = np.empty(5)
    path._categorical(np.ones(12), codes, False, 7, log_w, out)  # 10 sweeps at beta = 1
    np.testing.assert_array_equal(log_w, 0.0)
    assert (out != codes).any() and (out >= 0).all() and (out < [3, 4, 2, 3]).all()


# ------------------------------------------------------------------ both directions
def test_both_directions_from_one_call():
    m = CASES["bernoulli"][0]()
    exact = L.log_partition_exact(m).log_z
    kw = dict(n_runs=50, betas=np.linspace(0, 1, 300), random_state=0)
    both = L.log_partition(m, "both", n_burn_in=100, **kw)
    assert isinstance(both, L.BidirectionalEstimate)
    assert both.forward.method == "ais" and both.reverse.method == "reverse-ais"
    # the forward runs are ais()'s with the same seed; the reverse ones follow on its stream
    assert both.forward.log_z == L.ais(m, **kw).log_z
    rng = np.random.RandomState(0)
    L.ais(m, **{**kw, "random_state": rng})
    again = L.ais(m, **{**kw, "random_state": rng}, reverse=True, n_burn_in=100)
    assert both.reverse.log_z == again.log_z
    assert both.gap == pytest.approx(both.reverse.log_z - both.forward.log_z)
    for est in (both.forward, both.reverse):
        assert abs(est.log_z - exact) < 4 * est.log_z_std + 0.01
        assert est.ess > 0 and est.max_weight_share > 0
    assert "forward log Z" in both.summary() and "gap (reverse - forward)" in both.summary()
    restored = pickle.loads(pickle.dumps(both))
    assert restored.forward.log_z == both.forward.log_z and b"_estimate" not in pickle.dumps(both)
    # log_likelihood: the pair of per-sample log-likelihoods, by each estimate
    X = _exact_samples(m, 6, 1)
    (ll_f, ll_r), est = L.log_likelihood(m, X, log_z="both", return_log_z=True,
                                         n_burn_in=100, **kw)
    neg_f = -L.free_energy(m, X)
    np.testing.assert_allclose(ll_f, neg_f - est.forward.log_z)
    np.testing.assert_allclose(ll_r, neg_f - est.reverse.log_z)
    ll_given = L.log_likelihood(m, X, log_z=both)
    np.testing.assert_allclose(ll_given[0], neg_f - both.forward.log_z)
    with pytest.raises(TypeError, match="do not pass reverse"):
        L.log_partition(m, "both", reverse=True)
    with pytest.raises(ValueError, match="method must be 'auto', 'exact', 'ais' or 'both'"):
        L.log_partition(m, "reverse")
    bad = L.BidirectionalEstimate(both.forward, L.PartitionEstimate(np.nan, 0, 0, 0, "ais"))
    with pytest.raises(ValueError, match="log_z must be finite"):
        L.log_likelihood(m, X, log_z=bad)


def test_both_directions_through_the_estimators():
    from sklearn.datasets import load_digits

    from rbmlib import BernoulliRBM, CategoricalRBM

    X = (load_digits().data[:300] > 7).astype(float)
    rbm = BernoulliRBM(n_components=8, n_iter=3, random_state=0).fit(X)
    kw = dict(n_runs=20, betas=np.linspace(0, 1, 200), n_burn_in=50, random_state=0)
    both = rbm.log_partition("both", base_rate=X, **kw)
    ll_f, ll_r = rbm.log_likelihood(X[:5], log_z="both", **kw)
    exact = rbm.log_likelihood(X[:5])
    for ll, est in ((ll_f, both.forward), (ll_r, both.reverse)):
        np.testing.assert_allclose(ll, exact, atol=4 * est.log_z_std + 0.05)
    codes = np.random.default_rng(0).integers(0, 3, size=(100, 4))
    cat = CategoricalRBM(n_components=5, n_iter=3, random_state=0).fit(codes)
    ll_f, ll_r = cat.log_likelihood(codes[:5], log_z="both", n_runs=20,
                                    betas=np.linspace(0, 1, 200), n_burn_in=50,
                                    random_state=0)
    np.testing.assert_allclose(ll_f, cat.log_likelihood(codes[:5]), atol=0.1)
    np.testing.assert_allclose(ll_r, cat.log_likelihood(codes[:5]), atol=0.1)


# ------------------------------------------------------------------ reverse AIS from PT
def _bimodal_model():
    """A 6-2 RBM whose p(v) has two modes, 000111 and 111000, of equal mass, separated
    by states of tiny probability: Gibbs chains stay in the mode they start in."""
    W = np.array([[6.0, 6.0, 6.0, -6.0, -6.0, -6.0],
                  [-6.0, -6.0, -6.0, 6.0, 6.0, 6.0]])
    return SimpleNamespace(components_=W, intercept_hidden_=np.array([-9.0, -9.0]),
                           intercept_visible_=np.zeros(6))


def test_reverse_ais_from_tempered_chains_where_gibbs_chains_have_not_mixed(capsys):
    """The base model fitted to data of one mode starts every Gibbs chain there:
    reverse AIS from them is far BELOW exact log Z (it bounds nothing, as in
    issue 22's MNIST probe); from parallel-tempering chains it agrees with it."""
    m = _bimodal_model()
    exact = L.log_partition_exact(m).log_z
    one_mode = np.tile([0.0, 0.0, 0.0, 1.0, 1.0, 1.0], (50, 1))
    kw = dict(n_runs=100, betas=BETAS, base_rate=one_mode, reverse=True, n_burn_in=200,
              random_state=0)
    gibbs = L.ais(m, init="gibbs", **kw)
    assert exact - gibbs.log_z > 0.4 and exact - gibbs.log_z > 10 * gibbs.log_z_std
    assert gibbs.log_z == L.ais(m, **kw).log_z  # "gibbs" is the default start
    capsys.readouterr()
    pt = L.ais(m, init="pt", verbose=1, **kw)
    assert abs(pt.log_z - exact) < 3 * pt.log_z_std + 0.02, (pt, exact)
    out = capsys.readouterr().out
    assert "200 updates of parallel tempering at 10 inverse temperatures (1 .. 0.1)" in out
    rates = re.search(r"swap acceptance ([\d., ]+); (\d+) round trips", out)
    assert rates and min(map(float, rates.group(1).split(", "))) > 0.3
    assert int(rates.group(2)) > 100


@pytest.mark.parametrize("case", sorted(CASES))
def test_reverse_ais_from_tempered_chains_agrees_with_exact(case):
    m = CASES[case][0]()
    exact = L.log_partition_exact(m).log_z
    est = L.ais(m, n_runs=50, betas=BETAS, reverse=True, init="pt", n_burn_in=50,
                pt_betas=np.geomspace(1.0, 0.2, 5), random_state=1)
    assert abs(est.log_z - exact) < 4 * est.log_z_std + 0.01, (est, exact)
    assert est.log_z_lower <= exact <= est.log_z_upper


@pytest.mark.parametrize("kwargs, match", [
    (dict(init="pt"), "init='pt' .* is only used with reverse=True"),
    (dict(reverse=True, pt_betas=[1.0, 0.5]), "pt_betas .* only used with reverse=True and "
                                              "init='pt'"),
    (dict(reverse=True, init="pt", pt_betas=[0.5, 0.2]), "decreasing from 1.0"),
    (dict(reverse=True, init="pt", pt_betas=[1.0, 0.5, 0.7]), "decreasing from 1.0"),
    (dict(reverse=True, init="pt", pt_betas=[1.0, 0.0]), "positive"),
    (dict(reverse=True, init="tempered"), "'init' parameter of ais"),
])
def test_reverse_ais_start_rejects_bad_options(kwargs, match):
    m = _model(3, 4, 1.0, 0)
    with pytest.raises(ValueError, match=match):
        L.ais(m, betas=np.linspace(0, 1, 5), **kwargs)


def test_an_estimate_pickled_before_the_diagnostics_loads_with_them_missing():
    """A PartitionEstimate pickled by the release before this one (rbmlib.likelihood,
    fields up to ``ess``) loads; the new fields read as not recorded."""
    old = object.__new__(L.PartitionEstimate)
    old.__dict__.update(log_z=1.0, log_z_std=0.1, log_z_lower=0.7, log_z_upper=1.3,
                        method="ais", n_runs=4, n_betas=10, log_z_base=0.5,
                        log_weights=np.zeros(4), ess=4.0)
    data = pickle.dumps(old)
    assert b"rbmlib.likelihood" in data and b"_estimate" not in data  # the public path
    est = pickle.loads(data)
    assert est.log_z == 1.0 and est.ess == 4.0
    assert np.isnan(est.max_weight_share) and est.target_reached is None
    assert est.n_doublings == 0 and "ESS 4.0" in est.summary()


def test_reverse_ais_warns_when_the_tempered_chains_hardly_swap():
    """Two inverse temperatures far apart (1 and 0.05) on a strongly coupled 12 x 10
    model: the swaps are rarely accepted, and the start may not have mixed."""
    m = _model(10, 12, 3.0, 1)
    kw = dict(n_runs=50, betas=np.linspace(0, 1, 101), reverse=True, init="pt",
              n_burn_in=100, random_state=0)
    with pytest.warns(RuntimeWarning, match=r"swapped between the inverse temperatures 1 "
                                            r"and 0\.05 in \d\.\d% of the attempts") as rec:
        L.ais(m, pt_betas=[1.0, 0.05], **kw)
    assert len(rec) == 1 and "pt_betas" in str(rec[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a closer ladder swaps often enough: no warning
        L.ais(m, pt_betas=[1.0, 0.3], **kw)


def test_low_ess_warning_names_the_callers_line():
    """The warning points at the user's line however AIS is reached (it named
    likelihood/_api.py for log_partition and log_likelihood)."""
    from rbmlib import BernoulliRBM

    m = _model(10, 12, 4.0, 0)
    rbm = BernoulliRBM(n_components=10, n_iter=0, random_state=0).fit(np.eye(12))
    rbm.components_ = m.components_.copy()
    X = np.eye(12)
    calls = [lambda: L.ais(m, betas=[0, 1], random_state=0),
             lambda: L.log_partition(m, "ais", betas=[0, 1], random_state=0),
             lambda: L.log_likelihood(m, X, log_z="ais", betas=[0, 1], random_state=0),
             lambda: rbm.log_partition("ais", betas=[0, 1], random_state=0),
             lambda: rbm.log_likelihood(X, log_z="ais", betas=[0, 1], random_state=0)]
    for call in calls:
        with pytest.warns(RuntimeWarning, match="effective sample size") as rec:
            call()
        assert [w.filename for w in rec] == [__file__]
