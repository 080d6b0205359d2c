# Stage 6: magnitudes per window, their statistics per object, and every fitted parameter's
# statistics per component.  The check is a separate rule: Snakemake deletes a failed job's
# outputs, and the tables are the evidence of why there were too few usable fits.

rule tables:
    input:
        unpack(
            optional(
                "feedme",
                batches=per_batch,
                imgblock=column("imgblock"),
                comp_ident=column("comp_ident"),
                image=column("image"),
            )
        ),
    output:
        magnitudes=report("results/{target}/{band}/magnitudes.tsv", caption="../report/magnitudes_table.rst", category="{target}", subcategory="{band}"),
        uncertainties=report("results/{target}/{band}/uncertainties.tsv", caption="../report/uncertainties.rst", category="{target}", subcategory="{band}"),
        parameters="results/{target}/{band}/parameters.tsv",
    params:
        use_flagged=config["stats"]["use_flagged"],
        stats={key: config["stats"][key] for key in ("sigma", "bootstrap", "seed")},
        # The demo's seed names the demo target's frame and fit in the tables' header.
        demo_seed=lambda w: config["demo"]["seed"] if DEMO_OUTPUTS and (w.target, w.band) == ("demo", "z") else None,
        # Upstream settings, for the tables' header comments.
        engine=config["fitter"]["engine"],
        settings=lambda wc: {
            "mask": config["mask"],
            "windows": config["windows"],
            "cleaning": config["cleaning"],
            "refit": refit_header(wc),
        },
    localrule: True
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    log:
        "logs/{target}/{band}/tables.log",
    conda:
        ENV
    script:
        "../workflow_scripts/tables.py"


rule check:
    input:
        uncertainties="results/{target}/{band}/uncertainties.tsv",
        magnitudes="results/{target}/{band}/magnitudes.tsv",
    output:
        "results/{target}/{band}/check.txt",
    params:
        min_ok_windows=config["stats"]["min_ok_windows"],
        use_flagged=config["stats"]["use_flagged"],
    localrule: True
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    log:
        "logs/{target}/{band}/check.log",
    conda:
        ENV
    script:
        "../workflow_scripts/check.py"
