"""Coordinate rotation (R0)-R4), R9), R10)): the Jacobian against finite differences, a fit
of GALFIT's own spiral render, refusals, and the outputs (image block header, fit.log,
restart file) read back by the workflow's parsers.  GALFIT's renders of a power and a log
spiral are matched in test_fitter_renders.py.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from astropy.io import fits

from galfit_unc import galfit_files as gf
from galfit_unc import injection
from galfit_unc.ds9 import undrawn_notes
from fitlog import read_fit_log
from jacobian_check import assert_jacobian_matches
from galfit_unc.fitter import rotation
from galfit_unc.fitter.finesample import FineSampledRenderer
from galfit_unc.fitter.fit import run_galfit
from galfit_unc.fitter.render import ModelRenderer
from galfit_unc.injection import header_components

SET = "galfit305-renders"
_SPIRAL = {
    "power": "R0) power\nR1) 3 1\nR2) 12 1\nR3) 200 1\nR4) 0.5 1\nR9) 35 1\nR10) 20 1\n",
    "log": "R0) log\nR1) 3 1\nR2) 12 1\nR3) -70 1\nR4) 4 1\nR9) 25 1\nR10) 130 1\n",
}


def test_rotation_map_derivatives_match_finite_differences():
    """The analytic derivatives of the coordinate map, by the offsets and by every parameter
    (a power and a log member, and one without rotation: the identity), in float64."""
    rng = np.random.default_rng(3)
    dx, dy = rng.uniform(-30, 30, (2, 3, 400))
    par = {"ROT_RIN": [3.0, 8.0, 0.0], "ROT_ROUT": [12.0, 40.0, 1.0], "ROT_RANG": [200.0, -60.0, 0.0],
           "ROT_R4": [0.5, 10.0, 1.0], "ROT_INCL": [35.0, 30.0, 0.0], "ROT_SPA": [20.0, 150.0, 0.0]}
    par = {k: np.array(v) for k, v in par.items()}
    log = np.array([False, True, False])
    ndx, ndy, scale, deriv = rotation.rotate_with_derivatives(dx, dy, par, log)
    assert np.allclose(ndx[2], dx[2]) and np.allclose(ndy[2], dy[2]) and scale[2, 0] == 1.0
    for name in ["dx", "dy", *rotation.ROTATION_FIELDS]:
        h = 1e-5 * (np.maximum(1.0, np.abs(par[name])) if name in par else 1.0)
        moved = [dict(par), dict(par)]
        offsets = [(dx, dy), (dx, dy)]
        for sign, m, o in zip((1, -1), moved, range(2)):
            if name == "dx":
                offsets[o] = (dx + sign * h, dy)
            elif name == "dy":
                offsets[o] = (dx, dy + sign * h)
            else:
                m[name] = par[name] + sign * h
        up = rotation.rotate(*offsets[0], moved[0], log)
        down = rotation.rotate(*offsets[1], moved[1], log)
        step = 2 * (h[:, None] if np.ndim(h) else h)
        # The identity member's parameters are not fitted (and |R3)| has a kink at 0).
        rows = slice(None) if name in ("dx", "dy") else slice(0, 2)
        for axis in range(2):
            num = ((up[axis] - down[axis]) / step)[rows]
            assert np.abs(deriv[name][axis][rows] - num).max() <= 1e-6 * max(np.abs(num).max(), 1.0), (name, axis)


@pytest.mark.parametrize("func", ["power", "log"])
def test_rotation_jacobian_matches_finite_differences(func):
    text = (" 0) sersic\n 1) 20.3 19.6 1 1\n 3) 17 1\n 4) 6.0 1\n 5) 1.5 1\n 9) 0.4 1\n10) 30 1\n" + _SPIRAL[func] +
            "F2) 0.3 20 1 1\n"
            # A second Sersic without rotation shares the group (its map is the identity).
            " 0) sersic\n 1) 18 21 1 1\n 3) 18 1\n 4) 5.0 1\n 5) 1.0 1\n 9) 0.8 1\n10) 60 1\n")
    r = ModelRenderer(gf.parse_feedme(text).components, (1, 40, 1, 40), None, None, 26.0)
    assert {"RIN", "ROUT", "RANG", "ALPHA" if func == "power" else "RWS", "INCL", "SPA"} <= {key for _, key in r.names}

    def step(key, value):
        # Steps well above the single-precision noise of the rendered model.
        if key in ("F2PA", "RANG", "INCL", "SPA", "PA"):
            return 0.5
        return (3e-3 if key in ("RIN", "ROUT", "ALPHA", "RWS") else 1e-3) * max(abs(value), 1.0)

    assert_jacobian_matches(r, step, 5e-3)


def test_rotation_jacobian_with_a_bent_member_in_the_group():
    """A rotated Sersic and a bent one share the group: both chain rules apply, each with
    the other's map as the identity (the rotation's columns are not dropped)."""
    text = (" 0) sersic\n 1) 20.3 19.6 1 1\n 3) 17 1\n 4) 6.0 1\n 5) 1.5 1\n 9) 0.4 1\n10) 30 1\n" + _SPIRAL["power"] +
            " 0) sersic\n 1) 18 21 1 1\n 3) 18 1\n 4) 5.0 1\n 5) 1.0 1\n 9) 0.8 1\n10) 60 1\nB2) 0.5 1\n")
    r = ModelRenderer(gf.parse_feedme(text).components, (1, 40, 1, 40), None, None, 26.0)

    def step(key, value):
        if key in ("RANG", "INCL", "SPA", "PA"):
            return 0.5
        if key == "B2":
            return 0.005
        return (3e-3 if key in ("RIN", "ROUT", "ALPHA") else 1e-3) * max(abs(value), 1.0)

    assert_jacobian_matches(r, step, 5e-3)


def test_rotation_with_fine_sampling_matches_data_sampling():
    """E) 2 with a point PSF gives the E) 1 model: the rotation's radii (R1), R2), R4) of a
    log spiral) scale with the sampling, its angles do not."""
    text = (" 0) sersic\n 1) 40.3 39.6 1 1\n 3) 17 1\n 4) 10.0 1\n 5) 1.0 1\n 9) 0.3 1\n10) 10 1\n"
            "R0) log\nR1) 4 1\nR2) 20 1\nR3) -60 1\nR4) 5 1\nR9) 30 1\nR10) 150 1\nF2) 0.5 0 1 1\n")
    comps = gf.parse_feedme(text).components
    point = np.zeros((3, 3))
    point[1, 1] = 1.0
    coarse = ModelRenderer(comps, (1, 80, 1, 80), point, None, 26.0)
    fine = FineSampledRenderer(comps, (1, 80, 1, 80), point, None, 26.0, finesample=2)
    a, b = coarse.model(coarse.theta0), fine.model(fine.theta0)
    assert np.abs(b - a).max() <= 1e-3 * a.max() and b.sum() == pytest.approx(a.sum(), rel=1e-4)


def test_rotation_fit_recovers_galfit_render(shared, tmp_path):
    """GALFIT's render of a log spiral as data (flat sigma): the fit from a perturbed start
    returns GALFIT's parameters, and the outputs carry the rotation as GALFIT writes it."""
    case = shared(SET, "renders", "mod-rotation-log")
    model = fits.getdata(case / "model.fits").astype(np.float64)
    fits.writeto(tmp_path / "data.fits", model)
    fits.writeto(tmp_path / "sigma.fits", np.full(model.shape, 0.01))
    truth = gf.read_feedme(case / "galfit.feedme")
    start = {"3": 17.2, "4": 22.0, "R1": 9.0, "R2": 37.0, "R3": -50.0, "R4": 12.0, "R9": 25.0, "R10": 145.0}
    text = (case / "galfit.feedme").read_text().replace("A) none", "A) data.fits").replace("C) none", "C) sigma.fits")
    text = text.replace("P) 1", "P) 0")
    fm = gf.parse_feedme(text)
    for row, v in start.items():
        fm.components[0].set_value(row, 0, v)
    gf.write_feedme(fm, tmp_path / "galfit.feedme")
    out = run_galfit("galfit.feedme", workdir=tmp_path)
    header = gf.read_fit_header(out.output)
    comp = header.component(1)
    assert comp.rotation == "log"
    got = dict(comp.rotation_params)
    want = dict(zip(["RIN", "ROUT", "RANG", "RWS", "INCL", "SPA"], [row for _, row in gf.ROTATION_ROWS]))
    for key, row in want.items():
        # Our model differs from GALFIT's by 0.003 % of the peak (rms): within 1 %.
        assert got[key].value == pytest.approx(truth.components[0].value(row, 0), rel=0.01, abs=0.1), key
    assert comp["MAG"].value == pytest.approx(17.0, abs=1e-3)
    # Read back: the header gives the same components as the restart file.
    back = header_components(header)[0]
    restart = gf.read_feedme(out.restart).components[0]
    assert back.rows["R0"].text == "log" and restart.rows["R0"].text.startswith("log")
    for _, row in gf.ROTATION_ROWS:
        assert back.value(row, 0) == pytest.approx(restart.value(row, 0), abs=1e-3), row
    run = read_fit_log(tmp_path / "fit.log")[-1].components[0]
    # sersic: x, y, mag, Re, n, q, PA; log: R1-R4, R9, R10; fourier: F2 amplitude and phase.
    assert len(run.values) == len(run.errors) == 7 + 6 + 2
    assert run.values[7:13] == pytest.approx([got[k].value for k in want], abs=0.01)


