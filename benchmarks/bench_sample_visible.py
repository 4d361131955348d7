"""BernoulliRBM ``sample_visible`` and ``visible_bias_init``: rbmlib vs scikit-learn, side by side.

For each data set and setting, the RBMs get the same hyper-parameters and
the same ``random_state`` values; each cell is the mean +- standard deviation
over the seeds of

* the test accuracy of a LogisticRegression on the RBM's hidden probabilities
  (``transform``), or the 5-fold cross-validated accuracy for the small UCI sets;
* the pseudo-log-likelihood of held-out rows (nats per visible unit: rbmlib's
  ``score_samples`` divided by n_features, i.e. the noise-free expected value
  of scikit-learn's random-flip estimate; the same kernel for every model,
  scikit-learn's included);
* the mean-field reconstruction error of held-out rows (mean squared error).

The columns (``--models`` picks some of them):

* ``rbmlib default``: ``BernoulliRBM()`` settings, i.e. ``sample_visible=True``,
  ``visible_bias_init="zeros"``, ``shuffle=True`` (rows shuffled every epoch);
* ``rbmlib False``: the same with ``sample_visible=False`` (mean-field visible
  probabilities in the last Gibbs step);
* ``rbmlib True, log-odds``: ``visible_bias_init="log_odds"`` (Hinton's guide;
  the default before zeros was chosen by this benchmark);
* ``rbmlib sklearn-exact``: ``shuffle=False`` besides the defaults, scikit-learn's
  algorithm exactly (only the random stream differs);
* ``sklearn``: :class:`sklearn.neural_network.BernoulliRBM`.

Every training set here comes already shuffled by its split, except the UCI
sets in cross-validation (ordered by class: there ``shuffle`` matters most).

The second table checks scikit-learn's own ``test_rbm.py::test_fit`` and
``test_partial_fit`` criterion: ``score_samples(X).mean()`` on digits within
1.5 of -21 (``assert_almost_equal(..., decimal=0)``), both with scikit-learn's
random-flip formula and with its noise-free expected value (rbmlib's
``score_samples``), for every model's parameters.

Run with one BLAS thread (the machine is shared)::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_sample_visible.py
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_sample_visible.py --quick
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_sample_visible.py --models "rbmlib default" sklearn
"""

import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np
from scipy.ndimage import convolve
from scipy.special import expit

import sklearn
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.neural_network import BernoulliRBM as SkBernoulliRBM
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, minmax_scale

import rbmlib
from rbmlib.datasets import load_mnist
from rbmlib import BernoulliRBM
from rbmlib._kernels.monitor import pseudo_loglik_bernoulli


MODELS = {
    "rbmlib default": lambda **kw: BernoulliRBM(n_jobs=1, **kw),
    "rbmlib False": lambda **kw: BernoulliRBM(sample_visible=False, n_jobs=1, **kw),
    "rbmlib True, log-odds": lambda **kw: BernoulliRBM(sample_visible=True,
                                                       visible_bias_init="log_odds",
                                                       n_jobs=1, **kw),
    "rbmlib sklearn-exact": lambda **kw: BernoulliRBM(sample_visible=True,
                                                      visible_bias_init="zeros",
                                                      shuffle=False, n_jobs=1, **kw),
    "sklearn": lambda **kw: SkBernoulliRBM(**kw),
}


# --------------------------------------------------------------------------- metrics

def _params(rbm):
    return (np.asarray(rbm.components_, np.float64), np.asarray(rbm.intercept_hidden_, np.float64),
            np.asarray(rbm.intercept_visible_, np.float64))


def pseudo_loglik(rbm, X):
    """Pseudo-log-likelihood per visible unit (nats), rbmlib's kernel, any RBM.

    ``(1/V) sum_i log sigmoid(F(x^(i)) - F(x))``, ``x^(i)`` = x with unit i set
    to ``1 - x_i``: the expected value of scikit-learn's random-flip estimate
    divided by V (for binary rows, Besag's pseudo-log-likelihood per unit).
    """
    W, c, b = _params(rbm)
    X = np.ascontiguousarray(X, dtype=np.float64)
    pre = np.ascontiguousarray(X @ W.T + c)
    out = np.empty(X.shape[0])
    pseudo_loglik_bernoulli(X, pre, np.ascontiguousarray(W.T), b, out)
    return float(out.mean()) / X.shape[1]


