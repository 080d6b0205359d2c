"""Rule cutout: cut one window from the frame and clean it of sources."""

from _common import run


def main(snakemake):
    import numpy as np

    from galfit_unc.cleaning import clean_cutout, cut_window, region_seed, write_cleaned
    from galfit_unc.skysearch import Window, load_frame

    image, header = load_frame(snakemake.input.image)
    p = snakemake.params
    window = Window(*p.window, masked_frac=float("nan"))
    data, cut_header = cut_window(image, header, window)
    rng = np.random.default_rng(region_seed(p.seed, snakemake.wildcards.region))
    cleaned, filled = clean_cutout(
        data,
        nsigma=p.nsigma,
        clip_sigma=p.clip_sigma,
        clip_iters=p.clip_iters,
        kernel_sigmas=tuple(p.kernel_sigmas),
        fill_noise=p.fill_noise,
        rng=rng,
    )
    write_cleaned(snakemake.output[0], cleaned, cut_header, float(filled.mean()))
    print(f"window {p.window}: {filled.mean():.4f} of the pixels filled")


run(snakemake, main)  # noqa: F821
