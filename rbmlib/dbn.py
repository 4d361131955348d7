"""Deep Belief Networks: greedy layer-wise pretraining and backprop fine-tuning.

:class:`DBN` stacks RBMs trained greedily, each on the hidden conditional
means of the one below (standardised above real-valued hidden units), the
bottom one with Bernoulli, Gaussian or categorical visible units (Hinton,
Osindero and Teh 2006; Bengio et al. 2007). It is
a transformer (the top layer's hidden probabilities) and a generative model
(:meth:`DBN.sample`).

:class:`DBNClassifier` and :class:`DBNRegressor` pretrain a DBN on all rows
of X, carry its weights and hidden biases into a multilayer perceptron with
logistic hidden units and a fresh output layer, and fine-tune the whole
network by back-propagation (:mod:`rbmlib.mlp`). Rows labelled ``-1`` take
part in pretraining only (semi-supervised learning, scikit-learn's
convention for unlabeled samples). ``to_sklearn()`` converts the fitted
network into an equivalent scikit-learn MLP.
"""

import math
import time
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from scipy.special import log_expit, log_softmax
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    ClassNamePrefixFeaturesOutMixin,
    RegressorMixin,
    TransformerMixin,
    _fit_context,
    clone,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.preprocessing import LabelBinarizer, StandardScaler
