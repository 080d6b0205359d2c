"""Tests of galfit_unc.ds9: DS9 ellipses of a GALFIT model."""

import math

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from regions import Regions

from galfit_unc import galfit_files as gf
from galfit_unc import ds9 as rf


def _fit_header(comps, fitsect="[11:90,21:80]"):
    h = fits.Header()
    h["FITSECT"] = fitsect
    h["MAGZPT"] = 25.0
    for n, ctype, cards in comps:
        h[f"COMP_{n}"] = ctype
        for key, value in cards:
            h[f"{n}_{key}"] = f"{value} +/- 0.1"
    return gf.parse_fit_header(h)


def _render_galfit_gaussian(shape, xc, yc, fwhm, q, pa):
    """Elliptical Gaussian per GALFIT's definition: PA from +y towards -x, q = b/a.

    Pixel (x, y) is 1-based: numpy [y - 1, x - 1].
    """
    y, x = np.mgrid[1 : shape[0] + 1, 1 : shape[1] + 1].astype(float)
    dx, dy = x - xc, y - yc
    t = math.radians(pa)
    along_major = -dx * math.sin(t) + dy * math.cos(t)
    along_minor = dx * math.cos(t) + dy * math.sin(t)
    r2 = along_major**2 + (along_minor / q) ** 2
    sigma = fwhm / 2.3548
    return np.exp(-r2 / (2 * sigma**2))


def _major_axis_angle(image):
    """Angle of the major axis from +x (counter-clockwise, degrees, mod 180) from moments."""
    y, x = np.mgrid[0 : image.shape[0], 0 : image.shape[1]].astype(float)
    total = image.sum()
    mx, my = (image * x).sum() / total, (image * y).sum() / total
    ixx = (image * (x - mx) ** 2).sum() / total
    iyy = (image * (y - my) ** 2).sum() / total
    ixy = (image * (x - mx) * (y - my)).sum() / total
    return math.degrees(0.5 * math.atan2(2 * ixy, ixx - iyy)) % 180.0


def _angle_diff(a, b, period=180.0):
    return abs((a - b + period / 2) % period - period / 2)


@pytest.mark.parametrize("pa", [30.0, -60.0, 100.0])
def test_ellipse_orientation_matches_rendered_profile(pa, tmp_path):
    image = _render_galfit_gaussian((81, 81), 41.0, 41.0, fwhm=12.0, q=0.3, pa=pa)
    measured = _major_axis_angle(image)
    if pa == 30.0:
        # Major axis 30 deg from +y towards -x is 120 deg from +x.
        assert measured == pytest.approx(120.0, abs=0.1)
    header = _fit_header([(1, "gaussian", [("XC", 41.0), ("YC", 41.0), ("MAG", 18.0), ("FWHM", 12.0), ("AR", 0.3), ("PA", pa)])])
    ellipse = rf.model_regions(header, {1: "1"})[0]
    assert _angle_diff(ellipse.angle.to_value("deg"), measured) < 0.1
    # The written file carries the same angle, and width is the major axis.
    path = tmp_path / "m.reg"
    rf.model_regions(header, {1: "1"}).write(path, format="ds9")
    back = Regions.read(path, format="ds9")[0]
    assert _angle_diff(back.angle.to_value("deg"), measured) < 0.1
    assert back.width > back.height


def test_galfit_pa_to_ds9():
    assert rf.galfit_pa_to_ds9(0.0) == 90.0
    assert rf.galfit_pa_to_ds9(30.0) == 120.0
    assert rf.galfit_pa_to_ds9(-112.0) == 338.0
    assert rf.galfit_pa_to_ds9(300.0) == 30.0


