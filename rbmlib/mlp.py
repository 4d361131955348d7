"""The backprop network used to fine-tune a Deep Belief Network.

A multilayer perceptron with logistic (the pretrained RBMs' hidden units),
tanh, ReLU, leaky ReLU or identity hidden units, chosen per layer, and an
identity, logistic or softmax output layer, trained by mini-batch
back-propagation with any optimiser of :mod:`rbmlib.optim` (momentum SGD,
optionally Nesterov; Adagrad; RMSprop; Adam), L2 and L1 penalties, sample
weights, dropout on the input and hidden layers, a learning-rate schedule and
early stopping on a held-out validation fraction.

This module holds the network core, not an estimator: :func:`fit_backprop`
takes already validated arrays, initial weights and a random generator,
runs the Numba kernels of :mod:`rbmlib._kernels.mlp` and returns the fitted
weights with their training record. The estimators in :mod:`rbmlib.dbn`
(``DBNClassifier``, ``DBNRegressor``) own validation, randomness and the
fitted attributes. Weight matrices use scikit-learn's orientation:
``coefs[l]`` has shape ``(n_units_in, n_units_out)``, so the network
converts exactly into :class:`sklearn.neural_network.MLPClassifier` /
:class:`~sklearn.neural_network.MLPRegressor` with the same activation
(scikit-learn has no leaky ReLU and one activation for all layers).

References
----------
Hinton, G. E. and Salakhutdinov, R. R. (2006). Reducing the dimensionality
of data with neural networks. Science 313, 504-507.

Srivastava, N., Hinton, G., Krizhevsky, A., Sutskever, I. and
Salakhutdinov, R. (2014). Dropout: a simple way to prevent neural networks
from overfitting. JMLR 15, 1929-1958.

Sutskever, I., Martens, J., Dahl, G. and Hinton, G. (2013). On the importance
of initialization and momentum in deep learning. ICML.

Kingma, D. P. and Ba, J. (2015). Adam: a method for stochastic optimization.
ICLR.
"""

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from ._fitting import scale_cause
from ._kernels import mlp as _k
from ._parallel import thread_limits
from .optim import SCHEDULES, SOLVERS, Optimizer  # noqa: F401  (SCHEDULES re-exported)
from .exceptions import DivergenceError
from .rbm._common import _DIVERGENCE_LIMIT

OUT_ACTIVATIONS = {"identity": _k.IDENTITY, "logistic": _k.LOGISTIC, "softmax": _k.SOFTMAX}
#: Hidden activations by name (``"sigmoid"`` is an alias of ``"logistic"``).
ACTIVATIONS = {"logistic": _k.H_LOGISTIC, "sigmoid": _k.H_LOGISTIC, "tanh": _k.H_TANH,
               "relu": _k.H_RELU, "leaky_relu": _k.H_LEAKY_RELU, "identity": _k.H_IDENTITY}


def hidden_kinds(activation, n_hidden):
    """Kernel ids of the hidden activations, one per hidden layer.

    Parameters
    ----------
    activation : str or sequence of str
        One name of ``ACTIVATIONS`` for every hidden layer, or one per layer.
    n_hidden : int
        Number of hidden layers.

    Returns
    -------
    kinds : int64 ndarray of shape (max(n_hidden, 1),)

    Raises
    ------
    ValueError
        On an unknown name or a list of the wrong length.
    """
    names = [activation] * n_hidden if isinstance(activation, str) else list(activation)
    if len(names) != n_hidden:
        raise ValueError(
            f"activation must be one name or a list of one name per hidden layer "
            f"({n_hidden}); got {len(names)} names: {names!r}."
        )
    bad = [a for a in names if a not in ACTIVATIONS]
    if bad:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)} (or a list of "
                         f"them); got {bad[0]!r}.")
    kinds = np.zeros(max(n_hidden, 1), dtype=np.int64)
    kinds[:n_hidden] = [ACTIVATIONS[a] for a in names]
    return kinds

#: Rows per chunk in prediction (bounds the activation buffer).
PREDICT_CHUNK = 1024


