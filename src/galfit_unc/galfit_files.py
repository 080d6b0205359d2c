"""GALFIT file formats, in one place.

Reads and writes GALFIT input files (feedme, ``.gal``, restart files ``galfit.NN``),
constraint files, the parameter header of an output image block (HDU2), FITSECT
strings and component-to-object tables.  Grammar follows GALFIT 3
(see the project README); GALFIT 2 input files use another numbering and are refused.

Every parse error is a :class:`GalfitFormatError` whose message is one line naming the
file, the field and what to do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from astropy.io import fits

__all__ = [
    "GalfitFormatError",
    "Row",
    "Component",
    "Feedme",
    "HeaderValue",
    "HeaderComponent",
    "FitHeader",
    "Constraint",
    "PARAMETERS",
    "COMPONENT_TYPES",
    "TRUNCATION_TYPES",
    "TRUNCATED_FLUX_KEY",
    "header_type",
    "truncation_links",
    "ROTATION_ROWS",
    "rotation_function",
    "CONTROL_KEYS",
    "parse_feedme",
    "read_feedme",
    "format_feedme",
    "format_number",
    "write_feedme",
    "parameter_table",
    "parse_header_value",
    "format_header_value",
    "parse_fit_header",
    "read_fit_header",
    "parse_fitsect",
    "format_fitsect",
    "region_slices",
    "parse_constraints",
    "read_constraints",
    "constraint_names",
    "SIZE_KEYS",
    "read_comp_ident",
    "IGNORE",
    "next_restart_name",
]


class GalfitFormatError(ValueError):
    """A GALFIT file could not be understood; the message is one line for the user."""


# --------------------------------------------------------------------------------------
# Parameter layout of every component type.
#
# Each entry is (header key, feedme row, index within the row).  The header key is the
# suffix of GALFIT's HDU2 keyword (``3_MAG`` -> ``MAG``).  Hidden rows (C0, Fm, Bm, R*, T*)
# are handled generically: see ``_hidden_parameters``.
# --------------------------------------------------------------------------------------
_POS = (("XC", "1", 0), ("YC", "1", 1))
PARAMETERS: dict[str, tuple[tuple[str, str, int], ...]] = {
    "sersic": _POS + (("MAG", "3", 0), ("RE", "4", 0), ("N", "5", 0), ("AR", "9", 0), ("PA", "10", 0)),
    "devauc": _POS + (("MAG", "3", 0), ("RE", "4", 0), ("AR", "9", 0), ("PA", "10", 0)),
    "expdisk": _POS + (("MAG", "3", 0), ("RS", "4", 0), ("AR", "9", 0), ("PA", "10", 0)),
    "gaussian": _POS + (("MAG", "3", 0), ("FWHM", "4", 0), ("AR", "9", 0), ("PA", "10", 0)),
    "moffat": _POS + (("MAG", "3", 0), ("FWHM", "4", 0), ("POW", "5", 0), ("AR", "9", 0), ("PA", "10", 0)),
    "psf": _POS + (("MAG", "3", 0),),
    "sky": (("SKY", "1", 0), ("DSDX", "2", 0), ("DSDY", "3", 0)),
    # GALFIT 3.0.5 names the central surface brightness MU_0 and nuker's mu(Rb) MU; it
    # leaves king's out of the header, where it is written as MU_0 here.
    "edgedisk": _POS + (("MU_0", "3", 0), ("HS", "4", 0), ("RS", "5", 0), ("PA", "10", 0)),
    "nuker": _POS
    + (("MU", "3", 0), ("RB", "4", 0), ("ALPHA", "5", 0), ("BETA", "6", 0), ("GAMMA", "7", 0), ("AR", "9", 0), ("PA", "10", 0)),
    "king": _POS + (("MU_0", "3", 0), ("RC", "4", 0), ("RT", "5", 0), ("ALPHA", "6", 0), ("AR", "9", 0), ("PA", "10", 0)),
    "ferrer": _POS + (("MU_0", "3", 0), ("ROUT", "4", 0), ("ALPHA", "5", 0), ("BETA", "6", 0), ("AR", "9", 0), ("PA", "10", 0)),
    # Truncations (``T0) radial`` starts one): T4) the break radius (99 % of the profile),
    # T5) the softening length (radial) or radius (radial2) where 1 % is left.  T1)
    # position, T9) axis ratio and T10) PA are optional (the linked component's by default).
    "radial": (("RBRK", "T4", 0), ("DSFT", "T5", 0)),
    "radial-b": (("RBRK", "T4", 0), ("DSFT", "T5", 0)),
    "radial2": (("RBRK", "T4", 0), ("RSFT", "T5", 0)),
    "radial2-b": (("RBRK", "T4", 0), ("RSFT", "T5", 0)),
}
COMPONENT_TYPES = tuple(PARAMETERS)
#: Truncation types: started by ``T0)``, linked to components by their ``To)``/``Ti)`` rows.
TRUNCATION_TYPES = ("radial", "radial-b", "radial2", "radial2-b")
_TRUNCATION_OPTIONAL = (("XC", "T1", 0), ("YC", "T1", 1), ("AR", "T9", 0), ("PA", "T10", 0))
#: Header key of row 3) of a component truncated outside (central surface brightness) or
#: inside (surface brightness at the truncation's break radius), as GALFIT 3.0.5 writes them.
TRUNCATED_FLUX_KEY = {"To": "MU_0", "Ti": "MUBRK"}
#: Coordinate rotation: R0) names the function (header ROTF), the other rows are
#: (header key, row); R4) is ALPHA for ``power`` and RWS for ``log``.
ROTATION_ROWS = (("RIN", "R1"), ("ROUT", "R2"), ("RANG", "R3"), ("R4", "R4"), ("INCL", "R9"), ("SPA", "R10"))
_ROTATION_R4 = {"power": "ALPHA", "log": "RWS"}

#: Control keys of a GALFIT 3 input file.
CONTROL_KEYS = tuple("ABCDEFGHIJKOP")

_ROW_KEY = re.compile(r"^(?:\d{1,2}|Z|C0|[FB]\d{1,2}|R\d{1,2}|T[io]?\d{0,2})$")
_SUFFIXED_TYPE = re.compile(r"^([a-z]+?)(\d?)$")
# GALFIT's image-block type of a truncated component: ``sersic1 \`` (outer), ``sersic3 /`` (inner).
_TRUNCATED_TYPE = re.compile(r"^([a-z]+)(\d)\s*([\\/])$")
_TRUNCATED_SUFFIX = {"To": "1 \\", "Ti": "3 /"}
# Constraint-file names of the classical parameters (rows 1)-10), a truncation's T rows) ->
# the header keys they reach; a name reaches the first of its keys a component has, so it
# follows the component's type (alpha: nuker 5), king 6), ferrer 5); rs: edgedisk 5)).
# GALFIT lets "re" and "rs" stand for any size ("it doesn't matter"), hence the list.
#: Header keys of a component's size, its row 4) (an edgedisk's RS is its row 5)).
SIZE_KEYS = ("RE", "RS", "FWHM", "RB", "RC", "ROUT")
_FLUX_KEYS = ("MAG", "MU", "MU_0", "MUBRK")
_CONSTRAINT_NAMES = {
    "x": ("XC",),
    "y": ("YC",),
    "mag": _FLUX_KEYS,
    "mu": _FLUX_KEYS,
    "sky": ("SKY",),
    "re": SIZE_KEYS,
    "rs": SIZE_KEYS,
    "fwhm": ("FWHM",),
    "rb": ("RB",),
    "rc": ("RC",),
    "rt": ("RT",),
    "rout": ("ROUT",),
    "hs": ("HS",),
    # Moffat's power law is row 5) like Sersic's n; "alpha" is left to the profiles
    # GALFIT writes ALPHA for.
    "n": ("N", "POW"),
    "alpha": ("ALPHA",),
    "beta": ("BETA",),
    "gamma": ("GAMMA",),
    "q": ("AR",),
    "ar": ("AR",),
    "pa": ("PA",),
}
# Names of rows rather than of parameters: a row number, C0 (GALFIT's "c"), Fourier mode m
# (f<m> or f<m>a its amplitude, f<m>p its phase), bending mode b<m>, rotation r<k>,
# truncation t<k>.
_CONSTRAINT_ROW_NAME = re.compile(r"\d{1,2}|c0?|f\d{1,2}[ap]?|[brt]\d{1,2}")
# Rows that name something instead of holding a number.
_CONSTRAINT_NOT_PARAMETERS = {"0": "the component type", "r0": "the rotation function", "t0": "the truncation type"}


def _err(source, field_, problem, todo):
    return GalfitFormatError(f"{source}: {field_}: {problem}; {todo}")


def _is_number(tok: str) -> bool:
    try:
        float(tok)
    except ValueError:
        return False
    return True


def _strip_comment(line: str) -> str:
    return line.split("#", 1)[0].strip()


# ======================================================================================
# Input files (feedme / .gal / galfit.NN)
# ======================================================================================
@dataclass
class Row:
    """One parameter row of a component, e.g. ``1) 46.5 48.2 1 1``.

    Parameters
    ----------
    key : str
        Row key as written: ``"1"`` … ``"10"``, ``"Z"``, ``"C0"``, ``"F1"``, ``"B2"``,
        ``"R0"``, ``"To"``…
    values : list of float
        Numeric values.
    toggles : list of int
        Fit toggles (1 free, 0 fixed; other non-zero integers are kept and mean free).
        Empty when the row has none (``Z)``).
    text : str or None
        Non-numeric content (``R0) powerlaw``), kept verbatim.
    comment : str
        The comment after ``#``, kept for readability only.
    """

    key: str
    values: list[float]
    toggles: list[int] = field(default_factory=list)
    text: str | None = None
    comment: str = ""

    def free(self, index: int = 0) -> bool:
        """Whether value ``index`` is free (a missing toggle means fixed)."""
        return index < len(self.toggles) and self.toggles[index] != 0


@dataclass
class Component:
    """One ``0) type`` block of an input file; rows in file order."""

    type: str
    rows: dict[str, Row] = field(default_factory=dict)
    comment: str = ""

    @property
    def base_type(self) -> str:
        """Type without GALFIT's numeric suffix (``sersic2`` -> ``sersic``); truncation types as they are."""
        return self.type if self.type in TRUNCATION_TYPES else _SUFFIXED_TYPE.match(self.type).group(1)

    @property
    def truncations(self) -> dict[str, list[int]]:
        """``{"To": [numbers], "Ti": [numbers]}`` of the truncation components (1-based) linked here."""
        return {key: [int(v) for v in self.rows[key].values] for key in ("To", "Ti") if key in self.rows}

    @property
    def skip(self) -> bool:
        """``Z) 1``: left out of the output model."""
        row = self.rows.get("Z")
        return bool(row and row.values and row.values[0] != 0)

    def value(self, row: str, index: int = 0) -> float:
        return self.rows[row].values[index]

    def set_value(self, row: str, index: int, value: float) -> None:
        self.rows[row].values[index] = float(value)


