"""Fine-tune a DBM pickled by ``mnist_dbm.py --save`` into a DBMClassifier (issue 23).

``mnist_dbm.py`` fine-tunes on the binarised images the DBM was trained on
(each pixel one Bernoulli draw of its intensity). A DBM's mean-field
posterior also takes the grey levels (pixels / 255, the probabilities those
draws came from) as its visible input, as the DBNs of ``mnist_dbn.py`` do;
``--inputs grey`` fine-tunes and tests on them, ``--inputs binary`` on the
binarised images (the same draws as ``mnist_dbm.py``). Every other setting is
``mnist_dbm.py``'s fine-tuning (SGD, Nesterov 0.9, cosine schedule, dropout).

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        NUMBA_NUM_THREADS=1 python benchmarks/mnist_dbm_finetune.py dbm.pkl --inputs grey
"""

import argparse
import os
import pickle
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import mnist_dbm  # noqa: E402

from rbmlib import DBMClassifier  # noqa: E402
from rbmlib.datasets import load_mnist  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dbm", help="a DBM pickled by mnist_dbm.py --save")
    p.add_argument("--inputs", choices=["grey", "binary"], default="grey")
    p.add_argument("--data", default=None)
    p.add_argument("--epochs", type=int, default=120)
    p.add_argument("--lr", type=float, default=0.5)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--alpha", type=float, default=1e-5)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--seeds", default="0")
    p.add_argument("--verbose", type=int, default=1)
    args = p.parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)
    with open(args.dbm, "rb") as f:
        dbm = pickle.load(f)
    dt = dbm.coefs_[0].dtype
    if args.inputs == "grey":
        Xtr, ytr = load_mnist(args.data, "train")
        Xte, yte = load_mnist(args.data, "test")
        Xtr, Xte = (Xtr / 255.0).astype(dt), (Xte / 255.0).astype(dt)
    else:
        Xtr, ytr, Xte, yte = mnist_dbm.load(mnist_dbm.parse_args(
            (["--float32"] if dt == np.float32 else []) + (
                ["--data", args.data] if args.data else [])))
    blas = "; ".join(f"{i['internal_api']} {i.get('architecture')} x{i['num_threads']}"
                     for i in threadpool_info() if i.get("user_api") == "blas")
    print("    python benchmarks/mnist_dbm_finetune.py " + " ".join(
        sys.argv[1:] if argv is None else argv))
    print(f"\nDBM {'-'.join(str(len(b)) for b in dbm.intercepts_)} ({dt}, "
          f"{dbm.n_iter_} joint epochs); inputs {args.inputs}; BLAS {blas}\n")
    print("| seed | inputs | fine-tuning epochs | wall time (s) | test error (%) |")
    print("|---|---|---|---|---|")
    for seed in (int(s) for s in args.seeds.split(",")):
        t0 = time.time()
        clf = DBMClassifier(dbm=dbm, solver="sgd", learning_rate_init=args.lr,
                            learning_rate="cosine", alpha=args.alpha, momentum=0.9,
                            batch_size=args.batch_size, max_iter=args.epochs, tol=0.0,
                            n_iter_no_change=10**6, dropout=args.dropout, random_state=seed,
                            n_jobs=1, verbose=args.verbose).fit(Xtr, ytr)
        err = 100.0 * (1.0 - clf.score(Xte, yte))
        print(f"| {seed} | {args.inputs} | {clf.n_iter_} | {time.time() - t0:.1f} | "
              f"{err:.2f} |", flush=True)


if __name__ == "__main__":
    main()
