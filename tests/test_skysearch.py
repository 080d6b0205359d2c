"""Sky-window search: counts, selection rules, TSV round trip, frame loading, real frame."""

import numpy as np
import pytest
from astropy.io import fits

from galfit_unc.frames import load_frame
from galfit_unc.galfit_files import GalfitFormatError, parse_fitsect
from galfit_unc.skysearch import (
    NotEnoughWindows,
    _convolve_same,
    Window,
    check_enough,
    clipped_stats,
    detect_sources,
    noise_map,
    overlap_fraction,
    psf_fwhm,
    read_windows_tsv,
    region_sigma,
    select_windows,
    source_mask,
    window_counts,
    window_sigma,
    write_windows_tsv,
)


def brute_counts(mask, ny, nx):
    h, w = mask.shape
    return np.array([[mask[y : y + ny, x : x + nx].sum() for x in range(w - nx + 1)] for y in range(h - ny + 1)])


def brute_select(mask, ny, nx, target, margin, contaminant_frac, max_overlap, max_windows):
    """Plain-loop reference of the selection rules, written from the specification."""
    h, w = mask.shape
    tx1, tx2, ty1, ty2 = target
    my, mx = margin
    cands = []
    for y0 in range(h - ny + 1):
        for x0 in range(w - nx + 1):
            x1, x2, y1, y2 = x0 + 1, x0 + nx, y0 + 1, y0 + ny
            hits_target = x1 <= tx2 + mx and x2 >= tx1 - mx and y1 <= ty2 + my and y2 >= ty1 - my
            count = int(mask[y0 : y0 + ny, x0 : x0 + nx].sum())
            if not hits_target and count / (ny * nx) < contaminant_frac:
                cands.append((count, y1, x1))
    kept = []
    for count, y1, x1 in sorted(cands):
        shared = [max(0, nx - abs(x1 - kx)) * max(0, ny - abs(y1 - ky)) / (nx * ny) for kx, ky in kept]
        if all(s <= max_overlap for s in shared):
            kept.append((x1, y1))
            if len(kept) == max_windows:
                break
    return kept


@pytest.mark.parametrize("image_shape, kernel_shape", [((78, 96), (41, 41)), ((100, 37), (7, 12)), ((33, 50), (51, 51))])
def test_detection_convolution_is_scipy_signals(image_shape, kernel_shape):
    """The matched filter's convolution gives scipy.signal.fftconvolve's numbers exactly
    (it replaces it to spare processes the import of scipy.signal)."""
    from scipy import signal

    rng = np.random.default_rng(3)
    image, kernel = rng.normal(size=image_shape), rng.random(kernel_shape)
    assert np.array_equal(_convolve_same(image, kernel), signal.fftconvolve(image, kernel, mode="same"))


