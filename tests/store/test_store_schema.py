"""The store's schema: migrations run once, in order, and a newer store is refused."""

from __future__ import annotations

import sqlite3

import pytest

from photodedup.store.db import Store, StoreError
from photodedup.store.schema import MIGRATIONS, SCHEMA_VERSION


def test_new_store_is_at_the_latest_version_in_wal_mode(tmp_path):
    store = Store(tmp_path / "s.db")
    assert store.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"sources", "scans", "items", "decisions"} <= set(store.db.table_names())


def test_an_old_store_is_upgraded_in_place_keeping_its_data(tmp_path):
    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version=1")
    conn.execute("INSERT INTO items (key, kind, status, path) VALUES (x'2f61', 'file', 'ok', '/a')")
    conn.commit()
    conn.close()
    store = Store(db)
    assert store.schema_version == SCHEMA_VERSION
    assert [r["path"] for r in store.items()] == ["/a"]
    store.add_decision("skip", group_id="g1")
    assert store.decisions()[0]["group_id"] == "g1"


def test_a_newer_store_is_refused_untouched(tmp_path):
    db = tmp_path / "new.db"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Store(db)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1


def test_a_failed_migration_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    import photodedup.store.db as dbmod

    monkeypatch.setattr(dbmod, "MIGRATIONS", [*MIGRATIONS, "CREATE TABLE broken (x); SELECT * FROM nowhere"])
    monkeypatch.setattr(dbmod, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(StoreError):
        Store(tmp_path / "s.db")
    monkeypatch.undo()
    store = Store(tmp_path / "s.db")
    assert store.schema_version == SCHEMA_VERSION and "broken" not in store.db.table_names()
