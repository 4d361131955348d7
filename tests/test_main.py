"""The demo (the main job) runs end to end on the embedded digits data."""

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
    rows = [ln for ln in out.splitlines() if "+ LogisticRegression" in ln]
    accuracies = [float(ln.split()[-2]) for ln in rows]
    assert len(accuracies) == 3 and min(accuracies) > 0.5
    assert (tmp_path / "rbm_filters.png").exists()
