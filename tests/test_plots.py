"""Diagnostic figures are written as real PNG images without touching pyplot."""

import sys

import numpy as np
import pytest
from matplotlib.image import imread

from galfit_unc.plots import magnitude_panels, plot_magnitudes, plot_sky_windows, window_labels
from galfit_unc.skysearch import Window

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def check_png(path):
    assert path.read_bytes()[:8] == PNG_MAGIC
    pixels = imread(path)
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels[..., :3].std() > 0.01  # something was drawn, not a blank canvas
    return pixels


def test_plot_sky_windows(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.normal(0.0, 1.0, (90, 140))
    image[40:45, 60:66] = 50.0
    image[3, 3] = np.nan
    mask = image > 3
    windows = [Window(1, 30, 1, 20, 0.0), Window(100, 129, 60, 79, 0.001)]
    path = tmp_path / "sky.png"
    pyplot_loaded = "matplotlib.pyplot" in sys.modules
    plot_sky_windows(image, mask, windows, (55, 70, 35, 50), path, title="test frame")
    pixels = check_png(path)
    assert pixels.shape[1] > pixels.shape[0]  # follows the frame's aspect ratio
    # The target outline is drawn in red: some strongly red pixels exist.
    red = (pixels[..., 0] > 0.7) & (pixels[..., 1] < 0.4) & (pixels[..., 2] < 0.4)
    assert red.sum() > 20
    assert ("matplotlib.pyplot" in sys.modules) == pyplot_loaded


def _magnitude_inputs():
    rng = np.random.default_rng(1)
    objects = ["1", "2", "3", "4", "5"]
    rows = [{obj: 20.0 + i + rng.normal(0.0, 0.05) for i, obj in enumerate(objects)} for _ in range(25)]
    rows[0]["3"] = np.nan  # a failed re-fit for one object
    del rows[1]["5"]
    original = {obj: 20.0 + i for i, obj in enumerate(objects)}
    stats = {obj: {"median": 20.0 + i, "sigma": 0.05} for i, obj in enumerate(objects)}
    return rows, original, stats


def bars(ax):
    """The histogram's bars (the only BarContainer of a panel)."""
    (container,) = ax.containers
    return list(container)


def test_plot_magnitudes_draws_the_values(tmp_path):
    rows, original, stats = _magnitude_inputs()
    path = tmp_path / "mags.png"
    fig = plot_magnitudes(rows, original, stats, path)
    check_png(path)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title().split(":")[0] for ax in axes] == ["object 1", "object 2", "object 3", "object 4", "object 5"]
    counts = {"1": 25, "2": 25, "3": 24, "4": 25, "5": 24}
    for ax, obj in zip(axes, original):
        assert sum(bar.get_height() for bar in bars(ax)) == counts[obj]
        assert ax.get_ylabel() == "re-fits" and ax.get_xlabel() == "magnitude"
        vertical = [line.get_xdata()[0] for line in ax.get_lines()]
        assert vertical == [original[obj]]  # no truth given: only the original's line
        assert f"({counts[obj]} values)" in ax.get_title() and "σ 0.050" in ax.get_title()
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["re-fits", "median ± σ", "original fit"]


def test_plot_magnitudes_legend_covers_no_bar(tmp_path):
    rows, original, stats = _magnitude_inputs()
    fig = plot_magnitudes(rows, original, stats, tmp_path / "mags.png", truth={obj: m - 0.01 for obj, m in original.items()})
    renderer = fig.canvas.get_renderer()
    legend = fig.legends[0].get_window_extent(renderer)
    for ax in fig.axes:
        if ax.get_visible():
            assert not legend.overlaps(ax.get_window_extent(renderer))
            assert not any(legend.overlaps(bar.get_window_extent(renderer)) for bar in bars(ax))


def test_plot_magnitudes_draws_the_truth_and_says_when_all_fits_are_flagged(tmp_path):
    rows, original, stats = _magnitude_inputs()
    truth = {"1": 19.9, "2": 21.05, "3": 22.0, "4": 23.0, "5": 24.0}
    flagged = {"1": (25, 25), "2": (3, 25), "3": (0, 25), "4": (0, 0), "5": (24, 24)}
    fig = plot_magnitudes(rows, original, stats, tmp_path / "mags.png", truth=truth, flagged=flagged)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    for ax, obj in zip(axes, original):
        dashed = [line.get_xdata()[0] for line in ax.get_lines() if line.get_linestyle() == "--"]
        assert dashed == [truth[obj]]
    notes = {obj: "all" in ax.get_title() for ax, obj in zip(axes, original)}
    assert notes == {"1": True, "2": False, "3": False, "4": False, "5": True}
    assert axes[0].get_title().endswith("all 25 fits flagged")
    assert [t.get_text() for t in fig.legends[0].get_texts()][-1] == "true magnitude"


def test_magnitude_panels_from_the_tables():
    mag_rows = [
        {"window": "original", "status": "original", "flagged_objects": "", "obj_1": 20.0, "obj_2": 21.0},
        {"window": "a", "status": "ok", "flagged_objects": "", "obj_1": 20.1, "obj_2": 21.1},
        {"window": "b", "status": "flagged", "flagged_objects": "2", "obj_1": 20.2, "obj_2": 21.9},
        {"window": "c", "status": "flagged", "flagged_objects": "all", "obj_1": 20.3, "obj_2": 21.8},
        {"window": "d", "status": "failed", "flagged_objects": "", "obj_1": np.nan, "obj_2": np.nan},
    ]
    unc_rows = [{"object": 1.0, "median": 20.2, "sigma": 0.1}, {"object": 2.0, "median": 21.8, "sigma": 0.4}]
    strict = magnitude_panels(mag_rows, unc_rows, use_flagged=False)
    assert strict["rows"] == [{"1": 20.1, "2": 21.1}, {"1": 20.2}, {}]
    assert strict["flagged"] == {"1": (1, 3), "2": (2, 3)}
    assert strict["original"] == {"1": 20.0, "2": 21.0} and strict["stats"]["2"] == {"median": 21.8, "sigma": 0.4}
    assert magnitude_panels(mag_rows, unc_rows, use_flagged=True)["rows"][2] == {"1": 20.3, "2": 21.8}
    with pytest.raises(ValueError, match="u.tsv: rows: 1 objects, magnitudes.tsv has 2"):
        magnitude_panels(mag_rows, unc_rows[:1], use_flagged=True, source="u.tsv")


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


def test_plot_sky_windows_with_noise_panel(tmp_path):
    rng = np.random.default_rng(1)
    image = rng.normal(0.0, 1.0, (90, 140))
    noise = np.ones_like(image)
    noise[:, 70:] = 2.0
    windows = [Window(1, 30, 1, 20, 0.0, 1.0), Window(100, 129, 60, 79, 0.001, 2.0)]
    one, two = tmp_path / "one.png", tmp_path / "two.png"
    plot_sky_windows(image, image > 3, windows, (55, 70, 35, 50), one)
    plot_sky_windows(image, image > 3, windows, (55, 70, 35, 50), two, noise=noise, target_sigma=1.5)
    assert check_png(two).shape[1] > 1.8 * check_png(one).shape[1]
