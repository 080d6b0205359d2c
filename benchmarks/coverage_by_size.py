"""Coverage of a real-mode calibration run, split by how far the user's fit moved each object's size.

``bench_coverage.py --mode real`` leaves, per trial, the user's image block
(``trial_NNN/input/userfit/imgblock.fits``) beside the truth's.  For every row of its
``coverage.tsv`` this takes the object's brightest component in the truth and the ratio of
its effective radius in the user's fit to the truth's, then prints

* the rank correlation (Spearman) between the magnitude error (original − truth) and
  log10 of that ratio, per object and overall: a strong negative value means that fits which
  grew the object's size came out too bright (the Sérsic magnitude–size–index degeneracy);
* coverage (|z| ≤ 1, |z| ≤ 2, rms z) of the rows whose ratio lies within ``1/F`` … ``F``
  (default F = 1.5) and of the rest.

Usage::

    python benchmarks/coverage_by_size.py DIR [--factor 1.5] [--data DIR]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from bench_coverage import DECALS, _obj, default_data
from galfit_unc import galfit_files as gf
from galfit_unc.statistics import natural_key
from galfit_unc.tables import read_table


def size_of(header: gf.FitHeader, number: int) -> float:
    comp = header.component(number)
    for key in ("RE", "RS", "FWHM"):
        if comp.get(key) is not None:
            return comp[key].value
    return math.nan


def coverage(z: np.ndarray) -> str:
    if not z.size:
        return "n 0"
    return f"n {z.size:3d}  |z|<=1 {np.mean(np.abs(z) <= 1):5.1%}  |z|<=2 {np.mean(np.abs(z) <= 2):5.1%}  rms z {math.sqrt(np.mean(z**2)):.2f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="output folder of a bench_coverage.py --mode real run")
    parser.add_argument("--factor", type=float, default=1.5, help="size ratios within 1/F .. F count as kept")
    parser.add_argument("--data", default=None, help="folder of the DECaLS case (as given to bench_coverage.py)")
    args = parser.parse_args(argv)
    out, data = Path(args.out), Path(args.data) if args.data else default_data()
    truth = gf.read_fit_header(data / DECALS["imgblock"])
    comp_ident = gf.read_comp_ident(data / DECALS["comp_ident"])
    brightest = {}
    for number, obj in comp_ident.items():
        mag = truth.component(number)["MAG"].value
        if obj not in brightest or mag < truth.component(brightest[obj])["MAG"].value:
            brightest[obj] = number
    rows = []
    for r in read_table(out / "coverage.tsv")[0]:
        user = gf.read_fit_header(out / f"trial_{int(r['trial']):03d}" / "input" / "userfit" / "imgblock.fits")
        obj = _obj(r["object"])
        ratio = size_of(user, brightest[obj]) / size_of(truth, brightest[obj])
        rows.append((obj, r["original"] - r["truth"], math.log10(ratio), r["z"]))
    print("object\tcomponent\tSpearman(error, log size ratio)")
    for obj in sorted(brightest, key=natural_key):
        err, logr = zip(*((e, lr) for o, e, lr, _ in rows if o == obj))
        print(f"{obj}\t{brightest[obj]}\t{spearmanr(err, logr).statistic:+.2f}")
    err, logr, z = (np.array(v) for v in zip(*((e, lr, zz) for _, e, lr, zz in rows)))
    print(f"all\t\t{spearmanr(err, logr).statistic:+.2f}")
    kept = np.abs(logr) <= math.log10(args.factor)
    print(f"size within x{args.factor:g} of the truth:  {coverage(z[kept])}")
    print(f"size moved further:         {coverage(z[~kept])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
