"""The fine-tuning network built from a DBN, shared by :class:`DBNClassifier`,
:class:`DBNRegressor` and :class:`DBNAutoencoder`: pretraining, exact weight transfer,
the flat-layer rule and back-propagation fine-tuning (``to_sklearn``'s conversion is
:mod:`rbmlib.deep._export`).
"""

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    clone,
)
from sklearn.utils import check_random_state
from sklearn.utils.validation import (
    _check_y,
    _num_features,
    _num_samples,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from .. import _fitting
from .._blocks import compute_rows, is_dask_collection
from .._docstrings import Substitution
from .._params import with_init
from ..exceptions import DivergenceError
from ..mlp import (
    BackpropSettings,
    StoppingRule,
    canonical_csr,
    fit_backprop,
    forward,
    glorot_uniform,
    hidden_kinds,
)
from ..optim import Optimizer
from ..units import HIDDEN_UNITS
from ._layers import (
    _AUTO_LEARNING_RATE,
    _AUTO_SMALL,
    _AUTO_SMALL_BATCH,
    _AUTO_SMALL_LEARNING_RATE,
    _FLAT_STD,
    _auto_first_layer,
    _categorical_dbn,
    _categorical_first_layer,
    _dbn_affine_maps,
    _fitted_first_layer,
    _hidden_unit_names,
    _is_categorical_frame,
    _layer_activation,
    _layer_sizes,
    _validate_fit_X,
)
from ._params import ACTIVATION, DBN_NETWORK, FINE_TUNING, FINE_TUNING_MORE, RUN
from .dbn import DBN


class _BaseNetwork(BaseEstimator):
    """Back-propagation fine-tuning of a network started from a fitted generative model.

    The base of the DBN networks (:class:`_BaseDBNNetwork`) and of
    :class:`~rbmlib.DBMClassifier`: the fine-tuning parameters, the fit
    transaction, the fine-tuning call with its optimiser and stopping rule,
    ``partial_fit`` and ``warm_start``, Ctrl-C and divergence, and prediction.
    A subclass supplies the model that starts the network through these hooks
    (as scikit-learn's ``BaseMixture`` declares its own):

    * ``_check_settings()``: validate the settings, return the given model (or None);
    * ``_n_hidden(inner)``, ``_unit_activations(inner)``: the hidden layers and the
      activations matching their units, checked before any training;
    * ``_fit_model(X, X_pretrain, rng, inner)``: the fitted model (or None), and
      ``_start_network(model, inner, X, Y, rng)``: the network started from it,
      ``(n_pretrained, coefs, intercepts, activations)``;
    * ``_input_map(X, model)``: what the network reads of validated X (X itself
      for a DBN; ``[X, q(h_2 | X)]`` for a DBM);
    * ``_validate_fit_input``, ``_first_layer_of``: the validated input of a fit
      and the name of the visible units the network was started from.

    The fitted model is stored in the attribute named ``_model_attr``.
    """

    # the fine-tuning parameters; a subclass adds those of its model
    _parameter_constraints: dict = {
        **FINE_TUNING.constraints, **ACTIVATION.constraints,
        **FINE_TUNING_MORE.constraints, **RUN.constraints,
    }

    _out_name = "values"
    #: Whether "auto" fine-tuning takes smaller batches and a larger step on small
    #: tables (the classifier; a regressor's noisy targets overfit with them).
    _small_table_steps = False
    #: The fitted network's optimiser state, continued by partial_fit (None before
    #: the first fit) and the CategoricalRBM whose one-hot encoding of X it reads
    #: (None: X is read as it is); set by every fit.
    _optimizer_state = None
    _encoder = None

    #: The fitted attribute holding the model that started the network.
    _model_attr = "dbn_"

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
        """Run ``_fit`` in the shell's transaction: a failure leaves the estimator as it was.

        On a fine-tuning divergence the estimator holds, consistently, the new
        fit's state after its last finite epoch (set by ``_fit``) and the
        DivergenceError propagates.
        """
        with _fitting.transaction(self, keep=lambda exc: getattr(exc, "_network_set", False)):
            return self._fit(X, y, **kw)


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

    def _fitted_start(self):
        """The fitted network that partial_fit and ``warm_start`` continue."""
        return {"coefs": self.coefs_, "intercepts": self.intercepts_,
                "activations": list(self.activations_),
                "model": getattr(self, self._model_attr),
                "pretrained_layers": self.pretrained_layers_}

    def _warm_start_state(self, n_features, n_outputs):
        """The fitted network to continue from with ``warm_start``, or None."""
        if not (self.warm_start and hasattr(self, "coefs_")):
            return None
        n_in = self._network_n_inputs(n_features, getattr(self, self._model_attr))
        if self.coefs_[0].shape[0] != n_in or self.coefs_[-1].shape[1] != n_outputs:
            raise ValueError(
                f"warm_start=True continues the fitted network of {self.coefs_[0].shape[0]} "
                f"inputs and {self.coefs_[-1].shape[1]} outputs; this fit has "
                f"{n_in} inputs and {n_outputs} outputs. Set warm_start=False "
                f"to fit a new network.")
        return self._fitted_start()

    # ------------------------------------------------ hooks of the input model
    def _input_map(self, X, model):
        """What the network reads of validated ``X``, given the fitted ``model``: X."""
        return X

    @staticmethod
    def _network_n_inputs(n_features, model):
        """The network's inputs for ``n_features`` columns of X (``_input_map``'s width)."""
        return n_features

    def _first_layer_of(self, model, X, extra):
        """The name of the visible units of the fitted ``model`` (``first_layer_``)."""
        return "bernoulli"

    def _validate_fit_input(self, X, y, X_dask, inner, reset, cont, **check_y):
        """Validated ``(X, y, X_pretrain, encoder)`` of a fit (X as float, no encoder)."""
        X, y = _validate_fit_X(self, X, y, reset=reset, **check_y)
        return X, y, self._pretrain_input(X_dask, X), None

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

    def _fine_tuning_config(self, n_labelled, activations, incremental=False):
        """``(optimizer, stopping, settings)`` of :func:`rbmlib.mlp.fit_backprop`.

        The :class:`~rbmlib.optim.Optimizer` (with the fitted network's state
        when partial_fit continues it), the :class:`~rbmlib.mlp.StoppingRule`
        (one epoch in partial_fit) and the :class:`~rbmlib.mlp.BackpropSettings`
        of this estimator's parameters, "auto" resolved for ``n_labelled`` rows.
        """
        batch_size, lr = self._fine_tuning_steps(n_labelled, incremental)
        optimizer = Optimizer(self.solver, lr, self.learning_rate, self.power_t, self.momentum,
                              self.nesterovs_momentum, self.beta_1, self.beta_2, self.rho,
                              self.epsilon)
        if incremental:
            optimizer.set_state(self._optimizer_state)
        stopping = StoppingRule(
            max_iter=1 if incremental else self.max_iter, tol=self.tol,
            n_iter_no_change=self.n_iter_no_change, early_stopping=self.early_stopping,
            validation_fraction=self.validation_fraction, incremental=incremental)
        settings = BackpropSettings(
            batch_size=batch_size, shuffle=self.shuffle, alpha=self.alpha,
            alpha_l1=self.alpha_l1, dropout=self.dropout, input_dropout=self.input_dropout,
            max_norm=self.max_norm,
            activation=activations, negative_slope=self.negative_slope,
            verbose=self.verbose, n_jobs=self.n_jobs, name=type(self).__name__)
        return optimizer, stopping, settings


    def _fit_network(self, X, X_lab, Y, out_activation, score, stratify, inner, extra,
                     sample_weight=None, incremental=False, X_pretrain=None,
                     X_unlabeled=None, unlabeled_entropy_weight=0.0):
        """Pretrain, fine-tune and return the new fitted state (a dict), or raise.

        ``X_unlabeled`` (rows of X without a label, or None) and
        ``unlabeled_entropy_weight`` add entropy minimisation on them to
        fine-tuning (:func:`rbmlib.mlp.fit_backprop`).

        ``X_pretrain`` (a dask array with the rows of X, or None for X
        itself) is what the DBN is pretrained on, streamed in blocks.

        Nothing is set on the estimator here except on divergence in
        fine-tuning (the state of the last finite epoch, consistently).
        ``incremental`` (partial_fit): one epoch, continuing the fitted
        network and its optimiser state when there is one.
        """
        rng = check_random_state(self.random_state)
        name = type(self).__name__
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        start = None
        if incremental and hasattr(self, "coefs_"):
            start = self._fitted_start()
        elif not incremental:
            start = self._warm_start_state(X.shape[1], Y.shape[1])
        activations = (start["activations"] if start is not None
                       else self._activations(self._n_hidden(inner),
                                              self._unit_activations(inner)))
        dbn = None
        try:
            if start is None:
                dbn = self._fit_model(X, X_pretrain, rng, inner)
                if (dbn is not None and getattr(dbn, "interrupted_", False)
                        and dbn is not inner):
                    raise KeyboardInterrupt  # Ctrl-C in the model's training
                n_pre, coefs, intercepts, activations = self._start_network(
                    dbn, inner, X, Y, rng)
            else:
                dbn = start["model"]
                n_pre = start["pretrained_layers"]
                coefs = [W.astype(X.dtype) for W in start["coefs"]]
                intercepts = [b.astype(X.dtype) for b in start["intercepts"]]
        except BaseException as exc:
            self._interrupted_before_finetuning(exc, dbn, inner, name, resumed=start is not None,
                                                incremental=incremental)
            raise
        try:
            first_layer = self._first_layer_of(dbn, X, extra)
            X_lab = self._input_map(X_lab, dbn)
            if X_unlabeled is not None:
                X_unlabeled = self._input_map(X_unlabeled, dbn)
            optimizer, stopping, settings = self._fine_tuning_config(
                X_lab.shape[0], activations, incremental)
            extra = dict(extra, first_layer_=first_layer, batch_size_=settings.batch_size,
                         learning_rate_init_=optimizer.learning_rate_init,
                         pretrained_layers_=n_pre, activations_=activations,
                         negative_slope_=float(self.negative_slope))
            settings.unlabeled_entropy_weight = float(unlabeled_entropy_weight)
            res = fit_backprop(
                X_lab, Y, coefs, intercepts, out_activation=out_activation, score=score,
                rng=rng, optimizer=optimizer, stopping=stopping, settings=settings,
                sample_weight=sample_weight, stratify=stratify, X_unlabeled=X_unlabeled)
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
        param = self._model_attr.rstrip("_")  # "dbn" or "dbm"
        if pretrained_here:
            hint = (f"; the {param.upper()} {self._model_progress(dbn)} is attached to "
                    f"the exception as exc.{param}: pass it back with "
                    f"{name}({param}=exc.{param}, ...) to fine-tune from it without "
                    f"training it again")
        elif what == "pretraining":
            hint = "; no layer had completed an epoch"
        else:
            hint = ""
        warnings.warn(
            f"{name}: {call} interrupted by the user (KeyboardInterrupt) during {what}, "
            f"before any fine-tuning epoch completed; the estimator is left as it was "
            f"before {call} and the KeyboardInterrupt is re-raised{hint}.",
            RuntimeWarning)
        setattr(exc, param, dbn if pretrained_here else None)

    @staticmethod
    def _model_progress(model):
        """What the interrupted model had trained, for the KeyboardInterrupt warning."""
        return f"pretrained so far ({len(model.rbms_)} layer(s))"

    def _network_state(self, dbn, res, Y, out_activation, extra):
        state = dict(extra)
        state[self._model_attr] = dbn
        state.update(
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

    def __setstate__(self, state):
        # networks pickled before these fitted attributes existed: logistic hidden
        # layers, no record of the DBN nor of the resolved fine-tuning steps (None:
        # partial_fit resolves "auto" again, to_sklearn passes the parameters)
        state = dict(state)
        state.setdefault("max_norm", None)  # pickled before the max-norm constraint
        if "coefs_" in state:
            state.setdefault("activations_", ["logistic"] * (len(state["coefs_"]) - 1))
            state.setdefault("negative_slope_", 0.01)
            state.setdefault(self._model_attr, None)
            state.setdefault("pretrained_layers_", 0)
            state.setdefault("batch_size_", None)
            state.setdefault("learning_rate_init_", None)
        super().__setstate__(state)


    def _validate_X_predict(self, X):
        check_is_fitted(self)
        enc = self._encoder
        if enc is not None:
            # the categories the network was fitted on; unseen ones raise (or, with
            # handle_unknown="ignore", are missing: an all-zero group)
            return enc._onehot(enc._check_fitted_X(X), self.coefs_[0].dtype)
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                          reset=False)
        X = canonical_csr(X).astype(self.coefs_[0].dtype, copy=False)
        return self._input_map(X, getattr(self, self._model_attr))

    def _forward(self, X, layer=None):
        return forward(X, self.coefs_, self.intercepts_, self.out_activation_, layer=layer,
                       n_jobs=self.n_jobs,
                       activation=self.activations_, negative_slope=self.negative_slope_)

    @Substitution()
    def hidden_activations(self, X, layer=-1):
        """Activations of a hidden layer of the fine-tuned network.

        {X_params}
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


@with_init(DBN_NETWORK, RUN)
class _BaseDBNNetwork(_BaseNetwork):
    """Pretraining plus back-propagation, shared by the classifier, the regressor
    and the autoencoder; ``__init__`` (generated from the parameter groups of
    :mod:`rbmlib.deep._params`) and ``_parameter_constraints`` hold the
    parameters of DBNClassifier and DBNRegressor (scikit-learn's rule: each
    parameter explicit in the signature, stored as given); DBNClassifier adds
    the semi-supervised ones, DBNAutoencoder has its own set."""

    _parameter_constraints: dict = {
        **DBN_NETWORK.constraints, **RUN.constraints,
    }

    #: Whether the network takes first_layer="categorical" (one-hot encoded input).
    _categorical_input = True

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
        """The unfitted DBN of pretraining: its layers from :meth:`_pretrain_layers`,
        then this estimator's pretraining settings and ``pretrain_params``."""
        layers, defaults = self._pretrain_layers()
        return DBN(**layers, n_iter=self.n_iter_pretrain, batch_size=self.batch_size_pretrain,
                   verbose=self.verbose, random_state=seed, n_jobs=self.n_jobs,
                   **{**defaults, **(self.pretrain_params or {})})

    def _pretrain_layers(self):
        """``(layers, defaults)``: the pretrained DBN's ``hidden_layer_sizes``,
        ``first_layer``, ``hidden_units`` and ``learning_rate``, and DBN settings
        that ``pretrain_params`` may override (none here)."""
        return {"hidden_layer_sizes": self.hidden_layer_sizes, "first_layer": self.first_layer,
                "hidden_units": self.hidden_units,
                "learning_rate": self.learning_rate_pretrain}, {}

    def _check_settings(self):
        """Everything about the settings that can be checked before training."""
        inner = self._check_dbn()
        if inner is None:
            _hidden_unit_names(self.hidden_units, len(_layer_sizes(self.hidden_layer_sizes)))
            self._check_pretrain_params()
        elif not hasattr(inner, "rbms_"):
            inner._validate_params()
        return inner

    #: The estimator's parameters that set the pretrained DBN, named when
    #: pretrain_params tries to set the DBN's settings they own.
    _pretrain_settings = ("hidden_layer_sizes, hidden_units, n_iter_pretrain, "
                          "learning_rate_pretrain, batch_size_pretrain")

    def _check_pretrain_params(self):
        """ValueError when ``pretrain_params`` sets what the estimator's own parameters
        set; TypeError (prefixed ``pretrain_params:``) when the DBN refuses the rest."""
        bad = set(self.pretrain_params or {}) & {
            "hidden_layer_sizes", "first_layer", "hidden_units", "n_iter", "learning_rate",
            "batch_size", "verbose", "random_state", "n_jobs"}
        if bad:
            raise ValueError(
                f"pretrain_params must not set {sorted(bad)}: use the estimator's own "
                f"parameters ({self._pretrain_settings}, ...)."
            )
        try:
            self._pretrain_dbn(0)._validate_params()
        except TypeError as exc:
            raise TypeError(f"pretrain_params: {exc}") from None

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


    def _fit_model(self, X, X_pretrain, rng, inner):
        """The pretrained DBN (``dbn`` as it is when fitted), or None for random init."""
        return self._pretrain(X if X_pretrain is None else X_pretrain, rng, inner)

    def _start_network(self, dbn, inner, X, Y, rng):
        """The network started from the fitted ``dbn`` (None: random init).

        Returns ``(n_pretrained, coefs, intercepts, activations)``: the layers
        started from the DBN (flat layers, :meth:`_n_informative_layers`, start
        from random weights), the initial weights and the hidden activations.
        """
        name = type(self).__name__
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
        return n_pre, coefs, intercepts, activations

    def _first_layer_of(self, dbn, X, extra):
        if dbn is not None:
            return _fitted_first_layer(dbn)
        if extra.get("_encoder") is not None:
            return "categorical"
        return _auto_first_layer(X) if self.first_layer == "auto" else self.first_layer

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


    # ------------------------------------------------------ categorical input
    def _categorical_fit(self, inner, X=None):
        """Whether this fit reads categories (first_layer="categorical" or such a dbn,
        or "auto" with a DataFrame of categories)."""
        first_layer = getattr(inner if inner is not None else self, "first_layer", "bernoulli")
        if inner is not None and hasattr(inner, "rbms_"):
            return _categorical_dbn(inner)
        return _categorical_first_layer(first_layer) or (first_layer == "auto"
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
        enc = self._encoder if cont else None
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        if _categorical_first_layer(self.first_layer):
            tags.input_tags.sparse = False
            tags.input_tags.allow_nan = True
            tags.input_tags.categorical = True
            tags.input_tags.string = True
        return tags
