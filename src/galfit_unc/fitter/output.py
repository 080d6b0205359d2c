"""GALFIT's output files: the image block (B), the fit.log block and the restart file.

Layouts follow GALFIT 3.0.5's own files (header keywords and their order, value grammar,
fit.log columns, restart header lines).  Every file is written under a temporary name in
its final folder and renamed, so a killed run never leaves half a file behind.
"""

from __future__ import annotations

import copy
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..galfit_files import ROTATION_ROWS, Feedme, HeaderValue, format_feedme, format_fitsect, format_header_value

__all__ = [
    "FitReport",
    "atomic_write",
    "image_block",
    "write_image_block",
    "write_model_image",
    "write_subcomponents",
    "format_log_block",
    "append_fit_log",
    "restart_feedme",
    "write_restart",
]

_HEADER_COMMENTS = {
    "XC": "X center [pixel]",
    "YC": "Y center [pixel]",
    "MAG": "Integrated magnitude [mag]",
    "MU": "Surface brightness at Rb",
    "MU_0": "Central surface brightness",
    "RE": "Effective radius Re [pixels]",
    "RS": "Scale length [pixels]",
    "FWHM": "FWHM [pixels]",
    "HS": "Scale-height [pixels]",
    "RB": "Break radius Rb [pixels]",
    "RC": "Core radius [pixels]",
    "RT": "Truncation radius [pixels]",
    "ROUT": "Outer radius [pixels]",
    "N": "Sersic index",
    "POW": "Moffat powerlaw index",
    "ALPHA": "Power law index alpha",
    "BETA": "Power law index beta",
    "GAMMA": "Power law index gamma",
    "AR": "Axis ratio (b/a)",
    "PA": "Position Angle (PA) [degrees: Up=0, Left=90]",
    "SKY": "Sky background [ADUs]",
    "DSDX": "x sky gradient [ADUs]",
    "DSDY": "y sky gradient [ADUs]",
    "C0": "Diskyness(-)/Boxyness(+)",
    "MUBRK": "Surf. brghtnss @ break radius [mag/arcsec^2]",
    "TOUTR": "Outer truncation by component(s)",
    "TINNR": "Inner truncation by component(s)",
    "INNER": "Component(s) with inner truncation",
    "OUTER": "Component(s) with outer truncation",
    "RBRK": "Break radius (99% normal flux) [pixels]",
    "DSFT": "Softening length (1% normal flux) [pixels]",
    "RSFT": "Softening radius (1% normal flux) [pixels]",
}
# The coordinate rotation's cards (after ROTF), as GALFIT 3.0.5 comments them.
_ROTATION_COMMENTS = {
    "ROTF": "Axial rotation function",
    "RIN": "Inner (const. PA) radius [pixels]",
    "ROUT": "Outer (const. PA) radius [pixels]",
    "RANG": "Total rotation angle out to Rout [deg]",
    "ALPHA": "Asymptotic spiral powerlaw",
    "RWS": "Logarithmic winding scale radius [pixels]",
    "INCL": "Inclination angle to line of sight [deg]",
    "SPA": "Projected disk position angle [deg]",
}
# GALFIT words the central surface brightness of a truncated Sersic (type ``sersic1 \``) so.
_TRUNCATED_COMMENTS = {"MU_0": "Central surface brightness [mag/arcsec^2]"}
_RULE = "-" * 72
_FOURIER_KEY = re.compile(r"^F(\d+)(PA)?$")
_BENDING_KEY = re.compile(r"^B(\d+)$")


def _header_comment(key, ctype=""):
    if ctype.endswith(("\\", "/")) and key in _TRUNCATED_COMMENTS:
        return _TRUNCATED_COMMENTS[key]
    m = _FOURIER_KEY.match(key)
    if m:
        return f"Azimuthal Fourier mode {m[1]} {'phase angle' if m[2] else 'amplitude'}"
    m = _BENDING_KEY.match(key)
    if m:
        return f"Bending mode {m[1]} amplitude"
    return _HEADER_COMMENTS.get(key, key)


@dataclass
class FitReport:
    """Everything written about one run, in GALFIT's terms.

    ``components`` holds, per component, its type and ``(header key, HeaderValue)``
    pairs in header order (sky components include their fixed ``XC``/``YC``; the
    truncation links ``TOUTR``, ``TINNR``, ``INNER``, ``OUTER`` and the rotation function
    ``ROTF``, which precedes the rotation's parameters, are ``(key, text)``).
    The file names are as the input file gives them.
    """

    initfile: str
    datain: str
    region: tuple[int, int, int, int]
    convbox: tuple[int, int]
    magzpt: float
    components: list[tuple[str, list[tuple[str, HeaderValue]]]]
    chisq: float
    ndof: int
    nfree: int
    nfix: int
    flags: list[str] = field(default_factory=list)
    sigma: str = "none"
    psf: str = "none"
    constrnt: str = "none"
    mask: str = "none"
    output: str = "imgblock.fits"
    logfile: str | None = None

    @property
    def chi2nu(self) -> float:
        return self.chisq / self.ndof if self.ndof > 0 else float("nan")


