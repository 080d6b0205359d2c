"""Sources left in cleaned windows: a PSF-matched search of every ``windows/*/sky.fits`` of a run.

Each cleaned window is smoothed with the PSF and searched at ``--nsigma`` of its own smoothed
clipped sigma, detections of at least 5 pixels counted; the same search on the negated window
counts noise detections.  Printed: windows, sources found, noise detections.

    python benchmarks/cleaned_residuals.py RESULTS_DIR PSF [--nsigma 4]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from astropy.io import fits
from scipy import ndimage

from galfit_unc.skysearch import detect_sources


def count(image, psf, nsigma) -> int:
    """Separate detections (8-connected) of at least 5 pixels, without growth."""
    mask, _ = detect_sources(image, psf=psf, nsigma=nsigma, min_area=5)
    return ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("psf")
    parser.add_argument("--nsigma", type=float, default=4.0)
    args = parser.parse_args()
    psf = fits.getdata(args.psf)
    skies = sorted(args.results.glob("windows/*/sky.fits"))
    found = [count(fits.getdata(p).astype(float), psf, args.nsigma) for p in skies]
    negated = [count(-fits.getdata(p).astype(float), psf, args.nsigma) for p in skies]
    print(f"{args.results}\twindows {len(skies)}\tsources {sum(found)}\tnoise detections {sum(negated)}")


if __name__ == "__main__":
    main()
