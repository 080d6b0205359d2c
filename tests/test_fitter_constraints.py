"""Constraints of the embedded fitter (GALFIT's G) file), sanity limits and the optimiser core."""

import numpy as np
import pytest

from astropy.io import fits

from galfit_unc import galfit_files as gf
from galfit_unc.fitter.constraints import ConstraintError, ParameterSpace
from galfit_unc.fitter.fit import FitError, run_galfit
from galfit_unc.fitter.lm import covariance, levenberg_marquardt

FEEDME = """
A) in.fits
B) out.fits
H) 1 50 1 50
I) 50 50
J) 25.0
0) sersic
1) 20.0 21.0 1 1
3) 18.0 1
4) 5.0 1
5) 2.0 1
9) 0.6 1
10) 30.0 1
0) sersic
1) 24.0 26.0 1 1
3) 19.0 1
4) 2.5 1
5) 1.0 0
9) 0.8 1
10) -10.0 1
0) sky
1) 1.0 1
2) 0.0 0
3) 0.0 0
"""


def space(constraint_text, feedme=FEEDME):
    fm = gf.parse_feedme(feedme)
    names, theta0 = [], []
    for i, comp in enumerate(fm.components):
        for key, row, idx in gf.parameter_table(comp):
            names.append((i, key))
            theta0.append(comp.value(row, idx))
    cons = gf.parse_constraints(constraint_text, "cons.txt")
    return ParameterSpace(fm.components, names, np.array(theta0), cons, "cons.txt")


def k(sp, comp, key):
    return sp.names.index((comp - 1, key))


def moved(sp, **changes):
    """theta after setting entries (``c1_N=9``) in u-space and projecting."""
    u = sp.u0.copy()
    for name, value in changes.items():
        comp, key = name[1:].split("_")
        kk = k(sp, int(comp), key)
        u[list(sp._uindex).index(kk)] = value
    return sp.theta(sp.project(u))


def test_free_and_fixed_entries():
    sp = space("")
    assert sp.nu == 14  # 7 + 6 (n fixed) + sky
    assert not sp.varying[k(sp, 2, "N")]
    assert sp.varying[k(sp, 1, "N")]
    np.testing.assert_allclose(sp.theta(sp.u0), sp.theta0)


def test_absolute_range_by_name_and_number_agree():
    for text in ("1 n 0.5 to 8", "1 5 0.5 to 8"):
        sp = space(text)
        th = moved(sp, c1_N=11.0)
        assert th[k(sp, 1, "N")] == pytest.approx(8.0)
        assert sp.suspect(th)[k(sp, 1, "N")]
        th = moved(sp, c1_N=0.1)
        assert th[k(sp, 1, "N")] == pytest.approx(0.5)


def test_relative_range_is_around_initial_value():
    sp = space("1 9 -0.1 0.05")  # q0 = 0.6 -> [0.5, 0.65]
    assert moved(sp, c1_AR=0.9)[k(sp, 1, "AR")] == pytest.approx(0.65)
    assert moved(sp, c1_AR=0.2)[k(sp, 1, "AR")] == pytest.approx(0.5)
    th = moved(sp, c1_AR=0.62)
    assert th[k(sp, 1, "AR")] == pytest.approx(0.62)
    assert not sp.suspect(th)[k(sp, 1, "AR")]


def test_offset_moves_together():
    sp = space("1_2 x offset\n1_2 y offset")
    assert sp.nu == 12
    th = moved(sp, c1_XC=22.0)
    assert th[k(sp, 1, "XC")] == pytest.approx(22.0)
    assert th[k(sp, 2, "XC")] == pytest.approx(26.0)  # offset 4 kept
    assert sp.tied[k(sp, 2, "XC")] and not sp.tied[k(sp, 1, "XC")]
    # the Jacobian map: d theta_x2 / d u_x1 = 1
    assert sp.T[k(sp, 2, "XC")].sum() == pytest.approx(1.0)


def test_ratio_scales_together():
    sp = space("1_2 re ratio")
    th = moved(sp, c1_RE=10.0)
    assert th[k(sp, 2, "RE")] == pytest.approx(5.0)  # ratio 0.5 kept


def test_chained_offsets_share_one_parameter():
    three = FEEDME.replace("0) sky", "0) gaussian\n1) 30.0 30.0 1 1\n3) 20.0 1\n4) 3.0 1\n9) 1.0 1\n10) 0.0 1\n0) sky")
    sp = space("1_2 mag offset\n2_3 mag offset", three)
    th = moved(sp, c1_MAG=17.0)
    assert th[k(sp, 2, "MAG")] == pytest.approx(18.0)
    assert th[k(sp, 3, "MAG")] == pytest.approx(19.0)


