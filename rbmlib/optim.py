"""Stochastic optimisers and learning-rate schedules, one component for every trainer.

An :class:`Optimizer` is a name (``"sgd"``, ``"adagrad"``, ``"rmsprop"``,
``"adam"``) with its hyperparameters and a learning-rate schedule. It turns
gradients into parameter updates, either on a list of NumPy arrays
(:meth:`Optimizer.update_params`, scikit-learn's interface in
``sklearn/neural_network/_stochastic_optimizers.py``, the model of this
module) or, inside the Numba training loops, through the fused kernel
:func:`rbmlib._kernels.optim.step` with the kernel id and hyperparameter
array given by :meth:`Optimizer.kernel_args`. Back-propagation
(:func:`rbmlib.mlp.fit_backprop`) uses it; CD's momentum update of the RBMs
is the ``"sgd"`` optimiser without Nesterov.

Update rules (``g`` the gradient of the objective minimised, ``lr`` the
step size of this update, ``t >= 1`` the update number):

=========== ===================================================================
``sgd``     ``v = momentum v - lr g``; ``p += v`` (or, with Nesterov's
            momentum, ``p += momentum v - lr g``)
``adagrad`` ``G += g^2``; ``p -= lr g / (sqrt(G) + epsilon)``
``rmsprop`` ``r = rho r + (1 - rho) g^2``; ``p -= lr g / (sqrt(r) + epsilon)``
``adam``    ``m = beta_1 m + (1 - beta_1) g``; ``v = beta_2 v + (1 - beta_2) g^2``;
            ``p -= lr sqrt(1 - beta_2^t) / (1 - beta_1^t) m / (sqrt(v) + epsilon)``
=========== ===================================================================

These are the formulas of scikit-learn's ``SGDOptimizer`` and
``AdamOptimizer`` and of ``torch.optim.Adagrad`` / ``RMSprop``
(``lr_decay=0``, ``centered=False``, ``momentum=0``); torch's SGD keeps
``b = momentum b + g`` and steps ``p -= lr b``, the same sequence of
parameters as ``v = -lr b`` here while the step size is constant.

References
----------
Sutskever, I., Martens, J., Dahl, G. and Hinton, G. (2013). On the importance
of initialization and momentum in deep learning. ICML.

Duchi, J., Hazan, E. and Singer, Y. (2011). Adaptive subgradient methods for
online learning and stochastic optimization. JMLR 12, 2121-2159.

Tieleman, T. and Hinton, G. (2012). Lecture 6.5 - RMSprop. COURSERA: Neural
Networks for Machine Learning.

Kingma, D. P. and Ba, J. (2015). Adam: a method for stochastic optimization.
ICLR.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from ._kernels import optim as _ko

#: Optimiser names and their kernel ids.
SOLVERS = {"sgd": _ko.SGD, "adam": _ko.ADAM, "adagrad": _ko.ADAGRAD, "rmsprop": _ko.RMSPROP}

#: Learning-rate schedules (per epoch).
SCHEDULES = ("constant", "invscaling", "adaptive", "cosine")


def scheduled_learning_rate(schedule, learning_rate_init, epoch, max_iter, power_t=0.5,
                            current=None):
    """Step size of epoch ``epoch`` (0-based) under a schedule.

    Parameters
    ----------
    schedule : {"constant", "invscaling", "adaptive", "cosine"}
        ``"constant"``: ``lr0``; ``"invscaling"``: ``lr0 / (epoch + 1) **
        power_t``; ``"adaptive"``: the current rate (divided by 5 on plateaus
        by the trainer, see :meth:`Optimizer.on_plateau`); ``"cosine"``:
        ``lr0 * (1 + cos(pi * epoch / max_iter)) / 2``.
    learning_rate_init : float
        ``lr0``.
    epoch, max_iter : int
    power_t : float, default=0.5
    current : float, default=None
        The current rate ("adaptive"; ``lr0`` when None).

    Returns
    -------
    lr : float

    Raises
    ------
    ValueError
        On an unknown schedule.
    """
    if schedule == "invscaling":
        return learning_rate_init / (epoch + 1) ** power_t
    if schedule == "cosine":
        return learning_rate_init * 0.5 * (1.0 + math.cos(math.pi * epoch / max_iter))
    if schedule == "adaptive":
        return learning_rate_init if current is None else current
    if schedule == "constant":
        return learning_rate_init
    raise ValueError(f"learning_rate must be one of {SCHEDULES}; got {schedule!r}.")


@dataclass(eq=False)
class Optimizer:
    """A stochastic optimiser: update rule, hyperparameters and schedule.

    Parameters
    ----------
    solver : {"sgd", "adagrad", "rmsprop", "adam"}, default="sgd"
        Update rule (see the module docstring).
    learning_rate_init : float, default=0.1
        Initial step size.
    learning_rate : {"constant", "invscaling", "adaptive", "cosine"}, default="constant"
        Schedule (see :func:`scheduled_learning_rate`).
    power_t : float, default=0.5
    momentum : float, default=0.9
        Momentum of "sgd".
    nesterovs_momentum : bool, default=True
    beta_1, beta_2 : float, default=0.9, 0.999
        Adam's moment decay rates.
    rho : float, default=0.9
        RMSprop's decay rate of the mean squared gradient.
    epsilon : float, default=1e-8
        Added to the denominator of adagrad, rmsprop and adam.

    Attributes
    ----------
    state : list of ndarray
        ``[s1, s2]`` per parameter array after :meth:`update_params` (velocity;
        accumulated squares; mean squares; Adam's two moments).
    t : int
        Updates made.
    """

    # the settings, in the order of the positional arguments; the generated __init__
    # stores them and __post_init__ checks them and starts the state
    solver: str = "sgd"
    learning_rate_init: float = 0.1
    learning_rate: str = "constant"
    power_t: float = 0.5
    momentum: float = 0.9
    nesterovs_momentum: bool = True
    beta_1: float = 0.9
    beta_2: float = 0.999
    rho: float = 0.9
    epsilon: float = 1e-8
    lr: float = field(init=False, repr=False)
    state: list = field(init=False, default=None, repr=False)
    t: int = field(init=False, default=0, repr=False)

    def __post_init__(self):
        if self.solver not in SOLVERS:
            raise ValueError(f"solver must be one of {sorted(SOLVERS)}; got {self.solver!r}.")
        if self.learning_rate not in SCHEDULES:
            raise ValueError(f"learning_rate must be one of {SCHEDULES}; got "
                             f"{self.learning_rate!r}.")
        self.learning_rate_init = float(self.learning_rate_init)
        self.lr = self.learning_rate_init

    def kernel_args(self):
        """``(kind, hyper)`` for :func:`rbmlib._kernels.optim.step`.

        Returns
        -------
        kind : int
        hyper : ndarray of shape (6,), float64
            momentum, nesterov (0/1), beta_1, beta_2, rho, epsilon.
        """
        hyper = np.zeros(_ko.N_HYPER)
        hyper[_ko.H_MOMENTUM] = self.momentum
        hyper[_ko.H_NESTEROV] = 1.0 if self.nesterovs_momentum else 0.0
        hyper[_ko.H_BETA_1] = self.beta_1
        hyper[_ko.H_BETA_2] = self.beta_2
        hyper[_ko.H_RHO] = self.rho
        hyper[_ko.H_EPSILON] = self.epsilon
        return SOLVERS[self.solver], hyper

    def learning_rate_at(self, epoch, max_iter):
        """Set and return the step size of epoch ``epoch`` (0-based) of ``max_iter``."""
        self.lr = scheduled_learning_rate(self.learning_rate, self.learning_rate_init, epoch,
                                          max_iter, self.power_t, self.lr)
        return self.lr

    def on_plateau(self):
        """With the "adaptive" schedule divide the rate by 5 and return True while
        it stays above 1e-6; otherwise return False (the trainer stops).

        Called by the stopping rule of back-propagation
        (:class:`rbmlib.mlp.StoppingRule`) when the score stopped improving.
        """
        if self.learning_rate == "adaptive" and self.lr / 5.0 > 1e-6:
            self.lr /= 5.0
            return True
        return False

    def set_state(self, state):
        """Continue from ``state``, a previous fit's :meth:`get_state` (None: fresh state).

        Returns
        -------
        self : Optimizer
        """
        if state is None:
            self.state, self.t = None, 0
        else:
            self.state, self.t = [(state["s1"], state["s2"])], int(state["t"])
        return self

    def get_state(self):
        """``{"s1", "s2", "t"}``: the state vectors of one flat parameter vector and
        the updates made (what the networks pickle to continue in partial_fit), or None."""
        if self.state is None:
            return None
        (s1, s2), = self.state
        return {"s1": s1, "s2": s2, "t": self.t}

    def flat_state(self, params):
        """State vectors of the fused kernels for the flat parameter vector ``params``.

        The state of :meth:`set_state`, copied in the dtype of ``params``, when
        it has the shape of ``params``; zeros starting at update 0 otherwise.

        Parameters
        ----------
        params : ndarray of shape (n_params,)

        Returns
        -------
        s1, s2 : ndarray of shape (n_params,)
        t : int
            Updates made so far (the kernels number the next one ``t + 1``).
        """
        if self.state is not None and len(self.state) == 1 and \
                self.state[0][0].shape == params.shape:
            (s1, s2), = self.state
            return s1.astype(params.dtype, copy=True), s2.astype(params.dtype, copy=True), self.t
        return np.zeros_like(params), np.zeros_like(params), 0

    def update_params(self, params, grads):
        """Update each array of ``params`` in place by one step from ``grads``.

        Parameters
        ----------
        params : list of ndarray
            Float64/float32 C-contiguous arrays (any shapes), updated in place.
        grads : list of ndarray
            Gradients of the objective minimised, shapes as ``params``.
        """
        if self.state is None:
            self.state = [(np.zeros(p.size, p.dtype), np.zeros(p.size, p.dtype))
                          for p in params]
        self.t += 1
        kind, hyper = self.kernel_args()
        for p, g, (s1, s2) in zip(params, grads, self.state):
            flat = p.reshape(-1)
            if not np.shares_memory(flat, p):  # pragma: no cover - non-contiguous input
                raise ValueError("params must be C-contiguous arrays")
            _ko.step(kind, flat, np.ascontiguousarray(g, dtype=p.dtype).reshape(-1), s1, s2,
                     float(self.lr), hyper, self.t)
