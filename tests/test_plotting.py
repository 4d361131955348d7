"""Tests of rbmlib.plotting: tiling, figures, saved files, and life without matplotlib."""

import importlib
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from rbmlib import DBN, BernoulliRBM, DBNClassifier, DBNRegressor
from rbmlib.plotting import (
    plot_filters,
    plot_history,
    plot_receptive_fields,
    plot_samples,
    tile_images,
)

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.figure import Figure
except ImportError:  # the figure tests skip; tiling and the ImportError tests still run
    plt = None

needs_matplotlib = pytest.mark.skipif(
    plt is None, reason='matplotlib is not installed (pip install "rbmlib[plot]")')

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    if plt is not None:
        plt.close("all")


@pytest.fixture(scope="module")
def data():
    """60 binary 6x6 'images' (36 features) and labels of 3 classes."""
    rng = np.random.RandomState(0)
    X = (rng.rand(60, 36) < 0.3).astype(np.float64)
    y = np.arange(60) % 3
    return X, y


@pytest.fixture(scope="module")
def rbm(data):
    return BernoulliRBM(n_components=10, n_iter=3, random_state=0).fit(data[0])


@pytest.fixture(scope="module")
def dbn(data):
    return DBN((12, 5), n_iter=2, random_state=0).fit(data[0])


def _image(fig):
    """The mosaic drawn by a tiled-image figure (its single axes, its single image)."""
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 1
    images = fig.axes[0].get_images()
    assert len(images) == 1
    return np.ma.filled(images[0].get_array().astype(float), np.nan)


def _n_tiles(mosaic, h, w, pad=1):
    """Tiles with any finite pixel, on the grid of (h, w) tiles separated by pad."""
    rows = (mosaic.shape[0] + pad) // (h + pad)
    cols = (mosaic.shape[1] + pad) // (w + pad)
    assert rows * (h + pad) - pad == mosaic.shape[0]
    assert cols * (w + pad) - pad == mosaic.shape[1]
    n = 0
    for i in range(rows):
        for j in range(cols):
            tile = mosaic[i * (h + pad):i * (h + pad) + h, j * (w + pad):j * (w + pad) + w]
            n += bool(np.isfinite(tile).any())
    return n


# ----------------------------------------------------------------------------
# tile_images
# ----------------------------------------------------------------------------


def test_tile_images_layout_and_padding():
    images = np.arange(10 * 6, dtype=float).reshape(10, 6)  # ten 2x3 images
    mosaic = tile_images(images, (2, 3), n_cols=4)
    # 3 rows x 4 columns of 2x3 tiles with 1-pixel gaps
    assert mosaic.shape == (3 * 3 - 1, 4 * 4 - 1)
    assert_array_equal(mosaic[0:2, 0:3], images[0].reshape(2, 3))
    assert_array_equal(mosaic[0:2, 4:7], images[1].reshape(2, 3))
    assert_array_equal(mosaic[3:5, 0:3], images[4].reshape(2, 3))
    assert_array_equal(mosaic[6:8, 4:7], images[9].reshape(2, 3))
    assert np.isnan(mosaic[2, :]).all() and np.isnan(mosaic[:, 3]).all()
    assert np.isnan(mosaic[6:8, 8:]).all()  # two empty cells in the last row
    assert _n_tiles(mosaic, 2, 3) == 10


def test_tile_images_square_default_and_3d():
    images = np.random.RandomState(0).rand(7, 16)
    mosaic = tile_images(images, pad=0)  # 4x4 images, ceil(sqrt(7)) = 3 columns
    assert mosaic.shape == (3 * 4, 3 * 4)
    chains = np.random.RandomState(1).rand(2, 5, 16)  # 2 chains, 5 steps
    mosaic = tile_images(chains, pad=0)
    assert mosaic.shape == (2 * 4, 5 * 4)
    assert_array_equal(mosaic[4:8, 12:16], chains[1, 3].reshape(4, 4))


def test_tile_images_scaling():
    images = np.array([[-2.0, 1.0, 0.0, 2.0], [1.0, 3.0, 5.0, 3.0]])
    sym = tile_images(images, (2, 2), n_cols=2, pad=0, scale="symmetric")
    assert_allclose(sym[:, :2].ravel(), [0.0, 0.75, 0.5, 1.0])
    mm = tile_images(images, (2, 2), n_cols=2, pad=0, scale="minmax")
    assert_allclose(mm[:, 2:].ravel(), [0.0, 0.5, 1.0, 0.5])
    const = tile_images(np.ones((1, 4)), scale="minmax")  # no division by zero
    assert np.isfinite(const).all()


@pytest.mark.parametrize(
    "images, shape, match",
    [
        (np.zeros((3, 10)), None, "not a perfect square"),
        (np.zeros((3, 10)), (3, 3), "does not match 10 features"),
        (np.zeros(10), None, "2-D .* or 3-D"),
        (np.zeros((0, 4)), None, "no image"),
    ],
)
def test_tile_images_errors(images, shape, match):
    with pytest.raises(ValueError, match=match):
        tile_images(images, shape)


