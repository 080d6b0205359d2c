# Stage 4: the galaxy light of the original model (once per target), injected into every
# cleaned window, with the re-fit's GALFIT input file.


rule galaxy:
    input:
        unpack(optional("feedme", imgblock=column("imgblock"))),
    output:
        "results/{target}/{band}/galaxy.fits",
    params:
        sky_in_model=lambda wc: row(wc).get("sky_in_model", ""),
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/{target}/{band}/galaxy.log",
    conda:
        "../envs/galfit-unc.yaml"
    script:
        "../workflow_scripts/galaxy.py"


rule inject:
    input:
        unpack(
            optional(
                "feedme",
                sky="results/{target}/{band}/regions/{region}/sky.fits",
                galaxy="results/{target}/{band}/galaxy.fits",
                imgblock=column("imgblock"),
                image=column("image"),
            )
        ),
    output:
        image="results/{target}/{band}/regions/{region}/injected.fits",
        feedme="results/{target}/{band}/regions/{region}/fit.gal",
    params:
        constraints=given("constraints"),
        mask=given("mask"),
        sigma=given("sigma"),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        "logs/{target}/{band}/regions/{region}/inject.log",
    conda:
        "../envs/galfit-unc.yaml"
    script:
        "../workflow_scripts/inject.py"
