"""The unit table: one object per unit type, looked up by name.

Each unit type owns, in one place, everything that depends on it:

* ``mean(pre)`` -- its conditional mean given the pre-activation ``pre``
  (what ``transform`` returns for hidden units);
* ``sample(pre, rng)`` -- a draw from its conditional distribution (NumPy side;
  the CD kernels draw with :mod:`rbmlib._kernels.units`);
* ``log_marginal(pre)`` -- its free-energy term: the log of the sum (integral)
  over its states ``h`` of ``exp(pre * h - e(h))``, with ``e`` the unit's own
  energy, so that the free energy of an RBM is ``F(v) = visible term -
  sum_j log_marginal(x_j)``; ``None`` where no closed form exists;
* ``kernel_id`` -- the integer the Numba kernels dispatch on;
* ``activation`` -- the name of the matching activation for fine-tuning
  by backpropagation (scikit-learn's ``ACTIVATIONS`` names);
* ``real_valued`` -- whether its states are unbounded reals rather than
  probabilities: the layer above it in a DBN then has the visible units
  ``visible_above`` (Gaussian, on standardised inputs), and its default CD
  learning rate there (``default_learning_rate``) is smaller;
* initialisation: every hidden unit type starts with zero biases and weights
  drawn from ``N(0, 0.01^2)`` (Hinton's practical guide, sec. 8).

Modelled on scikit-learn's ``sklearn/neural_network/_base.py`` tables
(``ACTIVATIONS``, ``DERIVATIVES``): code asks ``HIDDEN_UNITS[name]`` instead
of testing flags, and no module outside this one lists the unit types or
compares a unit's name. The estimators register themselves as the RBM class of
their visible unit type (``rbmlib.rbm._base.RBM_CLASSES``), so this module
never imports them.

References
----------
G. E. Hinton and R. R. Salakhutdinov, "Reducing the dimensionality of data with
neural networks", Science 313(5786), 2006 (linear code units).

V. Nair and G. E. Hinton, "Rectified linear units improve restricted Boltzmann
machines", ICML 2010 (NReLU units).
"""

import math

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, logsumexp, softmax

from ._kernels import monitor as _km
from ._kernels import units as _ku

__all__ = [
    "HiddenUnits",
    "HIDDEN_UNITS",
    "hidden_units",
    "VisibleUnits",
    "VISIBLE_UNITS",
    "categorical_units",
    "free_energy",
    "softplus",
]

#: Kernel ids of the visible unit types (``VisibleUnits.kernel_id``), defined
#: with the kernels that dispatch on them (:mod:`rbmlib._kernels.units`, as the
#: hidden ids): Bernoulli 0, Gaussian 1, categorical 2.
BERNOULLI_VISIBLE = _ku.BERNOULLI_VISIBLE
GAUSSIAN_VISIBLE = _ku.GAUSSIAN_VISIBLE
CATEGORICAL_VISIBLE = _ku.CATEGORICAL_VISIBLE


def softplus(x):
    """``log(1 + exp(x))`` elementwise, without overflow or underflow.

    The same formula as ``np.logaddexp(0, x)`` (``max(x, 0) + log1p(exp(-|x|))``),
    with ``|x|`` capped inside the exponential so that no floating-point
    exception is raised for pre-activations of any size (the cap changes the
    result by less than 1e-34 in float32 and 1e-304 in float64).
    """
    x = np.asarray(x)
    cap = 80.0 if x.dtype == np.float32 else 700.0
    return np.maximum(x, 0) + np.log1p(np.exp(-np.minimum(np.abs(x), cap)))


def _dense(X):
    return X.toarray() if sp.issparse(X) else np.asarray(X)


