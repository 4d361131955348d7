"""rbmlib._fitting: the training shell (transaction, epoch loop) on a toy model that writes
only its epoch step and its state, as a new model (a DBM) would."""

import re

import numpy as np
import pytest

from rbmlib import _fitting
from rbmlib.exceptions import DivergenceError


class _State:
    def __init__(self, w, n_iter=0, history=None):
        self.w, self.n_iter, self.history = w, n_iter, [] if history is None else history

    def copy(self):
        return _State(self.w.copy(), self.n_iter, list(self.history))


class _Toy(_fitting.EpochTrainer):
    """Adds 1 to w per epoch; interrupts or diverges in a chosen epoch (0-based)."""

    def __init__(self, interrupt_at=None, diverge_at=None, random_state=None):
        self.interrupt_at, self.diverge_at, self.random_state = (interrupt_at, diverge_at,
                                                                 random_state)

    def _epoch_step(self, state, data, epoch):
        state.w += 1.0  # changed before the interrupt: the loop must roll it back
        if epoch == self.interrupt_at:
            raise KeyboardInterrupt
        return np.inf if epoch == self.diverge_at else float(state.w.sum())

    def _check_divergence(self, state, data, step):
        return None if np.isfinite(step) else "w became non-finite"

    def fit(self, n_epochs, **kw):
        with _fitting.transaction(self):
            self.random_state.rand()  # the fit advances the generator
            state, self.interrupted_ = self._run_epochs(_State(np.zeros(2)), None, n_epochs,
                                                       **kw)
            self.w_, self.history_ = state.w, state.history
        return self


def test_a_model_with_only_an_epoch_step_gets_history_and_verbose_lines(capsys):
    toy = _Toy(random_state=np.random.RandomState(0)).fit(3, verbose=True)
    assert toy.w_.tolist() == [3.0, 3.0] and not toy.interrupted_
    assert [r["epoch"] for r in toy.history_] == [1, 2, 3]
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert re.fullmatch(r"\[_Toy\] Iteration 1, time = \d+\.\d\ds, time left ~ \d+\.\ds",
                        lines[0])


def test_ctrl_c_keeps_the_completed_epochs():
    with pytest.warns(RuntimeWarning, match=r"after epoch 2 \(2 of 5 epochs completed\)"):
        toy = _Toy(interrupt_at=2, random_state=np.random.RandomState(0)).fit(5)
    assert toy.interrupted_ and toy.w_.tolist() == [2.0, 2.0] and len(toy.history_) == 2


def test_ctrl_c_in_the_first_epoch_or_a_divergence_leaves_the_model_as_it_was():
    rng = np.random.RandomState(0)
    for toy, exc in ((_Toy(interrupt_at=0, random_state=rng), KeyboardInterrupt),
                     (_Toy(diverge_at=1, random_state=rng), DivergenceError)):
        toy.w_ = "before"
        before = rng.get_state()[1].copy()
        with pytest.raises(exc):
            toy.fit(5)
        assert toy.w_ == "before" and not hasattr(toy, "history_")
        assert np.array_equal(rng.get_state()[1], before)  # the generator too


def test_without_keep_partial_ctrl_c_propagates():
    with pytest.raises(KeyboardInterrupt):
        _Toy(interrupt_at=2, random_state=np.random.RandomState(0)).fit(5, keep_partial=False)


def test_stopping_rule_stops_and_its_progress_rolls_back_with_the_state(capsys):
    class Rule(_fitting.StoppingRule):
        def __init__(self, interrupt=False):
            self.seen, self.interrupt = 0, interrupt

        def update(self, record, state):
            self.seen += 1
            if self.interrupt and record["epoch"] == 2:
                raise KeyboardInterrupt  # after its progress changed, before the commit
            return record["epoch"] == 2, "Stopping." if record["epoch"] == 2 else None

    rule = Rule()
    toy = _Toy(random_state=np.random.RandomState(0)).fit(5, stopping=rule, verbose=True)
    assert len(toy.history_) == 2 and rule.seen == 2
    assert capsys.readouterr().out.splitlines()[-1] == "[_Toy] Stopping."
    rule = Rule(interrupt=True)
    with pytest.warns(RuntimeWarning, match="after epoch 1"):
        toy = _Toy(random_state=np.random.RandomState(0)).fit(5, stopping=rule)
    assert rule.seen == 1 and len(toy.history_) == 1


def test_gap_rule_stops_after_n_epochs_of_growth():
    rule = _fitting.GapRule(2)
    stops = [rule.update({"free_energy_gap": g}, None)[0] for g in (1.0, 0.5, 0.7, 0.9)]
    assert stops == [False, False, False, True]
    assert rule.update({}, None) == (False, None)
