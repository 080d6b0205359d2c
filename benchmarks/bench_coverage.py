"""Coverage of the reported uncertainty against known truth: is σ right?

Each trial makes an observation whose truth is known, fits it like a user, runs the whole
workflow (a real Snakemake run) on that fit and compares the workflow's σ of every object's
magnitude with the fit's actual error, z = (original − truth) / σ.  If σ is honest, z follows
N(0, 1): about 68 % of rows have |z| ≤ 1, 95 % |z| ≤ 2, and rms z is 1.

Modes
-----
``real``
    The DECaLS frame of ``--data`` and its GALFIT fit.  The truth is the fit's galaxy light
    (HDU2 of ``galfit_output_example.fits`` without the sky) and its header parameters,
    objects by ``comp_ident_example.txt``.  Trial k injects that light, with its own Poisson
    noise (GAIN × NCOMBINE, seeded), into the k-th of the blank windows the workflow's window
    search finds in the frame away from the real group (see :func:`trial_windows`).  The user's fit: the engine fits that window of the trial's
    frame from the truth perturbed by a seeded draw (see :data:`PERTURBATION`), written as the
    trial's ``fit.gal``; with ``--user-mask sources`` it masks the sources that the
    workflow's source mask finds in the frame (``F) usermask.fits``), as a user masks the
    neighbours in the fitted region.  The workflow then runs on the trial's frame with that fit; a
    bad-pixel mask (the targets table's ``mask`` column) covers the real group's fitted
    section, which the frame's source mask alone does not keep out of the window search.
``demo``
    The built-in demo (the demo row of ``config/targets.tsv``) with ``demo.seed`` = S + k:
    truth from its ``truth.tsv``, the original from the demo user's image block.

Every trial runs the repository's default configuration with ``windows.max_windows`` =
``--windows``, ``fitter.engine`` = ``--engine`` and each ``--set KEY=VALUE`` (dotted keys,
values read as YAML).  Each trial has its own folder ``DIR/trial_NNN``; a finished trial
(``trial.json``) is not rerun, so an interrupted run continues where it stopped, and more
trials can be added later with the same settings.

Outputs in ``DIR``: ``coverage.tsv`` (a row per trial and object), ``summary.tsv`` (a row per
object, one ``all``, and ``no warning`` and ``warning`` for the rows whose object the workflow
did not or did warn about: n, cover1, cover2, mean_z, rms_z and a bootstrap-over-trials 68 %
range of rms_z), ``coverage.png`` (the z histogram against N(0, 1); σ against |error|).
``--retable`` re-makes finished trials' tables with the current code, reusing their fits.

Usage::

    python benchmarks/bench_coverage.py --mode real --trials 20 --windows 20 --engine embedded --out DIR
    python benchmarks/bench_coverage.py --mode real --trials 20 --windows 20 --user-mask sources --out DIR
    python benchmarks/bench_coverage.py --mode demo --trials 12 --windows 20 --out DIR --set stats.use_flagged=false
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml
from astropy.io import fits

from galfit_unc import galfit_files as gf
from galfit_unc.demo.truth import read_truth
from galfit_unc.frames import pixel_scale
from galfit_unc.injection import galaxy_light, refit_feedme, sky_in_model
from galfit_unc.statistics import combine_magnitudes, natural_key, object_magnitudes
from galfit_unc.tables import read_table
from galfit_unc.runner import run_fit
from galfit_unc.frames import load_frame, read_image_2d
from galfit_unc.skysearch import psf_fwhm, select_windows, source_mask

REPO = Path(__file__).resolve().parents[1]
DECALS = {
    "image": "org_data_example.fits",
    "imgblock": "galfit_output_example.fits",
    "psf": "psf_example.fits",
    "constraints": "cons_rel.txt",
    "comp_ident": "comp_ident_example.txt",
}
TARGET, BAND = "trial", "z"

#: The user's start in real mode: header key -> (how, low, high), drawn uniformly per free
#: parameter ("add" adds the draw, "scale" multiplies by it).  Axis ratios stay in
#: [0.02, 1]; then every start is moved, where needed, into the box of the constraint file
#: around which the truth stays reachable (a relative range lo..hi about the start allows
#: truth − hi ≤ start ≤ truth − lo; an absolute range holds the start itself).
PERTURBATION = {
    "XC": ("add", -1.0, 1.0),
    "YC": ("add", -1.0, 1.0),
    "MAG": ("add", -0.3, 0.3),
    "RE": ("scale", 0.7, 1.4),
    "RS": ("scale", 0.7, 1.4),
    "FWHM": ("scale", 0.7, 1.4),
    "N": ("scale", 0.6, 1.6),
    "AR": ("add", -0.1, 0.1),
    "PA": ("add", -15.0, 15.0),
}
COVERAGE_COLUMNS = ["trial", "object", "truth", "original", "sigma", "z"]
SUMMARY_COLUMNS = ["object", "n", "cover1", "cover2", "mean_z", "rms_z", "rms_z_p16", "rms_z_p84"]
BOOTSTRAP = 2000


class BenchError(RuntimeError):
    """A problem with the benchmark's inputs; the message is one line."""


