# Stages 3-5 for a batch of windows: cut and clean each window, inject the galaxy light, write
# the re-fit's GALFIT input file and re-fit it with the configured engine.  One job runs
# batch.windows windows in turn (one interpreter start instead of three per window) and still
# writes every window's files and log apart; a window already done with the same inputs and
# settings is kept, so a rerun redoes only what is missing or stale.  A failed fit is data
# (its status.json says why), never a job error.


rule batch:
    input:
        unpack(
            optional(
                "feedme",
                "constraints",
                "mask",
                "sigma",
                windows="results/{target}/{band}/windows.tsv",
                sources="results/{target}/{band}/mask.fits",
                galaxy="results/{target}/{band}/galaxy.fits",
                image=column("image"),
                imgblock=column("imgblock"),
                psf=column("psf"),
                psfs=lambda wc: refit_of(wc)["psfs"],
            )
        ),
    output:
        "results/{target}/{band}/batches/{batch}.json",
    params:
        size=config["batch"]["windows"],
        # The re-fit settings of this run (the headline, or a budget step: rules/refit.smk).
        settings=lambda wc: {**{key: config[key] for key in ("mask", "cleaning", "fitter")}, "refit": refit_of(wc)},
    threads: 1
    resources:
        mem_mb=2000,
        # Every fit may run to its timeout; a retry (a job killed for time) gets more.
        runtime=lambda wildcards, attempt: attempt * (config["batch"]["windows"] * (int(config["fitter"]["timeout"] / 60) + 1) + 5),
    log:
        "logs/{target}/{band}/batches/{batch}.log",
    conda:
        ENV
    script:
        "../workflow_scripts/batch.py"
