"""``import rbmlib`` and a fit on an install where Numba cannot cache anything.

A read-only install (site-packages in a container image) with no writable
``HOME`` and no usable ``NUMBA_CACHE_DIR`` used to fail at import with
``RuntimeError: cannot cache function 'mix64': no locator available``.

The tests run as root, for whom ``chmod a-w`` changes nothing, so the
read-only filesystem is simulated in a way root cannot write through either:
in the copied package every ``__pycache__`` is a regular *file* (so Numba's
in-tree locator cannot create its cache directory), and ``HOME``,
``XDG_CACHE_HOME`` and ``NUMBA_CACHE_DIR`` point below a regular file (so the
user-wide and user-provided locators fail too).
"""

import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import rbmlib

PACKAGE_DIR = Path(rbmlib.__file__).resolve().parent

_CHILD = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    import rbmlib
    from rbmlib._kernels import _jit
    from sklearn.datasets import load_digits

    assert os.path.dirname(rbmlib.__file__).startswith(sys.argv[1]), rbmlib.__file__
    print("cache_available", _jit.cache_available())
    X = (load_digits().data[:200] > 7).astype(np.float64)
    rbm = rbmlib.BernoulliRBM(n_components=8, n_iter=2, batch_size=20, random_state=0).fit(X)
    assert np.all(np.isfinite(rbm.components_))
    print("fit ok", rbm.transform(X[:3]).shape)
    """
)


def _read_only_copy(src, root):
    """Copy package ``src`` under ``root`` with no place Numba could cache in."""
    dst = root / "site" / src.name
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for d in [dst, *[p for p in dst.rglob("*") if p.is_dir()]]:
        (d / "__pycache__").write_text("not a directory\n")
    for p in [dst, *dst.rglob("*")]:
        mode = p.stat().st_mode
        p.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    return dst


def _restore_write(path):
    for p in [path, *path.rglob("*")]:
        p.chmod(p.stat().st_mode | stat.S_IWUSR)


def _run_without_cache(pkg_dir, tmp_path):
    blocker = tmp_path / "home-is-a-file"
    blocker.write_text("")
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("NUMBA_", "PYTHON", "XDG_"))
    }
    env.update(
        HOME=str(blocker),
        XDG_CACHE_HOME=str(blocker / "cache"),
        NUMBA_CACHE_DIR=str(blocker / "numba"),
        PYTHONPATH=str(pkg_dir.parent),
        PYTHONDONTWRITEBYTECODE="1",
    )
    return subprocess.run(
        [sys.executable, "-c", _CHILD, str(pkg_dir)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )


def test_import_and_fit_without_numba_cache(tmp_path):
    pkg = _read_only_copy(PACKAGE_DIR, tmp_path)
    try:
        proc = _run_without_cache(pkg, tmp_path)
    finally:
        _restore_write(pkg.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "cache_available False" in proc.stdout
    assert "fit ok (3, 8)" in proc.stdout
    # nothing was written anywhere in the package
    assert not [p for p in pkg.rglob("*") if p.suffix in (".nbi", ".nbc", ".pyc")]


def test_cache_available_in_writable_tree():
    from rbmlib._kernels import _jit

    # the source tree and the test environment are writable: the cache is used
    assert _jit.cache_available() is True
