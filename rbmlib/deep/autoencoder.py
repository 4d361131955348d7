"""Deep autoencoder: a DBN unrolled into an encoder and a decoder, then fine-tuned.

:class:`DBNAutoencoder` pretrains a stack of RBMs greedily (a :class:`~rbmlib.DBN`
whose top layer, the code layer, has Gaussian -- linear -- hidden units),
unrolls it into an encoder (the RBMs' up-passes) and its mirror-image decoder
(their down-passes, weights starting as the transposes), and fine-tunes all
the weights by back-propagating the reconstruction error through the whole
network (Hinton and Salakhutdinov 2006), and keeps it only if it
reconstructs held-out training rows better than PCA does
(``architecture="auto"``; otherwise the model is PCA's solution as a linear
autoencoder). Pretraining, the network, its optimisers, early stopping,
Ctrl-C and divergence handling are the ones of
:class:`~rbmlib.DBNClassifier` (:class:`rbmlib.dbn._BaseDBNNetwork` and
:func:`rbmlib.mlp.fit_backprop`); this module only lays out the unrolled
weights and maps data in and out.
"""

from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin, _fit_context
from sklearn.preprocessing._data import _handle_zeros_in_scale
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.sparsefuncs import mean_variance_axis
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from .._blocks import is_dask_collection, lazy_method
from .._docstrings import Substitution
from .._params import ParamGroup, with_init
from ..mlp import canonical_csr, forward, glorot_uniform
from ..units import HIDDEN_UNITS, VISIBLE_UNITS
from ._layers import (
    _affine_hidden_map,
    _auto_first_layer,
    _layer_sizes,
    _per_layer,
    _real_valued_hidden,
    _validate_fit_X,
)
from ._network import _BaseDBNNetwork
from ._params import FINE_TUNING, FINE_TUNING_MORE, NETWORK_SIZE, PRETRAINING, RUN
from ._pca_selection import (
    _MIN_SELECTION_ROWS,
    _SELECTION_FRACTION,
    _PCASelection,
    _standardised_visible,
)

__all__ = ["DBNAutoencoder"]

#: visible_units: "auto" or a visible unit type whose states the network reconstructs
#: (not categories: the reconstruction has no softmax groups).
_VISIBLE = ("auto", *(name for name, u in VISIBLE_UNITS.items() if not u.takes_categories))
#: code_units: the hidden unit types whose activation is one of Hinton and
#: Salakhutdinov's code layers, linear or logistic (rectified codes are untested).
_CODE_ACTIVATIONS = ("identity", "logistic")
_CODE_UNITS = tuple(name for name, u in HIDDEN_UNITS.items()
                    if u.activation in _CODE_ACTIVATIONS)
#: CD learning rate of a Gaussian (linear) code layer when learning_rate_pretrain
#: is None: linear hidden units are unbounded and diverge at the Bernoulli
#: layers' 0.1 (on the digits, within 10 epochs); the paper used 0.001 on MNIST.
_GAUSSIAN_CODE_LEARNING_RATE = 0.01
_ARCHITECTURES = ("auto", "deep", "pca")
def _neg_sq_error(Y, P, sample_weight=None):
    """Minus the mean over rows of the squared error summed over features."""
    err = np.sum((np.asarray(Y, dtype=np.float64) - P) ** 2, axis=1)
    return -float(np.average(err, weights=sample_weight))


def _bounded_visible(vis):
    """Whether the visible units ``vis`` take X in [0, 1] (not ``real_valued``): a
    logistic output with the cross-entropy. False for an unresolved "auto"."""
    return vis in VISIBLE_UNITS and not VISIBLE_UNITS[vis].real_valued


def _in_unit_interval(X):
    vals = X.data if sp.issparse(X) else X
    return vals.size == 0 or (float(vals.min()) >= 0.0 and float(vals.max()) <= 1.0)


