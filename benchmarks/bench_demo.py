"""Wall time of the whole demo: frame generation, the user's fit and the uncertainty run.

Runs ``snakemake --cores N`` with the default configuration in a fresh temporary
directory (nothing cached), then prints the wall time, the number of windows and the
demo's truth comparison.

Usage: ``python benchmarks/bench_demo.py [--cores 2] [--windows N]`` (``--windows`` overrides
``windows.max_windows``; the default keeps the configuration's value).
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--windows", type=int, default=None, help="windows.max_windows (default: the config's)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        work = Path(tmp)
        (work / "config").mkdir()
        config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
        if args.windows is not None:
            config["windows"]["max_windows"] = args.windows
        (work / "config" / "config.yaml").write_text(yaml.safe_dump(config))
        (work / "config" / "targets.tsv").write_text((REPO / "config" / "targets.tsv").read_text())
        cmd = [sys.executable, "-m", "snakemake", "--cores", str(args.cores), "--directory", str(work), "-s", str(REPO / "Snakefile"), "--quiet"]
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            print(proc.stderr[-4000:], file=sys.stderr)
            print(f"demo run failed after {wall:.1f} s", file=sys.stderr)
            return 1
        results = work / "results" / "demo" / "z"
        windows = sum(1 for line in (results / "windows.tsv").read_text().splitlines() if line and not line.startswith("#")) - 1
        print(f"demo: {wall:.1f} s wall with --cores {args.cores}, {windows} windows")
        print((results / "demo_truth.tsv").read_text(), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
