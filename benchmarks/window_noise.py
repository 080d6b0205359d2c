"""Sky noise of the windows of one or more regions tables against the target's local noise.

Every noise here is measured the same way, whatever mask chose the windows: the clipped
standard deviation (3 sigma, 5 iterations) of the frame's pixels outside one source mask,
``--mask psf`` (the default mask: PSF-matched, 5 pixels, grown by one FWHM) or ``--mask single``
(pixels above 3 clipped sigma, no smoothing or growth).  Reported per table: the median over its
windows, the ratio to the target's local noise (the same statistic over the fitted region
grown by half a window, and over the ring 0-100 px around it), the Spearman correlation of
window noise with the masked fraction, and how many windows fall in each quadrant of the frame.

    python benchmarks/window_noise.py [--mask psf|single] FRAME PSF IMGBLOCK REGIONS.tsv [REGIONS.tsv ...]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np
from astropy.io import fits
from scipy.stats import spearmanr

from galfit_unc.galfit_files import read_fit_header
from galfit_unc.frames import load_frame
from galfit_unc.skysearch import Window, clipped_stats, psf_fwhm, source_mask


def read_windows(path) -> list[Window]:
    """Windows of a regions table, with or without its ``sky_sigma`` column."""
    rows = [line.split("\t") for line in Path(path).read_text().splitlines() if not line.startswith("#")]
    return [Window(*(int(v) for v in row[1:5]), float(row[5])) for row in rows[1:]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("frame")
    parser.add_argument("psf")
    parser.add_argument("imgblock")
    parser.add_argument("tables", nargs="+")
    parser.add_argument("--mask", choices=("psf", "single"), default="psf")
    args = parser.parse_args()
    image, _ = load_frame(args.frame)
    psf = fits.getdata(args.psf)
    mask = source_mask(image, psf=psf, min_area=5, grow=psf_fwhm(psf)) if args.mask == "psf" else source_mask(image)
    sky = np.where(mask, np.nan, image)
    x1, x2, y1, y2 = read_fit_header(args.imgblock).fitsect
    my, mx = (y2 - y1 + 1) // 2, (x2 - x1 + 1) // 2
    h, w = image.shape

    def sigma(region):
        a, b, c, d = region
        return clipped_stats(sky[max(c - 1, 0) : d, max(a - 1, 0) : b], 3.0, 5)[1]

    target = sigma((x1 - mx, x2 + mx, y1 - my, y2 + my))
    yy, xx = np.mgrid[1 : h + 1, 1 : w + 1]
    dist = np.hypot(np.maximum(np.maximum(x1 - xx, xx - x2), 0), np.maximum(np.maximum(y1 - yy, yy - y2), 0))
    ring = clipped_stats(sky[(dist > 0) & (dist <= 100)], 3.0, 5)[1]
    print(f"target (region grown by half a window) {target:.2f}; ring 0-100 px {ring:.2f}; frame {clipped_stats(sky, 3.0, 5)[1]:.2f}")
    print("table\twindows\tmedian sigma\tmedian / target\tspearman(sigma, masked_frac)\tquadrants (left-low, right-low, left-up, right-up)")
    for path in args.tables:
        windows = read_windows(path)
        sig = np.array([sigma(win.bounds) for win in windows])
        rho = spearmanr(sig, [win.masked_frac for win in windows])[0]
        quad = Counter((2 * ((win.y1 + win.y2) / 2 > h / 2) + ((win.x1 + win.x2) / 2 > w / 2)) for win in windows)
        print(f"{path}\t{len(windows)}\t{np.median(sig):.2f}\t{np.median(sig) / target:.3f}\t{rho:+.2f}\t{[quad[k] for k in range(4)]}")


if __name__ == "__main__":
    main()
