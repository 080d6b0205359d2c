"""Tests of galfit_unc.statistics and galfit_unc.tables: magnitudes, statistics and tables."""

import dataclasses
import math

import pytest
from astropy.io import fits

from galfit_unc import galfit_files as gf
from galfit_unc import statistics as st
from galfit_unc import tables as tb
from galfit_unc.records import FitRecord


def test_combine_two_equal_components():
    assert st.combine_magnitudes([20.0, 20.0]) == pytest.approx(20.0 - 0.7526, abs=1e-4)
    assert st.combine_magnitudes([18.3]) == pytest.approx(18.3)
    # 10 times fainter adds 10 % of the flux.
    assert st.combine_magnitudes([20.0, 22.5]) == pytest.approx(20.0 - 2.5 * math.log10(1.1))


def test_object_magnitudes_real_header(shared):
    path = shared("decals-coolj0112", "galfit_output_example.fits")
    ident = gf.read_comp_ident(shared("decals-coolj0112", "comp_ident_example.txt"))
    with fits.open(path) as hdul:
        raw = hdul[2].header
    # Hand computation from the raw strings: '20.7151 +/- 0.0462' -> 20.7151.
    fluxes = {}
    for comp, obj in ident.items():
        mag = float(str(raw[f"{comp}_MAG"]).strip("*").split("+/-")[0].strip().strip("*"))
        fluxes[obj] = fluxes.get(obj, 0.0) + 10 ** (-0.4 * mag)
    expected = {obj: -2.5 * math.log10(f) for obj, f in fluxes.items()}
    got = st.object_magnitudes(gf.read_fit_header(path), ident)
    assert list(got) == ["1", "2", "3", "4", "10", "6", "7", "8", "9", "5"]
    for obj in expected:
        assert got[obj] == pytest.approx(expected[obj], abs=1e-10)
    # Object 3 is component 6 alone: 6_MAG = '20.6374 +/- 0.0213'.
    assert got["3"] == pytest.approx(20.6374)


def _header(*comps, chi2nu=1.0):
    h = fits.Header()
    h["FITSECT"] = "[1:50,1:50]"
    h["MAGZPT"] = 25.0
    for n, ctype, cards in comps:
        h[f"COMP_{n}"] = ctype
        for key, value in cards:
            h[f"{n}_{key}"] = value
    h["CHI2NU"] = chi2nu
    return gf.parse_fit_header(h)


def _sersic(mag, pa=10.0, re="5.0000 +/- 0.1"):
    return [("XC", "25.0 +/- 0.1"), ("YC", "[25.0000]"), ("MAG", f"{mag} +/- 0.1"), ("RE", re), ("N", "2.0 +/- 0.1"), ("AR", "0.5 +/- 0.1"), ("PA", f"{pa} +/- 1.0")]


SKY = [("XC", "[25.5000]"), ("YC", "[25.5000]"), ("SKY", "0.5 +/- 0.1"), ("DSDX", "[0.000e+00]"), ("DSDY", "[0.000e+00]")]


def test_object_magnitudes_errors():
    header = _header((1, "sersic", _sersic(20.0)), (2, "sky", SKY))
    with pytest.raises(gf.GalfitFormatError, match="component 3: not in the fit") as err:
        st.object_magnitudes(header, {1: "a", 3: "b"})
    assert "\n" not in str(err.value)
    with pytest.raises(gf.GalfitFormatError, match="component 2: a sky component has no magnitude"):
        st.object_magnitudes(header, {2: "a"})


