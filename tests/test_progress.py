"""Progress of long work (issue 21, item 6) and two probe findings (item 9).

* verbose=1 pretraining prints one line per epoch of each layer (DBN and the
  estimators built on it), with the metric, the time and the time left;
* AIS reports its progress, with results bit-identical to a silent run;
* AIS reports the effective sample size of its weights and warns when it is
  too small for the standard error to be trusted;
* a DivergenceError on data of a huge scale names the scale, not only the
  learning rate.
"""

import pickle
import re
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

from rbmlib import (DBN, BernoulliRBM, DBNAutoencoder, DBNClassifier, DivergenceError,
                    GaussianBernoulliRBM)
from rbmlib import _fitting
from rbmlib import likelihood as L
from rbmlib.mlp import fit_backprop, glorot_uniform

EPOCH_LINE = re.compile(
    r"^\[DBN\] Layer (\d)/(\d), Iteration (\d+)/(\d+), (pseudo-likelihood|-free energy) = "
    r"-?\d+\.\d\d, reconstruction error = \d+\.\d{4}, time = \d+\.\d\ds, "
    r"time left ~ \d+\.\ds \(layer\), ~ \d+\.\ds \(pretraining\)$")


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16.0, y[:300]


def _epoch_lines(out):
    return [ln for ln in out.splitlines() if ln.startswith("[DBN] Layer") and "Iteration" in ln]


# ------------------------------------------------------------------ pretraining
def test_dbn_verbose_prints_every_epoch_of_every_layer(digits, capsys):
    X, _ = digits
    dbn = DBN(hidden_layer_sizes=(16, 8), n_iter=(3, 2), verbose=1, random_state=0).fit(X)
    out = capsys.readouterr().out
    lines = _epoch_lines(out)
    assert [EPOCH_LINE.match(ln).groups()[:4] for ln in lines] == [
        ("1", "2", "1", "3"), ("1", "2", "2", "3"), ("1", "2", "3", "3"),
        ("2", "2", "1", "2"), ("2", "2", "2", "2")]
    # the layer's summary line is still printed when it ends, after its epochs
    summary = out.index("[DBN] Layer 1/2: 64 -> 16 units (BernoulliRBM)")
    assert out.index(lines[2]) < summary < out.index(lines[3])
    assert "[BernoulliRBM]" not in out  # one line per epoch, not the RBM's as well
    # the last epoch of the last layer leaves nothing to do
    assert lines[-1].endswith("time left ~ 0.0s (layer), ~ 0.0s (pretraining)")
    # the metric printed is the one the layer records in its history
    pll = dbn.rbms_[0].history_[0]["pseudo_log_likelihood"]
    assert f"pseudo-likelihood = {pll:.2f}," in lines[0]
    # nothing of the progress is left on the model
    assert all(rbm.verbose == 0 for rbm in dbn.rbms_)
    assert _fitting.pretraining_layer(dbn.rbms_[0]) is None
    pickle.loads(pickle.dumps(dbn))


def test_dbn_verbose_zero_is_silent(digits, capsys):
    X, _ = digits
    DBN(hidden_layer_sizes=(8,), n_iter=2, random_state=0).fit(X)
    assert capsys.readouterr().out == ""


