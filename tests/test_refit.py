"""Re-fits that replicate the user's fit: perturbed and user starts, the model's own photon
noise, alternative PSFs, budget steps, and their checks before any job."""

import numpy as np
import pytest
from astropy.io import fits

from galfit_unc import galfit_files as gf
from galfit_unc import refit
from galfit_unc.batch import run_batch
from galfit_unc.injection import galaxy_light
from standins.harness import DECALS, engine

PERTURB = {"mag": 0.3, "size": [0.7, 1.4], "n": [0.6, 1.6], "q": 0.1, "pa": 15.0, "xy": 1.0}
FEEDME = """\
A) injected.fits
B) output.fits
C) none
D) psf.fits
E) 1
F) none
G) constraints.txt
H) 1 96 1 78
I) 96 78
J) 31.169
K) 0.2637 0.2637
O) regular
P) 0

 0) sersic
 1) 40.0 30.0 1 1
 3) 20.0 1
 4) 5.0 1
 5) 2.0 1
 9) 0.5 1
10) 30.0 1
 Z) 0

 0) sersic
 1) 60.0 50.0 1 0
 3) 21.0 0
 4) 3.0 1
 5) 1.0 0
 9) 0.95 1
10) -10.0 1
 Z) 0

 0) sky
 1) 0.3 1
 2) 0.0 0
 3) 0.0 0
 Z) 0
"""


def draws(count, constraints=(), perturb=PERTURB):
    """Values of every parameter over ``count`` independent perturbations."""
    fm = gf.parse_feedme(FEEDME)
    out = []
    for k in range(count):
        p = refit.perturbed_start(fm, perturb, np.random.default_rng(k), constraints)
        out.append([[list(r.values) for r in c.rows.values()] for c in p.components])
    return out


def column(values, comp, row, index=0):
    keys = list(gf.parse_feedme(FEEDME).components[comp].rows)
    return np.array([v[comp][keys.index(row)][index] for v in values])


def test_perturbation_is_uniform_within_the_configured_bounds():
    values = draws(3000)
    # (component, row, index, low, high) of the draw, from the configured scale by hand.
    cases = [
        (0, "1", 0, 39.0, 41.0), (0, "1", 1, 29.0, 31.0), (0, "3", 0, 19.7, 20.3), (0, "4", 0, 3.5, 7.0),
        (0, "5", 0, 1.2, 3.2), (0, "9", 0, 0.4, 0.6), (0, "10", 0, 15.0, 45.0), (1, "1", 0, 59.0, 61.0), (1, "4", 0, 2.1, 4.2),
    ]
    for comp, row, index, low, high in cases:
        v = column(values, comp, row, index)
        assert v.min() >= low - 1e-9 and v.max() <= high + 1e-9, (comp, row)
        width = high - low
        # Uniform: both ends reached, mean in the middle, variance width^2/12.
        assert v.min() < low + 0.01 * width and v.max() > high - 0.01 * width, (comp, row)
        assert abs(v.mean() - (low + high) / 2) < 0.02 * width, (comp, row)
        assert v.var() == pytest.approx(width**2 / 12, rel=0.08), (comp, row)
    # q of component 2 (0.95 +- 0.1) is clipped at 1.
    q = column(values, 1, "9")
    assert q.max() == 1.0 and q.min() >= 0.85 - 1e-9 and np.mean(q == 1.0) == pytest.approx(0.25, abs=0.04)


def test_fixed_parameters_and_sky_are_not_perturbed():
    values = draws(50)
    for comp, row, index, value in [(1, "1", 1, 50.0), (1, "3", 0, 21.0), (1, "5", 0, 1.0), (2, "1", 0, 0.3), (2, "2", 0, 0.0)]:
        assert set(column(values, comp, row, index)) == {value}


def test_perturbation_is_clipped_into_the_constraint_ranges():
    cons = gf.parse_constraints("1 n 1.5 to 2.2\n1 mag -0.1 0.1\n1 re 0.5 1\n")
    values = draws(400, cons)
    n, mag, re = column(values, 0, "5"), column(values, 0, "3"), column(values, 0, "4")
    assert n.min() >= 1.5 and n.max() == 2.2
    assert mag.min() == pytest.approx(19.9) and mag.max() == pytest.approx(20.1)
    # Relative: about the unperturbed value 5.0, so within [5.5, 6.0].
    assert re.min() == pytest.approx(5.5) and re.max() == pytest.approx(6.0)


