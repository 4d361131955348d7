"""Shared numpydoc fragments of the estimators' docstrings, and the helper that fills them in.

A parameter that several estimators share (the optimiser's settings, the RBMs'
training parameters and ``hidden_units``, the DBN networks' pretraining and
fine-tuning parameters) is described once, here, as imbalanced-learn describes
``random_state`` and ``n_jobs`` once in ``imblearn/utils/_docstring.py``. A
docstring names a fragment by a placeholder alone on its line::

    Parameters
    ----------
    n_components : int, default=256
        Number of hidden units.
    {rbm_batch_params}

and its class is decorated with :class:`Substitution`, which replaces the
placeholder by the fragment. Unlike imbalanced-learn's ``str.format``:

* only ``{name}`` with a known ``name`` is a placeholder, so numpydoc's value
  sets (``{"sgd", "adam"}``, ``{array-like, sparse matrix}``) need no escaping,
  and an unknown ``{name}`` raises at import time (a misspelt fragment fails
  the import, not the rendered page);
* fragments are written flush left and indented to their placeholder's column,
  so one fragment serves a class docstring, a method's, or an entry nested in a
  list;
* a fragment may itself hold placeholders: other fragments, or a value the
  class gives (``@Substitution(learning_rate_default="0.01")``).

Numbers measured by the benchmarks are not repeated here: a fragment names the
benchmark script and ``benchmarks/RESULTS.md``, which holds them with the
command that produced them.
"""

import re
import textwrap

from .units import HIDDEN_UNITS

__all__ = ["FRAGMENTS", "Substitution", "substitute"]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_MAX_DEPTH = 8


def _flush_left(text):
    """``text`` dedented, without its leading and trailing blank lines."""
    return textwrap.dedent(text).strip("\n")


def substitute(doc, values, _depth=0):
    """``doc`` with every ``{name}`` of ``values`` replaced by its value.

    A multi-line value is indented, line by line, to the column where its
    placeholder starts; values are substituted in turn (a fragment may name
    other fragments).

    Parameters
    ----------
    doc : str
        A docstring (any indentation).
    values : dict of str to str
        Fragments and per-class values, by name.

    Returns
    -------
    doc : str

    Raises
    ------
    KeyError
        If ``doc`` (or a value put into it) has a placeholder that ``values``
        does not name.
    ValueError
        If fragments name each other in a cycle.
    """
    if _depth > _MAX_DEPTH:
        raise ValueError("docstring fragments name each other in a cycle")

    def fill(match):
        name = match.group(1)
        if name not in values:
            raise KeyError(f"docstring placeholder {{{name}}} names no fragment "
                           f"(known: {', '.join(sorted(values))})")
        value = substitute(_flush_left(str(values[name])), values, _depth + 1)
        line_start = match.string.rfind("\n", 0, match.start()) + 1
        prefix = match.string[line_start:match.start()]
        indent = prefix if prefix.isspace() else prefix[:len(prefix) - len(prefix.lstrip())]
        return "\n".join(line if not line or i == 0 else indent + line
                         for i, line in enumerate(value.split("\n")))

    return _PLACEHOLDER.sub(fill, doc)


class Substitution:
    """Class or function decorator: fill the docstring's placeholders with fragments.

    Parameters
    ----------
    **values : str
        Per-class values and fragments, besides (and taking precedence over)
        the shared :data:`FRAGMENTS`.

    Examples
    --------
    >>> from rbmlib._docstrings import Substitution
    >>> @Substitution(default="0.1")
    ... class A:
    ...     '''Summary.
    ...
    ...     Parameters
    ...     ----------
    ...     learning_rate : float, default={default}
    ...     '''
    >>> "default=0.1" in A.__doc__
    True
    """

    def __init__(self, **values):
        self.values = {**FRAGMENTS, **values}

    def __call__(self, obj):
        if obj.__doc__:  # None under python -OO
            obj.__doc__ = substitute(obj.__doc__, self.values)
        return obj


#: The shared fragments, by placeholder name.
FRAGMENTS = {}

# --------------------------------------------------------------------------- optimisers
# the settings of rbmlib.optim's optimisers, shared by the RBMs' CD steps and the
# DBN networks' back-propagation

