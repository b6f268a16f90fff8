"""A video's perceptual fingerprint: its length and the pHashes of frames at fixed fractions of it.

Frames are taken at the same fractions of every video's length, so a copy that was re-encoded,
resized, remuxed or given another frame rate shows the same pictures at the same places. Each frame
is turned upright by the stream's display matrix, the black bars a letterbox or pillarbox adds are
cut away (found over all the frames together, so a dark scene is not taken for a bar), and the rest
is hashed with the photos' pHash. Measured distances and the matching rule: docs/video.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from photodedup._types import VideoMeta

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "FLAT_DISTANCE",
    "FRACTIONS",
    "NOT_FINGERPRINTED",
    "POSITIONS",
    "TRIM",
    "VideoComparison",
    "VideoFingerprint",
    "compare",
    "fingerprint_frames",
    "live_photo_half",
    "video_fingerprint",
]

POSITIONS = 12
FRACTIONS = tuple(round(0.05 + 0.9 * k / (POSITIONS - 1), 6) for k in range(POSITIONS))
# The text form's tag: another recipe gets another tag, and fingerprints of two recipes never compare.
_VERSION = "v1"
_SIZE = 512  # FFmpeg scales each frame to this grey square: fine enough to place a bar's edge
_BLACK = 24  # grey level (0-255) a bar never exceeds; FFmpeg's grey maps video black (16) to 0
_BRIGHT_PIXELS = 2  # a line with fewer bright pixels than this (in every frame) is a bar: ignores a stray one
_MAX_BAR = 0.4  # a bar covers at most this share of a side (a 9:16 clip pillarboxed in 16:9: 34 %)
_FLAT = 2.0  # grey standard deviation under which a frame is flat (black, white, one colour): no hash
FLAT_DISTANCE = 32  # a flat frame against a picture: as far as two unrelated pictures
TRIM = 2  # farthest positions left out of the mean
# Stored for a video left unfingerprinted on purpose (a Live Photo's half); NULL means "not yet" (an
# older photodedup), which a re-scan fills in and which is never copied to a byte-identical file.
NOT_FINGERPRINTED = "-"
_LIVE_MAX_SECONDS = 4.0  # as match.units: a Live Photo's video is ~3 s


@dataclass(frozen=True, slots=True)
class VideoFingerprint:
    """What matching compares: length, frame interval, and one 64-bit pHash per position (None: flat).

    ``duration`` comes from the frames' own times (first to last, plus one interval), not from the
    container, whose figure depends on the muxer; ``interval`` is the median time between frames.
    """

    duration: float
    interval: float
    hashes: tuple[int | None, ...]
    content: float = 1.0  # share of the frame inside the bars (1.0: no letterbox or pillarbox)
    warnings: tuple[str, ...] = field(default=(), compare=False)  # for the scan's record, not stored here

    def to_text(self) -> str:
        """``v1 <seconds> <interval> <content> <16 hex digits or ->...``: one store column."""
        cells = " ".join("-" if h is None else f"{h:016x}" for h in self.hashes)
        return f"{_VERSION} {self.duration:.3f} {self.interval:.4f} {self.content:.3f} {cells}"

    @classmethod
    def from_text(cls, text: str | None) -> VideoFingerprint | None:
        """None for an empty value or another recipe's fingerprint."""
        parts = (text or "").split()
        if len(parts) != 4 + POSITIONS or parts[0] != _VERSION:
            return None
        hashes = tuple(None if p == "-" else int(p, 16) for p in parts[4:])
        return cls(float(parts[1]), float(parts[2]), hashes, float(parts[3]))


@dataclass(frozen=True, slots=True)
class VideoComparison:
    """The raw figures matching decides on (``match.relate``)."""

    duration_ratio: float  # shorter / longer, 0..1
    duration_gap: float  # seconds between the two durations
    interval: float  # the longer frame interval of the two (the slower frame rate)
    distance: float | None  # mean pHash distance over the closest positions; None: both mostly flat
    positions: int  # positions that entered the mean


def live_photo_half(meta: VideoMeta) -> bool:
    """The video half of an Apple Live Photo: it carries the still's content identifier and lasts
    a few seconds. Matching never looks at it alone (it travels with its still, ``match.units``), and
    decoding it would cost more than hashing the whole library's photos: it is not fingerprinted."""
    return bool(meta.content_id) and (meta.duration or 0.0) <= _LIVE_MAX_SECONDS


