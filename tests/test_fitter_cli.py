"""``galfit-embedded``: exit status, one-line errors, no output block on failure."""

import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from galfit_unc import galfit_files as gf
from galfit_unc.fitter.cli import main

FEEDME = """
A) data.fits
B) block.fits
C) none
D) none
F) none
G) {cons}
H) 1 40 1 40
I) 40 40
J) 25.0
P) 0
0) gaussian
1) 20.3 19.6 1 1
3) 16.0 1
4) 4.0 1
9) 0.8 1
10) 20.0 1
0) sky
1) 100.0 1
2) 0.0 0
3) 0.0 0
"""


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A small blob on a flat sky with Poisson-like noise, and a feedme that fits it."""
    y, x = np.mgrid[1:41, 1:41]
    rng = np.random.default_rng(1)
    blob = 2000 * np.exp(-((x - 20.0) ** 2 + (y - 20.0) ** 2) / (2 * 1.8**2))
    data = rng.normal(100 + blob, np.sqrt(100 + blob))
    fits.writeto(tmp_path / "data.fits", data.astype(np.float32), fits.Header({"EXPTIME": 1.0, "GAIN": 1.0, "NCOMBINE": 1}))
    (tmp_path / "galfit.feedme").write_text(FEEDME.format(cons="none"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def assert_refused(capsys, folder, pattern, *argv):
    status, out, err = run(capsys, "galfit.feedme", *argv)
    assert status != 0
    assert len(err.strip().splitlines()) == 1, err
    assert pattern in err, err
    assert not (folder / "block.fits").exists()
    assert not list(folder.glob("galfit.[0-9]*"))


def test_fit_writes_block_log_and_restart(capsys, folder):
    status, out, err = run(capsys, "galfit.feedme")
    assert status == 0, err
    hdr = gf.read_fit_header(folder / "block.fits")
    assert hdr.component(1)["XC"].value == pytest.approx(20.0, abs=0.05)
    assert hdr.component(2)["SKY"].value == pytest.approx(100.0, abs=1.0)
    assert (folder / "galfit.01").exists() and (folder / "fit.log").exists()
    assert "Chi^2" in out


def test_o2_writes_block_without_fitting(capsys, folder):
    status, _, err = run(capsys, "galfit.feedme", "-o2")
    assert status == 0, err
    hdr = gf.read_fit_header(folder / "block.fits")
    assert hdr.component(1)["MAG"].value == pytest.approx(16.0)
    assert not (folder / "fit.log").exists() and not (folder / "galfit.01").exists()


def test_o1_writes_model_only(capsys, folder):
    status, _, err = run(capsys, "galfit.feedme", "-o1")
    assert status == 0, err
    with fits.open(folder / "block.fits") as hdul:
        assert len(hdul) == 1 and hdul[0].data.shape == (40, 40)


def test_imax_limit_sets_flag(capsys, folder):
    status, _, err = run(capsys, "galfit.feedme", "-imax", "1")
    assert status == 0, err
    assert "1" in gf.read_fit_header(folder / "block.fits").fit_flags


def test_unreadable_fits(capsys, folder):
    (folder / "data.fits").write_text("this is not a FITS file\n")
    assert_refused(capsys, folder, "data.fits: A) input image: unreadable FITS")


def test_missing_image(capsys, folder):
    (folder / "data.fits").unlink()
    assert_refused(capsys, folder, "data.fits: A) input image: file not found")


def test_unknown_control_key(capsys, folder):
    (folder / "galfit.feedme").write_text(FEEDME.format(cons="none").replace("P) 0", "P) 0\nX) 5"))
    assert_refused(capsys, folder, "unknown control key 'X'")


def test_unknown_component_type(capsys, folder):
    (folder / "galfit.feedme").write_text(FEEDME.format(cons="none").replace("0) gaussian", "0) blob"))
    assert_refused(capsys, folder, "unknown component type 'blob'")


def test_unsupported_row(capsys, folder):
    text = FEEDME.format(cons="none").replace("0) sky", "0) nuker\n1) 10 10 1 1\n3) 18 1\n4) 3 1\n5) 1 1\n6) 2 1\n7) 0.5 1\n9) 1 1\n10) 0 1\nR0) powerlaw\n0) sky")
    (folder / "galfit.feedme").write_text(text)
    assert_refused(capsys, folder, "component 2 (nuker): hidden row R0)")


def test_galfit2_feedme(capsys, folder):
    text = FEEDME.format(cons="none").replace("9) 0.8 1\n10) 20.0 1", "8) 0.8 1\n9) 20.0 1\n10) 0.0 0")
    (folder / "galfit.feedme").write_text(text)
    assert_refused(capsys, folder, "GALFIT 2 numbering")


def test_constraint_on_missing_component(capsys, folder):
    (folder / "cons.txt").write_text("3 mag -1 1\n")
    (folder / "galfit.feedme").write_text(FEEDME.format(cons="cons.txt"))
    assert_refused(capsys, folder, "component 3 does not exist")


def test_missing_constraint_file(capsys, folder):
    (folder / "galfit.feedme").write_text(FEEDME.format(cons="nothere.txt"))
    assert_refused(capsys, folder, "nothere.txt: G) constraint file: not found; check the path or write 'none'")


def test_missing_input_file(capsys, folder):
    status, _, err = run(capsys, "nothere.feedme")
    assert status != 0 and len(err.strip().splitlines()) == 1 and "not found" in err


def test_installed_command(folder):
    # Found as a user's shell finds it once the environment is active: its scripts folder
    # first on PATH (whether or not the tests were started with it there).
    scripts = sysconfig.get_path("scripts")
    env = {**os.environ, "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")])}
    exe = shutil.which("galfit-embedded", path=env["PATH"])
    assert exe and Path(exe).parent == Path(scripts), f"galfit-embedded is not installed in {scripts} (pip install -e .)"
    proc = subprocess.run([exe, "galfit.feedme", "-o2"], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    # -o2: the block holds the input values, unfitted.
    hdr = gf.read_fit_header(folder / "block.fits")
    assert (hdr.component(1)["MAG"].value, hdr.component(1)["FWHM"].value, hdr.component(2)["SKY"].value) == (16.0, 4.0, 100.0)
    bad = subprocess.run([exe, "missing.feedme"], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120, env=env)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1


def test_fit_process_leaves_out_astropy_wcs(folder):
    # A fit reads images and needs no WCS; astropy.wcs would load astropy.coordinates
    # (about 0.3 CPU-s of every galfit-embedded process, see docs/benchmarks.md).
    code = (
        "import sys\n"
        "from galfit_unc.fitter.cli import main\n"
        "status = main(['galfit.feedme'])\n"
        "print(status, sorted(m for m in sys.modules if m.startswith(('astropy.wcs', 'astropy.coordinates'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "0 []"


def _copy_case(folder, name, feedme_text=None):
    sub = folder / name
    sub.mkdir()
    shutil.copy(folder / "data.fits", sub / "data.fits")
    (sub / "galfit.feedme").write_text(feedme_text or (folder / "galfit.feedme").read_text())
    return sub


def test_each_fits_every_file_in_its_folder_as_alone(capsys, folder):
    a = _copy_case(folder, "a")
    b = _copy_case(folder, "b")
    (b / "other.feedme").write_text(FEEDME.format(cons="none").replace("B) block.fits", "B) block2.fits"))
    status, out, err = run(capsys, "--each", "-j", "2", "a/galfit.feedme", "b/galfit.feedme", "b/other.feedme")
    assert status == 0, err
    lines = out.strip().splitlines()
    assert sorted(line.split(": ")[0] for line in lines) == ["a/galfit.feedme", "b/galfit.feedme", "b/other.feedme"]
    assert all("Chi^2 = " in line for line in lines)
    # The same fit as a run of its own in its folder, to the bit.
    status, _, err = run(capsys, "galfit.feedme")
    assert status == 0, err
    alone = fits.getdata(folder / "block.fits", 2)
    for block in (a / "block.fits", b / "block.fits", b / "block2.fits"):
        assert np.array_equal(fits.getdata(block, 2), alone), block
    # Files of one folder ran one after the other: two restart files, two fit.log entries.
    assert (b / "galfit.01").exists() and (b / "galfit.02").exists() and not (a / "galfit.02").exists()
    assert (b / "fit.log").read_text().count("Chi^2/nu") == 2


def test_each_reports_bad_input_and_goes_on(capsys, folder):
    a = _copy_case(folder, "a")
    b = _copy_case(folder, "b")
    (b / "data.fits").unlink()
    status, out, err = run(capsys, "--each", "a/galfit.feedme", "b/galfit.feedme")
    assert status == 1
    assert out.startswith("a/galfit.feedme: Chi^2 = ") and len(out.strip().splitlines()) == 1
    assert len(err.strip().splitlines()) == 1 and err.startswith("galfit-embedded: b/galfit.feedme: ") and "data.fits" in err
    assert (a / "block.fits").exists() and not (b / "block.fits").exists()


def test_several_inputs_need_each(capsys, folder):
    with pytest.raises(SystemExit) as stop:
        main(["galfit.feedme", "galfit.feedme"])
    assert stop.value.code == 2 and "--each" in capsys.readouterr().err
    assert not (folder / "block.fits").exists()


def test_each_reports_a_child_that_dies(capsys):
    from galfit_unc.fitter.cli import run_folders

    def fit_file(given):
        if given == "z":
            os._exit(7)
        return (0, "fine") if given == "x" else (1, "bad input")

    assert run_folders([["x"], ["y", "z"]], 2, fit_file) == 2
    out, err = capsys.readouterr()
    assert out == "x: fine\n"
    assert sorted(err.strip().splitlines()) == [
        "galfit-embedded: y: bad input",
        "galfit-embedded: z: fitter process died (exit status 7); please report it",
    ]


def test_each_many_files_in_one_folder_do_not_block():
    # 1000 lines of 200 characters overfill a pipe: the parent must read while the child writes.
    # With 64 open files allowed, 300 folders also show that no child leaves its pipes open.
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))\n"
        "from galfit_unc.fitter.cli import run_folders\n"
        "status = run_folders([[str(i) for i in range(1000)]], 1, lambda given: (0, 'x' * 200))\n"
        "status += run_folders([[f'f{i}'] for i in range(300)], 2, lambda given: (0, 'ok'))\n"
        "print('status', status)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1301 and lines[-1] == "status 0" and lines[0] == "0: " + "x" * 200 and "f299: ok" in lines


def test_each_runs_a_linked_file_where_the_link_is(capsys, folder):
    a = _copy_case(folder, "a")
    c = folder / "c"
    c.mkdir()
    shutil.copy(folder / "data.fits", c / "data.fits")
    (c / "link.feedme").symlink_to(a / "galfit.feedme")
    status, out, err = run(capsys, "--each", "c/link.feedme", "c/link.feedme")
    assert status == 0, err
    assert out.count("c/link.feedme: Chi^2 = ") == 2
    assert (c / "block.fits").exists() and (c / "galfit.02").exists()
    assert not (a / "block.fits").exists() and not (a / "fit.log").exists()


def test_each_interrupted_says_so_once(folder):
    subs = [_copy_case(folder, f"f{i}") for i in range(8)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "galfit_unc.fitter.cli", "--each", *(f"f{i}/galfit.feedme" for i in range(8))],
        cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    first = proc.stdout.readline()  # one fit done: interrupt the next, as Ctrl-C would (the whole group)
    os.killpg(proc.pid, signal.SIGINT)
    rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["galfit-embedded: interrupted; fit again the files not reported above"]
    reported = [line.split("/")[0] for line in (first + rest).splitlines()]
    assert reported and len(reported) < 8
    assert all((folder / name / "block.fits").exists() for name in reported)
    assert not [p for sub in subs for p in sub.iterdir() if p.name.endswith(".tmp")]


def test_each_runs_every_example_input_or_says_why_in_one_line(tmp_path):
    # Every real GALFIT input file of tests/data/galfit-examples, model only, in a copy of the
    # tree (outputs go next to the input files).  The ones that stop lack a PSF or constraint
    # file that their projects did not publish, or carry a hidden row on the sky (refused).
    from conftest import shared_path
    from test_galfit_files import INPUT_FILES

    tree = tmp_path / "galfit-examples"
    shutil.copytree(shared_path("galfit-examples"), tree)
    inputs = ["/".join(p[1:]) for p in INPUT_FILES if p[0] == "galfit-examples"]
    proc = subprocess.run(
        [sys.executable, "-m", "galfit_unc.fitter.cli", "--each", "-j", "2", "-o1", *inputs],
        cwd=tree, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600,
    )
    assert proc.returncode == 1, proc.stderr
    done = {}
    for line in proc.stdout.splitlines():
        given, summary = line.split(": ", 1)
        assert summary.startswith("Chi^2 = "), line
        done[given] = Path(summary.rsplit(" -> ", 1)[1])
    stopped = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"^galfit-embedded: (\S+): (\S+): ([^;]+); (.+)$", line)
        assert m and "internal error" not in line, line
        stopped[m.group(1)] = m.group(3)
    assert sorted([*done, *stopped]) == sorted(inputs)
    assert all(path.is_file() for path in done.values())
    assert set(stopped.values()) == {
        "D) PSF: file not found", "G) constraint file: not found",
        "component 11 (sky) row B1): GALFIT ignores hidden rows on psf and sky components",
    }
    assert sorted(done) == [
        "galfit_wrapper/r_band_psf.galfit", *(f"meg-main/galfit/galfit.{s}" for s in ("01", "06", "07", "08", "09", "10")),
        "meg-main/galfit/galfit.n777", "meg-main/galfit/galfit.ngc4874", "meg-main/galfit/galfit.ngc4874est",
    ]
