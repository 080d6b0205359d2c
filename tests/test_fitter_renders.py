"""The embedded fitter's model images against GALFIT 3.0.5's own, case by case.

Every ``renders/`` case of the galfit305-renders reference set is a model-only input file
(``A) none``, ``P) 1``) and the ``model.fits`` real GALFIT wrote from it.  ``galfit-embedded``
runs the same file and must give GALFIT's image: rms of the difference at most 0.1 % of the
case's peak, largest difference at most 1 % of the peak, total within 0.5 %.  Cases not met
yet are strict xfails whose reason gives the measured figures.

``python tests/test_fitter_renders.py`` prints the figures of every case.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import DATA  # noqa: E402

from galfit_unc.fitter import cli  # noqa: E402

SET = "galfit305-renders"
RMS_MAX, DIFF_MAX, FLUX_MAX = 1e-3, 1e-2, 5e-3


def _set_root() -> Path | None:
    """The reference set in the repository's test data (None when it is missing)."""
    root = DATA / SET
    return root if (root / "renders").is_dir() else None


def _cases() -> list[str]:
    root = _set_root()
    if root is None:
        return []
    return sorted(p.name for p in (root / "renders").iterdir() if (p / "galfit.feedme").exists())


# Cases whose model differs from GALFIT's today: the measured figures and why.
KNOWN = {
    "mod-fourier-bending-c0": "rms 1.916 %, max 49.85 % of peak, flux -49.85 %: GALFIT's image of C0 + B2 + F1 + F4 is "
    "1.994 times ours at every pixel (ratio 1.990-1.997), i.e. its total is not the magnitude's; the shape matches",
    "psf-example-sersic": "rms 0.053 %, max 1.64 % of peak, flux +0.57 %: the flux is GALFIT's own sampling "
    "of the centre pixel (its no-PSF rule keeps 0.9944 of the exact pixel means, its render 0.9943 of ours); the "
    "shape is not: deconvolved by the PSF, GALFIT's core is placed with sinc-like lobes that end 3-8 pixels from the "
    "centre, ours run on along the core's row and column",
}


def render_case(set_root: Path, case: str, workdir: Path):
    """Run ``galfit-embedded`` on one case in ``workdir``; (status, stderr text, figures or None).

    Figures: rms and largest |difference| as fractions of GALFIT's peak, and the ratio of
    the totals minus 1.
    """
    # The feedme files name the PSFs two folders up: keep that layout.
    for psf in set_root.glob("psf_*.fits"):
        shutil.copy(psf, workdir / psf.name)
    folder = workdir / "renders" / case
    folder.mkdir(parents=True)
    shutil.copy(set_root / "renders" / case / "galfit.feedme", folder / "galfit.feedme")
    here = os.getcwd()
    os.chdir(folder)
    try:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            status = cli.main(["galfit.feedme"])
    finally:
        os.chdir(here)
    if status != 0:
        return status, err.getvalue().strip(), None
    ours = fits.getdata(folder / "model.fits").astype(np.float64)
    ref = fits.getdata(set_root / "renders" / case / "model.fits").astype(np.float64)
    if ours.shape != ref.shape:
        return status, f"shape {ours.shape} != GALFIT's {ref.shape}", None
    peak = np.abs(ref).max()
    diff = ours - ref
    return status, "", (float(np.sqrt(np.mean(diff**2)) / peak), float(np.abs(diff).max() / peak), float(ours.sum() / ref.sum() - 1))


def _figures_text(fig) -> str:
    rms, dmax, dflux = fig
    return f"rms {100 * rms:.3f} %, max {100 * dmax:.2f} % of peak, flux {100 * dflux:+.2f} %"


def _param(case):
    reason = KNOWN.get(case)
    marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)] if reason else []
    return pytest.param(case, marks=marks, id=case)


@pytest.mark.parametrize("case", [_param(c) for c in _cases()])
def test_render_matches_galfit(shared, tmp_path, case):
    status, err, fig = render_case(shared(SET), case, tmp_path)
    assert status == 0, err
    assert fig is not None, err
    rms, dmax, dflux = fig
    assert rms <= RMS_MAX and dmax <= DIFF_MAX and abs(dflux) <= FLUX_MAX, _figures_text(fig)


def test_every_case_is_listed(shared):
    """The parametrisation found the whole set (106 cases) and every xfail names a case."""
    cases = _cases()
    assert len(cases) == 106
    assert set(KNOWN) <= set(cases)


if __name__ == "__main__":
    import tempfile

    root = _set_root()
    for name in _cases():
        with tempfile.TemporaryDirectory() as tmp:
            status, err, fig = render_case(root, name, Path(tmp))
        ok = fig is not None and fig[0] <= RMS_MAX and fig[1] <= DIFF_MAX and abs(fig[2]) <= FLUX_MAX
        print(f"{name}\t{'met' if ok else 'not met'}\t{_figures_text(fig) if fig else err}", flush=True)
