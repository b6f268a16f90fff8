"""From the store to groups: load, find units, relate candidates, cluster, choose keepers.

The order matters: units first (their parts never match on their own), exact
classes next (identical content is one node), then near candidates between class
representatives only, found by an index far below all pairs.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Container, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import numpy as np

from photodedup.match.cluster import UnionFind, cliques, components
from photodedup.match.complete import fill_in_same
from photodedup.match.model import ROW_COLUMNS, Group, MatchItem, Member, from_row
from photodedup.match.relate import relate, thresholds_for
from photodedup.match.units import RAW_EXTENSIONS, _split, find_units
from photodedup.store.db import Store

__all__ = ["StoreItems", "find_groups", "hex_column", "load_items"]


def _live(alias: str = "") -> str:
    """The rows matching looks at (``alias.`` before each column when given, for a join)."""
    p = f"{alias}." if alias else ""
    return (
        f"{p}status IN ('ok', 'not_on_disk') AND {p}media_type IN ('image', 'video') AND {p}kind != 'sidecar'"
    )


_LIVE = _live()
_VIDEOS = f"{_LIVE} AND media_type = 'video' AND video_hash LIKE 'v%' ORDER BY id"
# Motion photos take part in video matching through their clips (a fingerprint, or the clip's bytes).
_MOTION_CLIPS = f"{_LIVE} AND media_type = 'image' AND motion_video_hash LIKE 'v%' ORDER BY id"
_CLIP_BYTES = "the same video: the file is the motion photo's own video, byte for byte"
_CLIP_FILES = (
    "SELECT m.id, v.id FROM items m JOIN items v ON v.blake3 = m.motion_blake3"
    f" WHERE m.motion_blake3 IS NOT NULL AND {_live('m')} AND {_live('v')} AND v.media_type = 'video'"
    " ORDER BY m.id, v.id"
)


def load_items(store: Store) -> dict[int, MatchItem]:
    """Every live item as a MatchItem (for callers that need them all; ``find_groups`` does not)."""
    sources = _sources(store)
    with _collector_paused():
        return {r["id"]: from_row(r, sources.get(r["source_id"])) for r in store.items(_LIVE)}


def _sources(store: Store) -> dict[int, dict]:
    return {s["id"]: s for s in store.db.query("SELECT * FROM sources")}


def group_id(kind: str, ids: list[int]) -> str:
    """Stable across runs while the members stay the same (item ids never change)."""
    digest = hashlib.sha1(f"{kind}:{','.join(map(str, sorted(ids)))}".encode()).hexdigest()
    return f"{kind[0]}{digest[:11]}"


class StoreItems(dict):
    """MatchItems read from the store when first looked up, so a library need not fit in memory.

    Lookups (``items[i]``, ``i in items``, ``items.get(i)``) see every live item, like the dict of
    ``load_items``; iterating sees only the items loaded so far. ``find_groups`` loads what grouping
    looks at (the groups' members and their parts among them), which is what a plan needs.
    """

    def __init__(self, store: Store) -> None:
        super().__init__()
        self._store = store
        self._sources = _sources(store)

    def load(self, ids: Iterable[int]) -> None:
        """Read these ids (the live ones) into the cache, 10,000 per query."""
        missing = sorted({int(i) for i in ids if not dict.__contains__(self, i)})
        for k in range(0, len(missing), 10_000):
            self.add_rows(self._rows(missing[k : k + 10_000]))

    def read(self, ids: Iterable[int]) -> Iterator[MatchItem]:
        """The live items of ``ids`` in that order, read in batches and not kept (unless already loaded)."""
        ids = list(ids)
        for k in range(0, len(ids), 10_000):
            batch = ids[k : k + 10_000]
            fresh = {
                r["id"]: from_row(r, self._sources.get(r["source_id"]))
                for r in self._rows([i for i in batch if not dict.__contains__(self, i)])
            }
            for i in batch:
                it = dict.get(self, i) or fresh.get(i)
                if it is not None:
                    yield it

    def kinds(self) -> Iterator[tuple[int, str]]:
        """(id, kind) of every live item, ascending, without building MatchItems."""
        yield from self._store.db.conn.execute(f"SELECT id, kind FROM items WHERE {_LIVE} ORDER BY id")

    def add_rows(self, rows: Iterable[dict]) -> None:
        for r in rows:
            if not dict.__contains__(self, r["id"]):
                self[r["id"]] = from_row(r, self._sources.get(r["source_id"]))

    def _rows(self, ids: list[int]) -> Iterator[dict]:
        if ids:
            cur = self._store.db.conn.execute(
                f"SELECT {', '.join(ROW_COLUMNS)} FROM items WHERE {_LIVE}"
                " AND id IN (SELECT value FROM json_each(?)) ORDER BY id",
                [json.dumps(ids)],
            )
            for row in cur:
                yield dict(zip(ROW_COLUMNS, row, strict=True))

    def __missing__(self, key: int) -> MatchItem:
        self.load([key])
        return dict.__getitem__(self, key)

    def __contains__(self, key: object) -> bool:
        if not dict.__contains__(self, key) and isinstance(key, int | np.integer):
            self.load([key])
        return dict.__contains__(self, key)

    def get(self, key: int, default=None):  # type: ignore[override]
        if key in self:  # (loads it when live)
            return dict.__getitem__(self, key)
        return default


class _Table:
    """What grouping needs of every live item, as arrays in iteration order (ids ascending from the store)."""

    ids: np.ndarray  # int64
    has_phash: np.ndarray  # bool
    is_image: np.ndarray  # bool
    phash: np.ndarray  # uint64 (0 where absent)
    alts: np.ndarray  # (n, 3) uint64: r90, r180, trim (r270 is never searched)
    has_alt: np.ndarray  # (n, 3) bool
    exact: list[list[list[int]]]  # per column (blake3, apple_fp): ids sharing a value, in iteration order
    edited: list[tuple[int, int]]  # (id, parent_id) of Photos edit renders, in iteration order
    live: Container[int]


_ALTS = ("r90", "r180", "trim")


def _table_from_items(items: dict[int, MatchItem]) -> _Table:
    tb = _Table()
    its = list(items.values())
    n = len(its)
    tb.ids = np.fromiter((it.id for it in its), np.int64, n)
    tb.has_phash = np.fromiter((it.phash is not None for it in its), bool, n)
    tb.is_image = np.fromiter((it.media_type == "image" for it in its), bool, n)
    tb.phash = np.fromiter((it.phash or 0 for it in its), np.uint64, n)
    tb.alts = np.zeros((n, 3), np.uint64)
    tb.has_alt = np.zeros((n, 3), bool)
    for k, it in enumerate(its):
        for a, name in enumerate(_ALTS):
            h = it.alt_phashes.get(name)
            if h is not None:
                tb.alts[k, a] = h
                tb.has_alt[k, a] = True
    tb.exact = []
    for column in ("blake3", "apple_fp"):
        by: dict[str, list[int]] = defaultdict(list)
        for it in its:
            value = getattr(it, column)
            if value:
                by[value].append(it.id)
        tb.exact.append([ids for ids in by.values() if len(ids) > 1])
    tb.edited = [(it.id, it.parent_id) for it in its if it.role == "edited" and it.parent_id is not None]
    tb.live = items
    return tb


def hex_column(values: list) -> tuple[np.ndarray, np.ndarray]:
    """16-digit hex strings (or None) as uint64, with a presence mask."""
    n = len(values)
    has = np.fromiter((bool(v) for v in values), bool, n)
    out = np.zeros(n, np.uint64)
    present = [v for v in values if v]
    if present:
        if all(len(v) == 16 for v in present):
            out[has] = np.frombuffer(bytes.fromhex("".join(present)), ">u8")
        else:
            out[has] = np.array([int(v, 16) for v in present], np.uint64)
    return out, has


_HEX_COLUMNS = ("phash", "phash_r90", "phash_r180", "phash_trim")


def _table_from_store(store: Store) -> _Table:
    tb = _Table()
    conn = store.db.conn
    columns = _columns_in_one_pass(conn) or _columns_by_row(conn)
    tb.ids, tb.is_image, edited, hashes, present = columns
    tb.phash, tb.has_phash = hashes[:, 0], present[:, 0]
    tb.alts, tb.has_alt = np.ascontiguousarray(hashes[:, 1:]), np.ascontiguousarray(present[:, 1:])
    tb.edited = []
    if edited.any():
        tb.edited = conn.execute(
            f"SELECT id, parent_id FROM items WHERE {_LIVE} AND role = 'edited' AND parent_id IS NOT NULL"
            " ORDER BY id"
        ).fetchall()
    tb.exact = []
    for column in ("blake3", "apple_fp"):  # values seen twice, from the column's index alone; then live rows
        repeated = f"SELECT {column} FROM items WHERE {column} != '' GROUP BY {column} HAVING count(*) > 1"
        rows = conn.execute(
            f"SELECT group_concat(id) FROM items WHERE {_LIVE} AND {column} IN ({repeated})"
            f" GROUP BY {column} HAVING count(*) > 1"
        ).fetchall()
        tb.exact.append([sorted(map(int, r[0].split(","))) for r in rows])
    tb.live = _SortedIds(tb.ids)
    return tb


def _columns_in_one_pass(conn) -> tuple | None:
    """(ids, is_image, edited, hashes (n, 4), present (n, 4)) of the live items, ascending ids, as a few
    long strings SQLite concatenates in one scan: no Python object per row. None if a hash is not 16 hex
    digits (then ``_columns_by_row`` reads them one by one)."""
    flags = ["media_type = 'image'", "role = 'edited' AND parent_id IS NOT NULL"]
    flags += [f"{h} != ''" for h in _HEX_COLUMNS]
    flags += [f"coalesce(length({h}), 0) IN (0, 16)" for h in _HEX_COLUMNS]
    flag_sql = " || ".join(f"coalesce({x}, 0)" for x in flags)
    zero = "0" * 16
    padded = [f"CASE WHEN length({h}) = 16 THEN {h} ELSE '{zero}' END" for h in _HEX_COLUMNS]
    count, ids, bits, *hexes = conn.execute(
        "SELECT count(*), group_concat(id), group_concat(f, ''), "
        + ", ".join(f"group_concat(h{i}, '')" for i in range(len(padded)))
        + f" FROM (SELECT id, {flag_sql} AS f, {', '.join(f'{p} AS h{i}' for i, p in enumerate(padded))}"
        f" FROM items WHERE {_LIVE} ORDER BY id)"
    ).fetchone()
    if not count:
        return None
    flag = np.frombuffer(bits.encode(), np.uint8).reshape(count, len(flags)) == ord("1")
    if not flag[:, 2 + len(_HEX_COLUMNS) :].all():
        return None
    ids = np.array(ids.split(","), np.int64)
    hashes = np.stack([np.frombuffer(bytes.fromhex(h), ">u8").astype(np.uint64) for h in hexes], axis=1)
    present = flag[:, 2 : 2 + len(_HEX_COLUMNS)]
    hashes[~present] = 0
    order = np.argsort(ids, kind="stable")  # (one aggregate: every column in the same row order)
    return ids[order], flag[order, 0], flag[order, 1], hashes[order], present[order]


def _columns_by_row(conn) -> tuple:
    """As ``_columns_in_one_pass``, row by row (hashes of other lengths are read with ``int``)."""
    cols: list[list] = [[] for _ in range(3 + len(_HEX_COLUMNS))]
    cur = conn.execute(
        "SELECT id, media_type = 'image', role = 'edited' AND parent_id IS NOT NULL, "
        f"{', '.join(_HEX_COLUMNS)} FROM items WHERE {_LIVE} ORDER BY id"
    )
    while rows := cur.fetchmany(100_000):
        for c, values in zip(cols, zip(*rows, strict=True), strict=True):
            c.extend(values)
        del rows
    n = len(cols[0])
    hashes = np.zeros((n, len(_HEX_COLUMNS)), np.uint64)
    present = np.zeros((n, len(_HEX_COLUMNS)), bool)
    for a in range(len(_HEX_COLUMNS)):
        hashes[:, a], present[:, a] = hex_column(cols[3 + a])
    return np.array(cols[0], np.int64), np.array(cols[1], bool), np.array(cols[2], bool), hashes, present


class _SortedIds:
    """Membership in an ascending id array without a million-entry set."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = ids

    def __contains__(self, x: object) -> bool:
        if not isinstance(x, int) or not len(self.ids):
            return False
        k = int(np.searchsorted(self.ids, x))
        return k < len(self.ids) and int(self.ids[k]) == x


_UNIT_FILE = f"{_LIVE} AND kind = 'file' AND path IS NOT NULL"


def _unit_candidates(store: Store, items: StoreItems) -> dict[int, MatchItem]:
    """The rows ``find_units`` can pair (library parts, content ids, RAW and video files, Takeout live
    halves, and the files beside them): the same units as over every item, without reading every path."""
    ids: set[int] = set()
    q = store.db.conn.execute
    roles = "('live_video', 'edited_live_video', 'raw')"
    ids.update(
        r[0] for r in q(f"SELECT id FROM items WHERE {_LIVE} AND kind = 'asset_part' AND role IN {roles}")
    )
    ids.update(r[0] for r in q(f"SELECT id FROM items WHERE {_UNIT_FILE} AND content_id IS NOT NULL"))
    # Name fallback: only a RAW or a video file can be attached; its folder's files with its stem are read.
    lengths = sorted({len(e) for e in RAW_EXTENSIONS})
    raw_sql = " OR ".join(
        f"lower(substr(path, -{n})) IN ({','.join(repr(e) for e in RAW_EXTENSIONS if len(e) == n)})"
        for n in lengths
    )
    parts = q(
        f"SELECT id, path, taken_at FROM items WHERE {_UNIT_FILE} AND (media_type = 'video' OR {raw_sql})"
    ).fetchall()
    if parts:
        keys = {(f, s) for f, s, _ in (_split(p) for _, p, _ in parts)}
        folders = {f for f, _ in keys}
        for i, path in q(f"SELECT id, path FROM items WHERE {_UNIT_FILE}"):
            if os.path.dirname(path) in folders and _split(path)[:2] in keys:
                ids.add(i)
    # Capture-time fallback (names differ): the stills of a video's or RAW's folder taken within a minute
    # of it, by wall-clock time as ``units`` compares them.
    near: dict[str, set[str]] = defaultdict(set)  # "YYYY-MM-DDTHH:MM" -> folders
    for _, path, taken in parts:
        for minute in _minutes_around(taken):
            near[minute].add(os.path.dirname(path))
    if near:
        for i, path, taken in q(
            f"SELECT id, path, taken_at FROM items WHERE {_UNIT_FILE} AND media_type = 'image' "
            "AND substr(taken_at, 1, 16) IN (SELECT value FROM json_each(?))",
            [json.dumps(sorted(near))],
        ):
            if os.path.dirname(path) in near[taken[:16]]:
                ids.add(i)
    # Takeout: the video half names its still.
    live_halves = q(
        f"SELECT id, meta FROM items WHERE {_UNIT_FILE} AND meta LIKE '%takeout_live_still%'"
    ).fetchall()
    stills: set[str] = set()
    for i, meta in live_halves:
        still = json.loads(meta).get("takeout_live_still")
        if still:
            ids.add(i)
            stills.add(still)
    if stills:
        ids.update(
            r[0]
            for r in q(
                f"SELECT id FROM items WHERE {_UNIT_FILE} AND path IN (SELECT value FROM json_each(?))",
                [json.dumps(sorted(stills))],
            )
        )
    items.load(ids)
    return {i: items[i] for i in sorted(ids)}


def _minutes_around(taken_at: str | None) -> list[str]:
    """The minute of a capture time and the minutes either side, as ``taken_at`` strings start."""
    if not taken_at:
        return []
    try:
        t = datetime.fromisoformat(taken_at[:19])
    except ValueError:
        return []
    return [(t + timedelta(minutes=d)).isoformat()[:16] for d in (-1, 0, 1)]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Grouping builds ~10^6 small objects (rows, items, relations, members): the cyclic collector would
    rescan the growing heap again and again (half the time of building them). Nothing here needs cycles
    freed early; the collector runs as usual afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def find_groups(
    store: Store,
    *,
    preset: str = "default",
    threshold: int | None = None,
    keeper_config=None,
    include_skipped: bool = False,
    items: dict[int, MatchItem] | None = None,
) -> list[Group]:
    """Groups with keepers.

    Without ``items``, or with a ``StoreItems`` (which then holds what was read, for a plan to use), only
    the rows grouping needs become MatchItems; a plain dict must hold every live item.
    """
    with _collector_paused():
        return _find_groups(store, preset, threshold, keeper_config, include_skipped, items)


def _find_groups(store, preset, threshold, keeper_config, include_skipped, items) -> list[Group]:
    from photodedup.match.keeper import KeeperConfig, apply_keeper

    t = thresholds_for(preset, threshold)
    decisions = store.decisions()
    not_dup = {(d["item_a"], d["item_b"]) for d in decisions if d["kind"] == "not_duplicates"}
    keep_override = {d["item_a"] for d in decisions if d["kind"] == "keep"}
    skipped = {d["group_id"] for d in decisions if d["kind"] == "skip"}

    if items is None or isinstance(items, StoreItems):
        lazy = items if items is not None else StoreItems(store)
        tb = _table_from_store(store)
        units = find_units(_unit_candidates(store, lazy), live=tb.live)
        items = lazy
    else:
        lazy = None
        tb = _table_from_items(items)
        units = find_units(items)
    companion_of = {c: rep for rep, parts in units.items() for c in parts}
    is_rep = np.ones(len(tb.ids), bool)
    if companion_of:
        is_rep &= ~np.isin(tb.ids, np.fromiter(companion_of, np.int64, len(companion_of)))

    def rep(i: int) -> bool:
        return i not in companion_of and i in tb.live

    # 1. Exact classes: identical content is one node from here on (the class is named by its least id).
    uf = UnionFind()
    for groups_of_column in tb.exact:
        for same in groups_of_column:
            same = [i for i in same if i not in companion_of]
            for i in same[1:]:
                if _allowed(same[0], i, not_dup):
                    uf.union(same[0], i)
    position = {int(i): k for k, i in enumerate(tb.ids)} if uf.parent and lazy is None else None

    def pos(i: int) -> int:
        return position[i] if position is not None else int(np.searchsorted(tb.ids, i))

    members_of: dict[int, list[int]] = defaultdict(list)
    for i in sorted(uf.parent, key=pos):
        members_of[uf.find(i)].append(i)
    members_of = {c: ms for c, ms in members_of.items() if len(ms) > 1}

    def cls(i: int) -> int:
        return uf.find(i) if i in uf.parent else i

    # The node's face: a member with perceptual hashes (an iCloud-only asset has none).
    multi_face: dict[int, int] = {}
    for c, ms in members_of.items():
        multi_face[c] = next((m for m in ms if tb.has_phash[pos(m)]), ms[0])

    def face(c: int) -> int:
        return multi_face.get(c, c)

    # 2. Candidate pairs between class faces, then what each pair is.
    relations = _near_relations(items, lazy, tb, is_rep, members_of, multi_face, pos, t, not_dup)
    # Videos by their own fingerprints (match.videos); Live Photo halves are unit parts, left out here.
    # Motion photos meet the videos through their clips: a video file that is a motion photo's clip, byte
    # for byte or by its frames, is "the same video" as the motion photo, which holds it and its still.
    from photodedup.match.relate import video_of
    from photodedup.match.videos import video_relations

    if lazy is not None:
        conn = store.db.conn
        video_ids = [r[0] for r in conn.execute(f"SELECT id FROM items WHERE {_VIDEOS}")]
        video_ids += [r[0] for r in conn.execute(f"SELECT id FROM items WHERE {_MOTION_CLIPS}")]
        clip_files = [(m, v) for m, v in conn.execute(_CLIP_FILES)]
        lazy.load([*video_ids, *(i for pair in clip_files for i in pair)])
    else:
        video_ids = [
            i for i, it in items.items() if it.media_type in ("video", "image") and video_of(it) is not None
        ]
        by_blake3: dict[str, list[int]] = defaultdict(list)
        for i, it in items.items():
            if it.media_type == "video" and it.blake3:
                by_blake3[it.blake3].append(i)
        clip_files = [
            (i, v) for i, it in items.items() if it.motion_blake3 for v in by_blake3.get(it.motion_blake3, ())
        ]
    for m, v in clip_files:
        if rep(m) and rep(v) and cls(m) != cls(v) and _allowed(m, v, not_dup):
            key = (min(cls(m), cls(v)), max(cls(m), cls(v)))
            relations.setdefault(key, ("same", 0, _CLIP_BYTES))
    videos = [items[i] for i in sorted(video_ids) if rep(i)]
    for key, rel in video_relations(videos, cls, t, lambda a, b: _allowed(a, b, not_dup)).items():
        relations.setdefault(key, rel)
    for i, parent in tb.edited:  # a Photos edit render and its asset: related by the library itself
        if rep(i) and rep(parent) and cls(parent) != cls(i):
            a, b = sorted((cls(parent), cls(i)))
            relations[(a, b)] = ("edited", None, "a Photos edit and its original")

    # Copies changed in different ways (one framed, one turned) meet only through the original: judge
    # the missing pairs inside each "same" component over all their variants before taking cliques.
    same_classes = {c for pair, rel in relations.items() if rel[0] == "same" for c in pair}
    faces = {c: face(c) for c in same_classes}
    if lazy is not None:
        lazy.load(faces.values())
    fill_in_same(relations, items, faces, t, lambda a, b: _allowed(a, b, not_dup))

    # 3. Duplicate clusters: cliques of "same" over classes.
    same_edges = [(a, b) for (a, b), (kind, _, _) in relations.items() if kind == "same"]
    weights = {(a, b): d or 0 for (a, b), (kind, d, _) in relations.items() if kind == "same"}
    clusters = cliques(same_edges, weights)
    in_cluster = {c for cl in clusters for c in cl}
    dedupe: list[tuple[str, list[int], str]] = []
    for cl in clusters:
        ids = [m for c in cl for m in members_of.get(c, [c])]
        dedupe.append(("same", ids, _why(cl, relations)))
    exact_classes = sorted(members_of.items(), key=lambda cm: pos(cm[1][0]))
    if lazy is not None:
        lazy.load(i for ms in members_of.values() for i in ms)
    for c, ms in exact_classes:
        if c not in in_cluster:
            why = (
                "same bytes" if len({items[m].blake3 for m in ms}) == 1 else "same bytes or Apple fingerprint"
            )
            dedupe.append(("exact", ms, why))
    if lazy is not None:
        lazy.load(m for _, ids, _ in dedupe for i in ids for m in (i, *units.get(i, ())))

    config = keeper_config or KeeperConfig()
    groups: list[Group] = []
    keeper_of_class: dict[int, int] = {}
    for kind, ids, why in dedupe:
        g = _group(kind, ids, why, items, units)
        override = next((m for m in ids if m in keep_override), None)
        g = apply_keeper(g, items, config, override=override)
        _protect_parts(g, items)
        _protect_motion_photos(g, items)
        g.reclaimable_bytes = _reclaimable(g, items)
        groups.append(g)
        keeper = next(m.id for m in g.members if m.keep)
        for m in ids:
            keeper_of_class[cls(m)] = keeper

    # 4. Review groups over the clusters' keepers: nothing in them is proposed for removal.
    def node(c: int) -> int:
        return keeper_of_class.get(c, face(c))

    reasons = {"burst": "never proposed for removal", "edited": "an edit and its original: both kept",
               "similar": "similar, not the same photo: for review"}  # fmt: skip
    for kind in ("burst", "edited", "similar"):
        edges = {(node(a), node(b)) for (a, b), (k, _, _) in relations.items() if k == kind}
        edges = {tuple(sorted(e)) for e in edges if e[0] != e[1]}
        parts = components(edges) if kind != "similar" else cliques(edges)
        if lazy is not None:
            lazy.load(m for ids in parts for i in ids for m in (i, *units.get(i, ())))
        for ids in parts:
            g = _group(kind, ids, reasons[kind], items, units)
            for m in g.members:
                m.keep, m.reason = True, f"kept: {reasons[kind]}"
            groups.append(g)

    # 5. Units on their own, so a person sees what moves together.
    for rep_id, parts in units.items():
        g = Group(
            group_id("unit", [rep_id, *parts]),
            "unit",
            [],
            why=_unit_why(items[rep_id], [items[p] for p in parts]),
        )
        for i in [rep_id, *parts]:
            it = items[i]
            g.members.append(Member(i, it.path, it.source_kind, True, "kept: parts of one capture", it.uuid))
        groups.append(g)

    if not include_skipped:
        groups = [g for g in groups if g.id not in skipped]
    order = {"exact": 0, "same": 1, "edited": 2, "burst": 3, "similar": 4, "unit": 5}
    groups.sort(key=lambda g: (order[g.kind], -g.reclaimable_bytes, -len(g.members), g.id))
    return groups


def _allowed(a: int, b: int, not_dup: set[tuple[int, int]]) -> bool:
    return (min(a, b), max(a, b)) not in not_dup


def _near_relations(
    items, lazy, tb: _Table, is_rep, members_of, multi_face, pos, t, not_dup
) -> dict[tuple[int, int], tuple[str, int | None, str]]:
    """Candidate pairs from one index over every class's pHash and its turned/trimmed variants."""
    from photodedup.match.candidates import near_pairs
    from photodedup.match.relate import relate_variant

    # The class faces, in the order their classes first appear: a singleton is its own face.
    is_face = is_rep.copy()
    if members_of:
        multi = np.fromiter((i for ms in members_of.values() for i in ms), np.int64)
        is_face &= ~np.isin(tb.ids, multi)
    face_pos = np.flatnonzero(is_face)
    first_pos = face_pos  # where each class first appears
    class_ids = tb.ids[face_pos]  # a class is named by its least id
    if members_of:
        extra = [(pos(ms[0]), pos(multi_face[c]), c) for c, ms in members_of.items()]
        first_pos = np.concatenate([first_pos, np.array([e[0] for e in extra], np.int64)])
        face_pos = np.concatenate([face_pos, np.array([e[1] for e in extra], np.int64)])
        class_ids = np.concatenate([class_ids, np.array([e[2] for e in extra], np.int64)])
        order = np.argsort(first_pos, kind="stable")
        face_pos, class_ids = face_pos[order], class_ids[order]
    keep = tb.has_phash[face_pos] & tb.is_image[face_pos]
    face_pos, class_ids = face_pos[keep], class_ids[keep]
    out: dict[tuple[int, int], tuple[str, int | None, str]] = {}
    n = len(face_pos)
    if n < 2:
        return out
    face_ids = tb.ids[face_pos]
    # Three lookups: the photos' own pHashes among themselves at the "similar" distance; their turned and
    # trimmed variants against the photos at the tighter "same photo" distance; and trimmed against
    # trimmed (two copies framed differently). Two turned variants meeting add nothing, so they are never
    # searched. r270 is left out: a copy turned the other way is found through that copy's own r90.
    # Positions: 0..n-1 the photos, n.. their variants (the pairs come out as one search over both would).
    has_alt = tb.has_alt[face_pos]
    var_owner, var_kind = np.nonzero(has_alt)  # row-major: each class's variants in r90, r180, trim order
    arr = np.concatenate([tb.phash[face_pos], tb.alts[face_pos][var_owner, var_kind]])
    owner = np.concatenate([np.arange(n), var_owner])
    variant = np.concatenate([np.full(n, -1), var_kind])  # -1: the photo itself; else an index into _ALTS
    primary_pairs = near_pairs(arr[:n], t.similar)
    variant_pairs = _variant_pairs(arr[:n], arr[n:], var_kind == _ALTS.index("trim"), t.phash)
    pairs = np.concatenate([primary_pairs, variant_pairs])
    vi, vj = variant[pairs[:, 0]], variant[pairs[:, 1]]
    trim = _ALTS.index("trim")
    keep = ~((vi >= 0) & (vj >= 0) & ~((vi == trim) & (vj == trim)))  # two turned variants add nothing
    oi, oj = owner[pairs[:, 0]], owner[pairs[:, 1]]
    keep &= oi != oj
    pairs, vi, vj, oi, oj = pairs[keep], vi[keep], vj[keep], oi[keep], oj[keep]
    distances = np.bitwise_count(arr[pairs[:, 0]] ^ arr[pairs[:, 1]]) if len(pairs) else np.empty(0, int)
    fa_all, fb_all = face_ids[oi], face_ids[oj]
    if lazy is not None:
        lazy.load(np.unique(np.concatenate([fa_all, fb_all])).tolist())
    rank = {"exact": 0, "same": 1, "edited": 2, "burst": 3, "similar": 4}
    cid = class_ids.tolist()
    for a, b, fa, fb, v_i, v_j, dist in zip(
        oi.tolist(),
        oj.tolist(),
        fa_all.tolist(),
        fb_all.tolist(),
        vi.tolist(),
        vj.tolist(),
        distances.tolist(),
        strict=True,
    ):
        if not _allowed(fa, fb, not_dup):
            continue
        if v_i < 0 and v_j < 0:
            rel = relate(items[fa], items[fb], t)
        else:
            rel = relate_variant(items[fa], items[fb], _ALTS[v_i if v_i >= 0 else v_j], dist, t)
        if rel is None:
            continue
        ca, cb = cid[a], cid[b]
        key = (min(ca, cb), max(ca, cb))
        if key not in out or rank[rel[0]] < rank[out[key][0]]:
            out[key] = rel
    return out


def _variant_pairs(photos: np.ndarray, variants: np.ndarray, is_trim: np.ndarray, d: int) -> np.ndarray:
    """Pairs (photo, n + variant) and (n + trim, n + trim) within d, sorted (positions of _near_relations)."""
    from photodedup.match.candidates import near_pairs, near_pairs_between

    n, size = len(photos), len(photos) + len(variants)
    if not len(variants):
        return np.empty((0, 2), np.int64)
    vp = near_pairs_between(photos, variants, d)
    trims = np.flatnonzero(is_trim)
    tt = trims[near_pairs(variants[trims], d)]  # trims ascending: pairs stay (lower, higher)
    keys = np.sort(np.concatenate([vp[:, 0] * size + n + vp[:, 1], (n + tt[:, 0]) * size + n + tt[:, 1]]))
    return np.stack([keys // size, keys % size], axis=1)


def _why(cluster: list[int], relations) -> str:
    whys = [relations[(a, b)][2] for a in cluster for b in cluster if a < b and (a, b) in relations]
    noun = "video" if whys and whys[0].startswith("the same video") else "photo"
    return whys[0] if len(whys) == 1 else f"the same {noun} ({len(cluster)} versions, every pair alike)"


def _group(kind: str, ids: list[int], why: str, items: dict[int, MatchItem], units) -> Group:
    members = [
        Member(i, items[i].path, items[i].source_kind, False, "", items[i].uuid, list(units.get(i, [])))
        for i in sorted(ids)
    ]
    return Group(group_id(kind, ids), kind, members, why=why)  # type: ignore[arg-type]


def _protect_parts(g: Group, items: dict[int, MatchItem]) -> None:
    """A Photos edit render lives and dies with its asset: it is never removed on its own."""
    for m in g.members:
        if items[m.id].kind == "asset_part" and not m.keep:
            m.keep = True
            m.reason = "kept: part of a Photos asset (its edited render); it goes only with the asset"


def _protect_motion_photos(g: Group, items: dict[int, MatchItem]) -> None:
    """A video file kept over a motion photo (a person chose it, the photo is in the trash) does not hold
    the photo's still: a motion photo is never removed in favour of a bare video."""
    if not any(m.keep and items[m.id].media_type == "video" for m in g.members):
        return
    for m in g.members:
        if not m.keep and items[m.id].media_type == "image":
            m.keep = True
            m.reason = "kept: a motion photo; the kept video file does not hold its still"


def _reclaimable(g: Group, items: dict[int, MatchItem]) -> int:
    total = 0
    for m in g.members:
        if not m.keep and items[m.id].on_disk:
            total += items[m.id].size or 0
            total += sum(items[c].size or 0 for c in m.companions if c in items and items[c].on_disk)
    return total


def _unit_why(rep: MatchItem, parts: list[MatchItem]) -> str:
    roles = {p.role for p in parts}
    if "raw" in roles or any(p.media_type == "image" for p in parts):
        return "RAW + JPEG of one shot"
    return "a Live Photo: still and video"
