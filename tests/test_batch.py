"""Batches of windows: grouping, the key that decides whether a window is redone, and a
batch run on the shared DECaLS case with a GALFIT-like stand-in engine."""

import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from galfit_unc.batch import file_digest, run_batch, window_key
from galfit_unc.injection import galaxy_light
from galfit_unc.skysearch import batches
from standins.harness import DECALS, engine

SETTINGS = {
    "mask": {"nsigma": 3.0, "clip_sigma": 3.0, "clip_iters": 5},
    "cleaning": {"kernel_sigmas": [8, 4], "fill_noise": True, "seed": 1},
    "fitter": {"engine": "galfit", "galfit": "galfit", "timeout": 60},
}
# Two blank windows of the fitted region's size (96 x 78) on the DECaLS frame.
WINDOWS = [("x0030_y0020", [30, 125, 20, 97]), ("x0400_y0400", [400, 495, 400, 477])]


def test_batches_are_consecutive_groups():
    regions = [f"r{i}" for i in range(7)]
    assert batches(regions, 3) == {"b000": ["r0", "r1", "r2"], "b001": ["r3", "r4", "r5"], "b002": ["r6"]}
    assert batches(regions, 1)["b006"] == ["r6"] and len(batches(regions, 1)) == 7
    assert batches(regions, 10) == {"b000": regions}
    assert batches([], 5) == {}
    with pytest.raises(ValueError, match="batch.windows: 0 is below 1"):
        batches(regions, 0)


def test_window_key_changes_with_what_the_results_depend_on():
    digests = {"image": "a", "psf": "b"}
    key = window_key([1, 96, 1, 78], SETTINGS, digests)
    assert key == window_key((1, 96, 1, 78), json.loads(json.dumps(SETTINGS)), dict(digests))
    cleaning = {**SETTINGS, "cleaning": {**SETTINGS["cleaning"], "seed": 2}}
    others = [
        window_key([2, 97, 1, 78], SETTINGS, digests),
        window_key([1, 96, 1, 78], cleaning, digests),
        window_key([1, 96, 1, 78], SETTINGS, {**digests, "psf": "c"}),
        window_key([1, 96, 1, 78], SETTINGS, {**digests, "sigma": "d"}),
    ]
    assert len({key, *others}) == 5


def test_file_digest_is_of_the_contents(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_bytes(b"x" * 3_000_000)
    b.write_bytes(b"x" * 3_000_000)
    assert file_digest(a) == file_digest(b)
    b.write_bytes(b"x" * 2_999_999 + b"y")
    assert file_digest(a) != file_digest(b)


@pytest.fixture
def case(shared, tmp_path):
    inputs = {k: shared("decals-coolj0112", v) for k, v in DECALS.items() if k != "comp_ident"}
    galaxy = tmp_path / "galaxy.fits"
    fits.writeto(galaxy, galaxy_light(inputs["imgblock"], sky_in_model_flag=True))
    sources = tmp_path / "sources.fits"
    fits.writeto(sources, (fits.getdata(inputs["image"]) > 200).astype(np.uint8))
    settings = {**SETTINGS, "fitter": {**SETTINGS["fitter"], "galfit": engine(tmp_path, "galfit_like")}}
    return {**inputs, "galaxy": galaxy, "sources": sources}, settings, tmp_path


def mtimes(folder):
    return {p.relative_to(folder): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def test_batch_writes_every_window_and_redoes_only_what_is_missing(case, monkeypatch):
    inputs, settings, tmp = case
    monkeypatch.chdir(tmp)
    regions, logs = tmp / "windows", tmp / "logs"
    records = run_batch(WINDOWS, inputs, settings, regions, logs, label="re-fit of test")
    assert [r.window for r in records] == [w[0] for w in WINDOWS]
    assert all(r.status in ("ok", "flagged") for r in records), records
    for (region, (x1, x2, y1, y2)), record in zip(WINDOWS, records):
        folder = regions / region
        assert {"sky.fits", "injected.fits", "fit.gal", "status.json", "done.json", "fit"} <= {p.name for p in folder.iterdir()}
        assert json.loads((folder / "status.json").read_text()) == record.to_json()
        sky = fits.getdata(folder / "sky.fits")
        assert sky.shape == (y2 - y1 + 1, x2 - x1 + 1)
        # The injected window is the cleaned sky plus the galaxy light, pixel by pixel.
        injected = fits.getdata(folder / "injected.fits")
        assert np.allclose(injected, sky + fits.getdata(inputs["galaxy"]), rtol=1e-6, atol=1e-3)
        assert "re-fit of test injected into window " + region in (folder / "fit.gal").read_text()
        assert (logs / f"{region}.log").read_text().strip()

    # Same inputs and settings: nothing is redone.
    before = mtimes(regions)
    assert run_batch(WINDOWS, inputs, settings, regions, logs) == records
    assert mtimes(regions) == before

    # One window lost its record (a job killed after its fit): only that one is redone.
    (regions / WINDOWS[1][0] / "done.json").unlink()
    again = run_batch(WINDOWS, inputs, settings, regions, logs)
    after = mtimes(regions)
    assert all(after[p] == t for p, t in before.items() if p.parts[0] == WINDOWS[0][0])
    status = Path(WINDOWS[1][0], "status.json")
    assert after[status] > before[status]
    assert [r.window for r in again] == [w[0] for w in WINDOWS]

    # A changed setting redoes every window.
    changed = {**settings, "cleaning": {**settings["cleaning"], "seed": 7}}
    run_batch(WINDOWS, inputs, changed, regions, logs)
    final = mtimes(regions)
    assert all(final[p] > after[p] for p in after if p.name == "sky.fits")


def test_bad_window_fails_naming_it_and_keeps_the_windows_before(case, monkeypatch):
    inputs, settings, tmp = case
    monkeypatch.chdir(tmp)
    outside = ("x9000_y9000", [9000, 9095, 9000, 9077])
    with pytest.raises(RuntimeError, match="window x9000_y9000: "):
        run_batch([WINDOWS[0], outside], inputs, settings, tmp / "windows", tmp / "logs")
    assert (tmp / "windows" / WINDOWS[0][0] / "done.json").exists()
    assert not (tmp / "windows" / outside[0] / "done.json").exists()
    assert "Traceback" in (tmp / "logs" / f"{outside[0]}.log").read_text()


def test_window_broken_off_in_a_redo_is_not_done_under_its_old_key(case, monkeypatch):
    inputs, settings, tmp = case
    monkeypatch.chdir(tmp)
    regions, logs = tmp / "windows", tmp / "logs"
    run_batch(WINDOWS[:1], inputs, settings, regions, logs)
    status = regions / WINDOWS[0][0] / "status.json"
    first = status.stat().st_mtime_ns

    def broken_off(*args, **kwargs):
        raise KeyboardInterrupt  # the job killed while this window's files are half rewritten

    changed = {**settings, "cleaning": {**settings["cleaning"], "seed": 3}}
    with monkeypatch.context() as m:
        m.setattr("galfit_unc.batch.process_window", broken_off)
        with pytest.raises(KeyboardInterrupt):
            run_batch(WINDOWS[:1], inputs, changed, regions, logs)
    # Back to the first settings: the window's files may be of neither run, so it is redone.
    run_batch(WINDOWS[:1], inputs, settings, regions, logs)
    assert status.stat().st_mtime_ns > first
