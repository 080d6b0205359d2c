"""``--sampling galfit|exact``: GALFIT's own pixel sampling (default) against pixel means.

GALFIT samples a pixel at its centre unless the centre lies within 10 pixels (elliptical
radius) of the component's centre; a thin component (q = 0.02, PA 0) then loses about
half its light.  The galfit305-renders models are the reference.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from astropy.io import fits

from galfit_unc import galfit_files as gf
from galfit_unc.fitter import cli
from galfit_unc.fitter.render import ModelRenderer

SET = "galfit305-renders"
THIN = "thin-n1-q0.02-pa0"
TOTAL = 10 ** (-0.4 * (18.0 - 26.0))  # magnitude 18 at J = 26


def _render(shared, tmp_path, monkeypatch, case, *args):
    shutil.copy(shared(SET, "renders", case, "galfit.feedme"), tmp_path / "galfit.feedme")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["galfit.feedme", *args]) == 0
    return fits.getdata(tmp_path / "model.fits").astype(np.float64)


def test_galfit_sampling_loses_light_of_thin_components_as_galfit(shared, tmp_path, monkeypatch):
    galfit = fits.getdata(shared(SET, "renders", THIN, "model.fits")).astype(np.float64)
    assert galfit.sum() == pytest.approx(0.51 * TOTAL, rel=0.01)  # GALFIT's own loss
    ours = _render(shared, tmp_path, monkeypatch, THIN)
    assert ours.sum() == pytest.approx(galfit.sum(), rel=1e-3)
    # The pixel means keep far more of the light; at q = 0.02 they still miss some
    # (measured 0.77 of the total: the sub-pixel refinement is limited to the centre).
    exact = _render(shared, tmp_path, monkeypatch, THIN, "--sampling", "exact")
    assert 0.75 * TOTAL <= exact.sum() <= TOTAL


def test_galfit_sampling_jacobian_matches_finite_differences():
    text = " 0) sersic\n 1) 20.3 19.6 1 1\n 3) 17 1\n 4) 8.0 1\n 5) 1.5 1\n 9) 0.08 1\n10) 23 1\n"
    r = ModelRenderer(gf.parse_feedme(text).components, (1, 40, 1, 40), None, None, 26.0, sampling="galfit")
    theta = r.theta0
    _, jac = r.model_and_jacobian(theta, np.ones(len(theta), dtype=bool))
    for j, (_, key) in enumerate(r.names):
        h = 1e-3 * max(abs(theta[j]), 1.0)
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        num = (r.model(up) - r.model(down)) / (2 * h)
        # Away from the rule's steps (r = 4 and the round(20 / r) changes), which move
        # with the parameters: compare where the pixel's sub-grid is unchanged.
        same = (r.model(up) != 0) & (np.abs(num) < 50 * np.median(np.abs(num)) + 1e-12)
        assert np.abs(jac[j] - num)[same].max() <= 5e-3 * np.abs(num).max(), key


def test_with_a_psf_both_samplings_agree():
    """GALFIT's convolved models are matched by the exact sampling (measured on its image
    blocks), so ``galfit`` is the same there."""
    text = " 0) sersic\n 1) 20.3 19.6 1 1\n 3) 17 1\n 4) 8.0 1\n 5) 1.5 1\n 9) 0.08 1\n10) 23 1\n"
    comps = gf.parse_feedme(text).components
    yy, xx = np.mgrid[-5:6, -5:6]
    psf = np.exp(-(xx**2 + yy**2) / 4.0)
    psf /= psf.sum()
    a = ModelRenderer(comps, (1, 40, 1, 40), psf, None, 26.0, sampling="galfit")
    b = ModelRenderer(comps, (1, 40, 1, 40), psf, None, 26.0, sampling="exact")
    assert np.array_equal(a.model(a.theta0), b.model(b.theta0))
    with pytest.raises(ValueError, match="sampling"):
        ModelRenderer(comps, (1, 40, 1, 40), psf, None, 26.0, sampling="fine")
