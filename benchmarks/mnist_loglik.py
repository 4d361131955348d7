"""Test-set log-likelihood of RBMs on MNIST, by annealed importance sampling.

Trains a BernoulliRBM (500 hidden units by default) on the 60,000 MNIST
training images and reports the average log-likelihood of the 10,000 test
images in nats, estimated with AIS (Salakhutdinov and Murray 2008), beside
the figures published for 500-hidden RBMs in that paper (CD1 -125.53,
CD3 -105.50, CD25 -86.34). Then trains a 20-hidden RBM, small enough to
enumerate, and shows its exact log Z and the AIS estimate side by side.

Binarisation: pixel intensities are scaled to [0, 1] and read as the
probability that the pixel is on. With ``--binarize stochastic`` (default,
as Salakhutdinov and Murray) every epoch trains on a fresh Bernoulli sample
of the whole training set, so each mini-batch sees a fresh binarisation;
``--binarize threshold`` uses the fixed images ``x > 127``. The test set is
binarised once: one stochastic sample drawn with ``--seed`` (or the
threshold), the same for every model, and the log-likelihoods refer to it.

The base model of AIS has visible biases fitted to the training-pixel
probabilities (smoothed), zero weights; the schedule has 14,501 inverse
temperatures (0..0.5 step 1e-3, 0.5..0.9 step 1e-4, 0.9..1 step 1e-5) unless
``--ais-betas N`` asks for N evenly spaced ones.

Examples
--------
Full run (about 45 minutes of training plus a few minutes of AIS on 2 cores)::

    python benchmarks/mnist_loglik.py --n-hidden 500 --k 25 --minutes 45

Centered PCD-1 and parallel tempering (10 temperatures, PCD-1 sweeps)::

    python benchmarks/mnist_loglik.py --n-hidden 500 --k 1 --persistent --centered \
        --lr 0.05 --minutes 45
    python benchmarks/mnist_loglik.py --n-hidden 500 --k 1 --n-temperatures 10 --centered \
        --swap-target 0.3 --lr 0.05 --minutes 45

(on MNIST the default geometric ladder 1..0.1 is too sparse: with 4 temperatures its
swap acceptance fell to 0.0 / 0.05 / 0.34 within two epochs; ``--swap-target`` adapts it)

Smoke test at tiny size (seconds)::

    python benchmarks/mnist_loglik.py --n-train 2000 --n-test 500 --n-hidden 20 \
        --epochs 2 --small-epochs 1 --ais-runs 16 --ais-betas 1001 --k 1
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from rbmlib.datasets import load_mnist  # noqa: E402
from rbmlib.likelihood import (  # noqa: E402
    ais,
    default_betas,
    free_energy,
    log_partition_exact,
)
from rbmlib.rbm import BernoulliRBM  # noqa: E402

PUBLISHED = [  # Salakhutdinov and Murray (2008), Table 2, 500 hidden units, test set
    ("CD1(500), Salakhutdinov & Murray 2008", -125.53),
    ("CD3(500), Salakhutdinov & Murray 2008", -105.50),
    ("CD25(500), Salakhutdinov & Murray 2008", -86.34),
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", default=None, help="MNIST folder (default: RBMLIB_MNIST "
                   "or ../shared/data/mnist)")
    p.add_argument("--n-hidden", type=int, default=500, help="hidden units of the large RBM")
    p.add_argument("--epochs", type=int, default=200, help="maximum training epochs")
    p.add_argument("--save", default=None, help="pickle the trained RBM to this path")
    p.add_argument("--minutes", type=float, default=45.0,
                   help="training-time budget of the large RBM; no epoch starts "
                        "that would be expected to end past it")
    p.add_argument("--k", type=int, default=25, help="Gibbs steps per update (CD-k / PCD-k)")
    p.add_argument("--k-ramp", action="store_true",
                   help="raise k linearly from 1 to --k over the time budget")
    p.add_argument("--persistent", action="store_true", help="persistent CD instead of CD")
    p.add_argument("--n-temperatures", type=int, default=1,
                   help="above 1: parallel tempering with this many inverse temperatures "
                        "(implies --persistent)")
    p.add_argument("--min-beta", type=float, default=None,
                   help="smallest inverse temperature of PT's geometric ladder (default 0.1)")
    p.add_argument("--swap-target", type=float, default=None,
                   help="adapt PT's ladder after every epoch towards this swap acceptance")
    p.add_argument("--centered", action="store_true",
                   help="centered RBM (offsets as moving averages; Melchior et al. 2016)")
    p.add_argument("--centering-decay", type=float, default=0.99)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.05, help="learning rate")
    p.add_argument("--lr-final", type=float, default=None,
                   help="decay the learning rate linearly to this value over the budget")
    p.add_argument("--momentum", type=float, default=0.9,
                   help="momentum after the first 5 epochs (0.5 before)")
    p.add_argument("--weight-decay", type=float, default=2e-4)
    p.add_argument("--binarize", choices=["stochastic", "threshold"], default="stochastic")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="training precision (AIS and log Z are always float64)")
    p.add_argument("--ais-runs", type=int, default=100)
    p.add_argument("--ais-betas", type=int, default=None,
                   help="N evenly spaced inverse temperatures instead of the default 14,501")
    p.add_argument("--reverse", action="store_true",
                   help="also run reverse AIS (an approximate upper bound on log Z)")
    p.add_argument("--reverse-start", choices=["pt", "gibbs"], default="pt",
                   help="starting chains of reverse AIS: parallel tempering or plain "
                        "Gibbs chains")
    p.add_argument("--reverse-pt-temperatures", type=int, default=10,
                   help="inverse temperatures of the PT chains that start reverse AIS, "
                        "geometric from 1 to --reverse-pt-min-beta")
    p.add_argument("--reverse-pt-min-beta", type=float, default=0.1)
    p.add_argument("--reverse-burn-in", type=int, default=1000,
                   help="updates (PT) or sweeps (Gibbs) of the chains that start reverse AIS")
    p.add_argument("--target-ess", type=float, default=None,
                   help="double the AIS schedule (at most 4 times) until the effective "
                        "sample size of the weights reaches this")
    p.add_argument("--small-hidden", type=int, default=20,
                   help="hidden units of the enumerable RBM (0 to skip)")
    p.add_argument("--small-epochs", type=int, default=10)
    p.add_argument("--n-train", type=int, default=None, help="use the first N training images")
    p.add_argument("--n-test", type=int, default=None, help="use the first N test images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-large", action="store_true")
    return p.parse_args(argv)


def binarize(P, rng, how, dtype):
    if how == "threshold":
        return (P > 0.5).astype(dtype)
    return (rng.random(P.shape, dtype=np.float32) < P).astype(dtype)


def train(args, P, n_hidden, max_epochs, minutes, k, rng, label):
    """Train on fresh binarisations (one per epoch) via partial_fit."""
    dtype = np.dtype(args.dtype)
    rbm = BernoulliRBM(n_components=n_hidden, learning_rate=args.lr,
                       batch_size=args.batch_size, k=1 if args.k_ramp else k,
                       persistent=args.persistent or args.n_temperatures > 1, momentum=0.5,
                       n_temperatures=args.n_temperatures,
                       inverse_temperatures=(None if args.min_beta is None or args.n_temperatures < 2
                                             else np.geomspace(1.0, args.min_beta,
                                                               args.n_temperatures)),
                       swap_acceptance_target=args.swap_target if args.n_temperatures > 1 else None,
                       centered=args.centered, centering_decay=args.centering_decay,
                       weight_decay=args.weight_decay,
                       sample_visible=True,  # sampled v_k: the unbiased CD-k estimator
                       random_state=int(rng.integers(2**31 - 1)))
    budget = 60.0 * minutes if minutes is not None else np.inf
    t_start = time.time()
    last = 0.0
    for epoch in range(max_epochs):
        elapsed = time.time() - t_start
        if epoch > 0 and elapsed + last > budget:
            break
        if np.isfinite(budget):
            frac = min(1.0, elapsed / budget) if budget > 0 else 1.0
        else:
            frac = epoch / max(1, max_epochs - 1)
        params = {"momentum": 0.5 if epoch < 5 else args.momentum}
        if args.k_ramp:
            params["k"] = max(1, min(k, 1 + int(frac * k)))
        if args.lr_final is not None:
            params["learning_rate"] = args.lr + frac * (args.lr_final - args.lr)
        rbm.set_params(**params)
        t0 = time.time()
        Xb = binarize(P, rng, args.binarize, dtype)
        rbm.partial_fit(Xb[rng.permutation(len(Xb))])
        last = time.time() - t0
        rec = rbm.history_[-1]
        left = max(0.0, budget - (time.time() - t_start))
        left = f", budget left {left / 60:.1f} min" if np.isfinite(left) else ""
        print(f"[{label}] epoch {epoch + 1}: k={rbm.k}, lr={rbm.learning_rate:.4g}, "
              f"recon. error {rec['reconstruction_error']:.4f}, "
              f"pseudo-LL {rec['pseudo_log_likelihood']:.4f} nats per image, "
              + (f"swap acceptance {np.round(rec['swap_acceptance'], 2).tolist()}, "
                 f"round trips {rec['round_trips']}, smallest beta "
                 f"{rbm._tempering_state[2][-1]:.3g}, " if "swap_acceptance" in rec else "")
              + f"{last:.1f}s{left}", flush=True)
    return rbm, time.time() - t_start, rbm.n_iter_


def sampler_label(args):
    """'CD-25', 'PCD-1', 'centered PT-1 (10 temperatures)', ..."""
    name = ("PT" if args.n_temperatures > 1 else "PCD" if args.persistent else "CD")
    label = f"{'centered ' if args.centered else ''}{name}-{args.k}"
    if args.n_temperatures > 1:
        label += f" ({args.n_temperatures} temperatures)"
    return label


def betas_from(args):
    if args.ais_betas is None:
        return default_betas()
    return np.linspace(0.0, 1.0, args.ais_betas)


def evaluate(rbm, args, P_train, X_test, X_train_eval, rng, reverse=False):
    t0 = time.time()
    kw = dict(init=args.reverse_start, n_burn_in=args.reverse_burn_in) if reverse else {}
    if reverse and args.reverse_start == "pt":
        kw["pt_betas"] = np.geomspace(1.0, args.reverse_pt_min_beta,
                                      args.reverse_pt_temperatures)
    est = ais(rbm, n_runs=args.ais_runs, betas=betas_from(args), base_rate=P_train,
              random_state=int(rng.integers(2**31 - 1)), reverse=reverse,
              target_ess=args.target_ess, verbose=1, **kw)
    secs = time.time() - t0
    nf_test = float(np.mean(-free_energy(rbm, X_test)))
    nf_train = float(np.mean(-free_energy(rbm, X_train_eval)))
    return est, secs, nf_test, nf_train


def fmt_est(est):
    return (f"{est.log_z:.3f} ± {est.log_z_std:.3f} "
            f"[{est.log_z_lower:.3f}, {est.log_z_upper:.3f}]")


def fmt_diag(est):
    """The diagnostics printed beside every AIS figure: ESS and the largest weight's share."""
    line = (f"ESS {est.ess:.1f} of {est.n_runs}, largest weight {100 * est.max_weight_share:.1f}%"
            f", {est.n_betas} temperatures")
    if est.target_reached is not None:
        reached = "reached" if est.target_reached else "NOT reached"
        line += f", target ESS {est.target_ess:g} {reached}"
    return line


