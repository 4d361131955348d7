"""Pictures of RBMs and DBNs: filters, samples, receptive fields, learning curves.

matplotlib is an optional dependency (the ``plot`` extra)::

    pip install "rbmlib[plot]"

It is imported inside the functions, so ``import rbmlib.plotting`` works
without it; calling a plotting function without it raises an ImportError
that says how to install it. :func:`tile_images` needs NumPy only.

Every ``plot_*`` function creates a new figure with
:mod:`matplotlib.pyplot`, returns the :class:`matplotlib.figure.Figure`, and
saves it to ``path`` when one is given. The figure is left open (so that it
shows in notebooks and interactive sessions): close it with
``matplotlib.pyplot.close(fig)`` when making many figures in a script.

Images are tiled into one mosaic per figure (one ``imshow``) rather than one
axes per image: a 100-filter figure draws and saves in a fraction of the
time.
"""

import math
from numbers import Integral

import numpy as np

from ._docstrings import Substitution

__all__ = [
    "tile_images",
    "plot_filters",
    "plot_samples",
    "plot_receptive_fields",
    "plot_history",
    "plot_embedding",
]

_INSTALL_HINT = 'pip install "rbmlib[plot]"'

# Axis labels of the known per-epoch quantities of an RBM's ``history_``.
_HISTORY_LABELS = {
    "reconstruction_error": "reconstruction error\n(mean squared, per unit)",
    "pseudo_log_likelihood": "pseudo-log-likelihood\n(nats, summed over visible units)",
    "negative_free_energy": "-free energy (nats)",
    "free_energy_gap": "free-energy gap\n(validation - training, nats)",
    "swap_acceptance": "swap acceptance\n(per neighbour pair)",
    "round_trips": "round trips\n(per epoch)",
}
# Per-epoch quantities that are a list (one line each): parallel tempering's
# acceptance rate of each neighbour pair of temperatures.
_HISTORY_SERIES = ("swap_acceptance",)
# Not plotted: the x axis and the wall time.
_HISTORY_SKIP = ("epoch", "seconds")


def _pyplot():
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "rbmlib.plotting needs matplotlib, which is not installed. Install it with "
            f"the plot extra: {_INSTALL_HINT} (or: pip install matplotlib)."
        ) from exc
    return plt


def _finish(fig, path, dpi):
    if path is not None:
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return fig


# --------------------------------------------------------------------------
# Tiling
# --------------------------------------------------------------------------


def _image_shape(n_features, image_shape):
    if image_shape is None:
        side = math.isqrt(int(n_features))
        if side * side != n_features:
            raise ValueError(
                f"Cannot infer the image shape of {n_features} features (not a perfect "
                f"square); pass image_shape=(height, width)."
            )
        return side, side
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 2 or shape[0] * shape[1] != n_features:
        raise ValueError(
            f"image_shape={tuple(image_shape)!r} does not match {n_features} features "
            f"(expected (height, width) with height * width == {n_features})."
        )
    return shape


def _scale_tiles(images, scale):
    """Rescale each row of ``images`` (n_tiles, n_pixels) into [0, 1]."""
    images = np.asarray(images, dtype=np.float64)
    if scale is None:
        return images
    if scale == "symmetric":
        m = np.max(np.abs(images), axis=1, keepdims=True)
        m[m == 0] = 1.0
        return 0.5 + 0.5 * images / m
    if scale == "minmax":
        lo = images.min(axis=1, keepdims=True)
        span = images.max(axis=1, keepdims=True) - lo
        span[span == 0] = 1.0
        return (images - lo) / span
    raise ValueError(f"scale must be None, 'symmetric' or 'minmax'; got {scale!r}.")


