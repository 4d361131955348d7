"""The runs of AIS on the kernels: their starting states and their log weights
(private; see :func:`rbmlib.likelihood.ais`).

One :class:`_Path` holds the arrays of an annealing path (the RBM and its base
model) and runs it on the kernels of its visible units: the chunked kernel of
:mod:`rbmlib._kernels.partition` (Bernoulli and Gaussian visible units), or the
softmax groups' kernel of :mod:`rbmlib._kernels.categorical`.
"""

import time
import warnings

import numpy as np

from .._kernels import categorical as _ck
from .._kernels import negative as _neg
from .._kernels import partition as _pk
from ..units import CATEGORICAL_VISIBLE

#: Reverse AIS started from parallel tempering warns when the swaps between some two
#: neighbouring inverse temperatures were accepted less often than this.
PT_MIN_SWAP_ACCEPTANCE = 0.05

#: AIS runs its schedule in chunks of ``max(_AIS_MIN_CHUNK, n_temperatures / _AIS_CHUNKS)``
#: temperatures, verbose or not (the chunks, not the verbose setting, fix the random
#: streams), and reports its progress between chunks.
_AIS_CHUNKS = 20
_AIS_MIN_CHUNK = 256


class _Path:
    """The annealing path from a base model (visible biases ``b_base``, no weights) to
    the RBM ``(W, c, b, sigma)`` with ``visible`` and ``hidden`` units.

    A run's state is a float64 row of the visible units (Bernoulli and Gaussian
    units) or an int64 row of category codes, one per softmax group (categorical
    units): :meth:`start_states`, :meth:`from_visible` and :meth:`log_weights`
    speak the kernels' language.
    """

    def __init__(self, W, c, b, sigma, b_base, visible, hidden):
        self.W, self.c, self.b, self.b_base = W, c, b, b_base
        self.WT = np.ascontiguousarray(W.T)
        self.gaussian = sigma is not None
        self.sigma = sigma if self.gaussian else np.ones(W.shape[1])
        self.visible, self.hidden = visible, hidden
        self.categorical = visible.kernel_id == CATEGORICAL_VISIBLE

    def from_visible(self, X):
        """The kernels' states of validated visible rows ``X`` (one-hot rows to codes)."""
        if self.categorical:
            return np.ascontiguousarray(self.visible.codes(X), dtype=np.int64)
        return np.ascontiguousarray(X, dtype=np.float64)

    def start_states(self, n, n_burn_in, rng, label, verbose, pt_betas=None):
        """``n`` approximate samples of the RBM, drawn from ``rng``: ``n_burn_in`` Gibbs
        sweeps from samples of the base model, or (``pt_betas`` given) ``n_burn_in``
        updates of parallel tempering (:meth:`pt_states`)."""
        if pt_betas is not None:
            return self.pt_states(n, n_burn_in, pt_betas, rng, label, verbose)
        if verbose:
            print(f"{label} {int(n_burn_in)} Gibbs sweeps to start the runs")
        V = self.W.shape[1]
        if self.categorical:
            # the categorical AIS kernel at a constant beta = 1: Gibbs sweeps, zero weights
            G = self.visible.offsets.shape[0] - 1
            codes = np.empty((n, G), dtype=np.int64)
            self._categorical(np.ones(int(n_burn_in) + 2), codes, True,
                              int(rng.randint(0, 2**31 - 1)), np.empty(n), codes)
            return codes
        if self.gaussian:
            v0 = self.b_base + self.sigma * rng.standard_normal((n, V))
        else:
            p0 = 1.0 / (1.0 + np.exp(-self.b_base))
            v0 = (rng.random_sample((n, V)) < p0).astype(np.float64)
        v0 = np.ascontiguousarray(v0)
        # the AIS kernel at a constant beta = 1: Gibbs sweeps of all chains as matrix
        # products (zero weights); about 4 times faster than chain by chain
        final = np.empty_like(v0)
        _pk.ais_log_weights(self.W, self.WT, self.c, self.b, self.b_base, self.sigma,
                            self.gaussian, np.ones(int(n_burn_in) + 2), v0, False,
                            int(rng.randint(0, 2**31 - 1)), np.empty(n), final,
                            self.hidden.kernel_id)
        return final

    def _base_samples(self, n, rng):
        """``n`` samples of the base model as visible rows (one-hot for categorical units)."""
        V = self.W.shape[1]
        if self.categorical:  # the categorical kernel's base draw, with no sweep
            G = self.visible.offsets.shape[0] - 1
            codes = np.empty((n, G), dtype=np.int64)
            self._categorical(np.ones(2), codes, True, int(rng.randint(0, 2**31 - 1)),
                              np.empty(n), codes)
            return self.visible.onehot(codes)
        if self.gaussian:
            return self.b_base + self.sigma * rng.standard_normal((n, V))
        return (rng.random_sample((n, V)) < 1.0 / (1.0 + np.exp(-self.b_base))).astype(float)

    def pt_states(self, n, n_updates, pt_betas, rng, label, verbose):
        """``n`` samples of the RBM from parallel tempering: ``n`` chains at each inverse
        temperature of ``pt_betas`` (decreasing from 1; the tempered RBM has parameters
        ``(beta W, beta c, beta b)``), started from base-model samples, ``n_updates``
        times one Gibbs sweep of every chain and one pass of Metropolis swaps between
        neighbouring temperatures; the chains at ``beta = 1`` are returned.

        The sampler is the negative phase ``"pt"`` of the training kernels
        (:func:`rbmlib._kernels.negative._pt_chain`, Desjardins et al. 2010), run on
        a fixed model; its swap acceptance rates and round trips are printed with
        ``verbose``.
        """
        H, V = self.W.shape
        T = pt_betas.shape[0]
        start = self._base_samples(T * n, rng)
        if self.gaussian:  # the kernels hold v / sigma^2
            start = start / self.sigma**2
        tempering = _neg.tempering_group(pt_betas, n, H, V, np.float64,
                                         vchains=np.ascontiguousarray(start))
        G = self.visible.offsets.shape[0] - 1 if self.categorical else 0
        offsets = self.visible.offsets if self.categorical else np.zeros(1, np.int64)
        scratch = (np.zeros((2 * n, V)), np.zeros((2 * n, H)), np.zeros((n, H)),
                   np.zeros((n, V)), np.zeros((1, V)), np.zeros((n if G else 0, G), np.int32))
        params = (self.W, self.c, self.b, self.sigma, np.zeros(0))
        units = (int(self.visible.kernel_id), int(self.hidden.kernel_id))
        seed = np.uint64(rng.randint(0, 2**31 - 1))
        if verbose:
            print(f"{label} {int(n_updates)} updates of parallel tempering at {T} inverse "
                  f"temperatures ({pt_betas[0]:g} .. {pt_betas[-1]:g}) to start the runs")
        for t in range(int(n_updates)):
            _neg._pt_chain(n, 1, units, seed, t, params, offsets, tempering, scratch)
        swaps, round_trips = tempering[3], int(tempering[4][0])
        self.pt_acceptance = swaps[1] / np.maximum(swaps[0], 1.0)
        self.pt_round_trips = round_trips
        if verbose:
            rates = ", ".join(f"{a:.2f}" for a in self.pt_acceptance)
            print(f"{label} parallel tempering: swap acceptance {rates}; {round_trips} "
                  "round trips")
        worst = int(np.argmin(self.pt_acceptance))
        if self.pt_acceptance[worst] < PT_MIN_SWAP_ACCEPTANCE:
            warnings.warn(
                f"Reverse AIS: the parallel-tempering chains that start the runs swapped "
                f"between the inverse temperatures {pt_betas[worst]:.4g} and "
                f"{pt_betas[worst + 1]:.4g} in {100 * self.pt_acceptance[worst]:.1f}% of "
                f"the attempts (below {100 * PT_MIN_SWAP_ACCEPTANCE:g}%; {round_trips} round "
                "trips): the chains at beta = 1 have hardly met the hotter ones, so they "
                "may not have mixed and reverse AIS may bound nothing. Give pt_betas more "
                "inverse temperatures where the acceptance is low (near 1, usually).",
                RuntimeWarning, stacklevel=5)
        v = tempering[0][:n] * self.sigma**2 if self.gaussian else tempering[0][:n]
        return self.from_visible(v)

    def log_weights(self, betas, reverse, v0, seed, progress):
        """Log weights of ``v0.shape[0]`` runs (forward: ``v0`` None or the number of
        runs, base-model starts) along the increasing ``betas``, run backwards when
        ``reverse`` (from the states ``v0``)."""
        n = v0 if isinstance(v0, int) else v0.shape[0]
        start = None if isinstance(v0, int) else v0
        schedule = np.ascontiguousarray(betas[::-1]) if reverse else betas
        log_w = np.empty(n)
        if self.categorical:  # one kernel call: no progress between
            G = self.visible.offsets.shape[0] - 1
            final = np.empty((n, G), dtype=np.int64)
            self._categorical(schedule, final if start is None else start, start is None,
                              seed, log_w, final)
            progress.update(betas.shape[0])
        else:
            _ais_chunked(self.W, self.WT, self.c, self.b, self.b_base, self.sigma,
                         self.gaussian, schedule, start, seed, log_w, self.hidden.kernel_id,
                         progress)
        return log_w

    def _categorical(self, betas, codes_init, sample_init, seed, log_w, codes_final):
        _ck.ais_log_weights(self.W, self.c, self.b, self.b_base, self.visible.offsets,
                            betas, seed, log_w, codes_init, sample_init, codes_final,
                            self.hidden.kernel_id)


