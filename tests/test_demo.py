"""The built-in demo: synthetic frame, PSF, truth, the user's fit and the truth comparison."""

import math
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from galfit_unc import demo
from galfit_unc import galfit_files as gf
from galfit_unc.tables import write_table
from galfit_unc.skysearch import select_windows, source_mask

# A small frame keeps most tests fast; the default frame is made once per module.
SMALL = demo.DemoSettings(seed=7, size=320, n_stars=10, n_galaxies=30)


@pytest.fixture(scope="module")
def default_demo():
    return demo.make_demo(demo.DemoSettings())


@pytest.fixture(scope="module")
def written(tmp_path_factory, default_demo):
    outdir = tmp_path_factory.mktemp("demo") / "input"
    return demo.write_inputs(default_demo, outdir)


def test_generation_is_deterministic_for_a_seed():
    a = demo.make_demo(SMALL)
    b = demo.make_demo(SMALL)
    c = demo.make_demo(demo.DemoSettings(seed=8, size=320, n_stars=10, n_galaxies=30))
    assert np.array_equal(a.frame, b.frame)
    assert np.array_equal(a.field["x"], b.field["x"])
    assert not np.array_equal(a.frame, c.frame)


def test_frame_shape_wcs_and_keywords(written):
    with fits.open(written["frame"]) as hdul:
        data, header = hdul[0].data, hdul[0].header
    assert data.shape == (1024, 1024)
    assert header["MAGZPT"] == 22.5
    assert header["EXPTIME"] > 0 and header["GAIN"] > 0 and header["NCOMBINE"] == 1
    wcs = WCS(header)
    assert wcs.wcs.ctype[0] == "RA---TAN" and wcs.wcs.ctype[1] == "DEC--TAN"
    scales = np.abs(np.diag(wcs.pixel_scale_matrix)) * 3600
    assert scales == pytest.approx([0.262, 0.262], rel=1e-9)
    # East is left: RA decreases as x grows.
    ra0 = wcs.pixel_to_world_values(500, 500)[0]
    ra1 = wcs.pixel_to_world_values(510, 500)[0]
    assert ra1 < ra0


def test_sky_level_and_blank_sky_noise(default_demo):
    s = default_demo.settings
    # sky 19 mag/arcsec^2 on 0.262" pixels, 90 s at zeropoint 22.5: 155.18 ADU.
    assert s.sky_level == pytest.approx(90 * 10 ** (-0.4 * (19.0 + 5 * math.log10(1 / 0.262) - 22.5)))
    corner = default_demo.frame[:150, :150].astype(float)
    blank = corner[np.abs(corner - np.median(corner)) < 5 * s.sky_sigma]
    assert np.median(blank) == pytest.approx(s.sky_level, abs=0.3)
    assert np.std(blank) == pytest.approx(s.sky_sigma, rel=0.05)


def _poisson_sigma(level):
    # Per-pixel Poisson plus read noise in ADU for gain 4 e-/ADU and read noise 7 e-.
    return math.sqrt(level / 4.0 + (7.0 / 4.0) ** 2)


def _noise(correlation, level=100.0):
    flat = np.full((512, 512), level)
    return demo.add_noise(flat, demo.DemoSettings(noise_correlation=correlation), np.random.default_rng(1)) - flat


def test_white_noise_follows_gain_and_read_noise():
    noise = _noise(0.0)
    assert noise.std() == pytest.approx(_poisson_sigma(100.0), rel=0.02)
    assert abs(np.corrcoef(noise[:, :-1].ravel(), noise[:, 1:].ravel())[0, 1]) < 0.02


