"""Per-region profile of rbmlib's fused fine-tuning update: where one update's time goes.

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python benchmarks/profile_mlp.py [--data ../shared/data/mnist] [--n-samples 10000]
                                         [--hidden 500,500,2000] [--batch-size 100]
                                         [--threads 1,2] [--settings dropout,plain]
                                         [--repeats 3] [--pause 0.3] [--dtype float32]
                                         [--random-rows]

(``env -u`` lets OpenBLAS pick its kernels for this CPU, as on a user's
machine. For two threads leave ``NUMBA_NUM_THREADS`` unset or >= 2; thread
counts above it are skipped with a note.) The rows are MNIST pixels / 255 from
:func:`rbmlib.datasets.load_mnist` (``--data``, else ``RBMLIB_MNIST``, else
``../shared/data/mnist``), or with ``--random-rows`` uniform [0, 1) rows;
nothing is downloaded.

The network is 784-500-500-2000-10 (``--hidden``) with logistic hidden units
and a softmax output, float32, batch 100, SGD with Nesterov momentum 0.9,
Glorot-uniform weights (scikit-learn's logistic factor), in two settings:

* ``dropout`` -- the MNIST DBN recipe (``benchmarks/mnist_dbn.py`` as the
  coordinator runs it): learning rate 0.1, L2 1e-5, hidden dropout 0.5,
  input dropout 0.2, max-norm 3.5;
* ``plain`` -- ``benchmarks/bench_mlp.py``'s setting: learning rate 0.01,
  L2 1e-4, no dropout, no max-norm.

On more than one Numba thread :func:`rbmlib._kernels.mlp.train_epoch` runs
each update as :func:`~rbmlib._kernels.mlp.train_epoch_fused`: nine pieces,
eight of them Numba parallel regions with one block per thread, every product
of a block a single-threaded BLAS call followed by the block's elementwise
work (the regions and their products, ``d_k`` the delta of layer ``k``,
``a_k`` its activation, ``x`` the input rows):

* **input** -- gather of the mini-batch's rows and input dropout, by rows
  (no product);
* **fwd 0, fwd 1, fwd 2** -- ``z_l = a_{l-1} W_l`` by blocks of units, bias,
  logistic, dropout;
* **serial** -- the gathers of targets and sample weights, the output layer's
  product ``a_2 W_3`` (2000 x 10, one thread), softmax, loss and output delta;
* **bwd 3** -- ``d_2 = d_3 W_3^T`` by blocks, times the derivative (and the
  dropout mask);
* **bwd 2** -- ``d_1 = d_2 W_2^T`` with layer 3's gradient ``a_2^T d_3``,
  penalty and step;
* **bwd 1** -- ``d_0 = d_1 W_1^T`` with layer 2's gradient ``a_1^T d_2``,
  penalty, step, max-norm;
* **bwd 0** -- the gradients, penalties, steps and max-norm of layers 1
  (``a_0^T d_1``) and 0 (``x^T d_0``).

That is the update's 11 products: forward 4, backward deltas 3, weight
gradients 4 (about 1.0 GFLOP at batch 100). Each row of the tables is
measured per update over ``n // batch`` updates in ONE compiled loop per part
(no Python call is timed; every product in the BLAS the kernels use, SciPy's
OpenBLAS through Numba):

* **floor, OpenBLAS threads** -- the 11 products as whole ``np.dot`` /
  ``gemm`` calls on OpenBLAS's own threads (as many as the column's thread
  count), nothing else;
* **floor, block GEMMs** -- the 11 products as the fused update computes
  them: per region, one single-threaded BLAS call per block and thread (the
  blocks of ``train_epoch_fused``), the output product serial;
* **whole** -- :func:`rbmlib._kernels.mlp.train_epoch` over the epoch, the
  kernel ``DBNClassifier.fit`` runs (fused on two threads; the unfused
  one-thread path on one);
* **fused** -- :func:`~rbmlib._kernels.mlp.train_epoch_fused` called
  directly with one block per thread (on one thread: one block);
* per region: **alone** (the region function itself, ``n // batch`` times),
  **GEMMs** (the region's block products alone), **elementwise** (alone -
  GEMMs) and **in situ** (the region's time inside an instrumented copy of
  ``train_epoch_fused``'s loop, read with ``clock_gettime`` around each
  region; the copy is checked to leave the same parameters, bit for bit, as
  ``train_epoch_fused``);
* **fork-joins** -- eight empty ``prange`` regions per update: the bare cost of
  the hand-offs to Numba's pool (inside the regions' times);
* **remainder** -- whole - (the regions alone + serial).

Every part runs in a block of its own from the same start: parameters,
optimiser state, gradients and the activation and delta buffers (those of
one real first update) are reset before each timed run, and each timed run
is preceded by a pause of ``--pause`` seconds so that OpenBLAS's workers,
which spin-wait for a while after a threaded product, do not leak from one
part into the next. A region timed alone repeats the same step ``n //
batch`` times (no data feedback): with ``--n-samples 10000`` that moves the
weights by far less than their size; ``max |W_0|`` and the max-norm clip
count after the last part are printed. The medians of ``--repeats`` timed
runs are printed, in milliseconds per update. threadpoolctl's view of the
BLAS libraries and Numba's threading layer are printed first. On a shared
machine, run one thread count at a time and read the figures as such.
"""

