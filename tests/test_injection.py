"""Tests of galfit_unc.injection: sky plane, sky-in-model decision, injection and re-fit inputs."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from galfit_unc import galfit_files as gf
from galfit_unc import injection as inj
from galfit_unc.frames import pixel_scale


def _header(cards, fitsect="[101:140,201:230]", convbox="60, 50"):
    h = fits.Header()
    h["FITSECT"] = fitsect
    h["CONVBOX"] = convbox
    h["MAGZPT"] = 26.5
    for key, value in cards:
        h[key] = value
    h["CHI2NU"] = 1.1
    return h


SERSIC_SKY = [
    ("COMP_1", "sersic"),
    ("1_XC", "120.5000 +/- 0.0100"),
    ("1_YC", "[215.2500]"),
    ("1_MAG", "18.2000 +/- 0.0100"),
    ("1_RE", "5.5000 +/- 0.1000"),
    ("1_N", "[2.0000]"),
    ("1_AR", "0.6000 +/- 0.0100"),
    ("1_PA", "30.0000 +/- 1.0000"),
    ("COMP_2", "sky"),
    ("2_XC", "[120.5000]"),
    ("2_YC", "[215.5000]"),
    ("2_SKY", "3.0000 +/- 0.1000"),
    ("2_DSDX", "2.000e-02 +/- 1.000e-03"),
    ("2_DSDY", "[-1.000e-02]"),
]


@pytest.fixture
def fit_header():
    return gf.parse_fit_header(_header(SERSIC_SKY))


def test_sky_plane_with_gradients(fit_header):
    plane = inj.sky_plane(fit_header, (30, 40))
    # Frame pixel (x=101, y=201) is plane[0, 0]; centre is (120.5, 215.5).
    assert plane[0, 0] == pytest.approx(3.0 + (101 - 120.5) * 0.02 + (201 - 215.5) * -0.01)
    assert plane[29, 39] == pytest.approx(3.0 + (140 - 120.5) * 0.02 + (230 - 215.5) * -0.01)
    assert plane[14, 5] == pytest.approx(3.0 + (106 - 120.5) * 0.02 + (215 - 215.5) * -0.01)


def test_sky_plane_sums_components_and_zero_without_sky():
    two = SERSIC_SKY + [("COMP_3", "sky"), ("3_SKY", "1.5000 +/- 0.1000"), ("3_DSDX", "[0.000e+00]"), ("3_DSDY", "[0.000e+00]")]
    plane = inj.sky_plane(gf.parse_fit_header(_header(two)), (30, 40))
    assert plane[0, 0] == pytest.approx(4.5 + (101 - 120.5) * 0.02 + (201 - 215.5) * -0.01)
    no_sky = gf.parse_fit_header(_header(SERSIC_SKY[:8]))
    assert not inj.sky_plane(no_sky, (30, 40)).any()


def test_sky_plane_wrong_shape(fit_header):
    with pytest.raises(ValueError, match="FITSECT"):
        inj.sky_plane(fit_header, (40, 30))


def test_sky_in_model_explicit_wins(fit_header):
    assert inj.sky_in_model(fit_header, explicit=True, residual=np.zeros((30, 40)))[0] is True
    assert inj.sky_in_model(fit_header, explicit=False)[0] is False


def _feedme_with_sky_z(z):
    text = f"""A) a.fits
H) 101 140 201 230
J) 26.5
 0) sersic
 1) 120.5 215.25 1 0
 3) 18.2 1
 4) 5.5 1
 5) 2.0 0
 9) 0.6 1
10) 30.0 1
 Z) 0
 0) sky
 1) 3.0 1
 2) 0.02 1
 3) -0.01 0
 Z) {z}