def blas_kernels():
    """The BLAS library, kernel (core type) and thread count that ran, from threadpoolctl."""
    from threadpoolctl import threadpool_info
    return ", ".join(f"{i.get('internal_api')} {i.get('architecture')} {i['num_threads']} thread(s)"
                     for i in threadpool_info() if i.get("user_api") == "blas") or "unknown"


def main(argv=None):
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)
    X_train, _ = load_mnist(args.data, "train")
    X_test_u8, _ = load_mnist(args.data, "test")
    if args.n_train:
        X_train = X_train[: args.n_train]
    if args.n_test:
        X_test_u8 = X_test_u8[: args.n_test]
    P_train = X_train.astype(np.float32) / 255.0
    P_test = X_test_u8.astype(np.float32) / 255.0
    test_rng = np.random.default_rng(args.seed + 12345)
    X_test = binarize(P_test, test_rng, args.binarize, np.float64)
    n_eval = min(10000, len(P_train))
    X_train_eval = binarize(P_train[:n_eval], test_rng, args.binarize, np.float64)
    n_betas = len(betas_from(args))
    cmd = "python benchmarks/mnist_loglik.py " + " ".join(sys.argv[1:] if argv is None else argv)
    lines = [f"Command: `{cmd}`", "",
             f"Training images: {len(P_train)}, test images: {len(X_test)}; binarisation: "
             f"{args.binarize} ({'fresh sample every epoch' if args.binarize == 'stochastic' else 'x > 127'}"
             f"; test set binarised once, seed {args.seed + 12345}). "
             f"{sampler_label(args)}{' (k ramped from 1)' if args.k_ramp else ''}, "
             f"batch {args.batch_size}, lr {args.lr}"
             f"{f' -> {args.lr_final}' if args.lr_final is not None else ''}, momentum 0.5 -> "
             f"{args.momentum}, weight decay {args.weight_decay}, {args.dtype}. "
             f"AIS: {args.ais_runs} runs, {n_betas} inverse temperatures, base rates "
             f"from the training pixels. Threads: {os.environ.get('NUMBA_NUM_THREADS', 'all')}. "
             f"BLAS: {blas_kernels()}.",
             ""]

    if not args.skip_large:
        rbm, secs, epochs = train(args, P_train, args.n_hidden, args.epochs, args.minutes,
                                  args.k, rng, f"RBM-{args.n_hidden}")
        if args.save:
            import pickle
            with open(args.save, "wb") as f:  # to re-estimate log Z with more runs later
                pickle.dump(rbm, f)
        est, ais_secs, nf_test, nf_train = evaluate(rbm, args, P_train, X_test,
                                                    X_train_eval, rng)
        lines += [f"### {args.n_hidden} hidden units", "",
                  f"Trained {epochs} epoch(s), {rbm._n_updates} parameter updates, in "
                  f"{secs / 60:.1f} min; AIS took {ais_secs:.0f} s; "
                  f"log Z = {fmt_est(est)} (estimate ± standard error "
                  f"[log(mean w ∓ 3 se)]).", "",
                  "| model | test avg. log-likelihood (nats) | train avg. (nats) | "
                  "AIS diagnostics |",
                  "|---|---|---|---|",
                  f"| this run: {sampler_label(args)} "
                  f"({args.n_hidden}), AIS | {nf_test - est.log_z:.2f} "
                  f"[{nf_test - est.log_z_upper:.2f}, {nf_test - est.log_z_lower:.2f}] | "
                  f"{nf_train - est.log_z:.2f} | {fmt_diag(est)} |"]
        if args.reverse:
            rest, rsecs, _, _ = evaluate(rbm, args, P_train, X_test, X_train_eval, rng,
                                         reverse=True)
            lines.append(f"| this run, reverse AIS from {args.reverse_start} chains "
                         f"({rsecs:.0f} s) | {nf_test - rest.log_z:.2f} "
                         f"[{nf_test - rest.log_z_upper:.2f}, {nf_test - rest.log_z_lower:.2f}]"
                         f" | {nf_train - rest.log_z:.2f} | {fmt_diag(rest)} |")
        lines += [f"| {name} | {val:.2f} | | |" for name, val in PUBLISHED]
        lines.append("")

    if args.small_hidden:
        small, secs, epochs = train(args, P_train, args.small_hidden, args.small_epochs,
                                    None, args.k, rng, f"RBM-{args.small_hidden}")
        t0 = time.time()
        exact = log_partition_exact(small)
        exact_secs = time.time() - t0
        est, ais_secs, nf_test, _ = evaluate(small, args, P_train, X_test, X_train_eval, rng)
        lines += [f"### {args.small_hidden} hidden units: exact vs AIS", "",
                  f"Trained {epochs} epoch(s) in {secs:.0f} s.", "",
                  "| log Z by | log Z (nats) | test avg. log-likelihood (nats) | seconds |",
                  "|---|---|---|---|",
                  f"| exact enumeration (2^{small.n_components} hidden states) | "
                  f"{exact.log_z:.3f} | {nf_test - exact.log_z:.3f} | {exact_secs:.1f} |",
                  f"| AIS, {est.n_runs} runs ({fmt_diag(est)}) | "
                  f"{fmt_est(est)} | {nf_test - est.log_z:.3f} | {ais_secs:.1f} |",
                  "", f"AIS - exact = {est.log_z - exact.log_z:+.3f} nats "
                  f"({(est.log_z - exact.log_z) / est.log_z_std:+.1f} standard errors).", ""]
    print("\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
