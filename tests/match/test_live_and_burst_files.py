"""Live Photos and bursts among loose files, on the real files of media/live and media/burst.

A Live pair is paired by its content identifier whatever the names, by capture time when the still lost its
identifier, and stays one unit everywhere: matching, the keeper, the plan, the quarantine (`apply`/`undo`)
and `export`. Burst frames are a burst by Apple's burst id, and without it by a capture-time sequence from
one camera (sub-seconds included); they are never proposed for removal, while two copies of one frame are.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from photodedup.actions.plan import build_plan
from photodedup.match.engine import find_groups, load_items
from photodedup.match.model import MatchItem
from photodedup.match.relate import relate, thresholds_for
from photodedup.match.units import find_units
from photodedup.scan.engine import ScanOptions, scan
from photodedup.store.db import Store

CMD = [sys.executable, "-m", "photodedup"]
LIVE, BURST = "media/live", "media/burst"


def run(*args):
    return subprocess.run([*CMD, *map(str, args)], capture_output=True, text=True)


def exiftool(*args) -> None:
    if shutil.which("exiftool") is None:
        pytest.fail("exiftool is missing: scripts/setup --dev installs it")
    r = subprocess.run(
        ["exiftool", "-q", "-overwrite_original", *map(str, args)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def scanned(tmp_path, *folders) -> tuple[Store, dict[int, MatchItem], dict[int, str]]:
    store = Store(tmp_path / "s.db")
    assert scan([str(f) for f in folders], store, ScanOptions(workers=1)).failed == 0
    items = load_items(store)
    return store, items, {i: os.path.relpath(it.path, tmp_path) for i, it in items.items()}


def units_by_name(groups, name) -> set[frozenset[str]]:
    return {frozenset(name[m.id] for m in g.members) for g in groups if g.kind == "unit"}


# --- Live Photos ----------------------------------------------------------------------------------------


def test_live_pairs_by_identifier_whatever_the_names_and_by_capture_time_without_it(tmp_path, data_dir):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d in (a, b, c):
        d.mkdir()
    shutil.copy2(data_dir / LIVE / "IMG_3582.HEIC", a / "Holiday 1.HEIC")
    shutil.copy2(data_dir / LIVE / "IMG_3582.mov", a / "clip 7.mov")
    # The still lost its MakerNote (an export): paired with its video by capture time.
    shutil.copy2(data_dir / LIVE / "IMG_3582.HEIC", b / "photo.heic")
    exiftool("-MakerNotes:All=", b / "photo.heic")
    shutil.copy2(data_dir / LIVE / "IMG_3582.mov", b / "video.mov")
    # A copy of the Live video beside a still of another moment and camera: not paired with that one; it
    # goes with the still that carries its identifier (it is a copy of that still's video).
    shutil.copy2(data_dir / LIVE / "IMG_3582.mov", c / "IMG_3582.mov")
    shutil.copy2(data_dir / BURST / "IMG_0658.JPG", c / "IMG_0658.JPG")
    store, items, name = scanned(tmp_path, a, b, c)
    assert items[next(i for i, n in name.items() if n == "b/photo.heic")].content_id is None
    units = units_by_name(find_groups(store), name)
    assert units == {
        frozenset({"a/Holiday 1.HEIC", "a/clip 7.mov", "c/IMG_3582.mov"}),
        frozenset({"b/photo.heic", "b/video.mov"}),
    }
    store.close()


def test_a_live_pair_is_one_unit_in_matching_keeper_plan_quarantine_and_export(tmp_path, data_dir):
    photos = tmp_path / "photos"
    for sub in ("2019", "backup", "loose", "renamed"):
        (photos / sub).mkdir(parents=True)
    shutil.copy2(data_dir / LIVE / "IMG_3582.HEIC", photos / "2019/IMG_3582.HEIC")
    shutil.copy2(data_dir / LIVE / "IMG_3582.mov", photos / "2019/IMG_3582.mov")
    shutil.copy2(data_dir / LIVE / "IMG_3582.HEIC", photos / "backup/Holiday.HEIC")
    shutil.copy2(data_dir / LIVE / "IMG_3582.mov", photos / "backup/Holiday clip.mov")
    shutil.copy2(data_dir / LIVE / "IMG_3582.HEIC", photos / "loose/IMG_3582 copy.HEIC")  # the still alone
    shutil.copy2(data_dir / LIVE / "IMG_3582.HEIC", photos / "renamed/photo.heic")
    exiftool("-MakerNotes:All=", photos / "renamed/photo.heic")
    shutil.copy2(data_dir / LIVE / "IMG_3582.mov", photos / "renamed/video.mov")
    before = snapshot(photos)
    db = tmp_path / "s.db"
    assert run("scan", photos, "--db", db, "-q").returncode == 0

    groups = json.loads(run("groups", "--db", db, "--format", "json").stdout)["groups"]
    path_of = {m["id"]: os.path.relpath(m["path"], photos) for g in groups for m in g["members"]}
    units = {frozenset(path_of[m["id"]] for m in g["members"]) for g in groups if g["kind"] == "unit"}
    pairs = {("2019/IMG_3582.HEIC", "2019/IMG_3582.mov"), ("backup/Holiday.HEIC", "backup/Holiday clip.mov"),
             ("renamed/photo.heic", "renamed/video.mov")}  # fmt: skip
    assert units == {frozenset(p) for p in pairs}
    # Matching: the stills are one photo; the videos never match on their own.
    dup = [g for g in groups if g["kind"] in ("exact", "same")]
    assert len(dup) == 1
    members = {path_of[m["id"]]: m for m in dup[0]["members"]}
    assert set(members) == {"2019/IMG_3582.HEIC", "backup/Holiday.HEIC", "loose/IMG_3582 copy.HEIC",
                            "renamed/photo.heic"}  # fmt: skip
    for still, video in pairs:
        assert [path_of[c] for c in members[still]["companions"]] == [video]
    # Keeper: a still with its video, never the bare copy.
    keeper = next(p for p, m in members.items() if m["keep"])
    assert keeper != "loose/IMG_3582 copy.HEIC" and "whole capture" in members[keeper]["reason"]
    assert "carries less of the capture" in members["loose/IMG_3582 copy.HEIC"]["reason"]
    kept_video = dict(pairs)[keeper]

    plan_path = tmp_path / "plan.json"
    assert run("plan", "--db", db, "-o", plan_path).returncode == 0
    plan = json.loads(plan_path.read_text())
    rel = lambda p: os.path.relpath(p, photos)  # noqa: E731
    moving = {rel(r["path"]): [rel(c["path"]) for c in r["companions"]] for r in plan["removals"]}
    expected = {s: [v] for s, v in pairs if s != keeper} | {"loose/IMG_3582 copy.HEIC": []}
    assert moving == expected  # each removed still takes its own video, and nothing else moves
    assert snapshot(photos) == before

    q = tmp_path / "quarantine"
    r = run("apply", plan_path, "--quarantine", q)
    assert r.returncode == 0, r.stderr
    left = {str(p.relative_to(photos)) for p in photos.rglob("*") if p.is_file()}
    assert left == {keeper, kept_video}  # the kept unit stays whole; every other half went with its still
    quarantined = {p.name for p in q.rglob("*") if p.is_file()}
    assert {os.path.basename(v) for s, v in pairs if s != keeper} <= quarantined

    dest = tmp_path / "clean"
    r = run("export", "--db", db, "--keepers", dest)
    assert r.returncode == 0, r.stderr
    exported = sorted(p.name for p in dest.rglob("*") if p.is_file())
    assert exported == sorted([os.path.basename(keeper), os.path.basename(kept_video)])

    r = run("undo", q)
    assert r.returncode == 0, r.stderr
    assert snapshot(photos) == before


# --- bursts ---------------------------------------------------------------------------------------------


def test_burst_frames_without_burst_id_are_a_burst_by_capture_time_and_never_removed(tmp_path, data_dir):
    folder = tmp_path / "burst"
    folder.mkdir()
    for n in ("IMG_0658.JPG", "IMG_0664.JPG"):
        shutil.copy2(data_dir / BURST / n, folder / n)
    exiftool("-MakerNotes:All=", folder / "IMG_0658.JPG", folder / "IMG_0664.JPG")  # no burst id any more
    # A third frame in the same second as the first, told apart only by its sub-seconds.
    shutil.copy2(folder / "IMG_0664.JPG", folder / "IMG_0665.JPG")
    exiftool("-DateTimeOriginal=2016:10:09 14:44:17", "-SubSecTimeOriginal=995", folder / "IMG_0665.JPG")
    # And a true copy of one frame (same instant to the sub-second): that one is a duplicate.
    (tmp_path / "copies").mkdir()
    shutil.copy2(data_dir / BURST / "IMG_0658.JPG", tmp_path / "copies" / "IMG_0658 (1).JPG")
    store, items, name = scanned(tmp_path, folder, tmp_path / "copies")
    assert all(it.burst_id is None for i, it in items.items() if name[i].startswith("burst/"))
    groups = find_groups(store)
    bursts = [{name[m.id] for m in g.members} for g in groups if g.kind == "burst"]
    assert {"burst/IMG_0658.JPG", "burst/IMG_0664.JPG", "burst/IMG_0665.JPG"} in bursts
    same = [{name[m.id] for m in g.members} for g in groups if g.kind in ("same", "exact")]
    assert same == [{"burst/IMG_0658.JPG", "copies/IMG_0658 (1).JPG"}]
    removed = {name[r["item"]] for r in build_plan(groups, items)["removals"]}
    assert len(removed) == 1 and removed <= {"burst/IMG_0658.JPG", "copies/IMG_0658 (1).JPG"}
    store.close()


def item(i, **kw) -> MatchItem:
    base = dict(
        id=i, path=f"/p/IMG_{i:04d}.jpg", source_id=1, source_kind="folder", source_root="/p", kind="file",
        role=None, parent_id=None, uuid=None, status="ok", media_type="image", format="JPEG", size=1000,
        width=4032, height=3024, phash=0x0F0F_3C3C_5A5A_A5A5, dhash=0x1234_5678_9ABC_DEF0,
        ahash=0x00FF_00FF_F0F0_0F0F, whash=0x00FF_00FF_F0F0_0F0F, taken_at="2020-01-01T10:00:00",
    )  # fmt: skip
    base.update(kw)
    return MatchItem(**base)


def test_capture_time_rules_for_near_identical_pictures():
    t = thresholds_for()
    cam = dict(make="Apple", model="iPhone 12")
    # Same second, sub-seconds apart: two frames.
    assert relate(item(1, taken_subsec=0.1, **cam), item(2, taken_subsec=0.4, **cam), t)[0] == "burst"
    # Same instant to the sub-second: one photo, even with the burst id on both copies.
    copy = dict(taken_subsec=0.25, burst_id="B", **cam)
    assert relate(item(1, **copy), item(2, **copy), t)[0] == "same"
    assert relate(item(1, **{**copy, "taken_subsec": 0.5}), item(2, **copy), t)[0] == "burst"
    # Seconds apart with the camera unknown on one side: still two shots, never duplicates.
    assert relate(item(1, **cam), item(2, taken_at="2020-01-01T10:00:03"), t)[0] == "burst"
    # Seconds apart from two different cameras: alike, but not a burst and not the same photo.
    other = item(2, taken_at="2020-01-01T10:00:03", make="Canon", model="EOS R")
    kind, _, why = relate(item(1, **cam), other, t)
    assert kind == "similar" and "different cameras" in why


def test_units_by_capture_time_need_a_free_still_and_no_conflicting_identifier():
    still = item(1, path="/p/a.heic", taken_subsec=0.6, make="Apple", model="iPhone 15 Pro")
    video = dict(media_type="video", format="MOV", duration=1.9, make="Apple", model="iPhone 15 Pro",
                 taken_at="2020-01-01T10:00:00-05:00")  # fmt: skip
    assert find_units({1: still, 2: item(2, path="/p/b.mov", **video)}) == {1: [2]}
    # Another folder, another moment, another identifier: no pair.
    assert find_units({1: still, 2: item(2, path="/q/b.mov", **video)}) == {}
    assert (
        find_units({1: still, 2: item(2, path="/p/b.mov", **{**video, "taken_at": "2020-01-01T10:00:09"})})
        == {}
    )
    both = {
        1: item(1, path="/p/a.heic", content_id="X"),
        2: item(2, path="/p/b.mov", content_id="Y", **video),
    }
    assert find_units(both) == {}
    # Two stills equally close: no guess.
    twin = item(3, path="/p/c.heic", taken_subsec=0.6, make="Apple", model="iPhone 15 Pro")
    assert find_units({1: still, 3: twin, 2: item(2, path="/p/b.mov", **video)}) == {}
    # A still that already has its video takes no second one.
    named = {1: still, 2: item(2, path="/p/a.mov", **video), 4: item(4, path="/p/z.mov", **video)}
    assert find_units(named) == {1: [2]}
