"""Model images of the embedded fitter: conventions, derivatives and fidelity to GALFIT's."""

import numpy as np
import pytest
from astropy.io import fits

from galfit_unc import galfit_files as gf
from galfit_unc.fitter import profiles
from galfit_unc.fitter.psf import load_psf, psf_centre
from galfit_unc.fitter.render import FluxModel, ModelRenderer
from galfit_unc.injection import header_components
from galfit_unc.fitter.sigma import internal_sigma, sky_statistics

CONTROL = """
A) none
B) none
H) 1 60 1 50
J) 25.0
"""


def _components(text):
    return gf.parse_feedme(CONTROL + text, "test.feedme").components


def _gaussian_psf(n, sigma=1.5, shift=(0.0, 0.0)):
    cy, cx = psf_centre((n, n))
    yy, xx = np.mgrid[0:n, 0:n]
    psf = np.exp(-0.5 * (((xx - cx - shift[1]) / sigma) ** 2 + ((yy - cy - shift[0]) / sigma) ** 2))
    return psf / psf.sum()


# ---------------------------------------------------------------------------------------
# PSF conventions
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, centre", [((51, 51), (25.0, 25.0)), ((100, 100), (50.0, 50.0)), ((41, 40), (20.0, 20.0))])
def test_psf_centre_is_galfits_pixel(shape, centre):
    # 1-based N/2+1 (even) and (N+1)/2 (odd) are 0-based N/2 and (N-1)/2.
    assert psf_centre(shape) == centre


def test_load_psf_normalises(tmp_path):
    path = tmp_path / "psf.fits"
    fits.writeto(path, 7.0 * _gaussian_psf(15))
    psf = load_psf(path)
    assert psf.dtype == np.float64 and psf.sum() == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(gf.GalfitFormatError, match="not found"):
        load_psf(tmp_path / "missing.fits")


def test_psf_component_is_the_psf_placed_at_its_centre():
    psf = _gaussian_psf(15, sigma=1.2, shift=(0.3, -0.4))  # asymmetric: catches flips
    comps = _components(" 0) psf\n 1) 30 25 1 1\n 3) 20.0 1\n Z) 0\n")
    r = ModelRenderer(comps, (1, 60, 1, 50), psf, None, 25.0, exptime=2.0)
    img = r.model(r.theta0)
    flux = 2.0 * 10 ** (-0.4 * (20.0 - 25.0))
    expected = np.zeros((50, 60))
    # PSF centre pixel (7, 7) 0-based lands on pixel x=30, y=25 (1-based).
    expected[25 - 1 - 7 : 25 - 1 + 8, 30 - 1 - 7 : 30 - 1 + 8] = flux * psf
    assert np.abs(img - expected).max() < 1e-5 * flux
    # A sub-pixel position moves the light's centroid by exactly that much.
    r.theta0[0], r.theta0[1] = 30.3, 24.6
    img = r.model(r.theta0)
    yy, xx = np.mgrid[1:51, 1:61]
    cx0 = (expected * xx).sum() / expected.sum()
    cy0 = (expected * yy).sum() / expected.sum()
    assert img.sum() == pytest.approx(flux, rel=1e-4)
    assert (img * xx).sum() / img.sum() - cx0 == pytest.approx(0.3, abs=1e-3)
    assert (img * yy).sum() / img.sum() - cy0 == pytest.approx(-0.4, abs=1e-3)


# ---------------------------------------------------------------------------------------
# Photometry and geometry
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "rows",
    [
        " 0) sersic\n 1) 151.3 150.6 1 1\n 3) 17 1\n 4) 3 1\n 5) 1.0 1\n 9) 0.6 1\n10) 30 1\n",
        " 0) sersic\n 1) 151.3 150.6 1 1\n 3) 17 1\n 4) 2 1\n 5) 4.0 1\n 9) 0.8 1\n10) -60 1\n",
        " 0) sersic\n 1) 151.3 150.6 1 1\n 3) 17 1\n 4) 3 1\n 5) 2.0 1\n 9) 0.6 1\n10) 30 1\nC0) 0.7 1\n",
        " 0) devauc\n 1) 151.3 150.6 1 1\n 3) 17 1\n 4) 2 1\n 9) 0.7 1\n10) 10 1\n",
        " 0) expdisk\n 1) 151.3 150.6 1 1\n 3) 17 1\n 4) 4 1\n 9) 0.3 1\n10) 75 1\nC0) -0.6 1\n",
        " 0) gaussian\n 1) 151.3 150.6 1 1\n 3) 17 1\n 4) 2.5 1\n 9) 0.5 1\n10) 20 1\n",
        " 0) moffat\n 1) 151.3 150.6 1 1\n 3) 17 1\n 4) 3.0 1\n 5) 3.0 1\n 9) 0.7 1\n10) 20 1\nC0) 0.5 1\n",
    ],
    ids=["sersic1", "sersic4", "sersic-c0", "devauc", "expdisk-c0", "gaussian", "moffat-c0"],
)
def test_total_flux_matches_magnitude(rows):
    # mag = -2.5 log10(F / EXPTIME) + J, F integrated over the whole profile.
    comps = _components(rows)
    r = ModelRenderer(comps, (1, 301, 1, 301), None, None, 25.0, exptime=40.0)
    total = r.model(r.theta0).sum()
    assert total == pytest.approx(40.0 * 10 ** (-0.4 * (17 - 25.0)), rel=1e-3)


