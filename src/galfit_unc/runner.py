"""Run one re-fit with a GALFIT-like engine, in a directory of its own, and judge the result.

Every attempt runs in a fresh directory ``<final>.attempt-<start ns>-<uuid>`` next to the
final one, with its inputs staged under plain names (GALFIT splits its lines on white
space).  Only a finished attempt is moved to ``<final>``, under a lock, and only if no
attempt that started later has already been installed there: an orphaned run can never
overwrite a newer result.

Engines
-------
``galfit``
    An executable run as ``exe fit.gal`` with stdin from /dev/null, in a new session so a
    timeout kills its whole process group (SIGTERM, then SIGKILL), with BLAS/OpenMP thread
    counts capped in its environment.
``embedded``
    :func:`galfit_unc.fitter.fit.run_galfit` in a forked child process.  Forking costs
    milliseconds and re-imports nothing (an interpreter start with numpy and astropy costs
    about a second here, as long as a small fit), yet the parent can still kill the child
    on timeout, which an in-process watchdog could not do while the fitter is inside a
    long numpy call.

A fit succeeded only if its output block exists and parses: GALFIT 3.0.5 exits 0 after a
crash without writing one.  The returned record says ``ok``, ``flagged`` or ``failed`` (no
or unreadable output block, non-zero exit, timeout, engine error) with the reason; failure
is data, never an exception.  A fit is ``flagged`` for what its block has and the user's
original fit had not (:func:`judge_header`): a fit-quality FLAGS value (1 iteration limit,
2 suspected convergence error) or a value marked ``*…*``.  GALFIT's warning flags (``A-3``,
``H-1``, …) say which inputs were absent and are not fit flags.
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import math
import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from galfit_unc.fitter.allocator import keep_freed_memory
from galfit_unc.galfit_files import GalfitFormatError, read_feedme, read_fit_header
from galfit_unc.records import FitRecord

__all__ = ["STAGE_NAMES", "ENGINES", "THREAD_VARIABLES", "FIT_FLAGS", "run_fit", "judge_header", "judge_output", "thread_env"]

#: Plain names of the files a re-fit's input file refers to, inside its fit directory.
STAGE_NAMES = {
    "feedme": "fit.gal",
    "image": "injected.fits",
    "output": "output.fits",
    "psf": "psf.fits",
    "constraints": "constraints.txt",
    "mask": "badpix.fits",
    "sigma": "sigma.fits",
}
ENGINES = ("embedded", "galfit")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
#: GALFIT's fit-quality FLAGS values and the ``flag`` word each one gives a re-fit.
FIT_FLAGS = {"1": "iteration_limit", "2": "convergence"}
_FLAG_TEXT = {"1": "iteration limit", "2": "suspected convergence error"}
_STAMP = "attempt.json"
_KILL_GRACE = 3.0


def thread_env(threads: int, base=None) -> dict:
    """Environment ``base`` (default ``os.environ``) with BLAS/OpenMP threads set to ``threads``."""
    env = dict(os.environ if base is None else base)
    env.update({name: str(int(threads)) for name in THREAD_VARIABLES})
    return env


def _one_line(text: str) -> str:
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _engine_message(log) -> str:
    """GALFIT's crash line ("Doh! GALFIT crashed because ...") from ``log``, else its last line."""
    try:
        text = Path(log).read_text(errors="replace")
    except OSError:
        return ""
    crashes = [ln.strip() for ln in text.splitlines() if "crashed" in ln or ln.strip().startswith("Doh!")]
    return " ".join(crashes[-1].split()) if crashes else " ".join(_one_line(text).split())


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the engine's process group, then SIGKILL whatever is left of it."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(_KILL_GRACE)
    except subprocess.TimeoutExpired:
        pass
    try:
        # Also reaches members that ignored SIGTERM or outlived the leader.
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _run_galfit(exe, workdir: Path, timeout, threads):
    """Run a GALFIT-like executable; return (exit code or None, failure reason or "")."""
    with open(workdir / "engine.log", "wb") as log:
        try:
            proc = subprocess.Popen(
                [exe, STAGE_NAMES["feedme"]],
                cwd=workdir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=thread_env(threads),
            )
        except OSError as exc:
            return None, f"cannot start engine {exe!r} ({exc.strerror}); set fitter.galfit to a GALFIT executable"
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return None, f"timeout after {timeout:g} s (process group killed)"
    if code != 0:
        tail = _one_line((workdir / "engine.log").read_text(errors="replace"))
        return code, f"exit status {code}" + (f": {tail}" if tail else "")
    return code, ""