class TrialError(RuntimeError):
    """A trial's workflow run ended without its tables; the trial is retried on the next run."""


# ------------------------------------------------------------------------------------------
# Configuration
# ------------------------------------------------------------------------------------------
def parse_set(items) -> dict:
    """``["a.b=1", "c=x"]`` -> ``{"a": {"b": 1}, "c": "x"}``; values are read as YAML."""
    changes: dict = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or any(not part for part in key.split(".")):
            raise BenchError(f"--set {item}: expected KEY=VALUE with a dotted KEY (e.g. refit.start=user)")
        node = changes
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise BenchError(f"--set {item}: {part} is given both a value and sub-keys")
        node[leaf] = yaml.safe_load(value)
    return changes


def merge(base: dict, changes: dict) -> dict:
    """``base`` with the nested ``changes`` applied (a copy)."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        out[key] = merge(out.get(key) or {}, value) if isinstance(value, dict) else value
    return out


def workflow_config(args) -> dict:
    """The repository's configuration with this run's windows, engine and ``--set`` values."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    fitter = {"engine": args.engine}
    if args.galfit:
        fitter["galfit"] = str(Path(args.galfit).resolve())
    config = merge(config, {"windows": {"max_windows": args.windows}, "fitter": fitter, "targets": "config/targets.tsv"})
    return merge(config, parse_set(args.set))


def default_data() -> Path:
    """The DECaLS case in the repository's test data."""
    return REPO / "tests" / "data" / "decals-coolj0112"


# ------------------------------------------------------------------------------------------
# Real mode: the trial's observation and the user's fit
# ------------------------------------------------------------------------------------------
def trial_windows(data: Path, config: dict, count: int):
    """The first ``count`` blank windows of the frame, cleanest first.

    The workflow's window search on a plain threshold mask (``mask.nsigma``, ``clip_sigma``,
    ``clip_iters``; no PSF smoothing, size cut or growth) without noise matching or spread:
    the trial windows of every published figure.
    """
    frame, _ = load_frame(data / DECALS["image"])
    truth = gf.read_fit_header(data / DECALS["imgblock"])
    m, r = config["mask"], config["windows"]
    mask = source_mask(frame, nsigma=m["nsigma"], clip_sigma=m["clip_sigma"], clip_iters=m["clip_iters"])
    x1, x2, y1, y2 = truth.fitsect
    windows = select_windows(
        mask,
        (y2 - y1 + 1, x2 - x1 + 1),
        truth.fitsect,
        target_margin=r["target_margin"],
        contaminant_frac=r["contaminant_frac"],
        max_overlap=r["max_overlap"],
        max_windows=count,
    )
    if len(windows) < count:
        raise BenchError(
            f"{data / DECALS['image']}: windows: the search finds {len(windows)} blank windows for {count} trials; "
            "ask for fewer trials or raise windows.max_overlap with --set"
        )
    return windows


def frame_sources(data: Path, config: dict) -> np.ndarray:
    """The workflow's source mask of the frame (``mask`` settings: PSF smoothing, size cut,
    growth): the sources of a trial window that a user masks with ``--user-mask sources``."""
    frame, _ = load_frame(data / DECALS["image"])
    psf, _ = read_image_2d(data / DECALS["psf"])
    m = config["mask"]
    return source_mask(
        frame, nsigma=m["nsigma"], clip_sigma=m["clip_sigma"], clip_iters=m["clip_iters"],
        psf=psf if m["smooth"] == "psf" else None, min_area=m["min_area"], grow=m["grow"] * psf_fwhm(psf),
    )


