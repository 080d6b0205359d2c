"""Inputs of the re-fits: the galaxy light of the best fit, its injection into blank sky
windows, and the GALFIT input file that re-fits one injected window.

Conventions follow GALFIT (see the project README): positions are 1-based pixel centres
of the full frame, ``x`` is the column, numpy arrays are indexed ``[y, x]``.
"""

from __future__ import annotations

import copy

import numpy as np
from astropy.io import fits
from astropy.stats import sigma_clipped_stats
from astropy.wcs.utils import proj_plane_pixel_scales

from galfit_unc import galfit_files as gf

__all__ = [
    "sky_plane",
    "sky_in_model",
    "galaxy_light",
    "inject",
    "pixel_scale",
    "refit_feedme",
    "write_injected",
]

#: Frame keywords GALFIT reads for its internal sigma image and photometry.
FRAME_KEYWORDS = ("EXPTIME", "GAIN", "NCOMBINE", "RDNOISE", "BUNIT")


def _region_shape(fit_header: gf.FitHeader) -> tuple[int, int]:
    x1, x2, y1, y2 = fit_header.fitsect
    return (y2 - y1 + 1, x2 - x1 + 1)


def _sky_components(fit_header: gf.FitHeader):
    return [c for c in fit_header.components if c.base_type == "sky"]


def sky_plane(fit_header: gf.FitHeader, shape) -> np.ndarray:
    """GALFIT's sky model over the fitted region.

    ``S + (x - x0) dS/dx + (y - y0) dS/dy`` with ``(x0, y0)`` the centre of FITSECT in
    frame coordinates, summed over all sky components.

    Parameters
    ----------
    fit_header : FitHeader
        Header of the fit (HDU2 of its image block).
    shape : tuple of int
        ``(ny, nx)``; must be the shape of FITSECT.

    Returns
    -------
    numpy.ndarray
        float64 plane; zeros when the fit has no sky component.
    """
    expected = _region_shape(fit_header)
    if tuple(shape) != expected:
        raise ValueError(f"sky plane: shape {tuple(shape)} differs from FITSECT {gf.format_fitsect(fit_header.fitsect)} {expected}; give the fitted region's shape")
    x1, x2, y1, y2 = fit_header.fitsect
    y, x = np.mgrid[y1 : y2 + 1, x1 : x2 + 1].astype(float)
    x0, y0 = (x1 + x2) / 2, (y1 + y2) / 2
    plane = np.zeros(expected)
    for comp in _sky_components(fit_header):
        plane += comp["SKY"].value
        # Gradients may be absent in hand-made headers; GALFIT writes them as [0].
        for key, coord, centre in (("DSDX", x, x0), ("DSDY", y, y0)):
            grad = comp.get(key)
            if grad is not None:
                plane += (coord - centre) * grad.value
    return plane


def sky_in_model(fit_header: gf.FitHeader, *, explicit: bool | None = None, feedme: gf.Feedme | None = None, residual=None) -> tuple[bool, str]:
    """Decide whether HDU2 (the model) of the image block contains the sky.

    Evidence in order: ``explicit`` (the targets table), the input file's sky ``Z)``
    (``Z) 0`` means drawn into HDU2), then the residual HDU3. In HDU3 the sigma-clipped
    background is ~0 when the model holds the sky and ~the sky plane when it does not;
    the closer hypothesis wins. When the sky level is below a tenth of the residual's
    clipped standard deviation the choice does not matter and ``False`` is returned.

    Parameters
    ----------
    fit_header : FitHeader
    explicit : bool, optional
    feedme : Feedme, optional
        The input file of the original fit.
    residual : numpy.ndarray, optional
        HDU3 of the image block.

    Returns
    -------
    (bool, str)
        Decision and a one-line reason.
    """
    if explicit is not None:
        return bool(explicit), f"given explicitly (sky_in_model {'yes' if explicit else 'no'})"
    skies = _sky_components(fit_header)
    if not skies:
        return False, "the fit has no sky component"
    if feedme is not None:
        fm_skies = [c for c in feedme.components if c.base_type == "sky"]
        if fm_skies:
            drawn = not fm_skies[0].skip
            return drawn, f"input file {feedme.source}: sky Z) {0 if drawn else 1}"
    if residual is None:
        raise ValueError("sky_in_model: no evidence (no explicit flag, input file or residual); set sky_in_model yes/no in the targets table")
    residual = np.asarray(residual, dtype=float)
    plane = sky_plane(fit_header, residual.shape)
    _, med_with, std = sigma_clipped_stats(residual)
    _, med_without, _ = sigma_clipped_stats(residual - plane)
    level = float(np.mean(plane))
    if abs(level) < 0.1 * std:
        return False, f"sky {level:.4g} is below 0.1 x residual std {std:.4g}: the choice does not matter"
    inside = bool(abs(med_with) <= abs(med_without))
    return inside, (
        f"residual background median {med_with:.4g} vs sky {level:.4g}: "
        + ("residual is sky-free, so the model holds the sky" if inside else "residual holds the sky, so the model does not")
    )


