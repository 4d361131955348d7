"""BernoulliRBM(visible_bias_init="zeros", shuffle=False) runs scikit-learn's algorithm exactly.

scikit-learn's own ``BernoulliRBM._fit`` (one PCD-1 update) is driven with the
very uniforms rbmlib's kernels draw (rbmlib's counter-based stream, re-derived
here in plain Python), mini-batch after mini-batch in scikit-learn's fixed
order, from scikit-learn's initialisation (``rng.normal(0, 0.01)`` weights, zero
biases, zero chains). The parameters must then agree with rbmlib's fit to
rounding. Also: the two options, their errors and their use through
set_params / clone / pickle / GridSearchCV.
"""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import BernoulliRBM as SkBernoulliRBM
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import InvalidParameterError

from rbmlib import BernoulliRBM

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def _mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def _uniforms(seed, stream, shape):
    """rbmlib's uniforms of one stream (SplitMix64 counter generator), row-major."""
    key = _mix64(seed ^ _mix64((stream * GOLDEN + GOLDEN) & M64))
    n = int(np.prod(shape))
    u = [(_mix64((key + i * GOLDEN) & M64) >> 11) / 2.0**53 for i in range(n)]
    return np.array(u).reshape(shape)


class _ReplayRng:
    """Stands in for scikit-learn's RandomState inside ``BernoulliRBM._fit``.

    ``_fit`` draws twice per update: ``uniform(size=(chains, V))`` to sample the
    visible units from the chains' hidden states, then ``uniform(size=(chains,
    H))`` to sample the new hidden states. PCD-1 update ``t`` of rbmlib uses
    streams ``3 t + 1`` (visible) and ``3 t + 2`` (hidden) of its seed.
    """

    def __init__(self, seed, update, V, H):
        self.seed, self.update, self.V, self.H = seed, update, V, H
        self.calls = 0

    def uniform(self, size):
        stream = 3 * self.update + 1 + self.calls
        expected_width = self.V if self.calls == 0 else self.H
        assert self.calls < 2 and size[1] == expected_width, (self.calls, size)
        self.calls += 1
        return _uniforms(self.seed, stream, size)


def _data(n=200):
    X = load_digits().data[:n] / 16.0
    return np.ascontiguousarray(X)


def _sklearn_replay(X, rbm, n_iter):
    """scikit-learn's fit (its own ``_fit`` per mini-batch) with rbmlib's uniforms."""
    H, V = rbm.components_.shape
    sk = SkBernoulliRBM(n_components=H, learning_rate=rbm.learning_rate,
                        batch_size=rbm.batch_size, random_state=rbm.random_state)
    rng = check_random_state(rbm.random_state)
    # scikit-learn's initialisation, as in SkBernoulliRBM.fit
    sk.components_ = np.asarray(rng.normal(0, 0.01, (H, V)), order="F")
    sk.intercept_hidden_ = np.zeros(H)
    sk.intercept_visible_ = np.zeros(V)
    sk.h_samples_ = np.zeros((rbm.batch_size, H))
    n = X.shape[0]
    assert n % rbm.batch_size == 0  # scikit-learn's slices are then exactly rbmlib's
    update = 0
    for _ in range(n_iter):
        for start in range(0, n, rbm.batch_size):  # fixed order, as scikit-learn
            replay = _ReplayRng(rbm._seed, update, V, H)
            sk._fit(X[start:start + rbm.batch_size], replay)
            assert replay.calls == 2
            update += 1
    return sk


def _exact(**kw):
    params = dict(n_components=16, learning_rate=0.1, batch_size=10, n_iter=2,
                  random_state=0, sample_visible=True, visible_bias_init="zeros",
                  shuffle=False, n_jobs=1)
    params.update(kw)
    return BernoulliRBM(**params)


