"""Diagnostic figures: the sky windows on the frame, and the re-fitted magnitudes.

Figures are built as :class:`matplotlib.figure.Figure` objects drawn by the Agg canvas, so
nothing touches pyplot's global state and no display is needed.
"""

from __future__ import annotations

import math

import numpy as np
from astropy.visualization import ZScaleInterval
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

__all__ = ["plot_sky_regions", "plot_magnitudes"]

WINDOW_COLOUR = "tab:cyan"
TARGET_COLOUR = "tab:red"
MASK_RGBA = (1.0, 0.55, 0.0, 0.45)  # semi-transparent orange


def _save(fig: Figure, path) -> None:
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=fig.dpi)


def _outline(ax, bounds, colour, lw):
    """Draw a GALFIT region ``(x1, x2, y1, y2)`` along its outer pixel edges."""
    x1, x2, y1, y2 = bounds
    ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1 + 1, y2 - y1 + 1, fill=False, edgecolor=colour, lw=lw))


def plot_sky_regions(image, mask, windows, target, path, title="") -> None:
    """Frame in z-scale with the source mask, the sky windows and the fitted region.

    Parameters
    ----------
    image : ndarray, shape (H, W)
    mask : ndarray of bool, shape (H, W)
        Source mask (True = masked), drawn semi-transparent.
    windows : list of galfit_unc.skysearch.Window
        Outlined and labelled with their ids.
    target : tuple of int
        Fitted region ``(x1, x2, y1, y2)``, outlined in another colour.
    path : str or path-like
        PNG to write.
    title : str
    """
    image = np.asarray(image, dtype=np.float64)
    h, w = image.shape
    finite = image[np.isfinite(image)]
    vmin, vmax = ZScaleInterval().get_limits(finite)
    # Axes in GALFIT pixel coordinates: pixel centres at integers from 1.
    extent = (0.5, w + 0.5, 0.5, h + 0.5)

    fig = Figure(figsize=(8, 8 * h / w + 0.6), dpi=110)
    ax = fig.add_subplot()
    ax.imshow(image, origin="lower", cmap="gray", vmin=vmin, vmax=vmax, extent=extent, interpolation="nearest")
    overlay = np.zeros((h, w, 4))
    overlay[np.asarray(mask, dtype=bool)] = MASK_RGBA
    ax.imshow(overlay, origin="lower", extent=extent, interpolation="nearest")

    fontsize = max(4.0, min(8.0, 400.0 / max(len(windows), 1)))
    for win in windows:
        _outline(ax, win.bounds, WINDOW_COLOUR, 0.8)
        ax.text(win.x1, win.y2, win.region, color=WINDOW_COLOUR, fontsize=fontsize, va="top", ha="left", clip_on=True)
    _outline(ax, target, TARGET_COLOUR, 1.6)

    ax.legend(
        handles=[
            Patch(facecolor="none", edgecolor=WINDOW_COLOUR, label=f"sky windows ({len(windows)})"),
            Patch(facecolor="none", edgecolor=TARGET_COLOUR, label="fitted region"),
            Patch(color=MASK_RGBA, label="source mask"),
        ],
        loc="upper right",
        fontsize=8,
        framealpha=0.8,
    )
    ax.set_xlim(extent[:2])
    ax.set_ylim(extent[2:])
    ax.set_xlabel("x (pixel)")
    ax.set_ylabel("y (pixel)")
    ax.set_title(title)
    fig.tight_layout()
    _save(fig, path)


def plot_magnitudes(rows, original, stats, path) -> None:
    """Histograms of the re-fitted magnitudes, one panel per object.

    Parameters
    ----------
    rows : list of dict
        One dict per usable region, object id -> magnitude (missing or NaN = no value).
    original : dict
        Object id -> magnitude of the original fit (vertical line).
    stats : dict
        Object id -> dict with ``'median'`` and ``'std'`` (shaded median +/- std band).
    path : str or path-like
        PNG to write.
    """
    objects = list(original)
    if not objects:
        raise ValueError(f"{path}: original magnitudes: no object; nothing to plot")
    ncols = min(len(objects), 4)
    nrows = math.ceil(len(objects) / ncols)
    fig = Figure(figsize=(3.2 * ncols, 2.6 * nrows + 0.4), dpi=110)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()

    for ax, obj in zip(axes, objects):
        mags = np.array([row.get(obj, np.nan) for row in rows], dtype=np.float64)
        mags = mags[np.isfinite(mags)]
        med, std = stats[obj]["median"], stats[obj]["std"]
        if np.isfinite(med) and np.isfinite(std):
            ax.axvspan(med - std, med + std, color="tab:orange", alpha=0.3, zorder=0, label=f"median ± σ ({std:.3f})")
        if mags.size:
            ax.hist(mags, bins="auto", color="tab:blue", alpha=0.6, label=f"{mags.size} regions")
        ax.axvline(original[obj], color="tab:red", lw=1.5, label=f"original {original[obj]:.3f}")
        ax.set_title(f"object {obj}", fontsize=9)
        ax.set_xlabel("magnitude", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(4))  # magnitudes have long tick labels
        ax.legend(fontsize=6)
    for ax in axes[len(objects) :]:
        ax.set_visible(False)
    fig.tight_layout()
    _save(fig, path)
