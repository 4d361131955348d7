"""Cost of DBM.score (the variational bound with an AIS log Z) per AIS schedule.

A DBM 64-256-256 (the default layers) on load_digits binarised at 8/16, then
``score`` on the held-out half with the paper's schedule (``ais_n_betas=14501``)
and with ``ais_n_betas="auto"`` (1,001 temperatures, doubled while the effective
sample size is below 10% of the runs), 100 runs each: seconds, log Z, its
standard error, the ESS and the temperatures used. Run single-threaded::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        NUMBA_NUM_THREADS=1 python benchmarks/bench_dbm_score.py
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits

from rbmlib import DBM


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-iter", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    X = (load_digits().data >= 8).astype(float)
    rng = np.random.RandomState(args.seed)
    idx = rng.permutation(len(X))
    X_tr, X_te = X[idx[:1200]], X[idx[1200:]]
    t = time.perf_counter()
    dbm = DBM(n_iter=args.n_iter, n_iter_pretrain=args.n_iter, random_state=args.seed).fit(X_tr)
    print(f"fit: {time.perf_counter() - t:.1f} s (64-256-256, {args.n_iter} pretraining "
          f"epochs per layer, {args.n_iter} joint)")
    for betas in (14501, "auto"):
        dbm.set_params(ais_n_betas=betas)
        t = time.perf_counter()
        score = dbm.score(X_te)
        sec = time.perf_counter() - t
        est = dbm.log_partition()
        print(f"ais_n_betas={betas!s:>5}: score {score:.3f} nats in {sec:.1f} s; log Z "
              f"{est.log_z:.3f} +- {est.log_z_std:.3f}, ESS {est.ess:.1f} of {est.n_runs}, "
              f"{est.n_betas} temperatures ({est.n_doublings} doublings)")


if __name__ == "__main__":
    main()
