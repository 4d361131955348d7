"""Sphinx configuration of rbmlib's documentation.

Built with ``make -C docs html`` (``sphinx-build -W --keep-going -n -b html docs docs/_build/html``).
The build is offline: nothing is downloaded (no intersphinx; references to
scikit-learn, NumPy, SciPy and Python objects are resolved by
``sphinxext/offline_xref.py``, which imports each object to check that it exists).
It runs every gallery example in its ``--quick`` setting on one thread; the
MNIST and Dask examples are shown with their recorded figures, not run.  The
gallery's topic folders (docs/gallery) link to the scripts in examples/.
"""

import os
import re
import sys
from pathlib import Path

# One thread per library during the build: the quick examples gain nothing from
# threads and the build machine may be shared.  Set before anything imports
# NumPy or Numba.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("MPLBACKEND", "Agg")

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(DOCS / "sphinxext"))

import rbmlib  # noqa: E402

# -- Project -----------------------------------------------------------------

project = "rbmlib"
author = "The rbmlib developers"
copyright = "2026, The rbmlib developers"
version = release = rbmlib.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    "sphinx_design",
    "matplotlib.sphinxext.plot_directive",
    "offline_xref",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "Thumbs.db", ".DS_Store",
                    "sg_execution_times.rst",
                    "whats_new/*.rst"]  # included by whats_new.rst, not pages of their own
root_doc = "index"
default_role = "literal"
add_function_parentheses = False
pygments_style = "sphinx"
today_fmt = "%Y"  # no build date in the pages: the build is reproducible

# Warnings are errors (-W), and every cross-reference must resolve (-n).
nitpicky = True
# Parameter types are free text in numpydoc docstrings ("ndarray of shape
# (n_samples, n_features)"); they are not cross-referenced, so nitpicky mode
# checks the references that a docstring or page writes on purpose.
numpydoc_xref_param_type = False

