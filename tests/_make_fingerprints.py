"""Fingerprints of rbmlib's fitted models: the regression gate of issue 26.

Each *case* below is a small fixed fit of a public estimator (a few epochs on
150 rows, well under a second once Numba's kernels are compiled). Its
fingerprint is every fitted attribute (public names ending in ``_``, walked
into nested estimators: a DBN's ``rbms_`` and ``scalers_``, a classifier's
``dbn_``, ``coefs_`` and ``intercepts_``, the persistent chains
``h_samples_``, the loss curve, the history without its wall-clock seconds)
and the outputs of its inference methods on fixed inputs (transform, predict,
predict_proba, free energies, seeded Gibbs steps and samples). An array is
recorded by the sha256 of its bytes (with its dtype and shape; the first 32
hex digits are kept) plus its sum; a float by its exact hex form. Every
estimator, nested ones included, also records its constructor parameters
(those with simple values): at the top they are the case's settings and the
defaults, in a nested estimator what its parent derived (seeds, learning
rates). Random states are recorded by their position in the stream.

Run as a script, with the rbmlib to record first on ``sys.path``; for the
recorded commit, from a worktree of it::

    git worktree add --detach ../wt_base 16dbc5e
    cd ../wt_base && PYTHONPATH=$PWD python ../main/tests/_make_fingerprints.py

It writes, under ``tests/data/`` next to this file (the tag is the short
commit of the recorded rbmlib, ``--tag`` to override):

- ``fingerprints_<tag>.json``: per case, the fingerprint entries;
- ``fingerprints_<tag>.npz``: every numeric array of every case
  (``"<case>/<entry>"``), compressed, so that a failing comparison can show
  by how much each array moved and a case listed in ``ALLOWED_CLOSE`` (see
  ``test_fingerprints.py``) can be compared to 1e-6;
- ``pickles_<tag>/``: one pickled fitted model of each public estimator
  (``<name>.pkl``, protocol 4), and in ``expected.json`` the fingerprints
  made by the recording code from the loaded pickle of: the model and its
  outputs on the probe rows ("outputs", whose arrays are also in
  ``expected.npz``), the model after one further ``partial_fit`` on 50 rows
  (a refit for the DBN, which has no partial_fit; "continued"), and the
  model after a full refit ("refit").

``tests/test_fingerprints.py`` imports the cases from this module and re-runs
them with the rbmlib under test.
"""

import argparse
import hashlib
import json
import os
import pickle
import subprocess
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(HERE, "data")
#: Commit of the recorded behaviour (the pre-redesign main of issue 26).
BASE_TAG = "16dbc5e"

#: Dictionary keys left out of the fingerprints: wall-clock measurements.
_WALL_CLOCK_KEYS = frozenset({"seconds", "time", "elapsed"})


# --------------------------------------------------------------------------
# fingerprints
# --------------------------------------------------------------------------

#: Leading hex digits of the sha256 kept (128 bits).
HASH_CHARS = 32


def _array_hash(a):
    h = hashlib.sha256()
    h.update(a.dtype.str.encode())
    h.update(repr(tuple(a.shape)).encode())
    if a.dtype == object:
        h.update(json.dumps(a.tolist(), default=repr).encode())
    else:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:HASH_CHARS]


def _array_entry(a, name, arrays):
    a = np.asarray(a)
    entry = {"kind": "array", "dtype": a.dtype.str, "shape": list(a.shape),
             "sha256": _array_hash(a)}
    if a.dtype.kind in "biuf":
        entry["sum"] = float(np.sum(a, dtype=np.float64))
        arrays[name] = a
    return entry


def _is_number(x):
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(
        x, (bool, np.bool_))


