"""Rule batch: cut, clean, inject and re-fit the windows of one batch; list their fit records."""

import json
from pathlib import Path

from galfit_unc.batch import run_batch
from galfit_unc.skysearch import batches, read_windows_tsv

from _common import run


def main(snakemake):
    w = snakemake.wildcards
    windows = {win.name: list(win.bounds) for win in read_windows_tsv(snakemake.input.windows)}
    members = batches(windows, snakemake.params.size).get(w.batch)
    if members is None:
        raise ValueError(f"{snakemake.input.windows}: windows: no batch {w.batch} of {snakemake.params.size} windows; rerun the workflow to plan the batches anew")
    # The alternative PSFs are chosen per window (run_batch keys each window by its own).
    inputs = {k: v for k, v in snakemake.input.items() if k not in ("windows", "psfs")}
    output = Path(snakemake.output[0])
    records = run_batch(
        [(name, windows[name]) for name in members],
        inputs,
        snakemake.params.settings,
        output.parents[1] / "windows",
        Path(snakemake.log[0]).parents[1] / "windows",
        label=f"re-fit of {w.target} {w.band}",
        threads=snakemake.threads,
        first=list(windows).index(members[0]),
    )
    output.write_text(json.dumps([record.to_json() for record in records], indent=1) + "\n")


run(snakemake, main)  # noqa: F821