def reconstruction_error(rbm, X):
    """Mean over rows and pixels of (x - E[v | h = p(h | x)])^2."""
    W, c, b = _params(rbm)
    X = np.asarray(X, dtype=np.float64)
    r = expit(expit(X @ W.T + c) @ W + b)
    return float(np.mean((X - r) ** 2))


# --------------------------------------------------------------------------- data sets

def nudged_digits():
    """scikit-learn's 'RBM features for digit classification' example data."""
    X, y = load_digits(return_X_y=True)
    X = np.asarray(X, "float32")
    directions = [
        [[0, 1, 0], [0, 0, 0], [0, 0, 0]],
        [[0, 0, 0], [1, 0, 0], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 1], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 0], [0, 1, 0]],
    ]

    def shift(x, w):
        return convolve(x.reshape((8, 8)), mode="constant", weights=w).ravel()

    X = np.concatenate([X] + [np.apply_along_axis(shift, 1, X, w) for w in directions])
    y = np.concatenate([y] * 5)
    X = np.clip(minmax_scale(X, feature_range=(0, 1)), 0, 1)  # float32 rounding guard
    return train_test_split(X, y, test_size=0.2, random_state=0)


def digits16():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return train_test_split(X, y, test_size=0.2, random_state=0, stratify=y)


def mnist(n_train, n_test):
    X, y = load_mnist(subset="train")
    Xt, yt = load_mnist(subset="test")
    return (X[:n_train] / 255.0, Xt[:n_test] / 255.0, y[:n_train], yt[:n_test])


# --------------------------------------------------------------------------- runs

def holdout_cell(split, rbm_kw, logistic, seeds, models, extra_logistic=None):
    """{model: {metric: [values per seed]}} on one train/test split.

    ``extra_logistic`` (label, estimator) adds a second accuracy row from
    another classifier on the same RBM features.
    """
    X_train, X_test, y_train, y_test = split
    n_pll = min(len(X_test), 500)  # the PLL costs O(V H) per row
    out = {}
    for name in models:
        res = {"acc": [], "pll": [], "rec": [], "sec": []}
        if extra_logistic is not None:
            res["acc2"] = []
        for seed in seeds:
            rbm = MODELS[name](random_state=seed, **rbm_kw)
            t0 = time.perf_counter()
            rbm.fit(X_train)
            res["sec"].append(time.perf_counter() - t0)
            clf = clone(logistic).fit(rbm.transform(X_train), y_train)
            res["acc"].append(clf.score(rbm.transform(X_test), y_test))
            if extra_logistic is not None:
                clf2 = clone(extra_logistic[1]).fit(rbm.transform(X_train), y_train)
                res["acc2"].append(clf2.score(rbm.transform(X_test), y_test))
            res["pll"].append(pseudo_loglik(rbm, X_test[:n_pll]))
            res["rec"].append(reconstruction_error(rbm, X_test))
        out[name] = res
    return out


def cv_cell(X, y, rbm_kw, logistic, seeds, models, n_splits=5):
    """Same as holdout_cell with StratifiedKFold(5) and MinMaxScaler(clip=True)."""
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=0)
    out = {}
    for name in models:
        res = {"acc": [], "pll": [], "rec": [], "sec": []}
        for seed in seeds:
            accs, plls, recs, secs = [], [], [], []
            for tr, te in cv.split(X, y):
                pipe = Pipeline([("scale", MinMaxScaler(clip=True)),
                                 ("rbm", MODELS[name](random_state=seed, **rbm_kw)),
                                 ("logistic", clone(logistic))])
                t0 = time.perf_counter()
                pipe.fit(X[tr], y[tr])
                secs.append(time.perf_counter() - t0)
                accs.append(pipe.score(X[te], y[te]))
                Xte = pipe.named_steps["scale"].transform(X[te])
                plls.append(pseudo_loglik(pipe.named_steps["rbm"], Xte))
                recs.append(reconstruction_error(pipe.named_steps["rbm"], Xte))
            res["acc"].append(np.mean(accs))
            res["pll"].append(np.mean(plls))
            res["rec"].append(np.mean(recs))
            res["sec"].append(np.sum(secs))
        out[name] = res
    return out


def _sklearn_score(rbm, X, seed):
    """scikit-learn's own score_samples (one random unit flipped, times n_features)
    evaluated on the parameters of any fitted RBM."""
    shell = SkBernoulliRBM(n_components=rbm.components_.shape[0], random_state=seed)
    shell.components_, shell.intercept_hidden_, shell.intercept_visible_ = _params(rbm)
    shell.n_features_in_ = X.shape[1]
    shell.h_samples_ = np.zeros((1, rbm.components_.shape[0]))
    return float(shell.score_samples(X).mean())


