"""The store as the host sees it: opened once, grouped once per store state, hashes held as arrays.

Grouping a library is the expensive step, and the popup, the page badges and the group detail all ask for
it. So the groups (and the pHash arrays ``match`` searches) are computed once and reused until the store
changes: ``PRAGMA data_version`` moves when any other connection commits (a scan, the CLI), a counter
moves when the host itself writes (a decision), and the keeper config's mtime is part of the key too.
While other processes keep changing the store (a long scan), the groups are recomputed at most once per
five times the last computation took: meanwhile the previous groups are served. Grouping runs in a worker
thread with its own connection, so ``match`` can answer before a huge library is grouped.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from photodedup.nativehost.protocol import HostError

__all__ = ["Grouping", "HashTable", "Library", "source_name"]

log = logging.getLogger(__name__)

_LIVE_IMAGES = (
    "status IN ('ok', 'not_on_disk') AND media_type = 'image' AND kind != 'sidecar' AND phash IS NOT NULL"
)
VARIANTS = ("r90", "r180", "r270", "trim")
DEDUPE_KINDS = ("exact", "same")
STALE_FACTOR = 5  # see Library.grouping


def source_name(root: str | None) -> str:
    """What a person calls a source: the folder, library or export name, never its whole path."""
    if not root:
        return ""
    return os.path.basename(root.rstrip("/\\")) or root


@dataclass(slots=True)
class Grouping:
    """``find_groups`` once, with the lookups the commands need."""

    groups: list  # photodedup.match.model.Group, largest first
    by_id: dict[str, object] = field(default_factory=dict)
    group_of_item: dict[int, str] = field(default_factory=dict)  # dedupe groups win over review groups
    names: dict[int, str] = field(default_factory=dict)  # keepers' names, for titles

    def index(self) -> None:
        self.by_id = {g.id: g for g in self.groups}
        for g in self.groups:
            for m in g.members:
                current = self.group_of_item.get(m.id)
                if current is None or (
                    g.kind in DEDUPE_KINDS and self.by_id[current].kind not in DEDUPE_KINDS
                ):
                    self.group_of_item[m.id] = g.id


@dataclass(slots=True)
class HashTable:
    """Every live image's pHash and its turned/trimmed pHashes, one contiguous uint64 row per kind.

    ``phashes[0]`` is the picture's own pHash, rows 1-4 its ``VARIANTS``; a variant the scan did not store
    repeats row 0, so a search can take the minimum over the rows without masks. Row-major (5, n) arrays
    with in-place XOR and popcount are ~15x faster than an (n, 5) block (measured: 3 vs 50 ms at 1 M items).
    """

    ids: object  # np.ndarray int64, ascending
    phashes: object  # (5, n) uint64


class Library:
    def __init__(self, db_path: Path):
        self.db_path = db_path
        self._store = None
        self._own_writes = 0
        self._grouping: tuple[tuple, Grouping, float, float] | None = None
        self._worker: _GroupingWorker | None = None
        self._hashes: tuple[int, HashTable, float, float] | None = None
        self.groupings_computed = 0  # for the log and the tests of the cache

    # -- the store ----------------------------------------------------------------------------------------
    @property
    def store(self):
        if self._store is None:
            from photodedup.store.db import Store, StoreError

            try:
                self._store = Store(self.db_path)
            except (StoreError, OSError) as e:
                raise HostError("unavailable", f"the photodedup store cannot be opened: {e}") from e
        return self._store

    def wrote(self) -> None:
        """The host changed the store itself (PRAGMA data_version only counts other connections)."""
        self._own_writes += 1

    def state(self) -> tuple:
        from photodedup.match.keeper import default_config_path

        version = self.store.db.execute("PRAGMA data_version").fetchone()[0]
        config = default_config_path()
        try:
            config_mtime = config.stat().st_mtime_ns
        except OSError:
            config_mtime = None
        return (version, self._own_writes, str(config), config_mtime)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- groups -------------------------------------------------------------------------------------------
    def _current(self, state: tuple) -> Grouping | None:
        """The cached groups if they stand for ``state``, or may still be served while a scan runs."""
        import time

        if self._grouping is None:
            return None
        seen, grouping, computed_at, took = self._grouping
        if seen == state:
            return grouping
        # Only other processes changed the store (a scan writing batch after batch): regroup at most once
        # per STALE_FACTOR computing times, so a long scan does not keep the host grouping.
        if seen[1:] == state[1:] and time.monotonic() - computed_at < STALE_FACTOR * took:
            return grouping
        return None

    def grouping(self) -> Grouping:
        """The groups for the store as it is now, waiting for them to be computed if need be."""
        for _ in range(3):  # a decision made while a computation ran needs one more
            state = self.state()
            current = self._current(state)
            if current is not None:
                return current
            worker = self._start_grouping(state)
            worker.join()
            if worker.error is not None:
                raise worker.error
        return self._grouping[1]

    def grouping_soon(self, wait: float) -> tuple[Grouping | None, bool]:
        """(groups, whether they are current) after waiting at most ``wait`` seconds for a computation;
        meanwhile the last groups computed (or None) and False. The computation goes on in the background."""
        state = self.state()
        current = self._current(state)
        if current is not None:
            return current, True
        worker = self._worker
        if worker is None or not worker.is_alive():
            worker = self._start_grouping(state)
        worker.join(wait)
        if worker.error is not None:
            log.warning("grouping failed: %s", worker.error)
        current = self._current(self.state())
        if current is not None:
            return current, True
        return (self._grouping[1] if self._grouping else None), False

    def _start_grouping(self, state: tuple) -> _GroupingWorker:
        worker = self._worker
        if worker is not None and worker.is_alive() and worker.state == state:
            return worker
        if worker is not None and worker.is_alive():
            worker.join()  # one computation at a time; its result may still serve
        self._worker = _GroupingWorker(self, state)
        self._worker.start()
        return self._worker

    def _compute_grouping(self, state: tuple) -> None:
        """Runs in the worker thread, with its own connection to the store."""
        import time

        from photodedup.match.engine import find_groups
        from photodedup.match.keeper import load_config
        from photodedup.store.db import Store

        try:
            config = load_config()
        except (ValueError, OSError) as e:
            raise HostError("unavailable", f"the keeper config cannot be used: {e}") from e
        started = time.monotonic()
        store = Store(self.db_path)
        try:
            groups = find_groups(store, keeper_config=config)
            groups.sort(key=lambda g: (-len(g.members), -g.reclaimable_bytes, g.id))
            grouping = Grouping(groups)
            grouping.index()
            keepers = {keeper_id(g) or g.members[0].id for g in groups}
            grouping.names = {r["id"]: item_name(r) for r in _rows(store, keepers)}
        finally:
            store.close()
        self.groupings_computed += 1
        took = time.monotonic() - started
        log.info(
            "grouped the store: %d groups in %.2f s (computation %d)",
            len(groups),
            took,
            self.groupings_computed,
        )
        # The state read before grouping: a commit that landed meanwhile is picked up next time.
        self._grouping = (state, grouping, time.monotonic(), took)

    def group(self, group_id: str):
        g = self.grouping().by_id.get(group_id)
        if g is None:
            raise HostError("not_found", f"no group {group_id} (the groups change when the library does)")
        return g

    # -- items --------------------------------------------------------------------------------------------
    def rows(self, ids: Iterable[int]) -> list[dict]:
        """Store rows of these items, any status."""
        return _rows(self.store, ids)

    def row(self, item_id: int) -> dict:
        rows = self.rows([item_id])
        if not rows:
            raise HostError("not_found", f"no item #{item_id} in the library")
        return rows[0]

    def sources(self) -> dict[int, dict]:
        return {s["id"]: s for s in self.store.db.query("SELECT * FROM sources ORDER BY id")}

    # -- hashes -------------------------------------------------------------------------------------------
    def hash_table(self) -> HashTable:
        import time

        # Only other connections (scans) change hashes; the host's own writes are decisions and jobs.
        state = self.store.db.execute("PRAGMA data_version").fetchone()[0]
        if self._hashes is not None:
            seen, table, read_at, took = self._hashes
            if seen == state or time.monotonic() - read_at < STALE_FACTOR * took:
                return table
        started = time.monotonic()
        import numpy as np

        from photodedup.match.engine import hex_column

        columns = ["phash", *(f"phash_{v}" for v in VARIANTS)]
        rows = self.store.db.execute(
            f"SELECT id, {', '.join(columns)} FROM items WHERE {_LIVE_IMAGES} ORDER BY id"
        ).fetchall()
        n = len(rows)
        ids = np.fromiter((r[0] for r in rows), np.int64, n)
        phashes = np.zeros((len(columns), n), np.uint64)
        phashes[0], _ = hex_column([r[1] for r in rows])
        for c in range(1, len(columns)):
            values, present = hex_column([r[c + 1] for r in rows])
            phashes[c] = np.where(present, values, phashes[0])
        table = HashTable(ids, phashes)
        del rows
        self._hashes = (state, table, time.monotonic(), time.monotonic() - started)
        return table


def _rows(store, ids: Iterable[int]) -> list[dict]:
    """Store rows of these items, any status (one query per 50,000 ids)."""
    ids = sorted({int(i) for i in ids})
    out: list[dict] = []
    for k in range(0, len(ids), 50_000):
        chunk = json.dumps(ids[k : k + 50_000])
        out.extend(store.items("id IN (SELECT value FROM json_each(?))", [chunk]))
    return out


class _GroupingWorker(threading.Thread):
    """One grouping computation off the main thread, so a request need not wait for all of it."""

    def __init__(self, library: Library, state: tuple):
        super().__init__(name="grouping", daemon=True)
        self.library, self.state = library, state
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.library._compute_grouping(self.state)
        except BaseException as e:  # handed to whoever waits for the groups
            self.error = e


def item_name(row: dict) -> str:
    """The file name a person knows (a Photos asset's original name), never a path."""
    if row.get("kind") == "asset" and row.get("meta"):
        try:
            original = (json.loads(row["meta"]).get("asset") or {}).get("original_filename")
        except ValueError:
            original = None
        if original:
            return str(original)
    path = row.get("path") or ""
    return os.path.basename(path) or (row.get("uuid") or f"item {row['id']}")


_PROTECTED = "kept: part of a Photos asset"


def keeper_id(group) -> int | None:
    """The copy the keeper rules chose, in groups that propose removals; None in review-only groups."""
    if group.kind not in DEDUPE_KINDS:
        return None
    kept = [m for m in group.members if m.keep]
    chosen = [m for m in kept if not m.reason.startswith(_PROTECTED)] or kept
    return chosen[0].id if chosen else None