import argparse
import ctypes
import ctypes.util
import os
import platform
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import time_parts  # noqa: E402

SETTINGS = {
    # name: learning rate, L2, keep_input, keep_hidden, max_norm
    "dropout": (0.1, 1e-5, 0.8, 0.5, 3.5),
    "plain": (0.01, 1e-4, 1.0, 1.0, 0.0),
}

REGIONS = ["input", "fwd 0", "fwd 1", "fwd 2", "serial", "bwd 3", "bwd 2", "bwd 1", "bwd 0"]


def _clock():
    """``clock_gettime(CLOCK_MONOTONIC)`` callable from Numba (ns as float)."""
    import numba

    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    cg = libc.clock_gettime
    cg.restype = ctypes.c_int
    cg.argtypes = (ctypes.c_int, ctypes.c_size_t)  # struct timespec * as an address

    @numba.njit
    def now(ts):
        cg(1, ts.ctypes.data)
        return ts[0] * 1e9 + ts[1]

    return now


def _loops():
    """The compiled loops of the parts (each over ``nb`` updates)."""
    import numba
    from numba import prange

    from rbmlib._kernels import mlp as K
    from rbmlib._kernels.blas import gemm
    from rbmlib._kernels.cd import _block, gather_dense
    from rbmlib._kernels.sampling import stream_key
    from rbmlib._kernels.threads import blas_threads, set_blas_threads

    now = _clock()
    W_, B_, R_ = K._weights, K._bias, K._rows

    @numba.njit
    def fused(nb, X, data, indices, indptr, is_sparse, Y, SW, order, m, params, grads, opt1,
              opt2, sizes, offsets, a_off, acts, deltas, xbuf, ybuf, wbuf, rowloss, out_kind,
              hid_kinds, slope, keep_in, keep, alpha, alpha_l1, solver, lr, hyper, seed,
              max_norm, blocks):
        before = blas_threads()
        set_blas_threads(1)
        res = K.train_epoch_fused(X, data, indices, indptr, is_sparse, Y, SW, order[:nb * m],
                                  m, params, grads, opt1, opt2, sizes, offsets, a_off, acts,
                                  deltas, xbuf, ybuf, wbuf, rowloss, out_kind, hid_kinds,
                                  slope, keep_in, keep, alpha, alpha_l1, solver, lr, hyper,
                                  seed, 0, max_norm, blocks)
        set_blas_threads(before)
        return res

    @numba.njit
    def in_situ(nb, X, data, indices, indptr, is_sparse, Y, SW, order, m, params, grads, opt1,
                opt2, sizes, offsets, a_off, acts, deltas, xbuf, ybuf, wbuf, rowloss, out_kind,
                hid_kinds, slope, keep_input, keep_hidden, alpha, alpha_l1, solver,
                learning_rate, hyper, seed, max_norm, blocks, acc, ts):
        # train_epoch_fused's loop (update_index 0, even batches of m rows), with the
        # clock read around each of its nine pieces; acc[i] += ns of piece i
        before = blas_threads()
        set_blas_threads(1)
        L = sizes.shape[0] - 1
        total = 0.0
        drop_in = keep_input < 1.0
        dropout = keep_hidden < 1.0
        scale = np.empty((L, sizes[1:].max()), np.float64)
        sw2 = SW.reshape((SW.shape[0], 1))
        wb2 = wbuf.reshape((wbuf.shape[0], 1))
        n0 = xbuf.shape[1]
        xflat = xbuf.reshape(xbuf.shape[0] * n0)
        W_out = W_(params, sizes, offsets, L - 1)
        b_out = B_(params, sizes, offsets, L - 1)
        for t in range(nb):
            size = m
            start = t * m
            stop = start + size
            stream0 = t * (L + 1)
            t0 = now(ts)
            K._fused_input(blocks, X, data, indices, indptr, is_sparse, order, start, stop,
                           xbuf, drop_in, keep_input, stream_key(seed, np.uint64(stream0)))
            t1 = now(ts)
            acc[0] += t1 - t0
            x = xflat[:size * n0].reshape((size, n0))
            y = ybuf[:size]
            for l in range(L - 1):
                t0 = now(ts)
                prev = x if l == 0 else R_(acts, sizes, a_off, l - 1, size)
                K._fused_forward(blocks, l, prev, size, params, sizes, offsets, acts, a_off,
                                 keep_hidden, stream_key(seed, np.uint64(stream0 + l + 1)),
                                 dropout, hid_kinds[l], slope)
                t1 = now(ts)
                acc[1 + l] += t1 - t0
            t0 = now(ts)
            gather_dense(Y, order, start, stop, ybuf)
            gather_dense(sw2, order, start, stop, wb2)
            z = R_(acts, sizes, a_off, L - 1, size)
            prev = x if L == 1 else R_(acts, sizes, a_off, L - 2, size)
            np.dot(prev, W_out, z)
            K._output(z, b_out, y, out_kind, rowloss, True)
            wsum = 0.0
            for r in range(size):
                total += wbuf[r] * rowloss[r]
                wsum += wbuf[r]
            inv_wsum = 1.0 / wsum if wsum > 0.0 else 0.0
            K._output_delta(z, y, R_(deltas, sizes, a_off, L - 1, size), wbuf, inv_wsum)
            t1 = now(ts)
            acc[L] += t1 - t0
            tt = t + 1
            for k in range(L - 1, 0, -1):
                t0 = now(ts)
                K._fused_backward(blocks, k, k + 1 if k + 1 <= L - 1 else -1, -1, x, size,
                                  params, grads, opt1, opt2, sizes, offsets, acts, deltas,
                                  a_off, keep_hidden, seed, stream0, hid_kinds, slope, alpha,
                                  alpha_l1, solver, learning_rate, hyper, tt, max_norm, scale)
                t1 = now(ts)
                acc[L + L - k] += t1 - t0
            t0 = now(ts)
            K._fused_backward(blocks, 0, 1 if L >= 2 else -1, 0, x, size, params, grads, opt1,
                              opt2, sizes, offsets, acts, deltas, a_off, keep_hidden, seed,
                              stream0, hid_kinds, slope, alpha, alpha_l1, solver,
                              learning_rate, hyper, tt, max_norm, scale)
            t1 = now(ts)
            acc[2 * L] += t1 - t0
        set_blas_threads(before)
        return total

    # ---- each region alone, as train_epoch_fused calls it
    @numba.njit
    def r_input(nb, blocks, X, data, indices, indptr, is_sparse, order, m, xbuf, keep, seed,
                L):
        before = blas_threads()
        set_blas_threads(1)
        for t in range(nb):
            K._fused_input(blocks, X, data, indices, indptr, is_sparse, order, t * m,
                           (t + 1) * m, xbuf, keep < 1.0, keep,
                           stream_key(seed, np.uint64(t * (L + 1))))
        set_blas_threads(before)

    @numba.njit
    def r_forward(nb, blocks, l, m, params, sizes, offsets, acts, a_off, xbuf, keep, seed,
                  kind, slope):
        before = blas_threads()
        set_blas_threads(1)
        L = sizes.shape[0] - 1
        prev = xbuf if l == 0 else R_(acts, sizes, a_off, l - 1, m)
        for t in range(nb):
            K._fused_forward(blocks, l, prev, m, params, sizes, offsets, acts, a_off, keep,
                             stream_key(seed, np.uint64(t * (L + 1) + l + 1)), keep < 1.0,
                             kind, slope)
        set_blas_threads(before)

    @numba.njit
    def r_serial(nb, Y, SW, order, m, params, sizes, offsets, a_off, acts, deltas, ybuf,
                 wbuf, rowloss, out_kind, only_gemm):
        before = blas_threads()
        set_blas_threads(1)
        L = sizes.shape[0] - 1
        W_out = W_(params, sizes, offsets, L - 1)
        b_out = B_(params, sizes, offsets, L - 1)
        sw2 = SW.reshape((SW.shape[0], 1))
        wb2 = wbuf.reshape((wbuf.shape[0], 1))
        z = R_(acts, sizes, a_off, L - 1, m)
        prev = R_(acts, sizes, a_off, L - 2, m)
        d = R_(deltas, sizes, a_off, L - 1, m)
        total = 0.0
        for t in range(nb):
            if only_gemm:
                np.dot(prev, W_out, z)
                continue
            gather_dense(Y, order, t * m, (t + 1) * m, ybuf)
            gather_dense(sw2, order, t * m, (t + 1) * m, wb2)
            np.dot(prev, W_out, z)
            K._output(z, b_out, ybuf[:m], out_kind, rowloss, True)
            wsum = 0.0
            for r in range(m):
                total += wbuf[r] * rowloss[r]
                wsum += wbuf[r]
            K._output_delta(z, ybuf[:m], d, wbuf, 1.0 / wsum)
        set_blas_threads(before)
        return total

    @numba.njit
    def r_backward(nb, blocks, ka, kb, kc, m, params, grads, opt1, opt2, sizes, offsets, acts,
                   deltas, a_off, xbuf, keep, seed, hid_kinds, slope, alpha, alpha_l1, solver,
                   lr, hyper, max_norm, scale):
        before = blas_threads()
        set_blas_threads(1)
        L = sizes.shape[0] - 1
        for t in range(nb):
            K._fused_backward(blocks, ka, kb, kc, xbuf, m, params, grads, opt1, opt2,
                              sizes, offsets, acts, deltas, a_off, keep, seed, t * (L + 1),
                              hid_kinds, slope, alpha, alpha_l1, solver, lr, hyper, t + 1,
                              max_norm, scale)
        set_blas_threads(before)

    # ---- each region's block products alone (the blocks of _forward_block, _delta_block,
    # _step_block)
    @numba.njit(parallel=True)
    def _g_forward(blocks, prev, W, z):
        n = z.shape[1]
        for p in prange(blocks):
            j0, j1 = _block(n, blocks, p)
            if j1 > j0:
                gemm(False, False, 1.0, prev, W[:, j0:j1], 0.0, z[:, j0:j1])

    @numba.njit
    def _delta_gemm(p, blocks, k, m, params, sizes, offsets, deltas, a_off):
        d = R_(deltas, sizes, a_off, k, m)
        W = W_(params, sizes, offsets, k)
        dp = R_(deltas, sizes, a_off, k - 1, m)
        i0, i1 = _block(dp.shape[1], blocks, p)
        if i1 > i0:
            gemm(False, True, 1.0, d, W[i0:i1], 0.0, dp[:, i0:i1])

    @numba.njit
    def _step_gemm(p, blocks, k, prev, m, grads, sizes, offsets, deltas, a_off, max_norm):
        L = sizes.shape[0] - 1
        d = R_(deltas, sizes, a_off, k, m)
        gW = W_(grads, sizes, offsets, k)
        n_in, n_out = gW.shape
        if (max_norm > 0.0 and k < L - 1) or n_out >= 32 * blocks:
            c0, c1 = _block(n_out, blocks, p)
            i0, i1 = 0, n_in
        else:
            c0, c1 = 0, n_out
            i0, i1 = _block(n_in, blocks, p)
        if i1 > i0 and c1 > c0:
            gemm(True, False, 1.0, prev[:, i0:i1], d[:, c0:c1], 0.0, gW[i0:i1, c0:c1])

    @numba.njit(parallel=True)
    def _g_backward(blocks, ka, kb, kc, x, m, params, grads, sizes, offsets, acts, deltas,
                    a_off, max_norm):
        pb = R_(acts, sizes, a_off, max(kb, 1) - 1, m) if kb >= 1 else x
        pc = R_(acts, sizes, a_off, max(kc, 1) - 1, m) if kc >= 1 else x
        for p in prange(blocks):
            if ka >= 1:
                _delta_gemm(p, blocks, ka, m, params, sizes, offsets, deltas, a_off)
            if kb >= 0:
                _step_gemm(p, blocks, kb, pb, m, grads, sizes, offsets, deltas, a_off,
                           max_norm)
            if kc >= 0:
                _step_gemm(p, blocks, kc, pc, m, grads, sizes, offsets, deltas, a_off,
                           max_norm)

    @numba.njit
    def g_forward(nb, blocks, l, m, params, sizes, offsets, acts, a_off, xbuf):
        before = blas_threads()
        set_blas_threads(1)
        prev = xbuf if l == 0 else R_(acts, sizes, a_off, l - 1, m)
        W = W_(params, sizes, offsets, l)
        z = R_(acts, sizes, a_off, l, m)
        for _ in range(nb):
            _g_forward(blocks, prev, W, z)
        set_blas_threads(before)

    @numba.njit
    def g_backward(nb, blocks, ka, kb, kc, m, params, grads, sizes, offsets, acts, deltas,
                   a_off, xbuf, max_norm):
        before = blas_threads()
        set_blas_threads(1)
        for _ in range(nb):
            _g_backward(blocks, ka, kb, kc, xbuf, m, params, grads, sizes, offsets, acts,
                        deltas, a_off, max_norm)
        set_blas_threads(before)

    @numba.njit
    def floor_blocks(nb, blocks, m, params, grads, sizes, offsets, acts, deltas, a_off, xbuf,
                     max_norm):
        # the 11 products as the fused update splits them, nothing else
        before = blas_threads()
        set_blas_threads(1)
        L = sizes.shape[0] - 1
        x = xbuf  # (m, n_0): the profile's batches are full
        for _ in range(nb):
            for l in range(L - 1):
                prev = x if l == 0 else R_(acts, sizes, a_off, l - 1, m)
                _g_forward(blocks, prev, W_(params, sizes, offsets, l),
                           R_(acts, sizes, a_off, l, m))
            np.dot(R_(acts, sizes, a_off, L - 2, m), W_(params, sizes, offsets, L - 1),
                   R_(acts, sizes, a_off, L - 1, m))
            for k in range(L - 1, 0, -1):
                _g_backward(blocks, k, k + 1 if k + 1 <= L - 1 else -1, -1, x, m, params,
                            grads, sizes, offsets, acts, deltas, a_off, max_norm)
            _g_backward(blocks, 0, 1, 0, x, m, params, grads, sizes, offsets, acts, deltas,
                        a_off, max_norm)
        set_blas_threads(before)

    @numba.njit
    def floor_blas(nb, m, params, grads, sizes, offsets, acts, deltas, a_off, xbuf):
        # the 11 products as whole calls on OpenBLAS's own threads, nothing else
        L = sizes.shape[0] - 1
        x = xbuf
        for _ in range(nb):
            for l in range(L):
                prev = x if l == 0 else R_(acts, sizes, a_off, l - 1, m)
                np.dot(prev, W_(params, sizes, offsets, l), R_(acts, sizes, a_off, l, m))
            for k in range(L - 1, 0, -1):
                gemm(False, True, 1.0, R_(deltas, sizes, a_off, k, m),
                     W_(params, sizes, offsets, k), 0.0, R_(deltas, sizes, a_off, k - 1, m))
            for k in range(L):
                prev = x if k == 0 else R_(acts, sizes, a_off, k - 1, m)
                gemm(True, False, 1.0, prev, R_(deltas, sizes, a_off, k, m), 0.0,
                     W_(grads, sizes, offsets, k))

    @numba.njit(parallel=True)
    def _empty_region(out):
        for i in prange(out.shape[0]):
            out[i] += 0.0

    @numba.njit
    def fork_joins(nb, out):
        for _ in range(nb):
            for _r in range(8):
                _empty_region(out)

    return dict(fused=fused, in_situ=in_situ, r_input=r_input, r_forward=r_forward,
                r_serial=r_serial, r_backward=r_backward, g_forward=g_forward,
                g_backward=g_backward, floor_blocks=floor_blocks, floor_blas=floor_blas,
                fork_joins=fork_joins)


