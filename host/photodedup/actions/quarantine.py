"""Apply a plan by moving copies into a quarantine folder, and undo it exactly.

Nothing is deleted: a removed copy moves to ``<quarantine>/<source>-<hash>/<relative
path>`` with everything that belongs to it (Live Photo video, RAW, sidecars), and
``undo`` moves it back with the same bytes, mode and timestamps.

Crash safety comes from a journal, ``manifest.jsonl`` (one JSON object per line, each
fsync'd): an ``intent`` line is written before a file moves and a ``done`` line after.
A move is one ``rename`` (atomic) or, across file systems, copy -> fsync -> verify the
BLAKE3 digest -> rename into place -> unlink the source. After a kill at any moment,
every file is therefore at its original path, in quarantine, or (across file systems)
verified in both; re-running ``apply`` finishes or skips each step, ``undo`` reverts it.
A unit (a photo and its parts) that cannot move completely is put back as a whole.

Before moving, every file's size and digest are checked against the plan: a file that
changed or vanished since the plan was reviewed is left alone and reported. Photos
library items are never touched here (see ``actions.applephotos``).

Test hook: ``PHOTODEDUP_TEST_APPLY_DELAY`` (seconds, float) sleeps after each journal
line, so tests can SIGKILL an apply mid-way on any machine. Never needed otherwise.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import shutil
import stat
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from blake3 import blake3

from photodedup.actions.durable import fsync_dir
from photodedup.actions.plan import (
    file_digest,
    in_photos_library,
    source_folder_name,
    validate_plan,
    write_plan,
)
from photodedup.actions.xmp import MergeOutcome, apply_merge, undo_merge

__all__ = [
    "DELAY_ENV",
    "MANIFEST_NAME",
    "ApplyReport",
    "QuarantineError",
    "UndoReport",
    "apply_plan",
    "default_quarantine_dir",
    "undo",
]

MANIFEST_NAME = "manifest.jsonl"
PLAN_COPY = "plan.json"
BACKUP_DIR = "backup"
DELAY_ENV = "PHOTODEDUP_TEST_APPLY_DELAY"
_LOCK = ".lock"
_PARTIAL = ".photodedup-partial"
_FREE_MARGIN = 64 << 20  # leave this much free on the quarantine's disk


class QuarantineError(RuntimeError):
    """The quarantine cannot be used (another plan's, locked, or its manifest is damaged)."""


@dataclass(slots=True)
class ApplyReport:
    plan_id: str
    quarantine: str
    manifest: str
    moved: list[str] = field(default_factory=list)  # removal ids moved by this run
    already: list[str] = field(default_factory=list)  # moved by an earlier run
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (removal id, why)
    photos: list[str] = field(default_factory=list)  # removals only Photos can do
    merges: list[MergeOutcome] = field(default_factory=list)
    files_moved: int = 0
    bytes_moved: int = 0

    @property
    def ok(self) -> bool:
        return not self.skipped and all(m.ok for m in self.merges)


@dataclass(slots=True)
class UndoReport:
    quarantine: str
    restored: list[str] = field(default_factory=list)  # original paths put back now
    already: list[str] = field(default_factory=list)  # already at their original path
    conflicts: list[tuple[str, str]] = field(default_factory=list)  # (path, why): left in quarantine
    missing: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    merges_restored: list[str] = field(default_factory=list)
    merge_conflicts: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.conflicts or self.missing or self.merge_conflicts)


