"""The fingerprint store: one SQLite file through sqlite-utils, WAL, batched writes.

Every write the scanner makes goes through ``Store.write_batch`` in one
transaction, so a scan killed at any moment leaves the store exactly as it was
after the last finished batch: nothing half-written, nothing recorded twice
(items are keyed by a unique ``key``), and a re-run only redoes what was lost.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlite_utils

from photodedup.store.schema import FINGERPRINT_COLUMNS, MIGRATIONS, SCHEMA_VERSION

__all__ = ["DB_ENV", "Known", "Store", "StoreError", "default_db_path"]

DB_ENV = "PHOTODEDUP_DB"

ITEM_COLUMNS = (
    "key",
    "source_id",
    "kind",
    "role",
    "parent_key",
    "uuid",
    "path",
    "size",
    "mtime_ns",
    "status",
    "error",
    *[c for c in FINGERPRINT_COLUMNS],
    "asset_modified",
    "meta",
    "last_scan_id",
)


class StoreError(Exception):
    """The store cannot be used (newer schema, not a photodedup store, unwritable)."""


def default_db_path() -> Path:
    """``$PHOTODEDUP_DB``, else the platform's per-user data folder."""
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("photodedup", appauthor=False)) / "photodedup.db"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Known:
    """What the store remembers of an item, enough to decide whether to redo it."""

    id: int
    size: int | None
    mtime_ns: int | None
    status: str
    decode_mode: str | None
    asset_modified: str | None
    stale: bool = False  # fingerprinted by an older photodedup that lacked some hashes
    motion_pending: bool = False  # a motion photo whose clip has no video fingerprint yet (--no-motion-video)


