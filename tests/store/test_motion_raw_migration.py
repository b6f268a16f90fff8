"""Schema 4: the new columns exist, and a store written before them gets its RAW files and the photos of
phones that make motion photos fingerprinted again by the next scan (not skipped, not reused by digest);
everything else stays as it was."""

from __future__ import annotations

import os
import shutil
import sqlite3

from blake3 import blake3
from PIL import Image

from photodedup.evaluate.raw_samples import write_raw
from photodedup.scan.engine import ScanOptions, scan
from photodedup.store.db import Store
from photodedup.store.schema import FINGERPRINT_COLUMNS, MIGRATIONS


def test_every_fingerprint_column_exists_after_the_migrations(tmp_path):
    store = Store(tmp_path / "s.db")
    columns = {c.name for c in store.db["items"].columns}
    assert set(FINGERPRINT_COLUMNS) <= columns
    store.close()


def test_an_older_store_rereads_raw_and_motion_photo_candidates_only(tmp_path, data_dir):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy2(data_dir / "media/motion/pixel-motion-photo-shortened.jpg", folder / "PXL_1.jpg")
    shutil.copy2(data_dir / "media/motion/sample_MP.heic", folder / "sample_MP.heic")  # no camera in its EXIF
    shutil.copy2(data_dir / "media/burst/IMG_0658.JPG", folder / "IMG_0658.JPG")
    with Image.open(data_dir / "media/burst/IMG_0664.JPG") as im:
        im.draft("RGB", (1008, 756))
        write_raw(
            folder / "DSC_1",
            "NEF",
            im.convert("RGB"),
            make="NIKON",
            model="D750",
            taken_at="2020:01:01 10:00:00",
        )
    # What photodedup wrote before schema 4: the NEF as a TIFF, no motion columns.
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    for migration in MIGRATIONS[:3]:
        conn.executescript(migration)
    conn.execute("PRAGMA user_version=3")
    conn.execute("INSERT INTO sources (id, kind, root) VALUES (1, 'folder', ?)", [str(folder)])
    old = {
        "PXL_1.jpg": ("JPEG", "Google"),
        "sample_MP.heic": ("HEIF", None),
        "IMG_0658.JPG": ("JPEG", "Apple"),
        "DSC_1.nef": ("TIFF", "NIKON"),
    }
    for name, (fmt, make) in old.items():
        path = folder / name
        st = path.stat()
        conn.execute(
            "INSERT INTO items (key, source_id, kind, path, size, mtime_ns, status, media_type, format,"
            " blake3, decode_mode, make, phash, phash_r90) VALUES (?, 1, 'file', ?, ?, ?, 'ok', 'image', ?,"
            " ?, 'reduced', ?, '0f0f3c3c5a5aa5a5', '0f0f3c3c5a5aa5a5')",
            [
                os.fsencode(path),
                str(path),
                st.st_size,
                st.st_mtime_ns,
                fmt,
                blake3(path.read_bytes()).hexdigest(),
                make,
            ],
        )
    conn.commit()
    conn.close()

    store = Store(db)  # migrates
    marked = {os.path.basename(r["path"]): (r["mtime_ns"], r["decode_mode"]) for r in store.items()}
    assert marked["PXL_1.jpg"] == (None, None) and marked["DSC_1.nef"] == (None, None)
    assert None not in marked["IMG_0658.JPG"] and None not in marked["sample_MP.heic"]

    report = scan([str(folder)], store, ScanOptions(workers=1))
    assert report.failed == 0 and report.unchanged == 2 and report.reused == 0
    rows = {os.path.basename(r["path"]): r for r in store.items()}
    assert (rows["PXL_1.jpg"]["motion_offset"], rows["PXL_1.jpg"]["motion_length"]) == (131_582, 8_730)
    assert rows["DSC_1.nef"]["format"] == "NEF" and rows["DSC_1.nef"]["raw_preview"].startswith(
        "embedded JPEG"
    )
    # Not a known motion-photo phone by its metadata or name: left as it was until the file changes.
    assert rows["sample_MP.heic"]["motion_offset"] is None
    store.close()
