"""Weights of the fit: GALFIT's internal sigma image, and reading C) sigma and F) mask files.

GALFIT 3.0.5 builds its sigma image, when none is given, from the data, GAIN and NCOMBINE
and a sky level and RMS it estimates itself (RDNOISE only matters when the sky is given by
hand).  Measured here on the real 3.0.5 sigma images shipped in the shared data, the image
is

    sigma^2 = RMS^2 + max(S(data) - SKY, 0) / (GAIN * NCOMBINE)

where S is a Gaussian smoothing with a 2-pixel standard deviation (the Poisson term is
computed from a smoothed image, so noise in the data does not leak into the weights) and
SKY and RMS are the mean and standard deviation of the pixels left after four rounds of
clipping at 2.5 RMS about the mean (starting from all pixels).  This reproduces GALFIT's
RMS on both reference images to 0.1 % and its sigma images to 0.2 % (95th percentile).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from ..frames import read_image_2d
from ..galfit_files import GalfitFormatError

__all__ = ["internal_sigma", "sky_statistics", "read_sigma", "read_mask"]

#: Standard deviation (pixels) of the Gaussian smoothing of the Poisson term.
SMOOTHING = 2.0
#: Sky estimate: rounds of clipping at CLIP RMS about the mean.
CLIP, CLIP_ROUNDS = 2.5, 4


def sky_statistics(data, mask=None) -> tuple[float, float]:
    """Sky mean and RMS as GALFIT estimates them: clipping at 2.5 RMS about the mean, 4 rounds.

    Parameters
    ----------
    data : ndarray
        Image (non-finite pixels are ignored).
    mask : ndarray of bool, optional
        True for bad pixels, which are ignored.

    Returns
    -------
    (sky, rms) : tuple of float
    """
    good = np.isfinite(data)
    if mask is not None:
        good &= ~np.asarray(mask, dtype=bool)
    values = np.asarray(data, dtype=np.float64)[good]
    if values.size < 2:
        raise ValueError("sky_statistics: fewer than 2 usable pixels")
    sel = values
    for _ in range(CLIP_ROUNDS):
        mean, rms = sel.mean(), sel.std()
        kept = values[np.abs(values - mean) < CLIP * rms]
        if kept.size < 2:
            break
        sel = kept
    return float(sel.mean()), float(sel.std())


def internal_sigma(data, gain, ncombine=1, rdnoise=0.0, sky=None, skyrms=None, mask=None) -> np.ndarray:
    """GALFIT 3.0.5's internal sigma image, in the data's units.

    Parameters
    ----------
    data : ndarray
        Image in counts (ADU), as GALFIT requires for its own sigma image.
    gain : float
        GAIN (electrons per ADU).
    ncombine : int
        NCOMBINE (number of averaged exposures).
    rdnoise : float
        RDNOISE (electrons); used only when ``sky`` is given and ``skyrms`` is not.
    sky, skyrms : float, optional
        Sky pedestal and RMS (ADU), as GALFIT's ``-skyped``/``-skyrms``; estimated from the
        data when not given.
    mask : ndarray of bool, optional
        Bad pixels, left out of the sky estimate.

    Returns
    -------
    ndarray
        float64, same shape as ``data``.
    """
    data = np.asarray(data, dtype=np.float64)
    clean = np.where(np.isfinite(data), data, 0.0)
    scale = float(gain) * float(ncombine)
    if scale <= 0:
        raise ValueError(f"internal_sigma: GAIN x NCOMBINE must be > 0, got {scale:g}")
    if sky is None or skyrms is None:
        est_sky, est_rms = sky_statistics(data, mask)
    if skyrms is None:
        skyrms = est_rms if sky is None else np.sqrt(max(sky, 0.0) / scale + rdnoise**2 / (gain * scale))
    if sky is None:
        sky = est_sky
    smooth = ndimage.gaussian_filter(clean, SMOOTHING, mode="reflect")
    return np.sqrt(skyrms**2 + np.clip(smooth - sky, 0.0, None) / scale)


def _check_shape(path, what, got, shape):
    if tuple(got) != tuple(shape):
        raise GalfitFormatError(
            f"{path}: {what}: size {got[1]}x{got[0]} differs from the data's {shape[1]}x{shape[0]}; "
            "give an image of the input image's size"
        )


def read_sigma(path, shape) -> np.ndarray:
    """Read a C) sigma image (data units) of the input image's ``shape`` (ny, nx), float64."""
    data = read_image_2d(path, "C) sigma image")[0]
    _check_shape(path, "C) sigma image", data.shape, shape)
    return data.astype(np.float64)


def read_mask(path, shape) -> np.ndarray:
    """Read an F) bad-pixel mask: FITS (> 0 bad) or ASCII list of 1-based ``x y``.

    Returns
    -------
    ndarray of bool
        ``shape`` (ny, nx); True = bad pixel.
    """
    path = Path(path)
    try:
        head = path.open("rb").read(6)
    except FileNotFoundError:
        raise GalfitFormatError(f"{path}: F) mask: file not found; check the path or write 'none'") from None
    if head == b"SIMPLE":
        data = read_image_2d(path, "F) mask")[0]
        _check_shape(path, "F) mask", data.shape, shape)
        return np.nan_to_num(data.astype(np.float64), nan=1.0) > 0
    bad = np.zeros(shape, dtype=bool)
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise GalfitFormatError(f"{path}: F) mask: neither FITS nor text; give a FITS image or an x y list") from None
    for lineno, line in enumerate(text.splitlines(), 1):
        body = line.split("#", 1)[0].split()
        if not body:
            continue
        try:
            x, y = (int(round(float(t))) for t in body[:2])
        except ValueError:
            raise GalfitFormatError(f"{path}: F) mask line {lineno}: cannot read {line.strip()!r}; write '<x> <y>' (1-based)") from None
        if not (1 <= x <= shape[1] and 1 <= y <= shape[0]):
            raise GalfitFormatError(
                f"{path}: F) mask line {lineno}: pixel ({x}, {y}) outside the {shape[1]}x{shape[0]} image; fix the coordinates"
            )
        bad[y - 1, x - 1] = True
    return bad
