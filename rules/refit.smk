# How the re-fits replicate the user's fit (config `refit`, code in galfit_unc.refit): the
# settings checked before any job, and the params and input functions of the batch, tables
# and budget rules (rules/budget.smk).

from galfit_unc.refit import STEPS, check_refit, fit_sets, header_settings, step_settings

check_refit(config["refit"], TARGETS, ", ".join(map(str, workflow.configfiles)) or "config")


wildcard_constraints:
    variant="|".join(STEPS[:-1]),


def has_feedme(wildcards):
    """Whether the target gives its original input file (the `user` start needs it)."""
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
