"""log Z by the method asked, free energy and log-likelihood (private; see
:mod:`rbmlib.likelihood`)."""

import inspect
import math
from numbers import Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions, validate_params

from ..units import free_energy as _units_free_energy
from ._ais import ais
from ._estimate import BidirectionalEstimate, PartitionEstimate
from ._exact import log_partition_exact
from ._model import _auto_method, _check_visible, _model


def log_partition(rbm, method="auto", **ais_params):
    """Log partition function ``log Z`` of an RBM by the method asked, in nats.

    Parameters
    ----------
    rbm : fitted RBM
        See :func:`log_partition_exact`.
    method : {"auto", "exact", "ais", "both"}, default="auto"
        "exact": :func:`log_partition_exact`; "ais": forward :func:`ais`
        (``reverse=True`` in ``ais_params`` for reverse AIS); "auto": "exact"
        when the enumerated layer has at most ``2**MAX_EXACT_UNITS`` states,
        else "ais"; "both": forward and reverse AIS with the same
        ``ais_params`` (``init`` and ``n_burn_in`` go to the reverse runs
        only), seeded one after the other from ``random_state``, so the
        forward estimate is that of ``ais(rbm, random_state=...)``.
    **ais_params
        Passed to :func:`ais` (``n_runs``, ``betas``, ``base_rate``,
        ``random_state``, ``target_ess``, ``verbose``, ...).

    Returns
    -------
    estimate : PartitionEstimate or BidirectionalEstimate
        A :class:`BidirectionalEstimate` (``forward`` and ``reverse``, each with
        its standard error and diagnostics) for "both".

    Raises
    ------
    ValueError
        If ``method`` is not one of these, "exact" is asked for a model too
        large to enumerate, or as :func:`ais` raises.
    TypeError
        If ``ais_params`` has a name :func:`ais` does not take, or ``reverse``
        with "both".
    NotImplementedError
        If the hidden units have no free energy (``hidden_units="nrelu"``).
    """
    if method == "auto":
        W, _, _, _, visible, hidden = _model(rbm, "log_partition")
        method = _auto_method(W, visible, hidden)
    if method == "exact":
        return log_partition_exact(rbm)
    if method == "ais":
        return ais(rbm, **ais_params)
    if method == "both":
        return _bidirectional(rbm, ais_params)
    raise ValueError(f"method must be 'auto', 'exact', 'ais' or 'both', got {method!r}.")


def _bidirectional(rbm, ais_params):
    """Forward then reverse AIS on one random stream (:func:`log_partition`, "both")."""
    params = dict(ais_params)
    if "reverse" in params:
        raise TypeError("method='both' runs forward and reverse AIS; do not pass reverse.")
    rng = check_random_state(params.pop("random_state", None))
    reverse_only = {k: params.pop(k) for k in ("init", "n_burn_in") if k in params}
    forward = ais(rbm, random_state=rng, **params)
    reverse = ais(rbm, reverse=True, random_state=rng, **params, **reverse_only)
    return BidirectionalEstimate(forward, reverse)


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
        "log_z": [None, StrOptions({"exact", "ais", "both"}), Real, PartitionEstimate,
                  BidirectionalEstimate],
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
    * ``"both"``: forward and reverse AIS (:func:`log_partition` with
      ``method="both"``, ``base_rate=X`` unless given); the log-likelihood
      by forward AIS tends to be too high, by reverse AIS too low (as far as
      its starting chains have mixed), so the pair brackets it;
    * a float, a :class:`PartitionEstimate` or a
      :class:`BidirectionalEstimate`: used as given (compute it once and
      reuse it across data sets).

    Parameters
    ----------
    rbm : fitted RBM
        See :func:`log_partition_exact`.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Finite; in [0, 1] for Bernoulli visible units (an error otherwise:
        the likelihood of values that are not probabilities is undefined);
        complete one-hot rows for categorical visible units.
    log_z : None, {"exact", "ais", "both"}, float, PartitionEstimate or \
BidirectionalEstimate, default=None
        A given value must be finite (nats).
    return_log_z : bool, default=False
        Also return the :class:`PartitionEstimate` used (its ``method`` says
        how ``log Z`` was obtained; ``"given"`` for a float), or the
        :class:`BidirectionalEstimate` for ``"both"``.
    **ais_params
        Passed to :func:`ais` (``n_runs``, ``betas``, ``base_rate``,
        ``random_state``, ...).

    Returns
    -------
    log_lik : ndarray of shape (n_samples,), or a tuple of two
        Log-likelihood of each sample, in nats. For ``"both"`` (or a given
        :class:`BidirectionalEstimate`) the tuple ``(log_lik_forward,
        log_lik_reverse)``, by the forward and the reverse estimate of ``log Z``.
    estimate : PartitionEstimate or BidirectionalEstimate
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
    given = ([log_z.forward.log_z, log_z.reverse.log_z]
             if isinstance(log_z, BidirectionalEstimate) else
             [log_z.log_z] if isinstance(log_z, PartitionEstimate) else
             [log_z] if isinstance(log_z, Real) and not isinstance(log_z, bool) else [])
    for value in given:
        if not math.isfinite(float(value)):
            raise ValueError(f"log_z must be finite, got {value!r}.")
    # validate X before any (possibly long) computation of log Z
    W, c, b, sigma, visible, unit = _model(rbm, "log_likelihood")
    X = _check_visible(X, "X", W.shape[1], visible, complete=True, accept_1d=True)
    if isinstance(log_z, (PartitionEstimate, BidirectionalEstimate)):
        est = log_z
    elif log_z is None or isinstance(log_z, str):
        if log_z is None:
            method = _auto_method(W, visible, unit)
        else:
            method = log_z
        if method == "exact":
            est = log_partition_exact(rbm)
        elif method in ("ais", "both"):
            params = dict(ais_params)
            params.setdefault("base_rate", X)
            est = ais(rbm, **params) if method == "ais" else _bidirectional(rbm, params)
        else:
            raise ValueError(f"log_z must be None, 'exact', 'ais', 'both', a float or an "
                             f"estimate, got {log_z!r}.")
    elif isinstance(log_z, (float, int, np.floating, np.integer)) and not isinstance(log_z, bool):
        v = float(log_z)
        est = PartitionEstimate(v, math.nan, v, v, "given")
    else:
        raise ValueError(f"log_z must be None, 'exact', 'ais', 'both', a float or an "
                         f"estimate, got {log_z!r}.")
    neg_f = -_units_free_energy(X, W, c, b, sigma, visible, unit)
    if isinstance(est, BidirectionalEstimate):
        ll = (neg_f - est.forward.log_z, neg_f - est.reverse.log_z)
    else:
        ll = neg_f - est.log_z
    if return_log_z:
        return ll, est
    return ll
