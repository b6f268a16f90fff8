"""The whole workflow through the real CLI: scan, groups, plan, apply, undo, export. Nothing is lost."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

CMD = [sys.executable, "-m", "photodedup"]


def run(*args):
    return subprocess.run([*CMD, *map(str, args)], capture_output=True, text=True)


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(folder))] = (
                hashlib.sha256(p.read_bytes()).hexdigest(),
                p.stat().st_mtime_ns,
            )
    return out


def test_scan_plan_apply_undo_export(tmp_path, data_dir):
    photos = tmp_path / "photos"
    (photos / "2019").mkdir(parents=True)
    (photos / "export").mkdir()
    src = data_dir / "near-duplicates/imagededup/base_images"
    for name in ("ukbench09012.jpg", "ukbench09040.jpg", "ukbench09060.jpg"):
        shutil.copy2(src / name, photos / "2019" / name)
    shutil.copy2(src / "ukbench09012.jpg", photos / "export" / "copy of ukbench09012.jpg")
    shutil.copy2(data_dir / "media/live/IMG_3582.HEIC", photos / "2019" / "IMG_3582.HEIC")
    shutil.copy2(data_dir / "media/live/IMG_3582.mov", photos / "2019" / "IMG_3582.mov")
    shutil.copy2(data_dir / "media/burst/IMG_0658.JPG", photos / "2019" / "IMG_0658.JPG")
    shutil.copy2(data_dir / "media/burst/IMG_0664.JPG", photos / "2019" / "IMG_0664.JPG")
    before = snapshot(photos)
    db = tmp_path / "s.db"

    assert run("scan", photos, "--db", db, "-q").returncode == 0
    groups = json.loads(run("groups", "--db", db, "--format", "json").stdout)["groups"]
    kinds = {g["kind"] for g in groups}
    assert {"exact", "burst", "unit"} <= kinds

    plan_path = tmp_path / "plan.json"
    r = run("plan", "--db", db, "-o", plan_path)
    assert r.returncode == 0, r.stderr
    plan = json.loads(plan_path.read_text())
    removed = [os.path.basename(x["path"]) for x in plan["removals"]]
    assert removed == ["copy of ukbench09012.jpg"]  # bursts and Live halves are never proposed
    assert snapshot(photos) == before  # a plan changes nothing

    q = tmp_path / "quarantine"
    r = run("apply", plan_path, "--quarantine", q)
    assert r.returncode == 0, r.stderr
    assert not (photos / "export" / "copy of ukbench09012.jpg").exists()
    assert any(p.name == "copy of ukbench09012.jpg" for p in q.rglob("*"))
    assert run("apply", plan_path, "--quarantine", q).returncode == 0  # idempotent

    dest = tmp_path / "clean"
    r = run("export", "--db", db, "--keepers", dest)
    assert r.returncode == 0, r.stderr
    exported = {p.name for p in dest.rglob("*") if p.is_file()}
    assert {"IMG_3582.HEIC", "IMG_3582.mov", "IMG_0658.JPG", "IMG_0664.JPG", "ukbench09012.jpg"} <= exported
    assert "copy of ukbench09012.jpg" not in exported

    r = run("undo", q)
    assert r.returncode == 0, r.stderr
    assert snapshot(photos) == before  # every byte and mtime back
