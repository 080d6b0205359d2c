"""Region files of components an ellipse cannot fully show: what is left out is said in
comment lines of both files, and the component is still drawn as its base ellipse."""

from pathlib import Path

from astropy.io import fits
from astropy.wcs import WCS

from galfit_unc import galfit_files as gf
from galfit_unc.ds9 import write_region_files

FITS = Path(__file__).parent / "data" / "galfit305-renders" / "fits"


def test_fourier_and_bending_are_noted(tmp_path):
    fourier = gf.read_fit_header(FITS / "fit-sersic-fourier" / "imgblock.fits")
    bending = gf.read_fit_header(FITS / "fit-sersic-bending" / "imgblock.fits")
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.cdelt = [-0.1 / 3600, 0.1 / 3600]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.crpix = [51, 51]
    for header, words in ((fourier, "Fourier modes"), (bending, "bending modes")):
        reg, fk5 = tmp_path / "m.reg", tmp_path / "m_fk5.reg"
        write_region_files(header, {1: "A"}, wcs, reg, fk5)
        for path in (reg, fk5):
            lines = path.read_text().splitlines()
            assert f"# component 1 (sersic): {words} not drawn; the ellipse is the base shape" in lines
            assert sum(ln.startswith("ellipse") for ln in lines) == 1
            assert not any("component 2" in ln for ln in lines)  # the sky has no hidden rows


def test_plain_components_have_no_note(tmp_path):
    header = gf.read_fit_header(FITS / "fit-edgedisk" / "imgblock.fits")
    hdr = fits.Header({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CDELT1": -2.8e-5, "CDELT2": 2.8e-5, "CRVAL1": 1.0, "CRVAL2": 1.0, "CRPIX1": 1, "CRPIX2": 1})
    write_region_files(header, {1: "A"}, WCS(hdr), tmp_path / "m.reg", tmp_path / "f.reg")
    text = (tmp_path / "m.reg").read_text()
    assert "not drawn" not in text and text.count("ellipse(") == 1
