"""The workflow through a real executor plugin (cluster-generic) whose submit and status
commands stand in for sbatch and squeue (tests/cluster/): tables identical to a local run,
from scratch and resumed after the regions checkpoint, with no job executed twice, and a
half-failed run completed by redoing only what is missing."""

import os
import re
import shutil
import sys
from collections import Counter
from pathlib import Path


from standins.harness import make_workdir, out, snakemake

CLUSTER = Path(__file__).resolve().parent / "cluster"
TABLES = ("magnitudes.tsv", "uncertainties.tsv", "parameters.tsv")
TARGET = "results/cool/z/uncertainties.tsv"
# Both windows in one batch job.
SMALL = {"windows": {"max_windows": 2, "min_windows": 2}, "stats": {"min_ok_windows": 2}, "batch": {"windows": 2}}


def workdir(path, shared):
    """DECaLS case with two windows, the counting stand-in engine, and an empty queue."""
    work = make_workdir(path, shared, {**SMALL, "fitter": {"engine": "galfit", "galfit": str(CLUSTER / "engine.sh")}})
    (work / "queue").mkdir()
    return work


def run(work, *args, cluster=True):
    """Snakemake in ``work``; with ``cluster``, through the stand-in queue ``work/queue``."""
    os.environ.update(STANDIN_QUEUE=str(work / "queue"), STANDIN_FITS=str(work / "fits.txt"), STANDIN_PYTHON=sys.executable)
    executor = ["--executor", "cluster-generic", "--cluster-generic-submit-cmd", str(CLUSTER / "submit.sh"),
                "--cluster-generic-status-cmd", str(CLUSTER / "status.sh"), "--jobs", "2", "--latency-wait", "10", "--seconds-between-status-checks", "1"]
    result = snakemake(work, *args, *(executor if cluster else []))
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def submitted(work):
    """Rule and wildcards of every job script the queue received (Snakemake's --target-jobs)."""
    return Counter(spec for script in (work / "queue").glob("*.sh") for spec in re.findall(r"--target-jobs '([^']+)'", script.read_text()))


def fits_run(work):
    """Region of every fit the engine executed (one line per execution)."""
    return Counter(re.search(r"/windows/(\w+)/", line)[1] for line in (work / "fits.txt").read_text().splitlines())


def check_run(work, reference):
    windows = [ln.split("\t")[0] for ln in out(work, "windows.tsv").read_text().splitlines() if ln and not ln.startswith(("#", "window"))]
    assert len(windows) == 2
    for name in TABLES:
        assert out(work, name).read_bytes() == reference[name], name
    jobs = submitted(work)
    assert max(jobs.values()) == 1, jobs
    # Every remote job went through the queue: the upstream stages and one batch of both windows.
    assert set(jobs) == {f"{rule}:target=cool,band=z" for rule in ("mask", "windows", "galaxy")} | {"batch:target=cool,band=z,batch=b000"}
    assert fits_run(work) == Counter({w: 1 for w in windows})
    return windows


def test_cluster_runs_match_local_run(shared, tmp_path):
    local = workdir(tmp_path / "local", shared)
    run(local, TARGET, cluster=False)
    reference = {name: out(local, name).read_bytes() for name in TABLES}

    # From scratch.
    work = workdir(tmp_path / "scratch", shared)
    run(work, TARGET)
    check_run(work, reference)

    # Stopped once the regions table exists, then resumed.
    work = workdir(tmp_path / "resumed", shared)
    run(work, "results/cool/z/windows.tsv")
    assert set(submitted(work)) == {"mask:target=cool,band=z", "windows:target=cool,band=z"}
    run(work, TARGET)
    windows = check_run(work, reference)

    # A batch job that died half-way (its record and one window's results missing, no tables
    # yet): the rerun redoes that window alone.
    out(work, "batches", "b000.json").unlink()
    lost = out(work, "windows", windows[0])
    for name in ("status.json", "done.json"):
        (lost / name).unlink()
    shutil.rmtree(lost / "fit")
    for name in TABLES:
        out(work, name).unlink()
    before = submitted(work)
    run(work, TARGET)
    assert submitted(work) - before == Counter({"batch:target=cool,band=z,batch=b000": 1})
    assert fits_run(work) == Counter({windows[0]: 2, windows[1]: 1})
    for name in TABLES:
        assert out(work, name).read_bytes() == reference[name], name