def sklearn_test_criterion(seeds, models):
    """scikit-learn test_rbm.py test_fit / test_partial_fit: mean score ~ -21 on digits.

    Returns {test: {model: (expected values, sklearn-formula values)}}: the
    noise-free sum (rbmlib's score_samples) and scikit-learn's random-flip
    estimate (one unit per row, times n_features) on the same parameters.
    """
    X = load_digits().data
    X = (X - X.min()) / (X - X.min()).max()
    n_features = X.shape[1]
    rows = {}
    for test in ("test_fit", "test_partial_fit"):
        rows[test] = {}
        for name in models:
            vals, skvals = [], []
            for seed in seeds:
                if test == "test_fit":
                    rbm = MODELS[name](n_components=64, learning_rate=0.1, batch_size=10,
                                       n_iter=7, random_state=seed).fit(X)
                else:
                    rbm = MODELS[name](n_components=64, learning_rate=0.1, batch_size=20,
                                       random_state=seed)
                    batches = np.array_split(X, int(np.ceil(X.shape[0] / 20)))
                    for _ in range(7):
                        for batch in batches:
                            rbm.partial_fit(batch)
                vals.append(pseudo_loglik(rbm, X) * n_features)  # same kernel for all
                skvals.append(_sklearn_score(rbm, X, seed))
            rows[test][name] = (vals, skvals)
    return rows


# --------------------------------------------------------------------------- output

def _fmt(vals, digits):
    return f"{np.mean(vals):.{digits}f} +- {np.std(vals):.{digits}f}"


