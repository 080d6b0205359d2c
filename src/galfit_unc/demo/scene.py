"""The demo's frame: field stars and galaxies, the target group, the PSF, correlated noise
and a TAN WCS, written as the target's input files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits
from scipy.signal import fftconvolve

from galfit_unc import galfit_files as gf
from galfit_unc.fitter import profiles
from galfit_unc.fitter.render import ModelRenderer
from galfit_unc.tables import write_table

from .settings import CONSTRAINTS, FIELD_MARGIN, OVERSAMPLE, REGION_HIGH, STAMP_HALF, TARGET, TARGET_OBJECTS, Demo, DemoSettings, smoothing_kernel, target_region
from .truth import TRUTH_COLUMNS, truth_rows


def _subpixel_grid(half: int, oversample: int):
    """Offsets (pixels) of the sub-pixel centres of a ``2 half + 1`` square stamp.

    Returns ``dx, dy``, flat, ordered so that a reshape to ``(side, side, oversample**2)``
    groups the sub-pixels of each pixel.
    """
    pix = np.arange(-half, half + 1, dtype=np.float64)
    sub = (np.arange(oversample) + 0.5) / oversample - 0.5
    # Axes: pixel row, pixel column, sub-row, sub-column.
    dy, dx = np.broadcast_arrays(pix[:, None, None, None] + sub[None, None, :, None], pix[None, :, None, None] + sub[None, None, None, :])
    return dx.reshape(-1), dy.reshape(-1)


def _stamps(kind, fx, fy, flux, size, shape, q, pa, half=STAMP_HALF, oversample=OVERSAMPLE):
    """Pixel-integrated stamps of ``m`` sources of one profile kind.

    ``fx, fy`` are the sub-pixel offsets of each source from its stamp's central pixel;
    the other arguments are those of :func:`galfit_unc.fitter.profiles.evaluate`.  Returns an array ``(m, 2 half + 1, 2 half + 1)`` of counts per pixel.
    """

    gx, gy = _subpixel_grid(half, oversample)
    side = 2 * half + 1
    out = np.empty((len(flux), side, side))
    for start in range(0, len(flux), 16):  # chunks bound the memory of the sub-pixel grid
        sl = slice(start, start + 16)
        dx = (gx[None, :] - fx[sl, None]).astype(np.float32)
        dy = (gy[None, :] - fy[sl, None]).astype(np.float32)
        img = profiles.evaluate(kind, dx, dy, flux[sl], size[sl], shape[sl], q[sl], pa[sl])
        out[sl] = img.reshape(-1, side, side, oversample * oversample).mean(axis=3)
    return out


def moffat_psf(settings: DemoSettings) -> np.ndarray:
    """The PSF image: a circular Moffat, pixel-integrated, sum 1.

    Its centre is pixel ``(N + 1) / 2`` (1-based) of the odd ``N = psf_size``, where GALFIT
    expects it.
    """
    half = settings.psf_size // 2
    fwhm = settings.psf_fwhm / settings.pixel_scale
    one = np.ones(1)
    stamp = _stamps("moffat", 0 * one, 0 * one, one, fwhm * one, settings.psf_beta * one, one, 0 * one, half=half)[0]
    return stamp / stamp.sum()


def _row(key, values, toggles=(), comment=""):
    return gf.Row(key, [float(v) for v in values], [int(t) for t in toggles], None, comment)


def _component(ctype, x, y, mag, re=None, n=None, q=None, pa=None) -> gf.Component:
    comp = gf.Component(ctype)
    comp.rows["1"] = _row("1", [x, y], [1, 1], "position x, y")
    comp.rows["3"] = _row("3", [mag], [1], "integrated magnitude")
    if ctype == "sersic":
        comp.rows["4"] = _row("4", [re], [1], "R_e (effective radius) [pix]")
        comp.rows["5"] = _row("5", [n], [1], "Sersic index n")
        comp.rows["9"] = _row("9", [q], [1], "axis ratio (b/a)")
        comp.rows["10"] = _row("10", [pa], [1], "position angle (PA) [deg: Up=0, Left=90]")
    comp.rows["Z"] = _row("Z", [0], (), "output option (0 = resid., 1 = no resid.)")
    return comp


def sky_component(level) -> gf.Component:
    comp = gf.Component("sky")
    comp.rows["1"] = _row("1", [level], [1], "sky background [ADU counts]")
    comp.rows["2"] = _row("2", [0.0], [0], "dsky/dx (sky gradient in x)")
    comp.rows["3"] = _row("3", [0.0], [0], "dsky/dy (sky gradient in y)")
    comp.rows["Z"] = _row("Z", [0], (), "output option (0 = resid., 1 = no resid.)")
    return comp


def target_components(settings: DemoSettings) -> list[gf.Component]:
    """The five true components of the target group (GALFIT conventions), without the sky."""
    c = settings.centre
    return [_component(t, c + dx, c + dy, mag, re, n, q, pa) for _, t, dx, dy, mag, re, n, q, pa in TARGET]


def _power_law_mags(rng, count, low, high, slope):
    """Magnitudes with ``dN/dm ~ 10^(slope m)`` on ``[low, high]`` (inverse CDF)."""
    a, b = 10.0 ** (slope * low), 10.0 ** (slope * high)
    return np.log10(a + rng.uniform(size=count) * (b - a)) / slope


def field_catalogue(settings: DemoSettings, rng) -> dict:
    """Field stars and galaxies, uniform over the frame outside the target's surroundings.

    Galaxy counts rise as ``10^(0.33 m)`` over 17-24.5 mag, star counts as ``10^(0.12 m)``
    over 15.5-23 mag.  Half-light radii follow ``log10(Re / arcsec) = 0.1 - 0.12 (m - 20)``
    with 0.18 dex scatter; 60 % are discs (n near 1), the rest spheroids (n 2.5-4).
    """
    n_gal, n_star = settings.n_galaxies, settings.n_stars
    total = n_gal + n_star
    x1, x2, y1, y2 = target_region(settings)
    lo, hi = 1 - 0.5, settings.size + 0.5
    xs, ys = np.empty(0), np.empty(0)
    while xs.size < total:  # rejection: positions outside the guarded box around the target
        x, y = rng.uniform(lo, hi, size=(2, total))
        keep = (x < x1 - FIELD_MARGIN) | (x > x2 + FIELD_MARGIN) | (y < y1 - FIELD_MARGIN) | (y > y2 + FIELD_MARGIN)
        xs, ys = np.concatenate([xs, x[keep]]), np.concatenate([ys, y[keep]])
    xs, ys = xs[:total], ys[:total]
    gal_mag = _power_law_mags(rng, n_gal, 17.0, 24.5, 0.33)
    log_re = 0.1 - 0.12 * (gal_mag - 20.0) + rng.normal(0.0, 0.18, n_gal)
    re = np.maximum(10.0**log_re / settings.pixel_scale, 0.5)
    disc = rng.uniform(size=n_gal) < 0.6
    n = np.where(disc, np.clip(rng.normal(1.0, 0.15, n_gal), 0.6, 1.5), rng.uniform(2.5, 4.0, n_gal))
    q = np.where(disc, rng.uniform(0.25, 1.0, n_gal), rng.uniform(0.5, 1.0, n_gal))
    pa = rng.uniform(-90.0, 90.0, n_gal)
    star_mag = _power_law_mags(rng, n_star, 15.5, 23.0, 0.12)
    zeros, ones = np.zeros(n_star), np.ones(n_star)
    return {
        "x": xs,
        "y": ys,
        "mag": np.concatenate([gal_mag, star_mag]),
        "re": np.concatenate([re, zeros]),
        "n": np.concatenate([n, zeros]),
        "q": np.concatenate([q, ones]),
        "pa": np.concatenate([pa, zeros]),
        "star": np.concatenate([np.zeros(n_gal, bool), np.ones(n_star, bool)]),
    }


def _add_stamps(image, stamps, ix, iy):
    """Add stamps centred on 0-based pixels ``(ix, iy)`` to ``image``, clipped at the edges."""
    half = stamps.shape[1] // 2
    ny, nx = image.shape
    for stamp, cx, cy in zip(stamps, ix, iy):
        ya, yb = max(cy - half, 0), min(cy + half + 1, ny)
        xa, xb = max(cx - half, 0), min(cx + half + 1, nx)
        if ya < yb and xa < xb:
            image[ya:yb, xa:xb] += stamp[ya - (cy - half) : yb - (cy - half), xa - (cx - half) : xb - (cx - half)]


def render_field(settings: DemoSettings, psf, field) -> np.ndarray:
    """Noise-free image (ADU) of the field sources alone.

    Galaxies are rendered intrinsically on stamps and the whole frame is convolved with the
    PSF once; stars are the Moffat itself at their sub-pixel positions.
    """

    size = settings.size
    image = np.zeros((size, size))
    # 1-based pixel X spans X - 0.5 .. X + 0.5: the nearest pixel centre is round(x).
    ix, iy = np.rint(field["x"]).astype(int), np.rint(field["y"]).astype(int)
    fx, fy = field["x"] - ix, field["y"] - iy
    flux = settings.counts(field["mag"])
    gal = ~field["star"]
    stamps = _stamps("sersic", fx[gal], fy[gal], flux[gal], field["re"][gal], field["n"][gal], field["q"][gal], field["pa"][gal])
    _add_stamps(image, stamps, ix[gal] - 1, iy[gal] - 1)
    image = fftconvolve(image, psf, mode="same")
    star = field["star"]
    nstar = int(star.sum())
    fwhm = np.full(nstar, settings.psf_fwhm / settings.pixel_scale)
    stamps = _stamps("moffat", fx[star], fy[star], flux[star], fwhm, np.full(nstar, settings.psf_beta), np.ones(nstar), np.zeros(nstar))
    _add_stamps(image, stamps, ix[star] - 1, iy[star] - 1)
    return image


def render_target(settings: DemoSettings, psf, components) -> np.ndarray:
    """Noise-free image (ADU) of the target alone, over the whole frame.

    Rendered by :class:`galfit_unc.fitter.render.ModelRenderer`, i.e. by the fitter's own
    conventions, over a box that holds the group's light well beyond the fitting region.
    """

    size = settings.size
    image = np.zeros((size, size))
    x1, x2, y1, y2 = target_region(settings)
    pad = 2 * REGION_HIGH
    box = (max(x1 - pad, 1), min(x2 + pad, size), max(y1 - pad, 1), min(y2 + pad, size))
    renderer = ModelRenderer(components, box, psf, None, settings.zeropoint, settings.exptime)
    image[gf.region_slices(box)] = renderer.model(renderer.theta0)
    return image


def add_noise(image, settings: DemoSettings, rng) -> np.ndarray:
    """``image`` plus Poisson-like noise, correlated as by the resampling of a coadd.

    White noise of variance ``image / gain + (rn / gain)^2`` per pixel is smoothed with a
    unit-sum Gaussian kernel: sums over large apertures keep the Poisson variance while
    single pixels scatter less and neighbours are correlated.
    """

    variance = np.maximum(image, 0.0) / settings.gain + (settings.read_noise / settings.gain) ** 2
    white = rng.standard_normal(image.shape) * np.sqrt(variance)
    return image + fftconvolve(white, smoothing_kernel(settings.noise_correlation), mode="same")


def frame_header(settings: DemoSettings):
    """FITS header of the frame: TAN WCS, zeropoint, exposure time, gain, read noise."""

    h = fits.Header()
    scale = settings.pixel_scale / 3600.0
    centre = settings.size / 2.0 + 0.5
    for key, value, comment in (
        ("OBJECT", "galfit-unc demo", "synthetic frame with known truth"),
        ("FILTER", "z", "band"),
        ("BUNIT", "ADU", "pixel unit"),
        ("CTYPE1", "RA---TAN", ""),
        ("CTYPE2", "DEC--TAN", ""),
        ("CRPIX1", centre, ""),
        ("CRPIX2", centre, ""),
        ("CRVAL1", 150.1, "[deg]"),
        ("CRVAL2", 2.2, "[deg]"),
        ("CD1_1", -scale, "[deg/pix] RA grows to the left"),
        ("CD1_2", 0.0, ""),
        ("CD2_1", 0.0, ""),
        ("CD2_2", scale, "[deg/pix]"),
        ("CUNIT1", "deg", ""),
        ("CUNIT2", "deg", ""),
        ("RADESYS", "ICRS", ""),
        ("MAGZPT", settings.zeropoint, "mag = -2.5 log10(ADU / EXPTIME) + MAGZPT"),
        ("EXPTIME", settings.exptime, "[s]"),
        ("GAIN", settings.gain, "[e-/ADU]"),
        ("RDNOISE", settings.read_noise, "[e-]"),
        ("NCOMBINE", 1, "exposures combined"),
        ("DEMOSEED", settings.seed, "seed of the demo generator"),
    ):
        h[key] = (value, comment)
    return h


def make_demo(settings: DemoSettings) -> Demo:
    """Generate the demo frame, its PSF, the target's truth and the field catalogue."""
    rng = np.random.default_rng([settings.seed, 0])
    psf = moffat_psf(settings)
    components = target_components(settings)
    field = field_catalogue(settings, rng)
    scene = render_field(settings, psf, field) + render_target(settings, psf, components) + settings.sky_level
    frame = add_noise(scene, settings, rng)
    return Demo(settings, frame.astype(np.float32), frame_header(settings), psf, components, target_region(settings), field)