@dataclass
class Feedme:
    """A parsed GALFIT input file.

    ``control`` maps the control letters (``"A"`` … ``"P"``) to their raw value strings
    (comment removed); the properties below give typed views of them.
    """

    control: dict[str, str]
    components: list[Component]
    source: str = "<feedme>"

    # -- typed views of the control block --------------------------------------------
    def _path(self, key):
        raw = self.control.get(key, "").split()
        if not raw or raw[0].lower() == "none":
            return None
        return raw[0]

    @property
    def input_image(self) -> str | None:
        return self._path("A")

    @property
    def output_block(self) -> str | None:
        return self._path("B")

    @property
    def sigma(self) -> str | None:
        return self._path("C")

    @property
    def psf(self) -> str | None:
        return self._path("D")

    @property
    def mask(self) -> str | None:
        return self._path("F")

    @property
    def constraints(self) -> str | None:
        return self._path("G")

    @property
    def finesample(self) -> int:
        return int(float(self._numbers("E", 1, default=[1])[0]))

    @property
    def region(self) -> tuple[int, int, int, int]:
        """H) as ``(x1, x2, y1, y2)``, 1-based inclusive."""
        return tuple(int(round(v)) for v in self._numbers("H", 4))

    @property
    def convbox(self) -> tuple[int, int]:
        return tuple(int(round(v)) for v in self._numbers("I", 2))

    @property
    def zeropoint(self) -> float:
        return self._numbers("J", 1)[0]

    @property
    def platescale(self) -> tuple[float, float]:
        # K) may give one scale for both axes.
        two = len(self.control.get("K", "").split()) > 1
        vals = self._numbers("K", 2 if two else 1)
        return (vals[0], vals[-1])

    @property
    def mode(self) -> int:
        return int(self._numbers("P", 1, default=[0])[0])

    def _numbers(self, key, count, default=None):
        raw = self.control.get(key)
        if raw is None:
            if default is not None:
                return default
            raise _err(self.source, f"{key})", "missing", f"add a {key}) line with {count} number(s)")
        toks = raw.split()
        try:
            vals = [float(t) for t in toks[:count]]
        except ValueError:
            raise _err(self.source, f"{key})", f"expected {count} number(s), got {raw!r}", "fix the value") from None
        if len(vals) < count:
            raise _err(self.source, f"{key})", f"expected {count} number(s), got {raw!r}", "fix the value")
        return vals


