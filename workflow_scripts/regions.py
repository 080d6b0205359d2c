"""Checkpoint regions: select blank-sky windows of the fitted region's size; write regions.tsv."""

from _common import run


def main(snakemake):
    from astropy.io import fits

    from galfit_unc.galfit_files import read_fit_header
    from galfit_unc.skysearch import check_enough, select_windows, write_regions_tsv

    mask = fits.getdata(snakemake.input.mask) > 0
    target = read_fit_header(snakemake.input.imgblock).fitsect
    x1, x2, y1, y2 = target
    p = snakemake.params
    windows = select_windows(
        mask,
        (y2 - y1 + 1, x2 - x1 + 1),
        target,
        target_margin=p.target_margin,
        contaminant_frac=p.contaminant_frac,
        max_overlap=p.max_overlap,
        max_regions=p.max_regions,
    )
    settings = {f"regions.{k}": getattr(p, k) for k in ("contaminant_frac", "max_overlap", "max_regions", "target_margin")}
    print(f"{len(windows)} windows selected with {settings}")
    check_enough(windows, p.min_regions, settings, source=snakemake.input.mask)
    comments = {"target": snakemake.wildcards.target, "band": snakemake.wildcards.band, "fitsect": f"[{x1}:{x2},{y1}:{y2}]"}
    comments.update(settings)
    comments["regions.min_regions"] = p.min_regions
    write_regions_tsv(windows, snakemake.output.tsv, comments)


run(snakemake, main)  # noqa: F821
