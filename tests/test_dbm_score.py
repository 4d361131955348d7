"""DBM.score's AIS schedule, ais_n_betas="auto": 1,001 inverse temperatures doubled
while the effective sample size is below the level where AIS warns (10% of the
runs), at most to 8,001; the estimate that score used is log_partition()'s, with
its diagnostics. Checked against the exact log Z by enumeration."""

import numpy as np
import pytest

from rbmlib import DBM
from rbmlib._kernels import dbm as kd
from rbmlib.likelihood._estimate import _ess_threshold


def _bars(n=200, seed=0):
    rng = np.random.RandomState(seed)
    X = np.zeros((n, 16))
    for i in range(n):
        img = np.zeros((4, 4))
        on = rng.rand(4) < 0.5
        if rng.rand() < 0.5:
            img[on, :] = 1
        else:
            img[:, on] = 1
        X[i] = img.ravel()
    return X


_FIT = {"n_iter": 3, "n_iter_pretrain": 3, "n_chains": 20, "random_state": 0}


def test_auto_schedule_agrees_with_the_exact_log_partition():
    # 16 visible + 4 units in the even layers: 2**20 states to enumerate
    d = DBM((21, 4), ais_n_runs=50, **_FIT).fit(_bars())
    exact = kd.exact_log_z(d.coefs_, d.intercepts_)
    est = d.log_partition(method="ais")
    assert d.ais_n_betas == "auto"
    assert est.n_betas in (1001, 2001, 4001, 8001)
    assert est.n_betas == 1001 * 2 ** est.n_doublings - (2 ** est.n_doublings - 1)
    assert est.target_ess == pytest.approx(_ess_threshold(50))
    assert est.target_reached == (est.ess >= est.target_ess)
    assert abs(est.log_z - exact) <= 4 * est.log_z_std + 0.05


def test_score_uses_the_auto_schedule_once_and_log_partition_reports_it():
    # 24 units in each parity: score_samples takes AIS (no enumeration)
    d = DBM((24, 8), ais_n_runs=20, **_FIT).fit(_bars())
    X = _bars(20, seed=1)
    s = d.score(X)
    est = d.log_partition()
    assert est.method == "ais" and est.n_betas <= 8001
    assert est is d.log_partition()  # computed once, then reported as it is
    assert s == pytest.approx(np.mean(d._bound_unnormalised(X)) - est.log_z)
    # another schedule is another estimate (set_params does not reuse the old one)
    d.set_params(ais_n_betas=301)
    other = d.log_partition()
    assert other.n_betas == 301 and other.target_reached is None


def test_memmap_input_is_read_in_place_and_fits_as_the_array(tmp_path):
    """A float64 numpy.memmap goes to training without a copy (the same memory),
    and the DBM fitted on it is bit-identical to the one fitted on the array."""
    X = _bars(60)
    path = tmp_path / "bars.dat"
    m = np.memmap(path, dtype=np.float64, mode="w+", shape=X.shape)
    m[:] = X
    m.flush()
    r = np.memmap(path, dtype=np.float64, mode="r", shape=X.shape)
    a = DBM((6, 4), **_FIT).fit(X)
    b = DBM((6, 4), **_FIT)
    assert np.shares_memory(b._validate_X(r, reset=True), r)
    b.fit(r)
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(wa, wb)
