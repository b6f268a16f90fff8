"""export: keepers (and their Live videos and sidecars) copied, verified, never overwritten."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from actions_testkit import Scene, asset_item, copy, snapshot

from photodedup.actions.export import export_keepers, keeper_ids
from photodedup.actions.plan import build_plan, file_digest, source_folder_name
from photodedup.actions.xmp import read_xmp

MEDIA = "photos-libraries/Test-Media-Types-15.7.2.photoslibrary"
LIVE_UUID = "B60C31AC-BE86-42C5-A383-A0A5710B18AE"
ICLOUD_UUID = "EC19EA1A-7D5E-4BD0-9E2B-7B4A1A8C0EA5"


@pytest.fixture
def scene(data_dir: Path, tmp_path: Path) -> Scene:
    s = Scene(data_dir, tmp_path)
    copy(data_dir, "media/live/IMG_3582.AAE", s.root / "live/IMG_3582.AAE")
    return s


def test_keepers_are_everything_not_removed(scene):
    assert keeper_ids(scene.groups, scene.items) == set(scene.items) - {2, 5, 6, 13}
    assert keeper_ids(scene.groups, scene.items, include_edited=True) == set(scene.items) - {2, 5, 6, 10, 13}
    plan = build_plan(scene.groups, scene.items)
    assert keeper_ids(scene.groups, scene.items, plan=plan) == set(scene.items) - {2, 5, 6, 13}


def test_export_copies_keepers_with_live_video_and_sidecars(scene, tmp_path):
    before = snapshot(scene.root)
    dest = tmp_path / "clean"
    report = export_keepers(scene.groups, scene.items, dest)
    assert report.ok, report.skipped
    base = dest / source_folder_name(str(scene.root))
    got = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file())
    assert got == [
        "a/ukbench00120.jpg",
        "a/ukbench00120_resize.jpg",
        "burst/IMG_0658.JPG",
        "burst/IMG_0664.JPG",
        "c/x.jpeg",
        "edited/IMG_1853.HEIC",
        "edited/IMG_E1853.heic",
        "live/IMG_3582.AAE",
        "live/IMG_3582.HEIC",
        "live/IMG_3582.mov",
    ]
    for rel in got:
        src = scene.root / rel
        assert file_digest(base / rel) == file_digest(src)
        assert (base / rel).stat().st_mtime_ns == src.stat().st_mtime_ns
    assert {f.role for f in report.copied} == {"file", "sidecar"}
    assert snapshot(scene.root) == before, "sources untouched"
    again = export_keepers(scene.groups, scene.items, dest)
    assert again.copied == [] and len(again.already) == len(got)


def test_export_never_overwrites_and_merges_plan_gains(scene, tmp_path):
    dest = tmp_path / "clean"
    base = dest / source_folder_name(str(scene.root))
    (base / "a").mkdir(parents=True)
    (base / "a/ukbench00120.jpg").write_bytes(b"something else")
    plan = build_plan(scene.groups, scene.items)
    report = export_keepers(scene.groups, scene.items, dest, plan=plan)
    assert [w for w, _ in report.skipped] == [str(scene.paths[1])]
    assert (base / "a/ukbench00120.jpg").read_bytes() == b"something else"
    xmp = read_xmp((base / "c/x.jpeg.xmp").read_bytes())
    assert xmp["keywords"] == ["Trip", "Bridge, old"] and xmp["albums"] == ["Summer 2020"]
    assert not Path(str(scene.paths[12]) + ".xmp").exists(), "the source keeper is not touched"


def test_library_assets_are_exported_by_osxphotos_with_their_live_video(data_dir, tmp_path):
    lib = tmp_path / "Media.photoslibrary"
    shutil.copytree(data_dir / MEDIA, lib)
    before = snapshot(lib)
    original = lib / f"originals/B/{LIVE_UUID}.heic"
    items = {
        1: asset_item(1, LIVE_UUID, str(lib), path=str(original), keywords=[]),
        2: asset_item(2, ICLOUD_UUID, str(lib), size=1000),
    }
    dest = tmp_path / "clean"
    folder = dest / source_folder_name(str(lib))
    folder.mkdir(parents=True)
    (folder / "IMG_4394.HEIC").write_bytes(b"another photo with the same name")
    report = export_keepers([], items, dest)
    assert [w for w, _ in report.skipped] == [f"{lib}#{ICLOUD_UUID}"], report.skipped
    roles = {Path(f.dest).name: f.role for f in report.copied}
    assert roles == {
        "IMG_4394 (1).HEIC": "original",
        "IMG_4394 (1).mov": "live_video",
        "IMG_4394 (1).HEIC.xmp": "sidecar",
        "IMG_4394_edited (1).heic": "edited",
        "IMG_4394_edited (1).heic.xmp": "sidecar",
    }
    assert file_digest(folder / "IMG_4394 (1).HEIC") == file_digest(original)
    assert file_digest(folder / "IMG_4394 (1).mov") == file_digest(lib / f"originals/B/{LIVE_UUID}_3.mov")
    assert (folder / "IMG_4394.HEIC").read_bytes() == b"another photo with the same name"
    assert snapshot(lib) == before, "the library is only read"
    again = export_keepers([], items, dest)
    assert again.copied == [] and len(again.already) == 5, "a re-run finds them, no (2) copies"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "no staging left behind"
