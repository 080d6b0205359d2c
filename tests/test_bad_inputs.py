"""The catalogue of bad inputs: each runs the real entry point (the workflow, or
``galfit-embedded``) and expects a non-zero exit, one line naming the file, the field and
what to do, and no output that Snakemake (or a user) would take as complete.

The workflow cases run concurrently, two at a time, in one module fixture: each is a
Snakemake start of a few seconds, most of it Snakemake's own import and parse."""

import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from conftest import shared_path
from galfit_unc.targets import FILE_COLUMNS
from faults.common import error_line, small_config, text
from standins.harness import DECALS, make_workdir, out, snakemake

GALFIT_EMBEDDED = Path(sys.executable).with_name("galfit-embedded")
CASES = {}


def case(func):
    """Register a workflow case: ``func(tmp) -> dict`` describing the bad input (see below)."""
    CASES[func.__name__] = func
    return func


def decals(name) -> Path:
    return shared_path("decals-coolj0112", DECALS[name])


def block_with(tmp, edit) -> str:
    """A copy of the image block whose HDU list went through ``edit(hdul)``."""
    with fits.open(decals("imgblock")) as hdul:
        hdul = fits.HDUList([h.copy() for h in hdul])
    edit(hdul)
    path = Path(tmp, "block.fits")
    hdul.writeto(path)
    return str(path)


def header_edit(**cards):
    """``edit`` for :func:`block_with`: set (or delete, for None) HDU2 cards."""

    def edit(hdul):
        for key, value in cards.items():
            if value is None:
                for k in [k for k in hdul[2].header if k == key or (key == "COMP_*" and k.startswith("COMP_"))]:
                    del hdul[2].header[k]
            else:
                hdul[2].header[key] = value

    return edit


def frame_with(tmp, data, name="frame.fits") -> str:
    path = Path(tmp, name)
    fits.PrimaryHDU(data).writeto(path)
    return str(path)


def text_file(tmp, name, body) -> str:
    path = Path(tmp, name)
    path.write_text(body)
    return str(path)


# Each case returns: columns (targets-row overrides), config (changes), table (whole targets
# table text, replacing the generated one), file (how the error names the file), field, todo,
# absent (outputs that must not exist afterwards; windows.tsv always).


@case
def missing_image(tmp):
    return {"columns": {"image": f"{tmp}/nope.fits"}, "file": "nope.fits", "field": "column 'image'", "todo": "fix the path"}


@case
def missing_imgblock(tmp):
    return {"columns": {"imgblock": f"{tmp}/nope_block.fits"}, "file": "nope_block.fits", "field": "column 'imgblock'", "todo": "fix the path"}


@case
def missing_psf(tmp):
    return {"columns": {"psf": f"{tmp}/nope_psf.fits"}, "file": "nope_psf.fits", "field": "column 'psf'", "todo": "fix the path"}


@case
def missing_constraints(tmp):
    return {"columns": {"constraints": f"{tmp}/nope.cons"}, "file": "nope.cons", "field": "column 'constraints'", "todo": "fix the path"}


@case
def missing_comp_ident(tmp):
    return {"columns": {"comp_ident": f"{tmp}/nope.txt"}, "file": "nope.txt", "field": "column 'comp_ident'", "todo": "fix the path"}


@case
def image_without_2d_hdu(tmp):
    path = frame_with(tmp, np.zeros(16))
    return {"columns": {"image": path}, "file": path, "field": "NAXIS", "todo": "give a 2-D image"}


@case
def image_cube(tmp):
    cube = np.stack([fits.getdata(decals("image"))] * 3)
    path = frame_with(tmp, cube)
    return {"columns": {"image": path}, "file": path, "field": "NAXIS", "todo": "extract one plane of a cube"}


@case
def imgblock_three_hdus(tmp):
    path = block_with(tmp, lambda hdul: hdul.pop())
    return {"columns": {"imgblock": path}, "file": path, "field": "HDUs", "todo": "give a GALFIT output image block"}


@case
def imgblock_without_comp_1(tmp):
    path = block_with(tmp, header_edit(**{"COMP_*": None}))
    return {"columns": {"imgblock": path}, "file": path, "field": "HDU2 COMP_1", "todo": "give a GALFIT output image block"}


@case
def fitsect_missing(tmp):
    path = block_with(tmp, header_edit(FITSECT=None))
    return {"columns": {"imgblock": path}, "file": path, "field": "HDU2 FITSECT", "todo": "give a GALFIT output image block"}


@case
def fitsect_unparsable(tmp):
    path = block_with(tmp, header_edit(FITSECT="[220-315,213-290]"))
    return {"columns": {"imgblock": path}, "file": path, "field": "FITSECT", "todo": "expected '[x1:x2,y1:y2]'"}