class _Layout:
    """Offsets of the flat parameter vector and activation buffers.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, input first and output last (length ``L + 1``).
    """

    def __init__(self, sizes):
        self.sizes = np.asarray(sizes, dtype=np.int64)
        offsets = []
        o = 0
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            offsets.append(o)
            o += int(n_in * n_out)
            offsets.append(o)
            o += int(n_out)
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.n_params = o
        self.n_layers = len(self.sizes) - 1

    def a_off(self, B):
        return np.concatenate([[0], np.cumsum(self.sizes[1:-1])]).astype(np.int64) * B

    def acts(self, B, dtype):
        return np.zeros(B * int(self.sizes[1:].sum()), dtype=dtype)

    def pack(self, coefs, intercepts, dtype):
        params = np.empty(self.n_params, dtype=dtype)
        for l, (W, b) in enumerate(zip(coefs, intercepts)):
            o, ob = self.offsets[2 * l], self.offsets[2 * l + 1]
            params[o:ob] = np.asarray(W, dtype=dtype).ravel()
            params[ob:ob + self.sizes[l + 1]] = b
        return params

    def unpack(self, params):
        coefs, intercepts = [], []
        for l in range(self.n_layers):
            o, ob = self.offsets[2 * l], self.offsets[2 * l + 1]
            n_in, n_out = self.sizes[l], self.sizes[l + 1]
            coefs.append(params[o:ob].reshape(n_in, n_out).copy())
            intercepts.append(params[ob:ob + n_out].copy())
        return coefs, intercepts


def canonical_csr(X):
    """X itself, or for a CSR matrix with duplicate or unsorted entries a summed copy.

    The row-gathering kernels write each stored entry into a dense row, so a
    duplicate ``(i, j)`` would overwrite instead of add; scipy (``X @ W``,
    ``X.toarray()``) sums duplicates. The user's matrix is never modified.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)

    Returns
    -------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Dense input unchanged; sparse input as CSR in canonical format.
    """
    if not sp.issparse(X):
        return X
    if X.format != "csr":
        X = X.tocsr()
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    return X


def _kernel_X(X):
    """(dense, data, indices, indptr, is_sparse) for the kernels' row gathering."""
    if sp.issparse(X):
        X = canonical_csr(sp.csr_matrix(X))
        dense = np.zeros((1, X.shape[1]), dtype=X.dtype)
        return dense, X.data, X.indices, X.indptr, True
    X = np.ascontiguousarray(X)
    return X, np.zeros(1, X.dtype), np.zeros(1, np.int32), np.zeros(2, np.int32), False


def glorot_uniform(fan_in, fan_out, rng, dtype):
    """Weights ~ U(-r, r), r = sqrt(2 / (fan_in + fan_out)) (Glorot and Bengio 2010).

    The bound of scikit-learn's MLP for logistic units.

    Parameters
    ----------
    fan_in, fan_out : int
        Units feeding in and out.
    rng : numpy.random.RandomState
    dtype : dtype

    Returns
    -------
    W : ndarray of shape (fan_in, fan_out)
    """
    bound = math.sqrt(2.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype)


