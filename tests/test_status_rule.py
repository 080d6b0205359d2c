"""The status rule on real GALFIT image blocks, with expected statuses written by hand.

GALFIT's FLAGS (see GALFIT's notes in the shared data): ``1`` hit the iteration limit, ``2``
suspected convergence error; ``A-*``, ``C-*``, ``H-*`` and ``I-*`` are warnings about the
inputs (no PSF, no EXPTIME, ...), written into every real block, and say nothing about the
fit.  A value marked ``*…*`` is numerically suspect, often at a constraint bound.  A re-fit
is flagged only for a fit flag or a ``*…*`` value that the original fit does not have, and
only for the object whose component carries it.

Cases and where they come from (all real GALFIT 3.0.5 blocks unless said otherwise):
- warning flags only: GALFIT's own example run (``A-6 A-3 A-4 A-5``), the lensing fit
  (``A-6 A-3 A-5``), the edge-on disc fit (``A-6 A-2 A-4 A-5``);
- FLAGS 2 without ``*…*``: the bulge-disc-PSF fit; FLAGS 2 with ``*…*``: the King fit;
- the DECaLS original (FLAGS 2, six q values ``*…*``) and its four re-runs and four
  user-start re-fits;
- FLAGS 1: no real block has it, so it is made by editing a copy of a real block's FLAGS
  card (GALFIT's example run, a DECaLS re-run).
"""

import shutil
import warnings

import pytest
from astropy.io import fits
from astropy.io.fits.verify import VerifyWarning

from galfit_unc import galfit_files as gf
from galfit_unc import tables as tb
from galfit_unc import runner
from galfit_unc.records import FitRecord

DECALS = "decals-coolj0112"


def block(shared, *parts):
    return gf.read_fit_header(shared(*parts))


def edited_copy(src, dst, **cards):
    """A copy of a real image block with HDU2 header cards replaced."""
    shutil.copyfile(src, dst)
    # Real GALFIT headers have non-standard cards (CD matrix with comments) astropy would fix.
    with warnings.catch_warnings(), fits.open(dst, mode="update", output_verify="ignore") as hdul:
        warnings.simplefilter("ignore", VerifyWarning)
        hdul[2].header.update(cards)
    return dst


@pytest.mark.parametrize(
    "parts",
    [
        ("galfit-examples", "galfit305-example-run", "imgblock.fits"),
        ("galfit-examples", "J1430_4150_Golden_gravitational_lensing", "imgblock.fits"),
        ("galfit305-renders", "fits", "fit-edgedisk", "imgblock.fits"),
    ],
)
def test_warning_flags_alone_are_ok(shared, parts):
    path = shared(*parts)
    flags = fits.getheader(path, 2)["FLAGS"].split()
    assert flags and all("-" in f for f in flags)  # the case: warning flags only, no *...*
    verdict = runner.judge_output(path, 0)
    assert verdict["status"] == "ok" and verdict["reason"] == "" and verdict["flag"] == ""


def test_flags_2_alone_is_a_convergence_flag(shared):
    path = shared("galfit305-renders", "fits", "fit-bulge-disk-psf", "imgblock.fits")
    verdict = runner.judge_output(path, 0)
    assert verdict["status"] == "flagged" and verdict["flag"] == "convergence"
    assert verdict["reason"] == "FLAGS 2 (suspected convergence error)"


def test_flags_2_and_a_value_at_its_bound(shared):
    # King fit: FLAGS 'A-6 A-2 A-4 A-5 2', 1_RT = '*…*'.
    verdict = runner.judge_output(shared("galfit305-renders", "fits", "fit-king", "imgblock.fits"), 0)
    assert verdict["status"] == "flagged" and verdict["flag"] == "convergence bound"
    assert verdict["new_flags"] == ["2"] and verdict["new_suspect"] == ["1_RT"]


def test_flags_1_is_the_iteration_limit_kept_apart(shared, tmp_path):
    # No real block hit the iteration limit: GALFIT's example run with '1' added to FLAGS.
    src = shared("galfit-examples", "galfit305-example-run", "imgblock.fits")
    path = edited_copy(src, tmp_path / "limit.fits", FLAGS="A-6 A-3 A-4 A-5 1")
    verdict = runner.judge_output(path, 0)
    assert verdict["status"] == "flagged" and verdict["flag"] == "iteration_limit"
    assert verdict["reason"] == "FLAGS 1 (iteration limit)"


#: DECaLS original: FLAGS 2; 2_AR 16_AR 19_AR 20_AR 22_AR 23_AR at their bounds.  Per block,
#: the *...* values it does not share with the original, read off the headers by eye.
RERUNS = {
    ("galfit-reruns", "new_skycut_4_output.fits"): ["17_AR"],
    ("galfit-reruns", "new_skycut_5_output.fits"): [],
    ("galfit-reruns", "new_skycut_6_output.fits"): ["17_AR"],
    ("galfit-reruns", "new_skycut_7_output.fits"): ["17_AR"],
    ("galfit-user-starts", "new_skycut_4_userstart_output.fits"): ["2_XC", "2_RE", "16_RE", "19_RE"],
    ("galfit-user-starts", "new_skycut_7_userstart_output.fits"): ["17_N"],
}
#: comp_ident_example.txt: components 1-2 are object 1, 16-17 object 8, 19-20 object 9.
OBJECTS = {(): "", ("17_AR",): "8", ("2_XC", "2_RE", "16_RE", "19_RE"): "1 8 9", ("17_N",): "8"}


