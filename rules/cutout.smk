# Stage 3: cut each window from the frame and clean it of sources.  The window comes in as
# a parameter (not regions.tsv as an input), so reselecting windows redoes only new ones.


rule cutout:
    input:
        image=column("image"),
    output:
        "results/{target}/{band}/regions/{region}/sky.fits",
    params:
        window=region_window,
        nsigma=config["mask"]["nsigma"],
        clip_sigma=config["mask"]["clip_sigma"],
        clip_iters=config["mask"]["clip_iters"],
        kernel_sigmas=config["cleaning"]["kernel_sigmas"],
        fill_noise=config["cleaning"]["fill_noise"],
        seed=config["cleaning"]["seed"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        "logs/{target}/{band}/regions/{region}/cutout.log",
    conda:
        "../envs/galfit-unc.yaml"
    script:
        "../workflow_scripts/cutout.py"


# The user's bad-pixel mask and sigma image of the frame, cut at each window for the re-fit.
rule cutout_aux:
    input:
        lambda wc: row(wc)[wc.kind],
    output:
        "results/{target}/{band}/regions/{region}/{kind}_cut.fits",
    wildcard_constraints:
        kind="mask|sigma",
    params:
        window=region_window,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        "logs/{target}/{band}/regions/{region}/cutout_{kind}.log",
    conda:
        "../envs/galfit-unc.yaml"
    script:
        "../workflow_scripts/cutout_aux.py"
