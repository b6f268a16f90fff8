"""The store's schema as an ordered list of migrations; the only place tables are defined.

Each migration runs once, in order, inside a transaction; ``PRAGMA user_version``
records how many have run, so an old store upgrades in place and a newer store
is refused instead of being damaged by an older photodedup.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: sources, scans, items
    """
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,              -- folder | photos_library | takeout
        root TEXT NOT NULL UNIQUE,
        modified_key TEXT,               -- cheap change marker (Photos.sqlite mtime+size)
        last_scan_id INTEGER,
        last_complete_scan_id INTEGER
    );
    CREATE TABLE scans (
        id INTEGER PRIMARY KEY,
        started TEXT NOT NULL,
        finished TEXT,
        status TEXT NOT NULL,            -- running | complete | interrupted
        args TEXT,
        counts TEXT
    );
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        key BLOB NOT NULL UNIQUE,        -- stable identity: path bytes, or library/uuid/role
        source_id INTEGER REFERENCES sources(id),
        kind TEXT NOT NULL,              -- file | asset | asset_part | sidecar
        role TEXT,                       -- original | edited | live_video | raw (library parts)
        parent_id INTEGER REFERENCES items(id),
        parent_key BLOB,                 -- key of the parent, resolved to parent_id after each batch
        uuid TEXT,                       -- Apple Photos asset uuid
        path TEXT,                       -- for people: non-UTF-8 bytes shown escaped
        size INTEGER,
        mtime_ns INTEGER,
        status TEXT NOT NULL,            -- ok | error | skipped | gone | not_on_disk | no_media
        error TEXT,
        media_type TEXT,
        format TEXT,
        width INTEGER,
        height INTEGER,
        blake3 TEXT,
        apple_fp TEXT,
        pixel_sig TEXT,
        phash TEXT,
        ahash TEXT,
        dhash TEXT,
        whash TEXT,
        decode_mode TEXT,
        taken_at TEXT,
        taken_offset TEXT,
        make TEXT,
        model TEXT,
        gps_lat REAL,
        gps_lon REAL,
        gps_alt REAL,
        orientation INTEGER,
        content_id TEXT,
        burst_id TEXT,
        duration REAL,
        rotation INTEGER,
        codec TEXT,
        asset_modified TEXT,             -- library assets: drives incremental re-scans
        meta TEXT,                       -- JSON: asset record, Takeout sidecar, warnings
        first_scan_id INTEGER,
        last_scan_id INTEGER
    );
    CREATE INDEX items_blake3 ON items(blake3);
    CREATE INDEX items_apple_fp ON items(apple_fp);
    CREATE INDEX items_source ON items(source_id, last_scan_id);
    CREATE INDEX items_parent ON items(parent_id);
    CREATE INDEX items_unresolved ON items(parent_key) WHERE parent_key IS NOT NULL AND parent_id IS NULL;
    CREATE INDEX items_uuid ON items(uuid);
    """,
    # 2: a person's decisions, remembered across scans (item ids are stable)
    """
    CREATE TABLE decisions (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,              -- keep | not_duplicates | skip
        item_a INTEGER,                  -- keep: the item to keep, not_duplicates: one of the pair
        item_b INTEGER,                  -- not_duplicates: the other (item_a < item_b)
        group_id TEXT,                   -- skip: the group
        created TEXT NOT NULL
    );
    CREATE UNIQUE INDEX decisions_unique ON decisions(kind, coalesce(item_a, 0), coalesce(item_b, 0),
                                                      coalesce(group_id, ''));
    """,
    # 3: pHashes of the picture turned 90/180/270 degrees and with a uniform border cut away
    """
    ALTER TABLE items ADD COLUMN phash_r90 TEXT;
    ALTER TABLE items ADD COLUMN phash_r180 TEXT;
    ALTER TABLE items ADD COLUMN phash_r270 TEXT;
    ALTER TABLE items ADD COLUMN phash_trim TEXT;
    """,
    # 4: background jobs (a re-scan the browser extension started), their progress where the CLI sees it
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,              -- scan
        status TEXT NOT NULL,            -- running | complete | failed | interrupted
        args TEXT,                       -- JSON: {"source_ids": [...]}
        pid INTEGER,                     -- the job's process, while it runs
        done INTEGER NOT NULL DEFAULT 0,
        total INTEGER,
        errors INTEGER NOT NULL DEFAULT 0,
        scan_id INTEGER,
        started TEXT NOT NULL,
        finished TEXT,
        heartbeat TEXT,                  -- written every few seconds by the running job
        message TEXT
    );
    """,
    # 5 (issue 5): sub-second capture time (EXIF SubSecTimeOriginal, a fraction); a motion photo's embedded
    # video: where its MP4 lies in the file, the digests of the video and of the bare still before it, and
    # JSON of how it was found and what its container says; for camera RAW, which embedded picture was hashed.
    # Items an older photodedup read before it knew these (camera RAW read as a TIFF thumbnail, the phones
    # that make motion photos: Google, Samsung, Pixel names) lose their change markers and decode mode, so
    # the next scan fingerprints them again instead of skipping them or reusing their old fingerprints.
    # (No "--" comments here: a statement that starts with one is skipped by _split_sql.)
    """
    ALTER TABLE items ADD COLUMN taken_subsec REAL;
    ALTER TABLE items ADD COLUMN motion_offset INTEGER;
    ALTER TABLE items ADD COLUMN motion_length INTEGER;
    ALTER TABLE items ADD COLUMN motion_blake3 TEXT;
    ALTER TABLE items ADD COLUMN motion_still_blake3 TEXT;
    ALTER TABLE items ADD COLUMN motion_meta TEXT;
    ALTER TABLE items ADD COLUMN raw_preview TEXT;
    ALTER TABLE items ADD COLUMN raw_preview_width INTEGER;
    ALTER TABLE items ADD COLUMN raw_preview_height INTEGER;
    CREATE INDEX items_motion_blake3 ON items(motion_blake3) WHERE motion_blake3 IS NOT NULL;
    CREATE TEMP TABLE refresh AS SELECT id, source_id FROM items
        WHERE media_type = 'image' AND status IN ('ok', 'error') AND (
            lower(make) IN ('google', 'samsung') OR upper(path) LIKE '%MVIMG%' OR upper(path) LIKE '%.MP.%'
            OR format IN ('CR2', 'CR3', 'CRW', 'RAF', 'ORF', 'RW2', 'MRW', 'X3F')
            OR (format = 'TIFF' AND lower(substr(path, -4)) IN ('.nef', '.nrw', '.arw', '.srf', '.sr2',
                '.dng', '.pef', '.srw', '.3fr', '.iiq', '.erf', '.kdc', '.dcr', '.mos', '.mef', '.raw',
                '.rwl')));
    UPDATE items SET mtime_ns = NULL, asset_modified = NULL, decode_mode = NULL
        WHERE id IN (SELECT id FROM refresh);
    UPDATE sources SET modified_key = NULL WHERE id IN (SELECT source_id FROM refresh);
    DROP TABLE refresh;
    """,
    # 6 (issue 5): the perceptual video fingerprint (fingerprint/video.py, text form). Videos recorded
    # before it have none: their change markers are cleared so that the next scan fingerprints them
    # (a file by size and mtime, a library asset by its modification date, a library by its database).
    """
    ALTER TABLE items ADD COLUMN video_hash TEXT;
    UPDATE items SET mtime_ns = NULL, asset_modified = NULL WHERE media_type = 'video' AND status = 'ok';
    UPDATE sources SET modified_key = NULL
        WHERE id IN (SELECT source_id FROM items WHERE media_type = 'video' AND status = 'ok');
    """,
    # 7 (issue 5): the perceptual video fingerprint of a motion photo's embedded clip (text form as
    # video_hash; "-" when the clip cannot be read; NULL when not computed yet or skipped by
    # --no-motion-video). Motion photos recorded before it lose their change markers, so the next scan
    # fingerprints them again; a NULL here also keeps their rows from being reused by digest.
    """
    ALTER TABLE items ADD COLUMN motion_video_hash TEXT;
    UPDATE items SET mtime_ns = NULL, asset_modified = NULL
        WHERE motion_offset IS NOT NULL AND status IN ('ok', 'error');
    UPDATE sources SET modified_key = NULL WHERE id IN
        (SELECT source_id FROM items WHERE motion_offset IS NOT NULL AND status IN ('ok', 'error'));
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)

# Columns copied from a byte-identical item instead of decoding the file again.
FINGERPRINT_COLUMNS = (
    "media_type",
    "format",
    "width",
    "height",
    "blake3",
    "apple_fp",
    "pixel_sig",
    "phash",
    "ahash",
    "dhash",
    "whash",
    "phash_r90",
    "phash_r180",
    "phash_r270",
    "phash_trim",
    "decode_mode",
    "taken_at",
    "taken_offset",
    "taken_subsec",
    "make",
    "model",
    "gps_lat",
    "gps_lon",
    "gps_alt",
    "orientation",
    "content_id",
    "burst_id",
    "duration",
    "rotation",
    "codec",
    "motion_offset",
    "motion_length",
    "motion_blake3",
    "motion_still_blake3",
    "motion_meta",
    "raw_preview",
    "raw_preview_width",
    "raw_preview_height",
    "video_hash",
    "motion_video_hash",
)
