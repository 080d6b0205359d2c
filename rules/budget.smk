# The error budget: with refit.budget, every window is also re-fitted with the terms switched
# on one at a time (sky only; + start; + source noise; + PSF = the headline run).  A step whose
# settings equal a later step's reads that step's fits, so a term switched off costs no fits;
# each step's settings are its jobs' params, so a changed value reruns only the steps using it.


use rule batch as budget_batch with:
    output:
        "results/{target}/{band}/budget/{variant}/batches/{batch}.json",
    log:
        "logs/{target}/{band}/budget/{variant}/batches/{batch}.log",


use rule tables as budget_tables with:
    input:
        unpack(
            optional(
                "feedme",
                batches=per_batch_of_step,
                imgblock=column("imgblock"),
                comp_ident=column("comp_ident"),
                image=column("image"),
            )
        ),
    output:
        magnitudes="results/{target}/{band}/budget/{variant}/magnitudes.tsv",
        uncertainties="results/{target}/{band}/budget/{variant}/uncertainties.tsv",
        parameters="results/{target}/{band}/budget/{variant}/parameters.tsv",
    log:
        "logs/{target}/{band}/budget/{variant}/tables.log",


rule budget:
    input:
        unpack(budget_inputs),
    output:
        "results/{target}/{band}/budget.tsv",
    params:
        settings=lambda wc: header_settings(config["refit"], STEPS[-1], has_feedme(wc)),
        fit_sets=lambda wc: fit_sets(config["refit"], has_feedme(wc)),
    localrule: True
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    log:
        "logs/{target}/{band}/budget.log",
    conda:
        ENV
    script:
        "../workflow_scripts/budget.py"
