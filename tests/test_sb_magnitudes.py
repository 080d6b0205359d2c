"""Total magnitudes of the surface-brightness components (edgedisk, nuker, king, ferrer).

Expected values are independent of the code: closed forms worked out by hand, numerical
integrals of the profiles written out here, and the pixel sums of GALFIT 3.0.5's own renders.
"""

import math
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from scipy import integrate, special

from galfit_unc import galfit_files as gf
from galfit_unc.fitter.totals import sb_area
from galfit_unc.statistics import component_magnitude, component_magnitude_error, object_magnitudes

RENDERS = Path(__file__).parent / "data" / "galfit305-renders" / "renders"


def header_component(number, ctype, **values):
    return gf.HeaderComponent(number, ctype, [(k, gf.HeaderValue(v, 0.1)) for k, v in values.items()])


def test_edgedisk_hand_value():
    # Sigma0 (|x|/Rs) K1(|x|/Rs) sech^2(h/hs): int over x = pi Rs, over h = 2 hs.
    comp = header_component(1, "edgedisk", XC=50.0, YC=50.0, MU_0=19.0, HS=2.5, RS=8.0, PA=30.0)
    expected = 19.0 - 2.5 * math.log10(2 * math.pi * 8.0 * 2.5 * 0.2 * 0.3)
    assert component_magnitude(comp, (0.2, 0.3)) == pytest.approx(expected, abs=1e-12)


def test_edgedisk_numerical_integral():
    rs, hs = 7.0, 1.7
    along = integrate.quad(lambda x: abs(x) / rs * special.k1(abs(x) / rs) if x else 1.0, -60 * rs, 60 * rs, points=[0.0], limit=400)[0]
    across = integrate.quad(lambda h: 1.0 / math.cosh(h / hs) ** 2, -60 * hs, 60 * hs)[0]
    assert sb_area("edgedisk", rs, hs) == pytest.approx(along * across, rel=1e-7)


def nuker(r, rb, alpha, beta, gamma):
    return 2 ** ((beta - gamma) / alpha) * (r / rb) ** -gamma * (1 + (r / rb) ** alpha) ** ((gamma - beta) / alpha)


@pytest.mark.parametrize("alpha, beta, gamma", [(1.2, 3.5, 0.5), (2.0, 4.0, 0.0), (0.8, 2.6, 1.2)])
def test_nuker_numerical_integral(alpha, beta, gamma):
    rb, q = 6.0, 0.7
    radial = integrate.quad(lambda r: r * nuker(r, rb, alpha, beta, gamma), 0, np.inf, limit=400)[0]
    assert sb_area("nuker", rb, alpha, beta, gamma, q=q) == pytest.approx(2 * math.pi * q * radial, rel=1e-6)


def test_nuker_divergent_total_is_infinite():
    # beta <= 2: the outer slope does not fall fast enough; the magnitude is -inf.
    comp = header_component(1, "nuker", XC=1.0, YC=1.0, MU=18.0, RB=6.0, ALPHA=1.2, BETA=1.5, GAMMA=0.5, AR=0.7, PA=0.0)
    assert component_magnitude(comp, (0.1, 0.1)) == -math.inf


def brute_force_area(profile, rmax, q, c0, step=0.02):
    """Sum of the profile over a fine grid (generalised-ellipse radius, axis ratio q)."""
    x = np.arange(-rmax, rmax, step) + step / 2
    xx, yy = np.meshgrid(x, x * q)
    p = c0 + 2.0
    r = (np.abs(xx) ** p + np.abs(yy / q) ** p) ** (1 / p)
    return profile(r).sum() * step * step * q


@pytest.mark.parametrize("c0", [0.0, -0.5, 0.7])
def test_ferrer_brute_force(c0):
    rout, alpha, beta, q = 10.0, 2.0, 0.5, 0.6
    expected = brute_force_area(lambda r: np.where(r < rout, np.clip(1 - (r / rout) ** (2 - beta), 0, None) ** alpha, 0.0), rout, q, c0)
    assert sb_area("ferrer", rout, alpha, beta, q=q, c0=c0) == pytest.approx(expected, rel=2e-4)


@pytest.mark.parametrize("alpha", [2.0, 3.0])
def test_king_brute_force(alpha):
    rc, rt, q = 2.0, 12.0, 0.8
    b = (1 + (rt / rc) ** 2) ** (-1 / alpha)

    def king(r):
        inner = np.clip((1 + (r / rc) ** 2) ** (-1 / alpha) - b, 0, None)
        return np.where(r < rt, inner**alpha / (1 - b) ** alpha, 0.0)

    assert sb_area("king", rc, alpha, rt, q=q) == pytest.approx(brute_force_area(king, rt, q, 0.0), rel=2e-4)


@pytest.mark.parametrize("case", ["type-king", "type-king-alpha3", "type-ferrer", "type-ferrer-b05"])
def test_magnitude_matches_galfit_render_sum(case):
    """King and ferrer end inside the image: GALFIT's pixel sum is the component's total."""
    fm = gf.read_feedme(RENDERS / case / "galfit.feedme")
    comp = fm.components[0]
    keys = gf.parameter_table(comp)
    hc = gf.HeaderComponent(1, comp.type, [(k, gf.HeaderValue(comp.value(row, i), None)) for k, row, i in keys])
    total = fits.getdata(RENDERS / case / "model.fits").astype(float).sum()
    galfit_mag = fm.zeropoint - 2.5 * math.log10(total)
    assert component_magnitude(hc, fm.platescale) == pytest.approx(galfit_mag, abs=0.003)


def test_object_combines_surface_brightness_and_mag_components():
    disc = header_component(1, "edgedisk", XC=50.0, YC=50.0, MU_0=19.0, HS=2.0, RS=8.0, PA=30.0)
    bulge = header_component(2, "sersic", XC=50.0, YC=50.0, MAG=18.0, RE=3.0, N=2.0, AR=0.8, PA=30.0)
    header = gf.FitHeader([disc, bulge], (1, 100, 1, 100), 26.0)
    disc_flux = 10 ** (-0.4 * 19.0) * 2 * math.pi * 8.0 * 2.0 * 0.01
    expected = -2.5 * math.log10(disc_flux + 10 ** (-0.4 * 18.0))
    assert object_magnitudes(header, {1: "A", 2: "A"}, (0.1, 0.1))["A"] == pytest.approx(expected, abs=1e-12)
    with pytest.raises(gf.GalfitFormatError, match="component 1: a edgedisk component's magnitude needs the plate scale"):
        object_magnitudes(header, {1: "A"})


def test_formal_error_of_a_surface_brightness_magnitude():
    # m = mu - 2.5 log10(2 pi Rs hs dx dy): sigma^2 = s_mu^2 + (2.5/ln 10)^2 ((s_Rs/Rs)^2 + (s_hs/hs)^2).
    comp = gf.HeaderComponent(
        1,
        "edgedisk",
        [("XC", gf.HeaderValue(50.0, 0.3)), ("YC", gf.HeaderValue(50.0, 0.3)), ("MU_0", gf.HeaderValue(19.0, 0.05)),
         ("HS", gf.HeaderValue(2.0, 0.2)), ("RS", gf.HeaderValue(8.0, 0.4)), ("PA", gf.HeaderValue(30.0, None, "fixed"))],
    )
    expected = math.sqrt(0.05**2 + (2.5 / math.log(10)) ** 2 * ((0.4 / 8.0) ** 2 + (0.2 / 2.0) ** 2))
    assert component_magnitude_error(comp, (0.1, 0.1)) == pytest.approx(expected, rel=1e-6)
