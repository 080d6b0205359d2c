"""The demo's truth: the true magnitudes of the target's objects (``truth.tsv``) and their
comparison with the workflow's uncertainties (``demo_truth.tsv``)."""

from __future__ import annotations

import math


from galfit_unc import galfit_files as gf
from galfit_unc.statistics import combine_magnitudes
from galfit_unc.tables import read_table

from .settings import TARGET_OBJECTS


#: Columns of truth.tsv: one row per component, then one ``object`` row per object.
TRUTH_COLUMNS = ["component", "object", "type", "x", "y", "mag", "re", "n", "q", "pa"]
#: Columns of demo_truth.tsv.
COMPARISON_COLUMNS = ["object", "mag_true", "mag_original", "sigma", "error", "error_over_sigma"]

def truth_rows(components) -> list[dict]:
    """Rows of truth.tsv: every component, then every object's combined magnitude."""

    rows = []
    for number, comp in enumerate(components, 1):
        row = {"component": number, "object": TARGET_OBJECTS[number], "type": comp.type}
        for col, key in (("x", "XC"), ("y", "YC"), ("mag", "MAG"), ("re", "RE"), ("n", "N"), ("q", "AR"), ("pa", "PA")):
            layout = {h: (r, i) for h, r, i in gf.parameter_table(comp)}
            row[col] = comp.value(*layout[key]) if key in layout else math.nan
        rows.append(row)
    for obj in dict.fromkeys(TARGET_OBJECTS.values()):
        mags = [r["mag"] for r in rows if r["object"] == obj]
        rows.append({"component": "object", "object": obj, "type": "object", "mag": combine_magnitudes(mags)})
    return rows


def read_truth(path) -> tuple[list[dict], dict[str, float]]:
    """Read truth.tsv: component rows and ``{object: magnitude}``."""

    rows, _ = read_table(path)
    comps = [r for r in rows if r.get("type") != "object"]
    objects = {str(r["object"]): float(r["mag"]) for r in rows if r.get("type") == "object"}
    if not objects:
        raise ValueError(f"{path}: object rows: none found; re-create truth.tsv with the demo_frame rule")
    return comps, objects


def truth_comparison(uncertainties_path, truth_path) -> list[dict]:
    """Per object: true and original magnitudes, the reported sigma and the error in sigmas.

    ``error`` = original - true; ``error_over_sigma`` = error / the table's headline
    ``sigma`` (``stats.sigma``).
    """

    _, truth = read_truth(truth_path)
    rows, _ = read_table(uncertainties_path)
    by_object = {str(r["object"]): r for r in rows}
    missing = sorted(set(truth) - set(by_object))
    if missing:
        raise ValueError(f"{uncertainties_path}: object {missing[0]}: not in the table; run the workflow on the demo's comp_ident")
    out = []
    for obj, mag_true in truth.items():
        r = by_object[obj]
        error = float(r["mag_original"]) - mag_true
        sigma = float(r["sigma"])
        out.append(
            {
                "object": obj,
                "mag_true": mag_true,
                "mag_original": float(r["mag_original"]),
                "sigma": sigma,
                "error": error,
                "error_over_sigma": error / sigma if sigma > 0 else math.nan,
            }
        )
    return out
