"""Truncations (To)/Ti) with radial, radial-b, radial2, radial2-b): GALFIT's function on its
own renders, the image-block header against GALFIT 3.0.5's, analytic Jacobians against
finite differences, a fit of a noisy truncated Sersic from a perturbed start, the outputs
(header, fit.log, restart file) read back, and what is refused.
"""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest
from astropy.io import fits

from galfit_unc import galfit_files as gf
from galfit_unc.fitter import cli
from galfit_unc.fitter.fit import run_galfit
from galfit_unc.fitter.render import ModelRenderer
from galfit_unc.injection import header_components
from galfit_unc.statistics import component_magnitude, truncation_of
from fitlog import read_fit_log

SET = "galfit305-renders"
CASES = ["mod-trunc-outer-radial", "mod-trunc-outer-radial-b", "mod-trunc-outer-radial2", "mod-trunc-outer-radial2-b",
         "mod-trunc-inner-radial"]
_SERSIC = " 0) sersic\n 1) 30.3 29.6 1 1\n 3) 20.5 1\n 4) 8.0 1\n 5) 1.3 1\n 9) 0.7 1\n10) 30 1\n"


def _text(link, ttype, t4, t5, extra="", trunc_extra=""):
    return (_SERSIC + extra + f"{link}) 2\n T0) {ttype}\n T4) {t4} 1\n T5) {t5} 1\n" + trunc_extra +
            # A second Sersic without truncation shares the group.
            " 0) sersic\n 1) 50 48 1 1\n 3) 21 1\n 4) 4.0 1\n 5) 1.0 1\n 9) 0.8 1\n10) 60 1\n")


@pytest.mark.parametrize("case", CASES)
def test_galfits_truncation_function_at_pixel_centres(shared, case):
    """Beyond GALFIT's sub-sampled zone (elliptical radius > 10.5) its render is the
    written-out function exactly: Sersic of central (outer) or break-radius (inner)
    surface brightness 10^(-0.4 (mu - J)) dx dy, times 1/2 [1 -+ tanh((2 - B) r/r1 + B)]."""
    fm = gf.read_feedme(shared(SET, "renders", case, "galfit.feedme"))
    sersic, trunc = fm.components
    t4, t5 = trunc.value("T4"), trunc.value("T5")
    inner = "Ti" in sersic.rows
    if inner:
        r1, delta = t4, t5
    elif trunc.type.startswith("radial2"):
        r1, delta = t5, t5 - t4
    else:
        r1, delta = t4 + t5, t5
    ref = fits.getdata(shared(SET, "renders", case, "model.fits")).astype(float)
    y, x = np.mgrid[1 : ref.shape[0] + 1, 1 : ref.shape[1] + 1].astype(float)
    dx, dy = x - sersic.value("1", 0), y - sersic.value("1", 1)
    t = math.radians(sersic.value("10"))
    r = np.hypot(dy * math.cos(t) - dx * math.sin(t), (dx * math.cos(t) + dy * math.sin(t)) / sersic.value("9"))
    kappa, re = 1.678346990, sersic.value("4")  # n = 1
    sigma = 10 ** (-0.4 * (sersic.value("3") - 26.0)) * 0.01
    b = 2.65 - 4.95 * r1 / delta
    factor = 0.5 * (1 + (1 if inner else -1) * np.tanh((2 - b) * r / r1 + b))
    expected = sigma * np.exp(-kappa * (r / re - (t4 / re if inner else 0.0))) * factor
    far = r > 10.5
    assert np.abs(ref - expected)[far].max() <= 1e-6 * ref.max()


@pytest.mark.parametrize("case", CASES)
def test_model_header_is_galfits(shared, tmp_path, monkeypatch, case):
    """Component keys, values and comments of the model image as GALFIT 3.0.5 wrote them
    (``sersic1 \\`` / ``sersic3 /``, MU_0 / MUBRK, TOUTR / TINNR, INNER, OUTER, RBRK,
    DSFT / RSFT), and the header reads back into the same components."""
    shutil.copy(shared(SET, "renders", case, "galfit.feedme"), tmp_path / "galfit.feedme")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["galfit.feedme"]) == 0
    ours, theirs = fits.getheader(tmp_path / "model.fits"), fits.getheader(shared(SET, "renders", case, "model.fits"))

    def cards(h):
        return [(c.keyword, c.value, c.comment) for c in h.cards if c.keyword.startswith(("COMP_", "1_", "2_"))]

    assert cards(ours) == cards(theirs)
    for header in (ours, theirs):
        back = header_components(gf.parse_fit_header(header))
        fm = gf.read_feedme(tmp_path / "galfit.feedme")
        assert [c.type for c in back] == [c.type for c in fm.components]
        assert back[0].truncations == fm.components[0].truncations
        for got, want in zip(back, fm.components):
            assert {k: r.values for k, r in got.rows.items() if k not in ("Z", "6", "7", "8")} == {
                k: r.values for k, r in want.rows.items() if k not in ("Z",)
            }