def _split_row(line):
    """``' 1) 46.5 48.2 1 1  # Position'`` -> ``('1', '46.5 48.2 1 1', 'Position')``."""
    body, _, comment = line.partition("#")
    m = re.match(r"^\s*([A-Za-z0-9]+)\)\s*(.*)$", body)
    if not m:
        return None
    return m.group(1), m.group(2).strip(), comment.strip()


def parse_feedme(text: str, source: str = "<feedme>") -> Feedme:
    """Parse the text of a GALFIT 3 input file.

    Parameters
    ----------
    text : str
        The file's text.
    source : str
        Name used in error messages (normally the path).

    Returns
    -------
    Feedme

    Raises
    ------
    GalfitFormatError
        Unknown control key, row key or component type; a GALFIT 2 file; a malformed row.
    """
    control: dict[str, str] = {}
    components: list[Component] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not _strip_comment(line):
            continue
        parts = _split_row(line)
        if parts is None:
            # Banners ("=====") and free text are ignored, as GALFIT does.
            continue
        key, rest, comment = parts
        where = f"line {lineno} '{key})'"
        if key in ("0", "T0"):  # a component, or a truncation component (T0) radial ...)
            ctype = rest.split()[0].lower() if rest.split() else ""
            m = _SUFFIXED_TYPE.match(ctype)
            known = ctype in TRUNCATION_TYPES if key == "T0" else bool(m and m.group(1) in PARAMETERS)
            if not known:
                raise _err(
                    source,
                    f"line {lineno} component {len(components) + 1}",
                    f"unknown {'truncation' if key == 'T0' else 'component'} type {ctype!r}",
                    "use one of " + ", ".join(TRUNCATION_TYPES if key == "T0" else COMPONENT_TYPES),
                )
            components.append(Component(type=ctype, comment=comment))
            continue
        if not components:
            if key == "S" or key == "N":
                raise _err(source, where, "this is a GALFIT 2 input file (control key S/N)", "convert it to GALFIT 3 numbering")
            if key not in CONTROL_KEYS:
                raise _err(source, where, f"unknown control key {key!r}", "use A)-K), O), P)")
            control[key] = rest
            continue
        if not _ROW_KEY.match(key):
            raise _err(source, where, f"unknown parameter key {key!r} in component {len(components)}", "fix or remove the line")
        toks = rest.split()
        nums = []
        text_value = None
        for t in toks:
            if _is_number(t):
                nums.append(float(t))
            elif text_value is None and not nums:
                text_value = t
            else:
                raise _err(source, where, f"cannot read {rest!r}", "write numbers: values then fit toggles")
        # Z) and the truncation links To)/Ti) (component numbers) carry no fit toggles.
        nval = len(nums) if key in ("Z", "To", "Ti") else (len(nums) + 1) // 2
        values, toggles = nums[:nval], nums[nval:]
        if any(t != int(t) for t in toggles):
            raise _err(source, where, f"fit toggles must be integers, got {rest!r}", "use 1 (free) or 0 (fixed)")
        components[-1].rows[key] = Row(key, values, [int(t) for t in toggles], text_value, comment)
    fm = Feedme(control, components, source)
    _check_galfit3(fm)
    for i, comp in enumerate(fm.components, 1):
        if comp.base_type in TRUNCATION_TYPES:
            continue  # its rows are checked with its links, in fitter.render.check_supported
        for hkey, row, idx in PARAMETERS[comp.base_type]:
            if comp.base_type == "sky" and row not in comp.rows:
                comp.rows[row] = Row(row, [0.0], [0])
                continue
            if row not in comp.rows or len(comp.rows[row].values) <= idx:
                raise _err(source, f"component {i} ({comp.type}) row {row})", f"missing value for {hkey}", "add the row")
    return fm


