"""Per-mini-batch profile of rbmlib's CD-1 epoch: where one update's time goes, by thread count.

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python benchmarks/profile_cd.py [--data ../shared/data/mnist] [--n-samples 20000]
                                        [--hidden 500] [--batch-sizes 100,10]
                                        [--threads 1,2] [--repeats 5] [--pause 0.3]
                                        [--dtype float32]

(``env -u`` lets OpenBLAS pick its kernels for this CPU, as on a user's
machine. For two threads leave ``NUMBA_NUM_THREADS`` unset or >= 2; thread
counts above it are skipped with a note.) MNIST comes from
:func:`rbmlib.datasets.load_mnist` (``--data``, else ``RBMLIB_MNIST``, else
``../shared/data/mnist``); nothing is downloaded.

The update profiled is the default of :class:`rbmlib.BernoulliRBM` and of
``benchmarks/bench_rbm.py``: persistent CD-1 with sampled visible states,
Bernoulli units, momentum 0, no weight decay or sparsity, learning rate 0.01,
run as :func:`rbmlib._kernels.cd.cd_epoch` runs it: fused
(``cd._fused_pcd1_update``) in two Numba parallel regions of one block of
columns per thread, each product of a block a single-threaded BLAS call:

* **region 1** (``cd._fused_visible``), per block of visible units: ``pre_v =
  h W`` (``m x H`` by ``H x V_p``), ``v_k`` sampled, the visible biases' step;
* **region 2** (``cd._fused_hidden``), per block of hidden units: ``[v0; v_k]
  W_p^T`` (``2m`` rows), ``ph0``, ``ph_k`` and the chain's new states, the
  hidden biases' step, the gradient rows ``[ph0; -ph_k]_p^T [v0; v_k]`` (momentum
  in BLAS's ``beta``) and ``W_p += vel_W_p``.

Each row of the table is measured per mini-batch over the epoch's
``n // batch`` mini-batches in ONE compiled loop per part (no Python call is
timed; every product runs in the BLAS the kernels use, SciPy's OpenBLAS
through Numba):

* **5-GEMM floor** -- ``bench_rbm._numba_gemms``' ``floor5``: the five products
  a CD-1 update needs when unstacked, nothing else, on OpenBLAS's own threads
  (as many as the row's thread count): the figure issue 25's targets are
  multiples of;
* **whole** -- the real :func:`rbmlib._kernels.cd.cd_epoch` over the epoch
  (gather included), the kernel ``BernoulliRBM.fit`` runs (its per-epoch
  validation and monitoring excluded);
* **unfused** -- for reference, the same epoch through the unfused update
  (:func:`rbmlib._kernels.cd.cd_update`: three whole products on OpenBLAS's
  threads, the elementwise passes threaded by rows in Numba's pool);
* **region 1**, **region 2** -- each region alone, called as the fused update
  calls it, ``n // batch`` times;
* **block GEMMs** -- the same two regions with only their BLAS calls (the
  three products of each block, nothing else);
* **elementwise** -- region 1 + region 2 - block GEMMs: the sampling, the
  bias and weight steps and the chain's states, done on the blocks;
* **gather** -- the copy of the mini-batch's rows into ``Vcat``
  (``cd.gather_dense``), serial as in the kernel;
* **fork-joins** (for reference, inside the regions' times) -- two empty
  ``prange`` regions per mini-batch: the bare cost of the hand-offs to Numba's
  pool;
* **remainder** -- whole - (region 1 + region 2 + gather).

Every part runs in a block of its own: the parameters, velocities and chains
are reset to the same start before each timed run (the parts do not learn
from data, so run after one another they would drive the weights apart:
round after round the old alternating harness timed the update on weights of
size 10^4, with saturated sigmoids), and each timed run is preceded by a
pause of ``--pause`` seconds, so that OpenBLAS's workers, which spin-wait
for a while after a threaded product, do not leak from one part into the
next. The medians of ``--repeats`` timed runs are printed, in milliseconds
per mini-batch and as a share of ``whole``. threadpoolctl's view of the BLAS
libraries and Numba's threading layer are printed first. On a shared machine,
run one thread count at a time and read the figures as such.
"""

