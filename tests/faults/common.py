"""Helpers of the reliability tests: a small stand-in configuration, one reference run
shared by the tests of a session, the tables to compare, and the workflow's error lines."""

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from standins.harness import engine, make_workdir, out, snakemake

FAULTS = Path(__file__).resolve().parent
#: Tables every run must reproduce byte for byte (no timings in them).
TABLES = ("windows.tsv", "magnitudes.tsv", "uncertainties.tsv", "parameters.tsv")
REGIONS = 4


def small_config(workdir, engine_path=None, **changes) -> dict:
    """Config changes for a fast run: a stand-in engine and ``REGIONS`` windows."""
    Path(workdir).mkdir(parents=True, exist_ok=True)
    config = {
        "fitter": {"engine": "galfit", "galfit": engine_path or engine(workdir, "galfit_like"), "timeout": 60},
        "windows": {"max_windows": REGIONS, "min_windows": REGIONS},
        "stats": {"min_ok_windows": 1},
    }
    for section, values in changes.items():
        config[section] = {**config.get(section, {}), **values}
    return config


def tables(workdir) -> dict:
    """Table name -> bytes, for the tables of :data:`TABLES`."""
    return {name: out(workdir, name).read_bytes() for name in TABLES}


def text(run) -> str:
    """Everything the workflow printed (Snakemake reports errors on either stream)."""
    return run.stdout + run.stderr


def error_line(run, *needles) -> str:
    """The first printed line that contains every one of ``needles``; fails when there is none."""
    lines = [ln for ln in text(run).splitlines() if all(n in ln for n in needles)]
    assert lines, f"no line mentions all of {needles!r}:\n{text(run)[-3000:]}"
    return lines[0]


@functools.cache
def _reference(shared_fn) -> Path:
    # Kept for the whole session: the determinism and interruption tests compare with it.
    root = Path(tempfile.mkdtemp(prefix="galfit-unc-reference-"))
    atexit.register(shutil.rmtree, root, True)
    work = root / "run"
    work.mkdir()
    make_workdir(work, shared_fn, small_config(work))
    run = snakemake(work)
    if run.returncode != 0:
        raise AssertionError(f"reference run failed:\n{text(run)[-3000:]}")
    return work


def reference_run(shared) -> Path:
    """Working directory of one uninterrupted run from scratch with :func:`small_config`."""
    return _reference(shared)
