"""E) fine sampling: the model rendered on a grid E times finer, convolved with the fine
PSF and summed into data pixels.  Jacobian against finite differences, the sky per data
pixel, and a fit of GALFIT 3.0.5's own E) 2 render (plus sky and noise) from a perturbed
start.  The render itself is compared in ``test_fitter_renders.py`` (psf-finesampling-2).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from astropy.io import fits

from galfit_unc import galfit_files as gf
from galfit_unc.fitter.finesample import FineSampledRenderer, make_renderer
from galfit_unc.fitter.fit import run_galfit
from galfit_unc.fitter.render import ModelRenderer

SET = "galfit305-renders"
_COMPS = (
    " 0) sersic\n 1) 20.3 19.6 1 1\n 3) 17 1\n 4) 4.0 1\n 5) 1.5 1\n 9) 0.6 1\n10) 30 1\nF1) 0.05 20 1 1\n"
    " 0) psf\n 1) 28.4 10.7 1 1\n 3) 19 1\n"
    " 0) sky\n 1) 10 1\n 2) 0.02 1\n 3) -0.01 1\n"
)


def _fine_psf(e):
    yy, xx = np.mgrid[-12:13, -12:13]
    psf = np.exp(-(xx**2 + yy**2) / (2 * (1.2 * e) ** 2))
    return psf / psf.sum()


def test_make_renderer_picks_the_sampling():
    comps = gf.parse_feedme(_COMPS).components
    assert type(make_renderer(comps, (1, 30, 1, 30), _fine_psf(1), None, 26.0)) is ModelRenderer
    assert type(make_renderer(comps, (1, 30, 1, 30), _fine_psf(2), None, 26.0, finesample=2)) is FineSampledRenderer


def test_sky_is_per_data_pixel():
    comps = gf.parse_feedme(" 0) sky\n 1) 10 1\n 2) 0.02 1\n 3) -0.01 1\n").components
    r = FineSampledRenderer(comps, (5, 34, 3, 22), None, None, 26.0, finesample=3)
    y, x = np.mgrid[3:23, 5:35].astype(float)
    expected = 10 + 0.02 * (x - 19.5) - 0.01 * (y - 12.5)
    assert np.abs(r.model(r.theta0) - expected).max() <= 1e-9


@pytest.mark.parametrize("e", [2, 3])
def test_fine_sampled_jacobian_matches_finite_differences(e):
    comps = gf.parse_feedme(_COMPS).components
    r = FineSampledRenderer(comps, (3, 34, 2, 31), _fine_psf(e), None, 26.0, finesample=e)
    theta = r.theta0
    _, jac = r.model_and_jacobian(theta, np.ones(len(theta), dtype=bool))
    for j, (_, key) in enumerate(r.names):
        h = 0.3 if key.endswith("PA") else 1e-3 * max(abs(theta[j]), 1.0)
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        num = (r.model(up) - r.model(down)) / (2 * h)
        assert np.abs(jac[j] - num).max() <= 5e-3 * np.abs(num).max(), key


def test_fit_of_galfits_fine_sampled_render(shared, tmp_path):
    """GALFIT's E) 2 render of a Sersic and a psf component, plus a sky of 100 and noise,
    fitted from a perturbed start with the same E) 2 and fine PSF: every parameter within
    4 formal errors of the values GALFIT rendered."""
    case = shared(SET, "renders", "psf-finesampling-2")
    shutil.copy(shared(SET, "psf_fine2.fits"), tmp_path / "psf_fine2.fits")
    model = fits.getdata(case / "model.fits").astype(np.float64)
    gain, sky = 4.0, 100.0
    noise = np.random.default_rng(3).normal(size=model.shape) * np.sqrt((model + sky) / gain)
    fits.PrimaryHDU((model + sky + noise).astype(np.float32)).writeto(tmp_path / "data.fits")
    fits.PrimaryHDU(np.sqrt((model + sky) / gain).astype(np.float32)).writeto(tmp_path / "sigma.fits")
    truth = gf.read_feedme(case / "galfit.feedme")
    text = (case / "galfit.feedme").read_text()
    text = text.replace("A) none", "A) data.fits").replace("B) model.fits", "B) imgblock.fits").replace("C) none", "C) sigma.fits")
    text = text.replace("D) ../../psf_fine2.fits", "D) psf_fine2.fits").replace("P) 1", "P) 0")
    start = (text.replace(" 1) 51.3 50.7 1 1", " 1) 51.8 50.3 1 1").replace(" 3) 18.0 1", " 3) 18.4 1")
             .replace(" 4) 3.0 1", " 4) 4.0 1").replace(" 5) 2.0 1", " 5) 1.5 1").replace(" 9) 0.6 1", " 9) 0.7 1")
             .replace(" 10) 70 1", " 10) 60 1").replace(" 1) 30.4 70.6 1 1", " 1) 30.0 71.0 1 1"))
    assert start.count("1) ") == text.count("1) ") and start != text
    (tmp_path / "galfit.feedme").write_text(start + " 0) sky\n 1) 95 1\n 2) 0 0\n 3) 0 0\n")
    out = run_galfit("galfit.feedme", workdir=tmp_path)
    header = gf.read_fit_header(out.output)
    for number, comp in enumerate(truth.components, 1):
        for key, row, idx in gf.parameter_table(comp):
            hv = header.component(number)[key]
            assert abs(hv.value - comp.value(row, idx)) <= 4 * hv.error, (number, key, hv.value, hv.error)
    assert header.component(3)["SKY"].value == pytest.approx(sky, abs=4 * header.component(3)["SKY"].error)
    assert out.chi2nu == pytest.approx(1.0, abs=0.05)
