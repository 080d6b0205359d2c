"""The noise cleaning adds to filled pixels has the window's own sigma, within 10 %.

The window is Gaussian sky of known sigma with a large source (1600 pixels) to fill, so the
standard deviation of the added noise is known to about 2 %.  Cleaning the same window with
and without noise isolates the noise: the interpolated values are the same in both."""

import numpy as np
import pytest

from galfit_unc.cleaning import clean_cutout

SIGMA, LEVEL = 5.0, 100.0


@pytest.fixture
def window():
    rng = np.random.default_rng(42)
    data = rng.normal(LEVEL, SIGMA, (120, 120))
    data[40:80, 30:70] += 500.0
    return data


def test_fill_noise_has_the_windows_sigma(window):
    smooth, filled = clean_cutout(window, fill_noise=False)
    noisy, filled_again = clean_cutout(window, fill_noise=True, rng=np.random.default_rng(7))
    assert np.array_equal(filled, filled_again)
    assert filled[40:80, 30:70].all() and 1600 <= filled.sum() < 1700
    noise = (noisy - smooth)[filled]
    assert noise.std(ddof=1) == pytest.approx(SIGMA, rel=0.10)
    assert abs(noise.mean()) < 3 * SIGMA / np.sqrt(noise.size)
    # Sky pixels are kept as they were.
    assert np.array_equal(noisy[~filled], window[~filled])


def test_filled_pixels_follow_the_local_sky():
    # A sky rising by 1 per column: a hole is filled with the level around it (the plane), not
    # with the window's median.
    y, x = np.mgrid[0:80, 0:120].astype(float)
    data = 100.0 + x + np.random.default_rng(5).normal(0.0, 0.5, x.shape)
    data[30:40, 90:100] += 1000.0
    cleaned, filled = clean_cutout(data, fill_noise=False)
    assert filled[30:40, 90:100].all()
    assert np.abs(cleaned[30:40, 90:100] - (100.0 + x[30:40, 90:100])).max() < 3.0
