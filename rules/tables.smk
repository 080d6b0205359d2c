# Stage 6: magnitudes per region, their statistics per object, and every fitted parameter's
# statistics per component.  The check is a separate rule: Snakemake deletes a failed job's
# outputs, and the tables are the evidence of why there were too few usable fits.


rule tables:
    input:
        regions=OUT + "/regions.tsv",
        status=per_region("status.json"),
        imgblock=column("imgblock"),
        comp_ident=column("comp_ident"),
    output:
        magnitudes=OUT + "/magnitudes.tsv",
        uncertainties=OUT + "/uncertainties.tsv",
        parameters=OUT + "/parameters.tsv",
    params:
        use_flagged=config["stats"]["use_flagged"],
        # Upstream settings, for the tables' header comments.
        engine=config["fitter"]["engine"],
        settings={
            "mask": config["mask"],
            "regions": config["regions"],
            "cleaning": config["cleaning"],
        },
    log:
        LOGS + "/tables.log",
    conda:
        ENV
    script:
        "../workflow_scripts/tables.py"


rule check:
    input:
        OUT + "/uncertainties.tsv",
    output:
        OUT + "/check.txt",
    params:
        min_ok_regions=config["stats"]["min_ok_regions"],
    log:
        LOGS + "/check.log",
    conda:
        ENV
    script:
        "../workflow_scripts/check.py"
