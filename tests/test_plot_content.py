"""What the figures show: the data drawn by their artists, not only that a PNG was written.

Each plotting function is run as the workflow runs it; the figure it saves is captured when
it is saved, and its artists are read back: the frame and mask drawn, each window's outline,
and per object the histogram's values, the original magnitude and the median +/- sigma band.
Labels, titles and colours are not checked here (they are style)."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from galfit_unc.plots import plot_magnitudes, plot_sky_windows
from galfit_unc.skysearch import Window


@pytest.fixture
def saved(monkeypatch):
    """The figures saved while the test runs (they are still written)."""
    figures = []
    original = Figure.savefig

    def record(self, *args, **kwargs):
        figures.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    return figures


def histogram_bars(ax):
    """The bars of the axes' histograms."""
    return [bar for container in ax.containers for bar in container]


def x_span(patch):
    """(x min, x max) of a patch in data coordinates."""
    ext = patch.get_path().transformed(patch.get_patch_transform()).get_extents()
    return ext.x0, ext.x1


def test_sky_windows_draws_the_frame_the_mask_and_every_window(tmp_path, saved):
    rng = np.random.default_rng(3)
    image = rng.normal(10.0, 1.0, (90, 140))
    mask = np.zeros(image.shape, bool)
    mask[40:45, 60:66] = True
    windows = [Window(1, 30, 1, 20, 0.0), Window(100, 129, 60, 79, 0.001), Window(35, 64, 5, 24, 0.002)]
    target = (55, 70, 35, 50)
    plot_sky_windows(image, mask, windows, target, tmp_path / "sky.png")
    (fig,) = saved
    (ax,) = [a for a in fig.axes if a.images]
    frame, overlay = ax.images
    assert np.array_equal(frame.get_array(), image)
    # The mask layer is opaque exactly on the masked pixels.
    alpha = np.asarray(overlay.get_array())[..., 3]
    assert np.array_equal(alpha > 0, mask)
    # Outlines along the outer pixel edges of every window and of the fitted region, in
    # GALFIT's 1-based pixels: x from x1 - 0.5 to x2 + 0.5.
    outlines = sorted(
        (round(p.get_x() + 0.5), round(p.get_x() + p.get_width() - 0.5), round(p.get_y() + 0.5), round(p.get_y() + p.get_height() - 0.5))
        for p in ax.patches
        if isinstance(p, Rectangle)
    )
    assert outlines == sorted([w.bounds for w in windows] + [target])
    # Each window numbered at its centre by its rank in the regions table.
    labels = {(round(t.get_position()[0], 1), round(t.get_position()[1], 1), t.get_text()) for t in ax.texts}
    assert labels >= {((w.x1 + w.x2) / 2, (w.y1 + w.y2) / 2, str(k)) for k, w in enumerate(windows, 1)}


def test_magnitudes_histograms_hold_each_objects_refits(tmp_path, saved):
    rng = np.random.default_rng(1)
    objects = ["1", "2", "3"]
    rows = [{obj: 20.0 + 2 * i + rng.normal(0.0, 0.05) for i, obj in enumerate(objects)} for _ in range(25)]
    rows[0]["2"] = np.nan  # a failed re-fit for one object
    del rows[1]["3"]
    original = {"1": 19.9, "2": 22.1, "3": 24.05}
    stats = {obj: {"median": 20.0 + 2 * i, "std": 0.05 + 0.01 * i, "sigma": 0.05 + 0.01 * i} for i, obj in enumerate(objects)}
    plot_magnitudes(rows, original, stats, tmp_path / "mags.png")
    (fig,) = saved
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == len(objects)
    for ax, obj in zip(axes, objects):
        values = np.array([r.get(obj, np.nan) for r in rows])
        values = values[np.isfinite(values)]
        bars = histogram_bars(ax)
        # Every finite re-fit in a bar, and the bars span exactly the values' range.
        assert sum(b.get_height() for b in bars) == values.size, obj
        assert min(x_span(b)[0] for b in bars) == pytest.approx(values.min()), obj
        assert max(x_span(b)[1] for b in bars) == pytest.approx(values.max()), obj
        # The original magnitude as a vertical line.
        assert any(np.allclose(line.get_xdata(), original[obj]) for line in ax.lines), obj
        # The median +/- sigma band.
        bands = [x_span(p) for p in ax.patches if p not in bars]
        med, std = stats[obj]["median"], stats[obj]["sigma"]
        assert any(lo == pytest.approx(med - std) and hi == pytest.approx(med + std) for lo, hi in bands), (obj, bands)
