# Stage 1: source mask of the whole frame (sigma-clipped statistics; the user's bad pixels too).


rule mask:
    input:
        unpack(optional("mask", image=column("image"))),
    output:
        "results/{target}/{band}/mask.fits",
    params:
        nsigma=config["mask"]["nsigma"],
        clip_sigma=config["mask"]["clip_sigma"],
        clip_iters=config["mask"]["clip_iters"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/{target}/{band}/mask.log",
    conda:
        "../envs/galfit-unc.yaml"
    script:
        "../workflow_scripts/mask.py"
