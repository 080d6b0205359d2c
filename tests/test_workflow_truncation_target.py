"""End to end: the workflow on a target whose fit uses an edgedisk, an outer-truncated Sérsic
and a Sérsic with Fourier modes (a real ``snakemake`` run, the embedded engine, three
windows), made as in ``test_workflow_sb_target.py``.

Checked: the truncated Sérsic's magnitude in magnitudes.tsv against its total worked out
here from the output blocks' raw header strings (mu(0), Re, n, q and the truncation's
break and softening, by a radial integral written out here), the truncation's parameters
in parameters.tsv, and the region files (the truncation drawn at its break radius, with
a note saying what is not drawn).
"""

import math
import sys
from pathlib import Path

import pytest
from astropy.io import fits
from scipy import integrate, special

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_workflow_sb_target import COMPONENTS, SCALE, make_target, raw  # noqa: E402

from galfit_unc.tables import read_table  # noqa: E402
from standins.harness import snakemake, write_config  # noqa: E402

TRUNCATED = """
 0) sersic
 1) {x3} {y3} 1 1
 3) {mu3} 1
 4) {re3} 1
 5) {n3} 1
 9) {q3} 1
 10) {pa3} 1
 To) 4
 Z) 0

 T0) radial
 T4) {t4} 1
 T5) {t5} 1
"""
TRUTH = dict(x1=140.0, y1=150.0, mu=17.5, hs=2.0, rs=8.0, pa1=35.0, x2=165.0, y2=155.0, mag=16.5, re=5.0, n=1.5, q=0.7,
             pa2=-20.0, f1=0.08, f4=0.05, x3=176.0, y3=134.0, mu3=19.0, re3=6.0, n3=1.0, q3=0.6, pa3=50.0, t4=8.0, t5=4.0)
START = dict(x1=140.8, y1=149.5, mu=17.8, hs=2.5, rs=7.0, pa1=30.0, x2=164.4, y2=155.6, mag=16.8, re=6.0, n=2.0, q=0.6,
             pa2=-15.0, f1=0.03, f4=0.02, x3=176.5, y3=133.6, mu3=19.3, re3=7.0, n3=1.2, q3=0.5, pa3=45.0, t4=7.0, t5=5.0)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    work = tmp_path_factory.mktemp("truncation-target")
    make_target(work, (COMPONENTS + TRUNCATED).format(**TRUTH), (COMPONENTS + TRUNCATED).format(**START), "1 A\n2 B\n3 C\n", "tr", seed=2468)
    write_config(work, {"targets": "targets.tsv", "windows": {"max_windows": 3, "min_windows": 2}, "stats": {"min_ok_windows": 2}})
    proc = snakemake(work)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return work


def truncated_magnitude(block):
    """Component 3: mu(0) - 2.5 log10(2 pi q dx dy int Sigma(r)/Sigma(0) T(r) r dr), the
    truncation sharing the Sérsic's centre and shape; T the outer radial truncation."""
    h = fits.getheader(block, 2)
    mu, re, n, q = (raw(h, f"3_{k}") for k in ("MU_0", "RE", "N", "AR"))
    t4, t5 = raw(h, "4_RBRK"), raw(h, "4_DSFT")
    kappa = special.gammaincinv(2 * n, 0.5)
    r1, delta = t4 + t5, t5
    b = 2.65 - 4.95 * r1 / delta

    def f(r):
        return r * math.exp(-kappa * (r / re) ** (1 / n)) * 0.5 * (1 - math.tanh((2 - b) * r / r1 + b))

    total = integrate.quad(f, 0, 10 * r1, limit=200, epsrel=1e-10)[0]
    return mu - 2.5 * math.log10(2 * math.pi * q * total * SCALE * SCALE)


def test_truncated_magnitude_in_every_fit(run):
    rows, _ = read_table(run / "results" / "tr" / "r" / "magnitudes.tsv")
    assert rows[0]["window"] == "original" and len(rows) == 4
    assert rows[0]["obj_C"] == pytest.approx(truncated_magnitude(run / "imgblock.fits"), abs=2e-3)
    for r in rows[1:]:
        assert r["status"] in ("ok", "flagged"), r
        block = run / "results" / "tr" / "r" / "windows" / r["window"] / "fit" / "output.fits"
        assert r["obj_C"] == pytest.approx(truncated_magnitude(block), abs=2e-3)
    unc, _ = read_table(run / "results" / "tr" / "r" / "uncertainties.tsv")
    assert [u["object"] for u in unc] == ["A", "B", "C"]
    assert all(u["n_used"] == 3 for u in unc)


def test_parameters_table_lists_the_truncation(run):
    rows, _ = read_table(run / "results" / "tr" / "r" / "parameters.tsv")
    listed = [(r["component"], r["type"], r["parameter"]) for r in rows if r["component"] in (3, 4)]
    assert listed == [
        *((3, "sersic1 \\", p) for p in ("XC", "YC", "MU_0", "RE", "N", "AR", "PA")),
        (4, "radial", "RBRK"), (4, "radial", "DSFT"),
    ]
    h = fits.getheader(run / "imgblock.fits", 2)
    for r in rows:
        assert r["value_original"] == pytest.approx(raw(h, f"{int(r['component'])}_{r['parameter']}"), abs=1e-4), r


def test_region_file_draws_the_truncation_at_its_break_radius(run):
    for name in ("model.reg", "model_fk5.reg"):
        text = (run / "results" / "tr" / "r" / name).read_text()
        assert "# component 4 (radial): truncation drawn at its break radius; its softening is not drawn" in text
    lines = (run / "results" / "tr" / "r" / "model.reg").read_text().splitlines()
    ellipses = [ln for ln in lines if ln.startswith("ellipse")]
    assert len(ellipses) == 4
    h = fits.getheader(run / "imgblock.fits", 2)
    trunc = [float(v) for v in ellipses[3].split("(")[1].split(")")[0].split(",")]
    # Centre, axis ratio and PA of the Sérsic it truncates; semi-major axis the break radius.
    assert trunc[0] == pytest.approx(raw(h, "3_XC"), abs=1e-4) and trunc[1] == pytest.approx(raw(h, "3_YC"), abs=1e-4)
    assert trunc[2] == pytest.approx(raw(h, "4_RBRK"), abs=1e-4)
    assert trunc[3] == pytest.approx(raw(h, "4_RBRK") * raw(h, "3_AR"), abs=1e-4)
    assert trunc[4] == pytest.approx(raw(h, "3_PA") + 90, abs=1e-4)
    assert "obj ?: 4" in ellipses[3]
