"""Log partition function and log-likelihood of a fitted RBM.

The functions take any object with the fitted attributes of an rbmlib RBM:

* ``components_`` : ndarray of shape (n_components, n_features), the weights ``W``;
* ``intercept_hidden_`` : ndarray of shape (n_components,), the hidden biases ``c``;
* ``intercept_visible_`` : ndarray of shape (n_features,), the visible biases ``b``;
* optionally ``sigma_`` : ndarray of shape (n_features,), the standard
  deviations of Gaussian visible units. When it is present (and not None)
  the visible units are Gaussian, otherwise Bernoulli;
* optionally ``offsets_`` : int ndarray of shape (n_groups + 1,), the groups of
  categorical (softmax) visible units (a :class:`rbmlib.CategoricalRBM`), whose
  states are the concatenated one-hot vectors of shape (n_features,).

The visible unit type is the estimator's ``_visible_units`` (an entry of the
unit table :mod:`rbmlib.units`) when it has one, else read from these
attributes; every formula below reads the units from the table.

Energies, with binary hidden units ``h``:

* Bernoulli visible units: ``E(v, h) = -b.v - c.h - h W v``, free energy
  ``F(v) = -b.v - sum_j softplus(c_j + W_j v)``;
* Gaussian visible units: ``E(v, h) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - c.h
  - (v / sigma^2) W^T h``, free energy
  ``F(v) = sum_i (v_i - b_i)^2 / (2 sigma_i^2) - sum_j softplus(c_j + W_j (v / sigma^2))``;
* categorical visible units (one-hot groups ``v``): as Bernoulli, with
  ``p(v_g = k | h) = softmax_k(b_gk + W_gk . h)`` over each group.

``p(v) = exp(-F(v)) / Z``; all logarithms are natural (nats). For Gaussian
visible units ``p`` is a density and its logarithm a log-density.
"""

import inspect
import math
import time
import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._kernels import categorical as _ck
from ._kernels import partition as _pk
from .units import CATEGORICAL_VISIBLE, VISIBLE_UNITS, VisibleUnits, categorical_units
from .units import free_energy as _units_free_energy
from .units import hidden_units as _hidden_units_of

__all__ = [
    "PartitionEstimate",
    "log_partition_exact",
    "ais",
    "free_energy",
    "log_likelihood",
    "default_betas",
    "MAX_EXACT_UNITS",
]

#: ``log_partition_exact`` enumerates at most ``2**MAX_EXACT_UNITS`` states of a
#: layer (25 binary units, or as many configurations of categorical units:
#: seconds to minutes, depending on the other layer).
MAX_EXACT_UNITS = 25

#: AIS warns when the effective sample size of its importance weights is below
#: ``max(AIS_MIN_ESS_FRACTION * n_runs, min(AIS_MIN_ESS, n_runs / 2))`` (see
#: :func:`ais`, Notes).
AIS_MIN_ESS = 5.0
AIS_MIN_ESS_FRACTION = 0.1

#: AIS runs its schedule in chunks of ``max(_AIS_MIN_CHUNK, n_temperatures / _AIS_CHUNKS)``
#: temperatures, verbose or not (the chunks, not the verbose setting, fix the random
#: streams), and reports its progress between chunks.
_AIS_CHUNKS = 20
_AIS_MIN_CHUNK = 256


@dataclass(frozen=True)
class PartitionEstimate:
    """An estimate of the log partition function ``log Z`` (nats).

    Attributes
    ----------
    log_z : float
        The estimate of ``log Z``.
    log_z_std : float
        Standard error of ``log_z``: ``se(mean w) / mean w`` by the delta
        method, where ``w`` are the AIS importance weights; 0 when exact.
    log_z_lower, log_z_upper : float
        ``log Z_base + log(mean w -/+ 3 se(mean w))`` as in Salakhutdinov and
        Murray (2008) (for reverse AIS the bounds of ``1 / Z`` turned over).
        ``-inf`` (``+inf``) when ``mean w - 3 se`` is not positive. Equal to
        ``log_z`` when exact.
    method : str
        ``"exact"``, ``"ais"`` or ``"reverse-ais"``.
    n_runs : int
        Number of AIS runs (0 when exact).
    n_betas : int
        Number of inverse temperatures, including 0 and 1 (0 when exact).
    log_z_base : float
        ``log Z`` of the base model (nan when exact).
    log_weights : ndarray of shape (n_runs,)
        Log importance weights of the runs (empty when exact).
    ess : float
        Effective sample size of the importance weights, ``(sum w)^2 / sum w^2``
        (Kong 1992), between 1 and ``n_runs``: the number of runs that carry the
        estimate. Far below ``n_runs``, a few runs dominate and ``log_z_std`` is
        not to be trusted (:func:`ais` warns). nan when exact.
    """

    log_z: float
    log_z_std: float
    log_z_lower: float
    log_z_upper: float
    method: str
    n_runs: int = 0
    n_betas: int = 0
    log_z_base: float = math.nan
    log_weights: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    ess: float = math.nan

    def __float__(self):
        return float(self.log_z)


