"""Time a dry run's DAG for many targets x bands x windows, with the windows checkpoint done.

The fixture writes a targets table whose rows all name the shared DECaLS case's input
files, and for every target and band a mask and a windows table with ``windows`` windows,
newer than those inputs, so Snakemake takes the checkpoint as done and plans every
batch job.  The workflow reads the inputs' headers once per row (its up-front check);
a dry run reads no pixels.

Usage: ``python benchmarks/bench_dag.py [--targets 10] [--bands g r z] [--windows 50]``
(reads the project's ``tests/data``, or ``--data``).
"""

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
# The shared DECaLS case's file names, as the workflow tests lay them out.
sys.path.insert(0, str(REPO / "tests"))
from standins.harness import DECALS as CASE  # noqa: E402
#: Window size of the fake windows (any size works: only the ids and bounds are read).
WINDOW = 64


def _touch(path: Path, mtime: float, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def windows_table(n: int) -> str:
    """A windows table of ``n`` non-overlapping windows on a grid, as the checkpoint writes it."""
    lines = ["window\tx1\tx2\ty1\ty2\tmasked_frac\tsky_sigma"]
    for i in range(n):
        x1, y1 = 1 + (i % 10) * WINDOW, 1 + (i // 10) * WINDOW
        lines.append(f"x{x1:04d}_y{y1:04d}\t{x1}\t{x1 + WINDOW - 1}\t{y1}\t{y1 + WINDOW - 1}\t0.000000\t1.0")
    return "\n".join(lines) + "\n"


def fake_workdir(workdir, case, targets, bands, windows, batch=None) -> Path:
    """Targets table, config and finished checkpoint outputs for ``targets`` x ``bands``.

    Parameters
    ----------
    workdir : path-like
        Working directory to fill (created).
    case : path-like
        The folder of the shared DECaLS case (data/decals-coolj0112).
    targets : list of str
        Target names.
    bands : list of str
        Band names; every target gets every band.
    windows : int
        Windows in each windows table.
    batch : int, optional
        Windows per batch job (``batch.windows``); default: the repository config's.

    Returns
    -------
    Path
        The config file, whose ``targets`` is the table written in ``workdir``.
    """
    workdir = Path(workdir)
    t0 = max(os.stat(Path(case) / name).st_mtime for name in CASE.values())
    files = {k: str(Path(case) / name) for k, name in CASE.items()}
    rows = []
    for target in targets:
        for band in bands:
            rows.append({"target": target, "band": band, **files})
            out = workdir / "results" / target / band
            _touch(out / "mask.fits", t0 + 10)
            _touch(out / "windows.tsv", t0 + 20, windows_table(windows))
            _touch(out / "noise.fits", t0 + 20)
    header = list(rows[0])
    (workdir / "targets.tsv").write_text("\n".join("\t".join(r[c] for c in header) for r in [dict(zip(header, header)), *rows]) + "\n")
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["targets"] = "targets.tsv"
    if batch is not None:
        config["batch"]["windows"] = batch
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def job_counts(dry_run_output: str) -> dict:
    """Rule -> job count from the 'Job stats' table of a dry run's output."""
    table = dry_run_output.split("Job stats:", 1)[1]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M) if m[1] != "total"}


def dry_run(workdir, *args) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time and result of ``snakemake -n`` in ``workdir``.  The CPU time it took is
    the ``cpu`` attribute of the result (on a busy machine the wall time counts others' work)."""
    workdir = Path(workdir)
    # The faked outputs have no provenance records: judge them by modification times only.
    cmd = [str(SNAKEMAKE), "-n", "--rerun-triggers", "mtime", "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"), "--cores", "2", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, proc


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=10)
    parser.add_argument("--bands", nargs="+", default=["g", "r", "z"])
    parser.add_argument("--windows", type=int, default=50)
    parser.add_argument("--batch", type=int, default=None, help="windows per batch job (default: the config's; 1 = a job per window)")
    parser.add_argument("--data", type=Path, default=REPO / "tests" / "data", help="the folder holding decals-coolj0112")
    args = parser.parse_args(argv)
    case = args.data / "decals-coolj0112"
    if not case.is_dir():
        raise SystemExit(f"{case}: folder: not found; pass --data with the folder holding decals-coolj0112")
    with tempfile.TemporaryDirectory() as tmp:
        config = fake_workdir(tmp, case, [f"t{i:02d}" for i in range(args.targets)], args.bands, args.windows, args.batch)
        batch = yaml.safe_load(config.read_text())["batch"]["windows"]
        seconds, proc = dry_run(tmp)
    if proc.returncode:
        raise SystemExit(f"dry run failed:\n{proc.stderr[-3000:]}")
    counts = job_counts(proc.stdout + proc.stderr)
    print(f"{args.targets} targets x {len(args.bands)} bands x {args.windows} windows, {batch} per batch: {sum(counts.values())} jobs planned in {seconds:.1f} s (CPU {proc.cpu:.1f} s)")
    print("  " + ", ".join(f"{rule} {n}" for rule, n in counts.items()))


if __name__ == "__main__":
    main()