import argparse
import os
import platform
import sys
from pathlib import Path

import numpy as np

# the floor and the data, reused from bench_rbm.py (not copied)
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rbm import _LR, _numba_gemms, load_X
from _timing import time_parts


def _loops():
    """The compiled loops of the parts (each over ``nb`` mini-batches)."""
    import numba
    from numba import prange

    from rbmlib._kernels import cd as K
    from rbmlib._kernels.blas import gemm

    @numba.njit
    def fused(nb, blocks, X, order, m, settings, seed, params, velocities, chains, scratch,
              hyper):
        # cd_epoch's loop with the fused update on ``blocks`` blocks (1 on one thread)
        before = K.blas_threads()
        K.set_blas_threads(1)
        for t in range(nb):
            K.gather_dense(X, order, t * m, (t + 1) * m, scratch[0])
            K._fused_pcd1_update(m, blocks, settings, seed, t, params, velocities, chains,
                                 scratch, hyper)
        K.set_blas_threads(before)

    @numba.njit
    def unfused(nb, X, order, m, settings, seed, params, offsets, velocities, chains, scratch,
                hyper):
        for t in range(nb):
            K.gather_dense(X, order, t * m, (t + 1) * m, scratch[0])
            K.cd_update(m, settings, seed, t, params, offsets, velocities, chains, scratch,
                        hyper)

    @numba.njit
    def region1(nb, blocks, m, hchain, W, b, sigma, vel_b, Vcat, pre_v, vm, key, lr):
        before = K.blas_threads()
        K.set_blas_threads(1)
        for _ in range(nb):
            K._fused_visible(blocks, m, hchain, W, b, sigma, vel_b, Vcat, pre_v, vm, key,
                             False, 0, lr, 0.0, False)
        K.set_blas_threads(before)

    @numba.njit
    def region2(nb, blocks, m, W, c, vel_W, vel_c, sq, hchain, Vcat, Hcat, vm, key, lr):
        before = K.blas_threads()
        K.set_blas_threads(1)
        for _ in range(nb):
            K._fused_hidden(blocks, m, W, c, vel_W, vel_c, sq, hchain, Vcat, Hcat, vm, key, 0,
                            lr, 0.0, 0.0, 0.1, 0.0, 0.9)
        K.set_blas_threads(before)

    @numba.njit(parallel=True)
    def _gemms1(blocks, m, hchain, W, pre_v):
        V = W.shape[1]
        for p in prange(blocks):
            i0, i1 = K._block(V, blocks, p)
            if i1 > i0:
                gemm(False, False, 1.0, hchain[:m], W[:, i0:i1], 0.0, pre_v[:m, i0:i1])

    @numba.njit(parallel=True)
    def _gemms2(blocks, m, W, vel_W, Vcat, Hcat, alpha):
        H = W.shape[0]
        for p in prange(blocks):
            j0, j1 = K._block(H, blocks, p)
            if j1 > j0:
                gemm(False, True, 1.0, Vcat[:2 * m], W[j0:j1], 0.0, Hcat[:2 * m, j0:j1])
                gemm(True, False, alpha, Hcat[:2 * m, j0:j1], Vcat[:2 * m], 0.0, vel_W[j0:j1])

    @numba.njit
    def block_gemms(nb, blocks, m, hchain, W, vel_W, Vcat, Hcat, pre_v, alpha):
        before = K.blas_threads()
        K.set_blas_threads(1)
        for _ in range(nb):
            _gemms1(blocks, m, hchain, W, pre_v)
            _gemms2(blocks, m, W, vel_W, Vcat, Hcat, alpha)
        K.set_blas_threads(before)

    @numba.njit
    def gather(nb, X, order, Vcat, m):
        for t in range(nb):
            K.gather_dense(X, order, t * m, (t + 1) * m, Vcat)

    @numba.njit(parallel=True)
    def _empty_region(out):
        for i in prange(out.shape[0]):
            out[i] += 0.0

    @numba.njit
    def fork_joins(nb, out):
        for _ in range(nb):
            _empty_region(out)
            _empty_region(out)

    return {"fused": fused, "unfused": unfused, "region1": region1, "region2": region2,
            "block_gemms": block_gemms, "gather": gather, "fork_joins": fork_joins}


