"""The workflow's numbers on the shared DECaLS case, with a stand-in engine that measures the
injected pixels (``tests/standins/flux_measure.py``), against values computed here.

One Snakemake run, two rows of the targets table on the same image block, edited so that its
model HDU2 holds a sky plane of 40 ADU with gradients (a sky-in-model block):

* ``cool``: no ``sky_in_model`` column value, so the workflow decides from the residual
  (HDU3 is sky-free: the model holds the sky).  Checked: ``galaxy.fits`` is HDU2 minus the
  plane; every ``sky.fits`` is the frame's window cleaned by the method written out below
  (``cleaning.fill_noise`` off, so the expected window is exact); the re-fits measure the
  windows' own sky (not that plus the plane a second time) and the original magnitudes.
* ``nosky``: ``sky_in_model no``: ``galaxy.fits`` is HDU2 unchanged.
"""

import math

import numpy as np
import pytest
from astropy.io import fits
from astropy.stats import sigma_clipped_stats
from scipy import ndimage

from galfit_unc.tables import read_table
from standins.harness import DECALS, engine, make_workdir, snakemake
from test_workflow_e2e import header_object_mags, objects_of

SKY, DSDX, DSDY = 40.0, 0.05, -0.03
SKY_COMP = 24
BIAS_TOLERANCE = 0.1
CONFIG = {
    "windows": {"max_windows": 3, "min_windows": 2},
    "stats": {"min_ok_windows": 2},
    "cleaning": {"fill_noise": False},
    "mask": {"nsigma": 3, "clip_sigma": 3, "clip_iters": 5},
}


def plane(fitsect_text, shape):
    """GALFIT's sky plane over FITSECT: S + (x - x0) dS/dx + (y - y0) dS/dy, (x0, y0) its centre."""
    x1, x2, y1, y2 = (int(v) for v in fitsect_text.strip("[]").replace(",", ":").split(":"))
    assert shape == (y2 - y1 + 1, x2 - x1 + 1)
    y, x = np.mgrid[y1 : y2 + 1, x1 : x2 + 1].astype(float)
    return SKY + (x - (x1 + x2) / 2) * DSDX + (y - (y1 + y2) / 2) * DSDY


def sky_in_model_block(original, path):
    """The real block with the plane added to HDU2 and written into its header."""
    with fits.open(original) as hdul:
        hdul = fits.HDUList([h.copy() for h in hdul])
    header = hdul[2].header
    assert header[f"COMP_{SKY_COMP}"] == "sky"
    hdul[2].data = (hdul[2].data + plane(header["FITSECT"], hdul[2].data.shape)).astype(np.float32)
    header[f"{SKY_COMP}_SKY"] = f"{SKY} +/- 0.05"
    header[f"{SKY_COMP}_DSDX"] = f"{DSDX} +/- 0.001"
    header[f"{SKY_COMP}_DSDY"] = f"{DSDY} +/- 0.001"
    hdul.writeto(path)
    return path


def cleaned_window(cut, sources, clip_sigma=3.0, clip_iters=5, kernel_sigmas=(8, 4)):
    """A window cleaned as documented, written out independently of the library: the frame
    mask's pixels at the window (and non-finite ones) are replaced by the Gaussian-weighted
    mean of the valid pixels around them (kernel of 8 sigma across, edge pixels repeated
    beyond the border), kernel after kernel; what no kernel reaches gets the median."""
    data = cut.astype(np.float64)
    _, median, std = sigma_clipped_stats(data[np.isfinite(data)], sigma=clip_sigma, maxiters=clip_iters)
    todo = ~np.isfinite(data) | sources
    out = np.where(todo, np.nan, data)
    for sigma in kernel_sigmas:
        empty = np.isnan(out)
        if not empty.any():
            break
        half = int(math.ceil(8 * sigma)) // 2
        d = np.arange(-half, half + 1, dtype=float)
        kernel = np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / (2 * sigma**2))
        weights = ndimage.convolve((~empty).astype(float), kernel, mode="nearest")
        sums = ndimage.convolve(np.where(empty, 0.0, out), kernel, mode="nearest")
        with np.errstate(invalid="ignore", divide="ignore"):
            out = np.where(empty & (weights > 0), sums / weights, out)
    out[np.isnan(out)] = median
    return out, todo, std


