"""The built-in demo: a synthetic DECaLS-like frame whose truth is known.

A seed fixes everything random.  The frame is 1024 x 1024 pixels of 0.262 arcsec with a
TAN WCS, in ADU, with ``mag = -2.5 log10(counts / EXPTIME) + 22.5`` (GALFIT's convention,
zeropoint in ``MAGZPT``), a sky pedestal and noise that is Poisson-like (sky, sources and
read noise through GAIN) and spatially correlated as in a resampled coadd.  A few hundred
field stars and galaxies follow rising number counts and a size-magnitude relation; they
are kept away from the target.  The target near the centre is a compact group of three
objects made of five components (bulge + disc, disc + point-like nucleus, one spheroid),
rendered by the embedded fitter's own renderer so it follows the fitter's conventions
exactly.  The PSF is a Moffat profile written as its own image.

Then a "user's fit": a GALFIT input file with perturbed starting values (a second seeded
stream), fitted by the embedded engine exactly like a user's GALFIT run.  Finally
:func:`truth_comparison` sets the workflow's uncertainties against the truth.
"""

from __future__ import annotations

import math
import shutil
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from . import galfit_files as gf

__all__ = [
    "DemoSettings",
    "Demo",
    "TARGET_OBJECTS",
    "moffat_psf",
    "target_components",
    "target_region",
    "field_catalogue",
    "render_field",
    "render_target",
    "add_noise",
    "make_demo",
    "frame_header",
    "truth_rows",
    "write_inputs",
    "read_truth",
    "starting_feedme",
    "run_user_fit",
    "truth_comparison",
    "TRUTH_COLUMNS",
    "CONSTRAINTS",
    "COMPARISON_COLUMNS",
]

#: Object of each target component (1-based component number -> object id).
TARGET_OBJECTS = {1: "A", 2: "A", 3: "B", 4: "B", 5: "C"}
#: Columns of truth.tsv: one row per component, then one ``object`` row per object.
TRUTH_COLUMNS = ["component", "object", "type", "x", "y", "mag", "re", "n", "q", "pa"]
#: Columns of demo_truth.tsv.
COMPARISON_COLUMNS = ["object", "mag_true", "mag_original", "sigma", "error", "error_over_sigma"]

#: The user's constraint file: Sersic indices within 0.5-6, sizes within 0.5-30 px, axis
#: ratios above 0.2.
CONSTRAINTS = """\
# Sersic index and size ranges of the demo's user fit
1 n 0.5 to 6
2 n 0.5 to 6
3 n 0.5 to 6
5 n 0.5 to 6
1 re 0.5 to 30
2 re 0.5 to 30
3 re 0.5 to 30
5 re 0.5 to 30
1 q 0.2 to 1
2 q 0.2 to 1
3 q 0.2 to 1
5 q 0.2 to 1
"""

# Target group, relative to the frame centre: (object, type, dx, dy, mag, Re, n, q, PA).
_TARGET = (
    ("A", "sersic", -6.7, 6.6, 16.9, 4.5, 3.5, 0.85, 10.0),  # bulge
    ("A", "sersic", -6.7, 6.6, 16.9, 11.0, 1.0, 0.45, 35.0),  # disc
    ("B", "sersic", 16.7, -11.8, 17.4, 5.5, 1.2, 0.70, -50.0),  # disc
    ("B", "psf", 16.7, -11.8, 19.0, None, None, None, None),  # nucleus
    ("C", "sersic", -17.9, -17.2, 17.6, 3.0, 2.5, 0.85, 80.0),  # spheroid
)
# The fitting region is this many pixels on each side of the frame centre (80 x 80).
_REGION_LOW, _REGION_HIGH = 39, 40
# Field sources keep this far (pixels) from the fitting region.
_FIELD_MARGIN = 48
# Half-width (pixels) of the stamps on which field sources are rendered.
_STAMP_HALF = 24
# Sub-pixels per pixel side when rendering field sources and the PSF.
_OVERSAMPLE = 5


