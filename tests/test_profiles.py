"""The execution profiles: valid for Snakemake and the SLURM plugin, and every rule declares
the threads and resources they use."""

import importlib.util
import re
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from bench_dag import dry_run, fake_workdir, job_counts  # noqa: E402

PER_REGION = ("batch",)


def rule_blocks():
    """Rule name -> text of its declaration, from every rules/*.smk file."""
    blocks = {}
    for path in sorted((REPO / "rules").glob("*.smk")):
        parts = re.split(r"^(?:rule|checkpoint) (\w+):\n", path.read_text(), flags=re.M)
        blocks.update(zip(parts[1::2], parts[2::2]))
    return blocks


@pytest.fixture
def fake(shared, tmp_path):
    """Two targets x one band x three windows in batches of two, the regions checkpoint done."""
    case = Path(shared("decals-coolj0112", "org_data_example.fits")).parent
    fake_workdir(tmp_path, case, ["a", "b"], ["z"], 3, batch=2)
    return tmp_path


def rule_names():
    """Every rule's name, those derived with ``use rule ... as NAME`` included."""
    text = "".join(p.read_text() for p in sorted((REPO / "rules").glob("*.smk")))
    return set(rule_blocks()) | set(re.findall(r"^use rule \w+ as (\w+)", text, re.M))


def job_resources(output):
    """(rule, resources line) of every job a dry run lists."""
    return re.findall(r"^(?:local)?(?:rule|checkpoint) (\w+):\n(?:    .*\n)*?    resources: (.*)$", output, re.M)


def test_every_rule_declares_threads_and_resources():
    blocks = rule_blocks()
    assert {"mask", "windows", "galaxy", "batch", "tables", "summary"} <= set(blocks)
    for name, text in blocks.items():
        assert re.search(r"^    threads: \d+$", text, re.M), f"rule {name}: no threads"
        resources = text.split("    resources:\n", 1)[-1] if "    resources:\n" in text else ""
        assert re.search(r"^        mem_mb=", resources, re.M) and re.search(r"^        runtime=", resources, re.M), f"rule {name}: no mem_mb/runtime"


def test_every_profile_is_a_tested_configuration():
    # Each profile folder holds a non-empty config.yaml and has a dry run below.
    profiles = sorted(p.name for p in (REPO / "profiles").iterdir() if p.is_dir())
    assert profiles == ["local", "slurm"]
    for name in profiles:
        config = yaml.safe_load((REPO / "profiles" / name / "config.yaml").read_text())
        assert isinstance(config, dict) and config, name


def test_slurm_profile_names_real_rules():
    profile = yaml.safe_load((REPO / "profiles" / "slurm" / "config.yaml").read_text())
    rules = rule_names()
    assert profile["executor"] == "slurm"
    arrays = {r.strip() for r in profile["slurm-array-jobs"].split(",")}
    assert set(PER_REGION) <= arrays <= rules
    assert set(profile["set-resources"]) <= rules
    # Retries get more memory: every expression grows with the attempt number.
    for rule, values in profile["set-resources"].items():
        assert "attempt" in values["mem_mb"], rule


def test_local_profile_dry_run(fake):
    seconds, run = dry_run(fake, "--profile", str(REPO / "profiles" / "local"))
    assert run.returncode == 0, run.stderr[-3000:]
    counts = job_counts(run.stdout + run.stderr)
    assert counts["batch"] == 4, counts


@pytest.mark.skipif(importlib.util.find_spec("snakemake_executor_plugin_slurm") is None, reason="snakemake-executor-plugin-slurm is not installed")
def test_slurm_profile_dry_run(fake):
    seconds, run = dry_run(fake, "--profile", str(REPO / "profiles" / "slurm"))
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = job_resources(run.stdout + run.stderr)
    assert {rule for rule, _ in jobs} >= set(PER_REGION) | {"tables", "summary"}
    for rule, resources in jobs:
        assert re.search(r"\bmem_mb=\d+", resources) and re.search(r"\bruntime=\d+", resources), (rule, resources)
    # set-resources of the profile at attempt 1, and the batch's runtime from the rule:
    # two fits of up to fitter.timeout (10 min) each, a minute each to spare, and 5 minutes.
    batch = next(res for rule, res in jobs if rule == "batch")
    assert "mem_mb=2000" in batch and "runtime=27" in batch
    galaxy = next(res for rule, res in jobs if rule == "galaxy")
    assert "mem_mb=2000" in galaxy and "runtime=10" in galaxy


@pytest.mark.skipif(importlib.util.find_spec("snakemake_executor_plugin_slurm") is None, reason="snakemake-executor-plugin-slurm is not installed")
def test_slurm_profile_retry_gets_more_memory_and_time(fake):
    seconds, run = dry_run(fake, "--profile", str(REPO / "profiles" / "slurm"), "--attempt", "2")
    assert run.returncode == 0, run.stderr[-3000:]
    jobs = dict(job_resources(run.stdout + run.stderr))
    assert "mem_mb=4000" in jobs["batch"] and "runtime=54" in jobs["batch"]
    assert "mem_mb=4000" in jobs["galaxy"] and "runtime=20" in jobs["galaxy"]