def test_summary_statistics_by_hand():
    stats = st.summary_statistics([1.0, 2.0, 3.0, 4.0, 100.0, float("nan")], original=2.5)
    assert stats["n_used"] == 5
    assert stats["median"] == 3.0
    mean = 110.0 / 5
    assert stats["std"] == pytest.approx(math.sqrt(sum((v - mean) ** 2 for v in [1, 2, 3, 4, 100]) / 4))
    assert stats["mad_sigma"] == pytest.approx(1.4826)  # |x - 3| = 2 1 0 1 97 -> median 1
    assert stats["bias"] == pytest.approx(0.5)  # median above the original: positive
    assert stats["p16"] == pytest.approx(1.0 + 0.64 * 1.0)  # linear interpolation, rank 0.64
    assert stats["p84"] == pytest.approx(4.0 + 0.36 * 96.0)
    assert st.summary_statistics([5.0, 6.0], original=7.0)["bias"] == pytest.approx(-1.5)


def test_summary_statistics_small_samples():
    one = st.summary_statistics([3.0], original=1.0)
    assert one["n_used"] == 1 and math.isnan(one["std"]) and one["median"] == 3.0
    none = st.summary_statistics([], original=1.0)
    assert none["n_used"] == 0 and math.isnan(none["median"]) and math.isnan(none["bias"])


def test_circular_statistics_across_the_wrap():
    pas = [89.0, -89.0, 88.0, -88.0]  # i.e. 89, 91, 88, 92 on a 180 deg circle
    stats = st.circular_statistics(pas, original=-90.0)
    assert stats["bias"] == pytest.approx(0.0)
    assert stats["std"] == pytest.approx(math.sqrt(10 / 3))
    assert stats["mad_sigma"] == pytest.approx(1.4826 * 1.5)
    assert stats["p84"] - stats["p16"] < 5
    assert st.circular_statistics(pas, original=85.0)["bias"] == pytest.approx(5.0)
    assert st.circular_statistics([-80.0, -82.0, 100.0], original=95.0)["bias"] == pytest.approx(5.0)
    # A naive median of the raw values would be near 0 with a huge spread.
    assert st.summary_statistics(pas, original=-90.0)["std"] > 80


def test_table_round_trip_and_determinism(tmp_path):
    rows = [{"window": "original", "status": "original", "chi2nu": 0.62834567, "n": 3}, {"window": "r01", "status": "ok", "chi2nu": float("nan"), "n": 4}]
    comments = {"target": "coolj0112", "engine": "galfit"}
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    tb.write_table(a, rows, ["window", "status", "chi2nu", "n"], comments)
    tb.write_table(b, [dict(r) for r in rows], ["window", "status", "chi2nu", "n"], dict(comments))
    assert a.read_bytes() == b.read_bytes()
    text = a.read_text()
    assert text.splitlines()[:3] == ["# target: coolj0112", "# engine: galfit", "window\tstatus\tchi2nu\tn"]
    assert "original\toriginal\t0.6283\t3" in text and "r01\tok\tnan\t4" in text
    back, back_comments = tb.read_table(a)
    assert back_comments == comments
    assert back[0]["chi2nu"] == 0.6283 and back[0]["n"] == 3.0 and back[1]["window"] == "r01"
    assert math.isnan(back[1]["chi2nu"])


def _records():
    return [
        FitRecord(window="r01", status="ok", reason="", chi2nu=1.1, engine="galfit", header=_header((1, "sersic", _sersic(20.1, 88.0)), (2, "sersic", _sersic(21.0)), (3, "sky", SKY)), sky_level=0.25),
        # Component 1's size is at a bound (*...*), which the original is not: object A is flagged here.
        FitRecord(window="r02", status="flagged", reason="", chi2nu=1.3, engine="galfit", header=_header((1, "sersic", _sersic(20.3, -87.0, re="*4.0000* +/- *0.1*")), (2, "sersic", _sersic(21.2)), (3, "sky", SKY)), sky_level=0.75),
        FitRecord(window="r03", status="failed", reason="no output", chi2nu=None, engine="galfit", header=None),
        FitRecord(window="r04", status="ok", reason="", chi2nu=0.9, engine="galfit", header=_header((1, "sersic", _sersic(19.9, -89.0)), (2, "sersic", _sersic(20.8)), (3, "sky", SKY)), sky_level=0.5),
    ]


