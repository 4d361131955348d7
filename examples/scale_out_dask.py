"""Scaling out with Dask: out-of-core DBN pretraining and a distributed grid search
================================================================================

1. Start a ``dask.distributed.LocalCluster`` of two worker processes with one
   thread each and ``--worker-memory`` of memory each (workers run with one
   BLAS thread, from distributed's defaults, and one Numba thread, from
   ``env``: two threads in all on two cores, no oversubscription).
2. Write a data set to a file on disk, larger than the memory given to the
   whole cluster: ``--rows`` 8x8 digits (scikit-learn's 1,797, each copy
   shifted by a random pixel offset and with a little noise), float32.
3. Build a dask array over the file, one delayed read per chunk (nothing is
   loaded until a chunk is needed), and pretrain a 64-128-64 ``DBN`` on it:
   each epoch of each layer streams the chunks, computed by the workers,
   through the layers already trained; no layer's representation of the
   whole data set is ever held, here or on a worker.
4. ``dbn.transform`` of the dask array is itself a lazy dask array; the
   workers compute the top-layer features chunk by chunk.
5. A small grid search over a ``Pipeline(DBN, LogisticRegression)`` on the
   real digits, with ``joblib.parallel_backend("dask")``, beside the same
   search on the local backend: same best parameters and scores.

Printed: the file and memory sizes, pretraining time, the accuracy of a
logistic regression on the DBN's features of the real digits, both searches.
Saved in ``--out``: ``scale_out_filters.png``, the first layer's filters.

Usage::

    pip install ".[dask,plot]"    # the dask extra (dask, distributed, dask-ml)
    python examples/scale_out_dask.py             # 7,000,000 rows: a 1.7 GiB file, ~5 min
    python examples/scale_out_dask.py --quick     # 100,000 rows, ~31 s

The documentation's build does not run this example: it starts a Dask
cluster and writes a data file of about a gigabyte. Run it with the command
above; ``--quick`` takes about half a minute.
"""

import argparse
import os
import sys
import tempfile
import time

try:  # the dask extra: not part of rbmlib's plain or [plot] install
    import dask
    import dask.array as da
    from distributed import Client, LocalCluster
except ImportError as exc:
    sys.exit(f"scale_out_dask.py needs dask and distributed, which are not installed here "
             f"({exc}).\nInstall rbmlib's dask extra (with plot, for the figure):\n"
             f'    pip install ".[dask,plot]"     # from the root of the repository\n'
             f'or  pip install "rbmlib[dask,plot]"')

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # files only, no windows

import joblib  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from rbmlib import DBN  # noqa: E402
from rbmlib.plotting import plot_filters  # noqa: E402


def write_digits_file(path, n_rows, seed=0, block=100_000):
    """``n_rows`` shifted, noisy 8x8 digits in [0, 1] as float32, written block by block."""
    X = load_digits().data.reshape(-1, 8, 8) / 16.0
    rng = np.random.RandomState(seed)
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=(n_rows, 64))
    for start in range(0, n_rows, block):
        n = min(block, n_rows - start)
        img = X[rng.randint(len(X), size=n)]
        dy, dx = rng.randint(-1, 2, size=2)  # one offset per block keeps this cheap
        img = np.roll(img, (dy, dx), axis=(1, 2))
        img = np.clip(img + rng.normal(0, 0.05, img.shape), 0, 1)
        mm[start:start + n] = img.reshape(n, 64)
    mm.flush()
    del mm


def _read_rows(path, n_rows, start, stop):
    """Rows ``start:stop`` of the file (runs on a worker)."""
    return np.array(np.memmap(path, dtype=np.float32, mode="r", shape=(n_rows, 64))[start:stop])


def dask_array_over_file(path, n_rows, chunk_rows):
    """A lazy (n_rows, 64) dask array: one delayed read of the file per chunk."""
    read = dask.delayed(_read_rows, pure=True)
    chunks = [da.from_delayed(read(path, n_rows, s, min(s + chunk_rows, n_rows)),
                              shape=(min(s + chunk_rows, n_rows) - s, 64), dtype=np.float32)
              for s in range(0, n_rows, chunk_rows)]
    return da.concatenate(chunks)


def grid_search(X, y, backend):
    pipe = Pipeline([("dbn", DBN((64,), n_iter=10, batch_size=10, learning_rate=0.05,
                                 random_state=0, n_jobs=1)),
                     ("clf", LogisticRegression(max_iter=1000))])
    grid = {"dbn__hidden_layer_sizes": [(32,), (64,)], "dbn__learning_rate": [0.02, 0.05]}
    search = GridSearchCV(pipe, grid, cv=3, n_jobs=-1)
    t0 = time.time()
    with joblib.parallel_backend(backend):
        search.fit(X, y)
    return search, time.time() - t0