def test_perturbation_is_clipped_into_the_row_a_name_means_for_the_type():
    """``rs`` on an edgedisk is its radial scale length, row 5): that draw is clipped, the
    scale height in row 4) is not."""
    edgedisk = " 0) edgedisk\n 1) 40.0 30.0 1 1\n 3) 18.0 1\n 4) 2.0 1\n 5) 6.0 1\n10) 30.0 1\n Z) 0\n"
    fm = gf.parse_feedme(FEEDME.split(" 0) sersic")[0] + edgedisk)
    cons = gf.parse_constraints("1 rs 5.9 to 6.1\n")
    starts = [refit.perturbed_start(fm, PERTURB, np.random.default_rng(k), cons).components[0] for k in range(200)]
    rs, hs = np.array([c.value("5") for c in starts]), np.array([c.value("4") for c in starts])
    assert rs.min() >= 5.9 and rs.max() <= 6.1
    assert hs.min() < 1.6 and hs.max() > 2.6


def test_sanity_limits_bound_the_draw():
    values = draws(300, perturb={**PERTURB, "n": [0.001, 0.002], "q": 5.0})
    assert set(column(values, 0, "5")) == {0.05}
    q = column(values, 0, "9")
    assert q.min() >= 0.01 and q.max() <= 1.0


def test_streams_are_seeded_per_window_and_independent():
    a = refit.window_rng(12345, "x0010_y0020", 1).uniform(size=4)
    assert np.array_equal(a, refit.window_rng(12345, "x0010_y0020", 1).uniform(size=4))
    assert not np.array_equal(a, refit.window_rng(12345, "x0011_y0020", 1).uniform(size=4))
    assert not np.array_equal(a, refit.window_rng(12346, "x0010_y0020", 1).uniform(size=4))
    assert not np.array_equal(a, refit.window_rng(12345, "x0010_y0020", 2).uniform(size=4))


def test_user_start_takes_the_feedme_values_shifted_into_the_window():
    best = gf.parse_feedme(FEEDME)
    user = gf.parse_feedme(FEEDME.replace("40.0 30.0", "250.0 240.0").replace("3) 20.0", "3) 19.0").replace("1) 0.3 1", "1) 2.5 1"))
    out = refit.user_start(best, user, shift=(219, 212))
    assert out.components[0].rows["1"].values == [250.0 - 219, 240.0 - 212]
    assert out.components[0].value("3") == 19.0
    assert out.components[1].rows["1"].values == [60.0 - 219, 50.0 - 212]
    assert out.components[2].value("1") == 2.5
    assert out.components[0].rows["1"].toggles == [1, 1] and out.components[1].rows["1"].toggles == [1, 0]


def test_source_noise_has_the_poisson_variance_of_the_model():
    model = np.full((300, 300), 50.0)
    model[:150] = 5.0
    noise = refit.source_noise(model, 4.0, np.random.default_rng(1))
    # Counts = model x 4 electrons: variance in ADU = model / 4.
    for part, level in ((noise[150:], 50.0), (noise[:150], 5.0)):
        assert abs(part.mean()) < 4 * np.sqrt(level / 4 / part.size)
        assert part.var() == pytest.approx(level / 4, rel=0.03)
    # Photon counts are whole numbers of electrons.
    counts = (noise + model) * 4.0
    assert np.allclose(counts, np.round(counts))
    assert not refit.source_noise(np.full((4, 4), -3.0), 4.0, np.random.default_rng(1)).any()


def test_photon_scale_reads_gain_ncombine_and_exptime_for_rates():
    header = fits.Header({"GAIN": 2.5, "NCOMBINE": 4, "EXPTIME": 90.0, "BUNIT": "ADU"})
    assert refit.photon_scale(header, "f.fits") == 10.0
    assert refit.photon_scale(fits.Header({"GAIN": 2.5}), "f.fits") == 2.5
    for unit in ("electrons/s", "COUNTS/S", "e-/sec", "ADU s-1"):
        assert refit.photon_scale(fits.Header({"GAIN": 1.0, "EXPTIME": 90.0, "BUNIT": unit}), "f.fits") == 90.0, unit
    with pytest.raises(ValueError, match=r"^f.fits: GAIN: absent; refit.source_noise needs"):
        refit.photon_scale(fits.Header({"EXPTIME": 90.0}), "f.fits")
    with pytest.raises(ValueError, match=r"^f.fits: EXPTIME: absent or not positive, but BUNIT 'e-/s' is a rate"):
        refit.photon_scale(fits.Header({"GAIN": 1.0, "BUNIT": "e-/s"}), "f.fits")


