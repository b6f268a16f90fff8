"""The scan: sources -> work units -> worker processes -> batched writes to the store.

Incremental and resumable by construction: a unit whose key, size and mtime (or
library uuid and modification date) are already in the store is only stamped as
seen; everything else is fingerprinted by a pool of worker processes and written
in small transactions, so after a kill the same command carries on from the last
batch. Content already fingerprinted elsewhere (a moved, renamed or copied file) is
recognised by its digest and never decoded again.
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from photodedup._types import AssetRecord, FileFingerprint
from photodedup.fingerprint.file import FingerprintOptions, fingerprint_path
from photodedup.store.db import Store
from photodedup.store.schema import FINGERPRINT_COLUMNS

__all__ = ["ScanOptions", "ScanReport", "ScanUsageError", "classify", "scan"]


class ScanUsageError(Exception):
    """A PATH the scan cannot start from (missing, not a folder, library or media file)."""


@dataclass(slots=True)
class ScanOptions:
    fingerprint: FingerprintOptions = field(default_factory=FingerprintOptions)
    workers: int | None = None  # None: every core; 1: in this process
    json_log: TextIO | None = None
    batch_seconds: float = 1.0
    batch_size: int = 256


@dataclass(slots=True)
class ScanReport:
    scan_id: int = 0
    seen: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    moved: int = 0
    reused: int = 0
    failed: int = 0
    gone: int = 0
    assets: int = 0
    not_on_disk: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)

    def counts(self) -> dict:
        d = asdict(self)
        d.pop("failures")
        return d


@dataclass(slots=True)
class Unit:
    """One thing to record: a file to fingerprint, or a row ready as it is."""

    key: bytes
    source_id: int
    kind: str
    path: str | None
    size: int | None = None
    mtime_ns: int | None = None
    role: str | None = None
    uuid: str | None = None
    parent_key: bytes | None = None
    asset_modified: str | None = None
    meta: dict | None = None
    preset: dict = field(default_factory=dict)  # columns known without reading the file
    fingerprint: bool = True


# -- classifying inputs -------------------------------------------------------------
def classify(path: str) -> tuple[str, str]:
    """(kind, root) for a PATH given on the command line."""
    from photodedup.sources.applephotos import is_photos_library, library_root
    from photodedup.sources.takeout import is_takeout

    if not os.path.lexists(path):
        raise ScanUsageError(f"{path}: no such file or folder")
    if is_photos_library(path):
        return "photos_library", str(library_root(path))
    if os.path.isdir(path):
        if is_takeout(path):
            return "takeout", os.path.abspath(path)
        return "folder", os.path.abspath(path)
    if os.path.isfile(path):
        return "file", os.path.abspath(path)
    raise ScanUsageError(f"{path}: not a folder, Photos library or file")


def display(path: str) -> str:
    """A path a person (and JSON) can read; bytes that are not UTF-8 are shown escaped."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


# -- the scan -------------------------------------------------------------------------
def scan(
    paths: list[str],
    store: Store,
    options: ScanOptions | None = None,
    on_progress: Callable[[int, int, str], None] | None = None,
) -> ScanReport:
    options = options or ScanOptions()
    inputs = [classify(p) for p in paths]  # usage errors before any work
    report = ScanReport()
    scan_id = store.begin_scan({"paths": [display(p) for p in paths], "exact": options.fingerprint.exact})
    report.scan_id = scan_id
    writer = _Writer(store, scan_id, options, report)

    units: list[Unit] = []
    complete_sources: list[int] = []
    queue = list(inputs)
    while queue:
        kind, root = queue.pop(0)
        source_id = store.ensure_source(kind, display(root))
        found = _collect(kind, root, source_id, store, writer, queue)
        units.extend(found)
        if kind != "file":
            complete_sources.append(source_id)

    todo = [u for u in units if not writer.skip_if_unchanged(u)]
    writer.flush()
    total = len(todo)
    for done, fp_unit in enumerate(_run(todo, options, store), 1):
        writer.add_fingerprint(*fp_unit)
        if on_progress:
            on_progress(done, total, fp_unit[0].path or "")
    writer.flush(final=True)
    for source_id in complete_sources:
        report.gone += store.complete_source(source_id, scan_id)
    store.finish_scan(scan_id, report.counts())
    return report


