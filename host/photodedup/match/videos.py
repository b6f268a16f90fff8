"""Which videos meet: pairs whose lengths allow a relation, their frame distances computed in bulk.

Videos are few next to photos (a Live Photo's video half has no fingerprint: it travels with its
still), so there is no index: sorted by length, each video meets those up to twice as long, and numpy
computes the frame distances of that window at once, exactly as ``fingerprint.video.compare`` does for
one pair. ``relate_videos`` then judges the pairs that come close enough.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from photodedup.fingerprint.video import FLAT_DISTANCE, POSITIONS, TRIM, VideoFingerprint
from photodedup.match.model import MatchItem
from photodedup.match.relate import VIDEO_SIMILAR_RATIO, Thresholds, relate_videos, video_of

__all__ = ["close_pairs", "video_relations"]

_BOTH_FLAT = 1 << 16  # sorts after every real distance and is never summed


def close_pairs(
    fingerprints: Sequence[VideoFingerprint], max_distance: float, min_ratio: float
) -> list[tuple[int, int]]:
    """Index pairs (i < j) whose durations are within ``min_ratio`` and whose mean frame distance
    (``compare``'s: farthest positions left out, flat positions handled alike) is at most ``max_distance``."""
    import numpy as np

    n = len(fingerprints)
    if n < 2:
        return []
    durations = np.array([f.duration for f in fingerprints], np.float64)
    raw = b"".join((h or 0).to_bytes(8, "big") for f in fingerprints for h in f.hashes)
    hashes = np.frombuffer(raw, ">u8").astype(np.uint64).reshape(n, POSITIONS)
    flat = np.array([[h is None for h in f.hashes] for f in fingerprints], bool)
    order = np.argsort(durations, kind="stable")
    durations, hashes, flat = durations[order], hashes[order], flat[order]
    ends = np.searchsorted(durations, durations / min_ratio, side="right")  # window of each video
    out: list[tuple[int, int]] = []
    for k in range(n - 1):
        lo, hi = k + 1, int(ends[k]) if durations[k] > 0 else n
        if hi <= lo:
            continue
        bits = np.bitwise_count(hashes[k] ^ hashes[lo:hi]).astype(np.int64)
        both = flat[k] & flat[lo:hi]
        bits = np.where(flat[k] ^ flat[lo:hi], FLAT_DISTANCE, bits)
        bits = np.where(both, _BOTH_FLAT, bits)
        counted = POSITIONS - both.sum(axis=1)
        kept = np.maximum(1, counted - TRIM)
        sums = np.cumsum(np.sort(bits, axis=1), axis=1)[np.arange(hi - lo), kept - 1]
        close = (counted * 2 >= POSITIONS) & (sums <= max_distance * kept)
        for j in np.flatnonzero(close) + lo:
            a, b = int(order[k]), int(order[j])
            out.append((min(a, b), max(a, b)))
    return sorted(out)


def video_relations(
    videos: Sequence[MatchItem],
    cls: Callable[[int], int],
    t: Thresholds,
    allowed: Callable[[int, int], bool],
) -> dict[tuple[int, int], tuple[str, int | None, str]]:
    """Relations between the classes (``cls``: exact copies are one node) of ``videos``, the fingerprinted
    videos that are not unit parts, and motion photos through their clips. One face per class; pairs a
    decision keeps apart are left out, and so are two motion photos: their stills decide what they are."""
    faces: dict[int, MatchItem] = {}
    for it in videos:
        if video_of(it) is not None:
            faces.setdefault(cls(it.id), it)
    items = list(faces.values())
    out: dict[tuple[int, int], tuple[str, int | None, str]] = {}
    pairs = close_pairs([video_of(it) for it in items], t.video_similar, VIDEO_SIMILAR_RATIO)
    for i, j in pairs:
        a, b = items[i], items[j]
        if (a.video is None and b.video is None) or not allowed(a.id, b.id):
            continue
        rel = relate_videos(a, b, t)
        if rel is not None:
            ca, cb = cls(a.id), cls(b.id)
            out[(min(ca, cb), max(ca, cb))] = rel
    return out
