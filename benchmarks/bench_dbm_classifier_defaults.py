"""DBMClassifier's fine-tuning defaults (issue 23): fixed 1e-3 / 200-row batches or "auto".

DBMClassifier at its fine-tuning defaults against the same estimator with
``learning_rate_init="auto"``, ``batch_size="auto"`` and both (the rules of
:class:`~rbmlib.DBNClassifier`, rbmlib/deep/_layers.py), with MLPClassifier()
and DBNClassifier() at their defaults for reference. Each in
``Pipeline(scaler, clf)``, stratified 3-fold CV (shuffled, seed 0), default
``hidden_layer_sizes``; per table and scaler: mean accuracy, the
ConvergenceWarnings over the 3 folds and the mean fit seconds.

The DBM fitted inside does not depend on the fine-tuning settings, so within
one fold the DBMClassifier variants share it: ``_fitted_dbm`` is wrapped to
draw its seed from the estimator's stream exactly as it does and to reuse a
DBM already fitted on the same X with that seed (the fitted network is then
the one each variant would give alone). Fit seconds of the DBMClassifier rows
are therefore fine-tuning only except in the first variant run (the
"defaults" column), which includes the DBM fit.

Run single-threaded::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        NUMBA_NUM_THREADS=1 python benchmarks/bench_dbm_classifier_defaults.py \\
        [--tables iris,wine,breast_cancer,digits] [--scalers standard,minmax]
"""

import argparse
import copy
import hashlib
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from rbmlib import DBMClassifier, DBNClassifier

SEED = 0

VARIANTS = {
    "DBM defaults": {},
    "DBM lr=auto": {"learning_rate_init": "auto"},
    "DBM batch=auto": {"batch_size": "auto"},
    "DBM both auto": {"learning_rate_init": "auto", "batch_size": "auto"},
}


def _share_dbm_fits():
    """Reuse a DBM fitted on the same X with the same seed across variants."""
    cache = {}
    orig = DBMClassifier._fitted_dbm

    def _fitted_dbm(self, X, rng, inner=None):
        if inner is not None or self.dbm_params:
            return orig(self, X, rng, inner)
        seed = int(rng.randint(0, 2**31 - 1))  # the draw _fitted_dbm makes
        key = (seed, tuple(self.hidden_layer_sizes), X.shape,
               hashlib.sha1(np.ascontiguousarray(X).tobytes()).hexdigest())
        if key not in cache:
            cache[key] = self._dbm_template(seed).fit(X)
        return copy.deepcopy(cache[key])

    DBMClassifier._fitted_dbm = _fitted_dbm


def datasets(names):
    loaders = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer,
               "digits": load_digits}
    for name in names:
        X, y = loaders[name](return_X_y=True)
        if name == "digits":  # a stratified 600-row subset
            X, _, y, _ = train_test_split(X, y, train_size=600, stratify=y,
                                          random_state=SEED)
        yield name, X, y


def make_clf(label):
    if label == "MLP defaults":
        return MLPClassifier(random_state=SEED)
    if label == "DBN defaults":
        return DBNClassifier(random_state=SEED)
    return DBMClassifier(random_state=SEED, **VARIANTS[label])


def run(label, scaler, X, y):
    cv = StratifiedKFold(3, shuffle=True, random_state=SEED)
    scores, seconds, n_warn = [], [], 0
    for train, test in cv.split(X, y):
        est = make_pipeline(StandardScaler() if scaler == "standard" else MinMaxScaler(),
                            make_clf(label))
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            t0 = time.perf_counter()
            est.fit(X[train], y[train])
            seconds.append(time.perf_counter() - t0)
        n_warn += sum(issubclass(w.category, ConvergenceWarning) for w in rec)
        scores.append(est.score(X[test], y[test]))
    return np.mean(scores), n_warn, np.mean(seconds), scores


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tables", default="iris,wine,breast_cancer,digits")
    ap.add_argument("--scalers", default="standard,minmax")
    ap.add_argument("--labels", default=",".join([*VARIANTS, "DBN defaults",
                                                  "MLP defaults"]))
    args = ap.parse_args()
    _share_dbm_fits()
    labels = args.labels.split(",")
    print("stratified 3-fold CV (seed 0); accuracy (ConvergenceWarnings in the 3 folds, "
          "mean fit s)", flush=True)
    print("| table | rows | scaler | " + " | ".join(labels) + " |")
    print("|---|---|---|" + "---|" * len(labels), flush=True)
    for name, X, y in datasets(args.tables.split(",")):
        for scaler in args.scalers.split(","):
            cells = []
            for label in labels:
                acc, n_warn, sec, folds = run(label, scaler, X, y)
                cells.append(f"{acc:.3f} ({n_warn}, {sec:.1f}s)")
                print(f"#   {name} {scaler} {label}: folds "
                      f"{' '.join(f'{s:.3f}' for s in folds)}", flush=True)
            print(f"| {name} | {len(y)} | {scaler} | " + " | ".join(cells) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
