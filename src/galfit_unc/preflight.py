"""Checks that run before the first job: the engine, the PSF, the fitted region against the
frame and the comp_ident table's coverage of the fit.

Each check raises an error whose message is one line: the file, the field, the problem and
what to do.  Files that do not exist yet (made by a rule, as the demo's) are left to the
rule that reads them.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
from astropy.io import fits

from galfit_unc.config import ConfigError
from galfit_unc.galfit_files import (
    IGNORE,
    TRUNCATION_TYPES,
    GalfitFormatError,
    read_comp_ident,
    read_fit_header,
)
from galfit_unc.targets import TargetsError

__all__ = ["check_engine", "check_psf", "check_coverage", "check_inputs"]

#: Header keywords GALFIT writes into an image block and never into a PSF.
_BLOCK_KEYWORDS = ("FITSECT", "COMP_1", "INITFILE")


def check_engine(fitter: dict, source: str) -> None:
    """Refuse an engine ``galfit`` whose executable cannot be started.

    The executable must be found (a name on PATH or a path), be executable, and, for a
    script, name an interpreter that exists.  It is not run: GALFIT without an input file
    waits in its menu.

    Parameters
    ----------
    fitter : dict
        The ``fitter`` section of the configuration.
    source : str
        The configuration file(s), for the message.

    Raises
    ------
    ConfigError
    """
    if fitter.get("engine") != "galfit":
        return
    exe = str(fitter.get("galfit", "galfit"))
    found = shutil.which(exe)
    if found is None:
        if os.path.isfile(exe):
            raise ConfigError(f"{source}: fitter.galfit: {exe} is not executable; make it executable (chmod +x) or set fitter.galfit to the GALFIT executable")
        raise ConfigError(
            f"{source}: fitter.galfit: {exe!r} not found (neither a file nor a name on PATH); "
            "set fitter.galfit to the GALFIT executable, or use fitter.engine: embedded"
        )
    with open(found, "rb") as fh:
        first = fh.readline(512)
    if first.startswith(b"#!"):
        words = first[2:].decode(errors="replace").split()
        interpreter = words[0] if words else ""
        if not (os.path.isfile(interpreter) and os.access(interpreter, os.X_OK)):
            raise ConfigError(f"{source}: fitter.galfit: {found} is a script whose interpreter {interpreter!r} cannot be run; fix its first line or set fitter.galfit to the GALFIT executable")


def check_psf(psf) -> None:
    """Refuse a file that cannot be the PSF: an image block, a blank or a non-finite image,
    or an image whose brightest pixel is far from its centre.

    Raises
    ------
    GalfitFormatError
    """
    try:
        with fits.open(psf) as hdul:
            if any(key in hdu.header for hdu in hdul for key in _BLOCK_KEYWORDS):
                raise GalfitFormatError(f"{psf}: PSF: the file is a GALFIT image block, not a PSF; give the PSF image the fit used (D) of its input file)")
            hdu = next((h for h in hdul if h.data is not None and h.data.ndim == 2), None)
            data = None if hdu is None else np.asarray(hdu.data, dtype=float)
    except OSError as exc:
        raise GalfitFormatError(f"{psf}: PSF: not a readable FITS file ({exc}); give the PSF image the fit used") from None
    if data is None:
        raise GalfitFormatError(f"{psf}: PSF: no 2-D image in the file; give the PSF image the fit used")
    if not np.all(np.isfinite(data)) or not data.sum() > 0:
        raise GalfitFormatError(f"{psf}: PSF: the pixel sum is {data.sum():g} or a pixel is not finite; give a PSF image with positive flux")
    ny, nx = data.shape
    py, px = np.unravel_index(np.argmax(data), data.shape)
    # GALFIT's PSF centre is pixel N/2+1 (even N) or (N+1)/2 (odd N), 1-based.
    cy, cx = ny // 2, nx // 2
    if abs(py - cy) > max(2, ny // 4) or abs(px - cx) > max(2, nx // 4):
        raise GalfitFormatError(
            f"{psf}: PSF: the brightest pixel is at x={px + 1}, y={py + 1}, far from the centre x={cx + 1}, y={cy + 1} of the "
            f"{nx} x {ny} image; give a PSF image centred on its star"
        )


def check_coverage(comp_ident, imgblock) -> None:
    """Refuse a comp_ident table that leaves a component of the fit (other than sky and truncations) in no
    object and does not mark it as ignored (object ``-``).

    Raises
    ------
    GalfitFormatError
    """
    header = read_fit_header(imgblock)
    listed = read_comp_ident(comp_ident, [c.number for c in header.components], keep_ignored=True)
    # Sky and truncations (which shape another component) have no light of their own.
    left = [c for c in header.components if c.base_type != "sky" and c.base_type not in TRUNCATION_TYPES and c.number not in listed]
    if left:
        names = ", ".join(f"{c.number} ({c.type})" for c in left)
        raise GalfitFormatError(
            f"{comp_ident}: components: {names} of the fit in {imgblock} belong to no object; "
            f"give each its object, or write 'component {IGNORE}' to leave it out of every object's magnitude"
        )


def check_inputs(rows, source) -> None:
    """Run the file checks of this module on every row of the targets table.

    Parameters
    ----------
    rows : list of dict
        From :func:`galfit_unc.targets.read_targets`.
    source : str
        The targets table, for the message.

    Raises
    ------
    TargetsError
        One line: the table, the row, then the file, the field and what to do.
    """
    for row in rows:
        have = {col: row[col] for col in ("image", "imgblock", "psf", "comp_ident") if row.get(col) and os.path.exists(row[col])}
        try:
            if "psf" in have:
                check_psf(have["psf"])
            if "imgblock" in have and "comp_ident" in have:
                check_coverage(have["comp_ident"], have["imgblock"])
        except GalfitFormatError as exc:
            raise TargetsError(f"{source}: target {row['target']}, band {row['band']}: {exc}") from None
