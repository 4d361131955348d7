"""The demo (the main job) runs end to end on the embedded digits data."""

import subprocess
import sys
import time

import pytest

import rbmlib.__main__ as demo_module
from rbmlib.__main__ import main


def test_demo_quick_runs_and_prints_table(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "rbmlib BernoulliRBM + LogisticRegression" in out
    assert "sklearn BernoulliRBM + LogisticRegression" in out
    # the mean-field setting is shown by name, with the reason it is shown
    assert "rbmlib BernoulliRBM(sample_visible=False) + LogisticRegression" in out
    assert "rbmlib's defaults run scikit-learn's algorithm" in out
    assert "DBNClassifier" in out and "MLPClassifier" in out
    rows = [ln for ln in out.splitlines() if "+ LogisticRegression" in ln
            and not ln.lstrip().startswith("[")]
    # columns: test accuracy, RBM fit (s), LogReg fit (s)
    accuracies = [float(ln.split()[-3]) for ln in rows]
    assert len(accuracies) == 3 and min(accuracies) > 0.5
    assert (tmp_path / "rbm_filters.png").exists()


def test_demo_states_threads_compile_time_and_progress(tmp_path, capsys):
    main(["demo", "--quick", "--out", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    # the thread setting it runs under (one thread by default) and how to change it
    i = next(i for i, ln in enumerate(lines) if ln.startswith("Threads:"))
    threads = " ".join(lines[i:i + 2])
    assert "1 Numba" in threads and "1 BLAS" in threads and "--threads N" in threads
    # Numba's compile time on a line of its own, before any table
    compile_line = next(i for i, ln in enumerate(lines) if ln.startswith("Numba compile time:"))
    table = next(i for i, ln in enumerate(lines) if ln.strip().startswith("model"))
    assert compile_line < table
    assert "not counted in the fit times" in " ".join(lines[compile_line:compile_line + 2])
    # the RBM's fit and the downstream logistic regression's fit in separate columns
    header = lines[table]
    assert "RBM fit (s)" in header and "LogReg fit (s)" in header
    # a progress line before each fit, naming what is fitted now
    progress = [ln for ln in lines if ln.lstrip().startswith("[")]
    assert any("fitting rbmlib BernoulliRBM(sample_visible=False)" in ln for ln in progress)
    assert any("DBNClassifier" in ln for ln in progress)
    assert any("compiling" in ln for ln in progress)


def test_rbm_rows_time_the_rbm_apart_from_the_logistic_regression(monkeypatch):
    """No Pipeline is timed as a whole: each RBM's fit and each LogisticRegression's
    fit are timed by themselves, and the table reports them in their own columns."""
    timed = []

    def fake_timed_fit(model, X, y=None):
        model.fit(X, y)
        timed.append(type(model).__name__)
        return {"LogisticRegression": 1.0}.get(type(model).__name__, 2.0)

    monkeypatch.setattr(demo_module, "_timed_fit", fake_timed_fit)
    X_train, X_test, y_train, y_test = demo_module._digits_split()
    rows, rbm = demo_module.rbm_rows(X_train[:200], X_test[:50], y_train[:200], y_test[:50],
                                     n_components=8, n_iter=1, seeds=(0, 1))
    assert "Pipeline" not in timed
    assert timed.count("BernoulliRBM") == 6 and timed.count("LogisticRegression") == 7
    assert rows[0][2] is None and rows[0][3] == 1.0
    for name, _, rbm_seconds, lr_seconds in rows[1:]:
        assert (rbm_seconds, lr_seconds) == (2.0, 1.0), name
    assert hasattr(rbm, "components_")


@pytest.mark.parametrize("threads", [1, 2])
def test_thread_setting_is_reported_as_set(threads):
    import numba

    from rbmlib._parallel import thread_limits

    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("Numba has fewer threads")
    with thread_limits(threads):
        numba_threads, blas = demo_module.thread_setting()
        text = demo_module._describe_threads(threads)
    assert numba_threads == threads
    assert all(n == threads for _, n in blas)
    assert text.startswith(f"Threads: {threads} Numba")
    if threads == 1:
        assert "the default" in text
    else:
        assert f"--threads {threads}" in text


def test_threads_option_parsing():
    assert demo_module._threads_arg("3") == 3
    assert demo_module._threads_arg("-1") == -1
    assert demo_module._threads_arg("none") is None
    with pytest.raises(Exception, match="0 threads"):
        demo_module._threads_arg("0")
    with pytest.raises(SystemExit):
        main(["demo", "--threads", "0"])


def test_heartbeat_prints_while_a_long_step_runs():
    said = []
    with demo_module._Heartbeat(said.append, "still working", every=0.01):
        time.sleep(0.2)
    n = len(said)
    assert n >= 2 and set(said) == {"still working"}
    time.sleep(0.05)
    assert len(said) == n  # stopped when the block ended


def test_warm_up_compiles_every_kernel_the_timed_fits_use():
    """After the warm-up, the demo's timed fits compile nothing more (in a fresh
    interpreter, so kernels compiled by other tests do not hide a miss)."""
    script = r"""
import sys
import numba
import rbmlib._kernels as kernels
import pkgutil, importlib
import rbmlib.__main__ as d

def signatures():
    out = {}
    for info in pkgutil.iter_modules(kernels.__path__):
        mod = importlib.import_module(f"rbmlib._kernels.{info.name}")
        for name, obj in vars(mod).items():
            if isinstance(obj, numba.core.registry.CPUDispatcher):
                out[f"{info.name}.{name}"] = len(obj.signatures)
    return out

Xtr, Xte, ytr, yte = d._digits_split()
d._warm_up(Xtr[:200], ytr[:200])
before = signatures()
assert sum(before.values()) > 0
d.rbm_rows(Xtr, Xte, ytr, yte, n_components=16, n_iter=1, seeds=(0,))
d.dbn_rows(Xtr, Xte, ytr, yte, quick=True, seeds=(0,))
after = signatures()
new = sorted(k for k in after if after[k] != before.get(k, 0))
print("compiled after the warm-up:", new)
sys.exit(1 if new else 0)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
