"""The coverage benchmark end to end, small: 2 trials of 2 windows in each mode.

Real Snakemake runs of the workflow.  Real mode uses the GALFIT stand-in engine (the
``--engine galfit --galfit PATH`` path; the embedded engine runs the demo).  Every number in
the tables is checked against values recomputed here from raw files: the truth from the
GALFIT block's header strings or the demo's truth.tsv, the original from the user's image
block, σ from each trial's uncertainties.tsv, and z and the coverage fractions from
coverage.tsv's own raw columns.
"""

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from astropy.io import fits

from galfit_unc.skysearch import psf_fwhm, source_mask
from standins.harness import REPO, engine
from test_workflow_e2e import header_object_mags as header_mags
from test_workflow_e2e import objects_of as comp_objects

SMALL = ["--windows", "2", "--set", "windows.min_windows=2", "--set", "stats.min_ok_windows=2"]
# A smaller demo frame with fewer field sources keeps the demo trials cheap.
SMALL_DEMO = ["--set", "demo.size=320", "--set", "demo.n_galaxies=20", "--set", "demo.n_stars=8"]


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_coverage", REPO / "benchmarks" / "bench_coverage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench(*args) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(REPO / "benchmarks" / "bench_coverage.py"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1200)


def read_tsv(path):
    """Rows of a TSV after its `#` lines, as dicts of strings."""
    lines = [ln for ln in Path(path).read_text().splitlines() if ln and not ln.startswith("#")]
    header = lines[0].split("\t")
    return [dict(zip(header, ln.split("\t"))) for ln in lines[1:]]


def check_tables(out, trials):
    """z from the raw columns; summary rows recomputed from coverage.tsv's z."""
    rows = read_tsv(out / "coverage.tsv")
    assert {int(r["trial"]) for r in rows} == set(range(trials))
    for r in rows:
        z = (float(r["original"]) - float(r["truth"])) / float(r["sigma"])
        assert float(r["z"]) == pytest.approx(z, rel=1e-4, abs=1e-4)
    summary = {r["object"]: r for r in read_tsv(out / "summary.tsv")}
    objects = list(dict.fromkeys(r["object"] for r in rows))
    assert list(summary) == [*objects, "all", "no warning", "warning"]
    groups = {obj: [r for r in rows if r["object"] == obj] for obj in objects}
    groups["all"] = rows
    groups["no warning"] = [r for r in rows if not r["unc_warning"]]
    groups["warning"] = [r for r in rows if r["unc_warning"]]
    for name, chosen in groups.items():
        z = np.array([float(r["z"]) for r in chosen])
        s = summary[name]
        if not z.size:
            assert s["n"] == "0" and s["rms_z"] == "nan", s
            continue
        assert int(s["n"]) == z.size
        assert float(s["cover1"]) == pytest.approx(np.mean(np.abs(z) <= 1), abs=1e-6)
        assert float(s["cover2"]) == pytest.approx(np.mean(np.abs(z) <= 2), abs=1e-6)
        assert float(s["mean_z"]) == pytest.approx(z.mean(), rel=1e-4, abs=1e-5)
        assert float(s["rms_z"]) == pytest.approx(math.sqrt(np.mean(z**2)), rel=1e-4)
        assert float(s["rms_z_p16"]) <= float(s["rms_z_p84"])
    assert (out / "coverage.png").read_bytes()[:4] == b"\x89PNG"
    return rows


def check_sigma(rows, results_of):
    """σ of every row is the default headline: the rms of that trial's re-fit magnitudes
    (magnitudes.tsv, 4 decimals) about the original's."""
    for r in rows:
        mags = read_tsv(results_of(int(r["trial"])) / "magnitudes.tsv")
        column = f"obj_{r['object']}"
        original = float(next(m for m in mags if m["window"] == "original")[column])
        refits = np.array([float(m[column]) for m in mags if m["status"] in ("ok", "flagged")])
        assert float(r["sigma"]) == pytest.approx(math.sqrt(np.mean((refits - original) ** 2)), rel=2e-3, abs=2e-4)


