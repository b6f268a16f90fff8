"""Videos in matching: the rules over fingerprints, and a real scan of generated copies into groups.

The scan test builds a folder with a clip and its copies (smaller, letterboxed, turned, 15 fps, remuxed),
a different clip, a byte copy, a truncated copy and a Live Photo (still + MOV), scans it with the worker
processes, and checks the groups, the incremental re-scan and the upgrade of an older store.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from photodedup.evaluate.video_variants import Variant, make_clip, make_variant, remux
from photodedup.fingerprint.video import NOT_FINGERPRINTED, POSITIONS, VideoFingerprint
from photodedup.match.engine import find_groups
from photodedup.match.model import MatchItem
from photodedup.match.relate import relate, thresholds_for
from photodedup.scan.engine import ScanOptions, scan
from photodedup.store.db import Store
from photodedup.store.schema import MIGRATIONS

BASE = tuple(0x0123456789ABCDEF * (k + 1) % (1 << 64) for k in range(POSITIONS))


def flip(h: int, bits: int) -> int:
    return h ^ ((1 << bits) - 1)


def video(i: int, duration: float = 10.0, bits: int = 0, name: str | None = None, **kw) -> MatchItem:
    fp = VideoFingerprint(duration, 1 / 30, tuple(flip(h, bits) for h in BASE), kw.pop("content", 1.0))
    return MatchItem(
        id=i,
        path=f"/v/{name or f'clip{i}.mp4'}",
        source_id=1,
        source_kind="folder",
        source_root="/v",
        kind="file",
        role=None,
        parent_id=None,
        uuid=None,
        status="ok",
        media_type="video",
        format="MP4",
        size=1000,
        width=kw.pop("width", 1920),
        height=kw.pop("height", 1080),
        video=fp,
        **kw,
    )


# --- the rules --------------------------------------------------------------------------------------


def test_same_video_when_lengths_agree_and_frames_are_close():
    t = thresholds_for("default")
    kind, distance, why = relate(video(1), video(2, duration=10.2, bits=5), t)
    assert (kind, distance) == ("same", 5) and "the same video" in why
    assert relate(video(1), video(2, bits=7), t)[0] == "similar"  # frames further apart: review only
    assert relate(video(1), video(2, bits=11), t) is None
    assert relate(video(1), video(2, duration=7.0), t)[0] == "similar"  # a trimmed copy
    assert relate(video(1), video(2, duration=4.0), t) is None  # under half as long: unrelated
    assert relate(video(1), video(2, bits=30), t) is None


def test_presets_move_the_video_threshold():
    pair = (video(1), video(2, bits=5))
    assert relate(*pair, thresholds_for("strict"))[0] == "similar"
    assert relate(*pair, thresholds_for("default"))[0] == "same"
    assert relate(video(1), video(2, bits=8), thresholds_for("loose"))[0] == "same"
    assert relate(*pair, thresholds_for("default", threshold=4))[0] == "same"  # --threshold is for photos


def test_bytes_decide_first_and_edits_stay_edits():
    t = thresholds_for("default")
    assert relate(video(1, blake3="x"), video(2, blake3="x", bits=30), t)[0] == "exact"
    a, b = video(1, name="IMG_0001.MOV"), video(2, name="IMG_E0001.MOV", is_edit=True)
    assert relate(a, b, t)[0] == "edited"


def test_videos_without_fingerprints_or_with_blank_frames_never_match_by_looks():
    t = thresholds_for("default")
    a, b = video(1), video(2)
    b.video = None
    assert relate(a, b, t) is None
    blank = VideoFingerprint(10.0, 1 / 30, (None,) * POSITIONS)
    a.video, b.video = blank, blank
    assert relate(a, b, t) is None


def test_a_video_and_a_still_only_match_by_bytes():
    t = thresholds_for("default")
    still = video(2)
    still.media_type, still.video, still.phash = "image", None, 0
    assert relate(video(1), still, t) is None
    still.blake3 = video(1).blake3 = None
    assert relate(video(1, blake3="y"), video(3, blake3="y"), t)[0] == "exact"


def test_letterbox_bars_do_not_count_as_pixels():
    original = video(1, width=1920, height=1080)
    boxed = video(2, width=1920, height=1440, content=0.75)  # 16:9 letterboxed into 4:3
    assert boxed.pixels <= original.pixels
    assert video(3, width=1280, height=720).pixels < original.pixels


# --- a real scan ------------------------------------------------------------------------------------

COPIES = {
    "smaller.mp4": Variant(height=120, options={"crf": "30"}),
    "letterboxed.mp4": Variant(box=(1, 1)),
    "turned.mov": Variant(rotate=-90),
    "fps15.mp4": Variant(fps=15),
}


@pytest.fixture(scope="module")
def library(tmp_path_factory, data_dir) -> Path:
    root = tmp_path_factory.mktemp("videos") / "in"
    (root / "copies").mkdir(parents=True)
    (root / "live").mkdir()
    make_clip(root / "clip.mp4", seed=3, size=(320, 240))
    for name, v in COPIES.items():
        make_variant(root / "clip.mp4", root / "copies" / name, v)
    remux(root / "clip.mp4", root / "copies" / "remuxed.mkv")
    shutil.copy(root / "clip.mp4", root / "copies" / "byte_copy.mp4")
    make_clip(root / "other.mp4", seed=4, size=(320, 240))
    (root / "cut.mp4").write_bytes((root / "clip.mp4").read_bytes()[:3000])
    for name in ("IMG_3582.HEIC", "IMG_3582.mov"):
        shutil.copy(data_dir / "media/live" / name, root / "live" / name)
    return root


@pytest.fixture(scope="module")
def scanned(library, tmp_path_factory):
    db = tmp_path_factory.mktemp("db") / "s.db"
    store = Store(db)
    log = db.with_suffix(".jsonl")
    with open(log, "w", encoding="utf-8") as f:
        report = scan([str(library)], store, ScanOptions(workers=2, json_log=f))
    yield store, report, log
    store.close()


def rel(library: Path, path: str) -> str:
    return os.path.relpath(path, library)


def test_copies_of_a_clip_form_one_same_group(library, scanned):
    store, _, _ = scanned
    groups = find_groups(store)
    dupes = [g for g in groups if g.kind in ("same", "exact")]
    assert len(dupes) == 1, [(g.kind, [rel(library, m.path) for m in g.members]) for g in groups]
    members = {rel(library, m.path) for m in dupes[0].members}
    assert members == {"clip.mp4", "copies/byte_copy.mp4", "copies/remuxed.mkv"} | {
        f"copies/{n}" for n in COPIES
    }
    assert dupes[0].kind == "same" and dupes[0].why.startswith("the same video")
    keeper = next(m for m in dupes[0].members if m.keep)
    assert rel(library, keeper.path) not in ("copies/smaller.mp4",)
    assert dupes[0].reclaimable_bytes > 0


def test_a_different_clip_and_the_live_photo_video_stay_out(library, scanned):
    store, _, _ = scanned
    groups = find_groups(store)
    in_dupes = {rel(library, m.path) for g in groups if g.kind in ("same", "exact") for m in g.members}
    assert "other.mp4" not in in_dupes
    assert "live/IMG_3582.mov" not in in_dupes
    units = [g for g in groups if g.kind == "unit"]
    assert [{rel(library, m.path) for m in g.members} for g in units] == [
        {"live/IMG_3582.HEIC", "live/IMG_3582.mov"}
    ]


def test_videos_are_fingerprinted_except_live_photo_halves(library, scanned):
    store, _, _ = scanned
    rows = {rel(library, r["path"]): r for r in store.items("media_type = 'video'")}
    live = rows["live/IMG_3582.mov"]
    assert live["status"] == "ok" and live["video_hash"] == NOT_FINGERPRINTED and live["duration"] > 1
    for name in ("clip.mp4", "other.mp4", "copies/turned.mov", "copies/remuxed.mkv"):
        fp = VideoFingerprint.from_text(rows[name]["video_hash"])
        assert fp is not None and fp.duration == pytest.approx(2.0, abs=0.1), name
    assert rows["copies/byte_copy.mp4"]["video_hash"] == rows["clip.mp4"]["video_hash"]


def test_a_truncated_video_is_recorded_with_its_reason_and_the_scan_goes_on(library, scanned):
    store, report, log = scanned
    row = next(r for r in store.items("media_type = 'video'") if r["path"].endswith("cut.mp4"))
    assert row["status"] == "error"
    assert "video" in row["error"] and ("truncated" in row["error"] or "damaged" in row["error"])
    assert row["blake3"]  # still known by its bytes
    assert any(p.endswith("cut.mp4") for p, _ in report.failures)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    clip = next(x for x in lines if x.get("path", "").endswith(f"{os.sep}clip.mp4"))
    assert clip["video_hash"].startswith("v1 ")


def test_an_unchanged_rescan_keeps_the_fingerprints_without_decoding(library, scanned, monkeypatch):
    store, _, _ = scanned
    before = {r["id"]: r["video_hash"] for r in store.items("media_type = 'video'")}
    report = scan([str(library)], store, ScanOptions(workers=1))
    assert report.new == 0 and report.updated == 1  # only the truncated file is tried again
    after = {r["id"]: r["video_hash"] for r in store.items("media_type = 'video'")}
    assert after == before


def test_an_older_store_gets_its_videos_fingerprinted_on_the_next_scan(library, scanned, tmp_path):
    """A store written before video fingerprints existed: upgrading it clears its videos' change
    markers, so the next scan fingerprints them instead of skipping them as unchanged."""
    store, _, _ = scanned
    index = next(k for k, m in enumerate(MIGRATIONS) if "video_hash" in m)
    old = tmp_path / "old.db"
    conn = sqlite3.connect(old)
    for m in MIGRATIONS[:index]:
        conn.executescript(m)
    conn.execute(f"PRAGMA user_version={index}")
    columns = [r[1] for r in conn.execute("PRAGMA table_info(items)")]
    assert "video_hash" not in columns
    for table, cols in (("sources", None), ("items", columns)):
        rows = list(store.db.query(f"SELECT * FROM {table}"))
        cols = cols or list(rows[0])
        marks = ", ".join("?" * len(cols))
        conn.executemany(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", [[r[c] for c in cols] for r in rows]
        )
    conn.commit()
    conn.close()

    upgraded = Store(old)
    try:
        assert all(r["video_hash"] is None for r in upgraded.items("media_type = 'video'"))
        report = scan([str(library)], upgraded, ScanOptions(workers=1))
        videos = {r["path"]: r for r in upgraded.items("media_type = 'video' AND status = 'ok'")}
        assert report.updated >= len(videos)
        fingerprinted = [r for r in videos.values() if VideoFingerprint.from_text(r["video_hash"])]
        assert len(fingerprinted) == len(videos) - 1  # all but the Live Photo's MOV
        assert len([g for g in find_groups(upgraded) if g.kind == "same"]) == 1
    finally:
        upgraded.close()