def test_rotation_header_cards_match_galfit(shared, tmp_path):
    """A model-only run writes the rotation's cards with GALFIT's keys, order and comments."""
    case = shared(SET, "renders", "mod-rotation-powerlaw")
    shutil.copy(case / "galfit.feedme", tmp_path / "galfit.feedme")
    out = run_galfit("galfit.feedme", workdir=tmp_path)
    ours, theirs = fits.getheader(out.output), fits.getheader(case / "model.fits")
    keys = [k for k in theirs if k.startswith("1_")]
    assert [k for k in ours if k.startswith("1_")] == keys
    assert [ours.comments[k] for k in keys] == [theirs.comments[k] for k in keys]
    assert ours["1_ROTF"].strip() == theirs["1_ROTF"].strip() == "power"


@pytest.mark.parametrize("case, func", [("mod-rotation-powerlaw", "power"), ("mod-rotation-log", "log")])
def test_galfit_header_with_rotation_reads_back(shared, case, func):
    """GALFIT's own model header: the workflow's parser gives the input file's rotation rows,
    and the region files say the rotation is not drawn."""
    folder = shared(SET, "renders", case)
    header = gf.parse_fit_header(fits.getheader(folder / "model.fits"), case)
    comp = header_components(header)[0]
    fed = gf.read_feedme(folder / "galfit.feedme").components[0]
    assert comp.rows["R0"].text == func == gf.rotation_function(fed)
    for _, row in gf.ROTATION_ROWS:
        assert comp.value(row, 0) == pytest.approx(fed.value(row, 0)), row
    assert [k for k, _ in header.components[0].params][-2:] == ["F2", "F2PA"]
    # Every parameter of the input file is found by its header key.
    for key, row, idx in gf.parameter_table(fed):
        assert header.components[0][key].value == pytest.approx(fed.value(row, idx)), key
    # The workflow's re-fit input file built from the header alone keeps the rotation.
    refit = injection.refit_feedme(header, window_shape=(151, 151)).components[0]
    assert refit.rows["R0"].text == func
    for _, row in gf.ROTATION_ROWS:
        assert refit.value(row, 0) == pytest.approx(fed.value(row, 0)) and refit.rows[row].toggles == [1], row
    assert undrawn_notes(header) == [f"component 1 (sersic): {func} coordinate rotation, Fourier modes not drawn; the ellipse is the base shape"]


