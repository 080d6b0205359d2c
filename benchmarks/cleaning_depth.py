"""Depth of the source mask: inject faint sources of known magnitude into a real frame and
count how many the mask removes.

Point sources (the PSF) and round exponential discs (Re = 3 px, convolved with the PSF) are
added on a grid of positions that the frame's own mask leaves free, one magnitude each
drawn from ``--mags``; a source counts as removed when the mask covers its centre pixel,
and the light the mask leaves uncovered (within 10 px) is reported as ``residual``.  Two
detections are compared: ``single`` (pixels above 3 clipped sigma of the raw frame, no
growth) and ``psf`` (the workflow's default: the frame smoothed with the PSF, 3 sigma,
at least 5 pixels, grown by one PSF FWHM).

    python benchmarks/cleaning_depth.py FRAME PSF --zeropoint 31.169 [--trials 4]
"""

from __future__ import annotations

import argparse

import numpy as np
from astropy.io import fits
from scipy import signal

from galfit_unc.frames import load_frame
from galfit_unc.skysearch import psf_fwhm, source_mask

MAGS = np.arange(22.0, 26.01, 0.25)
DETECTIONS = {
    "single": lambda image, psf: source_mask(image),
    "psf": lambda image, psf: source_mask(image, psf=psf, min_area=5, grow=psf_fwhm(psf)),
}


def source_stamp(kind: str, psf) -> np.ndarray:
    """Unit-flux image of a point source (the PSF) or of an exponential disc of Re = 3 px."""
    psf = np.asarray(psf, dtype=np.float64) / np.sum(psf)
    if kind == "point":
        return psf
    r = np.hypot(*np.mgrid[-15:16, -15:16])
    disc = np.exp(-1.678 * r / 3.0)  # b_1 = 1.678: half the light inside Re
    stamp = signal.fftconvolve(disc / disc.sum(), psf, mode="same")
    return stamp / stamp.sum()


def injection_trial(image, psf, kind, zeropoint, mags, rng, spacing=24):
    """Frame with sources added on a grid clear of the frame's own mask.

    Returns
    -------
    frame : ndarray
    model : ndarray
        The added light alone.
    sources : list of (y, x, mag)
        0-based centre pixel and magnitude of every source.
    """
    own = DETECTIONS["psf"](image, psf)
    h, w = image.shape
    ys, xs = np.mgrid[20 : h - 20 : spacing, 20 : w - 20 : spacing]
    sources = [(y, x) for y, x in zip(ys.ravel(), xs.ravel()) if not own[y - 8 : y + 9, x - 8 : x + 9].any()]
    m = rng.choice(mags, size=len(sources))
    points = np.zeros_like(image)
    for (y, x), mag in zip(sources, m):
        points[y, x] = 10 ** (-0.4 * (mag - zeropoint))
    model = signal.fftconvolve(points, source_stamp(kind, psf), mode="same")
    return image + model, model, [(y, x, mag) for (y, x), mag in zip(sources, m)]


def removal(frame_mask, model, sources) -> list[tuple[float, bool, float]]:
    """Per source: magnitude, whether its centre is masked, fraction of its light left unmasked."""
    rows = []
    for y, x, mag in sources:
        cut = np.s_[y - 10 : y + 11, x - 10 : x + 11]
        light = model[cut]
        rows.append((mag, bool(frame_mask[y, x]), float((light * ~frame_mask[cut]).sum() / light.sum())))
    return rows


def depth_table(image, psf, zeropoint, trials=4, mags=MAGS) -> dict:
    """(kind, detection) -> {mag: (removed fraction, mean residual fraction, n)}."""
    table = {}
    for kind in ("point", "disc"):
        rows = {name: [] for name in DETECTIONS}
        for trial in range(trials):
            frame, model, sources = injection_trial(image, psf, kind, zeropoint, mags, np.random.default_rng(trial))
            for name, detect in DETECTIONS.items():
                rows[name] += removal(detect(frame, psf), model, sources)
        for name, got in rows.items():
            got = np.array(got)
            table[kind, name] = {mag: (got[got[:, 0] == mag, 1].mean(), got[got[:, 0] == mag, 2].mean(), int((got[:, 0] == mag).sum())) for mag in mags}
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frame")
    parser.add_argument("psf")
    parser.add_argument("--zeropoint", type=float, required=True)
    parser.add_argument("--trials", type=int, default=4)
    args = parser.parse_args()
    image, _ = load_frame(args.frame)
    table = depth_table(image, fits.getdata(args.psf), args.zeropoint, args.trials)
    print("mag\t" + "\t".join(f"{kind}/{name} removed\tresidual" for kind, name in table))
    for mag in MAGS:
        print(f"{mag:.2f}\t" + "\t".join(f"{table[key][mag][0]:.2f}\t{table[key][mag][1]:.2f}" for key in table))


if __name__ == "__main__":
    main()
