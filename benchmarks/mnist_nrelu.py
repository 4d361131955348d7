"""MNIST with noisy rectified linear (NReLU) hidden units against Bernoulli ones.

Issue 12. Two comparisons at the same budget (same sizes, epochs, batch):

A. One RBM, ``BernoulliRBM(hidden_units="bernoulli")`` against
   ``BernoulliRBM(hidden_units="nrelu")`` (Nair and Hinton 2010), CD-1, then
   ``StandardScaler + LogisticRegression`` on ``transform(X)`` (the same
   classifier settings for both; the scaler matters for NReLU features, which
   are unbounded). Each unit type gets its own CD learning rate, picked from
   a short list by the validation error of the same pipeline on a small
   subset of the training images (rows after the ``--n-train`` ones, never
   the test images).
B. A DBN 784-500-500 with NReLU layers fine-tuned by back-propagation with
   ReLU activations, against the same DBN with Bernoulli layers fine-tuned
   with the logistic activation (same pretraining and fine-tuning epochs,
   fine-tuning step size of each picked on the tuning rows). Two NReLU
   stacks: ``DBN(hidden_units="nrelu")``, whose upper layers are
   BernoulliRBMs fed with the unbounded NReLU means of the layer below (their
   weights grow without bound even at small learning rates), and a stack
   whose upper layers are ``GaussianBernoulliRBM(hidden_units="nrelu")``
   (real-valued visible units, sigma 1), installed as a DBN's ``rbms_``.

Reports test error and wall time of every stage and the BLAS kernel in use.

Reference: V. Nair and G. E. Hinton, "Rectified linear units improve
restricted Boltzmann machines", ICML 2010.

Examples
--------
Smoke test (about a minute)::

    python benchmarks/mnist_nrelu.py --n-train 2000 --n-test 1000 --hidden 100 \
        --epochs 2 --tune-rows 1000

The recorded run (see benchmarks/RESULTS.md for the exact command)::

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 nice python benchmarks/mnist_nrelu.py \
        --n-train 20000 --write-results
"""

import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

from rbmlib import DBN, BernoulliRBM, DBNClassifier, GaussianBernoulliRBM  # noqa: E402
from rbmlib.datasets import load_mnist  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "RESULTS.md")
START = "<!-- mnist_nrelu: start -->"
END = "<!-- mnist_nrelu: end -->"
UNITS = ("bernoulli", "nrelu")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="folder of the MNIST IDX .gz files "
                   "(default: RBMLIB_MNIST or ../shared/data/mnist)")
    p.add_argument("--n-train", type=int, default=20000, help="training images used")
    p.add_argument("--n-test", type=int, default=10000, help="test images used")
    p.add_argument("--hidden", type=int, default=500, help="hidden units of the part A RBM")
    p.add_argument("--epochs", type=int, default=5,
                   help="CD epochs (part A and each DBN layer) and fine-tuning epochs")
    p.add_argument("--batch", type=int, default=100, help="CD mini-batch rows")
    p.add_argument("--momentum", type=float, default=0.5, help="CD momentum")
    p.add_argument("--weight-decay", type=float, default=2e-4, help="CD weight decay")
    p.add_argument("--lr-bernoulli", default="0.05,0.1,0.2",
                   help="CD learning rate(s) for Bernoulli hidden units; several: tuned")
    p.add_argument("--lr-nrelu", default="0.005,0.01,0.02,0.05",
                   help="CD learning rate(s) for NReLU hidden units; several: tuned")
    p.add_argument("--tune-rows", type=int, default=6000,
                   help="training rows of the learning-rate tuning (2/3 fit, 1/3 "
                        "validation), taken after the --n-train rows")
    p.add_argument("--tune-epochs", type=int, default=2, help="CD epochs when tuning")
    p.add_argument("--C", type=float, default=1.0, help="LogisticRegression C")
    p.add_argument("--max-iter", type=int, default=500, help="LogisticRegression max_iter")
    p.add_argument("--dbn-hidden", default="500,500", help="part B hidden layer sizes")
    p.add_argument("--upper-lr-nrelu", type=float, default=1e-4,
                   help="CD learning rate of the NReLU DBN's upper layers, whose Bernoulli "
                        "visible units get the unbounded NReLU means of the layer below "
                        "(on 3000-5000 images 0.01-0.003 diverged and 1e-3-3e-4 blew the "
                        "weights up to 1-1e4 without a DivergenceError; the Bernoulli DBN "
                        "uses the tuned rate in all layers)")
    p.add_argument("--upper-lr-gauss", type=float, default=0.001,
                   help="CD learning rate of the Gaussian-visible NReLU upper layers "
                        "(0.001 and 0.01 both fine-tuned to 2.1-2.3%% on 20000 images)")
    p.add_argument("--ft-lr-logistic", default="0.5,0.2,0.1",
                   help="fine-tuning step size(s) of the logistic (Bernoulli) net; "
                        "several: tuned on the tuning rows")
    p.add_argument("--ft-lr-relu", default="0.1,0.03,0.01",
                   help="fine-tuning step size(s) of the ReLU (NReLU) net; several: tuned "
                        "(0.1 diverged on 20000 images with 500-500 layers)")
    p.add_argument("--ft-batch", type=int, default=100, help="fine-tuning mini-batch rows")
    p.add_argument("--dropout", type=float, default=0.1, help="fine-tuning hidden dropout")
    p.add_argument("--no-dbn", action="store_true", help="skip part B")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-jobs", type=int, default=1,
                   help="threads for Numba and BLAS (default 1; 0 leaves library defaults)")
    p.add_argument("--verbose", type=int, default=0)
    p.add_argument("--write-results", action="store_true",
                   help="replace this benchmark's section of benchmarks/RESULTS.md")
    return p.parse_args(argv)


