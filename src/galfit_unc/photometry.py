"""Per-object magnitudes, robust statistics of the re-fits and their TSV tables."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from galfit_unc import galfit_files as gf
from galfit_unc.fitter.totals import sb_area

__all__ = [
    "combine_magnitudes",
    "component_magnitude",
    "object_magnitudes",
    "summary_statistics",
    "circular_statistics",
    "write_table",
    "read_table",
    "magnitudes_rows",
    "uncertainties_rows",
    "parameters_rows",
]

#: Scale of the median absolute deviation to a Gaussian sigma.
MAD_TO_SIGMA = 1.4826
STAT_KEYS = ("n_used", "median", "std", "mad_sigma", "p16", "p84", "bias")
MAG_COLUMNS = ["region", "status", "reason", "chi2nu", "engine"]
UNC_COLUMNS = ["object", "mag_original", *STAT_KEYS]
PAR_COLUMNS = ["component", "type", "parameter", "value_original", *STAT_KEYS]


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


def component_magnitude(comp: gf.HeaderComponent, platescale=None) -> float | None:
    """Total magnitude of one component, or None for a component without flux (sky).

    ``MAG`` where the component has one.  For edgedisk, nuker, king and ferrer, whose row 3
    is a surface brightness mu (mag/arcsec^2), the total is
    ``mu - 2.5 log10(A dx dy)`` with A the profile's area in pixels (analytic, see
    :func:`galfit_unc.fitter.totals.sb_area`) and ``platescale = (dx, dy)`` in
    arcsec/pixel (the fit's ``K)``); ``inf`` for a nuker whose total diverges.
    """
    mag = comp.get("MAG")
    if mag is not None:
        return mag.value
    keys = _SB_KEYS.get(comp.base_type)
    if keys is None:
        return None
    if platescale is None:
        raise gf.GalfitFormatError(f"component {comp.number}: a {comp.type} component's magnitude needs the plate scale (K) of the fit; give the frame's WCS")
    mu, size, shapes = keys
    c0 = comp.get("C0")
    area = sb_area(
        comp.base_type,
        comp[size].value,
        *(comp[k].value for k in shapes),
        q=comp["AR"].value if comp.base_type != "edgedisk" else 1.0,
        c0=0.0 if c0 is None else c0.value,
    )
    return comp[mu].value - 2.5 * math.log10(area * platescale[0] * platescale[1])


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
        mag = component_magnitude(comp, platescale)
        if mag is None:
            raise gf.GalfitFormatError(
                f"comp_ident: component {number}: a {comp.type} component has no magnitude; list only components with a MAG"
            )
        per_object.setdefault(obj, []).append(mag)
    return {obj: combine_magnitudes(mags) for obj, mags in per_object.items()}


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


def _format_cell(value) -> str:
    if isinstance(value, (float, np.floating)):
        return "nan" if math.isnan(value) else f"{value:.4f}"
    if value is None:
        return ""
    # Tabs and newlines would break the TSV layout.
    return " ".join(str(value).split())


def write_table(path, rows: list[dict], columns: list[str], comments: dict) -> None:
    """Write ``# key: value`` comment lines, then a TSV table (floats as ``%.4f``).

    The output depends only on the arguments, so re-runs are byte-identical.
    """
    lines = [f"# {key}: {_format_cell(value)}" for key, value in comments.items()]
    lines.append("\t".join(columns))
    for row in rows:
        lines.append("\t".join(_format_cell(row.get(col)) for col in columns))
    Path(path).write_text("\n".join(lines) + "\n")


def _parse_cell(text: str):
    try:
        return float(text)
    except ValueError:
        return text


def read_table(path) -> tuple[list[dict], dict]:
    """Read a table written by :func:`write_table`: rows (numbers as float) and comments."""
    path = Path(path)
    comments: dict[str, str] = {}
    columns = None
    rows = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            comments[key.strip()] = value.strip()
            continue
        if not line.strip():
            continue
        cells = line.split("\t")
        if columns is None:
            columns = cells
            continue
        if len(cells) != len(columns):
            raise ValueError(f"{path}: line {lineno}: {len(cells)} cells for {len(columns)} columns; re-create the table")
        rows.append({col: _parse_cell(cell) for col, cell in zip(columns, cells)})
    return rows, comments


def _object_columns(comp_ident) -> list[str]:
    return [f"obj_{obj}" for obj in dict.fromkeys(comp_ident.values())]


def magnitudes_rows(original_header: gf.FitHeader, records: list[dict], comp_ident: dict[int, str], platescale=None) -> list[dict]:
    """One row per fit: the original first, then every region.

    Parameters
    ----------
    original_header : FitHeader
    records : list of dict
        ``{region, status, reason, chi2nu, engine, header}``; ``header`` is None for a
        failed fit, whose magnitudes are nan.
    comp_ident : dict
        Component number -> object id.
    platescale : (float, float), optional
        Plate scale of the fits (see :func:`object_magnitudes`).

    Returns
    -------
    list of dict
        Columns ``region status reason chi2nu engine obj_<id>…``.
    """
    columns = _object_columns(comp_ident)

    def row(region, status, reason, chi2nu, engine, header):
        mags = object_magnitudes(header, comp_ident, platescale) if header is not None and status != "failed" else {}
        out = {"region": region, "status": status, "reason": reason or "", "engine": engine or ""}
        out["chi2nu"] = math.nan if chi2nu is None else float(chi2nu)
        for obj, col in zip(dict.fromkeys(comp_ident.values()), columns):
            out[col] = mags.get(obj, math.nan)
        return out

    rows = [row("original", "original", "", original_header.chi2nu, "", original_header)]
    rows += [row(r["region"], r["status"], r.get("reason"), r.get("chi2nu"), r.get("engine"), r.get("header")) for r in records]
    return rows


def _used(status, use_flagged) -> bool:
    return status == "ok" or (use_flagged and status == "flagged")


def uncertainties_rows(mag_rows: list[dict], use_flagged: bool) -> list[dict]:
    """Statistics per object from :func:`magnitudes_rows` (status ok, plus flagged if asked)."""
    original = next((r for r in mag_rows if r["status"] == "original"), None)
    if original is None:
        raise ValueError("uncertainties: the magnitudes table has no 'original' row; re-create it")
    used = [r for r in mag_rows if _used(r["status"], use_flagged)]
    out = []
    for col in (c for c in original if c.startswith("obj_")):
        stats = summary_statistics([r[col] for r in used], original[col])
        out.append({"object": col[4:], "mag_original": original[col], **stats})
    return out


def parameters_rows(original_header: gf.FitHeader, records: list[dict], use_flagged: bool) -> list[dict]:
    """Statistics of every fitted (not fixed) parameter of every component.

    PA is treated as an angle modulo 180 deg (:func:`circular_statistics`). A key that
    repeats within a component is matched by its position among the component's cards.
    """
    headers = [r["header"] for r in records if r.get("header") is not None and _used(r["status"], use_flagged)]
    # Re-fits run on cutouts: their positions are shifted back into the original fit's frame.
    shifts = [
        {"XC": original_header.fitsect[0] - h.fitsect[0], "YC": original_header.fitsect[2] - h.fitsect[2]} for h in headers
    ]
    out = []
    for comp in original_header.components:
        refits = [
            (h.component(comp.number), shift) if comp.number in {c.number for c in h.components} else (None, shift)
            for h, shift in zip(headers, shifts)
        ]
        for pos, (key, original) in enumerate(comp.params):
            if original.kind == "fixed":
                continue
            values = [
                c.params[pos][1].value + shift.get(key, 0)
                for c, shift in refits
                if c is not None and len(c.params) > pos and c.params[pos][0] == key
            ]
            stats = circular_statistics(values, original.value) if key == "PA" else summary_statistics(values, original.value)
            out.append({"component": comp.number, "type": comp.type, "parameter": key, "value_original": original.value, **stats})
    return out


def summary_lines(tables: dict) -> list[str]:
    """Gather every target's ``uncertainties.tsv`` into one table.

    Parameters
    ----------
    tables : dict
        ``{(target, band): path}`` of ``uncertainties.tsv`` files, in output order.

    Returns
    -------
    list of str
        TSV lines: header ``target band <columns…>``, then every row of every table with
        its target and band first; cells are copied as the tables wrote them.
    """
    header, lines = None, []
    for (target, band), path in tables.items():
        body = [ln for ln in Path(path).read_text().splitlines() if ln.strip() and not ln.startswith("#")]
        if not body:
            raise ValueError(f"{path}: header: the table is empty; delete it and re-run the workflow")
        if header is None:
            header = body[0]
        elif body[0] != header:
            raise ValueError(f"{path}: header: columns differ from the other targets' tables; delete it and re-run the workflow")
        lines += [f"{target}\t{band}\t{line}" for line in body[1:]]
    return [f"target\tband\t{header}", *lines]