def test_magnitudes_and_uncertainties_rows():
    original = _header((1, "sersic", _sersic(20.0, 90.0)), (2, "sersic", _sersic(21.0)), (3, "sky", SKY), chi2nu=0.7)
    ident = {2: "B", 1: "A"}
    rows = tb.magnitudes_rows(original, _records(), ident)
    assert [r["window"] for r in rows] == ["original", "r01", "r02", "r03", "r04"]
    assert rows[0]["status"] == "original" and rows[0]["chi2nu"] == 0.7
    assert list(rows[0])[-2:] == ["obj_A", "obj_B"]  # sorted, not in comp_ident's order
    assert rows[1]["obj_A"] == pytest.approx(20.1) and rows[2]["obj_B"] == pytest.approx(21.2)
    assert math.isnan(rows[3]["obj_A"]) and math.isnan(rows[3]["chi2nu"])
    assert [(r["status"], r["flag"], r["flagged_objects"]) for r in rows[1:]] == [
        ("ok", "", ""), ("flagged", "bound", "A"), ("failed", "", ""), ("ok", "", "")
    ]
    assert rows[2]["reason"] == "new vs the original: suspect 1_RE"

    unc = {r["object"]: r for r in tb.uncertainties_rows(original, _records(), ident, use_flagged=False)}
    # Object A leaves out r02 (flagged for it); object B keeps it.
    assert unc["A"]["n_used"] == 2 and unc["A"]["mag_original"] == 20.0 and unc["A"]["n_flagged"] == 1
    assert unc["A"]["median"] == pytest.approx(20.0) and unc["A"]["std"] == pytest.approx(math.sqrt(0.02))
    assert unc["B"]["n_used"] == 3 and unc["B"]["n_flagged"] == 0 and unc["B"]["median"] == pytest.approx(21.0)
    with_flagged = {r["object"]: r for r in tb.uncertainties_rows(original, _records(), ident, use_flagged=True)}
    assert with_flagged["A"]["n_used"] == 3 and with_flagged["A"]["median"] == pytest.approx(20.1)
    assert with_flagged["A"]["bias"] == pytest.approx(0.1)
    assert with_flagged["A"]["sigma"] == with_flagged["A"]["std"]
    robust = {r["object"]: r for r in tb.uncertainties_rows(original, _records(), ident, use_flagged=True, sigma="robust")}
    # |20.1 - 20.1|, |20.3 - 20.1|, |19.9 - 20.1| -> median 0.2.
    assert robust["A"]["sigma"] == pytest.approx(1.4826 * 0.2) and robust["A"]["std"] == with_flagged["A"]["std"]
    rms = {r["object"]: r for r in tb.uncertainties_rows(original, _records(), ident, use_flagged=True, sigma="rms")}
    # Differences from the original 20.0: 0.1, 0.3, -0.1 -> rms sqrt(0.11 / 3); it keeps the bias the std drops.
    assert rms["A"]["sigma"] == pytest.approx(math.sqrt(0.11 / 3)) and rms["A"]["std"] == with_flagged["A"]["std"]
    assert rms["A"]["sigma_lo"] <= rms["A"]["sigma"] <= rms["A"]["sigma_hi"]
    with pytest.raises(ValueError, match="stats.sigma: 'mean' is not known"):
        tb.uncertainties_rows(original, _records(), ident, use_flagged=True, sigma="mean")


