"""Digits with 10% of the labels: fine-tuning variants that might widen the pretraining gain.

The measurement behind the "what we tried" table of RESULTS.md's "Digits with
10% of the labels, at the defaults" (issues 21 and 24). Same protocol as
``bench_defaults_dbn.py --semi``: digits / 16, a stratified 70/30 split per
draw, 10% of the training labels kept, the rest -1; each variant fine-tunes
the pretrained network (DBN((256, 256)) at its defaults on all 1,257
training rows) and, with the *same* rule, the randomly initialised one
(Glorot, as ``n_iter_pretrain=0``), and reports test accuracy and the gain.

Fine-tuning is a NumPy re-implementation of DBNClassifier's at the defaults
(logistic hidden units, softmax output, Adam with step 3e-3, batches of 32
labelled rows, alpha 1e-5, at most 200 epochs, scikit-learn's stopping rule
on the training loss: tol 1e-4, 10 epochs), so that terms the library does not
have can be tried; ``plain`` (no extra term) reproduces the library's figures
to within a point (0.907 / 0.887 here against 0.910 / 0.886). Extra terms:

- ``l2sp``: ``l2sp / 2 * ||W_l - W_l(0)||^2`` on the hidden layers (L2-SP,
  Li, Grandvalet and Davoine 2018), towards the pretrained or the random
  initial weights;
- ``hid_lr``: the hidden layers' step times ``hid_lr`` (layer-wise steps);
- ``ent``: entropy of the predicted classes on 128 unlabelled rows per
  update, times ``ent`` (Grandvalet and Bengio 2005);
- ``pl``: cross-entropy against the network's own most probable class on 128
  unlabelled rows per update, times ``pl``, ramped in linearly from epoch
  ``ramp[0]`` to ``ramp[1]`` (pseudo-labels, Lee 2013);
- ``gen``: a CD-1 step on the bottom layer (its visible biases kept; mean-field
  visible reconstruction) on 32 rows of X per update, times ``gen``, added to
  the gradient (the hybrid objective, Larochelle and Bengio 2008).

Example::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 \\
        python benchmarks/bench_semi_finetuning.py --draws 0 1 2 3 4
"""

import argparse
import time
from itertools import pairwise

import numpy as np
from scipy.special import expit, log_softmax, softmax
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from rbmlib import DBN
from rbmlib.deep._layers import _dbn_affine_maps
from rbmlib.mlp import glorot_uniform

VARIANTS = {
    "plain": {},
    "l2sp 1e-3": {"l2sp": 1e-3},
    "l2sp 1e-2": {"l2sp": 1e-2},
    "hidden step x0.3": {"hid_lr": 0.3},
    "hidden step x0.1": {"hid_lr": 0.1},
    "entropy 0.3": {"ent": 0.3},
    "entropy 0.5": {"ent": 0.5},
    "pseudo-labels 1 (ramp 10-60)": {"pl": 1.0, "ramp": (10, 60)},
    "pseudo-labels 3 (ramp 10-60)": {"pl": 3.0, "ramp": (10, 60)},
    "hybrid CD 1": {"gen": 1.0},
    "hybrid CD 1 + entropy 0.5": {"gen": 1.0, "ent": 0.5},
    "hybrid CD 1 + entropy 0.5 + pseudo-labels 0.5": {"gen": 1.0, "ent": 0.5, "pl": 0.5,
                                                      "ramp": (10, 60)},
}


def data(draw, share=0.1):
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, random_state=draw, stratify=y)
    y_semi = ytr.copy()
    y_semi[np.random.RandomState(draw).rand(len(ytr)) > share] = -1
    return Xtr, Xte, yte, y_semi


def pretrain(Xtr, draw):
    """The hidden layers' (W, c) and the bottom RBM's visible biases of a default DBN."""
    seed = np.random.RandomState(draw).randint(np.iinfo(np.int32).max)
    dbn = DBN((256, 256), random_state=seed).fit(Xtr)
    maps = [(np.asarray(W, float), np.asarray(c, float)) for W, c in _dbn_affine_maps(dbn)]
    return maps, np.asarray(dbn.rbms_[0].intercept_visible_, float)


def init_weights(maps, rng, sizes=(64, 256, 256, 10)):
    """The pretrained layers (``maps``; None: Glorot for all) and a Glorot output layer."""
    Ws, bs = [], []
    for W, c in maps or []:
        Ws.append(W.copy())
        bs.append(c.copy())
    for a, b in list(pairwise(sizes[:-1]))[len(Ws):]:
        Ws.append(glorot_uniform(a, b, rng, np.float64))
        bs.append(np.zeros(b))
    Ws.append(glorot_uniform(sizes[-2], sizes[-1], rng, np.float64))
    bs.append(np.zeros(sizes[-1]))
    return Ws, bs


def forward(X, Ws, bs):
    acts = [X]
    for W, b in zip(Ws[:-1], bs[:-1]):
        acts.append(expit(acts[-1] @ W + b))
    return acts, acts[-1] @ Ws[-1] + bs[-1]


def backward(acts, Ws, dz):
    """Gradients of the weights and biases given the output pre-activations' gradient."""
    gW, gb = [None] * len(Ws), [None] * len(Ws)
    d = dz
    for l in range(len(Ws) - 1, -1, -1):
        gW[l] = acts[l].T @ d
        gb[l] = d.sum(0)
        if l:
            d = (d @ Ws[l].T) * acts[l] * (1 - acts[l])
    return gW, gb