def forward(X, coefs, intercepts, out_activation, layer=None, n_jobs=None,
            activation="logistic", negative_slope=0.01):
    """Activations of one layer of the network for every sample (no dropout).

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Validated input, same float dtype as ``coefs``.
    coefs : list of ndarray of shape (n_units_in, n_units_out)
        Weights, one per layer.
    intercepts : list of ndarray of shape (n_units_out,)
        Biases, one per layer.
    out_activation : {"identity", "logistic", "softmax"}
        Output activation.
    layer : int, default=None
        Index of the layer whose output is returned (``0`` is the first
        hidden layer); None for the output layer. Negative values count from
        the end (``-2`` is the last hidden layer).
    n_jobs : int, default=None
        Threads for Numba and BLAS.
    activation : str or list of str, default="logistic"
        Hidden activation(s), see :func:`hidden_kinds`.
    negative_slope : float, default=0.01
        Slope of "leaky_relu" for negative inputs.

    Returns
    -------
    A : ndarray of shape (n_samples, n_units of that layer)
        Hidden probabilities, class probabilities or predicted values.
    """
    dtype = coefs[0].dtype
    sizes = [coefs[0].shape[0]] + [W.shape[1] for W in coefs]
    lay = _Layout(sizes)
    L = lay.n_layers
    upto = L - 1 if layer is None else (layer % L)
    n = X.shape[0]
    B = max(1, min(PREDICT_CHUNK, n))
    params = lay.pack(coefs, intercepts, dtype)
    out = np.empty((n, int(lay.sizes[upto + 1])), dtype=dtype)
    Xd, data, indices, indptr, is_sparse = _kernel_X(X)
    with thread_limits(n_jobs):
        _k.predict(Xd, data, indices, indptr, is_sparse, params, lay.sizes, lay.offsets,
                   lay.a_off(B), lay.acts(B, dtype), np.zeros((B, sizes[0]), dtype),
                   OUT_ACTIVATIONS[out_activation], upto, out,
                   hidden_kinds(activation, L - 1), float(negative_slope))
    return out


@dataclass
class BackpropResult:
    """What :func:`fit_backprop` returns."""

    coefs: list
    intercepts: list
    loss_curve: list = field(default_factory=list)
    validation_scores: list = None
    best_validation_score: float = None
    best_loss: float = None
    n_iter: int = 0
    t: int = 0
    converged: bool = False
    interrupted: bool = False
    optimizer_state: dict = None


def _penalty(params, lay, alpha, alpha_l1=0.0):
    if alpha == 0 and alpha_l1 == 0:
        return 0.0
    s = s1 = 0.0
    for l in range(lay.n_layers):
        W = params[lay.offsets[2 * l]:lay.offsets[2 * l + 1]]
        s += float(np.dot(W, W))
        if alpha_l1:
            s1 += float(np.abs(W).sum(dtype=np.float64))
    return 0.5 * alpha * s + alpha_l1 * s1


def _constant_loss(Y, out_activation):
    """Training loss of the best constant prediction (the stall reference).

    Cross-entropy of the class frequencies (softmax), of each column's
    frequency (logistic), or half the summed variance of the targets
    (identity), per sample.
    """
    p = Y.mean(axis=0, dtype=np.float64)
    if out_activation == "identity":
        return float(0.5 * np.sum(Y.var(axis=0, dtype=np.float64)))
    with np.errstate(divide="ignore", invalid="ignore"):
        if out_activation == "softmax":
            return float(-np.sum(np.where(p > 0, p * np.log(p), 0.0)))
        q = 1.0 - p
        return float(-np.sum(np.where(p > 0, p * np.log(p), 0.0)
                             + np.where(q > 0, q * np.log(q), 0.0)))


#: Fraction of the constant-prediction loss above which training counts as stalled.
STALL_RATIO = 0.95


def _diverged(loss, params, lay, out_activation):
    """Why training has diverged (a short description), or None.

    Divergence is a non-finite loss or parameter, or a weight larger than
    ``_DIVERGENCE_LIMIT`` in magnitude (logistic units saturate long before;
    the output weights of identity outputs are exempt, as they scale with
    the targets).
    """
    if not np.isfinite(loss):
        return f"loss = {loss}"
    if not np.all(np.isfinite(params)):
        return "non-finite weights"
    n_checked = lay.n_layers - 1 if out_activation == "identity" else lay.n_layers
    for l in range(n_checked):
        W = params[lay.offsets[2 * l]:lay.offsets[2 * l + 1]]
        if W.size and np.max(np.abs(W)) > _DIVERGENCE_LIMIT:
            return f"weights of layer {l} exceeded {_DIVERGENCE_LIMIT:g} in magnitude"
    return None


