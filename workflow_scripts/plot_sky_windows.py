"""Rule plot_sky_windows: the frame, its mask, every window and the target's region, and the
local sky-noise map."""

from astropy.io import fits

from galfit_unc.frames import load_frame
from galfit_unc.galfit_files import read_fit_header
from galfit_unc.plots import plot_sky_windows
from galfit_unc.skysearch import read_windows_tsv

from _common import run


def main(snakemake):
    image, _ = load_frame(snakemake.input.image)
    mask = fits.getdata(snakemake.input.mask) > 0
    windows = read_windows_tsv(snakemake.input.windows)
    target = read_fit_header(snakemake.input.imgblock).fitsect
    noise, header = fits.getdata(snakemake.input.noise, header=True)
    w = snakemake.wildcards
    title = f"{w.target} {w.band}: {len(windows)} windows"
    plot_sky_windows(image, mask, windows, target, snakemake.output[0], title=title, noise=noise, target_sigma=header["TGTSIGMA"])


run(snakemake, main)  # noqa: F821