FRAGMENTS["optimizer_moments"] = """
beta_1 : float, default=0.9
    Adam's decay rate of the mean gradient, in [0, 1).
beta_2 : float, default=0.999
    Adam's decay rate of the mean squared gradient, in [0, 1).
epsilon : float, default=1e-8
    Added to the root mean square of the gradient by "adagrad",
    "rmsprop" and "adam" (numerical stability), > 0.
rho : float, default=0.9
    RMSprop's decay rate of the mean squared gradient, in [0, 1).
"""

FRAGMENTS["optimizer_refs"] = """
J. Duchi, E. Hazan and Y. Singer, "Adaptive subgradient methods for online
learning and stochastic optimization", JMLR 12, 2011 (Adagrad).

T. Tieleman and G. E. Hinton, "Lecture 6.5 - RMSprop", COURSERA: Neural
Networks for Machine Learning, 2012.

D. P. Kingma and J. Ba, "Adam: a method for stochastic optimization",
ICLR 2015.
"""

# --------------------------------------------------------------------------- methods
# the sections that the estimators' methods share

# the start of the Parameters section of a method that reads an X of rows (transform,
# predict, score_samples, ...); the method's own parameters, or an indented description
# of X, follow the placeholder
FRAGMENTS["X_params"] = """
Parameters
----------
X : {array-like, sparse matrix} of shape (n_samples, n_features)
"""

# ... of a method that also takes a dask array (read a block of rows at a time)
FRAGMENTS["X_dask_params"] = """
Parameters
----------
X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
"""

# the y of an unsupervised model's fit, partial_fit and score (scikit-learn's API)
FRAGMENTS["y_ignored"] = """
y : None
    Ignored.
"""

# the start of the Raises section of a method of a fitted model
FRAGMENTS["not_fitted_raises"] = """
Raises
------
NotFittedError
    If the model is not fitted.
"""

# the Returns section of fit and partial_fit
FRAGMENTS["fit_returns"] = """
Returns
-------
self : object
    The fitted estimator.
"""

# the end of the Parameters section and the Returns section of an unsupervised
# model's fit(X, y) and partial_fit(X, y) ...
FRAGMENTS["unsupervised_fit_returns"] = """
{y_ignored}

{fit_returns}
"""

# ... and of its score(X, y): the mean log-likelihood, or a bound or stand-in for it
# in nats (GaussianMixture.score's interface)
FRAGMENTS["unsupervised_score_returns"] = """
{y_ignored}

Returns
-------
score : float
    In nats; higher is better.
"""

# --------------------------------------------------------------------------- plotting
# the figures of rbmlib.plotting

FRAGMENTS["plot_save_params"] = """
path : str or path-like, default=None
    If given, save the figure there (format from the extension).
dpi : int, default=100
    Resolution of the saved file.
"""

# the Returns section of a function that draws one figure, and the start of its Raises
# section (the function's own errors follow the placeholder)
FRAGMENTS["plot_figure_returns"] = """
Returns
-------
fig : matplotlib.figure.Figure

Raises
------
ImportError
    If matplotlib is not installed.
"""

# --------------------------------------------------------------------------- unit types
# read from the unit table, so that a new hidden unit type documents itself


def _list_item(name, doc):
    """A reST list item ``- "name": doc`` (continuation lines under the text)."""
    first, *rest = _flush_left(doc).split("\n")
    return "\n".join([f'- "{name}": {first}'] + ["  " + line if line else line for line in rest])


FRAGMENTS["hidden_unit_names"] = ", ".join(f'"{name}"' for name in HIDDEN_UNITS)
FRAGMENTS["hidden_unit_items"] = "\n".join(_list_item(name, unit.doc)
                                          for name, unit in HIDDEN_UNITS.items())


def _words(items):
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# the fine-tuning activation of each type (HiddenUnits.activation), and the real-valued
# types (HiddenUnits.real_valued: the layer above reads them standardised)
FRAGMENTS["hidden_unit_activations"] = _words(f'"{unit.activation}" for "{name}"'
                                              for name, unit in HIDDEN_UNITS.items())
FRAGMENTS["real_valued_hidden_units"] = _words(
    f'"{name}"' for name, unit in HIDDEN_UNITS.items() if unit.real_valued).replace(" and ", " or ")
# the CD rates of a DBN layer of each type that has its own (HiddenUnits.learning_rates)
FRAGMENTS["hidden_unit_learning_rates"] = _words(
    f'{unit.learning_rates[0]} / {unit.learning_rates[1]} for "{name}"'
    for name, unit in HIDDEN_UNITS.items() if unit.learning_rates != (None, None))

