"""A Deep Boltzmann Machine on binary digits: likelihood bound, samples, fine-tuning
=================================================================================

A :class:`rbmlib.DBM` (64 -> 100 -> 50) is trained on the 8x8 digits, binarised
(a pixel is on when its intensity is at least half), in the two stages of
Salakhutdinov and Hinton (2009): greedy pretraining of the modified RBMs, then
joint training of both layers (mean-field data statistics, persistent chains).

Printed:

* ``log Z`` by AIS (odd layer summed out) with its standard error and the
  effective sample size of the importance weights;
* the variational lower bound on ``log p(v)`` of held-out images, in nats per
  image, for the DBM composed from the pretrained RBMs and after joint
  training (the gain of joint training), beside independent pixels (each
  pixel its training frequency);
* the held-out accuracy of a :class:`rbmlib.DBMClassifier` fine-tuned from the
  DBM (input augmented with ``q(h_2 | v)``), beside logistic regression on
  the pixels.

Saved in ``--out``:

* ``dbm_samples.png``: 100 digits sampled from the DBM by Gibbs sampling;
* ``dbm_history.png``: the training curves of both stages.

Usage::

    python examples/dbm_digits.py            # ~1 min
    python examples/dbm_digits.py --quick    # ~9 s
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

from rbmlib import DBM, DBMClassifier  # noqa: E402
from rbmlib.plotting import plot_history, plot_samples  # noqa: E402


# %%
# The experiment
# --------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="rbmlib_output", help="folder for the figures")
    parser.add_argument("--quick", action="store_true", help="few epochs, a short AIS")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        pre, joint, n_betas, n_gibbs = 10, 10, 1000, 200
    else:
        pre, joint, n_betas, n_gibbs = 50, 100, 10000, 1000
    os.makedirs(args.out, exist_ok=True)

    X, y = load_digits(return_X_y=True)
    X = (X >= 8).astype(np.float64)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=args.seed,
                                              stratify=y)
    print(f"Binary digits: {len(X_tr)} training, {len(X_te)} held-out images of 64 pixels.")

    kw = dict(hidden_layer_sizes=(100, 50), n_iter_pretrain=pre, batch_size=20,
              learning_rate=0.001, learning_rate_pretrain=0.05, n_chains=100,
              ais_n_betas=n_betas, ais_n_runs=100, random_state=args.seed)
    t0 = time.perf_counter()
    composed = DBM(n_iter=0, **kw).fit(X_tr)
    dbm = DBM(n_iter=joint, **kw).fit(X_tr)
    print(f"DBM 64 -> 100 -> 50: {pre} pretraining epochs per layer, {joint} joint epochs, "
          f"{time.perf_counter() - t0:.1f}s (both fits)")

    t0 = time.perf_counter()
    est = dbm.log_partition()
    print(f"log Z by AIS ({est.n_runs} runs, {est.n_betas} temperatures): "
          f"{est.log_z:.2f} +- {est.log_z_std:.2f} nats, ESS {est.ess:.1f}, largest weight "
          f"{100 * est.max_weight_share:.1f}%, "
          f"{time.perf_counter() - t0:.1f}s")
    p = np.clip(X_tr.mean(0), 1e-3, 1 - 1e-3)
    indep = float(np.mean(X_te @ np.log(p) + (1 - X_te) @ np.log1p(-p)))
    print("held-out log p(v), nats per image:")
    print(f"  independent pixels                     {indep:8.2f}")
    print(f"  DBM, pretrained only (lower bound)     {composed.score(X_te):8.2f}")
    print(f"  DBM, after joint training (lower bound) {dbm.score(X_te):7.2f}")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = DBMClassifier(dbm=dbm, learning_rate_init=0.01, random_state=args.seed)
        clf.fit(X_tr, y_tr)
        lr = LogisticRegression(max_iter=5000).fit(X_tr, y_tr)
    print(f"held-out accuracy: DBMClassifier {clf.score(X_te, y_te):.3f}, logistic "
          f"regression on the pixels {lr.score(X_te, y_te):.3f}")

    samples = dbm.sample(100, n_gibbs=n_gibbs, random_state=args.seed)
    figures = [
        ("dbm_samples.png", plot_samples(samples, title=f"DBM samples ({n_gibbs} Gibbs sweeps)")),
        ("dbm_history.png", plot_history(dbm)),
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


if __name__ == "__main__":
    main()