# %%
# The experiment
# --------------
#
# ``main`` starts the cluster, writes the file, pretrains the DBN on the dask
# array over it, and runs the two grid searches.


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=7_000_000)
    p.add_argument("--chunk-rows", type=int, default=100_000)
    p.add_argument("--worker-memory", default="768MiB",
                   help="memory_limit of each worker (a worker with rbmlib loaded uses ~330 MiB)")
    p.add_argument("--epochs", type=int, default=1, help="pretraining epochs per layer")
    p.add_argument("--dir", default=None, help="folder of the data file (default: temp)")
    p.add_argument("--out", default="rbmlib_output")
    p.add_argument("--quick", action="store_true", help="100,000 rows")
    args = p.parse_args()
    if args.quick:
        args.rows, args.chunk_rows = 100_000, 20_000
    os.makedirs(args.out, exist_ok=True)

    # 1. the cluster: 2 worker processes x 1 thread; 1 BLAS and 1 Numba thread each
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           memory_limit=args.worker_memory, dashboard_address=":0",
                           env={"NUMBA_NUM_THREADS": "1"})
    client = Client(cluster)
    fd, path = tempfile.mkstemp(suffix=".f32", dir=args.dir)
    os.close(fd)
    try:
        # 2. the file
        t0 = time.time()
        write_digits_file(path, args.rows)
        size = os.path.getsize(path)
        limit = sum(w["memory_limit"] for w in client.scheduler_info()["workers"].values())
        print(f"data file: {args.rows:,} rows x 64 float32 = {size / 2**20:.0f} MiB "
              f"(written in {time.time() - t0:.1f} s); memory given to the cluster: "
              f"{limit / 2**20:.0f} MiB in 2 workers")

        # 3. out-of-core pretraining on a dask array over the file
        X = dask_array_over_file(path, args.rows, args.chunk_rows)
        dbn = DBN((128, 64), n_iter=args.epochs, batch_size=100, learning_rate=0.05,
                  random_state=0, n_jobs=1)
        t0 = time.time()
        dbn.fit(X)
        print(f"DBN 64-128-64 pretrained on {X.shape[0]:,} rows in {X.numblocks[0]} chunks, "
              f"{args.epochs} epoch(s) per layer: {time.time() - t0:.1f} s")

        # 4. lazy inference: a dask array of top-layer features, computed by the workers
        H = dbn.transform(X)
        print(f"dbn.transform(X): {type(H).__name__} of shape {H.shape}, chunks of "
              f"{H.chunks[0][0]} rows; mean top-layer activation {float(H.mean().compute()):.3f}")
        Xd, yd = load_digits(return_X_y=True)
        Xd = (Xd / 16.0).astype(np.float32)
        X_tr, X_te, y_tr, y_te = train_test_split(Xd, yd, test_size=0.3, random_state=0)
        clf = LogisticRegression(max_iter=2000).fit(dbn.transform(X_tr), y_tr)
        print(f"logistic regression on the DBN's features of the real digits: test accuracy "
              f"{clf.score(dbn.transform(X_te), y_te):.3f}")
        fig = plot_filters(dbn, path=os.path.join(args.out, "scale_out_filters.png"))
        print(f"saved {os.path.join(args.out, 'scale_out_filters.png')}")
        del fig

        # 5. a small grid search on the cluster, and the same on the local backend
        Xs, ys = (Xd[:600], yd[:600]) if args.quick else (Xd, yd)
        on_cluster, t_cluster = grid_search(Xs, ys, "dask")
        local, t_local = grid_search(Xs, ys, "loky")
        for name, s, t in (("dask", on_cluster, t_cluster), ("loky (local)", local, t_local)):
            print(f"GridSearchCV on {name:13s}: best {s.best_params_}, CV accuracy "
                  f"{s.best_score_:.4f}, {t:.1f} s")
        same = (on_cluster.best_params_ == local.best_params_ and np.array_equal(
            on_cluster.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]))
        print(f"same best parameters and scores on both backends: {same}")
    finally:
        client.close()
        cluster.close()
        os.unlink(path)


# %%
# Run it
# ------
#
# The documentation does not run it (the recorded figures are at the top);
# run it from the command line as its usage says.


if __name__ == "__main__":
    main()
