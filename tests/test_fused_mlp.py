"""The fused fine-tuning epoch on Numba's threads (rbmlib._kernels.mlp.train_epoch_fused).

On more than one Numba thread, :func:`rbmlib._kernels.mlp.train_epoch` runs
each update's products split into one block per thread, a single-threaded
BLAS call per block followed by that block's elementwise work (bias,
activation, dropout, derivative, penalties, optimiser step, max-norm; issue
25). Checked here against the unfused one-thread epoch (itself checked against
NumPy and finite differences in test_mlp.py): the same mini-batches and
dropout uniforms, so the parameters, optimiser state and loss agree to
rounding for every solver, activation, output and option; a block count that
leaves blocks empty; the estimator at n_jobs=2 against n_jobs=1; the BLAS's
thread count comes back after a fit.
"""

import numba
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from rbmlib._kernels import mlp as K
from rbmlib._kernels.optim import ADAGRAD, ADAM, RMSPROP, SGD
from rbmlib._kernels.threads import BLAS_CONTROL, blas_threads
from rbmlib._parallel import thread_limits
from rbmlib.mlp import _Layout

needs_two = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2 or not BLAS_CONTROL,
                               reason="needs two Numba threads and OpenBLAS behind SciPy")


def _setup(sizes, n, B, dtype, out_kind, kinds, sparse=False, seed=0):
    rng = np.random.default_rng(seed)
    lay = _Layout(sizes)
    X = rng.random((n, sizes[0])).astype(dtype)
    X[X < 0.3] = 0.0
    if out_kind == K.SOFTMAX:
        Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], n)]
    elif out_kind == K.LOGISTIC:
        Y = (rng.random((n, sizes[-1])) < 0.5).astype(dtype)
    else:
        Y = rng.normal(size=(n, sizes[-1])).astype(dtype)
    SW = rng.uniform(0.5, 1.5, n)
    params = (rng.normal(size=lay.n_params) * 0.3).astype(dtype)
    if sparse:
        import scipy.sparse as sp
        Xs = sp.csr_matrix(X)
        Xk = (np.zeros((1, 1), dtype), Xs.data.astype(dtype), Xs.indices.astype(np.int64),
              Xs.indptr.astype(np.int64), True)
    else:
        Xk = (X, np.zeros(1, dtype), np.zeros(1, np.int64), np.zeros(2, np.int64), False)
    state = dict(params=params, grads=np.zeros(lay.n_params, dtype),
                 s1=(rng.random(lay.n_params) * 0.01).astype(dtype),  # >= 0: Adagrad/RMSprop
                 s2=(rng.random(lay.n_params) * 0.01).astype(dtype),
                 acts=lay.acts(B, dtype), deltas=lay.acts(B, dtype),
                 xbuf=np.zeros((B, sizes[0]), dtype), ybuf=np.zeros((B, sizes[-1]), dtype),
                 wbuf=np.zeros(B), rowloss=np.zeros(B))
    common = (lay, Xk, Y, SW, rng.permutation(n).astype(np.int64), B,
              np.asarray(kinds, np.int64))
    return common, state


def _run(common, state, fused_blocks, out_kind, keep_in, keep, alpha, alpha_l1, solver,
         hyper, max_norm, update_index=3, lr=0.05, slope=0.1, seed=np.uint64(12345)):
    lay, Xk, Y, SW, order, B, kinds = common
    s = {k: v.copy() for k, v in state.items()}
    args = (*Xk, Y, SW, order, B, s["params"], s["grads"], s["s1"], s["s2"], lay.sizes,
            lay.offsets, lay.a_off(B), s["acts"], s["deltas"], s["xbuf"], s["ybuf"],
            s["wbuf"], s["rowloss"], out_kind, kinds, slope, keep_in, keep, alpha, alpha_l1,
            solver, lr, hyper, seed, update_index)
    if fused_blocks:
        loss, n_up = K.train_epoch_fused(*args, max_norm, fused_blocks)
    else:
        old = numba.get_num_threads()
        numba.set_num_threads(1)  # the unfused path
        try:
            loss, n_up = K.train_epoch(*args, max_norm)
        finally:
            numba.set_num_threads(old)
    return loss, n_up, s


def _hyper(nesterov=1.0):
    return np.array([0.9, nesterov, 0.9, 0.999, 0.9, 1e-8])


