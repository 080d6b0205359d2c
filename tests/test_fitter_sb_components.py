"""edgedisk, nuker, king and ferrer: GALFIT's formulas at hand-computed points, analytic
derivatives against finite differences, and the surface-brightness conversion.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from galfit_unc import galfit_files as gf
from galfit_unc.fitter import profiles
from galfit_unc.fitter.render import ModelRenderer

# kind: (size, shape, shape2, shape3, q, pa)
CASES = {
    "nuker": (6.0, 1.2, 1.5, 0.5, 0.72, -25.0),
    "king": (5.0, 2.0, 30.0, 0.0, 0.9, 20.0),
    "ferrer": (20.0, 3.0, 1.0, 0.0, 0.5, 50.0),
    "edgedisk": (12.0, 3.0, 0.0, 0.0, 1.0, 40.0),
}


def _points():
    rng = np.random.default_rng(5)
    # Away from the centre (nuker's cusp) and inside the truncations.
    r = rng.uniform(1.5, 8.0, 60)
    phi = rng.uniform(0, 2 * np.pi, 60)
    return (r * np.cos(phi))[None, :], (r * np.sin(phi))[None, :]


def _eval(kind, dx, dy, p, derivs=False):
    sb, size, shape, shape2, shape3, q, pa, c0 = p
    c0 = None if c0 is None else np.array([c0])
    return profiles.evaluate(kind, dx, dy, np.array([sb]), np.array([size]), np.array([shape]), np.array([q]), np.array([pa]),
                             c0, derivs, shape2=np.array([shape2]), shape3=np.array([shape3]))


def test_formulas_at_hand_points():
    """Values on the major axis (PA 0: along +y) from the formulas of the GALFIT manual."""
    y = np.array([[0.0001, 3.0, 6.0, 12.0]])
    x = np.zeros_like(y)
    sb = 10.0
    rb, a, b, g = 6.0, 1.2, 1.5, 0.5
    nuker = sb * 2 ** ((b - g) / a) * (y / rb) ** (-g) * (1 + (y / rb) ** a) ** ((g - b) / a)
    assert _eval("nuker", x, y, (sb, rb, a, b, g, 0.5, 0.0, None)) == pytest.approx(nuker, rel=1e-5)
    assert _eval("nuker", x, y, (sb, rb, a, b, g, 0.5, 0.0, None))[0, 2] == pytest.approx(sb, rel=1e-6)
    rc, rt, al = 5.0, 30.0, 2.0
    king = sb * (1 - 1 / (1 + (rt / rc) ** 2) ** (1 / al)) ** (-al) * (1 / (1 + (y / rc) ** 2) ** (1 / al) - 1 / (1 + (rt / rc) ** 2) ** (1 / al)) ** al
    assert _eval("king", x, y, (sb, rc, al, rt, 0, 0.5, 0.0, None)) == pytest.approx(king, rel=1e-5)
    rout, al, be = 10.0, 3.0, 1.0
    ferrer = sb * np.clip(1 - (y / rout) ** (2 - be), 0, None) ** al
    assert _eval("ferrer", x, y, (sb, rout, al, be, 0, 0.5, 0.0, None)) == pytest.approx(ferrer, rel=1e-5, abs=1e-12)
    # Outside Rout and Rt: nothing.
    assert _eval("ferrer", x, np.array([[11.0]]), (sb, rout, al, be, 0, 0.5, 0.0, None))[0, 0] == 0
    assert _eval("king", x[:, :1], np.array([[31.0]]), (sb, rc, al, rt, 0, 0.5, 0.0, None))[0, 0] == 0
    # edgedisk: along the major axis (r/Rs) K1(r/Rs); across it sech^2(h/hs).
    rs, hs = 12.0, 3.0
    disc = sb * (y / rs) * special.k1(y / rs)
    assert _eval("edgedisk", x, y, (sb, rs, hs, 0, 0, 1.0, 0.0, None)) == pytest.approx(disc, rel=1e-5)
    h = np.array([[1.0, 4.0]])
    assert _eval("edgedisk", h, np.zeros_like(h), (sb, rs, hs, 0, 0, 1.0, 0.0, None)) == pytest.approx(sb / np.cosh(h / hs) ** 2, rel=1e-5)


# edgedisk has no C0 row in GALFIT: its case without C0 only.
@pytest.mark.parametrize("kind, c0", [(kind, c0) for kind in CASES for c0 in (None, 0.4) if not (kind == "edgedisk" and c0 is not None)])
def test_derivatives_match_finite_differences(kind, c0):
    size, shape, shape2, shape3, q, pa = CASES[kind]
    dx, dy = _points()
    p = [7.0, size, shape, shape2, shape3, q, pa, c0]
    _, der = _eval(kind, dx, dy, p, derivs=True)
    names = {1: "SIZE", 2: "SHAPE", 3: "SHAPE2", 4: "SHAPE3", 5: "AR", 6: "PA", 7: "C0"}
    for i, key in names.items():
        if key not in der:
            assert kind == "edgedisk" or (key == "SHAPE3" and kind != "nuker") or key == "C0", key
            continue
        h = 1e-5 * max(abs(p[i]), 1.0)
        hi, lo = list(p), list(p)
        hi[i] += h
        lo[i] -= h
        num = (_eval(kind, dx, dy, hi) - _eval(kind, dx, dy, lo)) / (2 * h)
        assert der[key] == pytest.approx(num, rel=1e-4, abs=1e-7 * np.abs(num).max()), key
    for key, shift in (("XC", (1, 0)), ("YC", (0, 1))):
        h = 1e-5
        num = (_eval(kind, dx - h * shift[0], dy - h * shift[1], p) - _eval(kind, dx + h * shift[0], dy + h * shift[1], p)) / (2 * h)
        assert der[key] == pytest.approx(num, rel=1e-4, abs=1e-7 * np.abs(num).max()), key
    img = _eval(kind, dx, dy, p)
    assert der["MAG"] == pytest.approx(-0.4 * math.log(10) * img, rel=1e-6)


FEEDME = {
    "nuker": " 0) nuker\n 1) 20.3 19.6 1 1\n 3) 19.0 1\n 4) 5.0 1\n 5) 1.2 1\n 6) 1.6 1\n 7) 0.4 1\n 9) 0.7 1\n10) 30 1\n",
    "king": " 0) king\n 1) 20.3 19.6 1 1\n 3) 19.0 1\n 4) 4.0 1\n 5) 15.0 1\n 6) 2.0 1\n 9) 0.7 1\n10) 30 1\n",
    "ferrer": " 0) ferrer\n 1) 20.3 19.6 1 1\n 3) 19.0 1\n 4) 12.0 1\n 5) 2.5 1\n 6) 0.8 1\n 9) 0.7 1\n10) 30 1\n",
    "edgedisk": " 0) edgedisk\n 1) 20.3 19.6 1 1\n 3) 19.0 1\n 4) 2.0 1\n 5) 7.0 1\n10) 30 1\n",
}


@pytest.mark.parametrize("kind", list(FEEDME))
def test_renderer_jacobian_matches_finite_differences(kind):
    """The rendered Jacobian (sub-sampled pixels, PSF) of every parameter, mu included."""
    comps = gf.parse_feedme(FEEDME[kind]).components
    yy, xx = np.mgrid[-7:8, -7:8]
    psf = np.exp(-(xx**2 + yy**2) / (2 * 1.5**2))
    r = ModelRenderer(comps, (1, 40, 1, 40), psf / psf.sum(), None, 26.0, platescale=(0.1, 0.1))
    theta = r.theta0
    free = np.ones(len(theta), dtype=bool)
    _, jac = r.model_and_jacobian(theta, free)
    for j, (_, key) in enumerate(r.names):
        h = 1e-3 * max(abs(theta[j]), 1.0)
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        num = (r.model(up) - r.model(down)) / (2 * h)
        scale = np.abs(num).max()
        # Nuker's cusp (gamma > 0) makes the centre pixel's position derivative a sampled
        # integral of a singular function: measured 2.5 % of the largest value.
        tol = 4e-2 if kind == "nuker" and key in ("XC", "YC") else 2e-3
        assert np.abs(jac[j] - num).max() <= tol * scale, key


def test_surface_brightness_uses_zeropoint_and_plate_scale():
    """mu0 = 18 at J = 26 and 0.1"/pixel: 10^3.2 x 0.01 counts per pixel at the centre
    (a king profile with a core far wider than the image is flat there)."""
    comps = gf.parse_feedme(" 0) king\n 1) 21 21 1 1\n 3) 18.0 1\n 4) 1000.0 1\n 5) 5000.0 1\n 6) 2.0 1\n 9) 1.0 1\n10) 0 1\n").components
    theta = np.array([21, 21, 18.0, 1000.0, 5000.0, 2.0, 1.0, 0.0])
    flat = ModelRenderer(comps, (1, 41, 1, 41), None, None, 26.0, platescale=(0.1, 0.1)).model(theta)
    assert flat[20, 20] == pytest.approx(10 ** (-0.4 * (18.0 - 26.0)) * 0.01, rel=1e-4)
    wide = ModelRenderer(comps, (1, 41, 1, 41), None, None, 26.0, platescale=(0.2, 0.1)).model(theta)
    assert wide == pytest.approx(2 * flat, rel=1e-6)
    with pytest.raises(gf.GalfitFormatError, match="K\\) plate scale"):
        ModelRenderer(comps, (1, 41, 1, 41), None, None, 26.0)
