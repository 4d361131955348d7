"""Annealed importance sampling, forward and reverse (private; see
:func:`rbmlib.likelihood.ais`)."""

import dataclasses
import time
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ._estimate import _summarise, _warn_low_ess
from ._exact import _gaussian_gaussian_log_z
from ._model import _check_visible, _enumerated, _model, _visible
from ._runs import _Path, _Progress


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
        "init": ["array-like", StrOptions({"gibbs", "pt"}), None],
        "pt_betas": ["array-like", None],
        "n_burn_in": [Interval(Integral, 0, None, closed="left")],
        "target_ess": [Interval(Real, 1, None, closed="left"), None],
        "grow": [StrOptions({"betas", "runs"})],
        "max_doublings": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def ais(rbm, n_runs=100, betas=None, base_rate=None, reverse=False,
        random_state=None, *, init=None, n_burn_in=1000, pt_betas=None, target_ess=None,
        grow="betas", max_doublings=4, verbose=0):
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
    approximate (Gibbs chains, or the states given as ``init``), so the bound
    holds only as far as the chains have mixed; the gap between the forward
    and reverse values is a diagnostic of the schedule.
    :func:`log_partition` with ``method="both"`` runs both.

    Every estimate carries the effective sample size of its weights and the
    largest weight's share. With ``target_ess``, AIS doubles the schedule
    (or the runs) until the effective sample size reaches it, at most
    ``max_doublings`` times, and says whether it did.

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
        Run reverse AIS instead of forward AIS.
    random_state : int, RandomState instance or None, default=None
        Seeds the runs (and the chains that start reverse AIS).
    init : array-like of shape (n_runs, n_features), {"gibbs", "pt"} or None, \
