"""The training half of :class:`rbmlib.DBM`: its state and its epoch steps.

:class:`_DBMTraining` is what the training shell (:class:`rbmlib._fitting.EpochTrainer`,
:func:`rbmlib._fitting.run_epochs`) asks of a model: a private state
(:class:`_DBMState`), the epoch step (greedy pretraining of the modified RBMs, then
joint training with mean-field data statistics and persistent-chain model
statistics), the divergence check and the epoch record. The arithmetic is in
:mod:`rbmlib._kernels.dbm`; the estimator (parameters, fit, inference) is
:mod:`rbmlib.deep.dbm`.
"""

import numpy as np
import scipy.sparse as sp

from .. import _fitting
from .._kernels import dbm as _kd
from .._kernels.units import (
    sigmoid_rows,
    sigmoid_sample_rows,
)

#: Rows of one mean-field block in transform and score_samples.
_BLOCK_ROWS = 1024


def _check_layer_sizes(sizes):
    try:
        sizes = [int(s) for s in np.atleast_1d(np.asarray(sizes))]
        ok = all(s == h for s, h in zip(sizes, np.atleast_1d(np.asarray(sizes)))) and \
            all(not isinstance(h, (bool, np.bool_)) for h in np.atleast_1d(sizes))
    except (TypeError, ValueError):
        ok = False
    if not ok or len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(
            "hidden_layer_sizes must be a sequence of at least two positive integers "
            f"(the units of each hidden layer, bottom first); got {sizes!r}. A DBM with one "
            "hidden layer is an RBM: use rbmlib.BernoulliRBM.")
    return sizes


def _dense(X, dtype=np.float64):
    """Dense C-ordered rows of ``X`` in ``dtype`` (the DBM's: float64 or float32)."""
    return np.ascontiguousarray(X.toarray() if sp.issparse(X) else X, dtype=dtype)


def _model_dtype(X):
    """The DBM's float type for training data ``X``: float32 data gives a float32
    DBM (half the memory, about 1.5 times the speed of its products); anything
    else float64."""
    return np.dtype(np.float32) if X.dtype == np.float32 else np.dtype(np.float64)


class _BlockData:
    """Training rows read one block at a time (:class:`rbmlib._blocks.RowBlocks`: a
    numpy.memmap, a dask array or an iterable of blocks), with what training asks
    of the whole: ``shape``, the column means (one pass over the blocks, in
    ``__init__``) and the rows that start the persistent chains (another pass).

    ``check`` validates a block (float64 or float32, finite, the fitted number of
    features); ``dtype`` is the first block's."""

    def __init__(self, source, check):
        self.source, self._check = source, check
        n, total = 0, None
        self.lo, self.hi = np.inf, -np.inf
        self.dtype = None
        for block in self.blocks():
            if self.dtype is None:
                self.dtype = block.dtype
            total = block.sum(axis=0) if total is None else total + block.sum(axis=0)
            n += block.shape[0]
            if block.shape[0]:
                self.lo = min(self.lo, float(block.min()))
                self.hi = max(self.hi, float(block.max()))
        if not n:
            raise ValueError("X holds no rows; at least one sample is required.")
        self.shape = (n, int(np.asarray(total).size))
        self._mean = np.asarray(total, dtype=np.float64).ravel() / n

    def mean(self, axis=0, dtype=None):
        return self._mean

    def variance(self):
        """Column variances in float64 (one more pass over the blocks)."""
        ss = np.zeros(self.shape[1])
        for block in self.blocks():
            d = _dense(block, np.float64) - self._mean
            ss += np.einsum("ij,ij->j", d, d)
        return ss / self.shape[0]

    def blocks(self, order_seed=None):
        """The validated blocks: in storage order, or (array sources) in a random
        order drawn from ``np.random.default_rng(order_seed)``."""
        rng = None if order_seed is None else np.random.default_rng(order_seed)
        for block in self.source.blocks(rng, shuffle_rows=False):
            yield self._check(block)

    def __getitem__(self, rows):
        """Rows ``rows`` (integer array, repeats allowed), in that order, dense."""
        rows = np.asarray(rows)
        out = np.empty((len(rows), self.shape[1]), dtype=self.dtype)
        start = 0
        for block in self.blocks():
            stop = start + block.shape[0]
            sel = (rows >= start) & (rows < stop)
            if sel.any():
                out[sel] = _dense(block[rows[sel] - start], self.dtype)
            start = stop
        return out