def video_fingerprint(path: str | os.PathLike[str] | BinaryIO) -> VideoFingerprint:
    """Decode the frames at ``FRACTIONS`` and fingerprint them; raises ``VideoError`` on damage.
    ``path`` may be a seekable binary file, e.g. a motion photo's embedded clip in a BytesIO."""
    from photodedup.media.video import sample_frames

    sampled = sample_frames(path, FRACTIONS, size=_SIZE)
    hashes, content = fingerprint_frames(sampled.frames)
    warnings = ()
    if sampled.rejected:
        warnings = (
            f"damaged video data: the decoder refused {sampled.rejected} packet(s); "
            "the fingerprint comes from the frames around them",
        )
    return VideoFingerprint(
        duration=round(sampled.span + sampled.interval, 3),
        interval=round(sampled.interval, 4),
        hashes=hashes,
        content=round(content, 3),
        warnings=warnings,
    )


def fingerprint_frames(frames: list[np.ndarray]) -> tuple[tuple[int | None, ...], float]:
    """The pHash of each upright grey frame after cutting the bars found over all of them, and the
    share of the frame the picture covers."""
    import numpy as np
    from PIL import Image

    from photodedup.fingerprint.perceptual import _phash_fast  # the photos' pHash, 32x32 grey in

    stack = np.stack(frames)  # (n, size, size) uint8
    # A line is picture if some pixels on it are bright in some frame: unlike a line's mean, that
    # does not change when bars on the other axis are added (a windowboxed copy) or a scene is dark.
    bright = stack.max(axis=0) > _BLACK
    top, bottom = _content(bright.sum(axis=1) >= _BRIGHT_PIXELS)
    left, right = _content(bright.sum(axis=0) >= _BRIGHT_PIXELS)
    inner = stack[:, top:bottom, left:right]
    x0, x1 = _edges(inner.sum(axis=(0, 1), dtype=np.int64), left, right, stack.shape[2])
    y0, y1 = _edges(inner.sum(axis=(0, 2), dtype=np.int64), top, bottom, stack.shape[1])
    box = (x0 - left, y0 - top, x1 - left, y1 - top)  # inside the cut, for Pillow
    out: list[int | None] = []
    for picture in inner:
        if float(picture.std()) < _FLAT:
            out.append(None)
            continue
        small = Image.fromarray(picture.astype(np.float32), mode="F").resize(
            (32, 32), Image.Resampling.LANCZOS, box=box
        )
        out.append(int(_phash_fast(np.asarray(small, dtype=np.float64)), 16))
    content = (x1 - x0) * (y1 - y0) / (stack.shape[1] * stack.shape[2])
    return tuple(out), content


def _content(lines: np.ndarray) -> tuple[int, int]:
    """(first, end) of the picture lines; no cut when a bar would be wider than ``_MAX_BAR``."""
    import numpy as np

    n = len(lines)
    if not lines.any():
        return 0, n
    lead = int(np.argmax(lines))
    trail = int(np.argmax(lines[::-1]))
    limit = int(n * _MAX_BAR)
    if lead > limit or trail > limit:
        return 0, n  # mostly dark: nothing a copy would cut the same way
    return lead, n - trail


def _edges(profile: np.ndarray, first: int, end: int, n: int) -> tuple[float, float]:
    """Sub-line edges beside a bar: the line on the edge is part bar, part picture (FFmpeg's area
    scaling averaged them), in proportion to its brightness against the next line in. Without it a
    bar's edge moves the picture by up to a line: a 9:16 clip pillarboxed in 16:9 lost 2-10 bits by it."""

    def covered(edge: float, inner: float) -> float:
        return min(max(edge / inner, 0.0), 1.0) if inner > 0 else 1.0

    lo, hi = float(first), float(end)
    if len(profile) >= 3:
        if first > 0:
            lo += 1.0 - covered(profile[0], profile[1])
        if end < n:
            hi -= 1.0 - covered(profile[-1], profile[-2])
    return lo, hi


def compare(a: VideoFingerprint, b: VideoFingerprint) -> VideoComparison:
    """Duration figures and the mean frame distance over the positions, leaving out the ``TRIM``
    farthest (a frame that a lower frame rate dropped, a scene cut on a position) and those flat in
    both; flat in one only counts as unrelated. Too few positions left: no distance (blank videos)."""
    longer = max(a.duration, b.duration)
    ratio = min(a.duration, b.duration) / longer if longer > 0 else 1.0
    gap = abs(a.duration - b.duration)
    interval = max(a.interval, b.interval)
    distances = []
    for x, y in zip(a.hashes, b.hashes, strict=True):
        if x is None and y is None:
            continue
        distances.append(FLAT_DISTANCE if x is None or y is None else (x ^ y).bit_count())
    if len(distances) * 2 < len(a.hashes):
        return VideoComparison(ratio, gap, interval, None, len(distances))
    kept = sorted(distances)[: max(1, len(distances) - TRIM)]
    return VideoComparison(ratio, gap, interval, sum(kept) / len(kept), len(kept))
