"""A motion photo's clip gets the perceptual video fingerprint of a video file: computed in the scan from the
bytes in memory, stored in ``motion_video_hash`` (schema 7), skipped by ``--no-motion-video`` and filled in by
the next scan without it, refreshed for stores written before it (never reused from an old row by digest),
and a damaged clip costs nothing but a warning. A video file that is the clip (``extract-video`` output, a
re-encoded copy) is "the same video" as the motion photo, and the motion photo is the one kept."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest
from blake3 import blake3

from photodedup.evaluate.video_variants import Variant, make_variant
from photodedup.fingerprint.file import FingerprintOptions, fingerprint_path
from photodedup.fingerprint.video import VideoFingerprint, compare, video_fingerprint
from photodedup.match.model import MatchItem
from photodedup.match.relate import PRESETS
from photodedup.match.videos import video_relations
from photodedup.scan.engine import ScanOptions, scan
from photodedup.store.db import Store
from photodedup.store.schema import MIGRATIONS

MOTION = "media/motion"
CMD = [sys.executable, "-m", "photodedup"]
GOOD = {"motionphoto.heic": (1_455_411, 3_648_870), "sample_MP.heic": (28_869, 57_672)}
NO_FRAMES = "the motion photo's video cannot be fingerprinted: damaged video: no frame data in the file"


def run(*args, ok=(0,)):
    r = subprocess.run([*CMD, *map(str, args)], capture_output=True, text=True)
    assert r.returncode in ok, r.stdout + r.stderr
    return r


def clip_of(data_dir, name) -> bytes:
    start, end = GOOD[name]
    return (data_dir / MOTION / name).read_bytes()[start:end]


def damaged_copy(data_dir, dest, garbage: bool):
    """sample_MP.heic with its clip's frame data zeroed (nothing decodes) or half of it scrambled (the
    decoder steps over the bad packets); the still and the clip's container are left as they were."""
    data = bytearray((data_dir / MOTION / "sample_MP.heic").read_bytes())
    start, end = GOOD["sample_MP.heic"]
    mdat = data.index(b"mdat", start) + 4
    if garbage:
        lo, hi = mdat + (end - mdat) // 8, mdat + (end - mdat) // 4
        data[lo:hi] = blake3(b"noise").digest(length=hi - lo)
    else:
        data[mdat + 100 : end - 3000] = bytes(end - 3000 - mdat - 100)
    dest.write_bytes(bytes(data))
    return dest


@pytest.fixture(scope="module")
def fingerprints(data_dir):
    names = [*GOOD, "pixel-motion-photo-shortened.jpg", "ss-motion-photo-shortened.jpg"]
    return {n: fingerprint_path(str(data_dir / MOTION / n)) for n in names}


# --- fingerprint -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOOD))
def test_a_real_clip_gets_the_fingerprint_its_extracted_file_gets(tmp_path, data_dir, fingerprints, name):
    fp = fingerprints[name]
    assert fp.error is None and fp.hashes is not None
    assert fp.motion.video_hash.startswith("v1 ") and fp.motion.error is None and not fp.warnings
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(clip_of(data_dir, name))
    assert fp.motion.blake3 == blake3(clip.read_bytes()).hexdigest()
    # Decoded from memory, the same text as the video file gets: the two compare as equals.
    assert fp.motion.video_hash == video_fingerprint(clip).to_text()
    assert abs(VideoFingerprint.from_text(fp.motion.video_hash).duration - fp.motion.meta.duration) < 0.1


@pytest.mark.parametrize("name", ["pixel-motion-photo-shortened.jpg", "ss-motion-photo-shortened.jpg"])
def test_a_real_cut_clip_is_marked_and_the_still_keeps_its_hashes(fingerprints, name):
    fp = fingerprints[name]
    assert fp.error is None and fp.hashes is not None and fp.motion is not None
    assert fp.motion.video_hash == "-" and fp.motion.error == NO_FRAMES
    assert fp.warnings == [NO_FRAMES]


