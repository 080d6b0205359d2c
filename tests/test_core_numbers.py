"""Numbers of the library's core against values known by construction: statistics of angles
anywhere on the circle, the sky decision between a tenth and one residual sigma, and seeds.
These kill mutants that the other tests let through (see docs/testing.md)."""

import numpy as np
import pytest
from astropy.io import fits

from galfit_unc import galfit_files as gf
from galfit_unc import injection as inj
from galfit_unc import statistics as st
from galfit_unc import tables as tb
from galfit_unc.cleaning import clean_cutout
from galfit_unc.skysearch import clipped_stats as sky_stats
from galfit_unc.skysearch import select_windows, window_seed
from galfit_unc.records import FitRecord

NARROW = (-38.0, -21.0, -9.0, -2.0, 0.0, 4.0, 13.0, 27.0, 35.0)
# Spanning 110 of the circle's 180 degrees: only an accurate circular mean unwraps it in one piece.
WIDE = (-55.0, -40.0, -15.0, 0.0, 5.0, 25.0, 40.0, 55.0)


@pytest.mark.parametrize("offsets", [NARROW, WIDE], ids=["narrow", "wide"])
@pytest.mark.parametrize("centre", [0.0, 37.0, 80.0, 89.5, -64.0, -88.0])
def test_circular_statistics_of_a_cluster_anywhere_on_the_circle(centre, offsets):
    # Angles centre + offsets, written in (-90, 90] as GALFIT may: their statistics are the
    # offsets' own, shifted by the centre.
    OFFSETS = np.array(offsets)
    true = centre + OFFSETS
    written = (true + 90.0) % 180.0 - 90.0
    stats = st.circular_statistics(written, original=centre)
    assert stats["median"] == pytest.approx(centre + np.median(OFFSETS))
    assert stats["bias"] == pytest.approx(np.median(OFFSETS))
    assert stats["std"] == pytest.approx(np.std(OFFSETS, ddof=1))
    assert (stats["p16"], stats["p84"]) == pytest.approx(tuple(centre + np.percentile(OFFSETS, [16, 84])))


def sky_header(sky):
    h = fits.Header()
    h["FITSECT"] = "[1:40,1:30]"
    h["MAGZPT"] = 25.0
    h["COMP_1"] = "sky"
    h["1_SKY"] = f"{sky} +/- 0.1"
    h["1_DSDX"] = "[0.0]"
    h["1_DSDY"] = "[0.0]"
    return gf.parse_fit_header(h)


@pytest.mark.parametrize("holds_sky", [True, False])
def test_sky_in_model_between_a_tenth_and_one_sigma(holds_sky):
    # Sky 5 on a residual of sigma 10: above a tenth of sigma, so the residual decides.
    noise = np.random.default_rng(3).normal(0.0, 10.0, (300, 400))
    header = sky_header(5.0)
    header.fitsect = (1, 400, 1, 300)
    residual = noise if holds_sky else noise + 5.0
    flag, reason = inj.sky_in_model(header, residual=residual)
    assert flag is holds_sky, reason


def test_sky_in_model_without_sky_component_is_no():
    h = fits.Header()
    h["FITSECT"] = "[1:40,1:30]"
    h["MAGZPT"] = 25.0
    h["COMP_1"] = "psf"
    h["1_XC"] = "20.0 +/- 0.1"
    h["1_YC"] = "15.0 +/- 0.1"
    h["1_MAG"] = "18.0 +/- 0.1"
    flag, _ = inj.sky_in_model(gf.parse_fit_header(h), residual=np.zeros((30, 40)))
    assert flag is False


def test_region_seed_accepts_zero_and_gives_distinct_64_bit_seeds():
    seeds = {window_seed(0, f"x{x:04d}_y0001") for x in range(200)}
    assert len(seeds) == 200
    assert all(0 <= s < 2**64 for s in seeds)
    # Both 32-bit halves carry entropy (they are not copies of each other).
    assert any((s >> 32) != (s & 0xFFFFFFFF) for s in seeds)
    assert max(seeds) >= 2**63 // 4
    with pytest.raises(ValueError, match="seed: -1 is negative"):
        window_seed(-1, "x0001_y0001")


def test_refit_from_a_header_alone_fits_every_component_at_the_datas_sampling():
    # A hand-made block without CONVBOX and no input file: E) 1, every component in the
    # output model (Z) 0), and the whole window convolved.
    h = fits.Header()
    h["FITSECT"] = "[11:70,21:70]"
    h["MAGZPT"] = 25.0
    h["COMP_1"] = "sersic"
    for key, value in (("XC", 40.0), ("YC", 45.0), ("MAG", 18.0), ("RE", 5.0), ("N", 2.0), ("AR", 0.7), ("PA", 30.0)):
        h[f"1_{key}"] = f"{value} +/- 0.1"
    fm = inj.refit_feedme(gf.parse_fit_header(h), window_shape=(50, 60))
    assert fm.control["E"] == "1"
    assert fm.control["I"] == "60 50"
    assert fm.components[0].rows["Z"].values == [0.0]
    assert fm.components[0].value("1", 0) == pytest.approx(30.0) and fm.components[0].value("1", 1) == pytest.approx(25.0)


def sersic_header(**values):
    h = fits.Header()
    h["FITSECT"] = "[1:100,1:100]"
    h["MAGZPT"] = 25.0
    h["COMP_1"] = "sersic"
    for key in ("XC", "YC", "MAG", "RE", "N", "AR", "PA"):
        h[f"1_{key}"] = f"{values.get(key, 10.0)} +/- 0.1"
    if "FLAGS" in values:
        h["FLAGS"] = values["FLAGS"]
    return gf.parse_fit_header(h)


