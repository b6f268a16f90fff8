"""What matching knows about an item, and what it answers: typed records, no I/O.

``MatchItem`` is built from a store row once (``from_row``); everything in
``match/`` works on these, so matching, grouping and the keeper rules are pure
functions that tests can feed directly.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Literal

from photodedup.fingerprint.video import VideoFingerprint

__all__ = ["KINDS", "ROW_COLUMNS", "Group", "GroupKind", "MatchItem", "Member", "Relation", "from_row"]

GroupKind = Literal["exact", "same", "edited", "burst", "unit", "similar"]
# exact   same bytes or same Apple fingerprint
# same    the same photo: same pixels, or perceptually equal at the same aspect ratio
# edited  an edit and its original (Photos render, IMG_E1234, Takeout -edited, re-imported export)
# burst   frames of one burst (same burst id, or a rapid sequence): never proposed for removal by default
# unit    parts of one capture (Live Photo still + video, RAW + JPEG): never split, never duplicates
# similar near, but not the same photo: for review only
KINDS: tuple[str, ...] = ("exact", "same", "edited", "burst", "unit", "similar")

_EDITED_NAME = re.compile(
    r"^(IMG_E\d{4}|.*[-_](edited|bearbeitet|modifié|modifie|editado|modificato|bewerkt|redigerad))\b",
    re.IGNORECASE,
)


@dataclass(slots=True)
class MatchItem:
    id: int
    path: str | None
    source_id: int | None
    source_kind: str  # folder | photos_library | takeout | file
    source_root: str | None
    kind: str  # file | asset | asset_part | sidecar
    role: str | None  # original | edited | live_video | edited_live_video | raw (library parts)
    parent_id: int | None
    uuid: str | None
    status: str  # ok | not_on_disk | ...
    media_type: str | None
    format: str | None
    size: int | None
    width: int | None  # as displayed (EXIF orientation applied)
    height: int | None
    blake3: str | None = None
    apple_fp: str | None = None
    pixel_sig: str | None = None
    phash: int | None = None
    ahash: int | None = None
    dhash: int | None = None
    whash: int | None = None
    alt_phashes: dict[str, int] = field(default_factory=dict)  # r90, r180, r270, trim
    taken_at: str | None = None
    taken_offset: str | None = None
    taken_subsec: float | None = None  # fraction of a second (EXIF SubSecTimeOriginal)
    make: str | None = None
    model: str | None = None
    gps: bool = False
    content_id: str | None = None
    burst_id: str | None = None
    duration: float | None = None
    video: VideoFingerprint | None = None  # perceptual video fingerprint (videos only)
    motion_blake3: str | None = None  # a motion photo's embedded video
    motion_still_blake3: str | None = None  # its bytes before the video: the bare still
    motion_video: VideoFingerprint | None = None  # its video's perceptual fingerprint (matched with videos)
    favorite: bool = False
    hidden: bool = False
    trashed: bool = False
    albums: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    description: str | None = None
    is_edit: bool = False  # this file is an edited version of some original
    cloud_copy: bool = False  # a compressed copy from a cloud service (Takeout storage saver, ...)
    date_added: str | None = None
    meta: dict = field(default_factory=dict)

    @property
    def on_disk(self) -> bool:
        return self.status == "ok" and self.path is not None

    @property
    def pixels(self) -> int:
        """Width x height; for a letterboxed or pillarboxed video only the picture inside the bars, rounded
        down to 1/32 of the frame, so that a barred copy never outranks its bar-free original."""
        pixels = (self.width or 0) * (self.height or 0)
        if self.video is not None and self.video.content < 1.0:
            return pixels * int(self.video.content * 32) // 32
        return pixels

    @property
    def aspect(self) -> float | None:
        if not self.width or not self.height:
            return None
        return max(self.width, self.height) / min(self.width, self.height)

    @property
    def name(self) -> str:
        original = (self.meta.get("asset") or {}).get("original_filename")
        if original and self.kind == "asset":
            return original
        return os.path.basename(self.path) if self.path else original or ""


_ALT_COLUMNS = tuple((name, f"phash_{name}") for name in ("r90", "r180", "r270", "trim"))
# The store columns ``from_row`` reads (a row may carry more): what a reader needs to SELECT.
ROW_COLUMNS: tuple[str, ...] = (
    "id", "path", "source_id", "kind", "role", "parent_id", "uuid", "status", "media_type", "format", "size",
    "width", "height", "orientation", "blake3", "apple_fp", "pixel_sig", "phash", "ahash", "dhash", "whash",
    *(column for _, column in _ALT_COLUMNS), "taken_at", "taken_offset", "taken_subsec", "make", "model",
    "gps_lat", "content_id", "burst_id", "duration", "video_hash", "motion_blake3", "motion_still_blake3",
    "motion_video_hash", "meta",
)  # fmt: skip
_intern = sys.intern


def _interned(value: str | None) -> str | None:
    """One copy of the strings a million rows repeat (kinds, formats, camera makes and models)."""
    return _intern(value) if type(value) is str else value


def _hex(value: str | None) -> int | None:
    return int(value, 16) if value else None


_NO_META: dict = {}


def from_row(row: dict, source: dict | None = None) -> MatchItem:
    """A store row (and its source row) as a MatchItem. (Hot: a million-photo library builds ~300,000.)"""
    get = row.get
    raw_meta = get("meta")
    meta = json.loads(raw_meta) if raw_meta else {}
    asset = meta.get("asset") or _NO_META if raw_meta else _NO_META
    takeout = meta.get("takeout") or _NO_META if raw_meta else _NO_META
    width, height = get("width"), get("height")
    if get("orientation") in (5, 6, 7, 8) and width and height:
        width, height = height, width
    # In a Photos library the file on disk is <UUID>.jpeg: the name a person gave is the original filename.
    path = get("path")
    name = asset.get("original_filename") or (os.path.basename(path) if path else "")
    role = get("role")
    is_edit = (
        role in ("edited", "edited_live_video")
        or bool(meta.get("takeout_edited"))
        or bool(_EDITED_NAME.match(os.path.splitext(name)[0]))
    )
    alt_phashes = {}
    for alt, column in _ALT_COLUMNS:
        if value := get(column):
            alt_phashes[alt] = int(value, 16)
    source = source or _NO_META
    return MatchItem(
        id=row["id"],
        path=path,
        source_id=get("source_id"),
        source_kind=source.get("kind") or "folder",
        source_root=source.get("root"),
        kind=_intern(row["kind"]),
        role=_interned(role),
        parent_id=get("parent_id"),
        uuid=get("uuid"),
        status=_intern(row["status"]),
        media_type=_interned(get("media_type")),
        format=_interned(get("format")),
        size=get("size"),
        width=width,
        height=height,
        blake3=get("blake3"),
        apple_fp=get("apple_fp"),
        pixel_sig=get("pixel_sig"),
        phash=_hex(get("phash")),
        ahash=_hex(get("ahash")),
        dhash=_hex(get("dhash")),
        whash=_hex(get("whash")),
        alt_phashes=alt_phashes,
        taken_at=get("taken_at"),
        taken_offset=get("taken_offset"),
        taken_subsec=get("taken_subsec"),
        make=_interned(get("make")),
        model=_interned(get("model")),
        gps=get("gps_lat") is not None,
        content_id=get("content_id"),
        burst_id=get("burst_id"),
        duration=get("duration"),
        video=VideoFingerprint.from_text(video_hash) if (video_hash := get("video_hash")) else None,
        motion_blake3=get("motion_blake3"),
        motion_still_blake3=get("motion_still_blake3"),
        motion_video=VideoFingerprint.from_text(get("motion_video_hash")),
        favorite=bool(asset.get("favorite") or takeout.get("favorited")),
        hidden=bool(asset.get("hidden")),
        trashed=bool(asset.get("trashed")),
        albums=list(asset.get("albums") or ([meta["takeout_album"]] if meta.get("takeout_album") else [])),
        keywords=list(asset.get("keywords") or []),
        description=asset.get("description") or takeout.get("description") or None,
        is_edit=is_edit,
        date_added=asset.get("date_added"),
        meta=meta,
    )


@dataclass(frozen=True, slots=True)
class Relation:
    """Why two items belong together, found by ``match.relate``."""

    a: int
    b: int
    kind: GroupKind
    distance: int | None = None  # perceptual distance that supported it, when one did
    why: str = ""


@dataclass(slots=True)
class Member:
    id: int
    path: str | None
    source: str
    keep: bool = False
    reason: str = ""
    uuid: str | None = None
    companions: list[int] = field(default_factory=list)  # unit parts that move with it (Live video, RAW)


@dataclass(slots=True)
class Group:
    id: str  # stable across runs: derived from the member ids
    kind: GroupKind
    members: list[Member]
    why: str = ""
    reclaimable_bytes: int = 0

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "why": self.why,
            "reclaimable_bytes": self.reclaimable_bytes,
            "members": [
                {
                    "id": m.id,
                    "path": m.path,
                    "uuid": m.uuid,
                    "source": m.source,
                    "keep": m.keep,
                    "reason": m.reason,
                    "companions": m.companions,
                }
                for m in self.members
            ],
        }
