"""Annealed importance sampling, forward and reverse (private; see
:func:`rbmlib.likelihood.ais`)."""

import time
from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, validate_params

from .._kernels import categorical as _ck
from .._kernels import partition as _pk
from ..units import CATEGORICAL_VISIBLE
from ._estimate import _summarise, _warn_low_ess
from ._exact import _gaussian_gaussian_log_z
from ._model import _check_visible, _enumerated, _model, _visible

#: AIS runs its schedule in chunks of ``max(_AIS_MIN_CHUNK, n_temperatures / _AIS_CHUNKS)``
#: temperatures, verbose or not (the chunks, not the verbose setting, fix the random
#: streams), and reports its progress between chunks.
_AIS_CHUNKS = 20
_AIS_MIN_CHUNK = 256


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
