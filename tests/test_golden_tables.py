"""Refactoring guard: the demo and the DECaLS case, run with one fully pinned configuration,
give the same tables byte for byte as the code that produced ``tests/data/golden``.

The configuration (``tests/data/golden/config-d6ba3c5.yaml``) sets every key, so a changed
default cannot move the result; it is small (three windows per target, a 512-pixel demo
frame) so that one run of both targets with the embedded engine takes about a minute and a
half on two cores.  The run is deterministic (two runs give identical files), and no table
holds a wall time, so nothing is masked.

Some names (and the demo truth table's sentence about sigma, and the warning's text) changed after the golden files
were written; :data:`RENAMED` lists each one, and the golden text and configuration are read
through it.  Only those may differ.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import DATA

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = DATA / "golden"
TARGET_FILES = ("regions.tsv", "magnitudes.tsv", "uncertainties.tsv", "parameters.tsv", "model.reg", "model_fk5.reg", "check.txt")
#: (pattern, replacement) applied to the golden files' lines and file names, in order: sky
#: windows were called regions (the windows table, its first column and the fits' tables'
#: first column, the configuration keys echoed in the headers, the count of windows).
RENAMED: list[tuple[str, str]] = [
    (r"^regions\.tsv$", "windows.tsv"),
    (r"^region\t", "window\t"),
    (r"^# regions: ", "# windows: "),
    (r"^# regions\.", "# windows."),
    (r"\bmax_regions\b", "max_windows"),
    (r"\bmin_regions\b", "min_windows"),
    (r"\bmin_ok_regions\b", "min_ok_windows"),
    # The warning names what the re-fits miss (with three windows, only ever the magnitude).
    (r"original outside p16-p84$", "original outside p16-p84: mag"),
    # The demo's truth table names the headline column, whichever statistic stats.sigma picks.
    (r"sigma = std of the re-fits in uncertainties\.tsv$", "sigma = the sigma column of uncertainties.tsv (stats.sigma)"),
]
#: Old configuration path -> new path.
RENAMED_KEYS: dict[tuple, tuple] = {
    ("regions",): ("windows",),
    ("regions", "max_regions"): ("windows", "max_windows"),
    ("regions", "min_regions"): ("windows", "min_windows"),
    ("batch", "regions"): ("batch", "windows"),
    ("stats", "min_ok_regions"): ("stats", "min_ok_windows"),
}


def renamed(text: str) -> str:
    for pattern, replacement in RENAMED:
        text = re.sub(pattern, replacement, text, flags=re.MULTILINE)
    return text


def current_config() -> dict:
    """The golden run's configuration in today's key names."""
    old = yaml.safe_load((GOLDEN / "config-d6ba3c5.yaml").read_text())
    new = {}
    for section, value in old.items():
        section_new = RENAMED_KEYS.get((section,), (section,))[0]
        if isinstance(value, dict):
            new[section_new] = {RENAMED_KEYS.get((section, key), (section_new, key))[1]: v for key, v in value.items()}
        else:
            new[section_new] = value
    return new


def targets_table() -> str:
    demo = "results/demo/z/input"
    decals = DATA / "decals-coolj0112"
    rows = [
        ["target", "band", "image", "imgblock", "psf", "constraints", "comp_ident", "feedme"],
        ["demo", "z", f"{demo}/frame.fits", f"{demo}/imgblock.fits", f"{demo}/psf.fits", f"{demo}/constraints.txt", f"{demo}/comp_ident.txt", f"{demo}/fit.gal"],
        ["decals", "z", *(str(decals / name) for name in ("org_data_example.fits", "galfit_output_example.fits", "psf_example.fits", "cons_abs.txt", "comp_ident_example.txt")), ""],
    ]
    return "".join("\t".join(row) + "\n" for row in rows)


@pytest.fixture(scope="module")
def golden_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("golden")
    (work / "config").mkdir()
    (work / "config" / "targets.tsv").write_text(targets_table())
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(current_config(), sort_keys=False))
    cmd = [str(Path(sys.executable).with_name("snakemake")), "-s", str(ROOT / "Snakefile"), "--directory", str(work), "--cores", "2"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}, stdin=subprocess.DEVNULL)
    assert run.returncode == 0, run.stderr[-3000:]
    return work / "results"


def cases():
    files = [(target, name) for target in ("demo", "decals") for name in TARGET_FILES]
    return files + [("demo", "demo_truth.tsv"), (None, "summary.tsv")]


@pytest.mark.parametrize("target,name", cases(), ids=lambda v: v or "all")
def test_tables_are_byte_identical(golden_run, target, name):
    golden = GOLDEN / target / name if target else GOLDEN / name
    made = golden_run / target / "z" / renamed(name) if target else golden_run / renamed(name)
    assert made.read_text() == renamed(golden.read_text())


def test_the_configuration_pins_every_key():
    """Every key of the schema is set, so a changed default cannot change the golden run."""
    schema = yaml.safe_load((ROOT / "config" / "schemas" / "config.schema.yaml").read_text())
    config = current_config()
    for section, spec in schema["properties"].items():
        assert section in config, section
        if spec.get("type") == "object" and "properties" in spec:
            assert set(spec["properties"]) <= set(config[section]), section