# --------------------------------------------------------------------------- RBMs
# BernoulliRBM, GaussianBernoulliRBM, CategoricalRBM; a class gives
# learning_rate_default (its signature's value)

FRAGMENTS["rbm_batch_params"] = """
n_components : int, default=256
    Number of hidden units.
learning_rate : float, default={learning_rate_default}
    Step size of each update (the gradient is averaged over the mini-batch).
batch_size : int, default=10
    Examples per mini-batch; also the number of persistent chains (at
    most the number of training rows). A new value takes effect at the
    next :meth:`fit` or :meth:`partial_fit`.
n_iter : int, default=10
    Epochs over the training data in :meth:`fit`.
"""

FRAGMENTS["rbm_sampling_params"] = """
random_state : int, RandomState instance or None, default=None
    Seeds initialisation, shuffling and all sampling. The same
    ``random_state``, data and ``n_jobs`` give bit-identical results;
    different ``n_jobs`` agree up to floating-point rounding in BLAS,
    which training can amplify.
k : int, default=1
    Gibbs steps per update (CD-k / PCD-k).
"""

FRAGMENTS["rbm_update_params"] = """
momentum : float, default=0.0
    Momentum of the parameter updates with ``optimizer="sgd"`` (the
    practical guide suggests 0.5 then 0.9).
weight_decay : float, default=0.0
    L2 penalty coefficient on the weights (not on biases or variances).
sparsity_target : float, default=0.1
    Target mean activation of the hidden units (guide, sec. 11).
sparsity_cost : float, default=0.0
    Strength of the sparsity penalty; 0 switches it off.
validation_fraction : float or None, default=None
    Fraction of the rows of X held out in :meth:`fit` to monitor the
    free-energy gap (guide, sec. 6), recorded in ``history_``.
early_stopping : bool, default=False
    Stop when the free-energy gap has grown for ``n_iter_no_change``
    epochs in a row. Needs ``validation_fraction``: :meth:`fit` raises a
    ValueError when it is None.
n_iter_no_change : int, default=5
    See ``early_stopping``.
n_jobs : int or None, default=None
    Threads for the kernels and BLAS. None leaves the libraries' defaults
    (all cores); -1 all cores; 1 a single thread.
"""

FRAGMENTS["rbm_sampler_params"] = """
n_temperatures : int, default=1
    Inverse temperatures of the negative phase's chains. 1: the Gibbs
    chains of CD-k or persistent CD (``persistent``). Above 1: parallel
    tempering (Desjardins et al. 2010; Cho, Raiko and Ilin 2010), which
    needs ``persistent=True`` and hidden units with a free energy (its
    replicas are samples: ``sample_visible`` does not apply to it):
    ``batch_size`` persistent chains at each inverse
    temperature ``beta`` of the ladder, each a Gibbs chain of the RBM with
    parameters ``(beta W, beta c, beta b)``; every update makes ``k``
    Gibbs sweeps of each chain, and after each sweep proposes to swap the
    states of neighbouring temperatures (even pairs, then odd pairs after
    the next sweep), accepted
    with the Metropolis probability ``min(1, exp(F_i(v_i) + F_j(v_j) -
    F_i(v_j) - F_j(v_i)))`` of their free energies. The chains at
    ``beta = 1`` give the negative statistics. ``history_`` then records
    per epoch ``swap_acceptance`` (the fraction of accepted swaps of each
    neighbour pair, hottest last) and ``round_trips`` (chains that went
    from ``beta = 1`` to the smallest ``beta`` and back). An update costs
    about ``0.6 n_temperatures`` PCD-1 updates (784-500 RBM, batch 100, one
    thread: 1.1x with 2 temperatures, 3.1x with 5, 6.1x with 10).
inverse_temperatures : array-like of shape (n_temperatures,) or None, default=None
    The ladder of parallel tempering: decreasing positive values, the
    first 1.0. None: geometric from 1 to 0.1. Fixed during training unless
    ``swap_acceptance_target`` is set (then it is the starting ladder);
    choose it so that ``swap_acceptance`` stays well above 0 for every pair.
swap_acceptance_target : float in (0, 1) or None, default=None
    Adapt the ladder of parallel tempering during training towards this
    fraction of accepted swaps for every neighbour pair: after each kernel
    call (a few updates, at least every 2**27 / (batch_size (V + H) H)
    ones) the gap ``log beta_t - log beta_{t+1}`` of a pair is multiplied by
    ``exp(s (a_t - target))``, ``a_t`` its acceptance in the call and ``s =
    n / (n + 200)`` for its ``n`` attempted swaps; ``beta_0 = 1`` stays.
    The adapted ladder is part of the fitted state (``partial_fit``
    continues it). None: a fixed ladder.
centered : bool, default=False
    Train the centered parametrisation (Montavon and Mueller 2012;
    Melchior, Fischer and Wiskott 2016): the energy uses ``v - mu`` and
    ``h - lambda`` with offsets ``mu``, ``lambda`` kept as moving averages
    of the visible input and of the hidden means (of the data, the model's
    negative phase, or their average: ``centering_offsets``), which makes
    the gradient better conditioned. The
    fitted ``components_``, ``intercept_hidden_`` and
    ``intercept_visible_`` are those of the same model uncentered, so every
    method, likelihood, DBN stacking and export is unchanged; the offsets
    are kept (pickled, continued by :meth:`partial_fit`) in the fitted
    state. Works with every sampler and hidden unit type.
centering_decay : float, default=0.99
    The offsets move by ``1 - centering_decay`` of their distance to the
    mini-batch means at every update (Melchior et al.'s sliding factor
    ``nu = 0.01``).
centering_offsets : {"data", "average", "model"}, default="data"
    Which means the offsets follow: the data's (the positive phase: visible
    input and hidden means given it; Melchior et al.'s "dd", their
    Algorithm 1), the negative phase's (the model's samples and hidden means
    given them, "mm"), or the average of the two ("aa"; with offsets of
    the current mini-batch, ``centering_decay=0``, the centered gradient is
    then Cho, Raiko and Ilin's 2011 enhanced gradient, as Melchior et al.
    2016 show; the moving average approximates it).
"""

