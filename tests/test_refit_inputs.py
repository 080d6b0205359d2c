"""What each re-fit inherits from the original fit: its constraint boxes, the light of its
``Z) 1`` components, the source variance of its sigma image, its K), E) and detector
keywords, and a frame checked against the image block; numbers written as GALFIT writes them."""

import copy
import re
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from galfit_unc import galfit_files as gf
from galfit_unc import injection as inj
from galfit_unc.batch import run_batch
from galfit_unc.fitter.sigma import internal_sigma, sky_statistics
from galfit_unc.targets import TargetsError, check_contents
from standins.harness import engine, make_workdir, snakemake

DATA = Path(__file__).resolve().parent / "data"
ORIGINAL = DATA / "decals-coolj0112" / "original-reconstructed.gal"
FITSECT = (220, 315, 213, 290)
SETTINGS = {
    "mask": {"nsigma": 3.0, "clip_sigma": 3.0, "clip_iters": 5},
    "cleaning": {"kernel_sigmas": [8, 4], "fill_noise": True, "seed": 1},
    "fitter": {"engine": "galfit", "galfit": "galfit", "timeout": 60},
}


def decals(shared, name):
    return shared("decals-coolj0112", name)


# ------------------------------------------------------------------------ 1. constraints
def test_relative_ranges_become_the_original_boxes(shared):
    """cons_rel.txt about the original starts (n 2, q 0.5) is cons_abs.txt's n and q boxes."""
    text = inj.refit_constraints(decals(shared, "cons_rel.txt"), gf.read_feedme(ORIGINAL), FITSECT)
    cons = gf.parse_constraints(text)
    assert len(cons) == 46 and all(c.kind == "absolute" for c in cons)
    boxes = {(c.components[0], c.name): (c.low, c.high) for c in cons}
    # n: 2 - 1.5 .. 2 + 6; q: 0.5 - 0.43 .. 0.5 + 0.5 (by hand), whatever the re-fit's start.
    assert all(boxes[(k, "5")] == (0.5, 8.0) and boxes[(k, "9")] == (0.07, 1.0) for k in range(1, 24))
    absolute = {(c.components[0], c.name): (c.low, c.high) for c in gf.read_constraints(decals(shared, "cons_abs.txt")) if c.name in "59"}
    assert absolute == boxes


def test_positions_move_into_the_window_and_other_lines_pass_unchanged(tmp_path):
    feedme = gf.parse_feedme(
        "A) a.fits\nH) 220 315 213 290\nJ) 25\n"
        " 0) sersic\n 1) 300.5 260.25 1 1\n 3) 20 1\n 4) 3 1\n 5) 2 1\n 9) 0.6 1\n10) 30 1\n Z) 0\n"
        " 0) sersic\n 1) 301 259 1 1\n 3) 21 1\n 4) 5 1\n 5) 1 1\n 9) 0.8 1\n10) 40 1\n Z) 0\n"
        " 0) sky\n 1) 1.5 1\n 2) 0 0\n 3) 0 0\n Z) 1\n",
        "orig.gal",
    )
    kept = ["1_2 x offset", "1_2 re ratio", "1-2 mag -0.5 3", "1/2 re 1 3", "2 n 0.5 to 8"]
    path = tmp_path / "cons.txt"
    path.write_text("\n".join(["1 x -2 3", "1_2 y -1 1", "3 sky -1 1", *kept]) + "\n")
    lines = inj.refit_constraints(path, feedme, FITSECT).splitlines()
    got = {(c.components[0], c.name): (c.low, c.high) for c in gf.parse_constraints("\n".join(lines)) if c.kind == "absolute"}
    # x: 300.5 - 219 = 81.5 -> 79.5 .. 84.5; y: 260.25 - 212 = 48.25 and 259 - 212 = 47, +-1;
    # the sky level has no position shift: 1.5 -> 0.5 .. 2.5.
    assert got[(1, "x")] == (79.5, 84.5)
    assert got[(1, "y")] == (47.25, 49.25) and got[(2, "y")] == (46.0, 48.0)
    assert got[(3, "sky")] == (0.5, 2.5)
    assert lines[-len(kept) :] == kept


