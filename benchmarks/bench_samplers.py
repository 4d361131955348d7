"""CD-1, PCD-1, centered PCD-1, parallel tempering and centered PT on digits, scored exactly.

A 64-16 BernoulliRBM (small enough for the exact log Z) on scikit-learn's digits
binarised at 8/16 (1,797 images: the first 1,400 train, the rest test), trained
with each sampler for the same number of parameter updates; the table gives the
exact mean test log-likelihood (nats), mean +- std over seeds, and the training
time. Run single-threaded on native BLAS kernels::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        NUMBA_NUM_THREADS=1 python benchmarks/bench_samplers.py
"""

import argparse
import os
import sys
import time

import numpy as np
from sklearn.datasets import load_digits

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from rbmlib import BernoulliRBM  # noqa: E402

SAMPLERS = {
    "CD-1": dict(persistent=False),
    "PCD-1": dict(persistent=True),
    "centered PCD-1": dict(persistent=True, centered=True),
    "PT (5 temperatures)": dict(persistent=True, n_temperatures=5),
    "centered PT (5)": dict(persistent=True, n_temperatures=5, centered=True),
}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hidden", type=int, default=16)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--seeds", type=int, default=3)
    args = p.parse_args(argv)
    X = (load_digits().data >= 8).astype(np.float64)
    X_train, X_test = X[:1400], X[1400:]
    print(f"| sampler | test log-likelihood (nats, exact) | train log-likelihood | "
          f"seconds ({args.epochs} epochs) |")
    print("|---|---|---|---|")
    for name, kw in SAMPLERS.items():
        test, train, secs = [], [], []
        for seed in range(args.seeds):
            rbm = BernoulliRBM(args.hidden, learning_rate=args.lr, batch_size=args.batch_size,
                               n_iter=args.epochs, momentum=0.5, random_state=seed, **kw)
            t0 = time.perf_counter()
            rbm.fit(X_train)
            secs.append(time.perf_counter() - t0)
            log_z = rbm.log_partition(method="exact")
            test.append(np.mean(rbm.log_likelihood(X_test, log_z=log_z)))
            train.append(np.mean(rbm.log_likelihood(X_train, log_z=log_z)))
        print(f"| {name} | {np.mean(test):.2f} +- {np.std(test):.2f} | "
              f"{np.mean(train):.2f} +- {np.std(train):.2f} | {np.median(secs):.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
