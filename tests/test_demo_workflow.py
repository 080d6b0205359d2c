"""End to end: the workflow on the built-in demo, as the README runs it, with few windows.

One real ``snakemake --cores 2`` run in a copy of the configuration (``regions.max_regions``
12): every output is written, the original fit's error is within 3 reported sigmas for
every object, and a second run has nothing to do.  Twelve windows, not fewer: sigma is a
standard deviation of the re-fits, and with 5 degrees of freedom even a perfect method
would exceed 3 sigma for one of three objects about one time in ten (Student t).
"""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from galfit_unc.photometry import read_table

ROOT = Path(__file__).resolve().parents[1]
OUTPUTS = (
    "regions.tsv",
    "magnitudes.tsv",
    "uncertainties.tsv",
    "parameters.tsv",
    "model.reg",
    "model_fk5.reg",
    "sky_regions.png",
    "magnitudes.png",
    "check.txt",
    "demo_truth.tsv",
)
MAX_REGIONS = 12


def snakemake(workdir, *args):
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--directory", str(workdir), "-s", str(ROOT / "Snakefile"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1200, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo-workflow")
    (workdir / "config").mkdir()
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["regions"]["max_regions"] = MAX_REGIONS
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    (workdir / "config" / "targets.tsv").write_text((ROOT / "config" / "targets.tsv").read_text())
    proc = snakemake(workdir)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir


def test_demo_writes_every_output(demo_run):
    results = demo_run / "results" / "demo" / "z"
    missing = [name for name in OUTPUTS if not (results / name).is_file()]
    assert missing == []
    regions, _ = read_table(results / "regions.tsv")
    assert 5 <= len(regions) <= MAX_REGIONS


def test_demo_error_is_within_three_reported_sigmas(demo_run):
    rows, _ = read_table(demo_run / "results" / "demo" / "z" / "demo_truth.tsv")
    assert sorted(r["object"] for r in rows) == ["A", "B", "C"]
    for r in rows:
        assert r["sigma"] > 0, r
        assert abs(r["error"] / r["sigma"]) <= 3.0, r


def test_rerun_has_nothing_to_do(demo_run):
    proc = snakemake(demo_run)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "Nothing to be done" in proc.stdout + proc.stderr