# -- HTML ----------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"rbmlib {version}"
html_static_path = ["_static"]
html_css_files = ["css/rbmlib.css"]
html_last_updated_fmt = None
html_copy_source = False
html_show_sourcelink = False
html_favicon = "_static/favicon.png"
# The theme's light/dark switch starts from "light" (with no stored choice the
# theme would log an error in the console of a fresh browser profile).
html_context = {"default_mode": "light"}
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 6,
    "navbar_align": "left",
    "navbar_persistent": ["search-button"],
    # The theme's version check and analytics would reach the network.
    "check_switcher": False,
    "navbar_end": ["theme-switcher", "navbar-icon-links"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {
    "index": [],
    "install": [],
    "benchmarks": [],
    "whats_new": [],
}
# MathJax is served from the built site, copied from the django-static-mathjax
# wheel (a docs dependency), never from a CDN.
mathjax_path = "mathjax/tex-chtml.js"

# -- autodoc / autosummary / numpydoc -------------------------------------------

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# numpydoc's docstring validation runs over every public object the API pages
# document.  The chosen checks (tests/test_docs.py runs the same ones without a
# build, and says why each is there): a docstring with a summary line, every
# parameter documented with a type and none that does not exist, a Returns
# section where something is returned, known section names and directives.
numpydoc_validation_checks = {"GL06", "GL08", "GL10", "SS01", "PR01", "PR02", "PR04", "PR10",
                              "RT01"}
numpydoc_validation_exclude = {
    r"\.__init__$",  # the class docstring documents the constructor
    r"^rbmlib\.likelihood\.PartitionEstimate$",  # a dataclass: its fields are Attributes
}

# -- sphinx-gallery ------------------------------------------------------------

# Examples that run in the build (their --quick setting, seconds each).  The
# MNIST examples need the MNIST files and minutes to hours; the Dask example
# starts a cluster: their pages show recorded figures and the command instead.
_NOT_RUN = ("mnist_dbn_classifier", "mnist_loglik_ais", "scale_out_dask")

# The gallery's source is docs/gallery: one folder per topic, each with its
# README.txt, holding symbolic links to the scripts in examples/ (which stay where
# they are, runnable as ``python examples/<name>.py`` and tested there).
_TOPICS = ["rbm", "dbn", "autoencoder", "likelihood", "scaling"]


def _link_unsorted_examples():
    """Put an example that no topic links yet in docs/gallery/other (generated, ignored by git)."""
    import shutil

    gallery = DOCS / "gallery"
    other = gallery / "other"
    if other.exists():
        shutil.rmtree(other)
    linked = {p.name for p in gallery.glob("*/*.py")}
    missing = sorted(p.name for p in (REPO / "examples").glob("*.py") if p.name not in linked)
    if missing:
        other.mkdir()
        (other / "README.txt").write_text(
            "More examples\n-------------\n\nExamples not yet sorted into a topic.\n")
        for name in missing:
            (other / name).symlink_to(Path("..", "..", "..", "examples", name))
        _TOPICS.append("other")


_link_unsorted_examples()

sphinx_gallery_conf = {
    "examples_dirs": [str(DOCS / "gallery")],
    "gallery_dirs": ["auto_examples"],
    "subsection_order": [f"gallery/{topic}" for topic in _TOPICS],
    "filename_pattern": r"/(?!(%s)\.py$)[^/]+\.py$" % "|".join(_NOT_RUN),
    "ignore_pattern": r"__init__\.py",
    "reset_argv": "gallery_scraper.example_argv",
    "image_scrapers": ("matplotlib", "gallery_scraper.png_scraper"),
    "doc_module": ("rbmlib",),
    "backreferences_dir": "api/generated",
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1e9,  # no run times in the pages: they differ per build
    "download_all_examples": False,
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "within_subsection_order": "gallery_scraper.ExampleOrder",
    "write_computation_times": False,
}

# -- matplotlib's plot directive (the benchmarks page) --------------------------

plot_formats = [("png", 100)]
plot_html_show_source_link = False
plot_html_show_formats = False
plot_include_source = False
plot_rcparams = {"font.size": 9}

copybutton_prompt_text = r">>> |\.\.\. "
copybutton_prompt_is_regexp = True




def _skip_foreign_member(app, what, name, obj, skip, options):
    """Document only the members rbmlib defines, not those of scikit-learn's mixins."""
    if what != "class" or skip:
        return None
    target = obj.fget if isinstance(obj, property) else getattr(obj, "__func__", obj)
    module = getattr(target, "__module__", None) or ""
    if module and not module.startswith("rbmlib"):
        return True
    return None


# "ndarray of shape (n_samples, n_features_in_)": in reST a word ending in "_"
# is a hyperlink reference.  In the "name : type" lines of numpydoc sections the
# trailing underscore of an attribute name is escaped before numpydoc reads them.
_TYPE_LINE = re.compile(r"^(\s*\*{0,2}\w[\w, *]*\s:\s)(.*)$")
_TRAILING_UNDERSCORE = re.compile(r"(?<![`\\\w])([A-Za-z]\w*?)_(?=[\s,)\]]|$)")


def _escape_type_underscores(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        m = _TYPE_LINE.match(line)
        if m and "`" not in m.group(2):
            lines[i] = m.group(1) + _TRAILING_UNDERSCORE.sub(r"\1\\_", m.group(2))


def _public_methods(cls, package):
    """Names of the public methods of ``cls`` defined in modules of ``package``."""
    import inspect

    names = []
    for name in dir(cls):
        if name.startswith("_"):
            continue
        func = inspect.getattr_static(cls, name)
        func = getattr(func, "__func__", func)
        module = getattr(func, "__module__", "") or ""
        if inspect.isfunction(func) and module.startswith(package):
            names.append(name)
    return sorted(names)


def _api_classes():
    import inspect

    return [getattr(rbmlib, n) for n in rbmlib.__all__ if inspect.isclass(getattr(rbmlib, n))]


def _own_methods():
    """Per class of the API pages, the public methods that rbmlib defines."""
    import rbmlib.likelihood

    own = {}
    for cls in _api_classes() + [rbmlib.likelihood.PartitionEstimate]:
        names = _public_methods(cls, "rbmlib")
        own[f"{cls.__module__}.{cls.__qualname__}"] = names
        own[f"rbmlib.{cls.__qualname__}"] = names
    return own


def _inherited_methods():
    """Per class, the public methods it inherits from scikit-learn's base classes."""
    return {f"rbmlib.{cls.__qualname__}": _public_methods(cls, "sklearn")
            for cls in _api_classes() if not issubclass(cls, BaseException)}


autosummary_context = {"own_methods": _own_methods(), "inherited_methods": _inherited_methods()}


def _copy_mathjax(app):
    """Serve MathJax from the built site (the ``django-static-mathjax`` wheel's copy)."""
    import shutil

    try:
        import mathjax  # django-static-mathjax
    except ImportError:
        return
    src = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    dst = Path(app.outdir) / "_static" / "mathjax"
    if (dst / "tex-chtml.js").exists():
        return
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / "tex-chtml.js", dst / "tex-chtml.js")
    for sub in ("input", "output", "ui", "a11y", "adaptors"):
        if (src / sub).is_dir():
            shutil.copytree(src / sub, dst / sub, dirs_exist_ok=True)


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_member)
    # before numpydoc's own handler (priority 500) turns the sections into reST
    app.connect("autodoc-process-docstring", _escape_type_underscores, priority=100)
    app.connect("builder-inited", _copy_mathjax)
