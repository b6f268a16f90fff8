"""Files go to the workers a few per task while many remain, one per task at the end."""

from __future__ import annotations

import os

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


def test_items_are_stored_in_the_order_files_are_found_not_the_order_workers_finish(tmp_path, data_dir):
    """A slow first file (a 12 MP BMP, decoded at full size) finishes after the small JPEGs behind it; the
    store's ids, the keeper's last tie-break, still follow the walk."""
    import shutil

    import numpy as np
    from PIL import Image

    from photodedup.scan.engine import ScanOptions, scan
    from photodedup.store.db import Store

    folder = tmp_path / "in"
    folder.mkdir()
    noise = np.random.default_rng(1).integers(0, 256, (3000, 4000, 3), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "a_big.bmp")
    small = sorted((data_dir / "near-duplicates/imagededup/base_images").glob("*.jpg"))
    assert len(small) >= 8
    for i, path in enumerate(small):
        shutil.copy2(path, folder / f"b_{i:02d}.jpg")
    store = Store(tmp_path / "s.db")
    report = scan([str(folder)], store, ScanOptions(workers=2))
    assert report.new == len(small) + 1 and report.failed == 0
    by_id = [os.path.basename(r["path"]) for r in store.items()]  # ORDER BY id
    assert by_id == ["a_big.bmp", *(f"b_{i:02d}.jpg" for i in range(len(small)))]