def test_parse_set():
    bench_module = load_bench()
    assert bench_module.parse_set(["refit.start=user", "refit.source_noise=true", "windows.max_overlap=0.75", "stats.sigma=robust"]) == {
        "refit": {"start": "user", "source_noise": True},
        "windows": {"max_overlap": 0.75},
        "stats": {"sigma": "robust"},
    }
    with pytest.raises(bench_module.BenchError, match="KEY=VALUE"):
        bench_module.parse_set(["refit.start"])


def test_real_mode(shared, tmp_path):
    data = shared("decals-coolj0112")
    out = tmp_path / "real"
    args = ["--mode", "real", "--trials", "2", "--seed", "3", *SMALL, "--engine", "galfit", "--galfit", engine(tmp_path, "galfit_like"), "--data", str(data), "--out", str(out)]
    run = bench(*args)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("elapsed") == 2 and "load" in run.stdout
    rows = check_tables(out, 2)
    comp_ident = comp_objects(data / "comp_ident_example.txt")
    truth = header_mags(data / "galfit_output_example.fits", comp_ident)
    assert {r["object"] for r in rows} == set(comp_ident.values())
    frame = fits.getdata(data / "org_data_example.fits").astype(float)
    group = fits.getheader(data / "galfit_output_example.fits", 2)["FITSECT"]
    gx1, gx2, gy1, gy2 = (int(v) for v in group.strip("[]").replace(",", ":").split(":"))
    windows = []
    for k in range(2):
        trial = out / f"trial_{k:03d}"
        block = trial / "input" / "userfit" / "imgblock.fits"
        original = header_mags(block, comp_ident)
        for r in (r for r in rows if int(r["trial"]) == k):
            assert float(r["truth"]) == pytest.approx(truth[r["object"]], abs=1e-5)
            assert float(r["original"]) == pytest.approx(original[r["object"]], abs=1e-5)
        # The observation differs from the frame only inside the trial's window, by about
        # the injected light (its Poisson noise averages out over the window).
        wx1, wx2, wy1, wy2 = (int(v) for v in fits.getheader(block, 2)["FITSECT"].strip("[]").replace(",", ":").split(":"))
        windows.append((wx1, wy1))
        diff = fits.getdata(trial / "input" / "observation.fits").astype(float) - frame
        inside = np.zeros(diff.shape, bool)
        inside[wy1 - 1 : wy2, wx1 - 1 : wx2] = True
        assert np.all(np.abs(diff[~inside]) < 1e-3)
        # (The fitted sky, -0.23 ADU a pixel, is 0.6 % of the light: whether it is taken out does not matter here.)
        light = fits.getdata(data / "galfit_output_example.fits", 2).astype(float)
        assert diff[inside].sum() == pytest.approx(light.sum(), rel=0.02)
        # Trial windows avoid the real group; the workflow's windows avoid both it and the trial window.
        assert wx2 < gx1 or wx1 > gx2 or wy2 < gy1 or wy1 > gy2
        for reg in read_tsv(trial / "results" / "trial" / "z" / "windows.tsv"):
            x1, x2, y1, y2 = (int(reg[c]) for c in ("x1", "x2", "y1", "y2"))
            shared_px = max(0, min(x2, gx2) - max(x1, gx1) + 1) * max(0, min(y2, gy2) - max(y1, gy1) + 1)
            assert shared_px < 0.005 * (x2 - x1 + 1) * (y2 - y1 + 1)
            assert x2 < wx1 or x1 > wx2 or y2 < wy1 or y1 > wy2
        # The user's start is the truth perturbed within the documented ranges.
        start = (trial / "input" / "start.gal").read_text()
        mags = [float(ln.split()[1]) for ln in start.splitlines() if ln.strip().startswith("3) ")]
        true_mags = [float(str(fits.getheader(data / "galfit_output_example.fits", 2)[f"{c}_MAG"]).split()[0]) for c in range(1, 24)]
        offsets = np.array(mags[:23]) - np.array(true_mags)
        assert np.all(np.abs(offsets) <= 0.3 + 1e-9) and np.std(offsets) > 0.05
    assert windows[0] != windows[1]
    check_sigma(rows, lambda k: out / f"trial_{k:03d}" / "results" / "trial" / "z")

    # Finished trials are not rerun; other settings in the same folder are refused.
    again = bench(*args)
    assert again.returncode == 0 and again.stdout.count("(done before)") == 2
    other = bench(*args[:5], "4", *args[6:])
    assert other.returncode == 1 and "settings.json: settings: seed differ" in other.stderr