def atomic_write(path, write) -> None:
    """Call ``write(tmp_path)`` and rename the result to ``path`` (same folder)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


# ======================================================================================
# Image block
# ======================================================================================
def _data_header(header, report: FitReport):
    out = header.copy(strip=True)  # drops SIMPLE/XTENSION/NAXISn/…; astropy writes its own
    for key in ("BSCALE", "BZERO", "BLANK", "OBJECT", "LOGFILE"):
        out.remove(key, ignore_missing=True, remove_all=True)
    # GALFIT names the cut-out after OBJECT, or TARGNAME when there is none (seen in 3.0.5).
    obj = str(header.get("OBJECT", header.get("TARGNAME", ""))).strip()
    out["OBJECT"] = (f"{obj}{format_fitsect(report.region)}", "Component type")
    if report.logfile:
        out["LOGFILE"] = (report.logfile, "GALFIT best-fit menu file")
    return out


def _model_header(report: FitReport):
    from astropy.io import fits

    h = fits.Header()
    h["OBJECT"] = ("model", "Component type")
    h.append(("COMMENT", "========== GALFIT Input Parameters =========="), end=True)
    for key, value, comment in (
        ("INITFILE", report.initfile, "GALFIT input file"),
        ("DATAIN", report.datain, "Input data image"),
        ("SIGMA", report.sigma, "Input sigma image"),
        ("PSF", report.psf + " ", "Convolution PSF and kernel"),
        ("CONSTRNT", report.constrnt, "Parameter constraint file"),
        ("MASK", report.mask, "Input mask image"),
        ("FITSECT", format_fitsect(report.region), "Image section fitted"),
        ("CONVBOX", f"{report.convbox[0]}, {report.convbox[1]}", "Convolution box size"),
        ("MAGZPT", report.magzpt, "Magnitude zeropoint"),
    ):
        h.append((key, value, comment), end=True)
    h.append(("COMMENT", "========== GALFIT Final Parameters =========="), end=True)
    for i, (ctype, params) in enumerate(report.components, 1):
        h.append((f"COMP_{i}", ctype, "Component type"), end=True)
        rotation = _split_rotation(params)[1]
        for key, hv in params:
            text = hv if isinstance(hv, str) else format_header_value(hv)  # truncation links are text
            comment = _ROTATION_COMMENTS[key] if any(hv is v for _, v in rotation) else _header_comment(key, ctype)
            h.append((f"{i}_{key}", text, comment), end=True)
        h.append(("COMMENT", _RULE), end=True)
    h.append(("FLAGS", " ".join(report.flags) + " ", "See `galfit -help' for details."), end=True)
    h.append(("COMMENT", _RULE), end=True)
    for key, value, comment in (
        ("CHISQ", float(report.chisq), "Chi^2 of fit"),
        ("NDOF", int(report.ndof), "Degrees of freedom"),
        ("NFREE", int(report.nfree), "Number of free parameters"),
        ("NFIX", int(report.nfix), "Number of fixed parameters"),
        # Without degrees of freedom (a model-only run) GALFIT writes 0.
        ("CHI2NU", float(f"{report.chi2nu:.7g}") if report.ndof > 0 else 0.0, "Reduced Chi^2"),
        ("LOGFILE", report.logfile or "none", "Output logfile"),
    ):
        h.append((key, value, comment), end=True)
    h.append(("COMMENT", "============================================="), end=True)
    return h


def image_block(data, data_header, model, report: FitReport):
    """The four-HDU image block as an ``astropy.io.fits.HDUList``.

    Parameters
    ----------
    data : ndarray
        The data cut-out of the region (written in its own dtype).
    data_header : astropy.io.fits.Header
        Header of the input image HDU.
    model : ndarray
        Model image of the region (written as float32).
    report : FitReport
    """
    from astropy.io import fits

    model32 = np.asarray(model, dtype=np.float32)
    resid = (np.asarray(data, dtype=np.float64) - model32).astype(np.float32)
    residual = fits.ImageHDU(resid)
    residual.header["OBJECT"] = ("residual map", "Component type")
    return fits.HDUList(
        [
            fits.PrimaryHDU(np.zeros(model32.shape, np.float32)),
            fits.ImageHDU(np.asarray(data), header=_data_header(data_header, report)),
            fits.ImageHDU(model32, header=_model_header(report)),
            residual,
        ]
    )


def write_image_block(path, data, data_header, model, report: FitReport) -> None:
    """Write :func:`image_block` to ``path`` atomically."""
    from astropy.io.fits.verify import VerifyWarning

    # Long values shorten their card's comment, as in GALFIT's files: nothing to report.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VerifyWarning)
        hdul = image_block(data, data_header, model, report)
        atomic_write(path, lambda tmp: hdul.writeto(tmp, output_verify="ignore"))


def write_subcomponents(path, data, data_header, images, report: FitReport) -> None:
    """``-o3``: the data cut-out, then one HDU per component image (OBJECT = its type)."""
    from astropy.io import fits

    hdus = [fits.PrimaryHDU(np.asarray(data), header=_data_header(data_header, report))]
    for (ctype, _), img in zip(report.components, images):
        hdu = fits.ImageHDU(np.asarray(img, dtype=np.float32))
        hdu.header["OBJECT"] = (ctype, "Component type")
        hdus.append(hdu)
    hdul = fits.HDUList(hdus)
    atomic_write(path, lambda tmp: hdul.writeto(tmp, output_verify="ignore"))


def write_model_image(path, model, report: FitReport) -> None:
    """``-o1``: the model image alone (float32, one HDU) with GALFIT's model header."""
    from astropy.io import fits

    hdu = fits.PrimaryHDU(np.asarray(model, dtype=np.float32), header=_model_header(report))
    atomic_write(path, lambda tmp: hdu.writeto(tmp, output_verify="ignore"))