def _collect(kind: str, root: str, source_id: int, store: Store, writer: _Writer, queue: list) -> list[Unit]:
    from photodedup.sources.folder import FoundFile, FoundLibrary, FoundTakeout, WalkError, walk

    if kind == "photos_library":
        return _library_units(root, source_id, store, writer)
    if kind == "file":
        st = os.stat(root)
        return [Unit(os.fsencode(root), source_id, "file", root, st.st_size, st.st_mtime_ns)]
    takeout_meta: dict[str, dict] = {}
    units: list[Unit] = []
    if kind == "takeout":
        units.extend(_takeout_units(root, source_id, takeout_meta))
    for found in walk(root, detect_collections=kind == "folder"):
        if isinstance(found, FoundFile):
            meta = takeout_meta.pop(os.path.abspath(found.path), None)
            units.append(
                Unit(
                    os.fsencode(found.path),
                    source_id,
                    "file",
                    found.path,
                    found.size,
                    found.mtime_ns,
                    meta=meta,
                )
            )
        elif isinstance(found, FoundLibrary):
            queue.append(("photos_library", os.path.abspath(found.path)))
        elif isinstance(found, FoundTakeout):
            queue.append(("takeout", os.path.abspath(found.path)))
        elif isinstance(found, WalkError):
            writer.fail(found.path, found.reason)
    for path, meta in takeout_meta.items():  # media the walk skips by name, e.g. Pixel "PXL_..MP"
        st = os.stat(path)
        units.append(Unit(os.fsencode(path), source_id, "file", path, st.st_size, st.st_mtime_ns, meta=meta))
    return units


def _takeout_units(root: str, source_id: int, takeout_meta: dict[str, dict]) -> list[Unit]:
    """Fill ``takeout_meta`` (media path -> what Takeout says of it); orphan sidecars become rows."""
    from photodedup.sources.takeout import read_takeout

    result = read_takeout(root)
    units = []
    for m in result.media:
        takeout_meta[os.path.abspath(m.path)] = {
            "takeout": asdict(m.sidecar) if m.sidecar else None,
            "takeout_album": m.album,
            "takeout_edited": m.is_edited_variant,
            "takeout_live_still": m.live_still_path,
        }
    for sc in result.orphans:
        st = os.stat(sc.sidecar_path)
        taken = sc.photo_taken_time
        units.append(
            Unit(
                os.fsencode(sc.sidecar_path),
                source_id,
                "sidecar",
                sc.sidecar_path,
                st.st_size,
                st.st_mtime_ns,
                meta={"takeout": asdict(sc)},
                preset={
                    "status": "no_media",
                    "media_type": "other",
                    "taken_at": datetime.fromtimestamp(taken, UTC).isoformat() if taken is not None else None,
                    "gps_lat": sc.latitude,
                    "gps_lon": sc.longitude,
                },
                fingerprint=False,
            )
        )
    return units


def _library_units(root: str, source_id: int, store: Store, writer: _Writer) -> list[Unit]:
    from photodedup.sources.applephotos import library_modified_key, read_library

    modified = library_modified_key(root)
    source = store.source(source_id)
    unchanged = source.get("modified_key") == modified and source.get("last_complete_scan_id")
    if unchanged and writer.options.fingerprint.motion_video and store.motion_pending(source_id):
        unchanged = False  # motion photos whose clips a --no-motion-video scan left: read the assets
    if unchanged:
        # Photos.sqlite is untouched since the last complete read, and Photos never changes
        # an original without writing to it: every asset is as it was.
        writer.flush()
        n = store.touch_source(source_id, writer.scan_id)
        writer.report.unchanged += n
        writer.report.seen += n
        if writer.options.json_log is not None:
            live = store.items("source_id = ? AND status != 'gone'", [source_id])
            writer.log_ids.extend(r["id"] for r in live)
        return []
    result = read_library(root)
    for uuid, reason in result.errors:
        writer.fail(f"{root} asset {uuid}", reason)
    units: list[Unit] = []
    for rec in result.assets:
        units.extend(_asset_units(root, source_id, rec))
        writer.report.assets += 1
    store.set_source_modified_key(source_id, modified)
    return units