class HiddenUnits:
    """One hidden unit type (base class; see the module docstring).

    Attributes
    ----------
    name : str
        The value of the estimators' ``hidden_units`` parameter.
    kernel_id : int
        The id the Numba kernels dispatch on.
    activation : str
        The activation of the matching feed-forward layer ("logistic",
        "identity" or "relu").
    real_valued : bool
        Whether the states are unbounded reals (linear, rectified units)
        rather than probabilities in [0, 1]: bounded units saturate at a too
        large learning rate; the layer above real-valued units in a DBN reads
        them standardised, through Gaussian visible units (``visible_above``).
    has_free_energy : bool
        Whether ``log_marginal`` has a closed form (free energy, likelihood,
        exact log Z and AIS are defined).
    discrete : bool
        Whether exact log Z can enumerate the states (it integrates continuous
        units out in closed form instead).
    log_marginal_zero : float
        ``log_marginal(0)`` of one unit, in nats: the log partition function
        per hidden unit of the base model of AIS (weights and hidden biases 0).
    learning_rates : tuple of (float or None, float or None)
        The CD learning rate of a DBN layer of these units when the DBN's
        ``learning_rate`` is None, over bounded (Bernoulli, categorical) and
        over real-valued (Gaussian) visible units; None keeps the RBM class's
        default. Read through :meth:`default_learning_rate`.
    pseudo_loglik_kernel : callable or None
        A Numba kernel ``kernel(X, pre, WT, b, out)`` of the pseudo-log-likelihood
        of binary visible units with these hidden units
        (:func:`rbmlib._kernels.monitor.pseudo_loglik_bernoulli`); None: the
        NumPy formula of :meth:`pseudo_free_energy_gap` serves.
    doc : str
        The type's entry in the estimators' ``hidden_units`` docstrings
        (numpydoc, flush left; ``x`` is the pre-activation).
    """

    name = ""
    kernel_id = -1
    activation = ""
    real_valued = False
    has_free_energy = True
    discrete = True
    log_marginal_zero = math.nan
    learning_rates = (None, None)
    pseudo_loglik_kernel = None
    doc = ""

    @property
    def visible_above(self):
        """Name of the visible unit type (a key of :data:`VISIBLE_UNITS`) of the
        RBM above a layer of these units in a DBN: "gaussian" (on standardised
        inputs) for real-valued units, "bernoulli" for probabilities."""
        return "gaussian" if self.real_valued else "bernoulli"

    def default_learning_rate(self, visible):
        """CD learning rate of a DBN layer of these hidden units over the visible
        units ``visible`` (a :class:`VisibleUnits`) when none is given; None for
        the RBM class's own default."""
        return self.learning_rates[1 if visible.real_valued else 0]

    def clip(self, h):
        """Put values ``h`` computed for these units' states (a layer input with its
        standardisation undone) back in the range of the states, in place; returns h."""
        return h

    def mean(self, pre):
        """Conditional mean ``E[h | pre]``, same shape and dtype as ``pre``."""
        raise NotImplementedError

    def sample(self, pre, rng):
        """A draw of ``h ~ p(h | pre)``; ``rng`` a ``numpy.random.RandomState``."""
        raise NotImplementedError

    def log_marginal(self, pre):
        """``log sum_h exp(pre h - e(h))`` per element (nats); the free-energy term."""
        raise NotImplementedError

    def log_marginal_pseudo_diff(self, pre, d):
        """``log_marginal(pre + d) - log_marginal(pre)`` (broadcasting), in float64."""
        return self.log_marginal(pre + d) - self.log_marginal(pre)

    def pseudo_free_energy_gap(self, gap, pre, d, W):
        """``F(x^(i)) - F(x)`` for each row and binary visible unit ``i``, float64 (n, V).

        ``x^(i)`` is the row with unit ``i`` moved by ``d_i = 1 - 2 x_i``;
        ``gap`` (n, V) is the visible units' own part of the difference
        (``-b_i d_i``), from which the hidden part ``sum_j [log_marginal(pre_j +
        d_i W_ji) - log_marginal(pre_j)]`` is subtracted. ``pre`` (n, H) are the
        hidden pre-activations and ``W`` (H, V) the weights. The (n, V, H)
        temporary is bounded by the caller's row blocks.
        """
        diff = self.log_marginal_pseudo_diff(pre[:, None, :], d[:, :, None] * W.T[None])
        return gap - diff.sum(axis=2)

    def check_free_energy(self, what):
        """Raise NotImplementedError naming the unit type when it has no free energy."""
        if not self.has_free_energy:
            raise NotImplementedError(
                f"{what} needs the free energy, which has no closed form for "
                f"hidden_units={self.name!r}: the {self.name} hidden units cannot be "
                f"summed out analytically. Use hidden_units='bernoulli' or 'gaussian' "
                f"for likelihoods, or compare models by a downstream score."
            )

    def __repr__(self):
        return f"<hidden units {self.name!r}>"

    def __reduce__(self):  # the table's objects are singletons
        return (hidden_units, (self.name,))


