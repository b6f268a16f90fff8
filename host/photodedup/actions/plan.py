"""The reviewable plan: which copies go, what the keepers gain, and what only Photos can do.

A plan is plain JSON so a person can read (and trim) it before anything happens. It
records, for every file that would move, the size and BLAKE3 digest seen at planning
time: ``apply`` refuses to move a file whose bytes changed since, so a plan can never
remove something the user did not review. Only ``exact`` and ``same`` groups (and
``edited`` ones when the user asks) produce removals; bursts, units and similar
pictures are listed for review but never proposed. Format: docs/plan-format.md.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from blake3 import blake3

from photodedup.match.model import Group, MatchItem

__all__ = [
    "PLAN_FORMAT",
    "PLAN_VERSION",
    "PlanError",
    "build_plan",
    "file_digest",
    "find_sidecars",
    "read_plan",
    "source_folder_name",
    "validate_plan",
    "write_plan",
]

PLAN_FORMAT = "photodedup-plan"
PLAN_VERSION = 1
MergeInto = Literal["xmp", "file"]

# Group kinds whose non-keepers are proposed for removal; "edited" only with consent.
REMOVABLE_KINDS = ("exact", "same")
_FILE_SOURCES = ("folder", "takeout", "file")
_SIDECAR_EXTS = (".xmp", ".aae", ".json")
_GAIN_KEYS = ("keywords", "albums", "favorite", "description", "taken_at", "taken_offset", "gps")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_NEVER = {
    "burst": "frames of one burst are never proposed for removal",
    "unit": "parts of one capture (Live Photo, RAW+JPEG) are one photo, not duplicates",
    "similar": "similar pictures are for review only",
    "edited": "an edit and its original are both kept unless you ask (include_edited)",
}


class PlanError(ValueError):
    """The plan is malformed, of another format, or from a newer photodedup."""


# -- small shared helpers -------------------------------------------------------------
def file_digest(path: str | os.PathLike[str], chunk: int = 1 << 20) -> tuple[int, str]:
    """(size, BLAKE3 hex) of a file's bytes, read once in chunks."""
    h = blake3()
    size = 0
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


def source_folder_name(root: str) -> str:
    """``<name>-<8 hex>``: readable, and distinct for two sources with the same folder name."""
    name = os.path.basename(os.path.normpath(root)) or "root"
    name = re.sub(r"[^\w.\- ]", "_", name)[:60]
    return f"{name}-{blake3(os.fsencode(root)).hexdigest()[:8]}"


def in_photos_library(path: str) -> bool:
    """True for any path inside a ``*.photoslibrary`` bundle: those files are never touched."""
    return any(part.lower().endswith(".photoslibrary") for part in Path(path).parts[:-1])


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def find_sidecars(
    path: str,
    *,
    meta: dict | None = None,
    moving: set[str] | None = None,
    listing: list[str] | None = None,
) -> list[str]:
    """Sidecar files of ``path``: XMP, Apple AAE, Google Takeout JSON.

    ``name.ext.xmp``/``name.ext.json`` belong to the file alone. Stem-named ones
    (``name.xmp``, ``name.AAE``, ``IMG_O1234.AAE``) and the Takeout JSON may be shared
    (a RAW+JPEG pair, an ``-edited`` copy): with ``moving`` given, they are returned only
    when no other file with that stem stays behind, so a move never strands a sibling.
    """
    folder, name = os.path.split(path)
    stem = os.path.splitext(name)[0].lower()
    if listing is None:
        try:
            listing = sorted(os.listdir(folder or "."))
        except OSError:
            listing = []
    shared_ok = True
    if moving is not None:
        shared_ok = not any(
            os.path.join(folder, e) not in moving
            and os.path.splitext(e)[1].lower() not in _SIDECAR_EXTS
            and e.lower().startswith(stem)
            for e in listing
        )
    own = {f"{name.lower()}.xmp", f"{name.lower()}.json"}
    shared = {f"{stem}.xmp", f"{stem}.aae"}
    if m := re.match(r"^img_(\d{4})$", stem):
        shared.add(f"img_o{m.group(1)}.aae")
    wanted = own | shared if shared_ok else own
    out = [os.path.join(folder, e) for e in listing if e.lower() in wanted]
    meta = meta or {}
    sc = (meta.get("takeout") or {}).get("sidecar_path")
    owned = moving is None or not meta.get("takeout_edited")  # an -edited copy shares its original's
    if sc and sc not in out and shared_ok and owned and os.path.isfile(sc):
        out.append(sc)
    return out


