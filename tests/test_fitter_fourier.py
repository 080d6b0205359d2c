"""Azimuthal Fourier modes: analytic Jacobian against finite differences, and the output
grammar (image block header, fit.log, restart file) against GALFIT 3.0.5's own files.
"""

from __future__ import annotations

import re
import shutil

import pytest
from astropy.io import fits

from galfit_unc import galfit_files as gf
from galfit_unc.fitter.fit import run_galfit
from galfit_unc.fitter.render import ModelRenderer
from fitlog import read_fit_log
from jacobian_check import assert_jacobian_matches

SET = "galfit305-renders"


@pytest.mark.parametrize("extra", ["", "C0) -0.3 1\n"])
def test_fourier_jacobian_matches_finite_differences(extra):
    text = (" 0) sersic\n 1) 20.3 19.6 1 1\n 3) 17 1\n 4) 6.0 1\n 5) 1.5 1\n 9) 0.6 1\n10) 30 1\n"
            "F1) 0.1 30 1 1\nF4) -0.05 20 1 1\n" + extra +
            # A second Sersic without modes shares the group (amplitudes held at 0).
            " 0) sersic\n 1) 18 21 1 1\n 3) 18 1\n 4) 5.0 1\n 5) 1.0 1\n 9) 0.8 1\n10) 60 1\n")
    comps = gf.parse_feedme(text).components
    r = ModelRenderer(comps, (1, 40, 1, 40), None, None, 26.0)
    # Mode phases get a step well above the single-precision noise of the render.
    assert_jacobian_matches(r, lambda key, v: 0.5 if key[0] == "F" and key.endswith("PA") else 1e-3 * max(abs(v), 1.0), 2e-3)


def test_fourier_total_is_the_magnitude():
    """GALFIT keeps the magnitude the total with modes on: 16 mag at J = 26 is 10^4."""
    text = " 0) sersic\n 1) 60 60 1 1\n 3) 16 1\n 4) 6.0 1\n 5) 1.0 1\n 9) 0.7 1\n10) 30 1\nF1) 0.2 30 1 1\nF3) 0.1 -40 1 1\n"
    r = ModelRenderer(gf.parse_feedme(text).components, (1, 120, 1, 120), None, None, 26.0)
    assert r.model(r.theta0).sum() == pytest.approx(1e4, rel=2e-3)


def test_fourier_outputs_in_galfit_grammar(shared, tmp_path):
    """Header keys and comments, the fit.log ``fourier`` lines and the restart rows as
    GALFIT writes them for the same input file; all read back."""
    ref = shared(SET, "fits", "fit-sersic-fourier")
    for name in ("galfit.feedme", "data.fits"):
        shutil.copy(ref / name, tmp_path / name)
    out = run_galfit("galfit.feedme", workdir=tmp_path)
    ours_h, theirs_h = fits.getheader(out.output, 2), fits.getheader(ref / "imgblock.fits", 2)
    keys = [k for k in theirs_h if k.startswith("1_")]
    assert [k for k in ours_h if k.startswith("1_")] == keys
    assert [ours_h.comments[k] for k in keys] == [theirs_h.comments[k] for k in keys]

    def layout(line):  # GALFIT's columns: digits replaced, spacing kept
        return re.sub(r"\d", "9", re.sub(r"-(?=\d)", " ", line))

    ours_log = (tmp_path / "fit.log").read_text().splitlines()
    theirs_log = (ref / "fit.log").read_text().splitlines()
    at = [i for i, line in enumerate(theirs_log) if "fourier :" in line][0]
    mine = [i for i, line in enumerate(ours_log) if "fourier :" in line][0]
    assert layout(ours_log[mine]) == layout(theirs_log[at])
    assert layout(ours_log[mine + 1]) == layout(theirs_log[at + 1])
    for log in (tmp_path / "fit.log", ref / "fit.log"):
        comps = read_fit_log(log)[-1].components
        assert [c.type for c in comps] == ["sersic", "sky"]
        assert len(comps[0].values) == len(comps[0].errors) == 11
    restart = gf.read_feedme(out.restart).components[0]
    assert set(restart.rows) >= {"F1", "F4"} and restart.rows["F4"].toggles == [1, 1]
    back = gf.read_fit_header(out.output).component(1)
    assert back["F4"].value == pytest.approx(restart.value("F4", 0), abs=1e-4)