def _floats(text):
    return [float(v) for v in str(text).split(",") if v.strip()]


def _ints(text):
    return [int(v) for v in str(text).split(",") if v.strip()]


def load(args):
    Xtr, ytr = load_mnist(args.data, "train")
    Xte, yte = load_mnist(args.data, "test")
    Xtr = (Xtr / 255.0).astype(np.float32)
    Xte = (Xte[: args.n_test] / 255.0).astype(np.float32)
    n = args.n_train
    tune = slice(n, n + args.tune_rows)
    if args.tune_rows and tune.stop > Xtr.shape[0]:  # not enough rows after: use the first
        tune = slice(0, args.tune_rows)
    return (Xtr[:n], ytr[:n], Xte, yte[: args.n_test], Xtr[tune], ytr[tune])


def blas_kernel():
    out = []
    for info in threadpool_info():
        if info.get("user_api") == "blas":
            out.append(f"{info.get('internal_api')} {info.get('version')} "
                       f"{info.get('architecture')} ({info.get('num_threads')} threads)")
    return "; ".join(out) or "none found"


def make_rbm(args, units, lr, epochs):
    return BernoulliRBM(
        n_components=args.hidden, hidden_units=units, learning_rate=lr,
        batch_size=args.batch, n_iter=epochs, momentum=args.momentum,
        weight_decay=args.weight_decay, persistent=False, k=1,
        random_state=args.seed, n_jobs=args.n_jobs, verbose=args.verbose)


def classifier(args):
    return make_pipeline(StandardScaler(),
                         LogisticRegression(C=args.C, max_iter=args.max_iter))


def features_error(args, rbm, Xfit, yfit, Xev, yev):
    """Fit the classifier on rbm features of Xfit; error (%) on Xev and seconds."""
    t0 = time.time()
    clf = classifier(args).fit(rbm.transform(Xfit), yfit)
    err = 100.0 * (1.0 - clf.score(rbm.transform(Xev), yev))
    return err, time.time() - t0, clf[-1].n_iter_.max()


