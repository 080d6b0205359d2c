"""Time and peak memory of the frame-wide stages (source mask, window search) on a large frame.

The demo frame is drawn at ``--size`` pixels a side (default 3600), with field stars and
galaxies at the default demo's density, and the user's fit is made on it (neither is timed).
Then the workflow builds the source mask, and then the windows checkpoint, each as its own
Snakemake run with one core.  Printed for each: wall time and the peak RSS of the run's
largest process (the job's Python, or Snakemake itself when larger), with the load averages
before and after.  Then the window search's own steps are timed in this process on the same
files with the configuration's settings and the workflow's target noise (CPU seconds): the local
noise map, the noise of every window position, and the selection, which must pick the
workflow's windows.

Usage: ``python benchmarks/bench_large_frame.py [--size 3600]``.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from astropy.io import fits

from galfit_unc.frames import load_frame
from galfit_unc.galfit_files import read_fit_header
from galfit_unc.skysearch import noise_map, read_windows_tsv, select_windows, window_sigma

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
#: Side of the default demo frame, whose field density the large frame keeps.
DEFAULT_SIZE = 1024


def load() -> str:
    """The load averages over 1, 5 and 15 minutes, as ``uptime`` prints them."""
    return "load average: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def snakemake(workdir: Path, target: str) -> tuple[float, float]:
    """Build ``target`` in ``workdir`` with one core; its wall time (s) and largest process's peak RSS (MB)."""
    cmd = [str(SNAKEMAKE), target, "-s", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(workdir / "config.yaml"), "--cores", "1", "--quiet", "all"]
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        # wait4's usage of the child covers the descendants it waited for: ru_maxrss is the largest.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            err.seek(0)
            raise SystemExit(f"snakemake {target} failed in {workdir}:\n{err.read().decode(errors='replace')[-3000:]}")
    return wall, usage.ru_maxrss / 1024


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=3600, help="frame side in pixels (default 3600)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
        area = (args.size / DEFAULT_SIZE) ** 2
        demo = config["demo"]
        demo.update(size=args.size, n_stars=round(demo["n_stars"] * area), n_galaxies=round(demo["n_galaxies"] * area))
        config["targets"] = str(REPO / "config" / "targets.tsv")
        (workdir / "config.yaml").write_text(yaml.safe_dump(config))
        print(f"before: {load()} ({os.cpu_count()} cores)")
        print(f"frame {args.size}x{args.size}, {demo['n_stars']} stars, {demo['n_galaxies']} galaxies")
        snakemake(workdir, "results/demo/z/input/imgblock.fits")
        for stage, target in (("source mask", "results/demo/z/mask.fits"), ("window search", "results/demo/z/windows.tsv")):
            wall, rss = snakemake(workdir, target)
            print(f"{stage:<14s} wall {wall:6.1f} s   peak RSS {rss:6.0f} MB")
        steps(workdir / "results" / "demo" / "z", config)
        print(f"after: {load()}")


def steps(folder: Path, config: dict) -> None:
    """CPU time of the window search's steps, in this process, with ``config``'s settings."""
    image, _ = load_frame(folder / "input" / "frame.fits")
    mask = fits.getdata(folder / "mask.fits") > 0
    x1, x2, y1, y2 = target = read_fit_header(folder / "input" / "imgblock.fits").fitsect
    shape = (y2 - y1 + 1, x2 - x1 + 1)
    win, clip = config["windows"], config["mask"]
    start = time.process_time()
    noise = noise_map(image, mask, box=win["noise_box"], clip_sigma=clip["clip_sigma"], clip_iters=clip["clip_iters"])
    marks = [time.process_time()]
    sigma = window_sigma(noise, *shape)
    marks.append(time.process_time())
    kept = select_windows(
        mask, shape, target, target_margin=win["target_margin"], contaminant_frac=win["contaminant_frac"],
        max_overlap=win["max_overlap"], max_windows=win["max_windows"], sigma=sigma,
        target_sigma=fits.getheader(folder / "noise.fits")["TGTSIGMA"], noise_tolerance=win["noise_tolerance"], spread=win["spread"],
    )
    marks.append(time.process_time())
    if [w.bounds for w in kept] != [w.bounds for w in read_windows_tsv(folder / "windows.tsv")]:
        raise SystemExit("the timed steps chose other windows than the workflow's windows.tsv")
    noise_s, sigma_s, select_s = np.diff([start] + marks)
    print(f"window search steps (CPU s): noise map {noise_s:.1f}, window noise {sigma_s:.1f}, selection of {len(kept)} {select_s:.1f}")


if __name__ == "__main__":
    main()
