"""Files go to the workers a few per task while many remain, one per task at the end."""

from __future__ import annotations

import pytest

from photodedup.scan.engine import MAX_BATCH, Unit, _batches


def _units(n: int) -> list[Unit]:
    return [Unit(str(i).encode(), 1, "file", f"/f{i}") for i in range(n)]


@pytest.mark.parametrize(("n", "workers"), [(0, 2), (1, 2), (7, 2), (100, 2), (1000, 2), (37, 8), (5000, 16)])
def test_batches_cover_every_file_once_in_order(n: int, workers: int) -> None:
    units = _units(n)
    batches = list(_batches(units, workers))
    assert [u for b in batches for u in b] == units
    assert all(1 <= len(b) <= MAX_BATCH for b in batches)
    if n >= workers * 4:  # the last files go one by one, so no worker waits on another's long batch
        assert all(len(b) == 1 for b in batches[-workers * 4 :])
    if n >= 10 * workers * 4 * MAX_BATCH:
        assert len(batches) < n / 2  # and most tasks carry several files