def _check_galfit3(fm: Feedme) -> None:
    # GALFIT 2 numbered q as 8) and PA as 9) (with 10) = boxiness) and had no 9) for q.
    for i, comp in enumerate(fm.components, 1):
        if comp.base_type in ("sersic", "devauc", "expdisk", "gaussian", "moffat"):
            if "8" in comp.rows and "9" in comp.rows and "10" in comp.rows:
                q = comp.rows["8"].values[0] if comp.rows["8"].values else 0.0
                if 0 < q <= 1 and comp.rows["9"].values and abs(comp.rows["9"].values[0]) > 1:
                    raise _err(
                        fm.source,
                        f"component {i} ({comp.type}) rows 8)-10)",
                        "GALFIT 2 numbering (8) axis ratio, 9) PA, 10) boxiness)",
                        "convert to GALFIT 3: 9) axis ratio, 10) PA, C0) boxiness",
                    )
            if "8" in comp.rows and "9" not in comp.rows:
                raise _err(
                    fm.source,
                    f"component {i} ({comp.type}) row 8)",
                    "GALFIT 2 numbering (8) axis ratio)",
                    "convert to GALFIT 3: 9) axis ratio, 10) PA",
                )


def read_feedme(path) -> Feedme:
    """Read a GALFIT input file from ``path`` (see :func:`parse_feedme`)."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise GalfitFormatError(f"{path}: file: not found; check the path") from None
    except UnicodeDecodeError:
        raise GalfitFormatError(f"{path}: file: not a text file; give a GALFIT input file") from None
    return parse_feedme(text, str(path))


def format_number(v: float) -> str:
    """A number as an input file carries it: whole numbers as ``%.4f`` (GALFIT's own style),
    others as the shortest text that reads back as the same float."""
    v = float(v)
    if v == int(v) and abs(v) < 1e7:
        return f"{v:.4f}"
    return repr(v)


_CONTROL_COMMENTS = {
    "A": "Input data image (FITS file)",
    "B": "Output data image block",
    "C": "Sigma image name (made from data if blank or none)",
    "D": "Input PSF image and (optional) diffusion kernel",
    "E": "PSF fine sampling factor relative to data",
    "F": "Bad pixel mask (FITS image or ASCII coord list)",
    "G": "File with parameter constraints (ASCII file)",
    "H": "Image region to fit (xmin xmax ymin ymax)",
    "I": "Size of the convolution box (x y)",
    "J": "Magnitude photometric zeropoint",
    "K": "Plate scale (dx dy)   [arcsec per pixel]",
    "O": "Display type (regular, curses, both)",
    "P": "Choose: 0=optimize, 1=model, 2=imgblock, 3=subcomps",
}


def format_feedme(fm: Feedme, header: str | None = None) -> str:
    """Write a :class:`Feedme` as GALFIT 3 input text (full precision, all rows kept)."""
    out = []
    if header:
        out += [f"#  {line}" for line in header.splitlines()] + [""]
    out.append("=" * 80)
    out.append("# IMAGE and GALFIT CONTROL PARAMETERS")
    for key in CONTROL_KEYS:
        if key in fm.control:
            out.append(f"{key}) {fm.control[key]:<18s} # {_CONTROL_COMMENTS[key]}")
    out.append("")
    for i, comp in enumerate(fm.components, 1):
        out.append(f"# Component number: {i}")
        if comp.type in TRUNCATION_TYPES:
            out.append(f"T0) {comp.type:<22s} #  Truncation type")
        else:
            out.append(f" 0) {comp.type:<22s} #  Component type")
        for row in comp.rows.values():
            whole = row.key in ("Z", "To", "Ti")
            vals = " ".join(str(int(v)) if whole else format_number(v) for v in row.values)
            if row.text is not None:
                vals = (row.text + " " + vals).strip()
            togs = " ".join(str(t) for t in row.toggles)
            body = f"{vals}  {togs}".rstrip()
            comment = f"  # {row.comment}" if row.comment else ""
            out.append(f"{row.key:>2s}) {body:<22s}{comment}".rstrip())
        out.append("")
    out.append("=" * 80)
    return "\n".join(out) + "\n"


def write_feedme(fm: Feedme, path, header: str | None = None) -> None:
    """Write ``fm`` to ``path`` (see :func:`format_feedme`)."""
    Path(path).write_text(format_feedme(fm, header))


def rotation_function(comp: Component) -> str | None:
    """The coordinate rotation's function from ``R0)``: ``"power"`` (also written
    ``powerlaw``) or ``"log"``; None without R0) or with ``R0) none``; any other text as
    written, lower case (its parameters are then not listed: their layout is not known).
    """
    row = comp.rows.get("R0")
    text = (row.text or "").lower() if row is not None else "none"
    for name in ("power", "log", "none"):
        if text.startswith(name):
            return None if name == "none" else name
    return text


def _hidden_parameters(comp: Component):
    """Hidden-row parameters as (header key, row, index): the coordinate rotation (first,
    as in GALFIT's header; not on the sky, which has no centre to turn about), C0, Fm
    amplitude/phase, Bm."""
    func = rotation_function(comp)
    out = []
    if func in _ROTATION_R4 and comp.base_type != "sky":
        out += [(_ROTATION_R4[func] if key == "R4" else key, row, 0) for key, row in ROTATION_ROWS]
    for key, row in comp.rows.items():
        if key == "C0":
            out.append(("C0", key, 0))
        elif key[0] == "F" and key[1:].isdigit():
            out += [(key, key, 0), (key + "PA", key, 1)]
        elif key[0] == "B" and key[1:].isdigit():
            out.append((key, key, 0))
    return out


def parameter_table(comp: Component) -> list[tuple[str, str, int]]:
    """All fitted parameters of ``comp`` as ``(header key, row key, index)``, in header order.

    Row 3) of a truncated component is a surface brightness (:data:`TRUNCATED_FLUX_KEY`).
    """
    if comp.base_type in TRUNCATION_TYPES:
        optional = [p for p in _TRUNCATION_OPTIONAL if p[1] in comp.rows]
        return [p for p in optional if p[1] == "T1"] + list(PARAMETERS[comp.base_type]) + [p for p in optional if p[1] != "T1"]
    table = list(PARAMETERS[comp.base_type])
    for link, key in TRUNCATED_FLUX_KEY.items():
        if link in comp.rows:
            table = [(key if row == "3" else h, row, idx) for h, row, idx in table]
    return table + _hidden_parameters(comp)


def header_type(comp: Component) -> str:
    """The type GALFIT writes in COMP_i: ``sersic1 \\`` / ``sersic3 /`` for a truncated component."""
    for link, suffix in _TRUNCATED_SUFFIX.items():
        if link in comp.rows:
            return comp.base_type + suffix
    return comp.type


def truncation_links(components: list[Component]) -> list[dict[str, str]]:
    """Per component, the header's text keys of the truncation links, as GALFIT writes them.

    A truncated component gets ``TOUTR``/``TINNR`` (truncation numbers), a truncation
    ``INNER`` and ``OUTER`` (the numbers of the components it truncates, ``0`` for none).
    """
    out = [{} for _ in components]
    for i, comp in enumerate(components):
        for link, key in (("To", "TOUTR"), ("Ti", "TINNR")):
            if link in comp.rows:
                out[i][key] = " " + " ".join(str(int(v)) for v in comp.rows[link].values)
        if comp.base_type in TRUNCATION_TYPES:
            for link, key in (("Ti", "INNER"), ("To", "OUTER")):
                users = [j + 1 for j, c in enumerate(components) if i + 1 in c.truncations.get(link, [])]
                out[i][key] = " " + " ".join(map(str, users)) if users else "0"
    return out


# ======================================================================================
# Image block header (HDU2)
# ======================================================================================
@dataclass
class HeaderValue:
    """A parameter value from an image-block header.

    ``kind`` is ``"free"`` (``v +/- e``), ``"fixed"`` (``[v]``), ``"constrained"``
    (``{v}``) or ``"suspect"`` (``*v* +/- *e*``, GALFIT's numerical-problem marker).
    """

    value: float
    error: float | None
    kind: str = "free"


@dataclass
class HeaderComponent:
    """One component of an image-block header.

    ``links`` holds the truncation keys, which are lists of component numbers:
    ``TOUTR``/``TINNR`` of a truncated component, ``INNER``/``OUTER`` of a truncation.
    ``rotation`` is the coordinate rotation's function (``ROTF``: ``power``/``log``) and
    ``rotation_params`` its cards after ROTF, (key, value) in order: kept apart from
    ``params`` because their keys (ALPHA, ROUT) may repeat the profile's own.
    """

    number: int
    type: str
    params: list[tuple[str, HeaderValue]] = field(default_factory=list)
    links: dict[str, list[int]] = field(default_factory=dict)
    rotation: str | None = None
    rotation_params: list[tuple[str, HeaderValue]] = field(default_factory=list)

    def rotation_rows(self) -> dict[str, Row]:
        """Input-file rows ``R0)``-``R10)`` of the coordinate rotation (empty without one);
        the cards after ROTF are R1)-R4), R9), R10) in GALFIT's order."""
        if self.rotation is None:
            return {}
        rows = {"R0": Row("R0", [], [], self.rotation)}
        for (_, row), (_, hv) in zip(ROTATION_ROWS, self.rotation_params):
            rows[row] = Row(row, [hv.value], [0 if hv.kind == "fixed" else 1])
        return rows

    def __getitem__(self, key: str) -> HeaderValue:
        """The value of ``key``: the profile's own first, then the rotation's."""
        for k, v in self.params + self.rotation_params:
            if k == key:
                return v
        raise KeyError(key)

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    @property
    def base_type(self) -> str:
        if self.type in TRUNCATION_TYPES:
            return self.type
        m = _TRUNCATED_TYPE.match(self.type)
        return m.group(1) if m else _SUFFIXED_TYPE.match(self.type).group(1)


