"""Restricted Boltzmann Machines trained by contrastive divergence.

One module per visible-unit type on a unit-agnostic base:

* :mod:`rbmlib.rbm._base`: ``_BaseRBM``, the transactional fit, the epoch loop's
  hooks and the CD kernels' arguments; :mod:`rbmlib.rbm._state` its training
  state (made, committed, unpickled); :mod:`rbmlib.rbm._inference` its inference
  and likelihood methods; :mod:`rbmlib.rbm._params` the parameters they share
  (defaults and constraints); :mod:`rbmlib.rbm._common` the helpers they share;
* :mod:`rbmlib.rbm.bernoulli` (:class:`BernoulliRBM`), :mod:`rbmlib.rbm.gaussian`
  (:class:`GaussianBernoulliRBM`), :mod:`rbmlib.rbm.categorical`
  (:class:`CategoricalRBM`, with its column encoding in :mod:`rbmlib.rbm._categories`).

The public names of the former ``rbmlib/rbm.py`` module are re-exported here, so
``from rbmlib.rbm import BernoulliRBM, DivergenceError`` and pickles that name
``rbmlib.rbm.BernoulliRBM`` keep working; its private helpers live in ``_common``
and ``_base``.
"""

from ..exceptions import DivergenceError, FreeEnergyUndefinedError, OutOfRangeWarning
from ._base import _BaseRBM  # noqa: F401
from ._common import in_unit_interval, value_range  # noqa: F401
from .bernoulli import BernoulliRBM
from .categorical import CategoricalRBM
from .gaussian import GaussianBernoulliRBM

__all__ = ["BernoulliRBM", "CategoricalRBM", "DivergenceError", "FreeEnergyUndefinedError",
           "GaussianBernoulliRBM", "OutOfRangeWarning"]