def _walk(obj, name, out, arrays):
    """Record ``obj`` under ``name`` in ``out`` (entries) and ``arrays``."""
    if isinstance(obj, BaseEstimator):
        params = obj.get_params(deep=False)
        out[f"{name}.params"] = {"kind": "params", "value": {
            key: value.item() if isinstance(value, np.generic) else value
            for key, value in sorted(params.items())
            if value is None or isinstance(value, (bool, str, int, float, np.generic))}}
        for key in sorted(vars(obj)):
            if key.endswith("_") and not key.startswith("_"):
                _walk(getattr(obj, key), f"{name}.{key}", out, arrays)
    elif isinstance(obj, np.random.RandomState):  # its position in the stream
        _, key, pos, has_gauss, cached = obj.get_state()
        out[name] = {"kind": "value", "value": "RandomState"}
        out[f"{name}.key"] = _array_entry(key, f"{name}.key", {})  # hash only: no values kept
        _walk([pos, has_gauss, cached], f"{name}.state", out, arrays)
    elif isinstance(obj, np.random.Generator):
        out[name] = {"kind": "value", "value": "Generator"}
        _walk(obj.bit_generator.state, f"{name}.state", out, arrays)
    elif sp.issparse(obj):
        csr = sp.csr_matrix(obj)
        out[name] = {"kind": "sparse", "shape": list(csr.shape)}
        for part in ("data", "indices", "indptr"):
            out[f"{name}.{part}"] = _array_entry(getattr(csr, part), f"{name}.{part}", arrays)
    elif isinstance(obj, np.ndarray):
        out[name] = _array_entry(obj, name, arrays)
    elif isinstance(obj, (bool, np.bool_)):
        out[name] = {"kind": "value", "value": bool(obj)}
    elif isinstance(obj, (int, np.integer)):
        out[name] = {"kind": "value", "value": int(obj)}
    elif isinstance(obj, (float, np.floating)):
        out[name] = {"kind": "float", "hex": float(obj).hex(), "value": float(obj)}
    elif obj is None or isinstance(obj, str):
        out[name] = {"kind": "value", "value": obj}
    elif isinstance(obj, (list, tuple)):
        if obj and all(_is_number(x) for x in obj):
            out[name] = _array_entry(np.asarray(obj), name, arrays)
        else:
            out[name] = {"kind": "value", "value": f"{type(obj).__name__} of {len(obj)}"}
            for i, item in enumerate(obj):
                _walk(item, f"{name}[{i}]", out, arrays)
    elif isinstance(obj, dict):
        out[name] = {"kind": "value", "value": f"dict of {len(obj)}"}
        for key in sorted(obj, key=str):
            if key not in _WALL_CLOCK_KEYS:
                _walk(obj[key], f"{name}.{key}", out, arrays)
    else:
        out[name] = {"kind": "type", "type": f"{type(obj).__module__}.{type(obj).__qualname__}"}


def fingerprint(est, outputs):
    """Entries and numeric arrays of a fitted estimator and its outputs."""
    entries, arrays = {}, {}
    _walk(est, "est", entries, arrays)
    for key in outputs:
        _walk(outputs[key], f"out.{key}", entries, arrays)
    return entries, arrays


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _try(est, method, *args, **kwargs):
    """``est.method(*args)``, or the name of the exception it raised (also behaviour)."""
    try:
        return _quiet(getattr(est, method), *args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - recorded, compared by name
        return f"raised {type(exc).__name__}"


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------

N_TRAIN = 150
#: Probe rows (inputs of transform, predict, ...): the N_PROBE rows after the training rows.
N_PROBE = 8


def _digits():
    d = load_digits()
    return d.data[:N_TRAIN + N_PROBE] / 16.0, d.target[:N_TRAIN + N_PROBE]


_CACHE = {}


def data(name):
    """Named fixed data sets: (X_train, y_train, X_probe)."""
    if name in _CACHE:
        return _CACHE[name]
    if name == "digits":  # [0, 1] pixels, 64 features, 10 classes
        X, y = _digits()
        out = X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:]
    elif name == "digits32":
        X, y, Xp = data("digits")
        out = X.astype(np.float32), y, Xp.astype(np.float32)
    elif name == "digits_csr":  # binarised pixels, CSR
        X, y, Xp = data("digits")
        out = (sp.csr_matrix((X > 0.5).astype(np.float64)), y,
               sp.csr_matrix((Xp > 0.5).astype(np.float64)))
    elif name == "digits_csr32":
        X, y, Xp = data("digits_csr")
        out = X.astype(np.float32), y, Xp.astype(np.float32)
    elif name == "std":  # standardised, 12 features, 3 classes
        X, y = make_classification(n_samples=N_TRAIN + N_PROBE, n_features=12, n_informative=6,
                                   n_classes=3, random_state=0)
        X = StandardScaler().fit(X[:N_TRAIN]).transform(X)
        out = X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:]
    elif name == "regression":  # standardised inputs, one target
        X, y = make_regression(n_samples=N_TRAIN + N_PROBE, n_features=10, n_informative=5,
                               noise=5.0, random_state=0)
        X = StandardScaler().fit(X[:N_TRAIN]).transform(X)
        out = X[:N_TRAIN], y[:N_TRAIN] / 100.0, X[N_TRAIN:]
    elif name == "regression2":  # two targets
        X, y = make_regression(n_samples=N_TRAIN + N_PROBE, n_features=10, n_informative=5,
                               n_targets=2, noise=5.0, random_state=1)
        X = StandardScaler().fit(X[:N_TRAIN]).transform(X)
        out = X[:N_TRAIN], y[:N_TRAIN] / 100.0, X[N_TRAIN:]
    elif name == "categories":  # 6 integer columns of 2-4 categories
        rng = np.random.RandomState(0)
        X = np.column_stack([rng.randint(0, k, N_TRAIN + N_PROBE) for k in (2, 3, 4, 4, 3, 2)])
        X[:, 1] = np.where(X[:, 0] == 1, X[:, 1], 0)  # some structure
        y = (X[:, 0] + X[:, 2]) % 2
        out = X[:N_TRAIN], y[:N_TRAIN], X[N_TRAIN:]
    elif name == "frame":  # pandas: strings with missing values, integers, floats
        import pandas as pd
        X, y, Xp = data("categories")
        Xa = np.vstack([X, Xp])
        colour = np.array(["red", "green", "blue", "grey"], dtype=object)[Xa[:, 2]]
        colour[::17] = None
        df = pd.DataFrame({"colour": colour, "n": Xa[:, 1], "size": Xa[:, 3].astype(float),
                           "flag": np.array(["no", "yes"], dtype=object)[Xa[:, 5]]})
        probe = df.iloc[N_TRAIN:].copy()
        probe.iloc[0, 0] = "purple"  # unseen category (handle_unknown="ignore")
        out = df.iloc[:N_TRAIN].reset_index(drop=True), y, probe.reset_index(drop=True)
    else:
        raise KeyError(name)
    _CACHE[name] = out
    return out


