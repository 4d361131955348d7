"""Centered PCD on the 784-500 MNIST RBM: rbmlib against ``rbms`` (PyTorch), side by side.

Issue 22's comparison with ``rbms`` (the PyTorch RBM library on PyPI,
https://github.com/DsysDML/rbms, centered gradient by default): both libraries
train a 784-500 Bernoulli RBM by centered persistent contrastive divergence
(PCD-k) on the same mini-batches, for the same number of parameter updates;
both models are then scored by rbmlib's AIS (:func:`rbmlib.likelihood.ais`,
with its effective sample size and largest weight's share) and by ``rbms``' AIS
as a cross-check of the estimators; last, the time of one update at one and
two threads, the libraries and thread counts alternating.

The same training for both:

* the data: the 60,000 MNIST training images, pixel intensities read as
  probabilities and binarised afresh every epoch (one Bernoulli sample of the
  whole set, the same for both libraries), visited in the same random order in
  batches of ``--batch-size`` (100); one update per batch, so ``--epochs``
  epochs are ``600 * epochs`` updates;
* centered PCD-``k`` with ``--batch-size`` persistent chains, plain SGD at
  ``--lr`` (no momentum, no weight decay, no sparsity), float32;
* the chains' negative statistics use the hidden probabilities and sampled
  visible states in both (rbmlib ``sample_visible=True``; ``rbms`` uses the
  chains' ``hidden_mag``);
* rbmlib: ``BernoulliRBM(persistent=True, centered=True, momentum=0,
  weight_decay=0, visible_bias_init="log_odds")``, one ``partial_fit`` per
  epoch (the rows in the order given);
* ``rbms``: its own update, ``rbms.training.pcd.fit_batch_pcd`` followed by
  ``torch.optim.SGD(maximize=True).step()``, the loop of
  ``rbms.training.pcd.train`` without its HDF5 checkpoints and with our
  batches in place of its batches drawn at random; parameters and chains
  initialised as ``rbms`` does (``BBRBM.init_parameters``,
  ``init_chains`` then ``k`` Gibbs steps).

What differs, and cannot be matched through either library's interface:

* the step: ``fit_batch_pcd`` of rbms 0.5 divides the gradient by its L2
  norm over all parameters (``EBM.normalize_grad``) before the SGD step, so
  its ``lr`` is the length of every step. Two rbms models are trained: "as
  shipped", with ``lr`` = ``--lr`` times the median norm of the plain
  gradient over one probe epoch (``--rbms-shipped-lr`` overrides it), and
  "plain gradient", with the normalisation switched off (the update of rbms
  0.2 and of rbmlib; ``lr`` then means the same in both libraries);
* centering offsets: rbmlib keeps them as moving averages (``centering_decay``
  0.99: Melchior, Fischer and Wiskott 2016); ``rbms`` uses the current
  batch's data means (visible and hidden) as offsets at every update;
* initial weights: rbmlib draws them from N(0, 0.01^2), ``rbms`` from
  N(0, 1e-4^2); visible biases are the log-odds of the pixel means in both
  (clipped at 1e-3 by rbmlib, 1e-4 by ``rbms``);
* random numbers: each library draws its own (numpy / Numba streams against
  torch's generator), so the chains differ sample by sample.

Scoring: the test set is binarised once (seed ``--seed + 12345``, as
``benchmarks/mnist_loglik.py``); the average test log-likelihood is
``mean(-F(v)) - log Z``. rbmlib's AIS: ``--ais-runs`` runs, the 14,501
inverse temperatures of Salakhutdinov and Murray (2008), base model from the
training pixels. ``rbms``' AIS: ``--ais-runs`` chains, ``--rbms-ais-betas``
evenly spaced inverse temperatures, its base model (zero weights and hidden
biases, the model's visible biases); the loop of
``rbms.partition_function.ais.compute_partition_function_ais`` (its own
``update_weights_ais`` and ``interpolate_ebm``, in float64) returning the log
weights, so that the same diagnostics (ESS, largest weight's share, +-3 s.e.
bounds) are printed beside it; the script first checks on a small model that
this loop gives the library function's value bit for bit.

Run (native BLAS kernels; NUMBA_NUM_THREADS and OPENBLAS_NUM_THREADS left
unset so that two threads can be timed: training and AIS are held to one
thread by the script)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \\
        /work/bench_venv/bin/python benchmarks/bench_rbms.py

It needs the ``bench`` extra (``pip install -e ".[bench]"``: ``rbms``, which
brings ``torch``); rbmlib never imports either. Smoke test (a minute)::

    python benchmarks/bench_rbms.py --n-train 2000 --n-test 500 --epochs 1 \\
        --ais-runs 16 --ais-betas 1001 --rbms-ais-betas 1001 --time-updates 5 --time-repeats 1
"""

