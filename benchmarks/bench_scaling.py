"""DBN pretraining cost per epoch as the data and the hidden layer grow: is it linear?

Usage::

    python benchmarks/bench_scaling.py [--data ../shared/data/mnist]
                                       [--n-samples-list 1000,2000,5000,10000,20000,60000]
                                       [--hidden 500,500,2000]
                                       [--sizes 125,250,500,1000] [--sizes-n-samples 10000]
                                       [--hidden-above ""] [--batch-size 100]
                                       [--dtype float32] [--repeats 2] [--n-jobs N]

Two sweeps of greedy layer-wise pretraining (rbmlib.DBN, CD-1 with
``persistent=False``, one epoch per layer, on MNIST pixels / 255):

1. **n_samples**: the 784-500-500-2000 DBN (``--hidden``) on the first N rows,
   N in ``--n-samples-list``;
2. **hidden units**: a DBN whose first hidden layer has H units, H in
   ``--sizes``, on ``--sizes-n-samples`` rows. By default it is that one layer
   alone (784-H), so the cost should be proportional to H; ``--hidden-above
   500,2000`` stacks further layers on top (then the cost is affine in H, and
   the log-log slope falls below 1 by the fixed part).

Each configuration is the wall time of ``DBN.fit`` (the CD epochs and the
forward pass to the next layer), best of ``--repeats``, the sweeps alternating
within each repeat. It prints, per sweep, the seconds, seconds per 1000 rows
(or per hidden unit), the effective GFLOP/s of the CD-1 epochs (10 N V H
floating-point operations per layer of V visible and H hidden units) and the
least-squares slope of log(time) on log(size): 1 means linear. The slope is
fitted over all points and over the points from the second one up (the
smallest size carries the fixed costs). A straight-line fit
``time = fixed + slope * size`` shows the fixed part: each RBM's per-epoch
monitoring (the exact pseudo-log-likelihood of 100 rows, O(100 V H)
softplus evaluations) does not depend on n_samples.
Prints Markdown tables with the command line on top.
"""

import argparse
import os
import platform
import shlex
import sys
import time

import numpy as np


def load_X(path, n, dtype):
    from rbmlib.datasets import load_mnist

    X, _ = load_mnist(path, subset="train")
    return np.ascontiguousarray(X[:n].astype(dtype) / dtype(255.0))


def cd_flops(n, sizes):
    """Nominal floating-point operations of one CD-1 epoch of every layer."""
    return 10.0 * n * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def pretrain_time(X, hidden, args):
    from rbmlib import DBN

    dbn = DBN(tuple(hidden), n_iter=1, k=1, persistent=False, batch_size=args.batch_size,
              learning_rate=0.01, random_state=0, n_jobs=args.n_jobs)
    t0 = time.perf_counter()
    dbn.fit(X)
    return time.perf_counter() - t0


def loglog_slope(sizes, times):
    if len(sizes) < 2:
        return float("nan")
    return float(np.polyfit(np.log(sizes), np.log(times), 1)[0])


def linear_fit(sizes, times):
    """Least-squares ``time = fixed + per_unit * size``; returns (fixed, per_unit)."""
    if len(sizes) < 2:
        return float("nan"), float("nan")
    per_unit, fixed = np.polyfit(np.asarray(sizes, float), np.asarray(times, float), 1)
    return float(fixed), float(per_unit)


