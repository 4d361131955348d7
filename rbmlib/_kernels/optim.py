"""Optimiser steps on flat parameter vectors: SGD (momentum, Nesterov), Adagrad, RMSprop, Adam.

Plain-array Numba kernels shared by back-propagation (:mod:`rbmlib._kernels.mlp`)
and usable by any trainer that keeps its parameters in one flat vector. Each
step updates ``params`` in place from ``grads`` (the gradient of the
objective being *minimised*) and the optimiser's two state vectors ``s1`` and
``s2`` (same shape as ``params``; zeros at the start). The hyperparameters
travel as one float64 array ``hyper`` (see ``H_*`` below) so that a new
optimiser adds an entry, not an argument. The NumPy side (names, defaults,
schedules, documentation) is :mod:`rbmlib.optim`; scikit-learn's
``sklearn/neural_network/_stochastic_optimizers.py`` is the model.

The steps compile with NumPy's error model: Python's inserts a zero check
before each division, which kept the loops from vectorising (Adam on a
500 x 784 float32 matrix: 1.74 ms per update, 0.89 ms without the checks;
the denominators are ``sqrt(.) + epsilon`` with ``epsilon > 0``, never zero,
and the arithmetic is the same).

Update rules (``g`` the gradient, ``lr`` the step size of this update,
``t >= 1`` the update number):

* SGD: ``v = mu v - lr g``; ``p += v`` or, Nesterov (Sutskever et al. 2013,
  scikit-learn's form), ``p += mu v - lr g``. ``s1`` is ``v``.
* Adagrad (Duchi et al. 2011): ``G += g^2``; ``p -= lr g / (sqrt(G) + eps)``.
  ``s1`` is ``G``.
* RMSprop (Tieleman and Hinton 2012): ``r = rho r + (1 - rho) g^2``;
  ``p -= lr g / (sqrt(r) + eps)``. ``s1`` is ``r``.
* Adam (Kingma and Ba 2015): ``m = b1 m + (1 - b1) g``,
  ``v = b2 v + (1 - b2) g^2``, ``p -= lr_t m / (sqrt(v) + eps)`` with
  ``lr_t = lr sqrt(1 - b2^t) / (1 - b1^t)``. ``s1, s2`` are ``m, v``.
"""

import math

from ._jit import njit

SGD = 0
ADAM = 1
ADAGRAD = 2
RMSPROP = 3

# positions in the ``hyper`` array
H_MOMENTUM = 0
H_NESTEROV = 1
H_BETA_1 = 2
H_BETA_2 = 3
H_RHO = 4
H_EPSILON = 5
N_HYPER = 6


@njit(cache=True, error_model="numpy")
def sgd_step(params, grads, velocity, learning_rate, momentum, nesterov):
    """Momentum SGD: ``v = mu v - lr g``; ``p += v`` or, Nesterov, ``p += mu v - lr g``."""
    n = params.shape[0]
    for i in range(n):
        g = grads[i]
        v = momentum * velocity[i] - learning_rate * g
        velocity[i] = v
        if nesterov:
            params[i] += momentum * v - learning_rate * g
        else:
            params[i] += v


@njit(cache=True, error_model="numpy")
def adam_step(params, grads, m1, m2, learning_rate, beta_1, beta_2, epsilon, t):
    """Adam (Kingma and Ba 2015), step number ``t >= 1``, bias-corrected step size."""
    n = params.shape[0]
    lr_t = learning_rate * math.sqrt(1.0 - beta_2 ** t) / (1.0 - beta_1 ** t)
    for i in range(n):
        g = grads[i]
        a = beta_1 * m1[i] + (1.0 - beta_1) * g
        s = beta_2 * m2[i] + (1.0 - beta_2) * g * g
        m1[i] = a
        m2[i] = s
        params[i] -= lr_t * a / (math.sqrt(s) + epsilon)


@njit(cache=True, error_model="numpy")
def adagrad_step(params, grads, acc, learning_rate, epsilon):
    """Adagrad: ``G += g^2``; ``p -= lr g / (sqrt(G) + eps)``."""
    n = params.shape[0]
    for i in range(n):
        g = grads[i]
        s = acc[i] + g * g
        acc[i] = s
        params[i] -= learning_rate * g / (math.sqrt(s) + epsilon)


@njit(cache=True, error_model="numpy")
def rmsprop_step(params, grads, avg, learning_rate, rho, epsilon):
    """RMSprop: ``r = rho r + (1 - rho) g^2``; ``p -= lr g / (sqrt(r) + eps)``."""
    n = params.shape[0]
    for i in range(n):
        g = grads[i]
        s = rho * avg[i] + (1.0 - rho) * g * g
        avg[i] = s
        params[i] -= learning_rate * g / (math.sqrt(s) + epsilon)


@njit(cache=True, error_model="numpy")
def step(kind, params, grads, s1, s2, learning_rate, hyper, t):
    """One update of optimiser ``kind`` (``SGD``, ``ADAM``, ``ADAGRAD``, ``RMSPROP``).

    Parameters
    ----------
    kind : int
    params, grads, s1, s2 : ndarray (n_params,)
        Parameters (updated), gradient, and the optimiser's state vectors.
    learning_rate : float
    hyper : float64 ndarray (N_HYPER,)
        momentum, nesterov (0/1), beta_1, beta_2, rho, epsilon.
    t : int
        Update number, starting at 1 (Adam's bias correction).
    """
    if kind == ADAM:
        adam_step(params, grads, s1, s2, learning_rate, hyper[H_BETA_1], hyper[H_BETA_2],
                  hyper[H_EPSILON], t)
    elif kind == ADAGRAD:
        adagrad_step(params, grads, s1, learning_rate, hyper[H_EPSILON])
    elif kind == RMSPROP:
        rmsprop_step(params, grads, s1, learning_rate, hyper[H_RHO], hyper[H_EPSILON])
    else:
        sgd_step(params, grads, s1, learning_rate, hyper[H_MOMENTUM],
                 hyper[H_NESTEROV] != 0.0)
