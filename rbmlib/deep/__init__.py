"""Deep models built from RBMs: the DBN stack and the networks fine-tuned from it.

* :mod:`rbmlib.deep.dbn`: :class:`DBN`, greedy layer-wise pretraining and sampling;
  :mod:`rbmlib.deep._layers` the choice of each layer's units, CD rate and scaler;
* :mod:`rbmlib.deep._network`: the network base (fine-tuning, with hooks for the
  model that starts the network; the DBN's weight transfer and flat-layer rule);
  :mod:`rbmlib.deep._params` the networks' parameters, declared once;
  :mod:`rbmlib.deep.classifier` (:class:`DBNClassifier`, and the classification
  half shared with :class:`DBMClassifier`), :mod:`rbmlib.deep.regressor`
  (:class:`DBNRegressor`), :mod:`rbmlib.deep.autoencoder` (:class:`DBNAutoencoder`);
* :mod:`rbmlib.deep.dbm`: :class:`DBM`, the Deep Boltzmann Machine (its state and
  epoch steps in :mod:`rbmlib.deep._dbm_training`, ``log Z`` and the bound in
  :mod:`rbmlib.deep._dbm_likelihood`, its arithmetic in :mod:`rbmlib._kernels.dbm`);
  :mod:`rbmlib.deep._dbm_classifier` (:class:`DBMClassifier`) its fine-tuning on
  the network base, the input augmented with ``q(h_2 | v)``.
"""

from ._dbm_classifier import DBMClassifier
from .autoencoder import DBNAutoencoder
from .classifier import DBNClassifier
from .dbm import DBM
from .dbn import DBN
from .regressor import DBNRegressor

__all__ = ["DBM", "DBMClassifier", "DBN", "DBNAutoencoder", "DBNClassifier", "DBNRegressor"]
