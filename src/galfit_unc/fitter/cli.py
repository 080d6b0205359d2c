"""``galfit-embedded FEEDME [-imax N] [-o1|-o2|-o3] [--sampling galfit|exact]``: GALFIT's command line, embedded fitter.

Exit status 0 only when the output was written; otherwise one line on stderr says why
and the status is 1 (bad input) or 2 (internal error).  Imports are deferred so that
start-up stays fast, BLAS is held to one thread before numpy loads, and freed arrays stay
in the heap for the next iteration (:mod:`.allocator`).
"""

from __future__ import annotations

import argparse
import os
import sys

from .allocator import keep_freed_memory

_PROG = "galfit-embedded"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=_PROG, description="Fit a GALFIT 3 input file with the embedded fitter.")
    p.add_argument("feedme", help="GALFIT input file (paths in it are relative to the working directory)")
    p.add_argument("-imax", type=int, default=None, metavar="N", help="iteration limit (default 100)")
    p.add_argument(
        "--sampling", choices=("galfit", "exact"), default="galfit",
        help="pixel sampling: GALFIT's own (default; reproduces its model images) or exact pixel means",
    )
    modes = p.add_mutually_exclusive_group()
    modes.add_argument("-o1", dest="mode", action="store_const", const=1, help="write the model image only")
    modes.add_argument("-o2", dest="mode", action="store_const", const=2, help="image block of the input values, no fit")
    modes.add_argument("-o3", dest="mode", action="store_const", const=3, help="one HDU per component (subcomps.fits)")
    return p


def main(argv=None) -> int:
    """Entry point of ``galfit-embedded``; returns the exit status."""
    args = _parser().parse_args(argv)
    # Threaded BLAS is far slower for the small dense solves of a fit.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    keep_freed_memory()
    from .fit import FitError, run_galfit

    try:
        outcome = run_galfit(args.feedme, imax=args.imax, mode=args.mode, sampling=args.sampling)
    except FitError as exc:
        print(f"{_PROG}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # any other failure still gets one line and a non-zero status
        msg = " ".join(str(exc).split())
        print(f"{_PROG}: internal error ({type(exc).__name__}: {msg}); please report it", file=sys.stderr)
        return 2
    if not outcome.output.exists():
        print(f"{_PROG}: {outcome.output}: output not written; check the folder is writable", file=sys.stderr)
        return 2
    flags = " ".join(outcome.flags) or "none"
    print(
        f"Chi^2 = {outcome.chi2:.5f}, ndof = {outcome.ndof}, Chi^2/nu = {outcome.chi2nu:.3f}, "
        f"iterations = {outcome.iterations}, flags = {flags} -> {outcome.output}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