@pytest.mark.parametrize(
    "link, ttype, t4, t5, extra, trunc_extra",
    [
        ("To", "radial", 12.0, 5.0, "", ""),
        ("To", "radial2-b", 10.0, 18.0, "C0) 0.3 1\n", ""),
        ("Ti", "radial-b", 6.0, 3.0, "", " T1) 31.0 29.0 1 1\n T9) 0.5 1\n T10) 50 1\n"),
        ("To", "radial", 12.0, 5.0, "", " T9) 0.5 1\n T10) 50 1\n"),
    ],
)
@pytest.mark.parametrize("psf", [False, True])
def test_truncation_jacobian_matches_finite_differences(link, ttype, t4, t5, extra, trunc_extra, psf):
    """Exact sampling (GALFIT's changes its cell counts with position, so it has steps),
    without and with a PSF."""
    text = _text(link, ttype, t4, t5, extra, trunc_extra)
    kernel = None
    if psf:
        yy, xx = np.mgrid[-7:8, -7:8]
        kernel = np.exp(-(xx**2 + yy**2) / (2 * 1.5**2))
        kernel /= kernel.sum()
    comps = gf.parse_feedme(text).components
    r = ModelRenderer(comps, (1, 60, 1, 60), kernel, None, 26.0, platescale=(0.1, 0.1))
    theta = r.theta0
    _, jac = r.model_and_jacobian(theta, np.ones(len(theta), dtype=bool))
    names = {key for _, key in r.names}
    assert {"RBRK", gf.TRUNCATED_FLUX_KEY[link]} <= names
    for j, (_, key) in enumerate(r.names):
        # Position angles get steps well above the single-precision noise.
        h = 0.3 if key == "PA" else 1e-3 * max(abs(theta[j]), 1.0)
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        num = (r.model(up) - r.model(down)) / (2 * h)
        # 5e-3: the cusp's centre pixel alone differs by up to 4e-3 also without truncation.
        assert np.abs(jac[j] - num).max() <= 5e-3 * np.abs(num).max(), key


_CONTROL = (
    "A) {data}\nB) {out}\nC) none\nD) none\nE) 1\nF) none\nG) none\nH) 1 70 1 70\nI) 70 70\nJ) 26.0\n"
    "K) 0.1 0.1\nO) regular\nP) {mode}\n"
)


def _fit_feedme(link, ttype, values, sky):
    (xc, yc, mu, re, n, q, pa, t4, t5) = values
    return (
        f" 0) sersic\n 1) {xc} {yc} 1 1\n 3) {mu} 1\n 4) {re} 1\n 5) {n} 1\n 9) {q} 1\n10) {pa} 1\n{link}) 2\n Z) 0\n"
        f" T0) {ttype}\n T4) {t4} 1\n T5) {t5} 1\n"
        f" 0) sky\n 1) {sky} 1\n 2) 0 0\n 3) 0 0\n"
    )


