"""Shared fixtures: the real test data in ../shared/data, read in place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _data_dir() -> Path:
    env = os.environ.get("PHOTODEDUP_TEST_DATA")
    return Path(env) if env else REPO.parent / "shared" / "data"


DATA = _data_dir()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Read-only: copy anything a test must change into tmp_path."""
    if not (DATA / "README.md").exists():
        pytest.fail(f"test data not found at {DATA}; set PHOTODEDUP_TEST_DATA")
    return DATA