@dataclass(frozen=True)
class DemoSettings:
    """Settings of the demo frame (config key ``demo:``).

    Parameters
    ----------
    seed : int
        Seed of the field, the noise and the perturbed starting values.
    size : int
        Frame side in pixels.
    pixel_scale : float
        Arcsec per pixel.
    zeropoint : float
        Magnitude zeropoint for counts per second (``MAGZPT``).
    exptime : float
        Exposure time in seconds (``EXPTIME``).
    gain : float
        Electrons per ADU (``GAIN``).
    read_noise : float
        Read noise in electrons (``RDNOISE``).
    sky_mag : float
        Sky surface brightness in mag per square arcsec.
    noise_correlation : float
        Sigma (pixels) of the unit-sum Gaussian kernel that correlates the noise, as the
        resampling of a coadd does; 0 = white.
    psf_fwhm : float
        FWHM of the Moffat PSF in arcsec.
    psf_beta : float
        Moffat power index.
    psf_size : int
        Side of the PSF image (odd).
    n_stars, n_galaxies : int
        Field sources.
    """

    seed: int = 20211
    size: int = 1024
    pixel_scale: float = 0.262
    zeropoint: float = 22.5
    exptime: float = 90.0
    gain: float = 4.0
    read_noise: float = 7.0
    sky_mag: float = 19.0
    noise_correlation: float = 0.5
    psf_fwhm: float = 1.3
    psf_beta: float = 3.0
    psf_size: int = 51
    n_stars: int = 80
    n_galaxies: int = 220

    def __post_init__(self):
        problems = []
        smallest = 2 * (_REGION_HIGH + _FIELD_MARGIN + _STAMP_HALF)
        if self.size < smallest:
            problems.append(f"size {self.size} is too small for the target and its margin; use at least {smallest}")
        if self.psf_size < 3 or self.psf_size % 2 == 0:
            problems.append(f"psf_size {self.psf_size} must be an odd number >= 3")
        if self.psf_beta <= 1:
            problems.append(f"psf_beta {self.psf_beta} must be > 1 (a Moffat with beta <= 1 has infinite flux)")
        for name in ("pixel_scale", "exptime", "gain", "psf_fwhm"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} {getattr(self, name)} must be > 0")
        for name in ("read_noise", "noise_correlation", "n_stars", "n_galaxies"):
            if getattr(self, name) < 0:
                problems.append(f"{name} {getattr(self, name)} must be >= 0")
        if problems:
            raise ValueError(f"demo settings: {problems[0]}")

    @classmethod
    def from_config(cls, mapping) -> DemoSettings:
        """Settings from the ``demo:`` mapping of the config; missing keys keep their defaults."""
        mapping = dict(mapping or {})
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(mapping) - set(known))
        if unknown:
            raise ValueError(f"config demo: unknown key {unknown[0]!r}; use one of {', '.join(known)}")
        values = {}
        for key, value in mapping.items():
            cast = int if known[key] == "int" else float
            try:
                values[key] = cast(value)
            except (TypeError, ValueError):
                raise ValueError(f"config demo.{key}: {value!r} is not a number; give a {known[key]}") from None
        return cls(**values)

    @property
    def centre(self) -> int:
        """1-based pixel at the frame centre (both axes)."""
        return self.size // 2

    @property
    def sky_level(self) -> float:
        """Sky pedestal in ADU per pixel."""
        pixel_mag = self.sky_mag - 5.0 * math.log10(self.pixel_scale)
        return self.exptime * 10.0 ** (-0.4 * (pixel_mag - self.zeropoint))

    @property
    def sky_sigma(self) -> float:
        """Noise of one blank-sky pixel in ADU (Poisson on the sky plus read noise, then
        reduced by the correlating kernel, see :func:`add_noise`)."""
        white = math.sqrt(self.sky_level / self.gain + (self.read_noise / self.gain) ** 2)
        return white * float(np.sqrt(np.sum(_smoothing_kernel(self.noise_correlation) ** 2)))

    def counts(self, mag):
        """Total counts (ADU) of magnitude ``mag``."""
        return self.exptime * 10.0 ** (-0.4 * (np.asarray(mag, dtype=float) - self.zeropoint))


@dataclass
class Demo:
    """A generated demo frame with its truth.

    ``field`` maps ``x, y, mag, re, n, q, pa, star`` to arrays (1-based positions; ``re``
    in pixels, 0 for stars).
    """

    settings: DemoSettings
    frame: np.ndarray
    header: object
    psf: np.ndarray
    components: list
    region: tuple
    field: dict


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


def _stamps(kind, fx, fy, flux, size, shape, q, pa, half=_STAMP_HALF, oversample=_OVERSAMPLE):
    """Pixel-integrated stamps of ``m`` sources of one profile kind.

    ``fx, fy`` are the sub-pixel offsets of each source from its stamp's central pixel;
    the other arguments are those of :func:`galfit_unc.fitter.profiles.evaluate`.  Returns an array ``(m, 2 half + 1, 2 half + 1)`` of counts per pixel.
    """
    from .fitter import profiles

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


def target_region(settings: DemoSettings) -> tuple[int, int, int, int]:
    """The fitting region ``(x1, x2, y1, y2)`` around the target (80 x 80 pixels)."""
    c = settings.centre
    return (c - _REGION_LOW, c + _REGION_HIGH, c - _REGION_LOW, c + _REGION_HIGH)


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