@pytest.mark.parametrize("pa, check", [(0, "y"), (90, "x"), (45, "anti"), (-45, "diag")])
def test_position_angle_from_plus_y_counter_clockwise(pa, check):
    comps = _components(f" 0) gaussian\n 1) 31 26 1 1\n 3) 15 1\n 4) 8 1\n 9) 0.3 1\n10) {pa} 1\n")
    img = ModelRenderer(comps, (1, 61, 1, 51), None, None, 25.0).model(_theta(comps))
    yy, xx = np.mgrid[1:52, 1:62]
    w = img / img.sum()
    cxx = (w * (xx - 31) ** 2).sum()
    cyy = (w * (yy - 26) ** 2).sum()
    cxy = (w * (xx - 31) * (yy - 26)).sum()
    if check == "y":  # PA 0: major axis along y
        assert cyy > 5 * cxx
    elif check == "x":  # PA 90: major axis along x (towards -x)
        assert cxx > 5 * cyy
    elif check == "anti":  # PA 45: major axis towards -x as y grows
        assert cxy < -0.5 * np.sqrt(cxx * cyy)
    else:
        assert cxy > 0.5 * np.sqrt(cxx * cyy)


def _theta(comps):
    return np.array([c.value(row, i) for c in comps for _, row, i in gf.parameter_table(c)])


def test_light_from_outside_the_region_is_convolved_in():
    psf = _gaussian_psf(21, sigma=3.0)
    comps = _components(
        " 0) gaussian\n 1) 8 30 1 1\n 3) 15 1\n 4) 2 1\n 9) 1 1\n10) 0 1\n"  # 3 pixels outside
        " 0) sersic\n 1) 30.2 53.6 1 1\n 3) 15 1\n 4) 2 1\n 5) 4 1\n 9) 0.8 1\n10) 0 1\n"  # steep core
        " 0) sersic\n 1) 30.2 95.6 1 1\n 3) 12 1\n 4) 3 1\n 5) 4 1\n 9) 0.8 1\n10) 0 1\n"  # far off
        " 0) psf\n 1) 30 -40 1 1\n 3) 10 1\n"  # far off: must not wrap in
    )
    small = ModelRenderer(comps, (11, 50, 11, 50), psf, None, 25.0)
    big = ModelRenderer(comps, (1, 60, -60, 110), psf, None, 25.0)
    inside = big.model(big.theta0)[71:111, 10:50]
    assert inside.max() > 1.0
    assert np.abs(small.model(small.theta0) - inside).max() < 1e-4 * inside.max()


def test_sky_plane_pivots_on_region_centre_and_skipped_components():
    comps = _components(
        " 0) gaussian\n 1) 30 25 1 1\n 3) 15 1\n 4) 3 1\n 9) 1 1\n10) 0 1\n Z) 1\n"
        " 0) sky\n 1) 5.0 1\n 2) 0.1 1\n 3) -0.2 1\n"
    )
    r = ModelRenderer(comps, (11, 40, 21, 30), None, None, 25.0)
    sky = r.model(r.theta0, include_skipped=False)
    yy, xx = np.mgrid[21:31, 11:41]
    assert np.allclose(sky, 5.0 + 0.1 * (xx - 25.5) - 0.2 * (yy - 25.5))
    with_gauss = r.model(r.theta0)
    assert with_gauss.max() > sky.max() + 10
    assert np.allclose(sum(r.component_images(r.theta0)), with_gauss, atol=1e-4)