# -- building -------------------------------------------------------------------------
def build_plan(
    groups: list[Group],
    items: dict[int, MatchItem],
    *,
    store_path: str | os.PathLike[str] | None = None,
    preset: str = "default",
    merge_into: MergeInto = "xmp",
    include_edited: bool = False,
    album: str | None = None,
) -> dict:
    """The plan for these groups (keep flags already set by the keeper rules).

    ``items`` must answer for the groups' members and their parts: every live item, or the
    ``StoreItems`` that ``find_groups`` filled (it reads any other id from the store when asked).
    ``store_path`` is read for what MatchItem does not carry (GPS coordinates, exact
    file-system paths of names that are not UTF-8); without it those come from item meta.
    """
    from photodedup.actions.applephotos import DEFAULT_ALBUM, apple_section

    if merge_into not in ("xmp", "file"):
        raise ValueError(f"merge_into must be 'xmp' or 'file', not {merge_into!r}")
    removable = (*REMOVABLE_KINDS, "edited") if include_edited else REMOVABLE_KINDS
    wanted = {i for g in groups for m in g.members for i in (m.id, *m.companions)}
    extra = _store_extras(store_path, sorted(wanted))
    b = _Builder(items, extra, merge_into)
    # A unit group marks its parts "kept" only to say that it removes nothing by itself: that must not shield
    # a Live pair (or RAW + JPEG) from being removed whole, as the duplicate of another copy of the pair.
    keeper_ids = {m.id for g in groups if g.kind != "unit" for m in g.members if m.keep}
    for g in sorted(groups, key=lambda g: g.id):
        b.group(g, removable=g.kind in removable, keeper_ids=keeper_ids)
    merges = b.merges()
    plan: dict[str, Any] = {
        "format": PLAN_FORMAT,
        "version": PLAN_VERSION,
        "id": "",
        "created": _now(),
        "store": str(store_path) if store_path else None,
        "preset": preset,
        "merge_into": merge_into,
        "include_edited": include_edited,
        "summary": {},
        "groups": b.groups,
        "removals": b.removals,
        "merge": merges,
        "skipped": b.skipped,
        "apple": apple_section(b.removals, merges, album=album or DEFAULT_ALBUM),
    }
    plan["summary"] = _summary(plan)
    body = {k: plan[k] for k in ("groups", "removals", "merge", "merge_into")}
    plan["id"] = blake3(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
    return plan


def _store_extras(store_path: Any, ids: list[int]) -> dict[int, dict]:
    """id -> {gps_lat, gps_lon, gps_alt, key} for these items, from the store when there is one."""
    if not store_path or not os.path.exists(store_path):
        return {}
    from photodedup.store.db import Store

    store = Store(store_path)
    try:
        out: dict[int, dict] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for row in store.items(f"id IN ({marks})", chunk):
                out[row["id"]] = {
                    "gps_lat": row.get("gps_lat"),
                    "gps_lon": row.get("gps_lon"),
                    "gps_alt": row.get("gps_alt"),
                    "key": row.get("key"),
                }
        return out
    finally:
        store.close()


class _Builder:
    """Accumulates removals, merge sources and skips while walking the groups once."""

    def __init__(self, items: dict[int, MatchItem], extra: dict[int, dict], merge_into: str):
        self.items = items
        self.extra = extra
        self.merge_into = merge_into
        self.groups: list[dict] = []
        self.removals: list[dict] = []
        self.skipped: list[dict] = []
        self._removed: set[int] = set()
        self._sources: dict[int, list[int]] = {}  # keeper id -> removed item ids (merge sources)
        self._keeper_groups: dict[int, list[str]] = {}
        self._listing: dict[str, list[str]] = {}

    def skip(self, group: str, item: int | None, reason: str) -> None:
        self.skipped.append({"group": group, "item": item, "reason": reason})

    def group(self, g: Group, *, removable: bool, keeper_ids: set[int]) -> None:
        keepers = [m for m in g.members if m.keep]
        entry: dict[str, Any] = {
            "id": g.id,
            "kind": g.kind,
            "why": g.why,
            "keepers": [self._ref(m.id) for m in keepers],
            "members": [
                {"item": m.id, "path": m.path, "uuid": m.uuid, "keep": m.keep, "reason": m.reason}
                for m in g.members
            ],
            "removals": [],
        }
        self.groups.append(entry)
        if not removable:
            entry["note"] = _NEVER.get(g.kind, f"{g.kind} groups produce no removals")
            return
        problem = self._keeper_problem(g, keepers)
        if problem:
            entry["note"] = problem
            self.skip(g.id, None, problem)
            return
        keeper = self.items[keepers[0].id]
        protected = {m.id for m in keepers} | {c for m in keepers for c in m.companions}
        for m in g.members:
            if m.keep:
                continue
            reason = self._removal_problem(m, protected, keeper_ids)
            if reason:
                self.skip(g.id, m.id, reason)
                continue
            removal = self._removal(g, m, keeper)
            if isinstance(removal, str):
                self.skip(g.id, m.id, removal)
                continue
            self.removals.append(removal)
            entry["removals"].append(removal["id"])
            self._removed.add(m.id)
            self._removed.update(m.companions)
            self._sources.setdefault(keeper.id, []).append(m.id)
            self._keeper_groups.setdefault(keeper.id, [])
            if g.id not in self._keeper_groups[keeper.id]:
                self._keeper_groups[keeper.id].append(g.id)

    def _ref(self, item_id: int) -> dict:
        it = self.items.get(item_id)
        if it is None:
            return {"item": item_id}
        return {"item": item_id, "path": it.path, "uuid": it.uuid, "source": it.source_kind}

    def _keeper_problem(self, g: Group, keepers: list) -> str | None:
        if not keepers:
            return "no member is marked as the keeper"
        for m in g.members:
            if m.id not in self.items:
                return f"item {m.id} is not in the items given"
        k = self.items[keepers[0].id]
        if k.trashed:
            return "the keeper is in Photos' Recently Deleted"
        if k.status not in ("ok", "not_on_disk") or (k.status == "not_on_disk" and k.kind != "asset"):
            return f"the keeper's status is {k.status!r}"
        if k.kind == "file" and not os.path.isfile(self._fs_path(k)):
            return f"the keeper {k.path} is not on disk any more"
        return None

    def _removal_problem(self, m: Any, protected: set[int], keeper_ids: set[int]) -> str | None:
        it = self.items[m.id]
        if m.id in protected or m.id in keeper_ids:
            return "this item is a keeper (or part of one) in some group"
        if set(m.companions) & (protected | keeper_ids):
            return "a part that moves with this item is a keeper"
        if m.id in self._removed:
            return "already proposed for removal by another group"
        if it.kind not in ("file", "asset"):
            return f"a {it.kind} cannot be removed on its own (it goes with its photo)"
        if it.trashed:
            return "already in Photos' Recently Deleted"
        return None

    def _removal(self, g: Group, m: Any, keeper: MatchItem) -> dict | str:
        it = self.items[m.id]
        what = {"exact": "exact copy of", "same": "the same photo as", "edited": "an edit related to"}
        of = keeper.path or f"Photos asset {keeper.uuid}"
        parts = [f"{what.get(g.kind, g.kind)} {of}", m.reason, g.why]
        reason = "; ".join(dict.fromkeys(x for x in parts if x))
        base: dict[str, Any] = {
            "id": f"{g.id}:{m.id}",
            "group": g.id,
            "kind": g.kind,
            "item": m.id,
            "keeper": keeper.id,
            "reason": reason,
            "source": {"kind": it.source_kind, "root": it.source_root, "id": it.source_id},
            "uuid": it.uuid,
            "library": None,
        }
        if keeper.source_kind in _FILE_SOURCES:
            # apply checks the keeper is still there before its copy leaves
            kf = self._file(keeper.id)
            if isinstance(kf, str):
                return f"the keeper: {kf}"
            base["keeper_file"] = {k: kf[k] for k in ("path", "size", "blake3")}
        if it.source_kind == "photos_library":
            base |= {
                "action": "photos",
                "library": it.source_root,
                "path": it.path,
                "size": it.size,
                "blake3": it.blake3,
                "name": it.name,
                "companions": [self._part(c) for c in m.companions if c in self.items],
                "sidecars": [],
            }
            if not it.uuid or not it.source_root:
                return "a Photos asset without a uuid or library"
            return base
        if it.source_kind not in _FILE_SOURCES:
            return f"unknown source kind {it.source_kind!r}"
        if not it.on_disk:
            return f"not on disk (status {it.status!r})"
        main = self._file(m.id)
        if isinstance(main, str):
            return main
        parts = []
        for c in m.companions:
            if c not in self.items:
                return f"its part {c} is not in the items given"
            part = self._file(c)
            if isinstance(part, str):
                return f"its part {c}: {part}"
            parts.append(part)
        moving = {main["path"], *(p["path"] for p in parts)}
        for p in moving:
            if in_photos_library(p):
                return "inside a Photos library bundle: never touched"
        sidecars = []
        for p in sorted(moving):
            for sc in self._sidecars(p, moving, it.meta if p == main["path"] else {}):
                if sc not in moving and all(s["path"] != sc for s in sidecars):
                    try:
                        size, digest = file_digest(sc)
                    except OSError as e:
                        return f"its sidecar {sc} is unreadable: {e.strerror or e}"
                    sidecars.append({"path": sc, "size": size, "blake3": digest})
        base |= {
            "action": "quarantine",
            "path": main["path"],
            "size": main["size"],
            "blake3": main["blake3"],
            "companions": parts,
            "sidecars": sidecars,
        }
        return base

    def _fs_path(self, it: MatchItem) -> str:
        """The path as the file system spells it (the store's key for names not in UTF-8)."""
        assert it.path is not None
        if os.path.lexists(it.path):
            return it.path
        key = self.extra.get(it.id, {}).get("key")
        if key and it.kind == "file":
            p = os.fsdecode(bytes(key))
            if os.path.lexists(p):
                return p
        return it.path

    def _file(self, item_id: int) -> dict | str:
        it = self.items[item_id]
        if not it.on_disk:
            return f"not on disk (status {it.status!r})"
        path = self._fs_path(it)
        try:
            st = os.stat(path)
        except OSError as e:
            return f"cannot stat {it.path}: {e.strerror or e}"
        digest = it.blake3
        size = it.size if it.size is not None else st.st_size
        if not digest or st.st_size != size:
            # Not fingerprinted, or changed since the scan: describe what is there now.
            size, digest = file_digest(path)
        return {"item": item_id, "role": it.role, "path": path, "size": size, "blake3": digest}

    def _part(self, item_id: int) -> dict:
        it = self.items[item_id]
        return {"item": item_id, "role": it.role, "path": it.path, "size": it.size, "blake3": it.blake3}

    def _list(self, folder: str) -> list[str]:
        if folder not in self._listing:
            try:
                self._listing[folder] = sorted(os.listdir(folder))
            except OSError:
                self._listing[folder] = []
        return self._listing[folder]

    def _sidecars(self, path: str, moving: set[str], meta: dict) -> list[str]:
        return find_sidecars(path, meta=meta, moving=moving, listing=self._list(os.path.dirname(path)))

    # -- merges --------------------------------------------------------------------
    def merges(self) -> list[dict]:
        out = []
        for keeper_id in sorted(self._sources):
            keeper = self.items[keeper_id]
            removed = [self.items[i] for i in self._sources[keeper_id]]
            gains, used = _gains(keeper, removed, self._coords, photos=keeper.kind == "asset")
            if not gains:
                continue
            entry: dict[str, Any] = {
                "keeper": keeper_id,
                "groups": self._keeper_groups[keeper_id],
                "path": keeper.path,
                "uuid": keeper.uuid,
                "library": keeper.source_root if keeper.source_kind == "photos_library" else None,
                "gains": gains,
                "from": used,
            }
            if keeper.source_kind == "photos_library":
                entry["target"] = "photos"
            elif keeper.on_disk and keeper.source_kind in _FILE_SOURCES:
                entry["target"] = self.merge_into
                entry["path"] = self._fs_path(keeper)
                if self.merge_into == "xmp":
                    entry["sidecar"] = entry["path"] + ".xmp"
            else:
                entry["target"] = "none"
                entry["note"] = "the keeper is not on disk: nothing can take this metadata"
                self._block(keeper_id, "the keeper cannot take this copy's metadata (not on disk)")
            out.append(entry)
        return out

    def _block(self, keeper_id: int, reason: str) -> None:
        """Drop removals whose metadata would have nowhere to go."""
        keep = []
        for r in self.removals:
            if r["keeper"] == keeper_id:
                self.skip(r["group"], r["item"], reason)
                for g in self.groups:
                    if r["id"] in g["removals"]:
                        g["removals"].remove(r["id"])
            else:
                keep.append(r)
        self.removals[:] = keep

    def _coords(self, it: MatchItem) -> dict | None:
        e = self.extra.get(it.id, {})
        lat, lon, alt = e.get("gps_lat"), e.get("gps_lon"), e.get("gps_alt")
        if lat is None or lon is None:
            for src in (it.meta.get("asset") or {}, it.meta.get("takeout") or {}):
                if src.get("latitude") is not None and src.get("longitude") is not None:
                    lat, lon, alt = src["latitude"], src["longitude"], src.get("altitude")
                    break
        if lat is None or lon is None:
            return None
        out = {"lat": float(lat), "lon": float(lon)}
        if alt is not None:
            out["alt"] = float(alt)
        return out


def _taken(it: MatchItem) -> tuple[str | None, str | None]:
    if it.taken_at:
        return it.taken_at, it.taken_offset
    t = (it.meta.get("takeout") or {}).get("photo_taken_time")
    if t is not None:
        return datetime.fromtimestamp(t, UTC).isoformat(), None
    return None, None


def _unique_new(have: Iterable[str], extra: Iterable[str]) -> list[str]:
    seen = {h.casefold() for h in have}
    out = []
    for x in extra:
        if x and x.casefold() not in seen:
            seen.add(x.casefold())
            out.append(x)
    return out


def _gains(
    keeper: MatchItem, removed: list[MatchItem], coords: Any, *, photos: bool
) -> tuple[dict, list[int]]:
    """What the keeper lacks that a removed copy had; and which copies it comes from."""
    gains: dict[str, Any] = {}
    used: set[int] = set()
    keywords = _unique_new(keeper.keywords, (k for r in removed for k in r.keywords))
    if keywords:
        gains["keywords"] = keywords
        used |= {r.id for r in removed if set(r.keywords) & set(keywords)}
    albums = _unique_new(keeper.albums, (a for r in removed for a in r.albums))
    if albums:
        gains["albums"] = albums
        used |= {r.id for r in removed if set(r.albums) & set(albums)}
    if not keeper.favorite and (fav := [r for r in removed if r.favorite]):
        gains["favorite"] = True
        used.add(fav[0].id)
    if not keeper.description and (desc := [r for r in removed if r.description]):
        gains["description"] = desc[0].description
        used.add(desc[0].id)
    if not photos and _taken(keeper)[0] is None:  # Photos always has a date for an asset
        for r in removed:
            taken, offset = _taken(r)
            if taken:
                gains["taken_at"] = taken
                if offset:
                    gains["taken_offset"] = offset
                used.add(r.id)
                break
    if not keeper.gps:
        for r in removed:
            c = coords(r)
            if c:
                gains["gps"] = c
                used.add(r.id)
                break
    return gains, sorted(used)


def _summary(plan: dict) -> dict:
    q = [r for r in plan["removals"] if r["action"] == "quarantine"]
    p = [r for r in plan["removals"] if r["action"] == "photos"]
    files = sum(1 + len(r["companions"]) + len(r["sidecars"]) for r in q)
    size = sum(
        r["size"] + sum(c["size"] for c in r["companions"]) + sum(s["size"] for s in r["sidecars"]) for r in q
    )
    by_kind: dict[str, int] = {}
    for g in plan["groups"]:
        by_kind[g["kind"]] = by_kind.get(g["kind"], 0) + 1
    return {
        "groups": len(plan["groups"]),
        "groups_by_kind": by_kind,
        "removals": len(plan["removals"]),
        "quarantine_removals": len(q),
        "quarantine_files": files,
        "quarantine_bytes": size,
        "photos_removals": len(p),
        "photos_bytes": sum(r["size"] or 0 for r in p),
        "merges": len(plan["merge"]),
        "skipped": len(plan["skipped"]),
    }


# -- reading and writing ------------------------------------------------------------
def write_plan(plan: dict, path: str | os.PathLike[str]) -> Path:
    """Validate, then write atomically (temp file, fsync, rename): never half a plan."""
    validate_plan(plan)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        text = json.dumps(plan, indent=2, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a path that is not UTF-8 (kept as surrogates): escape everything
        text = json.dumps(plan, indent=2).encode("ascii")
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(text + b"\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def read_plan(path: str | os.PathLike[str]) -> dict:
    """Load and validate a plan file; PlanError says what is wrong with it."""
    try:
        with open(path, encoding="utf-8") as f:
            plan = json.load(f)
    except json.JSONDecodeError as e:
        raise PlanError(f"{path} is not valid JSON: {e}") from e
    validate_plan(plan)
    return plan


def _need(cond: bool, msg: str) -> None:
    if not cond:
        raise PlanError(msg)


def _check_file(d: Any, where: str) -> None:
    _need(isinstance(d, dict), f"{where} must be an object")
    _need(isinstance(d.get("path"), str) and bool(d["path"]), f"{where}.path must be a path")
    _need(isinstance(d.get("size"), int) and d["size"] >= 0, f"{where}.size must be a byte count")
    _need(
        isinstance(d.get("blake3"), str) and bool(_HEX64.match(d["blake3"])),
        f"{where}.blake3 must be 64 hex digits",
    )


def validate_plan(plan: Any) -> None:
    """Structural checks a hand-edited plan must still pass before anything acts on it."""
    _need(isinstance(plan, dict), "a plan is a JSON object")
    _need(plan.get("format") == PLAN_FORMAT, f"not a photodedup plan (format {plan.get('format')!r})")
    v = plan.get("version")
    _need(isinstance(v, int), "plan version missing")
    _need(v <= PLAN_VERSION, f"plan version {v} is newer than this photodedup understands ({PLAN_VERSION})")
    _need(isinstance(plan.get("id"), str) and bool(plan["id"]), "plan id missing")
    _need(plan.get("merge_into") in ("xmp", "file"), "merge_into must be 'xmp' or 'file'")
    for key in ("groups", "removals", "merge", "skipped"):
        _need(isinstance(plan.get(key), list), f"{key} must be a list")
    _need(isinstance(plan.get("apple"), dict), "apple must be an object")
    keeper_paths = {
        k.get("path")
        for g in plan["groups"]
        if isinstance(g, dict) and g.get("kind") != "unit"  # see build_plan: a unit keeps nothing by itself
        for k in g.get("keepers") or []
    } - {None}
    ids: set[str] = set()
    paths: set[str] = set()
    for i, r in enumerate(plan["removals"]):
        where = f"removals[{i}]"
        _need(isinstance(r, dict), f"{where} must be an object")
        _need(isinstance(r.get("id"), str) and r["id"] not in ids, f"{where}.id missing or repeated")
        ids.add(r["id"])
        _need(r.get("action") in ("quarantine", "photos"), f"{where}.action must be quarantine or photos")
        _need(isinstance(r.get("keeper"), int), f"{where}.keeper must be an item id")
        _need(isinstance(r.get("source"), dict), f"{where}.source must be an object")
        if r.get("keeper_file") is not None:
            _check_file(r["keeper_file"], f"{where}.keeper_file")
        if r["action"] == "quarantine":
            _check_file(r, where)
            _need(r["source"].get("kind") in _FILE_SOURCES, f"{where}: only files of folders move")
            _need(isinstance(r["source"].get("root"), str), f"{where}.source.root must be a path")
            for key in ("companions", "sidecars"):
                _need(isinstance(r.get(key), list), f"{where}.{key} must be a list")
                for j, c in enumerate(r[key]):
                    _check_file(c, f"{where}.{key}[{j}]")
            for p in [r["path"], *(c["path"] for c in r["companions"] + r["sidecars"])]:
                _need(not in_photos_library(p), f"{where}: {p} is inside a Photos library")
                _need(p not in keeper_paths, f"{where}: {p} is also a keeper")
                _need(p not in paths, f"{where}: {p} is listed by two removals")
                paths.add(p)
        else:
            _need(isinstance(r.get("uuid"), str) and bool(r["uuid"]), f"{where}.uuid missing")
            _need(isinstance(r.get("library"), str) and bool(r["library"]), f"{where}.library missing")
    for i, m in enumerate(plan["merge"]):
        where = f"merge[{i}]"
        _need(isinstance(m, dict) and isinstance(m.get("keeper"), int), f"{where}.keeper must be an item id")
        _need(m.get("target") in ("xmp", "file", "photos", "none"), f"{where}.target is unknown")
        gains = m.get("gains")
        _need(isinstance(gains, dict), f"{where}.gains must be an object")
        _need(set(gains) <= set(_GAIN_KEYS), f"{where}.gains has unknown keys {set(gains) - set(_GAIN_KEYS)}")
        for key in ("keywords", "albums"):
            if key in gains:
                ok = isinstance(gains[key], list) and all(isinstance(x, str) for x in gains[key])
                _need(ok, f"{where}.gains.{key} must be a list of strings")
        if "gps" in gains:
            g = gains["gps"]
            ok = isinstance(g, dict) and all(isinstance(g.get(k), int | float) for k in ("lat", "lon"))
            _need(ok, f"{where}.gains.gps needs lat and lon")
        if m["target"] in ("xmp", "file"):
            _need(isinstance(m.get("path"), str), f"{where}.path must be the keeper's path")
            _need(
                not in_photos_library(m["path"]),
                f"{where}: a keeper inside a Photos library is edited in Photos",
            )
        if m["target"] == "xmp":
            _need(isinstance(m.get("sidecar"), str), f"{where}.sidecar must be the sidecar's path")
