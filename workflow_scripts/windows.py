"""Checkpoint windows: select blank-sky windows of the fitted region's size whose noise matches
the target's; write windows.tsv and the local noise map noise.fits."""

import numpy as np
from astropy.io import fits

from galfit_unc.frames import load_frame
from galfit_unc.galfit_files import read_fit_header
from galfit_unc.skysearch import (
    check_enough,
    clipped_stats,
    noise_map,
    region_sigma,
    select_windows,
    window_sigma,
    write_windows_tsv,
)

from _common import run


def main(snakemake):
    image, _ = load_frame(snakemake.input.image)
    mask_hdu = fits.open(snakemake.input.mask)[0]
    mask = mask_hdu.data > 0
    target = read_fit_header(snakemake.input.imgblock).fitsect
    x1, x2, y1, y2 = target
    shape = (y2 - y1 + 1, x2 - x1 + 1)
    p = snakemake.params
    margin = (shape[0] // 2, shape[1] // 2) if p.target_margin is None else (p.target_margin, p.target_margin)
    noise = noise_map(image, mask, box=p.noise_box, clip_sigma=p.clip_sigma, clip_iters=p.clip_iters)
    target_sigma = region_sigma(noise, target, margin)
    windows = select_windows(
        mask,
        shape,
        target,
        target_margin=p.target_margin,
        contaminant_frac=p.contaminant_frac,
        max_overlap=p.max_overlap,
        max_windows=p.max_windows,
        sigma=window_sigma(noise, *shape),
        target_sigma=target_sigma,
        noise_tolerance=p.noise_tolerance,
        spread=p.spread,
    )
    keys = ("contaminant_frac", "max_overlap", "max_windows", "target_margin", "noise_box", "noise_tolerance", "spread")
    settings = {f"windows.{k}": getattr(p, k) for k in keys}
    print(f"{len(windows)} windows selected with {settings}")
    check_enough(windows, p.min_windows, settings, source=snakemake.input.mask)
    sigmas = np.array([win.sky_sigma for win in windows])
    frame_sigma = clipped_stats(np.where(mask, np.nan, image), p.clip_sigma, p.clip_iters)[1]
    comments = {"target": snakemake.wildcards.target, "band": snakemake.wildcards.band, "fitsect": f"[{x1}:{x2},{y1}:{y2}]"}
    comments.update(settings)
    comments["windows.min_windows"] = p.min_windows
    comments["sky_sigma.target"] = f"{target_sigma:.4g} (noise map over the fitted region grown by {margin[1]} x {margin[0]} px)"
    comments["sky_sigma.windows"] = f"median {np.median(sigmas):.4g}, range {sigmas.min():.4g} to {sigmas.max():.4g}; median / target {np.median(sigmas) / target_sigma:.4f}"
    comments["sky_sigma.frame"] = f"{frame_sigma:.4g} (clipped std of the unmasked frame)"
    write_windows_tsv(windows, snakemake.output.tsv, comments)
    header = mask_hdu.header.copy()
    header["NOISEBOX"] = (p.noise_box, "[pixel] box of the local clipped std")
    header["TGTSIGMA"] = (target_sigma, "local sky noise around the fitted region")
    fits.PrimaryHDU(noise.astype(np.float32), header=header).writeto(snakemake.output.noise, overwrite=True)


run(snakemake, main)  # noqa: F821
