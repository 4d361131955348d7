"""Gaussian-Bernoulli RBM features on real-valued data, next to plain scikit-learn models
======================================================================================

The data sets ship with scikit-learn: breast cancer (569 tumours, 30
real-valued measurements, benign or malignant; classification, accuracy) or
diabetes (442 patients, 10 features, disease progression; regression, R^2).

On one train/test split it fits

* scikit-learn's plain models (linear, SVM, random forest, gradient
  boosting), each tuned by 5-fold cross-validation on the training part, and
  reports the test score of the one with the best cross-validation score;
* ``StandardScaler -> GaussianBernoulliRBM -> LogisticRegression / RidgeCV``
  with fixed unit variances and with learned variances (``learn_sigma=True``);
* ``DBNClassifier`` / ``DBNRegressor`` with a Gaussian first layer
  (``first_layer="gaussian"``), pretrained and then fine-tuned (the
  regressor on a standardised target).

Everything runs with one BLAS thread unless ``--threads`` says otherwise.
The data are standardised before the RBM: GaussianBernoulliRBM expects zero
mean and unit variance per feature, and raises a ValueError otherwise.

Usage::

    python examples/gaussian_rbm_real_valued.py            # breast cancer
    python examples/gaussian_rbm_real_valued.py --dataset diabetes
    python examples/gaussian_rbm_real_valued.py --quick    # ~8 s
"""

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR
from threadpoolctl import threadpool_limits

from rbmlib import DBNClassifier, DBNRegressor, GaussianBernoulliRBM


def plain_models(task, quick):
    """(name, estimator, parameter grid) of scikit-learn's plain models."""
    if task == "classification":
        models = [
            ("logistic regression",
             Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=5000))]),
             {"clf__C": [0.01, 0.1, 1, 10, 100]}),
            ("SVM (RBF kernel)",
             Pipeline([("scale", StandardScaler()), ("clf", SVC())]),
             {"clf__C": [0.1, 1, 10, 100], "clf__gamma": ["scale", 0.01, 0.1]}),
            ("random forest", RandomForestClassifier(n_estimators=300, random_state=0), {}),
            ("gradient boosting", HistGradientBoostingClassifier(random_state=0), {}),
        ]
    else:
        models = [
            ("ridge regression",
             Pipeline([("scale", StandardScaler()), ("reg", RidgeCV(alphas=np.logspace(-3, 3, 13)))]),
             {}),
            ("SVR (RBF kernel)",
             Pipeline([("scale", StandardScaler()), ("reg", SVR())]),
             {"reg__C": [1, 10, 100], "reg__epsilon": [1, 10]}),
            ("random forest", RandomForestRegressor(n_estimators=300, min_samples_leaf=5,
                                                    random_state=0), {}),
            ("gradient boosting", HistGradientBoostingRegressor(random_state=0), {}),
        ]
    return models[:2] if quick else models


def rbm_models(task, quick):
    """(name, estimator, parameter grid) of the RBM and DBN pipelines."""
    n_components = 64 if quick else 256
    n_iter = 10 if quick else 30
    if task == "classification":
        head, grid = LogisticRegression(max_iter=5000), {"head__C": [0.01, 0.1, 1, 10]}
        dbn = DBNClassifier
    else:
        head, grid = RidgeCV(alphas=np.logspace(-3, 3, 13)), {}
        dbn = DBNRegressor
    models = []
    for learn_sigma in (False, True):
        rbm = GaussianBernoulliRBM(n_components=n_components, n_iter=n_iter,
                                   learning_rate=0.01, persistent=False,
                                   learn_sigma=learn_sigma, random_state=0)
        name = "RBM (learned sigma)" if learn_sigma else "RBM (sigma = 1)"
        models.append((f"scaler + {name} + {type(head).__name__}",
                       Pipeline([("scale", StandardScaler()), ("rbm", rbm), ("head", head)]),
                       grid))
    net = Pipeline([("scale", StandardScaler()),
                    ("dbn", dbn(hidden_layer_sizes=(n_components // 2,), first_layer="gaussian",
                                n_iter_pretrain=n_iter, max_iter=100 if quick else 300,
                                random_state=0))])
    if task == "regression":
        # the network's linear output is fitted best to a standardised target
        net = TransformedTargetRegressor(net, transformer=StandardScaler())
    models.append((f"scaler + {dbn.__name__}(first_layer='gaussian'), fine-tuned", net, {}))
    return models


def fit_and_score(name, est, grid, X_train, y_train, X_test, y_test):
    t0 = time.time()
    search = GridSearchCV(est, grid, cv=5).fit(X_train, y_train)  # grid {}: plain 5-fold CV
    cv, best = search.best_score_, search.best_estimator_
    test = best.score(X_test, y_test)
    seconds = time.time() - t0
    print(f"  {name:<62s} CV {cv:.4f}   test {test:.4f}   ({seconds:.1f}s)")
    return cv, test


# %%
# The experiment
# --------------
#
# ``main`` fits the RBM pipelines and the plain scikit-learn models on the
# chosen data set and scores them on held-out rows.


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=["breast_cancer", "diabetes"],
                        default="breast_cancer")
    parser.add_argument("--quick", action="store_true",
                        help="fewer models, hidden units and epochs")
    parser.add_argument("--out", default="rbmlib_output", help="folder for the figures")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads (default 1: on a busy 2-core machine two BLAS "
                             "threads made the quick run 2.5 times slower)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        run(args)


def run(args):

    if args.dataset == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True)
        task, metric, stratify = "classification", "accuracy", y
    else:
        X, y = load_diabetes(return_X_y=True)
        task, metric, stratify = "regression", "R^2", None
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=stratify)
    print(f"{args.dataset}: {X.shape[0]} samples, {X.shape[1]} real-valued features, "
          f"{task}; {len(y_train)} train / {len(y_test)} test; score = {metric}\n")

    print("scikit-learn, plain models (tuned by 5-fold CV on the training part):")
    plain = {name: fit_and_score(name, est, grid, X_train, y_train, X_test, y_test)
             for name, est, grid in plain_models(task, args.quick)}
    best_name = max(plain, key=lambda n: plain[n][0])

    print("\nrbmlib, Gaussian-Bernoulli RBM features / DBN:")
    rbm = {name: fit_and_score(name, est, grid, X_train, y_train, X_test, y_test)
           for name, est, grid in rbm_models(task, args.quick)}
    best_rbm = max(rbm, key=lambda n: rbm[n][0])

    print(f"\nbest plain model by CV:   {best_name}: test {metric} {plain[best_name][1]:.4f}")
    print(f"best rbmlib model by CV:  {best_rbm}: test {metric} {rbm[best_rbm][1]:.4f}")

    # learning curves of a Gaussian-Bernoulli RBM with learned variances
    import matplotlib
    matplotlib.use("Agg")
    from rbmlib.plotting import plot_history

    Xs = StandardScaler().fit_transform(X_train)
    model = GaussianBernoulliRBM(n_components=64 if args.quick else 256,
                                 n_iter=10 if args.quick else 30, learning_rate=0.01,
                                 persistent=False, learn_sigma=True, validation_fraction=0.2,
                                 random_state=0).fit(Xs)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"gaussian_rbm_{args.dataset}_history.png")
    plot_history(model, path=path)
    print(f"\nsaved {path}")


# %%
# Run it
# ------
#
# The gallery runs it with ``--quick`` (its output and figures are shown
# below); without it, the full setting.


if __name__ == "__main__":
    main()