_LINK_KEYS = ("TOUTR", "TINNR", "INNER", "OUTER")


@dataclass
class FitHeader:
    """Everything GALFIT records in HDU2 of an output image block."""

    components: list[HeaderComponent]
    fitsect: tuple[int, int, int, int]
    magzpt: float
    convbox: tuple[int, int] | None = None
    flags: list[str] = field(default_factory=list)
    chisq: float | None = None
    ndof: int | None = None
    nfree: int | None = None
    nfix: int | None = None
    chi2nu: float | None = None
    logfile: str | None = None
    initfile: str | None = None
    datain: str | None = None
    sigma: str | None = None
    psf: str | None = None
    constrnt: str | None = None
    mask: str | None = None

    def component(self, number: int) -> HeaderComponent:
        for c in self.components:
            if c.number == number:
                return c
        raise KeyError(number)

    @property
    def suspect(self) -> list[str]:
        """Keywords of every value marked ``*…*``."""
        return [f"{c.number}_{k}" for c in self.components for k, v in c.params if v.kind == "suspect"]

    @property
    def fit_flags(self) -> list[str]:
        """GALFIT's fit-quality flags: ``1`` iteration limit, ``2`` convergence problem."""
        return [f for f in self.flags if f in ("1", "2")]


_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)"


def parse_header_value(text: str, source: str = "<header>", key: str = "value") -> HeaderValue:
    """Parse GALFIT's HDU2 value grammar.

    ``'20.7151 +/- 0.0462'``, ``'-3.998e-03 +/- 3.256e-03'``, ``'[267.5000]'``,
    ``'{1.2000}'``, ``'*0.0700* +/- *0.1544*'``.
    """
    s = str(text).strip()
    m = re.fullmatch(rf"\[({_NUM})\]", s, re.I)
    if m:
        return HeaderValue(float(m.group(1)), None, "fixed")
    m = re.fullmatch(rf"\{{({_NUM})\}}(?:\s*\+/-\s*\{{?({_NUM})\}}?)?", s, re.I)
    if m:
        return HeaderValue(float(m.group(1)), float(m.group(2)) if m.group(2) else None, "constrained")
    m = re.fullmatch(rf"(\*?)({_NUM})\*?\s*(?:\+/-\s*\*?({_NUM})\*?)?", s, re.I)
    if m:
        kind = "suspect" if m.group(1) else "free"
        return HeaderValue(float(m.group(2)), float(m.group(3)) if m.group(3) else None, kind)
    raise _err(source, key, f"cannot read parameter value {s!r}", "the image block header may be corrupt; re-run the fit")


