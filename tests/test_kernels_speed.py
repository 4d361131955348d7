"""The speed-oriented kernels: vectorisable exp / sigmoid, BLAS gemm with beta, fused CD update.

Each is checked against NumPy / SciPy: the polynomial exp and sigmoid over the
whole float32 and float64 range (extremes, subnormal results, inf, nan) in
units in the last place of the correctly rounded value; ``gemm`` against
``alpha * op(A) @ op(B) + beta * C``; the CD update whose momentum step is
fused into the gradient GEMM against a NumPy reference with weight decay and
the sparsity penalty.
"""

import re

import numpy as np
import pytest
from numba import njit
from scipy.special import expit

from rbmlib._kernels.blas import gemm
from rbmlib._kernels.cd import cd_update
from rbmlib._kernels.negative import CD_MEAN_FIELD, PCD
from rbmlib._kernels.sampling import exp_array, fast_sigmoid, sigmoid_array

DTYPES = [np.float32, np.float64]


def _test_points(dt):
    rng = np.random.default_rng(0)
    hi = 800.0 if dt == np.float64 else 110.0
    specials = [0.0, -0.0, 1e-30, -1e-30, 1e-7, -1e-7, 0.5, -0.5, 1.0, -1.0,
                88.7, 88.72, 88.73, 89.0, -87.3, -87.4, -103.0, -103.9, -104.0, -105.0,
                709.7, 709.78, 709.8, 710.0, -708.4, -745.0, -745.2, -746.0,
                np.finfo(dt).max, -np.finfo(dt).max, np.finfo(dt).tiny, -np.finfo(dt).tiny]
    x = np.concatenate([rng.uniform(-hi, hi, 200_000), rng.uniform(-110, 110, 200_000),
                        rng.normal(0, 5, 200_000), rng.uniform(-1, 1, 50_000), specials])
    with np.errstate(over="ignore"):
        return x.astype(dt)


def _ulp_error(got, x, ref):
    """|got - ref(x)| in units in the last place of the correctly rounded result."""
    with np.errstate(all="ignore"):
        exact = ref(x.astype(np.longdouble))
        rounded = exact.astype(got.dtype)
        finite = np.isfinite(rounded)
        err = np.abs(got[finite].astype(np.longdouble) - exact[finite])
        return err / np.spacing(np.abs(rounded[finite])).astype(np.longdouble), rounded


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("fn,ref,max_ulp", [(exp_array, np.exp, 2.0), (sigmoid_array, expit, 3.5)])
def test_fast_exp_sigmoid_match_numpy_over_the_whole_range(dtype, fn, ref, max_ulp):
    x = _test_points(dtype)
    got = np.empty_like(x)
    fn(x, got)
    assert got.dtype == dtype
    ulp, rounded = _ulp_error(got, x, ref)
    assert ulp.max() <= max_ulp, (dtype, fn.__name__, float(ulp.max()))
    # overflow to inf exactly where the correctly rounded result overflows, no nan
    np.testing.assert_array_equal(np.isinf(got), np.isinf(rounded))
    assert not np.isnan(got).any()
    if fn is sigmoid_array:
        assert got.min() >= 0.0 and got.max() <= 1.0


@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_exp_sigmoid_special_values(dtype):
    x = np.array([np.inf, -np.inf, np.nan, 0.0], dtype)
    e, s = np.empty_like(x), np.empty_like(x)
    exp_array(x, e)
    sigmoid_array(x, s)
    np.testing.assert_array_equal(e, np.array([np.inf, 0.0, np.nan, 1.0], dtype))
    np.testing.assert_array_equal(s, np.array([1.0, 0.0, np.nan, 0.5], dtype))


def test_sigmoid_loop_is_vectorised_and_calls_no_libm_exp():
    """The point of the polynomial: LLVM turns the loop into SIMD code (libm exp blocked it)."""

    @njit(error_model="numpy")
    def loop(x, b, out):
        for i in range(x.shape[0]):
            out[i] = fast_sigmoid(x[i] + b[i])

    x = np.linspace(-5, 5, 64).astype(np.float32)
    out = np.empty_like(x)
    loop(x, x, out)
    np.testing.assert_allclose(out, expit(2.0 * x.astype(np.float64)), rtol=1e-6)
    ir = loop.inspect_llvm(loop.signatures[0])
    assert re.search(r"<\d+ x float>", ir), "sigmoid loop was not vectorised"
    assert not re.search(r"call [^\n]*@(expf|exp|llvm\.exp\.f32)\(", ir)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