class _BernoulliHidden(HiddenUnits):
    """Binary units: ``p(h = 1 | x) = sigmoid(x)``; ``log_marginal = softplus(x)``."""

    name = "bernoulli"
    kernel_id = _ku.BERNOULLI_HIDDEN
    activation = "logistic"
    log_marginal_zero = math.log(2.0)
    pseudo_loglik_kernel = staticmethod(_km.pseudo_loglik_bernoulli)
    doc = """\
binary units, ``p(h_j = 1 | v) = sigmoid(x_j)``; :meth:`transform` gives the
probabilities."""

    def mean(self, pre):
        return expit(pre)

    def sample(self, pre, rng):
        p = expit(pre)
        return (rng.uniform(size=p.shape) < p).astype(p.dtype)

    def log_marginal(self, pre):
        return softplus(pre)

    def clip(self, h):
        return np.clip(h, 0, 1, out=h)


class _GaussianHidden(HiddenUnits):
    """Unit-variance linear units, energy ``h^2 / 2 - x h``: ``p(h | x) = N(x, 1)``.

    ``log_marginal(x) = x^2 / 2 + log(2 pi) / 2`` (a Gaussian integral).
    """

    name = "gaussian"
    kernel_id = _ku.GAUSSIAN_HIDDEN
    activation = "identity"
    real_valued = True
    discrete = False
    log_marginal_zero = 0.5 * math.log(2.0 * math.pi)
    # over bounded inputs 0.01, as DBNAutoencoder's code layer (0.1 diverged in the
    # first epoch on the digits); over Gaussian visible units 0.001 (Hinton and
    # Salakhutdinov's rate for linear units; see _NReLUHidden)
    learning_rates = (0.01, 0.001)
    doc = """\
linear units with unit-variance Gaussian noise, energy ``sum_j h_j^2 / 2 - c.h - h W v``,
so ``p(h | v) = N(x, 1)``; as the code layer of Hinton and Salakhutdinov (2006).
:meth:`transform` gives the mean ``x``; the free energy has the closed form
``-sum_j (x_j^2 / 2 + log(2 pi) / 2)`` plus the visible term, so the likelihood
methods, exact log Z and AIS are defined. Linear units are unbounded: use a much
smaller ``learning_rate`` (Hinton and Salakhutdinov used 1e-3 for the linear code
layer, against 0.1 for binary layers); too large a rate makes training diverge (a
DivergenceError naming ``learning_rate``)."""

    def mean(self, pre):
        return np.array(pre, copy=True)

    def sample(self, pre, rng):
        noise = rng.standard_normal(np.shape(pre)).astype(np.asarray(pre).dtype, copy=False)
        return pre + noise

    def log_marginal(self, pre):
        pre = np.asarray(pre)
        return 0.5 * pre * pre + pre.dtype.type(self.log_marginal_zero)

    def log_marginal_pseudo_diff(self, pre, d):
        return d * (pre + 0.5 * d)

    def pseudo_free_energy_gap(self, gap, pre, d, W):
        # the sum over hidden units in closed form: d_i (pre W)_i + d_i^2 |W_:i|^2 / 2
        return gap - d * (pre @ W) - 0.5 * d * d * (W * W).sum(axis=0)


