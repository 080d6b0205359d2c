"""The targets table: one row per target and band, checked before the workflow runs.

The table is a TSV with a header line.  Required columns are :data:`REQUIRED`; the optional
columns :data:`OPTIONAL` may be absent or left empty.  Every problem is reported as one line
naming the file, the line, the column and what to do.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import jsonschema

from galfit_unc.config import load_schema, schema_problem
from galfit_unc.frames import read_frame_header
from galfit_unc.galfit_files import (
    GalfitFormatError,
    read_comp_ident,
    read_constraints,
    read_feedme,
    read_fit_header,
)
from galfit_unc.injection import check_refit_inputs, header_components

__all__ = ["REQUIRED", "OPTIONAL", "FILE_COLUMNS", "TargetsError", "read_targets", "check_files", "check_contents", "missing_files"]

REQUIRED = ("target", "band", "image", "imgblock", "psf", "constraints", "comp_ident")
OPTIONAL = ("feedme", "sky_in_model", "mask", "sigma")
#: Columns that name files (``constraints`` may also be ``none``).
FILE_COLUMNS = ("image", "imgblock", "psf", "constraints", "comp_ident", "feedme", "mask", "sigma")


class TargetsError(ValueError):
    """The targets table cannot be used; the message is one line for the user."""


def _where(path, lineno, row=None):
    who = f" (target {row.get('target')}, band {row.get('band')})" if row else ""
    return f"{path}: line {lineno}{who}"


def _validate_schema(rows, schema, path):
    validator = jsonschema.Draft202012Validator(load_schema(schema))
    for lineno, row in rows:
        error = next(iter(sorted(validator.iter_errors(row), key=lambda e: list(e.path))), None)
        if error is not None:
            column = error.path[0] if error.path else "row"
            raise TargetsError(f"{_where(path, lineno, row)}: column '{column}': {schema_problem(error)}")


def read_targets(path, schema=None) -> list[dict]:
    """Read and check the targets table.

    Parameters
    ----------
    path : path-like
        The TSV file.
    schema : path-like, optional
        JSON schema (YAML) of one row; every row is validated against it.

    Returns
    -------
    list of dict
        One dict per row, column -> text.  Optional columns left empty are omitted;
        ``constraints`` is ``None`` when the table says ``none``.

    Raises
    ------
    TargetsError
        Missing file or columns, unknown column, wrong number of cells, a value the schema
        refuses, or a repeated (target, band) pair.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise TargetsError(f"{path}: file: not found; set 'targets' in the config to the targets table") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise TargetsError(f"{path}: header: the table is empty; write a header line and one row per target and band")
    (head_no, head), body = lines[0], lines[1:]
    columns = [c.strip() for c in next(csv.reader([head], delimiter="\t"))]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise TargetsError(f"{path}: line {head_no}: missing column(s) {', '.join(missing)}; the header must name {' '.join(REQUIRED)} (tab-separated)")
    unknown = [c for c in columns if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise TargetsError(f"{path}: line {head_no}: unknown column(s) {', '.join(unknown)}; use only {' '.join(REQUIRED + OPTIONAL)}")
    rows = []
    for lineno, line in body:
        cells = [c.strip() for c in next(csv.reader([line], delimiter="\t"))]
        if len(cells) != len(columns):
            raise TargetsError(f"{path}: line {lineno}: {len(cells)} cells for {len(columns)} columns; separate the cells by single tabs")
        row = {c: v for c, v in zip(columns, cells) if v or c in REQUIRED}
        rows.append((lineno, row))
    if not rows:
        raise TargetsError(f"{path}: rows: no targets; add one row per target and band")
    if schema is not None:
        _validate_schema(rows, schema, path)
    seen = {}
    for lineno, row in rows:
        key = (row["target"], row["band"])
        if key in seen:
            raise TargetsError(f"{_where(path, lineno, row)}: columns 'target', 'band': the pair repeats line {seen[key]}; give each (target, band) one row")
        seen[key] = lineno
    out = []
    for _, row in rows:
        if row["constraints"].lower() == "none":
            row["constraints"] = None
        out.append(row)
    return out


def missing_files(rows, producible=lambda p: False) -> list[tuple[int, str, str]]:
    """Files named by the rows that neither exist nor are made by the workflow.

    Parameters
    ----------
    rows : list of dict
        From :func:`read_targets`.
    producible : callable
        ``producible(path) -> bool``: whether a rule of the workflow makes ``path``.

    Returns
    -------
    list of (row index, column, path)
    """
    out = []
    for i, row in enumerate(rows):
        for col in FILE_COLUMNS:
            value = row.get(col)
            if value and not os.path.exists(value) and not producible(value):
                out.append((i, col, value))
    return out


def check_files(rows, source, producible=lambda p: False) -> None:
    """Raise :class:`TargetsError` for the first file that is missing (see :func:`missing_files`)."""
    missing = missing_files(rows, producible)
    if missing:
        i, col, value = missing[0]
        row = rows[i]
        raise TargetsError(
            f"{source}: target {row['target']}, band {row['band']}: column '{col}': file {value} not found "
            f"(relative paths are relative to the working directory {os.getcwd()}); fix the path"
        )
    check_contents(rows, source)


def _image_shape(path) -> tuple[int, int]:
    """(rows, columns) of the first 2-D HDU of ``path``, from the headers alone."""
    header = read_frame_header(path)
    return header["NAXIS2"], header["NAXIS1"]


def _check_row(files: dict, feedme_named: bool) -> None:
    header = read_fit_header(files["imgblock"]) if "imgblock" in files else None
    feedme = read_feedme(files["feedme"]) if "feedme" in files else None
    if header is not None:
        numbers = [c.number for c in header.components]
        if "comp_ident" in files:
            read_comp_ident(files["comp_ident"], numbers)
        if "constraints" in files:
            # The re-fits' components (the input file's, else the header's) say what each
            # parameter name means; an input file still to be made leaves only their count.
            if feedme is not None:
                components = feedme.components
            elif not feedme_named:
                components = header_components(header)
            else:
                components = len(numbers)
            read_constraints(files["constraints"], components)
    if "image" not in files:
        return
    shape = _image_shape(files["image"])
    if header is not None:
        x1, x2, y1, y2 = header.fitsect
        if y2 - y1 + 1 > shape[0] or x2 - x1 + 1 > shape[1]:
            raise GalfitFormatError(
                f"{files['imgblock']}: FITSECT: the fitted region [{x1}:{x2},{y1}:{y2}] is larger than the frame "
                f"{files['image']} ({shape[1]} x {shape[0]} pixels); give the image block of a fit on this frame"
            )
    for kind in ("mask", "sigma"):
        if kind in files and _image_shape(files[kind]) != shape:
            raise GalfitFormatError(
                f"{files[kind]}: shape: {_image_shape(files[kind])} (rows, columns) differs from the frame's {shape}; "
                f"give the {kind} image of this frame"
            )


def check_contents(rows, source) -> None:
    """Read every existing file of the rows far enough to refuse bad inputs before any job runs.

    The image block's header, the comp_ident table and the constraint file (both against
    the block's components), the feedme, the frame's shape (from its headers; its pixels
    are checked by the mask stage), the fitted region against the frame, and the mask's and
    sigma image's shapes against the frame's, and what the re-fits inherit from the original
    fit (:func:`galfit_unc.injection.check_refit_inputs`).  Files that do not exist yet (made
    by a rule) are left to the rule that reads them.

    Raises
    ------
    TargetsError
        One line: the table, the row, then the file, the field and what to do.
    """
    for row in rows:
        files = {col: row[col] for col in FILE_COLUMNS if row.get(col) and os.path.exists(row[col])}
        try:
            _check_row(files, bool(row.get("feedme")))
            check_refit_inputs(files, bool(row.get("feedme")))
        except GalfitFormatError as exc:
            raise TargetsError(f"{source}: target {row['target']}, band {row['band']}: {exc}") from None
