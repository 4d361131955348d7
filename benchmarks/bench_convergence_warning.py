"""Why default DBN fine-tuning reached max_iter on small tables, and what warns (issue 21).

Two measurements on the real tables of ``benchmarks/_tables.py``, each in the
pipeline a user would write (``_tables.preprocessor``: impute, StandardScaler or
MinMaxScaler, OneHotEncoder) with ``DBNClassifier()``/``DBNRegressor()`` at
their defaults (only ``random_state`` set), 5-fold CV per seed as in
``bench_defaults_dbn.py --tables``:

- default mode: per table and scaler, the held-out score (AUC for binary, accuracy
  for multiclass, R^2), the warnings of each of the 15 fits, ``n_iter_`` and the
  fit time (the DBN half of ``bench_defaults_dbn.py --tables``, with ``n_iter_``);
- ``--probe``: fine-tuning run to ``--max-iter`` epochs with ``n_iter_no_change=inf``
  and the fold's held-out score computed from the weights after every epoch (Adam
  at a constant step follows the same trajectory whatever ``max_iter`` is, so one
  run shows the default's 200-epoch fit and every other stopping point), with the
  "share": how much the lowest training loss fell over the last 10 epochs as a
  fraction of its fall since the first epoch (the quantity
  ``StoppingRule.convergence_warning`` compares with 2%).

Example::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 \\
        python benchmarks/bench_convergence_warning.py --only fgl Hitters Boston birthwt
    ... python benchmarks/bench_convergence_warning.py --probe --seeds 0 --only fgl Hitters \\
        --scalers standard
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np
from sklearn.metrics import accuracy_score, r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline

from rbmlib import DBNClassifier, DBNRegressor, mlp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _tables import preprocessor, tables  # noqa: E402


def _folds(kind, seed, X, y):
    cv = (KFold if kind == "regression" else StratifiedKFold)(5, shuffle=True,
                                                                random_state=seed)
    return cv.split(X, y)


def _estimator(kind, seed, **params):
    return (DBNRegressor if kind == "regression" else DBNClassifier)(random_state=seed,
                                                                     **params)


def warnings_per_fit(name, kind, X, y, scaler, seeds):
    rows = []
    for seed in seeds:
        for tr, te in _folds(kind, seed, X, y):
            est = _estimator(kind, seed)
            pipe = make_pipeline(preprocessor(scaler), est)
            t0 = time.perf_counter()
            with warnings.catch_warnings(record=True) as rec:
                warnings.simplefilter("always")
                pipe.fit(X.iloc[tr], y[tr])
            secs = time.perf_counter() - t0
            if kind == "regression":
                s = r2_score(y[te], pipe.predict(X.iloc[te]))
            elif kind == "binary":
                s = roc_auc_score(y[te], pipe.predict_proba(X.iloc[te])[:, 1])
            else:
                s = accuracy_score(y[te], pipe.predict(X.iloc[te]))
            rows.append((s, len(rec), est.n_iter_, secs))
    s, w, n, t = zip(*rows)
    print(f"| {name} | {scaler} | {np.mean(s):.3f} | {sum(w)}/{len(rows)} | "
          f"{int(np.median(n))} ({min(n)}-{max(n)}) | {np.mean(t):.2f} |", flush=True)


def _share(losses, e, window=10):
    best = np.minimum.accumulate(np.asarray(losses[:e], dtype=float))
    w = min(window, e - 1)
    total = best[0] - best[-1]
    return (best[-1 - w] - best[-1]) / total if w > 0 and total > 0 else np.inf


def _tol_stop(losses, tol=1e-4, n_iter_no_change=10):
    """The epoch where scikit-learn's tol rule (the default's) would stop."""
    best, no = np.inf, 0
    for i, loss in enumerate(losses):
        improved = not (loss > best - tol)
        best, no = min(best, loss), 0 if improved else no + 1
        if no > n_iter_no_change:
            return i + 1
    return None


def probe(name, kind, X, y, scaler, seeds, max_iter, epochs=(50, 100, 200, 300, 400)):
    current = {}
    update = mlp.StoppingRule.update

    def probed(self, record, state):  # the held-out score after every epoch
        c = current
        cs, ics = c["lay"].unpack(state.params)
        P = mlp.forward(c["X"], cs, ics, c["out"])
        if kind == "regression":
            t = c["y"]
            c["scores"].append(1 - np.sum((t - P[:, 0]) ** 2) / np.sum((t - t.mean()) ** 2))
        elif P.shape[1] == 1:
            c["scores"].append(float(np.mean((P[:, 0] > 0.5) == c["y"])))
        else:
            c["scores"].append(float(np.mean(np.argmax(P, axis=1) == c["y"])))
        c["losses"].append(record["loss"])
        return update(self, record, state)

    mlp.StoppingRule.update = probed
    runs = []
    try:
        for seed in seeds:
            for tr, te in _folds(kind, seed, X, y):
                pre = preprocessor(scaler)
                Xtr, Xte = pre.fit_transform(X.iloc[tr]), pre.transform(X.iloc[te])
                classes = np.unique(y[tr])
                if kind == "regression":  # R^2 is the same on y standardised as inside
                    n_out, out = 1, "identity"
                    yte = (y[te] - y[tr].mean()) / y[tr].std()
                else:
                    n_out = 1 if len(classes) == 2 else len(classes)
                    out = "logistic" if n_out == 1 else "softmax"
                    yte = np.searchsorted(classes, y[te])
                current.clear()
                current.update(lay=mlp._Layout([Xtr.shape[1], 256, 256, n_out]), out=out,
                               X=np.ascontiguousarray(Xte, dtype=np.float64), y=yte,
                               scores=[], losses=[])
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    _estimator(kind, seed, max_iter=max_iter,
                               n_iter_no_change=np.inf).fit(Xtr, y[tr])
                runs.append((list(current["scores"]), list(current["losses"])))
    finally:
        mlp.StoppingRule.update = update
    stops = [_tol_stop(L) for _, L in runs]
    cells = []
    for e in epochs:
        if e <= max_iter:
            shares = [_share(L, e) for _, L in runs]
            cells.append(f"{e}: score {np.mean([S[e - 1] for S, _ in runs]):.3f}, share "
                         f"{100 * min(shares):.1f}-{100 * max(shares):.1f}%")
    print(f"{name} {scaler}: tol rule stops at {stops} (None: not by {max_iter}); "
          + "; ".join(cells), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--only", nargs="+", help="tables whose name contains one of these")
    p.add_argument("--scalers", nargs="+", default=["standard", "minmax"],
                   choices=["standard", "minmax"])
    p.add_argument("--probe", action="store_true", help="per-epoch held-out score")
    p.add_argument("--max-iter", type=int, default=400, help="with --probe")
    args = p.parse_args(argv)
    if not args.probe:
        print(f"5-fold CV, seeds {args.seeds}; warnings: all warnings of the DBN's fits")
        print("| table | scaler | DBN defaults | warnings | n_iter_ (median, range) "
              "| fit (s) |")
        print("|---|---|---|---|---|---|")
    for name, kind, X, y in tables():
        if args.only and not any(o in name for o in args.only):
            continue
        for scaler in args.scalers:
            if args.probe:
                probe(name, kind, X, y, scaler, args.seeds, args.max_iter)
            else:
                warnings_per_fit(name, kind, X, y, scaler, args.seeds)


if __name__ == "__main__":
    main()