def test_relative_ranges_follow_each_components_names(tmp_path):
    """Relative ranges on names whose row depends on the type, on hidden rows and on a
    truncation: each about its own start; a truncation's centre moves into the window too."""
    feedme = gf.parse_feedme(
        "A) a.fits\nH) 220 315 213 290\nJ) 25\nK) 0.2 0.2\n"
        " 0) edgedisk\n 1) 300 260 1 1\n 3) 18 1\n 4) 2 1\n 5) 6 1\n10) 30 1\n"
        " 0) sersic\n 1) 280 250 1 1\n 3) 17 1\n 4) 5 1\n 5) 2 1\n 9) 0.6 1\n10) 30 1\nF3) 0.1 20 1 1\nTo) 3\n"
        "T0) radial\nT1) 281 251 1 1\nT4) 12 1\nT5) 3 1\n",
        "orig.gal",
    )
    path = tmp_path / "cons.txt"
    path.write_text("1 rs -1 1\n1 HS -0.5 0.5\n2 f3p -5 5\n3 x -1 1\n3 t4 -2 2\n")
    cons = gf.parse_constraints(inj.refit_constraints(path, feedme, FITSECT))
    got = {(c.components[0], c.name): (c.low, c.high) for c in cons}
    assert got == {
        (1, "rs"): (5.0, 7.0),
        (1, "HS"): (1.5, 2.5),
        (2, "f3p"): (15.0, 25.0),
        (3, "x"): (61.0, 63.0),  # 281 - 219
        (3, "t4"): (10.0, 14.0),
    }


def test_constraint_name_a_component_lacks_is_refused_before_any_job(shared, tmp_path):
    path = tmp_path / "cons.txt"
    path.write_text("1 n 0.5 to 8\n2 alpha 1 to 2\n")
    row = {"target": "cool", "band": "z", "imgblock": str(decals(shared, "galfit_output_example.fits")), "constraints": str(path)}
    message = rf"t.tsv: target cool, band z: {path}: line 2 parameter: alpha is not a parameter of component 2 \(sersic\); use one of x"
    with pytest.raises(TargetsError, match=message):
        check_contents([{**row, "feedme": str(ORIGINAL)}], "t.tsv")
    with pytest.raises(TargetsError, match=message):  # the image block's components
        check_contents([row], "t.tsv")


def test_relative_ranges_without_the_input_file_are_refused(shared, tmp_path):
    rows = [{"target": "cool", "band": "z", **{k: str(decals(shared, v)) for k, v in {
        "image": "org_data_example.fits", "imgblock": "galfit_output_example.fits", "psf": "psf_example.fits",
        "constraints": "cons_rel.txt", "comp_ident": "comp_ident_example.txt"}.items()}}]
    with pytest.raises(TargetsError, match=r"t.tsv: target cool, band z: .*cons_rel.txt: line 1: '1 5 -1.5 6' is a range relative to the original fit's starting values; give the fit's input file in the targets table's feedme column"):
        check_contents(rows, "t.tsv")
    check_contents([{**rows[0], "feedme": str(ORIGINAL)}], "t.tsv")
    check_contents([{**rows[0], "constraints": str(decals(shared, "cons_abs.txt"))}], "t.tsv")


def test_workflow_refuses_relative_ranges_without_feedme_before_any_job(shared, tmp_path):
    work = make_workdir(tmp_path / "w", shared, {}, extra_columns={"constraints": str(decals(shared, "cons_rel.txt"))})
    run = snakemake(work, "-n")
    assert run.returncode != 0
    assert "cons_rel.txt: line 1: '1 5 -1.5 6' is a range relative" in run.stderr + run.stdout
    assert not (work / "results").exists()


