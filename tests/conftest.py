"""Shared fixtures.

Tests that read the real GALFIT files in ``../shared`` (beside the repository) use the
``shared`` fixture: it skips with a reason when the folder is absent, but fails when the
environment variable ``CI`` is set, because CI always has it.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT / ".." / "shared").resolve()


def shared_path(*parts) -> Path:
    """Path under ``../shared/data``; skip (or fail on CI) when it is missing."""
    path = SHARED.joinpath("data", *parts)
    if not path.exists():
        msg = f"shared data not found: {path} (clone the repository beside shared/)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture
def shared():
    """Function ``shared('decals-coolj0112', 'psf_example.fits')`` -> existing path."""
    return shared_path