def format_header_value(value: HeaderValue | float, error: float | None = None, kind: str = "free") -> str:
    """Format a value in GALFIT's HDU2 grammar (inverse of :func:`parse_header_value`)."""
    if isinstance(value, HeaderValue):
        value, error, kind = value.value, value.error, value.kind

    # GALFIT picks one format from the value and writes the error in it too.
    exp = value != 0 and (abs(value) < 1e-2 or abs(value) >= 1e6) or value == 0 and kind == "fixed"

    def f(v):
        return f"{v:.3e}" if exp else f"{v:.4f}"

    if kind == "fixed":
        return f"[{f(value)}]"
    if kind == "constrained":
        return f"{{{f(value)}}}" if error is None else f"{{{f(value)}}} +/- {{{f(error)}}}"
    err = 0.0 if error is None else error
    if kind == "suspect":
        return f"*{f(value)}* +/- *{f(err)}*"
    return f"{f(value)} +/- {f(err)}"


def parse_fitsect(text: str, source: str = "<header>") -> tuple[int, int, int, int]:
    """``'[x1:x2,y1:y2]'`` -> ``(x1, x2, y1, y2)`` (1-based, inclusive)."""
    m = re.fullmatch(r"\s*\[\s*(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*:\s*(\d+)\s*\]\s*", str(text))
    if not m:
        raise _err(source, "FITSECT", f"cannot read {text!r}", "expected '[x1:x2,y1:y2]' as GALFIT writes it")
    x1, x2, y1, y2 = (int(g) for g in m.groups())
    if x2 < x1 or y2 < y1:
        raise _err(source, "FITSECT", f"empty region {text!r}", "expected x1 <= x2 and y1 <= y2")
    return x1, x2, y1, y2


def format_fitsect(region) -> str:
    x1, x2, y1, y2 = region
    return f"[{x1}:{x2},{y1}:{y2}]"


def region_slices(region) -> tuple[slice, slice]:
    """numpy ``[y, x]`` slices of a GALFIT region ``(x1, x2, y1, y2)`` (1-based inclusive)."""
    x1, x2, y1, y2 = region
    return slice(y1 - 1, y2), slice(x1 - 1, x2)


def _header_str(header, key):
    v = header.get(key)
    if v is None:
        return None
    v = str(v).strip()
    return None if v == "" else v


