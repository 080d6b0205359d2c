"""Bending modes: analytic Jacobian against finite differences, GALFIT's definition on its
own renders, refusals, and the output grammar (image block header, fit.log, restart file)
against GALFIT 3.0.5's own files.
"""

from __future__ import annotations

import math
import re
import shutil

import numpy as np
import pytest
from astropy.io import fits

from galfit_unc import galfit_files as gf
from galfit_unc.fitter.fit import run_galfit
from galfit_unc.fitter.render import ModelRenderer
from fitlog import read_fit_log
from jacobian_check import assert_jacobian_matches

SET = "galfit305-renders"


@pytest.mark.parametrize("extra", ["B1) 0.07 1\nB2) 0.05 1\nB3) -0.03 1\n", "C0) -0.3 1\nB2) 0.05 1\nF1) 0.1 30 1 1\n"])
def test_bending_jacobian_matches_finite_differences(extra):
    text = (" 0) sersic\n 1) 20.3 19.6 1 1\n 3) 17 1\n 4) 6.0 1\n 5) 1.5 1\n 9) 0.6 1\n10) 30 1\n" + extra +
            # A second Sersic without modes shares the group (amplitudes held at 0).
            " 0) sersic\n 1) 18 21 1 1\n 3) 18 1\n 4) 5.0 1\n 5) 1.0 1\n 9) 0.8 1\n10) 60 1\n")
    comps = gf.parse_feedme(text).components
    r = ModelRenderer(comps, (1, 40, 1, 40), None, None, 26.0)
    assert {"B2"} <= {key for _, key in r.names}

    def step(key, value):
        # Mode phases and bending amplitudes get steps well above the single-precision noise.
        if key[0] == "F" and key.endswith("PA"):
            return 0.5
        return 0.005 if key[0] == "B" else 1e-3 * max(abs(value), 1.0)

    assert_jacobian_matches(r, step, 2e-3)


def test_bending_is_a_minor_axis_shift_of_re_powers():
    """Pixel-centre values against the definition written out here: the Sersic at
    (x', y' + sum a_m (-x'/Re)^m), x' along the major axis; far from the centre, where
    GALFIT's sampling takes the pixel centre."""
    text = " 0) sersic\n 1) 40.0 40.0 1 1\n 3) 16 1\n 4) 8.0 1\n 5) 1.0 1\n 9) 0.5 1\n10) 30 1\nB2) 0.4 1\nB3) 0.2 1\n"
    r = ModelRenderer(gf.parse_feedme(text).components, (1, 80, 1, 80), None, None, 26.0, sampling="galfit")
    img = r.model(r.theta0)
    y, x = np.mgrid[1:81, 1:81].astype(float)
    dx, dy = x - 40.0, y - 40.0
    t = math.radians(30.0)
    xp = dy * math.cos(t) - dx * math.sin(t)
    yp = dx * math.cos(t) + dy * math.sin(t) + 0.4 * (-xp / 8) ** 2 + 0.2 * (-xp / 8) ** 3
    kappa = 1.678346990  # b(n = 1)
    rr = np.hypot(xp, yp / 0.5)
    total = 10 ** (-0.4 * (16 - 26))
    sigma_e = total / (2 * math.pi * 8.0**2 * 0.5 * math.exp(kappa) / kappa**2)
    expected = sigma_e * np.exp(-kappa * (rr / 8.0 - 1))
    far = np.hypot(dx, dy) > 12
    assert np.abs(img - expected)[far].max() <= 1e-5 * expected.max()


@pytest.mark.parametrize("ctype, rows", [("expdisk", " 4) 5 1\n 9) 0.8 1\n10) 0 1\n"), ("gaussian", " 4) 5 1\n 9) 0.8 1\n10) 0 1\n")])
def test_bending_refused_where_its_radius_is_unknown(ctype, rows):
    text = f" 0) {ctype}\n 1) 10 10 1 1\n 3) 20 1\n{rows}B2) 0.1 1\n"
    with pytest.raises(gf.GalfitFormatError, match=rf"component 1 \({ctype}\): bending mode B2\) on this type: not supported"):
        ModelRenderer(gf.parse_feedme(text).components, (1, 20, 1, 20), None, None, 25.0)


def test_bending_outputs_in_galfit_grammar(shared, tmp_path):
    """Header keys and comments, the fit.log ``bend`` lines and the restart rows as GALFIT
    writes them for the same input file; all read back."""
    ref = shared(SET, "fits", "fit-sersic-bending")
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
    at = [i for i, line in enumerate(theirs_log) if "bend    :" in line][0]
    mine = [i for i, line in enumerate(ours_log) if "bend    :" in line][0]
    assert layout(ours_log[mine]) == layout(theirs_log[at])
    assert layout(ours_log[mine + 1]) == layout(theirs_log[at + 1])
    for log in (tmp_path / "fit.log", ref / "fit.log"):
        comps = read_fit_log(log)[-1].components
        assert [c.type for c in comps] == ["sersic", "sky"]
        assert len(comps[0].values) == len(comps[0].errors) == 8
    restart = gf.read_feedme(out.restart).components[0]
    assert "B2" in restart.rows and restart.rows["B2"].toggles == [1]
    back = gf.read_fit_header(out.output).component(1)
    assert back["B2"].value == pytest.approx(restart.value("B2", 0), abs=1e-4)
