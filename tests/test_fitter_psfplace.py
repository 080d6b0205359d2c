"""psf components placed as GALFIT places them (``galfit`` sampling) and by the exact Fourier
shift (``exact``): analytic Jacobian against finite differences, and the two samplings' totals.
GALFIT's own renders of psf components are compared in ``test_fitter_renders.py``."""

from __future__ import annotations

import numpy as np
import pytest

from galfit_unc import galfit_files as gf
from galfit_unc.fitter.psfplace import _sinc_sum
from galfit_unc.fitter.render import ModelRenderer
from jacobian_check import assert_jacobian_matches


def _gaussian_psf(size=41, fwhm=9.0):
    # Wide enough that a fifth of the light lies beyond the sinc-placed disc.
    y, x = np.mgrid[:size, :size] - size // 2
    psf = np.exp(-(x**2 + y**2) / (2 * (fwhm / 2.3548) ** 2))
    return psf / psf.sum()


def _renderer(x, y, sampling, sky=True, fwhm=9.0):
    text = f" 0) psf\n 1) {x} {y} 1 1\n 3) 17 1\n" + (" 0) sky\n 1) 0.5 1\n 2) 0.001 1\n 3) -0.002 1\n" if sky else "")
    return ModelRenderer(gf.parse_feedme(text).components, (1, 80, 1, 80), _gaussian_psf(fwhm=fwhm), (80, 80), 26.0, sampling=sampling)


@pytest.mark.parametrize("x, y", [(40.3, 39.7), (40.2, 41.8), (39.9, 40.45)])
def test_placed_psf_jacobian_matches_finite_differences(x, y):
    # Steps stay clear of the half-pixel tie, where the placement jumps by design.
    assert_jacobian_matches(_renderer(x, y, "galfit"), lambda key, v: 1e-3, 2e-3)


def test_half_pixel_loses_light_only_in_galfit_sampling():
    flux = 10 ** (-0.4 * (17 - 26))
    # A narrow PSF: all its light lies in the disc that GALFIT scales.
    placed, exact = (_renderer(40.5, 39.5, mode, sky=False, fwhm=2.5) for mode in ("galfit", "exact"))
    placed, exact = placed.model(placed.theta0), exact.model(exact.theta0)
    # 1 / S(1/2)^2, S the 46 sinc samples within 22.5 pixels (a tie at both ends).
    u = np.arange(-22, 24) - 0.5
    assert placed.sum() / flux == pytest.approx(1.0 / np.sinc(u).sum() ** 2, rel=2e-3)
    assert placed.sum() / flux < 0.98
    assert exact.sum() / flux == pytest.approx(1.0, abs=1e-4)


def test_sinc_sum_derivative():
    d, h = 0.3, 1e-6
    s, ds = _sinc_sum(d)
    assert ds == pytest.approx((_sinc_sum(d + h)[0] - _sinc_sum(d - h)[0]) / (2 * h), rel=1e-5)
    # The 45 samples within 22.5 pixels of 0.3: j = -22 ... 22.
    assert s == pytest.approx(np.sinc(np.arange(-22, 23) - d).sum())
