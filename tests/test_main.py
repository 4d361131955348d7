"""The demo (the main job) runs end to end on the embedded digits data."""

import numpy as np

from rbmlib.__main__ import main, rbm_rows, _digits_split


def test_demo_quick_runs_and_prints_table(tmp_path, capsys):
    assert main(["demo", "--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "rbmlib BernoulliRBM + LogisticRegression" in out
    assert "sklearn BernoulliRBM + LogisticRegression" in out


def test_demo_rows_are_sane():
    X_train, X_test, y_train, y_test = _digits_split()
    rows, pipe = rbm_rows(X_train, X_test, y_train, y_test, n_components=32, n_iter=3)
    assert [r[0].split()[0] for r in rows] == ["LogisticRegression", "sklearn", "rbmlib"]
    for _, acc, sec in rows:
        assert 0.5 < acc <= 1.0 and sec >= 0
    assert pipe.named_steps["rbm"].components_.shape == (32, 64)
