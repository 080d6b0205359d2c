"""Rule check: fail, with the reason, when too few re-fits are usable (the tables stay)."""

from _common import run


def main(snakemake):
    from galfit_unc.photometry import read_table

    path = snakemake.input[0]
    rows, _ = read_table(path)
    n_used = min((int(r["n_used"]) for r in rows), default=0)
    need = snakemake.params.min_ok_regions
    if n_used < need:
        raise RuntimeError(
            f"{path}: n_used: only {n_used} usable re-fits, stats.min_ok_regions is {need}; "
            "magnitudes.tsv says why the others failed — raise regions.max_regions, relax regions.max_overlap "
            "or regions.contaminant_frac, or set stats.use_flagged: true"
        )
    with open(snakemake.output[0], "w") as fh:
        fh.write(f"ok: {n_used} usable re-fits per object (stats.min_ok_regions {need})\n")


run(snakemake, main)  # noqa: F821