def galaxy_light(imgblock_path, *, sky_in_model_flag: bool) -> np.ndarray:
    """The model image (HDU2) without the sky, as float64.

    Parameters
    ----------
    imgblock_path : path-like
        GALFIT output image block.
    sky_in_model_flag : bool
        Whether HDU2 contains the sky (see :func:`sky_in_model`).
    """
    header = gf.read_fit_header(imgblock_path)
    with fits.open(imgblock_path) as hdul:
        model = np.asarray(hdul[2].data, dtype=np.float64)
    if sky_in_model_flag:
        model = model - sky_plane(header, model.shape)
    return model


def inject(cleaned_sky, galaxy) -> np.ndarray:
    """Add the galaxy light to a blank sky window of the same shape (float64)."""
    cleaned_sky, galaxy = np.asarray(cleaned_sky), np.asarray(galaxy)
    if cleaned_sky.shape != galaxy.shape:
        raise ValueError(f"inject: sky window shape {cleaned_sky.shape} differs from model shape {galaxy.shape}; cut windows the size of FITSECT")
    return cleaned_sky.astype(np.float64) + galaxy


def pixel_scale(header) -> tuple[float, float]:
    """Pixel scale ``(dx, dy)`` in arcsec/pixel from the header's celestial WCS."""
    from galfit_unc.cleaning import celestial_wcs

    wcs = celestial_wcs(header)
    if wcs.naxis != 2:
        raise ValueError("pixel scale: the frame header has no celestial WCS (CTYPE1/2, CRPIX, CD or CDELT); give the frame with its WCS")
    dx, dy = proj_plane_pixel_scales(wcs) * 3600.0
    return float(dx), float(dy)


def _header_rows(hcomp: gf.HeaderComponent, shift) -> dict[str, gf.Row]:
    """Input-file rows of one component built from header values alone."""
    base = hcomp.base_type
    probe = gf.Component(hcomp.type)
    # Hidden parameters (C0, Fm, Bm) appear in the header under their row names.
    for key, _ in hcomp.params:
        row = key[:-2] if key.endswith("PA") and key[:-2][:1] == "F" else key
        if row == "C0" or (row[:1] in "FB" and row[1:].isdigit()):
            probe.rows.setdefault(row, gf.Row(row, []))
    rows: dict[str, gf.Row] = {}
    for hkey, rkey, _ in gf.parameter_table(probe):
        value = hcomp.get(hkey)
        if value is None:
            raise gf.GalfitFormatError(f"image block header: {hcomp.number}_{hkey}: missing for {base} component {hcomp.number}; give the original input file")
        row = rows.setdefault(rkey, gf.Row(rkey, [], []))
        row.values.append(value.value)
        row.toggles.append(0 if value.kind == "fixed" else 1)
    if base != "sky":
        rows["1"].values = [rows["1"].values[0] - shift[0], rows["1"].values[1] - shift[1]]
    rows["Z"] = gf.Row("Z", [0.0])
    return rows