def fit_backprop(X, Y, coefs, intercepts, *, out_activation, score, rng,
                 solver="sgd", learning_rate_init=0.1, learning_rate="constant",
                 power_t=0.5, momentum=0.9, nesterovs_momentum=True, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, alpha=0.0, batch_size=100, max_iter=200,
                 shuffle=True, tol=1e-4, n_iter_no_change=10, early_stopping=False,
                 validation_fraction=0.1, dropout=0.0, input_dropout=0.0,
                 stratify=None, verbose=0, n_jobs=None, name="Backprop",
                 activation="logistic", negative_slope=0.01, alpha_l1=0.0, rho=0.9,
                 sample_weight=None, optimizer_state=None, incremental=False):
    """Fine-tune a network by mini-batch back-propagation.

    The objective of each mini-batch is
    ``sum_r w_r loss_r / sum_r w_r + (alpha / 2) sum_l ||W_l||^2 +
    alpha_l1 sum_l |W_l|`` (``w_r`` the sample weights, 1 by default) where
    ``loss_r`` is the cross-entropy (nats) for logistic/softmax outputs and
    half the squared error summed over outputs for identity outputs. Each
    epoch visits the training rows once (shuffled when ``shuffle``).

    Stopping follows scikit-learn's MLP: an epoch "improves" when the
    training loss falls by more than ``tol`` (or, with ``early_stopping``,
    the validation score rises by at least ``tol``), and also, without
    early stopping, while the training loss is still above ``STALL_RATIO``
    times the loss of the best constant prediction (a sigmoid network often
    starts on such a plateau, its loss falling by less than ``tol`` per epoch
    for tens of epochs before it drops; stopping there is not convergence); after
    ``n_iter_no_change`` epochs in a row without improvement training stops
    (the ``"adaptive"`` schedule first divides the learning rate by 5, and
    stops once it is below 1e-6). With ``early_stopping`` the weights of the
    best validation epoch are restored at the end.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Validated float32/float64 input.
    Y : ndarray of shape (n_samples, n_outputs)
        Targets in the dtype of X: one-hot rows (softmax), 0/1 columns
        (logistic) or values (identity).
    coefs, intercepts : lists of ndarray
        Initial weights ``(n_units_in, n_units_out)`` and biases per layer;
        not modified.
    out_activation : {"identity", "logistic", "softmax"}
    score : callable
        ``score(Y_val, P_val) -> float``, higher is better; used for the
        validation scores.
    rng : numpy.random.RandomState
        Source of all randomness (split, shuffling, dropout seed).
    solver : {"sgd", "adagrad", "rmsprop", "adam"}
        Optimiser (see :mod:`rbmlib.optim`).
    learning_rate_init : float
        Initial step size.
    learning_rate : {"constant", "invscaling", "adaptive", "cosine"}
        Schedule, per epoch ``e = 0, 1, ...``: constant; ``lr0 / (e + 1) **
        power_t``; constant divided by 5 on plateaus; ``lr0 * (1 + cos(pi e /
        max_iter)) / 2``.
    power_t : float
        Exponent of "invscaling".
    momentum : float
        Momentum of "sgd".
    nesterovs_momentum : bool
        Nesterov's accelerated gradient for "sgd" (Sutskever et al. 2013).
    beta_1, beta_2, epsilon : float
        Adam's parameters (epsilon also adagrad's and rmsprop's).
    alpha : float
        L2 penalty on the weights (not on the biases).
    alpha_l1 : float
        L1 penalty on the weights (subgradient ``alpha_l1 * sign(W)``).
    rho : float
        RMSprop's decay rate.
    activation : str or list of str
        Hidden activation(s): "logistic" (alias "sigmoid"), "tanh", "relu",
        "leaky_relu", "identity"; one for all hidden layers or one per layer.
    negative_slope : float
        Slope of "leaky_relu" for negative inputs.
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative row weights of the loss (and of the validation score).
    optimizer_state : dict, default=None
        ``{"s1", "s2", "t"}`` of a previous call's ``result.optimizer_state``
        to continue with (partial_fit); fresh state when None.
    incremental : bool, default=False
        partial_fit: no ConvergenceWarning for reaching ``max_iter``.
    batch_size : int
        Mini-batch rows (clipped to the number of training rows).
    max_iter : int
        Maximum number of epochs.
    shuffle : bool
        Shuffle the rows every epoch.
    tol : float
        Improvement threshold for stopping.
    n_iter_no_change : int
        Epochs without improvement before stopping.
    early_stopping : bool
        Hold out ``validation_fraction`` of the rows and stop on their score.
    validation_fraction : float
        Fraction of rows held out when ``early_stopping``.
    dropout, input_dropout : float
        Probability of dropping a hidden / an input unit in training.
    stratify : ndarray of shape (n_samples,), default=None
        Labels to stratify the validation split on (falls back to a plain
        split when some class is too small).
    verbose : int
        Print one line per epoch (loss, validation score, time, time left).
    n_jobs : int, default=None
        Threads for Numba and BLAS.
    name : str
        Prefix of the verbose lines.

    Returns
    -------
    result : BackpropResult
        Fitted weights, ``loss_curve`` (training loss per epoch, including
        the penalty), ``validation_scores`` (None without early stopping),
        ``n_iter`` (epochs run), ``t`` (samples seen), ``converged``.

    Raises
    ------
    ValueError
        If ``early_stopping`` leaves no training rows or fewer than 2
        validation rows ("The validation set is too small", scikit-learn's
        message), or on an unknown activation.
    DivergenceError
        (A ValueError naming ``learning_rate_init``.) If training diverges
        (non-finite loss or weights, or weights beyond 1e5); its ``result``
        attribute holds the network as it was after the last finite epoch.

    ConvergenceWarning
        (A warning.) When ``max_iter`` is reached, or when training stopped
        for lack of improvement while stalled: the lowest training loss above
        ``STALL_RATIO`` (0.95) times the loss of the best constant prediction
        (the message then says so).
    KeyboardInterrupt
        Re-raised when Ctrl-C lands before the first epoch completed.

    Notes
    -----
    A KeyboardInterrupt (Ctrl-C) anywhere in the epoch loop after the first
    completed epoch stops training with a RuntimeWarning and returns the
    network as it was after the last completed epoch (the best validation
    epoch's with ``early_stopping``), with ``interrupted=True``.
    """
    dtype = coefs[0].dtype
    sizes = [coefs[0].shape[0]] + [W.shape[1] for W in coefs]
    lay = _Layout(sizes)
    L = lay.n_layers
    Y = np.ascontiguousarray(Y, dtype=dtype)
    kinds = hidden_kinds(activation, L - 1)
    SW = (np.ones(X.shape[0]) if sample_weight is None
          else np.asarray(sample_weight, dtype=np.float64))

    X_val = Y_val = SW_val = None
    if early_stopping:
        n = X.shape[0]
        n_val = int(math.ceil(validation_fraction * n))
        if n_val < 2 or n - n_val < 1:
            raise ValueError(
                f"The validation set is too small. Increase 'validation_fraction' or the "
                f"size of your dataset: early_stopping with validation_fraction="
                f"{validation_fraction} holds out {n_val} of {n} samples, and needs at "
                f"least 2 validation samples and 1 training sample."
            )
        split_seed = rng.randint(np.iinfo(np.int32).max)
        try:
            X, X_val, Y, Y_val, SW, SW_val = train_test_split(
                X, Y, SW, test_size=validation_fraction, random_state=split_seed,
                stratify=stratify)
        except ValueError:
            X, X_val, Y, Y_val, SW, SW_val = train_test_split(
                X, Y, SW, test_size=validation_fraction, random_state=split_seed)
        Y = np.ascontiguousarray(Y)
        if sample_weight is None:
            SW_val = None
    SW = np.ascontiguousarray(SW, dtype=np.float64)
    sw_total = float(SW.sum())
    if not sw_total > 0:
        raise ValueError("sample_weight must have a positive sum over the training rows.")

    n = X.shape[0]
    B = int(max(1, min(batch_size, n)))
    params = lay.pack(coefs, intercepts, dtype)
    grads = np.zeros_like(params)
    opt = Optimizer(solver, learning_rate_init, learning_rate, power_t, momentum,
                    nesterovs_momentum, beta_1, beta_2, rho, epsilon)
    opt_kind, hyper = opt.kernel_args()
    if optimizer_state is not None and optimizer_state["s1"].shape == params.shape:
        opt1 = optimizer_state["s1"].astype(dtype, copy=True)
        opt2 = optimizer_state["s2"].astype(dtype, copy=True)
        n_updates0 = int(optimizer_state["t"])
    else:
        opt1 = np.zeros_like(params)
        opt2 = np.zeros_like(params)
        n_updates0 = 0
    a_off = lay.a_off(B)
    acts = lay.acts(B, dtype)
    deltas = np.zeros_like(acts)
    xbuf = np.zeros((B, sizes[0]), dtype)
    ybuf = np.zeros((B, sizes[-1]), dtype)
    wbuf = np.zeros(B)
    rowloss = np.zeros(B)
    Xd, data, indices, indptr, is_sparse = _kernel_X(X)
    seed = np.uint64(rng.randint(0, 2**63 - 1, dtype=np.int64))
    out_kind = OUT_ACTIVATIONS[out_activation]

    res = BackpropResult(coefs=None, intercepts=None)
    res.validation_scores = [] if early_stopping else None
    plateau = STALL_RATIO * _constant_loss(Y, out_activation)
    val_kw = {} if SW_val is None else {"sample_weight": SW_val}
    best_loss = np.inf
    best = (-np.inf, None)  # (best validation score, its params), set in one statement
    no_improve = 0
    lr = float(learning_rate_init)
    n_updates = n_updates0
    t_start = time.time()
    stopped = False
    interrupted = False
    epoch = 0
    try:
        for epoch in range(max_iter):
            # Everything an epoch changes is committed at its end, in this order:
            # the lists, the best weights, then res.n_iter. Ctrl-C anywhere in the
            # epoch (kernel, monitoring, bookkeeping) rolls back to the last
            # committed epoch.
            prev_params = params.copy()  # the network after the last completed epoch
            prev_best = best
            prev_state = (best_loss, no_improve, lr, n_updates)
            t0 = time.time()
            opt.lr = lr
            lr = opt.learning_rate_at(epoch, max_iter)
            order = (rng.permutation(n).astype(np.int64) if shuffle
                     else np.arange(n, dtype=np.int64))
            with thread_limits(n_jobs):
                loss_sum, n_done = _k.train_epoch(
                    Xd, data, indices, indptr, is_sparse, Y, SW, order, B,
                    params, grads, opt1, opt2, lay.sizes, lay.offsets, a_off, acts, deltas,
                    xbuf, ybuf, wbuf, rowloss, out_kind, kinds, float(negative_slope),
                    1.0 - float(input_dropout), 1.0 - float(dropout), float(alpha),
                    float(alpha_l1), opt_kind, float(lr), hyper, seed, n_updates)
            n_updates += int(n_done)
            loss = loss_sum / sw_total + _penalty(params, lay, alpha, alpha_l1)
            bad = _diverged(loss, params, lay, out_activation)
            if bad is not None:
                params[...] = prev_params
                res.best_loss = float(best_loss) if res.n_iter and not early_stopping else None
                res.coefs, res.intercepts = lay.unpack(params)
                # the inputs' (and a regression's targets') scale first when large
                scale = " ".join(c for c in (
                    scale_cause(X), scale_cause(Y, "y") if out_activation == "identity"
                    else "") if c)
                exc = DivergenceError(
                    f"Back-propagation diverged in epoch {epoch + 1} ({bad})"
                    + (f". {scale} Otherwise, reduce " if scale else "; reduce ")
                    + f"learning_rate_init (currently {learning_rate_init!r}). The network "
                    f"was left as it was after epoch {epoch}."
                )
                exc.result = res
                raise exc
            msg_val = ""
            if early_stopping:
                cs, ics = lay.unpack(params)
                val = float(score(Y_val, forward(X_val, cs, ics, out_activation,
                                                 n_jobs=n_jobs, activation=activation,
                                                 negative_slope=negative_slope),
                                  **val_kw))
                msg_val = f", validation score = {val:.6f}"
                # scikit-learn's rule: no improvement unless val >= best + tol
                improved = not (val < best[0] + tol)
            else:
                # a loss still at the level of a constant prediction is a plateau,
                # not convergence: it does not count towards stopping
                improved = not (loss > best_loss - tol) or loss >= plateau
            best_loss = min(best_loss, loss)
            no_improve = 0 if improved else no_improve + 1
            # commit the epoch
            res.loss_curve.append(float(loss))
            if early_stopping:
                res.validation_scores.append(val)
                if val > best[0]:
                    best = (val, params.copy())
            res.n_iter = epoch + 1
            if verbose:
                sec = time.time() - t0
                left = (time.time() - t_start) / (epoch + 1) * (max_iter - epoch - 1)
                print(f"[{name}] Iteration {epoch + 1}, loss = {loss:.8f}{msg_val}, "
                      f"learning rate = {lr:.3g}, time = {sec:.2f}s, time left ~ {left:.1f}s")
            if no_improve > n_iter_no_change:
                if learning_rate == "adaptive" and lr / 5.0 > 1e-6:
                    lr /= 5.0
                    no_improve = 0
                    if verbose:
                        print(f"[{name}] Setting learning rate to {lr:.6g}")
                else:
                    if verbose:
                        what = "Validation score" if early_stopping else "Training loss"
                        print(f"[{name}] {what} did not improve more than tol={tol} for "
                              f"{n_iter_no_change} consecutive epochs. Stopping.")
                    stopped = True
                    break
    except KeyboardInterrupt:
        if res.n_iter == 0:
            raise  # nothing completed: the caller decides
        if res.n_iter <= epoch:  # the current epoch was not committed: roll it back
            params[...] = prev_params
            best = prev_best
            best_loss, no_improve, lr, n_updates = prev_state
            del res.loss_curve[res.n_iter:]
            if early_stopping:
                del res.validation_scores[res.n_iter:]
        interrupted = True
        kept = ("the weights of the best validation epoch" if early_stopping
                else f"the network as it was after epoch {res.n_iter}")
        warnings.warn(
            f"{name}: training interrupted by the user (KeyboardInterrupt) after "
            f"{res.n_iter} of at most {max_iter} epochs; training stopped and {kept} "
            f"is kept (interrupted_ = True).", RuntimeWarning)
    res.t = res.n_iter * n
    res.optimizer_state = {"s1": opt1, "s2": opt2, "t": n_updates}
    res.converged = stopped
    res.interrupted = interrupted
    if early_stopping:
        res.best_validation_score = best[0] if best[1] is not None else None
        if best[1] is not None:
            params = best[1]
    res.best_loss = None if early_stopping else (float(best_loss) if res.n_iter else None)
    if not interrupted and res.n_iter and not incremental:
        reference = _constant_loss(Y, out_activation)
        lowest = min(res.loss_curve)
        stalled = ""
        if lowest >= STALL_RATIO * reference:
            stalled = (
                f"the training loss ({lowest:.4g}) is no better than that of a constant "
                f"prediction ({reference:.4g}: the class frequencies or the target mean). "
                f"Raise learning_rate_init or max_iter, or check the pretraining (its "
                f"hidden units may be almost constant: raise n_iter_pretrain or "
                f"learning_rate_pretrain)."
            )
        if stopped and stalled:
            warnings.warn(
                f"{name}: training stalled: it stopped after {res.n_iter} epochs without "
                f"improvement and {stalled}", ConvergenceWarning)
        elif not stopped:
            warnings.warn(
                f"{name}: maximum iterations ({max_iter}) reached and the optimization "
                f"hasn't converged yet." + (f" After {res.n_iter} epochs {stalled}"
                                            if stalled else ""), ConvergenceWarning)
    res.coefs, res.intercepts = lay.unpack(params)
    return res