@pytest.mark.parametrize("seed", range(4))
def test_window_counts_match_brute_force_on_non_square(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(15, 30, size=2)
    if h == w:
        w += 3
    ny, nx = 4 + seed, 7 - seed // 2
    mask = rng.random((h, w)) < 0.3
    counts = window_counts(mask, ny, nx)
    assert counts.shape == (h - ny + 1, w - nx + 1)
    np.testing.assert_array_equal(counts, brute_counts(mask, ny, nx))


def test_window_counts_last_row_and_column():
    mask = np.zeros((9, 13), bool)
    mask[8, 12] = True  # only the last pixel: seen only by the last window position
    counts = window_counts(mask, 3, 5)
    assert counts[-1, -1] == 1
    assert counts.sum() == 1


def test_window_counts_rejects_window_larger_than_frame():
    with pytest.raises(ValueError, match="does not fit"):
        window_counts(np.zeros((10, 10), bool), 11, 3)


@pytest.mark.parametrize("seed", range(6))
def test_select_windows_matches_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    h, w = 26 + seed, 37 - seed
    ny, nx = 5, 8
    mask = rng.random((h, w)) < 0.04
    target = (15, 20, 10, 13)
    margin = (seed % 3, 1)
    max_overlap = (0.2, 0.5, 0.75)[seed % 3]
    got = select_windows(mask, (ny, nx), target, target_margin=margin, contaminant_frac=0.06,
                         max_overlap=max_overlap, max_windows=12)
    want = brute_select(mask, ny, nx, target, margin, 0.06, max_overlap, 12)
    assert [(w_.x1, w_.y1) for w_ in got] == want
    assert all((w_.x2 - w_.x1 + 1, w_.y2 - w_.y1 + 1) == (nx, ny) for w_ in got)
    for w_ in got:
        assert w_.masked_frac == mask[w_.y1 - 1 : w_.y2, w_.x1 - 1 : w_.x2].mean()


def test_select_windows_reaches_last_row_and_column():
    mask = np.ones((12, 17), bool)
    mask[-4:, -6:] = False  # the only blank window sits in the last row and column
    got = select_windows(mask, (4, 6), (1, 3, 1, 3), target_margin=0, contaminant_frac=0.01)
    assert [(w.x1, w.x2, w.y1, w.y2) for w in got] == [(12, 17, 9, 12)]


def test_overlap_fraction_is_shared_area():
    a = Window(1, 10, 1, 10, 0.0)
    assert overlap_fraction(a, Window(4, 13, 4, 13, 0.0)) == pytest.approx(0.49)
    assert overlap_fraction(a, Window(11, 20, 1, 10, 0.0)) == 0.0
    assert overlap_fraction(a, a) == 1.0
    with pytest.raises(ValueError, match="differ in size"):
        overlap_fraction(a, Window(1, 5, 1, 10, 0.0))


def test_overlap_rule_is_per_pair_area():
    # Blank 13x13 sky, 10x10 windows.  A window offset by (3, 3) overlaps 70 % along each
    # axis, so a per-axis rule would reject it at 0.5, but the shared area is 49 %.
    mask = np.zeros((13, 30), bool)
    mask[:, 13:] = True
    got = select_windows(mask, (10, 10), (25, 30, 1, 5), target_margin=0, max_overlap=0.5)
    assert [(w.x1, w.y1) for w in got] == [(1, 1), (4, 4)]


def test_overlap_exactly_at_limit_is_allowed():
    mask = np.zeros((10, 16), bool)
    got = select_windows(mask, (10, 10), (16, 16, 10, 10), target_margin=0, max_overlap=0.5)
    # Windows clear of the target start at x1 = 1..6; x1 = 6 shares exactly half with x1 = 1.
    assert [(w.x1, w.y1) for w in got] == [(1, 1), (6, 1)]


def test_ties_ordered_by_row_then_column():
    mask = np.zeros((20, 20), bool)
    got = select_windows(mask, (4, 4), (20, 20, 20, 20), target_margin=0, max_overlap=0.0, max_windows=100)
    keys = [(w.y1, w.x1) for w in got]
    assert keys == sorted(keys)
    assert keys[:3] == [(1, 1), (1, 5), (1, 9)]
    assert len(got) == 24  # 5 x 5 tiling less the tile holding the target pixel (20, 20)


def test_rank_prefers_fewer_masked_pixels():
    mask = np.zeros((6, 30), bool)
    mask[0, 2] = True  # first window (x 1-6) gets one masked pixel
    got = select_windows(mask, (6, 6), (30, 30, 6, 6), target_margin=0, contaminant_frac=0.1,
                         max_overlap=0.0, max_windows=1)
    assert (got[0].x1, got[0].masked_frac) == (4, 0.0)


def test_target_exclusion_with_margin():
    mask = np.zeros((10, 40), bool)
    target = (18, 22, 1, 10)
    for margin, first_right in ((0, 23), (3, 26)):
        got = select_windows(mask, (10, 5), target, target_margin=margin, max_overlap=0.0, max_windows=100)
        xs = [w.x1 for w in got]
        assert all(w.x2 < 18 - margin or w.x1 > 22 + margin for w in got)
        assert first_right in xs
    # Default margin: half a window, 5 // 2 = 2 columns.
    got = select_windows(mask, (10, 5), target, max_overlap=0.0, max_windows=100)
    assert min(w.x1 for w in got if w.x1 > 22) == 25
    assert max(w.x2 for w in got if w.x2 < 18) == 15


def test_target_outside_frame_is_refused():
    with pytest.raises(ValueError, match="outside the frame"):
        select_windows(np.zeros((10, 10), bool), (3, 3), (5, 12, 1, 3))


def test_max_regions_stops_selection():
    mask = np.zeros((30, 30), bool)
    got = select_windows(mask, (5, 5), (30, 30, 30, 30), target_margin=0, max_overlap=0.0, max_windows=7)
    assert len(got) == 7


def test_contaminant_fraction_is_strict():
    mask = np.zeros((4, 8), bool)
    mask[0, 3] = True  # every window clear of the target (x1 = 1..4) has 1/16 masked
    kwargs = dict(target_margin=0, max_overlap=0.0)
    assert select_windows(mask, (4, 4), (8, 8, 4, 4), contaminant_frac=1 / 16, **kwargs) == []
    assert len(select_windows(mask, (4, 4), (8, 8, 4, 4), contaminant_frac=0.07, **kwargs)) == 1


def test_large_frame_is_fast():
    import time

    rng = np.random.default_rng(5)
    mask = rng.random((2048, 2048)) < 0.001
    t0 = time.perf_counter()
    got = select_windows(mask, (100, 100), (1000, 1100, 1000, 1100), max_overlap=0.5)
    assert time.perf_counter() - t0 < 10
    assert len(got) == 50


def test_source_mask_nan_inf_and_bad():
    rng = np.random.default_rng(1)
    img = rng.normal(10.0, 1.0, (40, 50))
    img[5, 5] = 1000.0
    img[6, 6] = np.nan
    img[7, 7] = np.inf
    img[8, 8] = -np.inf
    bad = np.zeros_like(img, bool)
    bad[9, 9] = True
    mask = source_mask(img, bad=bad)
    assert mask[5, 5] and mask[6, 6] and mask[7, 7] and mask[8, 8] and mask[9, 9]
    assert not source_mask(img)[9, 9]
    # Pure noise: about 0.13 % above 3 sigma, far from the 5 injected pixels dominating.
    assert mask.sum() < 5 + 0.01 * img.size
    with pytest.raises(ValueError, match="shape"):
        source_mask(img, bad=bad[:-1])


def test_source_mask_threshold_uses_nsigma():
    img = np.tile(np.array([0.0, 1.0, -1.0, 0.0]), (10, 10))  # std of the clipped sky ~ 0.71
    img[0, 0] = 3.0
    assert source_mask(img, nsigma=3.0).sum() == 1
    assert source_mask(img, nsigma=5.0).sum() == 0


def test_regions_tsv_round_trip(tmp_path):
    wins = [Window(1, 96, 3, 80, 0.0, 21.5), Window(120, 215, 300, 377, 0.0034, 23.25)]
    path = tmp_path / "windows.tsv"
    write_windows_tsv(wins, path, {"frame": "frame.fits", "max_overlap": 0.5})
    text = path.read_text().splitlines()
    assert text[:3] == ["# frame: frame.fits", "# max_overlap: 0.5", "window\tx1\tx2\ty1\ty2\tmasked_frac\tsky_sigma"]
    assert text[4] == "x0120_y0300\t120\t215\t300\t377\t0.003400\t23.25"
    assert read_windows_tsv(path) == wins


def test_regions_tsv_errors(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("window\tx1\tx2\ty1\ty2\tmasked_frac\tsky_sigma\nx0001_y0001\t1\tten\t1\t5\t0.0\t1.0\n")
    with pytest.raises(GalfitFormatError, match="bad.tsv: line 2"):
        read_windows_tsv(path)
    path.write_text("window x1 x2\n")
    with pytest.raises(GalfitFormatError, match="header"):
        read_windows_tsv(path)
    with pytest.raises(GalfitFormatError, match="not found"):
        read_windows_tsv(tmp_path / "missing.tsv")


def test_check_enough_message():
    wins = [Window(1, 5, 1, 5, 0.0)] * 3
    check_enough(wins, 3, {})
    with pytest.raises(NotEnoughWindows) as exc:
        check_enough(wins, 10, {"contaminant_frac": 0.005, "max_overlap": 0.5})
    msg = str(exc.value)
    assert "found 3" in msg and "min_windows=10" in msg
    assert "contaminant_frac=0.005" in msg and "max_overlap=0.5" in msg
    assert "\n" not in msg


def write(path, *hdus):
    fits.HDUList(list(hdus)).writeto(path)
    return path


def test_load_frame_takes_first_2d_hdu(tmp_path):
    data = np.arange(12.0).reshape(3, 4)
    path = write(tmp_path / "f.fits", fits.PrimaryHDU(), fits.ImageHDU(data, name="SCI"))
    got, header = load_frame(path)
    np.testing.assert_array_equal(got, data)
    assert header["EXTNAME"] == "SCI"


@pytest.mark.parametrize(
    "hdus, match",
    [
        ((fits.PrimaryHDU(np.ones((2, 3, 4))),), "NAXIS: only non-2-D data"),
        ((fits.PrimaryHDU(), fits.BinTableHDU.from_columns([fits.Column("a", "E", array=[1.0])])), "NAXIS"),
        ((fits.PrimaryHDU(np.full((4, 4), np.nan)),), "no finite pixel"),
        ((fits.PrimaryHDU(np.full((4, 4), 7.0)),), "constant value 7"),
    ],
    ids=["cube", "no-2d-hdu", "all-nan", "constant"],
)
def test_load_frame_errors(tmp_path, hdus, match):
    path = write(tmp_path / "bad.fits", *hdus)
    with pytest.raises(GalfitFormatError, match=match) as exc:
        load_frame(path)
    assert str(exc.value).startswith(str(path)) and "\n" not in str(exc.value)


def test_load_frame_missing(tmp_path):
    with pytest.raises(GalfitFormatError, match="not found"):
        load_frame(tmp_path / "nope.fits")


def test_real_frame_window_counts(shared):
    image, _ = load_frame(shared("decals-coolj0112", "org_data_example.fits"))
    target = parse_fitsect(fits.getheader(shared("decals-coolj0112", "galfit_output_example.fits"), 2)["FITSECT"])
    assert target == (220, 315, 213, 290)
    mask = source_mask(image)
    shape = (target[3] - target[2] + 1, target[1] - target[0] + 1)
    found = {mo: select_windows(mask, shape, target, max_overlap=mo) for mo in (0.5, 0.75)}
    # The predecessor's description: about 22 windows at 50 % overlap, 50 (the cap) at 75 %.
    assert 18 <= len(found[0.5]) <= 26
    assert len(found[0.75]) == 50
    for wins in found.values():
        assert all(w.masked_frac < 0.005 for w in wins)
        assert all(w.x2 < 220 - 48 or w.x1 > 315 + 48 or w.y2 < 213 - 39 or w.y1 > 290 + 39 for w in wins)


def test_read_frame_header_reads_no_pixels_and_skips_tables(tmp_path):
    from galfit_unc.frames import read_frame_header

    table = fits.BinTableHDU.from_columns([fits.Column("a", "E", array=[1.0])])
    image = fits.ImageHDU(np.arange(12.0).reshape(3, 4))
    image.header["EXPTIME"] = 90.0
    path = tmp_path / "frame.fits"
    fits.HDUList([fits.PrimaryHDU(), table, image]).writeto(path)
    header = read_frame_header(path)
    assert (header["NAXIS2"], header["NAXIS1"], header["EXPTIME"]) == (3, 4, 90.0)
    cube = tmp_path / "cube.fits"
    fits.PrimaryHDU(np.ones((2, 3, 4))).writeto(cube)
    with pytest.raises(GalfitFormatError, match=r"cube.fits: NAXIS: only non-2-D data"):
        read_frame_header(cube)


# --- Detection on the PSF-smoothed frame, local noise, noise-matched and spread windows ---


def gaussian_psf(fwhm, half=12):
    y, x = np.mgrid[-half : half + 1, -half : half + 1]
    return np.exp(-(x**2 + y**2) / (2 * (fwhm / 2.3548200450309493) ** 2))


@pytest.mark.parametrize("fwhm", [3.0, 4.5, 7.0])
def test_psf_fwhm_of_a_gaussian(fwhm):
    # A Gaussian is at or above half its peak within r <= FWHM / 2: the count is the number of
    # lattice points of that disc, whose equal-area diameter approaches the FWHM.
    lattice = sum(1 for y in range(-12, 13) for x in range(-12, 13) if x * x + y * y <= (fwhm / 2) ** 2)
    got = psf_fwhm(7.0 * gaussian_psf(fwhm))
    assert got == pytest.approx(2 * np.sqrt(lattice / np.pi), rel=1e-9)
    assert got == pytest.approx(fwhm, rel=0.2)


def test_psf_fwhm_rejects_empty_psf():
    with pytest.raises(ValueError, match="PSF"):
        psf_fwhm(np.zeros((5, 5)))


def test_detection_finds_faint_point_sources_that_single_pixels_miss():
    # Point sources with peak S/N 2.5 per pixel in white noise: the PSF-matched filter
    # gains about sqrt(4 pi sigma_psf^2) in S/N, a single-pixel 3 sigma cut finds few.
    rng = np.random.default_rng(5)
    psf = gaussian_psf(4.0)
    image = rng.normal(0.0, 1.0, (200, 200))
    centres = [(y, x) for y in range(20, 200, 40) for x in range(20, 200, 40)]
    for y, x in centres:
        image[y - 12 : y + 13, x - 12 : x + 13] += 2.5 * psf
    smoothed, _ = detect_sources(image, psf=psf, nsigma=3.0, min_area=5)
    single, _ = detect_sources(image, nsigma=3.0)
    assert all(smoothed[y, x] for y, x in centres)
    assert sum(single[y, x] for y, x in centres) < len(centres) / 2
    # The same search on the negated noise finds (almost) nothing: few false detections.
    negated, _ = detect_sources(-rng.normal(0.0, 1.0, (200, 200)), psf=psf, nsigma=3.0, min_area=5)
    assert negated.mean() < 0.002


def test_detection_min_area_and_growth():
    image = np.zeros((41, 41))
    image[::2, ::2] = 0.01  # a faint texture so the clipped std is not zero
    image[10, 10] = 100.0  # one hot pixel: an area of 1
    image[28:31, 28:31] = 100.0  # a 3 x 3 source
    mask, _ = detect_sources(image, nsigma=5.0, min_area=5)
    assert not mask[10, 10] and mask[28:31, 28:31].all() and mask.sum() == 9
    grown, _ = detect_sources(image, nsigma=5.0, min_area=5, grow=2.5)
    # Brute force: pixels within 2.5 px of any pixel of the 3 x 3 block.
    yy, xx = np.mgrid[:41, :41]
    near = np.zeros((41, 41), bool)
    for y in range(28, 31):
        for x in range(28, 31):
            near |= (yy - y) ** 2 + (xx - x) ** 2 <= 2.5**2
    np.testing.assert_array_equal(grown, near)


def test_source_mask_defaults_are_single_pixel_threshold():
    rng = np.random.default_rng(1)
    image = rng.normal(10.0, 2.0, (60, 70))
    from astropy.stats import sigma_clipped_stats

    _, med, std = sigma_clipped_stats(image, sigma=3.0, maxiters=5)
    np.testing.assert_array_equal(source_mask(image), image > med + 3.0 * std)


@pytest.mark.parametrize("seed", range(4))
def test_clipped_stats_equal_astropy_to_the_bit(seed):
    """clipped_stats is astropy's sigma_clipped_stats made leaner: the same figures exactly."""
    from astropy.stats import sigma_clipped_stats

    rng = np.random.default_rng(seed)
    for size in (2, 7, 599, 601, 1024, 4000):
        values = rng.normal(3.0, 2.0, size) * 10.0 ** rng.uniform(-2, 3)
        values[rng.integers(0, size, size // 25 + 1)] += rng.uniform(5, 40) * values.std()  # outliers
        for variant in (values, np.round(values), values.astype(np.float32)):
            for clip_sigma, clip_iters in ((3.0, 5), (2.0, 1), (2.5, 10)):
                _, median, std = sigma_clipped_stats(variant, sigma=clip_sigma, maxiters=clip_iters)
                # Non-finite values are left out before clipping.
                got = clipped_stats(np.append(variant, np.array([np.nan, np.inf], variant.dtype)), clip_sigma, clip_iters)
                assert got == (float(median), float(std)), (size, variant.dtype, clip_sigma, clip_iters)


def test_noise_map_matches_numpy_per_box():
    rng = np.random.default_rng(2)
    image = np.concatenate([rng.normal(0, 1.0, (64, 48)), rng.normal(5, 3.0, (64, 48))], axis=1)
    mask = np.zeros(image.shape, bool)
    mask[:16, :] = True  # the first row of boxes fully masked: each takes the box above it
    mask[20:30, 40:60] = True  # partly masked boxes: measured on their unmasked pixels
    # No clipping (clip_sigma huge): each box's value is numpy's std of its unmasked pixels.
    noise = noise_map(image, mask, box=16, clip_sigma=1e6, clip_iters=1)
    for i in range(4):
        for j in range(6):
            block = np.s_[i * 16 : (i + 1) * 16, j * 16 : (j + 1) * 16]
            source = np.s_[max(i, 1) * 16 : (max(i, 1) + 1) * 16, j * 16 : (j + 1) * 16]
            expected = np.std(image[source][~mask[source]])
            np.testing.assert_allclose(noise[block], expected, rtol=1e-12)
    # Clipped: close to the true sigma of each half.
    clipped = noise_map(image, mask, box=16)
    assert np.median(clipped[:, :48]) == pytest.approx(1.0, rel=0.08)
    assert np.median(clipped[:, 48:]) == pytest.approx(3.0, rel=0.08)


def test_noise_map_partial_boxes_and_no_sky():
    image = np.random.default_rng(3).normal(0, 2.0, (37, 45))
    noise = noise_map(image, np.zeros(image.shape, bool), box=16, clip_sigma=1e6, clip_iters=1)
    assert noise.shape == image.shape
    np.testing.assert_allclose(noise[32:, 32:], np.std(image[32:, 32:]), rtol=1e-12)
    # Nothing is sky: no noise, and no window matches it.
    none = noise_map(image, np.ones(image.shape, bool), box=16)
    assert np.isnan(none).all()
    sigma = window_sigma(none, 5, 5)
    assert select_windows(np.zeros(image.shape, bool), (5, 5), (1, 5, 1, 5), sigma=sigma, target_sigma=region_sigma(none, (1, 5, 1, 5)), noise_tolerance=0.5) == []


def test_window_sigma_and_region_sigma_match_brute_force():
    rng = np.random.default_rng(4)
    noise = rng.uniform(1.0, 3.0, (23, 31))
    got = window_sigma(noise, 5, 7)
    expected = np.array([[np.sqrt(np.mean(noise[y : y + 5, x : x + 7] ** 2)) for x in range(25)] for y in range(19)])
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # Region (x1, x2, y1, y2) = (10, 14, 6, 9) grown by (2, 3), clipped to the frame at no edge.
    assert region_sigma(noise, (10, 14, 6, 9), (2, 3)) == pytest.approx(np.sqrt(np.mean(noise[3:11, 6:17] ** 2)))
    assert region_sigma(noise, (1, 3, 1, 2), (5, 5)) == pytest.approx(np.sqrt(np.mean(noise[:7, :8] ** 2)))


def brute_spread(mask, ny, nx, target, margin, contaminant_frac, max_overlap, max_windows, sigma=None, target_sigma=None, tol=None):
    """Plain-loop reference of the farthest-point selection, written from the docstring."""
    h, w = mask.shape
    tx1, tx2, ty1, ty2 = target
    my, mx = margin
    cands = []
    for y0 in range(h - ny + 1):
        for x0 in range(w - nx + 1):
            x1, x2, y1, y2 = x0 + 1, x0 + nx, y0 + 1, y0 + ny
            hits_target = x1 <= tx2 + mx and x2 >= tx1 - mx and y1 <= ty2 + my and y2 >= ty1 - my
            count = int(mask[y0 : y0 + ny, x0 : x0 + nx].sum())
            if tol is not None and not abs(sigma[y0, x0] / target_sigma - 1) <= tol:
                continue
            if not hits_target and count / (ny * nx) < contaminant_frac:
                cands.append((y0, x0, count))
    anchors = [((ty1 + ty2) / 2 - 1, (tx1 + tx2) / 2 - 1)]
    kept = []
    while len(kept) < max_windows:
        free = [(y0, x0, c) for y0, x0, c in cands if all(max(0, nx - abs(x0 - kx)) * max(0, ny - abs(y0 - ky)) / (nx * ny) <= max_overlap for ky, kx in kept)]
        if not free:
            break
        d = {(y0, x0): min(np.hypot(y0 + (ny - 1) / 2 - ay, x0 + (nx - 1) / 2 - ax) for ay, ax in anchors) for y0, x0, _ in free}
        dmax = max(d.values())
        near = [(c, -d[(y0, x0)], y0, x0) for y0, x0, c in free if d[(y0, x0)] >= dmax - min(ny, nx) / 4]
        _, _, y0, x0 = min(near)
        kept.append((y0, x0))
        anchors.append((y0 + (ny - 1) / 2, x0 + (nx - 1) / 2))
    return [(x0 + 1, y0 + 1) for y0, x0 in kept]


@pytest.mark.parametrize("seed", range(5))
def test_spread_selection_matches_brute_force(seed):
    rng = np.random.default_rng(300 + seed)
    h, w = 30 + seed, 41 - seed
    ny, nx = 6, 8
    mask = rng.random((h, w)) < 0.02
    target = (15, 22, 12, 17)
    sigma = rng.uniform(0.9, 1.1, (h - ny + 1, w - nx + 1))
    for tol in (None, 0.05):
        got = select_windows(mask, (ny, nx), target, contaminant_frac=0.05, max_overlap=0.3, max_windows=12, sigma=sigma, target_sigma=1.0, noise_tolerance=tol, spread=True)
        assert [(win.x1, win.y1) for win in got] == brute_spread(mask, ny, nx, target, (ny // 2, nx // 2), 0.05, 0.3, 12, sigma, 1.0, tol)
        assert all(win.sky_sigma == sigma[win.y1 - 1, win.x1 - 1] for win in got)
        if tol is not None:
            assert all(abs(win.sky_sigma - 1.0) <= tol for win in got)


def test_spread_first_window_is_the_far_corner():
    # An empty 100 x 100 frame, target at the lower left: the first window is the top-right corner,
    # the second the corner farthest from both.
    got = select_windows(np.zeros((100, 100), bool), (10, 10), (1, 10, 1, 10), max_windows=3, spread=True)
    assert (got[0].x1, got[0].y1) == (91, 91)
    assert {(got[1].x1, got[1].y1), (got[2].x1, got[2].y1)} == {(1, 91), (91, 1)}


def test_noise_tolerance_needs_target_sigma():
    with pytest.raises(ValueError, match="target_sigma"):
        select_windows(np.zeros((30, 30), bool), (5, 5), (1, 5, 1, 5), sigma=np.ones((26, 26)), noise_tolerance=0.1)


def covered(windows, shape):
    cover = np.zeros(shape, bool)
    for w in windows:
        cover[w.y1 - 1 : w.y2, w.x1 - 1 : w.x2] = True
    return cover.mean()


def test_real_frame_windows_match_target_noise_and_spread(shared):
    """On the DECaLS frame: windows within 5 % of the target's local noise, spread wider than cleanest-first."""
    frame, _ = load_frame(shared("decals-coolj0112", "org_data_example.fits"))
    psf = fits.getdata(shared("decals-coolj0112", "psf_example.fits"))
    mask = source_mask(frame, psf=psf, min_area=5, grow=psf_fwhm(psf))
    noise = noise_map(frame, mask, box=32)
    target = (220, 315, 213, 290)
    tsig = region_sigma(noise, target, (39, 48))
    kw = dict(contaminant_frac=0.1, max_windows=10, sigma=window_sigma(noise, 78, 96), target_sigma=tsig)
    spread = select_windows(mask, (78, 96), target, noise_tolerance=0.05, spread=True, **kw)
    assert len(spread) == 10
    assert all(abs(w.sky_sigma / tsig - 1) <= 0.05 for w in spread)
    cleanest = select_windows(mask, (78, 96), target, noise_tolerance=0.05, spread=False, **kw)
    # Measured: 0.28 vs 0.23 of the frame covered; mean largest overlap with another window 0.02 vs 0.31.
    assert covered(spread, frame.shape) > covered(cleanest, frame.shape) + 0.03
    assert np.mean([max(overlap_fraction(a, b) for b in spread if b is not a) for a in spread]) < 0.1
    assert len({(w.x1 + 48 > 256, w.y1 + 39 > 256) for w in spread}) == 4  # every quadrant
    assert select_windows(mask, (78, 96), target, noise_tolerance=0.05, spread=True, **kw) == spread


def test_spread_order_does_not_depend_on_max_regions():
    # More windows only add to the end, so a larger max_windows keeps every fit already made.
    rng = np.random.default_rng(9)
    mask = rng.random((60, 70)) < 0.01
    few = select_windows(mask, (8, 9), (30, 38, 25, 32), contaminant_frac=0.05, max_windows=4, spread=True)
    more = select_windows(mask, (8, 9), (30, 38, 25, 32), contaminant_frac=0.05, max_windows=9, spread=True)
    assert len(more) == 9 and [w.bounds for w in more[:4]] == [w.bounds for w in few]