def default_betas():
    """The schedule of inverse temperatures of Salakhutdinov and Murray (2008).

    Returns
    -------
    betas : ndarray of shape (14501,)
        0 to 0.5 in steps of 1e-3, 0.5 to 0.9 in steps of 1e-4, 0.9 to 1 in
        steps of 1e-5, increasing, ``betas[0] == 0`` and ``betas[-1] == 1``.
    """
    return np.concatenate([
        np.linspace(0.0, 0.5, 501)[:-1],
        np.linspace(0.5, 0.9, 4001)[:-1],
        np.linspace(0.9, 1.0, 10001),
    ])


def _hidden(rbm, what):
    """The hidden :class:`rbmlib.units.HiddenUnits` of ``rbm`` (Bernoulli unless it
    says otherwise in ``hidden_units_`` or ``hidden_units``); NotImplementedError
    naming the unit type when it has no free energy (``what`` needs one)."""
    name = getattr(rbm, "hidden_units_", None) or getattr(rbm, "hidden_units", None)
    unit = _hidden_units_of("bernoulli" if name is None else name)
    unit.check_free_energy(what)
    return unit


def _visible(rbm, sigma):
    """The visible :class:`rbmlib.units.VisibleUnits` of ``rbm``: its ``_visible_units``
    when it has them, else categorical with ``offsets_``, Gaussian when ``sigma_``
    is set, Bernoulli otherwise."""
    unit = getattr(rbm, "_visible_units", None)
    if isinstance(unit, VisibleUnits):
        return unit
    offsets = getattr(rbm, "offsets_", None)
    if offsets is not None:
        return categorical_units(offsets)
    return VISIBLE_UNITS["bernoulli" if sigma is None else "gaussian"]


def _model(rbm, what):
    """``(W, c, b, sigma, visible, hidden)`` of a fitted RBM (see :func:`_params`);
    ``what`` names the caller in the error of hidden units without a free energy."""
    hidden = _hidden(rbm, what)
    W, c, b, sigma = _params(rbm)
    visible = _visible(rbm, sigma)
    if visible.kernel_id == CATEGORICAL_VISIBLE and visible.offsets[-1] != W.shape[1]:
        raise ValueError(
            f"components_ of shape {W.shape} does not match the categorical groups "
            f"(offsets_ ends at {visible.offsets[-1]}, the number of one-hot units).")
    return W, c, b, sigma, visible, hidden


