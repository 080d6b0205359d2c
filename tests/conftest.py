"""Shared fixtures.

Tests that read real GALFIT files use the ``shared`` fixture: ``shared('decals-coolj0112',
'psf_example.fits')`` is the path of that file under ``tests/data``, which ships with the project
(each folder's ``PROVENANCE.md`` says where its files come from).  A missing file is an error,
never a skip.
"""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


def shared_path(*parts) -> Path:
    """Path under ``tests/data``; fail when it is missing (the data ship with the project)."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"test data not found: {path}; restore tests/data from the repository")
    return path


@pytest.fixture
def shared():
    """Function ``shared('decals-coolj0112', 'psf_example.fits')`` -> existing path."""
    return shared_path
