"""The documentation's claims, checked without building it.

* Every code block of the user guide (``docs/user_guide/*.rst``, written as
  ``>>>`` doctests) runs and prints what the page says.
* numpydoc's docstring validation passes on every public object (the API
  reference's classes, their methods, and the functions of
  ``rbmlib.likelihood``, ``rbmlib.plotting`` and ``rbmlib.datasets``) for the
  checks in ``CHECKS``: the same checks ``docs/conf.py`` gives the build
  (``numpydoc_validation_checks``), so a docstring that would fail the docs
  build fails here first.  Skipped when numpydoc is not installed (it is in the
  ``docs`` extra, not ``test``).
"""

import doctest
import inspect
import re
from pathlib import Path

import pytest

import rbmlib

REPO = Path(__file__).resolve().parents[1]
GUIDE = sorted(p for p in (REPO / "docs" / "user_guide").glob("*.rst") if p.name != "index.rst")

# numpydoc validation codes checked on every public docstring:
# GL08 a docstring; SS01 a summary line; PR01 every parameter documented;
# PR02 no documented parameter that does not exist; PR04 every parameter has a
# type; PR10 "name : type" spaced as numpydoc parses it; RT01 a Returns section
# when something is returned; GL06 no unknown section name; GL10 reST directives
# written with "::".  Not (yet) checked, as the current docstrings fail them:
# PR03 parameters in signature order (DBNClassifier, DBNRegressor and
# DBNAutoencoder group related parameters), and the style checks (See Also,
# Examples and extended-summary sections on every method, punctuation).
CHECKS = {"GL06", "GL08", "GL10", "SS01", "PR01", "PR02", "PR04", "PR10", "RT01"}
# Objects whose docstrings are exempt from one check, and why.
EXEMPT = {
    # a dataclass: its fields are documented as Attributes, not Parameters
    ("rbmlib.likelihood.PartitionEstimate", "PR01"),
}

_NEEDS = {"scaling.rst": ("dask",)}


def _docs_conf_checks():
    text = (REPO / "docs" / "conf.py").read_text()
    m = re.search(r"numpydoc_validation_checks\s*=\s*\{([^}]*)\}", text)
    return set(re.findall(r'"(\w+)"', m.group(1))) if m else set()


@pytest.mark.parametrize("page", GUIDE, ids=[p.stem for p in GUIDE])
def test_user_guide_code_runs(page):
    for module in _NEEDS.get(page.name, ()):
        pytest.importorskip(module)
    result = doctest.testfile(
        str(page), module_relative=False, verbose=False, report=True,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{page.name} has no code to run"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {page.name}"


def public_objects():
    """Dotted names of the public classes, their own methods, and functions."""
    import rbmlib.datasets
    import rbmlib.likelihood
    import rbmlib.plotting

    names = []
    modules = [(rbmlib, [n for n in rbmlib.__all__ if n != "__version__"]),
               (rbmlib.likelihood, rbmlib.likelihood.__all__),
               (rbmlib.plotting, rbmlib.plotting.__all__),
               (rbmlib.datasets, rbmlib.datasets.__all__)]
    for module, public in modules:
        for name in public:
            obj = getattr(module, name)
            qualified = f"{module.__name__}.{name}"
            if inspect.isclass(obj):
                names.append(qualified)
                if issubclass(obj, BaseException):
                    continue
                for attr in sorted(dir(obj)):
                    if attr.startswith("_"):
                        continue
                    member = inspect.getattr_static(obj, attr)
                    func = getattr(member, "__func__", member)
                    if inspect.isfunction(func) and func.__module__.startswith("rbmlib"):
                        names.append(f"{qualified}.{attr}")
            elif callable(obj):
                names.append(qualified)
    return names


def test_benchmark_numbers_come_from_results():
    """Every decimal number on the benchmarks page and in its plots is in RESULTS.md."""
    results = (REPO / "benchmarks" / "RESULTS.md").read_text()
    for path in (REPO / "docs" / "benchmarks.rst", REPO / "docs" / "benchmarks" / "plots.py"):
        numbers = set(re.findall(r"(?<![\w.])-?\d+\.\d+", path.read_text()))
        assert len(numbers) > 20
        missing = sorted(n for n in numbers if n not in results)
        assert not missing, f"{path.name}: numbers not in benchmarks/RESULTS.md: {missing}"


def test_checks_match_the_docs_build():
    """The build validates at least what this test validates, minus the exemptions' codes."""
    conf = _docs_conf_checks()
    assert conf, "docs/conf.py sets no numpydoc_validation_checks"
    assert conf <= CHECKS


def test_public_docstrings_pass_numpydoc_validation():
    validate = pytest.importorskip("numpydoc.validate").validate
    names = public_objects()
    assert len(names) > 50
    problems = []
    for name in names:
        for code, message in validate(name)["errors"]:
            if code in CHECKS and (name, code) not in EXEMPT:
                problems.append(f"{name}: {code} {message}")
    assert not problems, f"{len(problems)} docstring problems:\n" + "\n".join(problems)


def test_offline_references_import_what_they_link():
    """docs/sphinxext/offline_xref.py links only objects that exist, without the network."""
    import sys

    pytest.importorskip("docutils")  # the docs extra (the README's test install lacks it)
    pytest.importorskip("sphinx")

    sys.path.insert(0, str(REPO / "docs" / "sphinxext"))
    try:
        from offline_xref import external_url
    finally:
        sys.path.pop(0)
    assert external_url("sklearn.pipeline.Pipeline") == (
        "https://scikit-learn.org/stable/modules/generated/sklearn.pipeline.Pipeline.html")
    assert external_url("sklearn.pipeline.Pipeline.fit").endswith(
        "sklearn.pipeline.Pipeline.html#sklearn.pipeline.Pipeline.fit")
    assert external_url("np.memmap").endswith("numpy.memmap.html")
    assert external_url("ValueError").endswith("exceptions.html#ValueError")
    assert external_url("None").endswith("constants.html#None")
    # a misspelt or unknown name stays unresolved (nitpicky mode then reports it)
    assert external_url("sklearn.pipeline.Pipelin") is None
    assert external_url("rbmlib.BernoulliRBM") is None
    assert external_url("not_a_builtin") is None


def test_gallery_topics_link_the_examples():
    """docs/gallery/<topic>/ links scripts of examples/, each at most once, and every link resolves.

    An example no topic links yet goes to a generated "More examples" topic at
    build time (docs/conf.py), so a new example never breaks the build.
    """
    gallery = REPO / "docs" / "gallery"
    links = sorted(p for p in gallery.glob("*/*.py") if p.parent.name != "other")
    for link in links:
        assert link.is_symlink(), f"{link} should be a symbolic link to examples/{link.name}"
        assert link.resolve() == (REPO / "examples" / link.name).resolve(), link
    for topic in {link.parent for link in links}:
        assert (topic / "README.txt").is_file(), f"{topic} has no README.txt"
    names = [link.name for link in links]
    assert len(names) == len(set(names)), f"linked twice: {sorted(n for n in set(names) if names.count(n) > 1)}"
    assert len(names) >= 9
