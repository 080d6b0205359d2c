"""The demo's settings and fixed design: the target group, its fitting region, the user's
constraints.  Every setting's default and limits are those of the ``demo`` section of the
configuration schema, read here; nothing else states them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from galfit_unc.config import SCHEMAS, load_schema

#: The ``demo`` keys of the configuration schema: the one statement of each setting's type,
#: default and limits (its ``size`` minimum, 256, leaves room for the target's fitting region,
#: the field's margin and the stamps: 2 x (40 + 48 + 24) = 224 pixels).
SCHEMA = load_schema(SCHEMAS / "config.schema.yaml")["properties"]["demo"]["properties"]
#: Each setting's default.
DEFAULTS = {name: spec["default"] for name, spec in SCHEMA.items()}


#: Object of each target component (1-based component number -> object id).
TARGET_OBJECTS = {1: "A", 2: "A", 3: "B", 4: "B", 5: "C"}
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
TARGET = (
    ("A", "sersic", -6.7, 6.6, 16.9, 4.5, 3.5, 0.85, 10.0),  # bulge
    ("A", "sersic", -6.7, 6.6, 16.9, 11.0, 1.0, 0.45, 35.0),  # disc
    ("B", "sersic", 16.7, -11.8, 17.4, 5.5, 1.2, 0.70, -50.0),  # disc
    ("B", "psf", 16.7, -11.8, 19.0, None, None, None, None),  # nucleus
    ("C", "sersic", -17.9, -17.2, 17.6, 3.0, 2.5, 0.85, 80.0),  # spheroid
)
# The fitting region is this many pixels on each side of the frame centre (80 x 80).
REGION_LOW, REGION_HIGH = 39, 40
# Field sources keep this far (pixels) from the fitting region.
FIELD_MARGIN = 48
# Half-width (pixels) of the stamps on which field sources are rendered.
STAMP_HALF = 24
# Sub-pixels per pixel side when rendering field sources and the PSF.
OVERSAMPLE = 5


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

    seed: int = DEFAULTS["seed"]
    size: int = DEFAULTS["size"]
    pixel_scale: float = DEFAULTS["pixel_scale"]
    zeropoint: float = DEFAULTS["zeropoint"]
    exptime: float = DEFAULTS["exptime"]
    gain: float = DEFAULTS["gain"]
    read_noise: float = DEFAULTS["read_noise"]
    sky_mag: float = DEFAULTS["sky_mag"]
    noise_correlation: float = DEFAULTS["noise_correlation"]
    psf_fwhm: float = DEFAULTS["psf_fwhm"]
    psf_beta: float = DEFAULTS["psf_beta"]
    psf_size: int = DEFAULTS["psf_size"]
    n_stars: int = DEFAULTS["n_stars"]
    n_galaxies: int = DEFAULTS["n_galaxies"]

    def __post_init__(self):
        problems = []
        for name, spec in SCHEMA.items():
            value = getattr(self, name)
            if "minimum" in spec and not value >= spec["minimum"]:
                problems.append(f"{name} {value} must be >= {spec['minimum']}")
            if "exclusiveMinimum" in spec and not value > spec["exclusiveMinimum"]:
                problems.append(f"{name} {value} must be > {spec['exclusiveMinimum']}")
        # The schema can say "odd" in words only.
        if self.psf_size % 2 == 0:
            problems.append(f"psf_size {self.psf_size} must be an odd number")
        if problems:
            raise ValueError(f"demo settings: {problems[0]}")

    @classmethod
    def from_config(cls, mapping) -> DemoSettings:
        """Settings from the ``demo:`` mapping of the config; missing keys keep their defaults."""
        mapping = dict(mapping or {})
        unknown = sorted(set(mapping) - set(SCHEMA))
        if unknown:
            raise ValueError(f"config demo: unknown key {unknown[0]!r}; use one of {', '.join(SCHEMA)}")
        values = {}
        for key, value in mapping.items():
            kind = SCHEMA[key]["type"]
            try:
                values[key] = int(value) if kind == "integer" else float(value)
            except (TypeError, ValueError):
                raise ValueError(f"config demo.{key}: {value!r} is not a number; give an {kind}") from None
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
        return white * float(np.sqrt(np.sum(smoothing_kernel(self.noise_correlation) ** 2)))

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


def target_region(settings: DemoSettings) -> tuple[int, int, int, int]:
    """The fitting region ``(x1, x2, y1, y2)`` around the target (80 x 80 pixels)."""
    c = settings.centre
    return (c - REGION_LOW, c + REGION_HIGH, c - REGION_LOW, c + REGION_HIGH)


def smoothing_kernel(sigma: float) -> np.ndarray:
    """Unit-sum Gaussian kernel that correlates the noise (``[[1]]`` for sigma 0)."""

    half = max(int(math.ceil(4 * sigma)), 0)
    delta = np.zeros((2 * half + 1, 2 * half + 1))
    delta[half, half] = 1.0
    return gaussian_filter(delta, sigma, mode="constant") if sigma > 0 else delta