class _NReLUHidden(HiddenUnits):
    """Noisy rectified linear units (Nair and Hinton 2010).

    Sample ``max(0, x + N(0, sigmoid(x)))``, mean ``max(0, x)`` (the
    approximation the paper uses for the statistics). The units stand for
    infinitely many tied binary units with shifted biases; their marginal has
    no closed form, so ``log_marginal`` is undefined.
    """

    name = "nrelu"
    kernel_id = _ku.NRELU_HIDDEN
    activation = "relu"
    real_valued = True
    has_free_energy = False
    discrete = False
    # Over bounded inputs 0.02: at BernoulliRBM's 0.1 every one of 32 NReLU units died
    # on 600 digits (constant 0); MNIST validation error was 7.9% at 0.02 and 60.8% at
    # 0.05 (benchmarks/RESULTS.md, mnist_nrelu). Over Gaussian visible units 0.001:
    # neither layer is bounded and persistent chains blew up at GaussianBernoulliRBM's
    # 0.01 (iris, 3-fold, 32-16 NReLU: 4 of 6 fits diverged; 0 of 18 at 0.003 and at
    # 0.001 on iris, wine and digits).
    learning_rates = (0.02, 0.001)
    doc = """\
noisy rectified linear units (Nair and Hinton 2010), sampled as
``max(0, x + N(0, sigmoid(x)))``; :meth:`transform` gives ``max(0, x)``. They have
no closed-form free energy: ``free_energy``, ``score_samples``, ``score``,
``log_partition`` and ``log_likelihood`` raise
:class:`rbmlib.rbm.FreeEnergyUndefinedError` (a NotImplementedError naming "nrelu",
also an AttributeError so that ``hasattr`` is False), the per-epoch
pseudo-likelihood in ``history_`` is nan and ``validation_fraction`` must be None.
Also prefer a smaller ``learning_rate`` than for binary units."""

    def mean(self, pre):
        return np.maximum(pre, 0)

    def sample(self, pre, rng):
        pre = np.asarray(pre)
        noise = rng.standard_normal(pre.shape).astype(pre.dtype, copy=False)
        return np.maximum(pre + np.sqrt(expit(pre)) * noise, 0)

    def log_marginal(self, pre):
        self.check_free_energy("The free energy")

    def clip(self, h):
        return np.maximum(h, 0, out=h)


#: The hidden unit types by name (the values of ``hidden_units``).
HIDDEN_UNITS = {u.name: u for u in (_BernoulliHidden(), _GaussianHidden(), _NReLUHidden())}


def hidden_units(name):
    """The :class:`HiddenUnits` of ``name``; ValueError naming the choices otherwise."""
    try:
        return HIDDEN_UNITS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"hidden_units must be one of {sorted(HIDDEN_UNITS)}; got {name!r}."
        ) from None


