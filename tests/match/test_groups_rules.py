"""Grouping rules on generated files: no chaining, decisions remembered, units, presets."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from photodedup.match.cluster import cliques, components
from photodedup.match.engine import find_groups, load_items
from photodedup.match.model import MatchItem
from photodedup.match.relate import relate, thresholds_for
from photodedup.match.units import find_units
from photodedup.scan.engine import ScanOptions, scan
from photodedup.store.db import Store


def test_cliques_never_chain():
    # a-b, b-c alike but a, c not: no group may hold a and c.
    groups = cliques([(1, 2), (2, 3)])
    assert all(not {1, 3} <= set(g) for g in groups)
    assert groups in ([[1, 2]], [[2, 3]])
    # a full triangle is one group
    assert cliques([(1, 2), (2, 3), (1, 3)]) == [[1, 2, 3]]
    # components do chain (used only for review kinds)
    assert components([(1, 2), (2, 3)]) == [[1, 2, 3]]


def test_cliques_prefer_the_closest_pairs():
    # 2 is alike to both 1 and 3; 1-2 are closer, so they form the group.
    assert cliques([(1, 2), (2, 3)], {(1, 2): 0, (2, 3): 9}) == [[1, 2]]


def item(i, **kw) -> MatchItem:
    base = dict(
        id=i, path=f"/p/IMG_{i:04d}.jpg", source_id=1, source_kind="folder", source_root="/p", kind="file",
        role=None, parent_id=None, uuid=None, status="ok", media_type="image", format="JPEG", size=1000,
        width=4032, height=3024, phash=0x0F0F_3C3C_5A5A_A5A5, dhash=0x1234_5678_9ABC_DEF0,
        ahash=0x00FF_00FF_F0F0_0F0F, whash=0x00FF_00FF_F0F0_0F0F,
    )  # fmt: skip
    base.update(kw)
    return MatchItem(**base)


def test_relate_kinds():
    t = thresholds_for("default")
    a = item(1, taken_at="2020-01-01T10:00:00", make="Apple", model="iPhone 12")
    assert relate(a, item(2, phash=a.phash ^ 0b111), t)[0] == "same"
    # same look, other aspect ratio: similar, never "same"
    assert relate(a, item(3, width=3024, height=3024), t)[0] == "similar"
    # burst id wins over looks
    assert relate(item(4, burst_id="B"), item(5, burst_id="B"), t)[0] == "burst"
    # a rapid sequence from one camera
    b = item(6, taken_at="2020-01-01T10:00:02", make="Apple", model="iPhone 12")
    assert relate(a, b, t)[0] == "burst"
    # IMG_E0007 is an edit of IMG_0007
    assert relate(item(7), item(8, path="/p/IMG_E0007.jpg", is_edit=True), t)[0] == "edited"
    # the same instant in EXIF local time and in UTC is one capture
    c = item(9, taken_at="2020-01-01T17:00:00", make="Apple", model="iPhone 12")
    assert relate(a, c, t)[0] == "same"
    # flat pictures never match by looks
    assert relate(item(10, phash=0, dhash=0), item(11, phash=0, dhash=0), t) is None
    # bytes win over everything
    assert relate(item(12, blake3="x"), item(13, blake3="x", phash=~0 & (2**64 - 1)), t)[0] == "exact"


def test_units_by_name_and_content_id():
    items = {
        1: item(1, path="/p/IMG_0001.JPG"),
        2: item(2, path="/p/IMG_0001.CR2", format="CR2", phash=None),
        3: item(3, path="/p/IMG_0002.HEIC", content_id="abc"),
        4: item(4, path="/p/IMG_0002.MOV", media_type="video", content_id="ABC", phash=None),
        5: item(5, path="/q/other.mov", media_type="video", duration=30.0, phash=None),
    }
    assert find_units(items) == {1: [2], 3: [4]}


def make_variant(src: Path, dst: Path, scale=1.0, quality=90):
    im = Image.open(src).convert("RGB")
    if scale != 1.0:
        im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
    im.save(dst, quality=quality)


@pytest.fixture
def folder(tmp_path, data_dir):
    src = data_dir / "near-duplicates/imagededup/base_images"
    f = tmp_path / "photos"
    f.mkdir()
    for name in ("ukbench09012.jpg", "ukbench09040.jpg"):
        shutil.copy(src / name, f / name)
        make_variant(src / name, f / f"small_{name}", scale=0.5, quality=70)
        shutil.copy(src / name, f / f"copy_{name}")
    return f


def test_decisions_are_remembered_across_scans(tmp_path, folder):
    store = Store(tmp_path / "s.db")
    scan([str(folder)], store, ScanOptions(workers=1))
    groups = [g for g in find_groups(store) if g.kind in ("exact", "same")]
    assert len(groups) == 2 and all(len(g.members) == 3 for g in groups)
    g = groups[0]
    small = next(m for m in g.members if "small_" in m.path)
    full = next(m for m in g.members if m.keep)
    assert not small.keep and "fewer pixels" in small.reason

    store.add_decision("keep", small.id)
    store.add_decision("skip", group_id=groups[1].id)
    store.add_decision("not_duplicates", small.id, full.id)
    scan([str(folder)], store, ScanOptions(workers=1))  # a re-scan keeps ids, so decisions still apply
    after = [g for g in find_groups(store) if g.kind in ("exact", "same")]
    assert groups[1].id not in {g.id for g in after}
    mine = [g for g in after if small.id in {m.id for m in g.members}]
    assert not mine or full.id not in {m.id for m in mine[0].members}
    assert len(find_groups(store, include_skipped=True)) > len(find_groups(store))

    store.remove_decision("not_duplicates", small.id, full.id)
    again = next(g for g in find_groups(store) if small.id in {m.id for m in g.members} and g.kind == "same")
    kept = next(m for m in again.members if m.id == small.id)
    assert kept.keep and "chosen by you" in kept.reason


def test_presets_and_threshold(tmp_path, folder):
    store = Store(tmp_path / "s.db")
    scan([str(folder)], store, ScanOptions(workers=1))
    items = load_items(store)
    strict = find_groups(store, preset="strict", items=items)
    loose = find_groups(store, preset="loose", items=items)
    zero = find_groups(store, threshold=0, items=items)
    count = lambda gs: sum(len(g.members) for g in gs if g.kind in ("exact", "same"))  # noqa: E731
    assert count(zero) <= count(strict) <= count(loose)
    with pytest.raises(ValueError):
        thresholds_for("nope")


def test_groups_cli_json_table_csv(tmp_path, folder):
    db = tmp_path / "s.db"
    cmd = [sys.executable, "-m", "photodedup"]
    assert subprocess.run([*cmd, "scan", str(folder), "--db", str(db), "-q"]).returncode == 0
    out = subprocess.run(
        [*cmd, "groups", "--db", str(db), "--format", "json"], capture_output=True, text=True
    )
    data = json.loads(out.stdout)
    g = data["groups"][0]
    assert {"id", "kind", "members"} <= set(g)
    assert {"id", "path", "source", "keep", "reason"} <= set(g["members"][0])
    csv_out = subprocess.run(
        [*cmd, "groups", "--db", str(db), "--format", "csv"], capture_output=True, text=True
    )
    assert csv_out.stdout.splitlines()[0].startswith("group,kind,member,path")
    table = subprocess.run([*cmd, "groups", "--db", str(db)], capture_output=True, text=True).stdout
    assert "keep" in table and "remove" in table
    rep = subprocess.run(
        [*cmd, "report", "--db", str(db), "--format", "json"], capture_output=True, text=True
    )
    r = json.loads(rep.stdout)
    assert sum(r["proposed_removals_by_kind"].get(k, 0) for k in ("exact", "same")) == 4
    assert r["reclaimable_bytes"] > 0
    member = g["members"][0]["id"]
    d = subprocess.run([*cmd, "decide", "keep", str(member), "--db", str(db)], capture_output=True, text=True)
    assert d.returncode == 0
    bad = subprocess.run([*cmd, "decide", "keep", "99999", "--db", str(db)], capture_output=True, text=True)
    assert bad.returncode == 2 and "no item" in bad.stderr


def test_copies_changed_differently_are_completed_into_one_group():
    from photodedup.match.complete import fill_in_same

    t = thresholds_for("default")
    o = item(1)
    framed = item(
        2, phash=0x7777_0000_FFFF_1234, alt_phashes={"trim": o.phash ^ 0b11}, width=4200, height=3200
    )
    turned = item(
        3, phash=0x1357_9BDF_2468_ACE0, alt_phashes={"r90": o.phash ^ 0b101}, width=3024, height=4032
    )
    other = item(4, phash=0x0123_4567_89AB_CDEF, alt_phashes={"r90": 0xFEDC_BA98_7654_3210})
    items = {i.id: i for i in (o, framed, turned, other)}
    face = {i: i for i in items}
    relations = {(1, 2): ("same", 2, ""), (1, 3): ("same", 2, ""), (1, 4): ("similar", 12, "")}
    assert fill_in_same(relations, items, face, t, lambda a, b: True) == 1
    assert relations[(2, 3)][0] == "same"
    assert cliques([p for p, r in relations.items() if r[0] == "same"]) == [[1, 2, 3]]
    # a person's "not duplicates" is respected
    relations = {(1, 2): ("same", 2, ""), (1, 3): ("same", 2, "")}
    assert fill_in_same(relations, items, face, t, lambda a, b: {a, b} != {2, 3}) == 0