def _params(rbm):
    """Float64 C-contiguous (W, c, b, sigma or None) of a fitted RBM."""
    names = ("components_", "intercept_hidden_", "intercept_visible_")
    missing = [n for n in names if getattr(rbm, n, None) is None]
    if missing:
        raise NotFittedError(
            f"{type(rbm).__name__} has no attribute(s) {', '.join(missing)}: "
            "fit the model first (or pass an object with components_, "
            "intercept_hidden_ and intercept_visible_)."
        )
    W = np.ascontiguousarray(rbm.components_, dtype=np.float64)
    c = np.ascontiguousarray(rbm.intercept_hidden_, dtype=np.float64).ravel()
    b = np.ascontiguousarray(rbm.intercept_visible_, dtype=np.float64).ravel()
    if W.ndim != 2 or W.shape != (c.shape[0], b.shape[0]):
        raise ValueError(
            f"components_ of shape {W.shape} does not match intercept_hidden_ "
            f"{c.shape} and intercept_visible_ {b.shape}."
        )
    sigma = getattr(rbm, "sigma_", None)
    if sigma is not None:
        sigma = np.ascontiguousarray(np.broadcast_to(
            np.asarray(sigma, dtype=np.float64), b.shape))
        if not np.all(np.isfinite(sigma) & (sigma > 0)):
            raise ValueError("sigma_ must be positive and finite.")
    for name, arr in (("components_", W), ("intercept_hidden_", c),
                      ("intercept_visible_", b)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or infinity.")
    return W, c, b, sigma


def _check_visible(X, name, n_features, visible, *, binary=False, complete=False,
                   accept_1d=False):
    """Validated float64 copy of visible data ``X`` (dense or CSR).

    Checks the shape, that every value is finite, and the values the visible
    units accept (:meth:`rbmlib.units.VisibleUnits.check`): for Bernoulli
    units every value in [0, 1] (or 0 or 1 when ``binary``), as the free
    energy and the likelihood are defined for probabilities / binary states
    only; for categorical units one-hot groups (all complete when ``complete``).
    """
    X = check_array(X, accept_sparse="csr", dtype=np.float64, ensure_2d=not accept_1d,
                    ensure_all_finite=True, input_name=name)
    if X.ndim == 1:
        X = X.reshape(1, -1)
    if X.shape[1] != n_features:
        raise ValueError(
            f"{name} has {X.shape[1]} features (shape {X.shape}); the RBM expects "
            f"{n_features} features."
        )
    visible.check(X, name, binary=binary, complete=complete)
    return X


def _enumerated(W, visible, hidden):
    """The layer exact log Z enumerates and its number of states: ``("hidden", 2^H)``
    or ``("visible", visible.n_states(V))``, the discrete layer with fewer states
    (the hidden one on a tie); ``(None, 0)`` when neither is discrete.

    The other layer is then summed or integrated out in closed form
    (``log_marginal`` of the hidden units; softplus, a softmax's log-sum-exp or
    the Gaussian integral of the visible units).
    """
    H, V = W.shape
    layers = [(n, name) for name, unit, n in (("hidden", hidden, H), ("visible", visible, V))
              if unit.discrete]
    counts = [(2**n if name == "hidden" else visible.n_states(n), name) for n, name in layers]
    if not counts:
        return None, 0
    n_states, name = min(counts, key=lambda t: t[0])
    return name, n_states


def _auto_method(W, visible, hidden):
    """The exact-or-AIS rule: "exact" when the enumerated layer has at most
    ``2**MAX_EXACT_UNITS`` states (or none is enumerated), else "ais"."""
    return "exact" if _enumerated(W, visible, hidden)[1] <= 2**MAX_EXACT_UNITS else "ais"


def log_partition(rbm, method="auto", **ais_params):
    """log Z of ``rbm`` by ``method`` ("auto": exact when possible, else AIS).

    See :meth:`rbmlib.BernoulliRBM.log_partition`.
    """
    if method == "auto":
        W, _, _, _, visible, hidden = _model(rbm, "log_partition")
        method = _auto_method(W, visible, hidden)
    if method == "exact":
        return log_partition_exact(rbm)
    if method == "ais":
        return ais(rbm, **ais_params)
    raise ValueError(f"method must be 'auto', 'exact' or 'ais', got {method!r}.")


def _gaussian_gaussian_log_z(W, c, b, sigma):
    """log Z of Gaussian visible and Gaussian hidden units: a Gaussian integral.

    ``-F(v) = -v^T A v / 2 + beta.v + const`` with ``D = diag(1 / sigma^2)``,
    ``A = D - D W^T W D``, ``beta = D b + D W^T c``; ``log Z = const + beta^T
    A^-1 beta / 2 + V log(2 pi) / 2 - log det(A) / 2``. ValueError when ``A`` is
    not positive definite (the model is not normalisable).
    """
    H, V = W.shape
    d = 1.0 / sigma**2
    WD = W * d
    A = np.diag(d) - WD.T @ WD
    try:
        L = np.linalg.cholesky(A)
    except np.linalg.LinAlgError:
        raise ValueError(
            "The model has no finite log Z: with Gaussian visible and Gaussian hidden "
            "units the density is normalisable only when diag(1/sigma^2) - "
            "D W^T W D is positive definite (D = diag(1/sigma^2)), which this model's "
            "weights violate (too large). Use a smaller learning_rate."
        ) from None
    beta = d * b + WD.T @ c
    z = np.linalg.solve(L, beta)
    const = -0.5 * float(b @ (d * b)) + 0.5 * float(c @ c) + 0.5 * H * math.log(2 * math.pi)
    return (const + 0.5 * float(z @ z) + 0.5 * V * math.log(2 * math.pi)
            - float(np.log(np.diag(L)).sum()))


def _log_z_exact_arrays(W, c, b, sigma, visible, hidden):
    """Exact log Z: enumerate the discrete layer with fewer states, marginalise the other.

    One rule for every pair of unit types (the units say which layers are
    discrete and how many states they have; ``log_z_enumerate`` marginalises
    Bernoulli visible units by softplus and Gaussian ones by a Gaussian
    integral; the categorical kernels sum out softmax groups, or enumerate
    their configurations). The kernel is chosen by the visible units'
    ``kernel_id``; hidden units are marginalised by the kernels' dispatcher
    on the hidden ``kernel_id`` (``rbmlib._kernels.units.hidden_log_marginal``,
    without ``log_marginal_zero``, which is added here: ``H lm(0)`` for
    non-discrete units, whose kernel term drops it).
    """
    H, V = W.shape
    layer, n_states = _enumerated(W, visible, hidden)
    if layer is None:  # no discrete layer: Gaussian visible and Gaussian hidden units
        return _gaussian_gaussian_log_z(W, c, b, sigma)
    if n_states > 2**MAX_EXACT_UNITS:
        which = ("the smaller layer" if visible.discrete and hidden.discrete else
                 f"the {layer} layer")
        groups = (f"{len(visible.offsets) - 1} softmax groups, " if layer == "visible"
                  and visible.kernel_id == CATEGORICAL_VISIBLE else "")
        n = H if layer == "hidden" else V
        raise ValueError(
            f"exact log Z enumerates {which}: {n} units ({groups}{n_states} states; of "
            f"{V} visible {visible.name} and {H} hidden {hidden.name} units), which is more "
            f"than {MAX_EXACT_UNITS} binary units' 2^{MAX_EXACT_UNITS} = "
            f"{2**MAX_EXACT_UNITS} states; use ais() instead."
        )
    categorical = visible.kernel_id == CATEGORICAL_VISIBLE
    if layer == "hidden":
        if categorical:  # softmax groups summed out: logsumexp per group
            return _ck.log_z_hidden_enumerate(W, c, b, visible.offsets)
        if visible.discrete:  # Bernoulli visible units summed out
            return _pk.log_z_enumerate(W, c, b, False, np.ones(V))
        # Gaussian visible units integrated out:
        # log Z = logsumexp_h [c.h + sum_i ((b + W^T h)_i^2 - b_i^2) / (2 sigma_i^2)]
        #         + sum_i log(sqrt(2 pi) sigma_i)
        inv_var = 1.0 / sigma**2
        const = visible.log_z_base(b, sigma) - float(np.sum(0.5 * b**2 * inv_var))
        return _pk.log_z_enumerate(W, c, b, True, inv_var) + const
    # the visible states enumerated, the hidden units marginalised by the kernels'
    # hidden dispatcher, whose term drops the constant lm(0) of non-discrete units
    WT = np.ascontiguousarray(W.T)
    const = 0.0 if hidden.discrete else H * hidden.log_marginal_zero
    if categorical:
        return _ck.log_z_visible_enumerate(WT, c, b, visible.offsets, hidden.kernel_id) + const
    return _pk.log_z_enumerate(WT, b, c, False, np.empty(0), hidden.kernel_id) + const


@validate_params({"rbm": "no_validation"}, prefer_skip_nested_validation=True)
def log_partition_exact(rbm):
    """Exact log partition function by enumerating the layer with fewer states.

    For Bernoulli visible units the ``2^n`` states of the smaller layer
    (``n = min(n_components, n_features) <= 25``) are enumerated and the other
    layer is summed out in closed form; with Gaussian visible units the hidden
    layer is enumerated and the visible units integrated out (a Gaussian
    integral per state); with categorical visible units either the ``2^H``
    hidden states (each softmax group summed out by a log-sum-exp) or the
    ``prod_g K_g`` visible configurations, whichever are fewer (at most
    ``2^25``). The sum is a log-sum-exp accumulated in float64, in parallel
    over chunks of states (Numba).

    Parameters
    ----------
    rbm : fitted RBM
        Any object with ``components_`` of shape (n_components, n_features),
        ``intercept_hidden_`` of shape (n_components,) and
        ``intercept_visible_`` of shape (n_features,); ``sigma_`` of shape
        (n_features,) if the visible units are Gaussian, ``offsets_`` if they
        are categorical.

    Returns
    -------
    estimate : PartitionEstimate
        ``log_z`` in nats, ``method="exact"``, zero standard error.

    Raises
    ------
    NotFittedError
        If the parameters are missing.
    ValueError
        If the enumerated layer has more than ``2^25`` states (25 binary
        units), or the parameters are inconsistent or not finite.

    Notes
    -----
    The cost is ``O(2^n m)`` with ``m`` the size of the other layer: about a
    second for n=20, m=784 on one core; n=25 takes about 30 times longer.
    """
    W, c, b, sigma, visible, hidden = _model(rbm, "log_partition_exact")
    log_z = float(_log_z_exact_arrays(W, c, b, sigma, visible, hidden))
    return PartitionEstimate(log_z, 0.0, log_z, log_z, "exact")


def _base_biases(base_rate, b, sigma, n_features, visible=None):
    """Visible biases of the base model from ``base_rate`` (``visible`` None: the
    units of ``sigma``, as for an object without ``offsets_``)."""
    visible = visible or _visible(None, sigma)
    if base_rate is None:
        return visible.base_biases(None, 0, b)
    if not sp.issparse(base_rate):
        shape = np.shape(base_rate)
        if len(shape) != 2:
            raise ValueError(
                f"base_rate must be data of shape (n_samples, {n_features}) or None, "
                f"got an array of shape {shape}."
            )
        if shape[0] == 0:
            raise ValueError("base_rate has no samples.")
    Xb = _check_visible(base_rate, "base_rate", n_features, visible)
    mean = np.asarray(Xb.mean(axis=0), dtype=np.float64).ravel()
    return np.ascontiguousarray(visible.base_biases(mean, Xb.shape[0], b), dtype=np.float64)


def _log_z_base(b_base, sigma, n_components, unit, visible=None):
    """log Z of the AIS base model: its visible layer and ``n_components`` free hidden units."""
    visible = visible or _visible(None, sigma)
    return n_components * unit.log_marginal_zero + visible.log_z_base(b_base, sigma)


def _check_betas(betas):
    if betas is None:
        return default_betas()
    betas = check_array(betas, dtype=np.float64, ensure_2d=False, ensure_all_finite=True,
                        ensure_min_samples=0, input_name="betas")
    if betas.ndim != 1:
        raise ValueError(f"betas must be 1-D, got an array of shape {betas.shape}.")
    betas = np.ascontiguousarray(betas)
    if betas.shape[0] < 2 or betas[0] != 0.0 or betas[-1] != 1.0:
        raise ValueError("betas must start at 0, end at 1 and have at least 2 entries.")
    if np.any(np.diff(betas) <= 0):
        raise ValueError("betas must be strictly increasing.")
    return betas


@validate_params(
    {
        "rbm": "no_validation",
        "n_runs": [Interval(Integral, 2, None, closed="left")],
        "betas": ["array-like", None],
        "base_rate": ["array-like", "sparse matrix", None],
        "reverse": ["boolean"],
        "random_state": ["random_state"],
        "init": ["array-like", None],
        "n_burn_in": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def ais(rbm, n_runs=100, betas=None, base_rate=None, reverse=False,
        random_state=None, *, init=None, n_burn_in=1000, verbose=0):
    """Estimate log Z by annealed importance sampling (AIS).

    Forward AIS anneals ``n_runs`` independent chains from a base model
    (visible biases ``b_A``, no weights; its ``Z_A`` is known) to the RBM
    through the distributions ``p*_beta(v) ∝ exp((1-beta) b_A.v + beta b.v)
    prod_j (1 + exp(beta (c_j + W_j v)))``, with one Gibbs sweep per inverse
    temperature. The mean importance weight ``w`` is an unbiased estimate of
    ``Z / Z_A``; ``log Z = log Z_A + log mean(w)`` is then a stochastic
    lower bound (it underestimates ``log Z`` on average, by Jensen's inequality).

    Reverse AIS (``reverse=True``) runs the same chains from the RBM down to
    the base model, starting from model samples, and estimates ``Z_A / Z``:
    with exact starting samples it is a stochastic upper bound on ``log Z``
    (Burda, Grosse and Salakhutdinov 2015). The starting samples here are
    approximate (Gibbs chains), so the bound holds only as far as the chains
    have mixed; the gap between the forward and reverse values is a
    diagnostic of the schedule.

    The runs advance together, one temperature at a time: two matrix
    products per temperature (all runs' hidden inputs, then their visible
    inputs) and elementwise passes shared among Numba's threads. Run ``r``
    uses its own counter-based random stream, so the result depends on
    ``random_state`` only, not on the number of Numba threads (several BLAS
    threads may round the products differently in the last bits).

    Parameters
    ----------
    rbm : fitted RBM
        Any object with ``components_`` (n_components, n_features),
        ``intercept_hidden_`` (n_components,), ``intercept_visible_``
        (n_features,), and ``sigma_`` (n_features,) for Gaussian visible units.
    n_runs : int, default=100
        Number of AIS runs (importance weights).
    betas : array-like of shape (n_betas,), default=None
        Increasing inverse temperatures from 0 to 1. None uses the schedule of
        Salakhutdinov and Murray (2008), see :func:`default_betas`
        (14,501 values). The cost grows linearly with ``n_betas``.
    base_rate : array-like or sparse matrix of shape (n_samples, n_features), default=None
        Data whose marginal rates define the base model: ``b_A = logit(p)``
        with ``p`` the per-feature mean, smoothed by one pseudo-count of 0 and
        of 1 (for Gaussian units: ``b_A`` the data mean; for categorical units:
        the log of each category's frequency, smoothed by one pseudo-count per
        category). None gives a uniform base model (``b_A = 0``; for Gaussian
        units ``b_A = b``). A base model fitted to the training data gives far
        lower variance.
    reverse : bool, default=False
        Run reverse AIS instead of forward AIS (not for categorical visible
        units).
    random_state : int, RandomState instance or None, default=None
        Seeds the runs (and the chains that start reverse AIS).
    init : array-like of shape (n_runs, n_features), default=None
        Reverse AIS only: starting visible states (0 or 1 for Bernoulli
        visible units, finite for Gaussian ones). None: ``n_burn_in`` Gibbs
        sweeps of the RBM from base-model samples.
    n_burn_in : int >= 0, default=1000
        Reverse AIS only: Gibbs sweeps that produce the starting states when
        ``init`` is None.
    verbose : int, default=0
        If non-zero, print the progress (temperatures done of the total, the
        time elapsed and the time left) about every 10% of the schedule or 5
        seconds, then the estimate with its effective sample size. The result
        does not depend on it.

    Returns
    -------
    estimate : PartitionEstimate
        ``log_z`` (nats), its standard error ``log_z_std``, the bounds
        ``log_z_lower``/``log_z_upper`` = ``log Z_A + log(mean w -/+ 3 se)``,
        ``method`` (``"ais"`` or ``"reverse-ais"``), the log weights and their
        effective sample size ``ess``.

    Raises
    ------
    NotFittedError
        If the parameters are missing.
    ValueError
        If ``n_runs`` is not an integer >= 2 or ``n_burn_in`` not an integer
        >= 0 (``sklearn.utils._param_validation.InvalidParameterError``, a
        ``ValueError``); if ``betas`` is not 1-D, finite and strictly
        increasing from 0 to 1; if ``base_rate`` or ``init`` has the wrong
        shape or non-finite values, ``base_rate`` values outside [0, 1] or
        ``init`` values other than 0 and 1 for Bernoulli visible units; or if
        ``init`` is given for forward AIS.
    NotImplementedError
        If ``reverse`` is asked for categorical visible units.

    Warns
    -----
    RuntimeWarning
        Once per call, when the effective sample size ``ess`` of the weights is
        below 10% of ``n_runs``, or below 5 and half of ``n_runs``: the
        estimate then rests on a few runs and its standard error (and the
        +/-3 s.e. bounds) cannot be trusted.

    Notes
    -----
    The standard error is the sample standard deviation of the weights, and
    ``log_z_std`` is about ``sqrt(1 / ess - 1 / n_runs)``. When the schedule
    is too short for the model, the log weights spread over many nats, the
    sum is dominated by the largest few weights and the bulk of the
    distribution of ``w`` that carries ``Z`` is not sampled: the sample
    variance then underestimates the true one, and the interval can miss
    ``log Z`` by far more than 3 s.e. (with 2 temperatures, an ``ess`` of 1.3
    of 100 runs and an interval 10 nats off the exact value). Below 10% of
    the runs (90% of the runs contribute next to nothing; ``log_z_std`` is
    then above ``3 / sqrt(n_runs)``), or below 5 effective values (a variance
    from fewer is no estimate) when that is less than half the runs,
    :func:`ais` warns; the remedy is more temperatures (a finer schedule) and
    more runs. (With the default schedule, the small models of the tests,
    checked against exact values, give an ``ess`` above 90% of the runs.) ``log_z_std`` is not
    inflated: no correction is reliable when the tail is unseen.

    The schedule runs in chunks of at least 256 temperatures (at most 20
    chunks), each continuing the runs where the last one stopped (with the
    Gibbs sweep at its boundary temperature) on fresh random streams; a
    schedule of at most 257 temperatures is one chunk.

    References
    ----------
    R. M. Neal, "Annealed importance sampling", Statistics and Computing 11(2),
    125-139, 2001.

    A. Kong, "A note on importance sampling using standardized weights",
    Technical Report 348, Department of Statistics, University of Chicago, 1992.

    R. Salakhutdinov and I. Murray, "On the quantitative analysis of deep
    belief networks", ICML 2008.

    Y. Burda, R. Grosse and R. Salakhutdinov, "Accurate and conservative
    estimates of MRF log-likelihood using reverse annealing", AISTATS 2015.
    """
    W, c, b, sigma, visible, unit = _model(rbm, "ais")
    H, V = W.shape
    if _enumerated(W, visible, unit)[0] is None:
        _gaussian_gaussian_log_z(W, c, b, sigma)  # raises when not normalisable
    categorical = visible.kernel_id == CATEGORICAL_VISIBLE
    if categorical and reverse:
        raise NotImplementedError(
            "reverse AIS is not implemented for categorical visible units; use forward "
            "AIS (reverse=False).")
    n_runs = int(n_runs)
    betas = _check_betas(betas)
    b_base = np.ascontiguousarray(_base_biases(base_rate, b, sigma, V, visible))
    gaussian_units = sigma is not None
    if init is not None:
        if not reverse:
            raise ValueError("init (the starting states of reverse AIS) is only used with "
                             "reverse=True; forward AIS starts from the base model.")
        init_shape = np.shape(init)
        if init_shape != (n_runs, V):
            raise ValueError(
                f"init must have shape (n_runs, n_features) = {(n_runs, V)}, "
                f"got {init_shape}."
            )
        init = np.ascontiguousarray(
            _check_visible(init, "init", V, visible, binary=True), dtype=np.float64)
    sig = sigma if gaussian_units else np.ones(V)
    rng = check_random_state(random_state)
    seed = int(rng.randint(0, 2**31 - 1))
    WT = np.ascontiguousarray(W.T)
    log_w = np.empty(n_runs)
    t_start = time.time()
    label = "[AIS]" if not reverse else "[reverse AIS]"
    if verbose:
        print(f"{label} {n_runs} runs, {betas.shape[0]} inverse temperatures, "
              f"{H} hidden and {V} visible units")
    if categorical:  # the kernels of the softmax groups (one call: no progress between)
        _ck.ais_log_weights(W, c, b, b_base, visible.offsets, betas, seed, log_w,
                            unit.kernel_id)
    else:
        if not reverse:
            v0 = None
        elif init is None:
            # base-model samples, then Gibbs sweeps of the RBM
            if gaussian_units:
                v0 = b_base + sig * rng.standard_normal((n_runs, V))
            else:
                p0 = 1.0 / (1.0 + np.exp(-b_base))
                v0 = (rng.random_sample((n_runs, V)) < p0).astype(np.float64)
            v0 = np.ascontiguousarray(v0)
            if verbose:
                print(f"{label} {int(n_burn_in)} Gibbs sweeps to start the runs")
            _pk.gibbs_chains(W, WT, c, b, sig, gaussian_units, v0, int(n_burn_in),
                             int(rng.randint(0, 2**31 - 1)), unit.kernel_id)
        else:
            v0 = init
        _ais_chunked(W, WT, c, b, b_base, sig, gaussian_units,
                     np.ascontiguousarray(betas[::-1]) if reverse else betas, v0, seed,
                     log_w, unit.kernel_id,
                     _Progress(label, betas.shape[0], enabled=bool(verbose)))
    log_z_base = _log_z_base(b_base, sigma, H, unit, visible)
    est = _summarise(log_w, log_z_base, reverse, betas.shape[0])
    if verbose:
        print(f"{label} log Z = {est.log_z:.4f} (s.e. {est.log_z_std:.4f}), effective "
              f"sample size {est.ess:.1f} of {n_runs} runs, time = {time.time() - t_start:.2f}s")
    _warn_low_ess(est, reverse)
    return est


class _Progress:
    """Progress lines of AIS: ``"{label} {done}/{total} temperatures ({pct}%), elapsed =
    ..s, time left ~ ..s"`` when 10% of the total or 5 s of wall time have passed
    since the last line, and at the end. (Here rather than in ``_fitting``: this
    module reads only the unit table and the kernels.)"""

    def __init__(self, label, total, enabled, every=0.1, seconds=5.0):
        self.label, self.total, self.enabled = label, int(total), enabled
        self.every, self.seconds = every, seconds
        self.t_start = self.t_last = time.time()
        self.done_last = 0

    def update(self, done):
        if not self.enabled:
            return
        now = time.time()
        if not (done >= self.total or done - self.done_last >= self.every * self.total
                or now - self.t_last >= self.seconds):
            return
        elapsed = now - self.t_start
        left = elapsed / done * (self.total - done)
        print(f"{self.label} {done}/{self.total} temperatures "
              f"({100.0 * done / self.total:.0f}%), elapsed = {elapsed:.1f}s, "
              f"time left ~ {left:.1f}s")
        self.t_last, self.done_last = now, done


def _ais_chunks(n_betas):
    """``(start, stop)`` index pairs into the schedule, each chunk's stop the next one's start."""
    K = n_betas - 1
    step = max(_AIS_MIN_CHUNK, -(-K // _AIS_CHUNKS))
    bounds = list(range(0, K, step)) + [K]
    return list(zip(bounds[:-1], bounds[1:]))


def _chunk_seed(seed, c):
    """The seed of chunk ``c`` (``seed`` itself for the first: one chunk is one kernel call)."""
    if c == 0:
        return seed
    return int(np.random.SeedSequence([seed, c]).generate_state(1)[0] >> 1)


def _ais_chunked(W, WT, c, b, b_base, sigma, gaussian_units, betas, v0, seed, log_w,
                 hidden_units, progress):
    """``_pk.ais_log_weights`` over ``betas`` in chunks (:func:`_ais_chunks`), reporting
    ``progress`` between them; ``v0`` None starts from base-model samples.

    Chunk ``c > 0`` continues the runs from the last chunk's states with the
    schedule ``[beta_s, beta_s, ..., beta_e]``: its first step, from ``beta_s``
    to itself, adds exactly 0 to the log weights and makes the Gibbs sweep at
    ``beta_s`` that the last chunk (which ends without a sweep) left out, so
    the runs are those of one call, on the chunk's own random streams.
    """
    R, V = log_w.shape[0], W.shape[1]
    v = np.empty((R, V))
    part = np.empty(R)
    log_w[:] = 0.0
    for k, (start, stop) in enumerate(_ais_chunks(betas.shape[0])):
        if k == 0:
            chunk, sample_init = betas[:stop + 1], v0 is None
            v_init = v if v0 is None else v0
        else:
            chunk = np.concatenate([betas[start:start + 1], betas[start:stop + 1]])
            sample_init, v_init = False, v
        _pk.ais_log_weights(W, WT, c, b, b_base, sigma, gaussian_units, chunk, v_init,
                            sample_init, _chunk_seed(seed, k), part, v, hidden_units)
        log_w += part
        progress.update(stop + 1)  # temperatures done, beta_0 included


def _effective_sample_size(log_w):
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` of weights ``exp(log_w)``."""
    w = np.exp(log_w - np.max(log_w))
    return float(w.sum() ** 2 / np.sum(w * w))


def _warn_low_ess(est, reverse):
    """One RuntimeWarning when ``est.ess`` is too small for ``log_z_std`` to be trusted."""
    R = est.n_runs
    threshold = max(AIS_MIN_ESS_FRACTION * R, min(AIS_MIN_ESS, R / 2))
    if not est.ess < threshold:
        return
    warnings.warn(
        f"{'Reverse AIS' if reverse else 'AIS'}: the effective sample size of the "
        f"importance weights is {est.ess:.1f} of {est.n_runs} runs (below "
        f"{threshold:g}): a few runs carry the estimate, so its standard error "
        f"({est.log_z_std:.3g} nats) and the +/-3 s.e. bounds cannot be trusted and "
        f"log Z may be off by much more. Use more inverse temperatures (betas; "
        f"{est.n_betas} now, the default schedule has 14,501) and more runs (n_runs).",
        RuntimeWarning, stacklevel=4)


def _summarise(log_w, log_z_base, reverse, n_betas):
    """log mean(w) with a standard error and log(mean -/+ 3 se) bounds."""
    R = log_w.shape[0]
    m = float(np.max(log_w))
    w = np.exp(log_w - m)
    mean = float(w.mean())
    se = float(w.std(ddof=1) / math.sqrt(R))
    log_mean = m + math.log(mean)
    lo = m + math.log(mean - 3 * se) if mean - 3 * se > 0 else -math.inf
    hi = m + math.log(mean + 3 * se)
    std = se / mean
    ess = _effective_sample_size(log_w)
    if not reverse:
        return PartitionEstimate(log_z_base + log_mean, std, log_z_base + lo,
                                 log_z_base + hi, "ais", R, n_betas, log_z_base,
                                 log_w.copy(), ess)
    return PartitionEstimate(log_z_base - log_mean, std, log_z_base - hi,
                             log_z_base - lo, "reverse-ais", R, n_betas,
                             log_z_base, log_w.copy(), ess)


@validate_params({"rbm": "no_validation", "X": ["array-like", "sparse matrix"]},
                 prefer_skip_nested_validation=True)
def free_energy(rbm, X):
    """Free energy ``F(v)`` of each row of ``X``, in nats.

    Parameters
    ----------
    rbm : fitted RBM
        See :func:`log_partition_exact`.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Visible vectors (a 1-D array is one sample): finite; in [0, 1]
        (probabilities or binary states) for Bernoulli visible units; one-hot
        groups (all zero for a missing entry) for categorical ones.

    Returns
    -------
    F : ndarray of shape (n_samples,)
        ``-b.v - sum_j softplus(c_j + W_j v)`` (Bernoulli visible units) or
        ``sum_i (v_i - b_i)^2 / (2 sigma_i^2) - sum_j softplus(c_j + W_j (v / sigma^2))``
        (Gaussian).

    Raises
    ------
    NotFittedError
        If the parameters are missing.
    ValueError
        If ``X`` does not have ``n_features`` columns, has NaN or infinite
        values, or values outside [0, 1] for Bernoulli visible units.
    """
    W, c, b, sigma, visible, hidden = _model(rbm, "free_energy")
    X = _check_visible(X, "X", W.shape[1], visible, accept_1d=True)
    return _units_free_energy(X, W, c, b, sigma, visible, hidden)


_AIS_PARAMS = frozenset(inspect.signature(ais).parameters) - {"rbm"}


@validate_params(
    {
        "rbm": "no_validation",
        "X": ["array-like", "sparse matrix"],
        "log_z": [None, StrOptions({"exact", "ais"}), Real, PartitionEstimate],
        "return_log_z": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def log_likelihood(rbm, X, log_z=None, *, return_log_z=False, **ais_params):
    """Log-likelihood of each row of ``X`` under the RBM, in nats.

    ``log p(x) = -F(x) - log Z`` (a log-density for Gaussian visible units).

    How ``log Z`` is obtained:

    * ``log_z=None``: exactly (:func:`log_partition_exact`) when the smaller
      layer has at most 25 units, else by forward AIS (:func:`ais`) with the
      base model fitted to ``X`` (``base_rate=X`` unless given) and
      ``ais_params``. AIS tends to underestimate ``log Z`` and so
      overestimate the log-likelihood, slightly when the schedule is long;
    * ``"exact"`` or ``"ais"``: that method;
    * a float or a :class:`PartitionEstimate`: used as given (compute it
      once and reuse it across data sets).

    Parameters
    ----------
    rbm : fitted RBM
        See :func:`log_partition_exact`.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Finite; in [0, 1] for Bernoulli visible units (an error otherwise:
        the likelihood of values that are not probabilities is undefined);
        complete one-hot rows for categorical visible units.
    log_z : None, {"exact", "ais"}, float or PartitionEstimate, default=None
        A given value must be finite (nats).
    return_log_z : bool, default=False
        Also return the :class:`PartitionEstimate` used (its ``method`` says
        how ``log Z`` was obtained; ``"given"`` for a float).
    **ais_params
        Passed to :func:`ais` (``n_runs``, ``betas``, ``base_rate``,
        ``random_state``, ...).

    Returns
    -------
    log_lik : ndarray of shape (n_samples,)
        Log-likelihood of each sample, in nats.
    estimate : PartitionEstimate
        Only if ``return_log_z``.

    Raises
    ------
    ValueError
        If ``log_z`` is not one of the accepted values or not finite,
        ``"exact"`` is asked for a model too large to enumerate, or ``X`` is
        not valid (see :func:`free_energy`).
    TypeError
        If ``ais_params`` has a name :func:`ais` does not take.
    """
    unknown = sorted(set(ais_params) - _AIS_PARAMS)
    if unknown:
        raise TypeError(
            f"log_likelihood() got unexpected keyword argument(s) {', '.join(unknown)}; "
            f"the AIS parameters are {', '.join(sorted(_AIS_PARAMS))}."
        )
    if isinstance(log_z, (PartitionEstimate, Real)) and not isinstance(log_z, bool):
        given = log_z.log_z if isinstance(log_z, PartitionEstimate) else log_z
        if not math.isfinite(float(given)):
            raise ValueError(f"log_z must be finite, got {given!r}.")
    # validate X before any (possibly long) computation of log Z
    W, c, b, sigma, visible, unit = _model(rbm, "log_likelihood")
    X = _check_visible(X, "X", W.shape[1], visible, complete=True, accept_1d=True)
    if isinstance(log_z, PartitionEstimate):
        est = log_z
    elif log_z is None or isinstance(log_z, str):
        if log_z is None:
            method = _auto_method(W, visible, unit)
        else:
            method = log_z
        if method == "exact":
            est = log_partition_exact(rbm)
        elif method == "ais":
            params = dict(ais_params)
            params.setdefault("base_rate", X)
            est = ais(rbm, **params)
        else:
            raise ValueError(f"log_z must be None, 'exact', 'ais', a float or a "
                             f"PartitionEstimate, got {log_z!r}.")
    elif isinstance(log_z, (float, int, np.floating, np.integer)) and not isinstance(log_z, bool):
        v = float(log_z)
        est = PartitionEstimate(v, math.nan, v, v, "given")
    else:
        raise ValueError(f"log_z must be None, 'exact', 'ais', a float or a "
                         f"PartitionEstimate, got {log_z!r}.")
    ll = -_units_free_energy(X, W, c, b, sigma, visible, unit) - est.log_z
    if return_log_z:
        return ll, est
    return ll
