"""Batches of sky windows: each window is cut and cleaned, injected with the galaxy light and
re-fitted in turn, in one process, with one output set and one log per window.

A re-fit takes seconds, and starting an interpreter with numpy and astropy costs about half a
second of CPU: one job per stage and window would spend more time starting than fitting, and
a cluster job should take minutes, not seconds.  So one job runs a batch of windows.

Files of window ``R`` under ``windows_dir/R/``:

``sky.fits``
    The cleaned cutout (:mod:`galfit_unc.cleaning`).
``mask_cut.fits``, ``sigma_cut.fits``
    The user's bad-pixel mask at the window, and the re-fit's sigma image (the window's
    sky sigma with the target's source variance), when the target has them.
``constraints.txt``
    The re-fit's constraint file: the original fit's ranges as absolute boxes.
``injected.fits``, ``fit.gal``
    The cutout with the galaxy light, and the re-fit's GALFIT input file
    (:mod:`galfit_unc.injection`).
``fit/``, ``status.json``
    The engine's directory and the fit's record (:class:`galfit_unc.records.FitRecord`,
    from :func:`galfit_unc.runner.run_fit`), with the window's id and its sky level before
    injection (``sky_level``, :func:`galfit_unc.statistics.window_sky_level`).
``done.json``
    Written last: the key of everything the window's files depend on (the window, the
    settings, the contents of the input files and this package's version).

A window whose ``done.json`` holds the current key is not redone: a batch whose job was
killed half-way, or whose windows changed with the selection, redoes only the windows that
are missing or stale.  Its log is ``logs_dir/R.log``.

Which windows form a batch is :func:`galfit_unc.skysearch.batches`, beside the windows table:
Snakemake plans the jobs from it without importing what a batch job needs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib
import json
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from galfit_unc import __version__
from galfit_unc.cleaning import clean_cutout, cut_window, write_cleaned
from galfit_unc.fitter.output import atomic_write
from galfit_unc.frames import load_frame, read_image_2d
from galfit_unc.galfit_files import Feedme, FitHeader, read_feedme, read_fit_header, region_slices, write_feedme
from galfit_unc.injection import fit_keywords, inject, refit_constraints, refit_feedme, refit_platescale, refit_sigma, write_injected
from galfit_unc.records import FitRecord
from galfit_unc.refit import RefitPlan, window_psf
from galfit_unc.runner import STAGE_NAMES, run_fit
from galfit_unc.skysearch import Window, window_seed
from galfit_unc.statistics import window_sky_level

__all__ = ["BatchContext", "file_digest", "window_key", "cut_aux", "process_window", "run_batch"]

_DONE = "done.json"
_STATUS = "status.json"


def file_digest(path) -> str:
    """SHA-256 of a file's contents (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def window_key(window, settings: dict, digests: dict) -> str:
    """Key of one window's results: equal keys mean equal results.

    Parameters
    ----------
    window : sequence of int
        ``[x1, x2, y1, y2]``, 1-based inclusive.
    settings : dict
        Every setting the window's stages read (JSON-serialisable).
    digests : dict
        Input name -> :func:`file_digest` of the file.
    """
    payload = {"version": __version__, "window": [int(v) for v in window], "settings": settings, "inputs": digests}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _write_json(path: Path, value) -> None:
    # Written aside and renamed: a reader never sees half a record.
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(value, indent=1) + "\n"))


def _finished(window_dir: Path, key: str):
    """The window's fit record if its files are complete for ``key``, else None."""
    try:
        done = json.loads((window_dir / _DONE).read_text())
        record = FitRecord.from_json(json.loads((window_dir / _STATUS).read_text()))
    except (FileNotFoundError, json.JSONDecodeError, TypeError, ValueError):
        # Missing, half-written or of another version: the window is redone.
        return None
    return record if done.get("key") == key else None


def cut_aux(data, window, path, kind: str) -> np.ndarray:
    """The user's bad-pixel mask or sigma image ``data`` (read from ``path``) at ``window``.

    Raises
    ------
    ValueError
        The image does not contain the window (it is not of this frame).
    """
    x1, x2, y1, y2 = window
    cut = data[region_slices((x1, x2, y1, y2))]
    if cut.shape != (y2 - y1 + 1, x2 - x1 + 1):
        raise ValueError(f"{path}: shape: {data.shape} does not contain window [{x1}:{x2},{y1}:{y2}]; give the {kind} image of this frame")
    return cut


