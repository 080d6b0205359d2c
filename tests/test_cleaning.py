"""Cutouts with their WCS, and filling of sources in sky cutouts."""

import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from galfit_unc.frames import celestial_wcs
from galfit_unc.cleaning import clean_cutout, cut_window, write_cleaned
from galfit_unc.frames import load_frame
from galfit_unc.skysearch import Window, window_seed

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

SKY, NOISE = 100.0, 2.0


def sky(shape=(60, 80), seed=0):
    return np.random.default_rng(seed).normal(SKY, NOISE, shape)


def tan_header(shape):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [18.0, -20.9]
    wcs.wcs.crpix = [shape[1] / 2 + 0.5, shape[0] / 2 + 0.5]
    wcs.wcs.cd = [[-7.3e-5, 1.0e-6], [2.0e-6, 7.3e-5]]
    header = wcs.to_header()
    header["WCSDIM"] = 3  # as IRAF writes it for 2-D frames
    header["CTYPE3"] = "LINEAR"
    header["EXPTIME"] = 300.0
    header["OBJECT"] = "frame only"
    return header


def test_celestial_wcs_drops_extra_axis(shared):
    _, header = load_frame(shared("decals-coolj0112", "org_data_example.fits"))
    wcs = celestial_wcs(header)
    assert wcs.naxis == 2
    assert list(wcs.wcs.ctype) == ["RA---TAN", "DEC--TAN"]
    ra, dec = wcs.all_pix2world([[255.5, 255.5]], 0)[0]  # CRPIX 256.5 (1-based)
    assert (ra, dec) == pytest.approx((18.014631271362, -20.891036987305))


@pytest.mark.parametrize("bounds", [(1, 6, 1, 4), (11, 30, 7, 19), (45, 80, 41, 60), (5, 5, 9, 9)])
def test_cut_window_pixels_and_wcs(bounds):
    shape = (60, 80)
    image = np.arange(shape[0] * shape[1], dtype=float).reshape(shape)
    header = tan_header(shape)
    x1, x2, y1, y2 = bounds
    data, cut_header = cut_window(image, header, Window(x1, x2, y1, y2, 0.0))
    np.testing.assert_array_equal(data, image[y1 - 1 : y2, x1 - 1 : x2])
    assert "OBJECT" not in cut_header and "CTYPE3" not in cut_header
    assert cut_header["EXPTIME"] == 300.0

    # A sky position maps to the same pixel value in the frame and in the cutout.
    frame_wcs, cut_wcs = celestial_wcs(header), WCS(cut_header)
    rng = np.random.default_rng(3)
    xs = rng.integers(x1, x2 + 1, 5)
    ys = rng.integers(y1, y2 + 1, 5)
    world = frame_wcs.all_pix2world(np.column_stack([xs, ys]).astype(float), 1)
    cx, cy = np.round(cut_wcs.all_world2pix(world, 1)).astype(int).T
    np.testing.assert_array_equal(data[cy - 1, cx - 1], image[ys - 1, xs - 1])
    np.testing.assert_array_equal(cx, xs - x1 + 1)


def test_cut_window_outside_frame_fails():
    with pytest.raises(Exception, match="(?i)overlap|outside|partial"):
        cut_window(np.zeros((10, 10)), tan_header((10, 10)), Window(5, 14, 1, 4, 0.0))


def test_region_seed_deterministic_and_distinct():
    assert window_seed(42, "x0001_y0001") == window_seed(42, "x0001_y0001")
    seeds = {window_seed(s, r) for s in (1, 2) for r in ("x0001_y0001", "x0001_y0002", "x0002_y0001")}
    assert len(seeds) == 6
    with pytest.raises(ValueError, match="seed"):
        window_seed(-1, "x0001_y0001")


def test_clean_fills_source_with_sky_and_noise():
    data = sky()
    yy, xx = np.mgrid[:60, :80]
    data += 500.0 * np.exp(-((xx - 40) ** 2 + (yy - 30) ** 2) / (2 * 2.0**2))
    cleaned, filled = clean_cutout(data, rng=np.random.default_rng(1))
    assert filled[30, 40] and filled[28:33, 38:43].all()
    inner = filled & ((xx - 40) ** 2 + (yy - 30) ** 2 <= 16)
    assert abs(cleaned[inner].mean() - SKY) < 2 * NOISE
    assert np.all(np.abs(cleaned[filled] - SKY) < 6 * NOISE)
    # Noise of the sky's size in filled pixels: not a flat patch, not inflated.
    assert 0.5 * NOISE < cleaned[inner].std() < 2 * NOISE
    np.testing.assert_array_equal(cleaned[~filled], data[~filled])


