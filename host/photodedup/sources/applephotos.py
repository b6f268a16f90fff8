"""Read an Apple Photos library (``*.photoslibrary``) into AssetRecords, never touching it.

Safety: osxphotos opens ``Photos.sqlite`` in place with ``?mode=ro`` unless the file is
locked, and SQLite in read-only mode still *creates* ``-wal``/``-shm`` files beside a
WAL-mode database (tested with SQLite 3.40). Real libraries are WAL-mode, so we copy
``Photos.sqlite`` (+ ``-wal``) into our own temp dir and point osxphotos at the copy with
``library_path`` set to the bundle; nothing ever opens a file inside the bundle for writing.
The copy costs one sequential read of the DB (a few seconds for a multi-GB library).

osxphotos is imported lazily: it is heavy and ``photodedup --help`` must stay fast.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from photodedup._types import AssetRecord

__all__ = [
    "LibraryScan",
    "is_photos_library",
    "library_db_path",
    "library_modified_key",
    "library_root",
    "read_library",
]

log = logging.getLogger(__name__)

_DB_NAME = "Photos.sqlite"
_BUNDLE_SUFFIX = ".photoslibrary"


@dataclass(slots=True)
class LibraryScan:
    """Result of :func:`read_library`.

    ``errors`` lists ``(uuid, message)`` for assets osxphotos failed on; those assets are
    left out of ``assets`` and the rest are still read. Iterating/len() go over ``assets``.
    ``modified_key`` is :func:`library_modified_key` as it was when the DB was copied, so
    a scanner can store it and skip the library next time if it is unchanged.
    """

    library: str  # bundle root
    db_path: str  # the Photos.sqlite that was read (inside the bundle; it was copied, not opened)
    modified_key: str
    photos_version: float | None  # Photos app version: 5 … 11.1 (a float for 11.1)
    assets: list[AssetRecord] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def __iter__(self) -> Iterator[AssetRecord]:
        return iter(self.assets)

    def __len__(self) -> int:
        return len(self.assets)

    def by_uuid(self) -> dict[str, AssetRecord]:
        return {a.uuid: a for a in self.assets}


def _bundle_db(path: Path) -> Path:
    return path / "database" / _DB_NAME


def is_photos_library(path: str | os.PathLike[str]) -> bool:
    """True for a ``*.photoslibrary`` bundle holding database/Photos.sqlite, or that file itself.

    Only Photos 5+ (macOS 10.15+) libraries have Photos.sqlite; older ``photos.db``-only
    libraries are deliberately not claimed.
    """
    p = Path(path)
    try:
        if p.is_dir():
            return p.name.lower().endswith(_BUNDLE_SUFFIX) and _bundle_db(p).is_file()
        return p.name == _DB_NAME and p.is_file() and p.parent.name == "database"
    except OSError:
        return False


def library_root(path: str | os.PathLike[str]) -> Path:
    """The bundle directory for a bundle path or for its database/Photos.sqlite.

    FileNotFoundError when the path is missing, ValueError when it is a file of another kind.
    """
    p = Path(path).absolute()
    if not p.exists():
        raise FileNotFoundError(f"no such library: {p}")
    if p.is_dir():
        return p
    if p.name == _DB_NAME and p.parent.name == "database":
        return p.parent.parent
    raise ValueError(f"not a Photos library or Photos.sqlite: {p}")


def library_db_path(path: str | os.PathLike[str]) -> Path:
    """database/Photos.sqlite of a library given by bundle or DB path."""
    db = _bundle_db(library_root(path))
    if not db.is_file():
        raise FileNotFoundError(f"no database/{_DB_NAME} in {library_root(path)}")
    return db


def _stat_key(p: Path) -> str:
    try:
        st = p.stat()
    except FileNotFoundError:
        return "-"
    return f"{st.st_mtime_ns}:{st.st_size}"


def library_modified_key(path: str | os.PathLike[str]) -> str:
    """Cheap change token: mtime+size of Photos.sqlite and of its -wal.

    The -wal is included because Photos writes there first; the main file may stay
    untouched until a checkpoint.
    """
    db = library_db_path(path)
    return f"db={_stat_key(db)};wal={_stat_key(Path(f'{db}-wal'))}"


def _copy_db(db: Path, dest_dir: Path) -> tuple[Path, str]:
    """Copy Photos.sqlite (+ -wal) and return the copy and the key it was taken at.

    Retried when the library changed during the copy (Photos open), so DB and WAL match.
    The -shm is not copied: SQLite rebuilds it from the WAL in our temp dir.
    """
    dest = dest_dir / _DB_NAME
    for _attempt in range(3):
        before = library_modified_key(db)
        shutil.copyfile(db, dest)
        wal = Path(f"{db}-wal")
        dest_wal = Path(f"{dest}-wal")
        if wal.exists():
            shutil.copyfile(wal, dest_wal)
        elif dest_wal.exists():
            dest_wal.unlink()
        if library_modified_key(db) == before:
            return dest, before
        time.sleep(0.2)
    log.warning("%s kept changing while being copied; reading the last copy", db)
    return dest, library_modified_key(db)


def _asset_table(conn: sqlite3.Connection) -> str | None:
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for t in ("ZASSET", "ZGENERICASSET"):  # ZGENERICASSET before Photos 7 (macOS 12)
        if t in names:
            return t
    return None


def _asset_extras(db_copy: Path) -> dict[str, tuple[str | None, str | None]]:
    """uuid -> (ZMEDIAGROUPUUID, ZAVALANCHEUUID): Live Photo content id and burst id.

    osxphotos exposes neither publicly, so they are read from our copy, read-only.
    """
    uri = f"{db_copy.resolve().as_uri()}?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True)
    except sqlite3.Error as e:
        log.warning("cannot open %s for content/burst ids: %s", db_copy, e)
        return {}
    try:
        table = _asset_table(conn)
        if table is None:
            return {}
        cols = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if "ZUUID" not in cols:
            return {}
        mg = "ZMEDIAGROUPUUID" if "ZMEDIAGROUPUUID" in cols else "NULL"
        av = "ZAVALANCHEUUID" if "ZAVALANCHEUUID" in cols else "NULL"
        rows = conn.execute(f"SELECT ZUUID, {mg}, {av} FROM {table}").fetchall()
        return {u: (m or None, a or None) for u, m, a in rows if u}
    except sqlite3.Error as e:
        log.warning("cannot read content/burst ids from %s: %s", db_copy, e)
        return {}
    finally:
        conn.close()


def _existing(p: Any) -> str | None:
    """osxphotos paths are predictions on some schemas: keep only files that exist."""
    if not p:
        return None
    p = str(p)
    return p if os.path.isfile(p) else None


def _iso(d: Any) -> str | None:
    return d.isoformat() if d is not None else None


def _iso_utc(d: Any) -> str | None:
    """osxphotos gives bookkeeping dates in the *machine's* zone: pin them to UTC so the
    strings (used to detect changes between scans) do not depend on where we run."""
    return d.astimezone(UTC).isoformat() if d is not None else None


def _int_or_none(v: Any) -> int | None:
    return int(v) if v is not None else None


def _record(photo: Any, extras: dict[str, tuple[str | None, str | None]]) -> AssetRecord:
    path = _existing(photo.path)
    content_id, burst_uuid = extras.get(photo.uuid, (None, None))
    lat, lon = photo.latitude, photo.longitude
    return AssetRecord(
        uuid=photo.uuid,
        original_filename=photo.original_filename,
        path=path,
        original_on_disk=path is not None,
        path_edited=_existing(photo.path_edited),
        path_live_video=_existing(photo.path_live_photo),
        path_edited_live_video=_existing(photo.path_edited_live_photo),
        path_raw=_existing(photo.path_raw),
        is_movie=bool(photo.ismovie),
        live_photo=bool(photo.live_photo),
        content_id=content_id,
        burst_uuid=burst_uuid if photo.burst else None,
        burst_selected=bool(photo.burst_selected),
        burst_key=bool(photo.burst_key),
        favorite=bool(photo.favorite),
        hidden=bool(photo.hidden),
        trashed=bool(photo.intrash),
        albums=list(photo.albums),
        keywords=list(photo.keywords),
        date=_iso(photo.date),  # the photo's own offset, as Photos shows it
        date_added=_iso_utc(photo.date_added),
        date_modified=_iso_utc(photo.date_modified),
        # The original's size as Photos stored it (before EXIF orientation; display size
        # for movies), like original_filesize and fingerprint: not the edit's.
        width=_int_or_none(photo.original_width),
        height=_int_or_none(photo.original_height),
        uti=photo.uti or None,
        original_filesize=_int_or_none(photo.original_filesize),
        fingerprint=photo.fingerprint or None,
        has_adjustments=bool(photo.hasadjustments),
        screenshot=bool(photo.screenshot),
        title=photo.title or None,
        description=photo.description or None,
        latitude=float(lat) if lat is not None else None,
        longitude=float(lon) if lon is not None else None,
    )


def _all_photos(db: Any) -> Iterator[Any]:
    """Every asset once: visible, trashed, hidden, and unselected burst members.

    db.photos() omits trashed assets and unselected burst members; the latter are reached
    through burst_photos. A last sweep over osxphotos' uuid table catches anything else
    (e.g. unselected members of a burst whose picks are all in the trash).
    """
    seen: set[str] = set()
    pending = deque([*db.photos(), *db.photos(intrash=True)])
    while pending:
        p = pending.popleft()
        if p.uuid in seen:
            continue
        seen.add(p.uuid)
        yield p
        try:
            if p.burst:
                pending.extend(b for b in p.burst_photos if b.uuid not in seen)
        except Exception as e:  # a broken burst must not hide the rest
            log.warning("burst members of %s unreadable: %s", p.uuid, e)
    rest = [u for u in getattr(db, "_dbphotos", {}) if u not in seen]
    for p in db.photos_by_uuid(rest):
        if p.uuid not in seen:
            seen.add(p.uuid)
            yield p


def read_library(path: str | os.PathLike[str]) -> LibraryScan:
    """Read every asset of a library (bundle or Photos.sqlite path) without writing to it.

    Raises FileNotFoundError/ValueError when the path is no library and whatever osxphotos
    raises when the DB cannot be opened at all; per-asset failures go to ``errors``.
    """
    import osxphotos  # heavy: keep out of module import

    root = library_root(path)
    db_file = library_db_path(root)
    with tempfile.TemporaryDirectory(prefix="photodedup_photosdb_") as tmp:
        db_copy, key = _copy_db(db_file, Path(tmp))
        # library_path makes osxphotos resolve originals/renders in the real bundle;
        # _skip_searchinfo: psi.sqlite is not needed (and would be opened in place).
        db = osxphotos.PhotosDB(dbfile=str(db_copy), library_path=str(root), _skip_searchinfo=True)
        extras = _asset_extras(db_copy)
        scan = LibraryScan(
            library=str(root),
            db_path=str(db_file),
            modified_key=key,
            photos_version=getattr(db, "photos_version", None),
        )
        for photo in _all_photos(db):
            try:
                scan.assets.append(_record(photo, extras))
            except Exception as e:
                uuid = getattr(photo, "uuid", "?")
                log.warning("asset %s of %s unreadable: %s", uuid, root, e)
                scan.errors.append((uuid, f"{type(e).__name__}: {e}"))
        del db  # release its sqlite handles on our copy before the temp dir goes
    return scan
