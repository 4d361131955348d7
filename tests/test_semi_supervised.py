"""Semi-supervised fine-tuning (issue 24): entropy minimisation on the unlabelled rows
(Grandvalet and Bengio 2005) in the backprop kernel and DBNClassifier, and the
scikit-learn semi-supervised workflows around DBNClassifier and DBN."""

import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.datasets import load_digits

from rbmlib._kernels import mlp as K
from rbmlib.dbn import DBN, DBNClassifier
from rbmlib.mlp import _Layout, _kernel_X


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _np_forward(x, coefs, ints, out_kind):
    a = x
    for l, (W, b) in enumerate(zip(coefs, ints)):
        z = a @ W + b
        if l < len(coefs) - 1:
            a = _sigmoid(z)
        elif out_kind == K.SOFTMAX:
            e = np.exp(z - z.max(axis=1, keepdims=True))
            a = e / e.sum(axis=1, keepdims=True)
        else:
            a = _sigmoid(z)
    return a


def _mean_entropy(x, coefs, ints, out_kind):
    """NumPy reference: mean over rows of the prediction entropy (nats)."""
    p = _np_forward(x, coefs, ints, out_kind)
    if out_kind == K.SOFTMAX:
        return float(np.mean(-np.sum(p * np.log(p), axis=1)))
    return float(np.mean(-np.sum(p * np.log(p) + (1 - p) * np.log(1 - p), axis=1)))


