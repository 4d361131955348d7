"""Numpydoc fragments shared by the DBN networks' docstrings.
"""


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