def parse_fit_header(header, source: str = "<imgblock>") -> FitHeader:
    """Read GALFIT's parameters from an HDU2 header (an ``astropy.io.fits.Header``)."""
    if "COMP_1" not in header:
        raise _err(source, "HDU2 COMP_1", "no fitted components in the header", "give a GALFIT output image block (B) file)")
    if "FITSECT" not in header:
        raise _err(source, "HDU2 FITSECT", "missing", "give a GALFIT output image block (B) file)")
    fitsect = parse_fitsect(header["FITSECT"], source)
    comps: dict[int, HeaderComponent] = {}
    for card in header.cards:
        key = card.keyword
        m = re.fullmatch(r"COMP_(\d+)", key)
        if m:
            n = int(m.group(1))
            comps[n] = HeaderComponent(n, str(card.value).strip().lower())
            continue
        m = re.fullmatch(r"(\d+)_([A-Z0-9_]+)", key)
        if m and int(m.group(1)) in comps:
            n = int(m.group(1))
            if m.group(2) in _LINK_KEYS:
                numbers = str(card.value).split()
                if not all(t.isdigit() for t in numbers):
                    raise _err(source, key, f"cannot read component numbers {card.value!r}", "the image block header may be corrupt; re-run the fit")
                comps[n].links[m.group(2)] = [int(t) for t in numbers if int(t) > 0]
                continue
            if m.group(2) == "ROTF":
                comps[n].rotation = str(card.value).strip().lower()
                continue
            value = parse_header_value(card.value, source, key)
            rotation_keys = [k for k, _ in ROTATION_ROWS if k != "R4"] + list(_ROTATION_R4.values())
            if comps[n].rotation is not None and m.group(2) in rotation_keys and len(comps[n].rotation_params) < len(ROTATION_ROWS):
                comps[n].rotation_params.append((m.group(2), value))
                continue
            comps[n].params.append((m.group(2), value))
    for c in comps.values():
        known = c.type in TRUNCATION_TYPES or _TRUNCATED_TYPE.match(c.type) or _SUFFIXED_TYPE.match(c.type)
        if not known or c.base_type not in PARAMETERS:
            raise _err(source, f"HDU2 COMP_{c.number}", f"unknown component type {c.type!r}", "use a GALFIT 3 image block")
    convbox = None
    if header.get("CONVBOX"):
        nums = re.findall(r"\d+", str(header["CONVBOX"]))
        if len(nums) == 2:
            convbox = (int(nums[0]), int(nums[1]))
    magzpt = header.get("MAGZPT")
    if magzpt is None:
        raise _err(source, "HDU2 MAGZPT", "missing", "give a GALFIT output image block (B) file)")

    def num(key, cast):
        v = header.get(key)
        return None if v is None or str(v).strip() == "" else cast(v)

    return FitHeader(
        components=[comps[k] for k in sorted(comps)],
        fitsect=fitsect,
        magzpt=float(magzpt),
        convbox=convbox,
        flags=str(header.get("FLAGS", "")).split(),
        chisq=num("CHISQ", float),
        ndof=num("NDOF", int),
        nfree=num("NFREE", int),
        nfix=num("NFIX", int),
        chi2nu=num("CHI2NU", float),
        logfile=_header_str(header, "LOGFILE"),
        initfile=_header_str(header, "INITFILE"),
        datain=_header_str(header, "DATAIN"),
        sigma=_header_str(header, "SIGMA"),
        psf=_header_str(header, "PSF"),
        constrnt=_header_str(header, "CONSTRNT"),
        mask=_header_str(header, "MASK"),
    )


def read_fit_header(path) -> FitHeader:
    """Open an image block and parse its HDU2 header.

    Raises :class:`GalfitFormatError` when the file is missing, unreadable, has fewer than
    four HDUs, or its header cannot be parsed.
    """
    path = Path(path)
    if not path.exists():
        raise GalfitFormatError(f"{path}: file: not found; check the path")
    try:
        with fits.open(path) as hdul:
            if len(hdul) < 4:
                raise _err(path, "HDUs", f"{len(hdul)} HDUs, expected 4 (blank, data, model, residual)", "give a GALFIT output image block (B) file)")
            return parse_fit_header(hdul[2].header, str(path))
    except GalfitFormatError:
        raise
    except Exception as exc:  # astropy raises many types for damaged files
        raise GalfitFormatError(f"{path}: FITS: unreadable ({type(exc).__name__}); re-create the file") from None


# ======================================================================================
# Constraint files (G)
# ======================================================================================
def constraint_names(comp: Component) -> dict[str, tuple[str, int]]:
    """The names a constraint file may give the parameters of ``comp``.

    Parameters
    ----------
    comp : Component

    Returns
    -------
    dict
        Lower-case name -> ``(row key, index)``: the names of :data:`_CONSTRAINT_NAMES`
        the component's type has, its row numbers (``"5"``; ``"1"`` is x), its truncation
        rows (``"t4"``), ``c``/``c0``, ``f<m>``/``f<m>a``/``f<m>p``, ``b<m>`` and ``r<k>``
        for the hidden rows it has.
    """
    out: dict[str, tuple[str, int]] = {}
    for hkey, row, idx in parameter_table(comp):
        if row[0].isdigit() or row[0] == "T":
            for name, keys in _CONSTRAINT_NAMES.items():
                if hkey in keys:
                    out.setdefault(name, (row, idx))
            out.setdefault(row.lower(), (row, idx))
        elif row == "C0":
            out["c"] = out["c0"] = (row, idx)
        elif row[0] == "F":
            out[row.lower() + "ap"[idx]] = (row, idx)
            out.setdefault(row.lower(), (row, idx))
        else:  # B<m>, R<k>
            out[row.lower()] = (row, idx)
    return out


@dataclass
class Constraint:
    """One line of a GALFIT constraint file.

    ``kind``: ``"absolute"`` (``lo to hi``), ``"relative"`` (``lo hi`` around the initial
    value), ``"offset"``, ``"ratio"`` (couplings of ``components``), ``"difference"``
    (``3-7 mag lo hi``) or ``"quotient"`` (``3/5 re lo hi``).  ``name`` is the parameter
    as written; the row it means depends on each component's type
    (:meth:`parameter_of`).  ``source`` is the file, for messages.
    """

    components: list[int]
    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    line: int = 0
    source: str = "<constraints>"

    def parameter_of(self, comp: Component, number: int) -> tuple[str, int]:
        """The ``(row key, index)`` this line constrains in ``comp``, component ``number``.

        Raises
        ------
        GalfitFormatError
            The component has no parameter of that name.
        """
        names = constraint_names(comp)
        try:
            return names[self.name.lower()]
        except KeyError:
            raise _err(
                self.source,
                f"line {self.line} parameter",
                f"{self.name} is not a parameter of component {number} ({comp.type})",
                f"use one of {', '.join(names)} or fix the component number",
            ) from None


