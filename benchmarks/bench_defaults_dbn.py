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

Example::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_defaults_dbn.py --seeds 0 1 2
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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = p.parse_args(argv)
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