@pytest.mark.parametrize("n_cols", [0, -2, 2.5, True, "3"])
def test_tile_images_bad_n_cols(n_cols):
    with pytest.raises(ValueError, match=f"n_cols must be a positive integer or None; got {n_cols!r}"):
        tile_images(np.zeros((4, 4)), n_cols=n_cols)


@pytest.mark.parametrize("pad", [-1, 1.5, None])
def test_tile_images_bad_pad(pad):
    with pytest.raises(ValueError, match="pad must be a non-negative integer"):
        tile_images(np.zeros((4, 4)), pad=pad)


def test_tile_images_numpy_integer_n_cols():
    assert tile_images(np.zeros((4, 4)), n_cols=np.int64(4), pad=0).shape == (2, 8)


def test_tile_images_bad_scale():
    with pytest.raises(ValueError, match="scale must be"):
        tile_images(np.zeros((2, 4)), scale="log")


# ----------------------------------------------------------------------------
# Filters, receptive fields, samples
# ----------------------------------------------------------------------------


@needs_matplotlib
def test_plot_filters_tiles_every_filter_and_saves(rbm, tmp_path):
    path = tmp_path / "filters.png"
    fig = plot_filters(rbm, path=path)
    mosaic = _image(fig)
    assert _n_tiles(mosaic, 6, 6) == rbm.components_.shape[0]
    assert_array_equal(mosaic, tile_images(rbm.components_, scale="symmetric"))
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_matplotlib
def test_plot_filters_n_and_shape(rbm):
    fig = plot_filters(rbm, image_shape=(4, 9), n=3, n_cols=3)
    mosaic = _image(fig)
    assert mosaic.shape == (4, 3 * 10 - 1)
    assert _n_tiles(mosaic, 4, 9) == 3


@needs_matplotlib
def test_plot_filters_accepts_arrays_dbns_and_networks(rbm, dbn, data):
    assert_array_equal(_image(plot_filters(rbm.components_)), _image(plot_filters(rbm)))
    assert_array_equal(_image(plot_filters(dbn)), _image(plot_filters(dbn.rbms_[0])))
    clf = DBNClassifier((8,), n_iter_pretrain=1, max_iter=2, random_state=0).fit(*data)
    assert _n_tiles(_image(plot_filters(clf)), 6, 6) == 8


@needs_matplotlib
def test_plot_filters_errors(data):
    with pytest.raises(ValueError, match="fit it first"):
        plot_filters(BernoulliRBM())
    with pytest.raises(ValueError, match="image_shape"):
        plot_filters(np.zeros((4, 10)))
    with pytest.raises(ValueError, match="2-D"):
        plot_filters(np.zeros(16))
    with pytest.raises(ValueError, match="positive integer"):
        plot_filters(np.zeros((4, 16)), n=0)


@needs_matplotlib
def test_receptive_fields_are_weight_products(dbn, tmp_path):
    W1, W2 = (r.components_ for r in dbn.rbms_)
    path = tmp_path / "rf.png"
    mosaic = _image(plot_receptive_fields(dbn, layer=1, path=path))
    assert path.is_file()
    assert _n_tiles(mosaic, 6, 6) == W2.shape[0]
    assert_allclose(mosaic, tile_images(W2 @ W1, scale="symmetric"))
    # layer=-1 is the top; layer=0 gives the bottom filters
    assert_allclose(_image(plot_receptive_fields(dbn)), mosaic)
    assert_allclose(_image(plot_receptive_fields(dbn, 0)), _image(plot_filters(dbn)))


@needs_matplotlib
def test_receptive_fields_of_a_fine_tuned_network(data):
    reg = DBNRegressor((7, 4), n_iter_pretrain=1, max_iter=2, random_state=0)
    reg.fit(data[0], data[1].astype(float))
    W1, W2 = reg.coefs_[0], reg.coefs_[1]
    mosaic = _image(plot_receptive_fields(reg, layer=1))
    assert_allclose(mosaic, tile_images((W1 @ W2).T, scale="symmetric"))


@needs_matplotlib
def test_receptive_fields_errors(dbn):
    with pytest.raises(ValueError, match="one of the 2 hidden layers"):
        plot_receptive_fields(dbn, layer=2)
    with pytest.raises(ValueError, match="one of the 2 hidden layers"):
        plot_receptive_fields(dbn, layer=-3)
    with pytest.raises(ValueError, match="needs a fitted DBN"):
        plot_receptive_fields(BernoulliRBM())


@needs_matplotlib
def test_plot_samples_from_gibbs_chains_and_dbn(rbm, dbn, data, tmp_path):
    chain = [data[0][:4]]
    for _ in range(5):
        chain.append(rbm.gibbs(chain[-1]))
    chains = np.stack(chain, axis=1)  # (4 chains, 6 steps, 36)
    path = tmp_path / "chains.png"
    mosaic = _image(plot_samples(chains, path=path))
    assert path.is_file()
    assert mosaic.shape == (4 * 7 - 1, 6 * 7 - 1)
    assert_array_equal(mosaic[0:6, 0:6], data[0][0].reshape(6, 6))
    samples = dbn.sample(9, n_gibbs=5, random_state=0)
    fig = plot_samples(samples, title="DBN samples")
    assert _n_tiles(_image(fig), 6, 6) == 9
    assert fig.axes[0].get_title() == "DBN samples"
    clim = fig.axes[0].get_images()[0].get_clim()
    assert clim == (0.0, 1.0)