def test_dbn_verbose_two_prints_one_line_per_epoch(digits, capsys):
    X, _ = digits
    DBN(hidden_layer_sizes=(8,), n_iter=2, verbose=2, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert len(_epoch_lines(out)) == 2 and "[BernoulliRBM] Iteration" not in out


def test_gaussian_first_layer_prints_its_metric(digits, capsys):
    X, _ = digits
    Xs = (X - X.mean(0)) / (X.std(0) + 1e-3)
    DBN(hidden_layer_sizes=(8,), first_layer="gaussian", n_iter=2, verbose=1,
        random_state=0).fit(Xs[:, X.std(0) > 0.05])
    lines = _epoch_lines(capsys.readouterr().out)
    assert len(lines) == 2 and all("-free energy = " in ln for ln in lines)
    assert all(EPOCH_LINE.match(ln) for ln in lines)


def test_classifier_and_autoencoder_show_pretraining_epochs(digits, capsys):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        DBNClassifier(hidden_layer_sizes=(8,), n_iter_pretrain=3, max_iter=2, verbose=1,
                      random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert len(_epoch_lines(out)) == 3
    assert "[DBNClassifier] Iteration 1, loss = " in out  # fine-tuning, after pretraining
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        DBNAutoencoder(hidden_layer_sizes=(8,), n_components=2, n_iter_pretrain=2,
                       max_iter=1, verbose=1, random_state=0).fit(X)
    lines = _epoch_lines(capsys.readouterr().out)
    assert len(lines) == 2 * 2  # two layers (8 and the code layer), two epochs each


def test_pretraining_time_left_counts_the_layers_to_come(monkeypatch):
    """The whole pretraining's time left: the measured rate per weight-epoch times
    the weight-epochs left (this layer's and those of the layers above)."""
    clock = iter([100.0, 102.0])  # start, then the line of the first epoch
    monkeypatch.setattr(_fitting.time, "time", lambda: next(clock))
    progress = _fitting.Pretraining("[DBN]", [4, 2], [10, 5])
    # layer 1: 20 visible x 10 hidden units, first epoch of 4 took 2 s
    line = progress.epoch_line(0, (10, 20), 0, 4, "m = 1", 2.0, 2.0)
    # rate 2 s / 200 weight-epochs; left: 3 x 200 (layer 1) + 2 x 50 (layer 2) = 700
    assert line == ("[DBN] Layer 1/2, Iteration 1/4, m = 1, time = 2.00s, time left ~ "
                    "6.0s (layer), ~ 7.0s (pretraining)")


# ------------------------------------------------------------------ AIS progress
@pytest.fixture(scope="module")
def small_rbm():
    X = (load_digits().data[:400] > 7).astype(np.float64)
    rbm = BernoulliRBM(n_components=12, n_iter=10, learning_rate=0.05, random_state=0).fit(X)
    return rbm, X


def test_ais_verbose_progress_is_bit_identical_to_silent(small_rbm, capsys):
    rbm, X = small_rbm
    betas = np.linspace(0, 1, 3001)  # 12 chunks of 256 temperatures
    quiet = L.ais(rbm, n_runs=20, betas=betas, base_rate=X, random_state=0)
    assert capsys.readouterr().out == ""
    loud = L.ais(rbm, n_runs=20, betas=betas, base_rate=X, random_state=0, verbose=1)
    out = capsys.readouterr().out.splitlines()
    np.testing.assert_array_equal(loud.log_weights, quiet.log_weights)
    assert loud.log_z == quiet.log_z and loud.ess == quiet.ess
    steps = [ln for ln in out if re.match(r"\[AIS\] \d+/3001 temperatures \(\d+%\), "
                                          r"elapsed = \d+\.\ds, time left ~ \d+\.\ds$", ln)]
    # every ~10% of the schedule (or 5 s), and the end
    assert 5 <= len(steps) <= 12 and steps[-1].startswith("[AIS] 3001/3001 temperatures (100%)")
    assert re.match(r"\[AIS\] log Z = .* effective sample size \d+\.\d of 20 runs", out[-1])
    # reverse AIS too
    betas = np.linspace(0, 1, 600)
    quiet = L.ais(rbm, n_runs=8, betas=betas, base_rate=X, reverse=True, n_burn_in=20,
                  random_state=1)
    loud = L.ais(rbm, n_runs=8, betas=betas, base_rate=X, reverse=True, n_burn_in=20,
                 random_state=1, verbose=True)
    assert "[reverse AIS] 600/600 temperatures (100%)" in capsys.readouterr().out
    np.testing.assert_array_equal(loud.log_weights, quiet.log_weights)


def test_estimator_log_partition_forwards_verbose(small_rbm, capsys):
    rbm, X = small_rbm
    kw = dict(n_runs=10, betas=np.linspace(0, 1, 300), base_rate=X, random_state=0)
    rbm.log_partition("ais", **kw)
    assert capsys.readouterr().out == ""
    rbm.log_partition("ais", verbose=1, **kw)
    assert "[AIS] 300/300 temperatures" in capsys.readouterr().out
    loud = BernoulliRBM(**{**rbm.get_params(), "verbose": 1})  # a verbose model reports it
    loud.__dict__.update({k: v for k, v in vars(rbm).items() if k.endswith("_")})
    loud.log_likelihood(X[:5], log_z="ais", **kw)
    assert "[AIS] 300/300 temperatures" in capsys.readouterr().out


def test_chunked_schedule_short_is_one_kernel_call(small_rbm):
    """A schedule of at most 257 temperatures is one chunk: the kernel's own result."""
    rbm, X = small_rbm
    assert L._ais_chunks(257) == [(0, 256)]
    assert L._ais_chunks(3001)[1] == (256, 512) and L._ais_chunks(3001)[-1][1] == 3000
    chunks = L._ais_chunks(14501)
    assert len(chunks) == 20 and all(b == c for (_, b), (c, _) in zip(chunks, chunks[1:]))


# ------------------------------------------------------------------ AIS ESS
def test_ess_is_kish_formula():
    est = L._summarise(np.log(np.array([1.0, 2.0, 3.0, 6.0])), 5.0, False, 10)
    assert est.ess == pytest.approx(12.0**2 / (1 + 4 + 9 + 36))
    assert L._summarise(np.zeros(7), 0.0, True, 3).ess == pytest.approx(7.0)
    assert np.isnan(L.log_partition_exact(_tiny_model()).ess)


def _tiny_model():
    """A 10 x 8 RBM with weights large enough that 2 temperatures are far too few."""
    rng = np.random.default_rng(4)
    W = 2.0 * rng.standard_normal((8, 10))
    return type("M", (), dict(components_=W, intercept_hidden_=rng.standard_normal(8),
                              intercept_visible_=rng.standard_normal(10)))()


def test_short_schedule_warns_with_its_ess_and_the_default_does_not():
    m = _tiny_model()
    exact = L.log_partition_exact(m).log_z
    with pytest.warns(RuntimeWarning) as record:
        short = L.ais(m, n_runs=100, betas=[0.0, 1.0], random_state=0)
    assert len(record) == 1  # one warning per call
    msg = str(record[0].message)
    assert short.ess < 10
    assert f"effective sample size of the importance weights is {short.ess:.1f} of 100 runs" \
        in msg
    assert "inverse temperatures" in msg and "n_runs" in msg
    # the probe's finding: the short run's interval misses the exact value (by 4.6 nats)
    assert short.log_z_upper < exact - 3
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        full = L.ais(m, n_runs=100, random_state=0)
    assert full.ess > 90
    assert full.log_z_lower <= exact <= full.log_z_upper


def test_low_ess_warns_through_log_likelihood_and_reverse_ais():
    m = _tiny_model()
    X = np.zeros((3, 10))
    with pytest.warns(RuntimeWarning, match="effective sample size"):
        L.log_likelihood(m, X, log_z="ais", n_runs=100, betas=[0.0, 1.0], random_state=0)
    with pytest.warns(RuntimeWarning, match="Reverse AIS: the effective sample size"):
        L.ais(m, n_runs=100, betas=[0.0, 1.0], reverse=True, n_burn_in=10, random_state=0)


# ------------------------------------------------------------------ divergence
@pytest.mark.parametrize("cls", [BernoulliRBM, DBN])
def test_divergence_on_huge_data_names_the_scale(cls):
    X = np.random.default_rng(0).random((100, 6)) * 1e30
    est = cls(n_iter=2, random_state=0)
    if cls is DBN:
        est.set_params(first_layer="bernoulli")  # the DivergenceError of its layer
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the out-of-range warning
        with pytest.raises(DivergenceError) as info:
            est.fit(X)
    msg = str(info.value)
    assert re.search(r"max \|X\| = [.\d]+e\+(29|30)", msg)
    assert "StandardScaler" in msg and "MinMaxScaler" in msg
    assert "learning_rate (currently 0.1)" in msg  # still named, after the data


def test_divergence_on_scaled_data_still_blames_the_learning_rate_only():
    X = (load_digits().data[:200] > 7).astype(np.float64)
    with pytest.raises(DivergenceError) as info:
        BernoulliRBM(n_components=8, learning_rate=1e7, n_iter=3, random_state=0).fit(X)
    assert "max |X|" not in str(info.value)
    assert "Reduce learning_rate (currently 10000000.0)" in str(info.value)


def test_gaussian_rbm_divergence_hint_kept_without_a_scale_problem():
    X = np.random.default_rng(0).standard_normal((200, 4))
    with pytest.raises(DivergenceError) as info:
        GaussianBernoulliRBM(n_components=4, learning_rate=1e8, n_iter=3,
                             random_state=0).fit(X)
    assert "max |X|" not in str(info.value) and "standardised features" in str(info.value)


def test_backprop_divergence_on_huge_data_names_the_scale():
    rng = np.random.RandomState(0)
    X = rng.rand(120, 6)
    Y = np.eye(2)[(X[:, 0] > 0.5).astype(int)]
    r2 = np.random.RandomState(1)
    coefs = [glorot_uniform(6, 8, r2, np.float64), glorot_uniform(8, 2, r2, np.float64)]
    kw = dict(out_activation="softmax", score=lambda Y, P: 0.0, solver="sgd",
              learning_rate_init=0.1, max_iter=3, activation="relu")
    with pytest.raises(DivergenceError) as info:
        fit_backprop(X * 1e30, Y, coefs, [np.zeros(8), np.zeros(2)],
                     rng=np.random.RandomState(0), **kw)
    msg = str(info.value)
    assert re.search(r"max \|X\| = [.\d]+e\+(29|30)", msg) and "StandardScaler" in msg
    assert "Otherwise, reduce learning_rate_init (currently 0.1)" in msg
    kw["learning_rate_init"] = 1e9  # scaled data: the learning rate alone
    with pytest.raises(DivergenceError) as info:
        fit_backprop(X, Y, coefs, [np.zeros(8), np.zeros(2)],
                     rng=np.random.RandomState(0), **kw)
    assert "max |X|" not in str(info.value) and "; reduce learning_rate_init" in str(info.value)
