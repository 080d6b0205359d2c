"""Model-only runs without data (``A) none`` or a missing image, with ``P) 1`` or ``-o1``).

GALFIT 3.0.5 renders the model of region H) with an exposure time of 1 s and writes B) as
one HDU with its model header; the expected headers are the ones real GALFIT wrote for
the galfit305-renders cases.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from astropy.io import fits

from galfit_unc import galfit_files as gf
from galfit_unc.fitter import cli

SET = "galfit305-renders"
# Flags GALFIT derives from the sigma image it builds out of no data (I-4) or from its
# convergence test on it (2): they depend on uninitialised state, not on the input file.
_DATA_FLAGS = {"I-4", "2"}


def _case(shared, tmp_path, case):
    root = shared(SET)
    for psf in root.glob("psf_*.fits"):
        shutil.copy(psf, tmp_path / psf.name)
    folder = tmp_path / "renders" / case
    folder.mkdir(parents=True)
    shutil.copy(root / "renders" / case / "galfit.feedme", folder / "galfit.feedme")
    return folder, root / "renders" / case / "model.fits"


def _run(monkeypatch, capsys, folder, *args):
    monkeypatch.chdir(folder)
    status = cli.main(["galfit.feedme", *args])
    return status, capsys.readouterr().err


@pytest.mark.parametrize("case", ["type-sky", "type-devauc", "psf-smallbox", "psf-sersic-n1", "core-n4-dx0.25-dy0"])
def test_model_image_header_as_galfit(shared, tmp_path, monkeypatch, capsys, case):
    folder, reference = _case(shared, tmp_path, case)
    status, err = _run(monkeypatch, capsys, folder)
    assert status == 0, err
    with fits.open(folder / "model.fits") as hdul:
        assert len(hdul) == 1
        assert hdul[0].data.dtype.kind == "f" and hdul[0].data.dtype.itemsize == 4
        ours = gf.parse_fit_header(hdul[0].header, "ours")
        assert hdul[0].header["OBJECT"] == "model"
        shape = hdul[0].data.shape
    ref_header = fits.getheader(reference)
    ref = gf.parse_fit_header(ref_header, "galfit")
    assert shape == (ref_header["NAXIS2"], ref_header["NAXIS1"])
    for name in ("fitsect", "convbox", "magzpt", "chisq", "ndof", "nfree", "nfix", "chi2nu", "logfile", "initfile", "datain", "sigma", "psf", "constrnt", "mask"):
        assert getattr(ours, name) == getattr(ref, name), name
    assert ours.flags == [f for f in ref.flags if f not in _DATA_FLAGS]
    assert [c.type for c in ours.components] == [c.type for c in ref.components]
    for a, b in zip(ours.components, ref.components):
        assert [k for k, _ in a.params] == [k for k, _ in b.params]
        for (key, va), (_, vb) in zip(a.params, b.params):
            # GALFIT writes the PA of a model-only run folded into -90..90 (120 -> -60).
            turn = 180.0 if key == "PA" else np.inf
            assert va.kind == vb.kind and np.fmod(va.value - vb.value, turn) == pytest.approx(0, abs=1e-4), key


def test_missing_data_image_renders_model(shared, tmp_path, monkeypatch, capsys):
    """A data image that does not exist is treated like ``A) none`` in a model-only run."""
    folder, reference = _case(shared, tmp_path, "type-sersic-n1")
    feedme = folder / "galfit.feedme"
    feedme.write_text(feedme.read_text().replace("A) none", "A) gone.fits"))
    status, err = _run(monkeypatch, capsys, folder)
    assert status == 0, err
    ours, ref = fits.getdata(folder / "model.fits"), fits.getdata(reference)
    assert np.abs(ours - ref).max() <= 1e-2 * ref.max()
    assert fits.getheader(folder / "model.fits")["DATAIN"] == "gone.fits"


def test_o1_overrides_p0_without_data(shared, tmp_path, monkeypatch, capsys):
    folder, reference = _case(shared, tmp_path, "type-gaussian")
    feedme = folder / "galfit.feedme"
    feedme.write_text(feedme.read_text().replace("P) 1", "P) 0"))
    status, err = _run(monkeypatch, capsys, folder, "-o1")
    assert status == 0, err
    ours, ref = fits.getdata(folder / "model.fits"), fits.getdata(reference)
    assert np.abs(ours - ref).max() <= 1e-2 * ref.max()
    assert not (folder / "galfit.01").exists() and not (folder / "fit.log").exists()


def test_fit_without_data_is_refused(shared, tmp_path, monkeypatch, capsys):
    """Only a model can be made without data: a fit still needs the image."""
    folder, _ = _case(shared, tmp_path, "type-gaussian")
    feedme = folder / "galfit.feedme"
    feedme.write_text(feedme.read_text().replace("P) 1", "P) 0"))
    status, err = _run(monkeypatch, capsys, folder)
    assert status == 1
    assert "A) input image: missing" in err and len(err.strip().splitlines()) == 1
    assert not (folder / "model.fits").exists()
