"""End to end: the demo with ``demo.seed: 37``, whose user fit is wrong, gets a warning.

With seed 37 the user's fit puts object A's bulge (component 1) in a wrong solution (Re 6.8 px,
n 6.0 at its upper limit, q 0.93; the truth: Re 4.5 px, n 3.5, q 0.85), and A's magnitude is
0.070 mag too bright.  The re-fits, from the default perturbed start, do not return to that
bulge's axis ratio (measured: q 0.71-0.84 at p16-p84), so object A carries a ``warning`` in
uncertainties.tsv.  One real ``snakemake`` run with eight windows and the default
configuration; the same run checks the tables' header, the sky row and the truth line of the
magnitude plot.
"""

import math

import numpy as np
import pytest
import yaml
from astropy.io import fits
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from galfit_unc.tables import read_table
from test_demo_workflow import ROOT, snakemake

WINDOWS = 8


@pytest.fixture(scope="module")
def seed37(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo-seed37")
    (workdir / "config").mkdir()
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["windows"]["max_windows"] = WINDOWS
    config["demo"]["seed"] = 37
    (workdir / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    (workdir / "config" / "targets.tsv").write_text((ROOT / "config" / "targets.tsv").read_text())
    proc = snakemake(workdir)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return workdir / "results" / "demo" / "z"


def test_the_wrong_bulge_is_warned_about(seed37):
    rows, _ = read_table(seed37 / "uncertainties.tsv")
    assert [r["object"] for r in rows] == ["A", "B", "C"]
    warning = rows[0]["warning"]
    # The re-fits do not return to the bulge's shape (component 1); the disc's they do.
    assert isinstance(warning, str), rows[0]
    parts = dict(part.split(": ", 1) for part in warning.split("; "))
    named = parts["original outside p16-p84"].split()
    assert any(name.startswith("1_") for name in named) and not any(name.startswith("2_") for name in named), warning
    # The disc-only objects B and C are reproduced by their re-fits.
    assert not rows[1]["warning"] and not rows[2]["warning"], rows[1:]


def test_sigma_columns_of_every_object(seed37):
    rows, _ = read_table(seed37 / "uncertainties.tsv")
    assert [r["object"] for r in rows] == ["A", "B", "C"]
    mags, _ = read_table(seed37 / "magnitudes.tsv")
    original = next(m for m in mags if m["window"] == "original")
    for r in rows:
        # The default headline: the re-fits' rms about the original magnitude, from magnitudes.tsv.
        refits = np.array([m[f"obj_{r['object']}"] for m in mags if m["status"] in ("ok", "flagged")])
        assert r["sigma"] == pytest.approx(np.sqrt(np.mean((refits - original[f"obj_{r['object']}"]) ** 2)), abs=2e-4), r
        assert r["sigma_lo"] <= r["sigma"] <= r["sigma_hi"], r
        # The table rounds to 4 decimals: the ratio of the rounded values may differ from the
        # rounded ratio by what half a unit in sigma and in sigma_formal allow.
        half = 5e-5
        low = (r["sigma"] - half) / (r["sigma_formal"] + half) - half
        high = (r["sigma"] + half) / (r["sigma_formal"] - half) + half
        assert low <= r["sigma_ratio"] <= high, r


def test_header_names_the_seeds(seed37):
    _, comments = read_table(seed37 / "magnitudes.tsv")
    assert comments["seed"].startswith("demo.seed 37 (demo frame and user fit); cleaning.seed 12345")
    assert "stats.seed 0 (bootstrap of sigma)" in comments["seed"]
    # The user's fit's problems as GALFIT's header records them: a FLAGS 1 or 2 and the values
    # marked *...* (read here from the raw cards), or none.
    raw = fits.getheader(seed37 / "input" / "imgblock.fits", 2)
    flags = sorted(set(str(raw.get("FLAGS", "")).split()) & {"1", "2"})
    suspect = [key for key, value in raw.items() if isinstance(value, str) and value.startswith("*") and key[:1].isdigit()]
    expected = "; ".join(([f"FLAGS {' '.join(flags)}"] if flags else []) + ([f"suspect {' '.join(suspect)}"] if suspect else [])) or "none"
    assert comments["original flags"] == expected


def test_sky_is_recovered_against_each_window(seed37):
    """The sky row compares each re-fit's sky with its own window's level: the median offset
    lies within three standard errors of zero (the offset from the original fit's sky, which
    measures how the windows' levels differ, was -0.21 ADU here)."""
    rows, _ = read_table(seed37 / "parameters.tsv")
    sky = next(r for r in rows if r["parameter"] == "SKY")
    assert sky["n_used"] == WINDOWS
    standard_error = 1.25 * sky["std"] / math.sqrt(sky["n_used"])  # of a median
    assert abs(sky["bias"]) < 3 * standard_error, sky
    assert sky["median"] == sky["bias"]


def test_magnitude_plot_draws_the_truth(seed37):
    pixels = imread(seed37 / "magnitudes.png")[..., :3]
    green = np.all(np.abs(pixels - np.array(to_rgb("tab:green"))) < 0.08, axis=-1)
    # Three dashed truth lines (one per panel) and the legend's sample.
    assert green.sum() > 100