def poisson_light(light, gain: float, rng) -> np.ndarray:
    """``light`` (ADU) with its own Poisson noise for ``gain`` e⁻/ADU; negative pixels unchanged."""
    electrons = np.clip(light, 0.0, None) * gain
    return np.where(light > 0, rng.poisson(electrons) / gain, light)


def user_start(truth: gf.FitHeader, window, constraints, rng, image="observation.fits", perturbation=None) -> gf.Feedme:
    """The user's GALFIT input file for ``window``: the truth moved there and perturbed.

    Components and fit toggles are the truth's (values in ``[…]`` stay fixed); every free
    parameter in ``perturbation`` (default :data:`PERTURBATION`) is drawn anew (all draws are made in a fixed order,
    free or not, so a trial's start depends only on its seed).  ``H)`` is the window in the
    frame, so the output block's FITSECT is the target region the workflow sees.
    """
    ny, nx = window.y2 - window.y1 + 1, window.x2 - window.x1 + 1
    fm = refit_feedme(truth, window_shape=(ny, nx), image=image, output="imgblock.fits", constraints="constraints.txt")
    fm.control["H"] = f"{window.x1} {window.x2} {window.y1} {window.y2}"
    perturbation = PERTURBATION if perturbation is None else perturbation
    true_values = {}  # (component, (row, index)) -> the truth, positions in the frame
    for number, comp in enumerate(fm.components, 1):
        for key, row, index in gf.parameter_table(comp):
            if key in ("XC", "YC") and comp.base_type != "sky":
                # refit_feedme put positions into a cut-out of the window; the user fits the frame.
                comp.rows[row].values[index] += (window.x1 - 1) if key == "XC" else (window.y1 - 1)
            true_values[(number, (row, index))] = comp.rows[row].values[index]
            how, low, high = perturbation.get(key, (None, 0.0, 0.0))
            draw = rng.uniform(low, high)
            if how is None or comp.base_type == "sky" or not comp.rows[row].free(index):
                continue
            value = comp.rows[row].values[index]
            value = value + draw if how == "add" else value * draw
            if key == "AR":
                value = min(max(value, 0.02), 1.0)
            comp.rows[row].values[index] = value
    for con in constraints:
        if con.kind not in ("relative", "absolute"):
            continue
        for number in con.components:
            comp = fm.components[number - 1]
            row_key, index = con.parameter_of(comp, number)
            key = (number, (row_key, index))
            if key not in true_values:
                continue
            true = true_values[key]
            low, high = (true - con.high, true - con.low) if con.kind == "relative" else (con.low, con.high)
            row = comp.rows[row_key]
            row.values[index] = min(max(row.values[index], low), high)
    return fm


