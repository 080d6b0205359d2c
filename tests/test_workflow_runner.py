"""The fit runner: per-attempt directories, success judged by the output block, timeouts
that kill the whole process group, thread caps, and failure recorded as data."""

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from galfit_unc import runner
from galfit_unc.galfit_files import read_feedme, read_fit_header, write_feedme
from standins.harness import engine

FEEDME = """A) injected.fits
B) output.fits
C) none
D) psf.fits
E) 1
F) none
G) none
H) 1 24 1 20
I) 24 20
J) 25.0
K) 0.26 0.26
O) regular
P) 0
 0) sersic
 1) 12.0 10.0 1 1
 3) 18.0 1
 4) 3.0 1
 5) 1.5 1
 9) 0.6 1
10) 30.0 1
 Z) 0
 0) sky
 1) 1.0 1
 2) 0.0 0
 3) 0.0 0
 Z) 0
"""


@pytest.fixture
def fit_files(tmp_path):
    rng = np.random.default_rng(1)
    fits.writeto(tmp_path / "image.fits", rng.normal(1.0, 0.1, (20, 24)).astype(np.float32))
    fits.writeto(tmp_path / "psf.fits", np.ones((5, 5), np.float32))
    (tmp_path / "fit.gal").write_text(FEEDME)
    return tmp_path, {"injected.fits": tmp_path / "image.fits", "psf.fits": tmp_path / "psf.fits"}


def attempts(final):
    return sorted(p.name for p in Path(final).parent.iterdir() if ".attempt-" in p.name)


def test_galfit_like_engine(fit_files, tmp_path):
    work, inputs = fit_files
    final = work / "r1" / "fit"
    rec = runner.run_fit(work / "fit.gal", final, engine="galfit", galfit_exe=engine(tmp_path, "galfit_like"), timeout=60, inputs=inputs)
    header = read_fit_header(final / "output.fits")
    assert rec.status == ("flagged" if header.flags else "ok")
    assert rec.chi2nu == header.chi2nu == 1.0
    assert rec.exit_code == 0 and rec.engine == "galfit" and rec.installed
    assert rec.output == str(final / "output.fits") and rec.seconds > 0 and rec.cpu_seconds > 0
    # Everything of the run sits in the final directory; no attempt directory is left.
    assert {"fit.gal", "injected.fits", "psf.fits", "output.fits", "fit.log", "galfit.01", "status.json", "attempt.json"} <= {p.name for p in final.iterdir()}
    assert attempts(final) == []
    assert json.loads((final / "status.json").read_text())["status"] == rec.status


