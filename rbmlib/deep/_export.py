"""``to_sklearn``: a fitted DBN network as scikit-learn's MLPClassifier or MLPRegressor.

The network of :class:`~rbmlib.DBNClassifier` and :class:`~rbmlib.DBNRegressor`
is scikit-learn's MLP with other training rules, so a fitted one converts exactly
(same weights and activations) when scikit-learn's MLP can express it.
"""

__all__ = ["to_sklearn_mlp"]


def to_sklearn_mlp(network, cls):
    """The fitted ``network`` as a fitted scikit-learn MLP of class ``cls``.

    The weights and the fitted attributes scikit-learn's MLP reads are copied;
    the settings map to its parameters (solvers "adagrad"/"rmsprop" become
    "adam", the "cosine" schedule "constant"). The caller adds what is
    specific to ``cls`` (the classifier's ``classes_``).

    Parameters
    ----------
    network : DBNClassifier or DBNRegressor
        A fitted network.
    cls : type
        :class:`sklearn.neural_network.MLPClassifier` or ``MLPRegressor``.

    Returns
    -------
    mlp : cls

    Raises
    ------
    ValueError
        If the network reads a one-hot encoding (a categorical first layer),
        a hidden layer is "leaky_relu", or the hidden activations differ.
    """
    if network._encoder is not None:
        raise ValueError(
            "to_sklearn: this network reads the one-hot encoding of its categorical "
            "input (CategoricalRBM's, with missing entries as all-zero groups), which "
            "a scikit-learn MLP does not do; use the network itself.")
    sizes = tuple(W.shape[1] for W in network.coefs_[:-1])
    acts = list(network.activations_)
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
        solver=network.solver if network.solver in ("sgd", "adam") else "adam",
        alpha=network.alpha, batch_size=network.batch_size_ or network.batch_size,
        learning_rate=network.learning_rate if network.learning_rate != "cosine" else "constant",
        learning_rate_init=network.learning_rate_init_ or network.learning_rate_init,
        power_t=network.power_t,
        max_iter=network.max_iter, shuffle=network.shuffle, random_state=network.random_state,
        tol=network.tol, momentum=network.momentum, nesterovs_momentum=network.nesterovs_momentum,
        early_stopping=network.early_stopping, validation_fraction=network.validation_fraction,
        beta_1=network.beta_1, beta_2=network.beta_2, epsilon=network.epsilon,
        n_iter_no_change=network.n_iter_no_change, warm_start=network.warm_start,
    )
    mlp.coefs_ = [W.copy() for W in network.coefs_]
    mlp.intercepts_ = [b.copy() for b in network.intercepts_]
    mlp.n_features_in_ = network.n_features_in_
    if hasattr(network, "feature_names_in_"):
        mlp.feature_names_in_ = network.feature_names_in_
    mlp.n_layers_ = network.n_layers_
    mlp.n_outputs_ = network.n_outputs_
    mlp.out_activation_ = network.out_activation_
    mlp.n_iter_ = network.n_iter_
    mlp.t_ = network.t_
    mlp.loss_ = network.loss_
    mlp.loss_curve_ = list(network.loss_curve_)
    mlp.best_loss_ = network.best_loss_
    mlp.validation_scores_ = network.validation_scores_
    mlp.best_validation_score_ = network.best_validation_score_
    mlp._no_improvement_count = 0
    return mlp
