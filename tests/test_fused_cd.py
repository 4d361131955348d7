"""The fused CD-1 update on Numba's threads (rbmlib._kernels.cd._fused_pcd1_update).

On more than one Numba thread, persistent CD-1 with momentum SGD runs each
update in two parallel regions, every thread computing a block of columns of
each matrix product with a single-threaded BLAS call and the elementwise work
on it (issue 25). Checked here: one update against NumPy on the kernels' own
random numbers; the same blocks give the same bits on one thread and on two;
the unfused one-thread epoch and the fused one agree closely (the products'
rounding may differ, never the random numbers); the BLAS's thread count comes
back after a fit.
"""

import os
import sys

import numba
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from threadpoolctl import threadpool_info

from rbmlib import BernoulliRBM
from rbmlib._kernels import cd as K
from rbmlib._kernels.negative import PCD, PCD_MEAN_FIELD
from rbmlib._kernels.threads import BLAS_CONTROL, blas_threads, set_blas_threads

needs_two = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2 or not BLAS_CONTROL,
                               reason="needs two Numba threads and OpenBLAS behind SciPy")

sys.path.insert(0, os.path.dirname(__file__))
from _streams import uniforms as _uniforms


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _state(V, H, B, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "X": (rng.random((4 * B, V)) < 0.3).astype(dtype),
        "W": (0.05 * rng.standard_normal((H, V))).astype(dtype),
        "c": (0.1 * rng.standard_normal(H)).astype(dtype),
        "b": (0.1 * rng.standard_normal(V)).astype(dtype),
        "sigma": np.ones(V, dtype),
        "vel_W": (0.01 * rng.standard_normal((H, V))).astype(dtype),
        "vel_c": (0.01 * rng.standard_normal(H)).astype(dtype),
        "vel_b": (0.01 * rng.standard_normal(V)).astype(dtype),
        "hchain": (rng.random((B, H)) < 0.5).astype(dtype),
        "sq": np.full(H, 0.2, dtype),
        "Vcat": np.zeros((2 * B, V), dtype), "Hcat": np.zeros((2 * B, H), dtype),
        "hs": np.zeros((B, H), dtype), "pre_v": np.zeros((B, V), dtype),
        "grad": np.zeros((H, V), dtype),
    }


def _groups(s):
    e = s["sigma"][:0]
    return ((s["W"], s["c"], s["b"], s["sigma"], e), (s["vel_W"], s["vel_c"], s["vel_b"], e),
            (s["hchain"], s["sq"]),
            (s["Vcat"], s["Hcat"], s["hs"], s["pre_v"], s["grad"], np.zeros((0, 0), np.int32)))


_HYPER = (0.05, 0.5, 1e-3, 0.1, 0.2, 0.9, 0.0, 0.0)  # lr, momentum, decay, sparsity (p, cost, decay)


def _epoch(s, n_rows, B, phase=PCD, hyper=_HYPER, seed=7):
    params, velocities, chains, scratch = _groups(s)
    order = np.arange(n_rows, dtype=np.int64)
    X = s["X"]
    rows = (X, np.zeros(1, X.dtype), np.zeros(1, np.int32), np.zeros(2, np.int32), False)
    K.cd_epoch(rows, order, B, (1, phase, 0, 0, False), np.uint64(seed),
               0, params, np.zeros(1, np.int64), velocities, chains, scratch, hyper)


def _numpy_update(s, B, hyper=_HYPER, seed=7):
    """One persistent CD-1 update with momentum SGD, weight decay and the sparsity term."""
    lr, mom, wd, p, cost, decay = hyper[:6]
    W, c, b = (s[k].astype(np.float64) for k in ("W", "c", "b"))
    v0, h = s["X"][:B].astype(np.float64), s["hchain"].astype(np.float64)
    vk = (_uniforms(seed, 1, (B, W.shape[1])) < _sigmoid(h @ W + b)).astype(np.float64)
    ph0, phk = _sigmoid(v0 @ W.T + c), _sigmoid(vk @ W.T + c)
    hk = (_uniforms(seed, 2, phk.shape) < phk).astype(np.float64)
    q = decay * s["sq"] + (1 - decay) * ph0.mean(0)
    vel_c = mom * s["vel_c"] + lr * ((ph0 - phk).mean(0) - cost * (q - p))
    vel_b = mom * s["vel_b"] + lr * (v0 - vk).mean(0)
    vel_W = mom * s["vel_W"] + lr * (ph0.T @ v0 - phk.T @ vk) / B
    vel_W = vel_W - lr * wd * W - lr * cost * np.outer(q - p, v0.mean(0))
    return {"W": W + vel_W, "c": c + vel_c, "b": b + vel_b, "hchain": hk, "sq": q, "vel_W": vel_W}


