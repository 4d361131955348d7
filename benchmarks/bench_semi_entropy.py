"""Entropy minimisation on the unlabelled rows (``unlabeled_entropy_weight``,
Grandvalet and Bengio 2005) against plain fine-tuning, issue 24.

Same splits as ``bench_defaults_dbn.py --semi``: a stratified 70/30 split per
draw, ``share`` of the training labels kept (the rest -1), digits / 16, the
tables MinMaxScaler(clip=True) fitted on the training rows. Test accuracy of
``DBNClassifier((256, 256), unlabeled_label=-1, unlabeled_entropy_weight=w)``
at its other defaults, pretrained and with ``n_iter_pretrain=0``, mean over the
draws (and the worst draw's change against w = 0)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \\
        NUMBA_NUM_THREADS=1 python benchmarks/bench_semi_entropy.py
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from rbmlib.dbn import DBNClassifier


def _data(name):
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        return X / 16.0, y, False
    loader = {"breast_cancer": load_breast_cancer, "wine": load_wine}[name]
    X, y = loader(return_X_y=True)
    return X, y, True


def run(name, share, draws, weights, pretrain_modes):
    X, y, scale = _data(name)
    acc = {(w, p): [] for w in weights for p in pretrain_modes}
    secs = {(w, p): 0.0 for w in weights for p in pretrain_modes}
    n_lab = []
    for draw in draws:
        Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=draw,
                                              stratify=y)
        if scale:
            sc = MinMaxScaler(clip=True).fit(Xtr)
            Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
        y_semi = ytr.copy()
        y_semi[np.random.RandomState(draw).rand(len(ytr)) > share] = -1
        n_lab.append(int((y_semi != -1).sum()))
        for p in pretrain_modes:
            for w in weights:
                kw = {} if p == "pretrained" else {"n_iter_pretrain": 0}
                t0 = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    clf = DBNClassifier((256, 256), unlabeled_label=-1, random_state=draw,
                                        unlabeled_entropy_weight=w, **kw).fit(Xtr, y_semi)
                secs[w, p] += time.perf_counter() - t0
                acc[w, p].append(clf.score(Xte, yte))
    print(f"\n{name}, {share:.0%} of the labels ({np.mean(n_lab):.1f} labelled rows), "
          f"draws {list(draws)}")
    print("| start | " + " | ".join(f"w={w:g}" for w in weights)
          + " | worst draw vs w=0 | fit (s, mean) |")
    print("|---|" + "---|" * len(weights) + "---|---|")
    for p in pretrain_modes:
        base = np.array(acc[0.0, p])
        worst = " ".join(f"{(np.array(acc[w, p]) - base).min():+.3f}" for w in weights
                         if w != 0.0)
        print(f"| {p} | " + " | ".join(f"{np.mean(acc[w, p]):.4f}" for w in weights)
              + f" | {worst} | {np.mean([secs[w, p] for w in weights]) / len(draws):.1f} |",
              flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.25, 0.5, 1.0])
    a = ap.parse_args()
    run("digits", 0.1, a.draws, a.weights, ("pretrained", "n_iter_pretrain=0"))
    run("digits", 0.02, a.draws, a.weights, ("pretrained", "n_iter_pretrain=0"))
    for name in ("breast_cancer", "wine"):
        run(name, 0.1, a.draws, a.weights, ("pretrained", "n_iter_pretrain=0"))


if __name__ == "__main__":
    main()
