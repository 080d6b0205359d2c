"""DS9 region files of a GALFIT model (astropy ``regions``).

GALFIT positions are 1-based pixel centres of the frame, which is also DS9's image
system; ``regions`` uses 0-based ``PixCoord``, hence the ``- 1`` below. GALFIT's PA is
measured from +y counter-clockwise, DS9's angle from +x counter-clockwise.
"""

from __future__ import annotations

import re

import astropy.units as u
from regions import (
    CirclePixelRegion,
    EllipsePixelRegion,
    PixCoord,
    RectanglePixelRegion,
    RegionMeta,
    Regions,
    RegionVisual,
)

from galfit_unc import galfit_files as gf

__all__ = ["galfit_pa_to_ds9", "model_regions", "undrawn_notes", "write_region_files"]

#: Radius (pixels) of the marker drawn for a PSF component.
PSF_RADIUS = 2.0
#: One colour per object, in turn: any two differ by at least 20 in CIEDE2000 (named colours such
#: as green/lime or magenta/purple differ by 12-17), none is grey or white, all are bright on a
#: dark sky.
COLOURS = ("#FF0000", "#00FF00", "#0099CC", "#FF99FF", "#CC9900", "#009966", "#00FFFF", "#9933FF", "#FF9999", "#CC3366")
UNKNOWN_COLOUR = "white"
REGION_COLOUR = "white"

# Semi-major axis of the ellipse drawn per type: (header key, factor).
_MAJOR = {
    "sersic": ("RE", 1.0),
    "devauc": ("RE", 1.0),
    "expdisk": ("RS", 1.0),
    "gaussian": ("FWHM", 0.5),
    "moffat": ("FWHM", 0.5),
    "edgedisk": ("RS", 1.0),
    "nuker": ("RB", 1.0),
    "king": ("RC", 1.0),
    "ferrer": ("ROUT", 1.0),
    **{t: ("RBRK", 1.0) for t in gf.TRUNCATION_TYPES},
}


# Hidden-row header keys that change a component's shape but not its drawn ellipse.
_UNDRAWN = (
    (re.compile(r"C0$"), "boxiness C0"),
    (re.compile(r"F\d+$"), "Fourier modes"),
    (re.compile(r"B\d+$"), "bending modes"),
)


def undrawn_notes(fit_header: gf.FitHeader) -> list[str]:
    """One line per component whose shape an ellipse cannot show, naming what is left out.

    Such a component is drawn as its base ellipse (sizes as in :func:`model_regions`).
    """
    notes = []
    for comp in fit_header.components:
        if comp.base_type in gf.TRUNCATION_TYPES:
            notes.append(f"component {comp.number} ({comp.type}): truncation drawn at its break radius; its softening is not drawn")
            continue
        keys = [k for k, _ in comp.params]
        left_out = [name for pattern, name in _UNDRAWN if any(pattern.match(k) for k in keys)]
        if comp.rotation is not None:
            left_out.insert(0, f"{comp.rotation} coordinate rotation")
        if left_out:
            notes.append(f"component {comp.number} ({comp.type}): {', '.join(left_out)} not drawn; the ellipse is the base shape")
    return notes


def _with_notes(text: str, notes: list[str]) -> str:
    """Region-file text with ``notes`` as comment lines after its first (format) line."""
    first, _, rest = text.partition("\n")
    return "\n".join([first, *(f"# {n}" for n in notes), rest]) if notes else text


def galfit_pa_to_ds9(pa) -> float:
    """DS9 angle (from +x, counter-clockwise) of a GALFIT PA (from +y): ``pa + 90`` mod 360."""
    return float((pa + 90.0) % 360.0)


def _truncation_shape(fit_header: gf.FitHeader, comp: gf.HeaderComponent) -> gf.HeaderComponent:
    """A truncation as a component to draw: the ellipse of its break radius, with the
    centre, axis ratio and PA of the component it truncates where it has none of its own."""
    numbers = comp.links.get("OUTER") or comp.links.get("INNER")
    linked = fit_header.component(numbers[0]) if numbers else comp
    params = [(key, comp.get(key, linked.get(key))) for key in ("XC", "YC", "AR", "PA")] + [("RBRK", comp["RBRK"])]
    return gf.HeaderComponent(comp.number, comp.type, params, comp.links)


