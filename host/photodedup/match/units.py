"""Parts of one capture that must stay together: Live Photo still + video, RAW + JPEG, library parts.

A unit is matched through its representative (the still a person sees) and its
other parts travel with it as companions: never matched on their own, never
proposed as duplicates of each other, moved together.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Container

from photodedup.match.model import MatchItem

__all__ = ["RAW_EXTENSIONS", "find_units"]

RAW_EXTENSIONS = {
    ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".raf", ".orf", ".rw2", ".pef",
    ".srw", ".x3f", ".3fr", ".iiq", ".mrw", ".erf", ".kdc", ".raw",
}  # fmt: skip
_LIVE_MAX_SECONDS = 4.0


def _split(path: str) -> tuple[str, str, str]:
    folder, name = os.path.split(path)
    stem, ext = os.path.splitext(name)
    return folder, stem.lower(), ext.lower()


def find_units(items: dict[int, MatchItem], live: Container[int] | None = None) -> dict[int, list[int]]:
    """Representative id -> companion ids. Items not listed are units of one.

    ``items`` may be only the rows that can pair (``engine._unit_candidates``) when ``live`` holds the ids of
    every live item: a library part's parent need not be among the candidates.
    """
    live = items if live is None else live
    companions: dict[int, list[int]] = defaultdict(list)
    taken: set[int] = set()

    def attach(rep: int, part: int) -> None:
        if part in taken or part == rep or rep in taken:
            return
        companions[rep].append(part)
        taken.add(part)

    # Photos library: the asset row is the unit; its Live video and RAW are parts of it.
    for it in items.values():
        is_part = it.kind == "asset_part" and it.role in ("live_video", "edited_live_video", "raw")
        if is_part and it.parent_id in live:
            attach(it.parent_id, it.id)

    loose = [it for it in items.values() if it.kind == "file" and it.path and it.id not in taken]
    by_folder_stem: dict[tuple[str, str], list[MatchItem]] = defaultdict(list)
    for it in loose:
        folder, stem, _ = _split(it.path)
        by_folder_stem[(folder, stem)].append(it)

    # Live Photos among loose files: the content identifier in the still and in the MOV.
    by_cid: dict[str, list[MatchItem]] = defaultdict(list)
    for it in loose:
        if it.content_id:
            by_cid[it.content_id.upper()].append(it)
    for group in by_cid.values():
        stills = [i for i in group if i.media_type == "image"]
        videos = [i for i in group if i.media_type == "video"]
        for v in videos:
            if not stills:
                break
            vf, vs, _ = _split(v.path)
            best = min(stills, key=lambda s: (_split(s.path)[0] != vf, _split(s.path)[1] != vs, s.id))
            attach(best.id, v.id)

    # Fallback by name: IMG_1234.HEIC beside a short IMG_1234.MOV (exports that lost the identifier),
    # and RAW + JPEG of one shot.
    for same in by_folder_stem.values():
        if len(same) < 2:
            continue
        stills = [i for i in same if i.media_type == "image" and _split(i.path)[2] not in RAW_EXTENSIONS]
        if not stills:
            continue
        rep = min(stills, key=lambda s: s.id)
        for it in same:
            if it.id == rep.id or it.id in taken:
                continue
            ext = _split(it.path)[2]
            short_video = it.media_type == "video" and (it.duration or 0) <= _LIVE_MAX_SECONDS
            if ext in RAW_EXTENSIONS or (short_video and not it.content_id):
                attach(rep.id, it.id)
    # Takeout: the reader paired the video half of a Live/motion photo with its still.
    by_path = {it.path: it for it in loose}
    for it in loose:
        still = it.meta.get("takeout_live_still")
        if still and still in by_path:
            attach(by_path[still].id, it.id)
    return dict(companions)