# ---------------------------------------------------------------------------------------
# Analytic Jacobian
# ---------------------------------------------------------------------------------------
JACOBIAN_FEEDME = """
 0) sersic
 1) 22.3 20.6 1 1
 3) 18.0 1
 4) 3.2 1
 5) 4.2 1
 9) 0.7 1
10) 35 1
 0) sersic
 1) 40.2 30.3 1 1
 3) 18.5 1
 4) 4.0 1
 5) 1.5 1
 9) 0.5 1
10) -20 1
C0) 0.4 1
 0) devauc
 1) 15.6 35.4 1 1
 3) 19.0 1
 4) 2.5 1
 9) 0.8 1
10) 80 1
 0) expdisk
 1) 45.7 14.2 1 1
 3) 18.7 1
 4) 3.0 1
 9) 0.12 1
10) 60 1
 0) gaussian
 1) 30.4 40.3 1 1
 3) 19.2 1
 4) 3.5 1
 9) 0.6 1
10) 10 1
 0) moffat
 1) 12.2 12.7 1 1
 3) 19.0 1
 4) 3.0 1
 5) 2.5 1
 9) 0.9 1
10) -70 1
 0) psf
 1) 50.3 42.6 1 1
 3) 19.5 1
 0) sky
 1) 3.0 1
 2) 0.02 1
 3) -0.01 1
"""
# Position steps are small: sampled cusps make the model ripple at the scale of the
# sub-sampling (a thousandth of a pixel); the analytic derivative is the local slope.
_STEPS = {"XC": 1e-4, "YC": 1e-4, "MAG": 2e-3, "RE": 2e-3, "RS": 2e-3, "FWHM": 2e-3, "N": 2e-3,
          "POW": 2e-3, "AR": 1e-3, "PA": 0.1, "C0": 2e-3, "SKY": 0.1, "DSDX": 1e-3, "DSDY": 1e-3}


@pytest.mark.parametrize("psf_size", [None, 15, 16])
def test_jacobian_matches_finite_differences(psf_size):
    comps = _components(JACOBIAN_FEEDME)
    if psf_size is None:
        comps = [c for c in comps if c.base_type != "psf"]
    psf = None if psf_size is None else _gaussian_psf(psf_size, sigma=1.3)
    r = ModelRenderer(comps, (3, 57, 4, 48), psf, None, 25.0, exptime=100.0)
    free = np.ones(len(r.theta0), dtype=bool)
    model, jac = r.model_and_jacobian(r.theta0, free)
    assert model.dtype == np.float64 and jac.shape == (len(r.theta0),) + model.shape
    assert np.allclose(model, r.model(r.theta0), rtol=1e-6, atol=1e-6 * model.max())
    keys = set()
    for j, (i, key) in enumerate(r.names):
        h = _STEPS[key]
        up, down = r.theta0.copy(), r.theta0.copy()
        up[j] += h
        down[j] -= h
        fd = (r.model(up) - r.model(down)) / (2 * h)
        scale = np.abs(fd).max()
        assert scale > 0, (i, key)
        assert np.abs(jac[j] - fd).max() < 2e-2 * scale, (i, key)
        keys.add(key)
    assert keys == set(_STEPS)


def test_jacobian_only_for_free_parameters():
    comps = _components(JACOBIAN_FEEDME)
    r = ModelRenderer(comps, (3, 57, 4, 48), _gaussian_psf(15), None, 25.0)
    free = np.zeros(len(r.theta0), dtype=bool)
    free[[0, 5, len(free) - 1]] = True
    _, jac = r.model_and_jacobian(r.theta0, free)
    _, full = r.model_and_jacobian(r.theta0, np.ones(len(free), dtype=bool))
    assert np.allclose(jac, full[free], atol=1e-6 * np.abs(full).max())


def test_low_index_wings_give_finite_derivatives():
    # (r/Re)^(1/n) overflows single precision far out when n is small (n = 0.1 seen in fits).
    dx = np.linspace(-300, 300, 601, dtype=np.float32)[None, :]
    img, der = profiles.evaluate("sersic", dx, np.zeros_like(dx), [1e4], [2.0], [0.1], [0.05], [30.0], derivs=True)
    assert np.isfinite(img).all() and all(np.isfinite(d).all() for d in der.values())
    assert img.max() > 0


def test_sersic_dkappa_dn_matches_finite_difference():
    n = np.array([0.3, 0.5, 1.0, 2.5, 4.0, 8.0, 15.0])
    h = 1e-5
    fd = (profiles.sersic_kappa(n + h) - profiles.sersic_kappa(n - h)) / (2 * h)
    assert np.allclose(profiles.sersic_dkappa_dn(n), fd, rtol=1e-7)