# ------------------------------------------------------------------------ 2. Z) 1
def _render_block(tmp_path, renders):
    """An image block whose HDU2 is GALFIT's render of the n = 4 Sersic and whose header
    also lists the n = 1 Sersic (left out of HDU2, as GALFIT does with Z) 1)."""
    model = fits.getdata(renders / "psf-sersic-n4" / "model.fits").astype(np.float32)
    head = fits.Header()
    head.update({"FITSECT": "[1:101,1:101]", "CONVBOX": "101, 101", "MAGZPT": 26.0})
    for k, n in ((1, "4.0000"), (2, "1.0000")):
        head.update({f"COMP_{k}": "sersic", f"{k}_XC": "51.3000 +/- 0.01", f"{k}_YC": "50.7000 +/- 0.01", f"{k}_MAG": "18.0000 +/- 0.01",
                     f"{k}_RE": "2.5000 +/- 0.01", f"{k}_N": f"{n} +/- 0.01", f"{k}_AR": "0.7000 +/- 0.01", f"{k}_PA": "40.0000 +/- 0.1"})
    head.update({"COMP_3": "sky", "3_XC": "[51.0000]", "3_YC": "[51.0000]", "3_SKY": "100.0000 +/- 0.1", "3_DSDX": "[0.000e+00]", "3_DSDY": "[0.000e+00]"})
    head.update({"CHISQ": 1.0, "NDOF": 1, "NFREE": 14, "NFIX": 0, "CHI2NU": 1.0})
    block = tmp_path / "block.fits"
    fits.HDUList([fits.PrimaryHDU(np.zeros_like(model)), fits.ImageHDU(model), fits.ImageHDU(model, head), fits.ImageHDU(np.zeros_like(model))]).writeto(block)
    comp = " 0) sersic\n 1) 51.3 50.7 1 1\n 3) 18 1\n 4) 2.5 1\n 5) {n} 1\n 9) 0.7 1\n10) 40 1\n Z) {z}\n"
    feedme = gf.parse_feedme("A) d.fits\nE) 1\nH) 1 101 1 101\nJ) 26\n" + comp.format(n=4, z=0) + comp.format(n=1, z=1) + " 0) sky\n 1) 100 1\n 2) 0 0\n 3) 0 0\n Z) 1\n", "fit.gal")
    return block, feedme


def test_skipped_components_are_rendered_into_the_injected_light(shared, tmp_path):
    renders = shared("galfit305-renders", "renders")
    block, feedme = _render_block(tmp_path, renders)
    header = gf.read_fit_header(block)
    light = inj.galaxy_light(block, sky_in_model_flag=False) + inj.skipped_light(header, feedme, shared("galfit305-renders", "psf_decals.fits"))
    # Expected: GALFIT's own renders of both components (n = 4 shown, n = 1 skipped).
    expected = fits.getdata(renders / "psf-sersic-n4" / "model.fits") + fits.getdata(renders / "psf-sersic-n1" / "model.fits")
    assert np.abs(light - expected).max() < 0.01 * expected.max()
    assert light.sum() == pytest.approx(expected.sum(), rel=2e-3)
    # Without Z) 1 components (or without the input file) nothing is added; the sky is never drawn.
    shown = copy.deepcopy(feedme)
    shown.components[1].rows["Z"].values = [0.0]
    assert [c.skip for c in shown.components] == [False, False, True]
    assert not inj.skipped_light(header, shown, shared("galfit305-renders", "psf_decals.fits")).any()
    assert not inj.skipped_light(header, None, shared("galfit305-renders", "psf_decals.fits")).any()


# ------------------------------------------------------------------------ 3. sigma image
def test_refit_sigma_follows_galfits_definition_on_a_synthetic_frame():
    """A sigma image made by GALFIT's rule; the re-fit's must be GALFIT's rule applied to
    the injected window (the window's noise plus the target's light)."""
    rng = np.random.default_rng(3)
    gain, sky = 4.0, 400.0
    yy, xx = np.mgrid[0:200, 0:300]
    galaxy = 3000.0 * np.exp(-np.hypot(xx - 240.3, yy - 60.7) / 4.0)
    frame = rng.poisson((sky + galaxy) * gain) / gain
    sigma = internal_sigma(frame, gain)
    window, fitsect = (11, 70, 121, 170), (211, 270, 36, 85)
    got = inj.refit_sigma(sigma, window, fitsect)
    injected = frame[gf.region_slices(window)] + galaxy[gf.region_slices(fitsect)]
    sky_level, rms = sky_statistics(frame)
    expected = internal_sigma(injected, gain, sky=sky_level, skyrms=rms)
    # They differ by the smoothed Poisson noise of two different skies (and the cut's edges).
    off = np.abs(got / expected - 1)
    assert np.median(off) < 0.01 and np.percentile(off, 99) < 0.02 and off.max() < 0.03
    # The window's own sigma misses the source term: more than 2x too small at the centre.
    assert (expected / sigma[gf.region_slices(window)]).max() > 2


