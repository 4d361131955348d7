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