def _range_of(X):
    """X, or for streamed rows the array of their smallest and largest value."""
    return np.array([[X.lo, X.hi]]) if isinstance(X, _BlockData) else X


class _DBMState:
    """What an epoch reads and writes: a private copy of the model.

    ``W``, ``b``: the DBM's weights and biases (lists, see
    :mod:`rbmlib._kernels.dbm`); ``vW``, ``vb`` their momentum velocities;
    ``chains``: the fantasy particles (binary states of every layer) or None
    before the DBM is composed; ``rW``, ``rbv``, ``rbh``: the pretraining RBMs'
    weights and visible / hidden biases (None once composed) and ``rv`` the
    velocities of the RBM being trained; ``offsets``: the centering offsets of
    every layer (None unless centered); ``stream``: the next random stream of
    ``seed``; ``n_pretrain``: pretraining epochs done; ``n_iter``: all epochs
    done (``history`` has one record per epoch).
    """

    _LISTS = ("W", "b", "vW", "vb", "chains", "rW", "rbv", "rbh", "rv", "offsets")

    def __init__(self, **kw):
        for name in self._LISTS:
            setattr(self, name, kw.pop(name, None))
        for name in ("seed", "stream", "n_updates", "n_pretrain", "n_iter", "history"):
            setattr(self, name, kw.pop(name))
        assert not kw, kw

    @property
    def composed(self):
        return self.rW is None

    def copy(self):
        kw = {name: (None if getattr(self, name) is None
                     else [a.copy() for a in getattr(self, name)]) for name in self._LISTS}
        return _DBMState(seed=self.seed, stream=self.stream, n_updates=self.n_updates,
                         n_pretrain=self.n_pretrain, n_iter=self.n_iter,
                         history=list(self.history), **kw)