def _feedme_rows(hcomp: gf.HeaderComponent, comp: gf.Component, shift) -> dict[str, gf.Row]:
    """Rows of the original input file with values replaced by the header's best fit."""
    rows = copy.deepcopy(comp.rows)
    for hkey, rkey, idx in gf.parameter_table(comp):
        value = hcomp.get(hkey)
        if value is not None:
            rows[rkey].values[idx] = value.value
    # The truncation centroid T1) is a frame position like 1).
    for key in ("1", "T1") if comp.base_type != "sky" else ("T1",):
        if key in rows and len(rows[key].values) == 2:
            rows[key].values = [rows[key].values[0] - shift[0], rows[key].values[1] - shift[1]]
    return rows


def refit_feedme(
    fit_header: gf.FitHeader,
    *,
    window_shape,
    original_feedme: gf.Feedme | None = None,
    image: str = "injected.fits",
    output: str = "output.fits",
    psf: str = "psf.fits",
    constraints: str | None = "constraints.txt",
    mask: str | None = None,
    sigma: str | None = None,
    platescale=(1.0, 1.0),
) -> gf.Feedme:
    """GALFIT input file that re-fits one injected window.

    Components, types and toggles are those of the original fit, initial values its
    best-fit values; positions move into the window's frame (``x - (x1 - 1)``,
    ``y - (y1 - 1)`` with ``(x1, y1)`` of FITSECT).

    Parameters
    ----------
    fit_header : FitHeader
        Header of the original fit.
    window_shape : tuple of int
        ``(ny, nx)`` of the injected window; H) becomes ``1 nx 1 ny``.
    original_feedme : Feedme, optional
        The original input file. When given, its rows (including hidden ones: C0, Fm,
        Bm, R*, T*) and toggles are kept and its E) is reused; otherwise toggles come from
        the header (``[…]`` fixed, everything else free).
    image, output, psf, constraints, mask, sigma : str or None
        Plain file names (the fit runs in its own directory); ``None`` writes ``none``.
    platescale : (float, float)
        K) in arcsec/pixel.

    Returns
    -------
    Feedme

    Raises
    ------
    GalfitFormatError
        The original input file's components do not match the header's.
    """
    x1, _, y1, _ = fit_header.fitsect
    shift = (x1 - 1, y1 - 1)
    ny, nx = window_shape
    if original_feedme is not None:
        fm_types = [c.type for c in original_feedme.components]
        hd_types = [c.type for c in fit_header.components]
        if fm_types != hd_types:
            raise gf.GalfitFormatError(
                f"{original_feedme.source}: components: types {fm_types} differ from the image block's {hd_types}; give the input file of this fit"
            )
        comps = [
            gf.Component(c.type, _feedme_rows(h, c, shift), c.comment)
            for h, c in zip(fit_header.components, original_feedme.components)
        ]
        finesample = original_feedme.finesample
    else:
        comps = [gf.Component(h.type, _header_rows(h, shift)) for h in fit_header.components]
        finesample = 1
    if fit_header.convbox is not None:
        convbox = fit_header.convbox
    elif original_feedme is not None and "I" in original_feedme.control:
        convbox = original_feedme.convbox
    else:
        convbox = (nx, ny)
    control = {
        "A": image,
        "B": output,
        "C": sigma or "none",
        "D": psf,
        "E": str(finesample),
        "F": mask or "none",
        "G": constraints or "none",
        "H": f"1 {nx} 1 {ny}",
        "I": f"{convbox[0]} {convbox[1]}",
        "J": repr(float(fit_header.magzpt)),
        "K": f"{float(platescale[0])!r} {float(platescale[1])!r}",
        "O": "regular",
        "P": "0",
    }
    return gf.Feedme(control, comps, source=output)


def write_injected(path, data, cutout_header, frame_header) -> None:
    """Write an injected window with the cutout's WCS and the frame's detector keywords.

    EXPTIME, GAIN, NCOMBINE, RDNOISE and BUNIT are copied from ``frame_header`` where
    present, because GALFIT uses them for photometry and its internal sigma image.
    """
    header = fits.Header(cutout_header, copy=True)
    for key in ("SIMPLE", "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "PCOUNT", "GCOUNT", "BSCALE", "BZERO"):
        header.remove(key, ignore_missing=True, remove_all=True)
    for key in FRAME_KEYWORDS:
        if key in frame_header:
            header[key] = (frame_header[key], frame_header.comments[key])
    fits.PrimaryHDU(np.asarray(data), header=header).writeto(path, overwrite=True)
