"""A targets-table row and a proposed comp_ident table from a GALFIT image block
(``galfit-unc init``).

GALFIT records in HDU2 of its output block the files of the fit (``DATAIN``, ``PSF``,
``CONSTRNT``, ``INITFILE``, names relative to the folder GALFIT ran in) and every component's
centre.  :func:`resolve_inputs` finds those files beside the block (or takes the ones given by
hand), :func:`group_components` proposes objects from components whose centres coincide, and
:func:`add_target` writes the comp_ident table and appends the row after the checks the
workflow itself makes.
"""

from __future__ import annotations

import csv
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from galfit_unc.config import SCHEMAS
from galfit_unc.frames import read_frame_header
from galfit_unc.galfit_files import (
    GalfitFormatError,
    HeaderComponent,
    read_constraints,
    read_feedme,
    read_fit_header,
)
from galfit_unc.preflight import check_inputs, check_psf
from galfit_unc.targets import (
    OPTIONAL,
    REQUIRED,
    TargetsError,
    check_files,
    read_targets,
)

__all__ = ["InitError", "Inputs", "resolve_inputs", "group_components", "format_comp_ident", "near_pairs", "add_target", "table_path"]

#: Schema of a targets-table row, in the project's tree.
TARGETS_SCHEMA = SCHEMAS / "targets.schema.yaml"


class InitError(ValueError):
    """The row cannot be made; ``problems`` holds one line per problem."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass
class Inputs:
    """The files of a fit: column -> path (``constraints`` may be ``"none"``, ``feedme`` ``""``),
    where each came from, and notes for the user."""

    files: dict
    origin: dict
    notes: list = field(default_factory=list)


# column -> (header keyword, option, required)
_SOURCES = {
    "image": ("DATAIN", "--frame", True),
    "psf": ("PSF", "--psf", True),
    "constraints": ("CONSTRNT", "--constraints", False),
    "feedme": ("INITFILE", "--feedme", False),
}


def _named(value) -> str:
    """A header file name without GALFIT's optional image section (``gal.fits[1:100,1:100]``)."""
    value = (value or "").strip()
    if value.endswith("]") and "[" in value:
        value = value[: value.rindex("[")]
    return "" if value.lower() == "none" else value


def _readable(column, path, ncomponents) -> str:
    """Why ``path`` cannot serve as ``column`` (empty when it can)."""
    try:
        if column == "image":
            read_frame_header(path)
        elif column == "psf":
            check_psf(path)
        elif column == "constraints":
            read_constraints(path, ncomponents)
        elif column == "feedme":
            read_feedme(path)
    except GalfitFormatError as exc:
        return str(exc)
    except (OSError, ValueError, KeyError) as exc:
        return f"{path}: unreadable ({type(exc).__name__}: {exc})"
    return ""


