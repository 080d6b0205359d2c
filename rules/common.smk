# Targets, wildcards and input functions shared by every stage.

import functools
import os
from pathlib import Path

from galfit_unc.preflight import check_inputs
from galfit_unc.skysearch import batches, read_windows_tsv
from galfit_unc.targets import check_files, read_targets

TARGETS_TABLE = config["targets"]
TARGETS = read_targets(TARGETS_TABLE, schema=Path(workflow.basedir) / "config/schemas/targets.schema.yaml")
ROWS = {(row["target"], row["band"]): row for row in TARGETS}

# Conda environment of every rule (relative to the rules/ folder).
ENV = "../envs/galfit-unc.yaml"

# Per-target outputs the default target builds (check.txt: enough usable fits).
FINAL = (
    "windows.tsv",
    "magnitudes.tsv",
    "uncertainties.tsv",
    "parameters.tsv",
    "model.reg",
    "model_fk5.reg",
    "sky_windows.png",
    "magnitudes.png",
    "check.txt",
)


wildcard_constraints:
    target=r"[A-Za-z0-9][A-Za-z0-9._+-]*",
    band=r"[A-Za-z0-9][A-Za-z0-9._+-]*",
    batch=r"b\d\d\d+",


def all_outputs():
    """Every target's final outputs, plus the demo's extra files."""
    files = [f"results/{row['target']}/{row['band']}/{name}" for row in TARGETS for name in FINAL]
    return files + list(DEMO_OUTPUTS)


def check_target_files():
    """Fail with one line when a file of the targets table neither exists nor is made by a rule,
    or an existing one cannot serve (see galfit_unc.preflight)."""
    check_files(TARGETS, TARGETS_TABLE, producible=lambda p: any(r.is_producer(p) for r in workflow.rules))
    # Then the PSF, the fitted region against the frame and comp_ident's coverage of the fit.
    check_inputs(TARGETS, TARGETS_TABLE)


def row(wildcards):
    """The targets-table row of ``wildcards.target``, ``wildcards.band``."""
    return ROWS[(wildcards.target, wildcards.band)]


def column(name):
    """Input function: the path in column ``name`` of the target's row."""
    return lambda wildcards: row(wildcards)[name]


def optional(*names, **fixed):
    """Input function for ``unpack``: ``fixed`` (patterns or functions of the wildcards) plus
    every optional column in ``names`` that the target's row fills."""

    def inputs(wildcards):
        files = {k: v(wildcards) if callable(v) else v.format(**wildcards) for k, v in fixed.items()}
        files.update({name: row(wildcards)[name] for name in names if row(wildcards).get(name)})
        return files

    return inputs


@functools.cache
def _windows(path, mtime_ns):
    return {w.name: [w.x1, w.x2, w.y1, w.y2] for w in read_windows_tsv(path)}


def windows(wildcards):
    """Window id -> [x1, x2, y1, y2] of the target's windows, in the windows table's order
    (after the windows checkpoint)."""
    path = checkpoints.windows.get(target=wildcards.target, band=wildcards.band).output.tsv
    return _windows(path, os.stat(path).st_mtime_ns)


def per_batch(wildcards):
    """Input function: the record list of every batch of the target's windows."""
    return [f"results/{wildcards.target}/{wildcards.band}/batches/{batch}.json" for batch in batches(windows(wildcards), config["batch"]["windows"])]


def magnitudes_plot_inputs(wildcards):
    """Input function of plot_magnitudes: the tables, plus the demo's truth (DEMO_OUTPUTS,
    rules/demo.smk) when the target is the demo."""
    files = {name: f"results/{wildcards.target}/{wildcards.band}/{name}.tsv" for name in ("magnitudes", "uncertainties")}
    if DEMO_OUTPUTS and (wildcards.target, wildcards.band) == ("demo", "z"):
        files["truth"] = rules.demo_frame.output.truth
    return files