# ------------------------------------------------------------------ visible units
class VisibleUnits:
    """One visible unit type (base class).

    With ``b`` the visible biases and ``sigma`` the standard deviations
    (Gaussian units; None or ignored otherwise), a unit type defines the input
    the hidden units see (``hidden_input``: the hidden pre-activation is
    ``hidden_input(v) W^T + c``), its own energy term in the free energy
    (``energy_term``), its conditional mean and sampler given the top-down
    input ``a = h W + b``, its initial biases and the base model of AIS.

    Attributes
    ----------
    name : str
    kernel_id : int
        ``BERNOULLI_VISIBLE`` (0), ``GAUSSIAN_VISIBLE`` (1) or
        ``CATEGORICAL_VISIBLE`` (2): the id :mod:`rbmlib.likelihood`
        dispatches the partition kernels on (0 and 1 are the ``gaussian_units``
        switch of the CD and partition kernels).
    discrete : bool
        Whether the states can be enumerated (exact log Z sums over them,
        ``n_states`` of them); continuous units are integrated out in closed
        form instead.
    has_sigma : bool
        Whether the units have standard deviations (``sigma_``, learned with
        ``learn_sigma``).
    real_valued : bool
        Whether the states are unbounded reals (Gaussian units: a DBN
        standardises their input, an autoencoder reconstructs it with a linear
        output and the squared error) rather than values in [0, 1].
    takes_categories : bool
        Whether the estimator's data are categories (integer codes or a
        DataFrame, one column per group of units), which it encodes as the
        units' one-hot states, rather than the states themselves.
    """

    name = ""
    kernel_id = -1
    discrete = True
    has_sigma = False
    real_valued = False
    takes_categories = False

    def hidden_input(self, X, sigma):
        """What the hidden units see of the visible states X (dense or CSR)."""
        return X

    def hidden_affine(self, W, c, sigma):
        """``(A, d)`` with ``hidden_input(X) @ W.T + c == X @ A + d``; A is (V, H)."""
        return np.array(W.T), np.array(c)

    def energy_term(self, X, b, sigma):
        """The visible units' own term of the free energy, per row (nats)."""
        raise NotImplementedError

    def n_states(self, n_features):
        """Number of joint states of ``n_features`` visible units (a Python int;
        None for continuous units): what exact log Z enumerates."""
        return None

    def check(self, X, name, *, binary=False, complete=False):
        """Check the values of validated float64 visible data ``X`` (dense or CSR).

        ``binary``: states only (no probabilities); ``complete``: no missing
        entry (categorical units). Raises ValueError naming ``name``.
        """

    def mean(self, a, sigma):
        """``E[v | h]`` given the top-down input ``a = h W + b``."""
        raise NotImplementedError

    def sample(self, a, sigma, rng):
        """A draw of ``v ~ p(v | h)`` given ``a = h W + b``."""
        raise NotImplementedError

    def init_bias(self, col_mean, how="zeros", n_rows=None):
        """Initial visible biases from the training data's column means (over
        ``n_rows`` rows; the categorical units smooth the counts)."""
        raise NotImplementedError

    def base_biases(self, col_mean, n_rows, b):
        """Visible biases of the AIS base model (no weights) from data column means
        (``col_mean`` None: no data given)."""
        raise NotImplementedError

    def log_z_base(self, b_base, sigma):
        """log Z of the visible layer of the AIS base model, in nats."""
        raise NotImplementedError

    def __repr__(self):
        return f"<visible units {self.name!r}>"

    def __reduce__(self):
        return (_visible_units_of, (self.name,))


