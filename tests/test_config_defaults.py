"""A configuration that sets only what differs: every key has a default in the schema, values
from ``--config`` are typed by the schema, and config errors read as sentences."""

import copy

import pytest
import yaml

from conftest import ROOT
from faults.common import error_line, text
from galfit_unc.config import ConfigError, check_config, coerce_config
from galfit_unc.targets import TargetsError, read_targets
from standins.harness import DECALS, snakemake

SCHEMA = ROOT / "config" / "schemas" / "config.schema.yaml"
TARGETS_SCHEMA = ROOT / "config" / "schemas" / "targets.schema.yaml"


def schema_defaults(spec) -> dict:
    """The configuration the schema's defaults make, section by section."""
    return {key: schema_defaults(sub) if sub.get("type") == "object" else sub["default"] for key, sub in spec["properties"].items()}


def test_every_key_has_a_default_equal_to_the_shipped_config():
    spec = yaml.safe_load(SCHEMA.read_text())
    assert "required" not in spec
    shipped = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    assert schema_defaults(spec) == shipped


def test_default_targets_table_is_config_targets_tsv():
    spec = yaml.safe_load(SCHEMA.read_text())
    assert spec["properties"]["targets"]["default"] == "config/targets.tsv"


def test_partial_config_passes_the_check():
    check_config({"targets": "mine.tsv"}, SCHEMA, "my.yaml")
    check_config({}, SCHEMA, "my.yaml")
    check_config({"windows": {"max_windows": 7}}, SCHEMA, "my.yaml")


def test_coerce_types_nested_strings_by_the_schema():
    # What `snakemake --config 'demo={seed: 3}' ...` hands over: every nested scalar a string.
    config = {
        "targets": "123",
        "demo": {"seed": "3", "psf_fwhm": "1.5"},
        "cleaning": {"kernel_sigmas": ["6", "3"], "fill_noise": "false"},
        "windows": {"target_margin": "null", "max_overlap": "0.25"},
        "fitter": {"galfit": "42", "timeout": "ten minutes"},
        "stats": None,
    }
    coerce_config(config, SCHEMA)
    assert config == {
        "targets": "123",  # a string key stays a string
        "demo": {"seed": 3, "psf_fwhm": 1.5},
        "cleaning": {"kernel_sigmas": [6, 3], "fill_noise": False},
        "windows": {"target_margin": None, "max_overlap": 0.25},
        "fitter": {"galfit": "42", "timeout": "ten minutes"},  # no reading fits: left for the check
    }
    with pytest.raises(ConfigError, match=r"fitter\.timeout: 'ten minutes' is not of type 'number'; fix the value"):
        check_config(config, SCHEMA, "my.yaml")


def test_coerce_leaves_typed_values_alone():
    config = {"demo": {"seed": 3}, "cleaning": {"kernel_sigmas": [8, 4]}}
    before = copy.deepcopy(config)
    assert coerce_config(config, SCHEMA) == before


@pytest.mark.parametrize(
    "config, message",
    [
        ({"fiter": {"engine": "galfit"}}, "my.yaml: fiter: unknown key; did you mean 'fitter'?"),
        ({"windows": {"max_window": 20}}, "my.yaml: windows.max_window: unknown key; did you mean 'windows.max_windows'?"),
        ({"stats": {"use_flaged": False}}, "my.yaml: stats.use_flaged: unknown key; did you mean 'stats.use_flagged'?"),
        ({"zzz": 1}, "my.yaml: zzz: unknown key; the keys here are targets, fitter, batch,"),
    ],
)
def test_unknown_key_says_did_you_mean(config, message):
    with pytest.raises(ConfigError) as err:
        check_config(config, SCHEMA, "my.yaml")
    assert str(err.value).startswith(message)


def test_missing_key_is_named(tmp_path):
    schema = tmp_path / "schema.yaml"
    schema.write_text("type: object\nrequired: [alpha]\nproperties:\n  alpha:\n    type: integer\n    description: The first letter.\n")
    with pytest.raises(ConfigError) as err:
        check_config({}, schema, "my.yaml")
    assert str(err.value) == "my.yaml: alpha: missing key; add it (The first letter.)"


def test_band_with_a_space_is_a_sentence(tmp_path):
    table = tmp_path / "targets.tsv"
    row = {"target": "cool", "band": "z band", **{k: "x" for k in DECALS}}
    table.write_text("\t".join(row) + "\n" + "\t".join(row.values()) + "\n")
    with pytest.raises(TargetsError) as err:
        read_targets(table, schema=TARGETS_SCHEMA)
    message = str(err.value)
    assert message.startswith(f"{table}: line 2 (target cool, band z band): column 'band': 'z band' contains a space; the band's name")
    assert "^" not in message and "[A-Z" not in message


def two_line_workdir(tmp_path, shared, config_text):
    """A user's folder: the DECaLS files copied beside a targets table and a short config."""
    import shutil

    work = tmp_path / "mywork"
    (work / "data").mkdir(parents=True)
    row = {"target": "cool", "band": "z"}
    for column, name in DECALS.items():
        shutil.copyfile(shared("decals-coolj0112", name), work / "data" / name)
        row[column] = f"data/{name}"
    (work / "my_targets.tsv").write_text("\t".join(row) + "\n" + "\t".join(row.values()) + "\n")
    (work / "config.yaml").write_text(config_text)
    return work


def test_two_line_config_and_nested_override_with_snakemake(shared, tmp_path):
    # snakemake -s <repo>/Snakefile --directory mywork --configfile mywork/config.yaml -n
    work = two_line_workdir(tmp_path, shared, "targets: my_targets.tsv\nwindows: {max_windows: 6}\n")
    run = snakemake(work, "-n", "--config", "demo={seed: 3}", "cleaning={kernel_sigmas: [6, 3], fill_noise: false}")
    assert run.returncode == 0, text(run)[-3000:]
    assert "results/cool/z/windows.tsv" in text(run)
    # A nested value the schema refuses after typing is named.
    run = snakemake(work, "-n", "--config", "demo={seed: three}")
    assert run.returncode != 0
    assert "demo.seed: 'three' is not of type 'integer'" in error_line(run, "config.yaml", "demo.seed")
