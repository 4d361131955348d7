"""rbmlib: Restricted Boltzmann Machines and Deep Belief Networks on Numba.

Every model is a scikit-learn estimator.
"""

import os as _os

# The CD kernels alternate BLAS products (OpenBLAS's own pthreads) with Numba
# ``prange`` passes (Numba's OpenMP threading layer).  GNU OpenMP's worker
# threads spin ("active" wait) after each parallel region, and on a machine
# with as many cores as threads they took the cores from OpenBLAS's threads:
# a CD-1 epoch at two threads ran 7x slower than at one (20,000 x 784 -> 500,
# 6.3 s against 0.9 s; benchmarks/RESULTS.md).  A passive wait puts them to
# sleep instead (0.62 s).  It is read when OpenMP starts, which Numba does
# lazily at the first parallel call, so it is set here, before any kernel
# runs; a value the user set is kept.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from .exceptions import DivergenceError, FreeEnergyUndefinedError
from .rbm import BernoulliRBM, CategoricalRBM, GaussianBernoulliRBM
from .deep import DBM, DBMClassifier, DBN, DBNAutoencoder, DBNClassifier, DBNRegressor

__version__ = "0.1.0"

__all__ = ["BernoulliRBM", "CategoricalRBM", "DBM", "DBMClassifier", "DBN", "DBNAutoencoder", "DBNClassifier", "DBNRegressor", "DivergenceError", "FreeEnergyUndefinedError", "GaussianBernoulliRBM", "__version__"]
