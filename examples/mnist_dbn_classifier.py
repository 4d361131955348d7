"""An MNIST classifier from a Deep Belief Network: pretraining, then fine-tuning
=============================================================================

A DBN (784 -> 500 -> 500 by default) is pretrained greedily, one RBM per
layer, on the MNIST training images (pixels scaled to [0, 1] and read as
probabilities), and its weights start a network with a softmax output that
``DBNClassifier`` fine-tunes by back-propagation (Hinton, Osindero and Teh
2006; Hinton and Salakhutdinov 2006). 10% of the training images are held
out for early stopping. The same network trained from random weights is the
baseline (``--no-baseline`` skips it).

MNIST is read from the original gzip IDX files by
``rbmlib.datasets.load_mnist`` (``--data``, else ``RBMLIB_MNIST``, else
``../shared/data/mnist``); nothing is downloaded.

Printed: test error of the pretrained and the randomly initialised network,
and the time of each stage. Saved in ``--out``:

* ``mnist_dbn_filters.png``: 100 first-layer filters;
* ``mnist_dbn_receptive_fields.png``: receptive fields of top-layer units
  (weight products down to the pixels);
* ``mnist_dbn_pretraining.png``: per-layer pretraining curves;
* ``mnist_dbn_finetuning.png``: fine-tuning loss and validation accuracy.

Usage::

    python examples/mnist_dbn_classifier.py            # full MNIST: long (tens of minutes)
    python examples/mnist_dbn_classifier.py --quick    # 2,000 images, ~18 s

Recorded figures
----------------

The documentation's build does not run this example (it reads the MNIST files
and takes minutes). The figures below come from a run on 10,000 training
images, on one thread of the 2-core development machine (117 s)::

    export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1
    ARGS="--n-train 10000 --n-test 10000 --pretrain-epochs 5 --finetune-epochs 20"
    python examples/mnist_dbn_classifier.py $ARGS

which printed a test error of 5.22% for the pretrained network against 7.93%
from random weights. The full run and the 784-500-500-2000 network of Hinton
et al. (1.21-1.35% test error) are in ``benchmarks/RESULTS.md``.

.. image:: /images/mnist_dbn_filters.png
   :alt: 100 first-layer filters of the DBN pretrained on MNIST

.. image:: /images/mnist_dbn_receptive_fields.png
   :alt: receptive fields of top-layer units of the DBN, in pixel space

.. image:: /images/mnist_dbn_pretraining.png
   :alt: pretraining curves of each layer

.. image:: /images/mnist_dbn_finetuning.png
   :alt: fine-tuning loss and validation accuracy
"""

import argparse
import os
import time
import warnings

import matplotlib

matplotlib.use("Agg")  # files only, no windows

import matplotlib.pyplot as plt  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from rbmlib import DBN, DBNClassifier  # noqa: E402
from rbmlib.datasets import load_mnist  # noqa: E402
from rbmlib.plotting import plot_filters, plot_history, plot_receptive_fields  # noqa: E402


# %%
# The experiment
# --------------
#
# ``main`` reads MNIST, pretrains and fine-tunes the ``DBNClassifier``, trains the
# same network from random weights, and saves the figures.


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="rbmlib_output", help="folder for the figures")
    parser.add_argument("--quick", action="store_true",
                        help="2,000 training and 1,000 test images, two small layers, "
                             "few epochs")
    parser.add_argument("--data", default=None, help="MNIST folder")
    parser.add_argument("--n-train", type=int, default=None,
                        help="use the first N training images (default: all 60,000)")
    parser.add_argument("--n-test", type=int, default=None,
                        help="use the first N test images (default: all 10,000)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[500, 500],
                        help="hidden layer sizes, bottom first")
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--finetune-epochs", type=int, default=50)
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the randomly initialised network")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_train = args.n_train or 2000
        args.n_test = args.n_test or 1000
        args.hidden, args.pretrain_epochs, args.finetune_epochs = [100, 49], 2, 5
    os.makedirs(args.out, exist_ok=True)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    X_train, y_train = load_mnist(args.data, "train")
    X_test, y_test = load_mnist(args.data, "test")
    X_train, y_train = X_train[:args.n_train] / 255.0, y_train[:args.n_train]
    X_test, y_test = X_test[:args.n_test] / 255.0, y_test[:args.n_test]
    hidden = tuple(args.hidden)
    print(f"MNIST: {len(X_train)} training and {len(X_test)} test images, 784 pixels "
          f"scaled to [0, 1].")
    print(f"Network 784 -> {' -> '.join(map(str, hidden))} -> 10.\n")

    t0 = time.perf_counter()
    dbn = DBN(hidden, n_iter=args.pretrain_epochs, learning_rate=0.05, batch_size=10,
              momentum=0.5, weight_decay=1e-4, random_state=args.seed, n_jobs=args.n_jobs,
              verbose=1).fit(X_train)
    t_pre = time.perf_counter() - t0
    print(f"pretraining: {args.pretrain_epochs} epochs of persistent CD per layer, "
          f"{t_pre:.1f}s\n")

    finetune = dict(hidden_layer_sizes=hidden, max_iter=args.finetune_epochs,
                    solver="sgd", learning_rate_init=0.1, batch_size=100, alpha=1e-5,
                    early_stopping=True, validation_fraction=0.1, n_iter_no_change=10,
                    random_state=args.seed, n_jobs=args.n_jobs)
    rows = []
    t0 = time.perf_counter()
    clf = DBNClassifier(dbn=dbn, **finetune).fit(X_train, y_train)
    rows.append(("DBN-pretrained, fine-tuned", clf.score(X_test, y_test), clf.n_iter_,
                 time.perf_counter() - t0 + t_pre))
    if not args.no_baseline:
        t0 = time.perf_counter()
        base = DBNClassifier(n_iter_pretrain=0, **finetune).fit(X_train, y_train)
        rows.append(("random init (Glorot), same network", base.score(X_test, y_test),
                     base.n_iter_, time.perf_counter() - t0))
    print(f"{'model':<36} {'test error %':>12} {'epochs':>7} {'seconds':>9}")
    for name, acc, epochs, seconds in rows:
        print(f"{name:<36} {100 * (1 - acc):>12.2f} {epochs:>7} {seconds:>9.1f}")

    figures = [
        ("mnist_dbn_filters.png", plot_filters(dbn, n=100, title="DBN layer 1: 100 filters")),
        ("mnist_dbn_receptive_fields.png",
         plot_receptive_fields(dbn, layer=-1, n=100,
                               title=f"DBN layer {len(hidden)}: receptive fields")),
        ("mnist_dbn_pretraining.png", plot_history(dbn)),
        ("mnist_dbn_finetuning.png", plot_history(clf)),
    ]
    print()
    for name, fig in figures:
        path = os.path.join(args.out, name)
        fig.savefig(path, dpi=80, bbox_inches="tight")
        plt.close(fig)
        print(f"saved {path}")


# %%
# Run it
# ------
#
# The documentation does not run it (the recorded figures are at the top);
# run it from the command line as its usage says.


# sphinx_gallery_thumbnail_path = "images/mnist_dbn_filters.png"
if __name__ == "__main__":
    main()