def test_budget_steps_add_one_term_at_a_time():
    config = {**refit.DEFAULTS, "start": "user", "source_noise": True, "psfs": ["a.fits", "b.fits"]}
    steps = {s: refit.step_settings(config, s) for s in refit.STEPS}
    assert steps["sky"] == {"start": "best_fit", "source_noise": False, "psfs": []}
    assert steps["start"] == {"start": "user", "source_noise": False, "psfs": []}
    assert steps["source_noise"] == {"start": "user", "source_noise": True, "psfs": []}
    assert steps["psf"] == {"start": "user", "source_noise": True, "psfs": ["a.fits", "b.fits"]}
    assert refit.fit_sets(config) == {"sky": "sky", "start": "start", "source_noise": "source_noise", "psf": None}
    # Without a feedme, user falls back to perturbed (and the perturbation scale counts).
    assert refit.step_settings(config, "start", has_feedme=False)["start"] == "perturbed"
    assert "perturb" in refit.step_settings(config, "start", has_feedme=False)
    assert refit.header_settings(config, has_feedme=False)["start"].startswith("perturbed (refit.start is user")
    # Terms switched off cost no fits: their steps read the step they repeat.
    assert refit.fit_sets({**config, "psfs": []}) == {"sky": "sky", "start": "start", "source_noise": None, "psf": None}
    assert refit.fit_sets({**config, "start": "best_fit", "psfs": []}) == {"sky": "sky", "start": "sky", "source_noise": None, "psf": None}
    assert set(refit.fit_sets(refit.DEFAULTS).values()) == {None}


def test_window_psf_rotates_through_the_list():
    config = {"psfs": ["a.fits", "b.fits", "c.fits"]}
    assert [refit.window_psf(config, i) for i in range(7)] == ["a.fits", "b.fits", "c.fits", "a.fits", "b.fits", "c.fits", "a.fits"]
    assert refit.window_psf({}, 3) is None


def test_check_refit_refuses_bad_psfs_and_missing_gain(tmp_path):
    good = tmp_path / "psf.fits"
    fits.writeto(good, np.outer([1, 2, 1], [1, 2, 1]).astype(float))
    refit.check_refit({"psfs": [str(good)]}, [], "config.yaml")
    with pytest.raises(ValueError, match=rf"^config.yaml: refit.psfs: {tmp_path}/nope.fits: not found"):
        refit.check_refit({"psfs": [str(tmp_path / "nope.fits")]}, [], "config.yaml")
    flat = tmp_path / "flat.fits"
    fits.writeto(flat, np.zeros((5, 5)))
    with pytest.raises(ValueError, match=rf"^config.yaml: refit.psfs: {flat}: not a PSF"):
        refit.check_refit({"psfs": [str(flat)]}, [], "config.yaml")
    text = tmp_path / "psf.txt"
    text.write_text("not fits\n")
    with pytest.raises(ValueError, match=rf"^config.yaml: refit.psfs: {text}: not a PSF"):
        refit.check_refit({"psfs": [str(text)]}, [], "config.yaml")
    frame = tmp_path / "frame.fits"
    fits.writeto(frame, np.zeros((8, 8)), fits.Header({"EXPTIME": 10.0}))
    rows = [{"image": str(frame)}, {"image": str(tmp_path / "made-by-a-rule.fits")}]
    refit.check_refit({"source_noise": False}, rows, "config.yaml")
    with pytest.raises(ValueError, match=rf"^{frame}: GAIN: absent"):
        refit.check_refit({"source_noise": True}, rows, "config.yaml")