def test_parameters_rows_free_only_and_circular_pa():
    original = _header((1, "sersic", _sersic(20.0, 90.0)), (2, "sersic", _sersic(21.0)), (3, "sky", SKY))
    rows = tb.parameters_rows(original, _records(), use_flagged=True)
    keys = [(r["component"], r["parameter"]) for r in rows]
    assert (1, "YC") not in keys and (3, "DSDX") not in keys  # fixed
    assert keys[:6] == [(1, "XC"), (1, "MAG"), (1, "RE"), (1, "N"), (1, "AR"), (1, "PA")]
    assert (3, "SKY") in keys
    pa = next(r for r in rows if r["component"] == 1 and r["parameter"] == "PA")
    # 88, -87 (= 93) and -89 (= 91) around 90: median 91.
    assert pa["n_used"] == 3 and pa["median"] == pytest.approx(91.0) and pa["bias"] == pytest.approx(1.0)
    mag = next(r for r in rows if r["component"] == 2 and r["parameter"] == "MAG")
    assert mag["type"] == "sersic" and mag["value_original"] == 21.0 and mag["median"] == pytest.approx(21.0)
    # Without use_flagged, r02 is left out of object A's components only.
    strict = {(r["component"], r["parameter"]): r for r in tb.parameters_rows(original, _records(), use_flagged=False, comp_ident={1: "A", 2: "B"})}
    assert strict[(1, "MAG")]["n_used"] == 2 and strict[(2, "MAG")]["n_used"] == 3


def test_sky_row_is_each_fit_minus_its_window_level():
    # Every re-fit's sky is 0.5; the windows' own levels were 0.25, 0.75 and 0.5: offsets
    # +0.25, -0.25 and 0 (median 0), while the original fit's sky is 0.5 too.
    original = _header((1, "sersic", _sersic(20.0, 90.0)), (2, "sersic", _sersic(21.0)), (3, "sky", SKY))
    sky = next(r for r in tb.parameters_rows(original, _records(), use_flagged=True) if r["parameter"] == "SKY")
    assert sky["value_original"] == 0.5 and sky["n_used"] == 3
    assert sky["median"] == pytest.approx(0.0) and sky["bias"] == pytest.approx(0.0)
    assert sky["std"] == pytest.approx(0.25) and sky["p16"] < -0.1 < 0.1 < sky["p84"]
    # A record without the window's level gives no sky value.
    records = [dataclasses.replace(r, sky_level=float("nan")) for r in _records()]
    assert next(r for r in tb.parameters_rows(original, records, use_flagged=True) if r["parameter"] == "SKY")["n_used"] == 0


def test_window_sky_level_is_the_mean_of_usable_pixels():
    import numpy as np

    cleaned = np.array([[1.0, 2.0, 3.0], [4.0, np.nan, 100.0]])
    assert st.window_sky_level(cleaned) == pytest.approx(110.0 / 5)
    bad = np.array([[0, 0, 0], [0, 0, 1]])  # GALFIT's mask: > 0 is bad
    assert st.window_sky_level(cleaned, bad) == pytest.approx(2.5)
    assert math.isnan(st.window_sky_level(np.full((2, 2), np.nan)))


def test_natural_order_of_objects():
    ids = ["10", "2", "1", "B", "A", "obj10", "obj9"]
    assert sorted(ids, key=st.natural_key) == ["1", "2", "10", "A", "B", "obj9", "obj10"]


def test_formal_error_of_an_object_by_hand():
    # Two components of 20 and 21 mag with errors 0.1 and 0.2: fluxes 1 and 10^-0.4 = 0.398
    # (in units of the first); sigma = sqrt((1 * 0.1)^2 + (0.398 * 0.2)^2) / 1.398.
    header = _header((1, "sersic", _sersic(20.0)), (2, "sersic", [("MAG", "21.0 +/- 0.2")]), (3, "sersic", [("MAG", "[19.0]")]), (4, "sky", SKY))
    f2 = 10 ** -0.4
    expected = math.sqrt(0.1**2 + (f2 * 0.2) ** 2) / (1 + f2)
    formal = st.object_formal_errors(header, {1: "A", 2: "A", 3: "C"})
    assert formal["A"] == pytest.approx(expected, rel=1e-12)
    assert math.isnan(formal["C"])  # a fixed magnitude has no error


def test_formal_error_on_the_real_decals_fit(shared):
    # Object 3 is component 6 alone: 6_MAG = '20.6374 +/- 0.0213'.
    header = gf.read_fit_header(shared("decals-coolj0112", "galfit_output_example.fits"))
    ident = gf.read_comp_ident(shared("decals-coolj0112", "comp_ident_example.txt"))
    formal = st.object_formal_errors(header, ident)
    assert formal["3"] == pytest.approx(0.0213)


