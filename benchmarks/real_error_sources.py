"""Two error sources of the real-mode calibration that the re-fits cannot see, measured apart.

``bench_coverage.py --mode real`` finds σ too small on the DECaLS group. This script measures
two suspects directly, per object, with the embedded engine:

rendering
    The truth is GALFIT 3.0.5's image of the model; the fits use the embedded renderer. The
    noiseless GALFIT image (HDU2 of the image block, without the sky) is fitted from the
    truth itself, with a constant σ image of the frame's sky noise: any magnitude offset is
    the two renderers' difference, which every re-fit shares.
contaminants
    A trial's observation keeps the faint sources of its window, which the workflow cleans
    out of its own windows. Trials 0 … K−1 of ``bench_coverage.py`` (same seed, same windows,
    same user start) are fitted twice: as the benchmark does, and with the window's sources
    (the workflow's source mask, default settings) added to the bad-pixel mask. If the
    sources mattered, the masked fits' errors would be smaller.
start scale
    The same observations fitted a third time, from the truth perturbed on the re-fits'
    scale (``refit.perturb`` of the configuration: sizes and n × 0.5–2 by default) instead of
    the user's (× 0.7–1.4, × 0.6–1.6). Beside the oracle below, it separates the start from
    the windows: the oracle's re-fits start on this scale but in the workflow's cleaned windows.
oracle
    The workflow (default configuration, ``--windows`` windows) run on the real group's own
    GALFIT fit: σ of re-fits of the truth itself. Beside the rms error of the trials' user
    fits, it says whether re-fits would be honest if they were centred on the truth rather
    than on the user's fit.

    python benchmarks/real_error_sources.py [--trials 8] [--seed 1] [--windows 20] [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml
from astropy.io import fits
from bench_coverage import DECALS, REPO, TrialError, default_data, frame_sources, merge, prepare_real, run_workflow, trial_windows, user_start, write_workdir

from galfit_unc import galfit_files as gf
from galfit_unc.frames import load_frame
from galfit_unc.injection import galaxy_light, refit_feedme, sky_in_model
from galfit_unc.runner import run_fit
from galfit_unc.statistics import natural_key, object_magnitudes
from galfit_unc.tables import read_table


def rendering_offsets(data: Path, work: Path) -> dict[str, float]:
    """Per-object magnitude of the embedded fit of GALFIT's noiseless image, minus the truth."""
    block = data / DECALS["imgblock"]
    truth = gf.read_fit_header(block)
    drawn, _ = sky_in_model(truth, residual=fits.getdata(block, 3))
    light = galaxy_light(block, sky_in_model_flag=drawn)
    frame, _ = load_frame(data / DECALS["image"])
    noise = 1.4826 * float(np.median(np.abs(frame - np.median(frame))))
    work.mkdir(parents=True, exist_ok=True)
    fits.PrimaryHDU(light.astype(np.float32)).writeto(work / "light.fits", overwrite=True)
    fits.PrimaryHDU(np.full(light.shape, noise, np.float32)).writeto(work / "sigma.fits", overwrite=True)
    fm = refit_feedme(truth, window_shape=light.shape, image="light.fits", output="imgblock.fits", constraints="constraints.txt")
    fm.control["C"] = "sigma.fits"
    for comp in fm.components:
        if comp.base_type == "sky":
            next(iter(comp.rows.values())).values[0] = 0.0  # the light has no sky
    gf.write_feedme(fm, work / "start.gal")
    inputs = {"light.fits": work / "light.fits", "sigma.fits": work / "sigma.fits", "psf.fits": data / DECALS["psf"], "constraints.txt": data / DECALS["constraints"]}
    record = run_fit(work / "start.gal", work / "fit", engine="embedded", timeout=1800, inputs=inputs)
    comp_ident = gf.read_comp_ident(data / DECALS["comp_ident"])
    fitted = object_magnitudes(gf.read_fit_header(record.output), comp_ident)
    true = object_magnitudes(truth, comp_ident)
    return {obj: fitted[obj] - true[obj] for obj in true}


def refit_scale(perturb: dict) -> dict:
    """``refit.perturb`` of the configuration as a perturbation table of :func:`bench_coverage.user_start`."""
    scale = {"XC": ("add", -perturb["xy"], perturb["xy"]), "YC": ("add", -perturb["xy"], perturb["xy"]),
             "MAG": ("add", -perturb["mag"], perturb["mag"]), "N": ("scale", *perturb["n"]),
             "AR": ("add", -perturb["q"], perturb["q"]), "PA": ("add", -perturb["pa"], perturb["pa"])}
    scale.update({key: ("scale", *perturb["size"]) for key in ("RE", "RS", "FWHM")})
    return scale


