"""Rule summary: every target's and band's uncertainties.tsv in results/summary.tsv."""

from galfit_unc.tables import summary_lines

from _common import run


def main(snakemake):
    tables = dict(zip(snakemake.params.table_keys, snakemake.input))
    with open(snakemake.output[0], "w") as fh:
        fh.write("\n".join(summary_lines(tables)) + "\n")
    print(f"{len(tables)} tables gathered")


run(snakemake, main)  # noqa: F821