def test_budget_rows_collect_each_steps_sigma():
    def table(sigmas):
        return [{"object": float(k + 1), "mag_original": 20.0 + k, "std": s} for k, s in enumerate(sigmas)]

    rows = refit.budget_rows({"sky": table([0.01, 0.02]), "start": table([0.03, 0.04]), "source_noise": table([0.05, 0.06]), "psf": table([0.07, 0.08])})
    assert rows == [
        {"object": "1", "mag_original": 20.0, "sky": 0.01, "start": 0.03, "source_noise": 0.05, "psf": 0.07},
        {"object": "2", "mag_original": 21.0, "sky": 0.02, "start": 0.04, "source_noise": 0.06, "psf": 0.08},
    ]


# --- the hooks in a batch of windows on the shared DECaLS case --------------------------------
SETTINGS = {
    "mask": {"nsigma": 3.0, "clip_sigma": 3.0, "clip_iters": 5},
    "cleaning": {"kernel_sigmas": [8, 4], "fill_noise": True, "seed": 1},
}
WINDOWS = [("x0030_y0020", [30, 125, 20, 97]), ("x0400_y0400", [400, 495, 400, 477])]
# FITSECT of the DECaLS fit is [220:315,213:290]: frame positions move by (219, 212).
SHIFT = (219, 212)


def user_feedme(imgblock, path):
    """A GALFIT input file for the DECaLS fit whose initial values differ from the best fit
    by known amounts (written here by hand, not by the library)."""
    header = fits.getheader(imgblock, 2)

    def value(key):
        return float(str(header[key]).split("+/-")[0].strip("[]{}* "))

    lines = ["A) org_data_example.fits", "B) out.fits", "C) none", "D) psf_example.fits", "E) 1", "F) none", "G) cons_rel.txt",
             "H) 220 315 213 290", "I) 96 78", "J) 31.169", "K) 0.2637 0.2637", "O) regular", "P) 0", ""]
    expected = []
    for i in range(1, 24):
        x, y, mag = value(f"{i}_XC") + 0.25 * i, value(f"{i}_YC") - 0.5, value(f"{i}_MAG") + 0.4
        re, n, q, pa = value(f"{i}_RE") * 1.2, 1.5, 0.6, 20.0 + i
        lines += ["0) sersic", f"1) {x} {y} 1 1", f"3) {mag} 1", f"4) {re} 1", f"5) {n} 1", f"9) {q} 1", f"10) {pa} 1", "Z) 0", ""]
        expected.append([x - SHIFT[0], y - SHIFT[1], mag, re, n, q, pa])
    lines += ["0) sky", "1) 0.75 1", "2) 0.0 0", "3) 0.0 0", "Z) 0"]
    path.write_text("\n".join(lines) + "\n")
    return expected


@pytest.fixture
def case(shared, tmp_path, monkeypatch):

    inputs = {k: shared("decals-coolj0112", v) for k, v in DECALS.items() if k != "comp_ident"}
    galaxy = tmp_path / "galaxy.fits"
    fits.writeto(galaxy, galaxy_light(inputs["imgblock"], sky_in_model_flag=True))
    fitter = {"engine": "galfit", "galfit": engine(tmp_path, "galfit_like"), "timeout": 120}
    monkeypatch.chdir(tmp_path)
    # The frame's source mask, whose pixels each window's cleaning fills.
    sources = tmp_path / "sources.fits"
    fits.writeto(sources, (fits.getdata(inputs["image"]) > 200).astype(np.uint8))
    return {**inputs, "galaxy": galaxy, "sources": sources}, {**SETTINGS, "fitter": fitter}, tmp_path


def gal_values(path):
    fm = gf.read_feedme(path)
    return [[*c.rows["1"].values, *(c.value(k) for k in ("3", "4", "5", "9", "10"))] for c in fm.components if c.base_type == "sersic"]


def test_batch_user_start_is_the_feedme_shifted_into_each_window(case):
    inputs, settings, tmp = case
    expected = user_feedme(inputs["imgblock"], tmp / "user.gal")
    settings = {**settings, "refit": refit.step_settings({"start": "user"})}
    run_batch(WINDOWS, {**inputs, "feedme": tmp / "user.gal"}, settings, tmp / "windows", tmp / "logs")
    for region, _ in WINDOWS:
        assert np.allclose(gal_values(tmp / "windows" / region / "fit.gal"), expected, atol=1e-4)
        sky = next(c for c in gf.read_feedme(tmp / "windows" / region / "fit.gal").components if c.base_type == "sky")
        assert sky.value("1") == 0.75


