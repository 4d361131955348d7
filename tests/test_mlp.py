"""Tests of the backprop network: Numba kernels against NumPy references,
gradients against finite differences, and the fine-tuning loop."""

import os
import re
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning

from rbmlib._kernels import mlp as K
from rbmlib import mlp
from rbmlib.mlp import _Layout, fit_backprop, forward, glorot_uniform

# ----------------------------------------------------------------------------
# NumPy references
# ----------------------------------------------------------------------------
sys.path.insert(0, os.path.dirname(__file__))
from _streams import uniforms as _uniforms  # noqa: E402


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def ref_forward(x, coefs, intercepts, out_kind, keep_hidden=1.0, seed=0, stream0=0):
    """All layer activations, with inverted dropout on the hidden layers."""
    acts = []
    a = x
    L = len(coefs)
    for l, (W, b) in enumerate(zip(coefs, intercepts)):
        z = a @ W + b
        if l < L - 1:
            a = _sigmoid(z)
            if keep_hidden < 1:
                u = _uniforms(seed, stream0 + l + 1, a.shape)
                a = np.where(u < keep_hidden, a / keep_hidden, 0.0)
        elif out_kind == K.SOFTMAX:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
        elif out_kind == K.LOGISTIC:
            a = _sigmoid(z)
        else:
            a = z
        acts.append(a)
    return acts


def ref_loss(y, p, out_kind):
    """Per-row loss: cross-entropy in nats, or half the squared error."""
    if out_kind == K.SOFTMAX:
        return -(y * np.log(p)).sum(axis=1)
    if out_kind == K.LOGISTIC:
        return -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum(axis=1)
    return 0.5 * ((p - y) ** 2).sum(axis=1)


def ref_backward(x, y, coefs, acts, keep_hidden, alpha):
    """Gradients of mean loss + alpha/2 sum ||W||^2 by the textbook recursion."""
    m = x.shape[0]
    L = len(coefs)
    gW = [None] * L
    gb = [None] * L
    d = (acts[-1] - y) / m
    for l in range(L - 1, -1, -1):
        inp = x if l == 0 else acts[l - 1]
        gW[l] = inp.T @ d + alpha * coefs[l]
        gb[l] = d.sum(axis=0)
        if l > 0:
            a = acts[l - 1]
            # a = mask * s / keep, so da/dz = mask * s (1 - s) / keep = a (1 - keep a)
            d = (d @ coefs[l].T) * a * (1 - keep_hidden * a)
    return gW, gb


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------


