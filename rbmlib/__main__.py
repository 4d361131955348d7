"""Command line: ``python -m rbmlib demo`` runs the demo on scikit-learn's digits.

The demo runs under a fixed thread setting (``--threads``, default one thread
for Numba and for BLAS, set with :func:`rbmlib._parallel.thread_limits`),
compiles rbmlib's Numba kernels in small warm-up fits before it times
anything and reports that time on its own line, times each model's own fit
(an RBM's fit apart from the logistic regression trained on its features),
and prints a progress line before every fit.
"""

import argparse
import os
import sys
import threading
import time
import warnings


def _digits_split(random_state=0):
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = np.asarray(X, dtype=np.float64) / 16.0  # pixels 0..16 -> [0, 1]
    return train_test_split(X, y, test_size=0.2, random_state=random_state, stratify=y)


def _timed_fit(model, X, y=None):
    """Fit ``model`` and return the wall time of its ``fit`` alone, in seconds."""
    t0 = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - t0


class _Progress:
    """Prints what the demo is doing now, after the seconds since it started."""

    def __init__(self, enabled=True):
        self.enabled = enabled
        self.t0 = time.perf_counter()

    def elapsed(self):
        return time.perf_counter() - self.t0

    def __call__(self, message):
        if self.enabled:
            print(f"  [{self.elapsed():5.1f} s] {message}", flush=True)


def _quiet(message):
    pass