def _sky_component(level) -> gf.Component:
    comp = gf.Component("sky")
    comp.rows["1"] = _row("1", [level], [1], "sky background [ADU counts]")
    comp.rows["2"] = _row("2", [0.0], [0], "dsky/dx (sky gradient in x)")
    comp.rows["3"] = _row("3", [0.0], [0], "dsky/dy (sky gradient in y)")
    comp.rows["Z"] = _row("Z", [0], (), "output option (0 = resid., 1 = no resid.)")
    return comp


def target_components(settings: DemoSettings) -> list[gf.Component]:
    """The five true components of the target group (GALFIT conventions), without the sky."""
    c = settings.centre
    return [_component(t, c + dx, c + dy, mag, re, n, q, pa) for _, t, dx, dy, mag, re, n, q, pa in _TARGET]


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
        keep = (x < x1 - _FIELD_MARGIN) | (x > x2 + _FIELD_MARGIN) | (y < y1 - _FIELD_MARGIN) | (y > y2 + _FIELD_MARGIN)
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
    from scipy.signal import fftconvolve

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
    from .fitter.render import ModelRenderer

    size = settings.size
    image = np.zeros((size, size))
    x1, x2, y1, y2 = target_region(settings)
    pad = 2 * _REGION_HIGH
    box = (max(x1 - pad, 1), min(x2 + pad, size), max(y1 - pad, 1), min(y2 + pad, size))
    renderer = ModelRenderer(components, box, psf, None, settings.zeropoint, settings.exptime)
    image[gf.region_slices(box)] = renderer.model(renderer.theta0)
    return image


def _smoothing_kernel(sigma: float) -> np.ndarray:
    """Unit-sum Gaussian kernel that correlates the noise (``[[1]]`` for sigma 0)."""
    from scipy.ndimage import gaussian_filter

    half = max(int(math.ceil(4 * sigma)), 0)
    delta = np.zeros((2 * half + 1, 2 * half + 1))
    delta[half, half] = 1.0
    return gaussian_filter(delta, sigma, mode="constant") if sigma > 0 else delta


def add_noise(image, settings: DemoSettings, rng) -> np.ndarray:
    """``image`` plus Poisson-like noise, correlated as by the resampling of a coadd.

    White noise of variance ``image / gain + (rn / gain)^2`` per pixel is smoothed with a
    unit-sum Gaussian kernel: sums over large apertures keep the Poisson variance while
    single pixels scatter less and neighbours are correlated.
    """
    from scipy.signal import fftconvolve

    variance = np.maximum(image, 0.0) / settings.gain + (settings.read_noise / settings.gain) ** 2
    white = rng.standard_normal(image.shape) * np.sqrt(variance)
    return image + fftconvolve(white, _smoothing_kernel(settings.noise_correlation), mode="same")


def frame_header(settings: DemoSettings):
    """FITS header of the frame: TAN WCS, zeropoint, exposure time, gain, read noise."""
    from astropy.io import fits

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


def truth_rows(components) -> list[dict]:
    """Rows of truth.tsv: every component, then every object's combined magnitude."""
    from .statistics import combine_magnitudes

    rows = []
    for number, comp in enumerate(components, 1):
        row = {"component": number, "object": TARGET_OBJECTS[number], "type": comp.type}
        for col, key in (("x", "XC"), ("y", "YC"), ("mag", "MAG"), ("re", "RE"), ("n", "N"), ("q", "AR"), ("pa", "PA")):
            layout = {h: (r, i) for h, r, i in gf.parameter_table(comp)}
            row[col] = comp.value(*layout[key]) if key in layout else math.nan
        rows.append(row)
    for obj in dict.fromkeys(TARGET_OBJECTS.values()):
        mags = [r["mag"] for r in rows if r["object"] == obj]
        rows.append({"component": "object", "object": obj, "type": "object", "mag": combine_magnitudes(mags)})
    return rows


def write_inputs(demo: Demo, outdir) -> dict:
    """Write frame.fits, psf.fits, truth.tsv, comp_ident.txt and constraints.txt into ``outdir``.

    Returns the paths by name.
    """
    from astropy.io import fits

    from .tables import write_table

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


def read_truth(path) -> tuple[list[dict], dict[str, float]]:
    """Read truth.tsv: component rows and ``{object: magnitude}``."""
    from .tables import read_table

    rows, _ = read_table(path)
    comps = [r for r in rows if r.get("type") != "object"]
    objects = {str(r["object"]): float(r["mag"]) for r in rows if r.get("type") == "object"}
    if not objects:
        raise ValueError(f"{path}: object rows: none found; re-create truth.tsv with the demo_frame rule")
    return comps, objects