def _assert_same_model(rbm, sk):
    np.testing.assert_allclose(rbm.components_, sk.components_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rbm.intercept_hidden_, sk.intercept_hidden_,
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rbm.intercept_visible_, sk.intercept_visible_,
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(rbm.h_samples_, sk.h_samples_)


def test_fit_is_sklearn_fit_driven_by_the_same_samples():
    X = _data()
    rbm = _exact().fit(X)
    sk = _sklearn_replay(X, rbm, n_iter=2)
    # the models moved well away from the start: a real comparison
    assert np.abs(sk.intercept_visible_).max() > 0.1
    _assert_same_model(rbm, sk)


@pytest.mark.parametrize("change", [dict(shuffle=True), dict(visible_bias_init="log_odds"),
                                    dict(sample_visible=False)])
def test_other_settings_are_not_sklearns_algorithm(change):
    # the comparison above can fail: each of the three settings matters
    X = _data()
    rbm = _exact(**change).fit(X)
    sk = _sklearn_replay(X, rbm, n_iter=2)
    with pytest.raises(AssertionError):
        _assert_same_model(rbm, sk)


def test_defaults():
    rbm = BernoulliRBM()
    assert rbm.sample_visible is True
    assert rbm.visible_bias_init == "zeros"
    assert rbm.shuffle is True


def test_visible_bias_init_values():
    X = _data()
    p = np.clip(X.mean(axis=0), 1e-3, 1 - 1e-3)
    zeros = _exact(n_iter=0).fit(X)
    np.testing.assert_array_equal(zeros.intercept_visible_, 0.0)
    log_odds = _exact(n_iter=0, visible_bias_init="log_odds").fit(X)
    np.testing.assert_allclose(log_odds.intercept_visible_, np.log(p / (1 - p)))
    # float32 data keep float32 parameters with either init
    for init in ("zeros", "log_odds"):
        m = _exact(n_iter=1, visible_bias_init=init).fit(X.astype(np.float32))
        assert m.intercept_visible_.dtype == np.float32


def test_shuffle_false_follows_the_row_order():
    X = _data()
    rev = X[::-1].copy()
    a = _exact(shuffle=False).fit(X)
    b = _exact(shuffle=False).fit(rev)
    assert not np.allclose(a.components_, b.components_)
    # with shuffle the order of the rows is drawn afresh each epoch from
    # random_state: the same seed and data give the same model
    c = _exact(shuffle=True).fit(X)
    d = _exact(shuffle=True).fit(X)
    np.testing.assert_array_equal(c.components_, d.components_)
    assert not np.allclose(a.components_, c.components_)


@pytest.mark.parametrize("name, value, expected", [
    ("visible_bias_init", "zero", "'visible_bias_init' parameter of BernoulliRBM must be"),
    ("visible_bias_init", None, "'visible_bias_init' parameter of BernoulliRBM must be"),
    ("shuffle", "yes", "'shuffle' parameter of BernoulliRBM must be"),
])
def test_bad_values_are_named_and_leave_the_model(name, value, expected):
    X = _data()
    rbm = _exact().fit(X)
    before = rbm.components_.copy()
    rbm.set_params(**{name: value})
    with pytest.raises(InvalidParameterError, match=expected):
        rbm.fit(X)
    with pytest.raises(InvalidParameterError, match=expected):
        rbm.partial_fit(X)
    np.testing.assert_array_equal(rbm.components_, before)


def test_set_params_clone_pickle_then_refit():
    X = _data()
    rbm = _exact().fit(X)
    rbm.set_params(visible_bias_init="log_odds", shuffle=True, n_iter=0).fit(X)
    assert np.abs(rbm.intercept_visible_).max() > 1  # log-odds of the pixel means
    again = pickle.loads(pickle.dumps(clone(rbm).set_params(visible_bias_init="zeros",
                                                            shuffle=False, n_iter=2)))
    assert again.get_params()["visible_bias_init"] == "zeros"
    again.fit(X)
    _assert_same_model(again, _sklearn_replay(X, again, n_iter=2))
    # a pickled exact model continues with partial_fit like the original
    twin = pickle.loads(pickle.dumps(again))
    again.partial_fit(X[:50])
    twin.partial_fit(X[:50])
    np.testing.assert_array_equal(again.components_, twin.components_)


def test_grid_search_over_the_options():
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16.0, y[:300]
    pipe = Pipeline([("rbm", BernoulliRBM(n_components=64, learning_rate=0.06, n_iter=10,
                                          random_state=0, n_jobs=1)),
                     ("clf", LogisticRegression(C=100, max_iter=1000))])
    grid = GridSearchCV(pipe, {"rbm__visible_bias_init": ["zeros", "log_odds"],
                               "rbm__shuffle": [False, True]}, cv=3).fit(X, y)
    scores = grid.cv_results_["mean_test_score"]
    assert len(scores) == 4
    assert np.all(scores > 0.75)  # 0.84-0.88 measured; chance is 0.1
    assert len(set(np.round(scores, 6))) > 1  # the options reach the fitted RBMs
