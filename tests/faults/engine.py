"""Stand-in engine with a planned fault per window: ``engine.py [--plan P] [--delay S]
[--poison PATH] fit.gal``, run (like GALFIT) in the fit's attempt directory.

``--plan`` is a comma-separated list of behaviours given to the windows in windows.tsv
order (windows past its end, or empty items, behave as ``like``):

``like``      tests/standins/galfit_like.py unchanged
``ok``        like, with FLAGS cleared
``flagged``   like, with FLAGS 1 (iteration limit; the DECaLS original has FLAGS 2 itself)
``suspect``   like, with the first free size moved by 10 % and marked ``*...*`` as numerically suspect
``crash0``    GALFIT's crash: a message, exit status 0 and no output block
``exit3``     a message and exit status 3
``hang``      never finishes (tests/standins/hang.py: a child too, pids in hang.pids)
``garbage``   an output block that is not FITS

``--delay`` sleeps first.  With ``--poison``, a run that started before PATH existed and
finds it when it is done (its workflow was killed meanwhile) adds 5 to every magnitude
and writes ``late.txt``: if such a late result were ever taken, the tables would show it.
"""

import argparse
import os
import runpy
import sys
import time
from pathlib import Path

from astropy.io import fits

from galfit_unc.galfit_files import parse_header_value, read_feedme

STANDINS = Path(__file__).resolve().parents[1] / "standins"


def window_index() -> int:
    """Position of this fit's window in windows.tsv (cwd: windows/<id>/fit.attempt-...)."""
    cwd = Path.cwd()
    rows = [ln.split("\t")[0] for ln in (cwd.parents[2] / "windows.tsv").read_text().splitlines() if ln and not ln.startswith("#")]
    return rows[1:].index(cwd.parent.name)


def edit_model_header(output, edit) -> None:
    with fits.open(output, mode="update") as hdul:
        edit(hdul[2].header)


def shift_magnitudes(header) -> None:
    for key in [k for k in header if k.endswith("_MAG")]:
        value = parse_header_value(header[key])
        header[key] = f"{value.value + 5:.4f} +/- {value.error or 0:.4f}"


def mark_suspect(header) -> None:
    key = next(k for k in header if k.endswith(("_RE", "_RS", "_FWHM")) and "+/-" in str(header[k]))
    value = parse_header_value(header[key])
    # Moved off the original's value: a *...* value the original already has is not a new flag.
    header[key] = f"*{1.1 * value.value:.4f}* +/- *{value.error:.4f}*"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--plan", default="")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--poison")
    parser.add_argument("feedme")
    args = parser.parse_args()
    poisoned_at_start = bool(args.poison) and os.path.exists(args.poison)
    if args.poison:
        # Tells the test this engine has looked at the poison file: it may kill the workflow now.
        Path("started").write_text("")
    plan = args.plan.split(",")
    index = window_index()
    behaviour = (plan[index] if index < len(plan) else "") or "like"
    time.sleep(args.delay)
    output = read_feedme(args.feedme).output_block
    if behaviour == "crash0":
        print("Doh!  GALFIT crashed because at least one of the model parameters is bad.")
        return 0
    if behaviour == "exit3":
        print("stand-in engine: failing on purpose", file=sys.stderr)
        return 3
    if behaviour == "hang":
        runpy.run_path(str(STANDINS / "hang.py"))
        return 0
    if behaviour == "garbage":
        Path(output).write_bytes(b"this is not a FITS file\n" * 100)
        return 0
    sys.argv = [str(STANDINS / "galfit_like.py"), args.feedme]
    runpy.run_path(str(STANDINS / "galfit_like.py"), run_name="__main__")
    if args.poison and not poisoned_at_start and os.path.exists(args.poison):
        edit_model_header(output, shift_magnitudes)
        Path("late.txt").write_text(f"written after the workflow was killed, in {Path.cwd().name}\n")
    if behaviour == "ok":
        edit_model_header(output, lambda h: h.update(FLAGS=""))
    elif behaviour == "flagged":
        edit_model_header(output, lambda h: h.update(FLAGS="1"))
    elif behaviour == "suspect":
        edit_model_header(output, lambda h: (h.update(FLAGS=""), mark_suspect(h)))
    elif behaviour != "like":
        raise SystemExit(f"engine.py: --plan: unknown behaviour {behaviour!r}; see the module docstring")
    return 0


def install(workdir, **options) -> str:
    """An executable in ``workdir`` that runs this engine with ``options`` (plan, delay, poison)."""
    args = " ".join(f'--{k} "{v}"' for k, v in options.items())
    path = Path(workdir) / "engine-faults"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).resolve()}" {args} "$@"\n')
    path.chmod(0o755)
    return str(path)


if __name__ == "__main__":
    sys.exit(main())