def _asset_units(root: str, source_id: int, rec: AssetRecord) -> Iterator[Unit]:
    base = f"photos:{root}/{rec.uuid}".encode()
    marker = f"{rec.date_modified}|{rec.path is not None}"
    preset = {
        "taken_at": rec.date,
        "width": rec.width,
        "height": rec.height,
        "apple_fp": rec.fingerprint,
        "content_id": rec.content_id,
        "burst_id": rec.burst_uuid,
        "media_type": "video" if rec.is_movie else "image",
        "gps_lat": rec.latitude,
        "gps_lon": rec.longitude,
    }
    if rec.path:
        st = os.stat(rec.path)
        yield Unit(
            base,
            source_id,
            "asset",
            rec.path,
            st.st_size,
            st.st_mtime_ns,
            role="original",
            uuid=rec.uuid,
            asset_modified=marker,
            meta={"asset": asdict(rec)},
            preset=preset,
        )
    else:
        yield Unit(
            base,
            source_id,
            "asset",
            None,
            rec.original_filesize,
            None,
            role="original",
            uuid=rec.uuid,
            asset_modified=marker,
            meta={"asset": asdict(rec)},
            preset={**preset, "status": "not_on_disk", "size": rec.original_filesize},
            fingerprint=False,
        )
    parts = (
        ("edited", rec.path_edited),
        ("live_video", rec.path_live_video),
        ("edited_live_video", rec.path_edited_live_video),
        ("raw", rec.path_raw),
    )
    for role, path in parts:
        if path and os.path.exists(path):
            st = os.stat(path)
            yield Unit(
                base + f"#{role}".encode(),
                source_id,
                "asset_part",
                path,
                st.st_size,
                st.st_mtime_ns,
                role=role,
                uuid=rec.uuid,
                parent_key=base,
                asset_modified=marker,
            )


# -- running the workers --------------------------------------------------------------
_worker_conn: sqlite3.Connection | None = None
_worker_mode: str = "fast"


def _worker_init(db_path: str, exact: bool, in_process: bool = False) -> None:
    global _worker_conn, _worker_mode
    if not in_process:
        _die_with_parent()
    # Parallelism comes from the worker processes: nested thread pools only fight for the same cores.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        import pillow_heif

        pillow_heif.options.DECODE_THREADS = 1
    except ImportError:
        pass
    _worker_conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
    _worker_mode = "exact" if exact else "fast"
    if not in_process:
        # numpy usually comes loaded from the parent (fork), too late for the variable above to act.
        from photodedup.fingerprint.perceptual import single_blas_thread

        single_blas_thread()


def _reusable(blake3: str) -> bool:
    if _worker_conn is None:
        return False
    modes = ("exact",) if _worker_mode == "exact" else ("reduced", "full")
    try:
        row = _worker_conn.execute(
            "SELECT 1 FROM items WHERE blake3 = ? AND status IN ('ok','gone') "
            "AND (media_type != 'image' OR decode_mode IN (?, ?)) "
            "AND (media_type != 'video' OR video_hash IS NOT NULL) "
            "AND (motion_offset IS NULL OR motion_video_hash IS NOT NULL) "
            "AND (phash IS NULL OR phash_r90 IS NOT NULL) LIMIT 1",
            [blake3, modes[0], modes[-1]],
        ).fetchone()
    except sqlite3.Error:
        return False
    return row is not None


def _known_clip(blake3: str) -> str | None:
    """A stored video fingerprint of these clip bytes (another copy of the motion photo, or the clip
    extracted to a video file): the clip is then not decoded again."""
    if _worker_conn is None:
        return None
    try:
        row = _worker_conn.execute(
            "SELECT motion_video_hash FROM items WHERE motion_blake3 = ? AND motion_video_hash LIKE 'v%' "
            "UNION ALL SELECT video_hash FROM items WHERE blake3 = ? AND video_hash LIKE 'v%' LIMIT 1",
            [blake3, blake3],
        ).fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def _work(path: str, options: FingerprintOptions) -> FileFingerprint:
    return fingerprint_path(path, options, _reusable, _known_clip)


def _work_batch(paths: list[str], options: FingerprintOptions) -> list[FileFingerprint]:
    return [fingerprint_path(path, options, _reusable) for path in paths]


MAX_BATCH = 8
LOOKAHEAD = 64  # finished tasks held back at most while an earlier one (a long video, say) still runs
"""Files per worker task while many remain: each task costs the parent ~0.2 ms of CPU (pickling, pipes,
thread wake-ups), which on a 2-core machine is taken from the workers; a HEIC thumbnail is ~4 ms of work."""


