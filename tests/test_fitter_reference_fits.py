"""The embedded fitter on the seven fits GALFIT 3.0.5 made of noisy renders (galfit305-renders
``fits/``): same input file, same start; the final chi^2 at most 1 % above GALFIT's and every
free parameter within twice GALFIT's formal error of GALFIT's value.

``python tests/test_fitter_reference_fits.py`` prints the figures of every case.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_fitter_renders import SET, _set_root  # noqa: E402

from galfit_unc import galfit_files as gf  # noqa: E402
from galfit_unc.fitter.fit import FitError, run_galfit  # noqa: E402

CASES = ("fit-bulge-disk-psf", "fit-edgedisk", "fit-ferrer", "fit-king", "fit-nuker", "fit-sersic-bending", "fit-sersic-fourier")
# Cases not met today: the measured figures and why.
KNOWN = {
    "fit-bulge-disk-psf": "chi2 0.9964 x GALFIT's, bulge Re 6.0 and disc mag 3.9 of GALFIT's errors off: the "
    "compact bulge is unconstrained (our chi2 at GALFIT's answer is 0.05 above our minimum, Re 2.4 vs 1.08)",
}


def fit_case(set_root: Path, case: str, workdir: Path):
    """Fit one case in ``workdir``; returns (our header, GALFIT's header)."""
    for psf in set_root.glob("psf_*.fits"):
        shutil.copy(psf, workdir / psf.name)
    folder = workdir / "fits" / case
    folder.mkdir(parents=True)
    for name in ("galfit.feedme", "data.fits"):
        shutil.copy(set_root / "fits" / case / name, folder / name)
    outcome = run_galfit("galfit.feedme", workdir=folder)
    return gf.read_fit_header(outcome.output), gf.read_fit_header(set_root / "fits" / case / "imgblock.fits")


def _fourier_delta(key, ours, theirs):
    """Difference of a Fourier amplitude or phase after folding (-a, phi) onto
    (a, phi + 180/m) and phases modulo 360/m: the same mode written two ways."""
    mode = re.match(r"F(\d+)", key)[0]
    m = int(mode[1:])

    def canonical(comp):
        a, phi = comp[mode].value, comp[mode + "PA"].value
        if a < 0:
            a, phi = -a, phi + 180.0 / m
        return a, phi

    (a1, p1), (a2, p2) = canonical(ours), canonical(theirs)
    if key.endswith("PA"):
        period = 360.0 / m
        return (p1 - p2 + period / 2) % period - period / 2
    return a1 - a2


def compare(ours, theirs):
    """chi^2 ratio and, per free parameter, |ours - GALFIT's| / GALFIT's error (worst first)."""
    far = []
    for a, b in zip(ours.components, theirs.components):
        for key, vb in b.params:
            if vb.kind == "fixed":
                continue
            va = a[key]
            delta = va.value - vb.value
            if key == "PA":
                delta = (delta + 90.0) % 180.0 - 90.0
            elif re.fullmatch(r"F\d+(PA)?", key):
                delta = _fourier_delta(key, a, b)
            far.append((abs(delta) / vb.error if vb.error else float("inf"), f"{b.number}_{key}"))
    return ours.chisq / theirs.chisq, sorted(far, reverse=True)


def _param(case):
    reason = KNOWN.get(case)
    marks = [pytest.mark.xfail(strict=True, raises=(AssertionError, FitError), reason=reason)] if reason else []
    return pytest.param(case, marks=marks, id=case)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_fit_as_good_as_galfit(shared, tmp_path, case):
    ours, theirs = fit_case(shared(SET), case, tmp_path)
    assert [c.type for c in ours.components] == [c.type for c in theirs.components]
    ratio, far = compare(ours, theirs)
    assert ratio <= 1.01, f"chi2 {ratio:.4f} x GALFIT's"
    assert far[0][0] <= 2.0, far[:3]


if __name__ == "__main__":
    import tempfile

    root = _set_root()
    for name in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                ours, theirs = fit_case(root, name, Path(tmp))
            except FitError as exc:
                print(f"{name}\trefused: {exc}", flush=True)
                continue
        ratio, far = compare(ours, theirs)
        worst = ", ".join(f"{key} {v:.2f}" for v, key in far[:3])
        print(f"{name}\tchi2 {ratio:.4f} x GALFIT's; worst |diff|/GALFIT's error: {worst}", flush=True)