def _glorot(sizes, rng, dtype):
    from rbmlib.mlp import _Layout

    lay = _Layout(sizes)
    params = np.zeros(lay.n_params, dtype)
    for l in range(lay.n_layers):
        n_in, n_out = int(sizes[l]), int(sizes[l + 1])
        bound = np.sqrt(2.0 * 6.0 / (n_in + n_out))  # scikit-learn's factor for logistic
        o = lay.offsets[2 * l]
        params[o:o + n_in * n_out] = rng.uniform(-bound, bound, n_in * n_out)
    return lay, params


def profile(X, Y, sizes, B, setting, repeats, pause, L_):
    """ms per update of each part (medians of ``repeats`` timed runs), each part in a
    block of its own from the same start, a pause before every run."""
    from rbmlib._kernels import mlp as K
    from rbmlib._kernels.optim import SGD

    lr, alpha, keep_in, keep, max_norm = SETTINGS[setting]
    n = X.shape[0]
    nb = n // B
    dt = X.dtype
    rng = np.random.default_rng(0)
    lay, P0 = _glorot(sizes, rng, dt)
    L = lay.n_layers
    sz, off, a_off = lay.sizes, lay.offsets, lay.a_off(B)
    kinds = np.full(max(L - 1, 1), K.H_LOGISTIC, np.int64)
    hyper = np.array([0.9, 1.0, 0.9, 0.999, 0.9, 1e-8])
    seed = np.uint64(12345)
    SW = np.ones(n)
    order = np.arange(n, dtype=np.int64)
    Xk = (X, np.zeros(1, dt), np.zeros(1, np.int64), np.zeros(2, np.int64), False)
    blocks = max(1, int(K.fused_blocks(lay.n_params)))
    # one real first update fills the activation and delta buffers the regions start from
    st = dict(params=P0.copy(), grads=np.zeros(lay.n_params, dt),
              opt1=np.zeros(lay.n_params, dt), opt2=np.zeros(lay.n_params, dt),
              acts=lay.acts(B, dt), deltas=lay.acts(B, dt), xbuf=np.zeros((B, sz[0]), dt),
              ybuf=np.zeros((B, sz[-1]), dt), wbuf=np.zeros(B), rowloss=np.zeros(B))

    def args(s, k):
        return (*Xk, Y, SW, order[:k * B], B, s["params"], s["grads"], s["opt1"], s["opt2"],
                sz, off, a_off, s["acts"], s["deltas"], s["xbuf"], s["ybuf"], s["wbuf"],
                s["rowloss"], K.SOFTMAX, kinds, 0.0, keep_in, keep, alpha, 0.0, SGD, lr, hyper,
                seed)

    L_["fused"](1, *args(st, 1)[:8], B, *args(st, 1)[9:], max_norm, blocks)
    start = {k: v.copy() for k, v in st.items()}
    start["params"] = P0.copy()
    cur = {}

    def reset():
        for k, v in start.items():
            cur[k] = v.copy()
        cur["scale"] = np.zeros((L, int(sz[1:].max())))

    acc = np.zeros(2 * L + 1)
    ts = np.zeros(2, np.int64)
    region_buf = np.zeros(64)
    c = cur

    def whole(k):
        K.train_epoch(*args(c, k), 0, max_norm)

    def fused(k):
        a = args(c, k)
        L_["fused"](k, *a[:8], B, *a[9:], max_norm, blocks)

    def in_situ(k):
        a = args(c, k)
        acc[:] = 0.0
        L_["in_situ"](k, *a[:8], B, *a[9:], max_norm, blocks, acc, ts)

    parts = {
        "floor, OpenBLAS threads": lambda k: L_["floor_blas"](
            k, B, c["params"], c["grads"], sz, off, c["acts"], c["deltas"], a_off, c["xbuf"]),
        "floor, block GEMMs": lambda k: L_["floor_blocks"](
            k, blocks, B, c["params"], c["grads"], sz, off, c["acts"], c["deltas"], a_off,
            c["xbuf"], max_norm),
        "whole": whole,
        "fused": fused,
        "in situ": in_situ,
        "input": lambda k: L_["r_input"](k, blocks, *Xk, order, B, c["xbuf"], keep_in, seed, L),
        "serial": lambda k: L_["r_serial"](k, Y, SW, order, B, c["params"], sz, off, a_off,
                                           c["acts"], c["deltas"], c["ybuf"], c["wbuf"],
                                           c["rowloss"], K.SOFTMAX, False),
        "serial GEMMs": lambda k: L_["r_serial"](k, Y, SW, order, B, c["params"], sz, off,
                                                 a_off, c["acts"], c["deltas"], c["ybuf"],
                                                 c["wbuf"], c["rowloss"], K.SOFTMAX, True),
        "fork-joins": lambda k: L_["fork_joins"](k, region_buf),
    }
    for l in range(L - 1):
        parts[f"fwd {l}"] = (lambda l: lambda k: L_["r_forward"](
            k, blocks, l, B, c["params"], sz, off, c["acts"], a_off, c["xbuf"], keep, seed,
            K.H_LOGISTIC, 0.0))(l)
        parts[f"fwd {l} GEMMs"] = (lambda l: lambda k: L_["g_forward"](
            k, blocks, l, B, c["params"], sz, off, c["acts"], a_off, c["xbuf"]))(l)
    bwd = [(k, k + 1 if k + 1 <= L - 1 else -1, -1) for k in range(L - 1, 0, -1)]
    bwd.append((0, 1 if L >= 2 else -1, 0))
    for ka, kb, kc in bwd:
        parts[f"bwd {ka}"] = (lambda r: lambda k: L_["r_backward"](
            k, blocks, *r, B, c["params"], c["grads"], c["opt1"], c["opt2"], sz, off, c["acts"],
            c["deltas"], a_off, c["xbuf"], keep, seed, kinds, 0.0, alpha, 0.0, SGD, lr, hyper,
            max_norm, c["scale"]))((ka, kb, kc))
        parts[f"bwd {ka} GEMMs"] = (lambda r: lambda k: L_["g_backward"](
            k, blocks, *r, B, c["params"], c["grads"], sz, off, c["acts"], c["deltas"], a_off,
            c["xbuf"], max_norm))((ka, kb, kc))

    sit = np.zeros((repeats, 2 * L + 1))
    fused_params = []

    def after_run(name, i):
        if name == "in situ":
            sit[i] = acc / nb * 1e-9

    def after_part(name, med):
        if name == "fused":
            fused_params.append(cur["params"].copy())
        if name == "in situ":
            med["in situ same bits"] = bool(np.array_equal(fused_params[-1], cur["params"]))
        if name == "bwd 0":  # the last region alone: how far its repeated steps went
            W0 = K._weights(cur["params"], sz, off, 0)
            W0s = K._weights(start["params"], sz, off, 0)
            med["max |W0| start/after"] = (float(np.abs(W0s).max()), float(np.abs(W0).max()))
            norms = np.sqrt((W0.astype(np.float64) ** 2).sum(0))
            med["max col norm W0 after"] = float(norms.max())

    med = time_parts(parts, reset, nb, repeats, pause, after_run, after_part)
    names = ["input"] + [f"fwd {l}" for l in range(L - 1)] + ["serial"] + \
        [f"bwd {r[0]}" for r in bwd]
    for i, name in enumerate(names):
        med[name + " in situ"] = float(np.median(sit[:, i]))
        g = med.get(name + " GEMMs", 0.0)
        med[name + " GEMMs"] = g
        med[name + " elementwise"] = med[name] - g
    med["names"] = names
    med["regions"] = sum(med[k] for k in names)
    med["GEMMs"] = sum(med[k + " GEMMs"] for k in names)
    med["elementwise"] = med["regions"] - med["GEMMs"]
    med["in situ sum"] = sum(med[k + " in situ"] for k in names)
    med["remainder"] = med["whole"] - med["regions"]
    med["blocks"] = blocks
    return med


