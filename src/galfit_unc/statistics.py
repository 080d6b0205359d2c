"""Per-object magnitudes and the robust statistics of the re-fits (the tables that report
them are :mod:`galfit_unc.tables`).

See ``docs/statistics.md`` for the statistics, the flags and the warnings.
"""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np

from galfit_unc import galfit_files as gf
from galfit_unc.fitter.totals import sb_area, truncated_sersic_area

__all__ = [
    "natural_key",
    "combine_magnitudes",
    "component_magnitude",
    "truncation_of",
    "component_magnitude_error",
    "object_magnitudes",
    "object_formal_errors",
    "bootstrap_interval",
    "rms_about",
    "split_statistic",
    "misses_original",
    "window_sky_level",
    "summary_statistics",
    "circular_statistics",
]

#: Scale of the median absolute deviation to a Gaussian sigma.
MAD_TO_SIGMA = 1.4826
#: The keys of :func:`summary_statistics`.
STAT_KEYS = ("n_used", "median", "std", "mad_sigma", "p16", "p84", "bias")
#: Headline sigma (``stats.sigma``) -> the statistic it reports: the re-fits' standard
#: deviation, their MAD-based sigma, or their rms difference from the injected (original)
#: magnitude, which adds the re-fits' bias to their scatter.
SIGMA_CHOICES = {"std": "std", "robust": "mad_sigma", "rms": "rms"}
#: A split of the re-fits into two solutions: a gap between consecutive sorted values wider
#: than SPLIT_GAP pooled within-group standard deviations, with at least SPLIT_MIN values and
#: SPLIT_FRACTION of them on each side (see docs/statistics.md for its false-alarm rates).
SPLIT_GAP = 3.0
SPLIT_MIN = 3
SPLIT_FRACTION = 0.15
#: Smallest within-group spread a gap is measured against: magnitudes (mag), and the
#: log10 of Sersic indices and sizes (dex); closer solutions are not worth a warning.
SPLIT_FLOOR = {"mag": 0.01, "log": 0.01}
#: Shape parameters whose re-fits are tested for a split, in log10: index and sizes.
SPLIT_PARAMETERS = ("N", "RE", "RS", "FWHM")
#: Shape parameters whose original value is checked against the re-fits' p16-p84, with the
#: smallest shift of the re-fits' median worth a warning: log10 of index and sizes (dex),
#: axis ratio (linear).  Smaller shifts are common fitter biases, not a different solution.
RETURN_FLOOR = {"N": 0.05, "RE": 0.05, "RS": 0.05, "FWHM": 0.05, "AR": 0.05}
#: Fewest re-fits whose p16-p84 is trusted for that check (see docs/statistics.md for its
#: false-alarm rates).
RETURN_MIN = 8


