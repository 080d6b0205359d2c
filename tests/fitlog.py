"""GALFIT's fit.log, parsed for the tests: the embedded fitter's log is compared with
GALFIT 3.0.5's (the package itself never reads a fit.log)."""

import re
from dataclasses import dataclass, field
from pathlib import Path

from galfit_unc.galfit_files import _NUM, GalfitFormatError


@dataclass
class LogComponent:
    type: str
    values: list[float]
    errors: list[float | None]
    kinds: list[str]


@dataclass
class LogRun:
    """One block of fit.log."""

    input_image: str | None = None
    init_file: str | None = None
    restart_file: str | None = None
    output_image: str | None = None
    components: list[LogComponent] = field(default_factory=list)
    chisq: float | None = None
    ndof: int | None = None
    chi2nu: float | None = None


# The closing mark must touch the number, or it would be taken from the next token
# (``7.44   *0.03*``); a bracket may enclose two numbers (``[ 47.00,  47.00]``).
_LOG_TOKEN = re.compile(r"([\[\{*]?)\s*(" + _NUM + r")([\]\}*]?)", re.I)
_LOG_KINDS = {"[": "fixed", "]": "fixed", "{": "constrained", "}": "constrained", "*": "suspect"}


def _log_tokens(text):
    out = []
    for m in _LOG_TOKEN.finditer(text):
        kind = _LOG_KINDS.get(m.group(1) or m.group(3), "free")
        out.append((float(m.group(2)), kind))
    return out


def parse_fit_log(text: str, source: str = "fit.log") -> list[LogRun]:
    """Parse every run block of a ``fit.log`` (tokens, not columns)."""
    runs: list[LogRun] = []
    cur = None
    pending = hidden = None
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("Input image"):
            cur = LogRun(input_image=s.split(":", 1)[1].strip())
            runs.append(cur)
            pending = hidden = None
            continue
        if cur is None or not s or set(s) <= {"-"}:
            continue
        if hidden is not None and len(hidden.errors) < len(hidden.values):
            toks = _log_tokens(re.sub(r"\d+:", " ", s).replace("(", " ").replace(")", " ").replace(",", " "))
            hidden.errors += [v for v, _ in toks]
            continue
        if ":" in s and not s.startswith("Chi"):
            label, rest = (p.strip() for p in s.split(":", 1))
            attr = {"Init. par. file": "init_file", "Restart file": "restart_file", "Output image": "output_image"}.get(label)
            if attr:
                setattr(cur, attr, rest)
                continue
            if label in ("fourier", "bend", "power", "log") and cur.components:
                # Hidden rows of the component above: (m: amplitude, phase) or (m: amplitude) per
                # mode, or the coordinate rotation's R1)-R4), R9), R10) after its function's name.
                toks = _log_tokens(re.sub(r"\d+:", " ", rest).replace("(", " ").replace(")", " ").replace(",", " "))
                hidden = cur.components[-1]
                hidden.values += [v for v, _ in toks]
                hidden.kinds += [k for _, k in toks]
                pending = None
                continue
            rest = rest.replace("(", " ").replace(")", " ").replace(",", " ")
            toks = _log_tokens(rest)
            pending = LogComponent(label.split()[0], [v for v, _ in toks], [], [k for _, k in toks])
            hidden = None
            cur.components.append(pending)
            continue
        if s.startswith("Chi^2/nu"):
            cur.chi2nu = float(s.split("=")[1])
            continue
        if s.startswith("Chi^2"):
            m = re.search(r"Chi\^2\s*=\s*(" + _NUM + r").*ndof\s*=\s*(\d+)", s)
            if m:
                cur.chisq, cur.ndof = float(m.group(1)), int(m.group(2))
            continue
        if pending is not None and not pending.errors:
            toks = _log_tokens(s.replace("(", " ").replace(")", " ").replace(",", " "))
            # The error line omits fixed position brackets for sky; align from the right.
            errs = [v for v, _ in toks]
            pad = len(pending.values) - len(errs)
            pending.errors = [None] * max(pad, 0) + errs
    if not runs:
        raise GalfitFormatError(f"{source}: fit.log: no run blocks found; give a GALFIT fit.log")
    return runs


def read_fit_log(path) -> list[LogRun]:
    path = Path(path)
    return parse_fit_log(path.read_text(), str(path))
