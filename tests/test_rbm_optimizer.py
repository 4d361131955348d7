"""Optimisers and the L1 penalty of the RBMs (issue 13).

``optimizer`` in "sgd" (momentum SGD, the default: the fused update as
before), "adagrad", "rmsprop", "adam" and ``alpha_l1`` on BernoulliRBM,
GaussianBernoulliRBM and CategoricalRBM. Kernel updates are checked against
NumPy versions written here (and scikit-learn's SGDOptimizer/AdamOptimizer
on the same gradients); the estimators in the workflows users run.
"""

import os
import pickle
import signal
import threading
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import expit
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from rbmlib import DBN, BernoulliRBM, CategoricalRBM, DBNClassifier, GaussianBernoulliRBM
from rbmlib._kernels.cd import cd_update
from rbmlib._kernels.negative import PCD_MEAN_FIELD
from rbmlib._kernels.optim import ADAGRAD, ADAM, RMSPROP, SGD
from rbmlib.optim import Optimizer

OPTIMIZERS = ["sgd", "adagrad", "rmsprop", "adam"]
KINDS = {"sgd": SGD, "adagrad": ADAGRAD, "rmsprop": RMSPROP, "adam": ADAM}
#: learning rates that train well on digits / 16 (see test_adam_features_on_digits)
LR = {"sgd": 0.1, "adagrad": 0.05, "rmsprop": 0.005, "adam": 0.01}


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


# --------------------------------------------------------------------------
# 1. One CD update with each optimiser against NumPy
# --------------------------------------------------------------------------


def _cd_gradient_ref(v0, W, c, b, hchain, weight_decay, alpha_l1, sparsity_target,
                     sparsity_cost, sparse_q, decay=0.9):
    """Gradients of the minimised objective for one PCD-1 update with mean-field
    visible units (deterministic: the chain's visible step uses probabilities).

    Returns gW, gc, gb (minus the CD statistics plus the penalties) and the new
    sparsity estimate.
    """
    m = v0.shape[0]
    ph0 = expit(v0 @ W.T + c)
    vk = expit(hchain @ W + b)
    phk = expit(vk @ W.T + c)
    q = decay * sparse_q + (1 - decay) * ph0.mean(0)
    gW = -(ph0.T @ v0 - phk.T @ vk) / m + weight_decay * W + alpha_l1 * np.sign(W)
    gW += sparsity_cost * (q - sparsity_target)[:, None] * v0.mean(0)[None, :]
    gc = -(ph0 - phk).mean(0) + sparsity_cost * (q - sparsity_target)
    gb = -(v0 - vk).mean(0)
    return [gW, gc, gb], q


def _step_ref(name, params, grads, s1, s2, lr, t, hp):
    """The optimisers' update formulas (module docstring of rbmlib.optim), in NumPy.

    SGD and Adam go through scikit-learn's own optimisers; Adagrad (Duchi et
    al. 2011) and RMSprop (Tieleman and Hinton 2012) are written out.
    """
    params = [p.copy() for p in params]
    if name == "sgd":
        opt = SGDOptimizer(params, lr, momentum=hp["momentum"], nesterov=False)
        opt.velocities = [v.copy() for v in s1]
        opt.update_params(params, grads)
        return params, opt.velocities, s2
    if name == "adam":
        opt = AdamOptimizer(params, lr, hp["beta_1"], hp["beta_2"], hp["epsilon"])
        opt.t = t - 1  # update_params counts this step
        opt.ms, opt.vs = [a.copy() for a in s1], [a.copy() for a in s2]
        opt.update_params(params, grads)
        return params, opt.ms, opt.vs
    new_s1 = []
    for p, g, a in zip(params, grads, s1):
        if name == "adagrad":
            a = a + g * g
        else:
            a = hp["rho"] * a + (1 - hp["rho"]) * g * g
        p -= lr * g / (np.sqrt(a) + hp["epsilon"])
        new_s1.append(a)
    return params, new_s1, s2


