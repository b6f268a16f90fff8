"""One real scan of the whole ../shared/data folder, checked against its README's ground truth."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from photodedup.evaluate.known import EXACT_GROUPS, EXACT_UNDECODABLE
from photodedup.fingerprint.file import FingerprintOptions
from photodedup.scan.engine import ScanOptions, scan
from photodedup.store.db import Store

MT = "photos-libraries/Test-Media-Types-15.7.2.photoslibrary"
C2 = "photos-libraries/Test-13.5.1-compare-2.photoslibrary"
T26 = "photos-libraries/Test-26.1.photoslibrary"
TK = "takeout/Takeout/Google Photos"
ND = "near-duplicates/imagededup"

# README 3.1 as the evaluation encodes it (group 19, two JSON files, is not media: not scanned).
BYTE_IDENTICAL_GROUPS = [*EXACT_GROUPS, EXACT_UNDECODABLE]

CORRUPT = {
    "corrupt/empty.jpg": "empty",
    "corrupt/not_an_image.jpg": "not an image",
    "corrupt/ukbench00120_truncated.jpg": "truncated",
    "corrupt/sample_still_photo_truncated.heic": "",
    f"{ND}/mixed_images/ukbench09268_corrupt.jpg": "",
}


@pytest.fixture(scope="module")
def scanned(data_dir: Path, tmp_path_factory):
    db = tmp_path_factory.mktemp("scan") / "store.db"
    store = Store(db)
    log = db.with_suffix(".jsonl")
    with open(log, "w", encoding="utf-8") as f:
        report = scan([str(data_dir)], store, ScanOptions(workers=2, json_log=f))
    rows = list(store.items())
    by_path = {}
    for r in rows:
        if r["path"]:
            by_path.setdefault(os.path.relpath(r["path"], data_dir), []).append(r)
    yield store, report, rows, by_path, log
    store.close()


def one(by_path, rel):
    rows = [r for r in by_path[rel] if r["status"] != "gone"]
    assert len(rows) == 1, (rel, rows)
    return rows[0]


def test_every_byte_identical_group_has_equal_digests(scanned):
    _, _, _, by_path, _ = scanned
    digests = []
    for group in BYTE_IDENTICAL_GROUPS:
        values = {one(by_path, rel)["blake3"] for rel in group}
        assert len(values) == 1 and None not in values, group
        digests.append(values.pop())
    assert len(set(digests)) == len(digests), "different groups must have different digests"


def test_other_files_are_unique_by_digest(scanned):
    _, _, rows, _, _ = scanned
    in_groups = {rel for g in BYTE_IDENTICAL_GROUPS for rel in g}
    counts: dict[str, int] = {}
    for r in rows:
        if r["blake3"]:
            counts[r["blake3"]] = counts.get(r["blake3"], 0) + 1
    grouped = {h for h, n in counts.items() if n > 1}
    assert len(grouped) == len(BYTE_IDENTICAL_GROUPS)
    assert in_groups  # sanity


def test_libraries_found_inside_the_folder_are_read_as_libraries(scanned):
    _, report, rows, by_path, _ = scanned
    assets = [r for r in rows if r["kind"] == "asset"]
    assert len(assets) == 5 + 16 + 18 == report.assets
    # Photos' own thumbnails are never scanned as loose files.
    assert not [p for p in by_path if "/resources/derivatives/" in p]
    a = next(r for r in assets if r["uuid"].startswith("A92D9C26"))
    assert a["status"] == "not_on_disk" and a["apple_fp"] == "AT6Ji2L3VO4MblxwJL/B7PjzfzGv"
    c = next(r for r in assets if r["uuid"].startswith("C0054772"))
    assert c["status"] == "ok" and c["apple_fp"] == "AT6Ji2L3VO4MblxwJL/B7PjzfzGv" and c["phash"]
    live = next(r for r in assets if r["uuid"].startswith("B60C31AC"))
    assert live["content_id"] == "ED2A2552-C906-486E-9DA5-17DABDF672A7"
    parts = {r["role"]: r for r in rows if r["parent_id"] == live["id"]}
    assert set(parts) >= {"edited", "live_video"}
    assert parts["live_video"]["media_type"] == "video"
    meta = json.loads(live["meta"])["asset"]
    assert meta["live_photo"] is True


def test_modified_original_is_flagged(scanned):
    _, _, rows, _, _ = scanned
    r = next(r for r in rows if r["kind"] == "asset" and r["uuid"].startswith("1EB2B765"))
    meta = json.loads(r["meta"])
    assert any("stored fingerprint differs" in w for w in meta["warnings"])


def test_corrupt_files_are_recorded_with_a_reason(scanned):
    _, report, _, by_path, _ = scanned
    for rel, words in CORRUPT.items():
        r = one(by_path, rel)
        assert r["status"] == "error", rel
        assert r["error"] and words in r["error"].lower(), (rel, r["error"])
    assert report.failed >= len(CORRUPT)


def test_wrong_extension_detected_by_content(scanned):
    _, _, _, by_path, _ = scanned
    assert one(by_path, "corrupt/sample_still_photo_heic_bytes.jpg")["format"] == "HEIF"
    assert one(by_path, "corrupt/maximum_contrast_png_bytes.jpg")["format"] == "PNG"
    assert one(by_path, f"{ND}/formats_images/ukbench09380.png")["format"] == "JPEG"


def test_takeout_sidecars_are_kept(scanned):
    _, _, rows, by_path, _ = scanned
    r = one(by_path, f"{TK}/Photos from 2016/IMG_3984.jpeg")
    assert json.loads(r["meta"])["takeout"]["photo_taken_time"] == 1459209908
    edited = json.loads(one(by_path, f"{TK}/Photos from 2016/IMG_3984-edited.jpeg")["meta"])
    assert edited["takeout_edited"] is True and edited["takeout"]["title"] == "IMG_3984.jpeg"
    album = json.loads(one(by_path, f"{TK}/Pumpkin Farm/Pumkins1.jpg")["meta"])
    assert album["takeout_album"] == "Pumpkin Farm"
    orphans = [r for r in rows if r["kind"] == "sidecar"]
    assert any(r["path"].endswith("IMG_4179.jpeg(1).json") for r in orphans)
    assert all(r["status"] == "no_media" for r in orphans)


def test_json_log_has_one_line_per_item(scanned):
    _, _, rows, _, log = scanned
    lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    logged_ids = [rec["id"] for rec in lines if "id" in rec]
    assert len(logged_ids) == len(set(logged_ids)) == len(rows)
    errors = [rec for rec in lines if rec.get("status") == "error"]
    assert errors and all(rec["error"] for rec in errors)
    ok = next(rec for rec in lines if rec.get("phash"))
    assert len(ok["phash"]) == 16 and ok["blake3"]


def test_rescan_is_incremental(scanned, data_dir, tmp_path):
    store, first, rows, _, _ = scanned
    with open(tmp_path / "again.jsonl", "w", encoding="utf-8") as log:
        again = scan([str(data_dir)], store, ScanOptions(workers=2, json_log=log))
    text = (tmp_path / "again.jsonl").read_text(encoding="utf-8")
    logged = [json.loads(line) for line in text.splitlines()]
    assert len({rec["id"] for rec in logged if "id" in rec}) == len(rows)
    assert again.new == 0 and again.moved == 0 and again.gone == 0
    # Errors are retried (a file may have become readable); everything else is skipped.
    assert again.unchanged == len(rows) - sum(r["status"] == "error" for r in rows)
    assert again.failed == first.failed


def test_exact_mode_rescan_redoes_images(data_dir, tmp_path):
    store = Store(tmp_path / "s.db")
    folder = str(data_dir / ND / "base_images")
    scan([folder], store, ScanOptions(workers=1))
    exact = scan([folder], store, ScanOptions(workers=1, fingerprint=FingerprintOptions(exact=True)))
    assert exact.updated == 10 and exact.unchanged == 0
    assert {r["decode_mode"] for r in store.items()} == {"exact"}
