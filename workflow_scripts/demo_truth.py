"""Rule demo_truth: the demo's true magnitudes against the original fit's and the reported sigma."""

from galfit_unc.demo.truth import COMPARISON_COLUMNS, truth_comparison
from galfit_unc.tables import write_table

from _common import run


def main(snakemake):
    rows = truth_comparison(snakemake.input.uncertainties, snakemake.input.truth)
    comments = {
        "demo": "true magnitude vs the original fit; sigma = the sigma column of uncertainties.tsv (stats.sigma)",
        "error": "mag_original - mag_true",
    }
    write_table(snakemake.output[0], rows, COMPARISON_COLUMNS, comments)
    for r in rows:
        print(f"object {r['object']}: error {r['error']:+.4f} mag = {r['error_over_sigma']:+.2f} sigma")


run(snakemake, main)  # noqa: F821 (snakemake is injected by the script directive)