def process_window(name: str, window, context: BatchContext, settings: dict, window_dir: Path, threads: int = 1, index: int = 0) -> FitRecord:
    """Cut, clean, inject and re-fit one window; return the fit's record.

    Parameters
    ----------
    name : str
        Window id (``x0012_y0300``): it seeds the window's cleaning noise.
    window : sequence of int
        ``[x1, x2, y1, y2]``.
    context : BatchContext
        What every window of a batch uses, loaded once.
    settings : dict
        ``mask``, ``cleaning``, ``fitter`` and (optional) ``refit`` sections of the configuration.
    window_dir : Path
        The window's folder (created).
    threads : int
        BLAS/OpenMP threads of the engine.
    index : int
        The window's position in the windows table (it chooses the window's ``refit.psfs``).
    """
    window_dir.mkdir(parents=True, exist_ok=True)
    mask, cleaning, fitter = settings["mask"], settings["cleaning"], settings["fitter"]

    data, cut_header = cut_window(context.frame, context.frame_header, Window(*window, masked_frac=float("nan")))
    cleaned, filled = clean_cutout(
        data,
        nsigma=mask["nsigma"],
        clip_sigma=mask["clip_sigma"],
        clip_iters=mask["clip_iters"],
        kernel_sigmas=tuple(cleaning["kernel_sigmas"]),
        fill_noise=cleaning["fill_noise"],
        rng=np.random.default_rng(window_seed(cleaning["seed"], name)),
        sources=cut_aux(context.sources, window, "mask.fits", "source mask"),
    )
    write_cleaned(window_dir / "sky.fits", cleaned, cut_header, float(filled.mean()))
    print(f"cutout {window}: {filled.mean():.4f} of the pixels filled")

    staged = dict(context.staged)
    for kind, (aux, path) in context.aux.items():
        cut_path = window_dir / f"{kind}_cut.fits"
        cut = cut_aux(aux, window, path, kind)  # also refuses an image without the window
        if kind == "sigma":
            cut = refit_sigma(aux, window, context.fit_header.fitsect)
        fits.PrimaryHDU(cut).writeto(cut_path, overwrite=True)
        staged[STAGE_NAMES[kind]] = cut_path
    if context.constraints is not None:
        staged[STAGE_NAMES["constraints"]] = window_dir / "constraints.txt"
        staged[STAGE_NAMES["constraints"]].write_text(context.constraints)

    # The injection starts from the cutout as written (float32), as a re-run from files would.
    sky = fits.getdata(window_dir / "sky.fits")
    staged[STAGE_NAMES["image"]] = window_dir / "injected.fits"
    plan = context.plan
    injected = plan.inject_noise(inject(sky, context.galaxy), context.galaxy, name)
    write_injected(staged[STAGE_NAMES["image"]], injected, cut_header, context.keywords)
    write_feedme(plan.start(context.refit_feedme(sky.shape), name), window_dir / "fit.gal", header=f"{context.label} injected into window {name}")
    staged[STAGE_NAMES["psf"]] = window_psf(settings.get("refit"), index) or staged[STAGE_NAMES["psf"]]
    # The window's own level before injection: what the re-fit's sky is compared with.
    bad = fits.getdata(staged[STAGE_NAMES["mask"]]) if "mask" in context.aux else None
    sky_level = window_sky_level(sky, bad)

    record = run_fit(
        window_dir / "fit.gal",
        window_dir / "fit",
        engine=fitter["engine"],
        galfit_exe=fitter["galfit"],
        timeout=fitter["timeout"],
        threads=threads,
        inputs=staged,
        original=context.fit_header,
    )
    record = dataclasses.replace(record, window=name, sky_level=sky_level)
    print(json.dumps(record.to_json(), indent=1))
    _write_json(window_dir / _STATUS, record.to_json())
    return record