def test_difference_range_moves_both_halfway():
    sp = space("1-2 mag -0.5 0.5")  # m1 - m2 in [-0.5, 0.5]
    th = sp.theta(sp.u0)  # initial difference -1: projected at the start
    assert th[k(sp, 1, "MAG")] - th[k(sp, 2, "MAG")] == pytest.approx(-0.5)
    assert th[k(sp, 1, "MAG")] == pytest.approx(18.25)
    assert th[k(sp, 2, "MAG")] == pytest.approx(18.75)
    assert sp.suspect(th)[k(sp, 1, "MAG")] and sp.suspect(th)[k(sp, 2, "MAG")]


def test_quotient_range():
    sp = space("1/2 re 1 1.5")  # re1/re2 in [1, 1.5]; start 5/2.5 = 2
    th = sp.theta(sp.u0)
    assert th[k(sp, 1, "RE")] / th[k(sp, 2, "RE")] == pytest.approx(1.5)
    assert th[k(sp, 1, "RE")] * th[k(sp, 2, "RE")] == pytest.approx(12.5)  # geometric halfway


def test_difference_with_fixed_partner_moves_only_the_free_one():
    sp = space("1-2 n 0 0.5")  # n2 fixed at 1 -> n1 in [1, 1.5]
    th = sp.theta(sp.u0)
    assert th[k(sp, 1, "N")] == pytest.approx(1.5)
    assert th[k(sp, 2, "N")] == pytest.approx(1.0)


def test_axis_ratio_above_one_flips_to_the_other_axis():
    sp = space("")
    th = moved(sp, c1_AR=1.25)
    assert th[k(sp, 1, "AR")] == pytest.approx(0.8)
    assert th[k(sp, 1, "RE")] == pytest.approx(6.25)
    assert th[k(sp, 1, "PA")] == pytest.approx(120.0)


def test_sanity_limits_and_galfit_small_q_marker():
    sp = space("")
    th = moved(sp, c1_N=50.0, c1_RE=-3.0, c1_AR=0.05)
    assert th[k(sp, 1, "N")] == pytest.approx(20.0)
    assert th[k(sp, 1, "RE")] > 0
    assert sp.suspect(th)[k(sp, 1, "AR")]  # GALFIT marks q < 0.1


def test_constraint_on_fixed_parameter_is_flagged_and_ignored():
    sp = space("2 n 0.5 to 0.7")
    assert sp.flags == ["C-2"]
    assert sp.theta(sp.u0)[k(sp, 2, "N")] == 1.0


def test_constraint_on_missing_parameter_or_component_is_one_line():
    with pytest.raises(gf.GalfitFormatError, match=r"^cons.txt: line 1 parameter: re is not a parameter of component 3 \(sky\); use one of sky, 1, 2, 3 or fix"):
        space("3 re 1 to 2")
    with pytest.raises(ConstraintError, match="component 7 does not exist"):
        space("7 mag -1 1")


# ------------------------------------------------------- hidden rows and truncations
# A Sersic with a coordinate rotation (only R3) free; its PA fixed, as beyond R2) both turn
# the outer isophotes alike), one with a bending mode, one truncated by component 4 (T5)
# fixed, as T4) and T5) together set the 1 % radius), one with a Fourier mode, and the sky;
# {r3}, {b2}, {t4}, {f3p} are the values the constraints act on.
HIDDEN = """
A) {data}
B) {out}
C) {sigma}
G) {cons}
H) 1 100 1 90
I) 100 90
J) 26.0
K) 0.1 0.1
P) {mode}
0) sersic
1) 25.0 25.0 1 1
3) 15.5 1
4) 10.0 1
5) 1.0 1
9) 0.3 1
10) 20.0 0
R0) power
R1) 3.0 0
R2) 12.0 0
R3) {r3} 1
R4) 0.5 0
R9) 35.0 0
R10) 20.0 0
0) sersic
1) 72.0 22.0 1 1
3) 16.5 1
4) 6.0 1
5) 1.2 1
9) 0.6 1
10) -30.0 1
B2) {b2} 1
0) sersic
1) 28.0 65.0 1 1
3) 17.0 1
4) 8.0 1
5) 1.0 1
9) 0.7 1
10) 60.0 1
To) 4
T0) radial
T4) {t4} 1
T5) 5.0 0
0) sersic
1) 72.0 65.0 1 1
3) 16.5 1
4) 6.0 1
5) 1.0 1
9) 0.6 1
10) -30.0 1
F3) 0.2 {f3p} 1 1
0) sky
1) 100.0 1
2) 0.0 0
3) 0.0 0
"""
HIDDEN_START = {"r3": 20.0, "b2": 0.3, "t4": 9.0, "f3p": 15.0}
HIDDEN_FILES = {"data": "data.fits", "out": "block.fits", "sigma": "sigma.fits", "cons": "cons.txt", "mode": 0}


