"""Rule demo_userfit: the user's fit of the demo target (perturbed starting values, embedded engine)."""

from galfit_unc.demo.scene import target_components
from galfit_unc.demo.settings import DemoSettings
from galfit_unc.demo.userfit import run_user_fit, starting_feedme

from _common import run


def main(snakemake):
    settings = DemoSettings.from_config(snakemake.params.settings)
    names = {"frame": "frame.fits", "psf": "psf.fits", "constraints": "constraints.txt", "imgblock": "imgblock.fits"}
    feedme = starting_feedme(settings, target_components(settings), names)
    staged = {names[k]: getattr(snakemake.input, k) for k in ("frame", "psf", "constraints")}
    log = run_user_fit(feedme, staged, {"feedme": snakemake.output.feedme, "imgblock": snakemake.output.imgblock})
    print(log)


run(snakemake, main)  # noqa: F821 (snakemake is injected by the script directive)
