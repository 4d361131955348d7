"""Command line: ``python -m rbmlib demo`` runs the demo on scikit-learn's digits."""

import argparse
import os
import sys
import time


def _digits_split(random_state=0):
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = np.asarray(X, dtype=np.float64) / 16.0  # pixels 0..16 -> [0, 1]
    return train_test_split(X, y, test_size=0.2, random_state=random_state, stratify=y)


def _timed_fit(model, X, y):
    t0 = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - t0


def rbm_rows(X_train, X_test, y_train, y_test, n_components=100, n_iter=20,
             learning_rate=0.06, batch_size=10, seeds=(0, 1, 2)):
    """Rows (name, mean test accuracy, mean fit seconds) of the RBM-features comparison.

    Every RBM gets the same settings and the same seeds; accuracy and time are
    averaged over ``seeds`` because one seed's difference is within noise.
    rbmlib's BernoulliRBM runs twice: with its defaults (scikit-learn's
    algorithm: sampled visible units in the negative phase, zero initial
    visible biases) and with ``sample_visible=False`` (mean-field visible
    probabilities in the negative phase), which gives better features on
    these digits (benchmarks/RESULTS.md, section "sample_visible").

    Returns
    -------
    rows : list of (str, float, float)
        ``(model name, mean test accuracy, mean fit time in seconds)``.
    pipe : Pipeline
        The last fitted pipeline with rbmlib's default BernoulliRBM.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import BernoulliRBM as SkBernoulliRBM
    from sklearn.pipeline import Pipeline

    from rbmlib import BernoulliRBM

    def pipe(cls, seed):
        rbm = cls(n_components=n_components, n_iter=n_iter, learning_rate=learning_rate,
                  batch_size=batch_size, random_state=seed)
        return Pipeline([("rbm", rbm), ("logistic", LogisticRegression(C=100.0, max_iter=2000))])

    raw = LogisticRegression(C=1.0, max_iter=2000)
    seconds = _timed_fit(raw, X_train, y_train)
    rows = [("LogisticRegression on raw pixels", raw.score(X_test, y_test), seconds)]
    default = None

    def mean_field(**kw):
        return BernoulliRBM(sample_visible=False, **kw)

    for name, cls in (("sklearn BernoulliRBM + LogisticRegression", SkBernoulliRBM),
                      ("rbmlib BernoulliRBM + LogisticRegression", BernoulliRBM),
                      ("rbmlib BernoulliRBM(sample_visible=False) + LogisticRegression",
                       mean_field)):
        accs, secs = [], []
        for seed in seeds:
            last = pipe(cls, seed)
            secs.append(_timed_fit(last, X_train, y_train))
            accs.append(last.score(X_test, y_test))
            if cls is BernoulliRBM:
                default = last
        rows.append((name, float(sum(accs) / len(accs)), float(sum(secs) / len(secs))))
    return rows, default


def _print_table(title, rows):
    print(title)
    width = max([48] + [len(name) for name, _, _ in rows])
    print(f"  {'model':<{width}} {'test accuracy':>13} {'fit time (s)':>13}")
    for name, acc, sec in rows:
        print(f"  {name:<{width}} {acc:>13.4f} {sec:>13.2f}")
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


def demo(out_dir="rbmlib_output", quick=False):
    """Run the demo: RBM features (and DBNs when available) on digits."""
    X_train, X_test, y_train, y_test = _digits_split()
    print(f"Digits: {X_train.shape[0]} training and {X_test.shape[0]} test images "
          f"of {X_train.shape[1]} pixels, scaled to [0, 1].\n")
    n_iter = 3 if quick else 20
    n_components = 32 if quick else 100
    seeds = (0,) if quick else (0, 1, 2)
    rows, pipe = rbm_rows(X_train, X_test, y_train, y_test, n_iter=n_iter,
                          n_components=n_components, seeds=seeds)
    _print_table(f"RBM features ({n_iter} epochs, {n_components} hidden units, learning rate "
                 f"0.06, same settings for every RBM;\nmean over random_state in {list(seeds)}; "
                 f"the first rbmlib fit includes Numba compilation unless cached).\n"
                 f"rbmlib's defaults run scikit-learn's algorithm (rows reshuffled every epoch): "
                 f"the first two RBM rows\ndiffer by seed noise only; sample_visible=False "
                 f"(mean-field negative phase) gives better features here:", rows)
    try:
        from rbmlib._demo_dbn import run_dbn_demo
    except ImportError:
        run_dbn_demo = None
    if run_dbn_demo is not None:
        dbn_rows = run_dbn_demo(X_train, X_test, y_train, y_test, quick=quick, seeds=seeds)
        _print_table(f"Deep belief network vs a plain MLP of the same shape (mean over "
                     f"random_state in {list(seeds)}):", dbn_rows)
    os.makedirs(out_dir, exist_ok=True)
    path = _save_filters(pipe.named_steps["rbm"], os.path.join(out_dir, "rbm_filters.png"))
    if path:
        print(f"Saved the learned filters to {os.path.abspath(path)}")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m rbmlib")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="compare RBM/DBN features on the digits data")
    p_demo.add_argument("--out", default="rbmlib_output", help="folder for figures")
    p_demo.add_argument("--quick", action="store_true", help="fewer epochs (for tests)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(out_dir=args.out, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
