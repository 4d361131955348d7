"""Links to scikit-learn, NumPy, SciPy, pandas, Dask, matplotlib and Python, offline.

intersphinx would download each project's inventory at build time, and the
build must not touch the network.  Instead, a reference that Sphinx cannot
resolve inside rbmlib (``:class:`sklearn.pipeline.Pipeline```, a See Also entry)
is resolved here: the object is imported to check that it exists (a misspelt
name stays unresolved, and nitpicky mode reports it), then linked to its page
under the project's documented URL scheme.  Nothing is fetched.

Two more rules: a name written without its module (``OutOfRangeWarning``)
resolves when exactly one documented object ends with it, and an rbmlib
object that imports but has no API page (``rbmlib.units``) is shown as code,
unlinked, and listed at the end of the build.
"""

import builtins
import importlib
import sys

from docutils import nodes

# package -> URL of an object's page; {name} is the full dotted name.
_URLS = {
    "sklearn": "https://scikit-learn.org/stable/modules/generated/{name}.html",
    "numpy": "https://numpy.org/doc/stable/reference/generated/{name}.html",
    "scipy": "https://docs.scipy.org/doc/scipy/reference/generated/{name}.html",
    "pandas": "https://pandas.pydata.org/docs/reference/api/{name}.html",
    "dask": "https://docs.dask.org/en/stable/generated/{name}.html",
    "dask_ml": "https://ml.dask.org/modules/generated/{name}.html",
    "distributed": "https://distributed.dask.org/en/stable/api.html#{name}",
    "joblib": "https://joblib.readthedocs.io/en/stable/generated/{name}.html",
    "matplotlib": "https://matplotlib.org/stable/api/_as_gen/{name}.html",
    "numba": "https://numba.readthedocs.io/en/stable/search.html?q={name}",
}
_MODULE_URLS = {
    "sklearn": "https://scikit-learn.org/stable/api/{name}.html",
    "numpy": "https://numpy.org/doc/stable/reference/index.html#{name}",
    "scipy": "https://docs.scipy.org/doc/scipy/reference/{short}.html",
    "pandas": "https://pandas.pydata.org/docs/reference/index.html#{name}",
    "dask": "https://docs.dask.org/en/stable/{short}.html",
    "dask_ml": "https://ml.dask.org/modules/api.html#{name}",
    "distributed": "https://distributed.dask.org/en/stable/api.html",
    "joblib": "https://joblib.readthedocs.io/en/stable/",
    "matplotlib": "https://matplotlib.org/stable/api/{short}_api.html",
    "numba": "https://numba.readthedocs.io/en/stable/",
}
_SPECIAL_MODULE_URLS = {
    "matplotlib.pyplot": "https://matplotlib.org/stable/api/pyplot_summary.html",
}
_ALIASES = {"np": "numpy", "sp": "scipy.sparse", "pd": "pandas", "da": "dask.array",
            "plt": "matplotlib.pyplot"}
_PY = "https://docs.python.org/3/"


def _lookup(name):
    """The imported object named ``name`` (dotted), or raise LookupError."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                raise LookupError(name)
            obj = getattr(obj, attr)
        return obj, ".".join(parts[:i]), parts[i:]
    raise LookupError(name)


def external_url(target):
    """The documentation URL of a Python, NumPy, scikit-learn ... object, or None."""
    head, _, rest = target.partition(".")
    if head in _ALIASES:
        target = _ALIASES[head] + ("." + rest if rest else "")
    if "." not in target:
        obj = getattr(builtins, target, None)
        if target in ("None", "True", "False", "Ellipsis", "NotImplemented"):
            return _PY + f"library/constants.html#{target}"
        if isinstance(obj, type) and issubclass(obj, BaseException):
            return _PY + f"library/exceptions.html#{target}"
        if obj is not None:
            return _PY + f"library/functions.html#{target}"
        if target in ("callable", "iterable", "path-like", "file-like"):
            return _PY + "glossary.html"
        return None
    package = target.split(".")[0]
    if package not in _URLS:
        if package not in sys.stdlib_module_names:
            return None
        try:
            _lookup(target)
        except LookupError:
            return None
        module = target.split(".")[0]
        return _PY + f"library/{module}.html#{target}"
    try:
        obj, module, attrs = _lookup(target)
    except LookupError:
        return None
    if not attrs:  # a module
        if module in _SPECIAL_MODULE_URLS:
            return _SPECIAL_MODULE_URLS[module]
        return _MODULE_URLS[package].format(name=module, short=module.split(".", 1)[-1])
    page = ".".join([module] + attrs[:1])
    url = _URLS[package].format(name=page)
    if len(attrs) > 1:
        url += "#" + target
    return url


def _unique_suffix_match(app, env, node, contnode):
    """``OutOfRangeWarning`` or ``CategoricalRBM.impute`` written without its module.

    Resolved when exactly one documented object's full name ends with it.
    """
    from sphinx.util.nodes import make_refnode

    target = node.get("reftarget", "").lstrip("~.")
    py = env.get_domain("py")
    hits = [(name, obj) for name, obj in py.objects.items()
            if name.endswith("." + target) and not obj.aliased]
    if len(hits) != 1:
        return None
    name, obj = hits[0]
    return make_refnode(app.builder, node["refdoc"], obj.docname, obj.node_id, contnode, name)


def _missing_reference(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    ref = _unique_suffix_match(app, env, node, contnode)
    if ref is not None:
        return ref
    target = node.get("reftarget", "")
    if target.startswith("rbmlib."):
        # An rbmlib object that exists but has no page in the API reference
        # (rbmlib.units, rbmlib.optim: internals that docstrings mention):
        # shown as code, not linked.  A name that does not import still fails.
        try:
            _lookup(target)
        except LookupError:
            return None
        _UNLINKED.add(target)
        return contnode
    url = external_url(target)
    if url is None:
        return None
    ref = nodes.reference("", "", internal=False, refuri=url, reftitle=target)
    ref += contnode
    return ref


_UNLINKED = set()


def _report_unlinked(app, exception):
    if _UNLINKED:
        from sphinx.util import logging

        logging.getLogger(__name__).info(
            "offline_xref: rbmlib objects named in docstrings without an API page "
            "(shown unlinked): %s", ", ".join(sorted(_UNLINKED)))


def setup(app):
    app.connect("missing-reference", _missing_reference)
    app.connect("build-finished", _report_unlinked)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
