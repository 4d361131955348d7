"""Exact log Z by enumeration (private; see :func:`rbmlib.likelihood.log_partition_exact`)."""

import math

import numpy as np
from sklearn.utils._param_validation import validate_params

from .._kernels import categorical as _ck
from .._kernels import partition as _pk
from ..units import CATEGORICAL_VISIBLE
from ._estimate import PartitionEstimate
from ._model import MAX_EXACT_UNITS, _enumerated, _model


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
