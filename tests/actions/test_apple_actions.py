"""Photos removals become an album to review, keeper gains become osxphotos batch-edit commands."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from actions_testkit import copy, file_item, group, member

from photodedup.actions.applephotos import (
    DEFAULT_ALBUM,
    REMOVE_FILE,
    run_apple_actions,
    template_literal,
    write_apple_files,
)
from photodedup.actions.plan import build_plan
from photodedup.match.model import MatchItem, from_row

COMPARE2 = "photos-libraries/Test-13.5.1-compare-2.photoslibrary"
DUP_REMOVED = "C0054772-8788-499F-B94F-8AC6064B8A58"
DUP_KEPT = "F269CA02-F39B-4306-882A-B05B31926C80"
TULIPS = "29E96312-8F01-4C90-BADF-8055108131F9"
TRICKY = ["Family, 2019", "{title}", "why?", "100% (x) [y] | z; w & v", "-dash", "émoji 😀", 'it\'s "quoted"']


@pytest.fixture(scope="module")
def library_scene(data_dir: Path, tmp_path_factory) -> tuple[Path, dict[int, MatchItem]]:
    """A copy of the compare-2 library and a folder, scanned into a store like photodedup does."""
    from photodedup.scan.engine import ScanOptions, scan
    from photodedup.store.db import Store

    tmp = tmp_path_factory.mktemp("apple")
    lib = tmp / "Test Library.photoslibrary"
    shutil.copytree(data_dir / COMPARE2, lib)
    copy(data_dir, "takeout/Takeout/Google Photos/Photos from 2019/Tulips.jpg", tmp / "folder/Tulips.jpg")
    store = Store(tmp / "store.db")
    scan([str(lib), str(tmp / "folder")], store, ScanOptions(workers=1))
    sources = {s["id"]: s for s in store.db.query("SELECT * FROM sources")}
    items = {r["id"]: from_row(r, sources[r["source_id"]]) for r in store.items()}
    store.close()
    return lib, items


def plan_for(library_scene) -> tuple[dict, dict[str, MatchItem]]:
    _lib, items = library_scene
    by_uuid = {i.uuid: i for i in items.values() if i.kind == "asset"}
    folder = next(i for i in items.values() if i.source_kind == "folder")
    removed, kept, tulips = by_uuid[DUP_REMOVED], by_uuid[DUP_KEPT], by_uuid[TULIPS]
    assert removed.blake3 == kept.blake3 and folder.blake3 == tulips.blake3, "README 3.1"
    removed.keywords, removed.albums, removed.favorite = [*TRICKY], ["Best of, 2019"], True
    kept.keywords, kept.albums, kept.favorite = ["-dash"], [], False
    folder.description = "Tulips\nin spring"
    folder.meta = {"takeout": {"latitude": 51.5, "longitude": -0.12}}
    folder.gps = True
    tulips.gps, tulips.description = False, None
    groups = [
        group("g1", "exact", member(kept, True), member(removed)),
        group("g2", "exact", member(tulips, True), member(folder)),
        group("g3", "burst", member(kept, True), member(tulips)),
    ]
    return build_plan(groups, items), {"removed": removed, "kept": kept, "tulips": tulips, "folder": folder}


def test_apple_section_lists_the_right_uuids_and_commands(library_scene):
    lib, _ = library_scene
    plan, it = plan_for(library_scene)
    actions = {r["id"]: r["action"] for r in plan["removals"]}
    assert actions == {f"g1:{it['removed'].id}": "photos", f"g2:{it['folder'].id}": "quarantine"}
    (entry,) = plan["apple"]["libraries"]
    assert entry["library"] == str(lib) and entry["remove"] == [DUP_REMOVED]
    query, *edits = entry["commands"]
    edit_kept, edit_tulips = sorted(edits, key=lambda c: c[5] != DUP_KEPT)
    assert query == [
        "osxphotos", "query", "--library", str(lib), "--uuid-from-file", entry["remove_file"],
        "--add-to-album", DEFAULT_ALBUM,
    ]  # fmt: skip
    assert edit_kept[:6] == ["osxphotos", "batch-edit", "--library", str(lib), "--uuid", DUP_KEPT]
    keywords = [edit_kept[i + 1] for i, w in enumerate(edit_kept) if w == "--keyword"]
    assert keywords == [template_literal(k) for k in TRICKY if k != "-dash"], "only what the keeper lacks"
    assert edit_kept[edit_kept.index("--add-to-album") + 1] == "Best of{comma} 2019"
    assert "--set-favorite" in edit_kept
    assert edit_tulips[:6] == ["osxphotos", "batch-edit", "--library", str(lib), "--uuid", TULIPS]
    assert edit_tulips[6:] == ["--description", "Tulips{newline}in spring", "--location", "51.5", "-0.12"]


def test_template_escapes_render_back_to_the_literal():
    from osxphotos.photoinfo import PhotoInfoNone
    from osxphotos.phototemplate import PhotoTemplate, RenderOptions

    cwd = os.getcwd()
    opts = RenderOptions(export_dir=cwd, dest_path=cwd, filepath=cwd)
    for text in [*TRICKY, "a\nb\tc", "{", "}", "{{}}", "a,b?c", "Best of, 2019"]:
        rendered, unmatched = PhotoTemplate(photo=PhotoInfoNone()).render(
            template_literal(text), options=opts
        )
        assert (rendered, unmatched) == ([text], []), text


def test_uuid_file_and_script(library_scene, tmp_path):
    plan, _ = plan_for(library_scene)
    files = write_apple_files(plan, tmp_path / "apple")
    (uuid_file,) = files.uuid_files
    assert uuid_file.name == REMOVE_FILE
    lines = uuid_file.read_text().splitlines()
    assert [x for x in lines if not x.startswith("#")] == [DUP_REMOVED]
    from osxphotos.photoquery import load_uuid_from_file

    assert load_uuid_from_file(str(uuid_file)) == [DUP_REMOVED], "osxphotos reads it"
    script = files.script
    assert script is not None and os.access(script, os.X_OK)
    assert subprocess.run(["sh", "-n", str(script)], check=False).returncode == 0

    # Run the script with a stand-in osxphotos that records its arguments: the shell
    # quoting must hand osxphotos exactly the planned argument lists.
    fake = tmp_path / "bin" / "osxphotos"
    fake.parent.mkdir()
    log = tmp_path / "calls.jsonl"
    fake.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps([os.getcwd(), *sys.argv[1:]]) + '\\n')\n"
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"}
    subprocess.run(["sh", str(script)], env=env, check=True, cwd="/")
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c[1:] for c in calls] == [cmd[1:] for cmd in files.commands]
    assert {c[0] for c in calls} == {str(files.folder)}, "relative uuid file paths resolve"
    assert shlex.split(script.read_text().splitlines()[-1])[0] == "osxphotos"


def test_the_query_finds_exactly_the_removals(library_scene, tmp_path):
    """The real osxphotos CLI on Linux, minus --add-to-album (macOS only), on the library copy."""
    plan, _ = plan_for(library_scene)
    files = write_apple_files(plan, tmp_path / "apple")
    query = files.commands[0]
    i = query.index("--add-to-album")
    argv = [sys.executable, "-m", "osxphotos", *query[1:i], *query[i + 2 :], "--json", "--mute"]
    out = subprocess.run(argv, cwd=files.folder, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert [p["uuid"] for p in json.loads(out.stdout)] == [DUP_REMOVED]


def test_run_apple_actions_on_linux_only_writes_files(library_scene, tmp_path):
    plan, _ = plan_for(library_scene)
    report = run_apple_actions(plan, tmp_path / "apple", platform="linux")
    assert not report.ran and "macOS" in report.message
    assert report.files.script is not None and report.files.script.exists()


def test_run_apple_actions_on_macos_runs_argument_lists(library_scene, tmp_path):
    plan, _ = plan_for(library_scene)
    fake = tmp_path / "osxphotos"
    log = tmp_path / "calls.jsonl"
    fake.write_text(
        f"#!{sys.executable}\nimport json, os, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps([os.getcwd(), *sys.argv[1:]]) + '\\n')\n"
        "sys.exit(3 if 'batch-edit' in sys.argv and '--description' in sys.argv else 0)\n"
    )
    fake.chmod(0o755)
    report = run_apple_actions(plan, tmp_path / "apple", platform="darwin", osxphotos=str(fake))
    assert report.ran and sorted(r.returncode for r in report.results) == [0, 0, 3]
    assert not report.ok and "1 failed" in report.message
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c[1:] for c in calls] == [cmd[1:] for cmd in report.files.commands]
    uuid_file = Path(calls[0][0]) / calls[0][calls[0].index("--uuid-from-file") + 1]
    assert uuid_file.is_file()


def test_no_library_no_files(tmp_path, data_dir):
    a = copy(data_dir, "media/burst/IMG_0658.JPG", tmp_path / "a.jpg")
    b = copy(data_dir, "media/burst/IMG_0658.JPG", tmp_path / "b.jpg")
    it = {1: file_item(1, a, tmp_path), 2: file_item(2, b, tmp_path)}
    plan = build_plan([group("g", "exact", member(it[1], True), member(it[2]))], it)
    assert plan["apple"]["libraries"] == []
    files = write_apple_files(plan, tmp_path / "apple")
    assert files.script is None and not (tmp_path / "apple").exists()
    assert run_apple_actions(plan, tmp_path / "apple", platform="darwin").message.startswith("no Photos")