def test_gemm_alpha_beta_matches_numpy(dtype, trans_a, trans_b):
    rng = np.random.default_rng(1)
    M, N, K = 7, 4, 5
    A = rng.normal(size=(K, M) if trans_a else (M, K)).astype(dtype)
    big = rng.normal(size=(12, 9)).astype(dtype)
    B = big[:N, :K] if trans_b else big[:K, :N]  # strided rows: a slice of a bigger buffer
    C = rng.normal(size=(M, N)).astype(dtype)
    want = 0.3 * ((A.T if trans_a else A) @ (B.T if trans_b else B)) + 0.7 * C
    gemm(trans_a, trans_b, 0.3, A, B, 0.7, C)
    np.testing.assert_allclose(C, want, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-6 if dtype == np.float32 else 1e-14)


def test_gemm_rejects_mismatched_shapes():
    A = np.ones((3, 4))
    with pytest.raises(ValueError, match="op\\(B\\)"):
        gemm(False, False, 1.0, A, np.ones((5, 2)), 0.0, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="rows"):
        gemm(False, False, 1.0, A, np.ones((4, 2)), 0.0, np.zeros((4, 2)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weight_decay,sparsity_cost", [(0.0, 0.0), (1e-3, 0.0), (2e-3, 0.3)])
def test_fused_momentum_update_matches_numpy(dtype, weight_decay, sparsity_cost):
    """CD-1 with momentum, weight decay and the sparsity penalty: the update whose momentum
    step runs inside the gradient GEMM (beta = momentum) against the textbook formulas."""
    rng = np.random.RandomState(3)
    m, V, H, B = 6, 11, 5, 8
    v0 = (rng.rand(m, V) < 0.4).astype(dtype)
    W = rng.normal(0, 0.5, (H, V)).astype(dtype)
    c, b = rng.normal(0, 0.5, H).astype(dtype), rng.normal(0, 0.5, V).astype(dtype)
    vel = [rng.normal(0, 0.01, a.shape).astype(dtype) for a in (W, c, b)]
    q = rng.uniform(0.05, 0.3, H).astype(dtype)
    lr, mom, target, decay = 0.1, 0.7, 0.1, 0.9

    Vcat, Hcat = np.zeros((2 * B, V), dtype), np.zeros((2 * B, H), dtype)
    Vcat[:m] = v0
    state = [W.copy(), c.copy(), b.copy(), np.ones(V, dtype)] + [a.copy() for a in vel]
    hchain = np.zeros((B, H), dtype)
    q_k = q.copy()
    e = np.zeros(0, dtype)
    cd_update(m, (1, CD_MEAN_FIELD, 0, 0, False), np.uint64(5), 2, (*state[:4], e),
              np.zeros(1, np.int64), (*state[4:], e), (hchain, q_k),
              (Vcat, Hcat, np.zeros((B, H), dtype), np.zeros((B, V), dtype),
               np.zeros((H, V), dtype), np.zeros((0, 0), np.int32)),
              (lr, mom, weight_decay, target, sparsity_cost, decay, 0.0, 0.0))

    # reference from the chain the kernel ran (v_k and ph_k are left in the buffers)
    f = np.float64
    v0_, vk = v0.astype(f), Vcat[m:2 * m].astype(f)
    ph0 = expit(v0_ @ W.T.astype(f) + c)
    phk = -Hcat[m:2 * m].astype(f)
    np.testing.assert_allclose(Hcat[:m], ph0, rtol=1e-5 if dtype == np.float32 else 1e-12)
    q_new = decay * q + (1 - decay) * ph0.mean(0)
    pen = sparsity_cost * (q_new - target)
    gW = (ph0.T @ v0_ - phk.T @ vk) / m - weight_decay * W - pen[:, None] * v0_.mean(0)
    gc = (ph0 - phk).mean(0) - pen
    gb = (v0_ - vk).mean(0)
    want = [a + mom * va + lr * g for a, va, g in zip((W, c, b), vel, (gW, gc, gb))]
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    for got, w in zip(state[:3], want):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, w, **tol)
    np.testing.assert_allclose(state[4], want[0] - W, **tol)  # velocity of W
    np.testing.assert_allclose(q_k, q_new, **tol)


@pytest.mark.parametrize("k", [2, 1])
@pytest.mark.parametrize("dtype", DTYPES)
def test_cd_epoch_same_result_on_one_and_two_threads(dtype, k):
    """The elementwise passes and the weight step run on Numba's threads (rows split among
    them) when a pass is big enough; every element draws its own counter-based uniform,
    so the parameters are bit-identical whatever the thread count (PCD-2). PCD-1 on two
    threads runs fused (``cd._fused_pcd1_update``): its products are split into one block
    per thread, which BLAS may round differently, so there the chains agree and the
    parameters agree to rounding."""
    import numba

    from rbmlib._kernels.cd import PARALLEL_MIN_ELEMENTS, cd_epoch

    rng = np.random.RandomState(0)
    n, V, H, B = 120, 64, 300, 60  # B * H and H * V above PARALLEL_MIN_ELEMENTS
    assert B * H >= PARALLEL_MIN_ELEMENTS and H * V >= PARALLEL_MIN_ELEMENTS
    X = (rng.rand(n, V) < 0.3).astype(dtype)
    results = []
    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
        state = [np.full((H, V), 0.01, dtype), np.zeros(H, dtype), np.zeros(V, dtype),
                 np.ones(V, dtype), np.zeros((H, V), dtype), np.zeros(H, dtype),
                 np.zeros(V, dtype), np.zeros((B, H), dtype), np.full(H, 0.1, dtype)]
        bufs = [np.zeros((2 * B, V), dtype), np.zeros((2 * B, H), dtype),
                np.zeros((B, H), dtype), np.zeros((B, V), dtype), np.zeros((H, V), dtype)]
        old = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            e = np.zeros(0, dtype)
            cd_epoch((X, np.zeros(1, dtype), np.zeros(1, np.int64), np.zeros(2, np.int64),
                      False), np.arange(n), B, (k, PCD, 0, 0, False), np.uint64(4), 0,
                     (*state[:4], e), np.zeros(1, np.int64), (*state[4:7], e),
                     tuple(state[7:]), (*bufs, np.zeros((0, 0), np.int32)),
                     (0.05, 0.5, 1e-4, 0.1, 0.1, 0.9, 0.0, 0.0))
        finally:
            numba.set_num_threads(old)
        results.append(state)
    for a, b in zip(*results):
        if k == 2:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-5 if dtype == np.float32 else 1e-12)
    assert np.abs(results[0][0] - 0.01).max() > 1e-4  # it trained


