"""Helpers shared by the workflow tests: a real SIGINT from a timer thread, and a small
labelled data set that no linear rule separates."""

import os
import signal
import threading
import time
import warnings

import numpy as np
import pytest


def sigint_after(delay):
    """A started timer thread sending this process a real SIGINT after ``delay`` s."""
    timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def run_with_sigint(delay, fn):
    """fn() with a real SIGINT after ``delay`` seconds: ('done', result, warnings) or
    ('raised', exc, warnings), the warnings as their messages. A signal arriving after
    fn returned fails the test."""
    timer = sigint_after(delay)
    try:
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            try:
                out = ("done", fn())
            except KeyboardInterrupt as exc:
                out = ("raised", exc)
            timer.join()
            time.sleep(0.05)  # let a late signal be delivered here, inside the guard
    except KeyboardInterrupt:  # pragma: no cover - the fit ended before the signal
        pytest.fail(f"the fit finished before the SIGINT after {delay} s")
    return out + ([str(w.message) for w in rec],)


def bars_labelled(n, seed=0):
    """``n`` 4x4 binary images of horizontal (label 1) or vertical (label 0) bars, at
    least one bar each: no linear rule separates the two classes."""
    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n)
    X = np.zeros((n, 16))
    for i in range(n):
        img = np.zeros((4, 4))
        on = rng.rand(4) < 0.5
        on[rng.randint(4)] = True
        if y[i]:
            img[on, :] = 1
        else:
            img[:, on] = 1
        X[i] = img.ravel()
    return X, y
