"""The backprop network used to fine-tune a Deep Belief Network.

A multilayer perceptron with logistic (the pretrained RBMs' hidden units),
tanh, ReLU, leaky ReLU or identity hidden units, chosen per layer, and an
identity, logistic or softmax output layer, trained by mini-batch
back-propagation with any optimiser of :mod:`rbmlib.optim` (momentum SGD,
optionally Nesterov; Adagrad; RMSprop; Adam), L2 and L1 penalties, sample
weights, dropout on the input and hidden layers, a learning-rate schedule and
early stopping on a held-out validation fraction, and max-norm constraints on
the hidden units' incoming weights.

This module holds the network core, not an estimator: :func:`fit_backprop`
takes already validated arrays, initial weights and a random generator,
runs the Numba kernels of :mod:`rbmlib._kernels.mlp` and returns the fitted
weights with their training record. The estimators in :mod:`rbmlib.dbn`
(``DBNClassifier``, ``DBNRegressor``) own validation, randomness and the
fitted attributes. The stopping rule and the end-of-fit ConvergenceWarning
are in :mod:`rbmlib._mlp_stopping` (:class:`StoppingRule`, re-exported here).
Weight matrices use scikit-learn's orientation:
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

Grandvalet, Y. and Bengio, Y. (2005). Semi-supervised learning by entropy
minimization. NIPS 17, 529-536.
"""

import inspect
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from . import _fitting
from ._kernels import mlp as _k
from ._mlp_stopping import STALL_RATIO, StoppingRule, _constant_loss  # noqa: F401 (re-exported)
from ._parallel import thread_limits
from .exceptions import DivergenceError
from .optim import SCHEDULES, SOLVERS, Optimizer  # noqa: F401  (SCHEDULES re-exported)
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


@dataclass
class BackpropSettings:
    """What back-propagation does besides its optimiser and its stopping rule.

    Parameters
    ----------
    batch_size : int, default=100
        Mini-batch rows (clipped to the number of training rows).
    shuffle : bool, default=True
        Shuffle the rows every epoch.
    alpha : float, default=0.0
        L2 penalty on the weights (not on the biases).
    alpha_l1 : float, default=0.0
        L1 penalty on the weights (subgradient ``alpha_l1 * sign(W)``).
    dropout, input_dropout : float, default=0.0
        Probability of dropping a hidden / an input unit in training.
    max_norm : float > 0 or None, default=None
        Max-norm constraint (Srivastava et al. 2014, sec. 5.1): after every
        update, each hidden unit's incoming weight vector (a column of a
        hidden layer's ``coefs[l]``, bias excluded; the output layer is not
        constrained) whose L2 norm exceeds ``max_norm`` is rescaled to norm
        ``max_norm``. None: no constraint.
    activation : str or list of str, default="logistic"
        Hidden activation(s): "logistic" (alias "sigmoid"), "tanh", "relu",
        "leaky_relu", "identity"; one for all hidden layers or one per layer.
    negative_slope : float, default=0.01
        Slope of "leaky_relu" for negative inputs.
    verbose : int, default=0
        Print one line per epoch (loss, validation score, time, time left).
    n_jobs : int, default=None
        Threads for Numba and BLAS.
    name : str, default="Backprop"
        Prefix of the verbose lines and of the warnings.
    unlabeled_entropy_weight : float, default=0.0
        Weight of the mean entropy of the predictions on the unlabelled rows
        (``X_unlabeled`` of :func:`fit_backprop`) added to each update's
        objective: entropy minimisation (Grandvalet and Bengio 2005). 0: off.
    """

    batch_size: int = 100
    shuffle: bool = True
    alpha: float = 0.0
    alpha_l1: float = 0.0
    dropout: float = 0.0
    input_dropout: float = 0.0
    max_norm: object = None
    activation: object = "logistic"
    negative_slope: float = 0.01
    verbose: int = 0
    n_jobs: object = None
    name: str = "Backprop"
    unlabeled_entropy_weight: float = 0.0


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


def _max_norm_arg(max_norm):
    """The kernels' ``max_norm`` argument: 0.0 for None (off), else the bound.

    Raises
    ------
    ValueError
        Unless ``max_norm`` is None or a finite real number > 0.
    """
    if max_norm is None:
        return 0.0
    ok = isinstance(max_norm, (int, float, np.integer, np.floating)) and not isinstance(
        max_norm, (bool, np.bool_))
    if not ok or not (math.isfinite(max_norm) and max_norm > 0):
        raise ValueError(f"max_norm must be None or a finite number > 0; got {max_norm!r}.")
    return float(max_norm)


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


