#!/usr/bin/env bash
# Runs in the new conda environment after Snakemake made it (--software-deployment-method
# conda): installs the package galfit_unc from the workflow's own source tree (editable, so that
# it finds the schemas under config/ beside it), which the
# Snakefile names in GALFIT_UNC_SOURCE (Snakemake runs this script from a copy).
set -euo pipefail
python -m pip install --no-deps --quiet --editable "${GALFIT_UNC_SOURCE:?run through the workflow's Snakefile}"