def _batches(work: list[Unit], workers: int) -> Iterator[list[Unit]]:
    """Up to MAX_BATCH files per task, shrinking to one file per task for the last ones, so that no worker
    is left with a long batch while the others are idle."""
    start = 0
    while start < len(work):
        size = max(1, min(MAX_BATCH, (len(work) - start) // (workers * 4)))
        yield work[start : start + size]
        start += size


def _run(
    units: list[Unit], options: ScanOptions, store: Store
) -> Iterator[tuple[Unit, FileFingerprint | None]]:
    plain = [u for u in units if not u.fingerprint]
    for u in plain:
        yield u, None
    work = [u for u in units if u.fingerprint]
    if not work:
        return
    workers = options.workers or os.cpu_count() or 1
    if workers == 1 or len(work) < 4:
        _worker_init(str(store.path), options.fingerprint.exact, in_process=True)
        for u in work:
            yield u, _work(u.path, options.fingerprint)
        return
    from photodedup.fingerprint.perceptual import check_matrix_resize, one_blas_thread

    check_matrix_resize()  # once here (usually recalled from disk), not in every worker
    # Workers fork from this process with its OpenBLAS setting: one thread, or each would restart a pool of
    # spinning threads (the CLI sets OPENBLAS_NUM_THREADS=1 anyway; this covers scan() called as a library).
    with (
        one_blas_thread(),
        _gc_frozen(),
        ProcessPoolExecutor(
            max_workers=workers,
            initializer=_worker_init,
            initargs=(str(store.path), options.fingerprint.exact),
        ) as pool,
    ):
        # Results are handed on in the order the files were found, whatever order the workers finish in: the
        # store's ids (the keeper's last tie-break) then do not depend on scheduling. Tasks keep being
        # submitted while an earlier one is still running, up to LOOKAHEAD finished ones held back.
        queue: deque[tuple[Future, list[Unit]]] = deque()
        batches = _batches(work, workers)
        limit = workers * 2  # one task running and one waiting per worker
        more = True
        while True:
            running = sum(not fut.done() for fut, _ in queue)
            while more and running < limit and len(queue) < limit + LOOKAHEAD:
                batch = next(batches, None)
                if batch is None:
                    more = False
                    break
                queue.append((pool.submit(_work_batch, [u.path for u in batch], options.fingerprint), batch))
                running += 1
            if not queue:
                break
            while queue and queue[0][0].done():
                fut, batch = queue.popleft()
                yield from zip(batch, fut.result(), strict=True)
            if queue and not queue[0][0].done():
                wait([fut for fut, _ in queue if not fut.done()], return_when=FIRST_COMPLETED)


@contextmanager
def _gc_frozen() -> Iterator[None]:
    """Hide this process's objects from the garbage collector while the workers fork (they fork at the first
    submit): a collection in a worker would otherwise write to every inherited object's header and copy
    its memory page (~4,000 page copies per worker, ~5-15 ms of CPU on a 2-core machine)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _die_with_parent() -> None:
    """Linux: a worker dies with the scan (kill -9 of the scan must not leave orphans decoding)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


# -- writing --------------------------------------------------------------------------
class _Writer:
    """Accumulates rows and writes them in time- and size-bounded transactions."""

    def __init__(self, store: Store, scan_id: int, options: ScanOptions, report: ScanReport):
        self.store, self.scan_id, self.options, self.report = store, scan_id, options, report
        self.known = store.known()
        self.rows: list[dict] = []
        self.touched: list[int] = []
        self.moves: list[tuple[int, dict]] = []
        self.log_ids: list[int] = []
        self.last_flush = time.monotonic()
        self.mode_family = "exact" if options.fingerprint.exact else "fast"

    def fail(self, path: str, reason: str) -> None:
        self.report.failed += 1
        self.report.failures.append((display(path), reason))
        self._log({"path": display(path), "status": "error", "error": reason})

    def skip_if_unchanged(self, u: Unit) -> bool:
        self.report.seen += 1
        k = self.known.get(u.key)
        if k is None or k.status in ("error", "gone") or k.stale:
            return False
        if k.size != u.size or k.mtime_ns != u.mtime_ns or k.asset_modified != u.asset_modified:
            return False
        if u.fingerprint and k.decode_mode and _family(k.decode_mode) != self.mode_family:
            return False
        if u.fingerprint and k.motion_pending and self.options.fingerprint.motion_video:
            return False  # its clip was skipped (--no-motion-video): fingerprinted now
        self.report.unchanged += 1
        if u.preset.get("status") == "not_on_disk":
            self.report.not_on_disk += 1
        self.touched.append(k.id)
        if self.options.json_log is not None:
            self.log_ids.append(k.id)
        self._maybe_flush()
        return True

    def add_fingerprint(self, u: Unit, fp: FileFingerprint | None) -> None:
        row = self._base_row(u)
        row.update(u.preset)
        if fp is not None:
            row.update(_fingerprint_columns(fp))
            if fp.decode_mode == "reused":
                row.update(self._reused_columns(fp))
                self.report.reused += 1
            if fp.error:
                row["status"] = "error"
                self.report.failed += 1
                self.report.failures.append((display(u.path or ""), fp.error))
            meta = dict(u.meta or {})
            warnings = list(fp.warnings)
            stored_fp = u.preset.get("apple_fp")
            if stored_fp and fp.digests and fp.digests.apple_fingerprint != stored_fp:
                warnings.append(
                    "file differs from what Photos recorded at import (stored fingerprint differs)"
                )
                meta["photos_fingerprint"] = stored_fp
            if warnings:
                meta["warnings"] = warnings
            row["meta"] = json.dumps(meta) if meta else None
            row["status"] = row["status"] or "ok"
            if u.kind == "file" and self._moved(u, fp, row):
                return
        elif row.get("status") == "not_on_disk":
            self.report.not_on_disk += 1
        row["status"] = row["status"] or "ok"
        if u.key in self.known:
            self.report.updated += 1
        else:
            self.report.new += 1
        self.rows.append(row)
        self._maybe_flush()

    def _moved(self, u: Unit, fp: FileFingerprint, row: dict) -> bool:
        """A new path whose bytes belong to an item whose file is gone: the same item, moved."""
        if u.key in self.known or fp.error or fp.digests is None:
            return False
        for old in self.store.gone_items_with_digest(fp.digests.blake3, fp.size):
            old_path = os.fsdecode(old["key"])
            if old["key"] != u.key and not os.path.lexists(old_path):
                changes = {
                    c: row[c]
                    for c in ("key", "path", "source_id", "size", "mtime_ns", "status", "error", "meta")
                }
                # What this scan computed because the old row lacked it (a fingerprint a newer photodedup
                # adds, e.g. a motion photo's clip): kept, or the moved row would never get it.
                changes.update({c: row[c] for c in _FILLED_ON_MOVE if row.get(c) is not None})
                changes["last_scan_id"] = self.scan_id
                self.moves.append((old["id"], changes))
                self.known.pop(old["key"], None)
                self.report.moved += 1
                self.flush()  # a move must land before a later unit can claim the same old row
                return True
        return False

    def _reused_columns(self, fp: FileFingerprint) -> dict:
        src = self.store.fingerprint_by_digest(fp.digests.blake3, self.mode_family == "exact")
        if src is None:  # written by an earlier batch of this very scan and not visible? recompute later
            return {"status": "error", "error": "fingerprint to reuse disappeared; re-scan to recompute"}
        return {c: src[c] for c in FINGERPRINT_COLUMNS}

    def _base_row(self, u: Unit) -> dict:
        return {
            "key": u.key,
            "source_id": u.source_id,
            "kind": u.kind,
            "role": u.role,
            "parent_key": u.parent_key,
            "uuid": u.uuid,
            "path": display(u.path) if u.path else None,
            "size": u.size,
            "mtime_ns": u.mtime_ns,
            "status": None,
            "error": None,
            "asset_modified": u.asset_modified,
            "meta": json.dumps(u.meta) if u.meta else None,
            "last_scan_id": self.scan_id,
        }

    def _maybe_flush(self) -> None:
        if (
            len(self.rows) + len(self.touched) >= self.options.batch_size
            or time.monotonic() - self.last_flush >= self.options.batch_seconds
        ):
            self.flush()

    def flush(self, final: bool = False) -> None:
        if self.rows or self.touched or self.moves:
            rows, touched, moves = self.rows, self.touched, self.moves
            self.rows, self.touched, self.moves = [], [], []
            ids = self.store.write_batch(rows, touched, self.scan_id, moves)
            for key, item_id in ids.items():
                self.known.pop(key, None)
                if self.options.json_log is not None:
                    self.log_ids.append(item_id)
            if self.options.json_log is not None:
                self.log_ids.extend(m[0] for m in moves)
        self._write_log()
        self.last_flush = time.monotonic()

    def _write_log(self) -> None:
        if self.options.json_log is None or not self.log_ids:
            return
        ids, self.log_ids = self.log_ids, []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.store.items(f"id IN ({marks})", chunk):
                self._log(log_record(row))
        self.options.json_log.flush()

    def _log(self, record: dict) -> None:
        if self.options.json_log is not None:
            self.options.json_log.write(json.dumps(record, ensure_ascii=False) + "\n")


# Fingerprints an older store may lack for an item; a moved item takes them from this scan's reading.
_FILLED_ON_MOVE = ("video_hash", "motion_video_hash")


def _family(decode_mode: str) -> str:
    return "exact" if decode_mode == "exact" else "fast"


def _fingerprint_columns(fp: FileFingerprint) -> dict:
    out: dict = {
        "size": fp.size,
        "mtime_ns": fp.mtime_ns,
        "error": fp.error,
        "media_type": fp.media_type,
        "format": fp.format,
        "decode_mode": fp.decode_mode,
        "pixel_sig": fp.pixel_signature,
    }
    if fp.width:
        out["width"], out["height"] = fp.width, fp.height
    if fp.digests:
        out["blake3"] = fp.digests.blake3
        out["apple_fp"] = fp.digests.apple_fingerprint
    if fp.hashes:
        out.update(phash=fp.hashes.phash, ahash=fp.hashes.ahash, dhash=fp.hashes.dhash, whash=fp.hashes.whash)
    if fp.variants:
        out.update(zip(("phash_r90", "phash_r180", "phash_r270", "phash_trim"), fp.variants, strict=True))
    m = fp.image_meta
    if m is not None:
        for col in (
            "make",
            "model",
            "gps_lat",
            "gps_lon",
            "gps_alt",
            "orientation",
            "content_id",
            "burst_id",
        ):
            value = getattr(m, col)
            if value is not None:
                out[col] = value
        if m.taken_at:
            out["taken_at"], out["taken_offset"] = m.taken_at, m.taken_offset
            out["taken_subsec"] = m.taken_subsec
    if fp.motion is not None:
        out.update(_motion_columns(fp.motion))
    if fp.raw_preview is not None:
        p = fp.raw_preview
        out.update(raw_preview=p.source, raw_preview_width=p.width, raw_preview_height=p.height)
    v = fp.video_meta
    if v is not None:
        out.update(duration=v.duration, rotation=v.rotation, codec=v.codec, video_hash=fp.video_hash)
        for col in ("make", "model", "content_id"):
            if getattr(v, col):
                out[col] = getattr(v, col)
        if v.created_at:
            out["taken_at"] = v.created_at
    return out


def _motion_columns(mo) -> dict:
    """A motion photo's embedded video: where it is, its digests, and what its container says (JSON)."""
    meta: dict = {"found_by": mo.found_by}
    if mo.truncated:
        meta["truncated"] = True
    if mo.error:
        meta["error"] = mo.error
    if mo.meta is not None:
        v = mo.meta
        for key in ("duration", "width", "height", "rotation", "codec", "fps", "created_at"):
            if getattr(v, key) is not None:
                meta[key] = getattr(v, key)
    return {
        "motion_offset": mo.offset,
        "motion_length": mo.length,
        "motion_blake3": mo.blake3,
        "motion_still_blake3": mo.still_blake3,
        "motion_meta": json.dumps(meta),
        "motion_video_hash": mo.video_hash,
    }


# Everything a stored item knows that a person or a script may want, in the store's own column order.
LOG_FIELDS = (
    "id",
    "kind",
    "role",
    "uuid",
    "path",
    "status",
    "error",
    "size",
    "parent_id",
    *FINGERPRINT_COLUMNS,
)


def log_record(row: dict) -> dict:
    """One JSON-log line for a stored item: its fingerprints and metadata, or its error."""
    rec = {k: row[k] for k in LOG_FIELDS if row.get(k) is not None}
    if row.get("meta"):
        rec["meta"] = json.loads(row["meta"])
    if row.get("motion_meta"):
        rec["motion_meta"] = json.loads(row["motion_meta"])
    return rec
