"""Frames and FITS images: opening them, which HDU is the image, its WCS and pixel scale, and
the detector keywords GALFIT reads.

Every reader of an image in the package goes through :func:`read_image_2d` (or its header-only
twin :func:`read_frame_header`): the image of a FITS file is its first image HDU holding 2-D
data, decided from the headers alone.  Errors are one line, ``FILE: FIELD: problem; what to
do``, where ``FIELD`` names the image's role (``A) input image``, ``D) PSF``, ...) when the
caller gives one.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
from astropy.io import fits

from .galfit_files import GalfitFormatError

if TYPE_CHECKING:
    from astropy.wcs import WCS

__all__ = [
    "DETECTOR_KEYWORDS",
    "FRAME_KEYWORDS",
    "open_fits",
    "first_2d_hdu",
    "read_frame_header",
    "read_image_2d",
    "load_frame",
    "celestial_wcs",
    "pixel_scale",
]

#: Detector keywords GALFIT reads from its input image (photometry and its sigma image).
DETECTOR_KEYWORDS = ("EXPTIME", "GAIN", "NCOMBINE", "RDNOISE")
#: The frame keywords an injected window keeps: the detector's, and the pixels' unit.
FRAME_KEYWORDS = (*DETECTOR_KEYWORDS, "BUNIT")


def open_fits(path, role: str | None = None) -> fits.HDUList:
    """Open a FITS file (pixels read on access, not memory-mapped).

    Parameters
    ----------
    path : path-like
    role : str, optional
        The image's role in the error messages (``D) PSF``); default: a frame.

    Raises
    ------
    GalfitFormatError
        Missing or unreadable file.
    """
    try:
        return fits.open(path, memmap=False)
    except FileNotFoundError:
        where = "file: not found; check the frame path" if role is None else f"{role}: file not found; check the path"
        raise GalfitFormatError(f"{path}: {where}") from None
    except Exception as exc:  # astropy raises many types for damaged files
        what = "FITS: unreadable" if role is None else f"{role}: unreadable FITS"
        raise GalfitFormatError(f"{path}: {what} ({type(exc).__name__}: {exc}); give a FITS image") from None


def first_2d_hdu(hdul, path, role: str | None = None) -> int:
    """Index of the first image HDU with 2-D data, from the headers alone (no pixels read).

    Raises
    ------
    GalfitFormatError
        No 2-D HDU (e.g. only a 3-D cube).
    """
    shapes = [(i, hdu.shape) for i, hdu in enumerate(hdul) if hdu.is_image and hdu.header.get("NAXIS", 0) > 0]
    first_2d = next((i for i, shape in shapes if len(shape) == 2), None)
    if first_2d is None:
        cubes = [f"HDU{i} {shape}" for i, shape in shapes]
        what = f"only non-2-D data ({', '.join(cubes)})" if cubes else "no image data"
        raise GalfitFormatError(f"{path}: {role or 'NAXIS'}: {what}; give a 2-D image (extract one plane of a cube)")
    return first_2d


def read_frame_header(path, role: str | None = None) -> fits.Header:
    """Header of the first HDU with 2-D data, without reading its pixels.

    Raises
    ------
    GalfitFormatError
        Missing or unreadable file, or no 2-D HDU (e.g. a 3-D cube).
    """
    with open_fits(path, role) as hdul:
        return hdul[first_2d_hdu(hdul, path, role)].header.copy()


def read_image_2d(path, role: str | None = None) -> tuple[np.ndarray, fits.Header]:
    """Data and header of the first HDU with 2-D data, as stored (a mask, sigma image or PSF:
    unlike :func:`load_frame`, a constant image is fine).

    Raises
    ------
    GalfitFormatError
        Missing or unreadable file, or no 2-D HDU.
    """
    with open_fits(path, role) as hdul:
        hdu = hdul[first_2d_hdu(hdul, path, role)]
        return hdu.data.copy(), hdu.header.copy()


def load_frame(path) -> tuple[np.ndarray, fits.Header]:
    """Read the image frame: the first HDU holding 2-D data.

    Parameters
    ----------
    path : str or path-like
        FITS file.

    Returns
    -------
    data : ndarray of float64, shape (H, W)
    header : astropy.io.fits.Header
        Header of the HDU the data came from.

    Raises
    ------
    GalfitFormatError
        Missing or unreadable file, no 2-D HDU (e.g. a 3-D cube), all pixels non-finite,
        or a constant frame.
    """
    with open_fits(path) as hdul:
        first_2d = first_2d_hdu(hdul, path)
        data = np.asarray(hdul[first_2d].data, dtype=np.float64)
        header = hdul[first_2d].header.copy()
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        raise GalfitFormatError(f"{path}: HDU{first_2d} data: no finite pixel; give the science frame")
    if finite.min() == finite.max():
        raise GalfitFormatError(
            f"{path}: HDU{first_2d} data: constant value {finite[0]:g}; give the science frame, not a blank or mask"
        )
    return data, header


def celestial_wcs(header) -> WCS:
    """The 2-D celestial WCS of a frame header.

    IRAF-written frames may declare extra axes (``WCSDIM = 3``, ``CTYPE3 = 'LINEAR'``)
    on a 2-D image; only the sky axes are kept.
    """
    # Imported here: astropy.wcs loads astropy.coordinates (about 0.3 CPU-s), which the
    # fitter's processes, reading images only, do not need.
    from astropy.wcs import WCS, FITSFixedWarning

    with warnings.catch_warnings():
        # Expected for such headers: the extra axis is dropped right here.
        warnings.simplefilter("ignore", FITSFixedWarning)
        return WCS(header).celestial


def pixel_scale(header) -> tuple[float, float]:
    """Pixel scale ``(dx, dy)`` in arcsec/pixel from the header's celestial WCS."""
    from astropy.wcs.utils import proj_plane_pixel_scales  # see celestial_wcs

    wcs = celestial_wcs(header)
    if wcs.naxis != 2:
        raise ValueError("pixel scale: the frame header has no celestial WCS (CTYPE1/2, CRPIX, CD or CDELT); give the frame with its WCS")
    # 12 significant digits: a WCS holds no more; the rest is binary noise of the product.
    return tuple(float(f"{v:.12g}") for v in proj_plane_pixel_scales(wcs) * 3600.0)
