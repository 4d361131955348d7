"""Semi-supervised learning with a DBN: many images, few labels
============================================================

On the 8x8 digits (1,257 training images, 540 test images), only a few
training images per class keep their label; the others get ``y = -1``
(scikit-learn's marker of unlabelled samples). ``DBNClassifier`` pretrains
its layers on *all* training images (greedy layer-wise RBM training needs no
labels) and then fine-tunes by back-propagation on the labelled ones only.
It is compared with the same network fine-tuned with entropy minimisation
on the unlabelled images as well (``unlabeled_entropy_weight=0.25``,
Grandvalet and Bengio 2005: the network is also pushed to be confident on
them), with the same network started from random weights
(``n_iter_pretrain=0``, Glorot initialisation), with scikit-learn's
``LabelSpreading`` (kNN graph on the pixels of all training images) and with
a logistic regression on the labelled pixels.

The unlabelled images are the same in every setting, so pretraining runs
once: the first fit pretrains on all rows, and the later fits reuse its
DBN through ``dbn=clf.dbn_`` (a fitted DBN is used as it is).

Printed: test accuracy for each number of labels per class, mean and
standard deviation over random draws of the labelled images. Saved in
``--out``:

* ``dbn_semi_supervised_accuracy.png``: accuracy against labels per class;
* ``dbn_semi_supervised_filters.png``: the pretrained first-layer filters;
* ``dbn_semi_supervised_history.png``: the fine-tuning loss of the first fit.

Usage::

    python examples/dbn_semi_supervised.py            # 25 s CPU (3 min wall, loaded machine)
    python examples/dbn_semi_supervised.py --quick    # ~4 s
"""

import argparse
import os
import time
import warnings

import matplotlib

matplotlib.use("Agg")  # files only, no windows

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.semi_supervised import LabelSpreading  # noqa: E402

from rbmlib import DBNClassifier  # noqa: E402
from rbmlib.plotting import plot_filters, plot_history  # noqa: E402


def hide_labels(y, per_class, rng):
    """A copy of y with all but ``per_class`` labels of each class set to -1."""
    keep = np.concatenate([rng.choice(np.flatnonzero(y == c), per_class, replace=False)
                           for c in np.unique(y)])
    y_semi = np.full_like(y, -1)
    y_semi[keep] = y[keep]
    return y_semi


def plot_accuracy(label_counts, scores):
    """Test accuracy against labels per class, one line per model (mean +- std).

    The legend sits outside the axes, at the right: with one number of labels
    (``--quick``) the three markers share one x position, and a legend inside
    the axes hid one of them.
    """
    fig, ax = plt.subplots(figsize=(7.5, 3.5))
    for (name, acc), marker in zip(scores.items(), "osD^v"):
        ax.errorbar(label_counts, acc.mean(1), yerr=acc.std(1), marker=marker, capsize=3,
                    label=name)
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(label_counts)
    ax.set_xticklabels([str(n) for n in label_counts])
    ax.set_xlabel("labelled training images per class")
    ax.set_ylabel("test accuracy")
    ax.set_title("Digits, semi-supervised (unlabelled: y = -1)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    fig.tight_layout()
    return fig


# %%
# The experiment
# --------------
#
# ``main`` hides all but a few labels per class (``y = -1``), then fits the
# pretrained ``DBNClassifier``, the same network from random weights, and a
# logistic regression on the labelled rows.


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="rbmlib_output", help="folder for the figures")
    parser.add_argument("--quick", action="store_true",
                        help="a small network, few epochs, one setting")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=args.seed, stratify=y)
    if args.quick:
        hidden, n_pretrain, max_iter, label_counts, n_draws = (64,), 5, 30, [10], 1
    else:
        hidden, n_pretrain, max_iter, label_counts, n_draws = (256,), 30, 100, \
            [3, 5, 10, 20, 50], 5
    settings = dict(hidden_layer_sizes=hidden, solver="sgd", batch_size=10, learning_rate_init=0.1,
                    max_iter=max_iter, alpha=1e-4,
                    unlabeled_label=-1)  # -1 marks the unlabelled rows: a silent fit
    print(f"Digits: {len(X_train)} training images (all used for pretraining), "
          f"{len(X_test)} test images.")
    print(f"Network 64 -> {' -> '.join(map(str, hidden))} -> 10; pretraining: "
          f"{n_pretrain} epochs of persistent CD per layer; fine-tuning: SGD, "
          f"{max_iter} epochs, mini-batches of 10.\n")

    rng = np.random.RandomState(args.seed)
    names = ["DBN, pretrained on all images", "same + entropy minimisation 0.25",
             "same network, random init", "LabelSpreading (kNN) on pixels",
             "logistic regression on pixels"]
    scores = {name: np.zeros((len(label_counts), n_draws)) for name in names}
    dbn, first = None, None
    for i, per_class in enumerate(label_counts):
        for d in range(n_draws):
            y_semi = hide_labels(y_train, per_class, rng)
            labelled = y_semi != -1
            if dbn is None:
                t0 = time.perf_counter()
                first = DBNClassifier(n_iter_pretrain=n_pretrain, learning_rate_pretrain=0.05,
                                      pretrain_params={"momentum": 0.5},
                                      random_state=args.seed, **settings)
                first.fit(X_train, y_semi)  # pretrains on every row, fine-tunes on y != -1
                dbn = first.dbn_
                print(f"(pretraining and the first fine-tuning took "
                      f"{time.perf_counter() - t0:.1f}s)")
                pretrained = first
            else:
                pretrained = DBNClassifier(dbn=dbn, random_state=args.seed + d, **settings)
                pretrained.fit(X_train, y_semi)
            entropy = DBNClassifier(dbn=dbn, random_state=args.seed + d,
                                    unlabeled_entropy_weight=0.25, **settings)
            entropy.fit(X_train, y_semi)  # also confident on the y == -1 rows
            random_init = DBNClassifier(n_iter_pretrain=0, random_state=args.seed + d,
                                        **settings).fit(X_train, y_semi)
            spreading = LabelSpreading(kernel="knn", n_neighbors=7).fit(X_train, y_semi)
            logistic = LogisticRegression(max_iter=5000).fit(X_train[labelled],
                                                             y_train[labelled])
            for name, model in zip(names, [pretrained, entropy, random_init, spreading,
                                           logistic]):
                with warnings.catch_warnings():
                    # LabelSpreading with few labels: a test image whose kNN
                    # neighbours carry no label gets 0 / 0 in scikit-learn (a
                    # RuntimeWarning) and its first class
                    warnings.simplefilter("ignore", RuntimeWarning)
                    scores[name][i, d] = model.score(X_test, y_test)

    header = "".join(f"{n:>12}" for n in label_counts)
    print(f"\ntest accuracy (mean +- std over {n_draws} draw(s) of the labelled images)")
    print(f"{'labels per class:':<34}{header}")
    for name in names:
        cells = "".join(f"{m:>7.3f}+-{s:.2f}" for m, s in zip(scores[name].mean(1),
                                                              scores[name].std(1)))
        print(f"{name:<34}{cells}")

    fig = plot_accuracy(label_counts, scores)
    figures = [
        ("dbn_semi_supervised_accuracy.png", fig),
        ("dbn_semi_supervised_filters.png",
         plot_filters(dbn, n=64, title="DBN layer 1, pretrained without labels")),
        ("dbn_semi_supervised_history.png",
         plot_history(first, title=f"fine-tuning on {label_counts[0]} labels per class")),
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
# The gallery runs it with ``--quick`` (its output and figures are shown
# below); without it, the full setting.


if __name__ == "__main__":
    main()
