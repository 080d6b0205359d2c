"""Diagnostic figures: the sky windows on the frame, and the re-fitted magnitudes.

Figures are built as :class:`matplotlib.figure.Figure` objects drawn by the Agg canvas, so
nothing touches pyplot's global state and no display is needed.
"""

from __future__ import annotations

import math

import numpy as np
from astropy.visualization import ZScaleInterval
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

from galfit_unc.tables import flagged_for, usable

__all__ = ["window_labels", "plot_sky_windows", "magnitude_panels", "plot_magnitudes"]

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


def window_labels(windows) -> list[tuple[float, float, str]]:
    """Label of each window: its rank in the windows table (1, 2, ...) at its centre.

    Kept windows share at most part of their area, so their centres are apart and short
    labels there do not pile up as ids written at the corners do.

    Returns
    -------
    list of (x, y, text)
        GALFIT pixel coordinates of each window's centre and its label.
    """
    return [((win.x1 + win.x2) / 2, (win.y1 + win.y2) / 2, str(k)) for k, win in enumerate(windows, 1)]


def _draw_windows(ax, windows, target, labels=True):
    for win in windows:
        _outline(ax, win.bounds, WINDOW_COLOUR, 0.8)
    if labels:
        for x, y, text in window_labels(windows):
            ax.text(x, y, text, color=WINDOW_COLOUR, fontsize=7, fontweight="bold", ha="center", va="center", clip_on=True,
                    path_effects=[patheffects.withStroke(linewidth=2, foreground="black")])
    _outline(ax, target, TARGET_COLOUR, 1.6)


def plot_sky_windows(image, mask, windows, target, path, title="", noise=None, target_sigma=None) -> None:
    """Frame in z-scale with the source mask, the sky windows and the fitted region, and
    (when ``noise`` is given) the local sky-noise map beside it.

    Parameters
    ----------
    image : ndarray, shape (H, W)
    mask : ndarray of bool, shape (H, W)
        Source mask (True = masked), drawn semi-transparent.
    windows : list of galfit_unc.skysearch.Window
        Outlined and numbered at their centres in the windows table's order (the order in
        which they were chosen).
    target : tuple of int
        Fitted region ``(x1, x2, y1, y2)``, outlined in another colour.
    path : str or path-like
        PNG to write.
    title : str
    noise : ndarray, shape (H, W), optional
        Local sky noise (:func:`galfit_unc.skysearch.noise_map`), drawn in a second panel.
    target_sigma : float, optional
        The target's local noise, named in that panel's title.
    """
    image = np.asarray(image, dtype=np.float64)
    h, w = image.shape
    finite = image[np.isfinite(image)]
    vmin, vmax = ZScaleInterval().get_limits(finite)
    # Axes in GALFIT pixel coordinates: pixel centres at integers from 1.
    extent = (0.5, w + 0.5, 0.5, h + 0.5)

    panels = 1 if noise is None else 2
    fig = Figure(figsize=(8 * panels, 8 * h / w + 0.6), dpi=110)
    axes = fig.subplots(1, panels, squeeze=False)[0]
    ax = axes[0]
    ax.imshow(image, origin="lower", cmap="gray", vmin=vmin, vmax=vmax, extent=extent, interpolation="nearest")
    overlay = np.zeros((h, w, 4))
    overlay[np.asarray(mask, dtype=bool)] = MASK_RGBA
    ax.imshow(overlay, origin="lower", extent=extent, interpolation="nearest")
    _draw_windows(ax, windows, target)
    ax.legend(
        handles=[
            Patch(facecolor="none", edgecolor=WINDOW_COLOUR, label=f"sky windows ({len(windows)}), numbered in selection order"),
            Patch(facecolor="none", edgecolor=TARGET_COLOUR, label="fitted region"),
            Patch(color=MASK_RGBA, label="source mask"),
        ],
        loc="upper right",
        fontsize=8,
        framealpha=0.8,
    )
    ax.set_title(title)
    if noise is not None:
        nax = axes[1]
        shown = nax.imshow(noise, origin="lower", cmap="viridis", extent=extent, interpolation="nearest")
        fig.colorbar(shown, ax=nax, shrink=0.8, label="local sky σ")
        _draw_windows(nax, windows, target, labels=False)
        sigmas = np.array([win.sky_sigma for win in windows], dtype=np.float64)
        what = f"windows median {np.nanmedian(sigmas):.3g}" if np.isfinite(sigmas).any() else "windows"
        nax.set_title(f"local sky σ: target {target_sigma:.3g}, {what}" if target_sigma is not None else f"local sky σ: {what}")
    for ax in axes:
        ax.set_xlim(extent[:2])
        ax.set_ylim(extent[2:])
        ax.set_xlabel("x (pixel)")
        ax.set_ylabel("y (pixel)")
    fig.tight_layout()
    _save(fig, path)


ORIGINAL_COLOUR = "tab:red"
TRUTH_COLOUR = "tab:green"
HIST_COLOUR = "tab:blue"
BAND_COLOUR = "tab:orange"