def _kernel_step(name, v0, W, c, b, hchain, s1, s2, lr, hp, weight_decay, alpha_l1,
                 sparsity_cost, sparse_q, update_index, t_offset, use_optim=True):
    m, V = v0.shape
    H = W.shape[0]
    dt = v0.dtype
    B = m + 2  # buffers larger than the mini-batch, as in fit
    W, c, b = W.copy(), c.copy(), b.copy()
    vW, vc, vb = (a.copy() for a in s1)
    hch = np.zeros((B, H), dt)
    hch[:m] = hchain
    Vcat = np.zeros((2 * B, V), dt)
    Vcat[:m] = v0
    empty = np.zeros(0, dt)
    q = sparse_q.copy()
    optim = None
    if use_optim:
        kind, ohyper = Optimizer(name, momentum=hp["momentum"], nesterovs_momentum=False,
                                 beta_1=hp["beta_1"], beta_2=hp["beta_2"], rho=hp["rho"],
                                 epsilon=hp["epsilon"]).kernel_args()
        assert kind == KINDS[name]
        second = (tuple(a.copy() for a in s2) if name == "adam"
                  else (np.zeros((0, V), dt), empty, empty))
        grads = (np.full((H, V) if name != "sgd" else (0, V), np.nan, dt),
                 np.full(H, np.nan, dt), np.full(V, np.nan, dt), np.full(V, np.nan, dt))
        optim = (kind, t_offset, alpha_l1, ohyper, (*second, empty), grads)
    cd_update(m, (1, PCD_MEAN_FIELD, 0, 0, False), np.uint64(3), update_index,
              (W, c, b, np.ones(V, dt), empty), np.zeros(1, np.int64), (vW, vc, vb, empty),
              (hch, q),
              (Vcat, np.zeros((2 * B, H), dt), np.zeros((B, H), dt), np.zeros((B, V), dt),
               np.full((H, V), np.nan, dt), np.zeros((0, 0), np.int32)),
              (lr, hp["momentum"], weight_decay, 0.1, sparsity_cost, 0.9, 0.0, 0.0), optim)
    s2_out = optim[4][:3] if use_optim and name == "adam" else None
    return [W, c, b], [vW, vc, vb], s2_out, q


def _problem(dtype, seed=0, m=6, V=9, H=5):
    rng = np.random.RandomState(seed)
    v0 = (rng.rand(m, V) < 0.4).astype(dtype)
    W = rng.normal(0, 0.5, (H, V)).astype(dtype)
    W[0, :3] = 0.0  # sign(0) = 0: L1 leaves exact zeros to the data gradient
    c = rng.normal(0, 0.5, H).astype(dtype)
    b = rng.normal(0, 0.5, V).astype(dtype)
    hchain = (rng.rand(m, H) < 0.5).astype(dtype)
    s1 = [rng.normal(0, 0.01, a.shape).astype(dtype) for a in (W, c, b)]
    s2 = [rng.uniform(0, 0.01, a.shape).astype(dtype) for a in (W, c, b)]
    return v0, W, c, b, hchain, s1, s2


HP = {"momentum": 0.5, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6, "rho": 0.7}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("penalties", [(0.0, 0.0, 0.0), (1e-3, 0.02, 0.1)])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_one_cd_update_matches_numpy_reference(name, penalties, dtype):
    weight_decay, alpha_l1, sparsity_cost = penalties
    v0, W, c, b, hchain, s1, s2 = _problem(dtype)
    if name in ("adagrad", "rmsprop"):
        s1 = [np.abs(a) for a in s1]  # sums / means of squares are non-negative
    sparse_q = np.full(W.shape[0], 0.2, dtype)
    lr = 0.05
    update_index, t_offset = 7, 3  # the optimiser's step t = 7 + 1 - 3 = 5
    got, got_s1, got_s2, got_q = _kernel_step(
        name, v0, W, c, b, hchain, s1, s2, lr, HP, weight_decay, alpha_l1, sparsity_cost,
        sparse_q, update_index, t_offset)
    f64 = (lambda a: a.astype(np.float64))
    grads, q = _cd_gradient_ref(f64(v0), f64(W), f64(c), f64(b), f64(hchain), weight_decay,
                                alpha_l1, 0.1, sparsity_cost, f64(sparse_q))
    want, want_s1, want_s2 = _step_ref(name, [f64(W), f64(c), f64(b)], grads,
                                       [f64(a) for a in s1], [f64(a) for a in s2], lr, 5, HP)
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for g, w in zip(got, want):
        assert g.dtype == dtype
        assert_allclose(g, w, **tol)
    for g, w in zip(got_s1, want_s1):
        assert_allclose(g, w, **tol)
    if name == "adam":
        for g, w in zip(got_s2, want_s2):
            assert_allclose(g, w, **tol)
    assert_allclose(got_q, q, **tol)
    # the parameters moved (the test could fail)
    assert np.abs(got[0] - W).max() > 1e-4


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_l1_subgradient_has_the_sign_of_the_weights(name):
    """The L1 term moves positive weights down, negative ones up, exact zeros not at all."""
    v0, W, c, b, hchain, s1, s2 = _problem(np.float64, seed=1)
    s1 = [np.zeros_like(a) for a in s1]
    s2 = [np.zeros_like(a) for a in s2]
    q = np.full(W.shape[0], 0.1)
    args = (v0, W, c, b, hchain, s1, s2, 0.01, HP, 0.0)
    with_l1 = _kernel_step(name, *args, 0.5, 0.0, q, 0, 0)[0][0]
    without = _kernel_step(name, *args, 0.0, 0.0, q, 0, 0)[0][0]
    diff = with_l1 - without
    assert np.all(diff[W > 0] < 0) and np.all(diff[W < 0] > 0)
    assert_array_equal(diff[W == 0], 0.0)
    assert np.count_nonzero(W == 0) == 3
    if name == "sgd":  # exactly -learning_rate * alpha_l1 * sign(W)
        assert_allclose(diff, -0.01 * 0.5 * np.sign(W), atol=1e-15)