def resolve_inputs(imgblock, given: dict | None = None) -> Inputs:
    """The frame, PSF, constraint file and input file of the fit in ``imgblock``.

    Parameters
    ----------
    imgblock : path-like
        GALFIT's output image block.
    given : dict, optional
        column -> path given by hand (``image``, ``psf``, ``constraints``, ``feedme``); a
        given ``constraints`` or ``feedme`` may be ``"none"``.

    Returns
    -------
    Inputs

    Raises
    ------
    InitError
        One line per file that is missing or unreadable, each naming the option that
        gives it by hand.
    GalfitFormatError
        The image block itself cannot be read.
    """
    imgblock = Path(imgblock)
    header = read_fit_header(imgblock)
    folder = imgblock.parent
    named = {"DATAIN": header.datain, "PSF": header.psf, "CONSTRNT": header.constrnt, "INITFILE": header.initfile}
    given = {k: v for k, v in (given or {}).items() if v}
    files, origin, notes, problems = {}, {}, [], []
    for column, (keyword, option, required) in _SOURCES.items():
        if column in given:
            value = given[column]
            if value.lower() == "none" and not required:
                files[column], origin[column] = ("none" if column == "constraints" else ""), f"{option} none"
                continue
            path, origin[column] = Path(value), f"given ({option})"
            if not path.exists():
                problems.append(f"{option}: {value} not found; check the path")
                continue
        else:
            name = _named(named[keyword])
            if not name:
                if required:
                    problems.append(f"{imgblock}: {keyword}: the header names no file; give it with {option} FILE")
                else:
                    files[column], origin[column] = ("none" if column == "constraints" else ""), f"{keyword} none"
                continue
            path = Path(name) if os.path.isabs(name) else folder / name
            origin[column] = f"{keyword} of the image block"
            if not path.exists():
                todo = f"give it with {option} FILE" + ("" if required else f" (or {option} none)")
                if required:
                    problems.append(f"{imgblock}: {keyword}: {name} not found in {folder}; {todo}")
                else:
                    # Optional in the targets table: the row goes without it, and the user hears so.
                    notes.append(f"{keyword} {name} not found in {folder}: the row leaves '{column}' {'none' if column == 'constraints' else 'empty'}; {todo}")
                    files[column] = "none" if column == "constraints" else ""
                continue
        why = _readable(column, path, len(header.components))
        if why:
            problems.append(f"{why}; or give another with {option} FILE")
            continue
        files[column] = str(path)
    for keyword, value in (("SIGMA", header.sigma), ("MASK", header.mask)):
        if _named(value):
            column = keyword.lower()
            notes.append(f"the fit used {keyword} {value}: if it covers the whole frame, add it to the row as column '{column}'")
    if problems:
        raise InitError(problems)
    return Inputs(files, origin, notes)


def _centre(comp: HeaderComponent):
    xc, yc = comp.get("XC"), comp.get("YC")
    return None if xc is None or yc is None else (xc.value, yc.value)