def finetune(Ws, bs, Xl, Yl, Xu, Xall, rng, vb=None, lr=3e-3, batch=32, alpha=1e-5,
             max_iter=200, tol=1e-4, n_iter_no_change=10, l2sp=0.0, hid_lr=1.0, ent=0.0,
             pl=0.0, ramp=(0, 0), ubatch=128, gen=0.0, gbatch=32):
    W0 = [W.copy() for W in Ws]
    if vb is None:  # visible biases of a random bottom layer: log odds of the pixel means
        p = np.clip(Xall.mean(0), 1e-3, 1 - 1e-3)
        vb = np.log(p / (1 - p))
    params = Ws + bs + [vb.copy()]
    vb = params[-1]
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    nh = len(Ws) - 1
    scale = [hid_lr] * nh + [1.0] + [hid_lr] * nh + [1.0, 1.0]
    t, best, no_improve, n = 0, np.inf, 0, len(Xl)
    for epoch in range(max_iter):
        w_u = (min(1.0, max(0.0, (epoch - ramp[0]) / (ramp[1] - ramp[0])))
               if ramp[1] > ramp[0] else 1.0)
        order = rng.permutation(n)
        total = 0.0
        for s in range(0, n, batch):
            idx = order[s:s + batch]
            acts, z = forward(Xl[idx], Ws, bs)
            total += -(Yl[idx] * log_softmax(z, axis=1)).sum()
            gW, gb = backward(acts, Ws, (softmax(z, axis=1) - Yl[idx]) / len(idx))
            if (ent or pl) and w_u > 0:
                au, zu = forward(Xu[rng.randint(0, len(Xu), ubatch)], Ws, bs)
                Pu, lPu = softmax(zu, axis=1), log_softmax(zu, axis=1)
                dz = np.zeros_like(zu)
                if ent:  # d/dz of -sum_k p_k log p_k
                    dz += ent * w_u * (-Pu * (lPu + (-(Pu * lPu).sum(1, keepdims=True))))
                if pl:
                    dz += pl * w_u * (Pu - np.eye(zu.shape[1])[zu.argmax(1)])
                gu, gbu = backward(au, Ws, dz / ubatch)
                gW = [a + b for a, b in zip(gW, gu)]
                gb = [a + b for a, b in zip(gb, gbu)]
            for l in range(len(Ws)):
                gW[l] = gW[l] + alpha * Ws[l]
                if l < nh and l2sp:
                    gW[l] = gW[l] + l2sp * (Ws[l] - W0[l])
            gv = np.zeros_like(vb)
            if gen:  # minus CD-1's estimate of d log p(v) / d theta, bottom RBM
                v0 = Xall[rng.randint(0, len(Xall), gbatch)]
                h0 = expit(v0 @ Ws[0] + bs[0])
                v1 = expit((rng.rand(*h0.shape) < h0) @ Ws[0].T + vb)
                h1 = expit(v1 @ Ws[0] + bs[0])
                gW[0] = gW[0] - gen * (v0.T @ h0 - v1.T @ h1) / gbatch
                gb[0] = gb[0] - gen * (h0 - h1).mean(0)
                gv = -gen * (v0 - v1).mean(0)
            t += 1
            lr_t = lr * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)
            for i, (p, g) in enumerate(zip(params, gW + gb + [gv])):
                m1[i] = 0.9 * m1[i] + 0.1 * g
                m2[i] = 0.999 * m2[i] + 0.001 * g ** 2
                p -= scale[i] * lr_t * m1[i] / (np.sqrt(m2[i]) + 1e-8)
        loss = total / n + 0.5 * alpha * sum((W ** 2).sum() for W in Ws)
        no_improve = no_improve + 1 if loss > best - tol else 0
        best = min(best, loss)
        if no_improve > n_iter_no_change:
            break
    return Ws, bs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--draws", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--only", nargs="+", help="variants whose name contains one of these")
    args = p.parse_args(argv)
    per_draw = {}
    for draw in args.draws:
        Xtr, Xte, yte, y_semi = data(draw)
        lab = y_semi != -1
        per_draw[draw] = (Xtr, Xte, yte, Xtr[lab], np.eye(10)[y_semi[lab]], Xtr[~lab],
                          pretrain(Xtr, draw))
    print(f"digits /16, 70/30 split, 10% of the training labels, draws {args.draws}")
    print("| fine-tuning | pretrained | random init (same rule) | gain | per-draw gains | s |")
    print("|---|---|---|---|---|---|")
    for name, cfg in VARIANTS.items():
        if args.only and not any(o in name for o in args.only):
            continue
        t0 = time.perf_counter()
        res = []
        for draw in args.draws:
            Xtr, Xte, yte, Xl, Yl, Xu, (maps, vb) = per_draw[draw]
            row = []
            for pre in (True, False):
                rng = np.random.RandomState(draw)
                Ws, bs = init_weights(maps if pre else None, rng)
                Ws, bs = finetune(Ws, bs, Xl, Yl, Xu, Xtr, rng, vb=vb if pre else None, **cfg)
                row.append(float((forward(Xte, Ws, bs)[1].argmax(1) == yte).mean()))
            res.append(row)
        res = np.array(res)
        gains = res[:, 0] - res[:, 1]
        print(f"| {name} | {res[:, 0].mean():.3f} | {res[:, 1].mean():.3f} | "
              f"{gains.mean():+.3f} | {' '.join(f'{g:+.3f}' for g in gains)} | "
              f"{time.perf_counter() - t0:.0f} |", flush=True)


if __name__ == "__main__":
    main()
