"""Figures of the benchmarks page, from numbers copied out of benchmarks/RESULTS.md.

Every number here appears in ``benchmarks/RESULTS.md`` (tests/test_docs.py
checks it), in the section named beside it.  The page draws them with
matplotlib's ``plot`` directive at build time.
"""

import matplotlib.pyplot as plt
import numpy as np

# "CD epochs on the machine's own BLAS kernels (issue 15)", quiet machine table:
# PCD-1, float32, 20,000 MNIST rows, 784 -> 500; seconds per epoch, medians of 3.
CD_EPOCH = {
    # (threads, batch): (rbmlib, sklearn, torch, 5-GEMM floor)
    (1, 100): (0.744, 1.042, 0.711, 0.575),
    (1, 10): (1.717, 3.716, 1.004, 1.911),
    (2, 100): (0.564, 0.883, 0.732, 0.395),
    (2, 10): (1.724, 3.924, 1.929, 1.756),
}

# "One fine-tuning epoch, 784-500-500-2000-10 (now with a PyTorch column)":
# 20,000 rows, batch 100, float32, one thread; seconds (rbmlib, sklearn, torch).
FINE_TUNING = {"sgd (Nesterov 0.9)": (2.39, 3.13, 2.37), "adam": (3.44, 5.95, 3.09)}

# "AIS, 784 x 500 MNIST RBM, 100 runs, 14,501 temperatures", one thread:
# seconds of rbmlib's AIS, its float64 GEMM floor, the previous kernel (f6c80ba).
AIS = (71.70, 52.73, 109.02)

_COLORS = {"rbmlib": "#1f6f8b", "scikit-learn": "#e8a33d", "PyTorch": "#7b7b7b",
           "GEMM floor": "#9bc4a6"}


def _bars(ax, groups, series, values, ylabel):
    x = np.arange(len(groups))
    width = 0.8 / len(series)
    for i, name in enumerate(series):
        vals = [v[i] for v in values]
        bars = ax.bar(x + (i - (len(series) - 1) / 2) * width, vals, width, label=name,
                      color=_COLORS.get(name))
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.set_xticks(x, groups)
    ax.set_ylabel(ylabel)
    ax.spines[["top", "right"]].set_visible(False)


def cd_epoch():
    """Seconds per CD epoch, and the ratios to scikit-learn, PyTorch and the floor."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
    groups = [f"{t} thread{'s' if t > 1 else ''}\nbatch {b}" for t, b in CD_EPOCH]
    _bars(ax1, groups, ["rbmlib", "scikit-learn", "PyTorch", "GEMM floor"],
          list(CD_EPOCH.values()), "seconds per epoch (lower is better)")
    ax1.legend(fontsize=8, frameon=False)
    ax1.set_title("PCD-1 epoch, 20,000 x 784 -> 500, float32", fontsize=10)
    ratios = [(s / r, t / r, r / f) for r, s, t, f in CD_EPOCH.values()]
    x = np.arange(len(groups))
    for i, (label, color) in enumerate([("scikit-learn / rbmlib", _COLORS["scikit-learn"]),
                                        ("PyTorch / rbmlib", _COLORS["PyTorch"]),
                                        ("rbmlib / GEMM floor", _COLORS["GEMM floor"])]):
        bars = ax2.bar(x + (i - 1) * 0.27, [r[i] for r in ratios], 0.27, label=label, color=color)
        ax2.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax2.axhline(1.0, color="black", lw=0.8)
    ax2.set_xticks(x, groups)
    ax2.set_ylabel("time ratio")
    ax2.set_title("above 1: rbmlib faster (first two), slower than the floor (third)",
                  fontsize=9)
    ax2.set_ylim(0, 2.9)
    ax2.legend(fontsize=8, frameon=False, loc="upper left", ncols=3)
    ax2.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()


def fine_tuning():
    """Seconds per fine-tuning epoch of rbmlib, scikit-learn and PyTorch."""
    fig, ax = plt.subplots(figsize=(6, 3.4))
    _bars(ax, list(FINE_TUNING), ["rbmlib", "scikit-learn", "PyTorch"],
          list(FINE_TUNING.values()), "seconds per epoch")
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("fine-tuning 784-500-500-2000-10, 20,000 rows, one thread", fontsize=10)
    fig.tight_layout()


def ais():
    """Seconds of AIS against its GEMM floor and the previous kernel."""
    fig, ax = plt.subplots(figsize=(6, 2.6))
    labels = ["rbmlib AIS", "GEMM floor", "previous kernel"]
    colors = [_COLORS["rbmlib"], _COLORS["GEMM floor"], _COLORS["PyTorch"]]
    bars = ax.barh(labels, AIS, color=colors)
    ax.bar_label(bars, fmt="%.1f s", fontsize=8, padding=2)
    ax.invert_yaxis()
    ax.set_xlabel("seconds (100 runs, 14,501 temperatures, one thread)")
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
