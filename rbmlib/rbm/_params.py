"""The RBMs' shared parameters, declared once: defaults and constraints.

Each group is a :class:`rbmlib._params.ParamGroup`. ``_BaseRBM._parameter_constraints``
is the union of their constraints, and each RBM class writes its ``__init__`` with
:func:`rbmlib._params.with_init` from the groups it takes, in signature order, plus a
group of its own parameters::

    @with_init(RBM_SIZE, RBM_FIT.with_defaults(learning_rate=0.01), OWN, HIDDEN,
               OPTIMIZER, TEMPERING, CENTERING)

Their descriptions are the shared docstring fragments of :mod:`rbmlib._docstrings`
(``rbm_batch_params``, ``rbm_sampling_params``, ``rbm_update_params``,
``rbm_sampler_params``, ``rbm_hidden_units``, ``rbm_optimizer_params``).
"""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from .._params import ParamGroup
from ..optim import SOLVERS
from ..units import HIDDEN_UNITS
from ._common import _IntNotBool

__all__ = ["CD_STEP", "CENTERING", "HIDDEN", "OPTIMIZER", "RBM_FIT", "RBM_SIZE", "TEMPERING"]

#: The number of hidden units, the one positional parameter.
RBM_SIZE = ParamGroup(
    n_components=(256, [_IntNotBool(Integral, 1, None, closed="left")]),
)

#: One CD update: the Gibbs steps, persistent chains, and the update's terms.
CD_STEP = ParamGroup(
    k=(1, [_IntNotBool(Integral, 1, None, closed="left")]),
    persistent=(True, ["boolean"]),
    momentum=(0.0, [Interval(Real, 0, 1, closed="left")]),
    weight_decay=(0.0, [Interval(Real, 0, None, closed="left")]),
    sparsity_target=(0.1, [Interval(Real, 0, 1, closed="neither")]),
    sparsity_cost=(0.0, [Interval(Real, 0, None, closed="left")]),
)

#: The fit: rate, mini-batches, epochs, output, randomness, the CD step, early
#: stopping and threads.
RBM_FIT = ParamGroup(
    learning_rate=(0.1, [Interval(Real, 0, None, closed="neither")]),
    batch_size=(10, [_IntNotBool(Integral, 1, None, closed="left")]),
    n_iter=(10, [_IntNotBool(Integral, 0, None, closed="left")]),
    verbose=(0, ["verbose"]),
    random_state=(None, ["random_state"]),
) + CD_STEP + ParamGroup(
    validation_fraction=(None, [None, Interval(Real, 0, 1, closed="neither")]),
    early_stopping=(False, ["boolean"]),
    n_iter_no_change=(5, [_IntNotBool(Integral, 1, None, closed="left")]),
    n_jobs=(None, [None, _IntNotBool(Integral, None, None, closed="neither")]),
)

#: The hidden unit type, a name of the unit table.
HIDDEN = ParamGroup(
    hidden_units=("bernoulli", [StrOptions(set(HIDDEN_UNITS))]),
)

#: The optimiser of the CD gradient (rbmlib.optim) and its L1 penalty.
OPTIMIZER = ParamGroup(
    optimizer=("sgd", [StrOptions(set(SOLVERS))]),
    beta_1=(0.9, [Interval(Real, 0, 1, closed="left")]),
    beta_2=(0.999, [Interval(Real, 0, 1, closed="left")]),
    epsilon=(1e-8, [Interval(Real, 0, None, closed="neither")]),
    rho=(0.9, [Interval(Real, 0, 1, closed="left")]),
    alpha_l1=(0.0, [Interval(Real, 0, None, closed="left")]),
)

#: Parallel tempering's ladder (one temperature: plain CD / PCD).
TEMPERING = ParamGroup(
    n_temperatures=(1, [_IntNotBool(Integral, 1, None, closed="left")]),
    inverse_temperatures=(None, ["array-like", None]),
    swap_acceptance_target=(None, [None, Interval(Real, 0, 1, closed="neither")]),
)

#: The centered parametrisation (Montavon and Mueller 2012).
CENTERING = ParamGroup(
    centered=(False, ["boolean"]),
    centering_decay=(0.99, [Interval(Real, 0, 1, closed="left")]),
    centering_offsets=("data", [StrOptions({"data", "average", "model"})]),
)
