"""AIS on a 784 x 500 MNIST RBM: rbmlib.likelihood.ais against its GEMM floor.

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python benchmarks/bench_ais.py [--data ../shared/data/mnist] [--n-samples 20000]
                                       [--hidden 500] [--runs 100] [--n-betas 14501]
                                       [--threads 1] [--repeats 3] [--old REV]
                                       [--start-cost N] [--pt-temperatures 10]
                                       [--pt-min-beta 0.1]

A BernoulliRBM (784 -> ``--hidden``, float32, CD-1, 3 epochs on the first
``--n-samples`` MNIST training images / 255, seed 0) is fitted once; then,
alternating in one run, ``--repeats`` times each:

* ``rbmlib.likelihood.ais(rbm, n_runs, base_rate=X)`` with the schedule of
  Salakhutdinov and Murray (2008) (14,501 inverse temperatures; ``--n-betas``
  other than 14501 uses ``linspace(0, 1, n)``), validation and summary included;
* the GEMM floor: only the matrix products AIS needs, ``K`` products
  ``U W^T`` (runs x visible by visible x hidden) and ``K - 1`` products
  ``H_s W``, float64 as the kernel, called from Numba code (the BLAS the
  kernel uses: SciPy's OpenBLAS) into preallocated outputs;
* with ``--old REV``, the AIS kernel of ``rbmlib/_kernels/partition.py`` at git
  revision ``REV`` (for the previous scalar per-run kernel: ``f6c80ba``), loaded
  from ``git show`` and run on the same model, base rates and schedule.

With ``--start-cost N``, also the cost of the chains that start reverse AIS on
the same model: ``N`` Gibbs sweeps of ``--runs`` chains (``init="gibbs"``) and
``N`` parallel-tempering updates (``init="pt"``, ``--pt-temperatures`` inverse
temperatures geometrically spaced from 1 to ``--pt-min-beta``), in milliseconds
per sweep / update, with the swap acceptance of each neighbouring pair.

Threads: ``--threads`` for BLAS (threadpoolctl) and Numba. Prints the
medians, the ratio to the floor, the log Z estimates (the same estimator on
different random numbers: they agree within their standard errors) with the
effective sample size of their weights and the largest weight's share, and
which BLAS ran.
"""

import argparse
import os
import platform
import subprocess
import sys
import time
import types
import warnings

import numpy as np


def load_X(path, n):
    from rbmlib.datasets import load_mnist

    X, _ = load_mnist(path, subset="train")
    return X[:n].astype(np.float32) / np.float32(255.0)


def floor_fn():
    import numba

    @numba.njit
    def floor(U, W, WT, Hs, X, P, K):
        for k in range(K):
            np.dot(U, WT, X)
            if k < K - 1:
                np.dot(Hs, W, P)

    return floor


def floor_time(W, R, K, floor):
    H, V = W.shape
    U = (np.random.default_rng(0).random((R, V)) < 0.2).astype(np.float64)
    Hs = (np.random.default_rng(1).random((R, H)) < 0.5).astype(np.float64)
    X, P = np.empty((R, H)), np.empty((R, V))
    WT = np.ascontiguousarray(W.T)
    floor(U, W, WT, Hs, X, P, 2)
    t0 = time.perf_counter()
    floor(U, W, WT, Hs, X, P, K)
    return time.perf_counter() - t0