class _Progress:
    """Progress lines of AIS: ``"{label} {done}/{total} temperatures ({pct}%), elapsed =
    ..s, time left ~ ..s"`` when 10% of the total or 5 s of wall time have passed
    since the last line, and at the end. (Here rather than in ``_fitting``: this
    module reads only the unit table and the kernels.)"""

    def __init__(self, label, total, enabled, every=0.1, seconds=5.0):
        self.label, self.total, self.enabled = label, int(total), enabled
        self.every, self.seconds = every, seconds
        self.t_start = self.t_last = time.time()
        self.done_last = 0

    def update(self, done):
        if not self.enabled:
            return
        now = time.time()
        if not (done >= self.total or done - self.done_last >= self.every * self.total
                or now - self.t_last >= self.seconds):
            return
        elapsed = now - self.t_start
        left = elapsed / done * (self.total - done)
        print(f"{self.label} {done}/{self.total} temperatures "
              f"({100.0 * done / self.total:.0f}%), elapsed = {elapsed:.1f}s, "
              f"time left ~ {left:.1f}s")
        self.t_last, self.done_last = now, done


def _ais_chunks(n_betas):
    """``(start, stop)`` index pairs into the schedule, each chunk's stop the next one's start."""
    K = n_betas - 1
    step = max(_AIS_MIN_CHUNK, -(-K // _AIS_CHUNKS))
    bounds = list(range(0, K, step)) + [K]
    return list(zip(bounds[:-1], bounds[1:]))


def _chunk_seed(seed, c):
    """The seed of chunk ``c`` (``seed`` itself for the first: one chunk is one kernel call)."""
    if c == 0:
        return seed
    return int(np.random.SeedSequence([seed, c]).generate_state(1)[0] >> 1)


def _ais_chunked(W, WT, c, b, b_base, sigma, gaussian_units, betas, v0, seed, log_w,
                 hidden_units, progress):
    """``_pk.ais_log_weights`` over ``betas`` in chunks (:func:`_ais_chunks`), reporting
    ``progress`` between them; ``v0`` None starts from base-model samples.

    Chunk ``c > 0`` continues the runs from the last chunk's states with the
    schedule ``[beta_s, beta_s, ..., beta_e]``: its first step, from ``beta_s``
    to itself, adds exactly 0 to the log weights and makes the Gibbs sweep at
    ``beta_s`` that the last chunk (which ends without a sweep) left out, so
    the runs are those of one call, on the chunk's own random streams.
    """
    R, V = log_w.shape[0], W.shape[1]
    v = np.empty((R, V))
    part = np.empty(R)
    log_w[:] = 0.0
    for k, (start, stop) in enumerate(_ais_chunks(betas.shape[0])):
        if k == 0:
            chunk, sample_init = betas[:stop + 1], v0 is None
            v_init = v if v0 is None else v0
        else:
            chunk = np.concatenate([betas[start:start + 1], betas[start:stop + 1]])
            sample_init, v_init = False, v
        _pk.ais_log_weights(W, WT, c, b, b_base, sigma, gaussian_units, chunk, v_init,
                            sample_init, _chunk_seed(seed, k), part, v, hidden_units)
        log_w += part
        progress.update(stop + 1)  # temperatures done, beta_0 included
