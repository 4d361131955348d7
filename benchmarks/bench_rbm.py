"""One CD-1 epoch on MNIST: rbmlib vs scikit-learn vs the GEMM floor, side by side.

Usage::

    python benchmarks/bench_rbm.py [--data ../shared/data/mnist] [--n-samples 60000]
                                   [--hidden 500] [--repeats 2] [--n-jobs N]

For batch sizes 10 and 100 and float32/float64 it times, alternating in one
run, one epoch of

* rbmlib.BernoulliRBM (``n_iter=1``, PCD-1 as scikit-learn, default monitoring on),
* sklearn.neural_network.BernoulliRBM with the same settings,
* the "GEMM floor": only the five matrix products one CD-1 mini-batch needs
  (v W^T, h W, v' W^T, v^T h, v'^T h') in NumPy with preallocated outputs,

and reports seconds (best of ``--repeats``), effective GFLOP/s
(10 N V H floating-point operations per epoch) and ratios. It also measures
the machine's 2048 x 2048 float32 GEMM throughput. Prints a Markdown table.
"""

import argparse
import os
import platform
import sys
import time

import numpy as np


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
    g1 = np.empty((V, H), dt)
    g2 = np.empty((V, H), dt)
    t0 = time.perf_counter()
    for start in range(0, n - batch_size + 1, batch_size):
        v = X[start:start + batch_size]
        np.dot(v, W.T, out=ph)
        np.dot(ph, W, out=pv)
        np.dot(pv, W.T, out=ph2)
        np.dot(v.T, ph, out=g1)
        np.dot(pv.T, ph2, out=g2)
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None, help="MNIST folder (default ../shared/data/mnist)")
    ap.add_argument("--n-samples", type=int, default=60000)
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--batch-sizes", default="100,10")
    ap.add_argument("--dtypes", default="float32,float64")
    ap.add_argument("--n-jobs", type=int, default=None)
    args = ap.parse_args(argv)

    from sklearn.neural_network import BernoulliRBM as SkRBM

    import rbmlib
    from rbmlib import BernoulliRBM

    X64 = load_X(args.data, args.n_samples)
    N, V = X64.shape
    H = args.hidden
    flops = 10.0 * N * V * H
    print(f"# bench_rbm: N={N} V={V} H={H}, python {platform.python_version()}, "
          f"numpy {np.__version__}, rbmlib {rbmlib.__version__}, {os.cpu_count()} cores")
    print(f"# large GEMM 2048x2048 float32: {large_gemm_gflops():.1f} GFLOP/s")
    # warm up the kernels (compilation is measured in bench_compile.py)
    for dt in args.dtypes.split(","):
        BernoulliRBM(n_components=H, n_iter=1, random_state=0).fit(X64[:200].astype(dt))

    rows = {}
    for rep in range(args.repeats):
        for bs in map(int, args.batch_sizes.split(",")):
            for dt in args.dtypes.split(","):
                X = X64.astype(dt)
                W = (0.01 * np.random.default_rng(0).standard_normal((H, V))).astype(dt)
                common = dict(n_components=H, batch_size=bs, n_iter=1, learning_rate=0.01,
                              random_state=0)
                t_ours = fit_time(BernoulliRBM(n_jobs=args.n_jobs, **common), X)
                t_sk = fit_time(SkRBM(**common), X)
                t_floor = gemm_floor_epoch(X, W, bs)
                key = (bs, dt)
                prev = rows.get(key, (np.inf, np.inf, np.inf))
                rows[key] = tuple(min(a, b) for a, b in zip(prev, (t_ours, t_sk, t_floor)))
                print(f"# rep {rep} batch {bs} {dt}: rbmlib {t_ours:.2f}s sklearn {t_sk:.2f}s "
                      f"floor {t_floor:.2f}s", flush=True)

    print()
    print("| batch | dtype | rbmlib s | sklearn s | GEMM floor s | rbmlib GFLOP/s "
          "| sklearn / rbmlib | rbmlib / floor |")
    print("|---|---|---|---|---|---|---|---|")
    for (bs, dt), (t_ours, t_sk, t_floor) in rows.items():
        print(f"| {bs} | {dt} | {t_ours:.2f} | {t_sk:.2f} | {t_floor:.2f} | "
              f"{flops / t_ours / 1e9:.1f} | {t_sk / t_ours:.2f}x | {t_ours / t_floor:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
