"""Workflow tests of the fused two-thread fine-tuning epoch (``_kernels.mlp.train_epoch_fused``).

Under pytest-xdist each worker runs at one Numba thread (conftest.py), so the other
workflow tests never reach the fused path; these set ``n_jobs=2`` on a network above
``FUSED_MIN_PARAMS`` and otherwise leave DBNClassifier at its defaults: a StandardScaler
pipeline in GridSearchCV (set_params then refit) and cross_val_score, pickle then
continue, and a real SIGINT from a timer thread.
"""

import os
import pickle
import sys
import warnings

import numba
import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from rbmlib._kernels import mlp as K
from rbmlib._kernels.threads import BLAS_CONTROL, blas_threads
from rbmlib._parallel import thread_limits
from rbmlib.dbn import DBNClassifier

sys.path.insert(0, os.path.dirname(__file__))
from _workflow import run_with_sigint  # noqa: E402

pytestmark = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2 or not BLAS_CONTROL,
                                reason="needs two Numba threads and OpenBLAS behind SciPy")

HIDDEN = (128, 64)  # 64*128 + 128*64 + 64*10 weights: above FUSED_MIN_PARAMS


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300].astype(np.float32), y[:300]


def _fused(clf):
    n = sum(c.size + b.size for c, b in zip(clf.coefs_, clf.intercepts_))
    with thread_limits(2):
        return K.fused_blocks(n) == 2


def test_pipeline_grid_search_refit_and_cross_val_score_at_two_threads(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), DBNClassifier(HIDDEN, n_jobs=2, random_state=0))
    before = blas_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning in this ordinary workflow
        search = GridSearchCV(pipe, {"dbnclassifier__alpha": [1e-4, 1e-2]}, cv=2).fit(X, y)
    assert blas_threads() == before
    best = search.best_estimator_
    assert _fused(best[-1])
    one = clone(best).set_params(dbnclassifier__n_jobs=1).fit(X, y)
    # the two-thread fit agrees with the one-thread fit to rounding
    assert np.mean(best.predict(X) == one.predict(X)) >= 0.99
    assert best.score(X, y) > 0.95
    two_cv = cross_val_score(pipe, X, y, cv=3)
    one_cv = cross_val_score(clone(pipe).set_params(dbnclassifier__n_jobs=1), X, y, cv=3)
    assert_allclose(two_cv, one_cv, atol=0.02)
    assert two_cv.mean() > 0.8


def test_pickle_then_continue_at_two_threads(digits):
    X, y = digits
    kw = dict(n_jobs=2, max_iter=3, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 3 epochs: ConvergenceWarning by design
        clf = DBNClassifier(HIDDEN, **kw).fit(X, y)
        first = [c.copy() for c in clf.coefs_]
        copy = pickle.loads(pickle.dumps(clf))
        clf.fit(X, y)
        copy.fit(X, y)
    assert _fused(clf)
    assert clf.n_iter_ == copy.n_iter_
    assert not np.allclose(clf.coefs_[0], first[0])  # it continued from the first fit
    for a, b in zip(clf.coefs_, copy.coefs_):
        assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert_allclose(clf.loss_curve_, copy.loss_curve_, rtol=1e-6)


def test_sigint_in_two_thread_fine_tuning_keeps_the_last_epoch_and_the_blas(digits):
    X, y = digits
    clf = DBNClassifier(HIDDEN, n_iter_pretrain=1, max_iter=10**5, tol=0.0,
                        n_iter_no_change=10**5, n_jobs=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clone(clf).set_params(max_iter=1).fit(X, y)  # compile outside the timing
    before = blas_threads()
    kind, out, msgs = run_with_sigint(1.5, lambda: clf.fit(X, y))
    assert blas_threads() == before
    if kind == "raised":  # before the first fine-tuning epoch completed
        assert not hasattr(clf, "coefs_")
        return
    assert clf.interrupted_ and 1 <= clf.n_iter_ < 10**5
    assert any("interrupted by the user" in m for m in msgs), msgs
    assert _fused(clf)
    assert np.all(np.isfinite(clf.predict_proba(X)))


# ---------------------------------------------- the fused persistent CD-1 update (cd.py)
def _digits01(digits):
    X, y = digits
    return X / np.float32(16.0), y


def test_rbm_pipeline_grid_search_at_two_threads_defaults(digits):
    """BernoulliRBM() at its defaults on digits (256 x 64 weights) runs the fused update."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import MinMaxScaler

    from rbmlib.rbm import BernoulliRBM

    X, y = digits
    pipe = make_pipeline(MinMaxScaler(), BernoulliRBM(n_jobs=2, random_state=0),
                         LogisticRegression(max_iter=2000))
    before = blas_threads()
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        search = GridSearchCV(pipe, {"bernoullirbm__learning_rate": [0.01, 0.05]},
                              cv=2).fit(X, y)
    assert not [str(w.message) for w in rec if f"{os.sep}rbmlib{os.sep}" in w.filename]
    assert blas_threads() == before
    rbm = search.best_estimator_[1]
    from rbmlib._kernels import cd as C

    # above the fused update's size threshold, two blocks of at least 32 columns
    assert C.FUSED_MIN_WEIGHTS <= rbm.components_.size and min(rbm.components_.shape) >= 64
    one = clone(search.best_estimator_).set_params(bernoullirbm__n_jobs=1).fit(X, y)
    assert np.mean(search.best_estimator_.predict(X) == one.predict(X)) >= 0.97
    assert search.best_estimator_.score(X, y) > 0.7  # chance: 0.1


def test_rbm_pickle_then_partial_fit_and_sigint_at_two_threads(digits):
    from rbmlib.rbm import BernoulliRBM

    X, _ = _digits01(digits)
    rbm = BernoulliRBM(n_jobs=2, n_iter=2, random_state=0).fit(X)
    copy = pickle.loads(pickle.dumps(rbm))
    rbm.partial_fit(X)
    copy.partial_fit(X)
    assert_allclose(rbm.components_, copy.components_, rtol=1e-6, atol=1e-7)

    slow = BernoulliRBM(n_jobs=2, n_iter=10**6, random_state=0)
    before = blas_threads()
    kind, out, msgs = run_with_sigint(1.0, lambda: slow.fit(X))
    assert blas_threads() == before
    if kind == "raised":  # before the first epoch completed
        assert not hasattr(slow, "components_")
        return
    assert slow.interrupted_ and 1 <= slow.n_iter_ < 10**6
    assert np.all(np.isfinite(slow.components_))
