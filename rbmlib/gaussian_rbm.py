"""Gaussian-Bernoulli Restricted Boltzmann Machine for real-valued data.

Linear visible units with Gaussian noise and binary hidden units, with the
energy of Cho, Ilin and Raiko (2011). The shared training machinery (CD-k /
PCD epochs, momentum, weight decay, sparsity, monitoring, divergence checks)
is :class:`rbmlib.rbm._BaseRBM`; the arithmetic is in
:mod:`rbmlib._kernels.cd`.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils.sparsefuncs import mean_variance_axis
from sklearn.utils.validation import check_is_fitted

from ._kernels.cd import cd_epoch_log_var
from .rbm import DivergenceError, _BaseRBM, _softplus

__all__ = ["GaussianBernoulliRBM"]

#: Largest per-feature standard deviation of the training data accepted.
#: The visible units expect standardised features; a feature spread over
#: more than ten of its own units is taken as unstandardised data.
MAX_FEATURE_STD = 10.0

#: Range of the learned standard deviations (``learn_sigma=True``), in
#: units of the standardised data.
SIGMA_RANGE = (0.05, 10.0)


def _column_variance(X, chunk_elements=2**15):
    """Variance of each column of a dense X in float64, a block of rows at a time.

    Unlike ``np.var`` it never allocates a temporary of X's size, so a large
    numpy.memmap is read without being copied into memory. Overflow (values
    near the float range) gives inf, which the caller reports.
    """
    n = X.shape[0]
    mean = np.asarray(X.mean(axis=0, dtype=np.float64))
    ss = np.zeros(X.shape[1], dtype=np.float64)
    step = max(1, chunk_elements // max(1, X.shape[1]))
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, n, step):
            d = np.array(X[start:start + step], dtype=np.float64)
            d -= mean
            ss += np.einsum("ij,ij->j", d, d)
        var = ss / n
    return np.where(np.isnan(var), np.inf, var)


class GaussianBernoulliRBM(_BaseRBM):
    """Gaussian-Bernoulli RBM: real-valued visible units, binary hidden units.

    Energy (Cho, Ilin and Raiko 2011), with per-visible standard deviations
    ``sigma``::

        E(v, h) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - c.h - (v / sigma^2) W^T h

    so that ``p(h_j = 1 | v) = sigmoid(c_j + W_j.(v / sigma^2))`` and
    ``p(v | h) = N(b + h W, diag(sigma^2))``. The free energy, in nats, is
    ``F(v) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - sum_j softplus(c_j + W_j.(v / sigma^2))``.

    **Standardise the data** (zero mean, unit variance per feature), for
    example with ``make_pipeline(StandardScaler(), GaussianBernoulliRBM())``.
    By default every ``sigma_i`` is fixed at 1, which is right for
    standardised data (Hinton's practical guide, sec. 13.2); with
    ``learn_sigma=True`` the log-variances ``log sigma_i^2`` are learned by
    CD as well (starting at 1, kept within ``SIGMA_RANGE`` = [0.05, 10]).
    The learning rate and the initial weights assume unit-scale features
    in either case, so :meth:`fit` and :meth:`partial_fit` raise a
    ValueError when a feature of the training data has a standard deviation
    above ``MAX_FEATURE_STD`` (10).

    Training is the same as for :class:`~rbmlib.BernoulliRBM` (CD-k or PCD,
    hidden probabilities for the gradient statistics, Gaussian samples of
    the visible units in the negative chain), with a ten times smaller
    default learning rate as the practical guide advises for linear units.
    Visible biases start at the data means, weights at N(0, 0.01^2).

    Parameters
    ----------
    n_components : int, default=256
        Number of hidden units.
    learning_rate : float, default=0.01
        Step size of each update (the gradient is averaged over the mini-batch).
    batch_size : int, default=10
        Examples per mini-batch; also the number of persistent chains.
    n_iter : int, default=10
        Epochs over the training data in :meth:`fit`.
    verbose : int, default=0
        If non-zero, print one line per epoch: mean negative free energy,
        reconstruction error, seconds taken and estimated time left.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation, shuffling and all sampling. The same value and
        data give bit-identical parameters whatever ``n_jobs``.
    k : int, default=1
        Gibbs steps per update (CD-k / PCD-k).
    persistent : bool, default=True
        Persistent CD (Tieleman 2008); False gives CD-k (Hinton 2002).
        With ``learn_sigma=True`` prefer ``persistent=False`` or ``k >= 10``:
        on a small test problem PCD-1 with learned variances lowered the exact
        log-likelihood over 200 epochs, while CD-1 and PCD-10 raised it.
    momentum : float, default=0.0
        Momentum of the parameter updates (the log-variances included).
    weight_decay : float, default=0.0
        L2 penalty coefficient on the weights (not on biases or variances).
    sparsity_target : float, default=0.1
        Target mean activation of the hidden units (guide, sec. 11).
    sparsity_cost : float, default=0.0
        Strength of the sparsity penalty; 0 switches it off.
    validation_fraction : float or None, default=None
        Fraction of the rows of X held out in :meth:`fit` to monitor the
        free-energy gap (guide, sec. 6), recorded in ``history_``.
    early_stopping : bool, default=False
        Stop when the free-energy gap has grown for ``n_iter_no_change``
        epochs in a row (needs ``validation_fraction``).
    n_iter_no_change : int, default=5
        See ``early_stopping``.
    n_jobs : int or None, default=None
        Threads for the kernels and BLAS. None leaves the libraries' defaults
        (all cores); -1 all cores; 1 a single thread.
    learn_sigma : bool, default=False
        Learn the per-visible standard deviations (parameterised by their
        log-variances, Cho et al. 2011) instead of fixing them at 1.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Weights ``W``.
    intercept_hidden_ : ndarray of shape (n_components,)
        Hidden biases ``c``.
    intercept_visible_ : ndarray of shape (n_features,)
        Visible biases ``b`` (the means of ``p(v | h = 0)``).
    sigma_ : ndarray of shape (n_features,)
        Standard deviations of the visible units (all 1 unless
        ``learn_sigma``). :mod:`rbmlib.likelihood` reads it to treat the
        visible units as Gaussian.
    h_samples_ : ndarray of shape (batch_size, n_components)
        Hidden states of the persistent chains.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined when X has feature names that are all strings.
    n_iter_ : int
        Epochs completed.
    history_ : list of dict
        One entry per epoch: ``epoch``, ``reconstruction_error``,
        ``negative_free_energy`` (mean of :meth:`score_samples`, nats),
        ``seconds``, and ``free_energy_gap`` (nats) when
        ``validation_fraction`` is set; monitored on up to 50 training rows.

    See Also
    --------
    rbmlib.BernoulliRBM : binary visible units.
    rbmlib.likelihood.log_likelihood : normalised log-density (exact log Z
        by enumerating the hidden states when ``n_components <= 25``).

    References
    ----------
    K. Cho, A. Ilin and T. Raiko, "Improved learning of Gaussian-Bernoulli
    restricted Boltzmann machines", ICANN 2011.

    G. E. Hinton, "A Practical Guide to Training Restricted Boltzmann
    Machines", UTML TR 2010-003, University of Toronto, 2010.

    G. E. Hinton and R. R. Salakhutdinov, "Reducing the dimensionality of
    data with neural networks", Science 313(5786), 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from rbmlib import GaussianBernoulliRBM
    >>> X = np.random.RandomState(0).normal(50.0, 20.0, size=(100, 4))
    >>> model = make_pipeline(StandardScaler(),
    ...                       GaussianBernoulliRBM(n_components=3, random_state=0))
    >>> model.fit(X).transform(X).shape
    (100, 3)
    """

    _gaussian_visible = True
    _score_key = "negative_free_energy"
    _score_label = "-free energy"

    _parameter_constraints: dict = {
        **_BaseRBM._parameter_constraints,
        "learn_sigma": ["boolean"],
    }

    def __init__(
        self,
        n_components=256,
        *,
        learning_rate=0.01,
        batch_size=10,
        n_iter=10,
        verbose=0,
        random_state=None,
        k=1,
        persistent=True,
        momentum=0.0,
        weight_decay=0.0,
        sparsity_target=0.1,
        sparsity_cost=0.0,
        validation_fraction=None,
        early_stopping=False,
        n_iter_no_change=5,
        n_jobs=None,
        learn_sigma=False,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.verbose = verbose
        self.random_state = random_state
        self.k = k
        self.persistent = persistent
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.sparsity_target = sparsity_target
        self.sparsity_cost = sparsity_cost
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.n_jobs = n_jobs
        self.learn_sigma = learn_sigma

    # --------------------------------------------------------------- training
    def _check_scale(self, X):
        """Raise a ValueError if a feature's standard deviation exceeds MAX_FEATURE_STD."""
        if X.shape[0] < 2:
            return
        if sp.issparse(X):
            _, var = mean_variance_axis(X, axis=0)
        else:
            var = _column_variance(X)
        std = np.sqrt(np.asarray(var, dtype=np.float64))
        i = int(np.argmax(std))
        if std[i] > MAX_FEATURE_STD:
            raise ValueError(
                f"GaussianBernoulliRBM expects standardised features (zero mean, unit "
                f"variance); feature {i} of X has standard deviation {std[i]:.4g}, more "
                f"than {MAX_FEATURE_STD:g}. Standardise X first, for example with "
                f"make_pipeline(StandardScaler(), GaussianBernoulliRBM(...))."
            )

    def __setstate__(self, state):
        super().__setstate__(state)
        # sigma_ is the array the kernels update (_sigma); a pickler that
        # stores arrays one by one (joblib) loses the aliasing, so restore it
        if "_sigma" in self.__dict__ and "sigma_" in self.__dict__:
            self.sigma_ = self._sigma

    def _init_visible(self, X):
        return np.asarray(X.mean(axis=0), dtype=np.float64).ravel()

    def _init_params(self, X, rng):
        self._check_scale(X)
        super()._init_params(X, rng)
        self.sigma_ = self._sigma  # the same array: the kernels update it in place
        self._log_var = np.zeros_like(self._sigma)
        self._vel_log_var = np.zeros_like(self._sigma)

    def _snapshot(self):
        return super()._snapshot(), self._log_var.copy(), self._vel_log_var.copy()

    def _restore(self, snap):
        base, log_var, vel = snap
        super()._restore(base)
        self._log_var[...] = log_var
        self._vel_log_var[...] = vel

    def _train(self, X, *args, **kwargs):
        self._check_scale(X)
        try:
            super()._train(X, *args, **kwargs)
        except DivergenceError as exc:
            raise DivergenceError(
                f"{exc} GaussianBernoulliRBM also needs standardised features "
                f"(zero mean, unit variance), e.g. StandardScaler in a Pipeline."
            ) from None

    def _run_epoch(self, X, order):
        if not self.learn_sigma:
            return super()._run_epoch(X, order)
        dtype = self.components_.dtype
        H, V = self.components_.shape
        B = self.h_samples_.shape[0]
        bufs = getattr(self, "_buffers", None)
        if bufs is None or bufs[0].dtype != dtype or bufs[0].shape != (2 * B, V):
            bufs = (
                np.zeros((2 * B, V), dtype),
                np.zeros((2 * B, H), dtype),
                np.zeros((B, H), dtype),
                np.zeros((B, V), dtype),
                np.zeros((H, V), dtype),
            )
        if sp.issparse(X):
            Xd = np.zeros((1, V), dtype)
            data, indices, indptr = X.data, X.indices, X.indptr
        else:
            Xd = X
            data = np.zeros(1, dtype)
            indices = np.zeros(1, np.int32)
            indptr = np.zeros(2, np.int32)
        lo, hi = SIGMA_RANGE
        n_done = cd_epoch_log_var(
            Xd, data, indices, indptr, sp.issparse(X), order.astype(np.int64),
            min(self.batch_size, B), self.k, self.persistent,
            np.uint64(self._seed), self._n_updates, *self._state(),
            self._log_var, self._vel_log_var, *bufs,
            float(self.learning_rate), float(self.momentum), float(self.weight_decay),
            float(self.sparsity_target), float(self.sparsity_cost), 0.9,
            float(2 * np.log(lo)), float(2 * np.log(hi)),
        )
        self._n_updates += int(n_done)
        self._buffers = bufs

    # ------------------------------------------------------------- inference
    def _visible_input(self, X):
        """``v / sigma^2``, the input of the hidden units (an affine map of X)."""
        inv_var = (1.0 / self._sigma**2).astype(self.components_.dtype)
        if sp.issparse(X):
            return sp.csr_matrix(X.multiply(inv_var[None, :]))
        return X * inv_var

    def _visible_means(self, h):
        return h @ self.components_ + self.intercept_visible_

    def _sample_visibles(self, h, rng):
        mean = self._visible_means(h)
        noise = rng.standard_normal(mean.shape).astype(mean.dtype, copy=False)
        return mean + self._sigma * noise

    def gibbs(self, v, *, sample=True):
        """One Gibbs step v -> h -> v', sampling the hidden units.

        Parameters
        ----------
        v : ndarray of shape (n_samples, n_features)
            Visible states to start from.
        sample : bool, default=True
            Return samples of ``p(v' | h)`` (True) or its means
            ``b + h W`` (False).

        Returns
        -------
        v_new : ndarray of shape (n_samples, n_features)
            Visible samples or means after one step, in the model's dtype.
        """
        check_is_fitted(self)
        if not hasattr(self, "random_state_"):
            self.random_state_ = check_random_state(self.random_state)
        v = self._validate_X(v, reset=False)
        if sp.issparse(v):
            v = v.toarray()
        h = self._sample_hiddens(v, self.random_state_)
        if sample:
            return self._sample_visibles(h, self.random_state_)
        return self._visible_means(h)

    def free_energy(self, X):
        """Free energy of each sample, in nats.

        ``F(v) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - sum_j softplus(c_j + W_j.(v / sigma^2))``,
        so that the density is ``p(v) = exp(-F(v)) / Z``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        F : ndarray of shape (n_samples,)
            In nats, in the model's dtype.
        """
        X = self._check_fitted_X(X)
        if sp.issparse(X):
            X = X.toarray()
        quad = 0.5 * np.sum(((X - self.intercept_visible_) / self._sigma) ** 2, axis=1)
        pre = self._hidden_pre(self._visible_input(X))
        return (quad - _softplus(pre).sum(axis=1)).astype(X.dtype, copy=False)

    def score_samples(self, X):
        """Negative free energy of each sample: the log-density up to log Z, in nats.

        Returns ``-F(v) = log p(v) + log Z``, the unnormalised log-density.
        It orders the samples of one model exactly as the log-likelihood
        does but is not comparable across models (``log Z`` differs). For
        the normalised log-density use
        :func:`rbmlib.likelihood.log_likelihood` (exact, by enumerating the
        hidden states, for ``n_components <= 25``; AIS otherwise).
        A pseudo-likelihood, as for BernoulliRBM, has no closed form for
        Gaussian visible units.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        score : ndarray of shape (n_samples,)
            ``-F(v)`` in nats, in the model's dtype.
        """
        return -self.free_energy(X)