def _net(sizes, seed=0, scale=0.7):
    rng = np.random.RandomState(seed)
    coefs = [rng.normal(0, scale, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
    ints = [rng.normal(0, scale, b) for b in sizes[1:]]
    return coefs, ints


def _kernel_entropy_grad(x, coefs, ints, out_kind):
    """Mean entropy and its gradient from the kernels: forward, entropy_delta,
    backward_from_output."""
    sizes = [x.shape[1]] + [W.shape[1] for W in coefs]
    lay = _Layout(sizes)
    m = x.shape[0]
    a_off, acts = lay.a_off(m), lay.acts(m, np.float64)
    deltas = np.zeros_like(acts)
    params = lay.pack(coefs, ints, np.float64)
    grads = np.zeros_like(params)
    kinds = np.zeros(8, np.int64)
    L = lay.n_layers
    K.forward(x, params, lay.sizes, lay.offsets, acts, a_off, out_kind, L - 1,
              np.zeros((m, sizes[-1])), np.zeros(m), False, 1.0, 0, 0, kinds, 0.01)
    o = a_off[L - 1]
    n = sizes[-1]
    h = K.entropy_delta(acts[o:o + m * n].reshape(m, n), deltas[o:o + m * n].reshape(m, n),
                        out_kind)
    K.backward_from_output(x, params, grads, lay.sizes, lay.offsets, acts, deltas, a_off,
                           1.0, 0.0, 0.0, 0, 0, kinds, 0.01)
    return h, grads, lay


@pytest.mark.parametrize("out_kind,n_out", [(K.SOFTMAX, 4), (K.LOGISTIC, 1),
                                            (K.LOGISTIC, 3)])
def test_entropy_gradient_matches_finite_differences(out_kind, n_out):
    """The kernel's gradient of the mean prediction entropy against central
    differences of a NumPy forward pass, on every parameter of a 5-4-3-n net."""
    rng = np.random.RandomState(1)
    x = rng.rand(7, 5)
    coefs, ints = _net([5, 4, 3, n_out])
    h, grads, lay = _kernel_entropy_grad(x, coefs, ints, out_kind)
    assert_allclose(h, _mean_entropy(x, coefs, ints, out_kind), rtol=1e-12)
    params = lay.pack(coefs, ints, np.float64)
    eps = 1e-6
    fd = np.empty_like(params)
    for i in range(params.size):
        up, dn = params.copy(), params.copy()
        up[i] += eps
        dn[i] -= eps
        fd[i] = (_mean_entropy(x, *lay.unpack(up), out_kind)
                 - _mean_entropy(x, *lay.unpack(dn), out_kind)) / (2 * eps)
    assert np.abs(fd).max() > 1e-3  # the entropy does depend on the weights
    assert_allclose(grads, fd, rtol=1e-6, atol=1e-9)


def _epoch_args(X, Y, B, lay, params, lr):
    n = X.shape[0]
    z = np.zeros_like(params)
    hyper = np.zeros(6)  # momentum 0: plain gradient steps
    return (*_kernel_X(X), Y, np.ones(n), np.arange(n, dtype=np.int64), B, params,
            z.copy(), z.copy(), z.copy(), lay.sizes, lay.offsets, lay.a_off(B),
            lay.acts(B, np.float64), np.zeros_like(lay.acts(B, np.float64)),
            np.zeros((B, lay.sizes[0])), np.zeros((B, lay.sizes[-1])), np.zeros(B),
            np.zeros(B), K.SOFTMAX, np.zeros(8, np.int64), 0.01, 1.0, 1.0, 0.0, 0.0, K.SGD,
            lr, hyper, np.uint64(3), 0)


def test_train_epoch_semi_adds_the_weighted_entropy_gradient():
    """One update of train_epoch_semi (plain SGD) equals a step along the labelled
    cross-entropy gradient plus the weight times the entropy gradient of the
    unlabelled batch order_u[:BU]; with weight 0 it equals train_epoch."""
    rng = np.random.RandomState(2)
    sizes = [6, 5, 3]
    coefs, ints = _net(sizes, seed=3)
    lay = _Layout(sizes)
    X = rng.rand(4, 6)
    Y = np.eye(3)[[0, 1, 2, 1]]
    XU = rng.rand(9, 6)
    order_u = np.array([7, 2, 5, 0], dtype=np.int64)
    w, lr = 0.7, 0.5
    p0 = lay.pack(coefs, ints, np.float64)
    # labelled gradient: one train_epoch step with lr = 1 moves params by -g
    p_lab = p0.copy()
    K.train_epoch(*_epoch_args(X, Y, 4, lay, p_lab, 1.0))
    g_lab = p0 - p_lab
    _, g_ent, _ = _kernel_entropy_grad(XU[order_u], coefs, ints, K.SOFTMAX)
    p = p0.copy()
    _, nb, ent = K.train_epoch_semi(
        *_epoch_args(X, Y, 4, lay, p, lr), *_kernel_X(XU), order_u, 4, w,
        np.zeros_like(p0), np.zeros((4, 6)))
    assert nb == 1
    assert_allclose(ent, _mean_entropy(XU[order_u], coefs, ints, K.SOFTMAX), rtol=1e-12)
    assert_allclose(p, p0 - lr * (g_lab + w * g_ent), rtol=1e-10, atol=1e-12)
    p_off = p0.copy()
    K.train_epoch_semi(*_epoch_args(X, Y, 4, lay, p_off, lr), *_kernel_X(XU), order_u, 4,
                       0.0, np.zeros_like(p0), np.zeros((4, 6)))
    p_plain = p0.copy()
    K.train_epoch(*_epoch_args(X, Y, 4, lay, p_plain, lr))
    np.testing.assert_array_equal(p_off, p_plain)


# ----------------------------------------------------------------------------
# DBNClassifier(unlabeled_entropy_weight=...)
# ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits_semi():
    """300 digits / 16 in 5 classes, 40 of them labelled, the rest -1; 200 test rows."""
    X, y = load_digits(n_class=5, return_X_y=True)
    X = X / 16.0
    rng = np.random.RandomState(0)
    idx = rng.permutation(len(y))
    tr, te = idx[:300], idx[300:500]
    y_semi = y[tr].copy()
    y_semi[40:] = -1
    return X[tr], y_semi, X[te], y[te], y[tr]


def _entropy(P):
    return float(np.mean(-np.sum(P * np.log(np.clip(P, 1e-300, None)), axis=1)))


def test_entropy_weight_lowers_the_entropy_on_unlabelled_rows(digits_semi):
    """The term does what it says: the fitted network's predictions on the
    unlabelled rows are more confident than without it (same seed, same
    everything else), the fitted attributes report what was used, and the
    default (0) leaves fine-tuning as before."""
    X, y_semi, _, _, _ = digits_semi
    kw = dict(hidden_layer_sizes=(32,), n_iter_pretrain=2, max_iter=30,
              unlabeled_label=-1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
        off = DBNClassifier(**kw).fit(X, y_semi)
        on = DBNClassifier(unlabeled_entropy_weight=1.0, **kw).fit(X, y_semi)
    U = X[y_semi == -1]
    assert _entropy(on.predict_proba(U)) < 0.8 * _entropy(off.predict_proba(U))
    assert on.unlabeled_entropy_weight_ == 1.0 and on.n_unlabeled_ == 260
    assert off.unlabeled_entropy_weight_ == 0.0 and off.n_unlabeled_ == 260
    # no unlabelled rows: nothing to apply, recorded as 0
    lab = y_semi != -1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = DBNClassifier(unlabeled_entropy_weight=1.0, **kw).fit(X[lab], y_semi[lab])
        ref = DBNClassifier(**kw).fit(X[lab], y_semi[lab])
    assert full.unlabeled_entropy_weight_ == 0.0 and full.n_unlabeled_ == 0
    for a, b in zip(full.coefs_, ref.coefs_):
        np.testing.assert_array_equal(a, b)


def test_entropy_weight_binary_and_sparse(digits_semi):
    """Two classes (one logistic output) and CSR input take the term too."""
    import scipy.sparse as sp

    X, y_semi, _, _, y_true = digits_semi
    keep = np.isin(y_true, [0, 1])
    Xb, yb = X[keep], y_semi[keep]
    kw = dict(hidden_layer_sizes=(16,), n_iter_pretrain=1, max_iter=15,
              unlabeled_label=-1, random_state=0, unlabeled_entropy_weight=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dense = DBNClassifier(**kw).fit(Xb, yb)
        sparse = DBNClassifier(**kw).fit(sp.csr_matrix(Xb), yb)
    assert dense.unlabeled_entropy_weight_ == 0.5
    for a, b in zip(dense.coefs_, sparse.coefs_):
        assert_allclose(a, b, rtol=1e-9, atol=1e-10)


def test_entropy_weight_bad_value_and_pickle(digits_semi):
    X, y_semi, Xte, _, _ = digits_semi
    with pytest.raises(ValueError, match="unlabeled_entropy_weight"):
        DBNClassifier((4,), unlabeled_entropy_weight=-0.1).fit(X, y_semi)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = DBNClassifier((8,), n_iter_pretrain=1, max_iter=3, unlabeled_label=-1,
                            unlabeled_entropy_weight=0.3, random_state=0).fit(X, y_semi)
    clf2 = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clf2.predict_proba(Xte), clf.predict_proba(Xte))
    assert clone(clf).get_params()["unlabeled_entropy_weight"] == 0.3


# ----------------------------------------------------------------------------
# the scikit-learn way
# ----------------------------------------------------------------------------


def test_self_training_classifier_wraps_dbn_classifier(digits_semi):
    """SelfTrainingClassifier(DBNClassifier): fits on the labelled rows, adds
    confident pseudo-labels, and beats its first iteration's classifier."""
    from sklearn.semi_supervised import SelfTrainingClassifier

    X, y_semi, Xte, yte, y_true = digits_semi
    base = DBNClassifier((32,), n_iter_pretrain=2, max_iter=100, random_state=0)
    st = SelfTrainingClassifier(base, criterion="k_best", k_best=60, max_iter=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st.fit(X, y_semi)
        first = clone(base).fit(X[y_semi != -1], y_semi[y_semi != -1])
    assert st.labeled_iter_.max() == 3  # three rounds of pseudo-labels
    new = (st.labeled_iter_ > 0)
    assert new.sum() == 180
    assert (st.transduction_[new] == y_true[new]).mean() > 0.85
    assert st.predict(Xte).shape == yte.shape
    # a working classifier (self-training need not beat its first round here:
    # 0.895 against 0.925 on these 200 test rows)
    assert st.score(Xte, yte) > 0.85 and first.score(Xte, yte) > 0.85


def test_label_spreading_on_dbn_features_in_a_pipeline(digits_semi):
    """Pipeline(DBN, LabelSpreading): the DBN is fitted on all rows (y ignored),
    LabelSpreading spreads the 40 labels over its features."""
    from sklearn.pipeline import make_pipeline
    from sklearn.semi_supervised import LabelSpreading

    X, y_semi, Xte, yte, y_true = digits_semi
    pipe = make_pipeline(DBN((64,), n_iter=5, random_state=0),
                         LabelSpreading(kernel="knn", n_neighbors=7))
    pipe.fit(X, y_semi)
    unl = y_semi == -1
    spread = pipe[-1].transduction_[unl]
    assert (spread == y_true[unl]).mean() > 0.8
    assert pipe.score(Xte, yte) > 0.8


def test_dbn_classifier_score_leaves_out_unlabelled_rows(digits_semi):
    X, y_semi, Xte, yte, _ = digits_semi
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = DBNClassifier((16,), n_iter_pretrain=1, max_iter=20, unlabeled_label=-1,
                            random_state=0).fit(X, y_semi)
    y_mixed = yte.copy()
    y_mixed[::3] = -1
    keep = y_mixed != -1
    assert clf.score(Xte, y_mixed) == pytest.approx(
        float(np.mean(clf.predict(Xte[keep]) == yte[keep])))
    with pytest.raises(ValueError, match="no labelled samples to score"):
        clf.score(Xte[:3], -np.ones(3, dtype=int))
    # -1 a class (unlabeled_label=None): every row is scored
    y3 = np.where(yte == 0, -1, yte)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf3 = DBNClassifier((16,), n_iter_pretrain=1, max_iter=20, unlabeled_label=None,
                             random_state=0).fit(Xte, y3)
    assert clf3.score(Xte, y3) == pytest.approx(float(np.mean(clf3.predict(Xte) == y3)))


def test_grid_search_with_unlabelled_rows_scores_labelled_rows_only(digits_semi):
    """GridSearchCV on a y with -1 rows: every fold fits on all its rows (the
    unlabelled ones in pretraining and, here, the entropy term) and is scored
    on its labelled rows only."""
    from sklearn.model_selection import GridSearchCV, StratifiedKFold

    X, y_semi, _, _, _ = digits_semi
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    gs = GridSearchCV(DBNClassifier((16,), n_iter_pretrain=1, max_iter=20,
                                    unlabeled_label=-1, random_state=0),
                      {"unlabeled_entropy_weight": [0.0, 0.5]}, cv=cv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gs.fit(X, y_semi)
    # refit and recompute one fold's score by hand, on its labelled rows
    train, test = next(cv.split(X, y_semi))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = clone(gs.estimator).set_params(unlabeled_entropy_weight=0.0).fit(
            X[train], y_semi[train])
    lab = y_semi[test] != -1
    expected = float(np.mean(m.predict(X[test][lab]) == y_semi[test][lab]))
    assert gs.cv_results_["split0_test_score"][0] == pytest.approx(expected)
    assert (y_semi[test] == -1).any()  # the fold did hold unlabelled rows
