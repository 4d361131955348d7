"""One CD-1 epoch on MNIST: rbmlib vs scikit-learn vs PyTorch vs the GEMM floor, side by side.

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python benchmarks/bench_rbm.py [--data ../shared/data/mnist] [--n-samples 20000]
                                       [--hidden 500] [--repeats 3] [--threads 1]
                                       [--batch-sizes 100,10] [--dtypes float32] [--profile]

(``env -u`` runs OpenBLAS with the kernels it picks for this CPU, as on a
user's machine; leave ``OPENBLAS_CORETYPE`` set to measure the forced ones.)

For each batch size and dtype it times, alternating in one run, one epoch of
the same algorithm -- PCD-1 with sampled visible states, learning rate 0.01,
no momentum, as scikit-learn's BernoulliRBM -- in

* rbmlib.BernoulliRBM(sample_visible=True, n_iter=1).fit (validation and the
  default per-epoch monitoring included),
* sklearn.neural_network.BernoulliRBM(n_iter=1).fit,
* a plain PyTorch CPU loop (``torch.addmm``, ``torch.sigmoid``,
  ``torch.bernoulli``, in-place updates, no autograd), when torch is importable
  (an optional benchmark extra, never a runtime dependency of rbmlib),
* the "5-GEMM floor": only the five matrix products one CD-1 mini-batch needs
  (v W^T, h W, v' W^T, v^T h, v'^T h') in NumPy with preallocated outputs,

with ``--threads`` threads for everyone (threadpoolctl for BLAS,
numba.set_num_threads, torch.set_num_threads). It prints the median of
``--repeats`` alternating repeats, the ratios, and which BLAS kernels ran
(threadpoolctl's ``internal_api``, ``architecture``, ``version``).

``floor nb`` is the same five products called from Numba code: rbmlib's kernels
get their BLAS through Numba, which binds SciPy's OpenBLAS (``scipy.libs``),
not NumPy's (``numpy.libs``); both are printed with their versions.

``--profile`` adds the per-mini-batch profile of rbmlib's CD kernel: the
time of its GEMMs alone, of its elementwise passes alone (sigmoids, Bernoulli
sampling) and of its parameter update alone, each timed over the epoch's
mini-batches with the kernel's own functions, all called from compiled code
(one BLAS library, as in the kernel). Each part starts from the same
parameters. "whole" is the unfused ``cd_update``; the fused update a fit runs on
more than one thread is profiled part by part by ``benchmarks/profile_cd.py``.
"""

import argparse
import os
import platform
import sys
import time

import numpy as np

_LR = 0.01


def load_X(path, n):
    from rbmlib.datasets import load_mnist

    X, _ = load_mnist(path, subset="train")
    return X[:n].astype(np.float64) / 255.0


def gemm_floor_epoch(X, W, batch_size):
    n, V = X.shape
    H = W.shape[0]
    dt = X.dtype
    ph = np.empty((batch_size, H), dt)
    pv = np.empty((batch_size, V), dt)
    ph2 = np.empty((batch_size, H), dt)
    g1 = np.empty((H, V), dt)
    g2 = np.empty((H, V), dt)
    t0 = time.perf_counter()
    for start in range(0, n - batch_size + 1, batch_size):
        v = X[start:start + batch_size]
        np.dot(v, W.T, out=ph)
        np.dot(ph, W, out=pv)
        np.dot(pv, W.T, out=ph2)
        np.dot(ph.T, v, out=g1)
        np.dot(ph2.T, pv, out=g2)
    return time.perf_counter() - t0


def torch_epoch(X, H, batch_size, seed=0):
    """PCD-1 with sampled visible states, as scikit-learn's BernoulliRBM, in plain PyTorch."""
    import torch

    torch.manual_seed(seed)
    Xt = torch.from_numpy(X)
    n, V = Xt.shape
    dt = Xt.dtype
    W = 0.01 * torch.randn(H, V, dtype=dt)
    c = torch.zeros(H, dtype=dt)
    b = torch.zeros(V, dtype=dt)
    hs = torch.zeros(batch_size, H, dtype=dt)
    t0 = time.perf_counter()
    with torch.no_grad():
        for start in range(0, n - batch_size + 1, batch_size):
            v0 = Xt[start:start + batch_size]
            ph0 = torch.sigmoid(torch.addmm(c, v0, W.t()))
            vk = torch.bernoulli(torch.sigmoid(torch.addmm(b, hs, W)))
            phk = torch.sigmoid(torch.addmm(c, vk, W.t()))
            s = _LR / batch_size
            W.addmm_(ph0.t(), v0, alpha=s).addmm_(phk.t(), vk, alpha=-s)
            c.add_(ph0.sum(0) - phk.sum(0), alpha=s)
            b.add_(v0.sum(0) - vk.sum(0), alpha=s)
            hs = torch.bernoulli(phk)
    return time.perf_counter() - t0