CASES = [
    # sizes, dtype, out_kind, hidden kinds, keep_in, keep, alpha, alpha_l1, solver, max_norm
    ((37, 50, 41, 6), np.float64, K.SOFTMAX, (K.H_LOGISTIC, K.H_LOGISTIC), 0.8, 0.5, 1e-3,
     0.0, SGD, 1.2),
    # (float32 -- another ~40 s of compilation -- runs in the estimator test below)
    ((20, 70, 3), np.float64, K.LOGISTIC, (K.H_TANH,), 1.0, 0.7, 0.0, 1e-3, ADAM, 0.0),
    ((20, 33, 40, 2), np.float64, K.IDENTITY, (K.H_RELU, K.H_LEAKY_RELU), 1.0, 1.0, 1e-2,
     0.0, RMSPROP, 0.8),
    ((20, 33, 5), np.float64, K.SOFTMAX, (K.H_IDENTITY,), 0.9, 0.8, 0.0, 0.0, ADAGRAD, 0.0),
    ((20, 4), np.float64, K.SOFTMAX, (), 0.9, 1.0, 1e-3, 0.0, SGD, 0.0),  # no hidden layer
]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("blocks", [2, 3])
def test_fused_epoch_matches_unfused(case, blocks):
    sizes, dtype, out_kind, kinds, keep_in, keep, alpha, alpha_l1, solver, max_norm = case
    common, state = _setup(sizes, 53, 10, dtype, out_kind, kinds)
    hyper = _hyper()
    ref = _run(common, state, 0, out_kind, keep_in, keep, alpha, alpha_l1, solver, hyper,
               max_norm)
    got = _run(common, state, blocks, out_kind, keep_in, keep, alpha, alpha_l1, solver, hyper,
               max_norm)
    assert got[1] == ref[1] == 6
    tol = 2e-4 if dtype == np.float32 else 1e-10
    assert_allclose(got[0], ref[0], rtol=tol)
    for key in ("params", "s1", "s2"):
        assert_allclose(got[2][key], ref[2][key], rtol=tol, atol=tol)
    # the epoch moved the parameters, and dropout (when on) dropped something
    assert np.abs(ref[2]["params"] - state["params"]).max() > 1e-3


def test_fused_epoch_sparse_rows_and_plain_momentum():
    sizes = (37, 50, 41, 6)
    common, state = _setup(sizes, 40, 7, np.float64, K.SOFTMAX, (K.H_LOGISTIC, K.H_TANH),
                           sparse=True)
    hyper = _hyper(nesterov=0.0)
    args = (K.SOFTMAX, 0.8, 0.6, 1e-3, 0.0, SGD, hyper, 1.0)
    ref = _run(common, state, 0, *args)
    got = _run(common, state, 2, *args)
    assert_allclose(got[0], ref[0], rtol=1e-10)
    assert_allclose(got[2]["params"], ref[2]["params"], rtol=1e-10, atol=1e-12)


def test_fused_epoch_same_bits_for_one_block():
    """One block: the same products as the unfused path up to BLAS's call shapes; with
    64 blocks on a tiny layer most blocks are empty and the result is still the same."""
    sizes = (20, 30, 25, 4)
    common, state = _setup(sizes, 30, 8, np.float64, K.SOFTMAX, (K.H_LOGISTIC,) * 2)
    hyper = _hyper()
    args = (K.SOFTMAX, 0.9, 0.5, 1e-3, 1e-4, SGD, hyper, 1.5)
    ref = _run(common, state, 0, *args)
    for blocks in (1, 64):
        got = _run(common, state, blocks, *args)
        assert_allclose(got[2]["params"], ref[2]["params"], rtol=1e-12, atol=1e-14)


@needs_two
@pytest.mark.filterwarnings("ignore:.*maximum iterations")
def test_classifier_two_threads_agrees_with_one_and_restores_blas():
    from rbmlib.dbn import DBNClassifier

    rng = np.random.default_rng(0)
    X = rng.random((120, 64)).astype(np.float32)
    y = (X[:, :32].sum(1) > X[:, 32:].sum(1)).astype(int) + 2 * (X[:, 0] > 0.5)
    kw = dict(hidden_layer_sizes=(128, 64), n_iter_pretrain=0, max_iter=3, batch_size=20,
              dropout=0.5, input_dropout=0.2, max_norm=2.0, random_state=0)
    one = DBNClassifier(n_jobs=1, **kw).fit(X, y)
    before = blas_threads()
    two = DBNClassifier(n_jobs=2, **kw).fit(X, y)
    assert blas_threads() == before
    n_params = sum(c.size + b.size for c, b in zip(two.coefs_, two.intercepts_))
    # the fused path ran: inside the fit n_jobs=2 sets two Numba threads (outside it
    # a pytest-xdist worker runs at one thread, conftest.py)
    with thread_limits(2):
        assert K.fused_blocks(n_params) == numba.get_num_threads() == 2
    for a, b in zip(one.coefs_, two.coefs_):
        assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    assert_allclose(one.loss_curve_, two.loss_curve_, rtol=1e-4)
    assert_array_equal(one.predict(X), two.predict(X))