def default_quarantine_dir(plan: dict) -> Path:
    """``<store folder>/quarantine/<plan id>``: one per plan, so re-applying finds its journal."""
    store = plan.get("store")
    if store:
        base = Path(store).parent
    else:
        import platformdirs

        base = Path(platformdirs.user_data_dir("photodedup", appauthor=False))
    return base / "quarantine" / plan["id"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _delay() -> None:
    d = os.environ.get(DELAY_ENV)
    if d:
        time.sleep(float(d))


# -- the journal ----------------------------------------------------------------------
class _Manifest:
    """Append-only JSON lines; the current state of a file is its last line."""

    def __init__(self, path: Path):
        self.path = path
        self.events: list[dict] = []
        data = path.read_bytes() if path.exists() else b""
        lines = data.split(b"\n")
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            try:
                self.events.append(json.loads(line))
            except json.JSONDecodeError as e:
                if i == len(lines) - 1:
                    # Torn by a kill mid-write: its action never started (it comes after
                    # the fsync), so the fragment is dropped from the journal.
                    os.truncate(path, len(data) - len(line))
                    data = data[: len(data) - len(line)]
                    continue
                raise QuarantineError(f"{path} line {i + 1} is damaged: {e}") from e
        self._f = open(path, "ab")  # noqa: SIM115 - kept open for the whole run
        if data and not data.endswith(b"\n"):
            self._f.write(b"\n")

    def write(self, event: dict) -> None:
        event = {**event, "t": _now()}
        self._f.write(json.dumps(event).encode("ascii") + b"\n")
        self._f.flush()
        os.fsync(self._f.fileno())
        self.events.append(event)
        _delay()

    def close(self) -> None:
        self._f.close()

    def header(self) -> dict | None:
        return next((e for e in self.events if e.get("op") == "plan"), None)

    def moves(self) -> dict[tuple[str, str], dict]:
        """(removal id, src) -> last intent with ``state`` set to the file's last state."""
        out: dict[tuple[str, str], dict] = {}
        for e in self.events:
            if e.get("op") != "move":
                continue
            key = (e["rid"], e["src"])
            if e["state"] == "intent":
                out.pop(key, None)  # re-insert: keeps journal order of the latest intent
                out[key] = dict(e)
            elif key in out:
                out[key]["state"] = e["state"]
        return out

    def merges(self) -> dict[str, dict]:
        """target -> last intent, with the done line's ``after`` and the last state."""
        out: dict[str, dict] = {}
        for e in self.events:
            if e.get("op") != "merge":
                continue
            t = e["target"]
            if e["state"] == "intent":
                out.pop(t, None)
                out[t] = dict(e)
            elif t in out:
                out[t]["state"] = e["state"]
                if e.get("after"):
                    out[t]["after"] = e["after"]
        return out


@contextmanager
def _opened(q: Path) -> Iterator[_Manifest]:
    """The quarantine's manifest, with an exclusive lock (released by the OS on a kill)."""
    q.mkdir(parents=True, exist_ok=True)
    lock = open(q / _LOCK, "a+b")  # noqa: SIM115
    try:
        try:
            import fcntl

            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except ImportError:  # pragma: no cover - Windows: no concurrent runs expected
            pass
        except OSError as e:
            raise QuarantineError(f"another photodedup apply or undo is using {q}") from e
        m = _Manifest(q / MANIFEST_NAME)
        try:
            yield m
        finally:
            m.close()
    finally:
        lock.close()


# -- moving one file ------------------------------------------------------------------
def _digest(path: str) -> str:
    return file_digest(path)[1]


def _copy_verified(src: str, dst: Path, digest: str) -> None:
    """Copy to a temp name beside ``dst``, fsync, check both digests, then rename into place."""
    tmp = dst.with_name(f".{dst.name}{_PARTIAL}")
    h = blake3()
    with open(src, "rb") as fi, open(tmp, "wb") as fo:
        while block := fi.read(1 << 20):
            h.update(block)
            fo.write(block)
        fo.flush()
        os.fsync(fo.fileno())
    if h.hexdigest() != digest or _digest(str(tmp)) != digest:
        tmp.unlink()
        raise QuarantineError(f"{src}: the copy does not match the planned digest")
    shutil.copystat(src, tmp)  # mode, atime/mtime to the nanosecond, extended attributes
    if os.path.lexists(dst):
        tmp.unlink()
        raise QuarantineError(f"{dst} appeared while copying")
    os.rename(tmp, dst)
    fsync_dir(dst.parent)


def _move(src: str, dst: Path, digest: str) -> None:
    """Move without ever overwriting and without a moment where the bytes exist nowhere."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(dst):
        # Only after a kill between the copy and the unlink of a cross-device move.
        if _digest(str(dst)) != digest:
            raise QuarantineError(f"{dst} holds other bytes than {src}")
        os.unlink(src)
        fsync_dir(os.path.dirname(src))
        return
    try:
        os.rename(src, dst)  # dst is absent and the quarantine is ours: nothing is replaced
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise
        _copy_verified(src, dst, digest)
        os.unlink(src)
    fsync_dir(dst.parent)
    fsync_dir(os.path.dirname(src))


def _move_back(dst: str, src: str, e: dict) -> None:
    """Undo one move: same protocol the other way, then the recorded timestamps."""
    parent = os.path.dirname(src)
    os.makedirs(parent, exist_ok=True)
    try:
        os.rename(dst, src)  # the caller saw nothing at src
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
        _copy_verified(dst, Path(src), e["blake3"])
        os.unlink(dst)
    os.utime(src, ns=(e["atime_ns"], e["mtime_ns"]), follow_symlinks=False)
    fsync_dir(parent)
    fsync_dir(os.path.dirname(dst))


# -- apply --------------------------------------------------------------------------------
def _dest(q: Path, removal: dict, path: str) -> Path:
    src = removal["source"]
    root = src.get("root") or os.path.dirname(path)
    if src.get("kind") == "file" or os.path.isfile(root):
        rel = os.path.basename(path)
    else:
        rel = os.path.relpath(path, root)
        if rel.startswith(".."):  # not under its source root (should not happen): keep it findable
            rel = os.path.join("_outside", path.lstrip(os.sep))
    return q / source_folder_name(root) / rel


def _files(r: dict) -> list[dict]:
    main = {"path": r["path"], "size": r["size"], "blake3": r["blake3"], "role": "main"}
    parts = [{**c, "role": c.get("role") or "companion"} for c in r["companions"]]
    sidecars = [{**s, "role": "sidecar"} for s in r["sidecars"]]
    return [main, *parts, *sidecars]


def apply_plan(
    plan: dict,
    quarantine_dir: str | os.PathLike[str] | None = None,
    *,
    on_progress: Callable[[int, int, str], None] | None = None,
    exiftool: str | None = None,
) -> ApplyReport:
    """Merge metadata into keepers, then move every quarantine removal; safe to re-run."""
    validate_plan(plan)
    q = Path(quarantine_dir) if quarantine_dir else default_quarantine_dir(plan)
    report = ApplyReport(plan["id"], str(q), str(q / MANIFEST_NAME))
    with _opened(q) as m:
        header = m.header()
        if header is None:
            if not (q / PLAN_COPY).exists():
                write_plan(plan, q / PLAN_COPY)
            m.write({"op": "plan", "plan": plan["id"], "version": 1, "plan_file": PLAN_COPY})
        elif header["plan"] != plan["id"]:
            raise QuarantineError(
                f"{q} holds the journal of plan {header['plan']}; use another quarantine folder "
                f"for plan {plan['id']} (or undo that one first)"
            )
        failed_keepers = _merges(plan, m, q / BACKUP_DIR, report, exiftool)
        removals = [r for r in plan["removals"] if r["action"] == "quarantine"]
        report.photos = [r["id"] for r in plan["removals"] if r["action"] == "photos"]
        moves = m.moves()
        merged = {t: e.get("after", {}).get("blake3") for t, e in m.merges().items() if e["state"] == "done"}
        keepers: dict[str, str | None] = {}
        for n, r in enumerate(removals, 1):
            if r["keeper"] in failed_keepers:
                report.skipped.append((r["id"], "its keeper could not take the metadata of this copy"))
            elif why := _keeper_gone(r, keepers, merged):
                report.skipped.append((r["id"], why))
            else:
                _apply_removal(r, q, m, moves, report)
            if on_progress:
                on_progress(n, len(removals), r["path"])
    return report


def _merges(plan: dict, m: _Manifest, backup: Path, report: ApplyReport, exiftool: str | None) -> set[int]:
    failed: set[int] = set()
    states = m.merges()
    for merge in plan["merge"]:
        if merge["target"] not in ("xmp", "file"):
            continue
        target = merge["sidecar"] if merge["target"] == "xmp" else merge["path"]
        state = states.get(target)
        if state and state["state"] == "undone":
            state = None
        outcome = apply_merge(merge, m, backup, state, exiftool=exiftool)
        report.merges.append(outcome)
        if not outcome.ok:
            failed.add(merge["keeper"])
    return failed


@functools.lru_cache(maxsize=4096)
def _library_dir(folder: str) -> bool:
    """True when ``folder`` or a parent is a Photos library, whatever the bundle is called."""
    if os.path.isfile(os.path.join(folder, "database", "Photos.sqlite")):
        return True
    parent = os.path.dirname(folder)
    return parent != folder and _library_dir(parent)


def _keeper_gone(r: dict, cache: dict[str, str | None], merged: dict[str, str | None]) -> str | None:
    """Why the keeper cannot be trusted to hold the photo any more (None: it can).

    Its copy only leaves while the keeper is on disk with the planned bytes, or the
    bytes photodedup itself gave it when embedding metadata.
    """
    k = r.get("keeper_file")
    if not k:
        return None  # a Photos asset: Photos (and iCloud) hold it
    path = k["path"]
    if path not in cache:
        try:
            cache[path] = _digest(path) if os.path.isfile(path) else None
        except OSError:
            cache[path] = None
    now = cache[path]
    if now is None:
        return f"the keeper {path} is missing: its copy stays"
    if now not in (k["blake3"], merged.get(path)):
        return f"the keeper {path} changed since the plan: its copy stays"
    return None


def _check(f: dict) -> str | None:
    """Why this file must not move now, or None when it is exactly what the plan saw."""
    path = f["path"]
    if in_photos_library(path) or _library_dir(os.path.dirname(os.path.abspath(path))):
        return f"{path} is inside a Photos library"
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return f"{path} is missing"
    if stat.S_ISLNK(st.st_mode):
        return f"{path} is a symbolic link now"
    if not stat.S_ISREG(st.st_mode):
        return f"{path} is not a regular file"
    if st.st_size != f["size"] or _digest(path) != f["blake3"]:
        return f"{path} changed since the plan"
    return None


def _apply_removal(r: dict, q: Path, m: _Manifest, moves: dict, report: ApplyReport) -> None:
    files = _files(r)
    moved, todo, problems = [], [], []
    for f in files:
        dst = _dest(q, r, f["path"])
        state = moves.get((r["id"], f["path"]))
        recorded = state is not None and state["state"] in ("intent", "done")
        src_there, dst_there = os.path.lexists(f["path"]), os.path.lexists(dst)
        if recorded and dst_there and not src_there:
            moved.append((f, dst, state))
            continue
        if dst_there and not recorded:
            problems.append(f"{dst} is already taken in the quarantine")
            continue
        why = _check(f)
        if why:
            problems.append(why)
        else:
            todo.append((f, dst))
    if problems:
        if moved:
            for f, dst, state in moved:  # keep the unit whole: put back what already moved
                _move_back(str(dst), f["path"], state)
                m.write({"op": "move", "state": "undone", "rid": r["id"], "src": f["path"]})
            problems.append("the parts already moved were put back")
        report.skipped.append((r["id"], "; ".join(problems)))
        return
    for f, _dst, state in moved:
        if state["state"] != "done":
            m.write({"op": "move", "state": "done", "rid": r["id"], "src": f["path"]})
    if not todo:
        report.already.append(r["id"])
        return
    need = sum(f["size"] for f, _ in todo)
    if not _same_device(todo[0][0]["path"], q) and _free(q) < need + _FREE_MARGIN:
        report.skipped.append((r["id"], f"not enough free space in {q} for {need} bytes"))
        return
    for f, dst in todo:
        st = os.stat(f["path"])
        intent = {
            "op": "move",
            "state": "intent",
            "rid": r["id"],
            "src": f["path"],
            "dst": str(dst),
            "role": f["role"],
            "size": f["size"],
            "blake3": f["blake3"],
            "mode": st.st_mode,
            "mtime_ns": st.st_mtime_ns,
            "atime_ns": st.st_atime_ns,
        }
        m.write(intent)
        _move(f["path"], dst, f["blake3"])
        m.write({"op": "move", "state": "done", "rid": r["id"], "src": f["path"]})
        report.files_moved += 1
        report.bytes_moved += f["size"]
    report.moved.append(r["id"])


def _same_device(path: str, q: Path) -> bool:
    try:
        return os.stat(os.path.dirname(path)).st_dev == os.stat(q).st_dev
    except OSError:
        return False


def _free(q: Path) -> int:
    try:
        return shutil.disk_usage(q).free
    except OSError:
        return 0


# -- undo ---------------------------------------------------------------------------------
def undo(manifest_or_quarantine_dir: str | os.PathLike[str]) -> UndoReport:
    """Put every quarantined file back and revert every merge; safe to re-run after a kill.

    A file that has reappeared at an original path with other bytes is never overwritten:
    it is reported, and the quarantined copy stays where it is.
    """
    target = Path(manifest_or_quarantine_dir)
    q = target.parent if target.is_file() else target
    if not (q / MANIFEST_NAME).exists():
        raise QuarantineError(f"no {MANIFEST_NAME} in {q}: nothing photodedup applied there")
    report = UndoReport(str(q))
    with _opened(q) as m:
        for e in reversed(list(m.moves().values())):
            if e["state"] in ("intent", "done"):
                _undo_move(e, m, report)
        for e in reversed(list(m.merges().values())):
            if e["state"] in ("intent", "done"):
                status, detail = undo_merge(e, m)
                if status == "conflict":
                    report.merge_conflicts.append((e["target"], detail))
                elif status == "restored":
                    report.merges_restored.append(detail)
        _prune_empty(q)
    return report


def _undo_move(e: dict, m: _Manifest, report: UndoReport) -> None:
    src, dst = e["src"], e["dst"]
    undone = {"op": "move", "state": "undone", "rid": e["rid"], "src": src}
    src_there, dst_there = os.path.lexists(src), os.path.lexists(dst)
    if dst_there and not src_there:
        _move_back(dst, src, e)
        m.write(undone)
        report.restored.append(src)
        return
    if not src_there:
        report.missing.append((src, f"neither at its original path nor in quarantine ({dst})"))
        return
    same = _digest(src) == e["blake3"]
    if dst_there:
        if same and _digest(dst) == e["blake3"]:
            # Both hold the same bytes (a kill mid cross-device move): the quarantine copy is spare.
            os.unlink(dst)
            os.utime(src, ns=(e["atime_ns"], e["mtime_ns"]), follow_symlinks=False)
            m.write(undone)
            report.restored.append(src)
        else:
            report.conflicts.append((src, f"another file is at the original path; the copy stays at {dst}"))
        return
    if same:  # never moved (killed after the intent line) or put back by an earlier undo
        m.write(undone)
        report.already.append(src)
    else:
        report.missing.append((src, f"another file is at the original path and {dst} is gone"))


def _prune_empty(q: Path) -> None:
    """Remove our own partial copies and the empty folders the moves left in the quarantine."""
    for dirpath, _dirs, files in sorted(os.walk(q), key=lambda t: -len(t[0])):
        for name in files:
            if name.startswith(".") and name.endswith(_PARTIAL):
                with suppress(OSError):
                    os.unlink(os.path.join(dirpath, name))
        if Path(dirpath) != q:
            with suppress(OSError):
                os.rmdir(dirpath)
