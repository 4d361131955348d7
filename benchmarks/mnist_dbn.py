"""MNIST classification with a Deep Belief Network, with and without pretraining.

Trains a :class:`rbmlib.DBNClassifier` on the 60,000 MNIST training images
(pixels scaled to [0, 1]) and reports the error on the standard 10,000 test
images together with the wall time of each stage:

1. greedy layer-wise pretraining of the DBN (one line per layer);
2. back-propagation fine-tuning of the network that starts from the DBN's
   weights (test error at the end);
3. the same fine-tuning from a random (Glorot) initialisation, for
   comparison (skipped with ``--no-baseline``).

Reference points: Hinton, Osindero and Teh (2006), DBN 784-500-500-2000 with
up-down fine-tuning, 1.25%; Hinton and Salakhutdinov (2006), the same net
fine-tuned by back-propagation, 1.2%; Srivastava et al. (2014), a DBN
fine-tuned with dropout, 0.92%. The issue's target is at most 1.10% within
60 minutes on the project's 2-core machine. Every fine-tuning setting is
passed explicitly (DBNClassifier's defaults are scikit-learn's MLP ones).

Examples
--------
Smoke test at tiny size (seconds)::

    python benchmarks/mnist_dbn.py --n-train 2000 --n-test 1000 --hidden 100,100 \
        --pretrain-epochs 1 --epochs 2

Full run (the section of benchmarks/RESULTS.md gives the command used)::

    NUMBA_NUM_THREADS=2 python benchmarks/mnist_dbn.py --write-results
"""

import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from rbmlib import DBN, DBNClassifier  # noqa: E402
from rbmlib.datasets import load_mnist  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "RESULTS.md")
START = "<!-- mnist_dbn: start -->"
END = "<!-- mnist_dbn: end -->"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="folder of the MNIST IDX .gz files "
                   "(default: RBMLIB_MNIST or ../shared/data/mnist)")
    p.add_argument("--n-train", type=int, default=60000, help="training images used")
    p.add_argument("--n-test", type=int, default=10000, help="test images used")
    p.add_argument("--hidden", default="500,500,2000", help="hidden layer sizes, bottom first")
    p.add_argument("--pretrain-epochs", default="10",
                   help="CD epochs per layer: one value or one per layer (0: no pretraining)")
    p.add_argument("--pretrain-lr", type=float, default=0.1, help="CD learning rate")
    p.add_argument("--pretrain-batch", type=int, default=100, help="CD mini-batch rows")
    p.add_argument("--pretrain-momentum", type=float, default=0.5)
    p.add_argument("--pretrain-weight-decay", type=float, default=2e-4)
    p.add_argument("--pcd", action="store_true", help="persistent CD instead of CD-1")
    p.add_argument("--epochs", type=int, default=40, help="fine-tuning epochs")
    p.add_argument("--batch-size", type=int, default=100, help="fine-tuning mini-batch rows")
    p.add_argument("--solver", choices=["sgd", "adagrad", "rmsprop", "adam"], default="sgd")
    p.add_argument("--activation", default="logistic",
                   help="hidden activation(s) of fine-tuning: one name or one per layer, "
                        "comma-separated (logistic, tanh, relu, leaky_relu, identity)")
    p.add_argument("--alpha-l1", type=float, default=0.0, help="L1 penalty")
    p.add_argument("--lr", type=float, default=0.5, help="initial fine-tuning step size")
    p.add_argument("--schedule", default="cosine",
                   choices=["constant", "invscaling", "adaptive", "cosine"])
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--alpha", type=float, default=1e-5, help="L2 penalty")
    p.add_argument("--dropout", type=float, default=0.1, help="hidden dropout")
    p.add_argument("--input-dropout", type=float, default=0.0)
    p.add_argument("--max-norm", type=float, default=None,
                   help="max-norm bound on hidden units' incoming weights (default none)")
    p.add_argument("--float64", action="store_true", help="train in float64 (default float32)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-jobs", type=int, default=1,
                   help="threads for Numba and BLAS (default 1; 0 leaves the library "
                        "defaults). On the loaded shared machine one thread was 2-4 times "
                        "faster than two (OpenMP/OpenBLAS threads competing for cores)")
    p.add_argument("--no-baseline", action="store_true",
                   help="skip the run without pretraining")
    p.add_argument("--verbose", type=int, default=1)
    p.add_argument("--write-results", action="store_true",
                   help="replace this benchmark's section of benchmarks/RESULTS.md")
    return p.parse_args(argv)


def _ints(text):
    return [int(v) for v in str(text).split(",") if v.strip()]


def load(args):
    dtype = np.float64 if args.float64 else np.float32
    Xtr, ytr = load_mnist(args.data, "train")
    Xte, yte = load_mnist(args.data, "test")
    Xtr = (Xtr[: args.n_train] / 255.0).astype(dtype)
    Xte = (Xte[: args.n_test] / 255.0).astype(dtype)
    return Xtr, ytr[: args.n_train], Xte, yte[: args.n_test]