def _blas_lines():
    from threadpoolctl import threadpool_info

    return [f"{os.path.basename(d['filepath'])}: {d['internal_api']} {d.get('version')} "
            f"{d.get('architecture')} ({d['num_threads']} threads)"
            for d in threadpool_info() if d["user_api"] == "blas"]


PRODUCTS = {
    "input": "-",
    "fwd 0": "x W_0",
    "fwd 1": "a_0 W_1",
    "fwd 2": "a_1 W_2",
    "serial": "a_2 W_3 (one thread)",
    "bwd 3": "d_3 W_3^T",
    "bwd 2": "d_2 W_2^T, a_2^T d_3",
    "bwd 1": "d_1 W_1^T, a_1^T d_2",
    "bwd 0": "a_0^T d_1, x^T d_0",
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None, help="MNIST folder (default: load_mnist's)")
    ap.add_argument("--random-rows", action="store_true",
                    help="uniform [0, 1) rows and random labels instead of MNIST")
    ap.add_argument("--n-samples", type=int, default=10000)
    ap.add_argument("--hidden", default="500,500,2000")
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--settings", default="dropout,plain")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pause", type=float, default=0.3,
                    help="seconds of pause before every timed run")
    ap.add_argument("--dtype", default="float32")
    args = ap.parse_args(argv)

    import numba
    from threadpoolctl import threadpool_limits

    import rbmlib

    dt = np.dtype(args.dtype)
    if args.random_rows:
        rng = np.random.default_rng(0)
        X = rng.random((args.n_samples, 784)).astype(dt)
        labels = rng.integers(0, 10, args.n_samples)
    else:
        from rbmlib.datasets import load_mnist

        X, labels = load_mnist(args.data, subset="train")
        X = (X[:args.n_samples].astype(dt) / dt.type(255.0))
        labels = np.asarray(labels[:args.n_samples]).astype(np.int64)
    Y = np.eye(10, dtype=dt)[labels]
    sizes = np.array([X.shape[1], *map(int, args.hidden.split(",")), 10], np.int64)
    print(f"# profile_mlp: N={X.shape[0]} sizes={'-'.join(map(str, sizes))} batch "
          f"{args.batch_size} {args.dtype} ({'random' if args.random_rows else 'MNIST'} rows), "
          f"python {platform.python_version()}, numpy {np.__version__}, numba "
          f"{numba.__version__}, rbmlib {rbmlib.__version__}, {os.cpu_count()} cores, "
          f"NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}")
    print(f"# OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')!r}, "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')!r}, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    L_ = _loops()
    rows = []
    for nt in map(int, args.threads.split(",")):
        if nt > numba.config.NUMBA_NUM_THREADS:
            print(f"# {nt} threads skipped: NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}")
            continue
        numba.set_num_threads(nt)
        with threadpool_limits(limits=nt, user_api="blas"):
            print(f"# {nt} thread(s), BLAS: " + "; ".join(_blas_lines()))
            for setting in args.settings.split(","):
                med = profile(X, Y, sizes, args.batch_size, setting, args.repeats, args.pause,
                              L_)
                rows.append((nt, setting, med))
                runs = "; ".join(f"{k[:-5]} " + " ".join(f"{1e3 * t:.3f}" for t in v)
                                 for k, v in med.items() if k.endswith(" runs"))
                print(f"#   {setting} ({med['blocks']} block(s); in-situ copy same bits as "
                      f"train_epoch_fused: {med['in situ same bits']}; max |W_0| start/after "
                      f"bwd 0 alone {med['max |W0| start/after'][0]:.3g}/"
                      f"{med['max |W0| start/after'][1]:.3g}, max column norm "
                      f"{med['max col norm W0 after']:.3g}; load "
                      f"{os.getloadavg()[0]:.2f}), ms per update of each run: {runs}",
                      flush=True)
    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "none initialised"
    print(f"# Numba threading layer: {layer}")
    print()
    print(f"ms per update, median of {args.repeats} timed runs per part, each part in a block "
          f"of its own (share of whole in brackets):")
    print()
    summary = ["floor, OpenBLAS threads", "floor, block GEMMs", "whole", "fused", "in situ",
               "regions", "GEMMs", "elementwise", "in situ sum", "remainder", "fork-joins"]
    heads = [f"{nt} thr, {s}" for nt, s, _ in rows]
    print("| part | " + " | ".join(heads) + " |")
    print("|---" * (len(heads) + 1) + "|")
    for k in summary:
        cells = []
        for _, _, med in rows:
            share = "" if k in ("floor, OpenBLAS threads", "floor, block GEMMs", "whole") else \
                f" ({100 * med[k] / med['whole']:.0f}%)"
            cells.append(f"{1e3 * med[k]:.3f}{share}")
        print(f"| {k} | " + " | ".join(cells) + " |")
    for lbl, num, den in [("whole / floor (OpenBLAS)", "whole", "floor, OpenBLAS threads"),
                          ("whole / floor (blocks)", "whole", "floor, block GEMMs")]:
        print(f"| {lbl} | " + " | ".join(f"{med[num] / med[den]:.2f}" for _, _, med in rows)
              + " |")
    for nt, setting, med in rows:
        print()
        print(f"{nt} thread(s), {setting}: per piece of the update, ms (alone = the region "
              f"function by itself; elementwise = alone - GEMMs):")
        print()
        print("| piece | products | alone | GEMMs | elementwise | in situ |")
        print("|---|---|---|---|---|---|")
        for k in med["names"]:
            print(f"| {k} | {PRODUCTS.get(k, '')} | {1e3 * med[k]:.3f} | "
                  f"{1e3 * med[k + ' GEMMs']:.3f} | {1e3 * med[k + ' elementwise']:.3f} | "
                  f"{1e3 * med[k + ' in situ']:.3f} |")
        print(f"| sum | | {1e3 * med['regions']:.3f} | {1e3 * med['GEMMs']:.3f} | "
              f"{1e3 * med['elementwise']:.3f} | {1e3 * med['in situ sum']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
