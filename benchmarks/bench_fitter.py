"""Speed and memory of the embedded fitter, in-process and as a whole process, beside GALFIT.

Cases (targets in brackets; real GALFIT 3.0.5 on this machine class in the notes):

* ``region4``: DECaLS seed region 4, 23 Sérsic + sky over 96×78, PSF 41×41, from the
  given starting values [≤ 2.5 s; GALFIT 24.8 s, 38 iterations]
* ``example``: GALFIT's own example, Sérsic + sky over 93×93 [≤ 0.2 s; GALFIT 0.84 s]
* ``synthetic400``: Sérsic + exponential disc + Gaussian + sky over 400×400, PSF 25×25,
  from perturbed starting values [≤ 5 s]
* ``region4-starts``: region 4 again, each timed call from its own start (the given one
  with component 1's x moved by k × 1e-4 pixel).  Region 4's fit is degenerate (components
  3, 4, 5 are identical): its path along the valley, hence its iteration count, changes
  with any change at the level of float rounding, so one start is one draw of a wide
  distribution; this case shows the distribution.

In-process: each case runs in its own child process (so peak RSS is the case's own): one
warm-up fit (imports, FFT plans), then ``--repeat`` timed calls of :func:`run_galfit`.
Printed: median wall and CPU time, median iterations (and all of them when they differ), the last
χ²ν, and the child's peak RSS.

Whole process: ``galfit-embedded FEEDME`` run ``--repeat`` times in the case's folder and
timed from start to exit (interpreter start, imports, reading, fit, outputs), with its peak
RSS.  When a GALFIT executable is given (``--galfit PATH``, or ``galfit`` on PATH), GALFIT
runs the same input file in a folder of its own, interleaved with the embedded runs (pairs,
the order alternating), and each pair's ratio embedded / GALFIT is printed with the two
χ² (CHISQ of each image block) and the median ratio.  ``--baseline SRC`` does the same with
another copy of the package (``SRC`` holds its ``galfit_unc``, e.g. the ``src`` folder of a
``git worktree`` of another commit), run by this interpreter: the change's effect, side by side
(in-process, the baseline's child runs after each case's and the ratio of the medians is printed).  The
interpreter alone (``python -c pass``) and with numpy imported run in the same rounds: the
floor below which no Python fitter can go (with GALFIT, its ratio to GALFIT is printed too).  Medians of the processes' CPU times
(user + system) are printed beside the wall times: a loaded machine stretches them less.  ``region4-starts`` is whole-process
timed from its first start only.  The machine's load averages (as ``uptime`` prints them)
are printed before and after the figures.

Many fits in one process (``--each K``): K copies of each case, each in a folder of its own,
fitted by one ``galfit-embedded --each -j JOBS`` process and by K single processes one after the
other (and by GALFIT when given), in interleaved rounds; printed per fit, with each round's ratio.

Usage: ``python benchmarks/bench_fitter.py [--repeat 3] [--case region4 ...] [--galfit PATH] [--baseline SRC]
[--each K [--jobs J]] [--no-process] [--no-inprocess]``; the default runs the first three cases,
``region4-starts`` wants ``--repeat 7``.  All cases but ``synthetic400`` read the project's ``tests/data``.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
CASES = ("region4", "example", "synthetic400", "region4-starts")
#: Starts of ``region4-starts``; timed call i runs start i modulo STARTS.
STARTS = 7
#: Position change between the starts of ``region4-starts`` (pixels).
START_STEP = 1e-4
#: Processes timed beside the whole-process runs: what any Python fitter pays before its first line.
FLOORS = (("python", "pass"), ("python+numpy", "import numpy"))

SYNTHETIC = """
A) data.fits
B) block.fits
C) sigma.fits
D) psf.fits
G) none
H) 1 400 1 400
I) 100 100
J) 25.0
P) 0
0) sersic
1) 180.4 210.7 1 1
3) 15.2 1
4) 25.0 1
5) 3.0 1
9) 0.7 1
10) 30.0 1
0) expdisk
1) 190.2 205.3 1 1
3) 15.0 1
4) 40.0 1
9) 0.5 1
10) 35.0 1
0) gaussian
1) 300.6 100.2 1 1
3) 18.0 1
4) 3.5 1
9) 0.9 1
10) 0.0 1
0) sky
1) 50.0 1
2) 0.0 0
3) 0.0 0
"""


def stage(case: str, folder: Path) -> list[str]:
    """Input files of ``case`` in ``folder``; returns the feedme names (one per start)."""
    if case == "region4-starts":
        from galfit_unc import galfit_files as gf

        fm = gf.read_feedme(folder / stage("region4", folder)[0])
        x0 = fm.components[0].value("1", 0)
        names = []
        for k in range(STARTS):
            fm.components[0].set_value("1", 0, x0 + k * START_STEP)
            names.append(f"start_{k}.gal")
            gf.write_feedme(fm, folder / names[-1])
        return names
    if case == "region4":
        reruns = DATA / "decals-coolj0112" / "galfit-reruns"
        for sub, name, src in (
            ("sky_files", "new_skycut_4.fits", reruns / "new_skycut_4.fits"),
            ("data", "psf_example.fits", DATA / "decals-coolj0112" / "psf_example.fits"),
            ("data", "cons_rel.txt", DATA / "decals-coolj0112" / "cons_rel.txt"),
        ):
            (folder / sub).mkdir(exist_ok=True)
            (folder / sub / name).symlink_to(src)
        (folder / "new_skycut_4.gal").write_text((reruns / "new_skycut_4.gal").read_text())
        return ["new_skycut_4.gal"]
    if case == "example":
        example = DATA / "galfit-examples" / "meg-main" / "galfit" / "galfit-example" / "EXAMPLE"
        for name in ("gal.fits", "psf.fits"):
            (folder / name).symlink_to(example / name)
        feedme = DATA / "galfit-examples" / "galfit305-example-run" / "galfit.feedme"
        (folder / "galfit.feedme").write_text(feedme.read_text())
        return ["galfit.feedme"]
    return [_synthetic(folder)]


def _synthetic(folder: Path) -> str:
    from astropy.io import fits

    from galfit_unc import galfit_files as gf
    from galfit_unc.fitter.render import ModelRenderer

    fm = gf.parse_feedme(SYNTHETIC)
    y, x = np.mgrid[:25, :25] - 12
    psf = np.exp(-(x**2 + y**2) / (2 * 1.3**2))
    psf /= psf.sum()
    renderer = ModelRenderer(fm.components, fm.region, psf, fm.convbox, fm.zeropoint)
    model = renderer.model(renderer.theta0)
    sigma = np.sqrt(model / 4.0 + 4.0)
    data = model + np.random.default_rng(5).normal(0.0, sigma)
    fits.writeto(folder / "data.fits", data.astype(np.float32), fits.Header({"EXPTIME": 1.0, "GAIN": 4.0, "NCOMBINE": 1}))
    fits.writeto(folder / "sigma.fits", sigma.astype(np.float32))
    fits.writeto(folder / "psf.fits", psf.astype(np.float32))
    for comp in fm.components[:3]:
        comp.set_value("1", 0, comp.value("1", 0) + 0.5)
        comp.set_value("1", 1, comp.value("1", 1) + 0.5)
        comp.set_value("3", 0, comp.value("3", 0) + 0.3)
        comp.set_value("4", 0, comp.value("4", 0) * 1.3)
    gf.write_feedme(fm, folder / "start.feedme")
    return "start.feedme"


def child(case: str, repeat: int) -> dict:
    """Run one case in this process and return its figures."""
    from galfit_unc.fitter.fit import run_galfit

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        feedmes = stage(case, folder)
        run_galfit(feedmes[0], workdir=folder)  # warm-up: imports, caches
        times, cpu, iterations = [], [], []
        for i in range(repeat):
            start, start_cpu = time.perf_counter(), time.process_time()
            outcome = run_galfit(feedmes[i % len(feedmes)], workdir=folder)
            times.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
            iterations.append(outcome.iterations)
    return {
        "case": case,
        "median_s": float(np.median(times)),
        "times_s": [round(t, 3) for t in times],
        "median_cpu_s": float(np.median(cpu)),
        "iterations": int(np.median(iterations)),
        "all_iterations": iterations,
        "chi2nu": round(outcome.chi2nu, 4),
        "flags": " ".join(outcome.flags),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def load() -> str:
    """The load averages over 1, 5 and 15 minutes, as ``uptime`` prints them."""
    return "load average: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def embedded_command() -> list[str]:
    """``galfit-embedded`` of this interpreter's environment (its module when not installed)."""
    script = shutil.which("galfit-embedded", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "galfit_unc.fitter.cli"]


