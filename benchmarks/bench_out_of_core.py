"""Out-of-core DBN pretraining: a 784-500-500 DBN on millions of rows read from disk.

The data set is MNIST's 60,000 training images, each output row a randomly
chosen image shifted by a fresh random offset of -2..2 pixels in each
direction (zero fill), written block by block as float32 pixel/255 to a file
(``--rows`` x 784 x 4 bytes: 3.1 GB for 1,000,000 rows) under ``--dir``
(default: the system's temporary folder); the file is deleted at the end
unless ``--keep``.

Two fresh child processes then train the same DBN (CD-1, batch 100, float32,
``--epochs`` epochs per layer, ``n_jobs=--n-jobs``):

* out of core: ``DBN(..., block_size=--block-rows).fit(numpy.memmap(file))``;
  each layer's epoch streams the blocks from the file through the trained
  layers below, so neither the data nor any layer's representation of it is
  ever held whole;
* in memory: ``DBN(...).fit(X)`` on the 60,000 unshifted images held as an
  ndarray (the ordinary path, which keeps each layer's representation).

Each child samples its anonymous resident memory (``RssAnon`` of
``/proc/self/status``: the process's own heap, not the file's page-cache
pages, which the kernel can drop) every 20 ms and reports the peak, and the
pretraining time per epoch (all layers). The out-of-core time per epoch is
compared with the in-memory time scaled by rows (``x rows / 60,000``).
Usage::

    NUMBA_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/bench_out_of_core.py --rows 1000000
    python benchmarks/bench_out_of_core.py --rows 200000 --epochs 1   # a reduced run
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

MB = 2.0**20
N_FEATURES = 784


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _shifted(images, rng):
    """Each 28x28 image moved by its own random offset in -2..2 (zero fill)."""
    n = images.shape[0]
    out = np.zeros_like(images)
    dx, dy = rng.randint(-2, 3, size=(2, n))
    for sx in range(-2, 3):
        for sy in range(-2, 3):
            sel = np.flatnonzero((dx == sx) & (dy == sy))
            if sel.size == 0:
                continue
            src = images[sel]
            ys, ye = max(0, sy), 28 + min(0, sy)
            xs, xe = max(0, sx), 28 + min(0, sx)
            out[sel, ys:ye, xs:xe] = src[:, ys - sy:ye - sy, xs - sx:xe - sx]
    return out


def write_data(path, n_rows, seed=0, block=20000):
    """``n_rows`` shifted MNIST images as float32 pixel/255 in ``path``, block by block."""
    from rbmlib.datasets import load_mnist

    X, _ = load_mnist(subset="train")
    images = (X.reshape(-1, 28, 28) / np.float32(255)).astype(np.float32)
    del X
    rng = np.random.RandomState(seed)
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=(n_rows, N_FEATURES))
    for start in range(0, n_rows, block):
        stop = min(start + block, n_rows)
        idx = rng.randint(images.shape[0], size=stop - start)
        mm[start:stop] = _shifted(images[idx], rng).reshape(stop - start, N_FEATURES)
    mm.flush()
    del mm


class _PeakSampler:
    """Peak of a /proc/self/status field, sampled every 20 ms in a thread."""

    def __init__(self, field="RssAnon"):
        self.field = field
        self.peak = _status_kb(field)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _status_kb(self.field))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _status_kb(self.field))


def child(args):
    """Train in this (fresh) process; print a JSON line of measurements."""
    from rbmlib import DBN

    hidden = tuple(args.hidden)
    kw = dict(n_iter=args.epochs, batch_size=100, learning_rate=0.05, momentum=0.5,
              persistent=False, random_state=0, n_jobs=args.n_jobs, verbose=args.verbose)
    if args.mode == "out-of-core":
        X = np.memmap(args.path, dtype=np.float32, mode="r", shape=(args.rows, N_FEATURES))
        dbn = DBN(hidden, block_size=args.block_rows, **kw)
    else:
        from rbmlib.datasets import load_mnist

        X, _ = load_mnist(subset="train")
        X = (X / np.float32(255)).astype(np.float32)
        dbn = DBN(hidden, **kw)
    # compile the kernels outside the measurement
    DBN(hidden[:1], n_iter=1, batch_size=100, random_state=0).fit(np.asarray(X[:200]))
    base = _status_kb("RssAnon")
    with _PeakSampler("RssAnon") as rss:
        t0 = time.perf_counter()
        dbn.fit(X)
        seconds = time.perf_counter() - t0
    H = dbn.transform(np.asarray(X[:1000]))
    print(json.dumps({
        "mode": args.mode, "rows": int(X.shape[0]), "seconds": seconds,
        "seconds_per_epoch": seconds / args.epochs,
        "rss_anon_before_mb": base / 1024, "rss_anon_peak_mb": rss.peak / 1024,
        "vm_hwm_mb": _status_kb("VmHWM") / 1024, "data_mb": X.nbytes / MB,
        "top_mean": float(H.mean()),
    }))


def _run_child(args, mode):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", mode, "--path", args.path,
           "--rows", str(args.rows), "--epochs", str(args.epochs), "--block-rows",
           str(args.block_rows), "--n-jobs", str(args.n_jobs), "--verbose", str(args.verbose),
           "--hidden", *map(str, args.hidden)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    if args.verbose:
        sys.stderr.write(out.stdout)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--epochs", type=int, default=1, help="CD epochs per layer")
    p.add_argument("--hidden", type=int, nargs="+", default=[500, 500])
    p.add_argument("--block-rows", type=int, default=10_000)
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--dir", default=None, help="folder of the data file (default: temp)")
    p.add_argument("--keep", action="store_true", help="keep the data file")
    p.add_argument("--skip-in-memory", action="store_true")
    p.add_argument("--verbose", type=int, default=0)
    p.add_argument("--child", choices=["out-of-core", "in-memory"], help=argparse.SUPPRESS)
    p.add_argument("--path", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        args.mode = args.child
        return child(args)

    fd, args.path = tempfile.mkstemp(suffix=".f32", dir=args.dir)
    os.close(fd)
    try:
        t0 = time.perf_counter()
        write_data(args.path, args.rows)
        t_write = time.perf_counter() - t0
        size = os.path.getsize(args.path) / 2**30
        print(f"# bench_out_of_core: DBN 784-{'-'.join(map(str, args.hidden))}, CD-1, batch 100, "
              f"float32, {args.epochs} epoch(s) per layer, n_jobs={args.n_jobs}, blocks of "
              f"{args.block_rows} rows; python {sys.version.split()[0]}, numpy {np.__version__}, "
              f"{os.cpu_count()} CPUs")
        print(f"data: {args.rows} shifted MNIST rows, {size:.2f} GiB float32 on disk, "
              f"written in {t_write:.1f} s")
        results = [_run_child(args, "out-of-core")]
        if not args.skip_in_memory:
            results.append(_run_child(args, "in-memory"))
    finally:
        if not args.keep:
            os.unlink(args.path)
    print()
    print("| run | rows | data (MB) | s per epoch (all layers) | s per epoch per 60,000 rows "
          "| peak RssAnon (MB) | RssAnon before fit (MB) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        per60k = r["seconds_per_epoch"] * 60000 / r["rows"]
        print(f"| {r['mode']} | {r['rows']:,} | {r['data_mb']:.0f} | {r['seconds_per_epoch']:.1f} "
              f"| {per60k:.2f} | {r['rss_anon_peak_mb']:.0f} | {r['rss_anon_before_mb']:.0f} |")
    if len(results) == 2:
        ooc, mem = results
        scaled = mem["seconds_per_epoch"] * ooc["rows"] / mem["rows"]
        print(f"\nout-of-core epoch / in-memory epoch scaled by rows ({mem['seconds_per_epoch']:.1f} s "
              f"x {ooc['rows']:,} / {mem['rows']:,} = {scaled:.1f} s): "
              f"{ooc['seconds_per_epoch'] / scaled:.2f}")
    return results


if __name__ == "__main__":
    main()
