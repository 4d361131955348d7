"""Sampling a DBN with parallel tempering: do the chains move between digits?
============================================================================

A DBN (64 -> 256 -> 256) is trained greedily on the 8x8 digits (all 1,797
images, pixels scaled to [0, 1]). ``DBN.sample`` draws its samples by block
Gibbs sampling in the top RBM, then passes them down through the directed
layer below (Hinton, Osindero and Teh 2006). Gibbs chains in a well-trained
RBM tend to stay in one mode, here one digit class, for a long time;
``DBN.sample(n_temperatures=T)`` runs parallel tempering in the top RBM instead
(Desjardins et al. 2010): ``T`` replicas of every chain at inverse temperatures
from 1 down to 0.1, neighbours swapping states by the Metropolis rule, so that
a chain can leave its mode through the flatter tempered models.

The same chains (same seed) are read after 1, 10, 100 and 1,000 steps, plain
Gibbs against parallel tempering; a logistic regression trained on the real
digits names the class of every sample. Printed, for each sampler and number
of steps: the fraction of chains whose class differs from the one they showed
at the previous reading and after one step (how far the chains have moved
between classes), and the number of the 10 classes present among the chains;
then the mean number of distinct classes a chain shows over the four readings.

Saved in ``--out``: ``dbn_sample_tempering.png``, ten chains (one per row)
after 1, 10, 100 and 1,000 steps, Gibbs left, parallel tempering right, and
the fraction of chains whose class changed since the previous reading.

What it shows (full run, 50 chains, seed 0): on the digits the top RBM of this
DBN mixes between classes by Gibbs sampling alone. Between the readings at 100
and 1,000 steps 68% of the Gibbs chains and 72% of the tempered ones changed
class; a chain showed 3.20 (Gibbs) and 3.16 (tempering) distinct classes over
its four readings, and 9 of the 10 classes were present after 1,000 steps with
either sampler. Tempering costs ``n_temperatures`` Gibbs chains and more (the
swaps' free energies): here 8.6 s against 308 s of wall time on a busy
machine. It pays on models whose Gibbs chains stay in one mode, which this
top RBM is not: features of a trained layer mix better than pixels (Bengio et
al. 2013, *Better mixing via deep representations*).

Usage::

    python examples/dbn_sample_tempering.py            # ~1 min of CPU (8.7 min at load 9)
    python examples/dbn_sample_tempering.py --quick    # ~50 s (11 s of CPU; at load 10)
"""

import argparse
import os
import time

import matplotlib

matplotlib.use("Agg")  # files only, no windows

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from rbmlib import DBN  # noqa: E402

STEPS = (1, 10, 100, 1000)


def chains_at(dbn, n_chains, steps, seed, **sample_params):
    """Samples of the same chains after each number of steps, shape
    ``(n_chains, len(steps), n_features)``: with the same seed, ``DBN.sample``
    with ``n_gibbs=s`` continues the chains of every shorter run."""
    return np.stack([dbn.sample(n_chains, n_gibbs=s, random_state=seed, **sample_params)
                     for s in steps], axis=1)


def mosaic(chains, shape=(8, 8), pad=1):
    """One image of ``(n_chains, n_steps, n_pixels)`` samples, a chain per row."""
    n, m, _ = chains.shape
    h, w = shape
    img = np.ones((n * (h + pad) - pad, m * (w + pad) - pad))
    for i in range(n):
        for j in range(m):
            img[i * (h + pad):i * (h + pad) + h, j * (w + pad):j * (w + pad) + w] = \
                chains[i, j].reshape(shape)
    return img


# %%
# The experiment
# --------------
#
# ``main`` trains the DBN and a classifier of real digits, then reads the same
# chains after 1, 10, 100 and 1,000 steps of each sampler.


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="rbmlib_output", help="folder for the figure")
    parser.add_argument("--quick", action="store_true",
                        help="a smaller DBN trained for fewer epochs, fewer chains")
    parser.add_argument("--n-chains", type=int, default=50)
    parser.add_argument("--n-temperatures", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.quick:
        hidden, epochs, args.n_chains = (128, 128), 20, min(args.n_chains, 20)
    else:
        hidden, epochs = (256, 256), 50
    os.makedirs(args.out, exist_ok=True)

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    t0 = time.perf_counter()
    dbn = DBN(hidden, n_iter=epochs, learning_rate=0.05, momentum=0.5,
              random_state=args.seed).fit(X)
    print(f"DBN 64 -> {' -> '.join(map(str, hidden))}: {epochs} epochs of persistent CD "
          f"per layer on {len(X)} digits, {time.perf_counter() - t0:.1f}s")
    clf = LogisticRegression(max_iter=5000).fit(X, y)

    samplers = {"Gibbs": {},
                f"PT, {args.n_temperatures} temperatures":
                    {"n_temperatures": args.n_temperatures}}
    chains, changed, since_last = {}, {}, {}
    print(f"\n{args.n_chains} chains read after {', '.join(map(str, STEPS))} steps in the "
          "top RBM; classes by a logistic regression of the real digits")
    print(f"{'sampler':<20} {'steps':>6} {'class changed: since last':>26} "
          f"{'since step 1':>13} {'classes present':>16}")
    for name, params in samplers.items():
        t0 = time.perf_counter()
        chains[name] = chains_at(dbn, args.n_chains, STEPS, args.seed, **params)
        secs = time.perf_counter() - t0
        labels = clf.predict(chains[name].reshape(-1, X.shape[1])).reshape(args.n_chains,
                                                                          len(STEPS))
        changed[name] = (labels != labels[:, :1]).mean(axis=0)
        since_last[name] = np.r_[0.0, (labels[:, 1:] != labels[:, :-1]).mean(axis=0)]
        for j, s in enumerate(STEPS):
            print(f"{name:<20} {s:>6} {since_last[name][j]:>26.2f} {changed[name][j]:>13.2f} "
                  f"{len(np.unique(labels[:, j])):>16}")
        distinct = np.mean([len(np.unique(row)) for row in labels])
        print(f"{name:<20} distinct classes per chain over the 4 readings: {distinct:.2f}; "
              f"{sum(STEPS)} steps per chain in {secs:.1f}s")

    fig, axes = plt.subplots(1, 3, figsize=(9, 4.6),
                             gridspec_kw={"width_ratios": [1, 1, 2]})
    for ax, name in zip(axes[:2], samplers):
        ax.imshow(mosaic(chains[name][:10]), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([4 + 9 * j for j in range(len(STEPS))], [str(s) for s in STEPS],
                      fontsize=7)
        ax.set_yticks([])
        ax.set_xlabel("steps")
        ax.set_title(name)
    for name, marker in zip(samplers, ("o", "s")):
        axes[2].plot(STEPS[1:], since_last[name][1:], marker=marker, label=name)
    axes[2].set_xscale("log")
    axes[2].set_ylim(0, 1)
    axes[2].set_xlabel("steps in the top RBM")
    axes[2].set_ylabel("chains whose class changed since the previous reading")
    axes[2].legend()
    fig.suptitle("The same chains of a DBN after 1 to 1,000 steps: Gibbs against "
                 "parallel tempering")
    fig.tight_layout()
    path = os.path.join(args.out, "dbn_sample_tempering.png")
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    print(f"\nsaved {path}")


# %%
# Run it
# ------
#
# The gallery runs it with ``--quick`` (its output and figure are shown
# below); without it, the full setting.


if __name__ == "__main__":
    main()