def baseline_env(src: Path) -> dict:
    """This environment with ``src`` (another copy's ``galfit_unc``) first on the path."""
    return {**os.environ, "PYTHONPATH": str(src)}


def timed_process(command: list[str], folder: Path, env: dict | None = None) -> tuple[float, float, float]:
    """Run ``command`` in ``folder`` (with ``env``, default this one's); its wall time from start
    to exit and CPU time (user + system, s, which a loaded machine stretches less), and its peak
    RSS (MB)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            command, cwd=folder, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            last = (err.read().decode(errors="replace").strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
            raise RuntimeError(f"{' '.join(command)}: {last}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def block_chisq(folder: Path, feedme: str) -> float:
    """CHISQ of the image block that the run of ``feedme`` in ``folder`` wrote."""
    from astropy.io import fits

    from galfit_unc import galfit_files as gf

    with fits.open(folder / gf.read_feedme(folder / feedme).output_block) as hdul:
        return float(hdul[2].header["CHISQ"])


def whole_process(case: str, repeat: int, galfit: str | None, baseline: Path | None = None) -> None:
    """Time ``galfit-embedded`` on ``case``, and GALFIT and the baseline package in interleaved
    pairs with it, and print the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        programs = [("embedded", embedded_command(), None)]  # (name, command, environment)
        if galfit:
            programs.append(("galfit", [galfit], None))
        if baseline is not None:
            programs.append(("baseline", [sys.executable, "-m", "galfit_unc.fitter.cli"], baseline_env(baseline)))
        runs = []  # (name, command, folder, environment)
        for name, command, env in programs:
            folder = Path(tmp) / name
            folder.mkdir()
            feedme = stage(case, folder)[0]
            runs.append((name, command + [feedme], folder, env))
        # The floor of any Python fitter: the interpreter alone, and with numpy imported.
        runs += [(name, [sys.executable, "-c", code], Path(tmp), None) for name, code in FLOORS]
        times = {run[0]: [] for run in runs}
        cpu = {run[0]: [] for run in runs}
        rss = {run[0]: 0.0 for run in runs}
        for i in range(repeat):
            # Alternate the order so that no run always follows the same one on a warmer cache.
            for name, command, folder, env in runs if i % 2 == 0 else runs[::-1]:
                wall, used, peak = timed_process(command, folder, env)
                times[name].append(wall)
                cpu[name].append(used)
                rss[name] = max(rss[name], peak)
        chisq = {name: block_chisq(folder, feedme) for name, _, folder, _ in runs if name not in dict(FLOORS)}
    ours_t = times["embedded"]
    print(
        f"{case:<16s}{np.median(ours_t):>8.2f}{np.median(cpu['embedded']):>8.2f}{rss['embedded']:>13.0f}"
        f"{chisq['embedded']:>14.2f}  {[round(t, 2) for t in ours_t]}"
    )
    for name, _ in FLOORS:
        print(f"{'  ' + name:<16s}{np.median(times[name]):>8.2f}{np.median(cpu[name]):>8.2f}{'':>27s}  {[round(t, 2) for t in times[name]]}")
    for name in times:
        if name == "embedded" or name in dict(FLOORS):
            continue
        ratios = [a / b for a, b in zip(ours_t, times[name])]
        cpu_ratio = np.median([a / b for a, b in zip(cpu["embedded"], cpu[name])])
        label = "  GALFIT" if name == "galfit" else "  baseline"
        print(
            f"{label:<16s}{np.median(times[name]):>8.2f}{np.median(cpu[name]):>8.2f}{rss[name]:>13.0f}"
            f"{chisq[name]:>14.2f}  {[round(t, 2) for t in times[name]]}"
        )
        print(
            f"{'  ratio':<16s}{np.median(ratios):>8.3f}{cpu_ratio:>8.3f}{'':>13s}"
            f"{chisq['embedded'] / chisq[name] - 1:>+14.2%}  pairs {[round(r, 3) for r in ratios]}"
        )
        if name == "galfit":
            floor = [a / b for a, b in zip(times["python+numpy"], times[name])]
            print(f"{'  floor ratio':<16s}{np.median(floor):>8.3f}{'':>35s}  python+numpy / GALFIT, pairs {[round(r, 3) for r in floor]}")


