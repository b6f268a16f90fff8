"""Decide what two items are to each other: pure rules over ``MatchItem`` pairs.

Hashes say two pictures look alike; the metadata says whether they are one photo
(a copy, a re-encode, a twin), an edit of it, frames of one burst, or merely
similar. Those differ in what a person should do, so the kind matters more than
the distance.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime

from photodedup.fingerprint.video import VideoFingerprint
from photodedup.fingerprint.video import compare as compare_videos
from photodedup.match.model import GroupKind, MatchItem
from photodedup.match.units import is_raw

__all__ = [
    "PRESETS",
    "Thresholds",
    "degenerate",
    "hash_distances",
    "relate",
    "relate_variant",
    "relate_videos",
    "thresholds_for",
    "video_of",
]


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Hamming distances (of 64 bits) under which two pictures count as one photo, or as similar."""

    phash: int
    dhash: int
    ahash: int
    whash: int
    similar: int  # pHash distance for "similar" (review only, never removed)
    aspect_tolerance: float = 0.02  # relative difference of aspect ratios still "the same"
    # Videos (docs/video.md): mean frame pHash distance for the same video, and for "similar"
    video: float = 6.0
    video_similar: float = 10.0


PRESETS: dict[str, Thresholds] = {
    # strict: recompressions and resizes only; almost no false positives
    "strict": Thresholds(phash=4, dhash=6, ahash=6, whash=6, similar=8, video=4.0),
    # default: also format twins (HEIC/JPEG), 16 MP upscales, stripped metadata, EXIF rotation
    "default": Thresholds(phash=10, dhash=12, ahash=10, whash=10, similar=12),
    # loose: heavier compression (cloud "storage saver" copies); review the result
    "loose": Thresholds(phash=14, dhash=16, ahash=14, whash=14, similar=14, video=8.0, video_similar=12.0),
}


