"""How each re-fit replicates the user's own fit: where it starts, the injected model's own
photon noise, the PSF it uses, and the cumulative steps of the error budget.

The ``refit`` section of the configuration:

``start``
    ``best_fit`` (the image block's values), ``user`` (the user's initial values from the
    original input file, positions moved into the window) or ``perturbed`` (the best fit
    moved by a seeded uniform draw of scale ``perturb``).  ``user`` without an input file
    falls back to ``perturbed``.
``source_noise``
    Add the injected model's Poisson noise (the real target carries it, the noiseless
    injection does not).
``psfs``
    Alternative PSF files; window ``i`` (in the windows table's order) is re-fitted with
    ``psfs[i mod len(psfs)]``.
``budget``
    Also re-fit every window with the terms switched on one by one (:data:`STEPS`).

Every draw is seeded from the cleaning seed and the window id, in its own stream, so a
window's perturbation is the same whether or not its noise is drawn.
"""

from __future__ import annotations

import copy
import math
import os

import numpy as np

from galfit_unc import galfit_files as gf
from galfit_unc.config import ConfigError
from galfit_unc.fitter.constraints import SANITY_LIMITS
from galfit_unc.fitter.psf import load_psf
from galfit_unc.frames import read_frame_header
from galfit_unc.skysearch import window_seed

__all__ = [
    "DEFAULTS",
    "STEPS",
    "step_settings",
    "fit_sets",
    "header_settings",
    "window_psf",
    "window_rng",
    "user_start",
    "perturbed_start",
    "photon_scale",
    "source_noise",
    "RefitPlan",
    "check_refit",
    "budget_rows",
]

#: The configuration's defaults (also in config/schemas/config.schema.yaml): today's re-fit.
#: A re-fit with no added term: what ``refit=None`` means to these functions.  The workflow's
#: defaults are the configuration schema's (start: perturbed, source_noise: true).
DEFAULTS = {
    "start": "best_fit",
    "perturb": {"mag": 0.3, "size": [0.5, 2.0], "n": [0.5, 2.0], "q": 0.1, "pa": 15.0, "xy": 1.0},
    "source_noise": False,
    "psfs": [],
    "budget": False,
}
#: Cumulative steps of the error budget: sky only, + start, + source noise, + PSF (the
#: last is the headline run, with every term as configured).
STEPS = ("sky", "start", "source_noise", "psf")
#: Random streams of a window (the cleaning noise uses the window's seed directly).
_PERTURB_STREAM, _NOISE_STREAM = 1, 2
#: Header keys by kind of perturbation.
_SIZE_KEYS = ("RE", "RS", "FWHM", "HS", "RB", "RC", "RT", "ROUT")
_SHIFT_KEYS = {"MAG": "mag", "MU": "mag", "AR": "q", "PA": "pa", "XC": "xy", "YC": "xy"}
_SCALE_KEYS = {**dict.fromkeys(_SIZE_KEYS, "size"), "N": "n"}
#: BUNIT endings that mean a rate (counts per second), compared without spaces, lower case.
_PER_SECOND = ("/s", "/sec", "/second", "s-1", "s**-1", "s^-1", "cps")


def _settings(refit: dict | None) -> dict:
    return {**DEFAULTS, **(refit or {})}


def step_settings(refit: dict | None, step: str = "psf", has_feedme: bool = True) -> dict:
    """The re-fit settings of one cumulative step of the budget.

    Parameters
    ----------
    refit : dict or None
        The configuration's ``refit`` section (None: the defaults).
    step : str
        One of :data:`STEPS`; ``psf`` (the default) is the headline run.
    has_feedme : bool
        Whether the target has its original input file (``user`` falls back to
        ``perturbed`` without it).

    Returns
    -------
    dict
        ``start`` (as used), ``source_noise``, ``psfs`` and, when the start is
        ``perturbed``, ``perturb``: exactly what the fits of that step depend on.
    """
    refit = _settings(refit)
    k = STEPS.index(step)
    start = refit["start"] if k >= 1 else "best_fit"
    if start == "user" and not has_feedme:
        start = "perturbed"
    out = {"start": start, "source_noise": bool(refit["source_noise"]) and k >= 2, "psfs": [str(p) for p in refit["psfs"]] if k >= 3 else []}
    if start == "perturbed":
        out["perturb"] = {**DEFAULTS["perturb"], **refit["perturb"]}
    return out


