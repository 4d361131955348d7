"""Gaussian-Bernoulli Restricted Boltzmann Machine for real-valued data.

Linear visible units with Gaussian noise and binary hidden units, with the
energy of Cho, Ilin and Raiko (2011). The shared training machinery (CD-k /
PCD epochs, momentum, weight decay, sparsity, monitoring, divergence checks)
is :class:`rbmlib.rbm._BaseRBM`; the arithmetic is in
:mod:`rbmlib._kernels.cd`.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.sparsefuncs import mean_variance_axis

from .._docstrings import Substitution
from .._params import ParamGroup, with_init
from ..units import VISIBLE_UNITS
from ._base import _BaseRBM
from ._common import _needs_free_energy
from ._params import CENTERING, HIDDEN, OPTIMIZER, RBM_FIT, RBM_SIZE, TEMPERING

__all__ = ["GaussianBernoulliRBM"]

#: Largest per-feature standard deviation of the training data accepted.
#: The visible units expect standardised features; a feature spread over
#: more than ten of its own units is taken as unstandardised data.
MAX_FEATURE_STD = 10.0

#: Largest per-feature offset of the training data accepted: a feature whose
#: mean ``m`` and standard deviation ``s`` have ``|m| > MAX_FEATURE_MEAN + 2 s``
#: is taken as uncentred (e.g. mean 1e4 with unit variance, or a constant
#: column far from zero). A few outliers in a small standardised batch raise
#: the standard deviation along with the mean and are not flagged.
MAX_FEATURE_MEAN = 10.0

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


def column_moments(X):
    """Per-feature mean and standard deviation of X (dense or sparse), float64 of shape (n_features,)."""
    if sp.issparse(X):
        mean, var = mean_variance_axis(X, axis=0)
    else:
        mean, var = X.mean(axis=0, dtype=np.float64), _column_variance(X)
    return (np.asarray(mean, dtype=np.float64).ravel(),
            np.sqrt(np.asarray(var, dtype=np.float64).ravel()))


def standardisation_problem(mean, std, who, example):
    """Check per-feature ``mean`` and ``std`` of data for unit-variance Gaussian units.

    Raises ValueError naming a feature whose standard deviation exceeds
    MAX_FEATURE_STD; returns a message naming a feature whose mean is far
    from 0 for its spread (``|mean| > MAX_FEATURE_MEAN + 2 std``: uncentred,
    or constant far from 0), for the caller to warn with, or None. ``who``
    names the estimator in the messages, ``example`` its constructor in the
    StandardScaler remedy.
    """
    remedy = ("Standardise X first (zero mean, unit variance per feature), for example "
              f"with make_pipeline(StandardScaler(), {example}).")
    i = int(np.argmax(std))
    if std[i] > MAX_FEATURE_STD:
        raise ValueError(
            f"{who} expects standardised features (zero mean, unit variance); feature "
            f"{i} of X has standard deviation {std[i]:.4g}, more than "
            f"{MAX_FEATURE_STD:g}. {remedy}")
    excess = np.abs(mean) - (MAX_FEATURE_MEAN + 2 * std)
    i = int(np.argmax(excess))
    if excess[i] > 0:
        what = "constant" if std[i] == 0 else f"standard deviation {std[i]:.4g}"
        return (f"{who} expects standardised features (zero mean, unit variance); feature "
                f"{i} of X has mean {mean[i]:.4g} ({what}), far from 0 for its spread: the "
                f"data are not centred. {remedy}")
    return None


#: The parameter only GaussianBernoulliRBM has (between n_jobs and hidden_units).
_OWN = ParamGroup(learn_sigma=(False, ["boolean"]))


@with_init(RBM_SIZE, RBM_FIT.with_defaults(learning_rate=0.01), _OWN, HIDDEN, OPTIMIZER,
           TEMPERING, CENTERING)
@Substitution(learning_rate_default="0.01",
              visible_bias_doc="Visible biases ``b`` (the means of ``p(v | h = 0)``).")
class GaussianBernoulliRBM(_BaseRBM, visible_units=VISIBLE_UNITS["gaussian"]):
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
    The learning rate and the initial weights assume unit-scale, centred
    features in either case, so :meth:`fit` and :meth:`partial_fit` raise a
    ValueError naming the feature when one of the training data has a
    standard deviation above ``MAX_FEATURE_STD`` (10), and warn (a
    UserWarning naming the feature) when one has a mean far from 0
    (``|mean| > MAX_FEATURE_MEAN + 2 std``, ``MAX_FEATURE_MEAN`` = 10:
    uncentred, or constant far from 0); if training then diverges, the
    DivergenceError says what is wrong with the data. Inference methods
    accept any finite input.

    Training is the same as for :class:`~rbmlib.BernoulliRBM` (CD-k or PCD,
    hidden probabilities for the gradient statistics, Gaussian samples of
    the visible units in the negative chain), with a ten times smaller
    default learning rate as the practical guide advises for linear units.
    Visible biases start at the data means, weights at N(0, 0.01^2).

    Parameters
    ----------
    {rbm_batch_params}
    verbose : int, default=0
        If non-zero, print one line per epoch in scikit-learn's format
        (``[GaussianBernoulliRBM] Iteration 1, -free energy = -8.12, time =
        0.14s``: the mean negative free energy of up to 10 monitored training
        rows and the epoch's seconds), then the reconstruction error and the
        estimated time left.
    {rbm_sampling_params}
    persistent : bool, default=True
        Persistent CD (Tieleman 2008); False gives CD-k (Hinton 2002).
        With ``learn_sigma=True`` prefer ``persistent=False`` or ``k >= 10``:
        on a small test problem PCD-1 with learned variances lowered the exact
        log-likelihood over 200 epochs, while CD-1 and PCD-10 raised it.
    {rbm_update_params}
    {rbm_sampler_params}
    learn_sigma : bool, default=False
        Learn the per-visible standard deviations (parameterised by their
        log-variances, Cho et al. 2011) instead of fixing them at 1; the
        log-variances take the same updates as the weights and biases
        (``momentum``, ``optimizer``).
    {rbm_hidden_units}
    {rbm_optimizer_params}

    Attributes
    ----------
    {rbm_weight_attrs}
    sigma_ : ndarray of shape (n_features,)
        Standard deviations of the visible units (all 1 unless
        ``learn_sigma``). :mod:`rbmlib.likelihood` reads it to treat the
        visible units as Gaussian.
    {rbm_chain_attrs}
    {features_in_attrs}
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

    {rbm_refs}

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

    _score_key = "negative_free_energy"
    _score_label = "-free energy"

    _parameter_constraints: dict = {**_BaseRBM._parameter_constraints, **_OWN.constraints}

    # --------------------------------------------------------------- training
    def _check_training_data(self, X):
        """Check that the features are standardised.

        A feature with a standard deviation above MAX_FEATURE_STD raises a
        ValueError naming it. A feature whose mean is far from 0 (``|mean| >
        MAX_FEATURE_MEAN + 2 std``: uncentred, or constant far from 0) is
        returned as a message (the caller warns, and names it if training
        then diverges): scikit-learn's BernoulliRBM and its estimator checks
        fit such data, but the unit-scale initialisation and learning rate
        make training saturate or diverge on it.
        """
        if X.shape[0] < 2:
            return None
        mean, std = column_moments(X)
        return standardisation_problem(mean, std, "GaussianBernoulliRBM",
                                       "GaussianBernoulliRBM(...)")
        if sp.issparse(X):
            mean, var = mean_variance_axis(X, axis=0)
            mean = np.asarray(mean, dtype=np.float64)
        else:
            mean = np.asarray(X.mean(axis=0, dtype=np.float64))
            var = _column_variance(X)
        std = np.sqrt(np.asarray(var, dtype=np.float64))
        remedy = ("Standardise X first (zero mean, unit variance per feature), for example "
                  "with make_pipeline(StandardScaler(), GaussianBernoulliRBM(...)).")
        i = int(np.argmax(std))
        if std[i] > MAX_FEATURE_STD:
            raise ValueError(
                f"GaussianBernoulliRBM expects standardised features (zero mean, unit "
                f"variance); feature {i} of X has standard deviation {std[i]:.4g}, more "
                f"than {MAX_FEATURE_STD:g}. {remedy}"
            )
        excess = np.abs(mean) - (MAX_FEATURE_MEAN + 2 * std)
        i = int(np.argmax(excess))
        if excess[i] > 0:
            what = "constant" if std[i] == 0 else f"standard deviation {std[i]:.4g}"
            return (
                f"GaussianBernoulliRBM expects standardised features (zero mean, unit "
                f"variance); feature {i} of X has mean {mean[i]:.4g} ({what}), far from "
                f"0 for its spread: the data are not centred. {remedy}"
            )
        return None

    def __setstate__(self, state):
        super().__setstate__(state)
        # sigma_ is the model's _sigma; a pickler that stores arrays one by
        # one (joblib) loses the aliasing, so restore it
        if "_sigma" in self.__dict__ and "sigma_" in self.__dict__:
            self.sigma_ = self._sigma

    def _commit(self, state, rng, interrupted):
        super()._commit(state, rng, interrupted)
        self.sigma_ = self._sigma

    def _divergence_hint(self):
        return (" GaussianBernoulliRBM also needs standardised features (zero mean, unit "
                "variance), e.g. StandardScaler in a Pipeline.")

    def _saturation_applies(self, X_monitor):
        return True

    def _log_var_range(self):
        lo, hi = SIGMA_RANGE
        return float(2 * np.log(lo)), float(2 * np.log(hi))

    # ------------------------------------------------------------- inference
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
        return self._gibbs_step(v, sample)

    def _score_samples(self, X, P=None):
        return -self._free_energy(X, P)

    @_needs_free_energy
    @Substitution()
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

        {X_params}

        Returns
        -------
        score : ndarray of shape (n_samples,)
            ``-F(v)`` in nats, in the model's dtype.
        """
        X = self._check_fitted_X(X)
        return self._score_samples(X)