class _BernoulliVisible(VisibleUnits):
    """Binary visible units: energy ``-b.v``, ``p(v_i = 1 | h) = sigmoid(a_i)``."""

    name = "bernoulli"
    kernel_id = BERNOULLI_VISIBLE

    def energy_term(self, X, b, sigma):
        return -np.asarray(X @ b).ravel()

    def n_states(self, n_features):
        return 2 ** int(n_features)

    def check(self, X, name, *, binary=False, complete=False):
        vals = X.data if sp.issparse(X) else X
        if binary:
            if vals.size and not np.all((vals == 0) | (vals == 1)):
                raise ValueError(
                    f"{name} must hold binary states (0 or 1) of the Bernoulli visible "
                    f"units; it has values such as {vals[(vals != 0) & (vals != 1)][0]!r}."
                )
        elif vals.size and (vals.min() < 0 or vals.max() > 1):
            lo, hi = vals.min(), vals.max()
            if sp.issparse(X) and X.nnz < X.shape[0] * X.shape[1]:  # implicit zeros
                lo, hi = min(lo, 0.0), max(hi, 0.0)
            raise ValueError(
                f"{name} must lie in [0, 1] for Bernoulli visible units (values are "
                f"probabilities or binary states); its values range from "
                f"{lo:.6g} to {hi:.6g}. Scale the data to [0, 1], e.g. "
                "with sklearn.preprocessing.MinMaxScaler."
            )

    def mean(self, a, sigma):
        return expit(a)

    def sample(self, a, sigma, rng):
        p = expit(a)
        return (rng.uniform(size=p.shape) < p).astype(p.dtype)

    def init_bias(self, col_mean, how="zeros", n_rows=None):
        if how == "zeros":
            return np.zeros_like(col_mean)
        p = np.clip(col_mean, 1e-3, 1 - 1e-3)  # "log_odds" (practical guide, sec. 8)
        return np.log(p / (1 - p))

    def base_biases(self, col_mean, n_rows, b):
        if col_mean is None:
            return np.zeros_like(b)
        # smoothed marginal rates (add one pseudo-observation of 0 and of 1)
        p = (col_mean * n_rows + 1.0) / (n_rows + 2.0)
        return np.log(p) - np.log1p(-p)

    def log_z_base(self, b_base, sigma):
        return float(np.logaddexp(0.0, b_base).sum())


class _GaussianVisible(VisibleUnits):
    """Gaussian visible units (Cho, Ilin and Raiko 2011): energy
    ``sum_i (v_i - b_i)^2 / (2 sigma_i^2)``, hidden input ``v / sigma^2``,
    ``p(v | h) = N(a, diag(sigma^2))``."""

    name = "gaussian"
    kernel_id = GAUSSIAN_VISIBLE
    discrete = False
    has_sigma = True
    real_valued = True

    def hidden_input(self, X, sigma):
        inv_var = (1.0 / sigma**2).astype(X.dtype, copy=False)
        if sp.issparse(X):
            return sp.csr_matrix(X.multiply(inv_var[None, :]))
        return X * inv_var

    def hidden_affine(self, W, c, sigma):
        A = W.T / (sigma**2)[:, None]
        return np.ascontiguousarray(A, dtype=W.dtype), np.array(c)

    def energy_term(self, X, b, sigma):
        return 0.5 * np.sum(((_dense(X) - b) / sigma) ** 2, axis=1)

    def mean(self, a, sigma):
        return a

    def sample(self, a, sigma, rng):
        noise = rng.standard_normal(a.shape).astype(a.dtype, copy=False)
        return a + sigma * noise

    def init_bias(self, col_mean, how="mean", n_rows=None):
        return col_mean

    def base_biases(self, col_mean, n_rows, b):
        return b.copy() if col_mean is None else np.asarray(col_mean, dtype=np.float64)

    def log_z_base(self, b_base, sigma):
        return float(np.sum(0.5 * np.log(2 * np.pi) + np.log(sigma)))


