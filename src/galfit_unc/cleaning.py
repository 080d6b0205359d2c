"""Cut sky windows out of the frame and replace their remaining sources by sky.

A window from :mod:`galfit_unc.skysearch` is nearly blank, but faint sources are left.
:func:`clean_cutout` fills the pixels of the frame's source mask at the window (the one
detection of :func:`galfit_unc.skysearch.detect_sources`, also used to choose the windows)
or, without it, of the same detection run on the cutout, by normalised Gaussian-kernel
interpolation from the surrounding sky, then adds noise of the cutout's clipped standard
deviation to the filled pixels only, so that the cleaned cutout has the texture of blank sky.
"""

from __future__ import annotations

import warnings

import numpy as np
from astropy.convolution import Gaussian2DKernel, interpolate_replace_nans
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.utils.exceptions import AstropyUserWarning

from .frames import DETECTOR_KEYWORDS, celestial_wcs
from .skysearch import clipped_stats, detect_sources

__all__ = ["cut_window", "clean_cutout", "write_cleaned"]

def cut_window(image, header, window) -> tuple[np.ndarray, fits.Header]:
    """Cut a window out of the frame with a matching WCS.

    Parameters
    ----------
    image : ndarray, shape (H, W)
    header : astropy.io.fits.Header
        Frame header (its celestial WCS is used).
    window : galfit_unc.skysearch.Window
        1-based inclusive bounds in the frame.

    Returns
    -------
    data : ndarray, shape (ny, nx)
        Pixel (1, 1) of the cutout is frame pixel (x1, y1).
    header : astropy.io.fits.Header
        The cutout's celestial WCS plus the frame's EXPTIME/GAIN/NCOMBINE/RDNOISE, which
        GALFIT reads from its input image.
    """
    ny, nx = window.y2 - window.y1 + 1, window.x2 - window.x1 + 1
    centre = ((window.x1 + window.x2) / 2 - 1, (window.y1 + window.y2) / 2 - 1)  # 0-based (x, y)
    cutout = Cutout2D(image, centre, (ny, nx), wcs=celestial_wcs(header), mode="strict")
    out = cutout.wcs.to_header()
    for key in DETECTOR_KEYWORDS:
        if key in header:
            out[key] = (header[key], header.comments[key])
    return cutout.data, out


def clean_cutout(
    data,
    *,
    nsigma=3.0,
    clip_sigma=3.0,
    clip_iters=5,
    kernel_sigmas=(8, 4),
    fill_noise=True,
    rng=None,
    sources=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Replace sources and bad pixels of a sky cutout by interpolated sky.

    Parameters
    ----------
    data : ndarray, shape (ny, nx)
    nsigma : float
        Without ``sources``: pixels above ``median + nsigma * std`` of the cutout's own
        sigma-clipped pixels are filled (:func:`~galfit_unc.skysearch.detect_sources`
        without smoothing).  Non-finite pixels are always filled.
    clip_sigma, clip_iters : float, int
        Sigma clipping of the cutout's statistics (median and fill-noise std).
    kernel_sigmas : sequence of float
        Gaussian kernel widths (pixels), applied in turn: each pass fills the masked pixels
        still empty that have sky within reach of its kernel.
    fill_noise : bool
        Add Gaussian noise with the clipped standard deviation to the filled pixels.
    rng : numpy.random.Generator
        Source of that noise; required when ``fill_noise`` is true (see :func:`galfit_unc.skysearch.window_seed`).
    sources : ndarray of bool, shape (ny, nx), optional
        Pixels to fill: the frame's source mask at the window.

    Returns
    -------
    cleaned : ndarray of float64, shape (ny, nx)
    filled : ndarray of bool, shape (ny, nx)
        Pixels that were replaced.
    """
    if fill_noise and rng is None:
        raise ValueError("clean_cutout: rng: fill_noise needs a numpy Generator; pass rng=np.random.default_rng(window_seed(...))")
    data = np.asarray(data, dtype=np.float64)
    if not np.isfinite(data).any():
        raise ValueError("clean_cutout: data: no finite pixel; this window is not sky")
    median, std = clipped_stats(data, clip_sigma, clip_iters)
    if sources is None:
        filled, _ = detect_sources(data, nsigma=nsigma, clip_sigma=clip_sigma, clip_iters=clip_iters)
    else:
        sources = np.asarray(sources, dtype=bool)
        if sources.shape != data.shape:
            raise ValueError(f"clean_cutout: sources: shape {sources.shape} differs from the cutout's {data.shape}; cut the frame mask at the window")
        filled = sources | ~np.isfinite(data)
    cleaned = np.where(filled, np.nan, data)
    for sigma in kernel_sigmas:
        if not np.isnan(cleaned).any():
            break
        # Normalised convolution over valid pixels; 'extend' keeps the frame edge at sky
        # level instead of padding with zeros.  Holes left by a kernel are handled below,
        # so astropy's warning about them is noise here.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "nan_treatment='interpolate'", AstropyUserWarning)
            cleaned = interpolate_replace_nans(cleaned, Gaussian2DKernel(sigma), boundary="extend")
    cleaned[np.isnan(cleaned)] = median  # holes wider than every kernel
    if fill_noise:
        cleaned[filled] += rng.normal(0.0, std, size=int(filled.sum()))
    return cleaned, filled


def write_cleaned(path, cleaned, header, filled_frac) -> None:
    """Write a cleaned cutout as a single-HDU float32 FITS image.

    Parameters
    ----------
    path : str or path-like
    cleaned : ndarray, shape (ny, nx)
    header : astropy.io.fits.Header
        The cutout header from :func:`cut_window`.
    filled_frac : float
        Fraction of pixels that were filled, stored as ``FILLFRAC``.
    """
    if not 0.0 <= filled_frac <= 1.0:
        raise ValueError(f"{path}: FILLFRAC: {filled_frac} is not a fraction; pass filled.mean()")
    hdr = header.copy()
    hdr["FILLFRAC"] = (float(filled_frac), "fraction of pixels filled with interpolated sky")
    fits.PrimaryHDU(np.asarray(cleaned, dtype=np.float32), header=hdr).writeto(path, overwrite=True)