def starting_feedme(settings: DemoSettings, components, files: dict) -> gf.Feedme:
    """The user's GALFIT input file: the truth perturbed like a user's first guesses.

    Positions move by ~0.7 px, magnitudes by ~0.3 mag, sizes by ~20 %, Sersic indices by
    ~0.4, axis ratios by ~0.08 and angles by ~10 deg (a seeded stream of its own); the sky
    starts from the true pedestal plus a small offset, its gradients fixed at 0.

    Parameters
    ----------
    files : dict
        File names for A) ``frame``, B) ``imgblock``, D) ``psf`` and G) ``constraints``.
    """
    rng = np.random.default_rng([settings.seed, 1])
    start = []
    for comp in components:
        comp = gf.Component(comp.type, {k: gf.Row(r.key, list(r.values), list(r.toggles), r.text, r.comment) for k, r in comp.rows.items()})
        x, y = comp.rows["1"].values
        comp.rows["1"].values = [x + rng.normal(0, 0.7), y + rng.normal(0, 0.7)]
        comp.rows["3"].values[0] += rng.normal(0, 0.3)
        if comp.type == "sersic":
            comp.rows["4"].values[0] *= math.exp(rng.normal(0, 0.2))
            comp.rows["5"].values[0] = float(np.clip(comp.rows["5"].values[0] + rng.normal(0, 0.4), 0.6, 6.0))
            comp.rows["9"].values[0] = float(np.clip(comp.rows["9"].values[0] + rng.normal(0, 0.08), 0.2, 1.0))
            comp.rows["10"].values[0] += rng.normal(0, 10.0)
        for row in comp.rows.values():  # a user writes a few decimals
            row.values = [round(v, 2) for v in row.values]
        start.append(comp)
    start.append(_sky_component(round(settings.sky_level + rng.normal(0, 0.3 * settings.sky_sigma), 2)))
    x1, x2, y1, y2 = target_region(settings)
    control = {
        "A": files["frame"],
        "B": files["imgblock"],
        "C": "none",
        "D": files["psf"],
        "E": "1",
        "F": "none",
        "G": files["constraints"],
        "H": f"{x1} {x2} {y1} {y2}",
        "I": "100 100",
        "J": f"{settings.zeropoint}",
        "K": f"{settings.pixel_scale} {settings.pixel_scale}",
        "O": "regular",
        "P": "0",
    }
    return gf.Feedme(control, start, "fit.gal")


def run_user_fit(feedme: gf.Feedme, inputs: dict, outputs: dict) -> str:
    """Fit ``feedme`` with the embedded engine in a private directory, like a user's GALFIT run.

    Parameters
    ----------
    feedme : Feedme
        The input file; its A), B), D) and G) name files in the working directory.
    inputs : dict
        File name in the feedme -> existing path to stage (frame, PSF, constraints).
    outputs : dict
        ``{"feedme": path, "imgblock": path}``: where the input file and the image block go.

    Returns
    -------
    str
        The fit.log block of the run.
    """
    from .fitter.fit import run_galfit

    with tempfile.TemporaryDirectory(prefix="demo-userfit-") as tmp:
        tmp = Path(tmp)
        for name, path in inputs.items():
            shutil.copyfile(path, tmp / name)
        gf.write_feedme(feedme, tmp / "fit.gal", header="GALFIT input file of the demo's user fit (perturbed starting values)")
        outcome = run_galfit("fit.gal", workdir=tmp)
        for key, produced in (("feedme", tmp / "fit.gal"), ("imgblock", outcome.output)):
            Path(outputs[key]).parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(produced), str(outputs[key]))
        return outcome.log.read_text()


def truth_comparison(uncertainties_path, truth_path) -> list[dict]:
    """Per object: true and original magnitudes, the reported sigma and the error in sigmas.

    ``error`` = original - true; ``error_over_sigma`` = error / the table's headline
    ``sigma`` (``stats.sigma``).
    """
    from .tables import read_table

    _, truth = read_truth(truth_path)
    rows, _ = read_table(uncertainties_path)
    by_object = {str(r["object"]): r for r in rows}
    missing = sorted(set(truth) - set(by_object))
    if missing:
        raise ValueError(f"{uncertainties_path}: object {missing[0]}: not in the table; run the workflow on the demo's comp_ident")
    out = []
    for obj, mag_true in truth.items():
        r = by_object[obj]
        error = float(r["mag_original"]) - mag_true
        sigma = float(r["sigma"])
        out.append(
            {
                "object": obj,
                "mag_true": mag_true,
                "mag_original": float(r["mag_original"]),
                "sigma": sigma,
                "error": error,
                "error_over_sigma": error / sigma if sigma > 0 else math.nan,
            }
        )
    return out