FRAGMENTS["rbm_hidden_units"] = """
hidden_units : {{hidden_unit_names}}, default="bernoulli"
    Type of the hidden units (:data:`rbmlib.units.HIDDEN_UNITS`), with
    ``x = c + v W^T`` their pre-activation (``v / sigma^2`` in place of
    ``v`` for GaussianBernoulliRBM's visible units):

    {hidden_unit_items}

    Changing it after fitting takes effect at the next :meth:`fit`
    (:meth:`partial_fit` raises a ValueError).
"""

FRAGMENTS["rbm_optimizer_params"] = """
optimizer : {"sgd", "adagrad", "rmsprop", "adam"}, default="sgd"
    Update rule applied to the CD gradient estimate ``g`` (ascent
    direction) of the model's parameters (weights, biases and, with
    GaussianBernoulliRBM's ``learn_sigma``, log-variances): the optimiser
    of :mod:`rbmlib.optim`, shared with the back-propagation of the DBN
    networks. "sgd" is momentum SGD, ``v = momentum v + learning_rate g``,
    ``p += v`` (fused into the gradient's matrix product; scikit-learn's
    BernoulliRBM with ``momentum=0``); "adagrad" (Duchi et al. 2011),
    "rmsprop" (Tieleman and Hinton 2012) and "adam" (Kingma and Ba 2015)
    scale each parameter's step by a running root mean square of its
    gradient, so every parameter moves by up to about ``learning_rate``
    per update: they want a smaller ``learning_rate`` than "sgd" (on
    digits, "adam" at a tenth of "sgd"'s rate gave features nearly as
    good, at a thirtieth clearly worse ones: see the hyperparameters
    page of the user guide). ``momentum`` is used by "sgd" only. The
    optimiser's state (velocities or moments, and its step count) is part
    of the fitted model: it is pickled and :meth:`partial_fit` continues
    it; a :meth:`partial_fit` with another ``optimizer`` than the last
    call's starts that one from zero state.
{optimizer_moments}
alpha_l1 : float, default=0.0
    L1 penalty ``alpha_l1 * sum_ji |W_ji|`` on the weights (not on
    biases or variances), next to ``weight_decay``'s L2; its subgradient
    ``alpha_l1 * sign(W)`` (``sign(0) = 0``) is subtracted from ``g``.
"""

