"""Rule plot_magnitudes: histogram of the re-fitted magnitudes of every object."""

from _common import run


def main(snakemake):
    from galfit_unc.photometry import read_table
    from galfit_unc.plots import plot_magnitudes

    mag_rows, _ = read_table(snakemake.input.magnitudes)
    unc_rows, comments = read_table(snakemake.input.uncertainties)
    objects = [c for c in mag_rows[0] if c.startswith("obj_")]
    if len(objects) != len(unc_rows):
        raise ValueError(f"{snakemake.input.uncertainties}: rows: {len(unc_rows)} objects, magnitudes.tsv has {len(objects)}; re-create the tables")
    # Both tables list the objects in comp_ident order.
    stats = {col[4:]: {"median": r["median"], "std": r["std"]} for col, r in zip(objects, unc_rows)}
    usable = ("ok", "flagged") if comments.get("stats.use_flagged") == "True" else ("ok",)
    original = {col[4:]: mag_rows[0][col] for col in objects}
    rows = [{col[4:]: r[col] for col in objects} for r in mag_rows[1:] if r["status"] in usable]
    plot_magnitudes(rows, original, stats, snakemake.output[0])


run(snakemake, main)  # noqa: F821