"""
    return gf.parse_feedme(text, "orig.feedme")


@pytest.mark.parametrize("z, expected", [(0, True), (1, False)])
def test_sky_in_model_from_feedme(fit_header, z, expected):
    flag, reason = inj.sky_in_model(fit_header, feedme=_feedme_with_sky_z(z))
    assert flag is expected
    assert f"Z) {z}" in reason


@pytest.mark.parametrize("holds_sky", [True, False])
def test_sky_in_model_from_residual(fit_header, holds_sky):
    rng = np.random.default_rng(1)
    noise = rng.normal(0.0, 1.0, (30, 40))
    plane = 3.0 + np.zeros((30, 40))
    residual = noise if holds_sky else noise + plane
    flag, reason = inj.sky_in_model(fit_header, residual=residual)
    assert flag is holds_sky
    assert "median" in reason


def test_sky_in_model_does_not_matter(fit_header):
    rng = np.random.default_rng(2)
    residual = rng.normal(0.0, 100.0, (30, 40))  # sky 3 << 0.1 * 100
    flag, reason = inj.sky_in_model(fit_header, residual=residual)
    assert flag is False
    assert "does not matter" in reason


def test_sky_in_model_real_decals_block(shared):
    path = shared("decals-coolj0112", "galfit_output_example.fits")
    header = gf.read_fit_header(path)
    with fits.open(path) as hdul:
        residual = hdul[3].data
    flag, reason = inj.sky_in_model(header, residual=residual)
    # Sky -0.23 against a residual scatter of ~22: the residual branch says it does not matter.
    assert flag is False
    assert "does not matter" in reason


def test_galaxy_light_removes_sky(tmp_path, fit_header):
    model = np.arange(1200, dtype=np.float32).reshape(30, 40)
    plane = inj.sky_plane(fit_header, (30, 40))
    hdus = [fits.PrimaryHDU(np.zeros((30, 40), np.float32)), fits.ImageHDU(model), fits.ImageHDU(model + plane.astype(np.float32), header=_header(SERSIC_SKY)), fits.ImageHDU(model)]
    path = tmp_path / "block.fits"
    fits.HDUList(hdus).writeto(path)
    light = inj.galaxy_light(path, sky_in_model_flag=True)
    assert light.dtype == np.float64
    np.testing.assert_allclose(light, model, atol=1e-3)
    np.testing.assert_allclose(inj.galaxy_light(path, sky_in_model_flag=False), model + plane, atol=1e-3)


def test_inject_adds_and_checks_shapes():
    out = inj.inject(np.ones((3, 4), np.float32), np.full((3, 4), 2.5))
    assert out.dtype == np.float64 and (out == 3.5).all()
    with pytest.raises(ValueError, match="shape"):
        inj.inject(np.ones((3, 4)), np.ones((4, 3)))


def test_pixel_scale_from_cd_matrix():
    h = fits.Header({"NAXIS": 2, "CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRVAL1": 18.0, "CRVAL2": -20.9, "CRPIX1": 1, "CRPIX2": 1, "CD1_1": -7.32422e-05, "CD1_2": 0.0, "CD2_1": 0.0, "CD2_2": 7.32422e-05})
    dx, dy = pixel_scale(h)
    assert dx == pytest.approx(0.263672, rel=1e-5) and dy == pytest.approx(0.263672, rel=1e-5)
    with pytest.raises(ValueError, match="celestial"):
        pixel_scale(fits.Header({"NAXIS": 2}))


def test_refit_feedme_shift_region_and_header_toggles(fit_header):
    fm = inj.refit_feedme(fit_header, window_shape=(30, 40), platescale=(0.2, 0.25), constraints=None, sigma="sig.fits")
    assert fm.region == (1, 40, 1, 30)
    assert fm.convbox == (60, 50)
    assert fm.zeropoint == 26.5 and fm.platescale == (0.2, 0.25)
    assert fm.constraints is None and fm.sigma == "sig.fits" and fm.mask is None
    assert fm.input_image == "injected.fits" and fm.output_block == "output.fits" and fm.psf == "psf.fits"
    ser, sky = fm.components
    assert ser.rows["1"].values == pytest.approx([120.5 - 100, 215.25 - 200])
    # [..] in the header means fixed: y position and n.
    assert ser.rows["1"].toggles == [1, 0]
    assert ser.rows["5"].toggles == [0] and ser.rows["3"].toggles == [1]
    assert ser.value("10") == 30.0 and ser.value("9") == 0.6
    assert sky.value("1") == 3.0 and sky.value("2") == 0.02 and sky.value("3") == -0.01
    assert [sky.rows[k].toggles for k in "123"] == [[1], [1], [0]]


def test_refit_feedme_toggles_from_original_feedme(fit_header):
    original = _feedme_with_sky_z(1)
    original.components[0].rows["4"].toggles = [0]  # fixed in the input although free-looking in the header
    fm = inj.refit_feedme(fit_header, window_shape=(30, 40), original_feedme=original)
    ser, sky = fm.components
    assert ser.rows["4"].toggles == [0] and ser.rows["1"].toggles == [1, 0]
    assert sky.rows["2"].toggles == [1] and sky.rows["3"].toggles == [0]
    assert sky.skip  # Z) 1 kept from the original input
    assert ser.value("4") == 5.5


HIDDEN_FEEDME = """A) frame.fits
B) block.fits
E) 2
H) 51 110 41 90
I) 40 40
J) 25.0
K) 0.1 0.1
 0) sersic
 1) 80.0 60.0 1 1
 3) 17.0 1
 4) 9.0 1
 5) 3.0 1
 9) 0.5 1