def _mixed_header():
    shape = [("AR", 0.5), ("PA", 0.0)]
    return _fit_header(
        [
            (1, "sersic", [("XC", 40.0), ("YC", 50.0), ("MAG", 18.0), ("RE", 6.0), ("N", 2.0), *shape]),
            (2, "expdisk", [("XC", 41.0), ("YC", 51.0), ("MAG", 18.0), ("RS", 8.0), *shape]),
            (3, "moffat", [("XC", 60.0), ("YC", 30.0), ("MAG", 18.0), ("FWHM", 4.0), ("POW", 2.5), *shape]),
            (4, "psf", [("XC", 70.0), ("YC", 35.0), ("MAG", 20.0)]),
            (5, "edgedisk", [("XC", 30.0), ("YC", 60.0), ("MU", 20.0), ("HS", 2.0), ("RS", 9.0), ("PA", 10.0)]),
            (6, "sky", [("SKY", 1.0), ("DSDX", 0.0), ("DSDY", 0.0)]),
        ]
    )


def test_model_regions_shapes_labels_colours():
    regs = rf.model_regions(_mixed_header(), {1: "7", 2: "7", 3: "8"})
    assert len(regs) == 6  # 5 drawn components (no sky) + the fitting box
    ser, exp, mof, psf, edge, box = regs
    # regions sizes are full widths; PixCoord is 0-based.
    assert (ser.center.x, ser.center.y) == (39.0, 49.0)
    assert (ser.width, ser.height) == pytest.approx((12.0, 6.0))
    assert (exp.width, exp.height) == pytest.approx((16.0, 8.0))
    assert (mof.width, mof.height) == pytest.approx((4.0, 2.0))
    assert psf.radius == 2.0
    assert (edge.width, edge.height) == pytest.approx((18.0, 4.0))
    assert [r.meta["text"] for r in regs[:5]] == ["obj 7: 1", "obj 7: 2", "obj 8: 3", "obj ?: 4", "obj ?: 5"]
    assert ser.visual["color"] == exp.visual["color"] != mof.visual["color"]
    assert psf.visual["color"] == edge.visual["color"]
    # FITSECT [11:90,21:80]: centre (50.5, 50.5) 1-based, 80 x 60 pixels.
    assert (box.center.x, box.center.y) == (49.5, 49.5)
    assert (box.width, box.height) == (80, 60)


def test_model_regions_cutout_frame():
    regs = rf.model_regions(_mixed_header(), {1: "7"}, frame="cutout")
    # Cutout pixel = x - x1 + 1 = 40 - 11 + 1 = 30 (1-based) -> PixCoord 29.
    assert (regs[0].center.x, regs[0].center.y) == (29.0, 29.0)
    assert (regs[-1].center.x, regs[-1].center.y) == (39.5, 29.5)
    with pytest.raises(ValueError, match="frame"):
        rf.model_regions(_mixed_header(), {}, frame="sky")


def test_image_file_uses_ds9_one_based_pixels(tmp_path, shared):
    path = shared("decals-coolj0112", "galfit_output_example.fits")
    header = gf.read_fit_header(path)
    ident = gf.read_comp_ident(shared("decals-coolj0112", "comp_ident_example.txt"))
    with fits.open(path) as hdul:
        wcs = WCS(hdul[1].header, naxis=2)
    reg, fk5 = tmp_path / "model.reg", tmp_path / "model_fk5.reg"
    rf.write_region_files(header, ident, wcs, reg, fk5)
    lines = [line for line in reg.read_text().splitlines() if line.startswith("ellipse")]
    assert len(lines) == 23
    # 1_XC = 298.7289, 1_YC = 252.9246, 1_RE = 2.3790, 1_AR = 0.8220, 1_PA = -72.8482.
    nums = [float(v) for v in lines[0].split("(")[1].split(")")[0].split(",")]
    assert nums == pytest.approx([298.7289, 252.9246, 2.379, 2.379 * 0.822, -72.8482 + 90])
    assert "text={obj 1: 1}" in lines[0]
    assert "box(267.5" in reg.read_text()

    sky = Regions.read(fk5, format="ds9")
    assert fk5.read_text().splitlines()[1] == "j2000"  # regions' name for DS9's fk5
    for comp in header.components[:23]:
        expected = wcs.pixel_to_world(comp["XC"].value - 1, comp["YC"].value - 1).transform_to("fk5")
        got = sky[comp.number - 1].center
        assert got.separation(expected).to_value("arcsec") < 1e-3
