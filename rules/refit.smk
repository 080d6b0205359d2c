# How the re-fits replicate the user's fit (config `refit`, code in galfit_unc.refit), and the
# error budget: with refit.budget, every window is also re-fitted with the terms switched on
# one at a time (sky only; + start; + source noise; + PSF = the headline run).  A step whose
# settings equal a later step's reads that step's fits, so a term switched off costs no fits;
# each step's settings are its jobs' params, so a changed value reruns only the steps using it.

from galfit_unc.refit import STEPS, check_refit, fit_sets, header_settings, step_settings

check_refit(config["refit"], TARGETS, ", ".join(map(str, workflow.configfiles)) or "config")


wildcard_constraints:
    variant="|".join(STEPS[:-1]),


def has_feedme(wildcards):
    return bool(row(wildcards).get("feedme"))


def step_of(wildcards):
    """The budget step of a job: its `variant` wildcard, or the headline run."""
    return getattr(wildcards, "variant", STEPS[-1])


def refit_of(wildcards):
    """Params: the re-fit settings the job's fits depend on."""
    return step_settings(config["refit"], step_of(wildcards), has_feedme(wildcards))


def refit_header(wildcards):
    """Params: the `refit.*` lines of the tables' headers."""
    return header_settings(config["refit"], step_of(wildcards), has_feedme(wildcards))


def step_folder(wildcards, name):
    """results/<target>/<band>/ of the headline fits, or budget/<name>/ under it."""
    base = f"results/{wildcards.target}/{wildcards.band}"
    return base if name is None else f"{base}/budget/{name}"


def per_batch_of_step(wildcards):
    """Input function: the record list of every batch of the step's windows."""
    return [path.replace(step_folder(wildcards, None), step_folder(wildcards, wildcards.variant), 1) for path in per_batch(wildcards)]


def budget_inputs(wildcards):
    """Input function: step -> the uncertainties.tsv that step's fits gave."""
    return {step: f"{step_folder(wildcards, name)}/uncertainties.tsv" for step, name in fit_sets(config["refit"], has_feedme(wildcards)).items()}


# Per target: budget.tsv when refit.budget is on.
BUDGET = [f"results/{r['target']}/{r['band']}/budget.tsv" for r in TARGETS] if config["refit"]["budget"] else []


use rule batch as budget_batch with:
    output:
        "results/{target}/{band}/budget/{variant}/batches/{batch}.json",
    log:
        "logs/{target}/{band}/budget/{variant}/batches/{batch}.log",


use rule tables as budget_tables with:
    input:
        regions="results/{target}/{band}/regions.tsv",
        batches=per_batch_of_step,
        imgblock=column("imgblock"),
        comp_ident=column("comp_ident"),
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
        "../envs/galfit-unc.yaml"
    script:
        "../workflow_scripts/budget.py"