@case
def parameter_value_unparsable(tmp):
    path = block_with(tmp, header_edit(**{"1_MAG": "20.7x +/- 0.04"}))
    return {"columns": {"imgblock": path}, "file": path, "field": "1_MAG", "todo": "re-run the fit"}


@case
def window_larger_than_frame(tmp):
    path = block_with(tmp, header_edit(FITSECT="[1:600,1:90]"))
    return {"columns": {"imgblock": path}, "file": path, "field": "FITSECT", "todo": "give the image block of a fit on this frame"}


@case
def frame_all_nan(tmp):
    path = frame_with(tmp, np.full(fits.getdata(decals("image")).shape, np.nan, dtype=np.float32))
    # Not the frame of the image block: refused before any job, by comparison with its HDU1.
    return {"columns": {"image": path}, "file": path, "field": "pixels of FITSECT", "todo": "give the frame the original fit was run on", "absent": ["mask.fits"]}


@case
def frame_constant(tmp):
    path = frame_with(tmp, np.full(fits.getdata(decals("image")).shape, 7.0, dtype=np.float32))
    # Not the frame of the image block: refused before any job, by comparison with its HDU1.
    return {"columns": {"image": path}, "file": path, "field": "pixels of FITSECT", "todo": "give the frame the original fit was run on", "absent": ["mask.fits"]}


@case
def no_blank_window(tmp):
    # Every pixel is a user-flagged bad pixel: no window passes windows.contaminant_frac.
    path = frame_with(tmp, np.ones(fits.getdata(decals("image")).shape, dtype=np.uint8), "allbad.fits")
    return {"columns": {"mask": path}, "file": "results/cool/z/mask.fits", "field": "windows: found 0 blank sky windows", "todo": "raise contaminant_frac"}


@case
def comp_ident_unknown_component(tmp):
    path = text_file(tmp, "ident.txt", "1 1\n99 2\n")
    return {"columns": {"comp_ident": path}, "file": path, "field": "line 2 component", "todo": "use the comp_ident table of this fit"}


@case
def comp_ident_duplicate(tmp):
    path = text_file(tmp, "ident.txt", "# component object\n1 1\n2 1\n1 2\n")
    return {"columns": {"comp_ident": path}, "file": path, "field": "line 4 component", "todo": "list each component once"}


@case
def comp_ident_not_integer(tmp):
    path = text_file(tmp, "ident.txt", "1 1\nbulge 1\n")
    return {"columns": {"comp_ident": path}, "file": path, "field": "line 2 component", "todo": "write the GALFIT component number"}


@case
def constraint_unknown_parameter(tmp):
    path = text_file(tmp, "cons.txt", "1 n 0.5 to 8\n2 sersicness 0.5 to 8\n")
    return {"columns": {"constraints": path}, "file": path, "field": "line 2 parameter", "todo": "use x, y, mag"}


@case
def constraint_missing_component(tmp):
    path = text_file(tmp, "cons.txt", "1 n 0.5 to 8\n99 n 0.5 to 8\n")
    return {"columns": {"constraints": path}, "file": path, "field": "line 2 components", "todo": "fix the component number"}


FEEDME = """A) frame.fits
B) out.fits
D) psf.fits
H) 1 40 1 40
I) 40 40
J) 22.5
K) 0.262 0.262
P) 0

0) sersic
 1) 20 20 1 1
 3) 18.0 1
 4) 4.0 1
 5) 2.0 1
 9) 0.7 1
10) 30 1
"""


@case
def feedme_unknown_key(tmp):
    path = text_file(tmp, "fit.gal", FEEDME.replace("J) 22.5", "J) 22.5\nX) 1"))
    return {"columns": {"feedme": path}, "file": path, "field": "'X)'", "todo": "use A)-K), O), P)"}


@case
def feedme_unknown_component_type(tmp):
    path = text_file(tmp, "fit.gal", FEEDME.replace("0) sersic", "0) sersik"))
    return {"columns": {"feedme": path}, "file": path, "field": "sersik", "todo": "use one of sersic"}


@case
def feedme_galfit2(tmp):
    path = text_file(tmp, "fit.gal", FEEDME.replace("P) 0", "P) 0\nS) 0"))
    return {"columns": {"feedme": path}, "file": path, "field": "GALFIT 2", "todo": "convert it to GALFIT 3 numbering"}


@case
def targets_missing_column(tmp):
    row = {"target": "cool", "band": "z", **{k: str(decals(k)) for k in DECALS if k != "psf"}}
    table = "\t".join(row) + "\n" + "\t".join(row.values()) + "\n"
    return {"table": table, "file": "targets.tsv", "field": "missing column(s) psf", "todo": "the header must name"}


@case
def targets_duplicate_pair(tmp):
    row = {"target": "cool", "band": "z", **{k: str(decals(k)) for k in DECALS}}
    table = "\t".join(row) + "\n" + ("\t".join(row.values()) + "\n") * 2
    return {"table": table, "file": "targets.tsv", "field": "columns 'target', 'band'", "todo": "give each (target, band) one row"}