def _embedded_child(workdir: Path, conn) -> None:
    # Runs in the forked child: its output goes to the attempt's log, the verdict to the pipe.
    fd = os.open(workdir / "engine.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.chdir(workdir)
    keep_freed_memory()
    try:
        # Imported here, inside the try: a fitter that cannot be imported is an engine error
        # like any other (the batch imports it once before forking, so this costs nothing).
        from galfit_unc.fitter.fit import run_galfit

        run_galfit(STAGE_NAMES["feedme"], workdir=str(workdir))
        conn.send("")
    except BaseException as exc:  # any engine error is reported as data
        conn.send(f"engine error: {_one_line(exc) or type(exc).__name__}")
        raise SystemExit(1) from None


def _run_embedded(workdir: Path, timeout, threads):
    # The child changes into the directory: a relative path would no longer lead there.
    workdir = workdir.resolve()
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    saved = {k: os.environ.get(k) for k in THREAD_VARIABLES}
    os.environ.update(thread_env(threads, {}))
    try:
        child = ctx.Process(target=_embedded_child, args=(workdir, sender), daemon=True)
        child.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    sender.close()
    child.join(timeout)
    if child.is_alive():
        child.terminate()
        child.join(_KILL_GRACE)
        if child.is_alive():
            child.kill()
            child.join()
        return None, f"timeout after {timeout:g} s (engine process killed)"
    message = receiver.recv() if receiver.poll() else f"engine died (exit status {child.exitcode})"
    return child.exitcode, message


def _children_cpu() -> float:
    # The engine is this process's only child while it runs, and it has been waited for.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _held_by_original(header, original, key: str) -> bool:
    """Whether the original fit already has the ``*…*`` value ``key`` (``<component>_<name>``)
    of ``header``: marked ``*…*`` itself, or at the same value (the same bound: GALFIT does
    not mark every value sitting on a constraint bound, the embedded fitter does)."""
    if key in original.suspect:
        return True
    number, name = key.split("_", 1)
    try:
        mine, theirs = header.component(int(number))[name].value, original.component(int(number))[name].value
    except KeyError:
        return False
    return math.isclose(mine, theirs, rel_tol=1e-4, abs_tol=1e-4)


def judge_header(header, original=None) -> dict:
    """Status of a parsed output block, relative to the user's original fit.

    Only what ``original`` does not have counts: a FLAGS value of :data:`FIT_FLAGS` that the
    original's FLAGS lacks, and a ``*…*`` value (numerically suspect, often at a constraint
    bound) of a parameter that is neither ``*…*`` in the original nor at the original's
    value (to 1e-4).  A re-fit that only repeats the original's problems is ``ok``; the
    user's fit already carries them.

    Parameters
    ----------
    header : galfit_unc.galfit_files.FitHeader
        The re-fit's image-block header.
    original : galfit_unc.galfit_files.FitHeader, optional
        The original fit's header; None judges the block on its own (everything is new).

    Returns
    -------
    dict
        ``status`` (ok | flagged), ``reason``, ``chi2nu``, ``flag`` (the words of
        :data:`FIT_FLAGS` for new FLAGS values, then ``bound`` for new ``*…*`` values, space
        separated), ``new_flags`` (FLAGS values) and ``new_suspect`` (``<component>_<key>``).
    """
    known_flags = set(original.fit_flags) if original is not None else set()
    new_flags = [f for f in header.fit_flags if f not in known_flags]
    new_suspect = [k for k in header.suspect if original is None or not _held_by_original(header, original, k)]
    words = [FIT_FLAGS[f] for f in sorted(set(new_flags))] + (["bound"] if new_suspect else [])
    problems = []
    if new_flags:
        problems.append("FLAGS " + " ".join(f"{f} ({_FLAG_TEXT[f]})" for f in new_flags))
    if new_suspect:
        problems.append("suspect " + " ".join(new_suspect))
    reason = "; ".join(problems)
    if reason and original is not None:
        reason = "new vs the original: " + reason
    return {
        "status": "flagged" if problems else "ok",
        "reason": reason,
        "chi2nu": header.chi2nu,
        "flag": " ".join(words),
        "new_flags": new_flags,
        "new_suspect": new_suspect,
    }


def judge_output(output, exit_code, failure: str = "", original=None) -> dict:
    """Status of a finished run from its output block.

    Parameters
    ----------
    output : path-like
        The output block the input file asked for.
    exit_code : int or None
        The engine's exit status (None: it did not exit by itself).
    failure : str
        Why the run failed, when already known (timeout, non-zero exit, engine error).
    original : galfit_unc.galfit_files.FitHeader, optional
        The user's original fit, against which flags are judged (:func:`judge_header`).

    Returns
    -------
    dict
        ``status`` (ok | flagged | failed), ``reason``, ``chi2nu`` (None unless parsed);
        a parsed block adds the fields of :func:`judge_header`.
    """
    if failure:
        return {"status": "failed", "reason": failure, "chi2nu": None}
    output = Path(output)
    if not output.exists():
        # GALFIT exits 0 after a crash; its own last words are in the engine's log.
        said = _engine_message(output.parent / "engine.log")
        return {"status": "failed", "reason": f"no output block {output.name} (engine exit status {exit_code})" + (f": {said}" if said else ""), "chi2nu": None}
    try:
        header = read_fit_header(output)
    except GalfitFormatError as exc:
        return {"status": "failed", "reason": f"unreadable output block: {exc}", "chi2nu": None}
    return judge_header(header, original)


def _stage(inputs: dict, feedme, workdir: Path) -> None:
    shutil.copyfile(feedme, workdir / STAGE_NAMES["feedme"])
    for name, src in inputs.items():
        if os.sep in name or name in ("", ".", ".."):
            raise ValueError(f"staged name {name!r} must be a plain file name")
        # Copies keep the fit directory self-contained after upstream files are removed.
        shutil.copyfile(src, workdir / name)


def _install(attempt: Path, final: Path, started: int) -> bool:
    """Move ``attempt`` to ``final`` unless a later-started attempt is already there."""
    with open(final.parent / f".{final.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if final.exists():
            try:
                current = json.loads((final / _STAMP).read_text())["started_ns"]
            except (OSError, ValueError, KeyError):
                current = -1
            if current > started:
                return False
            retired = final.with_name(f"{final.name}.retired-{uuid.uuid4().hex[:8]}")
            os.rename(final, retired)
            os.rename(attempt, final)
            shutil.rmtree(retired)
        else:
            os.rename(attempt, final)
    return True


def run_fit(feedme, workdir_final, *, engine, galfit_exe="galfit", timeout=600.0, threads=1, inputs=None, original=None) -> dict:
    """Run one re-fit and return its status record.

    Parameters
    ----------
    feedme : path-like
        GALFIT input file; staged as ``fit.gal``.  Its file names must be the plain names
        of ``inputs`` (see :data:`STAGE_NAMES`); its B) names the output block.
    workdir_final : path-like
        Where the fit directory ends up (fit.gal, inputs, output block, fit.log, galfit.NN,
        engine.log, attempt.json).
    engine : {"embedded", "galfit"}
    galfit_exe : str
        Executable for engine ``galfit``.
    timeout : float
        Seconds before the engine is killed.
    threads : int
        BLAS/OpenMP thread cap for the engine.
    inputs : dict, optional
        Plain name -> path of every file to stage.
    original : galfit_unc.galfit_files.FitHeader, optional
        The user's original fit: flags are judged against it (:func:`judge_header`).

    Returns
    -------
    FitRecord
        Its status, wall and CPU time (the engine's processes, user + system), engine, exit
        code and output block (in the final directory); when an attempt that started later
        was installed first, that one's record with ``installed`` False.
    """
    if engine not in ENGINES:
        raise ValueError(f"fitter.engine: unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    final = Path(workdir_final)
    final.parent.mkdir(parents=True, exist_ok=True)
    started = time.time_ns()
    attempt = final.with_name(f"{final.name}.attempt-{started}-{uuid.uuid4().hex[:8]}")
    attempt.mkdir()
    (attempt / _STAMP).write_text(json.dumps({"started_ns": started, "engine": engine}) + "\n")
    _stage(inputs or {}, feedme, attempt)
    output_name = read_feedme(attempt / STAGE_NAMES["feedme"]).output_block or STAGE_NAMES["output"]
    t0, cpu0 = time.monotonic(), _children_cpu()
    if engine == "galfit":
        code, failure = _run_galfit(galfit_exe, attempt, timeout, threads)
    else:
        code, failure = _run_embedded(attempt, timeout, threads)
    seconds, cpu = time.monotonic() - t0, _children_cpu() - cpu0
    verdict = judge_output(attempt / output_name, code, failure, original)
    record = FitRecord(**verdict, seconds=round(seconds, 3), cpu_seconds=round(cpu, 3), engine=engine, exit_code=code, output=str(final / output_name))
    (attempt / "status.json").write_text(json.dumps(record.to_json(), indent=1) + "\n")
    if _install(attempt, final, started):
        return record
    # A later attempt finished first: its result stands, and so does its record.
    shutil.rmtree(attempt)
    return dataclasses.replace(FitRecord.from_json(json.loads((final / "status.json").read_text())), installed=False)