class _BackpropState:
    """What an epoch changes: the flat parameters, the optimiser's state vectors and
    update count, and the epochs done with their records (``loss``,
    ``learning_rate``, ``validation_score`` with early stopping, ``seconds``)."""

    def __init__(self, params, s1, s2, n_updates, n_iter=0, history=None):
        self.params, self.s1, self.s2, self.n_updates = params, s1, s2, n_updates
        self.n_iter = n_iter
        self.history = [] if history is None else history

    def copy(self):
        return _BackpropState(self.params.copy(), self.s1.copy(), self.s2.copy(),
                              self.n_updates, self.n_iter, list(self.history))

    def column(self, key):
        return [r[key] for r in self.history]


class _Backprop(_fitting.EpochTrainer):
    """Mini-batch back-propagation on one training set: the hooks of the epoch loop.

    Holds the training rows in the kernels' form, the layout, the scratch
    buffers and the settings; the training state is a :class:`_BackpropState`.
    """

    def __init__(self, X, Y, SW, lay, out_activation, score, rng, optimizer, stopping,
                 settings, validation=(None, None, None), X_unlabeled=None):
        self.X, self.Y, self.SW = X, Y, SW
        self.X_val, self.Y_val, SW_val = validation
        self.val_kw = {} if SW_val is None else {"sample_weight": SW_val}
        self.lay, self.out_activation, self.score, self.rng = lay, out_activation, score, rng
        self.optimizer, self.stopping, self.settings = optimizer, stopping, settings
        self.kinds = hidden_kinds(settings.activation, lay.n_layers - 1)
        self.max_norm = _max_norm_arg(settings.max_norm)
        self.sw_total = float(SW.sum())
        if not self.sw_total > 0:
            raise ValueError("sample_weight must have a positive sum over the training rows.")
        self.n = n = X.shape[0]
        self.B = B = int(max(1, min(settings.batch_size, n)))
        dtype = Y.dtype
        sizes = lay.sizes
        self.opt_kind, self.hyper = optimizer.kernel_args()
        self.a_off = lay.a_off(B)
        self.acts = lay.acts(B, dtype)
        self.deltas = np.zeros_like(self.acts)
        self.grads = np.zeros(lay.n_params, dtype)
        self.xbuf = np.zeros((B, int(sizes[0])), dtype)
        self.ybuf = np.zeros((B, int(sizes[-1])), dtype)
        self.wbuf = np.zeros(B)
        self.rowloss = np.zeros(B)
        self.Xk = _kernel_X(X)
        self.seed = np.uint64(rng.randint(0, 2**63 - 1, dtype=np.int64))
        self.out_kind = OUT_ACTIVATIONS[out_activation]
        # entropy minimisation: one batch of B unlabelled rows per labelled batch
        self.entropy_weight = float(settings.unlabeled_entropy_weight)
        self.XU = None
        if (X_unlabeled is not None and X_unlabeled.shape[0] > 0
                and self.entropy_weight > 0 and out_activation != "identity"):
            self.XU = X_unlabeled
            self.XUk = _kernel_X(X_unlabeled)
            self.BU = int(min(B, X_unlabeled.shape[0]))
            self.grads_u = np.zeros(lay.n_params, dtype)
            self.xubuf = np.zeros((self.BU, int(sizes[0])), dtype)

    def _unlabeled_order(self, n_batches):
        """Row indices of the unlabelled batches of one epoch: ``n_batches * BU`` rows,
        successive permutations of the unlabelled rows (each row once before any twice
        within an epoch)."""
        nu, need = self.XU.shape[0], n_batches * self.BU
        parts = [self.rng.permutation(nu) for _ in range(-(-need // nu))]
        return np.concatenate(parts)[:need].astype(np.int64)

    # --------------------------------------------------------- epoch loop hooks
    def _epoch_step(self, state, data, epoch):
        s, lay = self.settings, self.lay
        lr = self.optimizer.learning_rate_at(epoch, self.stopping.max_iter)
        order = (self.rng.permutation(self.n).astype(np.int64) if s.shuffle
                 else np.arange(self.n, dtype=np.int64))
        args = (*self.Xk, self.Y, self.SW, order, self.B, state.params, self.grads,
                state.s1, state.s2, lay.sizes, lay.offsets, self.a_off, self.acts,
                self.deltas, self.xbuf, self.ybuf, self.wbuf, self.rowloss, self.out_kind,
                self.kinds, float(s.negative_slope), 1.0 - float(s.input_dropout),
                1.0 - float(s.dropout), float(s.alpha), float(s.alpha_l1), self.opt_kind,
                float(lr), self.hyper, self.seed, state.n_updates)
        entropy = 0.0
        with thread_limits(s.n_jobs):
            if self.XU is None:
                loss_sum, n_done = _k.train_epoch(*args, self.max_norm)
            else:
                n_batches = -(-self.n // self.B)
                loss_sum, n_done, ent_sum = _k.train_epoch_semi(
                    *args, *self.XUk, self._unlabeled_order(n_batches), self.BU,
                    self.entropy_weight, self.grads_u, self.xubuf, self.max_norm)
                entropy = self.entropy_weight * ent_sum / max(int(n_done), 1)
        state.n_updates += int(n_done)
        return (loss_sum / self.sw_total + entropy
                + _penalty(state.params, lay, s.alpha, s.alpha_l1))

    def _check_divergence(self, state, data, loss):
        return _diverged(loss, state.params, self.lay, self.out_activation)

    def _divergence_error(self, bad, state, data, committed, epoch):
        # the network as it was after the last finite epoch, attached to the error
        res = BackpropResult(coefs=None, intercepts=None)
        res.loss_curve = committed.column("loss")
        if self.stopping.early_stopping:
            res.validation_scores = committed.column("validation_score")
        res.n_iter = committed.n_iter
        res.best_loss = (float(self.stopping.best_loss)
                         if res.n_iter and not self.stopping.early_stopping else None)
        res.coefs, res.intercepts = self.lay.unpack(committed.params)
        # the inputs' (and a regression's targets') scale first when large
        scale = " ".join(c for c in (
            _fitting.scale_cause(self.X), _fitting.scale_cause(self.Y, "y")
            if self.out_activation == "identity" else "") if c)
        exc = DivergenceError(
            f"Back-propagation diverged in epoch {epoch + 1} ({bad})"
            + (f". {scale} Otherwise, reduce " if scale else "; reduce ")
            + f"learning_rate_init (currently {self.optimizer.learning_rate_init!r}). The "
            f"network was left as it was after epoch {epoch}."
        )
        exc.result = res
        return exc

    def _epoch_record(self, state, data, loss, seconds):
        record = {"loss": float(loss), "learning_rate": self.optimizer.lr}
        if self.stopping.early_stopping:
            s = self.settings
            cs, ics = self.lay.unpack(state.params)
            P = forward(self.X_val, cs, ics, self.out_activation, n_jobs=s.n_jobs,
                        activation=s.activation, negative_slope=s.negative_slope)
            record["validation_score"] = float(self.score(self.Y_val, P, **self.val_kw))
        record["seconds"] = seconds
        return record

    def _verbose_label(self, data):
        return f"[{self.settings.name}]"

    def _epoch_line(self, state, data, record, seconds, elapsed, epoch, n_epochs):
        val = record.get("validation_score")
        msg_val = "" if val is None else f", validation score = {val:.6f}"
        left = _fitting.time_left(elapsed, epoch + 1, n_epochs)
        return (f"[{self.settings.name}] Iteration {state.n_iter}, loss = "
                f"{record['loss']:.8f}{msg_val}, learning rate = {record['learning_rate']:.3g}, "
                f"time = {seconds:.2f}s, time left ~ {left:.1f}s")

    def _interrupt_message(self, committed, n_done, n_epochs):
        kept = ("the weights of the best validation epoch" if self.stopping.early_stopping
                else f"the network as it was after epoch {committed.n_iter}")
        return (f"{self.settings.name}: training interrupted by the user (KeyboardInterrupt) "
                f"after {committed.n_iter} of at most {n_epochs} epochs; training stopped "
                f"and {kept} is kept (interrupted_ = True).")


def _option_names(cls):
    return [p for p in inspect.signature(cls).parameters if p != "self"]


def _backprop_objects(optimizer, stopping, settings, options):
    """``(optimizer, stopping, settings)``, built from ``options`` (the parameters of
    Optimizer, StoppingRule and BackpropSettings, and ``optimizer_state``) where not given."""
    groups = {}
    for key in list(options):
        for group, cls in (("optimizer", Optimizer), ("stopping", StoppingRule),
                           ("settings", BackpropSettings)):
            if key in _option_names(cls) or (group == "optimizer" and key == "optimizer_state"):
                groups.setdefault(group, {})[key] = options.pop(key)
                break
    if options:
        raise TypeError(f"fit_backprop() got an unexpected keyword argument "
                        f"{next(iter(options))!r}")
    given = {"optimizer": optimizer, "stopping": stopping, "settings": settings}
    for group, kw in groups.items():
        if given[group] is not None:
            raise TypeError(f"fit_backprop() got both {group} and its settings "
                            f"{sorted(kw)} by name; pass one or the other.")
    opt_kw = dict(groups.get("optimizer", {}))
    state = opt_kw.pop("optimizer_state", None)
    if optimizer is None:
        optimizer = Optimizer(**opt_kw).set_state(state)
    return (optimizer, stopping if stopping is not None else StoppingRule(
        **groups.get("stopping", {})), settings if settings is not None else BackpropSettings(
        **groups.get("settings", {})))


def fit_backprop(X, Y, coefs, intercepts, *, out_activation, score, rng, optimizer=None,
                 stopping=None, settings=None, sample_weight=None, stratify=None,
                 X_unlabeled=None, **options):
    """Fine-tune a network by mini-batch back-propagation.

    The objective of each mini-batch is
    ``sum_r w_r loss_r / sum_r w_r + (alpha / 2) sum_l ||W_l||^2 +
    alpha_l1 sum_l |W_l|`` (``w_r`` the sample weights, 1 by default) where
    ``loss_r`` is the cross-entropy (nats) for logistic/softmax outputs and
    half the squared error summed over outputs for identity outputs. Each
    epoch visits the training rows once (shuffled when ``settings.shuffle``)
    in the fused Numba step of :func:`rbmlib._kernels.mlp.train_epoch`, with
    the update rule of ``optimizer`` and its learning-rate schedule; with
    ``settings.max_norm`` each update is followed by the max-norm projection
    of the hidden units' incoming weights
    (:func:`rbmlib._kernels.mlp.max_norm_project`).

    Training runs in the epoch loop of :func:`rbmlib._fitting.run_epochs`
    (Ctrl-C, divergence, history, the verbose line) and stops as ``stopping``
    says (:class:`StoppingRule`: scikit-learn's MLP rule, the plateau rule and
    the "adaptive" schedule; with ``early_stopping`` the weights of the best
    validation epoch are restored at the end).

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
    optimizer : rbmlib.optim.Optimizer, default=None
        Update rule, hyperparameters and schedule (``Optimizer()``: SGD with
        Nesterov's momentum at 0.1). Its state (:meth:`~rbmlib.optim.Optimizer.set_state`,
        a previous call's ``result.optimizer_state``) is continued when it has
        the network's shape (partial_fit), and holds this fit's at the end.
    stopping : StoppingRule, default=None
        ``max_iter``, ``tol``, ``n_iter_no_change``, ``early_stopping``,
        ``validation_fraction``, ``incremental`` (``StoppingRule()``).
    settings : BackpropSettings, default=None
        Batch size, shuffling, penalties, dropout, activations, verbosity,
        threads and name (``BackpropSettings()``).
    sample_weight : ndarray of shape (n_samples,), default=None
        Non-negative row weights of the loss (and of the validation score).
    stratify : ndarray of shape (n_samples,), default=None
        Labels to stratify the validation split on (falls back to a plain
        split when some class is too small).
    X_unlabeled : {ndarray, sparse matrix} of shape (n_unlabeled, n_features), default=None
        Unlabelled rows (dtype of X). With ``settings.unlabeled_entropy_weight
        > 0`` and logistic/softmax outputs, every update adds that weight
        times the mean entropy of the predictions on a batch of
        ``min(batch_size, n_unlabeled)`` of them (passed forward without
        dropout; the unlabelled rows are visited in random order, each once
        before any twice) to the objective: entropy minimisation (Grandvalet
        and Bengio 2005). ``loss_curve`` then includes that term. Ignored
        otherwise.
    **options
        Instead of ``optimizer``, ``stopping`` or ``settings``: their
        parameters by name (``solver``, ``learning_rate_init``, ...;
        ``max_iter``, ``tol``, ...; ``batch_size``, ``verbose``, ...), and
        ``optimizer_state`` (``{"s1", "s2", "t"}`` to continue with).

    Returns
    -------
    result : BackpropResult
        Fitted weights, ``loss_curve`` (training loss per epoch, including
        the penalty), ``validation_scores`` (None without early stopping),
        ``n_iter`` (epochs run), ``t`` (samples seen), ``converged``,
        ``optimizer_state``.

    Raises
    ------
    ValueError
        If ``early_stopping`` leaves no training rows or fewer than 2
        validation rows ("The validation set is too small", scikit-learn's
        message), on an unknown activation, or if ``settings.max_norm`` is
        neither None nor a finite number > 0.
    TypeError
        On an unknown option, or an option given with its object.
    DivergenceError
        (A ValueError naming ``learning_rate_init``.) If training diverges
        (non-finite loss or weights, or weights beyond 1e5); its ``result``
        attribute holds the network as it was after the last finite epoch.

    ConvergenceWarning
        (A warning.) When ``max_iter`` is reached while training is still
        improving (its lowest loss fell over the last 10 epochs by more than 2%
        of its fall since the first epoch: ``PROGRESS_WINDOW``,
        ``PROGRESS_SHARE``) or stalled, or when training stopped for lack of
        improvement while stalled: the lowest training loss above
        ``STALL_RATIO`` (0.95) times the loss of the best constant prediction
        (the message then says so). See
        :meth:`StoppingRule.convergence_warning`.
    KeyboardInterrupt
        Re-raised when Ctrl-C lands before the first epoch completed.

    Notes
    -----
    A KeyboardInterrupt (Ctrl-C) anywhere in the epoch loop after the first
    completed epoch stops training with a RuntimeWarning and returns the
    network as it was after the last completed epoch (the best validation
    epoch's with ``early_stopping``), with ``interrupted=True``.
    """
    optimizer, stopping, settings = _backprop_objects(optimizer, stopping, settings, options)
    dtype = coefs[0].dtype
    lay = _Layout([coefs[0].shape[0]] + [W.shape[1] for W in coefs])
    Y = np.ascontiguousarray(Y, dtype=dtype)
    hidden_kinds(settings.activation, lay.n_layers - 1)  # an unknown name raises first
    _max_norm_arg(settings.max_norm)  # and a bad max_norm
    SW = (np.ones(X.shape[0]) if sample_weight is None
          else np.asarray(sample_weight, dtype=np.float64))
    X, Y, SW, X_val, Y_val, SW_val = stopping.validation_split(X, Y, SW, rng, stratify)
    trainer = _Backprop(X, Y, np.ascontiguousarray(SW, dtype=np.float64), lay, out_activation,
                        score, rng, optimizer, stopping, settings,
                        (X_val, Y_val, None if sample_weight is None else SW_val),
                        X_unlabeled=X_unlabeled)
    params = lay.pack(coefs, intercepts, dtype)
    state = _BackpropState(params, *optimizer.flat_state(params))
    reference = _constant_loss(Y, out_activation)
    stopping.start(reference, optimizer)
    state, interrupted = trainer._run_epochs(state, None, stopping.max_iter,
                                             verbose=bool(settings.verbose),
                                             stopping=stopping)
    optimizer.set_state({"s1": state.s1, "s2": state.s2, "t": state.n_updates})
    res = BackpropResult(
        coefs=None, intercepts=None, loss_curve=state.column("loss"), n_iter=state.n_iter,
        t=state.n_iter * trainer.n, converged=stopping.stopped, interrupted=interrupted,
        optimizer_state=optimizer.get_state())
    params = state.params
    if stopping.early_stopping:
        res.validation_scores = state.column("validation_score")
        if stopping.best_params is not None:
            res.best_validation_score = stopping.best_score
            params = stopping.best_params
    else:
        res.best_loss = float(stopping.best_loss) if res.n_iter else None
    message = None if interrupted else stopping.convergence_warning(
        settings.name, res.loss_curve, reference, res.validation_scores)
    if message is not None:
        warnings.warn(message, ConvergenceWarning)
    res.coefs, res.intercepts = lay.unpack(params)
    return res