def hidden_space(constraint_text):
    return space(constraint_text, HIDDEN.format(**HIDDEN_FILES, **HIDDEN_START))


@pytest.mark.parametrize(
    "text, entry, value, bound",
    [
        ("5 f3p 10 to 20", "c5_F3PA", 40.0, 20.0),  # Fourier phase, absolute range
        ("5 F3P -5 5", "c5_F3PA", 0.0, 10.0),  # relative to the start 15
        ("5 f3a 0.1 to 0.3", "c5_F3", 0.5, 0.3),
        ("5 f3 0.1 to 0.3", "c5_F3", 0.05, 0.1),
        ("2 b2 -0.1 0.1", "c2_B2", 1.0, 0.4),  # bending amplitude about the start 0.3
        ("1 r3 100 to 150", "c1_RANG", 200.0, 150.0),  # rotation angle
        ("4 t4 8 to 10", "c4_RBRK", 14.0, 10.0),  # truncation break radius
        ("4 T4 -2 1", "c4_RBRK", 5.0, 7.0),  # relative to the start 9
    ],
)
def test_range_on_hidden_rows_and_truncations(text, entry, value, bound):
    sp = hidden_space(text)
    th = moved(sp, **{entry: value})
    comp, key = entry[1:].split("_")
    kk = k(sp, int(comp), key)
    assert th[kk] == pytest.approx(bound)
    assert sp.suspect(th)[kk]


def test_couplings_on_hidden_rows():
    """``offset`` and ``ratio`` tie the Fourier phases and amplitudes of two components;
    ``5-2 f3p`` keeps their difference in a range."""
    feedme = HIDDEN.format(**HIDDEN_FILES, **HIDDEN_START).replace("B2) 0.3 1", "B2) 0.3 1\nF3) 0.1 35 1 1")
    sp = space("5_2 f3p offset\n5_2 f3a ratio", feedme)
    th = moved(sp, c5_F3PA=25.0, c5_F3=0.4)
    assert th[k(sp, 2, "F3PA")] == pytest.approx(45.0)  # offset 20 kept
    assert th[k(sp, 2, "F3")] == pytest.approx(0.2)  # ratio 0.5 kept
    assert sp.tied[k(sp, 2, "F3PA")] and sp.tied[k(sp, 2, "F3")]
    sp = space("5-2 f3p -10 -5", feedme)  # start 15 - 35 = -20: both move halfway
    th = sp.theta(sp.u0)
    assert th[k(sp, 5, "F3PA")] - th[k(sp, 2, "F3PA")] == pytest.approx(-10.0)
    assert th[k(sp, 5, "F3PA")] == pytest.approx(20.0)


@pytest.mark.parametrize("text, message", [
    ("1 f3p 0 to 10", r"f3p is not a parameter of component 1 \(sersic\)"),
    ("1 b1 0 to 1", r"b1 is not a parameter of component 1 \(sersic\)"),
    ("3 r3 0 to 1", r"r3 is not a parameter of component 3 \(sersic\)"),
    ("3 t4 0 to 1", r"t4 is not a parameter of component 3 \(sersic\)"),
    ("4 re 0 to 1", r"re is not a parameter of component 4 \(radial\)"),
])
def test_hidden_row_a_component_lacks_is_one_line(text, message):
    with pytest.raises(gf.GalfitFormatError, match=rf"^cons.txt: line 1 parameter: {message}; use one of [^\n]* or fix the component number$"):
        hidden_space(text)


