"""apply/undo: nothing lost, everything restored exactly, and a kill at any moment is recoverable."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from actions_testkit import Scene, file_item, group, member, snapshot

from photodedup.actions import quarantine
from photodedup.actions.plan import build_plan, write_plan
from photodedup.actions.quarantine import (
    MANIFEST_NAME,
    QuarantineError,
    apply_plan,
    default_quarantine_dir,
    undo,
)
from photodedup.actions.xmp import read_xmp


@pytest.fixture
def scene(data_dir: Path, tmp_path: Path) -> Scene:
    return Scene(data_dir, tmp_path)


def events(q: Path) -> list[dict]:
    return [json.loads(line) for line in (q / MANIFEST_NAME).read_text().splitlines() if line]


def test_apply_moves_units_keeping_relative_paths_then_undo_restores_exactly(scene, tmp_path):
    before = snapshot(scene.root)
    plan = build_plan(scene.groups, scene.items)
    q = tmp_path / "quarantine"
    report = apply_plan(plan, q)
    assert report.ok, report
    assert sorted(report.moved) == ["g-exact:2", "g-live:5", "g-same:13"]
    assert report.files_moved == 7
    src = q / f"photos-{quarantine.source_folder_name(str(scene.root)).split('-')[-1]}"
    assert src.is_dir()
    moved = sorted(str(p.relative_to(src)) for p in src.rglob("*") if p.is_file())
    assert moved == [
        "b/ukbench00120.jpg",
        "b/ukbench00120.jpg.xmp",
        "backup/IMG_3582.AAE",
        "backup/IMG_3582.HEIC",
        "backup/IMG_3582.mov",
        "backup/IMG_O3582.AAE",
        "c/x.webp",
    ]
    for rel in moved:
        assert not (scene.root / rel).exists()
        assert (src / rel).read_bytes() == before[rel][0], "same bytes"
        assert (src / rel).stat().st_mtime_ns == before[rel][1], "same mtime"
    # the keeper of the "same" group gained the copy's metadata in a new sidecar
    xmp = read_xmp((scene.root / "c/x.jpeg.xmp").read_bytes())
    assert xmp["keywords"] == ["Trip", "Bridge, old"] and xmp["rating"] == "5"
    assert xmp["gps"]["lat"] == pytest.approx(-33.8568, abs=1e-6)
    # the journal: intent before done, for every file
    ev = [e for e in events(q) if e["op"] == "move"]
    assert [e["state"] for e in ev] == ["intent", "done"] * 7
    assert (q / "plan.json").exists()

    back = undo(q)
    assert back.ok, back
    assert len(back.restored) == 7 and back.merges_restored == [str(scene.root / "c/x.jpeg.xmp")]
    assert snapshot(scene.root) == before, "every file back: same path, bytes, mtime and mode"
    assert not [p for p in q.rglob("*") if p.is_file() and p.parent != q], "quarantine emptied"


def test_apply_twice_is_a_no_op(scene, tmp_path):
    plan = build_plan(scene.groups, scene.items)
    q = tmp_path / "q"
    apply_plan(plan, q)
    after_first = snapshot(scene.root) | {f"Q/{k}": v for k, v in snapshot(q).items()}
    again = apply_plan(plan, q)
    assert again.moved == [] and sorted(again.already) == ["g-exact:2", "g-live:5", "g-same:13"]
    assert {m.status for m in again.merges} == {"already"}
    assert snapshot(scene.root) | {f"Q/{k}": v for k, v in snapshot(q).items()} == after_first
    # undo twice is a no-op too
    undo(q)
    restored = snapshot(scene.root)
    second = undo(q)
    assert second.restored == [] and second.ok and snapshot(scene.root) == restored


def test_apply_after_undo_applies_again(scene, tmp_path):
    plan = build_plan(scene.groups, scene.items)
    q = tmp_path / "q"
    apply_plan(plan, q)
    undo(q)
    assert sorted(apply_plan(plan, q).moved) == ["g-exact:2", "g-live:5", "g-same:13"]
    assert undo(q).ok


def test_changed_or_missing_files_are_skipped_with_the_whole_unit(scene, tmp_path):
    plan = build_plan(scene.groups, scene.items)
    mov = scene.paths[6]
    mov.write_bytes(mov.read_bytes() + b"x")  # the Live video changed after the plan
    scene.paths[2].unlink()
    report = apply_plan(plan, tmp_path / "q")
    skipped = dict(report.skipped)
    assert "changed since the plan" in skipped["g-live:5"]
    assert "missing" in skipped["g-exact:2"]
    assert report.moved == ["g-same:13"]
    assert scene.paths[5].exists(), "the still stays with its changed video"
    assert (scene.root / "b/ukbench00120.jpg.xmp").exists()
    assert not report.ok


def test_undo_never_overwrites_a_file_that_reappeared(scene, tmp_path):
    plan = build_plan(scene.groups, scene.items)
    q = tmp_path / "q"
    apply_plan(plan, q)
    scene.paths[2].write_bytes(b"a new file the user put there")
    scene.paths[13].write_bytes(Path(q.glob("*/c/x.webp").__next__()).read_bytes())  # same bytes again
    report = undo(q)
    assert [p for p, _ in report.conflicts] == [str(scene.paths[2])]
    assert scene.paths[2].read_bytes() == b"a new file the user put there"
    assert next(q.glob("*/b/ukbench00120.jpg")).exists(), "the quarantined copy stays"
    assert str(scene.paths[13]) in report.restored, "identical bytes: the spare copy goes, nothing lost"
    assert not list(q.glob("*/c/x.webp"))
    assert scene.paths[5].exists() and scene.paths[6].exists()


def test_cross_filesystem_move_copies_verifies_then_unlinks(scene, tmp_path, monkeypatch):
    before = snapshot(scene.root)
    plan = build_plan(scene.groups, scene.items)
    real_rename = os.rename
    calls = []

    def rename(a, b, *args, **kw):
        # our quarantine moves (not the temp-file renames) behave as if across devices
        if not os.path.basename(str(a)).startswith("."):
            calls.append((a, b))
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_rename(a, b, *args, **kw)

    monkeypatch.setattr(quarantine.os, "rename", rename)
    q = tmp_path / "q"
    report = apply_plan(plan, q)
    assert report.ok and report.files_moved == 7 and len(calls) == 7
    assert not list(q.rglob("*.photodedup-partial"))
    for rel in ("backup/IMG_3582.mov", "c/x.webp"):
        moved = next(q.glob(f"*/{rel}"))
        assert moved.stat().st_mtime_ns == before[rel][1]
    assert undo(q).ok
    assert snapshot(scene.root) == before


def test_real_other_filesystem(scene, tmp_path):
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second file system")
    import tempfile

    before = snapshot(scene.root)
    with tempfile.TemporaryDirectory(dir=shm) as other:
        report = apply_plan(build_plan(scene.groups, scene.items), Path(other) / "q")
        assert report.ok and report.files_moved == 7
        assert undo(Path(other) / "q").ok
    assert snapshot(scene.root) == before


def test_a_unit_that_cannot_finish_is_put_back_whole(scene, tmp_path, monkeypatch):
    plan = build_plan(scene.groups, scene.items)
    before = snapshot(scene.root)
    real_move = quarantine._move

    def failing(src, dst, digest):
        if src.endswith(".mov"):
            raise KeyboardInterrupt  # stands in for a kill right after the still moved
        return real_move(src, dst, digest)

    monkeypatch.setattr(quarantine, "_move", failing)
    q = tmp_path / "q"
    with pytest.raises(KeyboardInterrupt):
        apply_plan(plan, q)
    monkeypatch.setattr(quarantine, "_move", real_move)
    assert not scene.paths[5].exists(), "the still is in quarantine, the video not"
    scene.paths[6].write_bytes(b"changed")  # now the unit cannot be completed
    report = apply_plan(plan, q)
    assert "put back" in dict(report.skipped)["g-live:5"]
    assert scene.paths[5].read_bytes() == before["backup/IMG_3582.HEIC"][0]
    assert scene.paths[5].stat().st_mtime_ns == before["backup/IMG_3582.HEIC"][1]


def test_one_quarantine_one_plan_and_one_process(scene, tmp_path):
    plan = build_plan(scene.groups, scene.items)
    q = tmp_path / "q"
    apply_plan(plan, q)
    other = build_plan(scene.groups[:1], scene.items)
    with pytest.raises(QuarantineError, match="another quarantine"):
        apply_plan(other, q)
    with open(q / ".lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        with pytest.raises(QuarantineError, match="another photodedup"):
            undo(q)
    with pytest.raises(QuarantineError, match="nothing photodedup applied"):
        undo(tmp_path / "empty")


def test_torn_last_manifest_line_is_ignored(scene, tmp_path):
    plan = build_plan(scene.groups, scene.items)
    q = tmp_path / "q"
    apply_plan(plan, q)
    with open(q / MANIFEST_NAME, "ab") as f:
        f.write(b'{"op": "move", "state": "int')
    assert apply_plan(plan, q).moved == []
    assert undo(q).ok
    assert all(isinstance(e, dict) for e in events(q))


def test_default_quarantine_sits_beside_the_store(scene, tmp_path):
    plan = build_plan(scene.groups, scene.items, store_path=tmp_path / "db" / "photodedup.db")
    assert default_quarantine_dir(plan) == tmp_path / "db" / "quarantine" / plan["id"]


def test_failed_merge_keeps_the_copies(scene, tmp_path):
    plan = build_plan(scene.groups, scene.items)
    sidecar = scene.root / "c/x.jpeg.xmp"
    sidecar.write_text("this is not XMP")
    report = apply_plan(plan, tmp_path / "q")
    assert [m.status for m in report.merges] == ["failed"]
    assert "keeper could not take" in dict(report.skipped)["g-same:13"]
    assert scene.paths[13].exists() and sidecar.read_text() == "this is not XMP"


# -- kill -9 at random moments ------------------------------------------------------------
APPLY = (
    "import sys; from photodedup.actions.plan import read_plan; "
    "from photodedup.actions.quarantine import apply_plan, undo; "
    "r = apply_plan(read_plan(sys.argv[1]), sys.argv[2]) if sys.argv[3] == 'apply' else undo(sys.argv[2]); "
    "sys.exit(0 if r.ok else 1)"
)


def many_duplicates(tmp_path: Path, n: int) -> tuple[Path, dict, list]:
    """n small distinct photos, each with a byte-identical copy; every 10th copy has a Live video."""
    root = tmp_path / "many"
    rng = random.Random(3)
    items, groups = {}, []
    for i in range(n):
        data = rng.randbytes(2000 + i)
        keep = root / "keep" / f"IMG_{i:04d}.JPG"
        dup = root / "dup" / f"d{i % 9}" / f"IMG_{i:04d}.JPG"
        for p in (keep, dup):
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
            os.utime(p, ns=(1_500_000_000_000_000_000 + i, 1_400_000_000_123_456_789 + i))
        items[3 * i] = file_item(3 * i, keep, root)
        items[3 * i + 1] = file_item(3 * i + 1, dup, root)
        companions: tuple[int, ...] = ()
        if i % 10 == 0:
            mov = dup.with_suffix(".MOV")
            mov.write_bytes(rng.randbytes(3000))
            items[3 * i + 2] = file_item(3 * i + 2, mov, root, role="live_video")
            companions = (3 * i + 2,)
        groups.append(
            group(
                f"g{i:04d}", "exact", member(items[3 * i], True), member(items[3 * i + 1], False, companions)
            )
        )
    return root, items, groups


def check_nothing_lost(plan: dict, q: Path, root: Path, original: dict) -> int:
    """Every planned file is in exactly one place with its bytes; returns how many moved."""
    moved = 0
    for r in plan["removals"]:
        for f in [r, *r["companions"], *r["sidecars"]]:
            rel = str(Path(f["path"]).relative_to(root))
            dst = next(q.glob(f"*/{rel}"), None) if q.exists() else None
            at_src = Path(f["path"]).exists()
            assert at_src != (dst is not None), f"{rel}: exactly one copy (src {at_src}, dst {dst})"
            data = (Path(f["path"]) if at_src else dst).read_bytes()
            assert data == original[rel][0], f"{rel}: bytes kept"
            moved += not at_src
    return moved


def run_killed(args: list[str], q: Path, rng: random.Random, most: float) -> bool:
    """Start args, SIGKILL it a random moment after its journal grew; True when it finished first."""
    manifest = q / MANIFEST_NAME
    start = manifest.stat().st_size if manifest.exists() else 0
    env = {**os.environ, quarantine.DELAY_ENV: "0.005"}
    p = subprocess.Popen([sys.executable, "-c", APPLY, *args], env=env)
    deadline = time.monotonic() + 30
    while p.poll() is None and time.monotonic() < deadline:
        if manifest.exists() and manifest.stat().st_size > start:
            break  # it is working: the kill lands mid-way however slow the machine
        time.sleep(0.005)
    time.sleep(rng.uniform(0, most))
    if p.poll() is not None:
        return True
    p.send_signal(signal.SIGKILL)
    p.wait()
    return False


@pytest.mark.slow
def test_sigkill_at_random_moments_then_apply_completes_and_undo_restores(tmp_path):
    n = 300
    root, items, groups = many_duplicates(tmp_path, n)
    original = snapshot(root)
    plan = build_plan(groups, items)
    plan_file = write_plan(plan, tmp_path / "plan.json")
    q = tmp_path / "q"
    total = sum(1 + len(r["companions"]) for r in plan["removals"])
    rng = random.Random(11)
    partial = []
    # The test hook sleeps 5 ms after each journal line: a killed run moves a few dozen files.
    for _ in range(6):
        run_killed([str(plan_file), str(q), "apply"], q, rng, 0.5)
        partial.append(check_nothing_lost(plan, q, root, original))
    assert sum(0 < m < total for m in partial) >= 3, f"kills did not land mid-way: {partial} of {total}"
    done = subprocess.run([sys.executable, "-c", APPLY, str(plan_file), str(q), "apply"], check=False)
    assert done.returncode == 0
    assert check_nothing_lost(plan, q, root, original) == total
    assert subprocess.run([sys.executable, "-c", APPLY, str(plan_file), str(q), "apply"]).returncode == 0

    # undo, killed too, then finished
    left = []
    for _ in range(3):
        run_killed([str(plan_file), str(q), "undo"], q, rng, 0.3)
        left.append(check_nothing_lost(plan, q, root, original))
    assert any(0 < m < total for m in left), f"no undo kill landed mid-way: {left}"
    assert subprocess.run([sys.executable, "-c", APPLY, str(plan_file), str(q), "undo"]).returncode == 0
    assert snapshot(root) == original, "every file back with its bytes, mtime and mode"


def test_names_that_are_not_utf8(tmp_path, data_dir):
    """The store shows such names escaped; the plan carries the real one (from the store key)."""
    from photodedup.match.model import from_row
    from photodedup.scan.engine import ScanOptions, scan
    from photodedup.store.db import Store

    folder = os.fsencode(tmp_path / "photos")
    try:
        for sub in (b"/a/", b"/b/"):
            os.makedirs(folder + sub)
            Path(os.fsdecode(folder + sub + b"caf\xe9.jpg")).write_bytes(
                (data_dir / "media/burst/IMG_0658.JPG").read_bytes()
            )
    except OSError:
        pytest.skip("this file system refuses names that are not UTF-8")
    store = Store(tmp_path / "s.db")
    scan([os.fsdecode(folder)], store, ScanOptions(workers=1))
    sources = {s["id"]: s for s in store.db.query("SELECT * FROM sources")}
    items = {r["id"]: from_row(r, sources[r["source_id"]]) for r in store.items()}
    store.close()
    a, b = sorted(items.values(), key=lambda i: i.path or "")
    assert "\\xe9" in (b.path or ""), "the store shows the byte escaped"
    plan = build_plan([group("g", "exact", member(a, True), member(b))], items, store_path=tmp_path / "s.db")
    plan = json.loads(write_plan(plan, tmp_path / "plan.json").read_text())
    real = os.fsdecode(folder + b"/b/caf\xe9.jpg")
    assert plan["removals"][0]["path"] == real
    before = snapshot(tmp_path / "photos")
    assert apply_plan(plan, tmp_path / "q").moved == ["g:" + str(b.id)]
    assert not os.path.exists(real)
    assert undo(tmp_path / "q").ok
    assert snapshot(tmp_path / "photos") == before


def test_a_copy_stays_when_its_keeper_is_gone_or_changed(scene, tmp_path):
    plan = build_plan(scene.groups, scene.items)
    scene.paths[1].unlink()  # the keeper of g-exact vanished after the plan
    scene.paths[3].write_bytes(b"edited by someone")  # the keeper of g-live changed
    report = apply_plan(plan, tmp_path / "q")
    skipped = dict(report.skipped)
    assert "keeper" in skipped["g-exact:2"] and "missing" in skipped["g-exact:2"]
    assert "changed" in skipped["g-live:5"]
    assert scene.paths[2].exists() and scene.paths[5].exists() and scene.paths[6].exists()
    assert report.moved == ["g-same:13"]
    # and a plan made now does not propose the copy of a missing keeper at all
    again = build_plan(scene.groups, scene.items)
    assert "g-exact:2" not in {r["id"] for r in again["removals"]}
