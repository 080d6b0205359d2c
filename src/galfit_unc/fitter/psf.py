"""Reading the PSF image the way GALFIT uses it (normalised, centred on pixel N/2+1 or (N+1)/2)."""

from __future__ import annotations

import numpy as np

from ..frames import read_image_2d
from ..galfit_files import GalfitFormatError

__all__ = ["load_psf", "psf_centre"]


def psf_centre(shape) -> tuple[float, float]:
    """0-based ``(yc, xc)`` of GALFIT's PSF centre for an image of ``shape``.

    GALFIT's centre is pixel N/2+1 (even N) or (N+1)/2 (odd N), 1-based; both are
    ``N // 2`` 0-based.
    """
    ny, nx = shape
    return float(ny // 2), float(nx // 2)


def load_psf(path) -> np.ndarray:
    """Read a PSF image, normalised to a sum of 1 (GALFIT normalises it too).

    Parameters
    ----------
    path : path-like
        FITS file; the first HDU holding a 2-D image is used.

    Returns
    -------
    numpy.ndarray
        float64 PSF, sum 1.

    Raises
    ------
    GalfitFormatError
        Missing or unreadable file, not a 2-D image, non-finite pixels or a sum <= 0.
    """
    data = read_image_2d(path, "D) PSF")[0].astype(np.float64)
    if not np.all(np.isfinite(data)):
        raise GalfitFormatError(f"{path}: D) PSF: non-finite pixels; replace them with 0")
    total = data.sum()
    if not total > 0:
        raise GalfitFormatError(f"{path}: D) PSF: pixel sum {total:g} is not positive; give a PSF image")
    return data / total