FRAGMENTS["rbm_chain_attrs"] = """
h_samples_ : ndarray of shape (n_chains, n_components)
    Hidden states of the persistent chains, ``n_chains = min(batch_size,
    n_samples)``.
interrupted_ : bool
    True when the last :meth:`fit` was stopped by a KeyboardInterrupt
    (Ctrl-C) and kept its completed epochs; False after a fit or
    partial_fit that ran to the end. Code that trains several models in
    a row (a DBN's layers) reads it to stop the remaining ones.
hidden_units_ : str
    The hidden unit type of the fitted model (``hidden_units`` at the last
    :meth:`fit`).
n_iter_ : int
    Epochs completed.
"""

# the weights and biases of an RBM over ``n_features`` visible units; the class gives
# ``visible_bias_doc``, what its visible biases are
FRAGMENTS["rbm_weight_attrs"] = """
components_ : ndarray of shape (n_components, n_features)
    Weights ``W``.
intercept_hidden_ : ndarray of shape (n_components,)
    Hidden biases ``c``.
intercept_visible_ : ndarray of shape (n_features,)
    {visible_bias_doc}
"""

FRAGMENTS["rbm_unit_refs"] = """
G. E. Hinton and R. R. Salakhutdinov, "Reducing the dimensionality of
data with neural networks", Science 313(5786), 2006 (Gaussian hidden units).

V. Nair and G. E. Hinton, "Rectified linear units improve restricted
Boltzmann machines", ICML 2010 (NReLU hidden units).

G. E. Hinton, "A Practical Guide to Training Restricted Boltzmann
Machines", UTML TR 2010-003, University of Toronto, 2010.
"""

FRAGMENTS["rbm_cd_refs"] = """
G. E. Hinton, "Training products of experts by minimizing contrastive
divergence", Neural Computation 14(8), 2002.

T. Tieleman, "Training Restricted Boltzmann Machines using
Approximations to the Likelihood Gradient", ICML 2008.
"""

# the reference of the pseudo-log-likelihood (score_samples and score of the RBMs)
FRAGMENTS["pseudo_likelihood_ref"] = """
J. Besag, "Statistical analysis of non-lattice data", The
Statistician 24(3), 1975.
"""

# the references every RBM class lists after its own
FRAGMENTS["rbm_refs"] = """
{rbm_unit_refs}

{rbm_cd_refs}

{optimizer_refs}
"""

# ------------------------------------------------------------------ DBN networks
# DBNClassifier, DBNRegressor (network_params, network_attrs, network_refs whole) and
# DBNAutoencoder (the shared parts)

FRAGMENTS["network_solver_params"] = """
learning_rate : {"constant", "invscaling", "adaptive", "cosine"}, default="constant"
    Schedule per epoch ``e``: constant; ``lr0 / (e + 1) ** power_t``;
    divided by 5 whenever ``n_iter_no_change`` epochs fail to improve;
    ``lr0 * (1 + cos(pi e / max_iter)) / 2``.
power_t : float, default=0.5
    Exponent of "invscaling".
momentum : float, default=0.9
    Momentum of "sgd".
nesterovs_momentum : bool, default=True
    Nesterov's momentum for "sgd".
{optimizer_moments}
alpha : float, default=1e-5
    L2 penalty: each mini-batch minimises its mean loss plus
    ``alpha / 2 * sum ||W||^2`` (weights, not biases). Note that
    scikit-learn's MLP divides its ``alpha`` by the batch size.
alpha_l1 : float, default=0.0
    L1 penalty ``alpha_l1 * sum |W|`` on the weights (subgradient
    ``alpha_l1 * sign(W)``), added to the L2 penalty.
"""

FRAGMENTS["network_epoch_params"] = """
max_iter : int, default=200
    Maximum number of fine-tuning epochs. Reaching it raises a
    ConvergenceWarning only while the training loss is still falling (by
    more than 2% of its total fall over the last 10 epochs), not when it
    creeps by a few multiples of ``tol`` (see
    :meth:`rbmlib.mlp.StoppingRule.convergence_warning`).
dropout : float, default=0.0
    Probability of dropping each hidden unit in fine-tuning
    (Srivastava et al. 2014; inverted dropout, so prediction needs no
    rescaling).
max_norm : float or None, default=None
    Max-norm constraint of fine-tuning (Srivastava et al. 2014, sec.
    5.1): after every update, each hidden unit's vector of incoming
    weights (a column of a hidden layer's ``coefs_[l]``, the bias
    excluded) whose L2 norm exceeds ``max_norm`` is rescaled to norm
    ``max_norm``. The output layer is not constrained: the paper bounds
    the weights into hidden units, and an identity output's weights must
    grow with the targets' scale. The paper pairs it with dropout and
    large learning rates, with typical values of 3 to 4 (its appendix
    A.3). None: no constraint.
"""

