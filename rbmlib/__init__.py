"""rbmlib: Restricted Boltzmann Machines and Deep Belief Networks on Numba.

Every model is a scikit-learn estimator.
"""

from .rbm import BernoulliRBM, DivergenceError
from .dbn import DBN, DBNClassifier, DBNRegressor

__version__ = "0.1.0"

__all__ = ["BernoulliRBM", "DBN", "DBNClassifier", "DBNRegressor", "DivergenceError", "__version__"]