def prepare_real(trial_dir: Path, k: int, window, data: Path, seed: int, config: dict, sources=None) -> dict:
    """Write trial ``k``'s observation, the user's fit and its targets row under ``input/``.

    With ``sources`` (a mask of the frame, :func:`frame_sources`) the user's fit masks them
    (``F) usermask.fits``), as a user masks the neighbours in the fitted region.
    """
    inputs = trial_dir / "input"
    if (inputs / "done.json").exists():
        return json.loads((inputs / "done.json").read_text())
    shutil.rmtree(inputs, ignore_errors=True)
    inputs.mkdir(parents=True)
    noise_seed, start_seed = np.random.SeedSequence([seed, k]).spawn(2)
    frame, header = load_frame(data / DECALS["image"])
    if "GAIN" not in header:
        raise BenchError(f"{data / DECALS['image']}: GAIN: missing; the injected light's Poisson noise needs it")
    gain = float(header["GAIN"]) * float(header.get("NCOMBINE", 1))
    truth = gf.read_fit_header(data / DECALS["imgblock"])
    residual = fits.getdata(data / DECALS["imgblock"], 3)
    drawn, _ = sky_in_model(truth, residual=residual)
    light = galaxy_light(data / DECALS["imgblock"], sky_in_model_flag=drawn)
    observation = frame.copy()
    observation[gf.region_slices(window.bounds)] += poisson_light(light, gain, np.random.default_rng(noise_seed))
    fits.PrimaryHDU(observation.astype(np.float32), header=header).writeto(inputs / "observation.fits")
    # The real group stays in every trial's frame: its fitted section is never blank sky.
    bad = np.zeros(frame.shape, np.uint8)
    bad[gf.region_slices(truth.fitsect)] = 1
    fits.PrimaryHDU(bad).writeto(inputs / "badpix.fits")

    constraints = gf.read_constraints(data / DECALS["constraints"], len(truth.components))
    fm = user_start(truth, window, constraints, np.random.default_rng(start_seed))
    fm.control["K"] = "{:.6g} {:.6g}".format(*pixel_scale(header))
    staged = {"observation.fits": inputs / "observation.fits", "psf.fits": data / DECALS["psf"], "constraints.txt": data / DECALS["constraints"]}
    if sources is not None:
        fits.PrimaryHDU(sources.astype(np.uint8)).writeto(inputs / "usermask.fits")
        fm.control["F"] = "usermask.fits"
        staged["usermask.fits"] = inputs / "usermask.fits"
    gf.write_feedme(fm, inputs / "start.gal", header=f"user-like start of trial {k} (seed {seed}, window {window.name})")
    record = run_fit(
        inputs / "start.gal", inputs / "userfit", engine=config["fitter"]["engine"], galfit_exe=config["fitter"]["galfit"],
        timeout=config["fitter"]["timeout"], inputs=staged,
    )
    done = {"window": window.name, "userfit": {key: getattr(record, key) for key in ("status", "reason", "seconds", "chi2nu")}}
    if record.status == "failed":
        # A user whose fit crashed has no fit to measure: the trial is recorded as skipped.
        done["skipped"] = f"user fit failed: {record.reason}"
    done["row"] = {
        "target": TARGET, "band": BAND, "image": str(inputs / "observation.fits"), "imgblock": record.output,
        "psf": str(data / DECALS["psf"]), "constraints": str(data / DECALS["constraints"]),
        "comp_ident": str(data / DECALS["comp_ident"]), "feedme": str(inputs / "userfit" / "fit.gal"), "mask": str(inputs / "badpix.fits"),
    }
    (inputs / "done.json").write_text(json.dumps(done, indent=1) + "\n")
    return done