class _CategoricalVisible(VisibleUnits):
    """Categorical (softmax) visible units: ``G`` groups of one-hot units.

    Group ``g`` owns the units ``offsets[g]:offsets[g + 1]`` (``K_g``
    categories) and exactly one of them is on, or none for a missing entry
    (the group is then absent from the row's RBM; Salakhutdinov, Mnih and
    Hinton 2007). The states are the concatenated one-hot vectors ``v`` of
    shape ``(n, V)``, ``V = offsets[G]``; energy ``-b.v`` (as Bernoulli units),
    ``p(v_g = k | h) = softmax_k(a_gk)`` with ``a = h W + b``.

    The table's entry ``VISIBLE_UNITS["categorical"]`` has no groups; a model's
    units come from :func:`categorical_units` (its ``offsets_``), and
    the methods that need the groups raise a ValueError on the entry itself.

    Parameters
    ----------
    offsets : array-like of int of shape (G + 1,) or None
        Group boundaries: ``offsets[0] == 0``, strictly increasing.
    """

    name = "categorical"
    kernel_id = CATEGORICAL_VISIBLE
    takes_categories = True

    def __init__(self, offsets=None):
        if offsets is not None:
            offsets = np.asarray(offsets)
            if (offsets.ndim != 1 or offsets.shape[0] < 2 or offsets.dtype.kind not in "iu"
                    or offsets[0] != 0 or np.any(np.diff(offsets) < 1)):
                raise ValueError(
                    "offsets of categorical units must be a 1-D integer array starting at "
                    f"0 and strictly increasing (one group of >= 1 units each), got {offsets!r}.")
            offsets = np.ascontiguousarray(offsets, dtype=np.int64)
            offsets.setflags(write=False)
        self._offsets = offsets

    @property
    def offsets(self):
        """Group boundaries, int64 of shape (G + 1,); ValueError when unset."""
        if self._offsets is None:
            raise ValueError(
                "the categorical visible units of the unit table have no groups; build "
                "them with rbmlib.units.categorical_units(offsets) (a fitted CategoricalRBM "
                "has them).")
        return self._offsets

    def _groups(self):
        o = self.offsets
        return [(int(o[g]), int(o[g + 1])) for g in range(o.shape[0] - 1)]

    def onehot(self, codes, dtype=np.float64):
        """The one-hot states ``(n, V)`` of integer codes ``(n, G)`` (-1: missing, all 0)."""
        codes = np.asarray(codes)
        o = self.offsets
        out = np.zeros((codes.shape[0], int(o[-1])), dtype=dtype)
        rows, cols = np.nonzero(codes >= 0)
        out[rows, o[cols] + codes[rows, cols]] = 1.0
        return out

    def codes(self, X):
        """Integer codes ``(n, G)``, int32, of one-hot states ``X``: the unit that is
        on in each group, -1 where none is."""
        X = _dense(X)
        out = np.empty((X.shape[0], len(self._groups())), dtype=np.int32)
        for g, (o0, o1) in enumerate(self._groups()):
            block = X[:, o0:o1]
            out[:, g] = np.where(block.any(axis=1), np.argmax(block, axis=1), -1)
        return out

    def energy_term(self, X, b, sigma):
        return -np.asarray(X @ b).ravel()

    def mean(self, a, sigma):
        """``p(v_g = k | h)``: the softmax of each group of ``a``, rows of a group summing to 1."""
        out = np.empty_like(a)
        for o0, o1 in self._groups():
            out[:, o0:o1] = softmax(a[:, o0:o1], axis=1)
        return out

    def sample(self, a, sigma, rng):
        """One-hot draws of every group; group ``g`` of row ``r`` by the inverse CDF
        at ``rng.uniform(size=(n, G))[r, g]``."""
        p = self.mean(a, sigma)
        u = rng.uniform(size=(p.shape[0], len(self._groups())))
        codes = np.empty(u.shape, dtype=np.int32)
        for g, (o0, o1) in enumerate(self._groups()):
            cdf = np.cumsum(p[:, o0:o1], axis=1)
            codes[:, g] = np.minimum((cdf < u[:, [g]] * cdf[:, -1:]).sum(axis=1), o1 - o0 - 1)
        return self.onehot(codes, p.dtype)

    def init_bias(self, col_mean, how="log_frequencies", n_rows=None):
        """"zeros", or "log_frequencies": ``log`` of each category's frequency among
        the observed entries, smoothed by one pseudo-count per category (Hinton's
        practical guide, sec. 8); ``col_mean`` the one-hot column means over
        ``n_rows`` rows."""
        if how == "zeros":
            return np.zeros_like(col_mean)
        return self.base_biases(col_mean, n_rows, None).astype(np.asarray(col_mean).dtype)

    def base_biases(self, col_mean, n_rows, b):
        if col_mean is None:
            return np.zeros(int(self.offsets[-1]))
        counts = np.rint(np.asarray(col_mean, dtype=np.float64) * n_rows) + 1.0
        out = np.empty_like(counts)
        for o0, o1 in self._groups():
            out[o0:o1] = np.log(counts[o0:o1] / counts[o0:o1].sum())
        return out

    def log_z_base(self, b_base, sigma):
        """``sum_g logsumexp_k b_base[g, k]``: independent softmaxes."""
        return float(sum(logsumexp(b_base[o0:o1]) for o0, o1 in self._groups()))

    def n_states(self, n_features):
        return math.prod(int(k) for k in np.diff(self.offsets))

    def check(self, X, name, *, binary=False, complete=False):
        """Values 0 or 1, at most one 1 per group (exactly one when ``complete``)."""
        vals = X.data if sp.issparse(X) else X
        if vals.size and not np.all((vals == 0) | (vals == 1)):
            raise ValueError(
                f"{name} must hold one-hot states of the categorical visible units (0 or "
                f"1); it has values such as {float(vals[(vals != 0) & (vals != 1)][0]):g}.")
        for g, (o0, o1) in enumerate(self._groups()):
            on = np.asarray(X[:, o0:o1].sum(axis=1)).ravel()
            bad = np.flatnonzero((on != 1) if complete else (on > 1))
            if bad.size:
                raise ValueError(
                    f"{name} must hold one-hot states of the categorical visible units: "
                    f"{'exactly' if complete else 'at most'} one unit on in each group "
                    f"({'complete rows, no missing entry' if complete else 'none: missing'}); "
                    f"row {bad[0]} has {on[bad[0]]:g} of group {g} (units {o0}:{o1}) on.")

    def __repr__(self):
        if self._offsets is None:
            return f"<visible units {self.name!r}>"
        return f"<visible units {self.name!r}, groups of {np.diff(self._offsets).tolist()}>"

    def __reduce__(self):
        return (categorical_units, (self._offsets,))


