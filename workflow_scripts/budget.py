"""Rule budget: budget.tsv, the σ of every object from each cumulative step of the re-fits."""

import json

from galfit_unc.tables import read_table, write_table
from galfit_unc.refit import STEPS, budget_rows

from _common import run


def main(snakemake):
    tables = {step: read_table(snakemake.input[step])[0] for step in STEPS}
    w = snakemake.wildcards
    comments = {"target": w.target, "band": w.band}
    comments.update({f"refit.{key}": json.dumps(value) for key, value in snakemake.params.settings.items()})
    comments["steps"] = "cumulative: sky = sky only (best-fit start, no source noise, the target's PSF); start = + refit.start; source_noise = + the model's photon noise; psf = + refit.psfs (the headline run)"
    for step, name in snakemake.params.fit_sets.items():
        comments[f"fits.{step}"] = "the headline run" if name is None else f"budget/{name}/"
    comments["sigma"] = "the headline sigma column (stats.sigma) of each step's uncertainties.tsv"
    write_table(snakemake.output[0], budget_rows(tables, column="sigma"), ["object", "mag_original", *STEPS], comments)


run(snakemake, main)  # noqa: F821