@dataclass
class BatchContext:
    """What every window of a batch uses, read once (:meth:`load`).

    Attributes
    ----------
    frame, frame_header
        The frame (:func:`galfit_unc.frames.load_frame`).
    sources : ndarray of bool
        The frame's source mask: each window's cleaning fills its pixels.
    fit_header : FitHeader
        The original fit's image block: the re-fits' components, and their flags' reference.
    original_feedme : Feedme or None
        The original fit's input file, when the target gives it.
    keywords : astropy.io.fits.Header
        The header the original fit read (HDU1 of its image block).
    galaxy : ndarray
        The galaxy light injected into every window.
    platescale : (float, float)
        ``K)`` of every re-fit.
    given : dict
        ``constraints``, ``mask``, ``sigma`` -> whether the target has that file.
    aux : dict
        ``mask`` / ``sigma`` -> (data, path) of the user's images.
    staged : dict
        Stage name -> path of the files every fit shares (the PSF).
    constraints : str or None
        Text of the re-fit's constraint file.
    label : str
        Text for each input file's header line.
    plan : RefitPlan
        Start and source noise of the re-fits.
    """

    frame: np.ndarray
    frame_header: fits.Header
    sources: np.ndarray
    fit_header: FitHeader
    original_feedme: Feedme | None
    keywords: fits.Header
    galaxy: np.ndarray
    platescale: tuple
    given: dict
    aux: dict
    staged: dict
    constraints: str | None
    label: str
    plan: RefitPlan

    @classmethod
    def load(cls, inputs: dict, label: str, settings: dict) -> BatchContext:
        """Read the inputs of :func:`run_batch` once."""
        frame, frame_header = load_frame(inputs["image"])
        fit_header = read_fit_header(inputs["imgblock"])
        original = read_feedme(inputs["feedme"]) if inputs.get("feedme") else None
        given = {kind: bool(inputs.get(kind)) for kind in ("constraints", "mask", "sigma")}
        constraints = refit_constraints(inputs["constraints"], original, fit_header.fitsect) if given["constraints"] else None
        keywords = fit_keywords(inputs["imgblock"])
        return cls(
            frame=frame,
            frame_header=frame_header,
            sources=read_image_2d(inputs["sources"])[0] > 0,
            fit_header=fit_header,
            original_feedme=original,
            keywords=keywords,
            galaxy=fits.getdata(inputs["galaxy"]),
            # K) as the original fit had it; the frame's WCS only when there is no input file.
            platescale=refit_platescale(original, frame_header),
            given=given,
            aux={kind: (read_image_2d(inputs[kind])[0], inputs[kind]) for kind in ("mask", "sigma") if inputs.get(kind)},
            staged={STAGE_NAMES["psf"]: inputs["psf"]},
            constraints=constraints,
            label=label,
            # The start is clipped into the re-fit's own (absolute, window-frame) boxes; the
            # source noise uses the photometric keywords the original fit read (HDU1).
            plan=RefitPlan(settings.get("refit"), settings["cleaning"]["seed"], fit_header, original, constraints, keywords, inputs["imgblock"]),
        )

    def refit_feedme(self, shape) -> Feedme:
        """The re-fit's input file for a window of ``shape``, with the staged file names."""
        return refit_feedme(
            self.fit_header,
            window_shape=shape,
            original_feedme=self.original_feedme,
            image=STAGE_NAMES["image"],
            output=STAGE_NAMES["output"],
            psf=STAGE_NAMES["psf"],
            constraints=STAGE_NAMES["constraints"] if self.given["constraints"] else None,
            mask=STAGE_NAMES["mask"] if self.given["mask"] else None,
            sigma=STAGE_NAMES["sigma"] if self.given["sigma"] else None,
            platescale=self.platescale,
        )


def run_batch(members, inputs: dict, settings: dict, windows_dir, logs_dir, label: str = "re-fit", threads: int = 1, first: int = 0) -> list[FitRecord]:
    """Process a batch of windows in turn, skipping those already done with the same key.

    Parameters
    ----------
    members : list of (str, sequence of int)
        Window id and window ``[x1, x2, y1, y2]`` of each window, in order.
    inputs : dict
        Input name -> path: ``image`` (frame), ``imgblock``, ``galaxy``, ``psf``, ``sources``
        (the frame's source mask), and optionally ``constraints``, ``feedme``, ``mask``, ``sigma``.
    settings : dict
        ``mask``, ``cleaning``, ``fitter`` and (optional) ``refit`` sections of the
        configuration (:func:`galfit_unc.refit.step_settings`).
    windows_dir, logs_dir : path-like
        Parents of the windows' folders and of their logs.
    label : str
        Names the target in each input file's header line.
    threads : int
        BLAS/OpenMP threads of each fit.
    first : int
        Position of the first member in the windows table.

    Returns
    -------
    list of FitRecord
        The fit record of every window, in order.

    Raises
    ------
    RuntimeError
        A window's cutout or injection failed (bad input); its message names the window.
        Windows before it are done and kept.  A failed *fit* is a record, not an error.
    """
    windows_dir, logs_dir = Path(windows_dir), Path(logs_dir)
    logs_dir.mkdir(parents=True, exist_ok=True)
    digests = {name: file_digest(path) for name, path in sorted(inputs.items()) if path}
    context = None
    records = []
    for index, (name, window) in enumerate(members, first):
        # A window's own alternative PSF is part of its key, not the others'.
        psf = window_psf(settings.get("refit"), index)
        key = window_key(window, settings, {**digests, "psf": file_digest(psf)} if psf else digests)
        record = _finished(windows_dir / name, key)
        if record is not None:
            print(f"{name}: done before with the same inputs and settings; kept")
            records.append(record)
            continue
        if context is None:
            context = BatchContext.load(inputs, label, settings)
            if settings["fitter"]["engine"] == "embedded":
                # Imported once here, the fitter is inherited by every forked fit.
                importlib.import_module("galfit_unc.fitter.fit")
        # A window being redone is not done under any key until it is finished again.
        (windows_dir / name / _DONE).unlink(missing_ok=True)
        with open(logs_dir / f"{name}.log", "w") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            try:
                record = process_window(name, window, context, settings, windows_dir / name, threads, index)
            except Exception as exc:
                traceback.print_exc()
                raise RuntimeError(f"window {name}: {exc}") from exc
        _write_json(windows_dir / name / _DONE, {"key": key})
        print(f"{name}: {record.status} {record.reason}".rstrip())
        records.append(record)
    return records
