"""Deep autoencoder codes of handwritten digits, against PCA
=========================================================

A :class:`rbmlib.DBNAutoencoder` (Hinton and Salakhutdinov 2006) is
pretrained greedily as a DBN, unrolled into an encoder and a decoder, and
fine-tuned on the reconstruction of the images. Beside it, PCA with as many
components. Printed, for the held-out images:

* the average squared reconstruction error per image (squared error summed
  over the pixels, averaged over the images) of both, with codes of 2 units
  and of ``--code`` units;
* the accuracy of a logistic regression trained on the 2-D codes of each
  (how well the classes separate in the embedding).

Saved in ``--out``:

* ``autoencoder_reconstructions.png``: held-out images (top row), the
  autoencoder's reconstructions from ``--code`` units (middle) and PCA's
  (bottom);
* ``autoencoder_codes_2d.png``: the 2-D codes of the held-out images,
  coloured by digit, beside PCA's 2-D projection (``plot_embedding``).

Data: MNIST (60,000 images, 28x28; ``RBMLIB_MNIST`` or ``../shared/data/mnist``,
the first ``--n-train`` images) by default; ``--quick`` uses scikit-learn's
8x8 digits (no download) and a small network.

Usage::

    python examples/autoencoder_mnist_codes.py            # MNIST, some minutes
    python examples/autoencoder_mnist_codes.py --quick    # 8x8 digits, ~17 s
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
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from rbmlib import DBNAutoencoder  # noqa: E402
from rbmlib.plotting import plot_embedding, tile_images  # noqa: E402


def squared_error(X, R):
    """Average over images of the squared error summed over the pixels."""
    return float(np.mean(np.sum((X - R) ** 2, axis=1)))


def load(args):
    if args.quick:
        X, y = load_digits(return_X_y=True)
        Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.25, random_state=0)
        return Xtr, Xte, ytr, yte, (8, 8)
    from rbmlib.datasets import load_mnist

    Xtr, ytr = load_mnist(subset="train")
    Xte, yte = load_mnist(subset="test")
    n = args.n_train
    return (Xtr[:n] / 255.0).astype(np.float32), (Xte[:2000] / 255.0).astype(np.float32), \
        ytr[:n], yte[:2000], (28, 28)


def fit_autoencoder(args, k, Xtr):
    if args.quick:
        kw = dict(hidden_layer_sizes=(128,), max_iter=100, batch_size=32,
                  learning_rate_init=3e-3)
    else:
        kw = dict(hidden_layer_sizes=(500, 250), max_iter=args.epochs, batch_size=100,
                  n_iter_pretrain=5, batch_size_pretrain=100, learning_rate_init=1e-3,
                  learning_rate="cosine", tol=0.0, n_iter_no_change=np.inf,
                  pretrain_params={"persistent": False, "momentum": 0.5})
    ae = DBNAutoencoder(n_components=k, random_state=args.seed, n_jobs=1, **kw)
    t0 = time.time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs
        ae.fit(Xtr)
    return ae, time.time() - t0


# %%
# The experiment
# --------------
#
# ``main`` trains a ``DBNAutoencoder`` for 2 codes and for ``--code`` codes, fits
# PCA with as many components, and compares their held-out reconstruction errors,
# then a logistic regression on the 2-D codes.


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="rbmlib_output", help="folder for the figures")
    parser.add_argument("--quick", action="store_true",
                        help="scikit-learn's 8x8 digits and a small network")
    parser.add_argument("--code", type=int, default=None,
                        help="code size of the reconstruction comparison (default 10 "
                             "with --quick, 30 on MNIST)")
    parser.add_argument("--n-train", type=int, default=10000, help="MNIST training images")
    parser.add_argument("--epochs", type=int, default=20, help="MNIST fine-tuning epochs")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    code = args.code or (10 if args.quick else 30)
    os.makedirs(args.out, exist_ok=True)
    Xtr, Xte, ytr, yte, shape = load(args)
    print(f"{Xtr.shape[0]} training and {Xte.shape[0]} held-out images of "
          f"{shape[0]}x{shape[1]} pixels")

    results = {}
    for k in sorted({2, code}):
        ae, seconds = fit_autoencoder(args, k, Xtr)
        pca = PCA(k, random_state=args.seed).fit(Xtr)
        ae_err = -ae.score(Xte)
        pca_err = squared_error(Xte, pca.inverse_transform(pca.transform(Xte)))
        results[k] = (ae, pca)
        print(f"code {k:>2}: test reconstruction error per image  "
              f"DBNAutoencoder {ae_err:.3f}  PCA {pca_err:.3f}  "
              f"({ae.n_iter_} fine-tuning epochs, {seconds:.1f}s)")

    ae2, pca2 = results[2]
    lr = LogisticRegression(max_iter=2000)
    acc_ae = lr.fit(ae2.transform(Xtr), ytr).score(ae2.transform(Xte), yte)
    acc_pca = lr.fit(pca2.transform(Xtr), ytr).score(pca2.transform(Xte), yte)
    print(f"logistic regression on the 2-D codes: DBNAutoencoder {acc_ae:.3f}  "
          f"PCA {acc_pca:.3f} (test accuracy)")

    ae, pca = results[code]
    n = 10
    rows = np.vstack([Xte[:n], ae.reconstruct(Xte[:n]),
                      np.clip(pca.inverse_transform(pca.transform(Xte[:n])), 0, 1)])
    mosaic = tile_images(rows, shape, n_cols=n)
    fig, ax = plt.subplots(figsize=(n * 0.9, 3.2))
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(f"held-out images / DBNAutoencoder ({code} codes) / PCA ({code} components)")
    path = os.path.join(args.out, "autoencoder_reconstructions.png")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"saved {path}")

    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2))
    plot_embedding(pca2.transform(Xte), yte, ax=axes[0], legend=False, s=6,
                   title=f"PCA, 2 components (LR accuracy {acc_pca:.2f})")
    plot_embedding(ae2.transform(Xte), yte, ax=axes[1], s=6,
                   title=f"DBNAutoencoder, 2 codes (LR accuracy {acc_ae:.2f})")
    fig.tight_layout()
    path = os.path.join(args.out, "autoencoder_codes_2d.png")
    fig.savefig(path, dpi=100)
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
