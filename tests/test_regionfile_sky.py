"""The fk5 region file's ellipses: centres, sizes and angles against the frame's WCS.

Expected values are computed here from GALFIT's parameters alone: the ends of each ellipse's
axes are placed in frame pixels (major axis at GALFIT's PA + 90 deg from +x) and taken to the
sky through the WCS; the semi-axes are the angular distances from the centre, and DS9's sky
angle is the major axis's position angle (east of north) minus 90 deg (an angle of 0 lies
along the east-west line, counted from west through north)."""

import re

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from galfit_unc import galfit_files as gf
from galfit_unc import ds9 as rf
from standins.harness import DECALS

SEMI_MAJOR = {"sersic": "RE", "devauc": "RE", "expdisk": "RS", "gaussian": 0.5, "moffat": 0.5}
ELLIPSE = re.compile(r"^ellipse\(([^)]*)\)\s*#.*text=\{obj [^:]*: (\d+)\}")


def semi_major(comp):
    key = SEMI_MAJOR[comp.base_type]
    return comp[key].value if isinstance(key, str) else key * comp["FWHM"].value


def sky_ellipse(wcs, comp):
    """(ra, dec, semi-major arcsec, semi-minor arcsec, DS9 angle deg) of a component."""
    xc, yc = comp["XC"].value - 1, comp["YC"].value - 1  # 0-based pixels
    a = semi_major(comp)
    b = comp["AR"].value * a
    theta = np.radians(comp["PA"].value + 90.0)
    centre = wcs.pixel_to_world(xc, yc)
    major = wcs.pixel_to_world(xc + a * np.cos(theta), yc + a * np.sin(theta))
    minor = wcs.pixel_to_world(xc - b * np.sin(theta), yc + b * np.cos(theta))
    angle = (centre.position_angle(major).deg - 90.0) % 180.0
    fk5 = centre.transform_to("fk5")
    return fk5.ra.deg, fk5.dec.deg, centre.separation(major).arcsec, centre.separation(minor).arcsec, angle


def test_fk5_ellipses_match_the_model_through_the_wcs(shared, tmp_path):
    block = shared("decals-coolj0112", DECALS["imgblock"])
    header = gf.read_fit_header(block)
    ident = gf.read_comp_ident(shared("decals-coolj0112", DECALS["comp_ident"]))
    wcs = WCS(fits.getheader(shared("decals-coolj0112", DECALS["image"])), naxis=2)
    rf.write_region_files(header, ident, wcs, tmp_path / "model.reg", tmp_path / "model_fk5.reg")
    written = {}
    for line in (tmp_path / "model_fk5.reg").read_text().splitlines():
        match = ELLIPSE.match(line)
        if match:
            written[int(match.group(2))] = [float(v) for v in match.group(1).split(",")]
    drawn = [c for c in header.components if c.base_type in SEMI_MAJOR]
    assert sorted(written) == [c.number for c in drawn]
    for comp in drawn:
        ra, dec, a, b, angle = sky_ellipse(wcs, comp)
        got_ra, got_dec, got_a, got_b, got_angle = written[comp.number]
        assert (got_ra, got_dec) == pytest.approx((ra, dec), abs=2e-7), comp.number  # 1 mas
        # Semi-axes in degrees in the file, written to 1e-8 deg (0.04 mas).
        assert got_a * 3600 == pytest.approx(a, rel=1e-3, abs=1e-4), comp.number
        assert got_b * 3600 == pytest.approx(b, rel=1e-3, abs=1e-4), comp.number
        assert abs((got_angle - angle + 90.0) % 180.0 - 90.0) < 0.05, (comp.number, got_angle, angle)