class Store:
    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self.db = sqlite_utils.Database(conn)
            self.db.enable_wal()
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"cannot use {self.path} as a photodedup store: {e}") from e

    # -- schema -----------------------------------------------------------------
    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has schema version {version}, newer than this photodedup "
                f"understands ({SCHEMA_VERSION}); upgrade photodedup"
            )
        for number in range(version, SCHEMA_VERSION):
            with self.db.atomic():
                for statement in _split_sql(MIGRATIONS[number]):
                    self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={number + 1}")

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        self.db.close()

    # -- sources and scans ------------------------------------------------------
    def ensure_source(self, kind: str, root: str) -> int:
        with self.db.atomic():
            row = self.db.execute("SELECT id, kind FROM sources WHERE root = ?", [root]).fetchone()
            if row:
                if row[1] != kind:
                    self.db.execute("UPDATE sources SET kind = ? WHERE id = ?", [kind, row[0]])
                return row[0]
            cur = self.db.execute("INSERT INTO sources (kind, root) VALUES (?, ?)", [kind, root])
            return cur.lastrowid

    def source(self, source_id: int) -> dict:
        return next(self.db.query("SELECT * FROM sources WHERE id = ?", [source_id]))

    def set_source_modified_key(self, source_id: int, key: str | None) -> None:
        self.db.execute("UPDATE sources SET modified_key = ? WHERE id = ?", [key, source_id])

    def begin_scan(self, args: dict) -> int:
        # A scan still marked running was killed: say so instead of leaving it dangling.
        self.db.execute("UPDATE scans SET status = 'interrupted' WHERE status = 'running'")
        cur = self.db.execute(
            "INSERT INTO scans (started, status, args) VALUES (?, 'running', ?)",
            [now(), json.dumps(args)],
        )
        return cur.lastrowid

    def finish_scan(self, scan_id: int, counts: dict) -> None:
        self.db.execute(
            "UPDATE scans SET finished = ?, status = 'complete', counts = ? WHERE id = ?",
            [now(), json.dumps(counts), scan_id],
        )

    def complete_source(self, source_id: int, scan_id: int) -> int:
        """Mark items of a fully walked source that this scan did not see as gone."""
        with self.db.atomic():
            cur = self.db.execute(
                "UPDATE items SET status = 'gone' WHERE source_id = ? AND status != 'gone' "
                "AND (last_scan_id IS NULL OR last_scan_id != ?)",
                [source_id, scan_id],
            )
            self.db.execute(
                "UPDATE sources SET last_scan_id = ?, last_complete_scan_id = ? WHERE id = ?",
                [scan_id, scan_id, source_id],
            )
            return cur.rowcount

    # -- items --------------------------------------------------------------------
    def known(self, source_id: int | None = None) -> dict[bytes, Known]:
        """Every item's key and change markers, for the incremental check."""
        sql = (
            "SELECT key, id, size, mtime_ns, status, decode_mode, asset_modified, "
            "phash IS NOT NULL AND phash_r90 IS NULL, "
            "motion_offset IS NOT NULL AND motion_video_hash IS NULL FROM items"
        )
        params: list = []
        if source_id is not None:
            sql += " WHERE source_id = ?"
            params.append(source_id)
        return {
            bytes(r[0]): Known(*r[1:7], stale=bool(r[7]), motion_pending=bool(r[8]))
            for r in self.db.execute(sql, params)
        }

    def fingerprint_by_digest(self, blake3: str, exact: bool) -> dict | None:
        """A finished item with these bytes, whose fingerprints can be copied instead of decoding."""
        modes = ("exact", "exact") if exact else ("reduced", "full")
        rows = self.db.execute(
            "SELECT * FROM items WHERE blake3 = ? AND status IN ('ok', 'gone') "
            "AND (media_type != 'image' OR decode_mode IN (?, ?)) "
            "AND (media_type != 'video' OR video_hash IS NOT NULL) "
            "AND (motion_offset IS NULL OR motion_video_hash IS NOT NULL) "
            "AND (phash IS NULL OR phash_r90 IS NOT NULL) "
            "ORDER BY status = 'gone', id LIMIT 1",
            [blake3, *modes],
        )
        cols = [d[0] for d in rows.description]
        row = rows.fetchone()
        return dict(zip(cols, row, strict=True)) if row else None

    def touch_source(self, source_id: int, scan_id: int) -> int:
        """Stamp every live item of a source as seen (a library whose database did not change)."""
        cur = self.db.execute(
            "UPDATE items SET last_scan_id = ? WHERE source_id = ? AND status != 'gone'", [scan_id, source_id]
        )
        return cur.rowcount

    def motion_pending(self, source_id: int) -> bool:
        """Whether a live motion photo of this source still lacks its clip's video fingerprint."""
        row = self.db.execute(
            "SELECT 1 FROM items WHERE source_id = ? AND motion_offset IS NOT NULL "
            "AND motion_video_hash IS NULL AND status = 'ok' LIMIT 1",
            [source_id],
        ).fetchone()
        return row is not None

    def gone_items_with_digest(self, blake3: str, size: int) -> list[dict]:
        return list(
            self.db.query(
                "SELECT id, key, path FROM items WHERE blake3 = ? AND size = ? AND kind = 'file'",
                [blake3, size],
            )
        )

    def write_batch(
        self,
        rows: Iterable[dict],
        touched: Iterable[int] = (),
        scan_id: int | None = None,
        moves: Iterable[tuple[int, dict]] = (),
    ) -> dict[bytes, int]:
        """Upsert items by key and stamp unchanged ones as seen, in one transaction.

        ``moves`` re-key existing rows (a file renamed or moved keeps its id).
        Returns the ids of the upserted keys.
        """
        ids: dict[bytes, int] = {}
        cols = ", ".join(ITEM_COLUMNS)
        marks = ", ".join("?" for _ in ITEM_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in ITEM_COLUMNS if c != "key")
        sql = (
            f"INSERT INTO items ({cols}, first_scan_id) VALUES ({marks}, ?) "
            f"ON CONFLICT(key) DO UPDATE SET {updates} RETURNING id"
        )
        with self.db.atomic():
            for item_id, row in moves:
                sets = ", ".join(f"{c} = ?" for c in row)
                self.db.execute(f"UPDATE items SET {sets} WHERE id = ?", [*row.values(), item_id])
            for row in rows:
                values = [row.get(c) for c in ITEM_COLUMNS]
                item_id = self.db.execute(sql, [*values, row.get("last_scan_id")]).fetchone()[0]
                ids[row["key"]] = item_id
            self.db.execute(
                "UPDATE items SET parent_id = (SELECT p.id FROM items p WHERE p.key = items.parent_key) "
                "WHERE parent_key IS NOT NULL AND parent_id IS NULL"
            )
            touched = list(touched)
            if touched and scan_id is not None:
                for chunk in _chunks(touched, 500):
                    marks = ",".join("?" * len(chunk))
                    self.db.execute(
                        f"UPDATE items SET last_scan_id = ? WHERE id IN ({marks})", [scan_id, *chunk]
                    )
        return ids

    # -- decisions ----------------------------------------------------------------
    def add_decision(
        self, kind: str, a: int | None = None, b: int | None = None, group_id: str | None = None
    ):
        """Record a person's decision (recording it twice changes nothing)."""
        if kind not in ("keep", "not_duplicates", "skip"):
            raise ValueError(f"unknown decision {kind!r}")
        if kind == "not_duplicates":
            if a is None or b is None or a == b:
                raise ValueError("not_duplicates needs two different items")
            a, b = min(a, b), max(a, b)
        self.db.execute(
            "INSERT OR IGNORE INTO decisions (kind, item_a, item_b, group_id, created) "
            "VALUES (?, ?, ?, ?, ?)",
            [kind, a, b, group_id, now()],
        )

    def remove_decision(
        self, kind: str, a: int | None = None, b: int | None = None, group_id: str | None = None
    ):
        if kind == "not_duplicates" and a is not None and b is not None:
            a, b = min(a, b), max(a, b)
        self.db.execute(
            "DELETE FROM decisions WHERE kind = ? AND item_a IS ? AND item_b IS ? AND group_id IS ?",
            [kind, a, b, group_id],
        )

    def decisions(self) -> list[dict]:
        return list(self.db.query("SELECT * FROM decisions ORDER BY id"))

    # -- background jobs (started by the native host, shown by `photodedup status`) ---------------------
    def create_job(self, kind: str, args: dict, message: str | None = None) -> int:
        cur = self.db.execute(
            "INSERT INTO jobs (kind, status, args, started, heartbeat, message)"
            " VALUES (?, 'running', ?, ?, ?, ?)",
            [kind, json.dumps(args), now(), now(), message],
        )
        return cur.lastrowid

    def update_job(self, job_id: int, **fields) -> None:
        unknown = set(fields) - _JOB_FIELDS
        if unknown:
            raise ValueError(f"unknown job field(s): {', '.join(sorted(unknown))}")
        if fields:
            sets = ", ".join(f"{c} = ?" for c in fields)
            self.db.execute(f"UPDATE jobs SET {sets} WHERE id = ?", [*fields.values(), job_id])

    def job(self, job_id: int) -> dict | None:
        rows = list(self.db.query("SELECT * FROM jobs WHERE id = ?", [job_id]))
        return self._settle_job(rows[0]) if rows else None

    def jobs(self, limit: int = 10) -> list[dict]:
        """The latest jobs, newest first; a running job whose process is gone is reported interrupted."""
        rows = list(self.db.query("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", [limit]))
        return [self._settle_job(r) for r in rows]

    def _settle_job(self, row: dict) -> dict:
        if row["status"] != "running":
            return row
        beat = datetime.fromisoformat(row["heartbeat"] or row["started"])
        stale = (datetime.now(UTC) - beat).total_seconds() > JOB_STALE_SECONDS
        if stale or (row["pid"] is not None and not _process_alive(row["pid"])):
            fields = {"status": "interrupted", "finished": now(), "message": "stopped before it finished"}
            self.db.execute(
                "UPDATE jobs SET status = ?, finished = ?, message = ? WHERE id = ? AND status = 'running'",
                [*fields.values(), row["id"]],
            )
            row = {**row, **fields}
        return row

    def items(self, where: str = "1", params: Iterable = ()) -> Iterator[dict]:
        yield from self.db.query(f"SELECT * FROM items WHERE {where} ORDER BY id", list(params))

    def counts(self) -> dict:
        out: dict = {"items": 0, "by_status": {}, "by_kind": {}, "by_media_type": {}}
        for status, n in self.db.execute("SELECT status, count(*) FROM items GROUP BY status"):
            out["by_status"][status] = n
            out["items"] += n
        for kind, n in self.db.execute("SELECT kind, count(*) FROM items GROUP BY kind"):
            out["by_kind"][kind] = n
        for mt, n in self.db.execute("SELECT media_type, count(*) FROM items GROUP BY media_type"):
            out["by_media_type"][mt or "none"] = n
        last = self.db.execute("SELECT * FROM scans ORDER BY id DESC LIMIT 1").fetchone()
        out["last_scan"] = (
            dict(
                zip(
                    [d[0] for d in self.db.execute("SELECT * FROM scans LIMIT 0").description],
                    last,
                    strict=True,
                )
            )
            if last
            else None
        )
        out["sources"] = list(self.db.query("SELECT * FROM sources ORDER BY id"))
        return out


JOB_STALE_SECONDS = 60  # a running job writes its heartbeat every few seconds
_JOB_FIELDS = {"status", "pid", "done", "total", "errors", "scan_id", "finished", "heartbeat", "message"}


def _process_alive(pid: int) -> bool:
    """POSIX: whether the process exists. Elsewhere only the heartbeat tells (signal 0 is no probe there)."""
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _chunks(seq: list, n: int) -> Iterator[list]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (none of ours contain ';' inside literals)."""
    return [s.strip() for s in script.split(";") if s.strip() and not s.strip().startswith("--")]
