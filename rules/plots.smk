# Stage 8: the windows on the frame, and the re-fitted magnitudes per object.


rule plot_sky_regions:
    input:
        image=column("image"),
        mask=OUT + "/mask.fits",
        regions=OUT + "/regions.tsv",
        imgblock=column("imgblock"),
    output:
        OUT + "/sky_regions.png",
    log:
        LOGS + "/plot_sky_regions.log",
    conda:
        ENV
    script:
        "../workflow_scripts/plot_sky_regions.py"


rule plot_magnitudes:
    input:
        magnitudes=OUT + "/magnitudes.tsv",
        uncertainties=OUT + "/uncertainties.tsv",
    output:
        OUT + "/magnitudes.png",
    log:
        LOGS + "/plot_magnitudes.log",
    conda:
        ENV
    script:
        "../workflow_scripts/plot_magnitudes.py"