@case
def config_wrong_type(tmp):
    return {"config": {"fitter": {"timeout": "ten minutes"}}, "file": "config.yaml", "field": "fitter.timeout", "todo": "fix the value"}


@case
def config_out_of_range(tmp):
    return {"config": {"windows": {"max_windows": 0}}, "file": "config.yaml", "field": "windows.max_windows", "todo": "fix the value"}


@case
def mask_shape_differs(tmp):
    path = frame_with(tmp, np.zeros((100, 120), dtype=np.uint8), "badpix.fits")
    return {"columns": {"mask": path}, "file": path, "field": "shape", "todo": "give the mask image of this frame"}


@case
def sigma_shape_differs(tmp):
    path = frame_with(tmp, np.ones((512, 511), dtype=np.float32), "sigma.fits")
    return {"columns": {"sigma": path}, "file": path, "field": "shape", "todo": "give the sigma image of this frame"}


def _run_case(name, root):
    tmp = root / name
    tmp.mkdir()
    spec = CASES[name](tmp)
    work = tmp / "work"
    config = small_config(work)
    for section, values in spec.get("config", {}).items():
        config[section] = {**config[section], **values}
    make_workdir(work, shared_path, config, extra_columns=spec.get("columns"))
    if "table" in spec:
        (work / "targets.tsv").write_text(spec["table"])
    # The engine is never reached; results/.../windows.tsv needs the mask and the regions stage.
    return spec, work, snakemake(work, "results/cool/z/windows.tsv")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_run_case, name, root) for name in CASES}
        return {name: f.result() for name, f in futures.items()}


def test_catalogue_covers_every_file_column(tmp_path):
    # A file column of the targets table without a bad-input case fails here.
    covered = set()
    for name, make in CASES.items():
        (tmp_path / name).mkdir()
        covered |= set(make(tmp_path / name).get("columns", {}))
    assert set(FILE_COLUMNS) <= covered, set(FILE_COLUMNS) - covered


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_workflow(runs, name):
    spec, work, run = runs[name]
    assert run.returncode != 0, text(run)[-2000:]
    line = error_line(run, spec["file"], spec["field"])
    assert spec["todo"] in line, line
    # "what to do" follows the problem after a semicolon, on the same line.
    assert "; " in line.split(spec["field"], 1)[1] or "; " in line.split(spec["file"], 1)[1], line
    assert "Traceback" not in text(run)
    for name_ in ["windows.tsv", *spec.get("absent", [])]:
        assert not out(work, name_).exists(), name_


# galfit-embedded: the fitter's command line refuses the same feedme faults, writes no block.


def embedded(tmp, feedme_text):
    shutil.copyfile(decals("image"), tmp / "frame.fits")
    shutil.copyfile(decals("psf"), tmp / "psf.fits")
    (tmp / "fit.gal").write_text(feedme_text)
    run = subprocess.run([str(GALFIT_EMBEDDED), "fit.gal"], cwd=tmp, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    return run, run.stderr.strip().splitlines()


@pytest.mark.parametrize(
    "edit, field, todo",
    [
        (lambda t: t.replace("J) 22.5", "J) 22.5\nX) 1"), "'X)'", "use A)-K), O), P)"),
        (lambda t: t.replace(" 5) 2.0 1", " 5) 2.0 1\n Q) 3.0 1"), "'Q)'", "fix or remove the line"),
        (lambda t: t.replace("0) sersic", "0) sersik"), "sersik", "use one of sersic"),
        (lambda t: t.replace("P) 0", "P) 0\nS) 0"), "GALFIT 2", "convert it to GALFIT 3 numbering"),
        (lambda t: t.replace("A) frame.fits", "A) gone.fits"), "A) input image", "check A)"),
        (lambda t: t.replace("H) 1 40 1 40", "H) 600 700 1 40"), "H) region", "fix H)"),
    ],
    ids=["unknown_control_key", "unknown_row_key", "unknown_component_type", "galfit2", "missing_image", "region_outside"],
)
def test_bad_input_galfit_embedded(tmp_path, edit, field, todo):
    run, lines = embedded(tmp_path, edit(FEEDME))
    assert run.returncode != 0
    assert len(lines) == 1, run.stderr
    assert field in lines[0] and todo in lines[0] and ("fit.gal" in lines[0] or "gone.fits" in lines[0]), lines[0]
    assert not (tmp_path / "out.fits").exists()


def test_good_feedme_fits_with_galfit_embedded(tmp_path):
    # The unedited feedme of the cases above is valid: the failures come from the edits.
    run, _ = embedded(tmp_path, FEEDME.replace("P) 0", "P) 2"))
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "out.fits").exists()
