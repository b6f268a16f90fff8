"""The plan: only exact/same copies are proposed, every removal is described well enough to verify."""

from __future__ import annotations

import copy as copymod
import json
from pathlib import Path

import pytest
from actions_testkit import Scene, copy, file_item, group, member

from photodedup.actions.plan import (
    PLAN_FORMAT,
    PLAN_VERSION,
    PlanError,
    build_plan,
    file_digest,
    read_plan,
    validate_plan,
    write_plan,
)


@pytest.fixture
def scene(data_dir: Path, tmp_path: Path) -> Scene:
    return Scene(data_dir, tmp_path)


def by_id(plan: dict) -> dict[str, dict]:
    return {r["id"]: r for r in plan["removals"]}


def test_only_exact_and_same_groups_produce_removals(scene):
    plan = build_plan(scene.groups, scene.items, preset="test")
    assert set(by_id(plan)) == {"g-exact:2", "g-live:5", "g-same:13"}
    groups = {g["id"]: g for g in plan["groups"]}
    for gid in ("g-unit", "g-burst", "g-edited", "g-similar"):
        assert groups[gid]["removals"] == []
        assert groups[gid]["note"]
    removed = {r["item"] for r in plan["removals"]} | {
        c["item"] for r in plan["removals"] for c in r["companions"]
    }
    assert not removed & {3, 4, 7, 8, 9, 10, 11, 1, 12}, "keepers, bursts, edits and similar stay"
    assert plan["format"] == PLAN_FORMAT and plan["version"] == PLAN_VERSION and plan["preset"] == "test"


def test_removal_carries_what_apply_verifies(scene):
    r = by_id(build_plan(scene.groups, scene.items))["g-live:5"]
    p = scene.paths
    assert r["action"] == "quarantine"
    assert r["path"] == str(p[5])
    assert (r["size"], r["blake3"]) == file_digest(p[5])
    assert r["source"] == {"kind": "folder", "root": str(scene.root), "id": 1}
    assert r["keeper"] == 3 and "exact copy of" in r["reason"] and "same bytes" in r["reason"]
    assert [(c["item"], c["path"], c["role"]) for c in r["companions"]] == [(6, str(p[6]), "live_video")]
    assert (r["companions"][0]["size"], r["companions"][0]["blake3"]) == file_digest(p[6])
    names = sorted(Path(s["path"]).name for s in r["sidecars"])
    assert names == ["IMG_3582.AAE", "IMG_O3582.AAE"], "the unit's adjustments move with it"
    exact = by_id(build_plan(scene.groups, scene.items))["g-exact:2"]
    assert [Path(s["path"]).name for s in exact["sidecars"]] == ["ukbench00120.jpg.xmp"]


def test_shared_sidecars_stay_when_a_file_with_that_stem_stays(scene, data_dir):
    copy(data_dir, "media/live/IMG_3582_edited.heic", scene.root / "backup/IMG_3582_edited.heic")
    r = by_id(build_plan(scene.groups, scene.items))["g-live:5"]
    assert r["sidecars"] == [], "IMG_3582_edited.heic stays, so do the AAE files it may need"


def test_edited_removals_only_with_consent(scene):
    plan = build_plan(scene.groups, scene.items, include_edited=True)
    assert "g-edited:10" in by_id(plan)
    assert plan["include_edited"] is True


def test_merge_lists_exactly_what_the_keeper_gains(scene):
    plan = build_plan(scene.groups, scene.items)
    merges = {m["keeper"]: m for m in plan["merge"]}
    assert set(merges) == {12}, "identical copies without metadata give nothing to merge"
    m = merges[12]
    assert m["target"] == "xmp" and m["sidecar"] == str(scene.paths[12]) + ".xmp"
    assert m["gains"] == {
        "keywords": ["Trip", "Bridge, old"],
        "albums": ["Summer 2020"],
        "favorite": True,
        "description": "The old bridge",
        "taken_at": "2020-07-01T10:11:12",
        "taken_offset": "+02:00",
        "gps": {"lat": -33.8568, "lon": 151.2153, "alt": 12.5},
    }
    assert m["from"] == [13] and m["groups"] == ["g-same"]
    embed = build_plan(scene.groups, scene.items, merge_into="file")
    assert embed["merge"][0]["target"] == "file" and "sidecar" not in embed["merge"][0]


def test_keeper_keeps_what_it_has(scene):
    it = scene.items
    it[12].keywords = ["trip"]
    it[12].favorite = True
    it[12].gps = True
    it[12].taken_at = "2019-01-01T00:00:00"
    gains = build_plan(scene.groups, scene.items)["merge"][0]["gains"]
    assert gains == {"keywords": ["Bridge, old"], "albums": ["Summer 2020"], "description": "The old bridge"}


def test_safety_guards(scene):
    it = scene.items
    groups = [
        # 2 is a keeper elsewhere: never removed
        group("g1", "exact", member(it[1], True), member(it[2])),
        group("g2", "exact", member(it[2], True), member(it[11])),
        # a trashed keeper makes the whole group unsafe
        group("g3", "exact", member(it[12], True), member(it[13])),
        # a copy proposed twice is removed once
        group("g4", "same", member(it[9], True), member(it[10])),
        group("g5", "same", member(it[7], True), member(it[10])),
        # nobody is marked as keeper
        group("g6", "exact", member(it[3]), member(it[5])),
    ]
    it[12].trashed = True
    plan = build_plan(groups, it)
    assert set(by_id(plan)) == {"g2:11", "g4:10"}
    reasons = {(s["group"], s["item"]): s["reason"] for s in plan["skipped"]}
    assert "keeper" in reasons[("g1", 2)]
    assert "Recently Deleted" in reasons[("g3", None)]
    assert "already proposed" in reasons[("g5", 10)]
    assert "no member" in reasons[("g6", None)]