@pytest.mark.parametrize("parts", list(RERUNS))
def test_decals_refits_are_judged_against_the_original(shared, parts):
    original = block(shared, DECALS, "galfit_output_example.fits")
    path = shared(DECALS, *parts)
    new = RERUNS[parts]
    relative = runner.judge_output(path, 0, original=original)
    assert relative["status"] == ("flagged" if new else "ok")
    assert relative["new_suspect"] == new and relative["new_flags"] == []  # FLAGS 2 is the original's too
    assert relative["flag"] == ("bound" if new else "")
    # Judged alone, every one of them carries FLAGS 2 and q values at their bounds.
    alone = runner.judge_output(path, 0)
    assert alone["status"] == "flagged" and alone["new_flags"] == ["2"]
    # Only the objects of the new *...* values are flagged.
    ident = gf.read_comp_ident(shared(DECALS, "comp_ident_example.txt"))
    rows = tb.magnitudes_rows(original, [FitRecord(window=parts[1], status="ok", header=gf.read_fit_header(path))], ident)
    assert rows[1]["flagged_objects"] == OBJECTS[tuple(new)]


def test_decals_refits_are_not_all_flagged(shared):
    """The original's own flags no longer flag every re-fit: of the four real re-runs one is ok,
    and of their 40 object values 3 are flagged (object 8 in three re-runs)."""
    original = block(shared, DECALS, "galfit_output_example.fits")
    ident = gf.read_comp_ident(shared(DECALS, "comp_ident_example.txt"))
    records = [
        FitRecord(window=f"r{n}", status="ok", header=block(shared, DECALS, "galfit-reruns", f"new_skycut_{n}_output.fits")) for n in (4, 5, 6, 7)
    ]
    rows = tb.magnitudes_rows(original, records, ident)[1:]
    assert [r["status"] for r in rows] == ["flagged", "ok", "flagged", "flagged"]
    unc = {r["object"]: r for r in tb.uncertainties_rows(original, records, ident, use_flagged=False)}
    assert {obj: r["n_flagged"] for obj, r in unc.items() if r["n_flagged"]} == {"8": 3}
    assert unc["8"]["n_used"] == 1 and all(r["n_used"] == 4 for obj, r in unc.items() if obj != "8")


def test_a_new_fit_flag_flags_every_object(shared, tmp_path):
    original = block(shared, DECALS, "galfit_output_example.fits")
    ident = gf.read_comp_ident(shared(DECALS, "comp_ident_example.txt"))
    src = shared(DECALS, "galfit-reruns", "new_skycut_5_output.fits")
    limit = edited_copy(src, tmp_path / "limit.fits", FLAGS="H-4 H-1 A-3 A-4 A-5 2 1")
    verdict = runner.judge_output(limit, 0, original=original)
    assert verdict["status"] == "flagged" and verdict["flag"] == "iteration_limit"
    assert verdict["reason"] == "new vs the original: FLAGS 1 (iteration limit)"
    records = [FitRecord(window="r5", status="ok", header=gf.read_fit_header(limit))]
    assert tb.magnitudes_rows(original, records, ident)[1]["flagged_objects"] == "all"
    unc = tb.uncertainties_rows(original, records, ident, use_flagged=True)
    assert all(r["n_flagged"] == 1 and r["n_iteration_limit"] == 1 and r["n_used"] == 1 for r in unc)
    # An original without FLAGS 2 makes the re-run's FLAGS 2 new: a convergence flag.
    no_flag = edited_copy(shared(DECALS, "galfit_output_example.fits"), tmp_path / "original.fits", FLAGS="H-4 H-1 A-3 A-4 A-5")
    verdict = runner.judge_output(src, 0, original=gf.read_fit_header(no_flag))
    assert verdict["flag"] == "convergence" and verdict["new_suspect"] == []


def test_a_value_on_the_originals_own_bound_is_not_new(shared, tmp_path):
    """The DECaLS original has 2_N = '0.5000 +/- 0.5802': on the bound 0.5 of its n range but
    not marked by GALFIT.  A re-fit marking the same value (as the embedded fitter marks every
    value on a bound) repeats the original; a re-fit marked at another value does not."""
    original = block(shared, DECALS, "galfit_output_example.fits")
    assert original.component(2)["N"].value == 0.5 and original.component(2)["N"].kind == "free"
    src = shared(DECALS, "galfit-reruns", "new_skycut_5_output.fits")  # ok on its own, see above
    same = edited_copy(src, tmp_path / "same.fits", **{"2_N": "*0.5000* +/- *0.6000*"})
    assert runner.judge_output(same, 0, original=original)["status"] == "ok"
    other = edited_copy(src, tmp_path / "other.fits", **{"2_N": "*8.0000* +/- *0.6000*"})
    verdict = runner.judge_output(other, 0, original=original)
    assert verdict["status"] == "flagged" and verdict["new_suspect"] == ["2_N"]
