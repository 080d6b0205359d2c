"""Checks before the first job: the engine can be started, the PSF is a PSF, the fitted region
lies inside the frame, and comp_ident gives every component but the sky an object (or marks it
ignored).  Each bad input stops a real Snakemake run with one line and no job run."""

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from conftest import shared_path
from faults.common import error_line, small_config, text
from galfit_unc import galfit_files as gf
from galfit_unc.preflight import check_coverage, check_engine, check_psf
from galfit_unc.config import ConfigError
from standins.harness import DECALS, make_workdir, out, snakemake


def decals(name) -> Path:
    return shared_path("decals-coolj0112", DECALS[name])


def comp_ident_without(tmp, *left_out, ignored=()) -> str:
    """The DECaLS comp_ident with ``left_out`` components removed and ``ignored`` marked ``-``."""
    lines = []
    for line in decals("comp_ident").read_text().splitlines():
        toks = line.split()
        if toks and not line.startswith("#"):
            comp = int(toks[0])
            if comp in left_out:
                continue
            if comp in ignored:
                line = f"{comp} -"
        lines.append(line)
    path = Path(tmp, "comp_ident.txt")
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def shifted_block(tmp, fitsect) -> str:
    with fits.open(decals("imgblock")) as hdul:
        hdul = fits.HDUList([h.copy() for h in hdul])
    hdul[2].header["FITSECT"] = fitsect
    path = Path(tmp, "block.fits")
    hdul.writeto(path)
    return str(path)


def not_executable(tmp) -> str:
    path = Path(tmp, "galfit")
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o644)
    return str(path)


def bad_interpreter(tmp) -> str:
    path = Path(tmp, "galfit")
    path.write_text("#!/nonexistent/python9\nprint('hi')\n")
    path.chmod(0o755)
    return str(path)


#: name -> tmp -> (config changes, targets-table columns, file and field of the line, what to do)
CASES = {
    "psf_is_imgblock": lambda tmp: ({}, {"psf": str(decals("imgblock"))}, (str(decals("imgblock")), "PSF: the file is a GALFIT image block"), "give the PSF image the fit used"),
    "region_beyond_frame": lambda tmp: ({}, {"imgblock": shifted_block(tmp, "[450:545,213:290]")}, ("block.fits", "FITSECT: the fitted region [450:545,213:290] reaches beyond the frame"), "give the image block of a fit on this frame"),
    "comp_ident_leaves_out": lambda tmp: ({}, {"comp_ident": comp_ident_without(tmp, 5, 13)}, ("comp_ident.txt", "components: 5 (sersic), 13 (sersic)"), "write 'component -'"),
    "engine_missing": lambda tmp: ({"fitter": {"engine": "galfit", "galfit": str(Path(tmp, "no-such-galfit"))}}, {}, ("config.yaml", "fitter.galfit", "not found"), "set fitter.galfit to the GALFIT executable"),
    "engine_not_executable": lambda tmp: ({"fitter": {"engine": "galfit", "galfit": not_executable(tmp)}}, {}, ("config.yaml", "fitter.galfit", "is not executable"), "chmod +x"),
    "engine_bad_interpreter": lambda tmp: ({"fitter": {"engine": "galfit", "galfit": bad_interpreter(tmp)}}, {}, ("config.yaml", "fitter.galfit", "/nonexistent/python9"), "fix its first line"),
    "config_misspelt_section": lambda tmp: ({"fiter": {"engine": "galfit"}}, {}, ("config.yaml", "fiter: unknown key"), "did you mean 'fitter'?"),
    "config_misspelt_key": lambda tmp: ({"windows": {"max_window": 20}}, {}, ("config.yaml", "windows.max_window: unknown key"), "did you mean 'windows.max_windows'?"),
}


def _run_case(name, root):
    tmp = root / name
    tmp.mkdir()
    config_changes, columns, needles, todo = CASES[name](tmp)
    work = tmp / "work"
    config = small_config(work)
    for section, values in config_changes.items():
        config[section] = {**config.get(section, {}), **values}
    make_workdir(work, shared_path, config, extra_columns=columns)
    return (needles, todo), work, snakemake(work)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("preflight")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_run_case, name, root) for name in CASES}
        return {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_stops_before_any_job(runs, name):
    (needles, todo), work, run = runs[name]
    assert run.returncode != 0, text(run)[-2000:]
    line = error_line(run, *needles)
    assert todo in line, line
    assert "Traceback" not in text(run)
    # Refused while the workflow is parsed: no job ran, nothing was written.
    assert "Building DAG of jobs" not in text(run)
    assert not Path(work, "results").exists() and not out(work, "mask.fits").exists()


def test_ignored_components_pass_and_are_in_no_object(tmp_path):
    path = comp_ident_without(tmp_path, ignored=(5, 13))
    check_coverage(path, decals("imgblock"))
    ident = gf.read_comp_ident(path, 24)
    assert 5 not in ident and 13 not in ident and len(ident) == 21 and "-" not in ident.values()
    assert gf.read_comp_ident(path, 24, keep_ignored=True)[13] == gf.IGNORE


def test_the_shared_comp_ident_covers_the_fit():
    # 23 Sérsic components listed, the sky (component 24) not: accepted.
    check_coverage(decals("comp_ident"), decals("imgblock"))


def test_real_psfs_pass(shared):
    check_psf(decals("psf"))
    check_psf(shared("galfit305-renders", "psf_example.fits"))
    check_psf(shared("galfit305-renders", "psf_fine2.fits"))


@pytest.mark.parametrize(
    "data, match",
    [
        (np.zeros((41, 41)), "pixel sum is 0"),
        (np.full((41, 41), np.nan), "not finite"),
        (np.pad(np.ones((3, 3)), ((0, 38), (0, 38))), "brightest pixel is at x=1, y=1, far from the centre x=21, y=21"),
    ],
)
def test_implausible_psfs_fail(tmp_path, data, match):
    path = tmp_path / "psf.fits"
    fits.PrimaryHDU(data).writeto(path)
    with pytest.raises(gf.GalfitFormatError, match=match) as err:
        check_psf(path)
    assert str(err.value).startswith(f"{path}: PSF: ")


def test_engine_on_path_and_embedded_pass(tmp_path):
    exe = tmp_path / "galfit"
    shutil.copyfile(Path(shutil.which("sh")), exe)
    exe.chmod(0o755)
    check_engine({"engine": "galfit", "galfit": str(exe)}, "c.yaml")
    check_engine({"engine": "embedded", "galfit": "/no/such/galfit"}, "c.yaml")
    with pytest.raises(ConfigError, match="c.yaml: fitter.galfit: 'no-such-galfit-here' not found"):
        check_engine({"engine": "galfit", "galfit": "no-such-galfit-here"}, "c.yaml")
