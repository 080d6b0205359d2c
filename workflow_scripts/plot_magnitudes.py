"""Rule plot_magnitudes: histogram of the re-fitted magnitudes of every object."""

from galfit_unc.demo.truth import read_truth
from galfit_unc.plots import magnitude_panels, plot_magnitudes
from galfit_unc.tables import read_table

from _common import run


def main(snakemake):
    mag_rows, _ = read_table(snakemake.input.magnitudes, text_columns=("flagged_objects",))
    unc_rows, _ = read_table(snakemake.input.uncertainties)
    panels = magnitude_panels(mag_rows, unc_rows, snakemake.params.use_flagged, source=snakemake.input.uncertainties)
    # The demo's truth is an input only when the target is the demo.
    truth = read_truth(snakemake.input.truth)[1] if "truth" in snakemake.input.keys() else None
    plot_magnitudes(panels["rows"], panels["original"], panels["stats"], snakemake.output[0], truth=truth, flagged=panels["flagged"])


run(snakemake, main)  # noqa: F821
