"""Per-mini-batch profile of rbmlib's CD-1 epoch: where one update's time goes, by thread count.

Usage::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        python benchmarks/profile_cd.py [--data ../shared/data/mnist] [--n-samples 20000]
                                        [--hidden 500] [--batch-sizes 100,10]
                                        [--threads 1,2] [--repeats 5] [--dtype float32]

(``env -u`` lets OpenBLAS pick its kernels for this CPU, as on a user's
machine. For two threads leave ``NUMBA_NUM_THREADS`` unset or >= 2; thread
counts above it are skipped with a note.) MNIST comes from
:func:`rbmlib.datasets.load_mnist` (``--data``, else ``RBMLIB_MNIST``, else
``../shared/data/mnist``); nothing is downloaded.

The update profiled is the default of :class:`rbmlib.BernoulliRBM` and of
``benchmarks/bench_rbm.py``: persistent CD-1 with sampled visible states,
Bernoulli units, momentum 0, no weight decay or sparsity, learning rate 0.01.
One update of :func:`rbmlib._kernels.cd.cd_update` (``_pcd_chain``, then
``parameter_step``) does, on a mini-batch of ``m`` rows with ``V`` visible and
``H`` hidden units:

1. gather the rows into ``Vcat[:m]`` and copy the chain's states into ``hs``;
2. ``pre_v = h W`` (GEMM), then ``v_k = Bernoulli(sigmoid(pre_v + b))`` (one
   fused pass of ``m V`` sigmoids and draws);
3. ``[v0; v_k] W^T`` as ONE GEMM of ``2m`` rows, then ``ph0 = sigmoid(. + c)``
   (``m H``) and ``ph_k = sigmoid(. + c)`` with its sample (``m H``, fused);
4. the bias step and sparsity estimate (one pass over ``Hcat``, ``Vcat``), the
   gradient GEMM ``[ph0; -ph_k]^T [v0; v_k]`` with the momentum step in BLAS's
   ``beta``, and ``W += vel_W`` (one pass over ``H V``);
5. copy the new chain states back.

Each row of the table is measured per mini-batch over the epoch's mini-batches
(``n // batch`` of them), in ONE compiled loop per part, so no Python call is
timed and every product runs in the BLAS library the kernels use (SciPy's
OpenBLAS through Numba, see ``bench_rbm._numba_gemms``):

* **5-GEMM floor** -- ``bench_rbm.gemm_floor_epoch_numba``: the five products
  a CD-1 update needs when unstacked (v W^T, h W, v' W^T, ph^T v, ph'^T v'),
  nothing else, in the kernels' BLAS; the figure issue 25's targets are
  multiples of (``bench_rbm.py`` also times it with NumPy's own OpenBLAS; not
  here, as alternating the two OpenBLAS libraries at two threads makes each
  one's spinning workers slow the other: ``bench_rbm._numba_gemms``);
* **GEMMs** -- the kernel's three products with the kernel's shapes and
  arguments (``bench_rbm._profile_loops``' ``gemms``: ``h W``, ``[v0; v_k]
  W^T``, the gradient via ``rbmlib._kernels.blas.gemm``);
* **elementwise** -- the same passes WITHOUT random numbers: the kernel's own
  ``sigmoid_rows`` (serial or threaded by rows exactly as in the kernel,
  ``PARALLEL_MIN_ELEMENTS``) over the ``m V`` visible and the two ``m H``
  hidden pre-activations, plus the row gather (``gather_dense``) and the two
  copies of the chain states (a stand-in loop copying ``m H`` elements twice);
* **sampling** -- what the Bernoulli draws add: the kernel's fused passes as it
  calls them (``sigmoid_sample_rows`` on the visible and on the ``ph_k`` rows,
  ``sigmoid_rows`` on ``ph0``) minus the sigmoid-only passes above (a
  difference of two timings, so it can be noisy or slightly negative at small
  sizes);
* **update** -- the kernel's ``_bias_step`` and ``_weight_step`` (the
  parameter step without its GEMM; ``W += vel_W`` is threaded by rows in
  Numba's pool as in the kernel);
* **whole** -- the real :func:`rbmlib._kernels.cd.cd_epoch` over the epoch
  (gather included), the kernel ``BernoulliRBM.fit`` runs (its per-epoch
  validation and monitoring excluded);
* **remainder** -- whole minus (GEMMs + elementwise + sampling + update): what
  the parts cost together beyond their sum alone -- thread hand-offs between
  Numba's pool and OpenBLAS's, their workers spinning or waking, cache
  effects between the passes;
* **fork-joins** (for reference, not subtracted) -- a stand-in loop that enters
  as many empty ``prange`` regions per mini-batch as the kernel enters Numba's
  pool (each pass of at least ``PARALLEL_MIN_ELEMENTS`` elements, and the
  weight step), doing no work: the bare cost of the hand-offs to Numba's pool.

All parts run on the same buffers; ``whole`` and the parts alternate within
each of ``--repeats`` rounds and the medians are printed, in milliseconds per
mini-batch and as a share of ``whole``. threadpoolctl's view of the BLAS
libraries (``internal_api``, ``architecture``, version) and Numba's threading
layer are printed first. On a shared machine, run one thread count at a time
and read the figures as such.
"""

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

