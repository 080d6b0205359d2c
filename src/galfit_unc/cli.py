"""``galfit-unc``: the project's command line.

``galfit-unc init IMGBLOCK``  a targets-table row and a proposed comp_ident table from a GALFIT
image block (see :mod:`galfit_unc.newtarget`).  Problems are one line each on stderr, exit
status 1.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from astropy.io import fits

from galfit_unc.frames import read_frame_header
from galfit_unc.galfit_files import GalfitFormatError, read_fit_header
from galfit_unc.newtarget import (
    InitError,
    add_target,
    format_comp_ident,
    group_components,
    near_pairs,
    resolve_inputs,
    table_path,
)

_PROG = "galfit-unc"
_NAME = re.compile(r"[^A-Za-z0-9._+-]+")
#: Distance (pixels) within which proposed objects are reported as worth a look.
_NEAR = 10.0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=_PROG, description="Systematic uncertainties of GALFIT models: helper commands.")
    sub = p.add_subparsers(dest="command", required=True)
    init = sub.add_parser(
        "init",
        help="add a target to the targets table from a GALFIT image block",
        description="Read a GALFIT image block, find the files of its fit (DATAIN, PSF, CONSTRNT, INITFILE in the "
        "folder of the block), propose a comp_ident table and append the target's row to the targets table. "
        "Paths in the table are relative to the current folder, the workflow's working directory.",
    )
    init.add_argument("imgblock", help="GALFIT's output image block (B) of the fit)")
    init.add_argument("--target", help="target name (default: the OBJECT of the block's data, else the block's file name)")
    init.add_argument("--band", help="band name (default: FILTER or BAND of the block's data header)")
    init.add_argument("--frame", help="the full frame the fit was made on (default: DATAIN)")
    init.add_argument("--psf", help="the PSF of the fit (default: PSF)")
    init.add_argument("--constraints", help="the constraint file, or none (default: CONSTRNT)")
    init.add_argument("--feedme", help="GALFIT's input file of the fit, or none (default: INITFILE)")
    init.add_argument("--targets", default="config/targets.tsv", help="the targets table to append to (default: %(default)s, created when absent)")
    init.add_argument("--comp-ident", help="where the proposed comp_ident table goes (default: TARGET_BAND_comp_ident.txt beside the targets table)")
    init.add_argument("--distance", type=float, default=1.0, help="components whose centres lie within this many pixels form one object (default: %(default)s)")
    init.add_argument("--force", action="store_true", help="overwrite an existing comp_ident file")
    return p


def _header_names(imgblock) -> tuple[str, str]:
    """(target, band) suggested by the data header (HDU1) of the block."""
    header = fits.getheader(imgblock, 1)
    obj = str(header.get("OBJECT", "")).split("[")[0]
    band = str(header.get("FILTER", header.get("BAND", ""))).split()
    target = _NAME.sub("-", obj).strip("-.") or _NAME.sub("-", Path(imgblock).stem)
    return target, (_NAME.sub("-", band[0]) if band else "")


def init(args) -> int:
    """``galfit-unc init``: returns the exit status."""
    try:
        header = read_fit_header(args.imgblock)
        target, band = _header_names(args.imgblock)
        target, band = args.target or target, args.band or band
        # Every problem at once: the user fixes them in one go.
        problems = [] if band else [f"{args.imgblock}: FILTER: the data header names no band; give it with --band B"]
        if not args.distance >= 0:
            problems.append(f"--distance: {args.distance} is negative; give a distance in pixels >= 0")
        try:
            inputs = resolve_inputs(args.imgblock, {"image": args.frame, "psf": args.psf, "constraints": args.constraints, "feedme": args.feedme})
        except InitError as exc:
            problems += exc.problems
        if problems:
            raise InitError(problems)
        objects, sky = group_components(header.components, args.distance)
        table = Path(args.targets)
        comp_ident = Path(args.comp_ident) if args.comp_ident else table.parent / f"{target}_{band}_comp_ident.txt"
        row = {"target": target, "band": band, "image": table_path(inputs.files["image"]), "imgblock": table_path(args.imgblock), "psf": table_path(inputs.files["psf"])}
        row["constraints"] = inputs.files["constraints"] if inputs.files["constraints"] == "none" else table_path(inputs.files["constraints"])
        row["feedme"] = table_path(inputs.files["feedme"]) if inputs.files["feedme"] else ""
        notes = add_target(row, format_comp_ident(objects, sky, args.distance, args.imgblock), comp_ident, table, force=args.force)
    except (InitError, GalfitFormatError) as exc:
        for line in getattr(exc, "problems", [str(exc)]):
            print(f"{_PROG} init: {line}", file=sys.stderr)
        return 1
    frame = read_frame_header(inputs.files["image"])
    x1, x2, y1, y2 = header.fitsect
    print(f"added target {target}, band {band} to {table}; comp_ident proposed in {comp_ident}")
    for column in ("image", "psf", "constraints", "feedme"):
        print(f"  {column:<11} {inputs.files[column] or '(none)'}  [{inputs.origin.get(column, '')}]")
    print("Check before running:")
    multi = [f"object {n}: components {', '.join(str(c.number) for c in m)}" for n, m in enumerate(objects, 1) if len(m) > 1]
    print(f"- {len(objects)} object(s) from {sum(map(len, objects))} components (sky: {', '.join(str(c.number) for c in sky) or 'none'})" + (f"; joined: {'; '.join(multi)}" if multi else ""))
    pairs = near_pairs(objects, _NEAR)
    if pairs:
        shown = ", ".join(f"{a} and {b} ({d:.1f} px)" for a, b, d in pairs[:5])
        print(f"- objects with centres within {_NEAR:g} px, kept apart: {shown}; join them in {comp_ident} if they are one galaxy")
    print(f"- the grouping is a proposal: an object is what you measure (a galaxy with its bulge, bar and disc), edit {comp_ident}")
    if frame["NAXIS1"] * frame["NAXIS2"] < 4 * (x2 - x1 + 1) * (y2 - y1 + 1):
        print(f"- the frame ({frame['NAXIS1']} x {frame['NAXIS2']}) is small for the fitted region [{x1}:{x2},{y1}:{y2}]: blank windows of that size must fit beside it; give the full frame with --frame")
    for note in inputs.notes + notes:
        print(f"- {note}")
    print(f"Then: snakemake -s {Path(__file__).resolve().parents[2] / 'Snakefile'} --cores 4 -n   (a dry run; without -n it runs)")
    return 0


def main(argv=None) -> int:
    """Entry point of ``galfit-unc``; returns the exit status."""
    args = _parser().parse_args(argv)
    return init(args)

