"""rbmlib.optim: each optimiser against NumPy, scikit-learn's optimisers and torch.optim's formulas."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer

from rbmlib._kernels import optim as K
from rbmlib.optim import SOLVERS, Optimizer, scheduled_learning_rate


def _problem(seed=0, shapes=((4, 3), (3,), (3, 2))):
    rng = np.random.RandomState(seed)
    params = [rng.normal(size=s) for s in shapes]
    grads = [[rng.normal(size=s) for s in shapes] for _ in range(5)]
    return params, grads


# ----------------------------------------------------------------------------
# one step of each kernel against a NumPy version written here
# ----------------------------------------------------------------------------


def test_adagrad_and_rmsprop_steps_match_numpy():
    rng = np.random.RandomState(1)
    p0, g, s0 = rng.normal(size=40), rng.normal(size=40), rng.rand(40)
    lr, eps, rho = 0.03, 1e-8, 0.9
    p, s = p0.copy(), s0.copy()
    K.adagrad_step(p, g, s, lr, eps)
    assert_allclose(s, s0 + g * g, rtol=1e-15)
    assert_allclose(p, p0 - lr * g / (np.sqrt(s0 + g * g) + eps), rtol=1e-14)
    p, s = p0.copy(), s0.copy()
    K.rmsprop_step(p, g, s, lr, rho, eps)
    r = rho * s0 + (1 - rho) * g * g
    assert_allclose(s, r, rtol=1e-15)
    assert_allclose(p, p0 - lr * g / (np.sqrt(r) + eps), rtol=1e-14)


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_step_dispatch_matches_the_named_kernel(solver):
    rng = np.random.RandomState(2)
    p0, g = rng.normal(size=30), rng.normal(size=30)
    opt = Optimizer(solver, learning_rate_init=0.05, momentum=0.8, rho=0.7, beta_1=0.8,
                    beta_2=0.95, epsilon=1e-6)
    kind, hyper = opt.kernel_args()
    p, s1, s2 = p0.copy(), np.zeros(30), np.zeros(30)
    K.step(kind, p, g, s1, s2, 0.05, hyper, 1)
    q, v1, v2 = p0.copy(), np.zeros(30), np.zeros(30)
    if solver == "sgd":
        K.sgd_step(q, g, v1, 0.05, 0.8, True)
    elif solver == "adam":
        K.adam_step(q, g, v1, v2, 0.05, 0.8, 0.95, 1e-6, 1)
    elif solver == "adagrad":
        K.adagrad_step(q, g, v1, 0.05, 1e-6)
    else:
        K.rmsprop_step(q, g, v1, 0.05, 0.7, 1e-6)
    assert_allclose(p, q, rtol=0, atol=0)
    assert not np.allclose(p, p0)


# ----------------------------------------------------------------------------
# against scikit-learn's SGDOptimizer and AdamOptimizer on the same gradients
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_matches_sklearn_sgd_optimizer(nesterov):
    params, grads = _problem()
    ours = [p.copy() for p in params]
    theirs = [p.copy() for p in params]
    opt = Optimizer("sgd", learning_rate_init=0.1, momentum=0.9, nesterovs_momentum=nesterov)
    sk = SGDOptimizer(theirs, learning_rate_init=0.1, lr_schedule="constant", momentum=0.9,
                      nesterov=nesterov)
    for g in grads:
        opt.update_params(ours, g)
        sk.update_params(theirs, g)
    for a, b in zip(ours, theirs):
        assert_allclose(a, b, rtol=1e-13)


def test_adam_matches_sklearn_adam_optimizer():
    params, grads = _problem(3)
    ours = [p.copy() for p in params]
    theirs = [p.copy() for p in params]
    opt = Optimizer("adam", learning_rate_init=0.01, beta_1=0.85, beta_2=0.99, epsilon=1e-7)
    sk = AdamOptimizer(theirs, learning_rate_init=0.01, beta_1=0.85, beta_2=0.99,
                       epsilon=1e-7)
    for g in grads:
        opt.update_params(ours, g)
        sk.update_params(theirs, g)
    for a, b in zip(ours, theirs):
        assert_allclose(a, b, rtol=1e-12)


# ----------------------------------------------------------------------------
# against torch.optim's documented update formulas (written out, not torch's code)
# ----------------------------------------------------------------------------


def _torch_formulas(solver, p, grads, lr, mu=0.9, nesterov=False, alpha=0.99, eps=1e-8):
    """The algorithms of the torch.optim documentation, weight_decay=0, maximize=False."""
    p = p.copy()
    state = np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        if solver == "sgd":  # b_t = mu b_{t-1} + g (b_1 = g); g = g + mu b_t if nesterov
            state = g.copy() if t == 1 else mu * state + g
            step = g + mu * state if nesterov else state
            p = p - lr * step
        elif solver == "adagrad":  # lr_decay = 0, initial_accumulator_value = 0
            state = state + g * g
            p = p - lr * g / (np.sqrt(state) + eps)
        elif solver == "rmsprop":  # centered=False, momentum=0
            state = alpha * state + (1 - alpha) * g * g
            p = p - lr * g / (np.sqrt(state) + eps)
    return p


@pytest.mark.parametrize("solver,nesterov", [("sgd", False), ("sgd", True),
                                             ("adagrad", False), ("rmsprop", False)])
def test_updates_match_torch_optim_formulas(solver, nesterov):
    rng = np.random.RandomState(4)
    p0 = rng.normal(size=25)
    grads = [rng.normal(size=25) for _ in range(6)]
    opt = Optimizer(solver, learning_rate_init=0.02, momentum=0.9,
                    nesterovs_momentum=nesterov, rho=0.99, epsilon=1e-8)
    p = [p0.copy()]
    for g in grads:
        opt.update_params(p, [g])
    assert_allclose(p[0], _torch_formulas(solver, p0, grads, 0.02, nesterov=nesterov),
                    rtol=1e-12)


def test_schedules():
    assert scheduled_learning_rate("constant", 0.1, 7, 10) == 0.1
    assert scheduled_learning_rate("invscaling", 0.1, 3, 10, power_t=0.5) == 0.1 / 2
    assert_allclose(scheduled_learning_rate("cosine", 0.1, 5, 10), 0.05)
    assert scheduled_learning_rate("adaptive", 0.1, 5, 10, current=0.02) == 0.02
    opt = Optimizer("sgd", learning_rate_init=1e-5, learning_rate="adaptive")
    assert opt.on_plateau() and np.isclose(opt.lr, 2e-6)
    assert not opt.on_plateau()  # 4e-7 would fall below 1e-6: stop
    with pytest.raises(ValueError, match="learning_rate must be one of"):
        scheduled_learning_rate("step", 0.1, 0, 1)
    with pytest.raises(ValueError, match="solver must be one of"):
        Optimizer("lbfgs")