import argparse
import importlib.metadata
import os
import platform
import sys
import time
import warnings
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))

import rbmlib  # noqa: E402
from rbmlib._parallel import thread_limits  # noqa: E402
from rbmlib.datasets import load_mnist  # noqa: E402
from rbmlib.likelihood import ais, default_betas, free_energy  # noqa: E402
from rbmlib.likelihood._estimate import _summarise  # noqa: E402
from rbmlib.rbm import BernoulliRBM  # noqa: E402

warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=FutureWarning)
try:
    import torch
    from rbms.bernoulli_bernoulli.classes import BBRBM
    from rbms.partition_function.ais import (
        compute_partition_function_ais,
        interpolate_ebm,
        update_weights_ais,
    )
    from rbms.training.pcd import fit_batch_pcd
except ImportError as exc:  # pragma: no cover
    sys.exit(f"bench_rbms.py needs the bench extra (pip install -e '.[bench]'): {exc}")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", default=None, help="MNIST folder (default: RBMLIB_MNIST "
                   "or ../shared/data/mnist)")
    p.add_argument("--n-hidden", type=int, default=500)
    p.add_argument("--epochs", type=int, default=10,
                   help="epochs of training (600 updates each on the full set)")
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--k", type=int, default=1, help="Gibbs steps per update (PCD-k)")
    p.add_argument("--ais-runs", type=int, default=100)
    p.add_argument("--ais-betas", type=int, default=None,
                   help="rbmlib's AIS: N evenly spaced inverse temperatures instead of "
                        "the default 14,501")
    p.add_argument("--rbms-ais-betas", type=int, default=14501,
                   help="inverse temperatures of rbms' AIS (evenly spaced, as rbms does)")
    p.add_argument("--rbms-shipped-lr", type=float, default=None,
                   help="lr of rbms as shipped (unit-norm gradient); default: --lr times "
                        "the median norm of the plain gradient over one probe epoch")
    p.add_argument("--time-updates", type=int, default=30,
                   help="updates per timed pass")
    p.add_argument("--time-repeats", type=int, default=5,
                   help="timed passes per library and thread count (alternating)")
    p.add_argument("--skip-scoring", action="store_true",
                   help="no AIS (with --epochs 0: the timing alone)")
    p.add_argument("--n-train", type=int, default=None)
    p.add_argument("--n-test", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def binarize(P, rng):
    return (rng.random(P.shape, dtype=np.float32) < P).astype(np.float32)


def blas_kernels():
    """numpy's BLAS (library, kernel, threads) from threadpoolctl, and torch's."""
    from threadpoolctl import threadpool_info
    ours = ", ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} "
                     f"({i['num_threads']} threads by default)"
                     for i in threadpool_info() if i.get("user_api") == "blas") or "unknown"
    cfg = torch.__config__.show()
    blas = [ln.strip() for ln in cfg.splitlines() if "BLAS_INFO" in ln or "LAPACK_INFO" in ln]
    blas = blas[0].split(",")[0] if blas else "unknown"
    theirs = (f"torch {torch.__version__}: {blas}, MKL {torch.backends.mkl.is_available()}, "
              f"CPU capability {torch.backends.cpu.get_cpu_capability()}")
    return ours, theirs


# ----------------------------------------------------------------------------- training
def make_rbmlib(args, n_jobs):
    return BernoulliRBM(n_components=args.n_hidden, learning_rate=args.lr,
                        batch_size=args.batch_size, n_iter=1, k=args.k, persistent=True,
                        centered=True, momentum=0.0, weight_decay=0.0, sample_visible=True,
                        visible_bias_init="log_odds", n_jobs=n_jobs,
                        random_state=args.seed)