def test_refit_sigma_carries_galfits_source_variance_on_decals_region_4(shared):
    """GALFIT's own sigma image of injected window 4 ([109:204,1:78] of the frame): its source
    term (sigma**2 - RMS**2) at the galaxy's pixels is what the re-fit's sigma adds."""
    frame = fits.getdata(decals(shared, "org_data_example.fits")).astype(float)
    galfit = fits.getdata(decals(shared, "galfit-reruns/new_skycut_4_sigma.fits")).astype(float)
    injected = fits.getdata(decals(shared, "galfit-reruns/new_skycut_4.fits")).astype(float)
    model = fits.getdata(decals(shared, "galfit_output_example.fits"), 2).astype(float)
    user = internal_sigma(frame, gain=1.0)
    window = (109, 204, 1, 78)
    added = inj.refit_sigma(user, window, FITSECT) ** 2 - user[gf.region_slices(window)] ** 2
    source = galfit**2 - sky_statistics(injected)[1] ** 2
    bright = model > 10 * np.sqrt(np.median(galfit**2))
    ratio = added[bright] / source[bright]
    assert bright.sum() > 100
    assert np.median(ratio) == pytest.approx(1.0, abs=0.02)
    assert np.percentile(ratio, 5) > 0.95 and np.percentile(ratio, 95) < 1.05


# ------------------------------------------------------------------------ 4. frame vs HDU1, K), keywords
def test_frame_is_checked_against_hdu1(shared, tmp_path):
    frame, block = decals(shared, "org_data_example.fits"), decals(shared, "galfit_output_example.fits")
    inj.check_frame_block(frame, block)

    def doctored(name, change):
        path = tmp_path / name
        with fits.open(frame) as hdul:
            change(hdul[0])
            hdul.writeto(path)
        return path

    # The same pixels at double precision are the same frame.
    inj.check_frame_block(doctored("double.fits", lambda h: setattr(h, "data", h.data.astype(np.float64))), block)
    # A pixel outside the fitted section does not matter; one inside does (x = 250, y = 250).
    outside = doctored("outside.fits", lambda h: h.data.__setitem__((10, 10), 1e4))
    inj.check_frame_block(outside, block)
    inside = doctored("inside.fits", lambda h: h.data.__setitem__((249, 249), h.data[249, 249] + 1))
    with pytest.raises(gf.GalfitFormatError, match=r"inside.fits: frame vs HDU1 of .*galfit_output_example.fits: pixels of FITSECT \[220:315,213:290\]: 1 differ \(first at x=250, y=250"):
        inj.check_frame_block(inside, block)
    exptime = doctored("exptime.fits", lambda h: h.header.__setitem__("EXPTIME", 90.0))
    with pytest.raises(gf.GalfitFormatError, match=r"exptime.fits: .*galfit_output_example.fits: EXPTIME: 90.0 in the frame, absent in HDU1"):
        inj.check_frame_block(exptime, block)
    gain = doctored("gain.fits", lambda h: h.header.__setitem__("GAIN", 4.0))
    with pytest.raises(gf.GalfitFormatError, match=r"GAIN: 4.0 in the frame, 1.0 in HDU1"):
        inj.check_frame_block(gain, block)


def test_workflow_refuses_a_frame_that_was_not_fitted_before_any_job(shared, tmp_path):
    frame = tmp_path / "frame.fits"
    with fits.open(decals(shared, "org_data_example.fits")) as hdul:
        hdul[0].data[260, 270] += 5.0
        hdul.writeto(frame)
    work = make_workdir(tmp_path / "w", shared, {}, extra_columns={"image": str(frame)})
    run = snakemake(work, "-n")
    assert run.returncode != 0
    assert re.search(r"frame.fits: frame vs HDU1 of \S*galfit_output_example.fits: pixels of FITSECT", run.stderr + run.stdout)
    assert not (work / "results").exists()