def test_fit_stays_inside_ranges_on_hidden_rows_and_truncations(tmp_path):
    """A noisy render whose rotation angle (60), bending amplitude (1), break radius (14)
    and Fourier phase (35) lie outside the constraint file's ranges: the embedded fitter
    ends on the bounds nearest to them, marked ``*…*``; without the file it finds them."""
    truth = {"r3": 60.0, "b2": 1.0, "t4": 14.0, "f3p": 35.0}
    (tmp_path / "truth.feedme").write_text(HIDDEN.format(data="none", out="truth.fits", sigma="none", cons="none", mode=1, **truth))
    run_galfit("truth.feedme", workdir=tmp_path)
    model = fits.getdata(tmp_path / "truth.fits").astype(np.float64)
    gain = 4.0
    sigma = np.sqrt(model / gain)
    data = model + np.random.default_rng(5).normal(size=model.shape) * sigma
    fits.PrimaryHDU(data.astype(np.float32), fits.Header({"EXPTIME": 1.0, "GAIN": gain, "NCOMBINE": 1})).writeto(tmp_path / "data.fits")
    fits.PrimaryHDU(sigma.astype(np.float32)).writeto(tmp_path / "sigma.fits")
    (tmp_path / "cons.txt").write_text("5 f3p 10 to 20\n2 b2 -0.1 0.1\n1 R3 0 to 40\n4 t4 8 to 10\n")
    (tmp_path / "fit.feedme").write_text(HIDDEN.format(**HIDDEN_FILES, **HIDDEN_START))
    header = gf.read_fit_header(run_galfit("fit.feedme", workdir=tmp_path).output)
    for number, key, bound in [(5, "F3PA", 20.0), (2, "B2", 0.4), (1, "RANG", 40.0), (4, "RBRK", 10.0)]:
        hv = header.component(number)[key]
        assert hv.value == pytest.approx(bound, abs=1e-4) and hv.kind == "suspect", (number, key, hv)
    (tmp_path / "free.feedme").write_text(HIDDEN.format(**{**HIDDEN_FILES, "cons": "none", "out": "free.fits"}, **HIDDEN_START))
    header = gf.read_fit_header(run_galfit("free.feedme", workdir=tmp_path).output)
    for number, key, want in [(5, "F3PA", 35.0), (2, "B2", 1.0), (1, "RANG", 60.0), (4, "RBRK", 14.0)]:
        assert header.component(number)[key].value == pytest.approx(want, rel=0.1), (number, key)


def test_fit_refuses_a_name_the_component_lacks_before_fitting(tmp_path):
    (tmp_path / "cons.txt").write_text("5 f3p 10 to 20\n4 n 1 to 2\n")
    (tmp_path / "fit.feedme").write_text(HIDDEN.format(**HIDDEN_FILES, **HIDDEN_START).replace("A) data.fits", "A) none").replace("P) 0", "P) 1"))
    with pytest.raises(FitError, match=r"cons.txt: line 2 parameter: n is not a parameter of component 4 \(radial\); use one of t4, t5 or fix the component number$"):
        run_galfit("fit.feedme", workdir=tmp_path)
    assert not (tmp_path / "block.fits").exists()


# -------------------------------------------------------------------- optimiser core
def gaussian_problem(seed=3):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:40, 0:40]
    truth = np.array([20.3, 18.7, 40.0, 3.0, 5.0])

    def model(p):
        return p[2] * np.exp(-((x - p[0]) ** 2 + (y - p[1]) ** 2) / (2 * p[3] ** 2)) + p[4]

    def jac(p):
        e = np.exp(-((x - p[0]) ** 2 + (y - p[1]) ** 2) / (2 * p[3] ** 2))
        return np.array([p[2] * e * (x - p[0]) / p[3] ** 2, p[2] * e * (y - p[1]) / p[3] ** 2, e, p[2] * e * ((x - p[0]) ** 2 + (y - p[1]) ** 2) / p[3] ** 3, np.ones_like(e)])

    data = model(truth) + rng.normal(0, 1.0, x.shape)

    def evaluate(u, want_jac):
        r = (data - model(u)).ravel()
        return (r, jac(u).reshape(5, -1)) if want_jac else r

    return evaluate, truth


def test_lm_recovers_truth_within_formal_errors():
    evaluate, truth = gaussian_problem()
    res = levenberg_marquardt(evaluate, np.array([22.0, 17.0, 20.0, 5.0, 4.0]))
    cov, singular = covariance(res.hessian)
    err = np.sqrt(np.diag(cov))
    assert not res.hit_limit and not singular.any()
    assert np.all(np.abs(res.u - truth) < 3 * err)
    assert res.chi2 == pytest.approx(1600, rel=0.1)


def test_lm_iteration_limit_is_reported():
    evaluate, _ = gaussian_problem()
    res = levenberg_marquardt(evaluate, np.array([22.0, 17.0, 20.0, 5.0, 4.0]), imax=2)
    assert res.iterations == 2 and res.hit_limit


def test_covariance_marks_degenerate_parameters():
    # Two identical columns: their sum is measured, their difference is not.
    j = np.random.default_rng(0).normal(size=(3, 200))
    j = np.vstack([j, j[2]])
    cov, singular = covariance(j @ j.T)
    assert list(singular) == [False, False, True, True]
    assert np.all(np.isfinite(cov))
