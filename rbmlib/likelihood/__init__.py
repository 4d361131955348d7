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

# The implementation lives in private modules of this package: _model (the fitted
# model's parameters, units and data checks), _exact (enumeration), _ais (forward
# and reverse AIS), _estimate (PartitionEstimate and the summary of the weights),
# _api (log_partition, free_energy, log_likelihood). They import from the kernels
# and the unit table only (tests/test_units.py).
from ._ais import (  # noqa: F401  (private names: tests and benchmarks use them)
    _base_biases,
    _check_betas,
    _log_z_base,
    _refine,
    ais,
    default_betas,
)
from ._api import _AIS_PARAMS, free_energy, log_likelihood, log_partition  # noqa: F401
from ._estimate import (  # noqa: F401
    AIS_MIN_ESS,
    AIS_MIN_ESS_FRACTION,
    BidirectionalEstimate,
    PartitionEstimate,
    _effective_sample_size,
    _max_weight_share,
    _summarise,
    _warn_low_ess,
)
from ._exact import (  # noqa: F401
    _gaussian_gaussian_log_z,
    _log_z_exact_arrays,
    log_partition_exact,
)
from ._model import (  # noqa: F401
    MAX_EXACT_UNITS,
    _auto_method,
    _check_visible,
    _enumerated,
    _hidden,
    _model,
    _params,
    _visible,
)
from ._runs import (  # noqa: F401
    _AIS_CHUNKS,
    _AIS_MIN_CHUNK,
    _ais_chunked,
    _ais_chunks,
    _chunk_seed,
    _Path,
    _Progress,
)

__all__ = [
    "MAX_EXACT_UNITS",
    "BidirectionalEstimate",
    "PartitionEstimate",
    "ais",
    "default_betas",
    "free_energy",
    "log_likelihood",
    "log_partition",
    "log_partition_exact",
]