FRAGMENTS["network_stopping_params"] = """
shuffle : bool, default=True
    Shuffle the rows every epoch.
tol : float, default=1e-4
    Improvement threshold of the stopping rule.
n_iter_no_change : int or np.inf, default=10
    Epochs without improvement before stopping (or, with the
    "adaptive" schedule, before dividing the learning rate by 5);
    ``np.inf`` never stops early.
"""

FRAGMENTS["network_seed_params"] = """
random_state : int, RandomState instance or None, default=None
    Seeds pretraining, initialisation, the split, shuffling and dropout.
n_jobs : int, default=None
    Threads for Numba and BLAS. The same ``random_state``, data and
    ``n_jobs`` give bit-identical results; different ``n_jobs`` agree up to
    BLAS rounding, which training can amplify.
"""

FRAGMENTS["network_params"] = """
hidden_layer_sizes : int or sequence of int, default=(256, 256)
    Hidden units of each layer, bottom first (ignored when ``dbn`` is
    given: the network takes the DBN's layers).
first_layer : {"auto", "bernoulli", "gaussian", "categorical"}, default="auto"
    Visible units of the bottom RBM (see :class:`DBN`). "auto" decides
    from the training X (recorded in ``first_layer_``): Bernoulli units
    for X in [0, 1] whose columns are binary, one-hot, probabilities or
    image intensities (digits / 16), categorical ones for a DataFrame of
    categories, Gaussian units on X standardised inside the DBN for any
    other real-valued X (the output of StandardScaler, raw or mixed
    columns, or of MinMaxScaler on measurements: a column more than 80%
    of whose values lie strictly between 0.1 and 0.9). With
    "categorical", X holds categories (integer codes or a DataFrame, as
    :class:`~rbmlib.CategoricalRBM` takes; its settings, e.g.
    ``categories`` or ``missing_values``, in
    ``pretrain_params={"rbm_params": [{...}, ...]}``) and the network
    reads the one-hot encoding of the bottom CategoricalRBM (a missing
    entry is an all-zero group), so the pretrained weights carry over
    exactly; a category not seen in fit raises CategoricalRBM's
    ValueError in ``predict`` (unless ``handle_unknown="ignore"``).
    ``n_features_in_`` counts the input columns; ``coefs_[0]`` has one
    row per one-hot unit. ``to_sklearn`` is refused for such a network.
hidden_units : {{hidden_unit_names}} or list of them, default="bernoulli"
    Hidden units of each pretrained RBM, one for all layers or one per
    hidden layer (bottom first), a type of the unit table
    :data:`rbmlib.units.HIDDEN_UNITS` (see :class:`DBN`; the layer above a
    real-valued one, {real_valued_hidden_units}, reads standardised
    features, and the standardisation is folded into the network's
    weights).
    Ignored when ``dbn`` is given (its own units apply). A wrong name
    or length raises ValueError in ``fit``.
dbn : DBN, default=None
    A DBN to start from. If fitted (possibly wrapped in
    :class:`sklearn.frozen.FrozenEstimator`, which survives ``clone``),
    its weights are used as they are and no pretraining runs; if not
    fitted, a clone of it is fitted on X (its own settings apply).
n_iter_pretrain : int, "auto" or list of them, default="auto"
    CD epochs per layer in pretraining; 0 switches pretraining off and
    gives the random-initialisation baseline (Glorot uniform weights).
    "auto" (see :class:`DBN` ``n_iter``) runs at least 10 epochs and at
    least 1000 CD updates per layer, so that pretraining moves the
    weights on small data sets too.
learning_rate_pretrain : float or list of float, default=None
    CD learning rate; None takes each RBM class's default (see :class:`DBN`).
batch_size_pretrain : int or list of int, default=10
    CD mini-batch rows.
pretrain_params : dict, default=None
    Further :class:`DBN` parameters for pretraining (``k``,
    ``persistent``, ``momentum``, ``weight_decay``, ``rbm_params``,
    ``block_size`` for out-of-core pretraining on a memmap or dask array,
    ...; each given once or per layer).
activation : {"auto", "logistic", "sigmoid", "tanh", "relu", "leaky_relu", "identity"} \
        or list of them, default="auto"
    Hidden activation, one for all hidden layers or one per layer
    (bottom first). "auto" follows each pretrained layer's hidden unit
    type, the activation equal to the units' conditional mean (the one
    the DBN's ``transform`` uses; ``HiddenUnits.activation``):
    {hidden_unit_activations} units, so
    the network computes exactly the DBN's mean-field up-pass at the
    start of fine-tuning; layers without pretraining are "logistic". A
    "tanh" layer over a pretrained RBM is initialised by the exact
    rescaling ``sigmoid(z) = (1 + tanh(z / 2)) / 2``: half the RBM's
    weights and bias, and the layer above gets ``W / 2`` and
    ``b + sum_i W_i / 2``, so the network's function at the start is
    the same as with "logistic". "relu", "leaky_relu" and "identity"
    layers take the RBM's weights as a plain initialisation (the
    function changes; no rescaling makes them equal to a sigmoid).
negative_slope : float, default=0.01
    Slope of "leaky_relu" for negative inputs (``f(z) = z`` for
    ``z > 0``, ``negative_slope * z`` otherwise).
solver : {"sgd", "adagrad", "rmsprop", "adam"}, default="adam"
    Optimiser of fine-tuning (:mod:`rbmlib.optim`): mini-batch SGD with
    momentum (Nesterov's with ``nesterovs_momentum``), Adagrad (Duchi et
    al. 2011), RMSprop (Tieleman and Hinton 2012; decay ``rho``) or Adam
    (Kingma and Ba 2015). The
    defaults (Adam, 200 epochs; step and batch size "auto": scikit-learn's
    1e-3 and up to 200 rows; the classifier's 3e-3 and 32 rows up to 400
    labelled rows) were chosen by measurement on nine R tables of 189-2,380 rows
    with either scaler and on the small UCI sets
    (``benchmarks/bench_defaults_dbn.py``, benchmarks/RESULTS.md), against
    MLPClassifier/MLPRegressor's defaults.
learning_rate_init : float or "auto", default="auto"
    Initial step size of fine-tuning (the gradient is the mini-batch
    mean). "auto" is scikit-learn's 0.001, and for the classifier 0.003
    up to 400 labelled rows, where the network is otherwise under-trained
    in ``max_iter`` epochs (measured in ``benchmarks/bench_defaults_dbn.py
    --tables``; a regressor's noisy targets overfit with it, as on
    AER::CPS1985's 356-row training folds: benchmarks/RESULTS.md); the
    value used is ``learning_rate_init_``. Deep pretrained networks want
    more with "sgd": for MNIST 784-500-500-2000 (momentum 0.9, 8 epochs
    on 6,000 images) 0.5 and 1.0 gave a fraction of the test error of
    0.1 (``benchmarks/mnist_dbn.py``, benchmarks/RESULTS.md).
{network_solver_params}
batch_size : int or "auto", default="auto"
    Mini-batch rows of fine-tuning; "auto" is scikit-learn's
    ``min(200, n_labelled)``, and for the classifier ``min(32, n_labelled)``
    up to 400 labelled rows, where ``min(200, n)`` would make one update
    per epoch (measured in ``benchmarks/bench_defaults_dbn.py``); the
    value used is ``batch_size_``.
{network_epoch_params}
input_dropout : float, default=0.0
    Probability of dropping each input unit in fine-tuning.
{network_stopping_params}
early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the labelled rows (stratified for
    the classifier), score them after every epoch (accuracy, or R^2),
    stop once ``n_iter_no_change`` epochs in a row fail to beat the best
    score by ``tol`` (scikit-learn's rule) and restore the weights of the
    best epoch. Off by default: on small data sets the held-out rows are
    few and their score too coarse to stop on.
validation_fraction : float, default=0.1
    Held-out fraction for early stopping; it must hold out at least 2
    rows ("The validation set is too small" otherwise).
warm_start : bool, default=False
    ``fit`` continues from the fitted network (no pretraining, fresh
    optimiser state), as scikit-learn's MLP; the classifier requires
    the same classes.
verbose : int, default=0
    One line per layer in pretraining and per epoch in fine-tuning
    (loss, validation score, time, time left); 2 also prints the RBMs'
    epochs.
{network_seed_params}
"""