class RbmsTrainer:
    """rbms' centered PCD: the body of ``rbms.training.pcd.train`` (its
    ``fit_batch_pcd`` and SGD step), fed the batches we give it.

    ``fit_batch_pcd`` of rbms 0.5 divides the gradient by its L2 norm (over all
    parameters) before the SGD step (``EBM.normalize_grad``). ``normalize=False``
    switches that off (the update of rbms 0.2, and of rbmlib): then ``lr`` means
    the same in both libraries. The gradient's norm is recorded every 50 updates.
    """

    def __init__(self, args, X_init, lr, normalize):
        torch.manual_seed(args.seed)
        data = SimpleNamespace(data=torch.from_numpy(X_init))
        self.params = BBRBM.init_parameters(num_hiddens=args.n_hidden, dataset=data,
                                            device=torch.device("cpu"), dtype=torch.float32)
        chains = self.params.init_chains(num_samples=args.batch_size)
        self.chains = self.params.sample_state(chains=chains, n_steps=args.k)
        for p in self.params.parameters():
            p.grad = torch.zeros_like(p)
        self.optimizer = torch.optim.SGD(self.params.parameters(), lr=lr, maximize=True)
        self.lr, self.normalize = lr, normalize
        self.k = args.k
        self.batch_size = args.batch_size
        self.n_updates = 0
        self.grad_norms = []
        shipped = self.params.normalize_grad

        def normalize_grad():
            if self.n_updates % 50 == 0:
                self.grad_norms.append(float(torch.sqrt(sum(
                    p.grad.double().square().sum() for p in self.params.parameters()))))
            if normalize:
                shipped()

        self.params.normalize_grad = normalize_grad

    def epoch(self, X):
        Xt = torch.from_numpy(X)
        w = torch.ones(self.batch_size, dtype=torch.float32)
        with torch.no_grad():
            for i in range(0, len(Xt) - self.batch_size + 1, self.batch_size):
                self.optimizer.zero_grad(set_to_none=False)
                self.chains, _ = fit_batch_pcd(batch=(Xt[i:i + self.batch_size], w),
                                               parallel_chains=self.chains,
                                               params=self.params, gibbs_steps=self.k,
                                               beta=1.0, centered=True)
                self.optimizer.step()
                self.n_updates += 1

    def as_rbmlib(self):
        """The fitted parameters in rbmlib's layout (what rbmlib's AIS reads)."""
        return SimpleNamespace(
            components_=self.params.weight_matrix.T.double().numpy().copy(),
            intercept_hidden_=self.params.hbias.double().numpy().copy(),
            intercept_visible_=self.params.vbias.double().numpy().copy())


def to_bbrbm(model):
    """An rbms BBRBM (float64) with the parameters of a fitted rbmlib model."""
    return BBRBM(weight_matrix=torch.from_numpy(np.array(model.components_, np.float64).T.copy()),
                 vbias=torch.from_numpy(np.array(model.intercept_visible_, np.float64)),
                 hbias=torch.from_numpy(np.array(model.intercept_hidden_, np.float64)))


# ----------------------------------------------------------------------------- scoring
def rbms_ais_log_weights(num_chains, num_beta, params):
    """``rbms.partition_function.ais.compute_partition_function_ais`` step by step
    (its helpers, its order of random draws), returning the log weights and the base
    model's log Z as well as log Z."""
    all_betas = torch.linspace(start=0, end=1, steps=num_beta)
    log_z_init = params.ref_log_z()
    params_ref = params.independent_model()
    chains = params_ref.init_chains(num_samples=num_chains)
    log_weights = torch.zeros(num_chains, device=params.device, dtype=params.dtype)
    interpolator = interpolate_ebm(params_ref, params, steps=all_betas)
    curr_params = next(interpolator)
    for _ in range(len(all_betas) - 1):
        prev_params = curr_params.clone()
        curr_params = next(interpolator)
        log_weights, chains = update_weights_ais(prev_params=prev_params,
                                                 curr_params=curr_params, chains=chains,
                                                 log_weights=log_weights)
    log_z = torch.logsumexp(log_weights, 0) - np.log(num_chains) + log_z_init
    return log_z.item(), log_weights.numpy().astype(np.float64), log_z_init


def check_rbms_ais_loop():
    """Our loop equals rbms' function (same seed, float32 as rbms runs it)."""
    g = torch.Generator().manual_seed(0)
    params = BBRBM(weight_matrix=torch.randn(12, 7, generator=g),
                   vbias=torch.randn(12, generator=g), hbias=torch.randn(7, generator=g))
    torch.manual_seed(1)
    ref = compute_partition_function_ais(num_chains=50, num_beta=200, params=params)
    torch.manual_seed(1)
    ours, _, _ = rbms_ais_log_weights(50, 200, params)
    if ours != ref:
        raise AssertionError(f"the AIS loop differs from rbms': {ours!r} != {ref!r}")
    return ref


