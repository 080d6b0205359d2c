"""Rule galaxy: the original model's galaxy light (HDU2 without the fitted sky, if it is there,
plus the components the fit left out of HDU2)."""

from astropy.io import fits

from galfit_unc.galfit_files import read_feedme, read_fit_header
from galfit_unc.injection import fit_keywords, galaxy_light, skipped_light, sky_in_model

from _common import run


def main(snakemake):
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
    exptime = float(fit_keywords(imgblock).get("EXPTIME", 1.0))
    hidden = skipped_light(header, feedme, snakemake.input.psf, exptime)
    print(f"components left out of HDU2 (Z) 1), rendered in: total {hidden.sum():.6g}")
    out["SKIPLGHT"] = (float(hidden.sum()), "flux of Z) 1 components added (rendered)")
    light = galaxy_light(imgblock, sky_in_model_flag=flag) + hidden
    fits.PrimaryHDU(light, header=out).writeto(snakemake.output[0], overwrite=True)


run(snakemake, main)  # noqa: F821
