"""A run killed partway through its fits (SIGKILL to Snakemake and every job of its process
group) recovers with the commands the README gives, and its tables are byte-identical to
an uninterrupted run's, although the killed fits' engines live on and write late results."""

import os
import signal
import subprocess
import time

from conftest import shared_path
from faults.common import TABLES, reference_run, small_config, tables, text
from faults.engine import install
from standins.harness import REPO, SNAKEMAKE, make_workdir, out, snakemake


def start(workdir) -> subprocess.Popen:
    """The workflow in a process group of its own, as a terminal or batch job starts it."""
    cmd = [str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"), "--cores", "2"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def wait_for(condition, proc, timeout=300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, "the workflow ended before it could be interrupted"
        assert time.monotonic() < deadline, "the fits never started"
        time.sleep(0.05)


def test_killed_run_recovers_to_identical_tables(tmp_path):
    reference = tables(reference_run(shared_path))
    work = tmp_path / "w"
    work.mkdir()
    poison = tmp_path / "killed"
    # Each fit takes 3 s, so engines are busy when the kill comes; those that were started
    # before it write a poisoned result (magnitudes + 5) into their attempt directory later.
    make_workdir(work, shared_path, small_config(work, install(work, delay=3, poison=poison)))
    proc = start(work)
    regions = work / "results" / "cool" / "z" / "windows"
    # Partway: one fit done, another one's engine started (it has looked at the poison file;
    # waiting only for its attempt directory raced with the engine's interpreter start-up).
    wait_for(lambda: any(regions.glob("*/status.json")) and any(regions.glob("*/fit.attempt-*/started")), proc)
    os.killpg(proc.pid, signal.SIGKILL)
    poison.touch()
    assert proc.wait(30) == -signal.SIGKILL
    assert not out(work, "magnitudes.tsv").exists()

    refused = snakemake(work)
    assert refused.returncode != 0 and "--unlock" in text(refused)
    unlock = snakemake(work, "--unlock")
    assert unlock.returncode == 0, text(unlock)[-2000:]
    rerun = snakemake(work, "--rerun-incomplete")
    assert rerun.returncode == 0, text(rerun)[-3000:]

    # The killed fits' engines finished after the kill, in directories no longer used.
    deadline = time.monotonic() + 30
    while not list(regions.glob("*/fit.attempt-*/late.txt")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(regions.glob("*/fit.attempt-*/late.txt")), "no killed engine wrote late; the test did not test that"
    assert not list(regions.glob("*/fit/late.txt"))
    assert tables(work) == reference, [name for name in TABLES if tables(work)[name] != reference[name]]
