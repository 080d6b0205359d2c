"""The workflow end to end on the shared DECaLS case, with stand-in engines and the
embedded one: every output, magnitudes that match the output blocks, failures as data."""

import math
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from galfit_unc.galfit_files import read_fit_header
from galfit_unc.tables import read_table
from standins.harness import REPO, engine, make_workdir, out, snakemake

FINAL = ["windows.tsv", "magnitudes.tsv", "uncertainties.tsv", "parameters.tsv", "model.reg", "model_fk5.reg", "sky_windows.png", "magnitudes.png", "check.txt"]
SMALL = {"windows": {"max_windows": 3, "min_windows": 2}, "stats": {"min_ok_windows": 2}}


def objects_of(comp_ident_path):
    """component -> object from the comp_ident file, read here independently of the library."""
    pairs = [ln.split()[:2] for ln in Path(comp_ident_path).read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    return {int(c): o for c, o in pairs}


def header_object_mags(block, comp_ident):
    """Per-object magnitudes from the raw HDU2 strings: m = -2.5 log10 sum 10^(-0.4 m_i)."""
    header = fits.getheader(block, 2)
    flux = {}
    for comp, obj in comp_ident.items():
        raw = str(header[f"{comp}_MAG"]).split("+/-")[0].strip("[]{}* ")
        flux[obj] = flux.get(obj, 0.0) + 10 ** (-0.4 * float(raw))
    return {obj: -2.5 * math.log10(f) for obj, f in flux.items()}


def check_magnitudes(workdir, comp_ident_path):
    rows, comments = read_table(out(workdir, "magnitudes.tsv"))
    comp_ident = objects_of(comp_ident_path)
    assert rows[0]["window"] == "original"
    regions = [r for r in rows[1:]]
    listed = [ln.split("\t")[0] for ln in out(workdir, "windows.tsv").read_text().splitlines() if ln and not ln.startswith(("#", "window"))]
    assert [r["window"] for r in regions] == listed
    for r in regions:
        assert r["status"] in ("ok", "flagged")
        expected = header_object_mags(out(workdir, "windows", r["window"], "fit", "output.fits"), comp_ident)
        for obj, mag in expected.items():
            assert r[f"obj_{obj}"] == pytest.approx(mag, abs=6e-5), (r["window"], obj)
    unc, _ = read_table(out(workdir, "uncertainties.tsv"))
    assert len(unc) == len(set(comp_ident.values()))
    for u in unc:
        assert u["std"] > 0 and u["n_used"] == len(regions)
        column = [r[f"obj_{str(u['object']).removesuffix('.0')}"] for r in regions]
        assert u["std"] == pytest.approx(np.std(column, ddof=1), abs=1e-4)
    return rows, comments


def test_galfit_engine_end_to_end(shared, tmp_path):
    work = make_workdir(tmp_path / "w", shared, {**SMALL, "fitter": {"engine": "galfit", "galfit": engine(tmp_path, "galfit_like")}})
    run = snakemake(work)
    assert run.returncode == 0, run.stderr[-3000:]
    for name in FINAL:
        assert out(work, name).stat().st_size > 0, name
    rows, comments = check_magnitudes(work, shared("decals-coolj0112", "comp_ident_example.txt"))
    assert comments["engine"] == "galfit" and comments["windows"] == "3" and comments["cleaning.seed"] == "12345"
    for r in rows[1:]:
        region = out(work, "windows", r["window"])
        assert {"sky.fits", "injected.fits", "fit.gal", "status.json", "fit"} <= {p.name for p in region.iterdir()}
        # The re-fit's input names staged files only, with the original's constraints.
        gal = (region / "fit" / "fit.gal").read_text()
        assert "A) injected.fits" in gal and "G) constraints.txt" in gal and "H) 1 96 1 78" in gal.replace("  ", " ")
    assert sum(ln.startswith("ellipse") for ln in out(work, "model.reg").read_text().splitlines()) == 23
    assert Path(work, "logs", "cool", "z", "mask.log").exists()
    # Nothing left to do after a complete run.
    assert "Nothing to be done" in snakemake(work, "-n").stdout


def test_failures_are_data(shared, tmp_path):
    """A crashing engine (exit 0, no output) fails no fit job: the tables record it and
    only the separate check fails, with the reason."""
    work = make_workdir(tmp_path / "w", shared, {**SMALL, "fitter": {"engine": "galfit", "galfit": engine(tmp_path, "crash_exit0")}})
    run = snakemake(work)
    assert run.returncode != 0
    assert "n_used: only 0 usable re-fits, stats.min_ok_windows is 2" in run.stderr
    # The end of the run names the reason, with its count and GALFIT's own words.
    assert "most common reasons in results/cool/z/magnitudes.tsv: 3 x no output block output.fits (engine exit status 0): Doh! GALFIT crashed because at least one of the model parameters is bad." in run.stderr
    assert "Error in rule check" in run.stderr and "Error in rule fit" not in run.stderr
    rows, comments = read_table(out(work, "magnitudes.tsv"))
    assert comments["failed"] == "3" and comments["ok"] == "0"
    for r in rows[1:]:
        assert r["status"] == "failed" and r["reason"].startswith("no output block output.fits")
        assert math.isnan(r["obj_1"])
    assert out(work, "uncertainties.tsv").exists() and not out(work, "check.txt").exists()


def test_timeout_is_data(shared, tmp_path):
    work = make_workdir(tmp_path / "w", shared, {"windows": {"max_windows": 2, "min_windows": 2}, "fitter": {"engine": "galfit", "galfit": engine(tmp_path, "hang"), "timeout": 2}})
    run = snakemake(work, str(out(".", "magnitudes.tsv")))
    assert run.returncode == 0, run.stderr[-3000:]
    rows, _ = read_table(out(work, "magnitudes.tsv"))
    assert [r["reason"] for r in rows[1:]] == ["timeout after 2 s (process group killed)"] * 2


def test_mask_and_sigma_columns(shared, tmp_path):
    """User bad-pixel mask and sigma image: masked in the frame mask, cut per window and
    named in each re-fit's F) and C)."""
    frame = fits.getdata(shared("decals-coolj0112", "org_data_example.fits"))
    bad = np.zeros(frame.shape[-2:], np.uint8)
    bad[:, 500:] = 1
    sigma = np.full(frame.shape[-2:], 7.0, np.float32)
    fits.writeto(tmp_path / "bad.fits", bad)
    fits.writeto(tmp_path / "sigma.fits", sigma)
    work = make_workdir(
        tmp_path / "w", shared, {**SMALL, "fitter": {"engine": "galfit", "galfit": engine(tmp_path, "galfit_like")}},
        extra_columns={"mask": str(tmp_path / "bad.fits"), "sigma": str(tmp_path / "sigma.fits"), "sky_in_model": "no"},
    )
    run = snakemake(work, str(out(".", "magnitudes.tsv")))
    assert run.returncode == 0, run.stderr[-3000:]
    assert fits.getdata(out(work, "mask.fits"))[:, 500:].all()
    assert fits.getheader(out(work, "galaxy.fits"))["SKYINMOD"] is False
    regions = [ln.split("\t") for ln in out(work, "windows.tsv").read_text().splitlines() if ln and not ln.startswith(("#", "window"))]
    for region, x1, x2, y1, y2, *_ in regions:
        fit = out(work, "windows", region, "fit")
        gal = (fit / "fit.gal").read_text()
        assert "C) badpix.fits" not in gal and "F) badpix.fits" in gal and "C) sigma.fits" in gal
        cut = fits.getdata(fit / "badpix.fits")
        assert np.array_equal(cut, bad[int(y1) - 1 : int(y2), int(x1) - 1 : int(x2)])
        assert fits.getdata(fit / "sigma.fits").shape == cut.shape


def test_bad_config_value_names_key(shared, tmp_path):
    work = make_workdir(tmp_path / "w", shared, {"windows": {"max_overlap": 1.5}})
    run = snakemake(work, "-n")
    assert run.returncode != 0
    assert "windows.max_overlap: 1.5 is greater than the maximum of 1" in run.stdout + run.stderr


def test_bad_targets_table_one_line(shared, tmp_path):
    work = make_workdir(tmp_path / "w", shared, {}, extra_columns={"feedme": str(tmp_path / "missing.gal")})
    run = snakemake(work, "-n")
    assert run.returncode != 0
    assert f"targets.tsv: target cool, band z: column 'feedme': file {tmp_path / 'missing.gal'} not found" in run.stdout + run.stderr


def test_lint_clean(shared, tmp_path):
    work = make_workdir(tmp_path / "w", shared, {})
    run = snakemake(work, "--lint")
    lints = [ln for ln in run.stdout.splitlines() + run.stderr.splitlines() if ln.startswith("Lints for")]
    assert run.returncode == 0 and lints == [], "\n".join(lints)


def test_embedded_engine_end_to_end(shared, tmp_path):
    work = make_workdir(tmp_path / "w", shared, {"windows": {"max_windows": 2, "min_windows": 2}, "stats": {"min_ok_windows": 2}, "fitter": {"engine": "embedded", "timeout": 300}})
    run = snakemake(work)
    assert run.returncode == 0, run.stderr[-3000:]
    for name in FINAL:
        assert out(work, name).stat().st_size > 0, name
    _, comments = check_magnitudes(work, shared("decals-coolj0112", "comp_ident_example.txt"))
    assert comments["engine"] == "embedded"
    for r in read_table(out(work, "magnitudes.tsv"))[0][1:]:
        assert read_fit_header(out(work, "windows", r["window"], "fit", "output.fits")).chi2nu == pytest.approx(r["chi2nu"], abs=1e-4)


def test_readme_documents_every_config_key():
    import yaml

    readme = (REPO / "README.md").read_text()
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    keys = [k for k, v in config.items() if not isinstance(v, dict)] + [f"{k}.{s}" for k, v in config.items() if isinstance(v, dict) for s in v]
    missing = [k for k in keys if f"`{k}`" not in readme]
    assert missing == []