def test_flux_model_is_the_renderer_at_other_magnitudes_and_sky():
    # Cached component images scaled by flux: the full renderer must agree.
    comps = _components(JACOBIAN_FEEDME)
    r = ModelRenderer(comps, (3, 57, 4, 48), _gaussian_psf(15), None, 25.0, exptime=100.0)
    linear = FluxModel(r, r.theta0)
    theta = r.theta0.copy()
    flux_cols = [j for j, (_, key) in enumerate(r.names) if key in ("MAG", "SKY")]
    assert len(flux_cols) == 8
    theta[flux_cols] += np.linspace(-0.7, 0.9, len(flux_cols))
    free = np.zeros(len(theta), dtype=bool)
    free[flux_cols[1:]] = True
    model, jac = linear.model_and_jacobian(theta, free)
    ref_model, ref_jac = r.model_and_jacobian(theta, free)
    assert np.abs(model - ref_model).max() < 1e-5 * np.abs(ref_model).max()
    assert np.abs(jac - ref_jac).max() < 1e-5 * np.abs(ref_jac).max()
    theta[0] += 0.1  # a position: not a flux parameter
    with pytest.raises(ValueError, match="only magnitudes and sky levels"):
        linear.model(theta)


# ---------------------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, message",
    [
        (" 0) sky\n 1) 1 1\n 0) nuker\n 1) 5 5 1 1\n 3) 20 1\n 4) 3 1\n 5) 1 1\n 6) 2 1\n 7) 0.5 1\n 9) 1 1\n10) 0 1\nR0) powerlaw\n",
         r"component 2 \(nuker\): hidden row R0\): not supported by the embedded fitter; use engine galfit"),
        (" 0) expdisk\n 1) 5 5 1 1\n 3) 20 1\n 4) 3 1\n 9) 1 1\n10) 0 1\nB2) 0.1 1\n",
         r"component 1 \(expdisk\): bending mode B2\) on this type: not supported"),
        (" 0) sersic2\n 1) 5 5 1 1\n 3) 20 1\n 4) 3 1\n 5) 1 1\n 9) 1 1\n10) 0 1\n", r"component 1 \(sersic2\)"),
        (" 0) psf\n 1) 5 5 1 1\n 3) 20 1\n", r"component 1 \(psf\): needs a PSF image"),
        (" 0) sky\n 1) 1 1\nB1) 0.07 1\n", r"component 1 \(sky\) row B1\): GALFIT ignores hidden rows on psf and sky components; move the row"),
        (" 0) psf\n 1) 5 5 1 1\n 3) 20 1\nC0) 0.1 0\n", r"component 1 \(psf\) row C0\): GALFIT ignores hidden rows"),
    ],
)
def test_unsupported_input_is_refused_in_one_line(text, message):
    with pytest.raises(gf.GalfitFormatError, match=message) as err:
        ModelRenderer(_components(text), (1, 20, 1, 20), None, None, 25.0)
    assert "\n" not in str(err.value)


def test_fine_sampling_is_refused():
    comps = _components(" 0) sky\n 1) 1 1\n")
    with pytest.raises(gf.GalfitFormatError, match="fine sampling 3"):
        ModelRenderer(comps, (1, 20, 1, 20), _gaussian_psf(9), None, 25.0, finesample=3)


# ---------------------------------------------------------------------------------------
# Fidelity: re-render GALFIT's own image blocks from their HDU2 headers
# ---------------------------------------------------------------------------------------
EXAMPLE = ("galfit-examples", "galfit305-example-run")
MEG = ("galfit-examples", "meg-main", "galfit")
RERUNS = ("decals-coolj0112", "galfit-reruns")
BLOCKS = {
    # block, PSF, input file (for Z) rows), sigma image or None (= sky RMS), max |diff| / sigma
    "example": (EXAMPLE + ("imgblock.fits",), MEG + ("galfit-example", "EXAMPLE", "psf.fits"),
                EXAMPLE + ("galfit.feedme",), EXAMPLE + ("sigma.fits",), 1.0),
    "n777": (MEG + ("imgblock.fits",), MEG + ("n777psf.fits",), MEG + ("galfit.n777",), None, 1.0),
    "ngc4874": (MEG + ("4874imgblock.fits",), MEG + ("ngc4874psf.fits",), MEG + ("galfit.ngc4874est",), None, 1.0),
    "decals4": (RERUNS + ("new_skycut_4_output.fits",), ("decals-coolj0112", "psf_example.fits"),
                RERUNS + ("new_skycut_4.gal",), RERUNS + ("new_skycut_4_sigma.fits",), 1.0),
    # Regions 5-7 carry extremely thin (q < 0.06), steep components whose cores GALFIT
    # renders in its own way; measured maxima there are 1.2-1.8 sky sigma.
    "decals5": (RERUNS + ("new_skycut_5_output.fits",), ("decals-coolj0112", "psf_example.fits"),
                RERUNS + ("new_skycut_5.gal",), None, 2.0),
    "decals6": (RERUNS + ("new_skycut_6_output.fits",), ("decals-coolj0112", "psf_example.fits"),
                RERUNS + ("new_skycut_6.gal",), None, 2.0),
    "decals7": (RERUNS + ("new_skycut_7_output.fits",), ("decals-coolj0112", "psf_example.fits"),
                RERUNS + ("new_skycut_7.gal",), None, 2.0),
}


