"""Compatibility path: :class:`GaussianBernoulliRBM` lives in :mod:`rbmlib.rbm.gaussian`."""

from .rbm.gaussian import *  # noqa: F401,F403
from .rbm.gaussian import GaussianBernoulliRBM, __all__  # noqa: F401