def test_crash_with_exit_zero_is_failure(fit_files, tmp_path):
    work, inputs = fit_files
    rec = runner.run_fit(work / "fit.gal", work / "fit", engine="galfit", galfit_exe=engine(tmp_path, "crash_exit0"), inputs=inputs)
    assert rec.status == "failed" and rec.exit_code == 0
    # GALFIT's own words, from the engine's log (tests/standins/crash_exit0.py prints them).
    assert rec.reason == "no output block output.fits (engine exit status 0): Doh! GALFIT crashed because at least one of the model parameters is bad."
    assert "Doh!" in (work / "fit" / "engine.log").read_text()


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_timeout_kills_process_group(fit_files, tmp_path):
    work, inputs = fit_files
    t0 = time.monotonic()
    rec = runner.run_fit(work / "fit.gal", work / "fit", engine="galfit", galfit_exe=engine(tmp_path, "hang"), timeout=2, inputs=inputs)
    assert time.monotonic() - t0 < 15
    assert rec.status == "failed" and rec.reason.startswith("timeout after 2 s") and rec.exit_code is None
    child = int((work / "fit" / "hang.pids").read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(child), "the engine's child outlived the timeout"


def test_nonzero_exit_and_thread_cap(fit_files, tmp_path):
    work, inputs = fit_files
    exe = tmp_path / "threads.sh"
    exe.write_text('#!/bin/sh\necho "$OMP_NUM_THREADS $OPENBLAS_NUM_THREADS $MKL_NUM_THREADS" > threads.txt\necho "bad things" >&2\nexit 3\n')
    exe.chmod(0o755)
    rec = runner.run_fit(work / "fit.gal", work / "fit", engine="galfit", galfit_exe=str(exe), threads=3, inputs=inputs)
    assert rec.status == "failed" and rec.exit_code == 3
    assert rec.reason == "exit status 3: bad things"
    assert (work / "fit" / "threads.txt").read_text().split() == ["3", "3", "3"]


def test_missing_executable(fit_files):
    work, inputs = fit_files
    rec = runner.run_fit(work / "fit.gal", work / "fit", engine="galfit", galfit_exe=str(work / "no-galfit"), inputs=inputs)
    assert rec.status == "failed" and "cannot start engine" in rec.reason and "fitter.galfit" in rec.reason


def test_unreadable_output_block(tmp_path):
    (tmp_path / "output.fits").write_bytes(b"not a FITS file")
    verdict = runner.judge_output(tmp_path / "output.fits", 0)
    assert verdict["status"] == "failed" and verdict["reason"].startswith("unreadable output block")


def test_unknown_engine(fit_files):
    work, inputs = fit_files
    with pytest.raises(ValueError, match="fitter.engine: unknown engine 'pyimfit'"):
        runner.run_fit(work / "fit.gal", work / "fit", engine="pyimfit", inputs=inputs)


def _attempt(parent, name, started, marker):
    path = parent / name
    path.mkdir()
    (path / "attempt.json").write_text(json.dumps({"started_ns": started}))
    (path / "marker").write_text(marker)
    return path


def test_orphan_never_overwrites_later_result(tmp_path):
    final = tmp_path / "fit"
    _attempt(tmp_path, "fit", 200, "later")
    orphan = _attempt(tmp_path, "fit.attempt-100", 100, "orphan")
    assert not runner._install(orphan, final, 100)
    assert (final / "marker").read_text() == "later"
    newer = _attempt(tmp_path, "fit.attempt-300", 300, "newer")
    assert runner._install(newer, final, 300)
    assert (final / "marker").read_text() == "newer" and not newer.exists()
    assert [p.name for p in tmp_path.iterdir() if "retired" in p.name] == []


@pytest.fixture
def region4(shared, tmp_path):
    """Seed region 4 of the DECaLS case as a fit with plain file names."""
    runs = shared("decals-coolj0112", "galfit-reruns")
    data = shared("decals-coolj0112")
    fm = read_feedme(runs / "new_skycut_4.gal")
    fm.control.update(A="injected.fits", B="output.fits", D="psf.fits", G="constraints.txt")
    write_feedme(fm, tmp_path / "fit.gal")
    inputs = {"injected.fits": runs / "new_skycut_4.fits", "psf.fits": data / "psf_example.fits", "constraints.txt": data / "cons_rel.txt"}
    return tmp_path / "fit.gal", inputs


def test_embedded_engine(region4, tmp_path):
    feedme, inputs = region4
    rec = runner.run_fit(feedme, tmp_path / "r4" / "fit", engine="embedded", timeout=120, inputs=inputs)
    header = read_fit_header(tmp_path / "r4" / "fit" / "output.fits")
    assert rec.status in ("ok", "flagged") and rec.engine == "embedded" and rec.exit_code == 0
    assert rec.chi2nu == header.chi2nu and 0.2 < header.chi2nu < 5
    assert (rec.status == "flagged") == bool(header.fit_flags or header.suspect)


def test_embedded_engine_timeout_and_error(region4, tmp_path, monkeypatch):
    feedme, inputs = region4
    t0 = time.monotonic()
    rec = runner.run_fit(feedme, tmp_path / "slow" / "fit", engine="embedded", timeout=0.3, inputs=inputs)
    assert rec.status == "failed" and rec.reason.startswith("timeout after 0.3 s")
    assert time.monotonic() - t0 < 10
    # A missing input image is the engine's error, recorded as data (a relative fit
    # directory, as the workflow gives, must still lead the engine to its input file).
    del inputs["injected.fits"]
    monkeypatch.chdir(tmp_path)
    rec = runner.run_fit(feedme, Path("broken", "fit"), engine="embedded", timeout=60, inputs=inputs)
    assert rec.status == "failed" and rec.reason.startswith("engine error:") and "injected.fits" in rec.reason
    assert not os.path.exists(tmp_path / "broken" / "fit" / "output.fits")