def thresholds_for(preset: str = "default", threshold: int | None = None) -> Thresholds:
    """A preset, or an explicit pHash threshold with the other hashes scaled alongside it."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}")
    base = PRESETS[preset]
    if threshold is None:
        return base
    if not 0 <= threshold <= 16:
        raise ValueError("threshold must be between 0 and 16 bits")
    extra = max(0, round(threshold * 0.2))
    return Thresholds(
        phash=threshold,
        dhash=threshold + extra,
        ahash=threshold,
        whash=threshold,
        similar=max(threshold, base.similar),
        aspect_tolerance=base.aspect_tolerance,
        video=base.video,
        video_similar=base.video_similar,
    )


def hash_distances(a: MatchItem, b: MatchItem) -> tuple[int, int, int, int] | None:
    if None in (a.phash, b.phash, a.dhash, b.dhash, a.ahash, b.ahash, a.whash, b.whash):
        return None
    return (
        (a.phash ^ b.phash).bit_count(),
        (a.dhash ^ b.dhash).bit_count(),
        (a.ahash ^ b.ahash).bit_count(),
        (a.whash ^ b.whash).bit_count(),
    )


def degenerate(item: MatchItem) -> bool:
    """Flat, black or mostly grey decodes: their hashes say nothing, so they never match by looks."""
    for h in (item.phash, item.dhash, item.ahash):
        if h is None:
            return True
        bits = h.bit_count()
        if bits <= 3 or bits >= 61:
            return True
    return False


def _time(item: MatchItem) -> datetime | None:
    if not item.taken_at:
        return None
    try:
        t = datetime.fromisoformat(item.taken_at)
    except ValueError:
        return None
    return t.replace(tzinfo=None)


def _seconds_apart(a: MatchItem, b: MatchItem) -> float | None:
    ta, tb = _time(a), _time(b)
    if ta is None or tb is None:
        return None
    delta = abs((ta - tb).total_seconds())
    # The same instant written in two time zones (EXIF local time vs a UTC sidecar) is one capture.
    if delta >= 900 and delta % 900 < 2 and delta <= 14 * 3600:
        return 0.0
    # Burst frames share their second; the sub-seconds tell them apart (copies keep them, or lose them).
    if a.taken_subsec is not None and b.taken_subsec is not None and delta < 900:
        delta = round(abs((ta - tb).total_seconds() + a.taken_subsec - b.taken_subsec), 3)
    return delta


def _same_camera(a: MatchItem, b: MatchItem) -> bool:
    return bool(a.model and b.model and a.model == b.model and (a.make or "") == (b.make or ""))


def _other_camera(a: MatchItem, b: MatchItem) -> bool:
    """Both name their camera, and not the same one."""
    return bool(a.model and b.model) and not _same_camera(a, b)


def _same_instant(a: MatchItem, b: MatchItem) -> bool:
    """Captured at the same instant to the sub-second (both copies say so)."""
    return a.taken_subsec is not None and b.taken_subsec is not None and _seconds_apart(a, b) == 0


def _same_still(a: MatchItem, b: MatchItem) -> bool:
    """A motion photo and the same picture without its video: the bytes before the video are equal."""
    sa, sb = a.motion_still_blake3, b.motion_still_blake3
    return bool(sa and sa in (b.blake3, sb)) or bool(sb and sb == a.blake3)


_NUMBER = re.compile(r"(\d{3,})")


def _edit_of(a: MatchItem, b: MatchItem) -> bool:
    """One is an edited version of the other by the naming and flags that Photos, Google and exports use."""
    if a.is_edit == b.is_edit:
        return False
    edit, orig = (a, b) if a.is_edit else (b, a)
    if edit.role in ("edited", "edited_live_video") and edit.parent_id == orig.id:
        return True
    ne, no = _NUMBER.findall(edit.name), _NUMBER.findall(orig.name)
    if ne and no and ne[-1] == no[-1]:
        return True
    stem_e = os.path.splitext(edit.name)[0].lower()
    stem_o = os.path.splitext(orig.name)[0].lower()
    return bool(stem_o) and stem_e.startswith(stem_o)


def _aspect_equal(a: MatchItem, b: MatchItem, tol: float) -> bool:
    ra, rb = a.aspect, b.aspect
    if ra is None or rb is None:
        return True  # unknown size (an iCloud-only asset): the hashes decide
    return abs(ra - rb) / max(ra, rb) <= tol


def relate(a: MatchItem, b: MatchItem, t: Thresholds) -> tuple[GroupKind, int | None, str] | None:
    """The kind of the pair (or None), the pHash distance behind it, and why in words."""
    if a.blake3 and a.blake3 == b.blake3:
        return "exact", 0, "same bytes"
    if a.apple_fp and a.apple_fp == b.apple_fp:
        return "exact", 0, "same Apple Photos fingerprint"
    if a.media_type == "video" and b.media_type == "video":
        return relate_videos(a, b, t)
    if a.media_type != "image" or b.media_type != "image":
        return None  # a video and a still: only their bytes (above) relate them
    # One frame of a burst in two copies (a JPEG and its conversion) keeps the burst id and the capture
    # time to the sub-second: that is one photo, not two frames.
    burst = a.burst_id and a.burst_id == b.burst_id and not _same_instant(a, b)
    if _same_still(a, b):
        return "same", 0, "the same photo; one also carries its motion-photo video"
    if a.pixel_sig and a.pixel_sig == b.pixel_sig:
        if burst:
            return "burst", 0, f"frames of burst {a.burst_id}"
        return "same", 0, "same pixels"
    d = hash_distances(a, b)
    if d is None or degenerate(a) or degenerate(b):
        return None
    p, dh, ah, wh = d
    if p > t.similar:
        return None
    if burst:
        return "burst", p, f"frames of burst {a.burst_id}"
    apart = _seconds_apart(a, b)
    if apart is not None and 0 < apart <= 10:
        # Two capture times a moment apart are two shots: a rapid sequence, never copies of each other.
        if _same_camera(a, b):
            return "burst", p, f"a rapid sequence from one camera ({apart:g} s apart)"
        if not _other_camera(a, b):
            return "burst", p, f"a rapid sequence ({apart:g} s apart)"
        return "similar", p, f"look alike, but taken {apart:g} s apart by different cameras"
    looks_same = p <= t.phash and dh <= t.dhash and ah <= t.ahash and wh <= t.whash
    if looks_same and is_raw(a) != is_raw(b):
        # A RAW holds what no JPEG of it does: it is never a duplicate of a processed picture.
        return "similar", p, "a RAW and a processed picture of the same shot: both kept"
    if _edit_of(a, b):
        return "edited", p, "an edited version and its original"
    if looks_same and apart is not None and apart > 10:
        return "similar", p, f"look alike but taken {apart:g} s apart"
    if looks_same and _aspect_equal(a, b, t.aspect_tolerance):
        return "same", p, f"the same photo (pHash {p}, dHash {dh}, aHash {ah}, wHash {wh} bits apart)"
    if looks_same:
        return "similar", p, "look alike at a different aspect ratio (cropped or stretched)"
    return "similar", p, f"similar (pHash {p} bits apart)"


# Copies of one video may differ in length by this share (container rounding, a dropped last frame)...
VIDEO_DURATION_TOLERANCE = 0.05
# ...and "similar" videos (a trimmed copy, an edit) keep at least this share of the longer one.
VIDEO_SIMILAR_RATIO = 0.5


def video_lengths_agree(a: VideoFingerprint, b: VideoFingerprint) -> bool:
    """Within 5 % of the longer, plus one frame of the slower: a 15 fps copy of a 0.57 s clip at 30 fps
    ends one 1/15 s frame later (0.600 s, 5.8 % longer), which only matters for very short clips."""
    longer = max(a.duration, b.duration)
    return abs(a.duration - b.duration) <= VIDEO_DURATION_TOLERANCE * longer + max(a.interval, b.interval)


def video_of(it: MatchItem) -> VideoFingerprint | None:
    """What a video is matched by: a video file's own fingerprint, or a motion photo's clip's."""
    return it.video if it.video is not None else it.motion_video


