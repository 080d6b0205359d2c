"""The demo's "user's fit": a GALFIT input file with perturbed starting values, fitted by
the embedded engine as a user's GALFIT run would be."""

from __future__ import annotations

import math
import shutil
import tempfile
from pathlib import Path

import numpy as np

from galfit_unc import galfit_files as gf
from galfit_unc.fitter.fit import run_galfit

from .scene import sky_component
from .settings import DemoSettings, target_region


def starting_feedme(settings: DemoSettings, components, files: dict) -> gf.Feedme:
    """The user's GALFIT input file: the truth perturbed like a user's first guesses.

    Positions move by ~0.7 px, magnitudes by ~0.3 mag, sizes by ~20 %, Sersic indices by
    ~0.4, axis ratios by ~0.08 and angles by ~10 deg (a seeded stream of its own); the sky
    starts from the true pedestal plus a small offset, its gradients fixed at 0.

    Parameters
    ----------
    files : dict
        File names for A) ``frame``, B) ``imgblock``, D) ``psf`` and G) ``constraints``.
    """
    rng = np.random.default_rng([settings.seed, 1])
    start = []
    for comp in components:
        comp = gf.Component(comp.type, {k: gf.Row(r.key, list(r.values), list(r.toggles), r.text, r.comment) for k, r in comp.rows.items()})
        x, y = comp.rows["1"].values
        comp.rows["1"].values = [x + rng.normal(0, 0.7), y + rng.normal(0, 0.7)]
        comp.rows["3"].values[0] += rng.normal(0, 0.3)
        if comp.type == "sersic":
            comp.rows["4"].values[0] *= math.exp(rng.normal(0, 0.2))
            comp.rows["5"].values[0] = float(np.clip(comp.rows["5"].values[0] + rng.normal(0, 0.4), 0.6, 6.0))
            comp.rows["9"].values[0] = float(np.clip(comp.rows["9"].values[0] + rng.normal(0, 0.08), 0.2, 1.0))
            comp.rows["10"].values[0] += rng.normal(0, 10.0)
        for row in comp.rows.values():  # a user writes a few decimals
            row.values = [round(v, 2) for v in row.values]
        start.append(comp)
    start.append(sky_component(round(settings.sky_level + rng.normal(0, 0.3 * settings.sky_sigma), 2)))
    x1, x2, y1, y2 = target_region(settings)
    control = {
        "A": files["frame"],
        "B": files["imgblock"],
        "C": "none",
        "D": files["psf"],
        "E": "1",
        "F": "none",
        "G": files["constraints"],
        "H": f"{x1} {x2} {y1} {y2}",
        "I": "100 100",
        "J": f"{settings.zeropoint}",
        "K": f"{settings.pixel_scale} {settings.pixel_scale}",
        "O": "regular",
        "P": "0",
    }
    return gf.Feedme(control, start, "fit.gal")


def run_user_fit(feedme: gf.Feedme, inputs: dict, outputs: dict) -> str:
    """Fit ``feedme`` with the embedded engine in a private directory, like a user's GALFIT run.

    Parameters
    ----------
    feedme : Feedme
        The input file; its A), B), D) and G) name files in the working directory.
    inputs : dict
        File name in the feedme -> existing path to stage (frame, PSF, constraints).
    outputs : dict
        ``{"feedme": path, "imgblock": path}``: where the input file and the image block go.

    Returns
    -------
    str
        The fit.log block of the run.
    """

    with tempfile.TemporaryDirectory(prefix="demo-userfit-") as tmp:
        tmp = Path(tmp)
        for name, path in inputs.items():
            shutil.copyfile(path, tmp / name)
        gf.write_feedme(feedme, tmp / "fit.gal", header="GALFIT input file of the demo's user fit (perturbed starting values)")
        outcome = run_galfit("fit.gal", workdir=tmp)
        for key, produced in (("feedme", tmp / "fit.gal"), ("imgblock", outcome.output)):
            Path(outputs[key]).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(produced), str(outputs[key]))
        return outcome.log.read_text()