def parse_ints(s):
    return [int(v) for v in s.split(",") if v.strip()]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None, help="MNIST folder (default ../shared/data/mnist)")
    ap.add_argument("--n-samples-list", default="1000,2000,5000,10000,20000,60000",
                    help="rows of the n_samples sweep")
    ap.add_argument("--hidden", default="500,500,2000",
                    help="hidden layers of the n_samples sweep, bottom first")
    ap.add_argument("--sizes", default="125,250,500,1000",
                    help="first-hidden-layer sizes of the hidden-units sweep ('' to skip)")
    ap.add_argument("--sizes-n-samples", type=int, default=10000,
                    help="rows of the hidden-units sweep")
    ap.add_argument("--hidden-above", default="",
                    help="layers stacked above the swept one (default none: 784-H alone)")
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--n-jobs", type=int, default=None)
    args = ap.parse_args(argv)

    import rbmlib

    dtype = np.dtype(args.dtype).type
    n_list = parse_ints(args.n_samples_list)
    hidden = parse_ints(args.hidden)
    h_list = parse_ints(args.sizes)
    above = parse_ints(args.hidden_above)
    X_all = load_X(args.data, max(n_list + [args.sizes_n_samples if h_list else 0]), dtype)
    n_avail, V = X_all.shape
    n_list = sorted({min(n, n_avail) for n in n_list})
    n_h = min(args.sizes_n_samples, n_avail)

    cmd = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0]] + list(sys.argv[1:]))
    print(f"`{cmd}`")
    print()
    print(f"# bench_scaling: DBN pretraining, CD-1, 1 epoch per layer, batch {args.batch_size}, "
          f"{args.dtype}, n_jobs {args.n_jobs}; python {platform.python_version()}, "
          f"numpy {np.__version__}, rbmlib {rbmlib.__version__}, {os.cpu_count()} cores")
    # warm up the kernels (compilation is measured in bench_compile.py)
    pretrain_time(X_all[:200], [16, 16], args)

    t_n = {n: np.inf for n in n_list}
    t_h = {h: np.inf for h in h_list}
    for rep in range(args.repeats):
        for n in n_list:
            t = pretrain_time(X_all[:n], hidden, args)
            t_n[n] = min(t_n[n], t)
            print(f"# rep {rep} n_samples {n}: {t:.3f}s", flush=True)
        for h in h_list:
            t = pretrain_time(X_all[:n_h], [h] + above, args)
            t_h[h] = min(t_h[h], t)
            print(f"# rep {rep} first hidden {h}: {t:.3f}s", flush=True)

    sizes = [V] + hidden
    print()
    print(f"DBN {'-'.join(map(str, sizes))}, time per pretraining epoch (every layer once) "
          f"against n_samples:")
    print()
    print("| n_samples | s | s per 1000 rows | CD-1 GFLOP/s |")
    print("|---|---|---|---|")
    for n in n_list:
        print(f"| {n} | {t_n[n]:.3f} | {1000 * t_n[n] / n:.4f} | "
              f"{cd_flops(n, sizes) / t_n[n] / 1e9:.1f} |")
    ns, ts = list(t_n), list(t_n.values())
    print()
    print(f"log-log slope of time on n_samples: {loglog_slope(ns, ts):.3f} (all points), "
          f"{loglog_slope(ns[1:], ts[1:]):.3f} (from n={ns[1] if len(ns) > 1 else '-'})")
    fixed, per = linear_fit(ns, ts)
    print(f"linear fit: time = {fixed:.3f} s + {1000 * per:.4f} s per 1000 rows "
          f"(the fixed part is paid once per epoch and layer, whatever n_samples)")

    if h_list:
        print()
        print(f"DBN {V}-H{''.join('-' + str(a) for a in above)}, {n_h} rows, time per "
              f"pretraining epoch against the first hidden layer H:")
        print()
        print("| H | s | ms per hidden unit | CD-1 GFLOP/s |")
        print("|---|---|---|---|")
        for h in h_list:
            print(f"| {h} | {t_h[h]:.3f} | {1000 * t_h[h] / h:.3f} | "
                  f"{cd_flops(n_h, [V, h] + above) / t_h[h] / 1e9:.1f} |")
        hs, ts = list(t_h), list(t_h.values())
        print()
        print(f"log-log slope of time on H: {loglog_slope(hs, ts):.3f} (all points), "
              f"{loglog_slope(hs[1:], ts[1:]):.3f} (from H={hs[1] if len(hs) > 1 else '-'})")
        fixed, per = linear_fit(hs, ts)
        print(f"linear fit: time = {fixed:.3f} s + {1000 * per:.3f} ms per hidden unit")
    return 0


if __name__ == "__main__":
    sys.exit(main())