# --------------------------------------------------------------------------
# outputs of each family on fixed inputs
# --------------------------------------------------------------------------

def rbm_outputs(est, Xp, loglik=True):
    out = {
        "transform": _try(est, "transform", Xp),
        "score_samples": _try(est, "score_samples", Xp),
        "free_energy": _try(est, "free_energy", Xp),
        "reconstruction_error": _try(est, "reconstruction_error", Xp),
    }
    if loglik:
        # exact log Z on these small models; AIS (seeded) for Gaussian hidden units
        out["log_likelihood"] = _try(est, "log_likelihood", Xp, random_state=0, n_runs=10)
    out["gibbs"] = _try(est, "gibbs", Xp)  # the estimator's random stream
    return out


def categorical_outputs(est, Xp, loglik=True):
    out = rbm_outputs(est, Xp, loglik)
    out["predict_proba_visible"] = _try(est, "predict_proba_visible", Xp)
    out["inverse_transform"] = _try(est, "inverse_transform", _try(est, "transform", Xp))
    out["impute"] = _try(est, "impute", Xp)
    return out


def dbn_outputs(est, Xp):
    return {"transform": _try(est, "transform", Xp),
            "sample": _try(est, "sample", n_samples=3, n_gibbs=5, random_state=0)}


def classifier_outputs(est, Xp):
    return {"predict_proba": _try(est, "predict_proba", Xp), "predict": _try(est, "predict", Xp),
            "hidden_activations_0": _try(est, "hidden_activations", Xp, layer=0)}


def regressor_outputs(est, Xp):
    return {"predict": _try(est, "predict", Xp),
            "hidden_activations": _try(est, "hidden_activations", Xp)}


def autoencoder_outputs(est, Xp):
    code = _try(est, "transform", Xp)
    return {"transform": code, "reconstruct": _try(est, "reconstruct", Xp),
            "inverse_transform": _try(est, "inverse_transform", code)}


# --------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------