def _check_unit_interval(X, needs, remedy=""):
    """A ValueError ``"<needs>; X ranges over [lo, hi].<remedy>"`` unless X is in [0, 1]."""
    if not _in_unit_interval(X):
        vals = X.data if sp.issparse(X) else X
        raise ValueError(f"{needs}; X ranges over [{float(vals.min()):.4g}, "
                         f"{float(vals.max()):.4g}].{remedy}")


#: The autoencoder's own parameters: the encoder's layers, the code layer and the units.
_AUTOENCODER = ParamGroup(
    hidden_layer_sizes=((256, 128), NETWORK_SIZE.constraints["hidden_layer_sizes"]),
    n_components=(2, [Interval(Integral, 1, None, closed="left")]),
    visible_units=("auto", [StrOptions(set(_VISIBLE))]),
    code_units=("gaussian", [StrOptions(set(_CODE_UNITS))]),
    architecture=("auto", [StrOptions(set(_ARCHITECTURES))]),
)


@Substitution()
@with_init(_AUTOENCODER, PRETRAINING, FINE_TUNING.with_defaults(learning_rate_init=0.001),
           FINE_TUNING_MORE, RUN, n_positional=2)
class DBNAutoencoder(_PCASelection, ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                     _BaseDBNNetwork):
    """Deep autoencoder: greedy RBM pretraining, unrolling, back-propagation.

    ``fit`` pretrains a :class:`~rbmlib.DBN` of layers
    ``hidden_layer_sizes + (n_components,)`` on X (the bottom RBM with
    Bernoulli visible units for data in [0, 1], Gaussian ones for
    real-valued data; the top RBM, the code layer, with Gaussian -- linear --
    hidden units by default), unrolls it into a network
    ``n_features -> hidden_layer_sizes -> n_components -> reversed(hidden_layer_sizes)
    -> n_features``, and fine-tunes every weight by mini-batch
    back-propagation of the reconstruction loss (Hinton and Salakhutdinov
    2006):

    * encoder layer ``l`` starts as RBM ``l``'s up-pass: weights
      ``components_.T`` and hidden biases (logistic units; identity units in
      a Gaussian code layer);
    * decoder layer ``l`` starts as RBM ``l``'s down-pass (its visible
      means): weights ``components_`` (the transpose of the encoder's) and
      the RBM's visible biases; logistic units, and a logistic output
      (Bernoulli data) or identity output (Gaussian data);

    so before fine-tuning the network computes exactly the DBN's mean-field
    up-pass followed by its down-pass. The loss is the cross-entropy
    (nats per image, summed over the features) between X and the logistic
    output for Bernoulli data, and half the squared error summed over the
    features for Gaussian data. Decoder weights are untied from the encoder's
    in fine-tuning, as in the paper.

    By default (``architecture="auto"``) ``fit`` then checks the deep network
    against PCA with the same number of components on a held-out part of the
    training rows and keeps PCA's solution -- itself a linear autoencoder --
    when the deep network reconstructs those rows worse, so that the fitted
    model is at least PCA in held-out reconstruction error; ``architecture_``
    says which was kept.

    Parameters
    ----------
    hidden_layer_sizes : sequence of int, default=(256, 128)
        Encoder hidden layers, bottom first (the decoder mirrors them); may
        be empty for a single RBM. The paper's MNIST network is
        ``(1000, 500, 250)`` with ``n_components=30``. Ignored with ``dbn``.
    n_components : int, default=2
        Units of the code layer (the dimension of :meth:`transform`'s
        output). Ignored with ``dbn`` (its top layer is the code layer).
    visible_units : {"auto", "bernoulli", "gaussian"}, default="auto"
        Visible units of the bottom RBM. "bernoulli": X in [0, 1] (a
        ValueError otherwise), logistic output and cross-entropy loss.
        "gaussian": real-valued X, standardised internally (each feature to
        mean 0 and standard deviation 1; constant features keep scale 1) for
        a :class:`~rbmlib.GaussianBernoulliRBM`, identity output and squared
        error loss in those standardised units; :meth:`inverse_transform`
        and :meth:`score` are in the units of X. "auto": the rule of
        :class:`~rbmlib.DBN`'s ``first_layer="auto"``: "bernoulli" when every
        value of the first X lies in [0, 1] and no column looks like a
        measurement (more than 80% of its values strictly inside (0.1, 0.9):
        a min-max scaled age or income); "gaussian" otherwise.
    code_units : {"gaussian", "bernoulli"}, default="gaussian"
        Hidden units of the code layer's RBM: "gaussian" (linear codes, the
        paper's choice: an identity activation in the network) or
        "bernoulli" (logistic codes in (0, 1)).
    architecture : {"auto", "deep", "pca"}, default="auto"
        The network that ``fit`` returns (``architecture_`` says which):

        * "deep": the pretrained, unrolled and fine-tuned autoencoder
          described above.
        * "pca": the linear autoencoder holding PCA's solution with
          ``n_components`` components, computed on X in its own units:
          one code layer of identity units whose encoder weights are the
          principal axes and whose decoder weights are their transpose,
          with the biases that centre X; :meth:`transform` then equals
          :meth:`sklearn.decomposition.PCA.transform` and :meth:`reconstruct`
          PCA's ``inverse_transform(transform(X))``, to rounding (codes
          beyond ``min(n_samples, n_features)`` are 0). The output is linear
          also for Bernoulli visible units, so reconstructions may leave
          [0, 1] (clipping them to [0, 1] lowered the digits' held-out error
          but raised that of MinMax-scaled tables, whose held-out rows leave
          [0, 1]).
          No fine-tuning; ``partial_fit`` and ``warm_start`` continue this
          network by back-propagating the squared error.
        * "auto": holds out a random 20% of the training rows, fine-tunes
          the deep autoencoder on the other rows (pretraining reads all of
          them), computes PCA on the same rows, and keeps the deep network
          only if its mean squared reconstruction error on the held-out rows
          is below PCA's by more than 2 standard errors of the paired per-row
          difference and by at least 10% (``selection_errors_``); otherwise
          the model is
          "pca" computed on all the rows. A linear code layer can always
          represent PCA, so a deep network that reconstructs worse is one
          that training did not bring there (on small tables with a
          dominant component, such as R's MASS::crabs, its codes collapse
          onto that component). "auto" is "deep" with a ``dbn``, for
          ``partial_fit``, ``warm_start`` continuations, sparse X, and
          below 20 rows.
    dbn : DBN, default=None
        A DBN to unroll instead of pretraining one: fitted (possibly wrapped
        in :class:`sklearn.frozen.FrozenEstimator`) it is used as it is;
        unfitted, a clone of it is fitted on the (standardised, for Gaussian
        visible units) X. Its ``first_layer`` must match the visible units.
    n_iter_pretrain : int, "auto" or list of them, default="auto"
        CD epochs per RBM; 0 skips pretraining (Glorot-uniform encoder,
        decoder starting as its transpose: the random-initialisation
        baseline). "auto" (see :class:`~rbmlib.DBN` ``n_iter``) runs at
        least 10 epochs and at least 1000 CD updates per layer.
    learning_rate_pretrain : float or list of float, default=None
        CD learning rate, once or per layer (the code layer last); None
        takes each RBM's default (0.1 for Bernoulli, 0.01 for Gaussian
        visible units) and 0.01 for a Gaussian code layer (linear hidden
        units diverge at 0.1; the paper used 0.001 with 50 epochs on MNIST).
    batch_size_pretrain : int or list of int, default=10
        CD mini-batch rows.
    pretrain_params : dict, default=None
        Further :class:`~rbmlib.DBN` parameters (``k``, ``persistent``,
        ``momentum``, ``weight_decay``, ``rbm_params``, ``block_size`` for
        out-of-core pretraining on a memmap or dask array, ...).
    solver : {"sgd", "adagrad", "rmsprop", "adam"}, default="adam"
        Optimiser of fine-tuning (:mod:`rbmlib.optim`; see
        :class:`~rbmlib.DBNClassifier`).
    learning_rate_init : float, default=0.001
        Initial step size of fine-tuning.
    {network_solver_params}
    batch_size : int or "auto", default="auto"
        Mini-batch rows of fine-tuning; "auto" is ``min(200, n_samples)``.
    {network_epoch_params}
    input_dropout : float, default=0.0
        Probability of dropping each input unit in fine-tuning (the target
        stays the clean X: a denoising autoencoder).
    {network_stopping_params}
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows, score them after every
        epoch (minus the mean squared reconstruction error, summed over
        features, in the network's units), stop when ``n_iter_no_change``
        epochs fail to beat the best score by ``tol``, and restore the best
        epoch's weights.
    validation_fraction : float, default=0.1
        Held-out fraction for early stopping (at least 2 rows).
    warm_start : bool, default=False
        ``fit`` continues from the fitted network (no pretraining, fresh
        optimiser state).
    verbose : int, default=0
        One line per layer in pretraining and per epoch in fine-tuning.
    {network_seed_params}

    Attributes
    ----------
    visible_units_ : {"bernoulli", "gaussian"}
        Visible units used ("auto" resolved on the first X).
    n_components_ : int
        Units of the code layer.
    architecture_ : {"deep", "pca"}
        The network fitted (see ``architecture``).
    selection_errors_ : dict or None
        With ``architecture="auto"`` when the comparison was made:
        ``{"deep": e, "pca": e, "difference_se": s}``: the mean over the
        held-out rows of the squared reconstruction error summed over the
        features, in the units of X, of each candidate, and the standard
        error of the mean of their per-row difference; None otherwise.
    dbn_ : DBN or None
        The DBN pretrained (or given) in fit (None without pretraining);
        with ``architecture_ == "pca"`` after an "auto" comparison, the
        DBN of the deep candidate, which the network does not use.
    pretrained_layers_ : int
        Encoder layers started from ``dbn_`` (see :class:`~rbmlib.DBNClassifier`).
    coefs_ : list of ndarray of shape (n_units_in, n_units_out)
        Weights of the ``2 L`` layers, encoder then decoder.
    intercepts_ : list of ndarray of shape (n_units_out,)
        Biases of each layer.
    activations_ : list of str
        Activation of each of the ``2 L - 1`` hidden layers (the code layer
        is the middle one).
    out_activation_ : {"logistic", "identity"}
        Output activation.
    loss_curve_ : list of float
        Training loss per fine-tuning epoch (of the deep candidate when
        "auto" chose "pca"; empty for ``architecture="pca"``; likewise
        ``n_iter_``, ``t_``, ``best_loss_``) (nats per sample for Bernoulli data, half the
        squared error per sample in standardised units for Gaussian data;
        plus the penalty).
    {network_fit_attrs}
    interrupted_ : bool
        True when fine-tuning was stopped by Ctrl-C after at least one epoch.
    n_layers_ : int
        Layers of the network including input and output.
    n_outputs_ : int
        Output units (``n_features_in_``).
    {features_in_attrs}

    {network_refs}

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from rbmlib import DBNAutoencoder
    >>> X = load_digits().data / 16
    >>> ae = DBNAutoencoder((32,), n_components=2, n_iter_pretrain=2, max_iter=3,
    ...                     random_state=0)
    >>> ae.fit(X).transform(X).shape
    (1797, 2)
    """

    _categorical_input = False  # a dbn with first_layer="categorical" is refused
    # Settings that DBNClassifier and DBNRegressor take as parameters and the
    # autoencoder fixes (not parameters here): the bottom layer's units come from
    # visible_units (a network without pretraining reads X as first_layer="auto"
    # decides), and no hidden layer is "leaky_relu".
    first_layer = "auto"
    negative_slope = 0.01
    #: The visible units of the last fit ("bernoulli" before any: the template DBN
    #: whose settings fit checks first) and the standardisation of Gaussian visible
    #: X (None: X is read as it is).
    _visible_fit = "bernoulli"
    _x_mean = None
    _pretrain_settings = ("hidden_layer_sizes, n_components, visible_units, code_units, "
                          "n_iter_pretrain, learning_rate_pretrain, batch_size_pretrain")

    # the networks' parameters but for the layer-wise units and activations, which
    # the code layer fixes here, and learning_rate_init (no "auto")
    _parameter_constraints: dict = {
        **_AUTOENCODER.constraints, **PRETRAINING.constraints, **FINE_TUNING.constraints,
        **FINE_TUNING_MORE.constraints, **RUN.constraints,
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
    }

    # ------------------------------------------------------------ settings
    def _encoder_sizes(self):
        """Sizes of the RBM stack: hidden_layer_sizes + [n_components] (validated)."""
        hls = self.hidden_layer_sizes
        empty = (hasattr(hls, "__len__") and not isinstance(hls, (str, bytes))
                 and len(hls) == 0)
        sizes = [] if empty else _layer_sizes(hls)
        return sizes + [int(self.n_components)]

    def _pretrain_layers(self):
        sizes = self._encoder_sizes()
        lr = self.learning_rate_pretrain
        if lr is None and _real_valued_hidden(self.code_units):
            lr = [None] * (len(sizes) - 1) + [_GAUSSIAN_CODE_LEARNING_RATE]
        layers = {"hidden_layer_sizes": sizes, "first_layer": self._visible_fit,
                  "hidden_units": ["bernoulli"] * (len(sizes) - 1) + [self.code_units],
                  "learning_rate": lr}
        # the autoencoder's defaults were measured with sampled visible units in
        # the negative phase (the RBMs' default; DBN's own default is False)
        return layers, {"sample_visible": True}

    def _check_settings(self):
        inner = self._check_dbn()
        if inner is not None and self._standardised_dbn(inner):
            real = " or ".join(repr(n) for n, u in HIDDEN_UNITS.items() if u.real_valued)
            raise ValueError(
                f"DBNAutoencoder cannot take a dbn with a real-valued ({real}) hidden "
                "layer below its top layer: the layer above such a layer reads standardised "
                "features (DBN.scalers_), which the unrolled encoder and decoder do not "
                "apply. Real-valued units may be the top (code) layer only, as in "
                "code_units."
            )
        if inner is None:
            self._encoder_sizes()
            self._check_pretrain_params()
        elif not hasattr(inner, "rbms_"):
            inner._validate_params()
        return inner

    @staticmethod
    def _standardised_dbn(inner):
        """Whether a DBN (fitted or not) standardises the input of a layer (``scalers_``)."""
        if hasattr(inner, "rbms_"):
            return any(s is not None for s in getattr(inner, "scalers_", ()))
        n = len(_layer_sizes(inner.hidden_layer_sizes))
        units = _per_layer("hidden_units", getattr(inner, "hidden_units", "bernoulli"), n)
        return any(_real_valued_hidden(u) for u in units[:-1])

    def _code_unit_type(self, inner):
        if inner is None:
            return self.code_units
        if hasattr(inner, "rbms_"):
            return getattr(inner.rbms_[-1], "hidden_units", "bernoulli")
        n = len(_layer_sizes(inner.hidden_layer_sizes))
        return _per_layer("hidden_units", getattr(inner, "hidden_units", "bernoulli"), n)[-1]

    def _n_hidden(self, inner):
        """The stack's layers mirrored around the code layer (the encoder and decoder)."""
        n = len(self._encoder_sizes()) if inner is None else super()._n_hidden(inner)
        return 2 * n - 1

    def _unit_activations(self, inner):
        """Not used: the unrolled network's activations come from the code
        layer's unit type (``_activations``), not from per-layer ``hidden_units``."""
        return ()

    def _activations(self, n_hidden, unit_activations=()):
        L = (n_hidden + 1) // 2
        code = self._code_unit_type(self._check_dbn())
        if code not in _CODE_UNITS:
            raise ValueError(
                f"DBNAutoencoder: the code layer's hidden units must be one of "
                f"{sorted(_CODE_UNITS)}; got {code!r}."
            )
        return (["logistic"] * (L - 1) + [HIDDEN_UNITS[code].activation]
                + ["logistic"] * (L - 1))

    def _initial_weights(self, dbn, n_features, n_outputs, dtype, rng, n_layers=None):
        """The unrolled network: encoder = up-passes, decoder = down-passes.

        Layers of ``dbn`` beyond ``n_layers`` (flat ones) and all layers
        without a DBN get Glorot-uniform encoder weights, zero biases and
        the transposed weights in the decoder.
        """
        if dbn is not None:
            sizes = [n_features] + [r.n_components for r in dbn.rbms_]
            n_keep = len(dbn.rbms_) if n_layers is None else n_layers
        else:
            sizes = [n_features] + self._encoder_sizes()
            n_keep = 0
        L = len(sizes) - 1
        enc_W, enc_b, dec_W, dec_b = [], [], [], []
        for l in range(L):
            if l < n_keep:
                rbm = dbn.rbms_[l]
                W, c = _affine_hidden_map(rbm)
                enc_W.append(np.ascontiguousarray(W, dtype=dtype))
                enc_b.append(np.asarray(c, dtype=dtype))
                dec_W.append(np.ascontiguousarray(rbm.components_, dtype=dtype))
                dec_b.append(np.asarray(rbm.intercept_visible_, dtype=dtype))
            else:
                W = glorot_uniform(sizes[l], sizes[l + 1], rng, dtype)
                enc_W.append(W)
                enc_b.append(np.zeros(sizes[l + 1], dtype))
                dec_W.append(np.ascontiguousarray(W.T))
                dec_b.append(np.zeros(sizes[l], dtype))
        return enc_W + dec_W[::-1], enc_b + dec_b[::-1]

    # ------------------------------------------------------------ data maps
    def _resolve_visible(self, X, inner):
        if inner is not None:
            vis = inner.first_layer
            if self.visible_units not in ("auto", vis):
                raise ValueError(
                    f"visible_units={self.visible_units!r} does not match the dbn's "
                    f"first_layer={vis!r}."
                )
        elif self.visible_units == "auto":
            # DBN's first_layer="auto" rule: min-max scaled measurements get Gaussian units
            vis = _auto_first_layer(X)
        else:
            vis = self.visible_units
        if _bounded_visible(vis):
            _check_unit_interval(
                X, "visible_units='bernoulli' needs X in [0, 1] (the cross-entropy "
                "reconstruction loss)", " Scale X to [0, 1] (e.g. MinMaxScaler) or use "
                "visible_units='gaussian' (or 'auto') for real-valued data.")
        return vis

    def _standardise(self, X, mean, scale):
        X = X.toarray() if sp.issparse(X) else np.asarray(X)
        return np.ascontiguousarray((X - mean) / scale, dtype=X.dtype)

    def _network_input(self, X):
        """Validated X in the network's units (standardised for Gaussian units)."""
        X = self._validate_X_predict(X)
        if _standardised_visible(self.visible_units_):
            return self._standardise(X, self._x_mean, self._x_scale)
        return X

    # ------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=False)
    @Substitution()
    def fit(self, X, y=None):
        """Pretrain the RBM stack on X, unroll it, and fine-tune on reconstruction.

        A fit that raises leaves the estimator exactly as it was (a
        divergence in fine-tuning leaves, consistently, the new fit's network
        of its last finite epoch and raises ``DivergenceError``). Ctrl-C
        (KeyboardInterrupt) during fine-tuning after at least one epoch keeps
        the network of the last completed (or, with ``early_stopping``, best)
        epoch with a RuntimeWarning and ``interrupted_ = True``; earlier, the
        estimator is left as it was and the KeyboardInterrupt is re-raised
        with the DBN pretrained so far as its ``dbn`` attribute, which
        ``DBNAutoencoder(dbn=exc.dbn, ...)`` fine-tunes without pretraining
        again.

        {X_dask_params}
            Training data, float64 or float32 (kept: float32 in gives a
            float32 model). In [0, 1] for Bernoulli visible units.
            A dask array or a ``numpy.memmap`` is accepted.
            {network_streaming}
            With Gaussian visible units, pretraining streams the standardised
            rows (built lazily) and fine-tuning standardises X into a second
            in-memory array of the same size (twice the memory).
        {unsupervised_fit_returns}

        Raises
        ------
        ValueError
            On bad input (NaN/inf, 1-D, empty), X outside [0, 1] with
            ``visible_units="bernoulli"``, a bad parameter, or divergence
            (``DivergenceError``, a ValueError naming ``learning_rate_init``).
        TypeError
            If ``dbn`` is not a :class:`~rbmlib.DBN`.
        KeyboardInterrupt
            If interrupted before a fine-tuning epoch completed.
        """
        return self._atomic_fit(X, None)

    @_fit_context(prefer_skip_nested_validation=False)
    @Substitution()
    def partial_fit(self, X, y=None):
        """One fine-tuning epoch over X.

        On an unfitted estimator the first call builds the network as
        :meth:`fit` does -- including the greedy pretraining, on this first
        X, per ``n_iter_pretrain`` or ``dbn`` (``n_iter_pretrain=0`` for
        none) -- and fixes the visible units and (for Gaussian units) the
        standardisation from this X; then every call runs one epoch of
        back-propagation over X, continuing the optimiser's state.
        ``n_iter_``, ``t_`` and ``loss_curve_`` accumulate over the calls.
        A call that raises leaves the estimator as it was.

        {X_params}
        {unsupervised_fit_returns}

        Raises
        ------
        ValueError
            On bad input, a different number of features than the first
            call's, or with ``early_stopping=True``.
        """
        return self._atomic_fit(X, None, incremental=True)

    def _fit(self, X, y=None, incremental=False):
        inner = self._check_settings()
        cont = hasattr(self, "coefs_") and (incremental or self.warm_start)
        X, _, _, X_dask = self._dask_inputs(X)
        X = _validate_fit_X(self, X, reset=not (incremental and cont))
        X_pre = self._pretrain_input(X_dask, X)
        if cont:
            vis = self.visible_units_
            if _bounded_visible(vis):
                _check_unit_interval(X, "This DBNAutoencoder was fitted with Bernoulli "
                                        "visible units and needs X in [0, 1]")
        else:
            vis = self._resolve_visible(X, inner)
        extra = {"visible_units_": vis, "_x_mean": None, "_x_scale": None}
        if _standardised_visible(vis):
            if cont and self._x_mean is not None:
                mean, scale = self._x_mean, self._x_scale
            elif sp.issparse(X):
                m, v = mean_variance_axis(X, axis=0)
                mean, scale = m, _handle_zeros_in_scale(np.sqrt(v))
            else:
                mean = X.mean(axis=0, dtype=np.float64)
                scale = _handle_zeros_in_scale(X.std(axis=0, dtype=np.float64))
            mean, scale = np.asarray(mean, X.dtype), np.asarray(scale, X.dtype)
            Xn = self._standardise(X, mean, scale)
            Y = Xn
            extra.update(_x_mean=mean, _x_scale=scale)
            if X_pre is not None:  # pretraining streams the standardised dask rows
                X_pre = ((X_pre - mean) / scale).astype(X.dtype)
            out = "identity"
        else:
            Xn = X
            Y = X.toarray() if sp.issparse(X) else X
            out = "logistic"
        self._visible_fit = vis  # read by _pretrain_layers; restored if the fit fails
        arch = self.architecture
        if cont:
            arch = "continue"
        elif arch == "auto" and (inner is not None or incremental or sp.issparse(X)
                                 or X.shape[0] < _MIN_SELECTION_ROWS):
            arch = "deep"
        if arch == "pca":
            state = self._pca_state(X, vis, extra, n_rows=X.shape[0])
            if not incremental:
                return self._set_state(state)
            self._set_state(state)  # partial_fit: one epoch from it (undone on failure)
            arch = "continue"
        X_lab, Y_lab, held = Xn, Y, None
        if arch == "auto":
            perm = check_random_state(self.random_state).permutation(X.shape[0])
            n_held = max(1, int(round(_SELECTION_FRACTION * X.shape[0])))
            held, rows = np.sort(perm[:n_held]), np.sort(perm[n_held:])
            X_lab, Y_lab = Xn[rows], Y[rows]
        state = self._fit_network(Xn, X_lab, Y_lab, out, _neg_sq_error, None, inner, extra,
                                  incremental=incremental, X_pretrain=X_pre)
        if arch == "continue":
            state["architecture_"] = self.architecture_
            state["selection_errors_"] = self.selection_errors_
        else:
            state["architecture_"], state["selection_errors_"] = "deep", None
        if arch == "auto":
            state = self._select(state, X, Xn, vis, extra, rows, held)
        state["n_components_"] = state["coefs_"][len(state["coefs_"]) // 2 - 1].shape[1]
        return self._set_state(state)

    # ------------------------------------------------------------ inference
    def _code_layer(self):
        return len(self.coefs_) // 2 - 1

    @Substitution()
    def transform(self, X):
        """Codes: the encoder's output (the code layer's activations).

        {X_dask_params}

        Returns
        -------
        codes : ndarray of shape (n_samples, n_components_)
            In the float dtype of the model (float32 for a model fitted on
            float32). Linear codes for Gaussian code units, probabilities
            for Bernoulli ones. A dask X gives a lazy dask array.
        """
        if is_dask_collection(X):
            return lazy_method(self, "transform", X)
        return self._forward(self._network_input(X), layer=self._code_layer())

    def _decode(self, C):
        L = len(self.coefs_) // 2
        R = forward(C, self.coefs_[L:], self.intercepts_[L:], self.out_activation_,
                    n_jobs=self.n_jobs, activation=list(self.activations_[L:]))
        return self._output_units(R)

    def _output_units(self, R):
        """Network output in the units of X."""
        if _standardised_visible(self.visible_units_):
            R = R * self._x_scale + self._x_mean
        return R

    def inverse_transform(self, X):
        """Reconstructions: the decoder's output for given codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components_)
            Codes, as returned by :meth:`transform`.

        Returns
        -------
        X_rec : ndarray of shape (n_samples, n_features_in_)
            Reconstructions in the units of the training data
            (probabilities in [0, 1] for Bernoulli visible units, except with
            ``architecture_ == "pca"``: PCA's linear reconstruction), in the
            model's float dtype.

        Raises
        ------
        ValueError
            If the codes do not have ``n_components_`` columns.
        """
        check_is_fitted(self)
        dtype = self.coefs_[0].dtype
        C = check_array(X, dtype=[np.float64, np.float32])
        if C.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {C.shape[1]} features (codes), but {type(self).__name__} has a code "
                f"layer of n_components_={self.n_components_} units."
            )
        return self._decode(np.ascontiguousarray(C, dtype=dtype))

    @Substitution()
    def reconstruct(self, X):
        """``inverse_transform(transform(X))`` in one pass.

        {X_params}

        Returns
        -------
        X_rec : ndarray of shape (n_samples, n_features_in_)
            In the units of X.
        """
        return self._output_units(self._forward(self._network_input(X)))

    @Substitution()
    def score(self, X, y=None):
        """Minus the mean squared reconstruction error per sample.

        ``-mean_i sum_j (X_ij - R_ij)^2`` with ``R = reconstruct(X)``: the
        squared error summed over the features and averaged over the rows,
        in the units of X (the measure of Hinton and Salakhutdinov 2006 on
        MNIST), whatever the training loss; higher is better.

        {X_params}
        {y_ignored}

        Returns
        -------
        score : float
        """
        R = self.reconstruct(X)
        Xv = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                           reset=False)
        Xv = canonical_csr(Xv)
        Xd = Xv.toarray() if sp.issparse(Xv) else np.asarray(Xv)
        return _neg_sq_error(Xd, R.astype(np.float64))

    @property
    def _n_features_out(self):
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
