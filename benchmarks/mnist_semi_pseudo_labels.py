"""MNIST, few labels: pseudo-labels from label spreading, then fine-tuning (issue 24).

An experiment beside ``mnist_semi_supervised.py`` (same DBN recipe and label
draws): scikit-learn's ``LabelSpreading`` (kNN kernel, 7 neighbours) on the
top-layer features of a 784-500-500 DBN pretrained on all 60,000 training
images labels the labelled rows plus N unlabelled ones; the pretrained network
is then fine-tuned (``DBNClassifier(dbn=...)``, Adam 1e-3, batch 50, 3,000
updates, dropout 0.2) on them with hard pseudo-labels (``ft_hard``) or with
each row weighted by the spreading's confidence (``ft_conf``). Prints the test
accuracy of the spreading itself and of the two fine-tuned networks, per
draw and as means of 3 draws.

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 \
        NUMBA_NUM_THREADS=1 python benchmarks/mnist_semi_pseudo_labels.py \
        ROWS[,ROWS...] LABELS[,LABELS...]

e.g. ``10000,59000 600,100`` (unlabelled rows given to the spreading; label counts).
"""
import os
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir))
sys.path.insert(0, HERE)
import numpy as np
from mnist_semi_supervised import label_draw
from sklearn.semi_supervised import LabelSpreading

from rbmlib import DBN, DBNClassifier
from rbmlib.datasets import load_mnist

warnings.simplefilter("ignore")
Xtr, ytr = load_mnist(None, "train")
Xte, yte = load_mnist(None, "test")
Xtr = (Xtr / 255.0).astype(np.float32)
Xte = (Xte / 255.0).astype(np.float32)
ytr, yte = ytr.astype(np.int64), yte.astype(np.int64)
t0 = time.perf_counter()
dbn = DBN((500, 500), n_iter=10, learning_rate=0.1, batch_size=100, momentum=0.5,
          weight_decay=2e-4, random_state=0).fit(Xtr)
print(f"pretraining {time.perf_counter()-t0:.1f} s", flush=True)
H = dbn.transform(Xtr)
n_rows = [int(a) for a in sys.argv[1].split(",")] if len(sys.argv) > 1 else [10000]
labels = [int(a) for a in sys.argv[2].split(",")] if len(sys.argv) > 2 else [600, 100]
for n_labels in labels:
    for nr in n_rows:
        res = {"spread": [], "ft_hard": [], "ft_conf": []}
        for draw in range(3):
            lab = label_draw(ytr, n_labels, draw)
            rng = np.random.RandomState(2000 + draw)
            unl = np.setdiff1d(np.arange(len(ytr)), lab)
            rows = np.concatenate([lab, rng.choice(unl, min(nr, len(unl)), replace=False)])
            ys = np.full(len(rows), -1); ys[: len(lab)] = ytr[lab]
            t0 = time.perf_counter()
            ls = LabelSpreading(kernel="knn", n_neighbors=7, max_iter=100).fit(H[rows], ys)
            dist = ls.label_distributions_
            ok = np.isfinite(dist).all(1) & (dist.sum(1) > 0)
            pseudo = ls.classes_[np.argmax(np.nan_to_num(dist), 1)]
            conf = np.nan_to_num(dist).max(1)
            pseudo[: len(lab)] = ytr[lab]; conf[: len(lab)] = 1.0
            t_ls = time.perf_counter() - t0
            acc_ls = ls.score(dbn.transform(Xte), yte)
            pl_acc = np.mean(pseudo[len(lab):] == ytr[rows[len(lab):]])
            res["spread"].append(acc_ls)
            for key, sw in (("ft_hard", ok.astype(float)), ("ft_conf", conf * ok)):
                t1 = time.perf_counter()
                clf = DBNClassifier((500, 500), dbn=dbn, n_iter_pretrain=0, solver="adam",
                                    learning_rate_init=1e-3, batch_size=50, alpha=1e-4,
                                    dropout=0.2, tol=0.0, max_iter=max(1, -(-3000 * 50 // len(rows))),
                                    n_iter_no_change=np.inf, random_state=draw)
                clf.fit(Xtr[rows], pseudo, sample_weight=sw)
                res[key].append(clf.score(Xte, yte))
                print(f"labels {n_labels} rows {nr} draw {draw}: pseudo-label acc {pl_acc:.4f}, "
                      f"spread test {acc_ls:.4f} ({t_ls:.0f} s), {key} {res[key][-1]:.4f} "
                      f"({time.perf_counter()-t1:.0f} s)", flush=True)
        print(f"== labels {n_labels} rows {nr}: " + ", ".join(
            f"{k} {np.mean(v):.4f}" for k, v in res.items()), flush=True)