def _rbm_case(cls_name, data_name, outputs=rbm_outputs, partial=0, loglik=True, **params):
    """An RBM fitted on ``data_name`` (``partial`` > 0: that many partial_fit calls)."""
    def run():
        import rbmlib
        X, _, Xp = data(data_name)
        est = getattr(rbmlib, cls_name)(**{"n_components": 8, "n_iter": 3, "random_state": 0,
                                           **params})
        if partial:
            for i in range(partial):
                rows = slice(i * 60, i * 60 + 60)
                _quiet(est.partial_fit, X[rows] if not hasattr(X, "iloc") else X.iloc[rows])
        else:
            _quiet(est.fit, X)
        return est, outputs(est, Xp, loglik)
    return run


def _dbn_case(data_name, **params):
    def run():
        from rbmlib import DBN
        X, _, Xp = data(data_name)
        est = DBN(**{"hidden_layer_sizes": (12, 6), "n_iter": 2, "random_state": 0, **params})
        _quiet(est.fit, X)
        return est, dbn_outputs(est, Xp)
    return run


def _net_case(cls_name, data_name, outputs, y_fn=None, partial=0, refit=None, **params):
    """A DBNClassifier/DBNRegressor fit; ``partial`` partial_fit calls instead;
    ``refit``: parameters set before a second fit (warm start)."""
    def run():
        import rbmlib
        X, y, Xp = data(data_name)
        if y_fn is not None:
            y = y_fn(y)
        est = getattr(rbmlib, cls_name)(**{"hidden_layer_sizes": (12, 6), "n_iter_pretrain": 2,
                                           "max_iter": 4, "random_state": 0, **params})
        if partial:
            kw = {"classes": np.unique(y)} if cls_name == "DBNClassifier" else {}
            for i in range(partial):
                rows = slice(i * 75, i * 75 + 75)
                _quiet(est.partial_fit, X[rows], y[rows], **kw)
        else:
            _quiet(est.fit, X, y)
        if refit is not None:
            est.set_params(**refit)
            _quiet(est.fit, X, y)
        return est, outputs(est, Xp)
    return run


def _fit_with_weights(cls_name, data_name, outputs, **params):
    def run():
        import rbmlib
        X, y, Xp = data(data_name)
        w = np.linspace(0.5, 1.5, len(y))
        est = getattr(rbmlib, cls_name)(**{"hidden_layer_sizes": (12, 6), "n_iter_pretrain": 2,
                                           "max_iter": 4, "random_state": 0, **params})
        _quiet(est.fit, X, y, sample_weight=w)
        return est, outputs(est, Xp)
    return run


def _semi_labels(y):
    y = y.copy()
    y[np.arange(len(y)) % 3 != 0] = -1  # two thirds unlabelled
    return y


def _ae_case(data_name, partial=0, **params):
    def run():
        from rbmlib import DBNAutoencoder
        X, _, Xp = data(data_name)
        est = DBNAutoencoder(**{"hidden_layer_sizes": (12,), "n_components": 2,
                                "n_iter_pretrain": 2, "max_iter": 4, "random_state": 0, **params})
        if partial:
            for i in range(partial):
                _quiet(est.partial_fit, X[i * 75:i * 75 + 75])
        else:
            _quiet(est.fit, X)
        return est, autoencoder_outputs(est, Xp)
    return run


