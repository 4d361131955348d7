"""Max-norm constraints on fine-tuning (Srivastava et al. 2014, sec. 5.1).

The fused kernel's epoch against a NumPy epoch with the projection written out;
the bound on every fitted estimator that fine-tunes by back-propagation, with
some column actually clipped; None is the unconstrained fit bit for bit; bad
values; GridSearchCV, set_params, partial_fit and pickles. Tiny networks, a few
epochs.
"""

import itertools
import os
import pickle
import sys
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV

from rbmlib import DBMClassifier, DBNAutoencoder, DBNClassifier, DBNRegressor
from rbmlib._kernels import mlp as K
from rbmlib.mlp import BackpropSettings, _Layout, fit_backprop
from rbmlib.optim import Optimizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _workflow import bars_labelled  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # few epochs on purpose
        yield


# ----------------------------------------------------------------------------
# the kernel against NumPy
# ----------------------------------------------------------------------------
def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _project(W, c):
    """NumPy max-norm projection of the columns of W; returns the number clipped."""
    norms = np.sqrt((W ** 2).sum(axis=0))
    over = norms > c
    W[:, over] *= c / norms[over]
    return int(over.sum())


def _ref_epoch(X, Y, order, B, coefs, ints, lr, mu, c):
    """One epoch of logistic hidden layers, a softmax output, cross-entropy, Nesterov
    momentum SGD, each update followed by the projection of the hidden layers'
    columns (c = None: none). Returns (coefs, intercepts, loss sum, columns clipped)."""
    coefs = [W.copy() for W in coefs]
    ints = [b.copy() for b in ints]
    params = coefs + ints
    vel = [np.zeros_like(p) for p in params]
    n, L = order.size, len(coefs)
    nb = -(-n // B)
    start, total, clipped = 0, 0.0, 0
    for t in range(nb):
        size = n // nb + (1 if t < n % nb else 0)
        rows = order[start:start + size]
        x, y = X[rows], Y[rows]
        acts = [x]
        for l in range(L):
            z = acts[-1] @ coefs[l] + ints[l]
            if l < L - 1:
                acts.append(_sigmoid(z))
            else:
                z = z - z.max(axis=1, keepdims=True)
                lse = np.log(np.exp(z).sum(axis=1, keepdims=True))
                total += float(-(y * (z - lse)).sum())
                acts.append(np.exp(z - lse))
        d = (acts[-1] - y) / size
        gW, gb = [None] * L, [None] * L
        for l in range(L - 1, -1, -1):
            gW[l] = acts[l].T @ d
            gb[l] = d.sum(axis=0)
            if l > 0:
                d = (d @ coefs[l].T) * acts[l] * (1 - acts[l])
        for p, v, g in zip(params, vel, gW + gb):
            v *= mu
            v -= lr * g
            p += mu * v - lr * g
        if c is not None:
            for W in coefs[:-1]:
                clipped += _project(W, c)
        start += size
    return coefs, ints, total, clipped


def _kernel_epoch(X, Y, order, B, coefs, ints, lr, mu, max_norm):
    sizes = [X.shape[1]] + [W.shape[1] for W in coefs]
    lay = _Layout(sizes)
    params = lay.pack(coefs, ints, np.float64)
    z = np.zeros_like(params)
    kind, hyper = Optimizer("sgd", lr, momentum=mu, nesterovs_momentum=True).kernel_args()
    acts = lay.acts(B, np.float64)
    n = X.shape[0]
    args = (X, np.zeros(1), np.zeros(1, np.int32), np.zeros(2, np.int32), False, Y,
            np.ones(n), order, B, params, z.copy(), z.copy(), z.copy(), lay.sizes,
            lay.offsets, lay.a_off(B), acts, np.zeros_like(acts), np.zeros((B, sizes[0])),
            np.zeros((B, sizes[-1])), np.zeros(B), np.zeros(B), K.SOFTMAX,
            np.zeros(len(sizes) - 2, np.int64), 0.01, 1.0, 1.0, 0.0, 0.0, kind, lr, hyper,
            np.uint64(7), 0)
    total, _ = K.train_epoch(*args, max_norm)
    cs, ics = lay.unpack(params)
    return cs, ics, total


@pytest.fixture(scope="module")
def net():
    rng = np.random.RandomState(3)
    sizes = [7, 6, 5, 3]
    coefs = [rng.normal(0, 0.6, (a, b)) for a, b in itertools.pairwise(sizes)]
    coefs[-1] *= 3  # output columns well above the bound: they must stay there
    ints = [rng.normal(0, 0.1, b) for b in sizes[1:]]
    n = 23
    X = rng.rand(n, sizes[0])
    Y = np.eye(sizes[-1])[rng.randint(0, sizes[-1], n)]
    return X, Y, rng.permutation(n).astype(np.int64), coefs, ints


def test_train_epoch_with_max_norm_matches_numpy(net):
    """Five updates (a short last batch) with the projection after each: the kernel's
    weights equal the NumPy epoch's to 1e-10; some columns were clipped, so the
    constrained epoch differs from the unconstrained one."""
    X, Y, order, coefs, ints = net
    c = 1.5
    norms0 = [np.sqrt((W ** 2).sum(axis=0)) for W in coefs[:-1]]
    assert any((nrm > c).any() for nrm in norms0) and any((nrm < c).any() for nrm in norms0)
    rc, ri, rtotal, clipped = _ref_epoch(X, Y, order, 5, coefs, ints, 0.5, 0.9, c)
    assert clipped > 0
    kc, ki, ktotal = _kernel_epoch(X, Y, order, 5, coefs, ints, 0.5, 0.9, c)
    for a, b in zip(kc + ki, rc + ri):
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert_allclose(ktotal, rtotal, rtol=1e-10)
    for W in kc[:-1]:
        assert np.sqrt((W ** 2).sum(axis=0)).max() <= c * (1 + 1e-12)
    # the output layer is not constrained (its columns outgrow c here)
    assert np.sqrt((kc[-1] ** 2).sum(axis=0)).max() > c
    # without the constraint the same epoch ends elsewhere; with 0 (off) bit for bit
    uc, _, _, _ = _ref_epoch(X, Y, order, 5, coefs, ints, 0.5, 0.9, None)
    assert np.abs(uc[0] - rc[0]).max() > 1e-3
    off = _kernel_epoch(X, Y, order, 5, coefs, ints, 0.5, 0.9, 0.0)
    for a, b in zip(off[0], uc):
        assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_max_norm_project_is_the_projection():
    """Columns above the bound end on it, the others are untouched (bit for bit);
    biases and the output layer are never touched."""
    rng = np.random.RandomState(0)
    sizes = [9, 8, 4]
    lay = _Layout(sizes)
    coefs = [rng.normal(0, 0.5, (a, b)) for a, b in itertools.pairwise(sizes)]
    ints = [rng.normal(0, 5.0, b) for b in sizes[1:]]
    coefs[1] *= 10
    params = lay.pack(coefs, ints, np.float64)
    c = 1.4
    expected = coefs[0].copy()
    n_ref = _project(expected, c)
    assert 0 < n_ref < sizes[1]
    n = K.max_norm_project(params, lay.sizes, lay.offsets, c, np.empty(8))
    assert n == n_ref
    cs, ics = lay.unpack(params)
    assert_allclose(cs[0], expected, rtol=1e-14)
    kept = np.sqrt((coefs[0] ** 2).sum(axis=0)) <= c
    assert_array_equal(cs[0][:, kept], coefs[0][:, kept])
    assert_array_equal(cs[1], coefs[1])
    for a, b in zip(ics, ints):
        assert_array_equal(a, b)


# ----------------------------------------------------------------------------
# the estimators
# ----------------------------------------------------------------------------
def _hidden_norms(est):
    return [np.sqrt((W.astype(np.float64) ** 2).sum(axis=0)) for W in est.coefs_[:-1]]


_PRE = {"n_iter_pretrain": 2, "batch_size_pretrain": 10}
ESTIMATORS = {
    "DBNClassifier": lambda **kw: DBNClassifier((12, 8), **_PRE, **kw),
    "DBNRegressor": lambda **kw: DBNRegressor((12, 8), **_PRE, **kw),
    "DBNAutoencoder": lambda **kw: DBNAutoencoder((12,), n_components=3, architecture="deep",
                                                  **_PRE, **kw),
    "DBMClassifier": lambda **kw: DBMClassifier(
        (12, 8), dbm_params={"n_iter": 2, "n_iter_pretrain": 2, "n_chains": 20}, **kw),
}


def _fit(name, **kw):
    X, y = bars_labelled(120)
    est = ESTIMATORS[name](max_iter=15, learning_rate_init=0.05, random_state=0, **kw)
    if name == "DBNAutoencoder":
        return est.fit(X)
    return est.fit(X, y.astype(float) if name == "DBNRegressor" else y)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_fitted_hidden_columns_obey_the_bound(name):
    """The bound is set below the unconstrained fit's largest column norm, so the
    constraint must act: every hidden column ends at most max_norm, some exactly on it,
    and the fit differs from the unconstrained one."""
    free = _fit(name)
    top = max(nrm.max() for nrm in _hidden_norms(free))
    c = 0.6 * top
    est = _fit(name, max_norm=c)
    norms = _hidden_norms(est)
    assert max(nrm.max() for nrm in norms) <= c * (1 + 1e-9)
    assert sum(int((np.abs(nrm - c) < 1e-9 * c).sum()) for nrm in norms) > 0
    assert not np.array_equal(est.coefs_[0], free.coefs_[0])


@pytest.mark.parametrize("name", ["DBNClassifier", "DBNAutoencoder"])
def test_none_is_the_unconstrained_fit_bit_for_bit(name):
    """max_norm=None (the default) and a bound no column reaches give the same fit bit
    for bit (the projection multiplies nothing unless a column exceeds the bound)."""
    assert ESTIMATORS[name]().max_norm is None
    base = _fit(name, max_norm=None)
    loose = _fit(name, max_norm=1e6)
    assert max(nrm.max() for nrm in _hidden_norms(base)) < 1e6
    for a, b in zip(base.coefs_ + base.intercepts_, loose.coefs_ + loose.intercepts_):
        assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["DBNClassifier", "DBMClassifier"])
