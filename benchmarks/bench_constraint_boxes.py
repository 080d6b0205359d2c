"""Relative constraint ranges on the shared DECaLS case: re-fits in boxes about their own start
versus in the original fit's boxes.

``cons_rel.txt`` gives every Sersic n a range of -1.5..+6 and every q -0.43..+0.5 about the
starting value of the input file.  Two runs of the workflow (default settings, embedded engine),
identical but for the starting n and q of the input file named in the targets table:

``about the re-fit's start``
    the input file starts at the best fit, so the boxes sit about the best fit: what every
    re-fit faced when the constraint file was copied unchanged (re-fits start at the best fit);
``original boxes``
    the reconstructed original input file (``tests/data/decals-coolj0112/``: n = 2, q = 0.5),
    whose boxes are n 0.5..8 and q 0.07..1.

Prints per object the std and robust sigma of the re-fitted magnitudes and their median
shift from the original, then what the boxes did to the parameters.

Usage: ``python benchmarks/bench_constraint_boxes.py [--cores 2] [--workdir DIR]``
(reads the project's ``tests/data``).
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "decals-coolj0112"
ORIGINAL = REPO / "tests" / "data" / "decals-coolj0112" / "original-reconstructed.gal"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
sys.path.insert(0, str(REPO / "src"))
from galfit_unc import galfit_files as gf  # noqa: E402
from galfit_unc.tables import read_table  # noqa: E402

FILES = {"image": "org_data_example.fits", "imgblock": "galfit_output_example.fits", "psf": "psf_example.fits", "constraints": "cons_rel.txt", "comp_ident": "comp_ident_example.txt"}


def start_at_best_fit(path: Path) -> None:
    """The reconstructed input file with every n and q starting at the image block's value."""
    feedme = gf.read_feedme(ORIGINAL)
    header = gf.read_fit_header(DATA / FILES["imgblock"])
    for comp, hcomp in zip(feedme.components, header.components):
        if comp.base_type == "sersic":
            comp.set_value("5", 0, hcomp["N"].value)
            comp.set_value("9", 0, hcomp["AR"].value)
    gf.write_feedme(feedme, path, header="The original fit's components, every parameter starting at its best-fit value")


def run(workdir: Path, feedme: Path, cores: int) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    row = {"target": "cool", "band": "z", **{k: str(DATA / v) for k, v in FILES.items()}, "feedme": str(feedme)}
    (workdir / "targets.tsv").write_text("\t".join(row) + "\n" + "\t".join(row.values()) + "\n")
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["targets"] = "targets.tsv"
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    out = workdir / "results" / "cool" / "z"
    cmd = [str(SNAKEMAKE), "results/cool/z/uncertainties.tsv", "-s", str(REPO / "Snakefile"), "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"), "--cores", str(cores), "--quiet", "all"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        sys.exit((proc.stdout + proc.stderr)[-3000:])
    return out


def parameters(out: Path) -> dict:
    """(component, key) -> array of the re-fitted values over the windows."""
    values = {}
    for block in sorted(out.glob("windows/*/fit/output.fits")):
        for comp in gf.read_fit_header(block).components:
            for key, hv in comp.params:
                values.setdefault((comp.number, key), []).append(hv.value)
    return {k: np.array(v) for k, v in values.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the runs here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = args.workdir or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        start_at_best_fit(base / "best-fit-start.gal")
        cases = {"about the re-fit's start": base / "best-fit-start.gal", "original boxes": ORIGINAL}
        outs = {name: run(base / name.split()[0], feedme, args.cores) for name, feedme in cases.items()}
        tables = {name: {str(r["object"]).removesuffix(".0"): r for r in read_table(out / "uncertainties.tsv")[0]} for name, out in outs.items()}
        names = list(cases)
        print("| object | " + " | ".join(f"σ {n} (std / robust)" for n in names) + " | " + " | ".join(f"median − original, {n}" for n in names) + " |")
        print("|---" * (1 + 2 * len(names)) + "|")
        for obj in tables[names[0]]:
            rows = [tables[n][obj] for n in names]
            print(f"| {obj} | " + " | ".join(f"{r['std']:.3f} / {r['mad_sigma']:.3f}" for r in rows) + " | " + " | ".join(f"{r['bias']:+.3f}" for r in rows) + " |")
        print()
        for name, out in outs.items():
            p = parameters(out)
            nfit = len(p[(2, "N")])
            low_q = {c: int(np.sum(p[(c, "AR")] < 0.07 - 1e-4)) for c in range(1, 24)}
            print(
                f"{name}: {nfit} fits; component 2 n <= 0.05 in {int(np.sum(p[(2, 'N')] <= 0.0501))}, n < 0.5 in {int(np.sum(p[(2, 'N')] < 0.4999))}; "
                f"component 17 n min {p[(17, 'N')].min():.2f}, median {np.median(p[(17, 'N')]):.2f}; "
                f"q < 0.07: {', '.join(f'{c}: {k}' for c, k in low_q.items() if k) or 'none'}"
            )


if __name__ == "__main__":
    main()