def profile(X, H, B, repeats, pause):
    """Seconds per mini-batch of each part (medians of ``repeats`` timed runs), each
    part in a block of its own from the same start, a pause before every run."""
    from rbmlib._kernels import cd as K
    from rbmlib._kernels.negative import PCD
    from rbmlib._kernels.sampling import stream_key
    from rbmlib._kernels.units import BERNOULLI_HIDDEN, BERNOULLI_VISIBLE

    n, V = X.shape
    dt = X.dtype
    nb = n // B
    rng = np.random.default_rng(0)
    start = {
        "W": (0.01 * rng.standard_normal((H, V))).astype(dt),
        "c": np.zeros(H, dt), "b": np.zeros(V, dt),
        "hchain": (rng.random((B, H)) < 0.5).astype(dt),
    }
    st = {}

    def reset():
        """Parameters, velocities, chains and buffers back to the same start."""
        st["W"], st["c"], st["b"] = start["W"].copy(), start["c"].copy(), start["b"].copy()
        st["hchain"] = start["hchain"].copy()
        st["vel"] = (np.zeros((H, V), dt), np.zeros(H, dt), np.zeros(V, dt))
        st["sq"] = np.zeros(H, dt)
        st["Vcat"], st["Hcat"] = np.zeros((2 * B, V), dt), np.zeros((2 * B, H), dt)
        st["Vcat"][:B] = X[:B]
        st["Vcat"][B:] = X[B:2 * B]
        st["hs"], st["pre_v"] = np.zeros((B, H), dt), np.zeros((B, V), dt)
        st["vm"] = np.zeros((H, V), dt)

    sigma = np.ones(V, dt)
    key = stream_key(np.uint64(1), np.uint64(2))
    order = np.arange(n, dtype=np.int64)
    L = _loops()
    _, floor5 = _numba_gemms()
    region_buf = np.zeros(64)
    settings = (1, PCD, BERNOULLI_VISIBLE, BERNOULLI_HIDDEN, False)
    hyper = (_LR, 0.0, 0.0, 0.1, 0.0, 0.9, 0.0, 0.0)
    batch = (X, np.zeros(1, dt), np.zeros(1, np.int32), np.zeros(2, np.int32), False)
    offsets = np.zeros(1, np.int64)
    reset()
    in_epoch = K.fused_blocks(settings, (st["hchain"], st["sq"]), st["W"])
    blocks = max(1, in_epoch)  # the fused update's blocks (one on one thread)

    def groups():
        e = sigma[:0]
        return ((st["W"], st["c"], st["b"], sigma, e), (*st["vel"], e), (st["hchain"], st["sq"]),
                (st["Vcat"], st["Hcat"], st["hs"], st["pre_v"], st["vm"],
                 np.zeros((0, 0), np.int32)))

    def whole(k):
        params, vel, chains, scratch = groups()
        K.cd_epoch(batch, order[:k * B], B, settings, np.uint64(1), 0, params, offsets, vel,
                   chains, scratch, hyper)

    def fused(k):
        params, vel, chains, scratch = groups()
        L["fused"](k, blocks, X, order, B, settings, np.uint64(1), params, vel, chains, scratch,
                   hyper)

    def unfused(k):
        params, vel, chains, scratch = groups()
        L["unfused"](k, X, order, B, settings, np.uint64(1), params, offsets, vel, chains,
                     scratch, hyper)

    parts = {
        "floor": lambda k: floor5(X[:k * B], st["W"], B, *bufs),
        "whole": whole,
        "fused": fused,
        "unfused": unfused,
        "region 1": lambda k: L["region1"](k, blocks, B, st["hchain"], st["W"], st["b"], sigma,
                                           st["vel"][2], st["Vcat"], st["pre_v"], st["vm"][0],
                                           key, _LR),
        "region 2": lambda k: L["region2"](k, blocks, B, st["W"], st["c"], st["vel"][0],
                                           st["vel"][1], st["sq"], st["hchain"], st["Vcat"],
                                           st["Hcat"], st["vm"][0], key, _LR),
        "block GEMMs": lambda k: L["block_gemms"](k, blocks, B, st["hchain"], st["W"],
                                                  st["vel"][0], st["Vcat"], st["Hcat"],
                                                  st["pre_v"], _LR / B),
        "gather": lambda k: L["gather"](k, X, order, st["Vcat"], B),
        "fork-joins": lambda k: L["fork_joins"](k, region_buf),
    }
    bufs = (np.empty((B, H), dt), np.empty((B, V), dt), np.empty((B, H), dt),
            np.empty((H, V), dt), np.empty((H, V), dt))
    med = time_parts(parts, reset, nb, repeats, pause)
    med["elementwise"] = med["region 1"] + med["region 2"] - med["block GEMMs"]
    med["remainder"] = med["whole"] - (med["region 1"] + med["region 2"] + med["gather"])
    med["blocks"] = blocks
    med["fused in epoch"] = in_epoch > 0
    med["max |W| after"] = float(np.abs(st["W"]).max())
    return med


