"""``galfit-embedded FEEDME [-imax N] [-o1|-o2|-o3] [--sampling galfit|exact]``: GALFIT's command line, embedded fitter.

Exit status 0 only when the output was written; otherwise one line on stderr says why
and the status is 1 (bad input) or 2 (internal error).  Imports are deferred so that
start-up stays fast, BLAS is held to one thread before numpy loads, and freed arrays stay
in the heap for the next iteration (:mod:`.allocator`).

``--each FEEDME...`` fits many input files in one process, each in the folder that holds
it: the imports (most of a small fit's whole-process time) are paid once, and each folder
is fitted in a child forked from the imported fitter, ``-j N`` folders at a time.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections import deque
from pathlib import Path

from .allocator import keep_freed_memory

_PROG = "galfit-embedded"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=_PROG, description="Fit a GALFIT 3 input file with the embedded fitter.")
    p.add_argument(
        "feedme", nargs="+",
        help="GALFIT input file (paths in it are relative to the working directory); several with --each",
    )
    p.add_argument("-imax", type=int, default=None, metavar="N", help="iteration limit (default 100)")
    p.add_argument(
        "--sampling", choices=("galfit", "exact"), default="galfit",
        help="pixel sampling: GALFIT's own (default; reproduces its model images) or exact pixel means",
    )
    p.add_argument(
        "--each", action="store_true",
        help="fit every FEEDME in the folder that holds it, as 'cd FOLDER && galfit-embedded NAME' would, "
        "in one process (files in one folder run in the order given)",
    )
    p.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="with --each: folders fitted at a time (default 1)")
    modes = p.add_mutually_exclusive_group()
    modes.add_argument("-o1", dest="mode", action="store_const", const=1, help="write the model image only")
    modes.add_argument("-o2", dest="mode", action="store_const", const=2, help="image block of the input values, no fit")
    modes.add_argument("-o3", dest="mode", action="store_const", const=3, help="one HDU per component (subcomps.fits)")
    return p


def _fit_one(feedme: str, workdir, args) -> tuple[int, str]:
    """Fit one input file: (exit status, the line to print: the summary, or why it failed)."""
    from .fit import FitError, run_galfit

    try:
        outcome = run_galfit(feedme, imax=args.imax, mode=args.mode, workdir=workdir, sampling=args.sampling)
    except FitError as exc:
        return 1, str(exc)
    except Exception as exc:  # any other failure still gets one line and a non-zero status
        msg = " ".join(str(exc).split())
        return 2, f"internal error ({type(exc).__name__}: {msg}); please report it"
    if not outcome.output.exists():
        return 2, f"{outcome.output}: output not written; check the folder is writable"
    flags = " ".join(outcome.flags) or "none"
    return 0, (
        f"Chi^2 = {outcome.chi2:.5f}, ndof = {outcome.ndof}, Chi^2/nu = {outcome.chi2nu:.3f}, "
        f"iterations = {outcome.iterations}, flags = {flags} -> {outcome.output}"
    )


def _folder(given: str) -> Path:
    # The folder as 'cd' would reach it: a symbolic link to the file itself is not followed.
    return Path(given).absolute().parent.resolve()


def _report(given: str, status: int, line: str) -> None:
    if status == 0:
        print(f"{given}: {line}", flush=True)
    else:
        print(f"{_PROG}: {given}: {line}", file=sys.stderr, flush=True)


def _stopped(signum, frame):
    raise SystemExit(130)  # unwinds the fit, so no temporary output file is left behind


def _fit_folder(files, fit_file, conn) -> None:
    # Runs in the forked child, which ignores Ctrl-C: the parent takes it and stops the
    # children with SIGTERM.  One message per file, sent as each one ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGTERM, _stopped)
    for given in files:
        conn.send((given, *fit_file(given)))
    conn.close()


def run_folders(groups, jobs: int, fit_file) -> int:
    """Fit each group of input files in a forked child, ``jobs`` children at a time.

    Parameters
    ----------
    groups : list of list of str
        Input files as given; the files of one group run in order, in one child.
    jobs : int
        Children running at once.
    fit_file : callable
        ``fit_file(given) -> (status, line)``, called in the child.

    Returns
    -------
    int
        The largest exit status of the files (0 when every one wrote its output).  Lines are
        printed as files end; the files of a child that dies unreported get status 2.  On
        Ctrl-C the children are stopped and ``KeyboardInterrupt`` is raised again.
    """
    import multiprocessing
    from multiprocessing.connection import wait

    ctx = multiprocessing.get_context("fork")
    pending = deque(groups)
    running = {}  # the child's sentinel -> [process, pipe or None once at its end, files not yet reported]
    worst = 0
    try:
        while pending or running:
            while pending and len(running) < jobs:
                files = pending.popleft()
                receiver, sender = ctx.Pipe(duplex=False)
                child = ctx.Process(target=_fit_folder, args=(files, fit_file, sender), daemon=True)
                # Held, not lost, while the child forks (which then drops it, see _fit_folder).
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
                try:
                    child.start()
                finally:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
                sender.close()  # so the parent sees the pipe's end when the child exits
                running[child.sentinel] = [child, receiver, list(files)]
            # Pipes too: a child with many files must not block on a full pipe.
            ready = set(wait([*running, *(state[1] for state in running.values() if state[1] is not None)]))
            for sentinel, state in list(running.items()):
                worst = max(worst, _take_news(state, ready))
                if sentinel in ready:
                    del running[sentinel]
                    state[0].close()
    except KeyboardInterrupt:
        for child, _, _ in running.values():
            child.terminate()
        for child, _, _ in running.values():
            child.join()
        raise
    return worst


def _take_news(state: list, ready: set) -> int:
    # Reports what one child sent (and, once it has ended, what it left unreported); returns
    # the worst status among them.
    child, receiver, unreported = state
    ended = child.sentinel in ready
    worst = 0
    if receiver is not None and (ended or receiver in ready):
        while receiver.poll():
            try:
                given, status, line = receiver.recv()
            except EOFError:  # the child has ended and everything it sent is read
                receiver.close()
                state[1] = None
                break
            unreported.remove(given)
            worst = max(worst, status)
            _report(given, status, line)
    if ended:
        child.join()
        for given in unreported:
            worst = 2
            _report(given, 2, f"fitter process died (exit status {child.exitcode}); please report it")
    return worst


def main(argv=None) -> int:
    """Entry point of ``galfit-embedded``; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if len(args.feedme) > 1 and not args.each:
        parser.error("several input files need --each (each is fitted in the folder that holds it)")
    if args.jobs < 1:
        parser.error("-j: give the number of folders to fit at a time, 1 or more")
    # Threaded BLAS is far slower for the small dense solves of a fit.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    keep_freed_memory()
    from . import fit  # noqa: F401  imported before any fork, so children inherit it

    if not args.each:
        status, line = _fit_one(args.feedme[0], None, args)
        if status:
            print(f"{_PROG}: {line}", file=sys.stderr)
        else:
            print(line)
        return status
    groups: dict[Path, list[str]] = {}
    for given in args.feedme:
        groups.setdefault(_folder(given), []).append(given)

    def fit_file(given):
        return _fit_one(Path(given).name, _folder(given), args)

    try:
        return run_folders(list(groups.values()), args.jobs, fit_file)
    except KeyboardInterrupt:
        # Outputs are written whole or not at all, so fitting the rest again is safe.
        print(f"{_PROG}: interrupted; fit again the files not reported above", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
