"""End to end: the workflow on the built-in demo, as the README runs it, with few windows.

A real ``snakemake --cores 2`` run per demo seed in a copy of the configuration
(``windows.max_windows`` 12): every output is written, a second run has nothing to do, and the
numbers are checked on both sides against what is known independently of the code:

* sigma is not too small: the original fit's error (its magnitude minus the demo's true one)
  is within 3 reported sigmas for every object.  Twelve windows, not fewer: sigma is a spread
  of the re-fits (their rms about the original), and from five re-fits even a perfect method
  would exceed 3 sigma for one of three objects about one time in ten (Student t);
* nor too large: over every object and seed the errors' root mean square in units of
  sigma is at least 1/3 (a sigma inflated three times or more fails; with only a few
  seeds, a smaller inflation cannot be told from chance);
* ``bias`` (median - original) is zero within 3 standard errors of a median
  (1.2533 sigma / sqrt(n)): the re-fits start from the injected model itself;
* ``n_used`` is the number of windows whose re-fit has a magnitude (every window, on the demo).
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from galfit_unc.tables import read_table

ROOT = Path(__file__).resolve().parents[1]
OUTPUTS = (
    "windows.tsv",
    "magnitudes.tsv",
    "uncertainties.tsv",
    "parameters.tsv",
    "model.reg",
    "model_fk5.reg",
    "sky_windows.png",
    "magnitudes.png",
    "check.txt",
    "demo_truth.tsv",
)
MAX_REGIONS = 12
#: The configuration's seed and one more: one demo run each.
SEEDS = (20211, 7)


def snakemake(workdir, *args):
    cmd = [sys.executable, "-m", "snakemake", "--cores", "2", "--directory", str(workdir), "-s", str(ROOT / "Snakefile"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1200, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    """Seed -> working directory of a complete demo run."""
    runs = {}
    for seed in SEEDS:
        workdir = tmp_path_factory.mktemp(f"demo-workflow-{seed}")
        (workdir / "config").mkdir()
        config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
        config["windows"]["max_windows"] = MAX_REGIONS
        config["demo"]["seed"] = seed
        (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
        (workdir / "config" / "targets.tsv").write_text((ROOT / "config" / "targets.tsv").read_text())
        proc = snakemake(workdir)
        assert proc.returncode == 0, proc.stderr[-4000:]
        runs[seed] = workdir
    return runs


def results(workdir, name):
    return workdir / "results" / "demo" / "z" / name


def test_demo_writes_every_output(demo_runs):
    for seed, workdir in demo_runs.items():
        missing = [name for name in OUTPUTS if not results(workdir, name).is_file()]
        assert missing == [], seed
        regions, _ = read_table(results(workdir, "windows.tsv"))
        assert 5 <= len(regions) <= MAX_REGIONS, seed


def test_demo_n_used_and_bias(demo_runs):
    for seed, workdir in demo_runs.items():
        regions, _ = read_table(results(workdir, "windows.tsv"))
        mags, _ = read_table(results(workdir, "magnitudes.tsv"))
        refits = [r for r in mags if r["window"] != "original"]
        assert sorted(r["window"] for r in refits) == sorted(r["window"] for r in regions), seed
        unc, _ = read_table(results(workdir, "uncertainties.tsv"))
        assert sorted(r["object"] for r in unc) == ["A", "B", "C"], seed
        for r in unc:
            values = np.array([m[f"obj_{r['object']}"] for m in refits if m["status"] in ("ok", "flagged")], dtype=float)
            values = values[np.isfinite(values)]
            assert r["n_used"] == values.size == len(regions), (seed, r)
            assert abs(r["bias"]) <= 3 * 1.2533 * r["std"] / np.sqrt(r["n_used"]), (seed, r)


def truth_rows(workdir):
    rows, _ = read_table(results(workdir, "demo_truth.tsv"))
    unc = {r["object"]: r for r in read_table(results(workdir, "uncertainties.tsv"))[0]}
    assert sorted(r["object"] for r in rows) == ["A", "B", "C"]
    for r in rows:
        assert r["sigma"] == pytest.approx(unc[r["object"]]["sigma"]), r
    return rows


# Seed 7's user fit is a wrong bulge/disc solution (bulge Re 0.9 px and n 5.7, truth 4.5 and
# 3.5); the re-fits' wide perturbed start walks them along that degeneracy, so its error is
# inside 3 sigma too (1.8 sigma).
@pytest.mark.parametrize("seed", SEEDS)
def test_demo_error_is_within_three_reported_sigmas(demo_runs, seed):
    for r in truth_rows(demo_runs[seed]):
        assert abs(r["error"] / r["sigma"]) <= 3.0, r


def test_demo_sigma_is_not_inflated(demo_runs):
    # Pooled over objects and seeds, the errors are not all far inside sigma.
    z = {(seed, r["object"]): r["error"] / r["sigma"] for seed, workdir in demo_runs.items() for r in truth_rows(workdir)}
    assert float(np.sqrt(np.mean(np.square(list(z.values()))))) >= 1 / 3, z


def test_rerun_has_nothing_to_do(demo_runs):
    for seed, workdir in demo_runs.items():
        proc = snakemake(workdir)
        assert proc.returncode == 0, (seed, proc.stderr[-4000:])
        assert "Nothing to be done" in proc.stdout + proc.stderr, seed