def test_bad_max_norm_raises_in_fit_and_keeps_the_fitted_model(name):
    X, y = bars_labelled(40)
    est = ESTIMATORS[name](max_iter=2, random_state=0).fit(X, y)
    before = [W.copy() for W in est.coefs_]
    for bad in [0, 0.0, -1.0, np.nan, np.inf, "3", [3.0]]:
        with pytest.raises(ValueError, match="max_norm"):
            est.set_params(max_norm=bad).fit(X, y)
        for a, b in zip(est.coefs_, before):
            assert_array_equal(a, b)


@pytest.mark.parametrize("bad", [0, -2.0, np.nan, np.inf, "3", True])
def test_fit_backprop_checks_max_norm(bad):
    rng = np.random.RandomState(0)
    X = rng.rand(10, 4)
    Y = np.eye(2)[rng.randint(0, 2, 10)]
    coefs = [rng.normal(0, 0.1, (4, 3)), rng.normal(0, 0.1, (3, 2))]
    ints = [np.zeros(3), np.zeros(2)]
    with pytest.raises(ValueError, match="max_norm must be None or a finite number > 0"):
        fit_backprop(X, Y, coefs, ints, out_activation="softmax", score=lambda a, b: 0.0,
                     rng=rng, settings=BackpropSettings(max_norm=bad))