def _check_constraint_name(name: str, source, lineno) -> None:
    """Refuse a name no component type has; what it means is known only per component."""
    low = name.lower()
    if low in _CONSTRAINT_NOT_PARAMETERS:
        raise _err(source, f"line {lineno} parameter", f"{name} names {_CONSTRAINT_NOT_PARAMETERS[low]}, not a parameter", "constrain one of the numeric rows")
    if low not in _CONSTRAINT_NAMES and not _CONSTRAINT_ROW_NAME.fullmatch(low):
        raise _err(
            source,
            f"line {lineno} parameter",
            f"unknown parameter {name!r}",
            "use x, y, mag, re, n, alpha, beta, gamma, q, pa, c, f<m>a, f<m>p, b<m>, r<k>, t<k>, … or a row number",
        )


def parse_constraints(text: str, source: str = "<constraints>") -> list[Constraint]:
    """Parse a GALFIT constraint file."""
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        body = _strip_comment(line)
        if not body:
            continue
        toks = body.split()
        if len(toks) < 3:
            raise _err(source, f"line {lineno}", f"cannot read {body!r}", "write '<components> <parameter> <range>'")
        comp_tok, name, rest = toks[0], toks[1], toks[2:]
        _check_constraint_name(name, source, lineno)
        try:
            if "-" in comp_tok.lstrip("-") or "/" in comp_tok:
                sep = "/" if "/" in comp_tok else "-"
                comps = [int(t) for t in comp_tok.split(sep)]
                kind = "quotient" if sep == "/" else "difference"
                if len(comps) != 2:
                    raise ValueError
                lo, hi = (float(t) for t in rest[:2])
                out.append(Constraint(comps, name, kind, lo, hi, lineno, source))
                continue
            comps = [int(t) for t in comp_tok.split("_")]
        except ValueError:
            raise _err(source, f"line {lineno} components", f"cannot read {comp_tok!r}", "write 3, 1_2_3, 3-7 or 3/5") from None
        word = rest[0].lower()
        try:
            if word in ("offset", "ratio"):
                out.append(Constraint(comps, name, word, None, None, lineno, source))
            elif len(rest) >= 3 and rest[1].lower() == "to":
                out.append(Constraint(comps, name, "absolute", float(rest[0]), float(rest[2]), lineno, source))
            else:
                out.append(Constraint(comps, name, "relative", float(rest[0]), float(rest[1]), lineno, source))
        except (ValueError, IndexError):
            raise _err(source, f"line {lineno} range", f"cannot read {' '.join(rest)!r}", "write 'lo to hi', 'lo hi', 'offset' or 'ratio'") from None
    return out


def read_constraints(path, components: int | list[Component] | None = None) -> list[Constraint]:
    """Read a constraint file.

    Parameters
    ----------
    path : path-like
    components : int or list of Component, optional
        The fit's components (or their count): a line naming a missing component is
        refused, and, given the components, so is a parameter name one of its components
        does not have.

    Returns
    -------
    list of Constraint

    Raises
    ------
    GalfitFormatError
        One line naming the file, the line and what to do.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise GalfitFormatError(f"{path}: G) constraint file: not found; check the path or write 'none'") from None
    cons = parse_constraints(text, str(path))
    if components is not None:
        count = components if isinstance(components, int) else len(components)
        for c in cons:
            for n in c.components:
                if not 1 <= n <= count:
                    raise _err(path, f"line {c.line} components", f"component {n} does not exist (the fit has {count})", "fix the component number")
                if not isinstance(components, int):
                    c.parameter_of(components[n - 1], n)
    return cons


# ======================================================================================
# Component -> object tables, restart names
# ======================================================================================
#: Object name of a component that belongs to no object (fitted, but in no object's magnitude).
IGNORE = "-"


def read_comp_ident(path, components: int | list[int] | None = None, keep_ignored: bool = False) -> dict[int, str]:
    """Read a ``component object`` table (``#`` comments).

    Parameters
    ----------
    path : path-like
    components : int or list of int, optional
        Component numbers present in the fit (or their count); a line naming another
        component is an error.
    keep_ignored : bool
        Keep the components marked :data:`IGNORE` (object ``-``); by default they are left
        out, as they belong to no object.

    Returns
    -------
    dict
        component number -> object id (string), in file order.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise GalfitFormatError(f"{path}: file: not found; check the comp_ident path") from None
    if isinstance(components, int):
        components = list(range(1, components + 1))
    out: dict[int, str] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        body = _strip_comment(line)
        if not body:
            continue
        toks = body.replace(",", " ").split()
        if len(toks) != 2:
            raise _err(path, f"line {lineno}", f"expected 'component object', got {body!r}", "write one 'component object' pair per line")
        try:
            comp = int(toks[0])
        except ValueError:
            raise _err(path, f"line {lineno} component", f"{toks[0]!r} is not an integer", "write the GALFIT component number") from None
        if comp in out:
            raise _err(path, f"line {lineno} component", f"component {comp} listed twice", "list each component once")
        if components is not None and comp not in components:
            raise _err(path, f"line {lineno} component", f"component {comp} is not in the fit (it has {len(components)})", "use the comp_ident table of this fit")
        out[comp] = toks[1]
    if not out:
        raise _err(path, "table", "no component lines", "write one 'component object' pair per line")
    return out if keep_ignored else {c: obj for c, obj in out.items() if obj != IGNORE}


def next_restart_name(directory) -> str:
    """First unused ``galfit.NN`` name in ``directory`` (GALFIT's restart numbering)."""
    directory = Path(directory)
    n = 1
    while (directory / f"galfit.{n:02d}").exists():
        n += 1
    return f"galfit.{n:02d}"