def load_old_kernel(rev):
    """``ais_log_weights`` of partition.py at git revision ``rev`` (compiled, not cached)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    src = subprocess.run(["git", "-C", root, "show", f"{rev}:rbmlib/_kernels/partition.py"],
                         check=True, capture_output=True, text=True).stdout
    src = src.replace("cache=True", "cache=False")
    mod = types.ModuleType("rbmlib._kernels._partition_old")
    mod.__package__ = "rbmlib._kernels"
    exec(compile(src, f"partition.py@{rev}", "exec"), mod.__dict__)
    return mod.ais_log_weights


def old_ais(kernel, rbm, X, betas, R, seed):
    """The old kernel on the arguments ``likelihood.ais`` gives it (forward AIS)."""
    from rbmlib import likelihood as L

    W, c, b, _ = L._params(rbm)
    b_base = L._base_biases(X, b, None, W.shape[1])
    log_w, v_final = np.empty(R), np.empty((R, W.shape[1]))
    t0 = time.perf_counter()
    kernel(W, np.ascontiguousarray(W.T), c, b, b_base, np.ones(W.shape[1]), False, betas,
           v_final, True, seed, log_w, v_final)
    t = time.perf_counter() - t0
    est = L._summarise(log_w, L._log_z_base(b_base, None, W.shape[0], L._hidden(rbm, "ais")),
                       False, betas.shape[0])
    return t, est


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None, help="MNIST folder (default ../shared/data/mnist)")
    ap.add_argument("--n-samples", type=int, default=20000)
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--n-betas", type=int, default=14501)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--old", default=None, metavar="REV",
                    help="also time the AIS kernel of this git revision (e.g. f6c80ba)")
    ap.add_argument("--start-cost", type=int, default=0, metavar="N",
                    help="also time N sweeps / updates of reverse AIS's starting chains")
    ap.add_argument("--pt-temperatures", type=int, default=10)
    ap.add_argument("--pt-min-beta", type=float, default=0.1)
    args = ap.parse_args(argv)

    import numba
    from threadpoolctl import threadpool_info, threadpool_limits

    import rbmlib
    from rbmlib import BernoulliRBM
    from rbmlib import likelihood as L

    nt = args.threads
    numba.set_num_threads(min(nt, numba.config.NUMBA_NUM_THREADS))
    limits = threadpool_limits(limits=nt, user_api="blas")
    X = load_X(args.data, args.n_samples)
    rbm = BernoulliRBM(n_components=args.hidden, n_iter=3, batch_size=100, learning_rate=0.05,
                       random_state=0, n_jobs=nt).fit(X)
    betas = L.default_betas() if args.n_betas == 14501 else np.linspace(0, 1, args.n_betas)
    K = betas.shape[0] - 1
    R = args.runs
    H, V = rbm.components_.shape
    blas = [f"{os.path.basename(d['filepath'])}: {d['internal_api']} {d.get('version')} "
            f"{d.get('architecture')} ({d['num_threads']} threads)"
            for d in threadpool_info() if d["user_api"] == "blas"]
    flop = 2.0 * R * V * H * (2 * K - 1)
    print(f"# bench_ais: {V} x {H} RBM, {R} runs, {betas.shape[0]} temperatures, "
          f"threads {nt}; python {platform.python_version()}, numpy {np.__version__}, "
          f"numba {numba.__version__}, rbmlib {rbmlib.__version__}, {os.cpu_count()} cores")
    print(f"# BLAS: {'; '.join(blas)}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')!r}")
    print(f"# GEMM work {flop / 1e12:.2f} TFLOP (float64)")
    old = load_old_kernel(args.old) if args.old else None
    floor = floor_fn()
    # warm up (compilation is not what is measured; 3 temperatures: a low ESS, no warning)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        L.ais(rbm, n_runs=R, betas=np.linspace(0, 1, 3), base_rate=X, random_state=0)
    if old is not None:
        old_ais(old, rbm, X, np.linspace(0, 1, 3), R, 1)
    W = np.ascontiguousarray(rbm.components_, dtype=np.float64)

    times = {"rbmlib": [], "floor": []}
    if old is not None:
        times["old"] = []
    ests = {}
    for rep in range(args.repeats):
        t0 = time.perf_counter()
        ests["rbmlib"] = L.ais(rbm, n_runs=R, betas=betas, base_rate=X, random_state=rep)
        times["rbmlib"].append(time.perf_counter() - t0)
        times["floor"].append(floor_time(W, R, K, floor))
        if old is not None:
            t, ests["old"] = old_ais(old, rbm, X, betas, R, 1000 + rep)
            times["old"].append(t)
        print(f"# rep {rep}: " + " ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items())
              + " | " + " ".join(f"{k} log Z {e.log_z:.3f} +- {e.log_z_std:.3f} (ESS "
                                 f"{e.ess:.1f} of {e.n_runs}, largest weight "
                                 f"{100 * e.max_weight_share:.1f}%)"
                                 for k, e in ests.items()), flush=True)
    med = {k: float(np.median(v)) for k, v in times.items()}
    print()
    print(f"Median of {args.repeats} alternating repeats, {nt} thread(s):")
    print()
    print("| threads | rbmlib AIS s | GEMM floor s | rbmlib / floor | floor GFLOP/s"
          + (f" | kernel at {args.old} s | old / rbmlib" if old is not None else "") + " |")
    print("|---|---|---|---|---" + ("|---|---" if old is not None else "") + "|")
    print(f"| {nt} | {med['rbmlib']:.2f} | {med['floor']:.2f} | "
          f"{med['rbmlib'] / med['floor']:.2f} | {flop / med['floor'] / 1e9:.1f}"
          + (f" | {med['old']:.2f} | {med['old'] / med['rbmlib']:.2f}x" if old is not None else "")
          + " |")
    if args.start_cost:
        start_cost(rbm, X, R, args.start_cost,
                   np.geomspace(1.0, args.pt_min_beta, args.pt_temperatures))
    limits.restore_original_limits()
    return 0


def start_cost(rbm, X, R, n, pt_betas):
    """Milliseconds per Gibbs sweep and per parallel-tempering update of the ``R``
    chains that start reverse AIS (``likelihood.ais(..., reverse=True, init=...)``)."""
    from rbmlib import likelihood as L

    W, c, b, sigma = L._params(rbm)
    visible, hidden = L._visible(rbm, sigma), L._hidden(rbm, "ais")
    path = L._Path(W, c, b, sigma, L._base_biases(X, b, sigma, W.shape[1], visible),
                   visible, hidden)
    rng = np.random.RandomState(0)
    path.start_states(R, 2, rng, "", False)  # compile
    path.pt_states(R, 2, pt_betas, rng, "", False)
    t0 = time.perf_counter()
    path.start_states(R, n, rng, "", False)
    gibbs = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    path.pt_states(R, n, pt_betas, rng, "", False)
    pt = (time.perf_counter() - t0) / n
    print()
    print(f"Reverse AIS's starting chains ({R} chains, {n} sweeps / updates): Gibbs "
          f"{1e3 * gibbs:.1f} ms per sweep, parallel tempering ({len(pt_betas)} temperatures "
          f"1 .. {pt_betas[-1]:g}) "
          f"{1e3 * pt:.1f} ms per update; swap acceptance "
          f"{', '.join(f'{a:.2f}' for a in path.pt_acceptance)}")


if __name__ == "__main__":
    sys.exit(main())