# the floor, the kernel's GEMMs and its update, reused from bench_rbm.py (not copied)
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_rbm import (
    _LR,
    _numba_gemms,
    _profile_loops,
    gemm_floor_epoch_numba,
    load_X,
)


def _loops():
    """The compiled loops of the parts bench_rbm does not have."""
    import numba
    from numba import prange

    from rbmlib._kernels import cd as K

    @numba.njit
    def sigmoids(nb, pre_v, Vcat, Hcat, b, c, m):
        for _ in range(nb):
            K.sigmoid_rows(pre_v[:m], b, Vcat[m:2 * m])
            K.sigmoid_rows(Hcat[:m], c, Hcat[:m])
            K.sigmoid_rows(Hcat[m:2 * m], c, Hcat[m:2 * m])

    @numba.njit
    def copies(nb, X, order, Vcat, hchain, hs, m):
        for t in range(nb):
            K.gather_dense(X, order, t * m, (t + 1) * m, Vcat)
            hs[:m, :] = hchain[:m]  # the chain's states in, as _pcd_chain
            hchain[:m] = hs[:m]     # and back out

    @numba.njit(parallel=True)
    def _empty_region(out):
        for i in prange(out.shape[0]):
            out[i] += 0.0

    @numba.njit
    def fork_joins(nb, n_regions, out):
        for _ in range(nb):
            for _ in range(n_regions):
                _empty_region(out)

    return sigmoids, copies, fork_joins


def _n_parallel_regions(m, V, H, fused):
    """Numba parallel regions one CD-1 update enters (its threaded passes; two when
    the update runs fused on Numba's threads, ``cd._fused_pcd1_update``)."""
    from rbmlib._kernels.units import PARALLEL_MIN_ELEMENTS

    if fused:
        return 2
    passes = [m * V, m * H, m * H, H * V]  # v_k, ph0, ph_k, W += vel_W
    return sum(1 for s in passes if s >= PARALLEL_MIN_ELEMENTS)