def test_a_damaged_clip_is_a_warning_and_the_still_is_unchanged(tmp_path, data_dir, fingerprints):
    good = fingerprints["sample_MP.heic"]
    dead = fingerprint_path(str(damaged_copy(data_dir, tmp_path / "zeroed.heic", garbage=False)))
    assert dead.error is None and dead.hashes == good.hashes and dead.motion.video_hash == "-"
    assert dead.warnings == [
        "the motion photo's video cannot be fingerprinted: damaged video: frames cannot be decoded at all"
        " (1.23 s long)"
    ]
    hurt = fingerprint_path(str(damaged_copy(data_dir, tmp_path / "scrambled.heic", garbage=True)))
    assert hurt.error is None and hurt.hashes == good.hashes
    assert len(hurt.warnings) == 1 and hurt.warnings[0].startswith(
        "the motion photo's video: damaged video data"
    )
    # The frames around the damage still make a fingerprint of the same video.
    a, b = (VideoFingerprint.from_text(f.motion.video_hash) for f in (good, hurt))
    assert compare(a, b).distance <= PRESETS["default"].video


def test_without_motion_video_the_clip_is_not_decoded(data_dir):
    off = FingerprintOptions(motion_video=False)
    fp = fingerprint_path(str(data_dir / MOTION / "ss-motion-photo-shortened.jpg"), off)
    assert fp.motion.video_hash is None and fp.warnings == []  # a decode would have found the damage
    fp = fingerprint_path(str(data_dir / MOTION / "sample_MP.heic"), off)
    assert fp.motion.video_hash is None and fp.motion.blake3 and fp.motion.meta.codec == "h264"


def test_a_clip_already_in_the_store_is_not_decoded_again(data_dir, fingerprints):
    asked = []
    stored = fingerprints["sample_MP.heic"].motion.video_hash

    def known(digest):
        asked.append(digest)
        return stored.replace("v1 1.231", "v1 9.999")  # tells the stored text from a fresh decode

    fp = fingerprint_path(str(data_dir / MOTION / "sample_MP.heic"), known_clip=known)
    assert asked == [fingerprints["sample_MP.heic"].motion.blake3]
    assert fp.motion.video_hash.startswith("v1 9.999")


# --- scan and store ----------------------------------------------------------------------------------


def test_the_scan_stores_the_clip_fingerprint_and_goes_on_past_damage(tmp_path, data_dir, fingerprints):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy2(data_dir / MOTION / "sample_MP.heic", folder / "good.heic")
    damaged_copy(data_dir, folder / "zeroed.heic", garbage=False)
    shutil.copy2(data_dir / MOTION / "ss-motion-photo-shortened.jpg", folder / "cut.jpg")
    store = Store(tmp_path / "s.db")
    log = tmp_path / "log.jsonl"
    with open(log, "w", encoding="utf-8") as f:
        report = scan([str(folder)], store, ScanOptions(workers=1, json_log=f))
    assert report.failed == 0 and report.new == 3
    rows = {os.path.basename(r["path"]): r for r in store.items()}
    assert rows["good.heic"]["motion_video_hash"] == fingerprints["sample_MP.heic"].motion.video_hash
    for name in ("zeroed.heic", "cut.jpg"):
        assert rows[name]["status"] == "ok" and rows[name]["phash"] and rows[name]["motion_video_hash"] == "-"
        assert "cannot be fingerprinted" in json.loads(rows[name]["meta"])["warnings"][0]
    logged = {os.path.basename(r["path"]): r for r in map(json.loads, log.read_text().splitlines())}
    assert logged["good.heic"]["motion_video_hash"].startswith("v1 ")
    # A byte-identical copy takes the stored fingerprints, the clip's included.
    shutil.copy2(folder / "good.heic", tmp_path / "copy.heic")
    assert scan([str(tmp_path / "copy.heic")], store, ScanOptions(workers=1)).reused == 1
    copy = next(store.items("path LIKE '%copy.heic'"))
    assert copy["motion_video_hash"] == rows["good.heic"]["motion_video_hash"]
    store.close()


def test_no_motion_video_is_filled_in_by_the_next_scan(tmp_path, data_dir):
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy2(data_dir / MOTION / "sample_MP.heic", folder / "PXL_1.MP.heic")
    db = tmp_path / "s.db"
    run("scan", folder, "--db", db, "--no-motion-video", "--workers", "1", "-q")
    conn = sqlite3.connect(db)

    def row():
        return conn.execute("SELECT motion_offset, motion_video_hash, phash FROM items").fetchone()

    assert row()[0] == 28_869 and row()[1] is None and row()[2]
    out = run("scan", folder, "--db", db, "--no-motion-video", "--workers", "1", "-q").stdout
    assert "1 unchanged" in out  # the flag does not ask for the clip: nothing to redo
    out = run("scan", folder, "--db", db, "--workers", "1", "-q").stdout
    assert "1 updated" in out and row()[1].startswith("v1 ")
    assert "1 unchanged" in run("scan", folder, "--db", db, "--workers", "1", "-q").stdout
    conn.close()