def test_sgd_optimiser_path_equals_the_fused_default_path():
    """optimizer="sgd" with alpha_l1=0 runs the fused update (no optimiser group);
    the optimiser group with SGD and no L1 gives the same step."""
    v0, W, c, b, hchain, s1, s2 = _problem(np.float64, seed=2)
    q = np.full(W.shape[0], 0.1)
    args = (v0, W, c, b, hchain, s1, s2, 0.05, HP, 1e-3, 0.0, 0.1, q, 4, 0)
    fused = _kernel_step("sgd", *args, use_optim=False)
    group = _kernel_step("sgd", *args, use_optim=True)
    for a, g in zip(fused[0] + fused[1], group[0] + group[1]):
        assert_allclose(a, g, rtol=0, atol=1e-15)


# --------------------------------------------------------------------------
# 2. Parameters: validation, defaults, bad values named
# --------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [BernoulliRBM, GaussianBernoulliRBM, CategoricalRBM])
def test_defaults_are_momentum_sgd_without_l1(cls):
    p = cls().get_params()
    assert (p["optimizer"], p["beta_1"], p["beta_2"], p["epsilon"], p["rho"],
            p["alpha_l1"]) == ("sgd", 0.9, 0.999, 1e-8, 0.9, 0.0)


@pytest.mark.parametrize("param,value", [
    ("optimizer", "nesterov"), ("optimizer", None), ("beta_1", 1.0), ("beta_2", -0.1),
    ("epsilon", 0.0), ("rho", 1.5), ("alpha_l1", -1e-3), ("alpha_l1", "big"),
])
def test_bad_optimizer_parameters_name_the_parameter(param, value):
    X = np.random.RandomState(0).rand(20, 4)
    m = BernoulliRBM(3, n_iter=1, random_state=0).fit(X)
    before = pickle.dumps(m)
    with pytest.raises((ValueError, TypeError), match=f"'{param}' parameter"):
        m.set_params(**{param: value}).fit(X)
    with pytest.raises((ValueError, TypeError), match=f"'{param}' parameter"):
        m.partial_fit(X)
    m.set_params(**{param: BernoulliRBM().get_params()[param]})
    assert pickle.dumps(m) == before  # nothing was touched


