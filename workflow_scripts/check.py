"""Rule check: fail, with the reason, when too few re-fits are usable (the tables stay)."""

from galfit_unc.tables import failure_reasons, read_table

from _common import run


def main(snakemake):
    path = snakemake.input.uncertainties
    rows, _ = read_table(path)
    n_used = min((int(r["n_used"]) for r in rows), default=0)
    need = snakemake.params.min_ok_windows
    if n_used < need:
        reasons = failure_reasons(read_table(snakemake.input.magnitudes)[0], snakemake.params.use_flagged)
        why = "; ".join(f"{count} x {reason}" for reason, count in reasons) or "no failed fits"
        raise RuntimeError(
            f"{path}: n_used: only {n_used} usable re-fits, stats.min_ok_windows is {need}; "
            f"most common reasons in {snakemake.input.magnitudes}: {why}; fix what they name first, "
            "then raise windows.max_windows or relax windows.max_overlap or windows.contaminant_frac for more windows"
        )
    with open(snakemake.output[0], "w") as fh:
        fh.write(f"ok: {n_used} usable re-fits per object (stats.min_ok_windows {need})\n")


run(snakemake, main)  # noqa: F821