def test_an_older_store_refreshes_its_motion_photos_and_never_reuses_them_by_digest(tmp_path, data_dir):
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.heic", "b.heic", "moved.heic"):  # three copies of one motion photo
        shutil.copy2(data_dir / MOTION / "sample_MP.heic", folder / name)
    shutil.copy2(data_dir / "media/burst/IMG_0658.JPG", folder / "IMG_0658.JPG")
    old = Store(tmp_path / "first.db")  # what photodedup wrote at schema 6, columns copied from a scan
    scan([str(folder)], old, ScanOptions(workers=1))
    written = {os.path.basename(r["path"]): r for r in old.items()}
    old.close()
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    for migration in MIGRATIONS[:6]:
        conn.executescript(migration)
    conn.execute("PRAGMA user_version=6")
    conn.execute(
        "INSERT INTO sources (id, kind, root, modified_key) VALUES (1, 'folder', ?, 'x')", [str(folder)]
    )
    columns = [c[1] for c in conn.execute("PRAGMA table_info(items)")]
    for name, r in written.items():
        values = {c: r[c] for c in columns if c not in ("id", "parent_id", "source_id", "first_scan_id")}
        if name == "moved.heic":  # recorded at a path that is gone: the scan finds it moved
            values.update(key=os.fsencode(str(tmp_path / "gone.heic")), path=str(tmp_path / "gone.heic"))
            values["status"] = "gone"
        marks = ",".join("?" * len(values))
        conn.execute(
            f"INSERT INTO items ({','.join(values)}, source_id) VALUES ({marks}, 1)", [*values.values()]
        )
    conn.commit()
    conn.close()

    store = Store(db)  # migrates to 7
    rows = {os.path.basename(r["path"]): r for r in store.items()}
    assert rows["a.heic"]["mtime_ns"] is None and rows["b.heic"]["mtime_ns"] is None
    assert rows["IMG_0658.JPG"]["mtime_ns"] == written["IMG_0658.JPG"]["mtime_ns"]
    assert store.source(1)["modified_key"] is None
    # Every stored copy of these bytes lacks the clip's fingerprint: none may lend its columns.
    digest = written["a.heic"]["blake3"]
    assert store.fingerprint_by_digest(digest, exact=False) is None

    report = scan([str(folder)], store, ScanOptions(workers=1, batch_seconds=60))
    assert report.failed == 0 and report.reused == 0 and report.moved == 1 and report.unchanged == 1
    after = {os.path.basename(r["path"]): r for r in store.items()}
    expected = written["a.heic"]["motion_video_hash"]
    assert expected.startswith("v1 ")
    for name in ("a.heic", "b.heic", "moved.heic"):
        assert after[name]["motion_video_hash"] == expected, name
    assert after["moved.heic"]["id"] == rows["gone.heic"]["id"]  # the moved row kept its id
    store.close()


# --- matching ----------------------------------------------------------------------------------------


def _groups(db, *args):
    return json.loads(run("groups", "--db", db, "--format", "json", *args).stdout)["groups"]


def _removed(db, tmp_path) -> set[str]:
    plan = tmp_path / "plan.json"
    plan.unlink(missing_ok=True)
    run("plan", "--db", db, "-o", plan)
    data = json.loads(plan.read_text())
    paths = {m["item"]: m["path"] for g in data["groups"] for m in g["members"]}
    return {os.path.basename(paths[int(r.split(":")[1])]) for g in data["groups"] for r in g["removals"]}