def _blas_lines():
    from threadpoolctl import threadpool_info

    return [f"{os.path.basename(d['filepath'])}: {d['internal_api']} {d.get('version')} "
            f"{d.get('architecture')} ({d['num_threads']} threads)"
            for d in threadpool_info() if d["user_api"] == "blas"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=None, help="MNIST folder (default: load_mnist's)")
    ap.add_argument("--n-samples", type=int, default=20000)
    ap.add_argument("--hidden", type=int, default=500)
    ap.add_argument("--batch-sizes", default="100,10")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--pause", type=float, default=0.3,
                    help="seconds of pause before every timed run")
    ap.add_argument("--dtype", default="float32")
    args = ap.parse_args(argv)

    import numba
    from threadpoolctl import threadpool_limits

    import rbmlib
    import rbmlib._kernels.cd

    X = load_X(args.data, args.n_samples).astype(args.dtype)
    N, V = X.shape
    H = args.hidden
    print(f"# profile_cd: N={N} V={V} H={H} {args.dtype}, python {platform.python_version()}, "
          f"numpy {np.__version__}, numba {numba.__version__}, rbmlib {rbmlib.__version__}, "
          f"{os.cpu_count()} cores, NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}")
    print(f"# OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')!r}, "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')!r}, "
          f"load average {os.getloadavg()[0]:.2f} at start")
    cols = ["floor", "whole", "unfused", "region 1", "region 2", "block GEMMs", "elementwise",
            "gather", "remainder", "fork-joins"]
    rows = []
    for nt in map(int, args.threads.split(",")):
        if nt > numba.config.NUMBA_NUM_THREADS:
            print(f"# {nt} threads skipped: NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}")
            continue
        numba.set_num_threads(nt)
        with threadpool_limits(limits=nt, user_api="blas"):
            print(f"# {nt} thread(s), BLAS: " + "; ".join(_blas_lines()))
            for B in map(int, args.batch_sizes.split(",")):
                med = profile(X, H, B, args.repeats, args.pause)
                rows.append((nt, B, med))
                runs = "; ".join(f"{k[:-5]} " + " ".join(f"{1e3 * t:.3f}" for t in v)
                                 for k, v in med.items() if k.endswith(" runs"))
                print(f"#   batch {B} ({med['blocks']} block(s), epoch "
                      f"{'fused' if med['fused in epoch'] else 'unfused'}; max |W| after "
                      f"{med['max |W| after']:.3g}), ms per mini-batch of each run: {runs}",
                      flush=True)
    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "none initialised"
    print(f"# Numba threading layer: {layer}")
    print()
    print(f"ms per mini-batch, median of {args.repeats} timed runs per part, each part in a "
          f"block of its own (share of whole in brackets):")
    print()
    print("| threads | batch | " + " | ".join(cols) + " | whole / floor | unfused / floor |")
    print("|---" * (len(cols) + 4) + "|")
    for nt, B, med in rows:
        cells = []
        for k in cols:
            v = 1e3 * med[k]
            share = "" if k in ("floor", "whole", "unfused") else \
                f" ({100 * med[k] / med['whole']:.0f}%)"
            cells.append(f"{v:.3f}{share}")
        print(f"| {nt} | {B} | " + " | ".join(cells)
              + f" | {med['whole'] / med['floor']:.2f} | {med['unfused'] / med['floor']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