@pytest.mark.parametrize("rows, message", [
    (_SPIRAL["power"].replace("R0) power", "R0) spiral"), r"row R0\): rotation function 'spiral'; use power, log or none"),
    (_SPIRAL["power"].replace("R0) power\n", ""), r"row R1\): no R0\) names the rotation function"),
    (_SPIRAL["power"].replace("R9) 35 1\n", ""), r"component 1 \(sersic\): hidden row R0\) power: row R9\) \(INCL\) missing; add the row"),
    (_SPIRAL["power"] + "B2) 0.1 1\n", r"component 1 \(sersic\): hidden row R0\) \(coordinate rotation with bending modes\)"),
])
def test_rotation_refusals_name_component_and_row(rows, message):
    text = " 0) sersic\n 1) 20 20 1 1\n 3) 17 1\n 4) 6.0 1\n 5) 1.5 1\n 9) 0.4 1\n10) 30 1\n" + rows
    with pytest.raises(gf.GalfitFormatError, match=message):
        ModelRenderer(gf.parse_feedme(text).components, (1, 40, 1, 40), None, None, 26.0)


def test_rotation_refused_on_types_whose_keys_it_would_repeat():
    text = " 0) ferrer\n 1) 20 20 1 1\n 3) 17 1\n 4) 10 1\n 5) 1.5 1\n 6) 0.5 1\n 9) 0.4 1\n10) 30 1\n" + _SPIRAL["log"]
    with pytest.raises(gf.GalfitFormatError, match=r"component 1 \(ferrer\): hidden row R0\): not supported"):
        ModelRenderer(gf.parse_feedme(text).components, (1, 40, 1, 40), None, None, 26.0, platescale=(0.1, 0.1))