def test_an_extracted_clip_is_the_same_video_and_the_motion_photo_is_kept(tmp_path, data_dir):
    photos, clips = tmp_path / "photos", tmp_path / "clips"
    photos.mkdir()
    for name in GOOD:
        shutil.copy2(data_dir / MOTION / name, photos / name)
    run("extract-video", *(photos / n for n in GOOD), "--out", clips)
    db = tmp_path / "s.db"
    run("scan", photos, clips, "--db", db, "--workers", "1", "-q")
    conn = sqlite3.connect(db)
    stored = dict(conn.execute("SELECT path, coalesce(motion_video_hash, video_hash) FROM items"))
    ids = {os.path.basename(p): i for i, p in conn.execute("SELECT id, path FROM items")}
    conn.close()
    for name in GOOD:  # the embedded clip and the file hold the same bytes: the same fingerprint
        assert stored[str(photos / name)] == stored[str(clips / name.replace(".heic", ".mp4"))]

    groups = [g for g in _groups(db) if g["kind"] != "unit"]
    pairs = {frozenset(os.path.basename(m["path"]) for m in g["members"]): g for g in groups}
    assert set(pairs) == {frozenset({n, n.replace(".heic", ".mp4")}) for n in GOOD}
    for g in groups:
        assert g["kind"] == "same" and g["why"].startswith("the same video")
        kept = {os.path.basename(m["path"]): m for m in g["members"] if m["keep"]}
        assert list(kept) in ([n] for n in GOOD) and "whole capture" in next(iter(kept.values()))["reason"]
    assert _removed(db, tmp_path) == {"motionphoto.mp4", "sample_MP.mp4"}

    # Even when a person keeps the bare clip, the motion photo is not removed: the clip holds no still.
    run("decide", "keep", "--db", db, ids["motionphoto.mp4"])
    g = next(g for g in _groups(db) if any(m["id"] == ids["motionphoto.mp4"] for m in g["members"]))
    assert all(m["keep"] for m in g["members"])
    photo = next(m for m in g["members"] if m["id"] == ids["motionphoto.heic"])
    assert photo["reason"] == "kept: a motion photo; the kept video file does not hold its still"
    assert _removed(db, tmp_path) == {"sample_MP.mp4"}


def test_a_reencoded_clip_matches_by_its_frames_once_the_clip_is_fingerprinted(tmp_path, data_dir):
    photos, videos = tmp_path / "photos", tmp_path / "videos"
    photos.mkdir()
    videos.mkdir()
    shutil.copy2(data_dir / MOTION / "motionphoto.heic", photos / "PXL_20200101_120000.MP.heic")
    shutil.copy2(data_dir / MOTION / "sample_MP.heic", photos / "sample_MP.heic")
    for name in GOOD:
        (tmp_path / "clip.mp4").write_bytes(clip_of(data_dir, name))
        make_variant(tmp_path / "clip.mp4", videos / f"{name[:-5]}-export.mp4", Variant(height=240))
    db = tmp_path / "s.db"
    # Without the clips' fingerprints a re-encoded export has nothing to meet.
    run("scan", photos, videos, "--db", db, "--no-motion-video", "--workers", "1", "-q")
    assert [g for g in _groups(db) if g["kind"] != "unit"] == []
    run("scan", photos, videos, "--db", db, "--workers", "1", "-q")
    groups = [g for g in _groups(db) if g["kind"] != "unit"]
    assert sorted(sorted(os.path.basename(m["path"]) for m in g["members"]) for g in groups) == [
        ["PXL_20200101_120000.MP.heic", "motionphoto-export.mp4"],
        ["sample_MP-export.mp4", "sample_MP.heic"],
    ]
    for g in groups:
        assert g["kind"] == "same" and "the file is the motion photo's own video" in g["why"]
        assert "bits apart" in g["why"]  # by the frames, not the bytes
        assert [m["path"].endswith(".heic") for m in g["members"] if m["keep"]] == [True]
    assert _removed(db, tmp_path) == {"motionphoto-export.mp4", "sample_MP-export.mp4"}


def _item(i, media_type, fp, **kw) -> MatchItem:
    return MatchItem(
        id=i, path=f"/p/{i}", source_id=1, source_kind="folder", source_root="/p", kind="file", role=None,
        parent_id=None, uuid=None, status="ok", media_type=media_type, format=None, size=1, width=10,
        height=10, **{"video" if media_type == "video" else "motion_video": fp}, **kw,
    )  # fmt: skip


def test_two_motion_photos_are_never_related_by_their_clips(fingerprints):
    fp = VideoFingerprint.from_text(fingerprints["sample_MP.heic"].motion.video_hash)
    motion_a, motion_b, video = _item(1, "image", fp), _item(2, "image", fp), _item(3, "video", fp)
    t = PRESETS["default"]
    rel = video_relations([motion_a, motion_b, video], lambda i: i, t, lambda a, b: True)
    assert set(rel) == {(1, 3), (2, 3)}  # their stills say what two motion photos are to each other
    assert all(kind == "same" for kind, _, _ in rel.values())