FRAGMENTS["network_streaming"] = """
What is streamed and what is held: greedy pretraining streams X
through the DBN's row blocks (``pretrain_params={"block_size": ...}``,
default "auto": a dask array's own row chunks, or 2**22-element
blocks of a memmap larger than that; see :class:`~rbmlib.DBN`), so no
layer's representation of the whole data set is ever built.
Fine-tuning then holds X in memory: a dask X is computed one row
chunk at a time (on the cluster when a ``dask.distributed.Client`` is
active) into one preallocated NumPy array of ``n_samples *
n_features`` elements of X's dtype (no second copy); a memmap goes to
fine-tuning as an ordinary array. A dask X thus needs its full size
in memory for fine-tuning only, and the model equals the fit on the
same rows in memory with the same integer ``block_size`` and
``random_state``, bit for bit.
"""

FRAGMENTS["network_fit_X"] = """
X : {array-like, sparse matrix, dask array} of shape (n_samples, n_features)
    Training data (in [0, 1] for a Bernoulli first layer; integer
    codes or a DataFrame of categories for a categorical one).
    A dask array (y and ``sample_weight`` dask or NumPy) or a
    ``numpy.memmap`` is accepted.
    {network_streaming}
"""

FRAGMENTS["network_fit_attrs"] = """
loss_ : float
    Last entry of ``loss_curve_``.
best_loss_ : float or None
    Lowest training loss (None with early stopping).
validation_scores_ : list of float or None
    Score on the held-out rows per epoch (with early stopping).
best_validation_score_ : float or None
    Best of ``validation_scores_``; its weights are the ones kept.
n_iter_ : int
    Fine-tuning epochs run.
t_ : int
    Training samples seen by the optimiser.
"""

