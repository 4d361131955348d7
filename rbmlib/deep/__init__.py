"""Deep models built from RBMs: the DBN stack and the networks fine-tuned from it.

* :mod:`rbmlib.deep.dbn`: :class:`DBN`, greedy layer-wise pretraining and sampling;
  :mod:`rbmlib.deep._layers` the choice of each layer's units, CD rate and scaler;
* :mod:`rbmlib.deep._network`: the network base (weight transfer, the flat-layer
  rule, fine-tuning); :mod:`rbmlib.deep.classifier` (:class:`DBNClassifier`),
  :mod:`rbmlib.deep.regressor` (:class:`DBNRegressor`),
  :mod:`rbmlib.deep.autoencoder` (:class:`DBNAutoencoder`);
* :mod:`rbmlib.deep.dbm`: :class:`DBM`, the Deep Boltzmann Machine (its arithmetic in
  :mod:`rbmlib._kernels.dbm`); :mod:`rbmlib.deep._dbm_classifier`
  (:class:`DBMClassifier`) its fine-tuning.
"""

from ._dbm_classifier import DBMClassifier
from .autoencoder import DBNAutoencoder
from .classifier import DBNClassifier
from .dbm import DBM
from .dbn import DBN
from .regressor import DBNRegressor

__all__ = ["DBM", "DBMClassifier", "DBN", "DBNAutoencoder", "DBNClassifier", "DBNRegressor"]
