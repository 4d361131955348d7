"""The log-likelihood of MNIST under an RBM, by annealed importance sampling
=========================================================================

An RBM's likelihood needs its partition function ``Z``, a sum over 2^784
visible (or 2^n_hidden hidden) states. For a small RBM (20 hidden units) it
is enumerated exactly; for a large one (500 hidden units) it is estimated by
annealed importance sampling (AIS, Neal 2001; Salakhutdinov and Murray
2008) with ``rbmlib.likelihood``. The small RBM shows the AIS estimate
next to the exact value.

The images are binarised once (each pixel on with probability intensity /
255, a fixed random draw) and both RBMs are trained on them by CD-1. For a
long, careful version with published numbers side by side see
``benchmarks/mnist_loglik.py``.

MNIST is read from the original gzip IDX files by
``rbmlib.datasets.load_mnist`` (``--data``, else ``RBMLIB_MNIST``, else
``../shared/data/mnist``); nothing is downloaded.

Printed: log Z (exact and AIS, with AIS's +-3 standard-error bounds) and the
average log-likelihood of training and test images, in nats. Saved in
``--out``:

* ``mnist_loglik_filters.png``: filters of the large RBM;
* ``mnist_loglik_chains.png``: Gibbs chains of the large RBM started at test
  images, one chain per row, snapshots at growing numbers of steps;
* ``mnist_loglik_ais_weights.png``: the AIS log importance weights.

Usage::

    python examples/mnist_loglik_ais.py            # full MNIST: tens of minutes
    python examples/mnist_loglik_ais.py --quick    # 1,000 images, small models, ~14 s

Recorded figures
----------------

The documentation's build does not run this example (it reads the MNIST files
and takes minutes). The figures below come from a run on 10,000 training
images with 5 epochs of CD-1, on one thread of the 2-core development machine
(152 s)::

    export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1
    python examples/mnist_loglik_ais.py --n-train 10000 --epochs 5

which printed, for the 20-hidden RBM, log Z 234.52 exact against 234.57 by AIS
(+0.054 nats), and average test log-likelihoods of -173.92 nats (20 hidden,
exact log Z) and -154.12 nats (500 hidden, AIS). After 5 epochs of CD-1 the
Gibbs chains of the 500-hidden RBM fade to blank images within 1,000 steps:
CD-1 learns good features, not a good sampler (the CD-k runs of
``benchmarks/RESULTS.md`` reach -85.44 nats).

.. image:: /images/mnist_loglik_filters.png
   :alt: filters of the 500-hidden RBM

.. image:: /images/mnist_loglik_chains.png
   :alt: Gibbs chains started at test images, after 0 to 10000 steps

.. image:: /images/mnist_loglik_ais_weights.png
   :alt: histogram of the AIS log importance weights
"""

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")  # files only, no windows

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rbmlib import BernoulliRBM  # noqa: E402
from rbmlib.datasets import load_mnist  # noqa: E402
from rbmlib.likelihood import (  # noqa: E402
    ais,
    default_betas,
    log_likelihood,
    log_partition_exact,
)
from rbmlib.plotting import plot_filters, plot_samples  # noqa: E402


def binarize(X, rng):
    return (rng.random_sample(X.shape) < X / 255.0).astype(np.float64)


def fit_rbm(n_hidden, X, args, label):
    t0 = time.perf_counter()
    rbm = BernoulliRBM(n_components=n_hidden, learning_rate=0.05, batch_size=20,
                       n_iter=args.epochs, k=1, persistent=False, momentum=0.5,
                       sample_visible=True,
                       weight_decay=2e-4, random_state=args.seed, n_jobs=args.n_jobs)
    rbm.fit(X)
    # history_'s pseudo-log-likelihood is summed over the pixels of an image
    # (scikit-learn's scale): nats per image; divided by the pixels, per pixel
    pll = rbm.history_[-1]["pseudo_log_likelihood"]
    print(f"{label}: {n_hidden} hidden units, {args.epochs} epochs of CD-1, "
          f"{time.perf_counter() - t0:.1f}s; pseudo-log-likelihood "
          f"{pll:.2f} nats per image ({pll / X.shape[1]:.4f} nats per pixel)")
    return rbm


def report(name, est):
    lo, hi = est.log_z_lower, est.log_z_upper
    bounds = f" (+-3 s.e.: {lo:.2f} .. {hi:.2f})" if est.method != "exact" else ""
    print(f"  log Z {name:<8} {est.log_z:10.2f}{bounds}")


