"""Rule regfile: DS9 region files of the original model (image and fk5 coordinates)."""

from galfit_unc.frames import celestial_wcs, read_frame_header
from galfit_unc.galfit_files import read_comp_ident, read_fit_header
from galfit_unc.ds9 import write_region_files

from _common import run


def main(snakemake):
    header = read_fit_header(snakemake.input.imgblock)
    comp_ident = read_comp_ident(snakemake.input.comp_ident, [c.number for c in header.components])
    frame_header = read_frame_header(snakemake.input.image)
    write_region_files(
        header,
        comp_ident,
        celestial_wcs(frame_header),
        snakemake.output.reg,
        snakemake.output.fk5,
        frame=snakemake.params.frame,
    )


run(snakemake, main)  # noqa: F821
