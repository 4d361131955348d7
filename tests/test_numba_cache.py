"""Numba's on-disk cache of the kernels is invalidated by an edit to any kernel module.

Numba's own cache checks only the source file of the function it caches; a
kernel that inlines a helper from another module (``cd.py`` calling
``units.py``, ``negative.py``, ``sampling.py``) would be loaded stale after an
edit to the helper's module (or an upgrade that changed only that module).
``rbmlib._kernels._jit.njit`` keys the cache on all the kernel modules.

The end-to-end test builds a tiny stand-in package in a temporary directory:
``stand/_kernels/`` holding a verbatim copy of ``rbmlib/_kernels/_jit.py``, a
helper module with an inlined constant and a kernel module that calls it,
exactly as the kernels of ``cd.py`` call ``units.py``.  Each step runs in a new
process (the cache only matters across processes) and reads Numba's own cache
statistics (``dispatcher.stats.cache_hits`` / ``cache_misses``).
"""

import importlib
import inspect
import os
import pkgutil
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from numba.core.dispatcher import Dispatcher

import rbmlib._kernels
from rbmlib._kernels import _jit

JIT_SOURCE = Path(_jit.__file__)

_HELPER = textwrap.dedent(
    """
    from ._jit import njit


    @njit(inline="always", cache=True)
    def value():
        return {value}
    """
)

_KERNEL = textwrap.dedent(
    """
    from ._jit import njit
    from .helper import value


    @njit(cache=True)
    def kernel(x):
        return x + value()
    """
)

_CHILD = textwrap.dedent(
    """
    from stand._kernels.kern import kernel

    out = kernel(1.0)
    st = kernel.stats
    print(out, sum(st.cache_hits.values()), sum(st.cache_misses.values()))
    """
)


def _stand_in_package(root, jit_source=JIT_SOURCE):
    """``root/stand/_kernels/`` with ``_jit.py`` copied from ``jit_source``."""
    kernels = root / "stand" / "_kernels"
    kernels.mkdir(parents=True)
    (root / "stand" / "__init__.py").write_text("")
    (kernels / "__init__.py").write_text("")
    shutil.copyfile(jit_source, kernels / "_jit.py")
    (kernels / "helper.py").write_text(_HELPER.format(value="10.0"))
    (kernels / "kern.py").write_text(_KERNEL)
    return kernels


def _run(root, cache_dir):
    """Call the kernel in a new process: (value, cache hits, cache misses)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_CACHE", "PYTHON"))}
    env.update(PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1")
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    proc = subprocess.run([sys.executable, "-c", _CHILD], cwd=root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out, hits, misses = proc.stdout.split()
    return float(out), int(hits), int(misses)


@pytest.mark.parametrize("where", ["NUMBA_CACHE_DIR", "__pycache__"])
def test_edit_to_an_inlined_helper_module_recompiles_the_kernel(tmp_path, where):
    root = tmp_path / "src"
    root.mkdir()
    cache_dir = tmp_path / "numba-cache" if where == "NUMBA_CACHE_DIR" else None
    kernels = _stand_in_package(root)
    assert _run(root, cache_dir) == (11.0, 0, 1)  # compiled and saved
    (kernels / "helper.py").write_text(_HELPER.format(value="20.0"))
    # only the helper's module changed, not the kernel's: the helper's new
    # constant is used (Numba's own cache would return 11.0 from the old code)
    assert _run(root, cache_dir) == (21.0, 0, 1)
    if where == "NUMBA_CACHE_DIR":
        # no change since the last process: loaded from the cache, not compiled
        assert _run(root, cache_dir) == (21.0, 1, 0)
    # the cache is where Numba puts it: NUMBA_CACHE_DIR when set, else __pycache__
    in_tree = list(kernels.rglob("*.nbi"))
    in_dir = list(cache_dir.rglob("*.nbi")) if cache_dir is not None else []
    assert (bool(in_dir), bool(in_tree)) == (cache_dir is not None, cache_dir is None)


def test_every_cached_kernel_uses_the_kernels_cache():
    # a kernel module that imported numba's njit directly would escape the key
    assert _jit.cache_available()
    n_kernels = 0
    for info in pkgutil.iter_modules(rbmlib._kernels.__path__):
        module = importlib.import_module(f"rbmlib._kernels.{info.name}")
        for name, obj in vars(module).items():
            if isinstance(obj, Dispatcher) and obj.py_func.__module__ == module.__name__:
                n_kernels += 1
                assert isinstance(obj._cache, _jit._KernelCache), (module.__name__, name)
                stamp = obj._cache._impl.locator.get_source_stamp()
                assert stamp[1] == _jit.kernels_digest() and len(stamp[1]) == 64
    assert n_kernels > 50


def test_explicit_signatures_with_cache_are_refused():
    def f(x):
        return x

    with pytest.raises(TypeError, match="signatures are not supported"):
        _jit.njit("float64(float64)", cache=True)(f)
    assert inspect.isfunction(_jit.njit(cache=False)(f).py_func)
