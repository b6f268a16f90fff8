"""Incremental re-scans, moves, deletions and kill -9 at any moment, with real processes."""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from photodedup.scan.engine import ScanOptions, scan
from photodedup.store.db import Store

PHOTODEDUP = [sys.executable, "-m", "photodedup"]


def make_corpus(folder: Path, source: Path, n: int, size=(800, 600)) -> list[Path]:
    """n distinct JPEGs made from a real photo: shifted crops, so every file decodes and differs."""
    folder.mkdir(parents=True, exist_ok=True)
    base = Image.open(source).convert("RGB").resize((size[0] * 2, size[1] * 2))
    rng = random.Random(1)
    out = []
    for i in range(n):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        p = folder / f"sub{i % 7}" / f"IMG_{i:04d}.jpg"
        p.parent.mkdir(exist_ok=True)
        base.crop((x, y, x + size[0], y + size[1])).save(p, quality=85)
        out.append(p)
    return out


@pytest.fixture
def photo(data_dir: Path) -> Path:
    return data_dir / "near-duplicates/imagededup/base_images/ukbench00120.jpg"


def count_items(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as c:
            return c.execute("SELECT count(*) FROM items").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_kill_9_at_any_moment_then_resume(tmp_path, photo):
    # Enough files that a scan spans many batches (256 rows or 1 s each) on a fast machine.
    n = 1500
    make_corpus(tmp_path / "photos", photo, n, size=(320, 240))
    db = tmp_path / "store.db"
    cmd = [*PHOTODEDUP, "scan", str(tmp_path / "photos"), "--db", str(db), "--workers", "2", "-q"]
    seen_before_kill = []
    rng = random.Random(7)
    for _attempt in range(3):
        before = count_items(db)
        if before >= n:
            break
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + 60
        target = before + rng.randint(1, 400)
        while count_items(db) < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.random() * 0.3)  # land the kill anywhere: mid-batch, mid-decode, mid-commit
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        seen_before_kill.append(count_items(db))
    assert any(0 < c < n for c in seen_before_kill), f"no kill landed mid-scan: {seen_before_kill}"

    recorded = count_items(db)
    with sqlite3.connect(db) as c:
        before_ids = dict(c.execute("SELECT key, id FROM items").fetchall())
    result = subprocess.run([*cmd, "--json-log", str(tmp_path / "log.jsonl")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"{n - recorded} new" in result.stdout and f"{recorded} unchanged" in result.stdout, result.stdout
    with sqlite3.connect(db) as c:
        keys = c.execute("SELECT key, id, status, phash FROM items").fetchall()
        assert c.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert len(keys) == n and len({k for k, *_ in keys}) == n  # nothing recorded twice
    assert all(status == "ok" and phash for _, _, status, phash in keys)
    assert all(before_ids[k] == i for k, i, *_ in keys if k in before_ids)  # finished work kept, not redone


def test_unchanged_rescan_skips_everything(tmp_path, photo):
    make_corpus(tmp_path / "p", photo, 30, size=(320, 240))
    store = Store(tmp_path / "s.db")
    first = scan([str(tmp_path / "p")], store, ScanOptions(workers=2))
    assert first.new == 30 and first.failed == 0
    again = scan([str(tmp_path / "p")], store, ScanOptions(workers=2))
    assert (again.new, again.updated, again.unchanged) == (0, 0, 30)


def test_modified_file_is_redone(tmp_path, photo):
    files = make_corpus(tmp_path / "p", photo, 5, size=(320, 240))
    store = Store(tmp_path / "s.db")
    scan([str(tmp_path / "p")], store, ScanOptions(workers=1))
    Image.open(files[0]).rotate(90).save(files[0])
    again = scan([str(tmp_path / "p")], store, ScanOptions(workers=1))
    assert (again.updated, again.unchanged) == (1, 4)


def test_moved_and_renamed_files_keep_their_id_without_decoding(tmp_path, photo, monkeypatch):
    files = make_corpus(tmp_path / "p", photo, 6, size=(320, 240))
    store = Store(tmp_path / "s.db")
    scan([str(tmp_path / "p")], store, ScanOptions(workers=1))
    ids = {r["path"]: r["id"] for r in store.items()}
    moved_to = tmp_path / "p" / "elsewhere" / "renamed.jpg"
    moved_to.parent.mkdir()
    shutil.move(files[0], moved_to)

    import photodedup.media.decode as decode

    def no_decode(*a, **k):
        raise AssertionError("a moved file must not be decoded again")

    monkeypatch.setattr(decode, "decode_image", no_decode)
    again = scan([str(tmp_path / "p")], store, ScanOptions(workers=1))
    assert again.moved == 1 and again.new == 0 and again.gone == 0 and again.failed == 0
    row = next(store.items("path = ?", [str(moved_to)]))
    assert row["id"] == ids[str(files[0])] and row["status"] == "ok" and row["phash"]


def test_copy_reuses_fingerprints_and_deleted_file_is_gone(tmp_path, photo, monkeypatch):
    files = make_corpus(tmp_path / "p", photo, 4, size=(320, 240))
    store = Store(tmp_path / "s.db")
    scan([str(tmp_path / "p")], store, ScanOptions(workers=1))
    copy = tmp_path / "p" / "copy of IMG.jpg"
    shutil.copy2(files[1], copy)
    files[2].unlink()
    import photodedup.media.decode as decode

    monkeypatch.setattr(
        decode, "decode_image", lambda *a, **k: (_ for _ in ()).throw(AssertionError("decoded"))
    )
    again = scan([str(tmp_path / "p")], store, ScanOptions(workers=1))
    assert again.new == 1 and again.reused == 1 and again.gone == 1 and again.failed == 0
    rows = {r["path"]: r for r in store.items()}
    assert rows[str(copy)]["phash"] == rows[str(files[1])]["phash"]
    assert rows[str(files[2])]["status"] == "gone"


def test_symlink_loops_are_walked_once(tmp_path, photo):
    make_corpus(tmp_path / "p", photo, 3, size=(160, 120))
    os.symlink(tmp_path / "p", tmp_path / "p" / "sub0" / "loop")
    store = Store(tmp_path / "s.db")
    report = scan([str(tmp_path / "p")], store, ScanOptions(workers=1))
    assert report.new == 3


def test_items_lacking_newer_hashes_are_refreshed_once(tmp_path, photo):
    """A row fingerprinted before the turned pHashes existed is redone by the next scan, and only once."""
    make_corpus(tmp_path / "photos", photo, 4, size=(320, 240))
    store = Store(tmp_path / "store.db")
    opts = ScanOptions(workers=1)
    scan([str(tmp_path / "photos")], store, opts)
    old = next(store.items("status = 'ok'"))
    store.db.execute(
        "UPDATE items SET phash_r90 = NULL, phash_r180 = NULL, phash_r270 = NULL WHERE id = ?", [old["id"]]
    )
    report = scan([str(tmp_path / "photos")], store, opts)
    assert report.updated == 1 and report.new == 0
    row = next(store.items("id = ?", [old["id"]]))
    assert row["phash_r90"] == old["phash_r90"] and row["phash"] == old["phash"]
    again = scan([str(tmp_path / "photos")], store, opts)
    assert again.updated == 0 and again.new == 0
