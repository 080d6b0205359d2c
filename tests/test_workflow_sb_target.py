"""End to end: the workflow on a target whose fit uses an edgedisk and a Sérsic with Fourier
modes (a real ``snakemake`` run, the embedded engine, three windows).

The target is made here: GALFIT-style model-only run of ``galfit-embedded`` (the truth), a
sky and seeded noise on a frame with a TAN WCS, then the user's fit by ``galfit-embedded``
from a perturbed start.  Checked: every object's magnitude in magnitudes.tsv against the
output blocks' raw header strings (the edgedisk's total worked out here by hand from
mu(0), Rs, hs and the plate scale), every fitted parameter listed in parameters.tsv, and
the region file (both ellipses, their axes, the note on the Fourier modes).
"""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from galfit_unc.tables import read_table
from standins.harness import snakemake, write_config

SIZE = 300
SCALE = 0.2  # arcsec per pixel
SKY = 100.0
REGION = "110 190 120 185"
COMPONENTS = """
 0) edgedisk
 1) {x1} {y1} 1 1
 3) {mu} 1
 4) {hs} 1
 5) {rs} 1
 10) {pa1} 1
 Z) 0

 0) sersic
 1) {x2} {y2} 1 1
 3) {mag} 1
 4) {re} 1
 5) {n} 1
 9) {q} 1
 10) {pa2} 1
 F1) {f1} 40 1 1
 F4) {f4} 10 1 1
 Z) 0
"""
TRUTH = dict(x1=140.0, y1=150.0, mu=17.5, hs=2.0, rs=8.0, pa1=35.0, x2=165.0, y2=155.0, mag=16.5, re=5.0, n=1.5, q=0.7, pa2=-20.0, f1=0.08, f4=0.05)
START = dict(x1=140.8, y1=149.5, mu=17.8, hs=2.5, rs=7.0, pa1=30.0, x2=164.4, y2=155.6, mag=16.8, re=6.0, n=2.0, q=0.6, pa2=-15.0, f1=0.03, f4=0.02)
SKY_BLOCK = "\n 0) sky\n 1) {sky} 1\n 2) 0.0 0\n 3) 0.0 0\n Z) 0\n"


def feedme(a, b, region, components, mode):
    head = f"A) {a}\nB) {b}\nC) none\nD) psf.fits\nE) 1\nF) none\nG) none\nH) {region}\nI) 31 31\nJ) 26.0\nK) {SCALE} {SCALE}\nO) regular\nP) {mode}\n"
    return head + components


