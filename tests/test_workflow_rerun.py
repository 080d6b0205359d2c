"""Incremental reruns: a changed setting reruns exactly the rules that use it.

One complete run (stand-in GALFIT engine, 3 windows) is copied for each test, one value is
changed, the workflow runs again, and file modification times show what was rewritten.
"""

import shutil

import pytest
import yaml

from standins.harness import engine, make_workdir, merge, out, snakemake

# Cleanest-first windows: a wider max_overlap then changes which 3 windows are kept (farthest-point
# windows on this frame are far apart either way).  Cleaning seed 2: the stand-in flags one of
# these 3 fits (it flags by the data's checksum), as test_use_flagged_reruns_only_tables needs.
BASE = {"windows": {"max_windows": 3, "min_windows": 2, "spread": False}, "cleaning": {"seed": 2}, "stats": {"min_ok_windows": 1}}


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    from conftest import shared_path

    tmp = tmp_path_factory.mktemp("rerun")
    work = make_workdir(tmp / "base", shared_path, {**BASE, "fitter": {"engine": "galfit", "galfit": engine(tmp, "galfit_like")}})
    run = snakemake(work)
    assert run.returncode == 0, run.stderr[-3000:]
    return work


def files(work):
    """Every output file -> modification time (ns)."""
    return {p.relative_to(work): p.stat().st_mtime_ns for p in (work / "results").rglob("*") if p.is_file()}


def rerun(base, tmp_path, changes):
    work = tmp_path / "w"
    shutil.copytree(base, work, symlinks=True)  # copy2 keeps modification times
    config = yaml.safe_load((work / "config.yaml").read_text())
    (work / "config.yaml").write_text(yaml.safe_dump(merge(config, changes)))
    before = files(work)
    run = snakemake(work)
    assert run.returncode == 0, run.stderr[-3000:]
    after = files(work)
    rewritten = {str(p) for p in before if after.get(p) != before[p]}
    new = {str(p) for p in after if p not in before}
    return work, rewritten, new


def names(paths):
    """Paths without the results/cool/z/ prefix; per-window files as windows/*/<name>;
    files outside results/cool/z/ (the all-targets summary) keep their full path."""
    out_ = set()
    for p in paths:
        if not p.startswith("results/cool/z/"):
            out_.add(p)
            continue
        parts = p.split("/")[3:]
        out_.add("/".join(["windows", "*", *parts[2:]]) if parts[0] == "windows" else "/".join(parts))
    return out_


TABLES = {"magnitudes.tsv", "uncertainties.tsv", "parameters.tsv", "check.txt", "magnitudes.png", "results/summary.tsv"}


def test_kernel_sigmas_reruns_cutout_onward(base_run, tmp_path):
    _, rewritten, new = rerun(base_run, tmp_path, {"cleaning": {"kernel_sigmas": [6, 3]}})
    per_region = {"windows/*/sky.fits", "windows/*/injected.fits", "windows/*/fit.gal", "windows/*/status.json"}
    assert per_region | TABLES <= names(rewritten) | names(new)
    untouched = {"mask.fits", "windows.tsv", "galaxy.fits", "model.reg", "model_fk5.reg", "sky_windows.png"}
    assert untouched.isdisjoint(names(rewritten))


def test_max_overlap_reruns_regions_not_mask(base_run, tmp_path):
    before = [ln.split("\t")[0] for ln in out(base_run, "windows.tsv").read_text().splitlines() if ln.startswith("x")]
    work, rewritten, new = rerun(base_run, tmp_path, {"windows": {"max_overlap": 0.9}})
    after = [ln.split("\t")[0] for ln in out(work, "windows.tsv").read_text().splitlines() if ln.startswith("x")]
    assert after != before
    assert {"windows.tsv", "sky_windows.png"} | TABLES <= names(rewritten)
    assert "mask.fits" not in names(rewritten)
    # A window selected both times keeps its cutout and fit; a new one gets its own.
    for region in set(before) & set(after):
        assert f"results/cool/z/windows/{region}/status.json" not in rewritten
    for region in set(after) - set(before):
        assert f"results/cool/z/windows/{region}/status.json" in new


def test_max_regions_adds_fits_without_redoing_others(base_run, tmp_path):
    work, rewritten, new = rerun(base_run, tmp_path, {"windows": {"max_windows": 4}})
    regions = [ln.split("\t")[0] for ln in out(work, "windows.tsv").read_text().splitlines() if ln.startswith("x")]
    assert len(regions) == 4
    status = {f"results/cool/z/windows/{r}/status.json" for r in regions}
    assert len(status & new) == 1 and not status & rewritten


def test_use_flagged_reruns_only_tables(base_run, tmp_path):
    statuses = [ln.split("\t")[1] for ln in out(base_run, "magnitudes.tsv").read_text().splitlines() if ln.startswith("x")]
    assert "ok" in statuses and "flagged" in statuses, f"the stand-in should give ok and flagged fits here: {statuses}"
    work, rewritten, new = rerun(base_run, tmp_path, {"stats": {"use_flagged": False}})
    assert names(rewritten) == TABLES and not new
    n_used = {ln.split("\t")[2] for ln in out(work, "uncertainties.tsv").read_text().splitlines() if ln and ln[0].isdigit()}
    assert n_used == {str(statuses.count("ok"))}


def test_regfile_frame_reruns_only_region_files(base_run, tmp_path):
    work, rewritten, new = rerun(base_run, tmp_path, {"regfile": {"frame": "cutout"}})
    assert names(rewritten) == {"model.reg", "model_fk5.reg"} and not new
    box = next(ln for ln in out(work, "model.reg").read_text().splitlines() if ln.startswith("box"))
    # The fitted region [220:315,213:290] is the whole cutout: centred at (48.5, 39.5).
    x, y, w, h = (float(v) for v in box[4:].split(")")[0].split(",")[:4])
    assert (x, y, w, h) == (48.5, 39.5, 96.0, 78.0)


def test_batch_regions_regroups_without_refitting(base_run, tmp_path):
    work, rewritten, new = rerun(base_run, tmp_path, {"batch": {"windows": 1}})
    regions = [ln.split("\t")[0] for ln in out(work, "windows.tsv").read_text().splitlines() if ln.startswith("x")]
    kept = {f"results/cool/z/windows/{r}/{name}" for r in regions for name in ("sky.fits", "injected.fits", "status.json", "done.json")}
    assert not kept & (rewritten | new)
    assert {f"results/cool/z/batches/b{k:03d}.json" for k in range(len(regions))} <= rewritten | new
    for name in ("magnitudes.tsv", "uncertainties.tsv", "parameters.tsv"):
        assert out(work, name).read_bytes() == out(base_run, name).read_bytes(), name