def tile_images(images, image_shape=None, n_cols=None, *, pad=1, scale=None,
                pad_value=np.nan):
    """Arrange flattened images in a grid, as one 2-D array.

    Parameters
    ----------
    images : array-like of shape (n_images, n_pixels) or (n_rows, n_cols, n_pixels)
        Flattened images (row-major). A 3-D array is laid out as given:
        ``images[i, j]`` goes to row ``i``, column ``j`` (for example Gibbs
        chains down the rows and sampling steps across the columns).
    image_shape : tuple of int (height, width), default=None
        Shape of one image; None infers a square one.
    n_cols : int, default=None
        Images per row for 2-D ``images``; None gives a near-square grid.
        Ignored for 3-D ``images``.
    pad : int, default=1
        Pixels between neighbouring tiles (and none around the border).
    scale : {None, "symmetric", "minmax"}, default=None
        Per-image rescaling into [0, 1]: None keeps the values;
        ``"symmetric"`` maps ``[-max|x|, max|x|]`` to [0, 1] (0 becomes 0.5,
        the usual view of filters: the sign shows); ``"minmax"`` maps each
        image's range to [0, 1].
    pad_value : float, default=nan
        Value of the padding and of empty cells (NaN is drawn in the
        colormap's "bad" colour).

    Returns
    -------
    mosaic : ndarray of shape (n_rows * (height + pad) - pad, n_cols * (width + pad) - pad)
        The tiled images, float64.

    Raises
    ------
    ValueError
        If the image shape cannot be inferred or does not match, if
        ``images`` is not 2-D or 3-D or holds no image, if ``n_cols`` is not
        a positive integer or None, or ``pad`` not a non-negative integer.
    """
    if n_cols is not None and (
            not isinstance(n_cols, Integral) or isinstance(n_cols, bool) or n_cols < 1):
        raise ValueError(f"n_cols must be a positive integer or None; got {n_cols!r}.")
    if not isinstance(pad, Integral) or isinstance(pad, bool) or pad < 0:
        raise ValueError(f"pad must be a non-negative integer; got {pad!r}.")
    images = np.asarray(images)
    if images.ndim == 3:
        n_rows, n_cols = images.shape[:2]
        flat = images.reshape(n_rows * n_cols, images.shape[2])
    elif images.ndim == 2:
        flat = images
        n = flat.shape[0]
        if n_cols is None:
            n_cols = max(1, math.ceil(math.sqrt(n)))
        n_cols = int(min(n_cols, max(n, 1)))
        n_rows = math.ceil(n / n_cols) if n else 0
    else:
        raise ValueError(
            f"images must be 2-D (n_images, n_pixels) or 3-D (n_rows, n_cols, n_pixels); "
            f"got an array of shape {images.shape}."
        )
    if flat.shape[0] == 0:
        raise ValueError("images holds no image.")
    h, w = _image_shape(flat.shape[1], image_shape)
    flat = _scale_tiles(flat, scale)
    pad = int(pad)
    mosaic = np.full((n_rows * (h + pad) - pad, n_cols * (w + pad) - pad), pad_value,
                     dtype=np.float64)
    for k, img in enumerate(flat):
        i, j = divmod(k, n_cols)
        mosaic[i * (h + pad):i * (h + pad) + h, j * (w + pad):j * (w + pad) + w] = \
            img.reshape(h, w)
    return mosaic


