"""What AIS returns: :class:`PartitionEstimate`, and the summary of log importance
weights (mean, standard error, bounds, effective sample size) with its warning."""

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

#: AIS warns when the effective sample size of its importance weights is below
#: ``max(AIS_MIN_ESS_FRACTION * n_runs, min(AIS_MIN_ESS, n_runs / 2))`` (see
#: :func:`ais`, Notes).
AIS_MIN_ESS = 5.0
AIS_MIN_ESS_FRACTION = 0.1


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


# pickles and the documentation name the public path
PartitionEstimate.__module__ = "rbmlib.likelihood"


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