10) 45.0 1
C0) 0.1 1
F1) 0.05 20.0 1 1
F3) 0.02 -10.0 0 1
 Z) 0
 0) expdisk
 1) 82.0 61.0 1 1
 3) 18.0 1
 4) 12.0 1
 9) 0.3 1
10) -20.0 0
R0) powerlaw
R1) 30.0 1
R2) 150.0 0
 Z) 0
 0) psf
 1) 70.0 50.0 1 1
 3) 20.0 1
 Z) 0
 0) sky
 1) 1.0 1
 2) 0.0 0
 3) 0.0 0
 Z) 1
"""

HIDDEN_HEADER = [
    ("COMP_1", "sersic"),
    ("1_XC", "80.5000 +/- 0.1"),
    ("1_YC", "60.2500 +/- 0.1"),
    ("1_MAG", "17.1000 +/- 0.1"),
    ("1_RE", "9.5000 +/- 0.1"),
    ("1_N", "3.2000 +/- 0.1"),
    ("1_AR", "0.5500 +/- 0.1"),
    ("1_PA", "44.0000 +/- 0.1"),
    ("1_C0", "0.1500 +/- 0.1"),
    ("1_F1", "0.0600 +/- 0.1"),
    ("1_F1PA", "21.0000 +/- 0.1"),
    ("1_F3", "[0.0200]"),
    ("1_F3PA", "-11.0000 +/- 0.1"),
    ("COMP_2", "expdisk"),
    ("2_XC", "82.5000 +/- 0.1"),
    ("2_YC", "61.5000 +/- 0.1"),
    ("2_MAG", "18.2000 +/- 0.1"),
    ("2_RS", "12.5000 +/- 0.1"),
    ("2_AR", "0.3500 +/- 0.1"),
    ("2_PA", "[-20.0000]"),
    ("COMP_3", "psf"),
    ("3_XC", "70.2500 +/- 0.1"),
    ("3_YC", "50.7500 +/- 0.1"),
    ("3_MAG", "20.3000 +/- 0.1"),
    ("COMP_4", "sky"),
    ("4_XC", "[80.5000]"),
    ("4_YC", "[65.5000]"),
    ("4_SKY", "1.2000 +/- 0.1"),
    ("4_DSDX", "[0.000e+00]"),
    ("4_DSDY", "[0.000e+00]"),
]


def test_refit_feedme_hidden_rows_survive_write_and_read(tmp_path):
    header = gf.parse_fit_header(_header(HIDDEN_HEADER, fitsect="[51:110,41:90]", convbox="40, 40"))
    original = gf.parse_feedme(HIDDEN_FEEDME, "orig.feedme")
    fm = inj.refit_feedme(header, window_shape=(50, 60), original_feedme=original, mask="mask.fits")
    path = tmp_path / "refit.feedme"
    gf.write_feedme(fm, path)
    back = gf.read_feedme(path)
    assert [c.type for c in back.components] == ["sersic", "expdisk", "psf", "sky"]
    assert back.finesample == 2 and back.mask == "mask.fits" and back.region == (1, 60, 1, 50)
    ser, exp, psf, sky = back.components
    assert list(ser.rows) == list(original.components[0].rows)
    assert ser.rows["1"].values == pytest.approx([80.5 - 50, 60.25 - 40])
    assert ser.value("C0") == pytest.approx(0.15) and ser.rows["C0"].toggles == [1]
    assert ser.rows["F1"].values == pytest.approx([0.06, 21.0])
    assert ser.rows["F3"].values == pytest.approx([0.02, -11.0]) and ser.rows["F3"].toggles == [0, 1]
    assert exp.rows["R0"].text == "powerlaw"
    assert exp.rows["R1"].values == [30.0] and exp.rows["R2"].toggles == [0]
    assert exp.value("4") == 12.5 and exp.rows["10"].toggles == [0]
    assert psf.rows["1"].values == pytest.approx([70.25 - 50, 50.75 - 40]) and psf.value("3") == 20.3
    assert sky.value("1") == 1.2 and sky.skip


def test_refit_feedme_hidden_rows_from_header_alone(tmp_path):
    header = gf.parse_fit_header(_header(HIDDEN_HEADER, fitsect="[51:110,41:90]", convbox="40, 40"))
    fm = inj.refit_feedme(header, window_shape=(50, 60))
    path = tmp_path / "refit.feedme"
    gf.write_feedme(fm, path)
    ser = gf.read_feedme(path).components[0]
    assert ser.value("C0") == pytest.approx(0.15)
    assert ser.rows["F1"].values == pytest.approx([0.06, 21.0]) and ser.rows["F1"].toggles == [1, 1]
    assert ser.rows["F3"].toggles == [0, 1]


def test_refit_feedme_refuses_mismatched_original(fit_header):
    original = gf.parse_feedme(HIDDEN_FEEDME, "orig.feedme")
    with pytest.raises(gf.GalfitFormatError, match="orig.feedme: components"):
        inj.refit_feedme(fit_header, window_shape=(30, 40), original_feedme=original)


def test_refit_feedme_real_header_positions(shared):
    header = gf.read_fit_header(shared("decals-coolj0112", "galfit_output_example.fits"))
    rerun = gf.read_feedme(shared("decals-coolj0112", "galfit-reruns", "new_skycut_4.gal"))
    fm = inj.refit_feedme(header, window_shape=(78, 96))
    assert len(fm.components) == 24
    # The predecessor's re-run shifted the same way: x - 219, y - 212.
    for ours, theirs in zip(fm.components[:23], rerun.components[:23]):
        assert ours.rows["1"].values == pytest.approx(theirs.rows["1"].values, abs=1e-9)
        assert ours.value("3") == pytest.approx(theirs.value("3"))


def test_write_injected_copies_keywords(tmp_path):
    cutout = WCS(naxis=2)
    cutout.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    cutout.wcs.crpix = [10.0, 12.0]
    cutout.wcs.crval = [18.0, -20.9]
    cutout.wcs.cdelt = [-7e-5, 7e-5]
    frame = fits.Header({"EXPTIME": 300.0, "GAIN": 2.5, "RDNOISE": 4.0, "BUNIT": "nanomaggy", "OBSERVER": "x"})
    data = np.arange(12.0).reshape(3, 4)
    path = tmp_path / "inj.fits"
    inj.write_injected(path, data, cutout.to_header(), frame)
    with fits.open(path) as hdul:
        h = hdul[0].header
        np.testing.assert_array_equal(hdul[0].data, data)
    assert (h["EXPTIME"], h["GAIN"], h["RDNOISE"], h["BUNIT"]) == (300.0, 2.5, 4.0, "nanomaggy")
    assert "NCOMBINE" not in h and "OBSERVER" not in h
    assert h["CRPIX1"] == 10.0 and h["CRPIX2"] == 12.0


def test_refit_feedme_every_type_and_hidden_row_of_galfit_example(shared, tmp_path):
    original = gf.read_feedme(shared("galfit-examples", "meg-main", "galfit", "galfit-example", "EXAMPLE.INPUT"))
    # A header holding every fitted parameter of that file, each value moved by +0.5.
    cards = []
    for n, comp in enumerate(original.components, 1):
        cards.append((f"COMP_{n}", comp.type))
        for key, row, idx in gf.parameter_table(comp):
            cards.append((f"{n}_{key}", f"{comp.value(row, idx) + 0.5:.4f} +/- 0.1000"))
    header = gf.parse_fit_header(_header(cards, fitsect="[11:110,21:120]"))
    fm = inj.refit_feedme(header, window_shape=(100, 100), original_feedme=original)
    path = tmp_path / "refit.feedme"
    gf.write_feedme(fm, path)
    back = gf.read_feedme(path)
    assert [c.type for c in back.components] == [c.type for c in original.components]
    for new, old in zip(back.components, original.components):
        assert list(new.rows) == list(old.rows), old.type
        fitted = {(row, idx) for _, row, idx in gf.parameter_table(old)}
        for key, row in old.rows.items():
            assert new.rows[key].toggles == row.toggles and new.rows[key].text == row.text
            for idx, value in enumerate(row.values):
                expected = value + 0.5 if (key, idx) in fitted else value
                if key == "T1" or (key == "1" and old.base_type != "sky"):
                    expected -= 10 if idx == 0 else 20
                assert new.rows[key].values[idx] == pytest.approx(expected), f"{old.type} {key})"