def finetune(args, Xtr, ytr, Xte, yte, dbn, label, log):
    """Fine-tune from ``dbn`` (None: random init) and log time and test error."""
    hidden = _ints(args.hidden)
    common = dict(
        hidden_layer_sizes=tuple(hidden), n_iter_pretrain=0, solver=args.solver,
        learning_rate_init=args.lr, learning_rate=args.schedule, momentum=args.momentum,
        alpha=args.alpha, batch_size=args.batch_size, dropout=args.dropout,
        input_dropout=args.input_dropout, max_norm=args.max_norm, random_state=args.seed,
        verbose=args.verbose,
        tol=0.0, n_iter_no_change=np.inf, n_jobs=args.n_jobs, early_stopping=False,
        nesterovs_momentum=True, shuffle=True, alpha_l1=args.alpha_l1,
        activation=(args.activation.split(",") if "," in args.activation
                    else args.activation),
    )
    clf = DBNClassifier(dbn=dbn, max_iter=args.epochs, **common)
    t0 = time.time()
    clf.fit(Xtr, ytr)
    seconds = time.time() - t0
    err = 100.0 * (1.0 - clf.score(Xte, yte))
    log(f"| {label} | fine-tuning ({clf.n_iter_} epochs) | {seconds:.1f} | {err:.2f} |")
    return clf, seconds, err


def main(argv=None):
    args = parse_args(argv)
    if args.n_jobs == 0:
        args.n_jobs = None
    warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs is asked
    lines = []

    def log(line=""):
        print(line, flush=True)
        lines.append(line)

    t_load = time.time()
    Xtr, ytr, Xte, yte = load(args)
    hidden = _ints(args.hidden)
    pre_epochs = _ints(args.pretrain_epochs)
    if len(pre_epochs) == 1:
        pre_epochs = pre_epochs * len(hidden)
    print(f"loaded {Xtr.shape[0]} training and {Xte.shape[0]} test images "
          f"({time.time() - t_load:.1f}s)", flush=True)

    cmd = "python benchmarks/mnist_dbn.py " + " ".join(sys.argv[1:] if argv is None else argv)
    log(f"## MNIST classification with a DBN (`benchmarks/mnist_dbn.py`)")
    log()
    log("    " + cmd.strip())
    log()
    log(f"{Xtr.shape[0]} training / {Xte.shape[0]} test images, pixels / 255, "
        f"{'float64' if args.float64 else 'float32'}; net 784-{'-'.join(map(str, hidden))}-10. "
        f"Pretraining: {'PCD' if args.pcd else 'CD-1'}, epochs per layer {pre_epochs}, "
        f"lr {args.pretrain_lr}, batch {args.pretrain_batch}, momentum "
        f"{args.pretrain_momentum}, weight decay {args.pretrain_weight_decay}. "
        f"Fine-tuning: {args.activation} hidden units, {args.solver}, lr {args.lr} "
        f"({args.schedule}), momentum "
        f"{args.momentum} (Nesterov), batch {args.batch_size}, L2 {args.alpha}, "
        f"L1 {args.alpha_l1}, "
        f"dropout {args.dropout} (input {args.input_dropout}), max-norm {args.max_norm}, "
        f"{args.epochs} epochs. "
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), "
        f"n_jobs={args.n_jobs}.")
    log()
    log("| run | stage | wall time (s) | test error (%) |")
    log("|---|---|---|---|")

    total = 0.0
    if any(pre_epochs):
        t0 = time.time()
        dbn = DBN(
            tuple(hidden), n_iter=pre_epochs, learning_rate=args.pretrain_lr,
            batch_size=args.pretrain_batch, momentum=args.pretrain_momentum,
            weight_decay=args.pretrain_weight_decay, persistent=args.pcd, k=1,
            random_state=args.seed, verbose=args.verbose, n_jobs=args.n_jobs,
        ).fit(Xtr)
        t_pre = time.time() - t0
        log(f"| pretrained | greedy pretraining ({sum(pre_epochs)} layer-epochs) | "
            f"{t_pre:.1f} | - |")
        _, t_ft, err = finetune(args, Xtr, ytr, Xte, yte, dbn, "pretrained", log)
        total = t_pre + t_ft
        log(f"| pretrained | total | {total:.1f} | {err:.2f} |")
    if not args.no_baseline:
        finetune(args, Xtr, ytr, Xte, yte, None, "random init", log)
    log()
    text = "\n".join(lines) + "\n"
    if args.write_results:
        write_section(text)
        print(f"wrote section to {RESULTS}")
    return text


def write_section(text):
    old = open(RESULTS).read() if os.path.exists(RESULTS) else "# Benchmark results\n"
    block = f"{START}\n{text}{END}\n"
    if START in old and END in old:
        new = old[: old.index(START)] + block + old[old.index(END) + len(END) + 1:]
    else:
        new = old.rstrip("\n") + "\n\n" + block
    with open(RESULTS, "w") as f:
        f.write(new)


if __name__ == "__main__":
    main()