def _show_mosaic(mosaic, title, vmin, vmax, cmap, tile_px):
    plt = _pyplot()
    import matplotlib as mpl

    rows, cols = mosaic.shape
    inches = max(2.0, min(12.0, max(rows, cols) * tile_px / 100.0))
    fig, ax = plt.subplots(figsize=(inches * cols / max(rows, cols) + 0.2,
                                    inches * rows / max(rows, cols) + 0.5))
    cm = mpl.colormaps[cmap] if isinstance(cmap, str) else cmap
    cm = cm.with_extremes(bad="white")
    ax.imshow(np.ma.masked_invalid(mosaic), cmap=cm, vmin=vmin, vmax=vmax,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------
# Filters and receptive fields
# --------------------------------------------------------------------------


def _first_layer_weights(model):
    """Weights (n_units, n_features) of the bottom layer of a model, or an array."""
    if hasattr(model, "components_"):
        return np.asarray(model.components_), type(model).__name__
    if hasattr(model, "rbms_"):
        return np.asarray(model.rbms_[0].components_), type(model).__name__ + " layer 1"
    if hasattr(model, "coefs_"):
        return _input_weights(model), type(model).__name__ + " layer 1"
    if hasattr(model, "fit"):
        raise ValueError(
            f"{type(model).__name__} has no learned weights (components_, rbms_ or "
            f"coefs_): fit it first, or pass an array of shape (n_filters, n_features)."
        )
    W = np.asarray(model, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(
            f"weights must be 2-D of shape (n_filters, n_features); got shape {W.shape}."
        )
    return W, None


def _input_weights(model):
    """``coefs_[0].T`` restricted to the columns of X: a DBMClassifier's first layer
    also reads the DBM's posteriors ``q(h_2 | v)`` (not pixels), appended after X."""
    W = np.asarray(model.coefs_[0]).T
    if hasattr(model, "dbm_"):
        W = W[:, :model.n_features_in_]
    return W


def _check_n(n):
    if not isinstance(n, Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}.")
    return int(n)


@Substitution()
def plot_filters(model_or_weights, image_shape=None, n=100, *, n_cols=None,
                 scale="symmetric", cmap="gray", title=None, path=None, dpi=100):
    """Show the learned filters (rows of the weight matrix) as images.

    Each hidden unit's weights to the visible units, ``components_[j]``,
    reshaped to the image shape, one tile per unit, each rescaled on its own.

    Parameters
    ----------
    model_or_weights : fitted model or array-like of shape (n_filters, n_features)
        An RBM (``components_``), a :class:`~rbmlib.DBN` (its bottom RBM), a
        :class:`~rbmlib.DBM` or a fine-tuned network (``coefs_[0].T``:
        :class:`~rbmlib.DBNClassifier`, :class:`~rbmlib.DBNRegressor`,
        scikit-learn's MLPs; for a :class:`~rbmlib.DBMClassifier` the rows
        from X), or the weights.
    image_shape : tuple of int (height, width), default=None
        Shape of one image; None infers a square one from ``n_features``.
    n : int, default=100
        Show the first ``n`` filters (all of them if there are fewer).
    n_cols : int, default=None
        Tiles per row; None gives a near-square grid.
    scale : {"symmetric", "minmax", None}, default="symmetric"
        Per-filter rescaling (see :func:`tile_images`); with "symmetric",
        mid-grey is 0, white positive and black negative weights.
    cmap : str or Colormap, default="gray"
    title : str, default=None
        None gives a title naming the model and the number of filters.
    {plot_save_params}

    {plot_figure_returns}
    ValueError
        If the model is not fitted, the image shape cannot be inferred or
        does not match, or ``n`` is not a positive integer.
    """
    n = _check_n(n)
    W, name = _first_layer_weights(model_or_weights)
    W = W[:n]
    mosaic = tile_images(W, image_shape, n_cols, scale=scale)
    if title is None:
        title = f"{name + ': ' if name else ''}{W.shape[0]} filters"
    vmin, vmax = (0.0, 1.0) if scale is not None else (None, None)
    return _finish(_show_mosaic(mosaic, title, vmin, vmax, cmap, 20), path, dpi)


def _layer_products(model):
    """Weights (n_units, n_features) of each hidden layer, multiplied down to the input.

    For a DBN, the weights of the feed-forward layers equal to the stack
    (``rbmlib.dbn._dbn_affine_maps``, those a fine-tuned network starts from):
    the visible units' input map and the standardisation of the features above
    real-valued hidden units (``scalers_``) are folded in.
    """
    if hasattr(model, "rbms_"):
        from .dbn import _dbn_affine_maps

        mats = [np.asarray(W, dtype=np.float64).T for W, _ in _dbn_affine_maps(model)]
    elif hasattr(model, "coefs_"):
        # a network's last layer is its output layer; a DBM (fantasy_particles_) has none
        top = None if hasattr(model, "fantasy_particles_") else -1
        mats = [np.asarray(W, dtype=np.float64).T for W in model.coefs_[:top]]
        if mats:
            mats[0] = _input_weights(model).astype(np.float64)
    else:
        raise ValueError(
            f"plot_receptive_fields needs a fitted DBN (rbms_) or a fine-tuned network "
            f"(coefs_); got {type(model).__name__}."
        )
    prods = [mats[0]]
    for W in mats[1:]:
        prods.append(W @ prods[-1])
    return prods


@Substitution()
def plot_receptive_fields(dbn, layer=-1, image_shape=None, n=100, *, n_cols=None,
                          scale="symmetric", cmap="gray", title=None, path=None, dpi=100):
    """Show the receptive fields of the units of a DBN layer, in pixel space.

    The receptive field of unit ``j`` of layer ``l`` is row ``j`` of the
    product of the weights down to the pixels,
    ``W_l W_(l-1) ... W_1`` (each ``W`` of shape (n_units, n_units_below)): a
    linear view that ignores the nonlinearities in between, as in the
    visualisations of Lee et al. (2009) and Erhan et al. (2009). For a DBN
    each ``W`` is the weight matrix of the network layer equal to the RBM (the
    one a fine-tuned network starts from): the RBM's ``components_`` with the
    standardisation of its input (``scalers_``, above real-valued hidden
    units) and the visible units' input map (``v / sigma^2`` for Gaussian
    units) folded in, so the fields of a DBN and of a network built from it
    agree. For a Bernoulli bottom layer, ``layer=0`` shows its filters.

    Parameters
    ----------
    dbn : fitted DBN or fine-tuned network
        A :class:`~rbmlib.DBN` (``rbms_``), a :class:`~rbmlib.DBM` (every
        hidden layer's ``coefs_``) or a network with ``coefs_``
        (:class:`~rbmlib.DBNClassifier`, :class:`~rbmlib.DBNRegressor`,
        scikit-learn's MLPs: the fine-tuned weights; for a
        :class:`~rbmlib.DBMClassifier`, the weights from X, not from the
        appended ``q(h_2 | X)``).
    layer : int, default=-1
        Hidden layer, bottom first (0 is the first hidden layer); negative
        values count from the top.
    image_shape : tuple of int (height, width), default=None
        Shape of one input image; None infers a square one.
    n : int, default=100
        Show the first ``n`` units of the layer.
    n_cols : int, default=None
        Tiles per row; None gives a near-square grid.
    scale : {"symmetric", "minmax", None}, default="symmetric"
        Per-unit rescaling (see :func:`tile_images`).
    cmap : str or Colormap, default="gray"
    title : str, default=None
        None names the layer and the number of units.
    {plot_save_params}

    {plot_figure_returns}
    ValueError
        If the model is not a fitted DBN or network, ``layer`` is out of
        range, or the image shape cannot be inferred or does not match.

    References
    ----------
    H. Lee, R. Grosse, R. Ranganath and A. Y. Ng, "Convolutional deep belief
    networks for scalable unsupervised learning of hierarchical
    representations", ICML 2009.

    D. Erhan, Y. Bengio, A. Courville and P. Vincent, "Visualizing
    higher-layer features of a deep network", Technical Report 1341,
    Université de Montréal, 2009.
    """
    n = _check_n(n)
    prods = _layer_products(dbn)
    L = len(prods)
    if not isinstance(layer, Integral) or isinstance(layer, bool) or not -L <= layer < L:
        raise ValueError(f"layer must index one of the {L} hidden layers; got {layer!r}.")
    layer = int(layer) % L
    R = prods[layer][:n]
    mosaic = tile_images(R, image_shape, n_cols, scale=scale)
    if title is None:
        title = (f"{type(dbn).__name__} layer {layer + 1}: receptive fields of "
                 f"{R.shape[0]} units")
    vmin, vmax = (0.0, 1.0) if scale is not None else (None, None)
    return _finish(_show_mosaic(mosaic, title, vmin, vmax, cmap, 20), path, dpi)


# --------------------------------------------------------------------------
# Samples
# --------------------------------------------------------------------------


@Substitution()
def plot_samples(samples, image_shape=None, *, n_cols=None, scale=None, cmap="gray",
                 title=None, path=None, dpi=100):
    """Show samples (from Gibbs chains, a DBN, or data) as a grid of images.

    Parameters
    ----------
    samples : array-like of shape (n_samples, n_features) or (n_rows, n_cols, n_features)
        Visible states or means, e.g. ``DBN.sample(n)``, or successive
        ``rbm.gibbs(v)`` states stacked as ``(n_chains, n_steps, n_features)``
        to show each chain along a row.
    image_shape : tuple of int (height, width), default=None
        Shape of one image; None infers a square one.
    n_cols : int, default=None
        Tiles per row for 2-D ``samples``; None gives a near-square grid.
    scale : {None, "symmetric", "minmax"}, default=None
        None draws the values as they are on a fixed [0, 1] scale (right for
        Bernoulli units); ``"minmax"`` rescales each sample on its own (for
        real-valued samples of a Gaussian-Bernoulli RBM).
    cmap : str or Colormap, default="gray"
    title : str, default=None
    {plot_save_params}

    {plot_figure_returns}
    ValueError
        If the image shape cannot be inferred or does not match.
    """
    mosaic = tile_images(samples, image_shape, n_cols, scale=scale)
    if scale is None:
        lo, hi = np.nanmin(mosaic), np.nanmax(mosaic)
        vmin, vmax = (0.0, 1.0) if lo >= 0.0 and hi <= 1.0 else (lo, hi)
    else:
        vmin, vmax = 0.0, 1.0
    return _finish(_show_mosaic(mosaic, title, vmin, vmax, cmap, 24), path, dpi)


# --------------------------------------------------------------------------
# Learning curves
# --------------------------------------------------------------------------


def _integer_locator():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def _history_keys(histories):
    """Numeric per-epoch quantities, in order of first appearance."""
    keys = []
    for hist in histories:
        for rec in hist:
            for key, value in rec.items():
                if key in _HISTORY_SERIES and key not in keys:
                    keys.append(key)
                elif (key not in _HISTORY_SKIP and key not in keys
                        and isinstance(value, (int, float, np.integer, np.floating))
                        and not isinstance(value, bool)):
                    keys.append(key)
    return keys


def _plot_history_column(axes, hist, keys, label=None):
    for ax, key in zip(axes, keys):
        pts = [(rec.get("epoch", i + 1), rec[key]) for i, rec in enumerate(hist) if key in rec]
        if pts and key in _HISTORY_SERIES:  # one line per entry (neighbour pair t, t + 1)
            x = [p[0] for p in pts]
            y = np.array([p[1] for p in pts], dtype=float).reshape(len(pts), -1)
            for t in range(y.shape[1]):
                ax.plot(x, y[:, t], marker="o" if len(x) < 30 else None, ms=3,
                        label=f"\u03b2{t}\u2194\u03b2{t + 1}")
            if y.shape[1] <= 8:
                ax.legend(fontsize=6, ncol=2)
        elif pts:
            x, y = zip(*pts)
            ax.plot(x, y, marker="o" if len(x) < 30 else None, ms=3, label=label)
        else:
            ax.text(0.5, 0.5, "not recorded", ha="center", va="center",
                    transform=ax.transAxes, color="0.5")
        ax.set_ylabel(_HISTORY_LABELS.get(key, key.replace("_", " ")), fontsize=8)
        ax.grid(True, alpha=0.3)
    if axes:
        axes[-1].set_xlabel("epoch")
        axes[-1].xaxis.set_major_locator(_integer_locator())


def _history_of(model):
    hist = getattr(model, "history_", None)
    if hist is None:
        raise ValueError(f"{type(model).__name__} has no history_: fit it first.")
    return list(hist)


@Substitution()
def plot_history(model, *, title=None, path=None, dpi=100):
    """Plot learning curves: per-epoch monitoring of an RBM, a DBN or a fine-tuned network.

    * an RBM (``history_``), or its ``history_`` list itself: one panel per
      recorded quantity (reconstruction error, pseudo-log-likelihood or
      -free energy, free-energy gap when ``validation_fraction`` was set;
      with parallel tempering the swap acceptance of each neighbour pair, one
      line each, and the round trips);
    * a :class:`~rbmlib.DBN` (``rbms_``): the same for each layer, one
      column per layer;
    * a fine-tuned network (``loss_curve_``: :class:`~rbmlib.DBNClassifier`,
      :class:`~rbmlib.DBNRegressor`, scikit-learn's MLPs): the training
      loss per epoch and, when early stopping held out data, the
      validation score per epoch with the best one marked.

    Parameters
    ----------
    model : fitted model or list of dict
        See above.
    title : str, default=None
        Figure title; None names the model.
    {plot_save_params}

    Returns
    -------
    fig : matplotlib.figure.Figure
        With one axes per panel: ``n_quantities`` for an RBM,
        ``n_quantities * n_layers`` for a DBN (rows are quantities, columns
        layers), 1 or 2 for a fine-tuned network.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        If the model is not fitted or has recorded nothing to plot.
    """
    if isinstance(model, (list, tuple)):
        return _plot_rbm_histories([list(model)], None, title or "RBM training", path, dpi)
    if hasattr(model, "loss_curve_"):
        return _plot_network_history(model, title, path, dpi)
    if hasattr(model, "rbms_"):
        hists = [_history_of(r) for r in model.rbms_]
        labels = [f"layer {i + 1}: {r.components_.shape[1]} \u2192 {r.components_.shape[0]}"
                  for i, r in enumerate(model.rbms_)]
        return _plot_rbm_histories(hists, labels, title or f"{type(model).__name__} pretraining",
                                   path, dpi)
    if hasattr(model, "history_"):
        return _plot_rbm_histories([_history_of(model)], None,
                                   title or f"{type(model).__name__} training", path, dpi)
    raise ValueError(
        f"plot_history needs a fitted RBM (history_), DBN (rbms_) or fine-tuned network "
        f"(loss_curve_), or a history_ list; got {type(model).__name__}. Fit it first."
    )


def _plot_rbm_histories(hists, labels, title, path, dpi):
    plt = _pyplot()
    keys = _history_keys(hists)
    if not keys:
        raise ValueError("The history holds no per-epoch quantity to plot (0 epochs run?).")
    n_rows, n_cols = len(keys), len(hists)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(3.4 * n_cols + 0.6, 1.9 * n_rows + 0.6),
                             squeeze=False, sharex="col")
    for j, hist in enumerate(hists):
        _plot_history_column(list(axes[:, j]), hist, keys)
        if labels is not None:
            axes[0, j].set_title(labels[j], fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return _finish(fig, path, dpi)


def _plot_network_history(model, title, path, dpi):
    plt = _pyplot()
    loss = list(getattr(model, "loss_curve_", None) or [])
    if not loss:
        raise ValueError(f"{type(model).__name__}.loss_curve_ is empty: fit it first.")
    scores = getattr(model, "validation_scores_", None)
    scores = list(scores) if scores is not None else []
    n_panels = 2 if scores else 1
    fig, axes = plt.subplots(n_panels, 1, figsize=(5.0, 2.2 * n_panels + 0.6), squeeze=False,
                             sharex=True)
    axes = axes[:, 0]
    epochs = np.arange(1, len(loss) + 1)
    axes[0].plot(epochs, loss, marker="o" if len(loss) < 30 else None, ms=3)
    axes[0].set_ylabel("training loss", fontsize=8)
    axes[0].grid(True, alpha=0.3)
    if scores:
        ep = np.arange(1, len(scores) + 1)
        axes[1].plot(ep, scores, marker="o" if len(scores) < 30 else None, ms=3,
                     color="C1")
        best = getattr(model, "best_validation_score_", None)
        if best is not None:
            i = int(np.argmax(scores))
            axes[1].plot(ep[i], scores[i], "*", ms=10, color="C3",
                         label=f"best {best:.4f} (epoch {ep[i]})")
            axes[1].legend(fontsize=8)
        axes[1].set_ylabel("validation score", fontsize=8)
        axes[1].grid(True, alpha=0.3)
    axes[-1].set_xlabel("fine-tuning epoch")
    axes[-1].xaxis.set_major_locator(_integer_locator())
    fig.suptitle(title or f"{type(model).__name__} fine-tuning", fontsize=10)
    fig.tight_layout()
    return _finish(fig, path, dpi)


# --------------------------------------------------------------------------
# Embeddings
# --------------------------------------------------------------------------


@Substitution()
def plot_embedding(codes, y=None, ax=None, *, title=None, s=4, alpha=0.6, cmap="tab10",
                   legend=True, path=None, dpi=100):
    """Scatter 2-D codes, one colour per class.

    For the codes of a :class:`~rbmlib.DBNAutoencoder` with
    ``n_components=2`` (Hinton and Salakhutdinov 2006, fig. 3), or any 2-D
    projection (PCA's, for comparison).

    Parameters
    ----------
    codes : array-like of shape (n_samples, 2)
        The 2-D codes (e.g. ``autoencoder.transform(X)``).
    y : array-like of shape (n_samples,), default=None
        Class of each sample (any labels); None draws one colour.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw into (e.g. one panel of a side-by-side figure); None
        creates a new figure.
    title : str, default=None
    s : float, default=4
        Marker size (points^2).
    alpha : float, default=0.6
        Marker opacity.
    cmap : str or Colormap, default="tab10"
        Colours of the classes, in the order of ``np.unique(y)``.
    legend : bool, default=True
        Show a legend of the classes (with at most 20 classes).
    {plot_save_params}

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure that holds the axes.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        If ``codes`` is not of shape (n_samples, 2), holds non-finite values,
        or ``y`` has a different number of samples.

    References
    ----------
    Hinton, G. E. and Salakhutdinov, R. R. (2006). Reducing the
    dimensionality of data with neural networks. Science 313, 504-507.
    """
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or codes.shape[1] != 2:
        raise ValueError(
            f"codes must be an array of shape (n_samples, 2); got shape {codes.shape}."
        )
    if not np.all(np.isfinite(codes)):
        raise ValueError("codes must be finite; got NaN or infinite values.")
    if y is not None:
        y = np.asarray(y)
        if y.shape != (codes.shape[0],):
            raise ValueError(
                f"y must hold one label per sample ({codes.shape[0]}); got shape {y.shape}."
            )
    plt = _pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 5))
    else:
        fig = ax.figure
    if y is None:
        ax.scatter(codes[:, 0], codes[:, 1], s=s, alpha=alpha, linewidths=0)
    else:
        classes = np.unique(y)
        colours = plt.get_cmap(cmap)
        n_col = getattr(colours, "N", 256)
        for i, c in enumerate(classes):
            m = y == c
            colour = colours(i % n_col if n_col < 256 else i / max(1, len(classes) - 1))
            ax.scatter(codes[m, 0], codes[m, 1], s=s, alpha=alpha, color=colour,
                       linewidths=0, label=str(c))
        if legend and len(classes) <= 20:
            ax.legend(markerscale=max(1.0, 12.0 / max(s, 1e-3)) ** 0.5, fontsize="small",
                      loc="best", frameon=True)
    ax.set_xlabel("code 1")
    ax.set_ylabel("code 2")
    if title:
        ax.set_title(title)
    return _finish(fig, path, dpi)
