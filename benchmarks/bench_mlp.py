"""One fine-tuning epoch on MNIST: rbmlib.DBNClassifier vs scikit-learn's MLPClassifier vs PyTorch.

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
* when torch is importable (an optional benchmark extra, never a runtime
  dependency of rbmlib), a plain PyTorch CPU loop: ``nn.Sequential`` of the
  same Linear/Sigmoid layers, cross-entropy loss, ``torch.optim.SGD``
  (Nesterov momentum) or ``torch.optim.Adam`` with the same settings, the L2
  penalty as scikit-learn's (``alpha / batch`` weight decay on the weights, not
  the biases), a fresh random permutation per epoch; model and optimiser
  construction included, as for the others,

the first two through their public ``fit`` (validation, label binarisation and
initialisation included, as a user would run them). Reports seconds (median of
``--repeats`` alternating repeats), the training loss after the epoch (to show both did the same
work), effective GFLOP/s (6 N P floating-point operations per epoch, P the
number of weights: 2 N P forward, 2 N P for the weight gradients, 2 N P for
back-propagating the deltas) and the ratios sklearn / rbmlib and torch / rbmlib.
Prints a Markdown table with the command line on top.

With ``--n-jobs N`` rbmlib gets ``n_jobs=N``, scikit-learn's BLAS is limited
to N threads too (threadpoolctl) and PyTorch gets ``torch.set_num_threads(N)``;
without it all use the library defaults.
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


def torch_fit_time(hidden, solver, batch_size, alpha, X, y, n_jobs=None, seed=0):
    """One epoch of the same network, optimiser and batches in a plain PyTorch loop."""
    import torch
    from torch import nn

    if n_jobs is not None:
        torch.set_num_threads(n_jobs)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    Xt = torch.from_numpy(X)
    classes, y_idx = np.unique(y, return_inverse=True)
    yt = torch.from_numpy(y_idx.astype(np.int64))
    sizes = (X.shape[1],) + tuple(hidden)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.Sigmoid()]
    layers.append(nn.Linear(sizes[-1], len(classes)))
    model = nn.Sequential(*layers).to(Xt.dtype)
    weights = [p for n_, p in model.named_parameters() if n_.endswith("weight")]
    biases = [p for n_, p in model.named_parameters() if n_.endswith("bias")]
    groups = [{"params": weights, "weight_decay": alpha / batch_size},
              {"params": biases, "weight_decay": 0.0}]
    st = SOLVER_SETTINGS[solver]
    if solver == "sgd":
        opt = torch.optim.SGD(groups, lr=st["learning_rate_init"], momentum=st["momentum"],
                              nesterov=st["nesterovs_momentum"])
    else:
        opt = torch.optim.Adam(groups, lr=st["learning_rate_init"],
                               betas=(st["beta_1"], st["beta_2"]), eps=st["epsilon"])
    loss_fn = nn.CrossEntropyLoss()
    n = Xt.shape[0]
    perm = torch.randperm(n)
    total = 0.0
    for start in range(0, n, batch_size):
        idx = perm[start:start + batch_size]
        xb, yb = Xt[idx], yt[idx]
        loss = loss_fn(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    return time.perf_counter() - t0, total / n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None, help="MNIST folder (default ../shared/data/mnist)")
    ap.add_argument("--n-samples", type=int, default=60000)
    ap.add_argument("--hidden", default="500,500,2000", help="hidden layer sizes, bottom first")
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--solvers", default="sgd,adam")
    ap.add_argument("--alpha", type=float, default=1e-4, help="L2 penalty of both libraries")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n-jobs", type=int, default=None)
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch column")
    args = ap.parse_args(argv)

    try:
        import torch
    except ImportError:
        torch = None
    if args.no_torch:
        torch = None

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
          + (f"torch {torch.__version__}, " if torch is not None else "torch not importable, ")
          +
          f"{os.cpu_count()} cores")
    # warm up rbmlib's kernels on a few rows (compilation is measured in bench_compile.py)
    for s in solvers:
        fit_time(make_rbmlib(hidden, s, min(args.batch_size, 200), args.alpha, args.n_jobs),
                 X[:200], y[:200])
        if torch is not None:
            torch_fit_time(hidden, s, min(args.batch_size, 200), args.alpha, X[:200], y[:200],
                           args.n_jobs)
    # the kernels that run (after the warm-up, so that every library has loaded its BLAS)
    from threadpoolctl import threadpool_info

    print("# BLAS: " + "; ".join(
        f"{os.path.basename(d['filepath'])}: {d['internal_api']} {d.get('version')} "
        f"{d.get('architecture')} ({d['num_threads']} threads)"
        for d in threadpool_info() if d["user_api"] == "blas")
        + (f"; torch CPU capability {torch.backends.cpu.get_cpu_capability()}"
           if torch is not None else ""))

    runs = {}
    for rep in range(args.repeats):
        for s in solvers:
            t_ours, loss_ours = fit_time(
                make_rbmlib(hidden, s, args.batch_size, args.alpha, args.n_jobs), X, y)
            t_sk, loss_sk = fit_time(make_sklearn(hidden, s, args.batch_size, args.alpha), X, y,
                                     n_jobs=args.n_jobs, blas=True)
            t_th, loss_th = (torch_fit_time(hidden, s, args.batch_size, args.alpha, X, y,
                                            args.n_jobs)
                             if torch is not None else (np.nan, np.nan))
            runs.setdefault(s, []).append((t_ours, loss_ours, t_sk, loss_sk, t_th, loss_th))
            print(f"# rep {rep} {s}: rbmlib {t_ours:.2f}s (loss {loss_ours:.4f}) "
                  f"sklearn {t_sk:.2f}s (loss {loss_sk:.4f}) "
                  f"torch {t_th:.2f}s (loss {loss_th:.4f})", flush=True)

    print()
    print(f"Median of {args.repeats} alternating repeats (loss: last repeat):")
    print()
    print("| solver | rbmlib s | sklearn s | torch s | rbmlib GFLOP/s | sklearn GFLOP/s "
          "| torch GFLOP/s | loss rbmlib | loss sklearn | loss torch | sklearn / rbmlib "
          "| torch / rbmlib |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for s, rows in runs.items():
        rows = np.array(rows, dtype=float)
        t_ours, t_sk, t_th = (float(np.median(rows[:, i])) for i in (0, 2, 4))
        loss_ours, loss_sk, loss_th = rows[-1, 1], rows[-1, 3], rows[-1, 5]
        name = "sgd (Nesterov 0.9)" if s == "sgd" else s
        print(f"| {name} | {t_ours:.2f} | {t_sk:.2f} | {t_th:.2f} | {flops / t_ours / 1e9:.1f} | "
              f"{flops / t_sk / 1e9:.1f} | {flops / t_th / 1e9:.1f} | {loss_ours:.4f} | "
              f"{loss_sk:.4f} | {loss_th:.4f} | {t_sk / t_ours:.2f}x | {t_th / t_ours:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