def trial_errors(data: Path, work: Path, trials: int, seed: int) -> dict[str, np.ndarray]:
    """Per-object errors (trials × 3: as the benchmark, with the window's sources masked,
    from a start on the re-fits' scale)."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    windows = trial_windows(data, config, trials)
    sources = frame_sources(data, config)
    truth = gf.read_fit_header(data / DECALS["imgblock"])
    comp_ident = gf.read_comp_ident(data / DECALS["comp_ident"])
    true = object_magnitudes(truth, comp_ident)
    constraints = gf.read_constraints(data / DECALS["constraints"], len(truth.components))
    wide = refit_scale(config["refit"]["perturb"])
    errors = {obj: np.full((trials, 3), np.nan) for obj in true}
    for k in range(trials):
        trial = work / f"trial_{k:03d}"
        done = prepare_real(trial, k, windows[k], data, seed, config)
        if "skipped" in done:
            print(f"trial {k}: {done['skipped']}", flush=True)
            continue
        inputs = trial / "input"
        bad = fits.getdata(inputs / "badpix.fits").astype(bool) | sources
        fits.PrimaryHDU(bad.astype(np.uint8)).writeto(inputs / "badpix_sources.fits", overwrite=True)
        fm = gf.read_feedme(inputs / "start.gal")
        fm.control["F"] = "badpix_sources.fits"
        gf.write_feedme(fm, inputs / "start_sources.gal")
        plain_inputs = {"observation.fits": inputs / "observation.fits", "psf.fits": data / DECALS["psf"], "constraints.txt": data / DECALS["constraints"]}
        staged = {**plain_inputs, "badpix_sources.fits": inputs / "badpix_sources.fits"}
        block = inputs / "userfit_sources" / "imgblock.fits"
        if not block.exists():  # a finished fit is reused when --out is given again
            run_fit(inputs / "start_sources.gal", block.parent, engine="embedded", timeout=1800, inputs=staged)
        wide_block = inputs / "userfit_wide" / "imgblock.fits"
        if not wide_block.exists():
            rng = np.random.default_rng(np.random.SeedSequence([seed, k, 2]))
            wide_fm = user_start(truth, windows[k], constraints, rng, perturbation=wide)
            wide_fm.control["K"] = fm.control["K"]  # the user's plate scale, as in start.gal
            gf.write_feedme(wide_fm, inputs / "start_wide.gal")
            run_fit(inputs / "start_wide.gal", wide_block.parent, engine="embedded", timeout=1800, inputs=plain_inputs)
        fitted = [done["row"]["imgblock"], block, wide_block]
        mags = [object_magnitudes(gf.read_fit_header(b), comp_ident) if Path(b).exists() else {} for b in fitted]
        for obj in true:
            errors[obj][k] = [m.get(obj, np.nan) - true[obj] for m in mags]
        window = windows[k]
        print(f"trial {k} ({window.name}, {sources[gf.region_slices(window.bounds)].mean():.1%} of the window masked as sources)", flush=True)
    return errors


def oracle_sigma(data: Path, work: Path, windows: int) -> dict[str, float]:
    """σ of every object from the workflow run on the group's own GALFIT fit (the truth)."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config = merge(config, {"windows": {"max_windows": windows}, "targets": "config/targets.tsv"})
    columns = ["target", "band", "image", "imgblock", "psf", "constraints", "comp_ident", "feedme"]
    files = [DECALS[key] for key in ("image", "imgblock", "psf", "constraints", "comp_ident")] + ["original-reconstructed.gal"]
    row = ["truth", "z", *(str((data / name).resolve()) for name in files)]
    write_workdir(work, config, "\t".join(columns) + "\n" + "\t".join(row) + "\n")
    run_workflow(work, cores=2)
    table = work / "results" / "truth" / "z" / "uncertainties.tsv"
    if not table.exists():
        raise TrialError(f"{work / 'snakemake.log'}: workflow: no uncertainties.tsv; read the log")
    rows, _ = read_table(table)
    return {str(r["object"]).removesuffix(".0"): float(r["sigma"]) for r in rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--windows", type=int, default=20, help="windows of the oracle run (0: no oracle run)")
    parser.add_argument("--data", default=str(default_data()))
    parser.add_argument("--out", help="keep the fits here (default: a temporary folder)")
    args = parser.parse_args(argv)
    data = Path(args.data)
    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="error-sources-"))
    try:
        offsets = rendering_offsets(data, work / "rendering")
        errors = trial_errors(data, work / "contaminants", args.trials, args.seed)
        oracle = oracle_sigma(data, work / "oracle", args.windows) if args.windows else {}
    finally:
        if not args.out:
            shutil.rmtree(work, ignore_errors=True)
    print("object\trendering offset\trms error (benchmark)\trms error (sources masked)\trms change\trms error (re-fits' start scale)\toracle sigma")
    for obj in sorted(offsets, key=natural_key):
        e = errors[obj]
        rms = np.sqrt(np.nanmean(e**2, axis=0))
        change = np.sqrt(np.nanmean((e[:, 1] - e[:, 0]) ** 2))
        print(f"{obj}\t{offsets[obj]:+.4f}\t{rms[0]:.4f}\t{rms[1]:.4f}\t{change:.4f}\t{rms[2]:.4f}\t{oracle.get(obj, float('nan')):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