def test_parameters_rows_leave_out_flagged_fits_when_asked_and_do_not_fold_sizes():
    original = sersic_header(RE=100.0)
    records = [
        FitRecord(window="a", status="ok", header=sersic_header(RE=10.0)),
        FitRecord(window="b", status="ok", header=sersic_header(RE=150.0)),
        FitRecord(window="c", status="ok", header=sersic_header(RE=300.0)),
        # FLAGS 2 (a singular fit) that the original fit did not have.
        FitRecord(window="d", status="flagged", header=sersic_header(RE=1000.0, FLAGS="2")),
        FitRecord(window="e", status="failed", header=None),
    ]
    re_ok = {r["parameter"]: r for r in tb.parameters_rows(original, records, use_flagged=False)}["RE"]
    # Sizes are not angles: 10, 150 and 300 are not folded onto a 180 circle.
    assert re_ok["n_used"] == 3 and re_ok["median"] == pytest.approx(150.0) and re_ok["bias"] == pytest.approx(50.0)
    assert re_ok["std"] == pytest.approx(np.std([10.0, 150.0, 300.0], ddof=1))
    re_all = {r["parameter"]: r for r in tb.parameters_rows(original, records, use_flagged=True)}["RE"]
    assert re_all["n_used"] == 4 and re_all["median"] == pytest.approx(225.0)


def test_clipped_stats_use_the_given_clipping():
    # 1000 values of +-1 and ten each of +-3 (std 1.0756 about the median 0): a 2-sigma clip
    # drops the twenty, a 3-sigma clip keeps them.
    values = np.concatenate([np.tile([-1.0, 1.0], 500), np.full(10, 3.0), np.full(10, -3.0)])
    _, std_kept = sky_stats(values, 3.0, 5)
    _, std_clipped = sky_stats(values, 2.0, 1)
    assert std_clipped == pytest.approx(1.0)
    assert std_kept == pytest.approx(np.std(values))


def test_circular_statistics_of_one_value_and_of_none():
    # -89 is 91 on the circle: 2 degrees from 89.
    one = st.circular_statistics([-89.0], original=89.0)
    assert one["n_used"] == 1 and one["median"] == pytest.approx(91.0) and one["bias"] == pytest.approx(2.0)
    stats = st.circular_statistics([np.nan, np.nan], original=30.0)
    assert stats["n_used"] == 0 and np.isnan(stats["median"]) and np.isnan(stats["bias"])


def test_table_cells_with_spaces_read_back(tmp_path):
    rows = [{"window": "x0001_y0001", "status": "flagged", "reason": "FLAGS 2; suspect 3_MAG 5_MAG", "obj_1": 20.12346}]
    tb.write_table(tmp_path / "t.tsv", rows, ["window", "status", "reason", "obj_1"], {"fitsect": "[1:96,1:78]", "seed": 1})
    back, comments = tb.read_table(tmp_path / "t.tsv")
    assert back == [{"window": "x0001_y0001", "status": "flagged", "reason": "FLAGS 2; suspect 3_MAG 5_MAG", "obj_1": 20.1235}]
    assert comments == {"fitsect": "[1:96,1:78]", "seed": "1"}


def test_select_windows_ranks_counts_above_65535():
    # 400 x 400 windows on a 1000 x 500 frame whose first 164 columns are masked: a window
    # starting at column x (0-based) holds (164 - x) * 400 masked pixels, 65600 at x = 0 (more
    # than 16 bits hold) and least, 25600, at x = 100.  The cleanest comes first, top row first.
    mask = np.zeros((1000, 500), bool)
    mask[:, :164] = True
    (first,) = select_windows(mask, (400, 400), (1, 10, 901, 1000), target_margin=0, contaminant_frac=0.5, max_windows=1)
    assert (first.x1, first.y1) == (101, 1)
    assert first.masked_frac == pytest.approx(25600 / 160000)


def _clip_by_hand(values, clip_sigma, iters):
    """Median-centred sigma clipping written out: keep |x - median| <= clip_sigma * std (ddof 0)."""
    kept = np.asarray(values, float)
    for _ in range(iters):
        med, std = np.median(kept), np.std(kept)
        new = kept[np.abs(kept - med) <= clip_sigma * std]
        if new.size == kept.size:
            break
        kept = new
    return float(np.median(kept)), float(np.std(kept))


def test_clipped_stats_iterate_as_often_as_asked():
    # A core of +-1 and a ladder of outliers: each clipping round peels off the farthest rungs,
    # so one round and five rounds give different statistics.
    values = np.concatenate([np.tile([-1.0, 1.0], 200), [3.5, 4.5, 6.0, 8.0, 11.0, 15.0, 20.0, 200.0]])
    one, five = _clip_by_hand(values, 3.0, 1), _clip_by_hand(values, 3.0, 5)
    assert one[1] > 1.2 * five[1]
    assert sky_stats(values, 3.0, 1) == pytest.approx(one)
    assert sky_stats(values, 3.0, 5) == pytest.approx(five)


def test_circular_statistics_unwrap_a_wide_cluster_about_its_mean():
    # Five angles 35 degrees apart centred on 60 (one written as 170 = -10 mod 180): unwrapped
    # about 60 they are -10 ... 130; a centre off by 20 degrees would cut the cluster at 130.
    stats = st.circular_statistics([170.0, 25.0, 60.0, 95.0, 130.0], 60.0)
    assert stats["median"] == pytest.approx(60.0)
    assert stats["std"] == pytest.approx(np.std([-10.0, 25.0, 60.0, 95.0, 130.0], ddof=1))
