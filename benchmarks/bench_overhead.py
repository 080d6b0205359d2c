"""Orchestration overhead of the per-region stages on the shared DECaLS case.

The upstream stages (mask, windows checkpoint, galaxy model) run first and are not timed.
The timed run builds the tables: every region's cutout, injection and re-fit, then the
one job that gathers them.  Overhead per region is

    (wall time x cores - sum of the fits' own times) / windows

where a fit's own time is the ``seconds`` of its status record (the engine's wall time).
It is the core time spent on anything but fitting: interpreter start-ups, imports,
Snakemake's bookkeeping, cutting and injecting.  On a machine that runs other work too,
wall x cores counts that work and the fits' wall times stretch; the CPU time of the run's
own processes minus the fits' CPU time (``cpu_seconds`` of the records) does not, so it is
printed as well.

Usage: ``python benchmarks/bench_overhead.py [--windows 20] [--cores 2] [--engine embedded] [--batch N]``
(reads the project's ``tests/data``, or ``--data``).
"""

import argparse
import json
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


def prepare(workdir: Path, data: Path, windows: int, engine: str, galfit: str, batch=None) -> None:
    """Targets table of the DECaLS case and a config keeping ``windows`` windows."""
    row = {"target": "cool", "band": "z", **{k: str(data / v) for k, v in CASE.items()}}
    (workdir / "targets.tsv").write_text("\t".join(row) + "\n" + "\t".join(row.values()) + "\n")
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["targets"] = "targets.tsv"
    config["fitter"]["engine"] = engine
    config["fitter"]["galfit"] = galfit
    config["windows"]["max_windows"] = windows
    if batch is not None:
        config["batch"]["windows"] = batch
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))


def snakemake(workdir: Path, cores: int, *targets) -> tuple[float, float]:
    """Run the workflow in ``workdir``; return its wall time and the CPU time (user + system)
    of every process it ran, in seconds."""
    cmd = [str(SNAKEMAKE), *targets, "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"), "--cores", str(cores), "--quiet", "all"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"snakemake failed in {workdir}:\n{proc.stderr[-3000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def overhead(wall: float, cores: int, fit_seconds) -> float:
    """Core-seconds per region not spent inside a fit."""
    return (wall * cores - sum(fit_seconds)) / len(fit_seconds)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=20, help="windows to re-fit (default 20)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--engine", default="embedded", help="embedded (default) or galfit")
    parser.add_argument("--batch", type=int, default=None, help="windows per batch job (default: the config's)")
    parser.add_argument("--galfit", default="galfit", help="GALFIT-like executable of engine galfit")
    parser.add_argument("--data", type=Path, default=REPO / "tests" / "data", help="the folder holding decals-coolj0112")
    args = parser.parse_args(argv)
    data = args.data / "decals-coolj0112"
    if not data.is_dir():
        raise SystemExit(f"{data}: folder: not found; pass --data with the folder holding decals-coolj0112")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prepare(workdir, data, args.windows, args.engine, args.galfit, args.batch)
        batch = yaml.safe_load((workdir / "config.yaml").read_text())["batch"]["windows"]
        upstream = [f"results/cool/z/{name}" for name in ("windows.tsv", "galaxy.fits")]
        snakemake(workdir, args.cores, *upstream)
        wall, cpu = snakemake(workdir, args.cores, "results/cool/z/magnitudes.tsv")
        records = [json.loads(p.read_text()) for p in sorted(workdir.glob("results/cool/z/windows/*/status.json"))]
    fits = [r["seconds"] for r in records]
    fit_cpu = sum(r["cpu_seconds"] for r in records)
    if len(fits) < args.windows:
        print(f"note: only {len(fits)} windows were selected (asked for {args.windows})")
    per_region = overhead(wall, args.cores, fits)
    print(f"windows {len(fits)}  cores {args.cores}  engine {args.engine}  windows per batch {batch}")
    print(f"wall {wall:.1f} s  sum of fit times {sum(fits):.1f} s  mean fit {sum(fits) / len(fits):.2f} s")
    print(f"overhead {per_region:.2f} core-s per region (wall x cores)")
    print(f"CPU time of the run {cpu:.1f} s, of the fits {fit_cpu:.1f} s: {(cpu - fit_cpu) / len(fits):.2f} core-s per region besides the fits")


if __name__ == "__main__":
    main()
