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
