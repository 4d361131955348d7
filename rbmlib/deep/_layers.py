"""The layers of a DBN: the bottom layer's units (``first_layer``), the RBM class and
default CD rate of each layer, layer sizes, the scalers of real-valued layers and the
affine maps that carry a DBN's weights into a network.

What depends on a unit type is read from the unit table (:mod:`rbmlib.units`): the
visible units above a hidden layer (``HiddenUnits.visible_above``), its default CD
rate (``default_learning_rate``), its fine-tuning activation, and the RBM class of a
visible unit type (``rbmlib.rbm._base.RBM_CLASSES``, filled by the RBM classes).
"""

import math
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import (
    validate_data,
)

from ..mlp import (
    canonical_csr,
)
from ..rbm._base import RBM_CLASSES
from ..rbm._common import in_unit_interval, value_range
from ..rbm.bernoulli import BernoulliRBM
from ..rbm.categorical import CategoricalRBM
from ..rbm.gaussian import GaussianBernoulliRBM
from ..units import HIDDEN_UNITS, VISIBLE_UNITS

#: Values of ``first_layer``: "auto" (chosen from the data, see _auto_first_layer)
#: or a visible unit type that has an RBM class.
_FIRST_LAYERS = ("auto", *RBM_CLASSES)

#: With ``n_iter="auto"`` each layer gets at least this many CD updates (and at
#: least ``_AUTO_MIN_EPOCHS`` epochs): 10 epochs of 10-row batches move the
#: weights of a layer trained on MNIST's 60,000 rows (60,000 updates) but
#: hardly at all on iris' 150 rows (150 updates), whose hidden units then stay
#: near their initial, almost constant probabilities.
_AUTO_MIN_UPDATES = 1000
_AUTO_MIN_EPOCHS = 10
#: A pretrained layer none of whose hidden probabilities has a standard
#: deviation of at least this over the rows is "flat" (see _n_informative_layers).
_FLAT_STD = 0.01
#: Smallest standard deviation a real-valued feature is divided by when it is
#: standardised for the Gaussian visible units above it (``DBN.scalers_``):
#: one that varies less is "flat" in the sense of ``_FLAT_STD``.
_MIN_SCALE = _FLAT_STD


#: ``batch_size="auto"`` of fine-tuning: scikit-learn's MLP takes min(200, n), one
#: update per epoch on a 200-row table, where a pretrained network barely moves in
#: 200 epochs (MASS::fgl, 214 rows, 5-fold: accuracy 0.607 in batches of 171 rows,
#: 0.650 in batches of 32); on larger tables smaller batches overfit (AER::CPS1985,
#: 534 rows: R^2 0.29 in batches of 200, 0.26 in batches of 54). So tables of up to
#: ``_AUTO_SMALL`` labelled rows get batches of ``_AUTO_SMALL_BATCH`` rows (in the
#: classifier: DBNRegressor keeps scikit-learn's; on CPS1985's 356-row training folds
#: the small batches and step gave R^2 0.07 against the MLP's 0.30).
_AUTO_SMALL = 400
_AUTO_SMALL_BATCH = 32
#: ``learning_rate_init="auto"``: scikit-learn's 1e-3, and 3e-3 up to ``_AUTO_SMALL``
#: labelled rows, where 200 epochs at 1e-3 leave the 256-256 network short of the
#: MLP's accuracy (MASS::fgl, StandardScaler, 5-fold x 3 seeds: 0.645 at 1e-3, 0.723 at
#: 3e-3, MLPClassifier 0.709); above it 3e-3 overfits (AER::CPS1985 R^2 0.271 -> 0.225).
_AUTO_LEARNING_RATE = 1e-3
_AUTO_SMALL_LEARNING_RATE = 3e-3