def test_demo_mode(tmp_path):
    out = tmp_path / "demo"
    run = bench("--mode", "demo", "--trials", "2", "--seed", "5", *SMALL, *SMALL_DEMO, "--out", str(out))
    assert run.returncode == 0, run.stderr[-3000:]
    rows = check_tables(out, 2)
    assert sorted({r["object"] for r in rows}) == ["A", "B", "C"]
    for k in range(2):
        inputs = out / f"trial_{k:03d}" / "results" / "demo" / "z" / "input"
        assert f"# seed: {5 + k}\n" in (inputs / "truth.tsv").read_text()
        comps = [r for r in read_tsv(inputs / "truth.tsv") if r["type"] != "object"]
        flux = {}
        for c in comps:
            flux[c["object"]] = flux.get(c["object"], 0.0) + 10 ** (-0.4 * float(c["mag"]))
        original = header_mags(inputs / "imgblock.fits", comp_objects(inputs / "comp_ident.txt"))
        for r in (r for r in rows if int(r["trial"]) == k):
            assert float(r["truth"]) == pytest.approx(-2.5 * math.log10(flux[r["object"]]), abs=1e-5)
            assert float(r["original"]) == pytest.approx(original[r["object"]], abs=1e-5)
    check_sigma(rows, lambda k: out / f"trial_{k:03d}" / "results" / "demo" / "z")

    # --retable re-makes the tables from the same fits: a row spoiled in a trial's record
    # comes back from the tables, and no window is fitted again.
    record_path = out / "trial_000" / "trial.json"
    record = json.loads(record_path.read_text())
    record["rows"][0]["unc_warning"] = "spoiled"
    record_path.write_text(json.dumps(record))
    fits_before = {p: p.stat().st_mtime_ns for p in (out / "trial_000" / "results").rglob("status.json")}
    rerun = bench("--mode", "demo", "--trials", "2", "--seed", "5", *SMALL, *SMALL_DEMO, "--out", str(out), "--retable")
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert fits_before and {p: p.stat().st_mtime_ns for p in fits_before} == fits_before
    assert check_tables(out, 2) == rows


def test_crashed_user_fit_is_a_skipped_trial(shared, tmp_path):
    """GALFIT can exit 0 without an output block: that trial is recorded as skipped (no
    workflow run, no rows) and stays finished on the next run."""
    out = tmp_path / "crash"
    args = ["--mode", "real", "--trials", "1", *SMALL, "--engine", "galfit", "--galfit", engine(tmp_path, "crash_exit0"), "--data", str(shared("decals-coolj0112")), "--out", str(out)]
    run = bench(*args)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "skipped (user fit failed: no output block imgblock.fits" in run.stdout
    assert not (out / "trial_000" / "results").exists()
    assert read_tsv(out / "coverage.tsv") == []
    assert [(r["object"], r["n"]) for r in read_tsv(out / "summary.tsv")] == [("all", "0"), ("no warning", "0"), ("warning", "0")]
    assert "# trials used: 0\n" in (out / "summary.tsv").read_text()
    assert "(done before)" in bench(*args).stdout