# ------------------------------------------------------------------------------------------
# One trial
# ------------------------------------------------------------------------------------------
def write_workdir(trial_dir: Path, config: dict, targets_text: str) -> None:
    (trial_dir / "config").mkdir(parents=True, exist_ok=True)
    (trial_dir / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (trial_dir / "config" / "targets.tsv").write_text(targets_text)


def run_workflow(trial_dir: Path, cores: int, *extra: str) -> subprocess.CompletedProcess:
    """The whole workflow (default target) in ``trial_dir``; output in ``snakemake.log``."""
    cmd = [
        sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(trial_dir),
        "--configfile", str(trial_dir / "config" / "config.yaml"), "--cores", str(cores), "--rerun-incomplete", "--keep-going", *extra,
    ]
    with open(trial_dir / "snakemake.log", "w") as log:
        return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def budget_terms(path: Path) -> dict[str, dict]:
    """Per-object columns of a ``budget.tsv`` laid out one row per object, else nothing."""
    if not path.exists():
        return {}
    rows, _ = read_table(path)
    if not rows or "object" not in rows[0] or len({str(r["object"]) for r in rows}) != len(rows):
        return {}
    return {_obj(r["object"]): {f"budget_{k}": v for k, v in r.items() if k != "object"} for r in rows}


def _obj(value) -> str:
    """Object id as text (tables read ``10`` back as ``10.0``)."""
    return str(value).removesuffix(".0")


def cost(results: Path) -> dict:
    """Windows, engine runs and their seconds from the run's files."""
    regions = [ln for ln in (results / "windows.tsv").read_text().splitlines() if ln and not ln.startswith(("#", "window"))]
    # Every engine run leaves its directory with attempt.json and status.json.
    statuses = [json.loads((p.parent / "status.json").read_text()) for p in (results / "windows").rglob("attempt.json")]
    return {
        "windows": len(regions),
        "fits": len(statuses),
        "fit_seconds": round(sum(s.get("seconds") or 0.0 for s in statuses), 2),
        "fit_cpu_seconds": round(sum(s.get("cpu_seconds") or 0.0 for s in statuses), 2),
        "statuses": {s: sum(r["status"] == s for r in statuses) for s in ("ok", "flagged", "failed")},
    }


def trial_rows(k: int, truth: dict, original: dict, results: Path) -> list[dict]:
    """Rows of coverage.tsv for one trial: the workflow's σ against the actual error."""
    unc, _ = read_table(results / "uncertainties.tsv")
    terms = budget_terms(results / "budget.tsv")
    rows = []
    for u in unc:
        obj = _obj(u["object"])
        sigma = float(u["sigma"] if "sigma" in u else u["std"])
        z = (original[obj] - truth[obj]) / sigma if sigma > 0 else math.nan
        extra = {f"unc_{key}": value for key, value in u.items() if key not in ("object", "mag_original", "sigma")}
        rows.append({"trial": k, "object": obj, "truth": truth[obj], "original": original[obj], "sigma": sigma, "z": z, **extra, **terms.get(obj, {})})
    return rows


def with_sigma(row: dict, column: str) -> dict:
    """``row`` with σ taken from another column of uncertainties.tsv (kept as ``unc_<column>``)."""
    key = f"unc_{column}"
    if key not in row:
        raise BenchError(f"--sigma-column: {column!r} is not a column of the trials' uncertainties.tsv; use one of {sorted(k[4:] for k in row if k.startswith('unc_'))}")
    sigma = float(row[key])
    return {**row, "sigma": sigma, "z": (row["original"] - row["truth"]) / sigma if sigma > 0 else math.nan}


def run_trial(k: int, args, config: dict, out: Path, windows, sources=None) -> dict:
    """Run (or reuse) trial ``k``; returns its record (rows, cost, times).

    ``windows`` and ``sources`` are real mode's trial windows and the user's source mask
    (or None), see :func:`prepare_real`.

    With ``args.retable`` a finished trial's tables are made again by the current code (the
    ``tables`` rule and what follows it; the fits are reused) and its rows re-read.
    """
    trial_dir = out / f"trial_{k:03d}"
    done = trial_dir / "trial.json"
    if done.exists():
        record = json.loads(done.read_text())
        if not (args.retable and record["rows"]):
            return record
        proc = run_workflow(trial_dir, args.cores, "--forcerun", "tables")
        if proc.returncode:
            raise TrialError(f"{trial_dir / 'snakemake.log'}: workflow: exit {proc.returncode} re-making the tables; read the log")
        return _save(done, {**record, "rows": trial_rows(k, *trial_truth(args, trial_dir))})
    trial_dir.mkdir(parents=True, exist_ok=True)
    start = time.time()
    record: dict = {"trial": k}
    if args.mode == "real":
        prepared = prepare_real(trial_dir, k, windows[k], Path(args.data), args.seed, config, sources)
        row = prepared["row"]
        write_workdir(trial_dir, config, "\t".join(row) + "\n" + "\t".join(row.values()) + "\n")
        record.update(window=prepared["window"], userfit=prepared["userfit"])
        if "skipped" in prepared:
            return _save(done, {**record, "skipped": prepared["skipped"], "rows": [], "seconds": round(time.time() - start, 1), "windows": 0, "fits": 0})
    else:
        write_workdir(trial_dir, merge(config, {"demo": {"seed": args.seed + k}}), demo_targets())
        record.update(demo_seed=args.seed + k)
    proc = run_workflow(trial_dir, args.cores)
    results = trial_results(args, trial_dir)
    if not (results / "uncertainties.tsv").exists():
        raise TrialError(f"{trial_dir / 'snakemake.log'}: workflow: exit {proc.returncode} without uncertainties.tsv; read the log")
    record.update(
        rows=trial_rows(k, *trial_truth(args, trial_dir)), workflow_exit=proc.returncode,
        seconds=round(time.time() - start, 1), **cost(results),
    )
    return _save(done, record)


def trial_results(args, trial_dir: Path) -> Path:
    """The results folder of a trial's workflow run."""
    return trial_dir / "results" / TARGET / BAND if args.mode == "real" else trial_dir / "results" / "demo" / "z"


def trial_truth(args, trial_dir: Path) -> tuple[dict, dict, Path]:
    """A run trial's true and original (user-fit) object magnitudes, and its results folder."""
    results = trial_results(args, trial_dir)
    if args.mode == "demo":
        comp_ident = gf.read_comp_ident(results / "input" / "comp_ident.txt")
        truth = demo_truth(results / "input" / "truth.tsv")
        original_block = results / "input" / "imgblock.fits"
    else:
        data = Path(args.data)
        comp_ident = gf.read_comp_ident(data / DECALS["comp_ident"])
        truth = object_magnitudes(gf.read_fit_header(data / DECALS["imgblock"]), comp_ident)
        targets, _ = read_table(trial_dir / "config" / "targets.tsv")
        original_block = Path(targets[0]["imgblock"])
    return truth, object_magnitudes(gf.read_fit_header(original_block), comp_ident), results


def _save(path: Path, record: dict) -> dict:
    """Write a trial's record last and atomically: its presence marks the trial finished."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(tmp, path)
    return record


def demo_truth(path: Path) -> dict[str, float]:
    """Object magnitudes combined from the component rows of the demo's truth.tsv (the
    object rows are rounded to 4 decimals)."""
    components, _ = read_truth(path)
    per_object: dict[str, list[float]] = {}
    for comp in components:
        per_object.setdefault(str(comp["object"]), []).append(float(comp["mag"]))
    return {obj: combine_magnitudes(mags) for obj, mags in per_object.items()}


def demo_targets() -> str:
    """The demo row of the repository's targets table (header and that row)."""
    lines = (REPO / "config" / "targets.tsv").read_text().splitlines()
    demo = [ln for ln in lines[1:] if ln.split("\t")[:2] == ["demo", "z"]]
    if not demo:
        raise BenchError(f"{REPO / 'config' / 'targets.tsv'}: demo row: missing; restore the demo target")
    return lines[0] + "\n" + demo[0] + "\n"