def _auto_epochs(n_samples, batch_size):
    """CD epochs of ``n_iter="auto"``: at least 10, and at least 1000 updates."""
    n_batches = max(1, math.ceil(n_samples / max(1, min(batch_size, n_samples))))
    return max(_AUTO_MIN_EPOCHS, math.ceil(_AUTO_MIN_UPDATES / n_batches))


def _validate_fit_X(est, X, y="no_validation", **kw):
    """validate_data for fit, with CSR duplicates summed on a copy."""
    out = validate_data(est, X, y, accept_sparse="csr", dtype=[np.float64, np.float32], **kw)
    if isinstance(out, tuple):
        return (canonical_csr(out[0]),) + tuple(out[1:])
    return canonical_csr(out)


def _layer_visible_units(first_layer, layer, below=None):
    """The visible units (an entry of :data:`rbmlib.units.VISIBLE_UNITS`) of layer ``layer``.

    Layer 0 has ``first_layer``'s. A layer above it has the visible units that
    model the hidden units below it, ``below`` (a name): ``visible_above`` of
    their table entry, Gaussian visible units (on standardised inputs) over
    real-valued hidden units and Bernoulli visible units over probabilities.
    """
    if layer == 0:
        return VISIBLE_UNITS[first_layer]
    return VISIBLE_UNITS[HIDDEN_UNITS[below].visible_above]


def _rbm_class(first_layer, layer, below=None):
    """RBM class of layer ``layer``: the one of its visible units (``_layer_visible_units``)."""
    return RBM_CLASSES[_layer_visible_units(first_layer, layer, below).name]


def _default_learning_rate(first_layer, layer, hidden_units):
    """CD learning rate of layer ``layer`` when ``learning_rate`` is None (None: its RBM
    class's default): the unit table's rate of its hidden units over its visible units
    (``HiddenUnits.default_learning_rate``); ``hidden_units`` names every layer's."""
    visible = _layer_visible_units(first_layer, layer, hidden_units[layer - 1] if layer else None)
    return HIDDEN_UNITS[hidden_units[layer]].default_learning_rate(visible)


def _real_valued_hidden(name):
    """Whether ``name`` names real-valued hidden units (the unit table's ``real_valued``);
    False for a value that names no hidden unit type (not validated yet)."""
    unit = HIDDEN_UNITS.get(name) if isinstance(name, str) else None
    return unit is not None and unit.real_valued


def _categorical_first_layer(first_layer):
    """Whether ``first_layer`` names visible units whose data are categories (the unit
    table's ``takes_categories``: CategoricalRBM's); False for "auto" and for values
    that name no unit type."""
    units = VISIBLE_UNITS.get(first_layer) if isinstance(first_layer, str) else None
    return units is not None and units.takes_categories