default=None
        Reverse AIS only: its starting visible states, samples of the RBM as
        good as can be had. An array: the states themselves (0 or 1 for
        Bernoulli visible units, finite for Gaussian ones, complete one-hot
        rows for categorical ones). ``"gibbs"`` (or None): ``n_burn_in`` Gibbs
        sweeps of the RBM from base-model samples. ``"pt"``: ``n_burn_in``
        updates of parallel tempering (Desjardins et al. 2010; the negative
        phase ``"pt"`` of the estimators, on the fixed model) from base-model
        samples, ``n_runs`` chains at each inverse temperature of ``pt_betas``,
        each update one Gibbs sweep of every chain and one pass of Metropolis
        swaps between neighbours; the chains at ``beta = 1`` start the runs.
        Gibbs chains that have not mixed between the modes of the model make
        reverse AIS bound nothing; tempered chains cross between modes.
    n_burn_in : int >= 0, default=1000
        Reverse AIS only: Gibbs sweeps (or parallel-tempering updates) that
        produce the starting states when ``init`` is not an array.
    pt_betas : array-like of shape (n_temperatures,), default=None
        With ``init="pt"``: the inverse temperatures of the tempered chains,
        decreasing from 1 and positive (the tempered RBM has parameters
        ``(beta W, beta c, beta b)``). None: 10 values geometrically spaced
        from 1 to 0.1: enough for small models, too coarse near 1 for large
        ones (on a 784-500 MNIST RBM after 3 epochs of CD-1, the two highest
        pairs swapped in 1% and 3% of the attempts); a ladder is good when
        every neighbouring pair swaps often (printed with ``verbose``). The
        cost of the start grows as ``n_temperatures`` times that of
        ``n_burn_in`` Gibbs sweeps.
    target_ess : float >= 1, default=None
        The effective sample size to reach. While ``ess < target_ess``, AIS is
        run again with twice the temperatures (``grow="betas"``: a midpoint
        between each two neighbours of the schedule; the previous runs are
        dropped, reverse AIS keeps its starting states) or with twice the runs
        (``grow="runs"``: as many new runs as there are, their weights pooled
        with the earlier ones), at most ``max_doublings`` times. The result
        records ``target_ess``, ``target_reached`` and ``n_doublings``, and
        AIS warns when the target is not reached (and only then: the target
        replaces the default threshold of the warning). None: one pass.
    grow : {"betas", "runs"}, default="betas"
        What ``target_ess`` doubles. A short schedule spreads the log weights
        (a few runs carry the estimate): more temperatures cure that, more runs
        only dilute it. With ``"betas"``, ``target_ess`` must be at most
        ``n_runs``; ``"runs"`` cannot grow the given ``init`` of reverse AIS.
    max_doublings : int >= 0, default=4
        At most this many doublings (so at most ``2**max_doublings`` times the
        temperatures or the runs of the first pass; the cost of the last pass
        grows as much).
    verbose : int, default=0
        If non-zero, print the progress (temperatures done of the total, the
        time elapsed and the time left) about every 10% of the schedule or 5
        seconds, then the estimate with its effective sample size and the
        largest weight's share (after each pass when ``target_ess`` asks for
        more). The result does not depend on it.

    Returns
    -------
    estimate : PartitionEstimate
        ``log_z`` (nats), its standard error ``log_z_std``, the bounds
        ``log_z_lower``/``log_z_upper`` = ``log Z_A + log(mean w -/+ 3 se)``,
        ``method`` (``"ais"`` or ``"reverse-ais"``), the log weights, their
        effective sample size ``ess`` and the largest weight's share
        ``max_weight_share``; with ``target_ess``, whether it was reached.

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
        ``init`` values other than 0 and 1 for Bernoulli visible units; if
        ``init`` is given for forward AIS; if ``target_ess`` can never be
        reached (above ``n_runs`` with ``grow="betas"``, above ``n_runs *
        2**max_doublings`` with ``grow="runs"``) or ``grow="runs"`` is asked
        with a given ``init``.

    Warns
    -----
    RuntimeWarning
        Once per call: without ``target_ess``, when the effective sample size
        ``ess`` of the weights is below 10% of ``n_runs``, or below 5 and half
        of ``n_runs``; with it, when ``ess`` is still below ``target_ess`` after
        ``max_doublings``. The estimate then rests on a few runs and its
        standard error (and the +/-3 s.e. bounds) cannot be trusted. And once
        more with ``init="pt"`` when the swaps between some two neighbouring
        inverse temperatures of ``pt_betas`` were accepted in fewer than 5% of
        the attempts: the starting chains may not have mixed.

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
    inflated: no correction is reliable when the tail is unseen. The largest
    weight's share ``max_weight_share`` tells the same from the other end: at
    70% (the issue's 784-500 MNIST RBM after 10 epochs of PCD-1 at 100 runs),
    one run is the estimate.

    ``target_ess`` stops at the first pass whose weights reach it; the
    estimate is that pass's (``grow="betas"``) or the pooled runs'
    (``grow="runs"``), and a stopping rule that looks at the weights can
    favour a pass whose weights happen to look even: read ``target_reached``
    as a necessary condition, not a guarantee, and compare forward with
    reverse AIS (:func:`log_partition`, ``method="both"``).

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

    G. Desjardins, A. Courville, Y. Bengio, P. Vincent and O. Delalleau,
    "Tempered Markov chain Monte Carlo for training of restricted Boltzmann
    machines", AISTATS 2010.
    """
    W, c, b, sigma, visible, unit = _model(rbm, "ais")
    H, V = W.shape
    if _enumerated(W, visible, unit)[0] is None:
        _gaussian_gaussian_log_z(W, c, b, sigma)  # raises when not normalisable
    n_runs = int(n_runs)
    betas = _check_betas(betas)
    _check_target(target_ess, grow, int(max_doublings), n_runs,
                  None if isinstance(init, str) else init)
    b_base = np.ascontiguousarray(_base_biases(base_rate, b, sigma, V, visible))
    path = _Path(W, c, b, sigma, b_base, visible, unit)
    start = "gibbs"
    if isinstance(init, str):
        start, init = init, None
        if not reverse:
            raise ValueError(f"init={start!r} (how reverse AIS starts) is only used with "
                             "reverse=True; forward AIS starts from the base model.")
    if pt_betas is not None and start != "pt":
        raise ValueError("pt_betas (the inverse temperatures of the chains that start "
                         "reverse AIS) is only used with reverse=True and init='pt'.")
    pt_betas = _check_pt_betas(pt_betas) if start == "pt" else None
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
        init = path.from_visible(_check_visible(init, "init", V, visible, binary=True,
                                                complete=True))
    rng = check_random_state(random_state)
    seed = int(rng.randint(0, 2**31 - 1))
    t_start = time.time()
    label = "[AIS]" if not reverse else "[reverse AIS]"
    if verbose:
        print(f"{label} {n_runs} runs, {betas.shape[0]} inverse temperatures, "
              f"{H} hidden and {V} visible units")
    v0 = n_runs
    if reverse:
        v0 = init if init is not None else path.start_states(n_runs, n_burn_in, rng, label,
                                                             verbose, pt_betas)
    log_w = path.log_weights(betas, reverse, v0, seed,
                             _Progress(label, betas.shape[0], enabled=bool(verbose)))
    log_z_base = _log_z_base(b_base, sigma, H, unit, visible)
    est = _summarise(log_w, log_z_base, reverse, betas.shape[0])
    doublings = 0
    while target_ess is not None and est.ess < target_ess and doublings < max_doublings:
        if verbose:
            _report(label, est, t_start)
            print(f"{label} effective sample size {est.ess:.1f} < target_ess={target_ess:g}: "
                  f"doubling the {'temperatures' if grow == 'betas' else 'runs'}")
        doublings += 1
        seed = int(rng.randint(0, 2**31 - 1))
        if grow == "betas":
            betas = _refine(betas)
            log_w = path.log_weights(betas, reverse, v0, seed,
                                     _Progress(label, betas.shape[0], enabled=bool(verbose)))
        else:
            more = log_w.shape[0]
            new = (path.start_states(more, n_burn_in, rng, label, verbose, pt_betas)
                   if reverse else more)
            log_w = np.concatenate([log_w, path.log_weights(
                betas, reverse, new, seed,
                _Progress(label, betas.shape[0], enabled=bool(verbose)))])
        est = _summarise(log_w, log_z_base, reverse, betas.shape[0])
    if target_ess is not None:
        est = dataclasses.replace(est, target_ess=float(target_ess),
                                  target_reached=bool(est.ess >= target_ess),
                                  n_doublings=doublings)
    if verbose:
        _report(label, est, t_start)
    _warn_low_ess(est, reverse)
    return est


def _report(label, est, t_start):
    """The verbose line of an estimate: log Z, its standard error and its diagnostics."""
    print(f"{label} log Z = {est.log_z:.4f} (s.e. {est.log_z_std:.4f}), effective "
          f"sample size {est.ess:.1f} of {est.n_runs} runs, largest weight "
          f"{100 * est.max_weight_share:.1f}% of the total, {est.n_betas} temperatures, "
          f"time = {time.time() - t_start:.2f}s")


def _check_pt_betas(pt_betas):
    """The inverse temperatures of the chains that start reverse AIS (``init="pt"``)."""
    if pt_betas is None:
        return np.geomspace(1.0, 0.1, 10)
    betas = check_array(pt_betas, dtype=np.float64, ensure_2d=False, ensure_all_finite=True,
                        ensure_min_samples=0, input_name="pt_betas")
    if (betas.ndim != 1 or betas.shape[0] < 2 or betas[0] != 1.0 or np.any(betas <= 0)
            or np.any(np.diff(betas) >= 0)):
        raise ValueError(
            "pt_betas must be at least 2 positive inverse temperatures, decreasing from "
            f"1.0 (the model); got {np.asarray(pt_betas).tolist()!r}.")
    return np.ascontiguousarray(betas)


def _check_target(target_ess, grow, max_doublings, n_runs, init):
    """ValueError when ``target_ess`` can never be reached, or cannot grow the runs."""
    if target_ess is None:
        return
    if grow == "betas" and target_ess > n_runs:
        raise ValueError(
            f"target_ess={target_ess:g} can never be reached with grow='betas' and "
            f"n_runs={n_runs}: the effective sample size is at most n_runs. Use more "
            "runs, or grow='runs'.")
    if grow == "runs":
        if target_ess > n_runs * 2**max_doublings:
            raise ValueError(
                f"target_ess={target_ess:g} can never be reached with grow='runs', "
                f"n_runs={n_runs} and max_doublings={max_doublings} (at most "
                f"{n_runs * 2**max_doublings} runs).")
        if init is not None:
            raise ValueError("grow='runs' needs new starting states for the new runs of "
                             "reverse AIS, and init gives only n_runs of them; use "
                             "grow='betas' or init=None.")


def _refine(betas):
    """The schedule with a midpoint between each two neighbours (``2 K + 1`` values)."""
    out = np.empty(2 * betas.shape[0] - 1)
    out[0::2] = betas
    out[1::2] = 0.5 * (betas[:-1] + betas[1:])
    return out
