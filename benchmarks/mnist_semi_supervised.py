"""MNIST with few labels: semi-supervised fine-tuning against scikit-learn's
semi-supervised estimators (issue 24).

One run, side by side, for 100, 600 and 1,000 labels (an equal number per
class, drawn at random; three draws each), the other training images
unlabelled (-1), scored on the 10,000 test images:

- ``random init``: ``DBNClassifier(n_iter_pretrain=0)`` fine-tuned on the
  labelled rows from Glorot weights;
- ``pretrained``: the same network started from a DBN pretrained (CD-1) on all
  60,000 training images, fine-tuned on the labelled rows;
- ``pretrained + entropy``: the same, with ``unlabeled_entropy_weight`` (entropy
  minimisation on the unlabelled rows, Grandvalet and Bengio 2005);
- ``SelfTraining(LogReg) pixels``:
  ``SelfTrainingClassifier(LogisticRegression())`` on raw pixels;
- ``LabelSpreading pixels`` / ``LabelSpreading DBN features``: LabelSpreading
  with the kNN kernel on the pixels and on ``DBN.transform``.

The DBN is pretrained once and shared by every draw and variant
(``DBNClassifier(dbn=fitted_dbn)`` fine-tunes it without pretraining again).
scikit-learn's two baselines see the labelled rows plus ``--baseline-rows``
unlabelled rows drawn at random (their cost grows with the square of the rows
for the kNN graph and with each self-training round's refit); the DBN variants
see all rows.

Every fine-tuning setting is passed explicitly (fixed epochs, no stopping rule).

Examples
--------
Smoke test (a few minutes; 3,000 training rows, one draw, small net)::

    python benchmarks/mnist_semi_supervised.py --quick

Full run (not run by its author; see benchmarks/RESULTS.md)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        NUMBA_NUM_THREADS=1 python benchmarks/mnist_semi_supervised.py
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from rbmlib import DBN, DBNClassifier  # noqa: E402
from rbmlib.datasets import load_mnist  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="folder of the MNIST IDX .gz files "
                   "(default: RBMLIB_MNIST or ../shared/data/mnist)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 3,000 training / 1,000 test rows, net 200-200, "
                        "10 CD epochs, 600 updates, labels 100 and 600, one draw, "
                        "2,000 baseline rows")
    p.add_argument("--n-train", type=int, default=60000)
    p.add_argument("--n-test", type=int, default=10000)
    p.add_argument("--labels", type=int, nargs="+", default=[100, 600, 1000])
    p.add_argument("--draws", type=int, default=3)
    p.add_argument("--hidden", default="500,500", help="hidden layer sizes, bottom first")
    p.add_argument("--pretrain-epochs", type=int, default=10, help="CD-1 epochs per layer")
    p.add_argument("--pretrain-lr", type=float, default=0.1)
    p.add_argument("--pretrain-batch", type=int, default=100)
    p.add_argument("--pretrain-momentum", type=float, default=0.5)
    p.add_argument("--pretrain-weight-decay", type=float, default=2e-4)
    p.add_argument("--updates", type=int, default=3000,
                   help="fine-tuning updates (fixed): max_iter = updates / batches per "
                        "epoch of the labelled rows, rounded up")
    p.add_argument("--batch-size", type=int, default=50, help="fine-tuning mini-batch rows "
                   "(labelled; as many unlabelled rows for the entropy term)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam step size")
    p.add_argument("--alpha", type=float, default=1e-4, help="L2 penalty")
    p.add_argument("--dropout", type=float, default=0.2, help="hidden dropout")
    p.add_argument("--entropy-weight", type=float, default=0.25,
                   help="unlabeled_entropy_weight of the 'pretrained + entropy' variant")
    p.add_argument("--baseline-rows", type=int, default=10000,
                   help="unlabelled rows given to SelfTraining and LabelSpreading")
    p.add_argument("--n-neighbors", type=int, default=7, help="LabelSpreading kNN kernel")
    p.add_argument("--methods", nargs="+", default=None,
                   help="subset of: random pretrained entropy selftrain spread_pixels "
                        "spread_dbn")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.quick:
        args.n_train, args.n_test, args.hidden = 3000, 1000, "200,200"
        args.pretrain_epochs, args.updates, args.labels, args.draws = 10, 600, [100, 600], 1
        args.baseline_rows = 2000
    return args


METHODS = {
    "random": "random init",
    "pretrained": "pretrained",
    "entropy": "pretrained + entropy",
    "selftrain": "SelfTraining(LogReg) pixels",
    "spread_pixels": "LabelSpreading pixels",
    "spread_dbn": "LabelSpreading DBN features",
}


def label_draw(y, n_labels, draw):
    """Indices of ``n_labels`` rows, an equal number per class, drawn at random."""
    rng = np.random.RandomState(1000 + draw)
    classes = np.unique(y)
    per = n_labels // len(classes)
    return np.sort(np.concatenate([rng.choice(np.flatnonzero(y == c), per, replace=False)
                                   for c in classes]))


def fit_method(name, args, dbn, Xtr, ytr, Xte, yte, lab, draw, H=None, Hte=None):
    """Test accuracy and seconds of one method for one label draw."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.semi_supervised import LabelSpreading, SelfTrainingClassifier

    y_semi = np.full_like(ytr, -1)
    y_semi[lab] = ytr[lab]
    t0 = time.perf_counter()
    if name in ("random", "pretrained", "entropy"):
        clf = DBNClassifier(
            tuple(int(h) for h in args.hidden.split(",")),
            dbn=None if name == "random" else dbn, n_iter_pretrain=0,
            unlabeled_label=-1, unlabeled_entropy_weight=(
                args.entropy_weight if name == "entropy" else 0.0),
            solver="adam", learning_rate_init=args.lr, batch_size=args.batch_size,
            alpha=args.alpha, dropout=args.dropout, tol=0.0,
            max_iter=-(-args.updates // -(-len(lab) // args.batch_size)),
            n_iter_no_change=np.inf, random_state=args.seed + draw)
        clf.fit(Xtr, y_semi)
        acc = clf.score(Xte, yte)
    else:
        # the labelled rows plus a random subset of the unlabelled ones
        rng = np.random.RandomState(2000 + draw)
        unl = np.setdiff1d(np.arange(len(ytr)), lab)
        rows = np.concatenate([lab, rng.choice(unl, min(args.baseline_rows, len(unl)),
                                               replace=False)])
        if name == "selftrain":
            clf = SelfTrainingClassifier(LogisticRegression(max_iter=200))
            clf.fit(Xtr[rows], y_semi[rows])
            acc = clf.score(Xte, yte)
        else:
            A, B = (Xtr, Xte) if name == "spread_pixels" else (H, Hte)
            clf = LabelSpreading(kernel="knn", n_neighbors=args.n_neighbors, max_iter=100)
            clf.fit(A[rows], y_semi[rows])
            acc = clf.score(B, yte)
    return float(acc), time.perf_counter() - t0


def main(argv=None):
    args = parse_args(argv)
    warnings.simplefilter("ignore", ConvergenceWarning)  # fixed epochs are asked for
    methods = args.methods or list(METHODS)
    Xtr, ytr = load_mnist(args.data, "train")
    Xte, yte = load_mnist(args.data, "test")
    Xtr = (Xtr[: args.n_train] / 255.0).astype(np.float32)
    Xte = (Xte[: args.n_test] / 255.0).astype(np.float32)
    ytr, yte = ytr[: args.n_train].astype(np.int64), yte[: args.n_test].astype(np.int64)
    hidden = tuple(int(h) for h in args.hidden.split(","))
    dbn, H, Hte, t_pre = None, None, None, 0.0
    if set(methods) & {"pretrained", "entropy", "spread_dbn"}:
        t0 = time.perf_counter()
        dbn = DBN(hidden, n_iter=args.pretrain_epochs, learning_rate=args.pretrain_lr,
                  batch_size=args.pretrain_batch, momentum=args.pretrain_momentum,
                  weight_decay=args.pretrain_weight_decay, random_state=args.seed).fit(Xtr)
        t_pre = time.perf_counter() - t0
        if "spread_dbn" in methods:
            H, Hte = dbn.transform(Xtr), dbn.transform(Xte)
    print(f"MNIST {len(ytr)} training rows (all used in pretraining), {len(yte)} test rows; "
          f"DBN {hidden}, {args.pretrain_epochs} CD-1 epochs per layer (lr "
          f"{args.pretrain_lr}, batch {args.pretrain_batch}, momentum "
          f"{args.pretrain_momentum}, weight decay {args.pretrain_weight_decay}): "
          f"{t_pre:.1f} s, shared by every draw. Fine-tuning: Adam {args.lr}, batch "
          f"{args.batch_size}, {args.updates} updates, L2 {args.alpha}, dropout "
          f"{args.dropout}; entropy weight {args.entropy_weight}. Baselines on the "
          f"labelled rows + {args.baseline_rows} unlabelled rows.\n", flush=True)
    print("| labels | method | mean accuracy | per draw | mean time (s) |")
    print("|---|---|---|---|---|", flush=True)
    for n_labels in args.labels:
        for m in methods:
            accs, secs = [], []
            for draw in range(args.draws):
                lab = label_draw(ytr, n_labels, draw)
                a, s = fit_method(m, args, dbn, Xtr, ytr, Xte, yte, lab, draw, H, Hte)
                accs.append(a)
                secs.append(s)
            print(f"| {n_labels} | {METHODS[m]} | {np.mean(accs):.4f} | "
                  f"{' '.join(f'{a:.4f}' for a in accs)} | {np.mean(secs):.1f} |", flush=True)


if __name__ == "__main__":
    main()
