"""The refit settings in real Snakemake runs: budget.tsv from its own fits, the tables'
headers, a changed value reruns exactly the fits that use it, and bad values stop the run
before any job.

One complete run (stand-in GALFIT engine, 3 windows, start perturbed, budget on) is copied
for each rerun test; file modification times show what was rewritten.
"""

import shutil

import numpy as np
import pytest
import yaml
from astropy.io import fits

from galfit_unc.galfit_files import read_feedme, read_fit_header
from galfit_unc.tables import read_table
from standins.harness import engine, make_workdir, merge, out, snakemake

BASE = {"windows": {"max_windows": 3, "min_windows": 2}, "stats": {"min_ok_windows": 1}, "refit": {"start": "perturbed", "budget": True}}
STEPS = ["sky", "start", "source_noise", "psf"]


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    from conftest import shared_path

    tmp = tmp_path_factory.mktemp("refit")
    work = make_workdir(tmp / "base", shared_path, {**BASE, "fitter": {"engine": "galfit", "galfit": engine(tmp, "galfit_like")}})
    run = snakemake(work)
    assert run.returncode == 0, run.stderr[-3000:]
    return work


def files(work):
    return {str(p.relative_to(work)): p.stat().st_mtime_ns for p in (work / "results").rglob("*") if p.is_file()}


def rerun(base, tmp_path, changes):
    work = tmp_path / "w"
    shutil.copytree(base, work, symlinks=True)
    config = yaml.safe_load((work / "config.yaml").read_text())
    (work / "config.yaml").write_text(yaml.safe_dump(merge(config, changes)))
    before = files(work)
    run = snakemake(work)
    assert run.returncode == 0, run.stderr[-3000:]
    after = files(work)
    return work, {p for p in before if after.get(p) != before[p]}, {p for p in after if p not in before}


def fits_of(paths, folder):
    """Per-window fit records (windows/<id>/status.json) under results/cool/z/<folder>."""
    prefix = f"results/cool/z/{folder}windows/"
    return {p for p in paths if p.startswith(prefix) and p[len(prefix) :].count("/") == 1 and p.endswith("/status.json")}


def sigma_by_hand(magnitudes):
    """Per-object default headline sigma from a magnitudes table: the rms of the used re-fits
    about the original's magnitude (the table's first row)."""
    rows, _ = read_table(magnitudes)
    used = [r for r in rows[1:] if r["status"] in ("ok", "flagged")]
    return {c[4:]: float(np.sqrt(np.mean([(r[c] - rows[0][c]) ** 2 for r in used]))) for c in rows[0] if c.startswith("obj_")}


def test_budget_table_from_the_steps_fits(base_run, shared):
    rows, comments = read_table(out(base_run, "budget.tsv"))
    assert list(rows[0]) == ["object", "mag_original", *STEPS]
    # Sky only has fits of its own; the start is the only other term, so every later step
    # is the headline run.
    assert comments["fits.sky"] == "budget/sky/" and {comments[f"fits.{s}"] for s in STEPS[1:]} == {"the headline run"}
    assert not out(base_run, "budget", "start").exists() and not out(base_run, "budget", "source_noise").exists()
    sky, headline = sigma_by_hand(out(base_run, "budget", "sky", "magnitudes.tsv")), sigma_by_hand(out(base_run, "magnitudes.tsv"))
    assert len(rows) == 10
    for row in rows:
        obj = str(row["object"]).removesuffix(".0")
        assert row["sky"] == pytest.approx(sky[obj], abs=1e-4)
        assert row["start"] == row["source_noise"] == row["psf"] == pytest.approx(headline[obj], abs=1e-4)
    # Sky-only fits start from the best fit, the headline ones from a perturbed start.
    best = read_fit_header(shared("decals-coolj0112", "galfit_output_example.fits")).component(1)["MAG"].value
    region = next(p.name for p in out(base_run, "windows").iterdir())
    assert read_feedme(out(base_run, "budget", "sky", "windows", region, "fit.gal")).components[0].value("3") == pytest.approx(best)
    assert abs(read_feedme(out(base_run, "windows", region, "fit.gal")).components[0].value("3") - best) > 1e-3
    _, headers = read_table(out(base_run, "uncertainties.tsv"))
    assert headers["refit.start"] == '"perturbed"' and headers["refit.source_noise"] == "false" and headers["refit.budget"] == "true"
    _, sky_headers = read_table(out(base_run, "budget", "sky", "uncertainties.tsv"))
    assert sky_headers["refit.start"] == '"best_fit"' and sky_headers["refit.budget_step"] == '"sky (sky)"'


def test_source_noise_reruns_the_headline_and_adds_the_start_step(base_run, tmp_path):
    work, rewritten, new = rerun(base_run, tmp_path, {"refit": {"source_noise": True}})
    assert len(fits_of(rewritten, "")) == 3 and not fits_of(new, "")
    assert len(fits_of(new, "budget/start/")) == 3
    assert not fits_of(rewritten | new, "budget/sky/")
    _, comments = read_table(out(work, "budget.tsv"))
    assert comments["fits.start"] == "budget/start/" and comments["fits.source_noise"] == "the headline run"


def test_perturbation_scale_reruns_only_the_fits_that_start_perturbed(base_run, tmp_path):
    _, rewritten, new = rerun(base_run, tmp_path, {"refit": {"perturb": {"mag": 0.1}}})
    assert len(fits_of(rewritten, "")) == 3 and not fits_of(new, "")
    assert not fits_of(rewritten | new, "budget/sky/")


def test_budget_off_refits_nothing(base_run, tmp_path):
    work, rewritten, new = rerun(base_run, tmp_path, {"refit": {"budget": False}})
    assert not {p for p in rewritten | new if "/windows/" in p or "/batches/" in p}
    assert "results/cool/z/budget.tsv" not in rewritten


def test_user_start_without_feedme_is_the_perturbed_start(base_run, tmp_path):
    work, rewritten, new = rerun(base_run, tmp_path, {"refit": {"start": "user"}})
    assert not {p for p in rewritten | new if "/windows/" in p}
    _, comments = read_table(out(work, "uncertainties.tsv"))
    assert comments["refit.start"] == '"perturbed (refit.start is user, but the target has no feedme)"'


def test_bad_refit_values_stop_before_any_job(shared, tmp_path):
    work = make_workdir(tmp_path / "w", shared, {"refit": {"psfs": [str(tmp_path / "star.fits")]}})
    run = snakemake(work, "-n")
    assert run.returncode != 0
    assert f"refit.psfs: {tmp_path / 'star.fits'}: not found" in run.stdout + run.stderr
    fits.writeto(tmp_path / "star.fits", np.zeros((9, 9)))
    run = snakemake(work, "-n")
    assert run.returncode != 0 and f"refit.psfs: {tmp_path / 'star.fits'}: not a PSF" in run.stdout + run.stderr
    # A frame without GAIN cannot carry the model's photon noise.
    data, header = fits.getdata(shared("decals-coolj0112", "org_data_example.fits"), header=True)
    del header["GAIN"]
    fits.writeto(tmp_path / "frame.fits", data, header)
    work = make_workdir(tmp_path / "g", shared, {"refit": {"source_noise": True}}, extra_columns={"image": str(tmp_path / "frame.fits")})
    run = snakemake(work, "-n")
    assert run.returncode != 0 and f"{tmp_path / 'frame.fits'}: GAIN: absent; refit.source_noise needs" in run.stdout + run.stderr
