"""The real data under tests/data: every file is listed with its SHA-256 in its folder's
PROVENANCE.md, every listed file is there unchanged, and the whole stays small."""

import hashlib
import re

import pytest

from conftest import DATA

FOLDERS = sorted(p for p in DATA.iterdir() if p.is_dir())
LINE = re.compile(r"^([0-9a-f]{64})  (\S.*)$")


def listed(folder) -> dict:
    """Path -> SHA-256 from the checksum lines of ``folder/PROVENANCE.md``."""
    text = (folder / "PROVENANCE.md").read_text()
    return {m.group(2): m.group(1) for m in map(LINE.match, text.splitlines()) if m}


def test_the_four_folders_ship():
    assert [p.name for p in FOLDERS] == ["decals-coolj0112", "galfit-examples", "galfit305-renders", "golden"]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_every_file_has_its_checksum(folder):
    sums = listed(folder)
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and p.name != "PROVENANCE.md"}
    assert set(sums) == files
    bad = [name for name, digest in sums.items() if hashlib.sha256((folder / name).read_bytes()).hexdigest() != digest]
    assert bad == []


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_provenance_names_source_and_licence(folder):
    text = (folder / "PROVENANCE.md").read_text()
    assert "Licence" in text and "GALFIT 3.0.5" in text


def test_data_stay_under_25_mb():
    total = sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file())
    assert total <= 25 * 1024**2
