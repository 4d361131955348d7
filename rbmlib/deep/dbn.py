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

import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _num_samples,
    check_is_fitted,
    validate_data,
)

from .. import _fitting
from .._blocks import (
    compute_rows,
    fit_streaming,
    is_dask_collection,
    lazy_method,
    pretrain_streaming,
    streaming_source,
)
from .._docstrings import Substitution
from .._parallel import thread_limits
from .._params import ParamGroup, with_init
from ..mlp import (
    canonical_csr,
)
from ..rbm._base import RBM_CLASSES
from ..rbm._common import value_range
from ..rbm._params import CD_STEP
from ..rbm._tempering import temperature_ladder, tempered_gibbs
from ..rbm.bernoulli import BernoulliRBM
from ..rbm.categorical import CategoricalRBM, categorical_input_tags
from ..units import HIDDEN_UNITS
from ._layers import (
    _FIRST_LAYERS,
    _affine_hidden_map,
    _auto_epochs,
    _auto_first_layer,
    _categorical_first_layer,
    _default_learning_rate,
    _floor_scale,
    _hidden_unit_names,
    _input_scaler,
    _interior_counts,
    _is_categorical_frame,
    _layer_sizes,
    _per_layer,
    _rbm_class,
    _standardised_layer,
    _validate_fit_X,
)

#: The DBN's parameters before and after the CD step's; those the layers' RBMs take
#: (``_rbm_settings``) accept one value per layer as well.
_HEAD = ParamGroup(
    hidden_layer_sizes=((256, 256), ["array-like", Interval(Integral, 1, None, closed="left")]),
    first_layer=("auto", [StrOptions(set(_FIRST_LAYERS))]),
    hidden_units=("bernoulli", [StrOptions(set(HIDDEN_UNITS)), "array-like"]),
    learning_rate=(None, [None, Interval(Real, 0, None, closed="neither"), "array-like"]),
    batch_size=(10, [Interval(Integral, 1, None, closed="left"), "array-like"]),
    n_iter=("auto", [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"}),
                     "array-like"]),
)
#: The RBMs' CD step (rbmlib.rbm._params.CD_STEP), one value for all layers or one per layer.
_PER_LAYER_CD_STEP = ParamGroup(**{name: (default, [*constraints, "array-like"])
                                   for name, (default, constraints) in CD_STEP.params.items()})