def test_batch_perturbed_start_source_noise_and_psfs(case):
    inputs, settings, tmp = case
    psfs = []
    for k in range(3):
        psfs.append(tmp / f"psf{k}.fits")
        fits.writeto(psfs[-1], fits.getdata(inputs["psf"]) * (k + 1.0))
    config = {"start": "perturbed", "source_noise": True, "psfs": [str(p) for p in psfs]}
    settings = {**settings, "refit": refit.step_settings(config)}
    # Windows 1 and 2 of the regions table: PSFs 1 and 2 of the list.
    run_batch(WINDOWS, inputs, settings, tmp / "windows", tmp / "logs", first=1)
    best = gf.read_fit_header(inputs["imgblock"])
    galaxy = fits.getdata(inputs["galaxy"])
    starts = []
    for k, (region, _) in enumerate(WINDOWS, 1):
        folder = tmp / "windows" / region
        assert (folder / "fit" / "psf.fits").read_bytes() == psfs[k].read_bytes()
        values = np.array(gal_values(folder / "fit.gal"))
        starts.append(values)
        for comp, v in zip(best.components, values):
            assert abs(v[0] + SHIFT[0] - comp["XC"].value) <= 1 + 1e-6 and abs(v[1] + SHIFT[1] - comp["YC"].value) <= 1 + 1e-6
            assert abs(v[2] - comp["MAG"].value) <= 0.3 + 1e-6
        # Injected = cleaned sky + galaxy + noise of variance galaxy / GAIN (GAIN = 1 here).
        noise = fits.getdata(folder / "injected.fits").astype(float) - fits.getdata(folder / "sky.fits") - galaxy
        bright = galaxy > 20
        assert (noise[bright] ** 2).sum() / galaxy[bright].sum() == pytest.approx(1.0, rel=0.1)
        # GAIN = 1: the noisy model is a whole number of electrons in every pixel.
        assert np.allclose(noise + galaxy, np.round(noise + galaxy), atol=0.01)
    assert not np.allclose(starts[0], starts[1])


def test_batch_rekeys_only_the_windows_whose_psf_changed(case):
    inputs, settings, tmp = case
    a, b = tmp / "a.fits", tmp / "b.fits"
    fits.writeto(a, fits.getdata(inputs["psf"]))
    fits.writeto(b, fits.getdata(inputs["psf"]) * 2)
    settings = {**settings, "refit": refit.step_settings({"psfs": [str(a), str(b)]})}
    run_batch(WINDOWS, inputs, settings, tmp / "windows", tmp / "logs")
    status = [tmp / "windows" / r / "status.json" for r, _ in WINDOWS]
    before = [p.stat().st_mtime_ns for p in status]
    fits.writeto(b, fits.getdata(inputs["psf"]) * 3, overwrite=True)
    run_batch(WINDOWS, inputs, settings, tmp / "windows", tmp / "logs")
    assert status[0].stat().st_mtime_ns == before[0] and status[1].stat().st_mtime_ns > before[1]


def test_both_engines_get_the_same_staged_fit(case):
    """The embedded engine and GALFIT read the same input file and PSF (a short timeout is
    enough: the staging is written before the engine starts)."""
    inputs, settings, tmp = case
    alt = tmp / "alt.fits"
    fits.writeto(alt, fits.getdata(inputs["psf"]) * 2)
    config = {"start": "perturbed", "source_noise": True, "psfs": [str(alt)]}
    staged = {}
    for engine in ("galfit", "embedded"):
        engine_settings = {**settings, "fitter": {**settings["fitter"], "engine": engine, "timeout": 5}, "refit": refit.step_settings(config)}
        run_batch(WINDOWS[:1], inputs, engine_settings, tmp / engine, tmp / f"logs-{engine}")
        fit = tmp / engine / WINDOWS[0][0] / "fit"
        staged[engine] = [(fit / name).read_bytes() for name in ("fit.gal", "psf.fits", "injected.fits", "constraints.txt")]
    assert staged["galfit"] == staged["embedded"]
    assert staged["galfit"][1] == alt.read_bytes()
