"""RBM features for digit classification, rbmlib next to scikit-learn's BernoulliRBM
=================================================================================

The setting of scikit-learn's example "Restricted Boltzmann Machine features
for digit classification": the 8x8 digits (1,797 images, pixels scaled to
[0, 1]), augmented by shifting every training image one pixel up, down, left
and right; an RBM with 100 hidden units learns features unsupervised and a
logistic regression classifies its hidden-unit probabilities. The same
pipeline runs with ``rbmlib.BernoulliRBM`` and with
``sklearn.neural_network.BernoulliRBM`` in the same settings (persistent CD,
learning rate 0.06, mini-batches of 10), beside a logistic regression on the
raw pixels.

Printed: test accuracy of each model with its fit times, the RBM's apart
from the logistic regression's on its features (each fit timed alone, with
one BLAS thread unless ``--threads`` says otherwise), and rbmlib's per-epoch
monitoring (reconstruction error, pseudo-log-likelihood per pixel,
free-energy gap on 10% held-out images). Saved in ``--out``:

* ``rbm_digits_filters_rbmlib.png``, ``rbm_digits_filters_sklearn.png``:
  the 100 filters (``components_``) of each RBM;
* ``rbm_digits_history.png``: rbmlib's learning curves.

Usage::

    python examples/rbm_digits_features.py              # ~13 s
    python examples/rbm_digits_features.py --quick      # ~7 s

The first rbmlib fit in a fresh checkout includes Numba's compilation (cached
afterwards).
"""

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")  # files only, no windows

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy.ndimage import shift  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.neural_network import BernoulliRBM as SkBernoulliRBM  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from rbmlib import BernoulliRBM  # noqa: E402
from rbmlib.plotting import plot_filters, plot_history  # noqa: E402


def nudge_dataset(X, y):
    """The images shifted by one pixel in each of 4 directions, plus the originals (5x)."""
    moves = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    shifted = [
        np.array([shift(img.reshape(8, 8), m, mode="constant", order=0).ravel() for img in X])
        for m in moves
    ]
    return np.concatenate([X] + shifted), np.concatenate([y] * 5)


# %%
# The experiment
# --------------
#
# ``main`` fits the three pipelines on the nudged digits and prints their test
# accuracy, then saves the filters and rbmlib's learning curves.


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="rbmlib_output", help="folder for the figures")
    parser.add_argument("--quick", action="store_true",
                        help="3 epochs, no augmentation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads, and Numba threads of rbmlib's fit (default 1)")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=args.seed, stratify=y)
    if not args.quick:
        X_train, y_train = nudge_dataset(X_train, y_train)
    n_iter = 3 if args.quick else 10
    print(f"Digits: {len(X_train)} training images{'' if args.quick else ' (nudged x5)'}, "
          f"{len(X_test)} test images, 8x8 pixels in [0, 1].")
    print(f"RBMs: 100 hidden units, {n_iter} epochs, persistent CD, learning rate 0.06, "
          f"mini-batches of 10; logistic regression C=100 on their features.\n")

    rbm_params = dict(n_components=100, learning_rate=0.06, batch_size=10, n_iter=n_iter,
                      random_state=args.seed)
    logistic = LogisticRegression(C=100.0, max_iter=5000)
    models = [
        ("logistic regression on raw pixels", None, LogisticRegression(C=1.0, max_iter=5000)),
        ("sklearn BernoulliRBM + logistic", SkBernoulliRBM(**rbm_params), clone(logistic)),
        ("rbmlib BernoulliRBM + logistic",
         BernoulliRBM(validation_fraction=0.1, n_jobs=args.threads, **rbm_params),
         clone(logistic)),
    ]
    # Each fit timed alone: the RBM's, then the logistic regression's on its
    # features (what a Pipeline of the two does in one fit). Under the BLAS
    # thread limit: on a busy 2-core machine, two BLAS threads made this
    # logistic regression take a minute instead of a fraction of a second.
    print(f"threads: {args.threads} (BLAS, and Numba in rbmlib's fit; --threads to change)")
    print(f"{'model':<36} {'test accuracy':>13} {'RBM fit (s)':>12} {'logistic fit (s)':>16}")
    with threadpool_limits(limits=args.threads, user_api="blas"):
        for name, rbm, clf in models:
            t0 = time.perf_counter()
            H_train = X_train if rbm is None else rbm.fit(X_train).transform(X_train)
            rbm_seconds = time.perf_counter() - t0
            t0 = time.perf_counter()
            clf.fit(H_train, y_train)
            clf_seconds = time.perf_counter() - t0
            H_test = X_test if rbm is None else rbm.transform(X_test)
            rbm_cell = "-" if rbm is None else f"{rbm_seconds:.2f}"
            print(f"{name:<36} {clf.score(H_test, y_test):>13.4f} {rbm_cell:>12} "
                  f"{clf_seconds:>16.2f}")

    sk_rbm = models[1][1]
    rb_rbm = models[2][1]
    print("(rbmlib's RBM trains on 90% of the training rows: validation_fraction=0.1 holds "
          "out the rest to monitor the free-energy gap)")
    print("\nrbmlib BernoulliRBM, per epoch (on a fixed subset of up to 50 training rows; gap on the "
          "10% held out):")
    print(f"{'epoch':>5} {'recon. error':>13} {'pseudo-LL/pixel':>16} {'FE gap':>8} "
          f"{'seconds':>8}")
    for rec in rb_rbm.history_:
        print(f"{rec['epoch']:>5} {rec['reconstruction_error']:>13.4f} "
              f"{rec['pseudo_log_likelihood'] / X.shape[1]:>16.4f} "
              f"{rec['free_energy_gap']:>8.3f} "
              f"{rec['seconds']:>8.2f}")

    figures = [
        ("rbm_digits_filters_rbmlib.png",
         plot_filters(rb_rbm, title="rbmlib BernoulliRBM: 100 filters on digits")),
        ("rbm_digits_filters_sklearn.png",
         plot_filters(sk_rbm, title="sklearn BernoulliRBM: 100 filters on digits")),
        ("rbm_digits_history.png", plot_history(rb_rbm, title="rbmlib BernoulliRBM on digits")),
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