# --------------------------------------------------------------------------
# AIS: vectorisable softplus and the batched (one matrix per temperature) kernel

def test_fast_softplus_sigmoid_match_numpy_over_the_whole_range():
    from rbmlib._kernels.partition import softplus_array, softplus_sigmoid_f64

    x = _test_points(np.float64)
    got = np.empty_like(x)
    softplus_array(x, got)
    ulp, rounded = _ulp_error(got, x, lambda z: np.logaddexp(np.longdouble(0), z))
    assert ulp.max() <= 3.0, float(ulp.max())
    np.testing.assert_array_equal(np.isinf(got), np.isinf(rounded))
    assert got.min() >= 0.0 and not np.isnan(got).any()

    @njit
    def both(x, sp, sg):
        for i in range(x.shape[0]):
            sp[i], sg[i] = softplus_sigmoid_f64(x[i])

    sp, sg = np.empty_like(x), np.empty_like(x)
    both(x, sp, sg)
    np.testing.assert_array_equal(sp, got)
    ulp, _ = _ulp_error(sg, x, expit)
    assert ulp.max() <= 3.5, float(ulp.max())
    special = np.array([np.inf, -np.inf, np.nan, 0.0])
    both(special, sp[:4], sg[:4])
    np.testing.assert_array_equal(sp[:4], [np.inf, 0.0, np.nan, np.log(2.0)])
    np.testing.assert_array_equal(sg[:4], [1.0, 0.0, np.nan, 0.5])