def relate_videos(a: MatchItem, b: MatchItem, t: Thresholds) -> tuple[GroupKind, int | None, str] | None:
    """Two videos by their fingerprints (byte-identical ones were settled by ``relate``): the same video
    when their lengths agree and their frames are ``t.video`` bits apart on average (re-encodes measure
    0-4, unrelated clips 22 and more: docs/video.md); similar, for review, when they look alike but one
    is much shorter (trimmed) or a little further apart. Live Photo halves never get here (units).
    A motion photo takes part through its clip: the same video as a video file means the file is that
    clip alone (the motion photo carries it and its still)."""
    va, vb = video_of(a), video_of(b)
    if va is None or vb is None:
        return None
    c = compare_videos(va, vb)
    if c.distance is None:
        return None  # black or blank: their frames say nothing
    d = round(c.distance)
    if c.distance <= t.video and video_lengths_agree(va, vb):
        if _edit_of(a, b):
            return "edited", d, "an edited version of the video and its original"
        if a.video is None or b.video is None:
            frames = f"{va.duration:g} s, frames {c.distance:.1f} bits apart"
            return "same", d, f"the same video: the file is the motion photo's own video ({frames})"
        return "same", d, f"the same video ({va.duration:g} s, frames {c.distance:.1f} bits apart)"
    if c.distance <= t.video_similar and c.duration_ratio >= VIDEO_SIMILAR_RATIO:
        lengths = f"{va.duration:g} s and {vb.duration:g} s"
        return "similar", d, f"videos that look alike ({lengths}, frames {c.distance:.1f} bits apart)"
    return None


_VARIANT_WORDS = {
    "r90": "turned 90°",
    "r180": "turned 180°",
    "r270": "turned 270°",
    "trim": "with a border added or cut away",
    "combined": "turned or framed differently",
}


def relate_variant(
    a: MatchItem, b: MatchItem, variant: str, distance: int, t: Thresholds
) -> tuple[GroupKind, int | None, str] | None:
    """A pair found by a turned or border-trimmed pHash: the same photo unless something says otherwise."""
    plain = relate(a, b, t)
    if plain is not None and plain[0] in ("exact", "same", "burst", "edited"):
        return plain
    if distance > t.phash or degenerate(a) or degenerate(b) or is_raw(a) != is_raw(b):
        return plain
    apart = _seconds_apart(a, b)
    if apart is not None and apart > 10:
        return plain
    if variant not in ("trim", "combined") and not _aspect_equal(a, b, t.aspect_tolerance):
        return plain
    return "same", distance, f"the same photo {_VARIANT_WORDS[variant]} (pHash {distance} bits apart)"
