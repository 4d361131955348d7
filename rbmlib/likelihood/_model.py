"""The fitted model a likelihood function reads: parameters, units, data checks and
the exact-or-AIS rule (private; see :mod:`rbmlib.likelihood`)."""

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_array

from ..units import CATEGORICAL_VISIBLE, VISIBLE_UNITS, VisibleUnits, categorical_units
from ..units import hidden_units as _hidden_units_of

#: ``log_partition_exact`` enumerates at most ``2**MAX_EXACT_UNITS`` states of a
#: layer (25 binary units, or as many configurations of categorical units:
#: seconds to minutes, depending on the other layer).
MAX_EXACT_UNITS = 25


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
