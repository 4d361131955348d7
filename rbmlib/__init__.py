"""rbmlib: Restricted Boltzmann Machines and Deep Belief Networks on Numba.

Every model is a scikit-learn estimator.
"""

from .rbm import BernoulliRBM, DivergenceError

__version__ = "0.1.0"

__all__ = ["BernoulliRBM", "DivergenceError", "__version__"]
