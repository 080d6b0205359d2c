"""Rule mask: source mask of the frame (the user's bad pixels included), with its WCS."""

import numpy as np
from astropy.io import fits

from galfit_unc.frames import celestial_wcs, load_frame, read_image_2d
from galfit_unc.skysearch import psf_fwhm, source_mask

from _common import run


def main(snakemake):
    image, header = load_frame(snakemake.input.image)
    bad = None
    if getattr(snakemake.input, "mask", None):
        data, _ = read_image_2d(snakemake.input.mask)
        if data.shape != image.shape:
            raise ValueError(f"{snakemake.input.mask}: shape: {data.shape} differs from the frame's {image.shape}; give the bad-pixel mask of this frame")
        bad = data > 0
    p = snakemake.params
    psf, _ = read_image_2d(snakemake.input.psf)
    fwhm = psf_fwhm(psf)
    smoothing = psf if p.smooth == "psf" else None
    mask = source_mask(image, nsigma=p.nsigma, clip_sigma=p.clip_sigma, clip_iters=p.clip_iters, bad=bad, psf=smoothing, min_area=p.min_area, grow=p.grow * fwhm)
    out = celestial_wcs(header).to_header()
    out["NSIGMA"] = (p.nsigma, "masked above clipped median + NSIGMA * std")
    out["CLIPSIG"] = (p.clip_sigma, "sigma-clipping threshold")
    out["CLIPITER"] = (p.clip_iters, "sigma-clipping iterations")
    out["SMOOTH"] = (p.smooth, "detection image: psf = frame smoothed with the PSF")
    out["MINAREA"] = (p.min_area, "smallest detection kept (pixels)")
    out["PSFFWHM"] = (round(fwhm, 4), "[pixel] FWHM of the PSF")
    out["GROW"] = (round(p.grow * fwhm, 4), "[pixel] radius by which detections are grown")
    fits.PrimaryHDU(mask.astype(np.uint8), header=out).writeto(snakemake.output[0], overwrite=True)
    print(f"PSF FWHM {fwhm:.2f} px; masked fraction {mask.mean():.4f} of {mask.size} pixels")


run(snakemake, main)  # noqa: F821 (snakemake is injected by the script directive)
