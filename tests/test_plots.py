"""Diagnostic figures are written as real PNG images without touching pyplot."""

import sys

import numpy as np
import pytest
from matplotlib.image import imread

from galfit_unc.plots import plot_magnitudes, plot_sky_regions, window_labels
from galfit_unc.skysearch import Window

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_png(path):
    assert path.read_bytes()[:8] == PNG_MAGIC
    pixels = imread(path)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels[..., :3].std() > 0.01  # something was drawn, not a blank canvas
    return pixels


def test_plot_sky_regions(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.normal(0.0, 1.0, (90, 140))
    image[40:45, 60:66] = 50.0
    image[3, 3] = np.nan
    mask = image > 3
    windows = [Window(1, 30, 1, 20, 0.0), Window(100, 129, 60, 79, 0.001)]
    path = tmp_path / "sky.png"
    pyplot_loaded = "matplotlib.pyplot" in sys.modules
    plot_sky_regions(image, mask, windows, (55, 70, 35, 50), path, title="test frame")
    pixels = check_png(path)
    assert pixels.shape[1] > pixels.shape[0]  # follows the frame's aspect ratio
    # The target outline is drawn in red: some strongly red pixels exist.
    red = (pixels[..., 0] > 0.7) & (pixels[..., 1] < 0.4) & (pixels[..., 2] < 0.4)
    assert red.sum() > 20
    assert ("matplotlib.pyplot" in sys.modules) == pyplot_loaded


def test_plot_magnitudes(tmp_path):
    rng = np.random.default_rng(1)
    objects = ["1", "2", "3", "4", "5"]
    rows = [{obj: 20.0 + i + rng.normal(0.0, 0.05) for i, obj in enumerate(objects)} for _ in range(25)]
    rows[0]["3"] = np.nan  # a failed re-fit for one object
    del rows[1]["5"]
    original = {obj: 20.0 + i for i, obj in enumerate(objects)}
    stats = {obj: {"median": 20.0 + i, "std": 0.05} for i, obj in enumerate(objects)}
    path = tmp_path / "mags.png"
    plot_magnitudes(rows, original, stats, path)
    check_png(path)


def test_plot_magnitudes_needs_objects(tmp_path):
    with pytest.raises(ValueError, match="no object"):
        plot_magnitudes([], {}, {}, tmp_path / "empty.png")


def test_window_labels_are_ranks_at_centres():
    windows = [Window(1, 30, 1, 20, 0.0), Window(16, 45, 1, 20, 0.0), Window(100, 129, 60, 79, 0.001)]
    assert window_labels(windows) == [(15.5, 10.5, "1"), (30.5, 10.5, "2"), (114.5, 69.5, "3")]


def test_window_labels_stay_apart_when_windows_overlap():
    # Windows sharing up to half their area (the default max_overlap) at every offset along a row:
    # ids written at the top-left corners would overlap; centres are at least half a window apart.
    windows = [Window(1 + 15 * k, 30 + 15 * k, 1 + 3 * k, 20 + 3 * k, 0.0) for k in range(6)]
    centres = np.array([(x, y) for x, y, _ in window_labels(windows)])
    gaps = np.hypot(*(centres[:, None] - centres[None]).transpose(2, 0, 1))
    np.fill_diagonal(gaps, np.inf)
    assert gaps.min() >= 15


def test_plot_sky_regions_with_noise_panel(tmp_path):
    rng = np.random.default_rng(1)
    image = rng.normal(0.0, 1.0, (90, 140))
    noise = np.ones_like(image)
    noise[:, 70:] = 2.0
    windows = [Window(1, 30, 1, 20, 0.0, 1.0), Window(100, 129, 60, 79, 0.001, 2.0)]
    one, two = tmp_path / "one.png", tmp_path / "two.png"
    plot_sky_regions(image, image > 3, windows, (55, 70, 35, 50), one)
    plot_sky_regions(image, image > 3, windows, (55, 70, 35, 50), two, noise=noise, target_sigma=1.5)
    assert check_png(two).shape[1] > 1.8 * check_png(one).shape[1]