class _DBMTraining(_fitting.EpochTrainer):
    """The DBM's state and epoch step (a mixin of :class:`rbmlib.DBM`, whose
    parameters it reads)."""

    def _gaussian_training(self):
        """Whether the DBM being trained has Gaussian visible units."""
        return self.visible_units == "gaussian"

    # ------------------------------------------------------------------ state
    def _new_state(self, X, rng, pretrain):
        """Weights ~ N(0, 0.01^2), hidden biases 0, visible biases the log-odds of
        the data means clipped to [0.01, 0.99] (Hinton's practical guide, sec. 8;
        Gaussian visible units: the data means, as GaussianBernoulliRBM's),
        for the DBM and its pretraining RBMs."""
        sizes = [X.shape[1]] + _check_layer_sizes(self.hidden_layer_sizes)
        K = len(sizes) - 1
        dt = _model_dtype(X)
        W = [rng.normal(0.0, 0.01, (sizes[k], sizes[k + 1])).astype(dt) for k in range(K)]
        col_mean = np.asarray(X.mean(axis=0, dtype=np.float64)).ravel()
        if self._gaussian_training():
            b0 = col_mean.astype(dt)
        else:
            p = np.clip(col_mean, 0.01, 0.99)
            b0 = (np.log(p) - np.log1p(-p)).astype(dt)
        b = [b0] + [np.zeros(s, dt) for s in sizes[1:]]
        seed = int(rng.randint(0, 2**62))
        st = _DBMState(W=W, b=b, vW=[np.zeros_like(w) for w in W],
                       vb=[np.zeros_like(x) for x in b], seed=seed, stream=0, n_updates=0,
                       n_pretrain=0, n_iter=0, history=[])
        if pretrain:
            st.rW = [w.copy() for w in W]
            st.rbv = [b[0].copy()] + [np.zeros(sizes[k], dt) for k in range(1, K)]
            st.rbh = [np.zeros(sizes[k + 1], dt) for k in range(K)]
        return st

    def _fitted_state(self):
        return _DBMState(W=[w.copy() for w in self.coefs_],
                         b=[x.copy() for x in self.intercepts_],
                         vW=[v.copy() for v in self._velocities[0]],
                         vb=[v.copy() for v in self._velocities[1]],
                         chains=[c.copy() for c in self.fantasy_particles_],
                         offsets=(None if getattr(self, "offsets_", None) is None
                                  else [m.copy() for m in self.offsets_]),
                         seed=self._seed, stream=self._stream, n_updates=self._n_updates,
                         n_pretrain=self.n_iter_pretrain_,
                         n_iter=self.n_iter_ + self.n_iter_pretrain_,
                         history=list(self.history_))

    @staticmethod
    def _factors(l, K):
        """(up, down) multipliers of pretraining RBM ``l`` of ``K``."""
        return (2.0 if l == 0 else 1.0), (2.0 if l == K - 1 else 1.0)

    def _compose(self, state, X):
        """The DBM from the pretraining RBMs (if any), and its fantasy particles."""
        K = len(state.W)
        if state.rW is not None:
            for l in range(K):
                state.W[l] = state.rW[l] * (0.5 if 0 < l < K - 1 else 1.0)
            state.b[0] = state.rbv[0].copy()
            for k in range(1, K):
                state.b[k] = 0.5 * (state.rbh[k - 1] + state.rbv[k])
            state.b[K] = state.rbh[K - 1].copy()
            state.rW = state.rbv = state.rbh = state.rv = None
            state.vW = [np.zeros_like(w) for w in state.W]
            state.vb = [np.zeros_like(x) for x in state.b]
        # the chains start at training rows and their sampled mean-field posteriors
        n = X.shape[0]
        rows = np.random.default_rng([state.seed, 1]).integers(0, n, self.n_chains)
        dt = state.W[0].dtype
        mu, _ = _kd.mean_field(_dense(X[rows], dt), state.W, state.b, self.n_mean_field,
                               self.mean_field_tol, self.mean_field_damping)
        draw = np.random.default_rng([state.seed, 3, state.n_iter])
        state.chains = [(draw.random(m.shape) < m).astype(dt) for m in mu]
        if self._gaussian_training():  # real-valued visible units start at the rows
            state.chains[0] = np.array(mu[0], dtype=dt)

    # ------------------------------------------------------------------ epochs
    def _order(self, state, n):
        return np.random.default_rng([state.seed, 2, state.n_iter]).permutation(n)

    def _batches(self, state, data, l=0):
        """The mini-batches of an epoch of layer ``l``'s input (0: X), dense.

        In memory, one permutation of all rows (:meth:`_order`). Streamed
        (``data.X`` a :class:`_BlockData`): the blocks in a random order, each
        passed up through the pretraining RBMs below ``l`` and its rows
        permuted by the same generator in turn; a block of all the rows gives
        the mini-batches of the in-memory epoch.
        """
        X = data.X
        dt = state.W[0].dtype
        if not isinstance(X, _BlockData):
            V = self._layer_input(state, data, l)
            order = self._order(state, V.shape[0])
            for start in range(0, len(order), self.batch_size):
                yield _dense(V[np.sort(order[start:start + self.batch_size])], dt)
            return
        gen = np.random.default_rng([state.seed, 2, state.n_iter])
        for block in X.blocks([state.seed, 4, state.n_iter]):
            for k in range(l):
                block = self._rbm_up(state, block, k)
            perm = gen.permutation(block.shape[0])
            for start in range(0, len(perm), self.batch_size):
                yield _dense(block[np.sort(perm[start:start + self.batch_size])], dt)

    def _rbm_up(self, state, V, l):
        """Hidden probabilities of pretraining RBM ``l`` given its input rows ``V``."""
        up, _ = self._factors(l, len(state.W))
        dt = state.rW[l].dtype
        out = np.empty((V.shape[0], state.rW[l].shape[1]), dtype=dt)
        for start in range(0, V.shape[0], _BLOCK_ROWS):
            blk = _dense(V[start:start + _BLOCK_ROWS], dt) @ state.rW[l]
            blk *= up
            sigmoid_rows(blk, state.rbh[l], blk)
            out[start:start + _BLOCK_ROWS] = blk
        return out

    def _layer_input(self, state, data, l):
        """Training rows of pretraining RBM ``l``: X, or the probabilities of the
        hidden units of RBM ``l - 1`` given its own input (computed once)."""
        if l == 0:
            return data.X
        if l not in data.inputs:
            data.inputs[l] = self._rbm_up(state, self._layer_input(state, data, l - 1), l - 1)
        return data.inputs[l]

    def _pretrain_epoch(self, state, data, l):
        """One epoch of CD-1 for pretraining RBM ``l`` (modified: its upward
        input doubled at the bottom, its downward input doubled at the top).

        With Gaussian visible units the bottom RBM is Gaussian-Bernoulli (unit
        variance): its reconstruction is a draw of ``N(b + h W^T, 1)``, as
        GaussianBernoulliRBM's CD step samples its visible units, and its
        error is that of the mean ``b + h W^T``."""
        K = len(state.W)
        up, down = self._factors(l, K)
        W, bv, bh = state.rW[l], state.rbv[l], state.rbh[l]
        if state.rv is None or state.rv[0].shape != W.shape:
            state.rv = [np.zeros_like(W), np.zeros_like(bv), np.zeros_like(bh)]
        vW, vbv, vbh = state.rv
        lr, mom, wd = self.learning_rate_pretrain, self.momentum, self.weight_decay
        err, n_rows = 0.0, 0
        for v0 in self._batches(state, data, l):
            m = v0.shape[0]
            n_rows += m
            h0 = v0 @ W
            h0 *= up
            hs = np.empty_like(h0)
            sigmoid_sample_rows(h0, bh, hs, _kd.key(state.seed, state.stream), True)
            state.stream += 1
            v1 = np.ascontiguousarray(hs @ W.T)
            v1 *= down
            if l == 0 and self._gaussian_training():
                vs = np.empty_like(v1)  # v1 becomes the mean, vs the draw
                _kd.draw_layer(v1, bv, vs, _kd.key(state.seed, state.stream), True)
                state.stream += 1
                err += float(np.sum((v0 - v1) ** 2))
                v1 = vs
            else:
                sigmoid_rows(v1, bv, v1)
                err += float(np.sum((v0 - v1) ** 2))
            h1 = v1 @ W
            h1 *= up
            sigmoid_rows(h1, bh, h1)
            gW = (v0.T @ h0 - v1.T @ h1) / m - wd * W
            vW *= mom
            vW += lr * gW
            W += vW
            vbv *= mom
            vbv += lr * (v0.mean(axis=0) - v1.mean(axis=0))
            bv += vbv
            vbh *= mom
            vbh += lr * (h0.mean(axis=0) - h1.mean(axis=0))
            bh += vbh
            state.n_updates += 1
        return err / max(n_rows * W.shape[0], 1)

    def _joint_epoch(self, state, data):
        """One epoch of joint training: mean-field data statistics, chain model statistics."""
        X = data.X
        K = len(state.W)
        t = state.n_iter - state.n_pretrain
        lr = self.learning_rate / (1.0 + self.learning_rate_decay * t)
        mom, wd = self.momentum, self.weight_decay
        err, n_mf, n_batches = 0.0, 0, 0
        if not self.centered:
            state.offsets = None
        for xb in self._batches(state, data):
            mu, used = _kd.mean_field(xb, state.W, state.b, self.n_mean_field,
                                      self.mean_field_tol, self.mean_field_damping)
            pos_W, pos_b = _kd.data_statistics(mu)
            if self.centered and state.offsets is None:
                # the visible units' data means; the hidden layers' means on this batch
                state.offsets = [np.asarray(X.mean(axis=0, dtype=np.float64),
                                            dtype=xb.dtype).ravel()] + [
                    m.mean(axis=0) for m in mu[1:]]
            p, n_streams = _kd.gibbs_sweeps(state.chains, state.W, state.b, state.seed,
                                            state.stream, self.n_gibbs_steps,
                                            gaussian=self._gaussian_training())
            state.stream += n_streams
            neg_W, neg_b = _kd.chain_statistics(state.chains, p, state.W)
            if state.offsets is not None:
                _kd.centered_step(state.W, state.b, state.vW, state.vb, state.offsets,
                                  pos_W, pos_b, neg_W, neg_b, lr, mom, wd,
                                  1.0 - self.centering_decay)
            else:
                for k in range(K):
                    _kd.momentum_step(state.W[k], state.vW[k], pos_W[k], neg_W[k], lr, mom,
                                      wd)
                for k in range(K + 1):
                    _kd.momentum_step(state.b[k], state.vb[k], pos_b[k], neg_b[k], lr, mom,
                                      0.0)
            rec = np.ascontiguousarray(mu[1] @ state.W[0].T)
            if self._gaussian_training():
                rec += state.b[0]
            else:
                sigmoid_rows(rec, state.b[0], rec)
            err += float(np.sum((xb - rec) ** 2))
            n_mf += used
            n_batches += 1
            state.n_updates += 1
        return {"stage": "joint",
                "reconstruction_error": err / max(X.shape[0] * X.shape[1], 1),
                "mean_field_iterations": n_mf / max(n_batches, 1),
                "learning_rate": float(lr)}

    def _epoch_step(self, state, data, epoch):
        K = len(state.W)
        if not state.composed:
            l = state.n_pretrain // data.n_iter_pretrain if data.n_iter_pretrain else K
            if l < K:
                err = self._pretrain_epoch(state, data, l)
                state.n_pretrain += 1
                if state.n_pretrain == K * data.n_iter_pretrain:
                    self._compose(state, data.X)
                return {"stage": f"pretraining layer {l + 1}", "pretraining_error": err}
            self._compose(state, data.X)
        return self._joint_epoch(state, data)

    def _check_divergence(self, state, data, step):
        arrays = (state.W + state.b) if state.composed else (state.rW + state.rbv + state.rbh)
        if not all(np.isfinite(a).all() for a in arrays):
            return "the weights or biases are no longer finite"
        return None

    def _divergence_error(self, bad, state, data, committed, epoch):
        from ..exceptions import DivergenceError

        stage = "joint training" if state.composed else "pretraining"
        rate = "learning_rate" if state.composed else "learning_rate_pretrain"
        return DivergenceError(
            f"DBM: {stage} diverged in epoch {state.n_iter + 1}: {bad}. Lower {rate} "
            f"(now {getattr(self, rate)}) or raise weight_decay. "
            f"{_fitting.scale_cause(_range_of(data.X))}".rstrip())

    def _epoch_record(self, state, data, step, seconds):
        return {"epoch": state.n_iter + 1, "seconds": seconds, **step}

    def _epoch_line(self, state, data, record, seconds, elapsed, epoch, n_epochs):
        line = super()._epoch_line(state, data, record, seconds, elapsed, epoch, n_epochs)
        label = self._verbose_label(data)
        return line.replace(label, f"{label} [{record['stage']}]", 1)
