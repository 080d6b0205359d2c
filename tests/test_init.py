"""``galfit-unc init IMGBLOCK``: the targets row and a proposed comp_ident table from a real
GALFIT image block, run as a user runs it (the command in a working folder), and the
workflow's own dry run on the table it writes."""

import itertools
import math
import re
import shutil
import subprocess
import sys

import pytest
from astropy.io import fits

from faults.common import text
from galfit_unc import galfit_files as gf
from standins.harness import REPO, SNAKEMAKE

DECALS = "decals-coolj0112"
EXAMPLE = ("galfit-examples", "galfit305-example-run")
EXAMPLE_DATA = ("galfit-examples", "meg-main", "galfit", "galfit-example", "EXAMPLE")


def init(cwd, *args):
    return subprocess.run([sys.executable, "-m", "galfit_unc", "init", *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120)


def centres(block) -> dict:
    """Component -> (x, y) read straight from the header cards (sky left out)."""
    header = fits.getheader(block, 2)
    out = {}
    for key in header:
        m = re.fullmatch(r"COMP_(\d+)", key)
        if m and header[key] != "sky":
            n = m.group(1)
            out[int(n)] = tuple(float(re.search(r"[-0-9.eE+]+", header[f"{n}_{axis}"]).group()) for axis in ("XC", "YC"))
    return out


@pytest.fixture
def decals_work(shared, tmp_path):
    """A user's folder with the DECaLS fit's files under fit/."""
    (tmp_path / "fit").mkdir()
    for name in ("org_data_example.fits", "galfit_output_example.fits", "psf_example.fits", "cons_rel.txt", "original-reconstructed.gal"):
        shutil.copyfile(shared(DECALS, name), tmp_path / "fit" / name)
    return tmp_path


# The fit's INITFILE is not published: its reconstructed input file is given by hand (relative
# constraints need the input file's starting values).
DECALS_ARGS = (
    "fit/galfit_output_example.fits", "--band", "z", "--target", "cool", "--frame", "fit/org_data_example.fits", "--psf", "fit/psf_example.fits",
    "--constraints", "fit/cons_rel.txt", "--feedme", "fit/original-reconstructed.gal",
)


def test_decals_row_and_comp_ident_accepted_by_the_workflow(decals_work):
    run = init(decals_work, *DECALS_ARGS)
    assert run.returncode == 0, run.stderr
    table = decals_work / "config" / "targets.tsv"
    lines = table.read_text().splitlines()
    assert lines[0].split("\t") == ["target", "band", "image", "imgblock", "psf", "constraints", "comp_ident", "feedme"]
    assert lines[1].split("\t") == ["cool", "z", "fit/org_data_example.fits", "fit/galfit_output_example.fits", "fit/psf_example.fits", "fit/cons_rel.txt", "config/cool_z_comp_ident.txt", "fit/original-reconstructed.gal"]
    ident_path = decals_work / "config" / "cool_z_comp_ident.txt"
    ident = gf.read_comp_ident(ident_path, 24)
    # Components 3, 4 and 5 share a centre: one object; the sky (24) is in none.
    assert ident[3] == ident[4] == ident[5] and 24 not in ident and sorted(ident) == list(range(1, 24))
    # Brute force on the header cards: same object <=> linked by centres within 1 pixel.
    xy = centres(decals_work / "fit" / "galfit_output_example.fits")
    for a, b in itertools.combinations(xy, 2):
        if math.dist(xy[a], xy[b]) <= 1.0:
            assert ident[a] == ident[b], (a, b)
    for obj in set(ident.values()):
        members = [c for c in ident if ident[c] == obj]
        if len(members) == 1:
            continue
        assert all(min(math.dist(xy[c], xy[o]) for o in members if o != c) <= 1.0 for c in members), members
    # A comment line per object, listing its components and their types.
    comments = [ln for ln in ident_path.read_text().splitlines() if ln.startswith("# object ")]
    assert len(comments) == len(set(ident.values()))
    assert f"# object {ident[3]}: components 3 (sersic), 4 (sersic), 5 (sersic) at x 280.39" in ident_path.read_text()
    # What to check, printed: the joined components and the file to edit.
    assert "components 3, 4, 5" in run.stdout and "config/cool_z_comp_ident.txt" in run.stdout
    # The input file given by hand replaces the header's INITFILE (not published), silently.
    assert "fit/original-reconstructed.gal" in run.stdout and "ARC_Z_params" not in run.stdout
    # The workflow takes the table as it is, with no configuration at all.
    dry = subprocess.run([str(SNAKEMAKE), "-s", str(REPO / "Snakefile"), "--directory", str(decals_work), "--cores", "1", "-n"], capture_output=True, text=True, timeout=300)
    assert dry.returncode == 0, text(dry)[-3000:]
    assert "results/cool/z/uncertainties.tsv" in text(dry)


def test_missing_files_are_one_line_each_and_nothing_is_written(decals_work):
    run = init(decals_work, "fit/galfit_output_example.fits")
    assert run.returncode == 1
    lines = run.stderr.splitlines()
    assert lines == [
        "galfit-unc init: fit/galfit_output_example.fits: FILTER: the data header names no band; give it with --band B",
        "galfit-unc init: fit/galfit_output_example.fits: DATAIN: COOLJ0112-2053_DECaLSz.fits not found in fit; give it with --frame FILE",
        "galfit-unc init: fit/galfit_output_example.fits: PSF: PSF_Z_slice.fits not found in fit; give it with --psf FILE",
    ]
    assert not (decals_work / "config").exists()


def test_psf_pointing_at_the_block_is_refused(decals_work):
    args = list(DECALS_ARGS)
    args[args.index("--psf") + 1] = "fit/galfit_output_example.fits"
    run = init(decals_work, *args)
    assert run.returncode == 1
    assert run.stderr.startswith("galfit-unc init: fit/galfit_output_example.fits: PSF: the file is a GALFIT image block, not a PSF;")
    assert "--psf FILE" in run.stderr and not (decals_work / "config").exists()


def test_unreadable_frame_is_named(decals_work):
    (decals_work / "fit" / "broken.fits").write_text("not a FITS file\n")
    args = list(DECALS_ARGS)
    args[args.index("--frame") + 1] = "fit/broken.fits"
    run = init(decals_work, *args)
    assert run.returncode == 1 and len(run.stderr.splitlines()) == 1
    assert run.stderr.startswith("galfit-unc init: fit/broken.fits") and "--frame FILE" in run.stderr


def test_rows_append_to_an_existing_table_and_a_pair_is_not_repeated(decals_work):
    assert init(decals_work, *DECALS_ARGS).returncode == 0
    table = decals_work / "config" / "targets.tsv"
    second = init(decals_work, *DECALS_ARGS, "--comp-ident", "other.txt")
    assert second.returncode == 1 and "the pair has a row already" in second.stderr
    assert not (decals_work / "other.txt").exists()
    third = init(decals_work, *[a if a != "cool" else "cool2" for a in DECALS_ARGS], "--distance", "5")
    assert third.returncode == 0, third.stderr
    rows = [ln.split("\t") for ln in table.read_text().splitlines()]
    assert [r[0] for r in rows] == ["target", "cool", "cool2"]
    # Five pixels join more: 1 and 2 (1.7 px apart) become one object.
    ident = gf.read_comp_ident(decals_work / "config" / "cool2_z_comp_ident.txt", 24)
    assert ident[1] == ident[2] and ident[3] == ident[4] == ident[5]


def test_galfit_example(shared, tmp_path):
    # GALFIT's own example: DATAIN gal.fits and PSF psf.fits live in another folder (given by
    # hand); INITFILE galfit.feedme and CONSTRNT none come from the header.
    block = shared(*EXAMPLE, "imgblock.fits")
    run = init(tmp_path, block, "--band", "F775W", "--frame", shared(*EXAMPLE_DATA, "gal.fits"), "--psf", shared(*EXAMPLE_DATA, "psf.fits"))
    assert run.returncode == 0, run.stderr
    row = dict(zip(*[ln.split("\t") for ln in (tmp_path / "config" / "targets.tsv").read_text().splitlines()]))
    assert row["target"] == "CDF-SOUTH-GOODS-TILE-NORM-15" and row["band"] == "F775W"
    assert row["constraints"] == "none" and row["feedme"] == str(shared(*EXAMPLE, "galfit.feedme"))
    ident = gf.read_comp_ident(tmp_path / "config" / "CDF-SOUTH-GOODS-TILE-NORM-15_F775W_comp_ident.txt", 2)
    assert ident == {1: "1"}  # the Sérsic; the sky (component 2) in no object
    # The frame is the fitted region itself: no room for blank windows, and the user is told.
    assert "is small for the fitted region [1:93,1:93]" in run.stdout
