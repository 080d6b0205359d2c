"""The workflow's TSV tables: their columns, their rows from the re-fits' records, reading
and writing them, and which re-fit values are usable.

``magnitudes.tsv`` has a row per fit, ``uncertainties.tsv`` a row per object and
``parameters.tsv`` a row per fitted parameter; the statistics they report are computed by
:mod:`galfit_unc.statistics`.  A value is *usable* (:func:`usable`) when its fit did not fail
and, unless ``stats.use_flagged``, it is not flagged for its object; every count and every
statistic of the tables, the check and the plots follows that one rule.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from galfit_unc import galfit_files as gf
from galfit_unc.records import FitRecord
from galfit_unc.runner import judge_header
from galfit_unc.statistics import (
    RETURN_FLOOR,
    SIGMA_CHOICES,
    SPLIT_FLOOR,
    SPLIT_GAP,
    SPLIT_PARAMETERS,
    STAT_KEYS,
    bootstrap_interval,
    circular_statistics,
    misses_original,
    natural_key,
    object_formal_errors,
    object_magnitudes,
    rms_about,
    split_statistic,
    summary_statistics,
)

__all__ = [
    "MAG_COLUMNS",
    "UNC_COLUMNS",
    "PAR_COLUMNS",
    "usable",
    "JudgedFit",
    "judge_records",
    "original_problems",
    "flagged_for",
    "write_table",
    "read_table",
    "magnitudes_rows",
    "uncertainties_rows",
    "parameters_rows",
    "summary_lines",
    "failure_reasons",
]

#: magnitudes.tsv, before one ``obj_<id>`` column per object.
MAG_COLUMNS = ["window", "status", "reason", "flag", "flagged_objects", "chi2nu", "engine"]
#: uncertainties.tsv.
UNC_COLUMNS = [
    "object", "mag_original", "n_used", "median", "sigma", "sigma_lo", "sigma_hi", "std", "mad_sigma", "p16", "p84", "bias",
    "sigma_formal", "sigma_ratio", "n_flagged", "n_iteration_limit", "warning",
]
#: parameters.tsv.
PAR_COLUMNS = ["component", "type", "parameter", "value_original", *STAT_KEYS]


def usable(status: str, flagged: bool, use_flagged: bool) -> bool:
    """Whether a re-fit's value enters the statistics.

    Parameters
    ----------
    status : str
        The fit's status (``ok``, ``flagged`` or ``failed``).
    flagged : bool
        Whether the value is flagged (for its object, its component, or the whole fit).
    use_flagged : bool
        ``stats.use_flagged``: flagged values count too.
    """
    return status != "failed" and (use_flagged or not flagged)


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


def read_table(path, text_columns=()) -> tuple[list[dict], dict]:
    """Read a table written by :func:`write_table`: rows (numbers as float) and comments.

    Cells of ``text_columns`` stay text (object ids such as ``2`` or ``007``)."""
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
        rows.append({col: cell if col in text_columns else _parse_cell(cell) for col, cell in zip(columns, cells)})
    return rows, comments


def _objects(comp_ident) -> list[str]:
    """Object ids in natural order."""
    return sorted(set(comp_ident.values()), key=natural_key)


@dataclass
class JudgedFit:
    """A re-fit judged against the original fit (:func:`judge_records`).

    Attributes
    ----------
    record : FitRecord
        The record with the status, reason, chi2nu and flags of the judgement.
    flagged_objects : set of str
        Objects whose values in this fit are flagged.
    flagged_components : set of int
        Component numbers whose values in this fit are flagged.
    """

    record: FitRecord
    flagged_objects: set = field(default_factory=set)
    flagged_components: set = field(default_factory=set)


def judge_records(original_header: gf.FitHeader, records: list[FitRecord], comp_ident: dict[int, str]) -> list[JudgedFit]:
    """Every re-fit record judged against the original fit, object by object.

    Parameters
    ----------
    original_header : FitHeader
    records : list of FitRecord
        With ``header`` (the re-fit's FitHeader) attached; None for a failed fit.
    comp_ident : dict
        Component number -> object id.

    Returns
    -------
    list of JudgedFit
        Each record judged by :func:`galfit_unc.runner.judge_header` (a failed one keeps
        its status and reason), with the sets of objects and component numbers whose values
        in this fit are flagged.  A new FLAGS value concerns the whole fit, so everything; a
        new ``*…*`` value concerns its component's object (all of its components), or
        everything when the component belongs to no object (the sky).
    """
    every = set(comp_ident.values())
    components = {c.number for c in original_header.components}
    out = []
    for record in records:
        if record.status == "failed" or record.header is None:
            out.append(JudgedFit(dataclasses.replace(record, status="failed", header=None, flag="")))
            continue
        verdict = judge_header(record.header, original_header)
        owners = {int(key.split("_", 1)[0]): comp_ident.get(int(key.split("_", 1)[0])) for key in verdict["new_suspect"]}
        if verdict["new_flags"] or None in owners.values():
            objects, numbers = set(every), set(components)
        else:
            objects = set(owners.values())
            numbers = {n for n, o in comp_ident.items() if o in objects}
        out.append(JudgedFit(dataclasses.replace(record, **verdict), objects, numbers))
    return out


def _flagged_cell(flagged: set, every: list[str]) -> str:
    if not flagged:
        return ""
    return "all" if flagged >= set(every) else " ".join(sorted(flagged, key=natural_key))


def flagged_for(row: dict, obj: str) -> bool:
    """Whether object ``obj``'s value in a :func:`magnitudes_rows` row is flagged."""
    cell = str(row.get("flagged_objects") or "")
    return cell == "all" or obj in cell.split()


def original_problems(header: gf.FitHeader) -> str:
    """The fit-quality FLAGS and ``*…*`` values of a fit, as a reason text ("" when none)."""
    parts = []
    if header.fit_flags:
        parts.append("FLAGS " + " ".join(header.fit_flags))
    if header.suspect:
        parts.append("suspect " + " ".join(header.suspect))
    return "; ".join(parts)


def magnitudes_rows(original_header: gf.FitHeader, records: list[FitRecord], comp_ident: dict[int, str], platescale=None) -> list[dict]:
    """One row per fit: the original first, then every window.

    Parameters
    ----------
    original_header : FitHeader
    records : list of FitRecord
        With ``header`` attached; None for a failed fit, whose magnitudes are nan.  Flags are judged again against the original
        (:func:`judge_records`).
    comp_ident : dict
        Component number -> object id.
    platescale : (float, float), optional
        Plate scale of the fits (see :func:`object_magnitudes`).

    Returns
    -------
    list of dict
        Columns ``window status reason flag flagged_objects chi2nu engine obj_<id>…``,
        objects in natural order.  The original's row gives its own FLAGS and ``*…*``
        values as its reason.
    """
    objects = _objects(comp_ident)

    def row(window, status, reason, flag, flagged, chi2nu, engine, header):
        mags = object_magnitudes(header, comp_ident, platescale) if header is not None and status != "failed" else {}
        out = {"window": window, "status": status, "reason": reason or "", "flag": flag or "", "flagged_objects": _flagged_cell(flagged, objects)}
        out["chi2nu"] = math.nan if chi2nu is None else float(chi2nu)
        out["engine"] = engine or ""
        for obj in objects:
            out[f"obj_{obj}"] = mags.get(obj, math.nan)
        return out

    rows = [row("original", "original", original_problems(original_header), "", set(), original_header.chi2nu, "", original_header)]
    for judged in judge_records(original_header, records, comp_ident):
        r = judged.record
        rows.append(row(r.window, r.status, r.reason, r.flag, judged.flagged_objects, r.chi2nu, r.engine, r.header))
    return rows


def _value(header: gf.FitHeader, number: int, key: str) -> float:
    """A parameter of a re-fit's component (nan when the re-fit lacks it)."""
    try:
        return header.component(number)[key].value
    except KeyError:
        return math.nan


def _object_warning(mags, stats, shape_values, originals) -> str:
    """Why an object's uncertainty should not be trusted as it is ('' when nothing is wrong).

    ``shape_values`` maps ``<component>_<key>`` to the re-fits' values, ``originals`` to the
    original fit's value.
    """
    split = []
    if split_statistic(mags, SPLIT_FLOOR["mag"]) > SPLIT_GAP:
        split.append("mag")
    for name, values in shape_values.items():
        if name.split("_", 1)[1] not in SPLIT_PARAMETERS:
            continue
        values = np.asarray(values, dtype=float)
        logs = np.log10(values[np.isfinite(values) & (values > 0)])
        if split_statistic(logs, SPLIT_FLOOR["log"]) > SPLIT_GAP:
            split.append(name)
    outside = ["mag"] if stats["n_used"] and not stats["p16"] <= stats["mag_original"] <= stats["p84"] else []
    outside += [name for name, values in shape_values.items() if misses_original(name.split("_", 1)[1], values, originals[name])]
    parts = [f"re-fits split: {' '.join(split)}"] if split else []
    if outside:
        parts.append(f"original outside p16-p84: {' '.join(outside)}")
    return "; ".join(parts)


def uncertainties_rows(
    original_header: gf.FitHeader,
    records: list[FitRecord],
    comp_ident: dict[int, str],
    *,
    use_flagged: bool,
    sigma: str = "std",
    bootstrap: int = 1000,
    seed: int = 0,
    platescale=None,
) -> list[dict]:
    """Statistics of every object's magnitude over a list of re-fit records.

    Parameters
    ----------
    original_header : FitHeader
        The user's fit: reference values, formal errors and the flags already present.
    records : list of FitRecord
        Re-fit records as for :func:`magnitudes_rows`.
    comp_ident : dict
        Component number -> object id.
    use_flagged : bool
        Whether values flagged for the object enter the statistics.
    sigma : {"std", "robust", "rms"}
        The headline ``sigma``: the sample std, the MAD-based robust sigma, or the rms of the
        re-fits' differences from ``mag_original``.
    bootstrap : int
        Resamples of the bootstrap interval of ``sigma``.
    seed : int
        Bootstrap seed; each object draws from ``(seed, crc32(object id))``.
    platescale : (float, float), optional
        Plate scale of the fits (see :func:`object_magnitudes`).

    Returns
    -------
    list of dict
        One row per object in natural order, keys :data:`UNC_COLUMNS`.
    """
    if sigma not in SIGMA_CHOICES:
        raise ValueError(f"stats.sigma: {sigma!r} is not known; use one of {', '.join(SIGMA_CHOICES)}")
    judged = judge_records(original_header, records, comp_ident)
    original = object_magnitudes(original_header, comp_ident, platescale)
    formal = object_formal_errors(original_header, comp_ident, platescale)
    fits = [j for j in judged if j.record.status != "failed"]
    magnitudes = [object_magnitudes(j.record.header, comp_ident, platescale) for j in fits]
    out = []
    for obj in _objects(comp_ident):
        used = [(j, m[obj]) for j, m in zip(fits, magnitudes) if usable(j.record.status, obj in j.flagged_objects, use_flagged)]
        mags = [mag for _, mag in used]
        stats = {"object": obj, "mag_original": original[obj], **summary_statistics(mags, original[obj])}
        key = SIGMA_CHOICES[sigma]
        stats["sigma"] = rms_about(mags, original[obj]) if key == "rms" else stats[key]
        stats["sigma_lo"], stats["sigma_hi"] = bootstrap_interval(mags, key, bootstrap, [seed, zlib.crc32(obj.encode())], centre=original[obj])
        stats["sigma_formal"] = formal[obj]
        stats["sigma_ratio"] = stats["sigma"] / formal[obj] if formal[obj] > 0 else math.nan
        flagged = [j for j in fits if obj in j.flagged_objects]
        stats["n_flagged"] = len(flagged)
        stats["n_iteration_limit"] = sum("1" in j.record.new_flags for j in flagged)
        shape_values, originals = {}, {}
        for number in (n for n, o in comp_ident.items() if o == obj):
            for key, value in original_header.component(number).params:
                if key in RETURN_FLOOR and value.kind != "fixed":
                    shape_values[f"{number}_{key}"] = [_value(j.record.header, number, key) for j, _ in used]
                    originals[f"{number}_{key}"] = value.value
        stats["warning"] = _object_warning(mags, stats, shape_values, originals)
        out.append(stats)
    return out


def parameters_rows(original_header: gf.FitHeader, records: list[FitRecord], use_flagged: bool, comp_ident: dict[int, str] | None = None) -> list[dict]:
    """Statistics of every fitted (not fixed) parameter of every component.

    PA is treated as an angle modulo 180 deg (:func:`circular_statistics`). A key that
    repeats within a component is matched by its position among the component's cards.
    A component's values are left out of a fit flagged for its object (see
    :func:`judge_records`; without ``comp_ident`` any flag concerns every component) unless
    ``use_flagged``.  The sky's ``SKY`` row is of each re-fit's sky minus its window's own
    level before injection (the record's ``sky_level``), so its ``bias`` says whether the
    sky was recovered; its ``value_original`` is the original fit's sky.
    """
    comp_ident = comp_ident or {}
    judged = [j for j in judge_records(original_header, records, comp_ident) if j.record.status != "failed"]
    out = []
    for comp in original_header.components:
        refits = []
        for j in judged:
            if not usable(j.record.status, comp.number in j.flagged_components, use_flagged):
                continue
            h = j.record.header
            # Re-fits run on cutouts: their positions are shifted back into the original fit's frame.
            shift = {"XC": original_header.fitsect[0] - h.fitsect[0], "YC": original_header.fitsect[2] - h.fitsect[2]}
            if comp.base_type == "sky":
                shift["SKY"] = -float(j.record.sky_level)
            refits.append((h.component(comp.number) if comp.number in {c.number for c in h.components} else None, shift))
        for pos, (key, original) in enumerate(comp.params):
            if original.kind == "fixed":
                continue
            values = [
                c.params[pos][1].value + shift.get(key, 0)
                for c, shift in refits
                if c is not None and len(c.params) > pos and c.params[pos][0] == key
            ]
            if key == "PA":
                stats = circular_statistics(values, original.value)
            else:
                # The sky level is compared with each window's own level: the reference is 0.
                reference = 0.0 if comp.base_type == "sky" and key == "SKY" else original.value
                stats = summary_statistics(values, reference)
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


def failure_reasons(rows, use_flagged: bool, top: int = 3) -> list[tuple[str, int]]:
    """The most common reasons why re-fits were not usable, with their counts.

    Parameters
    ----------
    rows : list of dict
        Rows of ``magnitudes.tsv`` (``status``, ``reason``); the original fit's row is skipped.
    use_flagged : bool
        Whether flagged fits count as usable (``stats.use_flagged``).
    top : int
        How many reasons to return.

    Returns
    -------
    list of (reason, count)
        Most common first; ties in the order the reasons first appear.
    """
    unusable = [r for r in rows if not usable(r["status"], r["status"] == "flagged", use_flagged)]
    counts = Counter((r.get("reason") or r["status"]) for r in unusable)
    return counts.most_common(top)