def batch_process(case: str, count: int, jobs: int, repeat: int, galfit: str | None) -> None:
    """Time ``count`` fits of ``case``, each in a folder of its own, as one ``galfit-embedded
    --each -j JOBS`` process, against ``count`` single ``galfit-embedded`` processes run one
    after the other (and as many GALFIT runs), in interleaved rounds; print the figures per fit."""
    with tempfile.TemporaryDirectory() as tmp:
        names = ["each", "single"] + (["galfit"] if galfit else [])
        feedmes = {}
        for name in names:
            feedmes[name] = []
            for i in range(count):
                folder = Path(tmp) / name / f"fit{i:03d}"
                folder.mkdir(parents=True)
                feedmes[name].append(folder / stage(case, folder)[0])
        times = {name: [] for name in names}
        cpu = {name: [] for name in names}
        for i in range(repeat):
            for name in names if i % 2 == 0 else names[::-1]:
                if name == "each":
                    command = embedded_command() + ["--each", "-j", str(jobs)] + [str(f) for f in feedmes[name]]
                    wall, used, _ = timed_process(command, Path(tmp) / name)
                else:
                    program = embedded_command() if name == "single" else [galfit]
                    runs = [timed_process(program + [f.name], f.parent) for f in feedmes[name]]
                    wall, used = sum(r[0] for r in runs), sum(r[1] for r in runs)
                times[name].append(wall / count)
                cpu[name].append(used / count)
        chisq = {name: {round(block_chisq(f.parent, f.name), 4) for f in feedmes[name]} for name in names}
    label = f"{case} x{count}"
    for name in names:
        title = {"each": f"  --each -j {jobs}", "single": "  one process each", "galfit": "  GALFIT"}[name]
        print(
            f"{label if name == 'each' else '':<16s}{title:<20s}{np.median(times[name]):>8.3f}{np.median(cpu[name]):>8.3f}"
            f"  chi2 {sorted(chisq[name])}  {[round(t, 3) for t in times[name]]}"
        )
    for other in names[1:]:
        ratios = [a / b for a, b in zip(times["each"], times[other])]
        cpu_ratio = np.median([a / b for a, b in zip(cpu["each"], cpu[other])])
        print(f"{'':<16s}{'  ratio to ' + ('GALFIT' if other == 'galfit' else 'single'):<20s}{np.median(ratios):>8.3f}{cpu_ratio:>8.3f}  rounds {[round(r, 3) for r in ratios]}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--case", action="append", choices=CASES, help="case(s) to run (default: all)")
    p.add_argument("--galfit", metavar="PATH", help="GALFIT executable timed beside (default: galfit on PATH)")
    p.add_argument(
        "--baseline", metavar="SRC", type=Path,
        help="folder holding another copy of galfit_unc (e.g. a worktree's src) timed beside, whole processes",
    )
    p.add_argument(
        "--each", type=int, default=0, metavar="K",
        help="also time K fits of each case as one 'galfit-embedded --each' process against K single processes",
    )
    p.add_argument("--jobs", type=int, default=1, metavar="J", help="with --each: folders fitted at a time (default 1)")
    p.add_argument("--no-process", action="store_true", help="skip the whole-process runs")
    p.add_argument("--no-inprocess", action="store_true", help="skip the in-process runs")
    p.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.repeat)))
        return 0
    galfit = args.galfit or shutil.which("galfit")
    if args.galfit and not (Path(args.galfit).is_file() and os.access(args.galfit, os.X_OK)):
        p.error(f"--galfit {args.galfit}: not an executable file; give GALFIT's path")
    if args.baseline and not (args.baseline / "galfit_unc" / "fitter" / "cli.py").is_file():
        p.error(f"--baseline {args.baseline}: no galfit_unc/fitter/cli.py there; give the src folder of another checkout")
    cases = args.case or CASES[:3]
    print(f"before: {load()} ({os.cpu_count()} cores)")
    if not args.no_inprocess:
        print("\nin-process (run_galfit after a warm-up fit, one child process per case)")
        print(f"{'case':<16s}{'median s':>8s}{'CPU s':>8s}{'iterations':>12s}{'chi2nu':>9s}{'peak RSS MB':>13s}  runs")
        for case in cases:
            medians = {}
            children = [("", None)] + ([("  baseline", baseline_env(args.baseline))] if args.baseline else [])
            for label, env in children:
                proc = subprocess.run(
                    [sys.executable, __file__, "--child", case, "--repeat", str(args.repeat)],
                    capture_output=True, text=True, env=env,
                )
                name = label or case
                if proc.returncode != 0:
                    print(f"{name:<16s} failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}")
                    continue
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                medians[label] = (r["median_s"], r["median_cpu_s"])
                spread = f"  iterations {r['all_iterations']}" if len(set(r["all_iterations"])) > 1 else ""
                print(f"{name:<16s}{r['median_s']:>8.2f}{r['median_cpu_s']:>8.2f}{r['iterations']:>12d}{r['chi2nu']:>9.3f}{r['peak_rss_mb']:>13.0f}  {r['times_s']}{spread}")
            if len(medians) == 2:
                (w, c), (bw, bc) = medians[""], medians["  baseline"]
                print(f"{'  ratio':<16s}{w / bw:>8.3f}{c / bc:>8.3f}  (medians)")
    if not args.no_process:
        print(f"\nwhole process ({' '.join(embedded_command())} FEEDME, start to exit)", end="")
        print(f"; GALFIT: {galfit}, interleaved pairs" if galfit else "; GALFIT not run (no galfit on PATH; give --galfit PATH)", end="")
        print(f"; baseline: {args.baseline}" if args.baseline else "")
        print(f"{'case':<16s}{'median s':>8s}{'CPU s':>8s}{'peak RSS MB':>13s}{'chi2':>14s}  runs")
        for case in cases:
            try:
                whole_process(case, args.repeat, galfit, args.baseline)
            except RuntimeError as exc:
                print(f"{case:<16s} failed: {exc}")
    if args.each:
        print(f"\nmany fits in one process, per fit: {args.each} folders, {args.repeat} interleaved rounds (medians)")
        print(f"{'case':<16s}{'':<20s}{'wall s':>8s}{'CPU s':>8s}")
        for case in cases:
            try:
                batch_process(case, args.each, args.jobs, args.repeat, galfit)
            except RuntimeError as exc:
                print(f"{case:<16s} failed: {exc}")
    print(f"\nafter: {load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