CASES = {
    # BernoulliRBM: input kinds, samplers, hidden units, optimisers, penalties
    "rbm_dense64": _rbm_case("BernoulliRBM", "digits"),  # PCD (persistent=True), sgd
    "rbm_dense32": _rbm_case("BernoulliRBM", "digits32"),
    "rbm_csr": _rbm_case("BernoulliRBM", "digits_csr"),
    "rbm_csr32": _rbm_case("BernoulliRBM", "digits_csr32", loglik=False),
    "rbm_cd1": _rbm_case("BernoulliRBM", "digits", persistent=False),
    "rbm_cd2": _rbm_case("BernoulliRBM", "digits", persistent=False, k=2),
    "rbm_pcd_k2_njobs2": _rbm_case("BernoulliRBM", "digits", k=2, batch_size=50, n_jobs=2),
    "rbm_nrelu": _rbm_case("BernoulliRBM", "digits", hidden_units="nrelu", learning_rate=0.01),
    "rbm_gaussian_hidden": _rbm_case("BernoulliRBM", "digits", hidden_units="gaussian",
                                     learning_rate=0.01),
    "rbm_momentum": _rbm_case("BernoulliRBM", "digits", momentum=0.5),
    "rbm_adagrad": _rbm_case("BernoulliRBM", "digits", optimizer="adagrad", learning_rate=0.05),
    "rbm_rmsprop": _rbm_case("BernoulliRBM", "digits", optimizer="rmsprop", learning_rate=0.01,
                             rho=0.8),
    "rbm_adam": _rbm_case("BernoulliRBM", "digits", optimizer="adam", learning_rate=0.01),
    "rbm_penalties": _rbm_case("BernoulliRBM", "digits", weight_decay=1e-3, sparsity_cost=0.1,
                               sparsity_target=0.2, alpha_l1=1e-3),
    "rbm_options": _rbm_case("BernoulliRBM", "digits", sample_visible=False,
                             visible_bias_init="log_odds", shuffle=False, batch_size=7),
    "rbm_early_stopping": _rbm_case("BernoulliRBM", "digits", validation_fraction=0.2,
                                    early_stopping=True, n_iter=6, n_iter_no_change=2),
    "rbm_partial_fit": _rbm_case("BernoulliRBM", "digits", partial=2, optimizer="adam",
                                 learning_rate=0.01),
    "rbm_partial_fit_momentum": _rbm_case("BernoulliRBM", "digits_csr", partial=2, momentum=0.9),
    # GaussianBernoulliRBM
    "grbm": _rbm_case("GaussianBernoulliRBM", "std"),
    "grbm_cd_momentum": _rbm_case("GaussianBernoulliRBM", "std", persistent=False, momentum=0.5,
                                  weight_decay=1e-3),
    "grbm_learn_sigma": _rbm_case("GaussianBernoulliRBM", "std", learn_sigma=True,
                                  persistent=False, k=2),
    "grbm_learn_sigma_adam": _rbm_case("GaussianBernoulliRBM", "std", learn_sigma=True,
                                       optimizer="adam", partial=2),
    "grbm_nrelu": _rbm_case("GaussianBernoulliRBM", "std", hidden_units="nrelu",
                            optimizer="rmsprop", learning_rate=0.001),
    # CategoricalRBM
    "cat_array": _rbm_case("CategoricalRBM", "categories", outputs=categorical_outputs),
    "cat_pcd_adagrad": _rbm_case("CategoricalRBM", "categories", outputs=categorical_outputs,
                                 persistent=True, optimizer="adagrad", k=2, sparsity_cost=0.1),
    "cat_momentum_sparsity": _rbm_case("CategoricalRBM", "categories",
                                       outputs=categorical_outputs, partial=2, momentum=0.5,
                                       sparsity_cost=0.1, sparsity_target=0.2),
    "cat_frame": _rbm_case("CategoricalRBM", "frame", outputs=categorical_outputs,
                           handle_unknown="ignore"),
    "cat_frame_partial_fit": _rbm_case("CategoricalRBM", "frame", outputs=categorical_outputs,
                                       handle_unknown="ignore", partial=2, optimizer="adam",
                                       learning_rate=0.01),
    # DBN stacks
    "dbn_unit_interval": _dbn_case("digits"),  # first_layer auto -> bernoulli
    "dbn_standardised": _dbn_case("std"),  # first_layer auto -> gaussian
    "dbn_nrelu_scalers": _dbn_case("digits", hidden_units=["nrelu", "bernoulli"],
                                   learning_rate=0.01),
    "dbn_csr_blocks": _dbn_case("digits_csr", block_size=50, persistent=False, k=2),
    "dbn_categorical": _dbn_case("categories", first_layer="categorical"),
    "dbn_rbm_params": _dbn_case("digits", rbm_params={"optimizer": "adam", "momentum": 0.0},
                                learning_rate=0.01, sparsity_cost=0.05, sample_visible=True),
    # DBNClassifier
    "clf_default": _net_case("DBNClassifier", "digits", classifier_outputs),
    "clf_sgd_nesterov": _net_case("DBNClassifier", "digits", classifier_outputs, solver="sgd",
                                  learning_rate_init=0.05),
    "clf_sgd_momentum_invscaling": _net_case("DBNClassifier", "digits", classifier_outputs,
                                             solver="sgd", nesterovs_momentum=False,
                                             learning_rate="invscaling", learning_rate_init=0.05),
    "clf_adagrad_cosine": _net_case("DBNClassifier", "digits", classifier_outputs,
                                    solver="adagrad", learning_rate="cosine",
                                    learning_rate_init=0.05),
    "clf_rmsprop_adaptive": _net_case("DBNClassifier", "digits", classifier_outputs,
                                      solver="rmsprop", learning_rate="adaptive",
                                      learning_rate_init=0.01),
    "clf_dropout_early_stopping": _net_case("DBNClassifier", "digits", classifier_outputs,
                                            dropout=0.2, input_dropout=0.1, early_stopping=True,
                                            max_iter=8, n_iter_no_change=2, alpha_l1=1e-4),
    "clf_standardised_relu": _net_case("DBNClassifier", "std", classifier_outputs,
                                       hidden_units="nrelu", activation="relu",
                                       learning_rate_pretrain=0.01),
    "clf_no_pretraining_binary": _net_case("DBNClassifier", "std", classifier_outputs,
                                           n_iter_pretrain=0,
                                           y_fn=lambda y: np.where(y == 1, "yes", "no")),
    "clf_semi_supervised": _net_case("DBNClassifier", "digits", classifier_outputs,
                                     y_fn=_semi_labels, unlabeled_label=-1),
    "clf_partial_fit": _net_case("DBNClassifier", "digits", classifier_outputs, partial=2),
    "clf_warm_start": _net_case("DBNClassifier", "digits", classifier_outputs,
                                refit={"warm_start": True, "max_iter": 2}),
    "clf_sample_weight": _fit_with_weights("DBNClassifier", "digits", classifier_outputs),
    # DBNRegressor
    "reg_default": _net_case("DBNRegressor", "regression", regressor_outputs),
    "reg_two_targets_sgd": _net_case("DBNRegressor", "regression2", regressor_outputs,
                                     solver="sgd", learning_rate_init=0.01, alpha=1e-3),
    "reg_partial_fit": _net_case("DBNRegressor", "regression", regressor_outputs, partial=2),
    # DBNAutoencoder
    "ae_auto": _ae_case("digits"),  # architecture auto: deep vs PCA on held-out rows
    "ae_deep": _ae_case("digits", architecture="deep", hidden_layer_sizes=(16, 8),
                        n_components=3, solver="sgd", learning_rate_init=0.05),
    "ae_deep_bernoulli_code": _ae_case("std", architecture="deep", code_units="bernoulli",
                                       visible_units="gaussian"),
    "ae_pca": _ae_case("digits", architecture="pca"),
    "ae_partial_fit": _ae_case("digits", partial=2, architecture="deep"),
}