def fit_sets(refit: dict | None, has_feedme: bool = True) -> dict[str, str | None]:
    """Which fits each budget step reads: None for the headline fits, else the name of the
    first step with the same settings (its fits live under ``budget/<name>/``).

    Steps whose term is switched off repeat the step before them and cost no fits.
    """
    settings = {step: step_settings(refit, step, has_feedme) for step in STEPS}
    out = {}
    for step in STEPS:
        if settings[step] == settings["psf"]:
            out[step] = None
        else:
            out[step] = next(s for s in STEPS if settings[s] == settings[step])
    return out


def header_settings(refit: dict | None, step: str = "psf", has_feedme: bool = True) -> dict:
    """The ``refit.*`` lines of a table's ``#`` header, saying what the fits used."""
    refit = _settings(refit)
    used = step_settings(refit, step, has_feedme)
    out = dict(used)
    if step == "psf" and refit["start"] == "user" and not has_feedme:
        out["start"] = "perturbed (refit.start is user, but the target has no feedme)"
    if step != "psf":
        out["budget_step"] = f"{step} ({' + '.join(STEPS[: STEPS.index(step) + 1])})"
    out["budget"] = bool(refit["budget"])
    return out


def window_psf(refit: dict | None, index: int) -> str | None:
    """The alternative PSF of the window at ``index`` of the windows table, or None (the
    target's own PSF)."""
    psfs = _settings(refit)["psfs"]
    return str(psfs[index % len(psfs)]) if psfs else None


def window_rng(seed: int, name: str, stream: int) -> np.random.Generator:
    """Generator of one window's random stream (the window seed of
    :func:`galfit_unc.skysearch.window_seed`, then ``stream``)."""
    return np.random.default_rng([window_seed(seed, name), stream])


def user_start(feedme: gf.Feedme, original: gf.Feedme, shift) -> gf.Feedme:
    """``feedme`` with the initial values of the user's input file ``original``.

    Every parameter value (sky included) is the original's; positions (``1)``, and the
    truncation centre ``T1)``) move by ``-shift`` into the window, as the best-fit ones do.
    Toggles, hidden rows and control lines stay those of ``feedme``.
    """
    out = copy.deepcopy(feedme)
    for comp, orig in zip(out.components, original.components):
        for _, rkey, idx in gf.parameter_table(comp):
            if rkey in orig.rows and idx < len(orig.rows[rkey].values):
                comp.set_value(rkey, idx, orig.value(rkey, idx))
        for key in ("1", "T1") if comp.base_type != "sky" else ("T1",):
            if key in orig.rows and len(orig.rows[key].values) == 2:
                comp.rows[key].values = [orig.value(key, 0) - shift[0], orig.value(key, 1) - shift[1]]
    return out


def _boxes(constraints, number: int, comp: gf.Component, rkey: str, idx: int, value: float):
    """Ranges of GALFIT's constraint file acting on one parameter of component ``number``
    (relative ones about ``value``)."""
    for con in constraints:
        if number in con.components and con.parameter_of(comp, number) == (rkey, idx):
            if con.kind == "absolute":
                yield min(con.low, con.high), max(con.low, con.high)
            elif con.kind == "relative":
                yield value + min(con.low, con.high), value + max(con.low, con.high)


