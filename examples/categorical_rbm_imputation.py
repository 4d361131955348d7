"""CategoricalRBM: filling in missing categorical entries (collaborative filtering)
================================================================================

Two data sets, nothing downloaded:

* **ratings**: a synthetic user x item matrix of 1-5 star ratings drawn from
  a few user tastes, with most entries unrated (NaN), as in the Netflix data
  of Salakhutdinov, Mnih and Hinton (2007). Each user's RBM has only the
  rated items; held-out ratings are predicted by :meth:`CategoricalRBM.impute`.
* **digits**: scikit-learn's 8x8 digits, each pixel binned into 4 grey
  levels (``KBinsDiscretizer(encode="ordinal")``); a quarter of the pixels of
  held-out images are hidden and imputed.

For each it prints the imputation accuracy of the RBM next to the per-column
mode (the best guess that ignores the other entries), and for the digits the
held-out log-likelihood per image (exact log Z) next to independent columns.
It saves a bar chart and a strip of digits with hidden and imputed pixels.

Usage::

    python examples/categorical_rbm_imputation.py           # ~10 s
    python examples/categorical_rbm_imputation.py --quick   # ~5 s
"""

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import KBinsDiscretizer

from rbmlib import CategoricalRBM


def ratings_data(n_users, n_items, observed, rng):
    """Ratings 1..5 from 4 user tastes; ``observed`` fraction of entries kept."""
    tastes = rng.randint(1, 6, size=(4, n_items))
    kind = rng.randint(0, 4, n_users)
    R = tastes[kind] + rng.choice([-1, 0, 0, 0, 1], size=(n_users, n_items))
    R = np.clip(R, 1, 5).astype(float)
    R[rng.rand(n_users, n_items) > observed] = np.nan
    return R


def hide(X, fraction, rng):
    """A copy of X with ``fraction`` of its observed entries set to NaN, and their mask."""
    Xh = X.astype(float).copy()
    mask = ~np.isnan(Xh) & (rng.rand(*X.shape) < fraction)
    Xh[mask] = np.nan
    return Xh, mask


def mode_baseline(X_train, X_test_hidden):
    """Each column's most frequent observed training value."""
    out = X_test_hidden.copy()
    for j in range(X_train.shape[1]):
        col = X_train[:, j]
        vals, counts = np.unique(col[~np.isnan(col)], return_counts=True)
        out[np.isnan(out[:, j]), j] = vals[np.argmax(counts)]
    return out