def rerender_z(shared, name, galfit_rule=False):
    """(embedded re-render - GALFIT's model) / sigma of block ``name``; ``galfit_rule``
    applies GALFIT's sampling rule without a PSF (see ModelRenderer) under the PSF too."""
    block, psf_path, feedme, sigma_path, _ = BLOCKS[name]
    block = shared(*block)
    header = gf.read_fit_header(block)
    comps = header_components(header)
    # Z) is not in the header: take it from the input file (the re-runs skip the sky).
    for comp, given in zip(comps, gf.read_feedme(shared(*feedme)).components, strict=True):
        assert comp.base_type == given.base_type
        comp.rows["Z"] = given.rows.get("Z", comp.rows["Z"])
    with fits.open(block) as hdul:
        data = hdul[1].data.astype(np.float64)
        galfit_model = hdul[2].data.astype(np.float64)
        exptime = float(hdul[1].header.get("EXPTIME", 1.0))
    r = ModelRenderer(comps, header.fitsect, load_psf(shared(*psf_path)), header.convbox, header.magzpt, exptime)
    if galfit_rule:
        r._galfit_rule = True  # the comparison of docs/fitter.md only: no public mode does this
    model = r.model(r.theta0, include_skipped=False)
    if sigma_path is None:
        sigma = sky_statistics(data)[1]
    else:
        sigma = fits.getdata(shared(*sigma_path)).astype(np.float64)
    return (model - galfit_model) / sigma


@pytest.mark.parametrize("name", list(BLOCKS))
def test_rerender_galfit_image_blocks(shared, name):
    z = rerender_z(shared, name)
    assert np.sqrt(np.mean(z**2)) <= 0.1
    assert np.abs(z).max() <= BLOCKS[name][4]


def test_components_from_header_reads_values_and_toggles(shared):
    header = gf.read_fit_header(shared(*EXAMPLE, "imgblock.fits"))
    comps = header_components(header)
    assert [c.type for c in comps] == ["sersic", "sky"]
    assert comps[0].rows["1"].values == [46.5265, 48.2556]
    assert comps[0].value("5") == 4.1097 and comps[0].rows["5"].toggles == [1]
    assert comps[1].rows["2"].toggles == [0] and comps[1].value("1") == 0.73


def test_internal_sigma_weights_the_example_like_galfit(shared):
    # The example's chi^2 with the re-rendered model and our sigma image is GALFIT's.
    block = shared(*EXAMPLE, "imgblock.fits")
    header = gf.read_fit_header(block)
    with fits.open(block) as hdul:
        data = hdul[1].data.astype(np.float64)
    r = ModelRenderer(header_components(header), header.fitsect, load_psf(shared(*BLOCKS["example"][1])),
                      header.convbox, header.magzpt, 1040.0)
    chi2 = (((data - r.model(r.theta0)) / internal_sigma(data, 1.0)) ** 2).sum()
    assert chi2 == pytest.approx(header.chisq, rel=0.05)


if __name__ == "__main__":
    # The table of docs/fitter.md: rms and largest |difference| in sigma per block, and with
    # GALFIT's no-PSF sampling rule applied under the PSF.
    from conftest import shared_path

    print("block\trms\tmax\tmax, no-PSF rule under the PSF")
    for name in BLOCKS:
        z = rerender_z(shared_path, name)
        rule = rerender_z(shared_path, name, galfit_rule=True)
        print(f"{name}\t{np.sqrt(np.mean(z**2)):.3f}\t{np.abs(z).max():.2f}\t{np.abs(rule).max():.2f}", flush=True)