def perturbed_start(feedme: gf.Feedme, perturb: dict, rng: np.random.Generator, constraints=()) -> gf.Feedme:
    """``feedme`` with its free parameters moved by uniform draws, as a user's guess would be.

    Magnitudes (and surface brightnesses) move by U(-mag, mag), sizes and Sérsic n are
    multiplied by U(size) and U(n), q moves by U(-q, q), PA by U(-pa, pa) degrees and
    positions by U(-xy, xy) pixels.  Fixed parameters (toggle 0), sky components and other
    parameters (C0, Fourier and bending modes) are not moved.  The result is clipped into
    the constraint file's absolute ranges, its relative ranges about the unperturbed value,
    and the fitter's sanity limits.

    Parameters
    ----------
    feedme : Feedme
        The re-fit's input file with the best-fit values.
    perturb : dict
        ``mag``, ``size`` ([low, high] factor), ``n`` ([low, high] factor), ``q``, ``pa``, ``xy``.
    rng : numpy.random.Generator
    constraints : list of Constraint
        The fit's constraint file (:func:`galfit_unc.galfit_files.read_constraints`).
    """
    perturb = {**DEFAULTS["perturb"], **perturb}
    out = copy.deepcopy(feedme)
    for number, comp in enumerate(out.components, 1):
        if comp.base_type == "sky":
            continue
        for hkey, rkey, idx in gf.parameter_table(comp):
            row = comp.rows.get(rkey)
            if row is None or idx >= len(row.values) or not row.free(idx):
                continue
            value = row.values[idx]
            if hkey in _SHIFT_KEYS:
                half = float(perturb[_SHIFT_KEYS[hkey]])
                new = value + rng.uniform(-half, half)
            elif hkey in _SCALE_KEYS:
                low, high = perturb[_SCALE_KEYS[hkey]]
                new = value * rng.uniform(low, high)
            else:
                continue
            for low, high in [*_boxes(constraints, number, comp, rkey, idx, value), SANITY_LIMITS.get(hkey, (-math.inf, math.inf))]:
                new = min(max(new, low), high)
            row.values[idx] = float(new)
    return out


def _is_rate(header) -> bool:
    unit = str(header.get("BUNIT", "")).lower().replace(" ", "")
    return unit.endswith(_PER_SECOND)


def photon_scale(header, source) -> float:
    """Detected counts (electrons) per unit of the image: GAIN x NCOMBINE, times EXPTIME
    when BUNIT says the image is a rate (counts per second).

    NCOMBINE defaults to 1, as in GALFIT.  GALFIT itself ignores BUNIT (its photometry
    divides by EXPTIME as if the image held counts); only the photon noise needs the rate.

    Raises
    ------
    ValueError
        GAIN is absent or not positive, or the image is a rate without EXPTIME; the message
        names ``source`` and the keyword.
    """
    todo = "set refit.source_noise: false, or give the gain in the image's header and redo the fit so that HDU1 carries it"
    gain = header.get("GAIN")
    if gain is None or not float(gain) > 0:
        raise ValueError(f"{source}: GAIN: {'absent' if gain is None else f'{gain} is not positive'}; refit.source_noise needs the gain (e-/ADU) to draw the model's photon noise; {todo}")
    scale = float(gain) * float(header.get("NCOMBINE", 1))
    if _is_rate(header):
        exptime = header.get("EXPTIME")
        if exptime is None or not float(exptime) > 0:
            raise ValueError(f"{source}: EXPTIME: absent or not positive, but BUNIT {header['BUNIT']!r} is a rate; refit.source_noise needs it; {todo}")
        scale *= float(exptime)
    return scale