@parametrize_with_checks([
    BernoulliRBM(n_components=3, n_iter=2, optimizer="adam", alpha_l1=1e-4,
                 learning_rate=0.01),
    GaussianBernoulliRBM(n_components=3, n_iter=2, optimizer="rmsprop", learning_rate=0.001,
                         learn_sigma=True),
])
def test_sklearn_estimator_checks_with_an_optimizer(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


# --------------------------------------------------------------------------
# 3. Continuation: the optimiser state is model state
# --------------------------------------------------------------------------


def _fit_then_continue(est, X, how, tmp_path):
    one = clone(est).set_params(n_iter=1).fit(X)
    if how == "pickle":
        one = pickle.loads(pickle.dumps(one))
    else:
        joblib.dump(one, tmp_path / "m.joblib")
        one = joblib.load(tmp_path / "m.joblib")
    return one.partial_fit(X)


@pytest.mark.parametrize("how", ["pickle", "joblib"])
@pytest.mark.parametrize("name,l1", [("sgd", 1e-3), ("adagrad", 0.0), ("rmsprop", 1e-3),
                                     ("adam", 0.0), ("adam", 1e-3)])
def test_two_epochs_equal_one_epoch_then_reload_then_partial_fit(name, l1, how, tmp_path,
                                                                 digits):
    X = digits[0][:300]
    est = BernoulliRBM(16, optimizer=name, alpha_l1=l1, learning_rate=LR[name], n_iter=2,
                       shuffle=False, batch_size=20, random_state=0)
    two = clone(est).fit(X)
    cont = _fit_then_continue(est, X, how, tmp_path)
    assert_array_equal(two.components_, cont.components_)
    assert_array_equal(two.intercept_hidden_, cont.intercept_hidden_)
    assert_array_equal(two.intercept_visible_, cont.intercept_visible_)
    assert cont._optimizer_state[0] == name and cont._optimizer_state[1] == 0
    assert cont._n_updates == two._n_updates == 30


@pytest.mark.parametrize("name", ["adam", "rmsprop"])
def test_gaussian_learn_sigma_continues_exactly(name, tmp_path):
    # (GaussianBernoulliRBM's fit always shuffles: two partial_fit passes instead)
    X = StandardScaler().fit_transform(load_iris().data)
    est = GaussianBernoulliRBM(6, optimizer=name, learning_rate=0.003, learn_sigma=True,
                               random_state=0)
    two = clone(est).partial_fit(X).partial_fit(X)
    cont = pickle.loads(pickle.dumps(clone(est).partial_fit(X))).partial_fit(X)
    assert_array_equal(two.components_, cont.components_)
    assert_array_equal(two.sigma_, cont.sigma_)
    assert not np.all(two.sigma_ == 1.0)  # the variances were learned


def test_adam_without_its_state_would_not_continue(digits):
    """The check above can fail: Adam restarted from zero moments, or with a step
    count restarted at 1, continues differently."""
    X = digits[0][:300]
    est = BernoulliRBM(16, optimizer="adam", learning_rate=0.01, n_iter=1, shuffle=False,
                       batch_size=20, random_state=0).fit(X)
    two = clone(est).set_params(n_iter=2).fit(X)
    name, start, second = est._optimizer_state
    zero_moments = pickle.loads(pickle.dumps(est))
    zero_moments._velocities = [np.zeros_like(a) for a in est._velocities]
    zero_moments._optimizer_state = (name, start, tuple(np.zeros_like(a) for a in second[:3])
                                     + (None,))
    restarted_t = pickle.loads(pickle.dumps(est))
    restarted_t._optimizer_state = (name, est._n_updates, second)
    for other in (zero_moments, restarted_t, est):
        other.partial_fit(X)
    assert not np.allclose(zero_moments.components_, two.components_, atol=1e-3)
    assert not np.allclose(restarted_t.components_, two.components_, atol=1e-3)
    assert_array_equal(est.components_, two.components_)


def test_partial_fit_with_another_optimizer_starts_it_from_zero_state(digits):
    """sgd -> adam between partial_fit calls: Adam's first step (t = 1, zero
    moments) moves each weight by about learning_rate (Kingma and Ba 2015, sec. 2.1)."""
    X = digits[0][:200]
    m = BernoulliRBM(8, learning_rate=0.05, momentum=0.5, batch_size=200, n_iter=3,
                     random_state=0).fit(X)
    W0 = m.components_.copy()
    m.set_params(optimizer="adam", learning_rate=1e-3).partial_fit(X)  # one update
    # |step| = lr |g| / (|g| + epsilon / sqrt(1 - beta_2)) <= lr; a step count
    # continuing from the SGD updates (t = 4) would give about 0.58 lr, Adam
    # moments taken over from the velocities something else again
    step = np.abs(m.components_ - W0)
    assert step.max() <= 1e-3 * (1 + 1e-9)
    assert_allclose(np.median(step), 1e-3, rtol=0.02)
    assert m._optimizer_state[:2] == ("adam", 3)  # started after the 3 SGD updates
    # back to sgd: zero velocities again, a plain gradient step
    m.set_params(optimizer="sgd", momentum=0.9).partial_fit(X)
    assert m._optimizer_state[0] == "sgd" and m._optimizer_state[2] == (None,) * 4


def test_failed_partial_fit_leaves_the_optimizer_state(digits):
    X = digits[0][:100]
    m = BernoulliRBM(8, optimizer="adam", learning_rate=0.01, n_iter=2,
                     random_state=0).fit(X)
    before = pickle.dumps(m)
    with pytest.raises(ValueError, match="features"):
        m.partial_fit(X[:, :10])
    with pytest.raises(ValueError, match="optimizer"):
        m.set_params(optimizer="lbfgs").partial_fit(X)
    m.set_params(optimizer="adam")
    assert pickle.dumps(m) == before


def test_real_sigint_keeps_a_consistent_optimizer_state(digits):
    """Ctrl-C during an Adam fit keeps the completed epochs and their moments:
    partial_fit then continues as from a model stopped there."""
    X = digits[0]
    est = BernoulliRBM(64, optimizer="adam", learning_rate=0.01, n_iter=100000,
                       random_state=0)
    clone(est).set_params(n_iter=1).fit(X[:20])  # compiled before the clock starts
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        timer.start()
        try:
            est.fit(X)
        except KeyboardInterrupt:  # before the first epoch completed: left unfitted
            timer.join()
            assert not hasattr(est, "components_")
            pytest.skip("the machine was too slow for one epoch in 0.5 s")
        timer.join()
    assert est.interrupted_ and est.n_iter_ >= 1
    name, start, (s2W, s2c, s2b, _) = est._optimizer_state
    assert (name, start) == ("adam", 0)
    assert s2W.shape == est.components_.shape and np.all(s2W >= 0) and s2W.max() > 0
    copy = pickle.loads(pickle.dumps(est))
    est.partial_fit(X[:100])
    copy.partial_fit(X[:100])
    assert_array_equal(est.components_, copy.components_)


# --------------------------------------------------------------------------
# 4. Workflows
# --------------------------------------------------------------------------


def test_gridsearch_over_optimizer_in_a_pipeline_on_digits(digits):
    X, y = digits
    pipe = Pipeline([("rbm", BernoulliRBM(32, n_iter=10, random_state=0)),
                     ("clf", LogisticRegression(C=100, max_iter=1000))])
    grid = [{"rbm__optimizer": [name], "rbm__learning_rate": [LR[name]]}
            for name in OPTIMIZERS]
    search = GridSearchCV(pipe, grid, cv=3).fit(X[:600], y[:600])
    scores = dict(zip([p["rbm__optimizer"] for p in search.cv_results_["params"]],
                      search.cv_results_["mean_test_score"]))
    assert set(scores) == set(OPTIMIZERS)
    # measured: sgd 0.775, adagrad 0.763, rmsprop 0.757, adam 0.788
    assert min(scores.values()) > 0.7, scores  # every optimiser learned features
    best = search.best_estimator_.named_steps["rbm"]
    assert best.optimizer == search.best_params_["rbm__optimizer"]
    assert best._optimizer_state[0] == best.optimizer


def test_adam_features_on_digits(digits):
    """Adam-trained RBM features + logistic regression on digits / 16.

    Measured (70/30 split, 64 hidden units, 10 epochs, seeds 0-2): sgd (0.1)
    0.887 mean accuracy, adam (0.01) 0.875 (0.874, 0.867, 0.883), adam (0.003)
    0.767, rmsprop (0.003) 0.766; the threshold leaves a margin for BLAS rounding.
    """
    X, y = digits
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    pipe = Pipeline([("rbm", BernoulliRBM(64, optimizer="adam", learning_rate=0.01,
                                          n_iter=10, random_state=0)),
                     ("clf", LogisticRegression(max_iter=2000))]).fit(Xtr, ytr)
    assert pipe.score(Xte, yte) >= 0.85


@pytest.mark.parametrize("cls", [BernoulliRBM, GaussianBernoulliRBM])
def test_set_params_optimizer_then_refit_equals_a_fresh_model(cls, digits):
    X = digits[0][:200]
    if cls is GaussianBernoulliRBM:
        X = StandardScaler().fit_transform(X)
    kw = dict(n_components=8, n_iter=2, learning_rate=0.005, random_state=0)
    m = cls(**kw).fit(X)
    sgd_W = m.components_.copy()
    m.set_params(optimizer="rmsprop", alpha_l1=1e-3).fit(X)
    fresh = cls(optimizer="rmsprop", alpha_l1=1e-3, **kw).fit(X)
    assert_array_equal(m.components_, fresh.components_)
    assert not np.allclose(m.components_, sgd_W)
    m.set_params(optimizer="sgd", alpha_l1=0.0).fit(X)
    assert_array_equal(m.components_, sgd_W)  # the default path is unchanged by the detour


def test_l1_gives_smaller_weights_on_digits(digits):
    X = digits[0][:500]
    mean_abs = {}
    for l1 in (0.0, 1e-3, 1e-2):
        m = BernoulliRBM(16, alpha_l1=l1, n_iter=5, random_state=0).fit(X)
        mean_abs[l1] = np.abs(m.components_).mean()
    assert mean_abs[0.0] > mean_abs[1e-3] > mean_abs[1e-2], mean_abs


def test_float32_model_with_adam_stays_float32(digits):
    X = digits[0][:200].astype(np.float32)
    m = BernoulliRBM(8, optimizer="adam", learning_rate=0.01, n_iter=2,
                     random_state=0).fit(X)
    assert m.components_.dtype == np.float32
    assert all(a.dtype == np.float32 for a in m._optimizer_state[2][:3])
    assert m.transform(X).dtype == np.float32


def test_dbn_passes_the_optimizer_to_its_layers_through_rbm_params(digits):
    X = digits[0][:300]
    dbn = DBN(hidden_layer_sizes=(16, 8), n_iter=2, random_state=0,
              rbm_params=[{"optimizer": "adam", "learning_rate": 0.01, "alpha_l1": 1e-4},
                          {"optimizer": "rmsprop", "learning_rate": 0.005}]).fit(X)
    assert [r.optimizer for r in dbn.rbms_] == ["adam", "rmsprop"]
    assert [r._optimizer_state[0] for r in dbn.rbms_] == ["adam", "rmsprop"]
    assert dbn.rbms_[0].alpha_l1 == 1e-4
    with pytest.raises(ValueError, match="optimizer"):
        DBN(hidden_layer_sizes=(4,), rbm_params={"optimizer": "nadam"}).fit(X)


def test_dbn_classifier_pretrains_with_the_optimizer_in_pretrain_params(digits):
    X, y = digits[0][:300], digits[1][:300]
    clf = DBNClassifier(hidden_layer_sizes=(16,), n_iter_pretrain=2, max_iter=5,
                        random_state=0,
                        pretrain_params={"rbm_params": {"optimizer": "adam",
                                                        "learning_rate": 0.01,
                                                        "alpha_l1": 1e-4}}).fit(X, y)
    rbm = clf.dbn_.rbms_[0]
    assert (rbm.optimizer, rbm._optimizer_state[0], rbm.alpha_l1) == ("adam", "adam", 1e-4)


def _codes(n=240, seed=0):
    """Category codes of 5 columns with 3 categories, two columns correlated."""
    rng = np.random.RandomState(seed)
    X = rng.randint(0, 3, size=(n, 5))
    X[:, 1] = (X[:, 0] + (rng.rand(n) < 0.2)) % 3
    return X


@pytest.mark.parametrize("name,l1", [("adam", 1e-3), ("sgd", 1e-2), ("rmsprop", 0.0),
                                     ("adagrad", 0.0)])
def test_categorical_rbm_optimizer_and_l1_continue_exactly(name, l1):
    X = _codes()
    est = CategoricalRBM(8, optimizer=name, alpha_l1=l1, learning_rate=LR[name], n_iter=2,
                         shuffle=False, random_state=0)
    two = clone(est).fit(X)
    cont = _fit_then_continue(est, X, "pickle", None)
    assert_array_equal(two.components_, cont.components_)
    assert_array_equal(two.intercept_visible_, cont.intercept_visible_)
    assert cont._optimizer_state[0] == name
    plain = clone(est).set_params(optimizer="sgd", alpha_l1=0.0).fit(X)
    assert not np.allclose(two.components_, plain.components_, atol=1e-6)


def test_categorical_rbm_l1_shrinks_the_weights():
    X = _codes(600)
    W = {l1: CategoricalRBM(8, alpha_l1=l1, n_iter=5, random_state=0).fit(X).components_
         for l1 in (0.0, 0.05)}
    assert np.abs(W[0.05]).mean() < 0.8 * np.abs(W[0.0]).mean()