def test_bootstrap_interval_is_seeded_and_brackets_sigma():
    import numpy as np

    values = np.random.default_rng(3).normal(0.0, 0.1, 30)
    lo, hi = st.bootstrap_interval(values, "std", 2000, [0, 1])
    assert (lo, hi) == st.bootstrap_interval(values, "std", 2000, [0, 1])
    assert (lo, hi) != st.bootstrap_interval(values, "std", 2000, [0, 2])
    # The std of 30 Gaussian values has a relative error of about 1/sqrt(2 * 29) = 13 %.
    assert lo < np.std(values, ddof=1) < hi
    assert (hi - lo) / 2 == pytest.approx(0.13 * np.std(values, ddof=1), rel=0.35)
    # Brute force on three values: every resample of (0, 0, 1) has std 0 or 0.577.
    lo3, hi3 = st.bootstrap_interval([0.0, 0.0, 1.0], "std", 500, 1)
    assert lo3 == 0.0 and hi3 == pytest.approx(math.sqrt(1 / 3))
    assert all(math.isnan(v) for v in st.bootstrap_interval([1.0], "std", 100, 0))
    # rms about a centre: every resample of (1, 1, 1) about 0 is 1; of (0, 0, 1) about 0 is 0 to 1.
    assert st.bootstrap_interval([1.0, 1.0, 1.0], "rms", 200, 0, centre=0.0) == (1.0, 1.0)
    lo_r, hi_r = st.bootstrap_interval([0.0, 0.0, 1.0], "rms", 500, 1, centre=0.0)
    assert st.rms_about([0.0, 0.0, 1.0], 0.0) == pytest.approx(math.sqrt(1 / 3))
    assert 0.0 <= lo_r < math.sqrt(1 / 3) < hi_r <= 1.0


def test_split_statistic_by_hand():
    # 0, 0.1, 0.2 | 1.2, 1.3, 1.4: groups of std 0.1 (pooled over n - 2 = 4: sqrt(0.04 / 4) = 0.1),
    # gap 1.0 -> 10 pooled stds.
    assert st.split_statistic([0.0, 0.1, 0.2, 1.2, 1.3, 1.4], floor=0.01) == pytest.approx(10.0)
    # The floor stands in for a spread smaller than it.
    assert st.split_statistic([0.0, 0.0, 0.0, 1.0, 1.0, 1.0], floor=0.5) == pytest.approx(2.0)
    # One outlier is not a second solution: at least 3 values on each side.
    assert st.split_statistic([0.0, 0.1, 0.2, 0.3, 0.4, 9.0], floor=0.01) < 3
    assert st.split_statistic([1.0, 2.0], floor=0.01) == 0.0


def test_warning_for_split_refits_and_an_original_outside():
    original = _header((1, "sersic", _sersic(20.0, re="2.0 +/- 0.1")), (2, "sky", SKY))
    ident = {1: "A"}

    def refit(mag, re):
        return FitRecord(window="r", status="ok", header=_header((1, "sersic", _sersic(mag, re=f"{re} +/- 0.1")), (2, "sky", SKY)))

    # Sizes in two solutions, 1 and 4 pixels (0.6 dex apart), magnitudes around the original.
    mags = [19.98, 20.0, 20.02, 19.99, 20.01, 20.0, 19.97, 20.03]
    records = [refit(m, re) for m, re in zip(mags, [1.0, 1.02, 0.98, 1.01, 4.0, 4.1, 3.9, 4.05])]
    row = tb.uncertainties_rows(original, records, ident, use_flagged=True)[0]
    assert row["warning"] == "re-fits split: 1_RE"
    # One solution, but the original 0.1 mag below all of them.
    # (Their sizes 2.00-2.07 also miss the original's 2.0, but by less than 0.05 dex.)
    records = [refit(m + 0.1, 2.0 + 0.01 * k) for k, m in enumerate(mags)]
    row = tb.uncertainties_rows(original, records, ident, use_flagged=True)[0]
    assert row["warning"] == "original outside p16-p84: mag"
    records = [refit(m, 2.0 + 0.01 * k) for k, m in enumerate(mags)]
    assert tb.uncertainties_rows(original, records, ident, use_flagged=True)[0]["warning"] == ""
    # The magnitude is reproduced but not the size: every re-fit 0.1-0.17 dex above it.
    records = [refit(m, 2.5 + 0.1 * k) for k, m in enumerate(mags)]
    assert tb.uncertainties_rows(original, records, ident, use_flagged=True)[0]["warning"] == "original outside p16-p84: 1_RE"


