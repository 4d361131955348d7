"""Every script in examples/ runs with --quick, prints its numbers and saves its figures.

Each example runs in its own interpreter (``sys.executable``) from a scratch
folder, with ``--quick --out <folder>``, the repository first on
``PYTHONPATH`` and one thread per library (the small quick settings gain
nothing from threads, and the test machine may be shared). The MNIST examples
skip when the MNIST files are absent.
"""

import functools
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((REPO / "examples").glob("*.py"))

# A guard against a hung script, not a speed requirement.
TIMEOUT = 300

def _has_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


needs_matplotlib = pytest.mark.skipif(
    not _has_matplotlib(),
    reason='the examples save figures and need matplotlib (pip install "rbmlib[plot]")')


@functools.lru_cache(maxsize=None)
def _mnist_missing():
    """Why the MNIST files cannot be read, or None when they can."""
    from rbmlib.datasets import load_mnist

    try:
        load_mnist(subset="test")
    except (FileNotFoundError, ValueError) as exc:
        return str(exc)
    return None


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["MPLBACKEND"] = "Agg"
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS"):
        env[var] = "1"
    return env


def test_examples_found():
    names = {p.stem for p in EXAMPLES}
    expected = {"rbm_digits_features", "dbn_semi_supervised", "mnist_dbn_classifier",
                "mnist_loglik_ais", "dbn_generate_digits", "gaussian_rbm_real_valued",
                "autoencoder_mnist_codes", "categorical_rbm_imputation"}
    assert expected <= names, f"missing examples: {sorted(expected - names)}"


@needs_matplotlib
@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_quick(script, tmp_path):
    if "mnist" in script.stem and _mnist_missing():
        pytest.skip(f"MNIST files not available: {_mnist_missing()}")
    source = script.read_text()
    has_out = re.search(r"""["']--out["']""", source) is not None
    out = tmp_path / "figures"
    cmd = [sys.executable, str(script), "--quick"]
    if has_out:
        cmd += ["--out", str(out)]
    proc = subprocess.run(cmd, cwd=tmp_path, env=_env(), capture_output=True, text=True,
                          timeout=TIMEOUT)
    log = f"\n--- stdout ---\n{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-3000:]}"
    assert proc.returncode == 0, f"{script.name} --quick exited with {proc.returncode}{log}"
    assert re.search(r"\d\.\d", proc.stdout), f"{script.name} printed no numbers{log}"
    if not has_out:
        pytest.skip(f"{script.name} ran, but has no --out option and saves no figures "
                    f"(the convention of examples/): figures not checked")
    figures = sorted(out.glob("*.png"))
    assert figures, f"{script.name} saved no figure in --out{log}"
    for fig in figures:
        assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{fig.name} is not a PNG"
    # every figure it says it saved is there, and nothing went to the default folder
    for line in proc.stdout.splitlines():
        if line.startswith("saved "):
            assert Path(line[len("saved "):].strip()).is_file(), line
    assert not (tmp_path / "rbmlib_output").exists(), "--out was not honoured"