_TAIL = ParamGroup(
    sample_visible=(False, ["boolean", "array-like"]),
    rbm_params=(None, [None, dict, list, tuple]),
    verbose=(0, ["verbose"]),
    random_state=(None, ["random_state"]),
    n_jobs=(None, [None, Integral]),
    block_size=("auto", [None, StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")]),
)


@with_init(_HEAD, _PER_LAYER_CD_STEP, _TAIL)
@Substitution()
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
        value of X lies in [0, 1] and no column looks like a measurement
        (binary, one-hot, probability or image data such as scikit-learn's
        digits / 16), categorical for a DataFrame without a numeric column,
        and Gaussian for any other real-valued X (standardised, raw or mixed
        columns, and X in [0, 1] with a column more than 80% of whose values
        lie strictly between 0.1 and 0.9, as a min-max scaled measurement's
        do: on such a table Bernoulli units lost up to 0.05 R^2 to
        scikit-learn's MLP, see benchmarks/RESULTS.md), which the DBN then
        standardises itself with the
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
    hidden_units : {{hidden_unit_names}} or list of them, default="bernoulli"
        Hidden units of each RBM (the ``hidden_units`` parameter of the RBM
        classes), once for all layers or one per layer, bottom first.
        ``transform`` returns the top layer's conditional means (probabilities
        for Bernoulli units, ``max(0, x)`` for NReLU units and ``x`` for
        Gaussian, i.e. linear, units, with ``x = c + W v``; each type's
        ``HiddenUnits.mean``). The layer above a real-valued layer
        ({real_valued_hidden_units}) is a :class:`~rbmlib.GaussianBernoulliRBM`
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
        hidden units a smaller rate, over Bernoulli or categorical / over
        Gaussian visible units (``HiddenUnits.learning_rates``, with the
        measurements that chose them in :mod:`rbmlib.units`: at 0.1 such
        units die or diverge, and over Gaussian visible units neither layer is
        bounded): {hidden_unit_learning_rates}.
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
        Their ``history_`` holds the pseudo-log-likelihood (whose exact
        value costs more than a CD epoch of a 200-row table) in epochs 1, 2,
        4, 8, ... and the last one only, NaN in the others, unless
        ``verbose`` prints it every epoch; the reconstruction error is
        recorded in every epoch.
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
        **_HEAD.constraints, **_PER_LAYER_CD_STEP.constraints, **_TAIL.constraints,
    }

    _rbm_settings = ("learning_rate", "batch_size", "n_iter", "k", "persistent", "momentum",
                     "weight_decay", "sparsity_target", "sparsity_cost", "sample_visible")

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
            # (e.g. sample_visible, which Gaussian visible units do not have); where
            # first_layer="auto" chose the units, a setting of any RBM class is no
            # typo (the user could not know which units the data would get)
            pool = set(RBM_CLASSES.values()) if self.first_layer == "auto" else set(classes)
            unknown = set(extra[0]).difference(*[c._get_param_names() for c in pool])
            if unknown:
                raise TypeError(
                    f"rbm_params: {sorted(unknown)} is not a parameter of any layer's RBM "
                    f"class ({sorted({c.__name__ for c in pool})}).")
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
                rate = _default_learning_rate(first_layer, l, hidden_units)
                if rate is not None:
                    kw["learning_rate"] = rate
            kw["hidden_units"] = hidden_units[l]  # every RBM class takes them
            kw.update(extra[l])
            rbms.append(cls(n_components=h, random_state=int(seeds[l]),
                            verbose=max(0, int(self.verbose) - 1), n_jobs=self.n_jobs, **kw))
        # every layer's settings are checked before any layer trains
        for rbm in rbms:
            rbm._validate_params()
            # history_'s pseudo-likelihood costs more than CD itself on a small table:
            # in epochs 1, 2, 4, 8, ... and the last only, unless verbose prints it
            rbm._score_every_epoch = False
        return rbms

    @_fit_context(prefer_skip_nested_validation=False)
    @Substitution()
    def fit(self, X, y=None):
        """Train the layers greedily, bottom first.

        A fit that raises leaves the DBN exactly as it was. Ctrl-C
        (KeyboardInterrupt) stops all training at once, wherever it lands: the
        layers (and epochs) completed so far are kept, a RuntimeWarning says
        what was completed and ``interrupted_`` is set to True; if no epoch
        of the first layer had completed, the DBN is left as it was and the
        KeyboardInterrupt is re-raised.

        {X_params}
            Training data (in [0, 1] for a Bernoulli first layer; categories,
            as integer codes or a DataFrame, for a categorical one). Duplicate
            entries of a CSR matrix are summed (on a copy), as scipy does.
        {unsupervised_fit_returns}

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
        with _fitting.transaction(self):
            return self._fit(X)

    def _fit(self, X):
        first_layer = self.first_layer
        if first_layer == "auto" and _is_categorical_frame(X):
            first_layer = "categorical"
        categorical = _categorical_first_layer(first_layer)
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
            ranges, interior, n_rows = [], 0, 0
            for block in source.blocks():
                ranges.append(value_range(block))
                interior = interior + _interior_counts(block)
                n_rows += block.shape[0]
            first_layer = _auto_first_layer(None, min(r[0] for r in ranges),
                                            max(r[1] for r in ranges), interior, n_rows)
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

    @Substitution()
    def score(self, X, y=None):
        """Mean pseudo-log-likelihood of the samples under the bottom RBM, in nats.

        ``self.rbms_[0].score(X)`` (see :meth:`rbmlib.BernoulliRBM.score`):
        higher is better, for unsupervised model selection (``GridSearchCV``,
        ``dask_ml``) without a downstream estimator. It measures the first
        layer only; the upper layers do not enter it.

        {X_dask_params}
        {unsupervised_score_returns}

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

    @Substitution()
    def transform(self, X):
        """Hidden conditional means of the top layer (an upward mean-field pass).

        Each layer's ``transform`` (probabilities for Bernoulli hidden units,
        ``max(0, x)`` for NReLU and ``x`` for Gaussian ones, with ``x`` the
        pre-activation) is applied to the layer below's, standardised first
        for a layer with a scaler in ``scalers_``.

        {X_params}
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

    def sample(self, n_samples=1, n_gibbs=1000, random_state=None, *, n_temperatures=1,
               inverse_temperatures=None):
        """Draw samples from the DBN's generative model.

        Runs ``n_gibbs`` steps of block Gibbs sampling in the top RBM (an
        undirected associative memory), starting from visible states drawn
        from its visible biases, then passes down through the directed
        lower layers, sampling binary states and returning the bottom
        layer's visible means ``E[v | h_1]`` (Hinton et al. 2006).
        With ``n_temperatures > 1`` the top RBM's chains are the beta = 1
        replicas of parallel tempering (Desjardins et al. 2010), which move
        between the modes (digit classes) that plain Gibbs chains stay in.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        n_gibbs : int, default=1000
            Gibbs steps in the top RBM.
        random_state : int, RandomState instance or None, default=None
            Seed of the chains.
        n_temperatures : int, default=1
            Inverse temperatures of parallel tempering in the top RBM (1: Gibbs
            sampling). Each of the ``n_gibbs`` sweeps makes one Gibbs step of
            every replica, then proposes Metropolis swaps of neighbouring
            temperatures (:func:`rbmlib.rbm._tempering.tempered_gibbs`); the
            cost is ``n_temperatures`` times that of Gibbs sampling. Needs
            hidden units with a free energy in the top RBM.
        inverse_temperatures : array-like of shape (n_temperatures,), default=None
            The ladder: decreasing positive values starting at 1.0. None:
            geometric from 1 to 0.1.

        Returns
        -------
        V : ndarray of shape (n_samples, n_features_in_)
            Visible means (probabilities for Bernoulli units); for a
            categorical DBN, categories sampled from the bottom layer's
            softmax groups (in the dtype of ``categories_``, or object).

        Raises
        ------
        ValueError
            If n_samples < 1 or n_gibbs < 0, or the ladder is not valid.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}.")
        if not isinstance(n_gibbs, Integral) or n_gibbs < 0:
            raise ValueError(f"n_gibbs must be a non-negative integer; got {n_gibbs!r}.")
        rng = check_random_state(random_state)
        top = self.rbms_[-1]
        betas = None
        if n_temperatures != 1 or inverse_temperatures is not None:
            betas = temperature_ladder(n_temperatures, inverse_temperatures)
            top._hidden_unit().check_free_energy("Parallel tempering in DBN.sample")
        H = top.components_.shape[0]
        L = len(self.rbms_)
        with thread_limits(self.n_jobs):
            # h = 0 gives visible states drawn from the visible biases alone
            v = top._sample_visibles(np.zeros((n_samples, H), top.components_.dtype), rng)
            if betas is not None and betas.shape[0] > 1:
                v, _ = tempered_gibbs(top, v, n_gibbs, betas, rng)
            else:
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
        standardisation undone and the values put back in the range of the hidden
        units' states (``HiddenUnits.clip``: at 0 for NReLU units)."""
        scaler = self._scaler(l)
        if scaler is None:
            return v
        h = scaler.inverse_transform(np.asarray(v)).astype(v.dtype, copy=False)
        return self.rbms_[l - 1]._hidden_unit().clip(h)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        if _categorical_first_layer(self.first_layer):
            categorical_input_tags(tags)
        return tags

    @property
    def _n_features_out(self):
        return self.rbms_[-1].n_components


# --------------------------------------------------------------------------
# Fine-tuned networks
# --------------------------------------------------------------------------