def run_case(name):
    """(entries, arrays) of case ``name`` run with the importable rbmlib."""
    est, outputs = CASES[name]()
    return fingerprint(est, outputs)


# --------------------------------------------------------------------------
# pickles
# --------------------------------------------------------------------------

def _pickle_factory(cls_name, **params):
    def make():
        import rbmlib
        return getattr(rbmlib, cls_name)(**{"random_state": 0, **params})
    return make


#: name -> (data set, outputs function, unfitted model). Small models: the
#: pickles are kept in the repository.
PICKLES = {
    "BernoulliRBM": ("digits", rbm_outputs,
                     _pickle_factory("BernoulliRBM", n_components=8, n_iter=2, optimizer="adam",
                                     learning_rate=0.01)),
    "GaussianBernoulliRBM": ("std", rbm_outputs,
                             _pickle_factory("GaussianBernoulliRBM", n_components=8, n_iter=2,
                                             learn_sigma=True)),
    "CategoricalRBM": ("categories", categorical_outputs,
                       _pickle_factory("CategoricalRBM", n_components=8, n_iter=2,
                                       momentum=0.5)),
    "DBN": ("digits", dbn_outputs, _pickle_factory("DBN", hidden_layer_sizes=(12, 6), n_iter=2)),
    "DBNClassifier": ("digits", classifier_outputs,
                      _pickle_factory("DBNClassifier", hidden_layer_sizes=(12, 6),
                                      n_iter_pretrain=2, max_iter=3)),
    "DBNRegressor": ("regression", regressor_outputs,
                     _pickle_factory("DBNRegressor", hidden_layer_sizes=(12, 6),
                                     n_iter_pretrain=2, max_iter=3)),
    "DBNAutoencoder": ("digits", autoencoder_outputs,
                       _pickle_factory("DBNAutoencoder", hidden_layer_sizes=(12,),
                                       n_components=2, architecture="deep", n_iter_pretrain=2,
                                       max_iter=3)),
}
_SUPERVISED = ("DBNClassifier", "DBNRegressor")


