"""Coverage of several calibration runs together: one table for all their trials.

Each ``bench_coverage.py`` run is one set of trials (one ``--seed``).  One set of 12 or 20
trials pins an object's rms z only loosely, so the headline figures pool the held-out sets.
This reads the ``coverage.tsv`` of each run folder given (runs of the same mode, windows,
engine and ``--set`` values; only the seed may differ), treats every trial of every run as
one trial of the pool, and prints per object, ``all``, and the rows without and with a
workflow warning:

* ``n``, the fractions with |z| <= 1 and <= 2, and rms z with its 68 % bootstrap range
  (trials resampled with all their rows, as in ``bench_coverage.py``);
* mean z and its standard error (the standard deviation of z over sqrt(n)): a mean several
  standard errors from 0 says the fits are biased, not only that σ is small;
* rms z of each run on its own, to show how far the sets scatter.

Usage::

    python benchmarks/pool_coverage.py DIR [DIR ...] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from bench_coverage import BenchError, _obj, row_groups, summarize
from galfit_unc.tables import read_table

# Settings of a run that may differ between pooled runs.
FREE = {"seed", "data"}


def read_run(folder: Path) -> tuple[dict, list[dict]]:
    """The settings and ``coverage.tsv`` rows of one ``bench_coverage.py`` output folder."""
    for name in ("settings.json", "coverage.tsv"):
        if not (folder / name).exists():
            raise BenchError(f"{folder / name}: not found; give the --out folder of a finished bench_coverage.py run")
    settings = json.loads((folder / "settings.json").read_text())
    return settings, read_table(folder / "coverage.tsv")[0]


def pool(folders: list[Path]) -> tuple[list[dict], list[str]]:
    """Rows of every run, each trial renamed ``RUN:TRIAL``; and the runs' labels (seeds)."""
    rows, labels, first = [], [], None
    for folder in folders:
        settings, run_rows = read_run(folder)
        fixed = {k: v for k, v in settings.items() if k not in FREE}
        if first is None:
            first = (folder, fixed)
        elif fixed != first[1]:
            changed = sorted(k for k in set(fixed) | set(first[1]) if fixed.get(k) != first[1].get(k))
            raise BenchError(f"{folder / 'settings.json'}: settings: {', '.join(changed)} differ from {first[0]}'s; pool runs of one configuration")
        label = f"seed {settings['seed']}"
        labels.append(label)
        for r in run_rows:
            rows.append({**r, "object": _obj(r["object"]), "trial": f"{len(labels) - 1}:{r['trial']}", "run": label})
    return rows, labels


def _rms(z: np.ndarray) -> float:
    return math.sqrt(np.mean(z**2)) if z.size else math.nan


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="output folders of bench_coverage.py runs")
    parser.add_argument("--seed", type=int, default=1, help="seed of the bootstrap")
    args = parser.parse_args(argv)
    try:
        rows, labels = pool([Path(f) for f in args.runs])
    except BenchError as exc:
        parser.exit(1, f"pool_coverage: {exc}\n")
    rows = [r for r in rows if np.isfinite(r["z"])]
    print(f"{len(labels)} runs ({', '.join(labels)}), {len({r['trial'] for r in rows})} trials, {len(rows)} rows")
    print("| rows | n | |z| <= 1 | |z| <= 2 | mean z (s.e.) | rms z (68 % range) | rms z per run |")
    print("|---|---|---|---|---|---|---|")
    groups = row_groups(rows)
    for s in summarize(rows, args.seed):
        sel = groups[s["object"]]
        z = np.array([r["z"] for r in sel])
        se = float(np.std(z, ddof=1) / math.sqrt(z.size)) if z.size > 1 else math.nan
        per_run = " / ".join(f"{_rms(np.array([r['z'] for r in sel if r['run'] == lab])):.2f}" for lab in labels)
        print(
            f"| {s['object']} | {s['n']} | {s['cover1']:.1%} | {s['cover2']:.1%} | {s['mean_z']:+.2f} ({se:.2f}) "
            f"| {s['rms_z']:.2f} ({s['rms_z_p16']:.2f}–{s['rms_z_p84']:.2f}) | {per_run} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
