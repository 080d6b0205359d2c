"""A re-fit's record: how the fit of one window went, as the engine runner judged it.

Written by :func:`galfit_unc.runner.run_fit` (``fit/status.json``), completed by the batch with
the window and its sky level (``windows/<id>/status.json``, ``batches/<batch>.json``), read by
the tables (:mod:`galfit_unc.tables`), which attach the fit's parsed output block.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from galfit_unc.galfit_files import FitHeader

__all__ = ["FitRecord"]


@dataclass
class FitRecord:
    """One re-fit.

    Attributes
    ----------
    status : str
        ``ok``, ``flagged`` (a problem the original fit does not have) or ``failed``.
    reason : str
        Why it is flagged or failed ("" when ok).
    chi2nu : float or None
        Reduced chi^2 of the fit (None when it failed before writing one).
    flag : str
        The words of the new fit flags (``iteration_limit``, ``convergence``, ``bound``).
    new_flags, new_suspect : list of str
        FLAGS values and ``<component>_<key>`` ``*...*`` values the original does not have.
    seconds, cpu_seconds : float or None
        Wall and CPU time of the engine.
    engine : str
        ``embedded`` or ``galfit``.
    exit_code : int or None
        The engine's exit status (None: killed).
    output : str
        Path of the output image block.
    installed : bool
        False when a later attempt's result was installed first (this record is that one's).
    window : str or None
        Window id (``x0012_y0300``); set by the batch.
    sky_level : float
        The window's sky level before injection; set by the batch.
    header : FitHeader or None
        The parsed output block, attached by the tables (not part of the JSON).
    """

    status: str
    reason: str = ""
    chi2nu: float | None = None
    flag: str = ""
    new_flags: list[str] = field(default_factory=list)
    new_suspect: list[str] = field(default_factory=list)
    seconds: float | None = None
    cpu_seconds: float | None = None
    engine: str = ""
    exit_code: int | None = None
    output: str = ""
    installed: bool = True
    window: str | None = None
    sky_level: float = math.nan
    header: FitHeader | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict:
        """The record as a JSON object: the window first, the header left out."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("window", "header")}
        return {"window": self.window, **data}

    @classmethod
    def from_json(cls, data: dict) -> FitRecord:
        """The record of a JSON object written by :meth:`to_json`.

        Raises
        ------
        ValueError
            An unknown key (a record of another version): the message names it.
        """
        names = {f.name for f in dataclasses.fields(cls)} - {"header"}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"fit record: key {unknown[0]!r}: not a field of a fit record; rerun the workflow to remake the record")
        return cls(**data)
