"""Compatibility path: the DBN estimators live in :mod:`rbmlib.deep`.

``from rbmlib.dbn import DBNClassifier`` and pickles naming ``rbmlib.dbn.DBN`` keep working.
"""

from .deep._layers import *  # noqa: F401,F403
from .deep._layers import (  # noqa: F401
    _FIRST_LAYERS,
    _dbn_affine_maps,
)
from .deep._network import _BaseDBNNetwork  # noqa: F401
from .deep.classifier import DBNClassifier
from .deep.dbn import DBN
from .deep.regressor import DBNRegressor

__all__ = ["DBN", "DBNClassifier", "DBNRegressor"]