def test_warning_when_the_axis_ratio_is_not_returned():
    """The axis ratio is checked linearly: re-fits 0.06-0.07 rounder than the original are a
    warning, 0.03-0.04 rounder are not (the floor is 0.05)."""
    original = _header((1, "sersic", _sersic(20.0)), (2, "sky", SKY))

    def warning(shift):
        mags = [19.98, 20.0, 20.02, 19.99, 20.01, 20.0, 19.97, 20.03]
        shapes = [[*(p for p in _sersic(mag) if p[0] != "AR"), ("AR", f"{0.5 + shift + 0.002 * k} +/- 0.01")] for k, mag in enumerate(mags)]
        records = [FitRecord(window="r", status="ok", header=_header((1, "sersic", shape), (2, "sky", SKY))) for shape in shapes]
        return tb.uncertainties_rows(original, records, {1: "A"}, use_flagged=True)[0]["warning"]

    assert warning(0.06) == "original outside p16-p84: 1_AR"
    assert warning(0.03) == ""


def test_parameters_rows_positions_back_in_the_original_frame():
    # The original fit covered [201:250,301:350]; its re-fits run on 50x50 cutouts, where
    # frame x = 225 is cutout x = 25.
    h = fits.Header()
    h["FITSECT"] = "[201:250,301:350]"
    h["MAGZPT"] = 25.0
    h["COMP_1"] = "sersic"
    for key, value in [("XC", "225.0 +/- 0.1"), ("YC", "330.0 +/- 0.1"), ("MAG", "20.0 +/- 0.1")]:
        h[f"1_{key}"] = value
    original = gf.parse_fit_header(h)
    refits = [
        FitRecord(window=r, status="ok", header=_header((1, "sersic", [("XC", f"{x} +/- 0.1"), ("YC", "30.0 +/- 0.1"), ("MAG", "20.0 +/- 0.1")])))
        for r, x in (("a", 25.5), ("b", 24.5))
    ]
    rows = {r["parameter"]: r for r in tb.parameters_rows(original, refits, use_flagged=True)}
    assert rows["XC"]["median"] == pytest.approx(225.0) and rows["XC"]["bias"] == pytest.approx(0.0)
    assert rows["YC"]["median"] == pytest.approx(330.0)


def test_summary_lines_gathers_tables_and_refuses_mismatched_columns(tmp_path):
    a, b, c = tmp_path / "a.tsv", tmp_path / "b.tsv", tmp_path / "c.tsv"
    a.write_text("# seed: 1\nobject\tmedian\n1\t20.1000\n2\t21.0000\n")
    b.write_text("object\tmedian\n1\t19.5000\n")
    c.write_text("object\tstd\n1\t0.1\n")
    lines = tb.summary_lines({("g1", "z"): a, ("g2", "r"): b})
    assert lines == ["target\tband\tobject\tmedian", "g1\tz\t1\t20.1000", "g1\tz\t2\t21.0000", "g2\tr\t1\t19.5000"]
    with pytest.raises(ValueError, match="c.tsv: header: columns differ"):
        tb.summary_lines({("g1", "z"): a, ("g3", "z"): c})
