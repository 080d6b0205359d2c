"""Helpers for the workflow tests: a working directory on the shared DECaLS case, stand-in
engines as executables, and Snakemake runs in a subprocess."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
STANDINS = Path(__file__).resolve().parent
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
DECALS = {
    "image": "org_data_example.fits",
    "imgblock": "galfit_output_example.fits",
    "psf": "psf_example.fits",
    # Absolute ranges: a relative file needs the original fit's input file (its starts).
    "constraints": "cons_abs.txt",
    "comp_ident": "comp_ident_example.txt",
}


def engine(tmp, name) -> str:
    """An executable in ``tmp`` that runs stand-in ``name`` (tests/standins/<name>.py)."""
    path = Path(tmp) / f"engine-{name}"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDINS / (name + ".py")}" "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def merge(base: dict, changes: dict) -> dict:
    """``base`` with the nested ``changes`` applied."""
    out = dict(base)
    for key, value in changes.items():
        out[key] = merge(base.get(key, {}), value) if isinstance(value, dict) else value
    return out


#: The stand-in engines answer with (or render at) their starting values, so the tests that use
#: them start the re-fits from the best fit without added noise unless a test asks otherwise.
STANDIN_REFIT = {"refit": {"start": "best_fit", "source_noise": False}}


def write_config(workdir, changes) -> Path:
    """The repository's config with ``changes``, as ``workdir/config.yaml``."""
    config = merge(merge(yaml.safe_load((REPO / "config" / "config.yaml").read_text()), STANDIN_REFIT), changes)
    path = Path(workdir) / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def make_workdir(workdir, shared, changes, extra_columns=None) -> Path:
    """Working directory with a targets table for the DECaLS case and a config."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    row = {"target": "cool", "band": "z", **{k: str(shared("decals-coolj0112", v)) for k, v in DECALS.items()}, **(extra_columns or {})}
    (workdir / "targets.tsv").write_text("\t".join(row) + "\n" + "\t".join(row.values()) + "\n")
    write_config(workdir, merge({"targets": "targets.tsv"}, changes))
    return workdir


def snakemake(workdir, *args) -> subprocess.CompletedProcess:
    """Run the workflow in ``workdir`` with its config.yaml; output captured as text."""
    cmd = [str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile", str(Path(workdir) / "config.yaml"), "--cores", "2", *args]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)


def out(workdir, *parts) -> Path:
    return Path(workdir, "results", "cool", "z", *parts)