def group_components(components, distance: float = 1.0) -> tuple[list[list[HeaderComponent]], list[HeaderComponent]]:
    """Objects proposed from the components' centres.

    Components whose centres lie within ``distance`` pixels of each other, directly or through
    a chain of such neighbours, form one object; a component without a centre is an object
    alone.  The sky belongs to no object.

    Parameters
    ----------
    components : list of HeaderComponent
    distance : float
        Largest distance (pixels) between the centres of two components of one object.

    Returns
    -------
    objects : list of list of HeaderComponent
        In the order of each object's first component.
    sky : list of HeaderComponent
    """
    sky = [c for c in components if c.base_type == "sky"]
    comps = [c for c in components if c.base_type != "sky"]
    parent = list(range(len(comps)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    centres = [_centre(c) for c in comps]
    for i, a in enumerate(centres):
        for j in range(i + 1, len(comps)):
            b = centres[j]
            if a is not None and b is not None and math.dist(a, b) <= distance:
                parent[root(j)] = root(i)
    groups: dict[int, list] = {}
    for i, comp in enumerate(comps):
        groups.setdefault(root(i), []).append(comp)
    return list(groups.values()), sky


def near_pairs(objects, within: float) -> list[tuple[str, str, float]]:
    """Pairs of proposed objects whose closest centres are at most ``within`` pixels apart
    (the first object's number, the second's, the distance), closest first."""
    out = []
    for i, a in enumerate(objects):
        for j in range(i + 1, len(objects)):
            d = min(
                (math.dist(p, q) for p in map(_centre, a) for q in map(_centre, objects[j]) if p is not None and q is not None),
                default=math.inf,
            )
            if d <= within:
                out.append((str(i + 1), str(j + 1), d))
    return sorted(out, key=lambda t: t[2])


def format_comp_ident(objects, sky, distance: float, source) -> str:
    """The comp_ident table of ``objects`` (numbered from 1), a comment line per object."""
    lines = [
        f"# comp_ident proposed from {source}: components whose centres lie within {distance:g} pixel(s)",
        "# of each other form one object. Check it: join components of one galaxy that have other centres,",
        "# and write 'component -' to leave a component out of every object.",
    ]
    if sky:
        lines.append(f"# sky: component(s) {', '.join(str(c.number) for c in sky)}, in no object")
    lines.append("# component object")
    for n, members in enumerate(objects, 1):
        centre = _centre(members[0])
        at = f" at x {centre[0]:.2f}, y {centre[1]:.2f}" if centre else ""
        lines.append(f"# object {n}: component{'s' if len(members) > 1 else ''} " + ", ".join(f"{c.number} ({c.type})" for c in members) + at)
        lines += [f"{c.number} {n}" for c in members]
    return "\n".join(lines) + "\n"


def table_path(path) -> str:
    """``path`` as the targets table should name it: relative to the working directory when
    inside it, else absolute."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute)
    return absolute if relative.startswith("..") else relative


def _existing_columns(table: Path) -> list[str] | None:
    if not table.exists():
        return None
    for line in table.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return [c.strip() for c in next(csv.reader([line], delimiter="\t"))]
    return None


def _pairs(table: Path, columns: list[str]) -> set[tuple[str, str]]:
    """(target, band) of every row of an existing table."""
    if "target" not in columns or "band" not in columns:
        return set()
    it, ib = columns.index("target"), columns.index("band")
    lines = [ln for ln in table.read_text().splitlines() if ln.strip() and not ln.lstrip().startswith("#")][1:]
    cells = [[c.strip() for c in next(csv.reader([ln], delimiter="\t"))] for ln in lines]
    return {(c[it], c[ib]) for c in cells if len(c) > max(it, ib)}


def add_target(row: dict, comp_ident_text: str, comp_ident, table, force: bool = False) -> list[str]:
    """Write the comp_ident table and append ``row`` to the targets table.

    The row is first checked as the workflow checks it (columns, names, files and their
    contents); on a problem nothing is left written.

    Parameters
    ----------
    row : dict
        column -> value; ``comp_ident`` is filled here.
    comp_ident_text : str
    comp_ident : path-like
        Where the comp_ident table goes (an existing file is kept unless ``force``).
    table : path-like
        The targets table; created with its header line when absent.
    force : bool
        Overwrite an existing comp_ident file.

    Returns
    -------
    list of str
        Notes for the user (columns the existing table lacks).

    Raises
    ------
    InitError
    """
    table, comp_ident = Path(table), Path(comp_ident)
    if comp_ident.exists() and not force:
        raise InitError([f"{comp_ident}: file exists; give another path with --comp-ident, or --force to overwrite it"])
    row = {**row, "comp_ident": table_path(comp_ident)}
    columns = _existing_columns(table)
    notes = []
    if columns is None:
        columns = [c for c in REQUIRED + OPTIONAL if c in row]
    else:
        dropped = [c for c in row if c not in columns and row[c]]
        if dropped:
            notes.append(f"{table} has no column(s) {', '.join(dropped)}: left out of the row; add the column(s) to keep them")
        if (row["target"], row["band"]) in _pairs(table, columns):
            raise InitError([f"{table}: target {row['target']}, band {row['band']}: the pair has a row already; choose --target or --band, or edit the table"])
    line = "\t".join(row.get(c, "") for c in columns)
    comp_ident.parent.mkdir(parents=True, exist_ok=True)
    comp_ident.write_text(comp_ident_text)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            trial = Path(tmp, "targets.tsv")
            trial.write_text("\t".join(columns) + "\n" + line + "\n")
            rows = read_targets(trial, schema=TARGETS_SCHEMA if TARGETS_SCHEMA.exists() else None)
        check_files(rows, str(table))
        check_inputs(rows, str(table))
    except TargetsError as exc:
        comp_ident.unlink()
        raise InitError([str(exc).replace(str(trial), str(table))]) from None
    table.parent.mkdir(parents=True, exist_ok=True)
    new = not table.exists() or _existing_columns(table) is None
    with open(table, "a") as fh:
        if new:
            fh.write("\t".join(columns) + "\n")
        elif not table.read_text().endswith("\n"):
            fh.write("\n")
        fh.write(line + "\n")
    return notes