def write_inputs(demo: Demo, outdir) -> dict:
    """Write frame.fits, psf.fits, truth.tsv, comp_ident.txt and constraints.txt into ``outdir``.

    Returns the paths by name.
    """


    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    s = demo.settings
    paths = {name: outdir / f"{name}{ext}" for name, ext in (("frame", ".fits"), ("psf", ".fits"), ("truth", ".tsv"), ("comp_ident", ".txt"), ("constraints", ".txt"))}
    fits.PrimaryHDU(demo.frame, header=demo.header).writeto(paths["frame"], overwrite=True)
    psf_header = fits.Header()
    psf_header["PSFFWHM"] = (s.psf_fwhm, "[arcsec] Moffat FWHM")
    psf_header["PSFBETA"] = (s.psf_beta, "Moffat power index")
    fits.PrimaryHDU(demo.psf.astype(np.float32), header=psf_header).writeto(paths["psf"], overwrite=True)
    comments = {
        "truth of the galfit-unc demo target": "component rows, then object rows (combined magnitude)",
        "seed": s.seed,
        "zeropoint": s.zeropoint,
        "exptime": s.exptime,
        "sky": s.sky_level,
        "sky_sigma": s.sky_sigma,
        "fitsect": gf.format_fitsect(demo.region),
    }
    write_table(paths["truth"], truth_rows(demo.components), TRUTH_COLUMNS, comments)
    lines = ["# component object"] + [f"{c} {o}" for c, o in TARGET_OBJECTS.items()]
    paths["comp_ident"].write_text("\n".join(lines) + "\n")
    paths["constraints"].write_text(CONSTRAINTS)
    return paths