def profile(X, H, B, repeats):
    """Seconds per mini-batch of each part (medians of ``repeats`` rounds)."""
    from rbmlib._kernels import cd as K
    from rbmlib._kernels.negative import PCD
    from rbmlib._kernels.sampling import stream_key
    from rbmlib._kernels.units import BERNOULLI_HIDDEN, BERNOULLI_VISIBLE

    n, V = X.shape
    dt = X.dtype
    nb = n // B
    rng = np.random.default_rng(0)
    W = (0.01 * rng.standard_normal((H, V))).astype(dt)
    c, b = np.zeros(H, dt), np.zeros(V, dt)
    vel = (np.zeros_like(W), np.zeros_like(c), np.zeros_like(b))
    Vcat, Hcat = np.zeros((2 * B, V), dt), np.zeros((2 * B, H), dt)
    hs, pre_v, grad = np.zeros((B, H), dt), np.zeros((B, V), dt), np.zeros((H, V), dt)
    hchain = (rng.random((B, H)) < 0.5).astype(dt)
    sq = np.zeros(H, dt)
    sigma = np.ones(V, dt)
    key = stream_key(np.uint64(1), np.uint64(2))
    order = np.arange(n, dtype=np.int64)
    Vcat[:B] = X[:B]
    Vcat[B:] = X[B:2 * B]
    hs[:] = hchain
    # bench_rbm's 'elementwise' loop is the kernel's fused sigmoid-and-sample passes
    gemms, sampled, update, _ = _profile_loops()
    sigmoids, copies, fork_joins = _loops()
    _, floor5 = _numba_gemms()
    region_buf = np.zeros(64)
    # the groups of rbmlib._kernels.cd (its module docstring): PCD-1, Bernoulli units
    settings = (1, PCD, BERNOULLI_VISIBLE, BERNOULLI_HIDDEN, False)
    params = (W, c, b, sigma, sigma[:0])
    velocities = (*vel, sigma[:0])
    chains = (hchain, sq)
    fused = hasattr(K, "fused_blocks") and K.fused_blocks(settings, chains, W) > 0
    n_regions = _n_parallel_regions(B, V, H, fused)
    scratch = (Vcat, Hcat, hs, pre_v, grad, np.zeros((0, 0), np.int32))
    hyper = (_LR, 0.0, 0.0, 0.1, 0.0, 0.9, 0.0, 0.0)
    batch = (X, np.zeros(1, dt), np.zeros(1, np.int32), np.zeros(2, np.int32), False)

    def whole(k):
        K.cd_epoch(batch, order[:k * B], B, settings, np.uint64(1), 0, params,
                   np.zeros(1, np.int64), velocities, chains, scratch, hyper)

    parts = {
        "whole": whole,
        "GEMMs": lambda k: gemms(k, Vcat, Hcat, hs, pre_v, W, vel[0], B, _LR / B),
        "sigmoids": lambda k: sigmoids(k, pre_v, Vcat, Hcat, b, c, B),
        "copies": lambda k: copies(k, X, order, Vcat, hchain, hs, B),
        "sampled passes": lambda k: sampled(k, Vcat, Hcat, hs, pre_v, b, c, key, B),
        "update": lambda k: update(k, B, c, b, vel, sq, Vcat, Hcat, W, grad, _LR),
        "fork-joins": lambda k: fork_joins(k, n_regions, region_buf),
    }
    for fn in parts.values():
        fn(2)  # compile (and warm the buffers)
    ts = {name: [] for name in [*parts, "floor"]}
    for _ in range(repeats):
        for name, fn in parts.items():
            t0 = time.perf_counter()
            fn(nb)
            ts[name].append((time.perf_counter() - t0) / nb)
        ts["floor"].append(gemm_floor_epoch_numba(X[:nb * B], W, B, floor5) / nb)
    med = {k: float(np.median(v)) for k, v in ts.items()}
    med["elementwise"] = med["sigmoids"] + med["copies"]
    med["sampling"] = med["sampled passes"] - med["sigmoids"]
    med["remainder"] = med["whole"] - (med["GEMMs"] + med["elementwise"] + med["sampling"]
                                       + med["update"])
    med["n_regions"] = n_regions
    med["fused"] = fused
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
    cols = ["floor", "whole", "GEMMs", "elementwise", "sampling", "update",
            "remainder", "fork-joins"]
    rows = []
    for nt in map(int, args.threads.split(",")):
        if nt > numba.config.NUMBA_NUM_THREADS:
            print(f"# {nt} threads skipped: NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}")
            continue
        numba.set_num_threads(nt)
        with threadpool_limits(limits=nt, user_api="blas"):
            print(f"# {nt} thread(s), BLAS: " + "; ".join(_blas_lines()))
            for B in map(int, args.batch_sizes.split(",")):
                med = profile(X, H, B, args.repeats)
                rows.append((nt, B, med))
                print(f"#   batch {B}: whole {1e3 * med['whole']:.3f} ms, floor "
                      f"{1e3 * med['floor']:.3f} ms", flush=True)
    try:
        layer = numba.threading_layer()
    except ValueError:
        layer = "none initialised"
    print(f"# Numba threading layer: {layer}")
    print()
    print(f"ms per mini-batch, median of {args.repeats} rounds (share of whole in brackets):")
    print()
    print("| threads | batch | " + " | ".join(cols) + " | whole / floor | Numba regions |")
    print("|---" * (len(cols) + 4) + "|")
    for nt, B, med in rows:
        cells = []
        for k in cols:
            v = 1e3 * med[k]
            share = "" if k in ("floor", "whole") else \
                f" ({100 * med[k] / med['whole']:.0f}%)"
            cells.append(f"{v:.3f}{share}")
        print(f"| {nt} | {B} | " + " | ".join(cells)
              + f" | {med['whole'] / med['floor']:.2f} | {med['n_regions']}"
              + (" (fused)" if med["fused"] else "") + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
