"""Timing loop shared by the per-part profiles (profile_cd.py, profile_mlp.py).

Every part is timed in a block of its own from the same start: ``reset()``
before every run, so that parts without a data term cannot drive the weights
away (RESULTS.md, issue 25, session 11), and a pause before every timed run,
so that OpenBLAS's spin-waiting workers do not carry over from one part into
the next.
"""

import time

import numpy as np


def time_parts(parts, reset, nb, repeats, pause, after_run=None, after_part=None):
    """Median seconds per mini-batch of each part.

    Parameters
    ----------
    parts : dict of str to callable
        ``fn(k)`` runs the part over ``k`` mini-batches (compiled loops).
    reset : callable
        Puts parameters, optimiser state and buffers back to the start.
    nb : int
        Mini-batches per timed run.
    repeats : int
        Timed runs per part.
    pause : float
        Seconds of sleep before each timed run.
    after_run : callable, optional
        ``after_run(name, i)`` after timed run ``i`` of part ``name``.
    after_part : callable, optional
        ``after_part(name, med)`` after the last timed run of part ``name``.

    Returns
    -------
    med : dict
        ``med[name]``, the median seconds per mini-batch, and
        ``med[name + " runs"]``, the list of the runs' seconds per mini-batch.
    """
    med = {}
    for name, fn in parts.items():
        reset()
        fn(2)  # compile (and warm the buffers)
        ts = []
        for i in range(repeats):
            reset()
            time.sleep(pause)
            t0 = time.perf_counter()
            fn(nb)
            ts.append((time.perf_counter() - t0) / nb)
            if after_run is not None:
                after_run(name, i)
        med[name] = float(np.median(ts))
        med[name + " runs"] = ts
        if after_part is not None:
            after_part(name, med)
    return med
