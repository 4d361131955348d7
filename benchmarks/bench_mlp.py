"""One fine-tuning epoch on MNIST: rbmlib.DBNClassifier vs scikit-learn's MLPClassifier.

Usage::

    python benchmarks/bench_mlp.py [--data ../shared/data/mnist] [--n-samples 60000]
                                   [--hidden 500,500,2000] [--batch-size 100]
                                   [--solvers sgd,adam] [--dtype float32]
                                   [--repeats 2] [--n-jobs N]

The network is 784-500-500-2000-10 with logistic hidden units and a softmax
output, trained on MNIST pixels / 255. For each solver ("sgd" with Nesterov
momentum 0.9, and "adam") it times, alternating in one run, one epoch of

* rbmlib.DBNClassifier(n_iter_pretrain=0, max_iter=1): no pretraining, so the
  fit is Glorot initialisation plus one epoch of back-propagation,
* sklearn.neural_network.MLPClassifier(activation="logistic", max_iter=1) of
  the same shape, batch size, solver, learning rate, momentum and L2 penalty
  (its ConvergenceWarning is silenced),

both through their public ``fit`` (validation, label binarisation and
initialisation included, as a user would run them). Reports seconds (best of
``--repeats``), the training loss after the epoch (to show both did the same
work), effective GFLOP/s (6 N P floating-point operations per epoch, P the
number of weights: 2 N P forward, 2 N P for the weight gradients, 2 N P for
back-propagating the deltas) and the ratio sklearn / rbmlib. Prints a Markdown
table with the command line on top.

With ``--n-jobs N`` rbmlib gets ``n_jobs=N`` and scikit-learn's BLAS is limited
to N threads too (threadpoolctl); without it both use the library defaults.
"""

import argparse
import contextlib
import os
import platform
import shlex
import sys
import time
import warnings

import numpy as np

# nominal settings of each solver, shared by both libraries
SOLVER_SETTINGS = {
    "sgd": dict(solver="sgd", learning_rate_init=0.01, momentum=0.9, nesterovs_momentum=True),
    "adam": dict(solver="adam", learning_rate_init=0.001, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8),
}


def load_Xy(path, n, dtype):
    from rbmlib.datasets import load_mnist

    X, y = load_mnist(path, subset="train")
    return (X[:n].astype(dtype) / dtype(255.0)), np.asarray(y[:n])


def blas_limit(n_jobs):
    if n_jobs is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    from rbmlib._parallel import effective_n_jobs

    return threadpool_limits(limits=effective_n_jobs(n_jobs), user_api="blas")


def make_rbmlib(hidden, solver, batch_size, alpha, n_jobs, seed=0):
    from rbmlib import DBNClassifier

    return DBNClassifier(hidden, n_iter_pretrain=0, max_iter=1, batch_size=batch_size,
                         alpha=alpha, shuffle=True, early_stopping=False, random_state=seed,
                         n_jobs=n_jobs, **SOLVER_SETTINGS[solver])


def make_sklearn(hidden, solver, batch_size, alpha, seed=0):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=hidden, activation="logistic", max_iter=1,
                         batch_size=batch_size, alpha=alpha, shuffle=True,
                         early_stopping=False, random_state=seed, **SOLVER_SETTINGS[solver])


def fit_time(model, X, y, n_jobs=None, blas=False):
    with warnings.catch_warnings():
        from sklearn.exceptions import ConvergenceWarning

        warnings.simplefilter("ignore", ConvergenceWarning)
        with blas_limit(n_jobs) if blas else contextlib.nullcontext():
            t0 = time.perf_counter()
            model.fit(X, y)
            t = time.perf_counter() - t0
    return t, float(model.loss_curve_[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None, help="MNIST folder (default ../shared/data/mnist)")
    ap.add_argument("--n-samples", type=int, default=60000)
    ap.add_argument("--hidden", default="500,500,2000", help="hidden layer sizes, bottom first")
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--solvers", default="sgd,adam")
    ap.add_argument("--alpha", type=float, default=1e-4, help="L2 penalty of both libraries")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--n-jobs", type=int, default=None)
    args = ap.parse_args(argv)

    import rbmlib
    import sklearn

    dtype = np.dtype(args.dtype).type
    hidden = tuple(int(h) for h in args.hidden.split(","))
    solvers = args.solvers.split(",")
    for s in solvers:
        if s not in SOLVER_SETTINGS:
            ap.error(f"--solvers: unknown solver {s!r}; choose from {sorted(SOLVER_SETTINGS)}")

    X, y = load_Xy(args.data, args.n_samples, dtype)
    N, V = X.shape
    sizes = (V,) + hidden + (len(np.unique(y)),)
    P = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    flops = 6.0 * N * P
    cmd = "python " + " ".join(shlex.quote(a) for a in [sys.argv[0]] + list(sys.argv[1:]))
    print(f"`{cmd}`")
    print()
    print(f"# bench_mlp: N={N} network {'-'.join(map(str, sizes))} ({P} weights), "
          f"batch {args.batch_size}, {args.dtype}, alpha {args.alpha}, n_jobs {args.n_jobs}; "
          f"python {platform.python_version()}, numpy {np.__version__}, "
          f"scikit-learn {sklearn.__version__}, rbmlib {rbmlib.__version__}, "
          f"{os.cpu_count()} cores")
    # warm up rbmlib's kernels on a few rows (compilation is measured in bench_compile.py)
    for s in solvers:
        fit_time(make_rbmlib(hidden, s, min(args.batch_size, 200), args.alpha, args.n_jobs),
                 X[:200], y[:200])

    best = {}
    for rep in range(args.repeats):
        for s in solvers:
            t_ours, loss_ours = fit_time(
                make_rbmlib(hidden, s, args.batch_size, args.alpha, args.n_jobs), X, y)
            t_sk, loss_sk = fit_time(make_sklearn(hidden, s, args.batch_size, args.alpha), X, y,
                                     n_jobs=args.n_jobs, blas=True)
            prev = best.get(s, (np.inf, None, np.inf, None))
            best[s] = (min(prev[0], t_ours), loss_ours, min(prev[2], t_sk), loss_sk)
            print(f"# rep {rep} {s}: rbmlib {t_ours:.2f}s (loss {loss_ours:.4f}) "
                  f"sklearn {t_sk:.2f}s (loss {loss_sk:.4f})", flush=True)

    print()
    print("| solver | rbmlib s | sklearn s | rbmlib GFLOP/s | sklearn GFLOP/s "
          "| loss rbmlib | loss sklearn | sklearn / rbmlib |")
    print("|---|---|---|---|---|---|---|---|")
    for s, (t_ours, loss_ours, t_sk, loss_sk) in best.items():
        name = "sgd (Nesterov 0.9)" if s == "sgd" else s
        print(f"| {name} | {t_ours:.2f} | {t_sk:.2f} | {flops / t_ours / 1e9:.1f} | "
              f"{flops / t_sk / 1e9:.1f} | {loss_ours:.4f} | {loss_sk:.4f} | "
              f"{t_sk / t_ours:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