def test_grid_search_over_max_norm():
    X, y = bars_labelled(90)
    grid = GridSearchCV(DBNClassifier((8,), **_PRE, max_iter=5, random_state=0),
                        {"max_norm": [None, 0.5, 2.0]}, cv=3).fit(X, y)
    assert len(grid.cv_results_["params"]) == 3
    best = grid.best_estimator_
    assert best.max_norm == grid.best_params_["max_norm"]
    if best.max_norm is not None:
        assert _hidden_norms(best)[0].max() <= best.max_norm * (1 + 1e-9)
    assert [p["max_norm"] for p in grid.cv_results_["params"]] == [None, 0.5, 2.0]
    assert np.isfinite(grid.cv_results_["mean_test_score"]).all()


def test_set_params_then_refit_equals_a_fresh_fit_and_pickles():
    X, y = bars_labelled(120)
    est = _fit("DBNClassifier")
    c = 0.6 * max(nrm.max() for nrm in _hidden_norms(est))
    est.set_params(max_norm=c).fit(X, y)
    fresh = _fit("DBNClassifier", max_norm=c)
    for a, b in zip(est.coefs_, fresh.coefs_):
        assert_array_equal(a, b)
    assert max(nrm.max() for nrm in _hidden_norms(est)) <= c * (1 + 1e-9)
    # clone keeps the parameter; a pickled estimator refits identically
    assert clone(est).max_norm == c
    again = pickle.loads(pickle.dumps(est)).fit(X, y)
    for a, b in zip(again.coefs_, fresh.coefs_):
        assert_array_equal(a, b)
    # back to None: the unconstrained fit
    est.set_params(max_norm=None).fit(X, y)
    for a, b in zip(est.coefs_, _fit("DBNClassifier").coefs_):
        assert_array_equal(a, b)


def test_partial_fit_keeps_the_bound_and_old_pickles_load_without_it():
    X, y = bars_labelled(120)
    est = DBNClassifier((12, 8), **_PRE, learning_rate_init=0.05, random_state=0,
                        max_norm=0.8)
    for _ in range(3):
        est.partial_fit(X, y, classes=[0, 1])
    assert max(nrm.max() for nrm in _hidden_norms(est)) <= 0.8 * (1 + 1e-9)
    # an estimator pickled before the parameter existed has no max_norm attribute
    state = est.__getstate__()
    del state["max_norm"]
    old = DBNClassifier.__new__(DBNClassifier)
    old.__setstate__(state)
    assert old.max_norm is None and old.get_params()["max_norm"] is None
    old.partial_fit(X, y)