def galfit_embedded(workdir, name):
    exe = Path(sys.executable).with_name("galfit-embedded")
    proc = subprocess.run([str(exe), name], cwd=workdir, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def make_target(work: Path, truth=None, start=None, objects="1 A\n2 B\n", target="sb", seed=4321) -> dict:
    """A noisy frame of ``truth`` (components text) and the user's fit of it from ``start``."""
    work.mkdir(parents=True, exist_ok=True)
    y, x = np.mgrid[-7:8, -7:8]
    psf = np.exp(-(x**2 + y**2) / (2 * 1.2**2))
    fits.writeto(work / "psf.fits", (psf / psf.sum()).astype(np.float32))
    truth = COMPONENTS.format(**TRUTH) if truth is None else truth
    start = COMPONENTS.format(**START) if start is None else start
    (work / "truth.feedme").write_text(feedme("none", "truth.fits", f"1 {SIZE} 1 {SIZE}", truth, 1))
    galfit_embedded(work, "truth.feedme")
    model = fits.getdata(work / "truth.fits").astype(float)
    rng = np.random.default_rng(seed)
    gain, rdnoise = 4.0, 5.0
    frame = model + SKY + rng.normal(0.0, 1.0, model.shape) * np.sqrt((model + SKY) / gain + (rdnoise / gain) ** 2)
    h = fits.Header()
    for key, value in (("CTYPE1", "RA---TAN"), ("CTYPE2", "DEC--TAN"), ("CRPIX1", SIZE / 2), ("CRPIX2", SIZE / 2), ("CRVAL1", 150.0),
                       ("CRVAL2", 2.0), ("CD1_1", -SCALE / 3600), ("CD1_2", 0.0), ("CD2_1", 0.0), ("CD2_2", SCALE / 3600),
                       ("RADESYS", "FK5"), ("EQUINOX", 2000.0), ("MAGZPT", 26.0), ("EXPTIME", 1.0), ("GAIN", gain), ("RDNOISE", rdnoise)):
        h[key] = value
    fits.writeto(work / "frame.fits", frame.astype(np.float32), h)
    (work / "fit.feedme").write_text(feedme("frame.fits", "imgblock.fits", REGION, start + SKY_BLOCK.format(sky=SKY + 3), 0))
    galfit_embedded(work, "fit.feedme")
    (work / "comp_ident.txt").write_text("# component object\n" + objects)
    files = {"image": "frame.fits", "imgblock": "imgblock.fits", "psf": "psf.fits", "comp_ident": "comp_ident.txt", "feedme": "fit.feedme"}
    row = {"target": target, "band": "r", "constraints": "none", **{k: str(work / v) for k, v in files.items()}}
    (work / "targets.tsv").write_text("\t".join(row) + "\n" + "\t".join(row.values()) + "\n")
    return row


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = tmp_path_factory.mktemp("sb-target")
    make_target(work)
    write_config(work, {"targets": "targets.tsv", "windows": {"max_windows": 3, "min_windows": 2}, "stats": {"min_ok_windows": 2}})
    proc = snakemake(work)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return work


def result(work, *parts):
    return Path(work, "results", "sb", "r", *parts)


def raw(header, key):
    """Value of a GALFIT header string such as '19.4921 +/- 0.0312' or '[2.0000]'."""
    return float(str(header[key]).split("+/-")[0].strip("[]{}* "))


def hand_magnitudes(block):
    """Objects A (edgedisk: mu(0) - 2.5 log10(2 pi Rs hs dx dy)) and B (the Sérsic's MAG)."""
    h = fits.getheader(block, 2)
    area = 2 * math.pi * raw(h, "1_RS") * raw(h, "1_HS") * SCALE * SCALE
    return {"A": raw(h, "1_MU_0") - 2.5 * math.log10(area), "B": raw(h, "2_MAG")}


def test_magnitudes_of_every_fit(run):
    rows, _ = read_table(result(run, "magnitudes.tsv"))
    assert rows[0]["window"] == "original"
    expected = hand_magnitudes(run / "imgblock.fits")
    assert rows[0]["obj_A"] == pytest.approx(expected["A"], abs=1e-4)
    assert rows[0]["obj_B"] == pytest.approx(expected["B"], abs=1e-4)
    # The fit recovers the truth's totals: edgedisk 17.5 - 2.5 log10(2 pi 8 2 0.04), Sérsic 16.5.
    assert rows[0]["obj_A"] == pytest.approx(17.5 - 2.5 * math.log10(2 * math.pi * 8 * 2 * 0.04), abs=0.1)
    assert rows[0]["obj_B"] == pytest.approx(16.5, abs=0.1)
    assert len(rows) == 4
    for r in rows[1:]:
        assert r["status"] in ("ok", "flagged"), r
        expected = hand_magnitudes(result(run, "windows", r["window"], "fit", "output.fits"))
        assert r["obj_A"] == pytest.approx(expected["A"], abs=1e-4)
        assert r["obj_B"] == pytest.approx(expected["B"], abs=1e-4)
    unc, _ = read_table(result(run, "uncertainties.tsv"))
    assert [u["object"] for u in unc] == ["A", "B"]
    for u in unc:
        column = [r[f"obj_{u['object']}"] for r in rows[1:]]
        assert u["n_used"] == 3 and u["std"] == pytest.approx(np.std(column, ddof=1), abs=1e-4)
    # GALFIT-style formal errors: the edgedisk's from mu(0), Rs and hs (first order, by hand).
    h = fits.getheader(run / "imgblock.fits", 2)
    err = {k: float(str(h[f"1_{k}"]).split("+/-")[1]) for k in ("MU_0", "RS", "HS")}
    expected_a = math.sqrt(err["MU_0"] ** 2 + (2.5 / math.log(10)) ** 2 * ((err["RS"] / raw(h, "1_RS")) ** 2 + (err["HS"] / raw(h, "1_HS")) ** 2))
    assert unc[0]["sigma_formal"] == pytest.approx(expected_a, rel=2e-3)
    assert unc[1]["sigma_formal"] == pytest.approx(float(str(h["2_MAG"]).split("+/-")[1]), rel=2e-3)


def test_parameters_table_lists_every_fitted_parameter(run):
    rows, _ = read_table(result(run, "parameters.tsv"))
    listed = [(r["component"], r["type"], r["parameter"]) for r in rows]
    assert listed == [
        *((1, "edgedisk", p) for p in ("XC", "YC", "MU_0", "HS", "RS", "PA")),
        *((2, "sersic", p) for p in ("XC", "YC", "MAG", "RE", "N", "AR", "PA", "F1", "F1PA", "F4", "F4PA")),
        (3, "sky", "SKY"),
    ]
    h = fits.getheader(run / "imgblock.fits", 2)
    for r in rows:
        assert r["value_original"] == pytest.approx(raw(h, f"{int(r['component'])}_{r['parameter']}"), abs=1e-4), r
        assert r["n_used"] == 3


def test_region_file_draws_both_and_notes_the_modes(run):
    lines = result(run, "model.reg").read_text().splitlines()
    assert "# component 2 (sersic): Fourier modes not drawn; the ellipse is the base shape" in lines
    ellipses = [ln for ln in lines if ln.startswith("ellipse")]
    assert len(ellipses) == 2
    h = fits.getheader(run / "imgblock.fits", 2)
    disc = [float(v) for v in ellipses[0].split("(")[1].split(")")[0].split(",")]
    # DS9 ellipse(x, y, semi-major, semi-minor, angle): Rs along the disc, hs across, PA + 90.
    assert disc[0] == pytest.approx(raw(h, "1_XC"), abs=1e-4) and disc[1] == pytest.approx(raw(h, "1_YC"), abs=1e-4)
    assert disc[2] == pytest.approx(raw(h, "1_RS"), abs=1e-4) and disc[3] == pytest.approx(raw(h, "1_HS"), abs=1e-4)
    assert disc[4] == pytest.approx(raw(h, "1_PA") + 90, abs=1e-4)
    assert "obj A: 1" in ellipses[0] and "obj B: 2" in ellipses[1]
    assert "# component 2 (sersic): Fourier modes not drawn" in result(run, "model_fk5.reg").read_text()
