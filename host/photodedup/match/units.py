"""Parts of one capture that must stay together: Live Photo still + video, RAW + JPEG, library parts.

A unit is matched through its representative (the still a person sees) and its
other parts travel with it as companions: never matched on their own, never
proposed as duplicates of each other, moved together.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Container
from datetime import datetime, timedelta

from photodedup.match.model import MatchItem

__all__ = ["RAW_EXTENSIONS", "find_units", "is_raw"]

RAW_EXTENSIONS = {
    ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".dng", ".raf", ".orf", ".rw2", ".pef",
    ".srw", ".x3f", ".3fr", ".iiq", ".mrw", ".erf", ".kdc", ".raw",
}  # fmt: skip
_LIVE_MAX_SECONDS = 4.0
_LIVE_TIME_SLACK = 2.0  # seconds between a Live still's capture time and its video's creation date
_NAME_TIME_SLACK = 2.0  # a same-name pair whose capture times are further apart is two captures
_RAW_NEAR_PHASH = 10  # a RAW preview and the camera's JPEG of the same shot: pHash bits apart at most


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
    elsewhere: list[tuple[MatchItem, list[MatchItem]]] = []  # videos whose still is in another folder
    for group in by_cid.values():
        stills = [i for i in group if i.media_type == "image"]
        videos = [i for i in group if i.media_type == "video"]
        for v in videos:
            if not stills:
                break
            vf, vs, _ = _split(v.path)
            best = min(stills, key=lambda s: (_split(s.path)[0] != vf, _split(s.path)[1] != vs, s.id))
            if _split(best.path)[0] == vf:
                attach(best.id, v.id)
            else:  # a still beside it may have lost the identifier: the fallbacks below look first
                elsewhere.append((v, stills))

    # Fallback by name: IMG_1234.HEIC beside a short IMG_1234.MOV (exports that lost the identifier),
    # and RAW + JPEG of one shot, unless their capture times or cameras say they are two captures.
    for same in by_folder_stem.values():
        if len(same) < 2:
            continue
        stills = [i for i in same if i.media_type == "image" and not is_raw(i)]
        if not stills:
            continue
        rep = min(stills, key=lambda s: s.id)
        for it in same:
            if it.id == rep.id or it.id in taken or _two_captures(rep, it):
                continue
            if is_raw(it) or (_short_video(it) and not it.content_id):
                attach(rep.id, it.id)

    # Fallback by capture time, for names that differ (renamed on export or download): a short video
    # created when a still in its folder was taken (a Live Photo), and a RAW with the JPEG the camera
    # wrote at the same instant (same camera, same time to the sub-second, the same picture).
    by_folder: dict[str, list[MatchItem]] = defaultdict(list)
    for it in loose:
        if it.taken_at:
            by_folder[_split(it.path)[0]].append(it)
    for members in by_folder.values():
        # Stills by the second they were taken, so each part looks only at the few taken near it.
        stills: dict[int, list[MatchItem]] = defaultdict(list)
        for i in members:
            t = _wall_clock(i)
            if i.media_type == "image" and not is_raw(i) and t is not None:
                stills[_second(t)].append(i)
        if not stills:
            continue
        for it in members:
            t = _wall_clock(it)
            if it.id in taken or it.id in companions or t is None:
                continue
            if _short_video(it):
                match, kind = _live_match, _short_video
            elif is_raw(it):
                match, kind = _raw_match, is_raw
            else:
                continue
            second = _second(t)
            near = [s for k in range(second - 3, second + 4) for s in stills.get(k, ())]
            # A still that already has its video (or its RAW) gets no second one.
            free = [s for s in near if not any(kind(items[c]) for c in companions.get(s.id, ()))]
            pick = _closest(it, free, match, taken)
            if pick is not None:
                attach(pick.id, it.id)
    # A Live video with no still of its own beside it goes with the still that carries its identifier.
    for v, stills in elsewhere:
        if v.id not in taken:
            vs = _split(v.path)[1]
            best = min(stills, key=lambda s: (_split(s.path)[1] != vs, s.id))
            attach(best.id, v.id)
    # Takeout: the reader paired the video half of a Live/motion photo with its still.
    by_path = {it.path: it for it in loose}
    for it in loose:
        still = it.meta.get("takeout_live_still")
        if still and still in by_path:
            attach(by_path[still].id, it.id)
    return dict(companions)


_RAW_FORMATS = frozenset(e.lstrip(".").upper() for e in RAW_EXTENSIONS) | {"DNG", "NEF", "ARW", "PEF", "SRW"}


def is_raw(it: MatchItem) -> bool:
    """A camera RAW file, by the format the scan found or by its name (stores from before RAW support
    recorded TIFF-based RAW as "TIFF")."""
    if it.format in _RAW_FORMATS or it.role == "raw":
        return True
    return bool(it.path) and _split(it.path)[2] in RAW_EXTENSIONS


def _short_video(it: MatchItem) -> bool:
    return it.media_type == "video" and (it.duration or 0) <= _LIVE_MAX_SECONDS


def _wall_clock(it: MatchItem) -> datetime | None:
    """Capture time as the camera's clock showed it, with its sub-seconds.

    Wall-clock on purpose: a still's EXIF time and a Live video's QuickTime creation date are both local
    time, and the store can find candidates by it (``engine._unit_candidates``) without time-zone math.
    """
    if not it.taken_at:
        return None
    try:
        t = datetime.fromisoformat(it.taken_at[:19])
    except ValueError:
        return None
    return t + timedelta(seconds=it.taken_subsec) if it.taken_subsec else t


def _second(t: datetime) -> int:
    """Whole seconds of a wall-clock time (no time zone of this machine involved)."""
    return int((t - _EPOCH).total_seconds())


_EPOCH = datetime(1970, 1, 1)


def _apart(a: MatchItem, b: MatchItem) -> float | None:
    ta, tb = _wall_clock(a), _wall_clock(b)
    if ta is None or tb is None:
        return None
    return abs((ta - tb).total_seconds())


def _other_camera(a: MatchItem, b: MatchItem) -> bool:
    if not (a.model and b.model):
        return False
    return a.model != b.model or (a.make or "").lower() != (b.make or "").lower()


def _two_captures(a: MatchItem, b: MatchItem) -> bool:
    """Metadata that rules out one capture: other cameras, or times apart (a time-zone shift aside)."""
    if _other_camera(a, b):
        return True
    apart = _apart(a, b)
    if apart is None or apart <= _NAME_TIME_SLACK:
        return False
    zone_shift = apart % 900 < _NAME_TIME_SLACK or apart % 900 > 900 - _NAME_TIME_SLACK
    return not (zone_shift and apart <= 14 * 3600)


def _live_match(video: MatchItem, still: MatchItem) -> float | None:
    if video.content_id and still.content_id:
        return None  # both carry an identifier, and not the same one: two captures
    if _other_camera(video, still):
        return None
    apart = _apart(video, still)
    return apart if apart is not None and apart <= _LIVE_TIME_SLACK else None


def _raw_match(raw: MatchItem, still: MatchItem) -> float | None:
    if not (raw.model and still.model) or _other_camera(raw, still):
        return None
    apart = _apart(raw, still)
    both_subsec = raw.taken_subsec is not None and still.taken_subsec is not None
    if apart is None or apart > (0.0005 if both_subsec else 0.0):
        return None
    if raw.phash is None or still.phash is None or (raw.phash ^ still.phash).bit_count() > _RAW_NEAR_PHASH:
        return None
    return apart


def _closest(part: MatchItem, stills: list[MatchItem], match, taken) -> MatchItem | None:
    """The one still ``part`` belongs to; None when none fits or two fit equally well (no guessing)."""
    scored = []
    for s in stills:
        if s.id in taken or s.id == part.id:
            continue
        score = match(part, s)
        if score is not None:
            scored.append((score, s))
    if not scored:
        return None
    scored.sort(key=lambda x: (x[0], x[1].id))
    if len(scored) > 1 and scored[1][0] == scored[0][0]:
        return None
    return scored[0][1]