# %%
# The experiment
# --------------
#
# ``main`` hides entries of the ratings and of the grey-level digits, fits a
# ``CategoricalRBM`` on the rest, and scores ``impute`` against the per-column mode.


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small settings")
    parser.add_argument("--out", default="rbmlib_output", help="folder for the figures")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.RandomState(args.seed)
    q = args.quick
    results = {}

    # ---------------------------------------------------------------- ratings
    R = ratings_data(800 if q else 2000, 40 if q else 100, 0.3, rng)
    n_train = int(0.8 * R.shape[0])
    R_train, R_test = R[:n_train], R[n_train:]
    R_hidden, mask = hide(R_test, 0.2, rng)
    stars = [np.arange(1.0, 6.0)] * R.shape[1]
    t0 = time.time()
    rbm = CategoricalRBM(n_components=20, n_iter=15 if q else 30, learning_rate=0.1,
                         categories=stars, random_state=args.seed).fit(R_train)
    seconds = time.time() - t0
    pred = rbm.impute(R_hidden)
    acc = float(np.mean(pred[mask] == R_test[mask]))
    rmse = float(np.sqrt(np.mean((pred[mask] - R_test[mask]) ** 2)))
    base = mode_baseline(R_train, R_hidden)
    acc0 = float(np.mean(base[mask] == R_test[mask]))
    rmse0 = float(np.sqrt(np.mean((base[mask] - R_test[mask]) ** 2)))
    print(f"ratings: {R.shape[0]} users x {R.shape[1]} items, "
          f"{np.mean(~np.isnan(R)):.0%} rated; {mask.sum()} held-out ratings")
    print(f"  CategoricalRBM (20 hidden, {rbm.n_iter_} epochs, {seconds:.1f} s): "
          f"accuracy {acc:.3f}, RMSE {rmse:.3f} stars")
    print(f"  per-item mode:                 accuracy {acc0:.3f}, RMSE {rmse0:.3f} stars")
    results["ratings"] = (acc, acc0)

    # ----------------------------------------------------------------- digits
    X, _ = load_digits(return_X_y=True)
    X = X[rng.permutation(len(X))]
    if q:
        X = X[:600]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant border pixels
        D = KBinsDiscretizer(n_bins=4, encode="ordinal", strategy="uniform").fit_transform(X)
    n_train = int(0.8 * len(D))
    D_train, D_test = D[:n_train], D[n_train:]
    D_hidden, dmask = hide(D_test, 0.25, rng)
    levels = [np.arange(4.0)] * D.shape[1]
    H = 12 if q else 16
    t0 = time.time()
    drbm = CategoricalRBM(n_components=H, n_iter=10 if q else 30, learning_rate=0.1,
                          categories=levels, random_state=args.seed).fit(D_train)
    seconds = time.time() - t0
    dpred = drbm.impute(D_hidden)
    dacc = float(np.mean(dpred[dmask] == D_test[dmask]))
    dbase = mode_baseline(D_train, D_hidden)
    dacc0 = float(np.mean(dbase[dmask] == D_test[dmask]))
    log_z = drbm.log_partition("exact")
    ll = float(np.mean(drbm.log_likelihood(D_test, log_z=log_z)))
    ll0 = 0.0
    for j in range(D.shape[1]):
        p = (np.bincount(D_train[:, j].astype(int), minlength=4) + 1.0) / (n_train + 4)
        ll0 += float(np.mean(np.log(p[D_test[:, j].astype(int)])))
    print(f"digits: {len(D)} images, 64 pixels in 4 levels; {dmask.sum()} hidden test pixels")
    print(f"  CategoricalRBM ({H} hidden, {drbm.n_iter_} epochs, "
          f"{seconds / drbm.n_iter_:.3f} s/epoch): imputation accuracy {dacc:.3f}, "
          f"held-out log-likelihood {ll:.2f} nats/image (exact log Z = {log_z.log_z:.2f})")
    print(f"  per-pixel mode / independent pixels: accuracy {dacc0:.3f}, "
          f"log-likelihood {ll0:.2f} nats/image")
    results["digits"] = (dacc, dacc0)

    # ---------------------------------------------------------------- figures
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(args.out, exist_ok=True)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    names = list(results)
    x = np.arange(len(names))
    ax.bar(x - 0.2, [results[n][0] for n in names], 0.4, label="CategoricalRBM.impute")
    ax.bar(x + 0.2, [results[n][1] for n in names], 0.4, label="per-column mode")
    ax.set_xticks(x, names)
    ax.set_ylabel("accuracy on hidden entries")
    ax.set_ylim(0, 1)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = os.path.join(args.out, "categorical_rbm_imputation_accuracy.png")
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"saved {path}")

    n_show = 8
    fig, axes = plt.subplots(3, n_show, figsize=(n_show, 3.3))
    for i in range(n_show):
        shown = np.where(np.isnan(D_hidden[i]), -1.0, D_hidden[i])
        for row, img, title in ((0, D_test[i], "original"), (1, shown, "hidden (red)"),
                                (2, dpred[i], "imputed")):
            ax = axes[row, i]
            img = img.reshape(8, 8)
            rgb = np.repeat((1.0 - np.clip(img, 0, 3) / 3.0)[..., None], 3, axis=2)
            rgb[img < 0] = (1.0, 0.2, 0.2)
            ax.imshow(rgb, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_ylabel(title, fontsize=7)
    fig.tight_layout()
    path = os.path.join(args.out, "categorical_rbm_digits_imputed.png")
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