def _is_categorical_frame(X):
    """Whether X is a DataFrame none of whose columns is numeric (or boolean)."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns") or not len(X.columns):
        return False
    return all(getattr(d, "kind", "O") not in "biuf" for d in dtypes)


#: ``first_layer="auto"`` on X in [0, 1]: a column more than ``_MEASUREMENT_SHARE`` of
#: whose values lie strictly inside ``_MEASUREMENT_BAND`` is a measurement (a min-max
#: scaled age or income), not binary data or an intensity near 0 or 1, and X then gets
#: Gaussian units on standardised X. The largest share of a column: scikit-learn's
#: digits / 16 0.67 (its pixels have ink or not), MNIST lower; min-max scaled tables
#: 0.89-0.99 (AER::CPS1985 0.89, MASS::birthwt 0.89, MASS::Pima.tr 0.98, iris 0.96). On
#: CPS1985's min-max input Bernoulli units gave R^2 0.205 against the MLP's 0.256
#: (benchmarks/RESULTS.md).
_MEASUREMENT_BAND = (0.1, 0.9)
_MEASUREMENT_SHARE = 0.8


def _interior_counts(X):
    """Per column of X (dense or CSR), how many values lie strictly inside
    ``_MEASUREMENT_BAND`` (a sparse X's implicit zeros do not)."""
    a, b = _MEASUREMENT_BAND
    if sp.issparse(X):
        X = sp.csr_matrix(X)
        inside = (X.data > a) & (X.data < b)
        return np.bincount(X.indices[inside], minlength=X.shape[1])
    X = np.asarray(X)
    return ((X > a) & (X < b)).sum(axis=0)


def _auto_first_layer(X, lo=None, hi=None, interior=None, n_rows=None):
    """The visible units ``first_layer="auto"`` gives the bottom RBM for X.

    "categorical" for a DataFrame with no numeric column. "bernoulli" when
    every value of X lies in [0, 1] and no column looks like a measurement
    (more than ``_MEASUREMENT_SHARE`` of its values strictly inside
    ``_MEASUREMENT_BAND``): binary, one-hot, probabilities or image
    intensities. "gaussian" for any other real-valued X (standardised, raw,
    mixed, or min-max scaled measurements), which the DBN then standardises
    itself (``scalers_[0]``). For a streamed X, ``lo``, ``hi`` (its range),
    ``interior`` (:func:`_interior_counts` summed over the blocks) and
    ``n_rows`` replace X.
    """
    if _is_categorical_frame(X):
        return "categorical"
    if lo is None:
        lo, hi = value_range(X)
    # the range BernoulliRBM's check accepts (an empty X: inf, -inf, inside)
    if not in_unit_interval(lo, hi):
        return "gaussian"
    if interior is None:
        interior, n_rows = _interior_counts(X), X.shape[0]
    if n_rows and np.max(interior, initial=0) > _MEASUREMENT_SHARE * n_rows:
        return "gaussian"
    return "bernoulli"


def _input_scaler(X):
    """StandardScaler of the bottom layer's input (``first_layer="auto"`` on
    real-valued X); without centring for a sparse X, which it keeps sparse."""
    return _floor_scale(StandardScaler(with_mean=not sp.issparse(X)).fit(X))


def _fitted_first_layer(dbn):
    """The visible unit type of a fitted DBN's bottom RBM."""
    kind = type(dbn.rbms_[0])
    return next((name for name, cls in RBM_CLASSES.items() if kind is cls), "bernoulli")


def _floor_scale(scaler):
    """A fitted StandardScaler with its scales raised to at least ``_MIN_SCALE``.

    A hidden unit that hardly varies over the rows (an NReLU unit that is
    almost always off: standard deviations of 1e-6 occur on iris) would have
    its noise blown up to unit variance, and the weights folded into the
    network (``W / std``) to 1e5 and more; at the floor it stays near 0.
    """
    scaler.scale_ = np.maximum(scaler.scale_, _MIN_SCALE)
    return scaler


def _standardised_layer(rbm, layer, first_layer="bernoulli"):
    """Whether layer ``layer`` reads standardised inputs: Gaussian visible units above
    the bottom (over real-valued hidden units, see ``_rbm_class``), or at the bottom
    when ``first_layer="auto"`` chose them for real-valued X."""
    if layer == 0:
        return first_layer == "auto" and isinstance(rbm, GaussianBernoulliRBM)
    return isinstance(rbm, GaussianBernoulliRBM)


def _layer_sizes(hidden_layer_sizes):
    """Validated list of hidden layer sizes (positive ints; bools and floats refused)."""
    hls = hidden_layer_sizes
    if isinstance(hls, (bool, np.bool_)) or (isinstance(hls, np.ndarray) and hls.ndim > 1):
        raise ValueError(
            f"hidden_layer_sizes must be a positive integer or a sequence of positive "
            f"integers; got {hls!r}."
        )
    if isinstance(hls, Integral):
        sizes = [hls]
    elif isinstance(hls, (str, bytes, dict)) or not hasattr(hls, "__iter__"):
        raise ValueError(
            f"hidden_layer_sizes must be a positive integer or a sequence of positive "
            f"integers; got {hls!r}."
        )
    else:
        sizes = list(hls)
    if len(sizes) == 0:
        raise ValueError("hidden_layer_sizes must name at least one hidden layer; got ().")
    for s in sizes:
        if not isinstance(s, Integral) or isinstance(s, (bool, np.bool_)) or s < 1:
            raise ValueError(
                f"hidden_layer_sizes must hold positive integers; got {hls!r} "
                f"(entry {s!r} of type {type(s).__name__})."
            )
    return [int(s) for s in sizes]


def _per_layer(name, value, n_layers):
    """Expand a setting given once, or once per layer, to a list of n_layers values."""
    if isinstance(value, (list, tuple, np.ndarray)):
        values = list(value)
        if len(values) != n_layers:
            raise ValueError(
                f"{name} must be a single value or one value per layer ({n_layers}); got "
                f"{len(values)} values: {value!r}."
            )
        return values
    return [value] * n_layers


def _hidden_unit_names(value, n_layers):
    """``hidden_units`` (one name or one per layer) as a list of n_layers names.

    Raises ValueError naming the parameter for a wrong length or an unknown name.
    """
    names = _per_layer("hidden_units", value, n_layers)
    for l, u in enumerate(names):
        if not isinstance(u, str) or u not in HIDDEN_UNITS:
            raise ValueError(
                f"hidden_units must be one of {list(HIDDEN_UNITS)} or a list of them "
                f"(one per layer); entry {l} is {u!r}."
            )
    return names


def _layer_activation(rbm):
    """Fine-tuning activation matching a fitted RBM's hidden units ("logistic" if unknown)."""
    unit = getattr(rbm, "_hidden_unit", None)
    return unit().activation if unit is not None else "logistic"


def _affine_hidden_map(rbm):
    """(W, c) with ``rbm.transform(X) == f(X @ W + c)``; W is (n_features, n_components).

    ``f`` is the conditional mean of the RBM's hidden units: the logistic
    sigmoid for Bernoulli units, the identity for Gaussian (linear) ones.
    An RBM that provides ``_hidden_affine()`` gives (W, c) itself.

    The visible input of an RBM (``_visible_input``: identity for Bernoulli
    units, ``v / sigma^2`` for Gaussian ones) is an affine map of X; it is
    folded into the weights and hidden biases.
    """
    hidden_affine = getattr(rbm, "_hidden_affine", None)
    if hidden_affine is not None:
        W, c = hidden_affine()
        return np.array(W), np.array(c)
    Wt = rbm.components_.T
    c = rbm.intercept_hidden_
    visible_input = getattr(rbm, "_visible_input", None)
    if visible_input is None or isinstance(rbm, BernoulliRBM):
        return np.array(Wt), np.array(c)
    V = Wt.shape[0]
    dtype = Wt.dtype
    offset = np.asarray(visible_input(np.zeros((1, V), dtype)), dtype=np.float64).ravel()
    scale = np.asarray(visible_input(np.ones((1, V), dtype)), dtype=np.float64).ravel() - offset
    W = (scale[:, None] * Wt).astype(dtype)
    c = (c + offset @ Wt).astype(dtype)
    return W, c


def _categorical_dbn(dbn):
    """Whether a DBN (fitted or not) has a categorical bottom layer."""
    if hasattr(dbn, "rbms_"):
        return isinstance(dbn.rbms_[0], CategoricalRBM)
    return _categorical_first_layer(getattr(dbn, "first_layer", None))


def _dbn_affine_maps(dbn, n_layers=None):
    """``dbn._hidden_affine_maps(n_layers)``; per RBM for a DBN without that method."""
    maps = getattr(dbn, "_hidden_affine_maps", None)
    if maps is not None:
        return maps(n_layers)
    return [_affine_hidden_map(rbm) for rbm in dbn.rbms_[:n_layers]]
