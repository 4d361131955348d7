"""The DBN part of ``python -m rbmlib demo``: a DBNClassifier beside a plain MLP.

Not public API: :mod:`rbmlib.__main__` calls :func:`run_dbn_demo` and prints
its rows.
"""

import time


def _digits_split(random_state=0):
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = np.asarray(X, dtype=np.float64) / 16.0
    return train_test_split(X, y, test_size=0.2, random_state=random_state, stratify=y)


def run_dbn_demo(X_train=None, X_test=None, y_train=None, y_test=None, *, quick=False,
                 hidden_layer_sizes=(100, 100), random_state=0, seeds=None):
    """Fit a DBNClassifier and scikit-learn's MLPClassifier of the same shape.

    Both networks have logistic hidden units and are trained by mini-batch
    SGD with Nesterov momentum for the same number of epochs; the DBN's
    hidden layers start from greedy layer-wise pretraining, the MLP's from
    a random initialisation. A DBNClassifier without pretraining is the
    third row, to separate the effect of pretraining from the
    implementation. The RBMs of the pretraining use BernoulliRBM's defaults
    (scikit-learn's algorithm); over seeds 0, 1, 2 they gave a mean test
    accuracy of 0.974 against 0.966 without pretraining and 0.967 for the MLP.

    Parameters
    ----------
    X_train, X_test : ndarray of shape (n_samples, 64), default=None
        Digits pixels in [0, 1]; None loads scikit-learn's digits and splits
        them 80/20 (stratified, ``random_state``).
    y_train, y_test : ndarray of shape (n_samples,), default=None
        Labels.
    quick : bool, default=False
        Fewer epochs (a few seconds in all).
    hidden_layer_sizes : tuple of int, default=(100, 100)
    random_state : int, default=0
        Seeds the split when the data are loaded here.
    seeds : sequence of int, default=None
        ``random_state`` values of the networks; accuracy and time are averaged
        over them. None: (0, 1, 2), or (0,) when ``quick``.

    Returns
    -------
    rows : list of (str, float, float)
        ``(model name, mean test accuracy, mean fit time in seconds)``.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from rbmlib import DBNClassifier

    if X_train is None:
        X_train, X_test, y_train, y_test = _digits_split(random_state)
    n_pre = 5 if quick else 20
    epochs = 20 if quick else 60
    sizes = tuple(hidden_layer_sizes)
    shape = "-".join(map(str, sizes))
    if seeds is None:
        seeds = (0,) if quick else (0, 1, 2)
    # SGD with Nesterov momentum for all three (DBNClassifier's default is Adam)
    finetune = dict(solver="sgd", learning_rate_init=0.1, momentum=0.9,
                    nesterovs_momentum=True, batch_size=20, max_iter=epochs)

    def models(seed):
        return [
            (f"rbmlib DBNClassifier {shape} (pretrained)",
             DBNClassifier(sizes, n_iter_pretrain=n_pre, batch_size_pretrain=10, alpha=1e-5,
                           learning_rate="cosine", tol=0.0, n_iter_no_change=epochs,
                           random_state=seed, **finetune)),
            (f"rbmlib DBNClassifier {shape} (no pretraining)",
             DBNClassifier(sizes, n_iter_pretrain=0, alpha=1e-5, learning_rate="cosine",
                           tol=0.0, n_iter_no_change=epochs, random_state=seed, **finetune)),
            (f"sklearn MLPClassifier {shape} (logistic)",
             MLPClassifier(sizes, activation="logistic", alpha=1e-4, random_state=seed,
                           **finetune)),
        ]

    scores = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in seeds:
            for name, model in models(seed):
                t0 = time.perf_counter()
                model.fit(X_train, y_train)
                seconds = time.perf_counter() - t0
                scores.setdefault(name, []).append((model.score(X_test, y_test), seconds))
    return [(name, sum(a for a, _ in v) / len(v), sum(t for _, t in v) / len(v))
            for name, v in scores.items()]
