"""Compatibility path: :class:`CategoricalRBM` lives in :mod:`rbmlib.rbm.categorical`."""

from .rbm.categorical import *  # noqa: F401,F403
from .rbm.categorical import CategoricalRBM, __all__  # noqa: F401