@needs_matplotlib
def test_plot_samples_real_valued_scale():
    samples = np.random.RandomState(0).normal(size=(4, 16)) * 3
    clim = plot_samples(samples).axes[0].get_images()[0].get_clim()
    assert clim[0] < 0 and clim[1] > 1  # not clipped to [0, 1]
    mosaic = _image(plot_samples(samples, scale="minmax"))
    assert np.nanmin(mosaic) == 0.0 and np.nanmax(mosaic) == 1.0


# ----------------------------------------------------------------------------
# Learning curves
# ----------------------------------------------------------------------------


def _line_ydata(ax):
    return [list(line.get_ydata()) for line in ax.get_lines()]


@needs_matplotlib
def test_plot_history_rbm_panels(data, tmp_path):
    rbm = BernoulliRBM(n_components=6, n_iter=4, validation_fraction=0.2, random_state=0)
    rbm.fit(data[0])
    path = tmp_path / "history.pdf"
    fig = plot_history(rbm, path=path)
    assert path.is_file() and path.stat().st_size > 0
    assert len(fig.axes) == 3  # reconstruction error, pseudo-LL, free-energy gap
    keys = ["reconstruction_error", "pseudo_log_likelihood", "free_energy_gap"]
    for ax, key in zip(fig.axes, keys):
        assert_allclose(_line_ydata(ax)[0], [rec[key] for rec in rbm.history_])
    # the history list itself works too
    assert len(plot_history(rbm.history_).axes) == 3


@needs_matplotlib
def test_plot_history_rbm_without_validation(rbm):
    fig = plot_history(rbm)
    assert len(fig.axes) == 2
    assert "pseudo-log-likelihood" in fig.axes[1].get_ylabel()


@needs_matplotlib
def test_plot_history_dbn_one_column_per_layer(dbn):
    fig = plot_history(dbn)
    assert len(fig.axes) == 2 * 2  # 2 quantities x 2 layers
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["layer 1: 36 \u2192 12", "layer 2: 12 \u2192 5"]
    # axes are laid out row-major: row 0 is the reconstruction error of each layer
    for j, layer in enumerate(dbn.rbms_):
        assert_allclose(_line_ydata(fig.axes[j])[0],
                        [rec["reconstruction_error"] for rec in layer.history_])


@needs_matplotlib
def test_plot_history_fine_tuning(data):
    X, y = data
    clf = DBNClassifier((8,), n_iter_pretrain=1, max_iter=5, early_stopping=True,
                        validation_fraction=0.2, n_iter_no_change=50, random_state=0)
    clf.fit(X, y)
    fig = plot_history(clf)
    assert len(fig.axes) == 2
    assert_allclose(_line_ydata(fig.axes[0])[0], clf.loss_curve_)
    assert_allclose(_line_ydata(fig.axes[1])[0], clf.validation_scores_)
    # without early stopping there are no validation scores: one panel
    clf.set_params(early_stopping=False).fit(X, y)
    assert clf.validation_scores_ is None
    fig = plot_history(clf)
    assert len(fig.axes) == 1


@needs_matplotlib
def test_plot_history_errors():
    with pytest.raises(ValueError, match="(?i)fit it first"):
        plot_history(BernoulliRBM())
    with pytest.raises(ValueError, match="(?i)fit it first"):
        plot_history(DBN())
    with pytest.raises(ValueError, match="no per-epoch quantity"):
        plot_history([])


# ----------------------------------------------------------------------------
# Without matplotlib
# ----------------------------------------------------------------------------


def _block_matplotlib_modules(monkeypatch):
    for name in list(sys.modules):
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def _block_matplotlib_import(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)


@pytest.mark.parametrize("block", [_block_matplotlib_modules, _block_matplotlib_import])
def test_without_matplotlib(block, monkeypatch, rbm, dbn):
    import rbmlib

    monkeypatch.setattr(rbmlib, "plotting", rbmlib.plotting)  # restored afterwards
    block(monkeypatch)
    # a fresh import of the module works without matplotlib...
    monkeypatch.delitem(sys.modules, "rbmlib.plotting")
    plotting = importlib.import_module("rbmlib.plotting")
    assert plotting.tile_images(np.zeros((4, 4))).shape == (5, 5)
    # ...and every plotting function says how to install it
    calls = [
        lambda: plotting.plot_filters(rbm),
        lambda: plotting.plot_samples(np.zeros((4, 36))),
        lambda: plotting.plot_receptive_fields(dbn, 1),
        lambda: plotting.plot_history(rbm),
    ]
    for call in calls:
        with pytest.raises(ImportError, match=r'pip install "rbmlib\[plot\]"'):
            call()