# ======================================================================================
# fit.log
# ======================================================================================
# Column widths of GALFIT's fit.log (parsers read tokens; this keeps it readable).
_LOG_WIDTHS = {"RE": 10, "RS": 10, "FWHM": 10, "HS": 10, "RB": 10, "RC": 10, "ROUT": 10, "PA": 9}


def _mark(hv: HeaderValue, text: str) -> str:
    """``text`` in GALFIT's brackets of a fixed, constrained or suspect value."""
    return {"fixed": "[{}]", "constrained": "{{{}}}", "suspect": "*{}*"}.get(hv.kind, "{}").format(text)


def _log_number(hv: HeaderValue, value: float, sky: bool) -> str:
    text = f"{value:.2e}" if sky and value != 0 and abs(value) < 1 or sky and hv.kind == "fixed" else f"{value:.2f}"
    return _mark(hv, text)


def _fourier_lines(params) -> list[str]:
    """GALFIT's ``fourier :`` value and error lines, ``(m: amplitude, phase)`` per mode."""
    values = dict(params)
    modes = [k for k, _ in params if _FOURIER_KEY.match(k) and not k.endswith("PA")]
    if not modes:
        return []
    line_v, line_e = "   fourier : ", " " * 13
    for key in modes:
        amp, phase = values[key], values[key + "PA"]
        m = key[1:]
        line_v += f"({m}:{_log_number(amp, amp.value, False):>6s},{_log_number(phase, phase.value, False):>8s})  "
        errs = [_log_number(h, 0.0 if h.kind == "fixed" else (h.error or 0.0), False) for h in (amp, phase)]
        line_e += f"({m}:{errs[0]:>6s},{errs[1]:>8s})  "
    return [line_v, line_e]


def _bending_lines(params) -> list[str]:
    """GALFIT's ``bend :`` value and error lines, ``(m: amplitude)`` per mode."""
    modes = [(k[1:], v) for k, v in params if _BENDING_KEY.match(k)]
    if not modes:
        return []
    line_v, line_e = "   bend    : ", " " * 13
    for m, hv in modes:
        err = 0.0 if hv.kind == "fixed" else (hv.error or 0.0)
        line_v += f"({m}: {_mark(hv, f'{hv.value:9.2e}')})  "
        line_e += f"({m}: {_mark(hv, f'{err:9.2e}')})  "
    return [line_v, line_e]


def _split_rotation(params):
    """``(other params, rotation)``: the ROTF card and the parameters that follow it."""
    keys = [k for k, _ in params]
    if "ROTF" not in keys:
        return params, []
    at = keys.index("ROTF")
    end = at + 1 + len(ROTATION_ROWS)
    return params[:at] + params[end:], params[at:end]


