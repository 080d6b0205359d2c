"""Two runs from scratch give byte-identical tables, and the tables record the seed."""

import yaml

from conftest import shared_path
from faults.common import TABLES, reference_run, small_config, tables
from standins.harness import REPO, make_workdir, out, snakemake


def test_two_runs_from_scratch_are_byte_identical(tmp_path):
    first = tables(reference_run(shared_path))
    work = tmp_path / "second"
    make_workdir(work, shared_path, small_config(work))
    run = snakemake(work)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    second = tables(work)
    assert set(first) == set(TABLES)
    for name in TABLES:
        assert second[name] == first[name], name
    # Equal because the same windows were fitted, not because nothing was: one row per window.
    assert len([ln for ln in second["magnitudes.tsv"].decode().splitlines() if not ln.startswith("#")]) == 2 + len(
        [ln for ln in second["windows.tsv"].decode().splitlines() if not ln.startswith(("#", "window"))]
    )


def test_tables_record_the_seed():
    seed = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["cleaning"]["seed"]
    work = reference_run(shared_path)
    for name in ("magnitudes.tsv", "uncertainties.tsv", "parameters.tsv"):
        comments = [ln for ln in out(work, name).read_text().splitlines() if ln.startswith("#")]
        # The seed line names each seed: the cleaning's first for a target that is not the demo.
        assert any(ln.startswith(f"# seed: cleaning.seed {seed} (") for ln in comments), name
