"""Issue 21's data-decided defaults of the DBN stack, on small synthetic data (fast).

- ``first_layer="auto"`` on X in [0, 1]: Bernoulli visible units for binary,
  one-hot and image data (digits / 16), Gaussian units on X standardised inside
  the DBN when a column looks like a min-max scaled measurement (most of its
  values away from 0 and 1), in memory and streamed alike;
- the pseudo-likelihood in a DBN layer's ``history_`` is computed on a doubling
  schedule (epochs 1, 2, 4, 8, ... and the last) unless verbose, and where it is
  computed it is the exact pseudo-likelihood (checked against NumPy).

The table workflows (real data, both scalers) are in ``test_workflows_tables.py``.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import log_expit
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

from rbmlib import DBN, BernoulliRBM, DBNClassifier, DBNRegressor, GaussianBernoulliRBM


def _numpy_pseudo_loglik(rbm, X):
    """Mean over rows of sum_i log p(x_i | x_-i) = log sigmoid(F(x^(i)) - F(x)),
    x^(i) with unit i replaced by 1 - x_i, F the free energy of Bernoulli-Bernoulli units."""
    W, b, c = rbm.components_, rbm.intercept_visible_, rbm.intercept_hidden_

    def free_energy(V):
        return -V @ b - np.logaddexp(0, V @ W.T + c).sum(axis=1)

    X = np.asarray(X, dtype=np.float64)
    total = np.zeros(X.shape[0])
    for i in range(X.shape[1]):
        Xi = X.copy()
        Xi[:, i] = 1 - Xi[:, i]
        total += log_expit(free_energy(Xi) - free_energy(X))
    return total.mean()


def _binary_rows(n=8, d=6, seed=0):
    return (np.random.RandomState(seed).rand(n, d) > 0.5).astype(np.float64)


def test_dbn_layers_record_the_pseudo_likelihood_on_a_doubling_schedule(capsys):
    """Quiet DBN: the costly score only in epochs 1, 2, 4, 8 and the last (9), the
    reconstruction error in all; where computed it is the NumPy pseudo-likelihood
    (8 rows: the monitor holds every row)."""
    X = _binary_rows()
    dbn = DBN((5, 4), n_iter=9, batch_size=4, random_state=0).fit(X)
    H = X
    for rbm in dbn.rbms_:
        assert isinstance(rbm, BernoulliRBM)
        pll = np.array([h["pseudo_log_likelihood"] for h in rbm.history_])
        assert np.flatnonzero(np.isfinite(pll)).tolist() == [0, 1, 3, 7, 8]
        assert all(np.isfinite(h["reconstruction_error"]) for h in rbm.history_)
        np.testing.assert_allclose(pll[-1], _numpy_pseudo_loglik(rbm, H), rtol=1e-10)
        H = rbm.transform(H)
    # the epoch lines print the score, so a verbose DBN computes it every epoch, with
    # the same values as the quiet DBN where both have it (and the same model); an RBM
    # fitted on its own keeps a score per epoch
    quiet = dbn
    loud = DBN((5, 4), n_iter=9, batch_size=4, random_state=0, verbose=1).fit(X)
    assert "pseudo-likelihood" in capsys.readouterr().out
    for q, v in zip(quiet.rbms_, loud.rbms_):
        pq = np.array([h["pseudo_log_likelihood"] for h in q.history_])
        pv = np.array([h["pseudo_log_likelihood"] for h in v.history_])
        assert np.isfinite(pv).all()
        np.testing.assert_array_equal(pq[np.isfinite(pq)], pv[np.isfinite(pq)])
        np.testing.assert_array_equal(q.components_, v.components_)
    rbm = BernoulliRBM(n_components=5, n_iter=9, batch_size=4, random_state=0).fit(X)
    assert all(np.isfinite(h["pseudo_log_likelihood"]) for h in rbm.history_)


def _minmax_iris_with_one_hot():
    """iris' four measurements min-max scaled, next to a one-hot column group: X in [0, 1]
    with most entries at 0 or 1, as a MinMaxScaler + OneHotEncoder pipeline gives."""
    X, y = load_iris(return_X_y=True)
    onehot = OneHotEncoder(sparse_output=False).fit_transform((np.arange(len(y)) % 5)[:, None])
    return np.hstack([MinMaxScaler().fit_transform(X), onehot]), y


@pytest.mark.parametrize("block_size", ["auto", 40])
def test_auto_first_layer_takes_minmax_measurements_as_real_valued(block_size):
    """Min-max scaled measurements (iris: 96% of a column's values inside (0.1, 0.9)) get
    Gaussian units on X standardised inside the DBN, which it undoes exactly in the
    network; binary, one-hot and digits / 16 (at most 67% per column) keep Bernoulli
    units. Streamed in blocks the choice is the same."""
    X, _ = _minmax_iris_with_one_hot()
    dbn = DBN((6,), n_iter=2, random_state=0, block_size=block_size).fit(X)
    assert dbn.first_layer_ == "gaussian" and isinstance(dbn.rbms_[0], GaussianBernoulliRBM)
    np.testing.assert_allclose(dbn.scalers_[0].mean_, X.mean(axis=0))
    # the standardisation is part of the model: transform == the RBM on standardised X
    np.testing.assert_allclose(dbn.transform(X),
                               dbn.rbms_[0].transform(StandardScaler().fit_transform(X)),
                               rtol=1e-6, atol=1e-9)
    digits = load_digits().data / 16
    onehot = X[:, 4:]
    for Z in (digits, (digits > 0.5).astype(float), onehot, sp.csr_matrix(digits)):
        dbn = DBN((6,), n_iter=1, random_state=0, block_size=block_size).fit(Z)
        assert dbn.first_layer_ == "bernoulli" and dbn.scalers_[0] is None
        assert isinstance(dbn.rbms_[0], BernoulliRBM)


def test_networks_report_the_first_layer_they_chose_with_and_without_pretraining():
    """DBNClassifier / DBNRegressor: ``first_layer_`` is the rule's choice, whether or not
    a DBN was pretrained (n_iter_pretrain=0)."""
    X, y = _minmax_iris_with_one_hot()
    digits = load_digits().data[:200] / 16
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=3
        for n_iter_pretrain in (2, 0):
            clf = DBNClassifier((8,), n_iter_pretrain=n_iter_pretrain, max_iter=3,
                                random_state=0).fit(X, y)
            assert clf.first_layer_ == "gaussian"
            assert n_iter_pretrain == 0 or clf.dbn_.first_layer_ == "gaussian"
            reg = DBNRegressor((8,), n_iter_pretrain=n_iter_pretrain, max_iter=3,
                               random_state=0).fit(digits, np.arange(200.0))
            assert reg.first_layer_ == "bernoulli"
