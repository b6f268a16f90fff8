"""Groups found in the real ../shared/data, checked against its README's known relationships."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from photodedup.match.engine import find_groups, load_items
from photodedup.scan.engine import ScanOptions, scan
from photodedup.store.db import Store

MT = "photos-libraries/Test-Media-Types-15.7.2.photoslibrary"
C2 = "photos-libraries/Test-13.5.1-compare-2.photoslibrary"
T26 = "photos-libraries/Test-26.1.photoslibrary"
TK = "takeout/Takeout/Google Photos"
ND = "near-duplicates/imagededup"


@pytest.fixture(scope="module")
def matched(data_dir: Path, tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("match") / "s.db")
    scan([str(data_dir)], store, ScanOptions(workers=2))
    items = load_items(store)
    groups = find_groups(store, items=items)
    by_rel = {}
    for it in items.values():
        if it.path:
            by_rel[os.path.relpath(it.path, data_dir)] = it.id
        elif it.uuid:
            by_rel[f"uuid:{it.uuid[:8]}"] = it.id
    yield store, items, groups, by_rel
    store.close()


def group_of(groups, item_id, kinds=("exact", "same")):
    found = [g for g in groups if g.kind in kinds and any(m.id == item_id for m in g.members)]
    assert len(found) <= 1, "an item is in at most one duplicate group"
    return found[0] if found else None


def together(groups, by_rel, rels, kinds=("exact", "same")):
    ids = [by_rel[r] for r in rels]
    g = group_of(groups, ids[0], kinds)
    assert g is not None, f"{rels[0]} is in no {kinds} group"
    members = {m.id for m in g.members}
    assert set(ids) <= members, (rels, g.to_json())
    return g


def test_byte_identical_files_are_exact_groups(matched):
    _, _, groups, by_rel = matched
    together(
        groups,
        by_rel,
        ["media/heic/IMG_0102.HEIC", f"{MT}/originals/5/5F9BCC2D-D1DF-46D8-8F70-C142B25D3DC3.heic"],
    )
    together(
        groups,
        by_rel,
        [
            f"{C2}/originals/0/0EBA5A05-6E6B-4EF6-B264-8F3AE6B88379.jpeg",
            f"{TK}/Photos from 2016/IMG_3984.jpeg",
        ],
    )
    together(groups, by_rel, [f"{TK}/Photos from 2018/Pumkins1.jpg", f"{TK}/Pumpkin Farm/Pumkins1.jpg"])
    together(
        groups,
        by_rel,
        ["media/video/IMG_3539.MOV", f"{MT}/originals/4/420451DF-5299-41C1-8B71-83E1598D6F5C.mov"],
    )


def test_same_fingerprint_across_libraries_even_without_the_original(matched):
    _, _, groups, by_rel = matched
    g = together(
        groups,
        by_rel,
        [
            f"{C2}/originals/C/C0054772-8788-499F-B94F-8AC6064B8A58.jpeg",
            f"{C2}/originals/F/F269CA02-F39B-4306-882A-B05B31926C80.jpeg",
            "uuid:A92D9C26",
        ],
    )
    icloud = next(m for m in g.members if m.id == by_rel["uuid:A92D9C26"])
    assert not icloud.keep and "iCloud" in icloud.reason


def test_same_pixels_different_bytes_is_same_photo(matched):
    _, _, groups, by_rel = matched
    g = together(
        groups,
        by_rel,
        [
            f"{C2}/originals/0/0B5E5418-E995-4FDD-A90A-17D72436AC5A.jpeg",
            f"{T26}/originals/E/E9BC5C36-7CD1-40A1-A72B-8B8FAC227D51.jpeg",
        ],
    )
    assert g.kind == "same"
    together(
        groups,
        by_rel,
        [
            f"{T26}/originals/F/F12384F6-CD17-4151-ACBA-AE0E3688539E.jpeg",
            f"{TK}/Photos from 2018/Pumkins1.jpg",
            f"{TK}/Pumpkin Farm/Pumkins1.jpg",
        ],
    )
    together(
        groups,
        by_rel,
        [
            f"{T26}/originals/6/6191423D-8DB8-4D4C-92BE-9BBBA308AAC4.jpeg",
            f"{C2}/originals/2/29E96312-8F01-4C90-BADF-8055108131F9.jpeg",
        ],
    )
    together(groups, by_rel, [f"{ND}/base_images/ukbench09380.jpg", f"{ND}/formats_images/ukbench09380.webp"])
    together(
        groups,
        by_rel,
        [
            f"{ND}/base_images/ukbench00120.jpg",
            f"{ND}/ukbench00120_gray.jpg",
            f"{ND}/alpha_channel_image.png",
        ],
    )


def test_each_group_has_one_keeper_with_reasons(matched):
    _, _, groups, _ = matched
    for g in groups:
        assert all(m.reason for m in g.members), g.to_json()
        if g.kind in ("exact", "same"):
            assert sum(m.keep for m in g.members) >= 1
            assert any(not m.keep for m in g.members)


def test_burst_frames_are_never_removed(matched):
    _, _, groups, by_rel = matched
    burst = [
        by_rel["media/burst/IMG_0658.JPG"],
        by_rel["media/burst/IMG_0664.JPG"],
        by_rel[f"{MT}/originals/7/79D1A1A5-B1EA-41D1-83B1-C71F001E6D49.jpeg"],
    ]
    for g in groups:
        for m in g.members:
            if m.id in burst:
                assert m.keep, (g.kind, g.to_json())
    assert any(g.kind == "burst" and len({m.id for m in g.members} & set(burst)) >= 2 for g in groups)


def test_live_photo_halves_stay_one_unit(matched):
    _, _, groups, by_rel = matched
    still, video = by_rel["media/live/IMG_3582.HEIC"], by_rel["media/live/IMG_3582.mov"]
    unit = [g for g in groups if g.kind == "unit" and {m.id for m in g.members} == {still, video}]
    assert len(unit) == 1
    for g in groups:
        ids = {m.id for m in g.members}
        if g.kind != "unit":
            assert video not in ids, "a Live Photo video is never matched on its own"
    lib_still = by_rel[f"{MT}/originals/B/B60C31AC-BE86-42C5-A383-A0A5710B18AE.heic"]
    lib_video = by_rel[f"{MT}/originals/B/B60C31AC-BE86-42C5-A383-A0A5710B18AE_3.mov"]
    assert any(g.kind == "unit" and {m.id for m in g.members} == {lib_still, lib_video} for g in groups)


def test_edits_are_never_removed_as_duplicates_of_their_original(matched):
    _, _, groups, by_rel = matched
    pairs = [
        ("media/edited/IMG_1853.HEIC", "media/edited/IMG_E1853.heic"),
        ("media/live/IMG_3582.HEIC", "media/live/IMG_3582_edited.heic"),
        (f"{TK}/Photos from 2016/IMG_3984.jpeg", f"{TK}/Photos from 2016/IMG_3984-edited.jpeg"),
        (
            f"{T26}/originals/6/6191423D-8DB8-4D4C-92BE-9BBBA308AAC4.jpeg",
            f"{T26}/resources/renders/6/6191423D-8DB8-4D4C-92BE-9BBBA308AAC4_1_201_a.jpeg",
        ),
        (
            f"{T26}/originals/E/E9BC5C36-7CD1-40A1-A72B-8B8FAC227D51.jpeg",
            f"{T26}/resources/renders/E/E9BC5C36-7CD1-40A1-A72B-8B8FAC227D51_1_201_a.jpeg",
        ),
        (
            f"{T26}/originals/7/7783E8E6-9CAC-40F3-BE22-81FB7051C266.heic",
            f"{T26}/resources/renders/7/7783E8E6-9CAC-40F3-BE22-81FB7051C266_1_201_a.heic",
        ),
    ]
    for a, b in pairs:
        ga = group_of(groups, by_rel[a])
        assert ga is None or by_rel[b] not in {m.id for m in ga.members}, (a, b, ga.to_json())
        # The edit is linked to the original, or to the copy of it that its duplicate group keeps.
        originals = {by_rel[a]} | ({m.id for m in ga.members} if ga else set())
        assert any(
            g.kind == "edited"
            and by_rel[b] in {m.id for m in g.members}
            and originals & {m.id for m in g.members}
            for g in groups
        ), (a, b)


def test_negatives_stay_apart(matched):
    _, _, groups, by_rel = matched
    different = [
        f"{TK}/Photos from 2018/Pumkins1.jpg",
        f"{TK}/Photos from 2018/Pumpkins3.jpg",
        "media/motion/pixel_8.jpg",
        "media/motion/ss-motion-photo-shortened.jpg",
        f"{ND}/base_images/ukbench08976.jpg",
        f"{ND}/base_images/ukbench09060.jpg",
    ]
    seen = set()
    for rel in different:
        g = group_of(groups, by_rel[rel], kinds=("exact", "same", "burst", "edited"))
        if g is not None:
            assert g.id not in seen, f"{rel} grouped with another negative"
            seen.add(g.id)


def test_no_chaining_in_duplicate_groups(matched):
    _, items, groups, _ = matched
    from photodedup.match.relate import relate, thresholds_for

    t = thresholds_for("default")
    for g in groups:
        if g.kind != "same":
            continue
        ids = [m.id for m in g.members]
        for a in ids:
            for b in ids:
                if a < b:
                    rel = relate(items[a], items[b], t)
                    assert rel is not None and rel[0] in ("exact", "same"), (a, b, rel)


def test_lazy_loading_gives_the_same_groups_as_preloaded_items(matched):
    store, _, groups, _ = matched
    lazy = find_groups(store)
    assert [g.to_json() for g in lazy] == [g.to_json() for g in groups]


def _tree(root: Path) -> dict[str, str]:
    import hashlib

    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def test_plan_from_the_store_equals_the_plan_over_every_item(matched, tmp_path):
    """`photodedup plan` reads only the groups' rows (StoreItems) and writes the plan that every item gave."""
    import json
    import subprocess
    import sys

    from photodedup.actions.plan import build_plan
    from photodedup.match.engine import StoreItems

    store, items, groups, _ = matched
    want = build_plan(groups, items, store_path=str(store.path))
    lazy = StoreItems(store)
    got = build_plan(find_groups(store, items=lazy), lazy, store_path=str(store.path))
    assert sum(len(g["removals"]) for g in want["groups"]) > 10  # the data set has real removals
    for p in (want, got):
        p.pop("created")
    assert got == want
    assert 0 < len(lazy) < len(items)  # only what grouping looked at was read
    out = tmp_path / "plan.json"
    r = subprocess.run(
        [sys.executable, "-m", "photodedup", "plan", "--db", str(store.path), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    cli = json.loads(out.read_text())
    cli.pop("created")
    assert cli == json.loads(json.dumps(want))


def test_export_from_the_store_copies_what_every_item_gave(matched, tmp_path):
    """`photodedup export --keepers` streams the keepers from the store: the same files as over every item."""
    import subprocess
    import sys

    from photodedup.actions.export import export_keepers, keeper_ids
    from photodedup.match.engine import StoreItems

    store, items, groups, _ = matched
    assert keeper_ids(groups, StoreItems(store)) == keeper_ids(groups, items)
    want = export_keepers(groups, items, tmp_path / "eager")
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "photodedup",
            "export",
            "--db",
            str(store.path),
            "--keepers",
            str(tmp_path / "cli"),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == (0 if want.ok else 1), r.stderr
    eager, cli = _tree(tmp_path / "eager"), _tree(tmp_path / "cli")
    assert len(eager) > 50 and cli == eager


def test_store_columns_read_in_one_pass_equal_those_read_row_by_row(matched, tmp_path):
    """find_groups reads the hash columns as a few SQLite-concatenated strings; the same as row by row."""
    import sqlite3

    import numpy as np

    from photodedup.match.engine import _columns_by_row, _columns_in_one_pass

    store = matched[0]
    fast, slow = _columns_in_one_pass(store.db.conn), _columns_by_row(store.db.conn)
    assert fast is not None and len(fast[0]) > 100 and fast[3].any()
    for a, b in zip(fast, slow, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    with sqlite3.connect(tmp_path / "short.db") as conn:  # a hash without its leading zeros: row by row
        store.db.conn.backup(conn)
        conn.execute("UPDATE items SET phash = '1f' WHERE id = (SELECT min(id) FROM items WHERE phash != '')")
        assert _columns_in_one_pass(conn) is None
        assert 0x1F in _columns_by_row(conn)[3][:, 0]


def test_store_items_read_only_some_columns_yet_equal_every_item(matched):
    from photodedup.match.engine import StoreItems

    store, items, _, _ = matched
    lazy = StoreItems(store)
    lazy.load(items)
    assert dict(lazy) == items
    assert list(lazy.read(sorted(items)[:5])) == [items[i] for i in sorted(items)[:5]]
    assert 10**9 not in lazy and lazy.get(10**9) is None
