"""The targets table: columns, schema, duplicates and missing files give one-line errors."""

from pathlib import Path

import pytest

from galfit_unc.targets import TargetsError, check_files, missing_files, read_targets

SCHEMA = Path(__file__).resolve().parents[1] / "config" / "schemas" / "targets.schema.yaml"
HEADER = "target\tband\timage\timgblock\tpsf\tconstraints\tcomp_ident"


def table(tmp_path, *lines, header=HEADER):
    path = tmp_path / "targets.tsv"
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def test_rows_none_and_empty_optional_columns(tmp_path):
    path = table(
        tmp_path,
        "a\tz\tf.fits\tb.fits\tp.fits\tnone\tc.txt\t\tyes",
        "a\tr\tf.fits\tb.fits\tp.fits\tcons.txt\tc.txt\tfit.gal\t",
        header=HEADER + "\tfeedme\tsky_in_model",
    )
    rows = read_targets(path, schema=SCHEMA)
    assert [(r["target"], r["band"]) for r in rows] == [("a", "z"), ("a", "r")]
    assert rows[0]["constraints"] is None and rows[1]["constraints"] == "cons.txt"
    assert "feedme" not in rows[0] and rows[0]["sky_in_model"] == "yes"
    assert rows[1]["feedme"] == "fit.gal" and "sky_in_model" not in rows[1]


def test_missing_column_named(tmp_path):
    path = table(tmp_path, "a\tz\tf\tb\tp\tnone", header="target\tband\timage\timgblock\tpsf\tconstraints")
    with pytest.raises(TargetsError, match=r"targets.tsv: line 1: missing column\(s\) comp_ident;"):
        read_targets(path)


def test_unknown_column_named(tmp_path):
    path = table(tmp_path, "a\tz\tf\tb\tp\tnone\tc\tx", header=HEADER + "\tweight")
    with pytest.raises(TargetsError, match="unknown column.*weight"):
        read_targets(path)


def test_duplicate_pair(tmp_path):
    path = table(tmp_path, "a\tz\tf\tb\tp\tnone\tc", "b\tz\tf\tb\tp\tnone\tc", "a\tz\tg\tb\tp\tnone\tc")
    with pytest.raises(TargetsError, match=r"line 4 \(target a, band z\): columns 'target', 'band': the pair repeats line 2"):
        read_targets(path)


def test_schema_value_named(tmp_path):
    path = table(tmp_path, "a\tz\tf\tb\tp\tnone\tc\tmaybe", header=HEADER + "\tsky_in_model")
    with pytest.raises(TargetsError, match=r"line 2 .*column 'sky_in_model': 'maybe' is not one of"):
        read_targets(path, schema=SCHEMA)
    path = table(tmp_path, "a/b\tz\tf\tb\tp\tnone\tc")
    with pytest.raises(TargetsError, match="column 'target'"):
        read_targets(path, schema=SCHEMA)


def test_cell_count(tmp_path):
    path = table(tmp_path, "a\tz\tf\tb\tp\tnone")
    with pytest.raises(TargetsError, match="line 2: 6 cells for 7 columns"):
        read_targets(path)


def test_missing_table(tmp_path):
    with pytest.raises(TargetsError, match="file: not found; set 'targets'"):
        read_targets(tmp_path / "nope.tsv")


def test_missing_files(shared):
    decals = {"image": "org_data_example.fits", "imgblock": "galfit_output_example.fits", "psf": "psf_example.fits", "comp_ident": "comp_ident_example.txt"}
    rows = [{"target": "a", "band": "z", "constraints": None, "mask": "made.fits", **{k: str(shared("decals-coolj0112", v)) for k, v in decals.items()}}]
    assert missing_files(rows) == [(0, "mask", "made.fits")]
    with pytest.raises(TargetsError, match=r"t.tsv: target a, band z: column 'mask': file made.fits not found"):
        check_files(rows, "t.tsv")
    # A file some rule makes is not missing.
    check_files(rows, "t.tsv", producible=lambda p: p == "made.fits")
