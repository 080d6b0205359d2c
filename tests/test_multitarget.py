"""Several targets and bands in one invocation: separate outputs per band, one summary table;
and the DAG of many targets x bands x regions, planned after the regions checkpoint."""

import sys
from pathlib import Path

import pytest

from galfit_unc.tables import read_table
from standins.harness import DECALS, engine, write_config
from standins.harness import snakemake as run_snakemake

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from bench_dag import dry_run, fake_workdir, job_counts  # noqa: E402

ROWS = [("cool", "g"), ("cool", "z"), ("twin", "z")]
SMALL = {"windows": {"max_windows": 2, "min_windows": 2}, "stats": {"min_ok_windows": 2}}


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    """A run of three target-band rows of the DECaLS case up to the summary table."""
    from conftest import shared_path

    work = tmp_path_factory.mktemp("multi")
    files = [str(shared_path("decals-coolj0112", name)) for name in DECALS.values()]
    lines = ["\t".join(["target", "band", *DECALS])] + ["\t".join([t, b, *files]) for t, b in ROWS]
    (work / "targets.tsv").write_text("\n".join(lines) + "\n")
    write_config(work, {**SMALL, "targets": "targets.tsv", "fitter": {"engine": "galfit", "galfit": engine(work, "galfit_like")}})
    run = run_snakemake(work, "results/summary.tsv")
    assert run.returncode == 0, run.stderr[-3000:]
    return work


def test_outputs_per_target_and_band(multi):
    for target, band in ROWS:
        rows, comments = read_table(multi / "results" / target / band / "uncertainties.tsv")
        assert (comments["target"], comments["band"]) == (target, band)
        assert rows and len(list((multi / "results" / target / band / "windows").iterdir())) == 2


def test_summary_gathers_every_table(multi):
    summary = (multi / "results" / "summary.tsv").read_text().splitlines()
    header = summary[0].split("\t")
    assert header[:2] == ["target", "band"]
    expected = []
    for target, band in ROWS:
        rows, _ = read_table(multi / "results" / target / band / "uncertainties.tsv")
        assert header[2:] == list(rows[0])
        expected += [[target, band, *row.values()] for row in rows]
    got = [[cell if i < 2 else float(cell) if _number(cell) else cell for i, cell in enumerate(line.split("\t"))] for line in summary[1:]]
    assert got == expected


def _number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_dag_of_many_targets_bands_and_regions(shared, tmp_path):
    case = Path(shared("decals-coolj0112", "org_data_example.fits")).parent
    fake_workdir(tmp_path, case, ["t0", "t1"], ["g", "r", "z"], 10, batch=4)
    seconds, run = dry_run(tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    counts = job_counts(run.stdout + run.stderr)
    # The checkpoint is done: no mask or regions job, every window of every row planned in
    # batches of 4 (4 + 4 + 2 windows).
    assert "mask" not in counts and "windows" not in counts
    assert {rule: counts[rule] for rule in ("galaxy", "batch", "tables", "summary")} == {"galaxy": 6, "batch": 18, "tables": 6, "summary": 1}