# %%
# The experiment
# --------------
#
# ``main`` trains the small and the large RBM, computes log Z exactly and by AIS,
# and reports the average log-likelihoods in nats.


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="rbmlib_output", help="folder for the figures")
    parser.add_argument("--quick", action="store_true",
                        help="1,000 training and 500 test images, 10 and 50 hidden units, "
                             "a short AIS schedule")
    parser.add_argument("--data", default=None, help="MNIST folder")
    parser.add_argument("--n-train", type=int, default=None)
    parser.add_argument("--n-test", type=int, default=None)
    parser.add_argument("--small-hidden", type=int, default=20,
                        help="hidden units of the RBM whose log Z is enumerated (<= 25)")
    parser.add_argument("--hidden", type=int, default=500,
                        help="hidden units of the RBM whose log Z is estimated by AIS")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--ais-runs", type=int, default=100)
    parser.add_argument("--ais-betas", type=int, default=None,
                        help="N evenly spaced inverse temperatures (default: the 14,501 "
                             "of Salakhutdinov and Murray)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.n_train = args.n_train or 1000
        args.n_test = args.n_test or 500
        args.small_hidden, args.hidden, args.epochs = 10, 50, 2
        args.ais_runs, args.ais_betas = 16, args.ais_betas or 1000
    chain_steps = [0, 1, 10, 100] if args.quick else [0, 1, 10, 100, 1000, 10000]
    betas = default_betas() if args.ais_betas is None else np.linspace(0, 1, args.ais_betas)
    os.makedirs(args.out, exist_ok=True)

    rng = np.random.RandomState(args.seed)
    X_train, _ = load_mnist(args.data, "train")
    X_test, _ = load_mnist(args.data, "test")
    X_train = binarize(X_train[:args.n_train], rng)
    X_test = binarize(X_test[:args.n_test], rng)
    print(f"MNIST: {len(X_train)} training and {len(X_test)} test images, binarised.")
    print(f"AIS: {args.ais_runs} runs, {len(betas)} inverse temperatures, base model "
          f"fitted to the training pixels.\n")

    ais_params = dict(n_runs=args.ais_runs, betas=betas, base_rate=X_train,
                      random_state=args.seed)
    results = []
    # the small RBM: exact log Z beside AIS
    small = fit_rbm(args.small_hidden, X_train, args, "small RBM")
    t0 = time.perf_counter()
    exact = log_partition_exact(small)
    t_exact = time.perf_counter() - t0
    t0 = time.perf_counter()
    est_small = ais(small, **ais_params)
    t_ais = time.perf_counter() - t0
    report("exact", exact)
    report("AIS", est_small)
    print(f"  (enumeration {t_exact:.1f}s, AIS {t_ais:.1f}s; AIS - exact = "
          f"{est_small.log_z - exact.log_z:+.3f} nats)\n")
    results.append((f"RBM({args.small_hidden}), exact log Z", small, exact))
    results.append((f"RBM({args.small_hidden}), AIS log Z", small, est_small))

    # the large RBM: AIS only
    large = fit_rbm(args.hidden, X_train, args, "large RBM")
    t0 = time.perf_counter()
    est_large = ais(large, **ais_params)
    report("AIS", est_large)
    print(f"  (AIS {time.perf_counter() - t0:.1f}s)\n")
    results.append((f"RBM({args.hidden}), AIS log Z", large, est_large))

    print(f"{'model':<28} {'train log-lik.':>15} {'test log-lik.':>14}   (nats per image)")
    for name, rbm, est in results:
        ll_train = log_likelihood(rbm, X_train, log_z=est).mean()
        ll_test = log_likelihood(rbm, X_test, log_z=est).mean()
        print(f"{name:<28} {ll_train:>15.2f} {ll_test:>14.2f}")

    # Gibbs chains of the large RBM, started at test images
    v = X_test[:10]
    snapshots = [v]
    for step in range(1, chain_steps[-1] + 1):
        v = large.gibbs(v)
        if step in chain_steps:
            snapshots.append(v)
    chains = np.stack(snapshots, axis=1)  # (10 chains, len(chain_steps), 784)

    fig_w, ax = plt.subplots(figsize=(5, 3))
    ax.hist(est_large.log_weights, bins=min(30, args.ais_runs), color="C0")
    ax.axvline(est_large.log_z - est_large.log_z_base, color="C3",
               label="log mean weight = log Z - log Z_base")
    ax.set_xlabel("log importance weight (nats)")
    ax.set_ylabel("runs")
    ax.set_title(f"AIS on RBM({args.hidden}): {args.ais_runs} runs, {len(betas)} "
                 f"temperatures", fontsize=9)
    ax.legend(fontsize=7)
    fig_w.tight_layout()
    figures = [
        ("mnist_loglik_filters.png",
         plot_filters(large, n=100, title=f"RBM({args.hidden}) filters")),
        ("mnist_loglik_chains.png",
         plot_samples(chains, title="Gibbs chains from test images, after "
                      + ", ".join(map(str, chain_steps)) + " steps")),
        ("mnist_loglik_ais_weights.png", fig_w),
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


# sphinx_gallery_thumbnail_path = "images/mnist_loglik_chains.png"
if __name__ == "__main__":
    main()