def _load_example(name):
    """Import examples/<name>.py as a module (its main() is not run)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_example_{name}",
                                                  REPO / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scale_out_dask_without_dask_says_which_extra_to_install(tmp_path):
    """Under the README's [plot] install dask is absent: the example says what to
    install instead of ending in a ModuleNotFoundError traceback."""
    script = REPO / "examples" / "scale_out_dask.py"
    code = ("import runpy, sys\n"
            "sys.modules['dask'] = None  # as if dask were not installed\n"
            f"sys.argv = [{str(script)!r}, '--quick', '--out', {str(tmp_path)!r}]\n"
            f"runpy.run_path({str(script)!r}, run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert 'pip install ".[dask' in proc.stderr, proc.stderr
    assert "needs dask" in proc.stderr


@needs_matplotlib
def test_mnist_loglik_ais_prints_the_pseudo_log_likelihood_per_image(capsys):
    """history_'s pseudo-log-likelihood is summed over the pixels: nats per image,
    not "nats/pixel"; the per-pixel value printed beside it is that over the pixels."""
    from types import SimpleNamespace

    import numpy as np

    module = _load_example("mnist_loglik_ais")
    X = (np.random.RandomState(0).random_sample((60, 16)) < 0.3).astype(np.float64)
    rbm = module.fit_rbm(5, X, SimpleNamespace(epochs=2, seed=0, n_jobs=1), "tiny")
    out = capsys.readouterr().out
    assert "nats/pixel" not in out
    per_image = float(re.search(r"(-?\d+\.\d+) nats per image", out).group(1))
    per_pixel = float(re.search(r"(-?\d+\.\d+) nats per pixel", out).group(1))
    pll = rbm.history_[-1]["pseudo_log_likelihood"]
    assert per_image == pytest.approx(pll, abs=0.01)
    assert per_pixel == pytest.approx(pll / X.shape[1], abs=1e-4)


@needs_matplotlib
@pytest.mark.parametrize("dpi", [80, 100])
@pytest.mark.parametrize("label_counts", [[10], [3, 5, 10, 20, 50]], ids=["quick", "full"])
def test_semi_supervised_legend_hides_no_marker(label_counts, dpi):
    """The --quick figure has one x position, where the three markers sit one
    above the other; the legend must cover none of them (at the example's
    saving dpi, 80, the old in-axes legend covered the top one)."""
    import matplotlib.pyplot as plt
    import numpy as np

    module = _load_example("dbn_semi_supervised")
    base = np.linspace(0.89, 0.97, len(label_counts))[:, None]
    scores = {"DBN, pretrained on all images": base + 0.004,
              "same network, random init": base + 0.012,
              "logistic regression on pixels": base + 0.021}
    fig = module.plot_accuracy(label_counts, scores)
    try:
        fig.set_dpi(dpi)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        legend = ax.get_legend().get_window_extent(renderer)
        for line in ax.get_lines():
            if line.get_marker() in (None, "None", ""):
                continue  # error-bar caps and stems
            half = line.get_markersize() * fig.dpi / 72.0 / 2.0
            for x, y in ax.transData.transform(line.get_xydata()):
                hidden = (legend.x0 - half <= x <= legend.x1 + half
                          and legend.y0 - half <= y <= legend.y1 + half)
                assert not hidden, f"the legend covers a marker of {line.get_label()!r}"
    finally:
        plt.close(fig)


def _readme_examples_table():
    """The README's examples table: {script name: list of cells}."""
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Examples"):]
    section = section[:section.index("\n## ", 1)]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"\|\s*`(\w+)\.py`\s*\|", line)
        if m:
            rows[m.group(1)] = [c.strip() for c in line.strip().strip("|").split("|")]
    header = next(ln for ln in section.splitlines() if ln.startswith("| example"))
    return [c.strip() for c in header.strip().strip("|").split("|")], rows


def test_readme_examples_table_lists_every_example_with_its_extra():
    header, rows = _readme_examples_table()
    missing = sorted(p.stem for p in EXAMPLES if p.stem not in rows)
    assert not missing, f"examples missing from the README's table: {missing}"
    needs = header.index("needs")
    for name, cells in rows.items():
        assert "plot" in cells[needs], name  # every example saves figures
    assert "dask" in rows["scale_out_dask"][needs]


def test_quick_run_times_agree_between_readme_and_docstrings():
    """The --quick time of each example is stated once per place, and the same:
    the README's "quick run" column and the --quick usage line of the docstring."""
    header, rows = _readme_examples_table()
    quick = header.index("quick run")
    for script in EXAMPLES:
        usage = [ln for ln in script.read_text().split('"""')[1].splitlines()
                 if "--quick" in ln and ln.strip().startswith("python examples/")]
        assert len(usage) == 1, f"{script.name}: no single --quick usage line"
        stated = re.search(r"~\s*(\d+)\s*s\b", usage[0])
        assert stated, f"{script.name}: the --quick usage line states no time ({usage[0]!r})"
        readme = re.search(r"~\s*(\d+)\s*s\b", rows[script.stem][quick])
        assert readme and readme.group(1) == stated.group(1), (
            f"{script.name}: README says {rows[script.stem][quick]!r}, "
            f"the docstring {usage[0].strip()!r}")