def natural_key(text: str) -> list:
    """Sort key that orders digit runs by value: ``1, 2, 10`` and ``A, B, C``."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.findall(r"\d+|\D+", str(text))]


def combine_magnitudes(mags) -> float:
    """Magnitude of the summed flux: ``-2.5 log10 sum 10^(-0.4 m)``."""
    mags = np.asarray(list(mags), dtype=float)
    if mags.size == 0:
        raise ValueError("combine_magnitudes: no magnitudes given")
    return float(-2.5 * np.log10(np.sum(10.0 ** (-0.4 * mags))))


# Surface-brightness components: header keys of (reference brightness, size, shapes).
_SB_KEYS = {
    "edgedisk": ("MU_0", "RS", ("HS",)),
    "nuker": ("MU", "RB", ("ALPHA", "BETA", "GAMMA")),
    "king": ("MU_0", "RC", ("ALPHA", "RT")),
    "ferrer": ("MU_0", "ROUT", ("ALPHA", "BETA")),
}


def truncation_of(fit_header: gf.FitHeader, comp: gf.HeaderComponent) -> gf.HeaderComponent | None:
    """The truncation component (``radial``…) of a truncated component, else None."""
    numbers = comp.links.get("TOUTR") or comp.links.get("TINNR")
    return fit_header.component(numbers[0]) if numbers else None


def component_magnitude(comp: gf.HeaderComponent, platescale=None, truncation=None) -> float | None:
    """Total magnitude of one component, or None for a component without flux (sky, truncations).

    ``MAG`` where the component has one.  For edgedisk, nuker, king and ferrer, whose row 3
    is a surface brightness mu (mag/arcsec^2), the total is
    ``mu - 2.5 log10(A dx dy)`` with A the profile's area in pixels (analytic, see
    :func:`galfit_unc.fitter.totals.sb_area`) and ``platescale = (dx, dy)`` in
    arcsec/pixel (the fit's ``K)``); ``inf`` for a nuker whose total diverges.  A truncated
    Sersic (``sersic1``/``sersic3``, its ``truncation`` component given) has A integrated
    numerically (:func:`galfit_unc.fitter.totals.truncated_sersic_area`).
    """
    mag = comp.get("MAG")
    if mag is not None:
        return mag.value
    keys = _SB_KEYS.get(comp.base_type)
    truncated = "TOUTR" in comp.links or "TINNR" in comp.links
    if keys is None and not truncated:
        return None
    if platescale is None:
        raise gf.GalfitFormatError(f"component {comp.number}: a {comp.type} component's magnitude needs the plate scale (K) of the fit; give the frame's WCS")
    c0 = comp.get("C0")
    if truncated:
        if truncation is None:
            raise gf.GalfitFormatError(f"component {comp.number}: a {comp.type} component's magnitude needs its truncation component; give the whole fit")
        inner = "TINNR" in comp.links
        own = {key: truncation.get(key, comp.get(key)).value for key in ("XC", "YC", "AR", "PA")}
        area = truncated_sersic_area(
            comp["RE"].value, comp["N"].value if comp.get("N") is not None else 4.0, comp["AR"].value, comp["PA"].value,
            0.0 if c0 is None else c0.value,
            dict(dx=own["XC"] - comp["XC"].value, dy=own["YC"] - comp["YC"].value, t4=truncation["RBRK"].value,
                 t5=truncation.get("DSFT", truncation.get("RSFT")).value, q=own["AR"], pa=own["PA"],
                 radial2=truncation.base_type.startswith("radial2")),
            inner,
        )
        mu = comp["MUBRK" if inner else "MU_0"].value
        return mu - 2.5 * math.log10(area * platescale[0] * platescale[1])
    mu, size, shapes = keys
    area = sb_area(
        comp.base_type,
        comp[size].value,
        *(comp[k].value for k in shapes),
        q=comp["AR"].value if comp.base_type != "edgedisk" else 1.0,
        c0=0.0 if c0 is None else c0.value,
    )
    return comp[mu].value - 2.5 * math.log10(area * platescale[0] * platescale[1])


def component_magnitude_error(comp: gf.HeaderComponent, platescale=None, truncation=None) -> float | None:
    """Formal error of :func:`component_magnitude`: ``MAG``'s own, or for a surface-brightness
    component the first-order propagation of its parameters' errors (and its truncation's;
    taken as independent; derivatives by central differences).  None when no parameter has
    an error."""
    mag = comp.get("MAG")
    if mag is not None:
        return mag.error
    parts = [comp] if truncation is None else [comp, truncation]
    variance, any_error = 0.0, False
    for which, part in enumerate(parts):
        for pos, (key, hv) in enumerate(part.params):
            if hv.error is None or not math.isfinite(hv.error) or hv.kind == "fixed":
                continue
            any_error = True
            step = 1e-6 * max(abs(hv.value), 1.0)
            shifted = []
            for sign in (1.0, -1.0):
                params = list(part.params)
                params[pos] = (key, dataclasses.replace(hv, value=hv.value + sign * step))
                moved = [dataclasses.replace(part, params=params) if k == which else p for k, p in enumerate(parts)]
                shifted.append(component_magnitude(moved[0], platescale, *moved[1:]))
            variance += ((shifted[0] - shifted[1]) / (2 * step) * hv.error) ** 2
    return math.sqrt(variance) if any_error else None


def object_magnitudes(fit_header: gf.FitHeader, comp_ident: dict[int, str], platescale=None) -> dict[str, float]:
    """Magnitude of every object, combining the fluxes of its components.

    Parameters
    ----------
    fit_header : FitHeader
    comp_ident : dict
        Component number -> object id.
    platescale : (float, float), optional
        ``K)`` of the fit in arcsec/pixel; needed for surface-brightness components
        (see :func:`component_magnitude`).

    Returns
    -------
    dict
        Object id -> magnitude, objects in order of first appearance in ``comp_ident``.

    Raises
    ------
    GalfitFormatError
        A listed component is not in the fit or has no magnitude (e.g. sky).
    """
    per_object: dict[str, list[float]] = {}
    for number, obj in comp_ident.items():
        try:
            comp = fit_header.component(number)
        except KeyError:
            raise gf.GalfitFormatError(
                f"comp_ident: component {number}: not in the fit (it has {len(fit_header.components)} components); fix the component-object table"
            ) from None
        mag = component_magnitude(comp, platescale, truncation_of(fit_header, comp))
        if mag is None:
            raise gf.GalfitFormatError(
                f"comp_ident: component {number}: a {comp.type} component has no magnitude; list only components with a MAG"
            )
        per_object.setdefault(obj, []).append(mag)
    return {obj: combine_magnitudes(mags) for obj, mags in per_object.items()}


def object_formal_errors(fit_header: gf.FitHeader, comp_ident: dict[int, str], platescale=None) -> dict[str, float]:
    """GALFIT's formal magnitude error of every object, from its components' errors.

    The object's flux is the sum of its components' fluxes ``F_i``; their errors are taken as
    independent (GALFIT reports no covariances) and propagated to first order:
    ``sigma_m = sqrt(sum (F_i sigma_i)^2) / sum F_i``.  A component without an error (fixed
    or held by a constraint) adds nothing; an object none of whose components has one gets nan.
    Surface-brightness components: see :func:`component_magnitude_error`.
    """
    terms: dict[str, list[tuple[float, float | None]]] = {}
    for number, obj in comp_ident.items():
        comp = fit_header.component(number)
        trunc = truncation_of(fit_header, comp)
        mag = component_magnitude(comp, platescale, trunc)
        terms.setdefault(obj, []).append((10.0 ** (-0.4 * mag), component_magnitude_error(comp, platescale, trunc)))
    out = {}
    for obj, parts in terms.items():
        errors = [(flux, err) for flux, err in parts if err is not None and math.isfinite(err)]
        total = sum(flux for flux, _ in parts)
        out[obj] = math.sqrt(sum((flux * err) ** 2 for flux, err in errors)) / total if errors else math.nan
    return out


def _stats(values: np.ndarray, original: float) -> dict:
    n = values.size
    if n == 0:
        return {"n_used": 0, **{k: math.nan for k in STAT_KEYS[1:]}}
    median = float(np.median(values))
    p16, p84 = (float(v) for v in np.percentile(values, [16, 84]))
    return {
        "n_used": int(n),
        "median": median,
        "std": float(np.std(values, ddof=1)) if n > 1 else math.nan,
        "mad_sigma": MAD_TO_SIGMA * float(np.median(np.abs(values - median))),
        "p16": p16,
        "p84": p84,
        "bias": median - float(original),
    }


def _finite(values) -> np.ndarray:
    values = np.asarray(list(values), dtype=float)
    return values[np.isfinite(values)]


def summary_statistics(values, original) -> dict:
    """Robust summary of re-fit values (non-finite values are left out).

    Returns
    -------
    dict
        ``n_used``, ``median``, ``std`` (ddof 1; nan for fewer than 2 values),
        ``mad_sigma`` (1.4826 x median absolute deviation), ``p16``, ``p84`` and
        ``bias`` = median - ``original``.
    """
    return _stats(_finite(values), original)


def circular_statistics(pa_values, original, period: float = 180.0) -> dict:
    """:func:`summary_statistics` for angles defined modulo ``period``.

    The values are unwrapped around their circular mean, so a cluster straddling
    +-90 deg is not split; the results are then shifted by whole periods so the median
    lies within half a period of ``original``, making ``bias`` the shortest difference.
    """
    values = _finite(pa_values)
    if values.size == 0:
        return _stats(values, original)
    phase = 2 * np.pi * values / period
    centre = period * np.angle(np.mean(np.exp(1j * phase))) / (2 * np.pi)
    unwrapped = centre + (values - centre + period / 2) % period - period / 2
    median = np.median(unwrapped)
    shift = period * np.round((float(original) - median) / period)
    return _stats(unwrapped + shift, original)


# Spread estimators over the last axis; ``centre`` (the original magnitude) is used by rms.
def _mad_sigma(samples: np.ndarray, centre: float) -> np.ndarray:
    median = np.median(samples, axis=-1, keepdims=True)
    return MAD_TO_SIGMA * np.median(np.abs(samples - median), axis=-1)


def _std(samples: np.ndarray, centre: float) -> np.ndarray:
    return np.std(samples, axis=-1, ddof=1)


def _rms(samples: np.ndarray, centre: float) -> np.ndarray:
    return np.sqrt(np.mean((samples - centre) ** 2, axis=-1))


_ESTIMATORS = {"std": _std, "mad_sigma": _mad_sigma, "rms": _rms}


def rms_about(values, centre: float) -> float:
    """Root mean square of ``values - centre`` (non-finite values left out; nan for none)."""
    values = _finite(values)
    return float(_rms(values, float(centre))) if values.size else math.nan


def bootstrap_interval(values, statistic: str, resamples: int, seed, centre: float = math.nan) -> tuple[float, float]:
    """68 % percentile-bootstrap interval of a spread statistic of ``values``.

    Parameters
    ----------
    values : sequence of float
        Non-finite values are left out.
    statistic : {"std", "mad_sigma", "rms"}
        Sample standard deviation (ddof 1), 1.4826 x median absolute deviation, or the
        rms of ``values - centre``.
    resamples : int
        Number of resamples drawn with replacement.
    seed : int or sequence of int
        Seed of :func:`numpy.random.default_rng`: equal seeds give equal intervals.
    centre : float
        The reference of ``"rms"`` (the original magnitude).

    Returns
    -------
    tuple of float
        16th and 84th percentiles of the statistic over the resamples (nan, nan for fewer
        than two values).
    """
    values = _finite(values)
    if values.size < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    samples = values[rng.integers(0, values.size, size=(int(resamples), values.size))]
    lo, hi = np.percentile(_ESTIMATORS[statistic](samples, float(centre)), [16, 84])
    return float(lo), float(hi)


def split_statistic(values, floor: float) -> float:
    """Largest gap between consecutive sorted values, in pooled within-group std.

    Every cut leaving at least ``max(SPLIT_MIN, SPLIT_FRACTION * n)`` values on each side is
    tried; the gap at the cut is divided by the pooled standard deviation of the two groups
    (sums of squares over ``n - 2``), or by ``floor`` when that is larger.  Values above
    :data:`SPLIT_GAP` mean the re-fits fall into separate solutions.

    Returns
    -------
    float
        The largest ratio; 0 when there are too few values for two groups.
    """
    x = np.sort(_finite(values))
    n = x.size
    least = max(SPLIT_MIN, math.ceil(SPLIT_FRACTION * n))
    best = 0.0
    for k in range(least, n - least + 1):
        left, right = x[:k], x[k:]
        pooled = math.sqrt((np.sum((left - left.mean()) ** 2) + np.sum((right - right.mean()) ** 2)) / (n - 2))
        best = max(best, float(x[k] - x[k - 1]) / max(pooled, floor))
    return best


def misses_original(key: str, values, original: float) -> bool:
    """Whether re-fits of a shape parameter do not return to the original fit's value.

    True when there are at least :data:`RETURN_MIN` finite values, ``original`` lies outside
    their p16-p84 and their median is at least :data:`RETURN_FLOOR` ``[key]`` away from it
    (in log10 for index and sizes, linearly for the axis ratio ``AR``).
    """
    stats = summary_statistics(values, original)
    if stats["n_used"] < RETURN_MIN or stats["p16"] <= original <= stats["p84"]:
        return False
    median = stats["median"]
    if key == "AR":
        shift = abs(median - original)
    else:
        shift = abs(math.log10(median / original)) if median > 0 and original > 0 else math.inf
    return shift >= RETURN_FLOOR[key]


def window_sky_level(cleaned, bad=None) -> float:
    """Sky level of a cleaned window before injection: the mean of its usable pixels.

    It is the constant a least-squares fit of the cleaned window alone would return, so a
    re-fit's sky minus this level is what the fit made of the sky it was given.

    Parameters
    ----------
    cleaned : ndarray
        The cleaned cutout.
    bad : ndarray, optional
        The user's bad-pixel mask at the window (> 0 = bad, left out as GALFIT does).
    """
    cleaned = np.asarray(cleaned, dtype=np.float64)
    good = np.isfinite(cleaned)
    if bad is not None:
        good &= ~(np.asarray(bad) > 0)
    return float(cleaned[good].mean()) if good.any() else math.nan
