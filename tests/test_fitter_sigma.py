"""GALFIT's internal sigma image, and reading sigma images and bad-pixel masks."""

import numpy as np
import pytest
from astropy.io import fits

from galfit_unc.galfit_files import GalfitFormatError
from galfit_unc.fitter.sigma import internal_sigma, read_mask, read_sigma, sky_statistics

REAL = {
    "decals4": (("decals-coolj0112", "galfit-reruns", "new_skycut_4.fits"),
                ("decals-coolj0112", "galfit-reruns", "new_skycut_4_sigma.fits")),
    "example": (("galfit-examples", "meg-main", "galfit", "galfit-example", "EXAMPLE", "gal.fits"),
                ("galfit-examples", "galfit305-example-run", "sigma.fits")),
}


@pytest.mark.parametrize("name", list(REAL))
def test_reproduces_galfit_305_sigma_images(shared, name):
    data_path, sigma_path = REAL[name]
    with fits.open(shared(*data_path)) as hdul:
        data = hdul[0].data.astype(np.float64)
        header = hdul[0].header
    galfit = fits.getdata(shared(*sigma_path)).astype(np.float64)
    ours = internal_sigma(data, header.get("GAIN", 7.0), header.get("NCOMBINE", 1))
    rel = np.abs(ours / galfit - 1.0)
    # The sky floor sets the chi^2 scale of every fit: it is matched much better than 2 %.
    assert ours.min() == pytest.approx(galfit.min(), rel=0.003)
    assert np.median(rel) <= 0.02
    assert np.percentile(rel, 95) <= 0.05
    # Most pixels sit at the sky floor: check the object pixels on their own too.
    objects = galfit > 1.05 * galfit.min()
    assert objects.sum() > 400
    assert np.percentile(rel[objects], 95) <= 0.05


def test_given_sky_and_rms_with_gain_and_ncombine():
    data = np.full((40, 50), 120.0)
    sigma = internal_sigma(data, gain=2.0, ncombine=5, sky=20.0, skyrms=3.0)
    # (120 - 20) ADU / (GAIN x NCOMBINE) = 10 ADU^2 of Poisson variance over the sky's 9.
    assert np.allclose(sigma, np.sqrt(9.0 + 10.0))
    below = internal_sigma(np.full((10, 10), 5.0), gain=1.0, sky=20.0, skyrms=3.0)
    assert np.allclose(below, 3.0)
    # A sky given by hand without an RMS: Poisson noise of the sky plus read noise.
    rd = internal_sigma(np.full((10, 10), 20.0), gain=2.0, ncombine=1, rdnoise=4.0, sky=20.0)
    assert np.allclose(rd, np.sqrt(20.0 / 2.0 + 16.0 / 4.0))


def test_sky_statistics_ignore_sources_and_masked_pixels():
    rng = np.random.default_rng(3)
    data = rng.normal(100.0, 5.0, (200, 200))
    data[50:60, 50:60] += 400.0  # a bright source
    sky, rms = sky_statistics(data)
    assert sky == pytest.approx(100.0, abs=0.2)
    # The RMS of the clipped pixels, as GALFIT's: a few per cent under the noise's sigma.
    assert 0.93 * 5.0 < rms < 5.0
    mask = np.zeros(data.shape, dtype=bool)
    data[0:20, :] = 1e6
    mask[0:20, :] = True
    assert sky_statistics(data, mask)[0] == pytest.approx(100.0, abs=0.2)


def test_read_sigma_checks_the_size(tmp_path):
    path = tmp_path / "sig.fits"
    fits.writeto(path, np.ones((10, 12), dtype=np.float32))
    assert read_sigma(path, (10, 12)).dtype == np.float64
    with pytest.raises(GalfitFormatError, match=r"sig\.fits: C\) sigma image: size 12x10 differs from the data's 13x10"):
        read_sigma(path, (10, 13))


def test_read_mask_fits_and_ascii(tmp_path):
    img = np.zeros((10, 12))
    img[2, 3] = 1
    img[4, 5] = -1  # not > 0: good
    fits_path = tmp_path / "mask.fits"
    fits.writeto(fits_path, img)
    bad = read_mask(fits_path, (10, 12))
    assert bad.sum() == 1 and bad[2, 3]
    ascii_path = tmp_path / "mask.txt"
    ascii_path.write_text("# x y\n4 3\n12 10\n\n")
    bad = read_mask(ascii_path, (10, 12))
    assert bad.sum() == 2 and bad[2, 3] and bad[9, 11]


@pytest.mark.parametrize(
    "content, message",
    [
        ("13 1\n", r"mask\.txt: F\) mask line 1: pixel \(13, 1\) outside the 12x10 image"),
        ("4 three\n", r"mask\.txt: F\) mask line 1: cannot read"),
    ],
)
def test_read_mask_errors_name_the_file_and_line(tmp_path, content, message):
    path = tmp_path / "mask.txt"
    path.write_text(content)
    with pytest.raises(GalfitFormatError, match=message):
        read_mask(path, (10, 12))


def test_read_mask_wrong_size_and_missing(tmp_path):
    path = tmp_path / "mask.fits"
    fits.writeto(path, np.zeros((9, 12)))
    with pytest.raises(GalfitFormatError, match=r"mask\.fits: F\) mask: size 12x9 differs"):
        read_mask(path, (10, 12))
    with pytest.raises(GalfitFormatError, match="not found"):
        read_mask(tmp_path / "none.fits", (10, 12))
