"""What AIS returns: :class:`PartitionEstimate`, and the summary of log importance
weights (mean, standard error, bounds, effective sample size) with its warning."""

import math
import os
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np

#: Without a ``target_ess``, AIS warns when the effective sample size of its
#: importance weights is below ``max(AIS_MIN_ESS_FRACTION * n_runs, min(AIS_MIN_ESS,
#: n_runs / 2))`` (see :func:`ais`, Notes); with one, when it is not reached.
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
    max_weight_share : float
        The largest importance weight's share of their sum, ``max w / sum w``,
        between ``1 / n_runs`` and 1 (nan when exact): near 1, one run is the
        estimate.
    target_ess : float
        The effective sample size asked for (:func:`ais`'s ``target_ess``); nan
        when none was.
    target_reached : bool or None
        Whether ``ess >= target_ess`` (None when no target was asked for).
    n_doublings : int
        How many times :func:`ais` doubled the runs or the temperatures to reach
        ``target_ess`` (``n_runs`` and ``n_betas`` are the final ones).

    See Also
    --------
    BidirectionalEstimate : forward and reverse AIS from one call.
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
    max_weight_share: float = math.nan
    target_ess: float = math.nan
    target_reached: object = None
    n_doublings: int = 0

    def __float__(self):
        return float(self.log_z)

    @classmethod
    def from_log_weights(cls, log_weights, log_z_base, *, reverse=False, n_betas=0):
        """The estimate of ``log Z`` from the log importance weights of AIS runs.

        For any annealing whose weights ``w`` have mean ``Z / Z_base`` (forward)
        or ``Z_base / Z`` (reverse): the RBM's, or another model's (a deep
        Boltzmann machine's) on plain arrays.

        Parameters
        ----------
        log_weights : array-like of shape (n_runs,)
            Finite log importance weights (nats), ``n_runs >= 2``.
        log_z_base : float
            ``log Z`` of the base (tractable) model, nats.
        reverse : bool, default=False
            The weights estimate ``Z_base / Z`` (reverse AIS).
        n_betas : int, default=0
            Number of inverse temperatures of the schedule (recorded only).

        Returns
        -------
        estimate : PartitionEstimate
            ``log_z``, its standard error and bounds, ``ess`` and
            ``max_weight_share``; ``method`` is ``"ais"`` or ``"reverse-ais"``.

        Raises
        ------
        ValueError
            If ``log_weights`` is not 1-D with at least 2 finite values, or
            ``log_z_base`` is not finite.
        """
        log_w = np.array(log_weights, dtype=np.float64)
        if log_w.ndim != 1 or log_w.shape[0] < 2 or not np.all(np.isfinite(log_w)):
            raise ValueError(
                "log_weights must be a 1-D array of at least 2 finite values, got "
                f"shape {log_w.shape}" + ("" if np.all(np.isfinite(log_w)) else
                                          " with NaN or infinite values") + ".")
        if not math.isfinite(float(log_z_base)):
            raise ValueError(f"log_z_base must be finite, got {log_z_base!r}.")
        return _summarise(log_w, float(log_z_base), bool(reverse), int(n_betas))

    def summary(self):
        """One line for a report: the estimate, its error and its diagnostics.

        Returns
        -------
        line : str
            For example ``"log Z = 412.3061 +/- 0.0420 (ais; 100 runs, 14501
            temperatures; ESS 93.1, largest weight 2.1%)"``; for an exact value
            ``"log Z = 12.3456 (exact)"``.
        """
        if self.method in ("exact", "given"):
            return f"log Z = {self.log_z:.4f} ({self.method})"
        line = (f"log Z = {self.log_z:.4f} +/- {self.log_z_std:.4f} ({self.method}; "
                f"{self.n_runs} runs, {self.n_betas} temperatures; ESS {self.ess:.1f}, "
                f"largest weight {100 * self.max_weight_share:.1f}%")
        if self.target_reached is not None:
            line += (f"; target ESS {self.target_ess:g} "
                     f"{'reached' if self.target_reached else 'NOT reached'} after "
                     f"{self.n_doublings} doubling{'s' * (self.n_doublings != 1)}")
        return line + ")"


@dataclass(frozen=True)
class BidirectionalEstimate:
    """Forward and reverse AIS estimates of ``log Z`` of one model (nats).

    Forward AIS underestimates ``log Z`` on average (a stochastic lower bound,
    so the log-likelihood it gives tends to be too high); reverse AIS from
    exact samples of the model overestimates it (a stochastic upper bound,
    Burda, Grosse and Salakhutdinov 2015), so together they bracket ``log Z``
    as far as the reverse runs' starting samples have mixed. A wide ``gap``
    says the schedule (or the starting chains) is too short.

    Parameters
    ----------
    forward : PartitionEstimate
        Forward AIS (``method="ais"``), with its own error and diagnostics.
    reverse : PartitionEstimate
        Reverse AIS (``method="reverse-ais"``), with its own error and diagnostics.

    See Also
    --------
    PartitionEstimate : one estimate.

    References
    ----------
    Y. Burda, R. Grosse and R. Salakhutdinov, "Accurate and conservative
    estimates of MRF log-likelihood using reverse annealing", AISTATS 2015.
    """

    forward: PartitionEstimate
    reverse: PartitionEstimate

    @property
    def gap(self):
        """``reverse.log_z - forward.log_z``, nats: positive up to the noise when the
        two bracket ``log Z``; large when the schedule or the starting chains are
        too short."""
        return float(self.reverse.log_z - self.forward.log_z)

    def summary(self):
        """Two lines for a report, forward then reverse (:meth:`PartitionEstimate.summary`).

        Returns
        -------
        lines : str
            The two estimates and the gap between them.
        """
        return (f"forward {self.forward.summary()}\nreverse {self.reverse.summary()}\n"
                f"gap (reverse - forward) = {self.gap:.4f} nats")


# pickles and the documentation name the public path
PartitionEstimate.__module__ = BidirectionalEstimate.__module__ = "rbmlib.likelihood"


def _effective_sample_size(log_w):
    """Kish's effective sample size ``(sum w)^2 / sum w^2`` of weights ``exp(log_w)``."""
    w = np.exp(log_w - np.max(log_w))
    return float(w.sum() ** 2 / np.sum(w * w))


def _max_weight_share(log_w):
    """The largest weight's share of the sum, ``max w / sum w``, of weights ``exp(log_w)``."""
    w = np.exp(log_w - np.max(log_w))
    return float(1.0 / w.sum())


def _ess_threshold(n_runs):
    """The effective sample size below which AIS warns when no target was asked for."""
    return max(AIS_MIN_ESS_FRACTION * n_runs, min(AIS_MIN_ESS, n_runs / 2))


#: rbmlib's own source directory: frames in it are not the user's.
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


#: scikit-learn's wrappers around a call (parameter validation, ``_fit_context``).
_WRAPPERS = (os.path.join("sklearn", "utils", "_param_validation.py"),
             os.path.join("sklearn", "base.py"))


def _user_stacklevel():
    """``stacklevel`` for a ``warnings.warn`` in the caller of this function that names
    the first frame outside rbmlib and scikit-learn's wrappers (:data:`_WRAPPERS`):
    the user's line, whether AIS was called directly, through log_partition or
    log_likelihood, or through an estimator's method (or an estimator fitted
    inside another rbmlib estimator)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and (frame.f_code.co_filename.startswith(_PACKAGE_DIR)
                                 or frame.f_code.co_filename.endswith(_WRAPPERS)):
        frame, level = frame.f_back, level + 1
    return level


def _warn_low_ess(est, reverse, stacklevel=None):
    """One RuntimeWarning when ``est.ess`` is too small for ``log_z_std`` to be trusted:
    below ``est.target_ess`` when one was asked for, else below :func:`_ess_threshold`.
    ``stacklevel`` None: the first frame outside rbmlib."""
    if stacklevel is None:
        stacklevel = _user_stacklevel()
    label = "Reverse AIS" if reverse else "AIS"
    diagnostics = (f"the effective sample size of the importance weights is {est.ess:.1f} "
                   f"of {est.n_runs} runs and the largest weight carries "
                   f"{100 * est.max_weight_share:.0f}% of their sum")
    remedy = ("log Z may be off by much more than its standard error "
              f"({est.log_z_std:.3g} nats) and the +/-3 s.e. bounds say. Use more inverse "
              f"temperatures (betas; {est.n_betas} now, the default schedule has 14,501) "
              "and more runs (n_runs)")
    if est.target_reached is not None:
        if est.target_reached:
            return
        warnings.warn(
            f"{label} did not reach target_ess={est.target_ess:g} after {est.n_doublings} "
            f"doubling(s): {diagnostics}, with n_runs={est.n_runs} and n_betas="
            f"{est.n_betas}. {remedy[0].upper() + remedy[1:]}, or a larger max_doublings.",
            RuntimeWarning, stacklevel=stacklevel)
        return
    threshold = _ess_threshold(est.n_runs)
    if not est.ess < threshold:
        return
    warnings.warn(
        f"{label}: {diagnostics} (an effective sample size below {threshold:g}): a few "
        f"runs carry the estimate, so {remedy}, or ask for target_ess.",
        RuntimeWarning, stacklevel=stacklevel)


def _summarise(log_w, log_z_base, reverse, n_betas):
    """log mean(w) with a standard error, log(mean -/+ 3 se) bounds and the diagnostics."""
    R = log_w.shape[0]
    m = float(np.max(log_w))
    w = np.exp(log_w - m)
    mean = float(w.mean())
    se = float(w.std(ddof=1) / math.sqrt(R))
    log_mean = m + math.log(mean)
    lo = m + math.log(mean - 3 * se) if mean - 3 * se > 0 else -math.inf
    hi = m + math.log(mean + 3 * se)
    std = se / mean
    diag = dict(ess=_effective_sample_size(log_w), max_weight_share=_max_weight_share(log_w))
    if not reverse:
        return PartitionEstimate(log_z_base + log_mean, std, log_z_base + lo,
                                 log_z_base + hi, "ais", R, n_betas, log_z_base,
                                 log_w.copy(), **diag)
    return PartitionEstimate(log_z_base - log_mean, std, log_z_base - hi,
                             log_z_base - lo, "reverse-ais", R, n_betas,
                             log_z_base, log_w.copy(), **diag)