def _axes(comp: gf.HeaderComponent) -> tuple[float, float]:
    """Semi-major and semi-minor axes in pixels."""
    key, factor = _MAJOR[comp.base_type]
    major = comp[key].value * factor
    if comp.base_type == "edgedisk":
        # An edge-on disc has no axis ratio: its scale height is the minor axis.
        return major, comp["HS"].value
    return major, major * comp["AR"].value


def model_regions(fit_header: gf.FitHeader, comp_ident: dict[int, str], *, frame: str = "frame", wcs=None) -> Regions:
    """Regions of every component of a fit plus the fitted region.

    Each component is an ellipse with semi-axes (a, q a): a = Re for sersic/devauc, Rs
    for expdisk, FWHM/2 for gaussian/moffat, and the scale radius for the others
    (edgedisk: Rs along the disc with the scale height hs as minor axis; nuker: Rb;
    king: the core radius Rc; ferrer: the outer radius Rout; a truncation: its break
    radius, see :func:`_truncation_shape`). A psf component is a
    circle of ``PSF_RADIUS`` pixels, a sky component is not drawn. The fitted region
    (FITSECT) is a box.

    Parameters
    ----------
    fit_header : FitHeader
    comp_ident : dict
        Component number -> object id; labels read ``obj <id>: <component>``, with
        ``obj ?`` for unlisted components; one colour per object.
    frame : {"frame", "cutout"}
        Pixel system: the full frame (GALFIT's positions) or the fitted cutout.
    wcs : astropy.wcs.WCS, optional
        Celestial WCS of the frame; when given, sky regions in FK5 are returned
        (always computed from frame pixel positions, whatever ``frame`` says).

    Returns
    -------
    regions.Regions
    """
    if frame not in ("frame", "cutout"):
        raise ValueError(f"region file: frame {frame!r} unknown; use 'frame' or 'cutout'")
    x1, x2, y1, y2 = fit_header.fitsect
    # Offset from GALFIT's 1-based frame position to 0-based PixCoord.
    dx, dy = (x1, y1) if frame == "cutout" and wcs is None else (1, 1)
    colours = {obj: COLOURS[i % len(COLOURS)] for i, obj in enumerate(dict.fromkeys(comp_ident.values()))}
    out = []
    for comp in fit_header.components:
        if comp.base_type == "sky":
            continue
        if comp.base_type in gf.TRUNCATION_TYPES:
            comp = _truncation_shape(fit_header, comp)
        obj = comp_ident.get(comp.number)
        label = f"obj {obj if obj is not None else '?'}: {comp.number}"
        centre = PixCoord(comp["XC"].value - dx, comp["YC"].value - dy)
        meta = RegionMeta({"text": label})
        visual = RegionVisual({"color": colours.get(obj, UNKNOWN_COLOUR)})
        if comp.base_type == "psf":
            out.append(CirclePixelRegion(centre, PSF_RADIUS, meta=meta, visual=visual))
            continue
        major, minor = _axes(comp)
        angle = galfit_pa_to_ds9(comp["PA"].value) * u.deg
        out.append(EllipsePixelRegion(centre, 2 * major, 2 * minor, angle=angle, meta=meta, visual=visual))
    box_centre = PixCoord((x1 + x2) / 2 - dx, (y1 + y2) / 2 - dy)
    out.append(
        RectanglePixelRegion(
            box_centre,
            x2 - x1 + 1,
            y2 - y1 + 1,
            meta=RegionMeta({"text": f"fit region {gf.format_fitsect(fit_header.fitsect)}"}),
            visual=RegionVisual({"color": REGION_COLOUR}),
        )
    )
    if wcs is not None:
        out = [r.to_sky(wcs) for r in out]
        for region in out:
            # The sky file is labelled fk5; a WCS without RADESYS gives ICRS (~20 mas off).
            region.center = region.center.transform_to("fk5")
    return Regions(out)


def write_region_files(fit_header: gf.FitHeader, comp_ident: dict[int, str], wcs, reg_path, fk5_path, frame: str = "frame") -> None:
    """Write ``reg_path`` (DS9 image coordinates) and ``fk5_path`` (sky coordinates).

    ``wcs`` is the frame's WCS; its celestial part converts the regions to the sky.  What
    an ellipse cannot show (:func:`undrawn_notes`) is said in comment lines of both files.
    """
    notes = undrawn_notes(fit_header)
    for regions, path in (
        (model_regions(fit_header, comp_ident, frame=frame), reg_path),
        (model_regions(fit_header, comp_ident, wcs=wcs.celestial), fk5_path),
    ):
        with open(path, "w") as fh:
            fh.write(_with_notes(regions.serialize(format="ds9"), notes))
