"""Re-estimate log Z of an RBM pickled by ``mnist_loglik.py --save``, with more AIS runs.

A check of a reported figure: forward AIS (and optionally reverse AIS) with
another seed and ``--ais-runs`` runs, the test set binarised exactly as
``mnist_loglik.py`` does (same ``--seed``), and the mean test log-likelihood in
nats with its interval and diagnostics.

Example::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 \
        python benchmarks/mnist_loglik_recheck.py /work/scratch/mnist/s9_centered_run2.pkl \
        --ais-runs 500 --ais-seed 1
"""

import argparse
import os
import pickle
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mnist_loglik import betas_from, binarize, blas_kernels, fmt_diag, fmt_est  # noqa: E402

from rbmlib.datasets import load_mnist  # noqa: E402
from rbmlib.likelihood import ais, free_energy  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="pickle written by mnist_loglik.py --save")
    p.add_argument("--data", default=None)
    p.add_argument("--seed", type=int, default=0, help="mnist_loglik.py's --seed")
    p.add_argument("--ais-runs", type=int, default=500)
    p.add_argument("--ais-betas", type=int, default=None)
    p.add_argument("--ais-seed", type=int, default=1)
    args = p.parse_args(argv)
    with open(args.model, "rb") as f:
        rbm = pickle.load(f)
    X_train, _ = load_mnist(args.data, "train")
    X_test_u8, _ = load_mnist(args.data, "test")
    P_train = X_train.astype(np.float32) / 255.0
    test_rng = np.random.default_rng(args.seed + 12345)
    X_test = binarize(X_test_u8.astype(np.float32) / 255.0, test_rng, "stochastic", np.float64)
    print(f"BLAS: {blas_kernels()}", flush=True)
    t0 = time.time()
    est = ais(rbm, n_runs=args.ais_runs, betas=betas_from(args), base_rate=P_train,
              random_state=args.ais_seed, verbose=1)
    secs = time.time() - t0
    nf = -free_energy(rbm, X_test)
    ll = float(np.mean(nf))
    print(f"forward AIS, {args.ais_runs} runs, seed {args.ais_seed} ({secs:.0f} s): log Z = "
          f"{fmt_est(est)}; test avg. log-likelihood {ll - est.log_z:.2f} "
          f"[{ll - est.log_z_upper:.2f}, {ll - est.log_z_lower:.2f}] nats; {fmt_diag(est)}")


if __name__ == "__main__":
    main()