# ------------------------------------------------------------------------------------------
# Tables and plot
# ------------------------------------------------------------------------------------------
def warned(row: dict) -> bool:
    """Whether the workflow gave the row's object a ``warning`` in ``uncertainties.tsv``."""
    text = row.get("unc_warning")
    return isinstance(text, str) and bool(text.strip())


def row_groups(rows: list[dict]) -> dict[str, list[dict]]:
    """The rows of each object, then ``all``, ``no warning`` and ``warning``: the summary's groups."""
    objects = sorted({r["object"] for r in rows}, key=natural_key)
    groups = {obj: [r for r in rows if r["object"] == obj] for obj in objects}
    groups.update({"all": rows, "no warning": [r for r in rows if not warned(r)], "warning": [r for r in rows if warned(r)]})
    return groups


def summarize(rows: list[dict], seed: int) -> list[dict]:
    """Per object, ``all``, and the rows without and with a workflow ``warning``: coverage
    fractions, mean and rms of z, bootstrap range of rms z.

    The bootstrap resamples trials with replacement (all of a trial's rows together) and
    gives the 16th and 84th percentiles of rms z.
    """
    rng = np.random.default_rng(seed)
    out = []
    for name, sel in row_groups(rows).items():
        trials = sorted({r["trial"] for r in sel})
        by_trial = [np.array([r["z"] for r in sel if r["trial"] == t and np.isfinite(r["z"])]) for t in trials]
        z = np.concatenate(by_trial) if by_trial else np.array([])
        picks = rng.integers(0, len(trials), size=(BOOTSTRAP, len(trials))) if trials else np.zeros((0, 0), int)
        boot = [math.sqrt(np.mean(np.concatenate([by_trial[i] for i in p]) ** 2)) for p in picks if sum(by_trial[i].size for i in p)]
        out.append(
            {
                "object": name, "n": int(z.size),
                "cover1": float(np.mean(np.abs(z) <= 1)) if z.size else math.nan,
                "cover2": float(np.mean(np.abs(z) <= 2)) if z.size else math.nan,
                "mean_z": float(np.mean(z)) if z.size else math.nan,
                "rms_z": float(math.sqrt(np.mean(z**2))) if z.size else math.nan,
                "rms_z_p16": float(np.percentile(boot, 16)) if boot else math.nan,
                "rms_z_p84": float(np.percentile(boot, 84)) if boot else math.nan,
            }
        )
    return out


def _cell(value) -> str:
    if isinstance(value, float):
        return "nan" if not math.isfinite(value) else f"{value:.10g}"
    return str(value)