def test_clean_does_not_pull_edges_to_zero():
    data = np.full((40, 50), SKY)
    data[15:25, :3] = 5000.0  # bright source on the left border
    data[0, 20:30] = 5000.0  # and one on the bottom row
    data += np.random.default_rng(2).normal(0.0, 0.01, data.shape)  # a sky std to clip with
    cleaned, filled = clean_cutout(data, fill_noise=False)
    assert filled[15:25, :3].all() and filled[0, 20:30].all()
    np.testing.assert_allclose(cleaned[filled], SKY, atol=0.1)


def test_clean_noise_only_in_filled_pixels_and_deterministic():
    data = sky(seed=4)
    data[10:14, 10:14] = np.nan
    data[40, 60] = np.inf
    a, fa = clean_cutout(data, rng=np.random.default_rng(window_seed(7, "x0001_y0001")))
    b, fb = clean_cutout(data, rng=np.random.default_rng(window_seed(7, "x0001_y0001")))
    c, _ = clean_cutout(data, rng=np.random.default_rng(window_seed(7, "x0100_y0001")))
    smooth, fs = clean_cutout(data, fill_noise=False)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fa, fb)
    np.testing.assert_array_equal(fa, fs)
    assert fa[10:14, 10:14].all() and fa[40, 60]
    assert np.isfinite(a).all()
    np.testing.assert_array_equal(a[~fa], data[~fa])
    assert np.all(a[fa] != smooth[fa])
    assert not np.array_equal(a[fa], c[fa])


def test_clean_huge_hole_gets_median():
    data = sky((40, 40), seed=5)
    data[:, 10:] = np.nan  # 30 columns wide: beyond the reach of a sigma-1 kernel (radius 4)
    cleaned, filled = clean_cutout(data, kernel_sigmas=(1,), fill_noise=False)
    assert filled[:, 10:].all()
    assert np.isfinite(cleaned).all()
    far = cleaned[:, 20:]
    assert np.all(far == far[0, 0]) and abs(far[0, 0] - SKY) < 0.5


def test_clean_requires_rng_for_noise():
    with pytest.raises(ValueError, match="rng"):
        clean_cutout(sky())


def test_write_cleaned(tmp_path):
    image = sky()
    data, header = cut_window(image, tan_header(image.shape), Window(3, 22, 5, 14, 0.0))
    path = tmp_path / "clean.fits"
    write_cleaned(path, data, header, 0.0125)
    with fits.open(path) as hdul:
        assert len(hdul) == 1
        assert hdul[0].header["FILLFRAC"] == 0.0125
        assert hdul[0].header["CRPIX1"] == header["CRPIX1"]
        np.testing.assert_allclose(hdul[0].data, data.astype(np.float32))
    with pytest.raises(ValueError, match="FILLFRAC"):
        write_cleaned(path, data, header, 1.5)


def test_clean_fills_exactly_the_given_sources_with_the_window_sigma():
    data = sky((80, 90), seed=8)
    data[5, 5] = np.nan
    sources = np.zeros(data.shape, bool)
    sources[20:50, 30:60] = True  # a large patch: its fill noise is measured on 900 pixels
    data[sources] += 40.0  # light of the source, to be replaced
    cleaned, filled = clean_cutout(data, sources=sources, rng=np.random.default_rng(3))
    expected = sources.copy()
    expected[5, 5] = True
    np.testing.assert_array_equal(filled, expected)
    np.testing.assert_array_equal(cleaned[~filled], data[~filled])
    # Fill noise std within 10 % of the window's clipped sigma (NOISE), around the sky level.
    inner = cleaned[25:45, 35:55]
    assert inner.std() == pytest.approx(NOISE, rel=0.1)
    assert abs(inner.mean() - SKY) < 0.5
    with pytest.raises(ValueError, match="sources: shape"):
        clean_cutout(data, sources=sources[:-1], rng=np.random.default_rng(3))


def test_mask_depth_on_injected_sources_in_real_sky(shared):
    """Faint point sources and discs of known magnitude added to the DECaLS frame: the
    PSF-matched mask removes them to about 0.5 mag fainter than single-pixel detection,
    and leaves a tenth of a bright source's light instead of a third to a half."""
    from cleaning_depth import depth_table

    image, _ = load_frame(shared("decals-coolj0112", "org_data_example.fits"))
    psf = fits.getdata(shared("decals-coolj0112", "psf_example.fits"))
    mags = np.array([22.0, 23.0, 23.5, 24.5])
    table = depth_table(image, psf, 31.169, trials=2, mags=mags)
    point, single = table["point", "psf"], table["point", "single"]
    assert point[23.5][0] >= 0.9 and single[23.5][0] < 0.8
    assert point[22.0][1] < 0.1 and single[22.0][1] > 0.3  # light left beside the mask
    assert point[24.5][0] < 0.3  # the depth is finite: faint sources stay
    disc, disc_single = table["disc", "psf"], table["disc", "single"]
    assert disc[22.0][0] >= 0.9 and disc_single[22.0][0] < 0.8