def tune_lr(args, units, lrs, Xtu, ytu, log):
    if len(lrs) == 1:
        return lrs[0], "given"
    k = 2 * Xtu.shape[0] // 3
    scores = []
    for lr in lrs:
        rbm = make_rbm(args, units, lr, args.tune_epochs)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                rbm.fit(Xtu[:k])
            err = features_error(args, rbm, Xtu[:k], ytu[:k], Xtu[k:], ytu[k:])[0]
        except Exception as exc:  # a diverged rate is just a bad candidate
            print(f"  tune {units} lr={lr}: {type(exc).__name__}: {exc}", flush=True)
            err = np.inf
        print(f"  tune {units} lr={lr}: validation error {err:.2f}%", flush=True)
        scores.append((err, lr))
    err, lr = min(scores)
    detail = ", ".join(f"{l:g}: {e:.2f}%" for e, l in scores)
    return lr, f"validation error {detail}"


def part_a(args, Xtr, ytr, Xte, yte, Xtu, ytu, log):
    log("### A. One RBM + logistic regression on its features")
    log()
    chosen = {}
    for units in UNITS:
        lrs = _floats(getattr(args, f"lr_{units}"))
        t0 = time.time()
        chosen[units], how = tune_lr(args, units, lrs, Xtu, ytu, log)
        log(f"- {units}: CD learning rate {chosen[units]:g} "
            f"({how}; {args.tune_epochs} epochs on {2 * Xtu.shape[0] // 3} rows, "
            f"validated on {Xtu.shape[0] - 2 * Xtu.shape[0] // 3}; "
            f"{time.time() - t0:.0f}s)")
    log()
    log("| hidden units | CD lr | RBM fit (s) | LR fit (s) | LR iterations | test error (%) |")
    log("|---|---|---|---|---|---|")
    for units in UNITS:
        rbm = make_rbm(args, units, chosen[units], args.epochs)
        t0 = time.time()
        rbm.fit(Xtr)
        t_rbm = time.time() - t0
        err, t_lr, n_it = features_error(args, rbm, Xtr, ytr, Xte, yte)
        log(f"| {units} | {chosen[units]:g} | {t_rbm:.1f} | {t_lr:.1f} | {n_it} | {err:.2f} |")
    log()
    return chosen


def _dbn(args, hidden, units, layer_lrs, epochs):
    return DBN(hidden, hidden_units=units, learning_rate=layer_lrs,
               batch_size=args.batch, n_iter=epochs, momentum=args.momentum,
               weight_decay=args.weight_decay, persistent=False, k=1,
               random_state=args.seed, n_jobs=args.n_jobs, verbose=args.verbose)


def _gaussian_stack(args, hidden, layer_lrs, epochs, X):
    """NReLU DBN whose upper layers have Gaussian visible units (sigma 1).

    DBN's upper layers are always BernoulliRBMs, whose visible units cannot
    model the unbounded NReLU means of the layer below (their weights grow
    without bound). Here the bottom layer is ``DBN((h1,), hidden_units="nrelu")``
    and every upper one a ``GaussianBernoulliRBM(hidden_units="nrelu")`` fitted
    on the means of the layer below; the fitted RBMs are installed as the
    ``rbms_`` of a DBN so that DBNClassifier(dbn=...) starts from them
    (``_affine_hidden_map`` folds the Gaussian visible input into the weights).
    """
    bottom = _dbn(args, hidden[:1], "nrelu", layer_lrs[:1], epochs)
    _fit_quiet(bottom, X)
    rbms = list(bottom.rbms_)
    H = bottom.transform(X)
    for l, h in enumerate(hidden[1:], start=1):
        rbm = GaussianBernoulliRBM(
            h, hidden_units="nrelu", learning_rate=layer_lrs[l], batch_size=args.batch,
            n_iter=epochs, momentum=args.momentum, weight_decay=args.weight_decay,
            persistent=False, k=1, random_state=args.seed + l, n_jobs=args.n_jobs)
        _fit_quiet(rbm, H)
        rbms.append(rbm)
        if l + 1 < len(hidden):
            H = rbm.transform(H)
    dbn = _dbn(args, hidden, "nrelu", layer_lrs, epochs)
    dbn.rbms_, dbn.interrupted_, dbn.n_features_in_ = rbms, False, X.shape[1]
    return dbn


