"""The deep networks' shared parameters, declared once: defaults and constraints.

Each group is a :class:`rbmlib._params.ParamGroup`; the network classes write
their ``__init__`` with :func:`rbmlib._params.with_init` from the groups they
take, in signature order, and their ``_parameter_constraints`` are the groups'
union:

* :class:`~rbmlib.DBNClassifier`, :class:`~rbmlib.DBNRegressor`: ``DBN_NETWORK``
  (``NETWORK_SIZE, DBN_UNITS, PRETRAINING, FINE_TUNING, ACTIVATION,
  FINE_TUNING_MORE``), [``SEMI_SUPERVISED``,] ``RUN``;
* :class:`~rbmlib.DBNAutoencoder`: its own size and units, ``PRETRAINING``,
  ``FINE_TUNING`` (step 0.001), ``FINE_TUNING_MORE``, ``RUN``;
* :class:`~rbmlib.DBMClassifier`: its size and DBM, ``FINE_TUNING`` (scikit-learn's
  MLP steps), ``ACTIVATION``, ``FINE_TUNING_MORE``, ``SEMI_SUPERVISED``, ``RUN``
  (one thread).

Their descriptions are the docstring fragments ``network_params`` and the parts
it is made of in :mod:`rbmlib._docstrings`.
"""

from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import HasMethods, Interval, Options, StrOptions

from .._params import ParamGroup
from ..mlp import ACTIVATIONS, SCHEDULES, SOLVERS
from ..units import HIDDEN_UNITS
from ._layers import _FIRST_LAYERS

__all__ = ["ACTIVATION", "DBN_NETWORK", "DBN_UNITS", "FINE_TUNING", "FINE_TUNING_MORE",
           "NETWORK_SIZE", "PRETRAINING", "RUN", "SEMI_SUPERVISED"]

#: The hidden layers, the one positional parameter of the DBN networks.
NETWORK_SIZE = ParamGroup(
    hidden_layer_sizes=((256, 256), ["array-like", Interval(Integral, 1, None, closed="left")]),
)

#: The units of the pretrained DBN's layers.
DBN_UNITS = ParamGroup(
    first_layer=("auto", [StrOptions(set(_FIRST_LAYERS))]),
    hidden_units=("bernoulli", [StrOptions(set(HIDDEN_UNITS)), list, tuple]),
)

#: Greedy pretraining: a DBN given, or the one fitted inside and its CD settings.
PRETRAINING = ParamGroup(
    dbn=(None, [None, HasMethods(["fit", "transform"])]),
    n_iter_pretrain=("auto", [Interval(Integral, 0, None, closed="left"),
                              StrOptions({"auto"}), "array-like"]),
    learning_rate_pretrain=(None, [None, Interval(Real, 0, None, closed="neither"),
                                   "array-like"]),
    batch_size_pretrain=(10, [Interval(Integral, 1, None, closed="left"), "array-like"]),
    pretrain_params=(None, [None, dict]),
)

#: Back-propagation: the optimiser, its schedule, mini-batches, epochs, dropout and
#: the stopping rule.
FINE_TUNING = ParamGroup(
    solver=("adam", [StrOptions(set(SOLVERS))]),
    learning_rate_init=("auto", [Interval(Real, 0, None, closed="neither"),
                                 StrOptions({"auto"})]),
    learning_rate=("constant", [StrOptions(set(SCHEDULES))]),
    power_t=(0.5, [Interval(Real, 0, None, closed="left")]),
    momentum=(0.9, [Interval(Real, 0, 1, closed="both")]),
    nesterovs_momentum=(True, ["boolean"]),
    beta_1=(0.9, [Interval(Real, 0, 1, closed="left")]),
    beta_2=(0.999, [Interval(Real, 0, 1, closed="left")]),
    epsilon=(1e-8, [Interval(Real, 0, None, closed="neither")]),
    alpha=(1e-5, [Interval(Real, 0, None, closed="left")]),
    batch_size=("auto", [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})]),
    max_iter=(200, [Interval(Integral, 1, None, closed="left")]),
    dropout=(0.0, [Interval(Real, 0, 1, closed="left")]),
    input_dropout=(0.0, [Interval(Real, 0, 1, closed="left")]),
    shuffle=(True, ["boolean"]),
    tol=(1e-4, [Interval(Real, 0, None, closed="left")]),
    n_iter_no_change=(10, [Interval(Integral, 1, None, closed="left"),
                           Options(Real, {np.inf})]),
    early_stopping=(False, ["boolean"]),
    validation_fraction=(0.1, [Interval(Real, 0, 1, closed="neither")]),
)

#: The hidden activations ("auto": the pretrained units' means).
ACTIVATION = ParamGroup(
    activation=("auto", [StrOptions(set(ACTIVATIONS) | {"auto"}), list, tuple]),
    negative_slope=(0.01, [Interval(Real, 0, None, closed="left")]),
)

#: The L1 penalty, the max-norm constraint (None: off), RMSprop's decay and warm_start.
FINE_TUNING_MORE = ParamGroup(
    alpha_l1=(0.0, [Interval(Real, 0, None, closed="left")]),
    max_norm=(None, [None, Interval(Real, 0, None, closed="neither")]),
    rho=(0.9, [Interval(Real, 0, 1, closed="left")]),
    warm_start=(False, ["boolean"]),
)

#: The classifiers' unlabelled rows and entropy minimisation.
SEMI_SUPERVISED = ParamGroup(
    unlabeled_label=("auto", [None, StrOptions({"auto"}), Integral, Real, str]),
    unlabeled_entropy_weight=(0.0, [Interval(Real, 0, None, closed="left")]),
)

#: Output, randomness and threads.
RUN = ParamGroup(
    verbose=(0, ["verbose"]),
    random_state=(None, ["random_state"]),
    n_jobs=(None, [None, Integral]),
)

#: The DBN networks' parameters before the classifier's and the run's.
DBN_NETWORK = NETWORK_SIZE + DBN_UNITS + PRETRAINING + FINE_TUNING + ACTIVATION + FINE_TUNING_MORE