def categorical_units(offsets):
    """Categorical visible units with the groups ``offsets`` (see ``_CategoricalVisible``).

    Parameters
    ----------
    offsets : array-like of int of shape (G + 1,) or None
        Group boundaries (a CategoricalRBM's ``offsets_``); None gives the
        table's entry, which has no groups.

    Returns
    -------
    units : VisibleUnits

    Raises
    ------
    ValueError
        If ``offsets`` is not 1-D, integer, starting at 0 and strictly increasing.
    """
    if offsets is None:
        return VISIBLE_UNITS["categorical"]
    return _CategoricalVisible(offsets)


#: The visible unit types by name (the categorical entry has no groups: see
#: :func:`categorical_units`).
VISIBLE_UNITS = {u.name: u for u in (_BernoulliVisible(), _GaussianVisible(),
                                     _CategoricalVisible())}


def _visible_units_of(name):
    return VISIBLE_UNITS[name]


def free_energy(X, W, c, b, sigma, visible, hidden):
    """Free energy ``F(v) = visible.energy_term(v) - sum_j hidden.log_marginal(x_j)``.

    The one formula every estimator and :mod:`rbmlib.likelihood` use, with
    ``x = visible.hidden_input(v) W^T + c`` the hidden pre-activations, so that
    ``p(v) = exp(-F(v)) / Z``.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    W : ndarray of shape (n_components, n_features)
    c : ndarray of shape (n_components,)
    b : ndarray of shape (n_features,)
    sigma : ndarray of shape (n_features,) or None
        Standard deviations of Gaussian visible units.
    visible : VisibleUnits
    hidden : HiddenUnits

    Returns
    -------
    F : ndarray of shape (n_samples,)
        In nats.

    Raises
    ------
    NotImplementedError
        If the hidden units have no closed-form free energy (NReLU).
    """
    hidden.check_free_energy("The free energy")
    pre = np.asarray(visible.hidden_input(X, sigma) @ W.T)
    pre += c
    return visible.energy_term(X, b, sigma) - hidden.log_marginal(pre).sum(axis=1)
