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

Modules: :mod:`.settings` (the settings, whose defaults and limits are the configuration
schema's, and the target's fixed design), :mod:`.scene` (the frame and its files),
:mod:`.userfit` (the user's fit) and :mod:`.truth` (truth table and comparison).
"""

from .scene import add_noise, field_catalogue, frame_header, make_demo, moffat_psf, render_field, render_target, target_components, write_inputs
from .settings import CONSTRAINTS, DEFAULTS, TARGET_OBJECTS, Demo, DemoSettings, target_region
from .truth import COMPARISON_COLUMNS, TRUTH_COLUMNS, read_truth, truth_comparison, truth_rows
from .userfit import run_user_fit, starting_feedme

__all__ = [
    "DemoSettings",
    "DEFAULTS",
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
