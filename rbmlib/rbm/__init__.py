"""Restricted Boltzmann Machines trained by contrastive divergence.

One module per visible-unit type on a unit-agnostic base:

* :mod:`rbmlib.rbm._base`: ``_BaseRBM``, the transactional fit, the epoch loop's
  hooks and the CD kernels' arguments; :mod:`rbmlib.rbm._inference` its inference
  and likelihood methods; :mod:`rbmlib.rbm._common` the helpers they share;
* :mod:`rbmlib.rbm.bernoulli` (:class:`BernoulliRBM`), :mod:`rbmlib.rbm.gaussian`
  (:class:`GaussianBernoulliRBM`), :mod:`rbmlib.rbm.categorical`
  (:class:`CategoricalRBM`, with its column encoding in :mod:`rbmlib.rbm._categories`).

The names that lived in the former ``rbmlib/rbm.py`` module are re-exported here, so
``from rbmlib.rbm import BernoulliRBM, DivergenceError`` and pickles that name
``rbmlib.rbm.BernoulliRBM`` keep working.
"""

from ..exceptions import DivergenceError, FreeEnergyUndefinedError, OutOfRangeWarning
from ._base import _BaseRBM, _own, _TrainState  # noqa: F401
from ._common import (  # noqa: F401  (the former rbmlib/rbm.py's names)
    _BLOCK_ELEMENTS,
    _CHUNK_WORK,
    _DIVERGENCE_LIMIT,
    _HELD_OUT_OUTSIDE_SHARE,
    _MONITOR_ROWS,
    _OPTIMIZER_DEFAULTS,
    _PLL_MONITOR_ROWS,
    _RANGE_TOL,
    _SATURATION_PRE,
    _SATURATION_WEIGHT,
    _column_mean,
    _dense_rows,
    _IntNotBool,
    _needs_free_energy,
    _pseudo_loglik,
    _row_blocks,
    in_unit_interval,
    value_range,
)
from .bernoulli import BernoulliRBM
from .categorical import CategoricalRBM
from .gaussian import GaussianBernoulliRBM

__all__ = ["BernoulliRBM", "CategoricalRBM", "DivergenceError", "FreeEnergyUndefinedError",
           "GaussianBernoulliRBM", "OutOfRangeWarning"]