def _rotation_lines(rotation) -> list[str]:
    """The rotation's value and error lines, named by its function, in fit.log's grammar."""
    if not rotation:
        return []
    (_, func), values = rotation[0], rotation[1:]
    line_v, line_e = f"   {func:<8s}: ", " " * 13
    for _, hv in values:
        err = 0.0 if hv.kind == "fixed" else (hv.error or 0.0)
        line_v += f"{_log_number(hv, hv.value, False):>10s}"
        line_e += f"{_log_number(hv, err, False):>10s}"
    return [line_v, line_e]


def _log_lines(ctype: str, params) -> list[str]:
    params, rotation = _split_rotation(params)
    params = [(k, v) for k, v in params if not isinstance(v, str)]  # truncation links: header only
    values = dict(params)
    sky = ctype.startswith("sky")
    hidden = [(k, v) for k, v in params if _FOURIER_KEY.match(k)]
    bends = [(k, v) for k, v in params if _BENDING_KEY.match(k)]
    params = [(k, v) for k, v in params if not _FOURIER_KEY.match(k) and not _BENDING_KEY.match(k)]
    rest = [(k, v) for k, v in params if k not in ("XC", "YC")]
    if ctype.startswith("devauc"):
        # GALFIT lists the Sersic index of devauc as a fixed 4.
        at = next((i for i, (k, _) in enumerate(rest) if k == "AR"), len(rest))
        rest.insert(at, ("N", HeaderValue(4.0, 0.0, "fixed")))
    head = f" {ctype:<10s}: "
    line_v, line_e = head, " " * len(head)
    if "XC" in values:
        xc, yc = values["XC"], values["YC"]
        if sky:
            line_v += f"[{xc.value:6.2f}, {yc.value:6.2f}]"
            line_e += " " * 16
        else:
            line_v += f"({_log_number(xc, xc.value, False):>8s}, {_log_number(yc, yc.value, False):>8s})"
            errs = [_log_number(h, h.error or 0.0, False) if h.kind != "fixed" else "[0.00]" for h in (xc, yc)]
            line_e += f"({errs[0]:>8s}, {errs[1]:>8s})"
    for key, hv in rest:
        width = _LOG_WIDTHS.get(key, 8) if not sky else (10 if key == "SKY" else 12)
        line_v += f"{_log_number(hv, hv.value, sky):>{width}s}"
        err = 0.0 if hv.kind == "fixed" else (hv.error or 0.0)
        line_e += f"{_log_number(hv, err, sky):>{width}s}"
    return [line_v.rstrip(), line_e.rstrip()] + _rotation_lines(rotation) + _bending_lines(bends) + _fourier_lines(hidden)


def format_log_block(report: FitReport, input_label: str) -> str:
    """One run's fit.log block in GALFIT's layout.

    ``input_label`` is the input image name as the input file gives it.
    """
    out = [
        "",
        f"Input image     : {input_label}{format_fitsect(report.region)} ",
        f"Init. par. file : {report.initfile} ",
        f"Restart file    : {report.logfile} ",
        f"Output image    : {report.output} ",
        "",
    ]
    for ctype, params in report.components:
        out += _log_lines(ctype, params)
    out.append(f" Chi^2 = {report.chisq:.5f},  ndof = {report.ndof}")
    out.append(f" Chi^2/nu = {report.chi2nu:.3f} ")
    out.append("")
    bar = "-" * 77
    return "\n".join([bar] + out + [bar]) + "\n"


def append_fit_log(path, block: str) -> None:
    """Append ``block`` to the fit.log at ``path`` (rewritten atomically)."""
    path = Path(path)
    old = path.read_text() if path.exists() else ""
    atomic_write(path, lambda tmp: Path(tmp).write_text(old + block))


# ======================================================================================
# Restart file galfit.NN
# ======================================================================================
def restart_feedme(feedme: Feedme, values: dict[tuple[int, str, int], float]) -> Feedme:
    """Copy of ``feedme`` with best-fit ``values`` ``{(component index, row, index): v}``.

    Every row is kept, also hidden ones and placeholders.
    """
    out = copy.deepcopy(feedme)
    for (ci, row, idx), v in values.items():
        out.components[ci].set_value(row, idx, v)
    return out


def write_restart(path, feedme: Feedme, report: FitReport) -> None:
    """Write the restart file with GALFIT's header lines (input file, χ²)."""
    header = (
        f"Input menu file: {report.initfile}\n\n"
        f"Chi^2/nu = {report.chi2nu:.3f},  Chi^2 = {report.chisq:.3f},  Ndof = {report.ndof}"
    )
    text = format_feedme(feedme, header)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
