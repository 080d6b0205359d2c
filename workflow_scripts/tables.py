"""Rule tables: magnitudes.tsv, uncertainties.tsv and parameters.tsv from every region's fit."""

from _common import run

STATS = ["n_used", "median", "std", "mad_sigma", "p16", "p84", "bias"]


def main(snakemake):
    import json
    from collections import Counter

    from galfit_unc.galfit_files import read_comp_ident, read_fit_header
    from galfit_unc.injection import pixel_scale
    from galfit_unc.photometry import magnitudes_rows, parameters_rows, uncertainties_rows, write_table
    from galfit_unc.skysearch import load_frame

    original = read_fit_header(snakemake.input.imgblock)
    comp_ident = read_comp_ident(snakemake.input.comp_ident, [c.number for c in original.components])
    records = []
    for path in snakemake.input.batches:
        with open(path) as fh:
            for record in json.load(fh):
                # Only a fit whose block parsed is ok or flagged (the runner judged it so).
                record["header"] = None if record["status"] == "failed" else read_fit_header(record["output"])
                records.append(record)
    use_flagged = snakemake.params.use_flagged
    # The re-fits' K) is the frame's WCS scale; surface-brightness components need it.
    platescale = pixel_scale(load_frame(snakemake.input.image)[1])
    mag_rows = magnitudes_rows(original, records, comp_ident, platescale)
    counts = Counter(r["status"] for r in records)
    used = counts["ok"] + (counts["flagged"] if use_flagged else 0)
    w = snakemake.wildcards
    settings = snakemake.params.settings
    comments = {
        "target": w.target,
        "band": w.band,
        "engine": snakemake.params.engine,
        "seed": settings["cleaning"]["seed"],
        "stats.use_flagged": use_flagged,
        "regions": len(records),
        "ok": counts["ok"],
        "flagged": counts["flagged"],
        "failed": counts["failed"],
        "used": f"{used} ({'ok and flagged' if use_flagged else 'ok only'})",
    }
    for section, values in settings.items():
        for key, value in values.items():
            comments[f"{section}.{key}"] = json.dumps(value)
    objects = [c for c in mag_rows[0] if c.startswith("obj_")]
    write_table(snakemake.output.magnitudes, mag_rows, ["region", "status", "reason", "chi2nu", "engine", *objects], comments)
    write_table(
        snakemake.output.uncertainties,
        uncertainties_rows(mag_rows, use_flagged),
        ["object", "mag_original", *STATS],
        {**comments, "statistics": "std with ddof 1; mad_sigma = 1.4826 MAD; bias = median - mag_original"},
    )
    write_table(
        snakemake.output.parameters,
        parameters_rows(original, records, use_flagged),
        ["component", "type", "parameter", "value_original", *STATS],
        {**comments, "statistics": "as uncertainties.tsv; PA on a 180 degree circle"},
    )
    print(f"{len(records)} regions: {dict(counts)}; {used} used")


run(snakemake, main)  # noqa: F821