def score(model, X_test, args, P_train, seed, bbrbm):
    """(test LL and estimate by rbmlib's AIS, by rbms' AIS, seconds of each)."""
    with thread_limits(1):
        nf = float(np.mean(-free_energy(model, X_test)))
        t0 = time.perf_counter()
        betas = (default_betas() if args.ais_betas is None
                 else np.linspace(0.0, 1.0, args.ais_betas))
        est = ais(model, n_runs=args.ais_runs, betas=betas, base_rate=P_train,
                  random_state=seed)
        t_ours = time.perf_counter() - t0
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    t0 = time.perf_counter()
    log_z, log_w, log_z_base = rbms_ais_log_weights(args.ais_runs, args.rbms_ais_betas, bbrbm)
    t_theirs = time.perf_counter() - t0
    theirs = _summarise(log_w, log_z_base, False, args.rbms_ais_betas)
    assert abs(theirs.log_z - log_z) < 1e-6 * max(1.0, abs(log_z))
    return nf, est, t_ours, theirs, t_theirs


def fmt_ll(nf, est):
    return (f"{nf - est.log_z:.2f} [{nf - est.log_z_upper:.2f}, {nf - est.log_z_lower:.2f}]")


def fmt_diag(est):
    return f"{est.ess:.1f} / {100 * est.max_weight_share:.1f}%"


# ----------------------------------------------------------------------------- timing
def time_updates(trainers, X, args):
    """ms per update, {(name, threads): [pass, ...]}, the trainers and thread counts
    alternating pass by pass (rbmlib's n_jobs; torch.set_num_threads)."""
    m = args.time_updates * args.batch_size
    out = {}
    names = list(trainers)
    for rep in range(args.time_repeats):
        for threads in ((1, 2) if rep % 2 == 0 else (2, 1)):
            order = names[rep % len(names):] + names[:rep % len(names)]
            for name in (order if threads == 1 else order[::-1]):
                block = X[(rep * m) % (len(X) - m + 1):][:m]
                trainer = trainers[name]
                if isinstance(trainer, BernoulliRBM):
                    trainer.set_params(n_jobs=threads)
                    t0 = time.perf_counter()
                    trainer.partial_fit(block)
                else:
                    torch.set_num_threads(threads)
                    t0 = time.perf_counter()
                    trainer.epoch(block)
                secs = time.perf_counter() - t0
                out.setdefault((name, threads), []).append(1e3 * secs / args.time_updates)
    torch.set_num_threads(1)
    return out


