# Stage 4: the galaxy light of the original model (once per target), injected into every
# cleaned window, with the re-fit's GALFIT input file.


rule galaxy:
    input:
        unpack(optional("feedme", imgblock=column("imgblock"))),
    output:
        OUT + "/galaxy.fits",
    params:
        sky_in_model=lambda wc: row(wc).get("sky_in_model", ""),
    log:
        LOGS + "/galaxy.log",
    conda:
        ENV
    script:
        "../workflow_scripts/galaxy.py"


rule inject:
    input:
        unpack(
            optional(
                "feedme",
                sky=REGION + "/sky.fits",
                galaxy=OUT + "/galaxy.fits",
                imgblock=column("imgblock"),
                image=column("image"),
            )
        ),
    output:
        image=REGION + "/injected.fits",
        feedme=REGION + "/fit.gal",
    params:
        constraints=given("constraints"),
        mask=given("mask"),
        sigma=given("sigma"),
    log:
        LOGS + "/regions/{region}/inject.log",
    conda:
        ENV
    script:
        "../workflow_scripts/inject.py"
