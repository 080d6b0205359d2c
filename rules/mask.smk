# Stage 1: source mask of the whole frame (detection on the PSF-smoothed frame, grown by about a
# PSF FWHM; the user's bad pixels too).  The same mask is filled when each window is cleaned.


rule mask:
    input:
        unpack(optional("mask", image=column("image"), psf=column("psf"))),
    output:
        "results/{target}/{band}/mask.fits",
    params:
        nsigma=config["mask"]["nsigma"],
        clip_sigma=config["mask"]["clip_sigma"],
        clip_iters=config["mask"]["clip_iters"],
        smooth=config["mask"]["smooth"],
        min_area=config["mask"]["min_area"],
        grow=config["mask"]["grow"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/{target}/{band}/mask.log",
    conda:
        ENV
    script:
        "../workflow_scripts/mask.py"