def main(argv=None):
    args = parse_args(argv)
    t_all = time.time()
    rng = np.random.default_rng(args.seed)
    X_train, _ = load_mnist(args.data, "train")
    X_test_u8, _ = load_mnist(args.data, "test")
    if args.n_train:
        X_train = X_train[: args.n_train]
    if args.n_test:
        X_test_u8 = X_test_u8[: args.n_test]
    P_train = X_train.astype(np.float32) / 255.0
    P_test = X_test_u8.astype(np.float32) / 255.0
    X_test = binarize(P_test, np.random.default_rng(args.seed + 12345)).astype(np.float64)
    ours_blas, theirs_blas = blas_kernels()
    cmd = "python benchmarks/bench_rbms.py " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"# {cmd}")
    print(f"# python {platform.python_version()}, numpy {np.__version__}, rbmlib "
          f"{rbmlib.__version__}, rbms {importlib.metadata.version('rbms')}, "
          f"{os.cpu_count()} cores; NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS')}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}", flush=True)
    print(f"# BLAS: rbmlib (numpy) {ours_blas}; rbms ({theirs_blas})", flush=True)
    print(f"# rbms' AIS loop check (12 x 7, 200 temperatures): log Z {check_rbms_ais_loop():.6f}, "
          "equal to compute_partition_function_ais", flush=True)
    torch.set_num_threads(1)
    epochs = [binarize(P_train, rng)[rng.permutation(len(P_train))] for _ in range(1)]

    # rbms as shipped steps by lr along the unit-norm gradient: its lr that moves the
    # parameters as far as plain SGD at --lr, from one epoch of the plain gradient
    shipped_lr = args.rbms_shipped_lr
    if shipped_lr is None:
        probe = RbmsTrainer(args, epochs[0], args.lr, normalize=False)
        probe.epoch(epochs[0])
        norms = np.array(probe.grad_norms)
        shipped_lr = float(args.lr * np.median(norms[len(norms) // 2:]))
        print(f"# plain gradient norm over one epoch: median {np.median(norms):.2f} "
              f"[{norms.min():.2f}, {norms.max():.2f}]; rbms as shipped gets lr "
              f"{shipped_lr:.3g} (--lr x the median of the second half)", flush=True)

    # --- training: the same binarised batches, one thread each, trainers alternating
    trainers = {
        "rbmlib": make_rbmlib(args, n_jobs=1),
        "rbms, plain gradient": RbmsTrainer(args, epochs[0], args.lr, normalize=False),
        "rbms as shipped (unit-norm gradient)": RbmsTrainer(args, epochs[0], shipped_lr,
                                                            normalize=True),
    }
    secs = dict.fromkeys(trainers, 0.0)
    names = list(trainers)
    for epoch in range(args.epochs):
        Xb = epochs[0] if epoch == 0 else binarize(P_train, rng)[rng.permutation(len(P_train))]
        for name in names[epoch % len(names):] + names[:epoch % len(names)]:
            t0 = time.perf_counter()
            if name == "rbmlib":
                trainers[name].partial_fit(Xb)
            else:
                trainers[name].epoch(Xb)
            secs[name] += time.perf_counter() - t0
        print(f"epoch {epoch + 1}: " + ", ".join(f"{n} {secs[n]:.0f} s" for n in names),
              flush=True)
    n_updates = {n: (getattr(t, "_n_updates", 0) if n == "rbmlib" else t.n_updates)
                 for n, t in trainers.items()}
    assert len(set(n_updates.values())) == 1, n_updates
    n_updates = n_updates["rbmlib"]

    # --- scoring: every model by both estimators
    rows = []
    for name, trainer in ({} if args.skip_scoring else trainers).items():
        if name == "rbmlib":
            model, bbrbm = trainer, to_bbrbm(trainer)
        else:
            model, bbrbm = trainer.as_rbmlib(), trainer.params.clone(dtype=torch.float64)
        nf, est, t_ours, est_theirs, t_theirs = score(model, X_test, args, P_train,
                                                     args.seed + 1, bbrbm)
        rows.append((name, nf, est, t_ours, est_theirs, t_theirs))
        print(f"{name}: rbmlib AIS {est}  ({t_ours:.0f} s); rbms AIS log Z "
              f"{est_theirs.log_z:.3f} +- {est_theirs.log_z_std:.3f}, ESS {est_theirs.ess:.1f}"
              f" ({t_theirs:.0f} s)", flush=True)

    # --- time per update, alternating
    times = time_updates(trainers, binarize(P_train, rng), args)

    n_ais = len(default_betas()) if args.ais_betas is None else args.ais_betas
    print()
    print(f"Centered PCD-{args.k}, {args.n_hidden} hidden units, {n_updates} updates of batch "
          f"{args.batch_size} ({args.epochs} epochs of {len(P_train)} images), lr {args.lr} "
          f"(rbms as shipped: {shipped_lr:.3g} on the unit-norm gradient), float32; test = "
          f"{len(X_test)} images. Training time (one thread): "
          + ", ".join(f"{n} {secs[n]:.0f} s" for n in names)
          + f". AIS: {args.ais_runs} runs; rbmlib {n_ais} temperatures (Salakhutdinov and "
          f"Murray's schedule, base from the training pixels), rbms {args.rbms_ais_betas} "
          "evenly spaced (its base model).")
    print()
    print("| model | test log-likelihood by rbmlib's AIS [3 s.e.] | ESS / largest weight | "
          "by rbms' AIS [3 s.e.] | ESS / largest weight | AIS seconds (rbmlib / rbms) |")
    print("|---|---|---|---|---|---|")
    for name, nf, est, t_ours, est_theirs, t_theirs in rows:
        print(f"| {name} | {fmt_ll(nf, est)} | {fmt_diag(est)} | {fmt_ll(nf, est_theirs)} | "
              f"{fmt_diag(est_theirs)} | {t_ours:.0f} / {t_theirs:.0f} |")
    print()
    print(f"Time per update, ms (median [min, max] of {args.time_repeats} passes of "
          f"{args.time_updates} updates, alternating):")
    print()
    print("| threads | " + " | ".join(names) + " | "
          + " | ".join(f"{n} / rbmlib" for n in names[1:]) + " |")
    print("|---" * (2 * len(names)) + "|")
    for threads in (1, 2):
        med = [np.median(times[(n, threads)]) for n in names]
        cells = [f"{np.median(times[(n, threads)]):.1f} [{min(times[(n, threads)]):.1f}, "
                 f"{max(times[(n, threads)]):.1f}]" for n in names]
        print(f"| {threads} | " + " | ".join(cells) + " | "
              + " | ".join(f"{m / med[0]:.2f}" for m in med[1:]) + " |")
    print(f"\n# total {(time.time() - t_all) / 60:.1f} min")


if __name__ == "__main__":
    main()