def print_table(cells, models):
    head = "| data set / setting | metric | " + " | ".join(models) + " |"
    print(head)
    print("|" + "---|" * (2 + len(models)))
    for label, cell in cells:
        extra = cell.pop("_extra_label", None)
        for metric, mlabel, digits in (("acc", "accuracy", 4),
                                       ("acc2", f"accuracy, {extra}", 4),
                                       ("pll", "PLL (nats/unit)", 4),
                                       ("rec", "recon. MSE", 4),
                                       ("sec", "fit s", 2)):
            if metric not in cell[models[0]]:
                continue
            vals = [_fmt(cell[m][metric], digits) for m in models]
            print(f"| {label if metric == 'acc' else ''} | {mlabel} | " + " | ".join(vals) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="2 seeds, fewer epochs, a 2,000-row MNIST subset (a smoke run)")
    parser.add_argument("--seeds", type=int, default=5, help="random_state 0..seeds-1")
    parser.add_argument("--no-mnist", action="store_true", help="skip the MNIST cell")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS),
                        metavar="MODEL",
                        help=f"columns to run, among {list(MODELS)} (default: all)")
    args = parser.parse_args(argv)

    warnings.simplefilter("ignore", ConvergenceWarning)
    quick = args.quick
    seeds = list(range(2 if quick else args.seeds))
    models = [m for m in MODELS if m in args.models]
    ep = (lambda n: max(1, n // 4)) if quick else (lambda n: n)

    print(f"# bench_sample_visible: seeds {seeds}{' (--quick)' if quick else ''}; "
          f"python {platform.python_version()}, numpy {np.__version__}, scikit-learn "
          f"{sklearn.__version__}, rbmlib {rbmlib.__version__}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}\n")

    t_all = time.perf_counter()
    cells = []
    # the example's LogisticRegression(solver="newton-cg", tol=1) makes no
    # iteration at all in scikit-learn 1.9 (n_iter_ 0, chance accuracy): the
    # main row uses a converged fit, the second row the default max_iter=100
    # (stops unconverged on these features, as a user's plain C=6000 would)
    lr_example = LogisticRegression(C=6000, max_iter=2000)
    lr_example_default = ("LR C=6000 max_iter=100 (unconverged)", LogisticRegression(C=6000))
    lr100 = LogisticRegression(C=100.0, max_iter=2000)

    split = nudged_digits()
    cell = holdout_cell(split, dict(n_components=100, learning_rate=0.06, n_iter=ep(10)),
                        lr_example, seeds, models, extra_logistic=lr_example_default)
    cell["_extra_label"] = lr_example_default[0]
    cells.append(("nudged digits (sklearn example): H=100, lr 0.06, "
                  f"{ep(10)} epochs, batch 10; LR C=6000 max_iter=2000; "
                  f"{len(split[0])}/{len(split[1])} rows", cell))
    print(f"[done] nudged digits, {time.perf_counter() - t_all:.0f} s", file=sys.stderr)

    split = digits16()
    cells.append((f"digits /16, demo settings: H=100, lr 0.06, {ep(20)} epochs, batch 10; "
                  "LR C=100",
                  holdout_cell(split, dict(n_components=100, learning_rate=0.06,
                                           n_iter=ep(20)), lr100, seeds, models)))
    cells.append((f"digits /16, BernoulliRBM() defaults: H=256, lr 0.1, {ep(10)} epochs, "
                  "batch 10; LR C=100",
                  holdout_cell(split, dict(n_components=256, learning_rate=0.1,
                                           n_iter=ep(10)), lr100, seeds, models)))
    print(f"[done] digits, {time.perf_counter() - t_all:.0f} s", file=sys.stderr)

    for loader, name in ((load_breast_cancer, "breast_cancer"), (load_wine, "wine")):
        X, y = loader(return_X_y=True)
        cells.append((f"{name}, MinMaxScaler(clip=True): H=64, lr 0.05, {ep(30)} epochs, "
                      "batch 10; LR C=100; 5-fold CV",
                      cv_cell(X, y, dict(n_components=64, learning_rate=0.05, n_iter=ep(30)),
                              lr100, seeds, models)))
    print(f"[done] UCI, {time.perf_counter() - t_all:.0f} s", file=sys.stderr)

    if not args.no_mnist:
        n_train, n_test = (2000, 500) if quick else (10000, 2000)
        try:
            split = mnist(n_train, n_test)
        except FileNotFoundError as exc:
            print(f"MNIST skipped: {exc}\n")
        else:
            cells.append((f"MNIST first {n_train} train rows / first {n_test} test rows, "
                          f"pixels/255: H=256, lr 0.05, {ep(5)} epochs, batch 10; "
                          "LR C=1, PLL on 500 test rows",
                          holdout_cell(split, dict(n_components=256, learning_rate=0.05,
                                                   n_iter=ep(5)),
                                       LogisticRegression(C=1.0, max_iter=1000),
                                       seeds, models)))
            print(f"[done] MNIST, {time.perf_counter() - t_all:.0f} s", file=sys.stderr)

    print(f"Mean +- std over random_state in {seeds} (same seeds for every column); "
          "accuracy of LogisticRegression on the RBM's transform; PLL = "
          "pseudo-log-likelihood of held-out rows in nats per visible unit, the expected "
          "value of scikit-learn's random-flip score_samples / n_features (higher is better); "
          "recon. MSE of held-out rows (lower is better); fit s = RBM fit seconds "
          "(whole pipelines over 5 folds for the CV rows).\n")
    print_table(cells, models)

    crit_seeds = list(range(3 if quick else 10))
    sys.stdout.flush()
    crit = sklearn_test_criterion(crit_seeds, models)
    print(f"\nscikit-learn's test_rbm.py criterion on digits (X scaled to [0, 1]): "
          f"score_samples(X).mean() must be within 1.5 of -21.0. 'sklearn formula' = "
          f"scikit-learn's score_samples (random flip) on each model's parameters, what "
          f"the test computes with scikit-learn's class; 'expected' = its noise-free "
          f"expected value, rbmlib's score_samples (what the test computes with rbmlib's "
          f"class). Cells: value at random_state=9 (the test's); mean +- std "
          f"over random_state in {crit_seeds}; seeds passing.\n")
    print("| test | PLL | " + " | ".join(models) + " |")
    print("|" + "---|" * (2 + len(models)))
    for test, row in crit.items():
        for k, kind in ((1, "sklearn formula"), (0, "expected")):
            vals = []
            for m in models:
                v = np.asarray(row[m][k])
                ok = int(np.sum(np.abs(v + 21.0) < 1.5))
                seed9 = f"{v[crit_seeds.index(9)]:.2f}; " if 9 in crit_seeds else ""
                vals.append(f"{seed9}{v.mean():.2f} +- {v.std():.2f}; {ok}/{len(v)} pass")
            print(f"| {test if k else ''} | {kind} | " + " | ".join(vals) + " |")
    print(f"\nTotal {time.perf_counter() - t_all:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