def _net(sizes, dtype=np.float64, seed=0, scale=0.5):
    rng = np.random.RandomState(seed)
    coefs = [rng.normal(0, scale, (a, b)).astype(dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    ints = [rng.normal(0, scale, b).astype(dtype) for b in sizes[1:]]
    return coefs, ints


def _targets(out_kind, m, k, rng, dtype):
    if out_kind == K.SOFTMAX:
        return np.eye(k, dtype=dtype)[rng.randint(0, k, m)]
    if out_kind == K.LOGISTIC:
        return rng.randint(0, 2, (m, k)).astype(dtype)
    return rng.normal(size=(m, k)).astype(dtype)


class _Bufs:
    def __init__(self, lay, B, dtype):
        self.a_off = lay.a_off(B)
        self.acts = lay.acts(B, dtype)
        self.deltas = np.zeros_like(self.acts)
        self.rowloss = np.zeros(B)

    def layer(self, lay, l, m):
        n = lay.sizes[l + 1]
        return self.acts[self.a_off[l]:self.a_off[l] + m * n].reshape(m, n)


def _kernel_forward_backward(x, y, coefs, ints, out_kind, keep_hidden, alpha, seed, stream0,
                             B=None):
    sizes = [x.shape[1]] + [W.shape[1] for W in coefs]
    lay = _Layout(sizes)
    m = x.shape[0]
    bufs = _Bufs(lay, B or m, x.dtype)
    params = lay.pack(coefs, ints, x.dtype)
    grads = np.zeros_like(params)
    K.forward(x, params, lay.sizes, lay.offsets, bufs.acts, bufs.a_off, out_kind,
              lay.n_layers - 1, y, bufs.rowloss, True, keep_hidden, seed, stream0, _LOGISTIC,
              0.01)
    acts = [bufs.layer(lay, l, m).copy() for l in range(lay.n_layers)]
    K.backward(x, y, params, grads, lay.sizes, lay.offsets, bufs.acts, bufs.deltas, bufs.a_off,
               keep_hidden, alpha, 0.0, np.ones(m), seed, stream0, _LOGISTIC, 0.01)
    gW, gb = lay.unpack(grads)
    return acts, bufs.rowloss[:m].copy(), gW, gb


OUT_KINDS = [K.IDENTITY, K.LOGISTIC, K.SOFTMAX]
_LOGISTIC = np.zeros(8, dtype=np.int64)  # every hidden layer logistic


# ----------------------------------------------------------------------------
# kernels vs NumPy
# ----------------------------------------------------------------------------


def test_uniform_reference_matches_kernel_rng():
    from rbmlib._kernels.sampling import stream_key, uniform
    from numba import njit

    @njit
    def draw(seed, stream, n):
        key = stream_key(seed, np.uint64(stream))
        out = np.empty(n)
        for i in range(n):
            out[i] = uniform(key, i)
        return out

    assert_array_equal(draw(np.uint64(123), 7, 50), _uniforms(123, 7, (50,)))


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("out_kind", OUT_KINDS)
@pytest.mark.parametrize("keep_hidden", [1.0, 0.6])
def test_forward_backward_match_numpy(dtype, rtol, out_kind, keep_hidden):
    rng = np.random.RandomState(1)
    sizes = [7, 6, 5, 4]
    coefs, ints = _net(sizes, dtype)
    m = 9
    x = rng.rand(m, sizes[0]).astype(dtype)
    y = _targets(out_kind, m, sizes[-1], rng, dtype)
    alpha = 0.01
    acts, rowloss, gW, gb = _kernel_forward_backward(
        x, y, coefs, ints, out_kind, keep_hidden, alpha, seed=42, stream0=12, B=11)
    c64 = [W.astype(np.float64) for W in coefs]
    i64 = [b.astype(np.float64) for b in ints]
    ref = ref_forward(x.astype(np.float64), c64, i64, out_kind, keep_hidden, 42, 12)
    for a, r in zip(acts, ref):
        assert a.dtype == dtype
        assert_allclose(a, r, rtol=rtol, atol=rtol)
    if keep_hidden < 1:  # some units really were dropped
        assert np.mean(acts[0] == 0) > 0.1
    assert_allclose(rowloss, ref_loss(y.astype(np.float64), ref[-1], out_kind), rtol=1e-4 if
                    dtype == np.float32 else 1e-10)
    rgW, rgb = ref_backward(x.astype(np.float64), y.astype(np.float64), c64, ref,
                            keep_hidden, alpha)
    for a, r in zip(gW + gb, rgW + rgb):
        assert_allclose(a, r, rtol=10 * rtol, atol=10 * rtol)


@pytest.mark.parametrize("out_kind", OUT_KINDS)
@pytest.mark.parametrize("sizes", [[5, 3], [5, 4, 3], [6, 5, 4, 3]])
def test_gradients_match_finite_differences(out_kind, sizes):
    """Back-propagation equals central differences of the kernel's own loss."""
    rng = np.random.RandomState(2)
    coefs, ints = _net(sizes, np.float64)
    m = 6
    x = rng.rand(m, sizes[0])
    y = _targets(out_kind, m, sizes[-1], rng, np.float64)
    alpha = 0.03
    lay = _Layout(sizes)
    params = lay.pack(coefs, ints, np.float64)
    bufs = _Bufs(lay, m, np.float64)

    def objective(p):
        K.forward(x, p, lay.sizes, lay.offsets, bufs.acts, bufs.a_off, out_kind,
                  lay.n_layers - 1, y, bufs.rowloss, True, 1.0, 0, 0, _LOGISTIC, 0.01)
        pen = sum(0.5 * alpha * np.sum(W ** 2) for W in lay.unpack(p)[0])
        return bufs.rowloss[:m].mean() + pen

    _, _, gW, gb = _kernel_forward_backward(x, y, coefs, ints, out_kind, 1.0, alpha, 0, 0)
    grad = lay.pack(gW, gb, np.float64)
    num = np.empty_like(params)
    eps = 1e-6
    for i in range(params.size):
        p = params.copy()
        p[i] += eps
        fp = objective(p)
        p[i] -= 2 * eps
        fm = objective(p)
        num[i] = (fp - fm) / (2 * eps)
    assert_allclose(grad, num, rtol=1e-6, atol=1e-8)


def test_loss_is_finite_for_saturated_outputs():
    x = np.array([[1000.0, -1000.0]])
    coefs = [np.eye(2)]
    ints = [np.zeros(2)]
    for kind, y in [(K.SOFTMAX, np.array([[0.0, 1.0]])), (K.LOGISTIC, np.array([[0.0, 1.0]]))]:
        _, rowloss, gW, _ = _kernel_forward_backward(x, y, coefs, ints, kind, 1.0, 0.0, 0, 0)
        assert np.isfinite(rowloss).all() and rowloss[0] > 999
        assert np.isfinite(gW[0]).all()


def test_sgd_and_adam_steps_match_numpy():
    rng = np.random.RandomState(3)
    n = 50
    p0, g, v0, m2 = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n), rng.rand(n)
    lr, mu = 0.05, 0.9
    for nesterov in (False, True):
        p, v = p0.copy(), v0.copy()
        K.sgd_step(p, g, v, lr, mu, nesterov)
        v_ref = mu * v0 - lr * g
        p_ref = p0 + (mu * v_ref - lr * g if nesterov else v_ref)
        assert_allclose(v, v_ref, rtol=1e-14)
        assert_allclose(p, p_ref, rtol=1e-14)
    p, a, s = p0.copy(), v0.copy(), m2.copy()
    b1, b2, eps, t = 0.9, 0.999, 1e-8, 3
    K.adam_step(p, g, a, s, lr, b1, b2, eps, t)
    a_ref = b1 * v0 + (1 - b1) * g
    s_ref = b2 * m2 + (1 - b2) * g * g
    lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    assert_allclose(p, p0 - lr_t * a_ref / (np.sqrt(s_ref) + eps), rtol=1e-13)
    assert_allclose(a, a_ref, rtol=1e-14)
    assert_allclose(s, s_ref, rtol=1e-14)


def _ref_epoch(X, Y, order, batch_size, coefs, ints, out_kind, keep_in, keep_h, alpha, lr,
               mu, nesterov, seed, update_index):
    """NumPy version of train_epoch with momentum SGD."""
    coefs = [W.copy() for W in coefs]
    ints = [b.copy() for b in ints]
    vel = [np.zeros_like(a) for a in coefs + ints]
    n = order.size
    nb = -(-n // batch_size)
    start = 0
    total = 0.0
    L = len(coefs)
    for t in range(nb):
        size = n // nb + (1 if t < n % nb else 0)
        rows = order[start:start + size]
        x, y = X[rows].copy(), Y[rows]
        stream0 = (update_index + t) * (L + 1)
        if keep_in < 1:
            u = _uniforms(seed, stream0, x.shape)
            x = np.where(u < keep_in, x / keep_in, 0.0)
        acts = ref_forward(x, coefs, ints, out_kind, keep_h, seed, stream0)
        total += ref_loss(y, acts[-1], out_kind).sum()
        gW, gb = ref_backward(x, y, coefs, acts, keep_h, alpha)
        for i, (p, g) in enumerate(zip(coefs + ints, gW + gb)):
            vel[i] = mu * vel[i] - lr * g
            p += (mu * vel[i] - lr * g) if nesterov else vel[i]
        start += size
    return coefs, ints, total, nb


@pytest.mark.parametrize("sparse_input", [False, True])
def test_train_epoch_matches_numpy(sparse_input):
    rng = np.random.RandomState(4)
    sizes = [8, 6, 5, 3]
    coefs, ints = _net(sizes, scale=0.3)
    n = 23
    X = rng.rand(n, sizes[0]) * (rng.rand(n, sizes[0]) < 0.5)
    Y = _targets(K.SOFTMAX, n, sizes[-1], rng, np.float64)
    order = rng.permutation(n).astype(np.int64)
    B = 5
    kw = dict(out_kind=K.SOFTMAX, keep_in=0.8, keep_h=0.7, alpha=0.01, lr=0.1, mu=0.9,
              nesterov=True, seed=99, update_index=17)
    rc, ri, rtotal, rnb = _ref_epoch(X, Y, order, B, coefs, ints, **kw)

    lay = _Layout(sizes)
    params = lay.pack(coefs, ints, np.float64)
    bufs = _Bufs(lay, B, np.float64)
    z = np.zeros_like(params)
    if sparse_input:
        Xs = sp.csr_matrix(X)
        dense, data, indices, indptr, is_sp = np.zeros((1, sizes[0])), Xs.data, Xs.indices, \
            Xs.indptr, True
    else:
        dense, data, indices, indptr, is_sp = X, np.zeros(1), np.zeros(1, np.int32), \
            np.zeros(2, np.int32), False
    hyper = np.array([kw["mu"], 1.0, 0.9, 0.999, 0.9, 1e-8])
    total, nb = K.train_epoch(
        dense, data, indices, indptr, is_sp, Y, np.ones(n), order, B, params, z.copy(),
        z.copy(), z.copy(), lay.sizes, lay.offsets, bufs.a_off, bufs.acts, bufs.deltas,
        np.zeros((B, sizes[0])), np.zeros((B, sizes[-1])), np.zeros(B), bufs.rowloss,
        K.SOFTMAX, _LOGISTIC, 0.01, kw["keep_in"], kw["keep_h"], kw["alpha"], 0.0, K.SGD,
        kw["lr"], hyper, np.uint64(kw["seed"]), kw["update_index"])
    assert nb == rnb == 5
    assert_allclose(total, rtotal, rtol=1e-10)
    assert_allclose(params, lay.pack(rc, ri, np.float64), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_predict_chunks_sparse_and_layers(dtype, monkeypatch):
    import rbmlib.mlp as mlp_mod

    monkeypatch.setattr(mlp_mod, "PREDICT_CHUNK", 4)  # several chunks, a short last one
    rng = np.random.RandomState(5)
    sizes = [6, 5, 4, 3]
    coefs, ints = _net(sizes, dtype)
    X = (rng.rand(11, 6) * (rng.rand(11, 6) < 0.4)).astype(dtype)
    ref = ref_forward(X.astype(np.float64), coefs, ints, K.SOFTMAX)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    out = forward(X, coefs, ints, "softmax")
    assert out.dtype == dtype
    assert_allclose(out, ref[-1], rtol=tol, atol=tol)
    assert_allclose(forward(sp.csr_matrix(X), coefs, ints, "softmax"), out, rtol=tol)
    assert_allclose(forward(X, coefs, ints, "softmax", layer=-2), ref[1], rtol=tol, atol=tol)
    assert_allclose(forward(X, coefs, ints, "softmax", layer=0), ref[0], rtol=tol, atol=tol)


# ----------------------------------------------------------------------------
# fit_backprop
# ----------------------------------------------------------------------------


def _problem(n=120, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.rand(n, 6)
    y = (X[:, 0] + X[:, 1] > X[:, 2] + 0.5).astype(int) + (X[:, 3] > 0.7)
    Y = np.eye(3)[y]
    rng2 = np.random.RandomState(1)
    coefs = [glorot_uniform(6, 8, rng2, np.float64), glorot_uniform(8, 3, rng2, np.float64)]
    ints = [np.zeros(8), np.zeros(3)]
    return X, Y, y, coefs, ints


def _acc(Y, P):
    return float(np.mean(P.argmax(1) == Y.argmax(1)))


def _past_plateau():
    """_problem with weights trained below the constant-prediction loss (whose
    plateau does not count towards stopping), to test the stopping rule itself."""
    X, Y, y, coefs, ints = _problem()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = fit_backprop(X, Y, coefs, ints, out_activation="softmax", score=_acc,
                           rng=np.random.RandomState(0), solver="adam",
                           learning_rate_init=0.05, max_iter=100, tol=0.0)
    assert res.loss_curve[-1] < 0.9 * mlp._constant_loss(Y, "softmax")
    return X, Y, y, res.coefs, res.intercepts


def test_plateau_at_the_constant_loss_does_not_stop_training():
    X, Y, y, coefs, ints = _problem()
    with pytest.warns(ConvergenceWarning, match="maximum iterations.*constant prediction"):
        res = fit_backprop(X, Y, coefs, ints, out_activation="softmax", score=_acc,
                           rng=np.random.RandomState(0), learning_rate_init=1e-9,
                           n_iter_no_change=2, max_iter=8)
    assert res.n_iter == 8 and not res.converged


@pytest.mark.parametrize("solver,nesterov", [("sgd", False), ("sgd", True), ("adam", False)])
def test_fit_backprop_reduces_loss(solver, nesterov):
    X, Y, y, coefs, ints = _problem()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = fit_backprop(X, Y, coefs, ints, out_activation="softmax", score=_acc,
                           rng=np.random.RandomState(0), solver=solver,
                           learning_rate_init=0.5 if solver == "sgd" else 0.05,
                           nesterovs_momentum=nesterov, max_iter=40, batch_size=16)
    assert res.loss_curve[-1] < 0.6 * res.loss_curve[0]
    assert res.n_iter == len(res.loss_curve) == 40
    assert res.t == 40 * X.shape[0]
    assert _acc(Y, forward(X, res.coefs, res.intercepts, "softmax")) > 0.8
    assert coefs[0] is not res.coefs[0]  # inputs untouched


def test_fit_backprop_convergence_warning_and_stopping():
    X, Y, y, coefs, ints = _past_plateau()
    kw = dict(out_activation="softmax", score=_acc, learning_rate_init=0.5, batch_size=16)
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        fit_backprop(X, Y, coefs, ints, rng=np.random.RandomState(0), max_iter=3, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = fit_backprop(X, Y, coefs, ints, rng=np.random.RandomState(0), max_iter=500,
                           tol=10.0, n_iter_no_change=2, **kw)
    # epoch 1 improves on +inf; epochs 2-4 never improve by 10 nats: 3 > n_iter_no_change
    assert res.converged and res.n_iter == 4


def test_early_stopping_restores_best_weights():
    X, Y, y, coefs, ints = _problem(n=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = fit_backprop(X, Y, coefs, ints, out_activation="softmax", score=_acc,
                           rng=np.random.RandomState(0), learning_rate_init=2.0,
                           early_stopping=True, validation_fraction=0.2, stratify=y,
                           max_iter=25, n_iter_no_change=30, batch_size=8)
    assert len(res.validation_scores) == res.n_iter == 25
    assert res.best_validation_score == max(res.validation_scores)
    assert res.best_loss is None
    # the kept weights reproduce the best validation score on the same split
    from sklearn.model_selection import train_test_split

    rng = np.random.RandomState(0)
    split_seed = rng.randint(np.iinfo(np.int32).max)
    _, Xv, _, Yv = train_test_split(X, Y, test_size=0.2, random_state=split_seed, stratify=y)
    P = forward(Xv, res.coefs, res.intercepts, "softmax")
    assert _acc(Yv, P) == res.best_validation_score


def test_adaptive_schedule_divides_learning_rate(capsys):
    X, Y, y, coefs, ints = _past_plateau()
    capsys.readouterr()
    fit_backprop(X, Y, coefs, ints, out_activation="softmax", score=_acc,
                 rng=np.random.RandomState(0), learning_rate="adaptive", tol=10.0,
                 n_iter_no_change=1, max_iter=6, verbose=1, learning_rate_init=0.1)
    out = capsys.readouterr().out
    assert "Setting learning rate to 0.02" in out
    lines = [ln for ln in out.splitlines() if "Iteration" in ln]
    assert len(lines) == 6
    assert re.search(r"Iteration 1, loss = [0-9.]+, learning rate = 0\.1, time = [0-9.]+s, "
                     r"time left ~ [0-9.]+s", lines[0])


def test_schedules_and_results_do_not_depend_on_threads():
    import numba

    X, Y, y, coefs, ints = _problem()
    kw = dict(out_activation="softmax", score=_acc, learning_rate="cosine", dropout=0.3,
              input_dropout=0.2, max_iter=4, batch_size=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        r1 = fit_backprop(X, Y, coefs, ints, rng=np.random.RandomState(0), n_jobs=1, **kw)
        r2 = fit_backprop(X, Y, coefs, ints, rng=np.random.RandomState(0),
                          n_jobs=numba.config.NUMBA_NUM_THREADS, **kw)
        r3 = fit_backprop(X, Y, coefs, ints, rng=np.random.RandomState(1), n_jobs=1, **kw)
    for a, b in zip(r1.coefs, r2.coefs):
        assert_array_equal(a, b)
    assert not np.array_equal(r1.coefs[0], r3.coefs[0])


def test_float32_stays_float32_and_regression():
    rng = np.random.RandomState(0)
    X = rng.rand(150, 4).astype(np.float32)
    Yr = np.column_stack([X.sum(1), X[:, 0] - X[:, 1]]).astype(np.float32)
    coefs = [glorot_uniform(4, 10, rng, np.float32), glorot_uniform(10, 2, rng, np.float32)]
    ints = [np.zeros(10, np.float32), np.zeros(2, np.float32)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = fit_backprop(X, Yr, coefs, ints, out_activation="identity",
                           score=lambda a, b: 0.0, rng=rng, solver="adam",
                           learning_rate_init=0.01, max_iter=60, batch_size=10)
    assert all(W.dtype == np.float32 for W in res.coefs + res.intercepts)
    P = forward(X, res.coefs, res.intercepts, "identity")
    assert P.dtype == np.float32
    assert np.mean((P - Yr) ** 2) < 0.1 * np.var(Yr, axis=0).sum()


def test_divergence_raises():
    X, Y, y, coefs, ints = _problem()
    with pytest.raises(ValueError, match="diverged.*learning_rate_init"):
        fit_backprop(X, Y, coefs, ints, out_activation="identity", score=_acc,
                     rng=np.random.RandomState(0), learning_rate_init=1e6, max_iter=50)


def test_early_stopping_needs_rows():
    X, Y, y, coefs, ints = _problem()
    with pytest.raises(ValueError, match="validation_fraction"):
        fit_backprop(X[:1], Y[:1], coefs, ints, out_activation="softmax", score=_acc,
                     rng=np.random.RandomState(0), early_stopping=True)


# ----------------------------------------------------------------------------
# hidden activations, L1, sample weights: gradients against finite differences
# ----------------------------------------------------------------------------

_ACT_NAMES = ["logistic", "tanh", "relu", "leaky_relu", "identity"]


def _objective_and_grad(x, y, params, lay, kinds, slope, keep, alpha, alpha_l1, w, out_kind,
                        seed=5, stream0=3):
    m = x.shape[0]
    bufs = _Bufs(lay, m, np.float64)
    K.forward(x, params, lay.sizes, lay.offsets, bufs.acts, bufs.a_off, out_kind,
              lay.n_layers - 1, y, bufs.rowloss, True, keep, seed, stream0, kinds, slope)
    coefs = lay.unpack(params)[0]
    obj = (np.sum(w * bufs.rowloss[:m]) / w.sum()
           + sum(0.5 * alpha * np.sum(W ** 2) + alpha_l1 * np.abs(W).sum() for W in coefs))
    grads = np.zeros_like(params)
    K.backward(x, y, params, grads, lay.sizes, lay.offsets, bufs.acts, bufs.deltas,
               bufs.a_off, keep, alpha, alpha_l1, w, seed, stream0, kinds, slope)
    return obj, grads


@pytest.mark.parametrize("keep", [1.0, 0.6])
@pytest.mark.parametrize("act", _ACT_NAMES + [["tanh", "leaky_relu"]])
def test_gradient_per_activation_matches_finite_differences(act, keep):
    from rbmlib.mlp import hidden_kinds

    rng = np.random.RandomState(11)
    sizes = [5, 7, 6, 3]
    coefs, ints = _net(sizes, scale=0.6)
    lay = _Layout(sizes)
    params = lay.pack(coefs, ints, np.float64)
    m = 9
    x = rng.rand(m, sizes[0])
    y = _targets(K.SOFTMAX, m, sizes[-1], rng, np.float64)
    w = rng.rand(m) + 0.1  # sample weights
    kinds = hidden_kinds([act] * 2 if isinstance(act, str) else act, 2)
    kw = dict(lay=lay, kinds=kinds, slope=0.1, keep=keep, alpha=0.02, alpha_l1=0.01, w=w,
              out_kind=K.SOFTMAX)
    _, grad = _objective_and_grad(x, y, params, **kw)
    num = np.empty_like(params)
    eps = 1e-6
    for i in range(params.size):
        p1, p2 = params.copy(), params.copy()
        p1[i] += eps
        p2[i] -= eps
        num[i] = (_objective_and_grad(x, y, p1, **kw)[0]
                  - _objective_and_grad(x, y, p2, **kw)[0]) / (2 * eps)
    assert_allclose(grad, num, rtol=1e-4, atol=1e-6)


def test_hidden_activation_values_match_numpy():
    from scipy.special import expit

    from rbmlib.mlp import forward

    rng = np.random.RandomState(0)
    X = rng.normal(size=(20, 4))
    coefs, ints = _net([4, 5, 3], scale=1.0)
    refs = {"logistic": expit, "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0),
            "leaky_relu": lambda z: np.where(z > 0, z, 0.2 * z), "identity": lambda z: z}
    for name, f in refs.items():
        H = forward(X, coefs, ints, "softmax", layer=0, activation=name, negative_slope=0.2)
        assert_allclose(H, f(X @ coefs[0] + ints[0]), rtol=1e-12, atol=1e-14)


def test_unknown_activation_is_a_clear_error():
    from rbmlib.mlp import hidden_kinds

    with pytest.raises(ValueError, match="activation must be one of"):
        hidden_kinds("softplus", 2)
    with pytest.raises(ValueError, match="one name per hidden layer"):
        hidden_kinds(["tanh"], 2)
