"""Joint-training speed of a DBM in float32 against float64 (issue 23).

Times one joint-training epoch of :class:`rbmlib.DBM` 784-500-1000 (10
mean-field sweeps at most, 100 persistent chains, batch 100, the DBM's other
defaults) on ``--n-samples`` binarised MNIST training images, through the
public ``partial_fit`` of a DBM composed without pretraining, with the rows in
float64 and in float32 (a float32 DBM), alternating ``--repeats`` times in one
run, at each thread count of ``--threads`` (``n_jobs``).  Prints the BLAS
kernel that ran (threadpoolctl), the median milliseconds per joint update and
the ratio float64 / float32.

Usage (native BLAS kernels, as benchmarks/RESULTS.md records it)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_dbm_dtype.py

Smoke test::

    python benchmarks/bench_dbm_dtype.py --n-samples 500 --hidden 50,100 --repeats 1
"""

import argparse
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from rbmlib import DBM  # noqa: E402
from rbmlib.datasets import load_mnist  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None)
    p.add_argument("--n-samples", type=int, default=6000)
    p.add_argument("--hidden", default="500,1000")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    X, _ = load_mnist(args.data, "train")
    X = X[: args.n_samples] / 255.0
    B = (np.random.RandomState(12345).random_sample(X.shape) < X).astype(np.float64)
    hidden = tuple(int(h) for h in args.hidden.split(","))
    print("    python benchmarks/bench_dbm_dtype.py " + " ".join(sys.argv[1:] if argv is None
                                                             else argv))
    print()
    print("| threads | BLAS | float64 (ms / update) | float32 (ms / update) | "
          "float64 / float32 |")
    print("|---|---|---|---|---|")
    for threads in (int(t) for t in args.threads.split(",")):
        times = {"float64": [], "float32": []}
        for _ in range(args.repeats):
            for name in times:
                Xd = B.astype(name)
                dbm = DBM(hidden, n_iter_pretrain=0, n_iter=0, n_jobs=threads,
                          random_state=0).fit(Xd[:200])  # composed, chains started
                t = time.perf_counter()
                dbm.partial_fit(Xd)
                secs = time.perf_counter() - t
                n_updates = -(-Xd.shape[0] // dbm.batch_size)
                times[name].append(1000.0 * secs / n_updates)
        blas = "; ".join(f"{i['internal_api']} {i.get('architecture')}"
                         for i in threadpool_info() if i.get("user_api") == "blas")
        t64, t32 = (float(np.median(times[n])) for n in ("float64", "float32"))
        print(f"| {threads} | {blas} | {t64:.1f} | {t32:.1f} | {t64 / t32:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