def _pretrain(args, hidden, variant, layer_lrs, epochs, X):
    if variant == "nrelu-gauss":
        return _gaussian_stack(args, hidden, layer_lrs, epochs, X)
    dbn = _dbn(args, hidden, variant, layer_lrs, epochs)
    _fit_quiet(dbn, X)
    return dbn


def _finetuner(args, hidden, dbn, act, ft_lr, epochs):
    return DBNClassifier(
        hidden_layer_sizes=hidden, dbn=dbn, n_iter_pretrain=0, activation=act,
        solver="sgd", learning_rate_init=ft_lr, learning_rate="cosine",
        momentum=0.9, nesterovs_momentum=True, alpha=1e-5, batch_size=args.ft_batch,
        dropout=args.dropout, max_iter=epochs, tol=0.0, n_iter_no_change=np.inf,
        early_stopping=False, shuffle=True, random_state=args.seed,
        n_jobs=args.n_jobs, verbose=args.verbose)


def _fit_quiet(est, X, y=None):
    """Fit, returning the distinct warning messages (not ConvergenceWarning)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X) if y is None else est.fit(X, y)
    return sorted({str(w.message)[:160] for w in caught})


def tune_ft_lr(args, hidden, variant, layer_lrs, act, lrs, Xtu, ytu):
    """Fine-tuning step size with the lowest validation error on the tuning rows."""
    if len(lrs) == 1:
        return lrs[0], "given"
    k = 2 * Xtu.shape[0] // 3
    dbn = _pretrain(args, hidden, variant, layer_lrs, args.tune_epochs, Xtu[:k])
    scores = []
    for lr in lrs:
        try:
            clf = _finetuner(args, hidden, dbn, act, lr, args.tune_epochs)
            _fit_quiet(clf, Xtu[:k], ytu[:k])
            err = 100.0 * (1.0 - clf.score(Xtu[k:], ytu[k:]))
        except Exception as exc:  # a diverged step size is just a bad candidate
            print(f"  tune fine-tuning {act} lr={lr}: {type(exc).__name__}", flush=True)
            err = np.inf
        print(f"  tune fine-tuning {act} lr={lr}: validation error {err:.2f}%", flush=True)
        scores.append((err, lr))
    err, lr = min(scores)
    return lr, "validation error " + ", ".join(f"{l:g}: {e:.2f}%" for e, l in scores)


def part_b(args, Xtr, ytr, Xte, yte, Xtu, ytu, lrs, log):
    hidden = tuple(_ints(args.dbn_hidden))
    log(f"### B. DBN 784-{'-'.join(map(str, hidden))}-10, pretrained then fine-tuned")
    log()
    up = len(hidden) - 1
    variants = [  # (variant, label, fine-tuning activation, CD lr per layer)
        ("bernoulli", "Bernoulli (DBN)", "logistic", [lrs["bernoulli"]] * len(hidden)),
        ("nrelu", "NReLU (DBN, Bernoulli-visible upper layers)", "relu",
         [lrs["nrelu"]] + [args.upper_lr_nrelu] * up),
        ("nrelu-gauss", "NReLU (Gaussian-visible upper layers)", "relu",
         [lrs["nrelu"]] + [args.upper_lr_gauss] * up),
    ]
    runs = []
    for variant, label, act, layer_lrs in variants:
        t0 = time.time()
        ft_lr, how = tune_ft_lr(args, hidden, variant, layer_lrs, act,
                                _floats(getattr(args, f"ft_lr_{act}")), Xtu, ytu)
        log(f"- {label}, {act} fine-tuning: step size {ft_lr:g} ({how}; "
            f"{args.tune_epochs} pretraining and fine-tuning epochs on the tuning rows; "
            f"{time.time() - t0:.0f}s)")
        runs.append((variant, label, act, layer_lrs, ft_lr))
    log()
    log("| hidden units | CD lr per layer | fine-tuning | pretrain (s) | fine-tune (s) | "
        "test error (%) |")
    log("|---|---|---|---|---|---|")
    notes = []
    for variant, label, act, layer_lrs, ft_lr in runs:
        t0 = time.time()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("ignore", ConvergenceWarning)
            try:
                dbn = _pretrain(args, hidden, variant, layer_lrs, args.epochs, Xtr)
            except Exception as exc:
                dbn = None
                notes.append(f"{label}, pretraining: {type(exc).__name__}: {exc}")
            t_pre = time.time() - t0
            H = None if dbn is None else dbn.transform(Xtr[:2000])
        for w in sorted({str(w.message)[:150] for w in caught}):
            notes.append(f"{label}, pretraining warning: {w}...")
        if dbn is None:
            log(f"| {label} | {', '.join(f'{v:g}' for v in layer_lrs)} | {act}, sgd lr "
                f"{ft_lr:g} | {t_pre:.1f} | - | pretraining failed |")
            continue
        notes.append(f"{label}: max |W| per layer "
                     f"{[round(float(np.abs(r.components_).max()), 3) for r in dbn.rbms_]}; "
                     f"top-layer means of 2000 training images in [0, {H.max():.3g}], "
                     f"mean {H.mean():.3g}")
        clf = _finetuner(args, hidden, dbn, act, ft_lr, args.epochs)
        t0 = time.time()
        try:
            _fit_quiet(clf, Xtr, ytr)
            err = f"{100.0 * (1.0 - clf.score(Xte, yte)):.2f}"
        except Exception as exc:
            err = f"failed: {type(exc).__name__}"
            notes.append(f"{label}, fine-tuning: {exc}")
        t_ft = time.time() - t0
        log(f"| {label} | {', '.join(f'{v:g}' for v in layer_lrs)} | {act}, sgd lr "
            f"{ft_lr:g} | {t_pre:.1f} | {t_ft:.1f} | {err} |")
    log()
    for n in notes:
        log(f"- {n}")
    log()


def main(argv=None):
    args = parse_args(argv)
    if args.n_jobs == 0:
        args.n_jobs = None
    lines = []

    def log(line=""):
        print(line, flush=True)
        lines.append(line)

    t_all = time.time()
    Xtr, ytr, Xte, yte, Xtu, ytu = load(args)
    cmd = "python benchmarks/mnist_nrelu.py " + " ".join(sys.argv[1:] if argv is None else argv)
    env = " ".join(f"{k}={os.environ[k]}" for k in ("OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
                   if k in os.environ)
    log("## NReLU vs Bernoulli hidden units on MNIST (`benchmarks/mnist_nrelu.py`)")
    log()
    log("    " + (env + " " if env else "") + cmd.strip())
    log()
    log(f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. {Xtr.shape[0]} training / "
        f"{Xte.shape[0]} test images, pixels / 255, float32. CD-1 (not persistent), "
        f"batch {args.batch}, momentum {args.momentum}, weight decay {args.weight_decay}, "
        f"{args.epochs} epochs; classifier StandardScaler + LogisticRegression(C={args.C}, "
        f"max_iter={args.max_iter}) for both unit types. Fine-tuning: sgd, cosine schedule, "
        f"Nesterov momentum 0.9, L2 1e-5, batch {args.ft_batch}, dropout {args.dropout}, "
        f"{args.epochs} epochs. Machine: {platform.machine()}, {os.cpu_count()} cores "
        f"(shared, busy), n_jobs={args.n_jobs}. BLAS: {blas_kernel()}.")
    log()
    lrs = part_a(args, Xtr, ytr, Xte, yte, Xtu, ytu, log)  # part B reuses the tuned rates
    if not args.no_dbn:
        part_b(args, Xtr, ytr, Xte, yte, Xtu, ytu, lrs, log)
    log(f"Total wall time {time.time() - t_all:.0f}s.")
    log()
    text = "\n".join(lines) + "\n"
    if args.write_results:
        write_section(text)
        print(f"wrote section to {RESULTS}")
    return text


def write_section(text):
    old = open(RESULTS).read() if os.path.exists(RESULTS) else "# Benchmark results\n"
    block = f"{START}\n{text}{END}\n"
    if START in old and END in old:
        new = old[: old.index(START)] + block + old[old.index(END) + len(END) + 1:]
    else:
        new = old.rstrip("\n") + "\n\n" + block
    with open(RESULTS, "w") as f:
        f.write(new)


if __name__ == "__main__":
    main()