def test_photos_library_members_go_to_the_apple_section(scene):
    lib = "/Users/me/Pictures/Photos Library.photoslibrary"
    it = dict(scene.items)
    from actions_testkit import asset_item

    it[20] = asset_item(20, "C0054772-8788-499F-B94F-8AC6064B8A58", lib, size=2901554)
    it[21] = asset_item(21, "F269CA02-F39B-4306-882A-B05B31926C80", lib, size=2901554, keywords=["Kids"])
    groups = [group("g-lib", "exact", member(it[1], True), member(it[20]), member(it[21]))]
    plan = build_plan(groups, it)
    rs = by_id(plan)
    assert {r["action"] for r in rs.values()} == {"photos"}
    assert rs["g-lib:20"]["library"] == lib and rs["g-lib:20"]["uuid"].startswith("C0054772")
    libs = plan["apple"]["libraries"]
    assert [x["remove"] for x in libs] == [[it[20].uuid, it[21].uuid]]
    assert plan["merge"][0]["target"] == "xmp" and plan["merge"][0]["gains"] == {"keywords": ["Kids"]}
    assert plan["summary"]["photos_removals"] == 2 and plan["summary"]["quarantine_removals"] == 0


def test_never_touches_files_inside_a_library_bundle(tmp_path, data_dir):
    lib = tmp_path / "x.photoslibrary" / "originals"
    a = copy(data_dir, "media/burst/IMG_0658.JPG", tmp_path / "a.jpg")
    b = copy(data_dir, "media/burst/IMG_0658.JPG", lib / "b.jpg")
    it = {1: file_item(1, a, tmp_path), 2: file_item(2, b, tmp_path)}
    plan = build_plan([group("g", "exact", member(it[1], True), member(it[2]))], it)
    assert plan["removals"] == []
    assert "Photos library" in plan["skipped"][0]["reason"]


def test_write_read_round_trip_and_validation(scene, tmp_path):
    plan = build_plan(scene.groups, scene.items)
    path = write_plan(plan, tmp_path / "plans" / "plan.json")
    assert read_plan(path) == json.loads(json.dumps(plan))
    assert not list(path.parent.glob(".*tmp")), "written through a temp file"

    def broken(change) -> dict:
        p = copymod.deepcopy(plan)
        change(p)
        return p

    bad = [
        (lambda p: p.update(format="other"), "not a photodedup plan"),
        (lambda p: p.update(version=PLAN_VERSION + 1), "newer"),
        (lambda p: p["removals"][0].update(blake3="xyz"), "blake3"),
        (lambda p: p["removals"].append(dict(p["removals"][0])), "repeated"),
        (lambda p: p["removals"][0].update(path="/x/L.photoslibrary/originals/a.jpg"), "Photos library"),
        (lambda p: p["removals"][0].update(path=p["groups"][0]["keepers"][0]["path"]), "also a keeper"),
        (lambda p: p["merge"][0]["gains"].update(delete=True), "unknown keys"),
        (lambda p: p["removals"][0].update(action="delete"), "action"),
    ]
    for change, message in bad:
        with pytest.raises(PlanError, match=message):
            validate_plan(broken(change))
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(PlanError, match="not valid JSON"):
        read_plan(tmp_path / "junk.json")


def test_plan_id_is_stable_and_summary_adds_up(scene):
    a = build_plan(scene.groups, scene.items)
    b = build_plan(scene.groups, scene.items)
    assert a["id"] == b["id"] and len(a["id"]) == 12
    s = a["summary"]
    assert s["quarantine_removals"] == 3
    assert s["quarantine_files"] == 1 + 1 + 2 + 2 + 1 + 0  # 2+xmp, 5+6+2 AAE, 13
    assert s["quarantine_bytes"] == sum(
        r["size"] + sum(x["size"] for x in r["companions"] + r["sidecars"]) for r in a["removals"]
    )


def test_gps_comes_from_the_store(tmp_path, data_dir):
    """A real scan: GPS coordinates are read from the store, which MatchItem does not carry."""
    from photodedup.match.model import from_row
    from photodedup.scan.engine import ScanOptions, scan
    from photodedup.store.db import Store

    folder = tmp_path / "photos"
    copy(data_dir, "media/heic/IMG_0102.HEIC", folder / "gps.heic")
    copy(data_dir, "media/heic/sample_still_photo.heic", folder / "nogps.heic")
    db = tmp_path / "store.db"
    store = Store(db)
    scan([str(folder)], store, ScanOptions(workers=1))
    sources = {s["id"]: s for s in store.db.query("SELECT * FROM sources")}
    rows = list(store.items())
    store.close()
    items = {r["id"]: from_row(r, sources[r["source_id"]]) for r in rows}
    by_name = {Path(i.path).name: i for i in items.values()}
    keeper, other = by_name["nogps.heic"], by_name["gps.heic"]
    assert other.gps and not keeper.gps
    plan = build_plan([group("g", "same", member(keeper, True), member(other))], items, store_path=db)
    gps = plan["merge"][0]["gains"]["gps"]
    assert gps["lat"] == pytest.approx(other_lat(db, other.id))
    assert plan["store"] == str(db)


def other_lat(db: Path, item_id: int) -> float:
    import sqlite3

    with sqlite3.connect(db) as c:
        return c.execute("SELECT gps_lat FROM items WHERE id = ?", [item_id]).fetchone()[0]
