"""How the gallery runs rbmlib's examples.

Every script in ``examples/`` is a command-line program that saves its figures
to ``--out`` and closes them.  The build runs each one with ``--quick --out
<folder>`` (``example_argv``) and shows the PNG files that a code block wrote
into that folder (``png_scraper``), in the order the block saved them.

Both are named in ``conf.py`` as strings ("gallery_scraper.example_argv"), so
that Sphinx can pickle the configuration.
"""

import shutil
from pathlib import Path

from sphinx_gallery.scrapers import figure_rst

# Figures already shown, per example: a block shows only what it added.
_SEEN = {}


def _out_dir(gallery_conf, src_file):
    return Path(gallery_conf["src_dir"]) / "_build" / "gallery_out" / Path(src_file).stem


def example_argv(gallery_conf, script_vars):
    """``sys.argv[1:]`` of an example run by the build: its quick setting."""
    out = _out_dir(gallery_conf, script_vars["src_file"])
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    _SEEN[out] = set()
    return ["--quick", "--out", str(out)]


def png_scraper(block, block_vars, gallery_conf):
    """Copy the PNG files that the block saved into ``--out`` to the gallery."""
    out = _out_dir(gallery_conf, block_vars["src_file"])
    seen = _SEEN.setdefault(out, set())
    if not out.is_dir():
        return ""
    # The order of saving, then the name (two files written in the same tick).
    new = sorted((p for p in out.rglob("*.png") if p not in seen),
                 key=lambda p: (p.stat().st_mtime_ns, p.name))
    if not new:
        return ""
    rst = []
    for png, target in zip(new, block_vars["image_path_iterator"]):
        shutil.copyfile(png, target)
        seen.add(png)
        # one figure per image, full width (a list of several would shrink them side by side)
        rst.append(figure_rst([target], gallery_conf["src_dir"], fig_titles=png.name))
    return "\n".join(rst)


# The order of the examples within their topic: the introductory one first.
_ORDER = [
    "rbm_digits_features.py", "gaussian_rbm_real_valued.py", "categorical_rbm_imputation.py",
    "dbn_semi_supervised.py", "dbn_generate_digits.py", "mnist_dbn_classifier.py",
]


class ExampleOrder:
    """``within_subsection_order`` of the gallery: ``_ORDER``, then by file name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        return (_ORDER.index(filename) if filename in _ORDER else len(_ORDER), filename)

    def __repr__(self):
        return "<ExampleOrder>"