def write_tsv(path: Path, rows: list[dict], columns: list[str], comments: dict) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as fh:
        for key, value in comments.items():
            fh.write(f"# {key}: {value}\n")
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow([_cell(r.get(c, "")) for c in columns])
    os.replace(tmp, path)


def plot(rows: list[dict], path: Path, title: str) -> None:
    """z histogram against N(0, 1), and σ against |original − truth| per object."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    z = np.array([r["z"] for r in rows], float)
    z = z[np.isfinite(z)]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    edges = np.arange(-5, 5.01, 0.5)
    clipped = np.clip(z, edges[0] + 1e-9, edges[-1] - 1e-9)
    ax1.hist(clipped, bins=edges, density=True, color="0.7", edgecolor="0.3", label=f"z (n = {z.size}; ends hold |z| > 5)")
    grid = np.linspace(-5, 5, 400)
    ax1.plot(grid, np.exp(-grid**2 / 2) / math.sqrt(2 * math.pi), "k-", label="N(0, 1)")
    ax1.set_xlabel("z = (original − truth) / σ")
    ax1.set_ylabel("density")
    ax1.legend(fontsize=8)
    objects = sorted({r["object"] for r in rows}, key=natural_key)
    cmap = plt.get_cmap("tab10")
    floor = 1e-4  # |errors| below this are drawn on it (log axis)
    for i, obj in enumerate(objects):
        sel = [r for r in rows if r["object"] == obj]
        errors = [max(abs(r["original"] - r["truth"]), floor) for r in sel]
        ax2.scatter([r["sigma"] for r in sel], errors, s=14, color=cmap(i % 10), label=f"{obj}")
    values = np.array([r["sigma"] for r in rows] + [max(abs(r["original"] - r["truth"]), floor) for r in rows], float)
    values = values[np.isfinite(values) & (values > 0)]
    lim = np.array([values.min() / 2, values.max() * 2]) if values.size else np.array([1e-3, 1.0])
    ax2.plot(lim, lim, "k-", lw=1, label="|error| = σ")
    ax2.plot(lim, 2 * lim, "k--", lw=1, label="|error| = 2σ")
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlim(*lim)
    ax2.set_ylim(*lim)
    ax2.set_xlabel("reported σ (mag)")
    ax2.set_ylabel("|original − truth| (mag)")
    ax2.legend(fontsize=7, ncol=2, title="object", title_fontsize=7)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------
def machine_load() -> str:
    """1, 5 and 15 minute load averages."""
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def check_settings(out: Path, settings: dict) -> None:
    """Refuse to mix trials of different settings in one output folder."""
    path = out / "settings.json"
    if path.exists():
        before = json.loads(path.read_text())
        if before != settings:
            changed = sorted(k for k in set(before) | set(settings) if before.get(k) != settings.get(k))
            raise BenchError(f"{path}: settings: {', '.join(changed)} differ from this folder's trials; use another --out")
    else:
        out.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings, indent=1) + "\n")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("real", "demo"), required=True)
    parser.add_argument("--trials", type=int, required=True, help="trials K")
    parser.add_argument("--seed", type=int, default=1, help="seed S (demo: demo.seed S..S+K-1; real: noise and starts; bootstrap)")
    parser.add_argument("--windows", type=int, default=20, help="windows.max_windows of every workflow run")
    parser.add_argument("--engine", choices=("embedded", "galfit"), default="embedded")
    parser.add_argument("--galfit", default=None, help="GALFIT executable for --engine galfit")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a workflow config value (dotted key, YAML value); repeatable")
    parser.add_argument("--data", default=None, help="folder of the DECaLS case (real mode)")
    parser.add_argument(
        "--user-mask",
        choices=("none", "sources"),
        default="none",
        help="real mode: the user's fit masks nothing, or the sources the workflow's mask finds in the trial window",
    )
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores of every run")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument(
        "--sigma-column",
        default="sigma",
        help="column of uncertainties.tsv that z divides by (e.g. std, mad_sigma); other than sigma, the outputs are "
        "coverage_COLUMN.tsv, summary_COLUMN.tsv and coverage_COLUMN.png (trials already run are only re-read)",
    )
    parser.add_argument(
        "--retable",
        action="store_true",
        help="make the finished trials' tables again with the current code, reusing their fits (after a change to the statistics or warnings)",
    )
    args = parser.parse_args(argv)
    if args.trials < 1 or args.windows < 1:
        parser.error("--trials and --windows must be at least 1")
    if args.engine == "galfit" and not args.galfit:
        parser.error("--engine galfit needs --galfit PATH")
    if args.user_mask != "none" and args.mode != "real":
        parser.error("--user-mask is for --mode real (the demo's user fit is the demo's own)")
    args.data = str(Path(args.data).resolve() if args.data else default_data())
    if args.mode == "real":
        missing = [name for name in DECALS.values() if not (Path(args.data) / name).exists()]
        if missing:
            parser.error(f"{args.data}: {missing[0]}: not found; give the DECaLS case with --data")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    out = Path(args.out).resolve()
    try:
        config = workflow_config(args)
        settings = {
            "mode": args.mode, "seed": args.seed, "windows": args.windows, "engine": args.engine, "galfit": config["fitter"]["galfit"],
            "set": sorted(args.set), "data": args.data if args.mode == "real" else None,
        }
        if args.user_mask != "none":  # recorded only when used, so folders of earlier runs stay valid
            settings["user_mask"] = args.user_mask
        check_settings(out, settings)
        windows = trial_windows(Path(args.data), config, args.trials) if args.mode == "real" else None
        sources = frame_sources(Path(args.data), config) if args.user_mask == "sources" else None
        t0 = time.time()
        records = []
        for k in range(args.trials):
            reused = (out / f"trial_{k:03d}" / "trial.json").exists()
            try:
                rec = run_trial(k, args, config, out, windows, sources)
            except TrialError as exc:
                print(f"trial {k + 1}/{args.trials} failed: {exc}; elapsed {time.time() - t0:.0f} s, load {machine_load()}", flush=True)
                continue
            records.append(rec)
            if rec["rows"]:
                worst = max(rec["rows"], key=lambda r: abs(r["z"]) if math.isfinite(r["z"]) else -1)
                outcome = f"{rec['windows']} windows, {rec['fits']} fits; worst z {worst['z']:+.2f} (object {worst['object']})"
            else:
                outcome = f"skipped ({rec['skipped']})"
            print(
                f"trial {k + 1}/{args.trials} {'(done before) ' if reused else ''}{rec.get('window', rec.get('demo_seed'))}: "
                f"{rec['seconds']:.0f} s, {outcome}; elapsed {time.time() - t0:.0f} s, load {machine_load()}",
                flush=True,
            )
    except BenchError as exc:
        print(exc, file=sys.stderr)
        return 1
    rows = [r for rec in records for r in rec["rows"]]
    suffix = ""
    if args.sigma_column != "sigma":
        rows = [with_sigma(r, args.sigma_column) for r in rows]
        suffix = f"_{args.sigma_column}"
    extra = list(dict.fromkeys(k for r in rows for k in r if k not in COVERAGE_COLUMNS))
    comments = {
        "mode": args.mode, "trials": args.trials, "seed": args.seed, "windows": args.windows, "engine": args.engine,
        "set": " ".join(args.set) or "none", **({"user mask": args.user_mask} if args.mode == "real" else {}), "trials used": sum(bool(r["rows"]) for r in records),
        "trials skipped": "; ".join(f"{r['trial']}: {r['skipped']}" for r in records if "skipped" in r) or "none",
        "trials failed (retried on the next run)": args.trials - len(records),
        "trial seconds (sum)": round(sum(r["seconds"] for r in records), 1),
        "fits per window": round(sum(r["fits"] for r in records) / max(sum(r["windows"] for r in records), 1), 3),
    }
    comments["sigma"] = f"uncertainties.tsv column {args.sigma_column}"
    write_tsv(out / f"coverage{suffix}.tsv", rows, COVERAGE_COLUMNS + extra, comments)
    summary = summarize(rows, args.seed)
    write_tsv(out / f"summary{suffix}.tsv", summary, SUMMARY_COLUMNS, comments)
    title = f"{args.mode}: {args.trials} trials × {args.windows} windows, engine {args.engine}" + (f", {' '.join(args.set)}" if args.set else "")
    plot(rows, out / f"coverage{suffix}.png", title)
    for s in summary:
        print("\t".join(_cell(s[c]) for c in SUMMARY_COLUMNS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
