"""rbmlib: Restricted Boltzmann Machines and Deep Belief Networks on Numba.

Every model is a scikit-learn estimator.
"""

from .rbm import BernoulliRBM, DivergenceError, FreeEnergyUndefinedError
from .gaussian_rbm import GaussianBernoulliRBM
from .categorical_rbm import CategoricalRBM
from .dbn import DBN, DBNClassifier, DBNRegressor
from .autoencoder import DBNAutoencoder

__version__ = "0.1.0"

__all__ = ["BernoulliRBM", "CategoricalRBM", "DBN", "DBNAutoencoder", "DBNClassifier", "DBNRegressor", "DivergenceError", "FreeEnergyUndefinedError", "GaussianBernoulliRBM", "__version__"]
