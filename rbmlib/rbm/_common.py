"""Helpers shared by the RBM estimators: the [0, 1] range test, the free-energy method
guard, integer intervals, row blocks and the pseudo-likelihood monitor.
"""

import functools

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval

from ..exceptions import FreeEnergyUndefinedError
from ..units import softplus as _softplus

_DIVERGENCE_LIMIT = 1e5
_PLL_MONITOR_ROWS = 10  # history_'s pseudo-likelihood: ~0.07 s per epoch at 784 x 500
_MONITOR_ROWS = 50  # rows of the training (and validation) data monitored per epoch
#: Inputs this far outside [0, 1] are taken as rounding (MinMaxScaler gives 1 + 2.2e-16).
_RANGE_TOL = 1e-6
def value_range(X):
    """``(min, max)`` of the values of X, dense or sparse (its implicit zeros count);
    ``(inf, -inf)`` for an empty X."""
    vals = X.data if sp.issparse(X) else np.asarray(X)
    if not vals.size:
        lo, hi = np.inf, -np.inf
    else:
        lo, hi = float(vals.min()), float(vals.max())
    if sp.issparse(X) and X.nnz < X.shape[0] * X.shape[1]:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    return lo, hi


def in_unit_interval(lo, hi):
    """Whether values in [lo, hi] lie in [0, 1] up to rounding (``_RANGE_TOL``)."""
    return lo >= -_RANGE_TOL and hi <= 1 + _RANGE_TOL


#: Outside fit, X passes the range check silently while at most this share of its
#: entries lies outside [0, 1]: rows scaled by a MinMaxScaler fitted on other rows
#: (a test fold, new data) have a few entries beyond the training range (on
#: breast_cancer's test folds up to 2.6, in well under 1% of the entries), while
#: unscaled or standardised data put a large share of them outside (about half).
_HELD_OUT_OUTSIDE_SHARE = 0.05
#: Dense elements of one row block in inference and statistics (2**17 float64 = 1 MB).
_BLOCK_ELEMENTS = 2**17
#: Work (rows x (V + H) x H) of one kernel call in training: a KeyboardInterrupt
#: is seen between calls, so an epoch is cut into calls of ~10-50 ms.
_CHUNK_WORK = 2**27
#: A hidden unit whose |pre-activation| exceeds this on every monitored row is
#: saturated (its probability is within 1e-13 of 0 or 1).
_SATURATION_PRE = 30.0
#: Together with saturation: weights this large (a model trained with a
#: sensible learning rate has weights of a few units, e.g. below 5 on MNIST)
#: whose hidden units are all saturated come from a too large learning rate.
_SATURATION_WEIGHT = 50.0


class _needs_free_energy:
    """Method decorator: the method exists only when the hidden units have a free energy.

    Accessing it on a model whose (fitted, else requested) hidden units have none
    raises :class:`FreeEnergyUndefinedError`, as ``sklearn.utils.metaestimators.available_if``
    raises an AttributeError.
    """

    def __init__(self, fn):
        self.fn = fn
        functools.update_wrapper(self, fn)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.fn
        try:
            unit = obj._hidden_unit()
        except ValueError:  # an invalid hidden_units: fit will say so
            unit = None
        if unit is not None and not unit.has_free_energy:
            try:
                unit.check_free_energy(f"{type(obj).__name__}.{self.fn.__name__}")
            except NotImplementedError as e:
                raise FreeEnergyUndefinedError(str(e)) from None
        return self.fn.__get__(obj, owner)


class _IntNotBool(Interval):
    """An integer interval that refuses bools (``n_components=True`` is a mistake)."""

    def is_satisfied_by(self, val):
        if isinstance(val, (bool, np.bool_)):
            return False
        return super().is_satisfied_by(val)


def _row_blocks(n_rows, width):
    """``(start, stop)`` blocks of rows with at most ~_BLOCK_ELEMENTS dense elements."""
    step = max(1, _BLOCK_ELEMENTS // max(1, width))
    for start in range(0, n_rows, step):
        yield start, min(start + step, n_rows)


def _dense_rows(X, rows):
    """Rows of X (a slice or sorted indices) as a C-contiguous dense array."""
    Xr = X[rows]
    if sp.issparse(Xr):
        return Xr.toarray()
    return np.ascontiguousarray(Xr)


def _column_mean(X, rows=None):
    """Mean of each column over ``rows`` (all when None), in float64, a block at a time.

    Never copies more than one block of a dense (possibly memory-mapped) X.
    """
    n_rows = X.shape[0] if rows is None else len(rows)
    if sp.issparse(X):
        Xs = X if rows is None else X[rows]
        return np.asarray(Xs.sum(axis=0), dtype=np.float64).ravel() / n_rows
    total = np.zeros(X.shape[1], dtype=np.float64)
    for start, stop in _row_blocks(n_rows, X.shape[1]):
        block = X[start:stop] if rows is None else X[rows[start:stop]]
        total += block.sum(axis=0, dtype=np.float64)
    return total / n_rows


def _pseudo_loglik(unit, X, pre, W, b):
    """Pseudo-log-likelihood ``sum_i log sigmoid(F(x^(i)) - F(x))`` for Bernoulli
    visible units and any hidden unit type with a free energy (NumPy, float64).

    ``F(x^(i)) - F(x) = -b_i d_i - sum_j [phi(pre_j + d_i W_ji) - phi(pre_j)]`` with
    ``d_i = 1 - 2 x_i`` and ``phi`` the unit's ``log_marginal``, as the unit's
    ``pseudo_free_energy_gap`` gives it. Row blocks of the caller bound its
    (n, V, H) temporary (Gaussian hidden units sum over j in closed form).
    """
    d = 1.0 - 2.0 * X
    g = unit.pseudo_free_energy_gap(-b * d, pre, d, W)
    return -_softplus(-g).sum(axis=1)