def _fit_args(name):
    X, y, _ = data(PICKLES[name][0])
    return (X, y) if name in _SUPERVISED else (X,)


def pickle_fit(name):
    """The fitted model that is pickled."""
    est = PICKLES[name][2]()
    _quiet(est.fit, *_fit_args(name))
    return est


def pickle_outputs(name, est):
    """Fingerprint of a (loaded) model and its outputs on the probe rows."""
    data_name, outputs_fn, _ = PICKLES[name]
    return fingerprint(est, outputs_fn(est, data(data_name)[2]))


def pickle_continue(name, est):
    """One more partial_fit on 50 rows (the DBN, which has none: a refit on them)."""
    args = [a[:50] for a in _fit_args(name)]
    if name == "DBN":
        _quiet(est.fit, *args)
    else:
        _quiet(est.partial_fit, *args)
    return fingerprint(est, {})


def pickle_refit(name, est):
    """A full fit of a (loaded) model: the same as a fresh model's fit."""
    _quiet(est.fit, *_fit_args(name))
    return fingerprint(est, {})


#: What is recorded for each pickle, each starting from the loaded model.
PICKLE_CHECKS = {"outputs": pickle_outputs, "continued": pickle_continue, "refit": pickle_refit}


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------

def _git_tag():
    import rbmlib
    repo = os.path.dirname(os.path.dirname(os.path.abspath(rbmlib.__file__)))
    return subprocess.run(["git", "-C", repo, "rev-parse", "--short=7", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()


def _write_json(path, meta, groups):
    """``{"meta": ..., group: {case: {entry: {...}}}}``, one line per entry."""
    dump = json.dumps
    lines = ['{"meta": ' + dump(meta, sort_keys=True)]
    for group, cases in groups.items():
        lines.append(f", {dump(group)}: {{")
        for i, (case, entries) in enumerate(cases.items()):
            lines.append(("" if i == 0 else ", ") + f"{dump(case)}: {{")
            lines.append("\n, ".join(f"{dump(k)}: {dump(v, sort_keys=True)}"
                                     for k, v in sorted(entries.items())))
            lines.append("}")
        lines.append("}")
    lines.append("}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tag", help="suffix of the files (default: rbmlib's git commit)")
    parser.add_argument("--out", default=DATA_DIR, help="directory (default: tests/data)")
    args = parser.parse_args(argv)
    import numba
    import scipy
    import sklearn

    import rbmlib
    tag = args.tag or _git_tag()
    os.makedirs(args.out, exist_ok=True)
    print(f"rbmlib from {rbmlib.__file__}, tag {tag}")
    meta = {"rbmlib_commit": tag, "numpy": np.__version__, "scipy": scipy.__version__,
            "sklearn": sklearn.__version__, "numba": numba.__version__,
            "python": sys.version.split()[0]}

    cases, all_arrays = {}, {}
    for name in CASES:
        t0 = time.perf_counter()
        entries, arrays = run_case(name)
        cases[name] = entries
        all_arrays.update({f"{name}/{k}": a for k, a in arrays.items()})
        print(f"  {name:32s} {len(entries):4d} entries  {time.perf_counter() - t0:6.2f} s")
    _write_json(os.path.join(args.out, f"fingerprints_{tag}.json"), meta, {"cases": cases})
    np.savez_compressed(os.path.join(args.out, f"fingerprints_{tag}.npz"), **all_arrays)

    pdir = os.path.join(args.out, f"pickles_{tag}")
    os.makedirs(pdir, exist_ok=True)
    expected, expected_arrays = {kind: {} for kind in PICKLE_CHECKS}, {}
    for name in PICKLES:
        path = os.path.join(pdir, f"{name}.pkl")
        with open(path, "wb") as f:
            pickle.dump(pickle_fit(name), f, protocol=4)
        for kind, check in PICKLE_CHECKS.items():
            with open(path, "rb") as f:
                est = pickle.load(f)
            entries, arrays = check(name, est)
            expected[kind][name] = entries
            if kind == "outputs":  # the others: hashes and sums only (repository size)
                expected_arrays.update({f"{name}/{k}": a for k, a in arrays.items()})
    _write_json(os.path.join(pdir, "expected.json"), meta, expected)
    np.savez_compressed(os.path.join(pdir, "expected.npz"), **expected_arrays)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