@needs_two
def test_fused_update_matches_numpy():
    """One fused update (two threads, float64) against NumPy on the kernels' random numbers."""
    B, V, H = 40, 300, 130
    s = _state(V, H, B, np.float64)
    want = _numpy_update(s, B)
    old = numba.get_num_threads()
    numba.set_num_threads(2)
    try:
        assert K.fused_blocks((1, PCD, 0, 0, False), (s["hchain"], s["sq"]), s["W"]) == 2
        _epoch(s, B, B)
    finally:
        numba.set_num_threads(old)
    assert_array_equal(s["hchain"], want["hchain"])
    for k in ("W", "c", "b", "sq", "vel_W"):
        assert_allclose(s[k], want[k], rtol=1e-12, atol=1e-14, err_msg=k)


@numba.njit
def _fused_epoch_blocks(blocks, X, n_batches, B, phase, seed, params, velocities, chains,
                        scratch, hyper):
    for t in range(n_batches):
        K.gather_dense(X, np.arange(X.shape[0]), t * B, (t + 1) * B, scratch[0])
        K._fused_pcd1_update(B, blocks, (1, phase, 0, 0, False), seed, t, params, velocities,
                             chains, scratch, hyper)


@needs_two
@pytest.mark.parametrize("phase", [PCD, PCD_MEAN_FIELD])
def test_fused_blocks_give_the_same_bits_on_any_thread_count(phase):
    """The result depends on the blocks, never on the threads that compute them."""
    B, V, H = 25, 200, 150
    out = []
    for threads in (1, 2):
        s = _state(V, H, B, np.float32)
        old, blas = numba.get_num_threads(), blas_threads()
        numba.set_num_threads(threads)
        set_blas_threads(1)
        try:
            _fused_epoch_blocks(2, s["X"], 4, B, phase, np.uint64(3), *_groups(s), _HYPER)
        finally:
            numba.set_num_threads(old)
            set_blas_threads(blas)
        out.append(s)
    for k in ("W", "c", "b", "hchain", "sq", "vel_W", "vel_c", "vel_b"):
        assert_array_equal(out[0][k], out[1][k], err_msg=k)


@needs_two
def test_fused_epoch_is_close_to_the_one_thread_epoch():
    """Same random numbers, products rounded in other orders: close, and the chains agree."""
    B, V, H = 50, 256, 128
    out = []
    for threads in (1, 2):
        s = _state(V, H, B, np.float64)
        old = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            _epoch(s, 4 * B, B)
        finally:
            numba.set_num_threads(old)
        out.append(s)
    assert (out[0]["hchain"] == out[1]["hchain"]).mean() > 0.999
    for k in ("W", "c", "b"):
        assert_allclose(out[0][k], out[1][k], atol=1e-9, err_msg=k)


@needs_two
def test_fit_gives_the_blas_its_threads_back():
    """The fused epoch runs its BLAS on one thread and restores the count after."""
    def scipy_blas_threads():
        return sorted(i["num_threads"] for i in threadpool_info()
                      if i["user_api"] == "blas" and "scipy.libs" in i["filepath"])

    before = scipy_blas_threads()
    X = (np.random.default_rng(0).random((200, 64)) < 0.4).astype(np.float32)
    rbm = BernoulliRBM(n_components=300, n_iter=2, batch_size=50, random_state=0, n_jobs=2)
    rbm.fit(X)
    assert scipy_blas_threads() == before
    assert np.all(np.isfinite(rbm.components_))


@numba.njit
def _mean_rows_in_place(x, bias, unit):
    for r in range(x.shape[0]):
        K.hidden_mean_row(x[r], bias, x[r], unit)


@numba.njit
def _mean_rows_apart(x, bias, out, unit):
    for r in range(x.shape[0]):
        K.hidden_mean_row(x[r], bias, out[r], unit)


@pytest.mark.parametrize("unit", [0, 1, 2])  # Bernoulli, Gaussian, NReLU hidden units
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_unit_passes_equal_the_passes_into_another_array(unit, dtype):
    """The in-place passes (their own vectorised loop, units._in_place) give the bits of
    the same pass written to a second array, and the means of the units' definition."""
    rng = np.random.default_rng(unit)
    for m, n in ((3, 37), (40, 500)):  # the 2-D sigmoid pass serial, then threaded by rows
        x = (3.0 * rng.standard_normal((m, n))).astype(dtype)
        bias = rng.standard_normal(n).astype(dtype)
        apart = np.full_like(x, np.nan)
        _mean_rows_apart(x, bias, apart, unit)
        want = {0: _sigmoid(x.astype(np.float64) + bias), 1: x.astype(np.float64) + bias,
                2: np.maximum(x.astype(np.float64) + bias, 0.0)}[unit]
        assert_allclose(apart, want, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)
        inplace = x.copy()
        _mean_rows_in_place(inplace, bias, unit)
        assert_array_equal(inplace, apart)
        if unit == 0:
            inplace2, apart2 = x.copy(), np.full_like(x, np.nan)
            K.sigmoid_rows(inplace2, bias, inplace2)
            K.sigmoid_rows(x, bias, apart2)
            assert_array_equal(inplace2, apart)
            assert_array_equal(apart2, apart)