FRAGMENTS["features_in_attrs"] = """
n_features_in_ : int
    Number of features seen in fit.
feature_names_in_ : ndarray of shape (n_features_in_,)
    Names of features seen in fit, when X has string feature names.
"""

FRAGMENTS["network_attrs"] = """
dbn_ : DBN or None
    The pretrained DBN the weights came from (None without pretraining).
first_layer_ : {"bernoulli", "gaussian", "categorical"}
    Visible units of the bottom layer (``first_layer`` with "auto"
    resolved; the fitted ``dbn``'s own when one is given).
batch_size_ : int
    Mini-batch rows of fine-tuning (``batch_size`` with "auto" resolved).
learning_rate_init_ : float
    Initial step size of fine-tuning (``learning_rate_init`` with "auto"
    resolved).
pretrained_layers_ : int
    Hidden layers of the network initialised from ``dbn_`` (bottom
    first). When pretraining inside ``fit`` leaves a layer's hidden units
    almost constant on X (no hidden probability with a standard
    deviation of 0.01 over the rows: they carry no information and
    fine-tuning from them stalls on the loss of a constant prediction),
    that layer and those above it start from random (Glorot) weights;
    ``verbose`` says so (no warning: it is a fallback that small tables
    take routinely, not a fault). A fitted ``dbn`` passed in is always
    used whole.
coefs_ : list of ndarray of shape (n_units_in, n_units_out)
    Weights of each layer (scikit-learn's orientation).
intercepts_ : list of ndarray of shape (n_units_out,)
    Biases of each layer.
loss_curve_ : list of float
    Training loss per epoch (nats per sample, or half the squared
    error, plus the penalty; measured with dropout on).
{network_fit_attrs}
interrupted_ : bool
    True when fine-tuning was stopped by Ctrl-C after at least one epoch
    (the network of the last completed, or best, epoch is kept).
n_layers_ : int
    Layers including input and output.
n_outputs_ : int
    Output units.
out_activation_ : str
    Output activation.
activations_ : list of str
    Hidden activation of each layer, bottom first ("auto" resolved).
negative_slope_ : float
    Slope of "leaky_relu" used by the fitted network.
{features_in_attrs}
"""

# the References section of the DBN networks
FRAGMENTS["network_refs"] = """
References
----------
Hinton, G. E., Osindero, S. and Teh, Y.-W. (2006). A fast learning
algorithm for deep belief nets. Neural Computation 18, 1527-1554.

Hinton, G. E. and Salakhutdinov, R. R. (2006). Reducing the
dimensionality of data with neural networks. Science 313, 504-507.

Bengio, Y., Lamblin, P., Popovici, D. and Larochelle, H. (2007). Greedy
layer-wise training of deep networks. NIPS 19.

Srivastava, N., Hinton, G., Krizhevsky, A., Sutskever, I. and
Salakhutdinov, R. (2014). Dropout: a simple way to prevent neural
networks from overfitting. JMLR 15, 1929-1958.
"""