def rbm_rows(X_train, X_test, y_train, y_test, n_components=100, n_iter=20,
             learning_rate=0.06, batch_size=10, seeds=(0, 1, 2), progress=None):
    """Rows of the RBM-features comparison, each model's fit timed alone.

    Every RBM gets the same settings and the same seeds; accuracy and times
    are averaged over ``seeds`` because one seed's difference is within noise.
    Each RBM is fitted on the training images, then a logistic regression on
    its hidden-unit probabilities (what ``Pipeline([("rbm", rbm), ("logistic",
    LogisticRegression())])`` does); the two fits are timed separately, so a
    slow logistic regression (many BLAS threads on a busy machine) does not
    show as a slow RBM. rbmlib's BernoulliRBM runs twice: with its defaults
    (scikit-learn's algorithm: sampled visible units in the negative phase,
    zero initial visible biases) and with ``sample_visible=False`` (mean-field
    visible probabilities in the negative phase), which gives better features
    on these digits (benchmarks/RESULTS.md, section "sample_visible").

    Parameters
    ----------
    X_train, X_test : ndarray of shape (n_samples, n_features)
        Pixels in [0, 1].
    y_train, y_test : ndarray of shape (n_samples,)
        Labels.
    n_components, n_iter, learning_rate, batch_size : int, int, float, int
        Settings of every RBM.
    seeds : sequence of int, default=(0, 1, 2)
        ``random_state`` of the RBMs.
    progress : callable or None, default=None
        Called with a line of text before each fit (None: silent).

    Returns
    -------
    rows : list of (str, float, float or None, float)
        ``(model name, mean test accuracy, mean RBM fit time in seconds or
        None for the raw-pixel row, mean LogisticRegression fit time in
        seconds)``.
    rbm : BernoulliRBM
        The last fitted rbmlib BernoulliRBM with its defaults.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import BernoulliRBM as SkBernoulliRBM

    from rbmlib import BernoulliRBM

    say = progress or _quiet

    def mean_field(**kw):
        return BernoulliRBM(sample_visible=False, **kw)

    say("fitting LogisticRegression on the raw pixels")
    raw = LogisticRegression(C=1.0, max_iter=2000)
    seconds = _timed_fit(raw, X_train, y_train)
    rows = [("LogisticRegression on raw pixels", float(raw.score(X_test, y_test)), None,
             seconds)]
    default = None
    for short, cls in (("sklearn BernoulliRBM", SkBernoulliRBM),
                       ("rbmlib BernoulliRBM", BernoulliRBM),
                       ("rbmlib BernoulliRBM(sample_visible=False)", mean_field)):
        accs, rbm_secs, lr_secs = [], [], []
        for seed in seeds:
            say(f"fitting {short} (random_state={seed}, {n_iter} epochs), "
                f"then LogisticRegression on its features")
            rbm = cls(n_components=n_components, n_iter=n_iter, learning_rate=learning_rate,
                      batch_size=batch_size, random_state=seed)
            rbm_secs.append(_timed_fit(rbm, X_train))
            logistic = LogisticRegression(C=100.0, max_iter=2000)
            lr_secs.append(_timed_fit(logistic, rbm.transform(X_train), y_train))
            accs.append(logistic.score(rbm.transform(X_test), y_test))
            if cls is BernoulliRBM:
                default = rbm
        rows.append((f"{short} + LogisticRegression", _mean(accs), _mean(rbm_secs),
                     _mean(lr_secs)))
    return rows, default


def _mean(values):
    values = list(values)
    return float(sum(values) / len(values))


def dbn_rows(X_train, X_test, y_train, y_test, quick=False, seeds=(0, 1, 2), progress=None):
    """Rows ``(model name, mean test accuracy, mean fit seconds)`` of the DBN comparison.

    Runs :func:`rbmlib._demo_dbn.run_dbn_demo` one seed at a time (so the
    demo can say what it is fitting) and averages over ``seeds``; each fit
    time is that model's own ``fit``. None when the DBN part is not available.
    """
    try:
        from rbmlib._demo_dbn import run_dbn_demo
    except ImportError:
        return None
    say = progress or _quiet
    per_seed = []
    for seed in seeds:
        say(f"fitting the pretrained DBNClassifier, the same network without pretraining "
            f"and MLPClassifier (random_state={seed})")
        with _Heartbeat(say, f"... still fitting the DBN rows (random_state={seed})"):
            per_seed.append(run_dbn_demo(X_train, X_test, y_train, y_test, quick=quick,
                                         seeds=(seed,)))
    names = [row[0] for row in per_seed[0]]
    return [(name, _mean(r[i][1] for r in per_seed), _mean(r[i][2] for r in per_seed))
            for i, name in enumerate(names)]


class _Heartbeat:
    """While the block runs, print a line every ``every`` seconds (from a thread).

    Numba's compilation of a cold cache takes tens of seconds in one call;
    this keeps the demo from running silent meanwhile.
    """

    def __init__(self, progress, message, every=5.0):
        self.progress, self.message, self.every = progress, message, every
        self._stop = threading.Event()
        self._thread = None

    def _run(self):
        while not self._stop.wait(self.every):
            self.progress(self.message)

    def __enter__(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        return False


def _warm_up(X, y, progress=None):
    """Compile rbmlib's Numba kernels (or load them from Numba's disk cache).

    Runs the demo's own rbmlib fits, with the same settings and dtype, on
    ``X``, ``y`` (a few hundred images) and tiny models, so that the timed
    fits afterwards measure training alone. Returns the wall time in seconds.
    """
    from rbmlib import BernoulliRBM

    say = progress or _quiet
    try:
        from rbmlib._demo_dbn import run_dbn_demo
    except ImportError:
        run_dbn_demo = None
    t0 = time.perf_counter()
    with warnings.catch_warnings(), _Heartbeat(say, "... still compiling"):
        warnings.simplefilter("ignore")  # tiny fits; nothing here is a result
        for sample_visible in (True, False):
            say(f"compiling BernoulliRBM(sample_visible={sample_visible})'s kernels")
            BernoulliRBM(n_components=8, n_iter=1, learning_rate=0.06, batch_size=10,
                         sample_visible=sample_visible, random_state=0).fit(X).transform(X)
        if run_dbn_demo is not None:
            say("compiling DBNClassifier's kernels (pretraining and fine-tuning)")
            # the demo's own network (its default hidden_layer_sizes): above
            # FUSED_MIN_PARAMS, so that on two or more threads the fused fine-tuning
            # epoch compiles here too
            run_dbn_demo(X, X, y, y, quick=True, seeds=(0,))
    return time.perf_counter() - t0


def thread_setting():
    """The number of Numba threads and of BLAS threads in effect now.

    Returns
    -------
    numba_threads : int
    blas_threads : list of (str, int)
        ``(library, threads)`` of each BLAS library loaded in the process.
    """
    import numba
    from threadpoolctl import threadpool_info

    blas = [(info.get("internal_api", "?"), info.get("num_threads"))
            for info in threadpool_info() if info.get("user_api") == "blas"]
    return numba.get_num_threads(), blas


def _describe_threads(requested):
    numba_threads, blas = thread_setting()
    counts = sorted({n for _, n in blas})
    libraries = ", ".join(api for api, _ in blas)
    blas_text = (f"{'/'.join(map(str, counts))} BLAS ({libraries})" if blas
                 else "no BLAS library found")
    if requested is None:
        how = "the libraries' own defaults (--threads none);\n--threads N sets a number"
    elif requested == 1:
        how = "the default, set with rbmlib's thread_limits;\n--threads N to change"
    else:
        how = f"--threads {requested}, set with rbmlib's thread_limits"
    return f"Threads: {numba_threads} Numba, {blas_text}: {how}"


def _print_table(title, header, rows):
    """Print ``rows`` (a name, then numbers or None) under ``header`` (column names)."""
    print(title)
    width = max([48] + [len(row[0]) for row in rows])
    cols = [max(13, len(h)) for h in header[1:]]
    print("  " + f"{header[0]:<{width}}" + "".join(f" {h:>{c}}" for h, c in zip(header[1:], cols)))
    for name, *values in rows:
        cells = []
        for i, (value, c) in enumerate(zip(values, cols)):
            text = "-" if value is None else (f"{value:.4f}" if i == 0 else f"{value:.2f}")
            cells.append(f" {text:>{c}}")
        print("  " + f"{name:<{width}}" + "".join(cells))
    print()


def _save_filters(rbm, path):
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed: no figure saved "
              "(pip install 'rbmlib[plot]' to get one).")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rbmlib.plotting import plot_filters

    fig = plot_filters(rbm, image_shape=(8, 8), path=path,
                       title="rbmlib BernoulliRBM filters on digits (components_)")
    plt.close(fig)
    return path


def demo(out_dir="rbmlib_output", quick=False, threads=1, progress=True):
    """Run the demo: RBM features and DBNs on the digits, each fit timed alone.

    Parameters
    ----------
    out_dir : str, default="rbmlib_output"
        Folder of the filters figure.
    quick : bool, default=False
        Fewer epochs, smaller models and one seed (for tests).
    threads : int or None, default=1
        Numba and BLAS threads for the whole demo (``-1``: all CPUs; None:
        the libraries' own defaults).
    progress : bool, default=True
        Print a line before each fit.

    Returns
    -------
    rows : list of (str, float, float or None, float)
        The RBM table's rows (see :func:`rbm_rows`).
    """
    from rbmlib._parallel import thread_limits

    say = _Progress(progress)
    X_train, X_test, y_train, y_test = _digits_split()
    print(f"Digits: {X_train.shape[0]} training and {X_test.shape[0]} test images "
          f"of {X_train.shape[1]} pixels, scaled to [0, 1].", flush=True)
    n_iter = 3 if quick else 20
    n_components = 32 if quick else 100
    seeds = (0,) if quick else (0, 1, 2)
    with thread_limits(threads):
        print(_describe_threads(threads), flush=True)
        say("warming up: compiling rbmlib's Numba kernels (or loading them from Numba's "
            "disk cache) in small fits on 200 images")
        compile_seconds = _warm_up(X_train[:200], y_train[:200], progress=say)
        print(f"Numba compile time: {compile_seconds:.1f} s (warm-up fits that compile rbmlib's "
              f"kernels or load them from\nNumba's disk cache; not counted in the fit times "
              f"below)\n", flush=True)
        rows, rbm = rbm_rows(X_train, X_test, y_train, y_test, n_iter=n_iter,
                             n_components=n_components, seeds=seeds, progress=say)
        print()
        _print_table(
            f"RBM features ({n_iter} epochs, {n_components} hidden units, learning rate 0.06, "
            f"same settings for every RBM;\nmean over random_state in {list(seeds)}); each fit "
            f"timed alone: the RBM's, then the LogisticRegression's\non its features. "
            f"rbmlib's defaults run scikit-learn's algorithm (rows reshuffled every epoch):\n"
            f"the first two RBM rows differ by seed noise only; sample_visible=False "
            f"(mean-field negative phase)\ngives better features here:",
            ("model", "test accuracy", "RBM fit (s)", "LogReg fit (s)"), rows)
        dbn = dbn_rows(X_train, X_test, y_train, y_test, quick=quick, seeds=seeds,
                       progress=say)
        if dbn is not None:
            print()
            _print_table(f"Deep belief network vs a plain MLP of the same shape (mean over "
                         f"random_state in {list(seeds)};\neach model's fit timed alone):",
                         ("model", "test accuracy", "fit time (s)"), dbn)
    os.makedirs(out_dir, exist_ok=True)
    path = _save_filters(rbm, os.path.join(out_dir, "rbm_filters.png"))
    if path:
        print(f"Saved the learned filters to {os.path.abspath(path)}")
    print(f"Done in {say.elapsed():.0f} s.")
    return rows


def _threads_arg(text):
    if text.lower() in ("none", "default"):
        return None
    value = int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(
            "0 threads has no meaning; give a positive number, -1 (all CPUs) or 'none'")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m rbmlib")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="compare RBM/DBN features on the digits data")
    p_demo.add_argument("--out", default="rbmlib_output", help="folder for figures")
    p_demo.add_argument("--quick", action="store_true", help="fewer epochs (for tests)")
    p_demo.add_argument("--threads", type=_threads_arg, default=1,
                        help="Numba and BLAS threads for every fit (default 1; -1: all CPUs; "
                             "'none': the libraries' own defaults)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(out_dir=args.out, quick=args.quick, threads=args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
