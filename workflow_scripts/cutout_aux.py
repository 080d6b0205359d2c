"""Rule cutout_aux: cut the user's bad-pixel mask or sigma image at one window."""

from _common import image_2d, run


def main(snakemake):
    from astropy.io import fits

    from galfit_unc.galfit_files import region_slices

    path = snakemake.input[0]
    data, _ = image_2d(path)
    x1, x2, y1, y2 = snakemake.params.window
    cut = data[region_slices((x1, x2, y1, y2))]
    if cut.shape != (y2 - y1 + 1, x2 - x1 + 1):
        raise ValueError(f"{path}: shape: {data.shape} does not contain window [{x1}:{x2},{y1}:{y2}]; give the {snakemake.wildcards.kind} image of this frame")
    fits.PrimaryHDU(cut).writeto(snakemake.output[0], overwrite=True)


run(snakemake, main)  # noqa: F821
