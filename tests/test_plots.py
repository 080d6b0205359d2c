"""Diagnostic figures are written as real PNG images without touching pyplot."""

import sys

import numpy as np
import pytest
from matplotlib.image import imread

from galfit_unc.plots import plot_magnitudes, plot_sky_regions
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