def test_user_mask_of_the_window_sources(shared, tmp_path):
    """--user-mask sources: the user's fit gets the frame's source mask as its F) (staged
    beside its input file); the folder's settings record it, and the demo refuses it."""
    data = shared("decals-coolj0112")
    out = tmp_path / "masked"
    args = ["--mode", "real", "--trials", "1", *SMALL, "--engine", "galfit", "--galfit", engine(tmp_path, "crash_exit0"), "--data", str(data), "--out", str(out)]
    run = bench(*args, "--user-mask", "sources")
    assert run.returncode == 0, run.stderr[-3000:]
    inputs = out / "trial_000" / "input"
    assert "F) usermask.fits " in (inputs / "start.gal").read_text()
    assert (inputs / "userfit" / "usermask.fits").read_bytes() == (inputs / "usermask.fits").read_bytes()
    # The workflow's default source mask of the frame (PSF-smoothed detection, grown).
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["mask"]
    psf = fits.getdata(data / "psf_example.fits").astype(float)
    expected = source_mask(
        fits.getdata(data / "org_data_example.fits").astype(float), nsigma=config["nsigma"], clip_sigma=config["clip_sigma"],
        clip_iters=config["clip_iters"], psf=psf, min_area=config["min_area"], grow=config["grow"] * psf_fwhm(psf),
    )
    mask = fits.getdata(inputs / "usermask.fits")
    x1, x2, y1, y2 = (int(v) for v in next(ln for ln in (inputs / "start.gal").read_text().splitlines() if ln.startswith("H)")).split()[1:5])
    assert np.array_equal(mask.astype(bool), expected) and mask[y1 - 1 : y2, x1 - 1 : x2].any()
    assert json.loads((out / "settings.json").read_text())["user_mask"] == "sources"
    assert "settings: user_mask differ" in bench(*args).stderr
    demo = bench("--mode", "demo", "--trials", "1", "--user-mask", "sources", "--out", str(tmp_path / "demo"))
    assert demo.returncode == 2 and "--user-mask is for --mode real" in demo.stderr


def write_run(folder, settings, zs):
    """A finished run's settings.json and coverage.tsv with the given z per (trial, object)."""
    folder.mkdir(parents=True)
    (folder / "settings.json").write_text(json.dumps(settings))
    lines = ["# mode: x", "trial\tobject\ttruth\toriginal\tsigma\tz\tunc_warning"]
    for (trial, obj), z in zs.items():
        warn = "some warning" if obj == "B" else ""
        lines.append(f"{trial}\t{obj}\t20\t{20 + 0.1 * z}\t0.1\t{z}\t{warn}")
    (folder / "coverage.tsv").write_text("\n".join(lines) + "\n")


def test_pool_coverage(tmp_path):
    settings = {"mode": "demo", "seed": 13, "windows": 20, "engine": "embedded", "galfit": "galfit", "set": [], "data": None}
    one = {(0, "A"): 0.5, (0, "B"): -1.5, (1, "A"): 2.5, (1, "B"): 0.0}
    two = {(0, "A"): -1.0, (0, "B"): 1.0}
    write_run(tmp_path / "s13", settings, one)
    write_run(tmp_path / "s25", {**settings, "seed": 25}, two)
    script = [sys.executable, str(REPO / "benchmarks" / "pool_coverage.py")]
    run = subprocess.run([*script, str(tmp_path / "s13"), str(tmp_path / "s25")], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("2 runs (seed 13, seed 25), 3 trials, 6 rows")
    table = {ln.split("|")[1].strip(): [c.strip() for c in ln.split("|")[2:-1]] for ln in run.stdout.splitlines() if ln.startswith("| ")}
    # A: z 0.5, 2.5, -1.0: 2 of 3 within 1 and within 2, mean 2/3, s.d. 1.756 -> s.e. 1.014,
    # rms sqrt(7.5 / 3) = 1.58; run 13 alone sqrt(6.5 / 2) = 1.80, run 25 1.00.
    assert table["A"][:4] == ["3", "66.7%", "66.7%", "+0.67 (1.01)"]
    assert table["A"][4].startswith("1.58 (") and table["A"][5] == "1.80 / 1.00"
    # All six rows: z^2 sums to 0.25 + 2.25 + 6.25 + 0 + 1 + 1 = 10.75.
    assert table["all"][0] == "6" and table["all"][4].startswith(f"{math.sqrt(10.75 / 6):.2f} (")
    assert table["warning"][0] == "3" and table["warning"][5] == f"{math.sqrt(2.25 / 2):.2f} / 1.00"
    # Runs of other settings are not pooled.
    write_run(tmp_path / "real", {**settings, "mode": "real"}, two)
    mixed = subprocess.run([*script, str(tmp_path / "s13"), str(tmp_path / "real")], capture_output=True, text=True)
    assert mixed.returncode == 1 and "settings: mode differ" in mixed.stderr and mixed.stdout == ""
