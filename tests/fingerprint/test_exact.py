"""Exact digests against the ground truth of the test data (README 3.1, 2.1, 3.9)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from photodedup.evaluate.known import EXACT_GROUPS, EXACT_UNDECODABLE
from photodedup.fingerprint.exact import digest_bytes, digest_file

ND = "near-duplicates/imagededup"
C2 = "photos-libraries/Test-13.5.1-compare-2.photoslibrary"
T26 = "photos-libraries/Test-26.1.photoslibrary"
MT = "photos-libraries/Test-Media-Types-15.7.2.photoslibrary"
GP = "takeout/Takeout/Google Photos"

# README 3.1: the 19 groups of byte-identical files (18 as the evaluation encodes them, plus two JSON files).
IDENTICAL_GROUPS: list[list[str]] = [
    *EXACT_GROUPS,
    EXACT_UNDECODABLE,
    [f"{GP}/print-subscriptions.json", f"{GP}/shared_album_comments.json"],
]

IMG_1994_FINGERPRINT = "AT6Ji2L3VO4MblxwJL/B7PjzfzGv"


def test_identical_groups_share_blake3_and_differ_across_groups(data_dir: Path) -> None:
    per_group: list[str] = []
    for group in IDENTICAL_GROUPS:
        digests = [digest_file(data_dir / rel) for rel in group]
        assert len({d.blake3 for d in digests}) == 1, group
        assert len({d.apple_fingerprint for d in digests}) == 1, group
        assert len({d.size for d in digests}) == 1, group
        assert digests[0].size == (data_dir / group[0]).stat().st_size
        assert len(digests[0].blake3) == 64
        per_group.append(digests[0].blake3)
    assert len(set(per_group)) == len(IDENTICAL_GROUPS)


def test_files_outside_groups_are_unique(data_dir: Path) -> None:
    """README 3.1: every other file in the folder is unique by content."""
    grouped = {rel for group in IDENTICAL_GROUPS for rel in group}
    seen: dict[str, str] = {}
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(data_dir).as_posix()
        if rel in grouped:
            continue
        b3 = digest_file(path).blake3
        assert b3 not in seen, (rel, seen.get(b3))
        seen[b3] = rel


def _stored_fingerprints(library: Path) -> dict[str, str | None]:
    """``originals/<dir>/<file>`` -> Photos' stored fingerprint, read-only.

    ZADDITIONALASSETATTRIBUTES.ZASSET is the Z_PK of the ZASSET row; the column is
    ZMASTERFINGERPRINT up to macOS 14 schemas, ZORIGINALSTABLEHASH on newer ones.
    """
    db = library / "database" / "Photos.sqlite"
    con = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        cols = {row[1] for row in con.execute("PRAGMA table_info(ZADDITIONALASSETATTRIBUTES)")}
        col = "ZMASTERFINGERPRINT" if "ZMASTERFINGERPRINT" in cols else "ZORIGINALSTABLEHASH"
        rows = con.execute(
            f"SELECT a.ZDIRECTORY, a.ZFILENAME, aa.{col} FROM ZASSET a "
            "JOIN ZADDITIONALASSETATTRIBUTES aa ON aa.ZASSET = a.Z_PK"
        ).fetchall()
    finally:
        con.close()
    return {f"originals/{d}/{f}": fp for d, f, fp in rows}


def test_apple_fingerprint_img_1994_pair(data_dir: Path) -> None:
    for name in (
        "C/C0054772-8788-499F-B94F-8AC6064B8A58.jpeg",
        "F/F269CA02-F39B-4306-882A-B05B31926C80.jpeg",
    ):
        assert digest_file(data_dir / C2 / "originals" / name).apple_fingerprint == IMG_1994_FINGERPRINT


@pytest.mark.parametrize("library", [C2, T26])
def test_apple_fingerprint_matches_photos_sqlite(data_dir: Path, library: str) -> None:
    lib = data_dir / library
    stored = _stored_fingerprints(lib)
    originals = sorted(p for p in (lib / "originals").rglob("*") if p.is_file())
    assert originals
    checked = 0
    for path in originals:
        rel = path.relative_to(lib).as_posix()
        assert stored.get(rel), f"no stored fingerprint for {rel}"
        ours = digest_file(path).apple_fingerprint
        if path.name.startswith("1EB2B765-"):
            # README 3.9: Pumpkins3.jpg was modified after import (591,071 B on disk vs 588,140 B).
            assert ours != stored[rel]
        else:
            assert ours == stored[rel], rel
            checked += 1
    assert checked == (5 if library == C2 else 6)


def test_digest_bytes_equals_digest_file(data_dir: Path, tmp_path: Path) -> None:
    paths = [
        data_dir / C2 / "originals/C/C0054772-8788-499F-B94F-8AC6064B8A58.jpeg",
        data_dir / "media/video/IMG_3539.MOV",
        data_dir / "corrupt/empty.jpg",
    ]
    for path in paths:
        data = path.read_bytes()
        expected = digest_bytes(data)
        assert digest_file(path) == expected
        assert digest_file(path, chunk=4096) == expected  # many chunks
        assert digest_file(path, chunk=7919) == expected  # chunk boundary not aligned to any block size
        assert digest_bytes(bytearray(data)) == expected
        assert digest_bytes(memoryview(data)) == expected
        assert expected.size == len(data)


def test_empty_input() -> None:
    d = digest_bytes(b"")
    assert d.size == 0
    assert d.blake3 == "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"  # BLAKE3("")


def test_bad_chunk_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        digest_file(tmp_path, chunk=0)
    with pytest.raises(OSError):
        digest_file(tmp_path / "missing.jpg")