def test_correlated_noise_keeps_the_poisson_variance_of_large_apertures():
    noise = _noise(0.5)
    # Neighbours are correlated and single pixels scatter less, as after resampling ...
    assert np.corrcoef(noise[:, :-1].ravel(), noise[:, 1:].ravel())[0, 1] > 0.15
    assert noise.std() < 0.8 * _poisson_sigma(100.0)
    # ... while sums over 16 x 16 blocks keep the Poisson variance of 256 pixels.
    blocks = noise.reshape(32, 16, 32, 16).sum(axis=(1, 3))
    assert blocks.std() == pytest.approx(16 * _poisson_sigma(100.0), rel=0.15)
    assert demo.DemoSettings(noise_correlation=0.5).sky_sigma < 0.8 * _poisson_sigma(demo.DemoSettings().sky_level)


def test_psf_is_normalised_centred_and_has_the_requested_fwhm(written):
    psf = fits.getdata(written["psf"]).astype(float)
    assert psf.shape == (51, 51)
    assert psf.sum() == pytest.approx(1.0, rel=1e-5)
    assert np.unravel_index(np.argmax(psf), psf.shape) == (25, 25)
    yy, xx = np.mgrid[0:51, 0:51]
    assert (psf * xx).sum() == pytest.approx(25.0, abs=1e-6)
    assert (psf * yy).sum() == pytest.approx(25.0, abs=1e-6)
    # Half maximum along the row through the peak, by linear interpolation.
    row = psf[25, 25:]
    k = np.argmax(row < row[0] / 2)
    half = k - 1 + (row[k - 1] - row[0] / 2) / (row[k - 1] - row[k])
    # Pixel integration widens the 4.96-pixel profile slightly.
    assert 2 * half == pytest.approx(1.3 / 0.262, rel=0.05)


def test_target_flux_in_the_frame_matches_the_truth_magnitudes():
    s = SMALL
    comps = demo.target_components(s)
    image = demo.render_target(s, demo.moffat_psf(s), comps)
    c = s.centre
    aperture = image[c - 100 : c + 100, c - 100 : c + 100].sum()
    expected = sum(90.0 * 10 ** (-0.4 * (comp.value("3") - 22.5)) for comp in comps)
    assert aperture == pytest.approx(expected, rel=0.02)
    # Each object's light is where truth.tsv puts it: the flux-weighted centre of the group.
    yy, xx = np.mgrid[1 : s.size + 1, 1 : s.size + 1]
    fluxes = np.array([10 ** (-0.4 * comp.value("3")) for comp in comps])
    xs = np.array([comp.value("1", 0) for comp in comps])
    ys = np.array([comp.value("1", 1) for comp in comps])
    assert (image * xx).sum() / image.sum() == pytest.approx((fluxes * xs).sum() / fluxes.sum(), abs=0.3)
    assert (image * yy).sum() / image.sum() == pytest.approx((fluxes * ys).sum() / fluxes.sum(), abs=0.3)


def test_target_is_three_objects_of_five_components_near_the_centre(written):
    comps, objects = demo.read_truth(written["truth"])
    assert [c["type"] for c in comps] == ["sersic", "sersic", "sersic", "psf", "sersic"]
    assert sorted(objects) == ["A", "B", "C"]
    assert gf.read_comp_ident(written["comp_ident"], 5) == {1: "A", 2: "A", 3: "B", 4: "B", 5: "C"}
    x1, x2, y1, y2 = demo.target_region(demo.DemoSettings())
    assert (x2 - x1 + 1, y2 - y1 + 1) == (80, 80)
    for c in comps:
        assert x1 + 15 < c["x"] < x2 - 15 and y1 + 15 < c["y"] < y2 - 15
    # Object A = components 1 and 2: its magnitude is that of their summed flux.
    flux_a = 10 ** (-0.4 * comps[0]["mag"]) + 10 ** (-0.4 * comps[1]["mag"])
    assert objects["A"] == pytest.approx(-2.5 * math.log10(flux_a), abs=1e-4)
    # The constraint file is one the fitter reads.
    assert len(gf.read_constraints(written["constraints"], 5)) == 12