def source_noise(model, scale: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson noise of ``model`` in the image's units: ``(P(λ) - λ) / scale`` with
    ``λ = scale · max(model, 0)`` detected counts per pixel (zero mean)."""
    lam = np.clip(np.asarray(model, dtype=np.float64), 0.0, None) * scale
    return (rng.poisson(lam) - lam) / scale


class RefitPlan:
    """One target's re-fit settings, applied window by window.

    Parameters
    ----------
    refit : dict or None
        Settings of the step (:func:`step_settings`).
    seed : int
        The cleaning seed (each window derives its own streams).
    fit_header : FitHeader
        The original fit (FITSECT gives the shift into a window).
    original : Feedme or None
        The user's input file.
    constraints : str or None
        Text of the re-fit's constraint file (absolute boxes in the window's frame,
        :func:`galfit_unc.injection.refit_constraints`).
    frame_header : Header
        The header the original fit read (HDU1 of its image block: GAIN, NCOMBINE, EXPTIME, BUNIT).
    frame_source : str
        The frame's file, for messages.
    """

    def __init__(self, refit, seed, fit_header, original=None, constraints=None, frame_header=None, frame_source="frame"):
        self.settings = _settings(refit)
        if self.settings["start"] == "user" and original is None:
            self.settings["start"] = "perturbed"
        self.seed = seed
        x1, _, y1, _ = fit_header.fitsect
        self.shift = (x1 - 1, y1 - 1)
        self.original = original
        self.constraints = gf.parse_constraints(constraints, "re-fit constraints") if constraints else []
        self.scale = photon_scale(frame_header, frame_source) if self.settings["source_noise"] else None

    def start(self, feedme: gf.Feedme, name: str) -> gf.Feedme:
        """The re-fit's input file with the configured start."""
        start = self.settings["start"]
        if start == "user":
            return user_start(feedme, self.original, self.shift)
        if start == "perturbed":
            return perturbed_start(feedme, self.settings["perturb"], window_rng(self.seed, name, _PERTURB_STREAM), self.constraints)
        return feedme

    def inject_noise(self, injected, galaxy, name: str) -> np.ndarray:
        """``injected`` plus the galaxy light's own photon noise, when asked."""
        if self.scale is None:
            return injected
        return injected + source_noise(galaxy, self.scale, window_rng(self.seed, name, _NOISE_STREAM))


def _check_psf(path, source) -> None:
    where = f"{source}: refit.psfs: {path}"
    if not os.path.isfile(path):
        raise ValueError(f"{where}: not found (relative paths are relative to the working directory {os.getcwd()}); fix the path or remove it from the list")
    try:
        psf = load_psf(path)
    except gf.GalfitFormatError as exc:
        raise ValueError(f"{where}: not a PSF ({str(exc).split(': ', 2)[-1]})") from None
    if psf.shape[0] < 3 or psf.shape[1] < 3:
        raise ValueError(f"{where}: not a PSF (a {psf.shape[1]} x {psf.shape[0]} image); give a PSF image of the frame's sampling")


def check_refit(refit: dict | None, rows, source) -> None:
    """Refuse bad ``refit`` settings before any job runs.

    Every alternative PSF must exist and be a PSF image (2-D, finite, positive sum); with
    ``source_noise``, every frame that exists already must have GAIN (and EXPTIME when it is
    a rate).  Frames made by a rule are checked by the job that reads them.

    Raises
    ------
    ConfigError
        One line naming the configuration or the frame, the key and what to do.
    """
    refit = _settings(refit)
    try:
        for path in refit["psfs"]:
            _check_psf(str(path), source)
        if refit["source_noise"]:
            for row in rows:
                if os.path.exists(row["image"]):
                    photon_scale(read_frame_header(row["image"]), row["image"])
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def budget_rows(tables: dict[str, list[dict]], column: str = "std") -> list[dict]:
    """One row per object: its original magnitude and the σ (``column`` of
    ``uncertainties.tsv``) of every budget step.

    Parameters
    ----------
    tables : dict
        Step -> rows of that step's ``uncertainties.tsv`` (:func:`galfit_unc.tables.read_table`).
    column : str
        The statistic reported per step.
    """
    headline = tables[STEPS[-1]]
    by_step = {step: {str(r["object"]): r for r in rows} for step, rows in tables.items()}
    out = []
    for row in headline:
        obj = str(row["object"])
        # The table reader turns numeric ids into floats: write them back as written.
        name = str(int(row["object"])) if isinstance(row["object"], float) and row["object"].is_integer() else obj
        out.append({"object": name, "mag_original": row["mag_original"], **{step: by_step[step][obj][column] for step in STEPS}})
    return out