def test_softplus_loop_is_vectorised_and_calls_no_libm():
    from rbmlib._kernels.partition import softplus_sigmoid_f64

    @njit(error_model="numpy")
    def loop(x, out):
        for i in range(x.shape[0]):
            out[i] = softplus_sigmoid_f64(0.5 * x[i])[0] - softplus_sigmoid_f64(0.4 * x[i])[0]

    x = np.linspace(-30, 30, 64)
    out = np.empty_like(x)
    loop(x, out)
    np.testing.assert_allclose(out, np.logaddexp(0, 0.5 * x) - np.logaddexp(0, 0.4 * x),
                               rtol=1e-13, atol=1e-15)
    ir = loop.inspect_llvm(loop.signatures[0])
    assert re.search(r"<\d+ x double>", ir), "softplus loop was not vectorised"
    assert not re.search(r"call [^\n]*@(exp|log|log1p|llvm\.(exp|log)\.f64)\(", ir)


_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


def _mix64_np(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _uniforms(keys, start, n):
    """uniform(key_r, start + j) for every run r (rows) and j < n, in NumPy uint64."""
    i = np.arange(start, start + n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        return (_mix64_np(keys[:, None] + i[None, :] * _GOLD) >> np.uint64(11)) * 2.0**-53


def _ais_batched_reference(W, c, b, b_base, betas, seed, R):
    """Forward AIS (Bernoulli units), all runs as matrices in NumPy, on the kernel's streams."""
    H, V = W.shape
    with np.errstate(over="ignore"):
        keys = np.array([_mix64_np(np.uint64(seed) ^ _mix64_np(np.uint64(r) * _GOLD + _GOLD))
                         for r in range(R)], dtype=np.uint64)
    v = (_uniforms(keys, 0, V) < expit(b_base)).astype(float)
    ctr, lw = V, np.zeros(R)
    for k in range(1, len(betas)):
        bk, bp = betas[k], betas[k - 1]
        x = v @ W.T + c
        lw += ((bk - bp) * (v @ (b - b_base))
               + (np.logaddexp(0, bk * x) - np.logaddexp(0, bp * x)).sum(1))
        if k == len(betas) - 1:
            break
        h = (_uniforms(keys, ctr, H) < expit(bk * x)).astype(float)
        ctr += H
        v = (_uniforms(keys, ctr, V) < expit((1 - bk) * b_base + bk * (b + h @ W))).astype(float)
        ctr += V
    return lw, v


def test_batched_ais_matches_numpy_and_any_thread_count():
    """Runs advance together as matrices (two products per temperature); the row passes
    are threaded (R * H above the threshold), each run on its own random stream."""
    import numba

    from rbmlib._kernels.partition import ais_log_weights
    from rbmlib._kernels.units import PARALLEL_MIN_ELEMENTS

    rng = np.random.default_rng(5)
    R, H, V = 40, 420, 24
    assert R * H >= PARALLEL_MIN_ELEMENTS
    W = rng.normal(0, 0.15, (H, V))
    c, b, b_base = rng.normal(0, 0.5, H), rng.normal(0, 1, V), rng.normal(0, 1, V)
    betas = np.linspace(0, 1, 41) ** 2
    out = []
    for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
        old = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            log_w, v_fin = np.empty(R), np.empty((R, V))
            ais_log_weights(W, np.ascontiguousarray(W.T), c, b, b_base, np.ones(V), False,
                            betas, v_fin, True, 777, log_w, v_fin, 0)
        finally:
            numba.set_num_threads(old)
        out.append((log_w, v_fin))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    ref_w, ref_v = _ais_batched_reference(W, c, b, b_base, betas, 777, R)
    np.testing.assert_allclose(out[0][0], ref_w, rtol=1e-10, atol=1e-9)
    np.testing.assert_array_equal(out[0][1], ref_v)