def fit_time(model, X):
    t0 = time.perf_counter()
    model.fit(X)
    return time.perf_counter() - t0


def large_gemm_gflops(size=2048, reps=5):
    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    b = np.random.default_rng(1).random((size, size), dtype=np.float32)
    out = np.empty_like(a)
    np.dot(a, b, out=out)
    best = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        np.dot(a, b, out=out)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * size**3 / best / 1e9


def _numba_gemms():
    """The products of one PCD-1 update, called from Numba as ``cd_update`` calls them.

    Numba's ``np.dot`` (and ``rbmlib._kernels.blas.gemm``) go through SciPy's
    OpenBLAS (``numba_xxgemm`` binds ``scipy.linalg.cython_blas``), a different
    library from NumPy's own OpenBLAS. Timing the kernel's products with NumPy's
    ``np.dot`` mixed in the SciPy ``gemm`` made the two libraries alternate every
    call: at two threads each one's idle workers spin-wait on the cores the other
    needs, and the products "took" 17 ms per mini-batch inside a 2.5 ms update.
    """
    import numba

    from rbmlib._kernels.blas import gemm

    @numba.njit
    def gemms(Vcat, Hcat, hs, pre_v, W, vel_W, m, alpha):
        np.dot(hs[:m], W, pre_v[:m])                   # chain: h W
        np.dot(Vcat[:2 * m], W.T, Hcat[:2 * m])        # [v0; v_k] W^T, stacked
        gemm(True, False, alpha, Hcat[:2 * m], Vcat[:2 * m], 0.0, vel_W)  # gradient

    @numba.njit
    def floor5(X, W, batch_size, ph, pv, ph2, g1, g2):
        n = X.shape[0]
        for start in range(0, n - batch_size + 1, batch_size):
            v = X[start:start + batch_size]
            np.dot(v, W.T, ph)
            np.dot(ph, W, pv)
            np.dot(pv, W.T, ph2)
            np.dot(ph.T, v, g1)
            np.dot(ph2.T, pv, g2)

    return gemms, floor5


def gemm_floor_epoch_numba(X, W, batch_size, floor5):
    """The 5-GEMM floor through Numba's BLAS (SciPy's OpenBLAS), the one rbmlib's kernels use."""
    H, V = W.shape
    dt = X.dtype
    bufs = (np.empty((batch_size, H), dt), np.empty((batch_size, V), dt),
            np.empty((batch_size, H), dt), np.empty((H, V), dt), np.empty((H, V), dt))
    floor5(X[:2 * batch_size], W, batch_size, *bufs)  # compile
    t0 = time.perf_counter()
    floor5(X, W, batch_size, *bufs)
    return time.perf_counter() - t0


def _profile_loops():
    """Each part of one PCD-1 update in a compiled loop over ``nb`` mini-batches.

    Called from Python once per epoch, not once per mini-batch: a Python call of
    ``cd_update`` unboxes its tuples of arrays (about 1.5 ms at batch 10, more
    than the update itself), which the fit never pays (``cd_epoch`` loops in
    compiled code).
    """
    import numba

    from rbmlib._kernels import cd as K
    from rbmlib._kernels.blas import gemm

    @numba.njit
    def gemms(nb, Vcat, Hcat, hs, pre_v, W, vel_W, m, alpha):
        for _ in range(nb):
            np.dot(hs[:m], W, pre_v[:m])                   # chain: h W
            np.dot(Vcat[:2 * m], W.T, Hcat[:2 * m])        # [v0; v_k] W^T, stacked
            gemm(True, False, alpha, Hcat[:2 * m], Vcat[:2 * m], 0.0, vel_W)  # gradient

    @numba.njit
    def elementwise(nb, Vcat, Hcat, hs, pre_v, b, c, key, m):
        for _ in range(nb):
            K.sigmoid_sample_rows(pre_v[:m], b, Vcat[m:2 * m], key, False)
            K.sigmoid_rows(Hcat[:m], c, Hcat[:m])
            K.sigmoid_sample_rows(Hcat[m:2 * m], c, hs[:m], key, True)

    @numba.njit
    def update(nb, m, c, b, vel, sq, Vcat, Hcat, W, grad, lr):
        for _ in range(nb):
            K._bias_step(m, 1.0 / m, c, b, vel[1], vel[2], sq, Vcat, Hcat, lr, 0.0, 0.1,
                         0.0, 0.9)
            K._weight_step(m, 1.0 / m, W, vel[0], sq, Vcat, grad, lr, 0.0, 0.1, 0.0)

    @numba.njit
    def whole(nb, m, settings, params, offsets, vel, chains, scratch, hyper):
        for t in range(nb):
            K.cd_update(m, settings, np.uint64(1), t, params, offsets, vel, chains, scratch,
                        hyper)

    return gemms, elementwise, update, whole


