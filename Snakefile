# galfit-unc: systematic uncertainties of a GALFIT model by injection into blank sky windows
# of the same frame.  Stages (one per rules/*.smk): mask -> windows (checkpoint) -> galaxy ->
# batch (per window: cutout -> inject -> fit) -> tables (+ check), regfile and plots; with refit.budget, batches and
# tables again per budget step -> budget.tsv (rules/budget.smk).  See the README for inputs, config keys and
# outputs; `snakemake --dag | dot -Tsvg > dag.svg` draws the graph (`dot` is Graphviz's:
# `apt install graphviz` or `conda install -c conda-forge graphviz`).

import os

from snakemake.utils import min_version, validate

from galfit_unc.preflight import check_engine
from galfit_unc.config import check_config, coerce_config

min_version("9.0")


# Every key has a default in the schema: without config/config.yaml in the working directory
# (or a --configfile), the defaults run the targets table config/targets.tsv.
if os.path.exists("config/config.yaml"):

    configfile: "config/config.yaml"


# Values from `--config` typed by the schema, then one line naming the file and key of the
# first problem; Snakemake's validate then fills the defaults of every key not set.
coerce_config(config, f"{workflow.basedir}/config/schemas/config.schema.yaml")
CONFIG_SOURCE = ", ".join(map(str, workflow.configfiles)) or "config"
check_config(config, f"{workflow.basedir}/config/schemas/config.schema.yaml", CONFIG_SOURCE)
validate(config, "config/schemas/config.schema.yaml")

# The engine can be started (fitter.galfit) before any job needs it.
check_engine(config["fitter"], CONFIG_SOURCE)

# The rules' conda environment installs the package from this source tree (its post-deploy script).
os.environ.update(GALFIT_UNC_SOURCE=workflow.basedir)


include: "rules/common.smk"
include: "rules/demo.smk"
include: "rules/mask.smk"
include: "rules/windows.smk"
include: "rules/galaxy.smk"
include: "rules/batch.smk"
include: "rules/tables.smk"
include: "rules/regfile.smk"
include: "rules/plots.smk"
include: "rules/summary.smk"
include: "rules/refit.smk"
include: "rules/budget.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
        SUMMARY,
        BUDGET,


# Every rule is known now: a file of the targets table must exist or be made by one.
check_target_files()