def test_field_sources_avoid_the_target(default_demo):
    s = default_demo.settings
    x1, x2, y1, y2 = default_demo.region
    f = default_demo.field
    outside = (f["x"] < x1 - 40) | (f["x"] > x2 + 40) | (f["y"] < y1 - 40) | (f["y"] > y2 + 40)
    assert outside.all()
    field_light = demo.render_field(s, default_demo.psf, f)
    assert field_light[gf.region_slices(default_demo.region)].max() < 0.05 * s.sky_sigma


def test_field_follows_rising_number_counts(default_demo):
    f = default_demo.field
    gal = ~f["star"]
    assert gal.sum() == 220 and f["star"].sum() == 80
    mags = f["mag"][gal]
    assert 17.0 <= mags.min() and mags.max() <= 24.5
    assert (mags > 23).sum() > 3 * (mags < 20).sum()
    # Fainter galaxies are smaller.
    assert np.median(f["re"][gal][mags > 23]) < np.median(f["re"][gal][mags < 21])


def test_frame_leaves_twenty_blank_windows_of_the_target_size(default_demo):
    mask = source_mask(default_demo.frame)
    windows = select_windows(mask, (80, 80), default_demo.region, max_windows=30)
    assert len(windows) >= 20


def test_settings_from_config_refuse_unknown_keys_and_bad_values():
    assert demo.DemoSettings.from_config({"seed": 3, "sky_mag": "19.5"}) == demo.DemoSettings(seed=3, sky_mag=19.5)
    with pytest.raises(ValueError, match="unknown key 'sead'"):
        demo.DemoSettings.from_config({"sead": 3})
    with pytest.raises(ValueError, match="demo.gain"):
        demo.DemoSettings.from_config({"gain": "high"})
    with pytest.raises(ValueError, match="psf_size 50 must be an odd"):
        demo.DemoSettings(psf_size=50)


def test_starting_values_are_perturbed_and_seeded():
    s = demo.DemoSettings()
    truth = demo.target_components(s)
    names = {"frame": "frame.fits", "imgblock": "imgblock.fits", "psf": "psf.fits", "constraints": "constraints.txt"}
    a = demo.starting_feedme(s, truth, names)
    b = demo.starting_feedme(s, truth, names)
    parsed = gf.parse_feedme(gf.format_feedme(a))
    assert gf.format_feedme(a) == gf.format_feedme(b)
    assert parsed.region == demo.target_region(s) and parsed.zeropoint == 22.5 and parsed.psf == "psf.fits"
    assert [c.type for c in parsed.components] == ["sersic", "sersic", "sersic", "psf", "sersic", "sky"]
    mag_shift = [p.value("3") - t.value("3") for p, t in zip(parsed.components, truth)]
    assert all(m != 0 for m in mag_shift) and max(abs(m) for m in mag_shift) < 1.5
    # The truth itself is untouched.
    assert truth[0].value("3") == 16.9


def test_truth_comparison_gives_the_error_in_sigmas(tmp_path, written):
    _, truth = demo.read_truth(written["truth"])
    table = tmp_path / "uncertainties.tsv"
    rows = [
        # The headline sigma (stats.sigma) is what the error is measured in, not std.
        {"object": "A", "mag_original": truth["A"] + 0.02, "n_used": 20, "std": 0.08, "sigma": 0.04},
        {"object": "B", "mag_original": truth["B"] - 0.09, "n_used": 20, "std": 0.06, "sigma": 0.03},
        {"object": "C", "mag_original": truth["C"], "n_used": 20, "std": 0.10, "sigma": 0.05},
    ]
    write_table(table, rows, ["object", "mag_original", "n_used", "median", "std", "mad_sigma", "sigma", "p16", "p84", "bias"], {"target": "demo"})
    out = {r["object"]: r for r in demo.truth_comparison(table, written["truth"])}
    # The table keeps 4 decimals.
    assert out["A"]["error_over_sigma"] == pytest.approx(0.5, abs=0.01)
    assert out["B"]["error_over_sigma"] == pytest.approx(-3.0, abs=0.01)
    assert out["C"]["error"] == pytest.approx(0.0, abs=1e-4)
    table.write_text(table.read_text().replace("\nC\t", "\nD\t"))
    with pytest.raises(ValueError, match="object C"):
        demo.truth_comparison(table, written["truth"])


