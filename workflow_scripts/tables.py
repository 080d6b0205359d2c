"""Rule tables: magnitudes.tsv, uncertainties.tsv and parameters.tsv from every window's fit."""

import json
from collections import Counter

from galfit_unc.frames import read_frame_header
from galfit_unc.galfit_files import read_comp_ident, read_feedme, read_fit_header
from galfit_unc.injection import refit_platescale
from galfit_unc.records import FitRecord
from galfit_unc.statistics import SIGMA_CHOICES
from galfit_unc.tables import MAG_COLUMNS, PAR_COLUMNS, UNC_COLUMNS, magnitudes_rows, original_problems, parameters_rows, uncertainties_rows, write_table

from _common import run


def main(snakemake):
    original = read_fit_header(snakemake.input.imgblock)
    comp_ident = read_comp_ident(snakemake.input.comp_ident, [c.number for c in original.components])
    records = []
    for path in snakemake.input.batches:
        with open(path) as fh:
            for data in json.load(fh):
                record = FitRecord.from_json(data)
                # Only a fit whose block parsed is ok or flagged (the runner judged it so).
                record.header = None if record.status == "failed" else read_fit_header(record.output)
                records.append(record)
    use_flagged = snakemake.params.use_flagged
    stats = snakemake.params.stats
    # Surface-brightness components need the plate scale the fits used (the re-fits' K)).
    feedme = read_feedme(snakemake.input.feedme) if "feedme" in snakemake.input.keys() else None
    platescale = refit_platescale(feedme, read_frame_header(snakemake.input.image))
    mag_rows = magnitudes_rows(original, records, comp_ident, platescale)
    counts = Counter(r["status"] for r in mag_rows[1:])
    w = snakemake.wildcards
    settings = snakemake.params.settings
    seeds = [f"cleaning.seed {settings['cleaning']['seed']} (fill noise of the cleaned windows)", f"stats.seed {stats['seed']} (bootstrap of sigma)"]
    if snakemake.params.demo_seed is not None:
        seeds.insert(0, f"demo.seed {snakemake.params.demo_seed} (demo frame and user fit)")
    comments = {
        "target": w.target,
        "band": w.band,
        "engine": snakemake.params.engine,
        "seed": "; ".join(seeds),
        "stats.use_flagged": use_flagged,
        "windows": len(records),
        "ok": counts["ok"],
        "flagged": counts["flagged"],
        "failed": counts["failed"],
        "used": "ok values, and values flagged for the object" if use_flagged else "values not flagged for the object",
        "original flags": original_problems(original) or "none",
        "flags": "a re-fit is flagged only for what the original has not: FLAGS 1 (iteration_limit) or 2 (convergence), "
        "or a *...* value (bound); GALFIT's warning flags (A-, C-, H-, I-) are not fit flags",
    }
    for section, values in settings.items():
        for key, value in values.items():
            comments[f"{section}.{key}"] = json.dumps(value)
    for key, value in stats.items():
        comments[f"stats.{key}"] = json.dumps(value)
    objects = [c for c in mag_rows[0] if c.startswith("obj_")]
    write_table(snakemake.output.magnitudes, mag_rows, [*MAG_COLUMNS, *objects], comments)
    write_table(
        snakemake.output.uncertainties,
        uncertainties_rows(
            original, records, comp_ident, use_flagged=use_flagged, sigma=stats["sigma"], bootstrap=stats["bootstrap"], seed=stats["seed"], platescale=platescale
        ),
        UNC_COLUMNS,
        {
            **comments,
            "sigma": f"headline = {SIGMA_CHOICES[stats['sigma']]} (stats.sigma: {stats['sigma']}); "
            f"sigma_lo, sigma_hi = its 68 % bootstrap interval ({stats['bootstrap']} resamples)",
            "statistics": "std with ddof 1; mad_sigma = 1.4826 MAD; bias = median - mag_original; "
            + ("rms = root mean square of (re-fit - mag_original); " if stats["sigma"] == "rms" else "")
            + "sigma_formal = GALFIT's errors of the components propagated through the flux sum; sigma_ratio = sigma / sigma_formal",
        },
    )
    write_table(
        snakemake.output.parameters,
        parameters_rows(original, records, use_flagged, comp_ident),
        PAR_COLUMNS,
        {**comments, "statistics": "as uncertainties.tsv; PA on a 180 degree circle; SKY: each re-fit's sky minus its window's level before injection"},
    )
    print(f"{len(records)} windows: {dict(counts)}")


run(snakemake, main)  # noqa: F821
