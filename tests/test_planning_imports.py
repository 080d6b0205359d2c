"""Snakemake's own process, which every cluster job starts again, loads no heavy library.

The Snakefile and rules/*.smk import a few of the package's modules to plan the jobs; what
those modules import is paid by every Snakemake run, dry run and cluster job.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Libraries the jobs need but planning does not (each costs 0.3-1 CPU-s to import).
HEAVY = ("scipy.signal", "scipy.stats", "scipy.integrate", "astropy.convolution", "astropy.modeling", "matplotlib")


def planning_imports() -> list[str]:
    """The import statements of the package in the Snakefile and every rules/*.smk."""
    lines = []
    for path in [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]:
        lines += [line.strip() for line in path.read_text().splitlines() if re.match(r"\s*(from|import) galfit_unc\b", line)]
    return lines


def test_planning_loads_no_heavy_library():
    imports = planning_imports()
    assert any("skysearch" in line for line in imports) and any("preflight" in line for line in imports)
    code = "\n".join(imports + ["import sys", f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"])
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert loaded == [], f"planning imports {loaded}; import them in the job's module instead"
