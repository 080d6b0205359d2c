"""Fits that crash, fail, hang or come back flagged: the workflow still finishes, every
region's status and reason is in magnitudes.tsv, the statistics use only the usable fits,
no engine process outlives its timeout, and stats.min_ok_windows is enforced."""

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_path
from faults.common import error_line, small_config, text
from faults.engine import install
from standins.harness import make_workdir, out, snakemake, write_config

#: One behaviour per window, in windows.tsv order, and what magnitudes.tsv must say of it.
PLAN = {
    "ok": ("ok", ""),
    "crash0": ("failed", "no output block output.fits (engine exit status 0): Doh! GALFIT crashed because"),
    "exit3": ("failed", "exit status 3: stand-in engine: failing on purpose"),
    "hang": ("failed", "timeout after 15 s (process group killed)"),
    "garbage": ("failed", "unreadable output block"),
    "flagged": ("flagged", "FLAGS 1 (iteration limit)"),
    "suspect": ("flagged", "suspect"),
}
USABLE = 3  # ok, flagged and suspect, with stats.use_flagged true


def read_tsv(path):
    """Rows of a workflow table as dicts of text, read here without the library."""
    lines = [ln for ln in Path(path).read_text().splitlines() if not ln.startswith("#")]
    return list(csv.DictReader(lines, delimiter="\t"))


def alive(pid) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its parent counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    work = tmp_path_factory.mktemp("faults") / "w"
    work.mkdir()
    config = small_config(work, install(work, plan=",".join(PLAN)), fitter={"timeout": 15},
                          windows={"max_windows": len(PLAN), "min_windows": len(PLAN)}, stats={"min_ok_windows": USABLE})
    make_workdir(work, shared_path, config)
    return work, config, snakemake(work)


def test_workflow_finishes_despite_faults(faulty):
    work, _, run = faulty
    assert run.returncode == 0, text(run)[-3000:]
    assert out(work, "check.txt").exists()


def test_every_region_has_its_status_and_reason(faulty):
    work, _, _ = faulty
    regions = [r["window"] for r in read_tsv(out(work, "windows.tsv"))]
    rows = {r["window"]: r for r in read_tsv(out(work, "magnitudes.tsv"))}
    assert list(rows)[0] == "original" and list(rows)[1:] == regions
    for region, (status, reason) in zip(regions, PLAN.values()):
        assert rows[region]["status"] == status, rows[region]
        assert reason in rows[region]["reason"], rows[region]
        objects = [k for k in rows[region] if k.startswith("obj_")]
        values = [rows[region][k] for k in objects]
        if status == "failed":
            assert all(v == "nan" for v in values), rows[region]
        else:
            assert all(np.isfinite(float(v)) for v in values), rows[region]


def test_statistics_come_from_usable_fits(faulty):
    work, _, _ = faulty
    mags = read_tsv(out(work, "magnitudes.tsv"))
    usable = [r for r in mags[1:] if r["status"] in ("ok", "flagged")]
    assert len(usable) == USABLE
    stats = {r["object"]: r for r in read_tsv(out(work, "uncertainties.tsv"))}
    objects = [k for k in mags[0] if k.startswith("obj_")]
    assert objects and len(stats) == len(objects)
    for column in objects:
        values = np.array([float(r[column]) for r in usable])
        row = stats[column[len("obj_"):]]
        assert int(row["n_used"]) == USABLE
        assert float(row["median"]) == pytest.approx(np.median(values), abs=1e-4)
        assert float(row["std"]) == pytest.approx(np.std(values, ddof=1), abs=1e-4)


def test_hung_engine_and_its_child_are_killed(faulty):
    work, _, _ = faulty
    hung = list(PLAN).index("hang")
    region = read_tsv(out(work, "windows.tsv"))[hung]["window"]
    pids = (out(work, "windows", region, "fit") / "hang.pids").read_text().split()
    assert pids
    for pid in map(int, pids):
        assert not alive(pid), f"process {pid} of the hung engine is still running"


def test_min_ok_regions_is_enforced(faulty):
    work, config, _ = faulty
    config["stats"]["min_ok_windows"] = USABLE + 1
    write_config(work, {**config, "targets": "targets.tsv"})
    run = snakemake(work)
    assert run.returncode != 0
    line = error_line(run, "uncertainties.tsv", "min_ok_windows")
    assert f"only {USABLE} usable re-fits" in line and f"min_ok_windows is {USABLE + 1}" in line, line
    # Four windows failed, each for its own reason: the three first named, one each.
    assert "most common reasons in results/cool/z/magnitudes.tsv: 1 x no output block output.fits" in line and line.count("1 x ") == 3, line
    assert not out(work, "check.txt").exists()
    # The evidence stays: the tables say why the other fits failed.
    assert out(work, "magnitudes.tsv").exists() and out(work, "uncertainties.tsv").exists()
    assert os.path.getsize(out(work, "magnitudes.tsv")) > 0