from sklearn.preprocessing._data import _handle_zeros_in_scale
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, Options, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import (
    _check_sample_weight,
    _check_y,
    _num_features,
    _num_samples,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._blocks import (compute_rows, fit_streaming, is_dask_collection, lazy_method,
                      pretrain_streaming, streaming_source)
from ._parallel import thread_limits
from .mlp import (
    ACTIVATIONS,
    SCHEDULES,
    SOLVERS,
    canonical_csr,
    fit_backprop,
    forward,
    glorot_uniform,
    hidden_kinds,
)
from .categorical_rbm import CategoricalRBM
from .gaussian_rbm import GaussianBernoulliRBM
from . import _fitting
from .rbm import BernoulliRBM, DivergenceError, in_unit_interval, value_range
from .units import HIDDEN_UNITS

__all__ = ["DBN", "DBNClassifier", "DBNRegressor"]

_FIRST_LAYERS = ("auto", "bernoulli", "gaussian", "categorical")
_HIDDEN_UNITS = ("bernoulli", "gaussian", "nrelu")
#: RBM class of the bottom layer, by ``first_layer``.
_FIRST_LAYER_CLASSES = {"bernoulli": BernoulliRBM, "gaussian": GaussianBernoulliRBM,
                        "categorical": CategoricalRBM}
#: Hidden unit types with real (unbounded) values: the layer above them has
#: Gaussian visible units on standardised inputs (see DBN, ``scalers_``).
_REAL_VALUED = ("gaussian", "nrelu")

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
#: CD learning rate of a layer when ``learning_rate`` is None, by (Gaussian visible
#: units?, hidden units), where the RBM class's default does not fit the hidden units:
#: - NReLU over bounded inputs: 0.02. At BernoulliRBM's 0.1 every one of 32 NReLU units
#:   died on 600 digits (constant 0); MNIST validation error was 7.9% at 0.02 and 60.8%
#:   at 0.05 (benchmarks/RESULTS.md, mnist_nrelu).
#: - linear (Gaussian) units over bounded inputs: 0.01, as DBNAutoencoder's code layer;
#:   0.1 diverged in the first epoch on the digits.
#: - NReLU or linear units over Gaussian visible units: 0.001 (Hinton and Salakhutdinov's
#:   rate for linear units). Neither layer is bounded and persistent chains blew up at
#:   GaussianBernoulliRBM's 0.01 (iris, 3-fold, 32-16 NReLU: 4 of 6 fits diverged; 0 of
#:   18 at 0.003 and at 0.001 on iris, wine and digits).
_DEFAULT_LEARNING_RATES = {
    (False, "nrelu"): 0.02,
    (False, "gaussian"): 0.01,
    (True, "nrelu"): 0.001,
    (True, "gaussian"): 0.001,
}
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


def _restore_on_error(est, saved):
    """Put the estimator's attributes back as they were (a failed fit)."""
    est.__dict__.clear()
    est.__dict__.update(saved)


def _validate_fit_X(est, X, y="no_validation", **kw):
    """validate_data for fit, with CSR duplicates summed on a copy."""
    out = validate_data(est, X, y, accept_sparse="csr", dtype=[np.float64, np.float32], **kw)
    if isinstance(out, tuple):
        return (canonical_csr(out[0]),) + tuple(out[1:])
    return canonical_csr(out)


def _rbm_class(first_layer, layer, below="bernoulli"):
    """RBM class of layer ``layer``.

    Layer 0 takes ``first_layer``'s class. A layer above it has Gaussian
    visible units (:class:`GaussianBernoulliRBM`, on standardised inputs) when
    the hidden units below it, ``below``, are real-valued ("gaussian" or
    "nrelu"), and Bernoulli visible units when they are probabilities.
    """
    if layer == 0:
        return _FIRST_LAYER_CLASSES[first_layer]
    return GaussianBernoulliRBM if below in _REAL_VALUED else BernoulliRBM


def _is_categorical_frame(X):
    """Whether X is a DataFrame none of whose columns is numeric (or boolean)."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns") or not len(X.columns):
        return False
    return all(getattr(d, "kind", "O") not in "biuf" for d in dtypes)


def _auto_first_layer(X, lo=None, hi=None):
    """The visible units ``first_layer="auto"`` gives the bottom RBM for X.

    "categorical" for a DataFrame with no numeric column; "bernoulli" when
    every value of X (a validated array, or the range ``lo``, ``hi`` of a
    streamed one) lies in [0, 1] (min-max scaled, one-hot, binary or
    probabilities); "gaussian" for any other real-valued X (standardised,
    raw or mixed columns), which the DBN then standardises itself
    (``scalers_[0]``).
    """
    if _is_categorical_frame(X):
        return "categorical"
    if lo is None:
        lo, hi = value_range(X)
    # the range BernoulliRBM's check accepts (an empty X: inf, -inf, inside)
    return "bernoulli" if in_unit_interval(lo, hi) else "gaussian"


def _input_scaler(X):
    """StandardScaler of the bottom layer's input (``first_layer="auto"`` on
    real-valued X); without centring for a sparse X, which it keeps sparse."""
    return _floor_scale(StandardScaler(with_mean=not sp.issparse(X)).fit(X))


def _fitted_first_layer(dbn):
    """The visible unit type of a fitted DBN's bottom RBM."""
    kind = type(dbn.rbms_[0])
    return next((name for name, cls in _FIRST_LAYER_CLASSES.items() if kind is cls),
                "bernoulli")


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
        if not isinstance(u, str) or u not in _HIDDEN_UNITS:
            raise ValueError(
                f"hidden_units must be one of {list(_HIDDEN_UNITS)} or a list of them "
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
    return getattr(dbn, "first_layer", None) == "categorical"


def _dbn_affine_maps(dbn, n_layers=None):
    """``dbn._hidden_affine_maps(n_layers)``; per RBM for a DBN without that method."""
    maps = getattr(dbn, "_hidden_affine_maps", None)
    if maps is not None:
        return maps(n_layers)
    return [_affine_hidden_map(rbm) for rbm in dbn.rbms_[:n_layers]]


class DBN(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Deep Belief Network trained by greedy layer-wise pretraining.

    A stack of RBMs: layer 0 is trained on X, layer ``l`` on the hidden
    probabilities of layer ``l - 1`` (Hinton, Osindero and Teh 2006;
    Bengio et al. 2007). Every RBM setting below is given either once, for
    all layers, or as a list with one value per layer.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(256, 256)
        Hidden units of each layer, bottom first.
    first_layer : {"auto", "bernoulli", "gaussian", "categorical"}, default="auto"
        Visible units of the bottom RBM. "auto" decides from the training
        data and records its choice in ``first_layer_``: Bernoulli when every
        value of X lies in [0, 1] (min-max scaled, one-hot, binary or
        probability data), categorical for a DataFrame without a numeric
        column, and Gaussian for any other real-valued X (standardised, raw
        or mixed columns), which the DBN then standardises itself with the
        training rows' means and standard deviations (``scalers_[0]``,
        folded exactly into the fine-tuned networks' weights). The explicit
        choices: :class:`~rbmlib.BernoulliRBM` (X in
        [0, 1]), :class:`~rbmlib.GaussianBernoulliRBM` (real-valued X,
        standardised by the user) or :class:`~rbmlib.CategoricalRBM` (X an integer-coded
        array or a DataFrame of categories, NaN or ``missing_values`` for a
        missing entry; its own settings, such as ``categories``,
        ``missing_values`` and ``handle_unknown``, go in ``rbm_params``).
        A categorical DBN is trained in memory (no ``block_size`` streaming).
        The layers above have Bernoulli visible units over Bernoulli hidden
        units and Gaussian ones over real-valued hidden units (see
        ``hidden_units``).
    hidden_units : {"bernoulli", "gaussian", "nrelu"} or list of them, default="bernoulli"
        Hidden units of each RBM (the ``hidden_units`` parameter of the RBM
        classes), once for all layers or one per layer, bottom first.
        ``transform`` returns the top layer's conditional means (probabilities
        for Bernoulli units, ``max(0, x)`` for NReLU units and ``x`` for
        Gaussian, i.e. linear, units, with ``x = c + W v``). The layer above a
        "gaussian" or "nrelu" layer is a :class:`~rbmlib.GaussianBernoulliRBM`
        (unit ``sigma``) trained on the features below standardised to zero
        mean and unit variance (means and standard deviations over the
        training rows, kept in ``scalers_``; deviations below 0.01 count as
        0.01), as real-valued features of small, unequal spread need; the feed-forward networks of
        :class:`DBNClassifier` and :class:`DBNRegressor` take the
        standardisation folded exactly into that layer's weights and biases.
    learning_rate : float or list of float, default=None
        CD learning rate; None (or a None entry) takes, for Bernoulli hidden
        units, the layer class's default (0.1 for BernoulliRBM and
        CategoricalRBM, 0.01 for GaussianBernoulliRBM), and for real-valued
        hidden units a smaller rate: 0.02 for "nrelu" and 0.01 for "gaussian"
        units over Bernoulli or categorical visible units (at 0.1 NReLU units
        die and linear ones diverge), 0.001 for either over Gaussian visible
        units (neither layer is bounded; persistent chains diverged at 0.01).
    batch_size : int or list of int, default=10
        Mini-batch rows of CD.
    n_iter : int, "auto" or list of them, default="auto"
        Epochs of CD per layer (0 keeps a layer at its random
        initialisation). "auto" runs at least 10 epochs and at least 1000
        mini-batch updates: ``max(10, ceil(1000 / n_batches))`` with
        ``n_batches = ceil(n_samples / batch_size)``, so that small data sets
        (150 rows: 84 epochs) still move the weights while large ones (MNIST:
        6000 batches) get 10 epochs.
    k : int or list of int, default=1
        Gibbs steps per CD update.
    persistent : bool or list of bool, default=True
        Persistent CD (Tieleman 2008) instead of CD-k.
    momentum : float or list of float, default=0.0
    weight_decay : float or list of float, default=0.0
    sparsity_target : float or list of float, default=0.1
    sparsity_cost : float or list of float, default=0.0
        As in :class:`~rbmlib.BernoulliRBM`.
    sample_visible : bool or list of bool, default=False
        ``sample_visible`` of the layers with Bernoulli visible units
        (:class:`~rbmlib.BernoulliRBM`; a categorical bottom layer keeps its
        own default, set it in ``rbm_params``): False takes the visible
        probabilities in the negative phase (mean-field, Hinton's practical
        guide sec. 3.2), True samples them (scikit-learn's BernoulliRBM, the
        RBM classes' default). False is the DBN's default because it gave
        better pretrained networks for classification in
        ``benchmarks/bench_defaults_dbn.py`` (digits with 10% of the labels,
        small tables; see benchmarks/RESULTS.md).
    rbm_params : dict or list of dict, default=None
        Further keyword arguments of the RBM class (for example
        ``{"check_range": False}``), once or per layer. A dict given once
        applies to each layer whose class has the setting (so
        ``{"sample_visible": False}`` reaches the Bernoulli and categorical
        layers but not a Gaussian one, which has no such parameter); a key
        that no layer's class has raises TypeError in ``fit``.
    verbose : int, default=0
        Print one line per layer (and the RBMs' own per-epoch lines).
    random_state : int, RandomState instance or None, default=None
        Seeds every layer.
    n_jobs : int, default=None
        Threads for Numba and BLAS. The same ``random_state``, data and
        ``n_jobs`` give bit-identical results; different ``n_jobs`` agree up to
        BLAS rounding, which training can amplify.
    block_size : int, "auto" or None, default="auto"
        Out-of-core pretraining. A ``numpy.memmap`` (or a view of one), a dask
        array or a re-iterable of row blocks (a list of 2-D arrays...) is never
        loaded whole: every epoch of layer ``l`` streams the blocks, in a
        random order with their rows shuffled, through the trained layers
        ``0 .. l-1`` and makes one ``partial_fit`` pass of layer ``l`` over
        each (so a layer's ``n_iter_`` counts blocks x epochs); memory is
        bounded by the block size and the model, whatever the number of rows.
        "auto" (or None) streams only those inputs (a memmap only when it is
        larger than one block, so a small one trains exactly as the same data
        in an ndarray), in a dask array's own
        chunks or blocks of ``2**22 // n_features`` rows (16 MB of float32);
        an integer streams any array in blocks of that many rows, so an
        in-memory ndarray and a memmap of the same data give bit-identical
        models. Other inputs are trained on in memory, layer by layer.

    Attributes
    ----------
    rbms_ : list of RBM
        The fitted layers, bottom first. After an interrupted fit it holds
        the layers trained so far (possibly fewer than
        ``hidden_layer_sizes``; the last one possibly with fewer epochs).
    first_layer_ : {"bernoulli", "gaussian", "categorical"}
        The bottom RBM's visible units (``first_layer`` with "auto" resolved).
    scalers_ : list of (StandardScaler or None)
        One entry per layer of ``rbms_``: the StandardScaler of real-valued X
        below a Gaussian bottom layer chosen by ``first_layer="auto"``, or the
        :class:`~sklearn.preprocessing.StandardScaler` fitted, during the
        greedy pass, on the training rows' features below a layer with
        Gaussian visible units over real-valued hidden units (its input is
        ``scalers_[l].transform(H)``; ``scale_`` is at least 0.01, so that a
        feature that hardly varies is not blown up to unit variance), None
        where the layer reads its input as it is.
    interrupted_ : bool
        True when the fit was stopped by Ctrl-C (KeyboardInterrupt) after at
        least one completed epoch; training then stops at once (no further
        layer is trained), a RuntimeWarning says what was completed, and the
        DBN transforms with ``rbms_``. Interrupted before any epoch
        completed, ``fit`` leaves the DBN as it was and re-raises.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen in fit, when X has string feature names.

    References
    ----------
    Hinton, G. E., Osindero, S. and Teh, Y.-W. (2006). A fast learning
    algorithm for deep belief nets. Neural Computation 18, 1527-1554.

    Bengio, Y., Lamblin, P., Popovici, D. and Larochelle, H. (2007). Greedy
    layer-wise training of deep networks. NIPS 19.

    Salakhutdinov, R., Mnih, A. and Hinton, G. (2007). Restricted Boltzmann
    machines for collaborative filtering. ICML 2007 (categorical visible units).

    Nair, V. and Hinton, G. E. (2010). Rectified linear units improve
    restricted Boltzmann machines. ICML 2010 (NReLU hidden units, and
    Gaussian visible units on real-valued inputs).

    Examples
    --------
    >>> import numpy as np
    >>> from rbmlib import DBN
    >>> X = np.random.RandomState(0).rand(20, 6)
    >>> DBN((4, 3), n_iter=2, random_state=0).fit(X).transform(X).shape
    (20, 3)
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "first_layer": [StrOptions(set(_FIRST_LAYERS))],
        "hidden_units": [StrOptions(set(_HIDDEN_UNITS)), "array-like"],
        "learning_rate": [None, Interval(Real, 0, None, closed="neither"), "array-like"],
        "batch_size": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "n_iter": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"}),
                   "array-like"],
        "k": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "persistent": ["boolean", "array-like"],
        "momentum": [Interval(Real, 0, 1, closed="left"), "array-like"],
        "weight_decay": [Interval(Real, 0, None, closed="left"), "array-like"],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither"), "array-like"],
        "sparsity_cost": [Interval(Real, 0, None, closed="left"), "array-like"],
        "sample_visible": ["boolean", "array-like"],
        "rbm_params": [None, dict, list, tuple],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "n_jobs": [None, Integral],
        "block_size": [None, StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
    }

    _rbm_settings = ("learning_rate", "batch_size", "n_iter", "k", "persistent", "momentum",
                     "weight_decay", "sparsity_target", "sparsity_cost", "sample_visible")

    def __init__(
        self,
        hidden_layer_sizes=(256, 256),
        *,
        first_layer="auto",
        hidden_units="bernoulli",
        learning_rate=None,
        batch_size=10,
        n_iter="auto",
        k=1,
        persistent=True,
        momentum=0.0,
        weight_decay=0.0,
        sparsity_target=0.1,
        sparsity_cost=0.0,
        sample_visible=False,
        rbm_params=None,
        verbose=0,
        random_state=None,
        n_jobs=None,
        block_size="auto",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.first_layer = first_layer
        self.hidden_units = hidden_units
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.k = k
        self.persistent = persistent
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.sparsity_target = sparsity_target
        self.sparsity_cost = sparsity_cost
        self.sample_visible = sample_visible
        self.rbm_params = rbm_params
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.block_size = block_size

    def __setstate__(self, state):
        # a DBN pickled before sample_visible existed trained its Bernoulli layers
        # with the RBMs' default (sampled visible units): keep that on a refit
        state = dict(state)
        state.setdefault("sample_visible", True)
        super().__setstate__(state)

    def _make_rbms(self, rng, n_samples, first_layer=None):
        """The unfitted RBMs, bottom first; ``first_layer`` is the resolved
        visible unit type of the bottom one (``self.first_layer`` by default)."""
        first_layer = self.first_layer if first_layer is None else first_layer
        if first_layer == "auto":  # not resolved from data (a template): the default units
            first_layer = "bernoulli"
        sizes = _layer_sizes(self.hidden_layer_sizes)
        L = len(sizes)
        settings = {name: _per_layer(name, getattr(self, name), L) for name in self._rbm_settings}
        for l, e in enumerate(settings["n_iter"]):
            if isinstance(e, str) and e == "auto":
                settings["n_iter"][l] = _auto_epochs(n_samples, settings["batch_size"][l])
        extra = self.rbm_params
        shared = isinstance(extra, dict)
        if extra is None:
            extra = [{}] * L
        elif shared:
            extra = [extra] * L
        else:
            extra = _per_layer("rbm_params", list(extra), L)
        for l, e in enumerate(extra):
            if not isinstance(e, dict):
                raise ValueError(
                    f"rbm_params must be a dict or one dict per layer; entry {l} is "
                    f"{type(e).__name__}: {e!r}."
                )
        hidden_units = _hidden_unit_names(self.hidden_units, L)
        classes = [_rbm_class(first_layer, l, hidden_units[l - 1] if l else None)
                   for l in range(L)]
        if shared and extra[0]:
            # a dict given once applies to the layers whose class has the setting
            # (e.g. sample_visible, which Gaussian visible units do not have)
            unknown = set(extra[0]).difference(*[c._get_param_names() for c in classes])
            if unknown:
                raise TypeError(
                    f"rbm_params: {sorted(unknown)} is not a parameter of any layer's RBM "
                    f"class ({sorted({c.__name__ for c in classes})}).")
            extra = [{k: v for k, v in extra[0].items() if k in c._get_param_names()}
                     for c in classes]
        seeds = rng.randint(np.iinfo(np.int32).max, size=L)
        rbms = []
        for l, h in enumerate(sizes):
            cls = classes[l]
            kw = {name: settings[name][l] for name in self._rbm_settings
                  if settings[name][l] is not None and name in cls._get_param_names()
                  and (name != "sample_visible" or cls is BernoulliRBM)}
            if settings["learning_rate"][l] is None:
                rate = _DEFAULT_LEARNING_RATES.get(
                    (cls is GaussianBernoulliRBM, hidden_units[l]))
                if rate is not None:
                    kw["learning_rate"] = rate
            if hidden_units[l] != "bernoulli" or "hidden_units" in cls._get_param_names():
                kw["hidden_units"] = hidden_units[l]
            kw.update(extra[l])
            rbms.append(cls(n_components=h, random_state=int(seeds[l]),
                            verbose=max(0, int(self.verbose) - 1), n_jobs=self.n_jobs, **kw))
        # every layer's settings are checked before any layer trains
        for rbm in rbms:
            rbm._validate_params()
        return rbms

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Train the layers greedily, bottom first.

        A fit that raises leaves the DBN exactly as it was. Ctrl-C
        (KeyboardInterrupt) stops all training at once, wherever it lands: the
        layers (and epochs) completed so far are kept, a RuntimeWarning says
        what was completed and ``interrupted_`` is set to True; if no epoch
        of the first layer had completed, the DBN is left as it was and the
        KeyboardInterrupt is re-raised.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data (in [0, 1] for a Bernoulli first layer; categories,
            as integer codes or a DataFrame, for a categorical one). Duplicate
            entries of a CSR matrix are summed (on a copy), as scipy does.
        y : None
            Ignored.

        Returns
        -------
        self : DBN
            The fitted model.

        Raises
        ------
        ValueError
            On bad input (NaN/inf, 1-D, empty, out of range for Bernoulli
            units with ``check_range="raise"``), on a per-layer setting of
            the wrong length, for a categorical X that CategoricalRBM
            refuses, or for ``first_layer="categorical"`` with streamed
            (``block_size``) input. ``DivergenceError`` (a ValueError) if a
            layer diverges.
        TypeError
            If a key of an ``rbm_params`` dict given once is a parameter of
            no layer's RBM class.
        KeyboardInterrupt
            If interrupted before the first epoch of the first layer
            completed.
        """
        saved = dict(self.__dict__)
        try:
            return self._fit(X)
        except BaseException:
            _restore_on_error(self, saved)
            raise

    def _fit(self, X):
        first_layer = self.first_layer
        if first_layer == "auto" and _is_categorical_frame(X):
            first_layer = "categorical"
        categorical = first_layer == "categorical"
        source = streaming_source(X, self.block_size)
        if source is not None:
            if categorical:
                raise ValueError(
                    f"first_layer='categorical' trains in memory (CategoricalRBM finds the "
                    f"categories of the whole training set); got {type(X).__name__} with "
                    f"block_size={self.block_size!r}. Pass an array or DataFrame of "
                    f"categories with block_size='auto' (or None).")
            return self._fit_streaming(source)
        if categorical:
            # CategoricalRBM validates X (codes, categories, missing entries) itself
            n_samples = _num_samples(X)
        else:
            X = _validate_fit_X(self, X)
            n_samples = X.shape[0]
            if first_layer == "auto":
                first_layer = _auto_first_layer(X)
        rng = check_random_state(self.random_state)
        rbms = self._make_rbms(rng, n_samples, first_layer)
        L = len(rbms)
        done, scalers = [], []
        where = None  # description of where Ctrl-C landed
        # verbose: each layer's RBM prints one line per epoch, as the DBN's layer
        progress = _fitting.Pretraining("[DBN]", [rbm.n_iter for rbm in rbms],
                                        [rbm.n_components for rbm in rbms],
                                        enabled=bool(self.verbose))
        if self.verbose:
            print(f"[DBN] Greedy pretraining: {L} layer(s) of "
                  f"{', '.join(map(str, progress.n_components))} hidden units, "
                  f"{' + '.join(map(str, progress.n_iter))} epochs")
        try:
            H = X
            for l, rbm in enumerate(rbms):
                t0 = time.time()
                scaler = None
                if _standardised_layer(rbm, l, self.first_layer):
                    # Gaussian visible units over real-valued X or hidden units: standardise
                    # each feature below with its mean and standard deviation over X
                    scaler = _input_scaler(H)
                    H = scaler.transform(H)
                try:
                    with progress.layer(l, rbm):
                        rbm.fit(H)
                except KeyboardInterrupt:
                    # the RBM re-raises only when none of its epochs completed
                    where = f"in the first epoch of layer {l + 1} of {L}"
                    raise
                done.append(rbm)
                scalers.append(scaler)
                if rbm.interrupted_:
                    where = (f"in layer {l + 1} of {L} after {rbm.n_iter_} of {rbm.n_iter} "
                             f"epochs")
                    break
                if self.verbose:
                    print(f"[DBN] Layer {l + 1}/{L}: {rbm.n_features_in_} -> "
                          f"{rbm.n_components} units ({type(rbm).__name__}"
                          f"{', standardised input' if scaler is not None else ''}), "
                          f"time = {time.time() - t0:.2f}s")
                if l + 1 < L:
                    H = rbm.transform(H)
        except KeyboardInterrupt:
            if not done:
                raise
            if where is None or where.startswith("in the first epoch"):
                where = where or f"after layer {len(done)} of {L}"
        if categorical:
            # the input is the bottom CategoricalRBM's: its columns and names
            self.n_features_in_ = done[0].n_features_in_
            if hasattr(done[0], "feature_names_in_"):
                self.feature_names_in_ = done[0].feature_names_in_
            else:
                self.__dict__.pop("feature_names_in_", None)
        self.first_layer_ = first_layer
        return self._keep_layers(done, where, scalers)

    def _keep_layers(self, done, where, scalers):
        """Install the trained layers; ``where`` says where an interrupt landed (None: none did)."""
        if where is not None:
            warnings.warn(
                f"DBN: pretraining interrupted by the user (KeyboardInterrupt) {where}; "
                f"training stopped and the DBN keeps the {len(done)} layer(s) trained so "
                f"far (interrupted_ = True).", RuntimeWarning)
        self.rbms_ = done
        self.scalers_ = list(scalers[:len(done)])
        self.interrupted_ = where is not None
        return self

    def _fit_streaming(self, source):
        """fit's out-of-core path: greedy pretraining on row blocks (``block_size``)."""
        validate_data(self, source.first_block(), accept_sparse="csr",
                      dtype=[np.float64, np.float32], reset=True)
        n_samples = source.n_rows
        if n_samples is None:  # an iterable of blocks: one pass to count its rows
            n_samples = sum(block.shape[0] for block in source.blocks())
        first_layer = self.first_layer
        if first_layer == "auto":  # one pass over the blocks for the range of X
            ranges = [value_range(block) for block in source.blocks()]
            first_layer = _auto_first_layer(None, min(r[0] for r in ranges),
                                            max(r[1] for r in ranges))
        rng = check_random_state(self.random_state)
        rbms = self._make_rbms(rng, n_samples, first_layer)
        progress = {}
        where = None
        scalers = []
        try:
            if not any(_standardised_layer(rbm, l, self.first_layer)
                       for l, rbm in enumerate(rbms)):
                pretrain_streaming(rbms, source, rng, verbose=self.verbose, progress=progress)
                scalers = [None] * len(rbms)
            else:
                below = []  # the fitted transformers under the layer in training
                for l, rbm in enumerate(rbms):
                    progress.update(layer=l, epochs=0)
                    scaler = None
                    if _standardised_layer(rbm, l, self.first_layer):
                        # the features' means and deviations: one pass over the blocks
                        scaler = StandardScaler()
                        for block in source.blocks():
                            H = block
                            for t in below:
                                H = t.transform(H)
                            scaler.partial_fit(H)
                        below.append(_floor_scale(scaler))
                    scalers.append(scaler)
                    fit_streaming(rbm, source, int(rbm.n_iter), rng, below=list(below),
                                  verbose=self.verbose,
                                  label=f"[DBN] Layer {l + 1}/{len(rbms)}: ",
                                  progress=progress)
                    below.append(rbm)
                progress.update(layer=len(rbms), epochs=0)
            done = rbms
        except KeyboardInterrupt:
            layer, epochs = progress.get("layer", 0), progress.get("epochs", 0)
            done = rbms[:layer + (epochs > 0)]
            if not done:
                raise
            where = (f"in layer {layer + 1} of {len(rbms)} after {epochs} of "
                     f"{rbms[layer].n_iter} epochs" if epochs else
                     f"after layer {layer} of {len(rbms)}")
        self.first_layer_ = first_layer
        return self._keep_layers(done, where, scalers)

    def _scaler(self, l):
        """The standardisation of layer ``l``'s input (a fitted StandardScaler), or None."""
        scalers = getattr(self, "scalers_", None)  # absent in DBNs pickled before it
        return None if scalers is None or l >= len(scalers) else scalers[l]

    def _up_pass(self, X, n_layers=None):
        """Conditional means of layer ``n_layers`` (all: the top) given validated X."""
        H = X
        for l, rbm in enumerate(self.rbms_[:n_layers]):
            scaler = self._scaler(l)
            if scaler is not None:
                H = scaler.transform(H)
            H = rbm.transform(H)
        return H

    def _hidden_affine_maps(self, n_layers=None):
        """The feed-forward layers equal to the stack: a list of ``(W, c)``, bottom first.

        Layer ``l`` computes ``f_l(H @ W + c)`` with ``f_l`` the conditional
        mean of its hidden units, ``W`` of shape (n_in, n_out) in the layer's
        dtype. The visible units' input map (``v / sigma^2`` for Gaussian
        units) and the standardisation of the layer's input (``scalers_``) are
        folded in exactly: with ``m`` and ``s`` the means and standard
        deviations of the features below, ``((h - m) / s) @ A + d`` is
        ``h @ (A / s[:, None]) + (d - (m / s) @ A)``. The bottom layer of a
        categorical DBN reads the one-hot encoding of its CategoricalRBM
        (all zero for a missing entry).
        """
        maps = []
        for l, rbm in enumerate(self.rbms_[:n_layers]):
            W, c = _affine_hidden_map(rbm)
            scaler = self._scaler(l)
            if scaler is not None:
                dtype = W.dtype
                A = W.astype(np.float64)
                m = np.asarray(scaler.mean_, dtype=np.float64)
                sd = np.asarray(scaler.scale_, dtype=np.float64)
                c = (c.astype(np.float64) - (m / sd) @ A).astype(dtype)
                W = np.ascontiguousarray(A / sd[:, None], dtype=dtype)
            maps.append((W, c))
        return maps

    def score(self, X, y=None):
        """Mean pseudo-log-likelihood of the samples under the bottom RBM, in nats.

        ``self.rbms_[0].score(X)`` (see :meth:`rbmlib.BernoulliRBM.score`):
        higher is better, for unsupervised model selection (``GridSearchCV``,
        ``dask_ml``) without a downstream estimator. It measures the first
        layer only; the upper layers do not enter it.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
        y : None
            Ignored.

        Returns
        -------
        score : float
            In nats.

        Raises
        ------
        NotFittedError
            If the DBN is not fitted.
        """
        check_is_fitted(self)
        scaler = self._scaler(0)
        if scaler is not None:  # first_layer="auto" standardised real-valued X
            X = validate_data(self, compute_rows(X), accept_sparse="csr",
                              dtype=[np.float64, np.float32], reset=False)
            return self.rbms_[0].score(scaler.transform(X).astype(X.dtype, copy=False))
        return self.rbms_[0].score(X)

    def transform(self, X):
        """Hidden conditional means of the top layer (an upward mean-field pass).

        Each layer's ``transform`` (probabilities for Bernoulli hidden units,
        ``max(0, x)`` for NReLU and ``x`` for Gaussian ones, with ``x`` the
        pre-activation) is applied to the layer below's, standardised first
        for a layer with a scaler in ``scalers_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            For ``first_layer="categorical"``: integer codes or categories,
            an array or a DataFrame, as :class:`~rbmlib.CategoricalRBM` takes.

        Returns
        -------
        H : ndarray of shape (n_samples, hidden_layer_sizes[-1])
            In the float dtype of the model (float64 for a categorical DBN).

        Raises
        ------
        NotFittedError
            If the DBN is not fitted.
        ValueError
            On bad input; for a categorical DBN, on a category not seen in
            fit (CategoricalRBM's error, unless ``handle_unknown="ignore"``).
        """
        check_is_fitted(self)
        if is_dask_collection(X):
            return lazy_method(self, "transform", X)
        if not isinstance(self.rbms_[0], CategoricalRBM):
            X = canonical_csr(validate_data(self, X, accept_sparse="csr",
                                            dtype=[np.float64, np.float32], reset=False))
        # (a CategoricalRBM validates and encodes its categories itself)
        return self._up_pass(X)

    def sample(self, n_samples=1, n_gibbs=1000, random_state=None):
        """Draw samples from the DBN's generative model.

        Runs ``n_gibbs`` steps of block Gibbs sampling in the top RBM (an
        undirected associative memory), starting from visible states drawn
        from its visible biases, then passes down through the directed
        lower layers, sampling binary states and returning the bottom
        layer's visible means ``E[v | h_1]`` (Hinton et al. 2006).

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        n_gibbs : int, default=1000
            Gibbs steps in the top RBM.
        random_state : int, RandomState instance or None, default=None
            Seed of the chains.

        Returns
        -------
        V : ndarray of shape (n_samples, n_features_in_)
            Visible means (probabilities for Bernoulli units); for a
            categorical DBN, categories sampled from the bottom layer's
            softmax groups (in the dtype of ``categories_``, or object).

        Raises
        ------
        ValueError
            If n_samples < 1 or n_gibbs < 0.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}.")
        if not isinstance(n_gibbs, Integral) or n_gibbs < 0:
            raise ValueError(f"n_gibbs must be a non-negative integer; got {n_gibbs!r}.")
        rng = check_random_state(random_state)
        top = self.rbms_[-1]
        H = top.components_.shape[0]
        L = len(self.rbms_)
        with thread_limits(self.n_jobs):
            # h = 0 gives visible states drawn from the visible biases alone
            v = top._sample_visibles(np.zeros((n_samples, H), top.components_.dtype), rng)
            for _ in range(n_gibbs):
                v = top._sample_visibles(top._sample_hiddens(v, rng), rng)
            if L == 1:
                h = top._sample_hiddens(v, rng)
            else:
                h = self._hidden_state_below(L - 1, v)
                for l in range(L - 2, 0, -1):
                    h = self._hidden_state_below(l, self.rbms_[l]._sample_visibles(h, rng))
            bottom = self.rbms_[0]
            if isinstance(bottom, CategoricalRBM):
                return bottom._decode(bottom._sample_visibles(h, rng))
            V = bottom._visible_means(h)
            scaler = self._scaler(0)
            if scaler is not None:  # back to X's units (first_layer="auto")
                V = scaler.inverse_transform(np.asarray(V)).astype(V.dtype, copy=False)
            return V

    def _hidden_state_below(self, l, v):
        """Layer ``l``'s visible state as the hidden state of layer ``l - 1``: the
        standardisation undone, and clipped at 0 for NReLU units."""
        scaler = self._scaler(l)
        if scaler is None:
            return v
        h = scaler.inverse_transform(np.asarray(v)).astype(v.dtype, copy=False)
        if self.rbms_[l - 1]._hidden_unit().name == "nrelu":
            np.maximum(h, 0, out=h)
        return h

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        if self.first_layer == "categorical":
            tags.input_tags.sparse = False
            tags.input_tags.allow_nan = True
            tags.input_tags.categorical = True
            tags.input_tags.string = True
            tags.transformer_tags.preserves_dtype = []
        return tags

    @property
    def _n_features_out(self):
        return self.rbms_[-1].n_components


# --------------------------------------------------------------------------
# Fine-tuned networks
# --------------------------------------------------------------------------


class _BaseDBNNetwork(BaseEstimator):
    """Pretraining plus back-propagation, shared by the classifier and the regressor."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "first_layer": [StrOptions(set(_FIRST_LAYERS))],
        "hidden_units": [StrOptions(set(_HIDDEN_UNITS)), list, tuple],
        "dbn": [None, HasMethods(["fit", "transform"])],
        "n_iter_pretrain": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"}),
                            "array-like"],
        "learning_rate_pretrain": [None, Interval(Real, 0, None, closed="neither"),
                                   "array-like"],
        "batch_size_pretrain": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "pretrain_params": [None, dict],
        "solver": [StrOptions(set(SOLVERS))],
        "activation": [StrOptions(set(ACTIVATIONS) | {"auto"}), list, tuple],
        "negative_slope": [Interval(Real, 0, None, closed="left")],
        "alpha_l1": [Interval(Real, 0, None, closed="left")],
        "rho": [Interval(Real, 0, 1, closed="left")],
        "warm_start": ["boolean"],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "learning_rate": [StrOptions(set(SCHEDULES))],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "input_dropout": [Interval(Real, 0, 1, closed="left")],
        "shuffle": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"),
                             Options(Real, {np.inf})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "n_jobs": [None, Integral],
    }

    _out_name = "values"
    #: Whether the network takes first_layer="categorical" (one-hot encoded input).
    _categorical_input = True
    #: Whether "auto" fine-tuning takes smaller batches and a larger step on small
    #: tables (the classifier; a regressor's noisy targets overfit with them).
    _small_table_steps = False

    # ------------------------------------------------------------ pretraining
    def _check_dbn(self):
        """The DBN inside ``dbn`` (unwrapping FrozenEstimator), or None; TypeError otherwise."""
        dbn = self.dbn
        if dbn is None:
            return None
        inner = getattr(dbn, "estimator", dbn)  # sklearn.frozen.FrozenEstimator
        if not isinstance(inner, DBN):
            raise TypeError(
                f"dbn must be an rbmlib.DBN (fitted, possibly wrapped in "
                f"sklearn.frozen.FrozenEstimator, or unfitted, to be fitted on X) or None; "
                f"got {type(inner).__name__}. To start from a single RBM, use "
                f"DBN(hidden_layer_sizes=(n_components,)) or n_iter_pretrain."
            )
        if not self._categorical_input and _categorical_dbn(inner):
            raise ValueError(
                f"{type(self).__name__} cannot take a DBN with first_layer='categorical': "
                f"its reconstruction of X is real-valued, with no softmax groups. "
                f"Use DBNClassifier or DBNRegressor, or the DBN itself (transform, "
                f"sample) for categorical data.")
        return inner

    def _pretrain(self, X, rng, inner):
        """Fitted DBN whose weights start the network, or None for random init."""
        if inner is not None:
            if hasattr(inner, "rbms_"):
                if inner.n_features_in_ != _num_features(X):
                    raise ValueError(
                        f"X has {_num_features(X)} features, but the fitted dbn was "
                        f"trained on {inner.n_features_in_} features."
                    )
                return inner
            dbn = clone(inner)
            if dbn.get_params().get("random_state", 0) is None:
                dbn.set_params(random_state=rng.randint(np.iinfo(np.int32).max))
            return dbn.fit(X)
        n_iter = self.n_iter_pretrain
        if not isinstance(n_iter, str) and np.all(np.asarray(n_iter, dtype=object) == 0):
            return None
        return self._pretrain_dbn(rng.randint(np.iinfo(np.int32).max)).fit(X)

    def _pretrain_dbn(self, seed):
        params = dict(self.pretrain_params or {})
        return DBN(
            self.hidden_layer_sizes,
            first_layer=self.first_layer,
            hidden_units=self.hidden_units,
            n_iter=self.n_iter_pretrain,
            learning_rate=self.learning_rate_pretrain,
            batch_size=self.batch_size_pretrain,
            verbose=self.verbose,
            random_state=seed,
            n_jobs=self.n_jobs,
            **params,
        )

    def _check_settings(self):
        """Everything about the settings that can be checked before training."""
        inner = self._check_dbn()
        if inner is None:
            _hidden_unit_names(self.hidden_units, len(_layer_sizes(self.hidden_layer_sizes)))
            if self.pretrain_params:
                bad = set(self.pretrain_params) & {
                    "hidden_layer_sizes", "first_layer", "hidden_units", "n_iter", "learning_rate",
                    "batch_size", "verbose", "random_state", "n_jobs"}
                if bad:
                    raise ValueError(
                        f"pretrain_params must not set {sorted(bad)}: use the estimator's "
                        f"own parameters (hidden_layer_sizes, hidden_units, n_iter_pretrain, "
                        f"learning_rate_pretrain, batch_size_pretrain, ...)."
                    )
                try:
                    self._pretrain_dbn(0)._validate_params()
                except TypeError as exc:
                    raise TypeError(f"pretrain_params: {exc}") from None
            else:
                self._pretrain_dbn(0)._validate_params()
        elif not hasattr(inner, "rbms_"):
            inner._validate_params()
        return inner

    def _n_informative_layers(self, dbn, X):
        """Pretrained layers whose hidden units vary over the rows (bottom first).

        A layer is flat when no hidden probability varies by more than
        ``_FLAT_STD`` (standard deviation over up to 1000 rows of X): its
        units carry no information about the input and a network started
        from it sits on a plateau (the loss of a constant prediction) that
        the stopping rule ends. Every layer above a flat one is flat too.
        """
        H = X[:1000]
        for l, (rbm, (W, c)) in enumerate(zip(dbn.rbms_, _dbn_affine_maps(dbn))):
            # the network's layer (the same as the DBN's transform, on X as the
            # network reads it: one-hot for a categorical DBN)
            H = rbm._hidden_unit().mean(np.asarray(H @ W) + c)
            spread = np.asarray(H.std(axis=0)).max() if H.shape[0] > 1 else np.inf
            if not spread >= _FLAT_STD:
                return l, float(spread)
        return len(dbn.rbms_), None

    def _initial_weights(self, dbn, n_features, n_outputs, dtype, rng, n_layers=None):
        """Network weights: the DBN's first ``n_layers`` layers (all by default),
        Glorot uniform for the rest and for the output layer."""
        coefs, intercepts = [], []
        n_prev = n_features
        if dbn is not None:
            rbms = dbn.rbms_ if n_layers is None else dbn.rbms_[:n_layers]
            for W, c in _dbn_affine_maps(dbn, len(rbms)):
                coefs.append(np.ascontiguousarray(W, dtype=dtype))
                intercepts.append(np.asarray(c, dtype=dtype))
                n_prev = coefs[-1].shape[1]
            sizes = [r.n_components for r in dbn.rbms_[len(rbms):]]
        else:
            sizes = _layer_sizes(self.hidden_layer_sizes)
        for h in sizes:
            coefs.append(glorot_uniform(n_prev, h, rng, dtype))
            intercepts.append(np.zeros(h, dtype))
            n_prev = h
        coefs.append(glorot_uniform(n_prev, n_outputs, rng, dtype))
        intercepts.append(np.zeros(n_outputs, dtype))
        return coefs, intercepts

    # ---------------------------------------------------------- fine-tuning
    @staticmethod
    def _dask_inputs(X, y=None, sample_weight=None):
        """Compute dask X, y, sample_weight into NumPy arrays for fine-tuning.

        Returns ``(X, y, sample_weight, X_dask)``: ``X_dask`` is the original
        dask array (None otherwise), streamed block by block through the DBN
        in pretraining, while fine-tuning reads the computed NumPy copy of X
        (computed one row chunk at a time into one preallocated array,
        :func:`rbmlib._blocks.compute_rows`).
        """
        X_dask = X if is_dask_collection(X) else None
        return compute_rows(X), compute_rows(y), compute_rows(sample_weight), X_dask

    @staticmethod
    def _pretrain_input(X_dask, X):
        """What pretraining reads: the dask array (streamed, in X's validated dtype) or X."""
        if X_dask is None:
            return None
        if hasattr(X_dask, "to_dask_array"):
            X_dask = X_dask.to_dask_array(lengths=True)
        return X_dask.astype(X.dtype)

    def _atomic_fit(self, X, y, **kw):
        """Run ``_fit`` so that a failure leaves the estimator as it was.

        On a fine-tuning divergence the estimator holds, consistently, the new
        fit's state after its last finite epoch (set by ``_fit``) and the
        DivergenceError propagates.
        """
        saved = dict(self.__dict__)
        try:
            return self._fit(X, y, **kw)
        except DivergenceError as exc:
            if not getattr(exc, "_network_set", False):
                _restore_on_error(self, saved)
            raise
        except BaseException:
            _restore_on_error(self, saved)
            raise

    def _n_hidden(self, inner):
        if inner is not None:
            if hasattr(inner, "rbms_"):
                return len(inner.rbms_)
            return len(_layer_sizes(inner.hidden_layer_sizes))
        return len(_layer_sizes(self.hidden_layer_sizes))

    def _unit_activations(self, inner):
        """Activations matching the hidden units that pretraining will give, bottom first.

        From the fitted ``dbn``'s RBMs, the unfitted ``dbn``'s ``hidden_units``, or
        this estimator's ``hidden_units``; empty without pretraining.
        """
        if inner is not None:
            if hasattr(inner, "rbms_"):
                return [_layer_activation(rbm) for rbm in inner.rbms_]
            n = len(_layer_sizes(inner.hidden_layer_sizes))
            names = _hidden_unit_names(getattr(inner, "hidden_units", "bernoulli"), n)
        else:
            n_iter = self.n_iter_pretrain
            if not isinstance(n_iter, str) and np.all(np.asarray(n_iter, dtype=object) == 0):
                return []
            names = _hidden_unit_names(self.hidden_units,
                                       len(_layer_sizes(self.hidden_layer_sizes)))
        return [HIDDEN_UNITS[u].activation for u in names]

    def _activations(self, n_hidden, unit_activations=()):
        """Names of the hidden activations, one per hidden layer (ValueError if bad).

        "auto" takes, layer by layer, ``unit_activations`` (the activation
        matching each pretrained layer's hidden units: "logistic" for
        Bernoulli, "relu" for NReLU, "identity" for Gaussian units) and
        "logistic" for the layers above them (random initialisation).
        """
        act = self.activation
        if isinstance(act, str):
            act = [act] * n_hidden
        unit_activations = list(unit_activations)[:n_hidden]
        auto = unit_activations + ["logistic"] * (n_hidden - len(unit_activations))
        act = [auto[l] if a == "auto" and l < n_hidden else
               "logistic" if a in ("auto", "sigmoid") else a for l, a in enumerate(act)]
        hidden_kinds(act, n_hidden)
        return act

    def _warm_start_state(self, n_features, n_outputs):
        """The fitted network to continue from with ``warm_start``, or None."""
        if not (self.warm_start and hasattr(self, "coefs_")):
            return None
        if self.coefs_[0].shape[0] != n_features or self.coefs_[-1].shape[1] != n_outputs:
            raise ValueError(
                f"warm_start=True continues the fitted network of {self.coefs_[0].shape[0]} "
                f"inputs and {self.coefs_[-1].shape[1]} outputs; this fit has "
                f"{n_features} inputs and {n_outputs} outputs. Set warm_start=False "
                f"to fit a new network.")
        return {"coefs": self.coefs_, "intercepts": self.intercepts_,
                "activations": list(getattr(self, "activations_", ["logistic"] * (
                    len(self.coefs_) - 1))),
                "dbn": getattr(self, "dbn_", None),
                "pretrained_layers": getattr(self, "pretrained_layers_", 0)}

    @staticmethod
    def _tanh_transfer(coefs, intercepts, activations, n_pretrained, unit_activations=None):
        """Make pretrained tanh layers compute exactly what the sigmoid RBM did.

        ``sigmoid(z) = (1 + tanh(z / 2)) / 2``: a tanh layer gets half the
        RBM's weights and bias, and the layer above, fed ``t = 2 s - 1``
        instead of ``s``, gets ``W / 2`` and ``b + sum_i W_i / 2``, so the
        network's output at initialisation equals the all-logistic one. Only
        layers over logistic (Bernoulli) hidden units are rescaled: for NReLU
        or Gaussian units no rescaling of tanh equals their mean.
        """
        for l in range(n_pretrained):
            if activations[l] != "tanh":
                continue
            if unit_activations is not None and unit_activations[l] != "logistic":
                continue
            coefs[l] = coefs[l] * 0.5
            intercepts[l] = intercepts[l] * 0.5
            Wn = coefs[l + 1]
            intercepts[l + 1] = (intercepts[l + 1] + 0.5 * Wn.sum(axis=0)).astype(Wn.dtype)
            coefs[l + 1] = Wn * 0.5
        return coefs, intercepts

    def _fine_tuning_steps(self, n_labelled, incremental=False):
        """``(batch_size, learning_rate_init)`` of fine-tuning with "auto" resolved.

        partial_fit continuing a fitted network keeps the fitted network's values.
        """
        if incremental and hasattr(self, "coefs_"):
            fitted = (getattr(self, "batch_size_", None), getattr(self, "learning_rate_init_", None))
        else:
            fitted = (None, None)
        batch_size, lr = self.batch_size, self.learning_rate_init
        small = self._small_table_steps and n_labelled <= _AUTO_SMALL
        if isinstance(batch_size, str):  # "auto"
            batch_size = fitted[0] or (min(n_labelled, _AUTO_SMALL_BATCH) if small
                                       else min(n_labelled, 200))
        if isinstance(lr, str):  # "auto"
            lr = fitted[1] or (_AUTO_SMALL_LEARNING_RATE if small else _AUTO_LEARNING_RATE)
        return int(batch_size), float(lr)

    def _fit_network(self, X, X_lab, Y, out_activation, score, stratify, inner, extra,
                     sample_weight=None, incremental=False, X_pretrain=None):
        """Pretrain, fine-tune and return the new fitted state (a dict), or raise.

        ``X_pretrain`` (a dask array with the rows of X, or None for X
        itself) is what the DBN is pretrained on, streamed in blocks.

        Nothing is set on the estimator here except on divergence in
        fine-tuning (the state of the last finite epoch, consistently).
        ``incremental`` (partial_fit): one epoch, continuing the fitted
        network and its optimiser state when there is one.
        """
        rng = check_random_state(self.random_state)
        name = type(self).__name__
        batch_size, lr = self._fine_tuning_steps(X_lab.shape[0], incremental)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        start = None
        if incremental and hasattr(self, "coefs_"):
            start = {"coefs": self.coefs_, "intercepts": self.intercepts_,
                     "activations": list(self.activations_), "dbn": self.dbn_,
                     "pretrained_layers": self.pretrained_layers_}
        elif not incremental:
            start = self._warm_start_state(X.shape[1], Y.shape[1])
        activations = (start["activations"] if start is not None
                       else self._activations(self._n_hidden(inner),
                                              self._unit_activations(inner)))
        dbn = None
        try:
            if start is None:
                dbn = self._pretrain(X if X_pretrain is None else X_pretrain, rng,
                                     inner)
                if (dbn is not None and getattr(dbn, "interrupted_", False)
                        and dbn is not inner):
                    raise KeyboardInterrupt
                n_keep = None
                if dbn is not None and dbn is not inner:
                    # pretrained here: flat layers start from random weights instead
                    n_keep, spread = self._n_informative_layers(dbn, X)
                    if n_keep < len(dbn.rbms_) and self.verbose:
                        # a fallback, not an error: small tables often leave an upper
                        # layer flat, and the network is then no worse than without
                        # pretraining (pretrained_layers_ records it; no warning, which
                        # every fold of a cross-validation would repeat)
                        print(
                            f"[{name}] pretraining left the hidden units of layer "
                            f"{n_keep + 1} almost constant on X (largest standard deviation "
                            f"of a hidden probability over the rows: {spread:.2g} < "
                            f"{_FLAT_STD:g}); they carry no information and fine-tuning from "
                            f"them stalls, so layers {n_keep + 1}-{len(dbn.rbms_)} start from "
                            f"random (Glorot) weights "
                            f"instead (pretrained_layers_ = {n_keep}). Pretraining moves the "
                            f"weights further with X spread over [0, 1], a larger "
                            f"learning_rate_pretrain or n_iter_pretrain, or "
                            f"pretrain_params={{'sample_visible': False}}.")
                elif dbn is not None:
                    n_keep = len(dbn.rbms_)
                coefs, intercepts = self._initial_weights(dbn, X.shape[1], Y.shape[1],
                                                          X.dtype, rng, n_keep)
                n_pre = 0 if dbn is None else n_keep
                # the fitted dbn decides the depth and, for "auto", the activation of
                # each pretrained layer (layers left random are logistic)
                unit_acts = [] if dbn is None else [_layer_activation(r)
                                                    for r in dbn.rbms_[:n_pre]]
                activations = self._activations(len(coefs) - 1, unit_acts)
                coefs, intercepts = self._tanh_transfer(coefs, intercepts, activations, n_pre,
                                                        unit_acts)
            else:
                dbn = start["dbn"]
                n_pre = start["pretrained_layers"]
                coefs = [W.astype(X.dtype) for W in start["coefs"]]
                intercepts = [b.astype(X.dtype) for b in start["intercepts"]]
        except BaseException as exc:
            self._interrupted_before_finetuning(exc, dbn, inner, name, resumed=start is not None,
                                                incremental=incremental)
            raise
        try:
            if dbn is not None:
                first_layer = _fitted_first_layer(dbn)
            elif extra.get("_encoder") is not None:
                first_layer = "categorical"
            else:
                first_layer = getattr(self, "first_layer", "auto")  # (DBNAutoencoder: none)
                if first_layer == "auto":
                    first_layer = _auto_first_layer(X)
            extra = dict(extra, first_layer_=first_layer, batch_size_=batch_size,
                         learning_rate_init_=lr,
                         pretrained_layers_=n_pre, activations_=activations,
                         negative_slope_=float(getattr(self, "negative_slope", 0.01)))
            opt_state = getattr(self, "_optimizer_state", None) if incremental else None
            res = fit_backprop(
                X_lab, Y, coefs, intercepts, out_activation=out_activation, score=score,
                rng=rng, solver=self.solver, learning_rate_init=lr,
                learning_rate=self.learning_rate, power_t=self.power_t,
                momentum=self.momentum, nesterovs_momentum=self.nesterovs_momentum,
                beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon,
                alpha=self.alpha, batch_size=batch_size,
                max_iter=1 if incremental else self.max_iter,
                shuffle=self.shuffle, tol=self.tol, n_iter_no_change=self.n_iter_no_change,
                early_stopping=self.early_stopping,
                validation_fraction=self.validation_fraction, dropout=self.dropout,
                input_dropout=self.input_dropout, stratify=stratify, verbose=self.verbose,
                n_jobs=self.n_jobs, name=name, activation=activations,
                negative_slope=getattr(self, "negative_slope", 0.01), alpha_l1=self.alpha_l1,
                rho=self.rho,
                sample_weight=sample_weight, optimizer_state=opt_state,
                incremental=incremental,
            )
        except KeyboardInterrupt as exc:
            self._interrupted_before_finetuning(exc, dbn, inner, name, finetuning=True,
                                                resumed=start is not None,
                                                incremental=incremental)
            raise
        except DivergenceError as exc:
            # keep the network of the last finite epoch, consistently, then report
            if getattr(exc, "result", None) is not None:
                self._set_state(self._network_state(dbn, exc.result, Y, out_activation, extra))
                exc._network_set = True
            raise
        state = self._network_state(dbn, res, Y, out_activation, extra)
        state["_optimizer_state"] = res.optimizer_state
        if incremental and start is not None:
            state["loss_curve_"] = list(self.loss_curve_) + state["loss_curve_"]
            state["n_iter_"] = self.n_iter_ + state["n_iter_"]
            state["t_"] = self.t_ + state["t_"]
            losses = [v for v in (self.best_loss_, state["best_loss_"]) if v is not None]
            state["best_loss_"] = min(losses) if losses else None
        return state

    def _interrupted_before_finetuning(self, exc, dbn, inner, name, finetuning=False,
                                       resumed=False, incremental=False):
        """Warn about a KeyboardInterrupt before any fine-tuning epoch of this call
        completed, naming what was running, and attach the DBN pretrained so far.

        ``finetuning``: it came during fine-tuning (else during pretraining or the
        set-up of the network); ``resumed``: this call continues a fitted network
        (partial_fit of a fitted estimator, or warm_start), so no pretraining ran;
        ``incremental``: the call is partial_fit.
        """
        if not isinstance(exc, KeyboardInterrupt):
            return
        call = "partial_fit" if incremental else "fit"
        pretrained_here = dbn is not None and dbn is not inner and not resumed
        if resumed:
            what = ("fine-tuning, which continues the fitted network (no pretraining runs "
                    "in this call)")
        elif finetuning:
            what = ("the first fine-tuning epoch" if dbn is not None else
                    "the first fine-tuning epoch (no pretraining: n_iter_pretrain=0)")
        elif dbn is None or getattr(dbn, "interrupted_", False):
            what = "pretraining"
        else:
            what = "the set-up of fine-tuning, after pretraining"
        if pretrained_here:
            hint = (f"; the DBN pretrained so far ({len(dbn.rbms_)} layer(s)) is attached "
                    f"to the exception as exc.dbn: pass it back with "
                    f"{name}(dbn=exc.dbn, ...) to fine-tune from it without "
                    f"pretraining again")
        elif what == "pretraining":
            hint = "; no layer had completed an epoch"
        else:
            hint = ""
        warnings.warn(
            f"{name}: {call} interrupted by the user (KeyboardInterrupt) during {what}, "
            f"before any fine-tuning epoch completed; the estimator is left as it was "
            f"before {call} and the KeyboardInterrupt is re-raised{hint}.",
            RuntimeWarning)
        exc.dbn = dbn if pretrained_here else None

    def _network_state(self, dbn, res, Y, out_activation, extra):
        state = dict(extra)
        state.update(
            dbn_=dbn,
            coefs_=res.coefs,
            intercepts_=res.intercepts,
            loss_curve_=res.loss_curve,
            loss_=res.loss_curve[-1] if res.loss_curve else None,
            best_loss_=res.best_loss,
            validation_scores_=res.validation_scores,
            best_validation_score_=res.best_validation_score,
            n_iter_=res.n_iter,
            t_=res.t,
            n_layers_=len(res.coefs) + 1,
            n_outputs_=Y.shape[1],
            out_activation_=out_activation,
            interrupted_=bool(res.interrupted),
        )
        return state

    def _set_state(self, state):
        self.__dict__.update(state)  # one call: all of the new fit, or nothing
        return self

    # ------------------------------------------------------ categorical input
    def _categorical_fit(self, inner, X=None):
        """Whether this fit reads categories (first_layer="categorical" or such a dbn,
        or "auto" with a DataFrame of categories)."""
        first_layer = getattr(inner if inner is not None else self, "first_layer", "bernoulli")
        if inner is not None and hasattr(inner, "rbms_"):
            return _categorical_dbn(inner)
        return first_layer == "categorical" or (first_layer == "auto"
                                                 and _is_categorical_frame(X))

    def _fit_encoder(self, X, inner):
        """The fitted CategoricalRBM whose one-hot encoding of X the network reads.

        A fitted ``dbn``'s bottom layer; otherwise the bottom layer the DBN of
        pretraining builds (its settings and categories), fitted with no epoch:
        the same categories as pretraining finds in X, and the encoder of a
        network without pretraining.
        """
        if inner is not None and hasattr(inner, "rbms_"):
            return inner.rbms_[0]
        template = clone(inner) if inner is not None else self._pretrain_dbn(0)
        enc = template._make_rbms(check_random_state(0), _num_samples(X), "categorical")[0]
        return enc.set_params(n_iter=0, verbose=0).fit(X)

    def _validate_fit_input(self, X, y, X_dask, inner, reset, cont, **check_y):
        """Validated ``(X, y, X_pretrain, encoder)`` of a fit.

        ``X`` is what the network reads: the float array, or for categorical
        input the one-hot encoding of ``encoder`` (the fitted network's own
        when ``cont``inuing it); ``X_pretrain`` is what the DBN is pretrained
        on (None: X itself).
        """
        enc = getattr(self, "_encoder", None) if cont else None
        if not (enc is not None or (not cont and self._categorical_fit(inner, X))):
            X, y = _validate_fit_X(self, X, y, reset=reset, **check_y)
            return X, y, self._pretrain_input(X_dask, X), None
        if enc is None:
            enc = self._fit_encoder(X, inner)
        Xn = enc._onehot(enc._check_fitted_X(X), np.float64)
        y = _check_y(y, estimator=self, **check_y)
        check_consistent_length(Xn, y)
        self.n_features_in_ = enc.n_features_in_
        if hasattr(enc, "feature_names_in_"):
            self.feature_names_in_ = enc.feature_names_in_
        else:
            self.__dict__.pop("feature_names_in_", None)
        return Xn, y, X, enc

    def _validate_X_predict(self, X):
        check_is_fitted(self)
        enc = getattr(self, "_encoder", None)
        if enc is not None:
            # the categories the network was fitted on; unseen ones raise (or, with
            # handle_unknown="ignore", are missing: an all-zero group)
            return enc._onehot(enc._check_fitted_X(X), self.coefs_[0].dtype)
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                          reset=False)
        return canonical_csr(X).astype(self.coefs_[0].dtype, copy=False)

    def _forward(self, X, layer=None):
        return forward(X, self.coefs_, self.intercepts_, self.out_activation_, layer=layer,
                       n_jobs=self.n_jobs,
                       activation=getattr(self, "activations_", "logistic"),
                       negative_slope=getattr(self, "negative_slope_", 0.01))

    def hidden_activations(self, X, layer=-1):
        """Activations of a hidden layer of the fine-tuned network.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        layer : int, default=-1
            Hidden layer index, bottom first; negative values count from the
            top (-1 is the last hidden layer).

        Returns
        -------
        H : ndarray of shape (n_samples, n_units of that layer)
            Activations of that layer's hidden units (probabilities for
            logistic units).

        Raises
        ------
        ValueError
            If ``layer`` is not a hidden layer.
        """
        X = self._validate_X_predict(X)
        n_hidden = len(self.coefs_) - 1
        if not isinstance(layer, Integral) or not -n_hidden <= layer < n_hidden:
            raise ValueError(
                f"layer must index one of the {n_hidden} hidden layers; got {layer!r}."
            )
        return self._forward(X, layer=layer % n_hidden)

    def _sklearn_mlp(self, cls):
        if getattr(self, "_encoder", None) is not None:
            raise ValueError(
                "to_sklearn: this network reads the one-hot encoding of its categorical "
                "input (CategoricalRBM's, with missing entries as all-zero groups), which "
                "a scikit-learn MLP does not do; use the network itself.")
        sizes = tuple(W.shape[1] for W in self.coefs_[:-1])
        acts = list(getattr(self, "activations_", ["logistic"] * len(sizes)))
        if "leaky_relu" in acts:
            raise ValueError(
                f"to_sklearn: scikit-learn's MLP has no leaky ReLU activation (its "
                f"activations are 'identity', 'logistic', 'tanh', 'relu'); this network's "
                f"hidden activations are {acts}.")
        if len(set(acts)) > 1:
            raise ValueError(
                f"to_sklearn: scikit-learn's MLP uses one activation for all hidden "
                f"layers; this network has {acts}.")
        mlp = cls(
            hidden_layer_sizes=sizes, activation=acts[0] if acts else "logistic",
            solver=self.solver if self.solver in ("sgd", "adam") else "adam",
            alpha=self.alpha, batch_size=getattr(self, "batch_size_", self.batch_size),
            learning_rate=self.learning_rate if self.learning_rate != "cosine" else "constant",
            learning_rate_init=getattr(self, "learning_rate_init_", self.learning_rate_init),
            power_t=self.power_t,
            max_iter=self.max_iter, shuffle=self.shuffle, random_state=self.random_state,
            tol=self.tol, momentum=self.momentum, nesterovs_momentum=self.nesterovs_momentum,
            early_stopping=self.early_stopping, validation_fraction=self.validation_fraction,
            beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon,
            n_iter_no_change=self.n_iter_no_change, warm_start=self.warm_start,
        )
        mlp.coefs_ = [W.copy() for W in self.coefs_]
        mlp.intercepts_ = [b.copy() for b in self.intercepts_]
        mlp.n_features_in_ = self.n_features_in_
        if hasattr(self, "feature_names_in_"):
            mlp.feature_names_in_ = self.feature_names_in_
        mlp.n_layers_ = self.n_layers_
        mlp.n_outputs_ = self.n_outputs_
        mlp.out_activation_ = self.out_activation_
        mlp.n_iter_ = self.n_iter_
        mlp.t_ = self.t_
        mlp.loss_ = self.loss_
        mlp.loss_curve_ = list(self.loss_curve_)
        mlp.best_loss_ = self.best_loss_
        mlp.validation_scores_ = self.validation_scores_
        mlp.best_validation_score_ = self.best_validation_score_
        mlp._no_improvement_count = 0
        return mlp

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        if getattr(self, "first_layer", None) == "categorical":
            tags.input_tags.sparse = False
            tags.input_tags.allow_nan = True
            tags.input_tags.categorical = True
            tags.input_tags.string = True
        return tags