def test_refit_inherits_boxes_platescale_and_keywords_of_the_original(shared, tmp_path, monkeypatch):
    """A batch run: constraints.txt holds the original boxes, K) the input file's, the injected
    window HDU1's GAIN (the frame here says 4), fit.gal numbers without float noise."""
    monkeypatch.chdir(tmp_path)
    frame = tmp_path / "frame.fits"
    with fits.open(decals(shared, "org_data_example.fits")) as hdul:
        hdul[0].header["GAIN"] = 4.0
        hdul.writeto(frame)
    galaxy = tmp_path / "galaxy.fits"
    fits.writeto(galaxy, inj.galaxy_light(decals(shared, "galfit_output_example.fits"), sky_in_model_flag=False))
    inputs = {
        "image": frame,
        "imgblock": decals(shared, "galfit_output_example.fits"),
        "psf": decals(shared, "psf_example.fits"),
        "constraints": decals(shared, "cons_rel.txt"),
        "feedme": ORIGINAL,
        "galaxy": galaxy,
        # The frame's source mask, whose pixels each window's cleaning fills.
        "sources": tmp_path / "sources.fits",
    }
    fits.writeto(inputs["sources"], (fits.getdata(frame) > 200).astype(np.uint8))
    settings = {**SETTINGS, "fitter": {**SETTINGS["fitter"], "galfit": engine(tmp_path, "galfit_like")}}
    [record] = run_batch([("x0030_y0020", [30, 125, 20, 97])], inputs, settings, tmp_path / "windows", tmp_path / "logs")
    folder = tmp_path / "windows" / "x0030_y0020"
    boxes = {(c.components[0], c.name): (c.low, c.high) for c in gf.read_constraints(folder / "fit" / "constraints.txt")}
    assert boxes[(2, "5")] == (0.5, 8.0) and boxes[(17, "9")] == (0.07, 1.0)
    gal = (folder / "fit.gal").read_text()
    assert re.search(r"^K\) 0\.2637 0\.2637 ", gal, re.M) and re.search(r"^J\) 31\.169 ", gal, re.M) and re.search(r"^E\) 1 ", gal, re.M)
    # 298.7289 - 219 and 252.9246 - 212, as GALFIT would write them.
    assert " 1) 79.7289 40.9246  1 1" in gal
    assert not re.search(r"\d\.\d{13,}", gal)
    assert fits.getheader(folder / "injected.fits")["GAIN"] == 1.0
    assert record.status in ("ok", "flagged")


# ------------------------------------------------------------------------ 5. numbers
def test_numbers_are_written_as_shortest_round_trip_text():
    assert [gf.format_number(v) for v in (79.7289, 0.263672, -3.998e-03, 8.0, -1.5e-07)] == ["79.7289", "0.263672", "-0.003998", "8.0000", "-1.5e-07"]
    rng = np.random.default_rng(5)
    for v in rng.uniform(-1e4, 1e4, 200) * 10.0 ** rng.integers(-6, 3, 200):
        assert float(gf.format_number(v)) == v


def test_shifted_positions_carry_no_float_noise(shared):
    """Every position of the re-fit is the header's 4-decimal value minus an integer, exactly."""
    header = gf.read_fit_header(decals(shared, "galfit_output_example.fits"))
    text = gf.format_feedme(inj.refit_feedme(header, window_shape=(78, 96), original_feedme=gf.read_feedme(ORIGINAL)))
    rows = re.findall(r"^ 1\) (\S+) (\S+)  1 1", text, re.M)
    raw = fits.getheader(decals(shared, "galfit_output_example.fits"), 2)
    expected = [(raw[f"{k}_XC"].split()[0], raw[f"{k}_YC"].split()[0]) for k in range(1, 24)]
    assert len(rows) == 23
    for (x, y), (hx, hy) in zip(rows, expected):
        # By hand: drop the integer part's offset (219, 212) from the header's text.
        assert x == f"{float(hx) - 219:.4f}".rstrip("0") and y == f"{float(hy) - 212:.4f}".rstrip("0")
    assert not re.search(r"\d\.\d{9,}", text)


def test_platescale_of_the_frame_is_written_rounded(shared, tmp_path):
    """Without an input file K) comes from the WCS: 7.32422222222222e-05 deg = 0.263672 arcsec."""
    from galfit_unc.frames import pixel_scale, read_frame_header

    scale = pixel_scale(read_frame_header(decals(shared, "org_data_example.fits")))
    fm = inj.refit_feedme(gf.read_fit_header(decals(shared, "galfit_output_example.fits")), window_shape=(78, 96), platescale=scale)
    gf.write_feedme(fm, tmp_path / "fit.gal")
    assert re.search(r"^K\) 0\.263672 0\.263672 ", (tmp_path / "fit.gal").read_text(), re.M)
