"""Rule inject: cleaned window + galaxy light, and the re-fit's GALFIT input file."""

from _common import run


def main(snakemake):
    from astropy.io import fits

    from galfit_unc.galfit_files import read_feedme, read_fit_header, write_feedme
    from galfit_unc.injection import inject, pixel_scale, refit_feedme, write_injected
    from galfit_unc.runner import STAGE_NAMES
    from galfit_unc.skysearch import read_frame_header

    sky, cut_header = fits.getdata(snakemake.input.sky, header=True)
    galaxy = fits.getdata(snakemake.input.galaxy)
    frame_header = read_frame_header(snakemake.input.image)
    write_injected(snakemake.output.image, inject(sky, galaxy), cut_header, frame_header)
    feedme = getattr(snakemake.input, "feedme", None)
    p = snakemake.params
    refit = refit_feedme(
        read_fit_header(snakemake.input.imgblock),
        window_shape=sky.shape,
        original_feedme=read_feedme(feedme) if feedme else None,
        image=STAGE_NAMES["image"],
        output=STAGE_NAMES["output"],
        psf=STAGE_NAMES["psf"],
        constraints=STAGE_NAMES["constraints"] if p.constraints else None,
        mask=STAGE_NAMES["mask"] if p.mask else None,
        sigma=STAGE_NAMES["sigma"] if p.sigma else None,
        platescale=pixel_scale(frame_header),
    )
    w = snakemake.wildcards
    write_feedme(refit, snakemake.output.feedme, header=f"re-fit of {w.target} {w.band} injected into window {w.region}")


run(snakemake, main)  # noqa: F821
