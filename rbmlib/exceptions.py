"""Exceptions and warnings of rbmlib (one home, re-exported where they were defined).
"""



class DivergenceError(ValueError):
    """Raised when training diverges (non-finite, exploding or saturated parameters)."""


class FreeEnergyUndefinedError(NotImplementedError, AttributeError):
    """Raised by the likelihood methods of an RBM whose hidden units have no
    closed-form free energy (``hidden_units="nrelu"``).

    A NotImplementedError naming the unit type; also an AttributeError, so that
    ``hasattr(rbm, "score_samples")`` is False and scikit-learn (``Pipeline.score``,
    the estimator checks) treats the method as absent.
    """


class OutOfRangeWarning(UserWarning):
    """Warning: data given to a Bernoulli visible layer lies outside [0, 1]."""
