"""Findings of the round-2 fault probe (issue 21, section 9), each with a test that
failed before its fix: CategoricalRBM categories on dask arrays, missing_values
among the categories, the memory of the one-hot encoding, plot_receptive_fields
and DBN.scalers_, and the Ctrl-C warning of partial_fit."""

import re
import warnings

import numpy as np
import pytest

from rbmlib import DBNClassifier
from rbmlib import mlp as mlp_module


def _interrupt_fine_tuning(monkeypatch):
    """Raise KeyboardInterrupt from inside the first fine-tuning epoch."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mlp_module._k, "train_epoch", interrupted)


# ----------------------------------------------------------------------------
# Ctrl-C in partial_fit names what was running
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("n_iter_pretrain", [0, 2])
def test_interrupt_in_partial_fit_of_fitted_classifier_names_fine_tuning(
        monkeypatch, n_iter_pretrain):
    rng = np.random.RandomState(0)
    X = rng.rand(60, 8)
    y = (X[:, 0] > 0.5).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = DBNClassifier(hidden_layer_sizes=(4,), n_iter_pretrain=n_iter_pretrain,
                            max_iter=3, random_state=0).fit(X, y)
    coefs = [W.copy() for W in clf.coefs_]
    _interrupt_fine_tuning(monkeypatch)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        with pytest.raises(KeyboardInterrupt) as info:
            clf.partial_fit(X, y)
    msgs = [str(w.message) for w in rec if issubclass(w.category, RuntimeWarning)]
    assert len(msgs) == 1, msgs
    msg = msgs[0]
    assert "partial_fit interrupted" in msg and "during fine-tuning" in msg, msg
    assert "no pretraining runs" in msg, msg
    assert "during pretraining" not in msg and "exc.dbn" not in msg, msg
    assert info.value.dbn is None
    for W, W0 in zip(clf.coefs_, coefs):  # left as it was
        np.testing.assert_array_equal(W, W0)


def test_interrupt_in_first_fine_tuning_epoch_without_pretraining(monkeypatch):
    """fit with n_iter_pretrain=0 runs no pretraining: the warning says fine-tuning."""
    rng = np.random.RandomState(0)
    X = rng.rand(60, 8)
    y = (X[:, 0] > 0.5).astype(int)
    _interrupt_fine_tuning(monkeypatch)
    clf = DBNClassifier(hidden_layer_sizes=(4,), n_iter_pretrain=0, random_state=0)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        with pytest.raises(KeyboardInterrupt):
            clf.fit(X, y)
    msgs = [str(w.message) for w in rec if issubclass(w.category, RuntimeWarning)]
    assert len(msgs) == 1 and "fit interrupted" in msgs[0], msgs
    assert "during the first fine-tuning epoch" in msgs[0], msgs
    assert "no layer had completed" not in msgs[0], msgs


# ----------------------------------------------------------------------------
# plot_receptive_fields uses the network's affine maps (DBN.scalers_)
# ----------------------------------------------------------------------------


def _mosaic(fig):
    return np.ma.filled(fig.axes[0].images[0].get_array().astype(np.float64), np.nan)


def test_receptive_fields_of_dbn_agree_with_network_built_from_it():
    """Layers above NReLU units read standardised features (scalers_): the DBN's
    plotted fields are those of the network built from it."""
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.datasets import load_digits

    from rbmlib import DBN
    from rbmlib.dbn import _dbn_affine_maps
    from rbmlib.plotting import _layer_products, plot_receptive_fields

    X, y = load_digits(return_X_y=True)
    X = X[:400] / 16.0
    y = y[:400]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dbn = DBN((16, 9), hidden_units=["nrelu", "bernoulli"], n_iter=3,
                  random_state=0).fit(X)
        # fine-tuning that barely moves: the network is the DBN's
        clf = DBNClassifier(dbn=dbn, max_iter=1, solver="sgd", learning_rate_init=1e-12,
                            momentum=0.0, random_state=0).fit(X, y)
    assert dbn.scalers_[1] is not None  # the case of the finding
    # the products are the network's, layer by layer
    maps = _dbn_affine_maps(dbn)
    want = maps[0][0].T
    for l, got in enumerate(_layer_products(dbn)):
        if l:
            want = maps[l][0].T @ want
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    for layer in (0, 1):
        f_dbn = plot_receptive_fields(dbn, layer=layer, n=9)
        f_net = plot_receptive_fields(clf, layer=layer, n=9)
        a, b = _mosaic(f_dbn), _mosaic(f_net)
        plt.close(f_dbn)
        plt.close(f_net)
        np.testing.assert_allclose(a, b, atol=1e-6, equal_nan=True)


# ----------------------------------------------------------------------------
# CategoricalRBM: missing_values must not be a category
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("cats, mv, X", [
    ([np.array([0, 1, 2]), np.array([0, 1])], 2, [[0, 1], [2, 0], [1, 1]]),
    ([np.array(["a", "b", "?"], dtype=object)], "?", [["a"], ["?"], ["b"]]),
])
def test_missing_values_listed_as_category_is_refused(cats, mv, X):
    from rbmlib import CategoricalRBM

    m = CategoricalRBM(n_components=2, n_iter=1, categories=cats, missing_values=mv,
                       random_state=0)
    want = (re.escape(f"missing_values={mv!r} is also a category of column 0") + ".*"
            + re.escape(f"Remove {mv!r} from categories[0]"))
    with pytest.raises(ValueError, match=want):
        m.fit(X)
    assert not hasattr(m, "categories_")  # left as it was


def test_missing_values_changed_after_fit_to_a_category_is_refused():
    from rbmlib import CategoricalRBM

    X = np.array([[0, 1], [2, 0], [1, 1], [2, 1]])
    m = CategoricalRBM(n_components=2, n_iter=1, random_state=0).fit(X)
    m.set_params(missing_values=2)
    for method in (m.transform, m.impute):
        with pytest.raises(ValueError, match="missing_values=2 is also a category of column 0"):
            method(X)


# ----------------------------------------------------------------------------
# CategoricalRBM on a dask array: categories from every chunk
# ----------------------------------------------------------------------------


def _chunked_categories(n=600, n_chunks=6, seed=0):
    """Codes whose later chunks hold categories the first chunk lacks (and a
    column entirely missing in the first chunk)."""
    rng = np.random.RandomState(seed)
    X = np.column_stack([rng.randint(0, 40, n), rng.randint(0, 5, n)]).astype(np.float64)
    per = n // n_chunks
    X[:per, 0] = rng.randint(0, 10, per)  # the first chunk sees 10 of 40 categories
    X[:per, 1] = np.nan  # ... and no value of column 1
    return X, per


@pytest.mark.parametrize("handle_unknown", ["ignore", "error"])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_dask_fit_takes_categories_from_every_chunk(handle_unknown, method):
    da = pytest.importorskip("dask.array")
    from rbmlib import CategoricalRBM

    X, per = _chunked_categories()
    ref = CategoricalRBM(n_components=3, n_iter=1, handle_unknown=handle_unknown,
                         random_state=0).fit(X)
    assert [len(c) for c in ref.categories_] == [40, 5]
    for seed in range(3):  # the chunk order of fit is random: no seed may fail or drop
        m = CategoricalRBM(n_components=3, n_iter=2, handle_unknown=handle_unknown,
                           random_state=seed)
        getattr(m, method)(da.from_array(X, chunks=(per, 2)))
        assert m.categories == "auto"  # the parameter is left as given
        assert len(m.categories_) == 2
        for got, want in zip(m.categories_, ref.categories_):
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(m.offsets_, ref.offsets_)
        # every category is one: transform of the in-memory data sees no unknown value
        assert m.transform(X).shape == (X.shape[0], 3)


def test_dask_fit_column_without_any_observed_value_is_refused():
    da = pytest.importorskip("dask.array")
    from rbmlib import CategoricalRBM

    X, per = _chunked_categories()
    X[:, 1] = np.nan
    m = CategoricalRBM(n_components=3, n_iter=1, random_state=0)
    with pytest.raises(ValueError, match="Column 1 of X has no observed"):
        m.fit(da.from_array(X, chunks=(per, 2)))
    assert not hasattr(m, "categories_")


# ----------------------------------------------------------------------------
# CategoricalRBM never builds the dense one-hot matrix
# ----------------------------------------------------------------------------


def _peak_mb(fn):
    import tracemalloc

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        fn()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def test_many_categories_do_not_materialise_the_dense_onehot():
    """One column of 3,000 categories on 6,000 rows: the dense one-hot is 144 MB,
    the hidden representation 192 kB. The peaks were 144 MB (fit, transform,
    score_samples, free_energy), 720 MB (reconstruction_error) and 576 MB (impute)."""
    from rbmlib import CategoricalRBM

    rng = np.random.RandomState(0)
    X = rng.randint(0, 3000, (6000, 1))
    X[:3000, 0] = np.arange(3000)
    dense_mb = X.shape[0] * 3000 * 8 / 1e6
    warm = CategoricalRBM(n_components=4, n_iter=1, random_state=0).fit(X[:50])
    for name in ("transform", "score_samples", "free_energy", "reconstruction_error"):
        getattr(warm, name)(X[:5])  # compiled outside the measurement
    m = CategoricalRBM(n_components=4, n_iter=1, random_state=0)
    peaks = {"fit": _peak_mb(lambda: m.fit(X))}
    assert m.components_.shape == (4, 3000)
    for name in ("transform", "score_samples", "free_energy", "reconstruction_error",
                 "impute"):
        peaks[name] = _peak_mb(lambda: getattr(m, name)(X))
    assert max(peaks.values()) < dense_mb / 10, peaks
    for name in ("transform", "score_samples", "free_energy"):
        assert peaks[name] < 2.0, peaks  # O(n (G + H)), not O(n V)


@pytest.mark.parametrize("hidden_units", ["bernoulli", "gaussian"])
def test_sparse_onehot_gives_the_dense_onehot_results(hidden_units):
    """Against the dense one-hot formulas (the code before the sparse one-hot)."""
    from scipy.special import expit

    from rbmlib import CategoricalRBM

    rng = np.random.RandomState(1)
    X = rng.randint(0, 5, (200, 4)).astype(float)
    X[:, 2] = rng.randint(0, 13, 200)
    X[rng.rand(200, 4) < 0.1] = np.nan
    m = CategoricalRBM(n_components=6, n_iter=3, batch_size=16, hidden_units=hidden_units,
                       random_state=0).fit(X)
    codes = m._check_fitted_X(X)
    V1 = m._onehot(codes)  # dense reference
    W, c, b = m.components_, m.intercept_hidden_, m.intercept_visible_
    pre = V1 @ W.T + c
    want_t = expit(pre) if hidden_units == "bernoulli" else pre
    np.testing.assert_allclose(m.transform(X), want_t, rtol=1e-12, atol=1e-12)
    lm = (np.logaddexp(0, pre) if hidden_units == "bernoulli"
          else 0.5 * pre**2 + 0.5 * np.log(2 * np.pi))
    np.testing.assert_allclose(m.free_energy(X), -V1 @ b - lm.sum(axis=1),
                               rtol=1e-12, atol=1e-12)
    # the initial visible biases: log frequencies of the dense column means
    fresh = CategoricalRBM(n_components=6, n_iter=0, random_state=0).fit(X)
    want_b = fresh._visible_units.init_bias(V1.mean(axis=0), "log_frequencies", len(X))
    np.testing.assert_array_equal(fresh.intercept_visible_, want_b)
    # reconstruction error and imputation, computed in row blocks
    r = m._visible_units.mean(m.transform(X) @ W + b, None)
    obs = codes >= 0
    mask = np.repeat(obs, np.diff(m.offsets_), axis=1)
    want_r = (((V1 - r) ** 2) * mask).sum(axis=1) / np.maximum(obs.sum(axis=1), 1)
    np.testing.assert_allclose(m.reconstruction_error(X), want_r, rtol=1e-12, atol=1e-12)
    filled = m.impute(X)
    for g in range(4):
        p = r[:, m.offsets_[g]:m.offsets_[g + 1]]
        miss = ~obs[:, g]
        np.testing.assert_array_equal(filled[miss, g],
                                      m.categories_[g][np.argmax(p[miss], axis=1)])
