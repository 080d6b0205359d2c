"""Rule fit: run the engine on one injected window; always write the status record."""

from _common import run


def main(snakemake):
    import json
    import os

    from galfit_unc.runner import STAGE_NAMES, run_fit

    staged = {STAGE_NAMES[k]: getattr(snakemake.input, k) for k in ("image", "psf", "constraints", "mask", "sigma") if getattr(snakemake.input, k, None)}
    p = snakemake.params
    record = run_fit(
        snakemake.input.feedme,
        snakemake.output.fitdir,
        engine=p.engine,
        galfit_exe=p.galfit,
        timeout=p.timeout,
        threads=snakemake.threads,
        inputs=staged,
    )
    record = {"region": snakemake.wildcards.region, **record}
    print(json.dumps(record, indent=1))
    tmp = snakemake.output.status + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(record, fh, indent=1)
        fh.write("\n")
    os.replace(tmp, snakemake.output.status)


run(snakemake, main)  # noqa: F821
