"""Inputs of the re-fits: the galaxy light of the best fit, its injection into blank sky
windows, and the GALFIT input file that re-fits one injected window.

Conventions follow GALFIT (see the project README): positions are 1-based pixel centres
of the full frame, ``x`` is the column, numpy arrays are indexed ``[y, x]``.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import numpy as np
from astropy.io import fits

from galfit_unc import galfit_files as gf
from galfit_unc.fitter.finesample import make_renderer
from galfit_unc.fitter.psf import load_psf
from galfit_unc.frames import (
    DETECTOR_KEYWORDS,
    FRAME_KEYWORDS,
    first_2d_hdu,
    open_fits,
    pixel_scale,
    read_frame_header,
)
from galfit_unc.skysearch import clipped_stats

__all__ = [
    "sky_plane",
    "sky_in_model",
    "galaxy_light",
    "inject",
    "header_components",
    "refit_feedme",
    "refit_constraints",
    "skipped_light",
    "refit_sigma",
    "fit_keywords",
    "check_refit_inputs",
    "check_region_in_frame",
    "write_injected",
]

def _decimal_sum(*values) -> float:
    """Sum of floats as their shortest texts add up: 298.7289 - 219 is 79.7289, not the
    binary 79.72890000000001 that an input file would then carry."""
    return float(sum(Decimal(repr(float(v))) for v in values))


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
    med_with, std = clipped_stats(residual, 3.0, 5)
    med_without, _ = clipped_stats(residual - plane, 3.0, 5)
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


def refit_platescale(original_feedme: gf.Feedme | None, frame_header) -> tuple[float, float]:
    """The plate scale ``K)`` of every re-fit: the original input file's, else the frame's WCS.

    Surface-brightness parameters (sersic1, edgedisk, nuker, king, ferrer ``mu``) mean what
    the original fit meant only with its own ``K)``.
    """
    if original_feedme is not None and "K" in original_feedme.control:
        return original_feedme.platescale
    return pixel_scale(frame_header)


def _check_components(fit_header: gf.FitHeader, original_feedme: gf.Feedme) -> None:
    # Base types: GALFIT's header types a truncated Sersic 'sersic1 \\', its input file 'sersic'.
    fm_types = [c.base_type for c in original_feedme.components]
    hd_types = [c.base_type for c in fit_header.components]
    if fm_types != hd_types:
        raise gf.GalfitFormatError(
            f"{original_feedme.source}: components: types {fm_types} differ from the image block's {hd_types}; give the input file of this fit"
        )


def _header_rows(hcomp: gf.HeaderComponent, shift) -> dict[str, gf.Row]:
    """Input-file rows of one component built from header values alone."""
    base = hcomp.base_type
    probe = gf.Component(hcomp.type)
    rows: dict[str, gf.Row] = {}
    # A truncated component (GALFIT's ``sersic1 \``) is its base type with its To)/Ti) link row.
    for link, key in (("To", "TOUTR"), ("Ti", "TINNR")):
        if key in hcomp.links:
            probe.type = base
            rows[link] = probe.rows[link] = gf.Row(link, [float(v) for v in hcomp.links[key]])
    # Hidden parameters (C0, Fm, Bm) appear in the header under their row names.
    for key, _ in hcomp.params:
        row = key[:-2] if key.endswith("PA") and key[:-2][:1] == "F" else key
        if row == "C0" or (row[:1] in "FB" and row[1:].isdigit()):
            probe.rows.setdefault(row, gf.Row(row, []))
    if base in gf.TRUNCATION_TYPES:  # a truncation's optional rows, when the header has them
        for key, row in (("XC", "T1"), ("AR", "T9"), ("PA", "T10")):
            if hcomp.get(key) is not None:
                probe.rows.setdefault(row, gf.Row(row, []))
    for hkey, rkey, _ in gf.parameter_table(probe):
        value = hcomp.get(hkey)
        if value is None:
            raise gf.GalfitFormatError(f"image block header: {hcomp.number}_{hkey}: missing for {base} component {hcomp.number}; give the original input file")
        row = rows.setdefault(rkey, gf.Row(rkey, [], []))
        row.values.append(value.value)
        row.toggles.append(0 if value.kind == "fixed" else 1)
    position = "T1" if base in gf.TRUNCATION_TYPES else "1"
    if base != "sky" and position in rows:
        rows[position].values = [_decimal_sum(rows[position].values[0], -shift[0]), _decimal_sum(rows[position].values[1], -shift[1])]
    rows.update(hcomp.rotation_rows())
    if base not in gf.TRUNCATION_TYPES:
        rows["Z"] = gf.Row("Z", [0.0])
    return rows


def header_components(fit_header: gf.FitHeader, shift=(0, 0)) -> list[gf.Component]:
    """The components of an image block's header as input-file components.

    Parameters
    ----------
    fit_header : FitHeader
    shift : (float, float)
        Subtracted from every position (the window's offset); positions as in the header
        by default.

    Returns
    -------
    list of Component
        Values and toggles (fixed = 0) of the header; ``Z) 0`` for each.

    Raises
    ------
    GalfitFormatError
        A parameter the header lacks.
    """
    # A truncated component's header type (sersic1 with a backslash) is its base type in an input file.
    return [gf.Component(h.base_type if h.links.keys() & {"TOUTR", "TINNR"} else h.type, _header_rows(h, shift)) for h in fit_header.components]


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
            rows[key].values = [_decimal_sum(rows[key].values[0], -shift[0]), _decimal_sum(rows[key].values[1], -shift[1])]
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
        _check_components(fit_header, original_feedme)
        comps = [
            gf.Component(c.type, _feedme_rows(h, c, shift), c.comment)
            for h, c in zip(fit_header.components, original_feedme.components)
        ]
        finesample = original_feedme.finesample
    else:
        comps = header_components(fit_header, shift)
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
        "J": gf.format_number(fit_header.magzpt),
        "K": f"{gf.format_number(platescale[0])} {gf.format_number(platescale[1])}",
        "O": "regular",
        "P": "0",
    }
    return gf.Feedme(control, comps, source=output)


def refit_constraints(path, original_feedme: gf.Feedme | None, fitsect) -> str:
    """Text of a re-fit's constraint file: the original fit's ranges as absolute boxes.

    GALFIT centres a relative range (``1 n -1.5 6``) on the input file's starting value.
    A re-fit starts elsewhere (the best fit), so each relative line becomes one absolute
    line per component, ``start + low to start + high`` with the start from the original
    input file; positions move into the window's frame like the re-fit's ``1)`` rows.
    Every other line (absolute ranges, offsets and ratios kept from the start, differences
    and ratios between components) does not depend on the start and is kept as written.

    Parameters
    ----------
    path : path-like
        The original fit's constraint file.
    original_feedme : Feedme or None
        The original fit's input file; required when the file has relative ranges.
    fitsect : tuple of int
        ``(x1, x2, y1, y2)`` of the fitted region.

    Returns
    -------
    str

    Raises
    ------
    GalfitFormatError
        Relative ranges without the original input file, or a start the input file lacks.
    """
    text = Path(path).read_text()
    relative = {c.line: c for c in gf.parse_constraints(text, str(path)) if c.kind == "relative"}
    if relative and original_feedme is None:
        first = min(relative)
        raise gf.GalfitFormatError(
            f"{path}: line {first}: '{text.splitlines()[first - 1].split('#', 1)[0].strip()}' is a range relative to the original "
            "fit's starting values; give the fit's input file in the targets table's feedme column, or write absolute ranges 'lo to hi'"
        )
    # Positions (a component's 1), a truncation's T1)) move into the window; x is index 0.
    shift = (fitsect[0] - 1, fitsect[2] - 1)
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        con = relative.get(lineno)
        if con is None:
            out.append(line)
            continue
        for number in con.components:
            if number > len(original_feedme.components):
                raise gf.GalfitFormatError(
                    f"{original_feedme.source}: component {number}: missing, but line {lineno} of {path} names it; "
                    "give the input file of this fit"
                )
            comp = original_feedme.components[number - 1]
            row, idx = con.parameter_of(comp, number)
            moved = row in ("1", "T1") and comp.base_type != "sky"
            start = _decimal_sum(comp.rows[row].values[idx], -shift[idx] if moved else 0)
            low, high = (gf.format_number(_decimal_sum(start, v)) for v in (con.low, con.high))
            out.append(f"{number} {con.name} {low} to {high}   # {line.split('#', 1)[0].strip()} about the start {gf.format_number(start)}")
    return "\n".join(out) + "\n"


def skipped_light(fit_header: gf.FitHeader, original_feedme: gf.Feedme | None, psf_path, exptime: float = 1.0) -> np.ndarray:
    """Light of the components the original fit used but left out of HDU2 (``Z) 1``).

    GALFIT fits a ``Z) 1`` component like any other but does not draw it into its model
    image, so the light the original fit faced holds it and HDU2 does not.  It is rendered
    here over FITSECT at the best-fit values with the embedded fitter's renderer (PSF,
    EXPTIME and zeropoint of the original fit) so that the injected light holds it too.
    Sky components are never rendered: each window brings its own sky.

    Parameters
    ----------
    fit_header : FitHeader
        Header of the original fit (HDU2).
    original_feedme : Feedme or None
        Its input file (the only record of ``Z)``); None gives zeros.
    psf_path : path-like
        The PSF of the original fit.
    exptime : float
        EXPTIME the original fit used (1 when its input image had none).

    Returns
    -------
    numpy.ndarray
        float64, the shape of FITSECT.

    Raises
    ------
    GalfitFormatError
        The input file's components differ from the header's, or the renderer does not
        implement a skipped component or the input file's E).
    """
    light = np.zeros(_region_shape(fit_header))
    if original_feedme is None:
        return light
    _check_components(fit_header, original_feedme)
    skipped = []
    for hcomp, comp in zip(fit_header.components, original_feedme.components):
        if comp.skip and comp.base_type != "sky":
            rows = _feedme_rows(hcomp, comp, (0, 0))
            rows["Z"] = gf.Row("Z", [0.0])
            skipped.append(gf.Component(comp.type, rows))
    if not skipped:
        return light
    psf = load_psf(psf_path)
    renderer = make_renderer(skipped, fit_header.fitsect, psf, fit_header.convbox, fit_header.magzpt, exptime=exptime, finesample=original_feedme.finesample)
    return renderer.model(renderer.theta0)


def refit_sigma(sigma_image, window, fitsect) -> np.ndarray:
    """A re-fit's sigma image: the window's sky sigma plus the original source variance.

    The user's sigma image holds, at the target, the sky's variance plus the source's
    (Poisson) variance; at a blank window only the sky's.  A re-fit of the injected
    window faces the window's sky and the target's light, so its variance is

        sigma_window**2 + max(sigma_target**2 - b**2, 0)

    pixel by pixel, with ``b**2`` the sky variance at the target: the sigma-clipped
    (3 sigma) median of ``sigma_target**2`` over FITSECT, where the sky pixels are the
    majority and the source pixels are clipped.  For a sigma image made as GALFIT makes
    its own (``RMS**2 + source / GAIN``) this gives GALFIT's sigma image of the injected
    window, up to the difference between the two windows' sky RMS.

    Parameters
    ----------
    sigma_image : numpy.ndarray
        The user's sigma image of the frame.
    window, fitsect : tuple of int
        ``(x1, x2, y1, y2)`` of the window and of the fitted region (same size).

    Returns
    -------
    numpy.ndarray
        float64, the shape of the window.
    """
    sigma_image = np.asarray(sigma_image, dtype=np.float64)
    sky = sigma_image[gf.region_slices(window)] ** 2
    target = sigma_image[gf.region_slices(fitsect)] ** 2
    if sky.shape != target.shape:
        raise ValueError(f"refit_sigma: window {tuple(window)} and FITSECT {gf.format_fitsect(fitsect)} differ in size; cut windows the size of FITSECT")
    background, _ = clipped_stats(target, 3.0, 5)
    return np.sqrt(sky + np.clip(target - background, 0.0, None))


def fit_keywords(imgblock_path) -> fits.Header:
    """Header of the image block's HDU1: the input image's header as the original fit read it."""
    return fits.getheader(imgblock_path, 1)


def _keyword_text(header, key) -> str:
    return "absent" if key not in header else repr(header[key])


def _same_keyword(a, b, key) -> bool:
    if (key in a) != (key in b):
        return False
    if key not in a:
        return True
    try:
        return bool(np.isclose(float(a[key]), float(b[key]), rtol=1e-9, atol=0.0))
    except (TypeError, ValueError):
        return a[key] == b[key]


def check_region_in_frame(imgblock, image) -> None:
    """Refuse an image block whose fitted region (FITSECT) reaches beyond the frame.

    Raises
    ------
    GalfitFormatError
    """
    x1, x2, y1, y2 = gf.read_fit_header(imgblock).fitsect
    header = read_frame_header(image)
    nx, ny = header["NAXIS1"], header["NAXIS2"]
    if x1 < 1 or y1 < 1 or x2 > nx or y2 > ny:
        raise gf.GalfitFormatError(
            f"{imgblock}: FITSECT: the fitted region [{x1}:{x2},{y1}:{y2}] reaches beyond the frame {image} "
            f"({nx} x {ny} pixels); give the image block of a fit on this frame"
        )


def check_frame_block(frame_path, imgblock_path) -> None:
    """Refuse a frame that is not the image the original fit was run on.

    HDU1 of GALFIT's image block is the fitted section of its input image, with that
    image's header.  The frame's pixels at FITSECT must equal HDU1's (a non-finite frame
    pixel, which GALFIT zeroes, is 0 or non-finite in HDU1) and EXPTIME, GAIN, NCOMBINE and RDNOISE
    must agree (present in both with the same value, or absent from both).

    Raises
    ------
    GalfitFormatError
        One line naming both files, the field and what to do.
    """
    # A fitted region beyond the frame has its own message (the frame cannot be compared).
    check_region_in_frame(imgblock_path, frame_path)
    fit_header = gf.read_fit_header(imgblock_path)
    with fits.open(imgblock_path) as hdul:
        stored, block_header = hdul[1].data, hdul[1].header
        block = np.asarray(stored, dtype=np.float64)
    with open_fits(frame_path) as hdul:
        hdu = hdul[first_2d_hdu(hdul, frame_path)]
        frame_header = hdu.header
        x1, x2, y1, y2 = fit_header.fitsect
        section = np.asarray(hdu.section[y1 - 1 : y2, x1 - 1 : x2])
    # HDU1 may hold the pixels at a lower float precision than the frame (GALFIT writes floats).
    if stored.dtype.kind == "f" and section.dtype.kind == "f" and stored.dtype.itemsize < section.dtype.itemsize:
        section = section.astype(stored.dtype)
    section = section.astype(np.float64)
    where = f"{frame_path}: frame vs HDU1 of {imgblock_path}"
    todo = "give the frame the original fit was run on (or the image block of a fit on this frame)"
    if section.shape != block.shape:
        raise gf.GalfitFormatError(f"{where}: FITSECT {gf.format_fitsect(fit_header.fitsect)}: frame section {section.shape} differs from HDU1 {block.shape}; {todo}")
    # GALFIT zeroes non-finite input pixels (flag I-3) in HDU1.
    differ = np.where(np.isfinite(section), section != block, np.isfinite(block) & (block != 0))
    if differ.any():
        y, x = (int(v[0]) for v in np.nonzero(differ))
        raise gf.GalfitFormatError(
            f"{where}: pixels of FITSECT {gf.format_fitsect(fit_header.fitsect)}: {int(differ.sum())} differ "
            f"(first at x={x1 + x}, y={y1 + y}: {section[y, x]:.9g} vs {block[y, x]:.9g}); {todo}"
        )
    for key in DETECTOR_KEYWORDS:
        if not _same_keyword(frame_header, block_header, key):
            raise gf.GalfitFormatError(
                f"{where}: {key}: {_keyword_text(frame_header, key)} in the frame, {_keyword_text(block_header, key)} in HDU1 "
                f"(the fit used HDU1's); {todo}"
            )


def check_refit_inputs(files: dict, feedme_named: bool) -> None:
    """Checks of a targets-table row that the re-fits' inputs need, before any job runs.

    A constraint file with relative ranges needs the original input file (``feedme``)
    (see :func:`refit_constraints`), and the frame must be the image the fit was run on
    (see :func:`check_frame_block`).

    Parameters
    ----------
    files : dict
        Column -> path of the row's existing files.
    feedme_named : bool
        Whether the row names an input file (it may be made by a rule later).

    Raises
    ------
    GalfitFormatError
    """
    if "constraints" in files and not feedme_named and "imgblock" in files:
        refit_constraints(files["constraints"], None, gf.read_fit_header(files["imgblock"]).fitsect)
    if "image" in files and "imgblock" in files:
        check_frame_block(files["image"], files["imgblock"])


def write_injected(path, data, cutout_header, frame_header) -> None:
    """Write an injected window with the cutout's WCS and the original fit's detector keywords.

    EXPTIME, GAIN, NCOMBINE, RDNOISE and BUNIT are copied from ``frame_header`` where
    present, because GALFIT uses them for photometry and its internal sigma image; pass
    the header the original fit read (:func:`fit_keywords`).
    """
    header = fits.Header(cutout_header, copy=True)
    for key in ("SIMPLE", "XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "PCOUNT", "GCOUNT", "BSCALE", "BZERO"):
        header.remove(key, ignore_missing=True, remove_all=True)
    for key in FRAME_KEYWORDS:
        if key in frame_header:
            header[key] = (frame_header[key], frame_header.comments[key])
    fits.PrimaryHDU(np.asarray(data), header=header).writeto(path, overwrite=True)