NAMES = {"frame": "frame.fits", "psf": "psf.fits", "constraints": "constraints.txt", "imgblock": "imgblock.fits"}


def _user_fit(demo_obj, written, outdir):
    feedme = demo.starting_feedme(demo_obj.settings, demo_obj.components, NAMES)
    staged = {NAMES[k]: written[k] for k in ("frame", "psf", "constraints")}
    outputs = {"feedme": outdir / "fit.gal", "imgblock": outdir / "imgblock.fits"}
    log = demo.run_user_fit(feedme, staged, outputs)
    return log, outputs


def _object_mags(header):
    fluxes = {}
    for number, obj in demo.TARGET_OBJECTS.items():
        fluxes[obj] = fluxes.get(obj, 0.0) + 10 ** (-0.4 * header.component(number)["MAG"].value)
    return {obj: -2.5 * math.log10(f) for obj, f in fluxes.items()}


def test_user_fit_of_a_noise_free_frame_returns_the_truth(tmp_path):
    # Conventions check: the truth rendered into the frame is what the fitter reads back.
    s = SMALL
    comps = demo.target_components(s)
    psf = demo.moffat_psf(s)
    scene = demo.render_target(s, psf, comps) + s.sky_level
    frame = scene + np.random.default_rng(3).normal(0.0, 0.05, scene.shape)
    quiet = demo.Demo(s, frame.astype(np.float32), demo.frame_header(s), psf, comps, demo.target_region(s), {})
    written = demo.write_inputs(quiet, tmp_path / "input")
    _, outputs = _user_fit(quiet, written, tmp_path)
    header = gf.read_fit_header(outputs["imgblock"])
    _, objects = demo.read_truth(written["truth"])
    for obj, mag in _object_mags(header).items():
        assert mag == pytest.approx(objects[obj], abs=0.01)
    for number, comp in enumerate(comps, 1):
        assert header.component(number)["XC"].value == pytest.approx(comp.value("1", 0), abs=0.05)
        assert header.component(number)["YC"].value == pytest.approx(comp.value("1", 1), abs=0.05)
    assert header.component(6)["SKY"].value == pytest.approx(s.sky_level, abs=0.05)


def test_user_fit_recovers_the_truth(tmp_path, written, default_demo):
    # With noise, an object's magnitude scatters by about 0.05 mag from seed to seed.
    s = default_demo.settings
    log, outputs = _user_fit(default_demo, written, tmp_path)
    assert "Chi^2" in log
    assert gf.read_feedme(outputs["feedme"]).region == default_demo.region
    header = gf.read_fit_header(outputs["imgblock"])
    assert header.fitsect == default_demo.region
    comps, objects = demo.read_truth(written["truth"])
    for number in (1, 3, 5):
        assert header.component(number)["XC"].value == pytest.approx(comps[number - 1]["x"], abs=0.5)
        assert header.component(number)["YC"].value == pytest.approx(comps[number - 1]["y"], abs=0.5)
    for obj, mag in _object_mags(header).items():
        assert mag == pytest.approx(objects[obj], abs=0.2)
    assert header.component(6)["SKY"].value == pytest.approx(s.sky_level, abs=0.25 * s.sky_sigma)


def test_shipped_config_demo_block_is_valid():
    import yaml

    root = Path(__file__).resolve().parents[1]
    block = yaml.safe_load((root / "config" / "config.yaml").read_text())["demo"]
    settings = demo.DemoSettings.from_config(block)
    assert (settings.size, settings.pixel_scale, settings.zeropoint) == (1024, 0.262, 22.5)
