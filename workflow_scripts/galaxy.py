"""Rule galaxy: the original model's galaxy light (HDU2 without the fitted sky, if it is there)."""

from _common import run


def main(snakemake):
    from astropy.io import fits

    from galfit_unc.galfit_files import read_feedme, read_fit_header
    from galfit_unc.injection import galaxy_light, sky_in_model

    imgblock = snakemake.input.imgblock
    header = read_fit_header(imgblock)
    feedme = read_feedme(snakemake.input.feedme) if getattr(snakemake.input, "feedme", None) else None
    explicit = {"yes": True, "no": False}.get(snakemake.params.sky_in_model)
    residual = fits.getdata(imgblock, 3)
    flag, reason = sky_in_model(header, explicit=explicit, feedme=feedme, residual=residual)
    print(f"sky in HDU2: {flag} ({reason})")
    out = fits.Header()
    out["SKYINMOD"] = (flag, "HDU2 held the fitted sky (subtracted here)")
    out["COMMENT"] = f"sky decision: {reason}"
    fits.PrimaryHDU(galaxy_light(imgblock, sky_in_model_flag=flag), header=out).writeto(snakemake.output[0], overwrite=True)


run(snakemake, main)  # noqa: F821