def window_plane(image):
    """Least-squares plane (level at the centre, d/dx, d/dy) of an image."""
    ny, nx = image.shape
    y, x = np.mgrid[0:ny, 0:nx].astype(float)
    design = np.stack([np.ones(image.size), (x - (nx - 1) / 2).ravel(), (y - (ny - 1) / 2).ravel()], axis=1)
    return np.linalg.lstsq(design, image.astype(np.float64).ravel(), rcond=None)[0]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("numbers")
    from conftest import shared_path

    block = sky_in_model_block(shared_path("decals-coolj0112", DECALS["imgblock"]), tmp / "block_sky.fits")
    work = make_workdir(tmp / "w", shared_path, {**CONFIG, "fitter": {"engine": "galfit", "galfit": engine(tmp, "flux_measure")}})
    row = {"target": "cool", "band": "z", **{k: str(shared_path("decals-coolj0112", v)) for k, v in DECALS.items()}, "imgblock": str(block)}
    lines = ["\t".join([*row, "sky_in_model"]), "\t".join([*row.values(), ""]), "\t".join([*{**row, "target": "nosky"}.values(), "no"])]
    (work / "targets.tsv").write_text("\n".join(lines) + "\n")
    proc = snakemake(work, "results/cool/z/uncertainties.tsv", "results/nosky/z/galaxy.fits")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return work, block


def results(work, target, *parts):
    return work.joinpath("results", target, "z", *parts)


def windows(work):
    rows, _ = read_table(results(work, "cool", "windows.tsv"))
    return [(r["window"], int(r["x1"]), int(r["x2"]), int(r["y1"]), int(r["y2"])) for r in rows]


def test_galaxy_light_of_a_sky_in_model_block(run):
    work, block = run
    with fits.open(block) as hdul:
        model, fitsect = hdul[2].data.astype(np.float64), hdul[2].header["FITSECT"]
    galaxy = fits.getdata(results(work, "cool", "galaxy.fits"))
    assert fits.getheader(results(work, "cool", "galaxy.fits"))["SKYINMOD"] is True
    assert np.allclose(galaxy, model - plane(fitsect, model.shape), rtol=0, atol=1e-3)
    # Told that HDU2 has no sky, the workflow injects HDU2 as it is.
    assert fits.getheader(results(work, "nosky", "galaxy.fits"))["SKYINMOD"] is False
    assert np.array_equal(fits.getdata(results(work, "nosky", "galaxy.fits")), model)


def test_sky_fits_is_the_cleaned_window(run, shared):
    work, _ = run
    frame = fits.getdata(shared("decals-coolj0112", DECALS["image"])).astype(np.float64)
    # The frame's source mask (tested on its own in test_skysearch) says which pixels to fill.
    mask = fits.getdata(results(work, "cool", "mask.fits")) > 0
    replaced = 0
    for region, x1, x2, y1, y2 in windows(work):
        cut = frame[y1 - 1 : y2, x1 - 1 : x2]
        expected, todo, std = cleaned_window(cut, mask[y1 - 1 : y2, x1 - 1 : x2])
        sky = fits.getdata(results(work, "cool", "windows", region, "sky.fits"))
        assert sky.shape == cut.shape
        assert np.allclose(sky, expected, rtol=1e-6, atol=1e-4 * std), region
        assert fits.getheader(results(work, "cool", "windows", region, "sky.fits"))["FILLFRAC"] == pytest.approx(todo.mean())
        replaced += int((np.abs(cut - expected) > std)[todo].sum())
    # The windows had pixels to clean, so an uncleaned cutout could not pass the check above.
    assert replaced > 0


def test_refits_measure_the_windows_sky_and_the_original_magnitudes(run, shared):
    work, block = run
    params, _ = read_table(results(work, "cool", "parameters.tsv"))
    sky = {r["parameter"]: r for r in params if str(r["component"]).removesuffix(".0") == str(SKY_COMP)}
    regions = windows(work)
    # The blank windows' own sky planes: the injected galaxy light holds no sky.
    planes = np.array([window_plane(fits.getdata(results(work, "cool", "windows", region, "sky.fits"))) for region, *_ in regions])
    assert [sky[key]["value_original"] for key in ("SKY", "DSDX", "DSDY")] == pytest.approx([SKY, DSDX, DSDY])
    for key, expected, tolerance in zip(("SKY", "DSDX", "DSDY"), np.median(planes, axis=0), (0.5, 0.01, 0.01)):
        assert sky[key]["n_used"] == len(regions), key
        assert sky[key]["median"] == pytest.approx(expected, abs=tolerance), key

    unc, _ = read_table(results(work, "cool", "uncertainties.tsv"))
    original = header_object_mags(block, objects_of(shared("decals-coolj0112", DECALS["comp_ident"])))
    assert {str(u["object"]).removesuffix(".0") for u in unc} == set(original)
    for u in unc:
        obj = str(u["object"]).removesuffix(".0")
        assert u["mag_original"] == pytest.approx(original[obj], abs=1e-4), obj
        assert u["n_used"] == len(regions), obj
        assert 0 < u["std"] < 0.3, obj
        assert u["median"] == pytest.approx(original[obj], abs=BIAS_TOLERANCE), obj
