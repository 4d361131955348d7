"""Out-of-core training: peak memory of BernoulliRBM.fit on an MNIST numpy.memmap.

The 60,000 MNIST training images are written, block by block, as pixel/255
into a float32 file (188 MB) in a temporary folder; a fresh child process then
opens it read-only with ``numpy.memmap`` and runs ``fit`` (``--n-iter``
epochs) and one ``partial_fit`` pass over it. The child reports

* the peak of traced Python/NumPy allocations during fit and partial_fit
  (``tracemalloc``): a copy of the array would show up here in full;
* the peak anonymous resident memory (``RssAnon`` of ``/proc/self/status``,
  sampled every 20 ms) above the level before fit: the process's own heap,
  Numba's and BLAS's buffers included;
* the peak resident set (``VmHWM`` of ``/proc/self/status``; ``ru_maxrss`` of
  ``resource.getrusage`` is reported too but on Linux it keeps the parent's
  high-water mark across ``exec``), which also counts the page-cache pages of
  the file mapped in while reading it -- the kernel's to drop, not a copy;

each against the size of the array. Usage::

    NUMBA_NUM_THREADS=2 python benchmarks/bench_memmap.py --n-iter 1
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc

import numpy as np

MB = 2.0**20


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def write_memmap(path, block=5000):
    """MNIST train images as float32 pixel/255 in ``path``; returns the shape."""
    from rbmlib.datasets import load_mnist

    X, _ = load_mnist(subset="train")
    mm = np.memmap(path, dtype=np.float32, mode="w+", shape=X.shape)
    for start in range(0, X.shape[0], block):
        mm[start:start + block] = X[start:start + block] / np.float32(255)
    mm.flush()
    shape = X.shape
    del mm, X
    return shape


def child(path, shape, n_iter, n_components, batch_size):
    from rbmlib import BernoulliRBM

    mm = np.memmap(path, dtype=np.float32, mode="r", shape=tuple(shape))
    # compile the kernels outside the measurement
    BernoulliRBM(n_components=n_components, n_iter=1, batch_size=batch_size,
                 random_state=0).fit(np.array(mm[:200]))
    base_anon = _status_kb("RssAnon")
    base_hwm = _status_kb("VmHWM")
    peak = {"anon": base_anon}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak["anon"] = max(peak["anon"], _status_kb("RssAnon"))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    tracemalloc.start()
    t0 = time.time()
    rbm = BernoulliRBM(n_components=n_components, n_iter=n_iter, batch_size=batch_size,
                       random_state=0)
    rbm.fit(mm)
    t_fit = time.time() - t0
    rbm.partial_fit(mm)
    t_all = time.time() - t0
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    stop.set()
    sampler.join()
    peak["anon"] = max(peak["anon"], _status_kb("RssAnon"))
    return {
        "array_mb": mm.nbytes / MB,
        "shape": list(mm.shape),
        "traced_peak_mb": traced_peak / MB,
        "anon_rss_before_mb": base_anon / 1024,
        "anon_rss_peak_increase_mb": (peak["anon"] - base_anon) / 1024,
        "hwm_before_mb": base_hwm / 1024,
        "hwm_mb": _status_kb("VmHWM") / 1024,
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "fit_seconds": t_fit,
        "partial_fit_seconds": t_all - t_fit,
        "n_iter": n_iter,
        "n_components": n_components,
        "batch_size": batch_size,
        "finite": bool(np.all(np.isfinite(rbm.components_))),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-iter", type=int, default=1)
    parser.add_argument("--n-components", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--child", nargs=2, metavar=("PATH", "SHAPE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        shape = json.loads(args.child[1])
        res = child(args.child[0], shape, args.n_iter, args.n_components, args.batch_size)
        print(json.dumps(res))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "mnist_train_f32.dat")
        shape = write_memmap(path)
        out = subprocess.run(
            [sys.executable, __file__, "--n-iter", str(args.n_iter), "--n-components",
             str(args.n_components), "--batch-size", str(args.batch_size),
             "--child", path, json.dumps(list(shape))],
            check=True, capture_output=True, text=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    a = res["array_mb"]
    print(f"BernoulliRBM(n_components={res['n_components']}, batch_size={res['batch_size']}, "
          f"n_iter={res['n_iter']}) on a read-only float32 memmap of shape "
          f"{tuple(res['shape'])} ({a:.1f} MB)")
    print(f"fit {res['fit_seconds']:.1f} s, partial_fit {res['partial_fit_seconds']:.1f} s, "
          f"parameters finite: {res['finite']}")
    print(f"peak traced allocations (tracemalloc): {res['traced_peak_mb']:.2f} MB "
          f"= {res['traced_peak_mb'] / a:.1%} of the array")
    print(f"peak anonymous RSS above the level before fit: "
          f"{res['anon_rss_peak_increase_mb']:.1f} MB = "
          f"{res['anon_rss_peak_increase_mb'] / a:.1%} of the array "
          f"(level before fit {res['anon_rss_before_mb']:.0f} MB)")
    print(f"peak RSS (VmHWM, counts the file's page-cache pages mapped in): "
          f"{res['hwm_mb']:.0f} MB, before fit {res['hwm_before_mb']:.0f} MB "
          f"(ru_maxrss {res['maxrss_mb']:.0f} MB, inherited across exec)")


if __name__ == "__main__":
    main()
