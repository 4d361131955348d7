"""Parameters declared once: an estimator's ``__init__`` written from parameter groups.

scikit-learn reads an estimator's parameters from the signature of its
``__init__`` (``get_params``, ``set_params``, ``clone``, the estimator checks)
and asks that ``__init__`` only store its arguments. The RBMs share most of
their parameters (the CD settings, the optimiser's, parallel tempering's,
centering's); written out, every class repeated the same signature and the
same ``self.x = x`` lines. Here a group of parameters is declared once, with
its defaults and its ``_parameter_constraints`` entries (:class:`ParamGroup`),
and :func:`with_init` writes a class's ``__init__`` from the groups it takes,
in order, as :mod:`dataclasses` does: it generates the source of a plain
function with an explicit signature and executes it. ``inspect.signature``,
``help()``, Sphinx and scikit-learn therefore see ordinary parameters: the
same names, defaults, order and positional-or-keyword / keyword-only kinds as
a hand-written ``__init__``, and the body stores each argument unchanged.

Example::

    @with_init(ParamGroup(n_components=(256, [Interval(Integral, 1, None, closed="left")])),
               CD_STEP, OWN, n_positional=1)
    class SomeRBM(_BaseRBM):
        _parameter_constraints = {**_BaseRBM._parameter_constraints, **OWN.constraints}
"""

import keyword

__all__ = ["ParamGroup", "with_init"]


class ParamGroup:
    """An ordered group of estimator parameters with their defaults and constraints.

    Parameters
    ----------
    **params : tuple (default, constraints)
        One entry per parameter, in signature order: its default and its list
        of scikit-learn parameter constraints (``sklearn.utils._param_validation``;
        an empty list for a parameter validated elsewhere).

    Attributes
    ----------
    params : dict of str to tuple
        ``name -> (default, constraints)``, in order.
    """

    def __init__(self, **params):
        for name, spec in params.items():
            if not (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], list)):
                raise TypeError(f"parameter {name!r}: expected (default, [constraints]); "
                                f"got {spec!r}.")
        self.params = dict(params)

    @property
    def names(self):
        """The parameter names, in order."""
        return list(self.params)

    @property
    def defaults(self):
        """``name -> default``, in order."""
        return {name: default for name, (default, _) in self.params.items()}

    @property
    def constraints(self):
        """``name -> constraints``: the group's part of ``_parameter_constraints``."""
        return {name: list(c) for name, (_, c) in self.params.items()}

    def __add__(self, other):
        """The parameters of ``self`` followed by those of ``other`` (no name twice)."""
        twice = set(self.params) & set(other.params)
        if twice:
            raise ValueError(f"parameters declared twice: {sorted(twice)}")
        return ParamGroup(**self.params, **other.params)

    def with_defaults(self, **defaults):
        """The group with other defaults for some parameters (same order and constraints)."""
        unknown = set(defaults) - set(self.params)
        if unknown:
            raise ValueError(f"not parameters of the group: {sorted(unknown)}")
        return ParamGroup(**{name: (defaults.get(name, d), c)
                             for name, (d, c) in self.params.items()})

    def __repr__(self):
        return f"ParamGroup({', '.join(self.params)})"


def _init_function(qualname, module, defaults, n_positional):
    """A function ``__init__(self, a=..., *, b=..., ...)`` that stores its arguments."""
    names = list(defaults)
    for name in names:
        if not name.isidentifier() or keyword.iskeyword(name) or name == "self":
            raise ValueError(f"not a parameter name: {name!r}")
    args = [f"{name}=_defaults[{name!r}]" for name in names]
    if n_positional < len(names):
        args.insert(n_positional, "*")
    body = [f"    self.{name} = {name}" for name in names] or ["    pass"]
    source = "def __init__(self, " + ", ".join(args) + "):\n" + "\n".join(body) + "\n"
    namespace = {}
    # the names are checked identifiers and the defaults are passed as objects, never as text
    exec(compile(source, f"<generated __init__ of {qualname}>", "exec"),  # noqa: S102
         {"_defaults": dict(defaults)}, namespace)
    init = namespace["__init__"]
    init.__qualname__ = f"{qualname}.__init__"
    init.__module__ = module
    init.__doc__ = None
    return init


def with_init(*groups, n_positional=1):
    """Class decorator: an ``__init__`` taking the parameters of ``groups``, in order.

    The first ``n_positional`` parameters may be given by position, the others
    by keyword only (scikit-learn's convention); every default is the group's
    default object itself (``get_params()`` of a default instance returns it,
    as ``clone`` requires). The body only stores each argument under its name.

    Parameters
    ----------
    *groups : ParamGroup
        The class's parameters, in signature order.
    n_positional : int, default=1
        How many leading parameters are positional-or-keyword.

    Returns
    -------
    decorate : callable
        Sets ``cls.__init__`` and returns the class.

    Raises
    ------
    ValueError
        If a name is declared twice or is not a valid parameter name.
    """
    declared = ParamGroup()
    for group in groups:
        declared = declared + group

    def decorate(cls):
        cls.__init__ = _init_function(cls.__qualname__, cls.__module__, declared.defaults,
                                      n_positional)
        return cls

    return decorate