def magnitude_panels(mag_rows, unc_rows, use_flagged: bool, source="uncertainties.tsv") -> dict:
    """What :func:`plot_magnitudes` draws, from the rows of magnitudes.tsv and uncertainties.tsv.

    Parameters
    ----------
    mag_rows, unc_rows : list of dict
        The tables as :func:`galfit_unc.tables.read_table` reads them, with
        ``flagged_objects`` kept as text; both list the objects in the same order.
    use_flagged : bool
        Whether values flagged for an object were used (``stats.use_flagged``).
    source : str
        Names the uncertainties table in errors.

    Returns
    -------
    dict
        ``rows`` (usable values per fit), ``original``, ``stats`` (median and the headline
        sigma) and ``flagged`` (per object: fits flagged for it, fits that did not fail).
    """
    objects = [c[4:] for c in mag_rows[0] if c.startswith("obj_")]
    if len(objects) != len(unc_rows):
        raise ValueError(f"{source}: rows: {len(unc_rows)} objects, magnitudes.tsv has {len(objects)}; re-create the tables")
    fits = [r for r in mag_rows[1:] if r["status"] in ("ok", "flagged")]
    return {
        "rows": [{obj: r[f"obj_{obj}"] for obj in objects if usable(r["status"], flagged_for(r, obj), use_flagged)} for r in fits],
        "original": {obj: mag_rows[0][f"obj_{obj}"] for obj in objects},
        "stats": {obj: {"median": r["median"], "sigma": r["sigma"]} for obj, r in zip(objects, unc_rows)},
        "flagged": {obj: (sum(flagged_for(r, obj) for r in fits), len(fits)) for obj in objects},
    }


def plot_magnitudes(rows, original, stats, path, truth=None, flagged=None) -> Figure:
    """Histograms of the re-fitted magnitudes, one panel per object.

    The legend sits below the panels, so it never covers a bar; each panel's title gives
    the object, its sigma and the number of values, and says when every fit of the object
    was flagged.

    Parameters
    ----------
    rows : list of dict
        One dict per usable window, object id -> magnitude (missing or NaN = no value).
    original : dict
        Object id -> magnitude of the original fit (vertical line); panels in this order.
    stats : dict
        Object id -> dict with ``'median'`` and ``'sigma'`` (shaded median +/- sigma band).
    path : str or path-like
        PNG to write.
    truth : dict, optional
        Object id -> true magnitude (the demo), drawn as a dashed line.
    flagged : dict, optional
        Object id -> (fits flagged for the object, fits that did not fail).

    Returns
    -------
    matplotlib.figure.Figure
        The figure written, for inspection.
    """
    objects = list(original)
    if not objects:
        raise ValueError(f"{path}: original magnitudes: no object; nothing to plot")
    truth, flagged = truth or {}, flagged or {}
    ncols = min(len(objects), 4)
    nrows = math.ceil(len(objects) / ncols)
    fig = Figure(figsize=(3.2 * ncols, 2.7 * nrows + 0.8), dpi=110)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()

    for ax, obj in zip(axes, objects):
        mags = np.array([row.get(obj, np.nan) for row in rows], dtype=np.float64)
        mags = mags[np.isfinite(mags)]
        med, sigma = stats[obj]["median"], stats[obj]["sigma"]
        if np.isfinite(med) and np.isfinite(sigma):
            ax.axvspan(med - sigma, med + sigma, color=BAND_COLOUR, alpha=0.3, zorder=0)
        if mags.size:
            ax.hist(mags, bins="auto", color=HIST_COLOUR, alpha=0.6)
        ax.axvline(original[obj], color=ORIGINAL_COLOUR, lw=1.5)
        if obj in truth:
            ax.axvline(truth[obj], color=TRUTH_COLOUR, lw=1.5, ls="--")
        title = f"object {obj}: σ {sigma:.3f} ({mags.size} values)"
        n_flagged, n_fits = flagged.get(obj, (0, 0))
        if n_fits and n_flagged == n_fits:
            title += f"\nall {n_fits} fits flagged"
        ax.set_title(title, fontsize=8)
        ax.set_xlabel("magnitude", fontsize=8)
        ax.set_ylabel("re-fits", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(4))  # magnitudes have long tick labels
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes[len(objects) :]:
        ax.set_visible(False)
    handles = [
        Patch(color=HIST_COLOUR, alpha=0.6, label="re-fits"),
        Patch(color=BAND_COLOUR, alpha=0.3, label="median ± σ"),
        Line2D([], [], color=ORIGINAL_COLOUR, lw=1.5, label="original fit"),
    ]
    if truth:
        handles.append(Line2D([], [], color=TRUTH_COLOUR, lw=1.5, ls="--", label="true magnitude"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    # Room below the panels for the legend.
    fig.tight_layout(rect=(0, 0.6 / fig.get_figheight(), 1, 1))
    _save(fig, path)
    return fig