@pytest.mark.parametrize(
    "link, ttype, truth, start",
    [
        ("To", "radial", (35.3, 34.6, 16.5, 9.0, 1.0, 0.6, 30.0, 14.0, 6.0), (35.8, 34.2, 16.8, 11.0, 1.3, 0.5, 40.0, 12.0, 8.0)),
        ("Ti", "radial", (35.3, 34.6, 17.5, 12.0, 0.8, 0.7, -20.0, 8.0, 4.0), (35.0, 35.0, 17.8, 10.0, 1.0, 0.6, -10.0, 9.5, 3.0)),
    ],
)
def test_fit_of_a_truncated_sersic_and_its_outputs(tmp_path, monkeypatch, link, ttype, truth, start):
    """A noisy render of a truncated Sersic (made by the model-only run) is fitted from a
    perturbed start: every parameter within 4 formal errors of the truth; the image block,
    fit.log and restart file carry and read back the same values, and the restart file
    renders the same model as the image block."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "truth.feedme").write_text(_CONTROL.format(data="none", out="truth.fits", mode=1) + _fit_feedme(link, ttype, truth, 0))
    assert cli.main(["truth.feedme"]) == 0
    model = fits.getdata("truth.fits").astype(np.float64)
    gain, sky = 4.0, 100.0
    rng = np.random.default_rng(11)
    data = model + sky + rng.normal(size=model.shape) * np.sqrt((model + sky) / gain)
    hdu = fits.PrimaryHDU(data.astype(np.float32))
    hdu.header["EXPTIME"], hdu.header["GAIN"], hdu.header["NCOMBINE"], hdu.header["RDNOISE"] = 1.0, gain, 1, 0.0
    hdu.writeto("data.fits")
    fits.PrimaryHDU(np.sqrt((model + sky) / gain).astype(np.float32)).writeto("sigma.fits", overwrite=True)
    text = _CONTROL.format(data="data.fits", out="imgblock.fits", mode=0).replace("C) none", "C) sigma.fits")
    (tmp_path / "galfit.feedme").write_text(text + _fit_feedme(link, ttype, start, 95.0))
    out = run_galfit("galfit.feedme", workdir=tmp_path)
    header = gf.read_fit_header(out.output)
    sersic, trunc = header.component(1), header.component(2)
    assert sersic.type == ("sersic1 \\" if link == "To" else "sersic3 /")
    assert sersic.links == {"TOUTR" if link == "To" else "TINNR": [2]}
    assert trunc.links == ({"INNER": [], "OUTER": [1]} if link == "To" else {"INNER": [1], "OUTER": []})
    keys = ["XC", "YC", gf.TRUNCATED_FLUX_KEY[link], "RE", "N", "AR", "PA"]
    fitted = [sersic[k] for k in keys] + [trunc["RBRK"], trunc["DSFT"]]
    for key, hv, want in zip(keys + ["RBRK", "DSFT"], fitted, truth):
        assert hv.kind == "free" and hv.error > 0, key
        assert abs(hv.value - want) <= 4 * hv.error, (key, hv.value, hv.error, want)
    assert out.chi2nu == pytest.approx(1.0, abs=0.06)
    # fit.log: the components' value and error lines in the header's values.
    run = read_fit_log(tmp_path / "fit.log")[-1]
    assert [c.type for c in run.components] == ["sersic1" if link == "To" else "sersic3", "radial", "sky"]
    assert run.components[0].values == pytest.approx([hv.value for hv in fitted[:7]], abs=0.006)
    assert run.components[1].values == pytest.approx([hv.value for hv in fitted[7:]], abs=0.006)
    assert run.components[1].errors == pytest.approx([hv.error for hv in fitted[7:]], abs=0.006)
    # The restart file: the same rows, re-rendering the image block's model.
    restart = gf.read_feedme(out.restart)
    assert restart.components[0].truncations == {link: [2]} and restart.components[1].type == ttype
    assert restart.components[1].value("T4") == pytest.approx(trunc["RBRK"].value, abs=1e-4)
    again = ModelRenderer(restart.components, (1, 70, 1, 70), None, None, 26.0, platescale=(0.1, 0.1), sampling="galfit")
    block_model = fits.getdata(out.output, 2).astype(np.float64)
    assert np.abs(again.model(again.theta0) - block_model).max() <= 1e-4 * block_model.max()
    from_header = ModelRenderer(header_components(header), (1, 70, 1, 70), None, None, 26.0, platescale=(0.1, 0.1), sampling="galfit")
    assert np.abs(from_header.model(from_header.theta0) - block_model).max() <= 1e-3 * block_model.max()


@pytest.mark.parametrize(
    "text, message",
    [
        (_text("Ti", "radial2", 8.0, 4.0), r"component 1 \(sersic\): hidden row Ti\) \(inner truncation of type radial2\): not supported"),
        (_text("To", "radial", 8.0, 4.0).replace(" 0) sersic\n 1) 30.3", " 0) expdisk\n 1) 30.3").replace(" 5) 1.3 1\n", ""),
         r"component 1 \(expdisk\): hidden row To\) \(a truncation of this type\): not supported"),
        (_text("To", "radial", 8.0, 4.0, "F1) 0.1 10 1 1\n"), r"component 1 \(sersic\): hidden row To\) \(truncation with Fourier or bending modes\)"),
        (_text("To", "radial", 8.0, 4.0).replace("To) 2", "To) 3"), r"component 1 \(sersic\): hidden row To\): component 3 is not a truncation"),
        (_text("To", "radial", 8.0, 4.0).replace("To) 2\n", ""), r"component 2 \(radial\): hidden row T0\) \(a truncation no To\)/Ti\) row links\)"),
        (_text("To", "radial", 8.0, 4.0).replace(" T5) 4.0 1\n", ""), r"component 2 \(radial\) row T5\): missing value for DSFT; add the row"),
        (_text("To", "radial", 8.0, 4.0).replace(" T5) 4.0 1\n", " T5) 4.0 1\n T3) 1 1\n"), r"component 2 \(radial\): hidden row T3\): not supported"),
    ],
)
def test_what_is_refused_is_named(text, message):
    with pytest.raises(gf.GalfitFormatError, match=message) as err:
        ModelRenderer(gf.parse_feedme(text).components, (1, 60, 1, 60), None, None, 26.0, platescale=(0.1, 0.1))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("case", CASES)
def test_truncated_magnitude_is_the_renders_total(shared, case):
    """The workflow's total magnitude of GALFIT's truncated Sersic, read from GALFIT's own
    header, against the pixel sum of GALFIT's render (zeropoint 26, K) 0.1)."""
    path = shared(SET, "renders", case, "model.fits")
    header = gf.parse_fit_header(fits.getheader(path), case)
    sersic = header.component(1)
    mag = component_magnitude(sersic, (0.1, 0.1), truncation_of(header, sersic))
    total = fits.getdata(path).astype(np.float64).sum()
    assert mag == pytest.approx(26.0 - 2.5 * math.log10(total), abs=1e-3)