_NETWORK_PARAMS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(256, 256)
        Hidden units of each layer, bottom first (ignored when ``dbn`` is
        given: the network takes the DBN's layers).
    first_layer : {"auto", "bernoulli", "gaussian", "categorical"}, default="auto"
        Visible units of the bottom RBM (see :class:`DBN`). "auto" decides
        from the training X (recorded in ``first_layer_``): Bernoulli units
        for X in [0, 1] (MinMaxScaler output, one-hot, binary data),
        categorical ones for a DataFrame of categories, Gaussian units on X
        standardised inside the DBN for any other real-valued X (the output
        of StandardScaler, raw or mixed columns). With
        "categorical", X holds categories (integer codes or a DataFrame, as
        :class:`~rbmlib.CategoricalRBM` takes; its settings, e.g.
        ``categories`` or ``missing_values``, in
        ``pretrain_params={"rbm_params": [{...}, ...]}``) and the network
        reads the one-hot encoding of the bottom CategoricalRBM (a missing
        entry is an all-zero group), so the pretrained weights carry over
        exactly; a category not seen in fit raises CategoricalRBM's
        ValueError in ``predict`` (unless ``handle_unknown="ignore"``).
        ``n_features_in_`` counts the input columns; ``coefs_[0]`` has one
        row per one-hot unit. ``to_sklearn`` is refused for such a network.
    hidden_units : {"bernoulli", "gaussian", "nrelu"} or list of them, default="bernoulli"
        Hidden units of each pretrained RBM, one for all layers or one per
        hidden layer (bottom first): Bernoulli, Gaussian (linear, unit
        variance) or noisy rectified linear (NReLU) units (see :class:`DBN`;
        the layer above a real-valued one reads standardised features, and
        the standardisation is folded into the network's weights).
        Ignored when ``dbn`` is given (its own units apply). A wrong name
        or length raises ValueError in ``fit``.
    dbn : DBN, default=None
        A DBN to start from. If fitted (possibly wrapped in
        :class:`sklearn.frozen.FrozenEstimator`, which survives ``clone``),
        its weights are used as they are and no pretraining runs; if not
        fitted, a clone of it is fitted on X (its own settings apply).
    n_iter_pretrain : int, "auto" or list of them, default="auto"
        CD epochs per layer in pretraining; 0 switches pretraining off and
        gives the random-initialisation baseline (Glorot uniform weights).
        "auto" (see :class:`DBN` ``n_iter``) runs at least 10 epochs and at
        least 1000 CD updates per layer, so that pretraining moves the
        weights on small data sets too.
    learning_rate_pretrain : float or list of float, default=None
        CD learning rate; None takes each RBM class's default (see :class:`DBN`).
    batch_size_pretrain : int or list of int, default=10
        CD mini-batch rows.
    pretrain_params : dict, default=None
        Further :class:`DBN` parameters for pretraining (``k``,
        ``persistent``, ``momentum``, ``weight_decay``, ``rbm_params``,
        ``block_size`` for out-of-core pretraining on a memmap or dask array,
        ...; each given once or per layer).
    activation : {"auto", "logistic", "sigmoid", "tanh", "relu", "leaky_relu", "identity"} \
            or list of them, default="auto"
        Hidden activation, one for all hidden layers or one per layer
        (bottom first). "auto" follows each pretrained layer's hidden unit
        type, the activation equal to the units' conditional mean:
        "logistic" for Bernoulli, "relu" for NReLU (``max(0, z)``, the mean
        the DBN's ``transform`` uses) and "identity" for Gaussian units, so
        the network computes exactly the DBN's mean-field up-pass at the
        start of fine-tuning; layers without pretraining are "logistic". A
        "tanh" layer over a pretrained RBM is initialised by the exact
        rescaling ``sigmoid(z) = (1 + tanh(z / 2)) / 2``: half the RBM's
        weights and bias, and the layer above gets ``W / 2`` and
        ``b + sum_i W_i / 2``, so the network's function at the start is
        the same as with "logistic". "relu", "leaky_relu" and "identity"
        layers take the RBM's weights as a plain initialisation (the
        function changes; no rescaling makes them equal to a sigmoid).
    negative_slope : float, default=0.01
        Slope of "leaky_relu" for negative inputs (``f(z) = z`` for
        ``z > 0``, ``negative_slope * z`` otherwise).
    solver : {"sgd", "adagrad", "rmsprop", "adam"}, default="adam"
        Optimiser of fine-tuning (:mod:`rbmlib.optim`): mini-batch SGD with
        momentum (Nesterov's with ``nesterovs_momentum``), Adagrad (Duchi et
        al. 2011), RMSprop (Tieleman and Hinton 2012; decay ``rho``) or Adam
        (Kingma and Ba 2015). The
        defaults (Adam, 200 epochs; step and batch size "auto": scikit-learn's
        1e-3 and up to 200 rows; the classifier's 3e-3 and 32 rows up to 400
        labelled rows) were chosen by measurement on nine R tables of 189-2,380 rows
        with either scaler and on the small UCI sets
        (``benchmarks/bench_defaults_dbn.py``, benchmarks/RESULTS.md), against
        MLPClassifier/MLPRegressor's defaults.
    learning_rate_init : float or "auto", default="auto"
        Initial step size of fine-tuning (the gradient is the mini-batch
        mean). "auto" is scikit-learn's 0.001, and for the classifier 0.003
        up to 400 labelled rows, where the network is otherwise under-trained
        in ``max_iter`` epochs (measured in ``benchmarks/bench_defaults_dbn.py
        --tables``; a regressor's noisy targets overfit with it: AER::CPS1985
        on 356 rows, R^2 0.07 against 0.30); the value used is
        ``learning_rate_init_``. Deep pretrained networks want more with "sgd": for
        MNIST 784-500-500-2000 (momentum 0.9, 8 epochs on 6,000 images) 0.5
        and 1.0 gave 8% test error where 0.1 gave 30%
        (``benchmarks/RESULTS.md``).
    learning_rate : {"constant", "invscaling", "adaptive", "cosine"}, default="constant"
        Schedule per epoch ``e``: constant; ``lr0 / (e + 1) ** power_t``;
        divided by 5 whenever ``n_iter_no_change`` epochs fail to improve;
        ``lr0 * (1 + cos(pi e / max_iter)) / 2``.
    power_t : float, default=0.5
        Exponent of "invscaling".
    momentum : float, default=0.9
        Momentum of "sgd".
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for "sgd".
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's parameters.
    rho : float, default=0.9
        RMSprop's decay rate of the mean squared gradient.
    alpha : float, default=1e-5
        L2 penalty: each mini-batch minimises its mean loss plus
        ``alpha / 2 * sum ||W||^2`` (weights, not biases). Note that
        scikit-learn's MLP divides its ``alpha`` by the batch size.
    alpha_l1 : float, default=0.0
        L1 penalty ``alpha_l1 * sum |W|`` on the weights (subgradient
        ``alpha_l1 * sign(W)``), added to the L2 penalty.
    batch_size : int or "auto", default="auto"
        Mini-batch rows of fine-tuning; "auto" is scikit-learn's
        ``min(200, n_labelled)``, and for the classifier ``min(32, n_labelled)``
        up to 400 labelled rows, where ``min(200, n)`` would make one update
        per epoch (measured in ``benchmarks/bench_defaults_dbn.py``); the
        value used is ``batch_size_``.
    max_iter : int, default=200
        Maximum number of fine-tuning epochs.
    dropout : float, default=0.0
        Probability of dropping each hidden unit in fine-tuning
        (Srivastava et al. 2014; inverted dropout, so prediction needs no
        rescaling).
    input_dropout : float, default=0.0
        Probability of dropping each input unit in fine-tuning.
    shuffle : bool, default=True
        Shuffle the rows every epoch.
    tol : float, default=1e-4
        Improvement threshold of the stopping rule.
    n_iter_no_change : int or np.inf, default=10
        Epochs without improvement before stopping (or, with the
        "adaptive" schedule, before dividing the learning rate by 5);
        ``np.inf`` never stops early.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the labelled rows (stratified for
        the classifier), score them after every epoch (accuracy, or R^2),
        stop once ``n_iter_no_change`` epochs in a row fail to beat the best
        score by ``tol`` (scikit-learn's rule) and restore the weights of the
        best epoch. Off by default: on small data sets the held-out rows are
        few and their score too coarse to stop on.
    validation_fraction : float, default=0.1
        Held-out fraction for early stopping; it must hold out at least 2
        rows ("The validation set is too small" otherwise).
    warm_start : bool, default=False
        ``fit`` continues from the fitted network (no pretraining, fresh
        optimiser state), as scikit-learn's MLP; the classifier requires
        the same classes.
    verbose : int, default=0
        One line per layer in pretraining and per epoch in fine-tuning
        (loss, validation score, time, time left); 2 also prints the RBMs'
        epochs.
    random_state : int, RandomState instance or None, default=None
        Seeds pretraining, initialisation, the split, shuffling and dropout.
    n_jobs : int, default=None
        Threads for Numba and BLAS. The same ``random_state``, data and
        ``n_jobs`` give bit-identical results; different ``n_jobs`` agree up to
        BLAS rounding, which training can amplify."""

_NETWORK_ATTRS_DOC = """
    dbn_ : DBN or None
        The pretrained DBN the weights came from (None without pretraining).
    first_layer_ : {"bernoulli", "gaussian", "categorical"}
        Visible units of the bottom layer (``first_layer`` with "auto"
        resolved; the fitted ``dbn``'s own when one is given).
    batch_size_ : int
        Mini-batch rows of fine-tuning (``batch_size`` with "auto" resolved).
    learning_rate_init_ : float
        Initial step size of fine-tuning (``learning_rate_init`` with "auto"
        resolved).
    pretrained_layers_ : int
        Hidden layers of the network initialised from ``dbn_`` (bottom
        first). When pretraining inside ``fit`` leaves a layer's hidden units
        almost constant on X (no hidden probability with a standard
        deviation of 0.01 over the rows: they carry no information and
        fine-tuning from them stalls on the loss of a constant prediction),
        that layer and those above it start from random (Glorot) weights;
        ``verbose`` says so (no warning: it is a fallback that small tables
        take routinely, not a fault). A fitted ``dbn`` passed in is always
        used whole.
    coefs_ : list of ndarray of shape (n_units_in, n_units_out)
        Weights of each layer (scikit-learn's orientation).
    intercepts_ : list of ndarray of shape (n_units_out,)
        Biases of each layer.
    loss_curve_ : list of float
        Training loss per epoch (nats per sample, or half the squared
        error, plus the penalty; measured with dropout on).
    loss_ : float
        Last entry of ``loss_curve_``.
    best_loss_ : float or None
        Lowest training loss (None with early stopping).
    validation_scores_ : list of float or None
        Score on the held-out rows per epoch (with early stopping).
    interrupted_ : bool
        True when fine-tuning was stopped by Ctrl-C after at least one epoch
        (the network of the last completed, or best, epoch is kept).
    best_validation_score_ : float or None
        Best of ``validation_scores_``; its weights are the ones kept.
    n_iter_ : int
        Fine-tuning epochs run.
    t_ : int
        Training samples seen by the optimiser.
    n_layers_ : int
        Layers including input and output.
    n_outputs_ : int
        Output units.
    out_activation_ : str
        Output activation.
    activations_ : list of str
        Hidden activation of each layer, bottom first ("auto" resolved).
    negative_slope_ : float
        Slope of "leaky_relu" used by the fitted network.
    n_features_in_ : int
        Number of features seen in fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen in fit, when X has string feature names."""

_NETWORK_REFS_DOC = """
    References
    ----------
    Hinton, G. E., Osindero, S. and Teh, Y.-W. (2006). A fast learning
    algorithm for deep belief nets. Neural Computation 18, 1527-1554.

    Hinton, G. E. and Salakhutdinov, R. R. (2006). Reducing the
    dimensionality of data with neural networks. Science 313, 504-507.

    Bengio, Y., Lamblin, P., Popovici, D. and Larochelle, H. (2007). Greedy
    layer-wise training of deep networks. NIPS 19.

    Srivastava, N., Hinton, G., Krizhevsky, A., Sutskever, I. and
    Salakhutdinov, R. (2014). Dropout: a simple way to prevent neural
    networks from overfitting. JMLR 15, 1929-1958."""


def _accuracy_from_probs(Y, P, sample_weight=None):
    if Y.shape[1] == 1:
        ok = (P[:, 0] > 0.5) == (Y[:, 0] > 0.5)
    else:
        ok = np.argmax(P, axis=1) == np.argmax(Y, axis=1)
    return float(np.average(ok, weights=sample_weight))


def _subset_accuracy_from_probs(Y, P, sample_weight=None):
    """Multilabel: fraction of rows whose every label is predicted right."""
    return float(np.average(np.all((P > 0.5) == (Y > 0.5), axis=1), weights=sample_weight))


def _check_fit_sample_weight(sample_weight, X):
    if sample_weight is None:
        return None
    return _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)


class DBNClassifier(ClassifierMixin, _BaseDBNNetwork):
    __doc__ = (
        """Deep Belief Network classifier: greedy pretraining, then back-propagation.

    ``fit`` pretrains a :class:`DBN` on every row of X, copies its weights
    and hidden biases into a network with logistic hidden units and a fresh
    softmax output layer (logistic for two classes), and fine-tunes it on the
    labelled rows by minimising the cross-entropy. Labels equal to
    ``unlabeled_label`` (-1, scikit-learn's convention, as in
    :class:`sklearn.semi_supervised.SelfTrainingClassifier`) mark unlabelled
    rows, which take part in pretraining only.
"""
        + _NETWORK_PARAMS_DOC
        + """
    unlabeled_label : "auto", int, float, str or None, default="auto"
        Label marking unlabelled rows, which take part in pretraining only
        (for a 2-D multilabel y: rows holding it in every column). "auto"
        takes -1 (scikit-learn's convention, as
        :class:`sklearn.semi_supervised.SelfTrainingClassifier`) and warns
        once per fit when y holds it, since -1 may also be a class (labels
        {-1, 0, 1}); ``unlabeled_label=-1`` says the fit is semi-supervised and
        is silent; None treats every label as a class.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (any type LabelBinarizer accepts)."""
        + _NETWORK_ATTRS_DOC
        + "\n"
        + _NETWORK_REFS_DOC
        + """

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from rbmlib import DBNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = DBNClassifier((64,), n_iter_pretrain=2, max_iter=5, random_state=0)
    >>> clf.fit(X / 16, y).predict_proba(X[:2] / 16).shape
    (2, 10)
    """
    )

    _parameter_constraints: dict = {
        **_BaseDBNNetwork._parameter_constraints,
        "unlabeled_label": [None, StrOptions({"auto"}), Integral, Real, str],
    }
    _small_table_steps = True

    def __init__(
        self,
        hidden_layer_sizes=(256, 256),
        *,
        first_layer="auto",
        hidden_units="bernoulli",
        dbn=None,
        n_iter_pretrain="auto",
        learning_rate_pretrain=None,
        batch_size_pretrain=10,
        pretrain_params=None,
        solver="adam",
        learning_rate_init="auto",
        learning_rate="constant",
        power_t=0.5,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        alpha=1e-5,
        batch_size="auto",
        max_iter=200,
        dropout=0.0,
        input_dropout=0.0,
        shuffle=True,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        activation="auto",
        negative_slope=0.01,
        alpha_l1=0.0,
        rho=0.9,
        warm_start=False,
        unlabeled_label="auto",
        verbose=0,
        random_state=None,
        n_jobs=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.first_layer = first_layer
        self.hidden_units = hidden_units
        self.dbn = dbn
        self.n_iter_pretrain = n_iter_pretrain
        self.learning_rate_pretrain = learning_rate_pretrain
        self.batch_size_pretrain = batch_size_pretrain
        self.pretrain_params = pretrain_params
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.power_t = power_t
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.shuffle = shuffle
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.activation = activation
        self.negative_slope = negative_slope
        self.alpha_l1 = alpha_l1
        self.rho = rho
        self.warm_start = warm_start
        self.validation_fraction = validation_fraction
        self.unlabeled_label = unlabeled_label
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _unlabeled_label(self):
        """The label of unlabelled rows: -1 for "auto" (scikit-learn's convention)."""
        return -1 if isinstance(self.unlabeled_label, str) and \
            self.unlabeled_label == "auto" else self.unlabeled_label

    def _labeled_mask(self, y):
        u = self._unlabeled_label()
        if u is None:
            return np.ones(y.shape[0], dtype=bool)
        if y.dtype.kind in "iuf" and isinstance(u, str):
            return np.ones(y.shape[0], dtype=bool)
        if y.dtype.kind in "US" and not isinstance(u, str):
            return np.ones(y.shape[0], dtype=bool)
        return np.asarray(y != u, dtype=bool)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Pretrain on all rows of X, then fine-tune on the labelled ones.

        A fit that raises leaves the estimator exactly as it was (a
        divergence in fine-tuning leaves, consistently, the new fit's network
        of its last finite epoch). Ctrl-C (KeyboardInterrupt) stops all
        training at once: during fine-tuning after at least one epoch, the
        network of the last completed epoch (the best one with
        ``early_stopping``) is kept with a RuntimeWarning and
        ``interrupted_ = True``; earlier (in pretraining or the first
        fine-tuning epoch), the estimator is left as it was, a RuntimeWarning
        says what was completed, and the KeyboardInterrupt is re-raised with
        the DBN pretrained so far as its ``dbn`` attribute (None if none),
        which ``DBNClassifier(dbn=exc.dbn, ...)`` fine-tunes without
        pretraining again.

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Training data (in [0, 1] for a Bernoulli first layer; integer
            codes or a DataFrame of categories for a categorical one).
            A dask array (y and ``sample_weight`` dask or NumPy) or a
            ``numpy.memmap`` is accepted. What is streamed and what is held:
            greedy pretraining streams X through the DBN's row blocks
            (``pretrain_params={"block_size": ...}``, default "auto": a dask
            array's own row chunks, or 2**22-element blocks of a memmap larger
            than that; see :class:`DBN`), so no layer's representation of the
            whole data set is ever built. Fine-tuning then holds X in memory:
            a dask X is computed one row chunk at a time (on the cluster when
            a ``dask.distributed.Client`` is active) into one preallocated
            NumPy array of ``n_samples * n_features`` elements of X's dtype
            (no second copy); a memmap goes to fine-tuning as an ordinary
            array. A dask X thus needs its full size in memory for
            fine-tuning only, and the model equals the fit on the same rows
            in memory with the same integer ``block_size`` and
            ``random_state``, bit for bit.
        y : array-like or dask array of shape (n_samples,) or (n_samples, n_labels)
            Class labels; ``unlabeled_label`` (-1) marks unlabelled rows
            (with ``unlabeled_label="auto"``, a UserWarning gives their number). A 0/1 indicator
            matrix is a multilabel problem: one logistic output per label,
            as scikit-learn's MLPClassifier.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the rows in the fine-tuning loss (each
            mini-batch minimises its weighted mean loss) and in the
            validation score; pretraining ignores them.

        Returns
        -------
        self : DBNClassifier

        Raises
        ------
        ValueError
            On bad input (NaN/inf, 1-D X, empty, inconsistent lengths), when
            no row is labelled, when y holds a single class, or when training
            diverges (``DivergenceError``).
        TypeError
            If ``dbn`` is not a :class:`DBN`.
        KeyboardInterrupt
            If interrupted before a fine-tuning epoch completed.
        """
        return self._atomic_fit(X, y, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=False)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One fine-tuning epoch over (X, y), as scikit-learn's MLPClassifier.partial_fit.

        The first call (on an unfitted estimator) builds the network as
        :meth:`fit` does -- pretraining on this first X per
        ``n_iter_pretrain`` or ``dbn`` (``n_iter_pretrain=0`` for none) --
        and needs ``classes``; every call then runs one epoch of
        back-propagation, continuing the optimiser's state (momentum,
        Adam's moments, ...). ``n_iter_``, ``t_`` and ``loss_curve_``
        accumulate over the calls. A call that raises leaves the estimator
        as it was.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels (every row is labelled in partial_fit), or a
            multilabel indicator matrix.
        classes : array-like of shape (n_classes,), default=None
            All the classes; required on the first call, optional (and
            checked) later. Ignored for multilabel y.
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights of the loss.

        Returns
        -------
        self : DBNClassifier

        Raises
        ------
        ValueError
            If ``classes`` is missing on the first call or differs from the
            first call's, if y holds labels outside ``classes``, or with
            ``early_stopping=True``.
        """
        return self._atomic_fit(X, y, sample_weight=sample_weight, incremental=True,
                                classes=classes)

    def _fit(self, X, y, sample_weight=None, incremental=False, classes=None):
        inner = self._check_settings()
        first = not (incremental and hasattr(self, "coefs_"))
        X, y, sample_weight, X_dask = self._dask_inputs(X, y, sample_weight)
        cont = hasattr(self, "coefs_") and (incremental or self.warm_start)
        X, y, X_pre, enc = self._validate_fit_input(X, y, X_dask, inner, first, cont,
                                                    multi_output=True)
        sample_weight = _check_fit_sample_weight(sample_weight, X)
        ml_mask = self._multilabel_labeled_rows(y, incremental)
        if ml_mask is not None or type_of_target(y) == "multilabel-indicator":
            X_lab, sw = X, sample_weight
            if ml_mask is not None:
                y, X_lab = y[ml_mask], X[ml_mask]
                sw = None if sample_weight is None else sample_weight[ml_mask]
                if type_of_target(y) != "multilabel-indicator":
                    raise ValueError(
                        f"The labelled rows of the 2-D y must be a 0/1 label indicator "
                        f"matrix (multilabel); got {type_of_target(y)!r}.")
            lb = LabelBinarizer().fit(y) if first else self._label_binarizer
            if not first and y.shape[1] != len(lb.classes_):
                raise ValueError(f"y has {y.shape[1]} labels; the network was fitted on "
                                 f"{len(lb.classes_)}.")
            Y = lb.transform(y).astype(X.dtype)
            self._check_warm_start_classes(lb.classes_, incremental)
            sample_weight = sw
            state = self._fit_network(
                X, X_lab, Y, "logistic", _subset_accuracy_from_probs, None, inner,
                {"classes_": lb.classes_, "_label_binarizer": lb, "_multilabel": True,
                 "_encoder": enc},
                sample_weight=sample_weight, incremental=incremental, X_pretrain=X_pre)
            return self._set_state(state)
        y = column_or_1d(y, warn=True)
        mask = (self._labeled_mask(y) if not incremental
                else np.ones(y.shape[0], dtype=bool))
        u = self._unlabeled_label()
        n_unlabeled = int(np.sum(~mask))
        if not mask.any():
            raise ValueError(
                f"y has no labelled samples: every label equals unlabeled_label="
                f"{u!r}. Set unlabeled_label=None if {u!r} is a class."
            )
        if n_unlabeled:
            check_classification_targets(y[mask])
            if len(np.unique(y[mask])) < 2:
                # a single class besides u cannot be learned: u can only be a class
                warnings.warn(
                    f"y holds a single class besides unlabeled_label={u!r}, so {u!r} is "
                    f"treated as a class label and all {y.shape[0]} rows are labelled. "
                    f"Set unlabeled_label=None to say so and silence this warning.",
                    UserWarning)
                mask = np.ones_like(mask)
            elif self.unlabeled_label == "auto":
                # -1 may be a class ({-1, 0, 1} sentiment labels): never drop it
                # silently; unlabeled_label=-1 says the fit is semi-supervised
                warnings.warn(
                    f"{n_unlabeled} of {y.shape[0]} rows have the label {u!r}, which "
                    f"marks unlabelled rows (unlabeled_label='auto', scikit-learn's "
                    f"convention): they take part in pretraining only, not in "
                    f"fine-tuning. Set unlabeled_label=-1 to say so and silence this "
                    f"warning, or unlabeled_label=None if {u!r} is a class.", UserWarning)
        y_lab = y[mask]
        check_classification_targets(y_lab)
        if incremental:
            if first:
                if classes is None:
                    raise ValueError("classes must be passed on the first call to "
                                     "partial_fit.")
                lb = LabelBinarizer().fit(np.asarray(classes))
            else:
                lb = self._label_binarizer
                if classes is not None and not np.array_equal(
                        np.unique(np.asarray(classes)), lb.classes_):
                    raise ValueError(
                        f"`classes={list(classes)!r}` is not the same as on last call to "
                        f"partial_fit, was: {list(lb.classes_)!r}.")
            unseen = np.setdiff1d(np.unique(y_lab), lb.classes_)
            if unseen.size:
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{lb.classes_}. 'y' has {np.unique(y_lab)}.")
        else:
            lb = LabelBinarizer().fit(y_lab)
        if len(lb.classes_) < 2:
            raise ValueError(
                f"DBNClassifier needs samples of at least 2 classes in the labelled data; "
                f"got 1 class: {lb.classes_[0]!r}."
            )
        self._check_warm_start_classes(lb.classes_, incremental)
        Y = lb.transform(y_lab).astype(X.dtype)
        X_lab = X if mask.all() else X[mask]
        sw = None if sample_weight is None else sample_weight[mask]
        out = "logistic" if Y.shape[1] == 1 else "softmax"
        state = self._fit_network(X, X_lab, Y, out, _accuracy_from_probs, y_lab, inner,
                                  {"classes_": lb.classes_, "_label_binarizer": lb,
                                   "_multilabel": False, "_encoder": enc},
                                  sample_weight=sw, incremental=incremental,
                                  X_pretrain=X_pre)
        return self._set_state(state)

    def _multilabel_labeled_rows(self, y, incremental):
        """Mask of the labelled rows of a 2-D (multilabel) y with unlabelled rows, else None.

        An unlabelled row holds ``unlabeled_label`` in every column; a row
        holding it in some columns only is refused (ValueError).
        """
        u = self._unlabeled_label()
        if (incremental or u is None or isinstance(u, str) or np.ndim(y) != 2
                or y.shape[1] < 2 or y.dtype.kind not in "biuf"):
            return None
        hit = np.asarray(y == u)
        if not hit.any():
            return None
        partial = np.flatnonzero(hit.any(axis=1) & ~hit.all(axis=1))
        if partial.size:
            raise ValueError(
                f"y is a 2-D label indicator matrix whose row {partial[0]} holds "
                f"unlabeled_label={u!r} in some columns only; an unlabelled row holds "
                f"{u!r} in every column, a labelled one 0/1 indicators.")
        mask = ~hit.all(axis=1)
        if not mask.any():
            raise ValueError(
                f"y has no labelled samples: every row equals unlabeled_label={u!r}.")
        if self.unlabeled_label == "auto":
            warnings.warn(
                f"{int((~mask).sum())} of {y.shape[0]} rows of y are all {u!r}, which marks "
                f"unlabelled rows (unlabeled_label='auto'): they take part in pretraining "
                f"only. Set unlabeled_label=-1 to say so and silence this warning.",
                UserWarning)
        return mask

    def _check_warm_start_classes(self, classes, incremental):
        if (self.warm_start and not incremental and hasattr(self, "classes_")
                and not np.array_equal(self.classes_, classes)):
            raise ValueError(
                f"warm_start can only be used where `y` has the same classes as in the "
                f"previous call to fit. Previously got {self.classes_}, `y` has {classes}.")

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        P : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; rows sum to 1.
        """
        if is_dask_collection(X):
            return lazy_method(self, "predict_proba", X)
        P = self._forward(self._validate_X_predict(X))
        if P.shape[1] == 1 and not getattr(self, "_multilabel", False):
            return np.hstack([1 - P, P])
        return P

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (nats).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_P : ndarray of shape (n_samples, n_classes)
            Computed from the output layer's pre-activations (log-sigmoid or
            log-softmax), so it stays finite where a probability rounds to 0.
        """
        if is_dask_collection(X):
            return lazy_method(self, "predict_log_proba", X)
        X = self._validate_X_predict(X)
        H = self._forward(X, layer=len(self.coefs_) - 2)
        Z = np.asarray(H @ self.coefs_[-1] + self.intercepts_[-1])
        if getattr(self, "_multilabel", False):
            return log_expit(Z)
        if Z.shape[1] == 1:
            # log sigmoid(+-z), finite where 1 - sigmoid(z) rounds to 0
            return np.hstack([log_expit(-Z), log_expit(Z)])
        return log_softmax(Z, axis=1)

    def predict(self, X):
        """Most probable class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        if is_dask_collection(X):
            return lazy_method(self, "predict", X)
        P = self._forward(self._validate_X_predict(X))
        if P.shape[1] == 1 and not getattr(self, "_multilabel", False):
            P = P.ravel()
        return self._label_binarizer.inverse_transform(P)

    def to_sklearn(self):
        """An equivalent fitted :class:`sklearn.neural_network.MLPClassifier`.

        Same weights, the same hidden activation ("logistic", "tanh",
        "relu" or "identity") and output activation; its ``predict_proba``
        and ``predict`` agree with this model's (up to float rounding).
        Training it further follows scikit-learn's rules, not this class's
        (solvers "adagrad"/"rmsprop" become "adam"; ``alpha_l1`` and dropout
        are not carried over).

        Returns
        -------
        mlp : MLPClassifier

        Raises
        ------
        ValueError
            If a hidden layer is "leaky_relu" (scikit-learn has no leaky
            ReLU) or the hidden layers' activations differ (scikit-learn has
            one activation for all layers).
        """
        from sklearn.neural_network import MLPClassifier

        check_is_fitted(self)
        mlp = self._sklearn_mlp(MLPClassifier)
        mlp.classes_ = self.classes_
        mlp._label_binarizer = self._label_binarizer
        return mlp


class DBNRegressor(RegressorMixin, _BaseDBNNetwork):
    __doc__ = (
        """Deep Belief Network regressor: greedy pretraining, then back-propagation.

    ``fit`` pretrains a :class:`DBN` on X, copies its weights into a network
    with logistic hidden units and a fresh identity output layer (one unit
    per target), and fine-tunes it by minimising half the squared error.
    The targets are standardised internally (each column to mean 0 and
    standard deviation 1; ``loss_curve_``, ``coefs_[-1]`` and
    ``intercepts_[-1]`` are in those units) and predictions are mapped back
    to the units of y, so large targets need no rescaling.
"""
        + _NETWORK_PARAMS_DOC
        + """

    Attributes
    ----------"""
        + _NETWORK_ATTRS_DOC
        + "\n"
        + _NETWORK_REFS_DOC
        + """

    Examples
    --------
    >>> import numpy as np
    >>> from rbmlib import DBNRegressor
    >>> X = np.random.RandomState(0).rand(50, 4)
    >>> reg = DBNRegressor((8,), n_iter_pretrain=2, max_iter=5, random_state=0)
    >>> reg.fit(X, X.sum(axis=1)).predict(X[:3]).shape
    (3,)
    """
    )

    def __init__(
        self,
        hidden_layer_sizes=(256, 256),
        *,
        first_layer="auto",
        hidden_units="bernoulli",
        dbn=None,
        n_iter_pretrain="auto",
        learning_rate_pretrain=None,
        batch_size_pretrain=10,
        pretrain_params=None,
        solver="adam",
        learning_rate_init="auto",
        learning_rate="constant",
        power_t=0.5,
        momentum=0.9,
        nesterovs_momentum=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        alpha=1e-5,
        batch_size="auto",
        max_iter=200,
        dropout=0.0,
        input_dropout=0.0,
        shuffle=True,
        tol=1e-4,
        n_iter_no_change=10,
        early_stopping=False,
        validation_fraction=0.1,
        activation="auto",
        negative_slope=0.01,
        alpha_l1=0.0,
        rho=0.9,
        warm_start=False,
        verbose=0,
        random_state=None,
        n_jobs=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.first_layer = first_layer
        self.hidden_units = hidden_units
        self.dbn = dbn
        self.n_iter_pretrain = n_iter_pretrain
        self.learning_rate_pretrain = learning_rate_pretrain
        self.batch_size_pretrain = batch_size_pretrain
        self.pretrain_params = pretrain_params
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.power_t = power_t
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.alpha = alpha
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.shuffle = shuffle
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.activation = activation
        self.negative_slope = negative_slope
        self.alpha_l1 = alpha_l1
        self.rho = rho
        self.warm_start = warm_start
        self.validation_fraction = validation_fraction
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Pretrain on X, then fine-tune on (X, y).

        Parameters
        ----------
        X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
            Training data (in [0, 1] for a Bernoulli first layer; integer
            codes or a DataFrame of categories for a categorical one).
            A dask array (y and ``sample_weight`` dask or NumPy) or a
            ``numpy.memmap`` is accepted. What is streamed and what is held:
            greedy pretraining streams X through the DBN's row blocks
            (``pretrain_params={"block_size": ...}``, default "auto": a dask
            array's own row chunks, or 2**22-element blocks of a memmap larger
            than that; see :class:`DBN`), so no layer's representation of the
            whole data set is ever built. Fine-tuning then holds X in memory:
            a dask X is computed one row chunk at a time (on the cluster when
            a ``dask.distributed.Client`` is active) into one preallocated
            NumPy array of ``n_samples * n_features`` elements of X's dtype
            (no second copy); a memmap goes to fine-tuning as an ordinary
            array. A dask X thus needs its full size in memory for
            fine-tuning only, and the model equals the fit on the same rows
            in memory with the same integer ``block_size`` and
            ``random_state``, bit for bit.
        y : array-like or dask array of shape (n_samples,) or (n_samples, n_targets)
            Target values (several columns: multi-output regression, one
            identity output per target).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative row weights of the fine-tuning loss and of the
            validation score; pretraining ignores them.

        Returns
        -------
        self : DBNRegressor

        Raises
        ------
        ValueError
            On bad input (NaN/inf in X or y, 1-D X, empty, inconsistent
            lengths) or when training diverges (``DivergenceError``).
        TypeError
            If ``dbn`` is not a :class:`DBN`.
        KeyboardInterrupt
            If interrupted before a fine-tuning epoch completed (see
            :meth:`DBNClassifier.fit` for what Ctrl-C does).

        Notes
        -----
        A fit that raises leaves the estimator as it was; Ctrl-C behaves as
        in :meth:`DBNClassifier.fit`.
        """
        return self._atomic_fit(X, y, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=False)
    def partial_fit(self, X, y, sample_weight=None):
        """One fine-tuning epoch over (X, y), as scikit-learn's MLPRegressor.partial_fit.

        The first call builds the network as :meth:`fit` does (pretraining
        on this first X unless ``n_iter_pretrain=0`` or a fitted ``dbn``)
        and fixes the target standardisation from this first y; every call
        runs one epoch, continuing the optimiser's state. A call that raises
        leaves the estimator as it was.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : DBNRegressor

        Raises
        ------
        ValueError
            On bad input, a different number of targets than the first
            call's, or with ``early_stopping=True``.
        """
        return self._atomic_fit(X, y, sample_weight=sample_weight, incremental=True)

    def _fit(self, X, y, sample_weight=None, incremental=False):
        inner = self._check_settings()
        cont = hasattr(self, "coefs_") and (incremental or self.warm_start)
        X, y, sample_weight, X_dask = self._dask_inputs(X, y, sample_weight)
        X, y, X_pre, enc = self._validate_fit_input(
            X, y, X_dask, inner, not (incremental and cont), cont, multi_output=True,
            y_numeric=True)
        sample_weight = _check_fit_sample_weight(sample_weight, X)
        Y = np.asarray(y, dtype=np.float64)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if cont and getattr(self, "_y_mean", None) is not None:
            # continue the fitted network: keep its target units
            if Y.shape[1] != self._y_mean.shape[0]:
                raise ValueError(f"y has {Y.shape[1]} targets; the network was fitted on "
                                 f"{self._y_mean.shape[0]}.")
            mean = self._y_mean.astype(np.float64)
            scale = self._y_scale.astype(np.float64)
        else:
            # standardise the targets: the network learns (y - mean) / scale
            mean = Y.mean(axis=0)
            scale = _handle_zeros_in_scale(Y.std(axis=0))
        Ys = ((Y - mean) / scale).astype(X.dtype)
        extra = {"_y_1d": np.asarray(y).ndim == 1, "_y_mean": mean.astype(X.dtype),
                 "_y_scale": scale.astype(X.dtype), "_encoder": enc}
        state = self._fit_network(
            X, X, Ys, "identity", lambda Yt, P, sample_weight=None: r2_score(
                Yt, P, sample_weight=sample_weight),
            None, inner, extra, sample_weight=sample_weight, incremental=incremental,
            X_pretrain=X_pre)
        return self._set_state(state)

    def _unscale(self, P):
        mean = getattr(self, "_y_mean", None)  # absent in models pickled before 0.x
        if mean is None:
            return P
        return P * self._y_scale + mean

    def predict(self, X):
        """Predicted targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_targets)
            One column per target, in the units of y; 1-D when fitted on a
            1-D y.
        """
        if is_dask_collection(X):
            return lazy_method(self, "predict", X)
        P = self._unscale(self._forward(self._validate_X_predict(X)))
        if self._y_1d:
            return P.ravel()
        return P

    def to_sklearn(self):
        """An equivalent fitted :class:`sklearn.neural_network.MLPRegressor`.

        Same weights and hidden activation, identity outputs; its
        ``predict`` agrees with this model's (up to float rounding). See
        :meth:`DBNClassifier.to_sklearn`.

        Raises
        ------
        ValueError
            As :meth:`DBNClassifier.to_sklearn`.

        Returns
        -------
        mlp : MLPRegressor
        """
        from sklearn.neural_network import MLPRegressor

        check_is_fitted(self)
        mlp = self._sklearn_mlp(MLPRegressor)
        if getattr(self, "_y_mean", None) is not None:
            # fold the target scaling into the output layer
            mlp.coefs_[-1] = mlp.coefs_[-1] * self._y_scale
            mlp.intercepts_[-1] = mlp.intercepts_[-1] * self._y_scale + self._y_mean
        return mlp

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