def profile_cd(X, H, batch_size, repeats):
    """Per-mini-batch seconds of rbmlib's PCD-1 step: GEMMs, elementwise passes, update.

    Every part is timed with the kernel's own functions in a compiled loop over
    the epoch's mini-batches, so all products run in the BLAS library the kernel
    uses and no Python call is timed.
    """
    from rbmlib._kernels.negative import PCD
    from rbmlib._kernels.sampling import stream_key
    from rbmlib._kernels.units import BERNOULLI_HIDDEN, BERNOULLI_VISIBLE

    n, V = X.shape
    dt = X.dtype
    rng = np.random.default_rng(0)
    B = batch_size
    W = (0.01 * rng.standard_normal((H, V))).astype(dt)
    c, b = np.zeros(H, dt), np.zeros(V, dt)
    vel = (np.zeros_like(W), np.zeros_like(c), np.zeros_like(b))
    Vcat, Hcat = np.zeros((2 * B, V), dt), np.zeros((2 * B, H), dt)
    hs, pre_v, grad = np.zeros((B, H), dt), np.zeros((B, V), dt), np.zeros((H, V), dt)
    hchain = (rng.random((B, H)) < 0.5).astype(dt)
    sq = np.zeros(H, dt)
    sigma = np.ones(V, dt)
    nb = n // B
    key = stream_key(np.uint64(1), np.uint64(2))
    Vcat[:B] = X[:B]
    Vcat[B:] = X[B:2 * B]
    hs[:] = hchain
    gemms, elementwise, update, whole = _profile_loops()
    # the groups of rbmlib._kernels.cd (its module docstring): PCD-1, Bernoulli units
    settings = (1, PCD, BERNOULLI_VISIBLE, BERNOULLI_HIDDEN, False)
    params = (W, c, b, sigma, sigma[:0])
    offsets = np.zeros(1, np.int64)
    velocities = (*vel, sigma[:0])
    chains = (hchain, sq)
    scratch = (Vcat, Hcat, hs, pre_v, grad, np.zeros((0, 0), np.int32))
    hyper = (_LR, 0.0, 0.0, 0.1, 0.0, 0.9, 0.0, 0.0)
    parts = {
        "GEMMs (3: h W, [v0; vk] W^T, gradient)":
            lambda k: gemms(k, Vcat, Hcat, hs, pre_v, W, vel[0], B, _LR / B),
        "elementwise (sigmoid, sampling)":
            lambda k: elementwise(k, Vcat, Hcat, hs, pre_v, b, c, key, B),
        "update (bias sums, W += vel)":
            lambda k: update(k, B, c, b, vel, sq, Vcat, Hcat, W, grad, _LR),
        "whole cd_update":
            lambda k: whole(k, B, settings, params, offsets, velocities, chains, scratch,
                            hyper),
    }
    # The parts have no data term to hold the weights: "update" adds the momentum
    # step that "GEMMs" left, round after round, and on weights grown to 1e4 the
    # update runs 2-4x slower (RESULTS.md, issue 25, session 11). Every timed run
    # therefore starts from the same parameters, velocities and chains.
    state = (W, c, b, *vel, Vcat, Hcat, hs, pre_v, grad, hchain, sq)
    start = [a.copy() for a in state]

    def reset():
        for a, a0 in zip(state, start):
            a[...] = a0

    out = {}
    for name, fn in parts.items():
        fn(1)  # compile
        ts = []
        for _ in range(repeats):
            reset()
            t0 = time.perf_counter()
            fn(nb)
            ts.append((time.perf_counter() - t0) / nb)
        out[name] = float(np.median(ts))
    reset()
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None, help="MNIST folder (default ../shared/data/mnist)")
    ap.add_argument("--n-samples", type=int, default=20000)
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-sizes", default="100,10")
    ap.add_argument("--dtypes", default="float32")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--no-sklearn", action="store_true")
    args = ap.parse_args(argv)

    import numba
    from threadpoolctl import threadpool_info, threadpool_limits

    import rbmlib
    from rbmlib import BernoulliRBM

    try:
        import torch
    except ImportError:
        torch = None
    nt = args.threads
    numba.set_num_threads(min(nt, numba.config.NUMBA_NUM_THREADS))
    if torch is not None:
        torch.set_num_threads(nt)
    limits = threadpool_limits(limits=nt, user_api="blas")

    X64 = load_X(args.data, args.n_samples)
    N, V = X64.shape
    H = args.hidden
    import rbmlib._kernels.cd  # noqa: F401  (loads SciPy's BLAS, the one Numba's products use)

    blas = [f"{os.path.basename(d['filepath'])}: {d['internal_api']} {d.get('version')} "
            f"{d.get('architecture')} ({d['num_threads']} threads)"
            for d in threadpool_info() if d["user_api"] == "blas"]
    print(f"# bench_rbm: N={N} V={V} H={H}, threads {nt}, python {platform.python_version()}, "
          f"numpy {np.__version__}, numba {numba.__version__}, rbmlib {rbmlib.__version__}"
          + (f", torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()})" if torch else "")
          + f", {os.cpu_count()} cores")
    print(f"# BLAS: {'; '.join(blas)}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')!r}, "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')!r}")
    print("# NumPy's np.dot (scikit-learn, 'floor') uses numpy.libs' OpenBLAS; rbmlib's Numba "
          "kernels ('floor nb', the profile) use scipy.libs' OpenBLAS")
    print(f"# large GEMM 2048x2048 float32: {large_gemm_gflops():.1f} GFLOP/s")
    common = dict(n_iter=1, learning_rate=_LR, random_state=0)
    for dt in args.dtypes.split(","):  # warm up the kernels (compilation: bench_compile.py)
        BernoulliRBM(n_components=H, sample_visible=True, **common).fit(X64[:200].astype(dt))
        if torch is not None:
            torch_epoch(X64[:200].astype(dt), H, 10)

    from sklearn.neural_network import BernoulliRBM as SkRBM

    names = ["rbmlib", "sklearn", "torch", "floor", "floor nb"]
    _, floor5 = _numba_gemms()
    times = {}
    for rep in range(args.repeats):
        for bs in map(int, args.batch_sizes.split(",")):
            for dt in args.dtypes.split(","):
                X = X64.astype(dt)
                W = (0.01 * np.random.default_rng(0).standard_normal((H, V))).astype(dt)
                t = {
                    "rbmlib": fit_time(BernoulliRBM(n_components=H, batch_size=bs,
                                                    sample_visible=True, **common), X),
                    "sklearn": (np.nan if args.no_sklearn else
                                fit_time(SkRBM(n_components=H, batch_size=bs, **common), X)),
                    "torch": torch_epoch(X, H, bs) if torch is not None else np.nan,
                    "floor": gemm_floor_epoch(X, W, bs),
                    "floor nb": gemm_floor_epoch_numba(X, W, bs, floor5),
                }
                for k, v in t.items():
                    times.setdefault((bs, dt), {}).setdefault(k, []).append(v)
                print(f"# rep {rep} batch {bs} {dt}: " + " ".join(f"{k} {v:.3f}s" for k, v in t.items()),
                      flush=True)

    print()
    print(f"Median of {args.repeats} alternating repeats, {nt} thread(s):")
    print()
    print("| batch | dtype | rbmlib s | sklearn s | torch s | 5-GEMM floor s | floor, Numba's "
          "BLAS s | rbmlib / floor | sklearn / rbmlib | torch / rbmlib |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (bs, dt), d in times.items():
        m = {k: float(np.median(d[k])) for k in names}
        print(f"| {bs} | {dt} | {m['rbmlib']:.3f} | {m['sklearn']:.3f} | {m['torch']:.3f} | "
              f"{m['floor']:.3f} | {m['floor nb']:.3f} | {m['rbmlib'] / m['floor']:.2f} | "
              f"{m['sklearn'] / m['rbmlib']:.2f}x | {m['torch'] / m['rbmlib']:.2f}x |")

    if args.profile:
        print()
        print(f"Per-mini-batch profile of rbmlib's PCD-1 kernel (ms per mini-batch, median of "
              f"{args.repeats}, {nt} thread(s)):")
        print()
        print("| batch | dtype | " + " | ".join(["GEMMs", "elementwise", "update", "whole cd_update",
                                                  "sum of parts"]) + " |")
        print("|---|---|---|---|---|---|---|")
        for bs in map(int, args.batch_sizes.split(",")):
            for dt in args.dtypes.split(","):
                p = profile_cd(X64.astype(dt), H, bs, args.repeats)
                vals = list(p.values())
                print(f"| {bs} | {dt} | " + " | ".join(f"{1e3 * v:.3f}" for v in vals)
                      + f" | {1e3 * sum(vals[:3]):.3f} |")
    limits.restore_original_limits()
    return 0


if __name__ == "__main__":
    sys.exit(main())
