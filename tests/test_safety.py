"""The workflow writes and deletes only under results/, logs/ and .snakemake/; inputs whose
paths hold spaces and unusual characters work (the engine sees plain staged names); and
no shell command is built from file names."""

import hashlib
import re
import shutil
from pathlib import Path

from conftest import shared_path
from faults.common import reference_run, small_config, tables, text
from standins.harness import DECALS, REPO, out, snakemake, write_config

WRITABLE = ("results", "logs", ".snakemake")
ODD = "in put & (v2) 'odd' #1 ü"


def snapshot(root, skip=()) -> dict:
    """Relative path -> SHA-256 of every file under ``root`` outside ``skip`` and __pycache__."""
    files = {}
    for path in sorted(Path(root).rglob("*")):
        rel = path.relative_to(root)
        if rel.parts[0] in skip or "__pycache__" in rel.parts or path.is_dir():
            continue
        files[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def test_writes_only_results_logs_and_snakemake_with_odd_paths(tmp_path):
    # The workflow's own tree, copied, is also the working directory.
    tree = tmp_path / "copy of tree"
    shutil.copytree(REPO, tree, ignore=shutil.ignore_patterns(".git", "__pycache__", "*.egg-info", "results", "logs", ".snakemake", ".pytest_cache"))
    inputs = tmp_path / ODD
    inputs.mkdir()
    row = {"target": "cool", "band": "z"}
    for column, name in DECALS.items():
        staged = inputs / f"{column} {ODD}{Path(name).suffix}"
        shutil.copyfile(shared_path("decals-coolj0112", name), staged)
        row[column] = str(staged)
    (tree / "targets odd.tsv").write_text("\t".join(row) + "\n" + "\t".join(row.values()) + "\n")
    config = small_config(tree)
    write_config(tree, {**config, "targets": "targets odd.tsv"})
    before_tree, before_inputs = snapshot(tree), snapshot(inputs)

    run = snakemake(tree, "--snakefile", str(tree / "Snakefile"))
    assert run.returncode == 0, text(run)[-3000:]

    assert snapshot(tree, skip=WRITABLE) == before_tree
    assert snapshot(inputs) == before_inputs
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["copy of tree", ODD])
    # The engine read plain names only, and the answer does not depend on where inputs live.
    fit_dir = next(out(tree, "windows").glob("*/fit"))
    lines = (fit_dir / "fit.gal").read_text().splitlines()
    assert any(re.match(r"A\)\s+injected\.fits(\s|$)", ln) for ln in lines), lines
    assert any(re.match(r"D\)\s+psf\.fits(\s|$)", ln) for ln in lines), lines
    assert tables(tree) == tables(reference_run(shared_path))


def test_no_shell_command_from_unquoted_file_names():
    # Rules run Python scripts; any shell directive must quote every file name ({x:q}).
    for smk in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]:
        source = smk.read_text()
        for block in re.findall(r"^\s*shell:\s*\n((?:\s+.*\n)+)", source, flags=re.M):
            unquoted = [f for f in re.findall(r"(?<!\{)\{([^{}]+)\}(?!\})", block) if not f.endswith(":q") and f.split(".")[0] in ("input", "output", "log", "params", "wildcards")]
            assert not unquoted, f"{smk.name}: unquoted {unquoted}"
    for py in [*sorted((REPO / "workflow_scripts").glob("*.py")), *sorted((REPO / "src" / "galfit_unc").rglob("*.py"))]:
        source = py.read_text()
        assert "shell=True" not in source and "os.system(" not in source and "os.popen(" not in source, py.name
